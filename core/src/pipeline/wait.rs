//! How idle stage threads wait for the next sequence.

use std::time::Duration;

use disruptor::wait_strategies::WaitStrategy;

/// Wait strategy of the stage threads.
///
/// `BusySpin` gives the lowest latency but burns a core per stage: use it only with
/// dedicated, pinned cores. `Yield` (the default) spins briefly then yields the CPU, which
/// keeps a 2-core box or a CI runner responsive. `Sleep` parks for a fixed time: lowest CPU
/// use, highest latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WaitMode {
    /// Spin with a CPU hint; never give the core away.
    BusySpin,
    /// Spin a little, then `yield_now`.
    #[default]
    Yield,
    /// Sleep this long between checks.
    Sleep(Duration),
}

impl WaitStrategy for WaitMode {
    #[inline]
    fn wait_for(&self, _sequence: disruptor::Sequence) {
        match self {
            WaitMode::BusySpin => std::hint::spin_loop(),
            WaitMode::Yield => std::thread::yield_now(),
            WaitMode::Sleep(pause) => std::thread::sleep(*pause),
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
