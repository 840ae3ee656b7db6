//! Market data on `prices` (key = symbol): trades, book depth, candles.

use oms_core::model::{Instrument, Price, Quantity, Timestamp};
use serde::{Deserialize, Serialize};

use super::wire::{SideName, price_text, quantity_text, time_text};
use super::{MESSAGE_VERSION, MessageError, check_header, parse};

const PRICE_TYPES: [&str; 3] = ["trade", "book", "candle"];

/// A message on `prices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum PriceMessage {
    /// A trade printed.
    Trade(TradeMessage),
    /// An instrument's depth after a change.
    Book(BookMessage),
    /// One OHLCV bar.
    Candle(CandleMessage),
}

/// `trade`: the public print (no accounts, no order ids).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TradeMessage {
    /// Schema version.
    pub v: u32,
    /// Instrument.
    pub symbol: String,
    /// Engine trade id (per shard).
    pub trade_id: String,
    /// Price.
    pub price: String,
    /// Quantity.
    pub quantity: String,
    /// Side of the aggressor.
    pub taker_side: SideName,
    /// Trade time.
    pub time: String,
}

/// `book`: an instrument's depth, top levels per side (`[price, quantity]`, best first),
/// sampled by the shard that owns the instrument when it changed (at most every 100 ms).
/// Each message is a whole snapshot, so a consumer that missed one loses nothing; one shard
/// owns an instrument, so `sequence` orders its snapshots and a repeat after a failover (not
/// newer) is skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookMessage {
    /// Schema version.
    pub v: u32,
    /// Instrument.
    pub symbol: String,
    /// Engine sequence the book is as of.
    pub sequence: String,
    /// Bid levels, best (highest) first.
    pub bids: Vec<[String; 2]>,
    /// Ask levels, best (lowest) first.
    pub asks: Vec<[String; 2]>,
    /// When it was sampled.
    pub time: String,
}

impl BookMessage {
    /// Renders levels of `instrument` as of `sequence`.
    pub fn new(
        instrument: &Instrument,
        sequence: u64,
        bids: &[(Price, Quantity)],
        asks: &[(Price, Quantity)],
        time: Timestamp,
    ) -> Self {
        let levels = |side: &[(Price, Quantity)]| {
            side.iter().map(|&(p, q)| [price_text(instrument, p), quantity_text(instrument, q)]).collect()
        };
        Self {
            v: MESSAGE_VERSION,
            symbol: instrument.spec().symbol.as_str().to_owned(),
            sequence: sequence.to_string(),
            bids: levels(bids),
            asks: levels(asks),
            time: time_text(time),
        }
    }
}

/// `candle`: one bar of `interval` starting at `openTime`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CandleMessage {
    /// Schema version.
    pub v: u32,
    /// Instrument.
    pub symbol: String,
    /// Bar length (`1m`, `5m`, `1h`, ... as the HTTP API names them).
    pub interval: String,
    /// Start of the bar.
    pub open_time: String,
    /// First trade price.
    pub open: String,
    /// Highest trade price.
    pub high: String,
    /// Lowest trade price.
    pub low: String,
    /// Last trade price.
    pub close: String,
    /// Base quantity traded.
    pub volume: String,
}

/// One OHLCV bar in engine units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CandleBar {
    /// Start of the bar.
    pub open_time: Timestamp,
    /// First trade price.
    pub open: Price,
    /// Highest trade price.
    pub high: Price,
    /// Lowest trade price.
    pub low: Price,
    /// Last trade price.
    pub close: Price,
    /// Quantity traded.
    pub volume: Quantity,
}

impl CandleMessage {
    /// Renders a bar of `instrument`.
    pub fn new(instrument: &Instrument, interval: &str, bar: &CandleBar) -> Self {
        Self {
            v: MESSAGE_VERSION,
            symbol: instrument.spec().symbol.as_str().to_owned(),
            interval: interval.to_owned(),
            open_time: time_text(bar.open_time),
            open: price_text(instrument, bar.open),
            high: price_text(instrument, bar.high),
            low: price_text(instrument, bar.low),
            close: price_text(instrument, bar.close),
            volume: quantity_text(instrument, bar.volume),
        }
    }
}

/// Decodes a record from `prices`.
pub fn decode_price(bytes: &[u8]) -> Result<PriceMessage, MessageError> {
    Ok(match check_header(bytes, &PRICE_TYPES)? {
        "trade" => PriceMessage::Trade(parse(bytes)?),
        "book" => PriceMessage::Book(parse(bytes)?),
        "candle" => PriceMessage::Candle(parse(bytes)?),
        other => return Err(MessageError::UnknownType(other.to_owned())),
    })
}
