//! Error paths of the adapters on the real SDK clients with a replayed transport (`aws-smithy-mocks`):
//! the wire answers DynamoDB and Secrets Manager give, deserialized by the SDK, classified by us.

use std::collections::HashMap;

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use meli_core::auth::{Swapped, TokenSet, TokenStore};
use meli_core::store::{Item, PutCondition, PutOutcome, Query, SnapshotStore, StoreError};
use secrecy::SecretString;
use serde_json::{json, Map};

use crate::dynamo::{BatchRetry, DynamoSnapshotStore};
use crate::secrets::{token_version_id, SecretsManagerTokenStore};

fn ddb_error(code: &str) -> Option<String> {
    Some(json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{code}"), "message": "replayed"}).to_string())
}

fn av_item(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_string(), AttributeValue::S(pk.into())), ("sk".to_string(), AttributeValue::S(sk.into()))])
}

fn store(rules: &[&aws_smithy_mocks::Rule]) -> DynamoSnapshotStore {
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |c| c.retry_config(RetryConfig::disabled()));
    DynamoSnapshotStore::new(client, "t").with_batch_retry(BatchRetry {
        attempts: 3,
        first_delay: std::time::Duration::from_millis(1),
        max_delay: std::time::Duration::from_millis(2),
    })
}

#[tokio::test]
async fn conditional_check_failure_is_an_outcome_not_an_error() {
    let rule = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|r| r.condition_expression() == Some("attribute_not_exists(#pk)"))
        .sequence()
        .http_status(400, ddb_error("ConditionalCheckFailedException"))
        .build();
    let s = store(&[&rule]);
    let out = s.put(Item::new("P", "S", Map::new()), PutCondition::IfAbsent).await.unwrap();
    assert_eq!(out, PutOutcome::ConditionFailed);
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn throttling_and_5xx_are_transient_validation_is_not() {
    let throttled = mock!(aws_sdk_dynamodb::Client::get_item)
        .sequence()
        .http_status(400, ddb_error("ProvisionedThroughputExceededException"))
        .build();
    let e = store(&[&throttled]).get("P", "S").await.unwrap_err();
    assert!(matches!(e, StoreError::Throttled(_)) && e.is_transient(), "{e:?}");

    let unavailable = mock!(aws_sdk_dynamodb::Client::get_item).sequence().http_status(503, None).build();
    let e = store(&[&unavailable]).get("P", "S").await.unwrap_err();
    assert!(matches!(e, StoreError::Unavailable(_)) && e.is_transient(), "{e:?}");

    let invalid =
        mock!(aws_sdk_dynamodb::Client::get_item).sequence().http_status(400, ddb_error("ValidationException")).build();
    let e = store(&[&invalid]).get("P", "S").await.unwrap_err();
    assert!(matches!(&e, StoreError::Rejected(m) if m.starts_with("ValidationException")), "{e:?}");
    assert!(!e.is_transient());
}

#[tokio::test]
async fn queries_follow_last_evaluated_key() {
    let first = mock!(aws_sdk_dynamodb::Client::query)
        .match_requests(|r| r.exclusive_start_key().is_none())
        .then_output(|| {
            QueryOutput::builder()
                .items(av_item("P", "SNAP#1"))
                .items(av_item("P", "SNAP#2"))
                .set_last_evaluated_key(Some(av_item("P", "SNAP#2")))
                .build()
        });
    let second = mock!(aws_sdk_dynamodb::Client::query)
        .match_requests(|r| {
            r.exclusive_start_key().and_then(|k| k.get("sk")) == Some(&AttributeValue::S("SNAP#2".into()))
        })
        .then_output(|| QueryOutput::builder().items(av_item("P", "SNAP#3")).build());
    let s = store(&[&first, &second]);
    let got = s.query(&Query::pk("P").begins_with("SNAP#")).await.unwrap();
    let sks: Vec<_> = got.iter().map(|i| i.sk.as_str()).collect();
    assert_eq!(sks, ["SNAP#1", "SNAP#2", "SNAP#3"]);
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_limited_query_stops_paging_once_it_has_enough() {
    let page = mock!(aws_sdk_dynamodb::Client::query).match_requests(|r| r.limit() == Some(2)).then_output(|| {
        QueryOutput::builder()
            .items(av_item("P", "A"))
            .items(av_item("P", "B"))
            .set_last_evaluated_key(Some(av_item("P", "B")))
            .build()
    });
    let s = store(&[&page]);
    let got = s.query(&Query::pk("P").limit(2)).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(page.num_calls(), 1);
}

#[tokio::test]
async fn reads_ask_for_the_consistency_the_caller_chose() {
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    let strong = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| r.consistent_read() == Some(true))
        .then_output(|| GetItemOutput::builder().set_item(Some(av_item("P", "S"))).build());
    let eventual = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| r.consistent_read() == Some(false))
        .then_output(|| GetItemOutput::builder().build());
    let strong_q = mock!(aws_sdk_dynamodb::Client::query)
        .match_requests(|r| r.consistent_read() == Some(true))
        .then_output(|| QueryOutput::builder().items(av_item("P", "A")).build());
    let eventual_q = mock!(aws_sdk_dynamodb::Client::query)
        .match_requests(|r| r.consistent_read() == Some(false))
        .then_output(|| QueryOutput::builder().build());
    let s = store(&[&strong, &eventual, &strong_q, &eventual_q]);
    assert_eq!(s.get("P", "S").await.unwrap().map(|i| i.sk), Some("S".to_string()));
    assert!(s.get_eventually_consistent("P", "S").await.unwrap().is_none());
    assert_eq!(s.query(&Query::pk("P")).await.unwrap().len(), 1);
    assert!(s.query(&Query::pk("P").eventually_consistent()).await.unwrap().is_empty());
    let calls = [strong.num_calls(), eventual.num_calls(), strong_q.num_calls(), eventual_q.num_calls()];
    assert_eq!(calls, [1, 1, 1, 1]);
}

#[tokio::test]
async fn unprocessed_batch_items_are_retried_then_reported_as_throttling() {
    let leftover = || {
        let put = PutRequest::builder().set_item(Some(av_item("P", "S3"))).build().unwrap();
        HashMap::from([("t".to_string(), vec![WriteRequest::builder().put_request(put).build()])])
    };
    // First round: one item left over; second round: done.
    let rule = mock!(aws_sdk_dynamodb::Client::batch_write_item)
        .sequence()
        .output(move || BatchWriteItemOutput::builder().set_unprocessed_items(Some(leftover())).build())
        .output(|| BatchWriteItemOutput::builder().build())
        .build();
    let s = store(&[&rule]);
    let items = (0..3).map(|i| Item::new("P", format!("S{i}"), Map::new())).collect();
    s.put_batch(items).await.unwrap();
    assert_eq!(rule.num_calls(), 2);

    // Always something left over: gives up after the configured rounds, as a transient error.
    let stuck = mock!(aws_sdk_dynamodb::Client::batch_write_item).then_output(move || {
        let put = PutRequest::builder().set_item(Some(av_item("P", "S0"))).build().unwrap();
        BatchWriteItemOutput::builder()
            .set_unprocessed_items(Some(HashMap::from([(
                "t".to_string(),
                vec![WriteRequest::builder().put_request(put).build()],
            )])))
            .build()
    });
    let s = store(&[&stuck]);
    let e = s.put_batch(vec![Item::new("P", "S0", Map::new())]).await.unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert_eq!(stuck.num_calls(), 3);
}

#[tokio::test]
async fn batches_are_split_in_chunks_of_25() {
    let rule = mock!(aws_sdk_dynamodb::Client::batch_write_item)
        .match_requests(|r| r.request_items().and_then(|m| m.get("t")).is_some_and(|v| v.len() <= 25))
        .then_output(|| BatchWriteItemOutput::builder().build());
    let s = store(&[&rule]);
    let items = (0..60).map(|i| Item::new("P", format!("S{i}"), Map::new())).collect();
    s.put_batch(items).await.unwrap();
    assert_eq!(rule.num_calls(), 3);
}

fn token(access: &str) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(access),
        refresh_token: Some(SecretString::from("TG-refresh")),
        expires_at: chrono::Utc::now(),
        user_id: Some(1),
        scope: None,
        version: 0,
    }
}

#[tokio::test]
async fn a_taken_token_version_is_a_lost_race() {
    let taken = mock!(aws_sdk_secretsmanager::Client::put_secret_value)
        .match_requests(|r| r.client_request_token() == Some(token_version_id(4).as_str()))
        .sequence()
        .http_status(
            400,
            Some(
                json!({"__type": "ResourceExistsException", "Message": "You can't use ClientRequestToken"}).to_string(),
            ),
        )
        .build();
    let throttled = mock!(aws_sdk_secretsmanager::Client::put_secret_value)
        .match_requests(|r| r.client_request_token() == Some(token_version_id(9).as_str()))
        .sequence()
        .http_status(400, Some(json!({"__type": "ThrottlingException", "Message": "Rate exceeded"}).to_string()))
        .build();
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, &[&taken, &throttled], |c| c
        .retry_config(aws_sdk_secretsmanager::config::retry::RetryConfig::disabled()));
    let store = SecretsManagerTokenStore::new(client, "meli/token");
    assert_eq!(store.compare_and_swap(3, token("A")).await.unwrap(), Swapped::Lost);
    let e = store.compare_and_swap(8, token("B")).await.unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert!(!format!("{e:?} {e}").contains("TG-refresh"));
}
