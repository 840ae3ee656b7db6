//! Snapshot files: `<dir>/snapshots/<sequence:020>.snapshot`, written atomically
//! (temporary file, fsync, rename, fsync of the directory), newest two kept.

use std::path::{Path, PathBuf};

use super::disk::{Disk, DiskFile, OsDisk};
use super::{list_numbered, snapshots_dir};
use crate::book::PriceTimeBook;
use crate::codec::Writer;
use crate::engine::Engine;

/// First bytes of a snapshot file: format name and version.
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"OMSSNAP2";
/// Snapshots kept; older ones are deleted after a new one is durable.
const SNAPSHOTS_KEPT: usize = 2;

/// Writes a snapshot of `engine` as of its last applied sequence; returns the path.
pub fn write_snapshot<B: PriceTimeBook>(data_dir: &Path, engine: &Engine<B>) -> std::io::Result<PathBuf> {
    write_snapshot_on(&OsDisk, data_dir, engine)
}

/// [`write_snapshot`] on any [`Disk`].
pub fn write_snapshot_on<B: PriceTimeBook>(
    disk: &impl Disk,
    data_dir: &Path,
    engine: &Engine<B>,
) -> std::io::Result<PathBuf> {
    let dir = snapshots_dir(data_dir);
    disk.create_dir_all(&dir)?;
    let sequence = engine.last_sequence().map_or(0, |s| s.0);
    let mut w = Writer::with_capacity(1 << 20);
    w.put_bytes(SNAPSHOT_MAGIC);
    engine.encode_snapshot(&mut w);
    let path = dir.join(format!("{sequence:020}.snapshot"));
    let temporary = dir.join(format!("{sequence:020}.snapshot.tmp"));
    // A crash can leave a temporary behind; it was never renamed, so it is garbage.
    match disk.remove(&temporary) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = disk.create_new(&temporary)?;
    file.write_all(w.as_bytes())?;
    file.sync_data()?;
    disk.rename(&temporary, &path)?;
    disk.sync_dir(&dir)?;
    let all = list_numbered(disk, &dir, "snapshot")?;
    for (_, old) in all.iter().rev().skip(SNAPSHOTS_KEPT) {
        disk.remove(old)?;
    }
    Ok(path)
}

/// Snapshot files, newest first, with their sequence.
pub fn latest_snapshots(data_dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    latest_snapshots_on(&OsDisk, data_dir)
}

/// [`latest_snapshots`] on any [`Disk`].
pub fn latest_snapshots_on(disk: &impl Disk, data_dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut all = list_numbered(disk, &snapshots_dir(data_dir), "snapshot")?;
    all.reverse();
    Ok(all)
}
