#!/usr/bin/env bash
# Issue-5 benchmarks on 1,000,000 SYNTHETIC incidents, with peers in the same run:
#   trend queries through the application layer vs the same GROUP BY in PostGIS;
#   Getis-Ord Gi* at H3 resolution 6 over the Sahel vs PySAL esda.G_Local on the
#   same grid, weights and counts.
# Not part of the tests. Results go to bench/out/ and, by hand, to BENCHMARKS.md.
# Usage: bench/analytics.sh     (ROWS=1000000 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
OUT=bench/out
mkdir -p "$OUT"
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
PG_BASE=${PG_ADMIN%/*}

scripts/services
echo "== build (release)"
cargo build --release --locked -p sahelwatch -p sahelwatch-bench
SW=target/release/sahelwatch
PY=$(scripts/analytics/venv)

CSV=$OUT/synthetic_acled_${ROWS}.csv
[ -f "$CSV" ] || $SW synth acled --rows "$ROWS" --seed 42 --out "$CSV"
DB=$OUT/analytics_${ROWS}.db
if [ ! -f "$DB" ]; then
    $SW --log warn --database "$DB" import acled "$CSV"
fi
PEER="$PG_BASE/sw_bench_analytics"
if ! psql "$PEER" -tAc "SELECT count(*) FROM acled" 2>/dev/null | grep -qx "$ROWS"; then
    echo "== peer: loading the same CSV into PostGIS"
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS sw_bench_analytics WITH (FORCE)" -c "CREATE DATABASE sw_bench_analytics"
    psql "$PEER" -q -f bench/peer_table.sql
    psql "$PEER" -qc "\copy acled (event_id_cnty, event_date, year, time_precision, disorder_type, event_type, sub_event_type, actor1, assoc_actor_1, inter1, actor2, assoc_actor_2, inter2, interaction, civilian_targeting, iso, region, country, admin1, admin2, admin3, location, latitude, longitude, geo_precision, source, source_scale, notes, fatalities, tags, \"timestamp\") FROM '$CSV' CSV HEADER"
    psql "$PEER" -qc "ANALYZE acled"
fi

echo "== machine"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
target/release/analytics_bench --db "$DB" --pg "$PEER" --python "$PY" --n 30 | tee "$OUT/analytics.txt"
