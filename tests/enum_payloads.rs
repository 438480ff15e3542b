//! Enums with data and the new field types, end to end: validation paths,
//! what decoding reports (an unknown variant is one issue naming every
//! allowed one), and the TypeScript a front-end gets.

use std::collections::BTreeSet;

use continuum_runtime::decode::decode_event;
use continuum_runtime::prelude::*;
use continuum_runtime::typescript::typescript;
use continuum_runtime::Issue;
use serde_json::{json, Value};

/// Who runs a job.
#[derive(Payload, Debug, Clone, PartialEq)]
pub struct Runner {
    /// Its name.
    #[event(length(min = 1))]
    pub runner_name: String,
}

/// Where a job is.
#[derive(Payload, Debug, Clone, PartialEq)]
#[serde(tag = "kind")]
pub enum Stage {
    /// Waiting.
    Queued,
    /// Running: a newtype variant, its struct's fields beside the tag.
    Running(Runner),
    /// Gave up.
    Failed {
        /// Why.
        #[event(length(min = 1, max = 10))]
        reason: String,
        /// Retry after.
        retry_in_secs: Option<u32>,
    },
}

/// The outcome, externally tagged.
#[derive(Payload, Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Not yet.
    Pending,
    /// Scored.
    Score(#[event(range(max = 100))] u8),
    /// Failed.
    Error {
        /// Why.
        message: String,
    },
}

/// Progress, adjacently tagged.
#[derive(Payload, Debug, Clone, PartialEq)]
#[serde(tag = "type", content = "value", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Step {
    /// Not started.
    Idle,
    /// Running.
    Percent(#[event(range(max = 100))] u8),
    /// Finished.
    Done {
        /// How long.
        took_ms: u64,
    },
}

/// A job moved on.
#[continuum_event("jobs.stage.changed")]
#[derive(Debug, Clone, PartialEq)]
pub struct StageChanged {
    /// The job.
    #[event(length(min = 1))]
    pub job_id: String,
    /// Internally tagged.
    pub stage: Stage,
    /// Externally tagged.
    pub outcome: Outcome,
    /// Adjacently tagged.
    pub step: Step,
    /// A set.
    pub labels: BTreeSet<String>,
}

fn good() -> Value {
    json!({
        "jobId": "j1",
        "stage": { "kind": "failed", "reason": "oom" },
        "outcome": { "score": 7 },
        "step": { "type": "PERCENT", "value": 50 },
        "labels": ["a"],
    })
}

fn with(key: &str, v: Value) -> Value {
    let mut g = good();
    g[key] = v;
    g
}

fn issues(json: &Value) -> Vec<Issue> {
    decode_event::<StageChanged>(&json.to_string())
        .err()
        .map(continuum_runtime::ValidationErrors::into_issues)
        .unwrap_or_default()
}

fn found(issues: &[Issue]) -> Vec<(&str, &str)> {
    issues
        .iter()
        .map(|i| (i.path.as_str(), i.code.as_str()))
        .collect()
}

#[test]
fn a_good_payload_decodes_into_its_variants() {
    let ev = decode_event::<StageChanged>(&good().to_string()).unwrap();
    assert_eq!(
        ev.stage,
        Stage::Failed {
            reason: "oom".into(),
            retry_in_secs: None
        }
    );
    assert_eq!(ev.outcome, Outcome::Score(7));
    assert_eq!(ev.step, Step::Percent(50));
}

/// `StageChanged` gets Continuum's `Deserialize` (not serde's derive, see
/// bench/compile-cost): every representation reads back what `Serialize`
/// wrote, from text and from a `Value`, and a payload decoding refuses is
/// refused by it too.
#[test]
fn an_event_with_enums_deserializes_what_it_serializes() {
    let ev = decode_event::<StageChanged>(&good().to_string()).unwrap();
    let text = serde_json::to_string(&ev).unwrap();
    assert_eq!(serde_json::from_str::<StageChanged>(&text).unwrap(), ev);
    let value = serde_json::to_value(&ev).unwrap();
    assert_eq!(serde_json::from_value::<StageChanged>(value).unwrap(), ev);
    let bad = with("step", json!({ "type": "PERCENT", "value": "x" }));
    assert!(serde_json::from_value::<StageChanged>(bad).is_err());
    let bad = with("stage", json!({ "kind": "exploded" }));
    assert!(serde_json::from_value::<StageChanged>(bad).is_err());
}

#[test]
fn validation_recurses_into_the_active_variant_at_wire_paths() {
    let ev = StageChanged {
        job_id: "j".into(),
        stage: Stage::Failed {
            reason: String::new(),
            retry_in_secs: Some(3),
        },
        outcome: Outcome::Score(101),
        step: Step::Percent(101),
        labels: BTreeSet::new(),
    };
    let issues = ev.validate().unwrap_err().into_issues();
    assert_eq!(
        found(&issues),
        [
            ("stage.reason", "length"),
            ("outcome.score", "range"),
            ("step.value", "range")
        ]
    );
    assert_eq!(issues[0].message, "must have at least 1 character");
}

#[test]
fn an_unknown_variant_is_one_issue_naming_every_allowed_one() {
    let got = issues(&with("stage", json!({ "kind": "exploded", "reason": "x" })));
    assert_eq!(found(&got), [("stage.kind", "type")]);
    assert_eq!(
        got[0].message,
        r#"unknown variant "exploded"; expected one of "queued", "running", "failed""#
    );

    let got = issues(&with("outcome", json!({ "scor": 1 })));
    assert_eq!(found(&got), [("outcome", "type")]);
    assert_eq!(
        got[0].message,
        r#"unknown variant "scor"; expected one of "pending", "score", "error""#
    );

    let got = issues(&with("step", json!({ "type": "percent", "value": 1 })));
    assert_eq!(found(&got), [("step.type", "type")]);
    assert!(
        got[0].message.contains(r#""IDLE", "PERCENT", "DONE""#),
        "{}",
        got[0].message
    );

    let got = issues(&with("stage", json!({ "reason": "x" })));
    assert_eq!(found(&got), [("stage.kind", "required")]);
    assert!(got[0].message.contains(r#""queued", "running", "failed""#));
}

#[test]
fn an_internally_tagged_newtype_carries_its_fields_beside_the_tag() {
    let payload = with("stage", json!({ "kind": "running", "runnerName": "r1" }));
    let ev = decode_event::<StageChanged>(&payload.to_string()).unwrap();
    assert_eq!(
        ev.stage,
        Stage::Running(Runner {
            runner_name: "r1".into()
        })
    );
    assert_eq!(
        serde_json::to_value(&ev).unwrap()["stage"],
        json!({ "kind": "running", "runnerName": "r1" })
    );
    let got = issues(&with(
        "stage",
        json!({ "kind": "running", "runnerName": "", "x": 1 }),
    ));
    assert_eq!(
        found(&got),
        [("stage.runnerName", "length"), ("stage.x", "unknown_field")]
    );
    let ev = StageChanged {
        stage: Stage::Running(Runner {
            runner_name: String::new(),
        }),
        ..ev
    };
    assert_eq!(
        found(&ev.validate().unwrap_err().into_issues()),
        [("stage.runnerName", "length")]
    );
}

#[test]
fn a_known_variant_is_walked_with_every_issue_beside_the_others() {
    // Shape issues inside variants, and a constraint broken beside them.
    let mut payload = with(
        "stage",
        json!({ "kind": "failed", "reason": "", "extra": 1 }),
    );
    payload["outcome"] = json!({ "error": { "message": 3 } });
    payload["step"] = json!({ "type": "DONE" });
    payload["labels"] = json!(["a", "a"]);
    assert_eq!(
        found(&issues(&payload)),
        [
            ("stage.reason", "length"),
            ("stage.extra", "unknown_field"),
            ("outcome.error.message", "type"),
            ("step.value", "required"),
            ("labels[1]", "type"),
        ]
    );
    // Constraints only: decode reports what validate() reports.
    let payload = with("outcome", json!({ "score": 101 }));
    assert_eq!(found(&issues(&payload)), [("outcome.score", "range")]);
}

#[test]
fn typescript_gets_a_discriminated_union_per_representation() {
    let ts = typescript([StageChanged::schema()]);
    assert!(
        ts.contains("export type Stage =\n  | { kind: \"queued\" }\n  | { kind: \"running\" } & Runner\n  | { kind: \"failed\"; reason: string; retryInSecs?: number | null };"),
        "{ts}"
    );
    assert!(
        ts.contains("export type Outcome =\n  | \"pending\"\n  | { score: number }\n  | { error: { message: string } };"),
        "{ts}"
    );
    assert!(
        ts.contains("export type Step =\n  | { type: \"IDLE\" }\n  | { type: \"PERCENT\"; value: number }\n  | { type: \"DONE\"; value: { tookMs: number } };"),
        "{ts}"
    );
    assert!(ts.contains("  labels: string[];"), "{ts}");
    assert!(
        ts.contains("/**\n * Where a job is.\n */\nexport type Stage"),
        "{ts}"
    );
}

/// The new field types in TypeScript: strings for the formatted ones, a
/// tuple for a short array.
#[continuum_event("types.ts.demo")]
#[allow(missing_docs)] // Each field is its type.
pub struct TsTypes {
    pub id: uuid::Uuid,
    pub at: chrono::DateTime<chrono::Utc>,
    pub since: time::OffsetDateTime,
    pub link: url::Url,
    pub ip: std::net::IpAddr,
    pub rgb: [u8; 3],
    pub big: u128,
    pub name: std::borrow::Cow<'static, str>,
    pub shared: std::sync::Arc<Vec<Box<u8>>>,
}

#[test]
fn typescript_renders_the_new_types() {
    let ts = typescript([TsTypes::schema()]);
    for line in [
        "  id: string;",
        "  at: string;",
        "  since: string;",
        "  link: string;",
        "  ip: string;",
        "  rgb: [number, number, number];",
        "  big: number;",
        "  name: string;",
        "  shared: number[];",
    ] {
        assert!(ts.contains(line), "{line} in {ts}");
    }
}

/// The widest integers.
#[continuum_event("types.wide.ints")]
#[derive(Debug)]
pub struct Wide {
    /// Unsigned.
    pub big: u128,
    /// Signed.
    pub signed: i128,
    /// Something else to get wrong.
    #[event(length(min = 1))]
    pub name: String,
}

#[test]
fn integers_past_64_bits_decode_exactly_and_are_not_misreported() {
    let ok = decode_event::<Wide>(
        r#"{"big": 340282366920938463463374607431768211455, "signed": -170141183460469231731687303715884105728, "name": "a"}"#,
    )
    .unwrap();
    assert_eq!((ok.big, ok.signed), (u128::MAX, i128::MIN));
    // Beside another issue, a wide number within its type is not one.
    let err = decode_event::<Wide>(
        r#"{"big": 100000000000000000000000, "signed": -100000000000000000000000, "name": 5}"#,
    )
    .unwrap_err();
    assert_eq!(found(err.issues()), [("name", "type")]);
    // Past its type's bounds it is, with the bounds in the message.
    let err = decode_event::<Wide>(r#"{"big": -1, "signed": 1e40, "name": 5}"#).unwrap_err();
    assert_eq!(
        found(err.issues()),
        [("big", "type"), ("signed", "type"), ("name", "type")]
    );
    assert_eq!(
        err.issues()[0].message,
        "must be an integer from 0 to 340282366920938463463374607431768211455"
    );
}

/// Wide integers beside a field that sends decoding down its failure path
/// (the shape pass walks a `serde_json::Value`, which holds them as floats
/// unless marked, see `continuum-runtime/src/wide_ints.rs`).
#[continuum_event("types.wide.mixed")]
#[derive(Debug)]
pub struct WideMixed {
    /// Unsigned.
    pub big: u128,
    /// Signed.
    pub signed: i128,
    /// Bounded past 64 bits.
    #[event(range(max = 100000000000000000000))]
    pub capped: u128,
    /// A small integer, to be sent as `3.0`.
    pub count: u8,
    /// Something else to get wrong.
    pub name: String,
}

fn wide_mixed(big: &str, capped: &str, count: &str, name: &str) -> String {
    format!(
        r#"{{"big": {big}, "signed": -170141183460469231731687303715884105728, "capped": {capped}, "count": {count}, "name": {name}}}"#
    )
}

#[test]
fn integers_past_64_bits_stay_exact_on_the_failure_path() {
    const MAX: &str = "340282366920938463463374607431768211455";
    const CAP: &str = "100000000000000000000";
    // `3.0` is normalized to `3` by the shape pass; the wide values survive it.
    let ok = decode_event::<WideMixed>(&wide_mixed(MAX, CAP, "3.0", r#""a""#)).unwrap();
    assert_eq!(
        (ok.big, ok.signed, ok.capped, ok.count),
        (u128::MAX, i128::MIN, 10u128.pow(20), 3)
    );
    // Within their types, they are not issues beside another one.
    let err = decode_event::<WideMixed>(&wide_mixed(MAX, CAP, "3", "5")).unwrap_err();
    assert_eq!(found(err.issues()), [("name", "type")]);
    // One past a bound is, exactly (as floats, 2^128 and 10^20 + 1 would pass).
    let err = decode_event::<WideMixed>(&wide_mixed(
        "340282366920938463463374607431768211456",
        "100000000000000000001",
        "3",
        "5",
    ))
    .unwrap_err();
    assert_eq!(
        found(err.issues()),
        [("big", "type"), ("capped", "range"), ("name", "type")]
    );
    assert_eq!(
        err.issues()[1].message,
        "must be at most 100000000000000000000"
    );
    // The typed path agrees on the bound.
    let err = decode_event::<WideMixed>(&wide_mixed(MAX, "100000000000000000001", "3", r#""a""#))
        .unwrap_err();
    assert_eq!(found(err.issues()), [("capped", "range")]);
    // A wide number where a string belongs is a number there.
    let err = decode_event::<WideMixed>(&wide_mixed(MAX, CAP, "3", "123456789012345678901234"))
        .unwrap_err();
    assert_eq!(found(err.issues()), [("name", "type")]);
    assert_eq!(err.issues()[0].message, "expected a string, found a number");
    // A whole number in float notation is an integer, as `1.0` is: exactly.
    let ok = decode_event::<WideMixed>(&wide_mixed("1e21", "1.0e20", "3", r#""a""#)).unwrap();
    assert_eq!((ok.big, ok.capped), (10u128.pow(21), 10u128.pow(20)));
    let err =
        decode_event::<WideMixed>(&wide_mixed(MAX, "1.00000000000000000001e20", "3", r#""a""#))
            .unwrap_err();
    assert_eq!(found(err.issues()), [("capped", "range")]);
    // Marking never makes invalid JSON valid (a number where a key belongs).
    let err = decode_event::<WideMixed>(r#"{123456789012345678901234: 1}"#).unwrap_err();
    assert!(
        err.issues()[0].message.starts_with("invalid JSON"),
        "{err:?}"
    );
}
