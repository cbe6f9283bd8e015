//! Operating a registry: the debug address (health and Prometheus
//! metrics, as Distribution's `http.debug`), and shutdown with a drain
//! deadline (Distribution's `http.draintimeout`).

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State as AxumState;
use axum::http::{Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{bind, Registry, RegistryBuilder, RunningRegistry};
use crate::metrics::Tracker;
use crate::serve::Net;
use crate::state::State;
use crate::Error;

/// The default drain deadline: 20 s, so a drain ends within Kubernetes'
/// default 30 s grace period (which then kills the process), leaving time
/// for the storage to finish its last writes.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// The default interval between two measures of the storage's size: 60 s.
pub const DEFAULT_STORAGE_SIZE_INTERVAL: Duration = Duration::from_secs(60);

/// How long requests cut at the deadline get to close their connections
/// before the server stops waiting for them.
const CUT_GRACE: Duration = Duration::from_secs(2);

/// The settings of this module, one field of the registry's options.
#[derive(Debug, Clone)]
pub(crate) struct OpsOptions {
    pub(crate) debug_addr: Option<String>,
    pub(crate) metrics_path: Option<String>,
    pub(crate) drain_timeout: Duration,
    pub(crate) storage_size_interval: Duration,
}

impl Default for OpsOptions {
    fn default() -> Self {
        OpsOptions {
            debug_addr: None,
            metrics_path: Some("/metrics".into()),
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            storage_size_interval: DEFAULT_STORAGE_SIZE_INTERVAL,
        }
    }
}

impl RegistryBuilder {
    /// Serves the health check at `/debug/health` and the Prometheus
    /// metrics (see [`RegistryBuilder::metrics_path`]) on a second
    /// address, kept apart from the API as Distribution's
    /// `http.debug.addr`; default none. `127.0.0.1:0` picks a free port
    /// ([`RunningRegistry::debug_addr`] tells which).
    pub fn debug_addr(&mut self, addr: impl Into<String>) -> &mut Self {
        self.ops.debug_addr = Some(addr.into());
        self
    }

    /// Where the debug address serves the Prometheus text format; `None`
    /// serves no metrics. Default `/metrics` (Distribution's
    /// `http.debug.prometheus.path`).
    pub fn metrics_path(&mut self, path: Option<&str>) -> &mut Self {
        self.ops.metrics_path = path.map(str::to_owned);
        self
    }

    /// How long a shutdown lets requests in flight finish before it cuts
    /// them; default [`DEFAULT_DRAIN_TIMEOUT`].
    pub fn drain_timeout(&mut self, deadline: Duration) -> &mut Self {
        self.ops.drain_timeout = deadline;
        self
    }

    /// How old the storage size in the metrics may be: it is measured
    /// again (by walking the storage, see [`Storage::usage`]) at a scrape
    /// when the last measure is older; default
    /// [`DEFAULT_STORAGE_SIZE_INTERVAL`].
    ///
    /// [`Storage::usage`]: crate::Storage::usage
    pub fn storage_size_interval(&mut self, interval: Duration) -> &mut Self {
        self.ops.storage_size_interval = interval;
        self
    }
}

impl Registry {
    /// Checks that the storage takes a write and gives it back, as
    /// `/debug/health` does.
    ///
    /// # Errors
    /// The storage's error, or [`Error::StorageTimeout`].
    pub async fn check_health(&self) -> Result<(), Error> {
        crate::health::check(&self.state).await
    }

    /// The metrics in the Prometheus text format, as the debug address
    /// serves them.
    pub async fn metrics(&self) -> String {
        self.metrics.render(&self.state.storage).await
    }

    fn tracked(&self, cut: &CancellationToken) -> axum::Router {
        let tracker = Tracker {
            metrics: self.metrics.clone(),
            cut: cut.clone(),
        };
        // The limits answer before the routes; the tracker outside them
        // counts and logs their refusals too.
        crate::routes::router(self.state.clone())
            .layer(axum::middleware::from_fn_with_state(
                self.net.guard.clone(),
                crate::limits::enforce,
            ))
            .layer(axum::middleware::from_fn_with_state(
                tracker,
                crate::metrics::track,
            ))
    }

    /// The API on `listener`, and the debug address when configured.
    pub(super) async fn servers(&self, listener: TcpListener) -> Result<Servers, Error> {
        let cut = CancellationToken::new();
        let debug = match &self.ops.debug_addr {
            Some(addr) => {
                let l = bind(addr).await?;
                let local = l.local_addr().map_err(|source| Error::Bind {
                    addr: addr.clone(),
                    source,
                })?;
                Some((l, local))
            }
            None => None,
        };
        Ok(Servers {
            api: (listener, self.tracked(&cut), self.net.clone()),
            debug: debug.map(|(l, local)| (l, local, self.debug_router())),
            cut,
            drain: self.ops.drain_timeout,
        })
    }
}

impl Registry {
    fn debug_router(&self) -> axum::Router {
        // The metrics path is compared, not routed: any text an operator
        // writes is a valid path to compare, where axum's patterns would
        // read `{...}` or `*` as captures and refuse some paths.
        let metrics = self.metrics.clone();
        let path: Arc<Option<String>> = Arc::new(self.ops.metrics_path.clone());
        axum::Router::new()
            .route(
                "/debug/health",
                get(|AxumState(s): AxumState<Arc<State>>| crate::health::handle(s)),
            )
            .fallback(
                move |AxumState(s): AxumState<Arc<State>>, method: Method, uri: Uri| async move {
                    if method != Method::GET || path.as_deref() != Some(uri.path()) {
                        return StatusCode::NOT_FOUND.into_response();
                    }
                    (
                        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
                        metrics.render(&s.storage).await,
                    )
                        .into_response()
                },
            )
            .with_state(self.state.clone())
    }
}

/// The listeners of a registry, ready to serve.
pub(super) struct Servers {
    api: (TcpListener, axum::Router, Arc<Net>),
    debug: Option<(TcpListener, SocketAddr, axum::Router)>,
    cut: CancellationToken,
    pub(super) drain: Duration,
}

impl Servers {
    pub(super) fn debug_addr(&self) -> Option<SocketAddr> {
        self.debug.as_ref().map(|d| d.1)
    }

    /// Serves until `stop` completes with a deadline; then stops
    /// accepting, lets requests in flight finish until the deadline, and
    /// cuts those still running.
    pub(super) async fn run(
        self,
        stop: impl Future<Output = Duration> + Send,
    ) -> std::io::Result<()> {
        let graceful = CancellationToken::new();
        let graceful_api = graceful.clone();
        let (listener, router, net) = self.api;
        let api = async move {
            crate::serve::run(listener, router, net, graceful_api.cancelled_owned()).await;
            Ok::<(), std::io::Error>(())
        };
        let debug = self.debug.map(|(l, _, r)| {
            axum::serve(l, r).with_graceful_shutdown(graceful.clone().cancelled_owned())
        });
        let both = async move {
            match debug {
                Some(d) => tokio::try_join!(api, d.into_future()).map(drop),
                None => api.await,
            }
        };
        tokio::pin!(both);
        let deadline = tokio::select! {
            done = &mut both => return done,
            d = stop => d,
        };
        graceful.cancel();
        tracing::info!(
            deadline_s = deadline.as_secs_f64(),
            "draining requests in flight"
        );
        match tokio::time::timeout(deadline, &mut both).await {
            Ok(done) => done,
            Err(_) => {
                tracing::warn!("cutting the requests still running at the drain deadline");
                self.cut.cancel();
                match tokio::time::timeout(CUT_GRACE, both).await {
                    Ok(done) => done,
                    Err(_) => Ok(()),
                }
            }
        }
    }
}

impl RunningRegistry {
    /// The debug address (health and metrics), when one was configured.
    pub fn debug_addr(&self) -> Option<SocketAddr> {
        self.debug
    }

    /// Stops accepting connections, lets requests in flight finish for
    /// at most `deadline`, then cuts those still running (their clients
    /// see an error; an upload cut so is not committed).
    pub async fn shutdown_with_deadline(mut self, deadline: Duration) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(deadline);
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}
