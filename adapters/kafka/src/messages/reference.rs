//! Reference data the messages need: symbols and tick/lot sizes to convert prices and
//! quantities exactly, asset codes and scales to render fees.

use std::collections::HashMap;

use oms_core::model::{Asset, AssetId, Instrument, InstrumentId};

/// Lookup of instruments and assets. The binary implements it over whatever catalog it
/// keeps (the HTTP adapter's, or the engine's instrument set); [`Catalog`] is a plain one.
pub trait MarketReference {
    /// Instrument by symbol (inbound commands name symbols).
    fn instrument_by_symbol(&self, symbol: &str) -> Option<&Instrument>;
    /// Instrument by id (engine events carry ids).
    fn instrument(&self, id: InstrumentId) -> Option<&Instrument>;
    /// Asset by id (fees are in asset minor units).
    fn asset(&self, id: AssetId) -> Option<&Asset>;
    /// Asset by code (transfers name assets).
    fn asset_by_code(&self, code: &str) -> Option<&Asset>;
}

/// A fixed set of instruments and assets.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    instruments: HashMap<InstrumentId, Instrument>,
    by_symbol: HashMap<String, InstrumentId>,
    assets: HashMap<AssetId, Asset>,
}

impl Catalog {
    /// Builds a catalog from validated instruments and assets.
    pub fn new(instruments: impl IntoIterator<Item = Instrument>, assets: impl IntoIterator<Item = Asset>) -> Self {
        let mut catalog = Self::default();
        for instrument in instruments {
            catalog.by_symbol.insert(instrument.spec().symbol.as_str().to_owned(), instrument.id());
            catalog.instruments.insert(instrument.id(), instrument);
        }
        for asset in assets {
            catalog.assets.insert(asset.spec().id, asset);
        }
        catalog
    }
}

impl MarketReference for Catalog {
    fn instrument_by_symbol(&self, symbol: &str) -> Option<&Instrument> {
        self.by_symbol.get(symbol).and_then(|id| self.instruments.get(id))
    }

    fn instrument(&self, id: InstrumentId) -> Option<&Instrument> {
        self.instruments.get(&id)
    }

    fn asset(&self, id: AssetId) -> Option<&Asset> {
        self.assets.get(&id)
    }

    fn asset_by_code(&self, code: &str) -> Option<&Asset> {
        // A handful of assets: a scan beats keeping a second map in step.
        self.assets.values().find(|a| a.spec().code.as_str() == code)
    }
}
