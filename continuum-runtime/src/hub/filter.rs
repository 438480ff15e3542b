//! `?types=` filters: exact names or prefix wildcards.

use std::fmt;
use std::sync::Arc;

/// Which event types a subscriber wants: every type, or a list of exact
/// names and prefix wildcards (`media.*` matches `media.upload` and
/// `media.upload.done`, not `media` or `mediaX`).
///
/// Control events (`continuum.connected`, `continuum.reset`) and heartbeats
/// are always sent.
///
/// ```
/// use continuum_runtime::hub::TypeFilter;
///
/// let f = TypeFilter::parse("ai.task.progress, media.*").unwrap();
/// assert!(f.matches("ai.task.progress"));
/// assert!(f.matches("media.upload.done"));
/// assert!(!f.matches("ai.task.done"));
/// assert!(!f.matches("media"));
/// assert!(TypeFilter::parse("").unwrap().matches("anything"));
/// assert!(TypeFilter::parse("a*b").is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeFilter {
    /// Empty: everything.
    patterns: Arc<[Pattern]>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    Exact(Box<str>),
    /// The prefix including its trailing dot, e.g. `media.`.
    Prefix(Box<str>),
}

impl TypeFilter {
    /// Every event type.
    pub fn all() -> Self {
        TypeFilter::default()
    }

    /// Parse a comma-separated list (the `types` query parameter). Empty items
    /// are ignored; an empty list, or `*` alone, means every type.
    ///
    /// # Errors
    /// An item with characters outside `[A-Za-z0-9._-]`, an empty segment, or a
    /// `*` anywhere but a whole last segment (`a.*`).
    pub fn parse(list: &str) -> Result<Self, TypeFilterError> {
        let mut patterns = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "*" {
                return Ok(TypeFilter::all());
            }
            let (name, wildcard) = match item.strip_suffix(".*") {
                Some(p) => (p, true),
                None => (item, false),
            };
            let valid = !name.is_empty()
                && name.split('.').all(|seg| {
                    !seg.is_empty()
                        && seg
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                });
            if !valid {
                return Err(TypeFilterError {
                    item: item.to_owned(),
                });
            }
            patterns.push(if wildcard {
                Pattern::Prefix(format!("{name}.").into())
            } else {
                Pattern::Exact(name.into())
            });
        }
        Ok(TypeFilter {
            patterns: patterns.into(),
        })
    }

    /// Whether every type passes.
    pub fn is_all(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether events of `type_name` pass.
    #[inline]
    pub fn matches(&self, type_name: &str) -> bool {
        self.patterns.is_empty()
            || self.patterns.iter().any(|p| match p {
                Pattern::Exact(n) => **n == *type_name,
                Pattern::Prefix(p) => type_name.len() > p.len() && type_name.starts_with(&**p),
            })
    }
}

/// A `types` item that is not an event name or a prefix wildcard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeFilterError {
    item: String,
}

impl TypeFilterError {
    /// The offending item.
    pub fn item(&self) -> &str {
        &self.item
    }
}

impl fmt::Display for TypeFilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not an event type or a prefix wildcard; expected e.g. `ai.task.progress` or `media.*`",
            self.item
        )
    }
}

impl std::error::Error for TypeFilterError {}
