//! # oms-sim
//!
//! Deterministic simulation of the OMS core: a seeded workload drives the real engine,
//! journal writer, snapshots and recovery on a simulated disk and clock, with injected
//! power losses (torn writes), process kills, failing `fdatasync` and at-least-once
//! redelivery, and checks every invariant after every step. See `docs/reliability.md`.

pub mod disk;
pub mod lifecycle;
pub mod sim;
pub mod workload;

pub use sim::{Failure, Faults, RunStats, SimConfig, Violation, run};
