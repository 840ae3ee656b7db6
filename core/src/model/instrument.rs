//! Instrument specifications and the exact decimal ↔ tick/lot conversions at the edge.

use rust_decimal::Decimal;
use thiserror::Error;

use super::asset::Asset;
use super::fixed::{ConversionError, Price, Quantity, StepError, steps_exact, steps_to_decimal};
use super::ids::{AssetId, InstrumentId, Symbol};

/// Basis points in one whole (100 %).
pub const BPS_ONE: i64 = 10_000;
/// Parts per million in one whole; fee rates are in ppm.
pub const PPM_ONE: i64 = 1_000_000;
/// Highest fee rate accepted: 10 %.
pub const FEE_PPM_MAX: u32 = 100_000;

/// Whether an instrument accepts new orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InstrumentStatus {
    /// Orders accepted and matched.
    Trading,
    /// New orders and amends refused; cancels still pass.
    Halted,
}

/// An instrument definition as submitted in a command (decimals, as an operator writes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstrumentSpec {
    /// Dense id, `< instruments_max`.
    pub id: InstrumentId,
    /// Symbol, e.g. `BTC-USD`.
    pub symbol: Symbol,
    /// Asset bought and sold.
    pub base: AssetId,
    /// Asset prices are quoted in.
    pub quote: AssetId,
    /// Price step in quote per base.
    pub tick_size: Decimal,
    /// Quantity step in base.
    pub lot_size: Decimal,
    /// Smallest order quantity in base.
    pub quantity_min: Decimal,
    /// Largest order quantity in base.
    pub quantity_max: Decimal,
    /// Smallest order notional in quote.
    pub notional_min: Decimal,
    /// Largest order notional in quote.
    pub notional_max: Decimal,
    /// Collar around the reference price for limit prices, in basis points; also sets the
    /// default protection price of market orders. 0 disables the collar.
    pub price_band_bps: u32,
    /// Reference price used until the first trade.
    pub reference_price: Decimal,
    /// Fee on maker fills in ppm of what the maker receives.
    pub maker_fee_ppm: u32,
    /// Fee on taker fills in ppm of what the taker receives.
    pub taker_fee_ppm: u32,
}

/// Why an instrument definition was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum InstrumentSpecError {
    /// Tick or lot size is zero or negative.
    #[error("tick and lot size must be positive")]
    StepNotPositive,
    /// A lot is not a whole number of base minor units.
    #[error("lot size is not a whole number of base units")]
    LotFinerThanBaseUnit,
    /// One tick × one lot is not a whole number of quote minor units.
    #[error("tick size × lot size is not a whole number of quote units")]
    TickLotFinerThanQuoteUnit,
    /// A quantity or notional bound is off-step, not positive, or min > max.
    #[error("quantity or notional bounds are invalid")]
    InvalidBounds,
    /// The reference price is not positive or off-tick.
    #[error("reference price is invalid")]
    InvalidReferencePrice,
    /// A fee rate is above [`FEE_PPM_MAX`].
    #[error("fee rate above the maximum")]
    FeeTooHigh,
    /// Price band above 100 %.
    #[error("price band above 10000 bps")]
    BandTooWide,
    /// Base and quote are the same asset.
    #[error("base and quote must differ")]
    SameAsset,
}

/// A validated instrument in the engine's integer units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instrument {
    spec: InstrumentSpec,
    /// Base minor units in one lot.
    base_units_per_lot: i64,
    /// Quote minor units in one tick × one lot: `notional = ticks × lots × this`.
    quote_units_per_tick_lot: i64,
    quantity_min: Quantity,
    quantity_max: Quantity,
    notional_min: i64,
    notional_max: i64,
    reference_price: Price,
}

impl Instrument {
    /// Validates `spec` against its assets and derives the integer parameters.
    pub fn new(spec: InstrumentSpec, base: &Asset, quote: &Asset) -> Result<Self, InstrumentSpecError> {
        use InstrumentSpecError as E;
        if spec.base == spec.quote {
            return Err(E::SameAsset);
        }
        if spec.tick_size <= Decimal::ZERO || spec.lot_size <= Decimal::ZERO {
            return Err(E::StepNotPositive);
        }
        let base_units_per_lot = steps_exact(spec.lot_size, base.unit()).map_err(|_| E::LotFinerThanBaseUnit)?;
        let tick_lot = spec.tick_size.checked_mul(spec.lot_size).ok_or(E::TickLotFinerThanQuoteUnit)?;
        let quote_units_per_tick_lot = steps_exact(tick_lot, quote.unit()).map_err(|_| E::TickLotFinerThanQuoteUnit)?;
        if base_units_per_lot <= 0 || quote_units_per_tick_lot <= 0 {
            return Err(E::StepNotPositive);
        }
        let lots = |d: Decimal| match steps_exact(d, spec.lot_size) {
            Ok(n) if n > 0 => Ok(Quantity(n)),
            _ => Err(E::InvalidBounds),
        };
        let quantity_min = lots(spec.quantity_min)?;
        let quantity_max = lots(spec.quantity_max)?;
        let notional_min = steps_exact(spec.notional_min, quote.unit()).map_err(|_| E::InvalidBounds)?;
        let notional_max = steps_exact(spec.notional_max, quote.unit()).map_err(|_| E::InvalidBounds)?;
        if quantity_min > quantity_max || notional_min < 0 || notional_min > notional_max {
            return Err(E::InvalidBounds);
        }
        let reference_price = match steps_exact(spec.reference_price, spec.tick_size) {
            Ok(t) if t > 0 => Price(t),
            _ => return Err(E::InvalidReferencePrice),
        };
        if spec.maker_fee_ppm > FEE_PPM_MAX || spec.taker_fee_ppm > FEE_PPM_MAX {
            return Err(E::FeeTooHigh);
        }
        if i64::from(spec.price_band_bps) > BPS_ONE {
            return Err(E::BandTooWide);
        }
        Ok(Self {
            spec,
            base_units_per_lot,
            quote_units_per_tick_lot,
            quantity_min,
            quantity_max,
            notional_min,
            notional_max,
            reference_price,
        })
    }

    /// The definition as submitted.
    pub fn spec(&self) -> &InstrumentSpec {
        &self.spec
    }
    /// Instrument id.
    pub fn id(&self) -> InstrumentId {
        self.spec.id
    }
    /// Smallest order quantity.
    pub fn quantity_min(&self) -> Quantity {
        self.quantity_min
    }
    /// Largest order quantity.
    pub fn quantity_max(&self) -> Quantity {
        self.quantity_max
    }
    /// Smallest order notional in quote minor units.
    pub fn notional_min(&self) -> i64 {
        self.notional_min
    }
    /// Largest order notional in quote minor units.
    pub fn notional_max(&self) -> i64 {
        self.notional_max
    }
    /// Reference price until the first trade.
    pub fn reference_price(&self) -> Price {
        self.reference_price
    }

    /// Exact conversion of a decimal price into ticks: positive and on-tick, or an error.
    pub fn price_from_decimal(&self, value: Decimal) -> Result<Price, ConversionError> {
        if value <= Decimal::ZERO {
            return Err(ConversionError::NotPositive);
        }
        steps_exact(value, self.spec.tick_size).map(Price).map_err(|e| match e {
            StepError::OffStep => ConversionError::OffTick { tick_size: self.spec.tick_size },
            StepError::Overflow => ConversionError::Overflow,
        })
    }

    /// Exact conversion of a decimal base quantity into lots: positive and on-lot.
    pub fn quantity_from_decimal(&self, value: Decimal) -> Result<Quantity, ConversionError> {
        if value <= Decimal::ZERO {
            return Err(ConversionError::NotPositive);
        }
        steps_exact(value, self.spec.lot_size).map(Quantity).map_err(|e| match e {
            StepError::OffStep => ConversionError::OffLot { lot_size: self.spec.lot_size },
            StepError::Overflow => ConversionError::Overflow,
        })
    }

    /// Ticks back to a decimal price.
    pub fn price_to_decimal(&self, price: Price) -> Decimal {
        steps_to_decimal(price.0, self.spec.tick_size)
    }

    /// Lots back to a decimal quantity.
    pub fn quantity_to_decimal(&self, quantity: Quantity) -> Decimal {
        steps_to_decimal(quantity.0, self.spec.lot_size)
    }

    /// Quote minor units for `quantity` at `price`; `None` on overflow.
    #[inline]
    pub fn notional(&self, price: Price, quantity: Quantity) -> Option<i64> {
        let n = i128::from(price.0)
            .checked_mul(i128::from(quantity.0))?
            .checked_mul(i128::from(self.quote_units_per_tick_lot))?;
        i64::try_from(n).ok()
    }

    /// Base minor units in `quantity`; `None` on overflow.
    #[inline]
    pub fn base_units(&self, quantity: Quantity) -> Option<i64> {
        quantity.0.checked_mul(self.base_units_per_lot)
    }

    /// Whether `price` lies inside the collar around `reference`.
    pub fn within_band(&self, price: Price, reference: Price) -> bool {
        let band = i128::from(self.spec.price_band_bps);
        if band == 0 {
            return true;
        }
        let distance = (i128::from(price.0) - i128::from(reference.0)).abs();
        distance * i128::from(BPS_ONE) <= band * i128::from(reference.0)
    }

    /// The edge of the collar on the side a market order of `buy` walks towards: the worst
    /// price it may trade at. `None` when the instrument has no collar.
    pub fn protection_price(&self, reference: Price, buy: bool) -> Option<Price> {
        let band = i128::from(self.spec.price_band_bps);
        if band == 0 {
            return None;
        }
        let reference = i128::from(reference.0);
        let offset = reference * band / i128::from(BPS_ONE);
        let ticks = if buy { reference + offset } else { (reference - offset).max(1) };
        i64::try_from(ticks).ok().map(Price)
    }
}

/// Fee in minor units for `received` at `rate_ppm`, rounded down (in the client's favour, so
/// fees never exceed what a fill released; see `risk::ledger`).
#[inline]
pub fn fee_for(received: i64, rate_ppm: u32) -> i64 {
    let fee = i128::from(received) * i128::from(rate_ppm) / i128::from(PPM_ONE);
    // received is an i64 and rate <= 10 %, so the fee fits.
    fee as i64
}
