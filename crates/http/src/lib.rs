//! `meli-http`: the Mercado Libre API client (auth, rate limit, retries, decoders).
//!
//! Layout:
//! - [`config`]: `Config::from_env()` — the only place that reads the environment.
//! - [`client`]: [`MeliClient`], the `MarketplaceSource` over HTTP, plus the other endpoints, OAuth
//!   (client credentials, authorization code, single-flight refresh through the token store) and
//!   the request pipeline (rate limiter → token → HTTP → classify → retry).
//! - [`wire`]: the JSON bodies as they come; [`convert`]: wire → domain with `TryFrom`, in one place.
//! - [`decode`]: bytes → domain for every endpoint, and `decode(kind, body)` for `meli-radar decode`.
//! - [`classify`]: the one HTTP classifier (status, headers, body → `SourceError`).
//! - [`limiter`]: the process-wide token bucket; [`retry`]: backoff, jitter and deadline arithmetic.
//! - [`counters`]: calls, requests, retries and errors per endpoint ([`ApiCounters`]).
//! - [`model`]: domain types of the endpoints the core port does not cover (categories, trends, probe).
//! - [`slack`]: the Slack incoming-webhook publisher.

pub mod classify;
pub mod client;
pub mod config;
pub mod convert;
pub mod counters;
pub mod decode;
pub mod limiter;
pub mod model;
pub mod retry;
pub mod slack;
pub mod wire;

pub use client::{AuthError, BuildError, ClientBuilder, MeliClient, TokenInfo};
pub use config::{Config, ConfigError, Grant};
pub use counters::{ApiCounters, Endpoint, EndpointCounts};
pub use decode::{decode, DecodeError};
pub use limiter::RateLimiter;
pub use retry::RetryPolicy;
