//! `meli-local`: meli-radar on one machine.
//!
//! Layout:
//! - [`store`]: `EmbeddedSnapshotStore`, the single table in SQLite with a DynamoDB-Streams-shaped
//!   change feed.

pub mod store;

pub use store::EmbeddedSnapshotStore;
