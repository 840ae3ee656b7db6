//! Request and response bodies, and the strict conversions between API decimals/strings
//! and engine integers. Anything off is a 400 problem; nothing is rounded.

use oms_core::model::{
    ClientOrderId, ConversionError, Instrument, NewOrder, OrderStatus, OrderType, Price, Quantity, SelfTradePrevention,
    Side, TimeInForce, Timestamp,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::problem::Problem;

/// Longest decimal string accepted.
const DECIMAL_TEXT_MAX: usize = 40;

/// `buy` / `sell`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SideDto {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// Order type names of the API.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum OrderTypeDto {
    /// Limit.
    Limit,
    /// Market.
    Market,
    /// Stop (market when triggered).
    Stop,
    /// Stop-limit.
    StopLimit,
}

/// Time in force names of the API.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum TifDto {
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
    /// Good till date.
    Gtd,
}

/// Self-trade prevention names of the API.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum StpDto {
    /// Cancel the resting order.
    ExpireMaker,
    /// Cancel the incoming order.
    ExpireTaker,
    /// Cancel both.
    ExpireBoth,
    /// Allow self-trades.
    None,
}

/// `POST /api/orders` and `POST /api/risk/validate` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlaceOrder {
    /// Instrument symbol.
    pub symbol: String,
    /// Side.
    pub side: SideDto,
    /// Type.
    #[serde(rename = "type")]
    pub order_type: OrderTypeDto,
    /// Limit or protection price.
    pub price: Option<String>,
    /// Trigger price.
    pub stop_price: Option<String>,
    /// Base quantity.
    pub quantity: String,
    /// Time in force.
    pub time_in_force: Option<TifDto>,
    /// GTD expiry (RFC 3339).
    pub expire_time: Option<String>,
    /// Post-only.
    pub post_only: Option<bool>,
    /// Reduce-only.
    pub reduce_only: Option<bool>,
    /// Caller's id.
    pub client_order_id: Option<String>,
    /// Self-trade prevention.
    pub self_trade_prevention: Option<StpDto>,
}

/// `PATCH /api/orders/{id}` body.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AmendBody {
    /// New price.
    pub price: Option<String>,
    /// New total quantity.
    pub quantity: Option<String>,
}

impl AmendBody {
    /// The engine command for order `order_id` of `account` on `instrument`: 400 when
    /// neither field is given or one is off its tick or lot.
    pub fn to_amend(
        &self,
        instrument: &Instrument,
        account: oms_core::model::AccountId,
        order_id: oms_core::model::OrderId,
    ) -> Result<oms_core::model::AmendOrder, Problem> {
        if self.price.is_none() && self.quantity.is_none() {
            return Err(Problem::bad_request("invalid_field", "give price and/or quantity"));
        }
        Ok(oms_core::model::AmendOrder {
            account,
            order_id,
            price: self.price.as_deref().map(|p| price(instrument, "price", p)).transpose()?,
            quantity: self.quantity.as_deref().map(|q| quantity(instrument, "quantity", q)).transpose()?,
        })
    }
}

/// `POST /api/admin/kill-switch` body.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KillSwitchBody {
    /// `global` or `account`.
    pub scope: String,
    /// The account, for scope `account`.
    pub account_id: Option<String>,
    /// Engage (`true`) or release.
    pub engaged: bool,
    /// On engage, also cancel every working order in scope.
    #[serde(default)]
    pub cancel_open_orders: bool,
}

impl KillSwitchBody {
    /// The engine command: 400 unless the scope is `global` without an account or
    /// `account` with a numeric one.
    pub fn to_kill_switch(&self) -> Result<oms_core::model::KillSwitch, Problem> {
        use oms_core::model::{AccountId, KillSwitchScope};
        let scope = match (self.scope.as_str(), &self.account_id) {
            ("global", None) => KillSwitchScope::Global,
            ("account", Some(id)) => KillSwitchScope::Account(AccountId(
                id.parse().map_err(|_| Problem::bad_request("invalid_field", "accountId must be a number"))?,
            )),
            _ => {
                return Err(Problem::bad_request(
                    "invalid_field",
                    "scope is \"global\" (no accountId) or \"account\" (with accountId)",
                ));
            }
        };
        Ok(oms_core::model::KillSwitch { scope, engaged: self.engaged, cancel_open_orders: self.cancel_open_orders })
    }

    /// The answer once every engine applied it.
    pub fn reply_json(&self) -> serde_json::Value {
        serde_json::json!({ "scope": self.scope, "accountId": self.account_id, "engaged": self.engaged })
    }
}

/// Parses a decimal string strictly (no exponent, no spaces, bounded length).
pub fn parse_decimal(field: &str, text: &str) -> Result<Decimal, Problem> {
    let plain = !text.is_empty()
        && text.len() <= DECIMAL_TEXT_MAX
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
    if !plain {
        return Err(Problem::bad_request(
            "invalid_decimal",
            format!("{field}: {text:?} is not a plain decimal string"),
        ));
    }
    // `from_str_exact` only: plain `from_str` rounds beyond 28 significant digits, which could
    // turn an off-tick value into an on-tick one.
    Decimal::from_str_exact(text)
        .map_err(|_| Problem::bad_request("invalid_decimal", format!("{field}: {text:?} is not an exact decimal")))
}

fn conversion(field: &str, error: ConversionError) -> Problem {
    let code = match error {
        ConversionError::NotPositive | ConversionError::Negative => "not_positive",
        ConversionError::OffTick { .. } => "off_tick",
        ConversionError::OffLot { .. } => "off_lot",
        ConversionError::TooPrecise { .. } => "too_precise",
        ConversionError::Overflow => "overflow",
    };
    Problem::bad_request(code, format!("{field}: {error}"))
}

/// Price field → ticks.
pub fn price(instrument: &Instrument, field: &str, text: &str) -> Result<Price, Problem> {
    instrument.price_from_decimal(parse_decimal(field, text)?).map_err(|e| conversion(field, e))
}

/// Quantity field → lots.
pub fn quantity(instrument: &Instrument, field: &str, text: &str) -> Result<Quantity, Problem> {
    instrument.quantity_from_decimal(parse_decimal(field, text)?).map_err(|e| conversion(field, e))
}

/// RFC 3339 → engine time.
pub fn parse_time(field: &str, text: &str) -> Result<Timestamp, Problem> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| Problem::bad_request("invalid_time", format!("{field}: {text:?} is not an RFC 3339 time")))?;
    u64::try_from(t.unix_timestamp_nanos())
        .map(Timestamp)
        .map_err(|_| Problem::bad_request("invalid_time", format!("{field}: before 1970")))
}

/// Engine time → RFC 3339.
pub fn format_time(t: Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0))
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

impl PlaceOrder {
    /// Converts to an engine command for `account`, checking every field.
    pub fn to_new_order(
        &self,
        catalog: &Catalog,
        account: oms_core::model::AccountId,
        generated_id: &str,
    ) -> Result<NewOrder, Problem> {
        let (instrument_id, listing) = catalog
            .by_symbol(&self.symbol)
            .ok_or_else(|| Problem::not_found("unknown_symbol", format!("no instrument {:?}", self.symbol)))?;
        let instrument = &listing.instrument;
        let order_type = match self.order_type {
            OrderTypeDto::Limit => OrderType::Limit,
            OrderTypeDto::Market => OrderType::Market,
            OrderTypeDto::Stop => OrderType::Stop,
            OrderTypeDto::StopLimit => OrderType::StopLimit,
        };
        let default_tif = if order_type.is_market_like() { TifDto::Ioc } else { TifDto::Gtc };
        let time_in_force = match self.time_in_force.unwrap_or(default_tif) {
            TifDto::Gtc => TimeInForce::Gtc,
            TifDto::Ioc => TimeInForce::Ioc,
            TifDto::Fok => TimeInForce::Fok,
            TifDto::Gtd => TimeInForce::Gtd,
        };
        let client_order_id = ClientOrderId::new(self.client_order_id.as_deref().unwrap_or(generated_id))
            .map_err(|e| Problem::bad_request("invalid_client_order_id", format!("clientOrderId: {e}")))?;
        Ok(NewOrder {
            account,
            client_order_id,
            instrument: instrument_id,
            side: match self.side {
                SideDto::Buy => Side::Buy,
                SideDto::Sell => Side::Sell,
            },
            order_type,
            price: self.price.as_deref().map(|p| price(instrument, "price", p)).transpose()?,
            stop_price: self.stop_price.as_deref().map(|p| price(instrument, "stopPrice", p)).transpose()?,
            quantity: quantity(instrument, "quantity", &self.quantity)?,
            time_in_force,
            expire_time: self.expire_time.as_deref().map(|t| parse_time("expireTime", t)).transpose()?,
            post_only: self.post_only.unwrap_or(false),
            reduce_only: self.reduce_only.unwrap_or(false),
            self_trade_prevention: match self.self_trade_prevention.unwrap_or(StpDto::ExpireMaker) {
                StpDto::ExpireMaker => SelfTradePrevention::ExpireMaker,
                StpDto::ExpireTaker => SelfTradePrevention::ExpireTaker,
                StpDto::ExpireBoth => SelfTradePrevention::ExpireBoth,
                StpDto::None => SelfTradePrevention::None,
            },
        })
    }
}

/// API name of a status.
pub fn status_name(status: OrderStatus) -> &'static str {
    status.code()
}

/// API names of enum values.
pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

/// API name of an order type.
pub fn type_name(t: OrderType) -> &'static str {
    match t {
        OrderType::Limit => "limit",
        OrderType::Market => "market",
        OrderType::Stop => "stop",
        OrderType::StopLimit => "stopLimit",
    }
}

/// API name of a time in force.
pub fn tif_name(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        TimeInForce::Fok => "FOK",
        TimeInForce::Gtd => "GTD",
    }
}
