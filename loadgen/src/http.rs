//! HTTP target: orders over the REST API of a running `oms serve`, open loop.
//!
//! A scheduler issues requests at planned times; at most `connections` are in flight
//! (HTTP/1.1 keep-alive, one request per connection at a time). A request that has to wait
//! for a free connection is charged that wait, because latency runs from the planned time.
//! The flow: 60 % resting limits away from the touch, 20 % marketable IOC, 20 % cancels of
//! the caller's recent resting orders.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::report::{Report, Tally};

/// Options of an HTTP run.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// `http://host:port`.
    pub base: String,
    /// Planned requests per second.
    pub rate: u64,
    /// Measured time.
    pub duration: Duration,
    /// Unmeasured time before.
    pub warmup: Duration,
    /// API keys to spread the flow over.
    pub api_keys: Vec<String>,
    /// Connections (requests in flight) at most.
    pub connections: usize,
    /// Symbol to trade.
    pub symbol: String,
    /// Mid price to quote around; read from the market when `None`.
    pub mid_price: Option<Decimal>,
    /// Flow seed.
    pub seed: u64,
    /// Send a unique `Idempotency-Key` with every write (measures the idempotency store).
    pub idempotency_keys: bool,
}

/// Reads `[{"accountId","apiKey"}]` (the `--demo` accounts file).
pub fn read_api_keys(path: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let entries: Vec<Value> = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let keys: Vec<String> = entries.iter().filter_map(|e| e["apiKey"].as_str().map(str::to_owned)).collect();
    anyhow::ensure!(!keys.is_empty(), "{} holds no apiKey entries", path.display());
    Ok(keys)
}

/// Runs the load against `options.base`.
pub async fn run(options: HttpOptions) -> anyhow::Result<Report> {
    anyhow::ensure!(options.rate > 0 && options.connections > 0, "rate and connections must be positive");
    let client = reqwest::Client::builder().pool_max_idle_per_host(options.connections).tcp_nodelay(true).build()?;
    let mid = reference_mid(&client, &options).await?;
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let recent: Arc<Mutex<Vec<VecDeque<String>>>> = Arc::new(Mutex::new(vec![VecDeque::new(); options.api_keys.len()]));
    let permits = Arc::new(Semaphore::new(options.connections));
    let warmup = (options.warmup.as_secs_f64() * options.rate as f64) as u64;
    let total = warmup + (options.duration.as_secs_f64() * options.rate as f64) as u64;
    let start = Instant::now();
    let mut rng = options.seed | 1;
    let mut tasks = Vec::with_capacity(total as usize);
    let mut sent = 0;
    // Unique per run: Redis remembers keys for a day, and a repeat would measure a replay.
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    for i in 0..total {
        let planned = start + Duration::from_nanos((u128::from(i) * 1_000_000_000 / u128::from(options.rate)) as u64);
        tokio::time::sleep_until(planned.into()).await;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let measured = i >= warmup;
        sent += u64::from(measured);
        let key_index = (rng % options.api_keys.len() as u64) as usize;
        let idempotency = options.idempotency_keys.then(|| format!("lg-{run:x}-{i}"));
        let (client, base, key, symbol) =
            (client.clone(), options.base.clone(), options.api_keys[key_index].clone(), options.symbol.clone());
        let (histogram, tally, recent, permits) =
            (Arc::clone(&histogram), Arc::clone(&tally), Arc::clone(&recent), Arc::clone(&permits));
        tasks.push(tokio::spawn(async move {
            let Ok(_permit) = permits.acquire().await else { return };
            let roll = rng % 100;
            let cancel_id =
                if roll >= 80 { recent.lock().ok().and_then(|mut r| r[key_index].pop_front()) } else { None };
            let request = match &cancel_id {
                Some(id) => client.delete(format!("{base}/api/orders/{id}")),
                None => {
                    let away = Decimal::from(1 + rng % 200) * Decimal::new(1, 2);
                    let buy = (rng >> 8).is_multiple_of(2);
                    let (price, tif) = match (roll < 60, buy) {
                        (true, true) => (mid - Decimal::from(5) - away, "GTC"),
                        (true, false) => (mid + Decimal::from(5) + away, "GTC"),
                        (false, true) => (mid + Decimal::from(50), "IOC"),
                        (false, false) => (mid - Decimal::from(50), "IOC"),
                    };
                    let body = json!({ "symbol": symbol, "side": if buy { "buy" } else { "sell" }, "type": "limit",
                        "price": price.round_dp(2).to_string(), "quantity": "0.0010", "timeInForce": tif });
                    client.post(format!("{base}/api/orders")).json(&body)
                }
            };
            let request = match &idempotency {
                Some(idempotency) => request.header("idempotency-key", idempotency.as_str()),
                None => request,
            };
            let result = request.bearer_auth(&key).send().await;
            let done = Instant::now();
            let outcome = match result {
                Ok(response) => {
                    let status = response.status();
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    if status.is_success()
                        && cancel_id.is_none()
                        && body["status"] == "ACCEPTED"
                        && let (Some(id), Ok(mut r)) = (body["orderId"].as_str(), recent.lock())
                    {
                        r[key_index].push_back(id.to_owned());
                        if r[key_index].len() > 10_000 {
                            r[key_index].pop_front();
                        }
                    }
                    let reason = body["rejectReason"].as_str().or_else(|| body["code"].as_str()).map(str::to_owned);
                    if status.is_success() || status.as_u16() == 404 { Ok(reason) } else { Err(()) }
                }
                Err(_) => Err(()),
            };
            if !measured {
                return;
            }
            if let Ok(mut t) = tally.lock() {
                match outcome {
                    Ok(reason) => t.answered(reason.as_deref()),
                    Err(()) => t.errors += 1,
                }
            }
            if let Ok(mut h) = histogram.lock() {
                h.saturating_record((done.saturating_duration_since(planned).as_nanos() as u64).max(1));
            }
        }));
    }
    let measure_start = start + options.warmup;
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = measure_start.elapsed().as_secs_f64();
    let histogram = histogram.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
    let tally = std::mem::take(&mut *tally.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    Ok(Report::remote(
        options.base.clone(),
        options.rate,
        sent,
        tally,
        &histogram,
        elapsed,
        options.duration,
        options.warmup,
        options.connections,
    ))
}

async fn reference_mid(client: &reqwest::Client, options: &HttpOptions) -> anyhow::Result<Decimal> {
    if let Some(mid) = options.mid_price {
        return Ok(mid);
    }
    let url = format!("{}/api/market-data/prices/{}", options.base, options.symbol);
    let prices: Value = client.get(&url).send().await.with_context(|| format!("GET {url}"))?.json().await?;
    let text = prices["last"]
        .as_str()
        .or_else(|| prices["bestBid"].as_str())
        .or_else(|| prices["bestAsk"].as_str())
        .context("the market has no price yet (no trades, empty book); pass --mid-price")?;
    text.parse().with_context(|| format!("price {text:?}"))
}
