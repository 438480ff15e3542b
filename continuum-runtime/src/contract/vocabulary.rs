//! The runtime's own part of the contract: the envelope every event travels
//! in and the control events the server sends (`continuum.connected`,
//! `continuum.reset` and its reasons). These belong to the runtime, not to
//! the application's declarations, but a reader built against one runtime
//! meets them from another during a deploy, so the contract file records
//! them and [`diff`](super::diff()) compares them too.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::report::Change;
use super::rules::Finding;
use super::shape::strip_cosmetic;
use crate::sse::{ResetReason, CONNECTED_EVENT, RESET_EVENT};

/// Every reset reason, by wire name, sorted.
pub(crate) fn reset_reasons() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = ResetReason::ALL.iter().map(|r| r.as_str()).collect();
    names.sort_unstable();
    names
}

/// The `runtime` member of a contract file.
pub(crate) fn runtime() -> Value {
    json!({
        // What `POST /api/events` takes (one of these, or an array of them)
        // and what every SSE `data:` line of an event carries.
        "envelope": {
            "type": "object",
            "properties": {
                "type": { "type": "string" },
                "data": {},
                "channel": { "anyOf": [{ "type": "null" }, { "type": "string", "minLength": 1 }] },
                // The declaration's version (`version = N`); absent: recognised by shape.
                "version": { "type": "integer", "minimum": 1 },
            },
            "required": ["type"],
            "additionalProperties": false,
        },
        // Event types under this prefix are the server's; ingest refuses them.
        "reserved": "continuum.*",
        "control": {
            CONNECTED_EVENT: {
                "type": "object",
                "properties": {
                    "connectionId": { "type": "string" },
                    "epoch": { "type": "string" },
                },
                "required": ["connectionId", "epoch"],
            },
            RESET_EVENT: {
                "type": "object",
                "properties": {
                    "reason": { "type": "string", "enum": reset_reasons() },
                    // With `contract`: the event types the stream stops sending.
                    "types": { "type": "array", "items": { "type": "string" } },
                },
                "required": ["reason"],
            },
        },
    })
}

/// The changes between two `runtime` members. Control events are written by
/// the server only, so only readers can be hurt, and readers are tolerant:
/// a control event, a field or a reset reason they do not know is ignored
/// (an unknown reason is still a reset).
pub(crate) fn diff(old: &Value, new: &Value, out: &mut Vec<Change>) {
    for key in ["envelope", "reserved"] {
        if key == "envelope" && envelope_members_added(&old[key], &new[key], out) {
            continue;
        }
        if strip_cosmetic(&old[key]) != strip_cosmetic(&new[key]) {
            let f = Finding::both(
                format!("the runtime's `{key}` changed"),
                "old workers' envelopes may be refused",
                "old readers may not read the new envelopes",
            );
            out.push(f.at("continuum", key));
        }
    }
    let names = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    let (old_control, new_control) = (&old["control"], &new["control"]);
    for name in names(old_control).union(&names(new_control)) {
        let (o, n) = (&old_control[name], &new_control[name]);
        match (o.is_null(), n.is_null()) {
            (false, true) => out.push(
                Finding::compatible("control event no longer sent", "readers never see it")
                    .at(name, "type"),
            ),
            (true, false) => out.push(
                Finding::compatible(
                    "control event added",
                    "readers ignore control events they do not know",
                )
                .at(name, "type"),
            ),
            _ => control(name, o, n, out),
        }
    }
}

/// When the new envelope only adds optional members (as `version` was
/// added), report each as compatible and return `true`: old writers do not
/// send them, and the server never writes them into an SSE frame.
fn envelope_members_added(old: &Value, new: &Value, out: &mut Vec<Change>) -> bool {
    let (Some(op), Some(np)) = (old["properties"].as_object(), new["properties"].as_object())
    else {
        return false;
    };
    let mut trimmed = strip_cosmetic(new);
    let mut added = Vec::new();
    for (name, _) in np.iter().filter(|(name, _)| !op.contains_key(*name)) {
        let required = new["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == name.as_str()));
        if required {
            return false;
        }
        if let Some(props) = trimmed["properties"].as_object_mut() {
            props.remove(name);
        }
        added.push(name.clone());
    }
    if added.is_empty() || trimmed != strip_cosmetic(old) {
        return false;
    }
    for name in added {
        let f = Finding::compatible(
            format!("optional envelope member `{name}` added"),
            "old writers do not send it; the server never writes it into an event's frame",
        );
        out.push(f.at("continuum", &format!("envelope.{name}")));
    }
    true
}

/// One control event's `data`, field by field, and each field's `enum`.
fn control(event: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    let (op, np) = (&old["properties"], &new["properties"]);
    let required = |v: &Value, f: &str| {
        v["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == f))
    };
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    for field in keys(op).union(&keys(np)) {
        let path = format!("data.{field}");
        let (o, n) = (&op[field], &np[field]);
        if n.is_null() {
            let f = if required(old, field) {
                Finding::forward("field removed", format!("old readers may read `{field}`"))
            } else {
                Finding::compatible("field removed", "old readers allow it to be missing")
            };
            out.push(f.at(event, &path));
        } else if o.is_null() {
            out.push(Finding::compatible("field added", "readers ignore it").at(event, &path));
        } else {
            let set = |v: &Value| -> BTreeSet<String> {
                v["enum"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let (os, ns) = (set(o), set(n));
            for added in ns.difference(&os) {
                let f = Finding::compatible(
                    format!("`{added}` added"),
                    "readers treat a value they do not know as a reset, never an error",
                );
                out.push(f.at(event, &path));
            }
            for removed in os.difference(&ns) {
                let f = Finding::compatible(
                    format!("`{removed}` no longer sent"),
                    "readers never see it",
                );
                out.push(f.at(event, &path));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserved_prefix_is_the_hubs() {
        assert!(crate::hub::is_reserved_type(CONNECTED_EVENT));
        assert!(crate::hub::is_reserved_type(RESET_EVENT));
        assert_eq!(
            reset_reasons(),
            [
                "contract",
                "evicted",
                "expired",
                "foreign_epoch",
                "lagged",
                "stream_lost",
                "unknown_id"
            ]
        );
    }
}
