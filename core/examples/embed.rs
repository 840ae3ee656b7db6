//! Embedding the OMS core in a service: build, start (recovering from `./embed-data` if it
//! exists), submit without blocking, await outcomes both ways, subscribe to events, shut
//! down cleanly. Run twice to see recovery:
//!
//! ```sh
//! cargo run -p oms-core --example embed
//! cargo run -p oms-core --example embed   # recovers the first run's state
//! ```

use std::time::Duration;

use oms_core::pipeline::{FsyncPolicy, SubmitError, WaitMode};
use oms_core::prelude::*;
use rust_decimal_macros::dec;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (btc, usd, btc_usd) = (AssetId(0), AssetId(1), InstrumentId(0));
    let data_dir = std::env::args().nth(1).unwrap_or_else(|| "./embed-data".into());
    let mut handle = Engine::builder()
        .config(EngineConfig { book_orders_max: 100_000, ..EngineConfig::default() })
        // Applied only when the journal is empty; a restart recovers them instead.
        .asset(AssetSpec { id: btc, code: AssetCode::new("BTC")?, scale: 8 })
        .asset(AssetSpec { id: usd, code: AssetCode::new("USD")?, scale: 6 })
        .instrument(InstrumentSpec {
            id: btc_usd,
            symbol: Symbol::new("BTC-USD")?,
            base: btc,
            quote: usd,
            tick_size: dec!(0.01),
            lot_size: dec!(0.0001),
            quantity_min: dec!(0.0001),
            quantity_max: dec!(100),
            notional_min: dec!(1),
            notional_max: dec!(10000000),
            price_band_bps: 1_000,
            reference_price: dec!(60000),
            maker_fee_ppm: 100,
            taker_fee_ppm: 400,
        })
        .deposit(AccountId(1), btc, 1_000_000_000)
        .deposit(AccountId(2), usd, 10_000_000_000_000)
        .risk_limits(AccountId(2), RiskLimits { open_orders_max: 500, ..RiskLimits::PERMISSIVE })
        .journal(&data_dir, FsyncPolicy::Batch)
        .ring_slots(1 << 12)
        .wait_strategy(WaitMode::Yield)
        .start()?;
    println!("recovered: {:?}", handle.recovery());

    let events = handle.subscribe(1_024);
    let run = handle.recovery().last_sequence;
    let order = |account, side, cid: String, price| -> Result<Action, Box<dyn std::error::Error>> {
        Ok(Action::NewOrder(NewOrder {
            account: AccountId(account),
            client_order_id: ClientOrderId::new(&cid)?,
            instrument: btc_usd,
            side,
            order_type: OrderType::Limit,
            price: Some(Price(price)),
            stop_price: None,
            quantity: Quantity(2_500),
            time_in_force: TimeInForce::Gtc,
            expire_time: None,
            post_only: false,
            reduce_only: false,
            self_trade_prevention: SelfTradePrevention::ExpireMaker,
        }))
    };
    // Synchronous: submit, then block on the outcome (released only after fsync).
    let ask = handle.try_submit(order(1, Side::Sell, format!("ask-{run}"), 6_000_100)?)?;
    println!("ask:  {:?}", handle.wait(ask, Duration::from_secs(5))?);
    // Backpressure is a value, never a hidden block.
    let bid = match handle.try_submit(order(2, Side::Buy, format!("bid-{run}"), 6_000_200)?) {
        Ok(ticket) => ticket,
        Err(SubmitError::Backpressure) => return Err("ring full; a service would answer 503".into()),
        Err(other) => return Err(other.into()),
    };
    // Asynchronous: the same outcome as a future (any executor; here a minimal one).
    let outcome = block_on(handle.outcome(bid))?;
    println!("bid:  {outcome:?}");
    while let Ok(Some((sequence, event))) = events.try_recv() {
        println!("event #{}: {event:?}", sequence.0);
    }
    let report = handle.shutdown()?;
    println!("shutdown: {report:?}");
    Ok(())
}

/// Polls a future to completion on this thread (keeps the example free of a runtime).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park_timeout(Duration::from_millis(10));
    }
}
