//! The SDK configuration, loaded once per process from the standard sources (environment, profile,
//! the Lambda role's credentials). `AWS_ENDPOINT_URL` is honoured by every client built from it, which
//! is how the moto tier and `make invoke-fetcher` reach a local server.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::Builder;

/// Loads the shared configuration (region, credentials, endpoint, retry and timeouts) with the one
/// HTTP client every SDK client built from it uses ([`http_client`]).
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client()).load().await
}

/// The SDK's HTTP client: hyper 1 with rustls 0.23 on `ring`, the stack reqwest (meli-http) already
/// links, and the platform's root certificates (loaded when the first client first connects).
///
/// The SDK crates are built without an HTTPS client feature (root `Cargo.toml`): their `rustls`
/// feature is the legacy hyper 0.14 / rustls 0.21 stack and `default-https-client` is rustls on
/// aws-lc-rs, either one a second TLS stack in every Lambda zip. A configuration that does not come
/// from [`load`] therefore has no HTTP client, and its requests fail with "no HTTP client".
pub fn http_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// The three clients the functions use, built from one configuration.
#[derive(Debug, Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl Clients {
    pub fn new(config: &SdkConfig) -> Self {
        Clients {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
        }
    }
}
