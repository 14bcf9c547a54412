#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz targets into fuzz/corpus/<target>/ (named seed_*).

Real inputs from the repository (CSV fixtures, starter data lines) are copied;
the rest (GeoJSON roads, a small OSM PBF, a STIX bundle, positions, report
texts) are made here so they are small and cover each reader's branches.
Run from anywhere: python3 fuzz/make_seeds.py
"""
import gzip
import json
import struct
import uuid
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent / "corpus"
ROOT = HERE.parent.parent


def put(target, name, data):
    d = HERE / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / ("seed_" + name)).write_bytes(data)


# --- ACLED: every CSV fixture of the app's import tests ---------------------
for f in sorted((ROOT / "crates/sahelwatch-app/tests/fixtures").glob("*.csv")):
    put("acled_csv", f.name, f.read_bytes())

# --- UCDP GED: header and a few rows of the bundled sample ------------------
with gzip.open(ROOT / "data/starter/ucdp_ged_23_1_sample.csv.gz", "rb") as fh:
    lines = fh.read().split(b"\n")
put("ucdp_csv", "ucdp_3_rows.csv", b"\n".join(lines[:4]) + b"\n")
put("ucdp_csv", "ucdp_header_only.csv", lines[0] + b"\n")
put("ucdp_csv", "ucdp_1_row.csv", lines[0] + b"\n" + lines[1] + b"\n")

# --- GeoJSON road lines ---------------------------------------------------------
def feature(coords, **props):
    kind = "MultiLineString" if isinstance(coords[0][0], list) else "LineString"
    return {"type": "Feature", "properties": props,
            "geometry": {"type": kind, "coordinates": coords}}

fc = {"type": "FeatureCollection", "features": [
    feature([[2.10, 13.51], [2.12, 13.52], [2.15, 13.52]], highway="primary", name="RN1", maxspeed="80"),
    feature([[2.15, 13.52], [2.16, 13.60]], highway="track", oneway="yes"),
    feature([[2.12, 13.52], [2.12, 13.48]], highway="footway"),
    feature([[[2.16, 13.60], [2.20, 13.61]], [[2.2001, 13.6101], [2.25, 13.65]]], RTT_DESCRI="Secondary Route", Piste="P12"),
    {"type": "Feature", "properties": {"name": "Niamey"}, "geometry": {"type": "Point", "coordinates": [2.11, 13.51]}},
    {"type": "Feature", "properties": None, "geometry": None},
]}
put("geojson_roads", "collection.geojson", json.dumps(fc))
put("geojson_roads", "feature.geojson", json.dumps(feature([[-1.5, 12.3], [-1.4, 12.35]], ref="N4", oneway="1", maxspeed="30 mph")))
put("geojson_roads", "geometry.geojson", json.dumps({"type": "LineString", "coordinates": [[0.0, 14.0], [0.01, 14.0], [0.01, 14.01]]}))
put("geojson_roads", "bad_coordinate.geojson", json.dumps(feature([[2.1, 13.5], [200.0, 95.0]], highway="primary")))


# --- OSM PBF: a few highways on dense and plain nodes --------------------------
def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)

def zig(n):
    return (n << 1) ^ (n >> 63)

def key(field, wire):
    return varint(field << 3 | wire)

def vint(field, n):
    return key(field, 0) + varint(n)

def blen(field, data):
    return key(field, 2) + varint(len(data)) + data

def packed(field, nums):
    return blen(field, b"".join(varint(n) for n in nums))

def delta(xs):
    prev, out = 0, []
    for x in xs:
        out.append(x - prev)
        prev = x
    return out

def fileblock(kind, payload, compress):
    if compress:
        blob = vint(2, len(payload)) + blen(3, zlib.compress(payload))
    else:
        blob = blen(1, payload)
    header = blen(1, kind.encode()) + vint(3, len(blob))
    return struct.pack(">I", len(header)) + header + blob

def pbf(compress):
    hb = blen(4, b"OsmSchema-V0.6") + blen(4, b"DenseNodes") + blen(16, b"sahelwatch-fuzz-seed")
    strings = ["", "highway", "primary", "track", "footway", "oneway", "yes", "-1",
               "name", "RN1", "maxspeed", "60", "access", "no", "residential"]
    sid = {s: i for i, s in enumerate(strings)}
    st = b"".join(blen(1, s.encode()) for s in strings)
    # dense nodes 1..6 around Niamey (1e-7 degree units with granularity 100)
    ids = [1, 2, 3, 4, 5, 6]
    lats = [135100000 + 100000 * i for i in range(6)]
    lons = [21000000 + 150000 * i for i in range(6)]
    dense = (packed(1, [zig(d) for d in delta(ids)]) + packed(8, [zig(d) for d in delta(lats)])
             + packed(9, [zig(d) for d in delta(lons)]) + packed(10, [0] * 6))
    plain = vint(1, zig(7)) + vint(8, zig(135900000)) + vint(9, zig(22000000))

    def way(wid, refs, tags):
        return blen(3, vint(1, wid) + packed(2, [sid[k] for k, _ in tags])
                    + packed(3, [sid[v] for _, v in tags])
                    + packed(8, [zig(d) for d in delta(refs)]))
    ways = (way(10, [1, 2, 3], [("highway", "primary"), ("name", "RN1"), ("maxspeed", "60")])
            + way(11, [3, 4, 7], [("highway", "track"), ("oneway", "-1")])
            + way(12, [4, 5], [("highway", "footway")])
            + way(13, [5, 6, 99], [("highway", "residential"), ("access", "no")])
            + way(14, [6, 1], [("highway", "primary"), ("oneway", "yes")]))
    block = (blen(1, st) + blen(2, blen(2, dense)) + blen(2, blen(1, plain)) + blen(2, ways))
    return fileblock("OSMHeader", hb, compress) + fileblock("OSMData", block, compress)

put("osm_pbf", "highways_raw.osm.pbf", pbf(False))
put("osm_pbf", "highways_zlib.osm.pbf", pbf(True))
# osmpbf's own test files (MIT OR Apache-2.0), from the cargo registry if present
for reg in Path.home().glob(".cargo/registry/src/*/osmpbf-0.3.*/tests"):
    for f in sorted(reg.glob("*.pbf")):
        put("osm_pbf", "osmpbf_" + f.name, f.read_bytes())
    break

# --- STIX bundle ----------------------------------------------------------------
NS = uuid.UUID(int=0x5A4E4C5753544958_9F1C2B3A4D5E6F70)
EXT = "extension-definition--" + str(uuid.uuid5(NS, "sahelwatch-incident-extension-v1"))
GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
incident = {
    "dataset": "acled", "external_id": "BFO5001", "event_date": "2021-03-15",
    "time_precision": 1, "sub_event_type": "Attack", "disorder_type": "Political violence",
    "actors": {"actor1": "Islamic State (Greater Sahara)", "inter1": 2,
               "actor2": "Civilians (Burkina Faso)", "inter2": 7},
    "civilian_targeting": True,
    "location": {"country": "BF", "admin1": "Sahel", "place": "Dori",
                 "latitude": 14.0354, "longitude": -0.0345, "geo_precision": 1},
    "fatalities": {"best": 5}, "notes": "Suspected ISGS militants attacked civilians near Dori.",
    "sources": ["Le Faso"], "source_timestamp": 1616450000,
}
ucdp_like = dict(incident, dataset="ucdp-ged", external_id="300380", event_date_end="2021-03-16",
                 time_precision=2, sub_event_type="Armed clash", civilian_targeting=False,
                 fatalities={"best": 3, "low": 4, "high": 2}, original={"id": "300380"})
iid = "incident--6b4a3b1c-9a43-4a5e-8f3f-1b6c9c1a2b3d"
bundle = {"type": "bundle", "id": "bundle--0f4a3b1c-9a43-4a5e-8f3f-1b6c9c1a2b3d", "objects": [
    {"type": "marking-definition", "spec_version": "2.1", "id": GREEN},
    {"type": "incident", "spec_version": "2.1", "id": iid, "name": "Attack near Dori",
     "object_marking_refs": [GREEN],
     "extensions": {EXT: {"extension_type": "property-extension", "incident": incident}}},
    {"type": "incident", "spec_version": "2.1", "id": "incident--7b4a3b1c-9a43-4a5e-8f3f-1b6c9c1a2b3d",
     "object_marking_refs": [GREEN, AMBER],
     "extensions": {EXT: {"extension_type": "property-extension", "incident": ucdp_like}}},
    {"type": "location", "spec_version": "2.1", "id": "location--6b4a3b1c-9a43-4a5e-8f3f-1b6c9c1a2b3d",
     "latitude": 14.0354, "longitude": -0.0345},
]}
put("stix_import", "bundle.json", json.dumps(bundle))
put("stix_import", "envelope.json", json.dumps({"more": False, "objects": bundle["objects"][1:2]}))
put("stix_import", "bad_objects.json", json.dumps({"type": "bundle", "objects": [
    {"type": "incident", "spec_version": "2.1", "id": "incident--not-a-uuid"},
    {"type": "incident", "spec_version": "2.0", "id": iid},
    {"type": "incident", "spec_version": "2.1", "id": iid, "object_marking_refs": [GREEN]},
    {"type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--00000000-0000-4000-8000-000000000000"},
]}))

# --- OsmAnd queries (line 2: Basic credentials) ---------------------------------
put("osmand_position", "traccar.txt", "id=trk-1&key=s3cret&lat=12.5&lon=-1.5&timestamp=1700000000&speed=10&bearing=90&altitude=300&accuracy=5&batt=80&alarm=sos")
put("osmand_position", "basic.txt", "lat=1&lon=2&timestamp=2023-11-14T22:13:20Z\ntrk-2:pw")
put("osmand_position", "millis.txt", "deviceid=x%20y&lat=%2B13.5&lon=2.1e0&timestamp=1700000000123&heading=nan&alarm=0")
put("osmand_position", "bad.txt", "id=x&lat=abc&lon=2&timestamp=soon")

# --- JSON positions ---------------------------------------------------------------
pos = {"device": "trk-1", "secret": "s3cret", "time": "2024-06-01T10:00:00Z", "lat": 13.5,
       "lon": 2.1, "speed_kmh": 60.5, "bearing": 90, "altitude": 210, "accuracy": 8,
       "battery": 77, "sos": False}
put("json_position", "batch.json", json.dumps({"positions": [
    pos, dict(pos, time=1717236000), dict(pos, time=1717236000123, sos=True),
    dict(pos, time=None), {"device": "trk-2", "lat": "x"}, dict(pos, time=[1]), dict(pos, extra=1)]}))
put("json_position", "message.json", json.dumps(dict(pos, time="1717236000.5")))

# --- Report texts --------------------------------------------------------------
put("report_extract", "en.txt",
    "On 12 March 2024, suspected JNIM militants attacked a convoy on the road between "
    "Dori and Gorom-Gorom, Burkina Faso, killing at least 12 soldiers. Two Italian "
    "aid workers were kidnapped near Djibo the next day; a ransom was reportedly paid.\n")
put("report_extract", "fr.txt",
    "Le mardi 5 mars, des hommes armés non identifiés ont enlevé trois enseignants "
    "à Ménaka (Mali). Une dizaine de civils ont été tués près de Tillabéri, au Niger, "
    "la semaine dernière, selon des sources locales. L'EIGS est soupçonné.\n")
put("report_extract", "short.txt", "Attack in Niamey yesterday.")
# A publication date on the first line (the filer's ?published=).
put("report_extract", "published_first_line.txt",
    "2025-01-03\nYesterday, gunmen killed three herders near Ménaka. Il y a deux jours, "
    "une attaque a visé Djibo.\n")
# Regressions: publication dates at the ends of chrono's calendar made the
# relative dates and the undated window overflow (fixed in
# sahelwatch-extract dates.rs and sahelwatch-core fusion.rs).
RELATIVE = ("Yesterday, the day before yesterday, two days ago, last week, this week, last month, "
            "last Monday, on Tuesday, the night of Monday to Tuesday, on 5 March, in March, hier, "
            "avant-hier, il y a trois jours. Gunmen attacked Dori.\n")
put("report_extract", "published_min.txt", "-262143-01-01\n" + RELATIVE)
put("report_extract", "published_max.txt", "+262142-12-31\n" + RELATIVE)
put("report_extract", "published_undated_min.txt", "-262143-01-01\nGunmen attacked Dori.\n")


# --- libFuzzer dictionaries (fuzz/dict/<target>.dict) ---------------------------
import re

DICT = HERE.parent / "dict"


def write_dict(target, words, comment):
    DICT.mkdir(exist_ok=True)
    out, seen = [f"# {comment} (written by make_seeds.py)"], set()
    for w in words:
        if w in seen:
            continue
        seen.add(w)
        esc = "".join(
            "\\\\" if b == 0x5C else '\\"' if b == 0x22 else chr(b) if 0x20 <= b <= 0x7E else f"\\x{b:02X}"
            for b in w.encode()
        )
        out.append(f'"{esc}"')
    (DICT / f"{target}.dict").write_text("\n".join(out) + "\n")


LABELS = re.findall(r'=> "([^"]+)"', (ROOT / "crates/sahelwatch-core/src/taxonomy.rs").read_text())
FIXTURES = ROOT / "crates/sahelwatch-app/tests/fixtures"
acled_cols = []
for f in ("acled_current_sahel.csv", "acled_2021_bfa.csv"):
    acled_cols += (FIXTURES / f).read_text().splitlines()[0].split(",")
hxl = [h for h in (FIXTURES / "acled_hdx_mali_hxl.csv").read_text().splitlines()[1].split(",") if h.startswith("#")]
EXTREME_DATES = ["-262143-01-01", "+262142-12-31", "262142", "+262142", "-262143", "31 December 262142"]
COMMON = EXTREME_DATES + [",", '"', '""', "\r\n", ";", "-", ".", "0", "1", "2", "3", "-1", "-0", "1e308", "NaN", "inf",
          "2024-02-29", "29 February 2024", "9999-12-31", "0000-01-01", "Burkina Faso", "Mali", "Niger",
          "BF", "ML", "4294967296", "18446744073709551616"]
write_dict("acled_csv", acled_cols + hxl + LABELS + COMMON,
           "ACLED CSV: column names, HXL tags, the ACLED vocabulary, edge values")
ucdp_cols = lines[0].decode().strip().split(",")
write_dict("ucdp_csv", ucdp_cols + COMMON + ["1.0", "2.0", "3.0", "4.0", "5.0", "6.0", "Clear", "POINT (",
                                              "2013-01-03", "2013-01-03 00:00:00.000"],
           "UCDP GED CSV: column names, edge values")
JSON = ["null", "true", "false", "[", "]", "{", "}", ":", ",", "-0", "1e308", "-1e308", "1e-308",
        "4294967296", "9223372036854775807", "18446744073709551616"]
q = lambda ws: [f'"{w}"' for w in ws]
write_dict("geojson_roads", q(["type", "Feature", "FeatureCollection", "features", "geometry", "properties",
                               "coordinates", "LineString", "MultiLineString", "Point", "Polygon",
                               "GeometryCollection", "geometries", "bbox", "id", "highway", "primary",
                               "track", "footway", "motorway", "unclassified", "oneway", "yes", "true",
                               "-1", "name", "ref", "Piste", "RTT_DESCRI", "Primary Route",
                               "Secondary Route", "maxspeed", "50 km/h", "30 mph"])
           + JSON + ["-180", "180", "90", "-90", "0.0000001"], "GeoJSON road lines")
write_dict("stix_import", q(["type", "bundle", "objects", "id", "spec_version", "2.1", "incident",
                             "marking-definition", "object_marking_refs", "extensions", EXT,
                             "extension_type", "property-extension", GREEN, AMBER,
                             "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", iid])
           + q(list(incident) + list(incident["location"]) + list(incident["actors"])
               + ["event_date_end", "assoc_actor_1", "low", "high", "tags", "original", "ucdp-ged",
                  "9999-12-31", "2024-02-29"] + EXTREME_DATES)
           + q(LABELS) + JSON, "STIX 2.1 bundles with the sahelwatch incident extension")
write_dict("json_position", q(list(pos) + ["positions", "2024-06-01T10:00:00+14:00", "1717236000"])
           + JSON + ["1717236000123", "1e11"], "JSON positions")
write_dict("osmand_position", ["id=", "deviceid=", "key=", "lat=", "lon=", "timestamp=", "speed=",
                               "bearing=", "heading=", "altitude=", "accuracy=", "batt=", "alarm=",
                               "&", "%", "+", "=", "\n", ":", "1e308", "-1e308", "nan", "inf", "1e11",
                               "1700000000", "1700000000000", "2023-11-14T22:13:20Z",
                               "9223372036854775807"], "OsmAnd query strings (line 2: Basic credentials)")
write_dict("report_extract", ["JNIM", "EIGS", "ISGS", "Boko Haram", "between ", " and ", "entre ", " et ",
                              "killed", "tués", "kidnapped", "enlevé", "ransom", "rançon", "yesterday",
                              "hier", "last week", "la semaine dernière", "January", "janvier", "1er",
                              "12 March 2024", "Dori", "Djibo", "Niamey", "Ménaka", "Tillabéri", "Mali",
                              "Burkina Faso", "Niger", "dozens", "une dizaine", "at least", "au moins",
                              "\u00a0", "\u0301", "İ", "ß", "-262143-01-01\n", "+262142-12-31\n",
                              "2024-06-15\n"], "report texts: words the extractors cue on, publication dates")
write_dict("osm_pbf", ["OSMHeader", "OSMData", "OsmSchema-V0.6", "DenseNodes", "HistoricalInformation",
                       "highway", "primary", "trunk", "track", "residential", "footway", "oneway", "yes",
                       "-1", "reversible", "access", "no", "motor_vehicle", "area", "maxspeed", "name",
                       "\x00\x00\x00\x0d", "\x78\x9c"], "OSM PBF: block types, features, tags")
