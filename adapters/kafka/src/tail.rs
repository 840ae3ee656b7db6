//! A reader of *every* partition of a topic from "now" on, outside any consumer group: how
//! an ingress pod follows `executions` to answer the clients waiting on it.
//!
//! A command's messages are keyed by order id and spread over all `executions` partitions,
//! and any ingress pod may be the one holding the client, so each pod reads them all. A
//! consumer group would split the partitions between pods instead; so this consumer
//! assigns all partitions itself, starting at each partition's high watermark read at
//! creation: everything produced after [`TailConsumer::new`] returns is seen. It never
//! commits (a restarted ingress has no clients waiting on old decisions).
//! [`TailConsumer::from_beginning`] reads what the topic still holds first, for a reader
//! that folds the whole stream (the ingress's order view); [`TailConsumer::caught_up`]
//! says when it has read what was there at creation.

use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::config::KafkaConfig;
use crate::consumer::{ConsumeError, InboundRecord};

/// How long start-up may take to read the topic's partitions and their high watermarks.
pub const TAIL_START_TIMEOUT_MS: u64 = 10_000;

struct TailContext;

impl ClientContext for TailContext {}
impl ConsumerContext for TailContext {}

/// Reads every partition of one topic from the moment it was created, or from the
/// beginning of what the topic holds.
pub struct TailConsumer {
    consumer: BaseConsumer<TailContext>,
    partitions: Vec<i32>,
    /// Per partition: the high watermark at creation, and whether a record at or beyond
    /// `high - 1` was read (or there was nothing to read).
    start: std::sync::Mutex<Vec<(i32, i64, bool)>>,
}

impl std::fmt::Debug for TailConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TailConsumer").field("partitions", &self.partitions).finish_non_exhaustive()
    }
}

impl TailConsumer {
    /// Assigns every partition of `topic` at its current end. Blocks (bounded by
    /// [`TAIL_START_TIMEOUT_MS`]) for the metadata and watermarks.
    pub fn new(config: &KafkaConfig, topic: &str) -> Result<Self, ConsumeError> {
        Self::assign(config, topic, false)
    }

    /// Assigns every partition of `topic` at its low watermark: the records the topic still
    /// holds come first, then new ones.
    pub fn from_beginning(config: &KafkaConfig, topic: &str) -> Result<Self, ConsumeError> {
        Self::assign(config, topic, true)
    }

    fn assign(config: &KafkaConfig, topic: &str, from_beginning: bool) -> Result<Self, ConsumeError> {
        let mut client = config.consumer_client_config();
        // No group membership is used (manual assignment, no commits); librdkafka still
        // wants a group id, which is harmless.
        client.set("group.id", format!("{}-tail", config.client_id));
        let consumer: BaseConsumer<TailContext> = BaseConsumer::from_config_and_context(&client, TailContext)
            .map_err(|e| ConsumeError::Setup(e.to_string()))?;
        let timeout = Duration::from_millis(TAIL_START_TIMEOUT_MS);
        let metadata = consumer.fetch_metadata(Some(topic), timeout).map_err(|e| ConsumeError::Setup(e.to_string()))?;
        let mut partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic && t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        partitions.sort_unstable();
        if partitions.is_empty() {
            return Err(ConsumeError::Setup(format!("topic {topic} has no partitions (not created?)")));
        }
        let mut list = TopicPartitionList::with_capacity(partitions.len());
        let mut start = Vec::with_capacity(partitions.len());
        for partition in &partitions {
            let (low, high) = consumer
                .fetch_watermarks(topic, *partition, timeout)
                .map_err(|e| ConsumeError::Setup(e.to_string()))?;
            let (offset, nothing_to_read) = if from_beginning { (low, low >= high) } else { (high, true) };
            list.add_partition_offset(topic, *partition, Offset::Offset(offset))
                .map_err(|e| ConsumeError::Setup(e.to_string()))?;
            start.push((*partition, high, nothing_to_read));
        }
        consumer.assign(&list).map_err(|e| ConsumeError::Setup(e.to_string()))?;
        Ok(Self { consumer, partitions, start: std::sync::Mutex::new(start) })
    }

    /// The next record, waiting up to `timeout`; `Ok(None)` when none arrived.
    pub fn poll(&self, timeout: Duration) -> Result<Option<InboundRecord>, ConsumeError> {
        match self.consumer.poll(timeout) {
            None => Ok(None),
            Some(Err(error)) => Err(ConsumeError::Kafka(error.to_string())),
            Some(Ok(message)) => {
                if let Ok(mut start) = self.start.lock()
                    && let Some(entry) = start.iter_mut().find(|(p, _, _)| *p == message.partition())
                {
                    entry.2 |= message.offset() >= entry.1 - 1;
                }
                Ok(Some(InboundRecord {
                    partition: message.partition(),
                    offset: message.offset(),
                    key: message.key().map(<[u8]>::to_vec),
                    payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                }))
            }
        }
    }

    /// Whether every partition has been read up to where it ended at creation (always true
    /// for [`TailConsumer::new`]).
    pub fn caught_up(&self) -> bool {
        self.start.lock().is_ok_and(|start| start.iter().all(|(_, _, done)| *done))
    }

    /// The partitions being read.
    pub fn partitions(&self) -> &[i32] {
        &self.partitions
    }
}
