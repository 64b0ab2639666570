//! The one place meli-local reads the environment.

use std::path::PathBuf;

use meli_core::ids::{CategoryId, IdError, SiteId};

/// Reads one environment variable (empty counts as unset).
#[allow(clippy::disallowed_methods)] // this module is where the environment is read
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `MELI_DATA_DIR`, or `./.meli-radar`.
pub fn default_data_dir() -> PathBuf {
    env("MELI_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".meli-radar"))
}

/// Parses `MLB1055,MLA1055` or `MLB:MLB1055` lists; the site comes from the category id.
pub fn parse_categories(list: &str) -> Result<Vec<(SiteId, CategoryId)>, IdError> {
    let mut out = Vec::new();
    for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let cat = part.rsplit(':').next().unwrap_or(part);
        let cat = CategoryId::parse(cat)?;
        if let Some((site, _)) = part.split_once(':') {
            let site = SiteId::parse(site)?;
            if site != cat.site() {
                return Err(IdError::BadCategory(part.to_string()));
            }
        }
        if !out.iter().any(|(_, c)| c == &cat) {
            out.push((cat.site(), cat));
        }
    }
    Ok(out)
}

/// Parses durations such as `90s`, `15m`, `24h`, `7d`.
pub fn parse_duration(s: &str) -> Result<chrono::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 =
        num.parse().map_err(|_| format!("{s:?} is not a duration; use a number and a unit, such as 15m, 24h or 7d"))?;
    let d = match unit {
        "s" => chrono::Duration::try_seconds(n),
        "m" | "min" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        _ => None,
    };
    match d {
        Some(d) if n > 0 => Ok(d),
        _ => Err(format!("{s:?} is not a duration; use a positive number and one of s, m, h, d (such as 15m)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15m").unwrap(), chrono::Duration::minutes(15));
        assert_eq!(parse_duration("2d").unwrap(), chrono::Duration::days(2));
        for bad in ["", "15", "m", "0h", "-3h", "3w", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn categories() {
        let c = parse_categories("MLB1055, MLA:MLA1055,MLB1055").unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].0, SiteId::MLA);
        assert!(parse_categories("MLA:MLB1055").is_err());
        assert!(parse_categories("nope").is_err());
    }
}
