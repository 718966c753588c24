//! Sorted-set commands end to end: differential scripts that run every command and its
//! error cases on tandem and a real redis-server in RESP2 and RESP3, plus what a script
//! cannot compare (random members, paging a large `ZSCAN`, a long random operation
//! sequence checked against redis-server, O(1) deletion of a big zset).

use std::collections::BTreeMap;

use redis::Connection;
use tandem_tests::{err, expect, int, run_command, Differ, Protocol, TestCluster, Value};

fn differ() -> Differ {
    Differ::start()
}

#[test]
fn zadd_options_and_replies() {
    let d = differ();
    d.check(&[
        &["ZADD", "z", "1", "a", "2", "b", "3", "c", "1.5", "d"],
        &["ZADD", "z", "1", "a"],
        &["ZADD", "z", "CH", "10", "a", "2", "b", "7", "new"],
        &["ZADD", "z", "NX", "100", "a", "8", "nx"],
        &["ZADD", "z", "XX", "100", "a", "8", "xx"],
        &["ZADD", "z", "XX", "CH", "101", "a", "8", "xx"],
        &["ZADD", "z", "GT", "CH", "50", "a", "5", "b"],
        &["ZADD", "z", "LT", "CH", "60", "a", "1", "b", "9", "lt"],
        &["ZADD", "z", "XX", "GT", "CH", "1000", "a"],
        &["ZADD", "z", "INCR", "5", "c"],
        &["ZADD", "z", "INCR", "5", "fresh"],
        &["ZADD", "z", "NX", "INCR", "5", "c"],
        &["ZADD", "z", "XX", "INCR", "5", "nope"],
        &["ZADD", "z", "GT", "INCR", "-1", "c"],
        &["ZADD", "z", "LT", "INCR", "-1", "c"],
        &["ZADD", "z", "INCR", "0", "c"],
        &["ZADD", "z", "nx", "nx", "1", "x"],
        &["ZADD", "dup", "1", "m", "2", "m", "3", "m"],
        &["ZADD", "dup", "CH", "1", "m", "2", "m", "3", "m"],
        &["ZRANGE", "dup", "0", "-1", "WITHSCORES"],
        &["ZADD", "missing", "XX", "1", "a"],
        &["EXISTS", "missing"],
        &["ZADD", "missing", "XX", "INCR", "1", "a"],
        &[
            "ZADD", "f", "0.1", "a", "1e30", "b", "-0", "c", "inf", "d", "-inf", "e",
        ],
        &[
            "ZADD",
            "f",
            "1e-5",
            "g",
            "123456789012345678",
            "h",
            "+inf",
            "i",
        ],
        &["ZSCORE", "f", "c"],
        &["ZRANGE", "f", "0", "-1", "WITHSCORES"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["ZCARD", "z"],
        &["TYPE", "z"],
    ]);
}

#[test]
fn zadd_errors() {
    let d = differ();
    d.check(&[
        &["ZADD", "z"],
        &["ZADD", "z", "1"],
        &["ZADD", "z", "1", "a", "2"],
        &["ZADD", "z", "nan", "a"],
        &["ZADD", "z", "1x", "a"],
        &["ZADD", "z", "XX", "NX", "1", "a"],
        &["ZADD", "z", "xx", "nx", "1"],
        &["ZADD", "z", "NX", "1"],
        &["ZADD", "z", "GT", "LT", "1", "a"],
        &["ZADD", "z", "NX", "GT", "1", "a"],
        &["ZADD", "z", "NX", "LT", "1", "a"],
        &["ZADD", "z", "INCR", "1", "a", "2", "b"],
        &["ZADD", "z", "INCR", "XX", "NX", "1", "a"],
        &["ZADD", "z", "INCR", "1x", "a", "2", "b"],
        &["ZADD", "z", "1", "a", "INCR", "1"],
        &["ZADD", "z", "FOO", "1", "a"],
        &["ZADD", "z", "1e400", "a"],
        &["ZADD", "z", "1e-400", "a"],
        &["ZADD", "z", "-1e-400", "a"],
        &[
            "ZADD", "z", "1e-310", "tiny", "0e5", "zero", ".5", "half", "5.", "five", "+5", "plus",
        ],
        &["ZSCORE", "z", "tiny"],
        &["ZINCRBY", "z", "1e400", "a"],
        &["ZUNION", "1", "z", "WEIGHTS", "1e-400"],
        &["ZRANGEBYSCORE", "z", "1e400", "+inf"],
        &["ZCOUNT", "z", "-1e400", "1e-400"],
        &["ZADD", "z", "inf", "a"],
        &["ZADD", "z", "INCR", "-inf", "a"],
        &["ZINCRBY", "z", "-inf", "a"],
        &["ZINCRBY", "z", "abc", "a"],
        &["ZINCRBY", "z", "1"],
        &["ZSCORE", "z", "a"],
        &["EXISTS", "z"],
        &["SET", "s", "v"],
        &["ZADD", "s", "1", "a"],
        &["ZINCRBY", "s", "1", "a"],
        &["GET", "s"],
    ]);
}

#[test]
fn zincrby_zrem_zscore_zmscore_zcard() {
    let d = differ();
    d.check(&[
        &["ZINCRBY", "z", "1.5", "a"],
        &["ZINCRBY", "z", "1.5", "a"],
        &["ZINCRBY", "z", "-10", "a"],
        &["ZINCRBY", "z", "0.1", "b"],
        &["ZINCRBY", "z", "0.2", "b"],
        &["ZINCRBY", "z", "inf", "c"],
        &["ZINCRBY", "z", "inf", "c"],
        &["ZSCORE", "z", "a"],
        &["ZSCORE", "z", "b"],
        &["ZSCORE", "z", "nope"],
        &["ZSCORE", "missing", "a"],
        &["ZMSCORE", "z", "a", "nope", "c"],
        &["ZMSCORE", "missing", "a", "b"],
        &["ZCARD", "z"],
        &["ZCARD", "missing"],
        &["ZREM", "z", "a", "nope", "a"],
        &["ZREM", "missing", "a"],
        &["ZCARD", "z"],
        &["ZREM", "z", "b", "c"],
        &["EXISTS", "z"],
        &["ZCARD", "z"],
        &["SET", "s", "v"],
        &["ZSCORE", "s", "a"],
        &["ZMSCORE", "s", "a"],
        &["ZCARD", "s"],
        &["ZREM", "s", "a"],
        &["ZREM", "z"],
        &["ZMSCORE", "z"],
    ]);
}

const FIVE: &[&str] = &[
    "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
];

#[test]
fn zrange_by_rank_score_and_lex() {
    let d = differ();
    d.check(&[
        FIVE,
        &["ZADD", "z", "3", "c2", "-inf", "low", "inf", "high"],
        &["ZRANGE", "z", "0", "-1"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["ZRANGE", "z", "1", "3", "REV", "WITHSCORES"],
        &["ZRANGE", "z", "-3", "-1"],
        &["ZRANGE", "z", "-100", "100"],
        &["ZRANGE", "z", "5", "2"],
        &["ZRANGE", "z", "100", "200"],
        &["ZRANGE", "z", "0", "-1", "LIMIT", "1", "-1"],
        &["ZRANGE", "z", "(1", "5", "BYSCORE"],
        &["ZRANGE", "z", "1", "(5", "BYSCORE", "WITHSCORES"],
        &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "3"],
        &[
            "ZRANGE",
            "z",
            "+inf",
            "-inf",
            "BYSCORE",
            "REV",
            "LIMIT",
            "1",
            "3",
            "WITHSCORES",
        ],
        &["ZRANGE", "z", "5", "1", "BYSCORE", "REV"],
        &["ZRANGE", "z", "1", "5", "BYSCORE", "REV"],
        &["ZRANGE", "z", "(3", "(3", "BYSCORE"],
        &["ZRANGE", "z", "3", "3", "BYSCORE"],
        &["ZRANGE", "z", "5", "1", "BYSCORE"],
        &["ZRANGE", "z", "(", "5", "BYSCORE"],
        &[
            "ZRANGEBYSCORE",
            "z",
            "-inf",
            "+inf",
            "WITHSCORES",
            "LIMIT",
            "0",
            "-1",
        ],
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "2"],
        &["ZRANGEBYSCORE", "z", "2", "4", "LIMIT", "1", "0"],
        &["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "2"],
        &["ZREVRANGEBYSCORE", "z", "(4", "2", "WITHSCORES"],
        &["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "-1", "2"],
        &["ZREVRANGE", "z", "0", "1", "WITHSCORES"],
        &["ZREVRANGE", "z", "-2", "-1"],
        &["ZRANGE", "missing", "0", "-1"],
        &["ZRANGE", "missing", "0", "-1", "WITHSCORES"],
        &[
            "ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "", "0", "bb",
        ],
        &["ZRANGE", "lex", "-", "+", "BYLEX"],
        &["ZRANGE", "lex", "[b", "(d", "BYLEX"],
        &["ZRANGE", "lex", "(b", "[d", "BYLEX", "LIMIT", "1", "2"],
        &["ZRANGE", "lex", "+", "-", "BYLEX", "REV", "LIMIT", "0", "3"],
        &["ZRANGE", "lex", "[", "[b", "BYLEX"],
        &["ZRANGE", "lex", "(", "+", "BYLEX"],
        &["ZRANGE", "lex", "+", "+", "BYLEX"],
        &["ZRANGE", "lex", "-", "-", "BYLEX"],
        &["ZRANGEBYLEX", "lex", "(a", "[c", "LIMIT", "1", "1"],
        &["ZRANGEBYLEX", "lex", "[c", "(a"],
        &["ZREVRANGEBYLEX", "lex", "[c", "(a"],
        &["ZREVRANGEBYLEX", "lex", "+", "-", "LIMIT", "2", "-5"],
        &["ZLEXCOUNT", "lex", "-", "+"],
        &["ZLEXCOUNT", "lex", "[b", "[c"],
        &["ZLEXCOUNT", "missing", "-", "+"],
        &["ZCOUNT", "z", "-inf", "+inf"],
        &["ZCOUNT", "z", "(1", "3"],
        &["ZCOUNT", "z", "(3", "(3"],
        &["ZCOUNT", "missing", "0", "1"],
    ]);
}

#[test]
fn zrange_errors() {
    let d = differ();
    d.check(&[
        FIVE,
        &["SET", "s", "v"],
        &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
        &["ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX"],
        &["ZRANGE", "z", "0", "-1", "REV", "REV"],
        &["ZRANGE", "z", "0", "-1", "LIMIT", "0"],
        &["ZRANGE", "z", "0", "-1", "LIMIT", "a", "b", "BYSCORE"],
        &["ZRANGE", "z", "abc", "5", "BYSCORE"],
        &["ZRANGE", "z", "a", "b", "BYLEX"],
        &["ZRANGE", "z", "0", "-1", "BYLEX"],
        &["ZRANGE", "z", "x", "1"],
        &["ZRANGE", "z", "0", "1", "FOO"],
        &["ZRANGE", "z", "0"],
        &["ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES"],
        &["ZRANGEBYLEX", "z", "-", "+", "WITHSCORES"],
        &["ZRANGEBYSCORE", "z", "1", "2", "LIMIT", "0"],
        &["ZRANGEBYSCORE", "z", "1", "2", "FOO"],
        &["ZRANGEBYSCORE", "z", "1", "2", "REV"],
        &["ZRANGEBYSCORE", "z", "nan", "2"],
        &["ZREVRANGE", "z", "0", "1", "BYSCORE"],
        &["ZREVRANGEBYLEX", "z", "a", "-"],
        &["ZCOUNT", "z", "x", "y"],
        &["ZLEXCOUNT", "z", "a", "b"],
        &["ZRANGE", "s", "0", "-1"],
        &["ZRANGEBYSCORE", "s", "0", "1"],
        &["ZCOUNT", "s", "0", "1"],
        &["ZLEXCOUNT", "s", "-", "+"],
    ]);
}

#[test]
fn zrank_zrangestore_and_removals() {
    let d = differ();
    d.check(&[
        FIVE,
        &["SET", "s", "v"],
        &["ZRANK", "z", "a"],
        &["ZRANK", "z", "e"],
        &["ZREVRANK", "z", "a"],
        &["ZREVRANK", "z", "b"],
        &["ZRANK", "z", "nope"],
        &["ZRANK", "missing", "a"],
        &["ZRANK", "s", "a"],
        // ZRANK ... WITHSCORE is Redis 7.2 (the reference here is 7.0): see zrank_withscore_follows_redis_7_2.
        &["ZRANGESTORE", "dst", "z", "0", "-1"],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &[
            "ZRANGESTORE",
            "dst",
            "z",
            "(1",
            "+inf",
            "BYSCORE",
            "LIMIT",
            "1",
            "2",
        ],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &["ZRANGESTORE", "dst", "z", "+", "-", "BYLEX", "REV"],
        &["ZRANGESTORE", "dst", "z", "0", "1", "REV"],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &["ZRANGESTORE", "dst", "z", "100", "200"],
        &["EXISTS", "dst"],
        &["ZRANGESTORE", "dst", "missing", "0", "-1"],
        &["ZRANGESTORE", "s", "z", "0", "-1"],
        &["TYPE", "s"],
        &["ZRANGESTORE", "z", "z", "1", "2"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["SET", "str", "v"],
        &["ZRANGESTORE", "dst", "str", "0", "-1"],
        &["ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES"],
        &["ZRANGESTORE", "dst", "z", "0", "-1", "LIMIT", "0", "1"],
        FIVE,
        &["ZREMRANGEBYRANK", "z", "0", "0"],
        &["ZREMRANGEBYRANK", "z", "-1", "-1"],
        &["ZREMRANGEBYRANK", "z", "5", "10"],
        &["ZRANGE", "z", "0", "-1"],
        &["ZREMRANGEBYSCORE", "z", "(2", "+inf"],
        &["ZRANGE", "z", "0", "-1"],
        &["ZREMRANGEBYSCORE", "z", "-inf", "+inf"],
        &["EXISTS", "z"],
        &["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d"],
        &["ZREMRANGEBYLEX", "lex", "(a", "[c"],
        &["ZRANGE", "lex", "0", "-1"],
        &["ZREMRANGEBYLEX", "lex", "-", "+"],
        &["EXISTS", "lex"],
        &["ZREMRANGEBYRANK", "missing", "0", "1"],
        &["ZREMRANGEBYSCORE", "str", "0", "1"],
        &["ZREMRANGEBYLEX", "str", "-", "+"],
        &["ZREMRANGEBYRANK", "str", "0", "1"],
        &["ZREMRANGEBYSCORE", "z", "a", "b"],
        &["ZREMRANGEBYLEX", "z", "a", "b"],
        &["ZREMRANGEBYRANK", "z", "a", "b"],
    ]);
}

#[test]
fn pops() {
    let d = differ();
    d.check(&[
        FIVE,
        &["ZADD", "z", "6", "f", "7", "g"],
        &["ZPOPMIN", "z"],
        &["ZPOPMIN", "z", "1"],
        &["ZPOPMAX", "z"],
        &["ZPOPMAX", "z", "2"],
        &["ZPOPMAX", "z", "0"],
        &["ZPOPMIN", "z", "100"],
        &["EXISTS", "z"],
        &["ZPOPMIN", "missing"],
        &["ZPOPMIN", "missing", "3"],
        &["ZPOPMAX", "z", "-1"],
        &["ZPOPMIN", "z", "abc"],
        &["ZPOPMIN", "z", "1", "2"],
        &["SET", "s", "v"],
        &["ZPOPMIN", "s"],
        FIVE,
        &["ZMPOP", "1", "z", "MIN"],
        &["ZMPOP", "1", "z", "MAX", "COUNT", "2"],
        &["ZMPOP", "2", "missing", "z", "MAX", "COUNT", "10"],
        &["ZMPOP", "1", "missing", "MIN"],
        &["EXISTS", "z"],
        &["ZMPOP", "0", "z", "MIN"],
        &["ZMPOP", "abc", "z", "MIN"],
        &["ZMPOP", "5", "z", "MIN"],
        &["ZMPOP", "1", "z", "FOO"],
        &["ZMPOP", "1", "z", "MIN", "COUNT", "0"],
        &["ZMPOP", "1", "z", "MIN", "COUNT", "-1"],
        &["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "2"],
        &["ZMPOP", "1", "z"],
        &["ZMPOP", "2", "s", "z", "MIN"],
    ]);
}

#[test]
fn zrandmember_and_zscan_shapes() {
    let d = differ();
    d.check(&[
        &["ZADD", "one", "1.5", "only"],
        &["ZRANDMEMBER", "one"],
        &["ZRANDMEMBER", "one", "1"],
        &["ZRANDMEMBER", "one", "1", "WITHSCORES"],
        &["ZRANDMEMBER", "one", "-3", "WITHSCORES"],
        &["ZRANDMEMBER", "one", "0"],
        &["ZRANDMEMBER", "missing"],
        &["ZRANDMEMBER", "missing", "2"],
        &["ZRANDMEMBER", "missing", "2", "WITHSCORES"],
        &["ZRANDMEMBER", "one", "-1", "foo"],
        &["ZRANDMEMBER", "one", "abc"],
        &["ZRANDMEMBER", "one", "-9223372036854775808"],
        &["ZRANDMEMBER", "one", "4611686018427387904", "WITHSCORES"],
        &["ZRANDMEMBER", "one", "4611686018427387903", "WITHSCORES"],
        &["SET", "s", "v"],
        &["ZRANDMEMBER", "s"],
        &[
            "ZADD", "z", "0.1", "a", "1e30", "b", "-0", "c", "inf", "d", "-inf", "e", "3", "f",
        ],
        &["ZSCAN", "z", "0"],
        &["ZSCAN", "z", "0", "MATCH", "*"],
        &["ZSCAN", "z", "0", "MATCH", "[a-c]", "COUNT", "1"],
        &["ZSCAN", "z", "0", "COUNT", "0"],
        &["ZSCAN", "z", "0", "COUNT", "x"],
        &["ZSCAN", "z", "0", "FOO"],
        &["ZSCAN", "z", "0", "NOVALUES"],
        &["ZSCAN", "z", "abc"],
        &["ZSCAN", "missing", "0"],
        &["ZSCAN", "missing", "0", "FOO"],
        &["ZSCAN", "missing", "0", "COUNT", "0"],
        &["ZSCAN", "s", "0"],
        &["ZSCAN", "s", "0", "FOO"],
    ]);
}

#[test]
fn union_inter_diff() {
    let d = differ();
    d.check(&[
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        &["ZADD", "y", "10", "b", "20", "d"],
        &["SADD", "plain", "a", "x"],
        &["SET", "s", "v"],
        &["ZUNION", "2", "z", "y"],
        &["ZUNION", "2", "z", "y", "WITHSCORES"],
        &["ZUNION", "2", "z", "y", "AGGREGATE", "MAX", "WITHSCORES"],
        &[
            "ZUNION",
            "2",
            "z",
            "y",
            "WEIGHTS",
            "2",
            "3",
            "AGGREGATE",
            "MIN",
            "WITHSCORES",
        ],
        &[
            "ZUNION",
            "1",
            "z",
            "WEIGHTS",
            "2",
            "WEIGHTS",
            "3",
            "WITHSCORES",
        ],
        &["ZUNION", "1", "z", "WITHSCORES", "WITHSCORES"],
        &["ZUNION", "2", "z", "plain", "WITHSCORES"],
        &["ZUNION", "2", "missing", "other"],
        &["ZINTER", "2", "z", "y", "WITHSCORES"],
        &["ZINTER", "2", "z", "y", "AGGREGATE", "MAX", "WITHSCORES"],
        &[
            "ZINTER",
            "2",
            "z",
            "plain",
            "WEIGHTS",
            "1",
            "5",
            "WITHSCORES",
        ],
        &["ZINTER", "2", "z", "missing"],
        &["ZDIFF", "2", "z", "y", "WITHSCORES"],
        &["ZDIFF", "1", "z"],
        &["ZDIFF", "2", "missing", "z"],
        &["ZUNIONSTORE", "d", "2", "z", "y"],
        &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        &["ZINTERSTORE", "d", "2", "z", "y", "WEIGHTS", "1", "0.5"],
        &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        &["ZDIFFSTORE", "d", "2", "z", "y"],
        &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        &["ZINTERSTORE", "d", "2", "z", "missing"],
        &["EXISTS", "d"],
        &["ZUNIONSTORE", "s", "1", "z"],
        &["TYPE", "s"],
        &["ZUNIONSTORE", "z", "2", "z", "y"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["ZINTERCARD", "2", "z", "y"],
        &["ZINTERCARD", "2", "z", "y", "LIMIT", "1"],
        &["ZINTERCARD", "2", "z", "y", "LIMIT", "0"],
        &["ZINTERCARD", "2", "z", "plain"],
        &["ZADD", "inf1", "inf", "a"],
        &["ZADD", "inf2", "-inf", "a"],
        &["ZUNION", "2", "inf1", "inf2", "WITHSCORES"],
        &["ZINTER", "2", "inf1", "inf2", "WITHSCORES"],
        &[
            "ZUNION",
            "2",
            "inf1",
            "inf2",
            "WEIGHTS",
            "0",
            "1",
            "WITHSCORES",
        ],
    ]);
}

#[test]
fn union_inter_diff_errors() {
    let d = differ();
    d.check(&[
        &["ZADD", "z", "1", "a"],
        &["SET", "s", "v"],
        &["ZUNION", "0", "z"],
        &["ZUNION", "-1", "z"],
        &["ZUNION", "x", "z"],
        &["ZUNION", "3", "z", "y"],
        &["ZUNION", "1", "z", "y"],
        &["ZUNION", "2", "z", "y", "WEIGHTS", "1"],
        &["ZUNION", "2", "z", "y", "WEIGHTS", "1", "x"],
        &["ZUNION", "2", "z", "y", "WEIGHTS", "nan", "1"],
        &["ZUNION", "2", "z", "y", "AGGREGATE", "foo"],
        &["ZUNION", "2", "z", "s"],
        &["ZINTER", "2", "s", "missing"],
        &["ZDIFF", "2", "z", "y", "WEIGHTS", "1", "2"],
        &["ZDIFF", "2", "z", "y", "AGGREGATE", "SUM"],
        &["ZUNIONSTORE", "d", "2", "z", "y", "WITHSCORES"],
        &["ZUNIONSTORE", "d", "0", "z"],
        &["ZINTERSTORE", "d", "2", "z", "s"],
        &["ZDIFFSTORE", "d", "0", "z"],
        &["ZINTERCARD", "0", "z"],
        &["ZINTERCARD", "abc", "z"],
        &["ZINTERCARD", "5", "z"],
        &["ZINTERCARD", "1", "z", "LIMIT", "-1"],
        &["ZINTERCARD", "1", "z", "LIMIT", "x"],
        &["ZINTERCARD", "1", "z", "FOO", "1"],
        &["ZINTERCARD", "2", "z", "s"],
    ]);
}

#[test]
fn key_commands_on_zsets() {
    let d = differ();
    d.check(&[
        FIVE,
        &["RENAME", "z", "z2"],
        &["ZRANGE", "z2", "0", "-1", "WITHSCORES"],
        &["COPY", "z2", "z3"],
        &["ZADD", "z3", "9", "extra"],
        &["ZCARD", "z2"],
        &["ZCARD", "z3"],
        &["MOVE", "z3", "1"],
        &["EXISTS", "z3"],
        &["EXPIRE", "z2", "100"],
        &["TTL", "z2"],
        &["DEL", "z2"],
        &["ZCARD", "z2"],
        &["ZADD", "z2", "1", "x"],
        &["ZRANGE", "z2", "0", "-1", "WITHSCORES"],
        &["SET", "z2", "now a string"],
        &["GET", "z2"],
        &["ZADD", "z2", "1", "a"],
        &["DEL", "z2"],
        &["ZADD", "z2", "1", "a"],
        &["ZRANGE", "z2", "0", "-1"],
        &["SCAN", "0", "TYPE", "zset"],
    ]);
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                Value::Double(d) => d.to_string(),
                Value::Array(pair) => strings(&Value::Array(pair.clone())).join("="),
                other => panic!("unexpected item {other:?}"),
            })
            .collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

fn run(c: &mut Connection, args: &[&str]) -> Value {
    run_command(c, args).unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

#[test]
fn zrandmember_samples_members() {
    let cluster = TestCluster::start();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut c = cluster.client_with(protocol);
        run(&mut c, &["DEL", "z"]);
        let members: Vec<String> = (0..20).map(|i| format!("m{i:02}")).collect();
        for (i, m) in members.iter().enumerate() {
            run(&mut c, &["ZADD", "z", &i.to_string(), m]);
        }
        let one = strings(&Value::Array(vec![run(&mut c, &["ZRANDMEMBER", "z"])]));
        assert!(members.contains(&one[0]));
        let distinct = strings(&run(&mut c, &["ZRANDMEMBER", "z", "7"]));
        assert_eq!(distinct.len(), 7);
        let mut dedup = distinct.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), 7, "positive counts give distinct members");
        assert!(distinct.iter().all(|m| members.contains(m)));
        let mut all = strings(&run(&mut c, &["ZRANDMEMBER", "z", "100"]));
        all.sort();
        assert_eq!(all, members);
        let repeats = strings(&run(&mut c, &["ZRANDMEMBER", "z", "-50"]));
        assert_eq!(repeats.len(), 50);
        assert!(repeats.iter().all(|m| members.contains(m)));
        let mut seen = repeats.clone();
        seen.sort();
        seen.dedup();
        assert!(seen.len() > 1, "50 draws from 20 members are not all equal");
        // With scores every member comes with its own score.
        let with = run(&mut c, &["ZRANDMEMBER", "z", "5", "WITHSCORES"]);
        let flat: Vec<String> = match (&with, protocol) {
            (Value::Array(items), Protocol::Resp3) => items
                .iter()
                .flat_map(|p| match p {
                    Value::Array(pair) => {
                        assert!(matches!(pair[1], Value::Double(_)), "{pair:?}");
                        strings(&Value::Array(pair.clone()))
                    }
                    other => panic!("RESP3 pairs expected, got {other:?}"),
                })
                .collect(),
            _ => strings(&with),
        };
        assert_eq!(flat.len(), 10);
        for pair in flat.chunks(2) {
            let i: usize = pair[0][1..].parse().unwrap();
            assert_eq!(pair[1].parse::<f64>().unwrap(), i as f64);
        }
    }
}

#[test]
fn zscan_pages_a_large_zset() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    let n = 1000;
    let mut cmd = vec!["ZADD".to_owned(), "big".to_owned()];
    for i in 0..n {
        cmd.push(format!("{}", i % 37));
        cmd.push(format!("member:{i}"));
    }
    let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
    assert_eq!(run(&mut c, &args), Value::Int(n));
    let mut cursor = "0".to_owned();
    let mut seen = BTreeMap::new();
    let mut calls = 0;
    loop {
        let reply = run(&mut c, &["ZSCAN", "big", &cursor, "COUNT", "100"]);
        let Value::Array(parts) = reply else {
            panic!("ZSCAN reply {reply:?}")
        };
        cursor = strings(&Value::Array(vec![parts[0].clone()]))[0].clone();
        for pair in strings(&parts[1]).chunks(2) {
            assert!(seen.insert(pair[0].clone(), pair[1].clone()).is_none());
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
        assert!(calls < 100, "ZSCAN does not terminate");
    }
    assert!(calls > 1, "a 1000-member zset takes several calls");
    assert_eq!(seen.len() as i64, n);
    for i in 0..n {
        assert_eq!(seen[&format!("member:{i}")], format!("{}", i % 37));
    }
    let matched = run(
        &mut c,
        &["ZSCAN", "big", "0", "MATCH", "member:99*", "COUNT", "2000"],
    );
    let Value::Array(parts) = matched else {
        panic!()
    };
    assert_eq!(strings(&parts[1]).len(), 2 * 11);
    // Big zsets delete in O(1) and a new one under the same name starts empty.
    assert_eq!(run(&mut c, &["DEL", "big"]), Value::Int(1));
    assert_eq!(run(&mut c, &["ZCARD", "big"]), Value::Int(0));
    assert_eq!(run(&mut c, &["ZADD", "big", "1", "x"]), Value::Int(1));
    assert_eq!(run(&mut c, &["ZCARD", "big"]), Value::Int(1));
}

/// splitmix64: a reproducible operation stream without extra dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A long random sequence of sorted-set writes and reads, run on tandem and redis-server
/// in RESP2 and RESP3: every reply must be identical.
#[test]
fn random_operations_match_redis() {
    let d = differ();
    for seed in [0x7a5e7, 1, 42, 2026] {
        let script = random_script(seed);
        let owned: Vec<Vec<&str>> = script
            .iter()
            .map(|c| c.iter().map(String::as_str).collect())
            .collect();
        let steps: Vec<&[&str]> = owned.iter().map(Vec::as_slice).collect();
        d.check(&steps);
    }
}

/// 400 random sorted-set commands over three keys and twelve members, then a dump.
fn random_script(seed: u64) -> Vec<Vec<String>> {
    let scores = [
        "0", "1", "-1", "2.5", "-0.5", "1e10", "inf", "-inf", "3", "0.1",
    ];
    let mut rng = Rng(seed);
    let mut script: Vec<Vec<String>> = Vec::new();
    for _ in 0..400 {
        let key = format!("k{}", rng.below(3));
        let member = format!("m{}", rng.below(12));
        let score = scores[rng.below(scores.len() as u64) as usize].to_owned();
        let cmd: Vec<String> = match rng.below(12) {
            0..=2 => {
                let flag = ["", "NX", "XX", "GT", "LT", "CH"][rng.below(6) as usize];
                let mut c = vec!["ZADD".into(), key];
                if !flag.is_empty() {
                    c.push(flag.into());
                }
                c.extend([score, member, "1".into(), format!("m{}", rng.below(12))]);
                c
            }
            3 => vec!["ZINCRBY".into(), key, score, member],
            4 => vec!["ZREM".into(), key, member, format!("m{}", rng.below(12))],
            5 => vec![
                "ZRANGE".into(),
                key,
                "0".into(),
                "-1".into(),
                "WITHSCORES".into(),
            ],
            6 => vec!["ZRANK".into(), key, member],
            7 => vec![
                "ZRANGEBYSCORE".into(),
                key,
                "(0".into(),
                "+inf".into(),
                "WITHSCORES".into(),
                "LIMIT".into(),
                rng.below(3).to_string(),
                "3".into(),
            ],
            8 => match rng.below(3) {
                0 => vec!["ZPOPMIN".into(), key],
                1 => vec!["ZPOPMAX".into(), key, rng.below(3).to_string()],
                _ => vec!["ZMPOP".into(), "2".into(), key, "k1".into(), "MAX".into()],
            },
            9 => match rng.below(3) {
                0 => vec!["ZREMRANGEBYRANK".into(), key, "0".into(), "0".into()],
                1 => vec!["ZREMRANGEBYSCORE".into(), key, "(2".into(), "1e10".into()],
                _ => vec!["ZREVRANK".into(), key, member],
            },
            10 => match rng.below(4) {
                0 => vec![
                    "ZUNIONSTORE".into(),
                    "u".into(),
                    "2".into(),
                    key,
                    "k0".into(),
                ],
                1 => vec![
                    "ZINTERSTORE".into(),
                    "k2".into(),
                    "2".into(),
                    key,
                    "k0".into(),
                    "AGGREGATE".into(),
                    "MAX".into(),
                ],
                2 => vec![
                    "ZRANGESTORE".into(),
                    "k1".into(),
                    key,
                    "+inf".into(),
                    "-inf".into(),
                    "BYSCORE".into(),
                    "REV".into(),
                    "LIMIT".into(),
                    "1".into(),
                    "4".into(),
                ],
                _ => vec![
                    "ZRANGE".into(),
                    key,
                    "(1".into(),
                    "-inf".into(),
                    "BYSCORE".into(),
                    "REV".into(),
                    "WITHSCORES".into(),
                ],
            },
            _ => vec!["ZCARD".into(), key],
        };
        script.push(cmd);
    }
    script.push(vec![
        "ZRANGE".into(),
        "k0".into(),
        "0".into(),
        "-1".into(),
        "WITHSCORES".into(),
    ]);
    script.push(vec![
        "ZRANGE".into(),
        "k1".into(),
        "0".into(),
        "-1".into(),
        "WITHSCORES".into(),
    ]);
    script.push(vec![
        "ZRANGE".into(),
        "k2".into(),
        "0".into(),
        "-1".into(),
        "WITHSCORES".into(),
    ]);
    script
}

/// A pipeline travels as one batch and runs in one write group: later commands must see
/// the group's own uncommitted members, index entries and deletions.
#[test]
fn pipelined_writes_see_each_other() {
    let d = differ();
    let script: &[&[&str]] = &[
        &["ZADD", "p", "3", "c", "1", "a", "2", "b"],
        &["ZINCRBY", "p", "10", "a"],
        &["ZRANGE", "p", "0", "-1", "WITHSCORES"],
        &["ZPOPMAX", "p"],
        &["ZRANK", "p", "c"],
        &["ZADD", "p", "0", "z"],
        &["ZRANGEBYSCORE", "p", "-inf", "+inf"],
        &["ZREM", "p", "b", "c", "z"],
        &["EXISTS", "p"],
        &["ZADD", "p", "5", "again"],
        &["ZUNIONSTORE", "q", "1", "p", "WEIGHTS", "2"],
        &["ZRANGE", "q", "0", "-1", "WITHSCORES"],
        &["DEL", "p"],
        &["ZCARD", "p"],
        &["ZADD", "p", "1", "fresh"],
        &["ZRANGE", "p", "0", "-1", "WITHSCORES"],
    ];
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut ours = d.tandem().client_with(protocol);
        let mut theirs = d.reference().client_with(protocol);
        let mut results = Vec::new();
        for conn in [&mut ours, &mut theirs] {
            redis::cmd("FLUSHALL").query::<()>(conn).unwrap();
            let mut pipe = redis::pipe();
            for args in script {
                let mut cmd = redis::cmd(args[0]);
                for a in &args[1..] {
                    cmd.arg(*a);
                }
                pipe.add_command(cmd);
            }
            let replies: Vec<Value> = pipe.query(conn).unwrap();
            results.push(replies);
        }
        assert_eq!(results[0], results[1], "{protocol:?}");
    }
}

/// `ZRANK`/`ZREVRANK ... WITHSCORE` arrived in Redis 7.2, after the reference server installed
/// here (7.0.15), so this is checked against 7.2's documented replies instead of a diff.
#[test]
fn zrank_withscore_follows_redis_7_2() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut c = cluster.client();
    expect(
        &mut c,
        &["ZADD", "z", "1", "a", "2.5", "b", "3", "c"],
        int(3),
    );
    expect(
        &mut c,
        &["ZRANK", "z", "b", "WITHSCORE"],
        Ok(Value::Array(vec![
            Value::Int(1),
            Value::BulkString(b"2.5".to_vec()),
        ])),
    );
    expect(
        &mut c,
        &["ZREVRANK", "z", "b", "withscore"],
        Ok(Value::Array(vec![
            Value::Int(1),
            Value::BulkString(b"2.5".to_vec()),
        ])),
    );
    expect(&mut c, &["ZRANK", "z", "nope", "WITHSCORE"], Ok(Value::Nil));
    expect(
        &mut c,
        &["ZRANK", "z", "a", "WITHSCORES"],
        err("ERR syntax error"),
    );
    expect(
        &mut c,
        &["ZRANK", "z", "a", "WITHSCORE", "x"],
        err("ERR wrong number of arguments for 'zrank' command"),
    );
    expect(&mut c, &["ZRANK", "z", "c"], int(2));
    let mut c3 = cluster.client_resp3();
    expect(
        &mut c3,
        &["ZRANK", "z", "c", "WITHSCORE"],
        Ok(Value::Array(vec![Value::Int(2), Value::Double(3.0)])),
    );
}

/// Scores go through C's `strtod` in Redis, which reads hex floats too.
#[test]
fn hex_float_scores_match_redis() {
    tandem_tests::assert_same(&[
        &["ZADD", "zz", "0x10", "m"],
        &["ZADD", "zz", "-0X.8", "n", "0x1p3", "o"],
        &["ZSCORE", "zz", "m"],
        &["ZRANGEBYSCORE", "zz", "0x1", "0x20", "WITHSCORES"],
        &["ZINCRBY", "zz", "0x1p-1", "m"],
        &["ZADD", "zz", "0x", "p"],
        &["ZADD", "zz", "0x1p99999", "p"],
        &["ZCOUNT", "zz", "-0x1", "(0x10"],
    ]);
}
