//! Integration tests against a real Kafka-protocol broker: Tansu, started by
//! `scripts/services.sh` (`OMS_TEST_KAFKA_BROKERS`), and for the outage test a private Tansu
//! this test starts on a free port and kills (`OMS_TEST_TANSU`). A missing broker fails the
//! test loudly; nothing is skipped. Every test uses its own topic and group names, so tests
//! run in parallel on one broker and a rerun starts clean.
#![allow(clippy::unwrap_used, reason = "tests")]

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use oms_kafka::messages::TopicKind;
use oms_kafka::topics::{ensure_topics, partition_for_key};
use oms_kafka::{ConsumerEvent, EngineConsumer, InboundRecord, KafkaConfig, KafkaProducer, PublishError, TailConsumer};

const HOW_TO_START: &str = "run `bash scripts/services.sh start` and `eval \"$(bash scripts/services.sh env)\"`";
/// Group joins and failovers take seconds; every wait below is bounded by this.
const WAIT: Duration = Duration::from_secs(60);
const DELIVERY_WAIT: Duration = Duration::from_secs(15);

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} not set: {HOW_TO_START}"))
}

/// The shared test broker; panics with the way to start it when it is missing.
fn brokers() -> String {
    let brokers = env("OMS_TEST_KAFKA_BROKERS");
    let address: SocketAddr = brokers
        .split(',')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("OMS_TEST_KAFKA_BROKERS={brokers:?} is not host:port"));
    if TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_err() {
        panic!("OMS_TEST_KAFKA_BROKERS={brokers} is unreachable: {HOW_TO_START}");
    }
    brokers
}

/// A config whose topics and group are private to this test.
fn private_config(brokers: &str, test: &str) -> KafkaConfig {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let suffix = format!("{test}-{}-{nanos}", std::process::id());
    let mut config = KafkaConfig::for_tests(brokers);
    for topic in [
        &mut config.topics.orders,
        &mut config.topics.executions,
        &mut config.topics.prices,
        &mut config.topics.risk_events,
    ] {
        topic.name = format!("{}-{suffix}", topic.name);
    }
    config.consumer.group_id = format!("engines-{suffix}");
    config
}

#[test]
fn topics_are_created_at_start_and_kept_after() {
    let config = private_config(&brokers(), "topics");
    let first = ensure_topics(&config).unwrap();
    let expected: Vec<(String, i32)> = config.topics.all().iter().map(|t| (t.name.clone(), t.partitions)).collect();
    assert_eq!(first.iter().map(|t| (t.name.clone(), t.partitions)).collect::<Vec<_>>(), expected);
    assert!(first.iter().all(|t| t.created), "{first:?}");
    let second = ensure_topics(&config).unwrap();
    assert!(second.iter().all(|t| !t.created), "existing topics are kept: {second:?}");
    assert_eq!(
        second.iter().map(|t| t.partitions).collect::<Vec<_>>(),
        first.iter().map(|t| t.partitions).collect::<Vec<_>>()
    );
}

#[test]
fn produce_and_consume_with_a_consumer_group() {
    let config = private_config(&brokers(), "group");
    ensure_topics(&config).unwrap();
    let producer = KafkaProducer::new(&config).unwrap();
    let symbols = ["BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD", "ADA-USD"];
    let mut sent = Vec::new();
    for i in 0..40 {
        let symbol = symbols[i % symbols.len()];
        let receipt = producer.publish(TopicKind::Orders, symbol, format!("{symbol}:{i}").as_bytes()).unwrap();
        sent.push((symbol, receipt));
    }
    for (symbol, receipt) in &sent {
        let delivered = receipt.wait(DELIVERY_WAIT).unwrap();
        assert_eq!(delivered.partition, partition_for_key(symbol.as_bytes(), config.topics.orders.partitions));
    }

    let consumer = EngineConsumer::new(&config, &config.topics.orders.name).unwrap();
    let (records, _) = common::poll_records(&consumer, 40, WAIT);
    assert_eq!(records.len(), 40);
    // Per symbol (= per partition) the order of production is kept.
    for symbol in symbols {
        let seen: Vec<usize> = records
            .iter()
            .filter_map(|r| {
                std::str::from_utf8(&r.payload).unwrap().strip_prefix(&format!("{symbol}:")).map(|n| n.parse().unwrap())
            })
            .collect();
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        assert_eq!(seen, sorted, "{symbol} in order");
    }
    for record in &records {
        assert!(consumer.mark_durable(record.partition, record.offset));
    }
    let committed = consumer.commit_durable().unwrap();
    let mut expected: Vec<(i32, i64)> = Vec::new();
    for record in &records {
        match expected.iter_mut().find(|(p, _)| *p == record.partition) {
            Some((_, next)) => *next = (*next).max(record.offset + 1),
            None => expected.push((record.partition, record.offset + 1)),
        }
    }
    expected.sort_unstable();
    assert_eq!(committed, expected);
}

#[test]
fn an_ingress_tail_sees_every_partition_of_executions() {
    let config = private_config(&brokers(), "tail");
    ensure_topics(&config).unwrap();
    let producer = KafkaProducer::new(&config).unwrap();
    producer.publish(TopicKind::Executions, "1", b"old").unwrap().wait(DELIVERY_WAIT).unwrap();
    let tail = TailConsumer::new(&config, &config.topics.executions.name).unwrap();
    let partitions = config.topics.executions.partitions;
    assert_eq!(tail.partitions(), (0..partitions).collect::<Vec<_>>());
    for partition in 0..partitions {
        let topic = &config.topics.executions.name;
        producer.publish_to(topic, Some(partition), "k", b"new").unwrap().wait(DELIVERY_WAIT).unwrap();
    }
    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    while seen.len() < partitions as usize && Instant::now() < deadline {
        if let Some(record) = tail.poll(Duration::from_millis(100)).unwrap() {
            seen.push(record);
        }
    }
    let mut got: Vec<i32> = seen.iter().map(|r| r.partition).collect();
    got.sort_unstable();
    assert_eq!(got, (0..partitions).collect::<Vec<_>>());
    assert!(seen.iter().all(|r| r.payload == b"new"), "nothing from before the tail started");
}

/// A group member on its own thread (each member must keep polling to stay in the group).
struct Member {
    assignment: Arc<Mutex<Vec<i32>>>,
    records: Arc<Mutex<Vec<InboundRecord>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Member {
    fn join(config: &KafkaConfig) -> Self {
        let assignment = Arc::new(Mutex::new(Vec::new()));
        let records = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let consumer = EngineConsumer::new(config, &config.topics.orders.name).unwrap();
        let thread = {
            let (assignment, records, stop) = (Arc::clone(&assignment), Arc::clone(&records), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    match consumer.poll(Duration::from_millis(50)) {
                        Ok(Some(ConsumerEvent::Assigned(p))) => *assignment.lock().unwrap() = p,
                        Ok(Some(ConsumerEvent::Revoked(_))) => assignment.lock().unwrap().clear(),
                        Ok(Some(ConsumerEvent::Record(r))) => {
                            consumer.mark_durable(r.partition, r.offset);
                            records.lock().unwrap().push(r);
                        }
                        Ok(None) => {}
                        Err(error) => eprintln!("member poll: {error}"),
                    }
                }
                let _ = consumer.commit_durable();
                consumer.close();
            })
        };
        Self { assignment, records, stop, thread: Some(thread) }
    }

    fn assignment(&self) -> Vec<i32> {
        self.assignment.lock().unwrap().clone()
    }

    fn leave(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out after {WAIT:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_members_share_partitions_and_a_leaver_s_partitions_move() {
    let config = private_config(&brokers(), "failover");
    ensure_topics(&config).unwrap();
    let partitions = config.topics.orders.partitions;
    let all: Vec<i32> = (0..partitions).collect();

    let a = Member::join(&config);
    wait_for("the first member to own every partition", || a.assignment() == all);
    let b = Member::join(&config);
    wait_for("the two members to split the partitions", || {
        let (pa, pb) = (a.assignment(), b.assignment());
        let mut union: Vec<i32> = pa.iter().chain(&pb).copied().collect();
        union.sort_unstable();
        !pa.is_empty() && !pb.is_empty() && union == all
    });
    let b_partitions = b.assignment();
    b.leave();
    wait_for("the leaver's partitions to move to the survivor", || a.assignment() == all);

    // The survivor now consumes what is produced to the leaver's former partitions.
    let producer = KafkaProducer::new(&config).unwrap();
    for partition in &b_partitions {
        let receipt =
            producer.publish_to(&config.topics.orders.name, Some(*partition), "k", b"after-failover").unwrap();
        receipt.wait(DELIVERY_WAIT).unwrap();
    }
    wait_for("the survivor to read the moved partitions", || {
        let records = a.records.lock().unwrap();
        b_partitions.iter().all(|p| records.iter().any(|r| r.partition == *p && r.payload == b"after-failover"))
    });
    a.leave();
}

/// Environment variable that turns [`child_group_member`] from a no-op into a group member
/// (`brokers|topic|group`) for [`a_killed_member_s_partitions_move_after_the_session_timeout`].
const CHILD_MEMBER_ENV: &str = "OMS_KAFKA_TEST_CHILD_MEMBER";
/// Longest a child member lives if nobody kills it.
const CHILD_LIFETIME: Duration = Duration::from_secs(120);

/// Helper run in a child process by the kill test (this same test binary, re-executed);
/// without [`CHILD_MEMBER_ENV`] it has nothing to do. It joins the group and prints its
/// assignment on every change until it is killed.
#[test]
fn child_group_member() {
    let Ok(spec) = std::env::var(CHILD_MEMBER_ENV) else { return };
    let mut parts = spec.split('|');
    let (brokers, topic, group) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let mut config = KafkaConfig::for_tests(brokers);
    config.consumer.group_id = group.to_owned();
    let consumer = EngineConsumer::new(&config, topic).unwrap();
    let deadline = Instant::now() + CHILD_LIFETIME;
    while Instant::now() < deadline {
        if let Ok(Some(ConsumerEvent::Assigned(partitions))) = consumer.poll(Duration::from_millis(50)) {
            println!("assigned {partitions:?}");
        }
    }
}

#[test]
fn a_killed_member_s_partitions_move_after_the_session_timeout() {
    let config = private_config(&brokers(), "kill");
    ensure_topics(&config).unwrap();
    let all: Vec<i32> = (0..config.topics.orders.partitions).collect();
    let a = Member::join(&config);
    wait_for("the first member to own every partition", || a.assignment() == all);

    let spec = format!("{}|{}|{}", config.brokers, config.topics.orders.name, config.consumer.group_id);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_group_member", "--nocapture", "--test-threads=1"])
        .env(CHILD_MEMBER_ENV, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child_assignment = Arc::new(Mutex::new(String::new()));
    {
        let stdout = child.stdout.take().unwrap();
        let child_assignment = Arc::clone(&child_assignment);
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                // The harness prints "test child_group_member ... " before the first line.
                if let Some((_, partitions)) = line.split_once("assigned ") {
                    *child_assignment.lock().unwrap() = partitions.to_owned();
                }
            }
        });
    }
    wait_for("the child process to take a share", || {
        let theirs = child_assignment.lock().unwrap().clone();
        !theirs.is_empty() && theirs != "[]" && !a.assignment().is_empty() && a.assignment().len() < all.len()
    });

    // SIGKILL: no leave-group message; the group notices only when the session times out.
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = Instant::now();
    wait_for("the killed member's partitions to move to the survivor", || a.assignment() == all);
    let failover = killed.elapsed();
    eprintln!("failover after SIGKILL: {failover:?} (session timeout {} ms)", config.consumer.session_timeout_ms);
    a.leave();
}

/// A private Tansu on a free port, killed on drop.
struct PrivateBroker {
    child: Child,
    address: String,
}

impl PrivateBroker {
    fn start() -> Self {
        let tansu = env("OMS_TEST_TANSU");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&tansu)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {tansu}: {e}; {HOW_TO_START}"));
        let address = format!("127.0.0.1:{port}");
        let broker = Self { child, address };
        wait_for("the private broker to listen", || TcpStream::connect(&broker.address).is_ok());
        broker
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn a_broker_outage_fills_the_bounded_queue_then_refuses_and_reports_every_message() {
    let mut broker = PrivateBroker::start();
    let mut config = private_config(&broker.address, "outage");
    config.producer.queue_messages_max = 50;
    config.producer.delivery_timeout_ms = 3_000;
    config.producer.request_timeout_ms = 2_000;
    ensure_topics(&config).unwrap();
    let producer = KafkaProducer::new(&config).unwrap();
    producer.publish(TopicKind::Orders, "BTC-USD", b"before").unwrap().wait(DELIVERY_WAIT).unwrap();

    broker.kill();
    let mut receipts = Vec::new();
    let refused = loop {
        match producer.publish(TopicKind::Orders, "BTC-USD", b"during") {
            Ok(receipt) => receipts.push(receipt),
            Err(error) => break error,
        }
        assert!(receipts.len() <= 50, "the queue bound holds");
    };
    assert_eq!(refused, PublishError::Backpressure, "a full queue is refused at once, not blocked on");
    assert_eq!(receipts.len(), 50);
    for receipt in &receipts {
        let outcome = receipt.wait(DELIVERY_WAIT);
        assert!(matches!(outcome, Err(PublishError::Unavailable(_))), "reported undelivered: {outcome:?}");
    }
    let stats = producer.stats();
    assert_eq!(stats.sent, stats.delivered + stats.failed, "every message accounted for: {stats:?}");
    assert_eq!((stats.delivered, stats.failed, stats.in_flight, stats.backpressure), (1, 50, 0, 1));
}
