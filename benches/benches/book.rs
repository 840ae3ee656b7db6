//! Book operation benches on `LevelBook` directly: add, cancel (by id), and the engine's
//! aggressive sweep of N levels. Targets: ≤ 100 ns median per add / cancel.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use oms_benches::{ACCOUNTS, BTC_USD, Bench, in_chunks};
use oms_core::book::{LevelBook, PriceTimeBook};
use oms_core::prelude::*;

/// Orders per timed chunk; the book is reset outside the timing between chunks.
const CHUNK: u64 = 8_192;
/// Resting orders already in the book while measuring (a realistic, warm book).
const RESTING: i64 = 10_000;

fn order(id: u64, side: Side, price: i64) -> Order {
    Order {
        id: OrderId(id),
        account: AccountId(1),
        client_order_id: ClientOrderId::new("bench").expect("valid"),
        instrument: BTC_USD,
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        self_trade_prevention: SelfTradePrevention::None,
        post_only: false,
        reduce_only: false,
        status: OrderStatus::Accepted,
        price: Price(price),
        stop_price: None,
        quantity: Quantity(10),
        filled: Quantity::ZERO,
        leaves: Quantity(10),
        expire_time: None,
        created: Timestamp(id),
    }
}

/// A book with `RESTING` bids over 500 levels below 100 000.
fn warm_book() -> LevelBook {
    let mut book = LevelBook::with_capacity(RESTING as usize + CHUNK as usize);
    for i in 0..RESTING {
        let o = order(i as u64, Side::Buy, 100_000 - i % 500);
        book.insert(Side::Buy, o.price, o).expect("room");
    }
    book
}

/// Price for the `i`-th measured order: spread over the top 64 levels, like real flow.
fn price_of(i: u64) -> i64 {
    100_000 - (i * 7 % 64) as i64
}

fn add_and_cancel(c: &mut Criterion) {
    let mut group = c.benchmark_group("book");
    group.bench_function("add", |b| {
        let mut book = warm_book();
        let mut next_id = 1_000_000u64;
        b.iter_custom(|iters| {
            in_chunks(iters, CHUNK, |n| {
                let first = next_id;
                let start = Instant::now();
                for i in 0..n {
                    let o = order(first + i, Side::Buy, price_of(i));
                    black_box(book.insert(Side::Buy, o.price, o)).expect("room");
                }
                let timed = start.elapsed();
                for i in 0..n {
                    book.remove(OrderId(first + i));
                }
                next_id += n;
                timed
            })
        });
    });
    group.bench_function("cancel", |b| {
        let mut book = warm_book();
        let mut next_id = 1_000_000u64;
        b.iter_custom(|iters| {
            in_chunks(iters, CHUNK, |n| {
                let first = next_id;
                for i in 0..n {
                    let o = order(first + i, Side::Buy, price_of(i));
                    book.insert(Side::Buy, o.price, o).expect("room");
                }
                // Cancel in a scattered order, not insertion order.
                let start = Instant::now();
                for i in 0..n {
                    black_box(book.remove(OrderId(first + (i * 4_099) % n)));
                }
                let timed = start.elapsed();
                next_id += n;
                timed
            })
        });
    });
    group.finish();
}

/// An aggressive buy through the engine that sweeps `levels` ask levels of one order each
/// (risk check, matching, settlement and events included).
fn sweep(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine_sweep");
    for levels in [1i64, 10, 100] {
        group.bench_with_input(BenchmarkId::from_parameter(levels), &levels, |b, &levels| {
            let mut bench = Bench::new(65_536);
            bench.seed_book(200, 1);
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                for i in 0..iters {
                    for level in 0..levels {
                        let ask =
                            bench.limit(i as usize + level as usize, ACCOUNTS[2], Side::Sell, 5_000_000 + level, 1);
                        bench.send(Action::NewOrder(ask));
                    }
                    let taker = bench.limit(i as usize, ACCOUNTS[3], Side::Buy, 5_000_000 + levels, levels);
                    let start = Instant::now();
                    bench.send(Action::NewOrder(black_box(taker)));
                    timed += start.elapsed();
                }
                timed
            });
        });
    }
    group.finish();
}

criterion_group!(benches, add_and_cancel, sweep);
criterion_main!(benches);
