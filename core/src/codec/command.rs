//! Command payloads: `timestamp`, the origin, then a tag and the action's fields. The
//! sequence is not part of the payload; the journal record header carries it.

use super::tags::*;
use super::wire::{DecodeError, Reader, Writer};
use crate::model::*;

const NEW_ORDER: u8 = 1;
const CANCEL_ORDER: u8 = 2;
const AMEND_ORDER: u8 = 3;
const MASS_CANCEL: u8 = 4;
const DEFINE_ASSET: u8 = 5;
const ADD_INSTRUMENT: u8 = 6;
const SET_INSTRUMENT_STATUS: u8 = 7;
const DEPOSIT: u8 = 8;
const WITHDRAW: u8 = 9;
const SET_RISK_LIMITS: u8 = 10;
const KILL_SWITCH: u8 = 11;
const HEARTBEAT: u8 = 12;
const TRANSFER_OUT: u8 = 13;
const TRANSFER_IN: u8 = 14;

const ORIGIN_DIRECT: u8 = 0;
const ORIGIN_STREAM: u8 = 1;

/// Appends the payload of `command` (timestamp, origin and action) to `w`.
pub fn encode_command(command: &Command, w: &mut Writer) {
    w.u64(command.timestamp.0);
    match command.origin {
        Origin::Direct => w.u8(ORIGIN_DIRECT),
        Origin::Stream { stream, offset } => {
            w.u8(ORIGIN_STREAM);
            w.u32(stream);
            w.u64(offset);
        }
    }
    match &command.action {
        Action::NewOrder(o) => {
            w.u8(NEW_ORDER);
            encode_new_order(o, w);
        }
        Action::CancelOrder(c) => {
            w.u8(CANCEL_ORDER);
            w.u32(c.account.0);
            w.u64(c.order_id.0);
        }
        Action::AmendOrder(a) => {
            w.u8(AMEND_ORDER);
            w.u32(a.account.0);
            w.u64(a.order_id.0);
            w.opt_i64(a.price.map(|p| p.0));
            w.opt_i64(a.quantity.map(|q| q.0));
        }
        Action::MassCancel(m) => {
            w.u8(MASS_CANCEL);
            w.u32(m.account.0);
            w.opt_i64(m.instrument.map(|i| i64::from(i.0)));
        }
        Action::DefineAsset(a) => {
            w.u8(DEFINE_ASSET);
            w.u16(a.id.0);
            w.id(&a.code);
            w.u32(a.scale);
        }
        Action::AddInstrument(s) => {
            w.u8(ADD_INSTRUMENT);
            encode_instrument(s, w);
        }
        Action::SetInstrumentStatus(s) => {
            w.u8(SET_INSTRUMENT_STATUS);
            w.u32(s.instrument.0);
            w.u8(instrument_status_tag(s.status));
        }
        Action::Deposit(t) | Action::Withdraw(t) => {
            w.u8(if matches!(command.action, Action::Deposit(_)) { DEPOSIT } else { WITHDRAW });
            w.u32(t.account.0);
            w.u16(t.asset.0);
            w.i64(t.amount);
        }
        Action::TransferOut(t) => {
            w.u8(TRANSFER_OUT);
            w.u32(t.account.0);
            w.u16(t.asset.0);
            w.i64(t.amount);
            w.u32(t.to.0);
        }
        Action::TransferIn(t) => {
            w.u8(TRANSFER_IN);
            w.u32(t.account.0);
            w.u16(t.asset.0);
            w.i64(t.amount);
            w.u32(t.from_shard);
            w.u64(t.source_offset);
        }
        Action::SetRiskLimits(s) => {
            w.u8(SET_RISK_LIMITS);
            w.u32(s.account.0);
            encode_limits(&s.limits, w);
        }
        Action::KillSwitch(k) => {
            w.u8(KILL_SWITCH);
            match k.scope {
                KillSwitchScope::Global => w.u8(0),
                KillSwitchScope::Account(a) => {
                    w.u8(1);
                    w.u32(a.0);
                }
            }
            w.bool(k.engaged);
            w.bool(k.cancel_open_orders);
        }
        Action::Heartbeat => w.u8(HEARTBEAT),
    }
}

/// Decodes a payload written by [`encode_command`] for `sequence`; every byte must be used.
pub fn decode_command(sequence: Sequence, bytes: &[u8]) -> Result<Command, DecodeError> {
    let mut r = Reader::new(bytes);
    let timestamp = Timestamp(r.u64()?);
    let origin = match r.u8()? {
        ORIGIN_DIRECT => Origin::Direct,
        ORIGIN_STREAM => Origin::Stream { stream: r.u32()?, offset: r.u64()? },
        t => return Err(r.bad_tag("origin", t)),
    };
    let tag = r.u8()?;
    let action = match tag {
        NEW_ORDER => Action::NewOrder(decode_new_order(&mut r)?),
        CANCEL_ORDER => Action::CancelOrder(CancelOrder { account: AccountId(r.u32()?), order_id: OrderId(r.u64()?) }),
        AMEND_ORDER => Action::AmendOrder(AmendOrder {
            account: AccountId(r.u32()?),
            order_id: OrderId(r.u64()?),
            price: r.opt_i64()?.map(Price),
            quantity: r.opt_i64()?.map(Quantity),
        }),
        MASS_CANCEL => Action::MassCancel(MassCancel {
            account: AccountId(r.u32()?),
            instrument: opt_u32(&mut r)?.map(InstrumentId),
        }),
        DEFINE_ASSET => Action::DefineAsset(AssetSpec { id: AssetId(r.u16()?), code: r.id()?, scale: r.u32()? }),
        ADD_INSTRUMENT => Action::AddInstrument(decode_instrument(&mut r)?),
        SET_INSTRUMENT_STATUS => {
            let instrument = InstrumentId(r.u32()?);
            let t = r.u8()?;
            let status = instrument_status_from(t).ok_or_else(|| r.bad_tag("instrument status", t))?;
            Action::SetInstrumentStatus(SetInstrumentStatus { instrument, status })
        }
        DEPOSIT | WITHDRAW => {
            let transfer = BalanceTransfer { account: AccountId(r.u32()?), asset: AssetId(r.u16()?), amount: r.i64()? };
            if tag == DEPOSIT { Action::Deposit(transfer) } else { Action::Withdraw(transfer) }
        }
        TRANSFER_OUT => Action::TransferOut(TransferOut {
            account: AccountId(r.u32()?),
            asset: AssetId(r.u16()?),
            amount: r.i64()?,
            to: InstrumentId(r.u32()?),
        }),
        TRANSFER_IN => Action::TransferIn(TransferIn {
            account: AccountId(r.u32()?),
            asset: AssetId(r.u16()?),
            amount: r.i64()?,
            from_shard: r.u32()?,
            source_offset: r.u64()?,
        }),
        SET_RISK_LIMITS => {
            Action::SetRiskLimits(SetRiskLimits { account: AccountId(r.u32()?), limits: decode_limits(&mut r)? })
        }
        KILL_SWITCH => {
            let scope = match r.u8()? {
                0 => KillSwitchScope::Global,
                1 => KillSwitchScope::Account(AccountId(r.u32()?)),
                t => return Err(r.bad_tag("kill switch scope", t)),
            };
            Action::KillSwitch(KillSwitch { scope, engaged: r.bool()?, cancel_open_orders: r.bool()? })
        }
        HEARTBEAT => Action::Heartbeat,
        t => return Err(r.bad_tag("command", t)),
    };
    r.finish()?;
    Ok(Command { sequence, timestamp, origin, action })
}

fn opt_u32(r: &mut Reader<'_>) -> Result<Option<u32>, DecodeError> {
    let offset = r.offset();
    match r.opt_i64()? {
        None => Ok(None),
        Some(v) => u32::try_from(v).map(Some).map_err(|_| DecodeError::InvalidValue { what: "u32", offset }),
    }
}

fn encode_new_order(o: &NewOrder, w: &mut Writer) {
    w.u32(o.account.0);
    w.id(&o.client_order_id);
    w.u32(o.instrument.0);
    w.u8(side_tag(o.side));
    w.u8(order_type_tag(o.order_type));
    w.opt_i64(o.price.map(|p| p.0));
    w.opt_i64(o.stop_price.map(|p| p.0));
    w.i64(o.quantity.0);
    w.u8(tif_tag(o.time_in_force));
    w.opt_u64(o.expire_time.map(|t| t.0));
    w.bool(o.post_only);
    w.bool(o.reduce_only);
    w.u8(stp_tag(o.self_trade_prevention));
}

fn decode_new_order(r: &mut Reader<'_>) -> Result<NewOrder, DecodeError> {
    let account = AccountId(r.u32()?);
    let client_order_id = r.id()?;
    let instrument = InstrumentId(r.u32()?);
    let t = r.u8()?;
    let side = side_from(t).ok_or_else(|| r.bad_tag("side", t))?;
    let t = r.u8()?;
    let order_type = order_type_from(t).ok_or_else(|| r.bad_tag("order type", t))?;
    let price = r.opt_i64()?.map(Price);
    let stop_price = r.opt_i64()?.map(Price);
    let quantity = Quantity(r.i64()?);
    let t = r.u8()?;
    let time_in_force = tif_from(t).ok_or_else(|| r.bad_tag("time in force", t))?;
    let expire_time = r.opt_u64()?.map(Timestamp);
    let post_only = r.bool()?;
    let reduce_only = r.bool()?;
    let t = r.u8()?;
    let self_trade_prevention = stp_from(t).ok_or_else(|| r.bad_tag("self-trade prevention", t))?;
    Ok(NewOrder {
        account,
        client_order_id,
        instrument,
        side,
        order_type,
        price,
        stop_price,
        quantity,
        time_in_force,
        expire_time,
        post_only,
        reduce_only,
        self_trade_prevention,
    })
}

/// Writes an instrument definition (also used by snapshots).
pub(crate) fn encode_instrument(s: &InstrumentSpec, w: &mut Writer) {
    w.u32(s.id.0);
    w.id(&s.symbol);
    w.u16(s.base.0);
    w.u16(s.quote.0);
    for d in [s.tick_size, s.lot_size, s.quantity_min, s.quantity_max, s.notional_min, s.notional_max] {
        w.decimal(d);
    }
    w.u32(s.price_band_bps);
    w.decimal(s.reference_price);
    w.u32(s.maker_fee_ppm);
    w.u32(s.taker_fee_ppm);
}

/// Reads an instrument definition.
pub(crate) fn decode_instrument(r: &mut Reader<'_>) -> Result<InstrumentSpec, DecodeError> {
    Ok(InstrumentSpec {
        id: InstrumentId(r.u32()?),
        symbol: r.id()?,
        base: AssetId(r.u16()?),
        quote: AssetId(r.u16()?),
        tick_size: r.decimal()?,
        lot_size: r.decimal()?,
        quantity_min: r.decimal()?,
        quantity_max: r.decimal()?,
        notional_min: r.decimal()?,
        notional_max: r.decimal()?,
        price_band_bps: r.u32()?,
        reference_price: r.decimal()?,
        maker_fee_ppm: r.u32()?,
        taker_fee_ppm: r.u32()?,
    })
}

/// Writes risk limits (also used by snapshots).
pub(crate) fn encode_limits(l: &RiskLimits, w: &mut Writer) {
    w.i64(l.order_quantity_max_base);
    w.i64(l.order_notional_max_quote);
    w.i64(l.position_max_base);
    w.u32(l.open_orders_max);
    w.u32(l.orders_per_window_max);
    w.u64(l.rate_window_ns);
    w.i64(l.daily_loss_max_quote);
    w.u32(l.concentration_max_bps);
    w.i64(l.concentration_floor_quote);
}

/// Reads risk limits.
pub(crate) fn decode_limits(r: &mut Reader<'_>) -> Result<RiskLimits, DecodeError> {
    Ok(RiskLimits {
        order_quantity_max_base: r.i64()?,
        order_notional_max_quote: r.i64()?,
        position_max_base: r.i64()?,
        open_orders_max: r.u32()?,
        orders_per_window_max: r.u32()?,
        rate_window_ns: r.u64()?,
        daily_loss_max_quote: r.i64()?,
        concentration_max_bps: r.u32()?,
        concentration_floor_quote: r.i64()?,
    })
}
