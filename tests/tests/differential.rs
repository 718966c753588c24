//! Differential tests: each script runs on tandem and on a real redis-server, in RESP2 and
//! RESP3, and every reply (errors by full text) must be identical. This is where most of
//! the command semantics are checked; the per-family files test what a script cannot
//! (large values, time, concurrency, raw protocol).
//!
//! Scripts avoid replies that legitimately differ between two servers: TIME, SCAN cursors,
//! RANDOMKEY over several keys, CLIENT ID. TTLs are compared within ±2 s by the harness.

use tandem_tests::Differ;

/// A far-future unix time (2100-01-01), so absolute expiries are deterministic.
const FAR: &str = "4102444800";
const FAR_MS: &str = "4102444800000";

fn differ() -> Differ {
    Differ::start()
}

#[test]
fn get_set_and_options() {
    let d = differ();
    d.check(&[
        &["GET", "missing"],
        &["SET", "k", "v"],
        &["GET", "k"],
        &["SET", "k", "v2", "NX"],
        &["SET", "k", "v3", "XX"],
        &["GET", "k"],
        &["SET", "other", "x", "XX"],
        &["GET", "other"],
        &["SET", "other", "x", "NX"],
        &["SET", "k", "v4", "GET"],
        &["SET", "fresh", "v", "GET"],
        &["SET", "k", "v5", "NX", "GET"],
        &["SET", "k", "v6", "XX", "GET"],
        &["SET", "nokey", "v", "XX", "GET"],
        &["EXISTS", "nokey"],
        &["SET", "k", "v", "EX", "100"],
        &["TTL", "k"],
        &["SET", "k", "v", "PX", "100000"],
        &["PTTL", "k"],
        &["SET", "k", "v", "EXAT", FAR],
        &["EXPIRETIME", "k"],
        &["SET", "k", "v", "PXAT", FAR_MS],
        &["PEXPIRETIME", "k"],
        &["SET", "k", "w", "KEEPTTL"],
        &["PEXPIRETIME", "k"],
        &["SET", "k", "w"],
        &["TTL", "k"],
        &["set", "lower", "case"],
        &["GeT", "lower"],
        &["SET", "empty", ""],
        &["GET", "empty"],
        &["STRLEN", "empty"],
        &["SET", "bin", "a\0b\r\nc\u{ff}"],
        &["GET", "bin"],
        &["STRLEN", "bin"],
    ]);
}

#[test]
fn set_option_errors() {
    let d = differ();
    d.check(&[
        &["SET", "k", "v", "NX", "XX"],
        &["SET", "k", "v", "EX", "10", "PX", "100"],
        &["SET", "k", "v", "EX", "10", "KEEPTTL"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "EX", "0"],
        &["SET", "k", "v", "EX", "-5"],
        &["SET", "k", "v", "PX", "0"],
        &["SET", "k", "v", "EX", "abc"],
        &["SET", "k", "v", "EX", "1.5"],
        &["SET", "k", "v", "EXAT", "0"],
        &["SET", "k", "v", "PXAT", "-1"],
        &["SET", "k", "v", "EX", "9223372036854775807"],
        &["SET", "k", "v", "PX", "9223372036854775807"],
        &["SET", "k", "v", "BOGUS"],
        &["SET", "k", "v", "GET", "GET"],
        &["SET", "k", "v", "NX", "NX"],
        &["SET", "k"],
        &["SET"],
        &["GET"],
        &["GET", "a", "b"],
        &["EXISTS", "k"],
    ]);
}

#[test]
fn setnx_setex_psetex_getset() {
    let d = differ();
    d.check(&[
        &["SETNX", "k", "1"],
        &["SETNX", "k", "2"],
        &["GET", "k"],
        &["SETEX", "k", "100", "v"],
        &["TTL", "k"],
        &["GET", "k"],
        &["SETEX", "k", "0", "v"],
        &["SETEX", "k", "-1", "v"],
        &["SETEX", "k", "x", "v"],
        &["PSETEX", "k", "100000", "pv"],
        &["PTTL", "k"],
        &["PSETEX", "k", "0", "v"],
        &["GETSET", "k", "new"],
        &["TTL", "k"],
        &["GETSET", "missing", "v"],
        &["GET", "missing"],
        &["SETNX", "k"],
        &["SETEX", "k", "10"],
        &["GETSET", "k"],
    ]);
}

#[test]
fn mget_mset_msetnx() {
    let d = differ();
    d.check(&[
        &["MSET", "a", "1", "b", "2", "c", "3"],
        &["MGET", "a", "b", "missing", "c"],
        &["MSET", "a", "1", "b"],
        &["MSET"],
        &["MSET", "a"],
        &["MSETNX", "x", "1", "y", "2"],
        &["MSETNX", "y", "3", "z", "4"],
        &["MGET", "x", "y", "z"],
        &["MSETNX", "q", "1", "q", "2"],
        &["GET", "q"],
        &["MSETNX", "a"],
        &["MSET", "dup", "1", "dup", "2"],
        &["GET", "dup"],
        &["MGET"],
        &["MGET", "only"],
    ]);
}

#[test]
fn getdel_getex() {
    let d = differ();
    d.check(&[
        &["SET", "k", "v"],
        &["GETDEL", "k"],
        &["GETDEL", "k"],
        &["EXISTS", "k"],
        &["SET", "k", "v"],
        &["GETEX", "k"],
        &["TTL", "k"],
        &["GETEX", "k", "EX", "100"],
        &["TTL", "k"],
        &["GETEX", "k", "PX", "50000"],
        &["PTTL", "k"],
        &["GETEX", "k", "EXAT", FAR],
        &["EXPIRETIME", "k"],
        &["GETEX", "k", "PXAT", FAR_MS],
        &["PEXPIRETIME", "k"],
        &["GETEX", "k", "PERSIST"],
        &["TTL", "k"],
        &["GETEX", "missing", "EX", "10"],
        &["GETEX", "k", "EX", "0"],
        &["GETEX", "k", "EX", "-1"],
        &["GETEX", "k", "EX"],
        &["GETEX", "k", "EX", "10", "PX", "10"],
        &["GETEX", "k", "PERSIST", "EX", "10"],
        &["GETEX", "k", "BOGUS"],
        &["GETEX", "k", "KEEPTTL"],
        &["GETDEL"],
        &["GETDEL", "a", "b"],
    ]);
}

#[test]
fn append_strlen_getrange_setrange() {
    let d = differ();
    d.check(&[
        &["APPEND", "k", "Hello"],
        &["APPEND", "k", " World"],
        &["GET", "k"],
        &["STRLEN", "k"],
        &["STRLEN", "missing"],
        &["APPEND", "k", ""],
        &["GETRANGE", "k", "0", "4"],
        &["GETRANGE", "k", "-5", "-1"],
        &["GETRANGE", "k", "0", "-1"],
        &["GETRANGE", "k", "-100", "3"],
        &["GETRANGE", "k", "5", "2"],
        &["GETRANGE", "k", "100", "200"],
        &["GETRANGE", "k", "-1", "-5"],
        &["GETRANGE", "k", "0", "1000"],
        &["GETRANGE", "k", "-1", "-1"],
        &["GETRANGE", "missing", "0", "-1"],
        &["GETRANGE", "k", "a", "1"],
        &["GETRANGE", "k", "0"],
        &["SUBSTR", "k", "0", "4"],
        &["SUBSTR", "k", "-3", "-1"],
        &["SETRANGE", "k", "6", "Redis"],
        &["GET", "k"],
        &["SETRANGE", "pad", "5", "x"],
        &["GET", "pad"],
        &["SETRANGE", "k", "0", ""],
        &["SETRANGE", "none", "0", ""],
        &["EXISTS", "none"],
        &["SETRANGE", "none", "10", ""],
        &["EXISTS", "none"],
        &["SETRANGE", "k", "-1", "x"],
        &["SETRANGE", "k", "abc", "x"],
        &["SETRANGE", "k", "536870911", "xx"],
        &["SETRANGE", "k", "536870912", "x"],
        &["SETRANGE", "k", "1"],
        &["SET", "e", ""],
        &["GETRANGE", "e", "0", "-1"],
        &["GETRANGE", "e", "0", "0"],
    ]);
}

#[test]
fn incr_decr_family() {
    let d = differ();
    d.check(&[
        &["INCR", "n"],
        &["INCR", "n"],
        &["DECR", "n"],
        &["INCRBY", "n", "10"],
        &["DECRBY", "n", "3"],
        &["INCRBY", "n", "-20"],
        &["DECRBY", "n", "-5"],
        &["GET", "n"],
        &["DECR", "fresh"],
        &["SET", "big", "9223372036854775807"],
        &["INCR", "big"],
        &["INCRBY", "big", "0"],
        &["SET", "small", "-9223372036854775808"],
        &["DECR", "small"],
        &["DECRBY", "n", "-9223372036854775808"],
        &["INCRBY", "n", "9223372036854775808"],
        &["INCRBY", "n", "abc"],
        &["INCRBY", "n", "1.5"],
        &["SET", "s", "abc"],
        &["INCR", "s"],
        &["SET", "s", " 1"],
        &["INCR", "s"],
        &["SET", "s", "1 "],
        &["INCR", "s"],
        &["SET", "s", "01"],
        &["INCR", "s"],
        &["SET", "s", "+1"],
        &["INCR", "s"],
        &["SET", "s", ""],
        &["INCR", "s"],
        &["SET", "s", "-0"],
        &["INCR", "s"],
        &["SET", "s", "99999999999999999999"],
        &["INCR", "s"],
        &["SET", "s", "10"],
        &["APPEND", "s", "5"],
        &["INCR", "s"],
        &["INCR"],
        &["INCR", "a", "b"],
        &["INCRBY", "n"],
        &["DECRBY", "n"],
    ]);
}

#[test]
fn incrbyfloat() {
    let d = differ();
    d.check(&[
        &["INCRBYFLOAT", "f", "10.5"],
        &["INCRBYFLOAT", "f", "0.1"],
        &["INCRBYFLOAT", "f", "-5"],
        &["INCRBYFLOAT", "f", "5.0e3"],
        &["INCRBYFLOAT", "f", "2.0e-2"],
        &["GET", "f"],
        &["SET", "i", "3"],
        &["INCRBYFLOAT", "i", "1"],
        &["INCRBYFLOAT", "i", "-4"],
        &["GET", "i"],
        &["SET", "g", "1.5e2"],
        &["INCRBYFLOAT", "g", "0"],
        &["INCRBYFLOAT", "g", "abc"],
        &["INCRBYFLOAT", "g", "inf"],
        &["INCRBYFLOAT", "g", "-inf"],
        &["INCRBYFLOAT", "g", "nan"],
        &["INCRBYFLOAT", "g", ""],
        &["INCRBYFLOAT", "g", " 1"],
        &["SET", "s", "abc"],
        &["INCRBYFLOAT", "s", "1"],
        &["INCRBYFLOAT", "p", "0.1"],
        &["INCRBYFLOAT", "p", "0.2"],
        &["INCRBYFLOAT", "q", "1e-10"],
        &["INCRBYFLOAT", "r", "123456789012345678"],
        &["INCRBYFLOAT", "x"],
    ]);
}

/// Redis computes INCRBYFLOAT in `long double` (80-bit on x86-64), so sums past f64's
/// range still succeed and print with 17 significant digits.
#[test]
fn incrbyfloat_beyond_f64() {
    let d = differ();
    d.check(&[
        &["SET", "h", "1.7976931348623157e308"],
        &["INCRBYFLOAT", "h", "1.7976931348623157e308"],
        &["INCRBYFLOAT", "t", "0.1"],
        &["INCRBYFLOAT", "t", "0.7"],
        &["INCRBYFLOAT", "t", "1e300"],
    ]);
}

/// The order of checks of the INCR family: INCRBYFLOAT looks at the key's type, then the
/// stored value, then the increment; INCRBY/DECRBY/HINCRBY/HINCRBYFLOAT parse the
/// increment first. A stored value with NUL bytes is no number (`strtold` stops at the
/// NUL, and Redis requires the whole value to be used).
#[test]
fn incr_family_error_order_and_nul_bytes() {
    let d = differ();
    d.check(&[
        &["HSET", "h", "f", "1"],
        &["INCRBYFLOAT", "h", "abc"],
        &["INCRBYFLOAT", "h", "inf"],
        &["INCRBYFLOAT", "h", ""],
        &["INCRBY", "h", "abc"],
        &["DECRBY", "h", "abc"],
        &["DECRBY", "h", "-9223372036854775808"],
        &["INCR", "h"],
        &["SET", "s", "abc"],
        &["INCRBYFLOAT", "s", "abc"],
        &["INCRBYFLOAT", "s", "inf"],
        &["INCRBY", "s", "abc"],
        &["HINCRBY", "s", "f", "abc"],
        &["HINCRBYFLOAT", "s", "f", "abc"],
        &["HINCRBYFLOAT", "s", "f", "inf"],
        &["HINCRBY", "s", "f", "1"],
        &["SET", "n", "1"],
        &["INCRBYFLOAT", "n", "abc"],
        &["INCRBYFLOAT", "n", "1 "],
        &["INCRBYFLOAT", "n", "1\0"],
        &["INCRBYFLOAT", "missing", "abc"],
        &["EXISTS", "missing"],
        &["SET", "z", "-1\0\0\0"],
        &["INCRBYFLOAT", "z", "1"],
        &["INCRBY", "z", "1"],
        &["SET", "z1", "1\0"],
        &["INCRBYFLOAT", "z1", "1"],
        &["SET", "z0", "\0"],
        &["INCRBYFLOAT", "z0", "1"],
        &["HSET", "hz", "f", "-1\0\0", "g", "\0"],
        &["HINCRBYFLOAT", "hz", "f", "1"],
        &["HINCRBYFLOAT", "hz", "g", "1"],
        &["HINCRBY", "hz", "f", "1"],
        &["GET", "z"],
    ]);
}

#[test]
fn lcs() {
    let d = differ();
    d.check(&[
        &["MSET", "key1", "ohmytext", "key2", "mynewtext"],
        &["LCS", "key1", "key2"],
        &["LCS", "key1", "key2", "LEN"],
        &["LCS", "key1", "key2", "IDX"],
        &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4"],
        &[
            "LCS",
            "key1",
            "key2",
            "IDX",
            "MINMATCHLEN",
            "4",
            "WITHMATCHLEN",
        ],
        &["LCS", "key1", "key2", "IDX", "WITHMATCHLEN"],
        &["LCS", "key1", "missing"],
        &["LCS", "missing", "missing2", "LEN"],
        &["LCS", "missing", "missing2", "IDX"],
        &["LCS", "key1", "key2", "LEN", "IDX"],
        &["LCS", "key1", "key2", "BOGUS"],
        &["LCS", "key1", "key2", "MINMATCHLEN"],
        &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "x"],
        &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "-1"],
        &["LCS", "key1"],
        &["SET", "e", ""],
        &["LCS", "e", "key1"],
        &["LCS", "key1", "key1", "IDX", "WITHMATCHLEN"],
    ]);
}

#[test]
fn del_exists_type_touch() {
    let d = differ();
    d.check(&[
        &["MSET", "a", "1", "b", "2", "c", "3"],
        &["EXISTS", "a", "b", "missing", "a"],
        &["TYPE", "a"],
        &["TYPE", "missing"],
        &["TOUCH", "a", "b", "missing"],
        &["DEL", "a", "missing", "b", "a"],
        &["EXISTS", "a", "b", "c"],
        &["UNLINK", "c", "missing"],
        &["DBSIZE"],
        &["DEL"],
        &["UNLINK"],
        &["EXISTS"],
        &["TOUCH"],
        &["TYPE"],
        &["TYPE", "a", "b"],
    ]);
}

#[test]
fn expire_family() {
    let d = differ();
    d.check(&[
        &["SET", "k", "v"],
        &["TTL", "k"],
        &["PTTL", "k"],
        &["EXPIRETIME", "k"],
        &["PEXPIRETIME", "k"],
        &["TTL", "missing"],
        &["PTTL", "missing"],
        &["EXPIRETIME", "missing"],
        &["EXPIRE", "missing", "100"],
        &["EXPIRE", "k", "100"],
        &["TTL", "k"],
        &["EXPIRE", "k", "200", "NX"],
        &["EXPIRE", "k", "200", "XX"],
        &["TTL", "k"],
        &["EXPIRE", "k", "100", "GT"],
        &["EXPIRE", "k", "300", "GT"],
        &["TTL", "k"],
        &["EXPIRE", "k", "400", "LT"],
        &["EXPIRE", "k", "50", "LT"],
        &["TTL", "k"],
        &["PERSIST", "k"],
        &["PERSIST", "k"],
        &["PERSIST", "missing"],
        &["EXPIRE", "k", "100", "XX"],
        &["EXPIRE", "k", "100", "GT"],
        &["EXPIRE", "k", "100", "LT"],
        &["TTL", "k"],
        &["PERSIST", "k"],
        &["EXPIRE", "k", "100", "NX"],
        &["EXPIRE", "k", "10", "NX", "XX"],
        &["EXPIRE", "k", "10", "GT", "LT"],
        &["EXPIRE", "k", "10", "NX", "GT"],
        &["EXPIRE", "k", "10", "BOGUS"],
        &["EXPIRE", "k", "abc"],
        &["EXPIRE", "k", "9223372036854775807"],
        &["PEXPIRE", "k", "9223372036854775807"],
        &["EXPIREAT", "k", FAR],
        &["EXPIRETIME", "k"],
        &["PEXPIREAT", "k", FAR_MS],
        &["PEXPIRETIME", "k"],
        &["PEXPIRE", "k", "500000"],
        &["PTTL", "k"],
        &["EXPIREAT", "k", FAR, "GT"],
        &["PEXPIREAT", "k", "4102444800001", "LT"],
        &["SET", "gone", "v"],
        &["EXPIRE", "gone", "0"],
        &["EXISTS", "gone"],
        &["SET", "gone", "v"],
        &["EXPIRE", "gone", "-10"],
        &["EXISTS", "gone"],
        &["SET", "gone", "v"],
        &["PEXPIREAT", "gone", "1"],
        &["GET", "gone"],
        &["SET", "gone", "v"],
        &["EXPIREAT", "gone", "100", "NX"],
        &["EXISTS", "gone"],
        &["EXPIRE"],
        &["EXPIRE", "k"],
        &["TTL"],
        &["PERSIST"],
    ]);
}

#[test]
fn rename_renamenx() {
    let d = differ();
    d.check(&[
        &["SET", "a", "1"],
        &["EXPIRE", "a", "100"],
        &["RENAME", "a", "b"],
        &["EXISTS", "a"],
        &["GET", "b"],
        &["TTL", "b"],
        &["RENAME", "missing", "x"],
        &["RENAMENX", "missing", "x"],
        &["SET", "c", "3"],
        &["RENAMENX", "b", "c"],
        &["RENAMENX", "b", "d"],
        &["GET", "d"],
        &["RENAME", "d", "c"],
        &["GET", "c"],
        &["TTL", "c"],
        &["RENAME", "c", "c"],
        &["RENAMENX", "c", "c"],
        &["GET", "c"],
        &["RENAME", "c"],
        &["RENAMENX"],
    ]);
}

#[test]
fn copy_move_select() {
    let d = differ();
    d.check(&[
        &["SET", "src", "v"],
        &["EXPIRE", "src", "100"],
        &["COPY", "src", "dst"],
        &["GET", "dst"],
        &["TTL", "dst"],
        &["COPY", "src", "dst"],
        &["SET", "src", "v2"],
        &["COPY", "src", "dst", "REPLACE"],
        &["GET", "dst"],
        &["TTL", "dst"],
        &["COPY", "missing", "dst"],
        &["COPY", "src", "src"],
        &["COPY", "src", "other", "DB", "3"],
        &["COPY", "src", "other", "DB", "3"],
        &["COPY", "src", "other", "DB", "3", "REPLACE"],
        &["COPY", "src", "x", "DB", "16"],
        &["COPY", "src", "x", "DB", "-1"],
        &["COPY", "src", "x", "DB", "abc"],
        &["COPY", "src", "x", "BOGUS"],
        &["COPY", "src"],
        &["SELECT", "3"],
        &["GET", "other"],
        &["DBSIZE"],
        &["SELECT", "0"],
        &["MOVE", "src", "5"],
        &["EXISTS", "src"],
        &["MOVE", "src", "5"],
        &["SET", "src", "again"],
        &["MOVE", "src", "5"],
        &["MOVE", "src", "0"],
        &["MOVE", "src", "16"],
        &["MOVE", "src", "abc"],
        &["SELECT", "5"],
        &["GET", "src"],
        &["SELECT", "0"],
        &["GET", "src"],
        &["SELECT", "16"],
        &["SELECT", "-1"],
        &["SELECT", "abc"],
        &["SELECT"],
        &["SELECT", "15"],
        &["SET", "last", "db"],
        &["DBSIZE"],
        &["SELECT", "0"],
        &["EXISTS", "last"],
    ]);
}

#[test]
fn keys_patterns_and_flush() {
    let d = differ();
    d.check(&[
        &[
            "MSET", "hello", "1", "hallo", "2", "hxllo", "3", "hllo", "4", "heeeello", "5",
        ],
        &[
            "MSET", "a*b", "6", "a?b", "7", "[x]", "8", "user:1", "9", "user:2", "10",
        ],
        &["KEYS", "*"],
        &["KEYS", "h?llo"],
        &["KEYS", "h*llo"],
        &["KEYS", "h[ae]llo"],
        &["KEYS", "h[^e]llo"],
        &["KEYS", "h[a-b]llo"],
        &["KEYS", "a\\*b"],
        &["KEYS", "a\\?b"],
        &["KEYS", "\\[x\\]"],
        &["KEYS", "user:*"],
        &["KEYS", "nomatch*"],
        &["KEYS", ""],
        &["KEYS", "*llo"],
        &["KEYS"],
        &["DBSIZE"],
        &["SELECT", "1"],
        &["SET", "one", "1"],
        &["RANDOMKEY"],
        &["FLUSHDB"],
        &["DBSIZE"],
        &["RANDOMKEY"],
        &["SET", "one", "1"],
        &["SELECT", "0"],
        &["FLUSHDB", "ASYNC"],
        &["DBSIZE"],
        &["SELECT", "1"],
        &["DBSIZE"],
        &["FLUSHDB", "SYNC"],
        &["FLUSHDB", "BOGUS"],
        &["FLUSHDB", "ASYNC", "SYNC"],
        &["SET", "x", "1"],
        &["FLUSHALL", "ASYNC"],
        &["DBSIZE"],
        &["FLUSHALL", "SYNC"],
        &["FLUSHALL", "BOGUS"],
        &["FLUSHALL"],
        &["DBSIZE", "extra"],
    ]);
}

#[test]
fn connection_and_unknown_commands() {
    let d = differ();
    d.check(&[
        &["PING"],
        &["PING", "hello"],
        &["PING", "a", "b"],
        &["ECHO", "hi"],
        &["ECHO", ""],
        &["ECHO"],
        &["ECHO", "a", "b"],
        &["FOO"],
        &["foo", "a", "b"],
        &["NOSUCHCOMMAND", "with", "many", "args", "here"],
        &["GETRANGE"],
        &["LCS"],
        &["CLIENT", "SETNAME", "my-name"],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "SETNAME", "bad name"],
        &["CLIENT", "SETNAME", ""],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "BOGUS"],
        &["CLIENT"],
        &["CONFIG", "GET", "no-such-param"],
        &["CONFIG", "SET", "no-such-param", "1"],
        &["CONFIG", "BOGUS"],
        &["CONFIG"],
        &["AUTH", "pass"],
        &["AUTH", "user", "pass"],
        &["HELLO", "4"],
        &["HELLO", "abc"],
    ]);
}

#[test]
fn arity_errors_for_every_command() {
    let d = differ();
    d.check(&[
        &["GET"],
        &["SET", "k"],
        &["SETNX", "k"],
        &["SETEX", "k", "1"],
        &["PSETEX", "k", "1"],
        &["MGET"],
        &["MSET", "k"],
        &["MSETNX", "k"],
        &["GETSET", "k"],
        &["GETDEL"],
        &["GETEX"],
        &["APPEND", "k"],
        &["STRLEN"],
        &["GETRANGE", "k", "0"],
        &["SUBSTR", "k", "0"],
        &["SETRANGE", "k", "0"],
        &["INCR"],
        &["DECR"],
        &["INCRBY", "k"],
        &["DECRBY", "k"],
        &["INCRBYFLOAT", "k"],
        &["LCS", "k"],
        &["DEL"],
        &["UNLINK"],
        &["EXISTS"],
        &["TYPE"],
        &["TOUCH"],
        &["EXPIRE", "k"],
        &["PEXPIRE", "k"],
        &["EXPIREAT", "k"],
        &["PEXPIREAT", "k"],
        &["TTL"],
        &["PTTL"],
        &["EXPIRETIME"],
        &["PEXPIRETIME"],
        &["PERSIST"],
        &["RENAME", "k"],
        &["RENAMENX", "k"],
        &["COPY", "k"],
        &["MOVE", "k"],
        &["KEYS"],
        &["SCAN"],
        &["RANDOMKEY", "x"],
        &["DBSIZE", "x"],
        &["PING", "a", "b"],
        &["ECHO"],
        &["SELECT"],
        &["SELECT", "1", "2"],
        &["RESET", "x"],
        &["TIME", "x"],
        &["CLIENT", "GETNAME", "x"],
        &["CLIENT", "SETNAME"],
        &["CLIENT", "INFO", "x"],
        &["CONFIG", "GET"],
        &["CONFIG", "SET", "hz"],
        &["GET", "k", "extra"],
        &["STRLEN", "k", "extra"],
        &["TTL", "k", "extra"],
        &["INCR", "k", "extra"],
    ]);
}

#[test]
fn option_spelling_and_order() {
    let d = differ();
    d.check(&[
        &["set", "k", "v", "ex", "100", "nx", "get"],
        &["SET", "k", "v", "GET", "XX", "PX", "100000"],
        &["PTTL", "k"],
        &["SET", "k", "v", "KEEPTTL", "XX"],
        &["PTTL", "k"],
        &["SET", "k", "v", "KeepTtl", "gEt"],
        &["SET", "k", "v", "PX", "100", "KEEPTTL"],
        &["SET", "k", "v", "EXAT", FAR, "EX", "10"],
        &["SET", "k", "v", "NX", "EX", "10", "XX"],
        &["GETEX", "k", "persist"],
        &["GETEX", "k", "exat", FAR],
        &["EXPIRETIME", "k"],
        &["EXPIRE", "k", "100", "gt"],
        &["EXPIRE", "k", "100", "xx", "lt"],
        &["TTL", "k"],
        &["EXPIRE", "k", "100", "nx", "nx"],
        &["COPY", "k", "k2", "replace", "db", "0"],
        &["COPY", "k", "k2", "DB", "0", "REPLACE", "REPLACE"],
        &["GET", "k2"],
        &["LCS", "k", "k2", "idx", "withmatchlen", "minmatchlen", "1"],
        &["LCS", "k", "k2", "len", "len"],
        &["SCAN", "0", "COUNT", "0"],
        &["SCAN", "0", "MATCH"],
        &["SCAN", "0", "TYPE"],
        &["SCAN", "x"],
        &["FLUSHDB", "async"],
        &["FLUSHALL", "sync"],
    ]);
}

#[test]
fn many_keys_and_binary_keys() {
    let d = differ();
    let keys: Vec<String> = (0..200).map(|i| format!("key:{i:03}")).collect();
    let mut mset: Vec<&str> = vec!["MSET"];
    for key in &keys {
        mset.push(key);
        mset.push(key);
    }
    let mut mget: Vec<&str> = vec!["MGET", "missing"];
    mget.extend(keys.iter().map(String::as_str));
    let mut del: Vec<&str> = vec!["DEL"];
    del.extend(keys.iter().step_by(3).map(String::as_str));
    d.check(&[
        &mset,
        &["DBSIZE"],
        &mget,
        &["KEYS", "key:1?0"],
        &["KEYS", "key:[0-1]9*"],
        &del,
        &["DBSIZE"],
        &["EXISTS", "key:000", "key:001", "key:002", "key:003"],
        &["SET", "\u{0}\r\n\u{7f}", "\u{0}"],
        &["KEYS", "\u{0}*"],
        &["GET", "\u{0}\r\n\u{7f}"],
        &["SET", "\u{e9}t\u{e9}", "caf\u{e9}"],
        &["STRLEN", "\u{e9}t\u{e9}"],
        &["GETRANGE", "\u{e9}t\u{e9}", "-2", "-1"],
        &["KEYS", "?t*"],
        &["KEYS", "??t*"],
        &["RENAME", "\u{e9}t\u{e9}", "\u{0}"],
        &["GET", "\u{0}"],
    ]);
}

#[test]
fn config_and_client_replies() {
    let d = differ();
    d.check(&[
        &["CONFIG", "GET", "databases"],
        &["CONFIG", "GET", "maxmemory-policy"],
        &["CONFIG", "GET", "timeout"],
        &["CONFIG", "GET", "save"],
        &["CONFIG", "GET", "appendonly"],
        &["CONFIG", "SET", "hz", "20"],
        &["CONFIG", "GET", "hz"],
        &["CONFIG", "SET", "hz", "abc"],
        &["CONFIG", "SET", "maxmemory", "1mb"],
        &["CONFIG", "GET", "maxmemory"],
        &["CONFIG", "SET", "maxmemory", "0"],
        &["CONFIG", "SET", "maxmemory-policy", "bogus"],
        &["CONFIG", "SET", "databases", "4"],
        &["CONFIG", "SET", "hz", "10"],
        &["CONFIG", "RESETSTAT"],
        &["CLIENT", "KILL", "ID", "999999"],
        &["CLIENT", "KILL", "ID", "abc"],
        &["CLIENT", "KILL", "1.2.3.4:5"],
        &["CLIENT", "LIST", "TYPE", "normal", "x"],
        &["CLIENT", "SETNAME", "bench-1"],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "SETNAME", "two\nlines"],
        &["SELECT", "2"],
        &["SET", "in2", "x"],
        &["RESET"],
        &["CLIENT", "GETNAME"],
        &["GET", "in2"],
        &["ECHO", "\u{0}binary\r\n"],
        &["PING", ""],
    ]);
}

/// WRONGTYPE compared with Redis, with a list as the wrong type.
#[test]
fn wrong_type_against_a_list() {
    let d = differ();
    d.check(&[
        &["RPUSH", "l", "a", "b"],
        &["GET", "l"],
        &["SET", "l", "x", "GET"],
        &["GETSET", "l", "x"],
        &["GETDEL", "l"],
        &["GETEX", "l", "PERSIST"],
        &["APPEND", "l", "x"],
        &["STRLEN", "l"],
        &["GETRANGE", "l", "0", "1"],
        &["SETRANGE", "l", "0", "x"],
        &["INCR", "l"],
        &["INCRBYFLOAT", "l", "1"],
        &["LCS", "l", "l"],
        &["MGET", "l", "missing"],
        &["TYPE", "l"],
        &["EXPIRE", "l", "100"],
        &["TTL", "l"],
        &["COPY", "l", "l2"],
        &["TYPE", "l2"],
        &["RENAME", "l", "l3"],
        &["TYPE", "l3"],
        &["SET", "l3", "now a string"],
        &["TYPE", "l3"],
        &["SET", "l2", "x", "NX"],
        &["SETNX", "l2", "x"],
        &["MSETNX", "l2", "x", "new", "y"],
    ]);
}
