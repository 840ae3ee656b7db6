//! Risk limits as the API reads and writes them (`GET`/`PUT /api/risk/limits`): minor
//! units as integer strings, counts as numbers (docs/api.md). Shared by `--role all` and
//! the split deployment's ingress, so both accept and answer the same shape.

use axum::body::Bytes;
use oms_core::model::{AccountId, RiskLimits};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;

use crate::orders::parse_json;
use crate::problem::Problem;

/// The rate window the API's `ordersPerSecondMax` counts over.
const ONE_SECOND_NS: u64 = 1_000_000_000;

/// Limits as the API shows them.
pub fn limits_json(l: &RiskLimits) -> serde_json::Value {
    json!({
        "orderQuantityMax": l.order_quantity_max_base.to_string(),
        "orderNotionalMax": l.order_notional_max_quote.to_string(),
        "positionMax": l.position_max_base.to_string(),
        "openOrdersMax": l.open_orders_max,
        "ordersPerSecondMax": l.orders_per_window_max,
        "dailyLossMax": l.daily_loss_max_quote.to_string(),
        "concentrationMaxBps": l.concentration_max_bps,
        "concentrationFloor": l.concentration_floor_quote.to_string(),
    })
}

/// Risk limits (amounts in minor units, as integer strings): the body of `PUT
/// /api/risk/limits` and the shape both routes answer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = LimitsView)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct LimitsBody {
    order_quantity_max: String,
    order_notional_max: String,
    position_max: String,
    open_orders_max: u32,
    orders_per_second_max: u32,
    daily_loss_max: String,
    concentration_max_bps: u32,
    concentration_floor: String,
}

/// Query of `PUT /api/risk/limits`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountQuery {
    account_id: String,
}

impl AccountQuery {
    /// The account the admin names; 400 `invalid_query` unless it is a number.
    pub fn account(&self) -> Result<AccountId, Problem> {
        self.account_id
            .parse()
            .map(AccountId)
            .map_err(|_| Problem::bad_request("invalid_query", "accountId must be a number"))
    }
}

/// Parses a `PUT /api/risk/limits` body: 400 `invalid_json` / `invalid_field` / `overflow`.
/// Whether the values make sense together is the engine's call (`invalid_risk_limits`).
pub fn parse_limits(body: &Bytes) -> Result<RiskLimits, Problem> {
    let b: LimitsBody = parse_json(body)?;
    Ok(RiskLimits {
        order_quantity_max_base: minor("orderQuantityMax", &b.order_quantity_max)?,
        order_notional_max_quote: minor("orderNotionalMax", &b.order_notional_max)?,
        position_max_base: minor("positionMax", &b.position_max)?,
        open_orders_max: b.open_orders_max,
        orders_per_window_max: b.orders_per_second_max,
        rate_window_ns: ONE_SECOND_NS,
        daily_loss_max_quote: minor("dailyLossMax", &b.daily_loss_max)?,
        concentration_max_bps: b.concentration_max_bps,
        concentration_floor_quote: minor("concentrationFloor", &b.concentration_floor)?,
    })
}

fn minor(field: &str, text: &str) -> Result<i64, Problem> {
    let value = crate::dto::parse_decimal(field, text)?;
    if value.is_sign_negative() || value.fract() != Decimal::ZERO {
        return Err(Problem::bad_request(
            "invalid_field",
            format!("{field} must be a non-negative integer amount of minor units"),
        ));
    }
    i64::try_from(value).map_err(|_| Problem::bad_request("overflow", format!("{field} too large")))
}
