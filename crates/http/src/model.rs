//! Domain types for the endpoints that the `MarketplaceSource` port does not cover (categories,
//! trends, probes). The port's own types live in `meli_core::source`.

use meli_core::CategoryId;
use serde::Serialize;

/// A category named in a tree walk (`path_from_root`, `children_categories`, `/sites/{site}/categories`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryRef {
    pub id: CategoryId,
    pub name: Option<String>,
    pub total_items: Option<u64>,
}

/// `/categories/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryInfo {
    pub id: CategoryId,
    pub name: String,
    /// `total_items_in_this_category`: the supply signal.
    pub total_items: Option<u64>,
    pub path_from_root: Vec<CategoryRef>,
    pub children: Vec<CategoryRef>,
}

impl CategoryInfo {
    /// A leaf has no children categories.
    pub fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }
}

/// One keyword of `/trends/{site}[/{cat}]`, in the order served (the order is the signal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrendKeyword {
    pub keyword: String,
    pub url: Option<String>,
}

/// What `probe(path)` saw: the status and, for a JSON body, its top-level keys (or `[]` for an
/// array, with its length).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeResult {
    pub path: String,
    pub status: u16,
    /// The classified error kind for a non-2xx answer (`forbidden_policy_agent`, `no_list`, ...).
    pub error_kind: Option<String>,
    pub top_level_keys: Vec<String>,
    pub array_len: Option<usize>,
}
