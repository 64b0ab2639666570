//! The trend-scorer's configuration: the one place it reads the environment. Terraform sets every
//! variable below (the infra tests check both directions).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MELI_TABLE_NAME` | required | the DynamoDB table whose stream feeds this function |

/// Every variable this function reads.
pub const VARIABLES: &[&str] = &["MELI_TABLE_NAME"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
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
        match lookup("MELI_TABLE_NAME").map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) {
            Some(table) => Ok(Config { table }),
            None => Err(ConfigError {
                problems: vec![
                    "MELI_TABLE_NAME is not set; set it to the DynamoDB table's name (Terraform output table_name)"
                        .into(),
                ],
            }),
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
    }
}
