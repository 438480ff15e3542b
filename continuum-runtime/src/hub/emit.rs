//! [`Emit`]: the future every publish returns, and [`EmitError`].

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tracing::Span;

use super::{EventId, Published};
use crate::backplane::{Ack, BackplaneError, Publishing};
use crate::validate::ValidationErrors;

/// Publishing failed; nothing was published.
#[derive(Debug)]
#[non_exhaustive]
pub enum EmitError {
    /// The event failed validation: every issue. In a batch, paths start with
    /// the event's index, e.g. `[2].progress`.
    Invalid(ValidationErrors),
    /// The event could not be serialized to JSON (a `Serialize` impl failed).
    Encode(serde_json::Error),
    /// Event types starting with `continuum.` are reserved for the hub.
    ReservedType(Cow<'static, str>),
    /// The backplane failed to publish.
    Backplane(BackplaneError),
    /// An event of an older version could not be upcast to the newest.
    Upcast(crate::registry::DecodeError),
}

impl EmitError {
    /// Whether the event failed validation.
    pub fn is_invalid(&self) -> bool {
        matches!(self, EmitError::Invalid(_))
    }
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::Invalid(e) => write!(f, "invalid event: {e}"),
            EmitError::Encode(e) => write!(f, "event could not be encoded: {e}"),
            EmitError::ReservedType(t) => write!(
                f,
                "event type `{t}` is reserved: `continuum.*` types are sent by the hub only"
            ),
            EmitError::Backplane(e) => e.fmt(f),
            EmitError::Upcast(e) => write!(f, "event could not be upcast: {e}"),
        }
    }
}

impl std::error::Error for EmitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EmitError::Invalid(e) => Some(e),
            EmitError::Encode(e) => Some(e),
            EmitError::ReservedType(_) => None,
            EmitError::Backplane(e) => Some(e),
            EmitError::Upcast(e) => Some(e),
        }
    }
}

/// A publish under way: resolves to `T` (the id, the ids, or
/// [`Published`]) once the backplane acknowledged it, or to the
/// [`EmitError`] that stopped it.
///
/// # Why a future
///
/// With a shared backplane the id of an event is the shared stream's: it is
/// known only once Redis has answered the `XADD`. The choices were a
/// synchronous `emit` that blocks a thread on the network (wrong inside an
/// async server), a synchronous `emit` that returns before the backplane has
/// the event (its errors would be lost, and ingest could not answer `202`
/// only after the write), or a future. `emit` returns a future, and keeps two
/// properties of the synchronous one:
///
/// - **Publishing starts at the call.** Validation, encoding and the hand-off
///   to the backplane happen before `emit` returns; the future only waits for
///   the acknowledgement. Dropping it does not cancel the publish, and events
///   emitted one after another from one task keep their order whether or not
///   each is awaited.
/// - **No cost on the in-memory path.** The in-memory backplane appends under
///   its lock inside `emit`, so the future is ready when returned: awaiting it
///   never yields, and no allocation or task is involved.
///
/// It is `#[must_use]`: an event whose acknowledgement nobody reads may have
/// failed silently. Write `drop(hub.emit(e));` to mean "fire and forget".
///
/// ```
/// # use continuum_runtime::prelude::*;
/// # #[continuum_event("docs.emitfut.ping")] pub struct Ping { pub n: u32 }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let hub = Hub::builder().build()?;
/// let id = Ping { n: 1 }.emit(&hub).await?;          // the id, once the backplane has it
/// drop(Ping { n: 2 }.emit(&hub));                   // fire and forget: still published
/// assert!(Ping { n: 3 }.emit(&hub).await? > id);
/// # Ok(()) }
/// ```
#[must_use = "the event is published either way; await the `Emit` to learn its id or why it failed"]
pub struct Emit<T> {
    state: State,
    map: fn(Ack) -> Result<T, EmitError>,
    /// The publish span (`continuum.publish`), ended with the acknowledgement.
    span: Span,
}

enum State {
    Failed(Option<EmitError>),
    Publishing(Publishing),
}

impl<T> Emit<T> {
    pub(super) fn new(
        publishing: Publishing,
        map: fn(Ack) -> Result<T, EmitError>,
        span: Span,
    ) -> Self {
        Emit {
            state: State::Publishing(publishing),
            map,
            span,
        }
    }

    pub(super) fn failed(error: EmitError) -> Self {
        Emit {
            state: State::Failed(Some(error)),
            map: |_| {
                Err(EmitError::Backplane(BackplaneError::new(
                    "no acknowledgement",
                    None,
                )))
            },
            span: Span::none(),
        }
    }

    /// Record the outcome on the publish span and end it.
    fn finish(&mut self, result: Result<Ack, BackplaneError>) -> Result<T, EmitError> {
        let span = std::mem::replace(&mut self.span, Span::none());
        if !span.is_disabled() {
            match &result {
                Ok(Ack { ids, .. }) if ids.len() == 1 => {
                    span.record("messaging.message.id", tracing::field::display(ids[0]));
                }
                Ok(_) => {}
                Err(_) => {
                    span.record("otel.status_code", "ERROR");
                }
            }
        }
        result.map_err(EmitError::Backplane).and_then(self.map)
    }

    /// The outcome if it is known without waiting: always with the in-memory
    /// backplane, and for an event that failed validation. `None` while a
    /// shared backplane has not answered. Lets synchronous code emit:
    ///
    /// ```
    /// # use continuum_runtime::prelude::*;
    /// # #[continuum_event("docs.emitfut.now")] pub struct Ping { pub n: u32 }
    /// let hub = Hub::builder().build().unwrap();
    /// let id = hub.emit(Ping { n: 1 }).now().expect("in-memory: known at once").unwrap();
    /// assert_eq!(hub.last_event_id(), id);
    /// ```
    pub fn now(mut self) -> Option<Result<T, EmitError>> {
        let ready = match &mut self.state {
            State::Failed(e) => return e.take().map(Err),
            State::Publishing(p) => p.take_ready()?,
        };
        Some(self.finish(ready))
    }
}

impl<T> fmt::Debug for Emit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            State::Failed(e) => f.debug_tuple("Emit::Failed").field(e).finish(),
            State::Publishing(p) => f.debug_tuple("Emit").field(p).finish(),
        }
    }
}

impl<T> Future for Emit<T> {
    type Output = Result<T, EmitError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let ready = match &mut this.state {
            State::Failed(e) => {
                return Poll::Ready(Err(e.take().unwrap_or_else(|| {
                    EmitError::Backplane(BackplaneError::new("emit polled after completion", None))
                })))
            }
            State::Publishing(p) => match Pin::new(p).poll(cx) {
                Poll::Ready(r) => r,
                Poll::Pending => return Poll::Pending,
            },
        };
        Poll::Ready(this.finish(ready))
    }
}

pub(super) fn first_id(ack: Ack) -> Result<EventId, EmitError> {
    ack.ids
        .into_iter()
        .next()
        .ok_or_else(|| EmitError::Backplane(BackplaneError::new("no id assigned", None)))
}

pub(super) fn ids(ack: Ack) -> Result<Vec<EventId>, EmitError> {
    Ok(ack.ids)
}

pub(super) fn published(ack: Ack) -> Result<Published, EmitError> {
    Ok(Published {
        ids: ack.ids,
        replayed: ack.replayed,
    })
}

pub(super) fn nothing(_: Ack) -> Result<(), EmitError> {
    Ok(())
}
