//! Public market-data routes.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::dto::format_time;
use crate::orders::respond;
use crate::problem::Problem;
use crate::{AppState, render};

/// `GET /api/instruments`.
#[utoipa::path(get, path = "/api/instruments", responses((status = 200, body = Vec<crate::openapi::InstrumentView>)))]
pub(crate) async fn instruments(State(state): State<AppState>) -> Response {
    Json(crate::reads::instruments_json(&state.catalog())).into_response()
}

/// `GET /api/market-data/prices/{symbol}`.
#[utoipa::path(get, path = "/api/market-data/prices/{symbol}", params(("symbol" = String, Path)), responses((status = 200, body = crate::openapi::PricesView), (status = 404, body = crate::openapi::ProblemView)))]
pub(crate) async fn prices(State(state): State<AppState>, Path(symbol): Path<String>) -> Response {
    respond((|| {
        let catalog = state.catalog();
        let (id, listing) = catalog
            .by_symbol(&symbol)
            .ok_or_else(|| Problem::not_found("unknown_symbol", format!("no instrument {symbol:?}")))?;
        let ticker = state.market().ticker(id);
        let book = state.book(id);
        let best = (book.bids.first().map(|l| l.0), book.asks.first().map(|l| l.0));
        Ok(Json(crate::reads::prices_json(&symbol, &listing.instrument, &ticker, best)).into_response())
    })())
}

/// `GET /api/market-data/orderbook/{symbol}?depth=` — an engine read, so it is exact as of
/// its sequence.
#[utoipa::path(get, path = "/api/market-data/orderbook/{symbol}", params(("symbol" = String, Path), ("depth" = Option<usize>, Query)), responses((status = 200, body = crate::openapi::OrderBookView), (status = 404, body = crate::openapi::ProblemView)))]
pub(crate) async fn orderbook(
    State(state): State<AppState>,
    Path(symbol): Path<String>,
    query: Result<Query<crate::reads::DepthQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    respond(
        async {
            let Query(query) = query.map_err(|e| Problem::bad_request("invalid_query", e.body_text()))?;
            let depth = query.depth()?;
            let (id, instrument) = {
                let catalog = state.catalog();
                let (id, listing) = catalog
                    .by_symbol(&symbol)
                    .ok_or_else(|| Problem::not_found("unknown_symbol", format!("no instrument {symbol:?}")))?;
                (id, listing.instrument)
            };
            let (book, sequence) = state
                .read(move |engine| {
                    (crate::market::BookSnapshot::read(engine, id, depth), engine.last_sequence().map_or(0, |s| s.0))
                })
                .await?;
            Ok(Json(crate::reads::orderbook_json(&symbol, &instrument, sequence, &book, depth)).into_response())
        }
        .await,
    )
}

/// `GET /api/market-data/candles/{symbol}?interval=&limit=`.
#[utoipa::path(get, path = "/api/market-data/candles/{symbol}", params(("symbol" = String, Path), ("interval" = Option<String>, Query, description = "1m | 5m | 1h"), ("limit" = Option<usize>, Query)), responses((status = 200, body = crate::openapi::CandlesView)))]
pub(crate) async fn candles(
    State(state): State<AppState>,
    Path(symbol): Path<String>,
    query: Result<Query<crate::reads::CandleQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    respond((|| {
        let Query(query) = query.map_err(|e| Problem::bad_request("invalid_query", e.body_text()))?;
        Ok(Json(crate::reads::candles_json(&state.catalog(), &state.market(), &symbol, &query)?).into_response())
    })())
}

pub(crate) fn candle_json(i: &oms_core::model::Instrument, c: &crate::market::Candle) -> serde_json::Value {
    json!({
        "time": format_time(c.start),
        "open": render::price(i, c.open),
        "high": render::price(i, c.high),
        "low": render::price(i, c.low),
        "close": render::price(i, c.close),
        "volume": render::quantity(i, oms_core::model::Quantity(c.volume)),
    })
}
