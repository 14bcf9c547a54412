// Kidnap cases: a filtered list, each case's place on the map, and a case's
// timeline (every step with its date and the report behind it).
import { get } from './api.js';
import { t } from './i18n.js';
import { h, field, select, tlpBadge } from './ui.js';
import { setData, addLayers, show, fitTo } from './map.js';

let ctx;
let listEl;
let detailEl;
let cases = [];
const filter = { status: '', nationality: '', country: '', from: '', to: '' };
const LAYERS = ['case-points'];
const STATUSES = ['held', 'released', 'rescued', 'escaped', 'killed'];

export function init(c) {
  ctx = c;
  setData(ctx.map, 'cases', null);
  addLayers(ctx.map, [{
    id: 'case-points', type: 'circle', source: 'cases', layout: { visibility: 'none' },
    paint: {
      'circle-radius': 8, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2,
      'circle-color': ['match', ['get', 'status'], 'held', '#d7301f', 'killed', '#000', '#1a9641'],
    },
  }]);
  ctx.map.on('click', 'case-points', (e) => { location.hash = `#cases/${e.features[0].properties.id}`; });
}

export function enter(c, arg) {
  ctx = c;
  show(ctx.map, LAYERS, true);
  listEl = h('div', { id: 'case-list' });
  detailEl = h('div', { id: 'case-detail' });
  const input = (k, type = 'text', extra = {}) => {
    const i = h('input', { name: k, type, value: filter[k], ...extra });
    i.addEventListener('change', () => { filter[k] = i.value.trim(); });
    return i;
  };
  const status = select({ name: 'status' }, [['', t('filter.any')], ...STATUSES.map((s) => [s, t('case.status.' + s)])], filter.status);
  status.addEventListener('change', () => { filter.status = status.value; });
  const f = h('form', { class: 'filters', id: 'case-filters' },
    h('div', { class: 'row' }, field(t('case.status'), status), field(t('case.nationality'), input('nationality', 'text', { placeholder: 'FR, IT…' }))),
    h('div', { class: 'row' }, field(t('filter.country'), input('country', 'text', { placeholder: 'ML, BF, NE' }))),
    h('div', { class: 'row' }, field(t('filter.from'), input('from', 'date')), field(t('filter.to'), input('to', 'date'))),
    h('button', { type: 'submit' }, t('filter.apply')));
  f.addEventListener('submit', (e) => { e.preventDefault(); load(); });
  ctx.side.append(h('h2', {}, t('case.title')), f, detailEl, listEl);
  load().then(() => { if (arg) open(arg); });
}

export function leave() {
  show(ctx.map, LAYERS, false);
}

async function load() {
  try {
    const r = await get('/api/v1/cases', filter);
    cases = r.items;
    const feats = cases.filter((c) => c.place).map((c) => ({
      type: 'Feature', geometry: { type: 'Point', coordinates: [c.place.longitude, c.place.latitude] },
      properties: { id: c.id, status: c.status },
    }));
    setData(ctx.map, 'cases', { type: 'FeatureCollection', features: feats });
    listEl.replaceChildren(h('h3', {}, t('case.count', { n: cases.length })), cases.length ? h('ul', { class: 'list' }, cases.map((c) => h('li', {},
      h('a', { href: `#cases/${c.id}` }, `${c.abducted_on} · ${c.place?.name ?? '?'}`), ' ', h('span', { class: `case-status st-${c.status}` }, t('case.status.' + c.status)), ' ', tlpBadge(c.tlp),
      h('br'), h('span', { class: 'muted' }, [c.hostages ? `${c.hostages} ${t('case.hostages')}` : null, c.nationality, c.occupation, c.perpetrator, t('case.days', { n: c.days_held })].filter(Boolean).join(' · '))))) : h('p', { class: 'muted' }, t('case.none')));
  } catch (x) { listEl.replaceChildren(h('p', { class: 'error' }, x.message)); }
}

async function open(id) {
  try {
    const c = await get(`/api/v1/cases/${encodeURIComponent(id)}`);
    const facts = [
      [t('case.abducted'), c.abducted_on],
      [t('case.status'), t('case.status.' + c.status) + (c.ended_on ? ` (${c.ended_on})` : '')],
      [t('case.held'), t('case.days', { n: c.days_held })],
      [t('case.hostages.count'), c.hostages],
      [t('case.nationality'), c.nationality],
      [t('case.occupation'), c.occupation],
      [t('case.perpetrator'), c.perpetrator],
      [t('inc.place'), c.place ? `${c.place.name} (± ${Math.round(c.place.uncertainty_km)} km)` : null],
    ].filter(([, v]) => v !== undefined && v !== null);
    detailEl.replaceChildren(
      h('h3', {}, t('case.one'), ' ', tlpBadge(c.tlp)),
      h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])),
      c.incident ? h('p', {}, h('a', { href: `#map/${c.incident}` }, t('case.incident'))) : null,
      h('h4', {}, t('case.timeline')),
      h('ol', { class: 'timeline', id: 'timeline' }, c.steps.map((s) => h('li', { class: `step st-${s.kind}` },
        h('span', { class: 'when' }, s.on_date), ' ', h('strong', {}, t('case.step.' + s.kind)),
        s.note ? h('div', {}, s.note) : null,
        h('div', { class: 'muted' }, `${s.report.source} · ${s.report.published} · ${s.report.reliability}${s.report.credibility}`)))));
    if (c.place) fitTo(ctx.map, [{ geometry: { type: 'Point', coordinates: [c.place.longitude, c.place.latitude] } }], 200);
  } catch (x) { detailEl.replaceChildren(h('p', { class: 'error' }, x.message)); }
}
