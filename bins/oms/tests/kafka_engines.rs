//! Scale-out on one machine against the real Kafka-protocol broker (Tansu, from
//! `scripts/services.sh`): two `oms serve --role engine` processes share the `orders`
//! partitions (one shard each, via the consumer group); the test plays the ingress,
//! publishing orders on three symbols and reading decisions from `executions`. One engine
//! is SIGKILLed mid-run; the survivor takes its partitions, restores their books from the
//! shard journals, and carries on. Every command gets a decision; no order is applied twice
//! (checked on `executions` and by replaying every shard journal afterwards); order ids name
//! their shard. A second test puts `oms serve --role ingress` in front: HTTP orders go
//! through Kafka to the engines and back, across an engine kill.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

use common::Process;
use std::time::{Duration, Instant};

use oms_core::prelude::*;
use oms_kafka::messages::TopicKind;
use oms_kafka::{KafkaProducer, TailConsumer};
use serde_json::Value;

const OMS: &str = env!("CARGO_BIN_EXE_oms");
const PARTITIONS: i32 = 4;
const SYMBOLS: [&str; 3] = ["BTC-USD", "ETH-USD", "SOL-USD"];
/// Commands before the kill and after it.
const COMMANDS_PER_PHASE: usize = 150;

fn engine(brokers: &str, prefix: &str, data: &Path, log: &Path) -> Process {
    // Its probes on a port of its own (two engines share this host).
    role("engine", brokers, prefix, data, log, &["--listen", "127.0.0.1:0"])
}

fn role(role: &str, brokers: &str, prefix: &str, data: &Path, log: &Path, extra: &[&str]) -> Process {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
    let child = Command::new(OMS)
        .args(["serve", "--role", role, "--demo", "--kafka", brokers, "--kafka-topic-prefix", prefix])
        .args(extra)
        .args(["--kafka-partitions", &PARTITIONS.to_string(), "--kafka-replication", "1"])
        .args(["--kafka-session-timeout-ms", "6000", "--log", "info"])
        .arg("--data-dir")
        .arg(data)
        .stdout(Stdio::from(log.try_clone().expect("clone")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn oms");
    Process(child)
}

/// Partitions whose shard the engine writing `log` has open now.
fn owned(log: &Path) -> BTreeSet<i32> {
    common::shards_open(&std::fs::read_to_string(log).unwrap_or_default())
}

fn new_order(command_id: &str, account: u32, symbol: &str, buy: bool, n: usize) -> String {
    let (price, quantity) = match symbol {
        "BTC-USD" => ("60000", "0.01"),
        "ETH-USD" => ("3000", "0.1"),
        _ => ("150", "1"),
    };
    serde_json::json!({
        "type": "newOrder", "v": 1, "commandId": command_id, "accountId": account.to_string(),
        "symbol": symbol, "side": if buy { "buy" } else { "sell" }, "orderType": "limit",
        "price": price, "stopPrice": null, "quantity": quantity, "timeInForce": "GTC",
        "expireTime": null, "postOnly": false, "reduceOnly": false,
        "clientOrderId": format!("k-{n}"), "selfTradePrevention": "none"
    })
    .to_string()
}

/// What `executions` said, by the command's position on `orders`.
#[derive(Default)]
struct Decisions {
    /// `commandResult` (order id, status) per `(partition, offset)`: every copy, so a
    /// republished decision that contradicts the first one shows.
    results: BTreeMap<(i64, String), BTreeSet<(String, String)>>,
    /// Results that still carried their command id.
    with_command_id: usize,
    /// Order ids accepted per client order id.
    accepted: BTreeMap<String, BTreeSet<String>>,
    fills: usize,
}

impl Decisions {
    fn observe(&mut self, message: &Value) {
        let text = |name: &str| message[name].as_str().unwrap_or_default().to_owned();
        match message["type"].as_str() {
            Some("commandResult") if message["ordersPartition"].is_i64() => {
                let position = (message["ordersPartition"].as_i64().unwrap_or(-1), text("ordersOffset"));
                self.results.entry(position).or_default().insert((text("orderId"), text("status")));
                self.with_command_id += usize::from(!text("commandId").is_empty());
            }
            Some("orderAccepted") => {
                self.accepted.entry(text("clientOrderId")).or_default().insert(text("orderId"));
            }
            Some("fill") => self.fills += 1,
            _ => {}
        }
    }
}

fn drain(
    tail: &TailConsumer,
    decisions: &mut Decisions,
    until: impl Fn(&Decisions) -> bool,
    what: &str,
    logs: &dyn Fn() -> String,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !until(decisions) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {} decisions; logs:\n{}",
            decisions.results.len(),
            logs()
        );
        if let Some(record) = tail.poll(Duration::from_millis(100)).expect("executions tail") {
            let message: Value = serde_json::from_slice(&record.payload).expect("executions message is JSON");
            decisions.observe(&message);
        }
    }
}

#[test]
fn two_engines_share_partitions_and_the_survivor_restores_a_killed_ones_books() {
    let brokers = common::kafka_brokers();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let prefix = format!("t{}-{nanos}-", std::process::id());
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let config = common::kafka_test_config(&brokers, &prefix, PARTITIONS);
    oms_kafka::topics::ensure_topics(&config).expect("topics");
    let tail = TailConsumer::new(&config, &config.topics.executions.name).expect("executions tail");
    let producer = KafkaProducer::new(&config).expect("producer");
    let (log_a, log_b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let engines = [engine(&brokers, &prefix, &data, &log_a), engine(&brokers, &prefix, &data, &log_b)];

    let logs = || {
        let read = |log: &Path| std::fs::read_to_string(log).unwrap_or_default();
        format!("--- a\n{}--- b\n{}", read(&log_a), read(&log_b))
    };
    let partitions_of = |log: &Path| {
        std::fs::read_to_string(log).unwrap_or_default().lines().filter(|l| l.contains("shard open")).count()
    };
    let mut decisions = Decisions::default();
    let producer = std::sync::Arc::new(producer);
    // Publishes orders `from..from + count`, `pause` apart (load shaping, not correctness);
    // returns their positions on `orders` once the broker has them.
    let send = |from: usize, count: usize, pause: Duration| {
        let producer = std::sync::Arc::clone(&producer);
        std::thread::spawn(move || {
            let receipts: Vec<_> = (from..from + count)
                .map(|n| {
                    let symbol = SYMBOLS[n % SYMBOLS.len()];
                    // Accounts 1 and 2 buy, 3 and 4 sell at one price: resting orders and trades.
                    let account = 1 + (n / SYMBOLS.len() % 4) as u32;
                    let payload = new_order(&format!("cmd-{n}"), account, symbol, account <= 2, n);
                    std::thread::sleep(pause);
                    producer.publish(TopicKind::Orders, symbol, payload.as_bytes()).expect("queued")
                })
                .collect();
            receipts
                .into_iter()
                .map(|r| {
                    let at = r.wait(Duration::from_secs(30)).expect("the broker has the command");
                    (i64::from(at.partition), at.offset.to_string())
                })
                .collect::<Vec<_>>()
        })
    };
    let first = send(0, COMMANDS_PER_PHASE, Duration::ZERO).join().expect("publisher");
    drain(&tail, &mut decisions, |d| first.iter().all(|p| d.results.contains_key(p)), "the first decisions", &logs);
    // Both engines hold shards and every partition has an owner *now* (no symbol may map to
    // some of them, so wait for the logs). Wait for it rather than read the logs once: an
    // engine that joins the group late starts a rebalance that closes every shard and
    // opens them again.
    let deadline = Instant::now() + Duration::from_secs(60);
    let shared_out = || {
        let (in_a, in_b) = (owned(&log_a), owned(&log_b));
        !in_a.is_empty() && !in_b.is_empty() && in_a.union(&in_b).count() == PARTITIONS as usize
    };
    while !shared_out() {
        assert!(Instant::now() < deadline, "the shards never settled over both engines: {}", logs());
        std::thread::sleep(Duration::from_millis(50));
    }

    // Kill engine a while the second half is in flight: some of its commands are journaled
    // but not yet published or committed when it dies.
    // The victim is the engine that owns BTC-USD's shard, so the kill hits live traffic.
    let btc = oms_kafka::topics::partition_for_key(b"BTC-USD", PARTITIONS);
    let victim = usize::from(!owned(&log_a).contains(&btc));
    assert!(owned([&log_a, &log_b][victim]).contains(&btc), "someone owns {btc}: {}", logs());
    let [mut a, mut b] = engines;
    if victim == 1 {
        std::mem::swap(&mut a, &mut b);
    }
    let survivor_log = [&log_b, &log_a][victim];
    let opened_before = partitions_of(survivor_log);
    let second = send(COMMANDS_PER_PHASE, COMMANDS_PER_PHASE, Duration::from_millis(20));
    drain(&tail, &mut decisions, |d| d.results.len() >= COMMANDS_PER_PHASE + 30, "the second half to start", &logs);
    a.0.kill().expect("SIGKILL the victim");
    a.0.wait().expect("reap");
    let second = second.join().expect("publisher");
    drain(&tail, &mut decisions, |d| second.iter().all(|p| d.results.contains_key(p)), "every decision", &logs);
    // A new owner republishes what the victim journaled before it logs the shard open, so
    // every decision can be in before the survivor's log says it owns the shard.
    let took_over = || partitions_of(survivor_log) > opened_before && owned(survivor_log).contains(&btc);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !took_over() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(took_over(), "the survivor opened the victim's shards, {btc} among them: {}", logs());

    // Every command decided, consistently, by position; nothing applied twice.
    assert_eq!(decisions.results.len(), 2 * COMMANDS_PER_PHASE);
    assert!(decisions.with_command_id > 0);
    let copies: usize = decisions.results.values().map(BTreeSet::len).sum();
    eprintln!(
        "{} commands decided ({} commandResult copies with a command id), {} fills",
        decisions.results.len(),
        decisions.with_command_id,
        decisions.fills
    );
    let _ = copies;
    for (command, results) in &decisions.results {
        assert_eq!(results.len(), 1, "{command:?} has contradicting decisions: {results:?}");
        let (order_id, status) = results.iter().next().expect("one");
        assert_ne!(status, "REJECTED", "{command:?} was refused");
        let order_id: u64 = order_id.parse().expect("numeric order id");
        let shard = (order_id >> 40) - 1;
        assert_eq!(shard, command.0 as u64, "{command:?}: order id {order_id} names another shard");
    }
    for (client_order_id, orders) in &decisions.accepted {
        assert_eq!(orders.len(), 1, "{client_order_id} accepted as several orders: {orders:?}");
    }
    assert!(decisions.fills > 20, "the flow must trade ({} fills)", decisions.fills);

    // Stop the survivor cleanly (it snapshots its shards), then replay every shard journal:
    // each client order id was accepted exactly once across all shards.
    Command::new("kill").args(["-TERM", &b.0.id().to_string()]).status().expect("kill -TERM");
    let deadline = Instant::now() + Duration::from_secs(60);
    while b.0.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "engine b did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let journaled = journaled_orders(&data);
    assert_eq!(journaled.len(), 2 * COMMANDS_PER_PHASE, "every order is in exactly one shard journal");
    assert!(journaled.values().all(|ids| ids.len() == 1), "an order was applied twice: {journaled:?}");

    // Funds across shards: every shard holds its own allocation (sub-ledger) and conserves
    // it; together the shards hold exactly the deposits once — no balance was spent twice.
    let mut supply: BTreeMap<AssetId, i64> = BTreeMap::new();
    let mut held_plus_fees: BTreeMap<AssetId, i64> = BTreeMap::new();
    let mut shards_with_deposits = 0;
    for partition in 0..PARTITIONS {
        let shard = data.join("shards").join(partition.to_string());
        let recovered = oms_core::journal::recover::<oms_core::book::LevelBook>(
            &shard,
            EngineConfig::default(),
            &mut CountingSink::default(),
        )
        .unwrap_or_else(|e| panic!("shard {partition} recovers: {e}"));
        let engine = recovered.engine;
        oms_core::audit::check(&engine).unwrap_or_else(|v| panic!("shard {partition}: {v}"));
        for asset in engine.assets().map(|a| a.spec().id) {
            let totals = engine.asset_totals(asset).expect("defined");
            *supply.entry(asset).or_default() += totals.supply;
            let held: i64 = engine
                .accounts()
                .filter_map(|a| a.balances.get(asset.0 as usize))
                .map(|b| b.available + b.reserved)
                .sum();
            *held_plus_fees.entry(asset).or_default() += held + totals.fees;
        }
        shards_with_deposits += usize::from(engine.accounts().count() > 0);
    }
    // The opening balances go to the shards that own a symbol (the others could not spend them).
    let trading: BTreeSet<i32> =
        SYMBOLS.iter().map(|s| oms_kafka::topics::partition_for_key(s.as_bytes(), PARTITIONS)).collect();
    assert_eq!(shards_with_deposits, trading.len(), "every trading shard got its allocation");
    assert_eq!(held_plus_fees, supply, "the shards together hold exactly what was deposited");
}

/// Replays every shard journal under `data`: accepted client order id → order ids.
fn journaled_orders(data: &Path) -> BTreeMap<String, Vec<u64>> {
    let mut journaled: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for partition in 0..PARTITIONS {
        let shard = data.join("shards").join(partition.to_string());
        oms_core::journal::replay_all(&shard, EngineConfig::default(), |_, event| {
            if let Event::OrderAccepted(order) = event {
                journaled.entry(order.client_order_id.as_str().to_owned()).or_default().push(order.id.0);
            }
        })
        .unwrap_or_else(|e| panic!("shard {partition} replays: {e}"));
    }
    journaled
}

#[test]
fn an_ingress_answers_http_orders_through_kafka_across_an_engine_kill() {
    let brokers = common::kafka_brokers();
    let prefix = common::unique("ti-") + "-";
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (log_a, log_b, log_i) = (dir.path().join("a.log"), dir.path().join("b.log"), dir.path().join("i.log"));
    let logs = || {
        let read = |log: &Path| std::fs::read_to_string(log).unwrap_or_default();
        format!("--- a\n{}--- b\n{}--- ingress\n{}", read(&log_a), read(&log_b), read(&log_i))
    };
    let engines = [engine(&brokers, &prefix, &data, &log_a), engine(&brokers, &prefix, &data, &log_b)];
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let ingress_dir = dir.path().join("ingress");
    let _ingress = role("ingress", &brokers, &prefix, &ingress_dir, &log_i, &["--listen", &listen]);
    common::eventually("the ingress is ready", Duration::from_secs(60), || {
        common::try_http(port, "GET", "/ready", None, None, "").ok().filter(|r| r.status == 200)
    });
    let accounts: Value = serde_json::from_str(
        &std::fs::read_to_string(ingress_dir.join("demo-accounts.json")).expect("the ingress saved its keys"),
    )
    .expect("keys JSON");
    let keys: Vec<String> =
        accounts.as_array().expect("list").iter().filter_map(|a| a["apiKey"].as_str().map(str::to_owned)).collect();
    // Every shard has an owner before the clock starts.
    common::eventually("every shard open", Duration::from_secs(60), || {
        (owned(&log_a).len() + owned(&log_b).len() == PARTITIONS as usize).then_some(())
    });

    // One client order: 201 with the engine's order id (in BTC-USD's shard).
    let place = |n: usize, side: &str| {
        let body = format!(
            r#"{{"symbol":"BTC-USD","side":"{side}","type":"limit","price":"60000.00","quantity":"0.01","clientOrderId":"h-{n}"}}"#
        );
        common::try_http(port, "POST", "/api/orders", Some(&keys[1 + n % 2]), None, &body)
    };
    let first = place(0, "buy").expect("ingress answers");
    assert_eq!(first.status, 201, "{}", first.body);
    let order = first.json();
    assert_eq!(order["status"], "ACCEPTED", "{order}");
    let order_id: u64 = order["orderId"].as_str().expect("orderId").parse().expect("numeric");
    let btc = oms_kafka::topics::partition_for_key(b"BTC-USD", PARTITIONS);
    assert_eq!((order_id >> 40) - 1, btc as u64, "the order id names BTC-USD's shard");
    // Cancel routes by the order id's shard; bad input is refused before Kafka.
    let cancelled = common::try_http(port, "DELETE", &format!("/api/orders/{order_id}"), Some(&keys[1]), None, "")
        .expect("cancel answered");
    assert_eq!((cancelled.status, cancelled.json()["status"].as_str()), (200, Some("CANCELLED")), "{}", cancelled.body);
    let off_tick = r#"{"symbol":"BTC-USD","side":"buy","type":"limit","price":"60000.001","quantity":"0.01"}"#;
    let refused = common::try_http(port, "POST", "/api/orders", Some(&keys[1]), None, off_tick).expect("answered");
    assert_eq!(refused.status, 400, "{}", refused.body);
    let anonymous = common::try_http(port, "POST", "/api/orders", None, None, off_tick).expect("answered");
    assert_eq!(anonymous.status, 401);

    // Load across a kill of the engine that owns BTC-USD: every 201 is in exactly one shard
    // journal; a 504 (decision pending during the failover) may or may not be, never twice.
    let victim = usize::from(!owned(&log_a).contains(&btc));
    let [first_engine, second_engine] = engines;
    let (mut a, survivor) = if victim == 0 { (first_engine, second_engine) } else { (second_engine, first_engine) };
    let mut acknowledged = BTreeMap::new();
    let mut pending = 0;
    let mut undelivered = 0;
    for n in 1..=120 {
        if n == 40 {
            a.0.kill().expect("SIGKILL the engine that owns BTC-USD");
            a.0.wait().expect("reap");
        }
        let reply = place(n, if n % 2 == 0 { "buy" } else { "sell" }).expect("ingress answers");
        match reply.status {
            201 | 200 => {
                let body = reply.json();
                acknowledged.insert(format!("h-{n}"), body["orderId"].as_str().expect("orderId").to_owned());
            }
            504 => pending += 1,
            // The shared test broker, with every other test of this binary on two cores,
            // once stalled past the ingress's 5 s delivery timeout. Not acknowledged, like a
            // 504: checked below never to be applied twice; the count bounds how often.
            503 if reply.json()["code"] == "kafka_unavailable" => {
                pending += 1;
                undelivered += 1;
            }
            other => panic!("order {n}: unexpected {other}: {}\n{}", reply.body, logs()),
        }
    }
    assert!(
        acknowledged.len() >= 60,
        "most orders answered ({} of 120, {pending} pending)\n{}",
        acknowledged.len(),
        logs()
    );
    // Decisions that were pending land once the survivor owns the shard.
    common::eventually("the survivor owns BTC-USD's shard", Duration::from_secs(60), || {
        owned(if victim == 0 { &log_b } else { &log_a }).contains(&btc).then_some(())
    });
    drop(survivor);
    let journaled = journaled_orders(&data);
    for (client_order_id, order_id) in &acknowledged {
        let ids = journaled.get(client_order_id).cloned().unwrap_or_default();
        assert_eq!(ids.len(), 1, "{client_order_id} acknowledged as {order_id}, journaled {ids:?}");
        assert_eq!(ids[0].to_string(), *order_id, "{client_order_id}");
    }
    assert!(journaled.values().all(|ids| ids.len() == 1), "an order was applied twice");
    eprintln!(
        "{} orders acknowledged through the ingress, {pending} pending at the kill ({undelivered} undelivered)",
        acknowledged.len()
    );
}

#[test]
fn an_engine_without_the_shard_journals_refuses_partitions_with_history() {
    let brokers = common::kafka_brokers();
    let prefix = common::unique("ts-") + "-";
    let dir = tempfile::tempdir().expect("tempdir");
    let (shared, elsewhere) = (dir.path().join("shared"), dir.path().join("elsewhere"));
    let (log_a, log_b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let config = common::kafka_test_config(&brokers, &prefix, PARTITIONS);
    oms_kafka::topics::ensure_topics(&config).expect("topics");
    let producer = KafkaProducer::new(&config).expect("producer");
    let mut a = engine(&brokers, &prefix, &shared, &log_a);
    // History on BTC-USD's partition: orders applied and committed by engine a.
    let btc = oms_kafka::topics::partition_for_key(b"BTC-USD", PARTITIONS);
    for n in 0..5 {
        let payload = new_order(&format!("cmd-{n}"), 1, "BTC-USD", true, n);
        let receipt = producer.publish(TopicKind::Orders, "BTC-USD", payload.as_bytes()).expect("queued");
        receipt.wait(Duration::from_secs(30)).expect("delivered");
    }
    let journal = shared.join("shards").join(btc.to_string());
    common::eventually("engine a journals the orders", Duration::from_secs(60), || {
        let accepted = journaled_orders(&shared).len();
        (accepted == 5 && owned(&log_a).contains(&btc)).then_some(())
    });
    drop(producer);
    // Stop a cleanly (its offsets are committed), then start b on storage without the journals.
    Command::new("kill").args(["-TERM", &a.0.id().to_string()]).status().expect("kill -TERM");
    common::eventually("engine a stops", Duration::from_secs(60), || a.0.try_wait().expect("wait"));
    let mut b = engine(&brokers, &prefix, &elsewhere, &log_b);
    let status = common::eventually("engine b refuses", Duration::from_secs(60), || b.0.try_wait().expect("wait"));
    assert!(!status.success(), "engine b must refuse to start a shard from nothing");
    let text = std::fs::read_to_string(&log_b).expect("log b");
    assert!(text.contains("has history") && text.contains("holds no journal"), "{text}");
    assert!(journal.join("journal").exists(), "engine a's journal is untouched");
}

#[test]
fn an_overloaded_ingress_sheds_with_503_instead_of_queueing() {
    // No engine runs: a decision never comes, so the one admitted command waits while the
    // next is refused at once.
    let brokers = common::kafka_brokers();
    let prefix = common::unique("tl-") + "-";
    let dir = tempfile::tempdir().expect("tempdir");
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let extra = ["--listen", listen.as_str(), "--ingress-decisions-max", "1"];
    let _ingress = role("ingress", &brokers, &prefix, dir.path(), &dir.path().join("i.log"), &extra);
    common::eventually("the ingress is ready", Duration::from_secs(60), || {
        common::try_http(port, "GET", "/ready", None, None, "").ok().filter(|r| r.status == 200)
    });
    let accounts: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo-accounts.json")).expect("keys"))
            .expect("JSON");
    let key = accounts[1]["apiKey"].as_str().expect("a key").to_owned();
    let order = r#"{"symbol":"BTC-USD","side":"buy","type":"limit","price":"60000.00","quantity":"0.01"}"#;
    let waiting_key = key.clone();
    let waiting = std::thread::spawn(move || {
        common::try_http(port, "POST", "/api/orders", Some(&waiting_key), None, order).expect("answered")
    });
    common::eventually("one command waits for its decision", Duration::from_secs(30), || {
        let metrics = common::try_http(port, "GET", "/metrics", None, None, "").ok()?;
        metrics.body.contains("oms_ingress_waiting 1").then_some(())
    });
    let shed = common::try_http(port, "POST", "/api/orders", Some(&key), None, order).expect("answered");
    assert_eq!(shed.status, 503, "{}", shed.body);
    assert_eq!(shed.json()["code"], "overloaded", "{}", shed.body);
    let timed_out = waiting.join().expect("client thread");
    assert_eq!(timed_out.status, 504, "no engine, no decision: {}", timed_out.body);
}

#[test]
fn a_broker_outage_is_answered_503_at_once_and_fails_readiness() {
    // A private broker (memory storage), since this test kills it.
    let tansu = common::service_env("OMS_TEST_TANSU");
    let broker_port = common::free_port();
    let url = format!("tcp://127.0.0.1:{broker_port}");
    let mut broker = Process(
        Command::new(&tansu)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {tansu}: {e}")),
    );
    let brokers = format!("127.0.0.1:{broker_port}");
    common::eventually("the private broker listens", Duration::from_secs(30), || {
        std::net::TcpStream::connect(&brokers).ok()
    });
    let prefix = common::unique("to-") + "-";
    let dir = tempfile::tempdir().expect("tempdir");
    let _engine = role("engine", &brokers, &prefix, &dir.path().join("e"), &dir.path().join("e.log"), &[]);
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let ingress_dir = dir.path().join("i");
    let _ingress = role("ingress", &brokers, &prefix, &ingress_dir, &dir.path().join("i.log"), &["--listen", &listen]);
    common::eventually("the ingress is ready", Duration::from_secs(60), || {
        common::try_http(port, "GET", "/ready", None, None, "").ok().filter(|r| r.status == 200)
    });
    let accounts: Value =
        serde_json::from_str(&std::fs::read_to_string(ingress_dir.join("demo-accounts.json")).expect("keys"))
            .expect("JSON");
    let key = accounts[1]["apiKey"].as_str().expect("a key").to_owned();
    let order = r#"{"symbol":"BTC-USD","side":"buy","type":"limit","price":"59000.00","quantity":"0.01"}"#;
    let placed = common::eventually("an order through the engine", Duration::from_secs(60), || {
        common::try_http(port, "POST", "/api/orders", Some(&key), None, order).ok().filter(|r| r.status == 201)
    });
    assert_eq!(placed.json()["status"], "ACCEPTED", "{}", placed.body);

    let _ = broker.0.kill();
    let _ = broker.0.wait();
    // The command cannot reach Kafka: 503 once the producer gives up on it (its 5 s
    // delivery timeout), not the 10 s decision timeout's 504 "may still be applied".
    let started = Instant::now();
    let refused = common::try_http(port, "POST", "/api/orders", Some(&key), None, order).expect("answered");
    let waited = started.elapsed();
    assert_eq!((refused.status, refused.json()["code"].as_str()), (503, Some("kafka_unavailable")), "{}", refused.body);
    assert!(waited < Duration::from_secs(9), "answered after {waited:?}, before the decision timeout");
    common::eventually("readiness fails without the broker", Duration::from_secs(30), || {
        common::try_http(port, "GET", "/ready", None, None, "").ok().filter(|r| r.status == 503)
    });
    let health = common::try_http(port, "GET", "/health", None, None, "").expect("answered");
    assert_eq!(health.status, 200, "alive (the loop is not stuck), only not ready: {}", health.body);
}
