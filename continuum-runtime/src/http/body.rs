//! [`ResponseBody`]: the body of every response the service sends.

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::shutdown::Shutdown;
use crate::hub::SseStream;

pin_project! {
    /// The body of a [`HubService`](super::HubService) response: either a
    /// complete JSON (or empty) body, or a live event stream that ends only
    /// when the client leaves, the subscriber is cut off, its lifetime cap is
    /// reached, or the server shuts down.
    pub struct ResponseBody {
        #[pin]
        kind: Kind,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind {
        Full { data: Option<Bytes> },
        Stream {
            #[pin]
            stream: SseStream,
            // Checked at every poll: when the server shuts down the stream
            // ends cleanly (never on its own otherwise), so the connection
            // can close. `Shutdown::stop` wakes waiting streams.
            shutdown: Shutdown,
            done: bool,
        },
    }
}

impl ResponseBody {
    pub(crate) fn full(data: Bytes) -> Self {
        ResponseBody {
            kind: Kind::Full {
                data: (!data.is_empty()).then_some(data),
            },
        }
    }

    pub(crate) fn empty() -> Self {
        ResponseBody {
            kind: Kind::Full { data: None },
        }
    }

    pub(crate) fn stream(stream: SseStream, shutdown: Shutdown) -> Self {
        ResponseBody {
            kind: Kind::Stream {
                stream,
                shutdown,
                done: false,
            },
        }
    }
}

/// A [`ResponseBody`] taken apart, for the standalone server's HTTP/1.1
/// path, which writes SSE frames to the socket itself.
// Taken apart once per response and moved straight on; boxing the stream
// would cost an allocation per subscriber to save stack nobody is short of.
#[allow(clippy::large_enum_variant)]
pub(crate) enum BodyParts {
    Full(Option<Bytes>),
    Stream(SseStream, Shutdown),
}

impl ResponseBody {
    pub(crate) fn into_parts(self) -> BodyParts {
        match self.kind {
            Kind::Full { data } => BodyParts::Full(data),
            Kind::Stream {
                stream, shutdown, ..
            } => BodyParts::Stream(stream, shutdown),
        }
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Full { data } => f
                .debug_struct("ResponseBody")
                .field("len", &data.as_ref().map_or(0, Bytes::len))
                .finish(),
            Kind::Stream { .. } => f
                .debug_struct("ResponseBody")
                .field("stream", &true)
                .finish(),
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.project().kind.project() {
            KindProj::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            KindProj::Stream {
                stream,
                shutdown,
                done,
            } => {
                if *done {
                    return Poll::Ready(None);
                }
                if shutdown.is_stopped() {
                    *done = true;
                    return Poll::Ready(None);
                }
                let frame = stream.poll_frame(cx);
                if let Poll::Ready(None) = frame {
                    *done = true;
                }
                frame
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full { data } => data.is_none(),
            Kind::Stream { stream, done, .. } => *done || stream.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Kind::Stream { .. } => SizeHint::default(),
        }
    }
}
