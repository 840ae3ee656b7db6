//! Matching behaviour: price-time priority, order types, time in force, flags, amend,
//! stops and self-trade prevention, each case checked on events and on balances.

mod common;

use common::*;
use oms_core::prelude::*;
use rstest::rstest;

fn place(h: &mut Harness, order: NewOrder) -> (OrderId, Vec<Event>) {
    let id = h.next_order_id();
    let events = h.ok(Action::NewOrder(order));
    (id, events)
}

#[test]
fn crossing_limit_trades_at_maker_price_with_fees_and_improvement() {
    let mut h = Harness::new();
    let (maker, _) = place(&mut h, limit(BOB, Side::Sell, 100, 3));
    let (taker, events) = place(&mut h, limit(ALICE, Side::Buy, 105, 2));
    let t = trades(&events);
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].price, t[0].quantity, t[0].taker_side), (Price(100), Quantity(2), Side::Buy));
    assert_eq!((t[0].maker.order_id, t[0].taker.order_id), (maker, taker));
    assert_eq!((t[0].maker.status, t[0].taker.status), (OrderStatus::PartiallyFilled, OrderStatus::Filled));
    // Buyer (taker, 2 000 ppm) pays the fee in BTC: 2 lots = 2 000 000 sat → 4 000 sat.
    assert_eq!(t[0].taker.fee, 4_000);
    // Seller (maker, 1 000 ppm) pays in USD: 2 × 100 × 10 000 = 2 000 000 µUSD → 2 000 µUSD.
    assert_eq!(t[0].maker.fee, 2_000);
    let (alice_usd, alice_usd_reserved) = h.balance(ALICE, USD);
    assert_eq!(alice_usd, FUNDING[1].1 - 2_000_000, "paid at 100, not at the 105 limit");
    assert_eq!(alice_usd_reserved, 0);
    assert_eq!(h.balance(ALICE, BTC).0, FUNDING[0].1 + 2_000_000 - 4_000);
    assert_eq!(h.balance(BOB, USD).0, FUNDING[1].1 + 2_000_000 - 2_000);
    assert_eq!(h.balance(BOB, BTC), (FUNDING[0].1 - 3_000_000, 1_000_000));
    assert_conserved(&h.engine);
}

#[test]
fn price_then_time_priority() {
    let mut h = Harness::new();
    let (first_at_101, _) = place(&mut h, with_cid(limit(BOB, Side::Sell, 101, 1), "a"));
    let (second_at_101, _) = place(&mut h, with_cid(limit(CAROL, Side::Sell, 101, 1), "b"));
    let (at_100, _) = place(&mut h, with_cid(limit(DAVE, Side::Sell, 100, 1), "c"));
    let (_, events) = place(&mut h, limit(ALICE, Side::Buy, 101, 3));
    let makers: Vec<OrderId> = trades(&events).iter().map(|t| t.maker.order_id).collect();
    assert_eq!(makers, vec![at_100, first_at_101, second_at_101]);
    let prices: Vec<Price> = trades(&events).iter().map(|t| t.price).collect();
    assert_eq!(prices, vec![Price(100), Price(101), Price(101)]);
    assert_conserved(&h.engine);
}

#[rstest]
#[case::gtc_rests(TimeInForce::Gtc, 5, 2, true, None)]
#[case::ioc_cancels_rest(TimeInForce::Ioc, 5, 2, false, Some(CancelReason::ImmediateOrCancel))]
#[case::fok_fills_all_when_possible(TimeInForce::Fok, 2, 2, false, None)]
#[case::fok_kills_when_short(TimeInForce::Fok, 5, 0, false, Some(CancelReason::FillOrKill))]
fn time_in_force(
    #[case] tif: TimeInForce,
    #[case] lots: i64,
    #[case] traded: i64,
    #[case] rests: bool,
    #[case] cancel: Option<CancelReason>,
) {
    let mut h = Harness::new();
    place(&mut h, limit(BOB, Side::Sell, 100, 2));
    let (id, events) = place(&mut h, NewOrder { time_in_force: tif, ..limit(ALICE, Side::Buy, 100, lots) });
    assert_eq!(trades(&events).iter().map(|t| t.quantity.0).sum::<i64>(), traded);
    assert_eq!(h.engine.order(id).is_some(), rests);
    assert_eq!(cancels(&events).first().map(|c| c.reason), cancel);
    assert_conserved(&h.engine);
}

#[test]
fn gtd_expires_by_command_time_only() {
    let mut h = Harness::new();
    let expire = Timestamp(h.time + 100);
    let gtd = NewOrder { time_in_force: TimeInForce::Gtd, expire_time: Some(expire), ..limit(ALICE, Side::Buy, 90, 1) };
    let (id, _) = place(&mut h, gtd);
    assert!(h.send_at(expire.0 - 1, Action::Heartbeat).is_empty());
    assert!(h.engine.order(id).is_some());
    let events = h.send_at(expire.0, Action::Heartbeat);
    assert!(
        matches!(events.as_slice(), [Event::OrderExpired(u)] if u.order_id == id && u.status == OrderStatus::Expired)
    );
    assert!(h.engine.order(id).is_none());
    assert_eq!(h.balance(ALICE, USD), (FUNDING[1].1, 0));
    let past = NewOrder {
        time_in_force: TimeInForce::Gtd,
        expire_time: Some(Timestamp(h.time)),
        ..limit(ALICE, Side::Buy, 90, 1)
    };
    assert_eq!(h.rejected(Action::NewOrder(past)), RejectReason::ExpireTimeInPast);
}

#[test]
fn market_order_trades_to_protection_and_cancels_rest() {
    let mut h = Harness::new();
    place(&mut h, with_cid(limit(BOB, Side::Sell, 120, 1), "a"));
    // Band is 50 % around the reference 100: protection for a buy is 150.
    place(&mut h, with_cid(limit(BOB, Side::Sell, 149, 1), "b"));
    let (id, events) = place(&mut h, market(ALICE, Side::Buy, 5));
    assert_eq!(trades(&events).len(), 2);
    let c = cancels(&events);
    assert_eq!((c[0].order.order_id, c[0].cancelled, c[0].reason), (id, Quantity(3), CancelReason::ImmediateOrCancel));
    assert_eq!(c[0].order.status, OrderStatus::Cancelled);
    assert_conserved(&h.engine);

    // After trading at 149 the reference is 149, so protection is 223: a level at 300 is safe.
    place(&mut h, with_cid(limit(BOB, Side::Sell, 200, 1), "c"));
    let events = h.ok(Action::NewOrder(NewOrder { price: Some(Price(190)), ..market(ALICE, Side::Buy, 1) }));
    assert!(trades(&events).is_empty(), "explicit protection price 190 stops before 200");
    // ETH-USD has no band: a market order without protection price is refused.
    let eth = NewOrder { instrument: ETH_USD, ..market(ALICE, Side::Buy, 2) };
    assert_eq!(h.rejected(Action::NewOrder(eth)), RejectReason::ProtectionPriceRequired);
}

#[test]
fn post_only_and_reduce_only() {
    let mut h = Harness::new();
    place(&mut h, limit(BOB, Side::Sell, 100, 1));
    let taking = NewOrder { post_only: true, ..limit(ALICE, Side::Buy, 100, 1) };
    assert_eq!(h.rejected(Action::NewOrder(taking)), RejectReason::PostOnlyWouldTake);
    let resting = NewOrder { post_only: true, ..limit(ALICE, Side::Buy, 99, 1) };
    h.ok(Action::NewOrder(resting));
    let ioc = NewOrder { post_only: true, time_in_force: TimeInForce::Ioc, ..limit(ALICE, Side::Buy, 98, 1) };
    assert_eq!(h.rejected(Action::NewOrder(ioc)), RejectReason::PostOnlyNotAllowed);

    let flat = NewOrder { reduce_only: true, ..limit(CAROL, Side::Sell, 100, 1) };
    assert_eq!(h.rejected(Action::NewOrder(flat)), RejectReason::ReduceOnlyWouldIncrease);
    h.ok(Action::NewOrder(with_cid(limit(CAROL, Side::Buy, 100, 1), "long")));
    let too_much = NewOrder { reduce_only: true, ..limit(CAROL, Side::Sell, 101, 2) };
    assert_eq!(h.rejected(Action::NewOrder(too_much)), RejectReason::ReduceOnlyWouldIncrease);
    h.ok(Action::NewOrder(NewOrder { reduce_only: true, ..limit(CAROL, Side::Sell, 101, 1) }));
    assert_conserved(&h.engine);
}

#[rstest]
#[case::expire_maker(SelfTradePrevention::ExpireMaker, 1, true, false)]
#[case::expire_taker(SelfTradePrevention::ExpireTaker, 0, false, true)]
#[case::expire_both(SelfTradePrevention::ExpireBoth, 0, true, true)]
#[case::allowed(SelfTradePrevention::None, 0, false, false)]
fn self_trade_prevention(
    #[case] mode: SelfTradePrevention,
    #[case] bob_lots_traded: i64,
    #[case] own_maker_cancelled: bool,
    #[case] taker_cancelled: bool,
) {
    let mut h = Harness::new();
    // Alice's own ask is first in the queue, Bob's second.
    let (own, _) = place(&mut h, with_cid(limit(ALICE, Side::Sell, 100, 1), "own"));
    let (bobs, _) = place(&mut h, with_cid(limit(BOB, Side::Sell, 100, 1), "bob"));
    let taker = NewOrder { self_trade_prevention: mode, ..limit(ALICE, Side::Buy, 100, 1) };
    let (taker_id, events) = place(&mut h, taker);
    let t = trades(&events);
    let traded_with_bob: i64 = t.iter().filter(|t| t.maker.order_id == bobs).map(|t| t.quantity.0).sum();
    let self_traded = t.iter().any(|t| t.maker.order_id == own);
    assert_eq!(traded_with_bob, bob_lots_traded);
    assert_eq!(self_traded, mode == SelfTradePrevention::None);
    let cancelled: Vec<(OrderId, CancelReason)> =
        cancels(&events).iter().map(|c| (c.order.order_id, c.reason)).collect();
    assert_eq!(cancelled.contains(&(own, CancelReason::SelfTradePrevention)), own_maker_cancelled);
    assert_eq!(cancelled.contains(&(taker_id, CancelReason::SelfTradePrevention)), taker_cancelled);
    assert_conserved(&h.engine);
}

#[test]
fn amend_keeps_priority_only_when_shrinking_at_same_price() {
    let mut h = Harness::new();
    let (first, _) = place(&mut h, with_cid(limit(BOB, Side::Sell, 100, 5), "first"));
    let (second, _) = place(&mut h, with_cid(limit(CAROL, Side::Sell, 100, 5), "second"));
    let shrink = AmendOrder { account: BOB, order_id: first, price: None, quantity: Some(Quantity(3)) };
    let events = h.ok(Action::AmendOrder(shrink));
    assert!(matches!(events.as_slice(), [Event::OrderAmended(a)] if a.priority_kept && a.order.leaves == Quantity(3)));
    let (_, events) = place(&mut h, with_cid(limit(ALICE, Side::Buy, 100, 1), "probe1"));
    assert_eq!(trades(&events)[0].maker.order_id, first, "kept its place");

    let grow = AmendOrder { account: BOB, order_id: first, price: None, quantity: Some(Quantity(6)) };
    let events = h.ok(Action::AmendOrder(grow));
    assert!(matches!(events.as_slice(), [Event::OrderAmended(a)] if !a.priority_kept && a.order.leaves == Quantity(5)));
    let (_, events) = place(&mut h, with_cid(limit(ALICE, Side::Buy, 100, 1), "probe2"));
    assert_eq!(trades(&events)[0].maker.order_id, second, "lost its place");

    // A new price that crosses trades immediately as a taker.
    place(&mut h, with_cid(limit(DAVE, Side::Buy, 98, 2), "bid"));
    let cross = AmendOrder { account: BOB, order_id: first, price: Some(Price(98)), quantity: None };
    let events = h.ok(Action::AmendOrder(cross));
    assert_eq!(trades(&events).iter().map(|t| t.quantity.0).sum::<i64>(), 2);
    assert_eq!(trades(&events)[0].taker.order_id, first);
    assert_conserved(&h.engine);
}

#[rstest]
#[case::unknown_order(AmendOrder { account: BOB, order_id: OrderId(999), price: Some(Price(1)), quantity: None }, RejectReason::UnknownOrder)]
#[case::not_owner(AmendOrder { account: ALICE, order_id: OrderId(0), price: Some(Price(101)), quantity: None }, RejectReason::UnknownOrder)]
#[case::no_change(AmendOrder { account: BOB, order_id: OrderId(0), price: Some(Price(100)), quantity: Some(Quantity(5)) }, RejectReason::AmendNoChange)]
#[case::below_filled(AmendOrder { account: BOB, order_id: OrderId(0), price: None, quantity: Some(Quantity(2)) }, RejectReason::AmendQuantityTooSmall)]
#[case::zero_price(AmendOrder { account: BOB, order_id: OrderId(0), price: Some(Price(0)), quantity: None }, RejectReason::PriceNotPositive)]
#[case::outside_band(AmendOrder { account: BOB, order_id: OrderId(0), price: Some(Price(500)), quantity: None }, RejectReason::PriceOutsideBand)]
#[case::too_large(AmendOrder { account: BOB, order_id: OrderId(0), price: None, quantity: Some(Quantity(200_000)) }, RejectReason::QuantityAboveMax)]
fn amend_rejections_change_nothing(#[case] mut amend: AmendOrder, #[case] reason: RejectReason) {
    let mut h = Harness::new();
    let (id, _) = place(&mut h, limit(BOB, Side::Sell, 100, 5));
    place(&mut h, limit(ALICE, Side::Buy, 100, 2));
    if amend.order_id == OrderId(0) {
        amend.order_id = id;
    }
    let before = h.engine.state_hash();
    assert_eq!(h.rejected(Action::AmendOrder(amend)), reason);
    assert_eq!(h.engine.state_hash(), before);
}

#[test]
fn stops_trigger_on_last_trade() {
    let mut h = Harness::new();
    let stop = NewOrder {
        order_type: OrderType::Stop,
        stop_price: Some(Price(105)),
        price: None,
        time_in_force: TimeInForce::Ioc,
        ..limit(ALICE, Side::Buy, 0, 1)
    };
    let (stop_id, events) = place(&mut h, stop);
    assert!(matches!(events.as_slice(), [Event::OrderAccepted(_)]), "waits for its trigger");
    let stop_limit = NewOrder {
        order_type: OrderType::StopLimit,
        stop_price: Some(Price(95)),
        price: Some(Price(94)),
        ..limit(CAROL, Side::Sell, 0, 1)
    };
    let (stop_limit_id, _) = place(&mut h, stop_limit);
    place(&mut h, with_cid(limit(BOB, Side::Sell, 110, 1), "liquidity"));
    // A trade at 105 fires the buy stop, which lifts the 110 offer.
    place(&mut h, with_cid(limit(BOB, Side::Sell, 105, 1), "at105"));
    let (_, events) = place(&mut h, with_cid(limit(DAVE, Side::Buy, 105, 1), "lift"));
    let triggered: Vec<OrderId> =
        events.iter().filter_map(|e| if let Event::OrderTriggered(u) = e { Some(u.order_id) } else { None }).collect();
    assert_eq!(triggered, vec![stop_id]);
    let t = trades(&events);
    assert_eq!(t.last().map(|t| (t.taker.order_id, t.price)), Some((stop_id, Price(110))));
    // A trade at 95 fires the sell stop-limit, which rests at 94 with no bids there.
    place(&mut h, with_cid(limit(BOB, Side::Sell, 95, 1), "at95"));
    let (_, events) = place(&mut h, with_cid(limit(DAVE, Side::Buy, 95, 1), "hit95"));
    assert!(events.iter().any(
        |e| matches!(e, Event::OrderTriggered(u) if u.order_id == stop_limit_id && u.status == OrderStatus::Triggered)
    ));
    assert_eq!(h.engine.order(stop_limit_id).map(|o| (o.price, o.status)), Some((Price(94), OrderStatus::Triggered)));
    assert_eq!(h.engine.best_bid_ask(BTC_USD).1, Some(Price(94)));
    assert_conserved(&h.engine);
}

#[test]
fn stop_already_reached_triggers_at_once() {
    let mut h = Harness::new();
    place(&mut h, with_cid(limit(BOB, Side::Sell, 100, 2), "ask"));
    place(&mut h, with_cid(limit(DAVE, Side::Buy, 100, 1), "trade"));
    let stop = NewOrder {
        order_type: OrderType::Stop,
        stop_price: Some(Price(99)),
        price: None,
        time_in_force: TimeInForce::Ioc,
        ..limit(ALICE, Side::Buy, 0, 1)
    };
    let (_, events) = place(&mut h, stop);
    assert!(matches!(events[1], Event::OrderTriggered(_)));
    assert_eq!(trades(&events).len(), 1);
    assert_conserved(&h.engine);
}

#[test]
fn cancels_mass_cancels_and_kill_switches() {
    let mut h = Harness::new();
    let (a, _) = place(&mut h, with_cid(limit(ALICE, Side::Buy, 90, 1), "a"));
    let (b, _) = place(&mut h, with_cid(limit(ALICE, Side::Sell, 110, 1), "b"));
    let (c, _) = place(&mut h, with_cid(NewOrder { instrument: ETH_USD, ..limit(ALICE, Side::Buy, 90, 2) }, "c"));
    let (bobs, _) = place(&mut h, with_cid(limit(BOB, Side::Sell, 111, 1), "d"));
    assert_eq!(
        h.rejected(Action::CancelOrder(CancelOrder { account: ALICE, order_id: bobs })),
        RejectReason::UnknownOrder
    );
    let events = h.ok(Action::CancelOrder(CancelOrder { account: ALICE, order_id: a }));
    assert_eq!(cancels(&events)[0].reason, CancelReason::Requested);
    assert_eq!(
        h.rejected(Action::CancelOrder(CancelOrder { account: ALICE, order_id: a })),
        RejectReason::UnknownOrder
    );

    let events = h.ok(Action::MassCancel(MassCancel { account: ALICE, instrument: Some(BTC_USD) }));
    assert_eq!(cancels(&events).iter().map(|c| c.order.order_id).collect::<Vec<_>>(), vec![b]);
    assert!(h.engine.order(c).is_some());

    let kill = KillSwitch { scope: KillSwitchScope::Account(ALICE), engaged: true, cancel_open_orders: true };
    let events = h.ok(Action::KillSwitch(kill));
    assert_eq!(
        cancels(&events).iter().map(|c| (c.order.order_id, c.reason)).collect::<Vec<_>>(),
        vec![(c, CancelReason::KillSwitch)]
    );
    assert_eq!(h.rejected(Action::NewOrder(limit(ALICE, Side::Buy, 90, 1))), RejectReason::AccountKillSwitch);
    h.ok(Action::NewOrder(limit(BOB, Side::Buy, 90, 1)));

    let global = KillSwitch { scope: KillSwitchScope::Global, engaged: true, cancel_open_orders: false };
    h.ok(Action::KillSwitch(global));
    assert_eq!(h.rejected(Action::NewOrder(limit(CAROL, Side::Buy, 90, 1))), RejectReason::GlobalKillSwitch);
    // Cancels always pass.
    h.ok(Action::CancelOrder(CancelOrder { account: BOB, order_id: bobs }));
    h.ok(Action::KillSwitch(KillSwitch { engaged: false, ..global }));
    h.ok(Action::NewOrder(limit(CAROL, Side::Buy, 90, 1)));
    assert_conserved(&h.engine);
}

#[test]
fn halted_instrument_refuses_orders_but_allows_cancels() {
    let mut h = Harness::new();
    let (id, _) = place(&mut h, limit(ALICE, Side::Buy, 90, 1));
    h.ok(Action::SetInstrumentStatus(SetInstrumentStatus { instrument: BTC_USD, status: InstrumentStatus::Halted }));
    assert_eq!(h.rejected(Action::NewOrder(limit(BOB, Side::Sell, 90, 1))), RejectReason::InstrumentHalted);
    h.ok(Action::CancelOrder(CancelOrder { account: ALICE, order_id: id }));
}
