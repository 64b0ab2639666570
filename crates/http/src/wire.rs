//! Wire types: the JSON bodies of api.mercadolibre.com as they come, before any judgement.
//!
//! Only what a body cannot do without is required (the `content` of a highlights list, an entry's id,
//! position and type, a product's id...). Everything else is an `Option`, read leniently: a field of an
//! unexpected JSON type becomes `None` instead of failing the whole body, because the real API returns
//! more variety than its documentation. Unknown fields are ignored. Conversion to domain types happens
//! in [`crate::convert`], in one place.

use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Reads an optional field leniently: missing, `null` or of the wrong type all give `None`.
pub(crate) fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

/// Reads a list leniently: anything but an array gives an empty list; elements that do not decode
/// are dropped (used only where the elements are decorations, such as attributes).
fn lenient_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Array(items) => items.into_iter().filter_map(|i| serde_json::from_value(i).ok()).collect(),
        _ => Vec::new(),
    })
}

/// A number that some bodies send as a string (`"status": "403"`), or a code string.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum NumOrStr {
    Num(i64),
    Str(String),
}

impl NumOrStr {
    pub fn as_status(&self) -> Option<u16> {
        match self {
            NumOrStr::Num(n) => u16::try_from(*n).ok(),
            NumOrStr::Str(s) => s.trim().parse().ok(),
        }
    }
    pub fn as_text(&self) -> String {
        match self {
            NumOrStr::Num(n) => n.to_string(),
            NumOrStr::Str(s) => s.clone(),
        }
    }
}

// --- /highlights ----------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct HighlightsBody {
    #[serde(default, deserialize_with = "lenient")]
    pub query_data: Option<QueryData>,
    pub content: Vec<HighlightEntryWire>,
}

#[derive(Debug, Deserialize)]
pub struct QueryData {
    #[serde(default, deserialize_with = "lenient")]
    pub highlight_type: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub criteria: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct HighlightEntryWire {
    pub id: String,
    pub position: i64,
    #[serde(rename = "type")]
    pub kind: String,
}

/// `/highlights/{site}/product|item/{id}`.
#[derive(Debug, Deserialize)]
pub struct HighlightPositionWire {
    #[serde(default, deserialize_with = "lenient")]
    pub dimension: Option<String>,
    pub id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub label: Option<String>,
    pub position: i64,
}

// --- /products ------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct AttributeWire {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub value_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ShippingWire {
    #[serde(default, deserialize_with = "lenient")]
    pub free_shipping: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct BuyBoxWinnerWire {
    #[serde(default, deserialize_with = "lenient")]
    pub item_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub seller_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub price: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub currency_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PricePointWire {
    #[serde(default, deserialize_with = "lenient")]
    pub price: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub currency_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PriceRangeWire {
    #[serde(default, deserialize_with = "lenient")]
    pub min: Option<PricePointWire>,
    #[serde(default, deserialize_with = "lenient")]
    pub max: Option<PricePointWire>,
}

#[derive(Debug, Deserialize)]
pub struct ProductWire {
    pub id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub family_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub domain_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub permalink: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub buy_box_winner: Option<BuyBoxWinnerWire>,
    #[serde(default, deserialize_with = "lenient")]
    pub buy_box_winner_price_range: Option<PriceRangeWire>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub attributes: Vec<AttributeWire>,
}

#[derive(Debug, Deserialize)]
pub struct PagingWire {
    #[serde(default, deserialize_with = "lenient")]
    pub total: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub offset: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub limit: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct OfferWire {
    pub item_id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub seller_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub price: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub currency_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub shipping: Option<ShippingWire>,
}

/// `/products/{id}/items`.
#[derive(Debug, Deserialize)]
pub struct OffersWire {
    #[serde(default, deserialize_with = "lenient")]
    pub paging: Option<PagingWire>,
    pub results: Vec<OfferWire>,
}

// --- /items ---------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct ItemWire {
    pub id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub price: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub currency_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub permalink: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub seller_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub catalog_product_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub attributes: Vec<AttributeWire>,
}

/// One row of `/items?ids=` (`code`) or `/items/bulk?ids=` (`status_code`).
#[derive(Debug, Deserialize)]
pub struct MultigetRowWire {
    #[serde(default, deserialize_with = "lenient")]
    pub code: Option<NumOrStr>,
    #[serde(default, deserialize_with = "lenient")]
    pub status_code: Option<NumOrStr>,
    #[serde(default)]
    pub body: Value,
}

impl MultigetRowWire {
    pub fn status(&self) -> Option<u16> {
        self.status_code.as_ref().or(self.code.as_ref()).and_then(NumOrStr::as_status)
    }
}

// --- /reviews -------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct RatingLevelsWire {
    #[serde(default, deserialize_with = "lenient")]
    pub one_star: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub two_star: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub three_star: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub four_star: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub five_star: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct ReviewsWire {
    #[serde(default, deserialize_with = "lenient")]
    pub paging: Option<PagingWire>,
    #[serde(default, deserialize_with = "lenient")]
    pub rating_average: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub rating_levels: Option<RatingLevelsWire>,
}

// --- /categories, /sites/{site}/categories, /trends -----------------------------------------------

#[derive(Debug, Deserialize)]
pub struct CategoryRefWire {
    pub id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub total_items_in_this_category: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct CategoryWire {
    pub id: String,
    pub name: String,
    #[serde(default, deserialize_with = "lenient")]
    pub total_items_in_this_category: Option<u64>,
    #[serde(default)]
    pub path_from_root: Vec<CategoryRefWire>,
    #[serde(default)]
    pub children_categories: Vec<CategoryRefWire>,
}

#[derive(Debug, Deserialize)]
pub struct TrendWire {
    pub keyword: String,
    #[serde(default, deserialize_with = "lenient")]
    pub url: Option<String>,
}

// --- /oauth/token ---------------------------------------------------------------------------------

/// A token response. The tokens go straight into [`SecretString`]s: they never exist here as
/// printable strings.
#[derive(Debug, Deserialize)]
pub struct TokenWire {
    pub access_token: SecretString,
    #[serde(default, deserialize_with = "lenient")]
    pub token_type: Option<String>,
    pub expires_in: i64,
    #[serde(default, deserialize_with = "lenient")]
    pub scope: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub user_id: Option<u64>,
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
}

// --- error bodies ---------------------------------------------------------------------------------

/// The error body in all its documented shapes: `{message, error, status, cause}`, PolicyAgent's
/// `{code, blocked_by, message, status}`, OAuth's `{error_description, error, status}`, and the
/// `{code: 401, error, message}` of some APIs.
#[derive(Debug, Default, Deserialize)]
pub struct ErrorWire {
    #[serde(default, deserialize_with = "lenient")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub error: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub error_description: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<NumOrStr>,
    #[serde(default, deserialize_with = "lenient")]
    pub code: Option<NumOrStr>,
    #[serde(default, deserialize_with = "lenient")]
    pub blocked_by: Option<String>,
}
