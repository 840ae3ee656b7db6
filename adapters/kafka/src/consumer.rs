//! The engine-role consumer: a consumer group member that commits only what is durable.
//!
//! The engine reads `orders` records, submits them to its pipeline, and learns later — when
//! the journal has synced them — that they are durable. It reports that with
//! [`EngineConsumer::mark_durable`] (or a [`DurableMarker`] from another thread), and
//! [`EngineConsumer::commit_durable`] commits, per partition, the offset after the highest
//! *contiguous* durable record: never past a record that is not yet durable. A crash then
//! loses nothing (uncommitted records are redelivered) and applies nothing twice (the engine
//! dedupes redelivered commands by command id).
//!
//! Rebalances surface as [`ConsumerEvent::Assigned`] / [`ConsumerEvent::Revoked`], in order
//! with the records, so the engine restores the books of gained partitions before it applies
//! their first record. On revocation the consumer first waits (bounded by
//! [`REVOKE_DRAIN_TIMEOUT_MS`]) for the revoked partitions' handed-out records to become
//! durable, then commits them, then lets the partitions go: the next owner resumes exactly
//! after the last applied command.
//!
//! Eager rebalancing (`range`): every rebalance revokes the whole assignment, then assigns
//! the new one. A `BaseConsumer` polled by the caller's thread, so callbacks run inside
//! [`EngineConsumer::poll`] on that thread and no extra thread or async runtime is needed.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use oms_core::model::Origin;
use rdkafka::ClientContext;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use thiserror::Error;

use crate::config::KafkaConfig;

/// How long a revocation waits for handed-out records of the revoked partitions to become
/// durable before committing what is durable and letting go (the rest is redelivered to the
/// next owner, which dedupes). Well below the session timeout, so the group does not evict
/// us while we drain.
pub const REVOKE_DRAIN_TIMEOUT_MS: u64 = 2_000;

/// Why the consumer failed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ConsumeError {
    /// The consumer could not be created or subscribed (bad configuration).
    #[error("consumer set-up: {0}")]
    Setup(String),
    /// An error reported by `poll` (mostly transient: broker transport, rebalance in
    /// progress). Log it and keep polling.
    #[error("consumer: {0}")]
    Kafka(String),
    /// A commit failed; the offsets stay marked and the next commit retries them.
    #[error("commit: {0}")]
    Commit(String),
}

/// One record from the subscribed topic, owned (it outlives the next poll).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundRecord {
    /// Partition it came from.
    pub partition: i32,
    /// Its offset; pass `(partition, offset)` to [`EngineConsumer::mark_durable`].
    pub offset: i64,
    /// Record key.
    pub key: Option<Vec<u8>>,
    /// Record value (empty for a tombstone).
    pub payload: Vec<u8>,
}

impl InboundRecord {
    /// The record's position as the engine's [`Origin`]: stream = partition, so the engine
    /// applies each `(partition, offset)` at most once (`try_submit_from`).
    pub fn origin(&self) -> Origin {
        // librdkafka hands out records with a real partition (>= 0) and offset (>= 0) only.
        Origin::Stream { stream: self.partition.unsigned_abs(), offset: self.offset.unsigned_abs() }
    }
}

/// What [`EngineConsumer::poll`] yields, in the order things happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerEvent {
    /// These partitions are now ours: restore their books before applying their records.
    Assigned(Vec<i32>),
    /// These partitions are no longer ours (their durable progress is committed).
    Revoked(Vec<i32>),
    /// A record of an assigned partition.
    Record(InboundRecord),
}

/// Per-partition record progress: which handed-out offsets are durable, and how far the
/// group offset may be committed. Pure bookkeeping, no I/O.
#[derive(Clone, Debug, Default)]
pub struct DurableOffsets {
    partitions: HashMap<i32, PartitionProgress>,
}

#[derive(Clone, Debug, Default)]
struct PartitionProgress {
    /// Handed-out offsets in delivery order, each with its durable flag.
    pending: VecDeque<(i64, bool)>,
    /// Next offset to commit (last contiguous durable + 1), if it moved past `committed`.
    committable: Option<i64>,
    /// Last offset committed to the group.
    committed: Option<i64>,
}

impl DurableOffsets {
    /// Notes that `offset` of `partition` was handed to the caller. Offsets of a partition
    /// arrive increasing; an offset at or below one still pending (a re-fetch after a seek)
    /// drops the pending entries from it on.
    pub fn observe(&mut self, partition: i32, offset: i64) {
        let progress = self.partitions.entry(partition).or_default();
        while progress.pending.back().is_some_and(|(last, _)| *last >= offset) {
            progress.pending.pop_back();
        }
        progress.pending.push_back((offset, false));
    }

    /// Marks a handed-out record durable; `false` when it is not pending (already
    /// committed, revoked, or never handed out).
    pub fn mark_durable(&mut self, partition: i32, offset: i64) -> bool {
        let Some(progress) = self.partitions.get_mut(&partition) else { return false };
        // Pending offsets are increasing: binary search.
        match progress.pending.binary_search_by_key(&offset, |(o, _)| *o) {
            Ok(index) => {
                progress.pending[index].1 = true;
                while let Some((offset, true)) = progress.pending.front().copied() {
                    progress.pending.pop_front();
                    progress.committable = Some(offset + 1);
                }
                true
            }
            Err(_) => false,
        }
    }

    /// Commit positions (next offset to read) that moved since the last commit.
    pub fn to_commit(&self) -> Vec<(i32, i64)> {
        let mut positions: Vec<(i32, i64)> = self
            .partitions
            .iter()
            .filter_map(|(partition, p)| match (p.committable, p.committed) {
                (Some(next), Some(done)) if next <= done => None,
                (Some(next), _) => Some((*partition, next)),
                (None, _) => None,
            })
            .collect();
        positions.sort_unstable();
        positions
    }

    /// Records a successful commit.
    pub fn committed(&mut self, partition: i32, offset: i64) {
        if let Some(progress) = self.partitions.get_mut(&partition) {
            progress.committed = Some(progress.committed.map_or(offset, |c| c.max(offset)));
        }
    }

    /// Records handed out and not yet durable on `partition`.
    pub fn pending(&self, partition: i32) -> usize {
        self.partitions.get(&partition).map_or(0, |p| p.pending.len())
    }

    /// Forgets `partitions` (revoked, or freshly assigned: the group offset is the truth).
    pub fn forget(&mut self, partitions: &[i32]) {
        for partition in partitions {
            self.partitions.remove(partition);
        }
    }
}

/// Offsets plus a condition variable, so a revocation can wait for marks from other threads.
#[derive(Debug, Default)]
struct SharedOffsets {
    offsets: Mutex<DurableOffsets>,
    marked: Condvar,
}

impl SharedOffsets {
    fn lock(&self) -> MutexGuard<'_, DurableOffsets> {
        // Poisoning means a panic elsewhere while marking; the bookkeeping stays consistent
        // (every mutation is a single step), so carry on with it.
        self.offsets.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A handle for marking records durable from another thread (the one that watches the
/// journal's durable sequence).
#[derive(Clone, Debug)]
pub struct DurableMarker(Arc<SharedOffsets>);

impl DurableMarker {
    /// See [`EngineConsumer::mark_durable`].
    pub fn mark(&self, partition: i32, offset: i64) -> bool {
        let marked = self.0.lock().mark_durable(partition, offset);
        self.0.marked.notify_all();
        marked
    }
}

/// Rebalance callbacks: they run inside `poll`, on the polling thread.
struct RebalanceContext {
    topic: String,
    shared: Arc<SharedOffsets>,
    events: Mutex<VecDeque<ConsumerEvent>>,
}

impl RebalanceContext {
    fn partitions(&self, list: &TopicPartitionList) -> Vec<i32> {
        let mut partitions: Vec<i32> = list.elements_for_topic(&self.topic).iter().map(|e| e.partition()).collect();
        partitions.sort_unstable();
        partitions
    }

    fn push(&self, event: ConsumerEvent) {
        self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push_back(event);
    }

    /// Waits (bounded) until the revoked partitions have nothing pending, then returns the
    /// commit positions for them.
    fn drain(&self, partitions: &[i32]) -> Vec<(i32, i64)> {
        let deadline = Instant::now() + Duration::from_millis(REVOKE_DRAIN_TIMEOUT_MS);
        let mut offsets = self.shared.lock();
        while partitions.iter().any(|p| offsets.pending(*p) > 0) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            offsets =
                self.shared.marked.wait_timeout(offsets, left).unwrap_or_else(std::sync::PoisonError::into_inner).0;
        }
        offsets.to_commit().into_iter().filter(|(p, _)| partitions.contains(p)).collect()
    }
}

impl ClientContext for RebalanceContext {}

impl ConsumerContext for RebalanceContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            let partitions = self.partitions(list);
            let positions = self.drain(&partitions);
            // Best effort: a failed commit here means the next owner re-reads a few durable
            // records, which it dedupes.
            if commit(consumer, &self.topic, &positions).is_ok() {
                let mut offsets = self.shared.lock();
                for (partition, offset) in &positions {
                    offsets.committed(*partition, *offset);
                }
            }
            self.shared.lock().forget(&partitions);
            self.push(ConsumerEvent::Revoked(partitions));
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            let partitions = self.partitions(list);
            self.shared.lock().forget(&partitions);
            self.push(ConsumerEvent::Assigned(partitions));
        }
    }
}

fn commit(
    consumer: &BaseConsumer<RebalanceContext>,
    topic: &str,
    positions: &[(i32, i64)],
) -> Result<(), ConsumeError> {
    if positions.is_empty() {
        return Ok(());
    }
    let mut list = TopicPartitionList::with_capacity(positions.len());
    for (partition, offset) in positions {
        list.add_partition_offset(topic, *partition, Offset::Offset(*offset))
            .map_err(|e| ConsumeError::Commit(e.to_string()))?;
    }
    consumer.commit(&list, CommitMode::Sync).map_err(|e| ConsumeError::Commit(e.to_string()))
}

/// A consumer-group member on one topic with durable-only commits.
pub struct EngineConsumer {
    consumer: BaseConsumer<RebalanceContext>,
    topic: String,
    shared: Arc<SharedOffsets>,
}

impl std::fmt::Debug for EngineConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConsumer").field("topic", &self.topic).finish_non_exhaustive()
    }
}

impl EngineConsumer {
    /// Joins `config.consumer.group_id` and subscribes to `topic` (the engine: `orders`; the
    /// persister: `executions`). Joining completes during the first polls.
    pub fn new(config: &KafkaConfig, topic: &str) -> Result<Self, ConsumeError> {
        let shared = Arc::new(SharedOffsets::default());
        let context =
            RebalanceContext { topic: topic.to_owned(), shared: Arc::clone(&shared), events: Mutex::default() };
        let consumer: BaseConsumer<RebalanceContext> =
            BaseConsumer::from_config_and_context(&config.consumer_client_config(), context)
                .map_err(|e| ConsumeError::Setup(e.to_string()))?;
        consumer.subscribe(&[topic]).map_err(|e| ConsumeError::Setup(e.to_string()))?;
        Ok(Self { consumer, topic: topic.to_owned(), shared })
    }

    /// The next event, waiting up to `timeout`; `Ok(None)` when nothing happened.
    pub fn poll(&self, timeout: Duration) -> Result<Option<ConsumerEvent>, ConsumeError> {
        if let Some(event) = self.next_queued() {
            return Ok(Some(event));
        }
        match self.consumer.poll(timeout) {
            None => {}
            Some(Err(error)) => return Err(kafka(error)),
            Some(Ok(message)) => {
                let record = InboundRecord {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                };
                self.shared.lock().observe(record.partition, record.offset);
                // After any rebalance events raised during this poll: the record was fetched
                // under the new assignment.
                self.context().push(ConsumerEvent::Record(record));
            }
        }
        Ok(self.next_queued())
    }

    fn context(&self) -> &RebalanceContext {
        self.consumer.context()
    }

    fn next_queued(&self) -> Option<ConsumerEvent> {
        self.context().events.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop_front()
    }

    /// Marks a handed-out record durable (its command is in the journal, synced).
    pub fn mark_durable(&self, partition: i32, offset: i64) -> bool {
        self.durable_marker().mark(partition, offset)
    }

    /// A handle for marking from another thread.
    pub fn durable_marker(&self) -> DurableMarker {
        DurableMarker(Arc::clone(&self.shared))
    }

    /// Commits, synchronously, the offset after the highest contiguous durable record of
    /// every partition that advanced; returns what was committed. Cheap when nothing moved;
    /// call it after each durable batch or on a short timer (each call that commits is one
    /// broker round trip).
    pub fn commit_durable(&self) -> Result<Vec<(i32, i64)>, ConsumeError> {
        let positions = self.shared.lock().to_commit();
        commit(&self.consumer, &self.topic, &positions)?;
        let mut offsets = self.shared.lock();
        for (partition, offset) in &positions {
            offsets.committed(*partition, *offset);
        }
        Ok(positions)
    }

    /// Partitions currently assigned to this member.
    pub fn assignment(&self) -> Result<Vec<i32>, ConsumeError> {
        let list = self.consumer.assignment().map_err(kafka)?;
        Ok(self.context().partitions(&list))
    }

    /// The group's committed offsets for the assigned partitions (`None`: nothing committed).
    pub fn committed_offsets(&self, timeout: Duration) -> Result<Vec<(i32, Option<i64>)>, ConsumeError> {
        let list = self.consumer.committed(timeout).map_err(kafka)?;
        Ok(list
            .elements_for_topic(&self.topic)
            .iter()
            .map(|e| {
                let offset = match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                };
                (e.partition(), offset)
            })
            .collect())
    }

    /// Leaves the group: revokes (committing what is durable) and closes. Dropping does
    /// the same.
    pub fn close(self) {
        drop(self);
    }
}

fn kafka(error: KafkaError) -> ConsumeError {
    ConsumeError::Kafka(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_stop_at_the_first_record_not_yet_durable() {
        let mut offsets = DurableOffsets::default();
        for offset in 10..15 {
            offsets.observe(0, offset);
        }
        assert!(offsets.mark_durable(0, 10));
        assert!(offsets.mark_durable(0, 12));
        assert_eq!(offsets.to_commit(), vec![(0, 11)], "12 is durable but 11 is not");
        offsets.committed(0, 11);
        assert_eq!(offsets.to_commit(), vec![]);
        assert!(offsets.mark_durable(0, 11));
        assert_eq!(offsets.to_commit(), vec![(0, 13)]);
        assert!(!offsets.mark_durable(0, 11), "already past");
        assert!(!offsets.mark_durable(1, 11), "never handed out");
        assert_eq!(offsets.pending(0), 2);
    }

    #[test]
    fn partitions_are_independent_and_forgettable() {
        let mut offsets = DurableOffsets::default();
        offsets.observe(0, 5);
        offsets.observe(1, 7);
        offsets.observe(1, 9); // gaps (compaction, markers) are fine: order is what counts
        assert!(offsets.mark_durable(1, 7));
        assert!(offsets.mark_durable(1, 9));
        assert_eq!(offsets.to_commit(), vec![(1, 10)]);
        offsets.forget(&[1]);
        assert_eq!(offsets.to_commit(), vec![]);
        assert_eq!(offsets.pending(0), 1);
    }

    #[test]
    fn a_record_s_origin_is_its_partition_and_offset() {
        let record = InboundRecord { partition: 3, offset: 42, key: None, payload: Vec::new() };
        assert_eq!(record.origin(), Origin::Stream { stream: 3, offset: 42 });
    }

    #[test]
    fn a_refetch_replaces_the_pending_tail() {
        let mut offsets = DurableOffsets::default();
        for offset in 0..5 {
            offsets.observe(0, offset);
        }
        offsets.observe(0, 2);
        assert_eq!(offsets.pending(0), 3, "0, 1 and the re-fetched 2");
    }
}
