//! Whole-state invariants of an [`Engine`], checked from the outside through its public
//! queries. The differential tests and the simulator (`oms-sim`) run [`check`] after every
//! command; it allocates, so it is for tests and audits, never the hot path.
//!
//! What must hold after every command, whatever the command stream:
//! - no book is crossed (best bid < best ask);
//! - per asset, Σ (available + reserved) over accounts + fees collected = deposits −
//!   withdrawals, and no available balance is negative;
//! - per instrument, positions net to zero (every trade has a buyer and a seller);
//! - every account's reserved balance equals what its working orders hold, and its
//!   open-order count equals its working orders;
//! - every working order is in a live status and its filled + leaves = quantity.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::book::PriceTimeBook;
use crate::engine::Engine;
use crate::model::{AccountId, AssetId, InstrumentId, OrderId, OrderStatus, Price};
use crate::risk::exposure_of;

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Violation {
    /// Best bid at or above best ask.
    #[error("book {instrument:?} crossed: bid {bid:?} >= ask {ask:?}")]
    BookCrossed {
        /// Instrument.
        instrument: InstrumentId,
        /// Best bid.
        bid: Price,
        /// Best ask.
        ask: Price,
    },
    /// Balances plus fees differ from net deposits.
    #[error("asset {asset:?} not conserved: held {held} + fees {fees} != supply {supply}")]
    NotConserved {
        /// Asset.
        asset: AssetId,
        /// Σ available + reserved.
        held: i64,
        /// Fees collected.
        fees: i64,
        /// Deposits − withdrawals.
        supply: i64,
    },
    /// An available balance below zero.
    #[error("account {account:?} has negative available {asset:?}: {available}")]
    NegativeAvailable {
        /// Account.
        account: AccountId,
        /// Asset.
        asset: AssetId,
        /// Available balance.
        available: i64,
    },
    /// Positions in an instrument do not net to zero.
    #[error("positions in {instrument:?} net to {net} instead of 0")]
    PositionsNotNetZero {
        /// Instrument.
        instrument: InstrumentId,
        /// Σ net base position.
        net: i64,
    },
    /// Reserved balance differs from what the account's working orders hold.
    #[error("account {account:?} reserves {reserved} of {asset:?}, its working orders hold {expected}")]
    ReservedMismatch {
        /// Account.
        account: AccountId,
        /// Asset.
        asset: AssetId,
        /// Reserved balance.
        reserved: i64,
        /// Σ exposure of working orders.
        expected: i64,
    },
    /// Open-order count differs from the working orders found.
    #[error("account {account:?} counts {counted} open orders, {expected} are working")]
    OpenOrdersMismatch {
        /// Account.
        account: AccountId,
        /// The account's counter.
        counted: u32,
        /// Working orders found in the books.
        expected: u32,
    },
    /// A working order in a final status or with inconsistent quantities.
    #[error("working order {order:?} is inconsistent: status {status:?}, filled + leaves != quantity: {quantities}")]
    BadWorkingOrder {
        /// Order.
        order: OrderId,
        /// Its status.
        status: OrderStatus,
        /// Whether filled + leaves != quantity.
        quantities: bool,
    },
}

/// Checks every invariant of the module docs; the first broken one is returned.
pub fn check<B: PriceTimeBook>(engine: &Engine<B>) -> Result<(), Violation> {
    for instrument in engine.instruments() {
        if let (Some(bid), Some(ask)) = engine.best_bid_ask(instrument.id())
            && bid >= ask
        {
            return Err(Violation::BookCrossed { instrument: instrument.id(), bid, ask });
        }
    }
    let assets: Vec<AssetId> = engine.assets().map(|a| a.spec().id).collect();
    for &asset in &assets {
        let totals = engine.asset_totals(asset).unwrap_or_default();
        let mut held = 0i64;
        for account in engine.accounts() {
            let Some(balance) = account.balances.get(asset.0 as usize) else { continue };
            if balance.available < 0 {
                return Err(Violation::NegativeAvailable { account: account.id, asset, available: balance.available });
            }
            held += balance.available + balance.reserved;
        }
        if held + totals.fees != totals.supply {
            return Err(Violation::NotConserved { asset, held, fees: totals.fees, supply: totals.supply });
        }
    }
    for instrument in engine.instruments() {
        let index = instrument.id().0 as usize;
        let net: i64 = engine.accounts().filter_map(|a| a.positions.get(index)).map(|p| p.net_base).sum();
        if net != 0 {
            return Err(Violation::PositionsNotNetZero { instrument: instrument.id(), net });
        }
    }
    let mut reserved = BTreeMap::<(AccountId, AssetId), i64>::new();
    let mut open = BTreeMap::<AccountId, u32>::new();
    let mut bad = None;
    for instrument in engine.instruments() {
        engine.visit_orders(instrument.id(), |o| {
            if let Some(exposure) = exposure_of(instrument, o.side, o.price, o.leaves) {
                *reserved.entry((o.account, exposure.asset)).or_default() += exposure.reserved;
            }
            *open.entry(o.account).or_default() += 1;
            let quantities = o.filled.0 + o.leaves.0 != o.quantity.0;
            if bad.is_none() && (quantities || o.status.is_final()) {
                bad = Some(Violation::BadWorkingOrder { order: o.id, status: o.status, quantities });
            }
        });
    }
    if let Some(bad) = bad {
        return Err(bad);
    }
    for account in engine.accounts() {
        for &asset in &assets {
            let have = account.balances.get(asset.0 as usize).map_or(0, |b| b.reserved);
            let expected = reserved.get(&(account.id, asset)).copied().unwrap_or(0);
            if have != expected {
                return Err(Violation::ReservedMismatch { account: account.id, asset, reserved: have, expected });
            }
        }
        let expected = open.get(&account.id).copied().unwrap_or(0);
        if account.open_orders != expected {
            return Err(Violation::OpenOrdersMismatch { account: account.id, counted: account.open_orders, expected });
        }
    }
    Ok(())
}
