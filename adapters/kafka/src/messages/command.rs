//! Commands on the `orders` topic (key = symbol): new order, cancel, amend, mass cancel,
//! the kill switch (published to every partition, since every shard must stop), and the
//! two halves of a transfer between shards' sub-ledgers (`transfer` from the ingress to the
//! source shard, `transferIn` from the source shard to the destination), and an account's
//! risk limits (`setRiskLimits`, one per shard with that shard's share), and a what-if
//! check of an order (`validateOrder`: the shard runs every check and answers, nothing is
//! journaled as a command or changed).
//!
//! The ingress encodes an engine [`Action`] it built from an HTTP request; the engine decodes
//! and submits it. The parser checks representability only (exact decimals on the
//! instrument's tick and lot grid, ids in range, known symbol); business rules (a limit
//! order needs a price, market orders are IOC, limits and balances) stay in the engine,
//! which answers them with typed rejects on `executions`, like any other command.

use oms_core::model::{
    AccountId, Action, AmendOrder, Asset, CancelOrder, ClientOrderId, IdentifierError, Instrument, KillSwitch,
    KillSwitchScope, MassCancel, NewOrder, SYMBOL_LEN_MAX, SetRiskLimits, Symbol, TransferIn, TransferOut,
};
use serde::{Deserialize, Serialize};

use super::limits::LimitsFields;
use super::wire::{
    OrderTypeName, SelfTradePreventionName, SideName, TimeInForceName, amount_text, parse_account, parse_amount,
    parse_order_id, parse_price, parse_quantity, parse_time, parse_unsigned, price_text, quantity_text, time_text,
};
use super::{
    CommandId, MESSAGE_VERSION, MarketReference, MessageError, OutboundMessage, TopicKind, check_header, malformed,
    to_bytes,
};

/// `type` values carried on `orders`.
const COMMAND_TYPES: [&str; 9] = [
    "newOrder",
    "cancelOrder",
    "amendOrder",
    "massCancel",
    "killSwitch",
    "transfer",
    "transferIn",
    "setRiskLimits",
    "validateOrder",
];

/// A command as it travels on `orders` (the JSON shape; see `docs/events.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum CommandMessage {
    /// Place an order.
    NewOrder(NewOrderFields),
    /// Cancel one order.
    CancelOrder(CancelOrderFields),
    /// Change price and/or quantity of a resting order.
    AmendOrder(AmendOrderFields),
    /// Cancel all of an account's orders (on one symbol when given).
    MassCancel(MassCancelFields),
    /// Engage or release a kill switch (an admin's command; the ingress checks that).
    KillSwitch(KillSwitchFields),
    /// Move funds from the sub-ledger of `symbol`'s shard to that of `toSymbol`'s.
    Transfer(TransferFields),
    /// The credit half of a transfer, sent by the source shard once it has debited.
    TransferIn(TransferInFields),
    /// Set an account's limits on one shard (an admin's command; the ingress checks that).
    SetRiskLimits(SetRiskLimitsFields),
    /// Check an order as `newOrder` would be checked now, without placing it.
    ValidateOrder(NewOrderFields),
}

/// Fields of `setRiskLimits`, published by the ingress to each shard that trades a symbol
/// (key = one of its symbols), with that shard's share of the account-wide limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetRiskLimitsFields {
    /// Schema version.
    pub v: u32,
    /// The client command's id.
    pub command_id: String,
    /// The account whose limits change.
    pub account_id: String,
    /// A symbol of the shard (routes the command there).
    pub symbol: String,
    /// The limits this shard enforces from now on.
    pub limits: LimitsFields,
}

/// Fields of `transfer`, published by the ingress to the source shard (key = `symbol`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransferFields {
    /// Schema version.
    pub v: u32,
    /// The client command's id.
    pub command_id: String,
    /// Owner of the funds.
    pub account_id: String,
    /// A symbol the source shard trades (routes the command there).
    pub symbol: String,
    /// A symbol the destination shard trades (routes the credit there).
    pub to_symbol: String,
    /// Asset code.
    pub asset: String,
    /// Decimal amount, positive, at most the asset's scale.
    pub amount: String,
}

/// Fields of `transferIn`, published by the source shard to the destination's partition
/// (key = `symbol`, a symbol it trades). `(fromShard, sourceOffset)` is credited at most once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransferInFields {
    /// Schema version.
    pub v: u32,
    /// `transfer-<fromShard>-<sourceOffset>`: not the client's id, so the destination's
    /// decision is never taken for the source's.
    pub command_id: String,
    /// Owner of the funds.
    pub account_id: String,
    /// A symbol the destination shard trades.
    pub symbol: String,
    /// Asset code.
    pub asset: String,
    /// Decimal amount, positive.
    pub amount: String,
    /// The shard (`orders` partition) the funds left.
    pub from_shard: u32,
    /// Offset of the `transfer` on the source's partition.
    pub source_offset: String,
}

/// Fields of `killSwitch`. Published to every partition: each shard stops its own books.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KillSwitchFields {
    /// Schema version.
    pub v: u32,
    /// The client command's id.
    pub command_id: String,
    /// `account` or `global`.
    pub scope: String,
    /// The account, for scope `account` (absent for `global`).
    pub account_id: Option<String>,
    /// Engage (`true`) or release.
    pub engaged: bool,
    /// On engage, also cancel every working order in scope.
    pub cancel_open_orders: bool,
}

/// Fields of `newOrder`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewOrderFields {
    /// Schema version.
    pub v: u32,
    /// The client command's id (dedupe and decision matching).
    pub command_id: String,
    /// Owner.
    pub account_id: String,
    /// Instrument symbol (also the record key).
    pub symbol: String,
    /// `buy` / `sell`.
    pub side: SideName,
    /// `limit` / `market` / `stop` / `stopLimit`.
    pub order_type: OrderTypeName,
    /// Limit or protection price.
    pub price: Option<String>,
    /// Trigger price.
    pub stop_price: Option<String>,
    /// Base quantity.
    pub quantity: String,
    /// `GTC` / `IOC` / `FOK` / `GTD`.
    pub time_in_force: TimeInForceName,
    /// GTD expiry, RFC 3339.
    pub expire_time: Option<String>,
    /// Refuse to take liquidity.
    pub post_only: bool,
    /// Only reduce the position.
    pub reduce_only: bool,
    /// The owner's id for the order.
    pub client_order_id: String,
    /// Self-trade prevention mode.
    pub self_trade_prevention: SelfTradePreventionName,
}

/// Fields of `cancelOrder`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelOrderFields {
    /// Schema version.
    pub v: u32,
    /// The client command's id.
    pub command_id: String,
    /// Caller; must own the order.
    pub account_id: String,
    /// The order's symbol (routes the cancel to the shard that owns the book).
    pub symbol: String,
    /// Order to cancel.
    pub order_id: String,
}

/// Fields of `amendOrder`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AmendOrderFields {
    /// Schema version.
    pub v: u32,
    /// The client command's id.
    pub command_id: String,
    /// Caller; must own the order.
    pub account_id: String,
    /// The order's symbol (routing, and the tick/lot grid for the new values).
    pub symbol: String,
    /// Order to amend.
    pub order_id: String,
    /// New limit price.
    pub price: Option<String>,
    /// New total quantity (filled included).
    pub quantity: Option<String>,
}

/// Fields of `massCancel`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MassCancelFields {
    /// Schema version.
    pub v: u32,
    /// The client command's id.
    pub command_id: String,
    /// Owner.
    pub account_id: String,
    /// Only this symbol; absent = every symbol (then the ingress publishes the command to
    /// every `orders` partition, since each shard holds some of the account's books).
    pub symbol: Option<String>,
}

/// A decoded, validated command, ready to submit to the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboundCommand {
    /// The client command's id.
    pub command_id: CommandId,
    /// The symbol the command routes by; `None` only for a mass cancel of every symbol.
    pub symbol: Option<Symbol>,
    /// What to do, in engine units.
    pub action: Action,
}

impl InboundCommand {
    /// The record key on `orders` (the symbol; the account for an all-symbol mass cancel,
    /// which is published to every partition).
    pub fn key(&self) -> String {
        match (self.symbol, self.action) {
            (Some(symbol), _) => symbol.as_str().to_owned(),
            (None, Action::MassCancel(m)) => m.account.0.to_string(),
            (None, Action::KillSwitch(KillSwitch { scope: KillSwitchScope::Account(a), .. })) => a.0.to_string(),
            (None, Action::KillSwitch(_)) => super::GLOBAL_KEY.to_owned(),
            (None, _) => String::new(),
        }
    }

    /// Whether the command must reach every shard (mass cancel without a symbol, kill switch).
    pub fn is_broadcast(&self) -> bool {
        self.symbol.is_none()
    }
}

/// A record from `orders`, decoded: a command to apply, or an order only to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// Submit to the engine: journaled, applied, decided.
    Apply(InboundCommand),
    /// `validateOrder`: run the engine's checks on this `NewOrder` against the shard's state
    /// now and answer; nothing is journaled as a command, nothing changes.
    Validate(InboundCommand),
}

/// Decodes and validates a record from `orders`. Never panics; every refusal is typed.
pub fn decode_inbound(bytes: &[u8], reference: &impl MarketReference) -> Result<Inbound, MessageError> {
    check_header(bytes, &COMMAND_TYPES)?;
    let message: CommandMessage = serde_json::from_slice(bytes).map_err(malformed)?;
    let command = message.validate(reference)?;
    Ok(match message {
        CommandMessage::ValidateOrder(_) => Inbound::Validate(command),
        _ => Inbound::Apply(command),
    })
}

/// Decodes a command to apply; a `validateOrder` is refused as
/// [`MessageError::UnknownType`] here (only the engine answers those, via [`decode_inbound`]).
pub fn decode_command(bytes: &[u8], reference: &impl MarketReference) -> Result<InboundCommand, MessageError> {
    match decode_inbound(bytes, reference)? {
        Inbound::Apply(command) => Ok(command),
        Inbound::Validate(_) => Err(MessageError::UnknownType("validateOrder".to_owned())),
    }
}

/// Encodes a `validateOrder` for `orders` (key = the order's symbol): `command.action` must
/// be the `NewOrder` to check.
pub fn encode_validation(
    command: &InboundCommand,
    reference: &impl MarketReference,
) -> Result<OutboundMessage, MessageError> {
    let Action::NewOrder(order) = &command.action else {
        return Err(MessageError::InvalidField { field: "type", reason: "only a new order can be validated" });
    };
    let fields = NewOrderFields::from_order(command.command_id.as_str().to_owned(), order, reference)?;
    Ok(OutboundMessage {
        topic: TopicKind::Orders,
        key: command.key(),
        payload: to_bytes(&CommandMessage::ValidateOrder(fields))?,
    })
}

/// Encodes a command for `orders`, with its key. `command.symbol` must name the order's
/// instrument for cancel and amend (the ingress knows it from the order it looked up).
pub fn encode_command(
    command: &InboundCommand,
    reference: &impl MarketReference,
) -> Result<OutboundMessage, MessageError> {
    let message = CommandMessage::from_command(command, reference)?;
    Ok(OutboundMessage { topic: TopicKind::Orders, key: command.key(), payload: to_bytes(&message)? })
}

pub(super) fn command_id(text: &str) -> Result<CommandId, MessageError> {
    CommandId::new(text).map_err(|e| MessageError::InvalidField { field: "commandId", reason: identifier_reason(e) })
}

fn identifier_reason(error: IdentifierError) -> &'static str {
    match error {
        IdentifierError::Empty => "empty",
        IdentifierError::TooLong { .. } => "too long",
        IdentifierError::InvalidCharacter { .. } => "disallowed character",
    }
}

fn instrument<'r>(reference: &'r impl MarketReference, symbol: &str) -> Result<&'r Instrument, MessageError> {
    if symbol.len() > SYMBOL_LEN_MAX {
        return Err(MessageError::InvalidField { field: "symbol", reason: "too long" });
    }
    reference.instrument_by_symbol(symbol).ok_or_else(|| MessageError::UnknownSymbol(symbol.to_owned()))
}

fn asset<'r>(reference: &'r impl MarketReference, code: &str) -> Result<&'r Asset, MessageError> {
    reference.asset_by_code(code).ok_or(MessageError::InvalidField { field: "asset", reason: "unknown asset" })
}

fn version(v: u32) -> Result<(), MessageError> {
    if v == MESSAGE_VERSION { Ok(()) } else { Err(MessageError::UnsupportedVersion(u64::from(v))) }
}

impl CommandMessage {
    /// Converts the JSON shape into engine units, checking every field.
    pub fn validate(&self, reference: &impl MarketReference) -> Result<InboundCommand, MessageError> {
        match self {
            CommandMessage::NewOrder(m) | CommandMessage::ValidateOrder(m) => m.validate(reference),
            CommandMessage::CancelOrder(m) => {
                version(m.v)?;
                let instrument = instrument(reference, &m.symbol)?;
                let action = Action::CancelOrder(CancelOrder {
                    account: parse_account("accountId", &m.account_id)?,
                    order_id: parse_order_id("orderId", &m.order_id)?,
                });
                Ok(InboundCommand {
                    command_id: command_id(&m.command_id)?,
                    symbol: Some(instrument.spec().symbol),
                    action,
                })
            }
            CommandMessage::AmendOrder(m) => {
                version(m.v)?;
                let instrument = instrument(reference, &m.symbol)?;
                let action = Action::AmendOrder(AmendOrder {
                    account: parse_account("accountId", &m.account_id)?,
                    order_id: parse_order_id("orderId", &m.order_id)?,
                    price: m.price.as_deref().map(|p| parse_price(instrument, "price", p)).transpose()?,
                    quantity: m.quantity.as_deref().map(|q| parse_quantity(instrument, "quantity", q)).transpose()?,
                });
                Ok(InboundCommand {
                    command_id: command_id(&m.command_id)?,
                    symbol: Some(instrument.spec().symbol),
                    action,
                })
            }
            CommandMessage::MassCancel(m) => {
                version(m.v)?;
                let instrument = m.symbol.as_deref().map(|s| instrument(reference, s)).transpose()?;
                let action = Action::MassCancel(MassCancel {
                    account: parse_account("accountId", &m.account_id)?,
                    instrument: instrument.map(|i| i.id()),
                });
                Ok(InboundCommand {
                    command_id: command_id(&m.command_id)?,
                    symbol: instrument.map(|i| i.spec().symbol),
                    action,
                })
            }
            CommandMessage::KillSwitch(m) => {
                version(m.v)?;
                let scope = match (m.scope.as_str(), &m.account_id) {
                    ("global", None) => KillSwitchScope::Global,
                    ("account", Some(account)) => KillSwitchScope::Account(parse_account("accountId", account)?),
                    _ => {
                        return Err(MessageError::InvalidField {
                            field: "scope",
                            reason: "global without accountId, or account with one",
                        });
                    }
                };
                let action = Action::KillSwitch(KillSwitch {
                    scope,
                    engaged: m.engaged,
                    cancel_open_orders: m.cancel_open_orders,
                });
                Ok(InboundCommand { command_id: command_id(&m.command_id)?, symbol: None, action })
            }
            CommandMessage::Transfer(m) => {
                version(m.v)?;
                let from = instrument(reference, &m.symbol)?;
                let to = instrument(reference, &m.to_symbol)?;
                let asset = asset(reference, &m.asset)?;
                let action = Action::TransferOut(TransferOut {
                    account: parse_account("accountId", &m.account_id)?,
                    asset: asset.spec().id,
                    amount: parse_amount(asset, "amount", &m.amount)?,
                    to: to.id(),
                });
                Ok(InboundCommand { command_id: command_id(&m.command_id)?, symbol: Some(from.spec().symbol), action })
            }
            CommandMessage::TransferIn(m) => {
                version(m.v)?;
                let to = instrument(reference, &m.symbol)?;
                let asset = asset(reference, &m.asset)?;
                let action = Action::TransferIn(TransferIn {
                    account: parse_account("accountId", &m.account_id)?,
                    asset: asset.spec().id,
                    amount: parse_amount(asset, "amount", &m.amount)?,
                    from_shard: m.from_shard,
                    source_offset: parse_unsigned("sourceOffset", &m.source_offset)?,
                });
                Ok(InboundCommand { command_id: command_id(&m.command_id)?, symbol: Some(to.spec().symbol), action })
            }
            CommandMessage::SetRiskLimits(m) => {
                version(m.v)?;
                let routed = instrument(reference, &m.symbol)?;
                let action = Action::SetRiskLimits(SetRiskLimits {
                    account: parse_account("accountId", &m.account_id)?,
                    limits: m.limits.to_limits()?,
                });
                Ok(InboundCommand {
                    command_id: command_id(&m.command_id)?,
                    symbol: Some(routed.spec().symbol),
                    action,
                })
            }
        }
    }

    /// The JSON shape of an engine command.
    pub fn from_command(command: &InboundCommand, reference: &impl MarketReference) -> Result<Self, MessageError> {
        let command_id = command.command_id.as_str().to_owned();
        let routed = || {
            let symbol = command.symbol.ok_or(MessageError::InvalidField { field: "symbol", reason: "required" })?;
            instrument(reference, symbol.as_str())
        };
        let account = |a: AccountId| a.0.to_string();
        Ok(match &command.action {
            Action::NewOrder(order) => {
                CommandMessage::NewOrder(NewOrderFields::from_order(command_id, order, reference)?)
            }
            Action::CancelOrder(c) => CommandMessage::CancelOrder(CancelOrderFields {
                v: MESSAGE_VERSION,
                command_id,
                account_id: account(c.account),
                symbol: routed()?.spec().symbol.as_str().to_owned(),
                order_id: c.order_id.0.to_string(),
            }),
            Action::AmendOrder(a) => {
                let instrument = routed()?;
                CommandMessage::AmendOrder(AmendOrderFields {
                    v: MESSAGE_VERSION,
                    command_id,
                    account_id: account(a.account),
                    symbol: instrument.spec().symbol.as_str().to_owned(),
                    order_id: a.order_id.0.to_string(),
                    price: a.price.map(|p| price_text(instrument, p)),
                    quantity: a.quantity.map(|q| quantity_text(instrument, q)),
                })
            }
            Action::MassCancel(m) => {
                let symbol = match m.instrument {
                    Some(id) => Some(
                        reference.instrument(id).ok_or(MessageError::MissingReference("instrument"))?.spec().symbol,
                    ),
                    None => None,
                };
                CommandMessage::MassCancel(MassCancelFields {
                    v: MESSAGE_VERSION,
                    command_id,
                    account_id: account(m.account),
                    symbol: symbol.map(|s| s.as_str().to_owned()),
                })
            }
            Action::KillSwitch(k) => {
                let (scope, account_id) = match k.scope {
                    KillSwitchScope::Global => ("global", None),
                    KillSwitchScope::Account(a) => ("account", Some(account(a))),
                };
                CommandMessage::KillSwitch(KillSwitchFields {
                    v: MESSAGE_VERSION,
                    command_id,
                    scope: scope.to_owned(),
                    account_id,
                    engaged: k.engaged,
                    cancel_open_orders: k.cancel_open_orders,
                })
            }
            Action::TransferOut(t) => {
                let asset = reference.asset(t.asset).ok_or(MessageError::MissingReference("asset"))?;
                CommandMessage::Transfer(TransferFields {
                    v: MESSAGE_VERSION,
                    command_id,
                    account_id: account(t.account),
                    symbol: routed()?.spec().symbol.as_str().to_owned(),
                    to_symbol: reference
                        .instrument(t.to)
                        .ok_or(MessageError::MissingReference("instrument"))?
                        .spec()
                        .symbol
                        .as_str()
                        .to_owned(),
                    asset: asset.spec().code.as_str().to_owned(),
                    amount: amount_text(asset, t.amount),
                })
            }
            Action::TransferIn(t) => {
                let asset = reference.asset(t.asset).ok_or(MessageError::MissingReference("asset"))?;
                CommandMessage::TransferIn(TransferInFields {
                    v: MESSAGE_VERSION,
                    command_id,
                    account_id: account(t.account),
                    symbol: routed()?.spec().symbol.as_str().to_owned(),
                    asset: asset.spec().code.as_str().to_owned(),
                    amount: amount_text(asset, t.amount),
                    from_shard: t.from_shard,
                    source_offset: t.source_offset.to_string(),
                })
            }
            Action::SetRiskLimits(l) => CommandMessage::SetRiskLimits(SetRiskLimitsFields {
                v: MESSAGE_VERSION,
                command_id,
                account_id: account(l.account),
                symbol: routed()?.spec().symbol.as_str().to_owned(),
                limits: LimitsFields::from_limits(&l.limits),
            }),
            Action::DefineAsset(_)
            | Action::AddInstrument(_)
            | Action::SetInstrumentStatus(_)
            | Action::Deposit(_)
            | Action::Withdraw(_)
            | Action::Heartbeat => return Err(MessageError::UnknownType(action_name(&command.action).to_owned())),
        })
    }
}

/// Names of the engine actions that have no `orders` message (yet).
fn action_name(action: &Action) -> &'static str {
    match action {
        Action::NewOrder(_) => "newOrder",
        Action::CancelOrder(_) => "cancelOrder",
        Action::AmendOrder(_) => "amendOrder",
        Action::MassCancel(_) => "massCancel",
        Action::DefineAsset(_) => "defineAsset",
        Action::AddInstrument(_) => "addInstrument",
        Action::SetInstrumentStatus(_) => "setInstrumentStatus",
        Action::Deposit(_) => "deposit",
        Action::Withdraw(_) => "withdraw",
        Action::TransferOut(_) => "transfer",
        Action::TransferIn(_) => "transferIn",
        Action::SetRiskLimits(_) => "setRiskLimits",
        Action::KillSwitch(_) => "killSwitch",
        Action::Heartbeat => "heartbeat",
    }
}

impl NewOrderFields {
    fn validate(&self, reference: &impl MarketReference) -> Result<InboundCommand, MessageError> {
        version(self.v)?;
        let instrument = instrument(reference, &self.symbol)?;
        let client_order_id = ClientOrderId::new(&self.client_order_id)
            .map_err(|e| MessageError::InvalidField { field: "clientOrderId", reason: identifier_reason(e) })?;
        let order = NewOrder {
            account: parse_account("accountId", &self.account_id)?,
            client_order_id,
            instrument: instrument.id(),
            side: self.side.into(),
            order_type: self.order_type.into(),
            price: self.price.as_deref().map(|p| parse_price(instrument, "price", p)).transpose()?,
            stop_price: self.stop_price.as_deref().map(|p| parse_price(instrument, "stopPrice", p)).transpose()?,
            quantity: parse_quantity(instrument, "quantity", &self.quantity)?,
            time_in_force: self.time_in_force.into(),
            expire_time: self.expire_time.as_deref().map(|t| parse_time("expireTime", t)).transpose()?,
            post_only: self.post_only,
            reduce_only: self.reduce_only,
            self_trade_prevention: self.self_trade_prevention.into(),
        };
        Ok(InboundCommand {
            command_id: command_id(&self.command_id)?,
            symbol: Some(instrument.spec().symbol),
            action: Action::NewOrder(order),
        })
    }

    fn from_order(
        command_id: String,
        order: &NewOrder,
        reference: &impl MarketReference,
    ) -> Result<Self, MessageError> {
        let instrument = reference.instrument(order.instrument).ok_or(MessageError::MissingReference("instrument"))?;
        Ok(Self {
            v: MESSAGE_VERSION,
            command_id,
            account_id: order.account.0.to_string(),
            symbol: instrument.spec().symbol.as_str().to_owned(),
            side: order.side.into(),
            order_type: order.order_type.into(),
            price: order.price.map(|p| price_text(instrument, p)),
            stop_price: order.stop_price.map(|p| price_text(instrument, p)),
            quantity: quantity_text(instrument, order.quantity),
            time_in_force: order.time_in_force.into(),
            expire_time: order.expire_time.map(time_text),
            post_only: order.post_only,
            reduce_only: order.reduce_only,
            client_order_id: order.client_order_id.as_str().to_owned(),
            self_trade_prevention: order.self_trade_prevention.into(),
        })
    }
}
