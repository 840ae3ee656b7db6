#!/usr/bin/env bash
# The machine's HTTP ceiling (docs/benchmarks.md §7.3): loadgen against a server that
# answers the order routes and does nothing else (loadgen/examples/null_server.rs), one
# fresh server per rate: loadgen's report, and the CPU of the server and of loadgen.
#
#   bash scripts/bench-ceiling.sh <rate>…
#
# Needs: cargo build --release -p loadgen --bin loadgen --example null_server
set -euo pipefail
cd "$(dirname "$0")/.."
server=target/release/examples/null_server
loadgen=target/release/loadgen
[[ -x $server && -x $loadgen ]] || {
  echo "build first: cargo build --release -p loadgen --bin loadgen --example null_server" >&2
  exit 1
}
(($#)) || { echo "usage: bench-ceiling.sh <rate>…" >&2; exit 1; }
work=$(mktemp -d /tmp/oms-bench-ceiling.XXXXXX)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
echo '[{"accountId":"1","apiKey":"k1"},{"accountId":"2","apiKey":"k2"}]' >"$work/keys.json"
hz=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
for rate in "$@"; do
  "$server" 127.0.0.1:18082 "${THREADS:-2}" 2>"$work/server.log" &
  pid=$!
  for _ in $(seq 1 50); do curl -fs -X DELETE http://127.0.0.1:18082/api/orders/1 >/dev/null 2>&1 && break; sleep 0.1; done
  before=$(cpu "$pid")
  start=$(date +%s.%N)
  "$loadgen" --target http://127.0.0.1:18082 --api-keys "$work/keys.json" --mid-price 60000 \
    --rate "$rate" --duration 5 --warmup 1 --connections 64 >"$work/report" &
  lg=$!
  # Sampled just before loadgen exits (its /proc entry goes with it).
  lg_cpu=0
  while kill -0 "$lg" 2>/dev/null; do lg_cpu=$(cpu "$lg" 2>/dev/null || echo "$lg_cpu"); sleep 0.2; done
  wait "$lg"
  after=$(cpu "$pid")
  tail -1 "$work/report"
  awk -v t="$after" -v b="$before" -v l="$lg_cpu" -v hz="$hz" -v s="$start" -v e="$(date +%s.%N)" \
    'BEGIN { printf "  server CPU: %.2f cores, loadgen CPU: %.2f cores\n", (t - b) / hz / (e - s), l / hz / (e - s) }'
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done
