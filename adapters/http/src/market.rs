//! Market data projected from trades: recent trades, OHLCV candles, 24 h ticker; plus the
//! latest order-book snapshot taken from the engine by the book poller.

use std::collections::VecDeque;

use oms_core::model::{InstrumentId, Price, Quantity, Side, Timestamp, Trade, TradeId};
use rustc_hash::FxHashMap;

/// Recent trades kept per instrument.
pub const RECENT_TRADES_MAX: usize = 500;
/// Candles kept per instrument and interval.
pub const CANDLES_MAX: usize = 1_500;
/// Candle intervals served, with their API names.
pub const INTERVALS: [(&str, u64); 3] = [("1m", 60), ("5m", 300), ("1h", 3_600)];
const NS: u64 = 1_000_000_000;

/// A public trade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeTick {
    /// Id.
    pub trade_id: TradeId,
    /// Price.
    pub price: Price,
    /// Quantity.
    pub quantity: Quantity,
    /// Aggressor side.
    pub taker_side: Side,
    /// Time.
    pub time: Timestamp,
}

/// One OHLCV bar (prices in ticks, volume in lots).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candle {
    /// Bar start.
    pub start: Timestamp,
    /// First trade price.
    pub open: Price,
    /// Highest.
    pub high: Price,
    /// Lowest.
    pub low: Price,
    /// Last.
    pub close: Price,
    /// Σ quantity.
    pub volume: i64,
}

/// Per-instrument market data.
#[derive(Debug, Default)]
pub struct InstrumentMarket {
    /// Newest last.
    pub trades: VecDeque<TradeTick>,
    /// Per interval (same order as [`INTERVALS`]), oldest first.
    pub candles: [VecDeque<Candle>; 3],
}

/// 24 h statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ticker {
    /// Last trade price.
    pub last: Option<Price>,
    /// First price in the window.
    pub open: Option<Price>,
    /// High.
    pub high: Option<Price>,
    /// Low.
    pub low: Option<Price>,
    /// Σ volume in lots.
    pub volume: i64,
}

impl Ticker {
    /// Last price minus the window's first price.
    pub fn change(&self) -> Option<Price> {
        Some(Price(self.last?.0 - self.open?.0))
    }
}

/// All instruments' market data.
#[derive(Debug, Default)]
pub struct MarketData {
    instruments: FxHashMap<InstrumentId, InstrumentMarket>,
}

impl MarketData {
    /// Folds a trade in; returns the candles it touched (per interval index).
    pub fn apply_trade(&mut self, trade: &Trade) -> [Candle; 3] {
        let tick = TradeTick {
            trade_id: trade.trade_id,
            price: trade.price,
            quantity: trade.quantity,
            taker_side: trade.taker_side,
            time: trade.timestamp,
        };
        self.apply_tick(trade.instrument, tick)
    }

    /// Folds a public print in (what `prices` carries: no accounts); returns the candles it
    /// touched (per interval index).
    pub fn apply_tick(&mut self, instrument: InstrumentId, tick: TradeTick) -> [Candle; 3] {
        let market = self.instruments.entry(instrument).or_default();
        if market.trades.len() == RECENT_TRADES_MAX {
            market.trades.pop_front();
        }
        market.trades.push_back(tick);
        let mut touched = [Candle {
            start: Timestamp(0),
            open: tick.price,
            high: tick.price,
            low: tick.price,
            close: tick.price,
            volume: 0,
        }; 3];
        for (index, (_, seconds)) in INTERVALS.iter().enumerate() {
            let width = seconds * NS;
            let start = Timestamp(tick.time.0 / width * width);
            let series = &mut market.candles[index];
            match series.back_mut() {
                Some(c) if c.start == start => {
                    c.high = c.high.max(tick.price);
                    c.low = c.low.min(tick.price);
                    c.close = tick.price;
                    c.volume += tick.quantity.0;
                }
                // A trade older than the current bar (clock skew between producers) is
                // folded into the current bar rather than reopening history.
                Some(c) if c.start > start => {
                    c.volume += tick.quantity.0;
                }
                _ => {
                    if series.len() == CANDLES_MAX {
                        series.pop_front();
                    }
                    series.push_back(Candle {
                        start,
                        open: tick.price,
                        high: tick.price,
                        low: tick.price,
                        close: tick.price,
                        volume: tick.quantity.0,
                    });
                }
            }
            touched[index] = *series.back().expect("just pushed or updated");
        }
        touched
    }

    /// An instrument's data.
    pub fn instrument(&self, id: InstrumentId) -> Option<&InstrumentMarket> {
        self.instruments.get(&id)
    }

    /// 24 h ticker ending at the latest trade.
    pub fn ticker(&self, id: InstrumentId) -> Ticker {
        let Some(market) = self.instruments.get(&id) else { return Ticker::default() };
        let Some(last) = market.trades.back() else { return Ticker::default() };
        let since = Timestamp(last.time.0.saturating_sub(86_400 * NS));
        let mut ticker = Ticker { last: Some(last.price), ..Ticker::default() };
        for c in market.candles[0].iter().filter(|c| c.start >= since) {
            ticker.open.get_or_insert(c.open);
            ticker.high = Some(ticker.high.map_or(c.high, |h| h.max(c.high)));
            ticker.low = Some(ticker.low.map_or(c.low, |l| l.min(c.low)));
            ticker.volume += c.volume;
        }
        ticker
    }
}

/// Price levels `(price, quantity)`.
pub type Levels = Vec<(Price, Quantity)>;

/// An L2 snapshot: levels best first, `(price, quantity)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BookSnapshot {
    /// Sequence of the engine read that took it.
    pub sequence: u64,
    /// Bids, best first.
    pub bids: Vec<(Price, Quantity)>,
    /// Asks, best first.
    pub asks: Vec<(Price, Quantity)>,
}

impl BookSnapshot {
    /// The top `depth` levels per side of `instrument`, best first (run on the engine
    /// thread; `sequence` is left 0 for the caller to set).
    pub fn read(engine: &oms_core::prelude::Engine, instrument: InstrumentId, depth: usize) -> Self {
        let mut book = BookSnapshot::default();
        engine.depth(instrument, oms_core::model::Side::Buy, depth, |l| book.bids.push((l.price, l.quantity)));
        engine.depth(instrument, oms_core::model::Side::Sell, depth, |l| book.asks.push((l.price, l.quantity)));
        book
    }

    /// Levels that differ from `previous` (quantity 0 = removed), per side.
    pub fn delta_from(&self, previous: &BookSnapshot) -> (Levels, Levels) {
        (side_delta(&previous.bids, &self.bids), side_delta(&previous.asks, &self.asks))
    }
}

fn side_delta(old: &[(Price, Quantity)], new: &[(Price, Quantity)]) -> Vec<(Price, Quantity)> {
    let old_map: FxHashMap<Price, Quantity> = old.iter().copied().collect();
    let new_map: FxHashMap<Price, Quantity> = new.iter().copied().collect();
    let mut changes: Vec<(Price, Quantity)> = new.iter().filter(|(p, q)| old_map.get(p) != Some(q)).copied().collect();
    changes.extend(old.iter().filter(|(p, _)| !new_map.contains_key(p)).map(|(p, _)| (*p, Quantity::ZERO)));
    changes.sort_by_key(|(p, _)| *p);
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_rebuild_the_new_book() {
        let old = BookSnapshot {
            sequence: 1,
            bids: vec![(Price(10), Quantity(5)), (Price(9), Quantity(1))],
            asks: vec![(Price(12), Quantity(2))],
        };
        let new = BookSnapshot {
            sequence: 2,
            bids: vec![(Price(10), Quantity(3)), (Price(8), Quantity(4))],
            asks: vec![(Price(12), Quantity(2))],
        };
        let (bids, asks) = new.delta_from(&old);
        assert_eq!(bids, vec![(Price(8), Quantity(4)), (Price(9), Quantity::ZERO), (Price(10), Quantity(3))]);
        assert!(asks.is_empty());
    }
}
