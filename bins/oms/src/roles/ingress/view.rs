//! The ingress's read model: every `executions` message folded (with the persister's
//! [`Fold`]) into a bounded [`History`], so `GET /api/orders…` and `/api/executions` answer
//! like `--role all` does; and every `position` on `risk-events`, latest per account and
//! symbol, and every `balance`, latest per account, asset and shard (an account's balance is
//! the sum of its shards' sub-ledgers), for `GET /api/risk/positions`. The ingress already reads every `executions` partition from its
//! start to match decisions, so this costs memory, not another consumer; a message is
//! folded before its command's client is answered, so a client reads its own writes on the
//! ingress that answered it.
//!
//! An engine failover republishes decisions, so a message may arrive twice or late. Each
//! order keeps the version `(sequence, eventIndex)` of the last message applied to it and
//! a message not newer is skipped whole (its fill included), which keeps a republished
//! fill from being listed twice and an old state from overwriting a newer one.

use std::collections::HashMap;

use oms_core::model::{AccountId, AssetId, InstrumentId, OrderId, RiskLimits};
use oms_core::risk::Balance;
use oms_http::catalog::Catalog;
use oms_http::history::History;
use oms_http::ws;
use oms_kafka::messages::wire::parse_order_id;
use oms_kafka::messages::{BalanceMessage, ExecutionMessage, RiskEventMessage};
use oms_mongo::stream::{PositionState, Version};
use serde_json::Value;

use super::limits::ShardLimits;
use crate::roles::fold::{Fold, FoldError, balance_state, order_id, version};
use crate::roles::latest::Latest;

/// Orders and fills as the API reads them.
#[derive(Debug)]
pub struct OrderView {
    fold: Fold,
    history: History,
    versions: HashMap<OrderId, Version>,
    /// Latest position per account and instrument (one shard owns each instrument).
    positions: Latest<(AccountId, InstrumentId), PositionState>,
    /// Latest balance per account, asset and shard.
    balances: Latest<(AccountId, AssetId, u32), Balance>,
    /// Latest limits per account and shard.
    limits: ShardLimits,
    orders_max: usize,
    /// Messages skipped as not newer than the order's state.
    pub stale: u64,
    /// Messages that did not convert (unknown symbol, bad number): logged and skipped.
    pub refused: u64,
}

impl OrderView {
    /// An empty view keeping at most `orders_max` orders (working ones always) and
    /// `executions_max` fills per account, like `--history-orders-max` for `--role all`.
    pub fn new(orders_max: usize, executions_max: usize) -> Self {
        Self {
            fold: Fold::default(),
            history: History::with_bounds(orders_max, executions_max),
            versions: HashMap::new(),
            positions: Latest::default(),
            balances: Latest::default(),
            limits: ShardLimits::default(),
            orders_max: orders_max.max(1),
            stale: 0,
            refused: 0,
        }
    }

    /// Folds one message in; with `updates`, also renders what it changed as the
    /// `/ws/orders` messages of the owning account (the order's new state, the fill).
    pub fn apply(
        &mut self,
        catalog: &Catalog,
        message: &ExecutionMessage,
        mut updates: Option<&mut Vec<(AccountId, Value)>>,
    ) -> Result<(), FoldError> {
        let Some(id) = order_id(message) else { return Ok(()) };
        let id = parse_order_id("orderId", id)?;
        let version = version(message)?;
        if let Some(&known) = self.versions.get(&id) {
            if known >= version {
                self.stale += 1;
                return Ok(());
            }
            // The fold forgets finished orders; give it the state this message changes.
            if !self.fold.known.contains_key(&id)
                && let Some(record) = self.history.order(id)
            {
                self.fold.known.insert(id, (record.clone(), known));
            }
        }
        let folded = self.fold.apply_execution(catalog, message);
        let batch = self.fold.finish();
        for (record, version) in batch.orders {
            self.versions.insert(record.order.id, version);
            if let Some(updates) = updates.as_deref_mut() {
                updates.push((record.order.account, ws::order_update(catalog, &record)));
            }
            self.history.upsert(record);
        }
        for (account, fill) in batch.executions {
            if let Some(updates) = updates.as_deref_mut() {
                updates.push((account, ws::fill_update(catalog, &fill)));
            }
            self.history.push_execution(account, fill);
        }
        // Working orders stay in the fold (bounded by the engines' books); finished ones live
        // on in the history only. A message changes one order, so only `id` can have
        // finished (checked here rather than by scanning every working order per message).
        if self.fold.known.get(&id).is_some_and(|(record, _)| record.order.status.is_final()) {
            self.fold.known.remove(&id);
        }
        if self.versions.len() > 2 * self.orders_max {
            let history = &self.history;
            self.versions.retain(|id, _| history.order(*id).is_some());
        }
        if folded.is_err() {
            self.refused += 1;
        }
        folded
    }

    /// Folds one `risk-events` message in: a `position`, `balance` or `limits` replaces
    /// the one before it unless an engine failover republished an older one (lower
    /// sequence); rejects and kill switches are not kept.
    pub fn apply_risk(&mut self, catalog: &Catalog, message: &RiskEventMessage) -> Result<(), FoldError> {
        let applied = match message {
            RiskEventMessage::Balance(m) => self.apply_balance(catalog, m),
            RiskEventMessage::Limits(m) => self.limits.apply(m),
            _ => return self.apply_position(catalog, message),
        };
        match applied {
            Ok(newer) => self.stale += u64::from(!newer),
            Err(_) => self.refused += 1,
        }
        applied.map(drop)
    }

    /// `account`'s limits as its shards last reported them, put back together.
    pub fn limits_of(&self, account: AccountId) -> Option<RiskLimits> {
        self.limits.of(account)
    }

    fn apply_position(&mut self, catalog: &Catalog, message: &RiskEventMessage) -> Result<(), FoldError> {
        if !matches!(message, RiskEventMessage::Position(_)) {
            return Ok(());
        }
        let folded = self.fold.apply_risk(catalog, message);
        for state in self.fold.finish().positions {
            let newer = self.positions.offer((state.account, state.instrument), state.sequence, state);
            self.stale += u64::from(!newer);
        }
        if folded.is_err() {
            self.refused += 1;
        }
        folded
    }

    /// A shard's balance replaces the one it published before, unless a failover
    /// republished an older one (a shard's sequences only grow).
    fn apply_balance(&mut self, catalog: &Catalog, m: &BalanceMessage) -> Result<bool, FoldError> {
        let state = balance_state(catalog, m)?;
        Ok(self.balances.offer((state.account, state.asset, state.shard), state.sequence, state.balance))
    }

    /// `account`'s balances summed over the shards, by asset.
    pub fn balances_of(&self, account: AccountId) -> Vec<(AssetId, Balance)> {
        let mut sums: std::collections::BTreeMap<AssetId, Balance> = std::collections::BTreeMap::new();
        for ((owner, asset, _), balance) in self.balances.iter() {
            if *owner == account {
                let sum = sums.entry(*asset).or_default();
                sum.available += balance.available;
                sum.reserved += balance.reserved;
            }
        }
        sums.into_iter().collect()
    }

    /// `account`'s balances by shard, then asset, as each shard last sampled them.
    pub fn balances_by_shard(&self, account: AccountId) -> std::collections::BTreeMap<u32, Vec<(AssetId, Balance)>> {
        let mut by_shard: std::collections::BTreeMap<u32, Vec<(AssetId, Balance)>> = std::collections::BTreeMap::new();
        for ((_, asset, shard), balance) in self.balances.iter().filter(|((owner, _, _), _)| *owner == account) {
            by_shard.entry(*shard).or_default().push((*asset, *balance));
        }
        by_shard
    }

    /// The orders and fills.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Records an order the engine refused as it came in, for the ingress that placed it
    /// (`GET /api/orders/{id}` finds it there, as with `--role all`). A refusal changes no
    /// engine state and `executions` carries only its reason, so other replicas, like the
    /// persister, do not list it.
    pub fn insert_rejected(&mut self, record: oms_http::history::OrderRecord) {
        if let Some(reason) = record.reject_reason {
            self.history.insert_rejected(record.order, reason);
        }
    }

    /// `account`'s positions, by instrument.
    pub fn positions_of(&self, account: AccountId) -> Vec<&PositionState> {
        let mut list: Vec<_> = self.positions.iter().map(|(_, p)| p).filter(|p| p.account == account).collect();
        list.sort_unstable_by_key(|p| p.instrument);
        list
    }
}

#[cfg(test)]
mod tests {
    use oms_kafka::messages::{decode_execution, decode_risk_event};

    use super::*;

    fn catalog() -> Catalog {
        Catalog::from_engine(&crate::demo::Demo::market().reference_engine().expect("market"))
    }

    fn message(json: &str) -> ExecutionMessage {
        decode_execution(json.as_bytes()).expect("decodes")
    }

    const ACCEPTED: &str = r#"{"type":"orderAccepted","v":1,"sequence":"5","eventIndex":0,"eventCount":1,"orderId":"5","clientOrderId":"c-5","accountId":"1","symbol":"BTC-USD","side":"buy","orderType":"limit","timeInForce":"GTC","price":"60000.00","stopPrice":null,"quantity":"0.0100","filledQuantity":"0","remainingQuantity":"0.0100","status":"NEW","postOnly":false,"reduceOnly":false,"expireTime":null,"createdAt":"2026-11-22T10:00:00Z"}"#;
    const FILL: &str = r#"{"type":"fill","v":1,"sequence":"9","eventIndex":1,"eventCount":3,"tradeId":"1","orderId":"5","accountId":"1","symbol":"BTC-USD","side":"buy","price":"60000.00","quantity":"0.0100","fee":"0.000001","feeAsset":"BTC","liquidity":"maker","status":"FILLED","filledQuantity":"0.0100","remainingQuantity":"0","time":"2026-11-22T10:00:01Z"}"#;

    #[test]
    fn an_order_and_its_fill_are_read_back_and_a_republished_fill_is_not_listed_twice() {
        let catalog = catalog();
        let mut view = OrderView::new(100, 100);
        let mut updates = Vec::new();
        view.apply(&catalog, &message(ACCEPTED), Some(&mut updates)).expect("accepted");
        view.apply(&catalog, &message(FILL), Some(&mut updates)).expect("fill");
        let kinds: Vec<_> = updates.iter().map(|(account, m)| (account.0, m["type"].as_str().unwrap_or(""))).collect();
        assert_eq!(kinds, [(1, "order"), (1, "order"), (1, "fill")], "the /ws/orders messages");
        assert_eq!(updates[1].1["order"]["status"], "FILLED");
        // A failover republishes both: nothing changes, nothing is streamed.
        view.apply(&catalog, &message(ACCEPTED), Some(&mut updates)).expect("again");
        view.apply(&catalog, &message(FILL), None).expect("again");
        assert_eq!(updates.len(), 3);
        let record = view.history().order(OrderId(5)).expect("order");
        assert_eq!(record.order.status, oms_core::model::OrderStatus::Filled);
        assert_eq!(view.history().executions_of(AccountId(1)).count(), 1);
        assert_eq!(view.stale, 2);
    }

    #[test]
    fn a_message_for_an_unknown_symbol_is_refused_and_changes_nothing() {
        let catalog = catalog();
        let mut view = OrderView::new(100, 100);
        assert!(view.apply(&catalog, &message(&ACCEPTED.replace("BTC-USD", "XRP-USD")), None).is_err());
        assert_eq!((view.refused, view.history().order(OrderId(5)).is_none()), (1, true));
    }

    #[test]
    fn the_latest_position_wins_and_a_republished_older_one_does_not() {
        let catalog = catalog();
        let mut view = OrderView::new(100, 100);
        let position = |sequence: u64, quantity: &str| {
            let json = format!(
                r#"{{"type":"position","v":1,"sequence":"{sequence}","accountId":"1","symbol":"BTC-USD","quantity":"{quantity}","openCost":"600.000000","realizedPnl":"0"}}"#
            );
            decode_risk_event(json.as_bytes()).expect("decodes")
        };
        view.apply_risk(&catalog, &position(9, "0.01000000")).expect("first");
        view.apply_risk(&catalog, &position(12, "0.02000000")).expect("newer");
        view.apply_risk(&catalog, &position(9, "0.01000000")).expect("republished");
        let positions = view.positions_of(AccountId(1));
        assert_eq!(positions.len(), 1);
        assert_eq!((positions[0].sequence, positions[0].position.net_base), (12, 2_000_000));
        assert_eq!(view.stale, 1);
        assert!(view.positions_of(AccountId(2)).is_empty());
    }

    #[test]
    fn an_account_s_balance_is_the_sum_of_its_shards_latest() {
        let catalog = catalog();
        let mut view = OrderView::new(100, 100);
        let balance = |sequence: u64, shard: u32, available: &str| {
            let json = format!(
                r#"{{"type":"balance","v":1,"sequence":"{sequence}","shard":{shard},"accountId":"1","asset":"USD","available":"{available}","reserved":"10"}}"#
            );
            decode_risk_event(json.as_bytes()).expect("decodes")
        };
        view.apply_risk(&catalog, &balance(5, 0, "100")).expect("shard 0");
        view.apply_risk(&catalog, &balance(7, 1, "50.5")).expect("shard 1");
        view.apply_risk(&catalog, &balance(9, 0, "90")).expect("shard 0 later");
        view.apply_risk(&catalog, &balance(5, 0, "100")).expect("shard 0 republished");
        let usd = catalog.asset_by_code("USD").expect("USD");
        let sums = view.balances_of(AccountId(1));
        assert_eq!(sums.len(), 1);
        assert_eq!(sums[0].0, usd.spec().id);
        let expected = |text: &str| usd.amount_from_decimal(text.parse().expect("decimal")).expect("amount");
        assert_eq!((sums[0].1.available, sums[0].1.reserved), (expected("140.5"), expected("20")));
        assert_eq!(view.stale, 1);
        let unknown = balance(11, 2, "1").clone();
        let RiskEventMessage::Balance(mut m) = unknown else { panic!("a balance") };
        m.asset = "XRP".into();
        assert!(view.apply_risk(&catalog, &RiskEventMessage::Balance(m)).is_err(), "unknown asset");
        assert_eq!(view.refused, 1);
        assert!(view.balances_of(AccountId(2)).is_empty());
    }
}
