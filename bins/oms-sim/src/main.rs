//! # oms-sim
//!
//! Deterministic simulation of the OMS core.

fn main() {}
