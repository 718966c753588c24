//! Streams (issue 16) against redis-server, reply for reply in RESP2 and RESP3: XADD with
//! every id form and trimming option and its errors, XRANGE/XREVRANGE with exclusive
//! bounds and COUNT, XLEN, XDEL, XTRIM (exact and `~` over whole nodes, LIMIT), XSETID,
//! streams under TYPE, DEL, RENAME, COPY, MOVE, EXPIRE and SCAN TYPE, and inside MULTI
//! and scripts; `*` ids (which depend on the clock, so checked on tandem alone) never going
//! back, also across a storaged restart.

use tandem_tests::{run_command, Differ, RawClient, TestCluster};

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
    use nix::sys::signal::Signal;
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
