#!/usr/bin/env bash
# The project's one run command (README "Run"): builds the dashboard when it is missing or
# older than its sources, builds the `oms` binary, and starts `oms serve --demo` on
# http://127.0.0.1:8080 with the journal under ./data. Extra arguments go to `oms serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -f frontend/package.json ]]; then
    stamp=frontend/dist/index.html
    newest_source=$(find frontend/src frontend/index.html frontend/package.json frontend/package-lock.json frontend/vite.config.ts -newer "$stamp" 2>/dev/null | head -n 1 || true)
    if [[ ! -f "$stamp" || -n "$newest_source" ]]; then
        echo "==> building the dashboard (npm ci && npm run build)"
        (cd frontend && npm ci --no-audit --no-fund && npm run build)
    fi
fi

echo "==> building oms (release)"
bash scripts/build-deps.sh
cargo build --release --locked -p oms
exec ./target/release/oms serve --demo --static-dir frontend/dist "$@"
