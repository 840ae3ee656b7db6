//! Risk events on `risk-events` (key = account id, `global` for the global kill switch):
//! every refused command, with breaches of account limits flagged, kill-switch changes, the
//! position of each side after every trade, each shard's balances of an account when
//! they changed, and the limits a shard enforces for an account once they are set.

use serde::{Deserialize, Serialize};

use super::limits::LimitsFields;
use super::{MessageError, check_header, parse};

const RISK_TYPES: [&str; 5] = ["riskReject", "killSwitch", "position", "balance", "limits"];

/// Key of risk events that concern no single account.
pub const GLOBAL_KEY: &str = "global";

/// A message on `risk-events`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum RiskEventMessage {
    /// A command was refused.
    RiskReject(RiskRejectMessage),
    /// A kill switch was engaged or released.
    KillSwitch(KillSwitchMessage),
    /// An account's position in a symbol after a trade.
    Position(PositionMessage),
    /// One shard's part of an account's balance in an asset.
    Balance(BalanceMessage),
    /// The limits one shard enforces for an account, after they were set.
    Limits(Box<LimitsMessage>),
}

/// `limits`: what one shard now enforces for an account (its share of the account-wide
/// limits the admin set). An account's limits, as `GET /api/risk/limits` shows them, are
/// the shards' shares put back together; the latest message per shard by `sequence` counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LimitsMessage {
    /// Schema version.
    pub v: u32,
    /// The command that set them.
    pub command_id: Option<String>,
    /// Its engine sequence.
    pub sequence: String,
    /// The shard (`orders` partition) that enforces them.
    pub shard: u32,
    /// Account.
    pub account_id: String,
    /// The shard's limits.
    pub limits: LimitsFields,
}

/// `balance`: the part of an account's balance in one asset that one shard holds (each
/// shard has its own sub-ledger of every account's funds), sampled by that shard when it
/// changed (at most every 100 ms). The account's balance is the sum over shards of
/// the latest message per shard, latest by `sequence` (a shard's sequences only grow, also
/// across a failover).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceMessage {
    /// Schema version.
    pub v: u32,
    /// Engine sequence the balance is as of.
    pub sequence: String,
    /// The shard (`orders` partition) whose sub-ledger this is.
    pub shard: u32,
    /// Account.
    pub account_id: String,
    /// Asset code.
    pub asset: String,
    /// Free to use, decimal string.
    pub available: String,
    /// Held for working orders, decimal string.
    pub reserved: String,
}

/// `position`: an account's position in one symbol after a trade, as the shard that owns
/// the symbol books it (`Position::apply_trade`). A consumer keeps the one with the highest
/// `sequence` per (account, symbol): a symbol lives on one shard, so its sequences order it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionMessage {
    /// Schema version.
    pub v: u32,
    /// Engine sequence of the command whose trade changed it.
    pub sequence: String,
    /// Account.
    pub account_id: String,
    /// Symbol.
    pub symbol: String,
    /// Net quantity in the base asset (+ long, − short), decimal string.
    pub quantity: String,
    /// Signed cost of the open position in the quote asset, decimal string.
    pub open_cost: String,
    /// Realized P&L in the quote asset since the account was created, decimal string.
    pub realized_pnl: String,
}

/// `riskReject`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskRejectMessage {
    /// Schema version.
    pub v: u32,
    /// The refused command.
    pub command_id: Option<String>,
    /// Its engine sequence.
    pub sequence: String,
    /// Account concerned.
    pub account_id: Option<String>,
    /// Symbol of the order, when the command named one.
    pub symbol: Option<String>,
    /// The order concerned.
    pub order_id: Option<String>,
    /// Machine code of the reason.
    pub reason: String,
    /// Whether the reason is an account limit or kill switch (a breach worth alerting on)
    /// rather than a malformed or impossible order.
    pub breach: bool,
}

/// `killSwitch`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KillSwitchMessage {
    /// Schema version.
    pub v: u32,
    /// The command that changed it.
    pub command_id: Option<String>,
    /// Its engine sequence.
    pub sequence: String,
    /// `account` or `global`.
    pub scope: String,
    /// The account for scope `account`.
    pub account_id: Option<String>,
    /// Engaged (`true`) or released.
    pub engaged: bool,
}

/// Decodes a record from `risk-events`.
pub fn decode_risk_event(bytes: &[u8]) -> Result<RiskEventMessage, MessageError> {
    Ok(match check_header(bytes, &RISK_TYPES)? {
        "riskReject" => RiskEventMessage::RiskReject(parse(bytes)?),
        "killSwitch" => RiskEventMessage::KillSwitch(parse(bytes)?),
        "position" => RiskEventMessage::Position(parse(bytes)?),
        "balance" => RiskEventMessage::Balance(parse(bytes)?),
        "limits" => RiskEventMessage::Limits(parse(bytes)?),
        other => return Err(MessageError::UnknownType(other.to_owned())),
    })
}
