//! `GET {path}/health`: whether this node can publish, for load balancers and
//! Kubernetes readiness probes.
//!
//! `200` with `{"status":"ok","backplane":"up","subscribers":12,"epoch":"…"}`
//! when the node is ready: its backplane can publish (`"up"`), or it has the
//! in-process one (`"in_memory"`, always ready). `503` with the same shape,
//! `"status":"unavailable"` and `"backplane":"down"`, while a shared backplane
//! cannot reach its transport (Redis down, or not connected yet since start),
//! so a load balancer sends publishers to another node. `subscribers` is the
//! node's SSE subscriber count, `epoch` the epoch of the ids it issues.
//! Unauthenticated, not counted in the metrics, `cache-control: no-store`.

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{Method, Response, StatusCode};

use super::body::ResponseBody;
use super::error::ApiError;
use crate::hub::Hub;

/// The health answer of `hub` (see the module docs).
pub(super) fn health(hub: &Hub, method: &Method) -> Response<ResponseBody> {
    if method != Method::GET && method != Method::HEAD {
        let mut res = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "the health route answers GET",
        )
        .into_response();
        res.headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return res;
    }
    let (status, backplane) = if hub.backplane_is_in_process() {
        (StatusCode::OK, "in_memory")
    } else if hub.backplane_is_up() {
        (StatusCode::OK, "up")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "down")
    };
    let body = serde_json::json!({
        "status": if status == StatusCode::OK { "ok" } else { "unavailable" },
        "backplane": backplane,
        "subscribers": hub.metrics().subscribers_now,
        "epoch": hub.epoch().to_string(),
    });
    let mut res = Response::new(ResponseBody::full(Bytes::from(body.to_string())));
    *res.status_mut() = status;
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
