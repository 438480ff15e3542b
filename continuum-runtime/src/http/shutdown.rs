//! Ending every open SSE stream of a service when the server shuts down.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::hub::Hub;

/// Shared by a service, its clones and every stream body it returned.
///
/// A stream body checks the flag each time it is polled (one atomic load);
/// [`stop`](Self::stop) then wakes every waiting stream through the hub's
/// heartbeat, so no per-stream registration is needed.
#[derive(Clone, Debug)]
pub(crate) struct Shutdown {
    inner: Arc<State>,
}

#[derive(Debug)]
struct State {
    stopped: AtomicBool,
    hub: Hub,
}

impl Shutdown {
    pub(crate) fn new(hub: Hub) -> Self {
        Shutdown {
            inner: Arc::new(State {
                stopped: AtomicBool::new(false),
                hub,
            }),
        }
    }

    /// End every stream, now and from now on.
    pub(crate) fn stop(&self) {
        self.inner.stopped.store(true, Ordering::Release);
        // A heartbeat wakes every waiting stream (a stream registering at
        // this moment sees the new generation and polls again); polled,
        // its body sees the flag and ends.
        self.inner.hub.inner.log.log.tick_heartbeat();
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::Acquire)
    }
}
