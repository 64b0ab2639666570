//! `meli-core`: the domain of meli-radar, with no I/O.
//!
//! Everything here is pure or written against ports (traits); adapters live in `meli-http`,
//! `meli-aws` and `meli-local`. This crate has no `aws-*`, no `reqwest` and no Tokio runtime, so its
//! tests compile in seconds (the Makefile's `check-core-deps` keeps it so).
//!
//! Layout:
//! - [`ids`]: parsed identifiers (`SiteId`, `CategoryId`, `EntryId`, `Position`, `EntryType`).
//! - [`site`]: per-site facts (currency, language, domain) used by rendering.
//! - [`snapshot`]: a best-seller list at a time, with what was resolved about each entry.
//! - [`keys`]: the single-table keys of DESIGN §4, built in one place.
//! - [`store`]: the `SnapshotStore` port, its in-memory fake and the shared contract suite.
//! - [`source`]: the `MarketplaceSource` port (what the fetch step asks Mercado Libre) and its errors.
//! - [`stream`]: the DynamoDB Streams record codec shared by the change feed and the Lambdas.
//! - [`names`]: product names (title, brand, link) live in the product items: kept there by whoever
//!   stores a snapshot ([`names::store_snapshot`]), joined by whoever shows them.
//! - [`fetch`]: the fetch step (highlights → resolved snapshot items, within the API budget).
//! - [`signals`]: trend signals and events, pure functions (spec: `docs/signals.md`), and the stored
//!   item types; [`score_step`]: the scoring step over a `SnapshotStore`.
//! - [`notify`]: alert rules, per-channel escaping, localized rendering, the outbox and the notify step
//!   (spec: `docs/alerts.md`), with the publisher ports.
//! - [`auth`]: the `TokenStore` port (compare-and-swap: refresh tokens are single use).
//! - [`pipeline`]: stream batches through the steps (partial batch failures), for Lambdas and runner.
//! - [`clock`]: the `Clock` port (system and manual clocks).
//! - [`billing`]: what DynamoDB on-demand would bill for a store's operations (a meter).

pub mod auth;
pub mod billing;
pub mod clock;
pub mod ddb_json;
pub mod fetch;
pub mod ids;
pub mod keys;
pub mod names;
pub mod notify;
pub mod pipeline;
pub mod score_step;
pub mod signals;
pub mod site;
pub mod snapshot;
pub mod source;
pub mod store;
pub mod stream;

pub use ids::{CategoryId, EntryId, EntryType, IdError, Position, SiteId};
pub use snapshot::{EntryResolution, Snapshot, SnapshotEntry};
