#!/usr/bin/env bash
# Issue-7 alert-engine benchmark: positions per second through the pure engine
# on one core with every rule evaluated (10,000 SYNTHETIC vehicles in convoys of
# 5 on real Burkina Faso routes), beside PostGIS doing the per-position
# near-route (ST_DWithin) and geofence (ST_Contains) checks with GiST indexes.
# Not part of the tests. Results go to bench/out/ and, by hand, to BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out
mkdir -p "$OUT"
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
PG_BASE=${PG_ADMIN%/*}
SHARED=${SAHELWATCH_SHARED_DATA:-$(cd .. && pwd)/shared/data}
[ -d "$SHARED" ] || SHARED=/work/shared/data
scripts/services
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS sw_tracking_bench WITH (FORCE)" -c "CREATE DATABASE sw_tracking_bench"
cargo build --release --locked -p sahelwatch-bench --bin tracking_bench
target/release/tracking_bench --shared "$SHARED" --pg "$PG_BASE/sw_tracking_bench" | tee "$OUT/tracking.json"
