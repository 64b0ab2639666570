//! The HTTP surface: the API routes, the `/_sandbox` control routes, bearer auth and the layer
//! that counts requests and injects faults.

use std::collections::BTreeMap;
use std::io;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::auth::{TokenInfo, TokenRequest};
use crate::config::ItemsAccess;
use crate::errors::ApiError;
use crate::market::{h3, str_hash, unit, ItemRef, Kind, Market, ProductRef};
use crate::render::{self, Viewer};
use crate::sim::{tick_time, top_entries};
use crate::state::SandboxState;

type Q = Query<BTreeMap<String, String>>;
type ApiResult = Result<Response, ApiError>;

/// The router of a sandbox.
pub fn app(state: SandboxState) -> Router {
    Router::new()
        .route("/oauth/token", post(oauth_token))
        .route("/_sandbox/authorize", get(authorize))
        .route("/_sandbox/advance", post(advance))
        .route("/_sandbox/clock", get(clock))
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/truth", get(truth))
        .route("/sites/{site}/categories", get(site_categories))
        .route("/sites/{site}/search", get(search_closed))
        .route("/categories/{id}", get(category))
        .route("/highlights/{site}/category/{cat}", get(highlights_category))
        .route("/highlights/{site}/product/{id}", get(highlights_product))
        .route("/highlights/{site}/item/{id}", get(highlights_item))
        .route("/products/{id}", get(product))
        .route("/products/{id}/items", get(product_items))
        .route("/items", get(items_multiget))
        .route("/items/bulk", get(items_bulk))
        .route("/items/{id}", get(item))
        .route("/reviews/item/{id}", get(reviews))
        .route("/trends/{site}", get(trends_site))
        .route("/trends/{site}/{cat}", get(trends_category))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), sandbox_layer))
        .with_state(state)
}

// ---------------------------------------------------------------- auth

/// A request with a valid bearer token (rate limit applied).
pub(crate) struct Authed(pub TokenInfo);

/// A request that may carry a token (validated when present).
pub(crate) struct MaybeAuthed(#[allow(dead_code)] pub Option<TokenInfo>);

fn bearer(parts: &Parts) -> Option<String> {
    if let Some(h) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let v = h.to_str().unwrap_or("").trim();
        let token = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).unwrap_or(v);
        return Some(token.trim().to_string());
    }
    // Legacy `?access_token=`.
    parts.uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "access_token").map(|(_, v)| v.into_owned())
    })
}

fn check(parts: &Parts, st: &SandboxState, token: &str) -> Result<TokenInfo, ApiError> {
    let _ = parts;
    // Short lock over the token table; no await while held.
    let info = st.inner.auth.lock().check(token, st.now())?;
    if !st.take_token(&info.client_id) {
        return Err(ApiError::TooManyRequests);
    }
    Ok(info)
}

impl FromRequestParts<SandboxState> for Authed {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &SandboxState) -> Result<Self, ApiError> {
        match bearer(parts) {
            Some(t) if !t.is_empty() => check(parts, st, &t).map(Authed),
            _ => Err(ApiError::MissingToken),
        }
    }
}

impl FromRequestParts<SandboxState> for MaybeAuthed {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, st: &SandboxState) -> Result<Self, ApiError> {
        match bearer(parts) {
            Some(t) if !t.is_empty() => check(parts, st, &t).map(|i| MaybeAuthed(Some(i))),
            _ => Ok(MaybeAuthed(None)),
        }
    }
}

fn ok(v: Value) -> ApiResult {
    Ok(Json(v).into_response())
}

fn json_bytes(status: StatusCode, body: Bytes) -> Response {
    (status, [(CONTENT_TYPE, "application/json")], body).into_response()
}

fn site_idx(site: &str) -> Result<usize, ApiError> {
    Market::site_index(site).ok_or_else(|| ApiError::BadRequest(format!("Error site: {site}")))
}

// ---------------------------------------------------------------- oauth and control routes

async fn oauth_token(State(st): State<SandboxState>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let is_json =
        headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/json"));
    let req: TokenRequest = if is_json {
        serde_json::from_slice(&body).map_err(|_| ApiError::OAuth {
            error: "invalid_request",
            description: "the request body is not valid JSON".to_string(),
        })?
    } else {
        let mut r = TokenRequest::default();
        for (k, v) in url::form_urlencoded::parse(&body) {
            let v = Some(v.into_owned());
            match k.as_ref() {
                "grant_type" => r.grant_type = v,
                "client_id" => r.client_id = v,
                "client_secret" => r.client_secret = v,
                "code" => r.code = v,
                "redirect_uri" => r.redirect_uri = v,
                "refresh_token" => r.refresh_token = v,
                "code_verifier" => r.code_verifier = v,
                _ => {}
            }
        }
        r
    };
    st.record_grant(req.grant_type.as_deref().unwrap_or("none"));
    let now = st.now();
    let rules = st.rules();
    // Short lock over the token tables; no await while held.
    let body = st.inner.auth.lock().token(&rules, &req, now)?;
    ok(body)
}

async fn authorize(State(st): State<SandboxState>, Query(q): Q) -> ApiResult {
    let client_id = q.get("client_id").cloned().unwrap_or_default();
    let redirect = q.get("redirect_uri").cloned();
    let now = st.now();
    let rules = st.rules();
    // Short lock over the token tables; no await while held.
    let code = st.inner.auth.lock().authorize(&rules, &client_id, redirect.clone(), now)?;
    ok(
        json!({"code": code, "client_id": client_id, "redirect_uri": redirect, "state": q.get("state"), "expires_in": 600}),
    )
}

fn clock_body(st: &SandboxState) -> Value {
    let now = st.now();
    let start = st.config().start;
    let k = crate::sim::tick_of(start, now).unwrap_or(crate::sim::WARMUP);
    json!({
        "now": render::ts(now),
        "start": render::ts(start),
        "speed": st.config().speed,
        "tick_start": render::ts(tick_time(start, k)),
        "tick_minutes": crate::sim::TICK_MINUTES
    })
}

async fn advance(State(st): State<SandboxState>, Query(q): Q) -> ApiResult {
    let parse = |k: &str| q.get(k).map(|v| v.parse::<f64>());
    let minutes = match (parse("minutes"), parse("hours")) {
        (Some(Ok(m)), _) => m,
        (None, Some(Ok(h))) => h * 60.0,
        (None, None) => return Err(ApiError::BadRequest("minutes is required".to_string())),
        _ => return Err(ApiError::BadRequest("minutes must be a number".to_string())),
    };
    // Every tick passed is simulated and kept (about 16 KB each): at most 60 days per call.
    if !(0.0..=86_400.0).contains(&minutes) {
        return Err(ApiError::BadRequest("minutes must be between 0 and 86400 (60 days)".to_string()));
    }
    st.advance(Duration::milliseconds((minutes * 60_000.0) as i64));
    ok(clock_body(&st))
}

async fn clock(State(st): State<SandboxState>) -> ApiResult {
    ok(clock_body(&st))
}

async fn stats(State(st): State<SandboxState>) -> ApiResult {
    ok(serde_json::to_value(st.stats()).unwrap_or(Value::Null))
}

async fn truth(State(st): State<SandboxState>, Query(q): Q) -> ApiResult {
    let site = q.get("site").cloned().unwrap_or_default();
    let category = q.get("category").cloned().unwrap_or_default();
    let at = match q.get("at") {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| ApiError::BadRequest(format!("at must be RFC 3339: {s}")))?,
        None => st.now(),
    };
    // Every tick up to `at` is simulated and kept: bound how far ahead a query may reach.
    if at > st.now() + Duration::days(31) {
        return Err(ApiError::BadRequest("at is more than 31 days ahead of the simulated clock".to_string()));
    }
    match st.truth(&site, &category, at) {
        Ok(t) => ok(serde_json::to_value(t).unwrap_or(Value::Null)),
        Err(e @ crate::state::TruthError::BeforeStart(_)) => Err(ApiError::BadRequest(e.to_string())),
        Err(crate::state::TruthError::UnknownSite(s)) => Err(ApiError::BadRequest(format!("Error site: {s}"))),
        Err(e) => Err(ApiError::NotFound(e.to_string())),
    }
}

// ---------------------------------------------------------------- categories

async fn site_categories(State(st): State<SandboxState>, _a: MaybeAuthed, Path(site): Path<String>) -> ApiResult {
    let s = Market::site_index(&site).ok_or_else(|| ApiError::NotFound("Site not found".to_string()))?;
    ok(render::site_categories(st.market(), s))
}

async fn search_closed(_a: MaybeAuthed) -> ApiResult {
    Err(ApiError::CloudFront)
}

async fn category(State(st): State<SandboxState>, _a: MaybeAuthed, Path(id): Path<String>) -> ApiResult {
    let m = st.market();
    let c = m.cat_index.get(&id).ok_or_else(|| ApiError::NotFound("Category not found".to_string()))?;
    ok(render::category(m, &m.cats[*c]))
}

// ---------------------------------------------------------------- highlights

fn no_list(cat: &str) -> ApiError {
    ApiError::NotFound(format!("Dimension CATEGORY with id {cat} not found"))
}

async fn highlights_category(
    State(st): State<SandboxState>,
    _a: Authed,
    Path((site, cat)): Path<(String, String)>,
    Query(q): Q,
    req_uri: axum::http::Uri,
) -> ApiResult {
    let s = site_idx(&site)?;
    if st.config().forbidden_categories.iter().any(|c| c == &cat) {
        return Err(ApiError::PolicyAgent(req_uri.path_and_query().map_or(req_uri.path(), |p| p.as_str()).to_string()));
    }
    let m = st.market();
    let ci = *m.cat_index.get(&cat).ok_or_else(|| no_list(&cat))?;
    let c = &m.cats[ci];
    let li = match c.list_idx {
        Some(li) if c.site == s => li,
        _ => return Err(no_list(&cat)),
    };
    let brand = match (q.get("attribute").map(String::as_str), q.get("attributeValue")) {
        (Some("BRAND"), Some(v)) => Some(v.as_str()),
        (Some(a), _) => return Err(ApiError::BadRequest(format!("Invalid attribute {a}"))),
        _ => None,
    };
    let tick = st.current_tick();
    let content: Vec<Value> = top_entries(m, &tick, li, brand)
        .map(|(pos, p)| json!({"id": m.products[p].id, "position": pos, "type": m.products[p].kind.as_str()}))
        .collect();
    if brand.is_some() && content.is_empty() {
        return Err(no_list(&cat));
    }
    ok(json!({
        "query_data": {"highlight_type": "BEST_SELLER", "criteria": "CATEGORY", "id": cat},
        "content": content
    }))
}

fn highlight_position(st: &SandboxState, site: &str, id: &str, kind: Kind) -> ApiResult {
    let s = site_idx(site)?;
    let m = st.market();
    let what = if kind == Kind::Item { "item" } else { "product" };
    let not_found = || ApiError::NotFound(format!("{what} with id {id} not found"));
    let p = *m.by_id.get(id).ok_or_else(not_found)?;
    let prod = &m.products[p];
    if prod.kind != kind || prod.site != s {
        return Err(not_found());
    }
    let tick = st.current_tick();
    let pos = tick.positions[p].ok_or_else(not_found)?;
    let c = &m.cats[prod.cat];
    ok(json!({"dimension": "category", "id": c.id, "label": c.name, "position": pos}))
}

async fn highlights_product(
    State(st): State<SandboxState>,
    _a: Authed,
    Path((site, id)): Path<(String, String)>,
) -> ApiResult {
    highlight_position(&st, &site, &id, Kind::Product)
}

async fn highlights_item(
    State(st): State<SandboxState>,
    _a: Authed,
    Path((site, id)): Path<(String, String)>,
) -> ApiResult {
    highlight_position(&st, &site, &id, Kind::Item)
}

// ---------------------------------------------------------------- products

fn product_not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("Product {id} not found"))
}

async fn product(State(st): State<SandboxState>, _a: Authed, Path(id): Path<String>) -> ApiResult {
    let m = st.market();
    match m.product_index.get(&id) {
        Some(ProductRef::Sim(p)) => {
            let tick = st.current_tick();
            let body = st.cached_body(tick.k, &format!("p:{id}"), || {
                render::product(m, &m.products[*p], &tick, st.config().start)
            });
            Ok(json_bytes(StatusCode::OK, body))
        }
        Some(ProductRef::Parent(f)) => ok(render::parent_product(m, &m.families[*f], st.config().start)),
        None => Err(product_not_found(&id)),
    }
}

fn paging(q: &BTreeMap<String, String>, default_limit: usize, max_limit: usize) -> Result<(usize, usize), ApiError> {
    let get = |k: &str, d: usize| match q.get(k) {
        Some(v) => v.parse::<usize>().map_err(|_| ApiError::BadRequest(format!("Not valid {k}"))),
        None => Ok(d),
    };
    let limit = get("limit", default_limit)?;
    let offset = get("offset", 0)?;
    if limit == 0 || limit > max_limit {
        return Err(ApiError::BadRequest(format!("Not valid limit: must be between 1 and {max_limit}")));
    }
    Ok((limit, offset))
}

async fn product_items(State(st): State<SandboxState>, _a: Authed, Path(id): Path<String>, Query(q): Q) -> ApiResult {
    let m = st.market();
    let p = match m.product_index.get(&id) {
        Some(ProductRef::Sim(p)) => &m.products[*p],
        Some(ProductRef::Parent(_)) => return Err(ApiError::NotFound("No winners found".to_string())),
        None => return Err(product_not_found(&id)),
    };
    let (limit, offset) = paging(&q, 100, 100)?;
    let tick = st.current_tick();
    let body = st.cached_body(tick.k, &format!("pi:{id}:{offset}:{limit}"), || {
        let results: Vec<Value> =
            (0..p.offers.len()).skip(offset).take(limit).map(|o| render::product_offer(m, p, o, &tick)).collect();
        json!({
            "paging": {"total": p.offers.len(), "offset": offset, "limit": limit},
            "results": results,
            "experiments": null
        })
    });
    Ok(json_bytes(StatusCode::OK, body))
}

// ---------------------------------------------------------------- items

/// Whether the caller may read an item: the product, the offer (for catalog listings) and how
/// the caller sees it.
fn item_access<'m>(
    st: &'m SandboxState,
    who: &TokenInfo,
    id: &str,
) -> Result<(&'m crate::market::Product, Option<usize>, Viewer), ApiError> {
    let m = st.market();
    let r = m.item_index.get(id).ok_or_else(|| ApiError::NotFound(format!("Item with id {id} not found")))?;
    let (p, offer) = match *r {
        ItemRef::Listing(p) => (&m.products[p], None),
        ItemRef::Offer(p, o) => (&m.products[p], Some(o)),
    };
    let seller = offer.map_or(p.seller_id, |o| p.offers[o].seller_id);
    let viewer = if seller == who.user_id { Viewer::Owner } else { Viewer::Other };
    if viewer == Viewer::Other && st.config().items_access == ItemsAccess::OwnerOnly {
        return Err(ApiError::AccessDenied);
    }
    Ok((p, offer, viewer))
}

/// One item answer: status and body.
fn item_answer(st: &SandboxState, who: &TokenInfo, id: &str) -> (StatusCode, Value) {
    match item_access(st, who, id) {
        Ok((p, offer, viewer)) => {
            let tick = st.current_tick();
            (StatusCode::OK, render::item(st.market(), p, offer, &tick, st.config().start, viewer))
        }
        Err(e) => (e.status(), e.body()),
    }
}

async fn item(State(st): State<SandboxState>, Authed(who): Authed, Path(id): Path<String>) -> ApiResult {
    let (p, offer, viewer) = item_access(&st, &who, &id)?;
    let tick = st.current_tick();
    let key = format!("i:{id}:{}", viewer == Viewer::Owner);
    let body = st.cached_body(tick.k, &key, || render::item(st.market(), p, offer, &tick, st.config().start, viewer));
    Ok(json_bytes(StatusCode::OK, body))
}

fn ids_param(q: &BTreeMap<String, String>) -> Result<Vec<String>, ApiError> {
    let raw = q.get("ids").ok_or_else(|| ApiError::BadRequest("ids is required".to_string()))?;
    let ids: Vec<String> = raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
    if ids.is_empty() {
        return Err(ApiError::BadRequest("ids is required".to_string()));
    }
    if ids.len() > 20 {
        return Err(ApiError::BadRequest("The maximum number of ids allowed is 20".to_string()));
    }
    Ok(ids)
}

/// Keeps only the requested top-level attributes of a 200 body.
fn select(body: Value, attrs: Option<&Vec<String>>) -> Value {
    match (body, attrs) {
        (Value::Object(map), Some(keep)) => {
            Value::Object(map.into_iter().filter(|(k, _)| keep.iter().any(|a| a == k)).collect())
        }
        (b, _) => b,
    }
}

fn attrs_param(q: &BTreeMap<String, String>, prefix: &str) -> Option<Vec<String>> {
    q.get("attributes")
        .map(|a| a.split(',').map(str::trim).map(|s| s.strip_prefix(prefix).unwrap_or(s).to_string()).collect())
}

async fn items_multiget(State(st): State<SandboxState>, Authed(who): Authed, Query(q): Q) -> ApiResult {
    let ids = ids_param(&q)?;
    let attrs = attrs_param(&q, "");
    let out: Vec<Value> = ids
        .iter()
        .map(|id| {
            let (status, body) = item_answer(&st, &who, id);
            let body = if status == StatusCode::OK { select(body, attrs.as_ref()) } else { body };
            json!({"code": status.as_u16(), "body": body})
        })
        .collect();
    ok(Value::Array(out))
}

async fn items_bulk(State(st): State<SandboxState>, Authed(who): Authed, Query(q): Q) -> ApiResult {
    let ids = ids_param(&q)?;
    let attrs = attrs_param(&q, "body.");
    let out: Vec<Value> = ids
        .iter()
        .map(|id| {
            let (status, body) = item_answer(&st, &who, id);
            let body = if status == StatusCode::OK { select(body, attrs.as_ref()) } else { body };
            json!({"status_code": status.as_u16(), "body": body})
        })
        .collect();
    ok(Value::Array(out))
}

// ---------------------------------------------------------------- reviews and trends

async fn reviews(State(st): State<SandboxState>, _a: Authed, Path(id): Path<String>, Query(q): Q) -> ApiResult {
    let m = st.market();
    let (limit, offset) = paging(&q, 5, 100)?;
    let (p, share) = match q.get("catalog_product_id") {
        Some(cp) => match m.product_index.get(cp) {
            Some(ProductRef::Sim(p)) => (&m.products[*p], 1.0),
            _ => return Err(product_not_found(cp)),
        },
        None => match m.item_index.get(&id) {
            Some(ItemRef::Listing(p)) => (&m.products[*p], 1.0),
            Some(ItemRef::Offer(p, o)) => (&m.products[*p], m.products[*p].offers[*o].share),
            None => return Err(ApiError::NotFound(format!("Item with id {id} not found"))),
        },
    };
    let tick = st.current_tick();
    let key = format!("r:{id}:{}:{limit}:{offset}", q.get("catalog_product_id").map_or("", String::as_str));
    let body = st.cached_body(tick.k, &key, || {
        render::reviews(p, &id, share, &tick, st.config().start, limit, offset, st.config().seed)
    });
    Ok(json_bytes(StatusCode::OK, body))
}

fn current_week(st: &SandboxState) -> i64 {
    let hours = (st.now() - st.config().start).num_minutes() as f64 / 60.0;
    (hours / 168.0).floor() as i64 - 1
}

fn trends_body(list: &[(String, String)]) -> Value {
    Value::Array(list.iter().map(|(k, u)| json!({"keyword": k, "url": u})).collect())
}

async fn trends_site(State(st): State<SandboxState>, _a: Authed, Path(site): Path<String>) -> ApiResult {
    let s = Market::site_index(&site).ok_or_else(|| ApiError::NotFound("Site not found".to_string()))?;
    let list = st.trends(s, None, current_week(&st));
    ok(trends_body(&list))
}

async fn trends_category(
    State(st): State<SandboxState>,
    _a: Authed,
    Path((site, cat)): Path<(String, String)>,
) -> ApiResult {
    let s = Market::site_index(&site).ok_or_else(|| ApiError::NotFound("Site not found".to_string()))?;
    let m = st.market();
    let ci = match m.cat_index.get(&cat) {
        Some(&c) if m.cats[c].site == s => c,
        _ => return Err(ApiError::NotFound(format!("Category {cat} not found"))),
    };
    let list = st.trends(s, Some(ci), current_week(&st));
    ok(trends_body(&list))
}

// ---------------------------------------------------------------- fallbacks

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_string())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

// ---------------------------------------------------------------- the layer

/// The route template of a request, for the stats.
pub fn route_label(method: &Method, path: &str) -> String {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let t = match segs.as_slice() {
        ["oauth", "token"] => "/oauth/token",
        ["_sandbox", "authorize"] => "/_sandbox/authorize",
        ["_sandbox", "advance"] => "/_sandbox/advance",
        ["_sandbox", "clock"] => "/_sandbox/clock",
        ["_sandbox", "stats"] => "/_sandbox/stats",
        ["_sandbox", "truth"] => "/_sandbox/truth",
        ["sites", _, "categories"] => "/sites/{site}/categories",
        ["sites", _, "search"] => "/sites/{site}/search",
        ["categories", _] => "/categories/{id}",
        ["highlights", _, "category", _] => "/highlights/{site}/category/{cat}",
        ["highlights", _, "product", _] => "/highlights/{site}/product/{id}",
        ["highlights", _, "item", _] => "/highlights/{site}/item/{id}",
        ["products", _] => "/products/{id}",
        ["products", _, "items"] => "/products/{id}/items",
        ["items"] => "/items",
        ["items", "bulk"] => "/items/bulk",
        ["items", _] => "/items/{id}",
        ["reviews", "item", _] => "/reviews/item/{id}",
        ["trends", _] => "/trends/{site}",
        ["trends", _, _] => "/trends/{site}/{cat}",
        _ => "unknown",
    };
    format!("{method} {t}")
}

/// The faults the layer can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    E500,
    E503,
    Slow,
    Drop,
    Truncated,
    Malformed,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::E500 => "500",
            Fault::E503 => "503",
            Fault::Slow => "slow",
            Fault::Drop => "dropped",
            Fault::Truncated => "truncated",
            Fault::Malformed => "malformed",
        }
    }
}

/// The fault (if any) for the `n`th occurrence in simulated tick `tick` of the request whose method,
/// path and query hash to `key`: the same seed gives the same faults however concurrent requests
/// interleave.
fn decide(st: &SandboxState, key: u64, (tick, n): (usize, u64)) -> Option<Fault> {
    let f = &st.config().faults;
    if f.total() <= 0.0 {
        return None;
    }
    let mut u = unit(h3(st.config().seed, key, n, 0xFA17 ^ (tick as u64) << 16));
    for (p, kind) in [
        (f.error_500, Fault::E500),
        (f.error_503, Fault::E503),
        (f.slow, Fault::Slow),
        (f.drop, Fault::Drop),
        (f.truncated, Fault::Truncated),
        (f.malformed, Fault::Malformed),
    ] {
        if u < p {
            return Some(kind);
        }
        u -= p;
    }
    None
}

async fn sandbox_layer(State(st): State<SandboxState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let route = route_label(req.method(), &path);
    if path.starts_with("/_sandbox/") {
        let resp = next.run(req).await;
        if !path.starts_with("/_sandbox/stats") {
            st.record(&route, resp.status().as_str());
        }
        return resp;
    }
    let key = str_hash(&format!("{} {}", req.method(), req.uri()));
    let fault = decide(&st, key, st.occurrence(key));
    if let Some(f) = fault {
        st.record_fault(f.name());
    }
    let resp = match fault {
        Some(Fault::E500) => ApiError::Internal.into_response(),
        Some(Fault::E503) => ApiError::Unavailable.into_response(),
        Some(Fault::Slow) => {
            tokio::time::sleep(st.config().faults.slow_delay).await;
            next.run(req).await
        }
        Some(Fault::Drop) => {
            let resp = next.run(req).await;
            let (mut parts, _) = resp.into_parts();
            parts.headers.remove(CONTENT_LENGTH);
            let stream = futures::stream::once(async {
                Err::<Bytes, io::Error>(io::Error::new(io::ErrorKind::ConnectionReset, "sandbox: dropped connection"))
            });
            st.record(&route, "dropped");
            return Response::from_parts(parts, Body::from_stream(stream));
        }
        Some(k @ (Fault::Truncated | Fault::Malformed)) => {
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let half = bytes.slice(..bytes.len() / 2);
            let new = if k == Fault::Truncated {
                half
            } else {
                let mut v = half.to_vec();
                v.extend_from_slice(b"<html>}]\"malformed");
                Bytes::from(v)
            };
            parts.headers.remove(CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(new))
        }
        None => next.run(req).await,
    };
    st.record(&route, resp.status().as_str());
    resp
}
