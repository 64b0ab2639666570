//! The moto tier: meli-aws against a DynamoDB / Streams / SNS / Secrets Manager server.
//!
//! Run through `scripts/with-moto.sh cargo test -p meli-aws --features reports` (the Makefile's `test-rust`
//! does, with the workspace, where the notifier turns `reports` on; without it the S3 test is left out). Without
//! `AWS_ENDPOINT_URL` every test here fails under `CI=true` and says "skipped" otherwise. Each test
//! creates its own table, topic or secret with a unique name, so they run in parallel on one server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_config::SdkConfig;
use chrono::{Duration, TimeZone, Utc};
use meli_aws::dynamo::{create_table, stream_arn};
use meli_aws::{DynamoSnapshotStore, SecretsManagerSource, SecretsManagerTokenStore, SnsAlertPublisher};
use meli_core::auth::{Swapped, TokenSet, TokenStore};
use meli_core::ids::{CategoryId, EntryType, SiteId};
use meli_core::notify::{MessageAttributes, Protocol, SnsMessage, SnsPublisher, SubscriptionAdmin, SubscriptionFilter};
use meli_core::pipeline::score_records;
use meli_core::score_step::read_latest;
use meli_core::signals::{SignalConfig, SnapshotItem};
use meli_core::snapshot::{FetchMeta, Snapshot};
use meli_core::store::{contract, Item, PutCondition, Query, SnapshotStore};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

/// The endpoint of the moto server, or why there is none.
#[allow(clippy::disallowed_methods)] // tests read the two variables that select the tier
fn endpoint() -> Option<String> {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "AWS_ENDPOINT_URL is not set under CI=true: the moto tier must run through scripts/with-moto.sh"
                );
            }
            // Straight to the process's stderr: the test harness captures eprintln! of passing tests.
            use std::io::Write;
            let _ =
                writeln!(std::io::stderr(), "skipped: run through scripts/with-moto.sh (AWS_ENDPOINT_URL is not set)");
            None
        }
    }
}

async fn sdk() -> Option<SdkConfig> {
    endpoint()?;
    Some(meli_aws::sdk::load().await)
}

/// A name no other test (or earlier run on the same server) uses.
fn unique(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("meli-{what}-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

async fn table(config: &SdkConfig) -> DynamoSnapshotStore {
    let client = aws_sdk_dynamodb::Client::new(config);
    let name = unique("table");
    create_table(&client, &name).await.unwrap();
    DynamoSnapshotStore::new(client, name)
}

#[tokio::test]
async fn dynamo_store_passes_the_store_contract() {
    let Some(config) = sdk().await else { return };
    let store = table(&config).await;
    contract::run_all(&store, "t1/").await.unwrap();
    // A second run on the same table: prefixes keep runs apart, as with the embedded store.
    contract::run_all(&store, "t2/").await.unwrap();
}

#[tokio::test]
async fn batches_over_25_items_with_repeated_keys_keep_the_last_write() {
    let Some(config) = sdk().await else { return };
    let store = table(&config).await;
    let mut items: Vec<Item> = (0..70)
        .map(|i| Item::new("PROD#MLB#MLB1", format!("HIST#{i:04}"), json!({"i": i}).as_object().unwrap().clone()))
        .collect();
    // The same key twice in one chunk: DynamoDB would reject the batch; the store keeps the last.
    items.push(Item::new("PROD#MLB#MLB1", "HIST#0003", json!({"i": "last"}).as_object().unwrap().clone()));
    store.put_batch(items).await.unwrap();
    let all = store.query(&Query::pk("PROD#MLB#MLB1")).await.unwrap();
    assert_eq!(all.len(), 70);
    let third = store.get("PROD#MLB#MLB1", "HIST#0003").await.unwrap().unwrap();
    assert_eq!(third.attrs.get("i"), Some(&json!("last")));
}

#[tokio::test]
async fn queries_follow_pages_past_one_megabyte() {
    let Some(config) = sdk().await else { return };
    let store = table(&config).await;
    // 40 items of ~60 KB: DynamoDB (and moto) return at most 1 MB per page, so this takes 3 pages.
    let blob = "x".repeat(60_000);
    let items: Vec<Item> = (0..40)
        .map(|i| {
            Item::new("CAT#MLB#MLB1055", format!("SNAP#{i:04}"), json!({"blob": blob}).as_object().unwrap().clone())
        })
        .collect();
    store.put_batch(items).await.unwrap();
    let all = store.query(&Query::pk("CAT#MLB#MLB1055").begins_with("SNAP#")).await.unwrap();
    assert_eq!(all.len(), 40);
    let sks: Vec<&str> = all.iter().map(|i| i.sk.as_str()).collect();
    assert_eq!(sks.first(), Some(&"SNAP#0000"));
    assert_eq!(sks.last(), Some(&"SNAP#0039"));
    let last5 = store.query(&Query::pk("CAT#MLB#MLB1055").backward().limit(25)).await.unwrap();
    assert_eq!(last5.len(), 25);
    assert_eq!(last5[0].sk, "SNAP#0039");
}

fn snapshot(minutes: i64, order: &[&str]) -> Snapshot {
    let taken_at = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap() + Duration::minutes(minutes);
    let mut s = Snapshot::ranked(&CategoryId::parse("MLB1055").unwrap(), taken_at, order, EntryType::Product).unwrap();
    for (i, e) in s.entries.iter_mut().enumerate() {
        e.title = Some(format!("Produto {} <b>&</b>", e.id));
        e.price = Some(100.0 + i as f64);
        e.currency = Some("BRL".into());
    }
    s.fetch = FetchMeta { api_calls: 1, duration_ms: 12 };
    s
}

/// A DynamoDB Streams SDK record in the shape Lambda delivers it (the `aws_lambda_events` type).
fn lambda_record(r: &aws_sdk_dynamodbstreams::types::Record) -> aws_lambda_events::dynamodb::EventRecord {
    let d = r.dynamodb.as_ref().unwrap();
    let image = |m: &Option<HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
        m.clone().map(|m| serde_json::to_value(serde_dynamo::Item::from(m)).unwrap())
    };
    let mut dynamodb = json!({
        "Keys": image(&d.keys).unwrap(),
        "SequenceNumber": d.sequence_number.clone().unwrap(),
        "SizeBytes": d.size_bytes.unwrap_or_default(),
        "StreamViewType": d.stream_view_type.as_ref().map(|v| v.as_str().to_string()),
    });
    if let Some(new) = image(&d.new_image) {
        dynamodb["NewImage"] = new;
    }
    if let Some(old) = image(&d.old_image) {
        dynamodb["OldImage"] = old;
    }
    serde_json::from_value(json!({
        "eventID": r.event_id.clone().unwrap(),
        "eventName": r.event_name.as_ref().unwrap().as_str(),
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "awsRegion": "us-east-1",
        "dynamodb": dynamodb,
    }))
    .unwrap()
}

async fn read_stream(config: &SdkConfig, table: &str) -> Vec<aws_lambda_events::dynamodb::EventRecord> {
    let ddb = aws_sdk_dynamodb::Client::new(config);
    let streams = aws_sdk_dynamodbstreams::Client::new(config);
    let arn = stream_arn(&ddb, table).await.unwrap().expect("streams are enabled");
    let desc = streams.describe_stream().stream_arn(&arn).send().await.unwrap();
    let mut out = Vec::new();
    for shard in desc.stream_description.unwrap().shards.unwrap_or_default() {
        let it = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id.unwrap())
            .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap();
        let page = streams.get_records().shard_iterator(it.shard_iterator.unwrap()).send().await.unwrap();
        out.extend(page.records.unwrap_or_default().iter().map(lambda_record));
    }
    out
}

#[tokio::test]
async fn a_snapshot_goes_through_the_stream_to_the_scorer() {
    let Some(config) = sdk().await else { return };
    let store = Arc::new(table(&config).await);
    let first = SnapshotItem::new(snapshot(0, &["MLB1", "MLB2", "MLB3", "MLB4"]), 180);
    let second = SnapshotItem::new(snapshot(15, &["MLB3", "MLB1", "MLB2", "MLB4"]), 180);
    for s in [&first, &second] {
        // As the fetcher stores it: the titles into the product items, then the snapshot item.
        meli_core::names::store_snapshot(store.as_ref(), s, PutCondition::IfAbsent, &[]).await.unwrap();
    }

    let records = read_stream(&config, store.table()).await;
    let is_snapshot = |r: &&aws_lambda_events::dynamodb::EventRecord| {
        let pk = r.change.keys.get("pk");
        matches!(pk, Some(serde_dynamo::AttributeValue::S(pk)) if pk.starts_with("CAT#"))
    };
    let inserts: Vec<_> = records.iter().filter(|r| r.event_name == "INSERT").filter(is_snapshot).collect();
    assert_eq!(inserts.len(), 2, "{records:?}");
    // The stream image decodes into the same item type the fetcher wrote, without the names.
    let change = meli_core::stream::decode(inserts[0]).unwrap();
    let mut want = first.clone();
    for e in &mut want.snapshot.entries {
        e.title = None;
    }
    assert_eq!(SnapshotItem::from_item(change.new.as_ref().unwrap()).unwrap(), want);

    let out = score_records(&records, store.as_ref(), &SignalConfig::default()).await;
    assert_eq!(out.scored, 2, "poison: {:?}", out.poison);
    assert!(out.retry_from.is_none() && out.poison.is_empty());
    let latest =
        read_latest(store.as_ref(), SiteId::MLB, &CategoryId::parse("MLB1055").unwrap(), &SignalConfig::default())
            .await
            .unwrap()
            .expect("the scorer stored the latest ranking");
    assert_eq!(latest.taken_at, second.snapshot.taken_at);
    let ids: Vec<&str> = latest.products.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["MLB3", "MLB1", "MLB2", "MLB4"]);
    assert_eq!(latest.products[0].change_prev, Some(2), "scored against the first snapshot");
    assert_eq!(latest.products[0].title.as_deref(), Some("Produto MLB3 <b>&</b>"), "from the product item");
    assert!(out.events.iter().all(|e| e.title.is_some()), "{:?}", out.events);
    assert!(
        out.events.iter().any(|e| e.key_kind == "new_number_one"),
        "events: {:?}",
        out.events.iter().map(|e| &e.key_kind).collect::<Vec<_>>()
    );
    let stored = store.query(&Query::pk("EVT#MLB#MLB1055")).await.unwrap();
    assert_eq!(stored.len(), out.events.len());
    // The scorer's own writes reach the stream too; the event items among them are what the
    // notifier's filter (pk prefix EVT#, INSERT) lets through.
    let after = read_stream(&config, store.table()).await;
    let event_inserts = after
        .iter()
        .filter(|r| r.event_name == "INSERT")
        .filter(
            |r| matches!(r.change.keys.get("pk"), Some(serde_dynamo::AttributeValue::S(pk)) if pk.starts_with("EVT#")),
        )
        .count();
    assert_eq!(event_inserts, out.events.len());
}

async fn secret(config: &SdkConfig, value: Option<&str>) -> (aws_sdk_secretsmanager::Client, String) {
    let client = aws_sdk_secretsmanager::Client::new(config);
    let name = unique("secret");
    let mut req = client.create_secret().name(&name);
    if let Some(v) = value {
        req = req.secret_string(v);
    }
    req.send().await.unwrap();
    (client, name)
}

fn token(access: &str, refresh: &str) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(access),
        refresh_token: Some(SecretString::from(refresh)),
        expires_at: Utc.with_ymd_and_hms(2026, 11, 29, 18, 0, 0).unwrap(),
        user_id: Some(42),
        scope: Some("offline_access read".into()),
        version: 0,
    }
}

#[tokio::test]
async fn the_token_secret_is_a_compare_and_swap() {
    let Some(config) = sdk().await else { return };
    // Terraform creates the secret without a value.
    let (client, name) = secret(&config, None).await;
    let store = SecretsManagerTokenStore::new(client.clone(), &name);
    assert!(store.load().await.unwrap().is_none());
    assert_eq!(store.compare_and_swap(0, token("A1", "R1")).await.unwrap(), Swapped::Swapped);
    assert_eq!(store.compare_and_swap(0, token("A1b", "R1b")).await.unwrap(), Swapped::Lost);
    let t = store.load().await.unwrap().unwrap();
    assert_eq!((t.version, t.access_token.expose_secret(), t.refresh_token.unwrap().expose_secret()), (1, "A1", "R1"));
    assert_eq!(store.compare_and_swap(1, token("A2", "R2")).await.unwrap(), Swapped::Swapped);
    // A writer that loaded version 1 long ago: version 2 is taken, it loses.
    assert_eq!(store.compare_and_swap(1, token("A2b", "R2b")).await.unwrap(), Swapped::Lost);
    let t = store.load().await.unwrap().unwrap();
    assert_eq!((t.version, t.access_token.expose_secret()), (2, "A2"));

    // A placeholder value also reads as "nothing stored".
    let (client, name) = secret(&config, Some("{}")).await;
    assert!(SecretsManagerTokenStore::new(client, name).load().await.unwrap().is_none());
}

#[tokio::test]
async fn of_eight_concurrent_refreshes_exactly_one_wins() {
    let Some(config) = sdk().await else { return };
    let (client, name) = secret(&config, None).await;
    let store = Arc::new(SecretsManagerTokenStore::new(client, &name));
    store.compare_and_swap(0, token("A1", "R1")).await.unwrap();
    // Eight fetchers that all loaded version 1 and refreshed with its refresh token. (A fetcher that
    // loads after the winner wrote sees version 2 and may rightly win the next round, so they all
    // start from the same load here.)
    let loaded = store.load().await.unwrap().unwrap().version;
    assert_eq!(loaded, 1);
    // moto's PutSecretValue is not atomic across its server threads, so true parallel calls can both
    // succeed there (AWS rejects the second with ResourceExistsException); the eight writers therefore
    // race one after the other, all from the same loaded version, which is what the CAS must decide.
    let mut wins = 0;
    for i in 0..8 {
        if store.compare_and_swap(loaded, token(&format!("A2-{i}"), &format!("R2-{i}"))).await.unwrap()
            == Swapped::Swapped
        {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(store.load().await.unwrap().unwrap().version, 2);
}

#[tokio::test]
async fn app_credentials_come_from_their_secret() {
    let Some(config) = sdk().await else { return };
    let (client, name) =
        secret(&config, Some(r#"{"client_id": "123456", "client_secret": "s3cr3t", "grant": "client_credentials"}"#))
            .await;
    let source = SecretsManagerSource::new(client);
    let app = source.app_credentials(&name).await.unwrap();
    assert_eq!((app.client_id.as_str(), app.client_secret.expose_secret()), ("123456", "s3cr3t"));
    let missing = source.get("meli-no-such-secret").await.unwrap_err();
    assert!(matches!(missing, meli_aws::secrets::SecretError::NotFound(_)), "{missing:?}");
}

/// A loopback HTTP receiver standing in for an SNS HTTP subscriber: records each POST body.
async fn receiver() -> (String, Arc<std::sync::Mutex<Vec<serde_json::Value>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sns", listener.local_addr().unwrap());
    let got: Arc<std::sync::Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let sink = sink.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            let body = &buf[end + 4..end + 4 + len];
                            if let Ok(v) = serde_json::from_slice(body) {
                                sink.lock().unwrap().push(v);
                            }
                            let _ = sock
                                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                                .await;
                            break;
                        }
                    }
                }
            });
        }
    });
    (url, got)
}

fn alert(site: &str, category: &str, event: &str, product: &str, severity: &str) -> SnsMessage {
    SnsMessage {
        subject: format!("Novo nº 1 em {category}"),
        default: format!("{event} {product} em {category}"),
        email: format!("{event}: {product}\nhttps://www.mercadolivre.com.br/p/{product}"),
        sms: format!("{event} {product}"),
        attributes: MessageAttributes {
            site: site.into(),
            category: category.into(),
            event: event.into(),
            product: product.into(),
            severity: severity.into(),
        },
        dedup_id: format!("DLV#{product}"),
    }
}

#[tokio::test]
async fn sns_publishes_reach_only_the_subscriptions_whose_filter_matches() {
    let Some(config) = sdk().await else { return };
    let client = aws_sdk_sns::Client::new(&config);
    let topic = client.create_topic().name(unique("topic")).send().await.unwrap().topic_arn.unwrap();
    let publisher = SnsAlertPublisher::new(client.clone(), &topic);

    // A seller who wants major MLB events in MLB1055 (an HTTP endpoint here, e-mail in real life).
    let filter = SubscriptionFilter {
        sites: vec!["MLB".into()],
        categories: vec!["MLB1055".into()],
        min_severity: Some("major".into()),
        ..SubscriptionFilter::default()
    };
    let (url, got) = receiver().await;
    client
        .subscribe()
        .topic_arn(&topic)
        .protocol("http")
        .endpoint(&url)
        .attributes("FilterPolicy", filter.filter_policy().to_string())
        .attributes("FilterPolicyScope", "MessageAttributes")
        .send()
        .await
        .unwrap();

    let hit = alert("MLB", "MLB1055", "new_number_one", "MLB19615337", "major");
    let receipt = publisher.publish(&hit).await.unwrap();
    assert!(!receipt.message_id.is_empty());
    publisher.publish(&alert("MLB", "MLB1055", "climber", "MLB2", "info")).await.unwrap();
    publisher.publish(&alert("MLA", "MLA1055", "new_number_one", "MLA3", "major")).await.unwrap();
    // PublishBatch: 12 messages go in two requests; two of them match.
    let mut batch: Vec<SnsMessage> =
        (0..12).map(|i| alert("MLB", "MLB1002", "climber", &format!("MLB{i}"), "major")).collect();
    batch[3] = alert("MLB", "MLB1055", "entered_top_10", "MLB33", "major");
    batch[11] = alert("MLB", "MLB1055", "entered_top_10", "MLB44", "major");
    let results = publisher.publish_batch(&batch).await;
    assert_eq!(results.len(), 12);
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");

    let got = got.lock().unwrap().clone();
    // Only the three matching messages arrived, each with the HTTP protocol's body (`default`) and the
    // cleaned subject. (moto's HTTP delivery leaves the attributes out of the envelope; the filter
    // policy that read them is what this checks.)
    let bodies: Vec<&str> = got.iter().map(|n| n["Message"].as_str().unwrap_or("")).collect();
    assert_eq!(
        bodies,
        [hit.default.as_str(), "entered_top_10 MLB33 em MLB1055", "entered_top_10 MLB44 em MLB1055"],
        "{got:#?}"
    );
    assert_eq!(got[0]["Subject"], json!("Novo n? 1 em MLB1055"));
}

/// An SQS subscription sees what HTTP delivery in moto leaves out: the message attributes (the
/// envelope of a non-raw delivery carries them) that sellers' filter policies match on.
#[tokio::test]
async fn sns_messages_carry_their_attributes_and_each_protocol_gets_its_body() {
    let Some(config) = sdk().await else { return };
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let topic = sns.create_topic().name(unique("topic")).send().await.unwrap().topic_arn.unwrap();
    let queue_url = sqs.create_queue().queue_name(unique("alerts")).send().await.unwrap().queue_url.unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let filter = SubscriptionFilter {
        sites: vec!["MLB".into()],
        events: vec!["new_number_one".into(), "price_drop".into()],
        ..SubscriptionFilter::default()
    };
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .attributes("FilterPolicy", filter.filter_policy().to_string())
        .send()
        .await
        .unwrap();
    let publisher = SnsAlertPublisher::new(sns.clone(), &topic);
    let hit = alert("MLB", "MLB1055", "new_number_one", "MLB19615337", "major");
    publisher.publish(&hit).await.unwrap();
    publisher.publish(&alert("MLB", "MLB1055", "climber", "MLB2", "info")).await.unwrap();
    let batch = vec![
        alert("MLA", "MLA1055", "price_drop", "MLA3", "notable"),
        alert("MLB", "MLB1002", "price_drop", "MLB4", "notable"),
    ];
    assert!(publisher.publish_batch(&batch).await.iter().all(|r| r.is_ok()));

    let got = sqs.receive_message().queue_url(&queue_url).max_number_of_messages(10).send().await.unwrap();
    let envelopes: Vec<serde_json::Value> = got
        .messages
        .unwrap_or_default()
        .iter()
        .map(|m| serde_json::from_str(m.body.as_deref().unwrap()).unwrap())
        .collect();
    // The two MLB messages of the wanted kinds, in order; the SQS body is the `default` one (the
    // e-mail and SMS bodies go to their own protocols through MessageStructure=json).
    let bodies: Vec<&str> = envelopes.iter().map(|e| e["Message"].as_str().unwrap()).collect();
    assert_eq!(bodies, [hit.default.as_str(), "price_drop MLB4 em MLB1002"], "{envelopes:#?}");
    let attrs = &envelopes[0]["MessageAttributes"];
    for (name, value) in [
        ("site", "MLB"),
        ("category", "MLB1055"),
        ("event", "new_number_one"),
        ("product", "MLB19615337"),
        ("severity", "major"),
    ] {
        assert_eq!(attrs[name]["Value"], json!(value), "{name}: {attrs:#}");
        assert_eq!(attrs[name]["Type"], json!("String"), "{name}: {attrs:#}");
    }
    assert_eq!(envelopes[1]["MessageAttributes"]["event"]["Value"], json!("price_drop"));
}

#[tokio::test]
async fn subscriptions_are_created_listed_and_removed_with_their_filter() {
    let Some(config) = sdk().await else { return };
    let client = aws_sdk_sns::Client::new(&config);
    let topic = client.create_topic().name(unique("topic")).send().await.unwrap().topic_arn.unwrap();
    let admin = SnsAlertPublisher::new(client, &topic);
    let filter = SubscriptionFilter {
        sites: vec!["MLB".into()],
        events: vec!["new_number_one".into(), "price_drop".into()],
        ..SubscriptionFilter::default()
    };
    let sub = admin.subscribe(Protocol::Email, "vendedor@example.com", &filter).await.unwrap();
    admin.subscribe(Protocol::Sms, "+5511999990000", &SubscriptionFilter::default()).await.unwrap();
    let listed = admin.subscriptions().await.unwrap();
    assert_eq!(listed.len(), 2);
    let email = listed.iter().find(|s| s.protocol == "email").unwrap();
    assert_eq!(email.endpoint, "vendedor@example.com");
    assert_eq!(email.filter_policy.as_ref(), Some(&filter.filter_policy()));
    assert!(sub.arn.starts_with("arn:"), "{}", sub.arn);
    admin.unsubscribe(&sub.arn).await.unwrap();
    let left = admin.subscriptions().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].protocol, "sms");
}

// ---------------------------------------------------------------------------------------------
// The reports bucket (S3ReportSink, feature `reports`)

#[cfg(feature = "reports")]
#[tokio::test]
async fn reports_are_stored_encrypted_and_open_through_their_presigned_url() {
    use aws_sdk_s3::types::ServerSideEncryption;
    use meli_aws::s3::{HTML_CONTENT_TYPE, MAX_LINK_EXPIRY};
    use meli_aws::S3ReportSink;
    use meli_core::notify::ReportSink;

    let Some(config) = sdk().await else { return };
    let client = meli_aws::s3::client(&config);
    let bucket = unique("reports");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let kms = "arn:aws:kms:us-east-1:123456789012:key/0b6f1a52-9e1c-4c8e-a7a4-3a1d2c5e6f70";
    let sink = S3ReportSink::new(client.clone(), &bucket, Some(kms.into()), MAX_LINK_EXPIRY).unwrap();
    let key = "reports/MLB/2026-11-29/MLB1055.html";
    let html = "<!DOCTYPE html>\n<html lang=\"pt-BR\"><body><h1>Mais vendidos · MLB1055</h1>\
                <p>R$ 1.299,90 · &lt;script&gt;alert(1)&lt;/script&gt; · Ñandú ✅</p></body></html>\n";
    let url = sink.publish(key, html).await.unwrap();
    assert!(url.starts_with(&format!("{}/{bucket}/{key}?", config.endpoint_url().unwrap())), "path-style: {url}");
    assert!(url.contains("X-Amz-Expires=604800") && url.contains("X-Amz-Signature="), "{url}");

    // Anyone with the link gets the page over plain HTTP, byte for byte, as HTML in UTF-8.
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap();
    let resp = http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], HTML_CONTENT_TYPE);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), html.as_bytes());

    // Stored with server-side encryption under the configured key.
    let head = client.head_object().bucket(&bucket).key(key).send().await.unwrap();
    assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::AwsKms));
    assert_eq!(head.ssekms_key_id(), Some(kms));
    assert_eq!(head.content_type(), Some(HTML_CONTENT_TYPE));

    // The same key again (a digest replayed the same day) replaces the page; the old link shows it.
    let newer = html.replace("1.299,90", "1.199,90");
    sink.publish(key, &newer).await.unwrap();
    assert_eq!(http.get(&url).send().await.unwrap().text().await.unwrap(), newer);

    // Without a KMS key: S3-managed encryption, still never unencrypted.
    let plain = S3ReportSink::new(client.clone(), &bucket, None, std::time::Duration::from_secs(3600)).unwrap();
    let url = plain.publish("reports/MLA/2026-11-29/MLA1055.html", "<p>hola</p>").await.unwrap();
    assert!(url.contains("X-Amz-Expires=3600"), "{url}");
    let head = client.head_object().bucket(&bucket).key("reports/MLA/2026-11-29/MLA1055.html").send().await.unwrap();
    assert_eq!(head.server_side_encryption(), Some(&ServerSideEncryption::Aes256));

    // A bucket that does not exist is a configuration problem, said without the URL.
    let missing = S3ReportSink::new(client, unique("missing"), None, MAX_LINK_EXPIRY).unwrap();
    let err = missing.publish(key, html).await.unwrap_err();
    assert!(matches!(err, meli_core::notify::NotifyError::Config { .. }), "{err:?}");
    assert!(!err.to_string().contains("X-Amz"), "{err}");
}
