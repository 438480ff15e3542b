//! OpenTelemetry export (cargo feature `otel`): the hub's `tracing` spans
//! (see [`trace`](crate::trace)) sent over OTLP/HTTP to a collector,
//! Jaeger or Tempo, configured by the standard variables.
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Reads OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,
//! // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES; exports nothing (and
//! // `layer()` is `None`) when no endpoint is set.
//! let otel = continuum_runtime::otel::init()?;
//! tracing_subscriber::registry()
//!     .with(otel.layer())                        // beside your own layers
//!     .with(tracing_subscriber::fmt::layer())
//!     .init();
//! // … run the server …
//! otel.shutdown()?;                             // or drop it: flushes what is left
//! # Ok(()) }
//! ```
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) | the collector, e.g. `http://otel-collector:4318` (`/v1/traces` is added) | unset: no export |
//! | `OTEL_EXPORTER_OTLP_PROTOCOL` (or `…_TRACES_PROTOCOL`) | `http/protobuf` or `http/json` (`grpc` is refused: not built in) | `http/protobuf` |
//! | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | the resource (`service.name`, `k=v,…`) | `unknown_service` |
//! | `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT` | extra headers, the export timeout (ms) | none, 10 s |
//! | `OTEL_SDK_DISABLED` | `true` turns export off | |
//!
//! Spans are batched (the SDK's batch processor, on its own thread) and
//! posted with hyper-util's client, which the runtime already uses: no
//! second HTTP stack, no gRPC. The W3C trace-context propagator is installed
//! globally, so the app's own outgoing requests can inject the same context.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::TraceContext;

/// Export is configured (`OTEL_EXPORTER_OTLP_ENDPOINT` or the traces one is set).
const ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];
const PROTOCOL_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
];
/// The export timeout when `OTEL_EXPORTER_OTLP_TIMEOUT` is not set (the spec's).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Setting up the exporter failed: a variable holds a value this build
/// cannot use (the message names it), or the SDK refused the configuration.
#[derive(Debug)]
pub struct OtelError(String);

impl fmt::Display for OtelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "opentelemetry: {}", self.0)
    }
}

impl std::error::Error for OtelError {}

/// The exporter, from [`init`]: hands out the `tracing` layer, flushes, and
/// shuts down (flushing) when dropped. Disabled when no endpoint is set.
pub struct Otel {
    provider: Option<SdkTracerProvider>,
}

impl fmt::Debug for Otel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Otel")
            .field("enabled", &self.provider.is_some())
            .finish()
    }
}

/// Read the `OTEL_*` variables and build the OTLP/HTTP exporter; an
/// [`Otel`] whose [`layer`](Otel::layer) is `None` when no endpoint is set
/// (or `OTEL_SDK_DISABLED=true`). Installs the W3C trace-context propagator
/// and the tracer provider globally when enabled. Call it once, at start,
/// inside or outside a Tokio runtime.
///
/// # Errors
/// An unusable `OTEL_EXPORTER_OTLP_PROTOCOL` (`grpc`, or unknown) or a
/// configuration the SDK refuses (e.g. an endpoint that is not a URL).
pub fn init() -> Result<Otel, OtelError> {
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let disabled = set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if disabled || ENDPOINT_VARS.iter().all(|v| set(v).is_none()) {
        return Ok(Otel { provider: None });
    }
    let protocol = match PROTOCOL_VARS.iter().find_map(|v| set(v)).as_deref() {
        None | Some("http/protobuf") => Protocol::HttpBinary,
        Some("http/json") => Protocol::HttpJson,
        Some(other) => {
            return Err(OtelError(format!(
                "OTEL_EXPORTER_OTLP_PROTOCOL={other:?}: this build exports over `http/protobuf` or `http/json` (no gRPC)"
            )))
        }
    };
    let timeout = set("OTEL_EXPORTER_OTLP_TIMEOUT")
        .and_then(|ms| ms.parse().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .with_http_client(ExportClient { timeout })
        .build()
        .map_err(|e| OtelError(e.to_string()))?;
    let provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().build())
        .with_batch_exporter(exporter)
        .build();
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    opentelemetry::global::set_tracer_provider(provider.clone());
    Ok(Otel {
        provider: Some(provider),
    })
}

impl Otel {
    /// Whether spans are exported (an endpoint is set).
    pub fn is_enabled(&self) -> bool {
        self.provider.is_some()
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans, for
    /// your `tracing_subscriber::registry()`; `None` when export is off
    /// (`Option<Layer>` is a layer that does nothing).
    pub fn layer<S>(
        &self,
    ) -> Option<tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        let tracer = self.provider.as_ref()?.tracer("continuum");
        Some(tracing_opentelemetry::layer().with_tracer(tracer))
    }

    /// Export every span that has ended, now; returns once the collector
    /// answered (or the export failed).
    ///
    /// # Errors
    /// When the export failed or timed out.
    pub fn force_flush(&self) -> Result<(), OtelError> {
        match &self.provider {
            Some(p) => p.force_flush().map_err(|e| OtelError(e.to_string())),
            None => Ok(()),
        }
    }

    /// Flush and stop exporting.
    ///
    /// # Errors
    /// When the last export failed.
    pub fn shutdown(mut self) -> Result<(), OtelError> {
        match self.provider.take() {
            Some(p) => p.shutdown().map_err(|e| OtelError(e.to_string())),
            None => Ok(()),
        }
    }
}

impl Drop for Otel {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take() {
            let _ = p.shutdown();
        }
    }
}

/// The OpenTelemetry context of the current `tracing` span as a
/// [`TraceContext`] (what the Rust client sends as `traceparent`); `None`
/// when the span is not recorded by the `otel` layer.
pub fn current_context() -> Option<TraceContext> {
    context_of(&Span::current(), None)
}

/// `span`'s OpenTelemetry context, keeping `state`'s `tracestate` when the
/// span has none of its own.
pub(crate) fn context_of(span: &Span, inherit: Option<&TraceContext>) -> Option<TraceContext> {
    let cx = span.context();
    let otel_span = cx.span();
    let sc = otel_span.span_context();
    if !sc.is_valid() {
        return None;
    }
    let state = sc.trace_state().header();
    let state = if state.is_empty() {
        inherit.and_then(TraceContext::tracestate)
    } else {
        Some(state.as_str())
    };
    TraceContext::from_parts(
        sc.trace_id().to_bytes(),
        sc.span_id().to_bytes(),
        sc.trace_flags().to_u8(),
        state,
    )
}

fn span_context(tc: &TraceContext) -> SpanContext {
    let state = tc
        .tracestate()
        .and_then(|s| s.parse::<TraceState>().ok())
        .unwrap_or_default();
    SpanContext::new(
        TraceId::from_bytes(tc.trace_id()),
        SpanId::from_bytes(tc.span_id()),
        TraceFlags::new(tc.flags()),
        true,
        state,
    )
}

/// Make `parent` (a remote caller's context) the parent of `span`.
pub(crate) fn set_remote_parent(span: &Span, parent: &TraceContext) {
    let cx = opentelemetry::Context::new().with_remote_span_context(span_context(parent));
    // Refused only when no otel layer records the span: nothing to parent.
    let _ = span.set_parent(cx);
}

/// Link `span` to the context an event was created in.
pub(crate) fn link(span: &Span, created: &TraceContext) {
    span.add_link(span_context(created));
}

/// The exporter's HTTP client: hyper-util's, as the runtime's own client.
///
/// The SDK's batch processor exports from its own thread, outside any Tokio
/// runtime, where hyper-util's connector cannot run; each export there runs
/// on a small current-thread runtime made for it (one request every few
/// seconds at most). Called from inside a runtime, it runs on that one.
#[derive(Debug)]
struct ExportClient {
    timeout: Duration,
}

type HttpClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    Full<Bytes>,
>;

impl ExportClient {
    async fn send(
        timeout: Duration,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, opentelemetry_http::HttpError> {
        let client: HttpClient =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_max_idle_per_host(0)
                .build_http();
        let request = request.map(Full::new);
        let exchange = async {
            let res = client.request(request).await?;
            let (parts, body) = res.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, opentelemetry_http::HttpError>(http::Response::from_parts(parts, body))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| format!("no answer from the collector within {timeout:?}"))?
    }
}

impl opentelemetry_http::HttpClient for ExportClient {
    fn send_bytes<'a, 'b>(
        &'a self,
        request: http::Request<Bytes>,
    ) -> Pin<
        Box<
            dyn Future<Output = Result<http::Response<Bytes>, opentelemetry_http::HttpError>>
                + Send
                + 'b,
        >,
    >
    where
        'a: 'b,
        Self: 'b,
    {
        let timeout = self.timeout;
        Box::pin(async move {
            if tokio::runtime::Handle::try_current().is_ok() {
                return Self::send(timeout, request).await;
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(Self::send(timeout, request))
        })
    }
}
