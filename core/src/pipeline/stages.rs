//! The ring slot and the three stage handlers.
//!
//! ```text
//!              ┌── journal stage ──┐
//! producers ──►│                   ├──► publish stage ──► outcomes, subscribers
//!   (ring)     └── engine stage ───┘
//! ```
//!
//! The journal and engine stages read the same slots in parallel; the publish stage runs
//! after both and releases a command's events only once its sequence is durable. The
//! engine stage hands events to the publish stage through a bounded outbox queue; the ring
//! slot itself stays read-only for consumers.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crossbeam_queue::ArrayQueue;

use super::outcome::{Outcome, OutcomeBoard, OutcomeTracker};
use super::subscription::Subscribers;
use super::wait::WaitMode;
use crate::book::LevelBook;
use crate::engine::Engine;
use crate::journal::{JournalWriter, write_snapshot};
use crate::model::{Action, Command, Event, EventSink, Origin, Sequence, Timestamp};

/// What a slot carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SlotKind {
    /// A command to journal and apply.
    Command,
    /// Drain marker: sync the journal, write a snapshot, acknowledge.
    Shutdown,
}

/// One pre-allocated ring entry, overwritten in place by producers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    pub(crate) kind: SlotKind,
    pub(crate) timestamp: Timestamp,
    pub(crate) origin: Origin,
    pub(crate) action: Action,
    /// Registered read to run on the engine thread after `action` (0 = none).
    pub(crate) read: u64,
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            kind: SlotKind::Command,
            timestamp: Timestamp(0),
            origin: Origin::Direct,
            action: Action::Heartbeat,
            read: 0,
        }
    }
}

/// A read of engine state, run on the engine thread in sequence order.
pub type EngineRead = Box<dyn FnOnce(&Engine<LevelBook>) + Send>;

/// Reads waiting for their slot to reach the engine stage. Reads are not on the order hot
/// path, so a mutex and a boxed closure per read are acceptable here.
#[derive(Default)]
pub(crate) struct Reads {
    next_id: AtomicU64,
    pending: Mutex<rustc_hash::FxHashMap<u64, EngineRead>>,
}

impl Reads {
    pub(crate) fn register(&self, read: EngineRead) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(id, read);
        }
        id
    }
    pub(crate) fn cancel(&self, id: u64) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.remove(&id);
        }
    }
    fn take(&self, id: u64) -> Option<EngineRead> {
        self.pending.lock().ok()?.remove(&id)
    }
}

impl std::fmt::Debug for Reads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reads").field("next_id", &self.next_id).finish_non_exhaustive()
    }
}

/// Maps ring positions (from 0) to global sequences (continuing the recovered journal).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SequenceBase(pub(crate) u64);

impl SequenceBase {
    #[inline]
    pub(crate) fn global(self, ring_sequence: i64) -> Sequence {
        Sequence(self.0 + ring_sequence as u64 + 1)
    }
}

/// Entry of the engine → publish outbox.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Outgoing {
    Event(Sequence, Event),
    Done(Outcome),
}

/// Journal stage: group commit per ring batch.
pub(crate) struct JournalStage {
    pub(crate) writer: JournalWriter,
    pub(crate) base: SequenceBase,
}

impl JournalStage {
    pub(crate) fn on_slot(&mut self, slot: &Slot, ring_sequence: i64, end_of_batch: bool) {
        let sequence = self.base.global(ring_sequence);
        // A failed append or commit sets the writer's failure flag; durability stops
        // advancing and every waiter is told `JournalFailed`. Nothing else to do here.
        let _ = match slot.kind {
            SlotKind::Command => {
                let command = Command { sequence, timestamp: slot.timestamp, origin: slot.origin, action: slot.action };
                self.writer.append(&command)
            }
            SlotKind::Shutdown => self.writer.sync_all(),
        };
        if end_of_batch {
            let _ = self.writer.commit();
        }
    }
}

/// Engine stage: the single writer of all trading state.
pub(crate) struct EngineStage {
    pub(crate) engine: Engine<LevelBook>,
    pub(crate) base: SequenceBase,
    pub(crate) outbox: Arc<ArrayQueue<Outgoing>>,
    pub(crate) wait: WaitMode,
    pub(crate) durable: Arc<AtomicU64>,
    pub(crate) journal_failed: Arc<AtomicBool>,
    /// Where snapshots go; `None` without a journal.
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) snapshot_every_commands: u64,
    pub(crate) since_snapshot: u64,
    pub(crate) last_snapshot: Arc<Mutex<Option<PathBuf>>>,
    /// `state_hash()` at shutdown, for the shutdown report.
    pub(crate) final_hash: Arc<AtomicU64>,
    pub(crate) reads: Arc<Reads>,
}

/// Sink that forwards events to the outbox and summarises them.
struct OutboxSink<'a> {
    outbox: &'a ArrayQueue<Outgoing>,
    wait: WaitMode,
    sequence: Sequence,
    tracker: OutcomeTracker,
}

impl EventSink for OutboxSink<'_> {
    fn emit(&mut self, event: &Event) {
        self.tracker.observe(event);
        push(self.outbox, self.wait, Outgoing::Event(self.sequence, *event));
    }
}

/// Pushes into the bounded outbox, waiting while the publish stage catches up.
fn push(outbox: &ArrayQueue<Outgoing>, wait: WaitMode, mut item: Outgoing) {
    while let Err(back) = outbox.push(item) {
        item = back;
        wait.pause();
    }
}

impl EngineStage {
    pub(crate) fn on_slot(&mut self, slot: &Slot, ring_sequence: i64, _end_of_batch: bool) {
        let sequence = self.base.global(ring_sequence);
        match slot.kind {
            SlotKind::Command => {
                let command = Command { sequence, timestamp: slot.timestamp, origin: slot.origin, action: slot.action };
                let mut sink = OutboxSink {
                    outbox: &self.outbox,
                    wait: self.wait,
                    sequence,
                    tracker: OutcomeTracker::new(sequence, &slot.action),
                };
                self.engine.apply(&command, &mut sink);
                let outcome = sink.tracker.finish();
                if slot.read != 0
                    && let Some(read) = self.reads.take(slot.read)
                {
                    read(&self.engine);
                }
                push(&self.outbox, self.wait, Outgoing::Done(outcome));
                self.since_snapshot += 1;
                if self.since_snapshot >= self.snapshot_every_commands {
                    self.snapshot(sequence.0);
                }
            }
            SlotKind::Shutdown => {
                self.snapshot(sequence.0 - 1);
                self.final_hash.store(self.engine.state_hash(), Ordering::Release);
                push(&self.outbox, self.wait, Outgoing::Done(Outcome { sequence, ..Outcome::default() }));
            }
        }
    }

    /// Writes a snapshot once the journal holds everything it covers, so a snapshot is never
    /// ahead of the durable log.
    fn snapshot(&mut self, covered: u64) {
        self.since_snapshot = 0;
        let Some(dir) = &self.data_dir else { return };
        while self.durable.load(Ordering::Acquire) < covered {
            if self.journal_failed.load(Ordering::Acquire) {
                return;
            }
            self.wait.pause();
        }
        if let Ok(path) = write_snapshot(dir, &self.engine)
            && let Ok(mut last) = self.last_snapshot.lock()
        {
            *last = Some(path);
        }
    }
}

/// Publish stage: releases events and outcomes once durable.
pub(crate) struct PublishStage {
    pub(crate) base: SequenceBase,
    pub(crate) outbox: Arc<ArrayQueue<Outgoing>>,
    pub(crate) durable: Arc<AtomicU64>,
    pub(crate) journal_failed: Arc<AtomicBool>,
    pub(crate) wait: WaitMode,
    pub(crate) board: Arc<OutcomeBoard>,
    pub(crate) subscribers: Arc<Subscribers>,
    pub(crate) published: Arc<AtomicU64>,
}

impl PublishStage {
    pub(crate) fn on_slot(&mut self, slot: &Slot, ring_sequence: i64, _end_of_batch: bool) {
        let sequence = self.base.global(ring_sequence);
        if slot.kind == SlotKind::Command {
            while self.durable.load(Ordering::Acquire) < sequence.0 {
                if self.journal_failed.load(Ordering::Acquire) {
                    // Fail closed: never acknowledge what may not be on disk. Waiters see
                    // `JournalFailed` through the board.
                    self.discard(sequence);
                    return;
                }
                self.wait.pause();
            }
        }
        loop {
            // The engine stage has finished this sequence (the ring orders us after it), so
            // its events and its `Done` are already in the outbox.
            match self.outbox.pop() {
                Some(Outgoing::Event(s, event)) => {
                    debug_assert_eq!(s, sequence);
                    self.subscribers.deliver(s, &event);
                }
                Some(Outgoing::Done(outcome)) => {
                    debug_assert_eq!(outcome.sequence, sequence);
                    // Advance `published` first: whoever sees the outcome must also see it.
                    self.published.store(sequence.0, Ordering::Release);
                    self.board.complete(outcome);
                    break;
                }
                None => self.wait.pause(),
            }
        }
    }

    fn discard(&mut self, sequence: Sequence) {
        loop {
            match self.outbox.pop() {
                Some(Outgoing::Done(outcome)) if outcome.sequence == sequence => return,
                Some(_) => {}
                None => self.wait.pause(),
            }
        }
    }
}
