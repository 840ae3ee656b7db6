//! Fixed-point quantities: prices in ticks, quantities in lots, amounts in asset minor units.
//!
//! Inside the engine everything is an `i64` count of the smallest step, so comparisons and
//! arithmetic are exact and cheap. `rust_decimal` appears only at the edge
//! ([`crate::model::Instrument`] and [`crate::model::Asset`] convert), and a value that does
//! not land exactly on a step is refused, never rounded.

use rust_decimal::Decimal;
use thiserror::Error;

/// Limit or trigger price as a whole number of the instrument's ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Price(pub i64);

/// Order quantity as a whole number of the instrument's lots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity(pub i64);

impl Quantity {
    /// No quantity.
    pub const ZERO: Quantity = Quantity(0);
}

/// Why a decimal could not become a fixed-point value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum ConversionError {
    /// Zero or negative where a positive value is required.
    #[error("value must be greater than zero")]
    NotPositive,
    /// Negative where zero or more is required.
    #[error("value must not be negative")]
    Negative,
    /// Not a whole multiple of the tick size.
    #[error("price is not a multiple of the tick size {tick_size}")]
    OffTick {
        /// The instrument's tick size.
        tick_size: Decimal,
    },
    /// Not a whole multiple of the lot size.
    #[error("quantity is not a multiple of the lot size {lot_size}")]
    OffLot {
        /// The instrument's lot size.
        lot_size: Decimal,
    },
    /// Finer than the asset's smallest unit.
    #[error("amount has more than {scale} decimal places")]
    TooPrecise {
        /// The asset's number of decimal places.
        scale: u32,
    },
    /// Does not fit the fixed-point range.
    #[error("value is too large")]
    Overflow,
}

/// Converts `value` into a whole number of `step`s, refusing anything off-step.
///
/// `step` must be positive (checked by callers when the instrument or asset is defined).
pub(crate) fn steps_exact(value: Decimal, step: Decimal) -> Result<i64, StepError> {
    let steps = value.checked_div(step).ok_or(StepError::Overflow)?;
    if steps.fract() != Decimal::ZERO {
        return Err(StepError::OffStep);
    }
    // Re-multiply to be sure the division was exact (Decimal division rounds at 28 digits).
    if steps.checked_mul(step) != Some(value) {
        return Err(StepError::OffStep);
    }
    i64::try_from(steps).map_err(|_| StepError::Overflow)
}

/// Failure of [`steps_exact`], mapped by callers onto the domain error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StepError {
    OffStep,
    Overflow,
}

/// `steps * step` as a decimal (exact: `Decimal` has 96 bits of mantissa).
pub(crate) fn steps_to_decimal(steps: i64, step: Decimal) -> Decimal {
    (Decimal::from(steps) * step).normalize()
}
