//! `oms serve --role persister --kafka … --mongo …`: the decisions engines publish on
//! `executions` and `risk-events`, written to MongoDB as the same documents the in-process
//! persister writes (`oms_mongo::documents`), exactly once in effect.
//!
//! ```text
//!  executions ──┐                       ┌─► orders / executions / positions / accounts
//!               ├─poll─► batch ─► fold ─┤        (bulk upserts, version-guarded)
//!  risk-events ─┘    ▲                  └─► checkpoints
//!                    └──── mark durable + commit offsets ◄── MongoDB acknowledged
//! ```
//!
//! * One consumer group, `<prefix>oms-persister`, one member per topic in this process.
//! * A batch ends at [`BATCH_RECORDS_MAX`] records or [`BATCH_WAIT`] after its first one.
//!   Its records fold into at most one document per key, written with bulk upserts; only
//!   when MongoDB acknowledged the write are the records marked durable, so the committed
//!   group offset is the checkpoint: a restart resumes after the last written batch, and
//!   what is redelivered is rewritten harmlessly (upserts by id, guarded by version).
//! * MongoDB down: the batch is retried with capped exponential backoff and jitter, and
//!   nothing more is consumed meanwhile (backpressure); no record is skipped.
//! * A record that does not decode (or names an unknown symbol) is logged, counted and
//!   marked durable with its batch: a poison record must not block its partition.
//! * Orders still working are kept in memory between batches (at most
//!   [`ORDERS_KNOWN_MAX`]); an update of any other order reads its document back first.
//!   A rebalance forgets them all (another member may have written since).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use oms_http::catalog::Catalog;
use oms_kafka::messages::{decode_execution, decode_risk_event};
use oms_kafka::{ConsumerEvent, EngineConsumer, InboundRecord, KafkaConfig};
use oms_mongo::stream::{StoreError, StreamBatch, StreamStore, StreamWriteReport};
use tokio::runtime::Runtime;

use super::fold::{Decision, Fold};
use super::probe::Probe;
use crate::market::Market;

/// Records per batch (one bulk write per collection per batch, at most).
pub const BATCH_RECORDS_MAX: usize = 2_000;
/// Longest a record waits for its batch to fill before the batch is written.
pub const BATCH_WAIT: Duration = Duration::from_millis(50);
/// One poll's wait on one topic's consumer.
const POLL_TIMEOUT: Duration = Duration::from_millis(5);
/// Working orders remembered between batches.
pub const ORDERS_KNOWN_MAX: usize = 100_000;
/// First retry delay after a failed MongoDB read or write.
pub const RETRY_DELAY_MIN: Duration = oms_mongo::RETRY_DELAY_MIN;
/// Retry delay cap.
pub const RETRY_DELAY_MAX: Duration = oms_mongo::RETRY_DELAY_MAX;
/// How often progress is logged.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);
/// Suffix of the consumer group (after the deployment's prefix).
pub const GROUP_SUFFIX: &str = "oms-persister";

const _: () = assert!(BATCH_RECORDS_MAX <= oms_mongo::BATCH_DOCUMENTS_MAX * 4);

/// The persister's group: the engine group's prefix (`--kafka-topic-prefix`) + [`GROUP_SUFFIX`].
pub fn group_id(engine_group: &str) -> String {
    let prefix = engine_group.strip_suffix("oms-engine").unwrap_or(engine_group);
    format!("{prefix}{GROUP_SUFFIX}")
}

/// Counters, logged every [`PROGRESS_INTERVAL`] and at exit.
#[derive(Debug, Default)]
struct Progress {
    records: u64,
    batches: u64,
    documents: u64,
    bulk_commands: u64,
    poison: u64,
    stale: u64,
    orphans: u64,
    retries: u64,
    reads: u64,
}

impl Progress {
    /// The counters as Prometheus lines.
    fn metrics(&self) -> String {
        let mut text = String::new();
        for (name, value) in [
            ("records", self.records),
            ("documents", self.documents),
            ("bulk_commands", self.bulk_commands),
            ("poison", self.poison),
            ("stale", self.stale),
            ("orphans", self.orphans),
            ("retries", self.retries),
        ] {
            text += &format!("# TYPE oms_persister_{name}_total counter\noms_persister_{name}_total {value}\n");
        }
        text
    }
}

/// Runs the persister role until SIGTERM/SIGINT.
pub fn run(listen: &str, kafka: &KafkaConfig, mongo_url: &str, market: &Market) -> anyhow::Result<()> {
    // The same definition the engine role starts its shards with.
    let catalog = Catalog::from_engine(&market.reference_engine()?);
    oms_kafka::topics::ensure_topics(kafka).context("ensuring the Kafka topics")?;
    let mut config = kafka.clone();
    config.consumer.group_id = group_id(&kafka.consumer.group_id);
    let topics = [kafka.topics.executions.name.clone(), kafka.topics.risk_events.name.clone()];
    let consumers = [
        EngineConsumer::new(&config, &topics[0]).context("joining the persister group (executions)")?,
        EngineConsumer::new(&config, &topics[1]).context("joining the persister group (risk-events)")?,
    ];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("mongo runtime")?;
    let store = runtime.block_on(StreamStore::connect(mongo_url, "oms")).context("MongoDB URL")?;
    let stop = crate::roles::stop_on_signal()?;
    let probe = Probe::serve(listen, "persister")?;
    probe.set_ready(true, "in the persister group");
    tracing::info!(group = %config.consumer.group_id, brokers = %kafka.brokers, database = %store.database().name(), "persister role: joining the group");
    let mongo = Mongo { runtime, store, backoff: Backoff::new(), retries: 0, probe: Arc::clone(&probe) };
    let mut role = Role { mongo, catalog, fold: Fold::default(), progress: Progress::default() };
    let mut last_progress = Instant::now();
    let mut last_metrics = Instant::now();
    while !stop.load(Ordering::Acquire) {
        probe.beat();
        let batch = role.gather(&consumers, &topics, &stop);
        if !batch.is_empty() {
            if !role.persist(&batch, &topics, &stop) {
                break;
            }
            for (topic, record) in &batch {
                consumers[*topic].mark_durable(record.partition, record.offset);
            }
            for consumer in &consumers {
                if let Err(e) = consumer.commit_durable() {
                    tracing::warn!(error = %e, "offset commit (retried with the next one)");
                }
            }
        }
        if last_metrics.elapsed() >= Duration::from_secs(1) {
            probe.set_metrics(role.progress.metrics());
            last_metrics = Instant::now();
        }
        if last_progress.elapsed() >= PROGRESS_INTERVAL {
            tracing::info!(progress = ?role.progress, "persister progress");
            last_progress = Instant::now();
        }
    }
    tracing::info!(progress = ?role.progress, "persister role: stopping");
    for consumer in consumers {
        let _ = consumer.commit_durable();
        consumer.close();
    }
    Ok(())
}

/// A record and the index of the topic (consumer) it came from.
type Batch = Vec<(usize, InboundRecord)>;

struct Role {
    mongo: Mongo,
    catalog: Catalog,
    fold: Fold,
    progress: Progress,
}

/// MongoDB with retries.
struct Mongo {
    runtime: tokio::runtime::Runtime,
    store: StreamStore,
    backoff: Backoff,
    retries: u64,
    /// Not ready while MongoDB refuses writes (liveness stays up: a restart would not help).
    probe: Arc<Probe>,
}

impl Role {
    /// Polls both topics until the batch is full, [`BATCH_WAIT`] passed since its first
    /// record, or the role stops. Ready records are drained without waiting (a consumer
    /// hands out one record per poll); only a round that found nothing waits, up to
    /// [`POLL_TIMEOUT`], on `executions`. A rebalance forgets the known orders.
    fn gather(&mut self, consumers: &[EngineConsumer; 2], topics: &[String; 2], stop: &AtomicBool) -> Batch {
        let mut batch = Batch::new();
        let mut first: Option<Instant> = None;
        loop {
            let before = batch.len();
            for (index, consumer) in consumers.iter().enumerate() {
                while batch.len() < BATCH_RECORDS_MAX
                    && self.take(consumer.poll(Duration::ZERO), index, topics, &mut batch)
                {}
            }
            if batch.len() == before {
                self.take(consumers[0].poll(POLL_TIMEOUT), 0, topics, &mut batch);
            }
            if batch.len() > before {
                first.get_or_insert_with(Instant::now);
            }
            // Idle (nothing at all) also returns, so the caller logs and sees the stop flag.
            let done = match first {
                None => true,
                Some(first) => batch.len() >= BATCH_RECORDS_MAX || first.elapsed() >= BATCH_WAIT,
            };
            if done || stop.load(Ordering::Acquire) {
                return batch;
            }
        }
    }

    /// Handles one poll result; `true` when the consumer may have more ready.
    fn take(
        &mut self,
        polled: Result<Option<ConsumerEvent>, oms_kafka::ConsumeError>,
        index: usize,
        topics: &[String; 2],
        batch: &mut Batch,
    ) -> bool {
        match polled {
            Ok(Some(ConsumerEvent::Record(record))) => batch.push((index, record)),
            Ok(Some(ConsumerEvent::Assigned(partitions))) => {
                tracing::info!(topic = %topics[index], ?partitions, "partitions assigned");
                self.fold.known.clear();
            }
            Ok(Some(ConsumerEvent::Revoked(partitions))) => {
                tracing::info!(topic = %topics[index], ?partitions, "partitions revoked");
                self.fold.known.clear();
            }
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(topic = %topics[index], error = %e, "consumer");
                return false;
            }
        }
        true
    }

    /// Decodes, reads back what the batch updates, folds and writes, retrying MongoDB
    /// until it answers. `false` when the role stopped before the batch was written.
    fn persist(&mut self, batch: &Batch, topics: &[String; 2], stop: &AtomicBool) -> bool {
        let mut decisions = Vec::with_capacity(batch.len());
        for (topic, record) in batch {
            self.fold.covers(&topics[*topic], record.partition, record.offset);
            let decoded = match topic {
                0 => decode_execution(&record.payload).map(|m| Decision::Execution(Box::new(m))),
                _ => decode_risk_event(&record.payload).map(Decision::Risk),
            };
            match decoded {
                Ok(decision) => decisions.push(decision),
                Err(e) => {
                    self.progress.poison += 1;
                    tracing::warn!(topic = %topics[*topic], partition = record.partition, offset = record.offset, error = %e, "undecodable record skipped");
                }
            }
        }
        self.progress.records += batch.len() as u64;
        let missing = self.fold.missing_orders(&decisions);
        if !missing.is_empty() {
            let read = |runtime: &Runtime, store: &mut StreamStore| runtime.block_on(store.load_orders(&missing));
            let Some(loaded) = self.mongo.retry(stop, "reading orders back", read) else {
                return false;
            };
            self.progress.reads += 1;
            for (record, version) in loaded {
                self.fold.known.insert(record.order.id, (record, version));
            }
        }
        for decision in &decisions {
            if let Err(e) = self.fold.apply(&self.catalog, decision) {
                self.fold.counts.refused += 1;
                tracing::warn!(error = %e, ?decision, "decision refused (not persisted)");
            }
        }
        let documents: StreamBatch = self.fold.finish();
        let catalog = &self.catalog;
        let write = |runtime: &Runtime, store: &mut StreamStore| runtime.block_on(store.write(catalog, &documents));
        let Some(report) = self.mongo.retry(stop, "bulk write", write) else {
            return false;
        };
        self.account(&report);
        self.fold.settle(&report.stale_orders, ORDERS_KNOWN_MAX);
        true
    }

    fn account(&mut self, report: &StreamWriteReport) {
        let counts = std::mem::take(&mut self.fold.counts);
        let p = &mut self.progress;
        p.batches += 1;
        p.documents += report.documents;
        p.bulk_commands += report.commands;
        p.stale += counts.stale + report.stale_orders.len() as u64 + report.stale_positions;
        p.orphans += counts.orphans;
        p.poison += counts.refused;
        p.retries = self.mongo.retries;
        if counts.orphans > 0 {
            tracing::warn!(orphans = counts.orphans, "updates of orders whose acceptance was never seen");
        }
    }
}

impl Mongo {
    /// Runs `attempt` until it succeeds (`Some`) or the role stops (`None`), backing off
    /// between failures.
    fn retry<T>(
        &mut self,
        stop: &AtomicBool,
        what: &str,
        mut attempt: impl FnMut(&Runtime, &mut StreamStore) -> Result<T, StoreError>,
    ) -> Option<T> {
        let mut failures = 0u32;
        loop {
            match attempt(&self.runtime, &mut self.store) {
                Ok(value) => {
                    if failures > 0 {
                        tracing::info!(failures, "{what}: MongoDB answers again; catching up");
                        self.probe.set_ready(true, "in the persister group");
                    }
                    return Some(value);
                }
                Err(e) => {
                    self.retries += 1;
                    failures += 1;
                    if failures == 1 || failures.is_power_of_two() {
                        tracing::warn!(error = %e, failures, "{what} failed; retrying (nothing is consumed meanwhile)");
                    }
                    self.probe.set_ready(false, &format!("{what}: MongoDB: {e}"));
                    self.probe.beat();
                    if stop.load(Ordering::Acquire) {
                        tracing::warn!("{what}: stopping with the batch unwritten (it is redelivered on restart)");
                        return None;
                    }
                    std::thread::sleep(self.backoff.delay(failures));
                }
            }
        }
    }
}

/// Capped exponential backoff with jitter in `[delay/2, delay)`.
struct Backoff {
    state: u64,
}

impl Backoff {
    fn new() -> Self {
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        Self { state: seed | 1 }
    }

    fn delay(&mut self, failures: u32) -> Duration {
        let delay = RETRY_DELAY_MIN.saturating_mul(1 << failures.saturating_sub(1).min(16)).min(RETRY_DELAY_MAX);
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        let half = delay.as_nanos() as u64 / 2;
        Duration::from_nanos(half + self.state % half.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_group_follows_the_deployment_prefix() {
        assert_eq!(group_id("oms-engine"), "oms-persister");
        assert_eq!(group_id("t1-oms-engine"), "t1-oms-persister");
        assert_eq!(group_id("custom"), "customoms-persister");
    }

    #[test]
    fn backoff_grows_to_its_cap_with_jitter() {
        let mut backoff = Backoff::new();
        for failures in 1..40 {
            let delay = backoff.delay(failures);
            assert!(delay < RETRY_DELAY_MAX, "{failures}: {delay:?}");
            assert!(delay >= RETRY_DELAY_MIN / 2, "{failures}: {delay:?}");
        }
        assert!(backoff.delay(30) >= RETRY_DELAY_MAX / 2);
    }
}
