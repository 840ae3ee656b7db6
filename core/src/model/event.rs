//! Events: everything the engine decides. Emitted in order into an [`EventSink`]; the same
//! commands always give the same events (the replay and differential-test oracle).

use super::command::KillSwitchScope;
use super::fixed::{Price, Quantity};
use super::ids::{AccountId, AssetId, ClientOrderId, InstrumentId, OrderId, Sequence, Timestamp, TradeId};
use super::instrument::InstrumentStatus;
use super::order::{Order, Side};
use super::reason::{CancelReason, RejectReason};
use super::status::OrderStatus;

/// Receives events as the engine produces them. Implementations must not block; the
/// engine calls this on its hot path.
pub trait EventSink {
    /// Takes one event.
    fn emit(&mut self, event: &Event);
}

impl EventSink for Vec<Event> {
    fn emit(&mut self, event: &Event) {
        self.push(*event);
    }
}

/// Discards events while counting them (benches, replays that only need the state).
#[derive(Debug, Default)]
pub struct CountingSink {
    /// Events seen.
    pub events: u64,
    /// Trades seen.
    pub trades: u64,
}

impl EventSink for CountingSink {
    fn emit(&mut self, event: &Event) {
        self.events += 1;
        if matches!(event, Event::Trade(_)) {
            self.trades += 1;
        }
    }
}

/// An engine decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// An order passed validation and risk and is working.
    OrderAccepted(Order),
    /// A stop order's trigger fired.
    OrderTriggered(OrderUpdate),
    /// Two orders traded.
    Trade(Trade),
    /// An order's working quantity was cancelled.
    OrderCancelled(OrderCancelled),
    /// A GTD order reached its expiry.
    OrderExpired(OrderUpdate),
    /// A resting order's price and/or quantity changed.
    OrderAmended(OrderAmended),
    /// A command was refused; nothing changed.
    Rejected(Rejected),
    /// A balance changed by deposit or withdrawal.
    BalanceChanged(BalanceChanged),
    /// An administrative command took effect.
    AdminApplied(AdminApplied),
}

/// Snapshot of an order's progress after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderUpdate {
    /// Order.
    pub order_id: OrderId,
    /// Owner.
    pub account: AccountId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Status after the event.
    pub status: OrderStatus,
    /// Filled so far.
    pub filled: Quantity,
    /// Still working (0 once final).
    pub leaves: Quantity,
}

/// One side of a trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    /// Order.
    pub order_id: OrderId,
    /// Owner.
    pub account: AccountId,
    /// Fee charged, in minor units of the asset this side receives (buyers pay in base,
    /// sellers in quote).
    pub fee: i64,
    /// Status after the fill.
    pub status: OrderStatus,
    /// Filled so far, this fill included.
    pub filled: Quantity,
    /// Still working.
    pub leaves: Quantity,
}

/// A match between a resting maker and an incoming taker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade {
    /// Dense per-engine trade id.
    pub trade_id: TradeId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Price (always the maker's).
    pub price: Price,
    /// Quantity.
    pub quantity: Quantity,
    /// Side of the taker (the aggressor).
    pub taker_side: Side,
    /// The resting order.
    pub maker: Fill,
    /// The incoming order.
    pub taker: Fill,
    /// Time of the command that caused it.
    pub timestamp: Timestamp,
}

/// An order's working quantity was cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderCancelled {
    /// Order state after the cancel.
    pub order: OrderUpdate,
    /// Quantity that stopped working.
    pub cancelled: Quantity,
    /// Why.
    pub reason: CancelReason,
}

/// A resting order was amended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderAmended {
    /// Order state after the amend.
    pub order: OrderUpdate,
    /// New limit price.
    pub price: Price,
    /// New total quantity.
    pub quantity: Quantity,
    /// Whether it kept its place in the queue (same price, smaller quantity).
    pub priority_kept: bool,
}

/// A refused command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The command.
    pub sequence: Sequence,
    /// Account the command was for, when it names one.
    pub account: Option<AccountId>,
    /// The order the command was about (for new orders, the id it would have had).
    pub order_id: Option<OrderId>,
    /// Caller's id for a new order.
    pub client_order_id: Option<ClientOrderId>,
    /// Why.
    pub reason: RejectReason,
}

/// Balances of one account in one asset after a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BalanceChanged {
    /// Account.
    pub account: AccountId,
    /// Asset.
    pub asset: AssetId,
    /// Free to use.
    pub available: i64,
    /// Held for working orders.
    pub reserved: i64,
}

/// Administrative effects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminApplied {
    /// An asset was defined.
    AssetDefined(AssetId),
    /// An instrument was added.
    InstrumentAdded(InstrumentId),
    /// An instrument's status changed.
    InstrumentStatusSet(InstrumentId, InstrumentStatus),
    /// An account's risk limits were replaced.
    RiskLimitsSet(AccountId),
    /// A kill switch changed.
    KillSwitchSet(KillSwitchScope, bool),
}
