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
use std::task::{ready, Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, EXPECT, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderName, HeaderValue, Method, Request, Response, Uri, Version};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::StallTimeout;
use crate::http::{
    BodyParts, ClientAddr, HubService, ResponseBody, ResponseFuture, StreamShutdown,
};
use crate::hub::SseStream;

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

/// A parsed request this path answers.
struct Parsed {
    request: Request<Full<Bytes>>,
    /// Length of the head in the buffer.
    len: usize,
    /// Declared length of the body that follows the head.
    body_len: usize,
    /// `Connection: close`: close once the response is written.
    close: bool,
}

enum Head {
    /// The client closed (or shutdown began) before sending a request.
    Closed,
    /// For hyper, with the bytes read so far (left in the buffer).
    Other,
    /// Not a request head, or one that never ended: answered `400` here
    /// (the error code and why) and closed.
    Malformed(&'static str, String),
    Request(Box<Parsed>),
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

/// What to do with a head that never ended: nothing was sent, close; the
/// start of an HTTP/2 preface, close (an HTTP/1.1 answer would be noise to
/// an HTTP/2 client); anything else is answered `400`, so a client with a
/// broken head learns why instead of seeing the connection drop.
fn unfinished(buf: &[u8], why: String) -> Head {
    if buf.iter().all(|b| b.is_ascii_whitespace()) || H2_PREFACE.starts_with(buf) {
        Head::Closed
    } else {
        Head::Malformed("incomplete_request", why)
    }
}

/// [`parse`] for the fuzz targets (`crate::__fuzz`).
pub(crate) fn fuzz_parse_head(buf: &[u8], body_limit: usize) -> crate::__fuzz::Head {
    use crate::__fuzz::Head as F;
    match parse(buf, body_limit) {
        Parse::Partial => F::Partial,
        Parse::Other => F::Hyper,
        Parse::Malformed(_) => F::Malformed,
        Parse::Request(p) => F::Request {
            method: p.request.method().to_string(),
            uri: p.request.uri().to_string(),
            len: p.len,
            body_len: p.body_len,
            close: p.close,
            headers: p.request.headers().len(),
        },
    }
}

/// [`unfinished`] for the fuzz targets.
pub(crate) fn fuzz_unfinished_is_answered(buf: &[u8]) -> bool {
    matches!(unfinished(buf, String::new()), Head::Malformed(..))
}

enum Parse {
    Partial,
    Other,
    /// Not an HTTP/1.x request head (httparse's reason).
    Malformed(httparse::Error),
    Request(Box<Parsed>),
}

/// The HTTP/2 connection preface (RFC 9113, section 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Parse a request head; answered here are HTTP/1.1 `GET`s without a body
/// and `POST`s with a `content-length` of at most `body_limit`.
fn parse(buf: &[u8], body_limit: usize) -> Parse {
    // The start of an HTTP/2 preface is read here until it is whole, under
    // the header timeout. Handed to hyper earlier (httparse refuses it from
    // `PRI * HTTP/2` on), it would wait in hyper-util's protocol detection,
    // which reads until it has all 24 bytes with no timeout of its own: a
    // client that sent 12 to 23 of them held the connection forever.
    if buf.len() < H2_PREFACE.len() && H2_PREFACE.starts_with(buf) {
        return Parse::Partial;
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parse::Partial,
        // More headers than parsed here: hyper reads up to 100.
        Err(httparse::Error::TooManyHeaders) => return Parse::Other,
        Err(_) if buf.starts_with(H2_PREFACE) => return Parse::Other,
        Err(why) => return Parse::Malformed(why),
    };
    let method = match req.method {
        Some("GET") => Method::GET,
        Some("POST") => Method::POST,
        _ => return Parse::Other,
    };
    if req.version != Some(1) {
        return Parse::Other;
    }
    let Some(Ok(uri)) = req.path.map(Uri::try_from) else {
        return Parse::Other;
    };
    // A GET or POST names a path (`/api/events`) or, from a proxy, an
    // absolute URL (`*` is left to routing: no such route, `404`); `Uri`
    // also takes an authority (`example.com:80`, for CONNECT) or any bare
    // word, which would be routed as if it were `/`.
    // (Found by fuzzing: `GET s=ai.task.*&x=1 HTTP/1.1`.)
    if !(req.path.is_some_and(|p| p.starts_with('/') || p == "*") || uri.scheme().is_some()) {
        return Parse::Malformed(httparse::Error::Token);
    }
    let mut request = Request::new(Full::default());
    *request.method_mut() = method.clone();
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    let mut close = false;
    let mut body_len = None;
    let map = request.headers_mut();
    map.reserve(req.headers.len());
    for h in req.headers.iter() {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(h.name.as_bytes()),
            HeaderValue::from_bytes(h.value),
        ) else {
            return Parse::Other;
        };
        if name == TRANSFER_ENCODING || name == UPGRADE || name == EXPECT {
            return Parse::Other;
        }
        if name == CONTENT_LENGTH {
            let declared = std::str::from_utf8(h.value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<usize>().ok());
            match (declared, body_len) {
                (Some(n), None) => body_len = Some(n),
                // Unparsable or repeated: hyper decides.
                _ => return Parse::Other,
            }
        }
        if name == CONNECTION
            && value
                .as_bytes()
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"))
        {
            close = true;
        }
        map.append(name, value);
    }
    let body_len = body_len.unwrap_or(0);
    match method {
        Method::GET if body_len == 0 => {}
        // A declared length over the limit goes to hyper: the service answers
        // `413` without reading the body, and hyper deals with the rest.
        Method::POST if body_len <= body_limit && body_len <= MAX_BODY => {}
        _ => return Parse::Other,
    }
    Parse::Request(Box::new(Parsed {
        request,
        len,
        body_len,
        close,
    }))
}

/// The response head, as hyper writes it: status line, the response's
/// headers, the framing, `connection: close` when asked, `date`.
fn encode_head(parts: &http::response::Parts, len: Option<usize>, close: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(parts.status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(
        parts
            .status
            .canonical_reason()
            .unwrap_or("<none>")
            .as_bytes(),
    );
    out.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING || name == CONNECTION {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    match len {
        Some(n) => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(n.to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        None => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    if !parts.headers.contains_key(DATE) {
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(httpdate::fmt_http_date(SystemTime::now()).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// The stream ended (cut off, lifetime cap, shutdown): finish the response.
    Stream,
    /// The client closed its side.
    ClientGone,
}

/// One HTTP/1.1 chunk being written: its size line and the frames it holds
/// (the first `frames` of the stream's ready frames), then `\r\n`.
struct Chunk {
    frames: usize,
    size_line: [u8; 18],
    size_len: u8,
    /// Bytes of the whole chunk already written.
    written: usize,
    total: usize,
}

/// Writes an [`SseStream`] to the socket, one chunk per write.
struct SseWriter {
    stream: SseStream,
    shutdown: StreamShutdown,
    chunk: Option<Chunk>,
    leftover: Vec<u8>,
}

impl SseWriter {
    fn poll(&mut self, io: &mut Io, cx: &mut Context<'_>) -> Poll<io::Result<End>> {
        loop {
            if let Some(chunk) = &mut self.chunk {
                ready!(write_chunk(io, cx, chunk, self.stream.frames()))?;
                let frames = chunk.frames;
                self.chunk = None;
                self.stream.consume(frames);
                continue;
            }
            if self.shutdown.is_stopped() {
                return Poll::Ready(Ok(End::Stream));
            }
            match self.stream.poll_fill(cx) {
                Poll::Ready(true) => {
                    self.chunk = Some(Chunk::new(self.stream.frames()));
                    continue;
                }
                Poll::Ready(false) => return Poll::Ready(Ok(End::Stream)),
                Poll::Pending => {}
            }
            // Nothing to write: watch for the client going away.
            if self.leftover.len() >= MAX_LEFTOVER {
                return Poll::Pending;
            }
            let socket = io.get_ref();
            match socket.poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(End::ClientGone)),
                Poll::Ready(Ok(())) => {}
            }
            let mut scratch = [0u8; 512];
            match socket.try_read(&mut scratch) {
                Ok(0) => return Poll::Ready(Ok(End::ClientGone)),
                Ok(n) => self.leftover.extend_from_slice(&scratch[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return Poll::Ready(Ok(End::ClientGone)),
            }
        }
    }
}

impl Chunk {
    fn new(frames: &std::collections::VecDeque<Bytes>) -> Chunk {
        let mut count = 0;
        let mut size = 0;
        for f in frames.iter().take(MAX_FRAMES) {
            if count > 0 && size + f.len() > MAX_CHUNK {
                break;
            }
            size += f.len();
            count += 1;
        }
        let mut size_line = [0u8; 18];
        let mut n = 0;
        // Hex digits, most significant first.
        let digits = (usize::BITS - size.max(1).leading_zeros()).div_ceil(4) as usize;
        for i in (0..digits).rev() {
            size_line[n] = b"0123456789abcdef"[(size >> (4 * i)) & 0xf];
            n += 1;
        }
        size_line[n] = b'\r';
        size_line[n + 1] = b'\n';
        n += 2;
        Chunk {
            frames: count,
            size_line,
            size_len: n as u8,
            written: 0,
            total: n + size + 2,
        }
    }
}

/// Write what is left of `chunk` (gathered: size line, frames, `\r\n`).
fn write_chunk(
    io: &mut Io,
    cx: &mut Context<'_>,
    chunk: &mut Chunk,
    frames: &std::collections::VecDeque<Bytes>,
) -> Poll<io::Result<()>> {
    while chunk.written < chunk.total {
        let mut slices: [IoSlice<'_>; MAX_FRAMES + 2] = [IoSlice::new(&[]); MAX_FRAMES + 2];
        let mut n = 0;
        let mut skip = chunk.written;
        let size_line = &chunk.size_line[..chunk.size_len as usize];
        let parts = std::iter::once(size_line)
            .chain(frames.iter().take(chunk.frames).map(|b| &b[..]))
            .chain(std::iter::once(&b"\r\n"[..]));
        for part in parts {
            if skip >= part.len() {
                skip -= part.len();
                continue;
            }
            slices[n] = IoSlice::new(&part[skip..]);
            skip = 0;
            n += 1;
        }
        let written = ready!(Pin::new(&mut *io).poll_write_vectored(cx, &slices[..n]))?;
        if written == 0 {
            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
        }
        chunk.written += written;
    }
    Poll::Ready(Ok(()))
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

    fn get(head: &str) -> Box<Parsed> {
        match parse(head.as_bytes(), 1024) {
            Parse::Request(p) => p,
            Parse::Partial => panic!("partial: {head}"),
            Parse::Other => panic!("other: {head}"),
            Parse::Malformed(why) => panic!("malformed ({why}): {head}"),
        }
    }

    #[test]
    fn an_absolute_url_from_a_proxy_is_answered_here() {
        let p = get(
            "GET http://example.com/api/events?types=a.* HTTP/1.1\r\nHost: example.com\r\n\r\n",
        );
        assert_eq!(p.request.uri().path(), "/api/events");
    }

    #[test]
    fn bodiless_http11_get_is_answered_here() {
        let p =
            get("GET /api/events?types=a.* HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 7\r\n\r\nrest");
        assert_eq!(
            p.len,
            "GET /api/events?types=a.* HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 7\r\n\r\n".len()
        );
        assert_eq!(p.request.uri().path(), "/api/events");
        assert_eq!(p.request.uri().query(), Some("types=a.*"));
        assert_eq!(p.request.headers()["last-event-id"], "7");
        assert!(!p.close);
        assert!(get("GET / HTTP/1.1\r\nConnection: keep-alive, Close\r\n\r\n").close);
    }

    #[test]
    fn everything_else_goes_to_hyper() {
        let post = get("POST /api/events HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}");
        assert_eq!((post.len, post.body_len), (48, 2));
        assert_eq!(post.request.method(), Method::POST);
        for head in [
            "POST /api/events HTTP/1.1\r\ncontent-length: 2000\r\n\r\n",
            "POST /api/events HTTP/1.1\r\ncontent-length: 2\r\ncontent-length: 2\r\n\r\n",
            "POST /api/events HTTP/1.1\r\ncontent-length: +2\r\n\r\n",
            "POST /api/events HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
            "OPTIONS /api/events HTTP/1.1\r\n\r\n",
            "HEAD /api/events HTTP/1.1\r\n\r\n",
            "GET /api/events HTTP/1.0\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n",
            "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
            "GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
        ] {
            assert!(
                matches!(parse(head.as_bytes(), 1024), Parse::Other),
                "{head}"
            );
        }
        assert!(matches!(
            parse(b"GET /api/events HTTP/1.1\r\nHost", 1024),
            Parse::Partial
        ));
    }

    #[test]
    fn a_head_that_is_not_http_is_refused_here() {
        for head in [
            "G\x01T / HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nHost x\r\n\r\n",
            "GET /a b HTTP/1.1\r\n\r\n",
            "GET / HTTP/9.1\r\n\r\n",
            "hello\r\n\r\n",
            // Fuzz finding (h1_head): a request target that is not a path.
            "GET s=ai.task.*&last0ventId=abc HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET example.com:80 HTTP/1.1\r\n\r\n",
            "POST s HTTP/1.1\r\ncontent-length: 0\r\n\r\n",
        ] {
            assert!(
                matches!(parse(head.as_bytes(), 1024), Parse::Malformed(_)),
                "{head:?}"
            );
        }
        // More headers than parsed here: hyper's (it reads up to 100).
        let many: String = (0..60).map(|i| format!("X-{i}: y\r\n")).collect();
        let head = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert!(matches!(parse(head.as_bytes(), 1024), Parse::Other));
        // A head that never ended: answered unless it is nothing or an HTTP/2 start.
        assert!(matches!(unfinished(b"", String::new()), Head::Closed));
        assert!(matches!(unfinished(b"\r\n", String::new()), Head::Closed));
        assert!(matches!(
            unfinished(b"PRI * HTTP/2", String::new()),
            Head::Closed
        ));
        assert!(matches!(
            unfinished(b"GET / HTTP/1.1\r\nHost: x\r\n", String::new()),
            Head::Malformed("incomplete_request", _)
        ));
    }

    #[test]
    fn a_partial_http2_preface_is_read_here_until_whole() {
        for cut in 1..H2_PREFACE.len() {
            assert!(
                matches!(parse(&H2_PREFACE[..cut], 1024), Parse::Partial),
                "{cut} bytes"
            );
        }
        assert!(matches!(parse(H2_PREFACE, 1024), Parse::Other));
        assert!(matches!(
            parse(b"PRI * HTTP/2.0\r\nX", 1024),
            Parse::Malformed(_)
        ));
    }

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

    #[test]
    fn chunk_size_line_is_hex() {
        let frames: std::collections::VecDeque<Bytes> =
            [Bytes::from(vec![b'a'; 0x1a2]), Bytes::from_static(b"xyz")].into();
        let c = Chunk::new(&frames);
        assert_eq!(&c.size_line[..c.size_len as usize], b"1a5\r\n");
        assert_eq!(c.frames, 2);
        assert_eq!(c.total, 5 + 0x1a5 + 2);
    }
}
