//! In-process target: the pipeline embedded in this process, driven through
//! `EngineHandle::try_submit`, acknowledgements taken from the outcome board.
//!
//! Two threads besides the pipeline's own: the *sender* keeps the schedule (planned time
//! `start + i / rate`, retrying on backpressure so a full ring shows up as latency), the
//! *receiver* redeems tickets in order and records `ack time − planned time`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use crossbeam_queue::ArrayQueue;
use hdrhistogram::Histogram;
use oms_core::pipeline::{EngineHandle, FsyncPolicy, SubmitError, Ticket, WaitMode};
use oms_core::prelude::*;

use crate::report::{LatencyUs, Report, Settings, Tally};
use crate::workload::{OrderFlow, engine_config, genesis};

/// Options of an in-process run.
#[derive(Clone, Debug)]
pub struct InprocOptions {
    /// Planned commands per second.
    pub rate: u64,
    /// Measured time.
    pub duration: Duration,
    /// Unmeasured time before.
    pub warmup: Duration,
    /// Journal directory (none: in-memory pipeline).
    pub journal: Option<PathBuf>,
    /// Fsync policy with a journal.
    pub fsync: FsyncPolicy,
    /// Stage wait strategy.
    pub wait: WaitMode,
    /// Ring size.
    pub ring_slots: usize,
    /// Flow seed.
    pub seed: u64,
}

struct Sent {
    ticket: Ticket,
    planned: Instant,
    measured: bool,
}

/// Answers plus the measured window's first planned send and last answer.
#[derive(Default)]
struct Window {
    tally: Tally,
    first_measured: Option<Instant>,
    last_ack: Option<Instant>,
}

/// Runs the load and returns the report.
pub fn run(options: &InprocOptions) -> anyhow::Result<Report> {
    anyhow::ensure!(options.rate > 0, "--rate must be positive");
    let mut builder = Engine::builder()
        .config(engine_config())
        .ring_slots(options.ring_slots)
        .wait_strategy(options.wait)
        .snapshot_every(u64::MAX);
    if let Some(dir) = &options.journal {
        anyhow::ensure!(
            std::fs::read_dir(dir).map(|mut d| d.next().is_none()).unwrap_or(true),
            "journal directory {} must be empty or absent (each run starts a fresh market)",
            dir.display()
        );
        builder = builder.journal(dir, options.fsync);
    }
    for action in genesis() {
        builder = builder.genesis(action);
    }
    let mut handle = builder.start().context("starting the pipeline")?;
    let queue = Arc::new(ArrayQueue::<Sent>::new(1 << 20));
    let done = Arc::new(AtomicBool::new(false));
    let receiver = {
        let (handle, queue, done) = (handle.clone(), Arc::clone(&queue), Arc::clone(&done));
        std::thread::Builder::new().name("loadgen-receiver".into()).spawn(move || receive(&handle, &queue, &done))?
    };
    let (sent, retries) = send(&mut handle, options, &queue);
    done.store(true, Ordering::Release);
    let (histogram, tally) = receiver.join().map_err(|_| anyhow::anyhow!("receiver thread panicked"))?;
    handle.shutdown().map_err(|e| anyhow::anyhow!("shutdown: {e}"))?;
    let elapsed = match (tally.first_measured, tally.last_ack) {
        (Some(a), Some(b)) if b > a => (b - a).as_secs_f64(),
        _ => options.duration.as_secs_f64(),
    };
    Ok(Report {
        target: "inproc".into(),
        offered_rate: options.rate,
        sent,
        acked: tally.tally.acked,
        rejected: tally.tally.rejected,
        rejected_by_reason: tally.tally.rejected_by_reason.clone(),
        errors: tally.tally.errors,
        throughput_per_s: tally.tally.acked as f64 / elapsed,
        latency_us: LatencyUs::from_ns(&histogram),
        settings: Settings {
            duration_s: options.duration.as_secs_f64(),
            warmup_s: options.warmup.as_secs_f64(),
            fsync: match (&options.journal, options.fsync) {
                (None, _) => "off".into(),
                (Some(_), FsyncPolicy::Batch) => "batch".into(),
                (Some(_), FsyncPolicy::None) => "none".into(),
                (Some(_), FsyncPolicy::Interval(d)) => format!("interval:{}", d.as_millis()),
            },
            wait_strategy: format!("{:?}", options.wait),
            ring_slots: options.ring_slots,
            backpressure_retries: retries,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        },
    })
}

/// Keeps the schedule; returns (measured commands sent, backpressure retries).
fn send(handle: &mut EngineHandle, options: &InprocOptions, queue: &ArrayQueue<Sent>) -> (u64, u64) {
    let mut flow = OrderFlow::new(options.seed);
    let warmup = (options.warmup.as_secs_f64() * options.rate as f64) as u64;
    let total = warmup + (options.duration.as_secs_f64() * options.rate as f64) as u64;
    let base = handle.published_sequence();
    let start = Instant::now();
    let (mut sent, mut retries) = (0, 0);
    for i in 0..total {
        let planned = start + Duration::from_nanos((u128::from(i) * 1_000_000_000 / u128::from(options.rate)) as u64);
        loop {
            let now = Instant::now();
            if now >= planned {
                break;
            }
            // Yield rather than spin: on a small box a spinning sender holds a core the
            // pipeline needs until the scheduler preempts it (milliseconds).
            let _ = now;
            std::thread::yield_now();
        }
        let (action, _) = flow.next(base + i + 1);
        let ticket = loop {
            match handle.try_submit(action) {
                Ok(ticket) => break ticket,
                Err(SubmitError::Backpressure) => {
                    retries += 1;
                    std::thread::yield_now();
                }
                Err(other) => panic!("pipeline refused a command: {other}"),
            }
        };
        debug_assert_eq!(ticket.sequence.0, base + i + 1, "single producer: predictable sequences");
        let measured = i >= warmup;
        sent += u64::from(measured);
        let mut item = Sent { ticket, planned, measured };
        while let Err(back) = queue.push(item) {
            item = back;
            std::thread::yield_now();
        }
    }
    (sent, retries)
}

/// Redeems tickets in order and records latencies.
fn receive(handle: &EngineHandle, queue: &ArrayQueue<Sent>, done: &AtomicBool) -> (Histogram<u64>, Window) {
    // 1 ns .. 60 s at 3 significant digits.
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds");
    let mut tally = Window::default();
    loop {
        let Some(sent) = queue.pop() else {
            if done.load(Ordering::Acquire) && queue.is_empty() {
                return (histogram, tally);
            }
            std::thread::yield_now();
            continue;
        };
        let result = handle.wait(sent.ticket, Duration::from_secs(30));
        let now = Instant::now();
        if !sent.measured {
            continue;
        }
        tally.first_measured.get_or_insert(sent.planned);
        match result {
            Ok(outcome) => {
                tally.tally.answered(outcome.reject.map(|r| r.code()));
                tally.last_ack = Some(now);
                let latency = now.saturating_duration_since(sent.planned).as_nanos() as u64;
                histogram.saturating_record(latency.max(1));
            }
            Err(_) => tally.tally.errors += 1,
        }
    }
}
