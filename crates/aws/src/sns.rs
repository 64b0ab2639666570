//! [`SnsAlertPublisher`]: the notifier's SNS ports (`SnsPublisher`, `SubscriptionAdmin`) on one topic.
//!
//! - publish: `MessageStructure=json` with the per-protocol bodies (`default`, `email`, `sms`), the
//!   e-mail subject, and the message attributes (`site`, `category`, `event`, `product`, `severity`,
//!   all `String`) that each subscription's filter policy matches;
//! - [`SnsAlertPublisher::publish_batch`]: the same through `PublishBatch`, in chunks of 10;
//! - subscriptions: `Subscribe` with a message-attribute `FilterPolicy`, listing (following
//!   `NextToken`) with each subscription's policy, and `Unsubscribe`.
//!
//! Endpoints (e-mail addresses, phone numbers) are personal data: they are returned to the caller
//! and never logged here.

use std::collections::HashMap;

use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use aws_sdk_sns::Client;
use meli_core::notify::{
    NotifyError, Protocol, PublishReceipt, SnsMessage, SnsPublisher, Subscription, SubscriptionAdmin,
    SubscriptionFilter,
};

use crate::error::{classify, Class};

/// `PublishBatch` takes at most this many entries.
pub const PUBLISH_BATCH_MAX: usize = 10;

/// The alerts topic.
#[derive(Debug, Clone)]
pub struct SnsAlertPublisher {
    client: Client,
    topic_arn: String,
}

/// Codes that mean the publisher itself is not set up right (topic, permissions, key).
const CONFIG_CODES: &[&str] = &[
    "NotFound",
    "NotFoundException",
    "AuthorizationError",
    "AuthorizationErrorException",
    "KMSAccessDenied",
    "KMSAccessDeniedException",
    "KMSDisabled",
    "KMSDisabledException",
    "KMSInvalidState",
    "KMSNotFound",
    "KMSNotFoundException",
    "InvalidSecurity",
    "InvalidSecurityException",
];

fn notify_error<E>(
    what: &str,
    err: aws_sdk_sns::error::SdkError<E, aws_sdk_sns::config::http::HttpResponse>,
) -> NotifyError
where
    E: aws_sdk_sns::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = crate::error::code(&err).unwrap_or("").to_string();
    match classify(&err) {
        Class::Throttled | Class::Unavailable => NotifyError::Transient {
            reason: format!("SNS {what}: {}", if code.is_empty() { "unavailable" } else { &code }),
            retry_after_secs: None,
            source: Some(Box::new(err)),
        },
        Class::Rejected(detail) if CONFIG_CODES.contains(&code.as_str()) => {
            NotifyError::Config { reason: format!("SNS {what}: {detail}"), source: Some(Box::new(err)) }
        }
        Class::Rejected(detail) => {
            NotifyError::Rejected { reason: format!("SNS {what}: {detail}"), source: Some(Box::new(err)) }
        }
        Class::Other => NotifyError::Rejected { reason: format!("SNS {what} failed"), source: Some(Box::new(err)) },
    }
}

fn attributes(message: &SnsMessage) -> Result<HashMap<String, MessageAttributeValue>, NotifyError> {
    let mut out = HashMap::new();
    for (name, value) in message.attributes.pairs() {
        let v = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| NotifyError::rejected(format!("attribute {name}: {e}")))?;
        out.insert(name.to_string(), v);
    }
    Ok(out)
}

/// SNS subjects: ASCII, no line breaks, < 100 characters; anything else is replaced or cut.
pub fn sns_subject(subject: &str) -> String {
    let clean: String = subject
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else if c.is_whitespace() {
                ' '
            } else {
                '?'
            }
        })
        .collect();
    let trimmed = clean.trim();
    if trimmed.is_empty() {
        return "meli-radar".to_string();
    }
    trimmed.chars().take(99).collect()
}

impl SnsAlertPublisher {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        SnsAlertPublisher { client, topic_arn: topic_arn.into() }
    }

    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// Publishes many messages with `PublishBatch`, 10 per request. The answer has one result per
    /// message, in order: SNS accepts or refuses each entry on its own.
    pub async fn publish_batch(&self, messages: &[SnsMessage]) -> Vec<Result<PublishReceipt, NotifyError>> {
        let mut results = Vec::with_capacity(messages.len());
        for chunk in messages.chunks(PUBLISH_BATCH_MAX) {
            let mut entries = Vec::with_capacity(chunk.len());
            let mut prepared: Vec<Option<NotifyError>> = Vec::with_capacity(chunk.len());
            for (i, m) in chunk.iter().enumerate() {
                let entry = attributes(m).and_then(|attrs| {
                    PublishBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message(m.message_json())
                        .message_structure("json")
                        .subject(sns_subject(&m.subject))
                        .set_message_attributes(Some(attrs))
                        .build()
                        .map_err(|e| NotifyError::rejected(format!("batch entry: {e}")))
                });
                match entry {
                    Ok(e) => {
                        entries.push(e);
                        prepared.push(None);
                    }
                    Err(e) => prepared.push(Some(e)),
                }
            }
            let mut chunk_results: Vec<Option<Result<PublishReceipt, NotifyError>>> =
                prepared.into_iter().map(|p| p.map(Err)).collect();
            if !entries.is_empty() {
                match self
                    .client
                    .publish_batch()
                    .topic_arn(&self.topic_arn)
                    .set_publish_batch_request_entries(Some(entries))
                    .send()
                    .await
                {
                    Ok(out) => {
                        for ok in out.successful.unwrap_or_default() {
                            if let Some(slot) = ok
                                .id
                                .as_deref()
                                .and_then(|id| id.parse::<usize>().ok())
                                .and_then(|i| chunk_results.get_mut(i))
                            {
                                *slot = Some(Ok(PublishReceipt { message_id: ok.message_id.unwrap_or_default() }));
                            }
                        }
                        for failed in out.failed.unwrap_or_default() {
                            let reason =
                                format!("SNS publish: {}: {}", failed.code, failed.message.unwrap_or_default());
                            let err = if failed.sender_fault {
                                NotifyError::rejected(reason)
                            } else {
                                NotifyError::transient(reason)
                            };
                            if let Some(slot) = failed.id.parse::<usize>().ok().and_then(|i| chunk_results.get_mut(i)) {
                                *slot = Some(Err(err));
                            }
                        }
                    }
                    Err(e) => {
                        let transient = matches!(classify(&e), Class::Throttled | Class::Unavailable);
                        let reason = notify_error("publish batch", e).to_string();
                        for slot in chunk_results.iter_mut().filter(|s| s.is_none()) {
                            *slot = Some(Err(if transient {
                                NotifyError::transient(reason.clone())
                            } else {
                                NotifyError::rejected(reason.clone())
                            }));
                        }
                    }
                }
            }
            results.extend(
                chunk_results
                    .into_iter()
                    .map(|r| r.unwrap_or_else(|| Err(NotifyError::transient("SNS did not report this batch entry")))),
            );
        }
        results
    }
}

#[async_trait::async_trait]
impl SnsPublisher for SnsAlertPublisher {
    async fn publish(&self, message: &SnsMessage) -> Result<PublishReceipt, NotifyError> {
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(message.message_json())
            .message_structure("json")
            .subject(sns_subject(&message.subject))
            .set_message_attributes(Some(attributes(message)?))
            .send()
            .await
            .map_err(|e| notify_error("publish", e))?;
        Ok(PublishReceipt { message_id: out.message_id.unwrap_or_default() })
    }
}

#[async_trait::async_trait]
impl SubscriptionAdmin for SnsAlertPublisher {
    async fn subscribe(
        &self,
        protocol: Protocol,
        endpoint: &str,
        filter: &SubscriptionFilter,
    ) -> Result<Subscription, NotifyError> {
        let policy = filter.filter_policy();
        let has_policy = policy.as_object().is_some_and(|m| !m.is_empty());
        let mut req = self
            .client
            .subscribe()
            .topic_arn(&self.topic_arn)
            .protocol(protocol.as_str())
            .endpoint(endpoint)
            .return_subscription_arn(true);
        if has_policy {
            req =
                req.attributes("FilterPolicy", policy.to_string()).attributes("FilterPolicyScope", "MessageAttributes");
        }
        let out = req.send().await.map_err(|e| notify_error("subscribe", e))?;
        Ok(Subscription {
            arn: out.subscription_arn.unwrap_or_else(|| "PendingConfirmation".into()),
            protocol: protocol.as_str().to_string(),
            endpoint: endpoint.to_string(),
            filter_policy: has_policy.then_some(policy),
        })
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>, NotifyError> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .list_subscriptions_by_topic()
                .topic_arn(&self.topic_arn)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| notify_error("list subscriptions", e))?;
            for s in page.subscriptions.unwrap_or_default() {
                let arn = s.subscription_arn.unwrap_or_default();
                // Unconfirmed subscriptions have no ARN yet, so no attributes to read.
                let filter_policy = if arn.starts_with("arn:") {
                    let attrs = self
                        .client
                        .get_subscription_attributes()
                        .subscription_arn(&arn)
                        .send()
                        .await
                        .map_err(|e| notify_error("read subscription", e))?;
                    attrs
                        .attributes
                        .and_then(|a| a.get("FilterPolicy").cloned())
                        .and_then(|p| serde_json::from_str(&p).ok())
                } else {
                    None
                };
                out.push(Subscription {
                    arn,
                    protocol: s.protocol.unwrap_or_default(),
                    endpoint: s.endpoint.unwrap_or_default(),
                    filter_policy,
                });
            }
            match page.next_token {
                Some(t) if !t.is_empty() => next = Some(t),
                _ => break,
            }
        }
        Ok(out)
    }

    async fn unsubscribe(&self, arn: &str) -> Result<(), NotifyError> {
        self.client.unsubscribe().subscription_arn(arn).send().await.map_err(|e| notify_error("unsubscribe", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_the_sns_rules() {
        assert_eq!(sns_subject("Novo nº 1 em Celulares\n"), "Novo n? 1 em Celulares");
        assert_eq!(sns_subject(&"x".repeat(300)).len(), 99);
        assert_eq!(sns_subject(" \u{202e} "), "?");
        assert_eq!(sns_subject(""), "meli-radar");
    }
}
