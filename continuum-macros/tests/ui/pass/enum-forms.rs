//! Every enum form `#[derive(Payload)]` takes, each validated at its wire
//! paths and written as serde writes it.

use continuum_runtime::prelude::*;
use serde_json::json;

/// serde's default: externally tagged.
#[derive(Payload, Debug, Clone, PartialEq)]
pub enum External {
    Queued,
    Retrying(#[event(range(max = 5))] u8),
    Failed {
        #[event(length(min = 1))]
        reason: String,
        error_code: u16,
    },
}

#[derive(Payload, Debug, Clone, PartialEq)]
pub struct Started {
    #[event(length(min = 1))]
    pub worker_id: String,
}

/// Internally tagged, with renames on the enum and on one variant.
#[derive(Payload, Debug, Clone, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Internal {
    Queued,
    Started(Box<Started>),
    #[serde(rename_all = "snake_case")]
    TimedOut {
        #[event(range(min = 1))]
        after_secs: u32,
    },
    Failed {
        #[event(length(min = 1))]
        reason: String,
    },
}

/// Adjacently tagged.
#[derive(Payload, Debug, Clone, PartialEq)]
#[serde(tag = "t", content = "c")]
pub enum Adjacent {
    Queued,
    Progress(#[event(range(max = 100))] u8),
    Failed {
        #[event(length(min = 1))]
        reason: String,
    },
}

/// Unit variants behind a tag: objects, not strings.
#[derive(Payload, Debug, Clone, Copy, PartialEq)]
#[serde(tag = "state")]
pub enum Light {
    On,
    Off,
}

#[continuum_event("jobs.stage.changed")]
#[derive(Debug, Clone, PartialEq)]
pub struct StageChanged {
    pub external: External,
    pub internal: Internal,
    pub adjacent: Adjacent,
    pub light: Light,
    pub history: Vec<Internal>,
}

fn main() {
    let ev = StageChanged {
        external: External::Failed { reason: String::new(), error_code: 7 },
        internal: Internal::TimedOut { after_secs: 0 },
        adjacent: Adjacent::Progress(101),
        light: Light::On,
        history: vec![
            Internal::Queued,
            Internal::Failed { reason: String::new() },
            Internal::Started(Box::new(Started { worker_id: String::new() })),
        ],
    };
    let paths: Vec<String> = ev.validate().unwrap_err().into_issues().into_iter().map(|i| i.path).collect();
    assert_eq!(paths, ["external.failed.reason", "internal.after_secs", "adjacent.c", "history[1].reason", "history[2].workerId"]);

    assert_eq!(
        serde_json::to_value(&ev).unwrap(),
        json!({
            // Variant names are camelCase by default, like field names.
            "external": { "failed": { "reason": "", "errorCode": 7 } },
            "internal": { "kind": "timed_out", "after_secs": 0 },
            "adjacent": { "t": "progress", "c": 101 },
            "light": { "state": "on" },
            "history": [
                { "kind": "queued" },
                { "kind": "failed", "reason": "" },
                { "kind": "started", "workerId": "" },
            ],
        })
    );
    let ok = StageChanged {
        external: External::Retrying(2),
        internal: Internal::Queued,
        adjacent: Adjacent::Queued,
        light: Light::Off,
        history: vec![],
    };
    assert!(ok.validate().is_ok());
    let text = serde_json::to_string(&ok).unwrap();
    assert_eq!(serde_json::from_str::<StageChanged>(&text).unwrap(), ok);
}
