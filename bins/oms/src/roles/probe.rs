//! `/health`, `/ready` and `/metrics` for the roles that serve no API (engine, persister):
//! what Kubernetes probes and Prometheus scrapes, on `--listen`.
//!
//! The role's main loop calls [`Probe::beat`] every turn. `/health` fails when the loop
//! has not turned for [`LIVENESS_STALE`] (stuck: a restart helps), `/ready` when the role
//! says it is not ready (a dependency is down: a restart would not help, so liveness stays
//! up) or the loop has not turned for [`READINESS_STALE`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

/// A loop that has not turned for this long is stuck.
pub const LIVENESS_STALE: Duration = Duration::from_secs(30);
/// A loop that has not turned for this long is not ready.
pub const READINESS_STALE: Duration = Duration::from_secs(5);

/// A role's health, shared between its loop and the probe server.
#[derive(Debug)]
pub struct Probe {
    role: &'static str,
    started: Instant,
    beat_ms: AtomicU64,
    ready: AtomicBool,
    reason: Mutex<String>,
    metrics: Mutex<String>,
}

impl Probe {
    /// Serves the probes on `listen` from a thread of their own (the role's threads stay
    /// plain threads); not ready until the role says so.
    pub fn serve(listen: &str, role: &'static str) -> anyhow::Result<Arc<Probe>> {
        let probe = Arc::new(Probe {
            role,
            started: Instant::now(),
            beat_ms: AtomicU64::new(0),
            ready: AtomicBool::new(false),
            reason: Mutex::new("starting".into()),
            metrics: Mutex::new(String::new()),
        });
        let listener = std::net::TcpListener::bind(listen).with_context(|| format!("binding {listen}"))?;
        listener.set_nonblocking(true)?;
        let state = Arc::clone(&probe);
        std::thread::Builder::new()
            .name("oms-probe".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(e) => return tracing::error!(error = %e, "probe runtime"),
                };
                let served = runtime.block_on(async move {
                    let app = axum::Router::new()
                        .route("/health", get(health))
                        .route("/ready", get(ready))
                        .route("/metrics", get(metrics))
                        .with_state(state);
                    axum::serve(tokio::net::TcpListener::from_std(listener)?, app).await
                });
                if let Err(e) = served {
                    tracing::error!(error = %e, "probe server stopped");
                }
            })
            .context("spawning the probe server")?;
        tracing::info!(%listen, role, "probes: /health /ready /metrics");
        Ok(probe)
    }

    /// The loop turned.
    pub fn beat(&self) {
        self.beat_ms.store(self.started.elapsed().as_millis() as u64, Ordering::Release);
    }

    /// Ready, or not with a reason (shown by `/ready`).
    pub fn set_ready(&self, ready: bool, reason: &str) {
        self.ready.store(ready, Ordering::Release);
        if let Ok(mut text) = self.reason.lock() {
            reason.clone_into(&mut text);
        }
    }

    /// The role's own Prometheus lines (replaced whole).
    pub fn set_metrics(&self, text: String) {
        if let Ok(mut metrics) = self.metrics.lock() {
            *metrics = text;
        }
    }

    fn loop_age(&self) -> Duration {
        self.started.elapsed().saturating_sub(Duration::from_millis(self.beat_ms.load(Ordering::Acquire)))
    }
}

async fn health(State(probe): State<Arc<Probe>>) -> Response {
    let age = probe.loop_age();
    if age > LIVENESS_STALE {
        let detail = format!("{} loop has not turned for {} s", probe.role, age.as_secs());
        return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "stuck", "detail": detail }))).into_response();
    }
    Json(json!({ "status": "ok" })).into_response()
}

async fn ready(State(probe): State<Arc<Probe>>) -> Response {
    let age = probe.loop_age();
    let reason = probe.reason.lock().map(|r| r.clone()).unwrap_or_default();
    let (status, word, detail) = match (probe.ready.load(Ordering::Acquire), age > READINESS_STALE) {
        (true, false) => (StatusCode::OK, "ok", reason),
        (_, true) => {
            (StatusCode::SERVICE_UNAVAILABLE, "not ready", format!("loop has not turned for {} ms", age.as_millis()))
        }
        (false, false) => (StatusCode::SERVICE_UNAVAILABLE, "not ready", reason),
    };
    (status, Json(json!({ "status": word, "role": probe.role, "detail": detail }))).into_response()
}

async fn metrics(State(probe): State<Arc<Probe>>) -> Response {
    let own = probe.metrics.lock().map(|m| m.clone()).unwrap_or_default();
    let text = format!(
        "# TYPE oms_role_ready gauge\noms_role_ready{{role=\"{role}\"}} {}\n\
         # TYPE oms_role_loop_age_seconds gauge\noms_role_loop_age_seconds{{role=\"{role}\"}} {:.3}\n{own}",
        u8::from(probe.ready.load(Ordering::Acquire)),
        probe.loop_age().as_secs_f64(),
        role = probe.role,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
