//! Streams (issue 16) against redis-server, reply for reply in RESP2 and RESP3: XADD with
//! every id form and trimming option and its errors, XRANGE/XREVRANGE with exclusive
//! bounds and COUNT, XLEN, XDEL, XTRIM (exact and `~` over whole nodes, LIMIT), XSETID,
//! XREAD (COUNT, `$`, several streams) and XREAD BLOCK (woken across proxies by push, in
//! MULTI, CLIENT UNBLOCK, storaged restarts, `$` kept across the proxy's renewals),
//! streams under TYPE, DEL, RENAME, COPY, MOVE, EXPIRE and SCAN TYPE, and inside MULTI
//! and scripts; `*` ids (which depend on the clock, so checked on tandem alone) never going
//! back, also across a storaged restart; an `XADD *` resent after a crash adds once and
//! answers the same id.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use tandem_tests::{
    connect, expect, int, run_command, wait_for, Differ, Outcome, Protocol, RawClient, Signal,
    TestCluster, Value,
};

#[test]
fn xadd_ids_and_errors() {
    let d = Differ::start();
    d.check(&[
        &["XADD", "s", "1-1", "f", "v"],
        &["XADD", "s", "1-1", "f", "v"],
        &["XADD", "s", "1-0", "f", "v"],
        &["XADD", "s", "1-*", "f", "v"],
        &["XADD", "s", "1", "f", "v"],
        &["XADD", "s", "2", "f", "v", "g", "w"],
        &["XADD", "s", "5-*", "a", "b"],
        &["XADD", "s", "3-*", "a", "b"],
        &["XLEN", "s"],
        &["XRANGE", "s", "-", "+"],
        &["XADD", "s", "0-0", "f", "v"],
        &["XADD", "s", "0", "f", "v"],
        &["XADD", "new", "0-*", "f", "v"],
        &["XADD", "s", "x", "f", "v"],
        &["XADD", "s", "1-x", "f", "v"],
        &["XADD", "s", "-1", "f", "v"],
        &["XADD", "s", "-", "f", "v"],
        &["XADD", "s", "+", "f", "v"],
        &["XADD", "s", "18446744073709551616-0", "f", "v"],
        &["XADD", "s", "*", "f"],
        &["XADD", "s", "*", "f", "v", "g"],
        &["XADD", "s", "NOMKSTREAM"],
        &["XADD", "missing", "NOMKSTREAM", "*", "f", "v"],
        &["EXISTS", "missing"],
        &["XADD", "s", "NOMKSTREAM", "9-9", "f", "v"],
        &[
            "XADD",
            "m",
            "18446744073709551615-18446744073709551615",
            "f",
            "v",
        ],
        &["XADD", "m", "*", "f", "v"],
        &["XADD", "m", "18446744073709551615-*", "f", "v"],
        &["XADD", "n", "7-18446744073709551615", "f", "v"],
        &["XADD", "n", "7-*", "f", "v"],
        &["XADD", "n", "8-*", "f", "v"],
        &["SET", "str", "x"],
        &["XADD", "str", "*", "f", "v"],
        &["XADD", "str", "x", "f", "v"],
        &["XADD", "str", "0-0", "f", "v"],
        &["XADD", "s", "MAXLEN", "-1", "*", "f", "v"],
        &["XADD", "s", "MAXLEN", "x", "*", "f", "v"],
        &["XADD", "s", "MAXLEN", "1", "MINID", "1", "*", "f", "v"],
        &["XADD", "s", "LIMIT", "5", "*", "f", "v"],
        &["XADD", "s", "LIMIT", "0", "*", "f", "v"],
        &["XADD", "s", "MAXLEN", "1", "LIMIT", "5", "*", "f", "v"],
        &[
            "XADD", "s", "MAXLEN", "~", "1", "LIMIT", "-1", "*", "f", "v",
        ],
        &["XADD", "s", "MINID", "x", "*", "f", "v"],
        &["XADD", "s", "MINID", "~", "-", "*", "f", "v"],
        &["XADD", "e", "", "f", "v"],
        &["XADD", "e", "10-1", "", ""],
        &["XRANGE", "e", "-", "+"],
        &["TYPE", "s"],
        &["TYPE", "e"],
    ]);
}

#[test]
fn xadd_trims() {
    let d = Differ::start();
    let mut script: Vec<Vec<String>> = Vec::new();
    let add = |s: &mut Vec<Vec<String>>, key: &str, from: u64, to: u64| {
        for i in from..=to {
            s.push(vec![
                "XADD".into(),
                key.into(),
                format!("{i}-1"),
                "f".into(),
                i.to_string(),
            ]);
        }
    };
    add(&mut script, "s", 1, 10);
    for step in [
        vec!["XADD", "s", "MAXLEN", "5", "11-1", "f", "v"],
        vec!["XLEN", "s"],
        vec!["XRANGE", "s", "-", "+"],
        vec!["XADD", "s", "MAXLEN", "=", "3", "12-1", "f", "v"],
        vec!["XRANGE", "s", "-", "+"],
        vec!["XADD", "s", "MINID", "11", "13-1", "f", "v"],
        vec!["XRANGE", "s", "-", "+"],
        vec!["XADD", "s", "MINID", "=", "12-2", "14-1", "f", "v"],
        vec!["XRANGE", "s", "-", "+"],
        // `~` removes whole nodes only: one node here, kept.
        vec!["XADD", "s", "MAXLEN", "~", "1", "15-1", "f", "v"],
        vec!["XLEN", "s"],
        vec!["XADD", "s", "MAXLEN", "~", "0", "16-1", "f", "v"],
        vec!["XLEN", "s"],
        vec!["XADD", "s", "MAXLEN", "0", "17-1", "f", "v"],
        vec!["XLEN", "s"],
        vec!["XRANGE", "s", "-", "+"],
        vec!["EXISTS", "s"],
        vec!["XADD", "s", "MAXLEN", "0", "100-*", "f", "v"],
        vec!["XLEN", "s"],
    ] {
        script.push(step.into_iter().map(String::from).collect());
    }
    // 250 entries make three nodes (100, 100, 50): `~` trims whole ones.
    add(&mut script, "big", 1, 250);
    for step in [
        vec!["XADD", "big", "MAXLEN", "~", "120", "251-1", "f", "v"],
        vec!["XLEN", "big"],
        vec!["XRANGE", "big", "-", "+", "COUNT", "1"],
        vec![
            "XADD", "big", "MAXLEN", "~", "10", "LIMIT", "50", "252-1", "f", "v",
        ],
        vec!["XLEN", "big"],
        vec!["XADD", "big", "MINID", "~", "230", "253-1", "f", "v"],
        vec!["XLEN", "big"],
        vec![
            "XADD", "big", "MINID", "~", "302", "LIMIT", "0", "254-1", "f", "v",
        ],
        vec!["XLEN", "big"],
    ] {
        script.push(step.into_iter().map(String::from).collect());
    }
    let refs: Vec<Vec<&str>> = script
        .iter()
        .map(|s| s.iter().map(String::as_str).collect())
        .collect();
    let steps: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
    d.check(&steps);
}

#[test]
fn xtrim_forms() {
    let d = Differ::start();
    let mut script: Vec<Vec<String>> = Vec::new();
    for i in 1..=230u64 {
        script.push(vec![
            "XADD".into(),
            "s".into(),
            format!("{i}-0"),
            "f".into(),
            "v".into(),
        ]);
    }
    for step in [
        vec!["XTRIM", "s", "MAXLEN", "~", "200"],
        vec!["XTRIM", "s", "MAXLEN", "~", "100"],
        vec!["XLEN", "s"],
        vec!["XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "99"],
        vec!["XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "100"],
        vec!["XLEN", "s"],
        vec!["XTRIM", "s", "MAXLEN", "25"],
        vec!["XTRIM", "s", "MAXLEN", "25"],
        vec!["XTRIM", "s", "MINID", "210"],
        vec!["XRANGE", "s", "-", "+", "COUNT", "2"],
        vec!["XTRIM", "s", "MINID", "=", "210-1"],
        vec!["XTRIM", "s", "MINID", "~", "1000"],
        vec!["XTRIM", "s", "MINID", "1000"],
        vec!["XLEN", "s"],
        vec!["EXISTS", "s"],
        vec!["XTRIM", "missing", "MAXLEN", "0"],
        vec!["XTRIM", "s", "LIMIT", "5"],
        vec!["XTRIM", "s"],
        vec!["XTRIM", "s", "NOMKSTREAM", "MAXLEN", "1"],
        vec!["XTRIM", "s", "MAXLEN", "1", "x"],
        vec!["XTRIM", "s", "MAXLEN", "1", "LIMIT", "5"],
        vec!["XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "x"],
        vec!["XTRIM", "s", "MAXLEN", "-5"],
        vec!["XTRIM", "s", "MINID", "1-x"],
        vec!["XTRIM", "s", "MAXLEN", "~"],
        vec!["SET", "str", "x"],
        vec!["XTRIM", "str", "MAXLEN", "0"],
        vec!["XTRIM", "str", "MAXLEN", "x"],
    ] {
        script.push(step.into_iter().map(String::from).collect());
    }
    let refs: Vec<Vec<&str>> = script
        .iter()
        .map(|s| s.iter().map(String::as_str).collect())
        .collect();
    let steps: Vec<&[&str]> = refs.iter().map(Vec::as_slice).collect();
    d.check(&steps);
}

#[test]
fn xrange_and_xrevrange() {
    let d = Differ::start();
    d.check(&[
        &["XADD", "s", "1-0", "a", "1"],
        &["XADD", "s", "1-1", "b", "2"],
        &["XADD", "s", "2-0", "c", "3", "d", "4"],
        &["XADD", "s", "3-5", "e", "5"],
        &["XADD", "s", "18446744073709551615-0", "z", "z"],
        &["XRANGE", "s", "-", "+"],
        &["XREVRANGE", "s", "+", "-"],
        &["XRANGE", "s", "1", "2"],
        &["XRANGE", "s", "1-1", "2-0"],
        &["XRANGE", "s", "(1-0", "(3-5"],
        &["XRANGE", "s", "(1", "+"],
        &["XRANGE", "s", "-", "(2"],
        &["XREVRANGE", "s", "(3-5", "(1-0"],
        &["XREVRANGE", "s", "2", "1"],
        &["XRANGE", "s", "-", "+", "COUNT", "2"],
        &["XREVRANGE", "s", "+", "-", "COUNT", "2"],
        &["XRANGE", "s", "-", "+", "COUNT", "0"],
        &["XRANGE", "s", "-", "+", "COUNT", "-3"],
        &["XRANGE", "s", "-", "+", "count", "1", "COUNT", "3"],
        &["XRANGE", "s", "3", "1"],
        &["XREVRANGE", "s", "1", "3"],
        &["XRANGE", "s", "3", "3"],
        &["XRANGE", "s", "18446744073709551615", "+"],
        &["XRANGE", "missing", "-", "+"],
        &["XRANGE", "missing", "-", "+", "COUNT", "0"],
        &["XREVRANGE", "missing", "+", "-"],
        &["XRANGE", "s", "(", "+"],
        &["XRANGE", "s", "(-", "+"],
        &["XRANGE", "s", "-", "(+"],
        &[
            "XRANGE",
            "s",
            "(18446744073709551615-18446744073709551615",
            "+",
        ],
        &["XRANGE", "s", "-", "(0-0"],
        &["XREVRANGE", "s", "(0-0", "-"],
        &["XRANGE", "s", "x", "+"],
        &["XRANGE", "s", "-", "+", "COUNT"],
        &["XRANGE", "s", "-", "+", "COUNT", "x"],
        &["XRANGE", "s", "-", "+", "LIMIT", "1"],
        &["XRANGE", "s", " 1", "+"],
        &["XRANGE", "s", "+1", "+"],
        &["SET", "str", "x"],
        &["XRANGE", "str", "-", "+"],
        &["XRANGE", "str", "-", "+", "COUNT", "0"],
        &["XRANGE", "str", "x", "+"],
        &["XREVRANGE", "str", "+", "-"],
        &["XLEN", "str"],
        &["XLEN", "missing"],
    ]);
}

#[test]
fn xdel_and_xsetid() {
    let d = Differ::start();
    d.check(&[
        &["XADD", "s", "1-0", "a", "1"],
        &["XADD", "s", "2-0", "b", "2"],
        &["XADD", "s", "3-0", "c", "3"],
        &["XDEL", "s", "2-0", "2-0", "9-9"],
        &["XDEL", "s", "1"],
        &["XRANGE", "s", "-", "+"],
        &["XDEL", "s", "1-0", "x"],
        &["XDEL", "s", "3-0"],
        &["XLEN", "s"],
        &["EXISTS", "s"],
        &["XADD", "s", "2-5", "a", "1"],
        &["XADD", "s", "4-0", "a", "1"],
        &["XDEL", "missing", "1"],
        &["XDEL", "missing", "x"],
        &["XSETID", "s", "3-0"],
        &["XSETID", "s", "4-0"],
        &["XADD", "s", "4-0", "a", "1"],
        &["XSETID", "s", "10-0"],
        &["XADD", "s", "9-0", "a", "1"],
        &["XADD", "s", "10-*", "a", "1"],
        &["XDEL", "s", "10-1"],
        &["XSETID", "s", "10-0"],
        &["XSETID", "s", "10-1"],
        &["XSETID", "s", "11", "ENTRIESADDED", "1"],
        &["XSETID", "s", "11", "ENTRIESADDED", "2"],
        &["XSETID", "s", "11", "ENTRIESADDED", "-1"],
        &["XSETID", "s", "11", "ENTRIESADDED", "x"],
        &["XSETID", "s", "11", "MAXDELETEDID", "12"],
        &["XSETID", "s", "12", "MAXDELETEDID", "12"],
        &["XSETID", "s", "11"],
        &["XSETID", "s", "12", "MAXDELETEDID", "0-0"],
        &["XSETID", "s", "13", "ENTRIESADDED"],
        &["XSETID", "s", "13", "BOGUS", "1"],
        &["XSETID", "s", "-"],
        &["XSETID", "s", "x"],
        &["XSETID", "missing", "5"],
        &["XSETID", "missing", "x"],
        &["XADD", "s", "12-*", "a", "1"],
        &["SET", "str", "x"],
        &["XSETID", "str", "5"],
        &["XDEL", "str", "1"],
        &["XDEL", "str", "x"],
    ]);
}

#[test]
fn streams_as_keys() {
    let d = Differ::start();
    d.check(&[
        &["XADD", "s", "1-1", "f", "v"],
        &["XADD", "s", "2-1", "g", "w"],
        &["TYPE", "s"],
        &["SCAN", "0", "TYPE", "stream"],
        &["SCAN", "0", "TYPE", "STREAM"],
        &["SET", "str", "x"],
        &["SCAN", "0", "TYPE", "string"],
        &["RENAME", "s", "t"],
        &["XRANGE", "t", "-", "+"],
        &["XADD", "t", "2-1", "f", "v"],
        &["COPY", "t", "c"],
        &["XADD", "c", "3-1", "f", "v"],
        &["XLEN", "t"],
        &["XLEN", "c"],
        &["MOVE", "c", "1"],
        &["EXISTS", "c"],
        &["SELECT", "1"],
        &["XRANGE", "c", "-", "+"],
        &["SELECT", "0"],
        &["EXPIRE", "t", "100"],
        &["TTL", "t"],
        &["PERSIST", "t"],
        &["DEL", "t"],
        &["XLEN", "t"],
        &["XADD", "t", "1-0", "f", "v"],
        &["XRANGE", "t", "-", "+"],
        &["SET", "t", "v"],
        &["XLEN", "t"],
        &["XADD", "u", "1-1", "f", "v"],
        &["UNLINK", "u"],
        &["XADD", "u", "1-1", "f", "v"],
        &["PEXPIREAT", "u", "1"],
        &["XLEN", "u"],
        &["XADD", "u", "1-1", "f", "v"],
        &["MULTI"],
        &["XADD", "m", "1-1", "a", "b"],
        &["XADD", "m", "1-1", "a", "b"],
        &["XLEN", "m"],
        &["XRANGE", "m", "-", "+"],
        &["EXEC"],
        &[
            "EVAL",
            "return redis.call('XADD', KEYS[1], '5-5', 'f', 'v')",
            "1",
            "e",
        ],
        &[
            "EVAL",
            "return redis.call('XRANGE', KEYS[1], '-', '+')",
            "1",
            "e",
        ],
        &[
            "EVAL",
            "return redis.pcall('XADD', KEYS[1], '1-1', 'f', 'v')",
            "1",
            "e",
        ],
    ]);
}

/// `*` follows the clock and never goes back, also after a storaged restart; the id of
/// an `XADD` is what the key then holds.
#[test]
fn auto_ids_are_monotonic_across_restarts() {
    let mut cluster = TestCluster::start();
    let mut c = cluster.client();
    let id_of = |c: &mut redis::Connection, args: &[&str]| -> (u64, u64) {
        let Ok(redis::Value::BulkString(b)) = run_command(c, args) else {
            panic!("{args:?} gave no id");
        };
        let text = String::from_utf8(b).expect("utf8");
        let (ms, seq) = text.split_once('-').expect("ms-seq");
        (ms.parse().expect("ms"), seq.parse().expect("seq"))
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let first = id_of(&mut c, &["XADD", "s", "*", "f", "v"]);
    assert!(
        first.0 >= now && first.0 < now + 60_000,
        "{first:?} vs {now}"
    );
    let mut last = first;
    for _ in 0..50 {
        let next = id_of(&mut c, &["XADD", "s", "*", "f", "v"]);
        assert!(next > last, "{next:?} after {last:?}");
        last = next;
    }
    // A last id in the future: `*` continues from it.
    let future = now + 10_000_000;
    let set = format!("{future}-7");
    assert_eq!(
        run_command(&mut c, &["XSETID", "s", &set]),
        Ok(redis::Value::Okay)
    );
    for signal in [Signal::SIGKILL, Signal::SIGTERM] {
        cluster.kill_storaged(signal);
        cluster.start_storaged();
        let mut c = cluster.client();
        let next = id_of(&mut c, &["XADD", "s", "*", "f", "v"]);
        assert!(next.0 == future && next > last.max((future, 7)), "{next:?}");
        last = next;
    }
    let mut c = cluster.client();
    assert_eq!(
        run_command(&mut c, &["XLEN", "s"]),
        Ok(redis::Value::Int(53))
    );
}

/// Every keyspace message a subscriber to `__key*__:*` gets while `script` runs with
/// `flags`, in order.
fn events(addr: &str, flags: &str, script: &[&[&str]]) -> Vec<String> {
    const DONE: &str = "stream-events-done";
    let mut c = RawClient::connect(addr);
    c.command(&["FLUSHALL"]);
    assert_eq!(
        c.command(&["CONFIG", "SET", "notify-keyspace-events", flags]),
        "+OK\r\n"
    );
    let mut sub = RawClient::connect(addr);
    sub.command(&["PSUBSCRIBE", "__key*__:*"]);
    sub.command(&["SUBSCRIBE", DONE]);
    for step in script {
        c.command(step);
    }
    c.command(&["PUBLISH", DONE, "x"]);
    let mut got = Vec::new();
    loop {
        let message = sub.reply();
        if message.contains(DONE) {
            break;
        }
        got.push(message);
    }
    c.command(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    got
}

#[test]
fn keyspace_events_match_redis() {
    let d = Differ::start();
    let script: &[&[&str]] = &[
        &["XADD", "s", "1-1", "f", "v"],
        &["XADD", "s", "2-1", "f", "v"],
        &["XADD", "s", "1-1", "f", "v"],
        &["XADD", "s", "MAXLEN", "1", "3-1", "f", "v"],
        &["XADD", "s", "MAXLEN", "5", "4-1", "f", "v"],
        &["XADD", "missing", "NOMKSTREAM", "*", "f", "v"],
        &["XDEL", "s", "9-9"],
        &["XDEL", "s", "3-1"],
        &["XTRIM", "s", "MAXLEN", "5"],
        &["XTRIM", "s", "MAXLEN", "0"],
        &["XSETID", "s", "10-1"],
        &["XSETID", "s", "1-1", "ENTRIESADDED", "0"],
        &["XSETID", "missing", "1"],
        &["DEL", "s"],
    ];
    for flags in ["KEA", "KEAn", "Et", "Kg"] {
        let ours = events(&d.tandem().addr(), flags, script);
        let theirs = events(&d.reference().addr(), flags, script);
        assert_eq!(
            ours, theirs,
            "events differ (tandem left) for flags {flags:?}"
        );
    }
}

#[test]
fn xread_matches_redis() {
    let d = Differ::start();
    d.check(&[
        &["XADD", "a", "1-1", "f", "1"],
        &["XADD", "a", "2-1", "f", "2"],
        &["XADD", "a", "3-1", "f", "3"],
        &["XADD", "b", "5-0", "g", "5"],
        &["XREAD", "STREAMS", "a", "0"],
        &["XREAD", "STREAMS", "a", "b", "1-1", "0-0"],
        &["XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0"],
        &["XREAD", "COUNT", "0", "STREAMS", "a", "0"],
        &["XREAD", "COUNT", "-1", "STREAMS", "a", "2"],
        &["XREAD", "STREAMS", "a", "b", "$", "$"],
        &["XREAD", "STREAMS", "a", "missing", "3-1", "0"],
        &["XREAD", "STREAMS", "missing", "a", "$", "2-1"],
        &["XREAD", "streams", "a", "a", "0", "2"],
        &[
            "XREAD",
            "STREAMS",
            "a",
            "18446744073709551615-18446744073709551615",
        ],
        &["XDEL", "a", "3-1"],
        &["XREAD", "STREAMS", "a", "2-1"],
        &["XREAD", "STREAMS", "a", ">"],
        &["XREAD", "STREAMS", "a", "x"],
        &["XREAD", "STREAMS", "a", "-"],
        &["XREAD", "STREAMS", "a", "b", "0", "x"],
        &["SET", "str", "v"],
        &["XREAD", "STREAMS", "str", "0"],
        &["XREAD", "STREAMS", "a", "str", "x", "0"],
        &["XREAD", "STREAMS", "str", "a", "0", "x"],
        &["XREAD", "STREAMS", "a", "str", "0", "0"],
        &["XREAD", "STREAMS", "a"],
        &["XREAD", "STREAMS", "a", "b", "0"],
        &["XREAD", "COUNT", "x", "STREAMS", "a", "0"],
        &["XREAD", "COUNT", "1"],
        &["XREAD", "GROUP", "g", "c", "STREAMS", "a", "0"],
        &["XREAD", "NOACK", "STREAMS", "a", "0"],
        &["XREAD", "BOGUS", "STREAMS", "a", "0"],
        // BLOCK answered at once: entries there, errors, and short timeouts.
        &["XREAD", "BLOCK", "0", "STREAMS", "a", "0"],
        &["XREAD", "BLOCK", "10", "STREAMS", "a", "b", "$", "4"],
        &["XREAD", "BLOCK", "10", "STREAMS", "missing", "$"],
        &["XREAD", "BLOCK", "10", "STREAMS", "a", "$"],
        &["XREAD", "BLOCK", "x", "STREAMS", "a", "0"],
        &["XREAD", "BLOCK", "1.5", "STREAMS", "a", "0"],
        &["XREAD", "BLOCK", "-1", "STREAMS", "a", "0"],
        &["XREAD", "BLOCK", "0", "STREAMS", "str", "0"],
        &["XREAD", "BLOCK", "0", "STREAMS", "a", ">"],
        // Inside MULTI a BLOCK never waits.
        &["MULTI"],
        &["XREAD", "BLOCK", "0", "STREAMS", "a", "$"],
        &["XREAD", "BLOCK", "0", "STREAMS", "a", "0"],
        &["EXEC"],
        &[
            "EVAL",
            "return redis.call('XREAD', 'STREAMS', KEYS[1], '0')",
            "1",
            "a",
        ],
    ]);
}

const WAIT: Duration = Duration::from_secs(10);

/// Runs `args` on a fresh connection to `addr` in a thread; the reply comes on the channel.
fn spawn_command(addr: String, protocol: Protocol, args: &[&str]) -> mpsc::Receiver<Outcome> {
    let (tx, rx) = mpsc::channel();
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    thread::spawn(move || {
        let mut c = connect(&addr, None, protocol);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let _ = tx.send(run_command(&mut c, &args));
    });
    rx
}

/// A numeric INFO field as the proxy at `addr` reports it (-1 if missing).
fn info_field(addr: &str, section: &str, field: &str) -> i64 {
    let mut c = connect(addr, None, Protocol::Resp2);
    let Ok(Value::BulkString(info)) = run_command(&mut c, &["INFO", section]) else {
        return -1;
    };
    let prefix = format!("{field}:");
    String::from_utf8_lossy(&info)
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()).map(str::to_owned))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1)
}

/// Waits until the proxy at `addr` has `n` blocked clients and storaged `parked` parked
/// requests (from every proxy).
fn wait_parked(addr: &str, n: i64, parked: i64) {
    wait_for(
        &format!("{n} blocked clients on {addr}, {parked} parked"),
        WAIT,
        || {
            (info_field(addr, "clients", "blocked_clients") == n
                && info_field(addr, "storage", "blocked_requests") == parked)
                .then_some(())
        },
    );
}

/// `[[key, [[id, [field, value]]...]]]` as RESP2 gives it, or the RESP3 map.
fn served(protocol: Protocol, key: &str, entries: &[(&str, &str, &str)]) -> Outcome {
    let entries = Value::Array(
        entries
            .iter()
            .map(|(id, f, v)| {
                Value::Array(vec![
                    Value::BulkString(id.as_bytes().to_vec()),
                    Value::Array(vec![
                        Value::BulkString(f.as_bytes().to_vec()),
                        Value::BulkString(v.as_bytes().to_vec()),
                    ]),
                ])
            })
            .collect(),
    );
    let key = Value::BulkString(key.as_bytes().to_vec());
    Ok(match protocol {
        Protocol::Resp2 => Value::Array(vec![Value::Array(vec![key, entries])]),
        Protocol::Resp3 => Value::Map(vec![(key, entries)]),
    })
}

#[test]
fn an_xadd_through_one_proxy_wakes_readers_blocked_on_another() {
    let cluster = TestCluster::start();
    let other = cluster.spawn_extra_proxy();
    let mut c = cluster.client();
    for (i, protocol) in [Protocol::Resp2, Protocol::Resp3].into_iter().enumerate() {
        let key = format!("s{i}");
        let started = Instant::now();
        let rx = spawn_command(
            other.addr(),
            protocol,
            &["XREAD", "BLOCK", "0", "STREAMS", "other", &key, "$", "$"],
        );
        wait_parked(&other.addr(), 1, 1);
        let added = run_command(&mut c, &["XADD", &key, "7-1", "f", "v"]);
        assert!(added.is_ok(), "{added:?}");
        assert_eq!(
            rx.recv_timeout(WAIT).expect("woken"),
            served(protocol, &key, &[("7-1", "f", "v")])
        );
        // Woken by the push, not by polling: well before any poll or segment would end.
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

#[test]
fn every_reader_above_its_id_is_served_and_the_others_stay_blocked() {
    let cluster = TestCluster::start();
    let addr = cluster.addr();
    let mut c = cluster.client();
    expect(
        &mut c,
        &["XADD", "s", "5-0", "f", "old"],
        Ok(Value::BulkString(b"5-0".to_vec())),
    );
    let low = spawn_command(
        addr.clone(),
        Protocol::Resp2,
        &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"],
    );
    wait_parked(&addr, 1, 1);
    let high = spawn_command(
        addr.clone(),
        Protocol::Resp2,
        &["XREAD", "BLOCK", "0", "STREAMS", "s", "100-0"],
    );
    wait_parked(&addr, 2, 2);
    let also_low = spawn_command(
        addr.clone(),
        Protocol::Resp3,
        &["XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", "5"],
    );
    wait_parked(&addr, 3, 3);
    // An entry below one reader's id serves the other two; the high one waits on.
    expect(
        &mut c,
        &["XADD", "s", "6-0", "f", "new"],
        Ok(Value::BulkString(b"6-0".to_vec())),
    );
    assert_eq!(
        low.recv_timeout(WAIT).expect("low"),
        served(Protocol::Resp2, "s", &[("6-0", "f", "new")])
    );
    assert_eq!(
        also_low.recv_timeout(WAIT).expect("also low"),
        served(Protocol::Resp3, "s", &[("6-0", "f", "new")])
    );
    wait_parked(&addr, 1, 1);
    assert!(high.try_recv().is_err());
    // XDEL or XTRIM wake nobody; a wrong type does not end the wait (Redis 7.0).
    expect(&mut c, &["XTRIM", "s", "MAXLEN", "0"], int(2));
    expect(&mut c, &["DEL", "s"], int(1));
    expect(&mut c, &["SET", "s", "x"], Ok(Value::Okay));
    expect(&mut c, &["DEL", "s"], int(1));
    wait_parked(&addr, 1, 1);
    expect(
        &mut c,
        &["XADD", "s", "100-1", "f", "top"],
        Ok(Value::BulkString(b"100-1".to_vec())),
    );
    assert_eq!(
        high.recv_timeout(WAIT).expect("high"),
        served(Protocol::Resp2, "s", &[("100-1", "f", "top")])
    );
    // A timeout replies a null array.
    let timed = spawn_command(
        addr.clone(),
        Protocol::Resp2,
        &["XREAD", "BLOCK", "50", "STREAMS", "s", "$"],
    );
    assert_eq!(timed.recv_timeout(WAIT).expect("timeout"), Ok(Value::Nil));
    let timed = spawn_command(
        addr,
        Protocol::Resp3,
        &["XREAD", "BLOCK", "50", "STREAMS", "s", "$"],
    );
    assert_eq!(timed.recv_timeout(WAIT).expect("timeout"), Ok(Value::Nil));
}

#[test]
fn client_unblock_releases_a_blocked_xread() {
    let cluster = TestCluster::start();
    let addr = cluster.addr();
    let mut admin = cluster.client();
    for mode in ["TIMEOUT", "ERROR"] {
        let (tx, rx) = mpsc::channel();
        let a = addr.clone();
        thread::spawn(move || {
            let mut c = connect(&a, None, Protocol::Resp2);
            let Ok(Value::Int(id)) = run_command(&mut c, &["CLIENT", "ID"]) else {
                return;
            };
            let _ = tx.send(Ok(Value::Int(id)));
            let _ = tx.send(run_command(
                &mut c,
                &["XREAD", "BLOCK", "0", "STREAMS", "u", "$"],
            ));
        });
        let Ok(Ok(Value::Int(id))) = rx.recv_timeout(WAIT) else {
            panic!("no client id");
        };
        wait_parked(&addr, 1, 1);
        let id = id.to_string();
        expect(&mut admin, &["CLIENT", "UNBLOCK", &id, mode], int(1));
        let got = rx.recv_timeout(WAIT).expect("released");
        if mode == "ERROR" {
            assert_eq!(
                got,
                Err("UNBLOCKED client unblocked via CLIENT UNBLOCK".to_owned())
            );
        } else {
            assert_eq!(got, Ok(Value::Nil));
        }
        wait_parked(&addr, 0, 0);
    }
}

#[test]
fn blocked_readers_survive_storaged_restarts() {
    for signal in [Signal::SIGKILL, Signal::SIGTERM] {
        let mut cluster = TestCluster::start();
        let addr = cluster.addr();
        let mut c = cluster.client();
        expect(
            &mut c,
            &["XADD", "r", "1-1", "f", "v"],
            Ok(Value::BulkString(b"1-1".to_vec())),
        );
        let readers: Vec<_> = (0..3)
            .map(|i| {
                let rx = spawn_command(
                    addr.clone(),
                    Protocol::Resp2,
                    &["XREAD", "BLOCK", "0", "STREAMS", "r", "1-1"],
                );
                wait_parked(&addr, i + 1, i + 1);
                rx
            })
            .collect();
        cluster.kill_storaged(signal);
        cluster.start_storaged();
        wait_parked(&addr, 3, 3);
        let mut c = cluster.client();
        expect(
            &mut c,
            &["XADD", "r", "2-1", "f", "w"],
            Ok(Value::BulkString(b"2-1".to_vec())),
        );
        for rx in readers {
            assert_eq!(
                rx.recv_timeout(WAIT).expect("served after the restart"),
                served(Protocol::Resp2, "r", &[("2-1", "f", "w")])
            );
        }
    }
}

/// A BLOCK longer than the proxy's 10 s segment is renewed; `$` keeps meaning the last id
/// when the client began to wait, so an entry added after the first segment still wakes it.
#[test]
fn dollar_is_kept_across_the_renewal_of_a_long_block() {
    let cluster = TestCluster::start();
    let addr = cluster.addr();
    let mut c = cluster.client();
    expect(
        &mut c,
        &["XADD", "long", "1-1", "f", "v"],
        Ok(Value::BulkString(b"1-1".to_vec())),
    );
    let rx = spawn_command(
        addr.clone(),
        Protocol::Resp2,
        &["XREAD", "BLOCK", "30000", "STREAMS", "long", "$"],
    );
    wait_parked(&addr, 1, 1);
    thread::sleep(Duration::from_millis(10_500));
    wait_parked(&addr, 1, 1);
    expect(
        &mut c,
        &["XADD", "long", "2-1", "f", "w"],
        Ok(Value::BulkString(b"2-1".to_vec())),
    );
    assert_eq!(
        rx.recv_timeout(WAIT).expect("served in the second segment"),
        served(Protocol::Resp2, "long", &[("2-1", "f", "w")])
    );
}

/// A minimal link client speaking the wire protocol, as a proxy resending a request does.
struct WireLink {
    stream: std::os::unix::net::UnixStream,
    buf: bytes::BytesMut,
}

impl WireLink {
    fn open(cluster: &TestCluster) -> WireLink {
        use std::io::Write;
        use tandem_shared::wire::{self, Hello};
        let mut stream =
            std::os::unix::net::UnixStream::connect(cluster.socket_path()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut out = bytes::BytesMut::new();
        let hello = Hello {
            protocol: wire::PROTOCOL_VERSION,
            schema: wire::SCHEMA_HASH,
            instance_id: 1,
            pid: std::process::id(),
            name: "streams test".into(),
        };
        wire::encode(&hello, u32::MAX, &mut out).expect("encode");
        stream.write_all(&out).expect("write");
        let mut link = WireLink {
            stream,
            buf: bytes::BytesMut::new(),
        };
        link.frame();
        link
    }

    fn frame(&mut self) -> tandem_shared::wire::Frame {
        use std::io::Read;
        loop {
            if let Some(frame) =
                tandem_shared::wire::decode(&mut self.buf, u32::MAX).expect("frame")
            {
                return frame;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "storaged closed the link");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn keyed(
        &mut self,
        key: tandem_shared::wire::RequestKey,
        attempt: u32,
        commands: Vec<tandem_shared::Command>,
    ) -> Vec<tandem_shared::wire::Outcome> {
        use std::io::Write;
        use tandem_shared::wire::{self, KeyedRequest, Response};
        let mut out = bytes::BytesMut::new();
        let request = KeyedRequest {
            id: 5,
            db: 0,
            key,
            attempt,
            commands,
        };
        wire::encode(&request, u32::MAX, &mut out).expect("encode");
        self.stream.write_all(&out).expect("write");
        let frame = self.frame();
        let response = frame.access::<Response>().expect("a Response");
        rkyv::deserialize::<Response, rkyv::rancor::Error>(response)
            .expect("deserialize")
            .outcomes
    }
}

/// An `XADD *` resent after a crash of storaged (as a proxy resends a request whose
/// reply it never got) adds one entry and answers the same id.
#[test]
fn a_resent_xadd_adds_once_and_returns_the_same_id_after_a_crash() {
    use tandem_shared::command::XAddId;
    use tandem_shared::wire::{Outcome as WireOutcome, RequestKey};
    use tandem_shared::{Command, Reply};
    let mut cluster = TestCluster::start();
    let xadd = || {
        vec![Command::XAdd {
            key: b"once".to_vec(),
            id: XAddId::Auto,
            no_mkstream: false,
            trim: None,
            fields: vec![(b"f".to_vec(), b"v".to_vec())],
        }]
    };
    let key = RequestKey {
        proxy: 77,
        seq: 1,
        born_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64,
    };
    let first = WireLink::open(&cluster).keyed(key, 0, xadd());
    let [WireOutcome::Ok(Reply::Bulk(id))] = first.as_slice() else {
        panic!("{first:?}");
    };
    assert!(String::from_utf8_lossy(id).ends_with("-0"), "{first:?}");
    cluster.kill_storaged(Signal::SIGKILL);
    cluster.start_storaged();
    assert_eq!(WireLink::open(&cluster).keyed(key, 1, xadd()), first);
    let mut c = cluster.client();
    expect(&mut c, &["XLEN", "once"], int(1));
    let Ok(Value::Array(entries)) = run_command(&mut c, &["XRANGE", "once", "-", "+"]) else {
        panic!("XRANGE");
    };
    assert!(
        matches!(entries.as_slice(), [Value::Array(e)] if e.first() == Some(&Value::BulkString(id.clone()))),
        "{entries:?}"
    );
}

#[test]
fn xgroup_matches_redis() {
    let d = Differ::start();
    d.check(&[
        &["XADD", "g1", "1-1", "a", "b"],
        &["XGROUP", "CREATE", "nokey", "grp", "$"],
        &["XGROUP", "CREATE", "nokey", "grp", "x"],
        &["XGROUP", "CREATE", "g1", "grp", "x"],
        &["XGROUP", "CREATE", "g1", "grp", "$"],
        &["XGROUP", "CREATE", "g1", "grp", "0"],
        &["XGROUP", "CREATE", "g1", "grp", "x"],
        &["XGROUP", "CREATE", "g1", "grp2", "0", "MKSTREAM"],
        &["XGROUP", "CREATE", "g1", "grp3", "0", "ENTRIESREAD", "-2"],
        &["XGROUP", "CREATE", "g1", "grp3", "0", "ENTRIESREAD", "x"],
        &["XGROUP", "CREATE", "g1", "grp3", "0", "ENTRIESREAD", "5"],
        &["XGROUP", "CREATE", "g1", "grp4", "-"],
        &["XGROUP", "Create", "g1", "grp3", "0", "bogus"],
        &["XGROUP", "CREATE", "nokey", "grp3", "0", "bogus"],
        &[
            "XGROUP", "CREATE", "g1", "g5", "0", "MKSTREAM", "MKSTREAM", "MKSTREAM", "MKSTREAM",
        ],
        &[
            "XGROUP", "CREATE", "nokey", "g5", "0", "MKSTREAM", "MKSTREAM", "MKSTREAM", "MKSTREAM",
        ],
        &["EXISTS", "nokey"],
        &["XGROUP", "CREATE", "mk", "g", "x", "MKSTREAM"],
        &["EXISTS", "mk"],
        &["XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM"],
        &["XLEN", "mk"],
        &["TYPE", "mk"],
        &["XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM"],
        &["XGROUP", "SETID", "nokey", "grp", "0"],
        &["XGROUP", "SETID", "g1", "nogrp", "0"],
        &["XGROUP", "SETID", "g1", "grp", "-"],
        &["XGROUP", "SETID", "g1", "grp", "+"],
        &["XGROUP", "SETID", "g1", "grp", "$"],
        &["XGROUP", "SETID", "g1", "grp", "x"],
        &["XGROUP", "SETID", "g1", "grp", "0", "MKSTREAM"],
        &["XGROUP", "SETID", "g1", "grp", "0", "ENTRIESREAD", "3"],
        &[
            "XGROUP",
            "SETID",
            "g1",
            "grp",
            "0",
            "ENTRIESREAD",
            "3",
            "ENTRIESREAD",
            "4",
        ],
        &["XGROUP", "SETID", "g1", "grp", "0", "ENTRIESREAD"],
        &["XGROUP", "CREATECONSUMER", "g1", "grp", "c1"],
        &["XGROUP", "CREATECONSUMER", "g1", "grp", "c1"],
        &["XGROUP", "CREATECONSUMER", "g1", "grp", "c2"],
        &["XGROUP", "CREATECONSUMER", "g1", "nogrp", "c1"],
        &["XGROUP", "CREATECONSUMER", "nokey", "grp", "c1"],
        &["XGROUP", "CREATECONSUMER", "g1", "grp"],
        &["XGROUP", "DELCONSUMER", "g1", "grp", "c1"],
        &["XGROUP", "DELCONSUMER", "g1", "grp", "c1"],
        &["XGROUP", "DELCONSUMER", "g1", "nogrp", "c1"],
        &["XGROUP", "DESTROY", "g1", "grp"],
        &["XGROUP", "DESTROY", "g1", "grp"],
        &["XGROUP", "CREATECONSUMER", "g1", "grp", "c2"],
        &["XGROUP", "CREATE", "g1", "grp", "0"],
        &["XGROUP", "CREATECONSUMER", "g1", "grp", "c2"],
        &["XGROUP", "DESTROY", "nokey", "grp"],
        &["XGROUP", "DESTROY", "g1", "grp", "extra"],
        &["SET", "str", "x"],
        &["XGROUP", "DESTROY", "str", "g"],
        &["XGROUP", "CREATE", "str", "g", "0"],
        &["XGROUP", "CREATE", "str", "g", "0", "bogus"],
        &["XGROUP", "bogus"],
        &["XGROUP", "CREATE", "g1"],
        &["XGROUP", "HELP"],
        &["XGROUP", "HELP", "x"],
        &["XGROUP"],
        // Groups live with the stream: gone with DEL, copied by RENAME/COPY.
        &["RENAME", "g1", "g2"],
        &["XGROUP", "CREATE", "g2", "grp", "0"],
        &["COPY", "g2", "g3"],
        &["XGROUP", "CREATE", "g3", "grp2", "0"],
        &["XGROUP", "CREATECONSUMER", "g3", "grp", "c2"],
        &["DEL", "g2"],
        &["XADD", "g2", "1-1", "a", "b"],
        &["XGROUP", "CREATE", "g2", "grp", "0"],
        &["MULTI"],
        &["XGROUP", "CREATE", "m", "g", "$", "MKSTREAM"],
        &["XGROUP", "CREATE", "m", "g", "$", "MKSTREAM"],
        &["EXEC"],
    ]);
}

#[test]
fn xgroup_events_match_redis() {
    let d = Differ::start();
    let script: &[&[&str]] = &[
        &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"],
        &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"],
        &["XGROUP", "CREATE", "s", "h", "0"],
        &["XGROUP", "SETID", "s", "g", "0"],
        &["XGROUP", "CREATECONSUMER", "s", "g", "c"],
        &["XGROUP", "CREATECONSUMER", "s", "g", "c"],
        &["XGROUP", "DELCONSUMER", "s", "g", "c"],
        &["XGROUP", "DELCONSUMER", "s", "g", "c"],
        &["XGROUP", "DESTROY", "s", "g"],
        &["XGROUP", "DESTROY", "s", "g"],
        &["XGROUP", "CREATE", "missing", "g", "$"],
    ];
    for flags in ["KEA", "KEAn", "Et"] {
        let ours = events(&d.tandem().addr(), flags, script);
        let theirs = events(&d.reference().addr(), flags, script);
        assert_eq!(
            ours, theirs,
            "events differ (tandem left) for flags {flags:?}"
        );
    }
}
