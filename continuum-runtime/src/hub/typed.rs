//! In-process typed subscriptions: `hub.subscribe::<E>()`.

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::Inner;
use crate::event::Event;
use crate::ring::{Read, Registration};

const READ_BATCH: usize = 64;

/// A typed subscription fell behind: `skipped` events (of any type) were
/// passed over and it continues from the newest. Lag is never silent.
///
/// Also yielded, with `skipped: 0`, when a shared backplane lost events this
/// node never saw (its stream was lost, or entries left it unread): how many
/// is unknown, only that some may be missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lagged {
    /// How many events of the hub's log were skipped.
    pub skipped: u64,
}

impl fmt::Display for Lagged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "subscription fell behind and skipped {} events",
            self.skipped
        )
    }
}

impl std::error::Error for Lagged {}

/// A `Stream` of `Result<Arc<E>, Lagged>`: every `E` published after the
/// subscription was made, in order. See [`Hub::subscribe`](crate::Hub::subscribe).
pub struct Subscription<E> {
    inner: Arc<Inner>,
    cursor: u64,
    ready: VecDeque<Result<Arc<E>, Lagged>>,
    registration: Option<Registration>,
    _type: PhantomData<fn() -> E>,
}

impl<E> fmt::Debug for Subscription<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("type", &std::any::type_name::<E>())
            .field("cursor", &self.cursor)
            .finish()
    }
}

impl<E: Event> Subscription<E> {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        let cursor = inner.log.log.head();
        Subscription {
            inner,
            cursor,
            ready: VecDeque::new(),
            registration: None,
            _type: PhantomData,
        }
    }

    /// The next `E`, or `Err(Lagged)` when the subscription fell behind (it
    /// then continues from the newest event). Never ends while the hub lives.
    ///
    /// ```
    /// # use continuum_runtime::prelude::*;
    /// # #[continuum_event("docs.typed.recv")] #[derive(Debug, PartialEq)] pub struct Ping { pub n: u32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let hub = Hub::builder().build().unwrap();
    /// let mut pings = hub.subscribe::<Ping>();
    /// Ping { n: 1 }.emit(&hub).await.unwrap();
    /// assert_eq!(*pings.recv().await.unwrap(), Ping { n: 1 });
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Result<Arc<E>, Lagged> {
        loop {
            if let Some(item) = std::future::poll_fn(|cx| self.poll_item(cx)).await {
                return item;
            }
        }
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Arc<E>, Lagged>>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Poll::Ready(Some(item));
            }
            let log = &self.inner.log.log;
            let head = log.head();
            if self.cursor < head {
                let bound = self.inner.config.queue_bound as u64;
                if head - self.cursor > bound {
                    let skipped = head - self.cursor;
                    self.cursor = head;
                    return Poll::Ready(Some(Err(Lagged { skipped })));
                }
                let ready = &mut self.ready;
                match log.read(self.cursor, READ_BATCH, |f| {
                    if f.control {
                        // The backplane lost events it cannot count.
                        ready.push_back(Err(Lagged { skipped: 0 }));
                    } else if f.contract && f.type_name == E::TYPE {
                        // An event of a version newer than this build knows.
                        ready.push_back(Err(Lagged { skipped: 1 }));
                    } else if f.type_name == E::TYPE {
                        let typed = match &f.value {
                            Some(v) => v.clone().downcast::<E>().ok(),
                            None => f
                                .data
                                .as_ref()
                                .and_then(|d| serde_json::from_slice::<E>(d).ok())
                                .map(Arc::new),
                        };
                        if let Some(e) = typed {
                            ready.push_back(Ok(e));
                        }
                    }
                    true
                }) {
                    Read::Advanced(pos) => self.cursor = pos,
                    Read::Lagged { missed } => {
                        let skipped = head.saturating_sub(self.cursor).max(missed);
                        self.cursor = head;
                        return Poll::Ready(Some(Err(Lagged { skipped })));
                    }
                    Read::Empty => {}
                }
                continue;
            }
            let hb = log.heartbeat_generation();
            if log.register(&mut self.registration, cx.waker(), self.cursor, hb) {
                return Poll::Pending;
            }
        }
    }
}

impl<E: Event> futures_core::Stream for Subscription<E> {
    type Item = Result<Arc<E>, Lagged>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_item(cx)
    }
}
