//! Versioned JSON messages on the four topics, and the strict parser for inbound commands.
//!
//! Every message is one JSON object with `"v"` (schema version, [`MESSAGE_VERSION`]) and
//! `"type"` (what it is), camelCase field names, decimals and ids as strings — the same
//! shapes the HTTP API uses, so a dashboard, the persister and the HTTP renderer read one
//! vocabulary. JSON rather than a binary schema: every tool (kcat, the MSK console, jq) can
//! read it, and at the target rate (50 k/s) encoding cost is noise next to the broker round
//! trip; the binary TCP gateway exists for clients that need the last microsecond.
//!
//! Parsing of inbound commands is strict because a Kafka topic is an input like any other:
//! size is checked before parsing, version before type, type before fields, and every value
//! is converted exactly (off-tick, off-lot, zero, negative and overflowing values are
//! refused with a typed [`MessageError`], never rounded, never a panic).

mod command;
mod encode;
mod execution;
mod limits;
mod market;
mod reference;
mod risk;
pub mod wire;

use oms_core::model::{ConversionError, InlineId};
use serde::Deserialize;
use thiserror::Error;

pub use command::{
    AmendOrderFields, CancelOrderFields, CommandMessage, Inbound, InboundCommand, KillSwitchFields, MassCancelFields,
    NewOrderFields, SetRiskLimitsFields, TransferFields, TransferInFields, decode_command, decode_inbound,
    encode_command, encode_validation,
};
pub use execution::{
    CommandResultMessage, ExecutionHeader, ExecutionMessage, FillMessage, OrderAcceptedMessage, OrderAmendedMessage,
    OrderCancelledMessage, OrderRejectedMessage, OrderUpdateMessage, decode_execution,
};
pub use limits::LimitsFields;
pub use market::{BookMessage, CandleBar, CandleMessage, PriceMessage, TradeMessage, decode_price};
pub use reference::{Catalog, MarketReference};
pub use risk::{
    BalanceMessage, GLOBAL_KEY, KillSwitchMessage, LimitsMessage, PositionMessage, RiskEventMessage, RiskRejectMessage,
    decode_risk_event,
};

pub use encode::{
    CommandOrigin, encode_balance, encode_book, encode_command_events, encode_position, encode_validation_result,
};

/// Schema version written into every message and the only one accepted on input. A change
/// that an old reader would misread (a renamed or retyped field, a new meaning) bumps it;
/// adding an optional field or a new `type` does not (see `docs/events.md`).
pub const MESSAGE_VERSION: u32 = 1;

/// Largest message accepted or produced, in bytes. A command is under 1 KiB; the bound is
/// checked before any parsing so a huge record costs nothing.
pub const MESSAGE_BYTES_MAX: usize = 16 * 1024;

/// Longest command id: room for a UUID with a prefix (e.g. an idempotency key).
pub const COMMAND_ID_LEN_MAX: usize = 64;

/// The client's id for one command (its idempotency key or a generated UUID), unique per
/// account and command. Engines dedupe redeliveries by it; ingresses match decisions to
/// waiting clients by it.
pub type CommandId = InlineId<COMMAND_ID_LEN_MAX>;

/// Which topic a message belongs on (names come from [`crate::KafkaConfig`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TopicKind {
    /// Commands, key = symbol.
    Orders,
    /// Order events and fills, key = order id.
    Executions,
    /// Trades, book depth and candles, key = symbol.
    Prices,
    /// Rejects, kill switches and breaches, key = account id.
    RiskEvents,
}

/// An encoded message with its topic and key, ready for [`crate::KafkaProducer::publish`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundMessage {
    /// Destination topic.
    pub topic: TopicKind,
    /// Partitioning key.
    pub key: String,
    /// JSON bytes.
    pub payload: Vec<u8>,
}

/// Why a message could not be decoded or encoded.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MessageError {
    /// Over [`MESSAGE_BYTES_MAX`].
    #[error("message of {bytes} bytes is over the {max} byte limit")]
    TooLarge {
        /// Size of the message.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// Not JSON, or not the expected shape (missing, extra, duplicate or mistyped fields).
    #[error("malformed message: {0}")]
    Malformed(String),
    /// A `v` other than [`MESSAGE_VERSION`].
    #[error("unsupported message version {0}")]
    UnsupportedVersion(u64),
    /// A `type` this topic does not carry.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// A field whose text is not acceptable.
    #[error("{field}: {reason}")]
    InvalidField {
        /// Field name.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A field whose value does not convert exactly (zero, negative, off-tick, off-lot,
    /// overflow).
    #[error("{field}: {source}")]
    Value {
        /// Field name.
        field: &'static str,
        /// The conversion failure.
        source: ConversionError,
    },
    /// A symbol that no instrument has.
    #[error("unknown symbol {0:?}")]
    UnknownSymbol(String),
    /// An engine record refers to an instrument or asset the reference data lacks (a
    /// wiring bug on the producing side; the event is not published half-rendered).
    #[error("no reference data for {0}")]
    MissingReference(&'static str),
}

/// The two fields every message starts with, read before anything else.
#[derive(Deserialize)]
struct Header {
    v: u64,
    #[serde(rename = "type")]
    kind: String,
}

/// Size, JSON, version and type checks shared by every decoder; returns the type.
fn check_header(bytes: &[u8], known_types: &[&'static str]) -> Result<&'static str, MessageError> {
    if bytes.len() > MESSAGE_BYTES_MAX {
        return Err(MessageError::TooLarge { bytes: bytes.len(), max: MESSAGE_BYTES_MAX });
    }
    let header: Header = serde_json::from_slice(bytes).map_err(malformed)?;
    if header.v != u64::from(MESSAGE_VERSION) {
        return Err(MessageError::UnsupportedVersion(header.v));
    }
    known_types.iter().find(|known| **known == header.kind).copied().ok_or(MessageError::UnknownType(header.kind))
}

fn malformed(error: serde_json::Error) -> MessageError {
    MessageError::Malformed(error.to_string())
}

/// Parses a record straight into the struct of the type [`check_header`] read. Decoders
/// dispatch on that type rather than deserialize their internally tagged enum, which
/// would first buffer every field as owned, untyped content and parse it a second time
/// (most of what an ingress spent catching up: docs/benchmarks.md §7.4).
fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, MessageError> {
    serde_json::from_slice(bytes).map_err(malformed)
}

/// Serializes a message, enforcing the size bound on the way out too.
fn to_bytes<T: serde::Serialize>(message: &T) -> Result<Vec<u8>, MessageError> {
    let bytes = serde_json::to_vec(message).map_err(malformed)?;
    if bytes.len() > MESSAGE_BYTES_MAX {
        return Err(MessageError::TooLarge { bytes: bytes.len(), max: MESSAGE_BYTES_MAX });
    }
    Ok(bytes)
}
