//! What a server's answer means to the client: the error for a non-2xx
//! answer (its JSON `{error, message, issues}`), the error kind a status
//! stands for, and the root cause of a transport error.

use http::StatusCode;
use serde_json::Value;

use super::error::{ClientError, Kind};
use crate::validate::{Issue, IssueCode};

/// The innermost error's text: hyper-util's own message is a generic
/// "client error (Connect)".
pub(super) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

pub(super) fn status_kind(status: StatusCode) -> Kind {
    match status.as_u16() {
        401 | 403 => Kind::Unauthorized,
        502..=504 => Kind::Unavailable,
        500..=599 => Kind::Server,
        _ => Kind::Rejected,
    }
}

/// The error for a non-2xx answer, from its JSON body
/// `{"error", "message", "issues"?}` (or whatever text it has).
pub(super) fn answer_error(status: StatusCode, body: &[u8], kind: Kind) -> ClientError {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |k: &str| {
        json.as_ref()
            .and_then(|j| j.get(k)?.as_str())
            .map(str::to_owned)
    };
    let code = field("error");
    let message = field("message").unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            "the server refused the request".to_owned()
        } else {
            text.chars().take(200).collect()
        }
    });
    let issues = json
        .as_ref()
        .and_then(|j| {
            j.get("issues")?
                .as_array()
                .map(|a| a.iter().filter_map(parse_issue).collect::<Vec<_>>())
        })
        .unwrap_or_default();
    let kind =
        if status == StatusCode::UNPROCESSABLE_ENTITY && code.as_deref() == Some("invalid_event") {
            Kind::Invalid
        } else {
            kind
        };
    ClientError::new(kind, message)
        .with_status(status, code)
        .with_issues(issues)
}

/// One `{"path", "code", "message"}` of a `422`; a code this version does
/// not know is reported as [`IssueCode::Custom`].
pub(super) fn parse_issue(value: &Value) -> Option<Issue> {
    let code = match value.get("code")?.as_str()? {
        "range" => IssueCode::Range,
        "length" => IssueCode::Length,
        "pattern" => IssueCode::Pattern,
        "type" => IssueCode::Type,
        "required" => IssueCode::Required,
        "unknown_field" => IssueCode::UnknownField,
        _ => IssueCode::Custom,
    };
    Some(Issue::new(
        value.get("path")?.as_str()?.to_owned(),
        code,
        value
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers() {
        let e = answer_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            br#"{"error":"invalid_event","message":"1 issue","issues":[{"path":"data.progress","code":"range","message":"must be at most 100"}]}"#,
            Kind::Rejected,
        );
        assert!(e.is_invalid());
        assert_eq!(e.code(), Some("invalid_event"));
        assert_eq!(
            e.issues(),
            [Issue::new(
                "data.progress",
                IssueCode::Range,
                "must be at most 100"
            )]
        );
        let e = answer_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            br#"{"error":"unknown_type","message":"no"}"#,
            Kind::Rejected,
        );
        assert!(e.is_rejected());
        assert_eq!(e.to_string(), "422 Unprocessable Entity: no");
        let e = answer_error(
            StatusCode::BAD_GATEWAY,
            b"<html>bad gateway</html>",
            Kind::Unavailable,
        );
        assert!(e.is_unavailable());
        assert_eq!(e.code(), None);
    }
}
