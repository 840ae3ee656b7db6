//! The history archive: orders and fills older than the HTTP layer keeps in memory, read
//! from the persister's collections (newest first, by the indexes of [`crate::schema`]).

use futures_util::TryStreamExt;
use mongodb::Database;
use mongodb::bson::{Document, doc};
use oms_core::model::{AccountId, InstrumentId, OrderId};
use oms_http::external::{ArchiveError, ArchiveOrderQuery, BoxFuture, HistoryArchive};
use oms_http::history::{ExecutionRecord, OrderRecord};

use crate::documents::{STATUSES, execution_from_document, order_from_document, status_code};

/// Reads of the `orders` and `executions` collections.
#[derive(Clone, Debug)]
pub struct Archive {
    db: Database,
}

impl Archive {
    pub(crate) fn new(db: Database) -> Self {
        Self { db }
    }

    async fn find(
        &self,
        collection: &str,
        filter: Document,
        sort: Document,
        limit: usize,
    ) -> Result<Vec<Document>, ArchiveError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let cursor = self
            .db
            .collection::<Document>(collection)
            .find(filter)
            .sort(sort)
            .limit(limit)
            .await
            .map_err(|e| ArchiveError(e.to_string()))?;
        cursor.try_collect().await.map_err(|e| ArchiveError(e.to_string()))
    }
}

fn undecodable(collection: &str) -> ArchiveError {
    ArchiveError(format!("a document in {collection} does not decode"))
}

impl HistoryArchive for Archive {
    fn order(&self, account: AccountId, id: OrderId) -> BoxFuture<'_, Result<Option<OrderRecord>, ArchiveError>> {
        Box::pin(async move {
            let filter = doc! { "orderId": id.0 as i64, "accountId": i64::from(account.0) };
            let found = self.find("orders", filter, doc! { "orderId": -1 }, 1).await?;
            found.first().map(|d| order_from_document(d).ok_or_else(|| undecodable("orders"))).transpose()
        })
    }

    fn orders(&self, query: ArchiveOrderQuery) -> BoxFuture<'_, Result<Vec<OrderRecord>, ArchiveError>> {
        Box::pin(async move {
            let mut filter = doc! { "accountId": i64::from(query.account.0) };
            if let Some(instrument) = query.instrument {
                filter.insert("instrumentId", i64::from(instrument.0));
            }
            if let Some(before) = query.before {
                filter.insert("orderId", doc! { "$lt": before as i64 });
            }
            if let Some(open) = query.open {
                let codes: Vec<&str> = STATUSES.into_iter().filter(|s| s.is_final() != open).map(status_code).collect();
                filter.insert("status", doc! { "$in": codes });
            }
            let found = self.find("orders", filter, doc! { "orderId": -1 }, query.limit).await?;
            found.iter().map(|d| order_from_document(d).ok_or_else(|| undecodable("orders"))).collect()
        })
    }

    fn executions(
        &self,
        account: AccountId,
        instrument: Option<InstrumentId>,
        before: Option<u64>,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<ExecutionRecord>, ArchiveError>> {
        Box::pin(async move {
            let mut filter = doc! { "accountId": i64::from(account.0) };
            if let Some(instrument) = instrument {
                filter.insert("instrumentId", i64::from(instrument.0));
            }
            if let Some(before) = before {
                filter.insert("sequence", doc! { "$lt": before as i64 });
            }
            // Newest first, as memory lists them: by command, then trade, taker before maker.
            let sort = doc! { "sequence": -1, "tradeId": -1, "maker": 1 };
            let found = self.find("executions", filter, sort, limit).await?;
            found.iter().map(|d| execution_from_document(d).ok_or_else(|| undecodable("executions"))).collect()
        })
    }
}
