//! Round trips for every command variant and "arbitrary bytes never panic".

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::{DecodeError, Writer, decode_command, encode_command};
use crate::model::*;

fn id<const N: usize>() -> impl Strategy<Value = InlineId<N>> {
    proptest::string::string_regex(&format!("[A-Za-z0-9._:/-]{{1,{N}}}"))
        .expect("valid regex")
        .prop_map(|s| InlineId::new(&s).expect("generated from the allowed set"))
}

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..=28).prop_map(|(m, scale)| Decimal::new(m, scale))
}

fn new_order() -> impl Strategy<Value = NewOrder> {
    (
        (any::<u32>(), id(), any::<u32>(), any::<bool>(), 0usize..4, any::<Option<i64>>(), any::<Option<i64>>()),
        (any::<i64>(), 0usize..4, any::<Option<u64>>(), any::<bool>(), any::<bool>(), 0usize..4),
    )
        .prop_map(|((account, cid, instrument, buy, kind, price, stop), (qty, tif, expire, post, reduce, stp))| {
            NewOrder {
                account: AccountId(account),
                client_order_id: cid,
                instrument: InstrumentId(instrument),
                side: if buy { Side::Buy } else { Side::Sell },
                order_type: [OrderType::Limit, OrderType::Market, OrderType::Stop, OrderType::StopLimit][kind],
                price: price.map(Price),
                stop_price: stop.map(Price),
                quantity: Quantity(qty),
                time_in_force: [TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::Fok, TimeInForce::Gtd][tif],
                expire_time: expire.map(Timestamp),
                post_only: post,
                reduce_only: reduce,
                self_trade_prevention: [
                    SelfTradePrevention::None,
                    SelfTradePrevention::ExpireMaker,
                    SelfTradePrevention::ExpireTaker,
                    SelfTradePrevention::ExpireBoth,
                ][stp],
            }
        })
}

fn limits() -> impl Strategy<Value = RiskLimits> {
    (any::<[i64; 5]>(), any::<[u32; 3]>(), any::<u64>()).prop_map(|(i, u, window)| RiskLimits {
        order_quantity_max_base: i[0],
        order_notional_max_quote: i[1],
        position_max_base: i[2],
        open_orders_max: u[0],
        orders_per_window_max: u[1],
        rate_window_ns: window,
        daily_loss_max_quote: i[3],
        concentration_max_bps: u[2],
        concentration_floor_quote: i[4],
    })
}

fn instrument() -> impl Strategy<Value = InstrumentSpec> {
    ((any::<u32>(), id(), any::<u16>(), any::<u16>()), proptest::array::uniform7(decimal()), any::<[u32; 3]>())
        .prop_map(|((iid, symbol, base, quote), d, u)| InstrumentSpec {
            id: InstrumentId(iid),
            symbol,
            base: AssetId(base),
            quote: AssetId(quote),
            tick_size: d[0],
            lot_size: d[1],
            quantity_min: d[2],
            quantity_max: d[3],
            notional_min: d[4],
            notional_max: d[5],
            price_band_bps: u[0],
            reference_price: d[6],
            maker_fee_ppm: u[1],
            taker_fee_ppm: u[2],
        })
}

pub(crate) fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        new_order().prop_map(Action::NewOrder),
        (any::<u32>(), any::<u64>())
            .prop_map(|(a, o)| Action::CancelOrder(CancelOrder { account: AccountId(a), order_id: OrderId(o) })),
        (any::<u32>(), any::<u64>(), any::<Option<i64>>(), any::<Option<i64>>()).prop_map(|(a, o, p, q)| {
            Action::AmendOrder(AmendOrder {
                account: AccountId(a),
                order_id: OrderId(o),
                price: p.map(Price),
                quantity: q.map(Quantity),
            })
        }),
        (any::<u32>(), any::<Option<u32>>()).prop_map(|(a, i)| Action::MassCancel(MassCancel {
            account: AccountId(a),
            instrument: i.map(InstrumentId)
        })),
        (any::<u16>(), id(), any::<u32>()).prop_map(|(i, code, scale)| Action::DefineAsset(AssetSpec {
            id: AssetId(i),
            code,
            scale
        })),
        instrument().prop_map(Action::AddInstrument),
        (any::<u32>(), any::<bool>()).prop_map(|(i, halt)| Action::SetInstrumentStatus(SetInstrumentStatus {
            instrument: InstrumentId(i),
            status: if halt { InstrumentStatus::Halted } else { InstrumentStatus::Trading },
        })),
        (any::<u32>(), any::<u16>(), any::<i64>(), any::<bool>()).prop_map(|(a, s, amount, deposit)| {
            let t = BalanceTransfer { account: AccountId(a), asset: AssetId(s), amount };
            if deposit { Action::Deposit(t) } else { Action::Withdraw(t) }
        }),
        (any::<u32>(), any::<u16>(), any::<i64>(), any::<u32>()).prop_map(|(a, s, amount, to)| {
            Action::TransferOut(TransferOut { account: AccountId(a), asset: AssetId(s), amount, to: InstrumentId(to) })
        }),
        (any::<u32>(), any::<u16>(), any::<i64>(), any::<u32>(), any::<u64>()).prop_map(
            |(a, s, amount, from_shard, source_offset)| Action::TransferIn(TransferIn {
                account: AccountId(a),
                asset: AssetId(s),
                amount,
                from_shard,
                source_offset,
            })
        ),
        (any::<u32>(), limits())
            .prop_map(|(a, limits)| Action::SetRiskLimits(SetRiskLimits { account: AccountId(a), limits })),
        (any::<Option<u32>>(), any::<bool>(), any::<bool>()).prop_map(|(a, engaged, cancel)| Action::KillSwitch(
            KillSwitch {
                scope: a.map_or(KillSwitchScope::Global, |a| KillSwitchScope::Account(AccountId(a))),
                engaged,
                cancel_open_orders: cancel,
            }
        )),
        Just(Action::Heartbeat),
    ]
}

proptest! {
    #[test]
    fn prop_every_command_round_trips(
        action in action(),
        sequence in any::<u64>(),
        timestamp in any::<u64>(),
        stream in any::<Option<(u32, u64)>>(),
    ) {
        let origin = stream.map_or(Origin::Direct, |(stream, offset)| Origin::Stream { stream, offset });
        let command = Command { sequence: Sequence(sequence), timestamp: Timestamp(timestamp), origin, action };
        let mut w = Writer::default();
        encode_command(&command, &mut w);
        prop_assert_eq!(decode_command(Sequence(sequence), w.as_bytes()), Ok(command));
        // Any strict prefix is refused, never misread.
        for cut in 0..w.len() {
            prop_assert!(decode_command(Sequence(sequence), &w.as_bytes()[..cut]).is_err());
        }
    }

    #[test]
    fn prop_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_command(Sequence(1), &bytes);
    }
}

#[test]
fn trailing_bytes_and_bad_tags_are_typed_errors() {
    let command =
        Command { sequence: Sequence(1), timestamp: Timestamp(2), origin: Origin::Direct, action: Action::Heartbeat };
    let mut w = Writer::default();
    encode_command(&command, &mut w);
    w.u8(0);
    assert_eq!(decode_command(Sequence(1), w.as_bytes()), Err(DecodeError::TrailingBytes { count: 1 }));
    let mut bad_origin = Writer::default();
    bad_origin.u64(0);
    bad_origin.u8(7);
    assert_eq!(
        decode_command(Sequence(1), bad_origin.as_bytes()),
        Err(DecodeError::InvalidTag { what: "origin", tag: 7, offset: 8 })
    );
    let mut bad = Writer::default();
    bad.u64(0);
    bad.u8(0);
    bad.u8(200);
    assert_eq!(
        decode_command(Sequence(1), bad.as_bytes()),
        Err(DecodeError::InvalidTag { what: "command", tag: 200, offset: 9 })
    );
}
