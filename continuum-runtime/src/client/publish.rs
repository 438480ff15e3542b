//! Publishing: [`Envelope`] (one event ready to send), [`Publish`] (a
//! publish about to be sent, with its idempotency key) and the `POST` with
//! its retries.

use std::borrow::Cow;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use serde_json::Value;

use super::answer::{answer_error, root_cause, status_kind};
use super::error::{ClientError, Kind};
use super::retry::{backoff_delay, retry_after};
use super::Client;
use crate::event::Event;
use crate::http::IDEMPOTENCY_KEY_HEADER;
use crate::id::EventId;
use crate::trace::{TraceContext, TRACEPARENT, TRACESTATE};
use crate::validate::ValidationErrors;

/// The current `tracing` span's OpenTelemetry context, sent by default.
#[cfg(feature = "otel")]
fn current_context() -> Option<TraceContext> {
    crate::otel::current_context()
}

#[cfg(not(feature = "otel"))]
fn current_context() -> Option<TraceContext> {
    None
}

impl Client {
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

    /// The delay before retry `attempt` (1-based): exponential with jitter,
    /// or the server's `retry-after`, never above the backoff's maximum.
    fn retry_delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        backoff_delay(self.inner.backoff, attempt, retry_after)
    }

    async fn post_once(
        &self,
        uri: &Uri,
        body: &Bytes,
        key: &HeaderValue,
        trace: &[(&'static str, HeaderValue)],
    ) -> Attempt {
        let mut req = Request::new(Full::new(body.clone()));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = uri.clone();
        let headers = req.headers_mut();
        headers.clone_from(&self.inner.headers);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(IDEMPOTENCY_KEY_HEADER, key.clone());
        for (name, value) in trace {
            headers.insert(*name, value.clone());
        }
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
        trace: Option<TraceContext>,
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
        let trace = trace_headers(trace.as_ref());
        let mut attempt = 0;
        loop {
            let error = match self.post_once(&uri, &body, &key, &trace).await {
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

enum Attempt {
    Answer(StatusCode, Bytes),
    Retry(ClientError),
}

/// `traceparent` (and `tracestate`) for `trace`.
fn trace_headers(trace: Option<&TraceContext>) -> Vec<(&'static str, HeaderValue)> {
    let Some(trace) = trace else {
        return Vec::new();
    };
    let mut headers = Vec::with_capacity(2);
    if let Ok(v) = HeaderValue::from_str(&trace.traceparent()) {
        headers.push((TRACEPARENT, v));
    }
    if let Some(v) = trace
        .tracestate()
        .and_then(|s| HeaderValue::from_str(s).ok())
    {
        headers.push((TRACESTATE, v));
    }
    headers
}

/// 128 random bits, URL-safe: unique per call across processes in practice.
fn generate_key() -> String {
    let mut key = crate::id::encode_u64(crate::id::random_u64());
    key.push_str(&crate::id::encode_u64(crate::id::random_u64()));
    key
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
    /// The declaration's version, sent as `"version"` (typed envelopes
    /// only: the server need not recognise the version by shape).
    version: Option<u32>,
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
            version: Some(E::VERSION),
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
            version: None,
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
        if let Some(version) = self.version {
            out.extend_from_slice(b",\"version\":");
            out.extend_from_slice(version.to_string().as_bytes());
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
    trace: Option<TraceContext>,
    output: PhantomData<fn() -> T>,
}

impl<T> Publish<T> {
    fn new(client: Client, body: Result<Bytes, ClientError>) -> Self {
        Publish {
            client,
            body,
            key: None,
            trace: current_context(),
            output: PhantomData,
        }
    }

    /// Send `context` as the `traceparent` (and `tracestate`): the events
    /// were created in that trace, and every node's fan-out span links to
    /// it. With the `otel` feature the current `tracing` span's context is
    /// sent without asking (when the [`otel`](crate::otel) layer records it);
    /// this replaces it.
    ///
    /// ```no_run
    /// # use continuum_runtime::prelude::*;
    /// # use continuum_runtime::client::Client;
    /// use continuum_runtime::trace::TraceContext;
    /// # #[continuum_event("docs.client.traced")] pub struct Done { pub job: u64 }
    /// # async fn run(client: Client, incoming_traceparent: &str) -> Result<(), continuum_runtime::client::ClientError> {
    /// let id = client
    ///     .publish(&Done { job: 7 })
    ///     .trace_context(TraceContext::parse(incoming_traceparent, None).expect("valid"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn trace_context(mut self, context: TraceContext) -> Self {
        self.trace = Some(context);
        self
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
            .field("trace", &self.trace)
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
            let body = self.client.post(self.body, self.key, self.trace).await?;
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
            let body = self.client.post(self.body, self.key, self.trace).await?;
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
    fn keys_are_unique_and_valid_headers() {
        let (a, b) = (generate_key(), generate_key());
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(HeaderValue::from_str(&a).is_ok());
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
