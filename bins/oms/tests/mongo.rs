//! `oms serve --mongo` against a real MongoDB-protocol server (SecantusDB, started by
//! scripts/services.sh): MongoDB holds exactly the orders, executions and positions the
//! engine reports; restarts resume from the checkpoint through the journal; an outage
//! mid-run (a private server this test kills and restarts) is caught up exactly; history
//! older than memory is served from MongoDB.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::db::Db;
use common::{Oms, Private, eventually, free_port, http, service_env};
use mongodb::bson::{Document, doc};
use serde_json::Value;

/// The in-process persister's checkpoint in `db` (`None` while there is none or reads fail).
fn persisted_checkpoint(db: &Db) -> Option<i64> {
    let found = db
        .runtime
        .block_on(async { db.db.collection::<Document>("checkpoints").find_one(doc! { "_id": "persister" }).await })
        .ok()??;
    found.get_i64("sequence").ok()
}

/// What the engine reports over REST, in the shape compared with MongoDB.
#[derive(Debug, PartialEq, Eq)]
struct Reported {
    /// orderId → (status, filled quantity).
    orders: BTreeMap<String, (String, String)>,
    /// (tradeId, orderId) per fill.
    executions: BTreeMap<(String, String), String>,
    /// (account, symbol) → (quantity, realized P&L).
    positions: BTreeMap<(String, String), (String, String)>,
}

fn reported(oms: &Oms, accounts: &[u32]) -> Reported {
    let mut r = Reported { orders: BTreeMap::new(), executions: BTreeMap::new(), positions: BTreeMap::new() };
    for &account in accounts {
        let key = oms.key(account);
        let mut cursor = String::new();
        loop {
            let page = http(oms.port, "GET", &format!("/api/orders?limit=500{cursor}"), Some(&key), None, "").json();
            for o in page["orders"].as_array().expect("orders") {
                let status = o["status"].as_str().expect("status").to_owned();
                if status != "REJECTED" {
                    let id = o["orderId"].as_str().expect("id").to_owned();
                    r.orders.insert(id, (status, o["filledQuantity"].as_str().expect("filled").to_owned()));
                }
            }
            match page["nextCursor"].as_str() {
                Some(next) => cursor = format!("&cursor={next}"),
                None => break,
            }
        }
        let fills = http(oms.port, "GET", "/api/executions?limit=500", Some(&key), None, "").json();
        for e in fills["executions"].as_array().expect("executions") {
            let id =
                (e["tradeId"].as_str().expect("trade").to_owned(), e["orderId"].as_str().expect("order").to_owned());
            r.executions.insert(id, e["quantity"].as_str().expect("qty").to_owned());
        }
        let positions = http(oms.port, "GET", "/api/risk/positions", Some(&key), None, "").json();
        for p in positions["positions"].as_array().expect("positions") {
            if p["quantity"] != "0" || p["realizedPnl"] != "0" {
                r.positions.insert(
                    (account.to_string(), p["symbol"].as_str().expect("symbol").to_owned()),
                    (p["quantity"].as_str().expect("q").to_owned(), p["realizedPnl"].as_str().expect("pnl").to_owned()),
                );
            }
        }
    }
    r
}

/// The same view from MongoDB (`None` while a read fails).
fn persisted(db: &Db) -> Option<Reported> {
    let mut r = Reported { orders: BTreeMap::new(), executions: BTreeMap::new(), positions: BTreeMap::new() };
    for o in db.all("orders")? {
        let filled = o.get_str("filled").ok()?.to_owned();
        r.orders.insert(o.get_i64("orderId").ok()?.to_string(), (o.get_str("status").ok()?.to_owned(), filled));
    }
    let executions = db.all("executions")?;
    for e in &executions {
        let id = (e.get_i64("tradeId").ok()?.to_string(), e.get_i64("orderId").ok()?.to_string());
        r.executions.insert(id, e.get_str("quantity").ok()?.to_owned());
    }
    // One document per fill: a duplicate would collapse in the map, so count too.
    if executions.len() != r.executions.len() {
        return None;
    }
    for p in db.all("positions")? {
        let id = (p.get_i64("accountId").ok()?.to_string(), p.get_str("symbol").ok()?.to_owned());
        r.positions.insert(id, (p.get_str("quantity").ok()?.to_owned(), p.get_str("realizedPnl").ok()?.to_owned()));
    }
    Some(r)
}

/// Waits until MongoDB holds exactly what the engine reports.
fn assert_persisted_exactly(oms: &Oms, db: &Db, accounts: &[u32], timeout: Duration) -> Reported {
    let expected = reported(oms, accounts);
    let mut last = None;
    let matched = std::time::Instant::now() + timeout;
    loop {
        let now = persisted(db);
        if now.as_ref() == Some(&expected) {
            return expected;
        }
        last = now.or(last);
        assert!(
            std::time::Instant::now() < matched,
            "MongoDB never matched the engine.\nengine: {expected:?}\nmongo:  {last:?}\nlog: {}",
            oms.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Resting orders and crossing ones from two accounts: accepts, partial and full fills.
fn trade_some(oms: &Oms, rounds: usize) {
    let (seller, buyer) = (oms.key(2), oms.key(3));
    for n in 0..rounds {
        let price = format!("{}.00", 60_000 + (n % 5) * 10);
        assert_eq!(oms.place(&seller, None, "sell", &price, "0.03").status, 201);
        assert_eq!(oms.place(&buyer, None, "buy", &price, "0.02").status, 201);
        assert_eq!(oms.place(&buyer, None, "buy", "59000.00", "0.01").status, 201);
    }
}

#[test]
fn mongo_holds_exactly_what_the_engine_reports_across_restarts() {
    let db = Db::shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let oms = Oms::start(&data, &dir.path().join("1.log"), &["--mongo", &db.url]);
    trade_some(&oms, 10);
    let first = assert_persisted_exactly(&oms, &db, &[2, 3], Duration::from_secs(30));
    assert!(first.orders.len() >= 30 && first.executions.len() >= 20, "{first:?}");
    assert!(first.positions.len() == 2, "both accounts hold positions: {first:?}");
    oms.stop();

    // Orders while no persister runs: MongoDB is behind by them.
    let oms = Oms::start(&data, &dir.path().join("2.log"), &[]);
    trade_some(&oms, 4);
    oms.stop();
    let checkpoint = persisted_checkpoint(&db).expect("checkpoint written");

    // Back with --mongo: resumes from the checkpoint through the journal, no gap, no duplicate.
    let oms = Oms::start(&data, &dir.path().join("3.log"), &["--mongo", &db.url]);
    trade_some(&oms, 3);
    let last = assert_persisted_exactly(&oms, &db, &[2, 3], Duration::from_secs(30));
    assert_eq!(last.orders.len(), first.orders.len() + 7 * 3, "every order exactly once");
    assert!(persisted_checkpoint(&db).expect("checkpoint") > checkpoint, "checkpoint advanced");
    oms.stop();
}

#[test]
fn mongo_stopped_mid_run_falls_behind_and_catches_up_exactly() {
    Db::shared();
    let secantusd = service_env("OMS_TEST_SECANTUSD");
    let storage = tempfile::tempdir().expect("storage dir");
    let storage_path = storage.path().to_str().expect("utf-8 path").to_owned();
    let port = free_port();
    let ping = |port: u16| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
    let mut private = Private::start(
        &secantusd,
        // Durable commits: the server is SIGKILLed, and acknowledged writes must survive it as
        // they would on MongoDB with journaling (the persister trusts an acknowledgement).
        &[
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
            "--storage-path",
            &storage_path,
            "--sync-on-commit",
            "--log-level",
            "WARNING",
        ],
        port,
        ping,
    );
    let db = Db::new(&format!("mongodb://127.0.0.1:{port}"));
    let dir = tempfile::tempdir().expect("tempdir");
    let oms = Oms::start(&dir.path().join("data"), &dir.path().join("oms.log"), &["--mongo", &db.url]);
    trade_some(&oms, 5);
    assert_persisted_exactly(&oms, &db, &[2, 3], Duration::from_secs(30));

    private.kill();
    // Orders keep being acknowledged: MongoDB is never on the ack path.
    trade_some(&oms, 10);
    let ready = eventually("/ready degraded by mongo", Duration::from_secs(30), || {
        let ready = oms.ready();
        (ready["status"] == "degraded" && ready["dependencies"]["mongo"]["status"] == "degraded").then_some(ready)
    });
    assert_eq!(ready["ready"], true, "{ready}");
    assert!(oms.metric("oms_mongo_lag_sequences") > 0.0, "the persister is behind");
    assert_eq!(oms.metric("oms_mongo_up"), 0.0);

    private.restart(ping);
    let caught_up = assert_persisted_exactly(&oms, &db, &[2, 3], Duration::from_secs(60));
    assert_eq!(caught_up.orders.len(), 15 * 3, "{caught_up:?}");
    eventually("/ready ok after catching up", Duration::from_secs(30), || {
        (oms.ready()["status"] == "ok").then_some(())
    });
    assert!(oms.metric("oms_mongo_write_retries_total") >= 1.0);
    oms.stop();
}

#[test]
fn history_older_than_memory_is_served_from_mongo() {
    let db = Db::shared();
    let dir = tempfile::tempdir().expect("tempdir");
    let oms = Oms::start(
        &dir.path().join("data"),
        &dir.path().join("oms.log"),
        &["--mongo", &db.url, "--history-orders-max", "4"],
    );
    let key = oms.key(2);
    let mut ids = Vec::new();
    for _ in 0..12 {
        // IOC against an empty side: accepted, then cancelled (final, so memory may drop it).
        let body = r#"{"symbol":"BTC-USD","side":"buy","type":"limit","timeInForce":"IOC","price":"59000.00","quantity":"0.01"}"#;
        let reply = http(oms.port, "POST", "/api/orders", Some(&key), None, body);
        assert_eq!(reply.status, 201, "{}", reply.body);
        ids.push(reply.json()["orderId"].as_str().expect("id").parse::<u64>().expect("numeric id"));
    }
    eventually("all 12 orders in MongoDB", Duration::from_secs(30), || (db.all("orders")?.len() == 12).then_some(()));
    let listed: Vec<u64> = http(oms.port, "GET", "/api/orders?limit=500", Some(&key), None, "").json()["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| o["orderId"].as_str().and_then(|s| s.parse().ok()).expect("id"))
        .collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first, "memory holds 4; the rest comes from MongoDB, in order, once each");
    // Pages continue across the memory/archive boundary.
    let page: Value = http(oms.port, "GET", "/api/orders?limit=5", Some(&key), None, "").json();
    let next = page["nextCursor"].as_str().expect("cursor").to_owned();
    let rest: Value =
        http(oms.port, "GET", &format!("/api/orders?limit=500&cursor={next}"), Some(&key), None, "").json();
    assert_eq!(rest["orders"].as_array().map(Vec::len), Some(7));
    let oldest = http(oms.port, "GET", &format!("/api/orders/{}", ids[0]), Some(&key), None, "");
    assert_eq!(oldest.status, 200, "an order only MongoDB still has: {}", oldest.body);
    assert_eq!(oldest.json()["status"], "CANCELLED");
    // Owner only, from the archive too.
    let other = http(oms.port, "GET", &format!("/api/orders/{}", ids[0]), Some(&oms.key(3)), None, "");
    assert_eq!(other.status, 404);
    oms.stop();
}
