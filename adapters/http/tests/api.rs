//! The HTTP/WebSocket API over real sockets against a server on an ephemeral port, with the
//! real pipeline and a journal in a temporary directory.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
mod common;

use oms_core::pipeline::{EngineHandle, FsyncPolicy};
use oms_core::prelude::*;
use oms_http::auth::{ApiKeys, Principal};
use oms_http::{AppState, HttpConfig, router};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const ALICE: &str = "key-alice-admin";
const BOB: &str = "key-bob";
const CAROL: &str = "key-carol";

fn engine_config() -> EngineConfig {
    EngineConfig {
        instruments_max: 4,
        assets_max: 4,
        accounts_max: 16,
        book_orders_max: 4_096,
        stop_orders_max: 256,
        ..EngineConfig::default()
    }
}

fn genesis() -> Vec<Action> {
    let mut actions = common::btc_usd_market();
    for account in 1..=3 {
        actions.push(Action::Deposit(BalanceTransfer {
            account: AccountId(account),
            asset: AssetId(0),
            amount: 1_000_000_000_000,
        }));
        actions.push(Action::Deposit(BalanceTransfer {
            account: AccountId(account),
            asset: AssetId(1),
            amount: 10_000_000_000,
        }));
    }
    actions
}

struct Server {
    base: String,
    ws: String,
    engine: EngineHandle,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

async fn start(dir: &Path, config: HttpConfig) -> Server {
    let mut builder = Engine::builder().config(engine_config()).journal(dir, FsyncPolicy::Batch).ring_slots(1 << 12);
    for action in genesis() {
        builder = builder.genesis(action);
    }
    let engine = builder.start().expect("engine starts");
    let mut keys = ApiKeys::default();
    keys.insert(ALICE, Principal { account: AccountId(1), admin: true });
    keys.insert(BOB, Principal { account: AccountId(2), admin: false });
    keys.insert(CAROL, Principal { account: AccountId(3), admin: false });
    let config = HttpConfig {
        book_poll: Duration::from_millis(20),
        history_from: Some((dir.to_path_buf(), engine_config())),
        ..config
    };
    let state = AppState::start(engine.clone(), keys, config).await.expect("http starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .expect("serves");
    });
    Server {
        base: format!("http://{addr}"),
        ws: format!("ws://{addr}"),
        engine,
        http: reqwest::Client::new(),
        stop: Some(stop),
        task: Some(task),
    }
}

impl Server {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn place(&self, key: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, "/api/orders", Some(key), Some(body)).await
    }

    async fn state_hash(&self) -> u64 {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut engine = self.engine.clone();
        let ticket = engine.try_read(Box::new(move |e| {
            let _ = tx.send(e.state_hash());
        }));
        ticket.expect("read queued");
        rx.await.expect("read ran")
    }

    async fn stop(mut self) -> oms_core::pipeline::ShutdownReport {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let engine = self.engine.clone();
        drop(self);
        tokio::task::spawn_blocking(move || engine.shutdown().expect("engine shuts down")).await.expect("join")
    }
}

fn limit(side: &str, price: &str, quantity: &str) -> Value {
    json!({ "symbol": "BTC-USD", "side": side, "type": "limit", "price": price, "quantity": quantity })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_ownership_and_admin_scope() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), HttpConfig::default()).await;
    let (status, body) = server.call(reqwest::Method::GET, "/api/orders", None, None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    let (status, _) = server.call(reqwest::Method::GET, "/api/orders", Some("nope"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, order) = server.place(BOB, limit("buy", "49000.00", "0.5")).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let path = format!("/api/orders/{}", order["orderId"].as_str().expect("id"));
    assert_eq!(
        server.call(reqwest::Method::GET, &path, Some(CAROL), None).await.0,
        StatusCode::NOT_FOUND,
        "another account's order is invisible"
    );
    assert_eq!(server.call(reqwest::Method::DELETE, &path, Some(CAROL), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(server.call(reqwest::Method::GET, &path, Some(BOB), None).await.0, StatusCode::OK);
    let kill = json!({ "scope": "account", "accountId": "3", "engaged": true, "cancelOpenOrders": true });
    let (status, body) =
        server.call(reqwest::Method::POST, "/api/admin/kill-switch", Some(BOB), Some(kill.clone())).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    assert_eq!(
        server.call(reqwest::Method::POST, "/api/admin/kill-switch", Some(ALICE), Some(kill)).await.0,
        StatusCode::OK
    );
    let (status, body) = server.place(CAROL, limit("buy", "49000.00", "0.1")).await;
    assert_eq!((status, body["rejectReason"].as_str()), (StatusCode::OK, Some("account_kill_switch")));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_lifecycle_fills_positions_and_executions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), HttpConfig::default()).await;
    let (status, bid) = server.place(BOB, limit("buy", "49000.00", "0.5")).await;
    assert_eq!((status, bid["status"].as_str()), (StatusCode::CREATED, Some("ACCEPTED")));
    let id = bid["orderId"].as_str().expect("id").to_owned();
    let (_, open) = server.call(reqwest::Method::GET, "/api/orders?status=open", Some(BOB), None).await;
    assert_eq!(open["orders"][0]["orderId"].as_str(), Some(id.as_str()));
    let (status, amended) = server
        .call(reqwest::Method::PATCH, &format!("/api/orders/{id}"), Some(BOB), Some(json!({ "price": "49500.00" })))
        .await;
    assert_eq!((status, amended["price"].as_str()), (StatusCode::OK, Some("49500")));
    let (status, filled) = server.place(CAROL, limit("sell", "49400.00", "0.2")).await;
    assert_eq!(
        (status, filled["status"].as_str(), filled["filledQuantity"].as_str()),
        (StatusCode::CREATED, Some("FILLED"), Some("0.2"))
    );
    assert_eq!(filled["fills"][0]["price"].as_str(), Some("49500"), "trades at the maker's price");
    assert_eq!(filled["fills"][0]["liquidity"].as_str(), Some("taker"));
    let (_, executions) = server.call(reqwest::Method::GET, "/api/executions", Some(BOB), None).await;
    assert_eq!(executions["executions"][0]["liquidity"].as_str(), Some("maker"));
    assert_eq!(executions["executions"][0]["feeAsset"].as_str(), Some("BTC"), "buyers pay fees in base");
    let (_, positions) = server.call(reqwest::Method::GET, "/api/risk/positions", Some(BOB), None).await;
    assert_eq!(positions["positions"][0]["quantity"].as_str(), Some("0.2"));
    let (status, cancelled) = server.call(reqwest::Method::DELETE, &format!("/api/orders/{id}"), Some(BOB), None).await;
    assert_eq!(
        (status, cancelled["status"].as_str(), cancelled["filledQuantity"].as_str()),
        (StatusCode::OK, Some("CANCELLED"), Some("0.2"))
    );
    assert_eq!(
        server.call(reqwest::Method::DELETE, &format!("/api/orders/{id}"), Some(BOB), None).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, rejected) = server.place(BOB, json!({ "symbol": "BTC-USD", "side": "sell", "type": "limit", "price": "1.00", "quantity": "0.1", "postOnly": true })).await;
    assert_eq!((status, rejected["status"].as_str()), (StatusCode::OK, Some("REJECTED")));
    assert_eq!(rejected["rejectReason"].as_str(), Some("price_outside_band"));
    let (_, validate) =
        server.call(reqwest::Method::POST, "/api/risk/validate", Some(BOB), Some(limit("buy", "50000.00", "99"))).await;
    assert_eq!(
        validate,
        json!({ "ok": false, "rejectReason": "insufficient_balance", "message": "insufficient balance" })
    );
    server.place(BOB, limit("buy", "48000.00", "0.1")).await;
    let (_, mass) = server.call(reqwest::Method::DELETE, "/api/orders?symbol=BTC-USD", Some(BOB), None).await;
    assert_eq!(mass["cancelled"].as_array().map(Vec::len), Some(1));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_repeat_concurrent_and_conflict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), HttpConfig::default()).await;
    let send = |key: &'static str, body: Value| {
        let request = server
            .http
            .post(format!("{}/api/orders", server.base))
            .bearer_auth(BOB)
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let response = request.send().await.expect("request");
            (
                response.status(),
                response.headers().get("idempotency-replayed").is_some(),
                response.bytes().await.expect("body"),
            )
        }
    };
    let first = send("k-1", limit("buy", "49000.00", "0.1")).await;
    let repeat = send("k-1", limit("buy", "49000.00", "0.1")).await;
    assert_eq!(first.0, StatusCode::CREATED);
    assert_eq!((repeat.0, repeat.1), (StatusCode::CREATED, true));
    assert_eq!(first.2, repeat.2, "a repeat answers the first response byte for byte");
    let (a, b) =
        tokio::join!(send("k-2", limit("buy", "48000.00", "0.1")), send("k-2", limit("buy", "48000.00", "0.1")));
    assert_eq!(a.2, b.2, "concurrent repeats get the same answer");
    let conflict = send("k-1", limit("buy", "49001.00", "0.1")).await;
    assert_eq!(conflict.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, list) = server.call(reqwest::Method::GET, "/api/orders", Some(BOB), None).await;
    assert_eq!(list["orders"].as_array().map(Vec::len), Some(2), "two keys, two orders");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_are_problems_and_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), HttpConfig::default()).await;
    let with = |field: &str, value: Value| {
        let mut body = limit("buy", "49000.00", "0.1");
        body[field] = value;
        body
    };
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        ("malformed json", "{\"symbol\": ".into(), StatusCode::BAD_REQUEST, "invalid_json"),
        ("not an object", "[1,2]".into(), StatusCode::BAD_REQUEST, "invalid_field"),
        (
            "missing quantity",
            json!({ "symbol": "BTC-USD", "side": "buy", "type": "limit", "price": "1" }).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        ("unknown field", with("leverage", json!("10")).to_string(), StatusCode::BAD_REQUEST, "invalid_field"),
        (
            "number instead of string",
            with("quantity", json!(0.1)).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        ("bad side", with("side", json!("hold")).to_string(), StatusCode::BAD_REQUEST, "invalid_field"),
        ("bad type", with("type", json!("iceberg")).to_string(), StatusCode::BAD_REQUEST, "invalid_field"),
        ("bad tif", with("timeInForce", json!("DAY")).to_string(), StatusCode::BAD_REQUEST, "invalid_field"),
        ("negative quantity", with("quantity", json!("-0.1")).to_string(), StatusCode::BAD_REQUEST, "not_positive"),
        ("zero quantity", with("quantity", json!("0")).to_string(), StatusCode::BAD_REQUEST, "not_positive"),
        ("zero price", with("price", json!("0")).to_string(), StatusCode::BAD_REQUEST, "not_positive"),
        ("off-tick price", with("price", json!("49000.001")).to_string(), StatusCode::BAD_REQUEST, "off_tick"),
        ("off-lot quantity", with("quantity", json!("0.00001")).to_string(), StatusCode::BAD_REQUEST, "off_lot"),
        ("NaN", with("price", json!("NaN")).to_string(), StatusCode::BAD_REQUEST, "invalid_decimal"),
        ("infinity", with("price", json!("inf")).to_string(), StatusCode::BAD_REQUEST, "invalid_decimal"),
        ("exponent", with("quantity", json!("1e3")).to_string(), StatusCode::BAD_REQUEST, "invalid_decimal"),
        (
            "huge",
            with("quantity", json!("99999999999999999999999999999")).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_decimal",
        ),
        (
            "too large for lots",
            with("quantity", json!("9999999999999999999.0001")).to_string(),
            StatusCode::BAD_REQUEST,
            "overflow",
        ),
        ("empty string", with("price", json!("")).to_string(), StatusCode::BAD_REQUEST, "invalid_decimal"),
        (
            "beyond 28 digits (would round onto the tick)",
            with("price", json!("49000.0000000000000000000000001")).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_decimal",
        ),
        (
            "bad client order id",
            with("clientOrderId", json!("has space")).to_string(),
            StatusCode::BAD_REQUEST,
            "invalid_client_order_id",
        ),
        ("bad expire time", with("expireTime", json!("tomorrow")).to_string(), StatusCode::BAD_REQUEST, "invalid_time"),
        ("unknown symbol", with("symbol", json!("DOGE-USD")).to_string(), StatusCode::NOT_FOUND, "unknown_symbol"),
        (
            "oversized body",
            format!("{{\"symbol\":\"{}\"}}", "A".repeat(20_000)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
        ),
    ];
    let before = server.state_hash().await;
    for (name, body, status, code) in cases {
        let response = server
            .http
            .post(format!("{}/api/orders", server.base))
            .bearer_auth(BOB)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), status, "{name}");
        assert_eq!(
            response.headers().get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{name}"
        );
        let problem: Value = response.json().await.expect("json");
        assert_eq!(problem["code"].as_str(), Some(code), "{name}: {problem}");
    }
    for (path, code) in [
        ("/api/orders?limit=0", "invalid_query"),
        ("/api/orders?status=weird", "invalid_query"),
        ("/api/orders/abc", "unknown_order"),
    ] {
        let (_, problem) = server.call(reqwest::Method::GET, path, Some(BOB), None).await;
        assert_eq!(problem["code"].as_str(), Some(code), "{path}");
    }
    let (status, _) =
        server.call(reqwest::Method::GET, "/api/market-data/orderbook/BTC-USD?depth=9999", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The read itself is a journaled heartbeat, which the state hash ignores by design.
    assert_eq!(server.state_hash().await, before, "bad input changed state");
    server.stop().await;
}

async fn next_json(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
    wait: Duration,
) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return serde_json::from_str(&text).ok(),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_book_deltas_rebuild_the_rest_book_and_orders_stream() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), HttpConfig::default()).await;
    let (mut market, _) = tokio_tungstenite::connect_async(format!("{}/ws/market-data", server.ws)).await.expect("ws");
    market
        .send(Message::Text(
            json!({ "op": "subscribe", "channels": ["book", "trades", "ticker", "candles:1m"], "symbols": ["BTC-USD"] })
                .to_string()
                .into(),
        ))
        .await
        .expect("send");
    let (mut orders, _) =
        tokio_tungstenite::connect_async(format!("{}/ws/orders?apiKey={BOB}", server.ws)).await.expect("ws");
    let snapshot = next_json(&mut market, Duration::from_secs(5)).await.expect("snapshot");
    assert_eq!(snapshot["type"].as_str(), Some("snapshot"));
    let mut book: [BTreeMap<String, String>; 2] = Default::default();
    let mut sequence = snapshot["sequence"].as_u64().expect("sequence");
    let apply = |book: &mut [BTreeMap<String, String>; 2], message: &Value| {
        for (side, key) in [(0, "bids"), (1, "asks")] {
            for level in message[key].as_array().into_iter().flatten() {
                let (price, quantity) =
                    (level[0].as_str().expect("p").to_owned(), level[1].as_str().expect("q").to_owned());
                if quantity == "0" {
                    book[side].remove(&price);
                } else {
                    book[side].insert(price, quantity);
                }
            }
        }
    };
    apply(&mut book, &snapshot);
    for (key, side, price) in
        [(BOB, "buy", "49900.00"), (BOB, "buy", "49800.00"), (CAROL, "sell", "50100.00"), (CAROL, "sell", "50200.00")]
    {
        assert_eq!(server.place(key, limit(side, price, "0.3")).await.0, StatusCode::CREATED);
    }
    let (status, trade) = server.place(CAROL, limit("sell", "49900.00", "0.1")).await;
    assert_eq!((status, trade["status"].as_str()), (StatusCode::CREATED, Some("FILLED")));
    let (mut trades_seen, mut candles_seen, mut tickers_seen) = (0, 0, 0);
    while let Some(message) = next_json(&mut market, Duration::from_millis(600)).await {
        match message["channel"].as_str() {
            Some("book") => {
                assert_eq!(message["prevSequence"].as_u64(), Some(sequence), "no gap in the delta chain");
                sequence = message["sequence"].as_u64().expect("sequence");
                apply(&mut book, &message);
            }
            Some("trades") => trades_seen += 1,
            Some("candles") => candles_seen += 1,
            Some("ticker") => {
                tickers_seen += 1;
                assert_eq!(message["last"].as_str(), Some("49900"));
            }
            _ => {}
        }
    }
    assert!(
        trades_seen >= 1 && candles_seen >= 1 && tickers_seen >= 1,
        "trades {trades_seen} candles {candles_seen} tickers {tickers_seen}"
    );
    let (_, rest) = server.call(reqwest::Method::GET, "/api/market-data/orderbook/BTC-USD?depth=50", None, None).await;
    let as_map = |levels: &Value| -> BTreeMap<String, String> {
        levels
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| (l[0].as_str().expect("p").to_owned(), l[1].as_str().expect("q").to_owned()))
            .collect()
    };
    assert_eq!(book[0], as_map(&rest["bids"]), "bids from deltas = REST snapshot");
    assert_eq!(book[1], as_map(&rest["asks"]), "asks from deltas = REST snapshot");
    assert_eq!(book[0].get("49900"), Some(&"0.2".to_owned()));
    let (_, prices) = server.call(reqwest::Method::GET, "/api/market-data/prices/BTC-USD", None, None).await;
    assert_eq!(
        (prices["last"].as_str(), prices["bestBid"].as_str(), prices["bestAsk"].as_str()),
        (Some("49900"), Some("49900"), Some("50100"))
    );
    let (_, candles) =
        server.call(reqwest::Method::GET, "/api/market-data/candles/BTC-USD?interval=1m", None, None).await;
    assert_eq!(candles["candles"][0]["close"].as_str(), Some("49900"));
    let mut kinds = Vec::new();
    while let Some(message) = next_json(&mut orders, Duration::from_millis(300)).await {
        kinds.push((
            message["type"].as_str().unwrap_or("").to_owned(),
            message["order"]["status"].as_str().unwrap_or("").to_owned(),
        ));
    }
    assert!(kinds.contains(&("order".into(), "ACCEPTED".into())), "{kinds:?}");
    assert!(kinds.contains(&("order".into(), "PARTIALLY_FILLED".into())), "{kinds:?}");
    assert!(kinds.iter().any(|(k, _)| k == "fill"), "{kinds:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_retry_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), HttpConfig { rate_per_key_per_s: 3, ..HttpConfig::default() }).await;
    let mut limited = None;
    for _ in 0..20 {
        let response =
            server.http.get(format!("{}/api/account", server.base)).bearer_auth(BOB).send().await.expect("request");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
    }
    let response = limited.expect("20 requests at 3/s must hit the limit");
    assert!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|s| s >= 1)
    );
    assert_eq!(response.json::<Value>().await.expect("json")["code"].as_str(), Some("rate_limited"));
    let (status, _) = server.call(reqwest::Method::GET, "/api/account", Some(CAROL), None).await;
    assert_eq!(status, StatusCode::OK, "limits are per key");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_orders_fills_and_balances() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), HttpConfig::default()).await;
    let (_, resting) = server.place(BOB, limit("buy", "49000.00", "0.5")).await;
    server.place(CAROL, limit("sell", "49000.00", "0.2")).await;
    let (_, orders_before) = server.call(reqwest::Method::GET, "/api/orders", Some(BOB), None).await;
    let (_, fills_before) = server.call(reqwest::Method::GET, "/api/executions", Some(CAROL), None).await;
    let (_, positions_before) = server.call(reqwest::Method::GET, "/api/risk/positions", Some(BOB), None).await;
    let report = server.stop().await;
    let server = start(dir.path(), HttpConfig::default()).await;
    assert_eq!(server.state_hash().await, report.state_hash);
    let (_, orders_after) = server.call(reqwest::Method::GET, "/api/orders", Some(BOB), None).await;
    let (_, fills_after) = server.call(reqwest::Method::GET, "/api/executions", Some(CAROL), None).await;
    let (_, positions_after) = server.call(reqwest::Method::GET, "/api/risk/positions", Some(BOB), None).await;
    assert_eq!(orders_after, orders_before);
    assert_eq!(fills_after, fills_before);
    assert_eq!(positions_after, positions_before);
    let path = format!("/api/orders/{}", resting["orderId"].as_str().expect("id"));
    let (_, order) = server.call(reqwest::Method::GET, &path, Some(BOB), None).await;
    assert_eq!(order["status"].as_str(), Some("PARTIALLY_FILLED"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_ready_metrics_and_instruments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), HttpConfig::default()).await;
    assert_eq!(server.call(reqwest::Method::GET, "/health", None, None).await.0, StatusCode::OK);
    let response = server.http.get(format!("{}/health", server.base)).send().await.expect("request");
    assert!(
        response.headers().get("x-request-id").is_some_and(|v| v.len() >= 32),
        "every response carries a request id"
    );
    let response = server
        .http
        .get(format!("{}/health", server.base))
        .header("x-request-id", "trace-me")
        .send()
        .await
        .expect("request");
    assert_eq!(
        response.headers().get("x-request-id").and_then(|v| v.to_str().ok()),
        Some("trace-me"),
        "a caller's id is kept"
    );
    let (status, ready) = server.call(reqwest::Method::GET, "/ready", None, None).await;
    assert_eq!((status, ready["ready"].as_bool()), (StatusCode::OK, Some(true)));
    server.place(BOB, limit("buy", "49000.00", "0.1")).await;
    let (_, metrics) = server.call(reqwest::Method::GET, "/metrics", None, None).await;
    let text = metrics.as_str().expect("text");
    assert!(text.contains("oms_orders_total{outcome=\"accepted\",reason=\"none\"} 1"), "{text}");
    assert!(text.contains("oms_http_request_duration_seconds_count"));
    assert!(text.contains("oms_ring_in_flight 0"), "{text}");
    let fsyncs = text.lines().find_map(|l| l.strip_prefix("oms_journal_fsyncs ")).and_then(|v| v.parse::<f64>().ok());
    assert!(fsyncs.is_some_and(|n| n >= 1.0), "the journal synced at least once: {text}");
    let (_, instruments) = server.call(reqwest::Method::GET, "/api/instruments", None, None).await;
    assert_eq!(instruments[0]["tickSize"].as_str(), Some("0.01"));
    assert_eq!(server.call(reqwest::Method::GET, "/api/demo/accounts", None, None).await.0, StatusCode::NOT_FOUND);
    let (status, openapi) = server.call(reqwest::Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(openapi["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for (path, methods) in [
        ("/api/account", &["get"][..]),
        ("/api/orders", &["get", "post", "delete"][..]),
        ("/api/orders/{orderId}", &["get", "delete", "patch"][..]),
        ("/api/executions", &["get"][..]),
        ("/api/risk/validate", &["post"][..]),
        ("/api/risk/positions", &["get"][..]),
        ("/api/risk/limits", &["get", "put"][..]),
        ("/api/admin/kill-switch", &["post"][..]),
        ("/api/instruments", &["get"][..]),
        ("/api/market-data/prices/{symbol}", &["get"][..]),
        ("/api/market-data/orderbook/{symbol}", &["get"][..]),
        ("/api/market-data/candles/{symbol}", &["get"][..]),
        ("/api/demo/accounts", &["get"][..]),
    ] {
        for method in methods {
            assert!(openapi["paths"][path][method].is_object(), "OpenAPI lacks {method} {path}");
        }
    }
    assert!(openapi["components"]["schemas"]["PlaceOrder"].is_object());
    // The body `PUT /api/risk/limits` parses is the schema it documents, under its old name.
    let limits = &openapi["components"]["schemas"]["LimitsView"]["properties"];
    assert!(limits["openOrdersMax"].is_object() && limits["concentrationFloor"].is_object(), "{limits}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_read_by_owner_set_by_admin_and_enforced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), HttpConfig::default()).await;
    let (status, limits) = server.call(reqwest::Method::GET, "/api/risk/limits", Some(BOB), None).await;
    assert_eq!((status, limits["openOrdersMax"].as_u64()), (StatusCode::OK, Some(10_000)));
    let mut tight = limits.clone();
    tight["openOrdersMax"] = json!(1);
    let (status, _) =
        server.call(reqwest::Method::PUT, "/api/risk/limits?accountId=2", Some(BOB), Some(tight.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "setting limits needs admin scope");
    let (status, set) =
        server.call(reqwest::Method::PUT, "/api/risk/limits?accountId=2", Some(ALICE), Some(tight)).await;
    assert_eq!((status, set["openOrdersMax"].as_u64()), (StatusCode::OK, Some(1)));
    assert_eq!(server.place(BOB, limit("buy", "49000.00", "0.1")).await.0, StatusCode::CREATED);
    let (status, refused) = server.place(BOB, limit("buy", "48000.00", "0.1")).await;
    assert_eq!((status, refused["rejectReason"].as_str()), (StatusCode::OK, Some("open_orders_limit")));
    let mut bad = limits;
    bad["positionMax"] = json!("-5");
    let (status, problem) =
        server.call(reqwest::Method::PUT, "/api/risk/limits?accountId=2", Some(ALICE), Some(bad)).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_field")));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projections_recover_after_the_pump_falls_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A tiny pump buffer and a burst straight into the engine force a lag.
    let server = start(dir.path(), HttpConfig { pump_events_buffered_max: 64, ..HttpConfig::default() }).await;
    let mut engine = server.engine.clone();
    let burst = tokio::task::spawn_blocking(move || {
        let mut last = None;
        for n in 0..3_000u64 {
            let order = NewOrder {
                account: AccountId(2),
                client_order_id: ClientOrderId::new(&format!("burst-{n}")).expect("valid"),
                instrument: InstrumentId(0),
                side: Side::Buy,
                order_type: OrderType::Limit,
                price: Some(Price(4_800_000 + (n % 50) as i64)),
                stop_price: None,
                quantity: Quantity(10),
                time_in_force: TimeInForce::Gtc,
                expire_time: None,
                post_only: false,
                reduce_only: false,
                self_trade_prevention: SelfTradePrevention::ExpireMaker,
            };
            last = Some(engine.submit_blocking(Action::NewOrder(order)).expect("submits"));
        }
        engine.wait(last.expect("some"), Duration::from_secs(30)).expect("burst done")
    });
    burst.await.expect("burst");
    // The API recovers: a new order is answered, and history holds the whole burst.
    let (status, body) = server.place(BOB, limit("buy", "48000.00", "0.1")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut listed = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/orders?limit=500&cursor={c}"),
            None => "/api/orders?limit=500".to_owned(),
        };
        let (_, page) = server.call(reqwest::Method::GET, &path, Some(BOB), None).await;
        listed += page["orders"].as_array().map_or(0, Vec::len);
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(listed, 3_001, "every order of the burst is in the rebuilt history");
    let (_, metrics) = server.call(reqwest::Method::GET, "/metrics", None, None).await;
    let rebuilds = metrics
        .as_str()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("oms_projection_rebuilds ")))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(rebuilds.is_some_and(|n| n >= 1.0), "the burst must have forced a rebuild: {rebuilds:?}");
    let (status, ready) = server.call(reqwest::Method::GET, "/ready", None, None).await;
    assert_eq!((status, ready["ready"].as_bool()), (StatusCode::OK, Some(true)));
    server.stop().await;
}
