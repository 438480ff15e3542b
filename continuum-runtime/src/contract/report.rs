//! The report's vocabulary: which [`Direction`] a change breaks, the
//! [`Mode`] a check is made in, one [`Change`] per difference, and the
//! [`Report`] of all of them, with the line format the CLI prints.

use std::fmt;

/// Which direction(s) a change breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The new build rejects or misreads what old writers send or stored.
    Backward,
    /// Old readers cannot read what the new build accepts.
    Forward,
    /// Both.
    Both,
    /// Neither: the change is compatible.
    None,
}

impl Direction {
    /// `backward`, `forward`, `both` or `none`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::Backward => "backward",
            Direction::Forward => "forward",
            Direction::Both => "both",
            Direction::None => "none",
        }
    }
}

/// Which breaks count: what [`Report::breaks`] asks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Either direction (the default: a rolling deploy has both).
    Full,
    /// Only backward breaks (old writers, stored events, new readers).
    Backward,
    /// Only forward breaks (new writers, old readers).
    Forward,
}

impl std::str::FromStr for Mode {
    type Err = String;

    /// `full`, `backward` or `forward`.
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "full" => Ok(Mode::Full),
            "backward" => Ok(Mode::Backward),
            "forward" => Ok(Mode::Forward),
            other => Err(format!(
                "unknown mode `{other}`; expected `full`, `backward` or `forward`"
            )),
        }
    }
}

/// One difference between two contracts, at one wire path of one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The event's type name (or the control event's, or `continuum` for
    /// the envelope).
    pub event: String,
    /// Where on the wire: `type` for the event itself, `data.note`,
    /// `data.files[].name`, `data.stage[kind=failed].reason`, …
    pub path: String,
    /// What changed, in words: "optional field added".
    pub what: String,
    /// Why it breaks backward, if it does: whom it fails and how.
    pub backward: Option<String>,
    /// Why it breaks forward, if it does.
    pub forward: Option<String>,
    /// Why it is harmless, for a compatible change.
    pub note: Option<String>,
}

impl Change {
    /// Which direction(s) the change breaks.
    pub fn direction(&self) -> Direction {
        match (&self.backward, &self.forward) {
            (Some(_), Some(_)) => Direction::Both,
            (Some(_), None) => Direction::Backward,
            (None, Some(_)) => Direction::Forward,
            (None, None) => Direction::None,
        }
    }

    /// Whether the change breaks in `mode`.
    pub fn breaks(&self, mode: Mode) -> bool {
        match mode {
            Mode::Full => self.backward.is_some() || self.forward.is_some(),
            Mode::Backward => self.backward.is_some(),
            Mode::Forward => self.forward.is_some(),
        }
    }
}

/// One line: `breaking <direction> <event> <path>: <what>; <why>…` or
/// `compatible <event> <path>: <what>; <note>`.
impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.direction() {
            Direction::None => write!(f, "compatible {} {}: {}", self.event, self.path, self.what)?,
            dir => write!(
                f,
                "breaking {} {} {}: {}",
                dir.as_str(),
                self.event,
                self.path,
                self.what
            )?,
        }
        for why in [&self.backward, &self.forward, &self.note]
            .into_iter()
            .flatten()
        {
            write!(f, "; {why}")?;
        }
        Ok(())
    }
}

/// Every change between two contracts: the breaking ones first, each group
/// sorted by event, then path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub(super) changes: Vec<Change>,
}

impl Report {
    /// The changes: breaking ones first, then by event and path.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Whether some change breaks in `mode`.
    pub fn breaks(&self, mode: Mode) -> bool {
        self.changes.iter().any(|c| c.breaks(mode))
    }

    /// Whether the contracts differ in nothing but docs and order.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// One line per change (see [`Change`]'s `Display`), each ending in a newline.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for change in &self.changes {
            writeln!(f, "{change}")?;
        }
        Ok(())
    }
}
