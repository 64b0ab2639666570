//! The notifier on one machine: the console and JSON-lines sinks, the local destinations (console,
//! file, Slack webhooks from `MELI_SLACK_WEBHOOK_URLS` or the secrets file), and the drain of the
//! change feed through the notify step with its own consumer checkpoint (as the second event source
//! mapping does in AWS).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use meli_core::notify::{
    notify_records, retry_failed, ChannelKind, Controls, Destination, DestinationConfig, EventFilter, FeedAlert,
    FeedSink, NotifyDeps, NotifyError, NotifyReport, Sender, SlackPublisher, SlackWebhookConfig,
};
use meli_core::pipeline::Poison;
use meli_core::store::StoreError;
use meli_http::slack::SlackWebhookPublisher;

use crate::store::EmbeddedSnapshotStore;

/// The feed consumer name of the notifier.
pub const NOTIFIER: &str = "notifier";
/// Records handed to the notifier at once (the event source mapping's batch size in AWS).
pub const BATCH_SIZE: usize = 100;

/// Writes each alert as a readable line to standard output.
#[derive(Debug, Default)]
pub struct ConsoleSink {
    // Held only while writing one line (no await inside).
    out: Mutex<()>,
}

impl ConsoleSink {
    pub fn new() -> Self {
        Self::default()
    }

    /// The line printed for an alert.
    pub fn line(a: &FeedAlert) -> String {
        let when = a.at.get(..16).unwrap_or(&a.at).replace('T', " ");
        let mut text = a.text.replace('\n', "\n    ");
        if let Some(link) = &a.link {
            text.push_str(&format!("\n    {link}"));
        }
        format!("[{when}] {} {} · {}", a.site, a.category, text)
    }
}

#[async_trait::async_trait]
impl FeedSink for ConsoleSink {
    async fn emit(&self, alert: &FeedAlert) -> Result<(), NotifyError> {
        let _g = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", Self::line(alert)).map_err(|e| NotifyError::Transient {
            reason: "cannot write to standard output".into(),
            retry_after_secs: None,
            source: Some(Box::new(e)),
        })
    }
}

/// Appends each alert as one JSON object per line to a file.
#[derive(Debug)]
pub struct JsonLinesSink {
    path: PathBuf,
    // Held only while appending one line (no await inside).
    file: Mutex<std::fs::File>,
}

impl JsonLinesSink {
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(JsonLinesSink { path: path.to_path_buf(), file: Mutex::new(file) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait::async_trait]
impl FeedSink for JsonLinesSink {
    async fn emit(&self, alert: &FeedAlert) -> Result<(), NotifyError> {
        let mut line = serde_json::to_string(alert).map_err(|e| NotifyError::Rejected {
            reason: "alert does not serialize".into(),
            source: Some(Box::new(e)),
        })?;
        line.push('\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        f.write_all(line.as_bytes()).and_then(|_| f.flush()).map_err(|e| NotifyError::Transient {
            reason: format!("cannot append to {}", self.path.display()),
            retry_after_secs: None,
            source: Some(Box::new(e)),
        })
    }
}

/// The Slack webhooks configured for this machine: `MELI_SLACK_WEBHOOK_URLS`, else the secrets
/// file's entry of the same name (comma-separated URLs or the JSON list of docs/alerts.md).
pub fn slack_webhooks(data_dir: &Path) -> anyhow::Result<Vec<SlackWebhookConfig>> {
    let text = match crate::config::env("MELI_SLACK_WEBHOOK_URLS") {
        Some(t) => t,
        None => match crate::secrets::SecretsFile::load(&crate::secrets::path_for(data_dir))?
            .get("MELI_SLACK_WEBHOOK_URLS")
        {
            Some(t) => t,
            None => return Ok(Vec::new()),
        },
    };
    Ok(meli_core::notify::parse_slack_webhooks(&text)?)
}

/// Where the local notifier sends.
#[derive(Debug, Default)]
pub struct LocalSinks {
    pub console: bool,
    pub jsonl: Option<PathBuf>,
    pub slack: Vec<SlackWebhookConfig>,
    /// Controls of the console and file sinks (the defaults: immediate, 12 h re-arm).
    pub controls: Controls,
}

/// Builds the destinations of [`LocalSinks`].
pub fn local_destinations(sinks: LocalSinks) -> anyhow::Result<Vec<Destination>> {
    let mut out = Vec::new();
    let feed = |id: &str, channel: ChannelKind, sink: Arc<dyn FeedSink>| {
        Destination::new(
            DestinationConfig {
                id: id.to_string(),
                channel,
                filter: EventFilter::default(),
                controls: sinks.controls.clone(),
            },
            Sender::Feed(sink),
        )
    };
    if sinks.console {
        out.push(feed("console", ChannelKind::Console, Arc::new(ConsoleSink::new())));
    }
    if let Some(path) = &sinks.jsonl {
        let sink = JsonLinesSink::open(path)
            .map_err(|e| anyhow::anyhow!("cannot open the alerts file {}: {e}", path.display()))?;
        out.push(feed("jsonl", ChannelKind::File, Arc::new(sink)));
    }
    for hook in sinks.slack {
        let publisher: Arc<dyn SlackPublisher> = Arc::new(SlackWebhookPublisher::new(hook.url.clone())?);
        out.push(Destination::new(hook.destination_config(), Sender::Slack(publisher)));
    }
    Ok(out)
}

/// What draining the change feed through the notifier did.
#[derive(Debug, Default)]
pub struct NotifyDrain {
    pub records: usize,
    pub report: NotifyReport,
    pub poison: Vec<Poison>,
    /// The store failed; the rest waits for the next drain.
    pub stopped_early: bool,
}

/// Feeds the change feed to the notify step from the notifier's checkpoint, then runs the retry pass.
pub async fn drain_notifier(store: &EmbeddedSnapshotStore, deps: NotifyDeps<'_>) -> Result<NotifyDrain, StoreError> {
    let mut drain = NotifyDrain::default();
    loop {
        let from = store.checkpoint(NOTIFIER)?;
        let batch = store.changes_after(from, BATCH_SIZE)?;
        let Some(&(last, _)) = batch.last() else { break };
        let (seqs, records): (Vec<i64>, Vec<_>) = batch.into_iter().unzip();
        drain.records += records.len();
        let out = notify_records(&records, deps).await;
        drain.report.merge(out.report);
        drain.poison.extend(out.poison);
        if let Some(retry) = out.retry_from {
            let failed: i64 = retry.parse().unwrap_or(from + 1);
            let before = seqs.iter().copied().filter(|s| *s < failed).max().unwrap_or(from);
            store.set_checkpoint(NOTIFIER, before)?;
            drain.stopped_early = true;
            break;
        }
        store.set_checkpoint(NOTIFIER, last)?;
    }
    let retried = retry_failed(deps).await?;
    drain.report.merge(retried);
    Ok(drain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_read_well() {
        let a = FeedAlert {
            delivery: "DLV#x".into(),
            site: "MLB".into(),
            category: "MLB1055".into(),
            event: "climber".into(),
            product: "MLB1".into(),
            severity: "notable".into(),
            lang: "pt-BR".into(),
            text: "Fone subiu 8 posições: #12 → #4 · R$ 1.299,90".into(),
            link: Some("https://www.mercadolivre.com.br/p/MLB1".into()),
            at: "2026-11-29T13:00:00Z".into(),
        };
        assert_eq!(
            ConsoleSink::line(&a),
            "[2026-11-29 13:00] MLB MLB1055 · Fone subiu 8 posições: #12 → #4 · R$ 1.299,90\n    https://www.mercadolivre.com.br/p/MLB1"
        );
    }

    #[tokio::test]
    async fn jsonl_appends_one_object_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.jsonl");
        let sink = JsonLinesSink::open(&path).unwrap();
        let a = FeedAlert {
            delivery: "d".into(),
            site: "MLA".into(),
            category: "MLA1055".into(),
            event: "price_drop".into(),
            product: "MLA1".into(),
            severity: "info".into(),
            lang: "es".into(),
            text: "x bajó".into(),
            link: None,
            at: "2026-11-29T13:00:00Z".into(),
        };
        sink.emit(&a).await.unwrap();
        sink.emit(&a).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<FeedAlert> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines, vec![a.clone(), a]);
    }

    #[tokio::test]
    async fn the_change_feed_drains_through_the_notifier_once() {
        use meli_core::clock::ManualClock;
        use meli_core::notify::{NotifyConfig, RecordingPublisher};
        use meli_core::store::{PutCondition, SnapshotStore};
        let store = EmbeddedSnapshotStore::in_memory().unwrap();
        let text = std::fs::read_to_string(format!("{}/../../events/notifier/insert.json", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
        let ev: aws_lambda_events::dynamodb::Event = serde_json::from_str(&text).unwrap();
        for r in &ev.records {
            let c = meli_core::stream::decode(r).unwrap();
            store.put(c.new.unwrap(), PutCondition::IfAbsent).await.unwrap();
        }
        let rec = Arc::new(RecordingPublisher::new());
        let dests = vec![Destination::new(
            DestinationConfig {
                id: "console".into(),
                channel: ChannelKind::Console,
                filter: EventFilter::default(),
                controls: Controls::default(),
            },
            Sender::Feed(rec.clone()),
        )];
        let clock = ManualClock::new(chrono::DateTime::parse_from_rfc3339("2026-11-29T12:01:00Z").unwrap().into());
        let cfg = NotifyConfig::default();
        let deps = NotifyDeps { store: &store, clock: &clock, destinations: &dests, config: &cfg };
        let d = drain_notifier(&store, deps).await.unwrap();
        assert_eq!((d.report.events, d.report.sent), (3, 3), "outbox writes in the feed are ignored");
        let langs: Vec<String> = rec.feed().iter().map(|a| a.lang.clone()).collect();
        assert_eq!(langs, ["es", "pt-BR", "pt-BR"]);
        // The outbox writes went through the feed too; they are ignored, and nothing is sent again.
        let again = drain_notifier(&store, deps).await.unwrap();
        assert_eq!(again.report.sent, 0);
        assert_eq!(rec.feed().len(), 3);
    }
}
