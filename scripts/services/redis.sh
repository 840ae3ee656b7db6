# Redis 7 from Debian (`redis-server`), on 127.0.0.1:16379, no persistence. Sourced by
# scripts/services.sh, which provides svc_running, svc_kill and svc_wait.

REDIS_PORT=16379
REDIS_SERVER_BIN=/usr/bin/redis-server
REDIS_CLI_BIN=/usr/bin/redis-cli

svc_redis_install() {
    [[ -x "$REDIS_SERVER_BIN" && -x "$REDIS_CLI_BIN" ]] && return 0
    echo "services: installing redis-server (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    # Debian starts a system instance on :6379; the tests use their own and never touch it.
}

svc_redis_start() {
    if svc_running redis && "$REDIS_CLI_BIN" -p "$REDIS_PORT" ping >/dev/null 2>&1; then return 0; fi
    svc_kill redis
    "$REDIS_SERVER_BIN" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize no --dir "$SERVICES_STATE" >"$SERVICES_STATE/redis.log" 2>&1 &
    echo $! >"$SERVICES_STATE/redis.pid"
    svc_wait redis bash -c "[[ \$($REDIS_CLI_BIN -h 127.0.0.1 -p $REDIS_PORT ping) == PONG ]]"
    echo "services: redis on 127.0.0.1:$REDIS_PORT (pid $(cat "$SERVICES_STATE/redis.pid"))"
}

svc_redis_stop() {
    svc_kill redis
}

svc_redis_env() {
    echo "export OMS_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
    echo "export OMS_TEST_REDIS_SERVER=$REDIS_SERVER_BIN"
}
