//! JSON error bodies: every failure is a distinct status with
//! `{"error": "<code>", "message": "…", …}`.

use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_TYPE, RETRY_AFTER};
use http::{Response, StatusCode};
use serde_json::{Map, Value};

use super::body::ResponseBody;

/// What `allow` says on a `405`: the methods the events path answers.
pub(crate) const ALLOWED_METHODS: &str = "GET, POST, OPTIONS";

/// A request the service refuses, rendered as a JSON response.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    /// Machine-readable, stable: `malformed_json`, `unauthorized`, …
    pub(crate) code: &'static str,
    pub(crate) message: String,
    /// Extra members of the body (`line`, `column`, `issues`, `limit`, …).
    pub(crate) extra: Map<String, Value>,
    /// Seconds for a `retry-after` header (and a `retryAfter` member).
    pub(crate) retry_after: Option<u64>,
    /// Answer with `connection: close`.
    pub(crate) close: bool,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: Map::new(),
            retry_after: None,
            close: false,
        }
    }

    /// Close the connection after this answer.
    pub(crate) fn close(mut self) -> Self {
        self.close = true;
        self
    }

    /// Tell the client when to try again.
    pub(crate) fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self.with("retryAfter", secs)
    }

    pub(crate) fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub(crate) fn not_found() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
    }

    pub(crate) fn method_not_allowed() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "the events path answers GET (subscribe), POST (ingest) and OPTIONS",
        )
    }

    pub(crate) fn into_response(self) -> Response<ResponseBody> {
        let mut body = Map::with_capacity(self.extra.len() + 2);
        body.insert("error".into(), Value::from(self.code));
        body.insert("message".into(), Value::from(self.message));
        body.extend(self.extra);
        let mut res = json_response(self.status, &Value::Object(body));
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.close {
            res.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        res
    }
}

/// A JSON response that is never cached.
pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response<ResponseBody> {
    // Serializing a `Value` cannot fail (its keys are strings).
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    json_bytes_response(status, bytes.into())
}

pub(crate) fn json_bytes_response(
    status: StatusCode,
    bytes: bytes::Bytes,
) -> Response<ResponseBody> {
    let mut res = Response::new(ResponseBody::full(bytes));
    *res.status_mut() = status;
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_not_allowed_names_the_allowed_methods() {
        let res = ApiError::method_not_allowed().into_response();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(res.headers()[ALLOW], "GET, POST, OPTIONS");
        assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
    }
}
