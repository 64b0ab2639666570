//! The trend-scorer's configuration: the one place it reads the environment. Terraform sets every
//! variable below (the infra tests check both directions).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MELI_TABLE_NAME` | required | the DynamoDB table whose stream feeds this function |
//! | `MELI_STATE_CACHE_MB` | 8 | memory for the scorer states the instance keeps (`StateCache`): ≈ 3,500 lists at 8 MB, ≈ 270 of them decoded; 0 turns it off |

use meli_core::score_step::StateCache;

/// Every variable this function reads.
pub const VARIABLES: &[&str] = &["MELI_TABLE_NAME", "MELI_STATE_CACHE_MB"];

/// The largest `MELI_STATE_CACHE_MB` taken (the function's memory is at most 10,240 MB).
pub const MAX_STATE_CACHE_MB: usize = 8192;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    /// The [`StateCache`] budget in bytes.
    pub state_cache_bytes: usize,
}

/// Every bad or missing variable, each with what to set it to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad trend-scorer configuration:{}", .problems.iter().map(|p| format!("\n  {p}")).collect::<String>())]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl Config {
    #[allow(clippy::disallowed_methods)] // the one place the trend-scorer reads the environment
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let table = lookup("MELI_TABLE_NAME").map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        if table.is_none() {
            problems.push(
                "MELI_TABLE_NAME is not set; set it to the DynamoDB table's name (Terraform output table_name)".into(),
            );
        }
        let default_mb = StateCache::DEFAULT_BUDGET >> 20;
        let state_cache_mb = match lookup("MELI_STATE_CACHE_MB").map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
        {
            None => default_mb,
            Some(v) => match v.parse::<usize>() {
                Ok(mb) if mb <= MAX_STATE_CACHE_MB => mb,
                _ => {
                    problems.push(format!(
                        "MELI_STATE_CACHE_MB is {v:?}; set it to a whole number of MB from 0 to {MAX_STATE_CACHE_MB} \
                         (default {default_mb}; keep it well under the function's memory)"
                    ));
                    default_mb
                }
            },
        };
        match table {
            Some(table) if problems.is_empty() => Ok(Config { table, state_cache_bytes: state_cache_mb << 20 }),
            _ => Err(ConfigError { problems }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_what_to_set() {
        let e = Config::from_lookup(|_| None).unwrap_err().to_string();
        assert!(e.contains("MELI_TABLE_NAME is not set; set it to"), "{e}");
        let c = Config::from_lookup(|k| (k == "MELI_TABLE_NAME").then(|| " meli-radar ".to_string())).unwrap();
        assert_eq!(c.table, "meli-radar");
        assert_eq!(c.state_cache_bytes, StateCache::DEFAULT_BUDGET, "the cache's default budget");
    }

    #[test]
    fn reads_the_state_cache_budget_and_refuses_a_bad_one() {
        let with = |mb: &str| {
            let mb = mb.to_string();
            Config::from_lookup(move |k| match k {
                "MELI_TABLE_NAME" => Some("t".into()),
                "MELI_STATE_CACHE_MB" => Some(mb.clone()),
                _ => None,
            })
        };
        assert_eq!(with(" 64 ").unwrap().state_cache_bytes, 64 << 20);
        assert_eq!(with("0").unwrap().state_cache_bytes, 0, "0 turns the cache off");
        assert_eq!(with("").unwrap().state_cache_bytes, StateCache::DEFAULT_BUDGET);
        for bad in ["-1", "8.5", "lots", "9000"] {
            let e = with(bad).unwrap_err().to_string();
            assert!(e.contains("MELI_STATE_CACHE_MB is") && e.contains("from 0 to 8192"), "{bad}: {e}");
        }
        // Both problems at once.
        let e = Config::from_lookup(|k| (k == "MELI_STATE_CACHE_MB").then(|| "x".to_string())).unwrap_err();
        assert_eq!(e.problems.len(), 2, "{e}");
    }
}
