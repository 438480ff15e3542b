//! The standalone server's own HTTP/1.1 path for subscriptions and ingest.
//!
//! A subscriber sends one small request and then only reads, for hours. Served
//! by hyper, such a connection keeps hyper's read and write buffers (8 KiB
//! each) and its dispatcher for its whole life; here it keeps only the socket,
//! its [`SseStream`] (a cursor into the hub's shared ring) and a few words of
//! state.
//!
//! Each request head is read into a small buffer and parsed with `httparse`.
//! A bodiless HTTP/1.1 `GET`, or a `POST` with a declared `content-length`
//! within the body limit, is turned into an `http::Request` and answered by
//! the very same [`HubService`] as every other request (routing, the
//! authorization hook, filters, CORS, validation, metrics and pages
//! included). The response head is written here; an SSE body is then written
//! straight from the ring: each write is one HTTP/1.1 chunk holding every
//! frame that is ready, gathered with `writev` (no copy, no allocation).
//! From the first request that is anything else — HTTP/1.0, HTTP/2 prior
//! knowledge, an upgrade, a chunked or large body, `OPTIONS`, a head that does
//! not parse or is large — the connection is handed to hyper, with the bytes
//! already read replayed first.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;

mod parse;
mod write;

pub(crate) use self::parse::{parse, unfinished, Head, Parse, Parsed};
use self::write::{encode_head, End, SseWriter};
use super::StallTimeout;
use crate::http::{BodyParts, ClientAddr, HubService, ResponseBody, ResponseFuture};

/// Longest request head read here; a longer one goes to hyper (which has
/// its own, larger limit).
const MAX_HEAD: usize = 8 * 1024;
/// First read of a request head (a browser's `EventSource` head is ~0.5 KiB).
const HEAD_READ: usize = 1024;
/// Headers parsed here; a request with more goes to hyper.
const MAX_HEADERS: usize = 48;
/// Frames gathered into one chunk (one `writev`).
const MAX_FRAMES: usize = 128;
/// Bytes gathered into one chunk.
const MAX_CHUNK: usize = 256 * 1024;
/// Largest ingest body read here (within the hub's body limit); a larger
/// one goes to hyper, which streams it.
const MAX_BODY: usize = 64 * 1024;
/// Bytes a subscriber may send after its request (pipelined requests) that
/// are kept for hyper; past this the socket is no longer read until the
/// stream ends (as hyper stops reading when its buffer is full).
const MAX_LEFTOVER: usize = 8 * 1024;

/// What every connection of one [`Server::run`](super::Server::run) shares.
pub(super) struct Shared {
    pub(super) service: HubService,
    pub(super) builder: auto::Builder<TokioExecutor>,
    pub(super) header_read_timeout: Duration,
}

/// The socket as the fast path and hyper both see it.
type Io = StallTimeout<TcpStream>;

/// Serve one connection: its requests here while they are bodiless `GET`s
/// (subscriptions, pages, metrics) or `POST`s with a declared length within
/// the body limit (ingest), the rest of it by hyper from the first request
/// that is anything else.
pub(super) async fn connection(
    shared: Arc<Shared>,
    mut io: Io,
    peer: SocketAddr,
    watcher: Watcher,
    mut stop: watch::Receiver<()>,
) -> Result<(), BoxError> {
    let body_limit = shared.service.hub().config().body_limit();
    let body_timeout = shared.service.hub().config().body_read_timeout();
    // What was read and not yet used: the start of the next request.
    let mut buf: Vec<u8> = Vec::new();
    let mut first = true;
    loop {
        let head = read_head(
            &mut io,
            &mut stop,
            shared.header_read_timeout,
            &mut buf,
            first,
            body_limit,
        )
        .await?;
        first = false;
        let parsed = match head {
            Head::Closed => return Ok(()),
            Head::Other => {
                return hand_over(&shared, io, peer, watcher, Bytes::from(buf)).await;
            }
            Head::Malformed(code, message) => {
                tracing::debug!(error = code, %message, "continuum: bad request head; answering 400 and closing");
                let res = crate::http::bad_head_response(code, message);
                return Box::pin(respond_and_close(&mut io, res)).await;
            }
            Head::Request(parsed) => parsed,
        };
        let Parsed {
            mut request,
            len,
            body_len,
            close,
        } = *parsed;
        request.extensions_mut().insert(ClientAddr(peer));
        // The body, when one was declared, within the body read timeout.
        let total = len + body_len;
        if buf.len() < total {
            let read_body = async {
                while buf.len() < total {
                    buf.reserve(total - buf.len());
                    if tokio::io::AsyncReadExt::read_buf(&mut io, &mut buf).await? == 0 {
                        return Ok::<bool, io::Error>(false);
                    }
                }
                Ok(true)
            };
            // Boxed: an idle subscriber's task should not reserve room for
            // a body read it will never do.
            match Box::pin(tokio::time::timeout(body_timeout, read_body)).await {
                Ok(Ok(true)) => {}
                // The client closed mid-body: nobody to answer.
                Ok(Ok(false)) => return Ok(()),
                Ok(Err(err)) => return Err(err.into()),
                Err(_elapsed) => {
                    tracing::debug!(timeout = ?body_timeout, "continuum: request body not received in time; answering 408 and closing");
                    let res = crate::http::body_timeout_response(shared.service.hub());
                    return Box::pin(respond_and_close(&mut io, res)).await;
                }
            }
        }
        if body_len > 0 {
            *request.body_mut() = Full::new(Bytes::copy_from_slice(&buf[len..total]));
        }
        buf.drain(..total);
        let res = match hyper::service::Service::call(&shared.service, request).await {
            Ok(res) => res,
            Err(never) => match never {},
        };
        let (parts, body) = res.into_parts();
        match body.into_parts() {
            BodyParts::Full(data) => {
                let data = data.unwrap_or_default();
                let mut out = encode_head(&parts, Some(data.len()), close);
                drop(parts);
                out.extend_from_slice(&data);
                io.write_all(&out).await?;
            }
            BodyParts::Stream(stream, shutdown) => {
                let head = encode_head(&parts, None, close);
                // Neither the response's header map nor a read buffer is
                // needed while the stream lasts.
                drop(parts);
                buf.shrink_to_fit();
                io.write_all(&head).await?;
                drop(head);
                let mut sse = SseWriter {
                    stream,
                    shutdown,
                    chunk: None,
                    leftover: std::mem::take(&mut buf),
                };
                let end = poll_fn(|cx| sse.poll(&mut io, cx)).await?;
                let stopped = sse.shutdown.is_stopped();
                buf = std::mem::take(&mut sse.leftover);
                drop(sse);
                if end == End::ClientGone {
                    return Ok(());
                }
                // The last chunk: the response is complete.
                io.write_all(b"0\r\n\r\n").await?;
                if stopped {
                    return io.shutdown().await.map_err(Into::into);
                }
            }
        }
        if close {
            return io.shutdown().await.map_err(Into::into);
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Write a complete (non-streaming) response with `connection: close`, then
/// close the connection.
async fn respond_and_close(io: &mut Io, res: Response<ResponseBody>) -> Result<(), BoxError> {
    let (parts, body) = res.into_parts();
    let data = match body.into_parts() {
        BodyParts::Full(data) => data.unwrap_or_default(),
        BodyParts::Stream(..) => Bytes::new(),
    };
    let mut out = encode_head(&parts, Some(data.len()), true);
    out.extend_from_slice(&data);
    io.write_all(&out).await?;
    io.shutdown().await.map_err(Into::into)
}

/// The service for hyper's part of a connection: the same service, told
/// the connection's peer address.
#[derive(Clone)]
struct WithPeer {
    service: HubService,
    peer: ClientAddr,
}

impl<B> hyper::service::Service<Request<B>> for WithPeer
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = std::convert::Infallible;
    type Future = ResponseFuture;

    fn call(&self, mut req: Request<B>) -> ResponseFuture {
        req.extensions_mut().insert(self.peer);
        hyper::service::Service::call(&self.service, req)
    }
}

/// The rest of the connection goes to hyper, `prefix` first. Boxed: hyper's
/// connection state is large, and a subscription's task should not reserve
/// room for it.
async fn hand_over(
    shared: &Shared,
    io: Io,
    peer: SocketAddr,
    watcher: Watcher,
    prefix: Bytes,
) -> Result<(), BoxError> {
    let io = TokioIo::new(Rewind { prefix, inner: io });
    let service = WithPeer {
        service: shared.service.clone(),
        peer: ClientAddr(peer),
    };
    let conn = shared.builder.serve_connection(io, service).into_owned();
    Box::pin(watcher.watch(conn)).await
}

/// Read until `buf` holds a whole request head. The first request of a
/// connection must arrive within `timeout`; a later one's head must, once
/// its first byte has (a kept-alive connection may idle in between).
async fn read_head(
    io: &mut Io,
    stop: &mut watch::Receiver<()>,
    timeout: Duration,
    buf: &mut Vec<u8>,
    first: bool,
    body_limit: usize,
) -> io::Result<Head> {
    let far = || tokio::time::Instant::now() + Duration::from_secs(365 * 24 * 3600);
    let mut deadline = if first || !buf.is_empty() {
        tokio::time::Instant::now() + timeout
    } else {
        far()
    };
    loop {
        if !buf.is_empty() {
            match parse(buf, body_limit) {
                Parse::Partial => {}
                Parse::Other => return Ok(Head::Other),
                Parse::Malformed(why) => {
                    return Ok(Head::Malformed(
                        "malformed_request",
                        format!("the request head is not HTTP/1.1: {why}"),
                    ))
                }
                Parse::Request(parsed) => return Ok(Head::Request(parsed)),
            }
        }
        if buf.len() == buf.capacity() {
            if buf.len() >= MAX_HEAD {
                return Ok(Head::Other);
            }
            buf.reserve(HEAD_READ);
        }
        let was_empty = buf.is_empty();
        let read = tokio::select! {
            read = tokio::io::AsyncReadExt::read_buf(io, buf) => read?,
            _ = stop.changed() => return Ok(Head::Closed),
            () = tokio::time::sleep_until(deadline) => {
                tracing::debug!("continuum: request head not received in time; closing");
                return Ok(unfinished(buf, format!("no blank line ended the request head within {} ms", timeout.as_millis())));
            }
        };
        if read == 0 {
            return Ok(unfinished(
                buf,
                "the connection was closed before a blank line ended the request head".to_owned(),
            ));
        }
        if was_empty && !first {
            deadline = tokio::time::Instant::now() + timeout;
        }
    }
}

/// A socket whose first reads return `prefix` (bytes already read from it).
struct Rewind {
    prefix: Bytes,
    inner: Io,
}

impl AsyncRead for Rewind {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::SseStream;

    /// What an idle subscriber's task holds inline (its future); measured
    /// here so that a change that bloats it shows.
    #[tokio::test]
    async fn a_connection_future_is_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let ((stream, _), _client) = tokio::try_join!(listener.accept(), client).unwrap();
        let hub = crate::Hub::builder().build().unwrap();
        let shared = Arc::new(Shared {
            service: hub.service(),
            builder: auto::Builder::new(TokioExecutor::new()),
            header_read_timeout: Duration::from_secs(1),
        });
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let (_stop, stopped) = watch::channel(());
        let io = StallTimeout::new(stream, Duration::from_secs(1));
        let peer = "127.0.0.1:1".parse().unwrap();
        let fut = connection(shared, io, peer, graceful.watcher(), stopped);
        let size = size_of_val(&fut);
        println!("connection future: {size} bytes");
        assert!(size <= 2048, "{size} bytes");
        println!("SseStream: {} bytes", size_of::<SseStream>());
        assert!(size_of::<SseStream>() <= 256);
    }
}
