//! Command line, `OMS_*` environment variables and an optional TOML file, in that order of
//! precedence: a flag beats its variable, which beats the file, which beats the default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use oms_core::engine::EngineConfig;
use oms_core::journal::FsyncPolicy;
use oms_core::model::RiskLimits;
use serde::Deserialize;

/// The OMS: engine, HTTP/WebSocket API and dashboard in one binary.
#[derive(Debug, Parser)]
#[command(name = "oms", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the OMS (engine, HTTP/WS API, dashboard).
    Serve(Box<ServeFlags>),
    /// Recover a data directory and print its state hash and counts.
    Replay {
        /// Data directory (journal and snapshots).
        #[arg(long, env = "OMS_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
    },
}

/// Flags of `oms serve`; every one can also come from `OMS_<NAME>` or the TOML file.
#[derive(Debug, Args)]
pub struct ServeFlags {
    /// TOML file with any of the settings below (flag and env take precedence).
    #[arg(long, env = "OMS_CONFIG")]
    pub config: Option<PathBuf>,
    /// HTTP listen address.
    #[arg(long, env = "OMS_LISTEN")]
    pub listen: Option<String>,
    /// Journal and snapshots directory.
    #[arg(long, env = "OMS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Load the demo market (instruments, funded accounts, API keys) and run the liquidity bot.
    #[arg(long, env = "OMS_DEMO", num_args = 0..=1, default_missing_value = "true")]
    pub demo: Option<bool>,
    /// Market definition (assets, instruments, opening balances) a new journal starts
    /// with; TOML, see `bins/oms/src/market.rs`. `--demo` brings its own.
    #[arg(long, env = "OMS_MARKET")]
    pub market: Option<PathBuf>,
    /// API keys (TOML: account, key or its sha256, admin), typically mounted from a
    /// Secret; added to the demo keys with `--demo`.
    #[arg(long, env = "OMS_API_KEYS")]
    pub api_keys: Option<PathBuf>,
    /// With --demo: run the liquidity bot (default true).
    #[arg(long, env = "OMS_DEMO_LIQUIDITY", num_args = 0..=1, default_missing_value = "true")]
    pub demo_liquidity: Option<bool>,
    /// What an acknowledgement promises: `batch`, `interval:<ms>` or `none`.
    #[arg(long, env = "OMS_FSYNC")]
    pub fsync: Option<String>,
    /// Service role: `all` (everything in one process) or, with --kafka, `ingress` (HTTP
    /// to `orders`), `engine` (the shards of the `orders` partitions this process is
    /// assigned) or `persister` (`executions` and `risk-events` to MongoDB; needs --mongo).
    #[arg(long, env = "OMS_ROLE")]
    pub role: Option<String>,
    /// Binary TCP order-entry gateway address (docs/binary-protocol.md); off when absent.
    #[arg(long, env = "OMS_TCP_LISTEN")]
    pub tcp_listen: Option<String>,
    /// Kafka bootstrap brokers (`host:port,host:port`), for the split roles.
    #[arg(long, env = "OMS_KAFKA")]
    pub kafka: Option<String>,
    /// Partitions of `orders` (= engine shards) when the topics are created (default 12).
    #[arg(long, env = "OMS_KAFKA_PARTITIONS")]
    pub kafka_partitions: Option<i32>,
    /// Replication factor of topics created at start (default 3; 1 on a single broker).
    #[arg(long, env = "OMS_KAFKA_REPLICATION")]
    pub kafka_replication: Option<i32>,
    /// Consumer-group session timeout: how long a silent engine keeps its partitions
    /// (default 10000).
    #[arg(long, env = "OMS_KAFKA_SESSION_TIMEOUT_MS")]
    pub kafka_session_timeout_ms: Option<u32>,
    /// Prefix of every topic and consumer-group name (several deployments on one cluster).
    #[arg(long, env = "OMS_KAFKA_TOPIC_PREFIX")]
    pub kafka_topic_prefix: Option<String>,
    /// Longest time a broker may hold a consumer fetch waiting for data (default 50). Kafka
    /// answers as soon as data arrives; brokers that do not (the test broker) add up to this
    /// much latency per hop.
    #[arg(long, env = "OMS_KAFKA_FETCH_WAIT_MS")]
    pub kafka_fetch_wait_ms: Option<u32>,
    /// How long a producer batch may wait for more messages, `linger.ms` (default 2). Longer
    /// batches cost the broker fewer requests per message, so a broker short of CPU answers
    /// sooner under load; at low rates every message waits this long on each hop
    /// (docs/benchmarks.md §7.1 measures both).
    #[arg(long, env = "OMS_KAFKA_LINGER_MS")]
    pub kafka_linger_ms: Option<u32>,
    /// Transport security to the brokers: `plaintext` (default), `tls`, or `scram-sha-512` /
    /// `scram-sha-256` (TLS + SASL/SCRAM, Amazon MSK's `scram` mode on port 9096).
    #[arg(long, env = "OMS_KAFKA_SECURITY")]
    pub kafka_security: Option<String>,
    /// SASL/SCRAM user (with --kafka-security scram-*).
    #[arg(long, env = "OMS_KAFKA_SASL_USERNAME")]
    pub kafka_sasl_username: Option<String>,
    /// SASL/SCRAM password; give it as the environment variable (from a Secret), since a
    /// flag shows in the process list.
    #[arg(long, env = "OMS_KAFKA_SASL_PASSWORD", hide_env_values = true)]
    pub kafka_sasl_password: Option<String>,
    /// Redis URL (`redis://host:port`): cross-process idempotency keys and read caches.
    #[arg(long, env = "OMS_REDIS")]
    pub redis: Option<String>,
    /// MongoDB URL (`mongodb://host:port`): write-behind persistence and older history.
    #[arg(long, env = "OMS_MONGO")]
    pub mongo: Option<String>,
    /// Directory of the built dashboard.
    #[arg(long, env = "OMS_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// Log filter (tracing `EnvFilter` syntax).
    #[arg(long, env = "OMS_LOG")]
    pub log: Option<String>,
    /// HTTP worker threads.
    #[arg(long, env = "OMS_HTTP_THREADS")]
    pub http_threads: Option<usize>,
    /// `--role ingress`: commands waiting for their decision at most; beyond it the ingress
    /// answers 503 at once instead of queueing (default 2048: about the measured capacity
    /// times the latency worth waiting for).
    #[arg(long, env = "OMS_INGRESS_DECISIONS_MAX")]
    pub ingress_decisions_max: Option<usize>,
    /// Orders the HTTP layer keeps in memory; older finished ones are served from MongoDB
    /// (with --mongo) or dropped.
    #[arg(long, env = "OMS_HISTORY_ORDERS_MAX")]
    pub history_orders_max: Option<usize>,
}

/// The same settings as read from TOML.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    demo: Option<bool>,
    market: Option<PathBuf>,
    api_keys: Option<PathBuf>,
    demo_liquidity: Option<bool>,
    fsync: Option<String>,
    role: Option<String>,
    tcp_listen: Option<String>,
    kafka: Option<String>,
    kafka_partitions: Option<i32>,
    kafka_replication: Option<i32>,
    kafka_session_timeout_ms: Option<u32>,
    kafka_topic_prefix: Option<String>,
    kafka_fetch_wait_ms: Option<u32>,
    kafka_linger_ms: Option<u32>,
    kafka_security: Option<String>,
    kafka_sasl_username: Option<String>,
    redis: Option<String>,
    mongo: Option<String>,
    static_dir: Option<PathBuf>,
    log: Option<String>,
    http_threads: Option<usize>,
    history_orders_max: Option<usize>,
    ingress_decisions_max: Option<usize>,
}

/// Resolved settings of `oms serve`.
#[derive(Debug)]
pub struct ServeArgs {
    pub listen: String,
    pub data_dir: PathBuf,
    pub demo: bool,
    pub market: Option<PathBuf>,
    pub api_keys: Option<PathBuf>,
    pub demo_liquidity: bool,
    pub fsync: FsyncPolicy,
    pub role: String,
    pub kafka: Option<KafkaArgs>,
    pub redis: Option<String>,
    pub mongo: Option<String>,
    pub static_dir: PathBuf,
    pub tcp_listen: Option<SocketAddr>,
    pub log: String,
    pub http_threads: usize,
    pub history_orders_max: usize,
    pub ingress_decisions_max: usize,
}

impl ServeFlags {
    /// Merges flags/env over the file over defaults and validates.
    pub fn resolve(self) -> anyhow::Result<ServeArgs> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let listen = self.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".into());
        listen
            .parse::<SocketAddr>()
            .with_context(|| format!("--listen {listen:?} is not an address like 127.0.0.1:8080"))?;
        let fsync_text = self.fsync.or(file.fsync).unwrap_or_else(|| "batch".into());
        let fsync = fsync_text.parse::<FsyncPolicy>().map_err(|e| anyhow::anyhow!("--fsync: {e}"))?;
        let role = self.role.or(file.role).unwrap_or_else(|| "all".into());
        anyhow::ensure!(
            matches!(role.as_str(), "all" | "ingress" | "engine" | "persister"),
            "--role must be all, ingress, engine or persister"
        );
        let ingress_decisions_max = self.ingress_decisions_max.or(file.ingress_decisions_max).unwrap_or(2_048);
        anyhow::ensure!(
            (1..=1_000_000).contains(&ingress_decisions_max),
            "--ingress-decisions-max must be 1..=1000000"
        );
        let http_threads = self.http_threads.or(file.http_threads).unwrap_or(2);
        anyhow::ensure!((1..=64).contains(&http_threads), "--http-threads must be 1..=64");
        let tcp_listen = match self.tcp_listen.or(file.tcp_listen) {
            Some(text) => Some(
                text.parse::<SocketAddr>()
                    .with_context(|| format!("--tcp-listen {text:?} is not an address like 127.0.0.1:9000"))?,
            ),
            None => None,
        };
        let demo = self.demo.or(file.demo).unwrap_or(false);
        let market = self.market.or(file.market);
        anyhow::ensure!(
            !(demo && market.is_some()),
            "--demo brings its own market: give either --demo or --market, not both"
        );
        Ok(ServeArgs {
            listen,
            data_dir: self.data_dir.or(file.data_dir).unwrap_or_else(|| "./data".into()),
            demo,
            market,
            api_keys: self.api_keys.or(file.api_keys),
            demo_liquidity: self.demo_liquidity.or(file.demo_liquidity).unwrap_or(true),
            fsync,
            role,
            kafka: match self.kafka.or(file.kafka) {
                Some(brokers) => Some(KafkaArgs::new(
                    brokers,
                    KafkaTuningFlags {
                        partitions: self.kafka_partitions.or(file.kafka_partitions),
                        replication: self.kafka_replication.or(file.kafka_replication),
                        session_timeout_ms: self.kafka_session_timeout_ms.or(file.kafka_session_timeout_ms),
                        prefix: self.kafka_topic_prefix.or(file.kafka_topic_prefix),
                        fetch_wait_ms: self.kafka_fetch_wait_ms.or(file.kafka_fetch_wait_ms),
                        linger_ms: self.kafka_linger_ms.or(file.kafka_linger_ms),
                    },
                    security(
                        self.kafka_security.or(file.kafka_security).as_deref(),
                        self.kafka_sasl_username.or(file.kafka_sasl_username),
                        self.kafka_sasl_password,
                    )?,
                )?),
                None => None,
            },
            redis: self.redis.or(file.redis),
            mongo: self.mongo.or(file.mongo),
            static_dir: self.static_dir.or(file.static_dir).unwrap_or_else(|| "frontend/dist".into()),
            tcp_listen,
            log: self.log.or(file.log).unwrap_or_else(|| "info".into()),
            http_threads,
            history_orders_max: self
                .history_orders_max
                .or(file.history_orders_max)
                .unwrap_or(oms_http::history::HISTORY_ORDERS_MAX)
                .max(1),
            ingress_decisions_max,
        })
    }
}

/// Kafka settings of the split roles.
#[derive(Debug)]
pub struct KafkaArgs {
    /// Client settings, topics included.
    pub config: oms_kafka::KafkaConfig,
}

/// The `--kafka-*` tuning flags (CLI over file), each optional: absent means the adapter's
/// default.
struct KafkaTuningFlags {
    partitions: Option<i32>,
    replication: Option<i32>,
    session_timeout_ms: Option<u32>,
    prefix: Option<String>,
    fetch_wait_ms: Option<u32>,
    linger_ms: Option<u32>,
}

impl KafkaArgs {
    fn new(brokers: String, flags: KafkaTuningFlags, security: oms_kafka::Security) -> anyhow::Result<Self> {
        let KafkaTuningFlags { partitions, replication, session_timeout_ms, prefix, fetch_wait_ms, linger_ms } = flags;
        anyhow::ensure!(!brokers.trim().is_empty(), "--kafka needs at least one broker address");
        let mut config = oms_kafka::KafkaConfig::new(&brokers);
        config.security = security;
        if let Some(partitions) = partitions {
            anyhow::ensure!((1..=1_024).contains(&partitions), "--kafka-partitions must be 1..=1024");
            config.topics.orders.partitions = partitions;
            config.topics.executions.partitions = partitions;
        }
        if let Some(replication) = replication {
            anyhow::ensure!((1..=7).contains(&replication), "--kafka-replication must be 1..=7");
            config.topics.replication_factor = replication;
        }
        if let Some(timeout) = session_timeout_ms {
            anyhow::ensure!((1_000..=300_000).contains(&timeout), "--kafka-session-timeout-ms must be 1000..=300000");
            config.consumer.session_timeout_ms = timeout;
            config.consumer.heartbeat_interval_ms = (timeout / 10).max(100);
        }
        if let Some(wait) = fetch_wait_ms {
            anyhow::ensure!((1..=500).contains(&wait), "--kafka-fetch-wait-ms must be 1..=500");
            config.consumer.fetch_wait_ms_max = wait;
        }
        if let Some(linger) = linger_ms {
            anyhow::ensure!(linger <= 1_000, "--kafka-linger-ms must be 0..=1000");
            config.producer.linger_ms = linger;
        }
        if let Some(prefix) = prefix {
            anyhow::ensure!(
                prefix.len() <= 64 && prefix.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
                "--kafka-topic-prefix must be at most 64 of [A-Za-z0-9._-]"
            );
            config.prefix_names(&prefix);
        }
        Ok(Self { config })
    }
}

/// `--kafka-security` with its credentials. The password is never read from the TOML file
/// (files get copied around); SCRAM without both credentials is refused, as are
/// credentials without SCRAM (a typo would otherwise connect unauthenticated).
fn security(
    mode: Option<&str>,
    username: Option<String>,
    password: Option<String>,
) -> anyhow::Result<oms_kafka::Security> {
    use oms_kafka::{ScramMechanism, Security};
    let mechanism = match mode.unwrap_or("plaintext") {
        "plaintext" | "tls" => None,
        "scram-sha-512" => Some(ScramMechanism::Sha512),
        "scram-sha-256" => Some(ScramMechanism::Sha256),
        other => anyhow::bail!("--kafka-security {other:?}: must be plaintext, tls, scram-sha-512 or scram-sha-256"),
    };
    match (mechanism, username, password) {
        (Some(mechanism), Some(username), Some(password)) if !username.is_empty() && !password.is_empty() => {
            Ok(Security::Scram { mechanism, username, password })
        }
        (Some(_), _, _) => {
            anyhow::bail!("--kafka-security scram-* needs --kafka-sasl-username and OMS_KAFKA_SASL_PASSWORD")
        }
        (None, None, None) => Ok(if mode == Some("tls") { Security::Tls } else { Security::Plaintext }),
        (None, _, _) => anyhow::bail!("SASL credentials given without --kafka-security scram-sha-512 or scram-sha-256"),
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Engine capacities of the packaged service.
pub fn engine_config() -> EngineConfig {
    EngineConfig {
        instruments_max: 16,
        assets_max: 32,
        accounts_max: 100_000,
        book_orders_max: 1 << 16,
        stop_orders_max: 1 << 12,
        default_limits: RiskLimits::PERMISSIVE,
    }
}
