//! Hash commands end to end: every command and error case with expectations written out
//! (checked against Redis 7.0), RESP3 reply shapes, key commands on hash keys, paging and
//! sampling on a hash too big for one reply, and differential scripts that run the same
//! commands on tandem and a real redis-server in RESP2 and RESP3.
//!
//! Redis returns small hashes in insertion order and tandem in field order, so replies
//! whose order Redis leaves unspecified (`HGETALL`, `HKEYS`, `HVALS`, `HSCAN`,
//! `HRANDFIELD`) are compared as unordered here and in the differential harness.

use std::collections::{BTreeMap, BTreeSet};

use redis::Connection;
use tandem_tests::{
    bulk, bulks, err, expect, int, nil, ok, run_command, simple, Differ, Protocol, TestCluster,
    Value,
};

const NOT_INT: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";
const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

/// `HGETALL` as a map, whatever the protocol's shape.
fn hgetall(c: &mut Connection, key: &str) -> BTreeMap<String, String> {
    match run_command(c, &["HGETALL", key]) {
        Ok(Value::Map(pairs)) => pairs.iter().map(|(f, v)| (text(f), text(v))).collect(),
        Ok(Value::Array(items)) => items
            .chunks(2)
            .map(|p| (text(&p[0]), text(&p[1])))
            .collect(),
        other => panic!("HGETALL {key}: {other:?}"),
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items.iter().map(text).collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

fn sorted_strings(c: &mut Connection, args: &[&str]) -> Vec<String> {
    let mut out = strings(&run_command(c, args).expect("command succeeds"));
    out.sort();
    out
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(f, v)| (f.to_string(), v.to_string()))
        .collect()
}

fn scan_page(cursor: &str, items: &[&str]) -> Value {
    Value::Array(vec![
        Value::BulkString(cursor.as_bytes().to_vec()),
        Value::Array(
            items
                .iter()
                .map(|s| Value::BulkString(s.as_bytes().to_vec()))
                .collect(),
        ),
    ])
}

#[test]
fn every_hash_command() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();

    // HSET / HMSET / HSETNX
    expect(c, &["HSET", "h", "a", "1", "b", "2"], int(2));
    expect(c, &["HSET", "h", "a", "10", "c", "3", "c", "4"], int(1));
    expect(
        c,
        &["HSET", "h", "a", "1", "b"],
        err("ERR wrong number of arguments for 'hset' command"),
    );
    expect(
        c,
        &["HSET", "h", "a"],
        err("ERR wrong number of arguments for 'hset' command"),
    );
    expect(c, &["HMSET", "h", "d", "5"], ok());
    expect(
        c,
        &["HMSET", "h", "d"],
        err("ERR wrong number of arguments for 'hmset' command"),
    );
    expect(c, &["HSETNX", "h", "a", "x"], int(0));
    expect(c, &["HSETNX", "h", "e", "6"], int(1));
    expect(c, &["HSETNX", "fresh", "f", "v"], int(1));
    assert_eq!(
        hgetall(c, "h"),
        map(&[("a", "10"), ("b", "2"), ("c", "4"), ("d", "5"), ("e", "6")])
    );

    // HGET / HMGET / HLEN / HSTRLEN / HEXISTS
    expect(c, &["HGET", "h", "a"], bulk("10"));
    expect(c, &["HGET", "h", "zz"], nil());
    expect(c, &["HGET", "missing", "a"], nil());
    expect(
        c,
        &["HMGET", "h", "a", "zz", "b"],
        bulks(&[Some("10"), None, Some("2")]),
    );
    expect(c, &["HMGET", "missing", "a", "b"], bulks(&[None, None]));
    expect(c, &["HLEN", "h"], int(5));
    expect(c, &["HLEN", "missing"], int(0));
    expect(c, &["HSTRLEN", "h", "a"], int(2));
    expect(c, &["HSTRLEN", "h", "zz"], int(0));
    expect(c, &["HSTRLEN", "missing", "a"], int(0));
    expect(c, &["HEXISTS", "h", "a"], int(1));
    expect(c, &["HEXISTS", "h", "zz"], int(0));
    expect(c, &["HEXISTS", "missing", "a"], int(0));

    // HKEYS / HVALS / HGETALL
    assert_eq!(
        sorted_strings(c, &["HKEYS", "h"]),
        ["a", "b", "c", "d", "e"]
    );
    assert_eq!(
        sorted_strings(c, &["HVALS", "h"]),
        ["10", "2", "4", "5", "6"]
    );
    expect(c, &["HKEYS", "missing"], Ok(Value::Array(vec![])));
    expect(c, &["HVALS", "missing"], Ok(Value::Array(vec![])));
    expect(c, &["HGETALL", "missing"], Ok(Value::Array(vec![])));

    // HDEL: repeats count once; the key goes with its last field.
    expect(c, &["HDEL", "h", "a", "a", "zz"], int(1));
    expect(c, &["HDEL", "missing", "a"], int(0));
    expect(c, &["HDEL", "fresh", "f"], int(1));
    expect(c, &["EXISTS", "fresh"], int(0));
    expect(c, &["TYPE", "fresh"], simple("none"));

    // HINCRBY
    expect(c, &["HINCRBY", "n", "i", "5"], int(5));
    expect(c, &["HINCRBY", "n", "i", "-7"], int(-2));
    expect(
        c,
        &[
            "HSET",
            "n",
            "max",
            "9223372036854775807",
            "s",
            "abc",
            "f",
            "1.5",
        ],
        int(3),
    );
    expect(
        c,
        &["HINCRBY", "n", "max", "1"],
        err("ERR increment or decrement would overflow"),
    );
    expect(
        c,
        &["HINCRBY", "n", "s", "1"],
        err("ERR hash value is not an integer"),
    );
    expect(
        c,
        &["HINCRBY", "n", "f", "1"],
        err("ERR hash value is not an integer"),
    );
    expect(c, &["HINCRBY", "n", "i", "x"], err(NOT_INT));
    expect(c, &["HINCRBY", "n", "i", "1.0"], err(NOT_INT));

    // HINCRBYFLOAT: long double arithmetic, INCRBYFLOAT's formatting.
    expect(c, &["HINCRBYFLOAT", "n", "f", "1.1"], bulk("2.6"));
    expect(c, &["HINCRBYFLOAT", "n", "g", "3.0e3"], bulk("3000"));
    expect(
        c,
        &["HINCRBYFLOAT", "n", "max", "1"],
        bulk("9223372036854775808"),
    );
    expect(c, &["HINCRBYFLOAT", "n", "i", "0.5"], bulk("-1.5"));
    expect(c, &["HGET", "n", "f"], bulk("2.6"));
    expect(
        c,
        &["HINCRBYFLOAT", "n", "s", "1"],
        err("ERR hash value is not a float"),
    );
    expect(
        c,
        &["HINCRBYFLOAT", "n", "f", "abc"],
        err("ERR value is not a valid float"),
    );
    expect(
        c,
        &["HINCRBYFLOAT", "n", "f", "inf"],
        err("ERR value is NaN or Infinity"),
    );
    expect(c, &["HSET", "n", "huge", "1e4932"], int(1));
    expect(
        c,
        &["HINCRBYFLOAT", "n", "huge", "1e4932"],
        err("ERR increment would produce NaN or Infinity"),
    );

    // HSCAN on a small hash: everything at once, cursor 0. Option errors only surface
    // for an existing hash, as in Redis.
    expect(c, &["HSCAN", "missing", "0"], Ok(scan_page("0", &[])));
    expect(
        c,
        &["HSCAN", "missing", "0", "COUNT", "0"],
        Ok(scan_page("0", &[])),
    );
    expect(c, &["HSCAN", "h", "abc"], err("ERR invalid cursor"));
    expect(c, &["HSCAN", "h", "0", "COUNT", "0"], err(SYNTAX));
    expect(c, &["HSCAN", "h", "0", "COUNT", "x"], err(NOT_INT));
    expect(c, &["HSCAN", "h", "0", "NOVALUES"], err(SYNTAX));
    expect(c, &["HSCAN", "h", "0", "MATCH"], err(SYNTAX));
    expect(c, &["HSCAN", "h", "0", "TYPE", "hash"], err(SYNTAX));
    expect(c, &["HSET", "m", "one", "1"], int(1));
    expect(
        c,
        &["HSCAN", "m", "0", "MATCH", "o*", "COUNT", "1"],
        Ok(scan_page("0", &["one", "1"])),
    );
    expect(
        c,
        &["HSCAN", "m", "0", "MATCH", "x*"],
        Ok(scan_page("0", &[])),
    );

    // HRANDFIELD
    expect(c, &["HRANDFIELD", "missing"], nil());
    expect(c, &["HRANDFIELD", "missing", "3"], Ok(Value::Array(vec![])));
    expect(c, &["HRANDFIELD", "m"], bulk("one"));
    expect(c, &["HRANDFIELD", "m", "0"], Ok(Value::Array(vec![])));
    expect(c, &["HRANDFIELD", "m", "5"], bulks(&[Some("one")]));
    expect(c, &["HRANDFIELD", "m", "-3"], bulks(&[Some("one"); 3]));
    expect(
        c,
        &["HRANDFIELD", "m", "-2", "WITHVALUES"],
        bulks(&[Some("one"), Some("1"), Some("one"), Some("1")]),
    );
    expect(c, &["HRANDFIELD", "m", "x"], err(NOT_INT));
    expect(c, &["HRANDFIELD", "m", "1", "WITHVALUE"], err(SYNTAX));
    expect(c, &["HRANDFIELD", "m", "1", "WITHVALUES", "x"], err(SYNTAX));
    expect(
        c,
        &["HRANDFIELD", "m", "4611686018427387904", "WITHVALUES"],
        err("ERR value is out of range"),
    );
    expect(
        c,
        &["HRANDFIELD", "m", "-9223372036854775808"],
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
    );
    let picked = sorted_strings(c, &["HRANDFIELD", "h", "3"]);
    assert_eq!(picked.len(), 3);
    assert_eq!(
        picked.iter().collect::<BTreeSet<_>>().len(),
        3,
        "{picked:?}"
    );
    for f in &picked {
        assert!(["b", "c", "d", "e"].contains(&f.as_str()), "{f}");
    }
    assert_eq!(
        sorted_strings(c, &["HRANDFIELD", "h", "100"]),
        ["b", "c", "d", "e"]
    );

    // WRONGTYPE both ways.
    expect(c, &["SET", "s", "v"], ok());
    for args in [
        &["HSET", "s", "f", "v"][..],
        &["HMSET", "s", "f", "v"],
        &["HSETNX", "s", "f", "v"],
        &["HGET", "s", "f"],
        &["HMGET", "s", "f"],
        &["HDEL", "s", "f"],
        &["HLEN", "s"],
        &["HSTRLEN", "s", "f"],
        &["HEXISTS", "s", "f"],
        &["HGETALL", "s"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HINCRBY", "s", "f", "1"],
        &["HINCRBYFLOAT", "s", "f", "1"],
        &["HSCAN", "s", "0"],
        &["HSCAN", "s", "0", "COUNT", "0"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "2"],
        &["GET", "h"],
        &["APPEND", "h", "x"],
        &["INCR", "h"],
        &["INCRBYFLOAT", "h", "1"],
        &["STRLEN", "h"],
        &["GETRANGE", "h", "0", "1"],
        &["SETRANGE", "h", "0", "x"],
        &["GETDEL", "h"],
        &["GETEX", "h"],
        &["SET", "h", "v", "GET"],
    ] {
        assert_eq!(run_command(c, args), err(WRONGTYPE), "{args:?}");
    }
    // MGET answers nil for a key of another type, as in Redis.
    expect(c, &["MGET", "h", "s"], bulks(&[None, Some("v")]));
    // Errors Redis raises before looking at the key win over WRONGTYPE.
    expect(c, &["HRANDFIELD", "s", "x"], err(NOT_INT));
    expect(
        c,
        &["HINCRBYFLOAT", "s", "f", "abc"],
        err("ERR value is not a valid float"),
    );
    // SET replaces a hash.
    expect(c, &["SET", "m", "str"], ok());
    expect(c, &["GET", "m"], bulk("str"));
    expect(c, &["HSET", "m", "again", "1"], err(WRONGTYPE));
}

#[test]
fn resp3_shapes() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client_resp3();
    expect(c, &["HSET", "h", "a", "1"], int(1));
    expect(
        c,
        &["HGETALL", "h"],
        Ok(Value::Map(vec![(
            Value::BulkString(b"a".to_vec()),
            Value::BulkString(b"1".to_vec()),
        )])),
    );
    expect(c, &["HGETALL", "missing"], Ok(Value::Map(vec![])));
    let pair = Value::Array(vec![
        Value::BulkString(b"a".to_vec()),
        Value::BulkString(b"1".to_vec()),
    ]);
    expect(
        c,
        &["HRANDFIELD", "h", "-2", "WITHVALUES"],
        Ok(Value::Array(vec![pair.clone(), pair.clone()])),
    );
    expect(
        c,
        &["HRANDFIELD", "h", "1", "WITHVALUES"],
        Ok(Value::Array(vec![pair])),
    );
    expect(c, &["HRANDFIELD", "missing"], nil());
    expect(c, &["HMGET", "h", "a", "b"], bulks(&[Some("1"), None]));
    expect(c, &["HINCRBYFLOAT", "h", "a", "0.5"], bulk("1.5"));
    expect(c, &["HSCAN", "h", "0"], Ok(scan_page("0", &["a", "1.5"])));
}

#[test]
fn key_commands_on_hashes() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    expect(c, &["HSET", "h", "a", "1", "b", "2"], int(2));
    expect(c, &["SET", "s", "v"], ok());
    expect(c, &["TYPE", "h"], simple("hash"));
    expect(
        c,
        &["SCAN", "0", "TYPE", "hash"],
        Ok(scan_page("0", &["h"])),
    );
    expect(
        c,
        &["SCAN", "0", "TYPE", "HASH", "MATCH", "x*"],
        Ok(scan_page("0", &[])),
    );
    expect(c, &["KEYS", "h"], bulks(&[Some("h")]));

    // RENAME moves the fields; the old name is gone.
    expect(c, &["RENAME", "h", "h2"], ok());
    expect(c, &["EXISTS", "h"], int(0));
    assert_eq!(hgetall(c, "h2"), map(&[("a", "1"), ("b", "2")]));
    expect(c, &["HLEN", "h2"], int(2));
    // RENAME over an existing hash replaces it entirely.
    expect(c, &["HSET", "other", "zz", "9"], int(1));
    expect(c, &["RENAME", "other", "h2"], ok());
    assert_eq!(hgetall(c, "h2"), map(&[("zz", "9")]));
    expect(c, &["HSET", "h", "a", "1", "b", "2"], int(2));

    // COPY is independent of its source.
    expect(c, &["COPY", "h", "hc"], int(1));
    expect(c, &["HSET", "hc", "c", "3"], int(1));
    expect(c, &["HLEN", "h"], int(2));
    assert_eq!(hgetall(c, "hc"), map(&[("a", "1"), ("b", "2"), ("c", "3")]));
    expect(c, &["COPY", "h", "hc"], int(0));
    expect(c, &["COPY", "h", "hc", "REPLACE"], int(1));
    assert_eq!(hgetall(c, "hc"), map(&[("a", "1"), ("b", "2")]));
    expect(c, &["COPY", "h", "s", "REPLACE"], int(1));
    expect(c, &["TYPE", "s"], simple("hash"));
    expect(c, &["COPY", "h", "h", "DB", "3"], int(1));

    // MOVE to another database.
    expect(c, &["MOVE", "hc", "1"], int(1));
    expect(c, &["EXISTS", "hc"], int(0));
    expect(c, &["SELECT", "1"], ok());
    assert_eq!(hgetall(c, "hc"), map(&[("a", "1"), ("b", "2")]));
    expect(c, &["SELECT", "3"], ok());
    assert_eq!(hgetall(c, "h"), map(&[("a", "1"), ("b", "2")]));
    expect(c, &["SELECT", "0"], ok());

    // DEL then recreate: no field of the old hash comes back.
    expect(c, &["DEL", "h"], int(1));
    expect(c, &["HGET", "h", "a"], nil());
    expect(c, &["HSET", "h", "new", "1"], int(1));
    assert_eq!(hgetall(c, "h"), map(&[("new", "1")]));
    expect(c, &["HLEN", "h"], int(1));

    // EXPIRE / PERSIST / TTL, and expiry hides the whole hash.
    expect(c, &["EXPIRE", "h", "100"], int(1));
    let ttl = run_command(c, &["TTL", "h"]);
    assert!(matches!(ttl, Ok(Value::Int(99 | 100))), "{ttl:?}");
    expect(c, &["HSET", "h", "more", "2"], int(1));
    let ttl = run_command(c, &["TTL", "h"]);
    assert!(
        matches!(ttl, Ok(Value::Int(99 | 100))),
        "writes keep the TTL: {ttl:?}"
    );
    expect(c, &["PERSIST", "h"], int(1));
    expect(c, &["TTL", "h"], int(-1));
    expect(c, &["PEXPIRE", "h", "1"], int(1));
    tandem_tests::wait_for(
        "the hash to expire",
        std::time::Duration::from_secs(10),
        || (run_command(c, &["EXISTS", "h"]) == int(0)).then_some(()),
    );
    expect(c, &["HGET", "h", "new"], nil());
    expect(c, &["HLEN", "h"], int(0));
    expect(c, &["HSET", "h", "after", "1"], int(1));
    assert_eq!(hgetall(c, "h"), map(&[("after", "1")]));
    expect(c, &["EXPIRE", "h", "0"], int(1));
    expect(c, &["EXISTS", "h"], int(0));

    // FLUSHDB drops hashes with everything else.
    expect(c, &["HSET", "h", "a", "1"], int(1));
    expect(c, &["FLUSHDB"], ok());
    expect(c, &["HLEN", "h"], int(0));
}

#[test]
fn large_hash_paging_and_sampling() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    const N: usize = 1000;
    let mut args: Vec<String> = vec!["HSET".into(), "big".into()];
    for i in 0..N {
        args.push(format!("field:{i:04}"));
        args.push(format!("value:{i}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    expect(c, &refs, int(N as i64));
    expect(c, &["HLEN", "big"], int(N as i64));
    assert_eq!(hgetall(c, "big").len(), N);

    // HSCAN pages through every field exactly once.
    let mut seen = BTreeMap::new();
    let mut cursor = "0".to_string();
    let mut pages = 0;
    loop {
        let reply = run_command(c, &["HSCAN", "big", &cursor, "COUNT", "37"]).expect("HSCAN");
        let Value::Array(parts) = reply else {
            panic!("HSCAN reply {reply:?}")
        };
        cursor = text(&parts[0]);
        for p in strings(&parts[1]).chunks(2) {
            assert!(
                seen.insert(p[0].clone(), p[1].clone()).is_none(),
                "{p:?} twice"
            );
        }
        pages += 1;
        assert!(pages < 1000, "HSCAN never ends");
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), N);
    assert!(pages > 20, "COUNT 37 over {N} fields took {pages} pages");
    assert_eq!(seen.get("field:0007").map(String::as_str), Some("value:7"));

    // MATCH filters what a page returns, not how far it goes.
    let mut matched = BTreeSet::new();
    let mut cursor = "0".to_string();
    loop {
        let reply =
            run_command(c, &["HSCAN", "big", &cursor, "MATCH", "field:00*"]).expect("HSCAN MATCH");
        let Value::Array(parts) = reply else {
            panic!("HSCAN reply {reply:?}")
        };
        cursor = text(&parts[0]);
        for p in strings(&parts[1]).chunks(2) {
            matched.insert(p[0].clone());
        }
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(matched.len(), 100);

    // HRANDFIELD: distinct for positive counts, repeats for negative ones, and the single
    // form reaches many different fields.
    let picked = strings(&run_command(c, &["HRANDFIELD", "big", "300"]).expect("HRANDFIELD"));
    assert_eq!(picked.len(), 300);
    assert_eq!(picked.iter().collect::<BTreeSet<_>>().len(), 300);
    let reply = run_command(c, &["HRANDFIELD", "big", "-2000", "WITHVALUES"]).expect("HRF");
    let flat = strings(&reply);
    assert_eq!(flat.len(), 4000);
    for p in flat.chunks(2) {
        assert_eq!(seen.get(&p[0]), Some(&p[1]), "{p:?}");
    }
    let distinct: BTreeSet<_> = flat.chunks(2).map(|p| p[0].clone()).collect();
    assert!(
        distinct.len() < 2000,
        "2000 picks of 1000 fields must repeat"
    );
    assert!(
        distinct.len() > 500,
        "picks look biased: {}",
        distinct.len()
    );
    let singles: BTreeSet<String> = (0..200)
        .map(|_| text(&run_command(c, &["HRANDFIELD", "big"]).expect("HRANDFIELD")))
        .collect();
    assert!(
        singles.len() > 100,
        "{} distinct of 200 picks",
        singles.len()
    );

    // Deleting the big hash is one metadata delete; a new hash under the name is empty.
    expect(c, &["DEL", "big"], int(1));
    expect(c, &["HSET", "big", "only", "1"], int(1));
    expect(c, &["HLEN", "big"], int(1));
    assert_eq!(hgetall(c, "big"), map(&[("only", "1")]));
}

#[test]
fn hashes_survive_a_restart() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    {
        let c = &mut cluster.client();
        expect(c, &["HSET", "h", "a", "1", "b", "2"], int(2));
        expect(c, &["HINCRBYFLOAT", "h", "f", "0.1"], bulk("0.1"));
        expect(c, &["HDEL", "h", "b"], int(1));
    }
    cluster.kill_storaged(tandem_tests::Signal::SIGKILL);
    cluster.start_storaged();
    let c = &mut cluster.client();
    tandem_tests::wait_for("storaged back", tandem_tests::START_TIMEOUT, || {
        run_command(c, &["HLEN", "h"]).ok()
    });
    expect(c, &["HLEN", "h"], int(2));
    assert_eq!(hgetall(c, "h"), map(&[("a", "1"), ("f", "0.1")]));
}

/// Both protocols see the same data written by the other.
#[test]
fn protocols_share_data() {
    let cluster = TestCluster::start();
    let mut two = cluster.client_with(Protocol::Resp2);
    let mut three = cluster.client_with(Protocol::Resp3);
    expect(&mut two, &["HSET", "h", "a", "1"], int(1));
    assert_eq!(hgetall(&mut three, "h"), map(&[("a", "1")]));
    expect(&mut three, &["HSET", "h", "b", "2"], int(1));
    assert_eq!(hgetall(&mut two, "h"), map(&[("a", "1"), ("b", "2")]));
}

// ---------------------------------------------------------------------------------------
// Differential scripts: the same commands on tandem and redis-server, RESP2 and RESP3.
// ---------------------------------------------------------------------------------------

#[test]
fn differential_set_get_delete() {
    let d = Differ::start();
    d.check(&[
        &["HSET", "h", "a", "1", "b", "2", "a", "3"],
        &["HSET", "h", "a", "4", "c", "5"],
        &["HSET", "h", "x"],
        &["HSET", "h", "x", "1", "y"],
        &["HSET", "h"],
        &["HMSET", "h", "d", "6", "e", "7"],
        &["HMSET", "h", "d"],
        &["HSETNX", "h", "a", "z"],
        &["HSETNX", "h", "f", "8"],
        &["HSETNX", "h", "f"],
        &["HGET", "h", "a"],
        &["HGET", "h", "nope"],
        &["HGET", "nokey", "a"],
        &["HGET", "h"],
        &["HMGET", "h", "a", "nope", "b", "a"],
        &["HMGET", "nokey", "a"],
        &["HMGET", "h"],
        &["HLEN", "h"],
        &["HLEN", "nokey"],
        &["HSTRLEN", "h", "a"],
        &["HSTRLEN", "h", "nope"],
        &["HSTRLEN", "nokey", "a"],
        &["HEXISTS", "h", "a"],
        &["HEXISTS", "h", "nope"],
        &["HEXISTS", "nokey", "a"],
        &["HKEYS", "h"],
        &["HVALS", "h"],
        &["HGETALL", "h"],
        &["HKEYS", "nokey"],
        &["HVALS", "nokey"],
        &["HGETALL", "nokey"],
        &["HDEL", "h", "a", "a", "nope"],
        &["HDEL", "h"],
        &["HDEL", "nokey", "a"],
        &["HDEL", "h", "b", "c", "d", "e", "f"],
        &["EXISTS", "h"],
        &["HLEN", "h"],
        &["TYPE", "h"],
        &["HSET", "h", "", ""],
        &["HGET", "h", ""],
        &["HSTRLEN", "h", ""],
        &["HGETALL", "h"],
        &["hset", "Mixed", "F", "v"],
        &["HGET", "Mixed", "f"],
        &["HGET", "Mixed", "F"],
    ]);
}

#[test]
fn differential_increments() {
    let d = Differ::start();
    d.check(&[
        &["HINCRBY", "h", "i", "10"],
        &["HINCRBY", "h", "i", "-25"],
        &["HINCRBY", "h", "i", "x"],
        &["HINCRBY", "h", "i", ""],
        &["HINCRBY", "h", "i", "9223372036854775808"],
        &[
            "HSET",
            "h",
            "max",
            "9223372036854775807",
            "min",
            "-9223372036854775808",
        ],
        &["HINCRBY", "h", "max", "1"],
        &["HINCRBY", "h", "min", "-1"],
        &["HINCRBY", "h", "max", "-1"],
        &[
            "HSET", "h", "s", "abc", "f", "1.5", "sp", " 1", "lead", "01", "neg0", "-0",
        ],
        &["HINCRBY", "h", "s", "1"],
        &["HINCRBY", "h", "f", "1"],
        &["HINCRBY", "h", "sp", "1"],
        &["HINCRBY", "h", "lead", "1"],
        &["HINCRBY", "h", "neg0", "1"],
        &["HINCRBYFLOAT", "h", "f", "0.1"],
        &["HINCRBYFLOAT", "h", "f", "-1.6"],
        &["HINCRBYFLOAT", "h", "new", "5.0e3"],
        &["HINCRBYFLOAT", "h", "new", "1.5e-3"],
        &["HINCRBYFLOAT", "h", "i", "0.25"],
        &["HINCRBYFLOAT", "h", "max", "1"],
        &["HINCRBYFLOAT", "h", "s", "1"],
        &["HINCRBYFLOAT", "h", "sp", "1"],
        &["HINCRBYFLOAT", "h", "lead", "1"],
        &["HINCRBYFLOAT", "h", "f", "abc"],
        &["HINCRBYFLOAT", "h", "f", "inf"],
        &["HINCRBYFLOAT", "h", "f", "-infinity"],
        &["HINCRBYFLOAT", "h", "f", "nan"],
        &["HINCRBYFLOAT", "h", "f", "1e5000"],
        &["HINCRBYFLOAT", "h", "f", ""],
        &["HSET", "h", "huge", "1e4932"],
        &["HINCRBYFLOAT", "h", "huge", "1e4932"],
        &["HSET", "h", "inf", "inf"],
        &["HINCRBYFLOAT", "h", "inf", "1"],
        &["HINCRBYFLOAT", "h", "p", "0.1"],
        &["HINCRBYFLOAT", "h", "p", "0.2"],
        &["HINCRBYFLOAT", "h", "q", "123456789012345678"],
        &["HINCRBYFLOAT", "h", "q", "0.5"],
        &["HGETALL", "h"],
        &["HINCRBY", "h"],
        &["HINCRBYFLOAT", "h", "f"],
    ]);
}

#[test]
fn differential_scan_and_random() {
    let d = Differ::start();
    d.check(&[
        &["HSCAN", "nokey", "0"],
        &["HSCAN", "nokey", "0", "COUNT", "0"],
        &["HSCAN", "nokey", "0", "BOGUS"],
        &["HSCAN", "nokey", "x"],
        &[
            "HSET", "h", "apple", "1", "avocado", "2", "banana", "3", "cherry", "4",
        ],
        &["HSCAN", "h", "0"],
        &["HSCAN", "h", "0", "COUNT", "1"],
        &["HSCAN", "h", "0", "MATCH", "a*"],
        &["HSCAN", "h", "0", "match", "*an*", "count", "2"],
        &["HSCAN", "h", "0", "MATCH", "*"],
        &["HSCAN", "h", "0", "MATCH", "zz*"],
        &["HSCAN", "h", "0", "COUNT", "0"],
        &["HSCAN", "h", "0", "COUNT", "-1"],
        &["HSCAN", "h", "0", "COUNT", "x"],
        &["HSCAN", "h", "0", "COUNT"],
        &["HSCAN", "h", "0", "MATCH"],
        &["HSCAN", "h", "0", "NOVALUES"],
        &["HSCAN", "h", "0", "TYPE", "hash"],
        &["HSCAN", "h", "abc"],
        &["HSCAN", "h", "-1"],
        &["HSCAN", "h"],
        &["HRANDFIELD", "nokey"],
        &["HRANDFIELD", "nokey", "2"],
        &["HRANDFIELD", "nokey", "-2", "WITHVALUES"],
        &["HRANDFIELD", "nokey", "x"],
        &["HRANDFIELD", "h", "0"],
        &["HRANDFIELD", "h", "0", "WITHVALUES"],
        &["HRANDFIELD", "h", "4"],
        &["HRANDFIELD", "h", "10"],
        &["HRANDFIELD", "h", "10", "WITHVALUES"],
        &["HRANDFIELD", "h", "x"],
        &["HRANDFIELD", "h", "1", "WITHVALUE"],
        &["HRANDFIELD", "h", "1", "WITHVALUES", "x"],
        &["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"],
        &["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"],
        &["HRANDFIELD", "h", "-9223372036854775808"],
        &["HRANDFIELD", "h", "-9223372036854775808", "WITHVALUES"],
        &["HSET", "one", "f", "v"],
        &["HRANDFIELD", "one"],
        &["HRANDFIELD", "one", "-3"],
        &["HRANDFIELD", "one", "-3", "WITHVALUES"],
        &["HRANDFIELD", "one", "1", "WITHVALUES"],
    ]);
}

#[test]
fn differential_types_and_key_commands() {
    let d = Differ::start();
    d.check(&[
        &["SET", "s", "v"],
        &["HSET", "h", "a", "1", "b", "2"],
        &["HSET", "s", "a", "1"],
        &["HMSET", "s", "a", "1"],
        &["HSETNX", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a"],
        &["HDEL", "s", "a"],
        &["HLEN", "s"],
        &["HSTRLEN", "s", "a"],
        &["HEXISTS", "s", "a"],
        &["HGETALL", "s"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HINCRBY", "s", "a", "1"],
        &["HINCRBY", "s", "a", "x"],
        &["HINCRBYFLOAT", "s", "a", "1"],
        &["HINCRBYFLOAT", "s", "a", "x"],
        &["HSCAN", "s", "0"],
        &["HSCAN", "s", "0", "COUNT", "0"],
        &["HSCAN", "s", "x"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "1"],
        &["HRANDFIELD", "s", "x"],
        &["GET", "h"],
        &["MGET", "h", "s"],
        &["APPEND", "h", "x"],
        &["INCR", "h"],
        &["INCRBYFLOAT", "h", "1"],
        &["STRLEN", "h"],
        &["GETRANGE", "h", "0", "-1"],
        &["SETRANGE", "h", "0", "x"],
        &["GETDEL", "h"],
        &["GETEX", "h", "PERSIST"],
        &["SET", "h", "x", "GET"],
        &["SETNX", "h", "x"],
        &["LCS", "h", "s"],
        &["TYPE", "h"],
        &["SCAN", "0", "TYPE", "hash"],
        &["SCAN", "0", "TYPE", "string"],
        &["EXISTS", "h", "s", "h"],
        &["RENAME", "h", "h2"],
        &["HGETALL", "h2"],
        &["RENAMENX", "h2", "s"],
        &["COPY", "h2", "h3"],
        &["HSET", "h3", "c", "3"],
        &["HLEN", "h2"],
        &["HGETALL", "h3"],
        &["COPY", "h3", "h2", "REPLACE"],
        &["HGETALL", "h2"],
        &["MOVE", "h2", "2"],
        &["SELECT", "2"],
        &["HGETALL", "h2"],
        &["SELECT", "0"],
        &["EXPIRE", "h3", "100"],
        &["HSET", "h3", "d", "4"],
        &["TTL", "h3"],
        &["PERSIST", "h3"],
        &["TTL", "h3"],
        &["DEL", "h3", "s"],
        &["HGETALL", "h3"],
        &["SET", "h", "string now"],
        &["GET", "h"],
        &["HSET", "h", "a", "1"],
        &["DBSIZE"],
    ]);
}

#[test]
fn differential_reply_shapes() {
    // Differ::check runs this in RESP2 and RESP3: every reply form hashes produce (map,
    // nil, nil inside arrays, pairs of pairs, float results as bulk text).
    let d = Differ::start();
    d.check(&[
        &["HSET", "h", "f", "v"],
        &["HGETALL", "h"],
        &["HGETALL", "none"],
        &["HMGET", "h", "f", "g"],
        &["HRANDFIELD", "h", "1", "WITHVALUES"],
        &["HRANDFIELD", "h", "-2", "WITHVALUES"],
        &["HRANDFIELD", "h", "-2"],
        &["HRANDFIELD", "none"],
        &["HINCRBYFLOAT", "h", "n", "2.5"],
        &["HSCAN", "h", "0"],
    ]);
}

/// A hash of up to 512 fields (redis-server 7.0.15's `hash-max-listpack-entries`) comes back
/// whole from one `HSCAN` with cursor 0, whatever the COUNT, as Redis's listpack does; one of
/// 513 pages (cursor not 0).
#[test]
fn hscan_returns_a_hash_of_512_fields_whole() {
    let cluster = tandem_tests::TestCluster::start();
    let c = &mut cluster.client();
    for n in [200usize, 512, 513] {
        let key = format!("h{n}");
        let mut cmd = redis::cmd("HSET");
        cmd.arg(&key);
        for i in 0..n {
            cmd.arg(format!("f{i}")).arg("v");
        }
        cmd.query::<i64>(c).expect("HSET");
        let (cursor, items): (String, Vec<String>) = redis::cmd("HSCAN")
            .arg(&key)
            .arg(0)
            .arg("COUNT")
            .arg(10)
            .query(c)
            .expect("HSCAN");
        if n <= 512 {
            assert_eq!((cursor.as_str(), items.len()), ("0", 2 * n), "{n} fields");
        } else {
            assert!(cursor != "0" && items.len() < 2 * n, "{n} fields: one page");
        }
    }
}
