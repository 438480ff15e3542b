//! Shared helpers for the hub tests: hand-written `Event` impls (the trait is
//! plain Rust) and an SSE reader built on an independent parser.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use continuum_runtime::hub::SseStream;
use continuum_runtime::schema::{EventSchema, TypeSchema};
use continuum_runtime::validate::Checker;
use continuum_runtime::{Event, IssueCode, Payload};
use eventsource_stream::{EventStream, Eventsource};
use futures_core::Stream;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

macro_rules! event {
    ($ty:ident, $name:literal) => {
        impl Event for $ty {
            const TYPE: &'static str = $name;
            fn schema() -> &'static EventSchema {
                static SCHEMA: EventSchema = EventSchema {
                    name: $name,
                    version: 1,
                    payload: None,
                    docs: "",
                    key: None,
                    ttl: None,
                };
                &SCHEMA
            }
        }
    };
}

/// `test.note`: `n` must be at most 100.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub text: String,
    pub n: u32,
}

impl Payload for Note {
    fn check(&self, cx: &mut Checker) {
        if self.n > 100 {
            cx.enter_field("n");
            cx.report(IssueCode::Range, "must be at most 100");
            cx.leave();
        }
    }
    fn describe() -> TypeSchema {
        TypeSchema::Any
    }
}
event!(Note, "test.note");

pub fn note(n: u32) -> Note {
    Note {
        text: format!("note {n}"),
        n,
    }
}

/// `media.upload`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Upload {
    pub file: String,
}
impl Payload for Upload {
    fn check(&self, _: &mut Checker) {}
    fn describe() -> TypeSchema {
        TypeSchema::Any
    }
}
event!(Upload, "media.upload");

/// `media.upload.done`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UploadDone {
    pub file: String,
}
impl Payload for UploadDone {
    fn check(&self, _: &mut Checker) {}
    fn describe() -> TypeSchema {
        TypeSchema::Any
    }
}
event!(UploadDone, "media.upload.done");

/// `test.raw`: carries raw JSON verbatim, newlines and all.
#[derive(Debug, Serialize, Deserialize)]
pub struct Raw {
    pub raw: Box<serde_json::value::RawValue>,
}
impl Payload for Raw {
    fn check(&self, _: &mut Checker) {}
    fn describe() -> TypeSchema {
        TypeSchema::Any
    }
}
event!(Raw, "test.raw");

/// A second Rust type claiming `test.note`.
#[derive(Debug, Serialize, Deserialize)]
pub struct NoteImpostor {}
impl Payload for NoteImpostor {
    fn check(&self, _: &mut Checker) {}
    fn describe() -> TypeSchema {
        TypeSchema::Any
    }
}
event!(NoteImpostor, "test.note");

/// Poll the stream once for its next chunk.
pub async fn next_chunk(s: &mut SseStream) -> Option<Bytes> {
    poll_fn(|cx| Pin::new(&mut *s).poll_next(cx)).await
}

/// The next chunk, or `None` if nothing arrives within `within` (paused time
/// makes this instant when the runtime is idle).
pub async fn chunk_within(s: &mut SseStream, within: Duration) -> Option<Option<Bytes>> {
    tokio::time::timeout(within, next_chunk(s)).await.ok()
}

pub type Events =
    EventStream<futures_util::stream::Map<SseStream, fn(Bytes) -> Result<Bytes, Infallible>>>;

/// Decode a subscription with `eventsource-stream` (comments are skipped).
pub fn parse(s: SseStream) -> Events {
    s.map(Ok as fn(Bytes) -> Result<Bytes, Infallible>)
        .eventsource()
}

/// The next decoded event; panics after 5 s of (virtual) silence.
pub async fn next_event(es: &mut Events) -> eventsource_stream::Event {
    match tokio::time::timeout(Duration::from_secs(5), es.next()).await {
        Ok(Some(Ok(e))) => e,
        Ok(Some(Err(e))) => panic!("stream error: {e}"),
        Ok(None) => panic!("stream ended"),
        Err(_) => panic!("no event within 5 s"),
    }
}

/// Whether the stream stays silent (no event, not ended) for `for_`.
pub async fn is_silent(es: &mut Events, for_: Duration) -> bool {
    tokio::time::timeout(for_, es.next()).await.is_err()
}

/// The `n` field of a `test.note` envelope.
pub fn note_n(e: &eventsource_stream::Event) -> u64 {
    assert_eq!(e.event, "test.note", "{e:?}");
    let v: serde_json::Value = serde_json::from_str(&e.data).expect("data is JSON");
    assert_eq!(v["type"], "test.note");
    v["data"]["n"].as_u64().expect("n")
}

pub fn json(e: &eventsource_stream::Event) -> serde_json::Value {
    serde_json::from_str(&e.data).expect("data is JSON")
}
