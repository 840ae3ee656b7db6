//! The ingress's read routes and WebSocket streams, answered from what its followers
//! folded ([`super::view::OrderView`], [`super::market::MarketView`]).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use oms_http::problem::Problem;
use oms_http::{reads, ws};
use serde_json::{Value, json};

use super::{AccountUpdates, Shared, caller};

/// `GET /api/orders/{id}`: the caller's order (404 for another account's).
pub(super) async fn get_one(State(state): State<Shared>, headers: HeaderMap, Path(order_id): Path<String>) -> Response {
    let result = (|| {
        let principal = caller(&state, &headers)?;
        let id = reads::parse_order_id(&order_id)?;
        let view = state.view()?;
        let record = view.history().order(id).filter(|r| r.order.account == principal.account);
        let record = record.ok_or_else(|| Problem::not_found("unknown_order", format!("no order {order_id}")))?;
        Ok::<_, Problem>(Json(reads::order_json(&state.catalog, record)).into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/orders`: the caller's orders, newest first, filtered and paged.
pub(super) async fn list(
    State(state): State<Shared>,
    headers: HeaderMap,
    query: Result<Query<reads::OrderQuery>, QueryRejection>,
) -> Response {
    let result = (|| {
        let principal = caller(&state, &headers)?;
        let Query(query) = query.map_err(|e| Problem::bad_request("invalid_query", e.body_text()))?;
        let filter = reads::OrderFilter::new(&state.catalog, &query)?;
        let page = filter.from_history(state.view()?.history(), principal.account);
        Ok::<_, Problem>(Json(filter.page_json(&state.catalog, &page)).into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/executions`: the caller's fills, newest first.
pub(super) async fn executions(
    State(state): State<Shared>,
    headers: HeaderMap,
    query: Result<Query<reads::ExecutionQuery>, QueryRejection>,
) -> Response {
    let result = (|| {
        let principal = caller(&state, &headers)?;
        let Query(query) = query.map_err(|e| Problem::bad_request("invalid_query", e.body_text()))?;
        let limit = reads::page_limit(query.limit)?;
        let instrument = reads::symbol_filter(&state.catalog, query.symbol.as_deref())?;
        let view = state.view()?;
        let fills: Vec<_> = view
            .history()
            .executions_of(principal.account)
            .filter(|e| instrument.is_none_or(|i| e.instrument == i))
            .take(limit)
            .copied()
            .collect();
        Ok::<_, Problem>(Json(reads::executions_json(&state.catalog, &fills)).into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/market-data/prices/{symbol}` from `prices` (no authentication).
pub(super) async fn prices(State(state): State<Shared>, Path(symbol): Path<String>) -> Response {
    let result = (|| {
        let (id, listing) = state
            .catalog
            .by_symbol(&symbol)
            .ok_or_else(|| Problem::not_found("unknown_symbol", format!("no instrument {symbol:?}")))?;
        let market = state.market()?;
        let ticker = market.data().ticker(id);
        Ok::<_, Problem>(
            Json(reads::prices_json(&symbol, &listing.instrument, &ticker, market.top(id))).into_response(),
        )
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/market-data/candles/{symbol}` from the trades on `prices` (no authentication).
pub(super) async fn candles(
    State(state): State<Shared>,
    Path(symbol): Path<String>,
    query: Result<Query<reads::CandleQuery>, QueryRejection>,
) -> Response {
    let result = (|| {
        let Query(query) = query.map_err(|e| Problem::bad_request("invalid_query", e.body_text()))?;
        let market = state.market()?;
        Ok::<_, Problem>(Json(reads::candles_json(&state.catalog, market.data(), &symbol, &query)?).into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/risk/positions`: the caller's positions as the owning shards last published
/// them, and balances summed over the shards' sub-ledgers as each last sampled them.
pub(super) async fn positions(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let result = (|| {
        let principal = caller(&state, &headers)?;
        let view = state.view()?;
        let positions: Vec<Value> = view
            .positions_of(principal.account)
            .into_iter()
            .filter_map(|p| {
                let listing = state.catalog.listing(p.instrument)?;
                reads::position_json(&state.catalog, listing, &p.position)
            })
            .collect();
        let balances: Vec<Value> = view
            .balances_of(principal.account)
            .iter()
            .filter_map(|(asset, balance)| Some(reads::balance_json(state.catalog.asset(*asset)?, balance)))
            .collect();
        Ok::<_, Problem>(Json(json!({ "balances": balances, "positions": positions })).into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/market-data/orderbook/{symbol}?depth=` from the `book`s on `prices` (no
/// authentication): as the owning shard last sampled it, `sequence` says as of when.
pub(super) async fn orderbook(
    State(state): State<Shared>,
    Path(symbol): Path<String>,
    query: Result<Query<reads::DepthQuery>, QueryRejection>,
) -> Response {
    let result = (|| {
        let Query(query) = query.map_err(|e| Problem::bad_request("invalid_query", e.body_text()))?;
        let depth = query.depth()?;
        let (id, listing) = state
            .catalog
            .by_symbol(&symbol)
            .ok_or_else(|| Problem::not_found("unknown_symbol", format!("no instrument {symbol:?}")))?;
        let book = state.market()?.book(id);
        Ok::<_, Problem>(
            Json(reads::orderbook_json(&symbol, &listing.instrument, book.sequence, &book, depth)).into_response(),
        )
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `--role all`'s OpenAPI document (the ingress serves every one of its paths), with the
/// sub-ledger routes only a sharded deployment has (`transfers`).
pub(super) fn openapi_document() -> impl serde::Serialize {
    let mut document = oms_http::api_document();
    document.merge(<super::transfers::TransferApi as utoipa::OpenApi>::openapi());
    document
}

/// `GET /api/account`: who the key belongs to.
pub(super) async fn account(State(state): State<Shared>, headers: HeaderMap) -> Response {
    match caller(&state, &headers) {
        Ok(p) => Json(reads::account_json(&p)).into_response(),
        Err(problem) => problem.into_response(),
    }
}

/// `GET /ws/orders?apiKey=`: the account's order and fill updates.
pub(super) async fn ws_orders(
    State(state): State<Shared>,
    Query(query): Query<ws::KeyQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(principal) = query.principal(&state.keys) else {
        return Problem::unauthorized().into_response();
    };
    let feed = state.account_feed.subscribe();
    upgrade.on_upgrade(move |socket| {
        ws::relay(
            socket,
            feed,
            |_| Vec::new(),
            move |updates: &Arc<AccountUpdates>| {
                updates.iter().filter(|(account, _)| *account == principal.account).map(|(_, m)| m.clone()).collect()
            },
        )
    })
}

/// `GET /ws/market-data`: book, trades, ticker and candles channels, as `--role all`.
pub(super) async fn ws_market_data(State(state): State<Shared>, upgrade: WebSocketUpgrade) -> Response {
    let feed = state.market_feed.subscribe();
    upgrade.on_upgrade(move |socket| async move {
        let market = || state.market.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        ws::serve_market(socket, feed, || &state.catalog, |id| market().book(id), |id| market().data().ticker(id))
            .await;
    })
}
