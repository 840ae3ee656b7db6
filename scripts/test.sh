#!/usr/bin/env bash
# The project's one test command (README "Test"; `.ci/run` calls exactly this).
# Formatting, lints and docs are part of the test: any warning fails the run.
# Idempotent; needs the Rust toolchain and Python 3 (the deployment check builds its own
# venv under .cache/). Later stages (Redis, Kafka, MongoDB,
# browser tests) will install and start their services from here and stop them on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo doc (-D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "cargo test (unit, integration, property, doc tests; benches once in test mode)"
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked

step "deployment artifacts (terraform, k8s, Dockerfile): parse, checkov, schemas, oms flags"
# Uses the built `oms` binary for the flag check once it exists (bins/oms, `oms serve`).
if [[ -x target/release/oms ]]; then OMS_BINARY=target/release/oms bash scripts/validate-deploy.sh
elif [[ -x target/debug/oms ]]; then OMS_BINARY=target/debug/oms bash scripts/validate-deploy.sh
else bash scripts/validate-deploy.sh
fi

step "all checks passed"
