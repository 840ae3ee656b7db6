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
//! producer queue answers 503 at once, and a command the broker could not take 503 as soon
//! as its delivery fails (≈ 6 s into an outage): never a silent drop.
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
//!
//! Funds are held per shard; `POST /api/account/transfers` moves them between shards and
//! `GET /api/account/ledgers` shows each shard's part (`transfers`).
//!
//! Here: the process (followers, router, health). The write routes and the wait for
//! decisions are in `commands`, the read routes and streams in `queries`, the folded read
//! models in `view` (orders, positions, balances) and `market` (prices, books, candles).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use oms_core::prelude::*;
use oms_http::auth::{ApiKeys, Principal};
use oms_http::idempotency::IdempotencyStore;
use oms_http::problem::Problem;
use oms_http::{DemoAccount, StreamItem, reads};
use oms_kafka::messages::{
    ExecutionMessage, PriceMessage, RiskEventMessage, decode_execution, decode_price, decode_risk_event,
};
use oms_kafka::{InboundRecord, KafkaConfig, KafkaProducer, TailConsumer};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use self::commands::{amend, cancel, cancel_all, kill_switch, place};
use self::decisions::Decisions;
use self::market::MarketView;
use self::queries::{
    account, candles, executions, get_one, list, openapi_document, orderbook, positions, prices, ws_market_data,
    ws_orders,
};
use self::transfers::{ledgers, transfer};
use self::view::OrderView;
use crate::config::ServeArgs;
use crate::market::Market;

mod commands;
mod decisions;
mod limits;
mod market;
mod queries;
mod transfers;
mod validate;
mod view;

/// How long a client waits for its command's decision.
const DECISION_TIMEOUT: Duration = Duration::from_secs(10);

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
    waiting: Mutex<Decisions>,
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
    executions: Follower,
    risk: Follower,
    prices: Follower,
}

/// One topic's follower, as `/ready` and `/metrics` see it.
#[derive(Default)]
struct Follower {
    /// Has read what the topic held at start.
    caught_up: AtomicBool,
    /// Records read (folded or refused): with the time to `/ready`, the catch-up rate.
    records: AtomicU64,
}

type Shared = Arc<Ingress>;

/// What one `executions` message changed, as `/ws/orders` messages per account.
type AccountUpdates = Vec<(AccountId, Value)>;

/// Items a WebSocket feed buffers for its slowest client before that client is cut.
const FEED_CAPACITY: usize = 1 << 14;

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
        waiting: Mutex::new(Decisions::default()),
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
        executions: Follower::default(),
        risk: Follower::default(),
        prices: Follower::default(),
    });
    spawn_follower(&state, tail, "executions", |s| &s.executions, decode_execution, fold_execution)?;
    spawn_follower(&state, risk_tail, "risk-events", |s| &s.risk, decode_risk_event, fold_risk_event)?;
    spawn_follower(&state, prices_tail, "prices", |s| &s.prices, decode_price, fold_price)?;
    let listen: SocketAddr = args.listen.parse().with_context(|| format!("--listen {}", args.listen))?;
    let static_dir = args.static_dir.clone();
    runtime.block_on(async move {
        let app = axum::Router::new()
            .route("/api/orders", post(place).get(list).delete(cancel_all))
            .route("/api/orders/{order_id}", delete(cancel).get(get_one).patch(amend))
            .route("/api/executions", get(executions))
            .route("/api/risk/positions", get(positions))
            .route("/api/risk/limits", get(limits::limits).put(limits::set_limits))
            .route("/api/risk/validate", post(validate::validate))
            .route("/api/market-data/prices/{symbol}", get(prices))
            .route("/api/market-data/candles/{symbol}", get(candles))
            .route("/api/market-data/orderbook/{symbol}", get(orderbook))
            .route("/api/account", get(account))
            .route("/api/account/transfers", post(transfer))
            .route("/api/account/ledgers", get(ledgers))
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
    follower: fn(&Ingress) -> &Follower,
    decode: fn(&[u8]) -> Result<M, E>,
    apply: fn(&Ingress, M, &InboundRecord) -> Result<(), Poisoned>,
) -> anyhow::Result<()> {
    let state = Arc::clone(state);
    let follow = move || loop {
        let follower = follower(&state);
        if !follower.caught_up.load(Ordering::Relaxed) && tail.caught_up() {
            follower.caught_up.store(true, Ordering::Release);
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
        follower.records.fetch_add(1, Ordering::Relaxed);
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
    state.waiting.lock().map_err(|_| Poisoned)?.offer(message);
    Ok(())
}

/// A `risk-events` message: an account's latest position in a symbol, or one shard's part
/// of its balance in an asset.
fn fold_risk_event(state: &Ingress, message: RiskEventMessage, record: &InboundRecord) -> Result<(), Poisoned> {
    if let Err(e) = state.view.lock().map_err(|_| Poisoned)?.apply_risk(&state.catalog, &message) {
        tracing::warn!(error = %e, partition = record.partition, offset = record.offset, "risk event not folded");
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

impl Ingress {
    fn view(&self) -> Result<std::sync::MutexGuard<'_, OrderView>, Problem> {
        self.view.lock().map_err(|_| Problem::unavailable("unavailable", "ingress state"))
    }

    fn market(&self) -> Result<std::sync::MutexGuard<'_, MarketView>, Problem> {
        self.market.lock().map_err(|_| Problem::unavailable("unavailable", "ingress state"))
    }

    /// The shard (`orders` partition) that owns `symbol`'s book: the engines' rule, by key.
    fn partition_of(&self, symbol: Symbol) -> i32 {
        oms_kafka::topics::partition_for_key(symbol.as_str().as_bytes(), self.partitions)
    }

    /// The symbols whose books `shard` owns, in catalogue order.
    fn symbols_of(&self, shard: i32) -> impl Iterator<Item = Symbol> + '_ {
        self.catalog
            .listings()
            .into_iter()
            .map(|l| l.instrument.spec().symbol)
            .filter(move |s| self.partition_of(*s) == shard)
    }
}

/// 503 `not ready` without the brokers or the followers, or until they have read what the
/// topics held at start (the read model would be incomplete); 200 `degraded` while Redis
/// is down (idempotency falls back to this process and the engine's dedupe).
async fn ready(State(state): State<Shared>) -> Response {
    let brokers_down = state.producer.brokers_down();
    let tail = state.tail_alive.load(Ordering::Acquire);
    let redis = state.redis.as_ref().and_then(|r| oms_http::external::Dependency::degraded(r.as_ref()));
    let caught_up = [&state.executions, &state.risk, &state.prices].iter().all(|f| f.caught_up.load(Ordering::Acquire));
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
         # TYPE oms_kafka_in_flight gauge\noms_kafka_in_flight {}\n\
         # TYPE oms_ingress_records_read counter\n\
         oms_ingress_records_read{{topic=\"executions\"}} {}\n\
         oms_ingress_records_read{{topic=\"risk-events\"}} {}\n\
         oms_ingress_records_read{{topic=\"prices\"}} {}\n",
        state.placed.load(Ordering::Relaxed),
        state.timeouts.load(Ordering::Relaxed),
        state.refused.load(Ordering::Relaxed),
        stats.in_flight,
        state.executions.records.load(Ordering::Relaxed),
        state.risk.records.load(Ordering::Relaxed),
        state.prices.records.load(Ordering::Relaxed),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
