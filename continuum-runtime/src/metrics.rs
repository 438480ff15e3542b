//! Counters of what the hub does, read with [`Hub::metrics`](crate::Hub::metrics).
//!
//! All counters are relaxed atomics: cheap on the hot path, and a snapshot is
//! a consistent-enough view for dashboards (not a transaction).
//!
//! ```
//! use continuum_runtime::{Hub, metrics::IngestReject};
//!
//! let hub = Hub::builder().build().unwrap();
//! hub.record_ingest_reject(IngestReject::Unauthorized);
//! let m = hub.metrics();
//! assert_eq!(m.ingest_rejects(IngestReject::Unauthorized), 1);
//! assert!(m.to_prometheus().contains("continuum_ingest_rejects_total{reason=\"unauthorized\"} 1"));
//! ```

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Why an ingest request (`POST`) was refused; one counter each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IngestReject {
    /// `400`: the body is not valid JSON or not an envelope.
    MalformedJson,
    /// `401`: missing or wrong ingest token.
    Unauthorized,
    /// `413`: the body is over the limit.
    PayloadTooLarge,
    /// `415`: wrong content type.
    UnsupportedMediaType,
    /// `422`: the event type is not registered.
    UnknownType,
    /// `422`: the payload failed validation.
    Invalid,
    /// `422`: a publisher sent a reserved `continuum.*` type.
    ReservedType,
    /// `405`: a method other than `GET`, `POST` or `OPTIONS`.
    MethodNotAllowed,
    /// The hub could not publish (backplane failure).
    PublishFailed,
    /// `408`: the body did not arrive within the body read timeout.
    BodyTimeout,
}

impl IngestReject {
    /// Every reason, in a fixed order.
    pub const ALL: [IngestReject; 10] = [
        IngestReject::MalformedJson,
        IngestReject::Unauthorized,
        IngestReject::PayloadTooLarge,
        IngestReject::UnsupportedMediaType,
        IngestReject::UnknownType,
        IngestReject::Invalid,
        IngestReject::ReservedType,
        IngestReject::MethodNotAllowed,
        IngestReject::PublishFailed,
        IngestReject::BodyTimeout,
    ];

    /// The label used in metrics, e.g. `malformed_json`.
    pub const fn as_str(self) -> &'static str {
        match self {
            IngestReject::MalformedJson => "malformed_json",
            IngestReject::Unauthorized => "unauthorized",
            IngestReject::PayloadTooLarge => "payload_too_large",
            IngestReject::UnsupportedMediaType => "unsupported_media_type",
            IngestReject::UnknownType => "unknown_type",
            IngestReject::Invalid => "invalid",
            IngestReject::ReservedType => "reserved_type",
            IngestReject::MethodNotAllowed => "method_not_allowed",
            IngestReject::PublishFailed => "publish_failed",
            IngestReject::BodyTimeout => "body_timeout",
        }
    }

    const fn index(self) -> usize {
        match self {
            IngestReject::MalformedJson => 0,
            IngestReject::Unauthorized => 1,
            IngestReject::PayloadTooLarge => 2,
            IngestReject::UnsupportedMediaType => 3,
            IngestReject::UnknownType => 4,
            IngestReject::Invalid => 5,
            IngestReject::ReservedType => 6,
            IngestReject::MethodNotAllowed => 7,
            IngestReject::PublishFailed => 8,
            IngestReject::BodyTimeout => 9,
        }
    }
}

/// What a shared backplane reports (see [`Backplane::metrics`](crate::backplane::Backplane::metrics)).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct BackplaneMetrics {
    /// Whether it can publish now.
    pub up: bool,
    /// Publishes acknowledged since start.
    pub publishes: u64,
    /// Time from `emit` to acknowledgement, summed over `publishes`
    /// (average publish latency = this / `publishes`).
    pub publish_seconds_total: f64,
    /// Publishes that failed (unreachable, or refused).
    pub publish_failures: u64,
    /// Entries the node's reader delivered into its log.
    pub entries_read: u64,
    /// How old the newest entry was when the reader delivered it.
    pub reader_lag_seconds: f64,
    /// Resets the backplane caused (stream lost, entries trimmed unread).
    pub resets: u64,
}

/// The live counters (inside the hub).
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) connections_total: AtomicU64,
    pub(crate) frames_delivered: AtomicU64,
    pub(crate) resets: AtomicU64,
    pub(crate) cut_off: AtomicU64,
    pub(crate) conflated: AtomicU64,
    pub(crate) subscribers_rejected: AtomicU64,
    pub(crate) subscribers_limited: AtomicU64,
    pub(crate) ingest_accepted: AtomicU64,
    pub(crate) ingest_rejects: [AtomicU64; 10],
}

impl Metrics {
    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            subscribers_now: 0,
            connections_total: self.connections_total.load(Relaxed),
            events_published: 0,
            frames_delivered: self.frames_delivered.load(Relaxed),
            resets: self.resets.load(Relaxed),
            subscribers_cut_off: self.cut_off.load(Relaxed),
            subscribers_conflated: self.conflated.load(Relaxed),
            keys: 0,
            keys_evicted: 0,
            subscribers_rejected: self.subscribers_rejected.load(Relaxed),
            subscribers_limited: self.subscribers_limited.load(Relaxed),
            ingest_accepted: self.ingest_accepted.load(Relaxed),
            ingest_rejects: std::array::from_fn(|i| self.ingest_rejects[i].load(Relaxed)),
            backplane: None,
        }
    }

    pub(crate) fn reject(&self, why: IngestReject) {
        self.ingest_rejects[why.index()].fetch_add(1, Relaxed);
    }
}

/// A point-in-time copy of the hub's counters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsSnapshot {
    /// SSE subscribers connected now.
    pub subscribers_now: u64,
    /// SSE subscriptions opened since start.
    pub connections_total: u64,
    /// Events fanned out by this node since start: its own, and with a
    /// shared backplane every other node's too.
    pub events_published: u64,
    /// Event frames written to SSE subscribers (one per event per subscriber;
    /// handshakes, resets and heartbeats not counted).
    pub frames_delivered: u64,
    /// `continuum.reset` frames sent.
    pub resets: u64,
    /// Subscribers cut off for falling behind.
    pub subscribers_cut_off: u64,
    /// Times a subscriber that fell behind on keyed events only was sent
    /// the latest event per key it missed instead of a reset.
    pub subscribers_conflated: u64,
    /// Live keys of keyed event types now (the latest event of each is kept).
    pub keys: u64,
    /// Keys evicted by the bound on live keys per type
    /// ([`HubBuilder::max_keys_per_type`](crate::hub::HubBuilder::max_keys_per_type)).
    pub keys_evicted: u64,
    /// Subscriptions refused by the authorization hook.
    pub subscribers_rejected: u64,
    /// Subscriptions refused by a subscriber cap (`429` per address, `503`
    /// server full), before any stream state was allocated.
    pub subscribers_limited: u64,
    /// Ingest requests accepted.
    pub ingest_accepted: u64,
    ingest_rejects: [u64; 10],
    /// A shared backplane's own figures (`None` for the in-memory one).
    pub backplane: Option<BackplaneMetrics>,
}

impl MetricsSnapshot {
    /// Ingest requests refused for `why`.
    pub fn ingest_rejects(&self, why: IngestReject) -> u64 {
        self.ingest_rejects[why.index()]
    }

    /// The counters in the Prometheus text exposition format (version 0.0.4).
    pub fn to_prometheus(&self) -> String {
        let mut out = String::with_capacity(1536);
        let mut one = |name: &str, kind: &str, help: &str, v: u64| {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            );
        };
        one(
            "continuum_subscribers",
            "gauge",
            "SSE subscribers connected now.",
            self.subscribers_now,
        );
        one(
            "continuum_connections_total",
            "counter",
            "SSE subscriptions opened.",
            self.connections_total,
        );
        one(
            "continuum_events_published_total",
            "counter",
            "Events published.",
            self.events_published,
        );
        one(
            "continuum_frames_delivered_total",
            "counter",
            "Event frames written to subscribers.",
            self.frames_delivered,
        );
        one(
            "continuum_resets_total",
            "counter",
            "continuum.reset frames sent.",
            self.resets,
        );
        one(
            "continuum_subscribers_cut_off_total",
            "counter",
            "Subscribers cut off for falling behind.",
            self.subscribers_cut_off,
        );
        one(
            "continuum_subscribers_conflated_total",
            "counter",
            "Subscribers behind on keyed events only, sent the latest event per key instead of a reset.",
            self.subscribers_conflated,
        );
        one(
            "continuum_keys",
            "gauge",
            "Live keys of keyed event types.",
            self.keys,
        );
        one(
            "continuum_keys_evicted_total",
            "counter",
            "Keys evicted by the bound on live keys per type (least recently updated first).",
            self.keys_evicted,
        );
        one(
            "continuum_subscribers_rejected_total",
            "counter",
            "Subscriptions refused by the authorization hook.",
            self.subscribers_rejected,
        );
        one(
            "continuum_subscribers_limited_total",
            "counter",
            "Subscriptions refused by a subscriber cap (429 per address, 503 server full).",
            self.subscribers_limited,
        );
        one(
            "continuum_ingest_accepted_total",
            "counter",
            "Ingest requests accepted.",
            self.ingest_accepted,
        );
        out.push_str("# HELP continuum_ingest_rejects_total Ingest requests refused, by reason.\n# TYPE continuum_ingest_rejects_total counter\n");
        for why in IngestReject::ALL {
            let _ = writeln!(
                out,
                "continuum_ingest_rejects_total{{reason=\"{}\"}} {}",
                why.as_str(),
                self.ingest_rejects(why)
            );
        }
        if let Some(b) = &self.backplane {
            let mut gauge = |name: &str, kind: &str, help: &str, v: f64| {
                let _ = write!(
                    out,
                    "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
                );
            };
            gauge(
                "continuum_backplane_up",
                "gauge",
                "Whether the backplane can publish (1) or not (0).",
                f64::from(u8::from(b.up)),
            );
            gauge(
                "continuum_backplane_publish_seconds_sum",
                "counter",
                "Time from emit to the backplane's acknowledgement, summed.",
                b.publish_seconds_total,
            );
            gauge(
                "continuum_backplane_publish_seconds_count",
                "counter",
                "Publishes the backplane acknowledged.",
                b.publishes as f64,
            );
            gauge(
                "continuum_backplane_publish_failures_total",
                "counter",
                "Publishes the backplane failed.",
                b.publish_failures as f64,
            );
            gauge(
                "continuum_backplane_entries_read_total",
                "counter",
                "Entries the backplane's reader delivered to this node.",
                b.entries_read as f64,
            );
            gauge(
                "continuum_backplane_reader_lag_seconds",
                "gauge",
                "Age of the newest entry when the reader delivered it.",
                b.reader_lag_seconds,
            );
            gauge(
                "continuum_backplane_resets_total",
                "counter",
                "Resets the backplane caused (stream lost, entries trimmed unread).",
                b.resets as f64,
            );
        }
        out
    }
}
