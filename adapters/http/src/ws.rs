//! WebSockets: `/ws/market-data` (subscribe to book, trades, ticker, candles) and
//! `/ws/orders` (own order and fill updates). Both read the server's broadcast of the
//! durable event stream; a client that falls behind is told `lagged` and disconnected, so
//! it resyncs instead of silently missing updates.
//!
//! The session loop ([`relay`]), the market-data session ([`serve_market`]), the key check
//! ([`KeyQuery`]) and the order-stream messages ([`order_update`], [`fill_update`]) are
//! public so that the split deployment's ingress, which is fed by Kafka rather than by an
//! engine, serves the same streams with the same JSON.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use oms_core::model::{AccountId, Event, InstrumentId, OrderId};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use crate::auth::{ApiKeys, Principal};
use crate::catalog::Catalog;
use crate::history::{ExecutionRecord, OrderRecord};
use crate::market::{BookSnapshot, INTERVALS, Ticker};
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

async fn market_session(state: AppState, socket: WebSocket) {
    state.0.metrics.ws_clients.fetch_add(1, Ordering::Relaxed);
    serve_market(
        socket,
        state.0.stream.subscribe(),
        || state.catalog(),
        |id| state.book(id),
        |id| state.market().ticker(id),
    )
    .await;
    state.0.metrics.ws_clients.fetch_sub(1, Ordering::Relaxed);
}

/// Runs one `/ws/market-data` session over `feed`: the client's (un)subscribe requests are
/// answered with snapshots from `book`, and each feed item is sent as the subscribed
/// channels' messages (tickers from `ticker`). The catalog is read through `catalog` on
/// every message, so a server whose catalog can change hands out a guard. `--role all` and
/// the split deployment's ingress both serve the stream with this.
pub async fn serve_market<C: std::ops::Deref<Target = Catalog>>(
    socket: WebSocket,
    feed: broadcast::Receiver<std::sync::Arc<StreamItem>>,
    catalog: impl Fn() -> C,
    book: impl Fn(InstrumentId) -> BookSnapshot,
    ticker: impl Fn(InstrumentId) -> Ticker,
) {
    let subscriptions = std::sync::Mutex::new(MarketSubscriptions::default());
    let lock = || subscriptions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    relay(
        socket,
        feed,
        |text| lock().handle(&catalog(), text, &book),
        |item| lock().messages(&catalog(), &ticker, item),
    )
    .await;
}

/// Runs one WebSocket session: every `feed` item is sent as the messages `render` makes of
/// it, and every text the client sends is answered with the messages `on_text` makes of it.
/// A client that falls behind the feed is told `lagged` and disconnected, so it resyncs
/// rather than silently missing updates. Returns when either side closes.
pub async fn relay<T: Clone>(
    mut socket: WebSocket,
    mut feed: broadcast::Receiver<T>,
    mut on_text: impl FnMut(&str) -> Vec<Value>,
    mut render: impl FnMut(&T) -> Vec<Value>,
) {
    loop {
        let messages = tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => on_text(text.as_str()),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => break,
            },
            item = feed.recv() => match item {
                Ok(item) => render(&item),
                Err(RecvError::Lagged(_)) => {
                    let lagged = json!({ "type": "error", "code": "lagged", "detail": "client too slow; resubscribe and resync" });
                    let _ = socket.send(Message::Text(lagged.to_string().into())).await;
                    break;
                }
                Err(RecvError::Closed) => break,
            },
        };
        for message in messages {
            if socket.send(Message::Text(message.to_string().into())).await.is_err() {
                return;
            }
        }
    }
}

/// A `/ws/market-data` client's channels, per instrument.
#[derive(Debug, Default)]
pub(crate) struct MarketSubscriptions(HashSet<(String, InstrumentId)>);

impl MarketSubscriptions {
    /// Applies a (un)subscribe request; returns the messages to send (book snapshots from
    /// `book`, or errors).
    pub fn handle(&mut self, catalog: &Catalog, text: &str, book: impl Fn(InstrumentId) -> BookSnapshot) -> Vec<Value> {
        let request: Subscribe = match serde_json::from_str(text) {
            Ok(r) => r,
            Err(e) => return vec![json!({ "type": "error", "code": "invalid_message", "detail": e.to_string() })],
        };
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
                    self.0.remove(&key);
                    continue;
                }
                if request.op != "subscribe" {
                    replies.push(json!({ "type": "error", "code": "unknown_op", "detail": request.op }));
                    break;
                }
                self.0.insert(key);
                if channel == "book" {
                    let book = book(id);
                    replies.push(json!({ "channel": "book", "symbol": symbol, "type": "snapshot", "sequence": book.sequence, "bids": render::levels(&listing.instrument, &book.bids), "asks": render::levels(&listing.instrument, &book.asks) }));
                }
            }
        }
        replies
    }

    /// Messages for one stream item, per the subscriptions. A trade feeds both the
    /// `trades` and the `ticker` channel (the ticker as `ticker` gives it after the trade).
    pub fn messages(
        &self,
        catalog: &Catalog,
        ticker: impl Fn(InstrumentId) -> Ticker,
        item: &StreamItem,
    ) -> Vec<Value> {
        let wants = |channel: &str, id: InstrumentId| self.0.contains(&(channel.to_owned(), id));
        let mut messages = Vec::new();
        match item {
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
                    let t = ticker(*instrument);
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
}

/// Query of `/ws/orders` (browsers cannot set headers on a WebSocket handshake, so the key
/// comes as `?apiKey=`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyQuery {
    api_key: Option<String>,
}

impl KeyQuery {
    /// Whose key this is, if it is one of `keys`.
    pub fn principal(&self, keys: &ApiKeys) -> Option<Principal> {
        self.api_key.as_deref().and_then(|k| keys.resolve(k))
    }
}

/// `GET /ws/orders?apiKey=`.
pub(crate) async fn orders(
    State(state): State<AppState>,
    Query(query): Query<KeyQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(principal) = query.principal(state.keys()) else {
        return Problem::unauthorized().into_response();
    };
    upgrade.on_upgrade(move |socket| orders_session(state, socket, principal.account))
}

async fn orders_session(state: AppState, socket: WebSocket, account: AccountId) {
    state.0.metrics.ws_clients.fetch_add(1, Ordering::Relaxed);
    relay(
        socket,
        state.0.stream.subscribe(),
        |_| Vec::new(),
        |item| match item.as_ref() {
            StreamItem::Event(sequence, event) => order_messages(&state, account, *sequence, event),
            _ => Vec::new(),
        },
    )
    .await;
    state.0.metrics.ws_clients.fetch_sub(1, Ordering::Relaxed);
}

/// The `/ws/orders` message of an order's new state.
pub fn order_update(catalog: &Catalog, record: &OrderRecord) -> Value {
    json!({ "type": "order", "order": render::order(catalog, record, None) })
}

/// The `/ws/orders` message of a fill.
pub fn fill_update(catalog: &Catalog, fill: &ExecutionRecord) -> Value {
    json!({ "type": "fill", "execution": render::execution(catalog, fill, true) })
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
    let mut messages: Vec<Value> =
        touched.iter().filter_map(|id| history.order(*id)).map(|r| order_update(&catalog, r)).collect();
    messages.extend(fills.iter().map(|e| fill_update(&catalog, e)));
    messages
}
