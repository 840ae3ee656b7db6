//! Primitive readers and writers.

use rust_decimal::Decimal;
use thiserror::Error;

use crate::model::InlineId;

/// Why bytes could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Input ended inside a value.
    #[error("input ends early at byte {offset}")]
    Truncated {
        /// Offset where more bytes were needed.
        offset: usize,
    },
    /// An enum tag out of range.
    #[error("invalid {what} tag {tag} at byte {offset}")]
    InvalidTag {
        /// What was being decoded.
        what: &'static str,
        /// The tag read.
        tag: u8,
        /// Offset of the tag.
        offset: usize,
    },
    /// A value outside its domain (identifier, decimal, boolean, length).
    #[error("invalid {what} at byte {offset}")]
    InvalidValue {
        /// What was being decoded.
        what: &'static str,
        /// Offset of the value.
        offset: usize,
    },
    /// Bytes left after the value.
    #[error("{count} trailing bytes")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
}

/// Appends little-endian values to a reusable buffer.
#[derive(Debug, Default)]
pub struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// A writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self { bytes: Vec::with_capacity(capacity) }
    }
    /// Bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Forgets the contents, keeping the allocation.
    pub fn clear(&mut self) {
        self.bytes.clear();
    }
    /// Bytes written.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }
    /// Whether nothing is written.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
    /// Overwrites 4 bytes at `at` (for lengths and checksums written after the body).
    pub fn patch_u32(&mut self, at: usize, value: u32) {
        self.bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }
    /// Raw bytes.
    pub fn put_bytes(&mut self, v: &[u8]) {
        self.bytes.extend_from_slice(v);
    }
    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.bytes.push(v);
    }
    /// Boolean as 0/1.
    pub fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }
    /// u16.
    pub fn u16(&mut self, v: u16) {
        self.put_bytes(&v.to_le_bytes());
    }
    /// u32.
    pub fn u32(&mut self, v: u32) {
        self.put_bytes(&v.to_le_bytes());
    }
    /// u64.
    pub fn u64(&mut self, v: u64) {
        self.put_bytes(&v.to_le_bytes());
    }
    /// i64.
    pub fn i64(&mut self, v: i64) {
        self.put_bytes(&v.to_le_bytes());
    }
    /// Optional i64: tag 0/1 then the value.
    pub fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.i64(v);
            }
            None => self.u8(0),
        }
    }
    /// Optional u64.
    pub fn opt_u64(&mut self, v: Option<u64>) {
        self.opt_i64(v.map(|v| v as i64));
    }
    /// Decimal in `rust_decimal`'s 16-byte form.
    pub fn decimal(&mut self, v: Decimal) {
        self.put_bytes(&v.serialize());
    }
    /// Inline identifier: length byte then the bytes.
    pub fn id<const N: usize>(&mut self, v: &InlineId<N>) {
        let bytes = v.as_bytes();
        self.u8(bytes.len() as u8);
        self.put_bytes(bytes);
    }
}

/// Reads little-endian values, checking every bound.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    /// Reads from `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, offset: 0 }
    }
    /// Current offset.
    pub fn offset(&self) -> usize {
        self.offset
    }
    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.offset
    }
    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.bytes.len() - self.offset {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes { count }),
        }
    }
    /// `n` raw bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.offset.checked_add(n).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or(DecodeError::Truncated { offset: self.offset })?;
        let out = &self.bytes[self.offset..end];
        self.offset = end;
        Ok(out)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    /// Boolean; only 0 and 1 are valid.
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        let offset = self.offset;
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::InvalidValue { what: "boolean", offset }),
        }
    }
    /// u16.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    /// u32.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    /// u64.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// i64.
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    /// Optional i64.
    pub fn opt_i64(&mut self) -> Result<Option<i64>, DecodeError> {
        if self.bool()? { Ok(Some(self.i64()?)) } else { Ok(None) }
    }
    /// Optional u64.
    pub fn opt_u64(&mut self) -> Result<Option<u64>, DecodeError> {
        Ok(self.opt_i64()?.map(|v| v as u64))
    }
    /// Decimal; refuses flag words `rust_decimal` would misread (scale > 28, stray bits).
    pub fn decimal(&mut self) -> Result<Decimal, DecodeError> {
        let offset = self.offset;
        let raw: [u8; 16] = self.array()?;
        let valid = raw[0] == 0 && raw[1] == 0 && raw[2] <= 28 && (raw[3] == 0 || raw[3] == 0x80);
        if !valid {
            return Err(DecodeError::InvalidValue { what: "decimal", offset });
        }
        Ok(Decimal::deserialize(raw))
    }
    /// Inline identifier, validated like user input.
    pub fn id<const N: usize>(&mut self) -> Result<InlineId<N>, DecodeError> {
        let offset = self.offset;
        let len = usize::from(self.u8()?);
        let bytes = self.take(len)?;
        let text = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidValue { what: "identifier", offset })?;
        InlineId::new(text).map_err(|_| DecodeError::InvalidValue { what: "identifier", offset })
    }
    /// Reports an invalid tag at the previous byte.
    pub fn bad_tag(&self, what: &'static str, tag: u8) -> DecodeError {
        DecodeError::InvalidTag { what, tag, offset: self.offset.saturating_sub(1) }
    }
}
