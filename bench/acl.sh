#!/usr/bin/env bash
# Issue-3 benchmark: list/search latency for an analyst with access control
# (50 organisations, 1M SYNTHETIC incidents over every TLP level) against the
# same queries with access control off. Not part of the tests.
# Usage: bench/acl.sh        (ROWS=1000000 by default; reuses bench/out/bench.db from bench/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
OUT=bench/out
mkdir -p "$OUT"
echo "== build (release)"
cargo build --release --locked -p sahelwatch -p sahelwatch-bench
SW=target/release/sahelwatch
if [ ! -f "$OUT/bench.db" ]; then
    CSV=$OUT/synthetic_acled_${ROWS}.csv
    [ -f "$CSV" ] || $SW synth acled --rows "$ROWS" --seed 42 --out "$CSV"
    $SW --log warn --database "$OUT/bench.db" import acled "$CSV"
fi
echo "== machine"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
rm -f "$OUT/acl.db" "$OUT/acl.db-wal" "$OUT/acl.db-shm"
sqlite3 "$OUT/bench.db" "VACUUM INTO '$OUT/acl.db'"
echo "== access control on vs off"
target/release/acl_latency --db "$OUT/acl.db" --setup --n "${N:-200}" --json-out "$OUT/acl.json" | tee "$OUT/acl.txt"
