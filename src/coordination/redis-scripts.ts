// The Lua scripts of redis-store.ts. Each read-check-write runs as one script, so two
// instances can never both win (COORDINATION-NOTES.md). Values are written as JSON built
// by the caller; scripts only splice in what the server decides (rev, TIME) so the
// caller's encoding is kept byte for byte. A key of the wrong Redis type is deleted before
// a write: the next valid write heals whatever was put under the prefix.

/** Shared Lua helpers, prepended to every script. */
const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ensure(key, kind)
  local t = redis.call('TYPE', key)['ok']
  if t ~= kind and t ~= 'none' then redis.call('DEL', key) end
end
local function bump(key)
  ensure(key, 'string')
  local ok, v = pcall(redis.call, 'INCR', key)
  if ok then return v end
  -- Not an integer: restart from the clock, which every reader sees as a change.
  local fresh = now_ms()
  redis.call('SET', key, fresh)
  return fresh
end
local function safe_hgetall(key)
  local r = redis.pcall('HGETALL', key)
  if type(r) == 'table' and r['err'] then return {'__wrongtype__', r['err']} end
  return r
end
`

/**
 * KEYS: members, version, events, seeded. ARGV: id, record JSON without rev (starts with
 * "{"), notice JSON. Returns the new version. Any membership write marks the pool seeded.
 */
export const PUT_MEMBER = `${PRELUDE}
ensure(KEYS[1], 'hash')
local v = bump(KEYS[2])
if redis.call('EXISTS', KEYS[4]) == 0 then redis.call('SET', KEYS[4], now_ms()) end
redis.call('HSET', KEYS[1], ARGV[1], '{"rev":' .. v .. ',' .. string.sub(ARGV[2], 2))
redis.call('PUBLISH', KEYS[3], ARGV[3])
return v
`

/**
 * KEYS: members, version, events, drains. ARGV: id, notice JSON, "keep" to keep the
 * member's drain lease. Returns the new version or -1.
 */
export const DELETE_MEMBER = `${PRELUDE}
ensure(KEYS[1], 'hash')
ensure(KEYS[4], 'hash')
if ARGV[3] ~= 'keep' then redis.call('HDEL', KEYS[4], ARGV[1]) end
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return -1 end
local v = bump(KEYS[2])
redis.call('PUBLISH', KEYS[3], ARGV[2])
return v
`

/**
 * KEYS: members, version, events, seeded. ARGV: notice JSON, "force" or "", then id/record
 * pairs. Seeds only if the pool was never seeded (or with "force": a repair, replacing
 * whatever is there); returns 1 if this call wrote.
 */
export const SEED = `${PRELUDE}
if ARGV[2] ~= 'force' and redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
if ARGV[2] == 'force' then redis.call('DEL', KEYS[1]) end
ensure(KEYS[1], 'hash')
local v = bump(KEYS[2])
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], '{"rev":' .. v .. ',' .. string.sub(ARGV[i + 1], 2))
end
redis.call('SET', KEYS[4], now_ms())
redis.call('PUBLISH', KEYS[3], ARGV[1])
return 1
`

/**
 * KEYS: instances, instance key, observations key. ARGV: id, record JSON, ttl ms.
 * Returns the server time.
 */
export const HEARTBEAT = `${PRELUDE}
local now = now_ms()
ensure(KEYS[1], 'zset')
redis.call('ZADD', KEYS[1], now, ARGV[1])
-- Instances gone for ten TTLs are forgotten entirely.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 10 * tonumber(ARGV[3]))
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if redis.call('TYPE', KEYS[3])['ok'] == 'hash' then redis.call('PEXPIRE', KEYS[3], ARGV[3]) end
return now
`

/** KEYS: instances, instance key, observations key, events. ARGV: id, notice JSON. */
export const LEAVE = `${PRELUDE}
ensure(KEYS[1], 'zset')
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('PUBLISH', KEYS[4], ARGV[2])
return 1
`

/**
 * KEYS: observations key, verdicts, events. ARGV: member, observation JSON, verdict JSON,
 * ttl ms, notice JSON.
 */
export const PUT_OBSERVATION = `${PRELUDE}
ensure(KEYS[1], 'hash')
ensure(KEYS[2], 'hash')
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('PUBLISH', KEYS[3], ARGV[5])
return 1
`

/**
 * KEYS: observations key, verdicts, events. ARGV: ttl ms, notice JSON, then triples of
 * member, observation JSON, verdict JSON.
 */
export const PUT_OBSERVATIONS = `${PRELUDE}
ensure(KEYS[1], 'hash')
ensure(KEYS[2], 'hash')
for i = 3, #ARGV, 3 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PUBLISH', KEYS[3], ARGV[2])
return 1
`

/** KEYS: sidecars, events. ARGV: member, record JSON (or "" to delete), notice JSON. */
export const PUT_SIDECAR = `${PRELUDE}
ensure(KEYS[1], 'hash')
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1])
else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('PUBLISH', KEYS[2], ARGV[3])
return 1
`

/**
 * KEYS: drains, events. ARGV: member, holder, reason, ttl ms, budget, notice JSON.
 * Drops expired or unreadable leases, then grants if fewer than budget others are held.
 * Returns {1, lease} or {0, budget, member1, lease1, ...}.
 */
export const ACQUIRE_DRAIN = `${PRELUDE}
ensure(KEYS[1], 'hash')
local now = now_ms()
local all = redis.call('HGETALL', KEYS[1])
local others = {}
for i = 1, #all, 2 do
  local ok, lease = pcall(cjson.decode, all[i + 1])
  if not ok or type(lease) ~= 'table' or type(lease['expiresAt']) ~= 'number' or lease['expiresAt'] <= now then
    redis.call('HDEL', KEYS[1], all[i])
  elseif all[i] ~= ARGV[1] then
    table.insert(others, all[i])
    table.insert(others, all[i + 1])
  end
end
local budget = tonumber(ARGV[5])
if #others / 2 >= budget then
  local out = {0, budget}
  for _, x in ipairs(others) do table.insert(out, x) end
  return out
end
local lease = cjson.encode({v = 1, holder = ARGV[2], token = ARGV[2], reason = ARGV[3], at = now, expiresAt = now + tonumber(ARGV[4])})
redis.call('HSET', KEYS[1], ARGV[1], lease)
redis.call('PUBLISH', KEYS[2], ARGV[6])
return {1, lease}
`

/** KEYS: drains, events. ARGV: member, holder, notice JSON. Compare-then-delete. */
export const RELEASE_DRAIN = `${PRELUDE}
ensure(KEYS[1], 'hash')
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local ok, lease = pcall(cjson.decode, raw)
if ok and type(lease) == 'table' and lease['holder'] ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('PUBLISH', KEYS[2], ARGV[3])
return 1
`

/**
 * KEYS: instances, version, members, seeded, sidecars, drains, verdicts. ARGV: ttl ms,
 * known version ("" = none), prefix of instance keys, prefix of observation keys.
 * Returns {now, version, seeded, members|false, sidecars, drains, verdicts,
 * membersExists, id1, inst1, obs1, id2, ...}; a hash of the wrong type comes back as {'__wrongtype__', error}.
 */
export const SNAPSHOT = `${PRELUDE}
local now = now_ms()
local version = redis.pcall('GET', KEYS[2])
if type(version) == 'table' then version = '__wrongtype__' end
if not version then version = '0' end
local members = false
if ARGV[2] == '' or ARGV[2] ~= version then members = safe_hgetall(KEYS[3]) end
local out = {now, version, redis.call('EXISTS', KEYS[4]), members,
  safe_hgetall(KEYS[5]), safe_hgetall(KEYS[6]), safe_hgetall(KEYS[7]),
  redis.call('EXISTS', KEYS[3])}
local ids = redis.pcall('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')
if type(ids) == 'table' and not ids['err'] then
  for _, id in ipairs(ids) do
    local rec = redis.pcall('GET', ARGV[3] .. id)
    if type(rec) == 'table' then rec = false end
    table.insert(out, id)
    table.insert(out, rec)
    table.insert(out, safe_hgetall(ARGV[4] .. id))
  end
end
return out
`
