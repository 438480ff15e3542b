//! The rules, one function per kind of change, each judging both directions
//! by the definition in the [module docs](super) and saying who it fails in
//! the words a report shows: old *workers* (and stored events) meet the new
//! build's full validation, and get a 422 with one of
//! [`IssueCode`]'s codes; old *readers* (open tabs, old subscribers) read
//! tolerantly, by type only.

use std::collections::BTreeSet;

use super::diff::Change;
use super::shape::{Interval, Repr, Shape};
use crate::validate::IssueCode;

/// One judged change, before it is placed at an event and path.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    what: String,
    backward: Option<String>,
    forward: Option<String>,
    note: Option<String>,
}

impl Finding {
    fn new(what: impl Into<String>) -> Self {
        Finding {
            what: what.into(),
            backward: None,
            forward: None,
            note: None,
        }
    }

    pub(crate) fn backward(what: impl Into<String>, why: impl Into<String>) -> Self {
        Finding {
            backward: Some(why.into()),
            ..Finding::new(what)
        }
    }

    pub(crate) fn forward(what: impl Into<String>, why: impl Into<String>) -> Self {
        Finding {
            forward: Some(why.into()),
            ..Finding::new(what)
        }
    }

    pub(crate) fn both(
        what: impl Into<String>,
        back: impl Into<String>,
        fwd: impl Into<String>,
    ) -> Self {
        Finding {
            backward: Some(back.into()),
            forward: Some(fwd.into()),
            ..Finding::new(what)
        }
    }

    pub(crate) fn compatible(what: impl Into<String>, note: impl Into<String>) -> Self {
        Finding {
            note: Some(note.into()),
            ..Finding::new(what)
        }
    }

    pub(crate) fn at(self, event: &str, path: &str) -> Change {
        Change {
            event: event.to_owned(),
            path: path.to_owned(),
            what: self.what,
            backward: self.backward,
            forward: self.forward,
            note: self.note,
        }
    }
}

/// "get 422 `code`".
fn get(code: IssueCode) -> String {
    format!("get 422 `{}`", code.as_str())
}

/// Integers past this read rounded as an `f64` (2^53).
const F64_EXACT: f64 = 9_007_199_254_740_992.0;
/// Integers past this read rounded as an `f32` (2^24).
const F32_EXACT: f64 = 16_777_216.0;

/// A value's type in a few words, for messages.
pub(crate) fn describe(shape: &Shape<'_>) -> String {
    match shape {
        Shape::Any => "any JSON value".into(),
        Shape::Null => "null".into(),
        Shape::Bool => "a boolean".into(),
        Shape::Nullable(_) => "a nullable value".into(),
        Shape::Integer { name, .. } => format!("an integer ({})", name.unwrap_or("integer")),
        Shape::Number { name, .. } => format!("a number ({})", name.unwrap_or("number")),
        Shape::String {
            formats: Some(f), ..
        } => format!("a string ({})", join(f.iter())),
        Shape::String { .. } => "a string".into(),
        Shape::Array { .. } => "an array".into(),
        Shape::Map { .. } => "a map".into(),
        Shape::Struct(_) => "an object".into(),
        Shape::Enum { .. } => "an enum".into(),
        Shape::Ref(_) | Shape::Unknown(_) => "a schema this version cannot read".into(),
    }
}

fn join<'a>(items: impl Iterator<Item = &'a &'a str>) -> String {
    items.copied().collect::<Vec<_>>().join(" or ")
}

pub(crate) fn from_any(new: &Shape<'_>) -> Finding {
    Finding::backward(
        format!("type narrowed from any JSON value to {}", describe(new)),
        format!("old workers sending other values {}", get(IssueCode::Type)),
    )
}

pub(crate) fn to_any(old: &Shape<'_>) -> Finding {
    Finding::forward(
        format!("type widened from {} to any JSON value", describe(old)),
        format!(
            "old readers hold {}; new writers may send any value",
            describe(old)
        ),
    )
}

pub(crate) fn only_null() -> Finding {
    Finding::backward(
        "now only null",
        format!("old workers sending a value {}", get(IssueCode::Type)),
    )
}

pub(crate) fn not_only_null() -> Finding {
    Finding::forward(
        "now a value or null, was only null",
        "old readers can read only null",
    )
}

pub(crate) fn null_dropped() -> Finding {
    Finding::backward(
        "no longer accepts null",
        format!("old workers sending null {}", get(IssueCode::Type)),
    )
}

pub(crate) fn null_added() -> Finding {
    Finding::forward(
        "now accepts null",
        "old readers cannot read null here (their type is not an Option)",
    )
}

pub(crate) fn unknown() -> Finding {
    Finding::both(
        "schema changed in a way this version cannot judge",
        "old workers' values may be rejected",
        "old readers may not read new values",
    )
}

/// A `custom = …` check (recorded as a `$comment`: "also checked by `path`").
pub(crate) fn custom(old: Option<&str>, new: Option<&str>) -> Vec<Finding> {
    let name = |c: &str| {
        c.strip_prefix("also checked by ")
            .unwrap_or(c)
            .trim_matches('`')
            .to_owned()
    };
    let fails = || {
        format!(
            "old workers' values may fail it and {}",
            get(IssueCode::Custom)
        )
    };
    match (old.map(name), new.map(name)) {
        (a, b) if a == b => vec![],
        (None, Some(b)) => vec![Finding::backward(
            format!("custom check `{b}` added"),
            fails(),
        )],
        (Some(a), Some(b)) => vec![Finding::backward(
            format!("custom check changed from `{a}` to `{b}`"),
            fails(),
        )],
        (Some(a), None) => vec![Finding::compatible(
            format!("custom check `{a}` removed"),
            "the new build accepts more; readers do not re-check",
        )],
        (None, None) => vec![],
    }
}

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

pub(crate) fn closed_changed(was_closed: bool) -> Finding {
    if was_closed {
        Finding::compatible(
            "undeclared fields now accepted",
            "the new build ignores them",
        )
    } else {
        Finding::backward(
            "undeclared fields now refused (deny_unknown_fields)",
            format!(
                "old workers sending fields beyond the declared ones {}",
                get(IssueCode::UnknownField)
            ),
        )
    }
}

pub(crate) fn field_removed(name: &str, was_required: bool, new_closed: bool) -> Finding {
    let mut f = Finding::new("field removed");
    if new_closed {
        f.backward = Some(if was_required {
            format!(
                "every old worker sends `{name}` and would {}",
                get(IssueCode::UnknownField)
            )
        } else {
            format!(
                "old workers that still send `{name}` {}",
                get(IssueCode::UnknownField)
            )
        });
    }
    if was_required {
        f.forward = Some(format!(
            "old readers require `{name}`, which new events lack"
        ));
    }
    f.note = match (new_closed, was_required) {
        (false, false) => {
            Some("the new build ignores it; old readers allow it to be missing".into())
        }
        _ => None,
    };
    f
}

pub(crate) fn field_added(name: &str, required: bool, old_took_it_unchecked: bool) -> Finding {
    if required {
        return Finding::backward(
            "required field added",
            format!(
                "old workers that do not send `{name}` {}",
                get(IssueCode::Required)
            ),
        );
    }
    if old_took_it_unchecked {
        return Finding::backward(
            "optional field added where undeclared fields were accepted",
            format!(
                "old workers may already send `{name}` with any value; one of another type {}",
                get(IssueCode::Type)
            ),
        );
    }
    Finding::compatible("optional field added", "old readers ignore it")
}

pub(crate) fn required_changed(name: &str, now_required: bool) -> Finding {
    if now_required {
        Finding::backward(
            "field now required",
            format!(
                "old workers that omit `{name}` {}",
                get(IssueCode::Required)
            ),
        )
    } else {
        Finding::forward(
            "field now optional",
            format!("old readers require `{name}`, which new writers may omit"),
        )
    }
}

pub(crate) fn repr_changed(old: Repr<'_>, new: Repr<'_>) -> Finding {
    let name = |r: Repr<'_>| match r {
        Repr::External => "externally tagged".to_owned(),
        Repr::Tag(t) => format!("tagged by `{t}`"),
    };
    Finding::both(
        format!(
            "enum representation changed from {} to {}",
            name(old),
            name(new)
        ),
        format!(
            "old workers' values are in the old shape and {}",
            get(IssueCode::Type)
        ),
        "old readers cannot read the new shape",
    )
}

pub(crate) fn variant_removed(name: &str) -> Finding {
    Finding::backward(
        format!("variant `{name}` removed"),
        format!("old workers sending `{name}` {}", get(IssueCode::Type)),
    )
}

pub(crate) fn variant_added(name: &str) -> Finding {
    Finding::forward(
        format!("variant `{name}` added"),
        format!("old readers cannot read `{name}`"),
    )
}

pub(crate) fn variant_kind_changed(name: &str) -> Finding {
    Finding::both(
        format!("variant `{name}` changed between unit and carrying data"),
        format!("old workers' `{name}` values {}", get(IssueCode::Type)),
        format!("old readers cannot read the new `{name}`"),
    )
}
