//! `continuum contract diff OLD.json NEW.json [--mode full|backward|forward]`.
//!
//! Prints one line per change, breaking ones first, as
//! [`Report`](continuum_runtime::contract::Report) writes them —
//! `breaking <backward|forward|both> <event> <path>: <why>` and
//! `compatible <event> <path>: <what>` — on stdout, and a one-line summary
//! on stderr. Exits 0 when nothing breaks in the mode (default `full`: either
//! direction), 1 when something does, 2 when a file cannot be read or is not
//! a contract, or the arguments are wrong.

use std::process::ExitCode;

use continuum_runtime::contract::{diff, Contract, Mode};

use crate::{usage_error, BREAKS, UNUSABLE};

/// Run `continuum contract <args>`.
pub(crate) fn run(args: &[String]) -> ExitCode {
    match args.first().map(String::as_str) {
        Some("diff") => match parse_diff(&args[1..]) {
            Ok(Some(diff)) => diff.run(),
            Ok(None) => {
                print!("{}", crate::USAGE);
                ExitCode::SUCCESS
            }
            Err(message) => usage_error(&message),
        },
        Some("-h" | "--help") => {
            print!("{}", crate::USAGE);
            ExitCode::SUCCESS
        }
        Some(other) => usage_error(&format!("unknown `contract` subcommand `{other}`")),
        None => usage_error("`contract` needs a subcommand: `diff`"),
    }
}

/// A parsed `contract diff`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Diff {
    old: String,
    new: String,
    mode: Mode,
}

/// The arguments after `diff`: two files and `--mode M` (or `--mode=M`), in
/// any order. `Ok(None)` for `--help`.
fn parse_diff(args: &[String]) -> Result<Option<Diff>, String> {
    let mut files = Vec::new();
    let mut mode = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--mode" => Some(args.next().ok_or("`--mode` needs a value")?.as_str()),
            other => other.strip_prefix("--mode="),
        };
        match value {
            Some(_) if mode.is_some() => return Err("`--mode` given twice".into()),
            Some(v) => mode = Some(v.parse::<Mode>()?),
            None if arg.starts_with('-') && arg != "-" => {
                return Err(format!("unknown option `{arg}`"))
            }
            None => files.push(arg.clone()),
        }
    }
    match <[String; 2]>::try_from(files) {
        Ok([old, new]) => Ok(Some(Diff {
            old,
            new,
            mode: mode.unwrap_or(Mode::Full),
        })),
        Err(files) => Err(format!(
            "`contract diff` takes two files, OLD and NEW; got {}",
            files.len()
        )),
    }
}

impl Diff {
    fn run(&self) -> ExitCode {
        let (old, new) = match (read(&self.old), read(&self.new)) {
            (Ok(old), Ok(new)) => (old, new),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("continuum: {e}");
                return ExitCode::from(UNUSABLE);
            }
        };
        let report = diff(&old, &new);
        print!("{report}");
        let breaking = report
            .changes()
            .iter()
            .filter(|c| c.breaks(self.mode))
            .count();
        let mode = match self.mode {
            Mode::Full => "full",
            Mode::Backward => "backward",
            Mode::Forward => "forward",
        };
        eprintln!(
            "continuum: {} change(s), {breaking} breaking in mode {mode}",
            report.changes().len()
        );
        if breaking > 0 {
            ExitCode::from(BREAKS)
        } else {
            ExitCode::SUCCESS
        }
    }
}

fn read(path: &str) -> Result<Contract, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("`{path}`: {e}"))?;
    Contract::from_json(&text).map_err(|e| format!("`{path}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_in_any_order() {
        let want = Diff {
            old: "a".into(),
            new: "b".into(),
            mode: Mode::Forward,
        };
        for a in [
            &["a", "b", "--mode", "forward"][..],
            &["--mode=forward", "a", "b"],
            &["a", "--mode", "forward", "b"],
        ] {
            assert_eq!(parse_diff(&args(a)), Ok(Some(want.clone())));
        }
        assert_eq!(
            parse_diff(&args(&["a", "b"])).unwrap().unwrap().mode,
            Mode::Full
        );
    }

    #[test]
    fn bad_arguments_are_errors() {
        for a in [
            &["a"][..],
            &["a", "b", "c"],
            &["a", "b", "--mode"],
            &["a", "b", "--mode", "sideways"],
            &["a", "b", "--mode=full", "--mode=full"],
            &["a", "b", "--strict"],
        ] {
            assert!(parse_diff(&args(a)).is_err(), "{a:?}");
        }
        assert_eq!(parse_diff(&args(&["--help"])), Ok(None));
    }
}
