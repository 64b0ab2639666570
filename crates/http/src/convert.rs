//! Wire → domain, in one place. Every conversion that can fail says why in a [`WireError`], which the
//! decoders turn into `SourceError::Malformed` naming the endpoint.

use chrono::{DateTime, Utc};
use meli_core::auth::TokenSet;
use meli_core::source::{HighlightEntry, HighlightPosition, ItemInfo, Offer, OfferPage, ProductInfo, ReviewSummary};
use meli_core::{CategoryId, EntryId, EntryType, Position};

use crate::model::{CategoryInfo, CategoryRef, TrendKeyword};
use crate::wire;

/// Why a well-formed JSON body is not what the endpoint should return.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WireError(pub String);

fn entry_id(s: &str, what: &str) -> Result<EntryId, WireError> {
    EntryId::parse(s).map_err(|e| WireError(format!("{what}: {e}")))
}

fn category_id(s: &str, what: &str) -> Result<CategoryId, WireError> {
    CategoryId::parse(s).map_err(|e| WireError(format!("{what}: {e}")))
}

/// An empty string means "none" in several bodies (`"permalink": ""` on inactive products).
fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

fn brand(attrs: &[wire::AttributeWire]) -> Option<String> {
    attrs.iter().find(|a| a.id.as_deref() == Some("BRAND")).and_then(|a| non_empty(a.value_name.clone()))
}

impl TryFrom<wire::HighlightEntryWire> for HighlightEntry {
    type Error = WireError;
    fn try_from(w: wire::HighlightEntryWire) -> Result<Self, WireError> {
        Ok(HighlightEntry {
            position: Position::new(w.position).map_err(|e| WireError(format!("entry {}: {e}", w.id)))?,
            kind: EntryType::parse(&w.kind).map_err(|e| WireError(format!("entry {}: {e}", w.id)))?,
            id: entry_id(&w.id, "entry id")?,
        })
    }
}

/// A whole list: every entry must convert (a list with a hole would shift the ranking), and no
/// position may appear twice.
pub fn highlight_entries(body: wire::HighlightsBody) -> Result<Vec<HighlightEntry>, WireError> {
    let mut out: Vec<HighlightEntry> =
        body.content.into_iter().map(HighlightEntry::try_from).collect::<Result<_, _>>()?;
    out.sort_by_key(|e| e.position);
    if let Some(w) = out.windows(2).find(|w| w[0].position == w[1].position) {
        return Err(WireError(format!("position {} appears twice", w[0].position)));
    }
    Ok(out)
}

impl TryFrom<wire::HighlightPositionWire> for HighlightPosition {
    type Error = WireError;
    /// `dimension: category` names the category itself; `dimension: attributes` names a
    /// category-and-attribute list such as `MLA1055-BRAND-59387`, whose category is the part before
    /// the first `-`.
    fn try_from(w: wire::HighlightPositionWire) -> Result<Self, WireError> {
        let cat = w.id.split('-').next().unwrap_or_default();
        Ok(HighlightPosition {
            category: category_id(cat, "highlight dimension id")?,
            label: non_empty(w.label),
            position: Position::new(w.position).map_err(|e| WireError(e.to_string()))?,
        })
    }
}

impl TryFrom<wire::ProductWire> for ProductInfo {
    type Error = WireError;
    fn try_from(w: wire::ProductWire) -> Result<Self, WireError> {
        let id = entry_id(&w.id, "product id")?;
        let name = non_empty(w.name)
            .or_else(|| non_empty(w.family_name))
            .ok_or_else(|| WireError(format!("product {id} has no name")))?;
        let winner = w.buy_box_winner;
        let range = w.buy_box_winner_price_range;
        let min = range.as_ref().and_then(|r| r.min.as_ref());
        let max = range.as_ref().and_then(|r| r.max.as_ref());
        let currency = winner
            .as_ref()
            .and_then(|b| b.currency_id.clone())
            .or_else(|| min.and_then(|p| p.currency_id.clone()))
            .or_else(|| max.and_then(|p| p.currency_id.clone()));
        let winner_item_id = match winner.as_ref().and_then(|b| b.item_id.as_deref()) {
            Some(s) if !s.trim().is_empty() => Some(entry_id(s, "buy_box_winner.item_id")?),
            _ => None,
        };
        Ok(ProductInfo {
            id,
            name,
            status: non_empty(w.status),
            brand: brand(&w.attributes),
            permalink: non_empty(w.permalink),
            domain_id: non_empty(w.domain_id),
            price: winner.as_ref().and_then(|b| b.price),
            currency,
            price_min: min.and_then(|p| p.price),
            price_max: max.and_then(|p| p.price),
            winner_item_id,
        })
    }
}

impl TryFrom<wire::OfferWire> for Offer {
    type Error = WireError;
    fn try_from(w: wire::OfferWire) -> Result<Self, WireError> {
        Ok(Offer {
            item_id: entry_id(&w.item_id, "offer item_id")?,
            seller_id: w.seller_id,
            price: w.price,
            currency: w.currency_id,
            free_shipping: w.shipping.and_then(|s| s.free_shipping),
        })
    }
}

fn to_u32(n: Option<u64>, default: u32) -> u32 {
    n.map_or(default, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

impl TryFrom<wire::OffersWire> for OfferPage {
    type Error = WireError;
    fn try_from(w: wire::OffersWire) -> Result<Self, WireError> {
        let offers: Vec<Offer> = w.results.into_iter().map(Offer::try_from).collect::<Result<_, _>>()?;
        let paging = w.paging;
        let offers_len = u32::try_from(offers.len()).unwrap_or(u32::MAX);
        Ok(OfferPage {
            total: to_u32(paging.as_ref().and_then(|p| p.total), offers_len),
            offset: to_u32(paging.as_ref().and_then(|p| p.offset), 0),
            limit: to_u32(paging.as_ref().and_then(|p| p.limit), offers_len),
            offers,
        })
    }
}

impl TryFrom<wire::ItemWire> for ItemInfo {
    type Error = WireError;
    fn try_from(w: wire::ItemWire) -> Result<Self, WireError> {
        let id = entry_id(&w.id, "item id")?;
        let title = non_empty(w.title).ok_or_else(|| WireError(format!("item {id} has no title")))?;
        let catalog_product_id = match w.catalog_product_id.as_deref() {
            Some(s) if !s.trim().is_empty() => Some(entry_id(s, "catalog_product_id")?),
            _ => None,
        };
        Ok(ItemInfo {
            id,
            title,
            price: w.price,
            currency: w.currency_id,
            permalink: non_empty(w.permalink),
            seller_id: w.seller_id,
            catalog_product_id,
            brand: brand(&w.attributes),
        })
    }
}

impl TryFrom<wire::ReviewsWire> for ReviewSummary {
    type Error = WireError;
    /// `paging.total` when present; some published bodies collapse `paging` to `{}`, and then the sum
    /// of `rating_levels` is the same count.
    fn try_from(w: wire::ReviewsWire) -> Result<Self, WireError> {
        let from_levels = w.rating_levels.as_ref().map(|l| {
            [l.one_star, l.two_star, l.three_star, l.four_star, l.five_star].iter().map(|n| n.unwrap_or(0)).sum()
        });
        let total = w
            .paging
            .as_ref()
            .and_then(|p| p.total)
            .or(from_levels)
            .ok_or_else(|| WireError("reviews body has neither paging.total nor rating_levels".into()))?;
        if let Some(avg) = w.rating_average {
            if !(0.0..=5.0).contains(&avg) {
                return Err(WireError(format!("rating_average {avg} is outside 0..5")));
            }
        }
        Ok(ReviewSummary { total, rating_average: w.rating_average })
    }
}

impl TryFrom<wire::CategoryRefWire> for CategoryRef {
    type Error = WireError;
    fn try_from(w: wire::CategoryRefWire) -> Result<Self, WireError> {
        Ok(CategoryRef {
            id: category_id(&w.id, "category id")?,
            name: non_empty(w.name),
            total_items: w.total_items_in_this_category,
        })
    }
}

impl TryFrom<wire::CategoryWire> for CategoryInfo {
    type Error = WireError;
    fn try_from(w: wire::CategoryWire) -> Result<Self, WireError> {
        Ok(CategoryInfo {
            id: category_id(&w.id, "category id")?,
            name: w.name,
            total_items: w.total_items_in_this_category,
            path_from_root: w.path_from_root.into_iter().map(CategoryRef::try_from).collect::<Result<_, _>>()?,
            children: w.children_categories.into_iter().map(CategoryRef::try_from).collect::<Result<_, _>>()?,
        })
    }
}

impl From<wire::TrendWire> for TrendKeyword {
    fn from(w: wire::TrendWire) -> Self {
        TrendKeyword { keyword: w.keyword, url: non_empty(w.url) }
    }
}

/// A token response becomes a [`TokenSet`] (version 0: the store assigns versions). `now` is when
/// the request was sent, so `expires_at` errs on the early side.
pub fn token_set(w: wire::TokenWire, now: DateTime<Utc>) -> Result<TokenSet, WireError> {
    if w.expires_in <= 0 {
        return Err(WireError(format!("token expires_in {} is not positive", w.expires_in)));
    }
    if let Some(t) = &w.token_type {
        if !t.eq_ignore_ascii_case("bearer") {
            return Err(WireError(format!("token_type {t:?} is not bearer")));
        }
    }
    Ok(TokenSet {
        access_token: w.access_token,
        refresh_token: w.refresh_token,
        expires_at: now + chrono::Duration::seconds(w.expires_in.min(366 * 24 * 3600)),
        user_id: w.user_id,
        scope: w.scope,
        version: 0,
    })
}
