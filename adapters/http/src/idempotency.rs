//! In-memory idempotency store: `(account, Idempotency-Key)` → the first response.
//!
//! The first request with a key runs its handler in a *spawned* task, so the command
//! completes and its response is stored even if the client disconnects. A repeat (also
//! a concurrent one) waits for that task and gets the same bytes. The same key with a
//! different body answers 422. Bounded (entries and a 24 h TTL). A Redis-backed store
//! replaces this across processes in the Redis adapter.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use oms_core::model::AccountId;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::problem::Problem;

/// Keys kept at most.
pub const IDEMPOTENCY_KEYS_MAX: usize = 200_000;
/// How long a key is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3_600);
/// Longest key accepted.
pub const IDEMPOTENCY_KEY_LEN_MAX: usize = 64;

/// A response kept for replay.
#[derive(Clone, Debug)]
pub struct StoredResponse {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

impl StoredResponse {
    fn into_response(self, replayed: bool) -> Response {
        let mut response = (self.status, self.body).into_response();
        if let Some(content_type) = self.content_type {
            response.headers_mut().insert(header::CONTENT_TYPE, content_type);
        }
        if replayed {
            response.headers_mut().insert("idempotency-replayed", HeaderValue::from_static("true"));
        }
        response
    }
}

#[derive(Debug)]
struct Entry {
    body_digest: [u8; 32],
    result: watch::Receiver<Option<StoredResponse>>,
    created: Instant,
}

/// `(account, Idempotency-Key)`.
type KeyId = (AccountId, String);

/// The store.
#[derive(Debug, Default)]
pub struct IdempotencyStore {
    entries: Mutex<(HashMap<KeyId, Entry>, VecDeque<KeyId>)>,
}

/// What the store decided for a request.
enum Claim {
    First(watch::Sender<Option<StoredResponse>>),
    Repeat(watch::Receiver<Option<StoredResponse>>),
    Conflict,
}

impl IdempotencyStore {
    /// Runs `handler` once per `(account, key)`; repeats get the stored response. Without a
    /// key the handler simply runs.
    pub async fn run<F, Fut>(&self, account: AccountId, headers: &HeaderMap, body: &Bytes, handler: F) -> Response
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Response> + Send + 'static,
    {
        let Some(key) = headers.get("idempotency-key") else {
            return handler().await;
        };
        let Some(key) = key.to_str().ok().filter(|k| !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_LEN_MAX) else {
            return Problem::bad_request(
                "invalid_idempotency_key",
                format!("Idempotency-Key must be 1–{IDEMPOTENCY_KEY_LEN_MAX} visible ASCII characters"),
            )
            .into_response();
        };
        let digest: [u8; 32] = Sha256::digest(body).into();
        match self.claim(account, key, digest) {
            Claim::Conflict => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request body",
            )
            .into_response(),
            Claim::Repeat(mut result) => match result.wait_for(Option::is_some).await {
                Ok(stored) => stored.clone().map_or_else(
                    || Problem::unavailable("unavailable", "no stored response").into_response(),
                    |s| s.into_response(true),
                ),
                Err(_) => Problem::new(
                    StatusCode::CONFLICT,
                    "idempotency_in_flight",
                    "the first request with this key did not finish; retry",
                )
                .into_response(),
            },
            Claim::First(sender) => {
                let future = handler();
                let task = tokio::spawn(async move {
                    let response = future.await;
                    let stored = store(response).await;
                    let _ = sender.send(Some(stored.clone()));
                    stored
                });
                match task.await {
                    Ok(stored) => stored.into_response(false),
                    Err(_) => Problem::unavailable("unavailable", "request handler failed").into_response(),
                }
            }
        }
    }

    fn claim(&self, account: AccountId, key: &str, digest: [u8; 32]) -> Claim {
        let Ok(mut guard) = self.entries.lock() else { return Claim::Conflict };
        let (entries, order) = &mut *guard;
        let id = (account, key.to_owned());
        if let Some(entry) = entries.get(&id) {
            if entry.created.elapsed() < IDEMPOTENCY_TTL {
                return if entry.body_digest == digest { Claim::Repeat(entry.result.clone()) } else { Claim::Conflict };
            }
            entries.remove(&id);
        }
        while entries.len() >= IDEMPOTENCY_KEYS_MAX {
            match order.pop_front() {
                Some(oldest) => {
                    entries.remove(&oldest);
                }
                None => break,
            }
        }
        let (sender, receiver) = watch::channel(None);
        entries.insert(id.clone(), Entry { body_digest: digest, result: receiver, created: Instant::now() });
        order.push_back(id);
        Claim::First(sender)
    }
}

async fn store(response: Response) -> StoredResponse {
    let status = response.status();
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap_or_default();
    StoredResponse { status, content_type, body }
}
