//! The hub's one background task: the shared heartbeat ticker and the wake
//! pump, started by the first subscriber and ended with the hub.

use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::Duration;

use super::Inner;
use crate::ring::Log;

/// Clears `ticker_running` however the ticker task ends (hub dropped, or
/// its runtime shut down), so the next subscriber starts a new one, and
/// hands waking back to publishers meanwhile.
struct TickerGuard(Weak<Inner>);

impl Drop for TickerGuard {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.log.log.stop_pump();
            inner.ticker_running.store(false, Ordering::Release);
        }
    }
}

/// The hub's one background task: the shared heartbeat, and the wake pump.
///
/// In a burst of publishes, a publish hands the wakers of every waiting
/// subscriber to this task (`Log::wake_all`), which feeds them to the
/// scheduler a chunk at a time: a publisher never wakes thousands of tasks
/// itself, and the run queue never holds every subscriber ahead of the next
/// ingest request. Subscribers woken later in a pass find more events waiting
/// and write them in one chunk. A publish into a quiet hub wakes its
/// subscribers itself, which is quicker when there is nothing to coalesce.
pub(super) async fn ticker(weak: Weak<Inner>, period: Duration) {
    enum Next {
        Tick,
        Wake,
        Gone,
    }
    let _guard = TickerGuard(weak.clone());
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::new();
    loop {
        let next = std::future::poll_fn(|cx| {
            if interval.poll_tick(cx).is_ready() {
                return std::task::Poll::Ready(Next::Tick);
            }
            let Some(inner) = weak.upgrade() else {
                return std::task::Poll::Ready(Next::Gone);
            };
            if inner.log.log.take_pending(&mut batch, cx.waker()) {
                std::task::Poll::Ready(Next::Wake)
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        match next {
            Next::Tick => {
                let Some(inner) = weak.upgrade() else { return };
                inner.log.log.tick_heartbeat();
                // Keys past their `ttl` leave the state here too (and are
                // left out of snapshots as soon as they expire).
                inner.log.log.expire_state();
            }
            Next::Wake => Log::wake_chunked(&mut batch).await,
            Next::Gone => return,
        }
    }
}
