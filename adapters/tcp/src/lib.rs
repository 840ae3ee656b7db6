//! # oms-tcp
//!
//! The binary order-entry gateway of `docs/binary-protocol.md`: a `mio` event loop on its
//! own thread (no async runtime on this path) that decodes length-prefixed frames with
//! `bytes`, publishes straight into the engine's ring, and answers from the durable event
//! stream.

pub mod codec;
mod gateway;

pub use gateway::{Authenticate, Gateway, GatewayConfig};
