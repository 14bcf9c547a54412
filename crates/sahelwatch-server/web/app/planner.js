// Route planner: start and end from a place search or a map click; the
// fastest and least-exposed routes and the alternatives between them on the
// map; the selected route's risk profile as a chart and its stretches
// coloured on the map.
import { get, post } from './api.js';
import { t } from './i18n.js';
import { h, field, debounce } from './ui.js';
import { setData, addLayers, show, fitTo, maplibregl } from './map.js';
import { profileChart } from './chart.js';

let ctx;
let answer = null;
let selected = 0;
let picking = null; // 'from' | 'to' | null
const ends = { from: { text: '', at: null }, to: { text: '', at: null } };
const markers = {};
let resultEl;
let inputs = {};
const LAYERS = ['plan-alts', 'plan-selected', 'plan-stretch'];
const LEVEL_COLOUR = { low: '#1a9641', elevated: '#fdae61', high: '#d7191c' };
const LABEL_COLOUR = { fastest: '#2166ac', safest: '#1a9641', balanced: '#762a83', alternative: '#888' };

export function init(c) {
  ctx = c;
  setData(ctx.map, 'plan-routes', null);
  setData(ctx.map, 'plan-stretches', null);
  addLayers(ctx.map, [
    { id: 'plan-alts', type: 'line', source: 'plan-routes', filter: ['!=', ['get', 'selected'], true], layout: { visibility: 'none', 'line-cap': 'round' },
      paint: { 'line-color': ['get', 'colour'], 'line-width': 4, 'line-opacity': 0.55, 'line-dasharray': [2, 1.5] } },
    { id: 'plan-selected', type: 'line', source: 'plan-routes', filter: ['==', ['get', 'selected'], true], layout: { visibility: 'none', 'line-cap': 'round' },
      paint: { 'line-color': '#222', 'line-width': 9, 'line-opacity': 0.8 } },
    { id: 'plan-stretch', type: 'line', source: 'plan-stretches', layout: { visibility: 'none', 'line-cap': 'round' },
      paint: { 'line-color': ['get', 'colour'], 'line-width': 5 } },
  ]);
  ctx.map.on('click', (e) => {
    if (!picking) return;
    const v = `${e.lngLat.lat.toFixed(5)},${e.lngLat.lng.toFixed(5)}`;
    setEnd(picking, v, [e.lngLat.lng, e.lngLat.lat]);
    inputs[picking].value = v;
    picking = null;
    ctx.map.getCanvas().style.cursor = '';
    ctx.status('');
  });
  ctx.map.on('click', 'plan-alts', (e) => {
    if (picking) return;
    select(Number(e.features[0].properties.index));
  });
}

function setEnd(which, text, at) {
  ends[which] = { text, at };
  markers[which]?.remove();
  if (at) {
    markers[which] = new maplibregl.Marker({ color: which === 'from' ? '#1a9641' : '#d7191c' }).setLngLat(at).addTo(ctx.map);
  }
}

function placeInput(which) {
  const list = h('datalist', { id: `places-${which}` });
  const input = h('input', { name: which, list: `places-${which}`, value: ends[which].text, autocomplete: 'off', placeholder: 'Ouagadougou, Dori…' });
  const found = new Map();
  // Typing replaces a point picked on the map.
  input.addEventListener('input', () => {
    if (ends[which].at && input.value.trim() !== ends[which].text) setEnd(which, input.value.trim(), null);
  });
  input.addEventListener('input', debounce(async () => {
    const q = input.value.trim();
    if (q.length < 2 || /^-?\d/.test(q)) return;
    try {
      const r = await get('/api/v1/places', { q, feature_class: 'P', limit: 8 });
      found.clear();
      list.replaceChildren(...r.items.map((p) => {
        const label = `${p.name}, ${p.country}${p.admin1 ? ' (' + p.admin1 + ')' : ''}`;
        found.set(label, [p.longitude, p.latitude]);
        return h('option', { value: label });
      }));
    } catch { /* typing: ignore */ }
  }, 200));
  input.addEventListener('change', () => {
    const at = found.get(input.value) || null;
    setEnd(which, input.value.trim(), at);
  });
  inputs[which] = input;
  const pick = h('button', { type: 'button', class: 'secondary pick', id: `pick-${which}`, title: t('route.pick') }, t('route.mapbtn'));
  pick.addEventListener('click', () => {
    picking = which;
    ctx.map.getCanvas().style.cursor = 'crosshair';
    ctx.status(t('route.picking'));
  });
  return h('div', { class: 'row' }, field(t(`route.${which}`), input), pick, list);
}

export function enter(c) {
  ctx = c;
  show(ctx.map, LAYERS, true);
  for (const m of Object.values(markers)) m.addTo(ctx.map);
  inputs = {};
  const depart = h('input', { name: 'depart', type: 'date' });
  const f = h('form', { id: 'route-form', class: 'filters' }, placeInput('from'), placeInput('to'),
    field(t('route.depart'), depart), h('button', { type: 'submit' }, t('route.plan')));
  f.addEventListener('submit', (e) => { e.preventDefault(); plan(depart.value); });
  resultEl = h('div', { id: 'route-result' });
  const net = h('p', { class: 'muted', id: 'networks' });
  ctx.side.append(h('h2', {}, t('route.title')), net, f, resultEl);
  get('/api/v1/roads').then((nets) => {
    net.textContent = nets.length ? t('route.networks', { name: nets[0].name, date: nets[0].created_at.slice(0, 10) }) : t('route.nonetwork');
  }).catch(() => {});
  if (answer) render();
}

export function leave() {
  picking = null;
  show(ctx.map, LAYERS, false);
  for (const m of Object.values(markers)) m.remove();
}

const endParam = (e) => (e.at ? `${e.at[1].toFixed(5)},${e.at[0].toFixed(5)}` : e.text);

async function plan(depart) {
  for (const w of ['from', 'to']) {
    if (!ends[w].at && inputs[w].value.trim() !== ends[w].text) setEnd(w, inputs[w].value.trim(), null);
  }
  if (!ends.from.text || !ends.to.text) { resultEl.replaceChildren(h('p', { class: 'warn' }, t('route.none'))); return; }
  resultEl.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  const req = { from: endParam(ends.from), to: endParam(ends.to), depart: depart || undefined };
  try {
    const a = await post('/api/v1/routes', { ...req, mode: 'fastest', alternatives: true });
    // The least exposed of the Pareto set (the server labels it only when
    // its weight is the safest's); when the fastest is also the least
    // exposed, it is both.
    if (a.routes.length && !a.routes.some((r) => r.label === 'safest')) {
      const least = a.routes.reduce((b, r, i) => (r.exposure < a.routes[b].exposure ? i : b), 0);
      if (least > 0) a.routes[least].label = 'safest';
      else a.routes[0].alsoSafest = true;
    }
    answer = a;
    selected = 0;
    for (const w of ['from', 'to']) {
      const e = a[w];
      if (e && e.longitude !== undefined) setEnd(w, ends[w].text, [e.longitude, e.latitude]);
    }
    render();
    fitTo(ctx.map, answer.routes.map((r) => ({ geometry: { type: 'LineString', coordinates: r.geometry } })));
  } catch (x) {
    answer = null;
    draw();
    resultEl.replaceChildren(h('p', { class: 'error', id: 'route-error' }, x.message));
  }
}

function select(i) {
  selected = i;
  render();
}

function name(r, i) {
  if (r.label === 'fastest') return r.alsoSafest ? `${t('route.fastest')} · ${t('route.safest')}` : t('route.fastest');
  return r.label === 'safest' ? t('route.safest') : t('route.alt', { n: i });
}

/** Cut a line at distances along it (km), by the haversine formula. */
function cut(coords, fromKm, toKm) {
  const R = 6371.0088;
  const rad = Math.PI / 180;
  const d = (a, b) => {
    const dl = (b[1] - a[1]) * rad;
    const dn = (b[0] - a[0]) * rad;
    const x = Math.sin(dl / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dn / 2) ** 2;
    return 2 * R * Math.asin(Math.sqrt(x));
  };
  const out = [];
  let at = 0;
  for (let i = 1; i < coords.length; i++) {
    const a = coords[i - 1];
    const b = coords[i];
    const len = d(a, b);
    const lerp = (km) => { const f = len ? (km - at) / len : 0; return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f]; };
    if (at + len >= fromKm && at <= toKm) {
      if (!out.length) out.push(fromKm > at ? lerp(fromKm) : a);
      out.push(toKm < at + len ? lerp(toKm) : b);
    }
    at += len;
    if (at > toKm) break;
  }
  return out;
}

function draw() {
  const routes = answer ? answer.routes : [];
  setData(ctx.map, 'plan-routes', { type: 'FeatureCollection', features: routes.map((r, i) => ({
    type: 'Feature', geometry: { type: 'LineString', coordinates: r.geometry },
    properties: { index: i, selected: i === selected, colour: LABEL_COLOUR[r.label] || '#888' },
  })).sort((a, b) => Number(a.properties.selected) - Number(b.properties.selected)) });
  const r = routes[selected];
  const total = r ? r.distance_km : 0;
  setData(ctx.map, 'plan-stretches', { type: 'FeatureCollection', features: r ? r.profile.map((s) => ({
    type: 'Feature', geometry: { type: 'LineString', coordinates: cut(r.geometry, s.from_km, Math.min(s.to_km, total)) },
    properties: { colour: LEVEL_COLOUR[s.level] || '#888' },
  })).filter((f) => f.geometry.coordinates.length > 1) : [] });
}

function render() {
  draw();
  if (!resultEl || !answer) return;
  if (!answer.routes.length) { resultEl.replaceChildren(h('p', { class: 'warn' }, t('route.none'))); return; }
  const fmtH = (s) => (s / 3600).toFixed(1);
  const rows = answer.routes.map((r, i) => h('li', { class: `route${i === selected ? ' selected' : ''}`, dataset: { label: r.label }, onclick: () => select(i) },
    h('span', { class: 'swatch', style: `background:${LABEL_COLOUR[r.label] || '#888'}` }), h('strong', {}, name(r, i)),
    h('div', {}, t('route.summary', { km: r.distance_km.toFixed(0), h: fmtH(r.duration_s), x: r.exposure.toFixed(2) })),
    i > 0 ? h('div', { class: 'muted' }, t('route.extra', { min: Math.round(r.extra_minutes) }),
      r.exposure_saved_pct !== null && r.exposure_saved_pct !== undefined ? ` · ${t('route.saved', { pct: Math.round(r.exposure_saved_pct) })}` : '') : null));
  const r = answer.routes[selected];
  const chart = profileChart({
    segments: r.profile.map((s) => ({ from_km: s.from_km, to_km: s.to_km, value: s.max_risk, label: s.roads.join(', ') })),
    max: 1, colour: (v) => (v >= 1 ? LEVEL_COLOUR.high : v >= 0.25 ? LEVEL_COLOUR.elevated : LEVEL_COLOUR.low),
    title: `${t('route.profile')} — ${name(r, selected)}`, yLabel: t('route.risk'),
  });
  chart.id = 'profile-chart';
  const incidents = r.profile.reduce((n, s) => n + s.incidents.length, 0);
  resultEl.replaceChildren(
    h('p', { class: 'muted' }, `${answer.from.name ?? answer.from.query ?? ''} → ${answer.to.name ?? answer.to.query ?? ''} · ${answer.network}`),
    h('ul', { class: 'list routes', id: 'routes' }, rows),
    chart,
    h('p', { class: 'muted' }, t('route.incidents', { n: incidents })));
  document.body.dataset.routes = String(answer.routes.length);
}
