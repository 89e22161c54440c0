// Lua scripts, registered with ioredis `defineCommand` (EVALSHA, falling back to EVAL when the
// script cache was flushed). Fresh tokens are `nonce .. index`: the client sends one random nonce
// per call, so tokens are unique without trusting Lua's random generator. The `:` keeps
// `nonce .. index` unambiguous (nonces have no `:`).

/** KEYS: token keys. ARGV: ttl seconds, nonce. Returns the token of each key, creating missing ones. */
export const TOKENS = `
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GETEX', k, 'EX', ARGV[1])
  if not v then
    v = ARGV[2] .. ':' .. i
    redis.call('SET', k, v, 'EX', ARGV[1])
  end
  out[i] = v
end
return out
`

/** KEYS: token keys. ARGV: ttl seconds, nonce, channel or '', key prefix. Gives each key a new token; publishes the unprefixed keys. */
export const BUMP = `
for i, k in ipairs(KEYS) do
  redis.call('SET', k, ARGV[2] .. ':' .. i, 'EX', ARGV[1])
end
if ARGV[3] ~= '' then
  local names = {}
  for i, k in ipairs(KEYS) do names[i] = string.sub(k, #ARGV[4] + 1) end
  redis.call('PUBLISH', ARGV[3], table.concat(names, '\\n'))
end
return #KEYS
`

// Entry layout: "<n>\\n<key1>\\n<token1>\\n...<keyN>\\n<tokenN>\\n<freshUntil>\\n<payload>".
// Header keys are stored without the store prefix; ARGV carries it.

/**
 * KEYS[1]: entry; KEYS[2..]: token keys to get-or-create. ARGV: ttl seconds, nonce, prefix.
 * Returns { tokens, entry or '', valid (1/0) }; validity compares the entry's own header tokens.
 */
export const READ = `
local tokens = {}
for i = 2, #KEYS do
  local k = KEYS[i]
  local v = redis.call('GETEX', k, 'EX', ARGV[1])
  if not v then
    v = ARGV[2] .. ':' .. i
    redis.call('SET', k, v, 'EX', ARGV[1])
  end
  tokens[i - 1] = v
end
local raw = redis.call('GET', KEYS[1])
if not raw then return { tokens, '', 0 } end
local nl = string.find(raw, '\\n', 1, true)
local n = tonumber(string.sub(raw, 1, nl - 1))
local pos = nl + 1
local valid = 1
for _ = 1, n do
  local e1 = string.find(raw, '\\n', pos, true)
  local key = string.sub(raw, pos, e1 - 1)
  local e2 = string.find(raw, '\\n', e1 + 1, true)
  local token = string.sub(raw, e1 + 1, e2 - 1)
  pos = e2 + 1
  if valid == 1 and redis.call('GET', ARGV[3] .. key) ~= token then valid = 0 end
end
return { tokens, raw, valid }
`

/** KEYS[1]: entry; KEYS[2..]: token keys. ARGV: entry text, ttl ms, expected tokens... Compare-and-set. */
export const WRITE = `
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) ~= ARGV[i + 1] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
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
