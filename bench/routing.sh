#!/usr/bin/env bash
# Issue-6 routing benchmark, peers in the same run:
#   sahelwatch (CCH) on a SYNTHETIC road-like graph of >= 1M nodes and on the
#   real Monaco (OSM) and Burkina Faso (VMap0 + pistes, snapped 50 m) graphs:
#   preparation, full and one-day risk updates, route queries p50/p95
#   (single, static fastest, with alternatives), memory;
#   pgRouting pgr_dijkstra on the same graphs and arc weights (costs must match);
#   OSRM (CH, MLD) and Valhalla from PyPI on Monaco, same coordinate pairs,
#   static weights (their own car profiles, so query time only).
# Not part of the tests. Results go to bench/out/ and, by hand, to BENCHMARKS.md.
# Usage: bench/routing.sh   (NODES=1000000 by default; NODES=100000 for a quick run)
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${NODES:-1000000}
OUT=bench/out
mkdir -p "$OUT"
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
PG_BASE=${PG_ADMIN%/*}
SHARED=${SAHELWATCH_SHARED_DATA:-$(cd .. && pwd)/shared/data}
[ -d "$SHARED" ] || SHARED=/work/shared/data

scripts/services
if ! psql "$PG_ADMIN" -Atc "SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting'" | grep -q 1; then
    echo "== installing pgRouting"
    apt-get install -y -qq --no-install-recommends postgresql-15-pgrouting >/dev/null
fi
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS sw_routing_bench WITH (FORCE)" -c "CREATE DATABASE sw_routing_bench"

echo "== build (release)"
cargo build --release --locked -p sahelwatch-bench --bin routing_bench

{
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
    echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
} | tee "$OUT/routing_machine.txt"

echo "== sahelwatch + pgRouting: real graphs"
target/release/routing_bench --only monaco,burkina --shared "$SHARED" \
    --pg "$PG_BASE/sw_routing_bench" --pg-queries 100 --queries 1000 \
    --pairs-out "$OUT" --json-out "$OUT/routing_real.json" > /dev/null

echo "== sahelwatch + pgRouting: SYNTHETIC graph of $NODES nodes"
/usr/bin/time -v target/release/routing_bench --only synthetic --nodes "$NODES" \
    --pg "$PG_BASE/sw_routing_bench" --pg-queries 10 --queries 1000 \
    --json-out "$OUT/routing_synthetic.json" 2> >(tee "$OUT/routing_synthetic.log" >&2) > /dev/null

echo "== OSRM and Valhalla (PyPI, Python 3.12) on Monaco, the same pairs"
PY312="$(pyenv root 2>/dev/null || echo /root/.pyenv)/versions/3.12.1/bin/python"
if [ -x "$PY312" ]; then
    [ -x bench/.venv312/bin/python ] || "$PY312" -m venv bench/.venv312
    bench/.venv312/bin/pip install -q -r bench/requirements-py312.txt
    bench/.venv312/bin/python bench/osrm_peer.py --pbf "$SHARED/osm/monaco.osm.pbf" \
        --pairs "$OUT/pairs_monaco.json" --work "$OUT/peer" | tee "$OUT/routing_osrm_valhalla.json"
else
    echo "no Python 3.12 at $PY312: OSRM and Valhalla skipped"
fi

echo
echo "== summary"
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
rows = []
for f in ("routing_real.json", "routing_synthetic.json"):
    p = os.path.join(out, f)
    if os.path.exists(p):
        rows += json.load(open(p))["results"]
for r in rows:
    s, pr, ru, q, m = r["size"], r["prepare"], r["risk_update"], r["queries"], r["memory"]
    print(f"{r['graph']}: {s['nodes']} nodes, {s['segments']} segments; build {s['build_s']:.1f} s, "
          f"prepare {pr['total_s']:.1f} s (order {pr['order_s']:.1f} s)")
    print(f"  risk: full {ru['full']['total_s']:.3f} s ({ru['incidents']} incidents; ladder of 8 "
          f"{ru['full']['ladder_8_metrics_s']:.2f} s), day {ru['day']['total_ms']:.1f} ms")
    for k in ("single", "fastest_static", "with_alternatives"):
        print(f"  {k:18} p50 {q[k]['p50_ms']:.3f} ms  p95 {q[k]['p95_ms']:.3f} ms")
    print(f"  memory: prepared {m['rss_prepared_mb']:.0f} MB, one metric {m['per_metric_mb']:.1f} MB, peak {m['peak_mb']:.0f} MB")
    if "pgrouting" in r:
        g = r["pgrouting"]
        print(f"  pgr_dijkstra p50 {g['pgr_dijkstra']['p50_ms']:.1f} ms vs ours {g['ours']['p50_ms']:.3f} ms: "
              f"{g['p50_ratio']:.0f}x, {g['cost_mismatches']} cost mismatches in {g['pairs']} pairs")
p = os.path.join(out, "routing_osrm_valhalla.json")
real = {r["graph"]: r for r in rows}
if os.path.exists(p) and "monaco" in real:
    ours = real["monaco"]["queries"]["fastest_static"]
    for k, v in json.load(open(p)).items():
        if isinstance(v, dict) and "p50_ms" in v:
            print(f"monaco static {k}: p50 {v['p50_ms']:.3f} ms p95 {v['p95_ms']:.3f} ms "
                  f"(ours p50 {ours['p50_ms']:.3f} p95 {ours['p95_ms']:.3f}; ratio {v['p50_ms']/ours['p50_ms']:.1f}x)")
PY
