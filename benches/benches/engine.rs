//! Engine benches: a new order through risk + matching (resting and crossing), cancel,
//! amend, the pre-trade risk check alone, and throughput of a mixed workload.
//! Target: ≤ 1 µs median per new order through risk + match.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oms_benches::{ACCOUNTS, BTC_USD, Bench, in_chunks};
use oms_core::prelude::*;
use oms_core::risk::{NewOrderRisk, check_new_order};

const CHUNK: u64 = 4_096;

/// Resting bid prices spread over 64 levels below the 500 000.00 asks of the seeded book.
fn bid_price(i: u64) -> i64 {
    4_999_900 - (i * 7 % 64) as i64
}

fn new_order(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    group.bench_function("new_order_resting", |b| {
        let mut bench = Bench::new(65_536);
        bench.seed_book(100, 10);
        b.iter_custom(|iters| {
            in_chunks(iters, CHUNK, |n| {
                let first = bench.next_order_id();
                let start = Instant::now();
                for i in 0..n {
                    let order = bench.limit(i as usize, ACCOUNTS[2], Side::Buy, bid_price(i), 5);
                    bench.send(Action::NewOrder(black_box(order)));
                }
                let timed = start.elapsed();
                for i in 0..n {
                    bench.send(Action::CancelOrder(CancelOrder {
                        account: ACCOUNTS[2],
                        order_id: OrderId(first.0 + i),
                    }));
                }
                timed
            })
        });
    });
    group.bench_function("new_order_crossing", |b| {
        let mut bench = Bench::new(65_536);
        bench.seed_book(100, 10);
        b.iter_custom(|iters| {
            in_chunks(iters, CHUNK, |n| {
                for i in 0..n {
                    let maker = bench.limit(i as usize, ACCOUNTS[2], Side::Sell, 5_000_000, 5);
                    bench.send(Action::NewOrder(maker));
                }
                let start = Instant::now();
                for i in 0..n {
                    let taker = bench.limit(i as usize + 10_000, ACCOUNTS[3], Side::Buy, 5_000_000, 5);
                    bench.send(Action::NewOrder(black_box(taker)));
                }
                start.elapsed()
            })
        });
    });
    group.bench_function("cancel", |b| {
        let mut bench = Bench::new(65_536);
        bench.seed_book(100, 10);
        b.iter_custom(|iters| {
            in_chunks(iters, CHUNK, |n| {
                let first = bench.next_order_id();
                for i in 0..n {
                    let order = bench.limit(i as usize, ACCOUNTS[2], Side::Buy, bid_price(i), 5);
                    bench.send(Action::NewOrder(order));
                }
                let start = Instant::now();
                for i in 0..n {
                    let id = OrderId(first.0 + (i * 1_031) % n);
                    bench.send(Action::CancelOrder(CancelOrder { account: ACCOUNTS[2], order_id: black_box(id) }));
                }
                start.elapsed()
            })
        });
    });
    group.bench_function("amend_keep_priority", |b| {
        let mut bench = Bench::new(65_536);
        bench.seed_book(100, 10);
        let id = bench.next_order_id();
        bench.send(Action::NewOrder(bench.limit(0, ACCOUNTS[2], Side::Buy, 4_999_950, 1_000_000)));
        let mut quantity = 1_000_000;
        b.iter(|| {
            quantity -= 1;
            bench.send(Action::AmendOrder(AmendOrder {
                account: ACCOUNTS[2],
                order_id: id,
                price: None,
                quantity: Some(Quantity(black_box(quantity))),
            }));
        });
    });
    group.finish();
}

fn risk_check(c: &mut Criterion) {
    let bench = Bench::new(1_024);
    let account = bench.engine.account(ACCOUNTS[0]).expect("funded");
    let instrument = bench.engine.instrument(BTC_USD).expect("defined");
    let order = NewOrderRisk {
        side: Side::Buy,
        price: Price(4_999_000),
        quantity: Quantity(25),
        reduce_only: false,
        now: Timestamp(1),
        global_kill: false,
    };
    c.bench_function("risk/check_new_order", |b| {
        b.iter(|| black_box(check_new_order(black_box(account), instrument, black_box(&order))));
    });
}

/// Throughput of a mix: 60 % resting limits, 20 % crossing, 15 % cancels, 5 % amends.
fn mixed(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_mixed");
    const BATCH: u64 = 10_000;
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("10k_commands", |b| {
        let mut bench = Bench::new(65_536);
        bench.seed_book(100, 10);
        let mut n = 0u64;
        b.iter(|| {
            for _ in 0..BATCH {
                n += 1;
                let account = ACCOUNTS[(n % 4) as usize];
                let action = match n % 20 {
                    0..=11 => Action::NewOrder(bench.limit(n as usize, account, Side::Buy, bid_price(n), 3)),
                    12..=15 => {
                        let side = if n.is_multiple_of(2) { Side::Buy } else { Side::Sell };
                        let price = if side == Side::Buy { 5_000_100 } else { 4_999_900 };
                        Action::NewOrder(NewOrder {
                            time_in_force: TimeInForce::Ioc,
                            ..bench.limit(n as usize, account, side, price, 2)
                        })
                    }
                    16..=18 => Action::CancelOrder(CancelOrder { account, order_id: OrderId(bench.sequence - 7) }),
                    _ => Action::AmendOrder(AmendOrder {
                        account,
                        order_id: OrderId(bench.sequence - 11),
                        price: Some(Price(bid_price(n + 1))),
                        quantity: None,
                    }),
                };
                bench.send(action);
            }
            // Keep the book at a steady size: cancel what the mix left resting.
            if bench.engine.working_orders() > 30_000 {
                for account in ACCOUNTS {
                    bench.send(Action::MassCancel(MassCancel { account, instrument: None }));
                }
                bench.seed_book(100, 10);
            }
        });
    });
    group.finish();
}

criterion_group!(benches, new_order, risk_check, mixed);
criterion_main!(benches);
