//! BSON documents of the `orders`, `executions`, `positions`, `balances`, `limits` and
//! `accounts` collections, and the way back for the history archive.
//!
//! Every document carries the engine's integers (`priceTicks`, `quantityLots`, minor units)
//! as the source of truth, so reading one back gives exactly the engine's value, plus the
//! decimal strings the API shows, for people querying MongoDB directly. Ids are `Int64`
//! (engine ids fit: order ids are sequences, account and instrument ids are `u32`).

use mongodb::bson::{Bson, Document, doc};
use oms_core::model::{
    AccountId, ClientOrderId, InstrumentId, Order, OrderId, OrderStatus, OrderType, Price, Quantity,
    SelfTradePrevention, Side, TimeInForce, Timestamp, TradeId,
};
use oms_core::risk::Position;
use oms_http::catalog::Catalog;
use oms_http::history::{ExecutionRecord, OrderRecord};

/// `_id` of an execution: one per trade side (`{tradeId}:M` maker, `{tradeId}:T` taker).
pub fn execution_id(trade: TradeId, maker: bool) -> String {
    format!("{}:{}", trade.0, if maker { 'M' } else { 'T' })
}

/// The `orders` document of an order (upserted whole, keyed by `orderId`).
pub fn order_document(catalog: &Catalog, record: &OrderRecord) -> Document {
    let o = &record.order;
    let listing = catalog.listing(o.instrument);
    let symbol = listing.map(|l| l.instrument.spec().symbol.as_str().to_owned());
    let decimal = |value: Option<String>| value.map_or(Bson::Null, Bson::String);
    doc! {
        "orderId": o.id.0 as i64,
        "accountId": i64::from(o.account.0),
        "clientOrderId": o.client_order_id.as_str(),
        "instrumentId": i64::from(o.instrument.0),
        "symbol": decimal(symbol),
        "side": side_code(o.side),
        "type": order_type_code(o.order_type),
        "timeInForce": time_in_force_code(o.time_in_force),
        "selfTradePrevention": stp_code(o.self_trade_prevention),
        "postOnly": o.post_only,
        "reduceOnly": o.reduce_only,
        "status": status_code(o.status),
        "priceTicks": o.price.0,
        "stopPriceTicks": o.stop_price.map_or(Bson::Null, |p| Bson::Int64(p.0)),
        "quantityLots": o.quantity.0,
        "filledLots": o.filled.0,
        "leavesLots": o.leaves.0,
        "filledValue": record.filled_value.to_string(),
        "expireTimeNs": o.expire_time.map_or(Bson::Null, |t| Bson::Int64(t.0 as i64)),
        "createdAt": o.created.0 as i64,
        "updatedAt": record.updated.0 as i64,
        "price": decimal(listing.map(|l| l.instrument.price_to_decimal(o.price).to_string())),
        "quantity": decimal(listing.map(|l| l.instrument.quantity_to_decimal(o.quantity).to_string())),
        "filled": decimal(listing.map(|l| l.instrument.quantity_to_decimal(o.filled).to_string())),
    }
}

/// The `executions` document of one side of a trade (keyed by [`execution_id`]).
pub fn execution_document(catalog: &Catalog, account: AccountId, e: &ExecutionRecord) -> Document {
    let listing = catalog.listing(e.instrument);
    let decimal = |value: Option<String>| value.map_or(Bson::Null, Bson::String);
    doc! {
        "_id": execution_id(e.trade_id, e.maker),
        "tradeId": e.trade_id.0 as i64,
        "orderId": e.order_id.0 as i64,
        "accountId": i64::from(account.0),
        "instrumentId": i64::from(e.instrument.0),
        "symbol": decimal(listing.map(|l| l.instrument.spec().symbol.as_str().to_owned())),
        "side": side_code(e.side),
        "priceTicks": e.price.0,
        "quantityLots": e.quantity.0,
        "fee": e.fee,
        "maker": e.maker,
        "time": e.time.0 as i64,
        "sequence": e.sequence as i64,
        "price": decimal(listing.map(|l| l.instrument.price_to_decimal(e.price).to_string())),
        "quantity": decimal(listing.map(|l| l.instrument.quantity_to_decimal(e.quantity).to_string())),
    }
}

/// The `positions` document of `(account, instrument)` (keyed by `{accountId, symbol}`):
/// the same arithmetic as the engine ([`Position::apply_trade`]), so `netBase`,
/// `openCostQuote` and `realizedPnlQuote` equal the engine's.
pub fn position_document(
    catalog: &Catalog,
    account: AccountId,
    instrument: InstrumentId,
    p: &Position,
    sequence: u64,
) -> Option<Document> {
    let spec = catalog.listing(instrument)?.instrument.spec();
    let base = catalog.asset(spec.base)?;
    let quote = catalog.asset(spec.quote)?;
    Some(doc! {
        "accountId": i64::from(account.0),
        "symbol": spec.symbol.as_str(),
        "instrumentId": i64::from(instrument.0),
        "netBase": p.net_base,
        "openCostQuote": p.open_cost_quote,
        "realizedPnlQuote": p.realized_pnl_quote,
        "quantity": base.amount_to_decimal(p.net_base).to_string(),
        "realizedPnl": quote.amount_to_decimal(p.realized_pnl_quote).to_string(),
        "sequence": sequence as i64,
    })
}

/// The `balances` document of one shard's part of an account's funds in one asset (keyed
/// by `{accountId, asset, shard}`; the Kafka persister's, since only a split deployment has
/// shards).
pub fn balance_document(catalog: &Catalog, b: &crate::stream::BalanceState) -> Option<Document> {
    let asset = catalog.asset(b.asset)?;
    Some(doc! {
        "accountId": i64::from(b.account.0),
        "asset": asset.spec().code.as_str(),
        "shard": i64::from(b.shard),
        "availableUnits": b.balance.available,
        "reservedUnits": b.balance.reserved,
        "available": asset.amount_to_decimal(b.balance.available).to_string(),
        "reserved": asset.amount_to_decimal(b.balance.reserved).to_string(),
        "sequence": i64::try_from(b.sequence).unwrap_or(i64::MAX),
    })
}

/// The `limits` document of the share of an account's limits one shard enforces (keyed by
/// `{accountId, shard}`), in the engine's units: minor units of the base (quantity,
/// position) or quote (notional, loss, floor) asset.
pub fn limits_document(l: &crate::stream::LimitsState) -> Document {
    let limits = &l.limits;
    doc! {
        "accountId": i64::from(l.account.0),
        "shard": i64::from(l.shard),
        "orderQuantityMax": limits.order_quantity_max_base,
        "orderNotionalMax": limits.order_notional_max_quote,
        "positionMax": limits.position_max_base,
        "openOrdersMax": i64::from(limits.open_orders_max),
        "ordersPerWindowMax": i64::from(limits.orders_per_window_max),
        "rateWindowNs": i64::try_from(limits.rate_window_ns).unwrap_or(i64::MAX),
        "dailyLossMax": limits.daily_loss_max_quote,
        "concentrationMaxBps": i64::from(limits.concentration_max_bps),
        "concentrationFloor": limits.concentration_floor_quote,
        "sequence": i64::try_from(l.sequence).unwrap_or(i64::MAX),
    }
}

/// Reads an `orders` document back (`None` if it is not one this crate wrote).
pub fn order_from_document(d: &Document) -> Option<OrderRecord> {
    let int = |name: &str| d.get_i64(name).ok();
    let optional = |name: &str| match d.get(name) {
        Some(Bson::Int64(v)) => Some(Some(*v)),
        Some(Bson::Null) | None => Some(None),
        Some(_) => None,
    };
    let order = Order {
        id: OrderId(u64::try_from(int("orderId")?).ok()?),
        account: AccountId(u32::try_from(int("accountId")?).ok()?),
        client_order_id: ClientOrderId::new(d.get_str("clientOrderId").ok()?).ok()?,
        instrument: InstrumentId(u32::try_from(int("instrumentId")?).ok()?),
        side: side_from(d.get_str("side").ok()?)?,
        order_type: order_type_from(d.get_str("type").ok()?)?,
        time_in_force: time_in_force_from(d.get_str("timeInForce").ok()?)?,
        self_trade_prevention: stp_from(d.get_str("selfTradePrevention").ok()?)?,
        post_only: d.get_bool("postOnly").ok()?,
        reduce_only: d.get_bool("reduceOnly").ok()?,
        status: status_from(d.get_str("status").ok()?)?,
        price: Price(int("priceTicks")?),
        stop_price: optional("stopPriceTicks")?.map(Price),
        quantity: Quantity(int("quantityLots")?),
        filled: Quantity(int("filledLots")?),
        leaves: Quantity(int("leavesLots")?),
        expire_time: optional("expireTimeNs")?.map(|t| Timestamp(t as u64)),
        created: Timestamp(u64::try_from(int("createdAt")?).ok()?),
    };
    Some(OrderRecord {
        order,
        reject_reason: None,
        filled_value: d.get_str("filledValue").ok()?.parse().ok()?,
        updated: Timestamp(u64::try_from(int("updatedAt")?).ok()?),
    })
}

/// Reads an `executions` document back.
pub fn execution_from_document(d: &Document) -> Option<ExecutionRecord> {
    let int = |name: &str| d.get_i64(name).ok();
    Some(ExecutionRecord {
        trade_id: TradeId(u64::try_from(int("tradeId")?).ok()?),
        order_id: OrderId(u64::try_from(int("orderId")?).ok()?),
        instrument: InstrumentId(u32::try_from(int("instrumentId")?).ok()?),
        side: side_from(d.get_str("side").ok()?)?,
        price: Price(int("priceTicks")?),
        quantity: Quantity(int("quantityLots")?),
        fee: int("fee")?,
        maker: d.get_bool("maker").ok()?,
        time: Timestamp(u64::try_from(int("time")?).ok()?),
        sequence: u64::try_from(int("sequence")?).ok()?,
    })
}

/// Codes as the REST API spells them.
pub fn side_code(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

fn side_from(code: &str) -> Option<Side> {
    [Side::Buy, Side::Sell].into_iter().find(|s| side_code(*s) == code)
}

fn order_type_code(t: OrderType) -> &'static str {
    match t {
        OrderType::Limit => "LIMIT",
        OrderType::Market => "MARKET",
        OrderType::Stop => "STOP",
        OrderType::StopLimit => "STOP_LIMIT",
    }
}

fn order_type_from(code: &str) -> Option<OrderType> {
    [OrderType::Limit, OrderType::Market, OrderType::Stop, OrderType::StopLimit]
        .into_iter()
        .find(|t| order_type_code(*t) == code)
}

fn time_in_force_code(t: TimeInForce) -> &'static str {
    match t {
        TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        TimeInForce::Fok => "FOK",
        TimeInForce::Gtd => "GTD",
    }
}

fn time_in_force_from(code: &str) -> Option<TimeInForce> {
    [TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::Fok, TimeInForce::Gtd]
        .into_iter()
        .find(|t| time_in_force_code(*t) == code)
}

fn stp_code(s: SelfTradePrevention) -> &'static str {
    match s {
        SelfTradePrevention::None => "NONE",
        SelfTradePrevention::ExpireMaker => "EXPIRE_MAKER",
        SelfTradePrevention::ExpireTaker => "EXPIRE_TAKER",
        SelfTradePrevention::ExpireBoth => "EXPIRE_BOTH",
    }
}

fn stp_from(code: &str) -> Option<SelfTradePrevention> {
    [
        SelfTradePrevention::None,
        SelfTradePrevention::ExpireMaker,
        SelfTradePrevention::ExpireTaker,
        SelfTradePrevention::ExpireBoth,
    ]
    .into_iter()
    .find(|s| stp_code(*s) == code)
}

/// Status as the REST API spells it.
pub fn status_code(s: OrderStatus) -> &'static str {
    s.code()
}

/// Every status, for the archive's open/closed filters.
pub const STATUSES: [OrderStatus; 9] = OrderStatus::ALL;

/// Status from its REST code (`None` for an unknown code).
pub fn status_from(code: &str) -> Option<OrderStatus> {
    STATUSES.into_iter().find(|s| status_code(*s) == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> OrderRecord {
        OrderRecord {
            order: Order {
                id: OrderId(42),
                account: AccountId(7),
                client_order_id: ClientOrderId::new("c-1").expect("valid"),
                instrument: InstrumentId(1),
                side: Side::Sell,
                order_type: OrderType::StopLimit,
                time_in_force: TimeInForce::Gtd,
                self_trade_prevention: SelfTradePrevention::ExpireBoth,
                post_only: false,
                reduce_only: true,
                status: OrderStatus::PartiallyFilled,
                price: Price(5_900_000),
                stop_price: Some(Price(5_800_000)),
                quantity: Quantity(10),
                filled: Quantity(4),
                leaves: Quantity(6),
                expire_time: Some(Timestamp(1_900_000_000_000_000_000)),
                created: Timestamp(1_800_000_000_000_000_000),
            },
            reject_reason: None,
            filled_value: 4 * 5_900_000,
            updated: Timestamp(1_800_000_000_000_000_001),
        }
    }

    #[test]
    fn an_order_reads_back_exactly() {
        let record = sample();
        let back = order_from_document(&order_document(&Catalog::default(), &record)).expect("decodes");
        assert_eq!(back.order, record.order);
        assert_eq!((back.filled_value, back.updated), (record.filled_value, record.updated));
    }

    #[test]
    fn an_execution_reads_back_exactly() {
        let e = ExecutionRecord {
            trade_id: TradeId(9),
            order_id: OrderId(42),
            instrument: InstrumentId(1),
            side: Side::Buy,
            price: Price(100),
            quantity: Quantity(3),
            fee: 12,
            maker: true,
            time: Timestamp(5),
            sequence: 77,
        };
        let document = execution_document(&Catalog::default(), AccountId(7), &e);
        assert_eq!(document.get_str("_id"), Ok("9:M"));
        let back = execution_from_document(&document).expect("decodes");
        assert_eq!(
            (back.trade_id, back.order_id, back.side, back.price, back.quantity, back.fee, back.maker, back.sequence),
            (e.trade_id, e.order_id, e.side, e.price, e.quantity, e.fee, e.maker, e.sequence)
        );
    }

    #[test]
    fn foreign_documents_do_not_decode() {
        let mut d = order_document(&Catalog::default(), &sample());
        d.insert("status", "HALF_DONE");
        assert!(order_from_document(&d).is_none());
        assert!(order_from_document(&doc! { "orderId": "x" }).is_none());
        assert!(execution_from_document(&doc! {}).is_none());
    }
}
