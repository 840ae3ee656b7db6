//! The persister thread: replay the journal from the checkpoint, follow the subscription,
//! write batches with retry (capped exponential backoff with jitter), rebuild after a lag.

use std::sync::atomic::Ordering;
use std::time::Duration;

use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ClientOptions;
use mongodb::{Client, Database};
use oms_core::model::{AdminApplied, Event};
use oms_core::pipeline::{EngineHandle, SubscriptionError};
use oms_http::catalog::Catalog;

use crate::bulk::{bulk_update, upsert};
use crate::documents::{execution_document, execution_id, order_document, position_document};
use crate::projection::{Pending, Projection};
use crate::{CHECKPOINT_ID, FLUSH_INTERVAL, Health, PersisterConfig, RETRY_DELAY_MAX, RETRY_DELAY_MIN, schema};

/// What one thread needs to write.
struct Writer<'a> {
    runtime: tokio::runtime::Runtime,
    db: Database,
    health: &'a Health,
    batch_max: usize,
    schema_ready: bool,
    jitter: u64,
}

/// The thread's body. Returns when the engine shuts down.
pub(crate) fn run(
    handle: EngineHandle,
    config: PersisterConfig,
    options: ClientOptions,
    mut catalog: Catalog,
    health: &Health,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return health.set_down(format!("persister runtime: {e}")),
    };
    let client = match runtime.block_on(async { Client::with_options(options) }) {
        Ok(client) => client,
        Err(e) => return health.set_down(format!("mongo client: {e}")),
    };
    let mut writer = Writer {
        db: client.database(&config.database),
        runtime,
        health,
        batch_max: config.batch_documents_max.max(1),
        schema_ready: false,
        jitter: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64),
    };
    let mut checkpoint = writer.read_checkpoint();
    health.checkpoint.store(checkpoint, Ordering::Release);
    tracing::info!(checkpoint, "mongo persister resuming");
    loop {
        // Subscribe before replaying: everything after the replay's end is in the channel.
        let subscription = handle.subscribe(config.events_buffered_max);
        let mut projection = Projection::default();
        let mut current = 0;
        let replayed = oms_core::journal::replay_all(&config.data_dir, config.engine, |sequence, event| {
            if sequence.0 != current {
                if projection.pending.documents() >= writer.batch_max {
                    writer.flush(&catalog, &mut projection, current);
                }
                current = sequence.0;
            }
            // Documents from the checkpoint on (inclusive: its events may have been split).
            projection.apply(&catalog, sequence.0, event, sequence.0 >= checkpoint);
        });
        let covered = match replayed {
            Ok(covered) => covered,
            Err(e) => {
                health.set_down(format!("replaying the journal: {e}"));
                writer.backoff(&mut 0);
                continue;
            }
        };
        writer.flush(&catalog, &mut projection, covered);
        health.seen.fetch_max(covered, Ordering::AcqRel);
        health.rebuilding.store(false, Ordering::Release);
        let mut current = covered;
        loop {
            match subscription.recv_timeout(FLUSH_INTERVAL) {
                Ok((sequence, event)) => {
                    if sequence.0 <= covered {
                        continue;
                    }
                    if sequence.0 != current {
                        if projection.pending.documents() >= writer.batch_max {
                            writer.flush(&catalog, &mut projection, current);
                        }
                        current = sequence.0;
                    }
                    if matches!(event, Event::AdminApplied(AdminApplied::InstrumentAdded(_))) {
                        catalog = writer.reload_catalog(&handle).unwrap_or(catalog);
                    }
                    projection.apply(&catalog, sequence.0, &event, true);
                    health.seen.store(sequence.0, Ordering::Release);
                }
                Err(SubscriptionError::Timeout) => {
                    if current > health.checkpoint.load(Ordering::Acquire) || projection.pending.documents() > 0 {
                        writer.flush(&catalog, &mut projection, current);
                    }
                }
                Err(SubscriptionError::Lagged) => {
                    // Fell behind (MongoDB slow or down): rebuild from the journal, writing
                    // from the checkpoint on. Pending documents are rewritten by the replay.
                    health.rebuilds.fetch_add(1, Ordering::Relaxed);
                    health.rebuilding.store(true, Ordering::Release);
                    tracing::warn!(checkpoint = current, "persister fell behind the event stream; rebuilding");
                    break;
                }
                Err(SubscriptionError::Closed) => {
                    writer.flush(&catalog, &mut projection, current);
                    return;
                }
            }
        }
        checkpoint = health.checkpoint.load(Ordering::Acquire);
    }
}

impl Writer<'_> {
    /// Reads the checkpoint, retrying until MongoDB answers.
    fn read_checkpoint(&mut self) -> u64 {
        let mut attempt = 0;
        loop {
            let db = self.db.clone();
            let read = self.runtime.block_on(async move {
                db.collection::<Document>("checkpoints").find_one(doc! { "_id": CHECKPOINT_ID }).await
            });
            match read {
                Ok(found) => {
                    self.health.set_up();
                    return found.and_then(|d| d.get_i64("sequence").ok()).map_or(0, |s| s.max(0) as u64);
                }
                Err(e) => {
                    self.health.set_down(format!("reading the checkpoint: {e}"));
                    self.backoff(&mut attempt);
                }
            }
        }
    }

    fn reload_catalog(&mut self, handle: &EngineHandle) -> Option<Catalog> {
        self.runtime.block_on(crate::read_catalog(handle)).ok()
    }

    /// Writes the pending documents and then the checkpoint, retrying until it succeeds
    /// (the subscription meanwhile fills up and is cut off: the rebuild catches up).
    fn flush(&mut self, catalog: &Catalog, projection: &mut Projection, checkpoint: u64) {
        let mut attempt = 0;
        let statements = statements(catalog, projection);
        loop {
            let result = self.write(&statements, checkpoint);
            match result {
                Ok(documents) => {
                    self.health.documents.fetch_add(documents, Ordering::Relaxed);
                    self.health.checkpoint.fetch_max(checkpoint, Ordering::AcqRel);
                    self.health.set_up();
                    projection.pending = Pending::default();
                    return;
                }
                Err(e) => {
                    self.health.retries.fetch_add(1, Ordering::Relaxed);
                    self.health.set_down(format!("bulk write failed: {e}"));
                    self.backoff(&mut attempt);
                }
            }
        }
    }

    fn write(&mut self, batches: &[(&'static str, Vec<Bson>)], checkpoint: u64) -> Result<u64, String> {
        if !self.schema_ready {
            let db = self.db.clone();
            self.runtime.block_on(async move { schema::ensure(&db).await }).map_err(|e| e.to_string())?;
            self.schema_ready = true;
        }
        let mut documents = 0;
        for (collection, statements) in batches {
            let db = self.db.clone();
            let batch_max = self.batch_max;
            let outcome = self
                .runtime
                .block_on(async move { bulk_update(&db, collection, statements, batch_max, false).await })
                .map_err(|e| e.to_string())?;
            self.health.bulk_writes.fetch_add(outcome.commands, Ordering::Relaxed);
            documents += outcome.statements;
        }
        let db = self.db.clone();
        let command = doc! {
            "update": "checkpoints",
            "updates": [upsert(doc! { "_id": CHECKPOINT_ID }, doc! { "sequence": checkpoint as i64 })],
        };
        self.runtime.block_on(async move { db.run_command(command).await }).map_err(|e| e.to_string())?;
        Ok(documents)
    }

    /// Sleeps the next backoff step: exponential from [`RETRY_DELAY_MIN`] to
    /// [`RETRY_DELAY_MAX`], jittered into `[delay/2, delay)`.
    fn backoff(&mut self, attempt: &mut u32) {
        let delay = RETRY_DELAY_MIN.saturating_mul(1 << (*attempt).min(16)).min(RETRY_DELAY_MAX);
        *attempt += 1;
        self.jitter = self.jitter.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let half = delay.as_nanos() as u64 / 2;
        std::thread::sleep(Duration::from_nanos(half + (self.jitter >> 33) % half.max(1)));
    }
}

/// Upsert statements per collection for `pending`.
pub(crate) fn statements(catalog: &Catalog, projection: &Projection) -> Vec<(&'static str, Vec<Bson>)> {
    let pending = &projection.pending;
    let orders = pending
        .orders
        .values()
        .map(|r| upsert(doc! { "orderId": r.order.id.0 as i64 }, order_document(catalog, r)))
        .collect();
    let executions = pending
        .executions
        .iter()
        .map(|(account, e)| {
            let mut document = execution_document(catalog, *account, e);
            document.remove("_id");
            upsert(doc! { "_id": execution_id(e.trade_id, e.maker) }, document)
        })
        .collect();
    let positions = pending
        .positions
        .iter()
        .filter_map(|(account, instrument)| {
            let (position, sequence) = projection.position(*account, *instrument)?;
            let document = position_document(catalog, *account, *instrument, position, *sequence)?;
            let filter = doc! { "accountId": i64::from(account.0), "symbol": document.get_str("symbol").ok()? };
            Some(upsert(filter, document))
        })
        .collect();
    let accounts = pending
        .accounts
        .iter()
        .map(|a| upsert(doc! { "accountId": i64::from(a.0) }, doc! { "accountId": i64::from(a.0) }))
        .collect();
    vec![("orders", orders), ("executions", executions), ("positions", positions), ("accounts", accounts)]
}
