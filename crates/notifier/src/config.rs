//! The notifier's configuration: the one place it reads the environment. Terraform sets every
//! variable below (the infra tests check both directions).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MELI_TABLE_NAME` | required | the table whose stream feeds this function (and holds the outbox) |
//! | `MELI_SNS_TOPIC_ARN` | unset | the alerts topic; unset: no SNS alerts |
//! | `MELI_SLACK_SECRET_ID` | unset | Secrets Manager secret with the Slack webhook list; unset: no Slack |
//! | `MELI_SNS_CONTROLS` | `{}` | JSON controls of the SNS destination (quiet hours, daily cap, mode…) |
//! | `MELI_REPORTS_BUCKET`, `MELI_REPORTS_KMS_KEY_ARN`, `MELI_REPORT_LINK_EXPIRY_HOURS`, `MELI_REPORT_DAYS` | unset | the digest's HTML reports and their links ([`crate::ReportsConfig`], docs/report.md); no bucket: no links |
//!
//! At least one of `MELI_SNS_TOPIC_ARN` and `MELI_SLACK_SECRET_ID` must be set.
//!
//! The Slack secret (Terraform creates it without a value) holds the webhook list in the format of
//! [`meli_core::notify::parse_slack_webhooks`]: a JSON array `[{"url": "https://hooks.slack.com/...",
//! "name": "#ofertas", "filter": {...}, "controls": {...}}]` (or `{"slack_webhooks": [...]}`), or
//! comma-separated URLs. [`slack_webhooks`] reads what the secret holds at a cold start: a secret with
//! no value yet, an empty one, an empty list or a placeholder without any URL means Slack is off (one
//! log line says so, the function runs); a list with URLs that does not parse fails the cold start
//! (someone meant to configure Slack) with a message that names the secret and the problem, never
//! the URLs.

use meli_aws::secrets::SecretError;
use meli_core::notify::destination::WebhookConfigError;
use meli_core::notify::{parse_slack_webhooks, Controls, SlackWebhookConfig};
use secrecy::{ExposeSecret, SecretString};

/// Every variable this function reads.
pub const VARIABLES: &[&str] = &[
    "MELI_TABLE_NAME",
    "MELI_SNS_TOPIC_ARN",
    "MELI_SLACK_SECRET_ID",
    "MELI_SNS_CONTROLS",
    // crate::REPORT_VARIABLES, read by crate::ReportsConfig::from_lookup below.
    "MELI_REPORTS_BUCKET",
    "MELI_REPORTS_KMS_KEY_ARN",
    "MELI_REPORT_LINK_EXPIRY_HOURS",
    "MELI_REPORT_DAYS",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub table: String,
    pub sns_topic_arn: Option<String>,
    pub slack_secret_id: Option<String>,
    pub sns_controls: Controls,
    /// The digest's reports bucket and links; `None` (no `MELI_REPORTS_BUCKET`): digests without links.
    pub reports: Option<crate::ReportsConfig>,
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
        let reports = crate::ReportsConfig::from_lookup(&lookup).unwrap_or_else(|p| {
            problems.extend(p);
            None
        });
        match (table, problems.is_empty()) {
            (Some(table), true) => Ok(Config { table, sns_topic_arn, slack_secret_id, sns_controls, reports }),
            _ => Err(ConfigError { problems }),
        }
    }
}

/// What the Slack secret gave at a cold start.
#[derive(Debug)]
pub enum SlackSetup {
    /// The webhooks to post to (at least one).
    Webhooks(Vec<SlackWebhookConfig>),
    /// Slack is off; the reason is safe to log (it never quotes the secret).
    Off(String),
}

/// Why the Slack secret stops a cold start.
#[derive(Debug, thiserror::Error)]
pub enum SlackSecretError {
    #[error("cannot read the Slack webhooks secret {id}")]
    Read {
        id: String,
        #[source]
        source: SecretError,
    },
    #[error("the Slack webhooks secret {id} does not hold a webhook list; put [{{\"url\": \"https://hooks.slack.com/services/...\"}}] or comma-separated URLs into it (docs/alerts.md), or [] for no Slack")]
    Format {
        id: String,
        #[source]
        source: WebhookConfigError,
    },
}

/// Reads the outcome of `GetSecretValue` on the Slack secret `id` (see the module docs).
pub fn slack_webhooks(id: &str, read: Result<SecretString, SecretError>) -> Result<SlackSetup, SlackSecretError> {
    let text = match read {
        Ok(text) => text,
        Err(SecretError::NotFound(_)) => {
            return Ok(SlackSetup::Off(format!(
                "the Slack webhooks secret {id} has no value yet: Slack alerts are off until a webhook list is put into it (docs/deploy.md, step 3c)"
            )))
        }
        Err(source) => return Err(SlackSecretError::Read { id: id.to_string(), source }),
    };
    match parse_slack_webhooks(text.expose_secret()) {
        Ok(list) if list.is_empty() => Ok(SlackSetup::Off(format!(
            "the Slack webhooks secret {id} lists no webhook: Slack alerts are off (docs/deploy.md, step 3c)"
        ))),
        Ok(list) => Ok(SlackSetup::Webhooks(list)),
        // No URL anywhere in it: a placeholder (`REPLACE_ME`, `{"webhooks": []}`), not a broken list.
        Err(_) if !text.expose_secret().contains("://") => Ok(SlackSetup::Off(format!(
            "the Slack webhooks secret {id} holds no webhook URL (a placeholder?): Slack alerts are off until a webhook list is put into it (docs/deploy.md, step 3c)"
        ))),
        Err(source) => Err(SlackSecretError::Format { id: id.to_string(), source }),
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

    /// Terraform sets `MELI_SLACK_SECRET_ID = ""` with `enable_slack = false`: no Slack, SNS only.
    #[test]
    fn an_empty_slack_secret_id_means_no_slack() {
        let c = Config::from_lookup(env(&[
            ("MELI_TABLE_NAME", "meli-radar"),
            ("MELI_SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:1:alerts"),
            ("MELI_SLACK_SECRET_ID", ""),
        ]))
        .unwrap();
        assert_eq!(c.slack_secret_id, None);
        let e =
            Config::from_lookup(env(&[("MELI_TABLE_NAME", "meli-radar"), ("MELI_SLACK_SECRET_ID", " ")])).unwrap_err();
        assert!(e.to_string().contains("neither MELI_SNS_TOPIC_ARN nor MELI_SLACK_SECRET_ID is set"), "{e}");
    }

    const ID: &str = "arn:aws:secretsmanager:us-east-1:1:secret:meli-radar/slack";

    fn secret(text: &str) -> Result<SecretString, SecretError> {
        Ok(SecretString::from(text.to_string()))
    }

    #[test]
    fn a_secret_without_a_value_or_with_an_empty_list_turns_slack_off() {
        let placeholders = ["", "  \n", "[]", r#"{"slack_webhooks": []}"#, "REPLACE_ME", r#"{"webhooks": []}"#];
        let reads = placeholders.into_iter().map(secret).chain([Err(SecretError::NotFound(ID.into()))]);
        for read in reads {
            match slack_webhooks(ID, read) {
                Ok(SlackSetup::Off(why)) => assert!(why.contains(ID) && why.contains("Slack alerts are off"), "{why}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn the_formats_terraform_documents_parse() {
        let list = r##"[{"url": "https://hooks.slack.com/services/T/B/x", "name": "#ofertas", "filter": {"sites": ["MLB"]}}]"##;
        let urls = "https://hooks.slack.com/services/T/B/x, https://hooks.slack.com/services/T/B/y";
        let wrapped = r#"{"slack_webhooks": [{"url": "https://hooks.slack.com/services/T/B/x"}]}"#;
        for (text, n) in [(list, 1), (urls, 2), (wrapped, 1)] {
            match slack_webhooks(ID, secret(text)) {
                Ok(SlackSetup::Webhooks(hooks)) => assert_eq!(hooks.len(), n),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_malformed_list_fails_without_quoting_the_secret() {
        for text in
            [r#"{"webhooks": ["https://hooks.slack.com/services/T/B/SECRET"]}"#, "ftp://hooks.slack.com/T/B/SECRET"]
        {
            let e = slack_webhooks(ID, secret(text)).unwrap_err();
            let full = format!("{e}: {}", std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default());
            assert!(full.contains(ID) && !full.contains("SECRET"), "{full}");
            assert!(!format!("{e:?}").contains("SECRET"), "{e:?}");
        }
        // A Secrets Manager failure other than "no value" is not mistaken for an empty list.
        let e = slack_webhooks(ID, Err(SecretError::Rejected("AccessDenied".into()))).unwrap_err();
        assert!(matches!(e, SlackSecretError::Read { .. }), "{e:?}");
    }
}
