// The Lua scripts of redis-store.ts. Each read-check-write runs as one script, so two
// instances can never both win (COORDINATION-NOTES.md). Values are written as JSON built
// by the caller; scripts only splice in what the server decides (rev, TIME) so the
// caller's encoding is kept byte for byte. A key of the wrong Redis type is deleted before
// a write: the next valid write heals whatever was put under the prefix.

/** Tombstones kept for readable deletes (the newest; see DELETE_MEMBER). */
export const TOMBSTONES = 1_000

/**
 * A member record's standing for the drain budget (drain-budget.ts BudgetStanding): the
 * codec's rules that matter here (version, id = field, admin, removing), else unreadable.
 */
const STANDING = `
local function standing_of(id, raw)
  local ok, r = pcall(cjson.decode, raw)
  if not ok or type(r) ~= 'table' or r['v'] ~= 1 or type(r['member']) ~= 'table'
    or r['member']['id'] ~= id or type(r['removing']) ~= 'boolean' then return 'unreadable' end
  if r['removing'] then return 'removing' end
  local a = r['admin']
  if a == 'enabled' or a == 'draining' or a == 'disabled' then return a end
  return 'unreadable'
end
`

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
-- Replaces the first plain occurrence of what (JSON.stringify output: a key can only
-- appear unescaped as a key) with by.
local function splice(json, what, by)
  local a, b = string.find(json, what, 1, true)
  if not a then return json end
  return string.sub(json, 1, a - 1) .. by .. string.sub(json, b + 1)
end
local function safe_hgetall(key)
  local r = redis.pcall('HGETALL', key)
  if type(r) == 'table' and r['err'] then return {'__wrongtype__', r['err']} end
  return r
end
`

/**
 * KEYS: members, version, events, seeded, drains, removed. ARGV: id, record JSON without
 * rev (starts with "{"), notice JSON, "keep-admin" to keep a stored draining/disabled
 * state (the JSON then says "enabled"; an endpoint update must not undo a drain another
 * instance just made: read and written in this one step) or "keep-removing" to keep a
 * stored removal (a disable must not undo a DELETE), "no-seed" for a write that must
 * not mark the pool seeded (a sidecar's: it knows only its own member), "if-absent" to
 * write only if the member has no record (else the stored one is returned unchanged: a
 * sidecar registering from an older read must not overwrite a record written since,
 * e.g. the load balancers re-seeding an emptied store with an operator's drain). Drops any drain
 * lease on a member left enabled or removing (a lease describes state: drain-budget.ts)
 * and the member's tombstone. Returns the stored record.
 */
export const PUT_MEMBER = `${PRELUDE}
${STANDING}
ensure(KEYS[1], 'hash')
local json = ARGV[2]
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and ARGV[6] == 'if-absent' then return cur end
local s = cur and standing_of(ARGV[1], cur)
if ARGV[4] == 'keep-admin' and (s == 'draining' or s == 'disabled') then
  json = splice(json, '"admin":"enabled"', '"admin":"' .. s .. '"')
elseif ARGV[4] == 'keep-removing' and s == 'removing' then
  json = splice(json, '"removing":false', '"removing":true')
end
local v = bump(KEYS[2])
if ARGV[5] ~= 'no-seed' and redis.call('EXISTS', KEYS[4]) == 0 then redis.call('SET', KEYS[4], now_ms()) end
local stored = '{"rev":' .. v .. ',' .. string.sub(json, 2)
redis.call('HSET', KEYS[1], ARGV[1], stored)
local after = standing_of(ARGV[1], stored)
if after == 'enabled' or after == 'removing' then
  ensure(KEYS[5], 'hash')
  redis.call('HDEL', KEYS[5], ARGV[1])
end
ensure(KEYS[6], 'zset')
redis.call('ZREM', KEYS[6], ARGV[1])
redis.call('PUBLISH', KEYS[3], ARGV[3])
return stored
`

/**
 * KEYS: members, version, events, drains, removed. ARGV: id, notice JSON, "keep" to keep
 * the member's drain lease. Leaves a tombstone (the newest TOMBSTONES are kept): a member
 * leaves the pool only through this readable delete. Returns the new version or -1.
 */
export const DELETE_MEMBER = `${PRELUDE}
ensure(KEYS[1], 'hash')
ensure(KEYS[4], 'hash')
if ARGV[3] ~= 'keep' then redis.call('HDEL', KEYS[4], ARGV[1]) end
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return -1 end
local v = bump(KEYS[2])
ensure(KEYS[5], 'zset')
redis.call('ZADD', KEYS[5], v, ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -${TOMBSTONES + 1})
redis.call('PUBLISH', KEYS[3], ARGV[2])
return v
`

/**
 * KEYS: members, version, events, removed. ARGV: notice JSON, then quadruples of id,
 * the raw value found ("" = the field was missing), the good record JSON without rev,
 * the good copy's rev. Rewrites each record still as found (a missing one only without a
 * tombstone at or after the copy's rev): any valid write in between wins. Returns the
 * number rewritten.
 */
export const REPAIR_MEMBERS = `${PRELUDE}
ensure(KEYS[1], 'hash')
local todo = {}
for i = 2, #ARGV, 4 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  local found = ARGV[i + 1]
  local same = (found == '' and not cur) or (cur == found)
  if same and found == '' then
    local t = redis.pcall('ZSCORE', KEYS[4], ARGV[i])
    if type(t) == 'string' and tonumber(t) >= tonumber(ARGV[i + 3]) then same = false end
  end
  if same then table.insert(todo, i) end
end
if #todo == 0 then return 0 end
local v = bump(KEYS[2])
for _, i in ipairs(todo) do
  redis.call('HSET', KEYS[1], ARGV[i], '{"rev":' .. v .. ',' .. string.sub(ARGV[i + 2], 2))
end
redis.call('PUBLISH', KEYS[3], ARGV[1])
return #todo
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
 * KEYS: members, version, events, seeded (unused: a drain needs an existing record), drains.
 * ARGV: id, holder, reason, ttl ms, record
 * JSON without rev (admin "draining"), notice JSON, "force" or "", then the ids the caller
 * sees down everywhere. drain-budget.ts drainDecision in Lua, on the store's own state:
 * reaps expired and void leases (member enabled or removing), rewrites unreadable ones
 * readable (unknown holder, fresh expiry), then grants if fewer than floor((N-1)/2) others
 * are out. Returns {-1} (no such member), {0, budget, id1, why1, holder1, ...} or
 * {1, lease JSON, stored record}. A member already being removed stays so (no lease).
 */
export const DRAIN = `${PRELUDE}
${STANDING}
ensure(KEYS[1], 'hash')
ensure(KEYS[5], 'hash')
local id = ARGV[1]
if redis.call('HEXISTS', KEYS[1], id) == 0 then return {-1} end
local now = now_ms()
local ttl = tonumber(ARGV[4])
local down = {}
for i = 8, #ARGV do down[ARGV[i]] = true end
local standing = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do standing[all[i]] = standing_of(all[i], all[i + 1]) end
local holders = {}
local leases = redis.call('HGETALL', KEYS[5])
for i = 1, #leases, 2 do
  local m = leases[i]
  local s = standing[m]
  local ok, lease = pcall(cjson.decode, leases[i + 1])
  if s == 'enabled' or s == 'removing' then
    redis.call('HDEL', KEYS[5], m)
  elseif not ok or type(lease) ~= 'table' or type(lease['expiresAt']) ~= 'number' or type(lease['holder']) ~= 'string' then
    -- Damaged: unknown, so it keeps counting, readable again and bounded by the TTL.
    holders[m] = 'unknown'
    redis.call('HSET', KEYS[5], m, cjson.encode({v = 1, holder = 'unknown', token = 'repaired', reason = 'a damaged lease, repaired', at = now, expiresAt = now + ttl}))
  elseif lease['expiresAt'] <= now then
    redis.call('HDEL', KEYS[5], m)
  else
    holders[m] = lease['holder']
  end
end
local n = 0
local out = {}
for m, s in pairs(standing) do
  if s ~= 'removing' then
    n = n + 1
    if m ~= id then
      local why = false
      if s ~= 'enabled' then why = s elseif down[m] then why = 'down' end
      if why then
        table.insert(out, m) table.insert(out, why) table.insert(out, holders[m] or '')
      end
    end
  end
end
for m, h in pairs(holders) do
  if standing[m] == nil then
    n = n + 1
    if m ~= id then table.insert(out, m) table.insert(out, 'left') table.insert(out, h) end
  end
end
local budget = math.floor((n - 1) / 2)
if ARGV[7] ~= 'force' and #out / 3 >= budget then
  local r = {0, budget}
  for _, x in ipairs(out) do table.insert(r, x) end
  return r
end
local lease = cjson.encode({v = 1, holder = ARGV[2], token = ARGV[2], reason = ARGV[3], at = now, expiresAt = now + ttl})
local json = ARGV[5]
if standing[id] == 'removing' then
  -- Already leaving (a DELETE this caller may not have seen yet): stays removing, and a
  -- lease on a leaving member would be void.
  json = splice(json, '"removing":false', '"removing":true')
else
  redis.call('HSET', KEYS[5], id, lease)
end
local v = bump(KEYS[2])
local stored = '{"rev":' .. v .. ',' .. string.sub(json, 2)
redis.call('HSET', KEYS[1], id, stored)
redis.call('PUBLISH', KEYS[3], ARGV[6])
return {1, lease, stored}
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
 * KEYS: instances, version, members, seeded, sidecars, drains, verdicts, removed. ARGV:
 * ttl ms, known version ("" = none), prefix of instance keys, prefix of observation keys.
 * Reaps void drain leases first (member enabled or removing: drain-budget.ts leaseIsVoid),
 * so no reader ever sees one. Returns {now, version, seeded, members|false, sidecars,
 * drains, verdicts, membersExists, removed (id, score, ...), id1, inst1, obs1, id2, ...};
 * a key of the wrong type comes back as {'__wrongtype__', error}.
 */
export const SNAPSHOT = `${PRELUDE}
${STANDING}
local now = now_ms()
local version = redis.pcall('GET', KEYS[2])
if type(version) == 'table' then version = '__wrongtype__' end
if not version then version = '0' end
if redis.call('TYPE', KEYS[6])['ok'] == 'hash' and redis.call('TYPE', KEYS[3])['ok'] == 'hash' then
  for _, m in ipairs(redis.call('HKEYS', KEYS[6])) do
    local raw = redis.call('HGET', KEYS[3], m)
    if raw then
      local s = standing_of(m, raw)
      if s == 'enabled' or s == 'removing' then redis.call('HDEL', KEYS[6], m) end
    end
  end
end
local members = false
if ARGV[2] == '' or ARGV[2] ~= version then members = safe_hgetall(KEYS[3]) end
local removed = redis.pcall('ZRANGE', KEYS[8], 0, -1, 'WITHSCORES')
if type(removed) == 'table' and removed['err'] then removed = {'__wrongtype__', removed['err']} end
local out = {now, version, redis.call('EXISTS', KEYS[4]), members,
  safe_hgetall(KEYS[5]), safe_hgetall(KEYS[6]), safe_hgetall(KEYS[7]),
  redis.call('EXISTS', KEYS[3]), removed}
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
