//! The ingress's write routes: each publishes commands on `orders` and answers from their
//! decisions on `executions` ([`Ingress::decide`]).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use oms_core::prelude::*;
use oms_http::auth::Principal;
use oms_http::dto::{AmendBody, KillSwitchBody, PlaceOrder};
use oms_http::problem::Problem;
use oms_http::reads;
use oms_kafka::PublishError;
use oms_kafka::messages::{CommandResultMessage, ExecutionMessage, InboundCommand, OutboundMessage, encode_command};
use serde_json::{Value, json};

use crate::roles::engine::SHARD_SEQUENCE_BITS;

use super::{DECISION_TIMEOUT, Ingress, Shared, caller};

/// `POST /api/orders`: a `newOrder` command on the symbol's partition, answered with the
/// order as its decision left it.
pub(super) async fn place(State(state): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let request = body.clone();
    write(state, &headers, &request, Access::Account, move |task, principal| async move {
        place_once(&task, principal, &body).await
    })
    .await
}

async fn place_once(state: &Ingress, principal: Principal, body: &[u8]) -> Response {
    let result = async {
        let order: PlaceOrder = serde_json::from_slice(body)
            .map_err(|e| Problem::bad_request("invalid_body", format!("order body: {e}")))?;
        let command_id = state.command_id();
        let new_order = order.to_new_order(&state.catalog, principal.account, &command_id)?;
        let symbol = Symbol::new(&order.symbol).map_err(|e| Problem::bad_request("unknown_symbol", e.to_string()))?;
        let command = InboundCommand {
            command_id: oms_kafka::messages::CommandId::new(&command_id)
                .map_err(|e| Problem::bad_request("invalid_command", e.to_string()))?,
            symbol: Some(symbol),
            action: Action::NewOrder(new_order),
        };
        let messages = state.decide(&command, None).await?;
        state.placed.fetch_add(1, Ordering::Relaxed);
        state.placed_order(principal, &new_order, &messages)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `DELETE /api/orders/{id}`: a `cancelOrder` command to the shard the order id names.
pub(super) async fn cancel(State(state): State<Shared>, headers: HeaderMap, Path(order_id): Path<String>) -> Response {
    let request = axum::body::Bytes::from(format!("DELETE {order_id}"));
    write(state, &headers, &request, Access::Account, move |task, principal| async move {
        cancel_once(&task, principal, &order_id).await
    })
    .await
}

async fn cancel_once(state: &Ingress, principal: Principal, order_id: &str) -> Response {
    let result = async {
        let id = reads::parse_order_id(order_id)?;
        let (shard, symbol) = state.shard_of(id)?;
        let action = Action::CancelOrder(CancelOrder { account: principal.account, order_id: id });
        let messages = state.decide(&state.command(Some(symbol), action)?, Some(shard)).await?;
        state.changed_order(principal, id, &messages)
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `PATCH /api/orders/{id}`: new price and/or quantity of a working order.
pub(super) async fn amend(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(order_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut keyed = body.to_vec();
    keyed.extend_from_slice(order_id.as_bytes());
    let request = axum::body::Bytes::from(keyed);
    write(state, &headers, &request, Access::Account, move |task, principal| async move {
        let result = async {
            let id = reads::parse_order_id(&order_id)?;
            let change: AmendBody = serde_json::from_slice(&body)
                .map_err(|e| Problem::bad_request("invalid_body", format!("amend body: {e}")))?;
            // The order's instrument sets the ticks and lots; an order this ingress has
            // not seen (or another account's) is unknown.
            let instrument = {
                let view = task.view()?;
                let record = view.history().order(id).filter(|r| r.order.account == principal.account);
                record
                    .ok_or_else(|| Problem::not_found("unknown_order", format!("no order {order_id}")))?
                    .order
                    .instrument
            };
            let listing = task
                .catalog
                .listing(instrument)
                .ok_or_else(|| Problem::not_found("unknown_symbol", "instrument gone"))?;
            let action = Action::AmendOrder(change.to_amend(&listing.instrument, principal.account, id)?);
            let (shard, _) = task.shard_of(id)?;
            let symbol = listing.instrument.spec().symbol;
            let messages = task.decide(&task.command(Some(symbol), action)?, Some(shard)).await?;
            task.changed_order(principal, id, &messages)
        }
        .await;
        result.unwrap_or_else(IntoResponse::into_response)
    })
    .await
}

/// `DELETE /api/orders?symbol=`: cancels the caller's working orders of one symbol (on
/// its shard) or of every symbol (one command per shard, all awaited).
pub(super) async fn cancel_all(
    State(state): State<Shared>,
    headers: HeaderMap,
    query: Result<Query<reads::SymbolQuery>, QueryRejection>,
) -> Response {
    let symbol = query.as_ref().ok().and_then(|q| q.0.symbol.clone());
    let request = axum::body::Bytes::from(format!("DELETE all {symbol:?}"));
    write(state, &headers, &request, Access::Account, move |task, principal| async move {
        let result = async {
            let Query(query) = query.map_err(|e| Problem::bad_request("invalid_query", e.body_text()))?;
            let targets: Vec<(Option<Symbol>, Option<InstrumentId>, i32)> = match &query.symbol {
                Some(text) => {
                    let (instrument, listing) = task
                        .catalog
                        .by_symbol(text)
                        .ok_or_else(|| Problem::not_found("unknown_symbol", format!("no instrument {text:?}")))?;
                    let symbol = listing.instrument.spec().symbol;
                    let partition = task.partition_of(symbol);
                    vec![(Some(symbol), Some(instrument), partition)]
                }
                None => (0..task.partitions).map(|p| (None, None, p)).collect(),
            };
            let mut decisions = tokio::task::JoinSet::new();
            for (symbol, instrument, partition) in targets {
                let task = Arc::clone(&task);
                decisions.spawn(async move {
                    let action = Action::MassCancel(MassCancel { account: principal.account, instrument });
                    task.decide(&task.command(symbol, action)?, Some(partition)).await
                });
            }
            let mut cancelled = Vec::new();
            while let Some(joined) = decisions.join_next().await {
                let messages = joined.map_err(|_| Problem::unavailable("unavailable", "cancel task failed"))?;
                for message in messages? {
                    if let ExecutionMessage::OrderCancelled(m) = message
                        && let Ok(id) = reads::parse_order_id(&m.order_id)
                    {
                        cancelled.push(id);
                    }
                }
            }
            let view = task.view()?;
            let orders: Vec<Value> = cancelled
                .iter()
                .filter_map(|id| view.history().order(*id))
                .map(|record| reads::order_json(&task.catalog, record))
                .collect();
            Ok::<_, Problem>(Json(json!({ "cancelled": orders })).into_response())
        }
        .await;
        result.unwrap_or_else(IntoResponse::into_response)
    })
    .await
}

/// `POST /api/admin/kill-switch` (admin): one command per `orders` partition, since each
/// shard holds its own books and must stop them; answered when every shard has applied it,
/// 422 with the first refusal otherwise. A shard that did not answer in time makes it a 504:
/// the switch may then be set on some shards only, and the admin repeats the request
/// (setting a switch twice is harmless).
pub(super) async fn kill_switch(State(state): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let request = body.clone();
    write(state, &headers, &request, Access::Admin, move |task, _| async move {
        let result = async {
            let request: KillSwitchBody = serde_json::from_slice(&body)
                .map_err(|e| Problem::bad_request("invalid_body", format!("kill switch body: {e}")))?;
            let action = Action::KillSwitch(request.to_kill_switch()?);
            decide_on_shards(&task, (0..task.partitions).map(|partition| (partition, None, action))).await?;
            Ok::<_, Problem>(Json(request.reply_json()).into_response())
        }
        .await;
        result.unwrap_or_else(IntoResponse::into_response)
    })
    .await
}

/// Sends one command to each shard named, `(partition, routing symbol, action)`, and waits
/// for every decision: `Ok` once all applied theirs, 422 with the first refusal. Other
/// shards may have applied theirs by then (the callers document that repeating is harmless).
pub(super) async fn decide_on_shards(
    task: &Shared,
    commands: impl IntoIterator<Item = (i32, Option<Symbol>, Action)>,
) -> Result<(), Problem> {
    let mut decisions = tokio::task::JoinSet::new();
    for (partition, symbol, action) in commands {
        let task = Arc::clone(task);
        decisions.spawn(async move { task.decide(&task.command(symbol, action)?, Some(partition)).await });
    }
    let mut refusal = None;
    while let Some(joined) = decisions.join_next().await {
        let messages = joined.map_err(|_| Problem::unavailable("unavailable", "a shard's decision task failed"))??;
        refusal = refusal.or_else(|| refusal_of(&messages));
    }
    match refusal {
        Some(code) => Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, &code, format!("refused: {code}"))),
        None => Ok(()),
    }
}

/// Who may call a write route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    /// Any API key: the command acts for the key's account.
    Account,
    /// Admin keys only (403 otherwise).
    Admin,
}

/// The frame of every write route: authenticate (401, or 403 for a non-admin on an admin
/// route), then run `once` for the caller under the request's `Idempotency-Key`, whose
/// stored answer must match `request` (the body, or what stands for it).
pub(super) async fn write<F, Fut>(
    state: Shared,
    headers: &HeaderMap,
    request: &axum::body::Bytes,
    access: Access,
    once: F,
) -> Response
where
    F: FnOnce(Shared, Principal) -> Fut,
    Fut: Future<Output = Response> + Send + 'static,
{
    let principal = match caller(&state, headers) {
        Ok(principal) if access == Access::Admin && !principal.admin => return Problem::forbidden().into_response(),
        Ok(principal) => principal,
        Err(problem) => return problem.into_response(),
    };
    let task = Arc::clone(&state);
    state.idempotency.run(principal.account, headers, request, move || once(task, principal)).await
}

impl Ingress {
    /// The shard (partition) an order id names, and a symbol of that shard to key by.
    fn shard_of(&self, id: OrderId) -> Result<(i32, Symbol), Problem> {
        let unknown = || Problem::not_found("unknown_order", format!("no order {}", id.0));
        let shard =
            (id.0 >> SHARD_SEQUENCE_BITS).checked_sub(1).and_then(|s| i32::try_from(s).ok()).ok_or_else(unknown)?;
        // Any symbol of the shard routes there; the engine decides on the order id and owner.
        let symbol = self.symbols_of(shard).next().ok_or_else(unknown)?;
        Ok((shard, symbol))
    }

    /// A command with a fresh command id.
    pub(super) fn command(&self, symbol: Option<Symbol>, action: Action) -> Result<InboundCommand, Problem> {
        let command_id = oms_kafka::messages::CommandId::new(&self.command_id())
            .map_err(|e| Problem::bad_request("invalid_command", e.to_string()))?;
        Ok(InboundCommand { command_id, symbol, action })
    }

    /// A cancel's or amend's answer, as `--role all` gives it: the order as it now stands,
    /// or the engine's refusal as a problem (404 for an order that is not working, 422
    /// otherwise).
    fn changed_order(
        &self,
        principal: Principal,
        id: OrderId,
        messages: &[ExecutionMessage],
    ) -> Result<Response, Problem> {
        if let Some(code) = refusal_of(messages) {
            return Err(if code == RejectReason::UnknownOrder.code() {
                Problem::not_found("unknown_order", format!("no working order {}", id.0))
            } else {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, &code, format!("refused: {code}"))
            });
        }
        let view = self.view()?;
        let record = view.history().order(id).filter(|r| r.order.account == principal.account);
        let record = record.ok_or_else(|| Problem::not_found("unknown_order", "order not found"))?;
        Ok(Json(reads::order_json(&self.catalog, record)).into_response())
    }

    /// The answer to a placed order, as `--role all` gives it: the order as the view folded
    /// it (the decision's messages are folded before its client is woken) with its fills,
    /// oldest first; 200 with `status: REJECTED` when the engine refused it.
    fn placed_order(
        &self,
        principal: Principal,
        request: &NewOrder,
        messages: &[ExecutionMessage],
    ) -> Result<Response, Problem> {
        let lost = |what: String| Problem::unavailable("unavailable", what);
        let result = command_result(messages)?;
        let sequence = oms_kafka::messages::wire::parse_order_id("sequence", &result.header.sequence)
            .map_err(|e| lost(e.to_string()))?;
        let id = match &result.order_id {
            Some(text) => {
                oms_kafka::messages::wire::parse_order_id("orderId", text).map_err(|e| lost(e.to_string()))?
            }
            None => sequence,
        };
        // As `--role all`: refused only when the order itself was (a reason can also name
        // another order the command touched, a triggered stop say, while this one traded).
        let refused =
            result.reject_reason.as_ref().filter(|_| result.status.as_deref() == Some(OrderStatus::Rejected.code()));
        if let Some(code) = refused {
            let mut record = reads::rejected_order(id, request);
            record.reject_reason = RejectReason::from_code(code);
            let mut order = reads::placed_order_json(&self.catalog, &record, []);
            // A reason this build does not know (a newer engine) is still shown as sent.
            order["rejectReason"] = Value::from(code.as_str());
            self.view()?.insert_rejected(record);
            return Ok((StatusCode::OK, Json(order)).into_response());
        }
        let view = self.view()?;
        let history = view.history();
        let record = history
            .order(id)
            .filter(|r| r.order.account == principal.account)
            .ok_or_else(|| lost(format!("order {} was decided but is not in the read model", id.0)))?;
        // Newest first; this order's fills are all from its own command or later.
        let fills: Vec<_> = history
            .executions_of(principal.account)
            .take_while(|e| e.sequence >= sequence.0)
            .filter(|e| e.order_id == id)
            .collect();
        Ok((StatusCode::CREATED, Json(reads::placed_order_json(&self.catalog, record, fills.into_iter().rev())))
            .into_response())
    }

    pub(super) fn command_id(&self) -> String {
        format!("{}-{}", self.instance, self.next_command.fetch_add(1, Ordering::Relaxed))
    }

    /// Publishes `command` and waits for all its `executions` messages.
    pub(super) async fn decide(
        &self,
        command: &InboundCommand,
        partition: Option<i32>,
    ) -> Result<Vec<ExecutionMessage>, Problem> {
        let message = encode_command(command, &self.reference)
            .map_err(|e| Problem::bad_request("invalid_order", e.to_string()))?;
        self.decide_message(command.command_id.as_str(), &message, partition).await
    }

    /// Publishes `message` (command `id`, encoded) and waits for all its `executions`
    /// messages: the admission bound, the delivery report and the decision timeout, each
    /// answered as a problem.
    pub(super) async fn decide_message(
        &self,
        id: &str,
        message: &OutboundMessage,
        partition: Option<i32>,
    ) -> Result<Vec<ExecutionMessage>, Problem> {
        let id = id.to_owned();
        let expected = self
            .waiting
            .lock()
            .map_err(|_| Problem::unavailable("unavailable", "ingress state"))?
            .expect(&id, self.waiting_max);
        let Some(decided) = expected else {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Problem::unavailable("overloaded", "too many commands waiting for decisions"));
        };
        let published = match partition {
            Some(p) => self.producer.publish_to(&self.orders_topic, Some(p), &message.key, &message.payload),
            None => self.producer.publish_message(message),
        };
        let receipt = match published {
            Ok(receipt) => receipt,
            Err(e) => {
                self.forget(&id);
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Err(match e {
                    PublishError::Backpressure => Problem::unavailable("backpressure", "order queue full; retry later"),
                    other => Problem::unavailable("kafka_unavailable", other.to_string()),
                });
            }
        };
        // A failed delivery (the broker refused it, or was unreachable for the delivery
        // timeout) is answered at once rather than after the decision timeout: almost surely
        // not applied. Only a request in flight when the broker went away can have been
        // written without an acknowledgement, hence "check before retrying".
        let decision = async {
            tokio::pin!(decided);
            let messages = tokio::select! {
                decided = &mut decided => decided,
                delivery = receipt => match delivery {
                    Ok(landed) => {
                        // A new owner republishing this decision names it by position only.
                        if let Ok(mut waiting) = self.waiting.lock() {
                            waiting.landed(&id, landed.partition, landed.offset);
                        }
                        decided.await
                    }
                    Err(e) => return Err(Some(e)),
                },
            };
            // The sender dropped: the waiter is gone, as after a timeout.
            messages.map_err(|_| None)
        };
        match tokio::time::timeout(DECISION_TIMEOUT, decision).await {
            Ok(Ok(messages)) => Ok(messages),
            Ok(Err(Some(undelivered))) => {
                self.forget(&id);
                self.refused.fetch_add(1, Ordering::Relaxed);
                Err(Problem::unavailable(
                    "kafka_unavailable",
                    format!(
                        "the command was not delivered to Kafka ({undelivered}); it is most likely not applied: \
                         retry with the same Idempotency-Key, or check the order by its clientOrderId first"
                    ),
                ))
            }
            Ok(Err(None)) | Err(_) => {
                self.forget(&id);
                self.timeouts.fetch_add(1, Ordering::Relaxed);
                Err(Problem::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "decision_timeout",
                    "no decision in time; the command may still be applied (check the order by its clientOrderId)",
                ))
            }
        }
    }

    fn forget(&self, id: &str) {
        if let Ok(mut waiting) = self.waiting.lock() {
            waiting.forget(id);
        }
    }
}

/// A decision's `commandResult` (always its last message); 503 if it is missing.
pub(super) fn command_result(messages: &[ExecutionMessage]) -> Result<&CommandResultMessage, Problem> {
    messages
        .iter()
        .find_map(|m| match m {
            ExecutionMessage::CommandResult(r) => Some(r),
            _ => None,
        })
        .ok_or_else(|| Problem::unavailable("unavailable", "the decision came without its commandResult"))
}

/// The engine's refusal code of a command, from its `commandResult`.
pub(super) fn refusal_of(messages: &[ExecutionMessage]) -> Option<String> {
    messages.iter().find_map(|m| match m {
        ExecutionMessage::CommandResult(result) => result.reject_reason.clone(),
        _ => None,
    })
}
