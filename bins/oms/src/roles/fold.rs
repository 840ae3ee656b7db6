//! Decisions from Kafka folded into order, fill and position records: the documents of
//! one persister batch, and the ingress's read model. Pure (no I/O): the caller reads back the stored state of orders the batch updates but does not create
//! ([`Fold::missing_orders`]), folds, then writes [`Fold::finish`].
//!
//! Each message carries a version — `(sequence, eventIndex)` for `executions`, `sequence`
//! for positions — and a message not newer than the state it would change is stale (an
//! engine failover republished it, or Kafka redelivered it) and is skipped here; the
//! write's guards catch what the batch cannot see (another member's newer write).

use std::collections::{BTreeMap, BTreeSet};

use oms_core::model::{
    AccountId, ClientOrderId, InstrumentId, Order, OrderId, OrderStatus, Quantity, SelfTradePrevention, TradeId,
};
use oms_core::risk::Position;
use oms_http::catalog::Catalog;
use oms_http::history::{ExecutionRecord, OrderRecord};
use oms_kafka::messages::wire::{
    parse_account, parse_decimal, parse_order_id, parse_price, parse_quantity, parse_time,
};
use oms_kafka::messages::{
    BalanceMessage, ExecutionMessage, FillMessage, LimitsMessage, MessageError, OrderAcceptedMessage, RiskEventMessage,
};
use oms_mongo::documents::status_from;
use oms_mongo::stream::{BalanceState, Checkpoint, LimitsState, PositionState, StreamBatch, Version};

use crate::roles::latest::Latest;

/// Why a decoded message cannot become documents (the record is refused like a poison one).
#[derive(Debug)]
pub enum FoldError {
    /// A field does not parse or convert.
    Message(MessageError),
    /// A symbol the market definition lacks.
    UnknownSymbol(String),
    /// An asset the market definition lacks.
    UnknownAsset(&'static str, String),
    /// A status code the API does not have.
    UnknownStatus(String),
}

impl std::fmt::Display for FoldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FoldError::Message(e) => e.fmt(f),
            FoldError::UnknownSymbol(symbol) => write!(f, "unknown symbol {symbol:?}"),
            FoldError::UnknownAsset(which, symbol) => write!(f, "no asset for the {which} of {symbol}"),
            FoldError::UnknownStatus(status) => write!(f, "unknown status {status:?}"),
        }
    }
}

impl std::error::Error for FoldError {}

impl From<MessageError> for FoldError {
    fn from(error: MessageError) -> Self {
        FoldError::Message(error)
    }
}

/// A decoded record, ready to fold.
#[derive(Debug)]
pub enum Decision {
    /// From `executions`.
    Execution(Box<ExecutionMessage>),
    /// From `risk-events`.
    Risk(RiskEventMessage),
}

/// Counts of what folding saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct FoldCounts {
    /// Messages not newer than the state they would change.
    pub stale: u64,
    /// Updates of orders neither in the batch nor stored (their acceptance was never seen).
    pub orphans: u64,
    /// Decoded messages refused while converting (unknown symbol, bad number).
    pub refused: u64,
}

/// The orders the persister knows (read back or folded), and one batch's changes.
#[derive(Debug, Default)]
pub struct Fold {
    /// Known order states: the working set carried between batches (bounded by the
    /// caller), plus whatever was read back for this batch.
    pub known: std::collections::HashMap<OrderId, (OrderRecord, Version)>,
    touched: BTreeSet<OrderId>,
    executions: BTreeMap<(OrderId, TradeId), (AccountId, ExecutionRecord)>,
    positions: Latest<(AccountId, InstrumentId), PositionState>,
    balances: Latest<(AccountId, oms_core::model::AssetId, u32), BalanceState>,
    limits: Latest<(AccountId, u32), LimitsState>,
    accounts: BTreeSet<AccountId>,
    offsets: BTreeMap<(String, i32), i64>,
    /// What was skipped.
    pub counts: FoldCounts,
}

/// The version of an `executions` message.
pub fn version(message: &ExecutionMessage) -> Result<Version, MessageError> {
    let header = message.header();
    let sequence = parse_order_id("sequence", &header.sequence)?.0;
    Ok(Version { sequence, event_index: header.event_index })
}

/// One shard's balance from a `balance` message, in the asset's minor units.
pub fn balance_state(catalog: &Catalog, m: &BalanceMessage) -> Result<BalanceState, FoldError> {
    let asset = catalog.asset_by_code(&m.asset).ok_or_else(|| FoldError::UnknownAsset("asset", m.asset.clone()))?;
    let amount = |field: &'static str, text: &str| {
        asset.amount_from_decimal(parse_decimal(field, text)?).map_err(|source| MessageError::Value { field, source })
    };
    Ok(BalanceState {
        account: parse_account("accountId", &m.account_id)?,
        asset: asset.spec().id,
        shard: m.shard,
        balance: oms_core::risk::Balance {
            available: amount("available", &m.available)?,
            reserved: amount("reserved", &m.reserved)?,
        },
        sequence: parse_order_id("sequence", &m.sequence)?.0,
    })
}

/// One shard's limits from a `limits` message.
pub fn limits_state(m: &LimitsMessage) -> Result<LimitsState, FoldError> {
    Ok(LimitsState {
        account: parse_account("accountId", &m.account_id)?,
        shard: m.shard,
        limits: m.limits.to_limits()?,
        sequence: parse_order_id("sequence", &m.sequence)?.0,
    })
}

/// The order an `executions` message changes (none for refusals and command summaries).
pub fn order_id(message: &ExecutionMessage) -> Option<&str> {
    match message {
        ExecutionMessage::OrderAccepted(m) => Some(&m.order_id),
        ExecutionMessage::OrderTriggered(m) | ExecutionMessage::OrderExpired(m) => Some(&m.order_id),
        ExecutionMessage::OrderCancelled(m) => Some(&m.order_id),
        ExecutionMessage::OrderAmended(m) => Some(&m.order_id),
        ExecutionMessage::Fill(m) => Some(&m.order_id),
        ExecutionMessage::OrderRejected(_) | ExecutionMessage::CommandResult(_) => None,
    }
}

impl Fold {
    /// Orders the decisions update but neither create nor find in [`Fold::known`]: read
    /// their stored state before folding.
    pub fn missing_orders(&self, decisions: &[Decision]) -> Vec<OrderId> {
        let mut created = BTreeSet::new();
        let mut missing = BTreeSet::new();
        for decision in decisions {
            let Decision::Execution(message) = decision else { continue };
            let Some(Ok(id)) = order_id(message).map(|id| parse_order_id("orderId", id)) else { continue };
            if matches!(message.as_ref(), ExecutionMessage::OrderAccepted(_)) {
                created.insert(id);
                continue;
            }
            if !created.contains(&id) && !self.known.contains_key(&id) {
                missing.insert(id);
            }
        }
        missing.into_iter().collect()
    }

    /// Notes that the batch covers `offset` of `topic`/`partition` (for the checkpoints).
    pub fn covers(&mut self, topic: &str, partition: i32, offset: i64) {
        let next = self.offsets.entry((topic.to_owned(), partition)).or_insert(offset + 1);
        *next = (*next).max(offset + 1);
    }

    /// Folds one decision in.
    pub fn apply(&mut self, catalog: &Catalog, decision: &Decision) -> Result<(), FoldError> {
        match decision {
            Decision::Execution(message) => self.apply_execution(catalog, message),
            Decision::Risk(message) => self.apply_risk(catalog, message),
        }
    }

    /// Folds one `risk-events` message in: a `position` replaces the batch's state for its
    /// account and symbol unless it is older; rejects and kill switches are not kept.
    pub fn apply_risk(&mut self, catalog: &Catalog, message: &RiskEventMessage) -> Result<(), FoldError> {
        match message {
            RiskEventMessage::Position(m) => {
                let (instrument, listing) =
                    catalog.by_symbol(&m.symbol).ok_or_else(|| FoldError::UnknownSymbol(m.symbol.clone()))?;
                let spec = listing.instrument.spec();
                let base = catalog.asset(spec.base).ok_or_else(|| FoldError::UnknownAsset("base", m.symbol.clone()))?;
                let quote =
                    catalog.asset(spec.quote).ok_or_else(|| FoldError::UnknownAsset("quote", m.symbol.clone()))?;
                // Signed amounts (a short position, a loss): the asset converts magnitudes.
                let amount = |asset: &oms_core::model::Asset, field: &'static str, text: &str| {
                    let value = parse_decimal(field, text)?;
                    let units = asset
                        .amount_from_decimal(value.abs())
                        .map_err(|source| MessageError::Value { field, source })?;
                    Ok::<i64, MessageError>(if value.is_sign_negative() { -units } else { units })
                };
                let position = Position {
                    net_base: amount(base, "quantity", &m.quantity)?,
                    open_cost_quote: amount(quote, "openCost", &m.open_cost)?,
                    realized_pnl_quote: amount(quote, "realizedPnl", &m.realized_pnl)?,
                    ..Position::default()
                };
                let account = parse_account("accountId", &m.account_id)?;
                let sequence = parse_order_id("sequence", &m.sequence)?.0;
                self.accounts.insert(account);
                let state = PositionState { account, instrument, position, sequence };
                // Later in the partition wins among equal sequences (several trades of one
                // command); an older one is a republished or redelivered state.
                self.counts.stale += u64::from(!self.positions.offer((account, instrument), sequence, state));
                Ok(())
            }
            RiskEventMessage::Balance(m) => {
                let state = balance_state(catalog, m)?;
                self.accounts.insert(state.account);
                let key = (state.account, state.asset, state.shard);
                self.counts.stale += u64::from(!self.balances.offer(key, state.sequence, state));
                Ok(())
            }
            RiskEventMessage::Limits(m) => {
                let state = limits_state(m)?;
                self.accounts.insert(state.account);
                let key = (state.account, state.shard);
                self.counts.stale += u64::from(!self.limits.offer(key, state.sequence, state));
                Ok(())
            }
            // Risk monitoring, not history: nothing to persist.
            RiskEventMessage::RiskReject(_) | RiskEventMessage::KillSwitch(_) => Ok(()),
        }
    }

    /// Folds one `executions` message in.
    pub fn apply_execution(&mut self, catalog: &Catalog, message: &ExecutionMessage) -> Result<(), FoldError> {
        let version = version(message)?;
        match message {
            ExecutionMessage::OrderAccepted(m) => {
                let order = accepted_order(catalog, m)?;
                let record = OrderRecord { order, reject_reason: None, filled_value: 0, updated: order.created };
                self.accounts.insert(order.account);
                match self.known.get(&order.id) {
                    Some((_, known)) if *known >= version => self.counts.stale += 1,
                    _ => {
                        self.known.insert(order.id, (record, version));
                        self.touched.insert(order.id);
                    }
                }
                Ok(())
            }
            ExecutionMessage::OrderTriggered(m) | ExecutionMessage::OrderExpired(m) => {
                let progress = Progress::new(catalog, &m.symbol, &m.status, &m.filled_quantity, &m.remaining_quantity)?;
                self.update(&m.order_id, version, |r| progress.apply(r))
            }
            ExecutionMessage::OrderCancelled(m) => {
                let progress = Progress::new(catalog, &m.symbol, &m.status, &m.filled_quantity, &m.remaining_quantity)?;
                self.update(&m.order_id, version, |r| progress.apply(r))
            }
            ExecutionMessage::OrderAmended(m) => {
                let progress = Progress::new(catalog, &m.symbol, &m.status, &m.filled_quantity, &m.remaining_quantity)?;
                let instrument = instrument(catalog, &m.symbol)?.1;
                let price = parse_price(&instrument, "price", &m.price)?;
                let quantity = parse_quantity(&instrument, "quantity", &m.quantity)?;
                self.update(&m.order_id, version, |r| {
                    progress.apply(r);
                    r.order.price = price;
                    r.order.quantity = quantity;
                })
            }
            ExecutionMessage::Fill(m) => self.apply_fill(catalog, m, version),
            // A refused command creates no order document (as in the in-process persister);
            // a command's summary repeats what its other messages said.
            ExecutionMessage::OrderRejected(_) | ExecutionMessage::CommandResult(_) => Ok(()),
        }
    }

    fn apply_fill(&mut self, catalog: &Catalog, m: &FillMessage, version: Version) -> Result<(), FoldError> {
        let (instrument_id, instrument) = instrument(catalog, &m.symbol)?;
        let spec = instrument.spec();
        let side: oms_core::model::Side = m.side.into();
        // Buyers pay fees in base, sellers in quote (docs/events.md).
        let (fee_asset, which) = match side {
            oms_core::model::Side::Buy => (spec.base, "base"),
            oms_core::model::Side::Sell => (spec.quote, "quote"),
        };
        let fee_asset = catalog.asset(fee_asset).ok_or_else(|| FoldError::UnknownAsset(which, m.symbol.clone()))?;
        let fee = fee_asset
            .amount_from_decimal(parse_decimal("fee", &m.fee)?)
            .map_err(|source| MessageError::Value { field: "fee", source })?;
        let trade_id = TradeId(parse_order_id("tradeId", &m.trade_id)?.0);
        let execution = ExecutionRecord {
            trade_id,
            order_id: parse_order_id("orderId", &m.order_id)?,
            instrument: instrument_id,
            side,
            price: parse_price(&instrument, "price", &m.price)?,
            quantity: parse_quantity(&instrument, "quantity", &m.quantity)?,
            fee,
            maker: m.liquidity == "maker",
            time: parse_time("time", &m.time)?,
            sequence: version.sequence,
        };
        let account = parse_account("accountId", &m.account_id)?;
        self.accounts.insert(account);
        self.executions.insert((execution.order_id, trade_id), (account, execution));
        let progress = Progress::new(catalog, &m.symbol, &m.status, &m.filled_quantity, &m.remaining_quantity)?;
        self.update(&m.order_id, version, |r| {
            progress.apply(r);
            r.filled_value += i128::from(execution.price.0) * i128::from(execution.quantity.0);
            r.updated = r.updated.max(execution.time);
        })
    }

    /// Applies `change` to a known order unless the message is not newer than its state.
    fn update(
        &mut self,
        order_id: &str,
        version: Version,
        change: impl FnOnce(&mut OrderRecord),
    ) -> Result<(), FoldError> {
        let id = parse_order_id("orderId", order_id)?;
        match self.known.get_mut(&id) {
            None => self.counts.orphans += 1,
            Some((_, known)) if *known >= version => self.counts.stale += 1,
            Some((record, known)) => {
                change(record);
                *known = version;
                self.touched.insert(id);
            }
        }
        Ok(())
    }

    /// The batch's documents; the batch state is reset, known orders are kept.
    pub fn finish(&mut self) -> StreamBatch {
        let orders =
            std::mem::take(&mut self.touched).into_iter().filter_map(|id| self.known.get(&id).cloned()).collect();
        StreamBatch {
            orders,
            executions: std::mem::take(&mut self.executions).into_values().collect(),
            positions: std::mem::take(&mut self.positions).into_values().collect(),
            balances: std::mem::take(&mut self.balances).into_values().collect(),
            limits: std::mem::take(&mut self.limits).into_values().collect(),
            accounts: std::mem::take(&mut self.accounts).into_iter().collect(),
            checkpoints: std::mem::take(&mut self.offsets)
                .into_iter()
                .map(|((topic, partition), next_offset)| Checkpoint { topic, partition, next_offset })
                .collect(),
        }
    }

    /// After a write: forget finished orders (they change no more) and those whose stored
    /// document was newer; keep at most `max` working ones (the rest are read back when
    /// they change).
    pub fn settle(&mut self, stale: &[OrderId], max: usize) {
        for id in stale {
            self.known.remove(id);
        }
        self.known.retain(|_, (record, _)| !record.order.status.is_final());
        if self.known.len() > max {
            self.known.clear();
        }
    }
}

/// Status and quantities after an event.
struct Progress {
    status: OrderStatus,
    filled: Quantity,
    leaves: Quantity,
}

impl Progress {
    fn new(catalog: &Catalog, symbol: &str, status: &str, filled: &str, leaves: &str) -> Result<Self, FoldError> {
        let instrument = instrument(catalog, symbol)?.1;
        Ok(Self {
            status: status_from(status).ok_or_else(|| FoldError::UnknownStatus(status.to_owned()))?,
            filled: quantity_or_zero(&instrument, "filledQuantity", filled)?,
            leaves: quantity_or_zero(&instrument, "remainingQuantity", leaves)?,
        })
    }

    fn apply(&self, record: &mut OrderRecord) {
        record.order.status = self.status;
        record.order.filled = self.filled;
        record.order.leaves = self.leaves;
    }
}

fn instrument(catalog: &Catalog, symbol: &str) -> Result<(InstrumentId, oms_core::model::Instrument), FoldError> {
    catalog
        .by_symbol(symbol)
        .map(|(id, listing)| (id, listing.instrument))
        .ok_or_else(|| FoldError::UnknownSymbol(symbol.to_owned()))
}

/// A quantity that may be zero (filled, remaining): `quantity_from_decimal` refuses zero.
fn quantity_or_zero(
    instrument: &oms_core::model::Instrument,
    field: &'static str,
    text: &str,
) -> Result<Quantity, FoldError> {
    if parse_decimal(field, text)?.is_zero() {
        return Ok(Quantity::ZERO);
    }
    Ok(parse_quantity(instrument, field, text)?)
}

/// The order an `orderAccepted` describes. Self-trade prevention is not on the message
/// (v1), so the document says `NONE`.
fn accepted_order(catalog: &Catalog, m: &OrderAcceptedMessage) -> Result<Order, FoldError> {
    let (instrument_id, instrument) = instrument(catalog, &m.symbol)?;
    Ok(Order {
        id: parse_order_id("orderId", &m.order_id)?,
        account: parse_account("accountId", &m.account_id)?,
        client_order_id: ClientOrderId::new(&m.client_order_id)
            .map_err(|_| MessageError::InvalidField { field: "clientOrderId", reason: "not a client order id" })?,
        instrument: instrument_id,
        side: m.side.into(),
        order_type: m.order_type.into(),
        time_in_force: m.time_in_force.into(),
        self_trade_prevention: SelfTradePrevention::None,
        post_only: m.post_only,
        reduce_only: m.reduce_only,
        status: status_from(&m.status).ok_or_else(|| FoldError::UnknownStatus(m.status.clone()))?,
        price: parse_price(&instrument, "price", &m.price)?,
        stop_price: m.stop_price.as_deref().map(|p| parse_price(&instrument, "stopPrice", p)).transpose()?,
        quantity: parse_quantity(&instrument, "quantity", &m.quantity)?,
        filled: quantity_or_zero(&instrument, "filledQuantity", &m.filled_quantity)?,
        leaves: quantity_or_zero(&instrument, "remainingQuantity", &m.remaining_quantity)?,
        expire_time: m.expire_time.as_deref().map(|t| parse_time("expireTime", t)).transpose()?,
        created: parse_time("createdAt", &m.created_at)?,
    })
}

#[cfg(test)]
mod tests {
    use oms_core::prelude::*;
    use oms_kafka::messages::{decode_execution, decode_risk_event};

    use super::*;

    /// The demo market: BTC-USD with tick 0.01, lot 0.0001, USD scale 6, BTC scale 8.
    fn catalog() -> Catalog {
        Catalog::from_engine(&crate::demo::Demo::market().reference_engine().expect("market"))
    }

    fn execution(json: &str) -> Decision {
        Decision::Execution(Box::new(decode_execution(json.as_bytes()).expect("decodes")))
    }

    const ACCEPTED: &str = r#"{"type":"orderAccepted","v":1,"commandId":"c","sequence":"10","eventIndex":0,"eventCount":2,"orderId":"10","clientOrderId":"k","accountId":"7","symbol":"BTC-USD","side":"buy","orderType":"limit","timeInForce":"GTC","price":"60000","stopPrice":null,"quantity":"0.5","filledQuantity":"0","remainingQuantity":"0.5","status":"ACCEPTED","postOnly":false,"reduceOnly":false,"expireTime":null,"createdAt":"2023-11-14T22:13:20Z"}"#;
    const FILL: &str = r#"{"type":"fill","v":1,"commandId":"d","sequence":"11","eventIndex":1,"eventCount":3,"tradeId":"1","orderId":"10","accountId":"7","symbol":"BTC-USD","side":"buy","price":"60000","quantity":"0.2","fee":"0.00001","feeAsset":"BTC","liquidity":"maker","status":"PARTIALLY_FILLED","filledQuantity":"0.2","remainingQuantity":"0.3","time":"2023-11-14T22:13:21Z"}"#;

    #[test]
    fn a_batch_keeps_each_shards_newest_balance_and_limits() {
        let catalog = catalog();
        let risk = |json: &str| Decision::Risk(decode_risk_event(json.as_bytes()).expect("decodes"));
        let balance = |sequence: u32, shard: u32, available: &str| {
            risk(&format!(
                r#"{{"type":"balance","v":1,"sequence":"{sequence}","shard":{shard},"accountId":"7","asset":"USD","available":"{available}","reserved":"0"}}"#
            ))
        };
        let limits = |sequence: u32, open: u32| {
            risk(&format!(
                r#"{{"type":"limits","v":1,"commandId":"k","sequence":"{sequence}","shard":1,"accountId":"7","limits":{{"orderQuantityMax":"1","orderNotionalMax":"1","positionMax":"1","openOrdersMax":{open},"ordersPerWindowMax":1,"rateWindowNs":"1","dailyLossMax":"1","concentrationMaxBps":10000,"concentrationFloor":"0"}}}}"#
            ))
        };
        let mut fold = Fold::default();
        // Shard 1: 20, then a failover republishes 10 (older, skipped); shard 2: its own.
        for decision in [balance(20, 1, "5"), balance(10, 1, "9"), balance(3, 2, "1.5"), limits(8, 4), limits(7, 2)] {
            fold.apply(&catalog, &decision).expect("folds");
        }
        assert_eq!(fold.counts.stale, 2, "the older balance and the older limits");
        let batch = fold.finish();
        let mut balances: Vec<_> = batch.balances.iter().map(|b| (b.shard, b.sequence, b.balance.available)).collect();
        balances.sort_unstable();
        assert_eq!(balances, [(1, 20, 5_000_000), (2, 3, 1_500_000)], "USD has 6 decimals");
        assert_eq!(batch.limits.iter().map(|l| (l.shard, l.limits.open_orders_max)).collect::<Vec<_>>(), [(1, 4)]);
        assert_eq!(batch.accounts, [AccountId(7)]);
        assert!(fold.apply(&catalog, &balance(30, 1, "0.0000001")).is_err(), "finer than the asset's scale");
    }

    #[test]
    fn a_republished_older_state_does_not_overwrite_a_newer_one() {
        let catalog = catalog();
        let mut fold = Fold::default();
        for message in [ACCEPTED, FILL, ACCEPTED] {
            fold.apply(&catalog, &execution(message)).expect("folds");
        }
        let batch = fold.finish();
        assert_eq!(batch.orders.len(), 1);
        let (record, version) = &batch.orders[0];
        assert_eq!((record.order.status, record.order.filled), (OrderStatus::PartiallyFilled, Quantity(2_000)));
        assert_eq!(*version, Version { sequence: 11, event_index: 1 });
        assert_eq!(record.filled_value, 6_000_000 * 2_000);
        assert_eq!(fold.counts.stale, 1, "the second acceptance");
        assert_eq!(batch.executions.len(), 1);
        assert_eq!(batch.executions[0].1.fee, 1_000, "0.00001 BTC in satoshis");
        // A later batch: the fill again (redelivered) changes nothing.
        fold.apply(&catalog, &execution(FILL)).expect("folds");
        assert!(fold.finish().orders.is_empty(), "nothing newer");
    }

    #[test]
    fn updates_of_unknown_orders_are_read_back_first() {
        let catalog = catalog();
        let mut fold = Fold::default();
        let decisions = [execution(FILL)];
        assert_eq!(fold.missing_orders(&decisions), vec![OrderId(10)]);
        let decisions = [execution(ACCEPTED), execution(FILL)];
        assert!(fold.missing_orders(&decisions).is_empty(), "created in the batch");
        fold.apply(&catalog, &execution(FILL)).expect("folds");
        assert_eq!(fold.counts.orphans, 1, "never seen, never read back: counted, not invented");
    }

    #[test]
    fn positions_keep_the_highest_sequence_and_may_be_short() {
        let catalog = catalog();
        let mut fold = Fold::default();
        let position = |sequence: u64, quantity: &str| {
            let json = format!(
                r#"{{"type":"position","v":1,"sequence":"{sequence}","accountId":"3","symbol":"BTC-USD","quantity":"{quantity}","openCost":"-6000","realizedPnl":"-1.5"}}"#
            );
            Decision::Risk(decode_risk_event(json.as_bytes()).expect("decodes"))
        };
        fold.apply(&catalog, &position(12, "-0.1")).expect("folds");
        fold.apply(&catalog, &position(11, "-0.3")).expect("folds");
        let batch = fold.finish();
        assert_eq!(batch.positions.len(), 1);
        let p = batch.positions[0];
        assert_eq!((p.sequence, p.position.net_base, p.position.open_cost_quote), (12, -10_000_000, -6_000_000_000));
        assert_eq!(p.position.realized_pnl_quote, -1_500_000);
        assert_eq!(fold.counts.stale, 1);
    }
}
