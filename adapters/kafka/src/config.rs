//! Kafka client settings: brokers, topics, producer tuning and consumer-group settings.
//!
//! One struct holds every knob so the binary can fill it from flags, `OMS_*` variables or a
//! TOML file, and the tests can shorten the group timeouts. The values chosen here are the
//! defaults a production deployment starts from; `docs/events.md` explains each choice.
//!
//! Everything that librdkafka would otherwise let grow is bounded here with a named value
//! carrying its unit: the local producer queue (`queue_messages_max`, `queue_kbytes_max`),
//! how long a message may wait for delivery (`delivery_timeout_ms`), how long a consumer may
//! go silent before the group moves its partitions (`session_timeout_ms`).

use rdkafka::ClientConfig;

use crate::messages::MESSAGE_BYTES_MAX;

/// Broker address the integration tests use (`scripts/services/kafka.sh`).
pub const TEST_BROKERS_DEFAULT: &str = "127.0.0.1:19092";

/// One topic: its name and how many partitions to create it with when it is missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Partitions at creation. For `orders` this is the number of engine shards the
    /// deployment can grow to without re-keying (a symbol's partition is fixed by its key
    /// hash and the partition count, so adding partitions later moves symbols between
    /// shards; see `docs/events.md`).
    pub partitions: i32,
}

impl TopicSpec {
    fn new(name: &str, partitions: i32) -> Self {
        Self { name: name.to_owned(), partitions }
    }
}

/// The four topics of the OMS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topics {
    /// Commands in (key = symbol, so one engine shard owns a book).
    pub orders: TopicSpec,
    /// Order events and fills out (key = order id).
    pub executions: TopicSpec,
    /// Trades, book depth and candles (key = symbol).
    pub prices: TopicSpec,
    /// Rejects, kill switches and limit breaches (key = account).
    pub risk_events: TopicSpec,
    /// Copies of each partition. 3 on MSK (with `min.insync.replicas=2`, `acks=all` then
    /// survives one broker loss); 1 on a single test broker.
    pub replication_factor: i32,
}

impl Topics {
    /// The four topics in a fixed order (for creation and reports).
    pub fn all(&self) -> [&TopicSpec; 4] {
        [&self.orders, &self.executions, &self.prices, &self.risk_events]
    }
}

impl Default for Topics {
    fn default() -> Self {
        Self {
            orders: TopicSpec::new("orders", 12),
            executions: TopicSpec::new("executions", 12),
            prices: TopicSpec::new("prices", 6),
            risk_events: TopicSpec::new("risk-events", 3),
            replication_factor: 3,
        }
    }
}

/// Compression codec for produced batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// No compression (lowest CPU, largest network and disk use).
    None,
    /// LZ4: cheap to compress and decompress, about 3–5× on our JSON. The default: the OMS
    /// is latency-bound on small boxes, and LZ4 costs the least CPU per byte saved.
    Lz4,
    /// Zstandard: best ratio, more CPU; worth it when cross-AZ traffic costs more than cores.
    /// Needs librdkafka built with zstd (rdkafka feature `zstd`), which this crate does not
    /// enable by default.
    Zstd,
}

impl Compression {
    /// librdkafka's name for the codec.
    pub fn librdkafka_name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// Producer batching, buffering and delivery bounds.
///
/// Idempotence and `acks=all` are not settings: the producer always sets them (a command or
/// an event acknowledged by one replica only can be lost with that broker, and without
/// idempotence a retried batch can be written twice or out of order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerTuning {
    /// How long a batch may wait for more messages (`linger.ms`). 2 ms: at 50 k msg/s that
    /// is ~100 messages per batch — most of the batching gain — while staying far below the
    /// 100 ms p99 budget. librdkafka's default is 5 ms.
    pub linger_ms: u32,
    /// Largest batch per partition in bytes (`batch.size`). 1 MiB, librdkafka's default;
    /// linger, not size, ends our batches at the rates we run.
    pub batch_bytes_max: u32,
    /// Largest batch per partition in messages (`batch.num.messages`).
    pub batch_messages_max: u32,
    /// Batch compression (`compression.type`).
    pub compression: Compression,
    /// Local queue bound in messages (`queue.buffering.max.messages`). When it is full,
    /// `publish` fails at once with [`crate::PublishError::Backpressure`] and the ingress
    /// answers 503. 100 000 is two seconds at the 50 k/s target: enough to ride out a leader
    /// election, small enough that clients learn of an outage quickly.
    pub queue_messages_max: u32,
    /// Local queue bound in KiB (`queue.buffering.max.kbytes`); whichever bound is hit first
    /// applies. 64 MiB.
    pub queue_kbytes_max: u32,
    /// How long a message may wait for the broker's acknowledgement, retries included
    /// (`message.timeout.ms`); after it the delivery fails with
    /// [`crate::PublishError::Unavailable`]. 5 s is half the ingress's 10 s decision timeout,
    /// so a command that cannot reach Kafka is answered 503 before a decision could time out.
    pub delivery_timeout_ms: u32,
    /// One produce request's timeout (`request.timeout.ms`); below `delivery_timeout_ms`.
    pub request_timeout_ms: u32,
}

impl Default for ProducerTuning {
    fn default() -> Self {
        Self {
            linger_ms: 2,
            batch_bytes_max: 1 << 20,
            batch_messages_max: 10_000,
            compression: Compression::Lz4,
            queue_messages_max: 100_000,
            queue_kbytes_max: 64 * 1024,
            delivery_timeout_ms: 5_000,
            request_timeout_ms: 3_000,
        }
    }
}

/// Consumer-group settings for the engine and persister roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerTuning {
    /// Consumer group (`group.id`): engines share one, persisters another.
    pub group_id: String,
    /// How long the group waits for a silent member before moving its partitions
    /// (`session.timeout.ms`). 10 s in production; tests use ~6 s.
    pub session_timeout_ms: u32,
    /// Heartbeat period (`heartbeat.interval.ms`); at most a third of the session timeout.
    pub heartbeat_interval_ms: u32,
    /// Longest gap between two polls before the member is considered stuck and leaves the
    /// group (`max.poll.interval.ms`). The engine polls in a loop, so 60 s is generous.
    pub poll_interval_ms_max: u32,
    /// How long the broker may hold a fetch waiting for data (`fetch.wait.max.ms`). Brokers
    /// that answer as soon as data arrives make this irrelevant for latency; a broker that
    /// does not wake fetches early (as some Kafka-protocol brokers do) adds up to this much
    /// latency, hence 50 ms rather than librdkafka's 500 ms.
    pub fetch_wait_ms_max: u32,
}

impl ConsumerTuning {
    /// Production defaults for `group_id`.
    pub fn new(group_id: &str) -> Self {
        Self {
            group_id: group_id.to_owned(),
            session_timeout_ms: 10_000,
            heartbeat_interval_ms: 3_000,
            poll_interval_ms_max: 60_000,
            fetch_wait_ms_max: 50,
        }
    }
}

/// Everything the Kafka adapter needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaConfig {
    /// Bootstrap brokers, comma separated (`host:port,host:port`).
    pub brokers: String,
    /// Client id reported to the brokers (shows in broker logs and quotas).
    pub client_id: String,
    /// Topic names, partitions and replication.
    pub topics: Topics,
    /// Producer bounds.
    pub producer: ProducerTuning,
    /// Consumer-group settings.
    pub consumer: ConsumerTuning,
    /// Transport security and authentication.
    pub security: Security,
}

/// How clients reach the brokers: plain (a local broker), TLS, or TLS with SASL/SCRAM
/// (Amazon MSK's `scram` mode on port 9096). MSK's IAM mode needs AWS request signing for
/// the OAUTHBEARER token, which this client does not do.
#[derive(Clone, PartialEq, Eq)]
pub enum Security {
    /// No TLS, no authentication.
    Plaintext,
    /// TLS; the brokers' certificates are checked against the system's CA store.
    Tls,
    /// TLS and SASL/SCRAM.
    Scram {
        /// `SCRAM-SHA-256` or `SCRAM-SHA-512` (MSK: 512).
        mechanism: ScramMechanism,
        /// SASL user.
        username: String,
        /// SASL password (never printed).
        password: String,
    },
}

/// The SCRAM hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScramMechanism {
    /// `SCRAM-SHA-256`.
    Sha256,
    /// `SCRAM-SHA-512`.
    Sha512,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Security::Plaintext => f.write_str("Plaintext"),
            Security::Tls => f.write_str("Tls"),
            Security::Scram { mechanism, username, .. } => f
                .debug_struct("Scram")
                .field("mechanism", mechanism)
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

impl Security {
    fn apply(&self, config: &mut ClientConfig) {
        match self {
            Security::Plaintext => {}
            Security::Tls => {
                config.set("security.protocol", "ssl").set("ssl.ca.location", "probe");
            }
            Security::Scram { mechanism, username, password } => {
                let mechanism = match mechanism {
                    ScramMechanism::Sha256 => "SCRAM-SHA-256",
                    ScramMechanism::Sha512 => "SCRAM-SHA-512",
                };
                config
                    .set("security.protocol", "sasl_ssl")
                    .set("ssl.ca.location", "probe")
                    .set("sasl.mechanism", mechanism)
                    .set("sasl.username", username)
                    .set("sasl.password", password);
            }
        }
    }
}

impl KafkaConfig {
    /// Production defaults for `brokers`.
    pub fn new(brokers: &str) -> Self {
        Self {
            brokers: brokers.to_owned(),
            client_id: "oms".to_owned(),
            topics: Topics::default(),
            producer: ProducerTuning::default(),
            consumer: ConsumerTuning::new("oms-engine"),
            security: Security::Plaintext,
        }
    }

    /// Settings for tests on one local broker: replication 1, few partitions, short group
    /// timeouts (a group join or a failover then takes seconds, not tens of seconds).
    pub fn for_tests(brokers: &str) -> Self {
        let mut config = Self::new(brokers);
        config.topics.replication_factor = 1;
        config.topics.orders.partitions = 4;
        config.topics.executions.partitions = 4;
        config.topics.prices.partitions = 2;
        config.topics.risk_events.partitions = 2;
        config.consumer.session_timeout_ms = 6_000;
        config.consumer.heartbeat_interval_ms = 500;
        config.consumer.poll_interval_ms_max = 30_000;
        config.consumer.fetch_wait_ms_max = 20;
        config
    }

    /// Prefixes every topic name and the consumer group with `prefix` (several deployments,
    /// or test runs, on one cluster).
    pub fn prefix_names(&mut self, prefix: &str) {
        let topics = &mut self.topics;
        for topic in [&mut topics.orders, &mut topics.executions, &mut topics.prices, &mut topics.risk_events] {
            topic.name = format!("{prefix}{}", topic.name);
        }
        self.consumer.group_id = format!("{prefix}{}", self.consumer.group_id);
    }

    /// librdkafka settings shared by every client.
    fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers).set("client.id", &self.client_id);
        self.security.apply(&mut config);
        config
    }

    /// librdkafka settings for the producer.
    pub fn producer_client_config(&self) -> ClientConfig {
        let p = &self.producer;
        let mut config = self.base();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            // Java-compatible key hashing, so `topics::partition_for_key` and tools written
            // against the Java client agree on where a key lands.
            .set("partitioner", "murmur2_random")
            .set("linger.ms", p.linger_ms.to_string())
            .set("batch.size", p.batch_bytes_max.to_string())
            .set("batch.num.messages", p.batch_messages_max.to_string())
            .set("compression.type", p.compression.librdkafka_name())
            .set("queue.buffering.max.messages", p.queue_messages_max.to_string())
            .set("queue.buffering.max.kbytes", p.queue_kbytes_max.to_string())
            .set("message.timeout.ms", p.delivery_timeout_ms.to_string())
            .set("request.timeout.ms", p.request_timeout_ms.to_string())
            // librdkafka notices expired messages of an unreachable broker when it retries
            // the connection: with the default 10 s backoff a 5 s delivery timeout was
            // reported after ~9 s, past the point where the ingress gives up on a decision.
            .set("reconnect.backoff.max.ms", "1000")
            .set("message.max.bytes", (MESSAGE_BYTES_MAX + MESSAGE_OVERHEAD_BYTES_MAX).to_string());
        config
    }

    /// librdkafka settings for a group consumer.
    pub fn consumer_client_config(&self) -> ClientConfig {
        let c = &self.consumer;
        let mut config = self.base();
        config
            .set("group.id", &c.group_id)
            // Offsets are committed by `EngineConsumer::commit_durable` only, after the
            // journal made the command durable.
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            // No transactions anywhere (Tansu does not implement them correctly): reading
            // uncommitted keeps the consumer independent of the broker's transaction state.
            .set("isolation.level", "read_uncommitted")
            // Eager rebalancing: every rebalance revokes everything, then assigns. Simpler
            // for the engine (restore gained books, drop lost ones) than cooperative.
            .set("partition.assignment.strategy", "range")
            .set("session.timeout.ms", c.session_timeout_ms.to_string())
            .set("heartbeat.interval.ms", c.heartbeat_interval_ms.to_string())
            .set("max.poll.interval.ms", c.poll_interval_ms_max.to_string())
            .set("fetch.wait.max.ms", c.fetch_wait_ms_max.to_string());
        config
    }

    /// librdkafka settings for the admin client (topic creation).
    pub fn admin_client_config(&self) -> ClientConfig {
        self.base()
    }
}

/// Room for the record and batch headers around the largest payload.
const MESSAGE_OVERHEAD_BYTES_MAX: usize = 4 * 1024;

const _: () = assert!(MESSAGE_BYTES_MAX + MESSAGE_OVERHEAD_BYTES_MAX < 1_000_000, "below the broker default");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_gets_the_security_settings_and_the_password_is_never_printed() {
        let mut config = KafkaConfig::new("b-1.example:9096");
        config.security =
            Security::Scram { mechanism: ScramMechanism::Sha512, username: "oms".into(), password: "s3cret".into() };
        for client in [config.producer_client_config(), config.consumer_client_config(), config.admin_client_config()] {
            assert_eq!(client.get("security.protocol"), Some("sasl_ssl"));
            assert_eq!(client.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
            assert_eq!((client.get("sasl.username"), client.get("sasl.password")), (Some("oms"), Some("s3cret")));
        }
        assert!(!format!("{config:?}").contains("s3cret"), "{config:?}");
        config.security = Security::Tls;
        assert_eq!(config.producer_client_config().get("security.protocol"), Some("ssl"));
        assert_eq!(config.producer_client_config().get("sasl.mechanism"), None);
        assert_eq!(KafkaConfig::new("b:9092").consumer_client_config().get("security.protocol"), None);
    }

    /// librdkafka accepts the TLS settings: it was built with TLS support.
    #[test]
    fn the_client_is_built_with_tls() {
        let mut config = KafkaConfig::new("127.0.0.1:9");
        config.security = Security::Tls;
        let producer: Result<rdkafka::producer::BaseProducer, _> = config.producer_client_config().create();
        assert!(producer.is_ok(), "{:?}", producer.err());
    }

    fn value(config: &ClientConfig, key: &str) -> String {
        config.get(key).unwrap_or_else(|| panic!("{key} is set")).to_owned()
    }

    #[test]
    fn producer_is_idempotent_and_waits_for_all_replicas() {
        let config = KafkaConfig::new("b:9092").producer_client_config();
        assert_eq!(value(&config, "enable.idempotence"), "true");
        assert_eq!(value(&config, "acks"), "all");
        assert_eq!(value(&config, "compression.type"), "lz4");
        assert_eq!(value(&config, "queue.buffering.max.messages"), "100000");
        assert_eq!(value(&config, "message.timeout.ms"), "5000");
    }

    #[test]
    fn consumer_commits_by_hand_from_the_earliest_offset() {
        let config = KafkaConfig::for_tests("b:9092").consumer_client_config();
        assert_eq!(value(&config, "enable.auto.commit"), "false");
        assert_eq!(value(&config, "enable.auto.offset.store"), "false");
        assert_eq!(value(&config, "auto.offset.reset"), "earliest");
        assert_eq!(value(&config, "isolation.level"), "read_uncommitted");
        assert_eq!(value(&config, "session.timeout.ms"), "6000");
    }

    #[test]
    fn heartbeat_fits_the_session_timeout() {
        for config in [KafkaConfig::new("b"), KafkaConfig::for_tests("b")] {
            assert!(config.consumer.heartbeat_interval_ms * 3 <= config.consumer.session_timeout_ms);
            assert!(config.producer.request_timeout_ms < config.producer.delivery_timeout_ms);
        }
    }

    #[test]
    fn a_prefix_names_every_topic_and_the_group() {
        let mut config = KafkaConfig::new("b:9092");
        config.prefix_names("blue-");
        let names: Vec<&str> = config.topics.all().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["blue-orders", "blue-executions", "blue-prices", "blue-risk-events"]);
        assert_eq!(config.consumer.group_id, "blue-oms-engine");
    }
}
