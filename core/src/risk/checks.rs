//! The pre-trade checks. Pure: they read state and return what acceptance would reserve,
//! or the first reason to refuse. Order of checks: cheapest and most absolute first
//! (kill switches, rate, counts), balances last.

use super::account::Account;
use crate::model::{AssetId, Instrument, Price, Quantity, RejectReason, Side, Timestamp};

/// What a working order holds: the reserved balance and the exposure counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderExposure {
    /// Asset held: quote for buys, base for sells.
    pub asset: AssetId,
    /// Amount held in `asset` minor units.
    pub reserved: i64,
    /// Quantity in base minor units.
    pub base: i64,
    /// Notional at the order's price, quote minor units.
    pub notional: i64,
}

/// What acceptance of a new order reserves.
pub type Reservation = OrderExposure;

/// Exposure of `leaves` at `price` on `side`; `None` on arithmetic overflow.
#[inline]
pub fn exposure_of(instrument: &Instrument, side: Side, price: Price, leaves: Quantity) -> Option<OrderExposure> {
    let base = instrument.base_units(leaves)?;
    let notional = instrument.notional(price, leaves)?;
    let spec = instrument.spec();
    Some(match side {
        Side::Buy => OrderExposure { asset: spec.quote, reserved: notional, base, notional },
        Side::Sell => OrderExposure { asset: spec.base, reserved: base, base, notional },
    })
}

/// Inputs of a new-order check beyond the account and instrument.
#[derive(Clone, Copy, Debug)]
pub struct NewOrderRisk {
    /// Side.
    pub side: Side,
    /// Limit price, or the protection price for market-like orders.
    pub price: Price,
    /// Quantity.
    pub quantity: Quantity,
    /// Reduce-only flag.
    pub reduce_only: bool,
    /// Command time.
    pub now: Timestamp,
    /// Global kill switch state.
    pub global_kill: bool,
}

/// Runs every account-level check for a new order.
pub fn check_new_order(
    account: &Account,
    instrument: &Instrument,
    order: &NewOrderRisk,
) -> Result<Reservation, RejectReason> {
    use RejectReason as R;
    let limits = &account.limits;
    if order.global_kill {
        return Err(R::GlobalKillSwitch);
    }
    if account.killed {
        return Err(R::AccountKillSwitch);
    }
    if account.orders_in_window(order.now) >= limits.orders_per_window_max {
        return Err(R::OrderRateLimit);
    }
    if account.open_orders >= limits.open_orders_max {
        return Err(R::OpenOrdersLimit);
    }
    let loss_today = -account.realized_pnl_on(order.now);
    if loss_today >= limits.daily_loss_max_quote {
        return Err(R::DailyLossLimit);
    }
    let exposure = exposure_of(instrument, order.side, order.price, order.quantity).ok_or(R::Overflow)?;
    if exposure.base > limits.order_quantity_max_base {
        return Err(R::OrderQuantityLimit);
    }
    if exposure.notional > limits.order_notional_max_quote {
        return Err(R::OrderNotionalLimit);
    }
    let position = &account.positions[instrument.id().0 as usize];
    if order.reduce_only {
        let reduces = match order.side {
            Side::Buy => position.net_base < 0 && exposure.base <= -position.net_base,
            Side::Sell => position.net_base > 0 && exposure.base <= position.net_base,
        };
        if !reduces {
            return Err(R::ReduceOnlyWouldIncrease);
        }
    }
    check_position(
        position.net_base,
        position.working_buy_base,
        position.working_sell_base,
        &exposure,
        order.side,
        limits.position_max_base,
    )?;
    let symbol_after = position.working_notional_quote.checked_add(exposure.notional).ok_or(R::Overflow)?;
    let total_after = account.working_notional_quote.checked_add(exposure.notional).ok_or(R::Overflow)?;
    if symbol_after > limits.concentration_floor_quote
        && i128::from(symbol_after) * 10_000 > i128::from(limits.concentration_max_bps) * i128::from(total_after)
    {
        return Err(R::ConcentrationLimit);
    }
    let balance = &account.balances[exposure.asset.0 as usize];
    if balance.available < exposure.reserved {
        return Err(R::InsufficientBalance);
    }
    Ok(exposure)
}

/// Position limit: the worst case if every working order on the same side fills.
fn check_position(
    net: i64,
    working_buy: i64,
    working_sell: i64,
    exposure: &OrderExposure,
    side: Side,
    max: i64,
) -> Result<(), RejectReason> {
    let worst = match side {
        Side::Buy => i128::from(net) + i128::from(working_buy) + i128::from(exposure.base),
        Side::Sell => -(i128::from(net) - i128::from(working_sell) - i128::from(exposure.base)),
    };
    if worst > i128::from(max) { Err(RejectReason::PositionLimit) } else { Ok(()) }
}
