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

use support::{ci, find};

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

/// A demo server that a control endpoint can restart on the same port (a new
/// hub, so a new epoch), as a deploy would.
struct Restartable {
    addr: SocketAddr,
    builder: fn() -> HubBuilder,
    server: Mutex<Option<DemoServer>>,
}

impl Restartable {
    async fn start(builder: fn() -> HubBuilder) -> Arc<Restartable> {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = DemoServer::start(listener, builder(), quiet())
            .await
            .unwrap();
        Arc::new(Restartable {
            addr,
            builder,
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
}

/// `npm ci` and `npm run build`, once per test binary; `None` when node or
/// npm is missing outside CI (after a loud SKIPPED line).
fn npm_ready(test: &str) -> Option<PathBuf> {
    static READY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        let Some(npm) = find("npm", &["/usr/bin/npm", "/usr/local/bin/npm"]) else {
            return Err("npm".into());
        };
        if find("node", &["/usr/bin/node", "/usr/local/bin/node"]).is_none() {
            return Err("node".into());
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
