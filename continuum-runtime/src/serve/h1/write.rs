//! Writing responses on this path: the response head as hyper writes it,
//! and an SSE body straight from the ring, one HTTP/1.1 chunk per write,
//! every ready frame gathered with `writev`.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use tokio::io::AsyncWrite;

use super::{Io, MAX_CHUNK, MAX_FRAMES, MAX_LEFTOVER};
use crate::http::StreamShutdown;
use crate::hub::SseStream;

/// The response head, as hyper writes it: status line, the response's
/// headers, the framing, `connection: close` when asked, `date`.
pub(crate) fn encode_head(
    parts: &http::response::Parts,
    len: Option<usize>,
    close: bool,
) -> Vec<u8> {
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
pub(crate) enum End {
    /// The stream ended (cut off, lifetime cap, shutdown): finish the response.
    Stream,
    /// The client closed its side.
    ClientGone,
}

/// One HTTP/1.1 chunk being written: its size line and the frames it holds
/// (the first `frames` of the stream's ready frames), then `\r\n`.
pub(crate) struct Chunk {
    pub(crate) frames: usize,
    pub(crate) size_line: [u8; 18],
    pub(crate) size_len: u8,
    /// Bytes of the whole chunk already written.
    pub(crate) written: usize,
    pub(crate) total: usize,
}

/// Writes an [`SseStream`] to the socket, one chunk per write.
pub(crate) struct SseWriter {
    pub(crate) stream: SseStream,
    pub(crate) shutdown: StreamShutdown,
    pub(crate) chunk: Option<Chunk>,
    pub(crate) leftover: Vec<u8>,
}

impl SseWriter {
    pub(crate) fn poll(&mut self, io: &mut Io, cx: &mut Context<'_>) -> Poll<io::Result<End>> {
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
pub(crate) fn write_chunk(
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

#[cfg(test)]
mod tests {
    use super::*;

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
