//! The read side of the order API (`GET /api/orders`, `/api/orders/{id}`,
//! `/api/executions`) over a [`History`], shared by `--role all` (fed by the in-process
//! engine) and `--role ingress` (fed by the `executions` topic), so both answer with the
//! same parameters, checks and JSON.

use oms_core::model::{AccountId, InstrumentId, OrderId};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::catalog::Catalog;
use crate::history::{ExecutionRecord, History, OrderRecord};
use crate::problem::Problem;
use crate::render;

/// Most orders or executions per page.
pub const PAGE_MAX: usize = 500;

/// A page size from `?limit=` (default 100, at most [`PAGE_MAX`]).
pub fn page_limit(limit: Option<usize>) -> Result<usize, Problem> {
    match limit.unwrap_or(100) {
        n @ 1..=PAGE_MAX => Ok(n),
        _ => Err(Problem::bad_request("invalid_query", format!("limit must be 1..={PAGE_MAX}"))),
    }
}

/// The instrument of an optional `?symbol=` filter (404 for an unknown symbol).
pub fn symbol_filter(catalog: &Catalog, symbol: Option<&str>) -> Result<Option<InstrumentId>, Problem> {
    symbol
        .map(|s| {
            catalog
                .by_symbol(s)
                .map(|(id, _)| id)
                .ok_or_else(|| Problem::not_found("unknown_symbol", format!("no instrument {s:?}")))
        })
        .transpose()
}

/// An order id from the path (404 when it cannot be one).
pub fn parse_order_id(text: &str) -> Result<OrderId, Problem> {
    text.parse::<u64>().map(OrderId).map_err(|_| Problem::not_found("unknown_order", format!("no order {text:?}")))
}

/// Query of `GET /api/orders`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    /// Only this instrument.
    pub symbol: Option<String>,
    /// `open`, `closed` or `all` (default).
    pub status: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
    /// Orders older than this id (the previous page's `nextCursor`).
    pub cursor: Option<String>,
}

/// `GET /api/orders` parameters, checked.
#[derive(Clone, Copy, Debug)]
pub struct OrderFilter {
    /// Only this instrument.
    pub instrument: Option<InstrumentId>,
    /// `Some(true)` open only, `Some(false)` finished only.
    pub open: Option<bool>,
    /// Ids below this.
    pub before: Option<u64>,
    /// Page size.
    pub limit: usize,
}

impl OrderFilter {
    /// Checks a query: 400 for a bad limit, status or cursor, 404 for an unknown symbol.
    pub fn new(catalog: &Catalog, query: &OrderQuery) -> Result<Self, Problem> {
        let open = match query.status.as_deref().unwrap_or("all") {
            "open" => Some(true),
            "closed" => Some(false),
            "all" => None,
            _ => return Err(Problem::bad_request("invalid_query", "status must be open, closed or all")),
        };
        let before = match &query.cursor {
            Some(c) => Some(c.parse::<u64>().map_err(|_| Problem::bad_request("invalid_query", "bad cursor"))?),
            None => None,
        };
        Ok(Self {
            instrument: symbol_filter(catalog, query.symbol.as_deref())?,
            open,
            before,
            limit: page_limit(query.limit)?,
        })
    }

    /// Whether `record` belongs on the page.
    pub fn keeps(&self, record: &OrderRecord) -> bool {
        self.instrument.is_none_or(|i| record.order.instrument == i)
            && self.before.is_none_or(|b| record.order.id.0 < b)
            && self.open.is_none_or(|open| open != record.order.status.is_final())
    }

    /// Up to `limit + 1` of `account`'s matching orders from memory (one more than a page
    /// tells whether there is a next page), by order id, highest first. The cursor is an
    /// order id, so pages must be in id order: in one process ids are sequences (newest
    /// first), while in a split deployment ids carry their shard in the high bits and arrive
    /// interleaved, so arrival order would skip orders between pages.
    pub fn from_history(&self, history: &History, account: AccountId) -> Vec<OrderRecord> {
        let mut page: Vec<&OrderRecord> = history.orders_of(account, |r| self.keeps(r)).collect();
        page.sort_unstable_by_key(|r| std::cmp::Reverse(r.order.id));
        page.into_iter().take(self.limit + 1).cloned().collect()
    }

    /// The page as JSON: `{"orders": [...], "nextCursor": id | null}`.
    pub fn page_json(&self, catalog: &Catalog, page: &[OrderRecord]) -> Value {
        let next = (page.len() > self.limit).then(|| page[self.limit - 1].order.id.0.to_string());
        let orders: Vec<_> = page.iter().take(self.limit).map(|r| render::order(catalog, r, None)).collect();
        json!({ "orders": orders, "nextCursor": next })
    }
}

/// Query of `DELETE /api/orders` (cancel all, or all of one symbol).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolQuery {
    /// Only this instrument.
    pub symbol: Option<String>,
}

/// Query of `GET /api/executions`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionQuery {
    /// Only this instrument.
    pub symbol: Option<String>,
    /// Page size.
    pub limit: Option<usize>,
}

/// An order as the API shows it.
pub fn order_json(catalog: &Catalog, record: &OrderRecord) -> Value {
    render::order(catalog, record, None)
}

/// An order as `POST /api/orders` answers it: with its fills (oldest first), each without
/// the order's own fields.
pub fn placed_order_json<'a>(
    catalog: &Catalog,
    record: &OrderRecord,
    fills: impl IntoIterator<Item = &'a ExecutionRecord>,
) -> Value {
    render::order(catalog, record, Some(fills.into_iter().map(|e| render::execution(catalog, e, false)).collect()))
}

/// The record of an order the engine refused as it came in: never in the book, so the
/// request is all there is to show.
pub fn rejected_order(id: OrderId, request: &oms_core::model::NewOrder) -> OrderRecord {
    use oms_core::model::{OrderStatus, Quantity, Timestamp};
    let mut order = request.to_order(id, request.price.unwrap_or_default(), Timestamp::now());
    (order.status, order.leaves) = (OrderStatus::Rejected, Quantity::ZERO);
    OrderRecord { order, reject_reason: None, filled_value: 0, updated: order.created }
}

/// Fills as the API lists them: `{"executions": [...]}`.
pub fn executions_json(catalog: &Catalog, fills: &[ExecutionRecord]) -> Value {
    let list: Vec<_> = fills.iter().map(|e| render::execution(catalog, e, true)).collect();
    json!({ "executions": list })
}

/// A position as the API shows it: symbol, net quantity (negative when short), average
/// entry price and realized P&L.
pub fn position_json(
    catalog: &Catalog,
    listing: &crate::catalog::Listing,
    p: &oms_core::risk::Position,
) -> Option<Value> {
    let spec = listing.instrument.spec();
    let base = catalog.asset(spec.base)?;
    let quote = catalog.asset(spec.quote)?;
    let average = (p.net_base != 0).then(|| {
        let cost = quote.amount_to_decimal(p.open_cost_quote.abs());
        let qty = base.amount_to_decimal(p.net_base.abs());
        (cost / qty).round_dp(spec.tick_size.scale()).normalize().to_string()
    });
    Some(json!({
        "symbol": spec.symbol.as_str(),
        "quantity": base.amount_to_decimal(p.net_base).to_string(),
        "averagePrice": average,
        "realizedPnl": quote.amount_to_decimal(p.realized_pnl_quote).to_string(),
    }))
}

/// `GET /api/instruments`: every instrument with its steps, bounds and status.
pub fn instruments_json(catalog: &Catalog) -> Value {
    let list: Vec<_> = catalog
        .listings()
        .iter()
        .map(|l| {
            let s = l.instrument.spec();
            let code = |id| catalog.asset(id).map(|a| a.spec().code.as_str().to_owned());
            json!({
                "symbol": s.symbol.as_str(),
                "base": code(s.base),
                "quote": code(s.quote),
                "tickSize": s.tick_size.normalize().to_string(),
                "lotSize": s.lot_size.normalize().to_string(),
                "minQuantity": s.quantity_min.normalize().to_string(),
                "maxQuantity": s.quantity_max.normalize().to_string(),
                "minNotional": s.notional_min.normalize().to_string(),
                "maxNotional": s.notional_max.normalize().to_string(),
                "status": if l.status == oms_core::model::InstrumentStatus::Trading { "trading" } else { "halted" },
            })
        })
        .collect();
    Value::Array(list)
}

/// Query of `GET /api/market-data/candles/{symbol}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandleQuery {
    /// `1m` (default), `5m` or `1h`.
    pub interval: Option<String>,
    /// Most recent bars, 1..=1000 (default 500).
    pub limit: Option<usize>,
}

/// `GET /api/market-data/prices/{symbol}`: last trade, best bid and ask, and the rolling
/// 24-hour figures.
pub fn prices_json(
    symbol: &str,
    i: &oms_core::model::Instrument,
    ticker: &crate::market::Ticker,
    (bid, ask): (Option<oms_core::model::Price>, Option<oms_core::model::Price>),
) -> Value {
    let p = |v: Option<oms_core::model::Price>| v.map(|v| render::price(i, v));
    json!({
        "symbol": symbol,
        "last": p(ticker.last),
        "bestBid": p(bid),
        "bestAsk": p(ask),
        "open24h": p(ticker.open),
        "high24h": p(ticker.high),
        "low24h": p(ticker.low),
        "volume24h": render::quantity(i, oms_core::model::Quantity(ticker.volume)),
        "change24h": ticker.change().map(|c| render::price(i, c)),
    })
}

/// `GET /api/market-data/candles/{symbol}`: the most recent bars of one interval; 400 for
/// a bad interval or limit, 404 for an unknown symbol.
pub fn candles_json(
    catalog: &Catalog,
    market: &crate::market::MarketData,
    symbol: &str,
    query: &CandleQuery,
) -> Result<Value, Problem> {
    let interval = query.interval.clone().unwrap_or_else(|| "1m".into());
    let index = crate::market::INTERVALS
        .iter()
        .position(|(name, _)| *name == interval)
        .ok_or_else(|| Problem::bad_request("invalid_query", "interval must be 1m, 5m or 1h"))?;
    let limit = query.limit.unwrap_or(500);
    if limit == 0 || limit > 1_000 {
        return Err(Problem::bad_request("invalid_query", "limit must be 1..=1000"));
    }
    let (id, listing) = catalog
        .by_symbol(symbol)
        .ok_or_else(|| Problem::not_found("unknown_symbol", format!("no instrument {symbol:?}")))?;
    let i = &listing.instrument;
    let list: Vec<_> = market
        .instrument(id)
        .map(|m| {
            let series = &m.candles[index];
            series
                .iter()
                .skip(series.len().saturating_sub(limit))
                .map(|c| crate::market_routes::candle_json(i, c))
                .collect()
        })
        .unwrap_or_default();
    Ok(json!({ "symbol": symbol, "interval": interval, "candles": list }))
}

/// Query of `GET /api/market-data/orderbook/{symbol}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepthQuery {
    depth: Option<usize>,
}

impl DepthQuery {
    /// Levels per side asked for: 1 to 500, 50 when not given.
    pub fn depth(&self) -> Result<usize, Problem> {
        let depth = self.depth.unwrap_or(50);
        if depth == 0 || depth > 500 {
            return Err(Problem::bad_request("invalid_query", "depth must be 1..=500"));
        }
        Ok(depth)
    }
}

/// `GET /api/market-data/orderbook/{symbol}`: the top `depth` levels per side of `book`.
pub fn orderbook_json(
    symbol: &str,
    instrument: &oms_core::model::Instrument,
    sequence: u64,
    book: &crate::market::BookSnapshot,
    depth: usize,
) -> Value {
    let (bids, asks) = (&book.bids[..book.bids.len().min(depth)], &book.asks[..book.asks.len().min(depth)]);
    json!({ "symbol": symbol, "sequence": sequence, "bids": render::levels(instrument, bids), "asks": render::levels(instrument, asks) })
}

/// One element of `balances` in `GET /api/risk/positions`.
pub fn balance_json(asset: &oms_core::model::Asset, balance: &oms_core::risk::Balance) -> Value {
    json!({
        "asset": asset.spec().code.as_str(),
        "available": asset.amount_to_decimal(balance.available).to_string(),
        "reserved": asset.amount_to_decimal(balance.reserved).to_string(),
    })
}

/// The `GET /api/account` body: who a key belongs to.
pub fn account_json(caller: &crate::auth::Principal) -> Value {
    json!({ "accountId": caller.account.0.to_string(), "admin": caller.admin })
}
