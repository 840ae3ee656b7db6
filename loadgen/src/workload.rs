//! The market and the order flow: several instruments and accounts; most orders rest near
//! the touch, some cross, and cancels and amends hit the account's own recent orders.

use std::collections::VecDeque;

use oms_core::prelude::*;
use rust_decimal_macros::dec;

/// Instruments in the load market.
pub const INSTRUMENTS: u32 = 4;
/// Accounts in the load market.
pub const ACCOUNTS: u32 = 64;
/// Mid price in ticks (50 000.00 at tick 0.01).
const MID_TICKS: i64 = 5_000_000;
/// Resting orders remembered for cancels and amends.
const RECENT_MAX: usize = 1 << 16;

/// Commands that create the load market: assets, instruments, funded accounts.
pub fn genesis() -> Vec<Action> {
    let mut actions = Vec::new();
    let usd = AssetId(0);
    actions.push(Action::DefineAsset(AssetSpec { id: usd, code: code("USD"), scale: 6 }));
    for i in 0..INSTRUMENTS {
        let base = AssetId(1 + i as u16);
        actions.push(Action::DefineAsset(AssetSpec { id: base, code: code(&format!("C{i}")), scale: 8 }));
        actions.push(Action::AddInstrument(InstrumentSpec {
            id: InstrumentId(i),
            symbol: Symbol::new(&format!("C{i}-USD")).expect("valid symbol"),
            base,
            quote: usd,
            tick_size: dec!(0.01),
            lot_size: dec!(0.0001),
            quantity_min: dec!(0.0001),
            quantity_max: dec!(1000),
            notional_min: dec!(0),
            notional_max: dec!(100000000),
            price_band_bps: 2_000,
            reference_price: dec!(50000),
            maker_fee_ppm: 100,
            taker_fee_ppm: 400,
        }));
    }
    let limits = RiskLimits { open_orders_max: 1_000_000, orders_per_window_max: u32::MAX, ..RiskLimits::PERMISSIVE };
    for a in 0..ACCOUNTS {
        let account = AccountId(1 + a);
        actions.push(Action::SetRiskLimits(SetRiskLimits { account, limits }));
        actions.push(Action::Deposit(BalanceTransfer {
            account,
            asset: usd,
            amount: i64::MAX / 4 / i64::from(ACCOUNTS),
        }));
        for i in 0..INSTRUMENTS {
            let base = AssetId(1 + i as u16);
            actions.push(Action::Deposit(BalanceTransfer {
                account,
                asset: base,
                amount: i64::MAX / 4 / i64::from(ACCOUNTS),
            }));
        }
    }
    actions
}

/// Engine capacities for the load market.
pub fn engine_config() -> EngineConfig {
    EngineConfig {
        instruments_max: INSTRUMENTS as usize,
        assets_max: INSTRUMENTS as usize + 1,
        accounts_max: ACCOUNTS as usize,
        book_orders_max: 1 << 18,
        stop_orders_max: 1_024,
        default_limits: RiskLimits::PERMISSIVE,
    }
}

fn code(text: &str) -> AssetCode {
    AssetCode::new(text).expect("valid asset code")
}

/// A small deterministic PRNG (xorshift64*): reproducible flows, no dependency.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What a command of the flow is, for the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowKind {
    /// A limit order away from the touch.
    Rest,
    /// A marketable IOC limit.
    Cross,
    /// Cancel of a recent resting order.
    Cancel,
    /// Price amend of a recent resting order.
    Amend,
}

/// Generates the order flow: 40 % resting limits, 12 % crossing IOC, 40 % cancels of the
/// oldest remembered resting order, 8 % amends. Cancels at least match rests, so books stay
/// at a steady size.
#[derive(Debug)]
pub struct OrderFlow {
    rng: Rng,
    recent: VecDeque<(OrderId, AccountId)>,
    client_order_ids: Vec<ClientOrderId>,
    counter: usize,
}

impl OrderFlow {
    /// A flow seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng(seed | 1),
            recent: VecDeque::with_capacity(RECENT_MAX),
            client_order_ids: (0..1 << 16).map(|i| ClientOrderId::new(&format!("lg-{i}")).expect("valid")).collect(),
            counter: 0,
        }
    }

    /// The next command; `sequence` is the sequence it will get (single producer), which is
    /// also the order id of a new order.
    pub fn next(&mut self, sequence: u64) -> (Action, FlowKind) {
        let roll = self.rng.below(100);
        let kind = match roll {
            0..=39 => FlowKind::Rest,
            40..=51 => FlowKind::Cross,
            52..=91 if !self.recent.is_empty() => FlowKind::Cancel,
            _ if !self.recent.is_empty() => FlowKind::Amend,
            _ => FlowKind::Rest,
        };
        let action = match kind {
            FlowKind::Rest | FlowKind::Cross => self.new_order(kind, sequence),
            FlowKind::Cancel => {
                let (order_id, account) = self.recent.pop_front().expect("checked non-empty");
                Action::CancelOrder(CancelOrder { account, order_id })
            }
            FlowKind::Amend => {
                let at = self.rng.below(self.recent.len() as u64) as usize;
                let (order_id, account) = self.recent[at];
                let price = MID_TICKS - 1 - self.rng.below(200) as i64;
                Action::AmendOrder(AmendOrder { account, order_id, price: Some(Price(price)), quantity: None })
            }
        };
        (action, kind)
    }

    fn new_order(&mut self, kind: FlowKind, sequence: u64) -> Action {
        let account = AccountId(1 + self.rng.below(u64::from(ACCOUNTS)) as u32);
        let instrument = InstrumentId(self.rng.below(u64::from(INSTRUMENTS)) as u32);
        let buy = self.rng.below(2) == 0;
        let away = 1 + self.rng.below(200) as i64;
        let price = match (kind, buy) {
            (FlowKind::Rest, true) => MID_TICKS - away,
            (FlowKind::Rest, false) => MID_TICKS + away,
            (_, true) => MID_TICKS + 150,
            (_, false) => MID_TICKS - 150,
        };
        if kind == FlowKind::Rest {
            if self.recent.len() == RECENT_MAX {
                self.recent.pop_front();
            }
            self.recent.push_back((OrderId(sequence), account));
        }
        self.counter += 1;
        Action::NewOrder(NewOrder {
            account,
            client_order_id: self.client_order_ids[self.counter % self.client_order_ids.len()],
            instrument,
            side: if buy { Side::Buy } else { Side::Sell },
            order_type: OrderType::Limit,
            price: Some(Price(price)),
            stop_price: None,
            quantity: Quantity(1 + self.rng.below(20) as i64),
            time_in_force: if kind == FlowKind::Rest { TimeInForce::Gtc } else { TimeInForce::Ioc },
            expire_time: None,
            post_only: false,
            reduce_only: false,
            self_trade_prevention: SelfTradePrevention::ExpireMaker,
        })
    }
}
