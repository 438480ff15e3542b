//! Versions on one node (in memory): ingest takes every declared version —
//! named by the envelope's `version`, or recognised by shape, newest first —
//! and publishes the newest; a typed emit of an older version is upcast; a
//! subscriber whose contract differs gets `continuum.reset` (`contract`) for
//! the types whose version it does not read; the registry and the contract
//! list every version.

mod http_support;
mod versions_support;

use continuum_runtime::contract::{self, Contract, Mode};
use continuum_runtime::{Hub, RegistryError};
use http_support::*;
use serde_json::{json, Value};
use versions_support::*;

async fn new_node() -> TestServer {
    start(Hub::builder().with_registry(new_build())).await
}

fn data(e: &eventsource_stream::Event) -> Value {
    let body = envelope(e);
    assert_eq!(body["type"], e.event.as_str());
    body["data"].clone()
}

#[tokio::test]
async fn ingest_takes_every_version_and_publishes_the_newest() {
    let server = new_node().await;
    let mut sub = subscribe(&server.url, &[]).await;
    let bodies = [
        // An old worker: version 1's shape, no version.
        v1_body("a", 25),
        // A new worker: version 2's shape, no version.
        r#"{"type":"ai.task.progress","data":{"taskId":"b","fraction":0.5}}"#.to_owned(),
        // Named versions.
        r#"{"type":"ai.task.progress","version":1,"data":{"taskId":"c","percent":75}}"#.to_owned(),
        r#"{"type":"ai.task.progress","version":2,"data":{"taskId":"d","fraction":1.0}}"#
            .to_owned(),
    ];
    for body in &bodies {
        let a = post(&server.url, body, &[]).await;
        assert_eq!(a.status.as_u16(), 202, "{body}: {:?}", a.json);
    }
    let mut got = Vec::new();
    for _ in 0..bodies.len() {
        got.push(data(&sub.next().await));
    }
    assert_eq!(
        got,
        [
            json!({"taskId": "a", "fraction": 0.25}),
            json!({"taskId": "b", "fraction": 0.5}),
            json!({"taskId": "c", "fraction": 0.75}),
            json!({"taskId": "d", "fraction": 1.0}),
        ]
    );
    // In-process typed subscribers get the newest type, upcast values included.
    let mut typed = server.hub.subscribe::<ProgressV2>();
    post(&server.url, &v1_body("e", 10), &[]).await;
    assert_eq!(
        *guarded("typed", typed.recv()).await.unwrap(),
        ProgressV2 {
            task_id: "e".into(),
            fraction: 0.1
        }
    );
}

#[tokio::test]
async fn a_payload_no_version_takes_gets_the_newest_versions_issues() {
    let server = new_node().await;
    // Neither version: the issues are the newest version's.
    let a = post(
        &server.url,
        r#"{"type":"ai.task.progress","data":{"taskId":"x","percent":250}}"#,
        &[],
    )
    .await;
    assert_eq!(error_code(&a, 422), "invalid_event");
    assert_eq!(
        issues(&a),
        [
            ("data.fraction".to_owned(), "required".to_owned()),
            ("data.percent".to_owned(), "unknown_field".to_owned()),
        ]
    );
    // A named version is decoded as that version only, with its issues.
    let a = post(
        &server.url,
        r#"{"type":"ai.task.progress","version":1,"data":{"taskId":"x","fraction":0.5}}"#,
        &[],
    )
    .await;
    assert_eq!(
        issues(&a),
        [
            ("data.percent".to_owned(), "required".to_owned()),
            ("data.fraction".to_owned(), "unknown_field".to_owned()),
        ]
    );
    // Version 1's constraints hold for version-1 payloads.
    let a = post(&server.url, &v1_body("x", 101), &[]).await;
    assert_eq!(error_code(&a, 422), "invalid_event");
    // A version the server does not know, and a version that is no version.
    let a = post(
        &server.url,
        r#"{"type":"ai.task.progress","version":3,"data":{"taskId":"x","fraction":0.5}}"#,
        &[],
    )
    .await;
    assert_eq!(
        issues(&a),
        [("version".to_owned(), "unknown_version".to_owned())]
    );
    assert!(a.json["issues"][0]["message"]
        .as_str()
        .unwrap()
        .contains("versions 1 to 2"));
    let a = post(
        &server.url,
        r#"{"type":"app.marker","version":0,"data":{"n":1}}"#,
        &[],
    )
    .await;
    assert_eq!(issues(&a), [("version".to_owned(), "type".to_owned())]);
    // A single-version type named at version 1 is fine; at 2 it is not.
    let ok = post(
        &server.url,
        r#"{"type":"app.marker","version":1,"data":{"n":1}}"#,
        &[],
    )
    .await;
    assert_eq!(ok.status.as_u16(), 202);
    let a = post(
        &server.url,
        r#"{"type":"app.marker","version":2,"data":{"n":1}}"#,
        &[],
    )
    .await;
    assert_eq!(
        issues(&a),
        [("version".to_owned(), "unknown_version".to_owned())]
    );
}

#[tokio::test]
async fn a_typed_emit_of_an_older_version_is_published_as_the_newest() {
    let hub = Hub::builder().with_registry(new_build()).build().unwrap();
    let mut typed = hub.subscribe::<ProgressV2>();
    hub.emit(ProgressV1 {
        task_id: "t".into(),
        percent: 50,
    })
    .await
    .unwrap();
    assert_eq!(
        *typed.recv().await.unwrap(),
        ProgressV2 {
            task_id: "t".into(),
            fraction: 0.5
        }
    );
    // Validation is the declaration's own, before the upcast.
    let err = hub
        .emit(ProgressV1 {
            task_id: "t".into(),
            percent: 101,
        })
        .await
        .unwrap_err();
    assert!(err.is_invalid(), "{err}");
}

#[tokio::test]
async fn a_client_whose_contract_differs_gets_a_contract_reset_for_what_it_cannot_read() {
    let server = new_node().await;
    let new_fingerprint = fingerprint(&new_build());
    let old_fingerprint = fingerprint(&old_build());
    let url = |query: &str| format!("{}?{query}", server.url);

    // The server's own contract, or no contract at all: nothing checked.
    let mut same = subscribe(&url(&format!("contract={new_fingerprint}")), &[]).await;
    let mut unsaid = subscribe(&server.url, &[]).await;
    // An old client: version 1 of `ai.task.progress` (unlisted), the marker
    // the same in both.
    let mut old_client = subscribe(&url(&format!("contract={old_fingerprint}")), &[]).await;
    // An old client that subscribes to the marker only: nothing to reset.
    let mut markers_only = subscribe(
        &url(&format!("contract={old_fingerprint}&types=app.marker")),
        &[],
    )
    .await;
    // A client of another build that reads version 2 of the event.
    let mut reads_v2 = subscribe(
        &url(&format!(
            "contract={old_fingerprint}&versions=ai.task.progress%402"
        )),
        &[],
    )
    .await;

    let reset = old_client.next().await;
    assert_eq!(reset.event, "continuum.reset");
    assert_eq!(
        envelope(&reset),
        json!({"reason": "contract", "types": ["ai.task.progress"]})
    );
    post(&server.url, &v1_body("t", 20), &[]).await;
    post(&server.url, &marker_body(7), &[]).await;
    for sub in [&mut same, &mut unsaid, &mut reads_v2] {
        let got = sub.next().await;
        assert_eq!(got.event, "ai.task.progress");
        assert_eq!(data(&got), json!({"taskId": "t", "fraction": 0.2}));
        assert_eq!(sub.next().await.event, "app.marker");
    }
    // Never the event it cannot read: the marker comes next.
    for sub in [&mut old_client, &mut markers_only] {
        let got = sub.next().await;
        assert_eq!(got.event, "app.marker", "{got:?}");
    }
    assert!(server.hub.metrics().resets >= 1);
}

#[tokio::test]
async fn a_malformed_versions_query_is_400() {
    let server = new_node().await;
    let a = answer(client().get(format!(
        "{}?contract=0123456789abcdef&versions=ai.task.progress",
        server.url
    )))
    .await;
    assert_eq!(error_code(&a, 400), "invalid_versions");
    assert_eq!(a.json["item"], "ai.task.progress");
}

#[test]
fn the_registry_and_the_contract_hold_every_version() {
    let registry = new_build();
    assert_eq!(registry.len(), 2, "types, not versions");
    assert_eq!(
        registry.get("ai.task.progress").unwrap().version,
        2,
        "the newest"
    );
    let versions: Vec<u32> = registry
        .versions("ai.task.progress")
        .map(|r| r.version)
        .collect();
    assert_eq!(versions, [1, 2]);
    assert!(registry.has_versions() && !old_build().has_versions());

    let contract = Contract::of(&registry);
    let listed: Vec<u64> = contract
        .versions("ai.task.progress")
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(listed, [1, 2]);
    assert_eq!(Contract::from_json(&contract.to_json()).unwrap(), contract);
    let v1 = &contract.versions("ai.task.progress").unwrap()[0].schema;
    assert!(v1["properties"]["percent"].is_object());

    // The intended break, as `continuum contract diff` prints it.
    let report = contract::diff(&Contract::of(&old_build()), &contract);
    assert!(!report.breaks(Mode::Full), "{report}");
    assert_eq!(
        report.to_string(),
        "compatible ai.task.progress type: new version 2 with an upcast from version 1; \
         old workers' version-1 events are accepted and upcast to version 2; \
         old readers get continuum.reset (contract) instead of version 2\n"
    );
    // Going back (version 2 dropped) breaks stored events and new workers.
    let back = contract::diff(&contract, &Contract::of(&old_build()));
    assert!(
        back.breaks(Mode::Backward) && !back.breaks(Mode::Forward),
        "{back}"
    );
    assert!(back
        .to_string()
        .starts_with("breaking backward ai.task.progress type: version 2 removed"));
    // The same break without a version: caught.
    let mut unversioned = continuum_runtime::Registry::new();
    unversioned.register::<ProgressV2Alone>().unwrap();
    unversioned.register::<Marker>().unwrap();
    let report = contract::diff(&Contract::of(&old_build()), &Contract::of(&unversioned));
    assert!(
        report.breaks(Mode::Backward) && report.breaks(Mode::Forward),
        "{report}"
    );
}

#[test]
fn a_kept_version_that_changes_is_judged_for_old_writers() {
    let mut edited = continuum_runtime::Registry::new();
    edited.register::<edited::ProgressV2>().unwrap();
    let report = contract::diff(&Contract::of(&new_build()), &Contract::of(&edited));
    assert!(report.breaks(Mode::Backward), "{report}");
    assert!(!report.breaks(Mode::Forward), "{report}");
    assert!(
        report
            .to_string()
            .contains("breaking backward ai.task.progress@1 data.percent:"),
        "{report}"
    );
}

#[test]
fn two_declarations_of_one_version_are_refused() {
    let mut registry = new_build();
    let err = registry.register::<OtherV1>().unwrap_err();
    let RegistryError::DuplicateType { type_name, .. } = &err;
    assert_eq!(*type_name, "ai.task.progress");
    assert!(err.to_string().contains("OtherV1"), "{err}");
}

/// Version 2's shape with no version: the same break, unversioned.
#[continuum_runtime::continuum_event("ai.task.progress")]
pub struct ProgressV2Alone {
    /// The task.
    pub task_id: String,
    /// Done.
    pub fraction: f64,
}

/// A second version 1.
#[continuum_runtime::continuum_event("ai.task.progress")]
pub struct OtherV1 {
    /// The task.
    pub task_id: String,
}

mod edited {
    use continuum_runtime::prelude::*;

    /// Version 1 kept, but narrowed: old writers' 100s are refused.
    #[continuum_event("ai.task.progress")]
    pub struct ProgressV1 {
        pub task_id: String,
        #[event(range(max = 50))]
        pub percent: u8,
    }

    #[continuum_event("ai.task.progress", version = 2, upcast_from = ProgressV1)]
    pub struct ProgressV2 {
        pub task_id: String,
        pub fraction: f64,
    }

    impl From<ProgressV1> for ProgressV2 {
        fn from(v1: ProgressV1) -> Self {
            ProgressV2 {
                task_id: v1.task_id,
                fraction: f64::from(v1.percent) / 100.0,
            }
        }
    }
}

/// The Rust client says which version of an event it reads: a subscriber of
/// `ProgressV2` (whose contract is otherwise an older build's, so the server
/// compares versions) is served version 2, while one of `ProgressV1` gets the
/// `contract` reset and never version 2's shape.
#[cfg(feature = "client")]
#[tokio::test]
async fn the_rust_client_sends_the_version_it_reads() {
    use continuum_runtime::client::{Client, Item, ResetReason};

    let server = new_node().await;
    let client = Client::new(&server.url).contract(&old_build());
    let mut v2 = client.subscribe::<ProgressV2>();
    let mut v1 = client.subscribe::<ProgressV1>();
    // Subscriptions start when first polled: poll each until the hub has both.
    let (first_v2, first_v1) = guarded("both subscribed", async {
        let v2_next = tokio::spawn(async move {
            let item = v2.next().await;
            (v2, item)
        });
        let v1_next = tokio::spawn(async move {
            let item = v1.next().await;
            (v1, item)
        });
        while server.hub.metrics().subscribers_now != 2 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let body = r#"{"type":"ai.task.progress","data":{"taskId":"n","fraction":0.5}}"#;
        assert_eq!(post(&server.url, body, &[]).await.status.as_u16(), 202);
        (v2_next.await.unwrap(), v1_next.await.unwrap())
    })
    .await;
    match first_v2.1.expect("an item").expect("no error") {
        Item::Event { event, .. } => {
            assert_eq!(event.task_id, "n");
            assert_eq!(event.fraction, 0.5);
        }
        other => panic!("version 2's reader got {other:?} instead of the event"),
    }
    match first_v1.1.expect("an item").expect("no error") {
        Item::Reset(reason) => assert_eq!(reason, ResetReason::Contract),
        other => panic!("version 1's reader got {other:?} instead of a contract reset"),
    }
}
