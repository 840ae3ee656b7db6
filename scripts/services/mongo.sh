# A MongoDB-protocol server for tests: PyPI `secantusdb` (WiredTiger inside; a test-only
# tool, GPL, never shipped) in a venv under .cache/services/, on 127.0.0.1:27118, in memory.
# Sourced by scripts/services.sh, which provides svc_running, svc_kill and svc_wait.

MONGO_PORT=27118
MONGO_VENV="$SERVICES_STATE/venv-mongo"
MONGO_PACKAGE="secantusdb==0.7.0b3"

svc_mongo_install() {
    [[ -x "$MONGO_VENV/bin/secantusd-py" && -f "$MONGO_VENV/.installed-$MONGO_PACKAGE" ]] && return 0
    echo "services: installing $MONGO_PACKAGE into $MONGO_VENV"
    python3 -m venv "$MONGO_VENV"
    "$MONGO_VENV/bin/pip" install --quiet --disable-pip-version-check "$MONGO_PACKAGE"
    touch "$MONGO_VENV/.installed-$MONGO_PACKAGE"
}

# A real protocol ping: the `ping` command over the wire, with pymongo from the same venv.
svc_mongo_ping() {
    "$MONGO_VENV/bin/python" - "$1" <<'PY'
import socket, struct, sys
# OP_MSG { ping: 1, $db: "admin" } by hand (no client library needed).
def bson_doc(pairs):
    body = b""
    for key, value in pairs:
        k = key.encode() + b"\x00"
        if isinstance(value, int):
            body += b"\x10" + k + struct.pack("<i", value)
        else:
            s = value.encode() + b"\x00"
            body += b"\x02" + k + struct.pack("<i", len(s)) + s
    return struct.pack("<i", len(body) + 5) + body + b"\x00"
doc = bson_doc([("ping", 1), ("$db", "admin")])
msg = struct.pack("<I", 0) + b"\x00" + doc
header = struct.pack("<iiii", 16 + len(msg), 1, 0, 2013)
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) as s:
    s.sendall(header + msg)
    data = b""
    while len(data) < 4 or len(data) < struct.unpack("<i", data[:4])[0]:
        chunk = s.recv(65536)
        if not chunk:
            sys.exit(1)
        data += chunk
# ok: 1.0 (double) must be in the reply document.
sys.exit(0 if b"\x01ok\x00" in data and struct.pack("<d", 1.0) in data else 1)
PY
}

svc_mongo_start() {
    if svc_running mongo && svc_mongo_ping "$MONGO_PORT" >/dev/null 2>&1; then return 0; fi
    svc_kill mongo
    "$MONGO_VENV/bin/secantusd-py" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path :memory: \
        >"$SERVICES_STATE/mongo.log" 2>&1 &
    echo $! >"$SERVICES_STATE/mongo.pid"
    svc_wait mongo svc_mongo_ping "$MONGO_PORT"
    echo "services: mongo (secantusdb) on 127.0.0.1:$MONGO_PORT (pid $(cat "$SERVICES_STATE/mongo.pid"))"
}

svc_mongo_stop() {
    svc_kill mongo
}

svc_mongo_env() {
    echo "export OMS_TEST_MONGO_URL=mongodb://127.0.0.1:$MONGO_PORT"
    echo "export OMS_TEST_SECANTUSD=$MONGO_VENV/bin/secantusd-py"
}
