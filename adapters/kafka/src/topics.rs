//! Topic set-up at start, and where a key lands.
//!
//! Every role calls [`ensure_topics`] before it produces or consumes: missing topics are
//! created with the configured partition counts; an existing topic is left as it is (its
//! partition count is reported, never changed — adding partitions to `orders` moves symbols
//! between engine shards and is an operator's decision).
//!
//! Keys are hashed with Kafka's Java-compatible murmur2 (the producer is configured with
//! `partitioner=murmur2_random`), so [`partition_for_key`] says exactly which partition — and
//! so which engine shard — owns a symbol, and any Java tool agrees.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::FromClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use thiserror::Error;

use crate::config::{KafkaConfig, TopicSpec};

/// How long topic creation may take, broker round trip included.
pub const TOPIC_CREATE_TIMEOUT_MS: u64 = 10_000;
/// How long to wait for created topics to appear in metadata with all their partitions.
pub const TOPIC_VISIBLE_TIMEOUT_MS: u64 = 10_000;
/// Pause between two metadata checks while waiting for topics.
const METADATA_POLL_INTERVAL_MS: u64 = 50;

/// Why topics could not be ensured.
#[derive(Debug, Error)]
pub enum TopicError {
    /// The admin client could not be created (bad configuration).
    #[error("admin client: {0}")]
    Client(#[source] KafkaError),
    /// The create request failed as a whole (broker unreachable, timeout).
    #[error("create topics: {0}")]
    Request(#[source] KafkaError),
    /// The broker refused to create one topic.
    #[error("create topic {topic}: {code}")]
    Create {
        /// Topic.
        topic: String,
        /// Broker's error.
        code: RDKafkaErrorCode,
    },
    /// The topic did not show up in metadata with its partitions in time.
    #[error("topic {topic} not visible with {partitions} partitions after {timeout_ms} ms")]
    NotVisible {
        /// Topic.
        topic: String,
        /// Partitions expected at least.
        partitions: i32,
        /// How long we waited.
        timeout_ms: u64,
    },
    /// A configured partition count or replication factor is not positive.
    #[error("topic {0}: partitions and replication factor must be positive")]
    InvalidSpec(String),
}

/// What [`ensure_topics`] found or did for one topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnsuredTopic {
    /// Topic.
    pub name: String,
    /// Partitions it has now.
    pub partitions: i32,
    /// Whether this call created it.
    pub created: bool,
}

/// Creates the four OMS topics when missing; an existing topic (also one created by a
/// concurrent caller: "already exists" is fine) is kept. Waits until each is visible with
/// its partitions, so a consumer that subscribes next sees all of them.
pub fn ensure_topics(config: &KafkaConfig) -> Result<Vec<EnsuredTopic>, TopicError> {
    let specs: Vec<&TopicSpec> = config.topics.all().into_iter().collect();
    ensure(config, &specs)
}

/// [`ensure_topics`] for any set of topics (tests use private names).
pub fn ensure(config: &KafkaConfig, specs: &[&TopicSpec]) -> Result<Vec<EnsuredTopic>, TopicError> {
    let replication = config.topics.replication_factor;
    for spec in specs {
        if spec.partitions <= 0 || replication <= 0 {
            return Err(TopicError::InvalidSpec(spec.name.clone()));
        }
    }
    let admin: AdminClient<DefaultClientContext> =
        AdminClient::from_config(&config.admin_client_config()).map_err(TopicError::Client)?;
    let existing = partition_counts(&admin, specs)?;
    let missing: Vec<NewTopic<'_>> = specs
        .iter()
        .zip(&existing)
        .filter(|(_, count)| count.is_none())
        .map(|(spec, _)| NewTopic::new(&spec.name, spec.partitions, TopicReplication::Fixed(replication)))
        .collect();
    let mut created = Vec::new();
    if !missing.is_empty() {
        let timeout = Duration::from_millis(TOPIC_CREATE_TIMEOUT_MS);
        let options = AdminOptions::new().operation_timeout(Some(timeout)).request_timeout(Some(timeout));
        let results = block_on(admin.create_topics(&missing, &options)).map_err(TopicError::Request)?;
        for result in results {
            match result {
                Ok(topic) => created.push(topic),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => return Err(TopicError::Create { topic, code }),
            }
        }
    }
    let counts = wait_visible(&admin, specs, &existing)?;
    Ok(specs
        .iter()
        .zip(counts)
        .map(|(spec, partitions)| EnsuredTopic {
            name: spec.name.clone(),
            partitions,
            created: created.contains(&spec.name),
        })
        .collect())
}

/// Partition count of each topic, `None` when the broker does not know it.
fn partition_counts(
    admin: &AdminClient<DefaultClientContext>,
    specs: &[&TopicSpec],
) -> Result<Vec<Option<i32>>, TopicError> {
    let metadata = admin
        .inner()
        .fetch_metadata(None, Duration::from_millis(TOPIC_CREATE_TIMEOUT_MS))
        .map_err(TopicError::Request)?;
    Ok(specs
        .iter()
        .map(|spec| {
            metadata
                .topics()
                .iter()
                .find(|t| t.name() == spec.name && t.error().is_none())
                .map(|t| i32::try_from(t.partitions().len()).unwrap_or(i32::MAX))
                .filter(|count| *count > 0)
        })
        .collect())
}

/// Waits until every topic is in metadata with its expected partition count: the count it
/// already had, or the configured one for a topic just created.
fn wait_visible(
    admin: &AdminClient<DefaultClientContext>,
    specs: &[&TopicSpec],
    existing: &[Option<i32>],
) -> Result<Vec<i32>, TopicError> {
    let deadline = Instant::now() + Duration::from_millis(TOPIC_VISIBLE_TIMEOUT_MS);
    loop {
        let counts = partition_counts(admin, specs)?;
        let lagging = specs
            .iter()
            .zip(existing)
            .zip(&counts)
            .find(|((spec, before), now)| now.is_none_or(|n| n < before.unwrap_or(spec.partitions)));
        match lagging {
            None => return Ok(counts.into_iter().map(|c| c.unwrap_or(0)).collect()),
            Some(((spec, _), _)) if Instant::now() >= deadline => {
                return Err(TopicError::NotVisible {
                    topic: spec.name.clone(),
                    partitions: spec.partitions,
                    timeout_ms: TOPIC_VISIBLE_TIMEOUT_MS,
                });
            }
            Some(_) => std::thread::sleep(Duration::from_millis(METADATA_POLL_INTERVAL_MS)),
        }
    }
}

/// Drives one future to completion on this thread. The admin client's futures are
/// completed by librdkafka's own thread; this crate does not need an async runtime for
/// them, and start-up code is synchronous.
fn block_on<F: Future>(future: F) -> F::Output {
    struct ThreadWaker(Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// Kafka's murmur2 (the Java client's `Utils.murmur2`, librdkafka's `rd_murmur2`).
pub fn murmur2(key: &[u8]) -> u32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    // Kafka hashes lengths as a 32-bit int; keys are bounded far below that.
    let mut h = SEED ^ (key.len() as u32);
    let mut chunks = key.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

/// The partition a keyed record lands on among `partitions` (the producer's
/// `murmur2_random` partitioner: `(murmur2(key) & 0x7fffffff) % partitions`).
///
/// # Panics
/// When `partitions` is not positive (a configuration bug caught at start).
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    assert!(partitions > 0, "a topic has at least one partition");
    let positive = (murmur2(key) & 0x7fff_ffff) as i32;
    positive % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_the_java_client() {
        // Vectors from librdkafka's rdmurmur2.c unit test (computed with the Java client).
        let unaligned = "PreAmbleWillBeRemoved,ThePrePartThatIs";
        let cases: [(&str, u32); 11] = [
            ("kafka", 0xd067_cf64),
            ("giberish123456789", 0x8f55_2b0c),
            ("1234", 0x9fc9_7b14),
            ("234", 0xe7c0_09ca),
            ("34", 0x8739_30da),
            ("4", 0x5a4b_5ca1),
            (unaligned, 0x7842_4f1c),
            (&unaligned[1..], 0x4a62_b377),
            (&unaligned[2..], 0xe0e4_e09e),
            (&unaligned[3..], 0x62b8_b43f),
            ("", 0x106e_08d9),
        ];
        for (key, expected) in cases {
            assert_eq!(murmur2(key.as_bytes()), expected, "murmur2({key:?})");
        }
    }

    #[test]
    fn partition_is_stable_and_in_range() {
        for partitions in 1..=64 {
            for symbol in ["BTC-USD", "ETH-USD", "SOL-USDT", ""] {
                let p = partition_for_key(symbol.as_bytes(), partitions);
                assert!((0..partitions).contains(&p));
                assert_eq!(p, partition_for_key(symbol.as_bytes(), partitions));
            }
        }
    }
}
