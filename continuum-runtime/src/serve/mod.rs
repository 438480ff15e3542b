//! The standalone server: [`serve`], [`serve_with_shutdown`] and, for the
//! timeouts, [`Server`].
//!
//! One code path, two doors: every request is answered by the same
//! [`HubService`] that [`Hub::service`](crate::Hub::service) hands to axum or
//! tower users. The standalone server reads HTTP/1.1 `GET`s and
//! length-delimited `POST`s itself, so that an idle subscriber holds no
//! HTTP buffers (about 4 KiB per subscriber in all) and SSE frames go out as one
//! chunk per `writev`; every other request (HTTP/2 prior knowledge included)
//! is served by hyper-util's `auto::Builder` on the same port.
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
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::task::JoinSet;
use tokio::time::Sleep;
use tracing::Instrument;

use crate::http::HubService;

mod h1;

pub(crate) use self::h1::{parse as parse_head, unfinished as unfinished_head, Head, Parse};

/// Where a standalone server listens when `CONTINUUM_ADDR` is unset.
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";

/// The listen address of a standalone server: `CONTINUUM_ADDR` (e.g.
/// `0.0.0.0:8080`) when set and not empty, else [`DEFAULT_ADDR`].
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use continuum_runtime::{serve::addr_from_env, HubBuilder};
///
/// let hub = HubBuilder::from_env().expect("valid CONTINUUM_* variables").build().expect("hub");
/// continuum_runtime::serve(addr_from_env(), hub).await
/// # }
/// ```
pub fn addr_from_env() -> String {
    std::env::var("CONTINUUM_ADDR")
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_ADDR.to_owned())
}

/// Default time a client may take to send its request headers.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time a connection may make no write progress before it is closed.
pub const DEFAULT_WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time shutdown waits for connections to finish before dropping them.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Default HTTP/2 ping interval and ping-answer timeout of [`Server`].
pub const DEFAULT_HTTP2_KEEP_ALIVE: Duration = Duration::from_secs(20);

/// Bind `addr` and serve `hub` (HTTP/1.1 and h2c) until Ctrl-C or SIGTERM,
/// then shut down gracefully, with [`Server`]'s default timeouts. `hub` is a
/// [`Hub`](crate::Hub) or a configured [`HubService`] (e.g.
/// `hub.service().with_metrics_route()`).
///
/// # Errors
///
/// Binding the address failed.
pub async fn serve<A: ToSocketAddrs>(addr: A, hub: impl Into<HubService>) -> io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    Server::new(hub).run(listener, shutdown_signal()).await
}

/// Serve `hub` on `listener` until `signal` completes, then shut down
/// gracefully (see [`Server::run`]), with [`Server`]'s default timeouts.
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
/// Reading the listener's address failed.
pub async fn serve_with_shutdown<F>(
    listener: TcpListener,
    hub: impl Into<HubService>,
    signal: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send,
{
    Server::new(hub).run(listener, signal).await
}

/// The standalone server with its timeouts; [`serve`] and
/// [`serve_with_shutdown`] use the defaults.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use std::time::Duration;
/// use continuum_runtime::{Hub, Server};
///
/// let hub = Hub::builder().build().expect("valid hub config");
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
/// Server::new(hub.service().with_metrics_route())
///     .write_stall_timeout(Duration::from_secs(15))
///     .run(listener, async { let _ = tokio::signal::ctrl_c().await; })
///     .await
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Server {
    service: HubService,
    header_read_timeout: Duration,
    write_stall_timeout: Duration,
    drain_timeout: Duration,
    http2_keep_alive: Option<Duration>,
}

impl Server {
    /// A server for `hub` (a [`Hub`](crate::Hub) or a [`HubService`]).
    pub fn new(hub: impl Into<HubService>) -> Self {
        Server {
            service: hub.into(),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            write_stall_timeout: DEFAULT_WRITE_STALL_TIMEOUT,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            http2_keep_alive: Some(DEFAULT_HTTP2_KEEP_ALIVE),
        }
    }

    /// How long a client may take to send its HTTP/1.1 request headers before
    /// the connection is closed, so slow clients cannot hold sockets for free
    /// (default 10 s).
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a connection may accept no bytes at all while the server has
    /// some to write before it is closed (default 30 s). This is what cuts off
    /// a subscriber that stopped reading: its stream cannot even be told it
    /// fell behind, because nothing can be written to it.
    pub fn write_stall_timeout(mut self, timeout: Duration) -> Self {
        self.write_stall_timeout = timeout;
        self
    }

    /// How often an HTTP/2 connection is pinged, and how long the peer has to
    /// answer before the connection is closed (default 20 s; `None`: never).
    /// HTTP/2 has no header-read timeout of its own: this is what closes a
    /// client that sent the connection preface and then went silent, or a
    /// peer that vanished without a FIN while its streams were idle.
    pub fn http2_keep_alive(mut self, interval: Option<Duration>) -> Self {
        self.http2_keep_alive = interval;
        self
    }

    /// How long shutdown waits, after ending every stream, for connections to
    /// finish before dropping them (default 10 s).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Serve on `listener` until `signal` completes, then shut down
    /// gracefully: stop accepting, end every SSE stream cleanly (clients
    /// reconnect, later or elsewhere, and replay from their `Last-Event-ID`),
    /// let in-flight requests finish, and return once every connection has
    /// closed (or after the drain timeout).
    ///
    /// At start it raises the soft open-files limit to the hard limit (each
    /// subscriber holds a socket) and logs it and the bound address.
    ///
    /// # Errors
    ///
    /// Reading the listener's address failed. Errors accepting or serving one
    /// connection are logged and do not stop the server.
    pub async fn run<F>(self, listener: TcpListener, signal: F) -> io::Result<()>
    where
        F: Future<Output = ()> + Send,
    {
        let local = listener.local_addr()?;
        raise_open_files_limit();
        let service = self.service.clone();
        tracing::info!(address = %local, "continuum: serving events at http://{local}{}", service.path());

        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        let mut http2 = builder.http2();
        http2
            .timer(TokioTimer::new())
            .keep_alive_interval(self.http2_keep_alive);
        if let Some(timeout) = self.http2_keep_alive {
            http2.keep_alive_timeout(timeout);
        }

        let shared = std::sync::Arc::new(h1::Shared {
            service: service.clone(),
            builder,
            header_read_timeout: self.header_read_timeout,
        });
        // Ends the connections still waiting for their first request head.
        let (stop, stopped) = tokio::sync::watch::channel(());
        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        let mut signal = std::pin::pin!(signal);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        self.spawn_connection(&mut connections, &shared, &graceful, &stopped, stream, peer);
                    }
                    Err(err) => {
                        // EMFILE and friends: back off briefly instead of spinning.
                        tracing::warn!(error = %err, "continuum: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
                () = &mut signal => break,
            }
        }
        drop(listener);
        tracing::info!(address = %local, connections = connections.len(), "continuum: shutting down");
        // SSE responses never end by themselves: end them so connections can close.
        service.shutdown_streams();
        let _ = stop.send(());
        drop(stopped);
        if tokio::time::timeout(self.drain_timeout, graceful.shutdown())
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
        &self,
        connections: &mut JoinSet<()>,
        shared: &std::sync::Arc<h1::Shared>,
        graceful: &GracefulShutdown,
        stopped: &tokio::sync::watch::Receiver<()>,
        stream: TcpStream,
        peer: SocketAddr,
    ) {
        // SSE frames are small and latency matters more than packet count;
        // several ready frames still go out in one write.
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(error = %err, "continuum: set_nodelay failed");
        }
        let span = tracing::debug_span!("continuum.connection", %peer);
        let io = StallTimeout::new(stream, self.write_stall_timeout);
        let conn = h1::connection(
            shared.clone(),
            io,
            peer,
            graceful.watcher(),
            stopped.clone(),
        );
        connections.spawn(
            async move {
                tracing::debug!("continuum: connection opened");
                match conn.await {
                    Ok(()) => tracing::debug!("continuum: connection closed"),
                    Err(err) => {
                        tracing::debug!(error = %err, "continuum: connection closed with an error")
                    }
                }
            }
            .instrument(span),
        );
    }
}

/// A socket whose writes fail with `TimedOut` once they have made no
/// progress for `timeout`. The timer is armed only while a write is pending,
/// and allocated once per connection at most.
struct StallTimeout<T> {
    inner: T,
    timeout: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl<T> StallTimeout<T> {
    fn get_ref(&self) -> &T {
        &self.inner
    }

    fn new(inner: T, timeout: Duration) -> Self {
        StallTimeout {
            inner,
            timeout,
            timer: None,
            armed: false,
        }
    }

    fn on_write<R>(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if result.is_ready() {
            self.armed = false;
            return result;
        }
        let deadline = tokio::time::Instant::now() + self.timeout;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.armed {
            timer.as_mut().reset(deadline);
            self.armed = true;
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                tracing::debug!(timeout = ?self.timeout, "continuum: peer stopped reading; closing the connection");
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "write stalled",
                )))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.on_write(cx, result)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.on_write(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_flush(cx);
        this.on_write(cx, result)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
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
/// a server long before memory does. Logs and returns the soft limit now in
/// force. [`Server::run`] calls it; call it yourself when embedding.
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
    let raised = Rlimit {
        current: Some(target),
        maximum: limit.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
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

/// Not unix: nothing to raise; returns `None`.
#[cfg(not(unix))]
pub fn raise_open_files_limit() -> Option<u64> {
    None
}
