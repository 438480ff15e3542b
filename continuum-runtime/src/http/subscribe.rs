//! `GET {path}`: open an SSE subscription.

use http::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::request::Parts;
use http::{Response, StatusCode};

use super::body::ResponseBody;
use super::client_addr::client_ip;
use super::error::ApiError;
use super::query::{parse_versions, SubscribeQuery};
use super::Shared;
use crate::hub::limits::Refused;
use crate::hub::{SseOptions, TypeFilter};

/// The `retry-after` (seconds) of a `429`/`503` from a subscriber cap: long
/// enough that a client does not hammer a full server, short enough that a
/// freed place is used soon.
const SUBSCRIBER_LIMIT_RETRY_AFTER_SECS: u64 = 5;

/// The header a browser's `EventSource` sends on reconnect.
const LAST_EVENT_ID: &str = "last-event-id";

pub(crate) fn subscribe(
    shared: &Shared,
    parts: &Parts,
) -> Result<Response<ResponseBody>, ApiError> {
    let hub = &shared.hub;
    // The caps first: the cheapest check, and a client over them should not
    // cost an authorization hook call. Nothing of the stream exists yet.
    let ip = client_ip(parts, hub.config());
    let admission = hub.admit(ip).map_err(|refused| {
        tracing::debug!(client = ?ip, %refused, "continuum: subscriber refused by a cap");
        match refused {
            Refused::PerAddress(cap) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_subscribers",
                refused.to_string(),
            )
            .with("limit", cap),
            Refused::Full(cap) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_full",
                refused.to_string(),
            )
            .with("limit", cap),
        }
        .retry_after(SUBSCRIBER_LIMIT_RETRY_AFTER_SECS)
    })?;
    let query = SubscribeQuery::parse(parts.uri.query());
    let types = match &query.types {
        None => TypeFilter::all(),
        Some(list) => TypeFilter::parse(&list.join(",")).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_types", e.to_string())
                .with("item", e.item())
        })?,
    };
    let versions = match &query.versions {
        None => Vec::new(),
        Some(text) => parse_versions(text).map_err(|item| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_versions",
                format!(
                    "`versions` item `{item}` is not `<type>@<version>`, e.g. `ai.task.progress@2`"
                ),
            )
            .with("item", item)
        })?,
    };
    let grant = hub.authorize(parts).map_err(|reject| {
        let code = match reject.status() {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            _ => "rejected",
        };
        tracing::debug!(
            status = reject.status().as_u16(),
            reason = reject.message(),
            "continuum: subscriber rejected"
        );
        ApiError::new(reject.status(), code, reject.message())
    })?;

    // The header wins: on reconnect a browser sends the newest id there, while
    // the URL still carries the `lastEventId` the page started with.
    let last_event_id = parts
        .headers
        .get(LAST_EVENT_ID)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .or(query.last_event_id);

    let mut options = SseOptions::new()
        .types(types)
        .grant(grant)
        .snapshot(query.snapshot);
    if let Some(fingerprint) = query.contract {
        options = options.contract(fingerprint, versions.iter().map(|(t, v)| (t.as_str(), *v)));
    }
    if let Some(id) = last_event_id {
        options = options.last_event_id(id);
    }
    let stream = hub.subscribe_sse_admitted(options, admission);
    tracing::debug!(
        connection_id = stream.connection_id(),
        "continuum: subscriber connected"
    );

    let mut res = Response::new(ResponseBody::stream(stream, shared.shutdown.clone()));
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    // Never cached, never compressed or re-chunked by a proxy.
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    // nginx: do not buffer the stream.
    headers.insert(
        HeaderName::from_static("x-accel-buffering"),
        HeaderValue::from_static("no"),
    );
    Ok(res)
}
