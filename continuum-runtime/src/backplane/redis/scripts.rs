//! The Lua scripts that keep the stream, its epoch and idempotency keys
//! consistent: each runs atomically in Redis, so a batch is stored whole and
//! in order or not at all, and an idempotency key is checked and set in the
//! same step as the `XADD`s.
//!
//! Keys: `KEYS[1]` the stream, `KEYS[2]` its epoch (a decimal number),
//! `KEYS[3]` its entry counter, `KEYS[4]` (publish only, optional) the
//! idempotency key. Every entry carries its number `n` from the counter
//! (1, 2, 3, … within an epoch), so a reader that finds a number missing
//! knows entries left the stream (trimmed) before it read them: Redis's own
//! `max-deleted-entry-id` does not move when `MAXLEN` trims. All keys of a
//! stream share one Redis Cluster slot (see `keys.rs`).

use std::sync::LazyLock;

use redis::Script;

/// Returns the stream's epoch, creating it (and the empty stream) when
/// either is missing: the first node to start, or the first after the stream
/// was lost, picks `ARGV[1]`; every other node gets the same answer.
pub(crate) static ENSURE_EPOCH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local epoch = redis.call('GET', KEYS[2])
if epoch and redis.call('EXISTS', KEYS[1]) == 1 then
  return epoch
end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], 0)
if redis.call('EXISTS', KEYS[1]) == 0 then
  -- An empty stream: publishers refuse to write to a missing one, so a lost
  -- stream is never silently recreated by an XADD.
  redis.call('XGROUP', 'CREATE', KEYS[1], 'continuum-epoch', '$', 'MKSTREAM')
  redis.call('XGROUP', 'DESTROY', KEYS[1], 'continuum-epoch')
end
return ARGV[1]
"#,
    )
});

/// Publishes a batch: `ARGV[1]` the `MAXLEN ~` retention, `ARGV[2]` the
/// idempotency window in ms, then per event its type, channel (`""` for a
/// public event), data and trace context (`""` for none; the entry's `tc`).
/// An optional field is written only when it has a value (see `entry.rs`):
/// add one by growing `per_event` and the `optional` list. Replies
/// `{"ok", "<epoch> <id> <id>…"}`, `{"replayed", "<epoch> <id>…"}` (the key was seen: nothing written), or
/// `{"lost"}` (the stream or its epoch is missing: nothing written).
pub(crate) static PUBLISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local epoch = redis.call('GET', KEYS[2])
if not epoch or redis.call('EXISTS', KEYS[1]) == 0 then
  return {'lost'}
end
if KEYS[4] then
  local seen = redis.call('GET', KEYS[4])
  if seen then
    return {'replayed', seen}
  end
end
local per_event = 4
-- {offset from the type's argument, field}: written only when not ''.
local optional = {{1, 'c'}, {3, 'tc'}}
local count = (#ARGV - 2) / per_event
local n = redis.call('INCRBY', KEYS[3], count) - count
local ids = {epoch}
for i = 3, #ARGV, per_event do
  n = n + 1
  local fields = {'e', epoch, 'n', n, 't', ARGV[i]}
  for _, field in ipairs(optional) do
    local value = ARGV[i + field[1]]
    if value ~= '' then
      fields[#fields + 1] = field[2]
      fields[#fields + 1] = value
    end
  end
  fields[#fields + 1] = 'd'
  fields[#fields + 1] = ARGV[i + 2]
  ids[#ids + 1] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
end
local joined = table.concat(ids, ' ')
if KEYS[4] then
  redis.call('SET', KEYS[4], joined, 'PX', ARGV[2])
end
return {'ok', joined}
"#,
    )
});

/// Checks the stream without reading it: replies `{epoch (nil when
/// missing), exists}`, so an idle reader notices a lost stream.
pub(crate) static PROBE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
return {redis.call('GET', KEYS[2]) or false, redis.call('EXISTS', KEYS[1])}
"#,
    )
});

/// Checks, after a reconnect, that the stream still holds what this node
/// has seen of the epoch, and starts a new epoch when it does not (see
/// "Failover" in the module docs). `ARGV[1]` the node's epoch, `ARGV[2]` a
/// new epoch to use on a loss, `ARGV[3]` the stream id of the last entry
/// the node delivered (`0-0` for none) and `ARGV[4]` its number (`""` when
/// unknown), `ARGV[5]` the newest stream id a publish of this node was
/// acknowledged with (`""` for none). Replies `{"ok"}`, `{"other"}` (the
/// epoch or the stream is not the node's any more: nothing written), or
/// `{"lost", epoch}` (the stream was replaced by an empty one of a new
/// epoch).
pub(crate) static RESUME: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('GET', KEYS[2]) ~= ARGV[1] or redis.call('EXISTS', KEYS[1]) == 0 then
  return {'other'}
end
local function number_of(entry)
  local f = entry[2]
  for i = 1, #f, 2 do
    if f[i] == 'n' then return tonumber(f[i + 1]) end
  end
  return nil
end
-- Whether the entry `id` (numbered `n`, when known) was acknowledged or
-- read once and the stream can no longer have it.
local function lost(id, n)
  if id == '0-0' or id == '' then
    return false
  end
  local at = redis.call('XRANGE', KEYS[1], id, id)[1]
  if at then
    -- The same id given to another entry: numbers and ids were reissued.
    return n ~= nil and number_of(at) ~= n
  end
  if redis.call('XRANGE', KEYS[1], '-', id, 'COUNT', 1)[1] then
    -- Older entries are still there, so this one was not trimmed.
    return true
  end
  local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
  if not first then
    -- MAXLEN trimming never empties a stream.
    return true
  end
  -- Trimmed past it: a later entry must carry a later number.
  local m = number_of(first)
  return n ~= nil and m ~= nil and m <= n
end
local n = tonumber(ARGV[4])
local count = tonumber(redis.call('GET', KEYS[3]) or '0')
if (n and count < n) or lost(ARGV[3], n) or lost(ARGV[5], nil) then
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('SET', KEYS[3], 0)
  redis.call('DEL', KEYS[1])
  redis.call('XGROUP', 'CREATE', KEYS[1], 'continuum-epoch', '$', 'MKSTREAM')
  redis.call('XGROUP', 'DESTROY', KEYS[1], 'continuum-epoch')
  return {'lost', ARGV[2]}
end
return {'ok'}
"#,
    )
});
