//! `SlackWebhookPublisher`: the [`SlackPublisher`] port over one Slack incoming webhook.
//!
//! - **Pacing**: at most one message per `min_interval` (1 s, Slack's limit for incoming webhooks)
//!   per webhook; concurrent posts to the same webhook wait their turn.
//! - **429**: honours `Retry-After` (seconds) by waiting and trying again, up to `max_retries` times,
//!   when the wait fits in `max_retry_wait`; otherwise a transient error carries the hint to the
//!   outbox, which retries later.
//! - **Gone**: 404/410 (`no_service`, `channel_is_archived`, `channel_not_found`, `no_active_hooks`)
//!   and 403 `invalid_token` / `action_prohibited` disable the destination.
//! - 400 (`invalid_payload`, `invalid_blocks`, …) is a rejected message; 5xx and network failures are
//!   transient.
//!
//! The URL is a [`SecretString`]: it is never logged, and errors from the HTTP client are stripped
//! of it (`reqwest::Error::without_url`) before they travel.

use std::time::Duration;

use meli_core::notify::{NotifyError, SlackMessage, SlackPublisher};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Longest body excerpt kept in an error.
const BODY_EXCERPT: usize = 120;

/// One incoming webhook.
pub struct SlackWebhookPublisher {
    client: reqwest::Client,
    url: SecretString,
    id: String,
    min_interval: Duration,
    max_retry_wait: Duration,
    max_retries: u32,
    /// When the next post may start. A Tokio mutex: it is held across the wait and the send on
    /// purpose, so posts to one webhook go one at a time.
    next_slot: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for SlackWebhookPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackWebhookPublisher").field("id", &self.id).field("url", &"[REDACTED]").finish()
    }
}

/// Why a publisher could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SlackBuildError {
    #[error("cannot build the HTTP client for Slack")]
    Client(#[source] reqwest::Error),
}

impl SlackWebhookPublisher {
    /// A publisher with its own HTTP client (10 s timeout).
    pub fn new(url: SecretString) -> Result<Self, SlackBuildError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(SlackBuildError::Client)?;
        Ok(Self::with_client(client, url))
    }

    /// A publisher sharing a client (build it once per process, with a timeout).
    pub fn with_client(client: reqwest::Client, url: SecretString) -> Self {
        let id = meli_core::notify::target_id(&url);
        SlackWebhookPublisher {
            client,
            url,
            id,
            min_interval: Duration::from_secs(1),
            max_retry_wait: Duration::from_secs(5),
            max_retries: 2,
            next_slot: Mutex::new(None),
        }
    }

    /// The minimum time between two messages to this webhook (default 1 s).
    pub fn min_interval(mut self, d: Duration) -> Self {
        self.min_interval = d;
        self
    }

    /// The longest `Retry-After` waited for inside one post (default 5 s); longer ones go back to the
    /// outbox as a transient failure with the hint.
    pub fn max_retry_wait(mut self, d: Duration) -> Self {
        self.max_retry_wait = d;
        self
    }

    /// The non-secret id of this webhook (`wh-…`), as used in outbox keys.
    pub fn id(&self) -> &str {
        &self.id
    }

    async fn send_once(
        &self,
        body: &serde_json::Value,
    ) -> Result<(reqwest::StatusCode, Option<u64>, String), NotifyError> {
        let resp = self.client.post(self.url.expose_secret()).json(body).send().await.map_err(|e| {
            let e = e.without_url();
            let reason = if e.is_timeout() { "timed out" } else { "request failed" };
            NotifyError::Transient {
                reason: format!("Slack webhook {}: {reason}", self.id),
                retry_after_secs: None,
                source: Some(Box::new(e)),
            }
        })?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let text = resp.text().await.unwrap_or_default();
        Ok((status, retry_after, text))
    }
}

/// What a Slack answer means.
fn classify(id: &str, status: reqwest::StatusCode, retry_after: Option<u64>, body: &str) -> Result<(), NotifyError> {
    let excerpt: String = body.trim().chars().take(BODY_EXCERPT).filter(|c| !c.is_control()).collect();
    let code = status.as_u16();
    match code {
        200..=299 => Ok(()),
        429 => Err(NotifyError::Transient {
            reason: format!("Slack webhook {id}: rate limited (429)"),
            retry_after_secs: Some(retry_after.unwrap_or(1)),
            source: None,
        }),
        404 | 410 => Err(NotifyError::Disabled { reason: format!("Slack webhook {id}: HTTP {code} {excerpt}") }),
        403 if excerpt.contains("invalid_token") || excerpt.contains("action_prohibited") => {
            Err(NotifyError::Disabled { reason: format!("Slack webhook {id}: HTTP 403 {excerpt}") })
        }
        500..=599 => Err(NotifyError::Transient {
            reason: format!("Slack webhook {id}: HTTP {code} {excerpt}"),
            retry_after_secs: retry_after,
            source: None,
        }),
        _ => Err(NotifyError::rejected(format!("Slack webhook {id}: HTTP {code} {excerpt}"))),
    }
}

#[async_trait::async_trait]
impl SlackPublisher for SlackWebhookPublisher {
    async fn post(&self, message: &SlackMessage) -> Result<(), NotifyError> {
        if message.blocks.len() > SlackMessage::MAX_BLOCKS {
            return Err(NotifyError::rejected(format!(
                "{} blocks; Slack allows {}",
                message.blocks.len(),
                SlackMessage::MAX_BLOCKS
            )));
        }
        let body = message.payload();
        let mut slot = self.next_slot.lock().await;
        let mut attempt = 0u32;
        loop {
            if let Some(at) = *slot {
                tokio::time::sleep_until(at).await;
            }
            let result = self.send_once(&body).await;
            *slot = Some(Instant::now() + self.min_interval);
            let (status, retry_after, text) = result?;
            match classify(&self.id, status, retry_after, &text) {
                Err(NotifyError::Transient { retry_after_secs: Some(wait), .. })
                    if status.as_u16() == 429
                        && attempt < self.max_retries
                        && Duration::from_secs(wait) <= self.max_retry_wait =>
                {
                    tracing::info!(webhook = %self.id, wait_secs = wait, "Slack asked to slow down; waiting");
                    attempt += 1;
                    *slot = Some(Instant::now() + Duration::from_secs(wait).max(self.min_interval));
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use axum::Router;
    use chrono::{Duration as CDuration, TimeZone, Utc};
    use meli_core::clock::ManualClock;
    use meli_core::ids::{CategoryId, EntryId, EntryType, SiteId};
    use meli_core::notify::{
        notify_events, ChannelKind, Controls, Destination, DestinationConfig, EventFilter, NotifyConfig, NotifyDeps,
        Sender,
    };
    use meli_core::signals::{EventItem, EventKind, PositionPoint, Severity};
    use meli_core::store::MemorySnapshotStore;

    use super::*;

    /// A scripted answer of the receiver.
    #[derive(Clone)]
    struct Answer {
        status: u16,
        retry_after: Option<u64>,
        body: &'static str,
    }

    #[derive(Default)]
    struct Receiver {
        // Held only inside the handler, never across an await.
        script: std::sync::Mutex<std::collections::VecDeque<Answer>>,
        got: std::sync::Mutex<Vec<(std::time::Instant, serde_json::Value)>>,
    }

    async fn hook(State(r): State<Arc<Receiver>>, body: String) -> (StatusCode, HeaderMap, String) {
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
        r.got.lock().unwrap().push((std::time::Instant::now(), v));
        let a = r.script.lock().unwrap().pop_front().unwrap_or(Answer { status: 200, retry_after: None, body: "ok" });
        let mut h = HeaderMap::new();
        if let Some(s) = a.retry_after {
            h.insert("retry-after", s.to_string().parse().unwrap());
        }
        (StatusCode::from_u16(a.status).unwrap(), h, a.body.to_string())
    }

    async fn receiver(script: Vec<Answer>) -> (Arc<Receiver>, SocketAddr) {
        let r = Arc::new(Receiver::default());
        r.script.lock().unwrap().extend(script);
        let app = Router::new().route("/services/T0/B0/secret-token", post(hook)).with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (r, addr)
    }

    fn url(addr: SocketAddr) -> SecretString {
        SecretString::from(format!("http://{addr}/services/T0/B0/secret-token"))
    }

    fn publisher(addr: SocketAddr, interval_ms: u64) -> SlackWebhookPublisher {
        SlackWebhookPublisher::new(url(addr)).unwrap().min_interval(Duration::from_millis(interval_ms))
    }

    fn ok() -> Answer {
        Answer { status: 200, retry_after: None, body: "ok" }
    }

    fn event(i: usize, kind: EventKind, title: &str) -> EventItem {
        let at = Utc.with_ymd_and_hms(2026, 11, 29, 13, 0, 0).unwrap();
        let site = SiteId::MLB;
        let category = CategoryId::parse("MLB1055").unwrap();
        let product = EntryId::parse(&format!("MLB{}", 1000 + i)).unwrap();
        EventItem {
            pk: meli_core::keys::event_pk(site, &category),
            sk: meli_core::keys::event_sk(at, kind.as_str(), &product),
            kind,
            key_kind: kind.as_str().into(),
            n: None,
            severity: Severity::Notable,
            site,
            category,
            product,
            product_type: EntryType::Product,
            taken_at: at,
            title: Some(title.into()),
            brand: None,
            permalink: None,
            price: Some(2499.0),
            currency: Some("BRL".into()),
            from_position: Some(11),
            to_position: Some(3),
            places: Some(8),
            previous_number_one: None,
            reference_price: None,
            price_change_share: None,
            reviews_before: None,
            reviews_after: None,
            reviews_delta: None,
            last_seen_at: None,
            momentum: None,
            trend: None,
            recent_positions: (0..6)
                .map(|k| PositionPoint { at: at - CDuration::minutes(15 * (5 - k)), position: Some(13 - 2 * k as u8) })
                .collect(),
            expires_at: 0,
        }
    }

    fn dest(id: &str, p: SlackWebhookPublisher) -> Destination {
        Destination::new(
            DestinationConfig {
                id: id.into(),
                channel: ChannelKind::Slack,
                filter: EventFilter::default(),
                controls: Controls::default(),
            },
            Sender::Slack(Arc::new(p)),
        )
    }

    #[tokio::test]
    async fn posts_the_rendered_payload() {
        let (r, addr) = receiver(vec![ok()]).await;
        let p = publisher(addr, 10);
        let e = event(1, EventKind::Climber, "Fone <!channel> *Promo* & Cia");
        let (msg, _) = meli_core::notify::render::slack_messages(None, &[&e]).remove(0);
        p.post(&msg).await.unwrap();
        let got = r.got.lock().unwrap().clone();
        assert_eq!(got.len(), 1);
        insta::assert_json_snapshot!("slack_payload_received", got[0].1);
        let text = got[0].1.to_string();
        assert!(!text.contains("<!channel>") && text.contains("&lt;!channel&gt;"));
    }

    #[tokio::test]
    async fn paces_posts_to_one_webhook() {
        let (r, addr) = receiver(vec![]).await;
        let p = Arc::new(publisher(addr, 150));
        let msg = SlackMessage { text: "x".into(), blocks: vec![] };
        let posts = (0..3).map(|_| {
            let p = p.clone();
            let m = msg.clone();
            tokio::spawn(async move { p.post(&m).await })
        });
        for h in posts.collect::<Vec<_>>() {
            h.await.unwrap().unwrap();
        }
        let times: Vec<_> = r.got.lock().unwrap().iter().map(|(t, _)| *t).collect();
        assert_eq!(times.len(), 3);
        for w in times.windows(2) {
            assert!(w[1].duration_since(w[0]) >= Duration::from_millis(140), "{:?}", w[1].duration_since(w[0]));
        }
    }

    #[tokio::test]
    async fn honours_retry_after_then_succeeds() {
        let (r, addr) = receiver(vec![Answer { status: 429, retry_after: Some(1), body: "rate_limited" }, ok()]).await;
        let p = publisher(addr, 10);
        p.post(&SlackMessage { text: "x".into(), blocks: vec![] }).await.unwrap();
        let times: Vec<_> = r.got.lock().unwrap().iter().map(|(t, _)| *t).collect();
        assert_eq!(times.len(), 2);
        assert!(times[1].duration_since(times[0]) >= Duration::from_millis(990));
    }

    #[tokio::test]
    async fn a_long_retry_after_goes_back_to_the_outbox() {
        let (r, addr) = receiver(vec![Answer { status: 429, retry_after: Some(120), body: "rate_limited" }]).await;
        let p = publisher(addr, 10);
        let err = p.post(&SlackMessage { text: "x".into(), blocks: vec![] }).await.unwrap_err();
        assert!(err.is_transient());
        assert_eq!(err.retry_after_secs(), Some(120));
        assert_eq!(r.got.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn gone_webhooks_disable_and_errors_never_show_the_url() {
        for (status, body) in [(410, "channel_is_archived"), (404, "no_service"), (403, "invalid_token")] {
            let (_, addr) = receiver(vec![Answer { status, retry_after: None, body }]).await;
            let err = publisher(addr, 10).post(&SlackMessage { text: "x".into(), blocks: vec![] }).await.unwrap_err();
            assert!(err.disables_destination(), "{status}");
            assert!(err.to_string().contains(body));
            assert!(!format!("{err} {err:?}").contains("secret-token"));
        }
        let (_, addr) = receiver(vec![Answer { status: 400, retry_after: None, body: "invalid_blocks" }]).await;
        let err = publisher(addr, 10).post(&SlackMessage { text: "x".into(), blocks: vec![] }).await.unwrap_err();
        assert!(matches!(err, NotifyError::Rejected { .. }));
        let (_, addr) = receiver(vec![Answer { status: 503, retry_after: None, body: "" }]).await;
        assert!(publisher(addr, 10)
            .post(&SlackMessage { text: "x".into(), blocks: vec![] })
            .await
            .unwrap_err()
            .is_transient());
        // Nothing listening: transient, and the URL is not in the error chain.
        let dead: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let err = publisher(dead, 10).post(&SlackMessage { text: "x".into(), blocks: vec![] }).await.unwrap_err();
        assert!(err.is_transient());
        let mut chain = format!("{err:?}");
        let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&err);
        while let Some(s) = src {
            chain.push_str(&s.to_string());
            src = s.source();
        }
        assert!(!chain.contains("secret-token"), "{chain}");
        assert!(!format!("{:?}", publisher(dead, 10)).contains("secret-token"));
    }

    #[tokio::test]
    async fn the_step_coalesces_and_isolates_failing_webhooks() {
        let (good, a) = receiver(vec![]).await;
        let (gone, b) = receiver(vec![Answer { status: 410, retry_after: None, body: "channel_is_archived" }]).await;
        let dests = vec![dest("wh-gone", publisher(b, 10)), dest("wh-good", publisher(a, 10))];
        let events: Vec<EventItem> = (0..30).map(|i| event(i, EventKind::Climber, &format!("Produto {i}"))).collect();
        let store = MemorySnapshotStore::new();
        let clock = ManualClock::new(events[0].taken_at);
        let cfg = NotifyConfig::default();
        let deps = NotifyDeps { store: &store, clock: &clock, destinations: &dests, config: &cfg };
        let r = notify_events(&events, deps).await.unwrap();
        // 30 events: one header + 2 blocks each fits 24 per message → 2 messages to the good webhook.
        assert_eq!(good.got.lock().unwrap().len(), 2);
        for (_, body) in good.got.lock().unwrap().iter() {
            assert!(body["blocks"].as_array().unwrap().len() <= 50);
        }
        assert_eq!(r.sent, 30);
        assert_eq!(gone.got.lock().unwrap().len(), 1, "the second message is not posted to a gone webhook");
        assert_eq!(r.disabled.len(), 1);
        assert_eq!(r.dead, 30);
        // Replays send nothing anywhere.
        for _ in 0..2 {
            let again = notify_events(&events, deps).await.unwrap();
            assert_eq!(again.sent, 0);
        }
        assert_eq!(good.got.lock().unwrap().len(), 2);
        assert_eq!(gone.got.lock().unwrap().len(), 1);
    }
}
