//! The exported JSON Schema accepts exactly what decode + validate accept, on
//! a table of payloads, checked with an independent validator (`jsonschema`).

use std::collections::{BTreeMap, HashMap};

use continuum_runtime::json_schema::json_schema;
use continuum_runtime::prelude::*;
use continuum_runtime::Registry;
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
