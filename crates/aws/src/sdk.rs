//! The SDK configuration, loaded once per process from the standard sources (environment, profile,
//! the Lambda role's credentials). `AWS_ENDPOINT_URL` is honoured by every client built from it, which
//! is how the moto tier and `make invoke-fetcher` reach a local server.

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the shared configuration (region, credentials, endpoint, retry and timeouts).
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
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
