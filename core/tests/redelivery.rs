//! At-least-once input: a command read from a stream (a Kafka partition) carries its
//! `(stream, offset)`; the engine applies each offset once, refuses redeliveries with a
//! typed reason and changes nothing, and the applied offsets survive snapshots.

mod common;

use common::*;
use oms_core::prelude::*;

fn at(stream: u32, offset: u64) -> Origin {
    Origin::Stream { stream, offset }
}

fn rejected_with(events: &[Event]) -> Option<RejectReason> {
    match events {
        [Event::Rejected(r)] => Some(r.reason),
        _ => None,
    }
}

#[test]
fn each_offset_applies_once_and_redeliveries_change_nothing() {
    let mut h = Harness::new();
    let order = limit(ALICE, Side::Buy, 100, 1);
    let first = h.send_from(at(3, 10), Action::NewOrder(order));
    assert!(matches!(first.first(), Some(Event::OrderAccepted(_))), "{first:?}");
    let hash = h.engine.state_hash();
    // The same offset again, and an older one: both refused, nothing changes.
    for offset in [10, 9, 0] {
        let again = h.send_from(at(3, offset), Action::NewOrder(with_cid(order, "other")));
        assert_eq!(rejected_with(&again), Some(RejectReason::DuplicateDelivery), "offset {offset}");
        assert_eq!(h.engine.state_hash(), hash, "a refused redelivery changed state");
    }
    assert_eq!(h.engine.stream_offset(3), Some(10));
    // Streams are independent; gaps in offsets are fine.
    assert!(rejected_with(&h.send_from(at(4, 10), Action::NewOrder(with_cid(order, "s4")))).is_none());
    assert!(rejected_with(&h.send_from(at(3, 25), Action::NewOrder(with_cid(order, "gap")))).is_none());
    assert_eq!(h.engine.stream_offsets(), &[(3, 25), (4, 10)]);
    // Direct commands are never deduplicated by offset.
    assert!(rejected_with(&h.send(Action::NewOrder(with_cid(order, "direct")))).is_none());
}

#[test]
fn a_delivery_refused_by_risk_still_consumes_its_offset() {
    let mut h = Harness::new();
    let too_big = limit(ALICE, Side::Buy, 100, 1_000_000_000);
    let first = h.send_from(at(1, 5), Action::NewOrder(too_big));
    let reason = rejected_with(&first).expect("refused by risk");
    assert_ne!(reason, RejectReason::DuplicateDelivery);
    // The decision was made; its redelivery must not be decided again.
    assert_eq!(rejected_with(&h.send_from(at(1, 5), Action::NewOrder(too_big))), Some(RejectReason::DuplicateDelivery));
}

#[test]
fn applied_offsets_are_part_of_the_snapshot_and_the_hash() {
    let mut h = Harness::new();
    h.send_from(at(7, 42), Action::Heartbeat);
    let mut w = oms_core::codec::Writer::default();
    h.engine.encode_snapshot(&mut w);
    let restored =
        Engine::<oms_core::book::LevelBook>::decode_snapshot(*h.engine.config(), w.as_bytes()).expect("snapshot loads");
    assert_eq!(restored.stream_offsets(), &[(7, 42)]);
    assert_eq!(restored.state_hash(), h.engine.state_hash());
    let mut plain = Harness::new();
    plain.send(Action::Heartbeat);
    assert_ne!(plain.engine.state_hash(), h.engine.state_hash(), "offsets must be hashed");
}

#[test]
fn the_stream_table_is_bounded() {
    let mut h = Harness::new();
    for stream in 0..STREAMS_MAX as u32 {
        assert!(rejected_with(&h.send_from(at(stream, 1), Action::Heartbeat)).is_none());
    }
    let hash = h.engine.state_hash();
    let over = h.send_from(at(STREAMS_MAX as u32, 1), Action::Heartbeat);
    assert_eq!(rejected_with(&over), Some(RejectReason::StreamCapacity));
    assert_eq!(h.engine.state_hash(), hash);
}
