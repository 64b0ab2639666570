//! The decoders against every published fixture (`testdata/meli-fixtures/`), plus property tests.

use std::path::{Path, PathBuf};

use meli_core::source::{ForbiddenKind, HighlightEntry, SourceError};
use meli_core::{EntryId, EntryType, Position};
use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/meli-fixtures")
}

/// The decode kind of a fixture, from its directory and name (the brief's mapping).
fn kind_of(rel: &str) -> &'static str {
    let (dir, name) = rel.split_once('/').unwrap_or(("", rel));
    match dir {
        "highlights" if name.starts_with("category-") => "highlights",
        "highlights" => "highlight-position",
        "products" => "product",
        "products_items" => "product-items",
        "items" => "item",
        "reviews" => "reviews",
        "categories" if name.starts_with("sites-") => "site-categories",
        "categories" => "category",
        "trends" => "trends",
        "errors" => "error",
        "oauth" if name.starts_with("token-") => "token",
        "oauth" => "error",
        other => panic!("no decode kind for fixture directory {other:?} ({rel})"),
    }
}

/// Per fixture: JSON pointers into the decoded result and the value each must have.
fn expectations(rel: &str) -> Vec<(&'static str, Value)> {
    match rel {
        "highlights/category-MLA1055-brand59387-docs-es-2023.json" => vec![
            ("/0", json!({"position": 1, "id": "MLA17706115", "type": "PRODUCT"})),
            ("/11", json!({"position": 12, "id": "MLA918309355", "type": "ITEM"})),
            ("/19/id", json!("MLA17493810")),
        ],
        "highlights/category-MLA1055-brand59387-docs-ptbr-2026.json" => vec![
            ("/0/id", json!("MLA55323897")),
            ("/3", json!({"position": 4, "id": "MLA46219511", "type": "PRODUCT"})),
        ],
        "highlights/category-MLB432825-docs-es-2023.json" => vec![
            ("/0", json!({"position": 1, "id": "MLB1481736854", "type": "ITEM"})),
            ("/19/id", json!("MLB1627711451")),
        ],
        "highlights/category-MLB432825-docs-ptbr-2026.json" => vec![
            ("/0", json!({"position": 1, "id": "MLBU3013800008", "type": "USER_PRODUCT"})),
            ("/5", json!({"position": 6, "id": "MLB24162817", "type": "PRODUCT"})),
            ("/19", json!({"position": 20, "id": "MLB2064796357", "type": "PRODUCT"})),
        ],
        "highlights/item-MLB6868664726-docs-ptbr-2026.json" => {
            vec![("", json!({"category": "MLB270287", "label": "Geladeiras", "position": 12}))]
        }
        "highlights/item-MLM16140709-docs-es-2023.json" => {
            vec![("", json!({"category": "MLM126793", "label": "Smartwatches", "position": 5}))]
        }
        // dimension "attributes": the list of a category and a brand; the category is the prefix.
        "highlights/product-MLA55323897-docs-ptbr-2026.json" => {
            vec![("", json!({"category": "MLA1055", "label": "Celulares y Smartphones Xiaomi", "position": 1}))]
        }
        "highlights/product-MLB15960724-docs-es-2023.json" => {
            vec![("", json!({"category": "MLB1055", "label": "Celulares e Smartphones", "position": 19}))]
        }
        "products/MLA1002411-inactive-docs-en.json" => vec![
            ("/name", json!("Samsung Solstice ll SGH-A817")),
            ("/status", json!("inactive")),
            ("/permalink", Value::Null),
            ("/brand", json!("Samsung")),
            ("/price", Value::Null),
            ("/winner_item_id", Value::Null),
        ],
        "products/MLA18500843-parent-docs-en.json" => vec![
            ("/id", json!("MLA18500843")),
            ("/name", json!("Apple iPhone 13")),
            ("/permalink", json!("https://www.mercadolibre.com.ar/apple-iphone-13/p/MLA18500843")),
            ("/domain_id", json!("MLA-CELLPHONES")),
        ],
        "products/MLA18500852-child-buybox-docs-en.json" => vec![
            ("/name", json!("Apple iPhone 13 (128 GB) - (PRODUCT)RED")),
            ("/status", json!("active")),
            ("/brand", json!("Apple")),
            ("/price", json!(363999.0)),
            ("/currency", json!("ARS")),
            ("/price_min", json!(330158.0)),
            ("/price_max", json!(437999.0)),
            ("/winner_item_id", json!("MLA1109011009")),
        ],
        "products/MLA9652753-parent-docs-en.json" => vec![
            ("/name", json!("Motorola Moto G6")),
            ("/brand", Value::Null),
            ("/permalink", json!("https://www.mercadolibre.com.ar/p/MLA9652753")),
        ],
        "products/MLM2000140858-refurbished-docs-ptbr-2025.json" => vec![
            ("/id", json!("MLM2000140858")),
            ("/name", json!("iPhone 13 Pro 256 GB azul sierra - Bueno (Reacondicionado)")),
            ("/domain_id", json!("MLM-CELLPHONES")),
            ("/permalink", Value::Null),
            ("/brand", json!("Apple")),
        ],
        "products_items/MLA18494233-docs-en-trimmed.json" => vec![
            ("/total", json!(41)),
            ("/limit", json!(100)),
            (
                "/offers/0",
                json!({"item_id": "MLA1110011006", "seller_id": 1234567, "price": 492499.0, "currency": "ARS", "free_shipping": true}),
            ),
            ("/offers/1/item_id", json!("MLA1150170600")),
            ("/offers/1/free_shipping", Value::Null),
        ],
        "products_items/MLB6309815-docs-globalselling-trimmed.json" => vec![
            ("/total", json!(7)),
            ("/offers/0/item_id", json!("MLA824759321")),
            ("/offers/0/price", json!(13999.0)),
            ("/offers/0/free_shipping", json!(true)),
        ],
        "items/MLB3868780585-docs-ptbr-2024.json" => vec![
            ("/id", json!("MLB3868780585")),
            ("/title", json!("Smart App Wifi 220v 10a Baw Smart Switch Cor Branca")),
            ("/price", json!(280.0)),
            ("/currency", json!("BRL")),
            ("/seller_id", json!(532833708)),
            ("/catalog_product_id", json!("MLB26881749")),
            ("/brand", json!("BAW")),
        ],
        // paging collapsed to {} by the docs page: the total is the sum of rating_levels.
        "reviews/MLB1625519814-docs-es-2023-collapsed.json" => {
            vec![("", json!({"total": 92, "rating_average": 4.8}))]
        }
        "reviews/MLB1632704547-catalog-MLB14186226-docs-globalselling-2025.json" => {
            vec![("", json!({"total": 55, "rating_average": 4.6}))]
        }
        "reviews/MLB4330911507-docs-ptbr-2026.json" => vec![("", json!({"total": 7651, "rating_average": 4.9}))],
        "reviews/MLM15482175-docs-globalselling-2025.json" => vec![("", json!({"total": 3, "rating_average": 5.0}))],
        "categories/MLA1459-real-estate-root-docs-copy.json" => vec![
            ("/name", json!("Inmuebles")),
            ("/total_items", json!(652169)),
            ("/is_leaf", json!(false)),
            ("/children/0", json!({"id": "MLA374730", "name": "Camas Náuticas", "total_items": 319})),
            ("/children/15", json!({"id": "MLA1892", "name": "Otros Inmuebles", "total_items": 6401})),
        ],
        "categories/MLA3530-docs-ptbr-2025.json" => vec![
            ("/id", json!("MLA3530")),
            ("/total_items", json!(180778)),
            ("/is_leaf", json!(true)),
            ("/path_from_root/0", json!({"id": "MLA1953", "name": "Otras categorías", "total_items": null})),
        ],
        "categories/MLA79243-real-estate-leaf-docs-copy.json" => vec![
            ("/name", json!("Alquiler")),
            ("/total_items", json!(8964)),
            ("/is_leaf", json!(true)),
            ("/path_from_root/0/id", json!("MLA1459")),
            ("/path_from_root/2/id", json!("MLA79243")),
        ],
        "categories/sites-MLA-categories-docs-ptbr-2025.json" => vec![
            ("/0", json!({"id": "MLA5725", "name": "Accesorios para Vehículos", "total_items": null})),
            ("/31/id", json!("MLA1953")),
        ],
        "trends/MLA-MLA1246-docs-es-2025.json" => vec![
            ("/0/keyword", json!("mesa manicura plegable")),
            ("/0/url", json!("https://listado.mercadolibre.com.ar/mesa-manicura-plegable#trend")),
            ("/49/keyword", json!("maquina afeitar")),
        ],
        "trends/MLB-MLB1430-docs-ptbr.json" => {
            vec![("/0/keyword", json!("biquini infantil")), ("/49/keyword", json!("blusa"))]
        }
        "trends/MLB-docs-ptbr.json" => vec![
            ("/0/keyword", json!("detector metal")),
            ("/0/url", json!("https://lista.mercadolivre.com.br/detector-metal#trend")),
            ("/49/keyword", json!("relogio smartwatch")),
        ],
        "errors/400-malformed-access_token-docs.json" => {
            vec![("/status", json!(400)), ("/kind", json!("bad_request")), ("/transient", json!(false))]
        }
        "errors/401-unauthorized_request_error-invalid-caller-docs.json" => {
            vec![("/status", json!(401)), ("/kind", json!("unauthorized")), ("/transient", json!(false))]
        }
        "errors/403-PA_UNAUTHORIZED-functional-permission-docs.json" => {
            vec![("/status", json!(403)), ("/kind", json!("forbidden_policy_agent"))]
        }
        "errors/403-PA_UNAUTHORIZED-with-path-leads-docs.json" => {
            vec![("/status", json!(403)), ("/kind", json!("forbidden_policy_agent"))]
        }
        "errors/403-access_denied-FORBIDDEN-docs-erro-403.json" => {
            vec![("/status", json!(403)), ("/kind", json!("forbidden_access_denied"))]
        }
        "errors/429-too_many_requests-docs.json" => {
            vec![("/status", json!(429)), ("/kind", json!("rate_limited")), ("/transient", json!(true))]
        }
        "oauth/400-invalid_grant-docs-ptbr.json" => vec![
            ("/status", json!(400)),
            ("/kind", json!("bad_request")),
            ("/oauth_error", json!("invalid_grant")),
            ("/transient", json!(false)),
        ],
        "oauth/token-authorization_code-docs-ptbr.json" => vec![
            ("/access_token", json!("[REDACTED]")),
            ("/refresh_token", json!("[REDACTED]")),
            ("/expires_in", json!(21600)),
            ("/user_id", json!(1234567)),
            ("/scope", json!("offline_access read write")),
        ],
        "oauth/token-refresh_token-docs-ptbr.json" => {
            vec![("/access_token", json!("[REDACTED]")), ("/expires_in", json!(21600)), ("/user_id", json!(8035443))]
        }
        other => panic!("fixture {other} has no expectations: add some"),
    }
}

fn all_fixtures() -> Vec<String> {
    let root = fixtures_dir();
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "json") {
                out.push(f.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_fixture_decodes_to_its_expected_values() {
    let files = all_fixtures();
    assert_eq!(files.len(), 36, "fixture count changed: {files:?}");
    assert!(fixtures_dir().join("INDEX.md").is_file());
    for rel in &files {
        let body = std::fs::read(fixtures_dir().join(rel)).unwrap();
        let kind = kind_of(rel);
        let got = decode(kind, &body)
            .unwrap_or_else(|e| panic!("{rel} as {kind}: {e} ({:?})", std::error::Error::source(&e)));
        for (ptr, want) in expectations(rel) {
            let v = got.pointer(ptr).unwrap_or_else(|| panic!("{rel}: no {ptr} in {got}"));
            assert_eq!(v, &want, "{rel} at {ptr:?}");
        }
        // Counts of list bodies match the fixture's own lists.
        let raw: Value = serde_json::from_slice(&body).unwrap();
        match kind {
            "highlights" => {
                assert_eq!(got.as_array().unwrap().len(), raw["content"].as_array().unwrap().len(), "{rel}")
            }
            "trends" | "site-categories" => assert_eq!(got.as_array().unwrap().len(), raw.as_array().unwrap().len()),
            "category" => assert_eq!(
                got["children"].as_array().unwrap().len(),
                raw["children_categories"].as_array().unwrap().len()
            ),
            "product-items" => {
                assert_eq!(got["offers"].as_array().unwrap().len(), raw["results"].as_array().unwrap().len())
            }
            _ => {}
        }
        // A decoded token never shows the token.
        if kind == "token" {
            let text = got.to_string();
            for secret in [raw["access_token"].as_str().unwrap(), raw["refresh_token"].as_str().unwrap()] {
                assert!(!text.contains(secret), "{rel}: token echoed");
            }
        }
    }
}

#[test]
fn the_fixture_kinds_cover_every_decoder_kind_but_items() {
    let kinds: std::collections::BTreeSet<&str> = all_fixtures().iter().map(|f| kind_of(f)).collect();
    let expected: std::collections::BTreeSet<&str> = KINDS.iter().copied().filter(|k| *k != "items").collect();
    assert_eq!(kinds, expected);
}

#[test]
fn multiget_rows_in_both_shapes() {
    let body = json!([
        {"code": 200, "body": {"id": "MLA599260060", "title": "Cosa", "seller_id": 303888594, "price": 130, "currency_id": "ARS"}},
        {"code": 404, "body": {"message": "Item with id MLA1 not found", "error": "not_found", "status": 404, "cause": []}},
        {"code": 403, "body": {"error": "access_denied", "message": "Access to the requested resource is forbidden", "status": 403}}
    ]);
    let got = decode("items", body.to_string().as_bytes()).unwrap();
    assert_eq!(got[0]["item"]["title"], json!("Cosa"));
    assert_eq!(got[1]["error"]["kind"], json!("not_found"));
    assert_eq!(got[2]["error"]["kind"], json!("forbidden_access_denied"));

    let bulk = json!([
        {"status_code": 403, "body": {"error": "access_denied", "status": 403}},
        {"status_code": 200, "body": {"id": "MLB2", "title": "Dois"}}
    ]);
    let rows = items(Endpoint::ItemsBulk, bulk.to_string().as_bytes()).unwrap();
    let asked = [EntryId::parse("MLB1").unwrap(), EntryId::parse("MLB2").unwrap(), EntryId::parse("MLB3").unwrap()];
    let matched = match_rows(&asked, rows);
    assert!(
        matches!(&matched[0], (id, Err(SourceError::Forbidden { kind: ForbiddenKind::AccessDenied, .. })) if id.as_str() == "MLB1")
    );
    assert!(matches!(&matched[1], (id, Ok(info)) if id.as_str() == "MLB2" && info.title == "Dois"));
    assert_eq!(matched[2].1, Err(SourceError::NotFound));
}

#[test]
fn bodies_that_are_not_what_they_should_be_are_malformed() {
    let cases: [(&str, &[u8]); 8] = [
        ("highlights", b""),
        ("highlights", b"{\"content\": [{\"id\": \"MLB1\", \"position\": 1, \"ty"),
        ("highlights", br#"{"content": [{"id": "MLB1", "position": 0, "type": "ITEM"}]}"#),
        ("highlights", br#"{"content": [{"id": "MLB1", "position": 1, "type": "BUNDLE"}]}"#),
        ("highlights", br#"{"content": [{"id": "MLB1", "position": 1, "type": "ITEM"}, {"id": "MLB2", "position": 1, "type": "ITEM"}]}"#),
        ("product", br#"{"id": "MLB1", "name": ""}"#),
        ("reviews", br#"{"rating_average": 9.5, "paging": {"total": 3}}"#),
        ("token", br#"{"access_token": "x", "expires_in": 0}"#),
    ];
    for (kind, body) in cases {
        match decode(kind, body) {
            Err(DecodeError::Body { source: SourceError::Malformed { .. }, .. }) => {}
            other => panic!("{kind} {:?}: {other:?}", String::from_utf8_lossy(body)),
        }
    }
    assert!(matches!(decode("nope", b"{}"), Err(DecodeError::UnknownKind(_))));
    assert!(matches!(decode("error", b"{\"message\": \"x\"}"), Err(DecodeError::NoStatus)));
    assert!(matches!(
        decode("token", br#"{"access_token": "APP_USR-very-secret", "expires_in": -5}"#),
        Err(e) if !format!("{e:?} {e}").contains("very-secret")
    ));
}

#[test]
fn no_list_404_and_other_404() {
    let no_list = json!({"message": "Dimension CATEGORY with id MLB1 not found", "error": "not_found", "status": 404});
    assert_eq!(decode("error", no_list.to_string().as_bytes()).unwrap()["kind"], json!("no_list"));
    let other = json!({"message": "item with id MLB1 not found", "error": "not_found", "status": 404});
    assert_eq!(decode("error", other.to_string().as_bytes()).unwrap()["kind"], json!("not_found"));
    let cloudfront = json!({"message": "forbidden", "error": "forbidden", "status": 403, "cause": []});
    assert_eq!(decode("error", cloudfront.to_string().as_bytes()).unwrap()["kind"], json!("forbidden_cloudfront"));
}

fn entry_type() -> impl Strategy<Value = EntryType> {
    prop_oneof![Just(EntryType::Item), Just(EntryType::Product), Just(EntryType::UserProduct)]
}

fn entry_json(e: &HighlightEntry, extra: Option<(&str, Value)>) -> Value {
    let mut v = json!({"id": e.id.as_str(), "position": e.position.get(), "type": e.kind.as_str()});
    if let Some((k, x)) = extra {
        v[k] = x;
    }
    v
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300), k in 0usize..KINDS.len()) {
        let _ = decode(KINDS[k], &body);
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json(), k in 0usize..KINDS.len()) {
        let _ = decode(KINDS[k], v.to_string().as_bytes());
    }

    #[test]
    fn random_highlights_decode_to_the_same_entries(
        raw in proptest::collection::btree_map(1u8..=20, (prop::sample::select(vec!["MLB", "MLA", "MLM"]), 1u64..99_999_999_999, any::<bool>(), entry_type()), 0..20),
        shuffle_seed in any::<u64>(),
        extra in any::<bool>(),
    ) {
        let entries: Vec<HighlightEntry> = raw.iter().map(|(pos, (site, n, up, kind))| HighlightEntry {
            position: Position::new(i64::from(*pos)).unwrap(),
            id: EntryId::parse(&format!("{site}{}{n}", if *up { "U" } else { "" })).unwrap(),
            kind: *kind,
        }).collect();
        // Served in any order, with unknown fields here and there: decodes to the sorted entries.
        let mut served: Vec<Value> = entries.iter().map(|e| entry_json(e, extra.then(|| ("score", json!(1.5))))).collect();
        let len = served.len().max(1);
        served.rotate_left((shuffle_seed as usize) % len);
        let body = json!({"query_data": {"highlight_type": "BEST_SELLER", "criteria": "CATEGORY", "id": "MLB1055"}, "content": served, "extra": [1, 2]});
        let got = highlights(body.to_string().as_bytes()).unwrap();
        prop_assert_eq!(got, entries);
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[A-Za-z0-9_ ]{0,12}".prop_map(Value::String),
        prop::sample::select(vec!["MLB1055", "MLBU301", "ITEM", "PRODUCT", "id", "content", "position"])
            .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let keys = prop::sample::select(vec![
            "id",
            "content",
            "position",
            "type",
            "name",
            "title",
            "paging",
            "total",
            "results",
            "item_id",
            "code",
            "status_code",
            "body",
            "status",
            "error",
            "message",
            "access_token",
            "expires_in",
            "keyword",
            "children_categories",
            "path_from_root",
            "buy_box_winner",
            "rating_levels",
            "dimension",
            "label",
        ]);
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(keys, inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}
