// Lua scripts of the store (key layout 2). Each runs on one Cluster slot: every key it touches is
// in KEYS, or (standalone only, mode 'a') read from an entry's header. Fresh tokens are
// `nonce .. ':' .. index`: the client sends one random nonce per call, and `:` never occurs in a
// nonce, so tokens are unique without trusting Lua's random generator. A token starting with `~`
// (byte 126) is fenced. A bump increments the bump counter of each table group it touches (never
// expiring), and the new tokens of that group end with `@<counter>`: a fill refuses a dependency
// found during its load whose token is newer than the counter it read before the load. Pub/sub is
// best effort: only BUMP publishes (standalone), with `redis.pcall`, so a missing channel
// permission never fails a bump; Cluster sends its SPUBLISH beside the scripts.
//
// Scripts carry no shebang flags: at `maxmemory` a script fails on its first write and Redis
// refuses that write before anything else was written, so a refused bump writes nothing.

/**
 * KEYS: token keys. ARGV: ttl seconds, nonce. Get-or-create; a fenced token keeps its own expiry.
 * TTL refreshes come last: at maxmemory Redis refuses a script's first write only if it may grow
 * memory, and lets every later write through, so a leading EXPIRE would wave the SETs past it.
 * A refresh never shortens a token's life (a caller with a short ttl must not expire shared tokens).
 */
export const TOKENS = `
local out, refresh = {}, {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if not v then
    v = ARGV[2] .. ':' .. i
    redis.call('SET', k, v, 'EX', ARGV[1])
  elseif string.byte(v, 1) ~= 126 then
    refresh[#refresh + 1] = k
  end
  out[i] = v
end
local ms = tonumber(ARGV[1]) * 1000
for _, k in ipairs(refresh) do
  if redis.call('PTTL', k) < ms then redis.call('EXPIRE', k, ARGV[1]) end
end
return out
`

/**
 * KEYS[1]: entry, KEYS[2]: its lease, KEYS[3..2+t]: token keys to get-or-create, then bump
 * counters to read ('0' when missing, never created).
 * ARGV: 1 ttl seconds, 2 nonce, 3 generation the client trusts ('' = none), 4 now (epoch ms),
 * 5 lease ms ('' = no lease), 6 lease owner, 7 '1' to refresh token TTLs, 8 key prefix,
 * 9 'a' (every key of the entry is reachable here) or 'c' (Cluster: only KEYS; the others are
 * judged by the hints), 10 t, 11.. hints: unprefixed key, token the client last saw.
 * Returns { tokens of the token keys then values of the counters, entry or '', extra keys
 * (unprefixed: the entry's own keys and fences not asked) or 0, their tokens or counter values or 0, lease }:
 * lease 1 taken, 2 held by someone else, 0 not tried (a fresh valid hit, or no lease asked). Lease
 * owners are `<generation>/<id>`: a lease of another generation (restored with an old RDB) is taken over.
 * TTL refreshes come last (see {@link TOKENS}): at maxmemory a miss fails here, a hit still reads.
 * The entry and every key in KEYS come from one MGET (a key of another type reads as missing);
 * only the entry's own keys that were not asked are read one by one.
 */
export const READ = `
local find, sub, byte = string.find, string.sub, string.byte
local ttl, nonce, prefix = ARGV[1], ARGV[2], ARGV[8]
local refresh = ARGV[7] == '1'
local nk = #KEYS
local nt = 2 + tonumber(ARGV[10])
local touched
-- One MGET reads the entry and every asked key (unpack stays far below Lua's stack limit).
local got
if nk <= 4000 then
  got = redis.call('MGET', KEYS[1], unpack(KEYS, 3, nk))
else
  got = { redis.call('GET', KEYS[1]) }
  for i = 3, nk, 4000 do
    local part = redis.call('MGET', unpack(KEYS, i, math.min(nk, i + 3999)))
    for j = 1, #part do got[i - 2 + j] = part[j] end
  end
end
local seen, out = {}, {}
for i = 3, nk do
  local k = KEYS[i]
  local v = got[i - 1]
  if i <= nt then
    if not v then
      v = nonce .. ':' .. i
      redis.call('SET', k, v, 'EX', ttl)
    elseif refresh and byte(v, 1) ~= 126 then
      touched = touched or {}
      touched[#touched + 1] = k
    end
  elseif not v then
    v = '0'
  end
  seen[k] = v
  out[i - 2] = v
end
local raw = got[1]
local xk, xt
local hit = false
if raw and byte(raw, 1) == 70 then
  local e = find(raw, '\\n', 2, true)
  local fresh = tonumber(sub(raw, 2, e - 1))
  local p = e + 1
  e = find(raw, '\\n', p, true)
  local gen = sub(raw, p, e - 1)
  p = find(raw, '\\n', e + 1, true) + 1
  e = find(raw, '\\n', p, true)
  local n = tonumber(sub(raw, p, e - 1))
  p = e + 1
  e = find(raw, '\\n', p, true)
  local m = tonumber(sub(raw, p, e - 1))
  p = e + 1
  hit = gen == ARGV[3] and gen ~= '' and fresh > tonumber(ARGV[4])
  local all = ARGV[9] == 'a'
  local hints
  if not all then
    hints = {}
    for h = 11, #ARGV, 2 do hints[ARGV[h]] = ARGV[h + 1] end
  end
  -- The entry's keys, then its tokens, then its fences, one per line.
  local keys = {}
  for i = 1, n do
    e = find(raw, '\\n', p, true)
    keys[i] = sub(raw, p, e - 1)
    p = e + 1
  end
  for i = 1, n do
    e = find(raw, '\\n', p, true)
    local short = keys[i]
    local k = prefix .. short
    local v = seen[k]
    if v == nil then
      if all then
        -- The entry's own keys are tokens (get-or-create).
        v = redis.call('GET', k)
        if not v then
          v = nonce .. ':' .. (nk + i)
          redis.call('SET', k, v, 'EX', ttl)
        elseif refresh and byte(v, 1) ~= 126 then
          touched = touched or {}
          touched[#touched + 1] = k
        end
        seen[k] = v
        xk = xk or {}
        xt = xt or {}
        xk[#xk + 1] = short
        xt[#xt + 1] = v
      else
        v = hints[short]
      end
    end
    if hit and v ~= sub(raw, p, e - 1) then hit = false end
    p = e + 1
  end
  for i = 1, m do
    e = find(raw, '\\n', p, true)
    if all then
      local short = sub(raw, p, e - 1)
      local k = prefix .. short
      if seen[k] == nil then
        -- Its fences are bump counters.
        local v = redis.call('GET', k) or '0'
        seen[k] = v
        xk = xk or {}
        xt = xt or {}
        xk[#xk + 1] = short
        xt[#xt + 1] = v
      end
    end
    p = e + 1
  end
else
  raw = ''
end
local lease = 0
if ARGV[5] ~= '' and not hit and ARGV[3] ~= '' then
  if redis.call('SET', KEYS[2], ARGV[6], 'NX', 'PX', ARGV[5]) then
    lease = 1
  else
    -- A lease taken under another generation came back with a restored server: its holder will
    -- never release it here. Owners are '<generation>/<id>'.
    local holder = redis.call('GET', KEYS[2])
    if holder and sub(holder, 1, #ARGV[3] + 1) ~= ARGV[3] .. '/' then
      redis.call('SET', KEYS[2], ARGV[6], 'PX', ARGV[5])
      lease = 1
    else
      lease = 2
    end
  end
end
if touched then
  local ms = tonumber(ttl) * 1000
  for _, k in ipairs(touched) do
    if redis.call('PTTL', k) < ms then redis.call('EXPIRE', k, ttl) end
  end
end
return { out, raw, xk or 0, xt or 0, lease }
`

/**
 * Compare-and-set write of an entry, releasing its lease whether stored or not.
 * KEYS[1]: entry, KEYS[2]: lease, then a expected keys, b other keys (discovered during the
 * load), c triples (scheme hash, scheme version, the table's bump counter).
 * ARGV: 1 entry ttl ms, 2 token ttl seconds, 3 nonce, 4 lease owner ('' none), 5 entry head,
 * 6 entry tail, 7 a, 8 b, 9 c, then a expected tokens, b baseline counters (one per other key,
 * '' when its table was not fenced), c triples (scheme id, description, baseline counter), then
 * one token per entry key in entry order: the token itself, or '#j' for the j-th other key.
 * Refuses (0) when an expected key no longer holds its token or holds a fenced one; an other key
 * holds a fenced token or one bumped after its baseline counter (missing other keys get fresh
 * tokens); or a scheme new to its table, or registered after the baseline, finds the table's
 * counter moved. Returns 1 when stored.
 */
export const WRITE = `
local a, b, c = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local function release()
  if ARGV[4] ~= '' and redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
end
for i = 1, a do
  local v = redis.call('GET', KEYS[2 + i])
  if v ~= ARGV[9 + i] or string.byte(v, 1) == 126 then
    release()
    return 0
  end
end
local other = {}
for j = 1, b do
  local k = KEYS[2 + a + j]
  local v = redis.call('GET', k)
  if v then
    local base = ARGV[9 + a + j]
    local seq = tonumber(string.match(v, '@(%d+)$')) or 0
    if string.byte(v, 1) == 126 or base == '' or seq > tonumber(base) then
      release()
      return 0
    end
  else
    v = ARGV[3] .. ':' .. j
    redis.call('SET', k, v, 'EX', ARGV[2])
  end
  other[j] = v
end
local ks, as = 2 + a + b, 9 + a + b
for s = 1, c do
  local h, ctr = KEYS[ks + 3 * s - 2], KEYS[ks + 3 * s]
  local id, base = ARGV[as + 3 * s - 2], tonumber(ARGV[as + 3 * s])
  local at = tonumber(redis.call('HGET', h, '@' .. id))
  if not (at and at <= base) and tonumber(redis.call('GET', ctr) or '0') ~= base then
    release()
    return 0
  end
end
for s = 1, c do
  local h, ver, ctr = KEYS[ks + 3 * s - 2], KEYS[ks + 3 * s - 1], KEYS[ks + 3 * s]
  local id = ARGV[as + 3 * s - 2]
  if redis.call('HSETNX', h, id, ARGV[as + 3 * s - 1]) == 1 then redis.call('INCR', ver) end
  if not redis.call('HGET', h, '@' .. id) then redis.call('HSET', h, '@' .. id, redis.call('GET', ctr) or '0') end
  redis.call('EXPIRE', h, ARGV[2])
  redis.call('EXPIRE', ver, ARGV[2])
end
local parts = {}
for i = as + 3 * c + 1, #ARGV do
  local t = ARGV[i]
  if string.byte(t, 1) == 35 then t = other[tonumber(string.sub(t, 2))] end
  parts[#parts + 1] = t
  parts[#parts + 1] = '\\n'
end
redis.call('SET', KEYS[1], ARGV[5] .. table.concat(parts) .. ARGV[6], 'PX', ARGV[1])
release()
return 1
`

/**
 * Phase 1 of a Cluster write, on one token slot: the checks of {@link WRITE} for the keys of
 * this slot, and its scheme registrations. KEYS: a expected keys, b other keys, c triples (scheme
 * hash, scheme version, bump counter). ARGV: 1 token ttl seconds, 2 nonce, 3 a, 4 b, 5 c,
 * a expected tokens, b baseline counters, c triples (id, description, baseline counter).
 * Returns 0 when refused, else { tokens of the other keys }.
 */
export const CHECK = `
local a, b, c = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
for i = 1, a do
  local v = redis.call('GET', KEYS[i])
  if v ~= ARGV[5 + i] or string.byte(v, 1) == 126 then return 0 end
end
local other = {}
for j = 1, b do
  local k = KEYS[a + j]
  local v = redis.call('GET', k)
  if v then
    local base = ARGV[5 + a + j]
    local seq = tonumber(string.match(v, '@(%d+)$')) or 0
    if string.byte(v, 1) == 126 or base == '' or seq > tonumber(base) then return 0 end
  else
    v = ARGV[2] .. ':' .. j
    redis.call('SET', k, v, 'EX', ARGV[1])
  end
  other[j] = v
end
local ks, as = a + b, 5 + a + b
for s = 1, c do
  local h, ctr = KEYS[ks + 3 * s - 2], KEYS[ks + 3 * s]
  local id, base = ARGV[as + 3 * s - 2], tonumber(ARGV[as + 3 * s])
  local at = tonumber(redis.call('HGET', h, '@' .. id))
  if not (at and at <= base) and tonumber(redis.call('GET', ctr) or '0') ~= base then return 0 end
end
for s = 1, c do
  local h, ver, ctr = KEYS[ks + 3 * s - 2], KEYS[ks + 3 * s - 1], KEYS[ks + 3 * s]
  local id = ARGV[as + 3 * s - 2]
  if redis.call('HSETNX', h, id, ARGV[as + 3 * s - 1]) == 1 then redis.call('INCR', ver) end
  if not redis.call('HGET', h, '@' .. id) then redis.call('HSET', h, '@' .. id, redis.call('GET', ctr) or '0') end
  redis.call('EXPIRE', h, ARGV[1])
  redis.call('EXPIRE', ver, ARGV[1])
end
return other
`

/**
 * Fences (see `fencedToken` in core): `~<deadline>.<deadline>…~<token>`, one deadline (server
 * epoch ms) per commit under way, increasing: the newest last, and unique, so a commit's deadline
 * names its own fence. The key expires with its latest one. `fences`
 * returns the live deadlines (after now) of a fenced value and the token after them; the older
 * forms `~<token>` and `~<n>~<token>` count as 1 and n fences lasting until the key expires.
 */
const FENCES = `
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function fences(k, v, now)
  local list, rest = string.match(v, '^~([%d.]+)~(.*)$')
  if not list then list, rest = '1', string.sub(v, 2) end
  local live = {}
  for part in string.gmatch(list, '%d+') do
    local d = tonumber(part)
    if d < 1e12 then
      local left = math.max(redis.call('PTTL', k), 1)
      for _ = 1, math.min(d, 64) do live[#live + 1] = now + left end
    elseif d > now then
      live[#live + 1] = d
    end
  end
  return live, rest
end
local function fence(k, live, t, now)
  local last = 0
  for _, d in ipairs(live) do last = math.max(last, d) end
  local v = '~' .. table.concat(live, '.') .. '~' .. t
  redis.call('SET', k, v, 'PX', last - now)
  return v
end
-- Counter c of a script whose counters follow its n token keys, incremented once per script.
local counted = {}
local function counter(n, c)
  if c > 0 then
    counted[c] = counted[c] or redis.call('INCR', KEYS[n + c])
    return '@' .. counted[c]
  end
  return ''
end
-- Each deadline listed ('.'-separated) names one commit's fence: its first occurrence ends.
local function ending(live, list)
  for part in string.gmatch(list, '%d+') do
    local d = tonumber(part)
    for j = 1, #live do
      if live[j] == d then
        table.remove(live, j)
        break
      end
    end
  end
end
-- Ends the listed fences of k (fenced value v). A key left with none becomes token t with its
-- counter c; one left with others keeps them. Returns true when k was unfenced.
local function unfence(k, v, list, t, n, c, now)
  local live, rest = fences(k, v, now)
  local before = #live
  ending(live, list)
  if #live == 0 then
    redis.call('SET', k, t .. counter(n, c), 'EX', ARGV[1])
    return true
  end
  if #live < before then fence(k, live, rest, now) end
  return false
end
`

/**
 * KEYS: n token keys, then m bump counters, then q keys to lift, then l pairs (scheme version,
 * scheme hash). ARGV: 1 ttl seconds, 2 nonce, 3 fence ms ('' = plain tokens), 4 n, 5 m, 6 q, then
 * n counter indexes (0: the key's group has none), then n lists of deadlines to end on the key
 * ('' none; `.`-separated), then q counter indexes, then q lists of deadlines, then l known
 * versions, then optionally a channel and a message to publish.
 * Sets key i to `nonce:i@<its counter>`, incrementing each counter it uses once. Fenced: the
 * key's live fences plus one ending fence ms from now (see {@link FENCES}), after every live one
 * even of those it ends. Plain, on a fenced key: the key stays fenced by its live fences, since
 * other commits are still under way on it. The deadlines listed end as {@link LIFT} ends them:
 * the lifts of earlier commits ride along in this one script, so a key bumped again pays one GET
 * and one SET for both. A key to lift only is ended like LIFT does (its fresh token is
 * `nonce:(n+j)`). The message is published last, with `redis.pcall`: pub/sub is best effort, so a
 * missing channel permission fails no bump (standalone only: a Cluster channel has its own slot).
 * Returns { { pair index, version, hash fields and values } for each scheme set whose version is
 * not the known one, the tokens written }.
 */
export const BUMP = `${FENCES}
local byte = string.byte
local n, m, q = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local toks = {}
local ms = ARGV[3] ~= '' and tonumber(ARGV[3]) or nil
local now
for i = 1, n do
  local t = ARGV[2] .. ':' .. i .. counter(n, tonumber(ARGV[6 + i]))
  local ends = ARGV[6 + n + i]
  local old = redis.call('GET', KEYS[i])
  local live = {}
  if ms or (old and byte(old, 1) == 126) then
    now = now or clock()
    local last = 0
    if old and byte(old, 1) == 126 then
      live = fences(KEYS[i], old, now)
      last = live[#live] or 0
      if ends ~= '' then ending(live, ends) end
    end
    -- Strictly after every live fence, ended or not, so each commit's deadline names its own fence.
    if ms then live[#live + 1] = math.max(now + ms, last + 1) end
  end
  if #live > 0 then
    t = fence(KEYS[i], live, t, now)
  else
    redis.call('SET', KEYS[i], t, 'EX', ARGV[1])
  end
  toks[i] = t
end
for j = 1, q do
  local k, list = KEYS[n + m + j], ARGV[6 + 2 * n + q + j]
  local v = redis.call('GET', k)
  if v and list ~= '' and byte(v, 1) == 126 then
    now = now or clock()
    unfence(k, v, list, ARGV[2] .. ':' .. (n + j), n, tonumber(ARGV[6 + 2 * n + j]), now)
  end
end
local moved = {}
local base, at = n + m + q, 6 + 2 * n + 2 * q
for s = 1, (#KEYS - base) / 2 do
  local ver = redis.call('GET', KEYS[base + 2 * s - 1]) or '0'
  if ver ~= ARGV[at + s] then
    moved[#moved + 1] = { s, ver, redis.call('HGETALL', KEYS[base + 2 * s]) }
  end
end
local channel = ARGV[at + (#KEYS - base) / 2 + 1]
if channel then redis.pcall('PUBLISH', channel, ARGV[at + (#KEYS - base) / 2 + 2]) end
return { moved, toks }
`

/**
 * KEYS: n token keys, then m bump counters. ARGV: 1 ttl seconds, 2 nonce, 3 n, 4 m, then n
 * counter indexes (0: none), then n deadlines: the caller's own fence on each key ('' = none).
 * Ends that fence (see {@link FENCES}): a key still fenced by others keeps their fences and
 * expires with the latest; a key with none left becomes `nonce:i@<counter>`, incrementing each
 * counter with such a key once, like a bump. A fence already ended ends nothing else; unfenced
 * and missing keys are left alone. Returns how many keys were unfenced.
 */
export const LIFT = `${FENCES}
local n = tonumber(ARGV[3])
local lifted = 0
local now
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  local own = ARGV[4 + n + i]
  if v and own ~= '' and string.byte(v, 1) == 126 then
    now = now or clock()
    if unfence(KEYS[i], v, own, ARGV[2] .. ':' .. i, n, tonumber(ARGV[4 + i]), now) then lifted = lifted + 1 end
  end
end
return lifted
`

/** KEYS: token keys. ARGV: ttl seconds. Extends the life of each unfenced token to ttl, never shortens it. */
export const REFRESH = `
local ms = tonumber(ARGV[1]) * 1000
for _, k in ipairs(KEYS) do
  if redis.call('PTTL', k) < ms then
    local v = redis.call('GET', k)
    if v and string.byte(v, 1) ~= 126 then redis.call('EXPIRE', k, ARGV[1]) end
  end
end
return 0
`

/**
 * `invalidateAll`, one batch: KEYS: n token keys (found by SCAN), then m bump counters (of their
 * groups). ARGV: 1 ttl seconds, 2 nonce, 3 n, then n counter indexes (0: none). Replaces every
 * unfenced token still present with a fresh one (a fenced one is left to its commit, which lifts
 * it), incrementing each existing counter of a renewed key's group once. Returns how many.
 */
export const RENEW = `
local n = tonumber(ARGV[3])
local vals, renewed = {}, 0
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  if v and string.byte(v, 1) ~= 126 then
    local c = tonumber(ARGV[3 + i])
    local t = ARGV[2] .. ':' .. i
    if c > 0 then
      if vals[c] == nil then
        vals[c] = redis.call('EXISTS', KEYS[n + c]) == 1 and redis.call('INCR', KEYS[n + c]) or false
      end
      if vals[c] then t = t .. '@' .. vals[c] end
    end
    redis.call('SET', KEYS[i], t, 'EX', ARGV[1])
    renewed = renewed + 1
  end
end
return renewed
`

/** KEYS: pairs (scheme version, scheme hash). Returns { version or '0', hash fields and values } per pair. */
export const SCHEMES = `
local out = {}
for s = 1, #KEYS / 2 do
  out[s] = { redis.call('GET', KEYS[2 * s - 1]) or '0', redis.call('HGETALL', KEYS[2 * s]) }
end
return out
`

/**
 * KEYS[1]: lease. ARGV: owner ('<generation>/<id>'), ms, generation. Takes the lease if free, or
 * held under another generation (see {@link READ}). Returns 1 when taken, 2 when held.
 */
export const LEASE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
local holder = redis.call('GET', KEYS[1])
if holder and string.sub(holder, 1, #ARGV[3] + 1) ~= ARGV[3] .. '/' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 2
`

/** KEYS[1]: lease. ARGV: owner. Deletes the lease only if the owner still holds it. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

/** KEYS[1]: ordered set. ARGV: score, member. Adds if absent; returns members oldest first. */
export const REGISTER = `
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
return redis.call('ZRANGE', KEYS[1], 0, -1)
`

/** KEYS[1]: probe key. ARGV: value. `verify()`: can scripts write and read keys under the prefix? */
export const PROBE = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', 10000)
local v = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1])
return v
`

/** Every script, by the name the store defines it under (suffixed with a digest of its text). */
export const SCRIPTS = {
  TOKENS,
  REFRESH,
  READ,
  WRITE,
  CHECK,
  BUMP,
  LIFT,
  RENEW,
  SCHEMES,
  LEASE,
  RELEASE,
  REGISTER,
  PROBE,
} as const
