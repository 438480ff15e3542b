//! The TypeScript side, run from `cargo test`: the generated module for the
//! demo is committed and fresh; `GET /api/events/schema` serves the demo's
//! schema; and `clients/typescript` (`@continuum/client`) is installed with
//! `npm ci`, built, type-tested (`tsc --noEmit` over `@ts-expect-error`
//! cases), unit-tested with `node --test` against the real demo server
//! (restarted on demand through a control endpoint), and its React hook is
//! rendered in headless Chromium against the real server.
//!
//! Needs `node` (≥ 18) and `npm`, and for the hook test `chromium` and
//! `chromedriver`. Outside CI a missing program skips those tests with a loud
//! message; under `CI=true` they fail instead.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use continuum::demo::{DemoOptions, DemoServer};
use continuum_runtime::typescript::{sync_file, Mode};
use continuum_runtime::{Hub, HubBuilder};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use support::{browser, ci, find, open_browser, start_driver, WAIT};

fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/typescript")
}

#[test]
fn generated_module_for_the_demo_is_committed_and_fresh() {
    let path = package_dir().join("demo/continuum-events.ts");
    // Regenerate with: cargo run --example ai_progress -- --typescript > clients/typescript/demo/continuum-events.ts
    let mode = if std::env::var_os("CONTINUUM_REGENERATE").is_some() {
        Mode::Write
    } else {
        Mode::Check
    };
    if let Err(stale) = sync_file(&path, &continuum::demo::typescript(), mode) {
        panic!(
            "{stale}\nregenerate: cargo run --example ai_progress -- --typescript > clients/typescript/demo/continuum-events.ts"
        );
    }
}

mod generated {
    use continuum_runtime::prelude::*;
    use continuum_runtime::typescript::{module, sync_file, Mode, SyncError, Synced};
    use continuum_runtime::Registry;

    /// Nested in an event.
    #[derive(Payload, Debug, Clone)]
    pub struct Item {
        pub name: String,
        pub tags: Vec<String>,
    }

    /// A basket changed.
    #[continuum_event("ts.basket.changed")]
    pub struct BasketChanged {
        /// What is in it.
        pub items: Vec<Item>,
        pub note: Option<String>,
        #[serde(default)]
        pub count: u32,
    }

    /// The cache was flushed.
    #[continuum_event("ts.cache.flushed")]
    pub struct CacheFlushed;

    fn registry() -> Registry {
        let mut r = Registry::new();
        // Registered out of order: the module is sorted by event name.
        r.register::<CacheFlushed>().unwrap();
        r.register::<BasketChanged>().unwrap();
        r
    }

    #[test]
    fn module_maps_every_event_with_optional_fields_and_unit_events() {
        let ts = module(&registry());
        assert_eq!(ts, module(&registry()), "the same text every run");
        assert!(
            ts.contains("/**\n * A basket changed.\n */\nexport interface BasketChanged {"),
            "{ts}"
        );
        assert!(ts.contains("  items: Item[];"), "{ts}");
        assert!(ts.contains("  note?: string | null;"), "{ts}");
        assert!(ts.contains("  count?: number;"), "{ts}");
        assert!(
            ts.contains("export interface Item {\n  name: string;\n  tags: string[];\n}"),
            "{ts}"
        );
        let map = &ts[ts
            .find("export interface ContinuumEventMap {")
            .expect("the map")..];
        let basket = map
            .find("\"ts.basket.changed\": BasketChanged;")
            .expect("basket in the map");
        let flushed = map
            .find("\"ts.cache.flushed\": null;")
            .expect("a unit event maps to null");
        assert!(basket < flushed, "sorted by name: {map}");
    }

    /// A job's state, keyed by its id.
    #[continuum_event("ts.job.state", key = job_id)]
    pub struct JobState {
        pub job_id: String,
        pub done: bool,
    }

    #[test]
    fn module_exports_the_keys_and_the_contract() {
        let ts = module(&registry());
        assert!(
            ts.contains("\nexport const continuumKeys = {} as const;\n"),
            "{ts}"
        );
        let mut keyed = registry();
        keyed.register::<JobState>().unwrap();
        let ts = module(&keyed);
        assert!(
            ts.contains(
                "\nexport const continuumKeys = { \"ts.job.state\": \"jobId\" } as const;\n"
            ),
            "{ts}"
        );
        let fingerprint = continuum_runtime::contract::Contract::of(&keyed).fingerprint();
        assert!(
            ts.contains(&format!(
                "\nexport const continuumContract = {{ fingerprint: \"{fingerprint}\", versions: \
                 {{ \"ts.basket.changed\": 1, \"ts.cache.flushed\": 1, \"ts.job.state\": 1 }} }} as const;\n"
            )),
            "{ts}"
        );
    }

    #[test]
    fn sync_file_writes_only_changes_and_check_mode_refuses_a_stale_file() {
        let dir = std::env::temp_dir().join(format!("continuum-ts-sync-{}", std::process::id()));
        let path = dir.join("nested/continuum-events.ts");
        let ts = module(&registry());
        assert!(matches!(
            sync_file(&path, &ts, Mode::Check),
            Err(SyncError::Stale { .. })
        ));
        assert!(!path.exists(), "check mode never writes");
        assert_eq!(sync_file(&path, &ts, Mode::Write).unwrap(), Synced::Written);
        let written = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(
            sync_file(&path, &ts, Mode::Write).unwrap(),
            Synced::Unchanged
        );
        assert_eq!(
            sync_file(&path, &ts, Mode::Check).unwrap(),
            Synced::Unchanged
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            written,
            "untouched"
        );
        std::fs::write(&path, "// edited by hand\n").unwrap();
        let stale = sync_file(&path, &ts, Mode::Check).unwrap_err();
        assert!(stale.to_string().contains("is stale"), "{stale}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "// edited by hand\n"
        );
        assert_eq!(sync_file(&path, &ts, Mode::Write).unwrap(), Synced::Written);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), ts);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The client's `ResetReason` union is the server's reasons (as the runtime's
/// contract vocabulary lists them, `contract` included), plus `other`, the
/// client's catch-all for a reason it does not know.
#[test]
fn reset_reasons_match_the_server() {
    let contract = continuum_runtime::contract::Contract::of(&continuum_runtime::Registry::new());
    let mut rust: std::collections::BTreeSet<String> = contract.runtime()["control"]
        ["continuum.reset"]["properties"]["reason"]["enum"]
        .as_array()
        .expect("the reset reasons in the runtime vocabulary")
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    assert!(rust.contains("foreign_epoch"), "{rust:?}");
    assert!(rust.contains("contract"), "{rust:?}");
    rust.insert("other".into());
    let types = std::fs::read_to_string(package_dir().join("src/types.ts")).unwrap();
    let start = types
        .find("export type ResetReason =")
        .expect("ResetReason in src/types.ts");
    let union = &types[start..start + types[start..].find(';').unwrap()];
    let ts: std::collections::BTreeSet<String> = union
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    assert_eq!(
        ts, rust,
        "the TypeScript ResetReason union differs from the server's"
    );
}

/// A demo server that a control endpoint can restart on the same port (a new
/// hub, so a new epoch), as a deploy would.
struct Restartable {
    addr: SocketAddr,
    builder: Box<dyn Fn() -> HubBuilder + Send + Sync>,
    server: Mutex<Option<DemoServer>>,
}

impl Restartable {
    async fn start(builder: impl Fn() -> HubBuilder + Send + Sync + 'static) -> Arc<Restartable> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = DemoServer::start(listener, builder(), quiet())
            .await
            .unwrap();
        Arc::new(Restartable {
            addr,
            builder: Box::new(builder),
            server: Mutex::new(Some(server)),
        })
    }

    async fn restart(&self) {
        let mut slot = self.server.lock().await;
        if let Some(old) = slot.take() {
            old.stop().await;
        }
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("rebind the same port");
        *slot = Some(
            DemoServer::start(listener, (self.builder)(), quiet())
                .await
                .unwrap(),
        );
    }

    async fn metrics(&self) -> continuum_runtime::metrics::MetricsSnapshot {
        self.server
            .lock()
            .await
            .as_ref()
            .expect("running")
            .hub()
            .metrics()
    }

    async fn stop(&self) {
        if let Some(server) = self.server.lock().await.take() {
            server.stop().await;
        }
    }

    fn url(&self) -> String {
        format!("http://{}/api/events", self.addr)
    }
}

fn quiet() -> DemoOptions {
    DemoOptions {
        simulate: false,
        ..DemoOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_route_serves_the_demo_event_with_its_constraints() {
    let demo = Restartable::start(Hub::builder).await;
    let res = reqwest::get(format!("{}/schema", demo.url()))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body: Value = res.json().await.unwrap();
    let schema = &body["events"]["ai.task.progress"];
    assert_eq!(schema["title"], "ai.task.progress");
    assert_eq!(schema["description"], "Progress of one AI generation task.");
    let props = &schema["properties"];
    assert_eq!(props["taskId"]["type"], "string");
    assert_eq!(props["taskId"]["minLength"], 1);
    assert_eq!(props["taskId"]["maxLength"], 128);
    assert_eq!(props["progress"]["minimum"], 0);
    assert_eq!(props["progress"]["maximum"], 100);
    assert_eq!(
        schema["required"],
        serde_json::json!(["taskId", "stage", "progress"])
    );
    // The stage's union, wherever the schema places it.
    let text = schema.to_string();
    for stage in ["queued", "prompting", "generating", "done", "failed"] {
        assert!(text.contains(&format!("\"{stage}\"")), "{stage} in {text}");
    }
    // Only GET: the route is not an ingest.
    let post = reqwest::Client::new()
        .post(format!("{}/schema", demo.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
    demo.stop().await;

    // Opt-in: a service without `with_schema_route()` has no such route.
    let hub = Hub::builder().build().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(continuum_runtime::serve_with_shutdown(
        listener,
        hub.service(),
        async move {
            let _ = stopped.await;
        },
    ));
    let res = reqwest::get(format!("http://{addr}/api/events/schema"))
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// `npm ci` and `npm run build`, once per test binary; `None` when node or
/// npm is missing outside CI (after a loud SKIPPED line).
fn npm_ready(test: &str) -> Option<PathBuf> {
    static READY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        let Some(npm) = find("npm", &["/usr/bin/npm", "/usr/local/bin/npm"]) else {
            return Err("npm".into());
        };
        let Some(node) = find("node", &["/usr/bin/node", "/usr/local/bin/node"]) else {
            return Err("node".into());
        };
        let version = Command::new(&node)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        let major: u32 = version
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        if major < 18 {
            return Err(format!("node ≥ 18 (found {version:?})"));
        }
        let dir = package_dir();
        run(&npm, &dir, &["ci", "--no-audit", "--no-fund"], &[]);
        run(&npm, &dir, &["run", "build"], &[]);
        Ok(npm)
    });
    match ready {
        Ok(npm) => Some(npm.clone()),
        Err(missing) => {
            assert!(
                !ci(),
                "CI=true but `{missing}` is missing: install Node.js ≥ 18 and npm (`apt-get install nodejs npm`)"
            );
            eprintln!("\n!!!!!!!! SKIPPED {test}: `{missing}` not found.");
            eprintln!(
                "!!!!!!!! Install Node.js ≥ 18 and npm (`apt-get install nodejs npm`) to run it.\n"
            );
            None
        }
    }
}

/// Run a program in `dir`, failing the test with its output when it fails.
fn run(program: &Path, dir: &Path, args: &[&str], env: &[(&str, String)]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap_or_else(|e| panic!("run {} {args:?}: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "`{} {}` failed ({}):\n{stdout}\n{stderr}",
        program.display(),
        args.join(" "),
        out.status
    );
    stdout
}

async fn npm(args: &'static [&'static str], env: Vec<(&'static str, String)>) -> Option<String> {
    tokio::task::spawn_blocking(move || {
        let npm = npm_ready(&format!("`npm {}`", args.join(" ")))?;
        Some(run(&npm, &package_dir(), args, &env))
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn type_tests_reject_every_misuse_and_accept_the_contract() {
    // tsc --strict over test/types (the contract, with @ts-expect-error
    // cases) and the demo page, then the README's TypeScript blocks.
    let Some(out) = npm(&["run", "typecheck"], vec![]).await else {
        return;
    };
    eprintln!("{out}");
}

#[tokio::test]
async fn demo_page_bundle_is_fresh() {
    let Some(out) = npm(&["run", "check:demo"], vec![]).await else {
        return;
    };
    assert!(out.contains("up to date"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_unit_tests_against_the_real_server() {
    let demo = Restartable::start(Hub::builder).await;
    let control = control_server(demo.clone()).await;
    let out = npm(
        &["run", "test:unit"],
        vec![
            ("CONTINUUM_URL", demo.url()),
            ("CONTINUUM_CONTROL", format!("http://{control}")),
        ],
    )
    .await;
    demo.stop().await;
    let Some(out) = out else { return };
    eprintln!("{out}");
    assert!(out.contains("# fail 0"), "{out}");
}

/// `POST /restart` restarts the demo and answers once the new server listens:
/// how the Node tests ask for a restart at the moment they choose.
async fn control_server(demo: Arc<Restartable>) -> SocketAddr {
    let app = axum::Router::new().route(
        "/restart",
        axum::routing::post(move || async move {
            demo.restart().await;
            "restarted"
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Run `script` in the page until `check` holds for what it returns.
async fn wait_until(
    browser: &fantoccini::Client,
    what: &str,
    script: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let got = browser
            .execute(script, vec![])
            .await
            .expect("run script in page");
        if check(&got) {
            return got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}; last saw {got}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Wait until the server's metrics satisfy `check` (the browser acts on its own clock).
async fn wait_metrics(
    demo: &Restartable,
    what: &str,
    check: impl Fn(&continuum_runtime::metrics::MetricsSnapshot) -> bool,
) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let m = demo.metrics().await;
        if check(&m) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}; metrics {m:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn section(name: &str) -> String {
    format!(
        "const s = document.getElementById('{name}');
         return s ? {{ status: s.dataset.status, statuses: s.dataset.statuses, resets: s.dataset.resets,
                      lastEventId: s.dataset.lastEventId, renders: s.dataset.renders,
                      tasks: [...s.querySelectorAll('.task')].map(t => [t.dataset.taskId, t.dataset.stage, Number(t.dataset.progress)]) }} : null;"
    )
}

async fn post_progress(demo: &Restartable, task: &str, stage: &str, progress: u8) -> String {
    let res = reqwest::Client::new()
        .post(demo.url())
        .header("content-type", "application/json")
        .body(
            serde_json::json!({"type": "ai.task.progress", "data": {"taskId": task, "stage": stage, "progress": progress}})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

fn has_task(v: &Value, task: &str, stage: &str, progress: u8) -> bool {
    v["tasks"]
        .as_array()
        .is_some_and(|ts| ts.contains(&serde_json::json!([task, stage, progress])))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn react_hook_in_chromium_against_the_real_server() {
    let Some((chromium, chromedriver)) = browser("the React hook browser test") else {
        return;
    };
    if npm(&["run", "bundle:hook-test"], vec![]).await.is_none() {
        return;
    }
    let app = std::fs::read_to_string(package_dir().join("build/hook-app.js")).unwrap();
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>hook</title><div id=root></div><script>{}</script>",
        app.replace("</script", "<\\/script")
    );

    // The page comes from another origin than the events, as in most apps:
    // the hook's credentialed EventSource needs the server's CORS answer.
    let page_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page_addr = page_listener.local_addr().unwrap();
    let page_origin = format!("http://{page_addr}");
    let pages = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    tokio::spawn(async move { axum::serve(page_listener, pages).await });
    let origin = page_origin.clone();
    let demo = Restartable::start(move || Hub::builder().allowed_origins([origin.clone()])).await;

    let profile =
        std::env::temp_dir().join(format!("continuum-hook-chromium-{}", std::process::id()));
    let (_driver, driver_port) = start_driver(&chromedriver).await;
    let browser = open_browser(&chromium, driver_port, &profile).await;
    browser
        .goto(&format!("{page_origin}/?events={}", demo.url()))
        .await
        .expect("open the hook page");

    // Both components open, on one shared connection.
    for name in ["a", "b"] {
        wait_until(&browser, "the hook to open", &section(name), |v| {
            v["status"] == "open"
        })
        .await;
    }
    wait_metrics(&demo, "one shared subscriber", |m| m.subscribers_now == 1).await;
    assert_eq!(
        demo.metrics().await.connections_total,
        1,
        "two components, StrictMode: still one EventSource"
    );

    // Events update the DOM of both.
    let id = post_progress(&demo, "hook-1", "generating", 42).await;
    for name in ["a", "b"] {
        let v = wait_until(&browser, "42 %", &section(name), |v| {
            has_task(v, "hook-1", "generating", 42)
        })
        .await;
        assert_eq!(v["lastEventId"], id.as_str());
    }

    // Re-renders with new closures do not reconnect, and the new handlers run.
    for _ in 0..20 {
        browser
            .execute("window.continuumTest.rerender();", vec![])
            .await
            .unwrap();
    }
    wait_until(&browser, "20 re-renders", &section("a"), |v| {
        v["renders"] == "20"
    })
    .await;
    post_progress(&demo, "hook-1", "done", 100).await;
    wait_until(&browser, "done", &section("b"), |v| {
        has_task(v, "hook-1", "done", 100)
    })
    .await;
    let m = demo.metrics().await;
    assert_eq!(
        (m.connections_total, m.subscribers_now),
        (1, 1),
        "re-renders reconnected"
    );

    // A restart: the hook shows `reconnecting`, reconnects, and reports the reset.
    demo.restart().await;
    for name in ["a", "b"] {
        let v = wait_until(&browser, "a reset after the restart", &section(name), |v| {
            v["resets"] == "foreign_epoch" && v["status"] == "open"
        })
        .await;
        assert_eq!(v["statuses"], "open,reconnecting,open", "{name}: {v}");
    }
    wait_metrics(&demo, "one shared subscriber after the restart", |m| {
        m.subscribers_now == 1
    })
    .await;
    post_progress(&demo, "hook-2", "prompting", 7).await;
    wait_until(&browser, "an event after the restart", &section("a"), |v| {
        has_task(v, "hook-2", "prompting", 7)
    })
    .await;
    assert_eq!(demo.metrics().await.connections_total, 1);

    // What the components show, before they go.
    let png = browser.screenshot().await.expect("screenshot");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hook.png"), &png).unwrap();

    // Unmounting the last component closes the connection.
    browser
        .execute("window.continuumTest.unmount();", vec![])
        .await
        .unwrap();
    wait_metrics(&demo, "the connection to close on unmount", |m| {
        m.subscribers_now == 0
    })
    .await;

    browser.close().await.expect("close the browser");
    demo.stop().await;
    let _ = std::fs::remove_dir_all(&profile);
}

/// `useContinuumState` in Chromium against the real demo server: tasks
/// published before the page loads are on its first render (the snapshot),
/// changes follow, two components share one connection, and after a
/// restart the map is rebuilt from the new server's snapshot: what the old
/// server knew is gone, what the new one knows is there, with no app code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_hook_in_chromium_against_the_real_server() {
    let Some((chromium, chromedriver)) = browser("the state hook browser test") else {
        return;
    };
    if npm(&["run", "bundle:hook-test"], vec![]).await.is_none() {
        return;
    }
    let app = std::fs::read_to_string(package_dir().join("build/hook-app.js")).unwrap();
    let html = format!(
        "<!doctype html><meta charset=utf-8><title>state</title><div id=root></div><script>{}</script>",
        app.replace("</script", "<\\/script")
    );
    let page_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page_origin = format!("http://{}", page_listener.local_addr().unwrap());
    let pages = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    tokio::spawn(async move { axum::serve(page_listener, pages).await });
    let origin = page_origin.clone();
    let demo = Restartable::start(move || Hub::builder().allowed_origins([origin.clone()])).await;

    // Running before the page opens.
    post_progress(&demo, "state-1", "generating", 42).await;
    post_progress(&demo, "state-2", "queued", 0).await;
    post_progress(&demo, "state-1", "generating", 55).await;

    let profile =
        std::env::temp_dir().join(format!("continuum-state-chromium-{}", std::process::id()));
    let (_driver, driver_port) = start_driver(&chromedriver).await;
    let browser = open_browser(&chromium, driver_port, &profile).await;
    browser
        .goto(&format!("{page_origin}/?mode=state&events={}", demo.url()))
        .await
        .expect("open the state page");

    // In the snapshot's order: by the id of each key's latest event.
    let both = |v: &Value| {
        v["tasks"] == serde_json::json!([["state-2", "queued", 0], ["state-1", "generating", 55]])
    };
    for name in ["s1", "s2"] {
        wait_until(
            &browser,
            "the snapshot on first render",
            &section(name),
            both,
        )
        .await;
    }
    wait_metrics(&demo, "one shared subscriber", |m| m.subscribers_now == 1).await;
    assert_eq!(
        demo.metrics().await.connections_total,
        1,
        "two components, one connection"
    );

    post_progress(&demo, "state-2", "prompting", 10).await;
    for name in ["s1", "s2"] {
        wait_until(&browser, "a live change by key", &section(name), |v| {
            v["tasks"]
                == serde_json::json!([["state-2", "prompting", 10], ["state-1", "generating", 55]])
        })
        .await;
    }

    // A restart: the new server knows only what it is told after it starts.
    demo.restart().await;
    post_progress(&demo, "state-3", "generating", 7).await;
    for name in ["s1", "s2"] {
        wait_until(
            &browser,
            "the state rebuilt after the restart",
            &section(name),
            |v| v["tasks"] == serde_json::json!([["state-3", "generating", 7]]),
        )
        .await;
    }

    let png = browser.screenshot().await.expect("screenshot");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("state-hook.png"), &png).unwrap();
    browser.close().await.expect("close the browser");
    demo.stop().await;
    let _ = std::fs::remove_dir_all(&profile);
}
