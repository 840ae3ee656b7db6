//! Identifier newtypes.
//!
//! Every id that crosses an API is its own type, so an `AccountId` can never be passed
//! where an `OrderId` is expected. Textual ids (`ClientOrderId`, `Symbol`, `AssetCode`) are
//! stored inline in fixed-size buffers: commands and events stay `Copy` and fit ring slots,
//! and nothing on the hot path touches the heap.

use std::fmt;

use thiserror::Error;

/// Engine-assigned order id. Equal to the [`Sequence`] of the command that created the
/// order, which makes ids unique, monotonic and reproducible on replay without a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct OrderId(pub u64);

/// Trading account (the owner of balances, positions and orders).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AccountId(pub u32);

/// Dense instrument index, chosen by whoever adds the instrument; `< instruments_max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct InstrumentId(pub u32);

/// Dense asset index (BTC, USD, ...); `< assets_max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct AssetId(pub u16);

/// Global position of a command in the input sequence; the total order of the system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sequence(pub u64);

/// Engine-assigned trade id, dense from 1 per engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TradeId(pub u64);

/// Nanoseconds since the Unix epoch, stamped by the sequencer. The engine never reads a
/// clock: all time (GTD expiry, rate windows, trading days) comes from command timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Nanoseconds in one UTC day; daily loss limits roll over on this boundary.
    pub const DAY_NS: u64 = 86_400 * 1_000_000_000;

    /// The UTC day number (days since the epoch) this instant falls in.
    pub fn day(self) -> u64 {
        self.0 / Self::DAY_NS
    }

    /// The wall clock now: what the sequencer stamps commands with, and what the edges
    /// stamp things no command carries (a sampled book, an order refused at the door).
    /// Never called by the engine, which stays deterministic on command timestamps.
    pub fn now() -> Self {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Self(u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
    }
}

/// Why a textual identifier was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum IdentifierError {
    /// The identifier was empty.
    #[error("identifier is empty")]
    Empty,
    /// The identifier is longer than its fixed buffer.
    #[error("identifier is longer than {max_len} bytes")]
    TooLong {
        /// Maximum length in bytes.
        max_len: usize,
    },
    /// A byte outside the allowed set (ASCII letters, digits, `-`, `_`, `.`, `:`, `/`).
    #[error("identifier has a disallowed character at byte {position}")]
    InvalidCharacter {
        /// Byte offset of the first bad character.
        position: usize,
    },
}

/// Fixed-capacity ASCII identifier; `Copy`, comparable, hashable, no heap.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InlineId<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> InlineId<N> {
    const _FITS_LEN: () = assert!(N <= u8::MAX as usize);

    /// Parses an identifier, refusing empty, over-long and non-identifier text.
    pub fn new(text: &str) -> Result<Self, IdentifierError> {
        let raw = text.as_bytes();
        if raw.is_empty() {
            return Err(IdentifierError::Empty);
        }
        if raw.len() > N {
            return Err(IdentifierError::TooLong { max_len: N });
        }
        if let Some(position) = raw.iter().position(|b| !is_identifier_byte(*b)) {
            return Err(IdentifierError::InvalidCharacter { position });
        }
        let mut bytes = [0u8; N];
        bytes[..raw.len()].copy_from_slice(raw);
        // Length fits: checked against N above, and N <= 255 at compile time.
        Ok(Self { len: raw.len() as u8, bytes })
    }

    /// The identifier text.
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored (checked in `new`), so this cannot fail.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    /// The raw bytes (for hashing and binary codecs).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

fn is_identifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/')
}

impl<const N: usize> fmt::Debug for InlineId<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl<const N: usize> fmt::Display for InlineId<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest client order id: a hyphenated UUID.
pub const CLIENT_ORDER_ID_LEN_MAX: usize = 36;
/// Longest instrument symbol, e.g. `BTC-USD`.
pub const SYMBOL_LEN_MAX: usize = 16;
/// Longest asset code, e.g. `USDT`.
pub const ASSET_CODE_LEN_MAX: usize = 8;

/// The caller's own id for an order; unique among an account's live orders.
pub type ClientOrderId = InlineId<CLIENT_ORDER_ID_LEN_MAX>;
/// Instrument symbol such as `BTC-USD`.
pub type Symbol = InlineId<SYMBOL_LEN_MAX>;
/// Asset code such as `BTC`.
pub type AssetCode = InlineId<ASSET_CODE_LEN_MAX>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_ids_refuse_bad_text() {
        assert_eq!(Symbol::new(""), Err(IdentifierError::Empty));
        assert_eq!(Symbol::new("A-VERY-LONG-SYMBOL-NAME"), Err(IdentifierError::TooLong { max_len: 16 }));
        assert_eq!(ClientOrderId::new("ab c"), Err(IdentifierError::InvalidCharacter { position: 2 }));
        assert_eq!(ClientOrderId::new("ü"), Err(IdentifierError::InvalidCharacter { position: 0 }));
        let id = ClientOrderId::new("6f1c2b7e-1f0a-4c55-9a57-3d1bd5d0c9aa").expect("uuid fits");
        assert_eq!(id.as_str(), "6f1c2b7e-1f0a-4c55-9a57-3d1bd5d0c9aa");
    }

    #[test]
    fn day_boundary() {
        assert_eq!(Timestamp(Timestamp::DAY_NS - 1).day(), 0);
        assert_eq!(Timestamp(Timestamp::DAY_NS).day(), 1);
    }
}
