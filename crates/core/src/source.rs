//! The `MarketplaceSource` port: what the fetch step needs from Mercado Libre, in domain types.
//!
//! `meli-http` implements it over HTTP (wire types decoded and converted with `TryFrom` there); tests
//! use the sandbox through that same client. Errors keep their kind, because the fetch step acts on it:
//! a 404 "no list" backs a category off, a 403 marks it forbidden, transient errors are retried.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ids::{CategoryId, EntryId, EntryType, Position, SiteId};

/// One entry of `/highlights/{site}/category/{cat}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HighlightEntry {
    pub position: Position,
    pub id: EntryId,
    #[serde(rename = "type")]
    pub kind: EntryType,
}

/// `/highlights/{site}/product|item/{id}`: where an entry ranks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HighlightPosition {
    pub category: CategoryId,
    pub label: Option<String>,
    pub position: Position,
}

/// What `/products/{id}` says that the radar keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductInfo {
    pub id: EntryId,
    pub name: String,
    pub status: Option<String>,
    pub brand: Option<String>,
    pub permalink: Option<String>,
    pub domain_id: Option<String>,
    /// Buy-box winner price, when there is a winner (often null in 2026).
    pub price: Option<f64>,
    pub currency: Option<String>,
    /// `buy_box_winner_price_range`, when present.
    pub price_min: Option<f64>,
    pub price_max: Option<f64>,
    /// The buy-box winner's listing, usable for `/reviews/item/{id}?catalog_product_id=`.
    pub winner_item_id: Option<EntryId>,
}

/// One offer of `/products/{id}/items`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    pub item_id: EntryId,
    pub seller_id: Option<u64>,
    pub price: Option<f64>,
    pub currency: Option<String>,
    pub free_shipping: Option<bool>,
}

/// A page of `/products/{id}/items`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferPage {
    pub total: u32,
    pub offset: u32,
    pub limit: u32,
    pub offers: Vec<Offer>,
}

/// What `/items/{id}` (or one multiget entry) says that the radar keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemInfo {
    pub id: EntryId,
    pub title: String,
    pub price: Option<f64>,
    pub currency: Option<String>,
    pub permalink: Option<String>,
    pub seller_id: Option<u64>,
    pub catalog_product_id: Option<EntryId>,
    pub brand: Option<String>,
}

/// `/reviews/item/{id}`: the totals only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewSummary {
    pub total: u64,
    pub rating_average: Option<f64>,
}

/// Which 403 it was: they mean different things to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForbiddenKind {
    /// `PA_UNAUTHORIZED_RESULT_FROM_POLICIES`, `blocked_by: PolicyAgent`: the app lacks a permission.
    PolicyAgent,
    /// `access_denied` / `FORBIDDEN`: another seller's resource.
    AccessDenied,
    /// `x-cache: Error from cloudfront`: the caller's IP is blocked.
    CloudFront,
    /// Any other 403.
    Other,
}

/// A failed call, classified. [`SourceError::is_transient`] is the one place that decides retries.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// `/highlights` 404 "Dimension CATEGORY with id … not found": the category has no list.
    #[error("category has no best-seller list")]
    NoList,
    #[error("not found")]
    NotFound,
    #[error("forbidden ({kind:?}): {message}")]
    Forbidden { kind: ForbiddenKind, message: String },
    #[error("unauthorized: {message}")]
    Unauthorized { message: String },
    #[error("rate limited (429)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("server error {status}")]
    Server { status: u16 },
    #[error("request timed out")]
    Timeout,
    #[error("connection failed: {0}")]
    Connection(String),
    #[error("malformed response from {endpoint}: {detail}")]
    Malformed { endpoint: String, detail: String },
    #[error("bad request ({status}): {message}")]
    BadRequest { status: u16, message: String },
    #[error("no time left before the deadline")]
    DeadlineExceeded,
}

impl SourceError {
    /// Whether the same call may succeed if tried again later.
    pub fn is_transient(&self) -> bool {
        match self {
            SourceError::RateLimited { .. }
            | SourceError::Server { .. }
            | SourceError::Timeout
            | SourceError::Connection(_) => true,
            // A truncated or garbled body is what a dropped connection looks like mid-body.
            SourceError::Malformed { .. } => true,
            SourceError::NoList
            | SourceError::NotFound
            | SourceError::Forbidden { .. }
            | SourceError::Unauthorized { .. }
            | SourceError::BadRequest { .. }
            | SourceError::DeadlineExceeded => false,
        }
    }

    /// A short stable name for reports (`no_list`, `forbidden_policy_agent`, ...).
    pub fn kind_name(&self) -> &'static str {
        match self {
            SourceError::NoList => "no_list",
            SourceError::NotFound => "not_found",
            SourceError::Forbidden { kind: ForbiddenKind::PolicyAgent, .. } => "forbidden_policy_agent",
            SourceError::Forbidden { kind: ForbiddenKind::AccessDenied, .. } => "forbidden_access_denied",
            SourceError::Forbidden { kind: ForbiddenKind::CloudFront, .. } => "forbidden_cloudfront",
            SourceError::Forbidden { kind: ForbiddenKind::Other, .. } => "forbidden",
            SourceError::Unauthorized { .. } => "unauthorized",
            SourceError::RateLimited { .. } => "rate_limited",
            SourceError::Server { .. } => "server_error",
            SourceError::Timeout => "timeout",
            SourceError::Connection(_) => "connection",
            SourceError::Malformed { .. } => "malformed",
            SourceError::BadRequest { .. } => "bad_request",
            SourceError::DeadlineExceeded => "deadline",
        }
    }
}

/// Per-entry result of a multiget.
pub type ItemResult = (EntryId, Result<ItemInfo, SourceError>);

/// What the fetch step calls. One implementation per transport; every method is one API request
/// (after retries), so the caller can count calls per endpoint.
#[async_trait::async_trait]
pub trait MarketplaceSource: Send + Sync {
    /// `GET /highlights/{site}/category/{cat}`.
    async fn highlights(&self, site: SiteId, category: &CategoryId) -> Result<Vec<HighlightEntry>, SourceError>;
    /// `GET /products/{id}`.
    async fn product(&self, id: &EntryId) -> Result<ProductInfo, SourceError>;
    /// `GET /products/{id}/items?offset=&limit=` (limit ≤ 100).
    async fn product_offers(&self, id: &EntryId, offset: u32, limit: u32) -> Result<OfferPage, SourceError>;
    /// `GET /items?ids=` (≤ 20 ids): one result per id, in the order asked.
    async fn items(&self, ids: &[EntryId]) -> Result<Vec<ItemResult>, SourceError>;
    /// `GET /reviews/item/{id}[?catalog_product_id=]`.
    async fn reviews(
        &self,
        item_id: &EntryId,
        catalog_product_id: Option<&EntryId>,
    ) -> Result<ReviewSummary, SourceError>;
}
