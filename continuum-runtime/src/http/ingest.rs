//! `POST {path}`: ingest one envelope or an array of them.
//!
//! Checks run cheapest-first and each failure has its own status: the token
//! (`401`), the content type (`415`), the declared length (`413`, before a
//! byte of the body is read), the body as read (`413` past the limit), JSON
//! syntax (`400` with line and column), then every envelope (`422` with every
//! issue). Only when all pass is anything published (`202`).

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::request::Parts;
use http::{Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;
use subtle::{Choice, ConstantTimeEq};
use tracing::Instrument;

use super::body::ResponseBody;
use super::envelope::decode_body;
use super::error::{json_bytes_response, ApiError};
use super::Shared;
use crate::hub::{EmitError, EventId};
use crate::metrics::IngestReject;
use crate::trace::{TraceContext, TRACEPARENT, TRACESTATE};

/// The header carrying the ingest token.
pub const EVENT_KEY_HEADER: &str = "x-continuum-event-key";
/// The header that makes a retried `POST` publish once.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Set to `true` on a `202` answered from the idempotency window.
pub const IDEMPOTENT_REPLAYED_HEADER: &str = "idempotent-replayed";
/// The `retry-after` (seconds) of a `503` while the backplane is unreachable:
/// a shared backplane reconnects within a few seconds.
const BACKPLANE_RETRY_AFTER_SECS: u64 = 2;
/// Longest accepted `Idempotency-Key`, in bytes (a UUID is 36).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub(crate) async fn ingest<B>(shared: &Shared, parts: &Parts, body: B) -> Response<ResponseBody>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let created = trace_context(&parts.headers);
    let span = crate::trace::ingest_span(shared.hub.config().path(), created.as_ref());
    let result = run(shared, parts, body, created)
        .instrument(span.clone())
        .await;
    let res = match result {
        Ok(res) => res,
        Err(err) => {
            if let Some(why) = reject_reason(&err) {
                shared.hub.record_ingest_reject(why);
            }
            span.in_scope(|| {
                tracing::debug!(status = err.status.as_u16(), error = err.code, message = %err.message, "continuum: ingest rejected");
            });
            err.into_response()
        }
    };
    if !span.is_disabled() {
        span.record(
            "http.response.status_code",
            i64::from(res.status().as_u16()),
        );
        if res.status().is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
    }
    res
}

/// The request's W3C `traceparent` (with its `tracestate`), when valid:
/// the context the published events were created in.
fn trace_context(headers: &HeaderMap) -> Option<TraceContext> {
    let parent = headers.get(TRACEPARENT)?.to_str().ok()?;
    let state = headers.get(TRACESTATE).and_then(|v| v.to_str().ok());
    TraceContext::parse(parent, state)
}

async fn run<B>(
    shared: &Shared,
    parts: &Parts,
    body: B,
    created: Option<TraceContext>,
) -> Result<Response<ResponseBody>, ApiError>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let hub = &shared.hub;
    let config = hub.config();
    if config.ingest_tokens().len() > 0 {
        let presented = parts.headers.get(EVENT_KEY_HEADER);
        // Every token is compared, none skipped when one matched: the time
        // taken says nothing about which token (if any) was close.
        let mut matched = Choice::from(0);
        for token in config.ingest_tokens() {
            matched |= token_matches(token.as_bytes(), presented);
        }
        if !bool::from(matched) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                format!("missing or wrong `{EVENT_KEY_HEADER}` header"),
            ));
        }
    }
    check_content_type(&parts.headers)?;
    let limit = config.body_limit();
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is over {limit} bytes"),
        )
        .with("limit", limit)
    };
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let key = idempotency_key(parts.headers.get(IDEMPOTENCY_KEY_HEADER))?;

    let timeout = config.body_read_timeout();
    let read = tokio::time::timeout(timeout, Limited::new(body, limit).collect());
    let bytes: Bytes = match read.await {
        Err(_elapsed) => return Err(body_timeout(timeout)),
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(err)) if err.is::<LengthLimitError>() => return Err(too_large()),
        Ok(Err(err)) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "body_read_failed",
                format!("could not read the request body: {err}"),
            ))
        }
    };

    let batch = decode_body(hub.registry(), &bytes)?;
    let count = batch.events.len();
    tracing::Span::current().record("messaging.batch.message_count", count as i64);
    // Answer only once the backplane has the events (for Redis: acknowledged
    // the write), or with why it could not.
    let published = hub
        .publish_dyn_traced(batch.events, key, created)
        .await
        .map_err(|e| publish_error(hub, e))?;
    hub.record_ingest_accepted();
    let (ids, replayed) = (published.ids, published.replayed);
    tracing::debug!(events = count, replayed, "continuum: ingest accepted");

    let mut res = json_bytes_response(StatusCode::ACCEPTED, accepted_body(batch.single, &ids));
    if replayed {
        res.headers_mut().insert(
            HeaderName::from_static(IDEMPOTENT_REPLAYED_HEADER),
            HeaderValue::from_static("true"),
        );
    }
    Ok(res)
}

/// `408 body_timeout`: the body did not arrive within `timeout`. The
/// response says `connection: close` (a body half-read leaves the
/// connection unusable), which hyper and the standalone server honour.
pub(crate) fn body_timeout(timeout: std::time::Duration) -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
        format!(
            "the request body did not arrive within {} ms",
            timeout.as_millis()
        ),
    )
    .with("timeoutMs", timeout.as_millis() as u64)
    .close()
}

/// `{"id":"…"}` for a single envelope, else `{"ids":["…",…]}`, written
/// directly (ids are ASCII letters, digits, `-` and `_`: nothing to escape).
fn accepted_body(single: bool, ids: &[EventId]) -> Bytes {
    let mut out = Vec::with_capacity(16 + 24 * ids.len());
    match ids {
        [id] if single => {
            out.extend_from_slice(b"{\"id\":\"");
            id.write_to(&mut out);
            out.extend_from_slice(b"\"}");
        }
        _ => {
            out.extend_from_slice(b"{\"ids\":[");
            for (i, id) in ids.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'"');
                id.write_to(&mut out);
                out.push(b'"');
            }
            out.extend_from_slice(b"]}");
        }
    }
    Bytes::from(out)
}

/// Compare the presented token with the configured one in time that depends
/// only on the configured token's length, never on where they differ or on
/// the presented token's length.
fn token_matches(expected: &[u8], presented: Option<&HeaderValue>) -> Choice {
    let presented = presented.map_or(&[][..], HeaderValue::as_bytes);
    let mut equal = Choice::from(u8::from(presented.len() == expected.len()));
    for (i, byte) in expected.iter().enumerate() {
        equal &= presented.get(i).unwrap_or(&0).ct_eq(byte);
    }
    equal
}

/// Exactly one `content-type`, `application/json`, UTF-8 if a charset is given.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let unsupported = |found: &str| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("expected `content-type: application/json`, got {found}"),
        )
    };
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let Some(value) = values.next() else {
        return Err(unsupported("none"));
    };
    if values.next().is_some() {
        // Ambiguous: a proxy and this parser might disagree on which counts.
        return Err(unsupported("several values"));
    }
    let text = value
        .to_str()
        .map_err(|_| unsupported("a non-ASCII value"))?;
    let mut params = text.split(';');
    let essence = params.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(unsupported(&format!("`{text}`")));
    }
    for param in params {
        if let Some((name, value)) = param.split_once('=') {
            let value = value.trim().trim_matches('"');
            if name.trim().eq_ignore_ascii_case("charset") && !value.eq_ignore_ascii_case("utf-8") {
                return Err(unsupported(&format!("`{text}` (JSON is UTF-8)")));
            }
        }
    }
    Ok(())
}

fn idempotency_key(value: Option<&HeaderValue>) -> Result<Option<&str>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    match value.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY_LEN => Ok(Some(key)),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!("`{IDEMPOTENCY_KEY_HEADER}` must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters"),
        )),
    }
}

fn publish_error(hub: &crate::Hub, err: EmitError) -> ApiError {
    match err {
        EmitError::Invalid(errors) => {
            let issues = serde_json::to_value(errors.issues()).unwrap_or(Value::Null);
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_event",
                errors.to_string(),
            )
            .with("issues", issues)
        }
        EmitError::ReservedType(ty) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reserved_type",
            format!(
                "event type `{ty}` is reserved: `continuum.*` events are sent by the server only"
            ),
        ),
        EmitError::Backplane(err) if err.is_unconfirmed() => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "backplane_unavailable",
            format!("the event was written but not confirmed by enough replicas, so it may still be delivered: {err}; retry later with the same Idempotency-Key"),
        )
        .retry_after(BACKPLANE_RETRY_AFTER_SECS),
        EmitError::Backplane(err) if err.is_unavailable() || !hub.backplane_is_up() => {
            // The backplane logs its own state changes once; not per request.
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "backplane_unavailable",
                format!("the event could not be published, nothing was: {err}; retry later"),
            )
            .retry_after(BACKPLANE_RETRY_AFTER_SECS)
        }
        EmitError::Backplane(err) => {
            tracing::warn!(error = %err, "continuum: publish failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "publish_failed",
                "the event could not be published; retry later",
            )
            .retry_after(BACKPLANE_RETRY_AFTER_SECS)
        }
        other => {
            tracing::error!(error = %other, "continuum: publish failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "publish_failed",
                "the event could not be published",
            )
        }
    }
}

fn reject_reason(err: &ApiError) -> Option<IngestReject> {
    Some(match err.code {
        "malformed_json" | "body_read_failed" => IngestReject::MalformedJson,
        "unauthorized" => IngestReject::Unauthorized,
        "payload_too_large" => IngestReject::PayloadTooLarge,
        "unsupported_media_type" => IngestReject::UnsupportedMediaType,
        "unknown_type" => IngestReject::UnknownType,
        "reserved_type" => IngestReject::ReservedType,
        "invalid_event" => IngestReject::Invalid,
        "publish_failed" | "backplane_unavailable" => IngestReject::PublishFailed,
        "body_timeout" => IngestReject::BodyTimeout,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_bodies_are_json() {
        let epoch = crate::id::Epoch::new(7);
        let ids = [EventId::new(epoch, 1), EventId::new(epoch, 2)];
        let one: Value = serde_json::from_slice(&accepted_body(true, &ids[..1])).unwrap();
        assert_eq!(one, serde_json::json!({ "id": ids[0].to_string() }));
        let two: Value = serde_json::from_slice(&accepted_body(false, &ids)).unwrap();
        assert_eq!(
            two,
            serde_json::json!({ "ids": [ids[0].to_string(), ids[1].to_string()] })
        );
        let none: Value = serde_json::from_slice(&accepted_body(false, &[])).unwrap();
        assert_eq!(none, serde_json::json!({ "ids": [] }));
    }

    #[test]
    fn token_comparison() {
        let v = |s: &str| HeaderValue::from_str(s).unwrap();
        let m = |t: &[u8], p: Option<&HeaderValue>| bool::from(token_matches(t, p));
        assert!(m(b"secret", Some(&v("secret"))));
        assert!(!m(b"secret", Some(&v("secreT"))));
        assert!(!m(b"secret", Some(&v("secret2"))));
        assert!(!m(b"secret", Some(&v("secre"))));
        assert!(!m(b"secret", None));
    }

    #[test]
    fn content_types() {
        let check = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(CONTENT_TYPE, HeaderValue::from_str(v).unwrap());
            }
            check_content_type(&h).is_ok()
        };
        assert!(check(&["application/json"]));
        assert!(check(&["Application/JSON; charset=UTF-8"]));
        assert!(!check(&["application/json; charset=latin1"]));
        assert!(!check(&["text/plain"]));
        assert!(!check(&[]));
        assert!(!check(&["application/json", "text/plain"]));
    }
}
