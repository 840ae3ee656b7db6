//! Zero heap allocations per command through the whole pipeline (submit → journal with
//! group commit → engine → publish → outcome), counted across all threads by a global
//! counting allocator.

mod common;

use common::counting_alloc::{ALLOCATIONS, CountingAllocator};

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use oms_core::pipeline::FsyncPolicy;
use oms_core::prelude::*;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn no_allocation_per_command_through_the_pipeline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let setup: Vec<Action> = Harness::new().log.iter().map(|c| c.action).collect();
    let mut builder =
        Engine::builder().journal(dir.path(), FsyncPolicy::Batch).ring_slots(1 << 10).snapshot_every(u64::MAX);
    for action in setup {
        builder = builder.genesis(action);
    }
    let mut handle = builder.start().expect("starts");
    let cids: Vec<ClientOrderId> = (0..4_096).map(|i| ClientOrderId::new(&format!("a-{i}")).expect("valid")).collect();
    let run = |handle: &mut oms_core::pipeline::EngineHandle, commands: u64| -> u64 {
        let mut trades = 0;
        for _ in 0..commands {
            // Single producer: the next sequence follows the last one released.
            let sequence = handle.published_sequence() + 1;
            let ticket = handle.submit_blocking(mixed(sequence, u64::MAX / 2, &cids)).expect("submits");
            assert_eq!(ticket.sequence.0, sequence, "single producer: sequences are predictable");
            trades += u64::from(handle.wait(ticket, Duration::from_secs(30)).expect("outcome").trades);
        }
        trades
    };
    run(&mut handle, 5_000);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let trades = run(&mut handle, 20_000);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    handle.shutdown().expect("shuts down");
    assert!(trades > 1_000, "the mix must trade ({trades})");
    assert_eq!(allocations, 0, "{allocations} allocations over 20 000 commands through the pipeline");
}
