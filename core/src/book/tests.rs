//! `LevelBook` against `NaiveBook` on random insert / remove / update sequences, comparing
//! order queues and level aggregates (which the engine-level differential test does not
//! see, because the state hash walks orders, not levels).

use std::ops::ControlFlow;

use proptest::prelude::*;

use super::{LevelBook, LevelSummary, NaiveBook, PriceTimeBook};
use crate::model::{
    AccountId, ClientOrderId, InstrumentId, Order, OrderId, OrderStatus, OrderType, Price, Quantity,
    SelfTradePrevention, Side, TimeInForce, Timestamp,
};

#[derive(Clone, Debug)]
enum BookOp {
    Insert { buy: bool, price: i64, lots: i64 },
    Remove { pick: usize },
    Reduce { pick: usize, lots: i64 },
}

fn book_op() -> impl Strategy<Value = BookOp> {
    prop_oneof![
        3 => (any::<bool>(), 95i64..106, 1i64..20).prop_map(|(buy, price, lots)| BookOp::Insert { buy, price, lots }),
        2 => any::<usize>().prop_map(|pick| BookOp::Remove { pick }),
        1 => (any::<usize>(), 1i64..20).prop_map(|(pick, lots)| BookOp::Reduce { pick, lots }),
    ]
}

fn order(id: u64, side: Side, price: i64, lots: i64) -> Order {
    Order {
        id: OrderId(id),
        account: AccountId(1),
        client_order_id: ClientOrderId::new("x").expect("valid"),
        instrument: InstrumentId(0),
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        self_trade_prevention: SelfTradePrevention::None,
        post_only: false,
        reduce_only: false,
        status: OrderStatus::Accepted,
        price: Price(price),
        stop_price: None,
        quantity: Quantity(lots),
        filled: Quantity::ZERO,
        leaves: Quantity(lots),
        expire_time: None,
        created: Timestamp(id),
    }
}

fn snapshot(book: &impl PriceTimeBook) -> (Vec<(i64, u64, i64)>, Vec<LevelSummary>) {
    let mut orders = Vec::new();
    let mut levels = Vec::new();
    for side in [Side::Buy, Side::Sell] {
        book.walk(side, |price, o| {
            orders.push((price.0, o.id.0, o.leaves.0));
            ControlFlow::Continue(())
        });
        book.walk_levels(side, |level| {
            levels.push(level);
            ControlFlow::Continue(())
        });
    }
    (orders, levels)
}

proptest! {
    #[test]
    fn prop_level_book_matches_naive_book(ops in proptest::collection::vec(book_op(), 1..300)) {
        let mut fast = LevelBook::with_capacity(64);
        let mut naive = NaiveBook::with_capacity(64);
        let mut ids: Vec<OrderId> = Vec::new();
        for (n, op) in ops.iter().enumerate() {
            match *op {
                BookOp::Insert { buy, price, lots } => {
                    let side = if buy { Side::Buy } else { Side::Sell };
                    let o = order(n as u64, side, price, lots);
                    let (a, b) = (fast.insert(side, o.price, o), naive.insert(side, o.price, o));
                    prop_assert_eq!(a, b);
                    if a.is_ok() {
                        ids.push(o.id);
                    }
                }
                BookOp::Remove { pick } if !ids.is_empty() => {
                    let id = ids.swap_remove(pick % ids.len());
                    prop_assert_eq!(fast.remove(id), naive.remove(id));
                }
                BookOp::Reduce { pick, lots } if !ids.is_empty() => {
                    let id = ids[pick % ids.len()];
                    let shrink = |o: &mut Order| o.leaves = Quantity(lots.min(o.leaves.0));
                    prop_assert_eq!(fast.update(id, shrink), naive.update(id, shrink));
                }
                BookOp::Remove { .. } | BookOp::Reduce { .. } => {}
            }
            prop_assert_eq!(fast.len(), naive.len());
            prop_assert_eq!(snapshot(&fast), snapshot(&naive));
            for side in [Side::Buy, Side::Sell] {
                prop_assert_eq!(fast.best(side).map(|(p, o)| (p, o.id)), naive.best(side).map(|(p, o)| (p, o.id)));
            }
        }
    }
}

#[test]
fn full_book_refuses_and_frees_slots_on_remove() {
    let mut book = LevelBook::with_capacity(2);
    book.insert(Side::Buy, Price(10), order(1, Side::Buy, 10, 1)).expect("room");
    book.insert(Side::Buy, Price(10), order(2, Side::Buy, 10, 1)).expect("room");
    assert_eq!(book.insert(Side::Buy, Price(11), order(3, Side::Buy, 11, 1)), Err(super::BookFull));
    assert!(book.remove(OrderId(1)).is_some());
    book.insert(Side::Buy, Price(11), order(3, Side::Buy, 11, 1)).expect("slot reused");
    assert_eq!(book.best(Side::Buy).map(|(p, o)| (p, o.id)), Some((Price(11), OrderId(3))));
}
