//! Deliberate bugs, behind the `sabotage` cargo feature, so the simulator's own tests can
//! prove that each invariant it checks actually catches the bug that breaks it. Production
//! builds never enable the feature; with it on, every hook is inert until a test arms it.
//!
//! Arming is per thread: the simulator drives the engine, journal and disk on the calling
//! thread, and tests running in parallel cannot arm each other's bugs.

use std::cell::Cell;

/// One deliberate bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Sabotage {
    /// A limit order rests without matching even when it crosses: the book crosses.
    CrossBook = 1,
    /// Fees are taken from traders but not counted: money disappears.
    LoseFee = 2,
    /// A cancel leaves the order's reservation reserved, so reserved exposure no longer
    /// equals what working orders hold.
    LeakReservation = 4,
    /// A cancel or expiry reports the order's old status: an illegal transition.
    StaleStatus = 8,
    /// The journal publishes a batch as durable before `fdatasync` returns: an
    /// acknowledged command can be lost in a crash.
    AckBeforeSync = 16,
    /// The engine reads a counter that is not part of its state: replay diverges.
    HiddenState = 32,
    /// The engine applies a redelivered stream offset again.
    IgnoreRedelivery = 64,
}

thread_local! {
    static ARMED: Cell<u32> = const { Cell::new(0) };
    static HIDDEN: Cell<u64> = const { Cell::new(0) };
}

/// Arms `bug` on this thread until [`disarm_all`].
pub fn arm(bug: Sabotage) {
    ARMED.with(|armed| armed.set(armed.get() | bug as u32));
}

/// Disarms every bug on this thread.
pub fn disarm_all() {
    ARMED.with(|armed| armed.set(0));
}

/// Whether `bug` is armed on this thread.
#[inline]
pub fn armed(bug: Sabotage) -> bool {
    ARMED.with(|armed| armed.get() & bug as u32 != 0)
}

/// The hidden counter of [`Sabotage::HiddenState`]: increments and returns it.
pub(crate) fn hidden_tick() -> u64 {
    HIDDEN.with(|hidden| {
        hidden.set(hidden.get() + 1);
        hidden.get()
    })
}
