//! Support code for the fan-out benchmark of issue 5: a streaming SSE client parser
//! cheap enough that the load generator is not the bottleneck, `/proc` readers for
//! CPU and memory, and the report that turns runs into a table of medians and ratios.
//!
//! The binaries are `loadgen` (the load generator), `baseline` (the hand-rolled axum
//! server every figure is compared with) and `continuum_server` (the same contract on
//! `continuum-runtime`, behind the `continuum` feature). `bench/run.sh` runs them all.

pub mod procfs;
pub mod report;
pub mod sse;
