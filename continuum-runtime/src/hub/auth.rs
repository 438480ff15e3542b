//! Who sees what: the grant an authorization hook gives a subscriber, or the
//! rejection it answers with.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

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
///
/// # Expiry
///
/// A grant may expire ([`with_expiry`](Self::with_expiry), e.g. when the
/// session or token it was decided from does): at that moment the stream
/// sends `event: continuum.reset` with `{"reason":"expired"}` and ends, so the
/// browser reconnects and the hook decides afresh — a user who logged out
/// or was banned stops receiving within the grant's lifetime, not when they
/// happen to disconnect. Frames not yet written when it expires are dropped.
/// The `reset` carries no `id`, so a reconnect the hook authorizes again
/// replays from the last event the client received.
///
/// With [`HubBuilder::max_connection_lifetime`](crate::HubBuilder::max_connection_lifetime)
/// as well, whichever comes first ends the stream: the lifetime cap ends it
/// quietly (no reset; checked on the heartbeat ticker, so up to one
/// heartbeat late), the expiry with the `expired` reset, on time.
///
/// ```
/// use std::time::Duration;
/// use continuum_runtime::hub::Grant;
///
/// let g = Grant::public().with_channel("user:42").with_expiry(Duration::from_secs(900));
/// assert!(g.expires_at().is_some());
/// assert!(!g.is_expired());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grant {
    channels: Vec<Arc<str>>,
    all: bool,
    expires_at: Option<Instant>,
}

/// When a [`Grant`] expires: an [`Instant`], a [`SystemTime`] (e.g. a
/// session's or a JWT's `exp`), a [`tokio::time::Instant`], or a
/// [`Duration`] from now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry(Instant);

impl From<Instant> for Expiry {
    fn from(at: Instant) -> Self {
        Expiry(at)
    }
}

impl From<tokio::time::Instant> for Expiry {
    fn from(at: tokio::time::Instant) -> Self {
        Expiry(at.into_std())
    }
}

impl From<Duration> for Expiry {
    /// From now, on Tokio's clock (so paused time in tests applies).
    fn from(ttl: Duration) -> Self {
        let now = tokio::time::Instant::now();
        Expiry(now.checked_add(ttl).unwrap_or(now + FAR).into_std())
    }
}

impl From<SystemTime> for Expiry {
    /// A wall-clock time, converted once: a past time means expired now.
    fn from(at: SystemTime) -> Self {
        let now = tokio::time::Instant::now();
        let ttl = at.duration_since(SystemTime::now()).unwrap_or_default();
        Expiry(now.checked_add(ttl).unwrap_or(now + FAR).into_std())
    }
}

/// "Never", for expiries too far away to represent.
const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

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
            expires_at: None,
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
            expires_at: None,
        }
    }

    /// Also grant `channel`.
    pub fn with_channel(mut self, channel: impl Into<Arc<str>>) -> Self {
        self.channels.push(channel.into());
        self
    }

    /// End the subscription at `at` with a `continuum.reset` `expired` (see
    /// [Expiry](Self#expiry)): an [`Instant`], a [`SystemTime`] or a
    /// [`Duration`] from now. The earliest of several calls wins.
    pub fn with_expiry(mut self, at: impl Into<Expiry>) -> Self {
        let at = at.into().0;
        self.expires_at = Some(self.expires_at.map_or(at, |old| old.min(at)));
        self
    }

    /// When the grant expires, if it does.
    pub fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }

    /// Whether the grant has expired (on Tokio's clock).
    pub fn is_expired(&self) -> bool {
        self.expires_at
            .is_some_and(|at| tokio::time::Instant::now().into_std() >= at)
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
