//! [`Subscription`]: `GET /api/events` as a `Stream` that reconnects with
//! `Last-Event-ID` and reports every gap as an [`Item::Reset`].
//!
//! Received events are read as a tolerant reader does
//! ([`read_event`](crate::decode::read_event)): fields this build's
//! declaration lacks are ignored and value constraints are not re-checked,
//! so a newer server adding an optional field never breaks an older
//! subscriber. Each subscription sends this build's contract (see
//! [`Client::contract`]).

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use serde_json::Value;

use super::conn::{Decode, Frame, Frames};
use super::connection::ConnectionEvent;
use super::contract::{encode, version_of, Sent};
use super::error::ClientError;
use super::item::Item;
use super::Client;
use crate::decode::{decode_event, read_event};
use crate::event::Event;
use crate::validate::ValidationErrors;

/// An event of any type, as [`Client::subscribe_types`] yields it.
#[derive(Clone, Debug, PartialEq)]
pub struct RawEvent {
    /// The event's type name, e.g. `ai.task.progress`.
    pub type_name: String,
    /// The payload (the envelope's `data`), not validated.
    pub data: Value,
}

impl RawEvent {
    /// Decode and validate the payload as `E` (as ingest does: unknown
    /// fields and broken constraints are issues), or every issue. Check
    /// [`type_name`](Self::type_name) against `E::TYPE` first.
    pub fn decode<E: Event>(&self) -> Result<E, ValidationErrors> {
        decode_event::<E>(&self.data.to_string())
    }

    /// Read the payload as `E` the way a subscriber does: fields `E` lacks
    /// are ignored, constraints are not re-checked
    /// ([`read_event`](crate::decode::read_event)).
    pub fn read<E: Event>(&self) -> Result<E, ValidationErrors> {
        read_event::<E>(&self.data.to_string())
    }
}

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
///   [`Item`]); a reason this version does not know is
///   [`ResetReason::Other`](super::ResetReason::Other), still a reset.
/// - `Err(e)` with [`e.is_decode()`](ClientError::is_decode) for an event
///   this build cannot read as `T` (a value outside its types: a missing
///   required field, an enum variant it does not know; its issues in
///   [`e.issues()`](ClientError::issues)); the stream goes on.
/// - `Err(e)` for a refusal (`401`/`403`, a `400` for a bad type filter, a
///   misconfigured client); then the stream ends.
///
/// Control events this version does not know are ignored; events of
/// another type than `T` are skipped and counted ([`skipped`](Self::skipped)).
#[must_use = "a subscription does nothing unless polled"]
pub struct Subscription<T> {
    frames: Frames<T>,
}

impl Client {
    /// Subscribe to events of type `E`, read tolerantly (the server filters
    /// with `?types=<E::TYPE>`). See [`Subscription`] for the items.
    pub fn subscribe<E: Event>(&self) -> Subscription<E> {
        let decode = Decode(Arc::new(|type_name: &str, data: &str| {
            if type_name == E::TYPE {
                read_event::<E>(data).map(Some)
            } else {
                Ok(None)
            }
        }));
        let query = self.typed_query::<E>(false);
        Subscription {
            frames: Frames::new(self.clone(), query, decode),
        }
    }

    /// Subscribe to several types at once, untyped: each is an exact name
    /// (`ai.task.progress`) or a prefix wildcard (`ai.task.*`); none means
    /// every type. Read a payload with [`RawEvent::read`].
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
    ///             let progress: AiTaskProgress = event.read().expect("readable");
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
        let decode = Decode(Arc::new(|type_name: &str, data: &str| {
            let data = serde_json::from_str(data).map_err(|e| invalid_json(&e))?;
            Ok(Some(RawEvent {
                type_name: type_name.to_owned(),
                data,
            }))
        }));
        let mut query = encode_types(types);
        if let Some(sent) = self.sent_contract() {
            let versions = sent.versions.iter().map(|(t, v)| (t.as_str(), *v));
            push(&mut query, &sent.query(versions));
        }
        Subscription {
            frames: Frames::new(self.clone(), query, decode),
        }
    }

    /// The contract this client's subscriptions send.
    pub(crate) fn sent_contract(&self) -> Option<Arc<Sent>> {
        self.inner.contract.clone().or_else(Sent::linked)
    }

    /// `types=<E>`, the contract with `E`'s version, and `snapshot=true` if asked.
    pub(crate) fn typed_query<E: Event>(&self, snapshot: bool) -> String {
        let mut query = encode_types([E::TYPE]);
        if let Some(sent) = self.sent_contract() {
            push(
                &mut query,
                &sent.query([(E::TYPE, version_of(E::schema()))]),
            );
        }
        if snapshot {
            push(&mut query, "snapshot=true");
        }
        query
    }
}

fn push(query: &mut String, part: &str) {
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(part);
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
    let list: Vec<String> = types.into_iter().map(|t| encode(t.as_ref())).collect();
    if list.is_empty() {
        String::new()
    } else {
        format!("types={}", list.join(","))
    }
}

impl<T: Send + 'static> Subscription<T> {
    /// Start after `id` (sent as `Last-Event-ID` on the first connection),
    /// e.g. the last id a previous run of this service persisted: the
    /// server replays what followed it, or sends a reset. Before the first
    /// poll only.
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        self.frames.set_last_event_id(id.into());
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
        self.frames.set_observer(Box::new(f));
        self
    }

    /// How many events were skipped because this subscription does not read
    /// their type (e.g. a type a newer server matches to a wildcard): never
    /// an error.
    pub fn skipped(&self) -> u64 {
        self.frames.skipped()
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
        loop {
            return match this.frames.poll_frame(cx) {
                // Nothing to report: a new connection, or a snapshot's end
                // (not asked for here).
                Poll::Ready(Some(Ok(Frame::Connected | Frame::Snapshot))) => continue,
                Poll::Ready(Some(Ok(Frame::Item(item)))) => Poll::Ready(Some(Ok(item))),
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Subscription");
        if let Some((query, last_id, connected, done)) = self.frames.debug() {
            d.field("query", &query)
                .field("last_id", &last_id)
                .field("connected", &connected)
                .field("done", &done);
        }
        d.field("skipped", &self.frames.skipped())
            .finish_non_exhaustive()
    }
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
}
