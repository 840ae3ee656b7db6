//! Moving an account's funds between shards' sub-ledgers (docs/adr/0003-scale-out.md,
//! point 5), and showing where they are.
//!
//! Each engine shard holds its own allocation of an account's funds and can spend only that,
//! so an order needing more than its shard holds is refused even when the account's total
//! would cover it. `POST /api/account/transfers` moves funds: a `transfer` command to the
//! source shard, answered once that shard has debited (or refused); the source then sends
//! the credit to the destination shard, which applies it exactly once. Symbols, not shard
//! numbers, name the sub-ledgers: "the funds I trade BTC-USD with". `GET
//! /api/account/ledgers` shows which symbols share a sub-ledger and what each holds.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use oms_core::prelude::*;
use oms_http::auth::Principal;
use oms_http::problem::Problem;
use oms_kafka::messages::MarketReference;
use oms_kafka::messages::wire::parse_amount;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::commands::{Access, refusal_of, write};
use super::{Ingress, Shared, caller};

/// A transfer request.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct TransferBody {
    /// Asset code, e.g. `USD`.
    asset: String,
    /// Decimal string, positive, at most the asset's scale.
    amount: String,
    /// A symbol traded with the funds now (names the source sub-ledger).
    from_symbol: String,
    /// A symbol to trade with them (names the destination sub-ledger); on another shard.
    to_symbol: String,
}

/// A transfer the source shard has debited.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TransferView {
    transfer_id: String,
    account_id: String,
    asset: String,
    amount: String,
    from_symbol: String,
    to_symbol: String,
    from_shard: i32,
    to_shard: i32,
    /// `SENT`: debited on the source; the destination credits it once it applies it.
    status: String,
}

/// One shard's sub-ledger of the caller's funds.
#[derive(Serialize, ToSchema)]
struct LedgerView {
    shard: i32,
    /// The symbols traded with these funds.
    symbols: Vec<String>,
    /// As the shard last sampled them (at most 100 ms old).
    balances: Vec<BalanceRow>,
}

/// A balance.
#[derive(Serialize, ToSchema)]
struct BalanceRow {
    asset: String,
    available: String,
    reserved: String,
}

/// The caller's sub-ledgers, one per shard.
#[derive(Serialize, ToSchema)]
struct LedgerList {
    ledgers: Vec<LedgerView>,
}

/// The routes of this file in the ingress's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(transfer, ledgers),
    components(schemas(TransferBody, TransferView, LedgerList, LedgerView, BalanceRow))
)]
pub(super) struct TransferApi;

/// `POST /api/account/transfers`.
#[utoipa::path(
    post,
    path = "/api/account/transfers",
    request_body = TransferBody,
    responses(
        (status = 202, body = TransferView, description = "Debited on the source shard; the destination credits it once, shortly after"),
        (status = 400, description = "Bad body, amount, asset or symbol, or both symbols on one shard (problem+json)"),
        (status = 401, description = "No or unknown API key"),
        (status = 422, description = "Refused by the source shard, e.g. insufficient_balance (problem+json)"),
        (status = 503, description = "Kafka unavailable or too many commands waiting"),
        (status = 504, description = "No decision in time; the transfer may still be applied"),
    ),
    security(("api_key" = []))
)]
pub(super) async fn transfer(State(state): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let request = body.clone();
    write(state, &headers, &request, Access::Account, move |task, principal| async move {
        transfer_once(&task, principal, &body).await
    })
    .await
}

async fn transfer_once(state: &Ingress, principal: Principal, body: &[u8]) -> Response {
    let result = async {
        let request: TransferBody = serde_json::from_slice(body)
            .map_err(|e| Problem::bad_request("invalid_body", format!("transfer body: {e}")))?;
        let (from, _, from_shard) = state.sub_ledger(&request.from_symbol)?;
        let (_, to, to_shard) = state.sub_ledger(&request.to_symbol)?;
        if from_shard == to_shard {
            return Err(Problem::bad_request(
                "same_shard",
                format!(
                    "{} and {} trade with the same funds (shard {from_shard}): nothing to move",
                    request.from_symbol, request.to_symbol
                ),
            ));
        }
        let asset = state
            .reference
            .asset_by_code(&request.asset)
            .ok_or_else(|| Problem::bad_request("unknown_asset", format!("no asset {:?}", request.asset)))?;
        let amount = parse_amount(asset, "amount", &request.amount)
            .map_err(|e| Problem::bad_request("invalid_amount", e.to_string()))?;
        let action =
            Action::TransferOut(TransferOut { account: principal.account, asset: asset.spec().id, amount, to });
        let command = state.command(Some(from), action)?;
        let messages = state.decide(&command, Some(from_shard)).await?;
        if let Some(code) = refusal_of(&messages) {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                &code,
                format!("refused by shard {from_shard}: {code}"),
            ));
        }
        let view = TransferView {
            transfer_id: command.command_id.as_str().to_owned(),
            account_id: principal.account.0.to_string(),
            asset: request.asset,
            amount: oms_kafka::messages::wire::amount_text(asset, amount),
            from_symbol: request.from_symbol,
            to_symbol: request.to_symbol,
            from_shard,
            to_shard,
            status: "SENT".to_owned(),
        };
        Ok::<_, Problem>((StatusCode::ACCEPTED, Json(view)).into_response())
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}

/// `GET /api/account/ledgers`.
#[utoipa::path(
    get,
    path = "/api/account/ledgers",
    responses((status = 200, body = LedgerList), (status = 401, description = "No or unknown API key")),
    security(("api_key" = []))
)]
pub(super) async fn ledgers(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let result = (|| {
        let principal = caller(&state, &headers)?;
        let by_shard = state.view()?.balances_by_shard(principal.account);
        let ledgers = (0..state.partitions)
            .map(|shard| LedgerView {
                shard,
                symbols: state.symbols_of(shard).map(|s| s.as_str().to_owned()).collect(),
                balances: u32::try_from(shard)
                    .ok()
                    .and_then(|s| by_shard.get(&s))
                    .into_iter()
                    .flatten()
                    .filter_map(|(asset, balance)| {
                        let asset = state.catalog.asset(*asset)?;
                        Some(BalanceRow {
                            asset: asset.spec().code.as_str().to_owned(),
                            available: asset.amount_to_decimal(balance.available).to_string(),
                            reserved: asset.amount_to_decimal(balance.reserved).to_string(),
                        })
                    })
                    .collect(),
            })
            .collect();
        Ok::<_, Problem>(Json(LedgerList { ledgers }).into_response())
    })();
    result.unwrap_or_else(IntoResponse::into_response)
}

impl Ingress {
    /// The instrument a symbol names and the shard (partition) that owns its book.
    fn sub_ledger(&self, symbol: &str) -> Result<(Symbol, InstrumentId, i32), Problem> {
        let (id, listing) = self
            .catalog
            .by_symbol(symbol)
            .ok_or_else(|| Problem::bad_request("unknown_symbol", format!("no instrument {symbol:?}")))?;
        let symbol = listing.instrument.spec().symbol;
        Ok((symbol, id, self.partition_of(symbol)))
    }
}
