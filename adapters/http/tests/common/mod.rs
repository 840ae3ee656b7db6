//! The market both HTTP test binaries trade: USD, BTC and BTC-USD (tick 0.01, lot 0.0001,
//! reference 50 000, collar 10 %).

use oms_core::prelude::*;
use rust_decimal_macros::dec;

/// Commands that define the assets and the instrument.
pub fn btc_usd_market() -> Vec<Action> {
    vec![
        Action::DefineAsset(AssetSpec { id: AssetId(0), code: AssetCode::new("USD").expect("valid"), scale: 6 }),
        Action::DefineAsset(AssetSpec { id: AssetId(1), code: AssetCode::new("BTC").expect("valid"), scale: 8 }),
        Action::AddInstrument(InstrumentSpec {
            id: InstrumentId(0),
            symbol: Symbol::new("BTC-USD").expect("valid"),
            base: AssetId(1),
            quote: AssetId(0),
            tick_size: dec!(0.01),
            lot_size: dec!(0.0001),
            quantity_min: dec!(0.0001),
            quantity_max: dec!(100),
            notional_min: dec!(1),
            notional_max: dec!(10000000),
            price_band_bps: 1_000,
            reference_price: dec!(50000),
            maker_fee_ppm: 100,
            taker_fee_ppm: 400,
        }),
    ]
}
