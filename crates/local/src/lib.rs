//! `meli-local`: meli-radar on one machine.
//!
//! Layout:
//! - [`store`]: `EmbeddedSnapshotStore`, the single table in SQLite with a DynamoDB-Streams-shaped
//!   change feed.
//! - [`runner`]: the in-process pipeline (fetch step, then the change feed through the scorer).
//! - [`cli`], [`demo`]: the `meli-radar` commands; [`render`]: what they print.
//! - [`commands`]: the commands that call the API (`fetch`, `probe`, `auth`, `decode`).
//! - [`secrets`]: the local secrets file (mode 0600).
//! - [`config`]: the one place the environment is read.

pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod export;
pub mod notify;
pub mod render;
pub mod report;
pub mod runner;
pub mod secrets;
pub mod store;
pub mod subscribe;

pub use store::EmbeddedSnapshotStore;
