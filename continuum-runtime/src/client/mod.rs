//! The typed Rust client (feature `client`): publish events to a Continuum
//! server's `POST /api/events` and subscribe to its `GET /api/events` from
//! another Rust service, with the same `#[continuum_event]` types the server
//! declares.
//!
//! ```
//! use continuum_runtime::prelude::*;
//! use continuum_runtime::client::{Client, Item};
//!
//! #[continuum_event("ai.task.progress")]
//! #[derive(Debug)]
//! pub struct AiTaskProgress {
//!     #[event(length(min = 1, max = 128))]
//!     pub task_id: String,
//!     #[event(range(min = 0, max = 100))]
//!     pub progress: u8,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let hub = Hub::builder().ingest_token("secret").build()?;
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let url = format!("http://{}/api/events", listener.local_addr()?);
//! # tokio::spawn(continuum_runtime::Server::new(hub).run(listener, std::future::pending::<()>()));
//! let client = Client::new(&url).token("secret");     // e.g. http://127.0.0.1:3000/api/events
//!
//! // Publish: validated here, sent with an idempotency key, retried on
//! // connection errors and `503`; resolves to the id the server assigned.
//! let first = client.publish(&AiTaskProgress { task_id: "gen-1".into(), progress: 10 }).await?;
//!
//! // Subscribe: typed events, reconnecting with `Last-Event-ID`; a reset
//! // (the server could not prove nothing was missed) is an item, not a gap.
//! // `last_event_id` resumes after an id; without it the stream starts live.
//! let mut events = client.subscribe::<AiTaskProgress>().last_event_id(first.to_string());
//! let second = client.publish(&AiTaskProgress { task_id: "gen-1".into(), progress: 20 }).await?;
//! while let Some(item) = events.next().await {       // also a `futures_core::Stream`
//!     match item? {
//!         Item::Event { id, event } => {
//!             assert_eq!((id, event.progress), (second, 20));
//!             break;
//!         }
//!         Item::Reset(reason) => println!("missed events ({reason:?}): refetch state"),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Publishing
//!
//! [`Client::publish`] and [`Client::publish_batch`] return a [`Publish`]
//! (await it, or set [`idempotency_key`](Publish::idempotency_key) first).
//! Each call has one `Idempotency-Key` — generated, unless set — sent with
//! every attempt, so the server publishes the event at most once however
//! many attempts it takes. Attempts are retried after connection errors,
//! timeouts and `502`/`503`/`504` answers, with exponential backoff and
//! jitter, waiting the server's `retry-after` when it sends one (capped at
//! the backoff's maximum). Failures are a [`ClientError`] with `is_*`
//! predicates; a `422` carries its typed [`Issue`]s.
//!
//! # Subscribing
//!
//! [`Client::subscribe`] yields `Result<Item<E>, ClientError>`: every event
//! of type `E`, decoded and validated, with its id, and an
//! [`Item::Reset`] wherever the server could not prove the stream has no
//! gap (after a restart with a new epoch, an evicted id, a subscriber that
//! fell behind). When the connection drops the subscription reconnects after
//! the server's `retry:` (with backoff while the server is unreachable) and
//! sends the last id it saw as `Last-Event-ID`, so the server replays what
//! was missed. An `Err` item is an event that could not be decoded (the
//! stream goes on) or a refusal of the server (`401`, `400`; the stream then
//! ends). [`Client::subscribe_types`] is the untyped form, for several types
//! at once.
//!
//! Plain `http://` only (HTTP/1.1, or HTTP/2 with
//! [`http2_prior_knowledge`](Client::http2_prior_knowledge)): the client is
//! for service-to-service traffic; terminate TLS in front of it.

mod error;
mod sse;
mod subscribe;

use std::borrow::Cow;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Why the server sent a reset: the reason an [`Item::Reset`] carries.
pub use crate::sse::ResetReason;
pub use error::ClientError;
pub use subscribe::{Item, RawEvent, Subscription};

use crate::event::Event;
use crate::http::{EVENT_KEY_HEADER, IDEMPOTENCY_KEY_HEADER};
use crate::id::EventId;
use crate::validate::{Issue, IssueCode, ValidationErrors};
use error::Kind;

type HttpClient = hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>;

/// A client of one Continuum server's events path, e.g.
/// `http://events.internal:3000/api/events`.
///
/// Cheap to clone (clones share connections); configure it with the
/// builder-style methods before use. See the [module docs](self).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    url: Result<Uri, String>,
    headers: HeaderMap,
    /// A header that could not be set (reported by every call, like a bad URL).
    header_error: Option<String>,
    http: HttpClient,
    http2_only: bool,
    retries: u32,
    backoff: (Duration, Duration),
    timeout: Duration,
    idle_timeout: Duration,
}

/// Retries of a publish after its first attempt, by default.
const DEFAULT_RETRIES: u32 = 6;
const DEFAULT_BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(10));
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// More than twice the server's default heartbeat (25 s).
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn http_client(http2_only: bool) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .http2_only(http2_only)
        .build(connector)
}

impl Client {
    /// A client of the events path at `url` (an absolute `http://` URL,
    /// e.g. `http://127.0.0.1:3000/api/events`).
    ///
    /// A URL that is not one makes every call fail with an
    /// [`is_builder`](ClientError::is_builder) error, so configuration read
    /// from the environment fails where it is used, with the reason.
    pub fn new(url: impl AsRef<str>) -> Client {
        Client {
            inner: Arc::new(Inner {
                url: parse_url(url.as_ref()),
                headers: HeaderMap::new(),
                header_error: None,
                http: http_client(false),
                http2_only: false,
                retries: DEFAULT_RETRIES,
                backoff: DEFAULT_BACKOFF,
                timeout: DEFAULT_TIMEOUT,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
            }),
        }
    }

    fn inner_mut(&mut self) -> &mut Inner {
        Arc::make_mut(&mut self.inner)
    }

    /// Send `token` as `x-continuum-event-key` (the server's ingest token).
    pub fn token(self, token: impl AsRef<str>) -> Client {
        self.header(EVENT_KEY_HEADER, token)
    }

    /// Send a header with every request (e.g. `authorization` or `cookie`
    /// for the server's subscriber authorization hook). Marked sensitive if
    /// it is the token, `authorization` or `cookie`, so it is never logged.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Client {
        let (name, value) = (name.as_ref(), value.as_ref());
        let parsed = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| "name")
            .and_then(|n| {
                HeaderValue::from_str(value)
                    .map(|v| (n, v))
                    .map_err(|_| "value")
            });
        let inner = self.inner_mut();
        match parsed {
            Ok((name, mut value)) => {
                let sensitive = [EVENT_KEY_HEADER, "authorization", "cookie"];
                value.set_sensitive(sensitive.contains(&name.as_str()));
                inner.headers.insert(name, value);
            }
            Err(what) => {
                inner.header_error = Some(format!("the header `{name}` has an invalid {what}"));
            }
        }
        self
    }

    /// How many times a publish is retried after its first attempt
    /// (default 6); `0` never retries.
    pub fn retries(mut self, retries: u32) -> Client {
        self.inner_mut().retries = retries;
        self
    }

    /// The backoff between publish attempts and between subscription
    /// reconnects while the server is unreachable: `initial`, doubling up to
    /// `max`, with jitter (default 100 ms to 10 s). A server's `retry-after`
    /// replaces the backoff, capped at `max`.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Client {
        self.inner_mut().backoff = (initial, max.max(initial));
        self
    }

    /// How long one publish attempt may take, connecting included
    /// (default 30 s); after that it counts as failed and is retried.
    pub fn timeout(mut self, timeout: Duration) -> Client {
        self.inner_mut().timeout = timeout;
        self
    }

    /// How long a subscription waits for any byte (an event or the server's
    /// heartbeat) before it considers the connection dead and reconnects
    /// (default 60 s; keep it above the server's heartbeat, 25 s by default).
    pub fn idle_timeout(mut self, timeout: Duration) -> Client {
        self.inner_mut().idle_timeout = timeout;
        self
    }

    /// Speak HTTP/2 without upgrade negotiation (h2c with prior knowledge),
    /// which `continuum_runtime::serve` accepts: every subscription and
    /// publish then shares one connection.
    pub fn http2_prior_knowledge(mut self) -> Client {
        let inner = self.inner_mut();
        inner.http2_only = true;
        inner.http = http_client(true);
        self
    }

    /// Publish one event: validate it here, `POST` it, and resolve to the id
    /// the server assigned.
    ///
    /// Takes `&event` for any `#[continuum_event]` type, or an [`Envelope`]
    /// (to name a channel, or for an untyped payload).
    ///
    /// # Errors
    ///
    /// A [`ClientError`]: [`is_invalid`](ClientError::is_invalid) with every
    /// issue (found here or by the server), `is_unauthorized` for a wrong
    /// token, `is_unavailable`/`is_connect`/`is_timeout` once retries are
    /// exhausted, `is_rejected` for other refusals.
    pub fn publish(&self, event: impl Into<Envelope>) -> Publish<EventId> {
        let envelope = event.into();
        let body = envelope.check("data").map(|()| {
            let mut out = Vec::with_capacity(envelope.data.len() + 64);
            envelope.write(&mut out);
            Bytes::from(out)
        });
        Publish::new(self.clone(), body)
    }

    /// Publish several events, all or nothing, in order; resolves to their
    /// ids. Takes references to events (`&events` for a `Vec` of one type)
    /// or [`Envelope`]s (to mix types or channels).
    ///
    /// ```no_run
    /// # use continuum_runtime::prelude::*;
    /// # use continuum_runtime::client::{Client, Envelope};
    /// # #[continuum_event("docs.client.a")] pub struct A { pub n: u32 }
    /// # #[continuum_event("docs.client.b")] pub struct B;
    /// # async fn run(client: Client) -> Result<(), continuum_runtime::client::ClientError> {
    /// let ids = client.publish_batch(&[A { n: 1 }, A { n: 2 }]).await?;
    /// let mixed = client
    ///     .publish_batch([Envelope::new(&A { n: 3 }), Envelope::new(&B).channel("user:42")])
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`publish`](Self::publish); issue paths name the event's index
    /// (`[1].data.n`).
    pub fn publish_batch<I>(&self, events: I) -> Publish<Vec<EventId>>
    where
        I: IntoIterator,
        I::Item: Into<Envelope>,
    {
        let envelopes: Vec<Envelope> = events.into_iter().map(Into::into).collect();
        let mut issues = Vec::new();
        let mut other = None;
        for (i, envelope) in envelopes.iter().enumerate() {
            match envelope.check(&format!("[{i}].data")) {
                Ok(()) => {}
                Err(e) if e.is_invalid() => issues.extend(e.issues().iter().cloned()),
                Err(e) => other = other.or(Some(e)),
            }
        }
        let body = match other {
            Some(e) => Err(e),
            None if !issues.is_empty() => Err(ClientError::invalid(ValidationErrors::from(issues))),
            None => {
                let mut out = Vec::with_capacity(
                    2 + envelopes.iter().map(|e| e.data.len() + 64).sum::<usize>(),
                );
                out.push(b'[');
                for (i, envelope) in envelopes.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    envelope.write(&mut out);
                }
                out.push(b']');
                Ok(Bytes::from(out))
            }
        };
        Publish::new(self.clone(), body)
    }

    fn config_error(&self) -> Option<ClientError> {
        let inner = &self.inner;
        match (&inner.url, &inner.header_error) {
            (Err(e), _) | (_, Some(e)) => Some(ClientError::new(Kind::Builder, e.clone())),
            _ => None,
        }
    }

    fn url(&self) -> Result<&Uri, ClientError> {
        match self.config_error() {
            Some(e) => Err(e),
            None => self
                .inner
                .url
                .as_ref()
                .map_err(|e| ClientError::new(Kind::Builder, e.clone())),
        }
    }

    /// The delay before retry `attempt` (1-based): exponential with jitter,
    /// or the server's `retry-after`, never above the backoff's maximum.
    fn retry_delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        backoff_delay(self.inner.backoff, attempt, retry_after)
    }

    async fn post_once(&self, uri: &Uri, body: &Bytes, key: &HeaderValue) -> Attempt {
        let mut req = Request::new(Full::new(body.clone()));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = uri.clone();
        let headers = req.headers_mut();
        headers.clone_from(&self.inner.headers);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(IDEMPOTENCY_KEY_HEADER, key.clone());
        let exchange = async {
            let res = self.inner.http.request(req).await.map_err(|e| {
                let message = format!("could not reach {uri}: {}", root_cause(&e));
                ClientError::new(Kind::Connect, message).with_source(e)
            })?;
            let (parts, body) = res.into_parts();
            let bytes = body.collect().await.map_err(|e| {
                ClientError::new(
                    Kind::Connect,
                    format!("the answer from {uri} was cut off: {e}"),
                )
                .with_source(e)
            })?;
            Ok((parts.status, parts.headers, bytes.to_bytes()))
        };
        match tokio::time::timeout(self.inner.timeout, exchange).await {
            Err(_) => Attempt::Retry(ClientError::new(
                Kind::Timeout,
                format!("no answer from {uri} within {:?}", self.inner.timeout),
            )),
            Ok(Err(e)) => Attempt::Retry(e),
            Ok(Ok((status, headers, body))) => {
                if matches!(status.as_u16(), 502..=504) {
                    let after = retry_after(&headers);
                    Attempt::Retry(
                        answer_error(status, &body, Kind::Unavailable).with_retry_after(after),
                    )
                } else {
                    Attempt::Answer(status, body)
                }
            }
        }
    }

    async fn post(
        &self,
        body: Result<Bytes, ClientError>,
        key: Option<String>,
    ) -> Result<Bytes, ClientError> {
        let body = body?;
        let uri = self.url()?.clone();
        let key = key.unwrap_or_else(generate_key);
        let key = HeaderValue::from_str(&key).map_err(|_| {
            ClientError::new(
                Kind::Builder,
                "the idempotency key is not a valid header value",
            )
        })?;
        let mut attempt = 0;
        loop {
            let error = match self.post_once(&uri, &body, &key).await {
                Attempt::Answer(status, body) if status.is_success() => return Ok(body),
                Attempt::Answer(status, body) => {
                    return Err(answer_error(status, &body, status_kind(status)))
                }
                Attempt::Retry(error) => error,
            };
            attempt += 1;
            if attempt > self.inner.retries {
                return Err(error);
            }
            let delay = self.retry_delay(attempt, error.retry_after());
            tracing::debug!(attempt, ?delay, error = %error, "continuum client: retrying publish");
            tokio::time::sleep(delay).await;
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field("url", &inner.url)
            // `HeaderValue`'s Debug prints `Sensitive` for the token.
            .field("headers", &inner.headers)
            .field("http2_only", &inner.http2_only)
            .field("retries", &inner.retries)
            .field("backoff", &inner.backoff)
            .field("timeout", &inner.timeout)
            .field("idle_timeout", &inner.idle_timeout)
            .finish()
    }
}

enum Attempt {
    Answer(StatusCode, Bytes),
    Retry(ClientError),
}

fn parse_url(url: &str) -> Result<Uri, String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    if uri.scheme_str() != Some("http") || uri.authority().is_none() {
        return Err(format!(
            "`{url}` must be an absolute `http://` URL of the events path (TLS is not supported)"
        ));
    }
    Ok(uri)
}

/// The innermost error's text: hyper-util's own message is a generic
/// "client error (Connect)".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn backoff_delay(
    (initial, max): (Duration, Duration),
    attempt: u32,
    retry_after: Option<Duration>,
) -> Duration {
    if let Some(after) = retry_after {
        return after.min(max);
    }
    let exp = initial
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(max);
    // "Equal jitter": half fixed, half random, so retries of many clients spread out.
    let half = exp / 2;
    let jitter = crate::id::random_u64() % (half.as_micros() as u64 + 1);
    half + Duration::from_micros(jitter)
}

/// `retry-after` in seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// 128 random bits, URL-safe: unique per call across processes in practice.
fn generate_key() -> String {
    let mut key = crate::id::encode_u64(crate::id::random_u64());
    key.push_str(&crate::id::encode_u64(crate::id::random_u64()));
    key
}

fn status_kind(status: StatusCode) -> Kind {
    match status.as_u16() {
        401 | 403 => Kind::Unauthorized,
        502..=504 => Kind::Unavailable,
        500..=599 => Kind::Server,
        _ => Kind::Rejected,
    }
}

/// The error for a non-2xx answer, from its JSON body
/// `{"error", "message", "issues"?}` (or whatever text it has).
fn answer_error(status: StatusCode, body: &[u8], kind: Kind) -> ClientError {
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
fn parse_issue(value: &Value) -> Option<Issue> {
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

/// One event ready to send: its type, its payload as JSON, an optional
/// channel, and the result of validating it here.
///
/// `From<&E>` for every `#[continuum_event]` type, so `publish(&event)`
/// works directly; build one to name a channel or to send an untyped payload.
///
/// ```
/// # use continuum_runtime::prelude::*;
/// use continuum_runtime::client::Envelope;
/// # #[continuum_event("docs.client.note")] pub struct Note { pub text: String }
///
/// let private = Envelope::new(&Note { text: "hi".into() }).channel("user:42");
/// let untyped = Envelope::untyped("docs.client.note", serde_json::json!({ "text": "hi" }));
/// assert_eq!(private.type_name(), untyped.type_name());
/// ```
#[derive(Clone, Debug)]
pub struct Envelope {
    type_name: Cow<'static, str>,
    data: String,
    channel: Option<String>,
    problem: Option<Problem>,
}

#[derive(Clone, Debug)]
enum Problem {
    Invalid(ValidationErrors),
    Serialize(String),
}

impl Envelope {
    /// A typed event, validated now (a failure is reported when published).
    pub fn new<E: Event>(event: &E) -> Envelope {
        let (data, problem) = match serde_json::to_string(event) {
            Ok(data) => (data, event.validate().err().map(Problem::Invalid)),
            Err(e) => (String::new(), Some(Problem::Serialize(e.to_string()))),
        };
        Envelope {
            type_name: Cow::Borrowed(E::TYPE),
            data,
            channel: None,
            problem,
        }
    }

    /// An event of type `type_name` with `data` as its payload, checked by
    /// the server only (for services without the Rust type).
    pub fn untyped(type_name: impl Into<String>, data: Value) -> Envelope {
        Envelope {
            type_name: Cow::Owned(type_name.into()),
            data: data.to_string(),
            channel: None,
            problem: None,
        }
    }

    /// Deliver the event only to subscribers granted `channel` (as
    /// [`Hub::emit_to`](crate::Hub::emit_to)).
    pub fn channel(mut self, channel: impl Into<String>) -> Envelope {
        self.channel = Some(channel.into());
        self
    }

    /// The event's type name.
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    fn check(&self, prefix: &str) -> Result<(), ClientError> {
        match &self.problem {
            None => Ok(()),
            Some(Problem::Invalid(errors)) => {
                Err(ClientError::invalid(errors.clone().prefixed(prefix)))
            }
            Some(Problem::Serialize(e)) => Err(ClientError::new(
                Kind::Invalid,
                format!(
                    "the `{}` event could not be serialized: {e}",
                    self.type_name
                ),
            )),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        // Serializing strings into a Vec cannot fail.
        out.extend_from_slice(b"{\"type\":");
        let _ = serde_json::to_writer(&mut *out, self.type_name.as_ref());
        out.extend_from_slice(b",\"data\":");
        out.extend_from_slice(self.data.as_bytes());
        if let Some(channel) = &self.channel {
            out.extend_from_slice(b",\"channel\":");
            let _ = serde_json::to_writer(&mut *out, channel);
        }
        out.push(b'}');
    }
}

impl<E: Event> From<&E> for Envelope {
    fn from(event: &E) -> Envelope {
        Envelope::new(event)
    }
}

/// A publish about to be sent: await it (it is [`IntoFuture`]) for the id
/// (or ids), or set its idempotency key first.
///
/// ```no_run
/// # use continuum_runtime::prelude::*;
/// # use continuum_runtime::client::Client;
/// # #[continuum_event("docs.client.order")] pub struct OrderShipped { pub order: u64 }
/// # async fn run(client: Client) -> Result<(), continuum_runtime::client::ClientError> {
/// // A key derived from the business fact: a worker that crashes and
/// // redoes the job publishes the event once, not twice.
/// let id = client
///     .publish(&OrderShipped { order: 1042 })
///     .idempotency_key("order-1042-shipped")
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "nothing is sent until the `Publish` is awaited"]
pub struct Publish<T> {
    client: Client,
    body: Result<Bytes, ClientError>,
    key: Option<String>,
    output: PhantomData<fn() -> T>,
}

impl<T> Publish<T> {
    fn new(client: Client, body: Result<Bytes, ClientError>) -> Self {
        Publish {
            client,
            body,
            key: None,
            output: PhantomData,
        }
    }

    /// Use `key` as the `Idempotency-Key` instead of a generated one: the
    /// server publishes one batch per key within its window (5 min by
    /// default) and answers a repeat with the first ids. 1 to 255 visible
    /// ASCII characters.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

impl<T> fmt::Debug for Publish<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publish")
            .field("body", &self.body.as_ref().map(Bytes::len))
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The future of a [`Publish`].
pub type PublishFuture<T> = Pin<Box<dyn Future<Output = Result<T, ClientError>> + Send + 'static>>;

impl IntoFuture for Publish<EventId> {
    type Output = Result<EventId, ClientError>;
    type IntoFuture = PublishFuture<EventId>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let body = self.client.post(self.body, self.key).await?;
            accepted_ids(&body, "id")?
                .pop()
                .ok_or_else(|| ClientError::new(Kind::Decode, "the answer has no `id`"))
        })
    }
}

impl IntoFuture for Publish<Vec<EventId>> {
    type Output = Result<Vec<EventId>, ClientError>;
    type IntoFuture = PublishFuture<Vec<EventId>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let body = self.client.post(self.body, self.key).await?;
            accepted_ids(&body, "ids")
        })
    }
}

/// The ids of a `202`: `{"id": "…"}` or `{"ids": ["…", …]}`.
fn accepted_ids(body: &[u8], member: &str) -> Result<Vec<EventId>, ClientError> {
    let bad = |why: &str| {
        ClientError::new(
            Kind::Decode,
            format!(
                "the server's `202` answer {why}: {}",
                String::from_utf8_lossy(body)
            ),
        )
    };
    let json: Value = serde_json::from_slice(body).map_err(|_| bad("is not JSON"))?;
    let parse = |v: &Value| {
        v.as_str()
            .and_then(EventId::parse)
            .ok_or_else(|| bad("has an invalid id"))
    };
    match json.get(member) {
        Some(Value::String(_)) => Ok(vec![parse(&json[member])?]),
        Some(Value::Array(ids)) => ids.iter().map(parse).collect(),
        _ => Err(bad(&format!("has no `{member}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_honours_retry_after_up_to_max() {
        let b = (Duration::from_millis(100), Duration::from_secs(1));
        for attempt in 1..=8 {
            let full =
                Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_secs(1));
            let d = backoff_delay(b, attempt, None);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert_eq!(
            backoff_delay(b, 1, Some(Duration::from_millis(300))),
            Duration::from_millis(300)
        );
        assert_eq!(
            backoff_delay(b, 1, Some(Duration::from_secs(2))),
            Duration::from_secs(1)
        );
        assert_eq!(backoff_delay(b, 1, Some(Duration::ZERO)), Duration::ZERO);
        assert!(backoff_delay(b, u32::MAX, None) <= Duration::from_secs(1));
    }

    #[test]
    fn retry_after_seconds_or_date() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        let later = std::time::SystemTime::now() + Duration::from_secs(30);
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_str(&httpdate::fmt_http_date(later)).unwrap(),
        );
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn urls() {
        assert!(parse_url("http://127.0.0.1:3000/api/events").is_ok());
        assert!(parse_url("https://example.com/api/events")
            .unwrap_err()
            .contains("TLS"));
        assert!(parse_url("/api/events").is_err());
        assert!(parse_url("not a url").is_err());
    }

    #[test]
    fn keys_are_unique_and_valid_headers() {
        let (a, b) = (generate_key(), generate_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(HeaderValue::from_str(&a).is_ok());
    }

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

    #[test]
    fn accepted_bodies() {
        let id = EventId::new(crate::id::Epoch::new(5), 9);
        let one = format!(r#"{{"id":"{id}"}}"#);
        assert_eq!(accepted_ids(one.as_bytes(), "id").unwrap(), [id]);
        let many = format!(r#"{{"ids":["{id}","{id}"]}}"#);
        assert_eq!(accepted_ids(many.as_bytes(), "ids").unwrap(), [id, id]);
        assert!(accepted_ids(b"{}", "id").unwrap_err().is_decode());
        assert!(accepted_ids(br#"{"id":"nope!"}"#, "id")
            .unwrap_err()
            .is_decode());
    }

    #[test]
    fn envelopes_are_the_ingest_shape() {
        let mut out = Vec::new();
        Envelope::untyped("a.b", serde_json::json!({"x": 1}))
            .channel("user:\"1\"")
            .write(&mut out);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": "a.b", "data": {"x": 1}, "channel": "user:\"1\""})
        );
    }
}
