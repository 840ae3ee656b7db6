//! # oms-mongo
//!
//! MongoDB persister for the OMS (DocumentDB in production): write-behind of orders,
//! executions, positions and accounts from the engine's durable event stream, with a
//! checkpoint, and the history archive that serves `GET /api/orders` and
//! `GET /api/executions` beyond what the HTTP layer keeps in memory.
//!
//! **Never on the ack path.** The persister is one thread that reads its own bounded
//! subscription ([`PersisterConfig::events_buffered_max`]); the engine never waits for it.
//! If it falls behind (MongoDB slow or down) the engine cuts the subscription off, the
//! persister reports `degraded` and, once writes succeed again, rebuilds from the journal.
//!
//! **Exactly the engine's documents, replay-safe.** Events fold into a [`Projection`] (the
//! working orders and every position, with the engine's own position arithmetic); what
//! changed is written as bulk upserts keyed by id (`orderId`, `{tradeId}:{M|T}`,
//! `{accountId, symbol}`, `accountId`), whole documents, so writing a batch twice leaves
//! the same state. After the documents, `checkpoints._id = "persister"` records the last
//! sequence whose events are all written.
//!
//! **Restart and catch-up** are one path: subscribe, replay the journal from its first
//! record through the projection (state for everything, documents only from the checkpoint
//! on), then follow the subscription from the last replayed sequence. No gap (the
//! subscription started before the replay ended) and no duplicate (ids, not inserts).
//!
//! Bulk writes are the wire protocol's `update` command with many upsert statements
//! (`ordered: false`), one round trip per [`PersisterConfig::batch_documents_max`]
//! documents per collection. The driver's `Client::bulk_write` needs MongoDB 8 and is not
//! in DocumentDB; the `update` command is in every MongoDB-protocol server.

pub mod archive;
pub mod bulk;
pub mod documents;
pub mod projection;
pub mod schema;
pub mod stream;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mongodb::Client;
use mongodb::options::ClientOptions;
use oms_core::engine::EngineConfig;
use oms_core::pipeline::EngineHandle;
use oms_http::catalog::Catalog;
use oms_http::external::Dependency;
use thiserror::Error;

pub use crate::archive::Archive;
pub use crate::projection::Projection;

/// Events the persister's subscription buffers before the engine cuts it off.
pub const EVENTS_BUFFERED_MAX: usize = 1 << 18;
/// Documents per bulk `update` command (MongoDB's own limit is 100 000 statements).
pub const BATCH_DOCUMENTS_MAX: usize = 2_000;
/// How long the persister waits for more events before writing what it has.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(20);
/// First retry delay after a failed write.
pub const RETRY_DELAY_MIN: Duration = Duration::from_millis(50);
/// Retry delay cap.
pub const RETRY_DELAY_MAX: Duration = Duration::from_secs(2);
/// Server selection and connect timeout (how fast an outage is noticed).
pub const SERVER_TIMEOUT: Duration = Duration::from_secs(2);
/// `_id` of the persister's checkpoint document.
pub const CHECKPOINT_ID: &str = "persister";

const _: () = assert!(BATCH_DOCUMENTS_MAX <= 100_000);

/// Settings of the persister.
#[derive(Clone, Debug)]
pub struct PersisterConfig {
    /// `mongodb://…`.
    pub url: String,
    /// Database name (`oms`, or the one named in the URL).
    pub database: String,
    /// The engine's data directory (its journal is replayed on start and after a lag).
    pub data_dir: PathBuf,
    /// The engine's configuration (for the replay).
    pub engine: EngineConfig,
    /// Subscription capacity.
    pub events_buffered_max: usize,
    /// Documents per bulk command.
    pub batch_documents_max: usize,
}

impl PersisterConfig {
    /// Defaults for `url` and the engine at `data_dir`; database `oms`.
    pub fn new(url: &str, data_dir: &Path, engine: EngineConfig) -> Self {
        Self {
            url: url.to_owned(),
            database: "oms".into(),
            data_dir: data_dir.to_path_buf(),
            engine,
            events_buffered_max: EVENTS_BUFFERED_MAX,
            batch_documents_max: BATCH_DOCUMENTS_MAX,
        }
    }
}

/// Why the persister could not start.
#[derive(Debug, Error)]
pub enum MongoError {
    /// The URL does not parse.
    #[error("invalid MongoDB URL {url:?}: {reason}")]
    InvalidUrl {
        /// As given.
        url: String,
        /// Driver's reason.
        reason: String,
    },
    /// The engine did not answer the catalog read.
    #[error("reading the instrument catalog from the engine: {0}")]
    Engine(String),
    /// The persister thread could not be started.
    #[error("starting the persister thread: {0}")]
    Thread(String),
}

/// Health and progress, shared by the persister thread and readers.
#[derive(Debug, Default)]
pub(crate) struct Health {
    pub(crate) down: AtomicBool,
    pub(crate) reason: Mutex<Option<String>>,
    /// Last sequence whose documents are all written.
    pub(crate) checkpoint: AtomicU64,
    /// Last sequence received.
    pub(crate) seen: AtomicU64,
    pub(crate) documents: AtomicU64,
    pub(crate) bulk_writes: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) rebuilds: AtomicU64,
    /// Set while rebuilding after the subscription was cut off.
    pub(crate) rebuilding: AtomicBool,
}

impl Health {
    pub(crate) fn set_down(&self, reason: String) {
        if !self.down.swap(true, Ordering::AcqRel) {
            tracing::warn!(%reason, "mongo writes failing; persister falls behind and will catch up");
        }
        *self.reason.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(reason);
    }

    pub(crate) fn set_up(&self) {
        if self.down.swap(false, Ordering::AcqRel) {
            tracing::info!("mongo writes succeed again");
        }
        *self.reason.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

/// The running persister (cheap to clone).
#[derive(Clone, Debug)]
pub struct Persister {
    health: Arc<Health>,
    archive: Archive,
}

impl Persister {
    /// Parses the URL, reads the catalog and starts the persister thread. Does not wait
    /// for MongoDB: if it is down the persister starts behind and catches up.
    pub async fn start(handle: EngineHandle, config: PersisterConfig) -> Result<Self, MongoError> {
        let options = client_options(&config.url).await?;
        // A database named in the URL (`mongodb://host/name`) wins over the default.
        let mut config = config;
        if let Some(database) = &options.default_database {
            config.database.clone_from(database);
        }
        // Readers (the archive) use a client on the caller's runtime; the persister thread
        // has its own runtime and client.
        let client = Client::with_options(options.clone())
            .map_err(|e| MongoError::InvalidUrl { url: config.url.clone(), reason: e.to_string() })?;
        let archive = Archive::new(client.database(&config.database));
        let catalog = read_catalog(&handle).await?;
        let health = Arc::new(Health::default());
        let thread_health = Arc::clone(&health);
        std::thread::Builder::new()
            .name("oms-mongo-persister".into())
            .spawn(move || writer::run(handle, config, options, catalog, &thread_health))
            .map_err(|e| MongoError::Thread(e.to_string()))?;
        Ok(Self { health, archive })
    }

    /// The history archive (reads).
    pub fn archive(&self) -> Archive {
        self.archive.clone()
    }

    /// Last sequence whose documents are all written.
    pub fn checkpoint(&self) -> u64 {
        self.health.checkpoint.load(Ordering::Acquire)
    }

    /// Waits (up to `timeout`) until everything received so far is written; for shutdown.
    pub async fn flush(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        // One flush interval lets events already published reach the subscription.
        tokio::time::sleep(FLUSH_INTERVAL * 2).await;
        while self.checkpoint() < self.health.seen.load(Ordering::Acquire) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(FLUSH_INTERVAL).await;
        }
    }
}

impl Dependency for Persister {
    fn name(&self) -> &'static str {
        "mongo"
    }

    fn degraded(&self) -> Option<String> {
        let reason = self.health.reason.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let behind = self.health.seen.load(Ordering::Acquire).saturating_sub(self.checkpoint());
        match (self.health.down.load(Ordering::Acquire), self.health.rebuilding.load(Ordering::Acquire)) {
            (true, _) => Some(format!(
                "{}; persister {behind} sequences behind, catching up from its checkpoint",
                reason.unwrap_or_else(|| "mongo unreachable".into())
            )),
            (false, true) => Some("persister rebuilding from the journal after falling behind".into()),
            (false, false) => None,
        }
    }

    fn gauges(&self) -> Vec<(&'static str, &'static str, f64)> {
        let h = &self.health;
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64;
        let seen = h.seen.load(Ordering::Relaxed);
        vec![
            ("oms_mongo_up", "1 while MongoDB writes succeed.", if h.down.load(Ordering::Relaxed) { 0.0 } else { 1.0 }),
            ("oms_mongo_checkpoint_sequence", "Last sequence whose documents are all written.", load(&h.checkpoint)),
            ("oms_mongo_seen_sequence", "Last sequence the persister received.", seen as f64),
            (
                "oms_mongo_lag_sequences",
                "Sequences received but not yet written.",
                seen.saturating_sub(h.checkpoint.load(Ordering::Relaxed)) as f64,
            ),
            ("oms_mongo_documents_written_total", "Documents upserted.", load(&h.documents)),
            ("oms_mongo_bulk_writes_total", "Bulk update commands sent.", load(&h.bulk_writes)),
            ("oms_mongo_write_retries_total", "Failed batches retried.", load(&h.retries)),
            ("oms_mongo_rebuilds_total", "Rebuilds from the journal after falling behind.", load(&h.rebuilds)),
        ]
    }
}

/// Driver options for `url` with the persister's timeouts ([`SERVER_TIMEOUT`]).
pub async fn client_options(url: &str) -> Result<ClientOptions, MongoError> {
    let mut options = ClientOptions::parse(url)
        .await
        .map_err(|e| MongoError::InvalidUrl { url: url.to_owned(), reason: e.to_string() })?;
    options.server_selection_timeout = Some(SERVER_TIMEOUT);
    options.connect_timeout = Some(SERVER_TIMEOUT);
    options.app_name.get_or_insert_with(|| "oms-persister".into());
    Ok(options)
}

/// The engine's instruments and assets (for symbols, decimals and position arithmetic).
pub(crate) async fn read_catalog(handle: &EngineHandle) -> Result<Catalog, MongoError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut handle = handle.clone();
    let ticket = handle
        .try_read(Box::new(move |engine| {
            let _ = tx.send(Catalog::from_engine(engine));
        }))
        .map_err(|e| MongoError::Engine(e.to_string()))?;
    handle.outcome(ticket).await.map_err(|e| MongoError::Engine(e.to_string()))?;
    rx.await.map_err(|e| MongoError::Engine(e.to_string()))
}
