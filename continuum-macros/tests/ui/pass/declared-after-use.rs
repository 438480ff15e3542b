//! Payload types declared after the event that uses them: their fields are
//! read and written through `Payload` (the macro has not seen them derive it
//! yet), which must behave exactly like serde's own way.

use std::collections::HashMap;

use continuum_runtime::decode::decode_event;
use continuum_runtime::prelude::*;
use serde_json::json;

#[continuum_event("late.types.demo")]
#[derive(Debug, PartialEq)]
pub struct Late {
    pub stage: Stage,
    pub maybe: Option<Item>,
    pub items: Vec<Item>,
    pub by_key: HashMap<String, Item>,
    pub boxed: Box<Item>,
}

#[derive(Payload, Debug, Clone, PartialEq)]
#[serde(tag = "kind")]
pub enum Stage {
    Queued,
    Failed {
        #[event(length(min = 1))]
        reason: String,
    },
}

#[derive(Payload, Debug, Clone, PartialEq)]
pub struct Item {
    #[event(range(max = 9))]
    pub qty_left: u8,
}

fn main() {
    // A missing `Option` is `None`, as serde would have it.
    let text = json!({
        "stage": { "kind": "failed", "reason": "" },
        "items": [{ "qtyLeft": 10 }],
        "byKey": { "a": { "qtyLeft": 1 } },
        "boxed": { "qtyLeft": 2 },
    })
    .to_string();
    let issues = decode_event::<Late>(&text).unwrap_err().into_issues();
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["stage.reason", "items[0].qtyLeft"]);

    let ev = Late {
        stage: Stage::Queued,
        maybe: None,
        items: vec![Item { qty_left: 1 }],
        by_key: HashMap::new(),
        boxed: Box::new(Item { qty_left: 3 }),
    };
    let written = serde_json::to_value(&ev).unwrap();
    assert_eq!(
        written,
        json!({ "stage": { "kind": "queued" }, "maybe": null, "items": [{ "qtyLeft": 1 }], "byKey": {}, "boxed": { "qtyLeft": 3 } })
    );
    assert_eq!(decode_event::<Late>(&written.to_string()).unwrap(), ev);
    // Unknown fields are still refused inside routed values.
    let bad = json!({ "stage": { "kind": "queued" }, "maybe": { "qtyLeft": 1, "x": 1 }, "items": [], "byKey": {}, "boxed": { "qtyLeft": 1 } });
    let issues = decode_event::<Late>(&bad.to_string()).unwrap_err().into_issues();
    assert_eq!(issues[0].path, "maybe.x");
}
