//! The ingress's market data: the `prices` topic's trades folded into the same
//! [`MarketData`] projection `--role all` keeps (recent trades, 24-hour ticker, candles),
//! and its `book`s kept as each instrument's depth. Candle messages are not needed: the
//! bars are rebuilt from the trades. Each change is also returned as the [`StreamItem`]s
//! `--role all` streams, for the `/ws/market-data` subscribers.
//!
//! An engine failover republishes decisions, trades included; an instrument lives on one
//! shard, whose trade ids and sequences only grow, so a trade id (a book sequence) not above
//! the instrument's last is a repeat and is skipped (its volume is not counted twice).

use std::collections::HashMap;

use oms_core::model::{Instrument, InstrumentId, Price, TradeId};
use oms_http::StreamItem;
use oms_http::catalog::Catalog;
use oms_http::market::{BookSnapshot, Levels, MarketData, TradeTick};
use oms_kafka::messages::PriceMessage;
use oms_kafka::messages::wire::{parse_order_id, parse_price, parse_quantity, parse_time};

/// Trades and book tops as the market-data routes read them.
#[derive(Debug, Default)]
pub struct MarketView {
    data: MarketData,
    last_trade: HashMap<InstrumentId, TradeId>,
    books: HashMap<InstrumentId, BookSnapshot>,
    /// Repeated trades and books skipped.
    pub repeats: u64,
}

impl MarketView {
    /// Folds one `prices` message in and returns what changed as stream items; an error
    /// names what did not convert (the message changes nothing).
    pub fn apply(&mut self, catalog: &Catalog, message: &PriceMessage) -> Result<Vec<StreamItem>, String> {
        match message {
            PriceMessage::Trade(m) => {
                let (id, listing) =
                    catalog.by_symbol(&m.symbol).ok_or_else(|| format!("unknown symbol {:?}", m.symbol))?;
                let i = &listing.instrument;
                let tick = TradeTick {
                    trade_id: TradeId(parse_order_id("tradeId", &m.trade_id).map_err(|e| e.to_string())?.0),
                    price: parse_price(i, "price", &m.price).map_err(|e| e.to_string())?,
                    quantity: parse_quantity(i, "quantity", &m.quantity).map_err(|e| e.to_string())?,
                    taker_side: m.taker_side.into(),
                    time: parse_time("time", &m.time).map_err(|e| e.to_string())?,
                };
                if self.last_trade.get(&id).is_some_and(|last| *last >= tick.trade_id) {
                    self.repeats += 1;
                    return Ok(Vec::new());
                }
                self.last_trade.insert(id, tick.trade_id);
                let candles = self.data.apply_tick(id, tick);
                let mut items = vec![StreamItem::Trade(id, tick)];
                items.extend(
                    candles.into_iter().enumerate().map(|(index, candle)| StreamItem::Candle(id, index, candle)),
                );
                Ok(items)
            }
            PriceMessage::Book(m) => {
                let (id, listing) =
                    catalog.by_symbol(&m.symbol).ok_or_else(|| format!("unknown symbol {:?}", m.symbol))?;
                let i = &listing.instrument;
                let sequence = parse_order_id("sequence", &m.sequence).map_err(|e| e.to_string())?.0;
                let book =
                    BookSnapshot { sequence, bids: levels(i, "bids", &m.bids)?, asks: levels(i, "asks", &m.asks)? };
                let previous = self.books.get(&id).cloned().unwrap_or_default();
                if previous.sequence >= sequence {
                    self.repeats += 1;
                    return Ok(Vec::new());
                }
                let (bids, asks) = book.delta_from(&previous);
                self.books.insert(id, book);
                Ok(vec![StreamItem::BookDelta {
                    instrument: id,
                    sequence,
                    prev_sequence: previous.sequence,
                    bids,
                    asks,
                }])
            }
            PriceMessage::Candle(_) => Ok(Vec::new()),
        }
    }

    /// The trades, ticker and candles.
    pub fn data(&self) -> &MarketData {
        &self.data
    }

    /// Best bid and ask of `instrument` in its last published book.
    pub fn top(&self, instrument: InstrumentId) -> (Option<Price>, Option<Price>) {
        self.books.get(&instrument).map_or((None, None), |b| (b.bids.first().map(|l| l.0), b.asks.first().map(|l| l.0)))
    }

    /// The last published book of `instrument` (empty before its first).
    pub fn book(&self, instrument: InstrumentId) -> BookSnapshot {
        self.books.get(&instrument).cloned().unwrap_or_default()
    }
}

/// `[price, quantity]` levels of a `book` message in engine units.
fn levels(instrument: &Instrument, field: &'static str, levels: &[[String; 2]]) -> Result<Levels, String> {
    levels
        .iter()
        .map(|[price, quantity]| {
            Ok((
                parse_price(instrument, field, price).map_err(|e| e.to_string())?,
                parse_quantity(instrument, field, quantity).map_err(|e| e.to_string())?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use oms_core::model::Quantity;
    use oms_kafka::messages::decode_price;

    use super::*;

    fn catalog() -> Catalog {
        Catalog::from_engine(&crate::demo::Demo::market().reference_engine().expect("market"))
    }

    fn trade(id: u64, price: &str) -> PriceMessage {
        let json = format!(
            r#"{{"type":"trade","v":1,"symbol":"BTC-USD","tradeId":"{id}","price":"{price}","quantity":"0.0100","takerSide":"buy","time":"2026-11-22T10:00:01Z"}}"#
        );
        decode_price(json.as_bytes()).expect("decodes")
    }

    #[test]
    fn trades_make_the_ticker_and_a_republished_trade_is_not_counted_twice() {
        let catalog = catalog();
        let mut view = MarketView::default();
        view.apply(&catalog, &trade(1, "60000.00")).expect("trade");
        view.apply(&catalog, &trade(2, "60100.00")).expect("trade");
        view.apply(&catalog, &trade(2, "60100.00")).expect("again");
        let ticker = view.data().ticker(InstrumentId(0));
        assert_eq!((ticker.last, ticker.volume), (Some(Price(6_010_000)), 200), "two trades of 100 lots");
        assert_eq!(view.repeats, 1);
        assert!(view.apply(&catalog, &trade(3, "60000.001")).is_err(), "off tick");
    }

    fn book(sequence: u64, bids: &str) -> PriceMessage {
        let json = format!(
            r#"{{"type":"book","v":1,"symbol":"BTC-USD","sequence":"{sequence}","bids":{bids},"asks":[["60010.00","0.2000"]],"time":"2026-11-22T10:00:01Z"}}"#
        );
        decode_price(json.as_bytes()).expect("decodes")
    }

    #[test]
    fn books_stream_as_deltas_and_an_older_book_is_skipped() {
        let catalog = catalog();
        let mut view = MarketView::default();
        let first = view.apply(&catalog, &book(7, r#"[["59990.00","0.5000"],["59980.00","1.0000"]]"#)).expect("book");
        let Some(StreamItem::BookDelta { sequence: 7, prev_sequence: 0, bids, asks, .. }) = first.first() else {
            panic!("a delta from nothing: {first:?}")
        };
        assert_eq!((bids.len(), asks.len()), (2, 1));
        let second = view.apply(&catalog, &book(9, r#"[["59980.00","1.0000"]]"#)).expect("book");
        let Some(StreamItem::BookDelta { prev_sequence: 7, bids, asks, .. }) = second.first() else {
            panic!("a delta from 7: {second:?}")
        };
        assert_eq!((bids.as_slice(), asks.len()), ([(Price(5_999_000), Quantity(0))].as_slice(), 0), "best bid gone");
        assert!(view.apply(&catalog, &book(8, "[]")).expect("older").is_empty());
        assert_eq!(view.book(InstrumentId(0)).bids, vec![(Price(5_998_000), Quantity(10_000))]);
        assert_eq!(view.repeats, 1);
        assert!(view.apply(&catalog, &book(10, r#"[["59980.001","1"]]"#)).is_err(), "off tick");
        assert_eq!(view.book(InstrumentId(0)).sequence, 9, "a bad book changes nothing");
    }
}
