#!/usr/bin/env bash
# Throwaway test services on 127.0.0.1 (DESIGN.md §8): `start | stop | status | env`.
#
# Every `scripts/services/<name>.sh` (sorted) defines svc_<name>_install, svc_<name>_start,
# svc_<name>_stop and svc_<name>_env (prints `export VAR=value` lines). State (pid files,
# logs, venvs) lives under .cache/services/ (git-ignored). Idempotent: starting a running
# service or stopping a stopped one is fine. `start` fails loudly when a service does not
# answer its protocol ping within SERVICES_WAIT_S seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export SERVICES_ROOT="$PWD"
export SERVICES_STATE="$PWD/.cache/services"
export SERVICES_WAIT_S="${SERVICES_WAIT_S:-30}"
mkdir -p "$SERVICES_STATE"

# --- helpers shared by the service files -------------------------------------------------

# svc_running <name>: the pid in .cache/services/<name>.pid is alive.
svc_running() {
    local pid_file="$SERVICES_STATE/$1.pid"
    [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

# svc_kill <name>: TERM the pid from its file, wait up to 10 s, then KILL; remove the file.
svc_kill() {
    local pid_file="$SERVICES_STATE/$1.pid" pid
    [[ -f "$pid_file" ]] || return 0
    pid=$(cat "$pid_file")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pid_file"
}

# svc_wait <name> <command...>: run the probe until it succeeds (bounded), or fail loudly
# with the service's log.
svc_wait() {
    local name=$1; shift
    local deadline=$((SECONDS + SERVICES_WAIT_S))
    while ((SECONDS < deadline)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        if ! svc_running "$name"; then break; fi
        sleep 0.2
    done
    echo "services: $name did not answer within ${SERVICES_WAIT_S}s; its log:" >&2
    tail -n 40 "$SERVICES_STATE/$name.log" >&2 || true
    return 1
}

# --- the service files ----------------------------------------------------------------------

names=()
for file in $(ls scripts/services/*.sh 2>/dev/null | sort); do
    # shellcheck source=/dev/null
    source "$file"
    names+=("$(basename "$file" .sh)")
done

case "${1:-}" in
    start)
        for name in "${names[@]}"; do
            "svc_${name}_install"
            "svc_${name}_start"
        done
        ;;
    stop)
        for name in "${names[@]}"; do "svc_${name}_stop"; done
        ;;
    status)
        for name in "${names[@]}"; do
            if svc_running "$name"; then echo "$name: running (pid $(cat "$SERVICES_STATE/$name.pid"))"; else echo "$name: stopped"; fi
        done
        ;;
    env)
        for name in "${names[@]}"; do "svc_${name}_env"; done
        ;;
    *)
        echo "usage: $0 start|stop|status|env" >&2
        exit 2
        ;;
esac
