//! The HTTP contract as a service: `GET` subscribes, `POST` ingests, on one
//! path (default `/api/events`).
//!
//! [`Hub::service`] returns a [`HubService`]: a tower `Service` (mount it in
//! axum with `Router::route_service`) and a hyper `Service` (serve it with
//! hyper or hyper-util directly). [`serve`](crate::serve()) runs the same
//! service on hyper-util's HTTP/1.1 + HTTP/2 server.
//!
//! ```
//! use axum::Router;
//! use continuum_runtime::Hub;
//!
//! let hub = Hub::builder().build().unwrap();
//! let events = hub.service();
//! let app: Router = Router::new()
//!     .route("/health", axum::routing::get(|| async { "ok" }))
//!     .route_service(events.path(), events.clone());
//! # let _ = app;
//! ```
//!
//! # The routes
//!
//! `GET {path}` answers `200` with `content-type: text/event-stream`,
//! `cache-control: no-cache, no-transform` and `x-accel-buffering: no`, and
//! streams what [`Hub::subscribe_sse`] yields. It reads `?types=` (exact names
//! or `prefix.*`, comma-separated; a bad item is `400 invalid_types`), the
//! `Last-Event-ID` header or, when absent, the `lastEventId` query, and runs
//! the hub's authorization hook (a rejection is its `401`/`403` with a JSON body).
//! Before anything else it applies the subscriber caps: `429`
//! `too_many_subscribers` when the client address (see [`ClientAddr`]) holds
//! [`max_subscribers_per_ip`](crate::HubBuilder::max_subscribers_per_ip)
//! streams, `503` `server_full` at
//! [`max_subscribers`](crate::HubBuilder::max_subscribers), both with
//! `retry-after`, decided before any stream state is allocated. With
//! `?snapshot=true` the stream starts (after `continuum.connected`, and after
//! `continuum.reset` when there is one) with the latest event of each live key
//! of the keyed types `types` matches, in id order, then `continuum.snapshot`
//! (`{"count","types"}`); a `Last-Event-ID` that replays from the buffer gets
//! the replay instead.
//!
//! `GET {path}/state?types=…` answers the same snapshot as one JSON document,
//! `{"events":[{"id","type","data"}…],"lastEventId":"…","types":[…]}`, under
//! the same authorization hook and channels.
//!
//! `POST {path}` takes `{"type": "…", "data": …, "channel": "…"}` (`data` may
//! be omitted for unit events; `channel`, optional, makes the event reach only
//! subscribers granted that channel) or an array of them, applied
//! all-or-nothing. It answers `202` with `{"id": "…"}` for one envelope and
//! `{"ids": […]}` for an array (in order). Failures, each with a body
//! `{"error": "<code>", "message": "…", …}`:
//!
//! | status | `error` | when |
//! |---|---|---|
//! | `400` | `malformed_json` | the body is not JSON (or not UTF-8); with `line` and `column` |
//! | `400` | `invalid_idempotency_key` | `Idempotency-Key` empty, over 255 bytes or not visible ASCII |
//! | `401` | `unauthorized` | a token is configured and `x-continuum-event-key` is missing or matches none of the tokens |
//! | `408` | `body_timeout` | the body did not arrive within [`body_read_timeout`](crate::HubBuilder::body_read_timeout); with `connection: close` |
//! | `413` | `payload_too_large` | over the body limit: from `content-length` before reading, else while reading; with `limit` |
//! | `415` | `unsupported_media_type` | `content-type` is not `application/json` |
//! | `422` | `unknown_type` / `reserved_type` / `invalid_event` | with `issues: [{path, code, message}]`, every issue of every envelope (paths `data.progress`, or `[2].data.progress` in an array); `continuum.*` types are the server's own |
//! | `405` | `method_not_allowed` | any method but `GET`, `POST`, `OPTIONS`; with `allow: GET, POST, OPTIONS` |
//! | `503` | `publish_failed` | the backplane could not publish; nothing was published |
//!
//! With an `Idempotency-Key` header, a retry within the hub's idempotency
//! window publishes nothing and answers the first ids again, with
//! `idempotent-replayed: true`. Every refusal is counted in
//! [`Hub::metrics`](crate::Hub::metrics) by reason.
//!
//! `GET {path}/health` answers whether the node can publish: `200`
//! `{"status":"ok","backplane":"up"|"in_memory","subscribers":N,"epoch":"…"}`,
//! or `503` with `"status":"unavailable"`, `"backplane":"down"` while a shared
//! backplane cannot reach its transport (a readiness probe).
//!
//! `OPTIONS {path}` answers CORS preflights for the configured origins
//! (allowing `GET`, `POST` and the headers `content-type`, `last-event-id`,
//! `x-continuum-event-key`, `idempotency-key`). An allowed origin is echoed
//! with `access-control-allow-credentials: true` and `vary: origin`; a
//! configured `*` answers `*` without credentials; other origins get no CORS
//! headers. Any other path is `404 not_found`.

mod body;
mod client_addr;
mod cors;
pub(crate) mod envelope;
mod error;
mod health;
mod ingest;
pub(crate) mod query;
mod shutdown;
mod state;
mod subscribe;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body::Body;

pub(crate) use self::body::BodyParts;
pub use self::body::ResponseBody;
pub use self::client_addr::ClientAddr;
use self::cors::Cors;
use self::error::ApiError;
pub use self::ingest::{
    EVENT_KEY_HEADER, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, MAX_IDEMPOTENCY_KEY_LEN,
};
pub(crate) use self::shutdown::Shutdown as StreamShutdown;
use self::shutdown::Shutdown;
use crate::hub::Hub;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The events endpoint as a service; see the [module docs](self) for the
/// contract. Cheap to clone: clones share one shutdown switch
/// ([`shutdown_streams`](Self::shutdown_streams)).
///
/// Implements `tower_service::Service<http::Request<B>>` and
/// `hyper::service::Service<http::Request<B>>` for any body `B` (hyper's
/// `Incoming`, axum's `Body`, …), with `Error = Infallible`: every failure is
/// an HTTP response.
#[derive(Clone)]
pub struct HubService {
    shared: Arc<Shared>,
    any_path: bool,
    metrics_route: bool,
    /// The `GET {path}/schema` body, when [`HubService::with_schema_route`] turned it on.
    schema: Option<Bytes>,
    /// Static pages served on `GET` beside the events path (see [`HubService::with_page`]).
    pages: Arc<[(String, Bytes)]>,
}

pub(crate) struct Shared {
    pub(crate) hub: Hub,
    pub(crate) cors: Cors,
    pub(crate) shutdown: Shutdown,
    metrics_path: String,
    schema_path: String,
    health_path: String,
    state_path: String,
}

impl fmt::Debug for HubService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubService")
            .field("path", &self.path())
            .field("any_path", &self.any_path)
            .field("metrics_route", &self.metrics_route)
            .field("schema_route", &self.schema.is_some())
            .field(
                "pages",
                &self
                    .pages
                    .iter()
                    .map(|(p, _)| p.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Whether the "ingest is open" warning was logged (once per process).
static WARNED_OPEN_INGEST: AtomicBool = AtomicBool::new(false);

impl Hub {
    /// The events endpoint of this hub as a tower and hyper service, answering
    /// on [`Config::path`](crate::config::Config::path) (see [`HubService`]).
    ///
    /// When no ingest token is configured, the first call in the process logs
    /// a warning: anyone who can reach the path can publish.
    pub fn service(&self) -> HubService {
        HubService::new(self.clone())
    }
}

impl From<Hub> for HubService {
    fn from(hub: Hub) -> Self {
        HubService::new(hub)
    }
}

impl HubService {
    fn new(hub: Hub) -> Self {
        let config = hub.config();
        if config.ingest_token().is_none() && !WARNED_OPEN_INGEST.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                path = config.path(),
                "continuum: no ingest token set (CONTINUUM_EVENT_INGEST_TOKEN or HubBuilder::ingest_token); \
                 anyone who can reach POST {} can publish events",
                config.path()
            );
        }
        let shared = Shared {
            cors: Cors::new(config.allowed_origins()),
            metrics_path: format!("{}/metrics", config.path().trim_end_matches('/')),
            schema_path: format!("{}/schema", config.path().trim_end_matches('/')),
            health_path: format!("{}/health", config.path().trim_end_matches('/')),
            state_path: format!("{}/state", config.path().trim_end_matches('/')),
            shutdown: Shutdown::new(hub.clone()),
            hub,
        };
        HubService {
            shared: Arc::new(shared),
            any_path: false,
            metrics_route: false,
            schema: None,
            pages: Arc::from([]),
        }
    }

    /// The path the service answers on, e.g. `/api/events`.
    pub fn path(&self) -> &str {
        self.shared.hub.config().path()
    }

    /// The hub behind the service.
    pub fn hub(&self) -> &Hub {
        &self.shared.hub
    }

    /// Answer on every path, for when a router has already routed the request
    /// here and rewritten its path (axum's `nest_service` strips the prefix).
    ///
    /// ```
    /// use continuum_runtime::Hub;
    ///
    /// let hub = Hub::builder().build().unwrap();
    /// let app: axum::Router = axum::Router::new().nest_service("/api/events", hub.service().any_path());
    /// # let _ = app;
    /// ```
    pub fn any_path(mut self) -> Self {
        self.any_path = true;
        self
    }

    /// Also answer `GET {path}/metrics` with the hub's counters in the
    /// Prometheus text format (unauthenticated: expose it only where scrapers
    /// are the only callers, or mount [`Hub::metrics`] behind your own auth).
    pub fn with_metrics_route(mut self) -> Self {
        self.metrics_route = true;
        self
    }

    /// Also answer `GET {path}/schema` with the JSON Schema of every
    /// registered event, so tools and other languages discover what the
    /// server accepts: `{"events": {"<type>": <JSON Schema>, …}}` (see
    /// [`json_schema`](crate::json_schema::json_schema); constraints included,
    /// docs as `description`). Unauthenticated, like the event types it lists.
    ///
    /// ```
    /// use continuum_runtime::prelude::*;
    ///
    /// #[continuum_event("docs.schema.route")]
    /// pub struct Ping { pub n: u32 }
    ///
    /// let hub = Hub::builder().register::<Ping>().build().unwrap();
    /// let service = hub.service().with_schema_route();   // GET /api/events/schema
    /// # let _ = service;
    /// ```
    pub fn with_schema_route(mut self) -> Self {
        let events: serde_json::Map<String, serde_json::Value> = {
            let mut regs: Vec<_> = self.shared.hub.registry().iter().collect();
            regs.sort_by_key(|r| r.type_name);
            regs.into_iter()
                .map(|r| {
                    let schema = crate::json_schema::json_schema((r.schema)());
                    (r.type_name.to_owned(), schema)
                })
                .collect()
        };
        let body = serde_json::json!({ "events": events });
        self.schema = Some(Bytes::from(body.to_string()));
        self
    }

    /// Also answer `GET path` with a static HTML page: a status page, or the
    /// front-end of a standalone deployment (the demo serves its page this
    /// way). The page is held in memory and served as it is.
    ///
    /// ```
    /// use continuum_runtime::Hub;
    ///
    /// let hub = Hub::builder().build().unwrap();
    /// let service = hub.service().with_page("/", "<!doctype html><title>events</title>");
    /// # let _ = service;
    /// ```
    pub fn with_page(mut self, path: impl Into<String>, html: impl Into<Bytes>) -> Self {
        let mut pages: Vec<(String, Bytes)> = self.pages.iter().cloned().collect();
        pages.push((path.into(), html.into()));
        self.pages = pages.into();
        self
    }

    fn page(&self, method: &Method, path: &str) -> Option<Response<ResponseBody>> {
        let (_, html) = self.pages.iter().find(|(p, _)| p == path)?;
        if method != Method::GET && method != Method::HEAD {
            let mut res = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this page answers GET",
            )
            .into_response();
            res.headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return Some(res);
        }
        let mut res = Response::new(ResponseBody::full(html.clone()));
        res.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        res.headers_mut().insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        );
        Some(res)
    }

    /// End every SSE stream this service (or a clone) has opened, and make
    /// streams opened from now on end at once. Clients reconnect (to this
    /// server once it is back, or another) and replay from their
    /// `Last-Event-ID`. [`serve_with_shutdown`](crate::serve_with_shutdown)
    /// calls this when its signal fires; call it yourself before awaiting
    /// axum's graceful shutdown, which otherwise waits for the streams forever.
    pub fn shutdown_streams(&self) {
        self.shared.shutdown.stop();
    }

    fn handle<B>(&self, req: Request<B>) -> ResponseFuture
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let shared = &self.shared;
        let path = req.uri().path();
        if !self.any_path && path == shared.health_path {
            return ResponseFuture::ready(health::health(&shared.hub, req.method()));
        }
        if self.metrics_route && !self.any_path && path == shared.metrics_path {
            return ResponseFuture::ready(self.metrics(req.method()));
        }
        if let Some(schema) = self.schema.as_ref().filter(|_| !self.any_path) {
            if path == shared.schema_path {
                let mut res = schema_response(req.method(), schema);
                shared.cors.apply(req.headers(), res.headers_mut());
                return ResponseFuture::ready(res);
            }
        }
        if path == shared.state_path || (self.any_path && path.ends_with("/state")) {
            let (parts, _) = req.into_parts();
            let mut res = state::state(shared, &parts).unwrap_or_else(ApiError::into_response);
            shared.cors.apply(&parts.headers, res.headers_mut());
            return ResponseFuture::ready(res);
        }
        if !self.any_path && path != self.path() {
            if let Some(res) = self.page(req.method(), path) {
                return ResponseFuture::ready(res);
            }
            return ResponseFuture::ready(ApiError::not_found().into_response());
        }
        let (parts, body) = req.into_parts();
        match parts.method {
            Method::GET => {
                drop(body);
                let mut res =
                    subscribe::subscribe(shared, &parts).unwrap_or_else(ApiError::into_response);
                shared.cors.apply(&parts.headers, res.headers_mut());
                ResponseFuture::ready(res)
            }
            Method::POST => {
                let shared = self.shared.clone();
                ResponseFuture::boxed(async move {
                    let mut res = ingest::ingest(&shared, &parts, body).await;
                    shared.cors.apply(&parts.headers, res.headers_mut());
                    res
                })
            }
            Method::OPTIONS => ResponseFuture::ready(shared.cors.options(&parts.headers)),
            _ => {
                shared
                    .hub
                    .record_ingest_reject(crate::metrics::IngestReject::MethodNotAllowed);
                let mut res = ApiError::method_not_allowed().into_response();
                shared.cors.apply(&parts.headers, res.headers_mut());
                ResponseFuture::ready(res)
            }
        }
    }

    fn metrics(&self, method: &Method) -> Response<ResponseBody> {
        if method != Method::GET {
            let mut res = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "the metrics route answers GET",
            )
            .into_response();
            res.headers_mut()
                .insert(http::header::ALLOW, HeaderValue::from_static("GET"));
            return res;
        }
        let text = self.shared.hub.metrics().to_prometheus();
        let mut res = Response::new(ResponseBody::full(text.into()));
        res.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        res
    }
}

/// `400` for a request head the standalone server's HTTP/1.1 reader cannot
/// use (`error` names why), with `connection: close`.
pub(crate) fn bad_head_response(code: &'static str, message: String) -> Response<ResponseBody> {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
        .close()
        .into_response()
}

/// `408` for a `POST` body the standalone server's HTTP/1.1 reader did not
/// receive in time, counted like the service's own.
pub(crate) fn body_timeout_response(hub: &Hub) -> Response<ResponseBody> {
    hub.record_ingest_reject(crate::metrics::IngestReject::BodyTimeout);
    ingest::body_timeout(hub.config().body_read_timeout()).into_response()
}

fn schema_response(method: &Method, schema: &Bytes) -> Response<ResponseBody> {
    if method != Method::GET && method != Method::HEAD {
        let mut res = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "the schema route answers GET",
        )
        .into_response();
        res.headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return res;
    }
    let mut res = Response::new(ResponseBody::full(schema.clone()));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

impl<B> tower_service::Service<Request<B>> for HubService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> ResponseFuture {
        self.handle(req)
    }
}

impl<B> hyper::service::Service<Request<B>> for HubService
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request<B>) -> ResponseFuture {
        self.handle(req)
    }
}

/// The future of a [`HubService`] call. Subscriptions and refusals are ready
/// at once; an ingest reads its body first.
pub struct ResponseFuture {
    inner: Inner,
}

// The ready response is the common path (every subscription); boxing it
// would allocate per request to save stack space nobody is short of.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Ready(Option<Response<ResponseBody>>),
    Ingest(Pin<Box<dyn Future<Output = Response<ResponseBody>> + Send>>),
}

impl ResponseFuture {
    fn ready(res: Response<ResponseBody>) -> Self {
        ResponseFuture {
            inner: Inner::Ready(Some(res)),
        }
    }

    fn boxed(fut: impl Future<Output = Response<ResponseBody>> + Send + 'static) -> Self {
        ResponseFuture {
            inner: Inner::Ingest(Box::pin(fut)),
        }
    }
}

// The response is never pinned here (it is moved out whole, and the ingest
// future is boxed), so the future is `Unpin` whatever the body is.
impl Unpin for ResponseFuture {}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().inner {
            // Polled again after completion: answer an empty 500 rather than panic.
            Inner::Ready(res) => Poll::Ready(Ok(res.take().unwrap_or_else(|| {
                let mut res = Response::new(ResponseBody::empty());
                *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                res
            }))),
            Inner::Ingest(fut) => fut.as_mut().poll(cx).map(Ok),
        }
    }
}
