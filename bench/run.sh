#!/usr/bin/env bash
# Issue-2 benchmarks on 1,000,000 SYNTHETIC incidents, with peers in the same run:
#   import:  sahelwatch into SQLite (and into its PostgreSQL backend),
#            PostgreSQL COPY into an indexed table, DuckDB read_csv;
#   queries: (a) bbox + date range + event type, (b) within 50 km + last 12 months,
#            (c) monthly counts per country: sahelwatch vs PostGIS (GiST) vs DuckDB;
#   memory:  peak RSS of the import and of a server holding the 1M set.
# Not part of the tests. Results go to bench/out/ and, by hand, to BENCHMARKS.md.
# Usage: bench/run.sh            (ROWS=1000000 by default; ROWS=100000 for a quick run)
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

CSV=$OUT/synthetic_acled_${ROWS}.csv
if [ ! -f "$CSV" ]; then
    $SW synth acled --rows "$ROWS" --seed 42 --out "$CSV"
fi
BYTES=$(stat -c %s "$CSV")

if [ ! -x bench/.venv/bin/python ]; then python3 -m venv bench/.venv; fi
bench/.venv/bin/pip install -q -r bench/requirements.txt

peak_rss_mb() { awk '/Maximum resident set size/ {printf "%.0f", $6/1024}' "$1"; }
elapsed_s() { awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"; }

echo "== machine"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
    echo "memory: $(free -g | awk '/Mem:/ {print $2}') GiB"
    echo "file: $CSV, $ROWS rows, $((BYTES / 1024 / 1024)) MiB"
} | tee "$OUT/machine.txt"

echo "== import: sahelwatch -> SQLite"
rm -f "$OUT/bench.db" "$OUT/bench.db-wal" "$OUT/bench.db-shm"
/usr/bin/time -v $SW --log warn --database "$OUT/bench.db" import acled "$CSV" 2> "$OUT/import_sqlite.time" | tee "$OUT/import_sqlite.txt"
SQLITE_S=$(elapsed_s "$OUT/import_sqlite.time")
SQLITE_RSS=$(peak_rss_mb "$OUT/import_sqlite.time")

echo "== import again (idempotent re-import, nothing changes)"
/usr/bin/time -v $SW --log warn --database "$OUT/bench.db" import acled "$CSV" 2> "$OUT/reimport_sqlite.time" | tee "$OUT/reimport_sqlite.txt"
REIMPORT_S=$(elapsed_s "$OUT/reimport_sqlite.time")

echo "== import: sahelwatch -> PostgreSQL backend"
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS sw_bench WITH (FORCE)" -c "CREATE DATABASE sw_bench"
/usr/bin/time -v $SW --log warn --database "$PG_BASE/sw_bench" import acled "$CSV" 2> "$OUT/import_pg.time" | tee "$OUT/import_pg.txt"
SWPG_S=$(elapsed_s "$OUT/import_pg.time")

echo "== peer: PostgreSQL COPY into an indexed PostGIS table"
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS sw_bench_peer WITH (FORCE)" -c "CREATE DATABASE sw_bench_peer"
PEER="$PG_BASE/sw_bench_peer"
psql "$PEER" -q -f bench/peer_table.sql
COPY_START=$(date +%s.%N)
psql "$PEER" -qc "\copy acled (event_id_cnty, event_date, year, time_precision, disorder_type, event_type, sub_event_type, actor1, assoc_actor_1, inter1, actor2, assoc_actor_2, inter2, interaction, civilian_targeting, iso, region, country, admin1, admin2, admin3, location, latitude, longitude, geo_precision, source, source_scale, notes, fatalities, tags, \"timestamp\") FROM '$CSV' CSV HEADER"
COPY_S=$(echo "$(date +%s.%N) - $COPY_START" | bc)
psql "$PEER" -qc "ANALYZE acled"

echo "== peer: DuckDB read_csv"
rm -f "$OUT/duck.db" "$OUT/duck.db.wal"
DUCK_JSON=$(bench/.venv/bin/python bench/duckdb_peer.py load "$CSV" "$OUT/duck.db")
echo "$DUCK_JSON"
DUCK_S=$(echo "$DUCK_JSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')

echo "== queries: sahelwatch (SQLite) vs PostGIS"
target/release/query_latency --db "$OUT/bench.db" --pg "$PEER" --n 200 --params-out "$OUT/params.json" \
    --json-out "$OUT/latency.json" | tee "$OUT/latency.txt"
echo "== queries: DuckDB"
bench/.venv/bin/python bench/duckdb_peer.py queries "$OUT/duck.db" "$OUT/params.json" | tee "$OUT/latency_duckdb.json"

echo "== memory: a server holding the set"
# Reads need a credential: an analyst token on the benchmark database.
TOKEN=$($SW --log warn --database "$OUT/bench.db" admin bootstrap --org "Bench readers $(date +%s)" --username "bench-$(date +%s)" | tail -1)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$SW --log warn --database "$OUT/bench.db" serve --no-starter-data --listen 127.0.0.1:$PORT > "$OUT/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 240); do grep -q "Listening on" "$OUT/serve.log" && break; sleep 0.5; done
for q in "country=ML&limit=100" "near=14.03,-0.03&radius_km=50&from=2025-10-01" "bbox=-1,13,1,15&from=2020-01-01&to=2020-12-31&event_type=Battles"; do
    curl -sf -H "Authorization: Bearer $TOKEN" -o /dev/null "http://127.0.0.1:$PORT/api/v1/incidents?$q"
done
curl -sf -H "Authorization: Bearer $TOKEN" -o /dev/null "http://127.0.0.1:$PORT/api/v1/incidents/counts?by=country,month"
SERVE_RSS=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' /proc/$SERVER/status)
grep "Loaded" "$OUT/serve.log" || true
kill $SERVER 2>/dev/null || true
wait $SERVER 2>/dev/null || true

echo
echo "== summary ($ROWS SYNTHETIC rows)"
python3 - "$ROWS" "$SQLITE_S" "$REIMPORT_S" "$SWPG_S" "$COPY_S" "$DUCK_S" "$SQLITE_RSS" "$SERVE_RSS" <<'PY'
import sys
rows = int(sys.argv[1]); s, re, swpg, copy, duck = map(float, sys.argv[2:7]); rss, serve = sys.argv[7:9]
print(f"import sahelwatch->SQLite     {s:7.2f} s  {rows/s:10.0f} rows/s  (peak RSS {rss} MB)")
print(f"re-import (no change)         {re:7.2f} s  {rows/re:10.0f} rows/s")
print(f"import sahelwatch->PostgreSQL {swpg:7.2f} s  {rows/swpg:10.0f} rows/s")
print(f"peer PostgreSQL COPY+indexes  {copy:7.2f} s  {rows/copy:10.0f} rows/s  (ours is {copy/s:.2f}x its speed)")
print(f"peer DuckDB read_csv          {duck:7.2f} s  {rows/duck:10.0f} rows/s  (ours is {duck/s:.2f}x its speed)")
print(f"server peak RSS holding the set: {serve} MB")
PY
