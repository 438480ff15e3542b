//! The compatibility engine: two contracts in, one [`Change`] per difference
//! out, each judged in both directions by the definition in the
//! [module docs](super). This file walks events, structs and enums; the
//! rules are in `rules.rs` (structure) and `values.rs` (single values).

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value};

use super::report::{Change, Direction, Report};
use super::rules::{self, Finding};
use super::shape::{self, Body, Fields, Repr, Shape};
use super::values;
use super::{Contract, EventVersion};
use crate::validate::IssueCode;

/// Compare `old` with `new`: every change, judged in both directions.
pub fn diff(old: &Contract, new: &Contract) -> Report {
    let mut changes = Vec::new();
    let names: BTreeSet<&str> = old
        .events()
        .chain(new.events())
        .map(|(name, _)| name)
        .collect();
    for name in names {
        let mut push = |f: Finding| changes.push(f.at(name, "type"));
        match (old.event(name), new.event(name)) {
            (Some(_), None) => push(Finding::backward(
                "event type removed",
                format!(
                    "old workers posting `{name}` get 422 `unknown_type`, and `{name}` events \
                     the old build stored are no longer known"
                ),
            )),
            (None, Some(_)) => push(Finding::compatible(
                "event type added",
                "old readers skip event types they do not know",
            )),
            (Some(_), Some(_)) => {
                let (o, n) = (old.versions(name), new.versions(name));
                event_versions(
                    name,
                    o.unwrap_or_default(),
                    n.unwrap_or_default(),
                    &mut changes,
                );
            }
            (None, None) => {}
        }
    }
    super::vocabulary::diff(old.runtime(), new.runtime(), &mut changes);
    // Breaking changes first, then by event and path.
    changes.sort_by_cached_key(|c| {
        let compatible = c.direction() == Direction::None;
        (compatible, c.event.clone(), c.path.clone(), c.what.clone())
    });
    Report { changes }
}

/// The changes between two schemas of one event (`event` names it in
/// the report: `ai.task.progress`, or `ai.task.progress@1` for an older
/// version kept beside the newest).
fn compare(event: &str, old: &Value, new: &Value) -> Vec<Change> {
    let mut walk = Walk::new(event, old, new);
    walk.node("data", old, new);
    walk.out
}

/// One event present in both contracts, by version (see "Versions" in the
/// [module docs](super)). The newest versions are compared in both
/// directions when they are the same version. A newer version in the new
/// contract is an intended change, compatible: old writers' events of the
/// old newest version are still accepted and upcast, and an old reader
/// gets `continuum.reset` (`contract`) instead of the new shape. Every
/// version the old contract had must still read the same in the new one
/// (backward only: the new build publishes its newest version alone).
fn event_versions(name: &str, old: &[EventVersion], new: &[EventVersion], out: &mut Vec<Change>) {
    let (Some(old_top), Some(new_top)) = (old.last(), new.last()) else {
        return;
    };
    let (o, n) = (old_top.version, new_top.version);
    if n == o {
        out.append(&mut compare(name, &old_top.schema, &new_top.schema));
    } else if n > o {
        let finding = Finding::compatible(
            format!("new version {n} with an upcast from version {o}"),
            format!(
                "old workers' version-{o} events are accepted and upcast to version {n}; \
                 old readers get continuum.reset (contract) instead of version {n}"
            ),
        );
        out.push(finding.at(name, "type"));
    } else {
        let finding = Finding::backward(
            format!("version {o} removed; the newest is now version {n}"),
            format!(
                "old workers posting version {o} get 422 `unknown_version`, and version-{o} \
                 events the old build stored reset this build's subscribers (contract)"
            ),
        );
        out.push(finding.at(name, "type"));
    }
    for before in old
        .iter()
        .filter(|v| v.version < o.min(n) || (n > o && v.version == o))
    {
        let at = format!("{name}@{}", before.version);
        match new.iter().find(|v| v.version == before.version) {
            None => out.push(
                Finding::backward(
                    format!("version {} removed", before.version),
                    format!(
                        "old workers posting version {} get 422 `unknown_version`, and such \
                         events the old build stored reset this build's subscribers (contract)",
                        before.version
                    ),
                )
                .at(&at, "type"),
            ),
            Some(now) => out.extend(
                compare(&at, &before.schema, &now.schema)
                    .into_iter()
                    .filter(|c| c.backward.is_some())
                    .map(|c| Change { forward: None, ..c }),
            ),
        }
    }
}

/// One event's walk over its old and new schemas.
struct Walk<'a> {
    event: &'a str,
    old_defs: Option<&'a Map<String, Value>>,
    new_defs: Option<&'a Map<String, Value>>,
    /// Pairs of definitions already compared: recursive types end here.
    seen: HashSet<(&'a str, &'a str)>,
    out: Vec<Change>,
}

impl<'a> Walk<'a> {
    fn new(event: &'a str, old: &'a Value, new: &'a Value) -> Self {
        Walk {
            event,
            old_defs: old.get("$defs").and_then(Value::as_object),
            new_defs: new.get("$defs").and_then(Value::as_object),
            seen: HashSet::new(),
            out: Vec::new(),
        }
    }

    fn push(&mut self, path: &str, finding: Finding) {
        self.out.push(finding.at(self.event, path));
    }

    /// Compare the values at `path`.
    fn node(&mut self, path: &str, old: &'a Value, new: &'a Value) {
        let (old, old_ref) = resolve(old, self.old_defs);
        let (new, new_ref) = resolve(new, self.new_defs);
        if let (Some(a), Some(b)) = (old_ref, new_ref) {
            if !self.seen.insert((a, b)) {
                return;
            }
        }
        for finding in rules::custom(shape::custom(old), shape::custom(new)) {
            self.push(path, finding);
        }
        match (shape::parse(old), shape::parse(new)) {
            (Shape::Any, Shape::Any) | (Shape::Null, Shape::Null) | (Shape::Bool, Shape::Bool) => {}
            (Shape::Nullable(a), Shape::Nullable(b)) => self.node(path, a, b),
            (Shape::Any, n) => self.push(path, rules::from_any(&n)),
            (o, Shape::Any) => self.push(path, rules::to_any(&o)),
            (Shape::Nullable(_), Shape::Null) => self.push(path, rules::only_null()),
            (Shape::Null, Shape::Nullable(_)) => self.push(path, rules::not_only_null()),
            (Shape::Nullable(a), _) => {
                self.push(path, rules::null_dropped());
                self.node(path, a, new);
            }
            (_, Shape::Nullable(b)) => {
                self.push(path, rules::null_added());
                self.node(path, old, b);
            }
            (Shape::Struct(a), Shape::Struct(b)) => self.structs(path, &a, &b),
            (
                Shape::Enum {
                    repr: ra,
                    variants: va,
                },
                Shape::Enum {
                    repr: rb,
                    variants: vb,
                },
            ) => self.enums(path, (ra, &va), (rb, &vb)),
            (
                Shape::Array {
                    items: a,
                    len: la,
                    unique: ua,
                    fixed: fa,
                },
                Shape::Array {
                    items: b,
                    len: lb,
                    unique: ub,
                    fixed: fb,
                },
            ) => {
                for finding in values::array((la, ua, fa), (lb, ub, fb)) {
                    self.push(path, finding);
                }
                self.node(&format!("{path}[]"), a, b);
            }
            (Shape::Map { values: a, len: la }, Shape::Map { values: b, len: lb }) => {
                for finding in values::length(la, lb, IssueCode::Length) {
                    self.push(path, finding);
                }
                self.node(&format!("{path}.*"), a, b);
            }
            (Shape::Unknown(a), Shape::Unknown(b)) => {
                if shape::strip_cosmetic(a) != shape::strip_cosmetic(b) {
                    self.push(path, rules::unknown());
                }
            }
            (o, n) => {
                for finding in values::scalar(&o, &n) {
                    self.push(path, finding);
                }
            }
        }
    }

    fn structs(&mut self, path: &str, old: &Fields<'a>, new: &Fields<'a>) {
        if old.closed != new.closed {
            self.push(path, rules::closed_changed(old.closed));
        }
        let names: BTreeSet<&str> = old
            .fields
            .keys()
            .chain(new.fields.keys())
            .copied()
            .collect();
        for name in names {
            let at = format!("{path}.{name}");
            match (old.fields.get(name), new.fields.get(name)) {
                (Some(o), None) => {
                    self.push(&at, rules::field_removed(name, o.required, new.closed))
                }
                (None, Some(n)) => {
                    let takes_any = matches!(shape::parse(n.schema), Shape::Any);
                    let finding = rules::field_added(name, n.required, !old.closed && !takes_any);
                    self.push(&at, finding);
                }
                (Some(o), Some(n)) => {
                    if o.required != n.required {
                        self.push(&at, rules::required_changed(name, n.required));
                    }
                    self.node(&at, o.schema, n.schema);
                }
                (None, None) => {}
            }
        }
    }

    fn enums(
        &mut self,
        path: &str,
        (old_repr, old): (Repr<'a>, &std::collections::BTreeMap<&'a str, Body<'a>>),
        (new_repr, new): (Repr<'a>, &std::collections::BTreeMap<&'a str, Body<'a>>),
    ) {
        if old_repr != new_repr {
            self.push(path, rules::repr_changed(old_repr, new_repr));
            return;
        }
        let names: BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
        for name in names {
            let at = match new_repr {
                Repr::External => format!("{path}.{name}"),
                Repr::Tag(tag) => format!("{path}[{tag}={name}]"),
            };
            match (old.get(name), new.get(name)) {
                (Some(_), None) => self.push(path, rules::variant_removed(name)),
                (None, Some(_)) => self.push(path, rules::variant_added(name)),
                (Some(Body::Unit), Some(Body::Unit)) => {}
                (Some(Body::Value(a)), Some(Body::Value(b))) => self.node(&at, a, b),
                (Some(Body::Fields(a)), Some(Body::Fields(b))) => self.structs(&at, a, b),
                (Some(_), Some(_)) => self.push(&at, rules::variant_kind_changed(name)),
                (None, None) => {}
            }
        }
    }
}

/// Follow `$ref`s into `defs`; the definition's name, if one was followed.
fn resolve<'a>(
    mut node: &'a Value,
    defs: Option<&'a Map<String, Value>>,
) -> (&'a Value, Option<&'a str>) {
    let mut name = None;
    // A bounded loop: a `$ref` to a `$ref` chain in a hand-edited file cannot spin.
    for _ in 0..16 {
        let Shape::Ref(r) = shape::parse(node) else {
            break;
        };
        match defs.and_then(|d| d.get_key_value(r)) {
            Some((key, def)) => {
                name = Some(key.as_str());
                node = def;
            }
            None => break,
        }
    }
    (node, name)
}
