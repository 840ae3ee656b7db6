# syntax=docker/dockerfile:1.7
#
# The `oms` image: one binary, role chosen at run time (`oms serve --role ...`), plus the
# built dashboard it serves. Three stages so that neither Node nor the Rust toolchain ends
# up in the runtime image.
#
#   docker build -t oms:0.1.0 .
#   docker run --rm -p 8080:8080 oms:0.1.0 serve --demo
#
# Base images are pinned by exact version tag. The runtime tag `nonroot` is rebuilt by the
# distroless project for security fixes; CI should resolve it to a digest when it builds a
# release (docs/deployment.md, "Build and push the image").

# ---- 1. dashboard ---------------------------------------------------------------------------
# Node 20 is the version the dashboard is built and tested with on the project's machines.
FROM node:20.20.2-bookworm-slim AS frontend
WORKDIR /src/frontend
# Manifests first: the npm ci layer is reused until the lock file changes.
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# ---- 2. binary ------------------------------------------------------------------------------
FROM rust:1.95.0-bookworm AS builder
# cmake + libcurl headers: rdkafka's cmake-build of the bundled librdkafka (DESIGN.md, crate
# notes). OpenSSL headers + pkg-config: librdkafka's TLS and SASL/SCRAM to MSK
# (--kafka-security), linked dynamically against the runtime image's OpenSSL 3; nothing
# else from these is linked dynamically (see the ldd check below).
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake libcurl4-openssl-dev libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
# Link zlib statically: the distroless runtime has no libz.so.
ENV LIBZ_SYS_STATIC=1 \
    CARGO_TERM_COLOR=never
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target/ between builds on the same builder; the binary
# is copied out because the cache mount is not part of the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p oms \
    && install -D -m 0755 target/release/oms /out/oms
# Fail the build if the binary needs a shared library the runtime image does not have
# (distroless/cc ships glibc, libgcc, libstdc++ and OpenSSL 3 only).
RUN set -eu; \
    missing="$(ldd /out/oms | awk '{print $1}' \
      | grep -vE '^(linux-vdso\.so|/lib64/ld-linux-x86-64\.so|/lib/ld-linux-aarch64\.so|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libgcc_s\.so|libstdc\+\+\.so|libssl\.so\.3|libcrypto\.so\.3)' || true)"; \
    if [ -n "$missing" ]; then echo "oms links libraries absent from the runtime image: $missing" >&2; exit 1; fi
# Writable data directory for the non-root user (the root filesystem is read-only in k8s;
# there a volume is mounted here).
RUN install -d -m 0750 -o 65532 -g 65532 /out/var/lib/oms

# ---- 3. runtime -----------------------------------------------------------------------------
FROM gcr.io/distroless/cc-debian12:nonroot
#checkov:skip=CKV_DOCKER_2:Kubernetes ignores Dockerfile HEALTHCHECK and probes /health and /ready itself (k8s/base); the distroless image has no shell or curl to run a check command.
LABEL org.opencontainers.image.title="oms" \
      org.opencontainers.image.description="Crypto order management system: engine, HTTP/WebSocket ingress, persister" \
      org.opencontainers.image.source="https://example.invalid/crypto-oms"
WORKDIR /app
COPY --from=builder --chown=0:0 /out/oms /app/oms
COPY --from=frontend --chown=0:0 /src/frontend/dist /app/frontend/dist
COPY --from=builder --chown=65532:65532 /out/var/lib/oms /var/lib/oms
# In a container the listener must bind all interfaces (the binary defaults to 127.0.0.1).
ENV OMS_LISTEN=0.0.0.0:8080 \
    OMS_DATA_DIR=/var/lib/oms
# 8080: HTTP API, WebSockets, dashboard, /health /ready /metrics. 9000: binary TCP gateway.
EXPOSE 8080 9000
# 65532 = "nonroot" in distroless; numeric so runAsNonRoot can verify it.
USER 65532:65532
ENTRYPOINT ["/app/oms"]
CMD ["serve"]
