#!/usr/bin/env bash
# End-to-end benchmark of the split deployment on this machine (docs/benchmarks.md §7):
# loadgen → HTTP → ingress (Redis idempotency) → Kafka → engine → Kafka → ingress, with the
# persister writing every decision to MongoDB. A private Tansu broker per run (memory
# storage), Redis and MongoDB from scripts/services.sh (started if needed, left running).
#
#   bash scripts/bench-split.sh <rate> [--no-redis] [--no-mongo] [loadgen flags…]
#
# Needs release builds: cargo build --release -p oms -p loadgen
#
# CATCHUP=1: after the run, start a second ingress and time how long it takes to read what
# the topics hold (until /ready), with the records it read (docs/benchmarks.md §7.4);
# LATE_OMS=<binary> runs that ingress from another build.
#
# DURATION (seconds measured, default 10). FETCH_WAIT_MS (default 5) and LINGER_MS (default 20, not the product's 2: on this box the
# broker shares two cores with everything else, and fewer, larger produce requests leave it
# CPU to answer sooner; docs/benchmarks.md §7.1) override the Kafka tuning.
set -euo pipefail
cd "$(dirname "$0")/.."

rate=${1:?usage: bench-split.sh <rate> [--no-redis] [--no-mongo] [loadgen flags…]}
shift
redis_on=1
mongo_on=1
loadgen_extra=()
for arg in "$@"; do
  case "$arg" in
    --no-redis) redis_on=0 ;;
    --no-mongo) mongo_on=0 ;;
    *) loadgen_extra+=("$arg") ;;
  esac
done

oms=target/release/oms
loadgen=target/release/loadgen
[[ -x $oms && -x $loadgen ]] || { echo "build first: cargo build --release -p oms -p loadgen" >&2; exit 1; }
bash scripts/services.sh start >/dev/null
eval "$(bash scripts/services.sh env)"

work=$(mktemp -d /tmp/oms-bench.XXXXXX)
port=19192
http=18280
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$OMS_TEST_TANSU" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
  --storage-engine memory://tansu/ >"$work/tansu.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

kafka=(--kafka "127.0.0.1:$port" --kafka-partitions 4 --kafka-replication 1 --kafka-fetch-wait-ms ${FETCH_WAIT_MS:-5}
  --kafka-linger-ms ${LINGER_MS:-20} --log warn)
ingress_extra=()
((redis_on)) && ingress_extra+=(--redis "$OMS_TEST_REDIS_URL")
"$oms" serve --role engine --demo "${kafka[@]}" --data-dir "$work/engine" --listen 127.0.0.1:0 >"$work/engine.log" 2>&1 &
pids+=($!)
"$oms" serve --role ingress --demo "${kafka[@]}" --data-dir "$work/ingress" --listen "127.0.0.1:$http" \
  --http-threads 2 "${ingress_extra[@]}" >"$work/ingress.log" 2>&1 &
pids+=($!)
if ((mongo_on)); then
  db="$OMS_TEST_MONGO_URL/oms_bench_$(date +%s)"
  "$oms" serve --role persister --demo "${kafka[@]}" --data-dir "$work/persister" --mongo "$db" --listen 127.0.0.1:0 \
    >"$work/persister.log" 2>&1 &
  pids+=($!)
fi
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$http/ready" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fs "http://127.0.0.1:$http/ready" || { tail -20 "$work"/*.log; exit 1; }
echo
# Let the engine's consumer group settle (the first rebalance) before the clock starts.
sleep 8
idem=()
((redis_on)) && idem+=(--idempotency-keys)
# CPU seconds (user + system) of a process so far, from /proc/<pid>/stat.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
names=(tansu engine ingress)
((mongo_on)) && names+=(persister)
watched=("${pids[@]}")
((redis_on)) && { names+=(redis); watched+=("$(cat .cache/services/redis.pid)"); }
((mongo_on)) && { names+=(mongodb); watched+=("$(cat .cache/services/mongo.pid)"); }
before=()
for pid in "${watched[@]}"; do before+=("$( [[ -n $pid ]] && cpu "$pid" || echo 0)"); done
start=$(date +%s.%N)
"$loadgen" --target "http://127.0.0.1:$http" --api-keys "$work/ingress/demo-accounts.json" --mid-price 60000 \
  --rate "$rate" --duration "${DURATION:-10}" --warmup 2 --connections 512 "${idem[@]}" "${loadgen_extra[@]}"
elapsed=$(awk "BEGIN { print $(date +%s.%N) - $start }")
echo "CPU during the run (warm-up + measured, % of one core; the box has $(nproc)):"
for i in "${!watched[@]}"; do
  pid=${watched[$i]}
  [[ -n $pid && -r /proc/$pid/stat ]] || continue
  printf '  %-10s %5.0f %%\n' "${names[$i]}" "$(awk "BEGIN { print 100 * ($(cpu "$pid") - ${before[$i]}) / $elapsed }")"
done
if [[ ${CATCHUP:-0} == 1 ]]; then
  late=18281
  start=$(date +%s.%N)
  # LATE_WRAP: a command prefix for the late ingress (a profiler, e.g. `perf record -g -o F --`);
  # LATE_OMS: another build of it (an A/B of the catch-up).
  ${LATE_WRAP:-} "${LATE_OMS:-$oms}" serve --role ingress --demo "${kafka[@]}" --data-dir "$work/ingress-late" --listen "127.0.0.1:$late" \
    --http-threads 2 >"$work/ingress-late.log" 2>&1 &
  pids+=($!)
  late_pid=$!
  for _ in $(seq 1 3000); do
    curl -fs "http://127.0.0.1:$late/ready" >/dev/null 2>&1 && break
    sleep 0.1
  done
  ready=$(awk "BEGIN { print $(date +%s.%N) - $start }")
  curl -fs "http://127.0.0.1:$late/ready" >/dev/null || { tail -20 "$work/ingress-late.log"; exit 1; }
  records=$(curl -fs "http://127.0.0.1:$late/metrics" | awk '/^oms_ingress_records_read/ { n += $2 } END { print n }')
  echo "catch-up: a new ingress read $records records in ${ready} s (to /ready, start-up included):" \
    "$(awk "BEGIN { printf \"%.0f\", $records / $ready }") records/s, $(cpu "$late_pid") CPU-seconds"
fi
