// The incident map: filters, clusters, heat and hotspot layers, counts, the
// trend chart with its period-over-period statement for the filter and the
// map view, and an incident's details (reports, grades, contradictions,
// kidnap case).
import { get, qs } from './api.js';
import { t, lang } from './i18n.js';
import { h, fmt, tlpBadge, field, select, debounce } from './ui.js';
import { setData, addLayers, show, maplibregl } from './map.js';
import { barChart } from './chart.js';

const filter = { from: '', to: '', country: '', event_type: '', sub_event_type: '', actor: '', q: '' };
const layersOn = { clusters: true, heat: false, hotspots: false };
let ctx;
let types = null; // [{event_type, sub_event_types: [...]}]
let panel; // the sidebar's parts
let popup;
let active = false;
const LAYERS = {
  clusters: ['inc-clusters', 'inc-cluster-count', 'inc-points'],
  heat: ['inc-heat'],
  hotspots: ['hot-fill', 'hot-line'],
};

function params(extra = {}) {
  return { ...filter, ...extra };
}

function viewBbox() {
  const b = ctx.map.getBounds();
  const c = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  return [c(b.getWest(), -180, 180), c(b.getSouth(), -90, 90), c(b.getEast(), -180, 180), c(b.getNorth(), -90, 90)]
    .map((v) => v.toFixed(4)).join(',');
}

export function init(c) {
  ctx = c;
  const map = ctx.map;
  setData(map, 'incidents', null, {
    cluster: true, clusterRadius: 45, clusterMaxZoom: 11,
    clusterProperties: { fatalities: ['+', ['get', 'fatalities']] },
  });
  setData(map, 'incidents-heat', null);
  setData(map, 'hotspots', null);
  addLayers(map, [
    {
      id: 'hot-fill', type: 'fill', source: 'hotspots', layout: { visibility: 'none' },
      // Gi* bins: -3 (cold, 99 %) .. 3 (hot, 99 %).
      paint: { 'fill-color': ['match', ['get', 'bin'], 3, '#b2182b', 2, '#ef8a62', 1, '#fddbc7', -1, '#d1e5f0', -2, '#67a9cf', -3, '#2166ac', 'rgba(0,0,0,0)'], 'fill-opacity': 0.55 },
    },
    {
      id: 'hot-line', type: 'line', source: 'hotspots', layout: { visibility: 'none' },
      paint: { 'line-color': '#999', 'line-width': 0.3 },
    },
    {
      id: 'inc-heat', type: 'heatmap', source: 'incidents-heat', layout: { visibility: 'none' },
      paint: {
        'heatmap-weight': ['interpolate', ['linear'], ['get', 'fatalities'], 0, 0.3, 50, 1],
        'heatmap-radius': ['interpolate', ['linear'], ['zoom'], 3, 12, 9, 30],
        'heatmap-opacity': 0.75,
      },
    },
    {
      id: 'inc-clusters', type: 'circle', source: 'incidents', filter: ['has', 'point_count'],
      paint: {
        'circle-color': ['step', ['get', 'point_count'], '#fdae61', 10, '#f46d43', 50, '#d73027'],
        'circle-radius': ['step', ['get', 'point_count'], 13, 10, 18, 50, 24],
        'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5, 'circle-opacity': 0.9,
      },
    },
    {
      id: 'inc-cluster-count', type: 'symbol', source: 'incidents', filter: ['has', 'point_count'],
      layout: { 'text-field': ['get', 'point_count_abbreviated'], 'text-font': ['Noto Sans Bold'], 'text-size': 12, 'text-allow-overlap': true },
      paint: { 'text-color': '#fff' },
    },
    {
      id: 'inc-points', type: 'circle', source: 'incidents', filter: ['!', ['has', 'point_count']],
      paint: {
        'circle-color': ['match', ['get', 'tlp'], 'CLEAR', '#7b3294', 'GREEN', '#1a9641', 'AMBER', '#e66101', 'AMBER+STRICT', '#b35806', 'RED', '#ca0020', '#7b3294'],
        'circle-radius': ['interpolate', ['linear'], ['get', 'fatalities'], 0, 5, 20, 8, 100, 12],
        'circle-stroke-color': '#fff', 'circle-stroke-width': 1.2,
      },
    },
  ]);
  map.on('click', 'inc-clusters', async (e) => {
    const f = e.features[0];
    const zoom = await map.getSource('incidents').getClusterExpansionZoom(f.properties.cluster_id);
    map.easeTo({ center: f.geometry.coordinates, zoom });
  });
  map.on('click', 'inc-points', (e) => openIncident(e.features[0].properties.id, e.lngLat));
  for (const l of ['inc-clusters', 'inc-points']) {
    map.on('mouseenter', l, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', l, () => { map.getCanvas().style.cursor = ''; });
  }
  map.on('moveend', debounce(() => {
    if (!active) return;
    refreshStats();
    if (layersOn.hotspots) loadHotspots();
  }, 300));
}

function form() {
  const input = (k, type = 'text', extra = {}) => {
    const i = h('input', { name: k, type, value: filter[k], ...extra });
    i.addEventListener('change', () => { filter[k] = i.value.trim(); });
    return i;
  };
  const typeSel = select({ name: 'event_type' }, [['', t('filter.any')]], filter.event_type);
  const subSel = select({ name: 'sub_event_type' }, [['', t('filter.any')]], filter.sub_event_type);
  const fillSubs = () => {
    const subs = (types || []).filter((x) => !filter.event_type || x.event_type === filter.event_type)
      .flatMap((x) => x.subs);
    subSel.replaceChildren(h('option', { value: '' }, t('filter.any')), ...[...new Set(subs)].sort().map((s) => h('option', { value: s }, s)));
    subSel.value = subs.includes(filter.sub_event_type) ? filter.sub_event_type : '';
    filter.sub_event_type = subSel.value;
  };
  const fillTypes = () => {
    typeSel.replaceChildren(h('option', { value: '' }, t('filter.any')), ...(types || []).map((x) => h('option', { value: x.event_type }, x.event_type)));
    typeSel.value = filter.event_type;
    fillSubs();
  };
  typeSel.addEventListener('change', () => { filter.event_type = typeSel.value; fillSubs(); });
  subSel.addEventListener('change', () => { filter.sub_event_type = subSel.value; });
  panel.fillTypes = fillTypes;
  const f = h('form', { id: 'filters', class: 'filters' },
    h('div', { class: 'row' }, field(t('filter.from'), input('from', 'date')), field(t('filter.to'), input('to', 'date'))),
    field(t('filter.country'), input('country', 'text', { placeholder: 'ML, BF, NE', list: 'countries' })),
    field(t('filter.event_type'), typeSel),
    field(t('filter.sub_event_type'), subSel),
    field(t('filter.actor'), input('actor', 'text', { placeholder: 'JNIM' })),
    field(t('filter.text'), input('q', 'search')),
    h('div', { class: 'row' },
      h('button', { type: 'submit' }, t('filter.apply')),
      h('button', { type: 'button', class: 'secondary', onclick: () => { for (const k of Object.keys(filter)) filter[k] = ''; ctx.go('map'); } }, t('filter.reset'))),
    h('datalist', { id: 'countries' }, ['ML', 'BF', 'NE', 'MR', 'TD', 'SN', 'NG', 'DZ', 'LY', 'CM'].map((c) => h('option', { value: c }))));
  f.addEventListener('submit', (e) => {
    e.preventDefault();
    for (const el of f.querySelectorAll('input[name]')) filter[el.name] = el.value.trim();
    refresh();
  });
  fillTypes();
  return f;
}

function toggles() {
  return h('fieldset', { class: 'toggles' }, h('legend', {}, t('layers')),
    ...Object.keys(LAYERS).map((k) => {
      const c = h('input', { type: 'checkbox', name: `layer-${k}`, checked: layersOn[k] });
      c.addEventListener('change', () => { layersOn[k] = c.checked; show(ctx.map, LAYERS[k], c.checked); if (k === 'hotspots' && c.checked) loadHotspots(); legend(); });
      return h('label', { class: 'check' }, c, t(`layer.${k}`));
    }));
}

export function enter(c, arg) {
  ctx = c;
  active = true;
  panel = {};
  panel.summary = h('div', { id: 'summary', class: 'summary' });
  panel.trend = h('div', { id: 'trend', class: 'trend' });
  panel.detail = h('div', { id: 'detail', class: 'detail' });
  ctx.side.append(h('h2', {}, t('map.title')), form(), toggles(), panel.summary, panel.trend, panel.detail);
  for (const [k, ids] of Object.entries(LAYERS)) show(ctx.map, ids, layersOn[k]);
  legend();
  if (!types) loadTypes(); else panel.fillTypes();
  refresh();
  if (arg) openIncident(arg);
}

export function leave() {
  active = false;
  for (const ids of Object.values(LAYERS)) show(ctx.map, ids, false);
  popup?.remove();
  document.getElementById('legend').replaceChildren();
}

function legend() {
  const item = (colour, label) => h('span', { class: 'key' }, h('i', { style: `background:${colour}` }), label);
  document.getElementById('legend').replaceChildren(...[
    item('#7b3294', 'TLP:CLEAR'), item('#1a9641', 'TLP:GREEN'), item('#e66101', 'TLP:AMBER'), item('#ca0020', 'TLP:RED'),
    layersOn.hotspots ? item('#b2182b', t('hot.hot')) : null,
    layersOn.hotspots ? item('#2166ac', t('hot.cold')) : null,
  ].filter(Boolean));
}

async function loadTypes() {
  try {
    const r = await get('/api/v1/incidents/counts', { by: 'event_type,sub_event_type' });
    const m = new Map();
    for (const g of r.groups || []) {
      const [ty, st] = g.keys;
      if (!ty) continue;
      if (!m.has(ty)) m.set(ty, []);
      if (st) m.get(ty).push(st);
    }
    types = [...m.entries()].sort().map(([event_type, subs]) => ({ event_type, subs }));
    if (active) panel.fillTypes();
  } catch (x) { ctx.status(x.message, 'error'); }
}

let refreshSeq = 0;
async function refresh() {
  if (!active) return;
  const seq = ++refreshSeq;
  document.body.dataset.stats = 'loading';
  ctx.status(t('loading'));
  try {
    // Points with only what the layers use, every match (not a page).
    const data = await get('/api/v1/incidents/export', params({ format: 'points' }));
    if (seq !== refreshSeq || !active) return; // a newer filter, or another view
    setData(ctx.map, 'incidents', data);
    setData(ctx.map, 'incidents-heat', data);
    document.body.dataset.incidents = String(data.features.length);
    ctx.status('');
  } catch (x) {
    ctx.status(x.message, 'error');
    return;
  }
  if (layersOn.hotspots) loadHotspots();
  refreshStats();
}

async function loadHotspots() {
  try {
    // A grid fine enough to see at this zoom, coarse enough to compute.
    const z = ctx.map.getZoom();
    const resolution = z < 4 ? 3 : z < 6 ? 4 : z < 8 ? 5 : 6;
    const r = await get('/api/v1/analytics/hotspots', params({ bbox: viewBbox(), resolution, period: 'year' }));
    if (!active) return;
    setData(ctx.map, 'hotspots', r);
    legend();
  } catch (x) { ctx.status(x.message, 'error'); }
}

/** Counts, trend and change for the filter within the map view. */
let statsSeq = 0;
async function refreshStats() {
  const seq = ++statsSeq;
  const latest = () => seq === statsSeq && active;
  document.body.dataset.stats = 'loading';
  const p = params({ bbox: viewBbox() });
  try {
    await drawStats(p, latest);
  } catch (x) { ctx.status(x.message, 'error'); }
  if (latest()) document.body.dataset.stats = 'done';
}

/** Counts, trend and change; drawn only while `latest()`. */
async function drawStats(p, latest) {
  {
    const counts = await get('/api/v1/incidents/counts', p);
    if (!latest()) return;
    panel.summary.replaceChildren(
      h('p', {}, h('strong', { id: 'count' }, fmt(counts.count)), ` ${t('summary.incidents')} · `,
        h('strong', {}, fmt(counts.fatalities)), ` ${t('summary.fatalities')}`),
      h('p', { class: 'muted' }, t('summary.scope')));
    document.body.dataset.count = String(counts.count);
    if (!counts.count) { panel.trend.replaceChildren(); return; }
    panel.trend.replaceChildren(h('p', { class: 'muted' }, t('loading')));
    const span = await spanOf(p);
    const period = span.years > 4 ? 'year' : span.years > 1.5 ? 'quarter' : 'month';
    const trend = await get('/api/v1/analytics/trend', { ...p, period, from: filter.from || span.from, to: filter.to || span.to });
    const chart = barChart({
      labels: trend.buckets.map((b) => b.label),
      values: trend.buckets.map((b) => b.count),
      line: trend.buckets.map((b) => b.fatalities),
      title: t('trend.title', { period: t(`period.${period}`) }),
      unit: t('summary.incidents'),
    });
    chart.id = 'trend-chart';
    const statement = await changeStatement(p, trend.buckets);
    if (!latest()) return;
    panel.trend.replaceChildren(chart, h('p', { id: 'change', class: 'statement' }, statement), h('p', { class: 'caption' }, trend.caption));
  }
}

/** First and last day of the incidents matching `p`. */
async function spanOf(p) {
  const first = await get('/api/v1/incidents', { ...p, bbox: p.bbox, sort: 'event_date', limit: 1 });
  const last = await get('/api/v1/incidents', { ...p, bbox: p.bbox, sort: '-event_date', limit: 1 });
  const d = (r) => r.items[0]?.event_date;
  const from = filter.from || d(first) || '2000-01-01';
  const to = filter.to || d(last) || new Date().toISOString().slice(0, 10);
  return { from, to, years: (Date.parse(to) - Date.parse(from)) / 3.15e10 };
}

/** The last full bucket against the one before, in words. */
async function changeStatement(p, buckets) {
  const full = buckets.filter((b) => !b.partial);
  if (full.length < 2) return t('change.none');
  const cur = full[full.length - 1];
  const prev = full[full.length - 2];
  const c = await get('/api/v1/analytics/change', { ...p, compare: `${cur.from}..${cur.to} vs ${prev.from}..${prev.to}` })
    .catch(() => null);
  const a = c ? c.current_totals : cur;
  const b = c ? c.previous_totals : prev;
  const pct = b.count ? Math.round(((a.count - b.count) / b.count) * 100) : null;
  const dir = pct === null ? 'new' : pct > 0 ? 'up' : pct < 0 ? 'down' : 'same';
  return t(`change.${dir}`, { cur: cur.label, prev: prev.label, a: fmt(a.count), b: fmt(b.count), pct: Math.abs(pct ?? 0), fa: fmt(a.fatalities), fb: fmt(b.fatalities) });
}

async function openIncident(id, lngLat) {
  if (!id) return;
  panel.detail.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  try {
    const [inc, rep, cs] = await Promise.all([
      get(`/api/v1/incidents/${encodeURIComponent(id)}`),
      get(`/api/v1/incidents/${encodeURIComponent(id)}/reports`).catch(() => null),
      get('/api/v1/cases').then((r) => r.items.filter((c) => c.incident === id)).catch(() => []),
    ]);
    if (!active) return;
    renderIncident(inc, rep, cs);
    if (lngLat) {
      popup?.remove();
      popup = new maplibregl.Popup({ closeButton: true, maxWidth: '260px' })
        .setLngLat(lngLat)
        .setDOMContent(h('div', {}, h('strong', {}, inc.sub_event_type || inc.event_type), h('br'), `${inc.event_date} · ${inc.location?.place || ''}`))
        .addTo(ctx.map);
    }
  } catch (x) {
    panel.detail.replaceChildren(h('p', { class: 'error' }, x.message));
  }
}

function grade(r) {
  return h('span', { class: 'grade', title: t('grade.title') }, `${r.reliability}${r.credibility}`);
}

function renderIncident(inc, rep, cs) {
  const rows = [
    [t('inc.date'), inc.event_date],
    [t('inc.type'), `${inc.event_type}${inc.sub_event_type ? ' / ' + inc.sub_event_type : ''}`],
    [t('inc.place'), [inc.location?.place, inc.location?.admin1, inc.country_name || inc.location?.country].filter(Boolean).join(', ')],
    [t('inc.actors'), [inc.actors?.actor1, inc.actors?.actor2].filter(Boolean).join(' — ')],
    [t('inc.fatalities'), inc.fatalities?.best],
    [t('inc.source'), [...(inc.sources || []), inc.dataset, inc.owner_org?.name].filter(Boolean).join(' · ')],
  ];
  const parts = [
    h('h3', {}, t('inc.title'), ' ', tlpBadge(inc.tlp)),
    h('dl', { class: 'facts' }, rows.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))])),
    inc.notes ? h('p', { class: 'notes' }, inc.notes) : null,
  ];
  if (rep) {
    const co = rep.corroboration;
    parts.push(h('p', { class: 'muted' }, t('inc.corroboration', { r: co.reports, n: co.independent_sources, c: co.credibility ?? '–' })));
    parts.push(h('h4', {}, t('inc.reports', { n: rep.reports.length })));
    parts.push(h('ul', { class: 'reports' }, rep.reports.map((r) => h('li', {}, grade(r), ' ', h('strong', {}, r.source), ` · ${r.published}`))));
    const conflicts = (rep.versions || []).filter((v) => v.disputed);
    if (conflicts.length) {
      parts.push(h('h4', { class: 'warn' }, t('inc.contradictions')));
      for (const c of conflicts) {
        parts.push(h('div', { class: 'contradiction' }, h('strong', {}, c.attribute),
          h('ul', {}, c.versions.map((v) => h('li', {}, h('span', { class: 'value' }, String(v.value)), ' ← ',
            v.from_record ? h('span', { class: 'src' }, t('inc.record')) : null,
            v.reports.map((r) => h('span', { class: 'src' }, grade(r), ' ', r.source)))))));
      }
    }
  }
  if (cs.length) {
    parts.push(h('h4', {}, t('inc.case')));
    for (const c of cs) {
      parts.push(h('p', {}, h('a', { href: `#cases/${c.id}`, class: 'case-link' },
        `${t('case.status.' + c.status)} · ${c.hostages ?? '?'} ${t('case.hostages')} · ${t('case.days', { n: c.days_held })}`)));
    }
  }
  panel.detail.replaceChildren(...parts);
  panel.detail.scrollIntoView({ block: 'nearest' });
}
