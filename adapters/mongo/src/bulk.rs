//! Bulk upserts: the wire protocol's `update` command with many upsert statements
//! (`ordered: false`), one round trip per `batch_max` statements. Shared by the in-process
//! persister ([`crate::Persister`]) and the Kafka persister ([`crate::stream`]).
//!
//! A statement may carry a *version guard* in its filter (`sequence: {$lte: S}`): when the
//! stored document is newer the filter matches nothing, the upsert tries to insert a second
//! document with the same unique key, and the server refuses that one statement with a
//! duplicate-key error (11000). That refusal is the guard working — the statement is
//! *stale* — and is reported as such, not as a failure.

use mongodb::Database;
use mongodb::bson::{Bson, Document, doc};
use thiserror::Error;

/// MongoDB's duplicate-key error code.
pub const DUPLICATE_KEY: i32 = 11_000;

/// Why a bulk write failed (the batch must be retried; statements are idempotent).
#[derive(Debug, Error)]
pub enum BulkError {
    /// The command did not complete (server down, timeout, network).
    #[error("{collection}: {reason}")]
    Command {
        /// Collection written.
        collection: &'static str,
        /// Driver's message.
        reason: String,
    },
    /// Some statements failed for a reason other than a version guard.
    #[error("{collection}: {count} write errors, first: {first}")]
    Statements {
        /// Collection written.
        collection: &'static str,
        /// How many statements failed.
        count: usize,
        /// The first error, as the server reported it.
        first: String,
    },
}

/// What a bulk write did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BulkOutcome {
    /// Statements sent (written or stale).
    pub statements: u64,
    /// `update` commands sent.
    pub commands: u64,
    /// Indexes (into the statements given) refused by their version guard.
    pub stale: Vec<usize>,
}

/// One upsert statement: `$set` the whole `set` document where `filter` matches.
pub fn upsert(filter: Document, set: Document) -> Bson {
    Bson::Document(doc! { "q": filter, "u": { "$set": set }, "upsert": true })
}

/// Sends `statements` to `collection`, `batch_max` per command. With `guarded`, duplicate-key
/// refusals are version guards doing their job (reported in [`BulkOutcome::stale`]);
/// without, they are errors like any other.
pub async fn bulk_update(
    db: &Database,
    collection: &'static str,
    statements: &[Bson],
    batch_max: usize,
    guarded: bool,
) -> Result<BulkOutcome, BulkError> {
    let per_command = batch_max.max(1);
    let mut outcome = BulkOutcome::default();
    for (chunk_index, chunk) in statements.chunks(per_command).enumerate() {
        let command = doc! { "update": collection, "updates": chunk.to_vec(), "ordered": false };
        let reply =
            db.run_command(command).await.map_err(|e| BulkError::Command { collection, reason: e.to_string() })?;
        outcome.commands += 1;
        outcome.statements += chunk.len() as u64;
        let Ok(errors) = reply.get_array("writeErrors") else { continue };
        let mut failed = Vec::new();
        for error in errors {
            let Some(error) = error.as_document() else { continue };
            let code = error.get_i32("code").ok().or_else(|| error.get_i64("code").ok().map(|c| c as i32));
            let index = error.get_i32("index").ok().and_then(|i| usize::try_from(i).ok());
            match (code, index) {
                (Some(DUPLICATE_KEY), Some(index)) if guarded => outcome.stale.push(chunk_index * per_command + index),
                _ => failed.push(error.to_string()),
            }
        }
        if let Some(first) = failed.first() {
            return Err(BulkError::Statements { collection, count: failed.len(), first: first.clone() });
        }
    }
    Ok(outcome)
}
