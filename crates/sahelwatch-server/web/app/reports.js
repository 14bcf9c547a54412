// Report intake: write or paste a text, see what the extractor found (each
// item highlighted in the text, with its confidence), file it, then decide
// on the incidents it may describe (confirm, reject, or a new incident).
import { get, post } from './api.js';
import { t } from './i18n.js';
import { h, field, select, tlpBadge } from './ui.js';
import { setData, addLayers, show, fitTo } from './map.js';

let ctx;
let body;
const LAYERS = ['rep-places', 'rep-places-label'];
const TLPS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];

export function init(c) {
  ctx = c;
  setData(ctx.map, 'report-places', null);
  addLayers(ctx.map, [
    { id: 'rep-places', type: 'circle', source: 'report-places', layout: { visibility: 'none' },
      paint: { 'circle-radius': 7, 'circle-color': '#2166ac', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 } },
    { id: 'rep-places-label', type: 'symbol', source: 'report-places', layout: { visibility: 'none',
      'text-field': ['get', 'name'], 'text-font': ['Noto Sans Bold'], 'text-size': 13, 'text-offset': [0, -1.2] },
      paint: { 'text-color': '#2166ac', 'text-halo-color': '#fff', 'text-halo-width': 1.5 } },
  ]);
}

export function enter(c, arg) {
  ctx = c;
  show(ctx.map, LAYERS, true);
  body = h('div', { id: 'report-result' });
  const list = h('div', { id: 'report-list' });
  ctx.side.append(h('h2', {}, t('rep.title')), intakeForm(), body, h('h3', {}, t('rep.recent')), list);
  loadList(list);
  if (arg) openReport(arg);
}

export function leave() {
  show(ctx.map, LAYERS, false);
  setData(ctx.map, 'report-places', null);
}

function intakeForm() {
  const today = new Date().toISOString().slice(0, 10);
  const text = h('textarea', { name: 'text', rows: 8, required: true, placeholder: t('rep.text.placeholder') });
  const source = h('input', { name: 'source', required: true, placeholder: 'RFI, AFP, …' });
  const title = h('input', { name: 'title' });
  const published = h('input', { name: 'published', type: 'date', value: today, required: true });
  const lang = select({ name: 'lang' }, [['', t('rep.lang.auto')], ['en', 'English'], ['fr', 'Français']]);
  const rel = select({ name: 'reliability' }, 'ABCDEF'.split('').map((x) => [x, `${x} · ${t('rel.' + x)}`]), 'C');
  const cred = select({ name: 'credibility' }, '123456'.split('').map((x) => [x, `${x} · ${t('cred.' + x)}`]), '3');
  const tlp = select({ name: 'tlp' }, TLPS.map((x) => [x, `TLP:${x}`]), 'AMBER');
  const values = () => ({
    text: text.value, published: published.value, lang: lang.value || undefined,
  });
  const extractBtn = h('button', { type: 'button', id: 'extract', class: 'secondary' }, t('rep.extract'));
  extractBtn.addEventListener('click', async () => {
    if (!text.value.trim()) { text.reportValidity(); return; }
    try {
      const x = await post('/api/v1/reports/extract', values());
      renderExtraction(text.value, x, null);
    } catch (e) { body.replaceChildren(h('p', { class: 'error' }, e.message)); }
  });
  const f = h('form', { id: 'report-form', class: 'filters' },
    field(t('rep.text'), text),
    h('div', { class: 'row' }, field(t('rep.source'), source), field(t('rep.published'), published)),
    field(t('rep.headline'), title),
    h('div', { class: 'row' }, field(t('rep.lang'), lang), field('TLP', tlp)),
    h('div', { class: 'row' }, field(t('rep.reliability'), rel), field(t('rep.credibility'), cred)),
    h('div', { class: 'row' }, extractBtn, h('button', { type: 'submit', id: 'file' }, t('rep.file'))));
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await post('/api/v1/reports', {
        source: source.value.trim(), title: title.value.trim() || undefined, published: published.value,
        lang: lang.value || undefined, reliability: rel.value, credibility: Number(cred.value),
        text: text.value, marking: { tlp: tlp.value },
      });
      location.hash = `#reports/${r.report.id}`;
      renderReport(r.report, r.candidates);
      loadList(document.getElementById('report-list'));
    } catch (x) { body.replaceChildren(h('p', { class: 'error' }, x.message)); }
  });
  return f;
}

async function loadList(el) {
  try {
    const r = await get('/api/v1/reports', { limit: 20 });
    const items = r.items || [];
    el.replaceChildren(items.length ? h('ul', { class: 'list' }, items.map((x) => h('li', {},
      h('a', { href: `#reports/${x.id}` }, x.title || x.source), ' ', tlpBadge(x.tlp), h('br'),
      h('span', { class: 'muted' }, `${x.source} · ${x.published} · ${x.reliability}${x.credibility}`, x.unlocated ? ` · ${t('rep.unlocated')}` : '')))) : h('p', { class: 'muted' }, t('rep.none')));
  } catch (x) { el.replaceChildren(h('p', { class: 'error' }, x.message)); }
}

async function openReport(id) {
  try {
    const [r, cands] = await Promise.all([
      get(`/api/v1/reports/${encodeURIComponent(id)}`),
      get(`/api/v1/reports/${encodeURIComponent(id)}/candidates`).catch(() => []),
    ]);
    renderReport(r, cands);
  } catch (x) { body.replaceChildren(h('p', { class: 'error' }, x.message)); }
}

/** The items found, as [kind, label, span, confidence]. */
function items(x) {
  const out = [];
  for (const d of x.dates || []) out.push(['date', `${d.value.date} (${t('rep.precision')} ${d.value.precision})`, d.span, d.confidence]);
  for (const a of x.actors || []) out.push(['actor', a.value.name, a.span, a.confidence]);
  for (const p of x.places || []) out.push(['place', p.value.place.display || p.value.place.name, p.span, p.confidence]);
  for (const s of x.segments || []) out.push(['segment', `${s.value.from?.name ?? ''} – ${s.value.to?.name ?? ''}`, s.span, s.confidence]);
  if (x.event) out.push(['event', [x.event.value.event_type, x.event.value.sub_event_type].filter(Boolean).join(' / '), x.event.span, x.event.confidence]);
  for (const d of x.deaths || []) out.push(['deaths', String(d.value), d.span, d.confidence]);
  if (x.hostages) out.push(['hostages', JSON.stringify(x.hostages.value).replace(/[{}"]/g, ' ').trim(), x.hostages.span, x.hostages.confidence]);
  if (x.case_step) out.push(['step', String(x.case_step.value), x.case_step.span, x.case_step.confidence]);
  if (x.ransom_paid) out.push(['ransom', String(x.ransom_paid.value), x.ransom_paid.span, x.ransom_paid.confidence]);
  return out;
}

/** The text with the spans (UTF-8 byte offsets) marked. */
function highlighted(text, found) {
  const bytes = new TextEncoder().encode(text);
  const dec = new TextDecoder();
  const spans = found.filter(([, , s]) => s && s.end > s.start).sort((a, b) => a[2].start - b[2].start);
  const out = [];
  let at = 0;
  for (const [kind, label, s, conf] of spans) {
    if (s.start < at) continue; // overlapping: keep the first
    out.push(dec.decode(bytes.slice(at, s.start)));
    out.push(h('mark', { class: `hl hl-${kind}`, title: `${t('rep.kind.' + kind)}: ${label} (${Math.round(conf * 100)} %)` }, dec.decode(bytes.slice(s.start, s.end))));
    at = s.end;
  }
  out.push(dec.decode(bytes.slice(at)));
  return h('div', { class: 'highlighted', id: 'highlighted' }, out);
}

function renderExtraction(text, x, head) {
  const found = items(x);
  const places = (x.places || []).map((p) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [p.value.place.longitude, p.value.place.latitude] }, properties: { name: p.value.place.name } }));
  setData(ctx.map, 'report-places', { type: 'FeatureCollection', features: places });
  if (places.length) fitTo(ctx.map, places, 120);
  body.replaceChildren(...[
    head,
    h('h3', {}, t('rep.extraction'), ' ', h('span', { class: 'muted' }, `${x.lang}${x.lang_detected ? ' ' + t('rep.detected') : ''}`)),
    x.unlocated ? h('p', { class: 'warn' }, t('rep.unlocated.long')) : null,
    highlighted(text, found),
    h('table', { class: 'found', id: 'found' },
      h('tr', {}, h('th', {}, t('rep.kind')), h('th', {}, t('rep.value')), h('th', {}, t('rep.span')), h('th', {}, '%')),
      found.map(([kind, label, s, conf]) => h('tr', {}, h('td', {}, h('span', { class: `hl hl-${kind}` }, t('rep.kind.' + kind))), h('td', {}, label), h('td', { class: 'muted' }, `“${s.text}”`), h('td', {}, Math.round(conf * 100))))),
  ].filter(Boolean));
}

function renderReport(r, cands) {
  const head = h('div', { class: 'report-head' },
    h('h3', {}, r.title || r.source, ' ', tlpBadge(r.tlp)),
    h('p', { class: 'muted' }, `${r.source} · ${r.published} · ${t('rep.grade')} ${r.reliability}${r.credibility}`));
  if (r.extraction && r.text) renderExtraction(r.text, r.extraction, head);
  else body.replaceChildren(head);
  body.append(h('h3', {}, t('rep.candidates')), candidates(r, cands || []));
}

function candidates(r, cands) {
  const box = h('div', { id: 'candidates' });
  const decide = async (incident, verdict) => {
    try {
      await post(`/api/v1/reports/${r.id}/links`, { incident, verdict });
      openReport(r.id);
    } catch (x) { ctx.status(x.message, 'error'); }
  };
  const rows = cands.map((c) => {
    const i = c.incident;
    return h('li', { class: 'candidate' },
      h('div', {}, h('strong', {}, `${Math.round(c.score.score * 100)} %`), ` · ${i.event_date} · ${i.sub_event_type || i.event_type} · ${i.location?.place || ''} `, tlpBadge(i.tlp)),
      h('div', { class: 'muted' }, t('rep.score', { km: c.score.distance_km?.toFixed(0) ?? '?', days: c.score.days_apart })),
      c.decision ? h('div', { class: `decision ${c.decision}` }, t('rep.decision.' + c.decision)) : h('div', { class: 'row' },
        h('button', { type: 'button', class: 'confirm', onclick: () => decide(i.id, 'confirm') }, t('rep.confirm')),
        h('button', { type: 'button', class: 'secondary', onclick: () => decide(i.id, 'reject') }, t('rep.reject'))));
  });
  const linked = (r.links || []).some((l) => l.status === 'confirmed');
  box.append(rows.length ? h('ul', { class: 'list' }, rows) : h('p', { class: 'muted' }, t('rep.nocandidates')));
  if (!linked) {
    box.append(h('button', { type: 'button', id: 'new-incident', onclick: async () => {
      try {
        const inc = await post(`/api/v1/reports/${r.id}/incident`, { marking: { tlp: String(r.tlp).replace(/^TLP:/, '') } });
        location.hash = `#map/${inc.id}`;
      } catch (x) { ctx.status(x.message, 'error'); }
    } }, t('rep.newincident')));
  }
  return box;
}
