//! Risk events on `risk-events` (key = account id, `global` for the global kill switch):
//! every refused command, with breaches of account limits flagged, and kill-switch changes.

use serde::{Deserialize, Serialize};

use super::{MessageError, check_header, malformed};

const RISK_TYPES: [&str; 2] = ["riskReject", "killSwitch"];

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
    check_header(bytes, &RISK_TYPES)?;
    serde_json::from_slice(bytes).map_err(malformed)
}
