//! Per-account pre-trade risk limits.

/// Limits checked before an order is accepted. Units are in the field names: `_base` is
/// base-asset minor units, `_quote` quote-asset minor units. Limits summed across
/// instruments (daily loss, concentration) add quote minor units, so they are meaningful
/// when an account's instruments share a quote asset (the usual single-quote venue).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RiskLimits {
    /// Largest single order, in base minor units.
    pub order_quantity_max_base: i64,
    /// Largest single order notional, in quote minor units.
    pub order_notional_max_quote: i64,
    /// Largest absolute position per instrument including working orders, base units.
    pub position_max_base: i64,
    /// Most working orders at once.
    pub open_orders_max: u32,
    /// Most accepted orders per rate window.
    pub orders_per_window_max: u32,
    /// Rate window length in nanoseconds of command time.
    pub rate_window_ns: u64,
    /// Realized loss per UTC day after which new orders are refused, quote units.
    pub daily_loss_max_quote: i64,
    /// Most one instrument may hold of the account's working-order notional, in bps.
    pub concentration_max_bps: u32,
    /// Working notional in one instrument below which concentration is not checked.
    pub concentration_floor_quote: i64,
}

impl RiskLimits {
    /// Limits that refuse nothing except beyond the hard bounds: 10 000 working orders,
    /// one million orders per second.
    pub const PERMISSIVE: RiskLimits = RiskLimits {
        order_quantity_max_base: i64::MAX,
        order_notional_max_quote: i64::MAX,
        position_max_base: i64::MAX,
        open_orders_max: 10_000,
        orders_per_window_max: 1_000_000,
        rate_window_ns: 1_000_000_000,
        daily_loss_max_quote: i64::MAX,
        concentration_max_bps: 10_000,
        concentration_floor_quote: 0,
    };
}

impl Default for RiskLimits {
    fn default() -> Self {
        Self::PERMISSIVE
    }
}
