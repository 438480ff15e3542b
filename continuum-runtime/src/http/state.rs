//! `GET {path}/state?types=…`: the keyed state as one JSON document (for
//! server-side rendering and a plain `fetch`), the same snapshot a
//! subscription with `?snapshot=true` starts with, under the same
//! authorization hook and channels:
//! `{"events":[{"id","type","data"}…],"lastEventId":"…","types":[…]}`.

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::request::Parts;
use http::{Method, Response, StatusCode};

use super::body::ResponseBody;
use super::error::ApiError;
use super::query::SubscribeQuery;
use super::Shared;
use crate::hub::TypeFilter;

pub(crate) fn state(shared: &Shared, parts: &Parts) -> Result<Response<ResponseBody>, ApiError> {
    if parts.method != Method::GET {
        let mut res = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "the state route answers GET",
        )
        .into_response();
        res.headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("GET"));
        return Ok(res);
    }
    let hub = &shared.hub;
    let query = SubscribeQuery::parse(parts.uri.query());
    let types = match &query.types {
        None => TypeFilter::all(),
        Some(list) => TypeFilter::parse(&list.join(",")).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_types", e.to_string())
                .with("item", e.item())
        })?,
    };
    let grant = hub.authorize(parts).map_err(|reject| {
        let code = match reject.status() {
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::FORBIDDEN => "forbidden",
            _ => "rejected",
        };
        ApiError::new(reject.status(), code, reject.message())
    })?;
    let body = hub.snapshot(&types, &grant).to_json();
    let mut res = Response::new(ResponseBody::full(body.into()));
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
