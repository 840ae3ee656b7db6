//! Producer throughput against a real broker with the production tuning (idempotent,
//! `acks=all`, lz4, linger 2 ms): publishes `count` new-order commands of the real JSON shape
//! as fast as the bounded queue allows and reports messages/s once every one is delivered.
//!
//! ```text
//! bash scripts/services.sh start && eval "$(bash scripts/services.sh env)"
//! cargo run --release -p oms-kafka --example produce_throughput -- 200000
//! ```
#![allow(clippy::unwrap_used, clippy::print_stdout, reason = "a measurement tool")]

use std::time::{Duration, Instant};

use oms_kafka::messages::TopicKind;
use oms_kafka::topics::ensure_topics;
use oms_kafka::{KafkaConfig, KafkaProducer, PublishError};

fn main() {
    let brokers = std::env::var("OMS_TEST_KAFKA_BROKERS").expect("OMS_TEST_KAFKA_BROKERS not set");
    let count: u64 = std::env::args().nth(1).map_or(200_000, |n| n.parse().expect("count"));
    let mut config = KafkaConfig::for_tests(&brokers);
    config.topics.orders.name = format!("orders-throughput-{}", std::process::id());
    config.topics.orders.partitions = 4;
    ensure_topics(&config).unwrap();
    let producer = KafkaProducer::new(&config).unwrap();
    let symbols = ["BTC-USD", "ETH-USD", "SOL-USD", "XRP-USD"];
    let started = Instant::now();
    let mut backpressure_waits = 0u64;
    let mut bytes = 0u64;
    for i in 0..count {
        let symbol = symbols[(i % 4) as usize];
        let payload = format!(
            r#"{{"v":1,"type":"newOrder","commandId":"cmd-{i}","accountId":"{}","symbol":"{symbol}","side":"buy","orderType":"limit","price":"50000.01","stopPrice":null,"quantity":"0.5","timeInForce":"GTC","expireTime":null,"postOnly":false,"reduceOnly":false,"clientOrderId":"c-{i}","selfTradePrevention":"expireMaker"}}"#,
            i % 1000
        );
        bytes += payload.len() as u64;
        loop {
            match producer.publish(TopicKind::Orders, symbol, payload.as_bytes()) {
                Ok(_) => break,
                Err(PublishError::Backpressure) => {
                    backpressure_waits += 1;
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err(error) => panic!("publish: {error}"),
            }
        }
    }
    let enqueued = started.elapsed();
    producer.flush(Duration::from_secs(120)).unwrap();
    let elapsed = started.elapsed();
    let stats = producer.stats();
    assert_eq!(stats.delivered, count, "every message delivered: {stats:?}");
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "{count} messages ({:.0} B avg) to {brokers}: all delivered in {:.2} s (enqueued in {:.2} s) = {rate:.0} msg/s, {:.1} MB/s; queue-full retries {backpressure_waits}; failed {}",
        bytes as f64 / count as f64,
        elapsed.as_secs_f64(),
        enqueued.as_secs_f64(),
        bytes as f64 / elapsed.as_secs_f64() / 1e6,
        stats.failed
    );
}
