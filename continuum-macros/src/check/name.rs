//! The event name's grammar: lowercase dot-separated segments, at least
//! two, outside the runtime's reserved namespace. Checked at compile time so
//! a bad name never reaches the wire.

use syn::LitStr;

use crate::ctxt::Ctxt;

/// Names the runtime uses for its own messages.
const RESERVED_PREFIX: &str = "continuum.";

/// Check `name` against the grammar `segment ("." segment)+`, each segment
/// `[a-z][a-z0-9_-]*`, and the reserved prefix. One error, the most useful.
pub(crate) fn check(cx: &Ctxt, lit: &LitStr) {
    let name = lit.value();
    let span = lit.span();
    let example = "e.g. `ai.task.progress`";
    if name.is_empty() {
        return cx.error(
            span,
            format!("event name is empty; write lowercase dot-separated segments, {example}"),
        );
    }
    if name.chars().any(char::is_whitespace) {
        let fixed: String = name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("_")
            .to_lowercase();
        return cx.error(span, format!("event name `{name}` contains whitespace; use `_`, `-` or `.` instead, e.g. `{fixed}`"));
    }
    if name.chars().any(char::is_uppercase) {
        return cx.error(
            span,
            format!(
                "event name `{name}` must be lowercase dot-separated segments, e.g. `{}`",
                name.to_lowercase()
            ),
        );
    }
    if name.starts_with('.') || name.ends_with('.') {
        let trimmed = name.trim_matches('.');
        let end = if name.starts_with('.') {
            "start"
        } else {
            "end"
        };
        return cx.error(
            span,
            format!("event name `{name}` must not {end} with a dot; write `{trimmed}`"),
        );
    }
    if name.contains("..") {
        return cx.error(
            span,
            format!(
                "event name `{name}` has an empty segment (`..`); write `{}`",
                name.split('.')
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(".")
            ),
        );
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return cx.error(
            span,
            format!("character `{bad}` is not allowed in event name `{name}`; segments use `a-z`, `0-9`, `_` and `-`, separated by `.`"),
        );
    }
    if let Some(seg) = name
        .split('.')
        .find(|s| !s.starts_with(|c: char| c.is_ascii_lowercase()))
    {
        return cx.error(span, format!("segment `{seg}` of event name `{name}` must start with a lowercase letter, {example}"));
    }
    if !name.contains('.') {
        return cx.error(
            span,
            format!("event name `{name}` needs at least two dot-separated segments, a namespace and a name, e.g. `app.{name}`"),
        );
    }
    if name.starts_with(RESERVED_PREFIX) {
        cx.error(
            span,
            format!("event names starting with `{RESERVED_PREFIX}` are reserved for the runtime's own messages (`continuum.connected`, `continuum.reset`); choose another namespace"),
        );
    }
}
