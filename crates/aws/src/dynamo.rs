//! [`DynamoSnapshotStore`]: the `SnapshotStore` port over the single DynamoDB table of DESIGN §4.
//!
//! Items are the core [`Item`] (keys `pk`, `sk` plus JSON attributes) converted with `serde_dynamo`,
//! the same conversion the stream decoder uses on the stream images, so a snapshot written here
//! decodes into the same `SnapshotItem` in the trend-scorer.
//!
//! - puts are conditional (`attribute_not_exists(pk)` for inserts, `#a = :v` for compare-and-swap);
//!   a `ConditionalCheckFailedException` is the [`PutOutcome::ConditionFailed`] answer, not an error;
//! - reads are strongly consistent (the token CAS and the scorer's history read depend on it);
//! - queries follow `LastEvaluatedKey` until the range or the limit is exhausted;
//! - batches go in `BatchWriteItem` chunks of 25, with unprocessed items retried with backoff.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, PutRequest, ScalarAttributeType,
    StreamSpecification, StreamViewType, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use meli_core::store::{Item, PutCondition, PutOutcome, Query, SkRange, SnapshotStore, StoreError};
use serde_json::{Map, Value};

use crate::error::{classify, code, Class};

/// The key attributes of the table.
pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// `BatchWriteItem` takes at most this many requests.
pub const BATCH_WRITE_MAX: usize = 25;

/// How unprocessed batch items are retried: `attempts` rounds, the delay doubling from `first_delay`
/// up to `max_delay`. With the defaults (8 rounds, 50 ms doubling, capped at 1 s) a batch gives up
/// after 50+100+200+400+800+1000+1000 ms ≈ 3.6 s of waiting: well inside the Lambdas' timeouts
/// (fetcher 900 s, trend-scorer 60 s) and long enough to ride out a partition's burst throttling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchRetry {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for BatchRetry {
    fn default() -> Self {
        BatchRetry { attempts: 8, first_delay: Duration::from_millis(50), max_delay: Duration::from_secs(1) }
    }
}

impl BatchRetry {
    /// The wait before retry round `n` (1-based).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

/// The single table on DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoSnapshotStore {
    client: Client,
    table: String,
    retry: BatchRetry,
}

fn store_error<E>(err: SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match classify(&err) {
        Class::Throttled => StoreError::Throttled(Some(Box::new(err))),
        Class::Unavailable => StoreError::Unavailable(Box::new(err)),
        Class::Rejected(what) => StoreError::Rejected(what),
        Class::Other => StoreError::Backend(Box::new(err)),
    }
}

/// An item as DynamoDB attributes.
pub fn to_attributes(item: &Item) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(item)
        .map_err(|e| StoreError::Corrupt(format!("item {}/{} does not encode: {e}", item.pk, item.sk)))
}

/// DynamoDB attributes back into an item.
pub fn from_attributes(attrs: HashMap<String, AttributeValue>) -> Result<Item, StoreError> {
    let mut map: Map<String, Value> =
        serde_dynamo::from_item(attrs).map_err(|e| StoreError::Corrupt(format!("stored item does not decode: {e}")))?;
    let key = |m: &mut Map<String, Value>, name: &str| match m.remove(name) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(StoreError::Corrupt(format!("stored item has no string {name}"))),
    };
    let pk = key(&mut map, PK)?;
    let sk = key(&mut map, SK)?;
    Ok(Item { pk, sk, attrs: map.into() })
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

impl DynamoSnapshotStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoSnapshotStore { client, table: table.into(), retry: BatchRetry::default() }
    }

    async fn get_item(&self, pk: &str, sk: &str, consistent: bool) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(store_error)?;
        out.item.map(from_attributes).transpose()
    }

    /// Overrides how unprocessed batch items are retried.
    pub fn with_batch_retry(mut self, retry: BatchRetry) -> Self {
        self.retry = retry;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Writes one chunk (≤ 25 distinct keys), retrying what DynamoDB leaves unprocessed.
    async fn write_chunk(&self, chunk: Vec<HashMap<String, AttributeValue>>) -> Result<(), StoreError> {
        let mut pending: Vec<WriteRequest> = Vec::with_capacity(chunk.len());
        for attrs in chunk {
            let put = PutRequest::builder()
                .set_item(Some(attrs))
                .build()
                .map_err(|e| StoreError::Rejected(format!("cannot build a put request: {e}")))?;
            pending.push(WriteRequest::builder().put_request(put).build());
        }
        let mut round = 0;
        while !pending.is_empty() {
            if round > 0 {
                if round >= self.retry.attempts {
                    tracing::warn!(
                        unprocessed = pending.len(),
                        rounds = round,
                        "batch write gave up on unprocessed items"
                    );
                    return Err(StoreError::Throttled(None));
                }
                tokio::time::sleep(self.retry.delay(round)).await;
            }
            round += 1;
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, std::mem::take(&mut pending))
                .send()
                .await
                .map_err(store_error)?;
            pending = out.unprocessed_items.and_then(|mut m| m.remove(&self.table)).unwrap_or_default();
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl SnapshotStore for DynamoSnapshotStore {
    async fn put(&self, item: Item, condition: PutCondition) -> Result<PutOutcome, StoreError> {
        let attrs = to_attributes(&item)?;
        let mut req = self.client.put_item().table_name(&self.table).set_item(Some(attrs));
        req = match condition {
            PutCondition::Always => req,
            PutCondition::IfAbsent => {
                req.condition_expression("attribute_not_exists(#pk)").expression_attribute_names("#pk", PK)
            }
            PutCondition::IfAttrEquals { name, value } => {
                let v: AttributeValue = serde_dynamo::to_attribute_value(&value)
                    .map_err(|e| StoreError::Corrupt(format!("condition value does not encode: {e}")))?;
                req.condition_expression("#a = :v")
                    .expression_attribute_names("#a", name)
                    .expression_attribute_values(":v", v)
            }
        };
        match req.send().await {
            Ok(_) => Ok(PutOutcome::Written),
            Err(e) if code(&e) == Some("ConditionalCheckFailedException") => Ok(PutOutcome::ConditionFailed),
            Err(e) => Err(store_error(e)),
        }
    }

    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.get_item(pk, sk, true).await
    }

    async fn get_eventually_consistent(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.get_item(pk, sk, false).await
    }

    async fn query(&self, query: &Query) -> Result<Vec<Item>, StoreError> {
        let (condition, mut values) = match &query.sk {
            SkRange::All => ("#pk = :pk", vec![]),
            SkRange::BeginsWith(p) => ("#pk = :pk AND begins_with(#sk, :p)", vec![(":p", s(p))]),
            SkRange::Between(a, b) => ("#pk = :pk AND #sk BETWEEN :a AND :b", vec![(":a", s(a)), (":b", s(b))]),
        };
        // DynamoDB rejects BETWEEN with a lower bound above the upper one; the range is simply empty.
        if let SkRange::Between(a, b) = &query.sk {
            if a > b {
                return Ok(Vec::new());
            }
        }
        values.push((":pk", s(&query.pk)));
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let mut req = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(condition)
                .expression_attribute_names("#pk", PK)
                .scan_index_forward(query.forward)
                .consistent_read(query.consistent)
                .set_exclusive_start_key(start.take());
            if !matches!(query.sk, SkRange::All) {
                req = req.expression_attribute_names("#sk", SK);
            }
            for (k, v) in &values {
                req = req.expression_attribute_values(*k, v.clone());
            }
            if let Some(n) = query.limit {
                // No filter expression: every evaluated item is returned, so Limit counts results.
                let left = n.saturating_sub(out.len());
                if left == 0 {
                    break;
                }
                req = req.limit(i32::try_from(left).unwrap_or(i32::MAX));
            }
            let page = req.send().await.map_err(store_error)?;
            for attrs in page.items.unwrap_or_default() {
                out.push(from_attributes(attrs)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        if let Some(n) = query.limit {
            out.truncate(n);
        }
        // Keep values alive for the borrow checker's sake in the loop above.
        drop(values);
        Ok(out)
    }

    async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn put_batch(&self, items: Vec<Item>) -> Result<(), StoreError> {
        // A BatchWriteItem may not name one key twice; sequential puts would keep the last, so do we.
        let mut order: Vec<(String, String)> = Vec::with_capacity(items.len());
        let mut latest: HashMap<(String, String), Item> = HashMap::with_capacity(items.len());
        for item in items {
            let key = (item.pk.clone(), item.sk.clone());
            if latest.insert(key.clone(), item).is_none() {
                order.push(key);
            }
        }
        let mut encoded = Vec::with_capacity(order.len());
        for key in &order {
            if let Some(item) = latest.get(key) {
                encoded.push(to_attributes(item)?);
            }
        }
        let mut chunks = encoded.into_iter().peekable();
        while chunks.peek().is_some() {
            let chunk: Vec<_> = chunks.by_ref().take(BATCH_WRITE_MAX).collect();
            self.write_chunk(chunk).await?;
        }
        Ok(())
    }
}

/// Creates the table as Terraform does (keys, streams with both images; no secondary index), for the
/// moto tier and local runs against a DynamoDB-compatible server. TTL and encryption are Terraform's.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let attr =
        |name: &str| AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build();
    let key = |name: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
    let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Rejected(format!("bad table definition: {e}"));
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(PK).map_err(build)?)
        .attribute_definitions(attr(SK).map_err(build)?)
        .key_schema(key(PK, KeyType::Hash).map_err(build)?)
        .key_schema(key(SK, KeyType::Range).map_err(build)?)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(build)?,
        )
        .send()
        .await
        .map_err(store_error)?;
    Ok(())
}

/// The table's latest stream ARN, if streams are enabled.
pub async fn stream_arn(client: &Client, table: &str) -> Result<Option<String>, StoreError> {
    let out = client.describe_table().table_name(table).send().await.map_err(store_error)?;
    Ok(out.table.and_then(|t| t.latest_stream_arn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_retry_backs_off_and_caps() {
        let r = BatchRetry::default();
        assert_eq!(r.delay(1), Duration::from_millis(50));
        assert_eq!(r.delay(3), Duration::from_millis(200));
        assert_eq!(r.delay(7), Duration::from_secs(1));
        assert_eq!(r.delay(200), Duration::from_secs(1));
        let total: Duration = (1..r.attempts).map(|n| r.delay(n)).sum();
        assert!(total < Duration::from_secs(5), "{total:?}");
    }

    #[test]
    fn items_round_trip_through_attributes() {
        let mut attrs = meli_core::store::Attrs::new();
        attrs.insert("title", Value::String("Celular <b>".into()));
        attrs.insert("price", serde_json::json!(1299.9));
        attrs.insert("n", serde_json::json!(3));
        attrs.insert("none", Value::Null);
        attrs.insert("l", serde_json::json!([{"a": 1}, "x"]));
        let item = Item::new("CAT#MLB#MLB1055", "SNAP#2026-01-01T00:00:00Z", attrs);
        let av = to_attributes(&item).unwrap();
        assert_eq!(av.get("pk"), Some(&s("CAT#MLB#MLB1055")));
        assert_eq!(av.get("price"), Some(&AttributeValue::N("1299.9".into())));
        assert_eq!(from_attributes(av).unwrap(), item);
        assert!(matches!(from_attributes(HashMap::new()), Err(StoreError::Corrupt(_))));
    }
}
