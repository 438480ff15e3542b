//! `#[continuum_event]` reads a plain struct field by field
//! (`Event::__decode`, through `__private::Fields`) rather than through
//! serde's derived `Deserialize`, to build faster (bench/compile-cost). It
//! must give what serde gives for the same text: the same value, and an
//! error where serde has one. Each case below is decoded both ways.

// Test payloads: docs would only repeat the field names.
#![allow(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use continuum_runtime::decode::decode_event;
use continuum_runtime::prelude::*;
use serde::de::DeserializeOwned;

#[derive(Payload, Debug, Clone, PartialEq)]
pub struct Part {
    #[event(length(min = 1))]
    pub name: String,
    pub count: u32,
}

#[derive(Payload, Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Fast,
    Slow,
}

/// Declared after its use below, so its fields are routed through
/// `Payload::__deserialize` (see `known.rs` in continuum-macros).
#[continuum_event("test.fields.mixed")]
#[derive(Debug, Clone, PartialEq)]
pub struct Mixed {
    pub id: String,
    pub big: u128,
    pub small: i8,
    pub ratio: f32,
    pub mode: Mode,
    pub parts: Vec<Part>,
    pub note: Option<String>,
    pub late: Option<Late>,
    pub tags: BTreeSet<String>,
    pub extra: BTreeMap<String, serde_json::Value>,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Payload, Debug, Clone, PartialEq)]
pub struct Late {
    pub at: u64,
}

#[continuum_event("test.fields.open", deny_unknown_fields = false)]
#[derive(Debug, Clone, PartialEq)]
pub struct Open {
    pub a: u8,
    pub b: Option<bool>,
}

#[continuum_event("test.fields.empty")]
#[derive(Debug, Clone, PartialEq)]
pub struct Empty {}

/// Not read field by field (`default` changes what serde does): serde's
/// `from_str` as before.
#[continuum_event("test.fields.defaulted")]
#[derive(Debug, Clone, PartialEq)]
pub struct Defaulted {
    #[serde(default)]
    pub n: u8,
    pub s: String,
}

/// serde's own derive for an event's shape: the reference the field-by-field
/// read is compared with. `Mixed` (a `u128`) and `Defaulted` (a serde
/// option) keep serde's derived `Deserialize`; `Open` and `Empty` get
/// Continuum's (which decodes field by field too), so their reference is a
/// twin struct with serde's derive.
trait BySerde: Event + std::fmt::Debug + PartialEq {
    type Serde: DeserializeOwned + Into<Self>;
}

impl BySerde for Mixed {
    type Serde = Mixed;
}

impl BySerde for Defaulted {
    type Serde = Defaulted;
}

/// Twins with serde's derive, named as the events are (serde's messages name the struct).
mod by_serde {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Open {
        pub a: u8,
        pub b: Option<bool>,
    }

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Empty {}
}

impl From<by_serde::Open> for Open {
    fn from(o: by_serde::Open) -> Self {
        Open { a: o.a, b: o.b }
    }
}

impl BySerde for Open {
    type Serde = by_serde::Open;
}

impl From<by_serde::Empty> for Empty {
    fn from(_: by_serde::Empty) -> Self {
        Empty {}
    }
}

impl BySerde for Empty {
    type Serde = by_serde::Empty;
}

/// Both ways, compared: `Some(value)` or `None` for an error.
fn both<E: BySerde>(json: &str) -> Option<E> {
    let ours = E::__decode(json).ok();
    let serde = serde_json::from_str::<E::Serde>(json).ok().map(Into::into);
    assert_eq!(ours, serde, "decoding {json}");
    ours
}

fn mixed(fields: &str) -> String {
    let base = r#""id": "x", "big": 340282366920938463463374607431768211455, "small": -128,
        "ratio": 0.5, "mode": "fast", "parts": [{"name": "a", "count": 1}],
        "tags": ["b", "a"], "extra": {"k": [1, {"z": null}]}, "type": "t""#;
    if fields.is_empty() {
        format!("{{{base}}}")
    } else {
        format!("{{{base}, {fields}}}")
    }
}

#[test]
fn agrees_with_serde_on_values() {
    let m: Mixed = both(&mixed("")).expect("decodes");
    assert_eq!(m.big, u128::MAX);
    assert_eq!(m.note, None);
    assert_eq!(m.late, None);
    for fields in [
        r#""note": "n""#,
        r#""note": null"#,
        r#""late": {"at": 3}"#,
        r#""late": null"#,
    ] {
        assert!(both::<Mixed>(&mixed(fields)).is_some(), "{fields}");
    }
    // An `f32` past its range: whatever serde does, so does this.
    both::<Mixed>(&mixed(r#""ratio": 1e39"#).replace(r#""ratio": 0.5, "#, ""));
    // A set given a repeated item: whatever serde does, so does this.
    both::<Mixed>(&mixed(r#""tags": ["a", "a"]"#).replace(r#""tags": ["b", "a"], "#, ""));
    // Escaped keys and values.
    let escaped = mixed("").replace(r#""small""#, r#""sm\u0061ll""#);
    assert!(both::<Mixed>(&escaped).is_some());
    assert!(both::<Open>(r#"{"a": 1, "zzz": [1, 2], "b": true}"#).is_some());
    assert!(both::<Open>(r#"{"a": 1}"#).is_some());
    assert!(both::<Empty>("{}").is_some());
    assert!(both::<Defaulted>(r#"{"s": "x"}"#).is_some());
    // A struct from a JSON array, positionally, as serde reads one.
    assert!(both::<Open>("[1, false]").is_some());
    assert!(both::<Open>("[1, null]").is_some());
    assert!(both::<Empty>("[]").is_some());
}

#[test]
fn agrees_with_serde_on_errors() {
    for fields in [
        r#""unknown": 1"#,
        r#""small": 128"#,
        r#""small": 1.0"#,
        r#""ratio": "x""#,
        r#""mode": "medium""#,
        r#""parts": [{"name": "a"}]"#,
        r#""late": {"at": -1}"#,
        r#""late": 5"#,
    ] {
        assert!(both::<Mixed>(&mixed(fields)).is_none(), "{fields}");
    }
    for json in [
        r#"{"id": "x"}"#,
        "",
        "null",
        "3",
        r#""text""#,
        "{",
        r#"{"a": 1} x"#,
        r#"{"a": 1,}"#,
    ] {
        assert!(both::<Mixed>(json).is_none(), "{json}");
        assert!(both::<Open>(json).is_none(), "{json}");
    }
    // Arrays: too short (even for an `Option`, as serde), too long.
    assert!(both::<Open>("[1]").is_none());
    assert!(both::<Open>("[1, true, 3]").is_none());
    assert!(both::<Empty>("[1]").is_none());
    assert!(both::<Empty>(r#"{"a": 1}"#).is_none());
}

/// A repeated key: serde refuses it, the field-by-field read takes the last
/// value; decoding gives the last value either way (it then decodes the
/// normalized payload, which keeps the last value).
#[test]
fn repeated_key_takes_the_last_value() {
    let json = r#"{"a": 1, "a": 2}"#;
    assert!(serde_json::from_str::<by_serde::Open>(json).is_err());
    assert_eq!(Open::__decode(json).unwrap().a, 2);
    assert_eq!(decode_event::<Open>(json).unwrap().a, 2);
    // Continuum's `Deserialize` for a plain event is decoding's reader too.
    assert_eq!(serde_json::from_str::<Open>(json).unwrap().a, 2);
}

/// A plain event's `Deserialize` (Continuum's, not serde's derive: see
/// `bench/compile-cost`) reads any self-describing format through a
/// `serde_json::Value` and accepts and refuses what decoding does, with
/// serde's messages.
#[test]
fn plain_events_deserialize_as_they_decode() {
    let open: Open = serde_json::from_value(serde_json::json!({"a": 7, "b": true})).unwrap();
    assert_eq!(
        open,
        Open {
            a: 7,
            b: Some(true)
        }
    );
    let open: Open = serde_json::from_str(r#"{"a": 1}"#).unwrap();
    assert_eq!(open.b, None);
    let err = serde_json::from_str::<Open>(r#"{"b": true}"#)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("missing field `a`"), "{err}");
    let err = serde_json::from_str::<Empty>(r#"{"what": 1}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("unknown field `what`, there are no fields"),
        "{err}"
    );
    assert!(serde_json::from_str::<Open>(r#"{"a": 256}"#).is_err());
    // A `u128` keeps serde's derive, exact past 64 bits.
    let m: Mixed = serde_json::from_str(&mixed("")).unwrap();
    assert_eq!(m.big, u128::MAX);
}

/// Which path each event takes, told apart by a repeated key (serde refuses
/// it, the field-by-field read does not): without this, the agreement tests
/// above would still pass if the attribute stopped generating `__decode`
/// (the trait's default is serde's `from_str`).
#[test]
fn plain_structs_take_the_field_path_and_serde_options_keep_serde() {
    let repeated = mixed(r#""small": 5"#);
    assert!(serde_json::from_str::<Mixed>(&repeated).is_err());
    assert_eq!(Mixed::__decode(&repeated).unwrap().small, 5);
    let defaulted = r#"{"s": "x", "s": "y"}"#;
    assert!(
        Defaulted::__decode(defaulted).is_err(),
        "`#[serde(default)]` keeps serde's derive"
    );
}

/// The messages serde would give, where decoding reports them.
#[test]
fn error_messages_match_serde() {
    fn message<E: BySerde>(json: &str) -> (String, String) {
        let ours = E::__decode(json).expect_err("an error").to_string();
        let serde = serde_json::from_str::<E::Serde>(json)
            .err()
            .expect("an error")
            .to_string();
        let strip = |s: String| s.split(" at line").next().unwrap_or("").to_owned();
        (strip(ours), strip(serde))
    }
    for json in [r#"{"a": "x"}"#, r#"{"b": true}"#, "[1]"] {
        let (ours, serde) = message::<Open>(json);
        assert_eq!(ours, serde, "{json}");
    }
    let (ours, serde) = message::<Mixed>(&mixed(r#""what": 1"#));
    assert_eq!(ours, serde);
    let (ours, serde) = message::<Empty>(r#"{"what": 1}"#);
    assert_eq!(ours, serde);
}
