//! Runs a tiny market through the engine and prints every event:
//! `cargo run -p oms-core --example quickstart`.

use oms_core::prelude::*;
use rust_decimal_macros::dec;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut engine = Engine::new(EngineConfig::default());
    let mut sequence = 0u64;
    let mut send = |engine: &mut Engine, action: Action| {
        sequence += 1;
        let mut events = Vec::new();
        engine.apply(
            &Command {
                sequence: Sequence(sequence),
                timestamp: Timestamp(sequence * 1_000),
                origin: Origin::Direct,
                action,
            },
            &mut events,
        );
        for event in events {
            println!("#{sequence:<3} {event:?}");
        }
    };
    let (btc, usd, btc_usd) = (AssetId(0), AssetId(1), InstrumentId(0));
    send(&mut engine, Action::DefineAsset(AssetSpec { id: btc, code: AssetCode::new("BTC")?, scale: 8 }));
    send(&mut engine, Action::DefineAsset(AssetSpec { id: usd, code: AssetCode::new("USD")?, scale: 6 }));
    send(
        &mut engine,
        Action::AddInstrument(InstrumentSpec {
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
        }),
    );
    let (maker, taker) = (AccountId(1), AccountId(2));
    send(&mut engine, Action::Deposit(BalanceTransfer { account: maker, asset: btc, amount: 200_000_000 }));
    send(&mut engine, Action::Deposit(BalanceTransfer { account: taker, asset: usd, amount: 500_000_000_000 }));
    let spec = *engine.instrument(btc_usd).ok_or("instrument missing")?;
    let order = |account, cid: &str, side, price, quantity| -> Result<Action, Box<dyn std::error::Error>> {
        Ok(Action::NewOrder(NewOrder {
            account,
            client_order_id: ClientOrderId::new(cid)?,
            instrument: btc_usd,
            side,
            order_type: OrderType::Limit,
            price: Some(spec.price_from_decimal(price)?),
            stop_price: None,
            quantity: spec.quantity_from_decimal(quantity)?,
            time_in_force: TimeInForce::Gtc,
            expire_time: None,
            post_only: false,
            reduce_only: false,
            self_trade_prevention: SelfTradePrevention::ExpireMaker,
        }))
    };
    send(&mut engine, order(maker, "ask-1", Side::Sell, dec!(60010.00), dec!(0.5))?);
    send(&mut engine, order(maker, "ask-2", Side::Sell, dec!(60020.00), dec!(0.5))?);
    send(&mut engine, order(taker, "bid-1", Side::Buy, dec!(60020.00), dec!(0.75))?);
    // Off-tick input is refused at the edge, before it reaches the engine.
    println!("off-tick price: {:?}", spec.price_from_decimal(dec!(60000.005)));
    println!("state hash: {:016x}", engine.state_hash());
    Ok(())
}
