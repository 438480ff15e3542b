//! Helpers for the contract tests: a contract of one event, a judged pair,
//! and `pair!`, which declares an `old` and a `new` version of one event.

use continuum_runtime::contract::{diff, Contract, Mode, Report};
use continuum_runtime::{Event, Registry};

/// The contract of a registry holding only `E`.
pub fn contract<E: Event>() -> Contract {
    let mut registry = Registry::new();
    registry.register::<E>().unwrap();
    Contract::of(&registry)
}

/// The report for `Old` → `New`.
pub fn report<Old: Event, New: Event>() -> Report {
    diff(&contract::<Old>(), &contract::<New>())
}

/// Assert the report's lines; and one consequence of the definition checked
/// on the reversed pair: readers accept at least what ingest accepts, so
/// when old readers cannot read what the new build accepts (forward), the
/// old build's ingest cannot take it either (the reversed change breaks
/// backward).
#[track_caller]
pub fn judge<Old: Event, New: Event>(want: &[&str]) {
    let report = report::<Old, New>();
    let got: Vec<String> = report.changes().iter().map(ToString::to_string).collect();
    assert_eq!(got, want, "\nwhole report:\n{report}");
    let backward = report.breaks(Mode::Backward);
    let forward = report.breaks(Mode::Forward);
    assert_eq!(report.breaks(Mode::Full), backward || forward);
    if forward {
        let reverse = self::report::<New, Old>();
        assert!(reverse.breaks(Mode::Backward), "reverse:\n{reverse}");
    }
}

/// `old` and `new` modules, each declaring the tokens given.
macro_rules! pair {
    ($name:ident: old { $($old:tt)* } new { $($new:tt)* }) => {
        mod $name {
            pub mod old {
                #[allow(unused_imports)]
                use continuum_runtime::prelude::*;
                $($old)*
            }
            pub mod new {
                #[allow(unused_imports)]
                use continuum_runtime::prelude::*;
                $($new)*
            }
        }
    };
}
