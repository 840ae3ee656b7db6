#!/usr/bin/env bash
# The project's one test command (README "Test"; `.ci/run` calls exactly this).
# Formatting, lints and docs are part of the test: any warning fails the run.
# Idempotent; needs only the Rust toolchain today. Later stages (Redis, Kafka, MongoDB,
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

step "all checks passed"
