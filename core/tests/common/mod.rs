//! Test fixture: an engine with two instruments and funded accounts, built through the
//! same commands production uses, plus terse order builders.
#![allow(dead_code, reason = "each test binary uses a different subset of the fixture")]

pub mod counting_alloc;

use oms_core::book::PriceTimeBook;
use oms_core::prelude::*;
use rust_decimal_macros::dec;

pub const BTC: AssetId = AssetId(0);
pub const USD: AssetId = AssetId(1);
pub const ETH: AssetId = AssetId(2);
pub const BTC_USD: InstrumentId = InstrumentId(0);
pub const ETH_USD: InstrumentId = InstrumentId(1);
/// Accounts 1..=4 are funded.
pub const ALICE: AccountId = AccountId(1);
pub const BOB: AccountId = AccountId(2);
pub const CAROL: AccountId = AccountId(3);
pub const DAVE: AccountId = AccountId(4);
pub const ACCOUNTS: [AccountId; 4] = [ALICE, BOB, CAROL, DAVE];

/// BTC-USD: tick 1 USD, lot 0.01 BTC, so one tick·lot = 0.01 USD = 10_000 micro-USD.
/// Reference price 100, band 50 %, fees maker 1 000 ppm, taker 2 000 ppm.
pub fn btc_usd_spec() -> InstrumentSpec {
    InstrumentSpec {
        id: BTC_USD,
        symbol: Symbol::new("BTC-USD").expect("valid"),
        base: BTC,
        quote: USD,
        tick_size: dec!(1),
        lot_size: dec!(0.01),
        quantity_min: dec!(0.01),
        quantity_max: dec!(1000),
        notional_min: dec!(0.01),
        notional_max: dec!(1000000),
        price_band_bps: 5_000,
        reference_price: dec!(100),
        maker_fee_ppm: 1_000,
        taker_fee_ppm: 2_000,
    }
}

pub fn eth_usd_spec() -> InstrumentSpec {
    InstrumentSpec {
        id: ETH_USD,
        symbol: Symbol::new("ETH-USD").expect("valid"),
        base: ETH,
        quote: USD,
        tick_size: dec!(0.5),
        lot_size: dec!(0.1),
        quantity_min: dec!(0.2),
        quantity_max: dec!(1000),
        notional_min: dec!(5),
        notional_max: dec!(1000000),
        price_band_bps: 0,
        reference_price: dec!(50),
        maker_fee_ppm: 0,
        taker_fee_ppm: 500,
    }
}

/// Each funded account's starting balances (minor units): 10 BTC, 1 000 000 USD, 100 ETH.
pub const FUNDING: [(AssetId, i64); 3] = [(BTC, 1_000_000_000), (USD, 1_000_000_000_000), (ETH, 10_000_000_000)];

pub struct Harness<B: PriceTimeBook = oms_core::book::LevelBook> {
    pub engine: Engine<B>,
    pub sequence: u64,
    pub time: u64,
    /// Every command sent, set-up included, for replay tests.
    pub log: Vec<Command>,
    /// Every event emitted, in order.
    pub event_log: Vec<Event>,
}

impl Harness {
    pub fn new() -> Self {
        Harness::<oms_core::book::LevelBook>::with_config(EngineConfig::default())
    }
}

impl<B: PriceTimeBook> Harness<B> {
    pub fn with_config(config: EngineConfig) -> Self {
        let mut h = Harness {
            engine: Engine::with_book(config),
            sequence: 0,
            time: 1_000,
            log: Vec::new(),
            event_log: Vec::new(),
        };
        for (id, code, scale) in [(BTC, "BTC", 8), (USD, "USD", 6), (ETH, "ETH", 8)] {
            h.ok(Action::DefineAsset(AssetSpec { id, code: AssetCode::new(code).expect("valid"), scale }));
        }
        h.ok(Action::AddInstrument(btc_usd_spec()));
        h.ok(Action::AddInstrument(eth_usd_spec()));
        for account in ACCOUNTS {
            for (asset, amount) in FUNDING {
                h.ok(Action::Deposit(BalanceTransfer { account, asset, amount }));
            }
        }
        h
    }

    /// Sends a command one tick later than the previous one; returns its events.
    pub fn send(&mut self, action: Action) -> Vec<Event> {
        self.time += 1;
        self.send_at(self.time, action)
    }

    pub fn send_at(&mut self, time: u64, action: Action) -> Vec<Event> {
        self.send_full(time, Origin::Direct, action)
    }

    /// Sends a command read from an upstream stream, one tick later.
    pub fn send_from(&mut self, origin: Origin, action: Action) -> Vec<Event> {
        self.send_full(self.time + 1, origin, action)
    }

    fn send_full(&mut self, time: u64, origin: Origin, action: Action) -> Vec<Event> {
        self.sequence += 1;
        self.time = self.time.max(time);
        let mut events = Vec::new();
        let command = Command { sequence: Sequence(self.sequence), timestamp: Timestamp(time), origin, action };
        self.engine.apply(&command, &mut events);
        self.log.push(command);
        self.event_log.extend_from_slice(&events);
        events
    }

    /// Sends and asserts nothing was rejected.
    pub fn ok(&mut self, action: Action) -> Vec<Event> {
        let events = self.send(action);
        assert!(!events.iter().any(|e| matches!(e, Event::Rejected(_))), "unexpected reject: {events:?}");
        events
    }

    /// Sends and returns the reject reason (panics when not rejected).
    pub fn rejected(&mut self, action: Action) -> RejectReason {
        let events = self.send(action);
        match events.as_slice() {
            [Event::Rejected(r)] => r.reason,
            other => panic!("expected one reject, got {other:?}"),
        }
    }

    /// Id the next command will give a new order.
    pub fn next_order_id(&self) -> OrderId {
        OrderId(self.sequence + 1)
    }

    pub fn balance(&self, account: AccountId, asset: AssetId) -> (i64, i64) {
        let b = self.engine.account(account).expect("account exists").balances[asset.0 as usize];
        (b.available, b.reserved)
    }
}

/// A GTC limit order; price in ticks, quantity in lots.
pub fn limit(account: AccountId, side: Side, price: i64, lots: i64) -> NewOrder {
    NewOrder {
        account,
        client_order_id: ClientOrderId::new(&format!("c{}-{}-{}", account.0, price, lots)).expect("valid"),
        instrument: BTC_USD,
        side,
        order_type: OrderType::Limit,
        price: Some(Price(price)),
        stop_price: None,
        quantity: Quantity(lots),
        time_in_force: TimeInForce::Gtc,
        expire_time: None,
        post_only: false,
        reduce_only: false,
        self_trade_prevention: SelfTradePrevention::ExpireMaker,
    }
}

/// A market IOC order without explicit protection price.
pub fn market(account: AccountId, side: Side, lots: i64) -> NewOrder {
    NewOrder {
        order_type: OrderType::Market,
        price: None,
        time_in_force: TimeInForce::Ioc,
        ..limit(account, side, 0, lots)
    }
}

/// Unique client order id per call site value.
pub fn with_cid(mut order: NewOrder, cid: &str) -> NewOrder {
    order.client_order_id = ClientOrderId::new(cid).expect("valid");
    order
}

pub fn trades(events: &[Event]) -> Vec<Trade> {
    events.iter().filter_map(|e| if let Event::Trade(t) = e { Some(*t) } else { None }).collect()
}

pub fn cancels(events: &[Event]) -> Vec<OrderCancelled> {
    events.iter().filter_map(|e| if let Event::OrderCancelled(c) = e { Some(*c) } else { None }).collect()
}

/// Checks every whole-state invariant (`oms_core::audit`): books never crossed, money and
/// positions conserved, reservations and open-order counts equal what working orders hold.
pub fn assert_conserved<B: PriceTimeBook>(engine: &Engine<B>) {
    if let Err(violation) = oms_core::audit::check(engine) {
        panic!("invariant broken: {violation}");
    }
}

/// Builds the `n`-th command of a deterministic mix at time `now`, without allocating.
/// Every order that can rest is amended or cancelled within the cycle of 12, so the books
/// reach a steady size instead of filling up.
pub fn mixed(n: u64, now: u64, cids: &[ClientOrderId]) -> Action {
    // n, n-4 and n-8 share an owner, so amends and cancels hit their own orders.
    let account = ACCOUNTS[(n % 4) as usize];
    // Each account alternates sides from cycle to cycle, so no balance runs dry.
    let side = if (n + n / 4).is_multiple_of(2) { Side::Buy } else { Side::Sell };
    let offset = (n * 7 % 9) as i64;
    let price = if side == Side::Buy { 95 + offset } else { 97 + offset };
    let cid = cids[(n % cids.len() as u64) as usize];
    let base = NewOrder {
        account,
        client_order_id: cid,
        instrument: BTC_USD,
        side,
        order_type: OrderType::Limit,
        price: Some(Price(price)),
        stop_price: None,
        quantity: Quantity(1 + (n % 3) as i64),
        time_in_force: TimeInForce::Gtc,
        expire_time: None,
        post_only: false,
        reduce_only: false,
        self_trade_prevention: SelfTradePrevention::ExpireMaker,
    };
    match n % 12 {
        0..=3 => Action::NewOrder(base),
        4 => Action::NewOrder(NewOrder { time_in_force: TimeInForce::Ioc, ..base }),
        5 => Action::NewOrder(NewOrder {
            order_type: OrderType::Market,
            price: None,
            time_in_force: TimeInForce::Ioc,
            ..base
        }),
        6 => Action::NewOrder(NewOrder {
            order_type: OrderType::StopLimit,
            stop_price: Some(Price(price)),
            time_in_force: TimeInForce::Gtd,
            expire_time: Some(Timestamp(now + 50)),
            ..base
        }),
        7 => Action::AmendOrder(AmendOrder {
            account,
            order_id: OrderId(n - 4),
            price: Some(Price(price)),
            quantity: None,
        }),
        _ => Action::CancelOrder(CancelOrder { account, order_id: OrderId(n - 8) }),
    }
}
