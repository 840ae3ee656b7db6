//! Commands: everything that can change engine state. `Copy` and fixed-size so they can
//! live in pre-allocated ring slots and be journaled byte for byte.

use super::asset::AssetSpec;
use super::fixed::{Price, Quantity};
use super::ids::{AccountId, AssetId, ClientOrderId, InstrumentId, OrderId, Sequence, Timestamp};
use super::instrument::{InstrumentSpec, InstrumentStatus};
use super::order::{OrderType, SelfTradePrevention, Side, TimeInForce};
use super::risk_limits::RiskLimits;

/// A sequenced command: the sequencer stamps `sequence` and `timestamp`; the engine reads
/// no other clock, so replaying the same commands gives the same events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command {
    /// Position in the global order; must increase strictly.
    pub sequence: Sequence,
    /// Time of sequencing; the engine treats time as never going backwards.
    pub timestamp: Timestamp,
    /// Where the command came from; a position in an upstream log is applied at most once.
    pub origin: Origin,
    /// What to do.
    pub action: Action,
}

/// Where a command came from.
///
/// Commands that arrive through an at-least-once log (a Kafka partition) carry their
/// position in it. The engine remembers the highest offset applied per stream, as part of
/// its state (journaled, snapshotted, hashed), and refuses a delivery at or below it with
/// [`crate::model::RejectReason::DuplicateDelivery`], so a redelivery after a crash or a
/// rebalance changes nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Straight from a client session (HTTP, TCP, embedding code): no redelivery.
    #[default]
    Direct,
    /// Offset `offset` of upstream stream `stream` (for Kafka: a partition of `orders`).
    Stream {
        /// Stream id, e.g. the partition number.
        stream: u32,
        /// Position in the stream; increases along the stream, gaps allowed.
        offset: u64,
    },
}

/// The command payloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Place an order.
    NewOrder(NewOrder),
    /// Cancel one of the account's orders.
    CancelOrder(CancelOrder),
    /// Change price and/or quantity of a resting order.
    AmendOrder(AmendOrder),
    /// Cancel all of an account's orders, optionally on one instrument.
    MassCancel(MassCancel),
    /// Define an asset.
    DefineAsset(AssetSpec),
    /// Add an instrument.
    AddInstrument(InstrumentSpec),
    /// Halt or resume an instrument.
    SetInstrumentStatus(SetInstrumentStatus),
    /// Credit an account (creates the account if new).
    Deposit(BalanceTransfer),
    /// Debit an account's available balance.
    Withdraw(BalanceTransfer),
    /// Move funds out of this shard's sub-ledger towards another shard's (withdraw
    /// semantics; scale-out, docs/adr/0003-scale-out.md).
    TransferOut(TransferOut),
    /// Credit funds a [`Action::TransferOut`] took from another shard's sub-ledger (deposit
    /// semantics), at most once per source position.
    TransferIn(TransferIn),
    /// Replace an account's risk limits (creates the account if new).
    SetRiskLimits(SetRiskLimits),
    /// Engage or release a kill switch.
    KillSwitch(KillSwitch),
    /// Only advances time (GTD expiry); sent by the sequencer when idle.
    Heartbeat,
}

impl Action {
    /// The account the command acts for, when it names one.
    pub fn account(&self) -> Option<AccountId> {
        match self {
            Action::NewOrder(o) => Some(o.account),
            Action::CancelOrder(c) => Some(c.account),
            Action::AmendOrder(a) => Some(a.account),
            Action::MassCancel(m) => Some(m.account),
            Action::Deposit(t) | Action::Withdraw(t) => Some(t.account),
            Action::TransferOut(t) => Some(t.account),
            Action::TransferIn(t) => Some(t.account),
            Action::SetRiskLimits(s) => Some(s.account),
            Action::KillSwitch(KillSwitch { scope: KillSwitchScope::Account(account), .. }) => Some(*account),
            Action::KillSwitch(_)
            | Action::DefineAsset(_)
            | Action::AddInstrument(_)
            | Action::SetInstrumentStatus(_)
            | Action::Heartbeat => None,
        }
    }
}

/// Place an order. Prices and quantities are already in ticks and lots (converted exactly
/// at the edge by [`crate::model::Instrument`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewOrder {
    /// Owner.
    pub account: AccountId,
    /// Owner's id; must be unique among the account's live orders.
    pub client_order_id: ClientOrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Buy or sell.
    pub side: Side,
    /// Limit, market, stop, stop-limit.
    pub order_type: OrderType,
    /// Limit price (limit, stop-limit); optional protection price (market, stop).
    pub price: Option<Price>,
    /// Trigger price (stop, stop-limit).
    pub stop_price: Option<Price>,
    /// Quantity in lots.
    pub quantity: Quantity,
    /// Lifetime.
    pub time_in_force: TimeInForce,
    /// Expiry for GTD.
    pub expire_time: Option<Timestamp>,
    /// Reject instead of taking liquidity.
    pub post_only: bool,
    /// Only reduce the position.
    pub reduce_only: bool,
    /// Self-trade prevention when this order takes.
    pub self_trade_prevention: SelfTradePrevention,
}

impl NewOrder {
    /// The order this request becomes as `id`, created at `created`, before anything has
    /// happened to it: status `New`, nothing filled. `price` is the resolved limit (for a
    /// market order, the protection price the engine derived).
    pub fn to_order(&self, id: OrderId, price: Price, created: Timestamp) -> super::order::Order {
        super::order::Order {
            id,
            account: self.account,
            client_order_id: self.client_order_id,
            instrument: self.instrument,
            side: self.side,
            order_type: self.order_type,
            time_in_force: self.time_in_force,
            self_trade_prevention: self.self_trade_prevention,
            post_only: self.post_only,
            reduce_only: self.reduce_only,
            status: super::status::OrderStatus::New,
            price,
            stop_price: self.stop_price,
            quantity: self.quantity,
            filled: Quantity::ZERO,
            leaves: self.quantity,
            expire_time: self.expire_time,
            created,
        }
    }
}

/// Cancel an order of `account`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CancelOrder {
    /// Caller; must own the order.
    pub account: AccountId,
    /// Order to cancel.
    pub order_id: OrderId,
}

/// Amend a resting limit order. Quantity is the new *total* quantity (filled included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AmendOrder {
    /// Caller; must own the order.
    pub account: AccountId,
    /// Order to amend.
    pub order_id: OrderId,
    /// New limit price, if changing.
    pub price: Option<Price>,
    /// New total quantity, if changing; must exceed what is already filled.
    pub quantity: Option<Quantity>,
}

/// Cancel all working orders of `account` (on `instrument` only, when given).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MassCancel {
    /// Owner.
    pub account: AccountId,
    /// Restrict to one instrument.
    pub instrument: Option<InstrumentId>,
}

/// Halt or resume trading on an instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetInstrumentStatus {
    /// Instrument.
    pub instrument: InstrumentId,
    /// New status.
    pub status: InstrumentStatus,
}

/// Deposit or withdrawal of `amount` minor units of `asset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BalanceTransfer {
    /// Account.
    pub account: AccountId,
    /// Asset.
    pub asset: AssetId,
    /// Minor units, positive.
    pub amount: i64,
}

/// First stream id of the transfer streams: a [`TransferIn`] from shard `s` is
/// deduplicated on stream `TRANSFER_STREAM_BASE + s`, apart from the stream ids of the
/// engine's own input (the `orders` partitions, which are below it).
pub const TRANSFER_STREAM_BASE: u32 = 1 << 31;

/// Funds of one account leaving this shard's sub-ledger for the shard that owns the book of
/// `to`. When applied (the account's available balance covers `amount`), the shard's
/// publisher sends the matching [`TransferIn`] to that shard; the journal keeps the route,
/// so a new owner can send it again after a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferOut {
    /// Account.
    pub account: AccountId,
    /// Asset.
    pub asset: AssetId,
    /// Minor units, positive.
    pub amount: i64,
    /// An instrument whose book the destination shard owns: routing by symbol reaches it.
    pub to: InstrumentId,
}

/// Funds arriving from another shard's [`TransferOut`].
///
/// The engine applies a given `(from_shard, source_offset)` at most once: the pair is an
/// offset on stream [`TransferIn::stream`], checked like any command's origin, so the
/// source's republishing after a crash cannot credit twice. The source sends its transfers
/// in offset order and waits for each to be acknowledged, so a lower offset arriving later
/// really is a copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferIn {
    /// Account.
    pub account: AccountId,
    /// Asset.
    pub asset: AssetId,
    /// Minor units, positive.
    pub amount: i64,
    /// The shard the funds left (its `orders` partition).
    pub from_shard: u32,
    /// Position of the [`TransferOut`] in the source shard's input stream.
    pub source_offset: u64,
}

impl TransferOut {
    /// The withdrawal this transfer makes on its own shard.
    pub fn balance_transfer(&self) -> BalanceTransfer {
        BalanceTransfer { account: self.account, asset: self.asset, amount: self.amount }
    }
}

impl TransferIn {
    /// The deposit this transfer makes on its destination shard.
    pub fn balance_transfer(&self) -> BalanceTransfer {
        BalanceTransfer { account: self.account, asset: self.asset, amount: self.amount }
    }

    /// The stream its source position is deduplicated on (`None` when `from_shard` does
    /// not fit below `u32::MAX - TRANSFER_STREAM_BASE`).
    pub fn stream(&self) -> Option<u32> {
        TRANSFER_STREAM_BASE.checked_add(self.from_shard)
    }
}

/// Replace an account's limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetRiskLimits {
    /// Account.
    pub account: AccountId,
    /// New limits.
    pub limits: RiskLimits,
}

/// Who a kill switch applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KillSwitchScope {
    /// One account.
    Account(AccountId),
    /// Every account.
    Global,
}

/// Engage or release a kill switch. While engaged, new orders and amends are rejected and
/// cancels pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KillSwitch {
    /// Account or global.
    pub scope: KillSwitchScope,
    /// Engage (`true`) or release.
    pub engaged: bool,
    /// On engage, also cancel every working order in scope.
    pub cancel_open_orders: bool,
}
