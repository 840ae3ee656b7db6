//! WebSockets: `/ws/market-data` (subscribe to book, trades, ticker, candles) and
//! `/ws/orders` (own order and fill updates). Both read the server's broadcast of the
//! durable event stream; a client that falls behind is told `lagged` and disconnected, so
//! it resyncs instead of silently missing updates.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use oms_core::model::{AccountId, Event, InstrumentId, OrderId};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::history::ExecutionRecord;
use crate::market::INTERVALS;
use crate::market_routes::candle_json;
use crate::problem::Problem;
use crate::{AppState, StreamItem, render};

/// Subscription request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Subscribe {
    op: String,
    channels: Vec<String>,
    symbols: Vec<String>,
}

/// `GET /ws/market-data`.
pub(crate) async fn market_data(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| market_session(state, socket))
}

async fn market_session(state: AppState, mut socket: WebSocket) {
    state.0.metrics.ws_clients.fetch_add(1, Ordering::Relaxed);
    let mut stream = state.0.stream.subscribe();
    let mut subscriptions: HashSet<(String, InstrumentId)> = HashSet::new();
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(message)) = incoming else { break };
                let Message::Text(text) = message else { continue };
                let reply = handle_subscribe(&state, text.as_str(), &mut subscriptions);
                let mut failed = false;
                for message in reply {
                    failed |= socket.send(Message::Text(message.to_string().into())).await.is_err();
                }
                if failed { break }
            }
            item = stream.recv() => {
                let item = match item {
                    Ok(item) => item,
                    Err(RecvError::Lagged(_)) => {
                        let _ = socket.send(Message::Text(json!({ "type": "error", "code": "lagged", "detail": "client too slow; resubscribe and resync" }).to_string().into())).await;
                        break;
                    }
                    Err(RecvError::Closed) => break,
                };
                let mut failed = false;
                for message in market_messages(&state, &item, &subscriptions) {
                    failed |= socket.send(Message::Text(message.to_string().into())).await.is_err();
                }
                if failed { break }
            }
        }
    }
    state.0.metrics.ws_clients.fetch_sub(1, Ordering::Relaxed);
}

/// Applies a (un)subscribe request; returns the messages to send (snapshots or an error).
fn handle_subscribe(state: &AppState, text: &str, subscriptions: &mut HashSet<(String, InstrumentId)>) -> Vec<Value> {
    let request: Subscribe = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => return vec![json!({ "type": "error", "code": "invalid_message", "detail": e.to_string() })],
    };
    let catalog = state.catalog();
    let mut replies = Vec::new();
    for symbol in &request.symbols {
        let Some((id, listing)) = catalog.by_symbol(symbol) else {
            replies.push(json!({ "type": "error", "code": "unknown_symbol", "detail": symbol }));
            continue;
        };
        for channel in &request.channels {
            let known = matches!(channel.as_str(), "book" | "trades" | "ticker")
                || channel.strip_prefix("candles:").is_some_and(|i| INTERVALS.iter().any(|(n, _)| *n == i));
            if !known {
                replies.push(json!({ "type": "error", "code": "unknown_channel", "detail": channel }));
                continue;
            }
            let key = (channel.clone(), id);
            if request.op == "unsubscribe" {
                subscriptions.remove(&key);
                continue;
            }
            if request.op != "subscribe" {
                replies.push(json!({ "type": "error", "code": "unknown_op", "detail": request.op }));
                break;
            }
            subscriptions.insert(key);
            if channel == "book" {
                let book = state.book(id);
                replies.push(json!({ "channel": "book", "symbol": symbol, "type": "snapshot", "sequence": book.sequence, "bids": render::levels(&listing.instrument, &book.bids), "asks": render::levels(&listing.instrument, &book.asks) }));
            }
        }
    }
    replies
}

/// Messages for one stream item, per the client's subscriptions. A trade feeds both the
/// `trades` and the `ticker` channel.
fn market_messages(
    state: &AppState,
    item: &Arc<StreamItem>,
    subscriptions: &HashSet<(String, InstrumentId)>,
) -> Vec<Value> {
    let wants = |channel: &str, id: InstrumentId| subscriptions.contains(&(channel.to_owned(), id));
    let catalog = state.catalog();
    let mut messages = Vec::new();
    match item.as_ref() {
        StreamItem::BookDelta { instrument, sequence, prev_sequence, bids, asks } if wants("book", *instrument) => {
            let Some(listing) = catalog.listing(*instrument) else { return messages };
            let i = &listing.instrument;
            messages.push(
                json!({ "channel": "book", "symbol": i.spec().symbol.as_str(), "type": "delta", "sequence": sequence,
                "prevSequence": prev_sequence, "bids": render::levels(i, bids), "asks": render::levels(i, asks) }),
            );
        }
        StreamItem::Trade(instrument, tick) => {
            let Some(listing) = catalog.listing(*instrument) else { return messages };
            let i = &listing.instrument;
            if wants("trades", *instrument) {
                messages.push(json!({ "channel": "trades", "symbol": i.spec().symbol.as_str(), "trades": [{
                    "tradeId": tick.trade_id.0.to_string(), "price": render::price(i, tick.price), "quantity": render::quantity(i, tick.quantity),
                    "takerSide": crate::dto::side_name(tick.taker_side), "time": crate::dto::format_time(tick.time) }] }));
            }
            if wants("ticker", *instrument) {
                let t = state.market().ticker(*instrument);
                let p = |v: Option<oms_core::model::Price>| v.map(|v| render::price(i, v));
                messages.push(json!({ "channel": "ticker", "symbol": i.spec().symbol.as_str(), "last": p(t.last), "open24h": p(t.open),
                    "high24h": p(t.high), "low24h": p(t.low), "volume24h": render::quantity(i, oms_core::model::Quantity(t.volume)), "change24h": t.change().map(|c| render::price(i, c)) }));
            }
        }
        StreamItem::Candle(instrument, index, candle)
            if wants(&format!("candles:{}", INTERVALS[*index].0), *instrument) =>
        {
            let Some(listing) = catalog.listing(*instrument) else { return messages };
            messages.push(json!({ "channel": "candles", "symbol": listing.instrument.spec().symbol.as_str(), "interval": INTERVALS[*index].0,
                "candle": candle_json(&listing.instrument, candle) }));
        }
        _ => {}
    }
    messages
}

/// Query of `/ws/orders`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyQuery {
    api_key: Option<String>,
}

/// `GET /ws/orders?apiKey=`.
pub(crate) async fn orders(
    State(state): State<AppState>,
    Query(query): Query<KeyQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(principal) = query.api_key.as_deref().and_then(|k| state.keys().resolve(k)) else {
        return Problem::unauthorized().into_response();
    };
    upgrade.on_upgrade(move |socket| orders_session(state, socket, principal.account))
}

async fn orders_session(state: AppState, mut socket: WebSocket, account: AccountId) {
    state.0.metrics.ws_clients.fetch_add(1, Ordering::Relaxed);
    let mut stream = state.0.stream.subscribe();
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                if !matches!(incoming, Some(Ok(_))) { break }
            }
            item = stream.recv() => {
                let item = match item {
                    Ok(item) => item,
                    Err(RecvError::Lagged(_)) => {
                        let _ = socket.send(Message::Text(json!({ "type": "error", "code": "lagged" }).to_string().into())).await;
                        break;
                    }
                    Err(RecvError::Closed) => break,
                };
                let StreamItem::Event(sequence, event) = item.as_ref() else { continue };
                let mut failed = false;
                for message in order_messages(&state, account, *sequence, event) {
                    failed |= socket.send(Message::Text(message.to_string().into())).await.is_err();
                }
                if failed { break }
            }
        }
    }
    state.0.metrics.ws_clients.fetch_sub(1, Ordering::Relaxed);
}

/// Messages for `account` caused by one event: order updates and fills.
fn order_messages(state: &AppState, account: AccountId, sequence: u64, event: &Event) -> Vec<Value> {
    let mut touched: Vec<OrderId> = Vec::new();
    let mut fills = Vec::new();
    match event {
        Event::OrderAccepted(o) if o.account == account => touched.push(o.id),
        Event::OrderTriggered(u) | Event::OrderExpired(u) if u.account == account => touched.push(u.order_id),
        Event::OrderCancelled(c) if c.order.account == account => touched.push(c.order.order_id),
        Event::OrderAmended(a) if a.order.account == account => touched.push(a.order.order_id),
        Event::Trade(t) => {
            for (fill, maker) in [(t.maker, true), (t.taker, false)] {
                if fill.account != account {
                    continue;
                }
                touched.push(fill.order_id);
                fills.push(ExecutionRecord {
                    trade_id: t.trade_id,
                    order_id: fill.order_id,
                    instrument: t.instrument,
                    side: if maker { t.taker_side.opposite() } else { t.taker_side },
                    price: t.price,
                    quantity: t.quantity,
                    fee: fill.fee,
                    maker,
                    time: t.timestamp,
                    sequence,
                });
            }
        }
        _ => {}
    }
    let history = state.history();
    let catalog = state.catalog();
    let mut messages: Vec<Value> = touched
        .iter()
        .filter_map(|id| history.order(*id))
        .map(|r| json!({ "type": "order", "order": render::order(&catalog, r, None) }))
        .collect();
    messages.extend(fills.iter().map(|e| json!({ "type": "fill", "execution": render::execution(&catalog, e, true) })));
    messages
}
