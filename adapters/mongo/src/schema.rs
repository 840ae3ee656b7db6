//! Collections and indexes of DESIGN.md §4, created at start (idempotent: creating an
//! index that exists with the same definition is a no-op).

use mongodb::bson::{Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Database, IndexModel};

/// Collections the persister writes.
pub const COLLECTIONS: [&str; 7] =
    ["orders", "executions", "positions", "balances", "limits", "accounts", "checkpoints"];

/// `(collection, keys, unique)` of every index.
pub fn indexes() -> Vec<(&'static str, Document, bool)> {
    vec![
        ("orders", doc! { "orderId": 1 }, true),
        ("orders", doc! { "accountId": 1, "createdAt": -1 }, false),
        ("orders", doc! { "symbol": 1, "status": 1 }, false),
        ("orders", doc! { "createdAt": -1 }, false),
        // The archive pages an account's orders by id and fills by sequence.
        ("orders", doc! { "accountId": 1, "orderId": -1 }, false),
        ("executions", doc! { "accountId": 1, "sequence": -1 }, false),
        ("executions", doc! { "orderId": 1 }, false),
        ("positions", doc! { "accountId": 1, "symbol": 1 }, true),
        // Written by the Kafka persister only (a single engine has no shards).
        ("balances", doc! { "accountId": 1, "asset": 1, "shard": 1 }, true),
        ("limits", doc! { "accountId": 1, "shard": 1 }, true),
        ("accounts", doc! { "accountId": 1 }, true),
    ]
}

/// Creates what is missing.
pub async fn ensure(db: &Database) -> mongodb::error::Result<()> {
    let existing = db.list_collection_names().await?;
    for name in COLLECTIONS {
        if !existing.iter().any(|e| e == name) {
            match db.create_collection(name).await {
                Ok(()) => {}
                // Another process created it in between (NamespaceExists).
                Err(e) if is_namespace_exists(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
    for (collection, keys, unique) in indexes() {
        let model = IndexModel::builder()
            .keys(keys)
            .options(IndexOptions::builder().unique(unique.then_some(true)).build())
            .build();
        db.collection::<Document>(collection).create_index(model).await?;
    }
    Ok(())
}

fn is_namespace_exists(error: &mongodb::error::Error) -> bool {
    matches!(&*error.kind, mongodb::error::ErrorKind::Command(c) if c.code == 48)
}
