//! Account, risk and admin routes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use oms_core::model::{Action, SetRiskLimits};
use serde_json::json;

use crate::AppState;
use crate::auth::{Admin, Caller};
use crate::dto::PlaceOrder;
use crate::limits::{limits_json, parse_limits};
use crate::orders::{parse_json, respond};
use crate::problem::Problem;

/// `GET /api/account`.
#[utoipa::path(get, path = "/api/account", responses((status = 200, body = crate::openapi::AccountView), (status = 401, body = crate::openapi::ProblemView)), security(("api_key" = [])))]
pub(crate) async fn whoami(Caller(caller): Caller) -> Response {
    Json(crate::reads::account_json(&caller)).into_response()
}

/// `GET /api/demo/accounts` (demo mode only).
#[utoipa::path(get, path = "/api/demo/accounts", responses((status = 200, body = Vec<crate::DemoAccount>), (status = 404, body = crate::openapi::ProblemView)))]
pub(crate) async fn demo_accounts(State(state): State<AppState>) -> Response {
    match &state.config().demo_accounts {
        Some(accounts) => Json(accounts.clone()).into_response(),
        None => Problem::not_found("not_demo", "demo accounts are only listed with --demo").into_response(),
    }
}

/// `POST /api/risk/validate`: every check, nothing placed.
#[utoipa::path(post, path = "/api/risk/validate", request_body = crate::dto::PlaceOrder, responses((status = 200, body = crate::openapi::ValidateView), (status = 400, body = crate::openapi::ProblemView)), security(("api_key" = [])))]
pub(crate) async fn validate(State(state): State<AppState>, Caller(caller): Caller, body: Bytes) -> Response {
    respond(
        async {
            let request: PlaceOrder = parse_json(&body)?;
            let generated = state.generated_client_order_id();
            let order = request.to_new_order(&state.catalog(), caller.account, &generated)?;
            let verdict = state.read(move |engine| engine.check_new_order(&order)).await?;
            Ok(Json(match verdict {
                Ok(()) => json!({ "ok": true }),
                Err(reason) => json!({ "ok": false, "rejectReason": reason.code(), "message": reason.to_string() }),
            })
            .into_response())
        }
        .await,
    )
}

/// `GET /api/risk/positions`.
#[utoipa::path(get, path = "/api/risk/positions", responses((status = 200, body = crate::openapi::PositionsView)), security(("api_key" = [])))]
pub(crate) async fn positions(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    respond(
        async {
            let catalog = state.catalog().clone();
            let account = caller.account;
            let body = state
                .read(move |engine| {
                    let Some(a) = engine.account(account) else { return json!({ "balances": [], "positions": [] }) };
                    let balances: Vec<_> = a
                        .balances
                        .iter()
                        .enumerate()
                        .filter_map(|(i, b)| {
                            let asset = catalog.asset(oms_core::model::AssetId(i as u16))?;
                            Some(crate::reads::balance_json(asset, b))
                        })
                        .collect();
                    let positions: Vec<_> =
                        catalog.listings().iter().filter_map(|l| position_json(&catalog, a, l)).collect();
                    json!({ "balances": balances, "positions": positions })
                })
                .await?;
            Ok(Json(body).into_response())
        }
        .await,
    )
}

/// One element of `positions` in `GET /api/risk/positions` (also the `position:` cache value).
pub(crate) fn position_json(
    catalog: &crate::catalog::Catalog,
    a: &oms_core::risk::Account,
    listing: &crate::catalog::Listing,
) -> Option<serde_json::Value> {
    let spec = listing.instrument.spec();
    let p = a.positions.get(spec.id.0 as usize)?;
    let base = catalog.asset(spec.base)?;
    let mut json = crate::reads::position_json(catalog, listing, p)?;
    json["workingBuy"] = base.amount_to_decimal(p.working_buy_base).to_string().into();
    json["workingSell"] = base.amount_to_decimal(p.working_sell_base).to_string().into();
    Some(json)
}

/// `GET /api/risk/limits`.
#[utoipa::path(get, path = "/api/risk/limits", responses((status = 200, body = crate::limits::LimitsBody)), security(("api_key" = [])))]
pub(crate) async fn limits(State(state): State<AppState>, Caller(caller): Caller) -> Response {
    respond(
        async {
            let account = caller.account;
            let limits = state.read(move |engine| engine.account(account).map(|a| a.limits)).await?;
            Ok(Json(limits_json(&limits.unwrap_or_default())).into_response())
        }
        .await,
    )
}

/// `PUT /api/risk/limits?accountId=` (admin).
#[utoipa::path(put, path = "/api/risk/limits", params(("accountId" = String, Query, description = "account to change")), request_body = crate::limits::LimitsBody, responses((status = 200, body = crate::limits::LimitsBody), (status = 403, body = crate::openapi::ProblemView)), security(("api_key" = [])))]
pub(crate) async fn set_limits(
    State(state): State<AppState>,
    Admin(admin): Admin,
    query: Result<Query<crate::limits::AccountQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let task_state = state.clone();
    let task_body = body.clone();
    state
        .0
        .idempotency
        .run(admin.account, &headers, &body, move || async move {
            respond(
                async {
                    let Query(query) = query.map_err(|e| Problem::bad_request("invalid_query", e.body_text()))?;
                    let account = query.account()?;
                    let limits = parse_limits(&task_body)?;
                    let outcome = task_state.execute(Action::SetRiskLimits(SetRiskLimits { account, limits })).await?;
                    if let Some(reason) = outcome.reject {
                        return Err(Problem::new(
                            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                            reason.code(),
                            reason.to_string(),
                        ));
                    }
                    Ok(Json(limits_json(&limits)).into_response())
                }
                .await,
            )
        })
        .await
}

/// `POST /api/admin/kill-switch` (admin).
#[utoipa::path(post, path = "/api/admin/kill-switch", request_body = crate::openapi::KillSwitchBody, responses((status = 200, description = "switch set"), (status = 403, body = crate::openapi::ProblemView)), security(("api_key" = [])))]
pub(crate) async fn kill_switch(
    State(state): State<AppState>,
    Admin(admin): Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let task_state = state.clone();
    let task_body = body.clone();
    state
        .0
        .idempotency
        .run(admin.account, &headers, &body, move || async move {
            respond(
                async {
                    let b: crate::dto::KillSwitchBody = parse_json(&task_body)?;
                    let outcome = task_state.execute(Action::KillSwitch(b.to_kill_switch()?)).await?;
                    if let Some(reason) = outcome.reject {
                        return Err(Problem::new(
                            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                            reason.code(),
                            reason.to_string(),
                        ));
                    }
                    Ok(Json(b.reply_json()).into_response())
                }
                .await,
            )
        })
        .await
}
