//! The simulated market: categories, products, families, offers and their demand processes.
//!
//! Everything is generated once from the seed with ChaCha; per-tick randomness (noise, promotions)
//! comes from a stateless hash of `(seed, product, tick)`, so any tick can be computed in any order
//! and gives the same numbers.

use std::collections::{HashMap, HashSet};

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::catalog::{Lang, SiteInfo, Tpl, CATEGORIES, HOSTILE_BRANDS, HOSTILE_TITLES, SITES};
use crate::config::Scenario;

/// splitmix64 finaliser: a good 64-bit mixer.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of a seed and three words.
pub fn h3(seed: u64, a: u64, b: u64, c: u64) -> u64 {
    mix(seed ^ mix(a ^ mix(b.wrapping_add(0x632B_E59B_D9B4_E019) ^ mix(c.wrapping_add(0x1234_5678)))))
}

/// A uniform number in [0, 1) from a hash.
pub fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A standard normal number from a hash (Box-Muller).
pub fn normal(x: u64) -> f64 {
    let u1 = unit(x).max(1e-12);
    let u2 = unit(mix(x));
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Stable hash of a string (FNV-1a), for seeding per-name randomness.
pub fn str_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// What kind of entry a product is on the best-seller lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Catalog product (`/products/{id}`).
    Product,
    /// A listing (`/items/{id}`).
    Item,
    /// A User Product (unresolvable for third parties).
    UserProduct,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Product => "PRODUCT",
            Kind::Item => "ITEM",
            Kind::UserProduct => "USER_PRODUCT",
        }
    }
}

/// The latent demand process of a product (multiplies its base rate).
#[derive(Debug, Clone, PartialEq)]
pub enum Process {
    Steady,
    /// Day and week cycles.
    Seasonal {
        day_amp: f64,
        day_phase: f64,
        week_amp: f64,
        week_phase: f64,
    },
    /// A sudden sustained rise at `at_h` (hours since start), reaching `factor` after `rise_h`.
    Breakout {
        at_h: f64,
        factor: f64,
        rise_h: f64,
    },
    /// Exponential decay from `start_h` towards `floor`.
    Fading {
        start_h: f64,
        half_life_h: f64,
        floor: f64,
    },
    /// No sales before `launch_h`, then a ramp to full demand over `ramp_h`.
    Newcomer {
        launch_h: f64,
        ramp_h: f64,
    },
}

impl Process {
    pub fn name(&self) -> &'static str {
        match self {
            Process::Steady => "steady",
            Process::Seasonal { .. } => "seasonal",
            Process::Breakout { .. } => "breakout",
            Process::Fading { .. } => "fading",
            Process::Newcomer { .. } => "newcomer",
        }
    }

    /// The multiplier at `h` hours since the simulated start.
    pub fn at(&self, h: f64) -> f64 {
        use std::f64::consts::TAU;
        match *self {
            Process::Steady => 1.0,
            Process::Seasonal { day_amp, day_phase, week_amp, week_phase } => {
                (1.0 + day_amp * (TAU * h / 24.0 + day_phase).sin())
                    * (1.0 + week_amp * (TAU * h / 168.0 + week_phase).sin())
            }
            Process::Breakout { at_h, factor, rise_h } => {
                let x = ((h - at_h) / rise_h).clamp(0.0, 1.0);
                1.0 + (factor - 1.0) * x * x * (3.0 - 2.0 * x)
            }
            Process::Fading { start_h, half_life_h, floor } => {
                if h < start_h {
                    1.0
                } else {
                    floor + (1.0 - floor) * 0.5f64.powf((h - start_h) / half_life_h)
                }
            }
            Process::Newcomer { launch_h, ramp_h } => {
                if h < launch_h {
                    0.0
                } else {
                    ((h - launch_h) / ramp_h).min(1.0)
                }
            }
        }
    }
}

/// One offer (listing) of a catalog product.
#[derive(Debug, Clone)]
pub struct Offer {
    pub item_id: String,
    pub seller_id: u64,
    /// Price relative to the product's reference price.
    pub spread: f64,
    pub logistic_type: &'static str,
    pub listing_type: &'static str,
    pub official_store_id: Option<u32>,
    pub city: usize,
    pub stock: u32,
    /// Share of the product's sales that go through this offer.
    pub share: f64,
}

/// A simulated product (an entry that can appear on a best-seller list).
#[derive(Debug, Clone)]
pub struct Product {
    pub idx: usize,
    pub id: String,
    pub kind: Kind,
    pub site: usize,
    /// Leaf category index.
    pub cat: usize,
    pub family: usize,
    /// Index of the picker value this variant has.
    pub variant: usize,
    pub brand: String,
    pub brand_value_id: String,
    pub model: String,
    pub name: String,
    pub family_name: String,
    pub title: String,
    pub hostile: bool,
    pub base_price: f64,
    /// Units per hour at multiplier 1.
    pub base_rate: f64,
    pub process: Process,
    /// Slow drift: (period hours, amplitude, phase) twice.
    pub drift: [(f64, f64, f64); 2],
    pub noise_sigma: f64,
    pub promo_prob: f64,
    pub rating: f64,
    pub review_rate: f64,
    pub initial_reviews: u64,
    /// Units sold before the simulation window.
    pub presales: u64,
    pub offers: Vec<Offer>,
    pub has_buy_box: bool,
    pub refurbished: bool,
    /// The seller of an `ITEM`/`USER_PRODUCT` listing.
    pub seller_id: u64,
    pub city: usize,
    pub pictures: Vec<String>,
    /// Days before the start at which the product was created.
    pub age_days: u32,
}

/// A family: the inactive parent product and its variants.
#[derive(Debug, Clone)]
pub struct Family {
    pub parent_id: String,
    pub site: usize,
    pub cat: usize,
    pub name: String,
    pub brand: String,
    pub brand_value_id: String,
    pub members: Vec<usize>,
}

/// A category at run time.
#[derive(Debug, Clone)]
pub struct Cat {
    pub idx: usize,
    pub id: String,
    pub name: String,
    pub site: usize,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    pub has_list: bool,
    pub tpl: Option<Tpl>,
    pub total_items: u64,
    /// Products in the subtree (sorted by index).
    pub products: Vec<usize>,
    /// Index in `Market::listed` when the category has a list.
    pub list_idx: Option<usize>,
    pub date_created: String,
}

/// What `/products/{id}` can resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductRef {
    Sim(usize),
    Parent(usize),
}

/// What `/items/{id}` can resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemRef {
    /// A ranked `ITEM` entry: the listing itself.
    Listing(usize),
    /// Offer `o` of catalog product `p`.
    Offer(usize, usize),
}

/// The whole market.
#[derive(Debug)]
pub struct Market {
    pub seed: u64,
    pub scenario: Scenario,
    pub user_id: u64,
    pub cats: Vec<Cat>,
    pub cat_index: HashMap<String, usize>,
    /// Top-level categories per site, in definition order.
    pub roots: Vec<Vec<usize>>,
    /// Categories with a list, in definition order.
    pub listed: Vec<usize>,
    pub products: Vec<Product>,
    pub families: Vec<Family>,
    pub product_index: HashMap<String, ProductRef>,
    pub item_index: HashMap<String, ItemRef>,
    /// Every simulated product (any kind) by id.
    pub by_id: HashMap<String, usize>,
    /// Sellers per site.
    pub sellers: Vec<Vec<u64>>,
}

const LOGISTIC: &[&str] = &["fulfillment", "xd_drop_off", "cross_docking", "drop_off"];
const LISTING: &[&str] = &["gold_pro", "gold_special"];

impl Market {
    /// Builds the market for a seed and a scenario.
    pub fn generate(seed: u64, scenario: Scenario, user_id: u64) -> Market {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0005_EED0_F3A1_27E7);
        let mut ids: HashSet<String> = HashSet::new();
        let mut cats: Vec<Cat> = Vec::new();
        let mut cat_index = HashMap::new();
        let mut roots = vec![Vec::new(); SITES.len()];
        for (site_id, defs) in CATEGORIES {
            let site = SITES.iter().position(|s| s.id == *site_id).unwrap_or(0);
            for (id, name, parent, list, tpl) in defs.iter() {
                let idx = cats.len();
                let parent_idx = parent.and_then(|p| cat_index.get(p).copied());
                let day = 1 + (str_hash(id) % 27) as u32;
                cats.push(Cat {
                    idx,
                    id: id.to_string(),
                    name: name.to_string(),
                    site,
                    parent: parent_idx,
                    children: Vec::new(),
                    has_list: *list,
                    tpl: *tpl,
                    total_items: 0,
                    products: Vec::new(),
                    list_idx: None,
                    date_created: format!("2018-04-{day:02}T08:12:56.000Z"),
                });
                ids.insert(id.to_string());
                cat_index.insert(id.to_string(), idx);
                match parent_idx {
                    Some(p) => cats[p].children.push(idx),
                    None => roots[site].push(idx),
                }
            }
        }
        // Supply: leaves get a listing count, parents the sum of their children (reverse order:
        // children are defined after their parents).
        for i in (0..cats.len()).rev() {
            if cats[i].children.is_empty() {
                cats[i].total_items = 800 + str_hash(&cats[i].id) % 180_000;
            }
            let total = cats[i].total_items + cats[i].children.iter().map(|&c| cats[c].total_items).sum::<u64>();
            cats[i].total_items = total;
        }
        let mut listed = Vec::new();
        for c in cats.iter_mut() {
            if c.has_list {
                c.list_idx = Some(listed.len());
                listed.push(c.idx);
            }
        }

        let mut sellers = Vec::new();
        for (s, _) in SITES.iter().enumerate() {
            let mut v: Vec<u64> = (0..60).map(|_| rng.gen_range(100_000_000..1_999_999_999)).collect();
            if s == 0 {
                v[0] = user_id;
            }
            sellers.push(v);
        }

        let mut m = Market {
            seed,
            scenario,
            user_id,
            cats,
            cat_index,
            roots,
            listed,
            products: Vec::new(),
            families: Vec::new(),
            product_index: HashMap::new(),
            item_index: HashMap::new(),
            by_id: HashMap::new(),
            sellers,
        };
        let leaves: Vec<usize> = m.cats.iter().filter(|c| c.tpl.is_some()).map(|c| c.idx).collect();
        for leaf in leaves {
            m.populate(leaf, &mut rng, &mut ids);
        }
        m.by_id = m.products.iter().map(|p| (p.id.clone(), p.idx)).collect();
        // Subtree product lists.
        for p in 0..m.products.len() {
            let mut c = Some(m.products[p].cat);
            while let Some(ci) = c {
                m.cats[ci].products.push(p);
                c = m.cats[ci].parent;
            }
        }
        m
    }

    fn fresh_id(rng: &mut ChaCha8Rng, ids: &mut HashSet<String>, prefix: &str, lo: u64, hi: u64) -> String {
        loop {
            let id = format!("{prefix}{}", rng.gen_range(lo..hi));
            if ids.insert(id.clone()) {
                return id;
            }
        }
    }

    fn populate(&mut self, leaf: usize, rng: &mut ChaCha8Rng, ids: &mut HashSet<String>) {
        let Some(tpl_kind) = self.cats[leaf].tpl else { return };
        let tpl = tpl_kind.template();
        let site = self.cats[leaf].site;
        let site_info: &SiteInfo = &SITES[site];
        let sid = site_info.id;
        let volatile = self.scenario == Scenario::Volatile;
        let n_products = rng.gen_range(40..=56usize);
        let mut ranks: Vec<usize> = (1..=n_products).collect();
        ranks.shuffle(rng);
        let mut made = 0usize;
        let mut combos: Vec<(usize, usize)> = Vec::new();
        for (b, (_, _, models)) in tpl.brands.iter().enumerate() {
            for m in 0..models.len() {
                combos.push((b, m));
            }
        }
        combos.shuffle(rng);
        let mut combo_i = 0usize;
        while made < n_products {
            let (b, mi) = combos[combo_i % combos.len()];
            let generation = combo_i / combos.len();
            combo_i += 1;
            let (brand, brand_vid, models) = tpl.brands[b];
            let mut model = models[mi].to_string();
            if generation > 0 {
                model = format!("{model} ({})", 2023 + generation);
            }
            let family_idx = self.families.len();
            let parent_id = Self::fresh_id(rng, ids, sid, 10_000_000, 79_999_999);
            self.product_index.insert(parent_id.clone(), ProductRef::Parent(family_idx));
            let noun = match site_info.lang {
                Lang::Pt => tpl.noun_pt,
                Lang::Es => tpl.noun_es,
            };
            let family_name = format!("{brand} {model}");
            self.families.push(Family {
                parent_id,
                site,
                cat: leaf,
                name: family_name.clone(),
                brand: brand.to_string(),
                brand_value_id: brand_vid.to_string(),
                members: Vec::new(),
            });
            let n_var = rng.gen_range(1..=3usize).min(n_products - made).min(tpl.picker.3.len());
            let mut vars: Vec<usize> = (0..tpl.picker.3.len()).collect();
            vars.shuffle(rng);
            for &variant in vars.iter().take(n_var) {
                let rank = ranks[made];
                made += 1;
                let idx = self.products.len();
                let kind_roll: f64 = rng.gen();
                let kind = if kind_roll < 0.70 {
                    Kind::Product
                } else if kind_roll < 0.85 {
                    Kind::Item
                } else {
                    Kind::UserProduct
                };
                let id = match kind {
                    Kind::Product => Self::fresh_id(rng, ids, sid, 10_000_000, 79_999_999),
                    Kind::Item => Self::fresh_id(rng, ids, sid, 4_000_000_000, 6_999_999_999),
                    Kind::UserProduct => Self::fresh_id(rng, ids, &format!("{sid}U"), 1_000_000_000, 4_999_999_999),
                };
                let value = tpl.picker.3[variant];
                let mut brand_s = brand.to_string();
                let mut name = format!("{brand} {model} {value}");
                let mut title = format!("{noun} {brand} {model} {value}");
                let hostile = self.scenario == Scenario::Hostile && rank % 6 == 2;
                if hostile {
                    let k = (idx / 6) % (HOSTILE_TITLES.len() + 1);
                    let text = if k == HOSTILE_TITLES.len() {
                        format!("{} {}", "Muito longo ".repeat(40), HOSTILE_TITLES[0])
                    } else {
                        HOSTILE_TITLES[k].to_string()
                    };
                    name = format!("{text} {model}");
                    title = format!("{noun} {text} {model}");
                    brand_s = HOSTILE_BRANDS[idx % HOSTILE_BRANDS.len()].to_string();
                }
                let lo = tpl.price.0.ln();
                let hi = tpl.price.1.ln();
                let base_price = (lo + (hi - lo) * rng.gen::<f64>()).exp() * site_info.price_factor;
                let base_price = round_price(base_price, site_info.cents);
                let z: f64 = normal(rng.gen());
                let base_rate = site_info.top_rate * tpl.volume * (rank as f64).powf(-0.65) * (0.12 * z).exp();
                let p_roll: f64 = rng.gen();
                let (steady, seasonal, breakout, fading) =
                    if volatile { (0.20, 0.40, 0.60, 0.75) } else { (0.40, 0.65, 0.76, 0.87) };
                let process = if p_roll < steady {
                    Process::Steady
                } else if p_roll < seasonal {
                    Process::Seasonal {
                        day_amp: rng.gen_range(0.1..0.5),
                        day_phase: rng.gen_range(0.0..std::f64::consts::TAU),
                        week_amp: rng.gen_range(0.1..0.35),
                        week_phase: rng.gen_range(0.0..std::f64::consts::TAU),
                    }
                } else if p_roll < breakout {
                    Process::Breakout {
                        at_h: rng.gen_range(2.0..168.0),
                        factor: rng.gen_range(2.5..6.0),
                        rise_h: rng.gen_range(4.0..24.0),
                    }
                } else if p_roll < fading {
                    Process::Fading {
                        start_h: rng.gen_range(-48.0..120.0),
                        half_life_h: rng.gen_range(24.0..96.0),
                        floor: rng.gen_range(0.1..0.3),
                    }
                } else {
                    Process::Newcomer { launch_h: rng.gen_range(-12.0..168.0), ramp_h: rng.gen_range(6.0..48.0) }
                };
                let drift = [
                    (rng.gen_range(60.0..240.0), rng.gen_range(0.05..0.2), rng.gen_range(0.0..std::f64::consts::TAU)),
                    (rng.gen_range(20.0..60.0), rng.gen_range(0.02..0.1), rng.gen_range(0.0..std::f64::consts::TAU)),
                ];
                let sellers = &self.sellers[site];
                let n_offers = match kind {
                    Kind::Product => rng.gen_range(1..=12usize),
                    _ => 0,
                };
                let mut offers = Vec::with_capacity(n_offers);
                let mut spreads: Vec<f64> =
                    (0..n_offers).map(|i| if i == 0 { 0.0 } else { rng.gen_range(0.0..0.35) }).collect();
                spreads.sort_by(|a, b| a.total_cmp(b));
                let owned_offer = site == 0 && kind == Kind::Product && rank % 7 == 3;
                for (o, spread) in spreads.into_iter().enumerate() {
                    let item_id = Self::fresh_id(rng, ids, sid, 1_000_000_000, 6_999_999_999);
                    let seller_id = if owned_offer && o + 1 == n_offers.max(1) {
                        self.user_id
                    } else {
                        sellers[rng.gen_range(1..sellers.len())]
                    };
                    self.item_index.insert(item_id.clone(), ItemRef::Offer(idx, o));
                    offers.push(Offer {
                        item_id,
                        seller_id,
                        spread,
                        logistic_type: LOGISTIC[rng.gen_range(0..LOGISTIC.len())],
                        listing_type: LISTING[rng.gen_range(0..LISTING.len())],
                        official_store_id: if rng.gen_bool(0.2) { Some(rng.gen_range(100..9000)) } else { None },
                        city: rng.gen_range(0..site_info.cities.len()),
                        stock: rng.gen_range(1..500),
                        share: 1.0 / (o as f64 + 1.5),
                    });
                }
                let share_sum: f64 = offers.iter().map(|o| o.share).sum();
                for o in offers.iter_mut() {
                    o.share /= share_sum.max(1e-9);
                }
                match kind {
                    Kind::Product => {
                        self.product_index.insert(id.clone(), ProductRef::Sim(idx));
                    }
                    Kind::Item => {
                        self.item_index.insert(id.clone(), ItemRef::Listing(idx));
                    }
                    Kind::UserProduct => {}
                }
                let pictures = (0..rng.gen_range(3..8))
                    .map(|_| {
                        format!(
                            "{}-{}{}_{:02}2025",
                            rng.gen_range(600_000..999_999),
                            sid,
                            rng.gen_range(10_000_000_000u64..99_999_999_999),
                            rng.gen_range(1..12)
                        )
                    })
                    .collect();
                self.families[family_idx].members.push(idx);
                self.products.push(Product {
                    idx,
                    id,
                    kind,
                    site,
                    cat: leaf,
                    family: family_idx,
                    variant,
                    brand: brand_s,
                    brand_value_id: brand_vid.to_string(),
                    model: model.clone(),
                    name,
                    family_name: family_name.clone(),
                    title,
                    hostile,
                    base_price,
                    base_rate,
                    process,
                    drift,
                    noise_sigma: if volatile { 0.45 } else { 0.3 },
                    promo_prob: if volatile { 0.12 } else { 0.06 },
                    rating: rng.gen_range(3.7..4.95),
                    review_rate: rng.gen_range(0.03..0.12),
                    initial_reviews: rng.gen_range(0..400),
                    presales: rng.gen_range(100..20_000),
                    offers,
                    has_buy_box: rng.gen_bool(0.6),
                    refurbished: kind == Kind::Product && rng.gen_bool(0.1),
                    seller_id: sellers[rng.gen_range(1..sellers.len())],
                    city: rng.gen_range(0..site_info.cities.len()),
                    pictures,
                    age_days: rng.gen_range(30..900),
                });
            }
        }
    }

    /// The site of a category.
    pub fn site(&self, idx: usize) -> &'static SiteInfo {
        &SITES[idx]
    }

    /// Site index from its id.
    pub fn site_index(id: &str) -> Option<usize> {
        SITES.iter().position(|s| s.id == id)
    }

    /// The demand multiplier of product `p` at `h` hours since start, without per-tick noise.
    pub fn expected_multiplier(&self, p: &Product, h: f64) -> f64 {
        use std::f64::consts::TAU;
        let mut m = p.process.at(h);
        for (period, amp, phase) in p.drift {
            m *= 1.0 + amp * (TAU * h / period + phase).sin();
        }
        if let Some(d) = self.promo(p, h) {
            m *= 1.0 + 1.8 * d;
        }
        m.max(0.0)
    }

    /// The promotion discount active at `h` (hours since start), if any.
    pub fn promo(&self, p: &Product, h: f64) -> Option<f64> {
        let day = (h / 24.0).floor() as i64;
        for d in [day - 1, day] {
            let r = h3(self.seed, p.idx as u64, d as u64, 0x9A0);
            if unit(r) < p.promo_prob {
                let start = d as f64 * 24.0 + unit(mix(r)) * 24.0;
                let len = 6.0 + unit(mix(r ^ 1)) * 30.0;
                if h >= start && h < start + len {
                    let pct = 10 + (unit(mix(r ^ 2)) * 5.0).floor() as i64 * 5;
                    return Some(pct as f64 / 100.0);
                }
            }
        }
        None
    }

    /// Units sold by product `p` in tick `k` (internal index), centred at `h` hours.
    pub fn tick_sales(&self, p: &Product, k: u64, h: f64, tick_hours: f64) -> u32 {
        let mean = p.base_rate * self.expected_multiplier(p, h) * tick_hours;
        if mean <= 0.0 {
            return 0;
        }
        let r = h3(self.seed, p.idx as u64, k, 0x5A1E);
        let s = p.noise_sigma;
        let noise = (s * normal(r) - s * s / 2.0).exp();
        (mean * noise + unit(mix(r ^ 0xABC))).floor().max(0.0) as u32
    }

    /// The price of a product at `h` hours, and the list price when a promotion is on.
    pub fn price(&self, p: &Product, h: f64) -> (f64, Option<f64>) {
        let cents = SITES[p.site].cents;
        match self.promo(p, h) {
            Some(d) => (round_price(p.base_price * (1.0 - d), cents), Some(p.base_price)),
            None => (p.base_price, None),
        }
    }
}

/// Rounds a price the way sellers of a site write them (BRL: x.90, others: integer ending in 9).
pub fn round_price(v: f64, cents: bool) -> f64 {
    if cents {
        (v.floor() + 0.9).max(0.9)
    } else {
        ((v / 10.0).floor() * 10.0 + 9.0).max(9.0)
    }
}
