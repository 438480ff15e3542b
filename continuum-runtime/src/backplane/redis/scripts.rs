//! The Lua scripts that keep the stream, its epoch and idempotency keys
//! consistent: each runs atomically in Redis, so a batch is stored whole and
//! in order or not at all, and an idempotency key is checked and set in the
//! same step as the `XADD`s.
//!
//! Keys: `KEYS[1]` the stream, `KEYS[2]` its epoch (a decimal number),
//! `KEYS[3]` its entry counter, `KEYS[4]` the index of state keys (a set
//! naming every state hash and order of the stream, so a new epoch drops
//! them all), then (publish only) the idempotency key when there is one,
//! then a state hash and its order for each keyed event of the batch.
//!
//! Keyed state: the latest event per key of a type is a field of the hash
//! `<stream>:state:<type>` (value `<epoch> <stream id> <channel length>
//! <channel><data>`), written by the same script as the event's `XADD`, so
//! the hash is always exactly the state at the stream's last entry; the
//! sorted set `<stream>:state-order:<type>` orders its keys by update time
//! (stream millisecond) for the `ttl` and the bound on live keys. Names come
//! from `StreamKeys::state` in `keys.rs` (one place). Every entry carries its number `n` from the counter
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
-- A new epoch: no state of the lost stream may be served.
for _, k in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  redis.call('DEL', k)
end
redis.call('DEL', KEYS[4])
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
/// idempotency window in ms, `ARGV[3]` `1` when `KEYS[5]` is an idempotency
/// key, `ARGV[4]` the live keys a type keeps at most, `ARGV[5]` the writer's
/// contract fingerprint (every entry's `w`), then per event its type,
/// channel (`""` for a public event), data, trace context (`""` for none;
/// the entry's `tc`), key (`""` when not keyed; the entry's `k`), `ttl` in
/// ms (`0`: none) and version (`""` for version 1; the entry's `v`). An
/// optional field is written only when it has a value (see `entry.rs`): add
/// one by growing `per_event` and the `optional` list. Replies
/// `{"ok", "<epoch> <id> <id>…"}`,
/// `{"replayed", "<epoch> <id>…"}` (the key was seen: nothing written), or
/// `{"lost"}` (the stream or its epoch is missing: nothing written).
pub(crate) static PUBLISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local epoch = redis.call('GET', KEYS[2])
if not epoch or redis.call('EXISTS', KEYS[1]) == 0 then
  return {'lost'}
end
local idem = ARGV[3] == '1'
if idem then
  local seen = redis.call('GET', KEYS[5])
  if seen then
    return {'replayed', seen}
  end
end
local state = idem and 6 or 5
local max_keys = tonumber(ARGV[4])
local writer = ARGV[5]
local per_event = 7
-- {offset from the type's argument, field}: written only when not ''.
local optional = {{1, 'c'}, {3, 'tc'}, {4, 'k'}, {6, 'v'}}
local count = (#ARGV - 5) / per_event
local n = redis.call('INCRBY', KEYS[3], count) - count
local ids = {epoch}
for i = 6, #ARGV, per_event do
  n = n + 1
  local fields = {'e', epoch, 'n', n, 't', ARGV[i]}
  for _, field in ipairs(optional) do
    local value = ARGV[i + field[1]]
    if value ~= '' then
      fields[#fields + 1] = field[2]
      fields[#fields + 1] = value
    end
  end
  fields[#fields + 1] = 'w'
  fields[#fields + 1] = writer
  fields[#fields + 1] = 'd'
  fields[#fields + 1] = ARGV[i + 2]
  local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(fields))
  ids[#ids + 1] = id
  local key = ARGV[i + 4]
  if key ~= '' then
    -- The key's latest event, in the same step as its XADD.
    local hash, order = KEYS[state], KEYS[state + 1]
    state = state + 2
    local ms = tonumber(string.match(id, '^(%d+)'))
    redis.call('HSET', hash, key,
      epoch .. ' ' .. id .. ' ' .. #ARGV[i + 1] .. ' ' .. ARGV[i + 1] .. ARGV[i + 2])
    redis.call('ZADD', order, ms, key)
    redis.call('SADD', KEYS[4], hash, order)
    local ttl = tonumber(ARGV[i + 5])
    if ttl > 0 then
      local old = redis.call('ZRANGEBYSCORE', order, '-inf', ms - ttl, 'LIMIT', 0, 100)
      for _, k in ipairs(old) do
        redis.call('HDEL', hash, k)
        redis.call('ZREM', order, k)
      end
    end
    local over = redis.call('ZCARD', order) - max_keys
    if over > 0 then
      local popped = redis.call('ZPOPMIN', order, over)
      for j = 1, #popped, 2 do
        redis.call('HDEL', hash, popped[j])
      end
    end
  end
end
local joined = table.concat(ids, ' ')
if idem then
  redis.call('SET', KEYS[5], joined, 'PX', ARGV[2])
end
return {'ok', joined}
"#,
    )
});

/// Forgets a key on every node: `KEYS[5]` its state hash, `KEYS[6]` its
/// order; `ARGV[1]` the type, `ARGV[2]` the key. Writes a forget entry
/// (`f`, numbered like events, so readers apply it in order) and drops the
/// key from the hash. Replies `{"ok", "<epoch> <id>"}` or `{"lost"}`.
pub(crate) static FORGET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local epoch = redis.call('GET', KEYS[2])
if not epoch or redis.call('EXISTS', KEYS[1]) == 0 then
  return {'lost'}
end
local n = redis.call('INCR', KEYS[3])
local id = redis.call('XADD', KEYS[1], '*',
  'e', epoch, 'n', n, 't', ARGV[1], 'k', ARGV[2], 'f', '1')
redis.call('HDEL', KEYS[5], ARGV[2])
redis.call('ZREM', KEYS[6], ARGV[2])
return {'ok', epoch .. ' ' .. id}
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
  -- A new epoch: no keyed state of the old one may be served.
  for _, k in ipairs(redis.call('SMEMBERS', KEYS[4])) do
    redis.call('DEL', k)
  end
  redis.call('DEL', KEYS[4])
  redis.call('XGROUP', 'CREATE', KEYS[1], 'continuum-epoch', '$', 'MKSTREAM')
  redis.call('XGROUP', 'DESTROY', KEYS[1], 'continuum-epoch')
  return {'lost', ARGV[2]}
end
return {'ok'}
"#,
    )
});
