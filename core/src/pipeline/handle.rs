//! The embedding API: submit without blocking, await outcomes, subscribe, shut down.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use disruptor::Producer as _;
use thiserror::Error;

use super::outcome::{Outcome, OutcomeBoard, OutcomeFuture, WaitError};
use super::stages::{EngineRead, Reads, SequenceBase, Slot, SlotKind};
use super::subscription::{Subscribers, Subscription};
use crate::model::{Action, Origin, Sequence, Timestamp};

pub(crate) type Producer = disruptor::MultiProducer<Slot, disruptor::SingleConsumerBarrier>;

/// Why a command was not accepted into the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum SubmitError {
    /// The ring is full: the engine is behind. Retry later or answer 503; never block an
    /// async thread on it.
    #[error("ring full (backpressure)")]
    Backpressure,
    /// The pipeline is shutting down.
    #[error("engine is shut down")]
    Closed,
    /// The journal failed; nothing new can be made durable.
    #[error("journal failed")]
    JournalFailed,
}

/// Receipt for a submitted command; redeem it with [`EngineHandle::wait`] or
/// [`EngineHandle::outcome`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ticket {
    /// Global sequence of the command (for new orders also the order id).
    pub sequence: Sequence,
}

/// What recovery found at start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Last sequence recovered (0 = empty journal).
    pub last_sequence: u64,
    /// Snapshot loaded.
    pub snapshot_sequence: Option<u64>,
    /// Snapshots that did not load.
    pub snapshots_skipped: u32,
    /// Journal records replayed.
    pub replayed: u64,
    /// Torn-tail bytes truncated.
    pub truncated_bytes: u64,
}

/// What shutdown did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Last command sequence applied.
    pub last_sequence: u64,
    /// Snapshot written at shutdown (none without a journal).
    pub snapshot: Option<PathBuf>,
    /// The engine's `state_hash()` after the last command.
    pub state_hash: u64,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) board: Arc<OutcomeBoard>,
    pub(crate) subscribers: Arc<Subscribers>,
    pub(crate) base: SequenceBase,
    pub(crate) closed: AtomicBool,
    pub(crate) journal_failed: Arc<AtomicBool>,
    pub(crate) durable: Arc<AtomicU64>,
    pub(crate) published: Arc<AtomicU64>,
    pub(crate) last_snapshot: Arc<Mutex<Option<PathBuf>>>,
    pub(crate) final_hash: Arc<AtomicU64>,
    pub(crate) reads: Arc<Reads>,
    pub(crate) sync_stats: Arc<crate::journal::SyncStats>,
    /// Highest sequence handed out to a submitter.
    pub(crate) submitted: AtomicU64,
    pub(crate) recovery: RecoveryReport,
}

/// A producer handle on a running pipeline. Clone one per submitting thread; the stage
/// threads stop after the last clone is dropped (or after [`EngineHandle::shutdown`]).
pub struct EngineHandle {
    producer: Producer,
    shared: Arc<Shared>,
}

impl Clone for EngineHandle {
    fn clone(&self) -> Self {
        Self { producer: self.producer.clone(), shared: Arc::clone(&self.shared) }
    }
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle").field("shared", &self.shared).finish_non_exhaustive()
    }
}

impl EngineHandle {
    pub(crate) fn new(producer: Producer, shared: Arc<Shared>) -> Self {
        Self { producer, shared }
    }

    /// Puts a command into the ring without blocking; the ticket redeems its outcome.
    pub fn try_submit(&mut self, action: Action) -> Result<Ticket, SubmitError> {
        self.try_submit_from(Origin::Direct, action)
    }

    /// [`Self::try_submit`] for a command read from an at-least-once stream: the engine
    /// applies each `(stream, offset)` once and refuses redeliveries (see [`Origin`]).
    pub fn try_submit_from(&mut self, origin: Origin, action: Action) -> Result<Ticket, SubmitError> {
        self.check_open()?;
        let timestamp = Timestamp::now();
        let ring_sequence = self
            .producer
            .try_publish(|slot| *slot = Slot { kind: SlotKind::Command, timestamp, origin, action, read: 0 })
            .map_err(|_| SubmitError::Backpressure)?;
        let sequence = self.shared.base.global(ring_sequence);
        self.shared.submitted.fetch_max(sequence.0, Ordering::Relaxed);
        Ok(Ticket { sequence })
    }

    /// Runs `read` on the engine thread after every command sequenced before it, without
    /// changing state. It travels as a journaled heartbeat, so sequences stay contiguous. The
    /// ticket's outcome is released once everything the read saw is durable: await it
    /// before answering to never show state that a crash could undo.
    pub fn try_read(&mut self, read: EngineRead) -> Result<Ticket, SubmitError> {
        self.check_open()?;
        let id = self.shared.reads.register(read);
        let timestamp = Timestamp::now();
        let published = self.producer.try_publish(|slot| {
            *slot = Slot {
                kind: SlotKind::Command,
                timestamp,
                origin: Origin::Direct,
                action: Action::Heartbeat,
                read: id,
            };
        });
        match published {
            Ok(ring_sequence) => Ok(Ticket { sequence: self.shared.base.global(ring_sequence) }),
            Err(_) => {
                self.shared.reads.cancel(id);
                Err(SubmitError::Backpressure)
            }
        }
    }

    /// Like [`Self::try_submit`] but yields until there is room (for dedicated producer
    /// threads only; async code must use `try_submit` and answer backpressure itself).
    pub fn submit_blocking(&mut self, action: Action) -> Result<Ticket, SubmitError> {
        loop {
            match self.try_submit(action) {
                Err(SubmitError::Backpressure) => std::thread::yield_now(),
                other => return other,
            }
        }
    }

    fn check_open(&self) -> Result<(), SubmitError> {
        if self.shared.closed.load(Ordering::Acquire) {
            Err(SubmitError::Closed)
        } else if self.shared.journal_failed.load(Ordering::Acquire) {
            Err(SubmitError::JournalFailed)
        } else {
            Ok(())
        }
    }

    /// Blocks until the command's outcome is released (after durability) or `timeout`.
    pub fn wait(&self, ticket: Ticket, timeout: Duration) -> Result<Outcome, WaitError> {
        self.shared.board.wait(ticket.sequence, timeout)
    }

    /// The outcome if already released.
    pub fn try_outcome(&self, ticket: Ticket) -> Result<Option<Outcome>, WaitError> {
        self.shared.board.poll(ticket.sequence)
    }

    /// A future of the command's outcome, for async callers.
    pub fn outcome(&self, ticket: Ticket) -> OutcomeFuture {
        OutcomeFuture { board: Arc::clone(&self.shared.board), sequence: ticket.sequence }
    }

    /// Subscribes to all events from now on, buffering at most `capacity`.
    pub fn subscribe(&self, capacity: usize) -> Subscription {
        self.shared.subscribers.add(capacity)
    }

    /// What recovery found when this pipeline started.
    pub fn recovery(&self) -> RecoveryReport {
        self.shared.recovery
    }

    /// Highest sequence durable under the fsync policy.
    pub fn durable_sequence(&self) -> u64 {
        self.shared.durable.load(Ordering::Acquire)
    }

    /// Commands in the pipeline: submitted but not yet released (ring occupancy).
    pub fn in_flight(&self) -> u64 {
        self.shared.submitted.load(Ordering::Relaxed).saturating_sub(self.published_sequence())
    }

    /// Journal `fdatasync` timings (all zero without a journal or with fsync `none`).
    pub fn sync_stats(&self) -> &crate::journal::SyncStats {
        &self.shared.sync_stats
    }

    /// Highest sequence whose outcome has been released.
    pub fn published_sequence(&self) -> u64 {
        self.shared.published.load(Ordering::Acquire)
    }

    /// Whether the journal has failed (the pipeline then refuses new commands).
    pub fn journal_failed(&self) -> bool {
        self.shared.journal_failed.load(Ordering::Acquire)
    }

    /// Stops accepting commands, drains the ring, syncs the journal and writes a snapshot.
    /// Other clones of the handle are refused from now on; the stage threads exit when the
    /// last clone is dropped (this one is dropped here).
    pub fn shutdown(mut self) -> Result<ShutdownReport, WaitError> {
        self.shared.closed.store(true, Ordering::Release);
        let timestamp = Timestamp::now();
        let ring_sequence = loop {
            match self.producer.try_publish(|slot| {
                *slot = Slot {
                    kind: SlotKind::Shutdown,
                    timestamp,
                    origin: Origin::Direct,
                    action: Action::Heartbeat,
                    read: 0,
                }
            }) {
                Ok(sequence) => break sequence,
                Err(_) => std::thread::yield_now(),
            }
        };
        let marker = self.shared.base.global(ring_sequence);
        self.shared.board.wait(marker, Duration::from_secs(600))?;
        self.shared.subscribers.close();
        let snapshot = self.shared.last_snapshot.lock().ok().and_then(|s| s.clone());
        let state_hash = self.shared.final_hash.load(Ordering::Acquire);
        Ok(ShutdownReport { last_sequence: marker.0 - 1, snapshot, state_hash })
    }
}
