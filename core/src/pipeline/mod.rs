//! The pinned-thread pipeline around the engine: a multi-producer `disruptor` ring, a
//! journal stage in parallel with the engine stage, and a publish stage after both that
//! releases acknowledgements and events only once the command is durable.
//!
//! Risk and matching run in *one* stage (the engine's `apply`): they share account state
//! (fills credit balances that the next risk check reads), and keeping a single writer
//! keeps exposure exact without atomics. See `docs/adr/0002-pipeline-stages.md`.
//!
//! ```no_run
//! use oms_core::prelude::*;
//! use oms_core::pipeline::{FsyncPolicy, WaitMode};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut handle = Engine::builder()
//!     .journal("./data", FsyncPolicy::Batch)
//!     .ring_slots(1 << 14)
//!     .wait_strategy(WaitMode::Yield)
//!     .start()?;
//! let ticket = handle.try_submit(Action::Heartbeat)?;
//! let outcome = handle.wait(ticket, std::time::Duration::from_secs(1))?;
//! println!("sequence {:?} done", outcome.sequence);
//! handle.shutdown()?;
//! # Ok(()) }
//! ```

mod builder;
mod handle;
mod outcome;
pub(crate) mod stages;
mod subscription;
mod wait;

pub use crate::journal::FsyncPolicy;
pub use builder::{AUTO_PIN_CORES_MIN, EngineBuilder, StartError};
pub use handle::{EngineHandle, RecoveryReport, ShutdownReport, SubmitError, Ticket};
pub use outcome::{Outcome, OutcomeFuture, OutcomeTracker, WaitError};
pub use stages::EngineRead;
pub use subscription::{Subscription, SubscriptionError};
pub use wait::WaitMode;
