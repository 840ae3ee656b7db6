//! An account's pre-trade risk limits as they travel: in the `setRiskLimits` command (the
//! ingress sends each shard its share) and in the `limits` risk event (each shard reports
//! what it now enforces). Minor units and the rate window as integer strings, counts as
//! numbers, like the HTTP API.

use oms_core::model::RiskLimits;
use serde::{Deserialize, Serialize};

use super::MessageError;
use super::wire::parse_unsigned;

/// The fields of [`RiskLimits`], as a nested `limits` object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsFields {
    /// Largest single order, base minor units.
    pub order_quantity_max: String,
    /// Largest single order notional, quote minor units.
    pub order_notional_max: String,
    /// Largest absolute position per instrument, working orders included, base minor units.
    pub position_max: String,
    /// Most working orders at once.
    pub open_orders_max: u32,
    /// Most accepted orders per rate window.
    pub orders_per_window_max: u32,
    /// Rate window, nanoseconds.
    pub rate_window_ns: String,
    /// Realized loss per UTC day after which new orders are refused, quote minor units.
    pub daily_loss_max: String,
    /// Most one instrument may hold of the working notional, basis points.
    pub concentration_max_bps: u32,
    /// Working notional below which concentration is not checked, quote minor units.
    pub concentration_floor: String,
}

impl LimitsFields {
    /// The message shape of `limits`.
    pub fn from_limits(l: &RiskLimits) -> Self {
        Self {
            order_quantity_max: l.order_quantity_max_base.to_string(),
            order_notional_max: l.order_notional_max_quote.to_string(),
            position_max: l.position_max_base.to_string(),
            open_orders_max: l.open_orders_max,
            orders_per_window_max: l.orders_per_window_max,
            rate_window_ns: l.rate_window_ns.to_string(),
            daily_loss_max: l.daily_loss_max_quote.to_string(),
            concentration_max_bps: l.concentration_max_bps,
            concentration_floor: l.concentration_floor_quote.to_string(),
        }
    }

    /// Engine units. Checks representability only (canonical non-negative integers in
    /// range); whether the limits make sense together is the engine's call.
    pub fn to_limits(&self) -> Result<RiskLimits, MessageError> {
        Ok(RiskLimits {
            order_quantity_max_base: minor("orderQuantityMax", &self.order_quantity_max)?,
            order_notional_max_quote: minor("orderNotionalMax", &self.order_notional_max)?,
            position_max_base: minor("positionMax", &self.position_max)?,
            open_orders_max: self.open_orders_max,
            orders_per_window_max: self.orders_per_window_max,
            rate_window_ns: parse_unsigned("rateWindowNs", &self.rate_window_ns)?,
            daily_loss_max_quote: minor("dailyLossMax", &self.daily_loss_max)?,
            concentration_max_bps: self.concentration_max_bps,
            concentration_floor_quote: minor("concentrationFloor", &self.concentration_floor)?,
        })
    }
}

fn minor(field: &'static str, text: &str) -> Result<i64, MessageError> {
    i64::try_from(parse_unsigned(field, text)?)
        .map_err(|_| MessageError::Value { field, source: oms_core::model::ConversionError::Overflow })
}
