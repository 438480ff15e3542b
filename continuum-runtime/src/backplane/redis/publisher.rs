//! The publisher task: takes publishes in call order and sends every waiting
//! one in one pipeline (one round trip for many concurrent publishes), then
//! answers each with its ids.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::Value;
use tokio::sync::{mpsc, oneshot};

use super::{parse_ack, scripts, Shared, State};
use crate::backplane::{Ack, BackplaneError, IdempotencyKey, Outgoing};

/// Publishes sent in one pipeline at most.
const MAX_GROUP: usize = 256;
/// How long publishes made before the first connection wait for it.
const FIRST_CONNECT_WAIT: Duration = Duration::from_secs(5);

pub(crate) struct Request {
    batch: Vec<Outgoing>,
    key: Option<IdempotencyKey>,
    reply: oneshot::Sender<Result<Ack, BackplaneError>>,
    queued: Instant,
}

impl Request {
    pub(crate) fn new(
        batch: Vec<Outgoing>,
        key: Option<IdempotencyKey>,
        reply: oneshot::Sender<Result<Ack, BackplaneError>>,
    ) -> Self {
        Request {
            batch,
            key,
            reply,
            queued: Instant::now(),
        }
    }

    fn invocation(&self, shared: &Shared) -> redis::Cmd {
        let script = &*scripts::PUBLISH;
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(script.get_hash());
        cmd.arg(if self.key.is_some() { 4 } else { 3 });
        cmd.arg(&shared.keys.stream)
            .arg(&shared.keys.epoch)
            .arg(&shared.keys.count);
        if let Some(k) = &self.key {
            cmd.arg(shared.keys.idempotency(&k.key));
        }
        cmd.arg(shared.options.retention);
        let window_ms = self.key.as_ref().map_or(1, |k| k.window.as_millis().max(1));
        cmd.arg(window_ms.min(u64::MAX as u128) as u64);
        for o in &self.batch {
            cmd.arg(o.type_name.as_ref())
                .arg(o.channel.as_deref().unwrap_or(""))
                .arg(&o.data[..]);
        }
        cmd
    }
}

/// Runs until the backplane (and so the request sender) is dropped.
pub(crate) async fn run(shared: Arc<Shared>, mut requests: mpsc::UnboundedReceiver<Request>) {
    // The connection, and the backplane generation it was made in.
    let mut conn: Option<(MultiplexedConnection, u64)> = None;
    let mut group = Vec::with_capacity(MAX_GROUP);
    while requests.recv_many(&mut group, MAX_GROUP).await > 0 {
        if shared.state() == State::Connecting {
            let mut changes = shared.state_changes();
            let _ = tokio::time::timeout(
                FIRST_CONNECT_WAIT,
                changes.wait_for(|s| *s != State::Connecting),
            )
            .await;
        }
        if shared.state() != State::Up {
            fail(&shared, group.drain(..), || shared.unavailable());
            continue;
        }
        let generation = shared.generation.load(Ordering::Acquire);
        if conn.as_ref().is_some_and(|(_, g)| *g != generation) {
            conn = None;
        }
        if conn.is_none() {
            let connected = match shared.connect(false).await {
                Ok(mut c) => scripts::PUBLISH
                    .prepare_invoke()
                    .load_async(&mut c)
                    .await
                    .map(|_| c),
                Err(e) => Err(e),
            };
            match connected {
                Ok(c) => conn = Some((c, generation)),
                Err(e) => {
                    // The reader decides up and down; this group fails.
                    tracing::debug!(error = %e, "continuum: redis publisher could not connect");
                    let err = e.to_string();
                    fail(&shared, group.drain(..), || {
                        BackplaneError::unavailable(format!("redis unreachable ({err})"), None)
                    });
                    continue;
                }
            }
        }
        let Some((c, _)) = conn.as_mut() else {
            continue;
        };
        if let Err(e) = send_group(&shared, c, &mut group).await {
            tracing::debug!(error = %e, "continuum: redis publish failed; reconnecting");
            conn = None;
            let err = e.to_string();
            fail(&shared, group.drain(..), || {
                BackplaneError::unavailable(format!("redis did not answer ({err})"), None)
            });
        }
    }
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

/// Send `group` as one pipeline and answer each request. A request whose
/// script was not loaded (Redis restarted) is sent again once loaded. Err
/// (requests left in `group`) when the connection failed: then nothing is
/// known about the group, but each script is atomic and idempotent keys
/// make a retry safe.
async fn send_group(
    shared: &Shared,
    conn: &mut MultiplexedConnection,
    group: &mut Vec<Request>,
) -> redis::RedisResult<()> {
    for attempt in 0..2 {
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        for r in group.iter() {
            pipe.add_command(r.invocation(shared));
        }
        let replies: Vec<Value> = pipe.query_async(conn).await?;
        let mut retry = Vec::new();
        for (request, reply) in group.drain(..).zip(replies) {
            match reply {
                Value::ServerError(e) if e.code() == "NOSCRIPT" && attempt == 0 => {
                    retry.push(request)
                }
                reply => {
                    let result = answer(shared, reply);
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
            }
        }
        if retry.is_empty() {
            break;
        }
        *group = retry;
        scripts::PUBLISH.prepare_invoke().load_async(conn).await?;
    }
    // Still NOSCRIPT after loading: answer rather than leave them waiting.
    fail(shared, group.drain(..), || {
        BackplaneError::new("redis refused the publish script", None)
    });
    Ok(())
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
