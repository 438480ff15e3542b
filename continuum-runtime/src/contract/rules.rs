//! The rules, one function per kind of change, each judging both directions
//! by the definition in the [module docs](super) and saying who it fails in
//! the words a report shows: old *workers* (and stored events) meet the new
//! build's full validation, and get a 422 with one of
//! [`IssueCode`]'s codes; old *readers* (open tabs, old subscribers) read
//! tolerantly, by type only. This file holds the rules for structure (fields,
//! enums, null, any value, custom checks); `values.rs` those for single
//! values (numbers, strings, arrays).

use super::report::Change;
use super::shape::{Repr, Shape};
use crate::validate::IssueCode;

/// One judged change, before it is placed at an event and path.
#[derive(Clone, Debug)]
pub(crate) struct Finding {
    pub(crate) what: String,
    pub(crate) backward: Option<String>,
    pub(crate) forward: Option<String>,
    pub(crate) note: Option<String>,
}

impl Finding {
    pub(crate) fn new(what: impl Into<String>) -> Self {
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
pub(crate) fn get(code: IssueCode) -> String {
    format!("get 422 `{}`", code.as_str())
}

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

pub(crate) fn join<'a>(items: impl Iterator<Item = &'a &'a str>) -> String {
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
