#!/usr/bin/env bash
# The project's one test command (README "Test"; `.ci/run` calls exactly this).
# Formatting, lints and docs are part of the test: any warning fails the run.
# Idempotent. Needs the Rust toolchain, Node 20 + npm and Python 3; installs the rest
# (OpenSSL headers with apt via scripts/build-deps.sh, npm packages with `npm ci`,
# Debian's chromium with apt, a Python venv under .cache/ for
# the deployment checks) and stops every server it starts. The test services (Redis, the
# MongoDB-protocol server, Kafka: scripts/services/*.sh) are installed and started by
# scripts/services.sh before the tests and stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }
bash scripts/build-deps.sh
# Where cargo puts binaries (honours CARGO_TARGET_DIR and workspace settings).
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
oms_bin="$target_dir/debug/oms"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo doc (-D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "test services (scripts/services.sh: Redis, MongoDB protocol, Kafka) on 127.0.0.1"
# Every exit path stops them (scripts/e2e.sh stops its own servers).
stop_services() { bash scripts/services.sh stop || true; }
trap stop_services EXIT
bash scripts/services.sh start
eval "$(bash scripts/services.sh env)"

step "cargo test (unit, integration, property, doc tests; benches once in test mode)"
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked

step "deterministic simulation: fixed seed set, every fault kind (docs/reliability.md)"
cargo run --locked --quiet -p oms-sim -- --seeds 16 --seed 1 --steps 2000

step "dashboard: npm ci, typecheck, unit tests (vitest), build"
(cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent typecheck && npm test --silent && npm run --silent build)

step "dashboard end-to-end in Chromium: oms serve --demo, then the split deployment (engine + ingress over Kafka)"
if ! command -v chromium >/dev/null 2>&1; then
    echo "installing Debian's chromium (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
bash scripts/e2e.sh all "$oms_bin"
bash scripts/e2e.sh split "$oms_bin"

step "deployment artifacts (terraform, k8s, Dockerfile): parse, checkov, schemas, oms flags"
# The flag check runs against the `oms serve --help` of the binary built above.
OMS_BINARY="$oms_bin" bash scripts/validate-deploy.sh

step "all checks passed"
