//! SSE frame encoding, round-tripped through an independent parser (the
//! HTML standard's rules, `continuum_fuzz::parse_stream`): whatever the
//! field values, one frame comes out, `id` and `event` arrive as given minus
//! CR, LF and NUL (no field can be forged), `data` arrives with every line
//! break as `\n`, and an event frame's data is the envelope JSON exactly.
#![no_main]

use arbitrary::Arbitrary;
use continuum_fuzz::parse_stream;
use continuum_runtime::id::{Epoch, EventId};
use continuum_runtime::sse::{self, FrameBuilder};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    id: String,
    event: String,
    data: String,
    comment: Option<String>,
    retry: Option<u64>,
    epoch: u64,
    seq: u64,
    type_name: String,
    raw: Option<String>,
}

fn single_line(s: &str) -> String {
    s.chars()
        .filter(|&c| c != '\r' && c != '\n' && c != '\0')
        .collect()
}

fn lines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

fuzz_target!(|input: Input| {
    let mut b = FrameBuilder::new();
    if let Some(ms) = input.retry {
        b = b.retry(ms);
    }
    b = b.id(&input.id).event(&input.event);
    if let Some(c) = &input.comment {
        b = b.comment(c);
    }
    let frame = b.data(&input.data).finish();
    let (frames, rest) = parse_stream(&frame);
    assert!(rest.is_empty(), "bytes after the frame");
    assert_eq!(frames.len(), 1, "{frame:?}");
    let f = &frames[0];
    assert_eq!(f.id.as_deref(), Some(single_line(&input.id).as_str()));
    assert_eq!(f.event.as_deref(), Some(single_line(&input.event).as_str()));
    assert_eq!(f.data.as_deref(), Some(lines(&input.data).as_str()));
    assert_eq!(f.retry, input.retry);
    let want: Vec<String> = input
        .comment
        .as_deref()
        .map(|c| lines(c).split('\n').map(str::to_owned).collect())
        .unwrap_or_default();
    assert_eq!(f.comments, want);

    // A published event's frame: the envelope, whatever the type name and
    // data JSON (a `RawValue` may hold line breaks).
    let id = EventId::new(Epoch::new(input.epoch), input.seq);
    let data_json = match &input.raw {
        Some(raw) if serde_json::from_str::<serde_json::Value>(raw).is_ok() => {
            raw.clone().into_bytes()
        }
        _ => serde_json::to_vec(&input.data).unwrap(),
    };
    let frame = sse::event_frame(id, &input.type_name, &data_json);
    let (frames, rest) = parse_stream(&frame);
    assert!(rest.is_empty());
    assert_eq!(frames.len(), 1, "{frame:?}");
    let f = &frames[0];
    assert_eq!(f.id.as_deref(), Some(id.to_string().as_str()));
    assert_eq!(
        f.event.as_deref(),
        Some(single_line(&input.type_name).as_str())
    );
    let env: serde_json::Value =
        serde_json::from_str(f.data.as_deref().unwrap()).expect("envelope JSON");
    assert_eq!(
        env["type"],
        serde_json::Value::String(input.type_name.clone())
    );
    let data: serde_json::Value = serde_json::from_slice(&data_json).unwrap();
    assert_eq!(env["data"], data);
    assert_eq!(EventId::parse(&id.to_string()), Some(id));
});
