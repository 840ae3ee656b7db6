//! Field encodings shared by every message: enum names, decimals, ids and times, written the
//! way the HTTP API writes them (decimals and ids as strings, camelCase names), and parsed
//! strictly: a value that is not exactly representable is refused, never rounded.

use oms_core::model::{
    AccountId, Asset, ConversionError, Instrument, OrderId, OrderStatus, OrderType, Price, Quantity,
    SelfTradePrevention, Side, TimeInForce, Timestamp,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::MessageError;

/// Longest decimal string accepted (as in the HTTP API).
pub const DECIMAL_TEXT_MAX: usize = 40;
/// Longest unsigned integer id string accepted (`u64::MAX` has 20 digits).
const INTEGER_TEXT_MAX: usize = 20;

/// `buy` / `sell`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SideName {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

impl From<Side> for SideName {
    fn from(side: Side) -> Self {
        match side {
            Side::Buy => SideName::Buy,
            Side::Sell => SideName::Sell,
        }
    }
}

impl From<SideName> for Side {
    fn from(side: SideName) -> Self {
        match side {
            SideName::Buy => Side::Buy,
            SideName::Sell => Side::Sell,
        }
    }
}

/// `limit` / `market` / `stop` / `stopLimit`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum OrderTypeName {
    /// Limit.
    Limit,
    /// Market.
    Market,
    /// Stop (market when triggered).
    Stop,
    /// Stop-limit.
    StopLimit,
}

impl From<OrderType> for OrderTypeName {
    fn from(t: OrderType) -> Self {
        match t {
            OrderType::Limit => OrderTypeName::Limit,
            OrderType::Market => OrderTypeName::Market,
            OrderType::Stop => OrderTypeName::Stop,
            OrderType::StopLimit => OrderTypeName::StopLimit,
        }
    }
}

impl From<OrderTypeName> for OrderType {
    fn from(t: OrderTypeName) -> Self {
        match t {
            OrderTypeName::Limit => OrderType::Limit,
            OrderTypeName::Market => OrderType::Market,
            OrderTypeName::Stop => OrderType::Stop,
            OrderTypeName::StopLimit => OrderType::StopLimit,
        }
    }
}

/// `GTC` / `IOC` / `FOK` / `GTD`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum TimeInForceName {
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
    /// Good till date.
    Gtd,
}

impl From<TimeInForce> for TimeInForceName {
    fn from(t: TimeInForce) -> Self {
        match t {
            TimeInForce::Gtc => TimeInForceName::Gtc,
            TimeInForce::Ioc => TimeInForceName::Ioc,
            TimeInForce::Fok => TimeInForceName::Fok,
            TimeInForce::Gtd => TimeInForceName::Gtd,
        }
    }
}

impl From<TimeInForceName> for TimeInForce {
    fn from(t: TimeInForceName) -> Self {
        match t {
            TimeInForceName::Gtc => TimeInForce::Gtc,
            TimeInForceName::Ioc => TimeInForce::Ioc,
            TimeInForceName::Fok => TimeInForce::Fok,
            TimeInForceName::Gtd => TimeInForce::Gtd,
        }
    }
}

/// `expireMaker` / `expireTaker` / `expireBoth` / `none`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum SelfTradePreventionName {
    /// Cancel the resting order.
    ExpireMaker,
    /// Cancel the incoming order.
    ExpireTaker,
    /// Cancel both.
    ExpireBoth,
    /// Allow self-trades.
    None,
}

impl From<SelfTradePrevention> for SelfTradePreventionName {
    fn from(s: SelfTradePrevention) -> Self {
        match s {
            SelfTradePrevention::ExpireMaker => SelfTradePreventionName::ExpireMaker,
            SelfTradePrevention::ExpireTaker => SelfTradePreventionName::ExpireTaker,
            SelfTradePrevention::ExpireBoth => SelfTradePreventionName::ExpireBoth,
            SelfTradePrevention::None => SelfTradePreventionName::None,
        }
    }
}

impl From<SelfTradePreventionName> for SelfTradePrevention {
    fn from(s: SelfTradePreventionName) -> Self {
        match s {
            SelfTradePreventionName::ExpireMaker => SelfTradePrevention::ExpireMaker,
            SelfTradePreventionName::ExpireTaker => SelfTradePrevention::ExpireTaker,
            SelfTradePreventionName::ExpireBoth => SelfTradePrevention::ExpireBoth,
            SelfTradePreventionName::None => SelfTradePrevention::None,
        }
    }
}

/// API name of an order status (`NEW`, `PARTIALLY_FILLED`, ...), as the HTTP API writes it.
pub fn status_name(status: OrderStatus) -> &'static str {
    status.code()
}

/// Parses a plain decimal string (digits, one optional leading `-`, one optional `.`; no
/// exponent, no spaces, bounded length) exactly.
pub fn parse_decimal(field: &'static str, text: &str) -> Result<Decimal, MessageError> {
    let plain = !text.is_empty()
        && text.len() <= DECIMAL_TEXT_MAX
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
    if !plain {
        return Err(MessageError::InvalidField { field, reason: "not a plain decimal string" });
    }
    // `from_str_exact`: plain `from_str` rounds beyond 28 significant digits, which could
    // turn an off-tick value into an on-tick one.
    Decimal::from_str_exact(text).map_err(|_| MessageError::InvalidField { field, reason: "not an exact decimal" })
}

/// Decimal price string → ticks of `instrument`: positive, on-tick, in range.
pub fn parse_price(instrument: &Instrument, field: &'static str, text: &str) -> Result<Price, MessageError> {
    let value = parse_decimal(field, text)?;
    instrument.price_from_decimal(value).map_err(|source| MessageError::Value { field, source })
}

/// Decimal quantity string → lots of `instrument`: positive, on-lot, in range.
pub fn parse_quantity(instrument: &Instrument, field: &'static str, text: &str) -> Result<Quantity, MessageError> {
    let value = parse_decimal(field, text)?;
    instrument.quantity_from_decimal(value).map_err(|source| MessageError::Value { field, source })
}

/// Ticks → decimal string.
pub fn price_text(instrument: &Instrument, price: Price) -> String {
    instrument.price_to_decimal(price).to_string()
}

/// Lots → decimal string.
pub fn quantity_text(instrument: &Instrument, quantity: Quantity) -> String {
    instrument.quantity_to_decimal(quantity).to_string()
}

/// Unsigned decimal integer text (ids are strings on the wire: JavaScript loses `u64`
/// precision in numbers). Digits only: no sign, no spaces, no leading zeros.
pub fn parse_unsigned(field: &'static str, text: &str) -> Result<u64, MessageError> {
    let canonical = !text.is_empty()
        && text.len() <= INTEGER_TEXT_MAX
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(MessageError::InvalidField { field, reason: "not a canonical unsigned integer" });
    }
    text.parse::<u64>().map_err(|_| MessageError::Value { field, source: ConversionError::Overflow })
}

/// Decimal amount string → minor units of `asset`: positive, exact at its scale, in range.
pub fn parse_amount(asset: &Asset, field: &'static str, text: &str) -> Result<i64, MessageError> {
    let value = parse_decimal(field, text)?;
    match asset.amount_from_decimal(value).map_err(|source| MessageError::Value { field, source })? {
        0 => Err(MessageError::Value { field, source: ConversionError::NotPositive }),
        units => Ok(units),
    }
}

/// Minor units → decimal string (trailing zeros dropped).
pub fn amount_text(asset: &Asset, units: i64) -> String {
    asset.amount_to_decimal(units).normalize().to_string()
}

/// Account id text → id.
pub fn parse_account(field: &'static str, text: &str) -> Result<AccountId, MessageError> {
    let value = parse_unsigned(field, text)?;
    u32::try_from(value).map(AccountId).map_err(|_| MessageError::Value { field, source: ConversionError::Overflow })
}

/// Order id text → id (must be positive: ids are command sequences, which start at 1).
pub fn parse_order_id(field: &'static str, text: &str) -> Result<OrderId, MessageError> {
    match parse_unsigned(field, text)? {
        0 => Err(MessageError::Value { field, source: ConversionError::NotPositive }),
        id => Ok(OrderId(id)),
    }
}

/// Engine time → RFC 3339 with nanoseconds (exact: parses back to the same instant).
pub fn time_text(t: Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0))
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// RFC 3339 → engine time (not before 1970, at most the text bound long).
pub fn parse_time(field: &'static str, text: &str) -> Result<Timestamp, MessageError> {
    if text.len() > DECIMAL_TEXT_MAX {
        return Err(MessageError::InvalidField { field, reason: "time text too long" });
    }
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| MessageError::InvalidField { field, reason: "not an RFC 3339 time" })?;
    u64::try_from(t.unix_timestamp_nanos())
        .map(Timestamp)
        .map_err(|_| MessageError::InvalidField { field, reason: "time before 1970 or too far ahead" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_canonical_digits() {
        assert_eq!(parse_account("accountId", "7").ok(), Some(AccountId(7)));
        for bad in ["", "+7", "-7", "07", " 7", "7 ", "1e3", "4294967296"] {
            assert!(parse_account("accountId", bad).is_err(), "{bad:?} must be refused");
        }
        assert!(parse_order_id("orderId", "0").is_err());
        assert!(parse_order_id("orderId", "18446744073709551616").is_err());
        assert_eq!(parse_order_id("orderId", "18446744073709551615").ok(), Some(OrderId(u64::MAX)));
    }

    #[test]
    fn decimals_are_plain_and_exact() {
        for bad in ["", "1e5", " 1", "1,5", "0x10", "NaN", "inf", "1.2.3", "--1"] {
            assert!(parse_decimal("price", bad).is_err(), "{bad:?} must be refused");
        }
        // 30 significant digits do not fit 96 bits: `from_str` would round, `from_str_exact` refuses.
        assert!(parse_decimal("price", "10.0000000000000000000000000001").is_err());
    }

    #[test]
    fn times_round_trip_to_the_nanosecond() {
        for ns in [0, 1, 1_700_000_000_123_456_789, 4_102_444_800_000_000_000] {
            let text = time_text(Timestamp(ns));
            assert_eq!(parse_time("t", &text).ok(), Some(Timestamp(ns)), "{text}");
        }
        assert!(parse_time("t", "1969-12-31T23:59:59Z").is_err());
        assert!(parse_time("t", "yesterday").is_err());
    }
}
