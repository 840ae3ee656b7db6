//! Recovery: latest loadable snapshot, then every journal record after it through the same
//! `Engine::apply`. A torn tail of the last segment is truncated (that is what a crash
//! mid-write leaves); anything else wrong in the log stops recovery with the file and
//! offset, because starting from a log with a hole in it would silently lose orders.

use std::path::{Path, PathBuf};

use thiserror::Error;

use super::disk::{Disk, OsDisk};
use super::record::{SEGMENT_MAGIC, ScanEnd, scan_segment};
use super::snapshot_file::{SNAPSHOT_MAGIC, latest_snapshots_on};
use super::{list_segments_on, segments_dir};
use crate::book::PriceTimeBook;
use crate::codec::{DecodeError, decode_command};
use crate::engine::{Engine, EngineConfig};
use crate::model::{EventSink, Sequence};

/// Why recovery refused to start.
#[derive(Debug, Error)]
pub enum RecoveryError {
    /// Reading or repairing a file failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// File involved.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A segment does not start with the journal magic.
    #[error("{path} is not a journal segment (bad magic)")]
    BadMagic {
        /// File.
        path: PathBuf,
    },
    /// Damaged data in the middle of the log.
    #[error(
        "journal corrupt in {path} at byte {offset}: {reason}; refusing to start (restore the file or move it aside deliberately)"
    )]
    Corrupt {
        /// File.
        path: PathBuf,
        /// Byte offset of the damaged record.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Sequences are not contiguous.
    #[error("journal gap in {path} at byte {offset}: expected sequence {expected}, found {found}")]
    Gap {
        /// File.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// Sequence that should have come next.
        expected: u64,
        /// Sequence found.
        found: u64,
    },
}

/// The result of a successful recovery.
#[derive(Debug)]
pub struct Recovered<B: PriceTimeBook> {
    /// Engine state after the last journaled command.
    pub engine: Engine<B>,
    /// Last sequence applied (0 when the journal was empty).
    pub last_sequence: u64,
    /// Sequence of the snapshot loaded, if any.
    pub snapshot_sequence: Option<u64>,
    /// Snapshots that failed to load and were passed over (older ones or the journal
    /// covered them).
    pub snapshots_skipped: u32,
    /// Journal records replayed after the snapshot.
    pub replayed: u64,
    /// Bytes of torn tail truncated from the last segment.
    pub truncated_bytes: u64,
    /// Sequence of the first record in the log, if any (without a snapshot, the log must
    /// start at the engine's first sequence; the caller knows which that is).
    pub first_logged: Option<u64>,
}

/// Rebuilds the engine from `data_dir`; replayed events go to `sink`.
pub fn recover<B: PriceTimeBook>(
    data_dir: &Path,
    config: EngineConfig,
    sink: &mut impl EventSink,
) -> Result<Recovered<B>, RecoveryError> {
    recover_on(&OsDisk, data_dir, config, sink)
}

/// [`recover`] on any [`Disk`].
pub fn recover_on<B: PriceTimeBook>(
    disk: &impl Disk,
    data_dir: &Path,
    config: EngineConfig,
    sink: &mut impl EventSink,
) -> Result<Recovered<B>, RecoveryError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RecoveryError::Io { path, source }
    };
    let mut recovered = load_snapshot::<B>(disk, data_dir, config)?;
    let segments = list_segments_on(disk, data_dir).map_err(io(&segments_dir(data_dir)))?;
    let mut expected: Option<u64> = None;
    for (index, (first, path)) in segments.iter().enumerate() {
        let last_segment = index + 1 == segments.len();
        let bytes = disk.read(path).map_err(io(path))?;
        if bytes.len() < SEGMENT_MAGIC.len() || &bytes[..SEGMENT_MAGIC.len()] != SEGMENT_MAGIC {
            if last_segment && SEGMENT_MAGIC.starts_with(&bytes) {
                // Created but torn before its header was complete: nothing in it.
                disk.remove(path).map_err(io(path))?;
                disk.sync_dir(&segments_dir(data_dir)).map_err(io(path))?;
                continue;
            }
            return Err(RecoveryError::BadMagic { path: path.clone() });
        }
        let mut failure = None;
        let mut records = 0u64;
        let end = scan_segment(&bytes, |sequence, payload, offset| {
            if failure.is_some() {
                return;
            }
            records += 1;
            // The log starts where its first segment says (1, or after an engine's sequence
            // base) and must reach at least where the snapshot leaves off.
            let want = expected.unwrap_or(recovered.snapshot_sequence.map_or(*first, |s| (s + 1).min(*first)));
            if sequence != want {
                failure = Some(RecoveryError::Gap { path: path.clone(), offset, expected: want, found: sequence });
                return;
            }
            expected = Some(sequence + 1);
            recovered.first_logged.get_or_insert(sequence);
            if sequence <= recovered.last_sequence {
                return;
            }
            match decode_command(Sequence(sequence), payload) {
                Ok(command) => {
                    recovered.engine.apply(&command, sink);
                    recovered.replayed += 1;
                    recovered.last_sequence = sequence;
                }
                Err(e) => failure = Some(corrupt(path, offset, &e)),
            }
        });
        if let Some(failure) = failure {
            return Err(failure);
        }
        match end {
            ScanEnd::Clean => {}
            ScanEnd::TornTail { offset } if last_segment => {
                disk.truncate(path, offset).map_err(io(path))?;
                recovered.truncated_bytes = bytes.len() as u64 - offset;
            }
            ScanEnd::TornTail { offset } => {
                return Err(RecoveryError::Corrupt {
                    path: path.clone(),
                    offset,
                    reason: "incomplete record before the last segment".into(),
                });
            }
            ScanEnd::Corrupt { offset, reason } => {
                return Err(RecoveryError::Corrupt { path: path.clone(), offset, reason: reason.into() });
            }
        }
        if records == 0 && last_segment {
            // An empty last segment is recreated by the next writer; remove it so the name
            // is free.
            disk.remove(path).map_err(io(path))?;
            disk.sync_dir(&segments_dir(data_dir)).map_err(io(path))?;
        }
    }
    Ok(recovered)
}

fn load_snapshot<B: PriceTimeBook>(
    disk: &impl Disk,
    data_dir: &Path,
    config: EngineConfig,
) -> Result<Recovered<B>, RecoveryError> {
    let snapshots = latest_snapshots_on(disk, data_dir)
        .map_err(|source| RecoveryError::Io { path: data_dir.to_path_buf(), source })?;
    let mut skipped = 0;
    for (sequence, path) in snapshots {
        let loaded = disk.read(&path).ok().and_then(|bytes| {
            let body = bytes.strip_prefix(SNAPSHOT_MAGIC.as_slice())?;
            Engine::<B>::decode_snapshot(config, body).ok()
        });
        match loaded {
            Some(engine) if engine.last_sequence().map_or(0, |s| s.0) == sequence => {
                return Ok(Recovered {
                    engine,
                    last_sequence: sequence,
                    snapshot_sequence: Some(sequence),
                    snapshots_skipped: skipped,
                    replayed: 0,
                    truncated_bytes: 0,
                    first_logged: None,
                });
            }
            _ => skipped += 1,
        }
    }
    Ok(Recovered {
        engine: Engine::with_book(config),
        last_sequence: 0,
        snapshot_sequence: None,
        snapshots_skipped: skipped,
        replayed: 0,
        truncated_bytes: 0,
        first_logged: None,
    })
}

fn corrupt(path: &Path, offset: u64, error: &DecodeError) -> RecoveryError {
    RecoveryError::Corrupt { path: path.to_path_buf(), offset, reason: format!("undecodable command: {error}") }
}

/// Replays the whole journal from its first record into a fresh engine, ignoring
/// snapshots, and hands every event to `visit` with its command's sequence. Read models
/// (order history, fills, candles) rebuild themselves with it after a restart. Stops at a
/// torn tail without repairing it (recovery owns repairs). Returns the last sequence seen.
pub fn replay_all(
    data_dir: &Path,
    config: EngineConfig,
    visit: impl FnMut(Sequence, &crate::model::Event),
) -> Result<u64, RecoveryError> {
    replay_all_on(&OsDisk, data_dir, config, visit)
}

/// [`replay_all`] on any [`Disk`].
pub fn replay_all_on(
    disk: &impl Disk,
    data_dir: &Path,
    config: EngineConfig,
    mut visit: impl FnMut(Sequence, &crate::model::Event),
) -> Result<u64, RecoveryError> {
    replay_commands_on(disk, data_dir, config, |command, event| visit(command.sequence, event))
}

/// Like [`replay_all`], but hands every event to `visit` with the whole command that caused
/// it (its origin included), for adapters that must republish decisions by position.
pub fn replay_commands(
    data_dir: &Path,
    config: EngineConfig,
    visit: impl FnMut(&crate::model::Command, &crate::model::Event),
) -> Result<u64, RecoveryError> {
    replay_commands_on(&OsDisk, data_dir, config, visit)
}

/// [`replay_commands`] on any [`Disk`].
pub fn replay_commands_on(
    disk: &impl Disk,
    data_dir: &Path,
    config: EngineConfig,
    mut visit: impl FnMut(&crate::model::Command, &crate::model::Event),
) -> Result<u64, RecoveryError> {
    struct Tagged<'a, F: FnMut(&crate::model::Command, &crate::model::Event)> {
        command: crate::model::Command,
        visit: &'a mut F,
    }
    impl<F: FnMut(&crate::model::Command, &crate::model::Event)> EventSink for Tagged<'_, F> {
        fn emit(&mut self, event: &crate::model::Event) {
            (self.visit)(&self.command, event);
        }
    }
    let mut engine = Engine::<crate::book::LevelBook>::with_book(config);
    let segments = list_segments_on(disk, data_dir)
        .map_err(|source| RecoveryError::Io { path: segments_dir(data_dir), source })?;
    let mut last = 0;
    for (_, path) in segments {
        let bytes = disk.read(&path).map_err(|source| RecoveryError::Io { path: path.clone(), source })?;
        if bytes.len() < SEGMENT_MAGIC.len() {
            continue;
        }
        let mut failure = None;
        scan_segment(&bytes, |sequence, payload, offset| {
            if failure.is_some() {
                return;
            }
            match decode_command(Sequence(sequence), payload) {
                Ok(command) => {
                    engine.apply(&command, &mut Tagged { command, visit: &mut visit });
                    last = sequence;
                }
                Err(e) => failure = Some(corrupt(&path, offset, &e)),
            }
        });
        if let Some(failure) = failure {
            return Err(failure);
        }
    }
    Ok(last)
}
