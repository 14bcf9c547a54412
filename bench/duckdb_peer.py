"""DuckDB as a peer: load the same SYNTHETIC CSV with read_csv and run the
same query mix (parameters written by query_latency --params-out).

Usage: python duckdb_peer.py load CSV DBFILE
       python duckdb_peer.py queries DBFILE PARAMS.json
"""
import json
import sys
import time

import duckdb


def load(csv_path, db_path):
    con = duckdb.connect(db_path)
    con.execute("DROP TABLE IF EXISTS acled")
    t = time.perf_counter()
    con.execute(f"CREATE TABLE acled AS SELECT * FROM read_csv('{csv_path}', header = true)")
    elapsed = time.perf_counter() - t
    n = con.execute("SELECT count(*) FROM acled").fetchone()[0]
    print(json.dumps({"engine": "duckdb", "rows": n, "seconds": elapsed, "rows_per_s": n / elapsed}))


def pct(values, p):
    v = sorted(values)
    return v[round((len(v) - 1) * p)]


def queries(db_path, params_path):
    con = duckdb.connect(db_path, read_only=True)
    mix = json.load(open(params_path))
    sql = {
        "bbox_date_type": "SELECT * FROM acled WHERE longitude BETWEEN ? AND ? AND latitude BETWEEN ? AND ? "
        "AND event_date BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) AND event_type = ? "
        "ORDER BY event_date DESC LIMIT 100",
        "near_last_year": "SELECT * FROM acled WHERE event_date BETWEEN CAST(? AS DATE) AND CAST(? AS DATE) "
        "AND 2 * 6371.0088 * asin(sqrt(pow(sin(radians(latitude - ?) / 2), 2) + cos(radians(?)) * cos(radians(latitude)) "
        "* pow(sin(radians(longitude - ?) / 2), 2))) <= ? ORDER BY event_date DESC LIMIT 100",
        "monthly_by_country": "SELECT country, date_trunc('month', event_date) m, count(*) FROM acled GROUP BY 1, 2",
    }
    names = {"bbox_date_type": "a_bbox_date_type", "near_last_year": "b_near_50km_12_months",
             "monthly_by_country": "c_monthly_counts_per_country"}

    def args(q):
        k = q["kind"]
        if k == "bbox_date_type":
            return [q["min_lon"], q["max_lon"], q["min_lat"], q["max_lat"], q["from"], q["to"], q["event_type"]]
        if k == "near_last_year":
            return [q["from"], q["to"], q["lat"], q["lat"], q["lon"], q["radius_km"]]
        return []

    for q in mix[:3]:
        con.execute(sql[q["kind"]], args(q)).fetchall()
    times, rows = {}, {}
    for q in mix:
        t = time.perf_counter()
        r = con.execute(sql[q["kind"]], args(q)).fetchall()
        times.setdefault(names[q["kind"]], []).append((time.perf_counter() - t) * 1000)
        rows.setdefault(names[q["kind"]], []).append(len(r))
    out = {k: {"p50_ms": pct(v, 0.5), "p95_ms": pct(v, 0.95), "rows": sum(rows[k]) // len(rows[k])} for k, v in times.items()}
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "load":
        load(sys.argv[2], sys.argv[3])
    else:
        queries(sys.argv[2], sys.argv[3])
