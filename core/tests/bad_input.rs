//! Bad input: every command field invalid in each way gives a typed reason and leaves
//! `state_hash()` unchanged. Also the exact decimal conversions at the edge.

mod common;

use common::*;
use oms_core::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn order_cases() -> Vec<(&'static str, NewOrder, RejectReason)> {
    let base = limit(ALICE, Side::Buy, 90, 1);
    let eth = NewOrder { instrument: ETH_USD, ..limit(ALICE, Side::Buy, 100, 2) };
    let stop = NewOrder {
        order_type: OrderType::Stop,
        price: None,
        stop_price: Some(Price(120)),
        time_in_force: TimeInForce::Ioc,
        ..base
    };
    vec![
        ("unknown instrument", NewOrder { instrument: InstrumentId(9), ..base }, RejectReason::UnknownInstrument),
        (
            "instrument beyond capacity",
            NewOrder { instrument: InstrumentId(u32::MAX), ..base },
            RejectReason::UnknownInstrument,
        ),
        ("unknown account", NewOrder { account: AccountId(99), ..base }, RejectReason::UnknownAccount),
        ("zero quantity", NewOrder { quantity: Quantity(0), ..base }, RejectReason::QuantityNotPositive),
        ("negative quantity", NewOrder { quantity: Quantity(-5), ..base }, RejectReason::QuantityNotPositive),
        ("quantity below min", NewOrder { quantity: Quantity(1), ..eth }, RejectReason::QuantityBelowMin),
        ("quantity above max", NewOrder { quantity: Quantity(100_001), ..base }, RejectReason::QuantityAboveMax),
        ("huge quantity", NewOrder { quantity: Quantity(i64::MAX), ..base }, RejectReason::QuantityAboveMax),
        ("limit without price", NewOrder { price: None, ..base }, RejectReason::PriceRequired),
        ("zero price", NewOrder { price: Some(Price(0)), ..base }, RejectReason::PriceNotPositive),
        ("negative price", NewOrder { price: Some(Price(-1)), ..base }, RejectReason::PriceNotPositive),
        ("price outside band", NewOrder { price: Some(Price(49)), ..base }, RejectReason::PriceOutsideBand),
        ("price overflows notional", NewOrder { price: Some(Price(i64::MAX)), ..eth }, RejectReason::Overflow),
        ("notional below min", NewOrder { price: Some(Price(20)), ..eth }, RejectReason::NotionalBelowMin),
        (
            "notional above max",
            NewOrder { price: Some(Price(10_000_000)), quantity: Quantity(10_000), ..eth },
            RejectReason::NotionalAboveMax,
        ),
        ("stop without stop price", NewOrder { stop_price: None, ..stop }, RejectReason::StopPriceRequired),
        ("zero stop price", NewOrder { stop_price: Some(Price(0)), ..stop }, RejectReason::PriceNotPositive),
        ("stop price on limit", NewOrder { stop_price: Some(Price(95)), ..base }, RejectReason::StopPriceNotAllowed),
        (
            "stop-limit without price",
            NewOrder { order_type: OrderType::StopLimit, price: None, ..stop },
            RejectReason::PriceRequired,
        ),
        (
            "market GTC",
            NewOrder { time_in_force: TimeInForce::Gtc, ..market(ALICE, Side::Buy, 1) },
            RejectReason::TimeInForceNotAllowed,
        ),
        (
            "stop GTD",
            NewOrder { time_in_force: TimeInForce::Gtd, expire_time: Some(Timestamp(u64::MAX)), ..stop },
            RejectReason::TimeInForceNotAllowed,
        ),
        ("GTD without expiry", NewOrder { time_in_force: TimeInForce::Gtd, ..base }, RejectReason::ExpireTimeRequired),
        (
            "expiry on GTC",
            NewOrder { expire_time: Some(Timestamp(u64::MAX)), ..base },
            RejectReason::ExpireTimeNotAllowed,
        ),
        (
            "expiry in the past",
            NewOrder { time_in_force: TimeInForce::Gtd, expire_time: Some(Timestamp(1)), ..base },
            RejectReason::ExpireTimeInPast,
        ),
        (
            "post-only market",
            NewOrder { post_only: true, ..market(ALICE, Side::Buy, 1) },
            RejectReason::PostOnlyNotAllowed,
        ),
        (
            "post-only IOC",
            NewOrder { post_only: true, time_in_force: TimeInForce::Ioc, ..base },
            RejectReason::PostOnlyNotAllowed,
        ),
        ("duplicate client order id", with_cid(base, "resting"), RejectReason::DuplicateClientOrderId),
        (
            "insufficient balance",
            NewOrder { side: Side::Sell, quantity: Quantity(100_000), price: Some(Price(100)), ..base },
            RejectReason::InsufficientBalance,
        ),
        (
            "market without liquidity band",
            NewOrder { instrument: ETH_USD, ..market(ALICE, Side::Buy, 2) },
            RejectReason::ProtectionPriceRequired,
        ),
    ]
}

fn admin_cases() -> Vec<(&'static str, Action, RejectReason)> {
    let asset = AssetSpec { id: AssetId(3), code: AssetCode::new("SOL").expect("valid"), scale: 9 };
    let spec = InstrumentSpec {
        id: InstrumentId(2),
        symbol: Symbol::new("SOL-USD").expect("valid"),
        base: AssetId(0),
        ..btc_usd_spec()
    };
    let deposit = BalanceTransfer { account: ALICE, asset: USD, amount: 1 };
    let mut negative_limits = RiskLimits::PERMISSIVE;
    negative_limits.position_max_base = -1;
    let mut zero_window = RiskLimits::PERMISSIVE;
    zero_window.rate_window_ns = 0;
    vec![
        (
            "asset id beyond capacity",
            Action::DefineAsset(AssetSpec { id: AssetId(500), ..asset }),
            RejectReason::IdOutOfRange,
        ),
        ("asset already defined", Action::DefineAsset(AssetSpec { id: BTC, ..asset }), RejectReason::AlreadyDefined),
        (
            "asset scale too fine",
            Action::DefineAsset(AssetSpec { scale: 19, ..asset }),
            RejectReason::InvalidDefinition,
        ),
        (
            "instrument id beyond capacity",
            Action::AddInstrument(InstrumentSpec { id: InstrumentId(99), ..spec }),
            RejectReason::IdOutOfRange,
        ),
        (
            "instrument id taken",
            Action::AddInstrument(InstrumentSpec { id: BTC_USD, ..spec }),
            RejectReason::AlreadyDefined,
        ),
        (
            "symbol taken",
            Action::AddInstrument(InstrumentSpec { symbol: Symbol::new("BTC-USD").expect("valid"), ..spec }),
            RejectReason::AlreadyDefined,
        ),
        (
            "unknown base asset",
            Action::AddInstrument(InstrumentSpec { base: AssetId(7), ..spec }),
            RejectReason::UnknownAsset,
        ),
        (
            "same base and quote",
            Action::AddInstrument(InstrumentSpec { base: USD, ..spec }),
            RejectReason::InvalidDefinition,
        ),
        (
            "zero tick",
            Action::AddInstrument(InstrumentSpec { tick_size: dec!(0), ..spec }),
            RejectReason::InvalidDefinition,
        ),
        (
            "negative lot",
            Action::AddInstrument(InstrumentSpec { lot_size: dec!(-0.01), ..spec }),
            RejectReason::InvalidDefinition,
        ),
        (
            "lot finer than base unit",
            Action::AddInstrument(InstrumentSpec { lot_size: dec!(0.000000001), ..spec }),
            RejectReason::InvalidDefinition,
        ),
        (
            "tick·lot finer than quote unit",
            Action::AddInstrument(InstrumentSpec { tick_size: dec!(0.0001), lot_size: dec!(0.0001), ..spec }),
            RejectReason::InvalidDefinition,
        ),
        (
            "min above max",
            Action::AddInstrument(InstrumentSpec { quantity_min: dec!(2000), ..spec }),
            RejectReason::InvalidDefinition,
        ),
        (
            "off-lot min",
            Action::AddInstrument(InstrumentSpec { quantity_min: dec!(0.015), ..spec }),
            RejectReason::InvalidDefinition,
        ),
        (
            "off-tick reference",
            Action::AddInstrument(InstrumentSpec { reference_price: dec!(100.5), ..spec }),
            RejectReason::InvalidDefinition,
        ),
        (
            "fee too high",
            Action::AddInstrument(InstrumentSpec { taker_fee_ppm: 100_001, ..spec }),
            RejectReason::InvalidDefinition,
        ),
        (
            "band too wide",
            Action::AddInstrument(InstrumentSpec { price_band_bps: 10_001, ..spec }),
            RejectReason::InvalidDefinition,
        ),
        (
            "status of unknown instrument",
            Action::SetInstrumentStatus(SetInstrumentStatus {
                instrument: InstrumentId(5),
                status: InstrumentStatus::Halted,
            }),
            RejectReason::UnknownInstrument,
        ),
        ("zero deposit", Action::Deposit(BalanceTransfer { amount: 0, ..deposit }), RejectReason::AmountNotPositive),
        (
            "negative deposit",
            Action::Deposit(BalanceTransfer { amount: -5, ..deposit }),
            RejectReason::AmountNotPositive,
        ),
        (
            "deposit of unknown asset",
            Action::Deposit(BalanceTransfer { asset: AssetId(9), ..deposit }),
            RejectReason::UnknownAsset,
        ),
        (
            "deposit overflow",
            Action::Deposit(BalanceTransfer { amount: i64::MAX, ..deposit }),
            RejectReason::BalanceOverflow,
        ),
        (
            "withdraw more than available",
            Action::Withdraw(BalanceTransfer { amount: FUNDING[1].1 + 1, ..deposit }),
            RejectReason::InsufficientBalance,
        ),
        (
            "withdraw reserved funds",
            Action::Withdraw(BalanceTransfer { amount: FUNDING[1].1, ..deposit }),
            RejectReason::InsufficientBalance,
        ),
        (
            "withdraw from unknown account",
            Action::Withdraw(BalanceTransfer { account: AccountId(99), ..deposit }),
            RejectReason::UnknownAccount,
        ),
        (
            "negative limit",
            Action::SetRiskLimits(SetRiskLimits { account: ALICE, limits: negative_limits }),
            RejectReason::InvalidRiskLimits,
        ),
        (
            "zero rate window",
            Action::SetRiskLimits(SetRiskLimits { account: ALICE, limits: zero_window }),
            RejectReason::InvalidRiskLimits,
        ),
        (
            "mass cancel unknown account",
            Action::MassCancel(MassCancel { account: AccountId(99), instrument: None }),
            RejectReason::UnknownAccount,
        ),
        (
            "mass cancel unknown instrument",
            Action::MassCancel(MassCancel { account: ALICE, instrument: Some(InstrumentId(9)) }),
            RejectReason::UnknownInstrument,
        ),
        (
            "cancel unknown order",
            Action::CancelOrder(CancelOrder { account: ALICE, order_id: OrderId(12345) }),
            RejectReason::UnknownOrder,
        ),
    ]
}

/// A harness with one resting order of Alice's (client id "resting").
fn harness_with_resting_order() -> Harness {
    let mut h = Harness::new();
    h.ok(Action::NewOrder(with_cid(limit(ALICE, Side::Buy, 95, 1), "resting")));
    h
}

#[test]
fn invalid_orders_are_rejected_with_their_reason_and_change_nothing() {
    for (name, order, reason) in order_cases() {
        let mut h = harness_with_resting_order();
        let before = h.engine.state_hash();
        let events = h.send(Action::NewOrder(order));
        match events.as_slice() {
            [Event::Rejected(r)] => {
                assert_eq!(r.reason, reason, "{name}");
                assert_eq!(r.client_order_id, Some(order.client_order_id), "{name}");
            }
            other => panic!("{name}: expected a reject, got {other:?}"),
        }
        assert_eq!(h.engine.state_hash(), before, "{name} changed state");
    }
}

#[test]
fn invalid_admin_and_cancel_commands_are_rejected_and_change_nothing() {
    for (name, action, reason) in admin_cases() {
        let mut h = harness_with_resting_order();
        let before = h.engine.state_hash();
        let events = h.send(action);
        assert!(matches!(events.as_slice(), [Event::Rejected(r)] if r.reason == reason), "{name}: {events:?}");
        assert_eq!(h.engine.state_hash(), before, "{name} changed state");
    }
}

#[test]
fn replayed_or_old_sequence_is_refused() {
    let mut h = harness_with_resting_order();
    let before = h.engine.state_hash();
    let mut events = Vec::new();
    let old = Command {
        sequence: Sequence(h.sequence),
        timestamp: Timestamp(h.time),
        origin: Origin::Direct,
        action: Action::NewOrder(limit(BOB, Side::Sell, 100, 1)),
    };
    h.engine.apply(&old, &mut events);
    assert!(matches!(events.as_slice(), [Event::Rejected(r)] if r.reason == RejectReason::SequenceNotIncreasing));
    assert_eq!(h.engine.state_hash(), before);
}

#[test]
fn decimal_edge_conversions_are_exact_or_typed_errors() {
    let h = Harness::new();
    let btc_usd = h.engine.instrument(BTC_USD).expect("defined");
    assert_eq!(btc_usd.price_from_decimal(dec!(101)), Ok(Price(101)));
    assert_eq!(btc_usd.price_from_decimal(dec!(101.000)), Ok(Price(101)));
    assert_eq!(btc_usd.price_from_decimal(dec!(101.5)), Err(ConversionError::OffTick { tick_size: dec!(1) }));
    assert_eq!(btc_usd.price_from_decimal(dec!(0)), Err(ConversionError::NotPositive));
    assert_eq!(btc_usd.price_from_decimal(dec!(-3)), Err(ConversionError::NotPositive));
    assert_eq!(btc_usd.price_from_decimal(Decimal::MAX), Err(ConversionError::Overflow));
    assert_eq!(btc_usd.quantity_from_decimal(dec!(0.25)), Ok(Quantity(25)));
    assert_eq!(btc_usd.quantity_from_decimal(dec!(0.255)), Err(ConversionError::OffLot { lot_size: dec!(0.01) }));
    assert_eq!(
        btc_usd.quantity_from_decimal(dec!(0.0000000000000000000000000001)),
        Err(ConversionError::OffLot { lot_size: dec!(0.01) })
    );
    assert_eq!(btc_usd.quantity_from_decimal(dec!(-0.01)), Err(ConversionError::NotPositive));
    assert_eq!(btc_usd.quantity_from_decimal(dec!(100000000000000000000)), Err(ConversionError::Overflow));
    assert_eq!(btc_usd.price_to_decimal(Price(101)), dec!(101));
    assert_eq!(btc_usd.quantity_to_decimal(Quantity(25)), dec!(0.25));
    let usd = h.engine.asset(USD).expect("defined");
    assert_eq!(usd.amount_from_decimal(dec!(12.345678)), Ok(12_345_678));
    assert_eq!(usd.amount_from_decimal(dec!(12.3456789)), Err(ConversionError::TooPrecise { scale: 6 }));
    assert_eq!(usd.amount_from_decimal(dec!(-1)), Err(ConversionError::Negative));
    assert_eq!(usd.amount_from_decimal(Decimal::MAX), Err(ConversionError::Overflow));
    assert_eq!(usd.amount_to_decimal(12_345_678), dec!(12.345678));
}
