//! The whole split deployment on one machine, configured as an operator would (market and
//! API keys from files, no `--demo`): the Kafka-protocol broker (Tansu), one
//! `--role ingress`, two `--role engine` sharing the `orders` partitions and one
//! `--role persister` writing to MongoDB (SecantusDB), all from `scripts/services.sh`.
//!
//! Clients place crossing orders on three symbols over HTTP; the engine owning BTC-USD is
//! SIGKILLed mid-run and the survivor restores its books. Afterwards every order that got
//! a 201 or 200 is present exactly once, and the two read paths agree: the ingress's REST
//! API (folded from `executions`) and MongoDB (folded by the persister) hold the same
//! orders with the same status and filled quantity, and the same fills.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::Process;
use common::db::Db;

const OMS: &str = env!("CARGO_BIN_EXE_oms");
const PARTITIONS: i32 = 4;
const SYMBOLS: [(&str, &str, &str); 3] =
    [("BTC-USD", "60000.00", "0.0100"), ("ETH-USD", "3000.00", "0.100"), ("SOL-USD", "150.000", "1.00")];
/// Raw keys of accounts 1 (buyer) and 2 (seller); the key file lists the first by digest.
const KEYS: [&str; 2] = ["deployment-test-buyer-key", "deployment-test-seller-key"];
const ORDERS: usize = 150;
/// The engine owning BTC-USD dies before this order.
const KILL_AT: usize = 50;

struct Deployment {
    dir: tempfile::TempDir,
    brokers: String,
    prefix: String,
}

impl Deployment {
    /// A deployment of its own: a temporary directory with the market and key files, and
    /// topics under a fresh `prefix`.
    fn new(prefix: &str) -> Self {
        let d = Deployment {
            dir: tempfile::tempdir().expect("tempdir"),
            brokers: common::kafka_brokers(),
            prefix: common::unique(prefix) + "-",
        };
        write_config(d.dir.path());
        d
    }

    fn spawn(&self, role: &str, name: &str, extra: &[&str]) -> Process {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{name}.log")))
            .expect("log file");
        let data = self.dir.path().join(if role == "engine" { "shards" } else { name });
        let child = Command::new(OMS)
            .args(["serve", "--role", role, "--kafka", &self.brokers, "--kafka-topic-prefix", &self.prefix])
            .arg("--market")
            .arg(self.dir.path().join("market.toml"))
            .arg("--api-keys")
            .arg(self.dir.path().join("keys.toml"))
            .args(["--kafka-partitions", &PARTITIONS.to_string(), "--kafka-replication", "1"])
            .args(["--kafka-session-timeout-ms", "6000", "--log", "info"])
            .arg("--data-dir")
            .arg(data)
            .args(extra)
            .stdout(Stdio::from(log.try_clone().expect("clone")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn oms {role}: {e}"));
        Process(child)
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{name}.log"))).unwrap_or_default()
    }

    fn logs(&self) -> String {
        ["engine-a", "engine-b", "ingress", "persister"]
            .iter()
            .map(|name| {
                let text = self.log(name);
                let tail: Vec<&str> = text.lines().rev().take(30).collect();
                format!("--- {name}\n{}\n", tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
            })
            .collect()
    }

    /// Partitions whose shard the engine logging to `name` has open now.
    fn owned(&self, name: &str) -> BTreeSet<i32> {
        common::shards_open(&self.log(name))
    }
}

/// Waits (bounded) until the ingress on `port` answers `/ready` with 200.
fn wait_ready(port: u16) {
    common::eventually("the ingress is ready", Duration::from_secs(60), || {
        common::try_http(port, "GET", "/ready", None, None, "").ok().filter(|r| r.status == 200)
    });
}

/// A market of the test's own: the demo instruments, two funded accounts.
fn write_config(dir: &Path) {
    let mut market = String::from("[[asset]]\nid = 0\ncode = \"USD\"\nscale = 6\n");
    for (n, (symbol, price, lot)) in SYMBOLS.iter().enumerate() {
        let base = &symbol[..3];
        market += &format!(
            "[[asset]]\nid = {}\ncode = \"{base}\"\nscale = 8\n\
             [[instrument]]\nid = {n}\nsymbol = \"{symbol}\"\nbase = \"{base}\"\nquote = \"USD\"\n\
             tick-size = \"{}\"\nlot-size = \"{lot}\"\nquantity-max = \"10000\"\nnotional-min = \"1\"\n\
             notional-max = \"10000000\"\nprice-band-bps = 1000\nreference-price = \"{price}\"\n\
             maker-fee-ppm = 100\ntaker-fee-ppm = 400\n",
            n + 1,
            if *symbol == "SOL-USD" { "0.001" } else { "0.01" },
        );
        for account in [1, 2] {
            market += &format!("[[deposit]]\naccount = {account}\nasset = \"{base}\"\namount = \"1000\"\n");
        }
    }
    for account in [1, 2] {
        market += &format!("[[deposit]]\naccount = {account}\nasset = \"USD\"\namount = \"10000000\"\n");
    }
    std::fs::write(dir.join("market.toml"), market).expect("market file");
    let digest: String = sha256_hex(KEYS[0]);
    let keys = format!(
        "[[key]]\naccount = 1\nsha256 = \"{digest}\"\n[[key]]\naccount = 2\nkey = \"{}\"\nadmin = true\n",
        KEYS[1]
    );
    std::fs::write(dir.join("keys.toml"), keys).expect("keys file");
}

fn sha256_hex(text: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("sha256sum");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write");
    let output = child.wait_with_output().expect("sha256sum");
    String::from_utf8(output.stdout).expect("utf8").split_whitespace().next().expect("digest").to_owned()
}

/// Order `n`: account 1 buys and account 2 sells the same size at the reference price on
/// symbol `n % 3`, so most orders trade (resting, partial and full fills).
fn order_body(n: usize) -> (usize, String) {
    let (symbol, price, lot) = SYMBOLS[n % 3];
    let account = n % 2;
    let side = if account == 0 { "buy" } else { "sell" };
    let lots = 1 + (n / 3) % 3;
    let quantity = rust_decimal::Decimal::from_str_exact(lot).expect("lot") * rust_decimal::Decimal::from(lots);
    let body = format!(
        r#"{{"symbol":"{symbol}","side":"{side}","type":"limit","price":"{price}","quantity":"{quantity}","clientOrderId":"d-{n}"}}"#
    );
    (account, body)
}

/// Order id → (status, filled quantity).
type Orders = BTreeMap<u64, (String, String)>;

/// A quantity in one spelling (`0.0100` and `0.01` are the same).
fn normal(text: &str) -> String {
    rust_decimal::Decimal::from_str_exact(text).map_or_else(|_| text.to_owned(), |d| d.normalize().to_string())
}

/// Every order of `account` through the paged REST list: id → (status, filled). No order
/// is listed twice and no client order id names two orders (none was applied twice).
fn rest_orders(port: u16, key: &str) -> Option<Orders> {
    let mut all = BTreeMap::new();
    let mut client_ids = BTreeSet::new();
    let mut cursor = String::new();
    for _ in 0..100 {
        let reply =
            common::try_http(port, "GET", &format!("/api/orders?limit=50{cursor}"), Some(key), None, "").ok()?;
        let page = reply.json();
        for order in page["orders"].as_array()? {
            let id: u64 = order["orderId"].as_str()?.parse().ok()?;
            let state = (order["status"].as_str()?.to_owned(), normal(order["filledQuantity"].as_str()?));
            assert!(all.insert(id, state).is_none(), "order {id} listed twice");
            let client = order["clientOrderId"].as_str()?.to_owned();
            assert!(client_ids.insert(client.clone()), "{client} names two orders: applied twice");
        }
        match page["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return Some(all),
        }
    }
    panic!("more than 100 pages")
}

/// Every order of `account` in MongoDB: id → (status, filled), and how many documents.
fn mongo_orders(db: &Db, account: i64) -> Option<(Orders, usize)> {
    let documents: Vec<_> =
        db.all("orders")?.into_iter().filter(|d| d.get_i64("accountId").ok() == Some(account)).collect();
    let count = documents.len();
    let orders = documents
        .iter()
        .map(|d| {
            let id = u64::try_from(d.get_i64("orderId").ok()?).ok()?;
            Some((id, (d.get_str("status").ok()?.to_owned(), normal(d.get_str("filled").ok()?))))
        })
        .collect::<Option<_>>()?;
    Some((orders, count))
}

#[test]
fn ingress_two_engines_and_a_persister_agree_across_an_engine_kill() {
    let db = Db::shared();
    let d = Deployment::new("td-");
    // Every role answers its probes on --listen (the engines and the persister serve no API).
    let probes: Vec<(String, u16)> =
        ["engine-a", "engine-b", "persister"].iter().map(|n| ((*n).to_owned(), common::free_port())).collect();
    let listen_of = |n: usize| format!("127.0.0.1:{}", probes[n].1);
    let engine_a = d.spawn("engine", "engine-a", &["--listen", &listen_of(0)]);
    let engine_b = d.spawn("engine", "engine-b", &["--listen", &listen_of(1)]);
    let port = common::free_port();
    let listen = format!("127.0.0.1:{port}");
    let _ingress = d.spawn("ingress", "ingress", &["--listen", &listen]);
    let _persister = d.spawn("persister", "persister", &["--mongo", &db.url, "--listen", &listen_of(2)]);
    for (name, probe) in &probes {
        let ready = common::eventually(&format!("{name} ready"), Duration::from_secs(60), || {
            common::try_http(*probe, "GET", "/ready", None, None, "").ok().filter(|r| r.status == 200)
        });
        assert_eq!(ready.json()["status"], "ok", "{name}: {}", ready.body);
        let health = common::http(*probe, "GET", "/health", None, None, "");
        assert_eq!(health.status, 200, "{name}: {}", health.body);
    }
    wait_ready(port);
    common::eventually("every shard open", Duration::from_secs(60), || {
        (d.owned("engine-a").len() + d.owned("engine-b").len() == PARTITIONS as usize).then_some(())
    });
    let btc = oms_kafka::topics::partition_for_key(b"BTC-USD", PARTITIONS);
    let (mut victim, _survivor, survivor_name, survivor_probe) = if d.owned("engine-a").contains(&btc) {
        (engine_a, engine_b, "engine-b", probes[1].1)
    } else {
        (engine_b, engine_a, "engine-a", probes[0].1)
    };

    let mut acknowledged: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    let mut pending = 0;
    for n in 0..ORDERS {
        if n == KILL_AT {
            // A bid below the market rests in the victim's book: only a restored book can
            // fill it after the kill.
            let bid = r#"{"symbol":"BTC-USD","side":"buy","type":"limit","price":"59000.00","quantity":"0.0500","clientOrderId":"resting"}"#;
            let reply = common::try_http(port, "POST", "/api/orders", Some(KEYS[0]), None, bid).expect("answered");
            assert_eq!((reply.status, reply.json()["status"].as_str()), (201, Some("ACCEPTED")), "{}", reply.body);
            let id = reply.json()["orderId"].as_str().expect("orderId").parse().expect("numeric");
            acknowledged.insert("resting".into(), (0, id));
            victim.0.kill().expect("SIGKILL the engine that owns BTC-USD");
            victim.0.wait().expect("reap");
        }
        let (account, body) = order_body(n);
        let reply = common::try_http(port, "POST", "/api/orders", Some(KEYS[account]), None, &body)
            .unwrap_or_else(|e| panic!("order {n}: {e}\n{}", d.logs()));
        match reply.status {
            201 => {
                let id = reply.json()["orderId"].as_str().expect("orderId").parse().expect("numeric");
                acknowledged.insert(format!("d-{n}"), (account, id));
            }
            504 => pending += 1,
            other => panic!("order {n}: {other} {}\n{}", reply.body, d.logs()),
        }
    }
    assert!(acknowledged.len() >= ORDERS / 2, "{} of {ORDERS} acknowledged\n{}", acknowledged.len(), d.logs());
    common::eventually("the survivor owns BTC-USD's shard", Duration::from_secs(60), || {
        d.owned(survivor_name).contains(&btc).then_some(())
    });
    common::eventually("the survivor's metrics count every shard", Duration::from_secs(10), || {
        let metrics = common::try_http(survivor_probe, "GET", "/metrics", None, None, "").ok()?.body;
        metrics.contains(&format!("oms_engine_shards_open {PARTITIONS}\n")).then_some(())
    });
    // A last order per account after the failover: the survivor serves BTC-USD.
    for (account, key) in KEYS.iter().enumerate() {
        let (_, body) = order_body(3 * (ORDERS + account));
        let reply = common::try_http(port, "POST", "/api/orders", Some(key), None, &body).expect("answered");
        assert_eq!(reply.status, 201, "{}\n{}", reply.body, d.logs());
        let id = reply.json()["orderId"].as_str().expect("orderId").parse().expect("numeric");
        acknowledged.insert(format!("after-{account}"), (account, id));
    }

    // Sweep every BTC-USD bid of account 1 down to 59000: the resting bid placed before the
    // kill fills from the survivor's restored book.
    let open =
        common::try_http(port, "GET", "/api/orders?symbol=BTC-USD&status=open&limit=500", Some(KEYS[0]), None, "")
            .expect("open orders")
            .json();
    let bids: rust_decimal::Decimal = open["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .filter(|o| o["side"] == "buy")
        .map(|o| {
            rust_decimal::Decimal::from_str_exact(o["remainingQuantity"].as_str().expect("leaves")).expect("decimal")
        })
        .sum();
    let sweep = format!(
        r#"{{"symbol":"BTC-USD","side":"sell","type":"limit","price":"59000.00","quantity":"{bids}","clientOrderId":"sweep"}}"#
    );
    let reply = common::try_http(port, "POST", "/api/orders", Some(KEYS[1]), None, &sweep).expect("answered");
    assert_eq!((reply.status, reply.json()["status"].as_str()), (201, Some("FILLED")), "{}", reply.body);
    // The answer is the order as `--role all` shows it: filled, with its own fills (the
    // taker side of each trade, never the makers' — those are other accounts' fills).
    let swept = reply.json();
    let decimal =
        |v: &serde_json::Value| rust_decimal::Decimal::from_str_exact(v.as_str().expect("decimal")).expect("decimal");
    assert_eq!((decimal(&swept["filledQuantity"]), decimal(&swept["remainingQuantity"])), (bids, 0.into()), "{swept}");
    assert_eq!((swept["type"].as_str(), swept["averagePrice"].is_string()), (Some("limit"), true), "{swept}");
    let fills = swept["fills"].as_array().expect("fills");
    assert!(fills.iter().all(|f| f["liquidity"] == "taker" && f.get("accountId").is_none()), "{swept}");
    assert_eq!(fills.iter().map(|f| decimal(&f["quantity"])).sum::<rust_decimal::Decimal>(), bids, "{swept}");
    acknowledged.insert("sweep".into(), (1, reply.json()["orderId"].as_str().expect("id").parse().expect("numeric")));
    let resting =
        common::try_http(port, "GET", &format!("/api/orders/{}", acknowledged["resting"].1), Some(KEYS[0]), None, "")
            .expect("answered")
            .json();
    assert_eq!(resting["status"], "FILLED", "the bid from before the kill was in the restored book: {resting}");

    // Both read paths, per account: the same orders, each once, in the same state.
    for (account, key) in KEYS.iter().enumerate() {
        let mine: BTreeSet<u64> = acknowledged.values().filter(|(a, _)| *a == account).map(|(_, id)| *id).collect();
        let mut last = None;
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        let (rest, mongo) = loop {
            if let (Some(rest), Some((mongo, documents))) =
                (rest_orders(port, key), mongo_orders(&db, account as i64 + 1))
            {
                assert_eq!(documents, mongo.len(), "an order has two documents");
                if rest == mongo && mine.iter().all(|id| rest.contains_key(id)) {
                    break (rest, mongo);
                }
                last = Some((rest, mongo));
            }
            if std::time::Instant::now() > deadline {
                let (rest, mongo) = last.unwrap_or_default();
                let differ: Vec<_> = rest
                    .keys()
                    .chain(mongo.keys())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .filter(|id| rest.get(id) != mongo.get(id))
                    .map(|id| format!("{id}: REST {:?} MongoDB {:?}", rest.get(id), mongo.get(id)))
                    .collect();
                let missing: Vec<_> = mine.iter().filter(|id| !rest.contains_key(id)).collect();
                panic!(
                    "account {}: REST ({}) and MongoDB ({}) differ on {} orders: {differ:#?}\nacknowledged but not listed: {missing:?}\n{}",
                    account + 1,
                    rest.len(),
                    mongo.len(),
                    differ.len(),
                    d.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        assert_eq!(rest, mongo);
        let filled = rest.values().filter(|(status, _)| status == "FILLED").count();
        assert!(filled > 10, "account {}: the flow trades ({filled} filled)", account + 1);
        let fills = common::try_http(port, "GET", "/api/executions?limit=500", Some(key), None, "").expect("fills");
        let rest_fills = fills.json()["executions"].as_array().expect("list").len();
        let mongo_fills = db
            .all("executions")
            .expect("executions")
            .iter()
            .filter(|e| e.get_i64("accountId").ok() == Some(account as i64 + 1))
            .count();
        assert_eq!(rest_fills, mongo_fills, "account {}: fills on both paths", account + 1);
        eprintln!(
            "account {}: {} orders ({filled} filled), {rest_fills} fills, REST = MongoDB",
            account + 1,
            rest.len()
        );
    }
    // Positions: the ingress (from `risk-events`) and MongoDB (the persister) agree, and the
    // buyer is long what the seller is short.
    let mut nets = Vec::new();
    for (account, key) in KEYS.iter().enumerate() {
        let positions = common::eventually("positions agree", Duration::from_secs(30), || {
            let reply = common::try_http(port, "GET", "/api/risk/positions", Some(key), None, "").ok()?;
            let rest: BTreeMap<String, (String, String)> = reply.json()["positions"]
                .as_array()?
                .iter()
                .map(|p| {
                    let field = |name: &str| p[name].as_str().map(normal);
                    Some((field("symbol")?, (field("quantity")?, field("realizedPnl")?)))
                })
                .collect::<Option<_>>()?;
            let mongo: BTreeMap<String, (String, String)> = db
                .all("positions")?
                .iter()
                .filter(|p| p.get_i64("accountId").ok() == Some(account as i64 + 1))
                .map(|p| {
                    let field = |name: &str| p.get_str(name).ok().map(normal);
                    Some((field("symbol")?, (field("quantity")?, field("realizedPnl")?)))
                })
                .collect::<Option<_>>()?;
            (rest == mongo && rest.len() == SYMBOLS.len()).then_some(rest)
        });
        nets.push(positions);
    }
    for (symbol, _, _) in SYMBOLS {
        let long = rust_decimal::Decimal::from_str_exact(&nets[0][symbol].0).expect("decimal");
        let short = rust_decimal::Decimal::from_str_exact(&nets[1][symbol].0).expect("decimal");
        assert_eq!(long, -short, "{symbol}: the two accounts trade only with each other");
    }
    // Market data from `prices`: the sweep's last print on BTC-USD was at 59000 or above.
    let prices = common::http(port, "GET", "/api/market-data/prices/BTC-USD", None, None, "").json();
    let last = rust_decimal::Decimal::from_str_exact(prices["last"].as_str().expect("a last price")).expect("decimal");
    assert!(last >= rust_decimal::Decimal::from(59_000) && last <= rust_decimal::Decimal::from(60_000), "{prices}");
    assert!(prices["volume24h"].as_str().is_some_and(|v| v != "0"), "{prices}");
    let candles = common::http(port, "GET", "/api/market-data/candles/BTC-USD?interval=1m", None, None, "").json();
    assert!(candles["candles"].as_array().is_some_and(|c| !c.is_empty()), "{candles}");
    // A new ingress (a restart, another replica) rebuilds the same view from what the topics
    // hold, and says ready only once it has.
    let second = common::free_port();
    let _ingress_2 = d.spawn("ingress", "ingress-2", &["--listen", &format!("127.0.0.1:{second}")]);
    common::eventually("the second ingress caught up", Duration::from_secs(60), || {
        common::try_http(second, "GET", "/ready", None, None, "").ok().filter(|r| r.status == 200)
    });
    for key in KEYS {
        assert_eq!(rest_orders(second, key), rest_orders(port, key), "the rebuilt order view");
        let positions = |port| common::http(port, "GET", "/api/risk/positions", Some(key), None, "").json();
        assert_eq!(positions(second), positions(port), "the rebuilt positions");
    }
    let ticker = |port| common::http(port, "GET", "/api/market-data/prices/ETH-USD", None, None, "").json();
    assert_eq!(ticker(second), ticker(port), "the rebuilt market data (republished trades not counted twice)");
    let other =
        common::try_http(port, "GET", &format!("/api/orders/{}", acknowledged["d-1"].1), Some(KEYS[0]), None, "")
            .expect("answered");
    assert_eq!(other.status, 404, "another account's order is not found");
    eprintln!("{} orders acknowledged, {pending} pending at the kill", acknowledged.len());
}

/// Two ingress replicas behind one load balancer share `Idempotency-Key`s through Redis: a
/// retry that lands on the other replica gets the first answer, and the engine sees one
/// order.
#[test]
fn two_ingress_replicas_share_idempotency_keys_through_redis() {
    let redis = common::service_env("OMS_TEST_REDIS_URL");
    let d = Deployment::new("tr-");
    let _engine = d.spawn("engine", "engine-a", &["--listen", "127.0.0.1:0"]);
    let ports = [common::free_port(), common::free_port()];
    let _replicas: Vec<Process> = ports
        .iter()
        .enumerate()
        .map(|(n, port)| {
            let listen = format!("127.0.0.1:{port}");
            d.spawn("ingress", &format!("ingress-{n}"), &["--listen", &listen, "--redis", &redis])
        })
        .collect();
    for port in ports {
        let ready = common::eventually("the replica is ready", Duration::from_secs(60), || {
            common::try_http(port, "GET", "/ready", None, None, "").ok().filter(|r| r.status == 200)
        });
        assert_eq!(ready.json()["status"], "ok", "Redis is up: {}", ready.body);
    }
    common::eventually("the shards are open", Duration::from_secs(60), || {
        (d.owned("engine-a").len() == PARTITIONS as usize).then_some(())
    });
    let key = common::unique("idem-");
    let (_, body) = order_body(1);
    let first = common::try_http(ports[0], "POST", "/api/orders", Some(KEYS[1]), Some(&key), &body).expect("first");
    assert_eq!(first.status, 201, "{}", first.body);
    let retry = common::try_http(ports[1], "POST", "/api/orders", Some(KEYS[1]), Some(&key), &body).expect("retry");
    assert_eq!((retry.status, retry.replayed()), (201, true), "{}", retry.body);
    assert_eq!(retry.json()["orderId"], first.json()["orderId"]);
    let changed = body.replace("\"d-1\"", "\"d-other\"");
    let misuse =
        common::try_http(ports[1], "POST", "/api/orders", Some(KEYS[1]), Some(&key), &changed).expect("misuse");
    assert_eq!(misuse.status, 422, "the same key with another body is refused: {}", misuse.body);
    let orders = common::try_http(ports[0], "GET", "/api/orders", Some(KEYS[1]), None, "").expect("list").json();
    assert_eq!(orders["orders"].as_array().map(Vec::len), Some(1), "one order: {orders}");
}

/// Amend and mass cancel through the ingress, routed by the order id's shard or the
/// symbol's partition, or sent to every shard; refusals answer like `--role all`.
/// A blocking WebSocket client with a read deadline per message.
struct Socket(tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>);

impl Socket {
    fn connect(port: u16, path: &str) -> Socket {
        let (socket, _) = tungstenite::connect(format!("ws://127.0.0.1:{port}{path}")).expect("WebSocket upgrade");
        if let tungstenite::stream::MaybeTlsStream::Plain(tcp) = socket.get_ref() {
            tcp.set_read_timeout(Some(Duration::from_secs(2))).expect("read timeout");
        }
        Socket(socket)
    }

    fn send(&mut self, text: &str) {
        self.0.send(tungstenite::Message::text(text)).expect("send");
    }

    /// Reads messages until one satisfies `wanted`, failing after 30 s.
    fn until(&mut self, what: &str, wanted: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while std::time::Instant::now() < deadline {
            match self.0.read() {
                Ok(tungstenite::Message::Text(text)) => {
                    let value: serde_json::Value = serde_json::from_str(text.as_str()).expect("JSON message");
                    if wanted(&value) {
                        return value;
                    }
                    seen.push(value);
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(e) => panic!("{what}: socket failed: {e}; seen {seen:?}"),
            }
        }
        panic!("{what}: not within 30 s; seen {seen:?}")
    }
}

/// Applies a book delta's levels (`[price, quantity]`, quantity 0 = gone) to `book`.
fn apply_levels(book: &mut BTreeMap<String, String>, levels: &serde_json::Value) {
    for level in levels.as_array().expect("levels") {
        let (price, quantity) = (level[0].as_str().expect("price"), level[1].as_str().expect("quantity"));
        if quantity == "0" {
            book.remove(price);
        } else {
            book.insert(price.to_owned(), quantity.to_owned());
        }
    }
}

/// An amount from the API as an exact decimal.
fn amount(value: &serde_json::Value) -> rust_decimal::Decimal {
    value.as_str().and_then(|text| text.parse().ok()).unwrap_or_else(|| panic!("a decimal string: {value}"))
}

/// The caller's `asset` balance `(available, reserved)` from `GET /api/risk/positions`.
fn balance(port: u16, key: &str, asset: &str) -> Option<(rust_decimal::Decimal, rust_decimal::Decimal)> {
    let reply = common::http(port, "GET", "/api/risk/positions", Some(key), None, "").json();
    let found = reply["balances"].as_array()?.iter().find(|b| b["asset"] == asset)?.clone();
    Some((amount(&found["available"]), amount(&found["reserved"])))
}

#[test]
fn the_ingress_amends_mass_cancels_and_streams_across_shards() {
    let d = Deployment::new("ta-");
    let _engine = d.spawn("engine", "engine-a", &["--listen", "127.0.0.1:0"]);
    let port = common::free_port();
    let dist = d.dir.path().join("dist");
    std::fs::create_dir_all(&dist).expect("dist");
    std::fs::write(dist.join("index.html"), "<html>dashboard-marker</html>").expect("index");
    let listen = format!("127.0.0.1:{port}");
    let _ingress = d.spawn("ingress", "ingress", &["--listen", &listen, "--static-dir", dist.to_str().expect("utf-8")]);
    wait_ready(port);
    common::eventually("the shards are open", Duration::from_secs(60), || {
        (d.owned("engine-a").len() == PARTITIONS as usize).then_some(())
    });
    let instruments = common::http(port, "GET", "/api/instruments", None, None, "").json();
    let symbols: Vec<_> = instruments.as_array().expect("list").iter().filter_map(|i| i["symbol"].as_str()).collect();
    assert_eq!(symbols, ["BTC-USD", "ETH-USD", "SOL-USD"], "the market file's instruments");
    let dashboard = common::http(port, "GET", "/trade", None, None, "");
    assert!(
        dashboard.status == 200 && dashboard.body.contains("dashboard-marker"),
        "the ALB's `/` path: {}",
        dashboard.body
    );
    let key = Some(KEYS[0]);
    // Balances: each shard samples its sub-ledger; the ingress sums them to the deposits.
    let deposit = rust_decimal::Decimal::from(10_000_000);
    common::eventually("the opening balances", Duration::from_secs(30), || {
        (balance(port, KEYS[0], "USD") == Some((deposit, rust_decimal::Decimal::ZERO))).then_some(())
    });
    let account = common::http(port, "GET", "/api/account", key, None, "").json();
    assert_eq!(account["accountId"], "1", "{account}");
    // Every operation the ingress documents is routed: an unrouted one would answer 405, a
    // bare 404, or (a GET) the dashboard's fallback page. Asked without a key, so nothing
    // changes. It serves every route `--role all` has, and the sharded deployment's own.
    let document = common::http(port, "GET", "/api/openapi.json", None, None, "").json();
    let paths = document["paths"].as_object().expect("paths");
    for path in ["/api/risk/validate", "/api/risk/limits", "/api/account/transfers"] {
        assert!(paths.contains_key(path), "{path} is in the ingress's document");
    }
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path.replace("{symbol}", "BTC-USD").replace("{order_id}", "1");
        for method in item.as_object().expect("path item").keys() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let reply = common::http(port, &method.to_uppercase(), &concrete, None, None, "");
            let routed = reply.status != 405
                && (reply.status != 404 || reply.body.contains("\"code\""))
                && !reply.body.contains("dashboard-marker");
            assert!(routed, "{method} {path} is documented but not routed: {} {}", reply.status, reply.body);
            operations += 1;
        }
    }
    assert!(operations >= 15, "the document lists the API ({operations} operations)");
    let demo = common::http(port, "GET", "/api/demo/accounts", None, None, "");
    assert_eq!((demo.status, demo.json()["code"].as_str()), (404, Some("not_demo")), "without --demo: {}", demo.body);
    let mut orders_ws = Socket::connect(port, &format!("/ws/orders?apiKey={}", KEYS[0]));
    let mut market_ws = Socket::connect(port, "/ws/market-data");
    market_ws.send(r#"{"op":"subscribe","channels":["book","trades"],"symbols":["BTC-USD"]}"#);
    let snapshot = market_ws.until("the book snapshot", |m| m["type"] == "snapshot");
    assert_eq!((snapshot["symbol"].as_str(), snapshot["bids"].as_array().map(Vec::len)), (Some("BTC-USD"), Some(0)));
    match tungstenite::connect(format!("ws://127.0.0.1:{port}/ws/orders?apiKey=wrong")) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("a wrong key must not stream: {:?}", other.map(|(_, response)| response.status())),
    }
    // A resting bid 5 % under the reference on each symbol (nothing sells there).
    let mut bids = BTreeMap::new();
    for (symbol, price, lot) in SYMBOLS {
        let below = rust_decimal::Decimal::from_str_exact(price).expect("price") * rust_decimal::Decimal::new(95, 2);
        let body =
            format!(r#"{{"symbol":"{symbol}","side":"buy","type":"limit","price":"{below}","quantity":"{lot}"}}"#);
        let reply = common::http(port, "POST", "/api/orders", key, None, &body);
        assert_eq!((reply.status, reply.json()["status"].as_str()), (201, Some("ACCEPTED")), "{}", reply.body);
        bids.insert(symbol, reply.json()["orderId"].as_str().expect("orderId").to_owned());
    }
    let btc = &bids["BTC-USD"];
    let streamed = orders_ws.until("the bid on /ws/orders", |m| m["type"] == "order" && m["order"]["orderId"] == **btc);
    assert_eq!(streamed["order"]["status"], "ACCEPTED", "{streamed}");
    let mut streamed_bids = BTreeMap::new();
    apply_levels(&mut streamed_bids, &market_ws.until("the bid in a book delta", |m| m["type"] == "delta")["bids"]);
    assert_eq!(streamed_bids, BTreeMap::from([("57000".to_owned(), "0.01".to_owned())]));
    let book = common::eventually("the bid on the order book", Duration::from_secs(30), || {
        let book = common::http(port, "GET", "/api/market-data/orderbook/BTC-USD?depth=5", None, None, "").json();
        (book["bids"].as_array().map(Vec::len) == Some(1)).then_some(book)
    });
    assert_eq!(book["bids"], serde_json::json!([["57000", "0.01"]]), "{book}");
    let bad_depth = common::http(port, "GET", "/api/market-data/orderbook/BTC-USD?depth=0", None, None, "");
    assert_eq!(bad_depth.status, 400, "{}", bad_depth.body);
    // Funds held for the three bids, on two shards (SOL-USD shares BTC-USD's), still add up to the deposit.
    let (available, reserved) = common::eventually("the bids' holds", Duration::from_secs(30), || {
        balance(port, KEYS[0], "USD").filter(|(_, reserved)| *reserved > rust_decimal::Decimal::ZERO)
    });
    assert_eq!(available + reserved, deposit, "held {reserved}, free {available}");
    let amended = common::http(
        port,
        "PATCH",
        &format!("/api/orders/{btc}"),
        key,
        None,
        r#"{"price":"57500.00","quantity":"0.0300"}"#,
    );
    assert_eq!(amended.status, 200, "{}", amended.body);
    let order = amended.json();
    assert_eq!((order["price"].as_str(), order["quantity"].as_str()), (Some("57500"), Some("0.03")), "{order}");
    let off_tick = common::http(port, "PATCH", &format!("/api/orders/{btc}"), key, None, r#"{"price":"57500.001"}"#);
    assert_eq!(off_tick.status, 400, "{}", off_tick.body);
    let empty = common::http(port, "PATCH", &format!("/api/orders/{btc}"), key, None, "{}");
    assert_eq!(empty.status, 400, "{}", empty.body);
    let foreign =
        common::http(port, "PATCH", &format!("/api/orders/{btc}"), Some(KEYS[1]), None, r#"{"price":"1.00"}"#);
    assert_eq!(foreign.status, 404, "another account's order: {}", foreign.body);

    let one = common::http(port, "DELETE", "/api/orders?symbol=ETH-USD", key, None, "");
    assert_eq!(one.status, 200, "{}", one.body);
    let ids = |reply: &common::Reply| -> BTreeSet<String> {
        reply.json()["cancelled"]
            .as_array()
            .expect("list")
            .iter()
            .map(|o| o["orderId"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(ids(&one), BTreeSet::from([bids["ETH-USD"].clone()]));
    let rest = common::http(port, "DELETE", "/api/orders", key, None, "");
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!(ids(&rest), BTreeSet::from([bids["BTC-USD"].clone(), bids["SOL-USD"].clone()]), "every shard asked");
    let again = common::http(port, "DELETE", &format!("/api/orders/{btc}"), key, None, "");
    assert_eq!(again.status, 404, "no longer working: {}", again.body);
    let open = common::http(port, "GET", "/api/orders?status=open", key, None, "").json();
    assert_eq!(open["orders"].as_array().map(Vec::len), Some(0), "{open}");
    let unknown = common::http(port, "DELETE", "/api/orders?symbol=DOGE-USD", key, None, "");
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let cancelled = orders_ws.until("the cancel on /ws/orders", |m| {
        m["type"] == "order" && m["order"]["orderId"] == **btc && m["order"]["status"] == "CANCELLED"
    });
    assert_eq!(cancelled["order"]["quantity"], "0.03", "the amended order: {cancelled}");
    // Deltas (sampled, so the amend and the cancel may come as one) empty the streamed book.
    for _ in 0..100 {
        if streamed_bids.is_empty() {
            break;
        }
        apply_levels(&mut streamed_bids, &market_ws.until("a book delta", |m| m["type"] == "delta")["bids"]);
    }
    assert!(streamed_bids.is_empty(), "the streamed book after the cancel: {streamed_bids:?}");
    common::eventually("the holds released", Duration::from_secs(30), || {
        (balance(port, KEYS[0], "USD") == Some((deposit, rust_decimal::Decimal::ZERO))).then_some(())
    });

    // The kill switch reaches every shard: account 1's resting bid is cancelled, its new
    // orders are refused on any symbol, account 2 trades on; releasing it lets 1 trade again.
    let bid = |key: &str, symbol: &str| {
        let price = if symbol == "BTC-USD" { "57000.00" } else { "2850.00" };
        let quantity = if symbol == "BTC-USD" { "0.0100" } else { "0.100" };
        let body =
            format!(r#"{{"symbol":"{symbol}","side":"buy","type":"limit","price":"{price}","quantity":"{quantity}"}}"#);
        common::http(port, "POST", "/api/orders", Some(key), None, &body)
    };
    let resting = bid(KEYS[0], "BTC-USD");
    assert_eq!(resting.status, 201, "{}", resting.body);
    let switch = |key: &str, body: &str| common::http(port, "POST", "/api/admin/kill-switch", Some(key), None, body);
    let engage = r#"{"scope":"account","accountId":"1","engaged":true,"cancelOpenOrders":true}"#;
    assert_eq!(switch(KEYS[0], engage).status, 403, "not an admin");
    assert_eq!(switch(KEYS[1], r#"{"scope":"global","accountId":"1","engaged":true}"#).status, 400, "bad scope");
    let engaged = switch(KEYS[1], engage);
    assert_eq!((engaged.status, &engaged.json()["engaged"]), (200, &serde_json::json!(true)), "{}", engaged.body);
    let id = resting.json()["orderId"].as_str().expect("orderId").to_owned();
    let order = common::http(port, "GET", &format!("/api/orders/{id}"), key, None, "").json();
    assert_eq!(order["status"], "CANCELLED", "cancelled by the switch: {order}");
    for symbol in ["BTC-USD", "ETH-USD"] {
        let refused = bid(KEYS[0], symbol);
        assert_eq!(
            (refused.status, refused.json()["rejectReason"].as_str()),
            (200, Some("account_kill_switch")),
            "{symbol}: {}",
            refused.body
        );
        // Listed by the ingress that refused it, as `--role all` lists its refusals.
        let id = refused.json()["orderId"].as_str().expect("orderId").to_owned();
        let listed = common::http(port, "GET", &format!("/api/orders/{id}"), key, None, "").json();
        assert_eq!(
            (listed["status"].as_str(), listed["rejectReason"].as_str(), listed["symbol"].as_str()),
            (Some("REJECTED"), Some("account_kill_switch"), Some(symbol)),
            "{listed}"
        );
    }
    let other = bid(KEYS[1], "ETH-USD");
    assert_eq!(other.status, 201, "another account trades on: {}", other.body);
    let release = r#"{"scope":"account","accountId":"1","engaged":false}"#;
    assert_eq!(switch(KEYS[1], release).status, 200);
    let again = bid(KEYS[0], "ETH-USD");
    assert_eq!(again.status, 201, "released: {}", again.body);
    for key in KEYS {
        assert_eq!(common::http(port, "DELETE", "/api/orders", Some(key), None, "").status, 200);
    }
}

/// The caller's USD `(available, reserved)` per shard, from `GET /api/account/ledgers`.
fn usd_ledgers(port: u16, key: &str) -> BTreeMap<i64, (rust_decimal::Decimal, rust_decimal::Decimal)> {
    let reply = common::http(port, "GET", "/api/account/ledgers", Some(key), None, "").json();
    let ledgers = reply["ledgers"].as_array().unwrap_or_else(|| panic!("ledgers: {reply}"));
    ledgers
        .iter()
        .filter_map(|ledger| {
            let usd = ledger["balances"].as_array()?.iter().find(|b| b["asset"] == "USD")?;
            Some((ledger["shard"].as_i64()?, (amount(&usd["available"]), amount(&usd["reserved"]))))
        })
        .collect()
}

/// Funds live in per-shard sub-ledgers (ADR 0003 point 5). An order needing more than its
/// shard holds is refused although the account's total would cover it; a transfer moves
/// funds from one shard to another; a copy of the credit (as a source shard's republishing
/// after a crash would send) changes nothing; bad transfers are refused with typed errors
/// and change nothing.
#[test]
fn funds_move_between_shards_once_and_bad_transfers_change_nothing() {
    use rust_decimal::Decimal;
    let d = Deployment::new("tt-");
    let _engine = d.spawn("engine", "engine-a", &["--listen", "127.0.0.1:0"]);
    let port = common::free_port();
    let _ingress = d.spawn("ingress", "ingress", &["--listen", &format!("127.0.0.1:{port}")]);
    wait_ready(port);
    let shard = |symbol: &str| i64::from(oms_kafka::topics::partition_for_key(symbol.as_bytes(), PARTITIONS));
    let (btc, eth) = (shard("BTC-USD"), shard("ETH-USD"));
    assert!(btc != eth && shard("SOL-USD") == btc, "the test expects ETH-USD apart, BTC-USD with SOL-USD");
    let key = KEYS[0];
    // The market file's 10 000 000 USD, split over the two shards that own a symbol.
    let share = Decimal::from(5_000_000);
    common::eventually("the opening sub-ledgers", Duration::from_secs(60), || {
        let ledgers = usd_ledgers(port, key);
        (ledgers.len() == 2 && ledgers.values().all(|b| *b == (share, Decimal::ZERO))).then_some(())
    });
    let listed = common::http(port, "GET", "/api/account/ledgers", Some(key), None, "").json();
    let symbols_of = |shard: i64| listed["ledgers"][shard as usize]["symbols"].clone();
    assert_eq!(symbols_of(btc), serde_json::json!(["BTC-USD", "SOL-USD"]), "{listed}");
    assert_eq!(symbols_of(eth), serde_json::json!(["ETH-USD"]), "{listed}");
    assert_eq!(listed["ledgers"].as_array().map(Vec::len), Some(PARTITIONS as usize), "{listed}");

    // 100 BTC at 60 000 needs 6 000 000 USD: more than BTC-USD's shard holds.
    let big_bid = r#"{"symbol":"BTC-USD","side":"buy","type":"limit","price":"60000.00","quantity":"100"}"#;
    let refused = common::http(port, "POST", "/api/orders", Some(key), None, big_bid);
    assert_eq!(refused.json()["rejectReason"], "insufficient_balance", "{}", refused.body);

    let transfer = |idempotency: Option<&str>, body: &str| {
        common::http(port, "POST", "/api/account/transfers", Some(key), idempotency, body)
    };
    let body = |amount: &str, from: &str, to: &str| {
        format!(r#"{{"asset":"USD","amount":"{amount}","fromSymbol":"{from}","toSymbol":"{to}"}}"#)
    };
    let moved = transfer(None, &body("2000000", "ETH-USD", "BTC-USD"));
    assert_eq!(moved.status, 202, "{}", moved.body);
    let reply = moved.json();
    assert_eq!(
        (reply["status"].as_str(), reply["amount"].as_str(), reply["fromShard"].as_i64(), reply["toShard"].as_i64()),
        (Some("SENT"), Some("2000000"), Some(eth), Some(btc)),
        "{reply}"
    );
    // Idempotent: the same key answers the first reply and moves the funds once.
    let once = body("100000", "ETH-USD", "SOL-USD");
    let first = transfer(Some("move-sol-1"), &once);
    let second = transfer(Some("move-sol-1"), &once);
    assert_eq!((first.status, second.status), (202, 202), "{} / {}", first.body, second.body);
    assert!(second.replayed(), "the retry is the stored reply");
    assert_eq!(first.json()["transferId"], second.json()["transferId"]);

    // Refused, each with its code, none moving anything.
    let refusals = [
        (body("1", "BTC-USD", "SOL-USD"), 400, "same_shard"),
        (body("3000000", "ETH-USD", "BTC-USD"), 422, "insufficient_balance"),
        (body("0", "ETH-USD", "BTC-USD"), 400, "invalid_amount"),
        (body("-5", "ETH-USD", "BTC-USD"), 400, "invalid_amount"),
        (body("1.0000001", "ETH-USD", "BTC-USD"), 400, "invalid_amount"),
        (body("1", "DOGE-USD", "BTC-USD"), 400, "unknown_symbol"),
        (body("1", "ETH-USD", "BTC-USD").replace("\"USD\"", "\"XRP\""), 400, "unknown_asset"),
        (r#"{"asset":"USD","amount":1,"fromSymbol":"ETH-USD","toSymbol":"BTC-USD"}"#.to_owned(), 400, "invalid_body"),
    ];
    for (request, status, code) in refusals {
        let reply = transfer(None, &request);
        assert_eq!((reply.status, reply.json()["code"].as_str()), (status, Some(code)), "{request}: {}", reply.body);
    }
    let anonymous = common::http(port, "POST", "/api/account/transfers", None, None, &body("1", "ETH-USD", "BTC-USD"));
    assert_eq!(anonymous.status, 401);

    let expected = BTreeMap::from([(btc, Decimal::from(7_100_000)), (eth, Decimal::from(2_900_000))]);
    let totals = |ledgers: &BTreeMap<i64, (Decimal, Decimal)>| -> BTreeMap<i64, Decimal> {
        ledgers.iter().map(|(shard, (available, reserved))| (*shard, available + reserved)).collect()
    };
    common::eventually("the credits on BTC-USD's shard", Duration::from_secs(60), || {
        (totals(&usd_ledgers(port, key)) == expected).then_some(())
    });
    let placed = common::http(port, "POST", "/api/orders", Some(key), None, big_bid);
    assert_eq!((placed.status, placed.json()["status"].as_str()), (201, Some("ACCEPTED")), "{}", placed.body);

    // A copy of a credit on the destination's partition, as a source republishing after a
    // crash would send: the destination has applied that source position and skips it.
    let config = common::kafka_test_config(&d.brokers, &d.prefix, PARTITIONS);
    let orders = oms_kafka::TailConsumer::from_beginning(&config, &config.topics.orders.name).expect("orders tail");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let credit = loop {
        assert!(std::time::Instant::now() < deadline, "no transferIn on orders");
        let Some(record) = orders.poll(Duration::from_millis(200)).expect("orders") else { continue };
        let message: serde_json::Value = serde_json::from_slice(&record.payload).expect("json");
        if message["type"] == "transferIn" && message["amount"] == "2000000" {
            break record;
        }
    };
    assert_eq!(i64::from(credit.partition), btc, "sent to the destination's partition");
    let producer = oms_kafka::KafkaProducer::new(&config).expect("producer");
    let copy = producer.publish_to(&config.topics.orders.name, Some(credit.partition), "copy", &credit.payload);
    copy.expect("enqueued").wait(Duration::from_secs(30)).expect("the copy is on the partition");
    // A later order on the same partition is decided after the copy; once the shard's
    // sample shows it, the copy has been decided too, and moved nothing.
    let later = r#"{"symbol":"BTC-USD","side":"buy","type":"limit","price":"59000.00","quantity":"1"}"#;
    let later = common::http(port, "POST", "/api/orders", Some(key), None, later);
    assert_eq!(later.status, 201, "{}", later.body);
    let ledgers = common::eventually("the later order's hold", Duration::from_secs(60), || {
        let ledgers = usd_ledgers(port, key);
        (ledgers.get(&btc).is_some_and(|(_, reserved)| *reserved > Decimal::from(6_000_000))).then_some(ledgers)
    });
    assert_eq!(totals(&ledgers), expected, "the copy credited nothing; the refusals moved nothing: {ledgers:?}");
    let total: Decimal = totals(&ledgers).values().sum();
    assert_eq!(total, Decimal::from(10_000_000), "the account's funds are conserved");
}

/// An account's limits in the split deployment (docs/api.md, "Limits in the split
/// deployment"): an admin sets them once on the ingress; per-order limits bind on every
/// shard, account-wide counts are divided over the shards that trade, so the account as a
/// whole never exceeds them; `GET` shows them put back together; bad requests are refused
/// with typed errors before anything is sent.
#[test]
fn risk_limits_are_divided_over_the_trading_shards_and_bind_the_account_as_a_whole() {
    let d = Deployment::new("lim-");
    let _engine = d.spawn("engine", "engine-a", &["--listen", "127.0.0.1:0"]);
    let port = common::free_port();
    let _ingress = d.spawn("ingress", "ingress", &["--listen", &format!("127.0.0.1:{port}")]);
    wait_ready(port);
    let (trader, admin) = (KEYS[0], KEYS[1]);
    let get = || common::http(port, "GET", "/api/risk/limits", Some(trader), None, "").json();
    assert_eq!(get()["openOrdersMax"], 10_000, "the defaults until any are set");

    // 2 BTC or 2 ETH per order (base minor units, scale 8); three working orders in all.
    let limits = serde_json::json!({
        "orderQuantityMax": "200000000", "orderNotionalMax": "10000000000000", "positionMax": "100000000000",
        "openOrdersMax": 3, "ordersPerSecondMax": 1000, "dailyLossMax": "1000000000000",
        "concentrationMaxBps": 10000, "concentrationFloor": "0"
    });
    let put = |key: &str, query: &str, body: &str| {
        common::http(port, "PUT", &format!("/api/risk/limits{query}"), Some(key), None, body)
    };
    let with = |field: &str, value: serde_json::Value| {
        let mut body = limits.clone();
        body[field] = value;
        body.to_string()
    };
    let refusals = [
        (admin, "", limits.to_string(), 400, "invalid_query"),
        (admin, "?accountId=x", limits.to_string(), 400, "invalid_query"),
        (admin, "?accountId=1", with("openOrdersMax", serde_json::json!(-1)), 400, "invalid_field"),
        (admin, "?accountId=1", with("dailyLossMax", serde_json::json!("-5")), 400, "invalid_field"),
        (admin, "?accountId=1", with("concentrationMaxBps", serde_json::json!(5000)), 400, "unsupported_limit"),
    ];
    for (key, query, body, status, code) in refusals {
        let reply = put(key, query, &body);
        assert_eq!(
            (reply.status, reply.json()["code"].as_str()),
            (status, Some(code)),
            "{query} {body}: {}",
            reply.body
        );
    }
    assert_eq!(put(trader, "?accountId=1", &limits.to_string()).status, 403, "admins only");
    assert_eq!(common::http(port, "PUT", "/api/risk/limits?accountId=1", None, None, "{}").status, 401);

    let set = put(admin, "?accountId=1", &limits.to_string());
    assert_eq!((set.status, set.json()), (200, limits.clone()), "{}", set.body);
    common::eventually("both shards' reports put back together", Duration::from_secs(60), || {
        (get() == limits).then_some(())
    });

    // Three working orders over two shards: the lower shard's share is 2, the other's 1.
    let shard = |symbol: &str| oms_kafka::topics::partition_for_key(symbol.as_bytes(), PARTITIONS);
    let (first, second) = if shard("BTC-USD") < shard("ETH-USD") {
        (("BTC-USD", "56000.00"), ("ETH-USD", "2800.00"))
    } else {
        (("ETH-USD", "2800.00"), ("BTC-USD", "56000.00"))
    };
    let place = |(symbol, price): (&str, &str), quantity: &str| {
        let body =
            format!(r#"{{"symbol":"{symbol}","side":"buy","type":"limit","price":"{price}","quantity":"{quantity}"}}"#);
        let reply = common::http(port, "POST", "/api/orders", Some(trader), None, &body);
        (reply.status, reply.json()["rejectReason"].as_str().map(str::to_owned))
    };
    let accepted = (201, None);
    // As `--role all`: a refused order is a 200 with its reason (the order was recorded, rejected).
    let refused = |reason: &str| (200, Some(reason.to_owned()));
    // The per-order limit binds on both shards, whole.
    assert_eq!(place(first, "2.5"), refused("order_quantity_limit"));
    assert_eq!(place(second, "2.5"), refused("order_quantity_limit"));
    assert_eq!(place(first, "2"), accepted);
    assert_eq!(place(first, "1"), accepted);
    assert_eq!(place(first, "1"), refused("open_orders_limit"), "the first shard's share is used up");
    assert_eq!(place(second, "1"), accepted);
    assert_eq!(place(second, "1"), refused("open_orders_limit"), "so is the second's: three in all");
    let open = common::http(port, "GET", "/api/orders?status=open", Some(trader), None, "").json();
    assert_eq!(open["orders"].as_array().map(Vec::len), Some(3), "{open}");
}

/// `POST /api/risk/validate` on the ingress: the shard that owns the symbol runs every check
/// of a new order against its state at that point of its stream (its sub-ledger of the
/// account's funds, the orders before it) and answers; placing the same order gets the same
/// verdict; validating places, reserves and counts nothing.
#[test]
fn validation_answers_as_the_owning_shard_would_decide_and_places_nothing() {
    let d = Deployment::new("val-");
    let _engine = d.spawn("engine", "engine-a", &["--listen", "127.0.0.1:0"]);
    let port = common::free_port();
    let _ingress = d.spawn("ingress", "ingress", &["--listen", &format!("127.0.0.1:{port}")]);
    wait_ready(port);
    let (buyer, seller) = (KEYS[0], KEYS[1]);
    let validate = |key: Option<&str>, body: &str| common::http(port, "POST", "/api/risk/validate", key, None, body);
    let verdict = |body: &str| {
        let reply = validate(Some(buyer), body);
        assert_eq!(reply.status, 200, "{body}: {}", reply.body);
        let answer = reply.json();
        (answer["ok"].as_bool().expect("ok"), answer["rejectReason"].as_str().map(str::to_owned))
    };
    let bid = |quantity: &str, post_only: bool| {
        format!(
            r#"{{"symbol":"BTC-USD","side":"buy","type":"limit","price":"56000.00","quantity":"{quantity}","postOnly":{post_only}}}"#
        )
    };

    // Refused before anything is sent, with the codes placing an order gives.
    assert_eq!(validate(None, &bid("1", false)).status, 401);
    let refusals = [
        ("{", 400, "invalid_body"),
        (r#"{"symbol":"XRP-USD","side":"buy","type":"limit","price":"1","quantity":"1"}"#, 404, "unknown_symbol"),
    ];
    for (body, status, code) in refusals {
        let reply = validate(Some(buyer), body);
        assert_eq!((reply.status, reply.json()["code"].as_str()), (status, Some(code)), "{body}: {}", reply.body);
        let placed = common::http(port, "POST", "/api/orders", Some(buyer), None, body);
        assert_eq!((placed.status, placed.json()["code"].as_str()), (status, Some(code)), "placing {body}");
    }

    // Each shard holds a part of the 10 000 000 USD; 100 BTC at 56 000 needs 5 600 000 on
    // BTC-USD's shard alone: more than its part, though less than the account's total.
    assert_eq!(verdict(&bid("100", false)), (false, Some("insufficient_balance".to_owned())));
    assert_eq!(verdict(&bid("1", true)), (true, None), "a post-only bid on an empty book");

    // An ask arrives on the same partition: the next check sees it.
    let ask = r#"{"symbol":"BTC-USD","side":"sell","type":"limit","price":"56000.00","quantity":"1"}"#;
    assert_eq!(common::http(port, "POST", "/api/orders", Some(seller), None, ask).status, 201);
    assert_eq!(verdict(&bid("1", true)), (false, Some("post_only_would_take".to_owned())));

    // Placing gets the same verdicts; validating placed and reserved nothing.
    let open = |key: &str| {
        let list = common::http(port, "GET", "/api/orders?status=open", Some(key), None, "").json();
        list["orders"].as_array().map(Vec::len)
    };
    assert_eq!(open(buyer), Some(0), "validations place nothing");
    assert_eq!(open(seller), Some(1));
    let deposit = rust_decimal::Decimal::from(10_000_000);
    common::eventually("the buyer's balance, untouched", Duration::from_secs(30), || {
        (balance(port, buyer, "USD") == Some((deposit, rust_decimal::Decimal::ZERO))).then_some(())
    });
    for (body, reason) in [(bid("100", false), "insufficient_balance"), (bid("1", true), "post_only_would_take")] {
        let placed = common::http(port, "POST", "/api/orders", Some(buyer), None, &body).json();
        assert_eq!(placed["rejectReason"].as_str(), Some(reason), "placing {body}: {placed}");
    }
}

/// A market without instruments: no shard trades, so none can hold limits; setting them is
/// refused (409), not answered 200 with nothing sent.
#[test]
fn limits_on_a_market_without_instruments_are_refused() {
    let d = Deployment::new("lim0-");
    std::fs::write(
        d.dir.path().join("market.toml"),
        "instrument = []\n[[asset]]\nid = 0\ncode = \"USD\"\nscale = 6\n[[deposit]]\naccount = 1\nasset = \"USD\"\namount = \"100\"\n",
    )
    .expect("market file");
    let port = common::free_port();
    let _ingress = d.spawn("ingress", "ingress", &["--listen", &format!("127.0.0.1:{port}")]);
    wait_ready(port);
    let limits = r#"{"orderQuantityMax":"1","orderNotionalMax":"1","positionMax":"1","openOrdersMax":1,"ordersPerSecondMax":1,"dailyLossMax":"1","concentrationMaxBps":10000,"concentrationFloor":"0"}"#;
    let reply = common::http(port, "PUT", "/api/risk/limits?accountId=1", Some(KEYS[1]), None, limits);
    assert_eq!((reply.status, reply.json()["code"].as_str()), (409, Some("no_trading_shard")), "{}", reply.body);
}
