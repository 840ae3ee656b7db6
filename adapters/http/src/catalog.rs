//! Instruments and assets by symbol and id, for converting between API decimals and
//! engine ticks/lots. Loaded from the engine at start and reloaded when an admin event
//! adds one.

use std::collections::HashMap;

use oms_core::model::{Asset, AssetId, Instrument, InstrumentId, InstrumentStatus};
use oms_core::prelude::Engine;

/// A tradable instrument as the API sees it.
#[derive(Clone, Copy, Debug)]
pub struct Listing {
    /// Conversions and bounds.
    pub instrument: Instrument,
    /// Trading or halted.
    pub status: InstrumentStatus,
}

/// Instruments and assets.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    by_symbol: HashMap<String, InstrumentId>,
    listings: HashMap<InstrumentId, Listing>,
    assets: HashMap<AssetId, Asset>,
}

impl Catalog {
    /// Reads everything from the engine (runs on the engine thread).
    pub fn from_engine(engine: &Engine) -> Self {
        let mut catalog = Catalog::default();
        for instrument in engine.instruments() {
            let spec = instrument.spec();
            catalog.by_symbol.insert(spec.symbol.as_str().to_owned(), spec.id);
            let status = engine.instrument_status(spec.id).unwrap_or(InstrumentStatus::Halted);
            catalog.listings.insert(spec.id, Listing { instrument: *instrument, status });
            for asset in [spec.base, spec.quote] {
                if let Some(a) = engine.asset(asset) {
                    catalog.assets.insert(asset, *a);
                }
            }
        }
        catalog
    }

    /// Instrument by symbol.
    pub fn by_symbol(&self, symbol: &str) -> Option<(InstrumentId, &Listing)> {
        let id = *self.by_symbol.get(symbol)?;
        Some((id, self.listings.get(&id)?))
    }

    /// Instrument by id.
    pub fn listing(&self, id: InstrumentId) -> Option<&Listing> {
        self.listings.get(&id)
    }

    /// Asset by id.
    pub fn asset(&self, id: AssetId) -> Option<&Asset> {
        self.assets.get(&id)
    }

    /// Asset by code (`BTC`): a linear scan, there are a handful.
    pub fn asset_by_code(&self, code: &str) -> Option<&Asset> {
        self.assets.values().find(|a| a.spec().code.as_str() == code)
    }

    /// All listings, ordered by id.
    pub fn listings(&self) -> Vec<&Listing> {
        let mut all: Vec<&Listing> = self.listings.values().collect();
        all.sort_by_key(|l| l.instrument.id());
        all
    }
}
