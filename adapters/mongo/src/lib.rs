//! # oms-mongo
//!
//! MongoDB persister for the OMS: write-behind of orders, executions and positions with checkpoints (DocumentDB in production).
