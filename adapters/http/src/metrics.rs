//! Prometheus text metrics, hand-rolled on atomics: a few counters, gauges and one latency
//! histogram do not justify a global recorder, and per-server state keeps tests that run
//! several servers in one process independent.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the request-latency buckets, seconds.
const LATENCY_BUCKETS_S: [f64; 12] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0];

/// The server's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    orders: Mutex<BTreeMap<(&'static str, String), u64>>,
    latency_buckets: [AtomicU64; 12],
    latency_count: AtomicU64,
    latency_sum_ns: AtomicU64,
    /// Open WebSocket connections.
    pub ws_clients: AtomicI64,
}

impl Metrics {
    /// Counts an order outcome (`accepted`, `rejected`, `invalid`) with a reason code.
    pub fn order(&self, outcome: &'static str, reason: &str) {
        if let Ok(mut orders) = self.orders.lock() {
            *orders.entry((outcome, reason.to_owned())).or_default() += 1;
        }
    }

    /// Records one request's latency.
    pub fn request(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS_S) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ns.fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Prometheus text exposition; `gauges` are added as given.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP oms_orders_total Orders by outcome and reason.\n# TYPE oms_orders_total counter");
        if let Ok(orders) = self.orders.lock() {
            for ((outcome, reason), count) in orders.iter() {
                let _ = writeln!(out, "oms_orders_total{{outcome=\"{outcome}\",reason=\"{reason}\"}} {count}");
            }
        }
        let _ = writeln!(
            out,
            "# HELP oms_http_request_duration_seconds HTTP request latency.\n# TYPE oms_http_request_duration_seconds histogram"
        );
        for (bucket, bound) in self.latency_buckets.iter().zip(LATENCY_BUCKETS_S) {
            let _ = writeln!(
                out,
                "oms_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "oms_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "oms_http_request_duration_seconds_sum {}",
            self.latency_sum_ns.load(Ordering::Relaxed) as f64 / 1e9
        );
        let _ = writeln!(out, "oms_http_request_duration_seconds_count {count}");
        let _ = writeln!(out, "# HELP oms_ws_clients Open WebSocket connections.\n# TYPE oms_ws_clients gauge");
        let _ = writeln!(out, "oms_ws_clients {}", self.ws_clients.load(Ordering::Relaxed));
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
        }
        out
    }
}
