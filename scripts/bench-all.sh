#!/usr/bin/env bash
# `oms serve --demo` (one process, `--role all`) over HTTP, one fresh server per rate
# (docs/benchmarks.md §3, §7.2): loadgen's report and the server's CPU over the run.
#
#   bash scripts/bench-all.sh <rate>…
#
# Needs release builds: cargo build --release -p oms -p loadgen. OMS=<binary> compares
# another build (an A/B of one change).
set -euo pipefail
cd "$(dirname "$0")/.."
oms=${OMS:-target/release/oms}
loadgen=target/release/loadgen
[[ -x $oms && -x $loadgen ]] || { echo "build first: cargo build --release -p oms -p loadgen" >&2; exit 1; }
(($#)) || { echo "usage: bench-all.sh <rate>…" >&2; exit 1; }
work=$(mktemp -d /tmp/oms-bench-all.XXXXXX)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
hz=$(getconf CLK_TCK)
for rate in "$@"; do
  rm -rf "$work/data"
  "$oms" serve --demo --data-dir "$work/data" --listen 127.0.0.1:18081 --log warn >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do curl -fs http://127.0.0.1:18081/ready >/dev/null 2>&1 && break; sleep 0.2; done
  before=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  start=$(date +%s.%N)
  "$loadgen" --target http://127.0.0.1:18081 --api-keys "$work/data/demo-accounts.json" \
    --rate "$rate" --duration 5 --warmup 1 --connections 64 | tail -1
  after=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
  awk -v t="$after" -v b="$before" -v hz="$hz" -v s="$start" -v e="$(date +%s.%N)" \
    'BEGIN { printf "  server CPU: %.2f cores\n", (t - b) / hz / (e - s) }'
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done
