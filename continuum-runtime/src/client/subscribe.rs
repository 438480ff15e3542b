//! [`Subscription`]: `GET /api/events` as a `Stream` that reconnects with
//! `Last-Event-ID` and reports every gap as an [`Item::Reset`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use http::header::{HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::answer::{answer_error, root_cause, status_kind};
use super::connection::{self, ConnectionEvent, Observer};
use super::error::{ClientError, Kind};
use super::retry::{backoff_delay, retry_after};
use super::sse::{Decoder, SseEvent};
use super::Client;
use crate::decode::decode_event;
use crate::event::Event;
use crate::id::EventId;
use crate::sse::{ResetReason, CONNECTED_EVENT, RESET_EVENT};
use crate::validate::ValidationErrors;

/// The reconnect delay until the server sends its `retry:` (it always does,
/// first thing).
const DEFAULT_RETRY: Duration = Duration::from_secs(2);

/// One item of a [`Subscription`]: an event, or a reset.
///
/// Match both: a reset means events may have been missed (the server
/// restarted with a new epoch, the last id left its replay buffer, this
/// subscriber fell behind), so state built from earlier events must be
/// refetched. Live events follow the reset.
#[derive(Clone, Debug, PartialEq)]
pub enum Item<T> {
    /// An event and its id (the stream resumes after it on reconnect).
    Event {
        /// The id the server assigned.
        id: EventId,
        /// The payload, decoded and validated.
        event: T,
    },
    /// The server could not prove nothing was missed: refetch state.
    Reset(ResetReason),
}

/// An event of any type, as [`Client::subscribe_types`] yields it.
#[derive(Clone, Debug, PartialEq)]
pub struct RawEvent {
    /// The event's type name, e.g. `ai.task.progress`.
    pub type_name: String,
    /// The payload (the envelope's `data`), not validated.
    pub data: Value,
}

impl RawEvent {
    /// Decode and validate the payload as `E`, or every issue. Check
    /// [`type_name`](Self::type_name) against `E::TYPE` first.
    pub fn decode<E: Event>(&self) -> Result<E, ValidationErrors> {
        decode_event::<E>(&self.data.to_string())
    }
}

type Decode<T> = fn(&str, &str) -> Result<Option<T>, ValidationErrors>;
type Next<T> =
    Pin<Box<dyn Future<Output = (Box<Conn<T>>, Option<Result<Item<T>, ClientError>>)> + Send>>;

/// A subscription to the server's events: a [`Stream`] of
/// `Result<Item<T>, ClientError>`, from [`Client::subscribe`] (typed) or
/// [`Client::subscribe_types`] (untyped). Nothing is sent until it is first
/// polled; dropping it closes the connection.
///
/// Items:
/// - `Ok(Item::Event { id, event })` for every event, in order, each once:
///   after a dropped connection the subscription reconnects (after the
///   server's `retry:`, with backoff while the server is unreachable) with
///   `Last-Event-ID`, and the server replays what was missed.
/// - `Ok(Item::Reset(reason))` where the server could not replay (see
///   [`Item`]).
/// - `Err(e)` with [`e.is_decode()`](ClientError::is_decode) for an event
///   that does not decode or validate as `T` (its issues in
///   [`e.issues()`](ClientError::issues)), or for a reset whose reason
///   this version does not know; the stream goes on.
/// - `Err(e)` for a refusal (`401`/`403`, a `400` for a bad type filter, a
///   misconfigured client); then the stream ends.
#[must_use = "a subscription does nothing unless polled"]
pub struct Subscription<T> {
    conn: Option<Box<Conn<T>>>,
    next: Option<Next<T>>,
}

struct Conn<T> {
    client: Client,
    /// `types=…`, percent-encoded, or empty for every type.
    query: String,
    decode: Decode<T>,
    last_id: Option<String>,
    retry: Duration,
    failures: u32,
    /// Wait this long before the next connection attempt.
    wait: Option<Duration>,
    body: Option<Incoming>,
    decoder: Decoder,
    done: bool,
    /// Told of connections and disconnections ([`Subscription::on_connection`]).
    observer: Option<Observer>,
    /// The `Last-Event-ID` the current connection was opened with.
    resumed_after: Option<String>,
}

impl Client {
    /// Subscribe to events of type `E`, decoded and validated (the server
    /// filters with `?types=<E::TYPE>`). See [`Subscription`] for the items.
    pub fn subscribe<E: Event>(&self) -> Subscription<E> {
        fn decode<E: Event>(type_name: &str, data: &str) -> Result<Option<E>, ValidationErrors> {
            if type_name == E::TYPE {
                decode_event::<E>(data).map(Some)
            } else {
                Ok(None)
            }
        }
        Subscription::new(self.clone(), encode_types([E::TYPE]), decode::<E>)
    }

    /// Subscribe to several types at once, untyped: each is an exact name
    /// (`ai.task.progress`) or a prefix wildcard (`ai.task.*`); none means
    /// every type. Decode a payload with [`RawEvent::decode`].
    ///
    /// ```no_run
    /// # use continuum_runtime::prelude::*;
    /// # use continuum_runtime::client::{Client, Item};
    /// # #[continuum_event("ai.task.progress")] pub struct AiTaskProgress { pub progress: u8 }
    /// # async fn run(client: Client) -> Result<(), continuum_runtime::client::ClientError> {
    /// let mut events = client.subscribe_types(["ai.task.*", "media.upload.done"]);
    /// while let Some(item) = events.next().await {
    ///     match item? {
    ///         Item::Event { event, .. } if event.type_name == AiTaskProgress::TYPE => {
    ///             let progress: AiTaskProgress = event.decode().expect("valid");
    ///         }
    ///         Item::Event { id, event } => println!("{id}: {} {}", event.type_name, event.data),
    ///         Item::Reset(_) => { /* refetch */ }
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn subscribe_types<I>(&self, types: I) -> Subscription<RawEvent>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        fn decode(type_name: &str, data: &str) -> Result<Option<RawEvent>, ValidationErrors> {
            let data = serde_json::from_str(data).map_err(|e| invalid_json(&e))?;
            Ok(Some(RawEvent {
                type_name: type_name.to_owned(),
                data,
            }))
        }
        Subscription::new(self.clone(), encode_types(types), decode)
    }
}

fn invalid_json(e: &serde_json::Error) -> ValidationErrors {
    ValidationErrors::from(vec![crate::Issue::new(
        "",
        crate::IssueCode::Type,
        format!("invalid JSON: {e}"),
    )])
}

/// `types=a,b` with everything but the filter grammar's characters escaped.
fn encode_types<I>(types: I) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let mut list = String::new();
    for (i, t) in types.into_iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        for b in t.as_ref().bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'*' | b'-' | b'_') {
                list.push(b as char);
            } else {
                list.push_str(&format!("%{b:02X}"));
            }
        }
    }
    if list.is_empty() {
        list
    } else {
        format!("types={list}")
    }
}

impl<T: Send + 'static> Subscription<T> {
    fn new(client: Client, query: String, decode: Decode<T>) -> Self {
        Subscription {
            conn: Some(Box::new(Conn {
                client,
                query,
                decode,
                last_id: None,
                retry: DEFAULT_RETRY,
                failures: 0,
                wait: None,
                body: None,
                decoder: Decoder::new(None),
                done: false,
                observer: None,
                resumed_after: None,
            })),
            next: None,
        }
    }

    /// Start after `id` (sent as `Last-Event-ID` on the first connection),
    /// e.g. the last id a previous run of this service persisted: the
    /// server replays what followed it, or sends a reset. Before the first
    /// poll only.
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        if let Some(conn) = &mut self.conn {
            conn.last_id = Some(id.into());
        }
        self
    }

    /// Call `f` on every connection and disconnection (see
    /// [`ConnectionEvent`]), e.g. to show reconnects. Called from inside
    /// [`next`](Self::next), in order with the items. Before the first poll only.
    ///
    /// ```no_run
    /// # async fn run(client: continuum_runtime::client::Client) {
    /// let mut events = client.subscribe_types(["ai.*"]).on_connection(|c| eprintln!("{c:?}"));
    /// while let Some(item) = events.next().await { /* … */ }
    /// # }
    /// ```
    pub fn on_connection(mut self, f: impl FnMut(&ConnectionEvent) + Send + 'static) -> Self {
        if let Some(conn) = &mut self.conn {
            conn.observer = Some(Box::new(f));
        }
        self
    }

    /// The next item; `None` once the stream ended (after a refusal).
    /// The same as `StreamExt::next`.
    pub async fn next(&mut self) -> Option<Result<Item<T>, ClientError>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<T: Send + 'static> Stream for Subscription<T> {
    type Item = Result<Item<T>, ClientError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.next.is_none() {
            // The connection state moves into the future for one item and
            // comes back with it: no task, no channel, and dropping the
            // subscription drops the connection.
            let Some(mut conn) = this.conn.take() else {
                return Poll::Ready(None);
            };
            this.next = Some(Box::pin(async move {
                let item = conn.next().await;
                (conn, item)
            }));
        }
        let Some(next) = this.next.as_mut() else {
            return Poll::Ready(None);
        };
        match next.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready((conn, item)) => {
                this.next = None;
                this.conn = Some(conn);
                Poll::Ready(item)
            }
        }
    }
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Subscription");
        if let Some(conn) = &self.conn {
            d.field("query", &conn.query)
                .field("last_id", &conn.last_id)
                .field("connected", &conn.body.is_some())
                .field("done", &conn.done);
        }
        d.finish_non_exhaustive()
    }
}

/// Why a connection attempt failed.
enum ConnectError {
    /// Worth another attempt (transport error, `5xx`), after at least this.
    Retry(ClientError, Option<Duration>),
    /// The server refused; retrying would be refused again.
    Fatal(ClientError),
}

impl<T> Conn<T> {
    async fn next(&mut self) -> Option<Result<Item<T>, ClientError>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(body) = &mut self.body {
                if let Some(event) = self.decoder.next_event() {
                    if let Some(item) = self.handle(event) {
                        return Some(item);
                    }
                    continue;
                }
                let idle = self.client.inner.idle_timeout;
                let end = match tokio::time::timeout(idle, body.frame()).await {
                    Ok(Some(Ok(frame))) => {
                        if let Ok(data) = frame.into_data() {
                            self.decoder.feed(&data);
                            if let Some(ms) = self.decoder.take_retry() {
                                self.retry = Duration::from_millis(ms);
                            }
                        }
                        continue;
                    }
                    Ok(Some(Err(e))) => format!("the stream failed: {e}"),
                    Ok(None) => "the server ended the stream".to_owned(),
                    Err(_) => format!("nothing arrived for {idle:?}"),
                };
                tracing::debug!(reason = %end, last_id = ?self.last_id, "continuum client: reconnecting");
                // An event cut off mid-frame is discarded (as the standard
                // says); the replay from `last_id` sends it again whole.
                self.body = None;
                self.wait = Some(self.retry);
                self.observe(ConnectionEvent::Disconnected {
                    reason: end,
                    retry_in: self.retry,
                });
                continue;
            }
            if let Some(wait) = self.wait.take() {
                tokio::time::sleep(wait).await;
            }
            match self.connect().await {
                Ok(body) => {
                    self.body = Some(body);
                    self.decoder = Decoder::new(self.last_id.as_deref());
                    self.resumed_after.clone_from(&self.last_id);
                    self.failures = 0;
                }
                Err(ConnectError::Fatal(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Err(ConnectError::Retry(e, after)) => {
                    self.failures += 1;
                    let backoff = backoff_delay(self.client.inner.backoff, self.failures, after);
                    let wait = backoff.max(self.retry);
                    tracing::debug!(error = %e, ?wait, failures = self.failures, "continuum client: subscribe failed, retrying");
                    self.wait = Some(wait);
                    self.observe(ConnectionEvent::Disconnected {
                        reason: e.to_string(),
                        retry_in: wait,
                    });
                }
            }
        }
    }

    /// What one dispatched SSE event means to the subscriber, if anything.
    fn handle(&mut self, event: SseEvent) -> Option<Result<Item<T>, ClientError>> {
        self.last_id = (!event.id.is_empty()).then(|| event.id.clone());
        match event.event.as_str() {
            CONNECTED_EVENT => {
                let resumed_after = self.resumed_after.take();
                self.observe(connection::connected(&event.data, resumed_after));
                None
            }
            RESET_EVENT => Some(reset_item(&event.data)),
            _ => {
                #[derive(Deserialize)]
                struct Envelope<'a> {
                    #[serde(rename = "type", borrow)]
                    type_name: std::borrow::Cow<'a, str>,
                    #[serde(borrow)]
                    data: &'a RawValue,
                }
                let envelope: Envelope<'_> = match serde_json::from_str(&event.data) {
                    Ok(e) => e,
                    Err(e) => {
                        return Some(Err(ClientError::new(
                            Kind::Decode,
                            format!("the `{}` event is not an envelope: {e}", event.event),
                        )))
                    }
                };
                let decoded = (self.decode)(&envelope.type_name, envelope.data.get());
                let Some(id) = EventId::parse(&event.id) else {
                    return Some(Err(ClientError::new(
                        Kind::Decode,
                        format!(
                            "the `{}` event has no valid id: {:?}",
                            envelope.type_name, event.id
                        ),
                    )));
                };
                match decoded {
                    Ok(Some(event)) => Some(Ok(Item::Event { id, event })),
                    Ok(None) => None, // a type this subscription did not ask for
                    Err(errors) => Some(Err(ClientError::new(
                        Kind::Decode,
                        format!(
                            "event {id} (`{}`) does not decode: {errors}",
                            envelope.type_name
                        ),
                    )
                    .with_issues(errors.into_issues()))),
                }
            }
        }
    }

    fn observe(&mut self, event: ConnectionEvent) {
        if let Some(f) = &mut self.observer {
            f(&event);
        }
    }

    async fn connect(&mut self) -> Result<Incoming, ConnectError> {
        let client = &self.client;
        let url = client.url().map_err(ConnectError::Fatal)?;
        let uri = with_query(url, &self.query).map_err(ConnectError::Fatal)?;
        let mut req = Request::new(Full::default());
        *req.method_mut() = Method::GET;
        *req.uri_mut() = uri.clone();
        let headers = req.headers_mut();
        headers.clone_from(&client.inner.headers);
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if let Some(id) = &self.last_id {
            if let Ok(value) = HeaderValue::from_str(id) {
                headers.insert("last-event-id", value);
            }
        }
        let res = match tokio::time::timeout(client.inner.timeout, client.inner.http.request(req))
            .await
        {
            Err(_) => {
                let e = ClientError::new(
                    Kind::Timeout,
                    format!("no answer from {uri} within {:?}", client.inner.timeout),
                );
                return Err(ConnectError::Retry(e, None));
            }
            Ok(Err(e)) => {
                let message = format!("could not reach {uri}: {}", root_cause(&e));
                return Err(ConnectError::Retry(
                    ClientError::new(Kind::Connect, message).with_source(e),
                    None,
                ));
            }
            Ok(Ok(res)) => res,
        };
        let status = res.status();
        if status == StatusCode::OK {
            let is_sse = res
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| {
                    v.trim_start()
                        .to_ascii_lowercase()
                        .starts_with("text/event-stream")
                });
            if !is_sse {
                let e = ClientError::new(
                    Kind::Decode,
                    format!("{uri} did not answer with `text/event-stream`"),
                )
                .with_status(status, None);
                return Err(ConnectError::Fatal(e));
            }
            return Ok(res.into_body());
        }
        let after = retry_after(res.headers());
        let body = tokio::time::timeout(client.inner.timeout, res.into_body().collect())
            .await
            .ok()
            .and_then(Result::ok)
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let kind = status_kind(status);
        let error = answer_error(status, &body, kind);
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Err(ConnectError::Retry(error.with_retry_after(after), after))
        } else {
            Err(ConnectError::Fatal(error))
        }
    }
}

fn with_query(url: &Uri, query: &str) -> Result<Uri, ClientError> {
    if query.is_empty() {
        return Ok(url.clone());
    }
    let text = url.to_string();
    let joined = match url.query() {
        Some(q) if !q.is_empty() => format!("{text}&{query}"),
        Some(_) => format!("{text}{query}"),
        None => format!("{text}?{query}"),
    };
    joined.parse().map_err(|e| {
        ClientError::new(
            Kind::Builder,
            format!("could not add `{query}` to the URL: {e}"),
        )
    })
}

/// A `continuum.reset` frame as an item.
fn reset_item<T>(data: &str) -> Result<Item<T>, ClientError> {
    let reason = serde_json::from_str::<Value>(data)
        .ok()
        .and_then(|v| Some(v.get("reason")?.as_str()?.to_owned()));
    let known = match reason.as_deref() {
        Some("evicted") => Some(ResetReason::Evicted),
        Some("foreign_epoch") => Some(ResetReason::ForeignEpoch),
        Some("lagged") => Some(ResetReason::Lagged),
        Some("unknown_id") => Some(ResetReason::UnknownId),
        Some("stream_lost") => Some(ResetReason::StreamLost),
        Some("expired") => Some(ResetReason::Expired),
        _ => None,
    };
    known.map(Item::Reset).ok_or_else(|| {
        ClientError::new(
            Kind::Decode,
            format!("the server sent a reset this client does not know ({data}): events may have been missed, refetch state"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_filters_are_encoded() {
        assert_eq!(
            encode_types(["ai.task.*", "media.upload.done"]),
            "types=ai.task.*,media.upload.done"
        );
        assert_eq!(encode_types(["a b&c"]), "types=a%20b%26c");
        assert_eq!(encode_types(Vec::<String>::new()), "");
    }

    #[test]
    fn queries_are_appended() {
        let u: Uri = "http://h/api/events".parse().unwrap();
        assert_eq!(
            with_query(&u, "types=a.b").unwrap(),
            "http://h/api/events?types=a.b"
        );
        let u: Uri = "http://h/api/events?x=1".parse().unwrap();
        assert_eq!(
            with_query(&u, "types=a.b").unwrap(),
            "http://h/api/events?x=1&types=a.b"
        );
        assert_eq!(with_query(&u, "").unwrap(), u);
    }

    #[test]
    fn every_reset_reason_round_trips_and_unknown_ones_are_errors() {
        for reason in [
            ResetReason::Evicted,
            ResetReason::ForeignEpoch,
            ResetReason::Lagged,
            ResetReason::UnknownId,
            ResetReason::StreamLost,
            ResetReason::Expired,
        ] {
            let data = format!(r#"{{"reason":"{}"}}"#, reason.as_str());
            assert_eq!(reset_item::<()>(&data).unwrap(), Item::Reset(reason));
        }
        assert!(reset_item::<()>(r#"{"reason":"cosmic_ray"}"#)
            .unwrap_err()
            .is_decode());
        assert!(reset_item::<()>("not json").unwrap_err().is_decode());
    }
}
