//! API keys → accounts. Keys are looked up by their SHA-256 digest, so the lookup's timing
//! depends on a hash the caller cannot steer, not on how many leading bytes of a real key
//! the caller guessed (constant-time with respect to the secret).

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use oms_core::model::AccountId;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::problem::Problem;

/// Who is calling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The caller's account.
    pub account: AccountId,
    /// May use admin routes.
    pub admin: bool,
}

/// The key registry.
#[derive(Clone, Debug, Default)]
pub struct ApiKeys {
    by_digest: HashMap<[u8; 32], Principal>,
}

impl ApiKeys {
    /// Registers `key` for `principal`.
    pub fn insert(&mut self, key: &str, principal: Principal) {
        self.by_digest.insert(digest(key), principal);
    }
    /// Registers the key whose SHA-256 digest is `digest` (key files may hold digests
    /// only); false when that key is already registered, which is left unchanged.
    pub fn insert_digest(&mut self, digest: [u8; 32], principal: Principal) -> bool {
        match self.by_digest.entry(digest) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(principal);
                true
            }
        }
    }
    /// The digest a key is registered under.
    pub fn digest(key: &str) -> [u8; 32] {
        digest(key)
    }
    /// Registered keys.
    pub fn len(&self) -> usize {
        self.by_digest.len()
    }
    /// True when no key is registered (nobody can call the API).
    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }
    /// The principal of `key`.
    pub fn resolve(&self, key: &str) -> Option<Principal> {
        self.by_digest.get(&digest(key)).copied()
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Extractor: an authenticated caller (401 otherwise).
#[derive(Clone, Copy, Debug)]
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(Problem::unauthorized)?;
        let principal = state.keys().resolve(key.trim()).ok_or_else(Problem::unauthorized)?;
        state.rate_limit_key(key)?;
        Ok(Caller(principal))
    }
}

/// Extractor: an authenticated admin (401 / 403 otherwise).
#[derive(Clone, Copy, Debug)]
pub struct Admin(pub Principal);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Caller(principal) = Caller::from_request_parts(parts, state).await?;
        if principal.admin { Ok(Admin(principal)) } else { Err(Problem::forbidden()) }
    }
}
