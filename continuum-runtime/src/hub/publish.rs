//! Publishing through a [`Hub`]: typed `emit` (validated, encoded once,
//! upcast when an older version of the event is emitted), `publish_dyn` for
//! decoded ingest, and the one path both take to the backplane, with its
//! `continuum.publish` span.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;

use super::{emit, is_reserved_type, DynPublish, Emit, EmitError, EventId, Hub, Published};
use crate::backplane::{Ack, IdempotencyKey, Outgoing, Publishing};
use crate::event::Event;
use crate::registry::DecodeError;
use crate::trace::TraceContext;

impl Hub {
    /// Validate `event`, then publish it to every subscriber. Returns an
    /// [`Emit`]: a future resolving to the event's id once the backplane has
    /// it. The event is validated, encoded and handed to the backplane
    /// before `emit` returns, so dropping the future does not un-publish it;
    /// await it to learn the id or the backplane's error. With the in-memory
    /// backplane it is ready at once.
    ///
    /// ```
    /// # use continuum_runtime::prelude::*;
    /// # #[continuum_event("docs.emit.ping")] pub struct Ping { pub n: u32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let hub = Hub::builder().build()?;
    /// let id = hub.emit(Ping { n: 1 }).await?;     // published, id assigned
    /// assert_eq!(hub.last_event_id(), id);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`EmitError::Invalid`] with every issue (nothing is published then),
    /// [`EmitError::Backplane`] when the backplane could not publish.
    pub fn emit<E: Event>(&self, event: E) -> Emit<EventId> {
        self.emit_one(None, event)
    }

    /// Validate `event`, then publish it to the subscribers granted `channel`.
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn emit_to<E: Event>(&self, channel: &str, event: E) -> Emit<EventId> {
        self.emit_one(Some(Arc::from(channel)), event)
    }

    fn emit_one<E: Event>(&self, channel: Option<Arc<str>>, event: E) -> Emit<EventId> {
        if let Err(issues) = event.validate() {
            return Emit::failed(EmitError::Invalid(issues));
        }
        match self.encode(Arc::new(event), channel) {
            Ok(out) => self.publish(vec![out], None, None, emit::first_id),
            Err(e) => Emit::failed(e),
        }
    }

    /// Validate every event, then publish them all in order, or none: the
    /// error lists every issue of every event, paths prefixed with the index.
    ///
    /// ```
    /// # use continuum_runtime::prelude::*;
    /// # #[continuum_event("docs.emit.batch")] pub struct Ping { pub n: u32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let hub = Hub::builder().build().unwrap();
    /// let ids = hub.emit_batch([Ping { n: 1 }, Ping { n: 2 }]).await.unwrap();
    /// assert_eq!(ids.len(), 2);
    /// assert!(ids[0] < ids[1]);
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn emit_batch<E: Event>(&self, events: impl IntoIterator<Item = E>) -> Emit<Vec<EventId>> {
        let events: Vec<E> = events.into_iter().collect();
        let mut issues = Vec::new();
        for (i, e) in events.iter().enumerate() {
            if let Err(errs) = e.validate() {
                issues.extend(errs.prefixed(&format!("[{i}]")).into_issues());
            }
        }
        if !issues.is_empty() {
            return Emit::failed(EmitError::Invalid(issues.into()));
        }
        match events
            .into_iter()
            .map(|e| self.encode(Arc::new(e), None))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(batch) => self.publish(batch, None, None, emit::ids),
            Err(e) => Emit::failed(e),
        }
    }

    /// Encode a typed event. One of an older version (its struct kept
    /// beside the newest, `version = N`) is upcast first: what is
    /// published is always the newest shape. One branch when no type has
    /// several versions.
    fn encode<E: Event>(
        &self,
        event: Arc<E>,
        channel: Option<Arc<str>>,
    ) -> Result<Outgoing, EmitError> {
        let registry = &self.inner.registry;
        if !registry.has_versions()
            || registry
                .get(E::TYPE)
                .is_none_or(|r| r.version == E::VERSION)
        {
            return encode_typed(event, channel);
        }
        let newest = registry
            .upcast(E::TYPE, E::VERSION, event)
            .map_err(|e| match e {
                DecodeError::Invalid(issues) => EmitError::Invalid(issues),
                other => EmitError::Upcast(other),
            })?;
        let mut data = Vec::with_capacity(128);
        newest.write_data(&mut data).map_err(EmitError::Encode)?;
        let key = newest.dyn_key().map(|k| Arc::from(&*k));
        Ok(Outgoing {
            type_name: Cow::Borrowed(E::TYPE),
            channel,
            data: Bytes::from(data),
            value: Some(newest.into_any()),
            trace: None,
            key,
        })
    }

    /// Publish events already validated (as the registry's `decode` returns
    /// them), each public (`None`) or on a channel, in order, all or nothing;
    /// with an idempotency `key`, at most once per key within the
    /// [`Config::idempotency_window`](crate::config::Config::idempotency_window) (on every node that shares the
    /// backplane): a repeated key publishes nothing and resolves to the ids
    /// assigned the first time (`replayed: true`). This is what
    /// `POST /api/events` calls.
    ///
    /// # Errors
    /// [`EmitError::ReservedType`] for a `continuum.*` type,
    /// [`EmitError::Encode`], [`EmitError::Backplane`]; nothing is published then.
    pub fn publish_dyn(&self, events: Vec<DynPublish>, key: Option<&str>) -> Emit<Published> {
        self.publish_dyn_traced(events, key, None)
    }

    /// [`publish_dyn`](Self::publish_dyn) for events created in the trace
    /// context `created` (the `traceparent` of the request that carried
    /// them): every node's fan-out span links to it. With the `otel` layer
    /// recording, the events carry the publish span's context instead, a
    /// child of the current span (give that span `created` as its parent,
    /// as ingest does). See [`trace`](crate::trace).
    ///
    /// ```
    /// # use continuum_runtime::prelude::*;
    /// # #[continuum_event("docs.traced.ping")] pub struct Ping { pub n: u32 }
    /// use std::sync::Arc;
    /// use continuum_runtime::trace::TraceContext;
    ///
    /// let hub = Hub::builder().build().unwrap();
    /// let created = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None);
    /// let decode = hub.registry().get("docs.traced.ping").unwrap().decode;
    /// let event = decode(r#"{"n":1}"#).unwrap();
    /// let published = hub.publish_dyn_traced(vec![(event, None)], None, created).now().unwrap().unwrap();
    /// assert_eq!(published.ids.len(), 1);
    /// ```
    ///
    /// # Errors
    /// As [`publish_dyn`](Self::publish_dyn).
    pub fn publish_dyn_traced(
        &self,
        events: Vec<DynPublish>,
        key: Option<&str>,
        created: Option<TraceContext>,
    ) -> Emit<Published> {
        let mut batch = Vec::with_capacity(events.len());
        for (event, channel) in events {
            let type_name = event.type_name();
            if is_reserved_type(type_name) {
                return Emit::failed(EmitError::ReservedType(Cow::Borrowed(type_name)));
            }
            let mut data = Vec::with_capacity(128);
            if let Err(e) = event.write_data(&mut data) {
                return Emit::failed(EmitError::Encode(e));
            }
            let key = event.dyn_key().map(|k| Arc::from(&*k));
            batch.push(Outgoing {
                type_name: Cow::Borrowed(type_name),
                channel,
                data: Bytes::from(data),
                value: Some(event.into_any()),
                trace: None,
                key,
            });
        }
        let key = key.map(|k| IdempotencyKey {
            key: Arc::from(k),
            window: self.inner.config.idempotency_window,
        });
        self.publish(batch, key, created.map(Arc::new), emit::published)
    }

    /// Hand `batch` to the backplane under a `continuum.publish` span, each
    /// event carrying its creation context (see [`crate::trace`]).
    fn publish<T>(
        &self,
        mut batch: Vec<Outgoing>,
        key: Option<IdempotencyKey>,
        created: Option<Arc<TraceContext>>,
        map: fn(Ack) -> Result<T, EmitError>,
    ) -> Emit<T> {
        if let Some(o) = batch.iter().find(|o| is_reserved_type(&o.type_name)) {
            return Emit::failed(EmitError::ReservedType(o.type_name.clone()));
        }
        if batch.is_empty() && key.is_none() {
            let none = Publishing::ready(Ok(Ack {
                ids: Vec::new(),
                replayed: false,
            }));
            return Emit::new(none, map, tracing::Span::none());
        }
        let single = match batch.as_slice() {
            [one] => Some(one.type_name.as_ref()),
            _ => None,
        };
        let span = crate::trace::publish_span(single, batch.len());
        if let Some(created) = crate::trace::creation_context(&span, created) {
            for o in &mut batch {
                o.trace = Some(created.clone());
            }
        }
        let publishing = {
            let _in = span.enter();
            self.inner.backplane.publish(&self.inner.log, batch, key)
        };
        Emit::new(publishing, map, span)
    }
}

fn encode_typed<E: Event>(event: Arc<E>, channel: Option<Arc<str>>) -> Result<Outgoing, EmitError> {
    let mut data = Vec::with_capacity(128);
    serde_json::to_writer(&mut data, &*event).map_err(EmitError::Encode)?;
    let key = event.key().map(|k| Arc::from(&*k));
    Ok(Outgoing {
        type_name: Cow::Borrowed(E::TYPE),
        channel,
        data: Bytes::from(data),
        value: Some(event),
        trace: None,
        key,
    })
}
