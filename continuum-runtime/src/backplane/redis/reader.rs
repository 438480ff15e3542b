//! The reader task: one per node. Reads the stream in order and delivers
//! every entry into the node's log; checks the epoch on every (re)connect and
//! while idle; reconnects with backoff and resumes after the last entry it
//! delivered, turning anything it cannot prove it saw into a reset. After a
//! reconnect it checks the stream still holds what it saw (a failover may
//! have lost it: see "Failover" in the module docs); through Sentinel, its
//! idle check also asks whether the server is still the primary.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::{RedisResult, Value};

use super::entry::{self, Entry};
use super::topology::{is_primary, Connection};
use super::{scripts, Shared};
use crate::backplane::{LocalLog, Outgoing, WeakLocalLog};
use crate::id::{Epoch, EventId};
use crate::ring::Loaded;

/// Entries per `XREAD`.
const READ_COUNT: usize = 1000;
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Where this node is in the stream.
struct Position {
    epoch: Epoch,
    /// The stream id the next `XREAD` starts after.
    last_id: String,
    last_seq: u64,
    /// The number of the last entry delivered (see `scripts.rs`): the next
    /// must be one more, or entries were lost in between.
    last_number: Option<u64>,
    /// The contract fingerprint of the last other build seen writing to
    /// the stream (logged once per change: a rolling deploy is under way).
    other_build: Option<Box<str>>,
}

enum Stop {
    /// The hub was dropped: the task ends.
    HubGone,
    /// Redis failed: reconnect after a backoff.
    Failed(redis::RedisError),
}

impl From<redis::RedisError> for Stop {
    fn from(e: redis::RedisError) -> Self {
        Stop::Failed(e)
    }
}

/// Runs until the hub is dropped (or its runtime shuts down).
pub(crate) async fn run(shared: Arc<Shared>, log: WeakLocalLog, backfill: usize) {
    let mut pos = None;
    let mut backoff = BACKOFF_FIRST;
    loop {
        match session(&shared, &log, &mut pos, backfill, &mut backoff).await {
            Stop::HubGone => return,
            Stop::Failed(e) => {
                shared.set_down(&e);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// One connection's life: connect, agree on the epoch, then read.
async fn session(
    shared: &Shared,
    log: &WeakLocalLog,
    pos: &mut Option<Position>,
    backfill: usize,
    backoff: &mut Duration,
) -> Stop {
    let mut conn = match shared.connect(true).await {
        Ok(c) => c,
        Err(e) => return Stop::Failed(e),
    };
    if let Err(stop) = sync(shared, &mut conn, log, pos, backfill).await {
        return stop;
    }
    shared.set_up();
    *backoff = BACKOFF_FIRST;
    loop {
        let Some(p) = pos.as_ref() else {
            return Stop::HubGone;
        };
        let reply: Value = match redis::cmd("XREAD")
            .arg("COUNT")
            .arg(READ_COUNT)
            .arg("BLOCK")
            .arg(shared.options.block.as_millis().max(1) as u64)
            .arg("STREAMS")
            .arg(&shared.keys.stream)
            .arg(&p.last_id)
            .query_async(&mut conn)
            .await
        {
            Ok(v) => v,
            Err(e) => return Stop::Failed(e),
        };
        let Some(local) = log.upgrade() else {
            return Stop::HubGone;
        };
        let (entries, bad) = entry::xread_reply(&reply);
        if bad > 0 {
            tracing::warn!(stream = %shared.keys.stream, entries = bad, "continuum: skipped stream entries that are not events");
        }
        let must_sync = if entries.is_empty() {
            // Idle: is the stream still the one we read, on the primary?
            if shared.topology.is_sentinel() {
                match is_primary(&mut conn).await {
                    Ok(true) => {}
                    Ok(false) => return Stop::Failed(failed_over()),
                    Err(e) => return Stop::Failed(e),
                }
            }
            match probe(shared, &mut conn).await {
                Ok(found) => found.epoch != Some(p.epoch) || !found.exists,
                Err(e) => return Stop::Failed(e),
            }
        } else {
            deliver(shared, &local, pos, entries)
        };
        drop(local);
        if shared.reconnect.swap(false, Ordering::AcqRel) {
            return Stop::Failed(failed_over());
        }
        if must_sync || shared.resync.swap(false, Ordering::AcqRel) {
            if let Err(stop) = sync(shared, &mut conn, log, pos, backfill).await {
                return stop;
            }
        }
    }
}

fn failed_over() -> redis::RedisError {
    redis::RedisError::from((
        redis::ErrorKind::Io,
        "the redis server is no longer the primary (failover); reconnecting",
    ))
}

struct Probe {
    epoch: Option<Epoch>,
    exists: bool,
}

async fn probe(shared: &Shared, conn: &mut Connection) -> RedisResult<Probe> {
    let reply: Value = scripts::PROBE
        .key(&shared.keys.stream)
        .key(&shared.keys.epoch)
        .invoke_async(conn)
        .await?;
    let parts = match reply {
        Value::Array(parts) => parts,
        _ => Vec::new(),
    };
    let epoch = match parts.first() {
        Some(Value::BulkString(b)) => entry::parse_epoch(b),
        Some(Value::SimpleString(s)) => entry::parse_epoch(s.as_bytes()),
        _ => None,
    };
    Ok(Probe {
        epoch,
        exists: matches!(parts.get(1), Some(Value::Int(1))),
    })
}

/// Agree on the stream's epoch (creating it if the stream was lost) and
/// decide where reading resumes:
/// - first start: fill the replay buffer from the stream's tail;
/// - same epoch after a reconnect: check the stream still holds what this
///   node saw ([`resume`]), then resume after the last entry delivered
///   (entries trimmed meanwhile show as a missing number on the next read);
/// - another epoch (or what this node saw was lost): reset (`stream_lost`)
///   and read the new stream from its start.
async fn sync(
    shared: &Shared,
    conn: &mut Connection,
    log: &WeakLocalLog,
    pos: &mut Option<Position>,
    backfill: usize,
) -> Result<(), Stop> {
    // Another node may replace the epoch between two steps: agree again.
    for _ in 0..3 {
        let epoch = ensure_epoch(shared, conn).await?;
        let Some(local) = log.upgrade() else {
            return Err(Stop::HubGone);
        };
        let new_epoch = match pos {
            None => return join(shared, conn, &local, pos, epoch, backfill).await,
            Some(p) if p.epoch == epoch => match resume(shared, conn, p).await? {
                Resumed::Ok => return Ok(()),
                Resumed::Other => continue,
                Resumed::Lost(new) => {
                    tracing::warn!(stream = %shared.keys.stream, old = %p.epoch, new = %new, "continuum: the redis stream no longer holds entries this node delivered or was acknowledged (a failover lost them); a new epoch began and subscribers get continuum.reset");
                    new
                }
            },
            Some(p) => {
                tracing::warn!(stream = %shared.keys.stream, old = %p.epoch, new = %epoch, "continuum: the redis stream was lost; a new epoch began and subscribers get continuum.reset");
                epoch
            }
        };
        shared.metrics.resets.fetch_add(1, Ordering::Relaxed);
        local.restart(new_epoch, 0);
        *pos = Some(Position {
            epoch: new_epoch,
            last_id: "0-0".to_owned(),
            last_seq: 0,
            last_number: Some(0),
            other_build: None,
        });
        return Ok(());
    }
    Err(Stop::Failed(redis::RedisError::from((
        redis::ErrorKind::Io,
        "the stream's epoch kept changing while this node joined it",
    ))))
}

/// The stream's epoch, created with the stream when either is missing.
async fn ensure_epoch(shared: &Shared, conn: &mut Connection) -> Result<Epoch, Stop> {
    let candidate = Epoch::random();
    let text: Vec<u8> = scripts::ENSURE_EPOCH
        .key(&shared.keys.stream)
        .key(&shared.keys.epoch)
        .key(&shared.keys.count)
        .key(&shared.keys.state_index)
        .arg(candidate.get())
        .invoke_async(conn)
        .await?;
    entry::parse_epoch(&text).ok_or_else(|| {
        Stop::Failed(redis::RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "the stream's epoch key does not hold an epoch",
        )))
    })
}

enum Resumed {
    /// The stream holds what this node saw.
    Ok,
    /// The epoch changed meanwhile: agree on it again.
    Other,
    /// It did not: this new epoch replaced it.
    Lost(Epoch),
}

/// Does the stream still hold what this node delivered and was
/// acknowledged? If not, it is replaced by a new epoch (`RESUME`).
async fn resume(shared: &Shared, conn: &mut Connection, p: &Position) -> Result<Resumed, Stop> {
    let acked = *shared
        .acked
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let acked = match acked {
        Some((epoch, seq)) if epoch == p.epoch => entry::stream_id_of(seq),
        _ => String::new(),
    };
    let candidate = Epoch::random();
    let reply: Vec<Value> = scripts::RESUME
        .key(&shared.keys.stream)
        .key(&shared.keys.epoch)
        .key(&shared.keys.count)
        .key(&shared.keys.state_index)
        .arg(p.epoch.get())
        .arg(candidate.get())
        .arg(&p.last_id)
        .arg(p.last_number.map_or(String::new(), |n| n.to_string()))
        .arg(acked)
        .invoke_async(conn)
        .await?;
    let text = |v: Option<&Value>| match v {
        Some(Value::BulkString(b)) => b.clone(),
        Some(Value::SimpleString(s)) => s.clone().into_bytes(),
        _ => Vec::new(),
    };
    Ok(match &text(reply.first())[..] {
        b"ok" => Resumed::Ok,
        b"lost" => match entry::parse_epoch(&text(reply.get(1))) {
            Some(epoch) => Resumed::Lost(epoch),
            None => Resumed::Other,
        },
        _ => Resumed::Other,
    })
}

/// First start: fill the replay buffer from the stream's tail.
async fn join(
    shared: &Shared,
    conn: &mut Connection,
    local: &LocalLog,
    pos: &mut Option<Position>,
    epoch: Epoch,
    backfill: usize,
) -> Result<(), Stop> {
    // The tail, the counter and the keyed state in one step: with no
    // entry to read a number from, the counter says which number comes
    // next, and the state is exactly the state at the tail.
    let types = local.log.keyed_types();
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("XREVRANGE")
        .arg(&shared.keys.stream)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(backfill + 1)
        .cmd("GET")
        .arg(&shared.keys.count);
    for t in &types {
        pipe.cmd("HGETALL").arg(shared.keys.state(t).hash);
    }
    let mut replies: Vec<Value> = pipe.query_async(conn).await?;
    let states = replies.split_off(2.min(replies.len()));
    let mut replies = replies.into_iter();
    let reply = replies.next().unwrap_or(Value::Nil);
    let count: Option<u64> = replies
        .next()
        .and_then(|v| redis::from_redis_value(v).ok())
        .flatten();
    let (mut entries, _) = entry::range_reply(&reply);
    entries.reverse();
    let last = entries.last().map_or(("0-0".to_owned(), 0, count), |e| {
        (e.stream_id.clone(), e.seq, e.number)
    });
    entries.retain(|e| e.epoch == Some(epoch));
    // Ids up to `floor` are gone from the stream or past the buffer:
    // a client holding one gets `evicted`; anything after replays.
    let floor = if entries.len() > backfill {
        entries.remove(0).seq
    } else {
        match entries.first() {
            // Entries before the first one kept were trimmed.
            Some(e) if e.number.is_none_or(|n| n > 1) => e.seq - 1,
            _ => 0,
        }
    };
    local.restart(epoch, floor);
    local.log.load_state(loaded_state(epoch, &types, &states));
    deliver_run(local, of_epoch(epoch, entries));
    tracing::info!(stream = %shared.keys.stream, epoch = %epoch, "continuum: redis backplane joined the stream");
    *pos = Some(Position {
        epoch,
        last_id: last.0,
        last_seq: last.1,
        last_number: last.2,
        other_build: None,
    });
    Ok(())
}

/// Entries up to `through` left the stream before this node read them.
fn gap(shared: &Shared, local: &LocalLog, epoch: Epoch, through: u64) {
    tracing::warn!(stream = %shared.keys.stream, "continuum: entries left the redis stream before this node read them (retention too short for the outage); subscribers get continuum.reset");
    shared.metrics.resets.fetch_add(1, Ordering::Relaxed);
    local.restart(epoch, through);
}

/// A run of entries to deliver in order: events (each with the version it
/// was written at), and forgets between them.
type Run = Vec<(EventId, Outgoing, bool, u32)>;

fn of_epoch(epoch: Epoch, entries: Vec<Entry>) -> Run {
    entries
        .into_iter()
        .filter(|e| e.epoch == Some(epoch))
        .map(|e| (EventId::new(epoch, e.seq), e.event, e.forget, e.version))
        .collect()
}

/// Deliver `run` in order: the events between forgets together, each
/// forget where the stream has it.
fn deliver_run(local: &LocalLog, run: Run) {
    let mut events = Vec::with_capacity(run.len());
    for (id, event, forget, version) in run {
        if forget {
            local.deliver_versioned(std::mem::take(&mut events));
            if let Some(key) = &event.key {
                local.forget(&event.type_name, key);
            }
        } else {
            events.push((id, event, version));
        }
    }
    local.deliver_versioned(events);
}

/// The state hashes read at join (`HGETALL` per keyed type, in `types`
/// order), as entries of `epoch` for the log (values of another epoch are
/// left out: never a snapshot from a lost stream).
fn loaded_state(epoch: Epoch, types: &[Arc<str>], replies: &[Value]) -> Vec<Loaded> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut out = Vec::new();
    for (t, reply) in types.iter().zip(replies) {
        for (key, value) in entry::hash_pairs(reply) {
            let (Ok(key), Some(v)) = (std::str::from_utf8(key), entry::state_value(value)) else {
                continue;
            };
            if v.epoch != epoch {
                continue;
            }
            out.push(Loaded {
                type_name: t.to_string(),
                key: Arc::from(key),
                id: EventId::new(epoch, v.seq),
                channel: v.channel,
                data: v.data,
                age: Duration::from_millis(now_ms.saturating_sub(entry::millis_of(v.seq))),
            });
        }
    }
    out
}

/// Deliver what `XREAD` returned, in order, with a reset where an entry's
/// number shows entries before it are missing. `true` when an entry of
/// another epoch showed the stream was replaced (delivery stops before it).
fn deliver(
    shared: &Shared,
    local: &LocalLog,
    pos: &mut Option<Position>,
    entries: Vec<Entry>,
) -> bool {
    let Some(p) = pos.as_mut() else {
        return false;
    };
    let count = entries.len() as u64;
    let mut run = Vec::with_capacity(entries.len());
    let mut replaced = false;
    for e in entries {
        if e.epoch != Some(p.epoch) {
            replaced = true;
            break;
        }
        let continuous = match (p.last_number, e.number) {
            (Some(last), Some(n)) => n == last + 1,
            // An entry without a number, or no number to compare with
            // (the first read after joining): nothing to prove a gap.
            _ => true,
        };
        if !continuous {
            deliver_run(local, std::mem::take(&mut run));
            gap(shared, local, p.epoch, e.seq - 1);
        }
        if let Some(build) = e.fingerprint.filter(|f| **f != *local.fingerprint()) {
            if p.other_build.as_ref() != Some(&build) {
                tracing::info!(stream = %shared.keys.stream, contract = %build, this = %local.fingerprint(), "continuum: another build writes to the stream (a rolling deploy?); its events are upcast, or its newer versions reset their subscribers (contract)");
                p.other_build = Some(build);
            }
        }
        p.last_id.clone_from(&e.stream_id);
        p.last_seq = e.seq;
        p.last_number = e.number;
        run.push((EventId::new(p.epoch, e.seq), e.event, e.forget, e.version));
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let m = &shared.metrics;
    m.reader_lag_millis.store(
        now_ms.saturating_sub(entry::millis_of(p.last_seq)),
        Ordering::Relaxed,
    );
    m.entries_read.fetch_add(count, Ordering::Relaxed);
    deliver_run(local, run);
    replaced
}
