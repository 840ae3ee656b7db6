//! Order and execution history, projected from the engine's durable event stream.
//!
//! The engine keeps only working orders; finished orders and fills live here (bounded;
//! older history is the MongoDB persister's job). Updated by the event pump in sequence
//! order, so a handler that waited for "projected ≥ my sequence" sees its own effects.

use std::collections::VecDeque;

use oms_core::model::{
    AccountId, Event, InstrumentId, Order, OrderId, Price, Quantity, RejectReason, Side, Timestamp, Trade, TradeId,
};
use rustc_hash::FxHashMap;

/// Orders kept in memory before the oldest finished ones are dropped.
pub const HISTORY_ORDERS_MAX: usize = 1_000_000;
/// Executions kept per account.
pub const EXECUTIONS_PER_ACCOUNT_MAX: usize = 100_000;

/// An order as the API reports it.
#[derive(Clone, Debug)]
pub struct OrderRecord {
    /// The order as accepted, with price/quantity/status/fills kept current.
    pub order: Order,
    /// Refusal, for rejected orders.
    pub reject_reason: Option<RejectReason>,
    /// Σ price × quantity of fills (ticks × lots), for the average price.
    pub filled_value: i128,
    /// Last change.
    pub updated: Timestamp,
}

/// One fill from one account's point of view.
#[derive(Clone, Copy, Debug)]
pub struct ExecutionRecord {
    /// Trade.
    pub trade_id: TradeId,
    /// Own order.
    pub order_id: OrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Own side.
    pub side: Side,
    /// Price.
    pub price: Price,
    /// Quantity.
    pub quantity: Quantity,
    /// Fee in the received asset's minor units.
    pub fee: i64,
    /// Maker (resting) or taker.
    pub maker: bool,
    /// When.
    pub time: Timestamp,
    /// Command that caused it.
    pub sequence: u64,
}

impl ExecutionRecord {
    /// The maker's (`maker`) or the taker's side of `trade`, decided by command `sequence`.
    pub fn of_trade(trade: &Trade, maker: bool, sequence: u64) -> Self {
        let (fill, side) =
            if maker { (trade.maker, trade.taker_side.opposite()) } else { (trade.taker, trade.taker_side) };
        Self {
            trade_id: trade.trade_id,
            order_id: fill.order_id,
            instrument: trade.instrument,
            side,
            price: trade.price,
            quantity: trade.quantity,
            fee: fill.fee,
            maker,
            time: trade.timestamp,
            sequence,
        }
    }
}

/// The projection.
#[derive(Debug)]
pub struct History {
    orders: FxHashMap<OrderId, OrderRecord>,
    by_account: FxHashMap<AccountId, VecDeque<OrderId>>,
    arrival: VecDeque<OrderId>,
    executions: FxHashMap<AccountId, VecDeque<ExecutionRecord>>,
    latest_time: Timestamp,
    orders_max: usize,
    executions_per_account_max: usize,
    /// Accounts whose older orders were dropped (their history continues in the archive).
    orders_evicted: rustc_hash::FxHashSet<AccountId>,
    /// Accounts whose older fills were dropped.
    executions_evicted: rustc_hash::FxHashSet<AccountId>,
}

impl Default for History {
    fn default() -> Self {
        Self::with_bounds(HISTORY_ORDERS_MAX, EXECUTIONS_PER_ACCOUNT_MAX)
    }
}

impl History {
    /// An empty projection keeping at most `orders_max` orders (working ones always) and
    /// `executions_per_account_max` fills per account.
    pub fn with_bounds(orders_max: usize, executions_per_account_max: usize) -> Self {
        Self {
            orders: FxHashMap::default(),
            by_account: FxHashMap::default(),
            arrival: VecDeque::new(),
            executions: FxHashMap::default(),
            latest_time: Timestamp::default(),
            orders_max: orders_max.max(1),
            executions_per_account_max: executions_per_account_max.max(1),
            orders_evicted: rustc_hash::FxHashSet::default(),
            executions_evicted: rustc_hash::FxHashSet::default(),
        }
    }

    /// Whether some of `account`'s orders were dropped from memory.
    pub fn orders_evicted(&self, account: AccountId) -> bool {
        self.orders_evicted.contains(&account)
    }

    /// Whether some of `account`'s fills were dropped from memory.
    pub fn executions_evicted(&self, account: AccountId) -> bool {
        self.executions_evicted.contains(&account)
    }

    /// Folds one event in.
    pub fn apply(&mut self, sequence: u64, event: &Event) {
        match event {
            Event::OrderAccepted(order) => {
                self.latest_time = self.latest_time.max(order.created);
                self.insert(OrderRecord {
                    order: *order,
                    reject_reason: None,
                    filled_value: 0,
                    updated: order.created,
                });
            }
            Event::Trade(trade) => self.apply_trade(sequence, trade),
            Event::OrderTriggered(u) | Event::OrderExpired(u) => {
                let now = self.latest_time;
                self.update(u.order_id, now, |o| {
                    o.status = u.status;
                    o.filled = u.filled;
                    o.leaves = u.leaves;
                });
            }
            Event::OrderCancelled(c) => {
                let now = self.latest_time;
                self.update(c.order.order_id, now, |o| {
                    o.status = c.order.status;
                    o.leaves = Quantity::ZERO;
                });
            }
            Event::OrderAmended(a) => {
                let now = self.latest_time;
                self.update(a.order.order_id, now, |o| {
                    o.status = a.order.status;
                    o.price = a.price;
                    o.quantity = a.quantity;
                    o.leaves = a.order.leaves;
                });
            }
            Event::Rejected(_) | Event::BalanceChanged(_) | Event::AdminApplied(_) => {}
        }
    }

    /// Stores an order's latest state as another process folded it (the ingress role,
    /// from `executions`): replaces what is known of the order, or adds it.
    pub fn upsert(&mut self, record: OrderRecord) {
        self.latest_time = self.latest_time.max(record.updated);
        self.insert(record);
    }

    /// Adds one fill of `account` as another process folded it (newest last).
    pub fn push_execution(&mut self, account: AccountId, record: ExecutionRecord) {
        let list = self.executions.entry(account).or_default();
        if list.len() >= self.executions_per_account_max {
            list.pop_front();
            self.executions_evicted.insert(account);
        }
        list.push_back(record);
    }

    fn apply_trade(&mut self, sequence: u64, trade: &Trade) {
        self.latest_time = self.latest_time.max(trade.timestamp);
        for (fill, maker) in [(trade.maker, true), (trade.taker, false)] {
            self.update(fill.order_id, trade.timestamp, |o| {
                o.status = fill.status;
                o.filled = fill.filled;
                o.leaves = fill.leaves;
            });
            if let Some(record) = self.orders.get_mut(&fill.order_id) {
                record.filled_value += i128::from(trade.price.0) * i128::from(trade.quantity.0);
            }
            self.push_execution(fill.account, ExecutionRecord::of_trade(trade, maker, sequence));
        }
    }

    /// Records an order the engine refused (the handler knows its details).
    pub fn insert_rejected(&mut self, order: Order, reason: RejectReason) {
        self.insert(OrderRecord { order, reject_reason: Some(reason), filled_value: 0, updated: order.created });
    }

    fn insert(&mut self, record: OrderRecord) {
        let id = record.order.id;
        let account = record.order.account;
        if self.orders.insert(id, record).is_none() {
            self.by_account.entry(account).or_default().push_back(id);
            self.arrival.push_back(id);
        }
        self.evict();
    }

    /// Drops the oldest finished orders beyond the bound (working ones are never dropped).
    fn evict(&mut self) {
        let mut scanned = 0;
        while self.orders.len() > self.orders_max && scanned < self.arrival.len() {
            let Some(id) = self.arrival.pop_front() else { break };
            scanned += 1;
            match self.orders.get(&id) {
                Some(r) if r.order.status.is_final() => {
                    let account = r.order.account;
                    self.orders.remove(&id);
                    self.orders_evicted.insert(account);
                    if let Some(list) = self.by_account.get_mut(&account) {
                        list.retain(|o| *o != id);
                    }
                }
                Some(_) => self.arrival.push_back(id),
                None => {}
            }
        }
    }

    fn update(&mut self, id: OrderId, time: Timestamp, change: impl FnOnce(&mut Order)) {
        if let Some(record) = self.orders.get_mut(&id) {
            change(&mut record.order);
            record.updated = record.updated.max(time);
        }
    }

    /// An order by id.
    pub fn order(&self, id: OrderId) -> Option<&OrderRecord> {
        self.orders.get(&id)
    }

    /// An account's orders, newest first, filtered.
    pub fn orders_of(
        &self,
        account: AccountId,
        mut keep: impl FnMut(&OrderRecord) -> bool,
    ) -> impl Iterator<Item = &OrderRecord> {
        self.by_account
            .get(&account)
            .into_iter()
            .flat_map(|ids| ids.iter().rev())
            .filter_map(|id| self.orders.get(id))
            .filter(move |r| keep(r))
    }

    /// An account's fills, newest first.
    pub fn executions_of(&self, account: AccountId) -> impl Iterator<Item = &ExecutionRecord> {
        self.executions.get(&account).into_iter().flat_map(|l| l.iter().rev())
    }
}
