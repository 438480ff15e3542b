//! Validation issues: what `validate()` and ingest report about a bad payload.
//!
//! Every issue names where it is (`path`, in wire names, rooted at the
//! payload), what kind of rule failed (`code`), and a human `message`.
//!
//! ```
//! use continuum_runtime::{Issue, IssueCode, ValidationErrors};
//!
//! let errors = ValidationErrors::from(vec![Issue::new("progress", IssueCode::Range, "must be at most 100")]);
//! assert_eq!(
//!     serde_json::to_string(&errors).unwrap(),
//!     r#"[{"path":"progress","code":"range","message":"must be at most 100"}]"#
//! );
//! ```

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

/// The kind of rule an [`Issue`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueCode {
    /// A number outside its `range`.
    Range,
    /// A string, sequence or map whose `length` is out of bounds.
    Length,
    /// A string that does not match its `pattern`.
    Pattern,
    /// A `custom` check returned an error.
    Custom,
    /// The JSON value has the wrong type (or is not valid for the field).
    Type,
    /// A required field is missing.
    Required,
    /// The payload has a field the event does not declare.
    UnknownField,
}

impl IssueCode {
    /// The code as it appears on the wire, e.g. `"unknown_field"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            IssueCode::Range => "range",
            IssueCode::Length => "length",
            IssueCode::Pattern => "pattern",
            IssueCode::Custom => "custom",
            IssueCode::Type => "type",
            IssueCode::Required => "required",
            IssueCode::UnknownField => "unknown_field",
        }
    }
}

impl fmt::Display for IssueCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with a payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Where the problem is, in wire names: `taskId`, `items[2].name`.
    /// Empty for the payload itself.
    pub path: String,
    /// What kind of rule failed.
    pub code: IssueCode,
    /// A sentence for a human.
    pub message: Cow<'static, str>,
}

impl Issue {
    /// A new issue.
    pub fn new(
        path: impl Into<String>,
        code: IssueCode,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Issue {
            path: path.into(),
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{} ({})", self.message, self.code)
        } else {
            write!(f, "{}: {} ({})", self.path, self.message, self.code)
        }
    }
}

/// Every issue found in a payload; never empty.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors(Vec<Issue>);

impl ValidationErrors {
    /// The issues, in the order they were found.
    pub fn issues(&self) -> &[Issue] {
        &self.0
    }
    /// Take the issues.
    pub fn into_issues(self) -> Vec<Issue> {
        self.0
    }
    /// Put `prefix` in front of every path, e.g. `data` → `data.progress`,
    /// or `[3].data` → `[3].data.progress`.
    pub fn prefixed(mut self, prefix: &str) -> Self {
        for issue in &mut self.0 {
            issue.path = join_path(prefix, &issue.path);
        }
        self
    }
}

impl From<Vec<Issue>> for ValidationErrors {
    fn from(issues: Vec<Issue>) -> Self {
        ValidationErrors(issues)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} validation issue{}", if n == 1 { "" } else { "s" })?;
        for (i, issue) in self.0.iter().enumerate() {
            write!(f, "{}{issue}", if i == 0 { ": " } else { "; " })?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

fn join_path(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_owned()
    } else if rest.is_empty() {
        prefix.to_owned()
    } else if rest.starts_with('[') {
        format!("{prefix}{rest}")
    } else {
        format!("{prefix}.{rest}")
    }
}

/// One step of a path into a payload.
#[derive(Clone, Debug)]
enum Segment {
    Field(&'static str),
    Index(usize),
    Key(String),
}

/// Walks a payload collecting issues; handed to [`Payload::check`](crate::Payload::check).
///
/// Generated code enters a field, checks it, and leaves; the checker keeps the
/// path so each issue is recorded where it was found.
#[derive(Debug, Default)]
pub struct Checker {
    path: Vec<Segment>,
    issues: Vec<Issue>,
}

impl Checker {
    /// An empty checker at the payload's root.
    pub fn new() -> Self {
        Checker::default()
    }

    /// Descend into the field with wire name `name`.
    pub fn enter_field(&mut self, name: &'static str) {
        self.path.push(Segment::Field(name));
    }
    /// Descend into element `index` of a sequence.
    pub fn enter_index(&mut self, index: usize) {
        self.path.push(Segment::Index(index));
    }
    /// Descend into the value at `key` of a map.
    pub fn enter_key(&mut self, key: &str) {
        self.path.push(Segment::Key(key.to_owned()));
    }
    /// Go back up one step.
    pub fn leave(&mut self) {
        self.path.pop();
    }

    /// Record an issue at the current path.
    pub fn report(&mut self, code: IssueCode, message: impl Into<Cow<'static, str>>) {
        let path = self.current_path();
        self.issues.push(Issue {
            path,
            code,
            message: message.into(),
        });
    }

    /// Whether no issue has been recorded.
    pub fn is_ok(&self) -> bool {
        self.issues.is_empty()
    }

    /// The current path rendered in wire names: `items[2].name`, `labels.env`,
    /// `labels["odd key"]`.
    pub fn current_path(&self) -> String {
        let mut out = String::new();
        for seg in &self.path {
            match seg {
                Segment::Field(name) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(name);
                }
                Segment::Index(i) => {
                    use fmt::Write;
                    let _ = write!(out, "[{i}]");
                }
                Segment::Key(key) => {
                    let plain = !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if plain {
                        if !out.is_empty() {
                            out.push('.');
                        }
                        out.push_str(key);
                    } else {
                        out.push('[');
                        out.push_str(&serde_json::to_string(key).unwrap_or_default());
                        out.push(']');
                    }
                }
            }
        }
        out
    }

    /// `Ok` when nothing was reported, else every issue.
    pub fn finish(self) -> Result<(), ValidationErrors> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(self.issues))
        }
    }
}
