//! Pipeline benches: one ring hop, and the whole pipeline (ring → journal ∥ engine →
//! publish → outcome) without and with a group-commit journal. Targets: ring hop ≤ 50 ns
//! median; pipeline throughput in docs/benchmarks.md (open-loop latency comes from loadgen).

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use disruptor::{BusySpin, Producer, build_single_producer};
use loadgen::workload::{OrderFlow, engine_config, genesis};
use oms_core::pipeline::{EngineHandle, FsyncPolicy, WaitMode};
use oms_core::prelude::*;

/// One hop: the main thread publishes a slot, a busy-spinning consumer stores its sequence,
/// the main thread sees the store. Timed per hop (publish → observed).
fn ring_hop(c: &mut Criterion) {
    let seen = Arc::new(AtomicI64::new(-1));
    let consumer_seen = Arc::clone(&seen);
    let mut producer = build_single_producer(1 << 10, || 0u64, BusySpin)
        .handle_events_with(move |_: &u64, sequence, _| consumer_seen.store(sequence, Ordering::Release))
        .build();
    let mut next = 0i64;
    c.bench_function("ring/hop", |b| {
        b.iter(|| {
            producer.publish(|slot| *slot = black_box(7));
            while seen.load(Ordering::Acquire) != next {
                std::hint::spin_loop();
            }
            next += 1;
        });
    });
}

fn start(journal: Option<&std::path::Path>) -> EngineHandle {
    let mut builder = Engine::builder()
        .config(engine_config())
        .ring_slots(1 << 14)
        .wait_strategy(WaitMode::Yield)
        .snapshot_every(u64::MAX);
    if let Some(dir) = journal {
        builder = builder.journal(dir, FsyncPolicy::Batch);
    }
    for action in genesis() {
        builder = builder.genesis(action);
    }
    builder.start().expect("pipeline starts")
}

/// Submits `iters` commands of the load mix and waits for the last outcome; the time per
/// command is the pipeline's sustained cost (throughput), not a latency.
fn drive(handle: &mut EngineHandle, flow: &mut OrderFlow, iters: u64) -> Duration {
    let start = Instant::now();
    let mut last = None;
    for _ in 0..iters {
        let sequence =
            handle.published_sequence().max(last.map_or(0, |t: oms_core::pipeline::Ticket| t.sequence.0)) + 1;
        let (action, _) = flow.next(sequence);
        last = Some(handle.submit_blocking(action).expect("submits"));
    }
    if let Some(ticket) = last {
        handle.wait(ticket, Duration::from_secs(60)).expect("last outcome");
    }
    start.elapsed()
}

fn whole_pipeline(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    {
        let mut handle = start(None);
        let mut flow = OrderFlow::new(11);
        group.bench_function("no_journal", |b| b.iter_custom(|iters| drive(&mut handle, &mut flow, iters)));
        handle.shutdown().expect("shuts down");
    }
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut handle = start(Some(dir.path()));
        let mut flow = OrderFlow::new(13);
        group.bench_function("journal_fsync_batch", |b| b.iter_custom(|iters| drive(&mut handle, &mut flow, iters)));
        handle.shutdown().expect("shuts down");
    }
    group.finish();
}

criterion_group!(benches, ring_hop, whole_pipeline);
criterion_main!(benches);
