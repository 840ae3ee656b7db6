//! Funds moving between two shards' sub-ledgers (docs/adr/0003-scale-out.md, point 5): a
//! `TransferOut` debits like a withdrawal and names where the money goes; its `TransferIn`
//! credits like a deposit, at most once per source position, however often it arrives.

mod common;

use common::*;
use oms_core::prelude::*;

fn rejected_with(events: &[Event]) -> Option<RejectReason> {
    match events {
        [Event::Rejected(r)] => Some(r.reason),
        _ => None,
    }
}

fn out(account: AccountId, amount: i64, to: InstrumentId) -> Action {
    Action::TransferOut(TransferOut { account, asset: USD, amount, to })
}

fn transfer_in(account: AccountId, amount: i64, from_shard: u32, source_offset: u64) -> Action {
    Action::TransferIn(TransferIn { account, asset: USD, amount, from_shard, source_offset })
}

fn usd_supply<B: oms_core::book::PriceTimeBook>(engine: &Engine<B>) -> i64 {
    engine.asset_totals(USD).expect("USD defined").supply
}

#[test]
fn a_transfer_out_debits_like_a_withdrawal_and_a_refused_one_changes_nothing() {
    let mut h = Harness::new();
    let funded = FUNDING[1].1;
    let supply = usd_supply(&h.engine);
    let events = h.send_from(Origin::Stream { stream: 0, offset: 7 }, out(ALICE, 250_000, ETH_USD));
    assert!(
        matches!(events.as_slice(), [Event::BalanceChanged(b)] if b.account == ALICE && b.asset == USD),
        "{events:?}"
    );
    assert_eq!(h.balance(ALICE, USD), (funded - 250_000, 0));
    assert_eq!(usd_supply(&h.engine), supply - 250_000, "the shard's supply leaves with the funds");
    assert_conserved(&h.engine);

    let hash = h.engine.state_hash();
    let cases = [
        ("more than available", out(ALICE, funded, ETH_USD), RejectReason::InsufficientBalance),
        ("unknown destination", out(ALICE, 1, InstrumentId(9)), RejectReason::UnknownInstrument),
        ("zero", out(ALICE, 0, ETH_USD), RejectReason::AmountNotPositive),
        ("negative", out(ALICE, -1, ETH_USD), RejectReason::AmountNotPositive),
        ("unknown account", out(AccountId(99), 1, ETH_USD), RejectReason::UnknownAccount),
    ];
    for (name, action, reason) in cases {
        assert_eq!(h.rejected(action), reason, "{name}");
        assert_eq!(h.engine.state_hash(), hash, "{name}: a refused transfer changed state");
    }
}

#[test]
fn a_transfer_in_credits_each_source_position_once() {
    let mut h = Harness::new();
    let funded = FUNDING[1].1;
    assert!(
        rejected_with(&h.send_from(Origin::Stream { stream: 1, offset: 3 }, transfer_in(BOB, 500, 0, 40))).is_none()
    );
    assert_eq!(h.balance(BOB, USD), (funded + 500, 0));
    assert_eq!(h.engine.stream_offset(TRANSFER_STREAM_BASE), Some(40));
    assert_conserved(&h.engine);

    // The source republished it after a crash (a new record on this shard's partition), or
    // an older one arrives late: both are copies, and change nothing but the record's own
    // stream position.
    for (record, source) in [(4, 40), (5, 12)] {
        let hash = h.engine.state_hash();
        let copy = h.send_from(Origin::Stream { stream: 1, offset: record }, transfer_in(BOB, 500, 0, source));
        assert_eq!(rejected_with(&copy), Some(RejectReason::DuplicateDelivery), "source offset {source}");
        assert_eq!(h.balance(BOB, USD), (funded + 500, 0));
        assert_ne!(h.engine.state_hash(), hash, "the record's own offset is consumed");
        assert_eq!(h.engine.stream_offset(1), Some(record));
    }

    // Another source shard counts its own offsets; a later offset from shard 0 applies.
    h.ok(transfer_in(BOB, 1, 2, 40));
    h.ok(transfer_in(BOB, 1, 0, 41));
    assert_eq!(h.balance(BOB, USD), (funded + 502, 0));
    assert_eq!(h.engine.stream_offsets(), &[(1, 5), (TRANSFER_STREAM_BASE, 41), (TRANSFER_STREAM_BASE + 2, 40)]);
}

#[test]
fn a_refused_transfer_in_leaves_its_source_position_unused() {
    let mut h = Harness::new();
    let hash = h.engine.state_hash();
    assert_eq!(h.rejected(transfer_in(ALICE, i64::MAX, 0, 9)), RejectReason::BalanceOverflow);
    assert_eq!(h.rejected(transfer_in(ALICE, 0, 0, 9)), RejectReason::AmountNotPositive);
    assert_eq!(h.rejected(transfer_in(ALICE, 1, u32::MAX, 9)), RejectReason::IdOutOfRange);
    assert_eq!(h.engine.state_hash(), hash, "refused credits changed state");
    // Sent again once it can apply, the same position is still new.
    h.ok(transfer_in(ALICE, 1, 0, 9));
    assert_eq!(h.engine.stream_offset(TRANSFER_STREAM_BASE), Some(9));
}

#[test]
fn funds_moved_between_two_sub_ledgers_are_conserved_over_both() {
    let (mut source, mut destination) = (Harness::new(), Harness::new());
    let total = |a: &Harness, b: &Harness| usd_supply(&a.engine) + usd_supply(&b.engine);
    let before = total(&source, &destination);
    for (offset, amount) in [(10u64, 1_000_000i64), (11, 2_500_000), (14, 7)] {
        source.send_from(Origin::Stream { stream: 0, offset }, out(CAROL, amount, ETH_USD));
        // What the source's publisher sends, delivered twice.
        for _ in 0..2 {
            destination.send_from(
                Origin::Stream { stream: 1, offset: destination.sequence },
                transfer_in(CAROL, amount, 0, offset),
            );
        }
    }
    assert_eq!(total(&source, &destination), before);
    assert_eq!(source.balance(CAROL, USD).0 + destination.balance(CAROL, USD).0, 2 * FUNDING[1].1);
    assert_eq!(destination.balance(CAROL, USD).0, FUNDING[1].1 + 3_500_007);
    assert_conserved(&source.engine);
    assert_conserved(&destination.engine);
}
