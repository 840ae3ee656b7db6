//! Engine records → API JSON (decimals as strings, ids as strings, camelCase).

use oms_core::model::{Instrument, Price, Quantity, Side};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::catalog::Catalog;
use crate::dto::{format_time, side_name, status_name, tif_name, type_name};
use crate::history::{ExecutionRecord, OrderRecord};

pub(crate) fn price(instrument: &Instrument, p: Price) -> String {
    instrument.price_to_decimal(p).to_string()
}

pub(crate) fn quantity(instrument: &Instrument, q: Quantity) -> String {
    instrument.quantity_to_decimal(q).to_string()
}

/// Book levels as `[price, quantity]` string pairs.
pub(crate) fn levels(instrument: &Instrument, levels: &[(Price, Quantity)]) -> Vec<[String; 2]> {
    levels.iter().map(|(p, q)| [price(instrument, *p), quantity(instrument, *q)]).collect()
}

/// An order (with `fills` when given).
pub(crate) fn order(catalog: &Catalog, record: &OrderRecord, fills: Option<Vec<Value>>) -> Value {
    let o = &record.order;
    let Some(listing) = catalog.listing(o.instrument) else { return json!({ "orderId": o.id.0.to_string() }) };
    let i = &listing.instrument;
    let average = (o.filled.0 > 0).then(|| {
        let ticks = Decimal::from_i128_with_scale(record.filled_value, 0) / Decimal::from(o.filled.0);
        (ticks * i.spec().tick_size).round_dp(i.spec().tick_size.scale() + 4).normalize().to_string()
    });
    let mut value = json!({
        "orderId": o.id.0.to_string(),
        "clientOrderId": o.client_order_id.as_str(),
        "accountId": o.account.0.to_string(),
        "symbol": i.spec().symbol.as_str(),
        "side": side_name(o.side),
        "type": type_name(o.order_type),
        "timeInForce": tif_name(o.time_in_force),
        "price": price(i, o.price),
        "stopPrice": o.stop_price.map(|p| price(i, p)),
        "quantity": quantity(i, o.quantity),
        "filledQuantity": quantity(i, o.filled),
        "remainingQuantity": quantity(i, o.leaves),
        "averagePrice": average,
        "status": status_name(o.status),
        "rejectReason": record.reject_reason.map(|r| r.code()),
        "postOnly": o.post_only,
        "reduceOnly": o.reduce_only,
        "createdAt": format_time(o.created),
        "updatedAt": format_time(record.updated),
    });
    if let Some(fills) = fills {
        value["fills"] = Value::Array(fills);
    }
    value
}

/// An execution; `with_order` adds order id, symbol and side (executions list).
pub(crate) fn execution(catalog: &Catalog, e: &ExecutionRecord, with_order: bool) -> Value {
    let Some(listing) = catalog.listing(e.instrument) else { return json!({ "tradeId": e.trade_id.0.to_string() }) };
    let i = &listing.instrument;
    let spec = i.spec();
    // Buyers pay the fee in base, sellers in quote (fees come out of what each receives).
    let fee_asset = if e.side == Side::Buy { spec.base } else { spec.quote };
    let (fee, fee_code) = catalog.asset(fee_asset).map_or((e.fee.to_string(), String::new()), |a| {
        (a.amount_to_decimal(e.fee).to_string(), a.spec().code.as_str().to_owned())
    });
    let mut value = json!({
        "tradeId": e.trade_id.0.to_string(),
        "price": price(i, e.price),
        "quantity": quantity(i, e.quantity),
        "fee": fee,
        "feeAsset": fee_code,
        "liquidity": if e.maker { "maker" } else { "taker" },
        "time": format_time(e.time),
    });
    if with_order {
        value["orderId"] = json!(e.order_id.0.to_string());
        value["symbol"] = json!(spec.symbol.as_str());
        value["side"] = json!(side_name(e.side));
    }
    value
}
