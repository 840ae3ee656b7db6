//! Group-commit journal writer.
//!
//! The journal stage appends every command of a ring batch into one buffer and, at the end
//! of the batch, issues one `write` and (policy `batch`) one `fdatasync`. Under `interval`
//! a syncer thread calls `fdatasync` on a clone of the file handle every interval; under
//! `none` data reaches the page cache only. Whatever the policy, [`JournalWriter::durable`]
//! publishes the highest sequence the policy has made durable, and that is all an
//! acknowledgement may promise.
//!
//! A failed `write` or `fdatasync` is fatal: after a failed fsync the page cache can no
//! longer be trusted (Linux may have dropped the dirty pages), so the writer stops
//! advancing the durable sequence and reports the error; the pipeline fails closed.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use thiserror::Error;

use super::disk::{Disk, DiskFile, OsDisk};
use super::record::{SEGMENT_MAGIC, encode_record};
use super::{segment_name, segments_dir};
use crate::codec::Writer;
use crate::model::Command;

/// What an acknowledgement promises about the journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// `fdatasync` after every ring batch; an ack means the command is on disk.
    Batch,
    /// `fdatasync` at most every interval; acks wait for the next sync.
    Interval(Duration),
    /// No `fdatasync`; an ack means the command reached the OS page cache (survives a
    /// process crash, not a machine crash).
    None,
}

/// Unparseable fsync policy text.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("fsync policy must be `batch`, `none` or `interval:<ms>` (1..=10000), got {0:?}")]
pub struct ParseFsyncPolicyError(pub String);

impl FromStr for FsyncPolicy {
    type Err = ParseFsyncPolicyError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ParseFsyncPolicyError(text.to_owned());
        match text {
            "batch" => Ok(FsyncPolicy::Batch),
            "none" => Ok(FsyncPolicy::None),
            _ => {
                let ms: u64 = text.strip_prefix("interval:").ok_or_else(bad)?.parse().map_err(|_| bad())?;
                if (1..=10_000).contains(&ms) {
                    Ok(FsyncPolicy::Interval(Duration::from_millis(ms)))
                } else {
                    Err(bad())
                }
            }
        }
    }
}

/// Journal settings.
#[derive(Clone, Debug)]
pub struct JournalConfig {
    /// Data directory; segments go to `<dir>/journal`.
    pub dir: PathBuf,
    /// Durability promise of an ack.
    pub fsync: FsyncPolicy,
    /// A segment is closed and a new one started once it exceeds this size.
    pub segment_bytes_max: u64,
    /// A batch is written early once its buffer exceeds this size.
    pub batch_bytes_max: usize,
}

impl JournalConfig {
    /// Defaults: fsync per batch, 256 MiB segments, 1 MiB write buffer.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), fsync: FsyncPolicy::Batch, segment_bytes_max: 256 << 20, batch_bytes_max: 1 << 20 }
    }
}

/// `fdatasync` timings of the journal, for metrics.
#[derive(Debug, Default)]
pub struct SyncStats {
    /// Syncs done.
    pub count: AtomicU64,
    /// Σ sync time, nanoseconds.
    pub total_ns: AtomicU64,
    /// Longest sync, nanoseconds.
    pub max_ns: AtomicU64,
}

impl SyncStats {
    fn record(&self, started: std::time::Instant) {
        let ns = started.elapsed().as_nanos() as u64;
        self.count.fetch_add(1, Ordering::Relaxed);
        self.total_ns.fetch_add(ns, Ordering::Relaxed);
        self.max_ns.fetch_max(ns, Ordering::Relaxed);
    }
}

/// Writes records into segment files on a [`Disk`]; see the module docs.
#[derive(Debug)]
pub struct JournalWriter<D: Disk = OsDisk> {
    disk: D,
    config: JournalConfig,
    segment: D::File,
    segment_bytes: u64,
    buffer: Writer,
    /// Highest sequence handed to `write`.
    written: Arc<AtomicU64>,
    /// Highest sequence durable under the policy; 0 = none yet.
    durable: Arc<AtomicU64>,
    failed: Arc<AtomicBool>,
    last_buffered: u64,
    syncer: Option<Syncer<D::File>>,
    stats: Arc<SyncStats>,
}

impl JournalWriter {
    /// Starts a new segment whose first record will be `next_sequence`. Everything before
    /// it is already durable (from recovery).
    pub fn open(config: JournalConfig, next_sequence: u64) -> std::io::Result<Self> {
        Self::open_on(OsDisk, config, next_sequence)
    }
}

impl<D: Disk> JournalWriter<D> {
    /// [`JournalWriter::open`] on any [`Disk`].
    pub fn open_on(disk: D, config: JournalConfig, next_sequence: u64) -> std::io::Result<Self> {
        let durable_before = next_sequence.saturating_sub(1);
        disk.create_dir_all(&segments_dir(&config.dir))?;
        let segment = create_segment(&disk, &config.dir, next_sequence)?;
        let written = Arc::new(AtomicU64::new(durable_before));
        let durable = Arc::new(AtomicU64::new(durable_before));
        let failed = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(SyncStats::default());
        let syncer = match config.fsync {
            FsyncPolicy::Interval(every) => {
                Some(Syncer::start(every, segment.try_clone()?, &written, &durable, &failed, &stats))
            }
            FsyncPolicy::Batch | FsyncPolicy::None => None,
        };
        let buffer = Writer::with_capacity(config.batch_bytes_max + 2 * super::RECORD_PAYLOAD_MAX_BYTES);
        Ok(Self {
            disk,
            config,
            segment,
            segment_bytes: SEGMENT_MAGIC.len() as u64,
            buffer,
            written,
            durable,
            failed,
            last_buffered: durable_before,
            syncer,
            stats,
        })
    }

    /// The durable sequence, shared with the stages that release acknowledgements.
    pub fn durable(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.durable)
    }

    /// `fdatasync` timings.
    pub fn sync_stats(&self) -> Arc<SyncStats> {
        Arc::clone(&self.stats)
    }

    /// Set once a write or sync failed; nothing after it will become durable.
    pub fn failed(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.failed)
    }

    /// Buffers one command; writes early when the buffer is full.
    pub fn append(&mut self, command: &Command) -> std::io::Result<()> {
        assert!(command.sequence.0 > self.last_buffered, "journal sequences must increase");
        encode_record(command, &mut self.buffer);
        self.last_buffered = command.sequence.0;
        if self.buffer.len() >= self.config.batch_bytes_max { self.commit() } else { Ok(()) }
    }

    /// Group commit: one write of everything buffered, then the policy's sync.
    pub fn commit(&mut self) -> std::io::Result<()> {
        if self.failed.load(Ordering::Acquire) {
            return Err(std::io::Error::other("journal failed earlier; refusing to write"));
        }
        let result = self.write_and_sync();
        if result.is_err() {
            self.failed.store(true, Ordering::Release);
        }
        result
    }

    fn write_and_sync(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.segment.write_all(self.buffer.as_bytes())?;
        self.segment_bytes += self.buffer.len() as u64;
        self.buffer.clear();
        let last = self.last_buffered;
        self.written.store(last, Ordering::Release);
        #[cfg(feature = "sabotage")]
        if crate::sabotage::armed(crate::sabotage::Sabotage::AckBeforeSync) {
            self.durable.store(last, Ordering::Release);
        }
        match self.config.fsync {
            FsyncPolicy::Batch => {
                let started = std::time::Instant::now();
                self.segment.sync_data()?;
                self.stats.record(started);
                self.durable.store(last, Ordering::Release);
            }
            FsyncPolicy::None => self.durable.store(last, Ordering::Release),
            FsyncPolicy::Interval(_) => {}
        }
        if self.segment_bytes >= self.config.segment_bytes_max {
            self.roll(last + 1)?;
        }
        Ok(())
    }

    /// Closes the current segment (synced) and starts the next at `next_sequence`.
    fn roll(&mut self, next_sequence: u64) -> std::io::Result<()> {
        self.segment.sync_data()?;
        self.durable.store(self.written.load(Ordering::Acquire), Ordering::Release);
        self.segment = create_segment(&self.disk, &self.config.dir, next_sequence)?;
        self.segment_bytes = SEGMENT_MAGIC.len() as u64;
        if let Some(syncer) = &self.syncer {
            syncer.replace_file(self.segment.try_clone()?);
        }
        Ok(())
    }

    /// Writes and syncs everything buffered regardless of policy (shutdown).
    pub fn sync_all(&mut self) -> std::io::Result<()> {
        self.commit()?;
        self.segment.sync_data()?;
        self.durable.store(self.written.load(Ordering::Acquire), Ordering::Release);
        Ok(())
    }
}

fn create_segment<D: Disk>(disk: &D, dir: &Path, first_sequence: u64) -> std::io::Result<D::File> {
    let path = segments_dir(dir).join(segment_name(first_sequence));
    let mut file = disk.create_new(&path)?;
    file.write_all(SEGMENT_MAGIC)?;
    file.sync_data()?;
    disk.sync_dir(&segments_dir(dir))?;
    Ok(file)
}

/// Background `fdatasync` for the `interval` policy.
#[derive(Debug)]
struct Syncer<F: DiskFile> {
    file: Arc<Mutex<F>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl<F: DiskFile> Syncer<F> {
    fn start(
        every: Duration,
        file: F,
        written: &Arc<AtomicU64>,
        durable: &Arc<AtomicU64>,
        failed: &Arc<AtomicBool>,
        stats: &Arc<SyncStats>,
    ) -> Self {
        let file = Arc::new(Mutex::new(file));
        let stop = Arc::new(AtomicBool::new(false));
        let (f, s, w, d, x) =
            (Arc::clone(&file), Arc::clone(&stop), Arc::clone(written), Arc::clone(durable), Arc::clone(failed));
        let stats = Arc::clone(stats);
        let thread = std::thread::Builder::new()
            .name("oms-journal-sync".into())
            .spawn(move || {
                while !s.load(Ordering::Acquire) {
                    std::thread::sleep(every);
                    let target = w.load(Ordering::Acquire);
                    if target <= d.load(Ordering::Acquire) || x.load(Ordering::Acquire) {
                        continue;
                    }
                    let started = std::time::Instant::now();
                    let synced =
                        f.lock().map_err(|_| std::io::Error::other("poisoned")).and_then(|mut file| file.sync_data());
                    stats.record(started);
                    match synced {
                        Ok(()) => d.fetch_max(target, Ordering::AcqRel),
                        Err(_) => {
                            x.store(true, Ordering::Release);
                            return;
                        }
                    };
                }
            })
            .expect("spawning the journal sync thread");
        Self { file, stop, thread: Some(thread) }
    }

    fn replace_file(&self, file: F) {
        if let Ok(mut current) = self.file.lock() {
            *current = file;
        }
    }
}

impl<F: DiskFile> Drop for Syncer<F> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
