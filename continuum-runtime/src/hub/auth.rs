//! Who sees what: the grant an authorization hook gives a subscriber, or the
//! rejection it answers with.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::StatusCode;

/// The authorization hook: sees the subscription request's head (method, URI,
/// headers such as `cookie`) and grants channels or rejects.
pub type AuthHook = Arc<dyn Fn(&http::request::Parts) -> Result<Grant, Reject> + Send + Sync>;

/// What a subscriber may see: every public event (no channel), plus events
/// emitted to the channels listed here.
///
/// ```
/// use continuum_runtime::hub::Grant;
///
/// let g = Grant::public().with_channel("user:42").with_channel("team:7");
/// assert!(g.allows(None));
/// assert!(g.allows(Some("user:42")));
/// assert!(!g.allows(Some("user:43")));
/// assert!(Grant::all_channels().allows(Some("anything")));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grant {
    channels: Vec<Arc<str>>,
    all: bool,
}

impl Grant {
    /// Public events only (what every subscriber gets without a hook).
    pub fn public() -> Self {
        Grant::default()
    }

    /// Public events and the events of every channel (operators, tests).
    pub fn all_channels() -> Self {
        Grant {
            channels: Vec::new(),
            all: true,
        }
    }

    /// Public events and the given channels.
    pub fn channels<I, S>(channels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Arc<str>>,
    {
        Grant {
            channels: channels.into_iter().map(Into::into).collect(),
            all: false,
        }
    }

    /// Also grant `channel`.
    pub fn with_channel(mut self, channel: impl Into<Arc<str>>) -> Self {
        self.channels.push(channel.into());
        self
    }

    /// The channels granted (empty for [`public`](Self::public) and [`all_channels`](Self::all_channels)).
    pub fn granted_channels(&self) -> impl Iterator<Item = &str> {
        self.channels.iter().map(|c| &**c)
    }

    /// Whether an event on `channel` (`None`: public) may be delivered.
    #[inline]
    pub fn allows(&self, channel: Option<&str>) -> bool {
        match channel {
            None => true,
            Some(c) => self.all || self.channels.iter().any(|g| **g == *c),
        }
    }
}

/// A refused subscription: the HTTP layer answers with [`status`](Self::status)
/// (`401` or `403`, which also stops a browser's `EventSource` from
/// reconnecting) and a JSON body carrying [`message`](Self::message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    status: StatusCode,
    message: Cow<'static, str>,
}

impl Reject {
    /// `401 Unauthorized`: no or bad credentials.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Reject {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
        }
    }

    /// `403 Forbidden`: authenticated, but not allowed.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Reject {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }

    /// Any status; client and server errors only (anything else becomes `403`).
    pub fn with_status(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        let status = if status.is_client_error() || status.is_server_error() {
            status
        } else {
            StatusCode::FORBIDDEN
        };
        Reject {
            status,
            message: message.into(),
        }
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The human-readable reason, for the JSON body.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for Reject {}
