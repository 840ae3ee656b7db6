//! `oms serve --redis` against a real Redis (scripts/services.sh): idempotency shared by two
//! processes, caches equal to the REST API, and a Redis outage mid-run (a private
//! redis-server this test kills and restarts).

mod common;

use std::time::Duration;

use common::{Oms, Private, eventually, free_port, http, service_env, unique};
use serde_json::Value;

fn redis_url() -> String {
    let url = service_env("OMS_TEST_REDIS_URL");
    let reachable = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
    assert!(
        reachable.is_ok(),
        "OMS_TEST_REDIS_URL={url} unreachable ({reachable:?}): run `bash scripts/services.sh start`"
    );
    url
}

fn redis_get(url: &str, key: &str) -> Option<String> {
    let mut connection =
        redis::Client::open(url).and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2))).ok()?;
    redis::cmd("GET").arg(key).query::<Option<String>>(&mut connection).ok().flatten()
}

/// Whether a key exists (idempotency records are binary, not text).
fn redis_exists(url: &str, key: &str) -> Option<()> {
    let mut connection =
        redis::Client::open(url).and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2))).ok()?;
    redis::cmd("EXISTS").arg(key).query::<i64>(&mut connection).ok().filter(|n| *n == 1).map(drop)
}

fn redis_ttl(url: &str, key: &str) -> i64 {
    let mut connection = redis::Client::open(url)
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        .expect("redis connection");
    redis::cmd("TTL").arg(key).query(&mut connection).expect("TTL")
}

fn ping(port: u16) -> bool {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(500)))
        .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
        .is_ok()
}

#[test]
fn two_processes_sharing_redis_answer_a_repeat_with_the_first_response() {
    let url = redis_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Oms::start(&dir.path().join("a"), &dir.path().join("a.log"), &["--redis", &url]);
    let b = Oms::start(&dir.path().join("b"), &dir.path().join("b.log"), &["--redis", &url]);
    let (key_a, key_b) = (a.key(2), b.key(2));

    // Sequential: B replays A's response byte for byte (A's order id), and places nothing.
    let idem = unique("seq-");
    let first = a.place(&key_a, Some(&idem), "buy", "59000.00", "0.01");
    assert_eq!(first.status, 201, "{}", first.body);
    let repeat = b.place(&key_b, Some(&idem), "buy", "59000.00", "0.01");
    assert_eq!((repeat.status, repeat.replayed()), (201, true), "{}", repeat.body);
    assert_eq!(repeat.body, first.body, "the second process answers with the first's response");
    let b_orders = http(b.port, "GET", "/api/orders", Some(&key_b), None, "").json();
    assert_eq!(b_orders["orders"].as_array().map(Vec::len), Some(0), "B placed nothing: {b_orders}");

    // Same key, different body, on the other process: refused.
    let reused = b.place(&key_b, Some(&idem), "buy", "59000.00", "0.02");
    assert_eq!(reused.status, 422, "{}", reused.body);

    // Concurrent duplicates on both processes: Redis lets exactly one run.
    for round in 0..5 {
        let idem = unique(&format!("race{round}-"));
        let (port_a, port_b) = (a.port, b.port);
        let (ka, kb, ia, ib) = (key_a.clone(), key_b.clone(), idem.clone(), idem.clone());
        let body = r#"{"symbol":"BTC-USD","side":"buy","type":"limit","price":"58000.00","quantity":"0.01"}"#;
        let ta = std::thread::spawn(move || http(port_a, "POST", "/api/orders", Some(&ka), Some(&ia), body));
        let tb = std::thread::spawn(move || http(port_b, "POST", "/api/orders", Some(&kb), Some(&ib), body));
        let (ra, rb) = (ta.join().expect("thread a"), tb.join().expect("thread b"));
        assert_eq!((ra.status, rb.status), (201, 201), "round {round}: {} / {}", ra.body, rb.body);
        assert_eq!(ra.body, rb.body, "round {round}: one response for both");
        assert_eq!(u8::from(ra.replayed()) + u8::from(rb.replayed()), 1, "round {round}: exactly one ran");
    }
    let count = |oms: &Oms, key: &str| {
        http(oms.port, "GET", "/api/orders?limit=500", Some(key), None, "").json()["orders"]
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(count(&a, &key_a) + count(&b, &key_b), 1 + 5, "one order per key across both processes");
    a.stop();
    b.stop();
}

#[test]
fn caches_hold_what_the_rest_api_says() {
    let url = redis_url();
    let dir = tempfile::tempdir().expect("tempdir");
    let oms = Oms::start(&dir.path().join("data"), &dir.path().join("oms.log"), &["--redis", &url]);
    let (seller, buyer) = (oms.key(2), oms.key(3));
    let resting = oms.place(&seller, None, "sell", "60500.00", "0.05").json();
    let taker = oms.place(&buyer, None, "buy", "60500.00", "0.02").json();
    let ids = [resting["orderId"].as_str().expect("id").to_owned(), taker["orderId"].as_str().expect("id").to_owned()];

    for (id, key) in ids.iter().zip([&seller, &buyer]) {
        let rest = http(oms.port, "GET", &format!("/api/orders/{id}"), Some(key), None, "").json();
        let cached = eventually(&format!("order:{id} equal to the REST order"), Duration::from_secs(10), || {
            let cached: Value = serde_json::from_str(&redis_get(&url, &format!("order:{id}"))?).ok()?;
            (cached == rest).then_some(cached)
        });
        assert_eq!(cached["status"], rest["status"]);
        let ttl = redis_ttl(&url, &format!("order:{id}"));
        assert!((1..=3_600).contains(&ttl), "order TTL 1 h, got {ttl}");
    }
    for (account, key) in [(2, &seller), (3, &buyer)] {
        let rest = http(oms.port, "GET", "/api/risk/positions", Some(key), None, "").json();
        let expected = rest["positions"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["symbol"] == "BTC-USD"))
            .cloned()
            .expect("BTC-USD position");
        assert_ne!(expected["quantity"], "0", "the trade moved the position");
        eventually(&format!("position:{account}:BTC-USD equal to REST"), Duration::from_secs(10), || {
            let cached: Value = serde_json::from_str(&redis_get(&url, &format!("position:{account}:BTC-USD"))?).ok()?;
            (cached == expected).then_some(())
        });
    }
    // The book: same levels as the REST route (its `sequence` is the sampling point).
    let book = http(oms.port, "GET", "/api/market-data/orderbook/BTC-USD", None, None, "").json();
    eventually("orderbook:BTC-USD with the REST levels", Duration::from_secs(10), || {
        let cached: Value = match redis_get(&url, "orderbook:BTC-USD") {
            Some(text) => serde_json::from_str(&text).ok()?,
            // 1 s TTL: a quiet book expires; change it so the poller writes it again.
            None => {
                oms.place(&seller, None, "sell", "61000.00", "0.01");
                return None;
            }
        };
        let now = http(oms.port, "GET", "/api/market-data/orderbook/BTC-USD", None, None, "").json();
        (cached["bids"] == now["bids"] && cached["asks"] == now["asks"] && cached["symbol"] == "BTC-USD").then_some(())
    });
    assert!(book["asks"].as_array().is_some_and(|a| !a.is_empty()), "{book}");
    oms.stop();
}

#[test]
fn redis_stopped_mid_run_loses_no_order_degrades_and_recovers() {
    redis_url();
    let server = service_env("OMS_TEST_REDIS_SERVER");
    let port = free_port();
    let mut private = Private::start(
        &server,
        &["--port", "{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        port,
        ping,
    );
    let url = format!("redis://127.0.0.1:{port}");
    let dir = tempfile::tempdir().expect("tempdir");
    let oms = Oms::start(&dir.path().join("data"), &dir.path().join("oms.log"), &["--redis", &url]);
    let key = oms.key(2);
    let before = unique("before-");
    assert_eq!(oms.place(&key, Some(&before), "buy", "59000.00", "0.01").status, 201);
    eventually("the first key stored in Redis", Duration::from_secs(10), || {
        redis_exists(&url, &format!("idempotency:2:{before}"))
    });
    assert_eq!(oms.ready()["status"], "ok");

    private.kill();
    let mut placed = 1;
    let mut repeated_key = None;
    for n in 0..20 {
        let idem = unique(&format!("down{n}-"));
        let reply = oms.place(&key, Some(&idem), "buy", "59000.00", "0.01");
        assert_eq!(reply.status, 201, "order {n} during the outage: {}", reply.body);
        placed += 1;
        repeated_key.get_or_insert((idem, reply.body));
    }
    let ready = eventually("/ready degraded by redis", Duration::from_secs(10), || {
        let ready = oms.ready();
        (ready["status"] == "degraded").then_some(ready)
    });
    assert_eq!(ready["ready"], true, "degraded, still serving: {ready}");
    let reason = ready["dependencies"]["redis"]["reason"].as_str().unwrap_or_default().to_owned();
    assert!(reason.contains("redis unreachable"), "{ready}");
    assert_eq!(oms.metric("oms_redis_up"), 0.0);
    assert!(oms.metric("oms_redis_idempotency_fallbacks_total") >= 1.0);
    // A repeat during the outage is still answered from this process's own store.
    let (idem, body) = repeated_key.expect("one key");
    let repeat = oms.place(&key, Some(&idem), "buy", "59000.00", "0.01");
    assert_eq!((repeat.status, repeat.replayed(), repeat.body), (201, true, body));
    let listed = http(oms.port, "GET", "/api/orders?limit=500", Some(&key), None, "").json();
    assert_eq!(listed["orders"].as_array().map(Vec::len), Some(placed), "no order lost, none doubled");

    private.restart(ping);
    eventually("/ready ok again after Redis returned", Duration::from_secs(30), || {
        (oms.ready()["status"] == "ok").then_some(())
    });
    assert_eq!(oms.metric("oms_redis_up"), 1.0);
    let after = unique("after-");
    assert_eq!(oms.place(&key, Some(&after), "buy", "59000.00", "0.01").status, 201);
    eventually("keys stored in Redis again", Duration::from_secs(10), || {
        redis_exists(&url, &format!("idempotency:2:{after}"))
    });
    oms.stop();
}
