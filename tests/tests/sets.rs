//! Set commands end to end: every command and error case, RESP3 reply shapes (sets vs
//! arrays), key commands on set keys, paging and sampling on a set too big for one reply,
//! and differential scripts that run the same commands on tandem and a real redis-server
//! in RESP2 and RESP3.
//!
//! Redis returns small sets in its own hash order and tandem in byte order, so set
//! replies are compared as unordered here and in the differential harness; replies that
//! are random (`SPOP`, `SRANDMEMBER` on part of a set) are checked for their properties.

use std::collections::BTreeSet;

use redis::Connection;
use tandem_tests::{
    err, expect, int, nil, ok, run_command, simple, Differ, Protocol, TestCluster, Value,
};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

/// The members of a set-or-array reply, checking the RESP3 shape when asked.
fn members_of(v: Value, want_set: Option<bool>) -> Vec<String> {
    match v {
        Value::Set(items) => {
            assert_ne!(
                want_set,
                Some(false),
                "got a set where an array was expected"
            );
            items.iter().map(text).collect()
        }
        Value::Array(items) => {
            assert_ne!(
                want_set,
                Some(true),
                "got an array where a set was expected"
            );
            items.iter().map(text).collect()
        }
        other => panic!("expected a collection, got {other:?}"),
    }
}

fn smembers(c: &mut Connection, key: &str) -> BTreeSet<String> {
    let v = run_command(c, &["SMEMBERS", key]).expect("SMEMBERS");
    members_of(v, None).into_iter().collect()
}

fn strs(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn add_remove_and_membership() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    expect(c, &["SADD", "s", "a", "b", "a", "c"], int(3));
    expect(c, &["SADD", "s", "c", "d"], int(1));
    expect(c, &["SCARD", "s"], int(4));
    expect(c, &["SCARD", "missing"], int(0));
    assert_eq!(smembers(c, "s"), strs(&["a", "b", "c", "d"]));
    expect(c, &["SISMEMBER", "s", "a"], int(1));
    expect(c, &["SISMEMBER", "s", "z"], int(0));
    expect(c, &["SISMEMBER", "missing", "a"], int(0));
    expect(
        c,
        &["SMISMEMBER", "s", "a", "z", "d"],
        Ok(Value::Array(vec![
            Value::Int(1),
            Value::Int(0),
            Value::Int(1),
        ])),
    );
    expect(
        c,
        &["SMISMEMBER", "missing", "a"],
        Ok(Value::Array(vec![Value::Int(0)])),
    );
    expect(c, &["SREM", "s", "a", "a", "z"], int(1));
    expect(c, &["SREM", "missing", "a"], int(0));
    expect(c, &["SREM", "s", "b", "c", "d"], int(3));
    expect(c, &["EXISTS", "s"], int(0));
    expect(c, &["TYPE", "s"], simple("none"));
    expect(c, &["SADD", "bin", "a\0b", "", "\r\n"], int(3));
    assert_eq!(smembers(c, "bin"), strs(&["a\0b", "", "\r\n"]));
    expect(c, &["SISMEMBER", "bin", ""], int(1));
    for (args, name) in [
        (&["SADD", "s"][..], "sadd"),
        (&["SREM", "s"], "srem"),
        (&["SCARD"], "scard"),
        (&["SISMEMBER", "s"], "sismember"),
        (&["SMISMEMBER", "s"], "smismember"),
        (&["SMEMBERS"], "smembers"),
        (&["SPOP"], "spop"),
        (&["SRANDMEMBER"], "srandmember"),
        (&["SMOVE", "a", "b"], "smove"),
        (&["SINTER"], "sinter"),
        (&["SINTERCARD", "1"], "sintercard"),
        (&["SINTERSTORE", "d"], "sinterstore"),
        (&["SUNION"], "sunion"),
        (&["SUNIONSTORE", "d"], "sunionstore"),
        (&["SDIFF"], "sdiff"),
        (&["SDIFFSTORE", "d"], "sdiffstore"),
        (&["SSCAN", "s"], "sscan"),
    ] {
        expect(
            c,
            args,
            err(&format!(
                "ERR wrong number of arguments for '{name}' command"
            )),
        );
    }
}

#[test]
fn wrong_type_errors() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    expect(c, &["SET", "str", "x"], ok());
    expect(c, &["SADD", "s", "a"], int(1));
    for args in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SCARD", "str"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SMEMBERS", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "0"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "0"],
        &["SMOVE", "str", "s", "a"],
        &["SMOVE", "s", "str", "zz"],
        &["SINTER", "missing", "str"],
        &["SINTERCARD", "2", "missing", "str"],
        &["SINTERSTORE", "d", "s", "str"],
        &["SUNION", "s", "str"],
        &["SUNIONSTORE", "d", "str"],
        &["SDIFF", "missing", "str"],
        &["SDIFFSTORE", "d", "s", "str"],
        &["SSCAN", "str", "0"],
        &["SSCAN", "str", "0", "BADOPTION"],
        &["GET", "s"],
    ] {
        expect(c, args, err(WRONGTYPE));
    }
    // A missing source answers 0 before the destination's type is checked.
    expect(c, &["SMOVE", "missing", "str", "a"], int(0));
    expect(c, &["GET", "str"], tandem_tests::bulk("x"));
}

#[test]
fn resp3_reply_shapes() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client_with(Protocol::Resp3);
    expect(c, &["SADD", "s", "a", "b", "c"], int(3));
    expect(c, &["SADD", "t", "c", "d"], int(2));
    for args in [
        &["SMEMBERS", "s"][..],
        &["SINTER", "s", "t"],
        &["SUNION", "s", "t"],
        &["SDIFF", "s", "t"],
        &["SMEMBERS", "missing"],
        &["SPOP", "missing", "2"],
    ] {
        let v = run_command(c, args).expect("set reply");
        members_of(v, Some(true));
    }
    for args in [
        &["SRANDMEMBER", "s", "2"][..],
        &["SRANDMEMBER", "s", "-5"],
        &["SRANDMEMBER", "missing", "3"],
    ] {
        let v = run_command(c, args).expect("array reply");
        members_of(v, Some(false));
    }
    let popped = members_of(
        run_command(c, &["SPOP", "t", "1"]).expect("SPOP"),
        Some(true),
    );
    assert_eq!(popped.len(), 1);
    expect(c, &["SRANDMEMBER", "missing"], nil());
    expect(c, &["SPOP", "missing"], nil());
    expect(
        c,
        &["SMISMEMBER", "s", "a", "x"],
        Ok(Value::Array(vec![Value::Int(1), Value::Int(0)])),
    );
}

#[test]
fn spop_and_srandmember_properties() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    let all: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "s"];
    args.extend(all.iter().map(String::as_str));
    expect(c, &args, int(30));
    let universe: BTreeSet<String> = all.iter().cloned().collect();
    for _ in 0..10 {
        let Ok(Value::BulkString(m)) = run_command(c, &["SRANDMEMBER", "s"]) else {
            panic!("SRANDMEMBER")
        };
        assert!(universe.contains(&String::from_utf8_lossy(&m).into_owned()));
    }
    let distinct = members_of(run_command(c, &["SRANDMEMBER", "s", "7"]).unwrap(), None);
    assert_eq!(distinct.len(), 7);
    assert_eq!(distinct.iter().collect::<BTreeSet<_>>().len(), 7);
    assert!(distinct.iter().all(|m| universe.contains(m)));
    let repeats = members_of(run_command(c, &["SRANDMEMBER", "s", "-100"]).unwrap(), None);
    assert_eq!(repeats.len(), 100);
    assert!(repeats.iter().all(|m| universe.contains(m)));
    let whole = members_of(run_command(c, &["SRANDMEMBER", "s", "1000"]).unwrap(), None);
    assert_eq!(whole.into_iter().collect::<BTreeSet<_>>(), universe);
    expect(c, &["SCARD", "s"], int(30));

    let mut left = universe.clone();
    let popped = members_of(run_command(c, &["SPOP", "s", "5"]).unwrap(), None);
    assert_eq!(popped.len(), 5);
    for m in &popped {
        assert!(left.remove(m), "{m} popped twice or not a member");
    }
    let Ok(Value::BulkString(one)) = run_command(c, &["SPOP", "s"]) else {
        panic!("SPOP")
    };
    assert!(left.remove(&String::from_utf8_lossy(&one).into_owned()));
    expect(c, &["SCARD", "s"], int(left.len() as i64));
    assert_eq!(smembers(c, "s"), left);
    let rest = members_of(run_command(c, &["SPOP", "s", "100"]).unwrap(), None);
    assert_eq!(rest.into_iter().collect::<BTreeSet<_>>(), left);
    expect(c, &["EXISTS", "s"], int(0));
    expect(
        c,
        &["SRANDMEMBER", "s", "-9223372036854775808"],
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
    );
}

#[test]
fn smove_and_store_commands() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    expect(c, &["SADD", "a", "1", "2", "3", "4"], int(4));
    expect(c, &["SADD", "b", "3", "4", "5"], int(3));
    expect(c, &["SMOVE", "a", "a", "1"], int(1));
    expect(c, &["SMOVE", "a", "a", "9"], int(0));
    expect(c, &["SMOVE", "a", "new", "9"], int(0));
    expect(c, &["EXISTS", "new"], int(0));
    expect(c, &["SMOVE", "a", "new", "1"], int(1));
    assert_eq!(smembers(c, "new"), strs(&["1"]));
    assert_eq!(smembers(c, "a"), strs(&["2", "3", "4"]));
    // STORE replaces a destination of any type, TTL included.
    expect(c, &["SET", "dst", "x", "EX", "100"], ok());
    expect(c, &["SINTERSTORE", "dst", "a", "b"], int(2));
    expect(c, &["TYPE", "dst"], simple("set"));
    expect(c, &["TTL", "dst"], int(-1));
    assert_eq!(smembers(c, "dst"), strs(&["3", "4"]));
    expect(c, &["SUNIONSTORE", "dst", "dst", "new"], int(3));
    assert_eq!(smembers(c, "dst"), strs(&["1", "3", "4"]));
    expect(c, &["SDIFFSTORE", "dst", "dst", "a", "new"], int(0));
    expect(c, &["EXISTS", "dst"], int(0));
    expect(c, &["SINTERCARD", "2", "a", "b", "LIMIT", "1"], int(1));
    expect(c, &["SINTERCARD", "2", "a", "b"], int(2));
}

#[test]
fn key_commands_on_sets() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    expect(c, &["SADD", "s", "a", "b", "c"], int(3));
    expect(c, &["SET", "str", "x"], ok());
    expect(c, &["TYPE", "s"], simple("set"));
    expect(
        c,
        &["SCAN", "0", "TYPE", "set"],
        Ok(Value::Array(vec![
            Value::BulkString(b"0".to_vec()),
            Value::Array(vec![Value::BulkString(b"s".to_vec())]),
        ])),
    );
    expect(c, &["RENAME", "s", "t"], ok());
    assert_eq!(smembers(c, "t"), strs(&["a", "b", "c"]));
    expect(c, &["COPY", "t", "u"], int(1));
    expect(c, &["SADD", "u", "d"], int(1));
    expect(c, &["SCARD", "t"], int(3));
    expect(c, &["MOVE", "u", "2"], int(1));
    expect(c, &["EXISTS", "u"], int(0));
    expect(c, &["SELECT", "2"], ok());
    expect(c, &["SCARD", "u"], int(4));
    expect(c, &["SELECT", "0"], ok());
    expect(c, &["PEXPIRE", "t", "50"], int(1));
    tandem_tests::wait_for(
        "the set to expire",
        std::time::Duration::from_secs(10),
        || (run_command(c, &["EXISTS", "t"]) == int(0)).then_some(()),
    );
    expect(c, &["SCARD", "t"], int(0));
    expect(c, &["SADD", "t", "fresh"], int(1));
    assert_eq!(smembers(c, "t"), strs(&["fresh"]));
    expect(c, &["DEL", "t", "str"], int(2));
    expect(c, &["DBSIZE"], int(0));
}

#[test]
fn large_set_pages_and_samples() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    let all: Vec<String> = (0..2500).map(|i| format!("member:{i:05}")).collect();
    for chunk in all.chunks(500) {
        let mut args = vec!["SADD", "big"];
        args.extend(chunk.iter().map(String::as_str));
        expect(c, &args, int(500));
    }
    expect(c, &["SCARD", "big"], int(2500));
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    let mut calls = 0;
    loop {
        let Ok(Value::Array(parts)) = run_command(c, &["SSCAN", "big", &cursor, "COUNT", "100"])
        else {
            panic!("SSCAN")
        };
        cursor = text(&parts[0]);
        for m in members_of(parts[1].clone(), Some(false)) {
            assert!(seen.insert(m), "SSCAN returned a member twice");
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 2500);
    assert!(calls >= 25, "{calls} calls");
    let Ok(Value::Array(parts)) = run_command(
        c,
        &[
            "SSCAN",
            "big",
            "0",
            "MATCH",
            "member:0001?",
            "COUNT",
            "5000",
        ],
    ) else {
        panic!("SSCAN MATCH")
    };
    assert_eq!(members_of(parts[1].clone(), None).len(), 10);
    let sample = members_of(run_command(c, &["SRANDMEMBER", "big", "50"]).unwrap(), None);
    assert_eq!(sample.iter().collect::<BTreeSet<_>>().len(), 50);
    let popped = members_of(run_command(c, &["SPOP", "big", "100"]).unwrap(), None);
    assert_eq!(popped.iter().collect::<BTreeSet<_>>().len(), 100);
    expect(c, &["SCARD", "big"], int(2400));
    expect(
        c,
        &["SMISMEMBER", "big", &popped[0]],
        Ok(Value::Array(vec![Value::Int(0)])),
    );
}

// ---------------------------------------------------------------------------------------
// Differential scripts
// ---------------------------------------------------------------------------------------

#[test]
fn differential_basic_commands() {
    let d = Differ::start();
    d.check(&[
        &["SADD", "s", "a", "b", "c", "a"],
        &["SADD", "s", "c", "d"],
        &["SCARD", "s"],
        &["SMEMBERS", "s"],
        &["SISMEMBER", "s", "a"],
        &["SISMEMBER", "s", "zz"],
        &["SMISMEMBER", "s", "a", "zz", "d"],
        &["SMISMEMBER", "missing", "a"],
        &["SREM", "s", "a", "zz", "a"],
        &["SMEMBERS", "s"],
        &["SMEMBERS", "missing"],
        &["SCARD", "missing"],
        &["SREM", "missing", "a"],
        &["SADD", "nums", "1", "2", "3", "10", "-5"],
        &["SMEMBERS", "nums"],
        &["SREM", "s", "b", "c", "d"],
        &["EXISTS", "s"],
        &["TYPE", "nums"],
        &["SADD", "S", "x"],
        &["sadd", "lower", "x"],
        &["SmEmBeRs", "lower"],
        &["SADD", "s"],
        &["SREM", "s"],
        &["SCARD"],
        &["SCARD", "a", "b"],
        &["SISMEMBER", "s"],
        &["SMEMBERS", "a", "b"],
    ]);
}

#[test]
fn differential_random_commands_deterministic_cases() {
    let d = Differ::start();
    d.check(&[
        &["SADD", "s", "a", "b", "c"],
        &["SADD", "one", "only"],
        &["SRANDMEMBER", "one"],
        &["SRANDMEMBER", "one", "3"],
        &["SRANDMEMBER", "one", "-3"],
        &["SRANDMEMBER", "s", "3"],
        &["SRANDMEMBER", "s", "100"],
        &["SRANDMEMBER", "s", "0"],
        &["SRANDMEMBER", "missing"],
        &["SRANDMEMBER", "missing", "5"],
        &["SRANDMEMBER", "missing", "-5"],
        &["SRANDMEMBER", "s", "abc"],
        &["SRANDMEMBER", "s", "-0"],
        &["SRANDMEMBER", "s", "1.5"],
        &["SRANDMEMBER", "s", "1", "2"],
        &["SRANDMEMBER", "s", "-9223372036854775808"],
        &["SPOP", "missing"],
        &["SPOP", "missing", "2"],
        &["SPOP", "missing", "0"],
        &["SPOP", "s", "0"],
        &["SPOP", "s", "-1"],
        &["SPOP", "s", "abc"],
        &["SPOP", "missing", "-1"],
        &["SPOP", "s", "1", "2"],
        &["SCARD", "s"],
        &["SPOP", "one"],
        &["EXISTS", "one"],
        &["SPOP", "s", "3"],
        &["EXISTS", "s"],
        &["SADD", "s", "x", "y"],
        &["SPOP", "s", "10"],
        &["SCARD", "s"],
    ]);
}

#[test]
fn differential_smove() {
    let d = Differ::start();
    d.check(&[
        &["SADD", "a", "1", "2"],
        &["SADD", "b", "2", "3"],
        &["SET", "str", "x"],
        &["SMOVE", "a", "b", "1"],
        &["SMEMBERS", "a"],
        &["SMEMBERS", "b"],
        &["SMOVE", "a", "b", "2"],
        &["EXISTS", "a"],
        &["SCARD", "b"],
        &["SMOVE", "a", "b", "2"],
        &["SMOVE", "b", "b", "2"],
        &["SMOVE", "b", "b", "zz"],
        &["SMOVE", "b", "c", "zz"],
        &["EXISTS", "c"],
        &["SMOVE", "b", "c", "3"],
        &["SMEMBERS", "c"],
        &["SMOVE", "b", "str", "1"],
        &["SMOVE", "b", "str", "zz"],
        &["SMOVE", "str", "b", "x"],
        &["SMOVE", "missing", "str", "x"],
        &["SMOVE", "missing", "b", "x"],
        &["SMOVE", "a", "b"],
        &["SMOVE", "a", "b", "c", "d"],
    ]);
}

#[test]
fn differential_algebra() {
    let d = Differ::start();
    d.check(&[
        &["SADD", "a", "1", "2", "3", "4", "x"],
        &["SADD", "b", "3", "4", "5", "x"],
        &["SADD", "c", "4", "6", "x"],
        &["SET", "str", "v"],
        &["SINTER", "a", "b"],
        &["SINTER", "a", "b", "c"],
        &["SINTER", "a"],
        &["SINTER", "a", "missing"],
        &["SINTER", "missing", "a"],
        &["SINTER", "a", "a"],
        &["SINTER", "missing", "str"],
        &["SINTER", "a", "str"],
        &["SUNION", "a", "b", "c"],
        &["SUNION", "missing"],
        &["SUNION", "a", "missing"],
        &["SUNION", "missing", "str"],
        &["SDIFF", "a", "b"],
        &["SDIFF", "a", "b", "c"],
        &["SDIFF", "a", "missing", "c"],
        &["SDIFF", "missing", "a"],
        &["SDIFF", "a", "a"],
        &["SDIFF", "a"],
        &["SDIFF", "missing", "str"],
        &["SDIFF", "a", "str"],
        &["SINTERCARD", "2", "a", "b"],
        &["SINTERCARD", "3", "a", "b", "c"],
        &["SINTERCARD", "1", "a"],
        &["SINTERCARD", "2", "a", "missing"],
        &["SINTERCARD", "2", "a", "b", "LIMIT", "1"],
        &["SINTERCARD", "2", "a", "b", "LIMIT", "0"],
        &["SINTERCARD", "2", "a", "b", "LIMIT", "100"],
        &["SINTERCARD", "1", "a", "limit", "2", "LIMIT", "3"],
        &["SINTERCARD", "2", "a", "str"],
        &["SINTERCARD", "0", "a"],
        &["SINTERCARD", "-1", "a"],
        &["SINTERCARD", "abc", "a"],
        &["SINTERCARD", "3", "a", "b"],
        &["SINTERCARD", "2147483648", "a"],
        &["SINTERCARD", "1", "a", "LIMIT", "-1"],
        &["SINTERCARD", "1", "a", "LIMIT", "abc"],
        &["SINTERCARD", "1", "missing", "LIMIT", "-1"],
        &["SINTERCARD", "1", "a", "LIMIT"],
        &["SINTERCARD", "1", "a", "b"],
        &["SINTERCARD", "1", "a", "FOO", "1"],
        &["SINTERCARD", "2", "a", "LIMIT"],
    ]);
}

#[test]
fn differential_store() {
    let d = Differ::start();
    d.check(&[
        &["SADD", "a", "1", "2", "3", "4"],
        &["SADD", "b", "3", "4", "5"],
        &["SET", "str", "v"],
        &["SET", "dst", "old", "EX", "1000"],
        &["SINTERSTORE", "dst", "a", "b"],
        &["TYPE", "dst"],
        &["TTL", "dst"],
        &["SMEMBERS", "dst"],
        &["SUNIONSTORE", "dst", "a", "b"],
        &["SMEMBERS", "dst"],
        &["SDIFFSTORE", "dst", "a", "b"],
        &["SMEMBERS", "dst"],
        &["SINTERSTORE", "dst", "dst", "a"],
        &["SMEMBERS", "dst"],
        &["SINTERSTORE", "dst", "a", "missing"],
        &["EXISTS", "dst"],
        &["SUNIONSTORE", "dst", "missing"],
        &["EXISTS", "dst"],
        &["SDIFFSTORE", "dst", "a", "a"],
        &["EXISTS", "dst"],
        &["SUNIONSTORE", "u", "a"],
        &["SDIFFSTORE", "u", "missing", "a"],
        &["EXISTS", "u"],
        &["SUNIONSTORE", "a", "a", "b"],
        &["SCARD", "a"],
        &["SINTERSTORE", "dst", "a", "str"],
        &["SUNIONSTORE", "dst", "str"],
        &["SDIFFSTORE", "dst", "missing", "str"],
        &["SINTERSTORE", "str", "a", "b"],
        &["TYPE", "str"],
        &["SMEMBERS", "str"],
        &["EXPIRE", "a", "1000"],
        &["SUNIONSTORE", "a", "a"],
        &["TTL", "a"],
        &["DBSIZE"],
    ]);
}

#[test]
fn differential_sscan_and_key_commands() {
    let d = Differ::start();
    d.check(&[
        &["SADD", "s", "apple", "banana", "cherry", "avocado"],
        &["SET", "str", "v"],
        &["SSCAN", "s", "0"],
        &["SSCAN", "s", "0", "MATCH", "a*"],
        &[
            "SSCAN", "s", "0", "match", "a*", "COUNT", "100", "MATCH", "b*",
        ],
        &["SSCAN", "s", "0", "MATCH", "*"],
        &["SSCAN", "s", "0", "COUNT", "0"],
        &["SSCAN", "s", "0", "COUNT", "-1"],
        &["SSCAN", "s", "0", "COUNT", "abc"],
        &["SSCAN", "s", "0", "COUNT", "abc", "FOO"],
        &["SSCAN", "s", "0", "MATCH"],
        &["SSCAN", "s", "0", "FOO"],
        &["SSCAN", "s", "0", "TYPE", "set"],
        &["SSCAN", "s", "abc"],
        &["SSCAN", "s", "18446744073709551616"],
        &["SSCAN", "missing", "0"],
        &["SSCAN", "missing", "0", "FOO"],
        &["SSCAN", "missing", "abc"],
        &["SSCAN", "str", "0"],
        &["SSCAN", "str", "0", "FOO"],
        &["SSCAN", "str", "abc"],
        &["TYPE", "s"],
        &["SCAN", "0", "TYPE", "set"],
        &["RENAME", "s", "t"],
        &["SMEMBERS", "t"],
        &["COPY", "t", "u"],
        &["SREM", "u", "apple"],
        &["SCARD", "t"],
        &["SCARD", "u"],
        &["MOVE", "u", "3"],
        &["EXISTS", "u"],
        &["EXPIRE", "t", "100"],
        &["TTL", "t"],
        &["PERSIST", "t"],
        &["DEL", "t"],
        &["SMEMBERS", "t"],
        &["DBSIZE"],
    ]);
}
