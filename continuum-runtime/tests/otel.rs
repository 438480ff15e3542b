//! Traces across nodes, received by a real OTLP/HTTP receiver (features
//! `otel` and `redis`): a `POST` carrying a W3C `traceparent` on node A,
//! delivered to three subscribers on node B (two hubs over a real
//! `redis-server`), exported with `http/json` to a small hyper server that
//! decodes `POST /v1/traces`. Configured by the standard variables only.
//!
//! One test per binary: the `tracing` subscriber and the exporter are
//! process-wide.

mod http_support;
mod redis_support;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use continuum_runtime::Hub;
use http_body_util::{BodyExt, Full};
use http_support::{progress, start, subscribe, GUARD};
use redis_support::Redis;
use serde_json::Value;
use tracing_subscriber::prelude::*;

/// A received span, as the OTLP JSON encoding has it.
#[derive(Debug, Clone)]
struct Span {
    service: String,
    name: String,
    /// 2 server, 4 producer, 5 consumer.
    kind: i64,
    trace_id: String,
    span_id: String,
    parent: String,
    links: Vec<(String, String)>,
    attrs: HashMap<String, Value>,
}

impl Span {
    fn attr(&self, key: &str) -> Option<&Value> {
        self.attrs.get(key)
    }

    fn str_attr(&self, key: &str) -> Option<&str> {
        self.attr(key)?.get("stringValue")?.as_str()
    }

    /// `intValue` is a string in OTLP JSON (64-bit), a number in some encoders.
    fn int_attr(&self, key: &str) -> Option<i64> {
        match self.attr(key)?.get("intValue")? {
            Value::String(s) => s.parse().ok(),
            v => v.as_i64(),
        }
    }
}

/// A minimal OTLP/HTTP receiver: every `POST /v1/traces` body, decoded.
struct Receiver {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<Value>>>,
}

async fn receiver() -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let store = bodies.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let store = store.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let bytes = body.collect().await?.to_bytes();
                            let ok = parts.method == http::Method::POST
                                && parts.uri.path() == "/v1/traces"
                                && parts
                                    .headers
                                    .get("content-type")
                                    .is_some_and(|v| v == "application/json");
                            let status = if ok {
                                let json: Value =
                                    serde_json::from_slice(&bytes).expect("OTLP JSON");
                                store.lock().unwrap().push(json);
                                200
                            } else {
                                400
                            };
                            let mut res = http::Response::new(Full::new(Bytes::from_static(b"{}")));
                            *res.status_mut() = http::StatusCode::from_u16(status).unwrap();
                            res.headers_mut().insert(
                                "content-type",
                                http::HeaderValue::from_static("application/json"),
                            );
                            Ok::<_, hyper::Error>(res)
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    Receiver { addr, bodies }
}

impl Receiver {
    fn spans(&self) -> Vec<Span> {
        let hex = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let mut out = Vec::new();
        for body in self.bodies.lock().unwrap().iter() {
            for rs in body["resourceSpans"].as_array().into_iter().flatten() {
                let service = rs["resource"]["attributes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|a| a["key"] == "service.name")
                    .and_then(|a| a["value"]["stringValue"].as_str())
                    .unwrap_or_default()
                    .to_owned();
                for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                    for s in ss["spans"].as_array().into_iter().flatten() {
                        out.push(Span {
                            service: service.clone(),
                            name: s["name"].as_str().unwrap_or_default().to_owned(),
                            kind: s["kind"].as_i64().unwrap_or(-1),
                            trace_id: hex(&s["traceId"]),
                            span_id: hex(&s["spanId"]),
                            parent: hex(&s["parentSpanId"]),
                            links: s["links"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|l| (hex(&l["traceId"]), hex(&l["spanId"])))
                                .collect(),
                            attrs: s["attributes"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .map(|a| {
                                    (
                                        a["key"].as_str().unwrap_or_default().to_owned(),
                                        a["value"].clone(),
                                    )
                                })
                                .collect(),
                        });
                    }
                }
            }
        }
        out
    }
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER: &str = "00f067aa0ba902b7";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_post_on_one_node_gives_linked_spans_on_both_one_consumer_span_per_event_per_node()
{
    let Some(redis) = Redis::start("a_traced_post_…") else {
        return;
    };
    let receiver = receiver().await;
    // The standard variables, and nothing else, configure the export.
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://{}", receiver.addr),
    );
    std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
    std::env::set_var("OTEL_SERVICE_NAME", "continuum-otel-test");
    let otel = continuum_runtime::otel::init().expect("exporter");
    assert!(otel.is_enabled());
    tracing_subscriber::registry().with(otel.layer()).init();

    let stream = format!("otel:{}", std::process::id());
    let node = || {
        Hub::builder()
            .redis(redis.url())
            .redis_stream(stream.clone())
    };
    let a = start(node()).await;
    let b = start(node()).await;
    for hub in [&a.hub, &b.hub] {
        tokio::time::timeout(GUARD, hub.backplane_ready())
            .await
            .expect("ready");
    }
    // Three subscribers on node B, one on node A.
    let mut subs = Vec::new();
    for _ in 0..3 {
        subs.push(subscribe(&b.url, &[]).await);
    }
    let mut on_a = subscribe(&a.url, &[]).await;
    assert_eq!(b.hub.metrics().subscribers_now, 3);

    let post = |task: &str| {
        let body = serde_json::json!({ "type": "ai.task.progress", "data": progress(task, 42) });
        serde_json::to_string(&body).unwrap()
    };
    let traceparent = format!("00-{TRACE}-{CALLER}-01");
    let res = http_support::post(
        &a.url,
        &post("traced"),
        &[("traceparent", &traceparent), ("tracestate", "vendor=abc")],
    )
    .await;
    assert_eq!(res.status.as_u16(), 202, "{:?}", res.json);
    let id = res.json["id"].as_str().unwrap().to_owned();
    for sub in subs.iter_mut().chain([&mut on_a]) {
        let e = sub.next().await;
        assert_eq!(
            (e.id.as_str(), e.event.as_str()),
            (id.as_str(), "ai.task.progress")
        );
    }
    // Each node's reader delivers entries one `deliver` call after the
    // other, and a fan-out span ends when its call returns: once a later
    // event reached both nodes, every span of the first one has ended, and
    // one flush exports them all.
    let later = http_support::post(&a.url, &post("later"), &[]).await;
    assert_eq!(later.status.as_u16(), 202);
    for sub in subs.iter_mut().chain([&mut on_a]) {
        assert_eq!(sub.next().await.id, later.json["id"].as_str().unwrap());
    }
    otel.force_flush().expect("flush");
    let spans = receiver.spans();
    let in_trace = |s: &&Span| s.trace_id == TRACE;
    assert!(
        spans.iter().all(|s| s.service == "continuum-otel-test"),
        "OTEL_SERVICE_NAME is the resource"
    );

    // Node A: the ingest (server) span, a child of the caller's span.
    let ingest: Vec<&Span> = spans
        .iter()
        .filter(in_trace)
        .filter(|s| s.kind == 2)
        .collect();
    assert_eq!(ingest.len(), 1, "{ingest:#?}");
    let ingest = ingest[0];
    assert_eq!(
        (ingest.trace_id.as_str(), ingest.parent.as_str()),
        (TRACE, CALLER)
    );
    assert_eq!(ingest.name, "POST /api/events");
    assert_eq!(
        ingest.int_attr("http.response.status_code"),
        Some(202),
        "{ingest:#?}"
    );

    // The publish (producer) span: same trace, a child of the ingest span.
    let publish: Vec<&Span> = spans
        .iter()
        .filter(in_trace)
        .filter(|s| s.kind == 4)
        .collect();
    assert_eq!(publish.len(), 1, "{publish:#?}");
    let publish = publish[0];
    assert_eq!(
        (publish.trace_id.as_str(), publish.parent.as_str()),
        (TRACE, ingest.span_id.as_str())
    );
    assert_eq!(publish.str_attr("messaging.system"), Some("continuum"));
    assert_eq!(publish.str_attr("messaging.message.id"), Some(id.as_str()));

    // Fan-out: one consumer span per node for the event — node B's three
    // subscribers make one span, not three — each linked to the publish
    // span (the creation context that crossed Redis in the entry).
    let delivers: Vec<&Span> = spans
        .iter()
        .filter(|s| s.str_attr("messaging.message.id") == Some(&id) && s.kind == 5)
        .collect();
    assert_eq!(delivers.len(), 2, "one per node: {delivers:#?}");
    let mut counts: Vec<i64> = delivers
        .iter()
        .map(|s| s.int_attr("continuum.subscribers").unwrap())
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, [1, 3], "node A has one subscriber, node B three");
    for d in &delivers {
        assert_eq!(d.name, "deliver ai.task.progress");
        assert_eq!(d.str_attr("messaging.system"), Some("continuum"));
        assert_eq!(
            d.str_attr("messaging.destination.name"),
            Some("ai.task.progress")
        );
        assert_eq!(
            d.links,
            [(TRACE.to_owned(), publish.span_id.clone())],
            "linked to the creation context"
        );
        assert_eq!(d.parent, "", "a root span, linked rather than parented");
    }
    drop((subs, on_a));
    otel.shutdown().expect("shutdown flushes");
}
