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
