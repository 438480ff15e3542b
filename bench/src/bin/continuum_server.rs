//! The Continuum target of the benchmark: the same contract as the baseline, served by
//! `continuum-runtime` (built only with `--features continuum`).
//!
//! ```text
//! continuum_server [ADDR]   # or CONTINUUM_ADDR; default 127.0.0.1:3002
//! ```
//!
//! The hub is built from the environment (`CONTINUUM_*`, see `HubBuilder::from_env`),
//! otherwise with the defaults every user gets, but for the per-subscriber queue
//! bound, which matches the baseline's broadcast buffer (65,536 events;
//! `BENCH_QUEUE_BOUND` overrides it).

use continuum_runtime::prelude::*;

/// One benchmark event: its sequence number and the publisher's send time, in
/// nanoseconds since the load generator started.
#[continuum_event("bench.tick")]
pub struct BenchTick {
    /// Sequence number of the event in its run.
    #[event(range(min = 0, max = 1_000_000_000_000))]
    pub seq: u64,
    /// When the publisher sent it (load generator clock, ns).
    pub sent_ns: u64,
}

/// The keyed benchmark event (K1, K2): the latest per `key` is kept.
#[continuum_event("bench.state", key = key)]
pub struct BenchState {
    /// Which of the benchmark's keys.
    pub key: String,
    /// Sequence number of the update.
    pub seq: u64,
    /// When the publisher sent it (load generator clock, ns).
    pub sent_ns: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("CONTINUUM_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:3002".to_owned());
    // Defaults, as a user gets them (`CONTINUUM_*` variables may override
    // them), except the per-subscriber queue bound: the baseline's broadcast
    // buffer holds 65,536 events (`BASELINE_CAPACITY`) so that it never lags
    // here, and Continuum gets the same room (`BENCH_QUEUE_BOUND`), or a
    // max-rate flood cuts its subscribers off (by design, with a reset) where
    // the baseline's would only fall behind.
    let queue_bound = std::env::var("BENCH_QUEUE_BOUND")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(65_536);
    // `register` is redundant where the attribute's automatic registration works.
    let hub = continuum_runtime::HubBuilder::from_env()?
        .queue_bound(queue_bound)
        .register::<BenchTick>()
        .register::<BenchState>()
        .build()?;
    continuum_runtime::serve(addr.as_str(), hub).await?;
    Ok(())
}
