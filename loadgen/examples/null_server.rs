//! A server that answers the OMS's order routes and does nothing else: the ceiling of HTTP
//! plus `loadgen` on a machine, for comparison with the real numbers (docs/benchmarks.md
//! §7.3). It parses each order body and answers with an order of the same shape and size
//! as `oms serve` does, so only the OMS's own work is missing from the measurement.
//!
//! ```text
//! cargo run --release -p loadgen --example null_server -- 127.0.0.1:18080 2
//! loadgen --target http://127.0.0.1:18080 --api-keys keys.json --mid-price 60000 --rate 20000
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{delete, post};
use serde_json::{Value, json};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

async fn place(Json(order): Json<Value>) -> (StatusCode, Json<Value>) {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let answer = json!({
        "orderId": id.to_string(), "clientOrderId": format!("gen-{id}"), "accountId": "1",
        "symbol": order["symbol"], "side": order["side"], "type": order["type"], "timeInForce": order["timeInForce"],
        "price": order["price"], "stopPrice": null, "quantity": order["quantity"], "filledQuantity": "0",
        "remainingQuantity": order["quantity"], "averagePrice": null, "status": "ACCEPTED", "rejectReason": null,
        "postOnly": false, "reduceOnly": false, "expireTime": null, "createdAt": "2026-11-22T12:00:00.000000000Z",
        "updatedAt": "2026-11-22T12:00:00.000000000Z", "fills": []
    });
    (StatusCode::CREATED, Json(answer))
}

async fn cancel(Path(id): Path<String>) -> Json<Value> {
    Json(json!({ "orderId": id, "status": "CANCELLED" }))
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:18080".to_owned());
    let threads: usize = args.next().map_or(Ok(2), |t| t.parse())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()?;
    runtime.block_on(async move {
        let app = axum::Router::new().route("/api/orders", post(place)).route("/api/orders/{order_id}", delete(cancel));
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        eprintln!("null server on {listen} ({threads} threads)");
        axum::serve(listener, app).await?;
        Ok(())
    })
}
