//! The token-store port: where the OAuth tokens of one Mercado Libre app live between calls.
//!
//! Refresh tokens are single use (meli-api.md §9): if two workers refresh with the same refresh
//! token, the second gets `invalid_grant` and, worse, one of them may store a dead token. So the token
//! is versioned and every write is a compare-and-swap on that version: of the writers that started
//! from version `v`, exactly one moves it to `v + 1`; the others get [`Swapped::Lost`], reload and use
//! the winner's token.
//!
//! Layout:
//! - [`TokenSet`]: the tokens (as [`SecretString`]), expiry, user, scope and version.
//! - [`TokenStore`]: the port (`load`, `compare_and_swap`).
//! - [`MemoryTokenStore`]: the in-process fake.
//! - [`StoreTokenStore`]: any [`SnapshotStore`], item `AUTH#{client_id}` / `TOKEN`, CAS on `version`.
//!
//! The stored item holds the tokens in clear (stores are private to the deployment); nothing here
//! logs them, and `TokenSet`'s `Debug` prints `[REDACTED]` for both.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::keys::token_pk;
use crate::store::{Item, PutCondition, PutOutcome, SnapshotStore, StoreError};

/// The sort key of the token item.
pub const TOKEN_SK: &str = "TOKEN";

/// An access token with what came with it. `version` counts the writes to the store (the first
/// stored token has version 1; 0 means "nothing stored yet").
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: SecretString,
    /// Absent for `client_credentials` tokens, which are fetched again instead of refreshed.
    pub refresh_token: Option<SecretString>,
    pub expires_at: DateTime<Utc>,
    pub user_id: Option<u64>,
    pub scope: Option<String>,
    pub version: u64,
}

impl TokenSet {
    /// Whether the access token is expired at `now`, or will be within `margin`.
    pub fn expires_within(&self, now: DateTime<Utc>, margin: chrono::Duration) -> bool {
        now + margin >= self.expires_at
    }
}

/// What a compare-and-swap did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swapped {
    /// The new token is stored with version `expected + 1`.
    Swapped,
    /// Someone else wrote first; nothing was written. Reload and use theirs.
    Lost,
}

/// A token store failure (not a lost race: that is [`Swapped::Lost`]).
#[derive(Debug, thiserror::Error)]
pub enum TokenStoreError {
    #[error("token store failed")]
    Store(#[from] StoreError),
    #[error("stored token is corrupt: {0}")]
    Corrupt(String),
}

impl TokenStoreError {
    pub fn is_transient(&self) -> bool {
        match self {
            TokenStoreError::Store(e) => e.is_transient(),
            TokenStoreError::Corrupt(_) => false,
        }
    }
}

/// Where the app's token lives. Shared between tasks and, for [`StoreTokenStore`], processes.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync {
    /// The current token, if any.
    async fn load(&self) -> Result<Option<TokenSet>, TokenStoreError>;
    /// Stores `new` with version `expected_version + 1` if the stored version is still
    /// `expected_version` (0: only if nothing is stored). `new.version` is ignored.
    async fn compare_and_swap(&self, expected_version: u64, new: TokenSet) -> Result<Swapped, TokenStoreError>;
}

/// The in-memory token store.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    // Held only inside each method (no await while locked).
    token: Mutex<Option<TokenSet>>,
}

impl MemoryTokenStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<TokenSet>> {
        self.token.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl TokenStore for MemoryTokenStore {
    async fn load(&self) -> Result<Option<TokenSet>, TokenStoreError> {
        Ok(self.lock().clone())
    }

    async fn compare_and_swap(&self, expected_version: u64, mut new: TokenSet) -> Result<Swapped, TokenStoreError> {
        let mut g = self.lock();
        let current = g.as_ref().map_or(0, |t| t.version);
        if current != expected_version {
            return Ok(Swapped::Lost);
        }
        new.version = expected_version + 1;
        *g = Some(new);
        Ok(Swapped::Swapped)
    }
}

/// The token as stored: plain strings, because the store is private and must give them back.
#[derive(Serialize, Deserialize)]
struct StoredToken {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: DateTime<Utc>,
    user_id: Option<u64>,
    scope: Option<String>,
    version: u64,
}

/// A [`TokenStore`] over any [`SnapshotStore`]: item `AUTH#{client_id}` / `TOKEN`, compare-and-swap
/// on its `version` attribute, so processes sharing the table (Lambdas, the local runner) agree.
pub struct StoreTokenStore<S: ?Sized> {
    store: Arc<S>,
    pk: String,
}

impl<S: ?Sized> std::fmt::Debug for StoreTokenStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreTokenStore").field("pk", &self.pk).finish_non_exhaustive()
    }
}

impl<S: SnapshotStore + ?Sized> StoreTokenStore<S> {
    pub fn new(store: Arc<S>, client_id: &str) -> Self {
        StoreTokenStore { store, pk: token_pk(client_id) }
    }
}

#[async_trait::async_trait]
impl<S: SnapshotStore + ?Sized> TokenStore for StoreTokenStore<S> {
    async fn load(&self) -> Result<Option<TokenSet>, TokenStoreError> {
        let Some(item) = self.store.get(&self.pk, TOKEN_SK).await? else {
            return Ok(None);
        };
        let mut attrs = item.attrs;
        attrs.remove("pk");
        attrs.remove("sk");
        // The decode error of serde names a field at most, never its value.
        let stored: StoredToken = serde_json::from_value(serde_json::Value::from(attrs))
            .map_err(|e| TokenStoreError::Corrupt(format!("{}/{TOKEN_SK}: {e}", self.pk)))?;
        Ok(Some(TokenSet {
            access_token: SecretString::from(stored.access_token),
            refresh_token: stored.refresh_token.map(SecretString::from),
            expires_at: stored.expires_at,
            user_id: stored.user_id,
            scope: stored.scope,
            version: stored.version,
        }))
    }

    async fn compare_and_swap(&self, expected_version: u64, new: TokenSet) -> Result<Swapped, TokenStoreError> {
        let stored = StoredToken {
            access_token: new.access_token.expose_secret().to_string(),
            refresh_token: new.refresh_token.as_ref().map(|r| r.expose_secret().to_string()),
            expires_at: new.expires_at,
            user_id: new.user_id,
            scope: new.scope,
            version: expected_version + 1,
        };
        let item = Item::from_typed(&self.pk, TOKEN_SK, &stored)?;
        let condition = if expected_version == 0 {
            PutCondition::IfAbsent
        } else {
            PutCondition::IfAttrEquals { name: "version".into(), value: json!(expected_version) }
        };
        match self.store.put(item, condition).await? {
            PutOutcome::Written => Ok(Swapped::Swapped),
            PutOutcome::ConditionFailed => Ok(Swapped::Lost),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemorySnapshotStore;
    use futures::executor::block_on;

    fn token(access: &str, refresh: Option<&str>) -> TokenSet {
        TokenSet {
            access_token: SecretString::from(access),
            refresh_token: refresh.map(SecretString::from),
            expires_at: DateTime::parse_from_rfc3339("2026-11-02T06:00:00Z").unwrap().with_timezone(&Utc),
            user_id: Some(42),
            scope: Some("offline_access read".into()),
            version: 99,
        }
    }

    async fn contract(store: &dyn TokenStore) {
        assert!(store.load().await.unwrap().is_none());
        assert_eq!(store.compare_and_swap(1, token("A0", None)).await.unwrap(), Swapped::Lost);
        assert_eq!(store.compare_and_swap(0, token("A1", Some("R1"))).await.unwrap(), Swapped::Swapped);
        // A second writer that also started from "nothing stored" loses.
        assert_eq!(store.compare_and_swap(0, token("A1b", Some("R1b"))).await.unwrap(), Swapped::Lost);
        let t = store.load().await.unwrap().unwrap();
        assert_eq!(t.version, 1);
        assert_eq!(t.access_token.expose_secret(), "A1");
        assert_eq!(t.refresh_token.as_ref().unwrap().expose_secret(), "R1");
        assert_eq!(t.user_id, Some(42));
        assert_eq!(store.compare_and_swap(1, token("A2", Some("R2"))).await.unwrap(), Swapped::Swapped);
        assert_eq!(store.compare_and_swap(1, token("A2b", Some("R2b"))).await.unwrap(), Swapped::Lost);
        let t = store.load().await.unwrap().unwrap();
        assert_eq!((t.version, t.access_token.expose_secret()), (2, "A2"));
    }

    #[test]
    fn memory_token_store_is_a_cas() {
        block_on(contract(&MemoryTokenStore::new()));
    }

    #[test]
    fn store_token_store_is_a_cas_over_the_snapshot_store() {
        let snapshots = Arc::new(MemorySnapshotStore::new());
        let store = StoreTokenStore::new(snapshots.clone(), "app-1");
        block_on(contract(&store));
        let item = block_on(snapshots.get("AUTH#app-1", TOKEN_SK)).unwrap().unwrap();
        assert_eq!(item.attrs.get("version"), Some(&json!(2)));
    }

    #[test]
    fn debug_never_shows_the_tokens() {
        let t = token("APP_USR-secret-access", Some("TG-secret-refresh"));
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("secret-access") && !dbg.contains("secret-refresh"), "{dbg}");
        let store = StoreTokenStore::new(Arc::new(MemorySnapshotStore::new()), "app");
        assert!(format!("{store:?}").contains("AUTH#app"));
    }
}
