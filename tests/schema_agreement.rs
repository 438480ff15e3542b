//! The exported JSON Schema accepts exactly what decode + validate accept, on
//! a table of payloads, checked with an independent validator (`jsonschema`).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use continuum_runtime::json_schema::json_schema;
use continuum_runtime::prelude::*;
use continuum_runtime::{EventSchema, Registry};
use serde_json::{json, Value};

/// Where a task is.
#[derive(Payload, Debug)]
pub enum Stage {
    /// Waiting.
    Queued,
    /// Running.
    GeneratingText,
}

/// A nested payload.
#[derive(Payload, Debug)]
pub struct Attachment {
    /// The file.
    #[event(length(min = 1, max = 8), pattern = "^[a-z]+\\.png$")]
    pub file_name: String,
    /// Its size.
    #[event(range(max = 1000))]
    pub size_bytes: u64,
}

/// Every shape and constraint JSON Schema can express.
#[continuum_event("test.agreement")]
#[derive(Debug)]
pub struct Agreement {
    /// Inclusive range on a small integer (its type bounds apply too).
    #[event(range(min = 10, max = 20))]
    pub level: u8,
    /// Exclusive float bounds.
    #[event(range(exclusive_min = -1, exclusive_max = 1.5))]
    pub ratio: f64,
    /// Characters, not bytes.
    #[event(length(min = 2, max = 4))]
    pub code: String,
    /// A string union.
    pub stage: Stage,
    /// Items, each checked.
    #[event(length(max = 2), each(range(min = 1)))]
    pub counts: Vec<i64>,
    /// Nested structs in a sequence.
    pub files: Vec<Attachment>,
    /// A map of nested structs.
    pub by_owner: HashMap<String, Attachment>,
    /// Optional, constrained when present.
    #[event(length(min = 1))]
    pub tags: Option<Vec<String>>,
    /// Any JSON.
    pub meta: BTreeMap<String, Value>,
    /// Defaulted, so not required.
    #[serde(default)]
    pub flag: bool,
    /// An `f32`: the numbers that round to a finite one.
    pub gain: f32,
    /// An `f32` with a `range` inside the type's bounds.
    #[event(range(exclusive_min = 0, max = 60))]
    pub celsius: f32,
    /// `f32` elements with a `range` beyond the type's: the type's bounds stay.
    #[event(each(range(min = -1e39, max = 1e39)))]
    pub samples: Vec<f32>,
}

/// An event without data.
#[continuum_event("test.agreement-unit")]
pub struct Unit;

fn base() -> Value {
    json!({
        "level": 10, "ratio": 0.5, "code": "ab", "stage": "queued", "counts": [1],
        "files": [{"fileName": "a.png", "sizeBytes": 1}], "byOwner": {}, "meta": {},
        "gain": 1.5, "celsius": 20, "samples": []
    })
}

fn with(changes: &[(&str, Option<Value>)]) -> Value {
    let mut v = base();
    for (k, change) in changes {
        match change {
            Some(x) => v[*k] = x.clone(),
            None => {
                v.as_object_mut().unwrap().remove(*k);
            }
        }
    }
    v
}

#[test]
fn json_schema_agrees_with_decode_and_validate() {
    let s = |v: Value| Some(v);
    let table: Vec<(Value, bool)> = vec![
        (base(), true),
        (with(&[("level", s(json!(9)))]), false),
        (with(&[("level", s(json!(10)))]), true),
        (with(&[("level", s(json!(20)))]), true),
        (with(&[("level", s(json!(21)))]), false),
        (with(&[("level", s(json!(300)))]), false),
        (with(&[("level", s(json!(-1)))]), false),
        (with(&[("level", s(json!(15.0)))]), true),
        (with(&[("level", s(json!(15.5)))]), false),
        (with(&[("level", s(json!("15")))]), false),
        (with(&[("level", None)]), false),
        (with(&[("ratio", s(json!(-1)))]), false),
        (with(&[("ratio", s(json!(-0.99)))]), true),
        (with(&[("ratio", s(json!(1.49)))]), true),
        (with(&[("ratio", s(json!(1.5)))]), false),
        (with(&[("ratio", s(json!(1)))]), true),
        (with(&[("code", s(json!("a")))]), false),
        (with(&[("code", s(json!("abcd")))]), true),
        (with(&[("code", s(json!("abcde")))]), false),
        (with(&[("code", s(json!("éééé")))]), true),
        (with(&[("code", s(json!("ééééé")))]), false),
        (with(&[("stage", s(json!("generatingText")))]), true),
        (with(&[("stage", s(json!("GeneratingText")))]), false),
        (with(&[("stage", s(json!(null)))]), false),
        (with(&[("counts", s(json!([])))]), true),
        (with(&[("counts", s(json!([1, 2])))]), true),
        (with(&[("counts", s(json!([1, 2, 3])))]), false),
        (with(&[("counts", s(json!([0])))]), false),
        (with(&[("counts", s(json!({})))]), false),
        (
            with(&[(
                "files",
                s(json!([{"fileName": "ab.png", "sizeBytes": 1000}])),
            )]),
            true,
        ),
        (
            with(&[(
                "files",
                s(json!([{"fileName": "ab.png", "sizeBytes": 1001}])),
            )]),
            false,
        ),
        (
            with(&[(
                "files",
                s(json!([{"fileName": "abcd.png", "sizeBytes": 1}])),
            )]),
            true,
        ),
        (
            with(&[(
                "files",
                s(json!([{"fileName": "abcde.png", "sizeBytes": 1}])),
            )]),
            false,
        ),
        (
            with(&[("files", s(json!([{"fileName": "A.png", "sizeBytes": 1}])))]),
            false,
        ),
        (with(&[("files", s(json!([{"fileName": "a.png"}])))]), false),
        (
            with(&[(
                "files",
                s(json!([{"fileName": "a.png", "sizeBytes": 1, "x": 1}])),
            )]),
            false,
        ),
        (
            with(&[(
                "byOwner",
                s(json!({"ann": {"fileName": "a.png", "sizeBytes": 1}})),
            )]),
            true,
        ),
        (
            with(&[(
                "byOwner",
                s(json!({"ann": {"fileName": "", "sizeBytes": 1}})),
            )]),
            false,
        ),
        (with(&[("byOwner", s(json!({"ann": 1})))]), false),
        (with(&[("tags", s(json!(null)))]), true),
        (with(&[("tags", s(json!(["x"])))]), true),
        (with(&[("tags", s(json!([])))]), false),
        (with(&[("tags", s(json!([1])))]), false),
        (
            with(&[("meta", s(json!({"anything": [1, {"a": null}]})))]),
            true,
        ),
        (with(&[("meta", s(json!([])))]), false),
        (with(&[("flag", s(json!(true)))]), true),
        (with(&[("flag", s(json!(1)))]), false),
        (with(&[("unknown", s(json!(1)))]), false),
        // `f32`: a number that rounds to infinity is out, one that rounds to
        // `f32::MAX` (`3.4028235e38` is how it is written) is in.
        (with(&[("gain", s(json!(1e39)))]), false),
        (with(&[("gain", s(json!(-1e39)))]), false),
        (with(&[("gain", s(json!(1e300)))]), false),
        (with(&[("gain", s(json!(3.4e38)))]), true),
        (with(&[("gain", s(json!(3.402_823_5e38)))]), true),
        (with(&[("gain", s(json!(-3.402_823_5e38)))]), true),
        (with(&[("gain", s(json!(3.402_823_56e38)))]), true),
        (with(&[("gain", s(json!(3.402_823_6e38)))]), false),
        (with(&[("gain", s(json!(-3.402_823_6e38)))]), false),
        (with(&[("gain", s(json!(-1e-50)))]), true),
        (with(&[("gain", s(json!("1")))]), false),
        (with(&[("gain", None)]), false),
        (with(&[("celsius", s(json!(0)))]), false),
        (with(&[("celsius", s(json!(0.5)))]), true),
        (with(&[("celsius", s(json!(60)))]), true),
        (with(&[("celsius", s(json!(61)))]), false),
        (with(&[("celsius", s(json!(1e39)))]), false),
        (with(&[("celsius", s(json!(-1e39)))]), false),
        (with(&[("samples", s(json!([1e39])))]), false),
        (with(&[("samples", s(json!([1, -1e39])))]), false),
        (
            with(&[("samples", s(json!([3.4e38, -3.402_823_5e38])))]),
            true,
        ),
        (
            with(&[("gain", s(json!(1e39))), ("celsius", s(json!(99)))]),
            false,
        ),
        (json!([]), false),
        (json!(null), false),
    ];
    let registry = Registry::from_inventory().unwrap();
    let decode = registry.get("test.agreement").unwrap().decode;
    let schema = json_schema(Agreement::schema());
    let validator =
        jsonschema::validator_for(&schema).expect("the exported schema is itself valid");
    for (payload, expected) in &table {
        let by_rust = decode(&payload.to_string()).is_ok();
        let by_schema = validator.is_valid(payload);
        assert_eq!(
            by_rust,
            *expected,
            "decode + validate on {payload}: {:?}",
            decode(&payload.to_string()).err()
        );
        assert_eq!(by_schema, *expected, "JSON Schema on {payload}");
    }
}

#[test]
fn unit_event_schema_agrees() {
    let registry = Registry::from_inventory().unwrap();
    let decode = registry.get("test.agreement-unit").unwrap().decode;
    let schema = json_schema(Unit::schema());
    let validator = jsonschema::validator_for(&schema).unwrap();
    for (payload, expected) in [
        (json!(null), true),
        (json!({}), true),
        (json!({"a": 1}), false),
        (json!(1), false),
    ] {
        assert_eq!(
            decode(&payload.to_string()).is_ok(),
            expected,
            "decode {payload}"
        );
        assert_eq!(validator.is_valid(&payload), expected, "schema {payload}");
    }
}

/// An `f32` carries the bounds past which a number rounds to infinity; a
/// `range` inside them replaces them, one beyond them does not.
#[test]
fn f32_bounds_merge_with_range() {
    let schema = json_schema(Agreement::schema());
    let limit = json!(3.402_823_567_797_336_6e38);
    let props = &schema["properties"];
    assert_eq!(props["gain"]["type"], "number");
    assert_eq!(props["gain"]["exclusiveMaximum"], limit);
    assert_eq!(props["gain"]["exclusiveMinimum"], -limit.as_f64().unwrap());
    assert!(props["gain"].get("maximum").is_none());

    assert_eq!(props["celsius"]["exclusiveMinimum"], 0);
    assert_eq!(props["celsius"]["maximum"], 60);
    assert!(props["celsius"].get("minimum").is_none());
    assert!(props["celsius"].get("exclusiveMaximum").is_none());

    let items = &props["samples"]["items"];
    assert_eq!(items["exclusiveMaximum"], limit);
    assert_eq!(items["exclusiveMinimum"], -limit.as_f64().unwrap());
    assert!(items.get("maximum").is_none());
    assert!(items.get("minimum").is_none());

    // An `f64` has no bounds of its own.
    assert!(props["ratio"].get("maximum").is_none());
    assert_eq!(props["ratio"]["exclusiveMaximum"], 1.5);
}

#[test]
fn schema_carries_docs_and_draft() {
    let schema = json_schema(Agreement::schema());
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(
        schema["description"],
        "Every shape and constraint JSON Schema can express."
    );
    assert_eq!(
        schema["properties"]["code"]["description"],
        "Characters, not bytes."
    );
    assert_eq!(schema["$defs"]["Stage"]["description"], "Where a task is.");
    assert_eq!(
        schema["properties"]["files"]["items"]["$ref"],
        "#/$defs/Attachment"
    );
}

/// Decode + validate and the exported JSON Schema (formats asserted) agree
/// on every payload of `table`, and both give the expected verdict.
fn assert_agreement(event: &str, schema: &EventSchema, table: &[(Value, bool)]) {
    let registry = Registry::from_inventory().unwrap();
    let decode = registry.get(event).unwrap().decode;
    let schema = json_schema(schema);
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the exported schema is itself valid");
    for (payload, expected) in table {
        let by_rust = decode(&payload.to_string());
        assert_eq!(
            by_rust.is_ok(),
            *expected,
            "decode + validate on {payload}: {:?}",
            by_rust.err()
        );
        assert_eq!(
            validator.is_valid(payload),
            *expected,
            "JSON Schema on {payload}: {schema:#}"
        );
    }
}

/// serde's default representation.
#[derive(Payload, Debug)]
pub enum External {
    /// Nothing to say.
    Queued,
    /// A newtype variant with a constraint.
    Retrying(#[event(range(max = 5))] u8),
    /// A struct variant with a constraint.
    Failed {
        /// Why.
        #[event(length(min = 1))]
        reason: String,
        /// Optional.
        error_code: Option<u16>,
    },
}

/// What an internally tagged newtype variant carries.
#[derive(Payload, Debug)]
pub struct Started {
    /// Which worker.
    #[event(length(min = 1))]
    pub worker_id: String,
}

/// Internally tagged, renamed.
#[derive(Payload, Debug)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Internal {
    /// Nothing to say.
    Queued,
    /// A newtype variant: the struct's fields beside the tag.
    Started(Started),
    /// A struct variant with its own renames.
    #[serde(rename_all = "snake_case")]
    TimedOut {
        /// How long.
        #[event(range(min = 1))]
        after_secs: u32,
    },
}

/// Adjacently tagged.
#[derive(Payload, Debug)]
#[serde(tag = "t", content = "c")]
pub enum Adjacent {
    /// Nothing to say.
    Queued,
    /// A newtype variant.
    Progress(#[event(range(max = 100))] u8),
    /// A struct variant.
    Failed {
        /// Why.
        #[event(length(min = 1))]
        reason: String,
    },
}

/// Every enum representation.
#[continuum_event("test.agreement-enums")]
#[derive(Debug)]
pub struct Enums {
    /// Externally tagged.
    pub ext: External,
    /// Internally tagged.
    pub int: Internal,
    /// Adjacently tagged.
    pub adj: Adjacent,
}

fn enums_base() -> Value {
    json!({ "ext": "queued", "int": { "kind": "queued" }, "adj": { "t": "queued" } })
}

fn enums_with(key: &str, v: Value) -> Value {
    let mut base = enums_base();
    base[key] = v;
    base
}

#[test]
fn json_schema_agrees_on_every_enum_representation() {
    let e = enums_with;
    let table = vec![
        (enums_base(), true),
        // External.
        (e("ext", json!("retrying")), false),
        (e("ext", json!({ "retrying": 5 })), true),
        (e("ext", json!({ "retrying": 6 })), false),
        (e("ext", json!({ "retrying": "5" })), false),
        (e("ext", json!({ "failed": { "reason": "x" } })), true),
        (
            e(
                "ext",
                json!({ "failed": { "reason": "x", "errorCode": 3 } }),
            ),
            true,
        ),
        (e("ext", json!({ "failed": { "reason": "" } })), false),
        (e("ext", json!({ "failed": {} })), false),
        (
            e("ext", json!({ "failed": { "reason": "x", "extra": 1 } })),
            false,
        ),
        (e("ext", json!({ "failed": "x" })), false),
        (e("ext", json!({ "queued": null })), true),
        (e("ext", json!({ "queued": 1 })), false),
        (e("ext", json!("Queued")), false),
        (e("ext", json!("nope")), false),
        (e("ext", json!({ "nope": 1 })), false),
        (e("ext", json!({ "retrying": 1, "queued": null })), false),
        (e("ext", json!({})), false),
        (e("ext", json!(1)), false),
        // Internal.
        (
            e("int", json!({ "kind": "timed_out", "after_secs": 1 })),
            true,
        ),
        (
            e("int", json!({ "kind": "timed_out", "after_secs": 0 })),
            false,
        ),
        (e("int", json!({ "kind": "timed_out" })), false),
        (
            e(
                "int",
                json!({ "kind": "timed_out", "after_secs": 1, "x": 1 }),
            ),
            false,
        ),
        (
            e("int", json!({ "kind": "timedOut", "after_secs": 1 })),
            false,
        ),
        (e("int", json!({ "kind": "nope" })), false),
        (e("int", json!({ "kind": 1 })), false),
        (e("int", json!({ "after_secs": 1 })), false),
        (e("int", json!("queued")), false),
        (
            e("int", json!({ "kind": "started", "workerId": "w" })),
            true,
        ),
        (
            e("int", json!({ "kind": "started", "workerId": "" })),
            false,
        ),
        (e("int", json!({ "kind": "started" })), false),
        (
            e("int", json!({ "kind": "started", "workerId": "w", "x": 1 })),
            false,
        ),
        // serde reads only the tag of a unit variant.
        (e("int", json!({ "kind": "queued", "x": 1 })), true),
        // Adjacent.
        (e("adj", json!({ "t": "queued", "c": null })), true),
        (e("adj", json!({ "t": "queued", "c": 1 })), false),
        (e("adj", json!({ "t": "progress", "c": 100 })), true),
        (e("adj", json!({ "t": "progress", "c": 101 })), false),
        (e("adj", json!({ "t": "progress" })), false),
        (
            e("adj", json!({ "t": "failed", "c": { "reason": "x" } })),
            true,
        ),
        (
            e("adj", json!({ "t": "failed", "c": { "reason": "" } })),
            false,
        ),
        (
            e(
                "adj",
                json!({ "t": "failed", "c": { "reason": "x", "y": 1 } }),
            ),
            false,
        ),
        (e("adj", json!({ "t": "queued", "x": 1 })), false),
        (e("adj", json!({ "t": "nope" })), false),
        (e("adj", json!({ "c": 1 })), false),
    ];
    assert_agreement("test.agreement-enums", Enums::schema(), &table);
}

/// Every new standard and feature type, with constraints where they apply.
#[continuum_event("test.agreement-types")]
#[derive(Debug)]
pub struct Types {
    /// A boxed number keeps its bounds and its `range`.
    #[event(range(min = 1))]
    pub boxed: Box<u8>,
    /// A shared string keeps its `length`.
    #[event(length(max = 3))]
    pub shared: Arc<String>,
    /// A borrowed-or-owned string keeps its `pattern`.
    #[event(pattern = "^[a-z]+$")]
    pub cow: Cow<'static, str>,
    /// Unique items, each checked.
    #[event(length(max = 2), each(length(min = 1)))]
    pub tags: HashSet<String>,
    /// Unique numbers.
    pub sorted: BTreeSet<u32>,
    /// Exactly three.
    pub rgb: [u8; 3],
    /// The widest integers, bounds exact.
    pub big: u128,
    /// Signed.
    pub signed: i128,
    /// An IPv4 or IPv6 address.
    pub ip: IpAddr,
    /// Left out when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Feature `uuid`.
    pub id: uuid::Uuid,
    /// Feature `chrono`.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Feature `chrono`, a date.
    pub day: chrono::NaiveDate,
    /// Feature `time`, as RFC 3339.
    pub since: time::OffsetDateTime,
    /// Feature `url`.
    pub link: url::Url,
    /// Optional timestamps keep their form.
    pub until: Option<time::OffsetDateTime>,
}

fn types_base() -> Value {
    json!({
        "boxed": 1, "shared": "abc", "cow": "ab", "tags": ["a", "b"], "sorted": [3, 1],
        "rgb": [0, 128, 255], "big": 0, "signed": -5, "ip": "127.0.0.1",
        "id": "67e55044-10b1-426f-9247-bb680e5fe0c8", "at": "2026-01-02T03:04:05Z", "day": "2026-01-31",
        "since": "2026-01-02T03:04:05.5+01:00", "link": "https://example.com/a?b=c",
        "until": null,
    })
}

fn types_with(key: &str, v: Value) -> Value {
    let mut base = types_base();
    base[key] = v;
    base
}

#[test]
fn json_schema_agrees_on_every_new_type() {
    let t = types_with;
    let mut without_until = types_base();
    without_until.as_object_mut().unwrap().remove("until");
    let table = vec![
        (types_base(), true),
        (without_until, true),
        (t("boxed", json!(0)), false),
        (t("boxed", json!(256)), false),
        (t("shared", json!("abcd")), false),
        (t("cow", json!("Ab")), false),
        (t("tags", json!([])), true),
        (t("tags", json!(["a", "a"])), false),
        (t("tags", json!(["a", "b", "c"])), false),
        (t("tags", json!([""])), false),
        (t("sorted", json!([1, 1])), false),
        (t("sorted", json!([1, 1.0])), false),
        (t("sorted", json!([-1])), false),
        (t("rgb", json!([0, 0])), false),
        (t("rgb", json!([0, 0, 0, 0])), false),
        (t("rgb", json!([0, 0, 256])), false),
        (t("big", json!(u64::MAX)), true),
        (t("big", json!(-1)), false),
        (t("big", json!(1.5)), false),
        (t("signed", json!(i64::MIN)), true),
        (t("signed", json!(u64::MAX)), true),
        (t("ip", json!("::1")), true),
        (t("ip", json!("2001:db8::8a2e:370:7334")), true),
        (t("ip", json!("256.0.0.1")), false),
        (t("ip", json!("localhost")), false),
        (t("ip", json!(1)), false),
        (t("note", json!("x")), true),
        (t("note", json!(null)), true),
        (t("id", json!("67e55044-10b1-426f-9247-bb680e5fe0c")), false),
        (t("id", json!("not-a-uuid")), false),
        (t("at", json!("2026-01-02T03:04:05+09:00")), true),
        (t("at", json!("yesterday")), false),
        (t("at", json!("2026-13-02T03:04:05Z")), false),
        (t("day", json!("2026-02-30")), false),
        (t("day", json!("2026-01-31T00:00:00Z")), false),
        (t("since", json!("2026-01-02T03:04:05Z")), true),
        (t("since", json!("2026-01-02")), false),
        (t("since", json!([2026, 2])), false),
        (t("until", json!("2026-01-02T03:04:05Z")), true),
        (t("until", json!("tomorrow")), false),
        (t("link", json!("not a url")), false),
        (t("link", json!("mailto:a@example.com")), true),
    ];
    assert_agreement("test.agreement-types", Types::schema(), &table);
}

/// What is written is what the schema and decode take: the feature types
/// and sets round-trip, `skip_serializing_if` leaves `None` out.
#[test]
fn new_types_round_trip_in_their_wire_form() {
    let registry = Registry::from_inventory().unwrap();
    let decode = registry.get("test.agreement-types").unwrap().decode;
    let event =
        continuum_runtime::decode::decode_event::<Types>(&types_base().to_string()).unwrap();
    let written = serde_json::to_value(&event).unwrap();
    assert_eq!(written["since"], "2026-01-02T03:04:05.5+01:00");
    assert_eq!(written["at"], "2026-01-02T03:04:05Z");
    assert_eq!(written["id"], "67e55044-10b1-426f-9247-bb680e5fe0c8");
    assert_eq!(written["ip"], "127.0.0.1");
    assert_eq!(written["sorted"], json!([1, 3]));
    assert!(
        written.get("note").is_none(),
        "skip_serializing_if is respected: {written}"
    );
    assert!(decode(&written.to_string()).is_ok());
    let schema = json_schema(Types::schema());
    assert!(jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
        .is_valid(&written));
    assert_eq!(schema["properties"]["id"]["format"], "uuid");
    assert_eq!(schema["properties"]["at"]["format"], "date-time");
    assert_eq!(schema["properties"]["since"]["format"], "date-time");
    assert_eq!(schema["properties"]["day"]["format"], "date");
    assert_eq!(schema["properties"]["link"]["format"], "uri");
    assert_eq!(schema["properties"]["tags"]["uniqueItems"], true);
    assert_eq!(schema["properties"]["big"]["minimum"], 0);
    assert_eq!(
        schema["properties"]["big"]["exclusiveMaximum"],
        json!(2f64.powi(128))
    );
    assert_eq!(
        schema["properties"]["signed"]["minimum"],
        json!(-(2f64.powi(127)))
    );
    assert_eq!(
        schema["properties"]["signed"]["exclusiveMaximum"],
        json!(2f64.powi(127))
    );
    assert!(!schema["required"]
        .as_array()
        .unwrap()
        .contains(&json!("note")));
}

mod generated {
    //! The same agreement on generated payloads (proptest): values drawn
    //! around every bound and type of `Agreement`, fields present, absent or
    //! of the wrong type. Whatever decode + validate says, the JSON Schema
    //! says too.

    use super::*;
    use proptest::prelude::*;

    fn attachment() -> impl Strategy<Value = Value> {
        (
            prop_oneof!["[a-z]{0,5}\\.png", "[a-z.]{0,10}", Just("é.png".to_owned())],
            prop_oneof![
                (0u64..1200).prop_map(Value::from),
                Just(json!(-1)),
                Just(json!("1"))
            ],
        )
            .prop_map(|(f, s)| json!({"fileName": f, "sizeBytes": s}))
    }

    /// `Some(v)`: the field is `v`; `None`: the field is absent.
    fn field(s: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Option<Value>> {
        prop_oneof![
            24 => s.prop_map(Some),
            1 => Just(None),
            1 => Just(Some(Value::Null)),
            1 => Just(Some(json!("x"))),
        ]
        .boxed()
    }

    fn payload() -> impl Strategy<Value = Value> {
        let numbers = (
            field(prop_oneof![
                (-5i64..40).prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                Just(json!(15.0)),
                Just(json!(15.5)),
            ]),
            field(prop_oneof![
                (-2.0f64..2.0).prop_map(Value::from),
                (-3i64..3).prop_map(Value::from),
                Just(json!(-1.0)),
                Just(json!(1.5)),
            ]),
            field(prop_oneof![
                (-1e39f64..1e39).prop_map(Value::from),
                Just(json!(3.4028235e38)),
                Just(json!(3.5e38)),
                (-100i64..100).prop_map(Value::from),
            ]),
            field(prop_oneof![
                (-10.0f64..70.0).prop_map(Value::from),
                Just(json!(0)),
                Just(json!(60)),
            ]),
            field(prop::collection::vec(-2e39f64..2e39, 0..3).prop_map(Value::from)),
        );
        let rest = (
            field("[a-zé]{0,6}".prop_map(Value::from)),
            field(prop_oneof![
                Just(json!("queued")),
                Just(json!("generatingText")),
                "[a-zA-Z]{0,14}".prop_map(Value::from),
            ]),
            field(prop::collection::vec(-2i64..4, 0..4).prop_map(Value::from)),
            field(prop::collection::vec(attachment(), 0..3).prop_map(Value::from)),
            field(
                prop::collection::btree_map("[a-z]{1,2}", attachment(), 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ),
            field(
                prop::collection::vec("[a-z]{0,2}".prop_map(Value::from), 0..3)
                    .prop_map(Value::from),
            ),
            field(prop_oneof![
                Just(json!({})),
                Just(json!({"k": [1, {"x": null}]}))
            ]),
            field(any::<bool>().prop_map(Value::from)),
        );
        (numbers, rest).prop_map(|(n, r)| {
            let mut v = serde_json::Map::new();
            let names = ["level", "ratio", "gain", "celsius", "samples"];
            let values = [n.0, n.1, n.2, n.3, n.4];
            for (k, x) in names.into_iter().zip(values) {
                if let Some(x) = x {
                    v.insert(k.into(), x);
                }
            }
            let names = [
                "code", "stage", "counts", "files", "byOwner", "tags", "meta", "flag",
            ];
            let values = [r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7];
            for (k, x) in names.into_iter().zip(values) {
                if let Some(x) = x {
                    v.insert(k.into(), x);
                }
            }
            Value::Object(v)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn json_schema_agrees_on_generated_payloads(payload in payload()) {
            let registry = Registry::from_inventory().unwrap();
            let decode = registry.get("test.agreement").unwrap().decode;
            let schema = json_schema(Agreement::schema());
            let validator = jsonschema::validator_for(&schema).unwrap();
            let by_rust = decode(&payload.to_string());
            prop_assert_eq!(
                by_rust.is_ok(),
                validator.is_valid(&payload),
                "on {}: decode + validate says {:?}",
                payload,
                by_rust.err()
            );
        }
    }
}
