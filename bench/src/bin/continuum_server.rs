//! The Continuum target of the benchmark: the same contract as the baseline, served by
//! `continuum-runtime` (built only with `--features continuum`).
//!
//! ```text
//! continuum_server [ADDR]   # or CONTINUUM_ADDR; default 127.0.0.1:3002
//! ```
//!
//! The hub is built from the environment (`CONTINUUM_*`, see `HubBuilder::from_env`),
//! otherwise with the defaults every user gets.

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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("CONTINUUM_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:3002".to_owned());
    // Defaults, as a user gets them; `CONTINUUM_*` variables may override them.
    // `register` is redundant where the attribute's automatic registration works.
    let hub = continuum_runtime::HubBuilder::from_env()?
        .register::<BenchTick>()
        .build()?;
    continuum_runtime::serve(addr.as_str(), hub).await?;
    Ok(())
}
