//! `oms serve --role ingress --kafka …`: the order-entry front of the split deployment.
//!
//! ```text
//! client ─POST/DELETE─► ingress ──orders (key = symbol)──► engine shards
//!    ▲                     │  waits for the command's messages
//!    └──── 201 / 200 ◄─────┴◄── executions (commandResult closes the set)
//! ```
//!
//! Authenticated like `--role all` (API keys), validated with the same parser (exact
//! decimals, ticks, lots), published with a fresh command id, and answered when every
//! `executions` message of the command has arrived (`eventCount`), or 504 after the
//! decision timeout (the command may still be decided: the client retries with its
//! `clientOrderId`, which the engine refuses as a duplicate while the order works). A full
//! producer queue or a broker outage answers 503 at once: never a silent drop.
//!
//! Cancels and amends go to the shard their order id names; a mass cancel to its
//! symbol's partition, or to every partition; a kill switch to every partition. Reads (`GET /api/orders`,
//! `/api/orders/{id}`, `/api/executions`) come from [`view::OrderView`], `executions`
//! folded in memory, and `GET /api/risk/positions` from the `position`s on `risk-events`.
//! Balances are the sum of each shard's sampled `balance` messages on `risk-events`.
//! Market data (`prices`, `orderbook`, `candles`) comes from the `prices` topic. The
//! WebSocket streams `/ws/orders` and `/ws/market-data` speak `--role all`'s protocol, fed
//! by the same followers: an account's order and fill updates as its messages are folded,
//! trades, candles and book deltas as `prices` brings them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use oms_core::prelude::*;
use oms_http::auth::{ApiKeys, Principal};
use oms_http::dto::{AmendBody, KillSwitchBody, PlaceOrder};
use oms_http::idempotency::IdempotencyStore;
use oms_http::problem::Problem;
use oms_http::{DemoAccount, StreamItem, reads, ws};
use oms_kafka::messages::{
    ExecutionMessage, InboundCommand, PriceMessage, RiskEventMessage, decode_execution, decode_price,
    decode_risk_event, encode_command,
};
use oms_kafka::topics::partition_for_key;
use oms_kafka::{InboundRecord, KafkaConfig, KafkaProducer, PublishError, TailConsumer};
use serde_json::{Value, json};
use tokio::sync::{broadcast, oneshot};

use self::market::MarketView;
use self::view::OrderView;
use super::engine::SHARD_SEQUENCE_BITS;
use crate::config::ServeArgs;
use crate::market::Market;

mod market;
mod view;

/// How long a client waits for its command's decision.
const DECISION_TIMEOUT: Duration = Duration::from_secs(10);

/// A command waiting for its `executions` messages.
struct Waiter {
    messages: Vec<ExecutionMessage>,
    done: Option<oneshot::Sender<Vec<ExecutionMessage>>>,
}

/// Shared state of the ingress.
struct Ingress {
    producer: KafkaProducer,
    keys: ApiKeys,
    catalog: oms_http::catalog::Catalog,
    reference: oms_kafka::messages::Catalog,
    orders_topic: String,
    partitions: i32,
    /// Prefix of this process's command ids (unique per start).
    instance: String,
    next_command: AtomicU64,
    waiting: Mutex<HashMap<String, Waiter>>,
    /// Orders and fills for the read routes.
    view: Mutex<OrderView>,
    /// Trades, ticker, candles and books for the market-data routes.
    market: Mutex<MarketView>,
    /// `/ws/orders`: each account's order and fill updates, rendered once.
    account_feed: broadcast::Sender<Arc<AccountUpdates>>,
    /// `/ws/market-data`: trades, candles and book deltas.
    market_feed: broadcast::Sender<Arc<StreamItem>>,
    /// `Idempotency-Key` replays: per process, and across ingress replicas with `--redis`.
    idempotency: IdempotencyStore,
    /// Redis, when on (for `/ready`).
    redis: Option<Arc<oms_redis::Redis>>,
    /// Admission limit on `waiting` (`--ingress-decisions-max`): past it, 503 at once, so
    /// overload sheds load instead of growing latency to the decision timeout.
    waiting_max: usize,
    /// Counters for `/metrics`.
    placed: AtomicU64,
    timeouts: AtomicU64,
    refused: AtomicU64,
    tail_alive: AtomicBool,
    /// The executions and risk-events followers have read what the topics held at start.
    executions_caught_up: AtomicBool,
    risk_caught_up: AtomicBool,
    prices_caught_up: AtomicBool,
}

type Shared = Arc<Ingress>;

/// What one `executions` message changed, as `/ws/orders` messages per account.
type AccountUpdates = Vec<(AccountId, Value)>;

/// Items a WebSocket feed buffers for its slowest client before that client is cut.
const FEED_CAPACITY: usize = 1 << 14;

/// `--role all` paths the ingress does not serve: they need one shard's state (limits are
/// per shard, docs/adr/0003-scale-out.md), so its `/api/openapi.json` leaves them out.
const NOT_SERVED: [&str; 2] = ["/api/risk/validate", "/api/risk/limits"];

/// Runs the ingress role until SIGTERM/SIGINT. `demo_accounts` (with `--demo`) are listed
/// at `GET /api/demo/accounts`, as `--role all` does.
pub fn run(
    args: &ServeArgs,
    kafka: &KafkaConfig,
    market: &Market,
    keys: ApiKeys,
    demo_accounts: Option<Vec<DemoAccount>>,
) -> anyhow::Result<()> {
    let ensured = oms_kafka::topics::ensure_topics(kafka).context("ensuring the Kafka topics")?;
    let partitions = ensured
        .iter()
        .find(|t| t.name == kafka.topics.orders.name)
        .map_or(kafka.topics.orders.partitions, |t| t.partitions);
    // The market definition, as the engines have it, for validation and conversion.
    let engine = market.reference_engine()?;
    // From what the topics still hold: the read model is the whole stream, not what
    // happened since this process started. Not ready until both are read to where they
    // ended at start.
    let tail = TailConsumer::from_beginning(kafka, &kafka.topics.executions.name).context("following executions")?;
    let risk_tail =
        TailConsumer::from_beginning(kafka, &kafka.topics.risk_events.name).context("following risk-events")?;
    let prices_tail = TailConsumer::from_beginning(kafka, &kafka.topics.prices.name).context("following prices")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(args.http_threads).enable_all().build()?;
    // Redis's writer task needs the runtime.
    let redis = match &args.redis {
        Some(url) => Some(Arc::new(runtime.block_on(async { oms_redis::Redis::start(url) })?)),
        None => None,
    };
    let shared = redis.clone().map(|r| r as Arc<dyn oms_http::idempotency::SharedIdempotency>);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let state: Shared = Arc::new(Ingress {
        producer: KafkaProducer::new(kafka).context("creating the Kafka producer")?,
        keys,
        catalog: oms_http::catalog::Catalog::from_engine(&engine),
        reference: oms_kafka::messages::Catalog::new(engine.instruments().copied(), engine.assets().copied()),
        orders_topic: kafka.topics.orders.name.clone(),
        partitions,
        instance: format!("in-{nanos:x}"),
        next_command: AtomicU64::new(0),
        waiting: Mutex::new(HashMap::new()),
        market: Mutex::new(MarketView::default()),
        account_feed: broadcast::channel(FEED_CAPACITY).0,
        market_feed: broadcast::channel(FEED_CAPACITY).0,
        view: Mutex::new(OrderView::new(args.history_orders_max, oms_http::history::EXECUTIONS_PER_ACCOUNT_MAX)),
        idempotency: IdempotencyStore::with_shared(shared, DECISION_TIMEOUT),
        redis,
        waiting_max: args.ingress_decisions_max,
        placed: AtomicU64::new(0),
        timeouts: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        tail_alive: AtomicBool::new(true),
        executions_caught_up: AtomicBool::new(false),
        risk_caught_up: AtomicBool::new(false),
        prices_caught_up: AtomicBool::new(false),
    });
    spawn_follower(&state, tail, "executions", |s| &s.executions_caught_up, decode_execution, fold_execution)?;
    spawn_follower(&state, risk_tail, "risk-events", |s| &s.risk_caught_up, decode_risk_event, fold_position)?;
    spawn_follower(&state, prices_tail, "prices", |s| &s.prices_caught_up, decode_price, fold_price)?;
    let listen: SocketAddr = args.listen.parse().with_context(|| format!("--listen {}", args.listen))?;
    let static_dir = args.static_dir.clone();
    runtime.block_on(async move {
        let app = axum::Router::new()
            .route("/api/orders", post(place).get(list).delete(cancel_all))
            .route("/api/orders/{order_id}", delete(cancel).get(get_one).patch(amend))
            .route("/api/executions", get(executions))
            .route("/api/risk/positions", get(positions))
            .route("/api/market-data/prices/{symbol}", get(prices))
            .route("/api/market-data/candles/{symbol}", get(candles))
            .route("/api/market-data/orderbook/{symbol}", get(orderbook))
            .route("/api/account", get(account))
            .route("/api/openapi.json", get(|| async { Json(openapi_document()) }))
            .route(
                "/api/demo/accounts",
                get(move || async move {
                    match demo_accounts {
                        Some(accounts) => Json(accounts).into_response(),
                        None => {
                            Problem::not_found("not_demo", "demo accounts are only listed with --demo").into_response()
                        }
                    }
                }),
            )
            .route("/api/admin/kill-switch", post(kill_switch))
            .route("/ws/orders", get(ws_orders))
            .route("/ws/market-data", get(ws_market_data))
            .route(
                "/api/instruments",
                get(|State(state): State<Shared>| async move { Json(reads::instruments_json(&state.catalog)) }),
            )
            .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
            .route("/ready", get(ready))
            .route("/metrics", get(metrics))
            .with_state(state);
        // The dashboard's files, when built.
        let app = oms_http::with_dashboard(app, Some(&static_dir));
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
        tracing::info!(%listen, partitions, "ingress: serving");
        axum::serve(listener, app).with_graceful_shutdown(crate::shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    runtime.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

/// A lock of the ingress's state was poisoned (a thread panicked holding it): the follower
/// stops and `/ready` turns 503.
struct Poisoned;

/// Follows `tail` on a thread of its own: marks `caught_up` once it has read what the topic
/// held at start, decodes each record with `decode` (an undecodable one is logged and
/// skipped) and hands it to `apply`.
fn spawn_follower<M: 'static, E: 'static>(
    state: &Shared,
    tail: TailConsumer,
    topic: &'static str,
    caught_up: fn(&Ingress) -> &AtomicBool,
    decode: fn(&[u8]) -> Result<M, E>,
    apply: fn(&Ingress, M, &InboundRecord) -> Result<(), Poisoned>,
) -> anyhow::Result<()> {
    let state = Arc::clone(state);
    let follow = move || loop {
        let flag = caught_up(&state);
        if !flag.load(Ordering::Relaxed) && tail.caught_up() {
            flag.store(true, Ordering::Release);
            tracing::info!(topic, partitions = ?tail.partitions(), "ingress: caught up");
        }
        let record = match tail.poll(Duration::from_millis(100)) {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, topic, "follower");
                continue;
            }
        };
        let Ok(message) = decode(&record.payload) else {
            tracing::warn!(topic, partition = record.partition, offset = record.offset, "undecodable message");
            continue;
        };
        if apply(&state, message, &record).is_err() {
            state.tail_alive.store(false, Ordering::Release);
            return;
        }
    };
    std::thread::Builder::new()
        .name(format!("oms-ingress-{topic}"))
        .spawn(follow)
        .with_context(|| format!("spawning the {topic} follower"))?;
    Ok(())
}

/// An `executions` message: into the read model, then to the command waiting for it.
fn fold_execution(state: &Ingress, message: ExecutionMessage, record: &InboundRecord) -> Result<(), Poisoned> {
    // Into the read model before the client hears back: it reads its own writes.
    let mut updates = Vec::new();
    let streaming = state.account_feed.receiver_count() > 0;
    let folded =
        state.view.lock().map_err(|_| Poisoned)?.apply(&state.catalog, &message, streaming.then_some(&mut updates));
    if let Err(e) = folded {
        tracing::warn!(error = %e, partition = record.partition, offset = record.offset, "executions message not folded");
    }
    if !updates.is_empty() {
        // No subscriber left since the check: nothing to do.
        let _ = state.account_feed.send(Arc::new(updates));
    }
    let header = message.header();
    let Some(command_id) = header.command_id.clone() else { return Ok(()) };
    let count = header.event_count as usize;
    let mut waiting = state.waiting.lock().map_err(|_| Poisoned)?;
    let Some(waiter) = waiting.get_mut(&command_id) else { return Ok(()) };
    waiter.messages.push(message);
    if waiter.messages.len() >= count
        && let Some(waiter) = waiting.remove(&command_id)
        && let Some(done) = waiter.done
    {
        let _ = done.send(waiter.messages);
    }
    Ok(())
}

/// A `risk-events` message: the account's latest position.
fn fold_position(state: &Ingress, message: RiskEventMessage, record: &InboundRecord) -> Result<(), Poisoned> {
    if let Err(e) = state.view.lock().map_err(|_| Poisoned)?.apply_risk(&state.catalog, &message) {
        tracing::warn!(error = %e, partition = record.partition, offset = record.offset, "position not folded");
    }
    Ok(())
}

/// A `prices` message: trades and books, into the view and to the WebSocket clients.
fn fold_price(state: &Ingress, message: PriceMessage, record: &InboundRecord) -> Result<(), Poisoned> {
    let folded = state.market.lock().map_err(|_| Poisoned)?.apply(&state.catalog, &message);
    match folded {
        Ok(items) => {
            for item in items {
                let _ = state.market_feed.send(Arc::new(item));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, partition = record.partition, offset = record.offset, "prices message not folded")
        }
    }
    Ok(())
}

/// The caller's principal from `Authorization: Bearer <key>`.
fn caller(state: &Ingress, headers: &HeaderMap) -> Result<Principal, Problem> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(Problem::unauthorized)?;
    state.keys.resolve(key.trim()).ok_or_else(Problem::unauthorized)
}

async fn place(State(state): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let principal = match caller(&state, &headers) {
        Ok(principal) => principal,
        Err(problem) => return problem.into_response(),
    };
    let task = Arc::clone(&state);
    let task_body = body.clone();
    state
        .idempotency
        .run(principal.account, &headers, &body, move || async move { place_once(&task, principal, &task_body).await })
        .await
}

async fn place_once(state: &Ingress, principal: Principal, body: &[u8]) -> Response {
    let result = async {
        let order: PlaceOrder = serde_json::from_slice(body)
            .map_err(|e| Problem::bad_request("invalid_body", format!("order body: {e}")))?;
        let command_id = state.command_id();
        let new_order = order.to_new_order(&state.catalog, principal.account, &command_id)?;
        let symbol = Symbol::new(&order.symbol).map_err(|e| Problem::bad_request("unknown_symbol", e.to_string()))?;
        let command = InboundCommand {
            command_id: oms_kafka::messages::CommandId::new(&command_id)
                .map_err(|e| Problem::bad_request("invalid_command", e.to_string()))?,
            symbol: Some(symbol),
            action: Action::NewOrder(new_order),
        };
        let messages = state.decide(&command, None).await?;
        state.placed.fetch_add(1, Ordering::Relaxed);
        state.placed_order(principal, &new_order, &messages)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn cancel(State(state): State<Shared>, headers: HeaderMap, Path(order_id): Path<String>) -> Response {
    let principal = match caller(&state, &headers) {
        Ok(principal) => principal,
        Err(problem) => return problem.into_response(),
    };
    let task = Arc::clone(&state);
    let request = axum::body::Bytes::from(format!("DELETE {order_id}"));
    state
        .idempotency
        .run(
            principal.account,
            &headers,
            &request,
            move || async move { cancel_once(&task, principal, &order_id).await },
        )
        .await
}

async fn cancel_once(state: &Ingress, principal: Principal, order_id: &str) -> Response {
    let result = async {
        let id = reads::parse_order_id(order_id)?;
        let (shard, symbol) = state.shard_of(id)?;
        let action = Action::CancelOrder(CancelOrder { account: principal.account, order_id: id });
        let messages = state.decide(&state.command(Some(symbol), action)?, Some(shard)).await?;
        state.changed_order(principal, id, &messages)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `PATCH /api/orders/{id}`: new price and/or quantity of a working order.
async fn amend(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let principal = match caller(&state, &headers) {
        Ok(principal) => principal,
        Err(problem) => return problem.into_response(),
    };
    let task = Arc::clone(&state);
    let mut keyed = body.to_vec();
    keyed.extend_from_slice(order_id.as_bytes());
    let request = axum::body::Bytes::from(keyed);
    state
        .idempotency
        .run(principal.account, &headers, &request, move || async move {
            let result = async {
                let id = reads::parse_order_id(&order_id)?;
                let change: AmendBody = serde_json::from_slice(&body)
                    .map_err(|e| Problem::bad_request("invalid_body", format!("amend body: {e}")))?;
                // The order's instrument sets the ticks and lots; an order this ingress has
                // not seen (or another account's) is unknown.
                let instrument = {
                    let view = task.view()?;
                    let record = view.history().order(id).filter(|r| r.order.account == principal.account);
                    record
                        .ok_or_else(|| Problem::not_found("unknown_order", format!("no order {order_id}")))?
                        .order
                        .instrument
                };
                let listing = task
                    .catalog
                    .listing(instrument)
                    .ok_or_else(|| Problem::not_found("unknown_symbol", "instrument gone"))?;
                let action = Action::AmendOrder(change.to_amend(&listing.instrument, principal.account, id)?);
                let (shard, _) = task.shard_of(id)?;
                let symbol = listing.instrument.spec().symbol;
                let messages = task.decide(&task.command(Some(symbol), action)?, Some(shard)).await?;
                task.changed_order(principal, id, &messages)
            }
            .await;
            result.unwrap_or_else(IntoResponse::into_response)
        })
        .await
}

/// `DELETE /api/orders?symbol=`: cancels the caller's working orders of one symbol (on
/// its shard) or of every symbol (one command per shard, all awaited).
async fn cancel_all(
    State(state): State<Shared>,
    headers: HeaderMap,
    query: Result<Query<reads::SymbolQuery>, QueryRejection>,
) -> Response {
    let principal = match caller(&state, &headers) {
        Ok(principal) => principal,
        Err(problem) => return problem.into_response(),
    };
    let symbol = query.as_ref().ok().and_then(|q| q.0.symbol.clone());
    let task = Arc::clone(&state);
    let request = axum::body::Bytes::from(format!("DELETE all {symbol:?}"));
    state
        .idempotency
        .run(principal.account, &headers, &request, move || async move {
            let result = async {
                let Query(query) = query.map_err(|e| Problem::bad_request("invalid_query", e.body_text()))?;
                let targets: Vec<(Option<Symbol>, Option<InstrumentId>, i32)> = match &query.symbol {
                    Some(text) => {
                        let (instrument, listing) = task
                            .catalog
                            .by_symbol(text)
                            .ok_or_else(|| Problem::not_found("unknown_symbol", format!("no instrument {text:?}")))?;
                        let symbol = listing.instrument.spec().symbol;
                        let partition = partition_for_key(symbol.as_str().as_bytes(), task.partitions);
                        vec![(Some(symbol), Some(instrument), partition)]
                    }
                    None => (0..task.partitions).map(|p| (None, None, p)).collect(),
                };
                let mut decisions = tokio::task::JoinSet::new();
                for (symbol, instrument, partition) in targets {
                    let task = Arc::clone(&task);
                    decisions.spawn(async move {
                        let action = Action::MassCancel(MassCancel { account: principal.account, instrument });
                        task.decide(&task.command(symbol, action)?, Some(partition)).await
                    });
                }
                let mut cancelled = Vec::new();
                while let Some(joined) = decisions.join_next().await {
                    let messages = joined.map_err(|_| Problem::unavailable("unavailable", "cancel task failed"))?;
                    for message in messages? {
                        if let ExecutionMessage::OrderCancelled(m) = message
                            && let Ok(id) = reads::parse_order_id(&m.order_id)
                        {
                            cancelled.push(id);
                        }
                    }
                }
                let view = task.view()?;
                let orders: Vec<Value> = cancelled
                    .iter()
                    .filter_map(|id| view.history().order(*id))
                    .map(|record| reads::order_json(&task.catalog, record))
                    .collect();
                Ok::<_, Problem>(Json(json!({ "cancelled": orders })).into_response())
            }
            .await;
            result.unwrap_or_else(IntoResponse::into_response)
        })
        .await
}

/// `GET /api/orders/{id}`: the caller's order (404 for another account's).
async fn get_one(State(state): State<Shared>, headers: HeaderMap, Path(order_id): Path<String>) -> Response {
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
async fn list(
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
async fn executions(
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
async fn prices(State(state): State<Shared>, Path(symbol): Path<String>) -> Response {
    let result = (|| {
        let (id, listing) = state
            .catalog
            .by_symbol(&symbol)
            .ok_or_else(|| Problem::not_found("unknown_symbol", format!("no instrument {symbol:?}")))?;
        let market = state.market.lock().map_err(|_| Problem::unavailable("unavailable", "ingress state"))?;
        let ticker = market.data().ticker(id);
        Ok::<_, Problem>(
            Json(reads::prices_json(&symbol, &listing.instrument, &ticker, market.top(id))).into_response(),
        )
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/market-data/candles/{symbol}` from the trades on `prices` (no authentication).
async fn candles(
    State(state): State<Shared>,
    Path(symbol): Path<String>,
    query: Result<Query<reads::CandleQuery>, QueryRejection>,
) -> Response {
    let result = (|| {
        let Query(query) = query.map_err(|e| Problem::bad_request("invalid_query", e.body_text()))?;
        let market = state.market.lock().map_err(|_| Problem::unavailable("unavailable", "ingress state"))?;
        Ok::<_, Problem>(Json(reads::candles_json(&state.catalog, market.data(), &symbol, &query)?).into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/risk/positions`: the caller's positions as the owning shards last published
/// them, and balances summed over the shards' sub-ledgers as each last sampled them.
async fn positions(State(state): State<Shared>, headers: HeaderMap) -> Response {
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
async fn orderbook(
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
        let book = state.market.lock().map_err(|_| Problem::unavailable("unavailable", "ingress state"))?.book(id);
        Ok::<_, Problem>(
            Json(reads::orderbook_json(&symbol, &listing.instrument, book.sequence, &book, depth)).into_response(),
        )
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /api/admin/kill-switch` (admin): one command per `orders` partition, since each
/// shard holds its own books and must stop them; answered when every shard has applied it,
/// 422 with the first refusal otherwise. A shard that did not answer in time makes it a 504:
/// the switch may then be set on some shards only, and the admin repeats the request
/// (setting a switch twice is harmless).
async fn kill_switch(State(state): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let principal = match caller(&state, &headers) {
        Ok(principal) if principal.admin => principal,
        Ok(_) => return Problem::forbidden().into_response(),
        Err(problem) => return problem.into_response(),
    };
    let task = Arc::clone(&state);
    let task_body = body.clone();
    state
        .idempotency
        .run(principal.account, &headers, &body, move || async move {
            let result = async {
                let request: KillSwitchBody = serde_json::from_slice(&task_body)
                    .map_err(|e| Problem::bad_request("invalid_body", format!("kill switch body: {e}")))?;
                let action = Action::KillSwitch(request.to_kill_switch()?);
                let mut decisions = tokio::task::JoinSet::new();
                for partition in 0..task.partitions {
                    let task = Arc::clone(&task);
                    decisions.spawn(async move { task.decide(&task.command(None, action)?, Some(partition)).await });
                }
                let mut refusal = None;
                while let Some(joined) = decisions.join_next().await {
                    let messages =
                        joined.map_err(|_| Problem::unavailable("unavailable", "kill switch task failed"))??;
                    refusal = refusal.or_else(|| refusal_of(&messages));
                }
                if let Some(code) = refusal {
                    return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, &code, format!("refused: {code}")));
                }
                Ok::<_, Problem>(Json(request.reply_json()).into_response())
            }
            .await;
            result.unwrap_or_else(IntoResponse::into_response)
        })
        .await
}

/// `--role all`'s OpenAPI document without the paths the ingress does not serve.
fn openapi_document() -> impl serde::Serialize {
    let mut document = oms_http::api_document();
    document.paths.paths.retain(|path, _| !NOT_SERVED.contains(&path.as_str()));
    document
}

/// `GET /api/account`: who the key belongs to.
async fn account(State(state): State<Shared>, headers: HeaderMap) -> Response {
    match caller(&state, &headers) {
        Ok(p) => Json(reads::account_json(&p)).into_response(),
        Err(problem) => problem.into_response(),
    }
}

/// `GET /ws/orders?apiKey=`: the account's order and fill updates.
async fn ws_orders(
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
async fn ws_market_data(State(state): State<Shared>, upgrade: WebSocketUpgrade) -> Response {
    let feed = state.market_feed.subscribe();
    upgrade.on_upgrade(move |socket| async move {
        let market = || state.market.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        ws::serve_market(socket, feed, || &state.catalog, |id| market().book(id), |id| market().data().ticker(id))
            .await;
    })
}

impl Ingress {
    fn view(&self) -> Result<std::sync::MutexGuard<'_, OrderView>, Problem> {
        self.view.lock().map_err(|_| Problem::unavailable("unavailable", "ingress state"))
    }

    /// The shard (partition) an order id names, and a symbol of that shard to key by.
    fn shard_of(&self, id: OrderId) -> Result<(i32, Symbol), Problem> {
        let unknown = || Problem::not_found("unknown_order", format!("no order {}", id.0));
        let shard =
            (id.0 >> SHARD_SEQUENCE_BITS).checked_sub(1).and_then(|s| i32::try_from(s).ok()).ok_or_else(unknown)?;
        // Any symbol of the shard routes there; the engine decides on the order id and owner.
        let symbol = self
            .catalog
            .listings()
            .into_iter()
            .map(|l| l.instrument.spec().symbol)
            .find(|s| partition_for_key(s.as_str().as_bytes(), self.partitions) == shard)
            .ok_or_else(unknown)?;
        Ok((shard, symbol))
    }

    /// A command with a fresh command id.
    fn command(&self, symbol: Option<Symbol>, action: Action) -> Result<InboundCommand, Problem> {
        let command_id = oms_kafka::messages::CommandId::new(&self.command_id())
            .map_err(|e| Problem::bad_request("invalid_command", e.to_string()))?;
        Ok(InboundCommand { command_id, symbol, action })
    }

    /// A cancel's or amend's answer, as `--role all` gives it: the order as it now stands,
    /// or the engine's refusal as a problem (404 for an order that is not working, 422
    /// otherwise).
    fn changed_order(
        &self,
        principal: Principal,
        id: OrderId,
        messages: &[ExecutionMessage],
    ) -> Result<Response, Problem> {
        if let Some(code) = refusal_of(messages) {
            return Err(if code == RejectReason::UnknownOrder.code() {
                Problem::not_found("unknown_order", format!("no working order {}", id.0))
            } else {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, &code, format!("refused: {code}"))
            });
        }
        let view = self.view()?;
        let record = view.history().order(id).filter(|r| r.order.account == principal.account);
        let record = record.ok_or_else(|| Problem::not_found("unknown_order", "order not found"))?;
        Ok(Json(reads::order_json(&self.catalog, record)).into_response())
    }

    /// The answer to a placed order, as `--role all` gives it: the order as the view folded
    /// it (the decision's messages are folded before its client is woken) with its fills,
    /// oldest first; 200 with `status: REJECTED` when the engine refused it.
    fn placed_order(
        &self,
        principal: Principal,
        request: &NewOrder,
        messages: &[ExecutionMessage],
    ) -> Result<Response, Problem> {
        let lost = |what: String| Problem::unavailable("unavailable", what);
        let result = messages
            .iter()
            .find_map(|m| match m {
                ExecutionMessage::CommandResult(r) => Some(r),
                _ => None,
            })
            .ok_or_else(|| lost("the decision came without its commandResult".into()))?;
        let sequence = oms_kafka::messages::wire::parse_order_id("sequence", &result.header.sequence)
            .map_err(|e| lost(e.to_string()))?;
        let id = match &result.order_id {
            Some(text) => {
                oms_kafka::messages::wire::parse_order_id("orderId", text).map_err(|e| lost(e.to_string()))?
            }
            None => sequence,
        };
        if let Some(code) = &result.reject_reason {
            let mut record = reads::rejected_order(id, request);
            record.reject_reason = RejectReason::ALL.into_iter().find(|r| r.code() == code);
            let mut order = reads::placed_order_json(&self.catalog, &record, []);
            // A reason this build does not know (a newer engine) is still shown as sent.
            order["rejectReason"] = Value::from(code.as_str());
            self.view()?.insert_rejected(record);
            return Ok((StatusCode::OK, Json(order)).into_response());
        }
        let view = self.view()?;
        let history = view.history();
        let record = history
            .order(id)
            .filter(|r| r.order.account == principal.account)
            .ok_or_else(|| lost(format!("order {} was decided but is not in the read model", id.0)))?;
        // Newest first; this order's fills are all from its own command or later.
        let fills: Vec<_> = history
            .executions_of(principal.account)
            .take_while(|e| e.sequence >= sequence.0)
            .filter(|e| e.order_id == id)
            .collect();
        Ok((StatusCode::CREATED, Json(reads::placed_order_json(&self.catalog, record, fills.into_iter().rev())))
            .into_response())
    }

    fn command_id(&self) -> String {
        format!("{}-{}", self.instance, self.next_command.fetch_add(1, Ordering::Relaxed))
    }

    /// Publishes `command` and waits for all its `executions` messages.
    async fn decide(&self, command: &InboundCommand, partition: Option<i32>) -> Result<Vec<ExecutionMessage>, Problem> {
        let message = encode_command(command, &self.reference)
            .map_err(|e| Problem::bad_request("invalid_order", e.to_string()))?;
        let id = command.command_id.as_str().to_owned();
        let (done, decided) = oneshot::channel();
        {
            let mut waiting = self.waiting.lock().map_err(|_| Problem::unavailable("unavailable", "ingress state"))?;
            if waiting.len() >= self.waiting_max {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(Problem::unavailable("overloaded", "too many commands waiting for decisions"));
            }
            waiting.insert(id.clone(), Waiter { messages: Vec::new(), done: Some(done) });
        }
        let published = match partition {
            Some(p) => self.producer.publish_to(&self.orders_topic, Some(p), &message.key, &message.payload),
            None => self.producer.publish_message(&message),
        };
        let receipt = match published {
            Ok(receipt) => receipt,
            Err(e) => {
                self.forget(&id);
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(match e {
                    PublishError::Backpressure => Problem::unavailable("backpressure", "order queue full; retry later"),
                    other => Problem::unavailable("kafka_unavailable", other.to_string()),
                });
            }
        };
        // A failed delivery (the broker refused it, or was unreachable for the delivery
        // timeout) is answered at once rather than after the decision timeout: almost surely
        // not applied. Only a request in flight when the broker went away can have been
        // written without an acknowledgement, hence "check before retrying".
        let decision = async {
            tokio::pin!(decided);
            let messages = tokio::select! {
                decided = &mut decided => decided,
                delivery = receipt => match delivery {
                    Ok(_) => decided.await,
                    Err(e) => return Err(Some(e)),
                },
            };
            // The sender dropped: the waiter is gone, as after a timeout.
            messages.map_err(|_| None)
        };
        match tokio::time::timeout(DECISION_TIMEOUT, decision).await {
            Ok(Ok(messages)) => Ok(messages),
            Ok(Err(Some(undelivered))) => {
                self.forget(&id);
                self.refused.fetch_add(1, Ordering::Relaxed);
                Err(Problem::unavailable(
                    "kafka_unavailable",
                    format!(
                        "the command was not delivered to Kafka ({undelivered}); it is most likely not applied: \
                         retry with the same Idempotency-Key, or check the order by its clientOrderId first"
                    ),
                ))
            }
            Ok(Err(None)) | Err(_) => {
                self.forget(&id);
                self.timeouts.fetch_add(1, Ordering::Relaxed);
                Err(Problem::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "decision_timeout",
                    "no decision in time; the command may still be applied (check the order by its clientOrderId)",
                ))
            }
        }
    }

    fn forget(&self, id: &str) {
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.remove(id);
        }
    }
}

/// The engine's refusal code of a command, from its `commandResult`.
fn refusal_of(messages: &[ExecutionMessage]) -> Option<String> {
    messages.iter().find_map(|m| match m {
        ExecutionMessage::CommandResult(result) => result.reject_reason.clone(),
        _ => None,
    })
}

/// 503 `not ready` without the brokers or the followers, or until they have read what the
/// topics held at start (the read model would be incomplete); 200 `degraded` while Redis
/// is down (idempotency falls back to this process and the engine's dedupe).
async fn ready(State(state): State<Shared>) -> Response {
    let brokers_down = state.producer.brokers_down();
    let tail = state.tail_alive.load(Ordering::Acquire);
    let redis = state.redis.as_ref().and_then(|r| oms_http::external::Dependency::degraded(r.as_ref()));
    let caught_up = [&state.executions_caught_up, &state.risk_caught_up, &state.prices_caught_up]
        .iter()
        .all(|flag| flag.load(Ordering::Acquire));
    let (status, word) = match (brokers_down || !tail || !caught_up, &redis) {
        (true, _) => (StatusCode::SERVICE_UNAVAILABLE, "not ready"),
        (false, Some(_)) => (StatusCode::OK, "degraded"),
        (false, None) => (StatusCode::OK, "ok"),
    };
    let body = json!({ "status": word, "kafka": !brokers_down, "executionsFollower": tail, "caughtUp": caught_up, "redis": redis });
    (status, Json(body)).into_response()
}

async fn metrics(State(state): State<Shared>) -> Response {
    let stats = state.producer.stats();
    let waiting = state.waiting.lock().map_or(0, |w| w.len());
    let text = format!(
        "# TYPE oms_ingress_orders_placed counter\noms_ingress_orders_placed {}\n\
         # TYPE oms_ingress_decision_timeouts counter\noms_ingress_decision_timeouts {}\n\
         # TYPE oms_ingress_refused counter\noms_ingress_refused {}\n\
         # TYPE oms_ingress_waiting gauge\noms_ingress_waiting {waiting}\n\
         # TYPE oms_kafka_in_flight gauge\noms_kafka_in_flight {}\n",
        state.placed.load(Ordering::Relaxed),
        state.timeouts.load(Ordering::Relaxed),
        state.refused.load(Ordering::Relaxed),
        stats.in_flight,
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
