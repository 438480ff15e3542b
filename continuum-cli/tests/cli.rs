//! `continuum contract diff` over real files: contracts of real declarations
//! written with `Contract::to_json`, the built binary run on them, its
//! lines, stderr and exit codes (0 nothing breaks in the mode, 1 something
//! does, 2 unusable input or usage) checked.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use continuum_runtime::contract::Contract;
use continuum_runtime::{Event, Registry};

mod v1 {
    use continuum_runtime::prelude::*;

    #[derive(Payload, Debug)]
    pub enum Stage {
        Queued,
        Done,
    }

    #[continuum_event("ai.task.progress")]
    pub struct Progress {
        pub task_id: String,
        pub stage: Stage,
        pub note: Option<String>,
    }
}

mod v2 {
    use continuum_runtime::prelude::*;

    #[derive(Payload, Debug)]
    pub enum Stage {
        Queued,
        Running,
        Done,
    }

    /// Adds a stage (old tabs cannot read it) and an optional field.
    #[continuum_event("ai.task.progress")]
    pub struct Progress {
        pub task_id: String,
        pub stage: Stage,
        pub note: Option<String>,
        pub eta: Option<u32>,
    }
}

mod v3 {
    use continuum_runtime::prelude::*;

    /// `v1` plus an optional field only.
    #[continuum_event("ai.task.progress")]
    pub struct Progress {
        pub task_id: String,
        pub stage: super::v1::Stage,
        pub note: Option<String>,
        pub eta: Option<u32>,
    }
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("continuum-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn contract<E: Event>(&self, name: &str) -> PathBuf {
        let mut registry = Registry::new();
        registry.register::<E>().unwrap();
        self.file(name, &Contract::of(&registry).to_json())
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn continuum(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_continuum"));
    for a in args {
        cmd.arg(a);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

const V1_TO_V2: &str = "\
breaking forward ai.task.progress data.stage: variant `running` added; old readers cannot read `running`
compatible ai.task.progress data.eta: optional field added; old readers ignore it
";

#[test]
fn a_forward_break_fails_full_and_forward_but_not_backward() {
    let dir = Dir::new("forward");
    let (old, new) = (
        dir.contract::<v1::Progress>("old.json"),
        dir.contract::<v2::Progress>("new.json"),
    );
    for (mode, want) in [
        (None, 1),
        (Some("full"), 1),
        (Some("forward"), 1),
        (Some("backward"), 0),
    ] {
        let out = match mode {
            None => continuum(&[&"contract", &"diff", &old, &new]),
            Some(m) => continuum(&[&"contract", &"diff", &old, &new, &"--mode", &m]),
        };
        assert_eq!(code(&out), want, "mode {mode:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), V1_TO_V2, "mode {mode:?}");
    }
    let out = continuum(&[&"contract", &"diff", &"--mode=backward", &old, &new]);
    assert_eq!(code(&out), 0);
    assert!(
        stderr(&out).contains("2 change(s), 0 breaking in mode backward"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_reverse_change_breaks_backward() {
    let dir = Dir::new("backward");
    let (old, new) = (
        dir.contract::<v2::Progress>("old.json"),
        dir.contract::<v1::Progress>("new.json"),
    );
    let out = continuum(&[&"contract", &"diff", &old, &new]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        stdout(&out),
        "breaking backward ai.task.progress data.eta: field removed; old workers that still send `eta` get 422 `unknown_field`\n\
         breaking backward ai.task.progress data.stage: variant `running` removed; old workers sending `running` get 422 `type`\n"
    );
    let out = continuum(&[&"contract", &"diff", &old, &new, &"--mode", &"forward"]);
    assert_eq!(code(&out), 0);
}

#[test]
fn compatible_and_identical_contracts_exit_0() {
    let dir = Dir::new("compatible");
    let (v1, v3) = (
        dir.contract::<v1::Progress>("v1.json"),
        dir.contract::<v3::Progress>("v3.json"),
    );
    let out = continuum(&[&"contract", &"diff", &v1, &v3]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "compatible ai.task.progress data.eta: optional field added; old readers ignore it\n"
    );
    let out = continuum(&[&"contract", &"diff", &v1, &v1]);
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out), "");
}

/// `v2`'s break made as an intended one: `v1` kept as version 1, the
/// new shape as version 2 with an upcast.
mod versioned {
    use continuum_runtime::prelude::*;

    #[continuum_event("ai.task.progress", version = 2, upcast_from = super::v1::Progress)]
    pub struct Progress {
        pub task_id: String,
        pub stage: super::v2::Stage,
        pub note: Option<String>,
        pub eta: Option<u32>,
    }

    impl From<super::v1::Progress> for Progress {
        fn from(v1: super::v1::Progress) -> Self {
            let stage = match v1.stage {
                super::v1::Stage::Queued => super::v2::Stage::Queued,
                super::v1::Stage::Done => super::v2::Stage::Done,
            };
            Progress {
                task_id: v1.task_id,
                stage,
                note: v1.note,
                eta: None,
            }
        }
    }
}

#[test]
fn a_new_version_with_an_upcast_is_an_intended_change_and_exits_0() {
    let dir = Dir::new("versioned");
    let (v1, versioned) = (
        dir.contract::<v1::Progress>("v1.json"),
        dir.contract::<versioned::Progress>("versioned.json"),
    );
    let out = continuum(&[&"contract", &"diff", &v1, &versioned]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "compatible ai.task.progress type: new version 2 with an upcast from version 1; \
         old workers' version-1 events are accepted and upcast to version 2; \
         old readers get continuum.reset (contract) instead of version 2\n"
    );
    // Rolled back: stored version-2 events are no longer read.
    let out = continuum(&[
        &"contract",
        &"diff",
        &versioned,
        &v1,
        &"--mode",
        &"backward",
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).starts_with("breaking backward ai.task.progress type: version 2 removed"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn unreadable_input_exits_2_with_a_message() {
    let dir = Dir::new("unreadable");
    let good = dir.contract::<v1::Progress>("good.json");
    let missing = dir.0.join("missing.json");
    let bad_json = dir.file("bad.json", "{\"continuum_contract\": 1,");
    let not_contract = dir.file("other.json", "{\"name\": \"package.json\"}");
    let cases: [(&Path, &str); 3] = [
        (&missing, "missing.json"),
        (&bad_json, "not valid JSON"),
        (&not_contract, "not a Continuum contract"),
    ];
    for (path, says) in cases {
        for args in [[&good, path], [path, &good]] {
            let out = continuum(&[&"contract", &"diff", &args[0], &args[1]]);
            assert_eq!(code(&out), 2, "{path:?}");
            assert!(stderr(&out).contains(says), "{path:?}: {}", stderr(&out));
            assert_eq!(stdout(&out), "");
        }
    }
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    for args in [
        &[][..],
        &["tail"],
        &["contract"],
        &["contract", "merge"],
        &["contract", "diff", "a.json"],
        &["contract", "diff", "a.json", "b.json", "--strict"],
        &["contract", "diff", "a.json", "b.json", "--mode", "sideways"],
    ] {
        let args: Vec<&dyn AsRef<std::ffi::OsStr>> = args.iter().map(|a| a as _).collect();
        let out = continuum(&args);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("usage: continuum"),
            "{}",
            stderr(&out)
        );
    }
    for args in [&["--help"][..], &["contract", "diff", "--help"]] {
        let args: Vec<&dyn AsRef<std::ffi::OsStr>> = args.iter().map(|a| a as _).collect();
        let out = continuum(&args);
        assert_eq!(code(&out), 0);
        assert!(
            stdout(&out).contains("contract diff OLD.json NEW.json [--mode full|backward|forward]")
        );
    }
}
