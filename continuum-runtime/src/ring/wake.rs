//! Waking subscribers: a subscriber that has read everything registers its
//! waker (once per publish generation) and re-checks `head` under the same
//! mutex, so a publish between its last read and its registration is never
//! missed; a publish wakes them inline when the hub is quiet, or hands them to
//! the wake pump (the hub's ticker task) in a burst.

use std::sync::atomic::Ordering;
use std::sync::PoisonError;
use std::task::Waker;
use std::time::{Duration, Instant};

use super::{lock, Log, Registration};

#[derive(Default)]
pub(super) struct Waiters {
    generation: u64,
    list: Vec<Waker>,
    spare: Vec<Waker>,
    /// Whether a wake pump task runs (the hub's ticker task): then
    /// [`Log::wake_all`] hands the wakers to it instead of waking them inline.
    pump_running: bool,
    /// Wakers handed to the pump, not yet woken.
    pending: Vec<Waker>,
    /// The pump task, while it waits for work (`None` while it wakes a batch).
    pump: Option<Waker>,
    /// When the hub last did fan-out work: a [`Log::wake_all`], or a woken
    /// subscriber registering again after its write.
    last_activity: Option<Instant>,
}

/// Subscribers the wake pump wakes before it yields to the scheduler.
const WAKE_CHUNK: usize = 64;

/// A publish this soon after the previous one, or while subscribers are still
/// catching up (one registered again this recently), is part of a burst: its
/// wake-ups go through the pump, which lets more events queue up before the
/// subscribers run, so that they write them together. A publish into a quiet
/// hub wakes its subscribers itself: nothing is coming to coalesce with, and
/// the hand-off only adds latency. The pump's continuation waits on
/// one worker's deferred list (`yield_now`), so a worker preempted mid-sweep
/// stalls the rest of the sweep. Measured on S5 (1,000 subscribers, 20
/// events/s), p999: pump only 16.6 ms, this 11.9 ms (p50, p99 unchanged);
/// with a 1 ms gap S1 lost a third of its deliveries/s, with 10 ms nothing
/// measurable (BENCHMARKS.md, profile finding 7).
const BURST_GAP: Duration = Duration::from_millis(10);

impl Drop for Log {
    fn drop(&mut self) {
        // Let the pump task see that the hub is gone and end.
        let pump = self
            .waiters
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .pump
            .take();
        if let Some(pump) = pump {
            pump.wake();
        }
    }
}

impl Log {
    /// Wake every registered subscriber (after a publish or a heartbeat).
    ///
    /// In a burst (fan-out work less than [`BURST_GAP`] ago, or the pump
    /// still busy) and with a pump running, the wakers are handed to it: the
    /// publisher pays one lock and one wake, whatever the number of
    /// subscribers, and the pump feeds them to the scheduler a chunk at a
    /// time (the hub's ticker task). Otherwise they are woken here.
    pub(crate) fn wake_all(&self) {
        let mut taken = {
            let mut w = lock(&self.waiters);
            w.generation += 1;
            let now = Instant::now();
            let burst = w
                .last_activity
                .is_some_and(|last| now.saturating_duration_since(last) < BURST_GAP);
            w.last_activity = Some(now);
            if w.list.is_empty() {
                return;
            }
            // While the pump is busy with a batch (`pump` taken), later
            // wakers queue behind it in order.
            let pump_busy = w.pump.is_none() || !w.pending.is_empty();
            if w.pump_running && (burst || pump_busy) {
                let waiters = &mut *w;
                if waiters.pending.is_empty() {
                    std::mem::swap(&mut waiters.pending, &mut waiters.list);
                } else {
                    waiters.pending.append(&mut waiters.list);
                }
                let pump = waiters.pump.take();
                drop(w);
                if let Some(pump) = pump {
                    pump.wake();
                }
                return;
            }
            let spare = std::mem::take(&mut w.spare);
            std::mem::replace(&mut w.list, spare)
        };
        for waker in taken.drain(..) {
            waker.wake();
        }
        let mut w = lock(&self.waiters);
        if w.spare.capacity() < taken.capacity() {
            w.spare = taken;
        }
    }

    /// From now on [`Self::wake_all`] hands wakers to the hub's ticker task.
    pub(crate) fn start_pump(&self) {
        lock(&self.waiters).pump_running = true;
    }

    /// The pump stopped (its runtime shut down): wake inline from now on,
    /// and wake whatever it had not woken yet.
    pub(crate) fn stop_pump(&self) {
        let pending = {
            let mut w = lock(&self.waiters);
            w.pump_running = false;
            w.pump = None;
            std::mem::take(&mut w.pending)
        };
        for waker in pending {
            waker.wake();
        }
    }

    /// Take the wakers handed to the pump, or register the pump's waker and
    /// return `None` when there are none. `batch` (empty) is swapped in as the
    /// new pending list, so the two vectors' capacity is reused.
    pub(crate) fn take_pending(&self, batch: &mut Vec<Waker>, pump: &Waker) -> bool {
        let mut w = lock(&self.waiters);
        if w.pending.is_empty() {
            match &w.pump {
                Some(p) if p.will_wake(pump) => {}
                _ => w.pump = Some(pump.clone()),
            }
            return false;
        }
        std::mem::swap(&mut w.pending, batch);
        true
    }

    pub(crate) fn tick_heartbeat(&self) {
        self.heartbeat.fetch_add(1, Ordering::AcqRel);
        self.wake_all();
    }

    /// Wake `batch` a chunk at a time, yielding to the scheduler between
    /// chunks so that the tasks already queued (an ingest request, say) are
    /// not stuck behind every subscriber of the hub.
    pub(crate) async fn wake_chunked(batch: &mut Vec<Waker>) {
        // Let the tasks already queued (ingest requests) run first, for two
        // scheduler passes: the events they publish go out in the same
        // writes. Measured on S6 (16 publishers, 10 subscribers): one pass,
        // 14 deliveries per subscriber write; two, 18; server CPU per event
        // 15.7 -> 14.7 us. An idle runtime runs the passes at once.
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
        let mut woken = 0;
        for waker in batch.drain(..) {
            waker.wake();
            woken += 1;
            if woken % WAKE_CHUNK == 0 {
                tokio::task::yield_now().await;
            }
        }
    }

    /// Register `waker` unless something new arrived since `cursor` (or a
    /// heartbeat since `hb`). Returns `false` when the caller should read again.
    pub(crate) fn register(
        &self,
        reg: &mut Option<Registration>,
        waker: &Waker,
        cursor: u64,
        hb: u64,
    ) -> bool {
        let mut w = lock(&self.waiters);
        if self.head() != cursor || self.heartbeat_generation() != hb {
            return false;
        }
        match *reg {
            Some((generation, idx)) if generation == w.generation && idx < w.list.len() => {
                if !w.list[idx].will_wake(waker) {
                    w.list[idx] = waker.clone();
                }
            }
            _ => {
                let generation = w.generation;
                w.last_activity = Some(Instant::now());
                w.list.push(waker.clone());
                *reg = Some((generation, w.list.len() - 1));
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Epoch;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn log_with_pump() -> (Log, Arc<Count>) {
        let log = Log::new(Epoch::random(), 16);
        log.start_pump();
        // The pump waits for work.
        let pump = Arc::new(Count(AtomicUsize::new(0)));
        assert!(!log.take_pending(&mut Vec::new(), &Waker::from(pump.clone())));
        (log, pump)
    }

    fn register(log: &Log, n: usize) -> Arc<Count> {
        let subscribers = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(subscribers.clone());
        for _ in 0..n {
            assert!(log.register(&mut None, &waker, log.head(), log.heartbeat_generation()));
        }
        subscribers
    }

    /// As if the hub had done nothing for a while.
    fn quiet(log: &Log) {
        log.waiters.lock().unwrap().last_activity = Some(Instant::now() - BURST_GAP * 2);
    }

    #[test]
    fn a_publish_into_a_quiet_hub_wakes_subscribers_itself_and_a_burst_goes_through_the_pump() {
        let (log, pump) = log_with_pump();

        // A publish right after subscribers registered (they are still
        // catching up with a previous one): through the pump.
        let catching_up = register(&log, 1);
        log.wake_all();
        assert_eq!(catching_up.0.load(Ordering::SeqCst), 0);
        assert_eq!(pump.0.load(Ordering::SeqCst), 1);
        let mut batch = Vec::new();
        assert!(log.take_pending(&mut batch, &Waker::from(pump.clone())));
        batch.clear();
        assert!(!log.take_pending(&mut batch, &Waker::from(pump.clone())));

        // Quiet hub, pump idle: woken at once.
        let first = register(&log, 3);
        quiet(&log);
        log.wake_all();
        assert_eq!(first.0.load(Ordering::SeqCst), 3);
        assert_eq!(pump.0.load(Ordering::SeqCst), 1, "the pump was not woken");

        // Right after: a burst. Handed to the pump, not woken yet.
        let second = register(&log, 2);
        log.wake_all();
        assert_eq!(second.0.load(Ordering::SeqCst), 0);
        assert_eq!(pump.0.load(Ordering::SeqCst), 2);
        assert!(log.take_pending(&mut batch, &Waker::noop().clone()));
        assert_eq!(batch.len(), 2);

        // The pump is busy with that batch: a publish after a gap still
        // queues behind it, in order.
        let third = register(&log, 1);
        quiet(&log);
        log.wake_all();
        assert_eq!(third.0.load(Ordering::SeqCst), 0);
        assert_eq!(log.waiters.lock().unwrap().pending.len(), 1);
    }
}
