//! Parsing an ingest body — one envelope or an array of them — into
//! validated, type-erased events, collecting every issue.
//!
//! The body is checked in two passes: first as JSON (a syntax error is a
//! `400` with line and column), then each envelope's shape and payload (every
//! problem in every envelope becomes one issue of one `422`).
//!
//! An envelope's payload is decoded as the `version` it names; without one,
//! as the newest version of its type, then as each older one (newest
//! first): the first that accepts it. An older version is upcast to the
//! newest, so what is published is always the newest shape
//! ([`Registry::decode`]).

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::StatusCode;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::error::ApiError;
use crate::event::DynEvent;
use crate::registry::{DecodeError, Registry};

/// One problem in an ingest body, as the `422` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct WireIssue {
    /// Where, in wire names: `data.progress`, `[2].type`, `` (the body itself).
    pub(crate) path: String,
    /// `required`, `type`, `unknown_field`, `duplicate_field`, `unknown_type`,
    /// `unknown_version`, `upcast`, `reserved_type`, or a validation code (`range`, `length`, …).
    pub(crate) code: Cow<'static, str>,
    pub(crate) message: Cow<'static, str>,
}

impl WireIssue {
    fn new(path: String, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        WireIssue {
            path,
            code: Cow::Borrowed(code),
            message: message.into(),
        }
    }
}

/// One decoded event and the channel it is restricted to (`None`: public).
pub(crate) type Decoded = (Arc<dyn DynEvent>, Option<Arc<str>>);

/// A decoded body, ready to publish.
pub(crate) struct Batch {
    /// The body was one envelope, not an array: answer `{"id": …}`.
    pub(crate) single: bool,
    pub(crate) events: Vec<Decoded>,
}

impl fmt::Debug for Batch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let types: Vec<_> = self
            .events
            .iter()
            .map(|(e, c)| (e.type_name(), c))
            .collect();
        f.debug_struct("Batch")
            .field("single", &self.single)
            .field("events", &types)
            .finish()
    }
}

/// Parse and validate `body` against `registry`; nothing is published here.
pub(crate) fn decode_body(registry: &Registry, body: &[u8]) -> Result<Batch, ApiError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        let (line, column) = line_column(body, e.valid_up_to());
        malformed(
            format!("the body is not valid UTF-8 at line {line} column {column}"),
            line,
            column,
        )
    })?;
    let first = text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .as_bytes()
        .first();
    // The common case, a well-formed body, is parsed in one pass straight
    // into each envelope's members; anything that fails to parse so takes
    // the two passes below, which tell a syntax error (400) from a shape
    // problem (422) exactly.
    if let Some(batch) = decode_one_pass(registry, text, first == Some(&b'['))? {
        return Ok(batch);
    }
    let (single, raws): (bool, Vec<&RawValue>) = if first == Some(&b'[') {
        (false, serde_json::from_str(text).map_err(syntax_error)?)
    } else {
        (
            true,
            vec![serde_json::from_str(text).map_err(syntax_error)?],
        )
    };

    let mut issues = Vec::new();
    let mut events = Vec::with_capacity(raws.len());
    for (index, raw) in raws.iter().enumerate() {
        let prefix = if single {
            String::new()
        } else {
            format!("[{index}]")
        };
        if let Some(event) = decode_envelope(registry, raw, &prefix, &mut issues) {
            events.push(event);
        }
    }
    if issues.is_empty() {
        Ok(Batch { single, events })
    } else {
        Err(unprocessable(issues, raws.len()))
    }
}

/// One pass: `Ok(None)` when the body does not parse as envelope objects
/// (the caller then finds out why).
fn decode_one_pass(
    registry: &Registry,
    text: &str,
    array: bool,
) -> Result<Option<Batch>, ApiError> {
    let (single, envelopes) = if array {
        match serde_json::from_str::<Vec<Fields<'_>>>(text) {
            Ok(all) => (false, all),
            Err(_) => return Ok(None),
        }
    } else {
        match serde_json::from_str::<Fields<'_>>(text) {
            Ok(one) => (true, vec![one]),
            Err(_) => return Ok(None),
        }
    };
    let count = envelopes.len();
    let mut issues = Vec::new();
    let mut events = Vec::with_capacity(count);
    for (index, Fields(fields)) in envelopes.into_iter().enumerate() {
        let prefix = if single {
            String::new()
        } else {
            format!("[{index}]")
        };
        if let Some(event) = decode_fields(registry, fields, &prefix, &mut issues) {
            events.push(event);
        }
    }
    if issues.is_empty() {
        Ok(Some(Batch { single, events }))
    } else {
        Err(unprocessable(issues, count))
    }
}

fn decode_envelope(
    registry: &Registry,
    raw: &RawValue,
    prefix: &str,
    issues: &mut Vec<WireIssue>,
) -> Option<Decoded> {
    let Ok(Fields(fields)) = serde_json::from_str::<Fields<'_>>(raw.get()) else {
        issues.push(WireIssue::new(
            prefix.to_owned(),
            "type",
            "an envelope must be a JSON object: {\"type\": \"…\", \"data\": {…}}",
        ));
        return None;
    };
    decode_fields(registry, fields, prefix, issues)
}

/// Check one envelope's members and decode its payload.
fn decode_fields(
    registry: &Registry,
    fields: Vec<(String, &RawValue)>,
    prefix: &str,
    issues: &mut Vec<WireIssue>,
) -> Option<Decoded> {
    let before = issues.len();
    let (mut ty, mut data, mut channel, mut version) = (None, None, None, None);
    for (key, value) in fields {
        let slot = match key.as_str() {
            "type" => &mut ty,
            "data" => &mut data,
            "channel" => &mut channel,
            "version" => &mut version,
            _ => {
                let message = format!(
                    "unknown envelope field `{key}`; expected `type`, `data`, `channel` or `version`"
                );
                issues.push(WireIssue::new(join(prefix, &key), "unknown_field", message));
                continue;
            }
        };
        if slot.replace(value).is_some() {
            let message = format!("envelope field `{key}` appears more than once");
            issues.push(WireIssue::new(
                join(prefix, &key),
                "duplicate_field",
                message,
            ));
        }
    }

    let ty = match ty.map(|raw| serde_json::from_str::<String>(raw.get())) {
        None => {
            issues.push(WireIssue::new(
                join(prefix, "type"),
                "required",
                "missing event `type`",
            ));
            None
        }
        Some(Err(_)) => {
            issues.push(WireIssue::new(
                join(prefix, "type"),
                "type",
                "`type` must be a string",
            ));
            None
        }
        Some(Ok(ty)) => Some(ty),
    };
    let channel = match channel.map(|raw| serde_json::from_str::<Option<String>>(raw.get())) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(c))) if !c.is_empty() => Some(Arc::from(c)),
        Some(_) => {
            let message = "`channel` must be a non-empty string (or absent for a public event)";
            issues.push(WireIssue::new(join(prefix, "channel"), "type", message));
            None
        }
    };

    // Absent: the version is recognised by the payload's shape.
    let version = match version.map(|raw| serde_json::from_str::<u32>(raw.get())) {
        None => None,
        Some(Ok(v)) if v >= 1 => Some(v),
        Some(_) => {
            let message = "`version` must be a whole number from 1 (or absent)";
            issues.push(WireIssue::new(join(prefix, "version"), "type", message));
            None
        }
    };

    let ty = ty?;
    if crate::hub::is_reserved_type(&ty) {
        let message = format!(
            "event type `{ty}` is reserved: `continuum.*` events are sent by the server only"
        );
        issues.push(WireIssue::new(
            join(prefix, "type"),
            "reserved_type",
            message,
        ));
        return None;
    }
    // A missing `data` is `null`: what a unit event serializes to.
    let payload = data.map_or("null", RawValue::get);
    match registry.decode(&ty, version, payload) {
        Ok(event) if issues.len() == before => Some((event, channel)),
        Ok(_) => None,
        Err(DecodeError::UnknownType) => {
            let message = format!("unknown event type `{ty}`");
            issues.push(WireIssue::new(
                join(prefix, "type"),
                "unknown_type",
                message,
            ));
            None
        }
        Err(DecodeError::UnknownVersion { newest }) => {
            let message = format!(
                "event type `{ty}` has no version {}; this server reads versions 1 to {newest}",
                version.unwrap_or(1)
            );
            issues.push(WireIssue::new(
                join(prefix, "version"),
                "unknown_version",
                message,
            ));
            None
        }
        Err(DecodeError::Upcast { to }) => {
            let message = format!("the server could not upcast this event to version {to}");
            issues.push(WireIssue::new(join(prefix, "data"), "upcast", message));
            None
        }
        Err(DecodeError::Invalid(errors)) => {
            issues.extend(
                errors
                    .prefixed(&join(prefix, "data"))
                    .into_issues()
                    .into_iter()
                    .map(|issue| WireIssue {
                        path: issue.path,
                        code: Cow::Borrowed(issue.code.as_str()),
                        message: issue.message,
                    }),
            );
            None
        }
    }
}

/// The top-level `error` code of a `422`: one name when every issue is of one
/// kind that has its own name, else `invalid_event`.
fn unprocessable(issues: Vec<WireIssue>, envelopes: usize) -> ApiError {
    let all = |code: &str| issues.iter().all(|i| i.code == code);
    let code = if all("unknown_type") {
        "unknown_type"
    } else if all("reserved_type") {
        "reserved_type"
    } else {
        "invalid_event"
    };
    let n = issues.len();
    let message = format!(
        "{n} issue{} in {envelopes} envelope{}; nothing was published",
        if n == 1 { "" } else { "s" },
        if envelopes == 1 { "" } else { "s" },
    );
    let issues = serde_json::to_value(&issues).unwrap_or_default();
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).with("issues", issues)
}

fn syntax_error(e: serde_json::Error) -> ApiError {
    if e.is_data() {
        // Well-formed JSON of the wrong shape, e.g. an array of numbers is
        // caught per element; this is the body as a whole (not reachable for
        // `RawValue`, kept so no error is ever misfiled as a 400).
        return ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_event",
            e.to_string(),
        );
    }
    let (line, column) = (e.line(), e.column());
    malformed(format!("malformed JSON: {e}"), line, column)
}

fn malformed(message: String, line: usize, column: usize) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", message)
        .with("line", line)
        .with("column", column)
}

/// 1-based line and column (in bytes) of byte `offset`.
fn line_column(body: &[u8], offset: usize) -> (usize, usize) {
    let before = &body[..offset.min(body.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    (line, column)
}

fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

/// An object's members in order, duplicates kept, values left as raw JSON.
struct Fields<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an envelope object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(2).min(8));
                while let Some(key) = map.next_key::<String>()? {
                    fields.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column(b"ab\ncd", 4), (2, 2));
        assert_eq!(line_column(b"abc", 0), (1, 1));
    }

    #[test]
    fn syntax_errors_are_400_with_position() {
        let err = decode_body(&Registry::new(), b"{\n  \"type\": }").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.extra["line"], 2);
        assert_eq!(err.extra["column"], 11);
    }

    #[test]
    fn shape_issues_are_collected_for_every_envelope() {
        let body = br#"[{"data": 1}, {"type": 5, "extra": true}, 7, {"type": "continuum.reset"}, {"type": "nope"}]"#;
        let err = decode_body(&Registry::new(), body).unwrap_err();
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        let issues: Vec<(String, String)> = err.extra["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["path"].as_str().unwrap().to_owned(),
                    i["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let expected = [
            ("[0].type", "required"),
            ("[1].extra", "unknown_field"),
            ("[1].type", "type"),
            ("[2]", "type"),
            ("[3].type", "reserved_type"),
            ("[4].type", "unknown_type"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(p, c)| (p.to_string(), c.to_string()))
            .collect();
        assert_eq!(issues, expected);
    }

    #[test]
    fn invalid_utf8_is_400() {
        let err = decode_body(&Registry::new(), b"{\"type\": \"\xff\"}").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.extra["column"], 11);
    }
}
