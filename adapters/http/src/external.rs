//! Seams for the optional external services (Redis, MongoDB): what the HTTP layer asks of
//! them, as traits, so this crate depends on neither client library and the adapters stay
//! thin. Each is optional; without one the server behaves exactly as when embedded.
//!
//! All calls that write are fire-and-forget into the adapter's bounded queue: nothing here
//! may make a request wait on a dependency except the idempotency claim, which has to be
//! decided before a command is submitted (see [`crate::idempotency`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use oms_core::model::{AccountId, InstrumentId, OrderId};
use thiserror::Error;

use crate::history::{ExecutionRecord, OrderRecord};
use crate::idempotency::SharedIdempotency;

/// A boxed, sendable future (object-safe async trait methods).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A dependency that can be down while the service keeps working, degraded.
pub trait Dependency: Send + Sync {
    /// Short name (`redis`, `mongo`) used in `/ready` and metric labels.
    fn name(&self) -> &'static str;
    /// `Some(reason)` while degraded.
    fn degraded(&self) -> Option<String>;
    /// Extra gauges for `/metrics`: `(name, help, value)`.
    fn gauges(&self) -> Vec<(&'static str, &'static str, f64)>;
}

/// What a read-cache entry is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheKey {
    /// One order, as `GET /api/orders/{orderId}` shows it.
    Order(OrderId),
    /// An instrument's book, as `GET /api/market-data/orderbook/{symbol}` shows it.
    OrderBook(String),
    /// One account's position in one instrument, as an element of `GET /api/risk/positions`.
    Position(AccountId, String),
}

/// A read cache fed with the API's own JSON (the Redis adapter writes it pipelined).
pub trait ReadCache: Send + Sync {
    /// Queues entries for writing; never blocks (a full queue drops and counts).
    fn put(&self, entries: Vec<(CacheKey, String)>);
}

/// Why the archive could not answer.
#[derive(Debug, Error)]
#[error("history archive unavailable: {0}")]
pub struct ArchiveError(pub String);

/// Filter of an archived order list.
#[derive(Clone, Copy, Debug)]
pub struct ArchiveOrderQuery {
    /// Owner.
    pub account: AccountId,
    /// Only this instrument.
    pub instrument: Option<InstrumentId>,
    /// `Some(true)` working only, `Some(false)` finished only, `None` all.
    pub open: Option<bool>,
    /// Only ids below this (the page cursor).
    pub before: Option<u64>,
    /// Most to return.
    pub limit: usize,
}

/// Order and fill history older than what the server keeps in memory (MongoDB).
pub trait HistoryArchive: Send + Sync {
    /// One order of `account`.
    fn order(&self, account: AccountId, id: OrderId) -> BoxFuture<'_, Result<Option<OrderRecord>, ArchiveError>>;
    /// Orders matching `query`, newest (highest id) first.
    fn orders(&self, query: ArchiveOrderQuery) -> BoxFuture<'_, Result<Vec<OrderRecord>, ArchiveError>>;
    /// Fills of `account` with a command sequence below `before`, newest first.
    fn executions(
        &self,
        account: AccountId,
        instrument: Option<InstrumentId>,
        before: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ExecutionRecord>, ArchiveError>>;
}

/// The optional services a server is started with.
#[derive(Clone, Default)]
pub struct External {
    /// Cross-process idempotency (Redis).
    pub idempotency: Option<Arc<dyn SharedIdempotency>>,
    /// Read caches (Redis).
    pub cache: Option<Arc<dyn ReadCache>>,
    /// Older history (MongoDB).
    pub archive: Option<Arc<dyn HistoryArchive>>,
    /// Everything that reports health to `/ready` and `/metrics`.
    pub dependencies: Vec<Arc<dyn Dependency>>,
}

impl std::fmt::Debug for External {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("External")
            .field("idempotency", &self.idempotency.is_some())
            .field("cache", &self.cache.is_some())
            .field("archive", &self.archive.is_some())
            .field("dependencies", &self.dependencies.iter().map(|d| d.name()).collect::<Vec<_>>())
            .finish()
    }
}
