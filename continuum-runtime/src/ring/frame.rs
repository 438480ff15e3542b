//! What the ring holds: [`Outgoing`], an event encoded once on its way to the
//! backplane, and [`Frame`], the same event with its id and its SSE bytes.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use crate::id::EventId;
use crate::trace::TraceContext;

/// One event, encoded once, on its way to the backplane.
#[derive(Clone)]
pub struct Outgoing {
    /// The event's type name, e.g. `ai.task.progress`.
    pub type_name: Cow<'static, str>,
    /// The channel it is restricted to; `None` for a public event.
    pub channel: Option<Arc<str>>,
    /// The payload as JSON (the envelope's `data`).
    pub data: Bytes,
    /// The typed value for in-process subscribers, when published on this node.
    pub value: Option<Arc<dyn Any + Send + Sync>>,
    /// The trace context the event was created in (W3C `traceparent` and
    /// `tracestate`), which every node's fan-out span links to; `None` when
    /// the publisher sent none.
    pub trace: Option<Arc<TraceContext>>,
    /// The event's key, for a keyed event type (see [`Event::key`](crate::Event::key)):
    /// the node keeps the latest event per key.
    pub key: Option<Arc<str>>,
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("type_name", &self.type_name)
            .field("channel", &self.channel)
            .field("data", &self.data)
            .field("value", &self.value.is_some())
            .field("trace", &self.trace)
            .field("key", &self.key)
            .finish()
    }
}

/// One published event, encoded once.
pub(crate) struct Frame {
    pub(crate) id: EventId,
    pub(crate) type_name: Cow<'static, str>,
    pub(crate) channel: Option<Arc<str>>,
    /// The whole SSE frame: `id`, `event`, `data` (the envelope), blank line.
    pub(crate) bytes: Bytes,
    /// The typed value, for in-process subscribers (`None` when the event was
    /// published on another node).
    pub(crate) value: Option<Arc<dyn Any + Send + Sync>>,
    /// The payload JSON, kept when there is no typed value to decode from,
    /// and for a keyed event (the state endpoint answers it).
    pub(crate) data: Option<Bytes>,
    /// The key of a keyed event.
    pub(crate) key: Option<Arc<str>>,
    /// A `continuum.reset` the backplane put in the log (the stream was lost,
    /// or events left it before this node read them): every subscriber gets
    /// it, whatever its type filter and grant.
    pub(crate) control: bool,
    /// A `continuum.reset` (`contract`) in place of an event of `type_name`
    /// this node cannot send (a version newer than its build knows): for the
    /// subscribers that would have received the event, once each.
    pub(crate) contract: bool,
}

impl Frame {
    /// The `contract` reset that stands in for the event `o`, which this
    /// node cannot send; it carries the event's id, so a client resumes
    /// after it.
    pub(crate) fn contract(id: EventId, o: Outgoing) -> Frame {
        Frame {
            id,
            bytes: crate::sse::contract_reset_frame([&*o.type_name], Some(id)),
            type_name: o.type_name,
            channel: o.channel,
            value: None,
            data: None,
            key: None,
            control: false,
            contract: true,
        }
    }
}
