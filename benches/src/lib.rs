//! Shared fixtures for the criterion benches: an engine with one liquid instrument and
//! funded accounts, built through the same commands production uses.

use oms_core::prelude::*;
use rust_decimal_macros::dec;

/// The bench instrument.
pub const BTC_USD: InstrumentId = InstrumentId(0);
/// Funded accounts.
pub const ACCOUNTS: [AccountId; 4] = [AccountId(1), AccountId(2), AccountId(3), AccountId(4)];

/// An engine plus the next sequence number and time to stamp.
pub struct Bench {
    /// The engine under test.
    pub engine: Engine,
    /// Last sequence used.
    pub sequence: u64,
    /// Discards events, counting them.
    pub sink: CountingSink,
    /// Pre-built client order ids (so the timed loop allocates nothing).
    pub client_order_ids: Vec<ClientOrderId>,
}

impl Bench {
    /// An engine whose book holds up to `book_orders_max` resting orders, with BTC-USD
    /// (tick 0.01, lot 0.0001, no collar, zero fees) and four accounts with deep balances.
    pub fn new(book_orders_max: usize) -> Self {
        let config = EngineConfig {
            instruments_max: 1,
            assets_max: 2,
            accounts_max: 8,
            book_orders_max,
            stop_orders_max: 1_024,
            default_limits: RiskLimits {
                open_orders_max: u32::MAX,
                orders_per_window_max: u32::MAX,
                ..RiskLimits::PERMISSIVE
            },
        };
        let client_order_ids = (0..65_536).map(|i| ClientOrderId::new(&format!("b{i}")).expect("valid")).collect();
        let mut bench =
            Bench { engine: Engine::new(config), sequence: 0, sink: CountingSink::default(), client_order_ids };
        for (id, code, scale) in [(AssetId(0), "BTC", 8), (AssetId(1), "USD", 6)] {
            bench.send(Action::DefineAsset(AssetSpec { id, code: AssetCode::new(code).expect("valid"), scale }));
        }
        bench.send(Action::AddInstrument(InstrumentSpec {
            id: BTC_USD,
            symbol: Symbol::new("BTC-USD").expect("valid"),
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
            maker_fee_ppm: 0,
            taker_fee_ppm: 0,
        }));
        for account in ACCOUNTS {
            for asset in [AssetId(0), AssetId(1)] {
                bench.send(Action::Deposit(BalanceTransfer { account, asset, amount: i64::MAX / 8 }));
            }
        }
        bench
    }

    /// Applies one action with the next sequence number.
    #[inline]
    pub fn send(&mut self, action: Action) {
        self.sequence += 1;
        let command = Command {
            sequence: Sequence(self.sequence),
            timestamp: Timestamp(self.sequence),
            origin: Origin::Direct,
            action,
        };
        self.engine.apply(&command, &mut self.sink);
    }

    /// Id the next command's order will get.
    pub fn next_order_id(&self) -> OrderId {
        OrderId(self.sequence + 1)
    }

    /// A GTC limit order; `n` picks the client order id.
    pub fn limit(&self, n: usize, account: AccountId, side: Side, price_ticks: i64, lots: i64) -> NewOrder {
        NewOrder {
            account,
            client_order_id: self.client_order_ids[n % self.client_order_ids.len()],
            instrument: BTC_USD,
            side,
            order_type: OrderType::Limit,
            price: Some(Price(price_ticks)),
            stop_price: None,
            quantity: Quantity(lots),
            time_in_force: TimeInForce::Gtc,
            expire_time: None,
            post_only: false,
            reduce_only: false,
            self_trade_prevention: SelfTradePrevention::None,
        }
    }

    /// Fills both sides with `levels` price levels of `per_level` orders around 50 000.00.
    pub fn seed_book(&mut self, levels: i64, per_level: i64) {
        for level in 0..levels {
            for k in 0..per_level {
                let n = (level * per_level + k) as usize;
                let bid = self.limit(2 * n, ACCOUNTS[0], Side::Buy, 4_999_900 - level, 10);
                let ask = self.limit(2 * n + 1, ACCOUNTS[1], Side::Sell, 5_000_100 + level, 10);
                self.send(Action::NewOrder(bid));
                self.send(Action::NewOrder(ask));
            }
        }
    }
}

/// Splits `iters` measured operations into rounds of at most `chunk`, so set-up and
/// clean-up can run untimed between rounds; `round(n)` does its own timing of `n`
/// operations and returns it. Returns the total timed duration for criterion's
/// `iter_custom`.
pub fn in_chunks(iters: u64, chunk: u64, mut round: impl FnMut(u64) -> std::time::Duration) -> std::time::Duration {
    let mut timed = std::time::Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(chunk);
        timed += round(n);
        left -= n;
    }
    timed
}
