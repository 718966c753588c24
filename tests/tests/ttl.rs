//! Expiry end to end: an expired key is invisible to every command at once (whenever
//! the background sweeper gets to it), and remaining times count down. Waits poll with a
//! deadline; nothing sleeps for a fixed time.

use std::time::Duration;

use redis::Connection;
use tandem_tests::{
    bulk, bulks, encode_command, err, expect, int, nil, ok, run_command, wait_for, TestCluster,
    Value,
};

/// Far longer than any expiry used here, so a slow machine does not fail the test.
const EXPIRY_DEADLINE: Duration = Duration::from_secs(10);

fn wait_gone(c: &mut Connection, key: &str) {
    wait_for(&format!("{key} to expire"), EXPIRY_DEADLINE, || {
        (run_command(c, &["GET", key]) == nil()).then_some(())
    });
}

#[test]
fn pexpire_makes_a_key_invisible() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    expect(c, &["SET", "k", "v"], ok());
    expect(c, &["PEXPIRE", "k", "50"], int(1));
    wait_gone(c, "k");
    expect(c, &["EXISTS", "k"], int(0));
    expect(c, &["TTL", "k"], int(-2));
    expect(c, &["PTTL", "k"], int(-2));
    expect(c, &["TYPE", "k"], Ok(Value::SimpleString("none".into())));
    expect(c, &["STRLEN", "k"], int(0));
    expect(c, &["KEYS", "*"], bulks(&[]));
    expect(c, &["MGET", "k"], bulks(&[None]));
}

#[test]
fn every_command_ignores_expired_keys() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    let keys = ["s", "n", "a", "r", "c", "x", "p", "g"];
    for key in keys {
        expect(c, &["SET", key, "5", "PX", "60"], ok());
    }
    expect(c, &["SET", "live", "1"], ok());
    for key in keys {
        wait_gone(c, key);
    }
    expect(c, &["SET", "s", "new", "NX"], ok());
    expect(c, &["INCR", "n"], int(1));
    expect(c, &["APPEND", "a", "x"], int(1));
    expect(c, &["RENAME", "r", "r2"], err("ERR no such key"));
    expect(c, &["COPY", "c", "c2"], int(0));
    expect(c, &["EXPIRE", "x", "100"], int(0));
    expect(c, &["PERSIST", "p"], int(0));
    expect(c, &["GETSET", "g", "fresh"], nil());
    expect(c, &["TTL", "g"], int(-1));
    expect(c, &["SETRANGE", "x", "0", "ab"], int(2));
    expect(c, &["TTL", "x"], int(-1));
    let mut scanned = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let Ok(Value::Array(parts)) = run_command(c, &["SCAN", &cursor, "COUNT", "100"]) else {
            panic!("SCAN")
        };
        let Value::Array(found) = &parts[1] else {
            panic!("SCAN keys")
        };
        scanned.extend(found.iter().cloned());
        cursor = match &parts[0] {
            Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("SCAN cursor {other:?}"),
        };
        if cursor == "0" {
            break;
        }
    }
    let mut names: Vec<String> = scanned
        .iter()
        .map(|v| match v {
            Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("SCAN key {other:?}"),
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["a", "g", "live", "n", "s", "x"],
        "SCAN shows only live keys"
    );
}

#[test]
fn remaining_time_counts_down_and_set_variants_expire() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    expect(c, &["SET", "k", "v", "PX", "100000"], ok());
    let first = pttl(c, "k");
    wait_for("PTTL to count down", EXPIRY_DEADLINE, || {
        (pttl(c, "k") < first).then_some(())
    });
    assert!(pttl(c, "k") > 90_000);

    expect(c, &["SETEX", "ex", "1", "v"], ok());
    expect(c, &["PSETEX", "px", "80", "v"], ok());
    expect(
        c,
        &["SET", "exat", "v", "PXAT", &(now_ms() + 80).to_string()],
        ok(),
    );
    expect(c, &["SET", "getex", "v"], ok());
    expect(c, &["GETEX", "getex", "PX", "80"], bulk("v"));
    expect(c, &["SET", "kept", "v", "PX", "80"], ok());
    expect(c, &["SET", "kept", "v2", "KEEPTTL"], ok());
    for key in ["px", "exat", "getex", "kept", "ex"] {
        wait_gone(c, key);
    }
    // A key in another database expires on its own clock.
    expect(c, &["SELECT", "2"], ok());
    expect(c, &["SET", "k", "v", "PX", "60"], ok());
    wait_gone(c, "k");
    expect(c, &["SELECT", "0"], ok());
    expect(c, &["GET", "k"], bulk("v"));
}

/// Commands after a wait in one pipeline see the time after the wait: the proxy reads the
/// clock once per batch of parsed commands and must read it again after every wait.
#[test]
fn relative_expiry_after_a_blocking_wait_in_a_pipeline_counts_from_after_the_wait() {
    let cluster = TestCluster::start();
    let mut raw = cluster.raw();
    let mut pipeline = encode_command(&[b"BLPOP", b"nothing", b"1"]);
    pipeline.extend(encode_command(&[b"SET", b"k", b"v", b"PX", b"2000"]));
    raw.send(&pipeline);
    assert_eq!(raw.reply(), "*-1\r\n", "BLPOP times out");
    assert_eq!(raw.reply(), "+OK\r\n");
    let c = &mut cluster.client();
    // Counted from before the one-second wait, 1000 ms or less would remain.
    let left = pttl(c, "k");
    assert!(left > 1500, "PTTL {left}");
}

fn pttl(c: &mut Connection, key: &str) -> i64 {
    match run_command(c, &["PTTL", key]) {
        Ok(Value::Int(n)) => n,
        other => panic!("PTTL {key}: {other:?}"),
    }
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis()
}
