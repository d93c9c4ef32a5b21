/**
 * The Lua scripts of RedisStore: each atomic on the server, each naming keys of one Cluster slot
 * only, and each refusing to run past its deadline (its last argument, in the server's clock).
 * RedisStore sends them by EVALSHA, falling back to EVAL after a script-cache flush.
 * @module
 */
import { createHash } from 'node:crypto';

// The user index: the record keeps `u` (sha256 of its user), and the user's set
// `<prefix>user:<sha256(user)>` holds the store keys, expiring no sooner than its newest session.
// KEYS[2] (when given) is the set; ARGV[n]: user hash ('' = none), ARGV[n+1]: member.
const RECORD_USER = `local function bind(n, ttl)
  if ARGV[n] ~= '' then redis.call('HSET', KEYS[1], 'u', ARGV[n]) else redis.call('HDEL', KEYS[1], 'u') end
  if #KEYS > 1 then
    redis.call('SADD', KEYS[2], ARGV[n + 1])
    if redis.call('PTTL', KEYS[2]) < tonumber(ttl) then redis.call('PEXPIRE', KEYS[2], ttl) end
  end
end
`;

// KEYS[1] key, [KEYS[2] user set]; ARGV: data, atime, version, ttl ms (> 0), user hash, member
const SET_SCRIPT = `${RECORD_USER}redis.call('HSET', KEYS[1], 'd', ARGV[1], 'a', ARGV[2], 'v', ARGV[3])
bind(5, ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;

// The same, only when KEYS[1] does not exist (a new session's first write); returns 0 when it does.
const CREATE_SCRIPT = `if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
${SET_SCRIPT}`;

// KEYS[1] key; ARGV: atime, ttl ms (<= 0: delete). Returns the user hash ('' for none), or 0 when absent.
const TOUCH_SCRIPT = `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if tonumber(ARGV[2]) <= 0 then redis.call('DEL', KEYS[1]) return 0 end
redis.call('HSET', KEYS[1], 'a', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('HGET', KEYS[1], 'u') or ''`;

// KEYS[1] key, [KEYS[2] user set]; ARGV: expected version ('' = none), op ('set' | 'del'),
// data, atime, new version, ttl ms, user hash, member. FIELD is 'v' (the version read) or 'd'
// (the data read, when the caller hands in the record it loaded: one round trip, no read).
const casScript = (
  field: 'v' | 'd',
) => `${RECORD_USER}local v = redis.call('HGET', KEYS[1], '${field}')
if (v or '') ~= ARGV[1] then return 0 end
if ARGV[2] == 'del' then redis.call('DEL', KEYS[1]) return 1 end
redis.call('HSET', KEYS[1], 'd', ARGV[3], 'a', ARGV[4], 'v', ARGV[5])
bind(7, ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1`;

// KEYS[1] user set; ARGV: member ('' = none, only extend), ttl ms. On its own: Cluster mode,
// where a set and a record are in different slots, and after a touch.
const INDEX_SCRIPT = `if ARGV[1] ~= '' then redis.call('SADD', KEYS[1], ARGV[1]) end
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1`;

// Before every write script: refuse when the server's clock is past the deadline, the script's
// last argument (ms since epoch, server clock). `replicate_commands` lets a write follow TIME on
// Redis before 5 (it is the only mode since 7).
const DEADLINE_PRELUDE = `if redis.replicate_commands then redis.replicate_commands() end
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[#ARGV]) then
  return redis.error_reply('WEBSESSION_LATE the write reached Redis after its deadline and was not applied')
end
`;

/** A script's text and the SHA-1 EVALSHA names it by. */
export interface Script {
  text: string;
  sha: string;
}
const script = (body: string): Script => {
  const text = DEADLINE_PRELUDE + body;
  return { text, sha: createHash('sha1').update(text).digest('hex') };
};

/** The scripts by use; the last argument of each is its deadline (see DEADLINE_PRELUDE). */
export const SCRIPTS = {
  set: script(SET_SCRIPT),
  create: script(CREATE_SCRIPT),
  touch: script(TOUCH_SCRIPT),
  cas: script(casScript('v')),
  casData: script(casScript('d')),
  index: script(INDEX_SCRIPT),
};
