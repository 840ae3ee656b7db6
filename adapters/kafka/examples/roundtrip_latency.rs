//! Open-loop publish → consume latency through a real broker: commands are published on a
//! fixed schedule (latency counts from the *planned* send time, so a stall is not hidden)
//! and read back by a `TailConsumer`; prints p50 … max.
//!
//! ```text
//! bash scripts/services.sh start && eval "$(bash scripts/services.sh env)"
//! cargo run --release -p oms-kafka --example roundtrip_latency -- 10000 5 [20]   # msg/s, seconds, fetch.wait.max.ms
//! ```
#![allow(clippy::unwrap_used, clippy::print_stdout, reason = "a measurement tool")]

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use oms_kafka::messages::TopicKind;
use oms_kafka::topics::ensure_topics;
use oms_kafka::{KafkaConfig, KafkaProducer, PublishError, TailConsumer};

fn main() {
    let brokers = std::env::var("OMS_TEST_KAFKA_BROKERS").expect("OMS_TEST_KAFKA_BROKERS not set");
    let rate: u64 = std::env::args().nth(1).map_or(10_000, |n| n.parse().expect("rate"));
    let seconds: u64 = std::env::args().nth(2).map_or(5, |n| n.parse().expect("seconds"));
    let mut config = KafkaConfig::for_tests(&brokers);
    if let Some(fetch_wait_ms) = std::env::args().nth(3) {
        config.consumer.fetch_wait_ms_max = fetch_wait_ms.parse().expect("fetch wait ms");
    }
    config.topics.orders.name = format!("orders-latency-{}", std::process::id());
    config.topics.orders.partitions = 4;
    ensure_topics(&config).unwrap();
    let tail = TailConsumer::new(&config, &config.topics.orders.name).unwrap();
    let producer = KafkaProducer::new(&config).unwrap();
    // Warm-up: connections, metadata, the idempotent producer id and the tail's first fetch
    // are start-up costs, not per-message latency.
    producer
        .publish(TopicKind::Orders, "warm-up", br#"{"planned":0,"i":0}"#)
        .unwrap()
        .wait(Duration::from_secs(10))
        .unwrap();
    while tail.poll(Duration::from_millis(100)).unwrap().is_none() {}
    let total = rate * seconds;
    let start = Instant::now();
    let sender = std::thread::spawn(move || {
        let mut refused = 0u64;
        for i in 0..total {
            let planned = Duration::from_nanos(i * 1_000_000_000 / rate);
            while start.elapsed() < planned {
                std::hint::spin_loop();
            }
            let payload = format!(r#"{{"planned":{},"i":{i}}}"#, planned.as_nanos());
            match producer.publish(TopicKind::Orders, &format!("SYM{}", i % 16), payload.as_bytes()) {
                Ok(_) => {}
                Err(PublishError::Backpressure) => refused += 1,
                Err(error) => panic!("publish: {error}"),
            }
        }
        producer.flush(Duration::from_secs(30)).unwrap();
        refused
    });
    let mut histogram = Histogram::<u64>::new_with_bounds(1_000, 60_000_000_000, 3).unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds + 30);
    let mut received = 0u64;
    while received < total && Instant::now() < deadline {
        if let Some(record) = tail.poll(Duration::from_millis(100)).unwrap() {
            let now = start.elapsed().as_nanos() as u64;
            let text = std::str::from_utf8(&record.payload).unwrap();
            let planned: u64 = text[11..text.find(',').unwrap()].parse().unwrap();
            histogram.record(now.saturating_sub(planned).max(1_000)).unwrap();
            received += 1;
        }
    }
    let refused = sender.join().unwrap();
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1e6;
    println!(
        "{rate} msg/s for {seconds} s via {brokers} (fetch.wait.max.ms {}): received {received}/{total} (refused {refused}); latency ms p50 {:.2} p99 {:.2} p99.9 {:.2} p99.99 {:.2} max {:.2}",
        config.consumer.fetch_wait_ms_max,
        ms(0.5),
        ms(0.99),
        ms(0.999),
        ms(0.9999),
        histogram.max() as f64 / 1e6
    );
}
