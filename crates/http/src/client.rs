//! `MeliClient`: every request goes through one pipeline —
//! deadline check → rate limiter → access token → HTTP → classify/decode → retry or return.
//!
//! Tokens: the client keeps the last token it used in memory and the authoritative copy in a
//! [`TokenStore`]. Renewal is single-flight within the process (a tokio `Mutex`) and a
//! compare-and-swap across processes: of the callers that find the token expired (or get a 401 with
//! it), exactly one renews; the others wait on the mutex and then use its token, or, in another
//! process, lose the CAS (or get `invalid_grant` for the refresh token the winner already used),
//! reload and use the winner's token.
//!
//! Secrets: the client secret and the tokens are [`SecretString`]s; they are sent in a form body or
//! a `Bearer` header (marked sensitive) and never logged. Server text that reaches an error message
//! is cut short and scrubbed of any secret the client holds.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use meli_core::auth::{MemoryTokenStore, Swapped, TokenSet, TokenStore, TokenStoreError};
use meli_core::clock::{Clock, SystemClock};
use meli_core::source::{
    HighlightEntry, HighlightPosition, ItemInfo, ItemResult, MarketplaceSource, OfferPage, ProductInfo, ReviewSummary,
    SourceError,
};
use meli_core::{CategoryId, EntryId, SiteId};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::time::Instant;

use crate::classify::{self, ErrorContext, OAuthErrorKind};
use crate::config::{Config, Grant};
use crate::convert;
use crate::counters::{ApiCounters, Counters, Endpoint};
use crate::decode;
use crate::limiter::RateLimiter;
use crate::model::{CategoryInfo, CategoryRef, ProbeResult, TrendKeyword};
use crate::retry::RetryPolicy;

/// A token is renewed this long before it expires.
const EXPIRY_MARGIN: chrono::Duration = chrono::Duration::seconds(60);
/// The multiget limit of `/items?ids=` (meli-api.md §4.2).
pub const MAX_MULTIGET: usize = 20;

/// A failure to obtain or renew a token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token endpoint answered with an OAuth error (`invalid_grant` for a used refresh token).
    #[error("the token endpoint refused the {grant} grant: {kind} ({status})")]
    Refused { grant: &'static str, kind: OAuthErrorKind, status: u16, message: String },
    /// The token endpoint could not be used (network, 429, 5xx, malformed answer).
    #[error("the token request failed")]
    Request(#[source] SourceError),
    #[error("the token store failed")]
    Store(#[source] TokenStoreError),
    /// `authorization_code` mode and no user token stored yet.
    #[error("no user token is stored: authorize the app first (authorization_code exchange)")]
    NotAuthorized,
}

impl AuthError {
    /// The OAuth error code, if the token endpoint gave one.
    pub fn oauth_kind(&self) -> Option<OAuthErrorKind> {
        match self {
            AuthError::Refused { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}

impl From<AuthError> for SourceError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Refused { grant, kind, .. } => {
                SourceError::Unauthorized { message: format!("token endpoint refused the {grant} grant: {kind}") }
            }
            AuthError::Request(e) => e,
            AuthError::Store(e) if e.is_transient() => SourceError::Connection(format!("token store: {e}")),
            AuthError::Store(e) => SourceError::Unauthorized { message: format!("token store: {e}") },
            AuthError::NotAuthorized => SourceError::Unauthorized { message: AuthError::NotAuthorized.to_string() },
        }
    }
}

/// The client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client")]
pub struct BuildError(#[source] reqwest::Error);

/// What is known about the current token, without the token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenInfo {
    pub expires_at: chrono::DateTime<Utc>,
    pub user_id: Option<u64>,
    pub scope: Option<String>,
    pub version: u64,
    pub has_refresh_token: bool,
}

impl From<&TokenSet> for TokenInfo {
    fn from(t: &TokenSet) -> Self {
        TokenInfo {
            expires_at: t.expires_at,
            user_id: t.user_id,
            scope: t.scope.clone(),
            version: t.version,
            has_refresh_token: t.refresh_token.is_some(),
        }
    }
}

/// One request to make (the form body holds the client secret, hence a `SecretString`).
enum Req {
    Get(String),
    PostForm { path: &'static str, body: SecretString },
}

impl Req {
    fn path(&self) -> &str {
        match self {
            Req::Get(p) => p,
            Req::PostForm { path, .. } => path,
        }
    }
}

/// An answer, before classification.
struct Raw {
    status: u16,
    ctx: ErrorContext,
    body: Vec<u8>,
}

/// Which failures a call retries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RetryOn {
    /// Every transient error (`SourceError::is_transient`).
    Transient,
    /// Only answers the server gave before doing anything (429, 5xx): for single-use grants, where a
    /// timeout may hide a consumed code or refresh token.
    ServerRefusals,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    client_id: String,
    client_secret: SecretString,
    grant: Grant,
    store: Arc<dyn TokenStore>,
    // The last token used; held only to read or replace it, never across an await.
    cached: Mutex<Option<TokenSet>>,
    // Single-flight renewal: held across the token request on purpose (a tokio mutex).
    renew_lock: tokio::sync::Mutex<()>,
    limiter: Arc<RateLimiter>,
    counters: Counters,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    // Jitter source; held for one draw.
    rng: Mutex<ChaCha8Rng>,
}

/// Builds a [`MeliClient`].
pub struct ClientBuilder {
    config: Config,
    store: Option<Arc<dyn TokenStore>>,
    clock: Option<Arc<dyn Clock>>,
    limiter: Option<Arc<RateLimiter>>,
}

impl ClientBuilder {
    /// Where tokens are kept (default: in memory, this client only).
    pub fn token_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock that decides token expiry (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Shares a rate limiter with other clients (default: a new one from the config's budget).
    pub fn limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    pub fn build(self) -> Result<MeliClient, BuildError> {
        let c = self.config;
        let http = reqwest::Client::builder()
            .timeout(c.retry.request_timeout)
            .connect_timeout(c.retry.request_timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("meli-radar/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(BuildError)?;
        let inner = Inner {
            http,
            base: c.base_url.as_str().trim_end_matches('/').to_string(),
            client_id: c.client_id,
            client_secret: c.client_secret,
            grant: c.grant,
            store: self.store.unwrap_or_else(|| Arc::new(MemoryTokenStore::new())),
            cached: Mutex::new(None),
            renew_lock: tokio::sync::Mutex::new(()),
            limiter: self.limiter.unwrap_or_else(|| Arc::new(RateLimiter::new(c.rate_limit_rps, c.rate_limit_burst))),
            counters: Counters::default(),
            retry: c.retry,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            rng: Mutex::new(ChaCha8Rng::from_entropy()),
        };
        Ok(MeliClient { inner: Arc::new(inner), deadline: None })
    }
}

/// The Mercado Libre API client. Cheap to clone; clones share the token, the rate limiter and the
/// counters.
#[derive(Clone)]
pub struct MeliClient {
    inner: Arc<Inner>,
    deadline: Option<Instant>,
}

impl std::fmt::Debug for MeliClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeliClient")
            .field("base", &self.inner.base)
            .field("client_id", &self.inner.client_id)
            .field("grant", &self.inner.grant)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl MeliClient {
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder { config, store: None, clock: None, limiter: None }
    }

    /// A client with the defaults (in-memory token store, system clock).
    pub fn new(config: Config) -> Result<Self, BuildError> {
        Self::builder(config).build()
    }

    /// A clone whose calls all end by `deadline` (see [`crate::retry`] for the arithmetic).
    pub fn with_deadline(&self, deadline: std::time::Instant) -> Self {
        MeliClient { inner: self.inner.clone(), deadline: Some(Instant::from_std(deadline)) }
    }

    /// A clone without a deadline.
    pub fn without_deadline(&self) -> Self {
        MeliClient { inner: self.inner.clone(), deadline: None }
    }

    pub fn limiter(&self) -> Arc<RateLimiter> {
        self.inner.limiter.clone()
    }

    /// Calls, requests, retries and errors per endpoint so far.
    pub fn counters(&self) -> ApiCounters {
        self.inner.counters.snapshot()
    }

    // --- tokens -------------------------------------------------------------------------------------

    fn now(&self) -> chrono::DateTime<Utc> {
        self.inner.clock.now()
    }

    fn cached(&self) -> Option<TokenSet> {
        self.inner.cached.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_cached(&self, t: &TokenSet) {
        *self.inner.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some(t.clone());
    }

    fn usable(&self, t: &TokenSet) -> bool {
        !t.expires_within(self.now(), EXPIRY_MARGIN)
    }

    /// A valid access token: the cached one, else the store's, else a new one.
    fn access_token(&self) -> BoxFuture<'_, Result<TokenSet, AuthError>> {
        Box::pin(async move {
            match self.cached() {
                Some(t) if self.usable(&t) => Ok(t),
                Some(t) => self.renew(Some(t.version)).await,
                None => self.renew(None).await,
            }
        })
    }

    /// [`Self::renew`] behind a box: the request pipeline calls it, and it calls the pipeline.
    fn renew_boxed(&self, stale: Option<u64>) -> BoxFuture<'_, Result<TokenSet, AuthError>> {
        Box::pin(self.renew(stale))
    }

    /// Renews the token, knowing that the token with version `stale` (if any) is no good. Single
    /// flight: whoever gets the mutex second finds the first one's token and uses it.
    async fn renew(&self, stale: Option<u64>) -> Result<TokenSet, AuthError> {
        let _flight = self.inner.renew_lock.lock().await;
        let fresh = |t: &TokenSet| Some(t.version) != stale && self.usable(t);
        if let Some(t) = self.cached().filter(|t| fresh(t)) {
            return Ok(t);
        }
        let current = self.inner.store.load().await.map_err(AuthError::Store)?;
        if let Some(t) = current.as_ref().filter(|t| fresh(t)) {
            self.set_cached(t);
            return Ok(t.clone());
        }
        let expected = current.as_ref().map_or(0, |t| t.version);
        let refresh_token = current.as_ref().and_then(|t| t.refresh_token.clone());
        let new = match (refresh_token, self.inner.grant) {
            (Some(rt), _) => match self.refresh_grant(&rt).await {
                Ok(t) => t,
                Err(e) if e.oauth_kind() == Some(OAuthErrorKind::InvalidGrant) => {
                    // Another process may have used this refresh token first: take its token. It
                    // may still be between its refresh and its store write, so look a few times
                    // (waiting at most 0.1 + 0.2 + 0.4 + 0.8 s in all).
                    for wait_ms in [0u64, 100, 200, 400, 800] {
                        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
                        if let Some(w) = self.inner.store.load().await.map_err(AuthError::Store)? {
                            if w.version != expected && self.usable(&w) {
                                tracing::info!(
                                    version = w.version,
                                    "refresh token already used elsewhere; using the stored token"
                                );
                                self.set_cached(&w);
                                return Ok(w);
                            }
                        }
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            },
            (None, Grant::ClientCredentials) => self.client_credentials_grant().await?,
            (None, Grant::AuthorizationCode) => return Err(AuthError::NotAuthorized),
        };
        self.store_token(expected, new).await
    }

    /// Writes a token obtained from `expected`; on a lost race, uses the winner's.
    async fn store_token(&self, expected: u64, new: TokenSet) -> Result<TokenSet, AuthError> {
        match self.inner.store.compare_and_swap(expected, new.clone()).await.map_err(AuthError::Store)? {
            Swapped::Swapped => {
                let t = TokenSet { version: expected + 1, ..new };
                tracing::info!(version = t.version, expires_at = %t.expires_at, "stored a new access token");
                self.set_cached(&t);
                Ok(t)
            }
            Swapped::Lost => {
                let w = self.inner.store.load().await.map_err(AuthError::Store)?.ok_or(AuthError::NotAuthorized)?;
                tracing::info!(version = w.version, "another worker stored a token first; using it");
                self.set_cached(&w);
                Ok(w)
            }
        }
    }

    fn form(&self, pairs: &[(&str, &str)]) -> SecretString {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.append_pair("client_id", &self.inner.client_id);
        s.append_pair("client_secret", self.inner.client_secret.expose_secret());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        SecretString::from(s.finish())
    }

    async fn token_request(
        &self,
        grant: &'static str,
        body: SecretString,
        retry: RetryOn,
    ) -> Result<TokenSet, AuthError> {
        let sent_at = self.now();
        let req = Req::PostForm { path: "/oauth/token", body };
        let outcome = self
            .run(Endpoint::OAuthToken, &req, false, retry, |raw| {
                if (200..300).contains(&raw.status) {
                    let w = decode::token(&raw.body)?;
                    convert::token_set(w, sent_at).map(Ok).map_err(|e| SourceError::Malformed {
                        endpoint: Endpoint::OAuthToken.as_str().into(),
                        detail: e.to_string(),
                    })
                } else if let (400..=403, Some(kind)) = (raw.status, classify::oauth_error(&raw.body)) {
                    Ok(Err(AuthError::Refused {
                        grant,
                        kind,
                        status: raw.status,
                        message: self.scrub_text(&message_of(&raw.body)),
                    }))
                } else {
                    Err(classify::classify(raw.status, &raw.ctx, &raw.body))
                }
            })
            .await;
        match outcome {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(refused)) => {
                tracing::warn!(grant, error = %refused, "token request refused");
                Err(refused)
            }
            Err(e) => Err(AuthError::Request(e)),
        }
    }

    async fn client_credentials_grant(&self) -> Result<TokenSet, AuthError> {
        let body = self.form(&[("grant_type", "client_credentials")]);
        self.token_request("client_credentials", body, RetryOn::Transient).await
    }

    async fn refresh_grant(&self, refresh_token: &SecretString) -> Result<TokenSet, AuthError> {
        let body = self.form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token.expose_secret())]);
        self.token_request("refresh_token", body, RetryOn::ServerRefusals).await
    }

    /// Exchanges an authorization code (the browser step's `code`) for a user token and stores it,
    /// replacing whatever token was stored.
    pub async fn exchange_code(&self, code: &SecretString, redirect_uri: &str) -> Result<TokenInfo, AuthError> {
        let body = self.form(&[
            ("grant_type", "authorization_code"),
            ("code", code.expose_secret()),
            ("redirect_uri", redirect_uri),
        ]);
        let new = self.token_request("authorization_code", body, RetryOn::ServerRefusals).await?;
        let _flight = self.inner.renew_lock.lock().await;
        // An explicit authorization replaces any stored token; retry the CAS if a renewal races it.
        for _ in 0..5 {
            let expected = self.inner.store.load().await.map_err(AuthError::Store)?.map_or(0, |t| t.version);
            if let Swapped::Swapped =
                self.inner.store.compare_and_swap(expected, new.clone()).await.map_err(AuthError::Store)?
            {
                let t = TokenSet { version: expected + 1, ..new };
                self.set_cached(&t);
                return Ok(TokenInfo::from(&t));
            }
        }
        Err(AuthError::Store(TokenStoreError::Corrupt("the token kept changing during the code exchange".into())))
    }

    /// Makes sure a valid token is at hand (obtaining one if needed) and describes it.
    pub async fn authenticate(&self) -> Result<TokenInfo, AuthError> {
        self.access_token().await.map(|t| TokenInfo::from(&t))
    }

    /// Renews the token now, even if it has not expired (single-flight and CAS as always).
    pub async fn refresh_now(&self) -> Result<TokenInfo, AuthError> {
        let current = match self.cached() {
            Some(t) => Some(t),
            None => self.inner.store.load().await.map_err(AuthError::Store)?,
        };
        self.renew(current.map(|t| t.version)).await.map(|t| TokenInfo::from(&t))
    }

    /// Calls the refresh grant with the given refresh token, storing nothing. For tools and tests
    /// that need to see what the token endpoint says about a particular refresh token.
    pub async fn refresh_with(&self, refresh_token: &SecretString) -> Result<TokenInfo, AuthError> {
        self.refresh_grant(refresh_token).await.map(|t| TokenInfo::from(&t))
    }

    // --- the request pipeline ------------------------------------------------------------------------

    /// Replaces every secret the client holds by `[REDACTED]`.
    fn scrub_text(&self, s: &str) -> String {
        let mut out = s.to_string();
        let mut secrets: Vec<String> = vec![self.inner.client_secret.expose_secret().to_string()];
        if let Some(t) = self.cached() {
            secrets.push(t.access_token.expose_secret().to_string());
            if let Some(r) = &t.refresh_token {
                secrets.push(r.expose_secret().to_string());
            }
        }
        for secret in secrets.iter().filter(|s| s.len() >= 4) {
            out = out.replace(secret.as_str(), "[REDACTED]");
        }
        out
    }

    fn scrub(&self, e: SourceError) -> SourceError {
        match e {
            SourceError::Forbidden { kind, message } => {
                SourceError::Forbidden { kind, message: self.scrub_text(&message) }
            }
            SourceError::Unauthorized { message } => SourceError::Unauthorized { message: self.scrub_text(&message) },
            SourceError::BadRequest { status, message } => {
                SourceError::BadRequest { status, message: self.scrub_text(&message) }
            }
            SourceError::Connection(m) => SourceError::Connection(self.scrub_text(&m)),
            SourceError::Malformed { endpoint, detail } => {
                SourceError::Malformed { endpoint, detail: self.scrub_text(&detail) }
            }
            other => other,
        }
    }

    fn backoff(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let mut rng = self.inner.rng.lock().unwrap_or_else(|p| p.into_inner());
        self.inner.retry.backoff(retry, retry_after, &mut *rng)
    }

    async fn send_once(&self, req: &Req, token: Option<&TokenSet>, timeout: Duration) -> Result<Raw, SourceError> {
        let url = format!("{}{}", self.inner.base, req.path());
        let mut rb = match req {
            Req::Get(_) => self.inner.http.get(&url),
            Req::PostForm { body, .. } => self
                .inner
                .http
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body.expose_secret().to_string()),
        };
        rb = rb.header(reqwest::header::ACCEPT, "application/json").timeout(timeout);
        if let Some(t) = token {
            // bearer_auth marks the header sensitive (hidden from reqwest's Debug output).
            rb = rb.bearer_auth(t.access_token.expose_secret());
        }
        let resp = rb.send().await.map_err(transport_error)?;
        let status = resp.status().as_u16();
        let ctx = ErrorContext::from_headers(resp.headers());
        // A connection dropped mid-body fails here, as a transient error.
        let body = resp.bytes().await.map_err(transport_error)?.to_vec();
        Ok(Raw { status, ctx, body })
    }

    /// Runs one call: retries transient failures with backoff, renews the token once on a 401, keeps
    /// within the deadline, counts. `handle` turns an answer into the result or an error (a transient
    /// one, such as a malformed body, is retried like any other).
    async fn run<T>(
        &self,
        ep: Endpoint,
        req: &Req,
        auth: bool,
        retry_on: RetryOn,
        handle: impl Fn(Raw) -> Result<T, SourceError>,
    ) -> Result<T, SourceError> {
        let policy = self.inner.retry;
        let deadline = self.deadline;
        self.inner.counters.call(ep);
        let mut attempt: u32 = 0;
        let mut renewed = false;
        let mut last: Option<SourceError> = None;
        let result = loop {
            if policy.attempt_timeout(Instant::now(), deadline).is_none()
                || self.inner.limiter.acquire(policy.latest_start(deadline)).await.is_err()
            {
                break Err(last.take().unwrap_or(SourceError::DeadlineExceeded));
            }
            let token = if auth {
                match self.access_token().await {
                    Ok(t) => Some(t),
                    Err(e) => break Err(e.into()),
                }
            } else {
                None
            };
            // Computed after the limiter's wait and the token: the attempt ends by the deadline.
            let Some(timeout) = policy.attempt_timeout(Instant::now(), deadline) else {
                break Err(last.take().unwrap_or(SourceError::DeadlineExceeded));
            };
            attempt += 1;
            self.inner.counters.request(ep);
            let started = Instant::now();
            let outcome = self.send_once(req, token.as_ref(), timeout).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let err = match outcome {
                Ok(raw) if raw.status == 401 && !renewed && token.is_some() => {
                    tracing::info!(endpoint = %ep, "401 with the current token; renewing it once");
                    renewed = true;
                    // The renewal and its retry do not count as an attempt of this call.
                    attempt -= 1;
                    if let Err(e) = self.renew_boxed(token.as_ref().map(|t| t.version)).await {
                        break Err(e.into());
                    }
                    continue;
                }
                Ok(raw) => {
                    let status = raw.status;
                    tracing::debug!(endpoint = %ep, path = req.path(), status, attempt, elapsed_ms, "answer");
                    match handle(raw) {
                        Ok(v) => break Ok(v),
                        Err(e) => e,
                    }
                }
                Err(e) => {
                    tracing::debug!(endpoint = %ep, path = req.path(), attempt, elapsed_ms, error = e.kind_name(), "no answer");
                    e
                }
            };
            let err = self.scrub(err);
            let retryable = match retry_on {
                RetryOn::Transient => err.is_transient(),
                RetryOn::ServerRefusals => {
                    matches!(err, SourceError::RateLimited { .. } | SourceError::Server { .. })
                }
            };
            if !retryable || attempt >= policy.max_attempts {
                break Err(err);
            }
            let retry_after = match &err {
                SourceError::RateLimited { retry_after } => *retry_after,
                _ => None,
            };
            let sleep = self.backoff(attempt, retry_after);
            if !policy.may_sleep(Instant::now(), sleep, deadline) {
                break Err(err);
            }
            self.inner.counters.retry(ep);
            tracing::warn!(endpoint = %ep, path = req.path(), attempt, error = %err, sleep_ms = sleep.as_millis() as u64, "transient error; retrying");
            tokio::time::sleep(sleep).await;
            last = Some(err);
        };
        if let Err(e) = &result {
            self.inner.counters.error(ep, e);
            tracing::debug!(endpoint = %ep, path = req.path(), error = %e, "call failed");
        }
        result
    }

    /// A GET whose 2xx body goes through `decode`, and whose other answers are classified.
    async fn get<T>(
        &self,
        ep: Endpoint,
        path: String,
        decode: impl Fn(&[u8]) -> Result<T, SourceError>,
    ) -> Result<T, SourceError> {
        let req = Req::Get(path);
        self.run(ep, &req, true, RetryOn::Transient, |raw| {
            if (200..300).contains(&raw.status) {
                decode(&raw.body)
            } else {
                Err(classify::classify(raw.status, &raw.ctx, &raw.body))
            }
        })
        .await
    }

    // --- endpoints -----------------------------------------------------------------------------------

    /// `GET /highlights/{site}/category/{cat}`.
    pub async fn highlights(&self, site: SiteId, category: &CategoryId) -> Result<Vec<HighlightEntry>, SourceError> {
        self.get(Endpoint::Highlights, format!("/highlights/{site}/category/{category}"), decode::highlights).await
    }

    /// `GET /highlights/{site}/product/{id}`: `None` when the product is in no top-20.
    pub async fn product_position(&self, site: SiteId, id: &EntryId) -> Result<Option<HighlightPosition>, SourceError> {
        self.position(format!("/highlights/{site}/product/{id}")).await
    }

    /// `GET /highlights/{site}/item/{id}`: `None` when the listing is in no top-20.
    pub async fn item_position(&self, site: SiteId, id: &EntryId) -> Result<Option<HighlightPosition>, SourceError> {
        self.position(format!("/highlights/{site}/item/{id}")).await
    }

    async fn position(&self, path: String) -> Result<Option<HighlightPosition>, SourceError> {
        match self.get(Endpoint::HighlightPosition, path, decode::highlight_position).await {
            Ok(p) => Ok(Some(p)),
            Err(SourceError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /products/{id}`.
    pub async fn product(&self, id: &EntryId) -> Result<ProductInfo, SourceError> {
        self.get(Endpoint::Product, format!("/products/{id}"), decode::product).await
    }

    /// `GET /products/{id}/items?offset=&limit=` (limit clamped to 1..=100).
    pub async fn product_offers(&self, id: &EntryId, offset: u32, limit: u32) -> Result<OfferPage, SourceError> {
        let limit = limit.clamp(1, 100);
        self.get(
            Endpoint::ProductItems,
            format!("/products/{id}/items?offset={offset}&limit={limit}"),
            decode::product_items,
        )
        .await
    }

    /// `GET /items/{id}`.
    pub async fn item(&self, id: &EntryId) -> Result<ItemInfo, SourceError> {
        self.get(Endpoint::Item, format!("/items/{id}"), decode::item).await
    }

    /// `GET /items?ids=` (≤ 20 ids): one result per id, in the order asked.
    pub async fn items(&self, ids: &[EntryId]) -> Result<Vec<ItemResult>, SourceError> {
        self.multiget(Endpoint::Items, "/items", ids).await
    }

    /// `GET /items/bulk?ids=` (≤ 20 ids): one result per id, in the order asked.
    pub async fn items_bulk(&self, ids: &[EntryId]) -> Result<Vec<ItemResult>, SourceError> {
        self.multiget(Endpoint::ItemsBulk, "/items/bulk", ids).await
    }

    async fn multiget(&self, ep: Endpoint, path: &str, ids: &[EntryId]) -> Result<Vec<ItemResult>, SourceError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > MAX_MULTIGET {
            return Err(SourceError::BadRequest {
                status: 400,
                message: format!("{} ids asked; a multiget takes at most {MAX_MULTIGET}", ids.len()),
            });
        }
        let joined = ids.iter().map(EntryId::as_str).collect::<Vec<_>>().join(",");
        let rows = self.get(ep, format!("{path}?ids={joined}"), |b| decode::items(ep, b)).await?;
        Ok(decode::match_rows(ids, rows))
    }

    /// `GET /reviews/item/{id}[?catalog_product_id=]`.
    pub async fn reviews(
        &self,
        item_id: &EntryId,
        catalog_product_id: Option<&EntryId>,
    ) -> Result<ReviewSummary, SourceError> {
        let path = match catalog_product_id {
            Some(p) => format!("/reviews/item/{item_id}?catalog_product_id={p}"),
            None => format!("/reviews/item/{item_id}"),
        };
        self.get(Endpoint::Reviews, path, decode::reviews).await
    }

    /// `GET /categories/{id}`.
    pub async fn category(&self, id: &CategoryId) -> Result<CategoryInfo, SourceError> {
        self.get(Endpoint::Category, format!("/categories/{id}"), decode::category).await
    }

    /// `GET /sites/{site}/categories`: the top-level categories.
    pub async fn site_categories(&self, site: SiteId) -> Result<Vec<CategoryRef>, SourceError> {
        self.get(Endpoint::SiteCategories, format!("/sites/{site}/categories"), decode::site_categories).await
    }

    /// `GET /trends/{site}[/{cat}]`.
    pub async fn trends(&self, site: SiteId, category: Option<&CategoryId>) -> Result<Vec<TrendKeyword>, SourceError> {
        let path = match category {
            Some(c) => format!("/trends/{site}/{c}"),
            None => format!("/trends/{site}"),
        };
        self.get(Endpoint::Trends, path, decode::trends).await
    }

    /// `GET {path}` with the app's token: the status and the top-level keys of the answer, for the
    /// capability probe. Transient failures are retried like any call; other statuses are reported,
    /// not raised.
    pub async fn probe(&self, path: &str) -> Result<ProbeResult, SourceError> {
        if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) || path.contains("//") {
            return Err(SourceError::BadRequest { status: 400, message: format!("not an API path: {path:?}") });
        }
        let req = Req::Get(path.to_string());
        let owned = path.to_string();
        self.run(Endpoint::Probe, &req, true, RetryOn::Transient, move |raw| {
            let error =
                (!(200..300).contains(&raw.status)).then(|| classify::classify(raw.status, &raw.ctx, &raw.body));
            if let Some(e) = error.as_ref().filter(|e| e.is_transient()) {
                return Err(e.clone());
            }
            let parsed: Option<Value> = serde_json::from_slice(&raw.body).ok();
            if error.is_none() && parsed.is_none() {
                return Err(SourceError::Malformed {
                    endpoint: Endpoint::Probe.as_str().into(),
                    detail: "body is not JSON".into(),
                });
            }
            let (top_level_keys, array_len) = match &parsed {
                Some(Value::Object(m)) => {
                    let mut keys: Vec<String> = m.keys().cloned().collect();
                    keys.sort();
                    (keys, None)
                }
                Some(Value::Array(a)) => (Vec::new(), Some(a.len())),
                _ => (Vec::new(), None),
            };
            Ok(ProbeResult {
                path: owned.clone(),
                status: raw.status,
                error_kind: error.map(|e| e.kind_name().to_string()),
                top_level_keys,
                array_len,
            })
        })
        .await
    }
}

fn message_of(body: &[u8]) -> String {
    let w = classify::parse_error_body(body);
    classify::short(w.error_description.as_deref().or(w.message.as_deref()).unwrap_or(""))
}

/// A request that got no (complete) answer.
fn transport_error(e: reqwest::Error) -> SourceError {
    if e.is_timeout() {
        SourceError::Timeout
    } else {
        // The URL carries no secret (tokens go in a header or a form body), but it is dropped anyway:
        // the endpoint is in the log context.
        let e = e.without_url();
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        SourceError::Connection(classify::short(&text))
    }
}

#[async_trait::async_trait]
impl MarketplaceSource for MeliClient {
    async fn highlights(&self, site: SiteId, category: &CategoryId) -> Result<Vec<HighlightEntry>, SourceError> {
        MeliClient::highlights(self, site, category).await
    }

    async fn product(&self, id: &EntryId) -> Result<ProductInfo, SourceError> {
        MeliClient::product(self, id).await
    }

    async fn product_offers(&self, id: &EntryId, offset: u32, limit: u32) -> Result<OfferPage, SourceError> {
        MeliClient::product_offers(self, id, offset, limit).await
    }

    async fn items(&self, ids: &[EntryId]) -> Result<Vec<ItemResult>, SourceError> {
        MeliClient::items(self, ids).await
    }

    async fn reviews(
        &self,
        item_id: &EntryId,
        catalog_product_id: Option<&EntryId>,
    ) -> Result<ReviewSummary, SourceError> {
        MeliClient::reviews(self, item_id, catalog_product_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_shareable() {
        fn is<T: Send + Sync + Clone>() {}
        is::<MeliClient>();
    }
}
