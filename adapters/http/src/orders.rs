//! Order routes: place, read, list, cancel, amend, cancel-all, executions.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use oms_core::model::{Action, CancelOrder, MassCancel, OrderId, OrderStatus, RejectReason};
use serde_json::json;

use crate::AppState;
use crate::auth::Caller;
use crate::dto::{AmendBody, PlaceOrder};
use crate::problem::Problem;
use crate::reads::{
    self, ExecutionQuery, OrderFilter, OrderQuery, SymbolQuery, page_limit, parse_order_id, symbol_filter,
};
use crate::render;

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Problem> {
    serde_json::from_slice(body).map_err(|e| {
        let code = if e.is_syntax() || e.is_eof() { "invalid_json" } else { "invalid_field" };
        Problem::bad_request(code, e.to_string())
    })
}

pub(crate) fn respond(result: Result<Response, Problem>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /api/orders`.
#[utoipa::path(post, path = "/api/orders", request_body = crate::dto::PlaceOrder, params(("Idempotency-Key" = Option<String>, Header, description = "replays the first response")), responses((status = 201, body = crate::openapi::OrderView, description = "accepted (possibly filled)"), (status = 200, body = crate::openapi::OrderView, description = "refused by the engine: status REJECTED"), (status = 400, body = crate::openapi::ProblemView), (status = 401, body = crate::openapi::ProblemView), (status = 422, body = crate::openapi::ProblemView), (status = 429, body = crate::openapi::ProblemView), (status = 503, body = crate::openapi::ProblemView)), security(("api_key" = [])))]
pub(crate) async fn place(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let task_state = state.clone();
    let task_body = body.clone();
    state
        .0
        .idempotency
        .run(caller.account, &headers, &body, move || async move {
            respond(place_inner(&task_state, caller.account, &task_body).await)
        })
        .await
}

async fn place_inner(state: &AppState, account: oms_core::model::AccountId, body: &Bytes) -> Result<Response, Problem> {
    let request: PlaceOrder = parse_json(body).inspect_err(|p| state.0.metrics.order("invalid", &p.code))?;
    let generated = state.generated_client_order_id();
    let new_order = request
        .to_new_order(&state.catalog(), account, &generated)
        .inspect_err(|p| state.0.metrics.order("invalid", &p.code))?;
    let ticket = state.submit(Action::NewOrder(new_order))?;
    let outcome = state.outcome(ticket).await?;
    state.projected(&outcome).await;
    let id = OrderId(ticket.sequence.0);
    if let Some(reason) = outcome.reject.filter(|_| outcome.status == Some(OrderStatus::Rejected)) {
        state.0.metrics.order("rejected", reason.code());
        let order = crate::reads::rejected_order(id, &new_order).order;
        state.0.history.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert_rejected(order, reason);
        let history = state.history();
        let record = history.order(id).ok_or_else(|| Problem::unavailable("unavailable", "order not projected"))?;
        return Ok(
            (StatusCode::OK, Json(crate::reads::placed_order_json(&state.catalog(), record, []))).into_response()
        );
    }
    state.0.metrics.order("accepted", "none");
    let history = state.history();
    let catalog = state.catalog();
    let record = history.order(id).ok_or_else(|| Problem::unavailable("unavailable", "order not projected"))?;
    let fills: Vec<_> = history
        .executions_of(account)
        .take_while(|e| e.sequence >= ticket.sequence.0)
        .filter(|e| e.order_id == id)
        .collect();
    Ok((StatusCode::CREATED, Json(crate::reads::placed_order_json(&catalog, record, fills.into_iter().rev())))
        .into_response())
}

/// `GET /api/orders/{orderId}`.
#[utoipa::path(get, path = "/api/orders/{orderId}", params(("orderId" = String, Path)), responses((status = 200, body = crate::openapi::OrderView), (status = 404, body = crate::openapi::ProblemView)), security(("api_key" = [])))]
pub(crate) async fn get_one(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(order_id): Path<String>,
) -> Response {
    respond(
        async {
            let id = parse_order_id(&order_id)?;
            let in_memory = state.history().order(id).filter(|r| r.order.account == caller.account).cloned();
            let record = match (in_memory, &state.0.external.archive) {
                (Some(record), _) => Some(record),
                (None, Some(archive)) if state.history().orders_evicted(caller.account) => {
                    archive.order(caller.account, id).await.map_err(archive_problem)?
                }
                (None, _) => None,
            };
            let record = record.ok_or_else(|| Problem::not_found("unknown_order", format!("no order {order_id}")))?;
            Ok(Json(render::order(&state.catalog(), &record, None)).into_response())
        }
        .await,
    )
}

fn archive_problem(error: crate::external::ArchiveError) -> Problem {
    Problem::unavailable("history_unavailable", error.to_string())
}

/// `GET /api/orders`.
#[utoipa::path(get, path = "/api/orders", params(("symbol" = Option<String>, Query), ("status" = Option<String>, Query, description = "open | closed | all"), ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, body = crate::openapi::OrderList)), security(("api_key" = [])))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    query: Result<Query<OrderQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    respond(
        async {
            let Query(query) = query.map_err(|e| Problem::bad_request("invalid_query", e.body_text()))?;
            let filter = OrderFilter::new(&state.catalog(), &query)?;
            let (mut page, evicted) = {
                let history = state.history();
                (filter.from_history(&history, caller.account), history.orders_evicted(caller.account))
            };
            // Older than memory holds: continue the page from the archive (MongoDB).
            if page.len() <= filter.limit
                && evicted
                && let Some(archive) = &state.0.external.archive
            {
                let query = crate::external::ArchiveOrderQuery {
                    account: caller.account,
                    instrument: filter.instrument,
                    open: filter.open,
                    before: page.last().map(|r| r.order.id.0).or(filter.before),
                    limit: filter.limit + 1 - page.len(),
                };
                page.extend(archive.orders(query).await.map_err(archive_problem)?);
            }
            Ok(Json(filter.page_json(&state.catalog(), &page)).into_response())
        }
        .await,
    )
}

/// `DELETE /api/orders/{orderId}`.
#[utoipa::path(delete, path = "/api/orders/{orderId}", params(("orderId" = String, Path)), responses((status = 200, body = crate::openapi::OrderView), (status = 404, body = crate::openapi::ProblemView)), security(("api_key" = [])))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let task_state = state.clone();
    state
        .0
        .idempotency
        .run(caller.account, &headers, &Bytes::from(format!("DELETE {order_id}")), move || async move {
            respond(
                async {
                    let id = parse_order_id(&order_id)?;
                    let outcome = task_state
                        .execute(Action::CancelOrder(CancelOrder { account: caller.account, order_id: id }))
                        .await?;
                    order_reply(&task_state, caller.account, id, outcome.reject)
                }
                .await,
            )
        })
        .await
}

/// `PATCH /api/orders/{orderId}`.
#[utoipa::path(patch, path = "/api/orders/{orderId}", params(("orderId" = String, Path)), request_body = crate::dto::AmendBody, responses((status = 200, body = crate::openapi::OrderView), (status = 404, body = crate::openapi::ProblemView), (status = 422, body = crate::openapi::ProblemView)), security(("api_key" = [])))]
pub(crate) async fn amend(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let task_state = state.clone();
    let task_body = body.clone();
    let mut keyed = body.to_vec();
    keyed.extend_from_slice(order_id.as_bytes());
    state
        .0
        .idempotency
        .run(caller.account, &headers, &Bytes::from(keyed), move || async move {
            respond(
                async {
                    let id = parse_order_id(&order_id)?;
                    let request: AmendBody = parse_json(&task_body)?;
                    let instrument = {
                        let history = task_state.history();
                        let record = history
                            .order(id)
                            .filter(|r| r.order.account == caller.account)
                            .ok_or_else(|| Problem::not_found("unknown_order", format!("no order {order_id}")))?;
                        record.order.instrument
                    };
                    let amend = {
                        let catalog = task_state.catalog();
                        let listing = catalog
                            .listing(instrument)
                            .ok_or_else(|| Problem::not_found("unknown_symbol", "instrument gone"))?;
                        request.to_amend(&listing.instrument, caller.account, id)?
                    };
                    let outcome = task_state.execute(Action::AmendOrder(amend)).await?;
                    order_reply(&task_state, caller.account, id, outcome.reject)
                }
                .await,
            )
        })
        .await
}

/// The order after a cancel or amend, or the engine's refusal.
fn order_reply(
    state: &AppState,
    account: oms_core::model::AccountId,
    id: OrderId,
    reject: Option<RejectReason>,
) -> Result<Response, Problem> {
    if let Some(reason) = reject {
        return Err(match reason {
            RejectReason::UnknownOrder => Problem::not_found("unknown_order", format!("no working order {}", id.0)),
            other => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, other.code(), other.to_string()),
        });
    }
    let history = state.history();
    let record = history
        .order(id)
        .filter(|r| r.order.account == account)
        .ok_or_else(|| Problem::not_found("unknown_order", "order not found"))?;
    Ok(Json(render::order(&state.catalog(), record, None)).into_response())
}

/// `DELETE /api/orders?symbol=`.
#[utoipa::path(delete, path = "/api/orders", params(("symbol" = Option<String>, Query)), responses((status = 200, body = crate::openapi::CancelledList)), security(("api_key" = [])))]
pub(crate) async fn cancel_all(
    State(state): State<AppState>,
    Caller(caller): Caller,
    query: Result<Query<SymbolQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let task_state = state.clone();
    let key_body = Bytes::from(format!("DELETE all {:?}", query.as_ref().ok().and_then(|q| q.symbol.clone())));
    state
        .0
        .idempotency
        .run(caller.account, &headers, &key_body, move || async move {
            respond(
                async {
                    let Query(query) = query.map_err(|e| Problem::bad_request("invalid_query", e.body_text()))?;
                    let instrument = match &query.symbol {
                        Some(symbol) => Some(
                            task_state
                                .catalog()
                                .by_symbol(symbol)
                                .ok_or_else(|| {
                                    Problem::not_found("unknown_symbol", format!("no instrument {symbol:?}"))
                                })?
                                .0,
                        ),
                        None => None,
                    };
                    let open: Vec<OrderId> = task_state
                        .history()
                        .orders_of(caller.account, |r| {
                            !r.order.status.is_final() && instrument.is_none_or(|i| r.order.instrument == i)
                        })
                        .map(|r| r.order.id)
                        .collect();
                    task_state.execute(Action::MassCancel(MassCancel { account: caller.account, instrument })).await?;
                    let history = task_state.history();
                    let catalog = task_state.catalog();
                    let cancelled: Vec<_> = open
                        .iter()
                        .filter_map(|id| history.order(*id))
                        .filter(|r| r.order.status == OrderStatus::Cancelled)
                        .map(|r| render::order(&catalog, r, None))
                        .collect();
                    Ok(Json(json!({ "cancelled": cancelled })).into_response())
                }
                .await,
            )
        })
        .await
}

/// Query of `GET /api/executions`.
/// `GET /api/executions`.
#[utoipa::path(get, path = "/api/executions", params(("symbol" = Option<String>, Query), ("limit" = Option<usize>, Query)), responses((status = 200, body = crate::openapi::ExecutionList)), security(("api_key" = [])))]
pub(crate) async fn executions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    query: Result<Query<ExecutionQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    respond(
        async {
            let Query(query) = query.map_err(|e| Problem::bad_request("invalid_query", e.body_text()))?;
            let limit = page_limit(query.limit)?;
            let instrument = symbol_filter(&state.catalog(), query.symbol.as_deref())?;
            let (mut fills, evicted): (Vec<_>, bool) = {
                let history = state.history();
                let fills = history
                    .executions_of(caller.account)
                    .filter(|e| instrument.is_none_or(|i| e.instrument == i))
                    .take(limit)
                    .copied()
                    .collect();
                (fills, history.executions_evicted(caller.account))
            };
            if fills.len() < limit
                && evicted
                && let Some(archive) = &state.0.external.archive
            {
                // Fills of one command share its sequence; the archive answers strictly older
                // commands, so a command split by the memory bound is taken whole from memory.
                let oldest = fills.last().map(|e| e.sequence);
                let older = archive
                    .executions(caller.account, instrument, oldest, limit - fills.len())
                    .await
                    .map_err(archive_problem)?;
                fills.extend(older);
            }
            Ok(Json(reads::executions_json(&state.catalog(), &fills)).into_response())
        }
        .await,
    )
}
