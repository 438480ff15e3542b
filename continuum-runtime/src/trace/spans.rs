//! The hub's `tracing` spans, named and shaped by OpenTelemetry's messaging
//! conventions (the table is in the [module docs](super)): what each span
//! records is decided here, once, so ingest, the hub and the ring only say
//! when a span begins.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tracing::Span;

use super::TraceContext;
use crate::id::EventId;

/// The `continuum.ingest` span of one `POST` (OpenTelemetry kind server),
/// a child of the request's `traceparent` when the `otel` layer is installed.
pub(crate) fn ingest_span(route: &str, parent: Option<&TraceContext>) -> Span {
    let span = tracing::info_span!(
        "continuum.ingest",
        otel.name = tracing::field::Empty,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        http.request.method = "POST",
        http.route = route,
        http.response.status_code = tracing::field::Empty,
        messaging.batch.message_count = tracing::field::Empty,
    );
    if !span.is_disabled() {
        span.record("otel.name", format!("POST {route}"));
        if let Some(parent) = parent {
            set_remote_parent(&span, parent);
        }
    }
    span
}

/// The `continuum.publish` span of one batch (OpenTelemetry kind producer),
/// a child of the current span. It ends when the backplane acknowledged.
///
/// `single` is the type of a batch of one event; `count` the batch's size.
pub(crate) fn publish_span(single: Option<&str>, count: usize) -> Span {
    let span = tracing::info_span!(
        "continuum.publish",
        otel.name = tracing::field::Empty,
        otel.kind = "producer",
        messaging.system = SYSTEM,
        messaging.operation.type = "send",
        messaging.operation.name = "publish",
        messaging.destination.name = tracing::field::Empty,
        messaging.message.id = tracing::field::Empty,
        messaging.batch.message_count = tracing::field::Empty,
    );
    if !span.is_disabled() {
        match single {
            Some(type_name) => {
                span.record("otel.name", format!("publish {type_name}"));
                span.record("messaging.destination.name", type_name);
            }
            None => {
                span.record("otel.name", "publish");
                span.record("messaging.batch.message_count", count as i64);
            }
        }
    }
    span
}

/// The context events published under `span` carry: the span's own
/// OpenTelemetry context when the `otel` layer records it, else `fallback`
/// (the `traceparent` the publisher sent, passed on unchanged).
pub(crate) fn creation_context(
    span: &Span,
    fallback: Option<Arc<TraceContext>>,
) -> Option<Arc<TraceContext>> {
    if span.is_disabled() {
        return fallback;
    }
    context_of(span, fallback.as_deref())
        .map(Arc::new)
        .or(fallback)
}

/// The `continuum.deliver` span of one event entering a node's fan-out
/// (OpenTelemetry kind consumer): a root span linked to the event's creation
/// context. `None` when nobody records it: then nothing was allocated or
/// formatted.
pub(crate) fn deliver_span(
    id: EventId,
    type_name: &str,
    created: Option<&TraceContext>,
    subscribers: &AtomicU64,
) -> Option<Span> {
    let span = tracing::info_span!(
        parent: None,
        "continuum.deliver",
        otel.name = tracing::field::Empty,
        otel.kind = "consumer",
        messaging.system = SYSTEM,
        messaging.operation.type = "process",
        messaging.operation.name = "deliver",
        messaging.destination.name = type_name,
        messaging.message.id = %id,
        // i64: OpenTelemetry has no unsigned integers (a u64 is exported as text).
        continuum.subscribers = subscribers.load(Ordering::Relaxed) as i64,
    );
    if span.is_disabled() {
        return None;
    }
    span.record("otel.name", format!("deliver {type_name}"));
    if let Some(created) = created {
        link(&span, created);
    }
    Some(span)
}

/// `messaging.system` of every span.
const SYSTEM: &str = "continuum";

#[cfg(feature = "otel")]
use super::otel::{context_of, link, set_remote_parent};

#[cfg(not(feature = "otel"))]
fn context_of(_: &Span, _: Option<&TraceContext>) -> Option<TraceContext> {
    None
}

#[cfg(not(feature = "otel"))]
fn link(_: &Span, _: &TraceContext) {}

#[cfg(not(feature = "otel"))]
fn set_remote_parent(_: &Span, _: &TraceContext) {}
