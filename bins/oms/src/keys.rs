//! `--api-keys <file.toml>`: who may call the API, from a file an operator mounts from a
//! Secret. A key may be given as its SHA-256 digest, so the Secret need not hold the key
//! itself (the registry only ever keeps digests).
//!
//! ```toml
//! [[key]]
//! account = 1
//! sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//! admin = true              # may use /api/admin routes (default false)
//!
//! [[key]]
//! account = 2
//! key = "a-raw-key"         # or the key itself (development)
//! ```

use std::path::Path;

use anyhow::{Context, bail};
use oms_core::model::AccountId;
use oms_http::auth::{ApiKeys, Principal};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct KeyFile {
    key: Vec<KeyEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct KeyEntry {
    account: u32,
    key: Option<String>,
    sha256: Option<String>,
    #[serde(default)]
    admin: bool,
}

/// Reads a key file.
pub fn load(path: &Path) -> anyhow::Result<ApiKeys> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading the API keys {}", path.display()))?;
    parse(&text).with_context(|| format!("API keys {}", path.display()))
}

/// Parses a key file; every entry names exactly one of `key` and `sha256`, and no key is
/// listed twice.
pub fn parse(text: &str) -> anyhow::Result<ApiKeys> {
    let file: KeyFile = toml::from_str(text).context("parsing")?;
    let mut keys = ApiKeys::default();
    for (n, entry) in file.key.iter().enumerate() {
        let principal = Principal { account: AccountId(entry.account), admin: entry.admin };
        let digest = match (&entry.key, &entry.sha256) {
            (Some(key), None) => {
                if key.trim().len() < 16 {
                    bail!("key #{} (account {}): a key must be at least 16 characters", n + 1, entry.account);
                }
                ApiKeys::digest(key.trim())
            }
            (None, Some(hex)) => parse_digest(hex)
                .with_context(|| format!("key #{} (account {}): sha256 is not 64 hex digits", n + 1, entry.account))?,
            _ => bail!("key #{} (account {}): give exactly one of `key` and `sha256`", n + 1, entry.account),
        };
        if !keys.insert_digest(digest, principal) {
            bail!("key #{} (account {}) is listed twice", n + 1, entry.account);
        }
    }
    Ok(keys)
}

fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_and_hashed_keys_resolve_to_their_accounts() {
        // sha256("hashed-key-for-two")
        let hex: String = ApiKeys::digest("hashed-key-for-two").iter().map(|b| format!("{b:02x}")).collect();
        let text = format!(
            "[[key]]\naccount = 1\nkey = \"raw-key-for-account-1\"\nadmin = true\n\
             [[key]]\naccount = 2\nsha256 = \"{}\"\n",
            hex.to_uppercase()
        );
        let keys = parse(&text).expect("valid");
        assert_eq!(keys.resolve("raw-key-for-account-1"), Some(Principal { account: AccountId(1), admin: true }));
        assert_eq!(keys.resolve("hashed-key-for-two"), Some(Principal { account: AccountId(2), admin: false }));
        assert_eq!(keys.resolve(&hex), None, "the digest itself is not a key");
    }

    #[test]
    fn bad_key_files_are_refused_by_name() {
        let cases = [
            ("[[key]]\naccount = 1\n", "exactly one of"),
            ("[[key]]\naccount = 1\nkey = \"abcdefghijklmnop\"\nsha256 = \"00\"\n", "exactly one of"),
            ("[[key]]\naccount = 1\nkey = \"short\"\n", "at least 16"),
            ("[[key]]\naccount = 1\nsha256 = \"zz\"\n", "64 hex digits"),
            (&format!("[[key]]\naccount = 1\nsha256 = \"{}\"\n", "g".repeat(64)), "64 hex digits"),
            (
                "[[key]]\naccount = 1\nkey = \"abcdefghijklmnop\"\n[[key]]\naccount = 2\nkey = \"abcdefghijklmnop\"\n",
                "twice",
            ),
            ("[[key]]\naccount = 1\nkey = \"abcdefghijklmnop\"\nrole = \"x\"\n", "unknown field"),
            ("", "missing field `key`"),
        ];
        for (text, expected) in cases {
            let error = format!("{:#}", parse(text).expect_err(text));
            assert!(error.contains(expected), "{expected:?} not in {error:?}");
        }
    }
}
