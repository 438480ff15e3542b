//! [`check`]: the contract guard a project puts in its own `cargo test`.
//!
//! ```no_run
//! #[test]
//! fn the_contract_holds() {
//!     let registry = continuum_runtime::Registry::from_inventory().unwrap();
//!     continuum_runtime::contract::check("continuum.contract.json", &registry)
//!         .unwrap_or_else(|e| panic!("{e}"));
//! }
//! ```
//!
//! The committed file is the contract of what is deployed. A change to the
//! declarations that breaks it (backward or forward, see the
//! [module docs](super)) fails the test with the report; a compatible change
//! passes and says the file is stale; `CONTINUUM_CONTRACT=update` writes
//! the file (an intended change). Under `CI=true` (or `1`) the file is never
//! written: a missing one fails. Writing reuses
//! [`typescript::sync_file`](crate::typescript::sync_file), the freshness
//! mechanism of the TypeScript module.

use std::fmt;
use std::path::{Path, PathBuf};

use super::{diff, Contract, ContractError, Mode, Report};
use crate::registry::Registry;
use crate::typescript::{self, sync_file, Synced};

/// How [`check_with`] may treat the file: what [`check`] reads from the
/// environment, passed explicitly (so tests need not set variables).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// Write the current contract to the file (`CONTINUUM_CONTRACT=update`).
    pub update: bool,
    /// Never write; a missing file fails (`CI=true` or `CI=1`).
    pub ci: bool,
}

impl CheckOptions {
    /// `update` when `CONTINUUM_CONTRACT=update`; `ci` as
    /// [`typescript::Mode::from_env`] decides it.
    pub fn from_env() -> CheckOptions {
        CheckOptions {
            update: std::env::var("CONTINUUM_CONTRACT").is_ok_and(|v| v == "update"),
            ci: typescript::Mode::from_env() == typescript::Mode::Check,
        }
    }

    fn may_write(self) -> bool {
        !self.ci
    }
}

/// What [`check`] found when nothing breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    /// The file holds the current contract.
    Fresh,
    /// The file was missing and has been written (outside CI): commit it.
    Created(PathBuf),
    /// `CONTINUUM_CONTRACT=update`: the file now holds the current contract;
    /// the report lists what changed from the one it held.
    Updated(PathBuf, Report),
    /// The declarations changed compatibly: nothing breaks, but the file
    /// does not hold the current contract. The report lists the changes.
    Stale(PathBuf, Report),
}

impl fmt::Display for Checked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Checked::Fresh => f.write_str("the contract file is up to date"),
            Checked::Created(path) => write!(
                f,
                "wrote the contract to `{}` (it was missing): commit it",
                path.display()
            ),
            Checked::Updated(path, report) => write!(
                f,
                "updated `{}` (CONTINUUM_CONTRACT=update): commit it\n{report}",
                path.display()
            ),
            Checked::Stale(path, report) => {
                write!(
                    f,
                    "`{}` is stale: the declarations changed compatibly; update it with \
                     `CONTINUUM_CONTRACT=update cargo test` once what it describes is deployed",
                    path.display()
                )?;
                if report.is_empty() {
                    f.write_str(" (docs or order only)\n")
                } else {
                    write!(f, "\n{report}")
                }
            }
        }
    }
}

/// Why [`check`] failed.
#[derive(Debug)]
pub enum CheckError {
    /// The declarations break the committed contract; the report says how.
    Breaking(PathBuf, Report),
    /// Under CI there is no contract file (it is never written there).
    Missing(PathBuf),
    /// The file is not a contract.
    Unreadable(PathBuf, ContractError),
    /// Reading or writing the file failed.
    Io(PathBuf, std::io::Error),
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::Breaking(path, report) => write!(
                f,
                "the event declarations break the contract in `{}`:\n{report}\
                 Keep old writers and readers working (make the field optional, add a \
                 variant only once every reader knows it, …), or, if the break is intended \
                 and nothing deployed depends on the old contract, accept it with \
                 `CONTINUUM_CONTRACT=update cargo test` and commit the file.",
                path.display()
            ),
            CheckError::Missing(path) => write!(
                f,
                "`{}` is missing, and CI never writes it: run `cargo test` locally \
                 (it writes the file) and commit it",
                path.display()
            ),
            CheckError::Unreadable(path, e) => write!(
                f,
                "`{}`: {e}; fix it, or rewrite it with `CONTINUUM_CONTRACT=update cargo test`",
                path.display()
            ),
            CheckError::Io(path, e) => write!(f, "`{}`: {e}", path.display()),
        }
    }
}

impl std::error::Error for CheckError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckError::Unreadable(_, e) => Some(e),
            CheckError::Io(_, e) => Some(e),
            _ => None,
        }
    }
}

/// Compare the contract committed at `path` with `registry`'s, with the
/// options from the environment ([`CheckOptions::from_env`]); see the
/// [module docs](crate::contract) and [`check_with`]. A stale or newly written file is
/// `Ok`, and its message is also printed to stderr so `cargo test` shows it.
///
/// # Errors
///
/// See [`check_with`].
pub fn check(path: impl AsRef<Path>, registry: &Registry) -> Result<Checked, CheckError> {
    let checked = check_with(path, registry, CheckOptions::from_env())?;
    if checked != Checked::Fresh {
        eprintln!("continuum: {checked}");
    }
    Ok(checked)
}

/// [`check`] with explicit options.
///
/// ```
/// use continuum_runtime::contract::{check_with, CheckError, CheckOptions, Checked};
/// use continuum_runtime::Registry;
///
/// let path = std::env::temp_dir().join(format!("continuum-check-doc-{}.json", std::process::id()));
/// let registry = Registry::new();
/// let ci = CheckOptions { update: false, ci: true };
/// assert!(matches!(check_with(&path, &registry, ci), Err(CheckError::Missing(_))));
/// let local = CheckOptions::default();
/// assert!(matches!(check_with(&path, &registry, local), Ok(Checked::Created(_))));
/// assert_eq!(check_with(&path, &registry, ci).unwrap(), Checked::Fresh);
/// # std::fs::remove_file(&path).unwrap();
/// ```
///
/// # Errors
///
/// [`CheckError::Breaking`] when the declarations break the committed
/// contract in either direction (and `update` is off or `ci` on);
/// [`CheckError::Missing`] when the file is missing under `ci`;
/// [`CheckError::Unreadable`] when it is not a contract (unless updating);
/// [`CheckError::Io`] when it cannot be read or written.
pub fn check_with(
    path: impl AsRef<Path>,
    registry: &Registry,
    options: CheckOptions,
) -> Result<Checked, CheckError> {
    let path = path.as_ref();
    let current = Contract::of(registry);
    let text = current.to_json();
    let write = || match sync_file(path, &text, typescript::Mode::Write) {
        Ok(Synced::Written | Synced::Unchanged) => Ok(()),
        Err(typescript::SyncError::Io { source, .. }) => Err(CheckError::Io(path.into(), source)),
        Err(typescript::SyncError::Stale { .. }) => unreachable!("Mode::Write never reports stale"),
    };
    let committed = match std::fs::read_to_string(path) {
        Ok(committed) => committed,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !options.may_write() {
                return Err(CheckError::Missing(path.into()));
            }
            write()?;
            return Ok(Checked::Created(path.into()));
        }
        Err(e) => return Err(CheckError::Io(path.into(), e)),
    };
    if committed == text {
        return Ok(Checked::Fresh);
    }
    let updating = options.update && options.may_write();
    let old = match Contract::from_json(&committed) {
        Ok(old) => old,
        Err(_) if updating => {
            write()?;
            return Ok(Checked::Updated(path.into(), Report::default()));
        }
        Err(e) => return Err(CheckError::Unreadable(path.into(), e)),
    };
    let report = diff(&old, &current);
    if updating {
        write()?;
        return Ok(Checked::Updated(path.into(), report));
    }
    if report.breaks(Mode::Full) {
        return Err(CheckError::Breaking(path.into(), report));
    }
    Ok(Checked::Stale(path.into(), report))
}
