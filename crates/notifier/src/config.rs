//! The notifier's configuration: the one place it reads the environment. Terraform sets every
//! variable below (the infra tests check both directions).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MELI_TABLE_NAME` | required | the table whose stream feeds this function (and holds the outbox) |
//! | `MELI_SNS_TOPIC_ARN` | unset | the alerts topic; unset: no SNS alerts |
//! | `MELI_SLACK_SECRET_ID` | unset | Secrets Manager secret with the Slack webhook list; unset: no Slack |
//! | `MELI_SNS_CONTROLS` | `{}` | JSON controls of the SNS destination (quiet hours, daily cap, mode…) |
//!
//! At least one of `MELI_SNS_TOPIC_ARN` and `MELI_SLACK_SECRET_ID` must be set.

use meli_core::notify::Controls;

/// Every variable this function reads.
pub const VARIABLES: &[&str] = &["MELI_TABLE_NAME", "MELI_SNS_TOPIC_ARN", "MELI_SLACK_SECRET_ID", "MELI_SNS_CONTROLS"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    pub sns_topic_arn: Option<String>,
    pub slack_secret_id: Option<String>,
    pub sns_controls: Controls,
}

/// Every bad or missing variable, each with what to set it to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad notifier configuration:{}", .problems.iter().map(|p| format!("\n  {p}")).collect::<String>())]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl Config {
    #[allow(clippy::disallowed_methods)] // the one place the notifier reads the environment
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| lookup(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut problems = Vec::new();
        let table = get("MELI_TABLE_NAME");
        if table.is_none() {
            problems.push(
                "MELI_TABLE_NAME is not set; set it to the DynamoDB table's name (Terraform output table_name)".into(),
            );
        }
        let sns_topic_arn = get("MELI_SNS_TOPIC_ARN");
        if let Some(arn) = &sns_topic_arn {
            if !arn.starts_with("arn:") {
                problems.push(format!(
                    "MELI_SNS_TOPIC_ARN {arn:?} is not an ARN; set it to the alerts topic (Terraform output topic_arn)"
                ));
            }
        }
        let slack_secret_id = get("MELI_SLACK_SECRET_ID");
        if sns_topic_arn.is_none() && slack_secret_id.is_none() {
            problems.push(
                "neither MELI_SNS_TOPIC_ARN nor MELI_SLACK_SECRET_ID is set; set at least one so alerts have somewhere to go"
                    .into(),
            );
        }
        let sns_controls = match get("MELI_SNS_CONTROLS") {
            None => Controls::default(),
            Some(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                problems.push(format!(
                    "MELI_SNS_CONTROLS is not valid controls JSON ({e}); set it to e.g. {{\"daily_cap\": 50, \"quiet_hours\": {{\"start\": \"22:00:00\", \"end\": \"07:00:00\"}}, \"utc_offset_minutes\": -180}}"
                ));
                Controls::default()
            }),
        };
        match (table, problems.is_empty()) {
            (Some(table), true) => Ok(Config { table, sns_topic_arn, slack_secret_id, sns_controls }),
            _ => Err(ConfigError { problems }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn says_what_to_set() {
        let e = Config::from_lookup(|_| None).unwrap_err();
        assert_eq!(e.problems.len(), 2, "{e}");
        assert!(e.to_string().contains("MELI_TABLE_NAME is not set; set it to"));
        let e = Config::from_lookup(env(&[
            ("MELI_TABLE_NAME", "t"),
            ("MELI_SNS_TOPIC_ARN", "alerts"),
            ("MELI_SNS_CONTROLS", "{"),
        ]))
        .unwrap_err();
        assert_eq!(e.problems.len(), 2, "{e}");
    }

    #[test]
    fn reads_the_controls() {
        let c = Config::from_lookup(env(&[
            ("MELI_TABLE_NAME", "meli-radar"),
            ("MELI_SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:1:alerts"),
            ("MELI_SNS_CONTROLS", r#"{"daily_cap": 50, "utc_offset_minutes": -180}"#),
        ]))
        .unwrap();
        assert_eq!(c.sns_controls.daily_cap, Some(50));
        assert_eq!(c.slack_secret_id, None);
    }
}
