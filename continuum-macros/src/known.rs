//! The names of the types `#[derive(Payload)]` has expanded so far in this
//! compilation, so a field of such a type is written and read by serde
//! directly rather than through `Payload`'s methods (see
//! `check::is_standard`): both do the same for a derived type, and the
//! direct way costs less to compile (serde generates a helper type per
//! field it routes: about a third more build time in bench/compile-cost).
//!
//! Expansion order is the compiler's, and another crate's types are never
//! seen, so the set is a hint: a type missing from it is routed (correct,
//! slower to build); a name in it that denotes another type in another
//! module only loses the one-error guarantee for that field. Behaviour never
//! depends on it.

use std::collections::BTreeSet;
use std::sync::Mutex;

static DERIVED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Record that `name` derives `Payload`.
pub(crate) fn record(name: &str) {
    if let Ok(mut names) = DERIVED.lock() {
        names.insert(name.to_owned());
    }
}

/// Whether a type named `name` has derived `Payload` in this compilation.
pub(crate) fn is_derived(name: &str) -> bool {
    DERIVED.lock().is_ok_and(|names| names.contains(name))
}
