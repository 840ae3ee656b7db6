//! Assets (BTC, USD, ...) and exact conversion of amounts at the edge.

use rust_decimal::Decimal;

use super::fixed::{ConversionError, StepError, steps_exact, steps_to_decimal};
use super::ids::{AssetCode, AssetId};

/// Most decimal places an asset may have; keeps `10^scale` inside `i64`.
pub const ASSET_SCALE_MAX: u32 = 18;

/// An asset definition as submitted in a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssetSpec {
    /// Dense id, `< assets_max`.
    pub id: AssetId,
    /// Display code, e.g. `BTC`.
    pub code: AssetCode,
    /// Decimal places of the smallest unit (8 for BTC satoshis).
    pub scale: u32,
}

/// A defined asset. Balances are `i64` counts of its smallest unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asset {
    spec: AssetSpec,
    unit: Decimal,
}

impl Asset {
    /// Validates a spec; `None` when the scale is out of range.
    pub fn new(spec: AssetSpec) -> Option<Self> {
        if spec.scale > ASSET_SCALE_MAX {
            return None;
        }
        Some(Self { spec, unit: Decimal::new(1, spec.scale) })
    }

    /// The definition.
    pub fn spec(&self) -> &AssetSpec {
        &self.spec
    }

    /// Size of one minor unit (e.g. `0.00000001`).
    pub fn unit(&self) -> Decimal {
        self.unit
    }

    /// Exact conversion of a non-negative decimal amount into minor units.
    pub fn amount_from_decimal(&self, value: Decimal) -> Result<i64, ConversionError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(ConversionError::Negative);
        }
        steps_exact(value, self.unit).map_err(|e| match e {
            StepError::OffStep => ConversionError::TooPrecise { scale: self.spec.scale },
            StepError::Overflow => ConversionError::Overflow,
        })
    }

    /// Minor units back to a decimal.
    pub fn amount_to_decimal(&self, units: i64) -> Decimal {
        steps_to_decimal(units, self.unit)
    }
}
