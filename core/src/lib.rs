//! # oms-core
//!
//! The deterministic heart of the crypto OMS: domain model, price-time matching, the order
//! state machine and pre-trade risk, behind one entry point, [`Engine::apply`].
//!
//! ```
//! use oms_core::prelude::*;
//! use rust_decimal_macros::dec;
//!
//! let mut engine = Engine::new(EngineConfig::default());
//! let mut events = Vec::new();
//! let mut seq = 0;
//! let mut send = |engine: &mut Engine, action: Action, events: &mut Vec<Event>| {
//!     seq += 1;
//!     engine.apply(&Command { sequence: Sequence(seq), timestamp: Timestamp(seq), origin: Origin::Direct, action }, events);
//! };
//! send(&mut engine, Action::DefineAsset(AssetSpec { id: AssetId(0), code: AssetCode::new("BTC")?, scale: 8 }), &mut events);
//! send(&mut engine, Action::DefineAsset(AssetSpec { id: AssetId(1), code: AssetCode::new("USD")?, scale: 6 }), &mut events);
//! send(&mut engine, Action::AddInstrument(InstrumentSpec {
//!     id: InstrumentId(0), symbol: Symbol::new("BTC-USD")?, base: AssetId(0), quote: AssetId(1),
//!     tick_size: dec!(0.01), lot_size: dec!(0.0001), quantity_min: dec!(0.0001), quantity_max: dec!(100),
//!     notional_min: dec!(1), notional_max: dec!(10000000), price_band_bps: 1000,
//!     reference_price: dec!(50000), maker_fee_ppm: 100, taker_fee_ppm: 200,
//! }), &mut events);
//! send(&mut engine, Action::Deposit(BalanceTransfer { account: AccountId(7), asset: AssetId(1), amount: 1_000_000_000_000 }), &mut events);
//! let btc_usd = *engine.instrument(InstrumentId(0)).expect("added");
//! send(&mut engine, Action::NewOrder(NewOrder {
//!     account: AccountId(7), client_order_id: ClientOrderId::new("c-1")?, instrument: InstrumentId(0),
//!     side: Side::Buy, order_type: OrderType::Limit,
//!     price: Some(btc_usd.price_from_decimal(dec!(49999.50))?), stop_price: None,
//!     quantity: btc_usd.quantity_from_decimal(dec!(0.5))?, time_in_force: TimeInForce::Gtc,
//!     expire_time: None, post_only: false, reduce_only: false,
//!     self_trade_prevention: SelfTradePrevention::ExpireMaker,
//! }), &mut events);
//! assert!(matches!(events.last(), Some(Event::OrderAccepted(o)) if o.status == OrderStatus::Accepted));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod audit;
pub mod book;
pub mod codec;
pub mod engine;
pub mod journal;
pub mod model;
pub mod pipeline;
pub mod risk;
#[cfg(feature = "sabotage")]
pub mod sabotage;

pub use engine::{AssetTotals, Engine, EngineConfig, STREAMS_MAX};

/// Everything an embedding service usually needs.
pub mod prelude {
    pub use crate::engine::{AssetTotals, Engine, EngineConfig, STREAMS_MAX};
    pub use crate::model::*;
}
