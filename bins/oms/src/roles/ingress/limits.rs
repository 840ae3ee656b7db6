//! An account's risk limits in the split deployment, where each engine shard enforces its
//! own share (docs/api.md, "Limits in the split deployment").
//!
//! Per-order and per-instrument limits (order quantity and notional, position) bind on the
//! shard that owns the order's book, so every shard gets the full value: exact. Account-wide
//! counts and sums (working orders, orders per second, daily loss) are divided over the
//! shards that trade a symbol, the remainder to the first, like opening funds: the shares add
//! up to the limit, so the account as a whole never exceeds it, at the price that one shard
//! may refuse while another still has room. Concentration compares one instrument with the
//! account's whole working notional, which no single shard sees; with more than one trading
//! shard it cannot be enforced and is refused (`unsupported_limit`) rather than enforced
//! wrongly.
//!
//! `PUT` sends each trading shard its share and answers once all have applied it. `GET`
//! puts back together what the shards last reported (`limits` risk events).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use oms_core::prelude::*;
use oms_http::limits::{AccountQuery, limits_json, parse_limits};
use oms_http::problem::Problem;
use oms_kafka::messages::LimitsMessage;

use super::commands::{Access, decide_on_shards, write};
use super::{Shared, caller};
use crate::roles::fold::{FoldError, limits_state};
use crate::roles::latest::Latest;

/// Concentration at this many basis points checks nothing.
const CONCENTRATION_OFF_BPS: u32 = 10_000;

/// The limits each shard last reported for each account, with the sequence they are as of.
#[derive(Debug, Default)]
pub struct ShardLimits {
    latest: Latest<(AccountId, u32), RiskLimits>,
}

impl ShardLimits {
    /// A shard's report replaces its previous one, unless a failover republished an older
    /// one (a shard's sequences only grow). `Ok(false)` for such a stale report.
    pub fn apply(&mut self, m: &LimitsMessage) -> Result<bool, FoldError> {
        let state = limits_state(m)?;
        Ok(self.latest.offer((state.account, state.shard), state.sequence, state.limits))
    }

    /// `account`'s limits as the shards enforce them together: the divided ones summed, the
    /// per-order ones at their strictest. `None` until a shard reported any.
    pub fn of(&self, account: AccountId) -> Option<RiskLimits> {
        self.latest.iter().filter(|((owner, _), _)| *owner == account).map(|(_, limits)| *limits).reduce(|a, b| {
            RiskLimits {
                order_quantity_max_base: a.order_quantity_max_base.min(b.order_quantity_max_base),
                order_notional_max_quote: a.order_notional_max_quote.min(b.order_notional_max_quote),
                position_max_base: a.position_max_base.min(b.position_max_base),
                open_orders_max: a.open_orders_max.saturating_add(b.open_orders_max),
                orders_per_window_max: a.orders_per_window_max.saturating_add(b.orders_per_window_max),
                rate_window_ns: a.rate_window_ns.min(b.rate_window_ns),
                daily_loss_max_quote: a.daily_loss_max_quote.saturating_add(b.daily_loss_max_quote),
                concentration_max_bps: a.concentration_max_bps.min(b.concentration_max_bps),
                concentration_floor_quote: a.concentration_floor_quote.min(b.concentration_floor_quote),
            }
        })
    }
}

/// Shard number `index` of `shards` trading shards: its share of account-wide `limits`.
pub fn share(limits: &RiskLimits, shards: u32, index: u32) -> RiskLimits {
    let shards = shards.max(1);
    let part = |total: u64| total / u64::from(shards) + u64::from(u64::from(index) < total % u64::from(shards));
    // A share is at most its total; a negative total (which the engine refuses) stays whole.
    let part_i64 = |total: i64| u64::try_from(total).ok().and_then(|t| i64::try_from(part(t)).ok()).unwrap_or(total);
    let part_u32 = |total: u32| u32::try_from(part(u64::from(total))).unwrap_or(total);
    RiskLimits {
        open_orders_max: part_u32(limits.open_orders_max),
        orders_per_window_max: part_u32(limits.orders_per_window_max),
        daily_loss_max_quote: part_i64(limits.daily_loss_max_quote),
        ..*limits
    }
}

/// `GET /api/risk/limits`: the caller's limits as the shards last reported them; the
/// defaults until any were set, as with `--role all`.
pub(super) async fn limits(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let result = (|| {
        let principal = caller(&state, &headers)?;
        let limits = state.view()?.limits_of(principal.account).unwrap_or_default();
        Ok::<_, Problem>(Json(limits_json(&limits)).into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `PUT /api/risk/limits?accountId=` (admin): each trading shard gets its share; 200 with
/// the limits once every shard applied its share, 422 with the first refusal, 504 when a
/// shard did not answer in time (then some shards may hold the new share: repeating the
/// request is harmless), 409 when the market has no instrument (no shard trades).
pub(super) async fn set_limits(
    State(state): State<Shared>,
    headers: HeaderMap,
    query: Result<Query<AccountQuery>, QueryRejection>,
    body: axum::body::Bytes,
) -> Response {
    let named = query.as_ref().map_or_else(|e| e.body_text(), |q| format!("{:?}", q.0));
    let request = axum::body::Bytes::from([named.as_bytes(), b"\n", &body].concat());
    write(state, &headers, &request, Access::Admin, move |task, _| async move {
        let result = async {
            let Query(query) = query.map_err(|e| Problem::bad_request("invalid_query", e.body_text()))?;
            let account = query.account()?;
            let limits = parse_limits(&body)?;
            let trading: Vec<(i32, Symbol)> =
                (0..task.partitions).filter_map(|shard| Some((shard, task.symbols_of(shard).next()?))).collect();
            if trading.is_empty() {
                // Limits live on the shards that trade; with none, there is nowhere to keep
                // them (and nothing they could limit): say so rather than answer 200.
                return Err(Problem::new(
                    StatusCode::CONFLICT,
                    "no_trading_shard",
                    "the market defines no instrument, so no shard trades and none can hold limits",
                ));
            }
            if trading.len() > 1 && limits.concentration_max_bps < CONCENTRATION_OFF_BPS {
                return Err(Problem::bad_request(
                    "unsupported_limit",
                    "concentrationMaxBps below 10000 needs the account's whole working notional, which no shard \
                     of a split deployment sees; set 10000 (off)",
                ));
            }
            let shards = u32::try_from(trading.len()).unwrap_or(u32::MAX);
            let commands = (0..shards).zip(trading).map(|(index, (partition, symbol))| {
                let share = share(&limits, shards, index);
                (partition, Some(symbol), Action::SetRiskLimits(SetRiskLimits { account, limits: share }))
            });
            decide_on_shards(&task, commands).await?;
            Ok::<_, Problem>(Json(limits_json(&limits)).into_response())
        }
        .await;
        result.unwrap_or_else(IntoResponse::into_response)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RiskLimits {
        RiskLimits {
            order_quantity_max_base: 100,
            order_notional_max_quote: 5_000,
            position_max_base: 300,
            open_orders_max: 25,
            orders_per_window_max: 7,
            rate_window_ns: 1_000_000_000,
            daily_loss_max_quote: 1_000_001,
            concentration_max_bps: 10_000,
            concentration_floor_quote: 0,
        }
    }

    #[test]
    fn shares_add_up_to_the_account_wide_limit_and_per_order_limits_stay_whole() {
        for total in
            [limits(), RiskLimits::PERMISSIVE, RiskLimits { open_orders_max: 1, daily_loss_max_quote: 0, ..limits() }]
        {
            for shards in 1..=12 {
                let parts: Vec<RiskLimits> = (0..shards).map(|i| share(&total, shards, i)).collect();
                let open: u64 = parts.iter().map(|p| u64::from(p.open_orders_max)).sum();
                let rate: u64 = parts.iter().map(|p| u64::from(p.orders_per_window_max)).sum();
                let loss: i128 = parts.iter().map(|p| i128::from(p.daily_loss_max_quote)).sum();
                assert_eq!(open, u64::from(total.open_orders_max), "{shards} shards");
                assert_eq!(rate, u64::from(total.orders_per_window_max), "{shards} shards");
                assert_eq!(loss, i128::from(total.daily_loss_max_quote), "{shards} shards");
                for p in &parts {
                    assert_eq!(
                        (p.order_quantity_max_base, p.order_notional_max_quote, p.position_max_base, p.rate_window_ns),
                        (
                            total.order_quantity_max_base,
                            total.order_notional_max_quote,
                            total.position_max_base,
                            total.rate_window_ns
                        )
                    );
                    // No share is more than one above another: the remainder is spread.
                    assert!(p.open_orders_max >= parts[0].open_orders_max.saturating_sub(1));
                }
            }
        }
    }

    fn report(shard: u32, sequence: u64, limits: &RiskLimits) -> LimitsMessage {
        LimitsMessage {
            v: 1,
            command_id: None,
            sequence: sequence.to_string(),
            shard,
            account_id: "7".to_owned(),
            limits: oms_kafka::messages::LimitsFields::from_limits(limits),
        }
    }

    #[test]
    fn the_shards_reports_put_the_account_wide_limits_back_together() {
        let total = limits();
        let mut book = ShardLimits::default();
        assert_eq!(book.of(AccountId(7)), None, "nothing reported yet");
        assert!(book.apply(&report(0, 10, &share(&total, 2, 0))).expect("shard 0"));
        assert!(book.apply(&report(1, 11, &share(&total, 2, 1))).expect("shard 1"));
        assert_eq!(book.of(AccountId(7)), Some(total));
        assert_eq!(book.of(AccountId(8)), None, "per account");

        // A republished older report does not replace a newer one.
        let older = RiskLimits { open_orders_max: 1, ..share(&total, 2, 0) };
        assert!(!book.apply(&report(0, 9, &older)).expect("older"));
        assert_eq!(book.of(AccountId(7)), Some(total));

        let mut bad = report(0, 12, &total);
        bad.limits.daily_loss_max = "-1".to_owned();
        assert!(book.apply(&bad).is_err(), "unrepresentable");
        assert_eq!(book.of(AccountId(7)), Some(total), "and it changed nothing");
    }
}
