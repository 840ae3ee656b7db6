//! Engine events → messages for `executions`, `prices` and `risk-events`.
//!
//! The engine role calls [`encode_command_events`] once per command with all the events the
//! command caused (the subscription delivers them in sequence order, after durability), so
//! each `executions` message can say how many siblings it has and the `commandResult`
//! closes the set.

use oms_core::model::{
    Action, AdminApplied, Event, Fill, Instrument, InstrumentId, KillSwitchScope, OrderUpdate, Origin, RejectReason,
    Sequence, Side, Trade, TransferIn,
};
use oms_core::pipeline::{Outcome, OutcomeTracker};

use super::execution::{
    CommandResultMessage, ExecutionHeader, ExecutionMessage, FillMessage, OrderAcceptedMessage, OrderAmendedMessage,
    OrderCancelledMessage, OrderRejectedMessage, OrderUpdateMessage,
};
use super::limits::LimitsFields;
use super::market::{BookMessage, PriceMessage, TradeMessage};
use super::risk::{BalanceMessage, GLOBAL_KEY, KillSwitchMessage, LimitsMessage, RiskEventMessage, RiskRejectMessage};
use super::wire::{price_text, quantity_text, status_name, time_text};
use super::{InboundCommand, MESSAGE_VERSION, MarketReference, MessageError, OutboundMessage, TopicKind, to_bytes};

/// The command whose events are being encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandOrigin {
    /// Engine sequence of the command.
    pub sequence: Sequence,
    /// The command as it came from `orders`; `None` for commands that did not (the
    /// sequencer's heartbeat, start-up administration) and for decisions published again
    /// from the journal, which keeps the command's position but not its id.
    pub command: Option<InboundCommand>,
    /// Where the command was read from (`Origin::Stream { partition, offset }`).
    pub origin: Origin,
    /// The journaled action when `command` is `None` (a republished decision): the
    /// `commandResult` summarises the events against it.
    pub action: Option<Action>,
}

impl CommandOrigin {
    fn action(&self) -> Action {
        self.command.map_or(self.action.unwrap_or(Action::Heartbeat), |c| c.action)
    }

    fn command_id(&self) -> Option<String> {
        self.command.map(|c| c.command_id.as_str().to_owned())
    }

    /// The `executions` header naming this command (index and count still 0).
    fn header(&self) -> ExecutionHeader {
        ExecutionHeader {
            v: MESSAGE_VERSION,
            command_id: self.command_id(),
            sequence: self.sequence.0.to_string(),
            orders_partition: match self.origin {
                Origin::Stream { stream, .. } => i32::try_from(stream).ok(),
                Origin::Direct => None,
            },
            orders_offset: match self.origin {
                Origin::Stream { offset, .. } => Some(offset.to_string()),
                Origin::Direct => None,
            },
            event_index: 0,
            event_count: 0,
        }
    }

    fn symbol(&self) -> Option<String> {
        self.command.and_then(|c| c.symbol).map(|s| s.as_str().to_owned())
    }
}

/// Encodes every message one command's events give, in order: for `executions` one per
/// order event, one per side of each trade, and a closing `commandResult`; for `prices` one
/// `trade` per trade; for `risk-events` one `riskReject` per reject and one `killSwitch` per
/// kill-switch change. Balance changes and other administration are not published (v1).
///
/// A redelivered command that the engine refused as `DuplicateDelivery` gives nothing: its
/// decision was published when it was first applied, and a reject now would contradict it.
pub fn encode_command_events(
    origin: &CommandOrigin,
    events: &[Event],
    reference: &impl MarketReference,
) -> Result<Vec<OutboundMessage>, MessageError> {
    if events.iter().any(|e| matches!(e, Event::Rejected(r) if r.reason == RejectReason::DuplicateDelivery)) {
        return Ok(Vec::new());
    }
    let header = origin.header();
    let mut executions: Vec<(String, ExecutionMessage)> = Vec::with_capacity(events.len() + 2);
    let mut others = Vec::new();
    let mut tracker = OutcomeTracker::new(origin.sequence, &origin.action());
    for event in events {
        tracker.observe(event);
        encode_event(origin, &header, event, reference, &mut executions, &mut others)?;
    }
    let outcome = tracker.finish();
    let result_key = outcome.order_id.map_or_else(|| result_key(origin), |id| id.0.to_string());
    executions.push((result_key, ExecutionMessage::CommandResult(command_result(&header, &outcome))));

    let count = u32::try_from(executions.len())
        .map_err(|_| MessageError::InvalidField { field: "eventCount", reason: "too many events for one command" })?;
    let mut messages = Vec::with_capacity(executions.len() + others.len());
    for (index, (key, mut message)) in (0u32..).zip(executions) {
        let h = message.header_mut();
        h.event_index = index;
        h.event_count = count;
        messages.push(OutboundMessage { topic: TopicKind::Executions, key, payload: to_bytes(&message)? });
    }
    messages.extend(others);
    messages.extend(transfer_in(origin, &outcome, reference)?);
    Ok(messages)
}

/// The answer to a `validateOrder`: one `commandResult` on `executions` (key = the
/// account), with no order and no trades, and the reason the order would be refused, if
/// any. `origin.sequence` is the journaled heartbeat the check ran at; no order events are
/// published for it, since nothing changed.
pub fn encode_validation_result(
    origin: &CommandOrigin,
    verdict: Result<(), RejectReason>,
) -> Result<OutboundMessage, MessageError> {
    let Action::NewOrder(order) = origin.action() else {
        return Err(MessageError::InvalidField { field: "type", reason: "only a new order can be validated" });
    };
    let result = CommandResultMessage {
        header: ExecutionHeader { event_count: 1, ..origin.header() },
        order_id: None,
        status: None,
        trades: 0,
        reject_reason: verdict.err().map(|r| r.code().to_owned()),
    };
    Ok(OutboundMessage {
        topic: TopicKind::Executions,
        key: order.account.0.to_string(),
        payload: to_bytes(&ExecutionMessage::CommandResult(result))?,
    })
}

/// The credit a debited `TransferOut` sends to its destination shard on `orders` (`None`
/// for every other command and for a refused transfer). Its source position is the
/// command's own, which the journal keeps, so republishing after a crash sends the same.
fn transfer_in(
    origin: &CommandOrigin,
    outcome: &Outcome,
    reference: &impl MarketReference,
) -> Result<Option<OutboundMessage>, MessageError> {
    let Action::TransferOut(out) = origin.action() else { return Ok(None) };
    if outcome.reject.is_some() {
        return Ok(None);
    }
    let Origin::Stream { stream, offset } = origin.origin else {
        return Err(MessageError::InvalidField { field: "origin", reason: "a transfer needs its position on orders" });
    };
    let command = InboundCommand {
        command_id: super::command::command_id(&format!("transfer-{stream}-{offset}"))?,
        symbol: Some(instrument_of(reference, out.to)?.spec().symbol),
        action: Action::TransferIn(TransferIn {
            account: out.account,
            asset: out.asset,
            amount: out.amount,
            from_shard: stream,
            source_offset: offset,
        }),
    };
    super::encode_command(&command, reference).map(Some)
}

/// Key of a result that concerns no order: the account, else the sequence.
fn result_key(origin: &CommandOrigin) -> String {
    match origin.action() {
        Action::MassCancel(m) => m.account.0.to_string(),
        _ => origin.sequence.0.to_string(),
    }
}

fn command_result(header: &ExecutionHeader, outcome: &Outcome) -> CommandResultMessage {
    CommandResultMessage {
        header: header.clone(),
        order_id: outcome.order_id.map(|id| id.0.to_string()),
        status: outcome.status.map(|s| status_name(s).to_owned()),
        trades: outcome.trades,
        reject_reason: outcome.reject.map(|r| r.code().to_owned()),
    }
}

fn instrument_of(reference: &impl MarketReference, id: InstrumentId) -> Result<&Instrument, MessageError> {
    reference.instrument(id).ok_or(MessageError::MissingReference("instrument"))
}

fn encode_event(
    origin: &CommandOrigin,
    header: &ExecutionHeader,
    event: &Event,
    reference: &impl MarketReference,
    executions: &mut Vec<(String, ExecutionMessage)>,
    others: &mut Vec<OutboundMessage>,
) -> Result<(), MessageError> {
    let h = || header.clone();
    match event {
        Event::OrderAccepted(o) => {
            let i = instrument_of(reference, o.instrument)?;
            let message = OrderAcceptedMessage {
                header: h(),
                order_id: o.id.0.to_string(),
                client_order_id: o.client_order_id.as_str().to_owned(),
                account_id: o.account.0.to_string(),
                symbol: i.spec().symbol.as_str().to_owned(),
                side: o.side.into(),
                order_type: o.order_type.into(),
                time_in_force: o.time_in_force.into(),
                price: price_text(i, o.price),
                stop_price: o.stop_price.map(|p| price_text(i, p)),
                quantity: quantity_text(i, o.quantity),
                filled_quantity: quantity_text(i, o.filled),
                remaining_quantity: quantity_text(i, o.leaves),
                status: status_name(o.status).to_owned(),
                post_only: o.post_only,
                reduce_only: o.reduce_only,
                expire_time: o.expire_time.map(time_text),
                created_at: time_text(o.created),
            };
            executions.push((o.id.0.to_string(), ExecutionMessage::OrderAccepted(message)));
        }
        Event::OrderTriggered(u) => {
            let message = order_update(h(), u, reference)?;
            executions.push((u.order_id.0.to_string(), ExecutionMessage::OrderTriggered(message)));
        }
        Event::OrderExpired(u) => {
            let message = order_update(h(), u, reference)?;
            executions.push((u.order_id.0.to_string(), ExecutionMessage::OrderExpired(message)));
        }
        Event::OrderCancelled(c) => {
            let i = instrument_of(reference, c.order.instrument)?;
            let u = &c.order;
            let message = OrderCancelledMessage {
                header: h(),
                order_id: u.order_id.0.to_string(),
                account_id: u.account.0.to_string(),
                symbol: i.spec().symbol.as_str().to_owned(),
                status: status_name(u.status).to_owned(),
                filled_quantity: quantity_text(i, u.filled),
                remaining_quantity: quantity_text(i, u.leaves),
                cancelled_quantity: quantity_text(i, c.cancelled),
                reason: c.reason.code().to_owned(),
            };
            executions.push((u.order_id.0.to_string(), ExecutionMessage::OrderCancelled(message)));
        }
        Event::OrderAmended(a) => {
            let i = instrument_of(reference, a.order.instrument)?;
            let u = &a.order;
            let message = OrderAmendedMessage {
                header: h(),
                order_id: u.order_id.0.to_string(),
                account_id: u.account.0.to_string(),
                symbol: i.spec().symbol.as_str().to_owned(),
                status: status_name(u.status).to_owned(),
                filled_quantity: quantity_text(i, u.filled),
                remaining_quantity: quantity_text(i, u.leaves),
                price: price_text(i, a.price),
                quantity: quantity_text(i, a.quantity),
                priority_kept: a.priority_kept,
            };
            executions.push((u.order_id.0.to_string(), ExecutionMessage::OrderAmended(message)));
        }
        Event::Trade(t) => {
            let i = instrument_of(reference, t.instrument)?;
            for (fill, side, maker) in [(&t.maker, t.taker_side.opposite(), true), (&t.taker, t.taker_side, false)] {
                let message = fill_message(h(), t, fill, side, maker, i, reference)?;
                executions.push((fill.order_id.0.to_string(), ExecutionMessage::Fill(message)));
            }
            let print = PriceMessage::Trade(TradeMessage {
                v: MESSAGE_VERSION,
                symbol: i.spec().symbol.as_str().to_owned(),
                trade_id: t.trade_id.0.to_string(),
                price: price_text(i, t.price),
                quantity: quantity_text(i, t.quantity),
                taker_side: t.taker_side.into(),
                time: time_text(t.timestamp),
            });
            let key = i.spec().symbol.as_str().to_owned();
            others.push(OutboundMessage { topic: TopicKind::Prices, key, payload: to_bytes(&print)? });
        }
        Event::Rejected(r) => {
            let account_id = r.account.map(|a| a.0.to_string());
            let order_id = r.order_id.map(|o| o.0.to_string());
            let message = OrderRejectedMessage {
                header: h(),
                order_id: order_id.clone(),
                client_order_id: r.client_order_id.map(|c| c.as_str().to_owned()),
                account_id: account_id.clone(),
                reason: r.reason.code().to_owned(),
                message: r.reason.to_string(),
            };
            let key = order_id.clone().or_else(|| account_id.clone()).unwrap_or_else(|| r.sequence.0.to_string());
            executions.push((key, ExecutionMessage::OrderRejected(message)));
            let risk = RiskEventMessage::RiskReject(RiskRejectMessage {
                v: MESSAGE_VERSION,
                command_id: origin.command_id(),
                sequence: origin.sequence.0.to_string(),
                account_id: account_id.clone(),
                symbol: origin.symbol(),
                order_id,
                reason: r.reason.code().to_owned(),
                breach: is_breach(r.reason),
            });
            let key = account_id.unwrap_or_else(|| GLOBAL_KEY.to_owned());
            others.push(OutboundMessage { topic: TopicKind::RiskEvents, key, payload: to_bytes(&risk)? });
        }
        Event::AdminApplied(AdminApplied::KillSwitchSet(scope, engaged)) => {
            let account = match scope {
                KillSwitchScope::Account(a) => Some(a.0.to_string()),
                KillSwitchScope::Global => None,
            };
            let risk = RiskEventMessage::KillSwitch(KillSwitchMessage {
                v: MESSAGE_VERSION,
                command_id: origin.command_id(),
                sequence: origin.sequence.0.to_string(),
                scope: if account.is_some() { "account" } else { "global" }.to_owned(),
                account_id: account.clone(),
                engaged: *engaged,
            });
            let key = account.unwrap_or_else(|| GLOBAL_KEY.to_owned());
            others.push(OutboundMessage { topic: TopicKind::RiskEvents, key, payload: to_bytes(&risk)? });
        }
        Event::AdminApplied(AdminApplied::RiskLimitsSet(account)) => {
            // Limits reach a shard only from `orders`, so the command and its partition are
            // known; a republished decision keeps both.
            if let (Action::SetRiskLimits(set), Origin::Stream { stream, .. }) = (origin.action(), origin.origin) {
                let risk = RiskEventMessage::Limits(Box::new(LimitsMessage {
                    v: MESSAGE_VERSION,
                    command_id: origin.command_id(),
                    sequence: origin.sequence.0.to_string(),
                    shard: stream,
                    account_id: account.0.to_string(),
                    limits: LimitsFields::from_limits(&set.limits),
                }));
                others.push(OutboundMessage {
                    topic: TopicKind::RiskEvents,
                    key: account.0.to_string(),
                    payload: to_bytes(&risk)?,
                });
            }
        }
        Event::AdminApplied(
            AdminApplied::AssetDefined(_) | AdminApplied::InstrumentAdded(_) | AdminApplied::InstrumentStatusSet(..),
        )
        | Event::BalanceChanged(_) => {}
    }
    Ok(())
}

fn order_update(
    header: ExecutionHeader,
    u: &OrderUpdate,
    reference: &impl MarketReference,
) -> Result<OrderUpdateMessage, MessageError> {
    let i = instrument_of(reference, u.instrument)?;
    Ok(OrderUpdateMessage {
        header,
        order_id: u.order_id.0.to_string(),
        account_id: u.account.0.to_string(),
        symbol: i.spec().symbol.as_str().to_owned(),
        status: status_name(u.status).to_owned(),
        filled_quantity: quantity_text(i, u.filled),
        remaining_quantity: quantity_text(i, u.leaves),
    })
}

fn fill_message(
    header: ExecutionHeader,
    trade: &Trade,
    fill: &Fill,
    side: Side,
    maker: bool,
    i: &Instrument,
    reference: &impl MarketReference,
) -> Result<FillMessage, MessageError> {
    // Fees come out of what each side receives: buyers pay in base, sellers in quote.
    let fee_asset_id = if side == Side::Buy { i.spec().base } else { i.spec().quote };
    let fee_asset = reference.asset(fee_asset_id).ok_or(MessageError::MissingReference("asset"))?;
    Ok(FillMessage {
        header,
        trade_id: trade.trade_id.0.to_string(),
        order_id: fill.order_id.0.to_string(),
        account_id: fill.account.0.to_string(),
        symbol: i.spec().symbol.as_str().to_owned(),
        side: side.into(),
        price: price_text(i, trade.price),
        quantity: quantity_text(i, trade.quantity),
        fee: fee_asset.amount_to_decimal(fill.fee).to_string(),
        fee_asset: fee_asset.spec().code.as_str().to_owned(),
        liquidity: if maker { "maker" } else { "taker" }.to_owned(),
        status: status_name(fill.status).to_owned(),
        filled_quantity: quantity_text(i, fill.filled),
        remaining_quantity: quantity_text(i, fill.leaves),
        time: time_text(trade.timestamp),
    })
}

/// Whether a reject is an account limit or kill switch being hit (alert-worthy).
fn is_breach(reason: RejectReason) -> bool {
    matches!(
        reason,
        RejectReason::AccountKillSwitch
            | RejectReason::GlobalKillSwitch
            | RejectReason::OrderRateLimit
            | RejectReason::OpenOrdersLimit
            | RejectReason::DailyLossLimit
            | RejectReason::OrderQuantityLimit
            | RejectReason::OrderNotionalLimit
            | RejectReason::PositionLimit
            | RejectReason::ConcentrationLimit
            | RejectReason::InsufficientBalance
    )
}

/// Encodes an account's position in `instrument` after the trade of command `sequence` for
/// `risk-events` (key = account). `base` and `quote` are the instrument's assets.
pub fn encode_position(
    sequence: Sequence,
    account: oms_core::model::AccountId,
    instrument: &Instrument,
    base: &oms_core::model::Asset,
    quote: &oms_core::model::Asset,
    position: &oms_core::risk::Position,
) -> Result<OutboundMessage, MessageError> {
    let message = RiskEventMessage::Position(super::risk::PositionMessage {
        v: MESSAGE_VERSION,
        sequence: sequence.0.to_string(),
        account_id: account.0.to_string(),
        symbol: instrument.spec().symbol.as_str().to_owned(),
        quantity: base.amount_to_decimal(position.net_base).normalize().to_string(),
        open_cost: quote.amount_to_decimal(position.open_cost_quote).normalize().to_string(),
        realized_pnl: quote.amount_to_decimal(position.realized_pnl_quote).normalize().to_string(),
    });
    Ok(OutboundMessage { topic: TopicKind::RiskEvents, key: account.0.to_string(), payload: to_bytes(&message)? })
}

/// The `book` message of `instrument`'s depth as of `sequence` (topic `prices`, key = symbol).
pub fn encode_book(
    sequence: Sequence,
    instrument: &Instrument,
    bids: &[(oms_core::model::Price, oms_core::model::Quantity)],
    asks: &[(oms_core::model::Price, oms_core::model::Quantity)],
    time: oms_core::model::Timestamp,
) -> Result<OutboundMessage, MessageError> {
    let message = PriceMessage::Book(BookMessage::new(instrument, sequence.0, bids, asks, time));
    let key = instrument.spec().symbol.as_str().to_owned();
    Ok(OutboundMessage { topic: TopicKind::Prices, key, payload: to_bytes(&message)? })
}

/// The `balance` message of `account`'s funds in `asset` held by `shard`, as of `sequence`
/// (topic `risk-events`, key = account).
pub fn encode_balance(
    sequence: Sequence,
    shard: u32,
    account: oms_core::model::AccountId,
    asset: &oms_core::model::Asset,
    balance: oms_core::risk::Balance,
) -> Result<OutboundMessage, MessageError> {
    let message = RiskEventMessage::Balance(BalanceMessage {
        v: MESSAGE_VERSION,
        sequence: sequence.0.to_string(),
        shard,
        account_id: account.0.to_string(),
        asset: asset.spec().code.as_str().to_owned(),
        available: asset.amount_to_decimal(balance.available).normalize().to_string(),
        reserved: asset.amount_to_decimal(balance.reserved).normalize().to_string(),
    });
    Ok(OutboundMessage { topic: TopicKind::RiskEvents, key: account.0.to_string(), payload: to_bytes(&message)? })
}
