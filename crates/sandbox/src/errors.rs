//! Error answers, with the bodies the real API sends (see the fixtures in `tests/fixtures/meli/errors`).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// 400 with the standard body.
    BadRequest(String),
    /// 400 `Malformed access_token: ...`.
    MalformedToken(String),
    /// 401: no token.
    MissingToken,
    /// 401: unknown or expired token.
    InvalidToken,
    /// 403 PolicyAgent, with the request path.
    PolicyAgent(String),
    /// 403 `access_denied` (another seller's resource).
    AccessDenied,
    /// 403 CloudFront (closed endpoints such as `/sites/{site}/search`).
    CloudFront,
    /// 404 with the standard body.
    NotFound(String),
    /// 404 for unknown routes.
    RouteNotFound(String),
    /// 405.
    MethodNotAllowed,
    /// 429.
    TooManyRequests,
    /// 400 OAuth error (`invalid_grant`, `invalid_client`, ...).
    OAuth { error: &'static str, description: String },
    /// 500 injected.
    Internal,
    /// 503 injected.
    Unavailable,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::MalformedToken(_) | ApiError::OAuth { .. } => StatusCode::BAD_REQUEST,
            ApiError::MissingToken | ApiError::InvalidToken => StatusCode::UNAUTHORIZED,
            ApiError::PolicyAgent(_) | ApiError::AccessDenied | ApiError::CloudFront => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::RouteNotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let status = self.status().as_u16();
        let std =
            |message: &str, error: &str| json!({"message": message, "error": error, "status": status, "cause": []});
        match self {
            ApiError::BadRequest(m) => std(m, "bad_request"),
            ApiError::MalformedToken(t) => std(&format!("Malformed access_token: {t}"), "bad_request"),
            ApiError::MissingToken => json!({
                "code": 401, "error": "unauthorized_request_error", "message": "Invalid caller.id",
                "status": 401, "cause": null
            }),
            ApiError::InvalidToken => json!({
                "code": 401, "error": "invalid_token", "message": "invalid access token",
                "status": 401, "cause": []
            }),
            ApiError::PolicyAgent(path) => json!({
                "code": "PA_UNAUTHORIZED_RESULT_FROM_POLICIES", "blocked_by": "PolicyAgent",
                "message": "At least one policy returned UNAUTHORIZED.", "status": 403, "path": path
            }),
            ApiError::AccessDenied => json!({
                "status": 403, "error": "access_denied",
                "message": "access to the requested resource is forbidden", "code": "FORBIDDEN"
            }),
            ApiError::CloudFront => std("forbidden", "forbidden"),
            ApiError::NotFound(m) => std(m, "not_found"),
            ApiError::RouteNotFound(path) => std(&format!("Route not found: {path}"), "resource not found"),
            ApiError::MethodNotAllowed => std("Method not allowed", "method_not_allowed"),
            ApiError::TooManyRequests => std("Too Many Requests", "too_many_requests"),
            ApiError::OAuth { error, description } => json!({
                "error_description": description, "message": description, "error": error,
                "status": 400, "cause": []
            }),
            ApiError::Internal => std("Internal server error", "internal_server_error"),
            ApiError::Unavailable => std("Service unavailable", "service_unavailable"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status(), axum::Json(self.body())).into_response();
        if self == ApiError::CloudFront {
            resp.headers_mut().insert("x-cache", HeaderValue::from_static("Error from cloudfront"));
        }
        resp
    }
}
