//! Fast tests against librdkafka's in-process mock broker (`rdkafka::mocking::MockCluster`):
//! producer and consumer behaviour without any external service. Topics are made with
//! `MockCluster::create_topic` (the mock has no admin API).
#![allow(clippy::unwrap_used, reason = "tests")]

mod common;

use std::time::{Duration, Instant};

use oms_kafka::messages::TopicKind;
use oms_kafka::topics::partition_for_key;
use oms_kafka::{EngineConsumer, KafkaConfig, KafkaProducer, PublishError};
use rdkafka::mocking::MockCluster;

const WAIT: Duration = Duration::from_secs(30);
const DELIVERY_WAIT: Duration = Duration::from_secs(10);

fn cluster(partitions: i32) -> (MockCluster<'static, rdkafka::producer::DefaultProducerContext>, KafkaConfig) {
    let cluster = MockCluster::new(1).unwrap();
    let mut config = KafkaConfig::for_tests(&cluster.bootstrap_servers());
    config.topics.orders.partitions = partitions;
    cluster.create_topic(&config.topics.orders.name, partitions, 1).unwrap();
    (cluster, config)
}

#[test]
fn produce_and_consume_round_trip() {
    let (_cluster, config) = cluster(4);
    let producer = KafkaProducer::new(&config).unwrap();
    let receipt = producer.publish(TopicKind::Orders, "BTC-USD", b"{\"v\":1}").unwrap();
    let delivered = receipt.wait(DELIVERY_WAIT).unwrap();
    assert_eq!(delivered.partition, partition_for_key(b"BTC-USD", 4));
    let stats = producer.stats();
    assert_eq!((stats.sent, stats.delivered, stats.failed, stats.in_flight), (1, 1, 0, 0));

    let consumer = EngineConsumer::new(&config, "orders").unwrap();
    let (records, rebalances) = common::poll_records(&consumer, 1, WAIT);
    assert_eq!(records.len(), 1, "record consumed (rebalances: {rebalances:?})");
    assert_eq!(records[0].payload, b"{\"v\":1}");
    assert_eq!(records[0].key.as_deref(), Some(&b"BTC-USD"[..]));
    assert_eq!((records[0].partition, records[0].offset), (delivered.partition, delivered.offset));
    assert!(
        matches!(rebalances.first(), Some(oms_kafka::ConsumerEvent::Assigned(p)) if p.len() == 4),
        "assignment surfaced before the record: {rebalances:?}"
    );
}

#[test]
fn a_key_always_lands_on_its_murmur2_partition() {
    let (_cluster, config) = cluster(6);
    let producer = KafkaProducer::new(&config).unwrap();
    let symbols: Vec<String> = (0..60).map(|i| format!("SYM{i}-USD")).collect();
    let receipts: Vec<_> = symbols
        .iter()
        .flat_map(|s| [s, s]) // twice each: same key, same partition
        .map(|s| (s.clone(), producer.publish(TopicKind::Orders, s, b"x").unwrap()))
        .collect();
    let mut used = std::collections::HashSet::new();
    for (symbol, receipt) in receipts {
        let delivered = receipt.wait(DELIVERY_WAIT).unwrap();
        assert_eq!(delivered.partition, partition_for_key(symbol.as_bytes(), 6), "{symbol}");
        used.insert(delivered.partition);
    }
    assert_eq!(used.len(), 6, "60 symbols spread over all 6 partitions");
}

#[test]
fn a_restarted_member_resumes_after_the_last_durable_offset() {
    let (_cluster, config) = cluster(1);
    let producer = KafkaProducer::new(&config).unwrap();
    for i in 0..10 {
        producer.publish(TopicKind::Orders, "BTC-USD", format!("{i}").as_bytes()).unwrap().wait(DELIVERY_WAIT).unwrap();
    }

    let first = EngineConsumer::new(&config, "orders").unwrap();
    let (records, _) = common::poll_records(&first, 10, WAIT);
    assert_eq!(records.iter().map(|r| r.offset).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
    // 0..=4 durable, 5 not yet, 6 durable: only 0..=4 may be committed.
    for offset in (0..5).chain([6]) {
        assert!(first.mark_durable(0, offset));
    }
    assert_eq!(first.commit_durable().unwrap(), vec![(0, 5)]);
    assert_eq!(first.commit_durable().unwrap(), vec![], "nothing new to commit");
    assert_eq!(first.committed_offsets(WAIT).unwrap(), vec![(0, Some(5))]);
    // Closing revokes: the drain waits (bounded) for 5, gives up, commits what is durable.
    let closing = Instant::now();
    first.close();
    assert!(closing.elapsed() < Duration::from_millis(oms_kafka::REVOKE_DRAIN_TIMEOUT_MS) + WAIT);

    let second = EngineConsumer::new(&config, "orders").unwrap();
    let (records, _) = common::poll_records(&second, 5, WAIT);
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, (5..10).collect::<Vec<_>>(), "the non-durable tail is redelivered, nothing before it");
    assert_eq!(records[0].payload, b"5");
}

#[test]
fn a_full_queue_is_a_typed_error_and_undelivered_messages_fail_their_receipts() {
    let (cluster, mut config) = cluster(1);
    cluster.broker_down(1).unwrap();
    config.producer.queue_messages_max = 10;
    config.producer.delivery_timeout_ms = 1_500;
    config.producer.request_timeout_ms = 1_000;
    let producer = KafkaProducer::new(&config).unwrap();
    let mut receipts = Vec::new();
    let refused = loop {
        match producer.publish(TopicKind::Orders, "BTC-USD", b"x") {
            Ok(receipt) => receipts.push(receipt),
            Err(error) => break error,
        }
        assert!(receipts.len() <= 10, "the queue bound holds");
    };
    assert_eq!(refused, PublishError::Backpressure);
    assert_eq!(receipts.len(), 10);
    // Every queued message is reported as undelivered: no silent drop.
    for receipt in &receipts {
        assert!(matches!(receipt.wait(DELIVERY_WAIT), Err(PublishError::Unavailable(_))));
    }
    let stats = producer.stats();
    assert_eq!((stats.sent, stats.delivered, stats.failed, stats.in_flight), (10, 0, 10, 0));
    assert_eq!(stats.backpressure, 1);
    // The queue has room again once the failures are reported.
    cluster.broker_up(1).unwrap();
    let delivered = producer.publish(TopicKind::Orders, "BTC-USD", b"y").unwrap().wait(DELIVERY_WAIT);
    assert!(delivered.is_ok(), "delivers again after the outage: {delivered:?}");
}

#[test]
fn oversized_payloads_are_refused_before_enqueueing() {
    let (_cluster, config) = cluster(1);
    let producer = KafkaProducer::new(&config).unwrap();
    let huge = vec![b'x'; oms_kafka::messages::MESSAGE_BYTES_MAX + 1];
    assert!(matches!(producer.publish(TopicKind::Orders, "k", &huge), Err(PublishError::TooLarge { .. })));
    assert_eq!(producer.stats().sent, 0);
}

#[test]
fn a_tail_reads_every_partition_from_its_start_only() {
    let (_cluster, config) = cluster(4);
    let producer = KafkaProducer::new(&config).unwrap();
    let symbols = ["A", "B", "C", "D", "E", "F", "G", "H"];
    for symbol in symbols {
        producer.publish(TopicKind::Orders, symbol, b"before").unwrap().wait(DELIVERY_WAIT).unwrap();
    }
    let tail = oms_kafka::TailConsumer::new(&config, "orders").unwrap();
    assert_eq!(tail.partitions(), [0, 1, 2, 3]);
    for symbol in symbols {
        producer.publish(TopicKind::Orders, symbol, b"after").unwrap().wait(DELIVERY_WAIT).unwrap();
    }
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    while seen.len() < symbols.len() && Instant::now() < deadline {
        if let Some(record) = tail.poll(Duration::from_millis(100)).unwrap() {
            seen.push(record);
        }
    }
    assert_eq!(seen.len(), symbols.len());
    assert!(seen.iter().all(|r| r.payload == b"after"), "nothing from before the tail started");
    let partitions: std::collections::HashSet<i32> = seen.iter().map(|r| r.partition).collect();
    let expected: std::collections::HashSet<i32> = symbols.iter().map(|s| partition_for_key(s.as_bytes(), 4)).collect();
    assert_eq!(partitions, expected);
}
