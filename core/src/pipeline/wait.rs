//! How idle stage threads wait for the next sequence.

use std::time::Duration;

use disruptor::wait_strategies::WaitStrategy;

/// Wait strategy of the stage threads.
///
/// `BusySpin` gives the lowest latency but burns a core per stage: use it only with
/// dedicated, pinned cores. `Yield` (the default for embedding) hands the CPU over on
/// every idle check: low latency, but an idle stage still costs a core's worth of
/// `sched_yield`. `Backoff` spins, then yields, then sleeps in short steps while nothing
/// arrives, and snaps back to spinning as soon as the awaited sequence moves: the right
/// choice for a server that shares a small box with its HTTP workers. `Sleep` parks for a
/// fixed time: lowest CPU use, highest latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WaitMode {
    /// Spin with a CPU hint; never give the core away.
    BusySpin,
    /// Spin a little, then `yield_now`.
    #[default]
    Yield,
    /// Sleep this long between checks.
    Sleep(Duration),
    /// Spin, then yield, then sleep this long per check while idle.
    Backoff(Duration),
}

/// Idle checks spent spinning, then yielding, before `Backoff` starts to sleep. Few
/// yields: every `sched_yield` is a system call and, on a small box, usually a context
/// switch. With 256 of them `oms serve` spent 30–40 % more CPU at the same load (each of
/// its three stage threads yielded hundreds of times between bursts) for no better
/// latency (docs/benchmarks.md §3, §7.2).
const BACKOFF_SPINS: u32 = 64;
const BACKOFF_YIELDS: u32 = 8;

thread_local! {
    /// `(sequence awaited, idle checks so far)` of this stage thread, for `Backoff`.
    static IDLE: std::cell::Cell<(i64, u32)> = const { std::cell::Cell::new((i64::MIN, 0)) };
}

impl WaitStrategy for WaitMode {
    #[inline]
    fn wait_for(&self, sequence: disruptor::Sequence) {
        match self {
            WaitMode::BusySpin => std::hint::spin_loop(),
            WaitMode::Yield => std::thread::yield_now(),
            WaitMode::Sleep(pause) => std::thread::sleep(*pause),
            WaitMode::Backoff(pause) => {
                let checks = IDLE.with(|idle| {
                    let (awaited, checks) = idle.get();
                    let checks = if awaited == sequence { checks.saturating_add(1) } else { 0 };
                    idle.set((sequence, checks));
                    checks
                });
                if checks < BACKOFF_SPINS {
                    std::hint::spin_loop();
                } else if checks < BACKOFF_SPINS + BACKOFF_YIELDS {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(*pause);
                }
            }
        }
    }
}

impl WaitMode {
    /// Waits once, the way stage threads do; used by stages that wait on a condition
    /// outside the ring (durability).
    #[inline]
    pub(crate) fn pause(&self) {
        self.wait_for(0);
    }
}
