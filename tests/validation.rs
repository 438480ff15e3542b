//! Validation edge cases: every constraint just outside, on, and just inside
//! its bounds; nested paths in wire names; every issue collected; decoding
//! errors reported in the same shape.

use std::collections::BTreeMap;

use continuum_runtime::decode::decode_event;
use continuum_runtime::prelude::*;
use continuum_runtime::ValidationErrors;

/// Where a task is.
#[derive(Payload, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting.
    Queued,
    /// Running.
    Generating,
}

/// One line of an order.
#[derive(Payload, Debug, Clone, PartialEq)]
pub struct Line {
    /// The product's display name.
    #[event(length(min = 1))]
    pub display_name: String,
    /// How many.
    #[event(range(min = 1, max = 10))]
    pub qty: u32,
}

/// Every constraint on one event.
#[continuum_event("test.bounds")]
#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    /// Inclusive integer range.
    #[event(range(min = 10, max = 20))]
    pub level: u8,
    /// Negative bounds.
    #[event(range(min = -5, max = 5))]
    pub offset: i32,
    /// Exclusive float range.
    #[event(range(exclusive_min = 0, exclusive_max = 1))]
    pub ratio: f64,
    /// String length in characters.
    #[event(length(min = 2, max = 4))]
    pub short_code: String,
    /// Sequence length in items.
    #[event(length(min = 1, max = 2))]
    pub lines: Vec<Line>,
    /// Map length in entries; each value checked.
    #[event(length(max = 2), each(range(max = 9)))]
    pub scores: BTreeMap<String, u8>,
    /// A regex.
    #[event(pattern = "^gen-[0-9]+$")]
    pub task_id: String,
    /// Constraints on an `Option` apply to the `Some` value.
    #[event(length(max = 3))]
    pub maybe: Option<Vec<u8>>,
    /// An enum.
    pub stage: Stage,
}

fn valid() -> Bounds {
    Bounds {
        level: 10,
        offset: 0,
        ratio: 0.5,
        short_code: "ab".into(),
        lines: vec![Line {
            display_name: "x".into(),
            qty: 1,
        }],
        scores: BTreeMap::new(),
        task_id: "gen-1".into(),
        maybe: None,
        stage: Stage::Queued,
    }
}

/// `(path, code)` of every issue.
fn issues(r: Result<(), ValidationErrors>) -> Vec<(String, &'static str)> {
    match r {
        Ok(()) => Vec::new(),
        Err(e) => e
            .into_issues()
            .into_iter()
            .map(|i| (i.path, i.code.as_str()))
            .collect(),
    }
}

fn one(path: &str, code: &'static str) -> Vec<(String, &'static str)> {
    vec![(path.to_owned(), code)]
}

#[test]
fn valid_event_has_no_issues() {
    assert_eq!(valid().validate(), Ok(()));
}

#[test]
fn inclusive_integer_range() {
    for (level, ok) in [(9, false), (10, true), (20, true), (21, false)] {
        let ev = Bounds { level, ..valid() };
        let want = if ok { vec![] } else { one("level", "range") };
        assert_eq!(issues(ev.validate()), want, "level = {level}");
    }
}

#[test]
fn negative_bounds() {
    for (offset, ok) in [(-6, false), (-5, true), (5, true), (6, false)] {
        let ev = Bounds { offset, ..valid() };
        let want = if ok { vec![] } else { one("offset", "range") };
        assert_eq!(issues(ev.validate()), want, "offset = {offset}");
    }
}

#[test]
fn exclusive_float_range() {
    for (ratio, ok) in [
        (-0.1, false),
        (0.0, false),
        (0.0001, true),
        (0.9999, true),
        (1.0, false),
        (1.1, false),
    ] {
        let ev = Bounds { ratio, ..valid() };
        let want = if ok { vec![] } else { one("ratio", "range") };
        assert_eq!(issues(ev.validate()), want, "ratio = {ratio}");
    }
}

#[test]
fn non_finite_floats_are_rejected() {
    let ev = Bounds {
        ratio: f64::NAN,
        ..valid()
    };
    let got = issues(ev.validate());
    assert!(got.contains(&("ratio".to_owned(), "type")), "{got:?}");
}

#[test]
fn range_messages_name_the_bound() {
    let e = Bounds {
        level: 21,
        ratio: 0.0,
        ..valid()
    }
    .validate()
    .unwrap_err();
    let messages: Vec<&str> = e.issues().iter().map(|i| &*i.message).collect();
    assert_eq!(messages, ["must be at most 20", "must be greater than 0"]);
}

#[test]
fn string_length_counts_characters() {
    for (code, ok) in [
        ("a", false),
        ("ab", true),
        ("abcd", true),
        ("abcde", false),
        ("éé", true),
        ("ééééé", false),
    ] {
        let ev = Bounds {
            short_code: code.into(),
            ..valid()
        };
        let want = if ok {
            vec![]
        } else {
            one("shortCode", "length")
        };
        assert_eq!(issues(ev.validate()), want, "shortCode = {code:?}");
    }
}

#[test]
fn sequence_length_counts_items() {
    let line = Line {
        display_name: "x".into(),
        qty: 1,
    };
    for (n, ok) in [(0, false), (1, true), (2, true), (3, false)] {
        let ev = Bounds {
            lines: vec![line.clone(); n],
            ..valid()
        };
        let want = if ok { vec![] } else { one("lines", "length") };
        assert_eq!(issues(ev.validate()), want, "{n} lines");
    }
}

#[test]
fn map_length_and_each_value() {
    let scores = BTreeMap::from([
        ("a".to_owned(), 9),
        ("b".to_owned(), 10),
        ("odd key".to_owned(), 11),
    ]);
    let ev = Bounds { scores, ..valid() };
    assert_eq!(
        issues(ev.validate()),
        [
            ("scores".to_owned(), "length"),
            ("scores.b".to_owned(), "range"),
            ("scores[\"odd key\"]".to_owned(), "range")
        ]
    );
}

#[test]
fn pattern() {
    for (id, ok) in [
        ("gen-1", true),
        ("gen-", false),
        ("xgen-1", false),
        ("gen-12a", false),
    ] {
        let ev = Bounds {
            task_id: id.into(),
            ..valid()
        };
        let want = if ok { vec![] } else { one("taskId", "pattern") };
        assert_eq!(issues(ev.validate()), want, "taskId = {id:?}");
    }
}

#[test]
fn option_constraints_apply_to_some() {
    for (maybe, ok) in [
        (None, true),
        (Some(vec![]), true),
        (Some(vec![1, 2, 3]), true),
        (Some(vec![1, 2, 3, 4]), false),
    ] {
        let ev = Bounds {
            maybe: maybe.clone(),
            ..valid()
        };
        let want = if ok { vec![] } else { one("maybe", "length") };
        assert_eq!(issues(ev.validate()), want, "maybe = {maybe:?}");
    }
}

#[test]
fn nested_paths_use_wire_names() {
    let lines = vec![
        Line {
            display_name: "a".into(),
            qty: 1,
        },
        Line {
            display_name: "b".into(),
            qty: 0,
        },
    ];
    let ev = Bounds { lines, ..valid() };
    assert_eq!(issues(ev.validate()), one("lines[1].qty", "range"));
    let lines = vec![Line {
        display_name: String::new(),
        qty: 11,
    }];
    let ev = Bounds { lines, ..valid() };
    assert_eq!(
        issues(ev.validate()),
        [
            ("lines[0].displayName".to_owned(), "length"),
            ("lines[0].qty".to_owned(), "range")
        ]
    );
}

#[test]
fn every_issue_is_collected() {
    let ev = Bounds {
        level: 0,
        offset: 100,
        ratio: 2.0,
        short_code: String::new(),
        lines: vec![],
        scores: BTreeMap::from([("k".to_owned(), 50)]),
        task_id: "nope".into(),
        maybe: Some(vec![0; 9]),
        stage: Stage::Generating,
    };
    let got: Vec<String> = issues(ev.validate())
        .into_iter()
        .map(|(p, c)| format!("{p}:{c}"))
        .collect();
    assert_eq!(
        got,
        [
            "level:range",
            "offset:range",
            "ratio:range",
            "shortCode:length",
            "lines:length",
            "scores.k:range",
            "taskId:pattern",
            "maybe:length"
        ]
    );
}

#[test]
fn issues_serialize_as_a_json_array() {
    let e = Bounds {
        level: 21,
        ..valid()
    }
    .validate()
    .unwrap_err();
    assert_eq!(
        serde_json::to_value(e.prefixed("data")).unwrap(),
        serde_json::json!([{ "path": "data.level", "code": "range", "message": "must be at most 20" }])
    );
}

fn decode_issues(json: &str) -> Vec<(String, &'static str)> {
    match decode_event::<Bounds>(json) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .into_issues()
            .into_iter()
            .map(|i| (i.path, i.code.as_str()))
            .collect(),
    }
}

const VALID_JSON: &str = r#"{"level":10,"offset":0,"ratio":0.5,"shortCode":"ab","lines":[{"displayName":"x","qty":1}],
    "scores":{},"taskId":"gen-1","stage":"queued"}"#;

fn with(field: &str, value: serde_json::Value) -> String {
    let mut v: serde_json::Value = serde_json::from_str(VALID_JSON).unwrap();
    if value.is_null() && field.starts_with('-') {
        v.as_object_mut().unwrap().remove(&field[1..]);
    } else {
        v[field] = value;
    }
    v.to_string()
}

#[test]
fn decode_valid_json() {
    let ev = decode_event::<Bounds>(VALID_JSON).unwrap();
    assert_eq!(ev, valid());
}

#[test]
fn decode_reports_structural_issues_with_paths() {
    use serde_json::json;
    assert_eq!(
        decode_issues(&with("level", json!("ten"))),
        one("level", "type")
    );
    assert_eq!(
        decode_issues(&with("level", json!(300))),
        one("level", "type")
    );
    assert_eq!(
        decode_issues(&with("level", json!(1.5))),
        one("level", "type")
    );
    assert_eq!(
        decode_issues(&with("level", json!(null))),
        one("level", "type")
    );
    assert_eq!(
        decode_issues(&with("-level", json!(null))),
        one("level", "required")
    );
    assert_eq!(
        decode_issues(&with("stage", json!("Queued"))),
        one("stage", "type")
    );
    assert_eq!(
        decode_issues(&with("extraField", json!(1))),
        one("extraField", "unknown_field")
    );
    assert_eq!(
        decode_issues(&with(
            "lines",
            json!([{"displayName": "x", "qty": 1}, {"qty": "2", "colour": "red"}])
        )),
        [
            ("lines[1].displayName".to_owned(), "required"),
            ("lines[1].qty".to_owned(), "type"),
            ("lines[1].colour".to_owned(), "unknown_field"),
        ]
    );
    assert_eq!(
        decode_issues(&with("scores", json!({"odd key": -1}))),
        one("scores[\"odd key\"]", "type")
    );
    assert_eq!(decode_issues("[1]"), one("", "type"));
    assert_eq!(decode_issues("{"), one("", "type"));
}

#[test]
fn decode_collects_every_structural_issue() {
    let got = decode_issues(
        r#"{"level":"x","offset":1.5,"shortCode":3,"lines":{},"taskId":"gen-1","stage":"queued","x":1}"#,
    );
    assert_eq!(
        got,
        [
            ("level".to_owned(), "type"),
            ("offset".to_owned(), "type"),
            ("ratio".to_owned(), "required"),
            ("shortCode".to_owned(), "type"),
            ("lines".to_owned(), "type"),
            ("scores".to_owned(), "required"),
            ("x".to_owned(), "unknown_field"),
        ]
    );
}

#[test]
fn decode_then_validates() {
    use serde_json::json;
    assert_eq!(
        decode_issues(&with("level", json!(21))),
        one("level", "range")
    );
    assert_eq!(
        decode_issues(&with("lines", json!([{"displayName": "", "qty": 11}]))),
        [
            ("lines[0].displayName".to_owned(), "length"),
            ("lines[0].qty".to_owned(), "range")
        ]
    );
    // Optional fields may be absent or null.
    assert_eq!(decode_issues(&with("maybe", json!(null))), vec![]);
    assert_eq!(
        decode_issues(&with("maybe", json!([1, 2, 3, 4]))),
        one("maybe", "length")
    );
}

/// Unknown fields are accepted when the event opts out.
#[continuum_event("test.lenient", deny_unknown_fields = false)]
#[derive(Debug)]
pub struct Lenient {
    /// A value.
    pub value: u8,
}

#[test]
fn unknown_fields_opt_out() {
    let ev = decode_event::<Lenient>(r#"{"value":1,"other":true}"#).unwrap();
    assert_eq!(ev.value, 1);
    assert!(!Lenient::schema().payload.unwrap().deny_unknown_fields);
}
