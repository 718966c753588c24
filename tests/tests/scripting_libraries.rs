//! The Lua that popular client libraries ship, run the way they run it and compared with
//! redis-server (issue 15): their `Script` helper (`EVALSHA`, `NOSCRIPT`, then `EVAL`),
//! a distributed lock's acquire/extend/release (redis-py's `Lock`, node-redlock's
//! multi-key lock), a sliding-window rate limiter on a sorted set, and a job queue moving a
//! job from a waiting list to an active one and stamping its hash atomically (Bull's
//! `moveToActive`). The scripts follow those libraries' logic, argument layout and replies
//! (written here from their behaviour, not byte-copied); every step is compared with
//! redis-server in RESP2 and RESP3.

use tandem_tests::*;

/// redis-py `Lock.release`: delete the lock only if it still holds our token.
const PY_RELEASE: &str = "
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        redis.call('del', KEYS[1])
        return 1
";

/// redis-py `Lock.extend`: add to (or, with ARGV[3] = 1, replace) the lock's remaining
/// time, only while it holds our token and has a time to live.
const PY_EXTEND: &str = "
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        local expiration = redis.call('pttl', KEYS[1])
        if not expiration then
            expiration = 0
        end
        if expiration < 0 then
            return 0
        end
        local newttl = ARGV[2]
        if ARGV[3] == \"0\" then
            newttl = ARGV[2] + expiration
        end
        redis.call('pexpire', KEYS[1], newttl)
        return 1
";

/// redis-py `Lock.reacquire`: reset the lock's time to live while it holds our token.
const PY_REACQUIRE: &str = "
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        redis.call('pexpire', KEYS[1], ARGV[2])
        return 1
";

/// node-redlock acquire: all the resources or none.
const REDLOCK_ACQUIRE: &str = "
  for i, key in ipairs(KEYS) do
    if redis.call(\"exists\", key) == 1 then
      return 0
    end
  end
  for i, key in ipairs(KEYS) do
    redis.call(\"set\", key, ARGV[1], \"PX\", ARGV[2])
  end
  return #KEYS
";

/// node-redlock extend: only if every resource still holds our value.
const REDLOCK_EXTEND: &str = "
  for i, key in ipairs(KEYS) do
    if redis.call(\"get\", key) ~= ARGV[1] then
      return 0
    end
  end
  for i, key in ipairs(KEYS) do
    redis.call(\"set\", key, ARGV[1], \"PX\", ARGV[2])
  end
  return #KEYS
";

/// node-redlock release: the resources that hold our value.
const REDLOCK_RELEASE: &str = "
  local count = 0
  for i, key in ipairs(KEYS) do
    if redis.call(\"get\", key) == ARGV[1] then
      redis.pcall(\"del\", key)
      count = count + 1
    end
  end
  return count
";

/// A sliding-window limiter: at most ARGV[3] requests per ARGV[2] ms; ARGV[1] is now (ms,
/// given by the client so both servers see the same times), ARGV[4] the request's id.
/// Replies {allowed, remaining or ms until a slot frees}.
const RATE_LIMIT: &str = "
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  return {1, limit - count - 1}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
";

/// Bull's moveToActive: take the next job id from the waiting list onto the active list,
/// lock it, drop it from the priority set, announce it, stamp its hash, and return the
/// job's fields with its id. KEYS: wait, active, priority, active event channel, stalled;
/// ARGV: key prefix, lock token, lock ms, timestamp, optional job id.
const MOVE_TO_ACTIVE: &str = "
local jobId
if (ARGV[5] ~= \"\") then
  jobId = ARGV[5]
  redis.call(\"SREM\", KEYS[5], jobId)
else
  jobId = redis.call(\"RPOPLPUSH\", KEYS[1], KEYS[2])
end
if jobId then
  local jobKey = ARGV[1] .. jobId
  local lockKey = jobKey .. ':lock'
  redis.call(\"SET\", lockKey, ARGV[2], \"PX\", ARGV[3])
  redis.call(\"ZREM\", KEYS[3], jobId)
  redis.call(\"PUBLISH\", KEYS[4], jobId)
  redis.call(\"HSET\", jobKey, \"processedOn\", ARGV[4])
  return {redis.call(\"HGETALL\", jobKey), jobId}
end
";

/// Bull's moveToFinished, reduced to its atomic core: the job leaves the active list for
/// the completed set, with its result and finish time in its hash, if we hold its lock.
const MOVE_TO_COMPLETED: &str = "
local jobKey = ARGV[1] .. ARGV[2]
if redis.call(\"GET\", jobKey .. ':lock') ~= ARGV[3] then
  return -2
end
redis.call(\"DEL\", jobKey .. ':lock')
if redis.call(\"LREM\", KEYS[1], -1, ARGV[2]) == 0 then
  return -3
end
redis.call(\"ZADD\", KEYS[2], ARGV[4], ARGV[2])
redis.call(\"HMSET\", jobKey, \"returnvalue\", ARGV[5], \"finishedOn\", ARGV[4])
return 0
";

/// The script's SHA1, as redis-server computes it (this also caches it there).
fn sha(differ: &Differ, body: &str) -> String {
    redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(body)
        .query(&mut differ.reference().client())
        .expect("SCRIPT LOAD on redis-server")
}

#[test]
fn redis_py_lock_and_its_script_helper_as_on_redis() {
    let differ = Differ::start();
    let (release, extend, reacquire) = (
        sha(&differ, PY_RELEASE),
        sha(&differ, PY_EXTEND),
        sha(&differ, PY_REACQUIRE),
    );
    differ.check(&[
        &["SCRIPT", "FLUSH"],
        // Lock.acquire is SET NX PX; the Script helper tries EVALSHA first.
        &["SET", "lock:job", "tok-a", "NX", "PX", "30000"],
        &["SET", "lock:job", "tok-b", "NX", "PX", "30000"],
        &["EVALSHA", &extend, "1", "lock:job", "tok-a", "10000", "0"],
        &["EVAL", PY_EXTEND, "1", "lock:job", "tok-a", "10000", "0"],
        &["PTTL", "lock:job"],
        &["EVALSHA", &extend, "1", "lock:job", "tok-a", "5000", "1"],
        &["PTTL", "lock:job"],
        &["EVALSHA", &extend, "1", "lock:job", "tok-b", "5000", "1"],
        &["SCRIPT", "LOAD", PY_REACQUIRE],
        &["EVALSHA", &reacquire, "1", "lock:job", "tok-a", "20000"],
        &["PTTL", "lock:job"],
        &["EVALSHA", &release, "1", "lock:job", "tok-b"],
        &["EVAL", PY_RELEASE, "1", "lock:job", "tok-a"],
        &["EVALSHA", &release, "1", "lock:job", "tok-a"],
        &["EXISTS", "lock:job"],
        // A lock without a time to live cannot be extended.
        &["SET", "lock:forever", "tok-a"],
        &[
            "EVALSHA",
            &extend,
            "1",
            "lock:forever",
            "tok-a",
            "1000",
            "0",
        ],
        &["TTL", "lock:forever"],
        &["SCRIPT", "EXISTS", &release, &extend, &reacquire],
    ]);
}

#[test]
fn redlock_acquire_extend_release_across_resources_as_on_redis() {
    let differ = Differ::start();
    let (acquire, extend, release) = (
        sha(&differ, REDLOCK_ACQUIRE),
        sha(&differ, REDLOCK_EXTEND),
        sha(&differ, REDLOCK_RELEASE),
    );
    differ.check(&[
        &["SCRIPT", "LOAD", REDLOCK_ACQUIRE],
        &["SCRIPT", "LOAD", REDLOCK_EXTEND],
        &["SCRIPT", "LOAD", REDLOCK_RELEASE],
        &["EVALSHA", &acquire, "2", "r:a", "r:b", "v1", "10000"],
        &["MGET", "r:a", "r:b"],
        // Overlapping resources: all or nothing.
        &["EVALSHA", &acquire, "2", "r:b", "r:c", "v2", "10000"],
        &["EXISTS", "r:c"],
        &["EVALSHA", &extend, "2", "r:a", "r:b", "v1", "20000"],
        &["PTTL", "r:a"],
        &["EVALSHA", &extend, "2", "r:a", "r:b", "v2", "20000"],
        &["SET", "r:b", "stolen"],
        &["EVALSHA", &release, "2", "r:a", "r:b", "v1"],
        &["MGET", "r:a", "r:b"],
        &["EVALSHA", &acquire, "2", "r:a", "r:c", "v2", "10000"],
        &["EVALSHA_RO", &acquire, "1", "r:x", "v", "1"],
    ]);
}

#[test]
fn sliding_window_rate_limiter_as_on_redis() {
    let differ = Differ::start();
    let limiter = sha(&differ, RATE_LIMIT);
    let mut script: Vec<Vec<String>> =
        vec![vec!["SCRIPT".into(), "LOAD".into(), RATE_LIMIT.into()]];
    // Three per 1000 ms: requests at 0, 100, 200 pass, 300 and 900 wait, 1050 passes
    // (the one at 0 left the window), 1100 passes, 1150 waits.
    for (i, now) in [0, 100, 200, 300, 900, 1050, 1100, 1150].iter().enumerate() {
        let now = 1_700_000_000_000i64 + now;
        script.push(
            [
                "EVALSHA",
                &limiter,
                "1",
                "rl:user:42",
                &now.to_string(),
                "1000",
                "3",
                &format!("req-{i}"),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        );
        script.push(vec!["ZCARD".into(), "rl:user:42".into()]);
    }
    script.push(vec![
        "ZRANGE".into(),
        "rl:user:42".into(),
        "0".into(),
        "-1".into(),
        "WITHSCORES".into(),
    ]);
    script.push(vec!["PTTL".into(), "rl:user:42".into()]);
    let steps: Vec<Vec<&str>> = script
        .iter()
        .map(|s| s.iter().map(String::as_str).collect())
        .collect();
    let steps: Vec<&[&str]> = steps.iter().map(Vec::as_slice).collect();
    differ.check(&steps);
}

#[test]
fn bull_like_job_queue_moves_jobs_atomically_as_on_redis() {
    let differ = Differ::start();
    let to_active = sha(&differ, MOVE_TO_ACTIVE);
    let to_done = sha(&differ, MOVE_TO_COMPLETED);
    let keys = [
        "bull:q:wait",
        "bull:q:active",
        "bull:q:priority",
        "bull:q:active-event",
        "bull:q:stalled",
    ];
    let take = |job: &'static str| -> Vec<&str> {
        let mut v = vec!["EVALSHA", to_active.as_str(), "5"];
        v.extend(keys);
        v.extend(["bull:q:", "lock-token", "30000", "1700000000000", job]);
        v
    };
    let next = take("");
    let stalled = take("7");
    differ.check(&[
        &["SCRIPT", "LOAD", MOVE_TO_ACTIVE],
        &["SCRIPT", "LOAD", MOVE_TO_COMPLETED],
        // Fields in name order: tandem's HGETALL lists a hash's fields so ordered,
        // redis-server a small hash's in insertion order, and this one reaches the client
        // inside the script's reply, where no comparison can tell it is a hash.
        &[
            "HSET",
            "bull:q:1",
            "data",
            "{\"to\":\"a@b\"}",
            "name",
            "email",
        ],
        &["HSET", "bull:q:2", "data", "{\"w\":64}", "name", "resize"],
        &["LPUSH", "bull:q:wait", "1", "2"],
        &["ZADD", "bull:q:priority", "1", "1", "2", "2"],
        &next,
        &["LRANGE", "bull:q:wait", "0", "-1"],
        &["LRANGE", "bull:q:active", "0", "-1"],
        &["ZRANGE", "bull:q:priority", "0", "-1"],
        &["GET", "bull:q:1:lock"],
        &["HGETALL", "bull:q:1"],
        &[
            "EVALSHA",
            &to_done,
            "2",
            "bull:q:active",
            "bull:q:completed",
            "bull:q:",
            "1",
            "wrong-token",
            "1700000000500",
            "sent",
        ],
        &[
            "EVALSHA",
            &to_done,
            "2",
            "bull:q:active",
            "bull:q:completed",
            "bull:q:",
            "1",
            "lock-token",
            "1700000000500",
            "sent",
        ],
        &["LRANGE", "bull:q:active", "0", "-1"],
        &["ZRANGE", "bull:q:completed", "0", "-1", "WITHSCORES"],
        &["HGETALL", "bull:q:1"],
        &["EXISTS", "bull:q:1:lock"],
        &next,
        &next,
        &["SADD", "bull:q:stalled", "7"],
        &stalled,
        &["SMEMBERS", "bull:q:stalled"],
        &["LLEN", "bull:q:active"],
    ]);
}
