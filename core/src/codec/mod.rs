//! Binary encoding of commands (journal payloads) and engine snapshots.
//!
//! Little-endian, fixed field order, a tag byte per enum; hand-written rather than derived
//! so that the on-disk format is explicit, versioned by the journal and snapshot headers,
//! and so that decoding untrusted bytes is strict: every tag, length, identifier and
//! decimal is checked, trailing bytes are an error, and nothing panics.

mod command;
pub mod tags;
mod wire;

pub use command::{decode_command, encode_command};
pub(crate) use command::{decode_instrument, decode_limits, encode_instrument, encode_limits};
pub use wire::{DecodeError, Reader, Writer};

#[cfg(test)]
mod tests;
