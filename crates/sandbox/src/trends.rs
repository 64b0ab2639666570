//! `/trends`: 50 search keywords per site or category, updated weekly.
//!
//! Keywords come from the simulated products (family names, "noun brand") and the domain's
//! generic words; their weekly volume is the expected demand of the products they name. The order
//! follows the real endpoint: 10 fastest-growing (against the week before), 20 most wanted
//! (volume), 20 most popular (growth against two weeks before).

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{Lang, SITES};
use crate::market::{h3, str_hash, unit, Market};

const MODIFIERS_PT: &[&str] = &[
    "barato",
    "original",
    "promoção",
    "usado",
    "novo",
    "preto",
    "branco",
    "kit",
    "pro",
    "mini",
    "2026",
    "oferta",
    "com nota fiscal",
    "frete gratis",
    "lançamento",
    "importado",
    "premium",
    "infantil",
    "portatil",
    "bivolt",
    "profissional",
    "azul",
    "grande",
    "pequeno",
    "atacado",
];
const MODIFIERS_ES: &[&str] = &[
    "barato",
    "original",
    "oferta",
    "usado",
    "nuevo",
    "negro",
    "blanco",
    "kit",
    "pro",
    "mini",
    "2026",
    "promo",
    "con factura",
    "envio gratis",
    "lanzamiento",
    "importado",
    "premium",
    "infantil",
    "portatil",
    "220v",
    "profesional",
    "azul",
    "grande",
    "chico",
    "mayorista",
];

/// Expected units sold by product `p` in week `w` (weeks counted from the start).
fn weekly(m: &Market, p: usize, w: i64) -> f64 {
    let prod = &m.products[p];
    (0..28).map(|i| prod.base_rate * m.expected_multiplier(prod, w as f64 * 168.0 + i as f64 * 6.0 + 3.0) * 6.0).sum()
}

/// The 50 `(keyword, url)` pairs of a site (`cat = None`) or a category, for week `w`.
pub fn keywords(m: &Market, site: usize, cat: Option<usize>, w: i64) -> Vec<(String, String)> {
    let info = &SITES[site];
    let products: Vec<usize> = match cat {
        Some(c) => m.cats[c].products.clone(),
        None => m.products.iter().filter(|p| p.site == site).map(|p| p.idx).collect(),
    };
    let vols: BTreeMap<usize, [f64; 3]> =
        products.iter().map(|&p| (p, [weekly(m, p, w), weekly(m, p, w - 1), weekly(m, p, w - 2)])).collect();
    // keyword → [volume this week, last week, two weeks ago]
    let mut pool: BTreeMap<String, [f64; 3]> = BTreeMap::new();
    let mut add = |kw: String, v: [f64; 3], weight: f64| {
        let e = pool.entry(kw).or_insert([0.0; 3]);
        for i in 0..3 {
            e[i] += v[i] * weight;
        }
    };
    let mut nouns: BTreeSet<String> = BTreeSet::new();
    for (&p, v) in &vols {
        let prod = &m.products[p];
        let fam = &m.families[prod.family];
        add(fam.name.to_lowercase(), *v, 1.0);
        if let Some(t) = m.cats[prod.cat].tpl.map(|t| t.template()) {
            let noun = match info.lang {
                Lang::Pt => t.noun_pt,
                Lang::Es => t.noun_es,
            }
            .to_lowercase();
            add(format!("{noun} {}", fam.brand.to_lowercase()), *v, 0.6);
            for word in t.words {
                add(word.to_string(), *v, 0.3);
            }
            nouns.insert(noun);
        }
    }
    // Categories without products: the first words of their names (and their children's).
    if nouns.is_empty() {
        let mut names = Vec::new();
        match cat {
            Some(c) => {
                names.push(c);
                names.extend(m.cats[c].children.iter().copied());
            }
            None => names.extend(m.roots[site].iter().copied()),
        }
        for c in names {
            let name = m.cats[c].name.to_lowercase();
            let first = name.split([',', '(']).next().unwrap_or("").trim().to_string();
            if !first.is_empty() {
                nouns.insert(first);
            }
        }
    }
    let modifiers = match info.lang {
        Lang::Pt => MODIFIERS_PT,
        Lang::Es => MODIFIERS_ES,
    };
    let filler_scale = info.top_rate * 168.0 * 0.04;
    let mut fillers = 0usize;
    'outer: for noun in &nouns {
        for md in modifiers {
            let kw = format!("{noun} {md}");
            let r = |week: i64| filler_scale * (0.2 + unit(h3(m.seed, str_hash(&kw), week as u64, 0x7E)));
            add(kw.clone(), [r(w), r(w - 1), r(w - 2)], 1.0);
            fillers += 1;
            if fillers >= 60 + nouns.len() * 4 {
                break 'outer;
            }
        }
    }
    let mut chosen: BTreeSet<String> = BTreeSet::new();
    let mut out: Vec<String> = Vec::with_capacity(50);
    let pick = |score: &dyn Fn(&[f64; 3]) -> f64, n: usize, out: &mut Vec<String>, chosen: &mut BTreeSet<String>| {
        let mut v: Vec<(&String, f64)> =
            pool.iter().filter(|(k, _)| !chosen.contains(*k)).map(|(k, x)| (k, score(x))).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        for (k, _) in v.into_iter().take(n) {
            chosen.insert(k.clone());
            out.push(k.clone());
        }
    };
    pick(&|x| (x[0] / x[1].max(1.0)).min(10.0) * x[0].sqrt(), 10, &mut out, &mut chosen);
    pick(&|x| x[0], 20, &mut out, &mut chosen);
    pick(&|x| (x[0] / x[2].max(1.0)).min(10.0) * x[0].sqrt(), 20, &mut out, &mut chosen);
    out.into_iter()
        .map(|kw| {
            let url = format!("https://{}/{}#trend", info.list_host, kw.replace(' ', "-"));
            (kw, url)
        })
        .collect()
}
