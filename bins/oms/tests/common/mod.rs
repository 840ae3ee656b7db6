//! Helpers for tests that run `oms serve` as a process against real Redis/MongoDB servers
//! started by `scripts/services.sh` (never mocks). Waits poll a condition with a deadline.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod db;

pub const OMS: &str = env!("CARGO_BIN_EXE_oms");

/// A service URL or binary path from the environment, or a loud failure saying how to get it.
pub fn service_env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} not set: run `bash scripts/services.sh start` and `eval \"$(bash scripts/services.sh env)\"` \
             (scripts/test.sh does both)"
        )
    })
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A name no other test run uses (databases, idempotency keys).
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
    format!("{prefix}{}x{nanos:x}", std::process::id())
}

/// Polls `condition` until it returns `Some` or the deadline passes (then panics with `what`).
pub fn eventually<T>(what: &str, timeout: Duration, mut condition: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = condition() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn replayed(&self) -> bool {
        self.headers.to_ascii_lowercase().contains("idempotency-replayed: true")
    }
}

/// One HTTP/1.1 request over a fresh connection.
pub fn http(port: u16, method: &str, path: &str, key: Option<&str>, idempotency: Option<&str>, body: &str) -> Reply {
    try_http(port, method, path, key, idempotency, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

pub fn try_http(
    port: u16,
    method: &str,
    path: &str,
    key: Option<&str>,
    idempotency: Option<&str>,
    body: &str,
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    let idem = idempotency.map(|k| format!("Idempotency-Key: {k}\r\n")).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}{idem}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (headers, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Ok(Reply { status, headers: headers.to_owned(), body: body.to_owned() })
}

/// A running `oms serve --demo` (no liquidity bot) with extra flags.
pub struct Oms {
    pub port: u16,
    pub data: PathBuf,
    child: Child,
    log: PathBuf,
}

impl Oms {
    pub fn start(data: &Path, log: &Path, extra: &[&str]) -> Oms {
        let port = free_port();
        let log_file = std::fs::File::create(log).expect("log file");
        let child = Command::new(OMS)
            .args(["serve", "--demo", "--demo-liquidity", "false", "--log", "info"])
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data)
            .arg("--static-dir")
            .arg(data.join("no-dashboard"))
            .args(extra)
            .stdout(Stdio::from(log_file.try_clone().expect("clone")))
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("spawn oms");
        let mut oms = Oms { port, data: data.to_path_buf(), child, log: log.to_path_buf() };
        let started = Instant::now();
        while try_http(port, "GET", "/ready", None, None, "").map(|r| r.status).ok() != Some(200) {
            if let Ok(Some(status)) = oms.child.try_wait() {
                panic!("oms exited with {status}: {}", std::fs::read_to_string(log).unwrap_or_default());
            }
            assert!(started.elapsed() < Duration::from_secs(60), "oms did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        oms
    }

    /// The demo API key of `account` (1 is the admin).
    pub fn key(&self, account: u32) -> String {
        let text = std::fs::read_to_string(self.data.join("demo-accounts.json")).expect("demo accounts");
        let accounts: Value = serde_json::from_str(&text).expect("demo accounts JSON");
        accounts
            .as_array()
            .expect("array")
            .iter()
            .find(|a| a["accountId"].as_str() == Some(account.to_string().as_str()))
            .and_then(|a| a["apiKey"].as_str())
            .expect("account listed")
            .to_owned()
    }

    /// `/ready` as JSON.
    pub fn ready(&self) -> Value {
        http(self.port, "GET", "/ready", None, None, "").json()
    }

    /// One gauge from `/metrics`.
    pub fn metric(&self, name: &str) -> f64 {
        let text = http(self.port, "GET", "/metrics", None, None, "").body;
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("metric {name} missing"))
    }

    /// Places a limit order; returns the reply.
    pub fn place(&self, key: &str, idempotency: Option<&str>, side: &str, price: &str, quantity: &str) -> Reply {
        let body = format!(
            r#"{{"symbol":"BTC-USD","side":"{side}","type":"limit","price":"{price}","quantity":"{quantity}"}}"#
        );
        http(self.port, "POST", "/api/orders", Some(key), idempotency, &body)
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "oms exited with {status}: {}", self.log_text());
                return;
            }
            assert!(Instant::now() < deadline, "oms did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Oms {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private server process this test owns (killed by PID on drop), for outage tests.
pub struct Private {
    pub port: u16,
    child: Option<Child>,
    program: String,
    args: Vec<String>,
}

impl Private {
    /// Starts `program args…` (with `{port}` substituted) and waits until `ping` succeeds.
    pub fn start(program: &str, args: &[&str], port: u16, ping: impl Fn(u16) -> bool) -> Private {
        let mut private = Private {
            port,
            child: None,
            program: program.to_owned(),
            args: args.iter().map(|a| a.replace("{port}", &port.to_string())).collect(),
        };
        private.restart(ping);
        private
    }

    pub fn restart(&mut self, ping: impl Fn(u16) -> bool) {
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", self.program));
        self.child = Some(child);
        let port = self.port;
        eventually(&format!("{} answering on {port}", self.program), Duration::from_secs(30), || {
            ping(port).then_some(())
        });
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The Kafka test broker of `scripts/services.sh`, or a loud failure saying how to start it.
pub fn kafka_brokers() -> String {
    let brokers = service_env("OMS_TEST_KAFKA_BROKERS");
    std::net::TcpStream::connect(&brokers).unwrap_or_else(|e| {
        panic!("Kafka broker at {brokers} unreachable ({e}): run `bash scripts/services.sh start`")
    });
    brokers
}

/// Client settings of a test run: its own `prefix` on every topic, `partitions` on
/// `orders` and `executions`, and a producer that rides out the test broker's stalls.
pub fn kafka_test_config(brokers: &str, prefix: &str, partitions: i32) -> oms_kafka::KafkaConfig {
    let mut config = oms_kafka::KafkaConfig::for_tests(brokers);
    config.prefix_names(prefix);
    config.topics.orders.partitions = partitions;
    config.topics.executions.partitions = partitions;
    // The test broker can stall for a few seconds under load; let the producer retry.
    config.producer.delivery_timeout_ms = 30_000;
    config
}

/// Partitions whose shard the engine that wrote `log` (its JSON log lines) has open now:
/// its "shard open" lines minus its "shard closed" lines.
pub fn shards_open(log: &str) -> std::collections::BTreeSet<i32> {
    let mut open = std::collections::BTreeSet::new();
    for line in log.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else { continue };
        let partition = entry["fields"]["partition"].as_i64().and_then(|p| i32::try_from(p).ok());
        match (entry["fields"]["message"].as_str(), partition) {
            (Some("shard open"), Some(p)) => {
                open.insert(p);
            }
            (Some("shard closed"), Some(p)) => {
                open.remove(&p);
            }
            _ => {}
        }
    }
    open
}

/// A child process killed when the test ends, passed or failed (no stray servers).
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
