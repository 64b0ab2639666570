//! The one classifier of AWS SDK failures: every adapter in this crate turns an `SdkError` into its
//! port's error through [`classify`], so "transient or not" is decided here and nowhere else.
//!
//! - timeouts, connection failures, unparseable responses and 5xx answers → unavailable (transient);
//! - the services' throttling codes → throttled (transient);
//! - validation and other 4xx codes → rejected (permanent, the request itself is wrong);
//! - anything else → backend (permanent).

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// Error codes that mean "slow down", across DynamoDB, SNS, Secrets Manager and KMS.
pub const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "KMSThrottlingException",
    "SlowDown",
];

/// Error codes that are worth retrying later even though they are not throttling.
pub const TRANSIENT_CODES: &[&str] = &[
    "InternalServerError",
    "InternalFailure",
    "InternalFailureException",
    "InternalServiceError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "TransactionConflictException",
    "KMSInternalException",
];

/// What kind of failure an SDK error is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    Throttled,
    Unavailable,
    /// The service refused the request (validation, not found, access denied...); `code: message`.
    Rejected(String),
    Other,
}

impl Class {
    pub fn is_transient(&self) -> bool {
        matches!(self, Class::Throttled | Class::Unavailable)
    }
}

/// Classifies an SDK error by its kind, its error code and its HTTP status.
pub fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Class {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => Class::Unavailable,
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("");
            let status = se.raw().status().as_u16();
            if THROTTLING_CODES.contains(&code) || status == 429 {
                Class::Throttled
            } else if TRANSIENT_CODES.contains(&code) || status >= 500 {
                Class::Unavailable
            } else if (400..500).contains(&status) {
                let message = se.err().message().unwrap_or("");
                Class::Rejected(format!("{code}: {message}"))
            } else {
                Class::Other
            }
        }
        _ => Class::Other,
    }
}

/// The error code of a service error, if it is one.
pub fn code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    match err {
        SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    }
}
