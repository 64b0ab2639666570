//! The fetcher's configuration: the one place it reads the environment. Terraform sets every variable
//! below (the infra tests check both directions).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MELI_TABLE_NAME` | required | the DynamoDB table |
//! | `MELI_CATEGORIES` | required | tracked categories, `MLB1055,MLA1055` (the site comes from the id) |
//! | `MELI_APP_SECRET_ID` | required | Secrets Manager id of `{"client_id", "client_secret", "grant"}` |
//! | `MELI_TOKEN_SECRET_ID` | required | Secrets Manager id of the OAuth token (shared by all invocations) |
//! | `MELI_API_BASE_URL` | `https://api.mercadolibre.com` | the API (the sandbox's URL for local runs) |
//! | `MELI_REFRESH_EVERY` | `15m` | how often a category is refreshed (`15m`, `1h`...) |
//! | `MELI_FETCH_CONCURRENCY` | `4` | categories fetched at once |
//! | `MELI_RETENTION_DAYS` | `180` | snapshots and history expire (TTL) after this many days |
//! | `MELI_RATE_LIMIT_RPS` | `4.5` | API requests per second for the whole function (reserved concurrency 1) |

use meli_core::ids::{CategoryId, SiteId};
use url::Url;

/// Every variable this function reads, for the infra wiring test and error messages.
pub const VARIABLES: &[&str] = &[
    "MELI_TABLE_NAME",
    "MELI_CATEGORIES",
    "MELI_APP_SECRET_ID",
    "MELI_TOKEN_SECRET_ID",
    "MELI_API_BASE_URL",
    "MELI_REFRESH_EVERY",
    "MELI_FETCH_CONCURRENCY",
    "MELI_RETENTION_DAYS",
    "MELI_RATE_LIMIT_RPS",
];

#[derive(Debug, Clone)]
pub struct Config {
    pub table: String,
    pub tracked: Vec<(SiteId, CategoryId)>,
    pub app_secret_id: String,
    pub token_secret_id: String,
    pub api_base_url: Url,
    pub refresh_every: chrono::Duration,
    pub concurrency: usize,
    pub retention_days: i64,
    pub rate_limit_rps: f64,
}

/// Every bad or missing variable, one per line, each with what to set it to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad fetcher configuration:{}", .problems.iter().map(|p| format!("\n  {p}")).collect::<String>())]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl Config {
    #[allow(clippy::disallowed_methods)] // the one place the fetcher reads the environment
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut problems = Vec::new();
        let mut required = |name: &str, what: &str| {
            let v = get(name);
            if v.is_none() {
                problems.push(format!("{name} is not set; set it to {what}"));
            }
            v.unwrap_or_default()
        };
        let table = required("MELI_TABLE_NAME", "the DynamoDB table's name (Terraform output table_name)");
        let categories = required("MELI_CATEGORIES", "the categories to track, such as MLB1055,MLA1055");
        let app_secret_id = required("MELI_APP_SECRET_ID", "the Secrets Manager id of the app credentials");
        let token_secret_id = required("MELI_TOKEN_SECRET_ID", "the Secrets Manager id of the OAuth token");

        let tracked = match parse_categories(&categories) {
            Ok(t) => t,
            Err(bad) if !categories.is_empty() => {
                problems.push(format!("MELI_CATEGORIES has {bad:?}; set it to category ids such as MLB1055,MLA1055"));
                Vec::new()
            }
            Err(_) => Vec::new(),
        };
        let api_base_url = match get("MELI_API_BASE_URL") {
            None => Url::parse(meli_http::config::DEFAULT_BASE_URL).ok(),
            Some(v) => {
                Url::parse(&v).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host()).or_else(|| {
                    problems.push(format!(
                        "MELI_API_BASE_URL is {v:?}; set it to an http(s) URL such as https://api.mercadolibre.com"
                    ));
                    None
                })
            }
        };
        let refresh_every = match get("MELI_REFRESH_EVERY") {
            None => chrono::Duration::minutes(15),
            Some(v) => parse_duration(&v).unwrap_or_else(|| {
                problems.push(format!("MELI_REFRESH_EVERY is {v:?}; set it to a duration such as 15m or 1h"));
                chrono::Duration::minutes(15)
            }),
        };
        let mut number = |name: &str, default: f64, min: f64, max: f64, what: &str| match get(name) {
            None => default,
            Some(v) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() && (min..=max).contains(&x) => x,
                _ => {
                    problems.push(format!("{name} is {v:?}; set it to {what}"));
                    default
                }
            },
        };
        let concurrency = number("MELI_FETCH_CONCURRENCY", 4.0, 1.0, 64.0, "a whole number from 1 to 64, such as 4");
        let retention_days =
            number("MELI_RETENTION_DAYS", 180.0, 1.0, 3650.0, "a number of days from 1 to 3650, such as 180");
        let rate_limit_rps = number(
            "MELI_RATE_LIMIT_RPS",
            meli_http::config::DEFAULT_RATE_LIMIT_RPS,
            0.001,
            1000.0,
            "requests per second, such as 4.5",
        );

        match api_base_url {
            Some(api_base_url) if problems.is_empty() => Ok(Config {
                table,
                tracked,
                app_secret_id,
                token_secret_id,
                api_base_url,
                refresh_every,
                concurrency: concurrency as usize,
                retention_days: retention_days as i64,
                rate_limit_rps,
            }),
            _ => Err(ConfigError { problems }),
        }
    }
}

/// Parses `MLB1055,MLA1055` (the site comes from the category id; duplicates are dropped). The error
/// is the first entry that is not a category id.
pub fn parse_categories(list: &str) -> Result<Vec<(SiteId, CategoryId)>, String> {
    let mut out: Vec<(SiteId, CategoryId)> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let cat = CategoryId::parse(part).map_err(|_| part.to_string())?;
        if !out.iter().any(|(_, c)| c == &cat) {
            out.push((cat.site(), cat));
        }
    }
    if out.is_empty() {
        return Err(list.to_string());
    }
    Ok(out)
}

/// Parses `90s`, `15m`, `1h`, `2d`.
pub fn parse_duration(s: &str) -> Option<chrono::Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().ok().filter(|n| *n > 0)?;
    match unit {
        "s" => chrono::Duration::try_seconds(n),
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn reports_every_missing_variable_with_what_to_set() {
        let e = from(&[]).unwrap_err();
        for name in ["MELI_TABLE_NAME", "MELI_CATEGORIES", "MELI_APP_SECRET_ID", "MELI_TOKEN_SECRET_ID"] {
            assert!(e.to_string().contains(&format!("{name} is not set; set it to")), "{e}");
        }
        assert_eq!(e.problems.len(), 4);
        let e = from(&[
            ("MELI_TABLE_NAME", "t"),
            ("MELI_CATEGORIES", "MLB1055,nope"),
            ("MELI_APP_SECRET_ID", "a"),
            ("MELI_TOKEN_SECRET_ID", "b"),
            ("MELI_REFRESH_EVERY", "soon"),
            ("MELI_FETCH_CONCURRENCY", "0"),
        ])
        .unwrap_err();
        assert_eq!(e.problems.len(), 3, "{e}");
    }

    #[test]
    fn defaults_and_categories() {
        let c = from(&[
            ("MELI_TABLE_NAME", "meli-radar"),
            ("MELI_CATEGORIES", " MLB1055, MLA1055 ,MLB1055"),
            ("MELI_APP_SECRET_ID", "meli-radar/app"),
            ("MELI_TOKEN_SECRET_ID", "meli-radar/token"),
            ("MELI_REFRESH_EVERY", "1h"),
        ])
        .unwrap();
        assert_eq!(c.tracked.len(), 2);
        assert_eq!(c.tracked[1].0, SiteId::MLA);
        assert_eq!(c.refresh_every, chrono::Duration::hours(1));
        assert_eq!((c.concurrency, c.retention_days), (4, 180));
        assert_eq!(c.api_base_url.as_str(), "https://api.mercadolibre.com/");
    }

    #[test]
    fn every_variable_read_is_listed() {
        let src = include_str!("config.rs");
        for name in VARIABLES {
            assert!(src.matches(&format!("\"{name}\"")).count() >= 2, "{name} is listed but not read");
        }
    }
}
