//! `POST /api/events` over real TCP: every status, idempotency, and nothing
//! invalid ever reaching a subscriber.

mod http_support;

use continuum_runtime::metrics::IngestReject;
use continuum_runtime::Hub;
use http_support::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const VALID: &str =
    r#"{"type":"ai.task.progress","data":{"taskId":"gen-1","stage":"prompting","progress":10}}"#;

#[tokio::test]
async fn single_envelope_is_accepted_and_delivered_as_sent() {
    let server = start(Hub::builder()).await;
    let mut sub = subscribe(&server.url, &[]).await;

    let a = post(&server.url, VALID, &[]).await;
    assert_eq!(a.status, 202, "{:?}", a.json);
    let id = a.json["id"]
        .as_str()
        .expect("single envelope answers {\"id\"}")
        .to_owned();
    assert!(a.json.get("ids").is_none());

    let e = sub.next().await;
    assert_eq!(e.id, id);
    assert_eq!(e.event, "ai.task.progress");
    // What goes in is what comes out.
    assert_eq!(
        envelope(&e),
        serde_json::from_str::<serde_json::Value>(VALID).unwrap()
    );
}

#[tokio::test]
async fn array_is_accepted_in_order_and_unit_events_need_no_data() {
    let server = start(Hub::builder()).await;
    let mut sub = subscribe(&server.url, &[]).await;
    let body = json!([
        {"type": "app.ping"},
        {"type": "media.upload.done", "data": {"file": "a.png"}},
        {"type": "app.ping", "data": null},
    ]);
    let a = post(&server.url, &body.to_string(), &[]).await;
    assert_eq!(a.status, 202, "{:?}", a.json);
    let ids: Vec<String> =
        serde_json::from_value(a.json["ids"].clone()).expect("array answers {\"ids\"}");
    assert_eq!(ids.len(), 3);
    let got = [sub.next().await, sub.next().await, sub.next().await];
    assert_eq!(got.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), ids);
    assert_eq!(envelope(&got[0]), json!({"type": "app.ping", "data": null}));
    assert_eq!(
        envelope(&got[1]),
        json!({"type": "media.upload.done", "data": {"file": "a.png"}})
    );
}

#[tokio::test]
async fn malformed_json_is_400_with_line_and_column() {
    let server = start(Hub::builder()).await;
    // A missing comma: the parser stops at the start of line 3's `"data"`.
    let a = post(
        &server.url,
        "{\n  \"type\": \"app.ping\"\n  \"data\": null\n}",
        &[],
    )
    .await;
    assert_eq!(error_code(&a, 400), "malformed_json");
    assert_eq!(
        (a.json["line"].as_u64(), a.json["column"].as_u64()),
        (Some(3), Some(3)),
        "{:?}",
        a.json
    );
    let a = post(&server.url, "", &[]).await;
    assert_eq!(error_code(&a, 400), "malformed_json");
    assert_eq!(
        server
            .hub
            .metrics()
            .ingest_rejects(IngestReject::MalformedJson),
        2
    );
}

#[tokio::test]
async fn token_is_required_when_configured() {
    let server = start(Hub::builder().ingest_token("s3cret-token")).await;
    for headers in [
        &[][..],
        &[("x-continuum-event-key", "wrong")][..],
        &[("x-continuum-event-key", "s3cret-tokeN")][..],
    ] {
        let a = post(&server.url, VALID, headers).await;
        assert_eq!(error_code(&a, 401), "unauthorized");
    }
    // Auth is checked first: a bad body with no token is still 401.
    let a = post(&server.url, "not json", &[]).await;
    assert_eq!(error_code(&a, 401), "unauthorized");
    let a = post(
        &server.url,
        VALID,
        &[("x-continuum-event-key", "s3cret-token")],
    )
    .await;
    assert_eq!(a.status, 202);
    assert_eq!(
        server
            .hub
            .metrics()
            .ingest_rejects(IngestReject::Unauthorized),
        4
    );
}

#[tokio::test]
async fn open_ingest_accepts_without_a_token() {
    let server = start(Hub::builder()).await;
    assert_eq!(post(&server.url, VALID, &[]).await.status, 202);
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let server = start(Hub::builder()).await;
    let a = answer(
        client()
            .post(&server.url)
            .header("content-type", "text/plain")
            .body(VALID),
    )
    .await;
    assert_eq!(error_code(&a, 415), "unsupported_media_type");
    let a = answer(client().post(&server.url).body(VALID)).await;
    assert_eq!(error_code(&a, 415), "unsupported_media_type");
    // Two content types are ambiguous, even if one is right.
    let a = post(&server.url, VALID, &[("content-type", "application/json")]).await;
    assert_eq!(error_code(&a, 415), "unsupported_media_type");
    let a = answer(
        client()
            .post(&server.url)
            .header("content-type", "application/json; charset=utf-8")
            .body(VALID),
    )
    .await;
    assert_eq!(a.status, 202);
}

/// Send raw bytes, read the whole answer (the server closes or we stop at the
/// end of a JSON body), return the head and body.
async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8]) -> (String, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = guarded("raw answer", tcp.read(&mut chunk))
            .await
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length: ")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            });
            if len.is_some_and(|len| body.len() >= len) {
                return (head.to_owned(), body.to_owned());
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_owned(), body.to_owned())
}

#[tokio::test]
async fn body_over_the_limit_is_413_from_content_length_before_reading() {
    let server = start(Hub::builder().body_limit(1024)).await;
    // Declares 1 GB and sends none of it: the answer can only come from the header.
    let request = b"POST /api/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000000000\r\n\r\n";
    let (head, body) = raw_exchange(server.addr, request).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "payload_too_large");
    assert_eq!(body["limit"], 1024);
}

#[tokio::test]
async fn chunked_body_over_the_limit_is_413_while_reading() {
    let server = start(Hub::builder().body_limit(1024)).await;
    let note = format!(
        r#"{{"type":"app.note","data":{{"text":"{}"}}}}"#,
        "x".repeat(2000)
    );
    let (first, second) = note.split_at(600);
    let request = format!(
        "POST /api/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{first}\r\n{:x}\r\n{second}\r\n0\r\n\r\n",
        first.len(),
        second.len()
    );
    let (head, body) = raw_exchange(server.addr, request.as_bytes()).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(body.contains("payload_too_large"), "{body}");
    // The same through reqwest with a streamed (chunked) body.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
        Ok(first.as_bytes().to_vec()),
        Ok(second.as_bytes().to_vec()),
    ];
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let a = answer(
        client()
            .post(&server.url)
            .header("content-type", "application/json")
            .body(body),
    )
    .await;
    assert_eq!(error_code(&a, 413), "payload_too_large");
    assert_eq!(
        server
            .hub
            .metrics()
            .ingest_rejects(IngestReject::PayloadTooLarge),
        2
    );
}

#[tokio::test]
async fn unknown_type_and_reserved_types_are_422() {
    let server = start(Hub::builder()).await;
    let a = post(&server.url, r#"{"type":"no.such.event","data":{}}"#, &[]).await;
    assert_eq!(error_code(&a, 422), "unknown_type");
    assert_eq!(issues(&a), [("type".to_owned(), "unknown_type".to_owned())]);
    for reserved in ["continuum.reset", "continuum.connected", "continuum"] {
        let a = post(
            &server.url,
            &json!({"type": reserved, "data": {}}).to_string(),
            &[],
        )
        .await;
        assert_eq!(error_code(&a, 422), "reserved_type", "{reserved}");
    }
    let m = server.hub.metrics();
    assert_eq!(m.ingest_rejects(IngestReject::UnknownType), 1);
    assert_eq!(m.ingest_rejects(IngestReject::ReservedType), 3);
}

#[tokio::test]
async fn failed_validation_is_422_with_every_issue_in_wire_names() {
    let server = start(Hub::builder()).await;
    let a = post(
        &server.url,
        r#"{"type":"ai.task.progress","data":{"taskId":"","stage":"prompting","progress":101}}"#,
        &[],
    )
    .await;
    assert_eq!(error_code(&a, 422), "invalid_event");
    let mut got = issues(&a);
    got.sort();
    assert_eq!(
        got,
        [
            ("data.progress".to_owned(), "range".to_owned()),
            ("data.taskId".to_owned(), "length".to_owned())
        ]
    );

    // In an array every envelope is checked, paths start with the index, and
    // the valid envelope is not published either.
    let body = json!([
        {"type": "app.ping"},
        {"type": "ai.task.progress", "data": {"taskId": "t", "stage": "prompting", "progress": 200}},
        {"type": "media.upload.done", "data": {"file": "a", "extra": 1}, "chanel": "x"},
    ]);
    let a = post(&server.url, &body.to_string(), &[]).await;
    assert_eq!(error_code(&a, 422), "invalid_event");
    let got = issues(&a);
    assert!(
        got.contains(&("[1].data.progress".to_owned(), "range".to_owned())),
        "{got:?}"
    );
    assert!(
        got.contains(&("[2].chanel".to_owned(), "unknown_field".to_owned())),
        "{got:?}"
    );
    assert!(got.iter().any(|(p, _)| p == "[2].data.extra"), "{got:?}");
    assert_eq!(server.hub.metrics().events_published, 0);
}

#[tokio::test]
async fn other_methods_are_405_with_allow_and_other_paths_404() {
    let server = start(Hub::builder()).await;
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let a = answer(client().request(method.clone(), &server.url)).await;
        assert_eq!(error_code(&a, 405), "method_not_allowed", "{method}");
        assert_eq!(a.headers["allow"], "GET, POST, OPTIONS");
    }
    let a = answer(client().get(format!("http://{}/elsewhere", server.addr))).await;
    assert_eq!(error_code(&a, 404), "not_found");
    assert_eq!(
        server
            .hub
            .metrics()
            .ingest_rejects(IngestReject::MethodNotAllowed),
        3
    );
}

#[tokio::test]
async fn retried_post_with_idempotency_key_publishes_once() {
    let server = start(Hub::builder()).await;
    let mut sub = subscribe(&server.url, &[]).await;
    let key = [("idempotency-key", "7f7c6a2e-retry")];
    let first = post(&server.url, VALID, &key).await;
    assert_eq!(first.status, 202);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let retry = post(&server.url, VALID, &key).await;
    assert_eq!(retry.status, 202);
    assert_eq!(retry.json, first.json, "the retry gets the first id back");
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    // A new key publishes again; the subscriber sees exactly two events.
    let other = post(&server.url, VALID, &[("idempotency-key", "another")]).await;
    assert_ne!(other.json, first.json);
    assert_eq!(sub.next().await.id, first.json["id"]);
    assert_eq!(sub.next().await.id, other.json["id"]);
    assert_eq!(server.hub.metrics().events_published, 2);

    let long = "k".repeat(300);
    let a = post(&server.url, VALID, &[("idempotency-key", &long)]).await;
    assert_eq!(error_code(&a, 400), "invalid_idempotency_key");
}

#[tokio::test]
async fn nothing_invalid_is_ever_delivered() {
    let server = start(Hub::builder().ingest_token("tok").body_limit(4096)).await;
    let mut sub = subscribe(&server.url, &[]).await;
    let auth = ("x-continuum-event-key", "tok");
    let big = format!(
        r#"{{"type":"app.note","data":{{"text":"{}"}}}}"#,
        "x".repeat(5000)
    );
    let bad: Vec<(Vec<(&str, &str)>, String)> = vec![
        (vec![], VALID.to_owned()),                                     // 401
        (vec![auth, ("content-type", "text/plain")], VALID.to_owned()), // 415 (two content types)
        (vec![auth], big),                                              // 413
        (vec![auth], "{".to_owned()),                                   // 400
        (vec![auth], r#"{"type":"nope"}"#.to_owned()),                  // 422 unknown
        (
            vec![auth],
            r#"{"type":"continuum.reset","data":{}}"#.to_owned(),
        ), // 422 reserved
        (
            vec![auth],
            r#"{"type":"ai.task.progress","data":{"taskId":"t","stage":"sleeping","progress":1}}"#
                .to_owned(),
        ),
        (
            vec![auth],
            r#"[{"type":"app.note","data":{"text":"half"}},{"type":"app.note","data":{}}]"#
                .to_owned(),
        ),
        (
            vec![auth],
            r#"{"type":"app.note","data":{"text":"x"},"channel":""}"#.to_owned(),
        ),
    ];
    let mut valid_ids = Vec::new();
    for (i, (headers, body)) in bad.iter().enumerate() {
        let a = post(&server.url, body, headers).await;
        assert!(
            a.status.is_client_error(),
            "bad request {i} was accepted: {:?}",
            a.json
        );
        // Interleave a valid event after each bad one.
        let good = json!({"type": "app.note", "data": {"text": format!("good {i}")}}).to_string();
        let a = post(&server.url, &good, &[auth]).await;
        assert_eq!(a.status, 202);
        valid_ids.push(a.json["id"].as_str().unwrap().to_owned());
    }
    let last = valid_ids.last().unwrap().clone();
    let got = sub.until(|e| e.id == last).await;
    assert_eq!(
        got.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        valid_ids
    );
    for (i, e) in got.iter().enumerate() {
        assert_eq!(envelope(e)["data"]["text"], format!("good {i}"));
    }
    let m = server.hub.metrics();
    assert_eq!(m.events_published, valid_ids.len() as u64);
}
