//! The one HTTP classifier: status, headers and body of a failed answer → [`SourceError`].
//!
//! Whether the error is worth retrying is then `SourceError::is_transient` (meli-core), and nothing
//! else decides. The rules, from meli-api.md §1 and §10.2:
//!
//! | answer | error |
//! |---|---|
//! | 404 `Dimension CATEGORY with id … not found` | `NoList` (the category has no best-seller list) |
//! | other 404 | `NotFound` |
//! | 403 with `x-cache: Error from cloudfront`, or the bare `{"error":"forbidden","message":"forbidden"}` body | `Forbidden(CloudFront)` |
//! | 403 `blocked_by: PolicyAgent` / `PA_UNAUTHORIZED_RESULT_FROM_POLICIES` | `Forbidden(PolicyAgent)` |
//! | 403 `access_denied` / `code: FORBIDDEN` | `Forbidden(AccessDenied)` |
//! | other 403 | `Forbidden(Other)` |
//! | 401 | `Unauthorized` |
//! | 429 | `RateLimited` (with `Retry-After` when sent) |
//! | 5xx | `Server` |
//! | other 4xx | `BadRequest` |

use std::time::Duration;

use meli_core::source::{ForbiddenKind, SourceError};
use serde::Serialize;

use crate::wire::ErrorWire;

/// Server-provided text kept in errors is cut to this many characters.
const MAX_MESSAGE: usize = 200;

/// The OAuth error codes of `POST /oauth/token` (meli-api.md §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorKind {
    /// The code or refresh token is expired or was already used (refresh tokens are single use).
    InvalidGrant,
    InvalidClient,
    InvalidScope,
    InvalidRequest,
    UnsupportedGrantType,
    UnauthorizedClient,
    UnauthorizedApplication,
    Other,
}

impl OAuthErrorKind {
    pub fn parse(code: &str) -> Option<Self> {
        Some(match code {
            "invalid_grant" => OAuthErrorKind::InvalidGrant,
            "invalid_client" => OAuthErrorKind::InvalidClient,
            "invalid_scope" => OAuthErrorKind::InvalidScope,
            "invalid_request" => OAuthErrorKind::InvalidRequest,
            "unsupported_grant_type" => OAuthErrorKind::UnsupportedGrantType,
            "unauthorized_client" => OAuthErrorKind::UnauthorizedClient,
            "unauthorized_application" => OAuthErrorKind::UnauthorizedApplication,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OAuthErrorKind::InvalidGrant => "invalid_grant",
            OAuthErrorKind::InvalidClient => "invalid_client",
            OAuthErrorKind::InvalidScope => "invalid_scope",
            OAuthErrorKind::InvalidRequest => "invalid_request",
            OAuthErrorKind::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorKind::UnauthorizedClient => "unauthorized_client",
            OAuthErrorKind::UnauthorizedApplication => "unauthorized_application",
            OAuthErrorKind::Other => "other",
        }
    }
}

impl std::fmt::Display for OAuthErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the classifier reads besides the body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorContext {
    /// The `x-cache` header said `Error from cloudfront`.
    pub cloudfront: bool,
    /// The `Retry-After` header, when present and readable.
    pub retry_after: Option<Duration>,
}

impl ErrorContext {
    pub fn from_headers(headers: &reqwest::header::HeaderMap) -> Self {
        let cloudfront = headers
            .get_all("x-cache")
            .iter()
            .any(|v| v.to_str().is_ok_and(|s| s.to_ascii_lowercase().contains("error from cloudfront")));
        let retry_after =
            headers.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        ErrorContext { cloudfront, retry_after }
    }
}

/// `Retry-After` in delta-seconds (the HTTP-date form is not used by this API; it is ignored). Capped
/// at ten minutes so a confused server cannot park a worker.
pub fn parse_retry_after(s: &str) -> Option<Duration> {
    let secs: f64 = s.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(600.0)))
}

/// Cuts server text to a bounded, single-line message.
pub(crate) fn short(s: &str) -> String {
    let one_line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let t = one_line.trim();
    if t.chars().count() > MAX_MESSAGE {
        let mut cut: String = t.chars().take(MAX_MESSAGE).collect();
        cut.push('…');
        cut
    } else {
        t.to_string()
    }
}

/// The parsed error body; an unreadable body is an empty one (the status still classifies it).
pub fn parse_error_body(body: &[u8]) -> ErrorWire {
    serde_json::from_slice::<ErrorWire>(body).unwrap_or_default()
}

fn message_of(w: &ErrorWire) -> String {
    let text = w.message.as_deref().or(w.error_description.as_deref()).or(w.error.as_deref()).unwrap_or("");
    let code = w.error.as_deref().or(w.code.as_ref().and_then(|c| match c {
        crate::wire::NumOrStr::Str(s) => Some(s.as_str()),
        crate::wire::NumOrStr::Num(_) => None,
    }));
    match code {
        Some(code) if !text.is_empty() && code != text => short(&format!("{code}: {text}")),
        _ => short(text),
    }
}

fn is_no_list(w: &ErrorWire) -> bool {
    [w.message.as_deref(), w.error.as_deref(), w.error_description.as_deref()].into_iter().flatten().any(|m| {
        let m = m.to_ascii_lowercase();
        m.contains("dimension category") && m.contains("not found")
    })
}

fn forbidden_kind(w: &ErrorWire, ctx: &ErrorContext) -> ForbiddenKind {
    let code = w.code.as_ref().map(|c| c.as_text()).unwrap_or_default();
    let error = w.error.as_deref().unwrap_or("");
    if ctx.cloudfront {
        ForbiddenKind::CloudFront
    } else if w.blocked_by.as_deref().is_some_and(|b| b.eq_ignore_ascii_case("PolicyAgent"))
        || code.starts_with("PA_UNAUTHORIZED")
        || error.starts_with("PA_UNAUTHORIZED")
    {
        ForbiddenKind::PolicyAgent
    } else if error.eq_ignore_ascii_case("access_denied") || code.eq_ignore_ascii_case("FORBIDDEN") {
        ForbiddenKind::AccessDenied
    } else if error.eq_ignore_ascii_case("forbidden")
        && w.message.as_deref().is_some_and(|m| m.eq_ignore_ascii_case("forbidden"))
    {
        // The CloudFront/WAF body, when the header was lost on the way (meli-api.md §3.2).
        ForbiddenKind::CloudFront
    } else {
        ForbiddenKind::Other
    }
}

/// Classifies a non-2xx answer.
pub fn classify(status: u16, ctx: &ErrorContext, body: &[u8]) -> SourceError {
    let w = parse_error_body(body);
    classify_parsed(status, ctx, &w)
}

pub(crate) fn classify_parsed(status: u16, ctx: &ErrorContext, w: &ErrorWire) -> SourceError {
    match status {
        404 if is_no_list(w) => SourceError::NoList,
        404 => SourceError::NotFound,
        403 => SourceError::Forbidden { kind: forbidden_kind(w, ctx), message: message_of(w) },
        401 => SourceError::Unauthorized { message: message_of(w) },
        429 => SourceError::RateLimited { retry_after: ctx.retry_after },
        500..=599 => SourceError::Server { status },
        _ => SourceError::BadRequest { status, message: message_of(w) },
    }
}

/// The OAuth error code of a token-endpoint error body, if it has one.
pub fn oauth_error(body: &[u8]) -> Option<OAuthErrorKind> {
    let w = parse_error_body(body);
    w.error.as_deref().map(|e| OAuthErrorKind::parse(e).unwrap_or(OAuthErrorKind::Other))
}

/// The status an error body states about itself (`status`, or a numeric `code`).
pub fn stated_status(w: &ErrorWire) -> Option<u16> {
    w.status.as_ref().and_then(|s| s.as_status()).or_else(|| w.code.as_ref().and_then(|c| c.as_status()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: u16, body: &str) -> SourceError {
        classify(status, &ErrorContext::default(), body.as_bytes())
    }

    #[test]
    fn kinds() {
        assert_eq!(
            c(404, r#"{"message":"Dimension CATEGORY with id MLB1 not found","error":"not_found","status":404}"#),
            SourceError::NoList
        );
        assert_eq!(c(404, r#"{"message":"item with id MLB1 not found","error":"not_found"}"#), SourceError::NotFound);
        assert_eq!(c(404, "<html>"), SourceError::NotFound);
        assert_eq!(c(503, ""), SourceError::Server { status: 503 });
        assert_eq!(c(429, "{}"), SourceError::RateLimited { retry_after: None });
        let cf = classify(403, &ErrorContext { cloudfront: true, retry_after: None }, b"<html>blocked</html>");
        assert!(matches!(cf, SourceError::Forbidden { kind: ForbiddenKind::CloudFront, .. }));
        let body = r#"{"message":"forbidden","error":"forbidden","status":403,"cause":[]}"#;
        assert!(matches!(c(403, body), SourceError::Forbidden { kind: ForbiddenKind::CloudFront, .. }));
        assert!(matches!(c(403, "{}"), SourceError::Forbidden { kind: ForbiddenKind::Other, .. }));
        assert!(matches!(c(418, "{}"), SourceError::BadRequest { status: 418, .. }));
    }

    #[test]
    fn retry_after_and_messages() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("86400"), Some(Duration::from_secs(600)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("-1"), None);
        let long = format!(r#"{{"message":"{}","error":"x"}}"#, "a\n".repeat(500));
        let SourceError::Unauthorized { message } = c(401, &long) else { panic!() };
        assert!(message.chars().count() <= MAX_MESSAGE + 1 && !message.contains('\n'));
    }
}
