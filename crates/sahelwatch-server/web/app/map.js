// The map: MapLibre GL JS with a base map drawn only from data this server
// sends (Natural Earth countries and admin-1 units, GeoNames towns): no tile
// server, no network. Views add their own GeoJSON sources and layers.
import * as maplibregl from '/ui/vendor/maplibre-gl-6.17.0/maplibre-gl.mjs';
import { lang } from './i18n.js';

export { maplibregl };

const FONTS = '/ui/vendor/noto-sans-5.3.0/';
const EMPTY = { type: 'FeatureCollection', features: [] };

function style() {
  const face = (w) => [
    { url: `${FONTS}noto-sans-latin-${w}-normal.woff2`, 'unicode-range': ['U+0000-00FF', 'U+0131', 'U+0152-0153', 'U+02BB-02BC', 'U+02C6', 'U+02DA', 'U+02DC', 'U+2000-206F', 'U+20AC', 'U+2122', 'U+2191', 'U+2193', 'U+2212', 'U+2215', 'U+FEFF', 'U+FFFD'] },
    { url: `${FONTS}noto-sans-latin-ext-${w}-normal.woff2`, 'unicode-range': ['U+0100-02BA', 'U+02BD-02C5', 'U+02C7-02CC', 'U+02CE-02D7', 'U+02DD-02FF', 'U+1E00-1E9F', 'U+1EF2-1EFF', 'U+2020', 'U+20A0-20AB', 'U+20AD-20C0', 'U+2113', 'U+2C60-2C7F', 'U+A720-A7FF'] },
  ];
  return {
    version: 8,
    'font-faces': { 'Noto Sans Regular': face(400), 'Noto Sans Bold': face(700) },
    sources: {
      countries: { type: 'geojson', data: EMPTY },
      admin1: { type: 'geojson', data: EMPTY },
      towns: { type: 'geojson', data: EMPTY },
    },
    layers: [
      { id: 'sea', type: 'background', paint: { 'background-color': '#b9d3e0' } },
      { id: 'land', type: 'fill', source: 'countries', paint: { 'fill-color': '#f3eee2' } },
      { id: 'admin1-line', type: 'line', source: 'admin1', paint: { 'line-color': '#b8ad96', 'line-width': 0.6, 'line-dasharray': [3, 2] } },
      { id: 'country-line', type: 'line', source: 'countries', paint: { 'line-color': '#7d7466', 'line-width': 1.2 } },
      {
        id: 'town-dot', type: 'circle', source: 'towns', minzoom: 4,
        filter: ['>=', ['get', 'population'], ['step', ['zoom'], 200000, 5, 50000, 6.5, 10000]],
        paint: { 'circle-radius': 2.5, 'circle-color': '#444', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 },
      },
      {
        id: 'town-label', type: 'symbol', source: 'towns', minzoom: 4,
        filter: ['>=', ['get', 'population'], ['step', ['zoom'], 200000, 5, 50000, 6.5, 10000]],
        layout: {
          'text-field': ['get', 'name'], 'text-font': ['Noto Sans Regular'], 'text-size': 12,
          'text-offset': [0, 0.7], 'text-anchor': 'top', 'symbol-sort-key': ['-', ['get', 'population']],
        },
        paint: { 'text-color': '#333', 'text-halo-color': '#fff', 'text-halo-width': 1.4 },
      },
      {
        id: 'country-label', type: 'symbol', source: 'countries', maxzoom: 6,
        layout: { 'text-field': ['get', 'name'], 'text-font': ['Noto Sans Bold'], 'text-size': 13, 'text-transform': 'uppercase', 'text-letter-spacing': 0.1 },
        paint: { 'text-color': '#8a7f6d', 'text-halo-color': '#f3eee2', 'text-halo-width': 1 },
      },
    ],
  };
}

/** The map, with its base layers loaded (resolves after the first idle). */
export async function createMap(container) {
  const map = new maplibregl.Map({
    container, style: style(), center: [0.5, 14.5], zoom: 4.6,
    attributionControl: false, locale: lang() === 'fr' ? FR_CONTROLS : {},
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
  map.addControl(new maplibregl.AttributionControl({
    compact: true,
    customAttribution: 'Natural Earth · GeoNames (CC BY 4.0) · UCDP GED (CC BY 4.0)',
  }), 'bottom-right');
  await new Promise((ok) => map.once('load', ok));
  const load = async (id, url) => {
    const r = await fetch(url, { credentials: 'same-origin' });
    if (r.ok) map.getSource(id).setData(await r.json());
  };
  await Promise.all([
    load('countries', '/ui/vendor/countries-10m/countries.geojson'),
    load('admin1', '/api/v1/basemap/admin1'),
    load('towns', '/api/v1/basemap/towns?min_population=10000'),
  ]);
  map.once('idle', () => { document.body.dataset.mapReady = '1'; });
  window.sahelwatchMap = map; // for the browser tests
  return map;
}

const FR_CONTROLS = {
  'NavigationControl.ZoomIn': 'Zoom avant',
  'NavigationControl.ZoomOut': 'Zoom arrière',
  'ScaleControl.Kilometers': 'km',
  'ScaleControl.Meters': 'm',
};

/** Set a GeoJSON source's data, adding the source first if needed. */
export function setData(map, id, data, options = {}) {
  const src = map.getSource(id);
  if (src) src.setData(data || EMPTY);
  else map.addSource(id, { type: 'geojson', data: data || EMPTY, ...options });
}

/** Add layers once (by id). */
export function addLayers(map, layers) {
  for (const l of layers) if (!map.getLayer(l.id)) map.addLayer(l);
}

/** Show or hide layers by id. */
export function show(map, ids, visible) {
  for (const id of ids) {
    if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', visible ? 'visible' : 'none');
  }
}

/** Fit the map to GeoJSON geometries' bounds. */
export function fitTo(map, features, padding = 60) {
  const b = new maplibregl.LngLatBounds();
  const walk = (c) => (typeof c[0] === 'number' ? b.extend(c) : c.forEach(walk));
  for (const f of features) if (f && f.geometry) walk(f.geometry.coordinates);
  if (!b.isEmpty()) map.fitBounds(b, { padding, maxZoom: 10, duration: 0 });
}

export { EMPTY };
