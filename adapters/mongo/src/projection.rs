//! What the persister keeps in memory: working orders and every position, folded from the
//! event stream in sequence order, plus the documents changed since the last bulk write.
//!
//! Pure (no I/O), so replaying the journal from the first record rebuilds exactly the state
//! the live stream had, and the documents it produces are absolute (whole orders, whole
//! positions), which is what makes a replayed batch harmless: upserting the same document
//! twice leaves the same state.

use oms_core::model::{AccountId, Event, InstrumentId, OrderId, Side, Timestamp, Trade};
use oms_core::risk::Position;
use oms_http::catalog::Catalog;
use oms_http::history::{ExecutionRecord, OrderRecord};
use rustc_hash::{FxHashMap, FxHashSet};

/// Documents changed since the last write.
#[derive(Debug, Default)]
pub struct Pending {
    /// Orders, latest state.
    pub orders: FxHashMap<OrderId, OrderRecord>,
    /// Fills, one per trade side.
    pub executions: Vec<(AccountId, ExecutionRecord)>,
    /// Positions touched.
    pub positions: FxHashSet<(AccountId, InstrumentId)>,
    /// Accounts seen.
    pub accounts: FxHashSet<AccountId>,
}

impl Pending {
    /// Documents waiting (the batch size the writer compares with its maximum).
    pub fn documents(&self) -> usize {
        self.orders.len() + self.executions.len() + self.positions.len() + self.accounts.len()
    }
}

/// The persister's read model.
#[derive(Debug, Default)]
pub struct Projection {
    working: FxHashMap<OrderId, OrderRecord>,
    positions: FxHashMap<(AccountId, InstrumentId), (Position, u64)>,
    latest_time: Timestamp,
    /// Changed documents not yet written.
    pub pending: Pending,
}

impl Projection {
    /// Folds one event in; with `record` its documents are queued for writing (a replay
    /// below the checkpoint folds without recording).
    pub fn apply(&mut self, catalog: &Catalog, sequence: u64, event: &Event, record: bool) {
        match event {
            Event::OrderAccepted(order) => {
                self.latest_time = self.latest_time.max(order.created);
                let r = OrderRecord { order: *order, reject_reason: None, filled_value: 0, updated: order.created };
                self.working.insert(order.id, r);
                self.touch(order.id, record);
            }
            Event::Trade(trade) => self.apply_trade(catalog, sequence, trade, record),
            Event::OrderTriggered(u) | Event::OrderExpired(u) => {
                let now = self.latest_time;
                self.update(u.order_id, now, record, |r| {
                    r.order.status = u.status;
                    r.order.filled = u.filled;
                    r.order.leaves = u.leaves;
                });
            }
            Event::OrderCancelled(c) => {
                let now = self.latest_time;
                self.update(c.order.order_id, now, record, |r| {
                    r.order.status = c.order.status;
                    r.order.leaves = oms_core::model::Quantity::ZERO;
                });
            }
            Event::OrderAmended(a) => {
                let now = self.latest_time;
                self.update(a.order.order_id, now, record, |r| {
                    r.order.status = a.order.status;
                    r.order.price = a.price;
                    r.order.quantity = a.quantity;
                    r.order.leaves = a.order.leaves;
                });
            }
            Event::BalanceChanged(b) => {
                if record {
                    self.pending.accounts.insert(b.account);
                }
            }
            Event::Rejected(_) | Event::AdminApplied(_) => {}
        }
    }

    fn apply_trade(&mut self, catalog: &Catalog, sequence: u64, trade: &Trade, record: bool) {
        self.latest_time = self.latest_time.max(trade.timestamp);
        let (buyer, seller) = match trade.taker_side {
            Side::Buy => (trade.taker.account, trade.maker.account),
            Side::Sell => (trade.maker.account, trade.taker.account),
        };
        // The engine's own arithmetic: base units and notional from the instrument, booked
        // with `Position::apply_trade` (buyer +base, seller −base).
        if let Some(listing) = catalog.listing(trade.instrument) {
            let instrument = &listing.instrument;
            let base = instrument.base_units(trade.quantity).unwrap_or(0);
            let cost = instrument.notional(trade.price, trade.quantity).unwrap_or(0);
            for (account, signed) in [(buyer, base), (seller, -base)] {
                let entry = self.positions.entry((account, trade.instrument)).or_default();
                entry.0.apply_trade(signed, cost);
                entry.1 = sequence;
                if record {
                    self.pending.positions.insert((account, trade.instrument));
                }
            }
        }
        for (fill, maker) in [(trade.maker, true), (trade.taker, false)] {
            self.update(fill.order_id, trade.timestamp, record, |r| {
                r.order.status = fill.status;
                r.order.filled = fill.filled;
                r.order.leaves = fill.leaves;
                r.filled_value += i128::from(trade.price.0) * i128::from(trade.quantity.0);
            });
            if record {
                self.pending.executions.push((fill.account, ExecutionRecord::of_trade(trade, maker, sequence)));
            }
        }
    }

    /// Changes a working order; a finished one leaves the working set (its final document
    /// is what gets written).
    fn update(&mut self, id: OrderId, time: Timestamp, record: bool, change: impl FnOnce(&mut OrderRecord)) {
        let Some(r) = self.working.get_mut(&id) else { return };
        change(r);
        r.updated = r.updated.max(time);
        let finished = r.order.status.is_final();
        self.touch(id, record);
        if finished {
            self.working.remove(&id);
        }
    }

    fn touch(&mut self, id: OrderId, record: bool) {
        if record && let Some(r) = self.working.get(&id) {
            self.pending.accounts.insert(r.order.account);
            self.pending.orders.insert(id, r.clone());
        }
    }

    /// A position and the sequence of its last trade.
    pub fn position(&self, account: AccountId, instrument: InstrumentId) -> Option<&(Position, u64)> {
        self.positions.get(&(account, instrument))
    }

    /// Working orders held.
    pub fn working_orders(&self) -> usize {
        self.working.len()
    }
}

#[cfg(test)]
mod tests {
    use oms_core::model::{
        ClientOrderId, Fill, Order, OrderStatus, OrderType, Price, Quantity, SelfTradePrevention, TimeInForce, TradeId,
    };

    use super::*;

    fn order(id: u64, account: u32, side: Side) -> Order {
        Order {
            id: OrderId(id),
            account: AccountId(account),
            client_order_id: ClientOrderId::new("c").expect("valid"),
            instrument: InstrumentId(0),
            side,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            self_trade_prevention: SelfTradePrevention::None,
            post_only: false,
            reduce_only: false,
            status: OrderStatus::Accepted,
            price: Price(100),
            stop_price: None,
            quantity: Quantity(5),
            filled: Quantity::ZERO,
            leaves: Quantity(5),
            expire_time: None,
            created: Timestamp(1),
        }
    }

    fn trade(quantity: i64, maker_status: OrderStatus) -> Event {
        let fill = |order_id, account, status, filled: i64, leaves: i64| Fill {
            order_id: OrderId(order_id),
            account: AccountId(account),
            fee: 0,
            status,
            filled: Quantity(filled),
            leaves: Quantity(leaves),
        };
        Event::Trade(Trade {
            trade_id: TradeId(1),
            instrument: InstrumentId(0),
            price: Price(100),
            quantity: Quantity(quantity),
            taker_side: Side::Buy,
            maker: fill(1, 1, maker_status, quantity, 5 - quantity),
            taker: fill(2, 2, OrderStatus::Filled, quantity, 0),
            timestamp: Timestamp(2),
        })
    }

    #[test]
    fn a_fill_updates_the_order_records_both_sides_and_finishes_the_taker() {
        let catalog = Catalog::default();
        let mut p = Projection::default();
        p.apply(&catalog, 1, &Event::OrderAccepted(order(1, 1, Side::Sell)), true);
        p.apply(&catalog, 2, &Event::OrderAccepted(order(2, 2, Side::Buy)), true);
        p.apply(&catalog, 2, &trade(3, OrderStatus::PartiallyFilled), true);
        assert_eq!(p.pending.executions.len(), 2, "maker and taker side");
        assert_eq!(p.pending.orders[&OrderId(1)].order.filled, Quantity(3));
        assert_eq!(p.pending.orders[&OrderId(2)].order.status, OrderStatus::Filled);
        assert_eq!(p.working_orders(), 1, "the filled taker left the working set");
    }

    #[test]
    fn folding_without_recording_changes_state_but_queues_nothing() {
        let catalog = Catalog::default();
        let mut p = Projection::default();
        p.apply(&catalog, 1, &Event::OrderAccepted(order(1, 1, Side::Sell)), false);
        assert_eq!(p.pending.documents(), 0);
        p.apply(&catalog, 2, &trade(5, OrderStatus::Filled), true);
        assert_eq!(p.pending.orders[&OrderId(1)].order.status, OrderStatus::Filled, "state from the silent fold");
        assert_eq!(p.working_orders(), 0);
    }
}
