//! The unpublished workspace root: its examples and integration tests exercise the crates together.

pub mod demo;
