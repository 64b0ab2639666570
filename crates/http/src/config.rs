//! The client's configuration, read from the environment here and nowhere else.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `MELI_API_BASE_URL` | `https://api.mercadolibre.com` | API base (the sandbox's URL in tests and demos) |
//! | `MELI_CLIENT_ID` | required | the app's client id |
//! | `MELI_CLIENT_SECRET` | required | the app's client secret |
//! | `MELI_GRANT` | `client_credentials` | `client_credentials`, or `authorization_code` (a user token kept in the token store and refreshed) |
//! | `MELI_RATE_LIMIT_RPS` | `4.5` | request budget per second for the whole process (90 % of 18,000/h) |
//! | `MELI_RATE_LIMIT_BURST` | `5` | requests that may start at once |
//! | `MELI_HTTP_TIMEOUT_MS` | `10000` | timeout of one request |
//! | `MELI_HTTP_MAX_ATTEMPTS` | `4` | attempts per call, the first included |
//!
//! [`Config::from_env`] reports every bad or missing variable at once, each with what to set it to.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::retry::RetryPolicy;

pub const DEFAULT_BASE_URL: &str = "https://api.mercadolibre.com";
/// 90 % of the documented 18,000 requests/hour.
pub const DEFAULT_RATE_LIMIT_RPS: f64 = 18_000.0 / 3600.0 * 0.9;
pub const DEFAULT_RATE_LIMIT_BURST: f64 = 5.0;

/// How the client obtains its access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// An app token from `grant_type=client_credentials`, fetched again when it expires.
    ClientCredentials,
    /// A user token obtained once with `authorization_code` (see `MeliClient::exchange_code`), kept in
    /// the token store and refreshed with its single-use refresh token.
    AuthorizationCode,
}

/// The client's settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub base_url: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    pub grant: Grant,
    pub rate_limit_rps: f64,
    pub rate_limit_burst: f64,
    pub retry: RetryPolicy,
}

impl Config {
    /// A configuration with the defaults, for the given app.
    pub fn new(base_url: Url, client_id: impl Into<String>, client_secret: SecretString) -> Self {
        Config {
            base_url,
            client_id: client_id.into(),
            client_secret,
            grant: Grant::ClientCredentials,
            rate_limit_rps: DEFAULT_RATE_LIMIT_RPS,
            rate_limit_burst: DEFAULT_RATE_LIMIT_BURST,
            retry: RetryPolicy::default(),
        }
    }

    /// Reads the process environment.
    #[allow(clippy::disallowed_methods)] // the one place that reads the environment
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());

        let base_url = match get("MELI_API_BASE_URL") {
            None => Url::parse(DEFAULT_BASE_URL).ok(),
            Some(v) => match Url::parse(&v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Some(u),
                _ => {
                    problems.push(Problem::bad(
                        "MELI_API_BASE_URL",
                        &v,
                        "an http(s) URL such as https://api.mercadolibre.com",
                    ));
                    None
                }
            },
        };
        let client_id = get("MELI_CLIENT_ID");
        if client_id.is_none() {
            problems.push(Problem::missing(
                "MELI_CLIENT_ID",
                "your app's client id (DevCenter), or sandbox-app for the sandbox",
            ));
        }
        let client_secret = lookup("MELI_CLIENT_SECRET").filter(|v| !v.trim().is_empty()).map(SecretString::from);
        if client_secret.is_none() {
            problems.push(Problem::missing(
                "MELI_CLIENT_SECRET",
                "your app's client secret (DevCenter), or sandbox-secret for the sandbox",
            ));
        }
        let grant = match get("MELI_GRANT").as_deref() {
            None | Some("client_credentials") => Grant::ClientCredentials,
            Some("authorization_code") => Grant::AuthorizationCode,
            Some(other) => {
                problems.push(Problem::bad("MELI_GRANT", other, "client_credentials or authorization_code"));
                Grant::ClientCredentials
            }
        };
        let mut positive = |name: &'static str, default: f64, min: f64, what: &'static str| match get(name) {
            None => default,
            Some(v) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() && x >= min => x,
                _ => {
                    problems.push(Problem::bad(name, &v, what));
                    default
                }
            },
        };
        let rate_limit_rps = positive(
            "MELI_RATE_LIMIT_RPS",
            DEFAULT_RATE_LIMIT_RPS,
            0.001,
            "a number of requests per second > 0, such as 4.5",
        );
        let rate_limit_burst =
            positive("MELI_RATE_LIMIT_BURST", DEFAULT_RATE_LIMIT_BURST, 1.0, "a number ≥ 1, such as 5");
        let timeout_ms = positive("MELI_HTTP_TIMEOUT_MS", 10_000.0, 1.0, "milliseconds ≥ 1, such as 10000");
        let attempts = positive("MELI_HTTP_MAX_ATTEMPTS", 4.0, 1.0, "a whole number ≥ 1, such as 4");
        if attempts.fract() != 0.0 || attempts > 20.0 {
            problems.push(Problem::bad("MELI_HTTP_MAX_ATTEMPTS", &attempts.to_string(), "a whole number from 1 to 20"));
        }

        match (base_url, client_id, client_secret) {
            (Some(base_url), Some(client_id), Some(client_secret)) if problems.is_empty() => Ok(Config {
                base_url,
                client_id,
                client_secret,
                grant,
                rate_limit_rps,
                rate_limit_burst,
                retry: RetryPolicy {
                    max_attempts: attempts.clamp(1.0, 20.0) as u32,
                    request_timeout: Duration::from_millis(timeout_ms as u64),
                    ..RetryPolicy::default()
                },
            }),
            _ => Err(ConfigError { problems }),
        }
    }
}

/// One bad or missing variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub variable: &'static str,
    pub detail: String,
}

impl Problem {
    fn missing(variable: &'static str, what: &str) -> Self {
        Problem { variable, detail: format!("is not set; set it to {what}") }
    }
    fn bad(variable: &'static str, value: &str, what: &str) -> Self {
        Problem { variable, detail: format!("is {value:?}; set it to {what}") }
    }
}

/// Every problem of the environment, one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad Mercado Libre client configuration:{}", .problems.iter().map(|p| format!("\n  {} {}", p.variable, p.detail)).collect::<String>())]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = from(&[("MELI_CLIENT_ID", "app"), ("MELI_CLIENT_SECRET", "s3cret")]).unwrap();
        assert_eq!(c.base_url.as_str(), "https://api.mercadolibre.com/");
        assert_eq!(c.client_secret.expose_secret(), "s3cret");
        assert!((c.rate_limit_rps - 4.5).abs() < 1e-9);
        assert_eq!(c.grant, Grant::ClientCredentials);
        assert_eq!(c.retry.max_attempts, 4);
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn reports_every_problem_and_never_the_secret() {
        let e = from(&[
            ("MELI_API_BASE_URL", "ftp://x"),
            ("MELI_RATE_LIMIT_RPS", "-3"),
            ("MELI_GRANT", "password"),
            ("MELI_HTTP_MAX_ATTEMPTS", "2.5"),
        ])
        .unwrap_err();
        let vars: Vec<&str> = e.problems.iter().map(|p| p.variable).collect();
        assert_eq!(
            vars,
            [
                "MELI_API_BASE_URL",
                "MELI_CLIENT_ID",
                "MELI_CLIENT_SECRET",
                "MELI_GRANT",
                "MELI_RATE_LIMIT_RPS",
                "MELI_HTTP_MAX_ATTEMPTS"
            ]
        );
        let text = e.to_string();
        assert!(text.contains("MELI_CLIENT_SECRET is not set"), "{text}");
        let ok = from(&[("MELI_CLIENT_ID", "a"), ("MELI_CLIENT_SECRET", "top-secret-value"), ("MELI_GRANT", "nope")]);
        assert!(!ok.unwrap_err().to_string().contains("top-secret-value"));
    }
}
