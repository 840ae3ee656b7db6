//! # oms-redis
//!
//! Redis adapter for the OMS (ElastiCache in production): the cross-process idempotency
//! store and the read caches. Thin: it implements `oms-http`'s seams
//! ([`SharedIdempotency`], [`ReadCache`], [`Dependency`]) on one `redis` connection manager.
//!
//! | key | value | TTL |
//! |---|---|---|
//! | `idempotency:{accountId}:{key}` | claim, then the first response ([`record`]) | 60 s while in flight, then 24 h |
//! | `order:{orderId}` | the order as `GET /api/orders/{orderId}` shows it | 1 h |
//! | `orderbook:{symbol}` | the book as `GET /api/market-data/orderbook/{symbol}` shows it | 1 s |
//! | `position:{accountId}:{symbol}` | the position as `GET /api/risk/positions` lists it | none |
//!
//! **Idempotency.** A claim is one `SET key <in-flight record> NX EX 60`: Redis decides
//! which of several concurrent duplicates (on any number of processes) runs, never timing.
//! The winner's response replaces the claim with `SET key <completed record> EX 86400`
//! after the client has its answer (queued, pipelined). The claim's short TTL means a process
//! that dies mid-request does not block the key for a day (the key is scoped by account, so
//! one account's key can never replay another's response).
//!
//! **Off the ack path.** Completions and cache entries go through one bounded queue
//! ([`WRITES_QUEUED_MAX`]) to a writer task that sends them as pipelines of up to
//! [`WRITE_BATCH_MAX`] commands; a full queue drops and counts
//! (`oms_redis_writes_dropped_total`). Only the claim, which must be decided before the
//! order is submitted, is awaited on the request path, bounded by [`RESPONSE_TIMEOUT`].
//!
//! **Outage.** The first failed command marks Redis down: `/ready` says `degraded` with the
//! reason, `oms_redis_up` is 0, requests stop waiting on Redis at all (idempotency falls back
//! to the process's own store and the engine's `(account, clientOrderId)` dedupe), cache
//! writes are dropped and counted. A probe task pings with capped exponential backoff and
//! jitter ([`PROBE_DELAY_MIN`] doubling to [`PROBE_DELAY_MAX`]) and closes the circuit when
//! Redis answers.

pub mod record;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use oms_core::model::AccountId;
use oms_http::external::{BoxFuture, CacheKey, Dependency, ReadCache};
use oms_http::idempotency::{SharedClaim, SharedIdempotency, SharedStoreError, StoredResponse};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use thiserror::Error;
use tokio::sync::mpsc;

/// TTL of a completed idempotency record.
pub const IDEMPOTENCY_TTL_S: u64 = 86_400;
/// TTL of an in-flight claim (a claimant that died frees the key after this).
pub const IDEMPOTENCY_CLAIM_TTL_S: u64 = 60;
/// TTL of `order:{orderId}`.
pub const ORDER_TTL_S: u64 = 3_600;
/// TTL of `orderbook:{symbol}`.
pub const ORDERBOOK_TTL_S: u64 = 1;
/// Writes (completions and cache entries) queued for the writer task at most.
pub const WRITES_QUEUED_MAX: usize = 65_536;
/// Commands per pipeline.
pub const WRITE_BATCH_MAX: usize = 512;
/// Longest wait for one Redis reply (the claim is on the request path).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);
/// Longest wait to connect.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// First probe delay after Redis went down.
pub const PROBE_DELAY_MIN: Duration = Duration::from_millis(50);
/// Probe delay cap.
pub const PROBE_DELAY_MAX: Duration = Duration::from_secs(2);

const _: () = assert!(PROBE_DELAY_MIN.as_millis() < PROBE_DELAY_MAX.as_millis());
const _: () = assert!(WRITE_BATCH_MAX <= WRITES_QUEUED_MAX);

/// Why the adapter could not be set up.
#[derive(Debug, Error)]
pub enum RedisError {
    /// The URL is not a Redis URL.
    #[error("invalid Redis URL {url:?}: {reason}")]
    InvalidUrl {
        /// As given.
        url: String,
        /// Parser's reason.
        reason: String,
    },
    /// Not called inside a Tokio runtime.
    #[error("the Redis adapter must start inside a Tokio runtime")]
    NoRuntime,
}

/// One queued write.
#[derive(Debug)]
struct Write {
    key: String,
    value: Vec<u8>,
    ttl_s: Option<u64>,
}

/// Health and counters, shared by the request path, the writer and the probe.
#[derive(Debug, Default)]
struct Health {
    down: AtomicBool,
    probing: AtomicBool,
    reason: Mutex<Option<String>>,
    fallbacks: AtomicU64,
    writes: AtomicU64,
    writes_dropped: AtomicU64,
    probes: AtomicU64,
    outages: AtomicU64,
}

/// The Redis adapter: cheap to clone, one connection manager inside.
#[derive(Clone)]
pub struct Redis {
    connection: ConnectionManager,
    writes: mpsc::Sender<Write>,
    health: Arc<Health>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").field("down", &self.health.down.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

impl Redis {
    /// Sets up the adapter and its writer task. Does not wait for Redis: if it is down at
    /// start the adapter starts degraded and the probe connects when it comes up.
    pub fn start(url: &str) -> Result<Self, RedisError> {
        tokio::runtime::Handle::try_current().map_err(|_| RedisError::NoRuntime)?;
        let client = redis::Client::open(url)
            .map_err(|e| RedisError::InvalidUrl { url: url.to_owned(), reason: e.to_string() })?;
        // The manager reconnects by itself too (its own capped, jittered backoff); few
        // retries so a failure surfaces quickly and the circuit below takes over.
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(PROBE_DELAY_MIN)
            .set_max_delay(PROBE_DELAY_MAX);
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| RedisError::InvalidUrl { url: url.to_owned(), reason: e.to_string() })?;
        let (writes, queue) = mpsc::channel(WRITES_QUEUED_MAX);
        let redis = Redis { connection, writes, health: Arc::new(Health::default()) };
        tokio::spawn(redis.clone().write_behind(queue));
        tokio::spawn({
            let redis = redis.clone();
            async move {
                if let Err(e) = redis.ping().await {
                    redis.mark_down(&e);
                }
            }
        });
        Ok(redis)
    }

    /// Whether Redis is marked down.
    pub fn is_down(&self) -> bool {
        self.health.down.load(Ordering::Acquire)
    }

    async fn ping(&self) -> Result<(), redis::RedisError> {
        let mut connection = self.connection.clone();
        redis::cmd("PING").query_async::<String>(&mut connection).await.map(drop)
    }

    /// Opens the circuit and starts the probe (once).
    fn mark_down(&self, error: &redis::RedisError) {
        let reason = format!("redis unreachable: {error}");
        if !self.health.down.swap(true, Ordering::AcqRel) {
            self.health.outages.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%reason, "redis down; idempotency falls back to the engine's dedupe");
        }
        *self.health.reason.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reason);
        if !self.health.probing.swap(true, Ordering::AcqRel) {
            tokio::spawn(self.clone().probe());
        }
    }

    /// Pings with capped exponential backoff and jitter until Redis answers.
    async fn probe(self) {
        let mut delay = PROBE_DELAY_MIN;
        let mut seed = jitter_seed();
        loop {
            // Full jitter in [delay/2, delay): many processes do not retry in lockstep.
            seed = splitmix(seed);
            let jittered = delay / 2 + Duration::from_nanos(seed % (delay.as_nanos() as u64 / 2).max(1));
            tokio::time::sleep(jittered).await;
            self.health.probes.fetch_add(1, Ordering::Relaxed);
            match self.ping().await {
                Ok(()) => break,
                Err(e) => {
                    *self.health.reason.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                        Some(format!("redis unreachable: {e}"));
                    delay = (delay * 2).min(PROBE_DELAY_MAX);
                }
            }
        }
        *self.health.reason.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        self.health.probing.store(false, Ordering::Release);
        self.health.down.store(false, Ordering::Release);
        tracing::info!("redis reachable again");
    }

    /// Queues a write; never waits. Dropped (and counted) when Redis is down or the queue
    /// is full.
    fn queue(&self, write: Write) {
        if self.is_down() || self.writes.try_send(write).is_err() {
            self.health.writes_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The writer task: drains the queue into pipelines.
    async fn write_behind(self, mut queue: mpsc::Receiver<Write>) {
        let mut batch = Vec::with_capacity(WRITE_BATCH_MAX);
        while queue.recv_many(&mut batch, WRITE_BATCH_MAX).await > 0 {
            if self.is_down() {
                self.health.writes_dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.clear();
                continue;
            }
            let mut pipe = redis::pipe();
            for write in &batch {
                match write.ttl_s {
                    Some(ttl) => pipe.set_ex(&write.key, &write.value, ttl).ignore(),
                    None => pipe.set(&write.key, &write.value).ignore(),
                };
            }
            let mut connection = self.connection.clone();
            match pipe.query_async::<()>(&mut connection).await {
                Ok(()) => {
                    self.health.writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
                }
                Err(e) => {
                    self.health.writes_dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    self.mark_down(&e);
                }
            }
            batch.clear();
        }
    }

    /// The commands of a claim: `SET NX EX`, then `GET` when someone else holds it.
    async fn try_claim(
        &self,
        account: AccountId,
        key: &str,
        body_digest: [u8; 32],
    ) -> Result<SharedClaim, redis::RedisError> {
        let redis_key = idempotency_key(account, key);
        let mut connection = self.connection.clone();
        let in_flight = record::encode(&SharedClaim::InFlight { body_digest });
        // The holder may finish (or its claim expire) between SET and GET: try twice.
        for _ in 0..2 {
            let set: Option<String> = redis::cmd("SET")
                .arg(&redis_key)
                .arg(&in_flight)
                .arg("NX")
                .arg("EX")
                .arg(IDEMPOTENCY_CLAIM_TTL_S)
                .query_async(&mut connection)
                .await?;
            if set.is_some() {
                return Ok(SharedClaim::Claimed);
            }
            let held: Option<Vec<u8>> = redis::cmd("GET").arg(&redis_key).query_async(&mut connection).await?;
            if let Some(claim) = held.as_deref().and_then(record::decode) {
                return Ok(claim);
            }
        }
        // Unreadable or vanishing twice: treat as someone else's claim in flight.
        Ok(SharedClaim::InFlight { body_digest })
    }
}

impl SharedIdempotency for Redis {
    fn available(&self) -> bool {
        let up = !self.is_down();
        if !up {
            self.health.fallbacks.fetch_add(1, Ordering::Relaxed);
        }
        up
    }

    fn claim<'a>(
        &'a self,
        account: AccountId,
        key: &'a str,
        body_digest: [u8; 32],
    ) -> BoxFuture<'a, Result<SharedClaim, SharedStoreError>> {
        Box::pin(async move {
            self.try_claim(account, key, body_digest).await.map_err(|e| {
                self.health.fallbacks.fetch_add(1, Ordering::Relaxed);
                self.mark_down(&e);
                SharedStoreError(e.to_string())
            })
        })
    }

    fn lookup<'a>(
        &'a self,
        account: AccountId,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<SharedClaim>, SharedStoreError>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let held: Result<Option<Vec<u8>>, _> =
                redis::cmd("GET").arg(idempotency_key(account, key)).query_async(&mut connection).await;
            match held {
                Ok(bytes) => Ok(bytes.as_deref().and_then(record::decode)),
                Err(e) => {
                    self.mark_down(&e);
                    Err(SharedStoreError(e.to_string()))
                }
            }
        })
    }

    fn complete(&self, account: AccountId, key: &str, body_digest: [u8; 32], response: &StoredResponse) {
        let value = record::encode(&SharedClaim::Completed { body_digest, response: response.clone() });
        self.queue(Write { key: idempotency_key(account, key), value, ttl_s: Some(IDEMPOTENCY_TTL_S) });
    }
}

impl ReadCache for Redis {
    fn put(&self, entries: Vec<(CacheKey, String)>) {
        for (key, json) in entries {
            let (key, ttl_s) = match key {
                CacheKey::Order(id) => (format!("order:{}", id.0), Some(ORDER_TTL_S)),
                CacheKey::OrderBook(symbol) => (format!("orderbook:{symbol}"), Some(ORDERBOOK_TTL_S)),
                CacheKey::Position(account, symbol) => (format!("position:{}:{symbol}", account.0), None),
            };
            self.queue(Write { key, value: json.into_bytes(), ttl_s });
        }
    }
}

impl Dependency for Redis {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn degraded(&self) -> Option<String> {
        if !self.is_down() {
            return None;
        }
        let reason = self.health.reason.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        Some(format!(
            "{}; idempotency falls back to the engine's (account, clientOrderId) dedupe, cache writes are skipped",
            reason.unwrap_or_else(|| "redis unreachable".into())
        ))
    }

    fn gauges(&self) -> Vec<(&'static str, &'static str, f64)> {
        let h = &self.health;
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64;
        vec![
            (
                "oms_redis_up",
                "1 while Redis answers, 0 while the circuit is open.",
                if self.is_down() { 0.0 } else { 1.0 },
            ),
            ("oms_redis_outages_total", "Times Redis was marked down.", load(&h.outages)),
            (
                "oms_redis_idempotency_fallbacks_total",
                "Keyed requests decided without Redis (engine dedupe only).",
                load(&h.fallbacks),
            ),
            ("oms_redis_writes_total", "Cache entries and idempotency records written.", load(&h.writes)),
            ("oms_redis_writes_dropped_total", "Writes dropped: queue full or Redis down.", load(&h.writes_dropped)),
            (
                "oms_redis_write_queue_depth",
                "Writes waiting for the writer task.",
                (WRITES_QUEUED_MAX - self.writes.capacity()) as f64,
            ),
            ("oms_redis_probes_total", "Reconnect probes while down.", load(&h.probes)),
        ]
    }
}

/// `idempotency:{accountId}:{key}`.
pub fn idempotency_key(account: AccountId, key: &str) -> String {
    format!("idempotency:{}:{key}", account.0)
}

fn jitter_seed() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0x9E37_79B9, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id())
}

/// SplitMix64: enough randomness for jitter without a dependency.
fn splitmix(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
