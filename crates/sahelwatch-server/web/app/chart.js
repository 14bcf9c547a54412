// Small SVG charts drawn here (no chart library): a bar/line chart of
// counts by period, and a profile along a route.
const NS = 'http://www.w3.org/2000/svg';

function el(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function niceStep(v, wholeNumbers = false) {
  const p = 10 ** Math.floor(Math.log10(v));
  const steps = wholeNumbers && p < 10 ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  for (const m of steps) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * Bars of `values` (numbers) labelled by `labels`, with a second series
 * drawn as a line (`line`, optional). Returns an <svg>.
 */
export function barChart({ labels, values, line, title, unit, width = 340, height = 170 }) {
  const m = { l: 34, r: line ? 34 : 8, t: 18, b: 30 };
  const w = width - m.l - m.r;
  const h = height - m.t - m.b;
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': title || '' });
  if (title) svg.append(el('text', { x: m.l, y: 12, class: 'chart-title' }, title));
  const top = Math.max(0, ...values);
  // Whole-number ticks: 0..top for small counts, else 4 steps of 1, 2 or 5 x 10^k.
  const ticks = top <= 4 ? Math.max(1, Math.ceil(top)) : 4;
  const max = top <= 4 ? ticks : 4 * niceStep(top / 4, true);
  const n = values.length || 1;
  const bw = w / n;
  for (let i = 0; i <= ticks; i++) {
    const y = m.t + h - (h * i) / ticks;
    svg.append(el('line', { x1: m.l, x2: m.l + w, y1: y, y2: y, class: 'grid' }));
    svg.append(el('text', { x: m.l - 4, y: y + 3, class: 'axis', 'text-anchor': 'end' }, String((max * i) / ticks)));
  }
  values.forEach((v, i) => {
    const bh = (h * v) / max;
    const r = el('rect', { x: m.l + i * bw + bw * 0.1, y: m.t + h - bh, width: Math.max(1, bw * 0.8), height: bh, class: 'bar' });
    r.append(el('title', {}, `${labels[i]}: ${v}${unit ? ' ' + unit : ''}`));
    svg.append(r);
  });
  const step = Math.ceil(n / 6);
  labels.forEach((l, i) => {
    if (i % step === 0) svg.append(el('text', { x: m.l + i * bw + bw / 2, y: height - 14, class: 'axis', 'text-anchor': 'middle' }, l));
  });
  if (line) {
    const lmax = niceMax(Math.max(0, ...line));
    const pts = line.map((v, i) => `${m.l + i * bw + bw / 2},${m.t + h - (h * v) / lmax}`).join(' ');
    svg.append(el('polyline', { points: pts, class: 'line' }));
    svg.append(el('text', { x: m.l + w + 4, y: m.t + 3, class: 'axis line-axis' }, String(lmax)));
  }
  if (unit) svg.append(el('text', { x: m.l, y: height - 2, class: 'axis' }, unit));
  return svg;
}

/**
 * A step profile along a route: `segments` of {from_km, to_km, value},
 * values 0..max, coloured by `colour(value)`. Returns an <svg>.
 */
export function profileChart({ segments, max, colour, title, xUnit = 'km', yLabel, width = 340, height = 150 }) {
  const m = { l: 34, r: 8, t: 18, b: 28 };
  const w = width - m.l - m.r;
  const h = height - m.t - m.b;
  const total = segments.length ? segments[segments.length - 1].to_km : 1;
  const top = 4 * niceStep(Math.max(max || 0, ...segments.map((s) => s.value)) / 4);
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart profile', role: 'img', 'aria-label': title || '' });
  if (title) svg.append(el('text', { x: m.l, y: 12, class: 'chart-title' }, title));
  for (let i = 0; i <= 4; i++) {
    const y = m.t + h - (h * i) / 4;
    svg.append(el('line', { x1: m.l, x2: m.l + w, y1: y, y2: y, class: 'grid' }));
    svg.append(el('text', { x: m.l - 4, y: y + 3, class: 'axis', 'text-anchor': 'end' }, String(Number((top * i / 4).toFixed(2)))));
  }
  for (const s of segments) {
    const x = m.l + (w * s.from_km) / total;
    const sw = Math.max(0.5, (w * (s.to_km - s.from_km)) / total);
    const sh = (h * s.value) / top;
    const r = el('rect', { x, y: m.t + h - sh, width: sw, height: sh, fill: colour(s.value) });
    r.append(el('title', {}, `${s.from_km.toFixed(0)}–${s.to_km.toFixed(0)} ${xUnit}: ${s.value.toFixed(2)}${s.label ? ' · ' + s.label : ''}`));
    svg.append(r);
  }
  for (let i = 0; i <= 4; i++) {
    svg.append(el('text', { x: m.l + (w * i) / 4, y: height - 12, class: 'axis', 'text-anchor': 'middle' }, `${Math.round((total * i) / 4)}`));
  }
  svg.append(el('text', { x: m.l + w, y: height - 1, class: 'axis', 'text-anchor': 'end' }, xUnit));
  if (yLabel) svg.append(el('text', { x: 2, y: m.t - 4, class: 'axis' }, yLabel));
  return svg;
}
