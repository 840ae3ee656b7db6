//! The producer: idempotent, `acks=all`, and it never blocks the caller or drops a message
//! silently.
//!
//! [`KafkaProducer::publish`] only enqueues into librdkafka's bounded local queue and returns
//! a [`DeliveryReceipt`]. When the queue is full (the broker is down or slow and the bound
//! `queue_messages_max`/`queue_kbytes_max` is reached) it fails at once with
//! [`PublishError::Backpressure`]; a message that cannot be delivered within
//! `delivery_timeout_ms` completes its receipt with [`PublishError::Unavailable`]. Either way
//! the caller learns of it (the ingress answers 503) — that is the "never a silent drop".
//!
//! A `ThreadedProducer` (librdkafka plus one polling thread for delivery reports) rather than
//! rdkafka's `FutureProducer`: it needs no async runtime, so the engine's synchronous
//! threads and the async ingress use the same type; the receipt is both a blocking
//! `wait` and a `Future`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::config::FromClientConfigAndContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, PurgeConfig, ThreadedProducer};
use thiserror::Error;

use crate::config::KafkaConfig;
use crate::messages::{MESSAGE_BYTES_MAX, OutboundMessage, TopicKind};

/// How long dropping the producer waits for queued messages to be delivered before it
/// purges them (their receipts then fail with [`PublishError::Unavailable`]).
pub const SHUTDOWN_FLUSH_TIMEOUT_MS: u64 = 5_000;

/// Why a message was not (or not yet) delivered.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PublishError {
    /// The local queue is at its bound: Kafka is down or slower than the offered load.
    /// Nothing was enqueued; answer 503 and let the client retry.
    #[error("producer queue full (backpressure)")]
    Backpressure,
    /// The broker did not acknowledge the message within the delivery timeout, or refused
    /// it. Almost always the message is not in Kafka; one that was in flight when the broker
    /// went away may have been written without the acknowledgement arriving.
    #[error("message not delivered: {0}")]
    Unavailable(RDKafkaErrorCode),
    /// Payload over [`MESSAGE_BYTES_MAX`]; nothing was enqueued.
    #[error("payload of {bytes} bytes is over the {max} byte limit")]
    TooLarge {
        /// Payload size.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The receipt was not completed within the caller's wait; the message is still queued
    /// and will be reported within the delivery timeout.
    #[error("no delivery report yet")]
    Pending,
    /// Any other client error (bad configuration, unknown partition).
    #[error("kafka client error: {0}")]
    Client(String),
}

/// Where a delivered message landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// Partition.
    pub partition: i32,
    /// Offset in the partition.
    pub offset: i64,
}

/// Producer counters (metrics-ready; all since start).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProducerStats {
    /// Messages enqueued.
    pub sent: u64,
    /// Messages acknowledged by the broker.
    pub delivered: u64,
    /// Messages whose delivery failed (timeout, broker refusal, purge at shutdown).
    pub failed: u64,
    /// Publishes refused because the queue was full.
    pub backpressure: u64,
    /// Enqueued and not yet reported: `sent - delivered - failed`.
    pub in_flight: u64,
}

#[derive(Debug, Default)]
struct Counters {
    sent: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    backpressure: AtomicU64,
    /// librdkafka reported all brokers down and no delivery succeeded since.
    brokers_down: AtomicBool,
}

/// One message's delivery outcome, shared by the receipt and the delivery callback.
#[derive(Debug, Default)]
struct DeliverySlot {
    state: Mutex<SlotState>,
    reported: Condvar,
}

#[derive(Debug, Default)]
struct SlotState {
    result: Option<Result<Delivered, PublishError>>,
    waker: Option<Waker>,
}

impl DeliverySlot {
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        // A poisoned lock only means another thread panicked while holding it; the state
        // itself (an Option) is always valid.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn complete(&self, result: Result<Delivered, PublishError>) {
        let mut state = self.lock();
        if state.result.is_none() {
            state.result = Some(result);
        }
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
        self.reported.notify_all();
    }
}

/// The delivery callback's handle on a slot. If librdkafka ever frees a message without
/// reporting it, dropping the ticket still completes the receipt (never a silent loss).
#[derive(Debug)]
struct DeliveryTicket(Arc<DeliverySlot>);

impl Drop for DeliveryTicket {
    fn drop(&mut self) {
        self.0.complete(Err(PublishError::Unavailable(RDKafkaErrorCode::PurgeQueue)));
    }
}

/// Receipt of an enqueued message: wait for it (bounded) or `.await` it.
#[derive(Clone, Debug)]
pub struct DeliveryReceipt(Arc<DeliverySlot>);

impl DeliveryReceipt {
    /// The outcome if already reported.
    pub fn try_result(&self) -> Option<Result<Delivered, PublishError>> {
        self.0.lock().result.clone()
    }

    /// Blocks until the outcome is reported or `timeout` passes ([`PublishError::Pending`]).
    pub fn wait(&self, timeout: Duration) -> Result<Delivered, PublishError> {
        let deadline = Instant::now() + timeout;
        let mut state = self.0.lock();
        loop {
            if let Some(result) = state.result.clone() {
                return result;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(PublishError::Pending);
            }
            state = self.0.reported.wait_timeout(state, left).unwrap_or_else(std::sync::PoisonError::into_inner).0;
        }
    }
}

impl Future for DeliveryReceipt {
    type Output = Result<Delivered, PublishError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.0.lock();
        match state.result.clone() {
            Some(result) => Poll::Ready(result),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// librdkafka callbacks: delivery reports and client-wide errors.
struct DeliveryContext {
    counters: Arc<Counters>,
}

impl ClientContext for DeliveryContext {
    fn error(&self, error: KafkaError, _reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.counters.brokers_down.store(true, Ordering::Release);
        }
    }
}

impl ProducerContext for DeliveryContext {
    type DeliveryOpaque = Box<DeliveryTicket>;

    fn delivery(&self, result: &DeliveryResult<'_>, ticket: Self::DeliveryOpaque) {
        let outcome = match result {
            Ok(message) => {
                self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                self.counters.brokers_down.store(false, Ordering::Release);
                Ok(Delivered { partition: message.partition(), offset: message.offset() })
            }
            Err((error, _)) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                let code = error.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail);
                Err(PublishError::Unavailable(code))
            }
        };
        ticket.0.complete(outcome);
    }
}

/// Topic names resolved once from the configuration.
#[derive(Clone, Debug)]
struct TopicNames {
    orders: String,
    executions: String,
    prices: String,
    risk_events: String,
}

impl TopicNames {
    fn name(&self, topic: TopicKind) -> &str {
        match topic {
            TopicKind::Orders => &self.orders,
            TopicKind::Executions => &self.executions,
            TopicKind::Prices => &self.prices,
            TopicKind::RiskEvents => &self.risk_events,
        }
    }
}

/// The OMS producer. Cheap to share behind an `Arc`; every method takes `&self`.
pub struct KafkaProducer {
    inner: ThreadedProducer<DeliveryContext>,
    counters: Arc<Counters>,
    topics: TopicNames,
}

impl std::fmt::Debug for KafkaProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaProducer").field("stats", &self.stats()).finish_non_exhaustive()
    }
}

impl KafkaProducer {
    /// Creates the producer (no broker contact yet: librdkafka connects in the background).
    pub fn new(config: &KafkaConfig) -> Result<Self, PublishError> {
        let counters = Arc::new(Counters::default());
        let context = DeliveryContext { counters: Arc::clone(&counters) };
        let inner = ThreadedProducer::from_config_and_context(&config.producer_client_config(), context)
            .map_err(|e| PublishError::Client(e.to_string()))?;
        let t = &config.topics;
        let topics = TopicNames {
            orders: t.orders.name.clone(),
            executions: t.executions.name.clone(),
            prices: t.prices.name.clone(),
            risk_events: t.risk_events.name.clone(),
        };
        Ok(Self { inner, counters, topics })
    }

    /// Enqueues `payload` for `topic` with `key` (the partitioner places it); never blocks.
    pub fn publish(&self, topic: TopicKind, key: &str, payload: &[u8]) -> Result<DeliveryReceipt, PublishError> {
        self.publish_to(self.topics.name(topic), None, key, payload)
    }

    /// Enqueues an encoded message (see [`crate::messages`]).
    pub fn publish_message(&self, message: &OutboundMessage) -> Result<DeliveryReceipt, PublishError> {
        self.publish(message.topic, &message.key, &message.payload)
    }

    /// Enqueues to an explicit topic name and, when given, partition (a mass cancel for every
    /// symbol goes to each `orders` partition; tests use private topics).
    pub fn publish_to(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: &str,
        payload: &[u8],
    ) -> Result<DeliveryReceipt, PublishError> {
        if payload.len() > MESSAGE_BYTES_MAX {
            return Err(PublishError::TooLarge { bytes: payload.len(), max: MESSAGE_BYTES_MAX });
        }
        let slot = Arc::new(DeliverySlot::default());
        let mut record =
            BaseRecord::with_opaque_to(topic, Box::new(DeliveryTicket(Arc::clone(&slot)))).key(key).payload(payload);
        if let Some(partition) = partition {
            record = record.partition(partition);
        }
        // Counted before the send so the callback (on another thread) can never make
        // `in_flight` go negative.
        self.counters.sent.fetch_add(1, Ordering::Relaxed);
        match self.inner.send(record) {
            Ok(()) => Ok(DeliveryReceipt(slot)),
            Err((error, record)) => {
                self.counters.sent.fetch_sub(1, Ordering::Relaxed);
                // The refused record's ticket completes the (never handed out) slot.
                drop(record);
                match error.rdkafka_error_code() {
                    Some(RDKafkaErrorCode::QueueFull) => {
                        self.counters.backpressure.fetch_add(1, Ordering::Relaxed);
                        Err(PublishError::Backpressure)
                    }
                    _ => Err(PublishError::Client(error.to_string())),
                }
            }
        }
    }

    /// Waits up to `timeout` for everything enqueued to be reported.
    pub fn flush(&self, timeout: Duration) -> Result<(), PublishError> {
        self.inner.flush(timeout).map_err(|e| match e.rdkafka_error_code() {
            Some(code) => PublishError::Unavailable(code),
            None => PublishError::Client(e.to_string()),
        })
    }

    /// Counters since start.
    pub fn stats(&self) -> ProducerStats {
        let c = &self.counters;
        let sent = c.sent.load(Ordering::Relaxed);
        let delivered = c.delivered.load(Ordering::Relaxed);
        let failed = c.failed.load(Ordering::Relaxed);
        ProducerStats {
            sent,
            delivered,
            failed,
            backpressure: c.backpressure.load(Ordering::Relaxed),
            in_flight: sent.saturating_sub(delivered + failed),
        }
    }

    /// Whether librdkafka reports every broker down (and nothing was delivered since): for
    /// `/ready` and metrics. Publishing still enqueues until the bound.
    pub fn brokers_down(&self) -> bool {
        self.counters.brokers_down.load(Ordering::Acquire)
    }
}

impl Drop for KafkaProducer {
    fn drop(&mut self) {
        // Deliver what can be delivered; fail the rest through their receipts.
        if self.inner.flush(Duration::from_millis(SHUTDOWN_FLUSH_TIMEOUT_MS)).is_err() {
            self.inner.purge(PurgeConfig::default().queue().inflight());
            self.inner.poll(Duration::ZERO);
        }
    }
}
