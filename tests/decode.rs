//! Decoding reports constraint issues on every well-typed value even when the
//! payload also has shape issues (wrong types, unknown fields…), with the
//! codes, messages and paths `validate()` gives, in field declaration order.

use std::collections::BTreeMap;

use continuum_runtime::decode::decode_event;
use continuum_runtime::prelude::*;
use continuum_runtime::{Issue, ValidationErrors};
use serde_json::{json, Value};

// The demo's event (`ai.task.progress`, the issue's example), not a second
// declaration of the same wire name: two Rust types with one event name are
// a registry error as soon as a hub is built in the same binary.
use continuum::demo::{AiTaskProgress, Stage};

/// One line of an order.
#[derive(Payload, Debug, Clone, PartialEq)]
pub struct Item {
    /// Its name.
    #[event(length(min = 1, max = 8))]
    pub name: String,
    /// How many.
    #[event(range(min = 1, max = 10))]
    pub qty: u32,
}

fn is_even(n: &i32) -> Result<(), String> {
    if n % 2 == 0 {
        Ok(())
    } else {
        Err(format!("{n} is odd"))
    }
}

/// Every kind of declarative constraint, nested, optional and per element.
#[continuum_event("test.decode.order")]
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// A pattern and a length on one field.
    #[event(pattern = "^ord-[0-9]+$", length(max = 10))]
    pub order_id: String,
    /// Nested structs, the sequence itself bounded.
    #[event(length(min = 1, max = 3))]
    pub items: Vec<Item>,
    /// Constraints on an `Option` apply to the `Some` value.
    #[event(range(max = 5))]
    pub limit: Option<u8>,
    /// An optional sequence, its length and its elements constrained.
    #[event(length(max = 2), each(length(min = 2), pattern = "^[a-z]+$"))]
    pub tags: Option<Vec<String>>,
    /// Every value of a map.
    #[event(each(range(exclusive_min = 0, max = 1.5)))]
    pub weights: BTreeMap<String, f64>,
    /// Only checked on the Rust value.
    #[event(custom = is_even)]
    pub even: i32,
}

fn order() -> Order {
    Order {
        order_id: "ord-1".into(),
        items: vec![Item {
            name: "a".into(),
            qty: 1,
        }],
        limit: None,
        tags: None,
        weights: BTreeMap::new(),
        even: 2,
    }
}

fn decode<E: Event>(json: &Value) -> Vec<Issue> {
    match decode_event::<E>(&json.to_string()) {
        Ok(_) => Vec::new(),
        Err(e) => e.into_issues(),
    }
}

fn validate<E: Event>(ev: &E) -> Vec<Issue> {
    ev.validate()
        .map_or_else(ValidationErrors::into_issues, |()| Vec::new())
}

fn codes(issues: &[Issue]) -> Vec<(&str, &str)> {
    issues
        .iter()
        .map(|i| (i.path.as_str(), i.code.as_str()))
        .collect()
}

/// `value` as JSON with `key` set to `extra`.
fn json_with<E: serde::Serialize>(value: &E, key: &str, extra: Value) -> Value {
    let mut v = serde_json::to_value(value).unwrap();
    v[key] = extra;
    v
}

#[test]
fn the_issue_example_reports_all_four() {
    let got = decode::<AiTaskProgress>(
        &json!({"taskId": "", "stage": "thinking", "progress": 250, "eta": 3}),
    );
    assert_eq!(
        codes(&got),
        [
            ("taskId", "length"),
            ("stage", "type"),
            ("progress", "range"),
            ("eta", "unknown_field"),
        ]
    );
    // The constraint issues are exactly the ones `validate()` gives the same values.
    let rust = AiTaskProgress {
        task_id: String::new(),
        stage: Stage::Queued,
        progress: 250,
    };
    let want = validate(&rust);
    assert_eq!(codes(&want), [("taskId", "length"), ("progress", "range")]);
    assert_eq!(got[0], want[0]);
    assert_eq!(got[2], want[1]);
    assert_eq!(got[0].message, "must have at least 1 character");
    assert_eq!(got[2].message, "must be at most 100");
}

#[test]
fn a_value_of_the_wrong_type_is_not_measured() {
    // 300 is outside `u8`: a type issue, not also a range issue.
    let got = decode::<AiTaskProgress>(&json!({"taskId": 7, "stage": "queued", "progress": 300}));
    assert_eq!(codes(&got), [("taskId", "type"), ("progress", "type")]);
    // `1.0` counts as the integer 1 for the range too.
    let got = decode::<AiTaskProgress>(&json!({"taskId": "", "stage": 1, "progress": 101.0}));
    assert_eq!(
        codes(&got),
        [
            ("taskId", "length"),
            ("stage", "type"),
            ("progress", "range")
        ]
    );
}

#[test]
fn nested_constraints_beside_a_sibling_type_error() {
    let got = decode::<Order>(&json!({
        "orderId": "ord-1",
        "items": [{"name": "ok", "qty": 1}, {"name": "", "qty": "two"}, {"name": "x", "qty": 11}, {"name": "y", "qty": 1}],
        "weights": {},
        "even": 2,
    }));
    assert_eq!(
        codes(&got),
        [
            ("items[1].name", "length"),
            ("items[1].qty", "type"),
            ("items[2].qty", "range"),
            ("items", "length"),
        ]
    );
    let want = validate(&Order {
        items: vec![
            Item {
                name: "ok".into(),
                qty: 1,
            },
            Item {
                name: String::new(),
                qty: 1,
            },
            Item {
                name: "x".into(),
                qty: 11,
            },
            Item {
                name: "y".into(),
                qty: 1,
            },
        ],
        ..order()
    });
    assert_eq!(
        codes(&want),
        [
            ("items[1].name", "length"),
            ("items[2].qty", "range"),
            ("items", "length")
        ]
    );
    assert_eq!([&got[0], &got[2], &got[3]], [&want[0], &want[1], &want[2]]);
}

#[test]
fn option_values_are_checked_when_present() {
    let base = json!({"orderId": "ord-1", "items": [{"name": "a", "qty": 1}], "weights": {}, "even": 2, "x": 0});
    let mut v = base.clone();
    v["limit"] = json!(null);
    v["tags"] = json!(null);
    assert_eq!(codes(&decode::<Order>(&v)), [("x", "unknown_field")]);

    v["limit"] = json!(6);
    v["tags"] = json!(["ab", "c", "D1"]);
    let got = decode::<Order>(&v);
    assert_eq!(
        codes(&got),
        [
            ("limit", "range"),
            ("tags", "length"),
            ("tags[1]", "length"),
            ("tags[2]", "pattern"),
            ("x", "unknown_field"),
        ]
    );
    let want = validate(&Order {
        limit: Some(6),
        tags: Some(vec!["ab".into(), "c".into(), "D1".into()]),
        ..order()
    });
    assert_eq!(got[..4], want[..]);
}

#[test]
fn each_checks_well_typed_elements_only() {
    let got = decode::<Order>(&json!({
        "orderId": "ord-1", "items": [{"name": "a", "qty": 1}], "even": 2,
        "tags": ["ab", 3],
        "weights": {"a": 0, "b": "heavy", "c": 1.5, "d": 2},
    }));
    assert_eq!(
        codes(&got),
        [
            ("tags[1]", "type"),
            ("weights.b", "type"),
            ("weights.a", "range"),
            ("weights.d", "range"),
        ]
    );
    assert_eq!(got[2].message, "must be greater than 0");
    assert_eq!(got[3].message, "must be at most 1.5");
}

#[test]
fn custom_checks_need_the_whole_payload() {
    // With a shape issue there is no Rust value to pass to `is_even`…
    let odd = Order { even: 3, ..order() };
    let got = decode::<Order>(&json_with(&odd, "extra", json!(1)));
    assert_eq!(codes(&got), [("extra", "unknown_field")]);
    // …without one, it runs.
    let got = decode::<Order>(&serde_json::to_value(&odd).unwrap());
    assert_eq!(codes(&got), [("even", "custom")]);
    assert_eq!(got[0].message, "3 is odd");
}

/// Payloads that break only declarative constraints.
fn bad_orders() -> Vec<Order> {
    let mut weights = BTreeMap::new();
    weights.insert("a".to_owned(), 0.0);
    weights.insert("b".to_owned(), 1.5);
    weights.insert("odd key".to_owned(), 9.0);
    vec![
        Order {
            order_id: "nope".into(),
            ..order()
        },
        Order {
            order_id: "ord-12345678".into(),
            items: vec![],
            ..order()
        },
        Order {
            items: vec![
                Item {
                    name: "too long a name".into(),
                    qty: 0,
                };
                4
            ],
            limit: Some(200),
            ..order()
        },
        Order {
            tags: Some(vec!["x".into(), "Ab".into(), "ok".into()]),
            weights,
            ..order()
        },
    ]
}

#[test]
fn only_constraint_failures_give_exactly_what_validate_gives() {
    for ev in bad_orders() {
        let want = validate(&ev);
        assert!(!want.is_empty(), "{ev:?}");
        assert_eq!(
            decode::<Order>(&serde_json::to_value(&ev).unwrap()),
            want,
            "{ev:?}"
        );
    }
}

#[test]
fn with_a_shape_issue_too_the_constraint_issues_are_the_same() {
    for ev in bad_orders() {
        let mut want = validate(&ev);
        want.push(Issue::new(
            "zzz",
            continuum_runtime::IssueCode::UnknownField,
            "is not a field of this payload; expected one of `orderId`, `items`, `limit`, `tags`, `weights`, `even`",
        ));
        assert_eq!(
            decode::<Order>(&json_with(&ev, "zzz", json!(true))),
            want,
            "{ev:?}"
        );
    }
}

#[test]
fn a_well_formed_payload_still_decodes() {
    let v = serde_json::to_value(order()).unwrap();
    assert_eq!(decode_event::<Order>(&v.to_string()).unwrap(), order());
}

/// Payloads the fast path (serde straight from the text) refuses but the
/// schema accepts once normalized still decode, to the same value.
#[test]
fn normalized_payloads_decode_after_the_fast_path_refuses_them() {
    let want = AiTaskProgress {
        task_id: "t".into(),
        stage: Stage::Generating,
        progress: 7,
    };
    // A whole-number float for an integer (JSON Schema counts it as one).
    let float = r#"{"taskId": "t", "stage": "generating", "progress": 7.0}"#;
    assert_eq!(decode_event::<AiTaskProgress>(float).unwrap(), want);
    // A repeated key: the last one wins, as in `serde_json::Value`.
    let repeated = r#"{"taskId": "x", "taskId": "t", "stage": "generating", "progress": 7}"#;
    assert_eq!(decode_event::<AiTaskProgress>(repeated).unwrap(), want);
    // And the fast path's own refusal of a bad value is not the last word:
    // every issue is still reported.
    let bad = r#"{"taskId": "", "stage": "generating", "progress": 7.5}"#;
    assert_eq!(
        codes(
            &decode_event::<AiTaskProgress>(bad)
                .unwrap_err()
                .into_issues()
        ),
        [("taskId", "length"), ("progress", "type")]
    );
}

/// Readings of a sensor: `f32`s, which hold less than a JSON number can say.
#[continuum_event("test.decode.reading")]
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Any number that rounds to a finite `f32`.
    pub gain: f32,
    /// A range on an `f32`.
    #[event(range(min = -50, max = 60))]
    pub celsius: f32,
    /// `f32` elements.
    pub samples: Vec<f32>,
    /// An optional `f32`.
    pub offset: Option<f32>,
    /// A sibling with a constraint of its own.
    #[event(length(min = 1))]
    pub sensor: String,
}

fn reading() -> Value {
    json!({"gain": 1.5, "celsius": 20, "samples": [0.25], "offset": null, "sensor": "s1"})
}

/// `reading()` with `changes` applied.
fn reading_with(changes: &[(&str, Value)]) -> Value {
    let mut v = reading();
    for (k, x) in changes {
        v[*k] = x.clone();
    }
    v
}

const F32_RANGE: &str = "must be a number from -3.4028235e38 to 3.4028235e38";

#[test]
fn a_number_past_f32_is_a_type_issue_at_its_path() {
    for big in [json!(1e39), json!(-1e39), json!(3.5e38), json!(-1e300)] {
        for (field, value, path) in [
            ("gain", big.clone(), "gain"),
            ("celsius", big.clone(), "celsius"),
            ("samples", json!([1, big.clone()]), "samples[1]"),
            ("offset", big.clone(), "offset"),
        ] {
            let got = decode::<Reading>(&reading_with(&[(field, value)]));
            assert_eq!(codes(&got), [(path, "type")], "{field}: {big}");
            assert_eq!(got[0].message, F32_RANGE);
        }
    }
}

#[test]
fn a_number_past_f32_is_reported_beside_every_other_issue() {
    let got = decode::<Reading>(&json!({
        "gain": 1e39,
        "celsius": 1e39,
        "samples": [-2e39, 1, "x"],
        "offset": 4e38,
        "sensor": "",
        "extra": 1,
    }));
    // `celsius` is past `f32`: not also measured against its `range`.
    assert_eq!(
        codes(&got),
        [
            ("gain", "type"),
            ("celsius", "type"),
            ("samples[0]", "type"),
            ("samples[2]", "type"),
            ("offset", "type"),
            ("sensor", "length"),
            ("extra", "unknown_field"),
        ]
    );
    // A sibling `f32` within its type still has its `range` checked.
    let got = decode::<Reading>(&reading_with(&[
        ("gain", json!(1e39)),
        ("celsius", json!(61)),
    ]));
    assert_eq!(codes(&got), [("gain", "type"), ("celsius", "range")]);
    assert_eq!(got[1].message, "must be at most 60");
}

#[test]
fn numbers_that_round_to_a_finite_f32_are_taken() {
    // `3.4028235e38` is `f32::MAX` as serde_json writes it; `3.40282356e38`
    // lies past `f32::MAX` but still rounds down to it.
    for (text, want) in [
        ("3.4e38", 3.4e38_f32),
        ("3.4028235e38", f32::MAX),
        ("-3.4028235e38", f32::MIN),
        ("3.40282356e38", f32::MAX),
        ("1e-50", 0.0),
    ] {
        let json = format!(
            r#"{{"gain": {text}, "celsius": 0, "samples": [{text}], "offset": {text}, "sensor": "s"}}"#
        );
        let got = decode_event::<Reading>(&json).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(got.gain, want, "{text}");
        assert_eq!(got.samples, [want], "{text}");
        assert_eq!(got.offset, Some(want), "{text}");
    }
    // What the server publishes for an `f32` it takes back.
    let extreme = Reading {
        gain: f32::MAX,
        celsius: -50.0,
        samples: vec![f32::MIN, f32::MIN_POSITIVE],
        offset: Some(f32::MAX),
        sensor: "s".into(),
    };
    let text = serde_json::to_string(&extreme).unwrap();
    assert_eq!(decode_event::<Reading>(&text).unwrap(), extreme);
}

#[test]
fn an_f32_range_is_judged_on_the_rounded_value_on_both_paths() {
    // 60.000001 rounds to 60.0 as an `f32`: within `max = 60` for
    // `validate()` on the fast path…
    let near = reading_with(&[("celsius", json!(60.000_001))]);
    assert_eq!(codes(&decode::<Reading>(&near)), []);
    // …and for the constraint walk beside a shape issue.
    let mut with_extra = near.clone();
    with_extra["extra"] = json!(1);
    assert_eq!(
        codes(&decode::<Reading>(&with_extra)),
        [("extra", "unknown_field")]
    );
    // 60.0001 does not round to 60.0: out on both.
    let out = reading_with(&[("celsius", json!(60.0001)), ("extra", json!(1))]);
    assert_eq!(
        codes(&decode::<Reading>(&out)),
        [("celsius", "range"), ("extra", "unknown_field")]
    );
}

/// `POST /api/events` over TCP: a number past `f32` is a `422` naming it,
/// beside the payload's other issues, and nothing is published.
#[tokio::test]
async fn ingest_refuses_a_number_past_f32_with_every_issue() {
    use continuum_runtime::{Hub, Server};

    let hub = Hub::builder().build().expect("hub builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}{}",
        listener.local_addr().unwrap(),
        hub.config().path()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(Server::new(hub.clone()).run(listener, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let post = |data: Value| {
        client
            .post(&url)
            .json(&json!({"type": "test.decode.reading", "data": data}))
            .send()
    };

    for big in [1e39, -1e39] {
        let res = post(reading_with(&[
            ("gain", json!(big)),
            ("celsius", json!(61)),
            ("sensor", json!("")),
        ]))
        .await
        .unwrap();
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["issues"],
            json!([
                {"path": "data.gain", "code": "type", "message": F32_RANGE},
                {"path": "data.celsius", "code": "range", "message": "must be at most 60"},
                {"path": "data.sensor", "code": "length", "message": "must have at least 1 character"},
            ]),
            "{big}"
        );
    }
    assert_eq!(hub.metrics().events_published, 0);

    let res = post(reading_with(&[("gain", json!(3.4e38))]))
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    assert_eq!(hub.metrics().events_published, 1);

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
