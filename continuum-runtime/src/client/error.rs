//! [`ClientError`]: one opaque error with `is_*` predicates, as hyper-util's.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::validate::{Issue, ValidationErrors};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a [`Client`](super::Client) call failed.
///
/// Branch on the kind with the `is_*` predicates; the details that go with a
/// kind have accessors ([`issues`](Self::issues) for an invalid event,
/// [`status`](Self::status) and [`code`](Self::code) for an answer of the
/// server). Exactly one predicate is true for any error.
///
/// ```
/// # use continuum_runtime::prelude::*;
/// # use continuum_runtime::client::Client;
/// #[continuum_event("docs.client.err")]
/// pub struct Reading { #[event(range(max = 100))] pub value: u8 }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// // Checked before anything is sent, with the paths the server would report.
/// let client = Client::new("http://127.0.0.1:9/api/events");
/// let err = client.publish(&Reading { value: 101 }).await.unwrap_err();
/// assert!(err.is_invalid());
/// assert_eq!(err.issues()[0].path, "data.value");
/// # }
/// ```
pub struct ClientError {
    kind: Kind,
    message: String,
    status: Option<StatusCode>,
    code: Option<String>,
    issues: Vec<Issue>,
    retry_after: Option<Duration>,
    source: Option<BoxError>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The client's configuration is unusable (URL, token).
    Builder,
    /// No connection, or it failed before a full answer (after retries).
    Connect,
    /// No answer within the client's timeout (after retries).
    Timeout,
    /// `401` or `403`.
    Unauthorized,
    /// The event failed validation (locally or as a `422 invalid_event`).
    Invalid,
    /// The server refused the request for another reason (`4xx`).
    Rejected,
    /// The server could not publish now (`502`/`503`/`504`, after retries).
    Unavailable,
    /// Another server error (`5xx`).
    Server,
    /// An answer or a streamed event the client could not decode.
    Decode,
}

impl ClientError {
    pub(crate) fn new(kind: Kind, message: impl Into<String>) -> Self {
        ClientError {
            kind,
            message: message.into(),
            status: None,
            code: None,
            issues: Vec::new(),
            retry_after: None,
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    pub(crate) fn with_status(mut self, status: StatusCode, code: Option<String>) -> Self {
        self.status = Some(status);
        self.code = code;
        self
    }

    pub(crate) fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = after;
        self
    }

    pub(crate) fn invalid(errors: ValidationErrors) -> Self {
        let mut e = ClientError::new(Kind::Invalid, errors.to_string());
        e.issues = errors.into_issues();
        e
    }

    pub(crate) fn with_issues(mut self, issues: Vec<Issue>) -> Self {
        self.issues = issues;
        self
    }

    /// The client is misconfigured: the URL is not an absolute `http://`
    /// URL, or the token or a header is not a valid header value. Nothing
    /// was sent.
    pub fn is_builder(&self) -> bool {
        self.kind == Kind::Builder
    }

    /// The client could not connect, or the connection failed before a full
    /// answer arrived, on every attempt.
    pub fn is_connect(&self) -> bool {
        self.kind == Kind::Connect
    }

    /// No answer arrived within the client's [`timeout`](super::Client::timeout)
    /// on every attempt.
    pub fn is_timeout(&self) -> bool {
        self.kind == Kind::Timeout
    }

    /// The server answered `401` (missing or wrong token) or `403`.
    pub fn is_unauthorized(&self) -> bool {
        self.kind == Kind::Unauthorized
    }

    /// The event failed validation: every issue is in [`issues`](Self::issues),
    /// with paths as ingest reports them (`data.progress`, `[2].data.progress`).
    /// Found by the client before sending, or by the server (`422 invalid_event`).
    pub fn is_invalid(&self) -> bool {
        self.kind == Kind::Invalid
    }

    /// The server refused the request for another reason: `400`, `413`,
    /// `415`, `422` (`unknown_type`, `reserved_type`) and other `4xx`; see
    /// [`status`](Self::status) and [`code`](Self::code). Retrying will not help.
    pub fn is_rejected(&self) -> bool {
        self.kind == Kind::Rejected
    }

    /// The server could not publish now (`503`, e.g. `backplane_unavailable`,
    /// or a proxy's `502`/`504`) on every attempt. Nothing was published by
    /// the failed attempts.
    pub fn is_unavailable(&self) -> bool {
        self.kind == Kind::Unavailable
    }

    /// The server failed with another `5xx`.
    pub fn is_server(&self) -> bool {
        self.kind == Kind::Server
    }

    /// An answer, or an event on a subscription, that the client could not
    /// decode: a malformed body, or a payload that does not decode into the
    /// subscribed type or fails its validation (then [`issues`](Self::issues)
    /// says why). On a subscription the event is not delivered; treat the
    /// state it would have changed as stale.
    pub fn is_decode(&self) -> bool {
        self.kind == Kind::Decode
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }

    /// The `error` code of the server's JSON answer, e.g. `unknown_type`.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Every validation issue of an [`is_invalid`](Self::is_invalid) error
    /// (or of an undecodable subscribed event); empty otherwise.
    pub fn issues(&self) -> &[Issue] {
        &self.issues
    }

    /// The last `retry-after` the server sent with an
    /// [`is_unavailable`](Self::is_unavailable) answer.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Debug for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ClientError");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(status) = self.status {
            d.field("status", &status);
        }
        if let Some(code) = &self.code {
            d.field("code", code);
        }
        if !self.issues.is_empty() {
            d.field("issues", &self.issues);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(status) = self.status {
            write!(f, "{status}: ")?;
        }
        // The message already names the cause; `source()` holds it for
        // callers that walk the chain.
        f.write_str(&self.message)
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
