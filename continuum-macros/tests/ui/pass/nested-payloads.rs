use std::collections::{BTreeMap, HashMap};

use continuum_runtime::prelude::*;

/// Where a task is.
#[derive(Payload, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Queued,
    Prompting,
    Generating,
    Done,
}

#[derive(Payload, Debug, Clone)]
pub struct Attachment {
    #[event(length(min = 1))]
    pub file_name: String,
    #[event(range(max = 1_000_000))]
    pub size_bytes: u64,
}

#[continuum_event("media.batch.ready")]
pub struct BatchReady {
    pub stage: Stage,
    #[event(length(max = 3))]
    pub attachments: Vec<Attachment>,
    pub by_owner: HashMap<String, Vec<Attachment>>,
    pub meta: BTreeMap<String, serde_json::Value>,
    pub cover: Option<Box<Attachment>>,
    pub done: bool,
}

fn main() {
    let json = r#"{"stage":"generating","attachments":[{"fileName":"a.png","sizeBytes":2}],
        "byOwner":{"ann":[{"fileName":"","sizeBytes":2000000}]},"meta":{"k":[1,2]},"cover":null,"done":false}"#;
    let ev: BatchReady = serde_json::from_str(json).unwrap();
    assert_eq!(ev.stage, Stage::Generating);
    let issues = ev.validate().unwrap_err();
    let paths: Vec<&str> = issues.issues().iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["byOwner.ann[0].fileName", "byOwner.ann[0].sizeBytes"]);
    assert_eq!(serde_json::to_string(&Stage::Queued).unwrap(), r#""queued""#);
}
