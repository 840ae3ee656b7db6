#!/usr/bin/env bash
# System libraries the Rust build links: OpenSSL (TLS and SASL/SCRAM to Kafka brokers,
# through librdkafka). Installs them with apt when pkg-config cannot find them; idempotent.
# Sourced or run by scripts/test.sh and scripts/run.sh before cargo builds anything.
set -euo pipefail
if ! { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openssl; }; then
  echo "installing OpenSSL headers and pkg-config (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libssl-dev pkg-config >/dev/null
fi
