//! Order events and fills on `executions` (key = order id).
//!
//! Every message names the command that caused it (`commandId`, `sequence`) and its place in
//! that command's messages (`eventIndex` of `eventCount`). The last one of every command is
//! a `commandResult`, so an ingress waiting for its command's decision knows when it has
//! everything — even for a mass cancel that cancelled nothing — although the messages of
//! one command land on different partitions (they are keyed by order id).

use serde::{Deserialize, Serialize};

use super::wire::{OrderTypeName, SideName, TimeInForceName};
use super::{MessageError, check_header, parse};

/// `type` values carried on `executions`.
pub(crate) const EXECUTION_TYPES: [&str; 8] = [
    "orderAccepted",
    "orderTriggered",
    "orderExpired",
    "orderCancelled",
    "orderAmended",
    "orderRejected",
    "fill",
    "commandResult",
];

/// Fields every `executions` message starts with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionHeader {
    /// Schema version.
    pub v: u32,
    /// The client command that caused this (`null` for engine-timed events such as a GTD
    /// expiry, which come from the sequencer's heartbeat).
    pub command_id: Option<String>,
    /// The engine sequence of that command (per engine shard).
    pub sequence: String,
    /// Partition of `orders` the command was read from (`null` for engine-timed events).
    /// With `ordersOffset` this names the command even when its decision is published
    /// again by a new owner after a crash, which no longer knows the `commandId`.
    #[serde(default)]
    pub orders_partition: Option<i32>,
    /// Offset of the command in that partition, as a decimal string.
    #[serde(default)]
    pub orders_offset: Option<String>,
    /// Position of this message among the command's `executions` messages, from 0.
    pub event_index: u32,
    /// How many `executions` messages the command produced (its `commandResult` included).
    pub event_count: u32,
}

/// A message on `executions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ExecutionMessage {
    /// An order passed validation and risk and is working.
    OrderAccepted(OrderAcceptedMessage),
    /// A stop order's trigger fired.
    OrderTriggered(OrderUpdateMessage),
    /// A GTD order expired.
    OrderExpired(OrderUpdateMessage),
    /// An order's working quantity was cancelled.
    OrderCancelled(OrderCancelledMessage),
    /// A resting order was amended.
    OrderAmended(OrderAmendedMessage),
    /// A command was refused; nothing changed.
    OrderRejected(OrderRejectedMessage),
    /// One side of a trade (a trade gives two, one per order).
    Fill(FillMessage),
    /// The engine's summary of the command; always the command's last message.
    CommandResult(CommandResultMessage),
}

impl ExecutionMessage {
    /// The header common to all types.
    pub fn header(&self) -> &ExecutionHeader {
        match self {
            ExecutionMessage::OrderAccepted(m) => &m.header,
            ExecutionMessage::OrderTriggered(m) | ExecutionMessage::OrderExpired(m) => &m.header,
            ExecutionMessage::OrderCancelled(m) => &m.header,
            ExecutionMessage::OrderAmended(m) => &m.header,
            ExecutionMessage::OrderRejected(m) => &m.header,
            ExecutionMessage::Fill(m) => &m.header,
            ExecutionMessage::CommandResult(m) => &m.header,
        }
    }

    pub(crate) fn header_mut(&mut self) -> &mut ExecutionHeader {
        match self {
            ExecutionMessage::OrderAccepted(m) => &mut m.header,
            ExecutionMessage::OrderTriggered(m) | ExecutionMessage::OrderExpired(m) => &mut m.header,
            ExecutionMessage::OrderCancelled(m) => &mut m.header,
            ExecutionMessage::OrderAmended(m) => &mut m.header,
            ExecutionMessage::OrderRejected(m) => &mut m.header,
            ExecutionMessage::Fill(m) => &mut m.header,
            ExecutionMessage::CommandResult(m) => &mut m.header,
        }
    }
}

/// `orderAccepted`: the order as it starts working.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderAcceptedMessage {
    /// Common fields.
    #[serde(flatten)]
    pub header: ExecutionHeader,
    /// Engine order id.
    pub order_id: String,
    /// Owner's id.
    pub client_order_id: String,
    /// Owner.
    pub account_id: String,
    /// Instrument.
    pub symbol: String,
    /// `buy` / `sell`.
    pub side: SideName,
    /// Order type.
    pub order_type: OrderTypeName,
    /// Time in force.
    pub time_in_force: TimeInForceName,
    /// Limit price (protection price for market-like orders).
    pub price: String,
    /// Trigger price of stops.
    pub stop_price: Option<String>,
    /// Total quantity.
    pub quantity: String,
    /// Filled so far (an order can fill as it is accepted: see the `fill`s that follow).
    pub filled_quantity: String,
    /// Still working.
    pub remaining_quantity: String,
    /// Status (`ACCEPTED`).
    pub status: String,
    /// Post-only.
    pub post_only: bool,
    /// Reduce-only.
    pub reduce_only: bool,
    /// GTD expiry.
    pub expire_time: Option<String>,
    /// Creation time (the command's sequencer time).
    pub created_at: String,
}

/// `orderTriggered` / `orderExpired`: an order's progress after the event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderUpdateMessage {
    /// Common fields.
    #[serde(flatten)]
    pub header: ExecutionHeader,
    /// Engine order id.
    pub order_id: String,
    /// Owner.
    pub account_id: String,
    /// Instrument.
    pub symbol: String,
    /// Status after the event.
    pub status: String,
    /// Filled so far.
    pub filled_quantity: String,
    /// Still working (0 once final).
    pub remaining_quantity: String,
}

/// `orderCancelled`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCancelledMessage {
    /// Common fields.
    #[serde(flatten)]
    pub header: ExecutionHeader,
    /// Engine order id.
    pub order_id: String,
    /// Owner.
    pub account_id: String,
    /// Instrument.
    pub symbol: String,
    /// Status after the cancel.
    pub status: String,
    /// Filled before the cancel.
    pub filled_quantity: String,
    /// Still working (0).
    pub remaining_quantity: String,
    /// Quantity that stopped working.
    pub cancelled_quantity: String,
    /// Machine code of the reason (`requested`, `mass_cancel`, `kill_switch`, ...).
    pub reason: String,
}

/// `orderAmended`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderAmendedMessage {
    /// Common fields.
    #[serde(flatten)]
    pub header: ExecutionHeader,
    /// Engine order id.
    pub order_id: String,
    /// Owner.
    pub account_id: String,
    /// Instrument.
    pub symbol: String,
    /// Status after the amend.
    pub status: String,
    /// Filled so far.
    pub filled_quantity: String,
    /// Still working.
    pub remaining_quantity: String,
    /// New limit price.
    pub price: String,
    /// New total quantity.
    pub quantity: String,
    /// Whether the order kept its queue position.
    pub priority_kept: bool,
}

/// `orderRejected`: a refused command (also published on `risk-events`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRejectedMessage {
    /// Common fields.
    #[serde(flatten)]
    pub header: ExecutionHeader,
    /// The order concerned (for a new order, the id it would have had).
    pub order_id: Option<String>,
    /// Owner's id of a refused new order.
    pub client_order_id: Option<String>,
    /// Account the command was for.
    pub account_id: Option<String>,
    /// Machine code of the reason (`insufficient_balance`, `off_tick`, ...).
    pub reason: String,
    /// Human-readable reason.
    pub message: String,
}

/// `fill`: one order's side of a trade.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FillMessage {
    /// Common fields.
    #[serde(flatten)]
    pub header: ExecutionHeader,
    /// Engine trade id (per shard).
    pub trade_id: String,
    /// The order filled.
    pub order_id: String,
    /// Its owner.
    pub account_id: String,
    /// Instrument.
    pub symbol: String,
    /// This order's side.
    pub side: SideName,
    /// Trade price (the maker's).
    pub price: String,
    /// Trade quantity.
    pub quantity: String,
    /// Fee charged, in `feeAsset`.
    pub fee: String,
    /// Asset of the fee (buyers pay in base, sellers in quote).
    pub fee_asset: String,
    /// `maker` / `taker`.
    pub liquidity: String,
    /// Order status after the fill.
    pub status: String,
    /// Order filled quantity after the fill.
    pub filled_quantity: String,
    /// Order remaining quantity after the fill.
    pub remaining_quantity: String,
    /// Trade time (the causing command's sequencer time).
    pub time: String,
}

/// `commandResult`: the engine's summary of one command, always its last message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandResultMessage {
    /// Common fields.
    #[serde(flatten)]
    pub header: ExecutionHeader,
    /// The order the command was about (new order: the id it got).
    pub order_id: Option<String>,
    /// That order's status after the command.
    pub status: Option<String>,
    /// Trades the command caused.
    pub trades: u32,
    /// Machine code of the reject, when refused.
    pub reject_reason: Option<String>,
}

/// Decodes a record from `executions` (ingress and persister side).
pub fn decode_execution(bytes: &[u8]) -> Result<ExecutionMessage, MessageError> {
    Ok(match check_header(bytes, &EXECUTION_TYPES)? {
        "orderAccepted" => ExecutionMessage::OrderAccepted(parse(bytes)?),
        "orderTriggered" => ExecutionMessage::OrderTriggered(parse(bytes)?),
        "orderExpired" => ExecutionMessage::OrderExpired(parse(bytes)?),
        "orderCancelled" => ExecutionMessage::OrderCancelled(parse(bytes)?),
        "orderAmended" => ExecutionMessage::OrderAmended(parse(bytes)?),
        "orderRejected" => ExecutionMessage::OrderRejected(parse(bytes)?),
        "fill" => ExecutionMessage::Fill(parse(bytes)?),
        "commandResult" => ExecutionMessage::CommandResult(parse(bytes)?),
        other => return Err(MessageError::UnknownType(other.to_owned())),
    })
}
