//! In-memory idempotency store: `(account, Idempotency-Key)` → the first response.
//!
//! The first request with a key runs its handler in a *spawned* task, so the command
//! completes and its response is stored even if the client disconnects. A repeat (also
//! a concurrent one) waits for that task and gets the same bytes. The same key with a
//! different body answers 422. Bounded (entries and a 24 h TTL).
//!
//! Across processes a [`SharedIdempotency`] (the Redis adapter) sits behind this store:
//! the process that wins the shared claim (an atomic `SET NX` in Redis, so concurrent
//! duplicates on different processes are decided by Redis, not by timing) runs the
//! handler; the others replay its stored response or wait for it. When the shared store is
//! unavailable the request runs on the local store alone and the engine's own
//! `(account, clientOrderId)` dedupe is the cross-process guard (degraded, never refused).

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

use crate::external::BoxFuture;
use crate::problem::Problem;

/// Keys kept at most.
pub const IDEMPOTENCY_KEYS_MAX: usize = 200_000;
/// How long a key is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3_600);
/// Longest key accepted.
pub const IDEMPOTENCY_KEY_LEN_MAX: usize = 64;

/// How often a repeat polls the shared store while another process runs the first request.
const SHARED_POLL_INTERVAL: Duration = Duration::from_millis(5);

/// A response kept for replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    body: Bytes,
}

impl StoredResponse {
    /// A stored response from its parts (a shared store decoding what it kept).
    pub fn new(status: StatusCode, content_type: Option<HeaderValue>, body: Bytes) -> Self {
        Self { status, content_type, body }
    }

    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// `Content-Type`, if any.
    pub fn content_type(&self) -> Option<&HeaderValue> {
        self.content_type.as_ref()
    }

    /// Body bytes.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

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

/// What a shared store holds for a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SharedClaim {
    /// This caller won the claim and must run the request, then [`SharedIdempotency::complete`].
    Claimed,
    /// Another caller claimed it and has not finished.
    InFlight {
        /// SHA-256 of the first request's body.
        body_digest: [u8; 32],
    },
    /// The first request finished with this response.
    Completed {
        /// SHA-256 of the first request's body.
        body_digest: [u8; 32],
        /// Its response.
        response: StoredResponse,
    },
}

/// Why the shared store did not answer (the caller falls back to the local store).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("shared idempotency store unavailable: {0}")]
pub struct SharedStoreError(pub String);

/// An idempotency store shared by several processes (the Redis adapter).
pub trait SharedIdempotency: Send + Sync {
    /// Whether the store is usable now; `false` while it is known to be down (the request
    /// path then does not wait on it at all).
    fn available(&self) -> bool;
    /// Atomically claims `(account, key)` or reports who holds it.
    fn claim<'a>(
        &'a self,
        account: AccountId,
        key: &'a str,
        body_digest: [u8; 32],
    ) -> BoxFuture<'a, Result<SharedClaim, SharedStoreError>>;
    /// What is held for `(account, key)` now (`None`: nothing, e.g. the claim expired).
    fn lookup<'a>(
        &'a self,
        account: AccountId,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<SharedClaim>, SharedStoreError>>;
    /// Records the claimed request's response. Must not block: queue it.
    fn complete(&self, account: AccountId, key: &str, body_digest: [u8; 32], response: &StoredResponse);
}

/// The store.
#[derive(Default)]
pub struct IdempotencyStore {
    entries: Mutex<(HashMap<KeyId, Entry>, VecDeque<KeyId>)>,
    shared: Option<std::sync::Arc<dyn SharedIdempotency>>,
    /// How long a repeat waits for another process's first request.
    shared_wait: Duration,
}

impl std::fmt::Debug for IdempotencyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdempotencyStore").field("shared", &self.shared.is_some()).finish_non_exhaustive()
    }
}

/// What the store decided for a request.
enum Claim {
    First(watch::Sender<Option<StoredResponse>>),
    Repeat(watch::Receiver<Option<StoredResponse>>),
    Conflict,
}

impl IdempotencyStore {
    /// A store in front of a shared one; repeats wait up to `shared_wait` for another
    /// process's first request.
    pub fn with_shared(shared: Option<std::sync::Arc<dyn SharedIdempotency>>, shared_wait: Duration) -> Self {
        Self { entries: Mutex::default(), shared, shared_wait }
    }

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
            Claim::Conflict => conflict(),
            Claim::Repeat(mut result) => match result.wait_for(Option::is_some).await {
                Ok(stored) => stored.clone().map_or_else(
                    || Problem::unavailable("unavailable", "no stored response").into_response(),
                    |s| s.into_response(true),
                ),
                Err(_) => in_flight(),
            },
            Claim::First(sender) => {
                let shared = match self.shared.as_ref().filter(|s| s.available()) {
                    Some(shared) => match shared.claim(account, key, digest).await {
                        Ok(SharedClaim::Claimed) => Some(std::sync::Arc::clone(shared)),
                        Ok(held) => return self.held_elsewhere(account, key, digest, held, sender).await,
                        // Degraded: the local store and the engine's clientOrderId dedupe decide.
                        Err(_) => None,
                    },
                    None => None,
                };
                let future = handler();
                let owned_key = key.to_owned();
                let task = tokio::spawn(async move {
                    let response = future.await;
                    let stored = store(response).await;
                    let _ = sender.send(Some(stored.clone()));
                    if let Some(shared) = shared {
                        shared.complete(account, &owned_key, digest, &stored);
                    }
                    stored
                });
                match task.await {
                    Ok(stored) => stored.into_response(false),
                    Err(_) => Problem::unavailable("unavailable", "request handler failed").into_response(),
                }
            }
        }
    }

    /// Another process holds the shared claim: replay its response, refuse a different body,
    /// or wait (bounded) for it to finish.
    async fn held_elsewhere(
        &self,
        account: AccountId,
        key: &str,
        digest: [u8; 32],
        mut held: SharedClaim,
        sender: watch::Sender<Option<StoredResponse>>,
    ) -> Response {
        let deadline = tokio::time::Instant::now() + self.shared_wait;
        loop {
            match &held {
                SharedClaim::Completed { body_digest, response } if *body_digest == digest => {
                    let _ = sender.send(Some(response.clone()));
                    return response.clone().into_response(true);
                }
                SharedClaim::Completed { .. } => {
                    self.forget(account, key);
                    return conflict();
                }
                SharedClaim::InFlight { body_digest } if *body_digest != digest => {
                    self.forget(account, key);
                    return conflict();
                }
                // Still running elsewhere (`Claimed` cannot come from a lookup; wait the same).
                SharedClaim::InFlight { .. } | SharedClaim::Claimed => {}
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(SHARED_POLL_INTERVAL).await;
            let Some(shared) = self.shared.as_ref() else { break };
            held = match shared.lookup(account, key).await {
                Ok(Some(held)) => held,
                // The claim expired or the store went away: the client retries.
                Ok(None) | Err(_) => break,
            };
        }
        self.forget(account, key);
        in_flight()
    }

    /// Drops a local entry (its waiters are told to retry).
    fn forget(&self, account: AccountId, key: &str) {
        if let Ok(mut guard) = self.entries.lock() {
            guard.0.remove(&(account, key.to_owned()));
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

fn conflict() -> Response {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "this Idempotency-Key was used with a different request body",
    )
    .into_response()
}

fn in_flight() -> Response {
    Problem::new(StatusCode::CONFLICT, "idempotency_in_flight", "the first request with this key did not finish; retry")
        .into_response()
}

async fn store(response: Response) -> StoredResponse {
    let status = response.status();
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap_or_default();
    StoredResponse { status, content_type, body }
}
