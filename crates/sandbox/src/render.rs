//! Response bodies, shaped like the real API's (the fixtures in `tests/fixtures/meli/`).
//!
//! Builders take the market, the tick being served and the product; they never consult the
//! clock or any global state, so equal inputs give byte-identical bodies.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::catalog::{Lang, SiteInfo, SITES};
use crate::market::{h3, mix, unit, Cat, Family, Kind, Market, Product};
use crate::sim::TickData;

/// RFC 3339 with seconds and `Z`.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// RFC 3339 with milliseconds and `Z` (the items API style).
pub fn ts_ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A URL slug: lowercase ASCII letters and digits separated by single dashes.
pub fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dash = false;
    for c in s.chars() {
        let c = fold_accent(c.to_ascii_lowercase());
        if c.is_ascii_alphanumeric() {
            out.push(c);
            dash = false;
        } else if !dash && !out.is_empty() {
            out.push('-');
            dash = true;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

fn fold_accent(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ã' | 'Á' | 'Ã' => 'a',
        'é' | 'ê' | 'É' => 'e',
        'í' | 'Í' => 'i',
        'ó' | 'ô' | 'õ' | 'Ó' => 'o',
        'ú' | 'ü' | 'Ú' => 'u',
        'ç' => 'c',
        'ñ' => 'n',
        _ => c,
    }
}

/// A price as JSON: cents for BRL, integers elsewhere.
pub fn price_json(site: &SiteInfo, v: f64) -> Value {
    if site.cents {
        json!((v * 100.0).round() / 100.0)
    } else {
        json!(v.round() as i64)
    }
}

/// The referential buckets public resources used to show instead of exact sales.
pub fn referential(n: u64) -> u64 {
    const B: [u64; 10] = [0, 5, 25, 50, 100, 150, 200, 250, 500, 5000];
    if n >= 50_000 {
        return 50_000;
    }
    B.iter().rev().copied().find(|&b| n >= b).unwrap_or(0)
}

fn pic_url(id: &str) -> String {
    format!("https://http2.mlstatic.com/D_{id}-O.jpg")
}

fn product_permalink(site: &SiteInfo, name: &str, id: &str) -> String {
    format!("https://www.{}/{}/p/{id}", site.domain, slug(name))
}

fn item_permalink(site: &SiteInfo, id: &str, title: &str) -> String {
    let host = match site.lang {
        Lang::Pt => format!("produto.{}", site.domain),
        Lang::Es => format!("articulo.{}", site.domain),
    };
    let (prefix, num) = id.split_at(3);
    format!("https://{host}/{prefix}-{num}-{}-_JM", slug(title))
}

/// Total units sold by a product up to a tick (including before the simulation window).
pub fn total_sold(p: &Product, tick: &TickData) -> u64 {
    p.presales + u64::from(tick.cum[p.idx])
}

/// Hours since the start at a tick's middle.
fn hours(tick: &TickData) -> f64 {
    crate::sim::tick_hours(tick.k)
}

fn sale_terms(lang: Lang, warranty_months: u32) -> Value {
    let (inv, wt, wtype, fab, unit_name) = match lang {
        Lang::Pt => ("Nota fiscal", "Tempo de garantia", "Tipo de garantia", "Garantia de fábrica", "meses"),
        Lang::Es => ("Facturación", "Tiempo de garantía", "Tipo de garantía", "Garantía de fábrica", "meses"),
    };
    json!([
        {"id": "INVOICE", "name": inv, "value_id": "6891885", "value_name": "Factura A", "value_struct": null,
         "values": [{"id": "6891885", "name": "Factura A", "struct": null}], "value_type": "list"},
        {"id": "WARRANTY_TYPE", "name": wtype, "value_id": "2230279", "value_name": fab, "value_struct": null,
         "values": [{"id": "2230279", "name": fab, "struct": null}], "value_type": "list"},
        {"id": "WARRANTY_TIME", "name": wt, "value_id": null, "value_name": format!("{warranty_months} {unit_name}"),
         "value_struct": {"number": warranty_months, "unit": unit_name},
         "values": [{"id": null, "name": format!("{warranty_months} {unit_name}"),
                     "struct": {"number": warranty_months, "unit": unit_name}}],
         "value_type": "number_unit"}
    ])
}

fn shipping(price: f64, site: &SiteInfo, logistic: &str) -> Value {
    let free = price >= 79.0 * site.price_factor;
    json!({
        "mode": "me2",
        "methods": [],
        "tags": if free { json!(["mandatory_free_shipping"]) } else { json!([]) },
        "dimensions": null,
        "local_pick_up": false,
        "free_shipping": free,
        "logistic_type": logistic,
        "store_pick_up": false
    })
}

fn seller_address(site: &SiteInfo, city: usize) -> Value {
    let (cid, cname, sid, sname) = site.cities[city % site.cities.len()];
    json!({
        "city": {"id": cid, "name": cname},
        "state": {"id": sid, "name": sname},
        "neighborhood": {"id": format!("{cid}N"), "name": "Centro"}
    })
}

fn attributes(m: &Market, p: &Product, with_type: bool) -> Value {
    let tpl = m.cats[p.cat].tpl.map(|t| t.template());
    let lang = SITES[p.site].lang;
    let (brand_n, model_n, line_n) = match lang {
        Lang::Pt => ("Marca", "Modelo", "Linha"),
        Lang::Es => ("Marca", "Modelo", "Línea"),
    };
    let mut out = vec![
        ("BRAND", brand_n, p.brand_value_id.clone(), p.brand.clone()),
        ("LINE", line_n, format!("{}", 50_000 + mix(p.family as u64) % 9_000_000), p.family_name.clone()),
        ("MODEL", model_n, format!("{}", 1_000_000 + mix(p.family as u64 ^ 7) % 9_000_000), p.model.clone()),
    ];
    if let Some(t) = tpl {
        let (aid, pt, es, values) = t.picker;
        let name = if lang == Lang::Pt { pt } else { es };
        out.push((aid, name, format!("{}", 80_000 + p.variant), values[p.variant % values.len()].to_string()));
    }
    Value::Array(
        out.into_iter()
            .map(|(id, name, vid, vname)| {
                let mut a = json!({
                    "id": id, "name": name, "value_id": vid, "value_name": vname,
                    "values": [{"id": vid, "name": vname, "struct": null}]
                });
                if with_type {
                    a["value_type"] = json!("string");
                }
                a
            })
            .collect(),
    )
}

fn picture_objs(p: &Product) -> Value {
    Value::Array(
        p.pictures
            .iter()
            .enumerate()
            .map(|(i, id)| {
                json!({
                    "id": id, "url": pic_url(id),
                    "suggested_for_picker": if i == 0 { json!(["COLOR"]) } else { json!([]) },
                    "max_width": 1200, "max_height": 1200, "source_metadata": null, "tags": []
                })
            })
            .collect(),
    )
}

/// Offer `o` of product `p` at a tick: price and list price.
pub fn offer_price(m: &Market, p: &Product, o: usize, tick: &TickData) -> (f64, Option<f64>) {
    let site = &SITES[p.site];
    let (price, list) = m.price(p, hours(tick));
    let spread = p.offers.get(o).map_or(0.0, |x| x.spread);
    let v = crate::market::round_price(price * (1.0 + spread), site.cents);
    (v, list.map(|l| crate::market::round_price(l * (1.0 + spread), site.cents)))
}

/// Units sold through offer `o` (its share of the product's sales).
fn offer_sold(p: &Product, o: usize, tick: &TickData) -> u64 {
    let share = p.offers.get(o).map_or(1.0, |x| x.share);
    (total_sold(p, tick) as f64 * share).floor() as u64
}

fn buy_box_winner(m: &Market, p: &Product, tick: &TickData) -> Value {
    let site = &SITES[p.site];
    let Some(offer) = p.offers.first() else { return Value::Null };
    let (price, list) = offer_price(m, p, 0, tick);
    let addr = seller_address(site, offer.city);
    json!({
        "item_id": offer.item_id,
        "category_id": m.cats[p.cat].id,
        "seller_id": offer.seller_id,
        "price": price_json(site, price),
        "currency_id": site.currency,
        "sold_quantity": referential(offer_sold(p, 0, tick)),
        "available_quantity": referential(u64::from(offer.stock)).max(1),
        "shipping": shipping(price, site, offer.logistic_type),
        "warranty": warranty_text(site.lang),
        "condition": "new",
        "sale_terms": sale_terms(site.lang, 12),
        "official_store_id": offer.official_store_id,
        "original_price": list.map(|l| price_json(site, l)),
        "listing_type_id": offer.listing_type,
        "accepts_mercadopago": true,
        "seller_address": {"city": {"name": addr["city"]["name"]}, "state": {"name": addr["state"]["name"]}},
        "international_delivery_mode": "none",
        "tags": ["good_quality_thumbnail", "immediate_payment", "cart_eligible", "good_quality_picture"],
        "item_override_attributes": [],
        "seller": {"reputation_level_id": "GREEN", "tags": []},
        "deal_ids": [],
        "tier": "candidate",
        "inventory_id": "",
        "product_id": p.id,
        "site_id": site.id
    })
}

fn warranty_text(lang: Lang) -> &'static str {
    match lang {
        Lang::Pt => "Garantia de fábrica: 12 meses",
        Lang::Es => "Garantía de fábrica: 12 meses",
    }
}

/// `GET /products/{id}` for a simulated catalog product.
pub fn product(m: &Market, p: &Product, tick: &TickData, start: DateTime<Utc>) -> Value {
    let site = &SITES[p.site];
    let cat = &m.cats[p.cat];
    let fam = &m.families[p.family];
    let tpl = cat.tpl.map(|t| t.template());
    let domain = format!("{}-{}", site.id, tpl.map_or("GENERIC", |t| t.domain));
    let permalink = product_permalink(site, &p.name, &p.id);
    let (picker_id, picker_name) = match (tpl, site.lang) {
        (Some(t), Lang::Pt) => (t.picker.0, t.picker.1),
        (Some(t), Lang::Es) => (t.picker.0, t.picker.2),
        (None, _) => ("COLOR", "Color"),
    };
    let picker_products: Vec<Value> = fam
        .members
        .iter()
        .map(|&q| &m.products[q])
        .filter(|q| q.kind == Kind::Product)
        .map(|q| {
            let label = tpl.map_or(String::new(), |t| t.picker.3[q.variant % t.picker.3.len()].to_string());
            let pic = q.pictures.first().cloned().unwrap_or_default();
            json!({
                "product_id": q.id, "picker_label": label, "picture_id": pic,
                "thumbnail": format!("https://http2.mlstatic.com/D_{pic}-I.jpg"),
                "tags": if q.idx == p.idx { json!(["selected"]) } else { json!([]) },
                "permalink": product_permalink(site, &q.name, &q.id),
                "product_name": q.name, "auto_completed": false, "rgb_meta": ""
            })
        })
        .collect();
    let prices: Vec<f64> = (0..p.offers.len()).map(|o| offer_price(m, p, o, tick).0).collect();
    let range = if prices.is_empty() || !p.has_buy_box {
        Value::Null
    } else {
        let min = prices.iter().copied().fold(f64::INFINITY, f64::min);
        let max = prices.iter().copied().fold(0.0, f64::max);
        json!({"min": {"price": price_json(site, min), "currency_id": site.currency},
               "max": {"price": price_json(site, max), "currency_id": site.currency}})
    };
    let created = start - Duration::days(i64::from(p.age_days));
    let refurbished = if p.refurbished {
        let pic = p.pictures.first().cloned().unwrap_or_default();
        let (t1, t2) = match site.lang {
            Lang::Pt => ("Excelente", "Sem marcas de uso visíveis"),
            Lang::Es => ("Excelente", "Sin marcas de uso visibles"),
        };
        json!({
            "refurbished_image": {"id": pic, "url": pic_url(&pic), "suggested_for_picker": [], "max_width": 1200,
                                   "max_height": 1200, "source_metadata": null, "tags": ["refurbished"]},
            "gradings": [{"description": t2, "type": "EXCELLENT", "icon": "refurbished_excellent", "text": t1}]
        })
    } else {
        Value::Null
    };
    let features = match site.lang {
        Lang::Pt => {
            vec![format!("Marca: {}.", p.brand), format!("Modelo: {}.", p.model), "Garantia de 12 meses.".into()]
        }
        Lang::Es => {
            vec![format!("Marca: {}.", p.brand), format!("Modelo: {}.", p.model), "Garantía de 12 meses.".into()]
        }
    };
    json!({
        "id": p.id,
        "catalog_product_id": p.id,
        "status": "active",
        "pdp_types": if p.refurbished { json!(["REFURBISHED"]) } else { json!(["CATALOG"]) },
        "sold_quantity": referential(total_sold(p, tick)),
        "domain_id": domain,
        "permalink": permalink,
        "name": p.name,
        "family_name": p.family_name,
        "type": "PRODUCT",
        "buy_box_winner": if p.has_buy_box { buy_box_winner(m, p, tick) } else { Value::Null },
        "buy_box_winner_price_range": range,
        "pickers": [{
            "picker_id": picker_id, "picker_name": picker_name, "products": picker_products, "tags": [],
            "attributes": [{"attribute_id": picker_id, "template": ""}], "value_name_delimiter": ""
        }],
        "pictures": picture_objs(p),
        "refurbished_info": refurbished,
        "description_pictures": [],
        "main_features": features.iter().map(|t| json!({"text": t, "type": "key_value", "metadata": {"key": "", "value": ""}})).collect::<Vec<_>>(),
        "disclaimers": [],
        "attributes": attributes(m, p, false),
        "short_description": {"type": "plaintext", "content": format!("{}. {}", p.name, cat.name)},
        "parent_id": fam.parent_id,
        "user_product": null,
        "children_ids": [],
        "settings": {"listing_strategy": "catalog_required", "has_rich_description": false, "content": "",
                     "with_enhanced_pictures": false, "base_site_product_id": null, "exclusive": false},
        "buy_box_activation_date": ts(created + Duration::days(3)),
        "authority_types": ["INTERNAL"],
        "quality_type": "COMPLETE",
        "release_info": null,
        "presale_info": null,
        "enhanced_content": null,
        "tags": [],
        "date_created": ts(created),
        "authorized_stores": null,
        "last_updated": ts(created + Duration::days(i64::from(p.age_days / 2))),
        "grouper_id": null,
        "experiments": {}
    })
}

/// `GET /products/{id}` for a family parent (inactive, with `children_ids`).
pub fn parent_product(m: &Market, f: &Family, start: DateTime<Utc>) -> Value {
    let site = &SITES[f.site];
    let tpl = m.cats[f.cat].tpl.map(|t| t.template());
    let children: Vec<&str> =
        f.members.iter().map(|&q| &m.products[q]).filter(|q| q.kind == Kind::Product).map(|q| q.id.as_str()).collect();
    let age = f.members.iter().map(|&q| m.products[q].age_days).max().unwrap_or(30) + 10;
    let (brand_n, model_n) = ("Marca", "Modelo");
    json!({
        "id": f.parent_id,
        "catalog_product_id": f.parent_id,
        "status": "inactive",
        "pdp_types": [],
        "sold_quantity": 0,
        "domain_id": format!("{}-{}", site.id, tpl.map_or("GENERIC", |t| t.domain)),
        "permalink": "",
        "name": f.name,
        "family_name": f.name,
        "type": "PRODUCT",
        "buy_box_winner": null,
        "buy_box_winner_price_range": null,
        "pickers": null,
        "pictures": null,
        "refurbished_info": null,
        "description_pictures": [],
        "main_features": null,
        "disclaimers": [],
        "attributes": [
            {"id": "BRAND", "name": brand_n, "value_id": f.brand_value_id, "value_name": f.brand,
             "values": [{"id": f.brand_value_id, "name": f.brand}]},
            {"id": "MODEL", "name": model_n, "value_id": null, "value_name": f.name,
             "values": [{"id": null, "name": f.name}]}
        ],
        "short_description": {"type": "", "content": ""},
        "parent_id": null,
        "user_product": null,
        "children_ids": children,
        "settings": {"listing_strategy": "open", "has_rich_description": false, "content": "",
                     "with_enhanced_pictures": false, "base_site_product_id": null, "exclusive": false},
        "buy_box_activation_date": null,
        "authority_types": ["INTERNAL"],
        "quality_type": "COMPLETE",
        "release_info": null,
        "presale_info": null,
        "enhanced_content": null,
        "tags": [],
        "date_created": ts(start - Duration::days(i64::from(age))),
        "authorized_stores": null,
        "last_updated": ts(start - Duration::days(5)),
        "grouper_id": null,
        "experiments": {}
    })
}

/// One row of `GET /products/{id}/items`.
pub fn product_offer(m: &Market, p: &Product, o: usize, tick: &TickData) -> Value {
    let site = &SITES[p.site];
    let offer = &p.offers[o];
    let (price, list) = offer_price(m, p, o, tick);
    json!({
        "item_id": offer.item_id,
        "site_id": site.id,
        "seller_id": offer.seller_id,
        "price": price_json(site, price),
        "original_price": list.map(|l| price_json(site, l)),
        "currency_id": site.currency,
        "category_id": m.cats[p.cat].id,
        "condition": "new",
        "listing_type_id": offer.listing_type,
        "official_store_id": offer.official_store_id,
        "sold_quantity": referential(offer_sold(p, o, tick)),
        "available_quantity": referential(u64::from(offer.stock)).max(1),
        "shipping": shipping(price, site, offer.logistic_type),
        "seller_address": seller_address(site, offer.city),
        "sale_terms": sale_terms(site.lang, 12),
        "tags": ["good_quality_thumbnail", "immediate_payment", "cart_eligible"],
        "deal_ids": [],
        "warranty": warranty_text(site.lang),
        "accepts_mercadopago": true,
        "inventory_id": "",
        "tier": if o == 0 { "candidate" } else { "competitor" },
        "international_delivery_mode": "none"
    })
}

/// How a listing is seen by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// The seller of the listing: exact quantities.
    Owner,
    /// Anyone else (when allowed): referential quantities.
    Other,
}

/// `GET /items/{id}` for a listing: the ranked `ITEM` itself (`offer = None`) or an offer of a
/// catalog product.
pub fn item(
    m: &Market,
    p: &Product,
    offer: Option<usize>,
    tick: &TickData,
    start: DateTime<Utc>,
    viewer: Viewer,
) -> Value {
    let site = &SITES[p.site];
    let cat = &m.cats[p.cat];
    let (id, seller_id, logistic, listing_type, official_store, city, stock, sold, (price, list)) = match offer {
        Some(o) => {
            let x = &p.offers[o];
            (
                x.item_id.as_str(),
                x.seller_id,
                x.logistic_type,
                x.listing_type,
                x.official_store_id,
                x.city,
                u64::from(x.stock),
                offer_sold(p, o, tick),
                offer_price(m, p, o, tick),
            )
        }
        None => (
            p.id.as_str(),
            p.seller_id,
            "fulfillment",
            "gold_special",
            None,
            p.city,
            50 + mix(p.idx as u64) % 900,
            total_sold(p, tick),
            m.price(p, hours(tick)),
        ),
    };
    let (sold_q, avail_q) = match viewer {
        Viewer::Owner => (sold, stock),
        Viewer::Other => (referential(sold), referential(stock).max(1)),
    };
    let (cid, cname, sid, sname) = site.cities[city % site.cities.len()];
    let country = match site.id {
        "MLB" => ("BR", "Brasil"),
        "MLA" => ("AR", "Argentina"),
        _ => ("MX", "Mexico"),
    };
    let created = start - Duration::days(i64::from(p.age_days) - 1);
    let thumb_id = p.pictures.first().cloned().unwrap_or_default();
    let catalog = offer.is_some();
    let user_product_id = format!(
        "{}U{}",
        site.id,
        1_000_000_000 + mix(h3(m.seed, p.idx as u64, offer.unwrap_or(99) as u64, 3)) % 3_999_999_999
    );
    json!({
        "id": id,
        "site_id": site.id,
        "title": p.title,
        "family_name": p.family_name,
        "seller_id": seller_id,
        "category_id": cat.id,
        "user_product_id": user_product_id,
        "official_store_id": official_store,
        "price": price_json(site, price),
        "base_price": price_json(site, list.unwrap_or(price)),
        "original_price": list.map(|l| price_json(site, l)),
        "inventory_id": null,
        "currency_id": site.currency,
        "initial_quantity": stock + sold,
        "available_quantity": avail_q,
        "sold_quantity": sold_q,
        "sale_terms": sale_terms(site.lang, 12),
        "buying_mode": "buy_it_now",
        "listing_type_id": listing_type,
        "start_time": ts_ms(created),
        "stop_time": ts_ms(created + Duration::days(7300)),
        "end_time": ts_ms(created + Duration::days(7300)),
        "expiration_time": ts_ms(created + Duration::days(7300)),
        "condition": "new",
        "permalink": item_permalink(site, id, &p.title),
        "thumbnail_id": thumb_id,
        "thumbnail": format!("http://http2.mlstatic.com/D_{thumb_id}-I.jpg"),
        "pictures": p.pictures.iter().map(|pid| json!({
            "id": pid, "url": format!("http://http2.mlstatic.com/D_{pid}-O.jpg"),
            "secure_url": pic_url(pid), "size": "500x500", "max_size": "1200x1200", "quality": ""
        })).collect::<Vec<_>>(),
        "video_id": null,
        "descriptions": [],
        "accepts_mercadopago": true,
        "non_mercado_pago_payment_methods": [],
        "shipping": shipping(price, site, logistic),
        "international_delivery_mode": "none",
        "seller_address": {
            "address_line": "", "zip_code": "",
            "city": {"id": format!("{sid}-{}", city + 1), "name": cname},
            "state": {"id": sid, "name": sname},
            "country": {"id": country.0, "name": country.1},
            "search_location": {
                "neighborhood": {"id": format!("{cid}N"), "name": "Centro"},
                "city": {"id": cid, "name": cname},
                "state": {"id": format!("{cid}S"), "name": sname}
            },
            "latitude": -23.5 + unit(mix(p.idx as u64)) , "longitude": -46.6 + unit(mix(p.idx as u64 ^ 5)),
            "id": 1_000_000_000 + mix(seller_id) % 999_999_999
        },
        "seller_contact": null,
        "location": {},
        "geolocation": {"latitude": -23.5, "longitude": -46.6},
        "coverage_areas": [],
        "attributes": attributes(m, p, true),
        "warnings": [],
        "listing_source": "",
        "variations": [],
        "status": "active",
        "sub_status": [],
        "tags": ["good_quality_picture", "immediate_payment", "cart_eligible"],
        "warranty": warranty_text(site.lang),
        "catalog_product_id": if catalog { json!(p.id) } else { Value::Null },
        "domain_id": format!("{}-{}", site.id, cat.tpl.map_or("GENERIC", |t| t.template().domain)),
        "seller_custom_field": null,
        "parent_item_id": null,
        "differential_pricing": null,
        "deal_ids": [],
        "automatic_relist": false,
        "date_created": ts_ms(created),
        "last_updated": ts_ms(start - Duration::days(1)),
        "health": null,
        "catalog_listing": catalog,
        "item_relations": [],
        "channels": ["marketplace"]
    })
}

/// Review counters of a product at a tick: total and per-star counts (5..1).
pub fn review_counts(p: &Product, tick: &TickData) -> (u64, [u64; 5]) {
    let total = p.initial_reviews + (total_sold(p, tick) as f64 * p.review_rate).floor() as u64;
    // Star shares from the product's quality: p5 grows with the rating.
    let q = ((p.rating - 3.7) / 1.25).clamp(0.0, 1.0);
    let shares = [0.45 + 0.45 * q, 0.30 - 0.20 * q, 0.12 - 0.09 * q, 0.06 - 0.05 * q, 0.07 - 0.06 * q];
    let sum: f64 = shares.iter().sum();
    let mut counts = [0u64; 5];
    let mut assigned = 0;
    for i in 1..5 {
        counts[i] = (total as f64 * shares[i] / sum).floor() as u64;
        assigned += counts[i];
    }
    counts[0] = total - assigned;
    (total, counts)
}

/// `GET /reviews/item/{id}`.
#[allow(clippy::too_many_arguments)]
pub fn reviews(
    p: &Product,
    reviewable: &str,
    share: f64,
    tick: &TickData,
    start: DateTime<Utc>,
    limit: usize,
    offset: usize,
    seed: u64,
) -> Value {
    let site = &SITES[p.site];
    let (full_total, full_counts) = review_counts(p, tick);
    let scale = |v: u64| (v as f64 * share).floor() as u64;
    let total = scale(full_total);
    let counts: Vec<u64> = full_counts.iter().map(|&c| scale(c)).collect();
    let counted: u64 = counts.iter().sum();
    let avg = if counted == 0 {
        0.0
    } else {
        let s: u64 = counts.iter().enumerate().map(|(i, &c)| (5 - i as u64) * c).sum();
        ((s as f64 / counted as f64) * 10.0).round() / 10.0
    };
    let tick_start = crate::sim::tick_time(start, tick.k);
    let per_day = (p.base_rate * 24.0 * p.review_rate).max(0.2);
    let gap_min = (1440.0 / per_day).max(1.0);
    let (titles, bodies, color) = match site.lang {
        Lang::Pt => (
            ["Excelente", "Muito bom", "Bom", "Regular", "Ruim"],
            [
                "Chegou rápido e funciona muito bem.",
                "Bom custo-benefício.",
                "Atende, mas poderia ser melhor.",
                "Deixa a desejar.",
                "Não recomendo.",
            ],
            "Cor",
        ),
        Lang::Es => (
            ["Excelente", "Muy bueno", "Bueno", "Regular", "Malo"],
            [
                "Llegó rápido y funciona muy bien.",
                "Buena relación precio-calidad.",
                "Cumple, pero podría ser mejor.",
                "Deja que desear.",
                "No lo recomiendo.",
            ],
            "Color",
        ),
    };
    let shown = limit.min(total.saturating_sub(offset as u64) as usize);
    let list: Vec<Value> = (0..shown)
        .map(|j| {
            let n = (offset + j) as u64;
            let r = h3(seed, p.idx as u64, total.saturating_sub(n), 0x4E7);
            // Draw a star rating with the product's distribution.
            let mut pick = unit(r) * counted.max(1) as f64;
            let mut stars = 5u64;
            for (i, &c) in counts.iter().enumerate() {
                if pick < c as f64 {
                    stars = 5 - i as u64;
                    break;
                }
                pick -= c as f64;
            }
            let si = (5 - stars) as usize;
            let created = tick_start - Duration::minutes((n as f64 * gap_min) as i64 + (unit(mix(r)) * gap_min) as i64);
            let bought = created - Duration::days(3 + (mix(r ^ 9) % 20) as i64);
            json!({
                "id": 2_000_000_000 + mix(r) % 999_999_999,
                "reviewer_id": 0,
                "reviewable_object": {"id": reviewable, "type": "item"},
                "date_created": ts(created),
                "status": "published",
                "title": titles[si],
                "content": bodies[si],
                "rate": stars,
                "likes": mix(r ^ 3) % 40,
                "dislikes": mix(r ^ 4) % 4,
                "valorization": 0,
                "relevance": 0,
                "forbidden_words": 0,
                "buying_date": ts(bought),
                "condition": "new",
                "catalog_listing": p.kind == Kind::Product,
                "coupon_redeemed": false,
                "earned_rewards": 0,
                "has_pdd": false,
                "attributes": null,
                "attributes_variation": [{"attribute_id": "COLOR", "attribute_name": color, "value_name": "Preto"}],
                "media": [{"id": format!("{}-{}{}", 600_000 + mix(r ^ 5) % 399_999, site.id, mix(r ^ 6) % 99_999_999_999),
                           "status": "published", "type": "photo", "alt": "melifile.jpg",
                           "variations": [{"size": "800x800", "url": pic_url(&p.pictures[0])}]}],
                "reactions": null,
                "translations": {"es": bodies[si]}
            })
        })
        .collect();
    let pageable = total.min(5000);
    json!({
        "paging": {"total": total, "limit": limit, "offset": offset, "kvs_total": total,
                   "reviews_with_comment": total * 3 / 5, "total_pageable": pageable},
        "reviews": list,
        "rating_average": avg,
        "stars": (avg * 2.0).round() / 2.0,
        "cross_site_enabled": false,
        "rating_levels": {"one_star": counts[4], "two_star": counts[3], "three_star": counts[2],
                          "four_star": counts[1], "five_star": counts[0]},
        "helpful_reviews": {"best_max_stars": null, "best_min_stars": null},
        "attributes": [],
        "quanti_attributes": [],
        "quali_attributes": [],
        "metadata": {}
    })
}

/// `GET /categories/{id}`.
pub fn category(m: &Market, c: &Cat) -> Value {
    let site = &SITES[c.site];
    let mut path = Vec::new();
    let mut cur = Some(c.idx);
    while let Some(i) = cur {
        path.push(json!({"id": m.cats[i].id, "name": m.cats[i].name}));
        cur = m.cats[i].parent;
    }
    path.reverse();
    let children: Vec<Value> = c
        .children
        .iter()
        .map(|&i| json!({"id": m.cats[i].id, "name": m.cats[i].name, "total_items_in_this_category": m.cats[i].total_items}))
        .collect();
    let leaf = c.children.is_empty();
    let tpl = c.tpl.map(|t| t.template());
    let root = c.parent.is_none();
    json!({
        "id": c.id,
        "name": c.name,
        "picture": if root { json!(format!("http://resources.mlstatic.com/category/images/{:08x}-0000-4000-8000-{:012x}.png", mix(c.idx as u64) as u32, mix(c.idx as u64 ^ 1) % 0xFFFF_FFFF_FFFF)) } else { Value::Null },
        "permalink": if root { json!(format!("https://www.{}/c/{}", site.domain, slug(&c.name))) } else { Value::Null },
        "total_items_in_this_category": c.total_items,
        "path_from_root": path,
        "children_categories": children,
        "attribute_types": if leaf { "attributes" } else { "none" },
        "settings": {
            "adult_content": false,
            "buying_allowed": true,
            "buying_modes": ["buy_it_now"],
            "catalog_domain": tpl.map(|t| format!("{}-{}", site.id, t.domain)),
            "coverage_areas": "not_allowed",
            "currencies": [site.currency],
            "fragile": false,
            "immediate_payment": "required",
            "item_conditions": ["new", "not_specified", "used"],
            "items_reviews_allowed": false,
            "listing_allowed": leaf,
            "max_description_length": 50000,
            "max_pictures_per_item": 12,
            "max_pictures_per_item_var": 10,
            "max_sub_title_length": 70,
            "max_title_length": 60,
            "max_variations_allowed": 100,
            "maximum_price": null,
            "maximum_price_currency": site.currency,
            "minimum_price": (5.0 * site.price_factor).round() as i64,
            "minimum_price_currency": site.currency,
            "mirror_category": null,
            "mirror_master_category": null,
            "mirror_slave_categories": [],
            "price": "required",
            "reservation_allowed": "not_allowed",
            "restrictions": [],
            "rounded_address": false,
            "seller_contact": "not_allowed",
            "shipping_modes": ["not_specified", "custom", "me2"],
            "shipping_options": ["custom", "carrier"],
            "shipping_profile": "optional",
            "show_contact_information": false,
            "simple_shipping": "optional",
            "stock": "required",
            "sub_vertical": "other",
            "subscribable": false,
            "tags": [],
            "vertical": "other",
            "vip_subdomain": "produto",
            "buyer_protection_programs": ["delivered", "undelivered"],
            "status": "enabled"
        },
        "channels_settings": [
            {"channel": "mshops", "settings": {"minimum_price": 0}},
            {"channel": "proximity", "settings": {"status": "disabled"}}
        ],
        "meta_categ_id": null,
        "attributable": false,
        "date_created": c.date_created
    })
}

/// `GET /sites/{site}/categories`.
pub fn site_categories(m: &Market, site: usize) -> Value {
    Value::Array(m.roots[site].iter().map(|&i| json!({"id": m.cats[i].id, "name": m.cats[i].name})).collect())
}
