//! The store of the Kafka persister (`oms serve --role persister`): the same documents as
//! the in-process persister ([`crate::documents`]), written from decisions read off Kafka
//! rather than from the engine's event stream.
//!
//! Kafka keeps order per key, but after an engine failover a new shard owner publishes
//! decisions again from its journal, so an older state of an order or position can arrive
//! after a newer one. Every document therefore carries the version it reflects, and every
//! upsert is guarded by it (see [`crate::bulk`]): a stale statement matches nothing and is
//! refused by the unique index instead of overwriting a newer document.
//!
//! * `orders`: keyed by `orderId`, version `(sequence, eventIndex)` of the message that
//!   produced the state (fields `sequence`, `eventIndex`, and `version` = [`version_key`],
//!   which the guard compares).
//! * `executions`: `_id` = [`fill_id`] (`{orderId}:{tradeId}`: trade ids are per engine
//!   shard, order ids are global), immutable, so written without a guard.
//! * `positions`: keyed by `{accountId, symbol}`, version `sequence` (a symbol lives on one
//!   shard, so its sequences order it).
//! * `balances`: keyed by `{accountId, asset, shard}`, version `sequence`: one shard's part of
//!   an account's funds, as the shard last sampled it (each shard has its own sub-ledger;
//!   the account's balance is the sum over shards).
//! * `limits`: keyed by `{accountId, shard}`, version `sequence`: the share of an account's
//!   risk limits one shard enforces.
//! * `accounts`: `{accountId}`, no data beyond the id.
//! * `checkpoints`: `_id` = `persister:{topic}:{partition}`, the next offset to read, for
//!   operators (the consumer group's committed offset is the real resume point).

use mongodb::bson::{Bson, Document, doc};
use mongodb::{Client, Database};
use oms_core::model::{AccountId, AssetId, InstrumentId, OrderId, RiskLimits};
use oms_core::risk::{Balance, Position};
use oms_http::catalog::Catalog;
use oms_http::history::{ExecutionRecord, OrderRecord};
use thiserror::Error;

use crate::bulk::{BulkError, bulk_update, upsert};
use crate::documents::{
    balance_document, execution_document, limits_document, order_document, order_from_document, position_document,
};
use crate::{BATCH_DOCUMENTS_MAX, MongoError, schema};

/// Order ids per `find` when reading orders back.
pub const ORDERS_LOADED_MAX: usize = BATCH_DOCUMENTS_MAX;
/// Upsert statements per `update` command. Smaller than the in-process persister's: a test
/// server that executes statements one by one (SecantusDB) must answer each command well
/// within the driver's monitoring timeout ([`crate::SERVER_TIMEOUT`]), or the driver drops
/// the connection mid-command and the batch is retried.
pub const STATEMENTS_PER_COMMAND_MAX: usize = 500;

/// Which message of which command a document reflects; compared as `(sequence, eventIndex)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Engine sequence of the command (per shard; the shard is part of the sequence).
    pub sequence: u64,
    /// Position of the message among the command's `executions` messages.
    pub event_index: u32,
}

/// An account's position in one instrument as of a sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionState {
    /// Owner.
    pub account: AccountId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Net base, open cost and realized P&L (the engine's numbers).
    pub position: Position,
    /// Sequence of the command whose trade left it so.
    pub sequence: u64,
}

/// One shard's part of an account's balance in one asset, as of a sequence of that shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BalanceState {
    /// Owner.
    pub account: AccountId,
    /// Asset.
    pub asset: AssetId,
    /// The shard (`orders` partition) whose sub-ledger this is.
    pub shard: u32,
    /// Available and reserved, minor units.
    pub balance: Balance,
    /// Sequence the shard sampled it at.
    pub sequence: u64,
}

/// The limits one shard enforces for an account, as of a sequence of that shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitsState {
    /// Account.
    pub account: AccountId,
    /// The shard (`orders` partition).
    pub shard: u32,
    /// The shard's share of the account's limits.
    pub limits: RiskLimits,
    /// Sequence of the command that set them.
    pub sequence: u64,
}

/// How far one partition of one topic is persisted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Topic name.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Next offset to read (everything before it is written).
    pub next_offset: i64,
}

/// Documents of one batch, at most one per key.
#[derive(Clone, Debug, Default)]
pub struct StreamBatch {
    /// Latest state of each order touched.
    pub orders: Vec<(OrderRecord, Version)>,
    /// Fills, one per side of a trade.
    pub executions: Vec<(AccountId, ExecutionRecord)>,
    /// Latest position of each `(account, instrument)` touched.
    pub positions: Vec<PositionState>,
    /// Latest balance of each `(account, asset, shard)` touched.
    pub balances: Vec<BalanceState>,
    /// Latest limits of each `(account, shard)` touched.
    pub limits: Vec<LimitsState>,
    /// Accounts seen.
    pub accounts: Vec<AccountId>,
    /// Partitions whose records the batch covers.
    pub checkpoints: Vec<Checkpoint>,
}

impl StreamBatch {
    /// Documents in the batch (checkpoints excluded).
    pub fn documents(&self) -> usize {
        self.orders.len()
            + self.executions.len()
            + self.positions.len()
            + self.balances.len()
            + self.limits.len()
            + self.accounts.len()
    }
}

/// What a write did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamWriteReport {
    /// Upsert statements acknowledged (documents written or found stale).
    pub documents: u64,
    /// `update` commands sent.
    pub commands: u64,
    /// Orders whose stored document was newer (the batch's state was not written).
    pub stale_orders: Vec<OrderId>,
    /// Positions whose stored document was newer.
    pub stale_positions: u64,
}

/// Why a read or write failed (retry: everything here is idempotent).
#[derive(Debug, Error)]
pub enum StoreError {
    /// A bulk write failed.
    #[error("bulk write: {0}")]
    Bulk(#[from] BulkError),
    /// Reading orders back failed.
    #[error("reading orders: {0}")]
    Read(String),
    /// Creating collections and indexes failed.
    #[error("creating collections and indexes: {0}")]
    Schema(String),
}

/// `_id` of a fill: `{orderId}:{tradeId}`. Trade ids are numbered per engine shard, so
/// `{tradeId}:{M|T}` (the single-engine id) would collide across shards; an order id names
/// its shard, and an order is on one side of a trade only.
pub fn fill_id(order: OrderId, trade: oms_core::model::TradeId) -> String {
    format!("{}:{}", order.0, trade.0)
}

/// Engine integers in BSON's `Int64` (sequences and ids stay far below 2^63: a shard's
/// sequences start at `(shard + 1) << 40`).
fn int64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// MongoDB for the Kafka persister.
#[derive(Clone, Debug)]
pub struct StreamStore {
    db: Database,
    batch_max: usize,
    schema_ready: bool,
}

impl StreamStore {
    /// A client for `url` (database from the URL, else `database`). Does not wait for the
    /// server: the first write does, and fails with a typed error while it is down.
    pub async fn connect(url: &str, database: &str) -> Result<Self, MongoError> {
        let options = crate::client_options(url).await?;
        let name = options.default_database.clone().unwrap_or_else(|| database.to_owned());
        let client = Client::with_options(options)
            .map_err(|e| MongoError::InvalidUrl { url: url.to_owned(), reason: e.to_string() })?;
        Ok(Self { db: client.database(&name), batch_max: STATEMENTS_PER_COMMAND_MAX, schema_ready: false })
    }

    /// The database written.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Creates collections and indexes once (then remembers it did).
    pub async fn ensure_schema(&mut self) -> Result<(), StoreError> {
        if !self.schema_ready {
            schema::ensure(&self.db).await.map_err(|e| StoreError::Schema(e.to_string()))?;
            self.schema_ready = true;
        }
        Ok(())
    }

    /// The stored state of `ids` (those that have a document), with their versions.
    pub async fn load_orders(&mut self, ids: &[OrderId]) -> Result<Vec<(OrderRecord, Version)>, StoreError> {
        self.ensure_schema().await?;
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ORDERS_LOADED_MAX) {
            let wanted: Vec<i64> = chunk.iter().map(|id| int64(id.0)).collect();
            let mut cursor = self
                .db
                .collection::<Document>("orders")
                .find(doc! { "orderId": { "$in": wanted } })
                .await
                .map_err(|e| StoreError::Read(e.to_string()))?;
            while cursor.advance().await.map_err(|e| StoreError::Read(e.to_string()))? {
                let document = cursor.deserialize_current().map_err(|e| StoreError::Read(e.to_string()))?;
                let record = order_from_document(&document)
                    .ok_or_else(|| StoreError::Read(format!("undecodable order document {:?}", document.get("_id"))))?;
                found.push((record, version_of(&document)));
            }
        }
        Ok(found)
    }

    /// Writes a batch: fills, orders, positions, accounts, then the checkpoints (so a
    /// checkpoint never runs ahead of the documents it covers).
    pub async fn write(&mut self, catalog: &Catalog, batch: &StreamBatch) -> Result<StreamWriteReport, StoreError> {
        self.ensure_schema().await?;
        let mut report = StreamWriteReport::default();
        let executions: Vec<Bson> = batch
            .executions
            .iter()
            .map(|(account, e)| {
                let mut document = execution_document(catalog, *account, e);
                document.remove("_id");
                upsert(doc! { "_id": fill_id(e.order_id, e.trade_id) }, document)
            })
            .collect();
        self.send("executions", &executions, false, &mut report).await?;

        let orders: Vec<Bson> =
            batch.orders.iter().map(|(record, version)| order_statement(catalog, record, *version)).collect();
        let stale = self.send("orders", &orders, true, &mut report).await?;
        report.stale_orders = stale.into_iter().filter_map(|i| batch.orders.get(i)).map(|(r, _)| r.order.id).collect();

        let positions: Vec<Bson> = batch.positions.iter().filter_map(|p| position_statement(catalog, p)).collect();
        report.stale_positions = self.send("positions", &positions, true, &mut report).await?.len() as u64;

        // Snapshots, guarded like positions: a failover's republished older one is refused.
        let balances: Vec<Bson> = batch.balances.iter().filter_map(|b| balance_statement(catalog, b)).collect();
        self.send("balances", &balances, true, &mut report).await?;
        let limits: Vec<Bson> = batch.limits.iter().map(limits_statement).collect();
        self.send("limits", &limits, true, &mut report).await?;

        let accounts: Vec<Bson> = batch
            .accounts
            .iter()
            .map(|a| upsert(doc! { "accountId": i64::from(a.0) }, doc! { "accountId": i64::from(a.0) }))
            .collect();
        self.send("accounts", &accounts, false, &mut report).await?;

        let checkpoints: Vec<Bson> = batch.checkpoints.iter().map(checkpoint_statement).collect();
        // Guarded: during a rebalance a previous owner may still write an older offset.
        let before = report.documents;
        self.send("checkpoints", &checkpoints, true, &mut report).await?;
        report.documents = before;
        Ok(report)
    }

    async fn send(
        &self,
        collection: &'static str,
        statements: &[Bson],
        guarded: bool,
        report: &mut StreamWriteReport,
    ) -> Result<Vec<usize>, StoreError> {
        if statements.is_empty() {
            return Ok(Vec::new());
        }
        let outcome = bulk_update(&self.db, collection, statements, self.batch_max, guarded).await?;
        report.documents += outcome.statements;
        report.commands += outcome.commands;
        Ok(outcome.stale)
    }
}

/// The version stored in an `orders` document (none: older than anything).
fn version_of(document: &Document) -> Version {
    let sequence = document.get_i64("sequence").ok().and_then(|s| u64::try_from(s).ok()).unwrap_or(0);
    let event_index = document.get_i64("eventIndex").ok().and_then(|i| u32::try_from(i).ok()).unwrap_or(0);
    Version { sequence, event_index }
}

/// An order version as text that sorts like the version: `{sequence:020}:{eventIndex:010}`.
/// One indexed range condition in the guard: an `$or` of `sequence`/`eventIndex` ranges
/// made SecantusDB scan the collection per statement (≈ 50 upserts/s against ≈ 2 000/s).
pub fn version_key(version: Version) -> String {
    format!("{:020}:{:010}", version.sequence, version.event_index)
}

/// Upsert of an order's whole document, unless the stored one is newer.
fn order_statement(catalog: &Catalog, record: &OrderRecord, version: Version) -> Bson {
    let key = version_key(version);
    let mut document = order_document(catalog, record);
    document.insert("sequence", int64(version.sequence));
    document.insert("eventIndex", i64::from(version.event_index));
    document.insert("version", key.as_str());
    upsert(doc! { "orderId": int64(record.order.id.0), "version": { "$lte": key.as_str() } }, document)
}

/// Upsert of a position, unless the stored one is newer.
fn position_statement(catalog: &Catalog, p: &PositionState) -> Option<Bson> {
    let document = position_document(catalog, p.account, p.instrument, &p.position, p.sequence)?;
    let filter = doc! {
        "accountId": i64::from(p.account.0),
        "symbol": document.get_str("symbol").ok()?,
        "sequence": { "$lte": int64(p.sequence) },
    };
    Some(upsert(filter, document))
}

/// Upsert of one shard's balance, unless the stored one is newer.
fn balance_statement(catalog: &Catalog, b: &BalanceState) -> Option<Bson> {
    let document = balance_document(catalog, b)?;
    let filter = doc! {
        "accountId": i64::from(b.account.0),
        "asset": document.get_str("asset").ok()?,
        "shard": i64::from(b.shard),
        "sequence": { "$lte": int64(b.sequence) },
    };
    Some(upsert(filter, document))
}

/// Upsert of one shard's limits, unless the stored ones are newer.
fn limits_statement(l: &LimitsState) -> Bson {
    let filter = doc! {
        "accountId": i64::from(l.account.0),
        "shard": i64::from(l.shard),
        "sequence": { "$lte": int64(l.sequence) },
    };
    upsert(filter, limits_document(l))
}

fn checkpoint_statement(c: &Checkpoint) -> Bson {
    let id = format!("persister:{}:{}", c.topic, c.partition);
    upsert(
        doc! { "_id": &id, "offset": { "$lte": c.next_offset } },
        doc! { "topic": &c.topic, "partition": c.partition, "offset": c.next_offset },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_by_sequence_then_event_index() {
        let v = |sequence, event_index| Version { sequence, event_index };
        assert!(v(10, 3) < v(11, 0));
        assert!(v(10, 0) < v(10, 1));
        assert_eq!(version_of(&doc! {}), Version::default(), "an unversioned document is older than anything");
        assert_eq!(version_of(&doc! { "sequence": 5_i64, "eventIndex": 2_i64 }), v(5, 2));
        let keys = [v(9, 999), v(10, 0), v(10, 1), v(10, 12), v(1 << 50, 0), v(u64::MAX, u32::MAX)];
        assert!(keys.windows(2).all(|w| version_key(w[0]) < version_key(w[1])), "text order = version order");
    }

    #[test]
    fn fill_ids_are_unique_across_shards() {
        use oms_core::model::TradeId;
        // Trade 1 of shard 0 and trade 1 of shard 1: different orders, different ids.
        assert_ne!(fill_id(OrderId((1 << 40) + 5), TradeId(1)), fill_id(OrderId((2 << 40) + 5), TradeId(1)));
        assert_eq!(fill_id(OrderId(9), TradeId(1)), "9:1");
    }
}
