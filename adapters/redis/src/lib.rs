//! # oms-redis
//!
//! Redis adapter for the OMS: cross-process idempotency store and read caches (ElastiCache in production).
