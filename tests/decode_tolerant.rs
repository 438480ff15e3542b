//! `decode::read_event`, the reader's decoding (issue 18): a payload written
//! by a newer declaration — new fields at every depth (nested payloads,
//! items of lists, values of maps, optional payloads, each of serde's enum
//! representations), widened constraints — reads as the older declaration,
//! while a value outside the reader's types is still every issue, with wire
//! paths. Each case also shows that ingest's decoder refuses the payload, so
//! the tolerance is the reader's own.

use std::collections::BTreeMap;

use continuum_runtime::decode::{decode_event, read_event};
use continuum_runtime::prelude::*;
use serde_json::json;

/// A part.
#[derive(Payload, Debug, Clone, PartialEq)]
pub struct Part {
    /// Its name.
    pub name: String,
}

/// Internally tagged.
#[derive(Payload, Debug, Clone, PartialEq)]
#[serde(tag = "kind")]
pub enum Internal {
    /// Carries a part's fields beside the tag.
    Made {
        /// How many.
        count: u32,
    },
    /// Nothing.
    Idle,
}

/// Adjacently tagged.
#[derive(Payload, Debug, Clone, PartialEq)]
#[serde(tag = "t", content = "c")]
pub enum Adjacent {
    /// A part.
    Built(Part),
}

/// Externally tagged (serde's default).
#[derive(Payload, Debug, Clone, PartialEq)]
pub enum External {
    /// A struct variant.
    Failed {
        /// Why.
        reason: String,
    },
    /// A unit variant.
    Waiting,
}

/// The reader's declaration (the newer writer adds fields everywhere).
#[continuum_event("test.tolerant.order")]
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// At most 10, says this reader.
    #[event(range(max = 10))]
    pub qty: u8,
    /// Nested.
    pub part: Part,
    /// In a list.
    pub parts: Vec<Part>,
    /// In a map.
    pub by_name: BTreeMap<String, Part>,
    /// Optional.
    pub spare: Option<Part>,
    /// Tagged three ways.
    pub internal: Internal,
    /// Adjacent.
    pub adjacent: Adjacent,
    /// External.
    pub external: External,
    /// Past 64 bits.
    pub big: u128,
}

/// The payload as text, with `big` at `u128::MAX` (past what a
/// `serde_json::Value` holds exactly).
fn text(v: &serde_json::Value) -> String {
    v.to_string()
        .replacen("\"big\":0", &format!("\"big\":{}", u128::MAX), 1)
}

fn newer() -> serde_json::Value {
    json!({
        "qty": 12,
        "part": {"name": "a", "color": "red"},
        "parts": [{"name": "b", "weight": 3}],
        "byName": {"c": {"name": "c", "extra": [1]}},
        "spare": {"name": "d", "new": true},
        "internal": {"kind": "made", "count": 2, "operator": "ada"},
        "adjacent": {"t": "built", "c": {"name": "e", "size": 9}, "note": "x"},
        "external": {"failed": {"reason": "r", "code": 7}},
        "big": 0, // see `text`
        "addedLater": {"deep": [1, 2]}
    })
}

#[test]
fn a_newer_writers_payload_reads_as_the_older_declaration_at_every_depth() {
    let text = text(&newer());
    let strict = decode_event::<Order>(&text).unwrap_err();
    let unknown = strict
        .issues()
        .iter()
        .filter(|i| i.code.as_str() == "unknown_field")
        .count();
    assert!(unknown >= 8, "ingest refuses every new field: {strict}");

    let order = read_event::<Order>(&text).unwrap();
    let part = |n: &str| Part { name: n.into() };
    assert_eq!(
        order,
        Order {
            qty: 12, // past the reader's range: not re-checked
            part: part("a"),
            parts: vec![part("b")],
            by_name: BTreeMap::from([("c".into(), part("c"))]),
            spare: Some(part("d")),
            internal: Internal::Made { count: 2 },
            adjacent: Adjacent::Built(part("e")),
            external: External::Failed { reason: "r".into() },
            big: u128::MAX,
        }
    );
}

#[test]
fn what_the_reader_cannot_hold_is_still_every_issue_with_wire_paths() {
    let mut v = newer();
    v["qty"] = json!(300); // wider than u8
    v["external"] = json!("retrying"); // a variant this reader does not know
    v["part"] = json!({"color": "red"}); // its required field gone
    let err = read_event::<Order>(&text(&v)).unwrap_err();
    let paths: Vec<&str> = err.issues().iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["qty", "part.name", "external"], "{err}");
    // A unit variant with new fields beside an internal tag reads.
    v["qty"] = json!(1);
    v["external"] = json!("waiting");
    v["part"] = json!({"name": "a"});
    v["internal"] = json!({"kind": "idle", "since": 3});
    let order = read_event::<Order>(&text(&v)).unwrap();
    assert_eq!(
        (order.internal, order.external),
        (Internal::Idle, External::Waiting)
    );
}
