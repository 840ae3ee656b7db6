//! The seeded workload: a small exchange (three instruments over four assets, eight
//! accounts) and a random mix of every command kind, aimed at the orders that exist so that
//! cancels, amends, fills, stops, expiries and kill switches all happen.

use oms_core::prelude::*;
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;

/// Accounts that trade.
pub const ACCOUNTS: u32 = 8;
const BTC: AssetId = AssetId(0);
const USD: AssetId = AssetId(1);
const ETH: AssetId = AssetId(2);
const SOL: AssetId = AssetId(3);

/// Engine capacities for the simulation: small, so books fill and capacity paths run.
pub fn engine_config() -> EngineConfig {
    EngineConfig {
        instruments_max: 4,
        assets_max: 4,
        accounts_max: 16,
        book_orders_max: 96,
        stop_orders_max: 16,
        default_limits: RiskLimits::PERMISSIVE,
    }
}

fn instrument(id: u32, symbol: &str, base: AssetId, tick: Decimal, lot: Decimal, reference: Decimal) -> InstrumentSpec {
    InstrumentSpec {
        id: InstrumentId(id),
        symbol: Symbol::new(symbol).unwrap_or_else(|e| panic!("symbol {symbol}: {e}")),
        base,
        quote: USD,
        tick_size: tick,
        lot_size: lot,
        quantity_min: lot,
        quantity_max: Decimal::from(1_000),
        notional_min: Decimal::new(1, 2),
        notional_max: Decimal::from(10_000_000),
        price_band_bps: 2_000,
        reference_price: reference,
        maker_fee_ppm: 1_000,
        taker_fee_ppm: 2_500,
    }
}

/// Assets, instruments and funded accounts: the commands every run starts with.
pub fn genesis() -> Vec<Action> {
    let mut actions = Vec::new();
    for (id, code, scale) in [(BTC, "BTC", 8), (USD, "USD", 6), (ETH, "ETH", 8), (SOL, "SOL", 6)] {
        let code = AssetCode::new(code).unwrap_or_else(|e| panic!("asset code {code}: {e}"));
        actions.push(Action::DefineAsset(AssetSpec { id, code, scale }));
    }
    actions.push(Action::AddInstrument(instrument(0, "BTC-USD", BTC, Decimal::ONE, Decimal::new(1, 2), 100.into())));
    actions.push(Action::AddInstrument(instrument(
        1,
        "ETH-USD",
        ETH,
        Decimal::new(5, 1),
        Decimal::new(1, 1),
        50.into(),
    )));
    actions.push(Action::AddInstrument(instrument(2, "SOL-USD", SOL, Decimal::new(1, 2), Decimal::ONE, 20.into())));
    for account in 1..=ACCOUNTS {
        for (asset, amount) in
            [(BTC, 5_000_000_000), (USD, 1_000_000_000_000), (ETH, 50_000_000_000), (SOL, 50_000_000_000)]
        {
            actions.push(Action::Deposit(BalanceTransfer { account: AccountId(account), asset, amount }));
        }
    }
    actions
}

/// Generates commands from a seeded generator, remembering which orders may be working.
#[derive(Debug)]
pub struct Workload {
    rng: ChaCha8Rng,
    /// Orders accepted and not known to be final, with their owner.
    live: Vec<(OrderId, AccountId)>,
    counter: u64,
    /// Whether the workload engaged the global kill switch (it releases it soon after).
    global_kill: bool,
}

/// Reference prices in ticks per instrument (BTC 100, ETH 50 at 0.5 ticks, SOL 20 at 0.01).
const MID_TICKS: [i64; 3] = [100, 100, 2_000];
/// Half-width of the price range orders use, in ticks.
const SPREAD_TICKS: [i64; 3] = [8, 8, 150];

impl Workload {
    /// A workload drawing from `rng`.
    pub fn new(rng: ChaCha8Rng) -> Self {
        Self { rng, live: Vec::new(), counter: 0, global_kill: false }
    }

    /// Learns from the events of an applied command which orders are working.
    pub fn observe(&mut self, event: &Event) {
        let ended = |status: OrderStatus| status.is_final();
        match event {
            Event::OrderAccepted(order) if !order.status.is_final() => self.live.push((order.id, order.account)),
            Event::Trade(trade) => {
                for fill in [trade.maker, trade.taker] {
                    if ended(fill.status) {
                        self.live.retain(|&(id, _)| id != fill.order_id);
                    }
                }
            }
            Event::OrderCancelled(c) if ended(c.order.status) => self.live.retain(|&(id, _)| id != c.order.order_id),
            Event::OrderExpired(u) if ended(u.status) => self.live.retain(|&(id, _)| id != u.order_id),
            _ => {}
        }
    }

    /// Forgets every order (after a crash the simulator re-learns them from the recovered
    /// history).
    pub fn forget_orders(&mut self) {
        self.live.clear();
    }

    /// Nanoseconds to advance the clock before the next command; sometimes a jump long
    /// enough to expire GTD orders.
    pub fn pause_ns(&mut self) -> u64 {
        if self.rng.random_ratio(1, 50) {
            self.rng.random_range(1_000_000..50_000_000)
        } else {
            self.rng.random_range(1..2_000)
        }
    }

    /// Draws a number in `0..n` from the workload's generator (for the simulator's own
    /// choices, so one seed decides everything).
    pub fn pick(&mut self, n: u32) -> u32 {
        self.rng.random_range(0..n)
    }

    /// Whether an event with probability `numerator / denominator` happens.
    pub fn chance(&mut self, numerator: u32, denominator: u32) -> bool {
        self.rng.random_ratio(numerator, denominator)
    }

    /// The next trading command, at engine time `now`.
    pub fn next_action(&mut self, now: u64) -> Action {
        self.counter += 1;
        if self.global_kill && self.rng.random_ratio(1, 4) {
            self.global_kill = false;
            return Action::KillSwitch(KillSwitch {
                scope: KillSwitchScope::Global,
                engaged: false,
                cancel_open_orders: false,
            });
        }
        let roll = self.rng.random_range(0..100);
        let existing = self.live.choose(&mut self.rng).copied();
        match (roll, existing) {
            (0..=54, _) | (_, None) => Action::NewOrder(self.new_order(now)),
            (55..=71, Some((order_id, owner))) => {
                // Now and then somebody else's id: must be refused as unknown.
                let account = if self.rng.random_ratio(1, 10) { self.account() } else { owner };
                Action::CancelOrder(CancelOrder { account, order_id })
            }
            (72..=83, Some((order_id, account))) => {
                let instrument = self.rng.random_range(0..3);
                Action::AmendOrder(AmendOrder {
                    account,
                    order_id,
                    price: self.rng.random_bool(0.6).then(|| self.price(instrument, Side::Buy)),
                    quantity: self.rng.random_bool(0.6).then(|| Quantity(self.rng.random_range(1..6))),
                })
            }
            (84..=87, _) => Action::MassCancel(MassCancel {
                account: self.account(),
                instrument: self.rng.random_bool(0.5).then(|| InstrumentId(self.rng.random_range(0..3))),
            }),
            (88..=90, _) => {
                let global = self.rng.random_ratio(1, 10);
                let scope = if global { KillSwitchScope::Global } else { KillSwitchScope::Account(self.account()) };
                // Engaged switches block trading: engaged a third of the time, the global
                // one released within a few commands.
                let engaged = self.rng.random_ratio(1, 3);
                self.global_kill |= global && engaged;
                Action::KillSwitch(KillSwitch { scope, engaged, cancel_open_orders: self.rng.random_bool(0.5) })
            }
            (91..=95, _) => Action::Deposit(self.transfer()),
            _ => Action::Withdraw(self.transfer()),
        }
    }

    fn account(&mut self) -> AccountId {
        AccountId(self.rng.random_range(1..=ACCOUNTS))
    }

    fn transfer(&mut self) -> BalanceTransfer {
        BalanceTransfer {
            account: self.account(),
            asset: AssetId(self.rng.random_range(0..4)),
            // Sometimes zero or more than the account has: refusals must change nothing.
            amount: self.rng.random_range(-10..2_000_000_000),
        }
    }

    fn price(&mut self, instrument: usize, side: Side) -> Price {
        let skew = if side == Side::Buy { -1 } else { 1 };
        let mid = MID_TICKS[instrument];
        let spread = SPREAD_TICKS[instrument];
        Price(mid + skew * self.rng.random_range(-spread / 2..=spread))
    }

    fn new_order(&mut self, now: u64) -> NewOrder {
        let instrument = self.rng.random_range(0..3);
        let side = if self.rng.random_bool(0.5) { Side::Buy } else { Side::Sell };
        let price = self.price(instrument, side);
        let (order_type, time_in_force) = match self.rng.random_range(0..20) {
            0..=10 => (OrderType::Limit, TimeInForce::Gtc),
            11..=12 => (OrderType::Limit, TimeInForce::Ioc),
            13 => (OrderType::Limit, TimeInForce::Fok),
            14..=15 => (OrderType::Limit, TimeInForce::Gtd),
            16..=17 => (OrderType::Market, TimeInForce::Ioc),
            18 => (OrderType::Stop, TimeInForce::Ioc),
            _ => (OrderType::StopLimit, TimeInForce::Gtc),
        };
        let stop_price = matches!(order_type, OrderType::Stop | OrderType::StopLimit).then(|| {
            let away = if side == Side::Buy { 1 } else { -1 } * self.rng.random_range(0..4);
            Price(MID_TICKS[instrument] + away)
        });
        let stp = [
            SelfTradePrevention::ExpireMaker,
            SelfTradePrevention::ExpireTaker,
            SelfTradePrevention::ExpireBoth,
            SelfTradePrevention::None,
        ];
        NewOrder {
            account: self.account(),
            client_order_id: ClientOrderId::new(&format!("sim-{}", self.counter))
                .unwrap_or_else(|e| panic!("client order id: {e}")),
            instrument: InstrumentId(instrument as u32),
            side,
            order_type,
            price: (order_type != OrderType::Market && order_type != OrderType::Stop).then_some(price),
            stop_price,
            quantity: Quantity(self.rng.random_range(1..8)),
            time_in_force,
            expire_time: (time_in_force == TimeInForce::Gtd)
                .then(|| Timestamp(now + self.rng.random_range(1_000..20_000_000))),
            post_only: order_type == OrderType::Limit
                && time_in_force == TimeInForce::Gtc
                && self.rng.random_ratio(1, 10),
            reduce_only: self.rng.random_ratio(1, 25),
            self_trade_prevention: *stp.choose(&mut self.rng).unwrap_or(&SelfTradePrevention::ExpireMaker),
        }
    }
}
