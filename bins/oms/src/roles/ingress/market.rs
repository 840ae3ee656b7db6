//! The ingress's market data: the `prices` topic's trades folded into the same
//! [`MarketData`] projection `--role all` keeps (recent trades, 24-hour ticker, candles),
//! and its `bookTop`s kept as each instrument's best bid and ask. Candle messages are not
//! needed: the bars are rebuilt from the trades.
//!
//! An engine failover republishes decisions, trades included; an instrument lives on one
//! shard, whose trade ids only grow, so a trade id not above the instrument's last is a
//! repeat and is skipped (its volume is not counted twice).

use std::collections::HashMap;

use oms_core::model::{InstrumentId, Price, TradeId};
use oms_http::catalog::Catalog;
use oms_http::market::{MarketData, TradeTick};
use oms_kafka::messages::PriceMessage;
use oms_kafka::messages::wire::{parse_order_id, parse_price, parse_quantity, parse_time};

/// Trades and book tops as the market-data routes read them.
#[derive(Debug, Default)]
pub struct MarketView {
    data: MarketData,
    last_trade: HashMap<InstrumentId, TradeId>,
    tops: HashMap<InstrumentId, (Option<Price>, Option<Price>)>,
    /// Repeated trades skipped.
    pub repeats: u64,
}

impl MarketView {
    /// Folds one `prices` message in; an error names what did not convert (the message
    /// changes nothing).
    pub fn apply(&mut self, catalog: &Catalog, message: &PriceMessage) -> Result<(), String> {
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
                    return Ok(());
                }
                self.last_trade.insert(id, tick.trade_id);
                self.data.apply_tick(id, tick);
            }
            PriceMessage::BookTop(m) => {
                let (id, listing) =
                    catalog.by_symbol(&m.symbol).ok_or_else(|| format!("unknown symbol {:?}", m.symbol))?;
                let i = &listing.instrument;
                let side = |level: &Option<[String; 2]>, field| {
                    level.as_ref().map(|[price, _]| parse_price(i, field, price)).transpose().map_err(|e| e.to_string())
                };
                let top = (side(&m.bid, "bid")?, side(&m.ask, "ask")?);
                self.tops.insert(id, top);
            }
            PriceMessage::Candle(_) => {}
        }
        Ok(())
    }

    /// The trades, ticker and candles.
    pub fn data(&self) -> &MarketData {
        &self.data
    }

    /// Best bid and ask of `instrument` as last published.
    pub fn top(&self, instrument: InstrumentId) -> (Option<Price>, Option<Price>) {
        self.tops.get(&instrument).copied().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
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
        let top = r#"{"type":"bookTop","v":1,"symbol":"BTC-USD","bid":["59990.00","0.5000"],"ask":null,"time":"2026-11-22T10:00:01Z"}"#;
        view.apply(&catalog, &decode_price(top.as_bytes()).expect("decodes")).expect("top");
        assert_eq!(view.top(InstrumentId(0)), (Some(Price(5_999_000)), None));
        assert!(view.apply(&catalog, &trade(3, "60000.001")).is_err(), "off tick");
    }
}
