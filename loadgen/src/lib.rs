//! Open-loop load generation for the OMS.
//!
//! Commands are sent at *planned* times (`start + i / rate`) whatever the system does, and
//! latency is measured from the planned time to the acknowledgement, so a stall shows up as
//! latency of every command that should have been sent during it (no coordinated
//! omission). Latencies go into an HdrHistogram; the report gives p50 … p99.99 and max.

pub mod http;
pub mod inproc;
pub mod report;
pub mod sweep;
pub mod tcp;
pub mod workload;
