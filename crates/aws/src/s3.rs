//! [`S3ReportSink`]: the digest's HTML reports in a private S3 bucket, linked with presigned GET URLs
//! (the `ReportSink` port of meli-core; docs/report.md, "In AWS").
//!
//! - `PutObject` of the page with `Content-Type: text/html; charset=utf-8`, server-side encryption
//!   (`aws:kms` with the module's key when one is configured — naming the key matters: `aws:kms`
//!   alone would use the account's `aws/s3` key, not the bucket's — else `AES256`), and a short
//!   private cache lifetime;
//! - a presigned `GetObject` URL that expires after the configured time, at most seven days (the
//!   SigV4 limit). A presigned URL is also bound to the credentials that signed it: signed with a
//!   role's temporary credentials (a Lambda's), it stops working when they expire, whatever its own
//!   expiry says (docs/report.md).
//!
//! The URL is a bearer token for one page: it is returned to the digest and never logged or put in
//! an error here.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use aws_sdk_s3::Client;
use meli_core::notify::{NotifyError, ReportSink};

use crate::error::{classify, Class};

/// The longest a presigned URL may live (SigV4: seven days).
pub const MAX_LINK_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// The content type of every report.
pub const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// Codes that mean the sink itself is not set up right (bucket, permissions, key).
const CONFIG_CODES: &[&str] = &[
    "AccessDenied",
    "NoSuchBucket",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "KMS.NotFoundException",
    "KMS.DisabledException",
    "KMS.KMSInvalidStateException",
    "KMSAccessDenied",
];

/// The reports bucket.
#[derive(Debug, Clone)]
pub struct S3ReportSink {
    client: Client,
    bucket: String,
    kms_key: Option<String>,
    expiry: Duration,
}

/// An S3 client from the shared configuration. With `AWS_ENDPOINT_URL` set (a local server such as
/// moto) requests use path-style addresses (`http://host:port/bucket/key`), since the server's name
/// cannot take a bucket subdomain; against AWS, virtual-hosted addresses as usual.
pub fn client(config: &SdkConfig) -> Client {
    let s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some()).build();
    Client::from_conf(s3)
}

fn notify_error<E>(
    what: &str,
    err: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> NotifyError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = crate::error::code(&err).unwrap_or("").to_string();
    match classify(&err) {
        Class::Throttled | Class::Unavailable => NotifyError::Transient {
            reason: format!("S3 {what}: {}", if code.is_empty() { "unavailable" } else { &code }),
            retry_after_secs: None,
            source: Some(Box::new(err)),
        },
        Class::Rejected(detail) if CONFIG_CODES.contains(&code.as_str()) => {
            NotifyError::Config { reason: format!("S3 {what}: {detail}"), source: Some(Box::new(err)) }
        }
        Class::Rejected(detail) => {
            NotifyError::Rejected { reason: format!("S3 {what}: {detail}"), source: Some(Box::new(err)) }
        }
        Class::Other => NotifyError::Rejected { reason: format!("S3 {what} failed"), source: Some(Box::new(err)) },
    }
}

impl S3ReportSink {
    /// A sink on `bucket`; `kms_key` is the KMS key (id or ARN) objects are encrypted with (`None`:
    /// S3-managed keys); `expiry` is the links' lifetime, 1 second to [`MAX_LINK_EXPIRY`].
    pub fn new(
        client: Client,
        bucket: impl Into<String>,
        kms_key: Option<String>,
        expiry: Duration,
    ) -> Result<Self, NotifyError> {
        if expiry.is_zero() || expiry > MAX_LINK_EXPIRY {
            return Err(NotifyError::Config {
                reason: format!("a report link must expire within 1 s and 7 days, not {} s", expiry.as_secs()),
                source: None,
            });
        }
        Ok(S3ReportSink { client, bucket: bucket.into(), kms_key, expiry })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn expiry(&self) -> Duration {
        self.expiry
    }

    /// Stores the page under `key` (replacing it), encrypted.
    pub async fn put(&self, key: &str, html: &str) -> Result<(), NotifyError> {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(HTML_CONTENT_TYPE)
            .cache_control("private, max-age=300")
            .body(ByteStream::from(html.as_bytes().to_vec()));
        req = match &self.kms_key {
            Some(k) => {
                req.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id(k).bucket_key_enabled(true)
            }
            None => req.server_side_encryption(ServerSideEncryption::Aes256),
        };
        req.send().await.map_err(|e| notify_error("PutObject", e))?;
        Ok(())
    }

    /// A presigned GET URL of `key`, valid for the configured expiry (signing is local: no request).
    pub async fn presign(&self, key: &str) -> Result<String, NotifyError> {
        let cfg = PresigningConfig::expires_in(self.expiry).map_err(|e| NotifyError::Config {
            reason: "invalid presigning configuration".into(),
            source: Some(Box::new(e)),
        })?;
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(cfg)
            .await
            .map_err(|e| notify_error("presign GetObject", e))?;
        Ok(req.uri().to_string())
    }
}

#[async_trait::async_trait]
impl ReportSink for S3ReportSink {
    async fn publish(&self, key: &str, html: &str) -> Result<String, NotifyError> {
        self.put(key, html).await?;
        self.presign(key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline_client() -> Client {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
            .build();
        Client::from_conf(conf)
    }

    #[test]
    fn the_expiry_is_bounded_by_sigv4() {
        assert!(S3ReportSink::new(offline_client(), "b", None, MAX_LINK_EXPIRY).is_ok());
        for bad in [Duration::ZERO, MAX_LINK_EXPIRY + Duration::from_secs(1)] {
            assert!(matches!(S3ReportSink::new(offline_client(), "b", None, bad), Err(NotifyError::Config { .. })));
        }
    }

    #[tokio::test]
    async fn presigned_urls_carry_the_expiry_and_a_signature() {
        let sink = S3ReportSink::new(offline_client(), "meli-reports", None, MAX_LINK_EXPIRY).unwrap();
        let url = sink.presign("reports/MLB/2026-11-29/MLB1055.html").await.unwrap();
        assert!(url.starts_with("https://meli-reports.s3.us-east-1.amazonaws.com/reports/MLB/2026-11-29/MLB1055.html?"));
        assert!(url.contains("X-Amz-Expires=604800"), "{url}");
        assert!(url.contains("X-Amz-Signature=") && url.contains("X-Amz-Algorithm=AWS4-HMAC-SHA256"));
        // Safe for the digest's links (http(s), no characters that end a link or an attribute).
        assert_eq!(meli_core::notify::escape::safe_link_max(&url, 3000).as_deref(), Some(url.as_str()));
    }

    #[tokio::test]
    async fn a_link_signed_with_a_role_session_fits_the_digest() {
        // A Lambda role's session token is about 1,100 base64 characters ('/', '+' and '=' included),
        // which the URL percent-encodes; the link must stay under the digest's 3,000 (Slack's limit).
        let token: String = "IQoJb3JpZ2luX2VjE/+=".chars().cycle().take(1100).collect();
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("sa-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "ASIAEXAMPLEEXAMPLE00",
                "secret",
                Some(token),
                None,
                "test",
            ))
            .build();
        let sink = S3ReportSink::new(
            Client::from_conf(conf),
            "meli-radar-reports-123456789012-sa-east-1",
            None,
            MAX_LINK_EXPIRY,
        )
        .unwrap();
        let url = sink.presign("reports/MLB/2026-11-29/MLB1055.html").await.unwrap();
        assert!(url.contains("X-Amz-Security-Token="), "{url}");
        eprintln!("a presigned report link with a 1,100-character session token: {} characters", url.len());
        assert!(url.len() < 3000, "{} characters", url.len());
        assert!(meli_core::notify::escape::safe_link_max(&url, 3000).is_some());
    }
}
