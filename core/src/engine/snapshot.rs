//! Engine snapshots: the complete state in the codec's binary form, so recovery loads the
//! latest snapshot and replays only the journal after it.
//!
//! Orders are written in book priority order and re-inserted in that order, which rebuilds
//! identical queues; indexes (order → instrument, client order ids, GTD expiries) are
//! derived again rather than stored. The snapshot ends with the `state_hash()` of the
//! engine that wrote it and a CRC32C over everything: loading checks the checksum first,
//! then the rebuilt engine against the hash, so a damaged snapshot or one that decodes but
//! does not reproduce the state is refused.

use std::cmp::Reverse;
use std::ops::ControlFlow;

use thiserror::Error;

use super::{AssetTotals, Engine, EngineConfig, Market, stop_ladder};
use crate::book::PriceTimeBook;
use crate::codec::tags::*;
use crate::codec::{DecodeError, Reader, Writer, decode_instrument, decode_limits, encode_instrument, encode_limits};
use crate::model::*;
use crate::risk::{Account, Balance, Position};

/// Why a snapshot could not be loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum SnapshotError {
    /// The bytes are malformed.
    #[error("snapshot is malformed: {0}")]
    Decode(#[from] DecodeError),
    /// The CRC32C over the snapshot does not match: the bytes were damaged.
    #[error("snapshot checksum mismatch")]
    ChecksumMismatch,
    /// The state needs more capacity than the configuration gives.
    #[error("snapshot does not fit the configured capacity: {0}")]
    DoesNotFit(&'static str),
    /// The rebuilt state differs from the one that was saved.
    #[error("snapshot state hash {actual:016x} differs from the recorded {expected:016x}")]
    HashMismatch {
        /// Hash written in the snapshot.
        expected: u64,
        /// Hash of the rebuilt engine.
        actual: u64,
    },
}

impl<B: PriceTimeBook> Engine<B> {
    /// Appends the complete engine state to `w`.
    pub fn encode_snapshot(&self, w: &mut Writer) {
        let start = w.len();
        w.opt_u64(self.last_sequence.map(|s| s.0));
        w.u64(self.now.0);
        w.bool(self.global_kill);
        w.u64(self.trades);
        w.u32(self.stream_offsets.len() as u32);
        for &(stream, offset) in &self.stream_offsets {
            w.u32(stream);
            w.u64(offset);
        }
        let assets: Vec<_> = self.assets.iter().flatten().collect();
        w.u32(assets.len() as u32);
        for asset in assets {
            let spec = asset.spec();
            w.u16(spec.id.0);
            w.id(&spec.code);
            w.u32(spec.scale);
            let totals = self.asset_totals[spec.id.0 as usize];
            w.i64(totals.supply);
            w.i64(totals.fees);
        }
        let markets: Vec<_> = self.markets.iter().flatten().collect();
        w.u32(markets.len() as u32);
        for market in markets {
            encode_instrument(market.instrument.spec(), w);
            w.u8(instrument_status_tag(market.status));
            w.opt_i64(market.last_price.map(|p| p.0));
            for (book, ladders) in [
                (&market.book, [Side::Buy, Side::Sell]),
                (&market.stops, [stop_ladder(Side::Buy), stop_ladder(Side::Sell)]),
            ] {
                for ladder in ladders {
                    let mut queue = Vec::new();
                    book.walk(ladder, |key, order| {
                        queue.push((key, *order));
                        ControlFlow::Continue(())
                    });
                    w.u32(queue.len() as u32);
                    for (key, order) in &queue {
                        w.i64(key.0);
                        encode_order(order, w);
                    }
                }
            }
        }
        w.u32(self.accounts.iter().count() as u32);
        for account in self.accounts.iter() {
            encode_account(account, w);
        }
        w.u64(self.state_hash());
        let crc = crc32c::crc32c(&w.as_bytes()[start..]);
        w.u32(crc);
    }

    /// Rebuilds an engine from [`Engine::encode_snapshot`] output under `config`.
    pub fn decode_snapshot(config: EngineConfig, bytes: &[u8]) -> Result<Self, SnapshotError> {
        let body_len = bytes.len().checked_sub(4).ok_or(DecodeError::Truncated { offset: bytes.len() })?;
        let (body, crc) = bytes.split_at(body_len);
        let mut crc_bytes = [0u8; 4];
        crc_bytes.copy_from_slice(crc);
        if crc32c::crc32c(body) != u32::from_le_bytes(crc_bytes) {
            return Err(SnapshotError::ChecksumMismatch);
        }
        let mut r = Reader::new(body);
        let mut engine = Self::with_book(config);
        engine.last_sequence = r.opt_u64()?.map(Sequence);
        engine.now = Timestamp(r.u64()?);
        engine.global_kill = r.bool()?;
        engine.trades = r.u64()?;
        let streams = r.u32()? as usize;
        if streams > super::STREAMS_MAX {
            return Err(SnapshotError::DoesNotFit("STREAMS_MAX"));
        }
        for _ in 0..streams {
            let entry = (r.u32()?, r.u64()?);
            if engine.stream_offsets.last().is_some_and(|&(last, _)| last >= entry.0) {
                return Err(SnapshotError::DoesNotFit("stream offsets out of order"));
            }
            engine.stream_offsets.push(entry);
        }
        for _ in 0..r.u32()? {
            let spec = AssetSpec { id: AssetId(r.u16()?), code: r.id()?, scale: r.u32()? };
            let asset = Asset::new(spec).ok_or(SnapshotError::DoesNotFit("asset scale"))?;
            let slot = engine.assets.get_mut(spec.id.0 as usize).ok_or(SnapshotError::DoesNotFit("assets_max"))?;
            *slot = Some(asset);
            engine.asset_totals[spec.id.0 as usize] = AssetTotals { supply: r.i64()?, fees: r.i64()? };
        }
        for _ in 0..r.u32()? {
            engine.decode_market(&mut r)?;
        }
        for _ in 0..r.u32()? {
            let account = decode_account(&mut r)?;
            if account.balances.len() > config.assets_max || account.positions.len() > config.instruments_max {
                return Err(SnapshotError::DoesNotFit("account vectors"));
            }
            if !engine.accounts.restore(account, config.assets_max, config.instruments_max) {
                return Err(SnapshotError::DoesNotFit("accounts_max or duplicate account"));
            }
        }
        let expected = r.u64()?;
        r.finish()?;
        let actual = engine.state_hash();
        if actual != expected {
            return Err(SnapshotError::HashMismatch { expected, actual });
        }
        Ok(engine)
    }

    fn decode_market(&mut self, r: &mut Reader<'_>) -> Result<(), SnapshotError> {
        let spec = decode_instrument(r)?;
        let (base, quote) = match (self.asset(spec.base), self.asset(spec.quote)) {
            (Some(b), Some(q)) => (*b, *q),
            _ => return Err(SnapshotError::DoesNotFit("instrument assets")),
        };
        let instrument =
            Instrument::new(spec, &base, &quote).map_err(|_| SnapshotError::DoesNotFit("instrument definition"))?;
        let t = r.u8()?;
        let status = instrument_status_from(t).ok_or_else(|| r.bad_tag("instrument status", t))?;
        let last_price = r.opt_i64()?.map(Price);
        let mut market = Market {
            instrument,
            status,
            book: B::with_capacity(self.config.book_orders_max),
            stops: B::with_capacity(self.config.stop_orders_max),
            last_price,
        };
        for stops in [false, true] {
            for side in [Side::Buy, Side::Sell] {
                let ladder = if stops { stop_ladder(side) } else { side };
                for _ in 0..r.u32()? {
                    let key = Price(r.i64()?);
                    let order = decode_order(r)?;
                    let book = if stops { &mut market.stops } else { &mut market.book };
                    if self.order_instruments.contains_key(&order.id) {
                        return Err(SnapshotError::DoesNotFit("duplicate order id"));
                    }
                    book.insert(ladder, key, order).map_err(|_| SnapshotError::DoesNotFit("book_orders_max"))?;
                    self.order_instruments.insert(order.id, spec.id);
                    self.client_order_ids.insert((order.account, order.client_order_id), order.id);
                    if let Some(expire) = order.expire_time {
                        self.expiries.push(Reverse((expire, order.id)));
                    }
                }
            }
        }
        let slot = self.markets.get_mut(spec.id.0 as usize).ok_or(SnapshotError::DoesNotFit("instruments_max"))?;
        *slot = Some(market);
        Ok(())
    }
}

fn encode_order(o: &Order, w: &mut Writer) {
    w.u64(o.id.0);
    w.u32(o.account.0);
    w.id(&o.client_order_id);
    w.u32(o.instrument.0);
    w.u8(side_tag(o.side));
    w.u8(order_type_tag(o.order_type));
    w.u8(tif_tag(o.time_in_force));
    w.u8(stp_tag(o.self_trade_prevention));
    w.bool(o.post_only);
    w.bool(o.reduce_only);
    w.u8(order_status_tag(o.status));
    w.i64(o.price.0);
    w.opt_i64(o.stop_price.map(|p| p.0));
    w.i64(o.quantity.0);
    w.i64(o.filled.0);
    w.i64(o.leaves.0);
    w.opt_u64(o.expire_time.map(|t| t.0));
    w.u64(o.created.0);
}

fn decode_order(r: &mut Reader<'_>) -> Result<Order, DecodeError> {
    let id = OrderId(r.u64()?);
    let account = AccountId(r.u32()?);
    let client_order_id = r.id()?;
    let instrument = InstrumentId(r.u32()?);
    macro_rules! tag {
        ($from:ident, $what:literal) => {{
            let t = r.u8()?;
            $from(t).ok_or_else(|| r.bad_tag($what, t))?
        }};
    }
    let side = tag!(side_from, "side");
    let order_type = tag!(order_type_from, "order type");
    let time_in_force = tag!(tif_from, "time in force");
    let self_trade_prevention = tag!(stp_from, "self-trade prevention");
    let post_only = r.bool()?;
    let reduce_only = r.bool()?;
    let status = tag!(order_status_from, "order status");
    Ok(Order {
        id,
        account,
        client_order_id,
        instrument,
        side,
        order_type,
        time_in_force,
        self_trade_prevention,
        post_only,
        reduce_only,
        status,
        price: Price(r.i64()?),
        stop_price: r.opt_i64()?.map(Price),
        quantity: Quantity(r.i64()?),
        filled: Quantity(r.i64()?),
        leaves: Quantity(r.i64()?),
        expire_time: r.opt_u64()?.map(Timestamp),
        created: Timestamp(r.u64()?),
    })
}

fn encode_account(a: &Account, w: &mut Writer) {
    w.u32(a.id.0);
    w.u32(a.balances.len() as u32);
    for b in &a.balances {
        w.i64(b.available);
        w.i64(b.reserved);
    }
    w.u32(a.positions.len() as u32);
    for p in &a.positions {
        for v in [
            p.net_base,
            p.open_cost_quote,
            p.working_buy_base,
            p.working_sell_base,
            p.working_notional_quote,
            p.realized_pnl_quote,
        ] {
            w.i64(v);
        }
    }
    encode_limits(&a.limits, w);
    w.u32(a.open_orders);
    w.bool(a.killed);
    w.u64(a.rate_window_start.0);
    w.u32(a.rate_window_orders);
    w.u64(a.pnl_day);
    w.i64(a.realized_pnl_today_quote);
    w.i64(a.working_notional_quote);
}

fn decode_account(r: &mut Reader<'_>) -> Result<Account, DecodeError> {
    let id = AccountId(r.u32()?);
    let count = r.u32()? as usize;
    // Bound the allocation by what the input can hold (16 bytes per balance).
    let mut balances = Vec::with_capacity(count.min(r.remaining() / 16));
    for _ in 0..count {
        balances.push(Balance { available: r.i64()?, reserved: r.i64()? });
    }
    let count = r.u32()? as usize;
    let mut positions = Vec::with_capacity(count.min(r.remaining() / 48));
    for _ in 0..count {
        positions.push(Position {
            net_base: r.i64()?,
            open_cost_quote: r.i64()?,
            working_buy_base: r.i64()?,
            working_sell_base: r.i64()?,
            working_notional_quote: r.i64()?,
            realized_pnl_quote: r.i64()?,
        });
    }
    Ok(Account {
        id,
        balances,
        positions,
        limits: decode_limits(r)?,
        open_orders: r.u32()?,
        killed: r.bool()?,
        rate_window_start: Timestamp(r.u64()?),
        rate_window_orders: r.u32()?,
        pnl_day: r.u64()?,
        realized_pnl_today_quote: r.i64()?,
        working_notional_quote: r.i64()?,
    })
}
