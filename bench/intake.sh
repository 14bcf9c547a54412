#!/usr/bin/env bash
# Issue-7 HTTP intake benchmark: SYNTHETIC vehicles on real Burkina Faso routes
# send OsmAnd positions on loopback at 5,000 a second to the real server (SQLite,
# then PostgreSQL), every alert rule evaluated and every position committed
# before its answer; p50/p95/p99 of the answers and of SOS alerts reaching the
# live stream. Not part of the tests. Results go to bench/out/ and, by hand, to
# BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=bench/out
mkdir -p "$OUT"
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
PG_BASE=${PG_ADMIN%/*}
SHARED=${SAHELWATCH_SHARED_DATA:-$(cd .. && pwd)/shared/data}
[ -d "$SHARED" ] || SHARED=/work/shared/data
RATE=${RATE:-5000}
SECONDS_RUN=${SECONDS_RUN:-30}
scripts/services
cargo build --release --locked -p sahelwatch-bench --bin intake_bench
target/release/intake_bench --shared "$SHARED" --rate "$RATE" --seconds "$SECONDS_RUN" | tee "$OUT/intake-sqlite.json"
psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS sw_intake_bench WITH (FORCE)" -c "CREATE DATABASE sw_intake_bench"
target/release/intake_bench --shared "$SHARED" --rate "$RATE" --seconds "$SECONDS_RUN" \
    --database "$PG_BASE/sw_intake_bench" | tee "$OUT/intake-postgres.json"
