//! Pre-trade risk and the account ledger.
//!
//! The engine is single-threaded, so exposure is reserved and released in one place with
//! plain integers: a check computes a [`Reservation`] without touching state (a reject
//! changes nothing), acceptance applies it, and fills and cancels release exactly the part
//! that stopped working. Buyers reserve quote at their limit (or protection) price, sellers
//! reserve base; fees are taken from what each side receives, so a fill never needs more
//! than its reservation.

mod account;
mod checks;
mod position;

pub use account::{Account, Accounts, Balance};
pub use checks::{NewOrderRisk, OrderExposure, Reservation, check_new_order, exposure_of};
pub use position::Position;
