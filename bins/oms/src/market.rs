//! `--market <file.toml>`: the assets, instruments and opening balances an engine starts
//! from, as an operator writes them (a ConfigMap on Kubernetes). The demo market is such a
//! file too (`demo-market.toml`), so there is one parser and one validation for both.
//!
//! ```toml
//! [[asset]]
//! id = 0
//! code = "USD"
//! scale = 6                 # decimal places of the smallest unit
//!
//! [[instrument]]
//! id = 0
//! symbol = "BTC-USD"
//! base = "BTC"              # asset codes
//! quote = "USD"
//! tick-size = "0.01"        # decimals are strings: exact, never floats
//! lot-size = "0.0001"
//! quantity-max = "10000"    # quantity-min defaults to lot-size
//! notional-min = "1"
//! notional-max = "10000000"
//! price-band-bps = 1000
//! reference-price = "60000"
//! maker-fee-ppm = 100
//! taker-fee-ppm = 400
//!
//! [[deposit]]               # opening balances (optional)
//! account = 1
//! asset = "USD"
//! amount = "10000000"       # in asset units; must be a whole number of its smallest unit
//! ```
//!
//! The definition is checked by applying it to a scratch engine: anything the engine would
//! refuse (an unknown asset, a lot finer than the base unit, a duplicate id, a capacity) is
//! an error at start naming the entry, before a journal is touched.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, bail};
use oms_core::prelude::*;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::config::engine_config;

/// A market definition as commands, checked.
#[derive(Clone, Debug)]
pub struct Market {
    actions: Vec<Action>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct MarketFile {
    asset: Vec<AssetEntry>,
    instrument: Vec<InstrumentEntry>,
    #[serde(default)]
    deposit: Vec<DepositEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct AssetEntry {
    id: u16,
    code: String,
    scale: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct InstrumentEntry {
    id: u32,
    symbol: String,
    base: String,
    quote: String,
    tick_size: String,
    lot_size: String,
    quantity_min: Option<String>,
    quantity_max: String,
    notional_min: String,
    notional_max: String,
    #[serde(default)]
    price_band_bps: u32,
    reference_price: String,
    #[serde(default)]
    maker_fee_ppm: u32,
    #[serde(default)]
    taker_fee_ppm: u32,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct DepositEntry {
    account: u32,
    asset: String,
    amount: String,
}

impl Market {
    /// Reads and checks a market file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading the market {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("market {}", path.display()))
    }

    /// Parses and checks a market definition.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let file: MarketFile = toml::from_str(text).context("parsing")?;
        let mut actions = Vec::new();
        let mut assets: HashMap<String, AssetSpec> = HashMap::new();
        for entry in &file.asset {
            let code = AssetCode::new(&entry.code).map_err(|e| anyhow::anyhow!("asset {:?}: {e}", entry.code))?;
            let spec = AssetSpec { id: AssetId(entry.id), code, scale: entry.scale };
            if assets.insert(entry.code.clone(), spec).is_some() {
                bail!("asset {:?} is defined twice", entry.code);
            }
            actions.push(Action::DefineAsset(spec));
        }
        let asset = |code: &str, whose: &str| {
            assets
                .get(code)
                .copied()
                .with_context(|| format!("{whose}: unknown asset {code:?} (define it as an [[asset]])"))
        };
        for entry in &file.instrument {
            let whose = format!("instrument {:?}", entry.symbol);
            let lot_size = decimal(&entry.lot_size, &whose, "lot-size")?;
            actions.push(Action::AddInstrument(InstrumentSpec {
                id: InstrumentId(entry.id),
                symbol: Symbol::new(&entry.symbol).map_err(|e| anyhow::anyhow!("{whose}: {e}"))?,
                base: asset(&entry.base, &whose)?.id,
                quote: asset(&entry.quote, &whose)?.id,
                tick_size: decimal(&entry.tick_size, &whose, "tick-size")?,
                lot_size,
                quantity_min: match &entry.quantity_min {
                    Some(text) => decimal(text, &whose, "quantity-min")?,
                    None => lot_size,
                },
                quantity_max: decimal(&entry.quantity_max, &whose, "quantity-max")?,
                notional_min: decimal(&entry.notional_min, &whose, "notional-min")?,
                notional_max: decimal(&entry.notional_max, &whose, "notional-max")?,
                price_band_bps: entry.price_band_bps,
                reference_price: decimal(&entry.reference_price, &whose, "reference-price")?,
                maker_fee_ppm: entry.maker_fee_ppm,
                taker_fee_ppm: entry.taker_fee_ppm,
            }));
        }
        for entry in &file.deposit {
            let whose = format!("deposit of {} to account {}", entry.asset, entry.account);
            let spec = asset(&entry.asset, &whose)?;
            let amount = decimal(&entry.amount, &whose, "amount")?;
            let units = minor_units(amount, spec.scale).with_context(|| whose.clone())?;
            actions.push(Action::Deposit(BalanceTransfer {
                account: AccountId(entry.account),
                asset: spec.id,
                amount: units,
            }));
        }
        let market = Self { actions };
        market.reference_engine()?;
        Ok(market)
    }

    /// The definition as the commands a new journal starts with.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// An engine with the definition applied: what the ingress and the persister convert
    /// decimals and symbols with. Errors with the first refused entry.
    pub fn reference_engine(&self) -> anyhow::Result<Engine> {
        let mut engine = Engine::new(engine_config());
        for (n, action) in self.actions.iter().enumerate() {
            let command = Command {
                sequence: Sequence(n as u64 + 1),
                timestamp: Timestamp(1),
                origin: Origin::Direct,
                action: *action,
            };
            let mut events: Vec<Event> = Vec::new();
            engine.apply(&command, &mut events);
            if let Some(Event::Rejected(rejected)) = events.iter().find(|e| matches!(e, Event::Rejected(_))) {
                bail!("the engine refuses {action:?}: {:?}", rejected.reason);
            }
        }
        Ok(engine)
    }

    /// Each instrument with its reference price in ticks (what the demo bot quotes around).
    pub fn reference_ticks(&self) -> Vec<(InstrumentId, i64)> {
        self.actions
            .iter()
            .filter_map(|action| match action {
                Action::AddInstrument(spec) => {
                    let ticks = (spec.reference_price / spec.tick_size).trunc();
                    Some((spec.id, i64::try_from(ticks).unwrap_or(1).max(1)))
                }
                _ => None,
            })
            .collect()
    }
}

fn decimal(text: &str, whose: &str, field: &str) -> anyhow::Result<Decimal> {
    Decimal::from_str(text.trim()).map_err(|e| anyhow::anyhow!("{whose}: {field} {text:?} is not a decimal: {e}"))
}

/// `amount` in units of 10^-scale, exactly.
fn minor_units(amount: Decimal, scale: u32) -> anyhow::Result<i64> {
    let factor = Decimal::from_i128_with_scale(10i128.pow(scale.min(28)), 0);
    let units = amount.checked_mul(factor).context("amount out of range")?;
    anyhow::ensure!(units.fract().is_zero(), "amount {amount} is finer than the asset's scale {scale}");
    anyhow::ensure!(units.is_sign_positive() && !units.is_zero(), "amount {amount} must be positive");
    i64::try_from(units).map_err(|_| anyhow::anyhow!("amount {amount} out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("demo-market.toml");

    #[test]
    fn demo_market_parses_to_assets_instruments_and_deposits() {
        let market = Market::parse(DEMO).expect("demo market");
        let engine = market.reference_engine().expect("applies");
        assert_eq!(engine.instruments().count(), 3);
        assert_eq!(engine.assets().count(), 4);
        let deposits = market.actions().iter().filter(|a| matches!(a, Action::Deposit(_))).count();
        assert_eq!(deposits, 7 * 4, "seven accounts funded in four assets");
        let btc = market.reference_ticks()[0];
        assert_eq!(btc, (InstrumentId(0), 6_000_000), "60000 / 0.01");
    }

    #[test]
    fn deposits_are_converted_exactly() {
        let units = |text: &str, scale| minor_units(Decimal::from_str(text).expect("decimal"), scale).ok();
        assert_eq!(units("1.5", 6), Some(1_500_000));
        assert_eq!(units("0.0000001", 6), None, "finer than the scale");
        assert_eq!(units("-1", 6), None);
        assert_eq!(units("0", 6), None);
        assert_eq!(units("100000000000000", 8), None, "overflows i64");
    }

    /// Each bad definition is refused with a message naming what is wrong.
    #[test]
    fn bad_definitions_are_refused_by_name() {
        let asset = "[[asset]]\nid = 0\ncode = \"USD\"\nscale = 6\n[[asset]]\nid = 1\ncode = \"BTC\"\nscale = 8\n";
        let instrument = |fields: &str| {
            format!(
                "{asset}[[instrument]]\nid = 0\nsymbol = \"BTC-USD\"\nbase = \"BTC\"\nquote = \"USD\"\n\
                 quantity-max = \"100\"\nnotional-min = \"1\"\nnotional-max = \"1000000\"\n\
                 reference-price = \"60000\"\n{fields}"
            )
        };
        let good = instrument("tick-size = \"0.01\"\nlot-size = \"0.0001\"\n");
        Market::parse(&good).expect("the baseline is valid");
        let cases = [
            (instrument("tick-size = \"0.01\"\nlot-size = \"0.000000001\"\n"), "refuses"),
            (instrument("tick-size = \"x\"\nlot-size = \"0.0001\"\n"), "tick-size \"x\" is not a decimal"),
            (instrument("tick-size = \"0.01\"\nlot-size = \"0.0001\"\ncolour = 1\n"), "unknown field"),
            (good.replace("base = \"BTC\"", "base = \"ETH\""), "unknown asset \"ETH\""),
            (format!("{good}[[deposit]]\naccount = 1\nasset = \"USD\"\namount = \"0.0000001\"\n"), "finer"),
            (format!("{good}[[deposit]]\naccount = 1\nasset = \"DOGE\"\namount = \"1\"\n"), "unknown asset"),
            (asset.to_owned(), "missing field `instrument`"),
        ];
        for (text, expected) in cases {
            let error = format!("{:#}", Market::parse(&text).expect_err(&text));
            assert!(error.contains(expected), "{expected:?} not in {error:?} for\n{text}");
        }
        let duplicate = format!("instrument = []\n{asset}[[asset]]\nid = 2\ncode = \"USD\"\nscale = 2\n");
        let error = format!("{:#}", Market::parse(&duplicate).expect_err("duplicate"));
        assert!(error.contains("defined twice"), "{error}");
    }
}
