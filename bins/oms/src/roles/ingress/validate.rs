//! `POST /api/risk/validate` on the ingress: a `validateOrder` to the shard that owns the
//! symbol, which runs every check of a new order against its state at that point of its
//! stream and answers with one `commandResult`; nothing is placed, reserved or counted.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use oms_core::prelude::*;
use oms_http::dto::PlaceOrder;
use oms_http::problem::Problem;
use oms_kafka::messages::{CommandId, InboundCommand, encode_validation};
use serde_json::json;

use super::commands::command_result;
use super::{Shared, caller};

/// The answer `--role all` gives: `{"ok": true}`, or `{"ok": false, "rejectReason", "message"}`
/// with the reason the order would be refused.
pub(super) async fn validate(State(state): State<Shared>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let result = async {
        let principal = caller(&state, &headers)?;
        let order: PlaceOrder = serde_json::from_slice(&body)
            .map_err(|e| Problem::bad_request("invalid_body", format!("order body: {e}")))?;
        // The command id stands in for a missing clientOrderId, as for a placed order.
        let command_id = state.command_id();
        let new_order = order.to_new_order(&state.catalog, principal.account, &command_id)?;
        let symbol = Symbol::new(&order.symbol).map_err(|e| Problem::bad_request("unknown_symbol", e.to_string()))?;
        let command = InboundCommand {
            command_id: CommandId::new(&command_id)
                .map_err(|e| Problem::bad_request("invalid_command", e.to_string()))?,
            symbol: Some(symbol),
            action: Action::NewOrder(new_order),
        };
        let message = encode_validation(&command, &state.reference)
            .map_err(|e| Problem::bad_request("invalid_order", e.to_string()))?;
        let messages = state.decide_message(command.command_id.as_str(), &message, None).await?;
        Ok::<_, Problem>(
            Json(match &command_result(&messages)?.reject_reason {
                None => json!({ "ok": true }),
                Some(code) => {
                    // A reason this build does not know (a newer engine) is still shown as sent.
                    let message =
                        RejectReason::from_code(code).map_or_else(|| format!("refused: {code}"), |r| r.to_string());
                    json!({ "ok": false, "rejectReason": code, "message": message })
                }
            })
            .into_response(),
        )
    }
    .await;
    result.unwrap_or_else(IntoResponse::into_response)
}
