//! Keyspace notifications end to end: for scripts over every data type, a raw subscriber to
//! `__key*__:*` on tandem and on a real redis-server (same `notify-keyspace-events`) must
//! receive exactly the same messages in the same order; class filtering (K, E, A, n, x and
//! the type letters); expiry events from both lazy and background expiry; CONFIG SET/GET of
//! the flags; and events crossing to a subscriber on another proxy.

use std::thread;
use std::time::Duration;

use tandem_tests::*;

/// A script step: a command, or `["SLEEP", ms]` (local pause, for expiry).
type Script<'a> = &'a [&'a [&'a str]];

/// Channel the script client publishes on when done; every event before it has arrived.
const DONE: &str = "keyspace-test-done";

/// Subscribes a raw client to every keyspace channel and to [`DONE`].
fn subscriber(addr: &str, resp3: bool) -> RawClient {
    let mut sub = RawClient::connect(addr);
    if resp3 {
        sub.command(&["HELLO", "3"]);
    }
    sub.command(&["PSUBSCRIBE", "__key*__:*"]);
    sub.command(&["SUBSCRIBE", DONE]);
    sub
}

/// Runs `script` with `flags` set, and returns every message the subscriber got.
fn events(addr: &str, flags: &str, script: Script<'_>, resp3: bool) -> Vec<String> {
    let mut c = RawClient::connect(addr);
    assert_eq!(
        c.command(&["CONFIG", "SET", "notify-keyspace-events", ""]),
        "+OK\r\n"
    );
    c.command(&["FLUSHALL"]);
    assert_eq!(
        c.command(&["CONFIG", "SET", "notify-keyspace-events", flags]),
        "+OK\r\n"
    );
    let mut sub = subscriber(addr, resp3);
    for step in script {
        if step[0] == "SLEEP" {
            let ms: u64 = step[1].parse().expect("SLEEP takes milliseconds");
            thread::sleep(Duration::from_millis(ms));
            continue;
        }
        c.command(step);
    }
    c.command(&["PUBLISH", DONE, "x"]);
    let mut got = Vec::new();
    loop {
        let message = sub.reply();
        if message.contains(DONE) {
            return got;
        }
        got.push(message);
    }
}

/// Runs each script on both servers and compares the messages, RESP2 and RESP3.
fn same_events(flags: &str, scripts: &[Script<'_>]) {
    same_events_on(&Differ::start(), flags, scripts);
}

fn same_events_on(d: &Differ, flags: &str, scripts: &[Script<'_>]) {
    for (i, script) in scripts.iter().enumerate() {
        let resp3 = i % 2 == 1;
        let ours = events(&d.tandem().addr(), flags, script, resp3);
        let theirs = events(&d.reference().addr(), flags, script, resp3);
        if flags == "KEAn" {
            assert!(!theirs.is_empty(), "no events at all for {script:?}");
        }
        assert_eq!(
            ours, theirs,
            "events differ (tandem left, redis right) for flags {flags:?}, script {script:?}"
        );
    }
}

#[test]
fn string_events_match_redis() {
    same_events(
        "KEAn",
        &[
            &[
                &["SET", "a", "1"],
                &["SET", "a", "2"],
                &["MSET", "b", "1", "c", "2"],
            ],
            &[
                &["SET", "q", "1", "NX"],
                &["SET", "q", "2", "NX"],
                &["SET", "q", "3", "XX", "GET"],
                &["SET", "r", "3", "XX", "GET"],
                &["SET", "q", "4", "KEEPTTL"],
                &["SET", "q", "5", "EX", "100"],
                &["SETNX", "q", "1"],
                &["SETNX", "n", "1"],
                &["SETEX", "w", "100", "v"],
                &["PSETEX", "w", "100000", "v"],
                &["GETSET", "w", "x"],
            ],
            &[
                &["MSETNX", "m1", "1", "m2", "2"],
                &["MSETNX", "m1", "1", "m3", "2"],
                &["MSET", "d", "1", "d", "2"],
            ],
            &[
                &["INCR", "n"],
                &["INCRBY", "n", "5"],
                &["DECR", "n"],
                &["DECRBY", "n", "2"],
                &["INCRBYFLOAT", "f", "1.5"],
                &["INCR", "f"],
                &["APPEND", "s", "hi"],
                &["SETRANGE", "s", "1", "xx"],
                &["SETRANGE", "s", "1", ""],
                &["SETRANGE", "t", "0", ""],
                &["SETRANGE", "t", "2", "a"],
            ],
            &[
                &["SET", "a", "v"],
                &["GETEX", "a"],
                &["GETEX", "a", "PX", "100000"],
                &["GETEX", "a", "PERSIST"],
                &["GETEX", "a", "PERSIST"],
                &["GETEX", "nope", "EX", "5"],
                &["GETDEL", "a"],
                &["GETDEL", "a"],
                &["SET", "b", "v"],
                &["GETEX", "b", "PXAT", "1"],
            ],
        ],
    );
}

#[test]
fn bitmap_events_match_redis() {
    same_events(
        "KEAn",
        &[
            &[
                &["SETBIT", "b", "3", "1"],
                &["SETBIT", "b", "3", "1"],
                &["SETBIT", "b", "3", "0"],
                &["SETBIT", "b", "100", "0"],
                &["SETBIT", "b", "100", "0"],
                &["SETBIT", "z", "5", "0"],
                &["GETBIT", "b", "3"],
                &["BITCOUNT", "b"],
                &["LPUSH", "l", "x"],
                &["SETBIT", "l", "1", "1"],
            ],
            &[
                &["SET", "a", "abc"],
                &["BITOP", "AND", "d", "a", "missing"],
                &["BITOP", "NOT", "d", "a"],
                &["BITOP", "OR", "d", "missing"],
                &["BITOP", "OR", "d", "missing"],
                &["SET", "e", "x", "EX", "100"],
                &["BITOP", "XOR", "e", "a", "a"],
            ],
            &[
                &["BITFIELD", "f", "GET", "u8", "0"],
                &["BITFIELD", "f", "SET", "u8", "0", "1"],
                &["BITFIELD", "f", "SET", "u8", "0", "1"],
                &["BITFIELD", "f", "INCRBY", "u8", "0", "0", "GET", "u8", "0"],
                &["BITFIELD", "f", "SET", "u8", "16", "0"],
                &[
                    "BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300",
                ],
                &[
                    "BITFIELD", "f", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "300",
                ],
                &["BITFIELD_RO", "f", "GET", "u8", "0"],
                &["BITFIELD", "g", "OVERFLOW", "FAIL", "SET", "u2", "0", "9"],
                &["BITFIELD", "h", "SET", "u2", "0", "0"],
            ],
        ],
    );
}

#[test]
fn generic_events_match_redis() {
    same_events(
        "KEAn",
        &[
            &[
                &["SET", "a", "1"],
                &["DEL", "a", "b", "a"],
                &["SET", "c", "1"],
                &["SET", "d", "2"],
                &["UNLINK", "c", "d", "zz"],
            ],
            &[
                &["SET", "x", "1"],
                &["EXPIRE", "x", "100"],
                &["EXPIRE", "x", "100", "NX"],
                &["PEXPIRE", "x", "200000", "GT"],
                &["EXPIRE", "nokey", "10"],
                &["PERSIST", "x"],
                &["PERSIST", "x"],
                &["PEXPIREAT", "x", "1"],
                &["SET", "y", "1"],
                &["EXPIRE", "y", "-5"],
            ],
            &[
                &["SET", "a", "1"],
                &["RENAME", "a", "b"],
                &["SET", "c", "1"],
                &["RENAME", "b", "c"],
                &["RENAME", "c", "c"],
                &["RENAMENX", "c", "d"],
                &["SET", "e", "1"],
                &["RENAMENX", "d", "e"],
                &["RENAME", "nope", "e"],
            ],
            &[
                &["SET", "d", "1"],
                &["MOVE", "d", "1"],
                &["MOVE", "nope", "1"],
                &["SET", "f", "1"],
                &["COPY", "f", "g"],
                &["COPY", "f", "g"],
                &["COPY", "f", "g", "REPLACE"],
                &["COPY", "f", "h", "DB", "2"],
                &["LPUSH", "l", "a"],
                &["RENAME", "l", "r"],
                &["FLUSHDB"],
                &["SET", "z", "1"],
                &["FLUSHALL"],
            ],
        ],
    );
}

#[test]
fn hash_and_set_events_match_redis() {
    same_events(
        "KEAn",
        &[
            &[
                &["HSET", "h", "a", "1"],
                &["HSET", "h", "a", "1"],
                &["HMSET", "h", "b", "2"],
                &["HSETNX", "h", "a", "3"],
                &["HSETNX", "h", "c", "3"],
                &["HDEL", "h", "zz"],
                &["HDEL", "h", "a", "b"],
                &["HINCRBY", "h", "n", "1"],
                &["HINCRBYFLOAT", "h", "f", "1.5"],
                &["HDEL", "h", "c", "n", "f"],
                &["HDEL", "h", "c"],
            ],
            &[
                &["SADD", "s", "a", "b"],
                &["SADD", "s", "a"],
                &["SREM", "s", "zz"],
                &["SREM", "s", "a"],
                &["SPOP", "s"],
                &["SPOP", "s"],
                &["SADD", "s", "a", "b", "c"],
                &["SPOP", "s", "1"],
                &["SPOP", "s", "0"],
                &["SPOP", "s", "5"],
                &["SADD", "s", "a", "b", "c"],
                &["SPOP", "s", "3"],
            ],
            &[
                &["SADD", "s", "a", "b"],
                &["SMOVE", "s", "d", "a"],
                &["SMOVE", "s", "d", "a"],
                &["SMOVE", "s", "d", "b"],
                &["SADD", "d", "x"],
                &["SMOVE", "d", "d", "x"],
                &["SADD", "s1", "a", "b"],
                &["SADD", "s2", "b", "c"],
                &["SINTERSTORE", "st", "s1", "s2"],
                &["SUNIONSTORE", "st", "s1", "s2"],
                &["SDIFFSTORE", "st", "s1", "s1"],
                &["SDIFFSTORE", "st", "s1", "s1"],
                &["SDIFFSTORE", "st2", "s1", "s2"],
            ],
        ],
    );
}

#[test]
fn list_events_match_redis() {
    same_events(
        "KEAn",
        &[
            &[
                &["LPUSH", "l", "a", "b", "c"],
                &["RPUSH", "l", "d"],
                &["LPUSHX", "nol", "a"],
                &["RPUSHX", "l", "e"],
                &["LPOP", "l"],
                &["RPOP", "l", "2"],
                &["LPOP", "nol"],
                &["LPOP", "l", "0"],
                &["LINSERT", "l", "BEFORE", "a", "x"],
                &["LINSERT", "l", "BEFORE", "zz", "x"],
                &["LSET", "l", "0", "y"],
                &["LREM", "l", "0", "zz"],
                &["LREM", "l", "0", "y"],
                &["LTRIM", "l", "0", "-1"],
                &["LTRIM", "nol", "0", "-1"],
                &["LTRIM", "l", "5", "10"],
            ],
            &[
                &["RPUSH", "l", "a", "b", "c"],
                &["LMOVE", "l", "m", "LEFT", "RIGHT"],
                &["RPOPLPUSH", "l", "m"],
                &["LMOVE", "l", "m", "LEFT", "LEFT"],
                &["LMOVE", "l", "m", "LEFT", "LEFT"],
                &["RPUSH", "s1", "a"],
                &["LMOVE", "s1", "s1", "LEFT", "RIGHT"],
                &["RPUSH", "p", "a", "b"],
                &["LMPOP", "2", "nol", "p", "RIGHT", "COUNT", "1"],
                &["LMPOP", "1", "p", "LEFT", "COUNT", "5"],
                &["LMPOP", "1", "p", "LEFT"],
                &["RPUSH", "p", "a", "b"],
                &["LREM", "p", "0", "a"],
                &["LREM", "p", "0", "b"],
            ],
        ],
    );
}

#[test]
fn zset_events_match_redis() {
    same_events(
        "KEAn",
        &[
            &[
                &["ZADD", "z", "1", "a", "2", "b"],
                &["ZADD", "z", "1", "a"],
                &["ZADD", "z", "3", "a"],
                &["ZADD", "z", "CH", "3", "a"],
                &["ZADD", "z", "NX", "5", "a"],
                &["ZADD", "z", "XX", "5", "new"],
                &["ZADD", "z", "GT", "1", "a"],
                &["ZADD", "z", "INCR", "1", "a"],
                &["ZADD", "z", "INCR", "0", "a"],
                &["ZADD", "z", "NX", "INCR", "1", "a"],
                &["ZADD", "zz", "XX", "1", "a"],
                &["ZINCRBY", "z", "1", "q"],
                &["ZINCRBY", "y", "1", "q"],
                &["ZREM", "z", "zz"],
                &["ZREM", "z", "q"],
                &["ZREM", "y", "q"],
            ],
            &[
                &[
                    "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
                ],
                &["ZREMRANGEBYSCORE", "z", "100", "200"],
                &["ZREMRANGEBYSCORE", "z", "0", "1"],
                &["ZREMRANGEBYRANK", "z", "0", "0"],
                &["ZREMRANGEBYLEX", "z", "[d", "[d"],
                &["ZREMRANGEBYLEX", "z", "-", "+"],
                &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
                &["ZPOPMIN", "z"],
                &["ZPOPMAX", "z", "0"],
                &["ZPOPMAX", "z", "5"],
                &["ZPOPMIN", "z"],
            ],
            &[
                &["ZADD", "z", "1", "a", "2", "b"],
                &["ZMPOP", "2", "nz", "z", "MIN", "COUNT", "1"],
                &["ZMPOP", "1", "z", "MAX", "COUNT", "10"],
                &["ZADD", "z", "1", "a", "2", "b"],
                &["ZUNIONSTORE", "u", "1", "z"],
                &["ZUNIONSTORE", "u", "1", "z"],
                &["ZINTERSTORE", "u", "2", "z", "nz"],
                &["ZINTERSTORE", "u", "2", "z", "nz"],
                &["ZDIFFSTORE", "u", "1", "z"],
                &["ZRANGESTORE", "r", "z", "0", "0"],
                &["ZRANGESTORE", "r", "z", "5", "6"],
            ],
        ],
    );
}

/// Errors emit nothing; expired keys met by renames, copies and stores; wrong types.
#[test]
fn edge_case_events_match_redis() {
    same_events(
        "KEAn",
        &[
            &[
                &["APPEND", "e", ""],
                &["SET", "s", "x"],
                &["INCR", "s"],
                &["INCRBYFLOAT", "s", "1"],
                &["LPUSH", "s", "x"],
                &["SADD", "s", "x"],
                &["HSET", "s", "f", "v"],
                &["ZADD", "s", "1", "m"],
                &["RPUSH", "l", "a"],
                &["LMOVE", "l", "s", "LEFT", "LEFT"],
                &["SMOVE", "l", "s", "a"],
                &["SINTERSTORE", "s", "l"],
                &["SUNIONSTORE", "s", "nope"],
                &["ZUNIONSTORE", "l", "1", "nope"],
                &["SET", "s", "y", "GET"],
                &["SETRANGE", "new", "3", "abc"],
            ],
            // One expiring key per script: Redis's active expiry may get to it first,
            // which announces the same `expired` at a different moment.
            &[
                &["SET", "a", "1"],
                &["SET", "b", "1", "PX", "20"],
                &["SLEEP", "60"],
                &["RENAME", "a", "b"],
            ],
            &[
                &["SET", "b", "1"],
                &["SET", "c", "1", "PX", "20"],
                &["SLEEP", "60"],
                &["COPY", "b", "c"],
            ],
            &[
                &["SADD", "src", "m"],
                &["SADD", "d", "m"],
                &["PEXPIRE", "d", "20"],
                &["SLEEP", "60"],
                &["SUNIONSTORE", "d", "src"],
                &["EXPIRE", "nokey", "5"],
                &["MOVE", "src", "4"],
            ],
        ],
    );
}

/// A transaction's events come out at EXEC, in command order (errors emit nothing); a
/// transaction aborted by WATCH emits nothing.
#[test]
fn transaction_events_match_redis() {
    same_events(
        "KEAn",
        &[
            &[
                &["MULTI"],
                &["SET", "a", "1"],
                &["LPUSH", "a", "x"],
                &["INCR", "a"],
                &["SELECT", "3"],
                &["RPUSH", "l", "x"],
                &["EXEC"],
                &["SELECT", "0"],
            ],
            &[
                &["SET", "w", "1"],
                &["WATCH", "w"],
                &["SET", "w", "2"],
                &["MULTI"],
                &["SET", "other", "1"],
                &["EXEC"],
                &["SADD", "s", "m"],
            ],
        ],
    );
}

/// Lazy expiry (a write meeting an expired key) and background expiry both announce
/// `expired` once, then the write's own events. One expiring key per script: the order in
/// which Redis's active expiry visits keys is its hash table's.
#[test]
fn expired_events_match_redis() {
    same_events(
        "KEAn",
        &[
            &[
                &["SET", "a", "1", "PX", "30"],
                &["SLEEP", "120"],
                &["SET", "a", "2"],
                &["DEL", "a"],
            ],
            &[
                &["RPUSH", "l", "x"],
                &["PEXPIRE", "l", "30"],
                &["SLEEP", "120"],
                &["LPUSH", "l", "y"],
                &["DEL", "l"],
            ],
            &[
                &["SET", "b", "1", "PX", "30"],
                &["SLEEP", "120"],
                &["DEL", "b"],
            ],
            &[
                &["HSET", "h", "f", "v"],
                &["PEXPIRE", "h", "30"],
                &["SLEEP", "120"],
                &["HSET", "h", "f", "w"],
            ],
            &[&["SET", "c", "1", "PXAT", "1"], &["SLEEP", "150"]],
            &[
                &["SET", "d", "1"],
                &["SET", "d", "2", "PXAT", "1"],
                &["SLEEP", "150"],
            ],
        ],
    );
}

/// The `new` class (not part of `A`) and class filtering by letter.
#[test]
fn class_letters_filter_like_redis() {
    let mixed: Script<'_> = &[
        &["SET", "a", "1"],
        &["EXPIRE", "a", "100"],
        &["RPUSH", "l", "x"],
        &["HSET", "h", "f", "v"],
        &["SADD", "s", "m"],
        &["ZADD", "z", "1", "m"],
        &["RENAME", "l", "l2"],
        &["SET", "e", "1", "PX", "20"],
        &["SLEEP", "100"],
        &["SET", "e", "2"],
        &["DEL", "a", "h", "s", "z", "l2", "e"],
    ];
    let d = Differ::start();
    for flags in [
        "KA", "EA", "KEn", "Kn$", "Eg", "K$", "El", "Kh", "Es", "Kz", "Ex", "KEA", "AKEn",
    ] {
        same_events_on(&d, flags, &[mixed]);
    }
}

/// Neither K nor E (or no class) publishes nothing; CONFIG GET reads the canonical form back.
#[test]
fn config_set_get_and_errors_match_redis() {
    let d = Differ::start();
    d.check(&[
        &["CONFIG", "SET", "notify-keyspace-events", "KEA"],
        &["CONFIG", "GET", "notify-keyspace-events"],
        &["CONFIG", "SET", "notify-keyspace-events", "lKsz$"],
        &["CONFIG", "GET", "notify-keyspace-events"],
        &["CONFIG", "GET", "notify-keyspace-*"],
        &["CONFIG", "SET", "notify-keyspace-events", "KEq"],
        &["CONFIG", "GET", "notify-keyspace-events"],
        &[
            "CONFIG",
            "SET",
            "notify-keyspace-events",
            "Ex",
            "maxclients",
            "x",
        ],
        &["CONFIG", "GET", "notify-keyspace-events"],
        &["CONFIG", "SET", "notify-keyspace-events", "AKEn"],
        &["CONFIG", "GET", "notify-keyspace-events"],
        &["CONFIG", "SET", "notify-keyspace-events", ""],
        &["CONFIG", "GET", "notify-keyspace-events"],
    ]);
    for flags in ["", "A", "K", "E", "KEm"] {
        same_events_on(&d, flags, &[&[&["SET", "a", "1"], &["DEL", "a"]]]);
    }
}

/// The flags live in storaged: set through one proxy, events reach a subscriber on another,
/// and a `--notify-keyspace-events` storaged starts with them.
#[test]
fn events_cross_proxies_and_flags_are_shared() {
    let cluster = TestCluster::start_with(ClusterOptions {
        storaged_args: vec!["--notify-keyspace-events".into(), "Kg$".into()],
        ..ClusterOptions::default()
    });
    if !cluster.is_tandem() {
        return;
    }
    let other = cluster.spawn_extra_proxy();
    let mut setter = other.client();
    expect(
        &mut setter,
        &["CONFIG", "GET", "notify-keyspace-events"],
        Ok(Value::Array(vec![
            Value::BulkString(b"notify-keyspace-events".to_vec()),
            Value::BulkString(b"g$K".to_vec()),
        ])),
    );
    expect(
        &mut setter,
        &["CONFIG", "SET", "notify-keyspace-events", "El"],
        ok(),
    );
    let mut c = cluster.client();
    expect(
        &mut c,
        &["CONFIG", "GET", "notify-keyspace-events"],
        Ok(Value::Array(vec![
            Value::BulkString(b"notify-keyspace-events".to_vec()),
            Value::BulkString(b"lE".to_vec()),
        ])),
    );
    let mut sub = subscriber(&cluster.addr(), false);
    expect(&mut setter, &["SET", "s", "1"], ok());
    expect(&mut setter, &["RPUSH", "l", "a"], int(1));
    expect(&mut setter, &["PUBLISH", DONE, "x"], int(1));
    assert_eq!(
        sub.reply(),
        "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$20\r\n__keyevent@0__:rpush\r\n$1\r\nl\r\n"
    );
    assert!(sub.reply().contains(DONE));
}
