//! The journal: append-only segment files of sequenced command records, written with group
//! commit, plus snapshot files, and recovery from both.
//!
//! Record layout (little-endian), one per command:
//!
//! ```text
//! | payload_len: u32 | crc32c: u32 | sequence: u64 | payload: payload_len bytes |
//! ```
//!
//! The CRC32C covers the sequence and the payload. A segment starts with the 8-byte magic
//! [`SEGMENT_MAGIC`] and is named after its first sequence (`00000000000000000001.journal`),
//! so segments sort by name. Sequences are contiguous across segments; a gap is corruption.
//!
//! Durability is published as one number, the highest sequence the chosen [`FsyncPolicy`]
//! has made durable. The pipeline releases an acknowledgement only at or below it.

mod disk;
mod record;
mod recovery;
mod snapshot_file;
mod writer;

pub use disk::{Disk, DiskFile, OsDisk};
pub use record::{RECORD_HEADER_BYTES, RECORD_PAYLOAD_MAX_BYTES, SEGMENT_MAGIC, ScanEnd, scan_segment};
pub use recovery::{
    Recovered, RecoveryError, recover, recover_on, replay_all, replay_all_on, replay_commands, replay_commands_on,
};
pub use snapshot_file::{SNAPSHOT_MAGIC, latest_snapshots, write_snapshot, write_snapshot_on};
pub use writer::{FsyncPolicy, JournalConfig, JournalWriter, ParseFsyncPolicyError, SyncStats};

use std::path::{Path, PathBuf};

/// Directory of segment files under a data directory.
pub fn segments_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("journal")
}

/// Directory of snapshot files under a data directory.
pub fn snapshots_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("snapshots")
}

/// File name of the segment whose first record has `sequence`.
pub fn segment_name(sequence: u64) -> String {
    format!("{sequence:020}.journal")
}

/// Segment files in sequence order, with their first sequence.
pub fn list_segments(data_dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    list_segments_on(&OsDisk, data_dir)
}

/// [`list_segments`] on any [`Disk`].
pub fn list_segments_on(disk: &impl Disk, data_dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    list_numbered(disk, &segments_dir(data_dir), "journal")
}

fn list_numbered(disk: &impl Disk, dir: &Path, extension: &str) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for path in disk.list_dir(dir)? {
        if path.extension().and_then(|e| e.to_str()) != Some(extension) {
            continue;
        }
        if let Some(n) = path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<u64>().ok()) {
            found.push((n, path));
        }
    }
    found.sort();
    Ok(found)
}
