//! Ending every open SSE stream of a service when the server shuts down.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::futures::OwnedNotified;
use tokio::sync::Notify;

/// Shared by a service, its clones and every stream body it returned.
#[derive(Clone, Debug, Default)]
pub(crate) struct Shutdown {
    inner: Arc<State>,
}

#[derive(Debug, Default)]
struct State {
    stopped: AtomicBool,
    notify: Arc<Notify>,
}

impl Shutdown {
    /// End every stream, now and from now on.
    pub(crate) fn stop(&self) {
        self.inner.stopped.store(true, Ordering::Release);
        // Wakes every `OwnedNotified` created before this call, polled or not.
        self.inner.notify.notify_waiters();
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::Acquire)
    }

    pub(crate) fn notified(&self) -> OwnedNotified {
        self.inner.notify.clone().notified_owned()
    }
}
