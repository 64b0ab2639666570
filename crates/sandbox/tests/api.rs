//! The sandbox over HTTP: auth, every route, errors, limits, faults, determinism, the clock and
//! the fixture shapes. One test binary (link time on two cores is real).

// Helpers outside #[test] fns unwrap too: a failed request is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use meli_sandbox::{spawn, FaultConfig, ItemsAccess, SandboxConfig, SandboxHandle, Scenario};
use serde_json::{json, Value};

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(StdDuration::from_secs(20)).build().unwrap()
}

struct Sb {
    h: SandboxHandle,
    c: reqwest::Client,
}

impl Sb {
    async fn new(cfg: SandboxConfig) -> Sb {
        Sb { h: spawn(cfg).await.unwrap(), c: client() }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.h.base_url(), path)
    }

    async fn token_raw(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let r = self.c.post(self.url("/oauth/token")).form(form).send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap())
    }

    async fn app_token(&self) -> String {
        let (s, v) = self
            .token_raw(&[
                ("grant_type", "client_credentials"),
                ("client_id", "sandbox-app"),
                ("client_secret", "sandbox-secret"),
            ])
            .await;
        assert_eq!(s, 200, "{v}");
        v["access_token"].as_str().unwrap().to_string()
    }

    async fn code(&self) -> String {
        let v: Value = self
            .c
            .get(self.url("/_sandbox/authorize?client_id=sandbox-app"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["code"].as_str().unwrap().to_string()
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut rb = self.c.get(self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let r = rb.send().await.unwrap();
        let s = r.status().as_u16();
        let text = r.text().await.unwrap();
        (s, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}")))
    }

    async fn ok(&self, path: &str, token: &str) -> Value {
        let (s, v) = self.get(path, Some(token)).await;
        assert_eq!(s, 200, "{path}: {v}");
        v
    }

    async fn advance(&self, minutes: i64) -> Value {
        let r = self.c.post(self.url(&format!("/_sandbox/advance?minutes={minutes}"))).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        r.json().await.unwrap()
    }

    async fn list(&self, site: &str, cat: &str, token: &str) -> Vec<(String, u64, String)> {
        let v = self.ok(&format!("/highlights/{site}/category/{cat}"), token).await;
        v["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["id"].as_str().unwrap().to_string(),
                    e["position"].as_u64().unwrap(),
                    e["type"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/meli-fixtures")
}

// ------------------------------------------------------------------------------------------ auth

#[tokio::test]
async fn auth_grants_and_single_use_refresh_tokens() {
    let sb = Sb::new(SandboxConfig::default()).await;
    // client_credentials: an app token without a refresh token.
    let (s, v) = sb
        .token_raw(&[
            ("grant_type", "client_credentials"),
            ("client_id", "sandbox-app"),
            ("client_secret", "sandbox-secret"),
        ])
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 21600);
    assert!(v.get("refresh_token").is_none());
    // authorization_code: the code from the authorize stand-in, single use.
    let code = sb.code().await;
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", "sandbox-app"),
        ("client_secret", "sandbox-secret"),
        ("code", code.as_str()),
        ("redirect_uri", "https://example.org/cb"),
    ];
    let (s, first) = sb.token_raw(&form).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["user_id"], meli_sandbox::DEFAULT_USER_ID);
    let (s, again) = sb.token_raw(&form).await;
    assert_eq!((s, again["error"].as_str()), (400, Some("invalid_grant")));
    // refresh: a new pair; the used refresh token answers invalid_grant.
    let rt1 = first["refresh_token"].as_str().unwrap().to_string();
    let sbr = &sb;
    let refresh = |rt: String| async move {
        sbr.token_raw(&[
            ("grant_type", "refresh_token"),
            ("client_id", "sandbox-app"),
            ("client_secret", "sandbox-secret"),
            ("refresh_token", rt.as_str()),
        ])
        .await
    };
    let (s, second) = refresh(rt1.clone()).await;
    assert_eq!(s, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    let (s, reuse) = refresh(rt1).await;
    assert_eq!(s, 400);
    assert_eq!(reuse["error"], "invalid_grant");
    assert!(reuse["error_description"].as_str().unwrap().contains("already used"));
    let (s, _) = refresh(second["refresh_token"].as_str().unwrap().to_string()).await;
    assert_eq!(s, 200);
    // Wrong secret, unknown grant.
    let (s, v) = sb
        .token_raw(&[("grant_type", "client_credentials"), ("client_id", "sandbox-app"), ("client_secret", "nope")])
        .await;
    assert_eq!((s, v["error"].as_str()), (400, Some("invalid_client")));
    let (s, v) =
        sb.token_raw(&[("grant_type", "password"), ("client_id", "sandbox-app"), ("client_secret", "x")]).await;
    assert_eq!((s, v["error"].as_str()), (400, Some("unsupported_grant_type")));
    // The stats count refreshes by grant type.
    let stats = sb.h.state().stats();
    assert_eq!(stats.grants.get("refresh_token"), Some(&3));
    assert_eq!(stats.count("POST /oauth/token", "400"), 4);
}

#[tokio::test]
async fn bearer_auth_missing_malformed_unknown_and_expired() {
    let sb = Sb::new(SandboxConfig::default()).await;
    let path = "/highlights/MLB/category/MLB1055";
    let (s, v) = sb.get(path, None).await;
    assert_eq!(s, 401);
    assert_eq!(v["error"], "unauthorized_request_error");
    let (s, v) = sb.get(path, Some("INVALID_TOKEN")).await;
    assert_eq!(s, 400);
    assert_eq!(v["message"], "Malformed access_token: INVALID_TOKEN");
    let (s, v) = sb.get(path, Some("APP_USR-1-110200-abcdef-1")).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("invalid_token")));
    let token = sb.app_token().await;
    assert_eq!(sb.get(path, Some(&token)).await.0, 200);
    // Access tokens live 6 simulated hours.
    sb.advance(6 * 60 - 1).await;
    assert_eq!(sb.get(path, Some(&token)).await.0, 200);
    sb.advance(2).await;
    let (s, v) = sb.get(path, Some(&token)).await;
    assert_eq!((s, v["error"].as_str()), (401, Some("invalid_token")));
    let fresh = sb.app_token().await;
    assert_eq!(sb.get(path, Some(&fresh)).await.0, 200);
    // Public routes work without a token but reject a bad one.
    assert_eq!(sb.get("/categories/MLB1055", None).await.0, 200);
    assert_eq!(sb.get("/categories/MLB1055", Some(&token)).await.0, 401);
}

// ------------------------------------------------------------------------------------ highlights

#[tokio::test]
async fn highlights_match_the_truth_and_mix_entry_types() {
    let sb = Sb::new(SandboxConfig::default()).await;
    let mut types = std::collections::BTreeSet::new();
    let mut token = String::new();
    for step in 0..3 {
        token = sb.app_token().await;
        for (site, cat) in meli_sandbox::default_demo_categories() {
            let list = sb.list(&site, &cat, &token).await;
            assert!(!list.is_empty() && list.len() <= 20, "{cat}: {}", list.len());
            for (i, (_, pos, t)) in list.iter().enumerate() {
                assert_eq!(*pos, i as u64 + 1);
                types.insert(t.clone());
            }
            let truth = sb.ok(&format!("/_sandbox/truth?site={site}&category={cat}"), &token).await;
            let ids: Vec<&str> =
                truth["ranking"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
            let listed: Vec<&str> = list.iter().map(|e| e.0.as_str()).collect();
            assert_eq!(ids, listed, "{cat} at step {step}");
            let sales: Vec<u64> =
                truth["ranking"].as_array().unwrap().iter().map(|e| e["sales_recent"].as_u64().unwrap()).collect();
            assert!(sales.windows(2).all(|w| w[0] >= w[1]), "{sales:?}");
            // The Rust method agrees with the route.
            let t = sb.h.state().truth(&site, &cat, sb.h.state().now()).unwrap();
            assert_eq!(t.ranking.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), listed);
        }
        sb.advance(6 * 60).await;
    }
    assert_eq!(types.len(), 3, "{types:?}");
    // Truth at an earlier time is still the list of that time.
    let at = "2026-11-02T03:00:00Z";
    let t = sb.ok(&format!("/_sandbox/truth?site=MLB&category=MLB1055&at={at}"), &token).await;
    let again = sb.h.state().truth("MLB", "MLB1055", at.parse::<DateTime<Utc>>().unwrap()).unwrap();
    assert_eq!(t["ranking"], serde_json::to_value(&again.ranking).unwrap());
    assert_eq!(sb.get("/_sandbox/truth?site=MLB&category=MLB1055&at=2020-01-01T00:00:00Z", None).await.0, 400);
    assert_eq!(sb.get("/_sandbox/truth?site=MLB&category=MLB1051", None).await.0, 404);
    assert_eq!(sb.get("/_sandbox/truth?site=MLB&category=MLB1055&at=2027-06-01T00:00:00Z", None).await.0, 400);
}

#[tokio::test]
async fn highlights_errors_forbidden_and_brand_filter() {
    let sb = Sb::new(SandboxConfig { forbidden_categories: vec!["MLB1002".into()], ..Default::default() }).await;
    let token = sb.app_token().await;
    // A category without a list, an unknown one, one of another site.
    for path in
        ["/highlights/MLB/category/MLB1051", "/highlights/MLB/category/MLB999999", "/highlights/MLB/category/MLA1055"]
    {
        let (s, v) = sb.get(path, Some(&token)).await;
        assert_eq!(s, 404, "{path}");
        assert!(v["message"].as_str().unwrap().starts_with("Dimension CATEGORY with id"), "{v}");
    }
    let (s, v) = sb.get("/highlights/MLB/category/MLB1002", Some(&token)).await;
    assert_eq!(s, 403);
    assert_eq!(v["blocked_by"], "PolicyAgent");
    assert_eq!(v["code"], "PA_UNAUTHORIZED_RESULT_FROM_POLICIES");
    let (s, v) = sb.get("/highlights/ML/category/MLB1055", Some(&token)).await;
    assert_eq!((s, v["message"].as_str()), (400, Some("Error site: ML")));
    // Roots with a list aggregate their subtree.
    assert_eq!(sb.get("/highlights/MLB/category/MLB1000", Some(&token)).await.0, 200);
    // Brand filter: only products of that brand, positions renumbered.
    let v = sb.ok("/highlights/MLB/category/MLB1055?attribute=BRAND&attributeValue=206", &token).await;
    let content = v["content"].as_array().unwrap();
    assert!(!content.is_empty());
    for (i, e) in content.iter().enumerate() {
        assert_eq!(e["position"], i as u64 + 1);
        if e["type"] == "PRODUCT" {
            let p = sb.ok(&format!("/products/{}", e["id"].as_str().unwrap()), &token).await;
            assert_eq!(p["attributes"][0]["value_id"], "206");
        }
    }
}

#[tokio::test]
async fn highlight_positions_of_products_and_items() {
    let sb = Sb::new(SandboxConfig::default()).await;
    let token = sb.app_token().await;
    let list = sb.list("MLB", "MLB1055", &token).await;
    let (pid, ppos, _) = list.iter().find(|e| e.2 == "PRODUCT").unwrap();
    let v = sb.ok(&format!("/highlights/MLB/product/{pid}"), &token).await;
    assert_eq!(
        v,
        json!({"dimension": "category", "id": "MLB1055", "label": "Celulares e Smartphones", "position": ppos})
    );
    let mut found_item = false;
    for (site, cat) in meli_sandbox::default_demo_categories() {
        if let Some((iid, ipos, _)) = sb.list(&site, &cat, &token).await.into_iter().find(|e| e.2 == "ITEM") {
            let v = sb.ok(&format!("/highlights/{site}/item/{iid}"), &token).await;
            assert_eq!((v["id"].as_str(), v["position"].as_u64()), (Some(cat.as_str()), Some(ipos)));
            // The item is not a product.
            assert_eq!(sb.get(&format!("/highlights/{site}/product/{iid}"), Some(&token)).await.0, 404);
            found_item = true;
        }
    }
    assert!(found_item);
    // Not ranked → 404; USER_PRODUCT ids resolve nowhere.
    assert_eq!(sb.get("/highlights/MLB/product/MLB11111111", Some(&token)).await.0, 404);
    if let Some((up, _, _)) = list.iter().find(|e| e.2 == "USER_PRODUCT") {
        assert_eq!(sb.get(&format!("/products/{up}"), Some(&token)).await.0, 404);
        assert_eq!(sb.get(&format!("/products/{up}/items"), Some(&token)).await.0, 404);
        assert_eq!(sb.get(&format!("/items/{up}"), Some(&token)).await.0, 404);
    }
}

// ---------------------------------------------------------------------------- products and items

async fn ranked_products(sb: &Sb, token: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (site, cat) in meli_sandbox::default_demo_categories() {
        out.extend(sb.list(&site, &cat, token).await.into_iter().filter(|e| e.2 == "PRODUCT").map(|e| e.0));
    }
    out
}

#[tokio::test]
async fn products_parents_and_offers_with_paging() {
    let sb = Sb::new(SandboxConfig::default()).await;
    let token = sb.app_token().await;
    let ids = ranked_products(&sb, &token).await;
    let id = &ids[0];
    let p = sb.ok(&format!("/products/{id}"), &token).await;
    assert_eq!(p["id"], id.as_str());
    assert_eq!(p["status"], "active");
    let parent = p["parent_id"].as_str().unwrap();
    let par = sb.ok(&format!("/products/{parent}"), &token).await;
    assert_eq!(par["status"], "inactive");
    assert!(par["children_ids"].as_array().unwrap().iter().any(|c| c == id.as_str()));
    assert_eq!(sb.get(&format!("/products/{parent}/items"), Some(&token)).await.0, 404);
    assert_eq!(sb.get("/products/MLB1", Some(&token)).await.0, 404);
    // Offers: find a product with at least 3 and page through them.
    let mut checked = false;
    for id in &ids {
        let all = sb.ok(&format!("/products/{id}/items"), &token).await;
        let total = all["paging"]["total"].as_u64().unwrap();
        assert_eq!(all["results"].as_array().unwrap().len() as u64, total);
        if total >= 3 {
            let page = sb.ok(&format!("/products/{id}/items?limit=2&offset=1"), &token).await;
            assert_eq!(page["paging"], json!({"total": total, "offset": 1, "limit": 2}));
            assert_eq!(page["results"][0], all["results"][1]);
            assert_eq!(page["results"][1], all["results"][2]);
            checked = true;
            break;
        }
    }
    assert!(checked);
    assert_eq!(sb.get(&format!("/products/{}/items?limit=101", ids[0]), Some(&token)).await.0, 400);
}

/// An offer of the sandbox user (the owner of the default app's authorization) in MLB.
async fn owned_offer(sb: &Sb, token: &str) -> (String, String) {
    for id in ranked_products(sb, token).await {
        let v = sb.ok(&format!("/products/{id}/items"), token).await;
        for r in v["results"].as_array().unwrap() {
            if r["seller_id"] == meli_sandbox::DEFAULT_USER_ID {
                return (r["item_id"].as_str().unwrap().to_string(), id);
            }
        }
    }
    panic!("no owned offer among ranked products");
}

#[tokio::test]
async fn items_access_denied_owned_multiget_and_bulk() {
    let sb = Sb::new(SandboxConfig::default()).await;
    let token = sb.app_token().await;
    let item = sb
        .list("MLB", "MLB1055", &token)
        .await
        .into_iter()
        .chain(sb.list("MLB", "MLB1002", &token).await)
        .chain(sb.list("MLB", "MLB1652", &token).await)
        .find(|e| e.2 == "ITEM")
        .unwrap()
        .0;
    let (s, v) = sb.get(&format!("/items/{item}"), Some(&token)).await;
    assert_eq!(s, 403);
    assert_eq!(v["error"], "access_denied");
    let (own, product) = owned_offer(&sb, &token).await;
    let v = sb.ok(&format!("/items/{own}"), &token).await;
    assert_eq!(v["seller_id"], meli_sandbox::DEFAULT_USER_ID);
    assert_eq!(v["catalog_product_id"], product.as_str());
    assert!(v["sold_quantity"].as_u64().is_some());
    let ids = format!("{item},{own},MLB1");
    let v = sb.ok(&format!("/items?ids={ids}"), &token).await;
    let codes: Vec<u64> = v.as_array().unwrap().iter().map(|e| e["code"].as_u64().unwrap()).collect();
    assert_eq!(codes, vec![403, 200, 404]);
    assert_eq!(v[0]["body"]["error"], "access_denied");
    let v = sb.ok(&format!("/items/bulk?ids={ids}&attributes=body.id,body.price"), &token).await;
    let codes: Vec<u64> = v.as_array().unwrap().iter().map(|e| e["status_code"].as_u64().unwrap()).collect();
    assert_eq!(codes, vec![403, 200, 404]);
    let keys: Vec<&String> = v[1]["body"].as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["id", "price"]);
    let many = (0..21).map(|i| format!("MLB{i}")).collect::<Vec<_>>().join(",");
    assert_eq!(sb.get(&format!("/items?ids={many}"), Some(&token)).await.0, 400);
    assert_eq!(sb.get("/items", Some(&token)).await.0, 400);

    // With open access every item answers 200, with referential quantities.
    let open = Sb::new(SandboxConfig { items_access: ItemsAccess::Open, ..Default::default() }).await;
    let t = open.app_token().await;
    let v = open.ok(&format!("/items/{item}"), &t).await;
    assert_eq!(v["id"], item.as_str());
    assert!([0, 5, 25, 50, 100, 150, 200, 250, 500, 5000, 50000].contains(&v["sold_quantity"].as_u64().unwrap()));
}

#[tokio::test]
async fn reviews_grow_with_sales() {
    let sb = Sb::new(SandboxConfig::default()).await;
    let token = sb.app_token().await;
    let ids = ranked_products(&sb, &token).await;
    let pid = &ids[0];
    let offers = sb.ok(&format!("/products/{pid}/items"), &token).await;
    let item = offers["results"][0]["item_id"].as_str().unwrap().to_string();
    let path = format!("/reviews/item/{item}?catalog_product_id={pid}");
    let before = sb.ok(&path, &token).await;
    let total0 = before["paging"]["total"].as_u64().unwrap();
    let levels: u64 = before["rating_levels"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(levels, total0);
    assert_eq!(before["reviews"].as_array().unwrap().len(), 5.min(total0 as usize));
    assert_eq!(before["reviews"][0]["reviewable_object"]["id"], item.as_str());
    sb.advance(3 * 24 * 60).await;
    let token = sb.app_token().await;
    let after = sb.ok(&path, &token).await;
    assert!(after["paging"]["total"].as_u64().unwrap() > total0, "{} -> {}", total0, after["paging"]["total"]);
    let page = sb.ok(&format!("{path}&limit=2&offset=1"), &token).await;
    assert_eq!(page["reviews"].as_array().unwrap().len(), 2);
    assert_eq!(page["reviews"][0], after["reviews"][1]);
    assert_eq!(sb.get(&format!("{path}&limit=0"), Some(&token)).await.0, 400);
    assert_eq!(sb.get("/reviews/item/MLB1", Some(&token)).await.0, 404);
}

#[tokio::test]
async fn trends_are_weekly_keyword_lists() {
    let sb = Sb::new(SandboxConfig::default()).await;
    let token = sb.app_token().await;
    let site = sb.ok("/trends/MLB", &token).await;
    let arr = site.as_array().unwrap();
    assert_eq!(arr.len(), 50);
    let mut seen = std::collections::BTreeSet::new();
    for e in arr {
        let kw = e["keyword"].as_str().unwrap();
        assert!(seen.insert(kw.to_string()), "duplicate {kw}");
        assert!(e["url"].as_str().unwrap().starts_with("https://lista.mercadolivre.com.br/"));
        assert!(e["url"].as_str().unwrap().ends_with("#trend"));
    }
    let cat = sb.ok("/trends/MLA/MLA1055", &token).await;
    assert_eq!(cat.as_array().unwrap().len(), 50);
    assert!(cat[0]["url"].as_str().unwrap().starts_with("https://listado.mercadolibre.com.ar/"));
    assert_eq!(sb.ok("/trends/MLA/MLA1459", &token).await.as_array().unwrap().len(), 50);
    // Same week → same list; two weeks later → a different one.
    sb.advance(24 * 60).await;
    let token = sb.app_token().await;
    assert_eq!(sb.ok("/trends/MLB", &token).await, site);
    sb.advance(14 * 24 * 60).await;
    let token = sb.app_token().await;
    assert_ne!(sb.ok("/trends/MLB", &token).await, site);
    assert_eq!(sb.get("/trends/MLB/MLA1055", Some(&token)).await.0, 404);
    assert_eq!(sb.get("/trends/XXX", Some(&token)).await.0, 404);
    assert_eq!(sb.get("/trends/MLB", None).await.0, 401);
}

#[tokio::test]
async fn categories_trees() {
    let sb = Sb::new(SandboxConfig::default()).await;
    for site in ["MLB", "MLA", "MLM"] {
        let (s, roots) = sb.get(&format!("/sites/{site}/categories"), None).await;
        assert_eq!(s, 200);
        assert!(roots.as_array().unwrap().len() >= 5, "{site}");
    }
    let (_, c) = sb.get("/categories/MLB1055", None).await;
    assert_eq!(c["name"], "Celulares e Smartphones");
    assert_eq!(
        c["path_from_root"],
        json!([{"id": "MLB1051", "name": "Celulares e Telefones"}, {"id": "MLB1055", "name": "Celulares e Smartphones"}])
    );
    assert_eq!(c["children_categories"], json!([]));
    let (_, root) = sb.get("/categories/MLB1000", None).await;
    let children = root["children_categories"].as_array().unwrap();
    let sum: u64 = children.iter().map(|c| c["total_items_in_this_category"].as_u64().unwrap()).sum();
    assert!(root["total_items_in_this_category"].as_u64().unwrap() >= sum);
    assert!(children.iter().any(|c| c["id"] == "MLB1002"));
    let (_, mx) = sb.get("/categories/MLM1055", None).await;
    assert_eq!(mx["name"], "Celulares y Smartphones");
    assert_eq!(sb.get("/categories/MLB0", None).await.0, 404);
    assert_eq!(sb.get("/sites/MXX/categories", None).await.0, 404);
}

#[tokio::test]
async fn unknown_routes_methods_and_closed_search() {
    let sb = Sb::new(SandboxConfig::default()).await;
    let (s, v) = sb.get("/no/such/route", None).await;
    assert_eq!((s, v["error"].as_str()), (404, Some("resource not found")));
    let r = sb.c.delete(sb.url("/categories/MLB1055")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let r = sb.c.get(sb.url("/sites/MLB/search?q=celular")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(r.headers()["x-cache"], "Error from cloudfront");
    let stats = sb.h.state().stats();
    assert_eq!(stats.count("GET unknown", "404"), 1);
    assert_eq!(stats.count("DELETE /categories/{id}", "405"), 1);
}

// ------------------------------------------------------------------------------- limits, faults

#[tokio::test]
async fn rate_limit_answers_429_without_retry_after() {
    let sb = Sb::new(SandboxConfig { rate_limit: Some(0.01), ..Default::default() }).await;
    let token = sb.app_token().await;
    let path = "/highlights/MLB/category/MLB1055";
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = sb.c.get(sb.url(path)).bearer_auth(&token).send().await.unwrap();
        assert!(r.headers().get("retry-after").is_none());
        let s = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        if s == 429 {
            assert_eq!(v["error"], "too_many_requests");
        }
        statuses.push(s);
    }
    assert_eq!(statuses[0], 200);
    assert!(statuses[1..].contains(&429), "{statuses:?}");
    assert!(sb.h.state().stats().rate_limited >= 1);
}

#[tokio::test]
async fn faults_of_each_kind() {
    let path = "/categories/MLB1055";
    let one = |f: FaultConfig| SandboxConfig { faults: f, ..Default::default() };
    let all = FaultConfig::default();
    let sb = Sb::new(one(FaultConfig { error_500: 1.0, ..all.clone() })).await;
    assert_eq!(sb.get(path, None).await.0, 500);
    let sb = Sb::new(one(FaultConfig { error_503: 1.0, ..all.clone() })).await;
    assert_eq!(sb.get(path, None).await.0, 503);
    // Control routes never fail.
    assert_eq!(sb.get("/_sandbox/clock", None).await.0, 200);
    let sb = Sb::new(one(FaultConfig { drop: 1.0, ..all.clone() })).await;
    let res = async { sb.c.get(sb.url(path)).send().await?.bytes().await }.await;
    assert!(res.is_err(), "dropped connection should fail");
    for kind in ["truncated", "malformed"] {
        let f = if kind == "truncated" {
            FaultConfig { truncated: 1.0, ..all.clone() }
        } else {
            FaultConfig { malformed: 1.0, ..all.clone() }
        };
        let sb = Sb::new(one(f)).await;
        let r = sb.c.get(sb.url(path)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let body = r.bytes().await.unwrap();
        assert!(serde_json::from_slice::<Value>(&body).is_err(), "{kind}");
        assert_eq!(sb.h.state().stats().faults.get(kind), Some(&1));
    }
    let sb = Sb::new(one(FaultConfig { slow: 1.0, slow_delay: StdDuration::from_millis(30), ..all.clone() })).await;
    assert_eq!(sb.get(path, None).await.0, 200);
    assert_eq!(sb.h.state().stats().faults.get("slow"), Some(&1));
}

#[tokio::test]
async fn faults_are_deterministic_from_the_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let sb = Sb::new(SandboxConfig {
            seed,
            faults: FaultConfig { error_500: 0.3, error_503: 0.2, ..Default::default() },
            ..Default::default()
        })
        .await;
        let mut v = Vec::new();
        for _ in 0..40 {
            v.push(sb.get("/categories/MLB1055", None).await.0);
        }
        v
    }
    let a = run(7).await;
    assert_eq!(a, run(7).await);
    assert!(a.contains(&200) && a.contains(&500) && a.contains(&503), "{a:?}");
    assert_ne!(a, run(8).await);
}

#[tokio::test]
async fn faults_do_not_depend_on_the_order_of_requests() {
    // Two clients asking for the same things in opposite orders (as concurrent fetches interleave
    // differently from run to run) get the same answer to each request.
    let paths: Vec<String> = ["MLB1055", "MLB1051", "MLB1648", "MLB1000", "MLB1574", "MLA1055", "MLA1051", "MLM1055"]
        .iter()
        .map(|c| format!("/categories/{c}"))
        .collect();
    let mut answers = Vec::new();
    for reversed in [false, true] {
        let sb = Sb::new(SandboxConfig {
            seed: 7,
            faults: FaultConfig { error_500: 0.5, ..Default::default() },
            ..Default::default()
        })
        .await;
        let mut order: Vec<&String> = paths.iter().collect();
        if reversed {
            order.reverse();
        }
        let mut got = std::collections::BTreeMap::new();
        for p in order {
            got.insert(p.clone(), sb.get(p, None).await.0);
        }
        answers.push(got);
    }
    assert_eq!(answers[0], answers[1]);
    assert!(answers[0].values().any(|s| *s == 500) && answers[0].values().any(|s| *s != 500), "{:?}", answers[0]);
}

// ------------------------------------------------------------------------- determinism, clock

async fn transcript(seed: u64) -> Vec<Value> {
    let sb = Sb::new(SandboxConfig { seed, items_access: ItemsAccess::Open, ..Default::default() }).await;
    let mut out = vec![json!(sb.app_token().await)];
    sb.advance(17 * 60).await;
    let token = sb.app_token().await;
    out.push(json!(token));
    for (site, cat) in meli_sandbox::default_demo_categories() {
        let list = sb.ok(&format!("/highlights/{site}/category/{cat}"), &token).await;
        for e in list["content"].as_array().unwrap().iter().take(3) {
            let id = e["id"].as_str().unwrap();
            match e["type"].as_str().unwrap() {
                "PRODUCT" => {
                    out.push(sb.ok(&format!("/products/{id}"), &token).await);
                    let offers = sb.ok(&format!("/products/{id}/items"), &token).await;
                    let item = offers["results"][0]["item_id"].as_str().unwrap().to_string();
                    out.push(sb.ok(&format!("/reviews/item/{item}?catalog_product_id={id}"), &token).await);
                    out.push(offers);
                }
                "ITEM" => out.push(sb.ok(&format!("/items/{id}"), &token).await),
                _ => {}
            }
        }
        out.push(list);
        out.push(sb.ok(&format!("/trends/{site}/{cat}"), &token).await);
    }
    out
}

#[tokio::test]
async fn same_seed_same_responses() {
    let a = transcript(42).await;
    let b = transcript(42).await;
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    let c = transcript(43).await;
    assert_ne!(a[2..], c[2..]);
}

#[tokio::test]
async fn clock_stepped_and_accelerated() {
    let sb = Sb::new(SandboxConfig::default()).await;
    let (_, c) = sb.get("/_sandbox/clock", None).await;
    assert_eq!(c["now"], "2026-11-02T00:00:00Z");
    let v = sb.advance(90).await;
    assert_eq!(v["now"], "2026-11-02T01:30:00Z");
    assert_eq!(v["tick_start"], "2026-11-02T01:30:00Z");
    let v = sb.advance(10).await;
    assert_eq!(v["tick_start"], "2026-11-02T01:30:00Z");
    assert_eq!(sb.h.state().now().to_rfc3339(), "2026-11-02T01:40:00+00:00");
    sb.h.state().advance(Duration::hours(1));
    let (_, c) = sb.get("/_sandbox/clock", None).await;
    assert_eq!(c["now"], "2026-11-02T02:40:00Z");
    let r = sb.c.post(sb.url("/_sandbox/advance?minutes=abc")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = sb.c.post(sb.url("/_sandbox/advance?minutes=-5")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // Accelerated: one real millisecond is an hour.
    let fast = Sb::new(SandboxConfig { speed: 3_600_000.0, ..Default::default() }).await;
    let t0 = fast.h.state().now();
    tokio::time::sleep(StdDuration::from_millis(5)).await;
    assert!(fast.h.state().now() - t0 >= Duration::hours(5));
}

#[tokio::test]
async fn hostile_scenario_has_hostile_titles_in_lists() {
    let sb =
        Sb::new(SandboxConfig { scenario: Scenario::Hostile, items_access: ItemsAccess::Open, ..Default::default() })
            .await;
    let token = sb.app_token().await;
    let mut hostile = 0;
    for (site, cat) in meli_sandbox::default_demo_categories() {
        for (id, _, t) in sb.list(&site, &cat, &token).await {
            let name = match t.as_str() {
                "PRODUCT" => sb.ok(&format!("/products/{id}"), &token).await["name"].as_str().unwrap().to_string(),
                "ITEM" => sb.ok(&format!("/items/{id}"), &token).await["title"].as_str().unwrap().to_string(),
                _ => continue,
            };
            if ["<script>", "<!channel>", "*bold*", "&amp;", "\u{202E}", "🔥"].iter().any(|h| name.contains(h))
                || name.len() > 300
            {
                hostile += 1;
            }
        }
    }
    assert!(hostile >= 3, "{hostile}");
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let h = spawn(SandboxConfig::default()).await.unwrap();
    let state = h.state().clone();
    let url = format!("{}/_sandbox/clock", h.base_url());
    // A pooled client keeps an idle keep-alive connection open across the shutdown.
    let c = reqwest::Client::builder().timeout(StdDuration::from_secs(5)).build().unwrap();
    assert_eq!(c.get(&url).send().await.unwrap().status().as_u16(), 200);
    assert_eq!(state.stats().total, 1);
    h.shutdown().await;
    // Neither the kept connection nor the listener answers. The freed port may already belong to a
    // sandbox another test started (port 0 reuses ports), so what shows that this one stopped is its
    // own count: an answer, if any, came from someone else.
    let after = c.get(&url).send().await;
    assert_eq!(state.stats().total, 1, "the stopped sandbox answered {after:?}");
}

// ------------------------------------------------------------------------------ fixture shapes

/// The common shape of array elements: keys every element has; a value null in any element
/// is nullable (null); arrays merge the elements of all non-empty arrays.
fn common(vals: &[&Value]) -> Value {
    if vals.is_empty() || vals.iter().any(|v| v.is_null()) {
        return Value::Null;
    }
    if vals.iter().all(|v| v.is_object()) {
        let first = vals[0].as_object().unwrap();
        let mut out = serde_json::Map::new();
        for k in first.keys() {
            if vals.iter().all(|v| v.get(k).is_some()) {
                let sub: Vec<&Value> = vals.iter().map(|v| &v[k]).collect();
                out.insert(k.clone(), common(&sub));
            }
        }
        return Value::Object(out);
    }
    if vals.iter().all(|v| v.is_array()) {
        let elems: Vec<&Value> = vals.iter().flat_map(|v| v.as_array().unwrap().iter()).collect();
        return if elems.is_empty() { json!([]) } else { json!([common(&elems)]) };
    }
    vals[0].clone()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every key of the fixture is in the sandbox answer, recursively; arrays compare element
/// shapes; nulls in the fixture match anything, a null in the answer matches a scalar.
fn same_shape(fix: &Value, got: &Value, path: &str, errs: &mut Vec<String>) {
    match fix {
        Value::Null => {}
        Value::Object(map) => {
            let Some(g) = got.as_object() else {
                errs.push(format!("{path}: expected object, got {}", kind(got)));
                return;
            };
            for (k, v) in map {
                match g.get(k) {
                    Some(gv) => same_shape(v, gv, &format!("{path}.{k}"), errs),
                    None => errs.push(format!("{path}.{k}: missing")),
                }
            }
        }
        Value::Array(items) => {
            let Some(g) = got.as_array() else {
                errs.push(format!("{path}: expected array, got {}", kind(got)));
                return;
            };
            if items.is_empty() {
                return;
            }
            let shape = common(&items.iter().collect::<Vec<_>>());
            for (i, gv) in g.iter().enumerate() {
                same_shape(&shape, gv, &format!("{path}[{i}]"), errs);
            }
        }
        scalar => {
            if !got.is_null() && kind(scalar) != kind(got) {
                errs.push(format!("{path}: expected {}, got {}", kind(scalar), kind(got)));
            }
        }
    }
}

/// Products ranked in the demo lists that satisfy `pred`.
async fn find_product(sb: &Sb, token: &str, pred: impl Fn(&Value) -> bool) -> Value {
    for id in ranked_products(sb, token).await {
        let p = sb.ok(&format!("/products/{id}"), token).await;
        if pred(&p) {
            return p;
        }
    }
    panic!("no product matches");
}

async fn counterpart(rel: &str, sb: &Sb, limited: &Sb, token: &str) -> (u16, Value) {
    let dir = rel.split('/').next().unwrap();
    let name = rel.rsplit('/').next().unwrap();
    let first_of = |site: &'static str, t: &'static str| async move {
        let cats: Vec<(String, String)> =
            meli_sandbox::default_demo_categories().into_iter().filter(|(s, _)| s == site).collect();
        for (s, c) in cats {
            if let Some(e) = sb.list(&s, &c, token).await.into_iter().find(|e| e.2 == t) {
                return e.0;
            }
        }
        panic!("no {t} in {site}");
    };
    match (dir, name) {
        ("categories", n) if n.starts_with("sites-MLA") => sb.get("/sites/MLA/categories", None).await,
        ("categories", n) => sb.get(&format!("/categories/{}", n.split('-').next().unwrap()), None).await,
        ("errors", n) if n.starts_with("400-malformed") => {
            sb.get("/highlights/MLB/category/MLB1055", Some("INVALID_TOKEN")).await
        }
        ("errors", n) if n.starts_with("401") => sb.get("/highlights/MLB/category/MLB1055", None).await,
        ("errors", n) if n.starts_with("403-PA") => sb.get("/highlights/MLB/category/MLB196208", Some(token)).await,
        ("errors", n) if n.starts_with("403-access_denied") => {
            let item = first_of("MLB", "ITEM").await;
            sb.get(&format!("/items/{item}"), Some(token)).await
        }
        ("errors", n) if n.starts_with("429") => {
            let t = limited.app_token().await;
            loop {
                let (s, v) = limited.get("/highlights/MLB/category/MLB1055", Some(&t)).await;
                if s == 429 {
                    return (s, v);
                }
            }
        }
        ("highlights", n) if n.starts_with("category-") => {
            let cat = n.trim_start_matches("category-").split('-').next().unwrap();
            let site = &cat[..3];
            let q = if n.contains("brand59387") { "?attribute=BRAND&attributeValue=59387" } else { "" };
            sb.get(&format!("/highlights/{site}/category/{cat}{q}"), Some(token)).await
        }
        ("highlights", n) => {
            let id = n.split('-').nth(1).unwrap();
            let site: &'static str = match &id[..3] {
                "MLB" => "MLB",
                "MLA" => "MLA",
                _ => "MLM",
            };
            let (t, what) = if n.starts_with("item-") { ("ITEM", "item") } else { ("PRODUCT", "product") };
            let e = first_of(site, t).await;
            sb.get(&format!("/highlights/{site}/{what}/{e}"), Some(token)).await
        }
        ("items", _) => {
            let (own, _) = owned_offer(sb, token).await;
            sb.get(&format!("/items/{own}"), Some(token)).await
        }
        ("oauth", n) if n.starts_with("400") => {
            let code = sb.code().await;
            let (_, v) = sb
                .token_raw(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", "sandbox-app"),
                    ("client_secret", "sandbox-secret"),
                    ("code", &code),
                ])
                .await;
            let rt = v["refresh_token"].as_str().unwrap().to_string();
            let form = [
                ("grant_type", "refresh_token"),
                ("client_id", "sandbox-app"),
                ("client_secret", "sandbox-secret"),
                ("refresh_token", rt.as_str()),
            ];
            assert_eq!(sb.token_raw(&form).await.0, 200);
            sb.token_raw(&form).await
        }
        ("oauth", n) => {
            let code = sb.code().await;
            let first = sb
                .token_raw(&[
                    ("grant_type", "authorization_code"),
                    ("client_id", "sandbox-app"),
                    ("client_secret", "sandbox-secret"),
                    ("code", &code),
                ])
                .await;
            if n.contains("authorization_code") {
                return first;
            }
            let rt = first.1["refresh_token"].as_str().unwrap().to_string();
            sb.token_raw(&[
                ("grant_type", "refresh_token"),
                ("client_id", "sandbox-app"),
                ("client_secret", "sandbox-secret"),
                ("refresh_token", rt.as_str()),
            ])
            .await
        }
        ("products", n) => {
            let p = if n.contains("child-buybox") {
                find_product(sb, token, |p| !p["buy_box_winner"].is_null()).await
            } else if n.contains("refurbished") {
                find_product(sb, token, |p| !p["refurbished_info"].is_null()).await
            } else {
                let child = find_product(sb, token, |_| true).await;
                sb.ok(&format!("/products/{}", child["parent_id"].as_str().unwrap()), token).await
            };
            (200, p)
        }
        ("products_items", _) => {
            let p = find_product(sb, token, |p| !p["buy_box_winner"].is_null()).await;
            sb.get(&format!("/products/{}/items", p["id"].as_str().unwrap()), Some(token)).await
        }
        ("reviews", _) => {
            let p = find_product(sb, token, |_| true).await;
            let id = p["id"].as_str().unwrap();
            let offers = sb.ok(&format!("/products/{id}/items"), token).await;
            let item = offers["results"][0]["item_id"].as_str().unwrap();
            sb.get(&format!("/reviews/item/{item}?catalog_product_id={id}"), Some(token)).await
        }
        ("trends", n) => {
            let parts: Vec<&str> = n.split('-').collect();
            if parts[1].starts_with("ML") && parts[1] != "docs" {
                sb.get(&format!("/trends/{}/{}", parts[0], parts[1]), Some(token)).await
            } else {
                sb.get(&format!("/trends/{}", parts[0]), Some(token)).await
            }
        }
        _ => panic!("no counterpart for {rel}"),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

#[tokio::test]
async fn every_fixture_has_a_counterpart_with_the_same_shape() {
    let root = fixtures_dir();
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    assert!(files.len() >= 30, "fixtures not found under {}", root.display());
    let sb = Sb::new(SandboxConfig { forbidden_categories: vec!["MLB196208".into()], ..Default::default() }).await;
    let limited = Sb::new(SandboxConfig { rate_limit: Some(0.2), ..Default::default() }).await;
    let token = sb.app_token().await;
    let mut failures = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let fixture: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let (status, got) = counterpart(&rel, &sb, &limited, &token).await;
        let expected_status = match rel.split('/').next().unwrap() {
            "errors" => rel.split('/').nth(1).unwrap()[..3].parse::<u16>().unwrap(),
            "oauth" if rel.contains("/400-") => 400,
            _ => 200,
        };
        if status != expected_status {
            failures.push(format!("{rel}: status {status}, expected {expected_status}: {got}"));
            continue;
        }
        let mut errs = Vec::new();
        same_shape(&fixture, &got, "$", &mut errs);
        if !errs.is_empty() {
            failures.push(format!("{rel}:\n  {}", errs.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_shape_check_can_fail() {
    let fix = json!({"a": {"b": 1, "c": [{"d": "x", "e": null}]}, "n": null});
    let mut errs = Vec::new();
    same_shape(&fix, &json!({"a": {"b": 2, "c": [{"d": "y", "e": 5}]}, "n": 3}), "$", &mut errs);
    assert!(errs.is_empty(), "{errs:?}");
    same_shape(&fix, &json!({"a": {"b": "2", "c": [{"e": 5}]}}), "$", &mut errs);
    assert_eq!(errs, vec!["$.a.b: expected number, got string", "$.a.c[0].d: missing", "$.n: missing"]);
}

#[tokio::test]
async fn stats_route_counts_requests_by_route_and_status() {
    let sb = Sb::new(SandboxConfig::default()).await;
    let token = sb.app_token().await;
    sb.ok("/highlights/MLB/category/MLB1055", &token).await;
    sb.ok("/highlights/MLA/category/MLA1055", &token).await;
    assert_eq!(sb.get("/highlights/MLB/category/MLB1051", Some(&token)).await.0, 404);
    let (s, v) = sb.get("/_sandbox/stats", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["routes"]["GET /highlights/{site}/category/{cat}"], json!({"200": 2, "404": 1}));
    assert_eq!(v["routes"]["POST /oauth/token"], json!({"200": 1}));
    assert_eq!(v["grants"], json!({"client_credentials": 1}));
    assert_eq!(v["total"], 4);
}

#[test]
fn the_binary_rejects_a_bad_flag_with_one_line() {
    for args in [&["--bogus"][..], &["--scenario", "nope"][..], &["--speed", "fast"][..]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_meli-sandbox")).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("meli-sandbox: "), "{err}");
    }
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_meli-sandbox")).args(["--fault-rate", "2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--fault-rate must be between 0 and 1"));
}
