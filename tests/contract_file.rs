//! The contract as a committed file (issue 18): deterministic text, a round
//! trip through `from_json`, clear errors, the runtime's vocabulary, and
//! `contract::check` in a project's `cargo test` — missing, fresh, stale,
//! breaking, `CONTINUUM_CONTRACT=update`, CI. `check_with` takes the options
//! explicitly, so these tests never set environment variables.
#![allow(missing_docs)]

use std::path::PathBuf;

use continuum_runtime::contract::{
    self, check_with, CheckError, CheckOptions, Checked, Contract, ContractError, Direction,
};
use continuum_runtime::{Event, Registry};
use serde_json::{json, Value};

mod v1 {
    use continuum_runtime::prelude::*;

    #[derive(Payload, Debug)]
    pub struct File {
        #[event(length(min = 1))]
        pub name: String,
    }

    /// Progress of one task.
    #[continuum_event("ai.task.progress")]
    pub struct Progress {
        #[event(range(max = 100))]
        pub progress: u8,
        pub files: Vec<File>,
        pub note: Option<String>,
    }

    #[continuum_event("system.cache.flushed")]
    pub struct Flushed;
}

mod v2 {
    use continuum_runtime::prelude::*;

    /// Compatible with `v1`: an optional field more.
    #[continuum_event("ai.task.progress")]
    pub struct Progress {
        #[event(range(max = 100))]
        pub progress: u8,
        pub files: Vec<super::v1::File>,
        pub note: Option<String>,
        pub eta: Option<u32>,
    }
}

mod v3 {
    use continuum_runtime::prelude::*;

    /// Breaks `v1` both ways: `progress` is gone.
    #[continuum_event("ai.task.progress")]
    pub struct Progress {
        pub files: Vec<super::v1::File>,
        pub note: Option<String>,
    }
}

fn registry<E: Event>() -> Registry {
    let mut registry = Registry::new();
    registry.register::<E>().unwrap();
    registry
}

fn both() -> Registry {
    let mut registry = registry::<v1::Progress>();
    registry.register::<v1::Flushed>().unwrap();
    registry
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir =
            std::env::temp_dir().join(format!("continuum-contract-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const LOCAL: CheckOptions = CheckOptions {
    update: false,
    ci: false,
};
const CI: CheckOptions = CheckOptions {
    update: false,
    ci: true,
};
const UPDATE: CheckOptions = CheckOptions {
    update: true,
    ci: false,
};

#[test]
fn the_text_is_deterministic_and_round_trips() {
    let contract = Contract::of(&both());
    let text = contract.to_json();
    assert_eq!(text, Contract::of(&both()).to_json());
    assert!(text.ends_with("}\n") && !text.ends_with("\n\n"));
    let back = Contract::from_json(&text).unwrap();
    assert_eq!(back, contract);
    assert_eq!(back.to_json(), text);
    assert_eq!(back.fingerprint(), contract.fingerprint());
    let fp = contract.fingerprint();
    assert_eq!(fp.len(), 16);
    assert!(fp
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_ne!(
        Contract::of(&registry::<v2::Progress>()).fingerprint(),
        Contract::of(&registry::<v1::Progress>()).fingerprint()
    );

    // Every object's keys are in sorted order in the text itself: each
    // key line is compared with the previous one at the same indent, inside
    // the same object (a line ending in `{`/`[` opens, `}`/`]` closes).
    let mut last: Vec<Option<String>> = vec![None];
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('}') || trimmed.starts_with(']') {
            last.pop();
        }
        if let Some(key) = trimmed
            .strip_prefix('"')
            .and_then(|k| k.split_once("\": "))
            .map(|(k, _)| k.to_owned())
        {
            let previous = last.last_mut().unwrap();
            if let Some(p) = previous.as_ref() {
                assert!(p < &key, "`{p}` before `{key}` in:\n{text}");
            }
            *previous = Some(key);
        }
        if trimmed.ends_with('{') || trimmed.ends_with('[') {
            last.push(None);
        }
    }
    assert_eq!(last.len(), 1);
}

#[test]
fn the_file_lists_versions_schemas_and_the_runtime_vocabulary() {
    let text = Contract::of(&both()).to_json();
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["continuum_contract"], 1);
    let progress = &doc["events"]["ai.task.progress"];
    assert_eq!(progress.as_array().unwrap().len(), 1);
    assert_eq!(progress[0]["version"], 1);
    let schema = &progress[0]["schema"];
    assert_eq!(schema["title"], "ai.task.progress");
    assert_eq!(schema["description"], "Progress of one task.");
    assert_eq!(
        schema["properties"]["progress"],
        json!({ "type": "integer", "minimum": 0, "maximum": 100, "x-continuum-type": "u8" })
    );
    assert_eq!(
        schema["$defs"]["File"]["properties"]["name"]["minLength"],
        1
    );
    assert!(doc["events"]["system.cache.flushed"][0]["schema"]["anyOf"].is_array());
    let runtime = &doc["runtime"];
    assert_eq!(runtime["envelope"]["required"], json!(["type"]));
    assert_eq!(runtime["reserved"], "continuum.*");
    assert_eq!(
        runtime["control"]["continuum.connected"]["required"],
        json!(["connectionId", "epoch"])
    );
    let reasons = &runtime["control"]["continuum.reset"]["properties"]["reason"]["enum"];
    assert_eq!(
        *reasons,
        json!([
            "contract",
            "evicted",
            "expired",
            "foreign_epoch",
            "lagged",
            "stream_lost",
            "unknown_id"
        ])
    );
}

#[test]
fn runtime_vocabulary_changes_are_judged_for_tolerant_readers() {
    let text = Contract::of(&Registry::new()).to_json();
    let mut doc: Value = serde_json::from_str(&text).unwrap();
    doc["runtime"]["control"]["continuum.reset"]["properties"]["reason"]["enum"]
        .as_array_mut()
        .unwrap()
        .push("moved".into());
    doc["runtime"]["control"]["continuum.hello"] = json!({ "type": "object" });
    let newer = Contract::from_json(&doc.to_string()).unwrap();
    let old = Contract::from_json(&text).unwrap();
    assert_eq!(
        contract::diff(&old, &newer).to_string(),
        "compatible continuum.hello type: control event added; readers ignore control events they do not know\n\
         compatible continuum.reset data.reason: `moved` added; readers treat a value they do not know as a reset, never an error\n"
    );
    // The envelope's optional `version` (event versions), added to a
    // contract written before it: compatible.
    let mut before_versions: Value = serde_json::from_str(&text).unwrap();
    before_versions["runtime"]["envelope"]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("version");
    let before_versions = Contract::from_json(&before_versions.to_string()).unwrap();
    assert_eq!(
        contract::diff(&before_versions, &old).to_string(),
        "compatible continuum envelope.version: optional envelope member `version` added; \
         old writers do not send it; the server never writes it into an event's frame\n"
    );
    doc["runtime"]["envelope"]["required"] = json!(["type", "data"]);
    let report = contract::diff(&old, &Contract::from_json(&doc.to_string()).unwrap());
    assert_eq!(report.changes()[0].direction(), Direction::Both);
    assert_eq!(report.changes()[0].path, "envelope");
}

#[test]
fn from_json_says_what_is_wrong() {
    match Contract::from_json("{\n  \"continuum_contract\": 1,\n") {
        Err(ContractError::Json { line, .. }) => assert_eq!(line, 3),
        other => panic!("{other:?}"),
    }
    let cases = [
        (
            "[]",
            "not a Continuum contract: the document is not a JSON object",
        ),
        (
            "{}",
            "not a Continuum contract: `continuum_contract` (the format version) is missing",
        ),
        (
            r#"{"continuum_contract": 1, "runtime": {}}"#,
            "not a Continuum contract: `events` is missing or not an object",
        ),
        (
            r#"{"continuum_contract": 1, "runtime": {}, "events": {"a.b": {}}}"#,
            "not a Continuum contract: event `a.b`: expected a list of {version, schema}",
        ),
        (
            r#"{"continuum_contract": 2}"#,
            "contract format 2 is not supported (this runtime reads format 1); upgrade continuum",
        ),
    ];
    for (text, says) in cases {
        assert_eq!(Contract::from_json(text).unwrap_err().to_string(), says);
    }
}

#[test]
fn a_missing_file_is_written_locally_and_fails_under_ci() {
    let dir = Dir::new("missing");
    let path = dir.0.join("sub/continuum.contract.json");
    match check_with(&path, &both(), CI) {
        Err(e @ CheckError::Missing(_)) => {
            assert!(e.to_string().contains("CI never writes it"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!path.exists());
    // Under CI even `update` does not write.
    assert!(matches!(
        check_with(
            &path,
            &both(),
            CheckOptions {
                update: true,
                ci: true
            }
        ),
        Err(CheckError::Missing(_))
    ));
    let created = check_with(&path, &both(), LOCAL).unwrap();
    assert_eq!(created, Checked::Created(path.clone()));
    assert!(created.to_string().contains("commit it"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        Contract::of(&both()).to_json()
    );
    assert_eq!(check_with(&path, &both(), CI).unwrap(), Checked::Fresh);
    // The environment's `check` agrees on a fresh file whatever CI is set to.
    assert_eq!(contract::check(&path, &both()).unwrap(), Checked::Fresh);
}

#[test]
fn a_compatible_change_passes_and_says_the_file_is_stale() {
    let dir = Dir::new("stale");
    let path = dir.0.join("continuum.contract.json");
    let old = Contract::of(&registry::<v1::Progress>()).to_json();
    std::fs::write(&path, &old).unwrap();
    for options in [LOCAL, CI] {
        let checked = check_with(&path, &registry::<v2::Progress>(), options).unwrap();
        let Checked::Stale(_, report) = &checked else {
            panic!("{checked:?}")
        };
        assert_eq!(
            report.to_string(),
            "compatible ai.task.progress data.eta: optional field added; old readers ignore it\n"
        );
        assert!(
            checked
                .to_string()
                .contains("CONTINUUM_CONTRACT=update cargo test"),
            "{checked}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            old,
            "a stale file is left alone"
        );
    }
}

#[test]
fn a_breaking_change_fails_with_the_report_until_updated() {
    let dir = Dir::new("breaking");
    let path = dir.0.join("continuum.contract.json");
    let old = Contract::of(&registry::<v1::Progress>()).to_json();
    std::fs::write(&path, &old).unwrap();
    let new = registry::<v3::Progress>();
    for options in [
        LOCAL,
        CI,
        CheckOptions {
            update: true,
            ci: true,
        },
    ] {
        let err = check_with(&path, &new, options).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("breaking both ai.task.progress data.progress: field removed; every old worker sends `progress` and would get 422 `unknown_field`; old readers require `progress`, which new events lack"),
            "{message}"
        );
        assert!(message.contains("CONTINUUM_CONTRACT=update"), "{message}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), old);
    }
    let updated = check_with(&path, &new, UPDATE).unwrap();
    let Checked::Updated(_, report) = &updated else {
        panic!("{updated:?}")
    };
    assert!(report.breaks(contract::Mode::Full));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        Contract::of(&new).to_json()
    );
    assert_eq!(check_with(&path, &new, CI).unwrap(), Checked::Fresh);
}

#[test]
fn an_unreadable_file_fails_unless_updating() {
    let dir = Dir::new("unreadable");
    let path = dir.0.join("continuum.contract.json");
    std::fs::write(&path, "<<<<<<< HEAD\n").unwrap();
    for options in [LOCAL, CI] {
        match check_with(&path, &both(), options) {
            Err(e @ CheckError::Unreadable(..)) => {
                assert!(e.to_string().contains("not valid JSON"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        check_with(&path, &both(), UPDATE),
        Ok(Checked::Updated(..))
    ));
    assert_eq!(check_with(&path, &both(), CI).unwrap(), Checked::Fresh);
}
