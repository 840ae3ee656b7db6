//! # oms-kafka
//!
//! Kafka adapter for the OMS: topics, versioned JSON messages, idempotent producer and engine-role consumer (MSK in production).
