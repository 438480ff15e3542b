//! Helpers shared by the tests that drive programs outside Rust (browsers, Node).

use std::path::PathBuf;

/// `program` on `PATH`, else the first of `candidates` that exists.
pub fn find(program: &str, candidates: &[&str]) -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    from_path.or_else(|| candidates.iter().map(PathBuf::from).find(|p| p.is_file()))
}

/// Whether this is CI (`CI=true` or `CI=1`): a missing program fails instead of skipping.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}
