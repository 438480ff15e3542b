//! The publisher task: takes publishes in call order and sends every waiting
//! one in one pipeline (one round trip for many concurrent publishes), with
//! several pipelines in flight, then answers each publish with its ids.
//! With `wait_replicas`, each pipeline ends with `WAIT`, and its publishes
//! succeed only if enough replicas confirmed them.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use redis::{RedisResult, Value};
use tokio::sync::{mpsc, oneshot};

use super::topology::{is_topology_change, Connection};
use super::{parse_ack, scripts, Shared, State};
use crate::backplane::{Ack, BackplaneError, IdempotencyKey, Outgoing};

/// Publishes sent in one pipeline at most.
const MAX_GROUP: usize = 256;
/// Pipelines waiting for their replies at most.
const MAX_IN_FLIGHT: usize = 16;
/// How long publishes made before the first connection wait for it.
const FIRST_CONNECT_WAIT: Duration = Duration::from_secs(5);

/// What a request asks the stream for.
pub(crate) enum What {
    /// Publish a batch (`ttls`: each event's type's `ttl` in ms, 0 for none).
    Publish {
        batch: Vec<Outgoing>,
        key: Option<IdempotencyKey>,
        ttls: Vec<u64>,
        max_keys: usize,
        /// Each event's version; empty when every one is version 1.
        versions: Vec<u32>,
    },
    /// Forget a key of a keyed type on every node.
    Forget { type_name: String, key: String },
}

pub(crate) struct Request {
    what: What,
    reply: oneshot::Sender<Result<Ack, BackplaneError>>,
    queued: Instant,
}

impl Request {
    pub(crate) fn new(what: What, reply: oneshot::Sender<Result<Ack, BackplaneError>>) -> Self {
        Request {
            what,
            reply,
            queued: Instant::now(),
        }
    }

    fn invocation(&self, shared: &Shared) -> redis::Cmd {
        let keys = &shared.keys;
        let mut cmd = redis::cmd("EVALSHA");
        let (batch, key, ttls, max_keys, versions) = match &self.what {
            What::Forget { type_name, key } => {
                let state = keys.state(type_name);
                cmd.arg(scripts::FORGET.get_hash()).arg(6);
                cmd.arg(&keys.stream)
                    .arg(&keys.epoch)
                    .arg(&keys.count)
                    .arg(&keys.state_index)
                    .arg(state.hash)
                    .arg(state.order);
                cmd.arg(type_name).arg(key);
                return cmd;
            }
            What::Publish {
                batch,
                key,
                ttls,
                max_keys,
                versions,
            } => (batch, key, ttls, max_keys, versions),
        };
        let keyed = batch.iter().filter(|o| o.key.is_some()).count();
        cmd.arg(scripts::PUBLISH.get_hash());
        cmd.arg(4 + usize::from(key.is_some()) + 2 * keyed);
        cmd.arg(&keys.stream)
            .arg(&keys.epoch)
            .arg(&keys.count)
            .arg(&keys.state_index);
        if let Some(k) = key {
            cmd.arg(keys.idempotency(&k.key));
        }
        for o in batch.iter().filter(|o| o.key.is_some()) {
            let state = keys.state(&o.type_name);
            cmd.arg(state.hash).arg(state.order);
        }
        cmd.arg(shared.options.retention);
        let window_ms = key.as_ref().map_or(1, |k| k.window.as_millis().max(1));
        cmd.arg(window_ms.min(u64::MAX as u128) as u64);
        cmd.arg(if key.is_some() { "1" } else { "0" });
        cmd.arg(*max_keys);
        cmd.arg(shared.fingerprint.get().map_or("", |f| &**f));
        // Per event, in the order `scripts::PUBLISH` reads them.
        for (i, (o, ttl)) in batch.iter().zip(ttls).enumerate() {
            cmd.arg(o.type_name.as_ref())
                .arg(o.channel.as_deref().unwrap_or(""))
                .arg(&o.data[..]);
            match &o.trace {
                Some(tc) => cmd.arg(tc.to_entry()),
                None => cmd.arg(""),
            };
            cmd.arg(o.key.as_deref().unwrap_or("")).arg(*ttl);
            match versions.get(i) {
                Some(&v) if v > 1 => cmd.arg(v),
                _ => cmd.arg(""),
            };
        }
        cmd
    }
}

/// A group of publishes sent as one pipeline, waiting for its replies.
struct InFlight {
    replies: Pin<Box<dyn Future<Output = RedisResult<Vec<Value>>> + Send>>,
    requests: Vec<Request>,
}

/// Runs until the backplane (and so the request sender) is dropped.
///
/// Groups are handed to the connection in the order their publishes were
/// made, and several may be in flight at once (the connection pipelines
/// them): a publish waits for one round trip, not for the groups before it.
pub(crate) async fn run(shared: Arc<Shared>, mut requests: mpsc::UnboundedReceiver<Request>) {
    // The connection, and the backplane generation it was made in.
    let mut conn: Option<(Connection, u64)> = None;
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    let mut group = Vec::with_capacity(MAX_GROUP);
    let mut open = true;
    loop {
        let (waiting, room) = (!in_flight.is_empty(), in_flight.len() < MAX_IN_FLIGHT);
        if !open && !waiting {
            return;
        }
        tokio::select! {
            biased;
            replies = poll_fn(|cx| match in_flight.front_mut() {
                Some(f) => f.replies.as_mut().poll(cx),
                None => Poll::Pending,
            }), if waiting => {
                let Some(done) = in_flight.pop_front() else { continue };
                if !answer_group(&shared, done.requests, replies) {
                    conn = None;
                }
            }
            n = requests.recv_many(&mut group, MAX_GROUP), if open && room => {
                if n == 0 {
                    open = false;
                    continue;
                }
                let Some(c) = connection(&shared, &mut conn, &mut group).await else {
                    continue;
                };
                let mut pipe = redis::pipe();
                pipe.ignore_errors();
                for r in &group {
                    pipe.add_command(r.invocation(&shared));
                }
                let wait = shared.options.wait_replicas;
                if wait > 0 {
                    // After the group, on the same connection: WAIT counts
                    // the replicas that have every write this connection
                    // made so far. In a cluster the pipeline goes to the
                    // node of the stream's slot, WAIT included.
                    let timeout = shared.options.wait_timeout.as_millis().max(1);
                    pipe.cmd("WAIT").arg(wait).arg(timeout.min(u64::MAX as u128) as u64);
                }
                let mut replies: Pin<Box<dyn Future<Output = RedisResult<Vec<Value>>> + Send>> =
                    Box::pin(async move { pipe.query_async(&mut c.clone()).await });
                // The first poll hands the pipeline to the connection: groups
                // go out in call order even while earlier ones are in flight.
                match poll_fn(|cx| Poll::Ready(replies.as_mut().poll(cx))).await {
                    Poll::Ready(result) => {
                        if !answer_group(&shared, std::mem::take(&mut group), result) {
                            conn = None;
                        }
                    }
                    Poll::Pending => in_flight.push_back(InFlight {
                        replies,
                        requests: std::mem::take(&mut group),
                    }),
                }
            }
        }
    }
}

/// The publisher's connection, (re)made when missing or from before an
/// outage; `None` (with `group` failed) when there is none to be had.
async fn connection(
    shared: &Shared,
    conn: &mut Option<(Connection, u64)>,
    group: &mut Vec<Request>,
) -> Option<Connection> {
    if shared.state() == State::Connecting {
        let mut changes = shared.state_changes();
        let _ = tokio::time::timeout(
            FIRST_CONNECT_WAIT,
            changes.wait_for(|s| *s != State::Connecting),
        )
        .await;
    }
    if shared.state() != State::Up {
        fail(shared, group.drain(..), || shared.unavailable());
        return None;
    }
    let generation = shared.generation.load(Ordering::Acquire);
    if conn.as_ref().is_some_and(|(_, g)| *g != generation) {
        *conn = None;
    }
    if conn.is_none() {
        let connected = match shared.connect(false).await {
            // Loaded once per connection: EVALSHA then never misses.
            Ok(mut c) => match scripts::PUBLISH.prepare_invoke().load_async(&mut c).await {
                Ok(_) => scripts::FORGET
                    .prepare_invoke()
                    .load_async(&mut c)
                    .await
                    .map(|_| c),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match connected {
            Ok(c) => *conn = Some((c, generation)),
            Err(e) => {
                // The reader decides up and down; this group fails.
                tracing::debug!(error = %e, "continuum: redis publisher could not connect");
                let err = e.to_string();
                fail(shared, group.drain(..), || {
                    BackplaneError::unavailable(format!("redis unreachable ({err})"), None)
                });
                return None;
            }
        }
    }
    conn.as_ref().map(|(c, _)| c.clone())
}

fn fail(
    shared: &Shared,
    requests: impl Iterator<Item = Request>,
    error: impl Fn() -> BackplaneError,
) {
    for r in requests {
        shared.metrics.failures.fetch_add(1, Ordering::Relaxed);
        let _ = r.reply.send(Err(error()));
    }
}

/// Answer each request of a group from its reply. `false` when the
/// connection should be replaced: it failed (then nothing is known of the
/// group, but each script is atomic and idempotency keys make a retry safe),
/// or Redis lost the script (it restarted under this connection).
fn answer_group(shared: &Shared, requests: Vec<Request>, replies: RedisResult<Vec<Value>>) -> bool {
    let mut replies = match replies {
        Ok(replies) => replies,
        Err(e) => {
            tracing::debug!(error = %e, "continuum: redis publish failed; reconnecting");
            let err = e.to_string();
            fail(shared, requests.into_iter(), || {
                BackplaneError::unavailable(format!("redis did not answer ({err})"), None)
            });
            return false;
        }
    };
    let mut healthy = true;
    // The WAIT reply, last: how many replicas confirmed the group.
    let unconfirmed = match shared.options.wait_replicas {
        0 => None,
        wanted => match replies.pop() {
            Some(Value::Int(got)) if got >= wanted as i64 => None,
            Some(Value::Int(got)) => Some(format!(
                "only {got} of {wanted} redis replicas confirmed the write within {:?} (WAIT); \
                 it may still be delivered: retry with the same Idempotency-Key",
                shared.options.wait_timeout
            )),
            other => Some(format!("redis did not answer WAIT ({other:?})")),
        },
    };
    for (request, reply) in requests.into_iter().zip(replies) {
        let result = match reply {
            Value::ServerError(e) if e.code() == "NOSCRIPT" => {
                healthy = false;
                Err(BackplaneError::unavailable(
                    "redis restarted and lost the publish script",
                    None,
                ))
            }
            Value::ServerError(e) if is_topology_change(e.code()) => {
                // Nothing was written. A new connection finds the new
                // primary or slot owner; the client's retry publishes.
                healthy = false;
                if !shared.topology.is_cluster() {
                    shared.reconnect.store(true, Ordering::Release);
                }
                Err(BackplaneError::unavailable(
                    format!(
                        "redis is failing over or moving the stream ({}); retry",
                        e.code()
                    ),
                    None,
                ))
            }
            reply => answer(shared, reply),
        };
        let result = match (result, &unconfirmed) {
            (Ok(ack), None) => {
                shared.acknowledged(&ack);
                Ok(ack)
            }
            (Ok(ack), Some(why)) => {
                // Written all the same: a failover check must know of it.
                shared.acknowledged(&ack);
                Err(BackplaneError::unconfirmed(why.clone()))
            }
            (Err(e), _) => Err(e),
        };
        let m = &shared.metrics;
        if result.is_ok() {
            let micros = request.queued.elapsed().as_micros();
            m.publish_micros
                .fetch_add(micros.min(u64::MAX as u128) as u64, Ordering::Relaxed);
            m.publishes.fetch_add(1, Ordering::Relaxed);
        } else {
            m.failures.fetch_add(1, Ordering::Relaxed);
        }
        let _ = request.reply.send(result);
    }
    healthy
}

fn answer(shared: &Shared, reply: Value) -> Result<Ack, BackplaneError> {
    let bad = |what: &str| BackplaneError::new(format!("redis publish failed: {what}"), None);
    let parts = match reply {
        Value::Array(parts) => parts,
        Value::ServerError(e) => return Err(bad(&format!("{e:?}"))),
        other => return Err(bad(&format!("unexpected reply {other:?}"))),
    };
    let text = |v: &Value| match v {
        Value::BulkString(b) => Some(b.clone()),
        Value::SimpleString(s) => Some(s.clone().into_bytes()),
        _ => None,
    };
    match parts.first().and_then(text).as_deref() {
        Some(b"ok") => parse_ack(&parts.get(1).and_then(text).unwrap_or_default(), false),
        Some(b"replayed") => parse_ack(&parts.get(1).and_then(text).unwrap_or_default(), true),
        Some(b"lost") => {
            // Let the reader create the new epoch now rather than at its
            // next idle check; the client retries after `retry-after`.
            shared.resync.store(true, Ordering::Release);
            Err(BackplaneError::unavailable(
                "the redis stream was lost; a new one is being started",
                None,
            ))
        }
        _ => Err(bad("unexpected reply from the publish script")),
    }
}
