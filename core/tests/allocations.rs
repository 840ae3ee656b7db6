//! Zero heap allocations per command once warm: a counting global allocator wraps the
//! system one, and a realistic mix (rests, crosses, cancels, amends, IOC, market, stops,
//! GTD expiry) runs after warm-up with the allocation counter checked around it.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use oms_core::prelude::*;

struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
#[allow(unsafe_code, reason = "a global allocator is an unsafe trait; this one only counts and forwards")]
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Builds the `n`-th command of a deterministic mix at time `now`, without allocating.
/// Every order that can rest is amended or cancelled within the cycle of 12, so the books
/// reach a steady size instead of filling up.
fn mixed(n: u64, now: u64, cids: &[ClientOrderId]) -> Action {
    // n, n-4 and n-8 share an owner, so amends and cancels hit their own orders.
    let account = ACCOUNTS[(n % 4) as usize];
    // Each account alternates sides from cycle to cycle, so no balance runs dry.
    let side = if (n + n / 4).is_multiple_of(2) { Side::Buy } else { Side::Sell };
    let offset = (n * 7 % 9) as i64;
    let price = if side == Side::Buy { 95 + offset } else { 97 + offset };
    let cid = cids[(n % cids.len() as u64) as usize];
    let base = NewOrder {
        account,
        client_order_id: cid,
        instrument: BTC_USD,
        side,
        order_type: OrderType::Limit,
        price: Some(Price(price)),
        stop_price: None,
        quantity: Quantity(1 + (n % 3) as i64),
        time_in_force: TimeInForce::Gtc,
        expire_time: None,
        post_only: false,
        reduce_only: false,
        self_trade_prevention: SelfTradePrevention::ExpireMaker,
    };
    match n % 12 {
        0..=3 => Action::NewOrder(base),
        4 => Action::NewOrder(NewOrder { time_in_force: TimeInForce::Ioc, ..base }),
        5 => Action::NewOrder(NewOrder {
            order_type: OrderType::Market,
            price: None,
            time_in_force: TimeInForce::Ioc,
            ..base
        }),
        6 => Action::NewOrder(NewOrder {
            order_type: OrderType::StopLimit,
            stop_price: Some(Price(price)),
            time_in_force: TimeInForce::Gtd,
            expire_time: Some(Timestamp(now + 50)),
            ..base
        }),
        7 => Action::AmendOrder(AmendOrder {
            account,
            order_id: OrderId(n - 4),
            price: Some(Price(price)),
            quantity: None,
        }),
        _ => Action::CancelOrder(CancelOrder { account, order_id: OrderId(n - 8) }),
    }
}

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
