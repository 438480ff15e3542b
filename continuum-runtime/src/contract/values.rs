//! The rules for single values: numbers (an integer type and its range,
//! floats), strings (format, length, pattern), arrays (length, sets, fixed
//! size), and a type changed into another. Same definition and words as
//! `rules.rs`: writers meet the new build's full validation, old readers
//! read by type only.

use std::collections::BTreeSet;

use super::rules::{describe, get, join, Finding};
use super::shape::{Interval, Shape};
use crate::validate::IssueCode;

/// Integers past this read rounded as an `f64` (2^53).
const F64_EXACT: f64 = 9_007_199_254_740_992.0;
/// Integers past this read rounded as an `f32` (2^24).
const F32_EXACT: f64 = 16_777_216.0;

/// Numbers, strings, and a type changed into another.
pub(crate) fn scalar(old: &Shape<'_>, new: &Shape<'_>) -> Vec<Finding> {
    match (old, new) {
        (
            Shape::Integer {
                values: ov,
                holds: oh,
                name: on,
            },
            Shape::Integer {
                values: nv,
                holds: nh,
                name: nn,
            },
        )
        | (
            Shape::Number {
                values: ov,
                holds: oh,
                name: on,
            },
            Shape::Number {
                values: nv,
                holds: nh,
                name: nn,
            },
        ) => numbers((ov, oh, *on), (nv, nh, *nn)),
        (
            Shape::Integer { values, .. },
            Shape::Number {
                values: nv, name, ..
            },
        ) => {
            let exact = if *name == Some("f32") {
                F32_EXACT
            } else {
                F64_EXACT
            };
            let back = if !values.within(nv) {
                Some(format!(
                    "old workers sending values outside {nv} {}",
                    get(IssueCode::Range)
                ))
            } else if values.exceeds(exact) {
                Some(format!(
                    "old workers' integers beyond {exact:.0} read rounded"
                ))
            } else {
                None
            };
            vec![Finding {
                backward: back,
                ..Finding::forward(
                    format!("type changed from {} to {}", describe(old), describe(new)),
                    "old readers hold integers; new writers may send fractions such as 1.5",
                )
            }]
        }
        (Shape::Number { .. }, Shape::Integer { values, .. }) => {
            let mut f = Finding::backward(
                format!("type changed from {} to {}", describe(old), describe(new)),
                format!(
                    "old workers sending fractions such as 1.5 {}",
                    get(IssueCode::Type)
                ),
            );
            if let Shape::Number { holds, .. } = old {
                if !values.within(holds) {
                    f.forward = Some(format!(
                        "old readers hold {holds}; new writers may send more"
                    ));
                }
            }
            vec![f]
        }
        (
            Shape::String {
                formats: of,
                len: ol,
                pattern: op,
            },
            Shape::String {
                formats: nf,
                len: nl,
                pattern: np,
            },
        ) => {
            let mut out = formats(of.as_ref(), nf.as_ref());
            out.extend(length(*ol, *nl, IssueCode::Length));
            out.extend(pattern(*op, *np));
            out
        }
        (Shape::Enum { variants, .. }, Shape::String { formats: None, .. }) => {
            vec![Finding::forward(
                "type changed from an enum to a string",
                format!(
                    "old readers know only {}; new writers may send any string",
                    quoted(variants.keys())
                ),
            )]
        }
        (Shape::String { formats: None, .. }, Shape::Enum { variants, .. }) => {
            vec![Finding::backward(
                "type changed from a string to an enum",
                format!(
                    "old workers sending strings other than {} {}",
                    quoted(variants.keys()),
                    get(IssueCode::Type)
                ),
            )]
        }
        _ => vec![Finding::both(
            format!("type changed from {} to {}", describe(old), describe(new)),
            format!("old workers' values {}", get(IssueCode::Type)),
            format!("old readers cannot read {}", describe(new)),
        )],
    }
}

fn quoted<'a>(names: impl Iterator<Item = &'a &'a str>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Integers or floats: accepted values (type ∩ range) and the type a reader holds.
fn numbers(
    (ov, oh, on): (&Interval, &Interval, Option<&str>),
    (nv, nh, nn): (&Interval, &Interval, Option<&str>),
) -> Vec<Finding> {
    let mut out = Vec::new();
    if on != nn {
        let what = format!(
            "type changed from {} to {}",
            on.unwrap_or("?"),
            nn.unwrap_or("?")
        );
        let mut f = Finding::new(what);
        if !ov.within(nh) {
            f.backward = Some(format!(
                "old workers sending values outside {nh} {}",
                get(IssueCode::Type)
            ));
        }
        if !nv.within(oh) {
            f.forward = Some(format!(
                "old readers hold {} ({oh}); new writers may send values outside it",
                on.unwrap_or("a narrower type")
            ));
        }
        if f.backward.is_none() && f.forward.is_none() {
            f.note = Some("every value of either side fits the other's type".into());
        }
        out.push(f);
    }
    // The range, judged apart from the type (a type change above already
    // covers values outside the new type).
    if ov != nv {
        let what = format!("accepted values changed from {ov} to {nv}");
        let mut f = Finding::new(what);
        if ov.within(nh) && !ov.within(nv) {
            f.backward = Some(format!(
                "old workers sending values outside {nv} {}",
                get(IssueCode::Range)
            ));
        }
        if on == nn && !nv.within(oh) {
            f.forward = Some(format!(
                "old readers hold {} ({oh}); new writers may send values outside it",
                on.unwrap_or("?")
            ));
        }
        if f.backward.is_none() && f.forward.is_none() {
            f.note = Some(if nv.within(ov) {
                "narrowed; readers do not re-check ranges".into()
            } else {
                format!(
                    "widened within what old readers' {} holds",
                    on.unwrap_or("type")
                )
            });
        }
        if on == nn || f.backward.is_some() {
            out.push(f);
        }
    }
    out
}

fn formats(old: Option<&BTreeSet<&str>>, new: Option<&BTreeSet<&str>>) -> Vec<Finding> {
    if old == new {
        return vec![];
    }
    let name = |f: Option<&BTreeSet<&str>>| f.map_or("any string".into(), |f| join(f.iter()));
    let mut f = Finding::new(format!(
        "string format changed from {} to {}",
        name(old),
        name(new)
    ));
    if new.is_some_and(|n| old.is_none_or(|o| !o.is_subset(n))) {
        f.backward = Some(format!(
            "old workers sending a string that is not {} {}",
            name(new),
            get(IssueCode::Type)
        ));
    }
    if old.is_some_and(|o| new.is_none_or(|n| !n.is_subset(o))) {
        f.forward = Some(format!(
            "old readers parse {}; new writers may send other strings",
            name(old)
        ));
    }
    if f.backward.is_none() && f.forward.is_none() {
        f.note = Some("every value of either side parses on the other".into());
    }
    vec![f]
}

/// A `length` (or `minItems`/`maxItems`, `minProperties`/`maxProperties`).
pub(crate) fn length(old: Interval, new: Interval, code: IssueCode) -> Vec<Finding> {
    if old == new {
        return vec![];
    }
    let what = format!("length changed from {old} to {new}");
    if old.within(&new) {
        vec![Finding::compatible(what, "readers do not re-check lengths")]
    } else {
        vec![Finding::backward(
            what,
            format!("old workers sending a length outside {new} {}", get(code)),
        )]
    }
}

fn pattern(old: Option<&str>, new: Option<&str>) -> Vec<Finding> {
    match (old, new) {
        (a, b) if a == b => vec![],
        (_, Some(b)) => vec![Finding::backward(
            format!("pattern added or changed to `{b}`"),
            format!(
                "old workers sending strings that do not match {}",
                get(IssueCode::Pattern)
            ),
        )],
        (Some(a), None) => vec![Finding::compatible(
            format!("pattern `{a}` removed"),
            "the new build accepts more; readers do not re-check patterns",
        )],
        (None, None) => vec![],
    }
}

/// An array's length, uniqueness (a set) and fixed size (`[T; N]`).
pub(crate) fn array(
    (ol, ou, of): (Interval, bool, Option<&str>),
    (nl, nu, nf): (Interval, bool, Option<&str>),
) -> Vec<Finding> {
    let code = if nf.is_some() {
        IssueCode::Type
    } else {
        IssueCode::Length
    };
    let mut out = length(ol, nl, code);
    if of != nf {
        if let (Some(o), [f]) = (of, out.as_mut_slice()) {
            f.forward = Some(format!("old readers hold a fixed-size array `{o}`"));
            f.note = None;
        } else if let Some(o) = of {
            out.push(Finding::forward(
                "fixed size changed",
                format!("old readers hold a fixed-size array `{o}`"),
            ));
        }
    }
    match (ou, nu) {
        (false, true) => out.push(Finding::backward(
            "items must now be unique (a set)",
            format!("old workers sending duplicates {}", get(IssueCode::Type)),
        )),
        (true, false) => out.push(Finding::forward(
            "items no longer unique (was a set)",
            "old readers' sets refuse duplicates, which new writers may send",
        )),
        _ => {}
    }
    out
}
