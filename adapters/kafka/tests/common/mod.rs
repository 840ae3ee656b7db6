//! Fixtures shared by the oms-kafka tests.
#![allow(dead_code, reason = "each test binary uses a different part of the fixtures")]
#![allow(clippy::unwrap_used, reason = "test fixtures")]

use oms_core::model::{Asset, AssetCode, AssetId, AssetSpec, Instrument, InstrumentId, InstrumentSpec, Symbol};
use oms_kafka::messages::Catalog;
use rust_decimal_macros::dec;

/// BTC (8 decimals), USD (6 decimals) and BTC-USD with tick 0.01 and lot 0.0001.
pub fn catalog() -> Catalog {
    let btc = Asset::new(AssetSpec { id: AssetId(0), code: AssetCode::new("BTC").unwrap(), scale: 8 }).unwrap();
    let usd = Asset::new(AssetSpec { id: AssetId(1), code: AssetCode::new("USD").unwrap(), scale: 6 }).unwrap();
    let spec = InstrumentSpec {
        id: InstrumentId(0),
        symbol: Symbol::new("BTC-USD").unwrap(),
        base: AssetId(0),
        quote: AssetId(1),
        tick_size: dec!(0.01),
        lot_size: dec!(0.0001),
        quantity_min: dec!(0.0001),
        quantity_max: dec!(1000),
        notional_min: dec!(0),
        notional_max: dec!(100000000),
        price_band_bps: 0,
        reference_price: dec!(50000),
        maker_fee_ppm: 100,
        taker_fee_ppm: 200,
    };
    let instrument = Instrument::new(spec, &btc, &usd).unwrap();
    Catalog::new([instrument], [btc, usd])
}

use std::time::{Duration, Instant};

use oms_kafka::{ConsumerEvent, EngineConsumer, InboundRecord};

/// Polls `consumer` until `records` records have arrived or `timeout` passes; returns the
/// records and every rebalance event seen (in order).
pub fn poll_records(
    consumer: &EngineConsumer,
    records: usize,
    timeout: Duration,
) -> (Vec<InboundRecord>, Vec<ConsumerEvent>) {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut rebalances = Vec::new();
    while got.len() < records && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Ok(Some(ConsumerEvent::Record(record))) => got.push(record),
            Ok(Some(event)) => rebalances.push(event),
            Ok(None) => {}
            Err(error) => eprintln!("poll: {error} (transient, polling on)"),
        }
    }
    (got, rebalances)
}

/// Polls until the consumer has an assignment (or `timeout`), keeping any record seen.
pub fn wait_assigned(consumer: &EngineConsumer, timeout: Duration) -> (Vec<i32>, Vec<InboundRecord>) {
    let deadline = Instant::now() + timeout;
    let mut records = Vec::new();
    while Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(100)) {
            Ok(Some(ConsumerEvent::Assigned(partitions))) if !partitions.is_empty() => return (partitions, records),
            Ok(Some(ConsumerEvent::Record(record))) => records.push(record),
            Ok(_) => {}
            Err(error) => eprintln!("poll: {error} (transient, polling on)"),
        }
    }
    panic!("no partition assigned within {timeout:?}");
}
