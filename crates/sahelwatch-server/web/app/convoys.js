// Live convoys: routes and vehicles on the map (refreshed every 2 s while
// shown), the alerts panel fed by the live stream (/api/v1/alerts/stream,
// which runs from sign-in so the header badge counts new alerts on any
// view), and acknowledgement of an alert with a note.
import { get, post } from './api.js';
import { t } from './i18n.js';
import { h, tlpBadge } from './ui.js';
import { setData, addLayers, show, fitTo } from './map.js';

let ctx;
let alerts = []; // newest first
let stream;
let timer;
let active = false;
let fitted = false;
let listEl;
let alertsEl;
const LAYERS = ['convoy-route', 'convoy-vehicle', 'convoy-vehicle-label'];
const SEV_COLOUR = { info: '#4575b4', warning: '#fdae61', critical: '#d73027' };
const canAct = () => ['operator', 'analyst', 'admin'].includes(ctx.me.role);

export function init(c) {
  ctx = c;
  setData(ctx.map, 'convoy-routes', null);
  setData(ctx.map, 'convoy-vehicles', null);
  addLayers(ctx.map, [
    { id: 'convoy-route', type: 'line', source: 'convoy-routes', layout: { visibility: 'none', 'line-cap': 'round' },
      paint: { 'line-color': '#542788', 'line-width': 4, 'line-opacity': 0.7 } },
    { id: 'convoy-vehicle', type: 'circle', source: 'convoy-vehicles', layout: { visibility: 'none' },
      paint: { 'circle-radius': 8, 'circle-color': ['case', ['get', 'stale'], '#999', '#542788'], 'circle-stroke-color': '#fff', 'circle-stroke-width': 2.5 } },
    { id: 'convoy-vehicle-label', type: 'symbol', source: 'convoy-vehicles', layout: { visibility: 'none',
      'text-field': ['get', 'label'], 'text-font': ['Noto Sans Bold'], 'text-size': 12, 'text-offset': [0, 1.3], 'text-anchor': 'top' },
      paint: { 'text-color': '#2d004b', 'text-halo-color': '#fff', 'text-halo-width': 1.5 } },
  ]);
  loadAlerts().then(openStream);
}

export function enter(c) {
  ctx = c;
  active = true;
  clearInterval(timer);
  fitted = false;
  show(ctx.map, LAYERS, true);
  listEl = h('div', { id: 'convoy-list' });
  alertsEl = h('div', { id: 'alerts' });
  ctx.side.append(h('h2', {}, t('conv.title')), listEl, h('h3', {}, t('alert.title')), alertsEl);
  renderAlerts();
  refresh();
  timer = setInterval(refresh, 2000);
}

export function leave() {
  active = false;
  clearInterval(timer);
  show(ctx.map, LAYERS, false);
}

async function refresh() {
  try {
    const r = await get('/api/v1/convoys');
    const convoys = r;
    const routes = [];
    const vehicles = [];
    const now = Date.now();
    for (const c of convoys) {
      routes.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: c.route }, properties: { id: c.id } });
      for (const v of c.vehicles) {
        if (!v.last_position) continue;
        const age = v.last_time ? (now - Date.parse(v.last_time)) / 1000 : Infinity;
        vehicles.push({ type: 'Feature', geometry: { type: 'Point', coordinates: v.last_position },
          properties: { label: `${c.name} · ${v.name}`, stale: age > 3 * c.interval_s } });
      }
    }
    if (!active) return;
    setData(ctx.map, 'convoy-routes', { type: 'FeatureCollection', features: routes });
    setData(ctx.map, 'convoy-vehicles', { type: 'FeatureCollection', features: vehicles });
    document.body.dataset.vehicles = String(vehicles.length);
    if (!fitted && routes.length) { fitTo(ctx.map, routes); fitted = true; }
    listEl.replaceChildren(convoys.length ? h('ul', { class: 'list' }, convoys.map((c) => h('li', { class: 'convoy' },
      h('a', { href: '#convoys', onclick: (e) => { e.preventDefault(); fitTo(ctx.map, [routes.find((x) => x.properties.id === c.id)]); } }, c.name),
      ' ', tlpBadge(c.tlp), c.escort ? h('span', { class: 'muted' }, ` · ${t('conv.escort')}`) : null,
      h('div', { class: 'muted' }, `${c.owner} · ${c.distance_km.toFixed(0)} km · ${c.route_source}`),
      h('ul', { class: 'vehicles' }, c.vehicles.map((v) => h('li', {}, `${v.name}: `,
        v.km !== null && v.km !== undefined ? `${v.km.toFixed(1)} / ${c.distance_km.toFixed(0)} km` : t('conv.nopos'),
        v.last_time ? h('span', { class: 'muted' }, ` · ${new Date(v.last_time).toLocaleTimeString()}`) : null)))))) : h('p', { class: 'muted' }, t('conv.none')));
  } catch (x) { if (active) ctx.status(x.message, 'error'); }
}

/** Every alert the user may see, paged to the newest (kept: the last 500). */
async function loadAlerts() {
  try {
    let after = 0;
    for (;;) {
      const page = await get('/api/v1/alerts', { after, limit: 1000 });
      for (const a of page) after = Math.max(after, a.id);
      alerts = alerts.concat(page);
      if (page.length < 1000) break;
    }
    alerts = alerts.sort((a, b) => b.id - a.id).slice(0, 500);
    badge();
  } catch (x) { ctx.status(x.message, 'error'); }
}

let retry = 1000;
/**
 * The live alert stream, resumed after the newest alert held. Reopened
 * with a growing delay when it fails or the server ends it, except when the
 * session is no longer valid (then back to sign-in).
 */
function openStream() {
  const last = alerts.length ? alerts[0].id : 0;
  stream = new EventSource(`/api/v1/alerts/stream?last_event_id=${last}`);
  const reopen = () => {
    stream.close();
    document.body.dataset.alertStream = 'closed';
    setTimeout(openStream, retry);
    retry = Math.min(retry * 2, 60000);
  };
  stream.addEventListener('ready', () => { document.body.dataset.alertStream = 'open'; retry = 1000; });
  stream.addEventListener('alert', (e) => {
    const a = JSON.parse(e.data);
    const i = alerts.findIndex((x) => x.id === a.id);
    if (i >= 0) alerts[i] = a; else alerts.unshift(a);
    badge();
    toast(a);
    if (active) renderAlerts();
  });
  stream.addEventListener('end', (e) => {
    if (/credentials/.test(e.data)) { stream.close(); location.reload(); } else reopen();
  });
  stream.onerror = () => { if (stream.readyState === EventSource.CLOSED) reopen(); };
}

function badge() {
  const n = alerts.filter((a) => !a.acknowledged).length;
  const b = document.getElementById('alert-badge');
  b.hidden = n === 0;
  b.textContent = t('alert.badge', { n });
  b.onclick = () => { location.hash = '#convoys'; };
}

function toast(a) {
  const el = h('div', { class: `toast sev-${a.severity}`, role: 'alert' }, h('strong', {}, `${a.convoy_name}: `), a.message);
  document.body.append(el);
  setTimeout(() => el.remove(), 8000);
}

function renderAlerts() {
  if (!alertsEl) return;
  alertsEl.replaceChildren(alerts.length ? h('ul', { class: 'list alerts' }, alerts.map((a) => {
    const row = h('li', { class: `alert sev-${a.severity}${a.acknowledged ? ' acked' : ''}`, dataset: { id: a.id, kind: a.kind } },
      h('div', {}, h('span', { class: 'sev', style: `background:${SEV_COLOUR[a.severity] || '#999'}` }, t('sev.' + a.severity)),
        ' ', h('strong', {}, a.convoy_name), a.vehicle ? ` · ${a.vehicle}` : '', h('span', { class: 'muted' }, ` · ${new Date(a.at).toLocaleString()}`)),
      h('div', { class: 'msg' }, a.message));
    if (a.acknowledged) {
      row.append(h('div', { class: 'ack muted' }, t('alert.acked', { by: a.acknowledged.by || '?', at: new Date(a.acknowledged.at).toLocaleTimeString() }), a.acknowledged.note ? ` — ${a.acknowledged.note}` : ''));
    } else if (canAct()) {
      const note = h('input', { class: 'note', placeholder: t('alert.note'), maxlength: 1000 });
      const btn = h('button', { type: 'button', class: 'ack-btn' }, t('alert.ack'));
      btn.addEventListener('click', async () => {
        btn.disabled = true;
        try {
          const r = await post(`/api/v1/alerts/${a.id}/ack`, { note: note.value.trim() || undefined });
          Object.assign(a, r);
          badge();
          renderAlerts();
        } catch (x) { btn.disabled = false; ctx.status(x.message, 'error'); }
      });
      row.append(h('div', { class: 'row' }, note, btn));
    }
    return row;
  })) : h('p', { class: 'muted' }, t('alert.none')));
}
