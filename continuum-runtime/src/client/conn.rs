//! The connection behind a [`Subscription`](super::Subscription) and a
//! [`StateSubscription`](super::StateSubscription): `GET /api/events`,
//! decoded frame by frame, reconnecting with `Last-Event-ID` after the
//! server's `retry:` (with backoff while it is unreachable). Kept apart from
//! the public types so both subscriptions share one loop.
//!
//! Readers are tolerant (issue 18): control events (`continuum.*`) this
//! version does not know are ignored, a reset with an unknown reason is
//! still a reset, and an event of a type the subscription does not read is
//! skipped and counted.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::{HeaderValue, ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::answer::{answer_error, root_cause, status_kind};
use super::connection::{self, ConnectionEvent, Observer};
use super::error::{ClientError, Kind};
use super::item::Item;
use super::reset::reason_of;
use super::retry::{backoff_delay, retry_after};
use super::sse::{Decoder, SseEvent};
use super::Client;
use crate::id::EventId;
use crate::sse::{CONNECTED_EVENT, RESET_EVENT};
use crate::validate::ValidationErrors;

/// The reconnect delay until the server sends its `retry:` (it always does,
/// first thing).
const DEFAULT_RETRY: Duration = Duration::from_secs(2);
/// The control event that ends a snapshot (`snapshot=true`).
pub(crate) const SNAPSHOT_EVENT: &str = "continuum.snapshot";
/// Event types under this prefix are the server's control events.
const CONTROL_PREFIX: &str = "continuum.";

/// Reads one event's data (type name, data JSON): `Ok(None)` for a type
/// the subscription does not read.
type DecodeFn<T> = dyn Fn(&str, &str) -> Result<Option<T>, ValidationErrors> + Send + Sync;

/// A subscription's [`DecodeFn`], shared.
pub(crate) struct Decode<T>(pub(crate) Arc<DecodeFn<T>>);

/// What the connection yields: an item, a new connection, or the end of a snapshot.
pub(crate) enum Frame<T> {
    Item(Item<T>),
    Connected,
    Snapshot,
}

type Next<T> =
    Pin<Box<dyn Future<Output = (Box<Conn<T>>, Option<Result<Frame<T>, ClientError>>)> + Send>>;

/// The connection as a poll-able source of frames. The connection state
/// moves into a future for one frame and comes back with it: no task, no
/// channel, and dropping the frames drops the connection.
pub(crate) struct Frames<T> {
    conn: Option<Box<Conn<T>>>,
    next: Option<Next<T>>,
    skipped: Arc<AtomicU64>,
}

pub(crate) struct Conn<T> {
    client: Client,
    /// `types=…` and the rest of the query, percent-encoded.
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
    skipped: Arc<AtomicU64>,
    /// Told of connections and disconnections ([`Subscription::on_connection`](super::Subscription::on_connection)).
    observer: Option<Observer>,
    /// The `Last-Event-ID` the current connection was opened with.
    resumed_after: Option<String>,
}

impl<T: Send + 'static> Frames<T> {
    pub(crate) fn new(client: Client, query: String, decode: Decode<T>) -> Self {
        let skipped = Arc::new(AtomicU64::new(0));
        Frames {
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
                skipped: skipped.clone(),
                observer: None,
                resumed_after: None,
            })),
            next: None,
            skipped,
        }
    }
}

impl<T> Frames<T> {
    /// Before the first poll: resume after `id`.
    pub(crate) fn set_last_event_id(&mut self, id: String) {
        if let Some(conn) = &mut self.conn {
            conn.last_id = Some(id);
        }
    }

    /// Before the first poll: report connections to `observer`.
    pub(crate) fn set_observer(&mut self, observer: Observer) {
        if let Some(conn) = &mut self.conn {
            conn.observer = Some(observer);
        }
    }

    pub(crate) fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// `(query, last id, connected, done)` for `Debug`, when not mid-poll.
    pub(crate) fn debug(&self) -> Option<(&str, Option<&str>, bool, bool)> {
        let c = self.conn.as_ref()?;
        Some((&c.query, c.last_id.as_deref(), c.body.is_some(), c.done))
    }
}

impl<T: Send + 'static> Frames<T> {
    pub(crate) fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<T>, ClientError>>> {
        if self.next.is_none() {
            let Some(mut conn) = self.conn.take() else {
                return Poll::Ready(None);
            };
            self.next = Some(Box::pin(async move {
                let frame = conn.next().await;
                (conn, frame)
            }));
        }
        let Some(next) = self.next.as_mut() else {
            return Poll::Ready(None);
        };
        match next.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready((conn, frame)) => {
                self.next = None;
                self.conn = Some(conn);
                Poll::Ready(frame)
            }
        }
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
    async fn next(&mut self) -> Option<Result<Frame<T>, ClientError>> {
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
    fn handle(&mut self, event: SseEvent) -> Option<Result<Frame<T>, ClientError>> {
        self.last_id = (!event.id.is_empty()).then(|| event.id.clone());
        match event.event.as_str() {
            CONNECTED_EVENT => {
                let resumed_after = self.resumed_after.take();
                self.observe(connection::connected(&event.data, resumed_after));
                Some(Ok(Frame::Connected))
            }
            RESET_EVENT => Some(Ok(Frame::Item(Item::Reset(reason_of(&event.data))))),
            SNAPSHOT_EVENT => Some(Ok(Frame::Snapshot)),
            // A control event this version does not know (a newer server): ignored.
            name if name.starts_with(CONTROL_PREFIX) => None,
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
                let decoded = (self.decode.0)(&envelope.type_name, envelope.data.get());
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
                    Ok(Some(event)) => Some(Ok(Frame::Item(Item::Event { id, event }))),
                    Ok(None) => {
                        // A type this subscription does not read: skipped, counted.
                        self.skipped.fetch_add(1, Ordering::Relaxed);
                        None
                    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
