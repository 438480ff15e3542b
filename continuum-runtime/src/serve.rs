//! The standalone server: [`serve`] and [`serve_with_shutdown`].
//!
//! One code path, two doors: the server is hyper-util's `auto::Builder`
//! (HTTP/1.1 and cleartext HTTP/2 on one port) over the same
//! [`HubService`](crate::http::HubService) that [`Hub::service`] hands to axum
//! or tower users.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use continuum_runtime::Hub;
//!
//! let hub = Hub::builder().build().expect("valid hub config");
//! // Serves until Ctrl-C or SIGTERM, then ends every SSE stream cleanly
//! // (clients reconnect and replay from their last id) and drains.
//! continuum_runtime::serve("127.0.0.1:3000", hub).await
//! # }
//! ```

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::http::HubService;

/// How long a client may take to send its request headers before the
/// connection is closed, so slow clients cannot hold sockets open for free.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`serve_with_shutdown`] waits, after ending every stream, for
/// connections to finish before it drops them (a client that stopped reading
/// could otherwise hold shutdown forever).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Bind `addr` and serve `hub` (HTTP/1.1 and h2c) until Ctrl-C or SIGTERM,
/// then shut down gracefully. `hub` is a [`Hub`](crate::Hub) or a configured
/// [`HubService`] (e.g. `hub.service().with_metrics_route()`).
///
/// At start it raises the soft open-files limit to the hard limit (each
/// subscriber holds a socket) and logs the bound address and the limit.
///
/// # Errors
///
/// Binding the address, or accepting on the listener, failed.
pub async fn serve<A: ToSocketAddrs>(addr: A, hub: impl Into<HubService>) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    serve_with_shutdown(listener, hub, shutdown_signal()).await
}

/// Serve `hub` on `listener` until `signal` completes, then shut down
/// gracefully: stop accepting, end every SSE stream cleanly (clients reconnect
/// elsewhere or later and replay from their `Last-Event-ID`), let in-flight
/// requests finish, and return once every connection has closed (or after
/// [`DRAIN_TIMEOUT`]).
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use continuum_runtime::Hub;
/// use tokio::net::TcpListener;
///
/// let hub = Hub::builder().build().expect("valid hub config");
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let server = tokio::spawn(continuum_runtime::serve_with_shutdown(listener, hub, async move {
///     let _ = stopped.await;
/// }));
/// // … later:
/// let _ = stop.send(());
/// server.await.expect("server task")?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
///
/// Reading the listener's address failed. Errors accepting one connection are
/// logged and do not stop the server.
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    hub: impl Into<HubService>,
    signal: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    let local = listener.local_addr()?;
    raise_open_files_limit();
    let service: HubService = hub.into();
    tracing::info!(address = %local, "continuum: serving events at http://{local}{}", service.path());

    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());

    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // EMFILE and friends: back off briefly instead of spinning.
                        tracing::warn!(error = %err, "continuum: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                spawn_connection(&mut connections, &builder, &graceful, stream, peer, &service);
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut signal => break,
        }
    }
    drop(listener);
    tracing::info!(address = %local, connections = connections.len(), "continuum: shutting down");
    // SSE responses never end by themselves: end them so connections can close.
    service.shutdown_streams();
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            remaining = connections.len(),
            "continuum: drain timed out; dropping connections"
        );
    }
    connections.shutdown().await;
    tracing::info!(address = %local, "continuum: stopped");
    Ok(())
}

fn spawn_connection(
    connections: &mut JoinSet<()>,
    builder: &auto::Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
    stream: TcpStream,
    peer: SocketAddr,
    service: &HubService,
) {
    // SSE frames are small and latency matters more than packet count.
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(error = %err, "continuum: set_nodelay failed");
    }
    let span = tracing::debug_span!("continuum.connection", %peer);
    let conn = builder
        .serve_connection(TokioIo::new(stream), service.clone())
        .into_owned();
    let conn = graceful.watch(conn);
    connections.spawn(
        async move {
            tracing::trace!("connection opened");
            if let Err(err) = conn.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            tracing::trace!("connection closed");
        }
        .instrument(span),
    );
}

/// Ctrl-C, or SIGTERM on unix (what container runtimes send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

/// Raise the soft `RLIMIT_NOFILE` to the hard limit, as Go's runtime does at
/// start: each subscriber is a socket, and the usual soft default (1024) caps
/// a server long before memory does. Returns the soft limit now in force.
#[cfg(unix)]
pub fn raise_open_files_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    // Linux refuses an infinite soft limit for files; this is its usual ceiling.
    const UNLIMITED_FALLBACK: u64 = 1 << 20;
    let limit = getrlimit(Resource::Nofile);
    let target = limit.maximum.unwrap_or(UNLIMITED_FALLBACK);
    let current = limit.current.unwrap_or(u64::MAX);
    if current >= target {
        tracing::info!(open_files = current, "continuum: open-files limit");
        return Some(current);
    }
    match setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(target),
            maximum: limit.maximum,
        },
    ) {
        Ok(()) => {
            tracing::info!(
                open_files = target,
                previous = current,
                "continuum: raised open-files limit"
            );
            Some(target)
        }
        Err(err) => {
            tracing::warn!(open_files = current, error = %err, "continuum: could not raise open-files limit");
            Some(current)
        }
    }
}

/// Not unix: nothing to raise.
#[cfg(not(unix))]
pub fn raise_open_files_limit() -> Option<u64> {
    None
}
