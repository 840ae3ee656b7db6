//! # oms-http
//!
//! HTTP/WebSocket ingress for the OMS (axum): the REST API of `docs/api.md`, market data,
//! API-key auth with owner-only access and admin scope, idempotency keys, per-key and
//! per-IP rate limits, body limits, CORS, Prometheus metrics and the dashboard's files.
//!
//! The adapter is thin. Writes become engine commands through the pipeline and are
//! answered once durable. Reads come from two places:
//! * projections of the durable event stream (order history, fills, trades, candles);
//! * engine reads in sequence (balances, positions, limits, the order book, dry-run risk
//!   checks).
//!
//! No state is shared with the engine thread.

mod account;
pub mod auth;
pub mod catalog;
pub mod dto;
pub mod external;
pub mod history;
pub mod idempotency;
pub mod limits;
pub mod market;
mod market_routes;
pub mod metrics;
mod openapi;
mod orders;
pub mod problem;
pub mod reads;
mod render;
pub mod ws;

pub use openapi::api_document;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use oms_core::model::{Action, AdminApplied, Event, InstrumentId, Price, Quantity};
use oms_core::pipeline::{EngineHandle, Outcome, SubmitError, Ticket, WaitError};
use oms_core::prelude::Engine;
use rustc_hash::FxHashMap;
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::auth::ApiKeys;
use crate::catalog::Catalog;
use crate::external::{CacheKey, External};
use crate::history::History;
use crate::market::{BookSnapshot, Candle, MarketData, TradeTick};
use crate::metrics::Metrics;
use crate::problem::Problem;

/// Settings of the HTTP layer.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Requests per second per API key (burst = same).
    pub rate_per_key_per_s: u32,
    /// Requests per second per client IP.
    pub rate_per_ip_per_s: u32,
    /// Largest request body.
    pub body_bytes_max: usize,
    /// Built dashboard to serve at `/`, if present.
    pub static_dir: Option<PathBuf>,
    /// Origins allowed by CORS (the dashboard's dev server).
    pub cors_origins: Vec<String>,
    /// How often the book poller samples engine depth.
    pub book_poll: Duration,
    /// Levels per side kept in book snapshots.
    pub book_depth: usize,
    /// Demo accounts listed at `/api/demo/accounts` (demo mode only).
    pub demo_accounts: Option<Vec<DemoAccount>>,
    /// How long a request waits for the engine's answer.
    pub engine_timeout: Duration,
    /// Engine events buffered for the projection pump before it counts as lagging (it then
    /// rebuilds its projections from the journal and is not ready meanwhile).
    pub pump_events_buffered_max: usize,
    /// Rebuild order/fill/candle history from this journal at start (the engine's data
    /// directory and configuration); without it history starts empty.
    pub history_from: Option<(PathBuf, oms_core::engine::EngineConfig)>,
    /// Orders kept in memory (older finished ones are served from the archive, if any).
    pub history_orders_max: usize,
    /// Fills kept in memory per account (older ones are served from the archive, if any).
    pub history_executions_per_account_max: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            rate_per_key_per_s: 100_000,
            rate_per_ip_per_s: 200_000,
            body_bytes_max: 16 * 1024,
            static_dir: None,
            cors_origins: vec!["http://localhost:5173".into(), "http://127.0.0.1:5173".into()],
            book_poll: Duration::from_millis(100),
            book_depth: 100,
            demo_accounts: None,
            engine_timeout: Duration::from_secs(10),
            history_from: None,
            pump_events_buffered_max: 1 << 18,
            history_orders_max: history::HISTORY_ORDERS_MAX,
            history_executions_per_account_max: history::EXECUTIONS_PER_ACCOUNT_MAX,
        }
    }
}

/// A demo account shown on the dashboard's login screen.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DemoAccount {
    /// Account id (string).
    pub account_id: String,
    /// Its API key.
    pub api_key: String,
    /// Admin scope.
    pub admin: bool,
}

/// What the WebSocket fan-out carries.
#[derive(Clone, Debug)]
pub enum StreamItem {
    /// An engine event (for `/ws/orders`).
    Event(u64, Event),
    /// A public trade.
    Trade(InstrumentId, TradeTick),
    /// A candle changed.
    Candle(InstrumentId, usize, Candle),
    /// Book changes since `prev_sequence`.
    BookDelta {
        /// Instrument.
        instrument: InstrumentId,
        /// Sequence of this book state.
        sequence: u64,
        /// Sequence of the state the changes apply to.
        prev_sequence: u64,
        /// Changed bid levels (quantity 0 = removed).
        bids: Vec<(Price, Quantity)>,
        /// Changed ask levels.
        asks: Vec<(Price, Quantity)>,
    },
}

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    engine: Mutex<EngineHandle>,
    keys: ApiKeys,
    config: HttpConfig,
    catalog: Arc<RwLock<Catalog>>,
    history: RwLock<History>,
    market: RwLock<MarketData>,
    books: RwLock<FxHashMap<InstrumentId, BookSnapshot>>,
    /// `(sequence, events of it applied)` of the last event folded into the projections.
    projected: watch::Sender<(u64, u32)>,
    last_event_sequence: AtomicU64,
    stream: broadcast::Sender<Arc<StreamItem>>,
    idempotency: idempotency::IdempotencyStore,
    key_limiter: DefaultKeyedRateLimiter<String>,
    ip_limiter: DefaultKeyedRateLimiter<IpAddr>,
    metrics: Metrics,
    ready: AtomicBool,
    generated_ids: AtomicU64,
    /// Times the projections were rebuilt after the pump lagged.
    rebuilds: AtomicU64,
    /// Optional Redis/MongoDB services.
    external: External,
    /// Orders and `(account, instrument)` positions changed since the cache was last fed
    /// (tracked only with a read cache).
    cache_dirty: Mutex<CacheDirty>,
}

/// What the read cache has not seen yet.
#[derive(Debug, Default)]
struct CacheDirty {
    orders: rustc_hash::FxHashSet<oms_core::model::OrderId>,
    positions: rustc_hash::FxHashSet<(oms_core::model::AccountId, InstrumentId)>,
}

impl AppState {
    /// Wires the server around a started pipeline: loads the catalog, starts the event pump
    /// (a thread) and the book poller (a task; call inside a Tokio runtime).
    pub async fn start(handle: EngineHandle, keys: ApiKeys, config: HttpConfig) -> Result<Self, Problem> {
        Self::start_with(handle, keys, config, External::default()).await
    }

    /// [`AppState::start`] with external services (shared idempotency, read cache, history
    /// archive, dependency health).
    pub async fn start_with(
        handle: EngineHandle,
        keys: ApiKeys,
        config: HttpConfig,
        external: External,
    ) -> Result<Self, Problem> {
        let subscription = handle.subscribe(config.pump_events_buffered_max);
        let per_key = Quota::per_second(
            std::num::NonZeroU32::new(config.rate_per_key_per_s.max(1)).unwrap_or(std::num::NonZeroU32::MIN),
        );
        let per_ip = Quota::per_second(
            std::num::NonZeroU32::new(config.rate_per_ip_per_s.max(1)).unwrap_or(std::num::NonZeroU32::MIN),
        );
        let (stream, _) = broadcast::channel(1 << 14);
        let pump_handle = handle.clone();
        let state = AppState(Arc::new(Inner {
            engine: Mutex::new(handle),
            keys,
            catalog: Arc::new(RwLock::new(Catalog::default())),
            history: RwLock::new(History::with_bounds(
                config.history_orders_max,
                config.history_executions_per_account_max,
            )),
            market: RwLock::new(MarketData::default()),
            books: RwLock::new(FxHashMap::default()),
            projected: watch::channel((0, u32::MAX)).0,
            last_event_sequence: AtomicU64::new(0),
            stream,
            idempotency: idempotency::IdempotencyStore::with_shared(
                external.idempotency.clone(),
                config.engine_timeout,
            ),
            key_limiter: RateLimiter::keyed(per_key),
            ip_limiter: RateLimiter::keyed(per_ip),
            metrics: Metrics::default(),
            ready: AtomicBool::new(false),
            generated_ids: AtomicU64::new(0),
            rebuilds: AtomicU64::new(0),
            external,
            cache_dirty: Mutex::default(),
            config,
        }));
        state.reload_catalog().await?;
        let replayed = match state.config().history_from.clone() {
            Some((dir, config)) => {
                let rebuild = state.clone();
                tokio::task::spawn_blocking(move || rebuild.rebuild_history(&dir, config))
                    .await
                    .map_err(|e| Problem::unavailable("unavailable", e.to_string()))??
            }
            None => 0,
        };
        state.0.projected.send_replace((replayed, u32::MAX));
        let pump_state = state.clone();
        std::thread::Builder::new()
            .name("oms-http-pump".into())
            .spawn(move || pump_state.pump(&subscription, pump_handle, replayed))
            .map_err(|e| Problem::unavailable("unavailable", e.to_string()))?;
        tokio::spawn(state.clone().poll_books());
        state.0.ready.store(true, Ordering::Release);
        Ok(state)
    }

    /// The API keys.
    pub fn keys(&self) -> &ApiKeys {
        &self.0.keys
    }

    fn config(&self) -> &HttpConfig {
        &self.0.config
    }

    fn catalog(&self) -> std::sync::RwLockReadGuard<'_, Catalog> {
        self.0.catalog.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn history(&self) -> std::sync::RwLockReadGuard<'_, History> {
        self.0.history.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn market(&self) -> std::sync::RwLockReadGuard<'_, MarketData> {
        self.0.market.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Per-key rate limit (called by the auth extractor).
    pub fn rate_limit_key(&self, key: &str) -> Result<(), Problem> {
        self.0.key_limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&governor::clock::DefaultClock::default()));
            Problem::rate_limited(wait.as_secs() + 1)
        })
    }

    /// A client order id for orders that did not bring one.
    fn generated_client_order_id(&self) -> String {
        let n = self.0.generated_ids.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        format!("auto-{nanos:x}-{n}")
    }

    // ----- Engine gateway -----------------------------------------------------------

    fn submit(&self, action: Action) -> Result<Ticket, Problem> {
        let mut engine = self.0.engine.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        engine.try_submit(action).map_err(submit_problem)
    }

    async fn outcome(&self, ticket: Ticket) -> Result<Outcome, Problem> {
        let future = self.0.engine.lock().unwrap_or_else(std::sync::PoisonError::into_inner).outcome(ticket);
        match tokio::time::timeout(self.config().engine_timeout, future).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(WaitError::JournalFailed)) => {
                Err(Problem::unavailable("unavailable", "journal failed; not acknowledged"))
            }
            Ok(Err(e)) => Err(Problem::unavailable("unavailable", e.to_string())),
            Err(_) => Err(Problem::unavailable("timeout", "engine did not answer in time")),
        }
    }

    /// Submits a command and waits until it is durable and projected.
    async fn execute(&self, action: Action) -> Result<Outcome, Problem> {
        let ticket = self.submit(action)?;
        let outcome = self.outcome(ticket).await?;
        self.projected(&outcome).await;
        Ok(outcome)
    }

    /// Waits until every event of the command has been folded into the projections (a
    /// command's events share its sequence, so the sequence alone is not enough).
    async fn projected(&self, outcome: &Outcome) {
        if outcome.events == 0 {
            return;
        }
        let (sequence, events) = (outcome.sequence.0, outcome.events);
        let mut watermark = self.0.projected.subscribe();
        let done = |&(s, n): &(u64, u32)| s > sequence || (s == sequence && n >= events);
        let _ = tokio::time::timeout(self.config().engine_timeout, watermark.wait_for(done)).await;
    }

    /// Runs `read` on the engine thread after everything sequenced so far; answers once the
    /// state it saw is durable.
    async fn read<R: Send + 'static>(&self, read: impl FnOnce(&Engine) -> R + Send + 'static) -> Result<R, Problem> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let ticket = {
            let mut engine = self.0.engine.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            engine.try_read(Box::new(move |e| {
                let _ = tx.send(read(e));
            }))
        }
        .map_err(submit_problem)?;
        self.outcome(ticket).await?;
        rx.await.map_err(|_| Problem::unavailable("unavailable", "engine read dropped"))
    }

    async fn reload_catalog(&self) -> Result<(), Problem> {
        let catalog = self.read(Catalog::from_engine).await?;
        *self.0.catalog.write().unwrap_or_else(std::sync::PoisonError::into_inner) = catalog;
        Ok(())
    }

    // ----- Event pump and book poller ------------------------------------------------

    /// Resets the projections and replays the journal into them; returns the last sequence
    /// covered.
    fn rebuild_history(&self, dir: &std::path::Path, config: oms_core::engine::EngineConfig) -> Result<u64, Problem> {
        let mut history = self.0.history.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut market = self.0.market.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        *history =
            History::with_bounds(self.config().history_orders_max, self.config().history_executions_per_account_max);
        *market = MarketData::default();
        oms_core::journal::replay_all(dir, config, |sequence, event| {
            history.apply(sequence.0, event);
            if let Event::Trade(trade) = event {
                market.apply_trade(trade);
            }
        })
        .map_err(|e| Problem::unavailable("unavailable", format!("rebuilding history: {e}")))
    }

    fn pump(&self, subscription: &oms_core::pipeline::Subscription, mut handle: EngineHandle, replayed: u64) {
        let mut resubscribed = None;
        let mut replayed = replayed;
        loop {
            let current = resubscribed.as_ref().unwrap_or(subscription);
            let (sequence, event) = match current.recv_timeout(Duration::from_secs(1)) {
                Ok(item) => item,
                Err(oms_core::pipeline::SubscriptionError::Timeout) => continue,
                Err(oms_core::pipeline::SubscriptionError::Lagged) => {
                    // Events were dropped for us (the engine never waits for a reader), so the
                    // projections are incomplete: rebuild them the way start-up does.
                    match self.recover_projections(&handle) {
                        Some((fresh, covered)) => {
                            resubscribed = Some(fresh);
                            replayed = covered;
                            continue;
                        }
                        None => return,
                    }
                }
                Err(oms_core::pipeline::SubscriptionError::Closed) => return,
            };
            // Already folded in by the start-up replay of the journal.
            if sequence.0 <= replayed {
                continue;
            }
            self.0.history.write().unwrap_or_else(std::sync::PoisonError::into_inner).apply(sequence.0, &event);
            if self.0.external.cache.is_some() {
                self.mark_cache_dirty(&event);
            }
            if let Event::Trade(trade) = &event {
                let candles =
                    self.0.market.write().unwrap_or_else(std::sync::PoisonError::into_inner).apply_trade(trade);
                let tick = TradeTick {
                    trade_id: trade.trade_id,
                    price: trade.price,
                    quantity: trade.quantity,
                    taker_side: trade.taker_side,
                    time: trade.timestamp,
                };
                let _ = self.0.stream.send(Arc::new(StreamItem::Trade(trade.instrument, tick)));
                for (index, candle) in candles.into_iter().enumerate() {
                    let _ = self.0.stream.send(Arc::new(StreamItem::Candle(trade.instrument, index, candle)));
                }
            }
            if matches!(
                event,
                Event::AdminApplied(AdminApplied::InstrumentAdded(_) | AdminApplied::InstrumentStatusSet(..))
            ) {
                let catalog = Arc::clone(&self.0.catalog);
                let _ = handle.try_read(Box::new(move |e| {
                    *catalog.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Catalog::from_engine(e);
                }));
            }
            let _ = self.0.stream.send(Arc::new(StreamItem::Event(sequence.0, event)));
            self.0.last_event_sequence.store(sequence.0, Ordering::Release);
            self.0.projected.send_modify(|(s, n)| {
                if *s == sequence.0 {
                    *n += 1;
                } else {
                    *s = sequence.0;
                    *n = 1;
                }
            });
        }
    }

    /// Notes which cached orders and positions an event changed.
    fn mark_cache_dirty(&self, event: &Event) {
        let mut dirty = self.0.cache_dirty.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut touch = |order: oms_core::model::OrderId, account, instrument| {
            dirty.orders.insert(order);
            dirty.positions.insert((account, instrument));
        };
        match event {
            Event::OrderAccepted(o) => touch(o.id, o.account, o.instrument),
            Event::Trade(t) => {
                touch(t.maker.order_id, t.maker.account, t.instrument);
                touch(t.taker.order_id, t.taker.account, t.instrument);
            }
            Event::OrderTriggered(u) | Event::OrderExpired(u) => touch(u.order_id, u.account, u.instrument),
            Event::OrderCancelled(c) => touch(c.order.order_id, c.order.account, c.order.instrument),
            Event::OrderAmended(a) => touch(a.order.order_id, a.order.account, a.order.instrument),
            Event::Rejected(_) | Event::BalanceChanged(_) | Event::AdminApplied(_) => {}
        }
    }

    /// Renders what changed since the last call, exactly as the REST API would, and hands it
    /// to the read cache (which writes it off this task, pipelined).
    async fn feed_cache(&self, books: &[(String, serde_json::Value)]) {
        let Some(cache) = self.0.external.cache.clone() else { return };
        let dirty = std::mem::take(&mut *self.0.cache_dirty.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let mut entries: Vec<(CacheKey, String)> =
            books.iter().map(|(symbol, book)| (CacheKey::OrderBook(symbol.clone()), book.to_string())).collect();
        {
            let history = self.history();
            let catalog = self.catalog();
            for id in &dirty.orders {
                if let Some(record) = history.order(*id) {
                    entries.push((CacheKey::Order(*id), render::order(&catalog, record, None).to_string()));
                }
            }
        }
        if !dirty.positions.is_empty() {
            let catalog = self.catalog().clone();
            let wanted: Vec<_> = dirty.positions.into_iter().collect();
            if let Ok(positions) = self
                .read(move |engine| {
                    wanted
                        .iter()
                        .filter_map(|(account, instrument)| {
                            let a = engine.account(*account)?;
                            let listing = catalog.listing(*instrument)?;
                            let value = account::position_json(&catalog, a, listing)?;
                            Some((
                                CacheKey::Position(*account, listing.instrument.spec().symbol.as_str().to_owned()),
                                value.to_string(),
                            ))
                        })
                        .collect::<Vec<_>>()
                })
                .await
            {
                entries.extend(positions);
            }
        }
        if !entries.is_empty() {
            cache.put(entries);
        }
    }

    /// After a lag: not ready, subscribe afresh, rebuild from the journal, ready again.
    /// Returns the new subscription and the last sequence the rebuild covered.
    fn recover_projections(&self, handle: &EngineHandle) -> Option<(oms_core::pipeline::Subscription, u64)> {
        self.0.ready.store(false, Ordering::Release);
        self.0.rebuilds.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("projection pump fell behind the event stream; rebuilding from the journal");
        let fresh = handle.subscribe(self.config().pump_events_buffered_max);
        let covered = match self.config().history_from.clone() {
            Some((dir, config)) => match self.rebuild_history(&dir, config) {
                Ok(covered) => covered,
                Err(problem) => {
                    tracing::error!(detail = %problem.detail, "cannot rebuild projections; staying not ready");
                    return None;
                }
            },
            // Without a journal to rebuild from, continue from now on (history incomplete).
            None => handle.published_sequence(),
        };
        self.0.projected.send_replace((covered, u32::MAX));
        self.0.ready.store(true, Ordering::Release);
        Some((fresh, covered))
    }

    /// Samples engine depth and publishes sequenced deltas when the market moved.
    async fn poll_books(self) {
        let mut ticker = tokio::time::interval(self.config().book_poll);
        let mut seen = u64::MAX;
        loop {
            ticker.tick().await;
            let last = self.0.last_event_sequence.load(Ordering::Acquire);
            if last == seen {
                continue;
            }
            seen = last;
            let depth = self.config().book_depth;
            let ids: Vec<InstrumentId> = self.catalog().listings().iter().map(|l| l.instrument.id()).collect();
            let Ok(snapshots) = self
                .read(move |engine| {
                    ids.iter().map(|id| (*id, BookSnapshot::read(engine, *id, depth))).collect::<Vec<_>>()
                })
                .await
            else {
                continue;
            };
            let sequence = self.0.engine.lock().unwrap_or_else(std::sync::PoisonError::into_inner).published_sequence();
            let mut cached_books = Vec::new();
            {
                let mut books = self.0.books.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                for (instrument, mut snapshot) in snapshots {
                    snapshot.sequence = sequence;
                    let previous = books.get(&instrument).cloned().unwrap_or_default();
                    if previous.bids == snapshot.bids && previous.asks == snapshot.asks {
                        continue;
                    }
                    if self.0.external.cache.is_some()
                        && let Some(listing) = self.catalog().listing(instrument)
                    {
                        let symbol = listing.instrument.spec().symbol.as_str().to_owned();
                        let depth = BOOK_CACHE_DEPTH.min(depth);
                        let body = reads::orderbook_json(&symbol, &listing.instrument, sequence, &snapshot, depth);
                        cached_books.push((symbol, body));
                    }
                    let (bids, asks) = snapshot.delta_from(&previous);
                    let item =
                        StreamItem::BookDelta { instrument, sequence, prev_sequence: previous.sequence, bids, asks };
                    books.insert(instrument, snapshot);
                    let _ = self.0.stream.send(Arc::new(item));
                }
            }
            self.feed_cache(&cached_books).await;
        }
    }

    /// The latest sampled book of an instrument.
    fn book(&self, instrument: InstrumentId) -> BookSnapshot {
        self.0
            .books
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&instrument)
            .cloned()
            .unwrap_or_default()
    }
}

/// Levels per side in the cached `orderbook:{symbol}` (the REST route's default depth).
const BOOK_CACHE_DEPTH: usize = 50;

fn submit_problem(error: SubmitError) -> Problem {
    match error {
        SubmitError::Backpressure => {
            let mut p = Problem::unavailable("overloaded", "the engine is at capacity; retry shortly");
            p.retry_after_s = Some(1);
            p
        }
        SubmitError::Closed => Problem::unavailable("unavailable", "shutting down"),
        SubmitError::JournalFailed => Problem::unavailable("unavailable", "journal failed"),
    }
}

/// `router` with the built dashboard in `static_dir` served for every other path (a
/// single-page app: unknown paths get `index.html`), or 404 problems without one.
pub fn with_dashboard<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    static_dir: Option<&std::path::Path>,
) -> Router<S> {
    match static_dir {
        Some(dir) if dir.join("index.html").exists() => router.fallback_service(
            tower_http::services::ServeDir::new(dir)
                .fallback(tower_http::services::ServeFile::new(dir.join("index.html"))),
        ),
        _ => router.fallback(|| async { Problem::not_found("not_found", "no such route") }),
    }
}

/// The complete router.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/account", get(account::whoami))
        .route("/api/orders", post(orders::place).get(orders::list).delete(orders::cancel_all))
        .route("/api/orders/{order_id}", get(orders::get_one).delete(orders::cancel).patch(orders::amend))
        .route("/api/executions", get(orders::executions))
        .route("/api/risk/validate", post(account::validate))
        .route("/api/risk/positions", get(account::positions))
        .route("/api/risk/limits", get(account::limits).put(account::set_limits))
        .route("/api/admin/kill-switch", post(account::kill_switch))
        .route("/api/instruments", get(market_routes::instruments))
        .route("/api/market-data/prices/{symbol}", get(market_routes::prices))
        .route("/api/market-data/orderbook/{symbol}", get(market_routes::orderbook))
        .route("/api/market-data/candles/{symbol}", get(market_routes::candles))
        .route("/api/demo/accounts", get(account::demo_accounts))
        .route("/ws/market-data", get(ws::market_data))
        .route("/ws/orders", get(ws::orders))
        .route("/api/openapi.json", get(openapi::document))
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics_text));
    let mut app = with_dashboard(api, state.config().static_dir.as_deref());
    let origins: Vec<HeaderValue> =
        state.config().cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            "idempotency-key".parse().unwrap_or(header::ACCEPT),
        ]);
    let body_max = state.config().body_bytes_max;
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    let trace = tower_http::trace::TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
        let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
        tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
    });
    app = app
        .layer(axum::extract::DefaultBodyLimit::max(body_max))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(cors)
        .layer(trace)
        .layer(tower_http::request_id::PropagateRequestIdLayer::new(request_id.clone()))
        .layer(tower_http::request_id::SetRequestIdLayer::new(request_id, tower_http::request_id::MakeRequestUuid));
    app.with_state(state)
}

/// Per-IP rate limit, declared-size body limit, and request latency metrics.
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    if let Some(ConnectInfo(addr)) = request.extensions().get::<ConnectInfo<SocketAddr>>()
        && state.0.ip_limiter.check_key(&addr.ip()).is_err()
    {
        return Problem::rate_limited(1).into_response();
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > state.config().body_bytes_max) {
        return Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("request body over {} bytes", state.config().body_bytes_max),
        )
        .into_response();
    }
    let response = next.run(request).await;
    state.0.metrics.request(started.elapsed());
    response
}

async fn ready(State(state): State<AppState>) -> Response {
    let journal_failed = state.0.engine.lock().unwrap_or_else(std::sync::PoisonError::into_inner).journal_failed();
    let ready = state.0.ready.load(Ordering::Acquire) && !journal_failed;
    // A dependency that is down degrades the service but does not make it unready: orders
    // still flow (DESIGN.md §7), so a load balancer must keep sending them.
    let mut dependencies = serde_json::Map::new();
    let mut degraded = false;
    for dependency in &state.0.external.dependencies {
        let status = match dependency.degraded() {
            Some(reason) => {
                degraded = true;
                serde_json::json!({ "status": "degraded", "reason": reason })
            }
            None => serde_json::json!({ "status": "ok" }),
        };
        dependencies.insert(dependency.name().to_owned(), status);
    }
    let status = match (ready, degraded) {
        (false, _) => "not ready",
        (true, true) => "degraded",
        (true, false) => "ok",
    };
    let body = serde_json::json!({
        "ready": ready,
        "status": status,
        "engine": if journal_failed { "journal failed" } else { "ok" },
        "dependencies": dependencies,
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    let (durable, published, in_flight, syncs, sync_total_s, sync_max_s) = {
        let engine = state.0.engine.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let stats = engine.sync_stats();
        (
            engine.durable_sequence(),
            engine.published_sequence(),
            engine.in_flight(),
            stats.count.load(Ordering::Relaxed),
            stats.total_ns.load(Ordering::Relaxed) as f64 / 1e9,
            stats.max_ns.load(Ordering::Relaxed) as f64 / 1e9,
        )
    };
    let projected = state.0.projected.borrow().0;
    let mut gauges = vec![
        ("oms_durable_sequence", "Highest sequence durable under the fsync policy.", durable as f64),
        ("oms_published_sequence", "Highest sequence whose outcome was released.", published as f64),
        ("oms_projected_sequence", "Highest sequence applied to the HTTP projections.", projected as f64),
        ("oms_ring_in_flight", "Commands submitted and not yet released (ring occupancy).", in_flight as f64),
        (
            "oms_projection_rebuilds",
            "Projection rebuilds after the event pump fell behind.",
            state.0.rebuilds.load(Ordering::Relaxed) as f64,
        ),
        ("oms_journal_fsyncs", "Journal fdatasync calls.", syncs as f64),
        ("oms_journal_fsync_seconds_total", "Time spent in journal fdatasync.", sync_total_s),
        ("oms_journal_fsync_seconds_max", "Longest journal fdatasync.", sync_max_s),
    ];
    for dependency in &state.0.external.dependencies {
        gauges.extend(dependency.gauges());
    }
    let text = state.0.metrics.render(&gauges);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
