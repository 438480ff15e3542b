#![doc = include_str!("../README.md")]
//!
//! (The root package is not published: it holds the demo, the examples and the
//! cross-crate tests. Including the README here makes every Rust block in it a
//! doc test, so the guide cannot drift from the code.)

pub mod demo;
