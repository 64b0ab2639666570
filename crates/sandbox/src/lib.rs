//! `meli-sandbox`: a simulated Mercado Libre marketplace speaking the api.mercadolibre.com HTTP API.
//!
//! It serves the same paths, methods, status codes and body shapes as the real API (see
//! `docs/sandbox.md` and the fixtures under `tests/fixtures/meli/`) over a deterministic market:
//! category trees for MLB, MLA and MLM, products whose latent demand follows a process (steady,
//! seasonal, breakout, fading, newcomer), promotions that move prices, offers, reviews that grow
//! with sales and weekly search trends. The best-seller list of a category is its top 20 by sales
//! in the last 24 simulated hours, and `/_sandbox/truth` tells what that ranking really is.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sandbox = meli_sandbox::spawn(meli_sandbox::SandboxConfig::default()).await?;
//! let base = sandbox.base_url(); // http://127.0.0.1:PORT
//! sandbox.state().advance(chrono::Duration::hours(6));
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Layout:
//! - [`config`]: `SandboxConfig`, scenarios, faults, items access, default credentials.
//! - [`catalog`]: sites, category trees, product templates (static data).
//! - [`market`]: the generated market and the demand processes.
//! - [`sim`]: the clock and the tick cache (sales, 24 h windows, rankings, truth).
//! - [`auth`]: OAuth tokens, codes and single-use refresh tokens.
//! - [`render`]: response bodies; [`trends`]: weekly keywords.
//! - [`routes`]: the router, bearer auth, rate limit and the fault-injection layer.
//! - [`state`]: `SandboxState`, the shared state.

#![recursion_limit = "512"]

pub mod auth;
pub mod catalog;
pub mod config;
pub mod errors;
pub mod market;
pub mod render;
pub mod routes;
pub mod sim;
pub mod state;
pub mod trends;

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use catalog::default_demo_categories;
pub use config::{
    FaultConfig, ItemsAccess, SandboxConfig, Scenario, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_USER_ID,
};
pub use routes::app;
pub use sim::{Truth, TruthEntry};
pub use state::{SandboxState, Stats, TruthError};

/// Serves the sandbox on `listener` until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    state: SandboxState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}

/// A sandbox running on `127.0.0.1` in the background. Stops on `shutdown().await` or on drop.
#[derive(Debug)]
pub struct SandboxHandle {
    addr: SocketAddr,
    state: SandboxState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl SandboxHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (clock, stats, truth).
    pub fn state(&self) -> &SandboxState {
        &self.state
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // Open keep-alive connections may hold the graceful shutdown; do not wait forever.
            let abort = task.abort_handle();
            if tokio::time::timeout(std::time::Duration::from_secs(2), task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Starts a sandbox for `config` on `127.0.0.1:0` (needs a Tokio runtime).
pub async fn spawn(config: SandboxConfig) -> std::io::Result<SandboxHandle> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let state = SandboxState::new(config);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(run(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    Ok(SandboxHandle { addr, state, stop: Some(tx), task: Some(task) })
}
