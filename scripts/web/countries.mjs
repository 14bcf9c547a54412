#!/usr/bin/env node
// Country outlines for the offline map: West Africa, the Sahel and their
// neighbours, cut out of Natural Earth 1:10m (world-atlas countries-10m.json)
// and written as a small GeoJSON FeatureCollection.
//
//   node scripts/web/countries.mjs <web/node_modules> <out/countries.geojson>
//
// Run by scripts/web/vendor. The output is deterministic: same input, same bytes.
//
// A country is kept when the bbox of at least one of its polygons intersects
// lon -20..30, lat 0..30. Testing each polygon rather than the country's whole
// bbox matters: the whole bbox of France (Réunion, Guiana), Norway (Bouvet),
// the Netherlands (Caribbean), the USA and Kiribati (antimeridian) spans the box
// without any land in it. A kept country keeps all its polygons (Spain keeps its
// mainland with the Canary Islands).
//
// Each feature: numeric `id` (ISO 3166-1 numeric from world-atlas, omitted if it
// has none) and properties {name}. Coordinates are rounded to 4 decimals (the
// source grid is ~0.0036° x 0.0017°, so nothing is lost), consecutive duplicate
// points and zero-area rings dropped, and rings wound per RFC 7946 (exterior
// counter-clockwise, holes clockwise).
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const [nodeModules, out] = process.argv.slice(2);
if (!nodeModules || !out) {
  console.error("usage: countries.mjs <web/node_modules> <out.geojson>");
  process.exit(2);
}

// Resolve from web/node_modules, not from this script's directory.
const require = createRequire(join(resolve(nodeModules), "noop.js"));
const { feature } = require("topojson-client");
const topology = JSON.parse(readFileSync(require.resolve("world-atlas/countries-10m.json"), "utf8"));

const BOX = { west: -20, south: 0, east: 30, north: 30 };

const bbox = (polygon) => {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  for (const ring of polygon) {
    for (const [x, y] of ring) {
      if (x < w) w = x;
      if (x > e) e = x;
      if (y < s) s = y;
      if (y > n) n = y;
    }
  }
  return [w, s, e, n];
};
const intersects = ([w, s, e, n]) => w <= BOX.east && e >= BOX.west && s <= BOX.north && n >= BOX.south;

const round = (v) => {
  const r = Math.round(v * 1e4) / 1e4;
  return r === 0 ? 0 : r; // no -0
};

// Shoelace sum: > 0 when the ring is counter-clockwise (lon = x, lat = y).
const signedArea = (ring) => {
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    a += (ring[j][0] - ring[i][0]) * (ring[j][1] + ring[i][1]);
  }
  return a;
};

const cleanRing = (ring, exterior) => {
  const pts = [];
  for (const [x, y] of ring) {
    const p = [round(x), round(y)];
    const last = pts[pts.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) pts.push(p);
  }
  const first = pts[0], last = pts[pts.length - 1];
  if (first[0] !== last[0] || first[1] !== last[1]) pts.push([first[0], first[1]]);
  if (pts.length < 4) return null; // collapsed by rounding
  const area = signedArea(pts);
  if (area === 0) return null; // degenerate (one sliver in Spain's source geometry)
  if (area > 0 !== exterior) pts.reverse();
  return pts;
};

const cleanPolygon = (polygon) => {
  const exterior = cleanRing(polygon[0], true);
  if (!exterior) return null;
  const holes = polygon.slice(1).map((r) => cleanRing(r, false)).filter(Boolean);
  return [exterior, ...holes];
};

const features = [];
for (const f of feature(topology, topology.objects.countries).features) {
  if (!f.geometry) continue;
  const polygons = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
  if (!polygons.some((p) => intersects(bbox(p)))) continue;
  const cleaned = polygons.map(cleanPolygon).filter(Boolean);
  const geometry = cleaned.length === 1
    ? { type: "Polygon", coordinates: cleaned[0] }
    : { type: "MultiPolygon", coordinates: cleaned };
  const out = { type: "Feature" };
  if (f.id !== undefined && /^\d+$/.test(String(f.id))) out.id = Number(f.id);
  out.properties = { name: f.properties.name };
  out.geometry = geometry;
  features.push(out);
}
features.sort((a, b) => (a.properties.name < b.properties.name ? -1 : a.properties.name > b.properties.name ? 1 : 0));

// One feature per line: compact, yet a change shows up as a readable diff.
const text = '{"type":"FeatureCollection","features":[\n'
  + features.map((f) => JSON.stringify(f)).join(",\n")
  + "\n]}\n";
writeFileSync(out, text);
console.log(`countries: ${features.length} features, ${Buffer.byteLength(text)} bytes -> ${out}`);
console.log(`countries: ${features.map((f) => f.properties.name).join(", ")}`);
