//! [`StateSubscription`]: the live state of a keyed event (issue 19) — the
//! latest event per key — built from the stream alone.
//!
//! It subscribes with `snapshot=true`: the server first sends the latest
//! event of every live key, then `continuum.snapshot`, then live events (and
//! to a subscriber that fell behind, the latest event per key it missed).
//! Every event is applied by its key. After a reset (a server restart, an
//! evicted id) the server sends a new snapshot; its events are gathered
//! aside and replace the state in one step when `continuum.snapshot`
//! arrives, so the state is never seen half-built.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use serde_json::Value;

use super::conn::{Decode, Frame, Frames};
use super::error::{ClientError, Kind};
use super::item::Item;
use super::reset::ResetReason;
use super::Client;
use crate::decode::read_event;
use crate::event::Event;
use crate::id::EventId;

/// What changed in a [`StateSubscription`]'s state.
#[derive(Clone, Debug, PartialEq)]
pub enum StateUpdate {
    /// The state was built (on connect) or rebuilt (after a reset) from a
    /// snapshot: it now holds every live key, `keys` of them.
    Snapshot {
        /// How many keys the state holds.
        keys: usize,
    },
    /// One key's event changed (a live event, or the latest of a key the
    /// server conflated for this subscriber).
    Changed {
        /// The key, as text (a string key as is, a number in decimal).
        key: String,
        /// The event's id.
        id: EventId,
    },
    /// The server reset the stream: the state stays as it was until the
    /// snapshot that follows replaces it ([`StateUpdate::Snapshot`]). A
    /// [`ResetReason::Contract`] reset is followed by no snapshot of the
    /// types this build cannot read.
    Reset(ResetReason),
}

/// The live state of the keyed event `E`, from [`Client::subscribe_state`]:
/// a [`Stream`] of `Result<StateUpdate, ClientError>` and, between items,
/// the state itself ([`state`](Self::state)). Errors are those of a
/// [`Subscription`](super::Subscription). Nothing is sent until it is first
/// polled; dropping it closes the connection.
///
/// It subscribes with `snapshot=true`: the server first sends the latest
/// event of every live key, then `continuum.snapshot`, then live events
/// (and, to a subscriber that fell behind, the latest event per key it
/// missed). Every event is applied by its key. After a reset the server
/// sends a new snapshot; its events are gathered aside and replace the
/// state in one step, so the state is never seen half-built.
///
/// ```no_run
/// use continuum_runtime::prelude::*;
/// use continuum_runtime::client::{Client, StateUpdate};
///
/// #[continuum_event("ai.task.progress", key = task_id)]
/// #[derive(Debug)]
/// pub struct AiTaskProgress {
///     pub task_id: String,
///     pub progress: u8,
/// }
///
/// # async fn run() -> Result<(), continuum_runtime::client::ClientError> {
/// let client = Client::new("http://127.0.0.1:3000/api/events");
/// // Keyed by the declaration's `key = task_id` (`key_field("taskId")` would
/// // name it, by its wire name, for an event declared without one).
/// let mut tasks = client.subscribe_state::<AiTaskProgress>();
/// while let Some(update) = tasks.next().await {
///     match update? {
///         StateUpdate::Snapshot { keys } => println!("{keys} tasks running"),
///         StateUpdate::Changed { key, .. } => println!("{key}: {}%", tasks.state()[&key].progress),
///         StateUpdate::Reset(reason) => println!("rebuilding ({reason})"),
///     }
/// }
/// # Ok(()) }
/// ```
#[must_use = "a subscription does nothing unless polled"]
pub struct StateSubscription<E> {
    client: Client,
    field: Option<String>,
    frames: Frames<(String, E)>,
    state: BTreeMap<String, E>,
    /// While (re)building: the snapshot's events so far.
    staging: Option<BTreeMap<String, E>>,
    ready: bool,
    /// The missing key was reported.
    refused: bool,
    /// Connections opened so far.
    connections: u32,
}

impl Client {
    /// The live state of the keyed event `E`: the latest event per key,
    /// from `GET /api/events?types=<E>&snapshot=true`. See
    /// [`StateSubscription`].
    pub fn subscribe_state<E: Event>(&self) -> StateSubscription<E> {
        StateSubscription::new(self.clone(), key_field(E::schema()).map(str::to_owned))
    }
}

/// The wire name of `E`'s key field, as declared.
fn key_field(schema: &crate::schema::EventSchema) -> Option<&'static str> {
    schema.key
}

impl<E: Event> StateSubscription<E> {
    fn new(client: Client, field: Option<String>) -> Self {
        let query = client.typed_query::<E>(true);
        let key = field.clone().unwrap_or_default();
        let decode = Decode(Arc::new(move |type_name: &str, data: &str| {
            if type_name != E::TYPE {
                return Ok(None);
            }
            let value: Value = match serde_json::from_str(data) {
                Ok(v) => v,
                Err(_) => return read_event::<E>(data).map(|_| None),
            };
            let key = match value.get(&key) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return Ok(None), // no usable key: skipped, counted
            };
            read_event::<E>(data).map(|e| Some((key, e)))
        }));
        StateSubscription {
            frames: Frames::new(client.clone(), query, decode),
            client,
            field,
            state: BTreeMap::new(),
            staging: Some(BTreeMap::new()),
            ready: false,
            refused: false,
            connections: 0,
        }
    }

    /// Key the state by the field with this wire name (e.g. `taskId`)
    /// instead of the declaration's `key`. Before the first poll only.
    pub fn key_field(self, wire_name: impl Into<String>) -> Self {
        StateSubscription::new(self.client, Some(wire_name.into()))
    }

    /// The latest event per key: empty until the first snapshot has arrived.
    pub fn state(&self) -> &BTreeMap<String, E> {
        &self.state
    }

    /// Whether the first snapshot has arrived.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// How many events were skipped (another type, or no usable key).
    pub fn skipped(&self) -> u64 {
        self.frames.skipped()
    }

    /// The next update; `None` once the stream ended (after a refusal).
    pub async fn next(&mut self) -> Option<Result<StateUpdate, ClientError>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl<E: Event> Stream for StateSubscription<E> {
    type Item = Result<StateUpdate, ClientError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.field.is_none() {
            // Nothing to key the state by: say so once, then end.
            if std::mem::replace(&mut this.refused, true) {
                return Poll::Ready(None);
            }
            return Poll::Ready(Some(Err(ClientError::new(
                Kind::Builder,
                format!(
                    "`{}` has no key: declare it with `key = …` or name the field with `key_field`",
                    E::TYPE
                ),
            ))));
        }
        loop {
            let frame = match this.frames.poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(Some(Ok(frame))) => frame,
            };
            match frame {
                Frame::Connected => {
                    this.connections += 1;
                    // A reconnection while the first snapshot was still
                    // arriving: the server replays from the last id (the
                    // rest of it, then live events, and no snapshot's end)
                    // or resets (and a snapshot follows). Either way what
                    // has arrived is the state so far.
                    if this.connections > 1 {
                        if let Some(staged) = this.staging.take() {
                            this.state = staged;
                            this.ready = true;
                            let keys = this.state.len();
                            return Poll::Ready(Some(Ok(StateUpdate::Snapshot { keys })));
                        }
                    }
                }
                Frame::Snapshot => {
                    if let Some(staged) = this.staging.take() {
                        this.state = staged;
                        this.ready = true;
                        let keys = this.state.len();
                        return Poll::Ready(Some(Ok(StateUpdate::Snapshot { keys })));
                    }
                }
                Frame::Item(Item::Reset(reason)) => {
                    this.staging = Some(BTreeMap::new());
                    return Poll::Ready(Some(Ok(StateUpdate::Reset(reason))));
                }
                Frame::Item(Item::Event {
                    id,
                    event: (key, event),
                }) => match &mut this.staging {
                    Some(staging) => {
                        staging.insert(key, event);
                    }
                    None => {
                        this.state.insert(key.clone(), event);
                        return Poll::Ready(Some(Ok(StateUpdate::Changed { key, id })));
                    }
                },
            }
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for StateSubscription<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateSubscription")
            .field("key_field", &self.field)
            .field("ready", &self.ready)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
