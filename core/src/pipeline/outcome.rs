//! Per-command outcomes and the board that hands them to waiting submitters.
//!
//! The publish stage writes each command's [`Outcome`] into a slot of a fixed board
//! (`sequence & mask`), after the command is durable. Submitters poll their slot (sync) or
//! register a waker (async). Nothing allocates: the board is sized at start, and a waiter
//! that falls more than a board's length behind gets [`WaitError::Lagged`] instead of a
//! wrong answer.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;
use crossbeam_utils::atomic::AtomicCell;
use thiserror::Error;

use crate::model::{Action, Event, OrderId, OrderStatus, Quantity, RejectReason, Sequence};

/// What became of a command, summarised for its submitter. The full event stream is
/// available through a subscription.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The command's sequence.
    pub sequence: Sequence,
    /// The order the command was about (new order: the id it got).
    pub order_id: Option<OrderId>,
    /// That order's status after the command.
    pub status: Option<OrderStatus>,
    /// That order's filled quantity after the command.
    pub filled: Quantity,
    /// Trades the command caused.
    pub trades: u32,
    /// Events the command caused.
    pub events: u32,
    /// Why the command was refused, if it was.
    pub reject: Option<RejectReason>,
}

/// Builds an [`Outcome`] from a command's events as they are emitted.
#[derive(Clone, Copy, Debug)]
pub struct OutcomeTracker {
    outcome: Outcome,
}

impl OutcomeTracker {
    /// Starts the summary of `action` at `sequence`.
    pub fn new(sequence: Sequence, action: &Action) -> Self {
        let order_id = match action {
            Action::NewOrder(_) => Some(OrderId(sequence.0)),
            Action::CancelOrder(c) => Some(c.order_id),
            Action::AmendOrder(a) => Some(a.order_id),
            _ => None,
        };
        Self { outcome: Outcome { sequence, order_id, ..Outcome::default() } }
    }

    /// Folds one event in.
    pub fn observe(&mut self, event: &Event) {
        let o = &mut self.outcome;
        o.events += 1;
        let tracked = o.order_id;
        let mut track = |id: OrderId, status: OrderStatus, filled: Quantity| {
            if Some(id) == tracked {
                o.status = Some(status);
                o.filled = filled;
            }
        };
        match event {
            Event::OrderAccepted(order) => track(order.id, order.status, order.filled),
            Event::OrderTriggered(u) | Event::OrderExpired(u) => track(u.order_id, u.status, u.filled),
            Event::OrderCancelled(c) => track(c.order.order_id, c.order.status, c.order.filled),
            Event::OrderAmended(a) => track(a.order.order_id, a.order.status, a.order.filled),
            Event::Trade(t) => {
                track(t.maker.order_id, t.maker.status, t.maker.filled);
                track(t.taker.order_id, t.taker.status, t.taker.filled);
                self.outcome.trades += 1;
            }
            Event::Rejected(r) => {
                self.outcome.reject = Some(r.reason);
                if r.order_id == Some(OrderId(self.outcome.sequence.0)) {
                    self.outcome.status = Some(OrderStatus::Rejected);
                }
            }
            Event::BalanceChanged(_) | Event::AdminApplied(_) => {}
        }
    }

    /// The summary.
    pub fn finish(self) -> Outcome {
        self.outcome
    }
}

/// Why waiting for an outcome failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum WaitError {
    /// The outcome was overwritten before it was read (the waiter fell a board's length
    /// behind); the event stream still has it.
    #[error("outcome was overwritten before it was read")]
    Lagged,
    /// Not ready within the timeout.
    #[error("timed out waiting for the outcome")]
    Timeout,
    /// The journal failed: the command may never become durable, so it is not acknowledged.
    #[error("journal failed; command not acknowledged")]
    JournalFailed,
}

const WRITING: u64 = u64::MAX;

#[derive(Debug, Default)]
struct OutcomeSlot {
    /// Sequence whose outcome the slot holds; `WRITING` while being replaced.
    sequence: AtomicU64,
    outcome: AtomicCell<Outcome>,
    waker: AtomicWaker,
}

/// Fixed ring of outcome slots shared by the publish stage and submitters.
#[derive(Debug)]
pub(crate) struct OutcomeBoard {
    slots: Box<[OutcomeSlot]>,
    mask: u64,
    journal_failed: Arc<std::sync::atomic::AtomicBool>,
}

impl OutcomeBoard {
    pub(crate) fn new(slots: usize, journal_failed: Arc<std::sync::atomic::AtomicBool>) -> Self {
        assert!(slots.is_power_of_two(), "outcome slots must be a power of two");
        Self { slots: (0..slots).map(|_| OutcomeSlot::default()).collect(), mask: slots as u64 - 1, journal_failed }
    }

    /// Publishes an outcome (publish stage only).
    pub(crate) fn complete(&self, outcome: Outcome) {
        let slot = &self.slots[(outcome.sequence.0 & self.mask) as usize];
        slot.sequence.store(WRITING, Ordering::Release);
        slot.outcome.store(outcome);
        slot.sequence.store(outcome.sequence.0, Ordering::Release);
        slot.waker.wake();
    }

    /// The outcome of `sequence` if published; `Err(Lagged)` if overwritten.
    pub(crate) fn poll(&self, sequence: Sequence) -> Result<Option<Outcome>, WaitError> {
        let slot = &self.slots[(sequence.0 & self.mask) as usize];
        let before = slot.sequence.load(Ordering::Acquire);
        if before == sequence.0 {
            let outcome = slot.outcome.load();
            if slot.sequence.load(Ordering::Acquire) == sequence.0 {
                return Ok(Some(outcome));
            }
            return Err(WaitError::Lagged);
        }
        if before != WRITING && before > sequence.0 {
            return Err(WaitError::Lagged);
        }
        if self.journal_failed.load(Ordering::Acquire) {
            return Err(WaitError::JournalFailed);
        }
        Ok(None)
    }

    /// Blocks (spinning, then yielding) until the outcome is there or `timeout` passes.
    pub(crate) fn wait(&self, sequence: Sequence, timeout: Duration) -> Result<Outcome, WaitError> {
        let backoff = crossbeam_utils::Backoff::new();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(outcome) = self.poll(sequence)? {
                return Ok(outcome);
            }
            if backoff.is_completed() {
                if Instant::now() >= deadline {
                    return Err(WaitError::Timeout);
                }
                std::thread::yield_now();
            } else {
                backoff.snooze();
            }
        }
    }

    fn register(&self, sequence: Sequence, waker: &std::task::Waker) {
        self.slots[(sequence.0 & self.mask) as usize].waker.register(waker);
    }
}

/// Resolves to a command's outcome; see [`crate::pipeline::EngineHandle::outcome`].
#[derive(Debug)]
pub struct OutcomeFuture {
    pub(crate) board: Arc<OutcomeBoard>,
    pub(crate) sequence: Sequence,
}

impl Future for OutcomeFuture {
    type Output = Result<Outcome, WaitError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(outcome) = self.board.poll(self.sequence).transpose() {
            return Poll::Ready(outcome);
        }
        self.board.register(self.sequence, cx.waker());
        // Check again: the outcome may have landed between the poll and the registration.
        match self.board.poll(self.sequence).transpose() {
            Some(outcome) => Poll::Ready(outcome),
            None => Poll::Pending,
        }
    }
}
