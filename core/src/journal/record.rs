//! Record encoding and the scan that validates a segment.

use crate::codec::{Writer, encode_command};
use crate::model::Command;

/// First bytes of every segment file: format name and version.
pub const SEGMENT_MAGIC: &[u8; 8] = b"OMSJRNL2";
/// Bytes before the payload: length, checksum, sequence.
pub const RECORD_HEADER_BYTES: usize = 16;
/// Largest payload a record may carry (commands encode to a few hundred bytes).
pub const RECORD_PAYLOAD_MAX_BYTES: usize = 1_024;

/// Appends one record for `command` to `w`.
pub fn encode_record(command: &Command, w: &mut Writer) {
    let start = w.len();
    w.u32(0); // payload length, patched below
    w.u32(0); // checksum, patched below
    w.u64(command.sequence.0);
    encode_command(command, w);
    let payload_len = w.len() - start - RECORD_HEADER_BYTES;
    assert!(payload_len <= RECORD_PAYLOAD_MAX_BYTES, "command payload exceeds the record bound");
    let crc = crc32c::crc32c(&w.as_bytes()[start + 8..]);
    w.patch_u32(start, payload_len as u32);
    w.patch_u32(start + 4, crc);
}

/// How a segment scan ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanEnd {
    /// Every byte belongs to a valid record.
    Clean,
    /// The bytes from `offset` to the end are an incomplete or damaged final record, as a
    /// crash mid-write leaves them. Recovery truncates them in the last segment.
    TornTail {
        /// Offset of the first byte not part of a valid record.
        offset: u64,
    },
    /// A damaged record followed by more data: not a torn write. Recovery refuses.
    Corrupt {
        /// Offset of the damaged record.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Walks the records of a segment image, calling `visit(sequence, payload, offset)` for each
/// valid one, and reports how the scan ended. `bytes` must start with [`SEGMENT_MAGIC`]
/// (checked by the caller). No recursion, no allocation.
pub fn scan_segment(bytes: &[u8], mut visit: impl FnMut(u64, &[u8], u64)) -> ScanEnd {
    let mut at = SEGMENT_MAGIC.len();
    while at < bytes.len() {
        let rest = &bytes[at..];
        if rest.len() < RECORD_HEADER_BYTES {
            return ScanEnd::TornTail { offset: at as u64 };
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        let end = RECORD_HEADER_BYTES + len;
        if len > RECORD_PAYLOAD_MAX_BYTES {
            // A length this large cannot come from the writer: either the final record was
            // torn inside its header, or the log is damaged with data after it.
            return torn_or_corrupt(rest.len(), RECORD_HEADER_BYTES, at, "record length out of range");
        }
        if rest.len() < end {
            return ScanEnd::TornTail { offset: at as u64 };
        }
        if crc32c::crc32c(&rest[8..end]) != crc {
            return torn_or_corrupt(rest.len(), end, at, "record checksum mismatch");
        }
        let mut sequence = [0u8; 8];
        sequence.copy_from_slice(&rest[8..16]);
        visit(u64::from_le_bytes(sequence), &rest[RECORD_HEADER_BYTES..end], at as u64);
        at += end;
    }
    ScanEnd::Clean
}

/// A bad record that is the last thing in the file is a torn write; one with data after it
/// is corruption.
fn torn_or_corrupt(rest: usize, record_end: usize, at: usize, reason: &'static str) -> ScanEnd {
    if rest <= record_end {
        ScanEnd::TornTail { offset: at as u64 }
    } else {
        ScanEnd::Corrupt { offset: at as u64, reason }
    }
}
