//! Secrets Manager: the Mercado Libre app credentials, the app's OAuth tokens, and any other secret
//! string (the Slack webhooks), read once per cold start and never logged.
//!
//! - [`SecretsManagerSource`]: reads a secret string ([`SecretString`]); [`AppCredentials`] parses the
//!   app secret `{"client_id": "...", "client_secret": "...", "grant": "client_credentials"}`.
//! - [`SecretsManagerTokenStore`]: the core `TokenStore` port over one secret, with compare-and-swap
//!   on versions so concurrent fetchers never burn the single-use refresh token twice.
//!
//! How the compare-and-swap works: the token JSON carries its `version`, and version `v` is written with
//! the deterministic `ClientRequestToken` [`token_version_id`]`(v)`. Secrets Manager creates a version
//! id once: a second `PutSecretValue` with the same id and a different value fails with
//! `ResourceExistsException`. So of all the writers that loaded version `v - 1` and refreshed, exactly
//! one creates version `v` (and moves `AWSCURRENT` to it); the others get [`Swapped::Lost`], reload and
//! use the winner's token. A writer that loaded an older version finds its target id already taken
//! too. (Secrets Manager drops deprecated versions only beyond 100 of them; a writer would have to be
//! stale by 100 refreshes, about 25 days of 6-hour tokens, for an old id to be free again.)

use aws_sdk_secretsmanager::Client;
use chrono::{DateTime, Utc};
use meli_core::auth::{Swapped, TokenSet, TokenStore, TokenStoreError};
use meli_core::store::StoreError;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::{classify, code, Class};

/// A Secrets Manager failure. Messages name the secret id, never its value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {0} does not exist or has no value yet")]
    NotFound(String),
    #[error("secret {id} is not in the expected shape: {reason}")]
    Malformed { id: String, reason: String },
    #[error("Secrets Manager is throttling requests")]
    Throttled(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("Secrets Manager is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("Secrets Manager rejected the request: {0}")]
    Rejected(String),
    #[error("Secrets Manager error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl SecretError {
    pub fn is_transient(&self) -> bool {
        matches!(self, SecretError::Throttled(_) | SecretError::Unavailable(_))
    }

    fn from_sdk<E>(
        id: &str,
        err: aws_sdk_secretsmanager::error::SdkError<E, aws_sdk_secretsmanager::config::http::HttpResponse>,
    ) -> Self
    where
        E: aws_sdk_secretsmanager::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if code(&err) == Some("ResourceNotFoundException") {
            return SecretError::NotFound(id.to_string());
        }
        match classify(&err) {
            Class::Throttled => SecretError::Throttled(Box::new(err)),
            Class::Unavailable => SecretError::Unavailable(Box::new(err)),
            Class::Rejected(what) => SecretError::Rejected(what),
            Class::Other => SecretError::Backend(Box::new(err)),
        }
    }
}

impl From<SecretError> for StoreError {
    fn from(e: SecretError) -> Self {
        match e {
            SecretError::Throttled(s) => StoreError::Throttled(Some(s)),
            SecretError::Unavailable(s) => StoreError::Unavailable(s),
            SecretError::Rejected(what) => StoreError::Rejected(what),
            SecretError::NotFound(_) => StoreError::Rejected(e.to_string()),
            SecretError::Malformed { .. } => StoreError::Corrupt(e.to_string()),
            SecretError::Backend(s) => StoreError::Backend(s),
        }
    }
}

/// Reads secret strings.
#[derive(Debug, Clone)]
pub struct SecretsManagerSource {
    client: Client,
}

impl SecretsManagerSource {
    pub fn new(client: Client) -> Self {
        SecretsManagerSource { client }
    }

    /// The current (`AWSCURRENT`) string value of a secret.
    pub async fn get(&self, id: &str) -> Result<SecretString, SecretError> {
        let out =
            self.client.get_secret_value().secret_id(id).send().await.map_err(|e| SecretError::from_sdk(id, e))?;
        out.secret_string.map(SecretString::from).ok_or_else(|| SecretError::Malformed {
            id: id.to_string(),
            reason: "the secret has no string value (binary secrets are not used)".into(),
        })
    }

    /// The app credentials stored in secret `id`.
    pub async fn app_credentials(&self, id: &str) -> Result<AppCredentials, SecretError> {
        AppCredentials::parse(id, &self.get(id).await?)
    }
}

/// The Mercado Libre app credentials as stored in Secrets Manager.
#[derive(Debug, Clone)]
pub struct AppCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
    /// `client_credentials` (default) or `authorization_code`.
    pub grant: Option<String>,
}

#[derive(Deserialize)]
struct AppCredentialsWire {
    client_id: String,
    client_secret: String,
    #[serde(default)]
    grant: Option<String>,
}

impl AppCredentials {
    /// Parses `{"client_id": "...", "client_secret": "...", "grant": "..."}`. The error says which
    /// field is wrong, never what the secret holds.
    pub fn parse(id: &str, raw: &SecretString) -> Result<Self, SecretError> {
        let wire: AppCredentialsWire =
            serde_json::from_str(raw.expose_secret()).map_err(|e| SecretError::Malformed {
                id: id.to_string(),
                reason: format!(
                    "expected {{\"client_id\": ..., \"client_secret\": ..., \"grant\": \"client_credentials\"}} ({})",
                    redacted_serde_reason(&e)
                ),
            })?;
        if wire.client_id.trim().is_empty() || wire.client_secret.trim().is_empty() {
            return Err(SecretError::Malformed {
                id: id.to_string(),
                reason: "client_id and client_secret must not be empty".into(),
            });
        }
        Ok(AppCredentials {
            client_id: wire.client_id.trim().to_string(),
            client_secret: SecretString::from(wire.client_secret),
            grant: wire.grant.filter(|g| !g.trim().is_empty()),
        })
    }
}

/// serde_json's message can quote a fragment of the input; keep only its category and position.
fn redacted_serde_reason(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "a field is missing or has the wrong type",
        serde_json::error::Category::Eof => "truncated JSON",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

/// The `ClientRequestToken` (version id) of token version `v`: 32–64 characters, deterministic.
pub fn token_version_id(v: u64) -> String {
    format!("meli-radar-token-version-{v:020}")
}

/// The token as stored in the secret.
#[derive(Serialize, Deserialize)]
struct StoredToken {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    expires_at: DateTime<Utc>,
    #[serde(default)]
    user_id: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    version: u64,
}

/// The `TokenStore` port over one Secrets Manager secret (see the module docs for the CAS).
#[derive(Debug, Clone)]
pub struct SecretsManagerTokenStore {
    client: Client,
    secret_id: String,
}

impl SecretsManagerTokenStore {
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        SecretsManagerTokenStore { client, secret_id: secret_id.into() }
    }
}

fn token_error(e: SecretError) -> TokenStoreError {
    match e {
        SecretError::Malformed { .. } => TokenStoreError::Corrupt(e.to_string()),
        other => TokenStoreError::Store(other.into()),
    }
}

#[async_trait::async_trait]
impl TokenStore for SecretsManagerTokenStore {
    async fn load(&self) -> Result<Option<TokenSet>, TokenStoreError> {
        let raw = match SecretsManagerSource::new(self.client.clone()).get(&self.secret_id).await {
            Ok(raw) => raw,
            // Terraform creates the secret without a value: nothing stored yet.
            Err(SecretError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(token_error(e)),
        };
        let text = raw.expose_secret().trim();
        // An empty placeholder (`{}` or nothing) also means "nothing stored yet".
        if text.is_empty() || text == "{}" {
            return Ok(None);
        }
        let stored: StoredToken = serde_json::from_str(text).map_err(|e| {
            TokenStoreError::Corrupt(format!("secret {}: {}", self.secret_id, redacted_serde_reason(&e)))
        })?;
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
        let version = expected_version + 1;
        let stored = StoredToken {
            access_token: new.access_token.expose_secret().to_string(),
            refresh_token: new.refresh_token.as_ref().map(|r| r.expose_secret().to_string()),
            expires_at: new.expires_at,
            user_id: new.user_id,
            scope: new.scope,
            version,
        };
        let body = SecretString::from(
            serde_json::to_string(&stored)
                .map_err(|e| TokenStoreError::Corrupt(format!("cannot encode the token: {e}")))?,
        );
        let put = self
            .client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .client_request_token(token_version_id(version))
            .secret_string(body.expose_secret())
            .send()
            .await;
        match put {
            Ok(_) => Ok(Swapped::Swapped),
            Err(e) if code(&e) == Some("ResourceExistsException") => Ok(Swapped::Lost),
            Err(e) => Err(token_error(SecretError::from_sdk(&self.secret_id, e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_are_valid_client_request_tokens() {
        for v in [0, 1, 42, u64::MAX] {
            let id = token_version_id(v);
            assert!((32..=64).contains(&id.len()), "{id}");
        }
        assert_ne!(token_version_id(1), token_version_id(2));
    }

    #[test]
    fn app_credentials_parse_without_leaking() {
        let ok = AppCredentials::parse(
            "meli/app",
            &SecretString::from(r#"{"client_id": " 123 ", "client_secret": "s3cr3t", "grant": "authorization_code"}"#),
        )
        .unwrap();
        assert_eq!(ok.client_id, "123");
        assert_eq!(ok.client_secret.expose_secret(), "s3cr3t");
        assert_eq!(ok.grant.as_deref(), Some("authorization_code"));
        assert!(!format!("{ok:?}").contains("s3cr3t"));

        for bad in
            [r#"{"client_id": "1", "client_secret": 7}"#, r#"{"client_id": "1", "client_secret": "hunter2""#, "hunter2"]
        {
            let e = AppCredentials::parse("meli/app", &SecretString::from(bad)).unwrap_err().to_string();
            assert!(e.contains("meli/app") && !e.contains("hunter2"), "{e}");
        }
        let empty = AppCredentials::parse("x", &SecretString::from(r#"{"client_id": "", "client_secret": "a"}"#));
        assert!(matches!(empty, Err(SecretError::Malformed { .. })));
    }
}
