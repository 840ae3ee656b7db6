//! The JSON report and its summary line.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latency percentiles in microseconds.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct LatencyUs {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// 99.99th percentile.
    pub p9999: f64,
    /// Maximum.
    pub max: f64,
}

impl LatencyUs {
    /// Percentiles of a histogram recorded in nanoseconds.
    pub fn from_ns(h: &Histogram<u64>) -> Self {
        let us = |ns: u64| ns as f64 / 1_000.0;
        Self {
            p50: us(h.value_at_quantile(0.50)),
            p99: us(h.value_at_quantile(0.99)),
            p999: us(h.value_at_quantile(0.999)),
            p9999: us(h.value_at_quantile(0.9999)),
            max: us(h.max()),
        }
    }
}

/// Answers counted during the measured window of a run.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Requests answered.
    pub acked: u64,
    /// Answered with a refusal.
    pub rejected: u64,
    /// Refusals by machine code.
    pub rejected_by_reason: std::collections::BTreeMap<String, u64>,
    /// Requests without an answer (lost, timed out, transport failure).
    pub errors: u64,
}

impl Tally {
    /// Counts an answer; `reject` is the refusal code, if refused.
    pub fn answered(&mut self, reject: Option<&str>) {
        self.acked += 1;
        if let Some(code) = reject {
            self.rejected += 1;
            *self.rejected_by_reason.entry(code.to_owned()).or_default() += 1;
        }
    }

    /// Adds another tally (one per connection) to this one.
    pub fn merge(&mut self, other: Tally) {
        self.acked += other.acked;
        self.rejected += other.rejected;
        self.errors += other.errors;
        for (code, n) in other.rejected_by_reason {
            *self.rejected_by_reason.entry(code).or_default() += n;
        }
    }
}

/// One run's result (the schema `docs/benchmarks.md` and the sweep tooling read).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `inproc`, `tcp://…`, `http://…`.
    pub target: String,
    /// Planned send rate, commands per second.
    pub offered_rate: u64,
    /// Commands sent in the measured window.
    pub sent: u64,
    /// Commands acknowledged (outcome released) in the measured window.
    pub acked: u64,
    /// Acknowledged but refused by the engine (risk or validation).
    pub rejected: u64,
    /// Rejections by machine code (`unknown_order`, `insufficient_balance`, …).
    pub rejected_by_reason: std::collections::BTreeMap<String, u64>,
    /// Lost outcomes, timeouts, journal failures.
    pub errors: u64,
    /// Acknowledged commands per second over the measured window.
    pub throughput_per_s: f64,
    /// Latency from planned send time to acknowledgement.
    pub latency_us: LatencyUs,
    /// Settings that shaped the run.
    pub settings: Settings,
}

/// Run settings recorded with the numbers.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// Measured seconds.
    pub duration_s: f64,
    /// Unmeasured seconds before.
    pub warmup_s: f64,
    /// `batch`, `none`, `interval:<ms>`, or `off` without a journal.
    pub fsync: String,
    /// Stage wait strategy.
    pub wait_strategy: String,
    /// Ring slots.
    pub ring_slots: usize,
    /// Times `try_submit` answered backpressure (the sender then retried).
    pub backpressure_retries: u64,
    /// Logical CPUs of the machine.
    pub cpus: usize,
}

impl Report {
    /// The report of a run against a running server over `connections` connections (the
    /// server's own fsync policy applies).
    #[allow(
        clippy::too_many_arguments,
        reason = "a flat constructor for the two remote targets; each value is distinct"
    )]
    pub fn remote(
        target: String,
        offered_rate: u64,
        sent: u64,
        tally: Tally,
        histogram: &hdrhistogram::Histogram<u64>,
        elapsed_s: f64,
        duration: std::time::Duration,
        warmup: std::time::Duration,
        connections: usize,
    ) -> Report {
        Report {
            target,
            offered_rate,
            sent,
            acked: tally.acked,
            rejected: tally.rejected,
            errors: tally.errors,
            throughput_per_s: tally.acked as f64 / elapsed_s,
            rejected_by_reason: tally.rejected_by_reason,
            latency_us: LatencyUs::from_ns(histogram),
            settings: Settings {
                duration_s: duration.as_secs_f64(),
                warmup_s: warmup.as_secs_f64(),
                fsync: "server".into(),
                wait_strategy: format!("{connections} connections"),
                ring_slots: 0,
                backpressure_retries: 0,
                cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            },
        }
    }

    /// One human line.
    pub fn summary(&self) -> String {
        let l = &self.latency_us;
        format!(
            "{} offered {}/s: sent {} acked {} rejected {} errors {} → {:.0}/s; latency µs p50 {:.1} p99 {:.1} p99.9 {:.1} p99.99 {:.1} max {:.1}",
            self.target,
            self.offered_rate,
            self.sent,
            self.acked,
            self.rejected,
            self.errors,
            self.throughput_per_s,
            l.p50,
            l.p99,
            l.p999,
            l.p9999,
            l.max
        )
    }
}
