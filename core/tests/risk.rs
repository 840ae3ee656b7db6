//! One case per pre-trade risk reason: set the account up, send the order, expect the
//! typed reason and an unchanged state hash.

mod common;

use common::*;
use oms_core::prelude::*;
use rstest::rstest;

type Setup = fn(&mut Harness);

fn none(_: &mut Harness) {}

fn limits(h: &mut Harness, change: impl FnOnce(&mut RiskLimits)) {
    let mut limits = RiskLimits::PERMISSIVE;
    change(&mut limits);
    h.ok(Action::SetRiskLimits(SetRiskLimits { account: ALICE, limits }));
}

fn poor_alice(h: &mut Harness) {
    h.ok(Action::Withdraw(BalanceTransfer { account: ALICE, asset: USD, amount: FUNDING[1].1 - 50_000 }));
}
fn small_orders(h: &mut Harness) {
    limits(h, |l| l.order_quantity_max_base = 1_000_000);
}
fn small_notional(h: &mut Harness) {
    limits(h, |l| l.order_notional_max_quote = 1_500_000);
}
fn small_position(h: &mut Harness) {
    limits(h, |l| l.position_max_base = 2_000_000);
    h.ok(Action::NewOrder(with_cid(limit(ALICE, Side::Buy, 90, 2), "working")));
}
fn one_open_order(h: &mut Harness) {
    limits(h, |l| l.open_orders_max = 1);
    h.ok(Action::NewOrder(with_cid(limit(ALICE, Side::Buy, 90, 1), "first")));
}
fn one_order_per_second(h: &mut Harness) {
    limits(h, |l| l.orders_per_window_max = 1);
    h.ok(Action::NewOrder(with_cid(limit(ALICE, Side::Buy, 90, 1), "first")));
}
fn lost_today(h: &mut Harness) {
    limits(h, |l| l.daily_loss_max_quote = 300_000);
    // Alice buys 1 lot at 100 and sells it at 60: realized loss 0.40 USD = 400 000 µUSD.
    h.ok(Action::NewOrder(with_cid(limit(BOB, Side::Sell, 100, 1), "s1")));
    h.ok(Action::NewOrder(with_cid(limit(ALICE, Side::Buy, 100, 1), "b1")));
    h.ok(Action::NewOrder(with_cid(limit(BOB, Side::Buy, 60, 1), "b2")));
    h.ok(Action::NewOrder(with_cid(limit(ALICE, Side::Sell, 60, 1), "s2")));
}
fn concentrated(h: &mut Harness) {
    limits(h, |l| l.concentration_max_bps = 6_000);
}
fn alice_killed(h: &mut Harness) {
    h.ok(Action::KillSwitch(KillSwitch {
        scope: KillSwitchScope::Account(ALICE),
        engaged: true,
        cancel_open_orders: false,
    }));
}
fn all_killed(h: &mut Harness) {
    h.ok(Action::KillSwitch(KillSwitch { scope: KillSwitchScope::Global, engaged: true, cancel_open_orders: false }));
}
fn halted(h: &mut Harness) {
    h.ok(Action::SetInstrumentStatus(SetInstrumentStatus { instrument: BTC_USD, status: InstrumentStatus::Halted }));
}

#[rstest]
#[case::balance(poor_alice as Setup, limit(ALICE, Side::Buy, 100, 1), RejectReason::InsufficientBalance)]
#[case::order_quantity(small_orders as Setup, limit(ALICE, Side::Buy, 100, 2), RejectReason::OrderQuantityLimit)]
#[case::order_notional(small_notional as Setup, limit(ALICE, Side::Buy, 100, 2), RejectReason::OrderNotionalLimit)]
#[case::position(small_position as Setup, limit(ALICE, Side::Buy, 91, 1), RejectReason::PositionLimit)]
#[case::open_orders(one_open_order as Setup, limit(ALICE, Side::Buy, 91, 1), RejectReason::OpenOrdersLimit)]
#[case::rate(one_order_per_second as Setup, limit(ALICE, Side::Buy, 91, 1), RejectReason::OrderRateLimit)]
#[case::daily_loss(lost_today as Setup, limit(ALICE, Side::Buy, 70, 1), RejectReason::DailyLossLimit)]
#[case::concentration(concentrated as Setup, limit(ALICE, Side::Buy, 91, 1), RejectReason::ConcentrationLimit)]
#[case::account_kill(alice_killed as Setup, limit(ALICE, Side::Buy, 91, 1), RejectReason::AccountKillSwitch)]
#[case::global_kill(all_killed as Setup, limit(ALICE, Side::Buy, 91, 1), RejectReason::GlobalKillSwitch)]
#[case::halted(halted as Setup, limit(ALICE, Side::Buy, 91, 1), RejectReason::InstrumentHalted)]
#[case::band(none as Setup, limit(ALICE, Side::Buy, 151, 1), RejectReason::PriceOutsideBand)]
#[case::reduce_only(none as Setup, NewOrder { reduce_only: true, ..limit(ALICE, Side::Buy, 91, 1) }, RejectReason::ReduceOnlyWouldIncrease)]
#[case::unknown_account(none as Setup, limit(AccountId(77), Side::Buy, 91, 1), RejectReason::UnknownAccount)]
fn risk_reason(#[case] setup: Setup, #[case] order: NewOrder, #[case] reason: RejectReason) {
    let mut h = Harness::new();
    setup(&mut h);
    let before = h.engine.state_hash();
    assert_eq!(h.rejected(Action::NewOrder(order)), reason);
    assert_eq!(h.engine.state_hash(), before, "a reject changes nothing");
}

#[test]
fn a_kill_switch_engaged_before_an_account_exists_holds_when_funds_arrive() {
    let mut h = Harness::new();
    let newcomer = AccountId(77);
    let kill = |engaged| {
        Action::KillSwitch(KillSwitch { scope: KillSwitchScope::Account(newcomer), engaged, cancel_open_orders: true })
    };
    // Releasing an account this engine never knew is a no-op, not an error, and creates nothing.
    h.ok(kill(false));
    assert!(h.engine.account(newcomer).is_none());
    h.ok(kill(true));
    // Funds arrive afterwards (on a shard: another shard's transfer), and cannot trade.
    h.ok(Action::Deposit(BalanceTransfer { account: newcomer, asset: USD, amount: FUNDING[1].1 }));
    let order = limit(newcomer, Side::Buy, 91, 1);
    assert_eq!(h.rejected(Action::NewOrder(order)), RejectReason::AccountKillSwitch);
    h.ok(kill(false));
    h.ok(Action::NewOrder(order));
    assert_conserved(&h.engine);
}

#[test]
fn rate_window_rolls_over_with_command_time() {
    let mut h = Harness::new();
    limits(&mut h, |l| {
        l.orders_per_window_max = 1;
        l.rate_window_ns = 1_000;
    });
    h.ok(Action::NewOrder(with_cid(limit(ALICE, Side::Buy, 90, 1), "a")));
    assert_eq!(
        h.rejected(Action::NewOrder(with_cid(limit(ALICE, Side::Buy, 90, 1), "b"))),
        RejectReason::OrderRateLimit
    );
    let later = h.time + 1_000;
    let events = h.send_at(later, Action::NewOrder(with_cid(limit(ALICE, Side::Buy, 90, 1), "c")));
    assert!(matches!(events.as_slice(), [Event::OrderAccepted(_)]));
}

#[test]
fn daily_loss_resets_on_the_next_utc_day() {
    let mut h = Harness::new();
    lost_today(&mut h);
    assert_eq!(
        h.rejected(Action::NewOrder(with_cid(limit(ALICE, Side::Buy, 70, 1), "x"))),
        RejectReason::DailyLossLimit
    );
    let tomorrow = (h.time / Timestamp::DAY_NS + 1) * Timestamp::DAY_NS;
    let events = h.send_at(tomorrow, Action::NewOrder(with_cid(limit(ALICE, Side::Buy, 70, 1), "y")));
    assert!(matches!(events.as_slice(), [Event::OrderAccepted(_)]));
}

#[test]
fn concentration_floor_lets_small_books_through() {
    let mut h = Harness::new();
    limits(&mut h, |l| {
        l.concentration_max_bps = 6_000;
        l.concentration_floor_quote = 5_000_000;
    });
    // 1 lot at 91 = 910 000 µUSD, under the floor.
    h.ok(Action::NewOrder(limit(ALICE, Side::Buy, 91, 1)));
}

#[test]
fn reservations_return_to_zero_when_orders_end() {
    let mut h = Harness::new();
    h.ok(Action::NewOrder(with_cid(limit(ALICE, Side::Buy, 99, 3), "a")));
    h.ok(Action::NewOrder(with_cid(limit(ALICE, Side::Sell, 101, 2), "b")));
    assert_eq!(h.balance(ALICE, USD).1, 3 * 99 * 10_000);
    assert_eq!(h.balance(ALICE, BTC).1, 2 * 1_000_000);
    h.ok(Action::NewOrder(with_cid(limit(BOB, Side::Sell, 99, 1), "c")));
    h.ok(Action::MassCancel(MassCancel { account: ALICE, instrument: None }));
    assert_eq!(h.balance(ALICE, USD).1, 0);
    assert_eq!(h.balance(ALICE, BTC).1, 0);
    let account = h.engine.account(ALICE).expect("exists");
    assert_eq!(account.working_notional_quote, 0);
    assert_eq!(account.positions[0].working_buy_base + account.positions[0].working_sell_base, 0);
    assert_eq!(account.positions[0].net_base, 1_000_000);
    assert_conserved(&h.engine);
}
