//! Destinations: where alerts go, which events each one wants, and its controls (re-arm, quiet hours,
//! daily cap, delivery mode). Configuration is JSON (the secrets file, Secrets Manager, the
//! `MELI_SLACK_WEBHOOK_URLS` list); webhook URLs stay [`SecretString`]s and a destination is named in
//! keys and logs only by a non-secret id ([`target_id`]).

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveTime, Timelike, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::port::{FeedSink, SlackPublisher, SnsPublisher};
use crate::ids::{CategoryId, SiteId};
use crate::signals::{EventItem, EventKind, Severity};

/// The kind of channel, as written in delivery keys (`{channel}#{target}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Sns,
    Slack,
    Console,
    File,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Sns => "sns",
            ChannelKind::Slack => "slack",
            ChannelKind::Console => "console",
            ChannelKind::File => "file",
        }
    }
}

/// Which events a destination wants. Empty lists match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventFilter {
    pub sites: Vec<SiteId>,
    pub categories: Vec<CategoryId>,
    pub events: Vec<EventKind>,
    pub min_severity: Option<Severity>,
}

impl EventFilter {
    pub fn matches(&self, e: &EventItem) -> bool {
        (self.sites.is_empty() || self.sites.contains(&e.site))
            && (self.categories.is_empty() || self.categories.contains(&e.category))
            && (self.events.is_empty() || self.events.contains(&e.kind))
            && self.min_severity.is_none_or(|m| e.severity >= m)
    }
}

/// When a destination hears about events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryMode {
    /// Each event as it comes (coalesced per run); what is held goes out with the next digest.
    #[default]
    Immediate,
    /// Everything waits for the hourly digest.
    Hourly,
    /// Everything waits for the daily digest.
    Daily,
}

/// Local hours during which nothing is sent (events are held for the next digest after them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `HH:MM`, local time of the destination.
    pub start: NaiveTime,
    /// `HH:MM`; before `start` means the window spans midnight.
    pub end: NaiveTime,
}

impl QuietHours {
    /// Whether a local time of day is inside the window (`start` inclusive, `end` exclusive).
    pub fn contains(&self, local: NaiveTime) -> bool {
        if self.start <= self.end {
            local >= self.start && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }
}

/// A destination's controls (docs/alerts.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Controls {
    /// A (product, event key kind) delivered to this destination is not delivered again within this.
    pub rearm_secs: i64,
    pub quiet_hours: Option<QuietHours>,
    /// Live alerts per local day; beyond it, events are held for the digest.
    pub daily_cap: Option<u32>,
    pub mode: DeliveryMode,
    /// The destination's offset from UTC in minutes (`-180` for São Paulo), for quiet hours, the local
    /// day of the cap and the hour of the daily digest.
    pub utc_offset_minutes: i32,
    /// The local hour at which the daily digest goes out.
    pub daily_digest_hour: u32,
    /// The language of this destination's messages (`pt-BR`, `es`, `en`); the site's language when
    /// unset.
    pub lang: Option<String>,
}

impl Default for Controls {
    fn default() -> Self {
        Controls {
            rearm_secs: 12 * 3600,
            quiet_hours: None,
            daily_cap: None,
            mode: DeliveryMode::Immediate,
            utc_offset_minutes: 0,
            daily_digest_hour: 8,
            lang: None,
        }
    }
}

impl Controls {
    /// The destination's local time.
    pub fn local(&self, t: DateTime<Utc>) -> chrono::NaiveDateTime {
        (t + Duration::minutes(i64::from(self.utc_offset_minutes))).naive_utc()
    }

    pub fn is_quiet(&self, now: DateTime<Utc>) -> bool {
        self.quiet_hours.is_some_and(|q| q.contains(self.local(now).time()))
    }

    /// The local day (`YYYY-MM-DD`) the daily cap counts in.
    pub fn local_day(&self, now: DateTime<Utc>) -> String {
        self.local(now).format("%Y-%m-%d").to_string()
    }

    /// Whether the daily digest is due in the hour starting at `now`'s local hour.
    pub fn daily_digest_due(&self, now: DateTime<Utc>) -> bool {
        self.local(now).hour() == self.daily_digest_hour
    }

    /// The language override, if set and known.
    pub fn lang(&self) -> Option<crate::site::Lang> {
        self.lang.as_deref().and_then(super::render::parse_lang)
    }
}

/// A destination's configuration (no secret in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationConfig {
    /// Non-secret, stable id: used in outbox keys, state items and logs.
    pub id: String,
    pub channel: ChannelKind,
    pub filter: EventFilter,
    pub controls: Controls,
}

/// How a destination sends.
#[derive(Clone)]
pub enum Sender {
    Sns(Arc<dyn SnsPublisher>),
    Slack(Arc<dyn SlackPublisher>),
    Feed(Arc<dyn FeedSink>),
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sender::Sns(_) => "Sender::Sns",
            Sender::Slack(_) => "Sender::Slack",
            Sender::Feed(_) => "Sender::Feed",
        })
    }
}

/// A configured destination with its sender.
#[derive(Debug, Clone)]
pub struct Destination {
    pub config: DestinationConfig,
    pub sender: Sender,
}

impl Destination {
    pub fn new(config: DestinationConfig, sender: Sender) -> Self {
        Destination { config, sender }
    }

    pub fn id(&self) -> &str {
        &self.config.id
    }

    /// The delivery sort key of this destination (`{channel}#{target}`).
    pub fn delivery_sk(&self) -> String {
        crate::keys::delivery_sk(self.config.channel.as_str(), &self.config.id)
    }
}

/// A stable, non-secret id for a secret target (a webhook URL): `wh-` and 16 hex digits of FNV-1a
/// 64 over the URL. It names the destination in keys and logs; the URL cannot be recovered from it.
pub fn target_id(secret: &SecretString) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in secret.expose_secret().trim().as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("wh-{h:016x}")
}

/// One Slack webhook as configured: the URL (secret), an optional display name, its filter and
/// controls. JSON: `{"url": "https://hooks.slack.com/…", "name": "#ofertas", "filter": {...},
/// "controls": {...}}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackWebhookConfig {
    pub url: SecretString,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub filter: EventFilter,
    #[serde(default)]
    pub controls: Controls,
}

impl SlackWebhookConfig {
    pub fn destination_config(&self) -> DestinationConfig {
        DestinationConfig {
            id: target_id(&self.url),
            channel: ChannelKind::Slack,
            filter: self.filter.clone(),
            controls: self.controls.clone(),
        }
    }
}

/// Why a webhook list does not parse (never quotes the URLs).
#[derive(Debug, thiserror::Error)]
pub enum WebhookConfigError {
    #[error("the Slack webhook list is not valid JSON ({0}); expected [{{\"url\": \"https://hooks.slack.com/...\"}}] or comma-separated URLs")]
    Json(String),
    #[error(
        "Slack webhook #{0} is not an https URL; each entry must start with https:// (or http:// for a local receiver)"
    )]
    NotUrl(usize),
}

/// Parses a Slack webhook list: a JSON array of [`SlackWebhookConfig`] (or `{"slack_webhooks": [...]}`),
/// or comma-separated URLs (each with the default filter and controls).
pub fn parse_slack_webhooks(text: &str) -> Result<Vec<SlackWebhookConfig>, WebhookConfigError> {
    let t = text.trim();
    let list: Vec<SlackWebhookConfig> = if t.starts_with('[') || t.starts_with('{') {
        #[derive(Deserialize)]
        struct Wrapped {
            slack_webhooks: Vec<SlackWebhookConfig>,
        }
        if t.starts_with('{') {
            serde_json::from_str::<Wrapped>(t)
                .map(|w| w.slack_webhooks)
                .map_err(|e| WebhookConfigError::Json(redact_json_error(&e)))?
        } else {
            serde_json::from_str(t).map_err(|e| WebhookConfigError::Json(redact_json_error(&e)))?
        }
    } else {
        t.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|u| SlackWebhookConfig {
                url: SecretString::from(u.to_string()),
                name: None,
                filter: EventFilter::default(),
                controls: Controls::default(),
            })
            .collect()
    };
    for (i, w) in list.iter().enumerate() {
        let u = w.url.expose_secret();
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            return Err(WebhookConfigError::NotUrl(i + 1));
        }
    }
    Ok(list)
}

/// serde_json errors may quote input; keep only the position.
fn redact_json_error(e: &serde_json::Error) -> String {
    format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn quiet_hours_span_midnight() {
        let q = QuietHours {
            start: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
        };
        assert!(q.contains(NaiveTime::from_hms_opt(23, 30, 0).unwrap()));
        assert!(q.contains(NaiveTime::from_hms_opt(6, 59, 0).unwrap()));
        assert!(!q.contains(NaiveTime::from_hms_opt(7, 0, 0).unwrap()));
        let c = Controls { quiet_hours: Some(q), utc_offset_minutes: -180, ..Controls::default() };
        // 02:00 UTC is 23:00 in São Paulo: quiet. 12:00 UTC is 09:00: not.
        assert!(c.is_quiet(Utc.with_ymd_and_hms(2026, 11, 29, 2, 0, 0).unwrap()));
        assert!(!c.is_quiet(Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap()));
        assert_eq!(c.local_day(Utc.with_ymd_and_hms(2026, 11, 29, 2, 0, 0).unwrap()), "2026-11-28");
    }

    #[test]
    fn webhook_lists_parse_and_hide_their_urls() {
        let l = parse_slack_webhooks("https://hooks.slack.com/services/T/B/x, http://127.0.0.1:9/h").unwrap();
        assert_eq!(l.len(), 2);
        assert_ne!(target_id(&l[0].url), target_id(&l[1].url));
        assert!(target_id(&l[0].url).starts_with("wh-"));
        assert!(!format!("{l:?}").contains("hooks.slack.com"));
        let j = r#"[{"url": "https://hooks.slack.com/services/T/B/y", "filter": {"sites": ["MLB"], "events": ["new_number_one"]},
                    "controls": {"daily_cap": 20, "quiet_hours": {"start": "22:00:00", "end": "07:00:00"}}}]"#;
        let l = parse_slack_webhooks(j).unwrap();
        assert_eq!(l[0].filter.sites, vec![SiteId::MLB]);
        assert_eq!(l[0].controls.daily_cap, Some(20));
        let w = parse_slack_webhooks(r#"{"slack_webhooks": [{"url": "https://x.example/h"}]}"#).unwrap();
        assert_eq!(w.len(), 1);
        let err =
            parse_slack_webhooks(r#"[{"url": "https://hooks.slack.com/services/SECRET", "bogus": 1}]"#).unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        assert!(matches!(parse_slack_webhooks("ftp://x"), Err(WebhookConfigError::NotUrl(1))));
    }
}
