//! `--demo`: a small live market for newcomers. Instruments BTC-USD, ETH-USD and SOL-USD
//! (`demo-market.toml`), five funded accounts (the first with admin scope) whose API keys are printed and saved to
//! `<data-dir>/demo-accounts.json`, and a liquidity bot that quotes and trades so the book
//! and the chart move. Keys are generated once and reused on restart.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use oms_core::pipeline::EngineHandle;
use oms_core::prelude::*;
use oms_http::DemoAccount;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::market::Market;

/// The account the liquidity bot quotes from (not listed on the login screen).
const MARKET_MAKER: AccountId = AccountId(900);
/// The account the bot takes liquidity with.
const TAKER: AccountId = AccountId(901);

/// A demo account with its key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedAccount {
    account_id: String,
    api_key: String,
    #[serde(default)]
    admin: bool,
}

/// A demo account as the server needs it.
#[derive(Clone, Debug)]
pub struct KeyedAccount {
    pub account: AccountId,
    pub api_key: String,
    pub admin: bool,
}

/// The demo market.
#[derive(Debug)]
pub struct Demo {
    file: PathBuf,
    accounts: Vec<KeyedAccount>,
}

/// What the bot needs to quote.
#[derive(Clone, Debug)]
pub struct MarketMaker {
    instruments: Vec<(InstrumentId, i64)>,
}

impl Demo {
    /// Loads saved keys or makes new ones.
    pub fn new(data_dir: &Path) -> anyhow::Result<Self> {
        let file = data_dir.join("demo-accounts.json");
        let saved: Vec<SavedAccount> = match std::fs::read_to_string(&file) {
            Ok(text) => serde_json::from_str(&text).with_context(|| format!("reading {}", file.display()))?,
            Err(_) => (1..=5)
                .map(|n| SavedAccount { account_id: n.to_string(), api_key: new_key(n), admin: n == 1 })
                .collect(),
        };
        let accounts = saved
            .iter()
            .map(|s| {
                Ok(KeyedAccount {
                    account: AccountId(s.account_id.parse()?),
                    api_key: s.api_key.clone(),
                    admin: s.admin,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self { file, accounts })
    }

    /// Accounts with keys.
    pub fn accounts(&self) -> &[KeyedAccount] {
        &self.accounts
    }

    /// The login-screen list.
    pub fn listing(&self) -> Vec<DemoAccount> {
        self.accounts
            .iter()
            .map(|a| DemoAccount { account_id: a.account.0.to_string(), api_key: a.api_key.clone(), admin: a.admin })
            .collect()
    }

    /// Prints the keys and writes `demo-accounts.json`.
    pub fn print_and_save(&self) -> anyhow::Result<()> {
        let saved: Vec<SavedAccount> = self
            .accounts
            .iter()
            .map(|a| SavedAccount { account_id: a.account.0.to_string(), api_key: a.api_key.clone(), admin: a.admin })
            .collect();
        std::fs::write(&self.file, serde_json::to_string_pretty(&saved)?)
            .with_context(|| format!("writing {}", self.file.display()))?;
        println!("demo accounts (also in {}):", self.file.display());
        for a in &self.accounts {
            println!("  account {:>3}  apiKey {}{}", a.account.0, a.api_key, if a.admin { "  (admin)" } else { "" });
        }
        Ok(())
    }

    /// The demo market (`demo-market.toml`): assets, instruments and opening balances.
    pub fn market() -> Market {
        Market::parse(include_str!("demo-market.toml")).expect("the demo market is valid (tested)")
    }

    /// Reference prices in ticks for the bot.
    pub fn market_maker(market: &Market) -> MarketMaker {
        MarketMaker { instruments: market.reference_ticks() }
    }
}

fn new_key(n: u32) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let seed = format!("{nanos}-{}-{n}-{:p}", std::process::id(), &n);
    let digest = Sha256::digest(seed.as_bytes());
    format!("demo-{}", digest.iter().take(16).map(|b| format!("{b:02x}")).collect::<String>())
}

/// Quotes five levels each side around a drifting mid and sometimes takes, every 500 ms.
pub async fn liquidity_bot(mut handle: EngineHandle, maker: MarketMaker) {
    let mut rng = (std::process::id() as u64) << 32 | 0x9E37_79B9;
    let mut mids: Vec<i64> = maker.instruments.iter().map(|(_, m)| *m).collect();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut n = 0u64;
    loop {
        tick.tick().await;
        for (index, (instrument, _)) in maker.instruments.iter().enumerate() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let step = (mids[index] / 2_000).max(1);
            mids[index] = (mids[index] + (rng % 3) as i64 * step - step).max(step * 10);
            let mid = mids[index];
            let _ = handle
                .try_submit(Action::MassCancel(MassCancel { account: MARKET_MAKER, instrument: Some(*instrument) }));
            for level in 1..=5i64 {
                for side in [Side::Buy, Side::Sell] {
                    n += 1;
                    let price = if side == Side::Buy { mid - level * step } else { mid + level * step };
                    let _ = handle.try_submit(order(
                        MARKET_MAKER,
                        *instrument,
                        side,
                        price,
                        10 + level * 5,
                        n,
                        TimeInForce::Gtc,
                    ));
                }
            }
            if rng % 10 < 4 {
                n += 1;
                let side = if rng.is_multiple_of(2) { Side::Buy } else { Side::Sell };
                let price = if side == Side::Buy { mid + 3 * step } else { mid - 3 * step };
                let _ = handle.try_submit(order(
                    TAKER,
                    *instrument,
                    side,
                    price,
                    5 + (rng % 20) as i64,
                    n,
                    TimeInForce::Ioc,
                ));
            }
        }
    }
}

fn order(
    account: AccountId,
    instrument: InstrumentId,
    side: Side,
    price: i64,
    lots: i64,
    n: u64,
    tif: TimeInForce,
) -> Action {
    Action::NewOrder(NewOrder {
        account,
        client_order_id: ClientOrderId::new(&format!("bot-{n}")).expect("valid"),
        instrument,
        side,
        order_type: OrderType::Limit,
        price: Some(Price(price.max(1))),
        stop_price: None,
        quantity: Quantity(lots),
        time_in_force: tif,
        expire_time: None,
        post_only: false,
        reduce_only: false,
        self_trade_prevention: SelfTradePrevention::ExpireMaker,
    })
}
