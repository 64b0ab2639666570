//! Calls per endpoint: what the fetch report and the benchmarks read.
//!
//! A *call* is one method call of the client (what the caller asked for); a *request* is one HTTP
//! request (a call makes several when it retries or refreshes the token); *retries* counts the
//! requests made again after a transient failure; *errors* counts calls that failed, by
//! [`SourceError::kind_name`].

use std::collections::BTreeMap;
use std::sync::Mutex;

use meli_core::source::SourceError;
use serde::Serialize;

/// The endpoints the client calls, as stable names for counters and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    Highlights,
    HighlightPosition,
    Product,
    ProductItems,
    Item,
    Items,
    ItemsBulk,
    Reviews,
    Category,
    SiteCategories,
    Trends,
    OAuthToken,
    Probe,
}

impl Endpoint {
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Highlights => "highlights",
            Endpoint::HighlightPosition => "highlight_position",
            Endpoint::Product => "product",
            Endpoint::ProductItems => "product_items",
            Endpoint::Item => "item",
            Endpoint::Items => "items",
            Endpoint::ItemsBulk => "items_bulk",
            Endpoint::Reviews => "reviews",
            Endpoint::Category => "category",
            Endpoint::SiteCategories => "site_categories",
            Endpoint::Trends => "trends",
            Endpoint::OAuthToken => "oauth_token",
            Endpoint::Probe => "probe",
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The counts of one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EndpointCounts {
    pub calls: u64,
    pub requests: u64,
    pub retries: u64,
    pub errors: BTreeMap<String, u64>,
}

impl EndpointCounts {
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// A snapshot of every endpoint's counts (only endpoints that were called appear).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApiCounters {
    pub endpoints: BTreeMap<String, EndpointCounts>,
}

impl ApiCounters {
    pub fn get(&self, endpoint: Endpoint) -> EndpointCounts {
        self.endpoints.get(endpoint.as_str()).cloned().unwrap_or_default()
    }

    pub fn total_requests(&self) -> u64 {
        self.endpoints.values().map(|c| c.requests).sum()
    }

    pub fn total_calls(&self) -> u64 {
        self.endpoints.values().map(|c| c.calls).sum()
    }
}

/// The live counters, shared by clones of a client.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    // Held for one map update at a time, never across an await.
    map: Mutex<BTreeMap<Endpoint, EndpointCounts>>,
}

impl Counters {
    fn with(&self, ep: Endpoint, f: impl FnOnce(&mut EndpointCounts)) {
        let mut g = self.map.lock().unwrap_or_else(|p| p.into_inner());
        f(g.entry(ep).or_default());
    }

    pub fn call(&self, ep: Endpoint) {
        self.with(ep, |c| c.calls += 1);
    }

    pub fn request(&self, ep: Endpoint) {
        self.with(ep, |c| c.requests += 1);
    }

    pub fn retry(&self, ep: Endpoint) {
        self.with(ep, |c| c.retries += 1);
    }

    pub fn error(&self, ep: Endpoint, e: &SourceError) {
        self.with(ep, |c| *c.errors.entry(e.kind_name().to_string()).or_default() += 1);
    }

    pub fn snapshot(&self) -> ApiCounters {
        let g = self.map.lock().unwrap_or_else(|p| p.into_inner());
        ApiCounters { endpoints: g.iter().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect() }
    }
}
