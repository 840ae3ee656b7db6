//! # oms-kafka
//!
//! Kafka adapter for the OMS (AWS MSK in production, the Tansu broker in tests): topic
//! set-up, versioned JSON messages, an idempotent producer that refuses instead of blocking
//! or dropping, and the engine-role consumer that commits only what the journal made
//! durable.
//!
//! - [`KafkaConfig`]: brokers, topics, producer bounds, consumer-group timeouts.
//! - [`topics`]: create missing topics at start; where a key lands.
//! - [`messages`]: the JSON on `orders`, `executions`, `prices`, `risk-events`; strict
//!   parsing of inbound commands; engine events → messages.
//! - [`KafkaProducer`]: `publish` never blocks; a full queue or an undeliverable message is a
//!   typed [`PublishError`] the ingress turns into 503.
//! - [`EngineConsumer`]: consumer group with manual commits of the highest contiguous
//!   durable offset, and rebalances surfaced as [`ConsumerEvent`]s (engine, persister).
//! - [`TailConsumer`]: every partition from "now", no group (an ingress following
//!   `executions`).
//!
//! Delivery is at-least-once end to end; engines make redelivery harmless by deduplicating
//! on the command id (`docs/events.md`).

mod config;
mod consumer;
pub mod messages;
mod producer;
mod tail;
pub mod topics;

pub use config::{
    Compression, ConsumerTuning, KafkaConfig, ProducerTuning, ScramMechanism, Security, TEST_BROKERS_DEFAULT,
    TopicSpec, Topics,
};
pub use consumer::{
    ConsumeError, ConsumerEvent, DurableMarker, DurableOffsets, EngineConsumer, InboundRecord, REVOKE_DRAIN_TIMEOUT_MS,
};
pub use producer::{Delivered, DeliveryReceipt, KafkaProducer, ProducerStats, PublishError, SHUTDOWN_FLUSH_TIMEOUT_MS};
pub use tail::{TAIL_START_TIMEOUT_MS, TailConsumer};
