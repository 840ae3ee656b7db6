//! Property tests over random command streams:
//! - differential: the engine on the fast `LevelBook` and on the naive `NaiveBook` emit the
//!   same events and reach the same `state_hash()` after every command;
//! - conservation: per asset, balances plus fees equal net deposits; reserved balances equal
//!   what working orders hold; books never cross; every working order is in a live status;
//! - exposure returns to zero once every order has ended;
//! - replay: the same commands into a fresh engine give the same events and hash.

mod common;

use common::*;
use oms_core::book::{LevelBook, NaiveBook};
use oms_core::prelude::*;
use proptest::prelude::*;

/// A random operation; turned into a command against the ids seen so far.
#[derive(Clone, Debug)]
enum Op {
    Order {
        account: u8,
        eth: bool,
        buy: bool,
        kind: u8,
        tif: u8,
        price: i64,
        stop: i64,
        lots: i64,
        post_only: bool,
        reduce_only: bool,
        stp: u8,
    },
    Cancel {
        account: u8,
        pick: usize,
    },
    Amend {
        account: u8,
        pick: usize,
        price: Option<i64>,
        lots: Option<i64>,
    },
    MassCancel {
        account: u8,
        eth: Option<bool>,
    },
    Kill {
        account: Option<u8>,
        engaged: bool,
        cancel: bool,
    },
    Deposit {
        account: u8,
        asset: u8,
        amount: i64,
    },
    Withdraw {
        account: u8,
        asset: u8,
        amount: i64,
    },
    Wait {
        ns: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let order = (
        0u8..5,
        any::<bool>(),
        any::<bool>(),
        0u8..10,
        0u8..4,
        85i64..116,
        85i64..116,
        1i64..8,
        any::<bool>(),
        0u8..8,
        0u8..4,
    )
        .prop_map(|(account, eth, buy, kind, tif, price, stop, lots, post_only, reduce, stp)| Op::Order {
            account,
            eth,
            buy,
            kind,
            tif,
            price,
            stop,
            lots,
            post_only: post_only && kind < 3,
            reduce_only: reduce == 0,
            stp,
        });
    prop_oneof![
        12 => order,
        3 => (0u8..5, any::<usize>()).prop_map(|(account, pick)| Op::Cancel { account, pick }),
        2 => (0u8..5, any::<usize>(), proptest::option::of(85i64..116), proptest::option::of(1i64..10))
            .prop_map(|(account, pick, price, lots)| Op::Amend { account, pick, price, lots }),
        1 => (0u8..5, proptest::option::of(any::<bool>())).prop_map(|(account, eth)| Op::MassCancel { account, eth }),
        1 => (proptest::option::of(0u8..5), proptest::bool::weighted(0.4), any::<bool>())
            .prop_map(|(account, engaged, cancel)| Op::Kill { account, engaged, cancel }),
        1 => (0u8..6, 0u8..3, 1i64..5_000_000).prop_map(|(account, asset, amount)| Op::Deposit { account, asset, amount }),
        1 => (0u8..6, 0u8..3, 1i64..5_000_000).prop_map(|(account, asset, amount)| Op::Withdraw { account, asset, amount }),
        1 => prop_oneof![0u64..1_000, 1_000_000u64..5_000_000].prop_map(|ns| Op::Wait { ns }),
    ]
}

fn account(index: u8) -> AccountId {
    // Index 4 is an account that was never funded.
    if index < 4 { ACCOUNTS[index as usize] } else { AccountId(50 + u32::from(index)) }
}

/// Builds the command for `op`; `orders` holds ids of orders placed so far.
fn action(op: &Op, orders: &[(OrderId, AccountId)], now: u64, counter: u64) -> Action {
    // Recent orders are the ones most likely still working.
    let pick = |i: usize| match orders.len() {
        0 => (OrderId(1), ALICE),
        n => orders[n - 1 - i % n.min(12)],
    };
    // Mostly the owner acts on its order; sometimes another account tries.
    let actor = |a: u8, owner: AccountId| if a < 3 { owner } else { account(a) };
    match *op {
        Op::Order { account: a, eth, buy, kind, tif, price, stop, lots, post_only, reduce_only, stp } => {
            // Kinds 0-4 limit, 5-6 market, 7-8 stop-limit, 9 stop.
            let order_type = match kind {
                0..=4 => OrderType::Limit,
                5 | 6 => OrderType::Market,
                7 | 8 => OrderType::StopLimit,
                _ => OrderType::Stop,
            };
            let mut tif = [TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::Fok, TimeInForce::Gtd][tif as usize];
            if order_type.is_market_like() && tif.may_rest() {
                tif = TimeInForce::Ioc;
            }
            let market_price = if eth { Some(Price(price * 2 + 40)) } else { None };
            NewOrder {
                account: account(a),
                client_order_id: ClientOrderId::new(&format!("p{counter}")).expect("valid"),
                instrument: if eth { ETH_USD } else { BTC_USD },
                side: if buy { Side::Buy } else { Side::Sell },
                order_type,
                price: if order_type.is_market_like() { market_price } else { Some(Price(price)) },
                stop_price: order_type.is_stop().then_some(Price(stop)),
                quantity: Quantity(if eth { lots + 1 } else { lots }),
                time_in_force: tif,
                expire_time: (tif == TimeInForce::Gtd).then_some(Timestamp(now + 2_000_000)),
                post_only,
                reduce_only,
                self_trade_prevention: [
                    SelfTradePrevention::None,
                    SelfTradePrevention::ExpireMaker,
                    SelfTradePrevention::ExpireTaker,
                    SelfTradePrevention::ExpireBoth,
                ][stp as usize],
            }
            .into_action()
        }
        Op::Cancel { account: a, pick: p } => {
            let (order_id, owner) = pick(p);
            Action::CancelOrder(CancelOrder { account: actor(a, owner), order_id })
        }
        Op::Amend { account: a, pick: p, price, lots } => {
            let (order_id, owner) = pick(p);
            Action::AmendOrder(AmendOrder {
                account: actor(a, owner),
                order_id,
                price: price.map(Price),
                quantity: lots.map(Quantity),
            })
        }
        Op::MassCancel { account: a, eth } => Action::MassCancel(MassCancel {
            account: account(a),
            instrument: eth.map(|e| if e { ETH_USD } else { BTC_USD }),
        }),
        Op::Kill { account: a, engaged, cancel } => Action::KillSwitch(KillSwitch {
            scope: a.map_or(KillSwitchScope::Global, |a| KillSwitchScope::Account(account(a))),
            engaged,
            cancel_open_orders: cancel,
        }),
        Op::Deposit { account: a, asset, amount } => {
            Action::Deposit(BalanceTransfer { account: account(a), asset: AssetId(u16::from(asset)), amount })
        }
        Op::Withdraw { account: a, asset, amount } => {
            Action::Withdraw(BalanceTransfer { account: account(a), asset: AssetId(u16::from(asset)), amount })
        }
        Op::Wait { .. } => Action::Heartbeat,
    }
}

trait IntoAction {
    fn into_action(self) -> Action;
}
impl IntoAction for NewOrder {
    fn into_action(self) -> Action {
        Action::NewOrder(self)
    }
}

/// Small books so capacity limits are exercised too.
fn config() -> EngineConfig {
    EngineConfig { book_orders_max: 48, stop_orders_max: 8, ..EngineConfig::default() }
}

/// Runs `ops` through both engines, checking after every command; returns the fast one.
fn run(ops: &[Op]) -> Harness<LevelBook> {
    let mut fast = Harness::<LevelBook>::with_config(config());
    let mut naive = Harness::<NaiveBook>::with_config(config());
    let mut orders = Vec::new();
    for (counter, op) in ops.iter().enumerate() {
        if let Op::Wait { ns } = op {
            fast.time += ns;
            naive.time += ns;
        }
        let action = action(op, &orders, fast.time, counter as u64);
        if let Action::NewOrder(order) = action {
            orders.push((fast.next_order_id(), order.account));
        }
        let time = fast.time + 1;
        let fast_events = fast.send_at(time, action);
        let naive_events = naive.send_at(time, action);
        assert_eq!(fast_events, naive_events, "events differ at {op:?}");
        assert_eq!(fast.engine.state_hash(), naive.engine.state_hash(), "state differs after {op:?}");
        assert_conserved(&fast.engine);
    }
    fast
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn prop_fast_book_matches_naive_book_and_money_is_conserved(ops in proptest::collection::vec(op(), 1..250)) {
        run(&ops);
    }

    #[test]
    fn prop_exposure_returns_to_zero_when_all_orders_end(ops in proptest::collection::vec(op(), 1..200)) {
        let mut fast = run(&ops);
        let owners: Vec<AccountId> = fast.engine.accounts().map(|a| a.id).collect();
        for account in owners {
            fast.send(Action::MassCancel(MassCancel { account, instrument: None }));
        }
        assert_eq!(fast.engine.working_orders(), 0);
        for account in fast.engine.accounts() {
            for balance in &account.balances {
                prop_assert_eq!(balance.reserved, 0);
            }
            prop_assert_eq!(account.working_notional_quote, 0);
            prop_assert_eq!(account.open_orders, 0);
            for position in &account.positions {
                prop_assert_eq!((position.working_buy_base, position.working_sell_base, position.working_notional_quote), (0, 0, 0));
            }
        }
        assert_conserved(&fast.engine);
    }

    #[test]
    fn prop_replay_is_deterministic(ops in proptest::collection::vec(op(), 1..200)) {
        let fast = run(&ops);
        let mut replayed = Engine::new(config());
        let mut events = Vec::new();
        for command in &fast.log {
            replayed.apply(command, &mut events);
        }
        prop_assert_eq!(&events, &fast.event_log);
        prop_assert_eq!(replayed.state_hash(), fast.engine.state_hash());
    }
}

/// The generator must reach the interesting paths, or the properties above prove little.
#[test]
fn random_streams_cover_every_outcome() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let ops = proptest::collection::vec(op(), 3_000).new_tree(&mut runner).expect("generates").current();
    let fast = run(&ops);
    let mut seen = std::collections::BTreeSet::new();
    for event in &fast.event_log {
        let kind = match event {
            Event::OrderAccepted(o) => format!("accepted {:?} {:?}", o.order_type, o.time_in_force),
            Event::OrderTriggered(_) => "triggered".into(),
            Event::Trade(t) => format!("trade {:?}", t.taker.status),
            Event::OrderCancelled(c) => format!("cancelled {:?}", c.reason),
            Event::OrderExpired(_) => "expired".into(),
            Event::OrderAmended(a) => format!("amended {}", a.priority_kept),
            Event::Rejected(r) => format!("rejected {:?}", r.reason),
            Event::BalanceChanged(_) => "balance".into(),
            Event::AdminApplied(_) => "admin".into(),
        };
        seen.insert(kind);
    }
    for expected in [
        "triggered",
        "trade Filled",
        "trade PartiallyFilled",
        "cancelled Requested",
        "cancelled MassCancel",
        "cancelled KillSwitch",
        "cancelled SelfTradePrevention",
        "cancelled ImmediateOrCancel",
        "cancelled FillOrKill",
        "expired",
        "amended true",
        "amended false",
        "rejected PostOnlyWouldTake",
        "rejected InsufficientBalance",
        "rejected GlobalKillSwitch",
        "rejected BookFull",
        "accepted StopLimit Gtc",
        "accepted Market Fok",
    ] {
        assert!(seen.contains(expected), "never saw {expected:?}; saw {seen:#?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Snapshot at a random point, restore, continue both with the rest of the log.
    #[test]
    fn prop_snapshot_restores_identical_behaviour(ops in proptest::collection::vec(op(), 1..200), split in any::<prop::sample::Index>()) {
        let fast = run(&ops);
        let k = split.index(fast.log.len());
        let mut original = Engine::new(config());
        let mut sink = Vec::new();
        for command in &fast.log[..k] {
            original.apply(command, &mut sink);
        }
        let mut w = oms_core::codec::Writer::default();
        original.encode_snapshot(&mut w);
        let mut restored = Engine::<LevelBook>::decode_snapshot(config(), w.as_bytes()).expect("own snapshot loads");
        prop_assert_eq!(restored.state_hash(), original.state_hash());
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for command in &fast.log[k..] {
            original.apply(command, &mut a);
            restored.apply(command, &mut b);
        }
        prop_assert_eq!(a, b);
        prop_assert_eq!(restored.state_hash(), fast.engine.state_hash());
    }

    /// A damaged snapshot is refused with a typed error, never loaded and never a panic.
    #[test]
    fn prop_damaged_snapshot_is_refused(ops in proptest::collection::vec(op(), 1..80), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let fast = run(&ops);
        let mut w = oms_core::codec::Writer::default();
        fast.engine.encode_snapshot(&mut w);
        let mut bytes = w.as_bytes().to_vec();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        prop_assert!(Engine::<LevelBook>::decode_snapshot(config(), &bytes).is_err());
        prop_assert!(Engine::<LevelBook>::decode_snapshot(config(), &bytes[..i]).is_err());
    }
}
