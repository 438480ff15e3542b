//! The demo's contract is committed at the repository root as
//! `continuum.contract.json` and fresh (as `typescript.rs` checks the
//! TypeScript module), and the one-line guard the README gives users holds
//! for it.

use std::path::Path;

use continuum_runtime::contract::{self, Checked};
use continuum_runtime::typescript::{sync_file, Mode};

fn committed() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("continuum.contract.json")
}

#[test]
fn the_demos_contract_is_committed_and_fresh() {
    // Regenerate with: cargo run --example ai_progress -- --contract > continuum.contract.json
    let mode = if std::env::var_os("CONTINUUM_REGENERATE").is_some() {
        Mode::Write
    } else {
        Mode::Check
    };
    if let Err(stale) = sync_file(committed(), &continuum::demo::contract(), mode) {
        panic!(
            "{stale}\nregenerate: cargo run --example ai_progress -- --contract > continuum.contract.json"
        );
    }
}

#[test]
fn the_readme_guard_passes_on_the_committed_contract() {
    // What a project writes in its own tests (README, "Changing events safely").
    let checked = contract::check(committed(), &continuum::demo::registry()).unwrap();
    assert_eq!(checked, Checked::Fresh);
}
