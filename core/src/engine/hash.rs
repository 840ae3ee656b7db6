//! `state_hash()`: a digest of everything that decides future behaviour — assets,
//! instruments and their books in priority order, stops, accounts in creation order, the
//! kill switch and the trade counter. Two engines with equal hashes behave identically.
//!
//! Values are fed as explicit little-endian bytes (never through `Hash` impls, whose
//! output may change between compiler versions) into XXH3-64. Sequence and clock are left
//! out on purpose: a refused command advances them but changes nothing else, and tests
//! assert exactly that.

use std::ops::ControlFlow;

use xxhash_rust::xxh3::Xxh3;

use super::{Engine, stop_ladder};
use crate::book::PriceTimeBook;
use crate::codec::tags::{order_status_tag, order_type_tag, side_tag, stp_tag, tif_tag};
use crate::model::{Order, Price, Side};
use crate::risk::Account;

struct StateHasher(Xxh3);

impl StateHasher {
    fn u64(&mut self, v: u64) {
        self.0.update(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.update(&v.to_le_bytes());
    }
    fn opt(&mut self, v: Option<i64>) {
        match v {
            Some(v) => {
                self.u64(1);
                self.i64(v);
            }
            None => self.u64(0),
        }
    }
    fn bytes(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.0.update(v);
    }

    fn order(&mut self, key: Price, o: &Order) {
        self.i64(key.0);
        self.u64(o.id.0);
        self.u64(u64::from(o.account.0));
        self.bytes(o.client_order_id.as_bytes());
        self.u64(u64::from(o.instrument.0));
        self.u64(u64::from(side_tag(o.side)));
        self.u64(u64::from(order_type_tag(o.order_type)));
        self.u64(u64::from(tif_tag(o.time_in_force)));
        self.u64(u64::from(stp_tag(o.self_trade_prevention)));
        self.u64(u64::from(o.post_only) | u64::from(o.reduce_only) << 1);
        self.u64(u64::from(order_status_tag(o.status)));
        self.i64(o.price.0);
        self.opt(o.stop_price.map(|p| p.0));
        self.i64(o.quantity.0);
        self.i64(o.filled.0);
        self.i64(o.leaves.0);
        self.opt(o.expire_time.map(|t| t.0 as i64));
        self.u64(o.created.0);
    }

    fn account(&mut self, a: &Account) {
        self.u64(u64::from(a.id.0));
        for b in &a.balances {
            self.i64(b.available);
            self.i64(b.reserved);
        }
        for p in &a.positions {
            for v in [
                p.net_base,
                p.open_cost_quote,
                p.working_buy_base,
                p.working_sell_base,
                p.working_notional_quote,
                p.realized_pnl_quote,
            ] {
                self.i64(v);
            }
        }
        let l = &a.limits;
        for v in [
            l.order_quantity_max_base,
            l.order_notional_max_quote,
            l.position_max_base,
            l.daily_loss_max_quote,
            l.concentration_floor_quote,
        ] {
            self.i64(v);
        }
        for v in [
            u64::from(l.open_orders_max),
            u64::from(l.orders_per_window_max),
            l.rate_window_ns,
            u64::from(l.concentration_max_bps),
        ] {
            self.u64(v);
        }
        self.u64(u64::from(a.open_orders));
        self.u64(u64::from(a.killed));
        self.u64(a.rate_window_start.0);
        self.u64(u64::from(a.rate_window_orders));
        self.u64(a.pnl_day);
        self.i64(a.realized_pnl_today_quote);
        self.i64(a.working_notional_quote);
    }
}

impl<B: PriceTimeBook> Engine<B> {
    /// Digest of the engine state; see the module docs.
    pub fn state_hash(&self) -> u64 {
        let mut h = StateHasher(Xxh3::new());
        h.u64(u64::from(self.global_kill));
        h.u64(self.trades);
        h.u64(self.stream_offsets.len() as u64);
        for &(stream, offset) in &self.stream_offsets {
            h.u64(u64::from(stream));
            h.u64(offset);
        }
        for (asset, totals) in self.assets.iter().zip(&self.asset_totals) {
            match asset {
                Some(a) => {
                    h.bytes(a.spec().code.as_bytes());
                    h.u64(u64::from(a.spec().scale));
                    h.i64(totals.supply);
                    h.i64(totals.fees);
                }
                None => h.u64(0),
            }
        }
        for market in self.markets.iter().flatten() {
            let spec = market.instrument.spec();
            h.u64(u64::from(spec.id.0));
            h.bytes(spec.symbol.as_bytes());
            h.u64(matches!(market.status, crate::model::InstrumentStatus::Trading) as u64);
            h.opt(market.last_price.map(|p| p.0));
            let mut visit = |key: Price, o: &Order| {
                h.order(key, o);
                ControlFlow::Continue(())
            };
            market.book.walk(Side::Buy, &mut visit);
            market.book.walk(Side::Sell, &mut visit);
            market.stops.walk(stop_ladder(Side::Buy), &mut visit);
            market.stops.walk(stop_ladder(Side::Sell), &mut visit);
            h.u64(market.book.len() as u64);
            h.u64(market.stops.len() as u64);
        }
        for account in self.accounts.iter() {
            h.account(account);
        }
        h.0.digest()
    }
}
