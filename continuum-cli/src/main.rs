//! `continuum`: the command-line side of Continuum.
//!
//! ```text
//! continuum contract diff OLD.json NEW.json [--mode full|backward|forward]
//! continuum tail URL [--types LIST] [--snapshot] [--token T] [-H 'N: V'] [--json]
//! ```
//!
//! Each subcommand lives in its own module (`contract_cmd` for `contract`,
//! `tail`); `main` only dispatches on the first word, so a new one is a
//! module and one arm here. Exit codes are a contract: 0 success,
//! 1 the command's check failed (a breaking change), 2 unusable input or
//! usage (with a message on stderr).

mod contract_cmd;
mod tail;

use std::process::ExitCode;

/// Usage for the whole command.
const USAGE: &str = "\
usage: continuum <command> [args]

commands:
  contract diff OLD.json NEW.json [--mode full|backward|forward]
      compare two contract files (Contract::to_json); exit 0 when nothing
      breaks in the mode (default full), 1 when something does, 2 on
      unreadable input
  tail URL [--types LIST] [--snapshot] [--token T] [-H 'N: V'] [--json]
      follow a server's events, one line each, with reconnects and resets
      shown (`continuum tail --help` for every option)

options:
  -h, --help    print this help
";

/// Exit code for a failed check (a breaking change).
pub(crate) const BREAKS: u8 = 1;
/// Exit code for bad usage or unreadable input.
pub(crate) const UNUSABLE: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("contract") => contract_cmd::run(&args[1..]),
        Some("tail") => tail::run(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => usage_error(&format!("unknown command `{other}`")),
        None => usage_error("missing command"),
    }
}

/// Print `message` and the usage to stderr; exit 2.
pub(crate) fn usage_error(message: &str) -> ExitCode {
    eprint!("continuum: {message}\n\n{USAGE}");
    ExitCode::from(UNUSABLE)
}
