//! What the fuzz targets share: an SSE parser written from the HTML
//! standard's "event stream interpretation", independent of the runtime's
//! encoder, and the events the ingest target decodes.

use continuum_runtime::prelude::*;

/// One dispatched block of an event stream (every blank line ends one,
/// whether or not the standard would dispatch it), with the fields as a
/// browser reads them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Frame {
    pub id: Option<String>,
    pub event: Option<String>,
    /// `data` lines joined with `\n`; `None` without any `data` line.
    pub data: Option<String>,
    pub retry: Option<u64>,
    pub comments: Vec<String>,
}

/// Parse `stream` into frames: lines end at CRLF, LF or CR; a line starting
/// with `:` is a comment; otherwise the field name runs to the first `:`,
/// and one space after it is dropped. An id containing NUL is ignored; a
/// retry that is not all ASCII digits is ignored. The bytes after the last
/// blank line are returned as the unfinished rest.
pub fn parse_stream(stream: &[u8]) -> (Vec<Frame>, Vec<u8>) {
    let text = String::from_utf8_lossy(stream);
    let mut frames = Vec::new();
    let mut cur = Frame::default();
    let mut rest_start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut line_start = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n' || b == b'\r' {
            let line = &text[line_start..i];
            let next = if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                i + 2
            } else {
                i + 1
            };
            if line.is_empty() {
                frames.push(std::mem::take(&mut cur));
                rest_start = next;
            } else if let Some(comment) = line.strip_prefix(':') {
                cur.comments
                    .push(comment.strip_prefix(' ').unwrap_or(comment).to_owned());
            } else {
                let (name, value) = match line.split_once(':') {
                    Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
                    None => (line, ""),
                };
                match name {
                    "id" if !value.contains('\0') => cur.id = Some(value.to_owned()),
                    "event" => cur.event = Some(value.to_owned()),
                    "data" => match &mut cur.data {
                        Some(d) => {
                            d.push('\n');
                            d.push_str(value);
                        }
                        None => cur.data = Some(value.to_owned()),
                    },
                    "retry" if !value.is_empty() && value.bytes().all(|c| c.is_ascii_digit()) => {
                        cur.retry = value.parse().ok();
                    }
                    _ => {}
                }
            }
            i = next;
            line_start = next;
        } else {
            i += 1;
        }
    }
    (frames, bytes[rest_start..].to_vec())
}

/// Where a task is.
#[derive(Payload, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Queued,
    Generating,
    Done,
}

/// Nested items, for paths like `items[2].name`.
#[derive(Payload, Debug, Clone, PartialEq)]
pub struct Item {
    #[event(length(min = 1, max = 8), pattern = "^[a-z]+$")]
    pub name: String,
    pub qty: Option<u16>,
}

/// Progress of one task (the demo's event).
#[continuum_event("fuzz.task.progress")]
#[derive(Debug, Clone, PartialEq)]
pub struct TaskProgress {
    #[event(length(min = 1, max = 128))]
    pub task_id: String,
    pub stage: Stage,
    #[event(range(min = 0, max = 100))]
    pub progress: u8,
}

/// Every kind of field the macro knows.
#[continuum_event("fuzz.cart.updated")]
#[derive(Debug, Clone, PartialEq)]
pub struct CartUpdated {
    #[event(length(max = 4))]
    pub items: Vec<Item>,
    #[event(range(exclusive_min = 0.0, max = 1.0))]
    pub ratio: f64,
    pub tags: std::collections::BTreeMap<String, i32>,
    pub note: Option<String>,
    pub extra: serde_json::Value,
}

/// An event without data.
#[continuum_event("fuzz.cache.flushed")]
pub struct Flushed;
