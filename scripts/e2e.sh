#!/usr/bin/env bash
# The dashboard's walk in Chromium (frontend/e2e/run.mjs) against servers this script starts
# and always stops:
#
#   bash scripts/e2e.sh all <oms-binary>     # `oms serve --demo`, one process
#   bash scripts/e2e.sh split <oms-binary>   # `--role engine` + `--role ingress --demo` over
#                                            # the test services' Kafka (OMS_TEST_KAFKA_BROKERS,
#                                            # from `scripts/services.sh env`)
#
# Needs the dashboard built (frontend/dist) and Chromium (scripts/test.sh installs both).
# The split deployment starts with an empty book and no trades, so the walk is told where to
# place (OMS_E2E_PRICE: the demo market's BTC-USD reference).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:?usage: e2e.sh all|split <oms-binary>}
oms=${2:?usage: e2e.sh all|split <oms-binary>}
work=$(mktemp -d)
pids=()
stop() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap stop EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
common=(--demo --listen "127.0.0.1:$port" --static-dir frontend/dist --log warn)
case "$mode" in
    all)
        "$oms" serve "${common[@]}" --data-dir "$work/oms" >"$work/oms.log" 2>&1 &
        pids+=($!)
        price=()
        ;;
    split)
        : "${OMS_TEST_KAFKA_BROKERS:?run scripts/services.sh start and eval its env first}"
        # A topic prefix of its own: the broker outlives this run and serves other tests.
        kafka=(--kafka "$OMS_TEST_KAFKA_BROKERS" --kafka-topic-prefix "e2e-$(date +%s%N)-" --kafka-partitions 2
            --kafka-replication 1 --kafka-fetch-wait-ms 5)
        "$oms" serve --role engine --demo --listen 127.0.0.1:0 --log warn "${kafka[@]}" --data-dir "$work/engine" \
            >"$work/engine.log" 2>&1 &
        pids+=($!)
        "$oms" serve --role ingress "${common[@]}" "${kafka[@]}" --data-dir "$work/ingress" >"$work/oms.log" 2>&1 &
        pids+=($!)
        price=(OMS_E2E_PRICE=60000)
        ;;
    *) echo "e2e.sh: mode must be all or split, not $mode" >&2; exit 2 ;;
esac
logs() { tail -n 40 "$work"/*.log >&2; }
for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { logs; echo "e2e ($mode): a server died" >&2; exit 1; }; done
    sleep 0.2
done
curl -sf "http://127.0.0.1:$port/ready" >/dev/null || { logs; echo "e2e ($mode): never ready" >&2; exit 1; }
(cd frontend && env "${price[@]}" OMS_URL="http://127.0.0.1:$port" node e2e/run.mjs) || { logs; exit 1; }
