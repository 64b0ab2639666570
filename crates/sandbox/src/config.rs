//! The sandbox's configuration: one plain struct with defaults that make runs reproducible.

use std::fmt;
use std::str::FromStr;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};

/// Default test app: `client_id`.
pub const DEFAULT_CLIENT_ID: &str = "sandbox-app";
/// Default test app: `client_secret` (a test credential, not a secret of anyone).
pub const DEFAULT_CLIENT_SECRET: &str = "sandbox-secret";
/// The seller account that authorizes the default app (owner of a few listings in the market).
pub const DEFAULT_USER_ID: u64 = 241_108_635;

/// Named markets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scenario {
    /// The ordinary market.
    #[default]
    Default,
    /// Some products carry hostile titles and brands (markup, mentions, very long, RTL, emoji),
    /// for the escaping tests of the channels.
    Hostile,
    /// More breakouts, newcomers and noise: lists churn faster (for alert-rule tests).
    Volatile,
}

impl Scenario {
    /// The flag spelling.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Default => "default",
            Scenario::Hostile => "hostile",
            Scenario::Volatile => "volatile",
        }
    }
}

/// An unknown scenario name.
#[derive(Debug, thiserror::Error)]
#[error("unknown scenario {0:?} (expected default, hostile or volatile)")]
pub struct UnknownScenario(pub String);

impl FromStr for Scenario {
    type Err = UnknownScenario;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "default" => Ok(Scenario::Default),
            "hostile" => Ok(Scenario::Hostile),
            "volatile" => Ok(Scenario::Volatile),
            _ => Err(UnknownScenario(s.to_string())),
        }
    }
}

/// Who may read `/items` of sellers other than the token's user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ItemsAccess {
    /// As for non-certified apps in 2026: other sellers' items answer 403 `access_denied`.
    #[default]
    OwnerOnly,
    /// Every item answers 200 (with referential `sold_quantity`/`available_quantity`).
    Open,
}

/// Fault injection: each field is the probability that a request (outside `/_sandbox`) gets that
/// fault. Decisions are deterministic from the seed, the simulated tick and the request (method,
/// path and query, and how many times the same request came before in the tick), not from how
/// concurrent requests interleave.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// 500 `internal_server_error`.
    pub error_500: f64,
    /// 503 `service_unavailable`.
    pub error_503: f64,
    /// The response is delayed by `slow_delay`.
    pub slow: f64,
    /// The connection is dropped before a complete response.
    pub drop: f64,
    /// A 200 whose JSON body is cut in half (with a matching `Content-Length`).
    pub truncated: f64,
    /// A 200 whose body is not valid JSON.
    pub malformed: f64,
    /// How long a slow response waits (real time).
    pub slow_delay: StdDuration,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            error_500: 0.0,
            error_503: 0.0,
            slow: 0.0,
            drop: 0.0,
            truncated: 0.0,
            malformed: 0.0,
            slow_delay: StdDuration::from_millis(3000),
        }
    }
}

impl FaultConfig {
    /// `rate` spread evenly over the six kinds of fault.
    pub fn uniform(rate: f64) -> Self {
        let each = rate.clamp(0.0, 1.0) / 6.0;
        FaultConfig {
            error_500: each,
            error_503: each,
            slow: each,
            drop: each,
            truncated: each,
            malformed: each,
            ..FaultConfig::default()
        }
    }

    /// The total probability of any fault.
    pub fn total(&self) -> f64 {
        self.error_500 + self.error_503 + self.slow + self.drop + self.truncated + self.malformed
    }
}

/// Everything the sandbox can be told. `Default` is the reproducible test market.
#[derive(Clone)]
pub struct SandboxConfig {
    /// Seed of the market and of every generated token and fault decision.
    pub seed: u64,
    /// Simulated seconds per real second; 0 = the clock only moves through `advance`.
    pub speed: f64,
    /// Which market.
    pub scenario: Scenario,
    /// Requests per second per app (token bucket, by the token's client id); `None` = unlimited.
    pub rate_limit: Option<f64>,
    /// Fault injection (default: none).
    pub faults: FaultConfig,
    /// The test app's id.
    pub client_id: String,
    /// The test app's secret. Never printed by `Debug`.
    pub client_secret: String,
    /// Whether the app may use the `client_credentials` grant.
    pub allow_client_credentials: bool,
    /// The seller that authorizes the app (`authorization_code`); owns a few listings.
    pub user_id: u64,
    /// Simulated time at which the sandbox starts.
    pub start: DateTime<Utc>,
    /// Categories whose `/highlights` answer 403 PolicyAgent.
    pub forbidden_categories: Vec<String>,
    /// Access to other sellers' items.
    pub items_access: ItemsAccess,
    /// Lifetime of an access token in simulated time.
    pub access_token_ttl: Duration,
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("seed", &self.seed)
            .field("speed", &self.speed)
            .field("scenario", &self.scenario)
            .field("rate_limit", &self.rate_limit)
            .field("faults", &self.faults)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("allow_client_credentials", &self.allow_client_credentials)
            .field("user_id", &self.user_id)
            .field("start", &self.start)
            .field("forbidden_categories", &self.forbidden_categories)
            .field("items_access", &self.items_access)
            .field("access_token_ttl", &self.access_token_ttl)
            .finish()
    }
}

/// The default simulated start: Monday 2026-11-02T00:00:00Z.
pub fn default_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            seed: 42,
            speed: 0.0,
            scenario: Scenario::Default,
            rate_limit: None,
            faults: FaultConfig::default(),
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: DEFAULT_CLIENT_SECRET.to_string(),
            allow_client_credentials: true,
            user_id: DEFAULT_USER_ID,
            start: default_start(),
            forbidden_categories: Vec::new(),
            items_access: ItemsAccess::OwnerOnly,
            access_token_ttl: Duration::hours(6),
        }
    }
}
