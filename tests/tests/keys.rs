//! Key-space commands end to end: expiry options, renames, COPY/MOVE across databases,
//! full SCAN iterations, KEYS patterns, FLUSHDB/FLUSHALL and the isolation of the 16
//! databases. Expectations are written out (checked against Redis 7).

use std::collections::BTreeSet;

use redis::Connection;
use tandem_tests::{
    bulk, bulks, err, expect, int, nil, ok, run_command, simple, TestCluster, Value,
};

const FAR: &str = "4102444800";

#[test]
fn del_exists_type_touch_unlink() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    expect(c, &["MSET", "a", "1", "b", "2", "c", "3"], ok());
    expect(c, &["EXISTS", "a", "a", "missing", "b"], int(3));
    expect(c, &["TYPE", "a"], simple("string"));
    expect(c, &["TYPE", "missing"], simple("none"));
    expect(c, &["TOUCH", "a", "b", "missing"], int(2));
    expect(c, &["DEL", "a", "missing", "a"], int(1));
    expect(c, &["UNLINK", "b", "c", "missing"], int(2));
    expect(c, &["DBSIZE"], int(0));
    expect(
        c,
        &["DEL"],
        err("ERR wrong number of arguments for 'del' command"),
    );
}

#[test]
fn expire_conditions_and_ttl() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    expect(c, &["SET", "k", "v"], ok());
    expect(c, &["TTL", "k"], int(-1));
    expect(c, &["PTTL", "k"], int(-1));
    expect(c, &["EXPIRETIME", "k"], int(-1));
    expect(c, &["TTL", "missing"], int(-2));
    expect(c, &["PEXPIRETIME", "missing"], int(-2));
    expect(c, &["EXPIRE", "missing", "10"], int(0));
    // XX and GT need an existing expiry (no expiry counts as infinite for GT/LT).
    expect(c, &["EXPIRE", "k", "100", "XX"], int(0));
    expect(c, &["EXPIRE", "k", "100", "GT"], int(0));
    expect(c, &["EXPIRE", "k", "100", "LT"], int(1));
    expect(c, &["EXPIRE", "k", "200", "NX"], int(0));
    expect(c, &["EXPIRE", "k", "200", "XX"], int(1));
    expect(c, &["EXPIRE", "k", "100", "GT"], int(0));
    expect(c, &["EXPIRE", "k", "300", "GT"], int(1));
    expect(c, &["EXPIRE", "k", "400", "LT"], int(0));
    expect(c, &["PEXPIRE", "k", "250000", "LT"], int(1));
    let pttl = pttl(c, "k");
    assert!(
        (240_000..=250_000).contains(&pttl),
        "PTTL after PEXPIRE 250000: {pttl}"
    );
    expect(c, &["EXPIREAT", "k", FAR], int(1));
    expect(c, &["EXPIRETIME", "k"], int(4_102_444_800));
    expect(c, &["PEXPIRETIME", "k"], int(4_102_444_800_000));
    expect(c, &["PEXPIREAT", "k", "4102444800500", "GT"], int(1));
    expect(c, &["PEXPIRETIME", "k"], int(4_102_444_800_500));
    // EXPIRETIME rounds to the nearest second, as TTL does.
    expect(c, &["EXPIRETIME", "k"], int(4_102_444_801));
    expect(c, &["PERSIST", "k"], int(1));
    expect(c, &["PERSIST", "k"], int(0));
    expect(c, &["TTL", "k"], int(-1));
    expect(
        c,
        &["EXPIRE", "k", "10", "NX", "XX"],
        err("ERR NX and XX, GT or LT options at the same time are not compatible"),
    );
    expect(
        c,
        &["EXPIRE", "k", "10", "GT", "LT"],
        err("ERR GT and LT options at the same time are not compatible"),
    );
    expect(
        c,
        &["EXPIRE", "k", "10", "FOO"],
        err("ERR Unsupported option FOO"),
    );
    expect(
        c,
        &["EXPIRE", "k", "x"],
        err("ERR value is not an integer or out of range"),
    );
    expect(
        c,
        &["EXPIRE", "k", "9223372036854775807"],
        err("ERR invalid expire time in 'expire' command"),
    );
    // A time in the past deletes the key at once.
    expect(c, &["EXPIRE", "k", "-1"], int(1));
    expect(c, &["EXISTS", "k"], int(0));
    expect(c, &["SET", "k", "v"], ok());
    expect(c, &["PEXPIREAT", "k", "1"], int(1));
    expect(c, &["GET", "k"], nil());
}

#[test]
fn rename_and_renamenx() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    expect(c, &["SET", "a", "1"], ok());
    expect(c, &["EXPIREAT", "a", FAR], int(1));
    expect(c, &["RENAME", "a", "b"], ok());
    expect(c, &["EXISTS", "a"], int(0));
    expect(c, &["GET", "b"], bulk("1"));
    expect(c, &["EXPIRETIME", "b"], int(4_102_444_800));
    expect(c, &["RENAME", "missing", "x"], err("ERR no such key"));
    expect(c, &["RENAMENX", "missing", "x"], err("ERR no such key"));
    expect(c, &["SET", "c", "3"], ok());
    expect(c, &["RENAMENX", "b", "c"], int(0));
    expect(c, &["RENAME", "b", "c"], ok());
    expect(c, &["GET", "c"], bulk("1"));
    expect(c, &["EXPIRETIME", "c"], int(4_102_444_800));
    expect(c, &["RENAME", "c", "c"], ok());
    expect(c, &["RENAMENX", "c", "c"], int(0));
    expect(c, &["DBSIZE"], int(1));
}

#[test]
fn copy_and_move_across_dbs() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    expect(c, &["SET", "src", "v"], ok());
    expect(c, &["EXPIREAT", "src", FAR], int(1));
    expect(c, &["COPY", "src", "dst"], int(1));
    expect(c, &["EXPIRETIME", "dst"], int(4_102_444_800));
    expect(c, &["COPY", "src", "dst"], int(0));
    expect(c, &["SET", "src", "v2"], ok());
    expect(c, &["COPY", "src", "dst", "REPLACE"], int(1));
    expect(c, &["GET", "dst"], bulk("v2"));
    expect(c, &["TTL", "dst"], int(-1));
    expect(
        c,
        &["COPY", "src", "src"],
        err("ERR source and destination objects are the same"),
    );
    expect(
        c,
        &["COPY", "src", "x", "DB", "16"],
        err("ERR DB index is out of range"),
    );
    expect(c, &["COPY", "src", "far", "DB", "7"], int(1));
    expect(c, &["MOVE", "src", "9"], int(1));
    expect(c, &["MOVE", "src", "9"], int(0));
    expect(c, &["SET", "src", "back"], ok());
    expect(c, &["MOVE", "src", "9"], int(0));
    expect(
        c,
        &["MOVE", "src", "0"],
        err("ERR source and destination objects are the same"),
    );
    expect(
        c,
        &["MOVE", "src", "16"],
        err("ERR DB index is out of range"),
    );
    expect(c, &["SELECT", "7"], ok());
    expect(c, &["GET", "far"], bulk("v2"));
    expect(c, &["DBSIZE"], int(1));
    expect(c, &["SELECT", "9"], ok());
    expect(c, &["GET", "src"], bulk("v2"));
    expect(c, &["SELECT", "0"], ok());
    expect(c, &["GET", "src"], bulk("back"));
}

#[test]
fn sixteen_databases_are_isolated() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    for db in 0..16 {
        expect(c, &["SELECT", &db.to_string()], ok());
        for i in 0..=db {
            expect(c, &["SET", &format!("k{i}"), &format!("db{db}")], ok());
        }
    }
    for db in 0..16 {
        expect(c, &["SELECT", &db.to_string()], ok());
        expect(c, &["DBSIZE"], int(db + 1));
        expect(c, &["GET", "k0"], bulk(format!("db{db}")));
        expect(c, &["EXISTS", &format!("k{}", db + 1)], int(0));
    }
    expect(c, &["SELECT", "16"], err("ERR DB index is out of range"));
    // Another connection starts in db 0 whatever this one selected.
    let other = &mut cluster.client();
    expect(other, &["DBSIZE"], int(1));
    expect(c, &["SELECT", "3"], ok());
    expect(c, &["FLUSHDB"], ok());
    expect(c, &["DBSIZE"], int(0));
    expect(c, &["SELECT", "4"], ok());
    expect(c, &["DBSIZE"], int(5));
    expect(c, &["FLUSHDB", "ASYNC"], ok());
    expect(c, &["DBSIZE"], int(0));
    expect(other, &["DBSIZE"], int(1));
    expect(c, &["FLUSHALL", "SYNC"], ok());
    for db in 0..16 {
        expect(c, &["SELECT", &db.to_string()], ok());
        expect(c, &["DBSIZE"], int(0));
    }
    expect(c, &["SET", "x", "1"], ok());
    expect(c, &["FLUSHALL", "ASYNC"], ok());
    expect(c, &["DBSIZE"], int(0));
    expect(c, &["FLUSHALL"], ok());
}

#[test]
fn keys_patterns() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    let names = [
        "hello", "hallo", "hxllo", "hllo", "heeeello", "a*b", "a?b", "[x]", "user:1", "user:2",
        "user:10",
    ];
    for name in names {
        expect(c, &["SET", name, "1"], ok());
    }
    let cases: &[(&str, &[&str])] = &[
        ("*", &names),
        ("h?llo", &["hello", "hallo", "hxllo"]),
        ("h*llo", &["hello", "hallo", "hxllo", "hllo", "heeeello"]),
        ("h[ae]llo", &["hello", "hallo"]),
        ("h[^e]llo", &["hallo", "hxllo"]),
        ("h[a-b]llo", &["hallo"]),
        ("a\\*b", &["a*b"]),
        ("a?b", &["a*b", "a?b"]),
        ("\\[x\\]", &["[x]"]),
        ("user:?", &["user:1", "user:2"]),
        ("user:*", &["user:1", "user:2", "user:10"]),
        ("nothing*", &[]),
    ];
    for (pattern, want) in cases {
        assert_eq!(keys(c, pattern), set(want), "KEYS {pattern}");
    }
    for _ in 0..20 {
        let reply = run_command(c, &["RANDOMKEY"]);
        let Ok(Value::BulkString(key)) = &reply else {
            panic!("RANDOMKEY: {reply:?}")
        };
        let key = String::from_utf8_lossy(key);
        assert!(names.contains(&key.as_ref()), "RANDOMKEY returned {key}");
    }
    expect(c, &["FLUSHDB"], ok());
    expect(c, &["RANDOMKEY"], nil());
    expect(c, &["SET", "only", "1"], ok());
    expect(c, &["RANDOMKEY"], bulk("only"));
    expect(c, &["KEYS", "*"], bulks(&[Some("only")]));
}

#[test]
fn scan_iterates_to_completion() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    let mut all = BTreeSet::new();
    for chunk in 0..10 {
        let mut args = vec!["MSET".to_string()];
        for i in 0..100 {
            let key = format!("key:{}", chunk * 100 + i);
            args.push(key.clone());
            args.push("v".into());
            all.insert(key);
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        expect(c, &refs, ok());
    }
    expect(c, &["SET", "other:1", "v"], ok());
    expect(c, &["SET", "other:2", "v"], ok());

    assert_eq!(scan_all(c, &[]).len(), 1002, "SCAN with default COUNT");
    assert_eq!(scan_all(c, &["COUNT", "7"]).len(), 1002, "SCAN COUNT 7");
    assert_eq!(
        scan_all(c, &["COUNT", "1000"]).len(),
        1002,
        "SCAN COUNT 1000"
    );
    assert_eq!(
        scan_all(c, &["MATCH", "key:*", "COUNT", "50"]),
        all,
        "SCAN MATCH key:*"
    );
    assert_eq!(
        scan_all(c, &["MATCH", "other:*"]),
        set(&["other:1", "other:2"]),
        "SCAN MATCH other:*"
    );
    assert_eq!(
        scan_all(c, &["MATCH", "key:99?"]).len(),
        10,
        "SCAN MATCH key:99?"
    );
    assert_eq!(
        scan_all(c, &["TYPE", "string", "COUNT", "100"]).len(),
        1002,
        "SCAN TYPE string"
    );
    assert!(scan_all(c, &["TYPE", "hash"]).is_empty(), "SCAN TYPE hash");
    assert!(
        scan_all(c, &["MATCH", "nomatch*"]).is_empty(),
        "SCAN MATCH with no match"
    );
    expect(c, &["SCAN", "0", "COUNT", "0"], err("ERR syntax error"));
    expect(c, &["SCAN", "abc"], err("ERR invalid cursor"));
    expect(c, &["SCAN", "0", "BOGUS", "1"], err("ERR syntax error"));
    expect(
        c,
        &["SCAN", "0", "COUNT", "x"],
        err("ERR value is not an integer or out of range"),
    );

    // Each database scans only its own keys.
    expect(c, &["SELECT", "2"], ok());
    assert!(scan_all(c, &[]).is_empty(), "SCAN in an empty db");
    expect(c, &["SET", "two", "v"], ok());
    assert_eq!(scan_all(c, &[]), set(&["two"]));
}

fn keys(c: &mut Connection, pattern: &str) -> BTreeSet<String> {
    match run_command(c, &["KEYS", pattern]) {
        Ok(Value::Array(items)) => items.iter().map(text).collect(),
        other => panic!("KEYS {pattern}: {other:?}"),
    }
}

/// Runs a SCAN iteration from cursor 0 until the cursor is 0 again; checks that every
/// step returns a well-formed reply and that no key is returned twice.
fn scan_all(c: &mut Connection, options: &[&str]) -> BTreeSet<String> {
    let mut cursor = "0".to_string();
    let mut found = BTreeSet::new();
    for _ in 0..10_000 {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(options);
        let reply = run_command(c, &args);
        let Ok(Value::Array(parts)) = &reply else {
            panic!("SCAN {options:?}: {reply:?}")
        };
        let [next, Value::Array(keys)] = parts.as_slice() else {
            panic!("SCAN {options:?}: {reply:?}")
        };
        for key in keys {
            assert!(
                found.insert(text(key)),
                "SCAN {options:?} returned {} twice",
                text(key)
            );
        }
        cursor = text(next);
        if cursor == "0" {
            return found;
        }
    }
    panic!("SCAN {options:?} did not finish in 10000 steps")
}

fn pttl(c: &mut Connection, key: &str) -> i64 {
    match run_command(c, &["PTTL", key]) {
        Ok(Value::Int(n)) => n,
        other => panic!("PTTL {key}: {other:?}"),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("expected a string, got {other:?}"),
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}
