//! The file-system operations the journal uses, behind a trait so the deterministic
//! simulator (`oms-sim`) can run the *same* writer, recovery and snapshot code on a
//! simulated disk that tears writes, fails `fdatasync` and loses unsynced data on a crash.
//!
//! The set is deliberately small: append-only files, whole-file reads, truncate, rename,
//! remove, and the two syncs whose ordering the journal's durability argument relies on
//! (`sync_data` on a segment before an ack; `sync_dir` after a create, rename or remove).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Directory and file operations of the journal. Implementations: [`OsDisk`] (the real
/// file system) and the simulator's fault-injecting disk.
pub trait Disk: Clone + Send + std::fmt::Debug + 'static {
    /// An open segment or snapshot file, written append-only.
    type File: DiskFile;

    /// Creates `dir` and its parents if missing.
    fn create_dir_all(&self, dir: &Path) -> std::io::Result<()>;
    /// Paths of the entries of `dir`; empty when `dir` does not exist.
    fn list_dir(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>>;
    /// The whole content of a file.
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    /// Creates a new, empty file for appending; fails if it exists.
    fn create_new(&self, path: &Path) -> std::io::Result<Self::File>;
    /// Shortens a file to `len` bytes and makes that durable.
    fn truncate(&self, path: &Path, len: u64) -> std::io::Result<()>;
    /// Renames a file, replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> std::io::Result<()>;
    /// Makes the directory entries of `dir` (creates, renames, removes) durable.
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()>;
}

/// An open file of a [`Disk`].
pub trait DiskFile: Send + std::fmt::Debug + 'static {
    /// Appends all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// Makes everything written so far durable (`fdatasync`).
    fn sync_data(&mut self) -> std::io::Result<()>;
    /// A second handle on the same file (the interval syncer's).
    fn try_clone(&self) -> std::io::Result<Self>
    where
        Self: Sized;
}

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsDisk;

impl Disk for OsDisk {
    type File = File;

    fn create_dir_all(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn list_dir(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        entries.map(|entry| entry.map(|e| e.path())).collect()
    }

    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn create_new(&self, path: &Path) -> std::io::Result<File> {
        OpenOptions::new().create_new(true).append(true).open(path)
    }

    fn truncate(&self, path: &Path, len: u64) -> std::io::Result<()> {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(len)?;
        file.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> std::io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

impl DiskFile for File {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        Write::write_all(self, bytes)
    }

    fn sync_data(&mut self) -> std::io::Result<()> {
        File::sync_data(self)
    }

    fn try_clone(&self) -> std::io::Result<Self> {
        File::try_clone(self)
    }
}
