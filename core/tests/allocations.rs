//! Zero heap allocations per command once warm: a counting global allocator wraps the
//! system one, and a realistic mix (rests, crosses, cancels, amends, IOC, market, stops,
//! GTD expiry) runs after warm-up with the allocation counter checked around it.

mod common;

use common::counting_alloc::{ALLOCATIONS, CountingAllocator};

use std::sync::atomic::Ordering;

use common::*;
use oms_core::prelude::*;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn no_allocation_per_command_once_warm() {
    let mut h = Harness::new();
    let cids: Vec<ClientOrderId> =
        (0..4_096).map(|i| ClientOrderId::new(&format!("alloc-{i}")).expect("valid")).collect();
    let mut sink = CountingSink::default();
    let run = |h: &mut Harness, from: u64, to: u64, sink: &mut CountingSink| {
        for n in from..to {
            h.sequence += 1;
            let now = n * 10;
            let command = Command {
                sequence: Sequence(h.sequence),
                timestamp: Timestamp(now),
                origin: Origin::Direct,
                action: mixed(h.sequence, now, &cids),
            };
            h.engine.apply(&command, sink);
        }
    };
    // Warm-up: let every index and buffer reach its steady-state size.
    run(&mut h, 1_000, 21_000, &mut sink);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let events_before = sink.events;
    run(&mut h, 21_000, 121_000, &mut sink);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    let events = sink.events - events_before;
    assert!(sink.trades > 10_000, "the mix must trade ({} trades)", sink.trades);
    assert!(events > 110_000, "the mix must do work ({events} events)");
    assert!(h.engine.working_orders() < 1_000, "books stay at a steady size");
    assert_eq!(allocations, 0, "{allocations} allocations over 100 000 commands");
}
