//! Body decoders: bytes → domain types, for the client and for `meli-radar decode <kind> <file>`.
//!
//! Each typed decoder parses the wire type ([`crate::wire`]) and converts it ([`crate::convert`]); a
//! body that is not JSON, or not the JSON the endpoint should return, is
//! `SourceError::Malformed { endpoint, detail }` — never a panic. [`decode`] runs the same decoders by
//! kind name and returns the normalized result as JSON; for `error` it returns the classification.

use chrono::Utc;
use meli_core::source::{
    HighlightEntry, HighlightPosition, ItemInfo, ItemResult, OfferPage, ProductInfo, ReviewSummary, SourceError,
};
use meli_core::EntryId;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::classify::{self, classify_parsed, stated_status, ErrorContext, OAuthErrorKind};
use crate::convert::{self, WireError};
use crate::counters::Endpoint;
use crate::model::{CategoryInfo, CategoryRef, TrendKeyword};
use crate::wire;

fn malformed(endpoint: Endpoint, detail: impl std::fmt::Display) -> SourceError {
    SourceError::Malformed { endpoint: endpoint.as_str().to_string(), detail: classify::short(&detail.to_string()) }
}

fn parse<T: DeserializeOwned>(endpoint: Endpoint, body: &[u8]) -> Result<T, SourceError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(malformed(endpoint, "empty body"));
    }
    // serde_json's message names the line and column and the expected type, never the data itself.
    serde_json::from_slice(body).map_err(|e| malformed(endpoint, e))
}

fn conv<T>(endpoint: Endpoint, r: Result<T, WireError>) -> Result<T, SourceError> {
    r.map_err(|e| malformed(endpoint, e))
}

/// `GET /highlights/{site}/category/{cat}`: the entries sorted by position.
pub fn highlights(body: &[u8]) -> Result<Vec<HighlightEntry>, SourceError> {
    let w: wire::HighlightsBody = parse(Endpoint::Highlights, body)?;
    conv(Endpoint::Highlights, convert::highlight_entries(w))
}

/// `GET /highlights/{site}/product|item/{id}`.
pub fn highlight_position(body: &[u8]) -> Result<HighlightPosition, SourceError> {
    let w: wire::HighlightPositionWire = parse(Endpoint::HighlightPosition, body)?;
    conv(Endpoint::HighlightPosition, HighlightPosition::try_from(w))
}

/// `GET /products/{id}`.
pub fn product(body: &[u8]) -> Result<ProductInfo, SourceError> {
    let w: wire::ProductWire = parse(Endpoint::Product, body)?;
    conv(Endpoint::Product, ProductInfo::try_from(w))
}

/// `GET /products/{id}/items`.
pub fn product_items(body: &[u8]) -> Result<OfferPage, SourceError> {
    let w: wire::OffersWire = parse(Endpoint::ProductItems, body)?;
    conv(Endpoint::ProductItems, OfferPage::try_from(w))
}

/// `GET /items/{id}`.
pub fn item(body: &[u8]) -> Result<ItemInfo, SourceError> {
    let w: wire::ItemWire = parse(Endpoint::Item, body)?;
    conv(Endpoint::Item, ItemInfo::try_from(w))
}

/// One row of a multiget, with the id it names when it names one (error rows often do not).
#[derive(Debug, Clone, PartialEq)]
pub struct MultigetRow {
    pub id: Option<EntryId>,
    pub result: Result<ItemInfo, SourceError>,
}

/// `GET /items?ids=` (`{code, body}` rows) and `GET /items/bulk?ids=` (`{status_code, body}` rows).
/// A row's failure is that row's error; only a body that is not a list of rows fails the call.
pub fn items(endpoint: Endpoint, body: &[u8]) -> Result<Vec<MultigetRow>, SourceError> {
    let rows: Vec<wire::MultigetRowWire> = parse(endpoint, body)?;
    Ok(rows.into_iter().map(|row| multiget_row(endpoint, row)).collect())
}

fn multiget_row(endpoint: Endpoint, row: wire::MultigetRowWire) -> MultigetRow {
    let id = row.body.get("id").and_then(Value::as_str).and_then(|s| EntryId::parse(s).ok());
    let result = match row.status() {
        Some(200) => serde_json::from_value::<wire::ItemWire>(row.body)
            .map_err(|e| malformed(endpoint, e))
            .and_then(|w| conv(endpoint, ItemInfo::try_from(w))),
        Some(status) => {
            let w: wire::ErrorWire = serde_json::from_value(row.body).unwrap_or_default();
            Err(classify_parsed(status, &ErrorContext::default(), &w))
        }
        None => Err(malformed(endpoint, "multiget row without code/status_code")),
    };
    MultigetRow { id, result }
}

/// Matches multiget rows to the ids asked: by the id a row names, else by position; an id with no row
/// is `NotFound`.
pub fn match_rows(asked: &[EntryId], rows: Vec<MultigetRow>) -> Vec<ItemResult> {
    let mut rows: Vec<Option<MultigetRow>> = rows.into_iter().map(Some).collect();
    asked
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let by_id = rows.iter().position(|r| r.as_ref().is_some_and(|r| r.id.as_ref() == Some(id)));
            let by_pos = rows.get(i).and_then(|r| r.as_ref()).filter(|r| r.id.is_none()).map(|_| i);
            let found = by_id.or(by_pos).and_then(|k| rows.get_mut(k).and_then(Option::take));
            (id.clone(), found.map_or(Err(SourceError::NotFound), |r| r.result))
        })
        .collect()
}

/// `GET /reviews/item/{id}`.
pub fn reviews(body: &[u8]) -> Result<ReviewSummary, SourceError> {
    let w: wire::ReviewsWire = parse(Endpoint::Reviews, body)?;
    conv(Endpoint::Reviews, ReviewSummary::try_from(w))
}

/// `GET /categories/{id}`.
pub fn category(body: &[u8]) -> Result<CategoryInfo, SourceError> {
    let w: wire::CategoryWire = parse(Endpoint::Category, body)?;
    conv(Endpoint::Category, CategoryInfo::try_from(w))
}

/// `GET /sites/{site}/categories`.
pub fn site_categories(body: &[u8]) -> Result<Vec<CategoryRef>, SourceError> {
    let w: Vec<wire::CategoryRefWire> = parse(Endpoint::SiteCategories, body)?;
    conv(Endpoint::SiteCategories, w.into_iter().map(CategoryRef::try_from).collect())
}

/// `GET /trends/{site}[/{cat}]`.
pub fn trends(body: &[u8]) -> Result<Vec<TrendKeyword>, SourceError> {
    let w: Vec<wire::TrendWire> = parse(Endpoint::Trends, body)?;
    Ok(w.into_iter().map(TrendKeyword::from).collect())
}

/// `POST /oauth/token` (200).
pub fn token(body: &[u8]) -> Result<wire::TokenWire, SourceError> {
    parse(Endpoint::OAuthToken, body)
}

/// Why [`decode`] could not decode.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown kind {0:?}; expected one of: {kinds}", kinds = KINDS.join(", "))]
    UnknownKind(String),
    #[error("the {kind} body does not decode")]
    Body {
        kind: String,
        #[source]
        source: SourceError,
    },
    #[error("the error body states no status (neither `status` nor a numeric `code`)")]
    NoStatus,
}

/// The kinds [`decode`] knows.
pub const KINDS: [&str; 12] = [
    "highlights",
    "highlight-position",
    "product",
    "product-items",
    "item",
    "items",
    "reviews",
    "category",
    "site-categories",
    "trends",
    "token",
    "error",
];

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn source_error_json(e: &SourceError) -> Value {
    json!({ "kind": e.kind_name(), "transient": e.is_transient(), "message": e.to_string() })
}

/// Decodes a captured response body of the given kind and returns the normalized result as JSON.
/// For `error` bodies the result is the classification (`status`, `kind`, `transient`, `message`,
/// and `oauth_error` for token-endpoint errors). Tokens are never echoed: `token` shows
/// `"[REDACTED]"` in their place.
pub fn decode(kind: &str, body: &[u8]) -> Result<Value, DecodeError> {
    let fail = |source: SourceError| DecodeError::Body { kind: kind.to_string(), source };
    Ok(match kind {
        "highlights" => to_json(&highlights(body).map_err(fail)?),
        "highlight-position" => to_json(&highlight_position(body).map_err(fail)?),
        "product" => to_json(&product(body).map_err(fail)?),
        "product-items" => to_json(&product_items(body).map_err(fail)?),
        "item" => to_json(&item(body).map_err(fail)?),
        "items" => {
            let rows = items(Endpoint::Items, body).map_err(fail)?;
            Value::Array(
                rows.iter()
                    .map(|r| match &r.result {
                        Ok(info) => json!({ "id": r.id, "item": to_json(info) }),
                        Err(e) => json!({ "id": r.id, "error": source_error_json(e) }),
                    })
                    .collect(),
            )
        }
        "reviews" => to_json(&reviews(body).map_err(fail)?),
        "category" => {
            let c = category(body).map_err(fail)?;
            let mut v = to_json(&c);
            if let Value::Object(m) = &mut v {
                m.insert("is_leaf".into(), Value::Bool(c.is_leaf()));
            }
            v
        }
        "site-categories" => to_json(&site_categories(body).map_err(fail)?),
        "trends" => to_json(&trends(body).map_err(fail)?),
        "token" => {
            let w = token(body).map_err(fail)?;
            let has_refresh = w.refresh_token.as_ref().is_some_and(|r| !r.expose_secret().is_empty());
            let user_id = w.user_id;
            let scope = w.scope.clone();
            let expires_in = w.expires_in;
            // Validated as the client would (expires_in > 0, bearer); the expiry instant depends on
            // when the token was issued, so the output states only `expires_in`.
            convert::token_set(w, Utc::now()).map_err(|e| fail(malformed(Endpoint::OAuthToken, e)))?;
            json!({
                "access_token": "[REDACTED]",
                "refresh_token": if has_refresh { Value::from("[REDACTED]") } else { Value::Null },
                "token_type": "bearer",
                "expires_in": expires_in,
                "scope": scope,
                "user_id": user_id,
            })
        }
        "error" => {
            let w = classify::parse_error_body(body);
            let status = stated_status(&w).ok_or(DecodeError::NoStatus)?;
            let e = classify_parsed(status, &ErrorContext::default(), &w);
            let mut v = source_error_json(&e);
            if let Value::Object(m) = &mut v {
                m.insert("status".into(), json!(status));
                let oauth = w.error.as_deref().and_then(OAuthErrorKind::parse);
                m.insert("oauth_error".into(), to_json(&oauth));
            }
            v
        }
        other => return Err(DecodeError::UnknownKind(other.to_string())),
    })
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
