//! SLOWLOG against redis-server 7.0.15: errors and help, entries (arguments cut as Redis
//! cuts them, client address and name), `slowlog-max-len`, and one log for a pair whose
//! settings `CONFIG SET` changes through any proxy.

use std::time::Duration;

use redis::Value;
use tandem_tests::*;

#[test]
fn errors_and_help_match_redis() {
    let differ = Differ::start();
    differ.check(&[
        &["SLOWLOG"],
        &["SLOWLOG", "HELP"],
        &["SLOWLOG", "help", "x"],
        &["SLOWLOG", "NOSUCH"],
        &["SLOWLOG", "GET", "-2"],
        &["SLOWLOG", "GET", "abc"],
        &["SLOWLOG", "GET", "1", "2"],
        &["SLOWLOG", "get", "1", "2"],
        &["SLOWLOG", "LEN", "x"],
        &["SLOWLOG", "RESET", "x"],
        &["SLOWLOG", "RESET"],
        &["CONFIG", "SET", "slowlog-log-slower-than", "-2"],
        &["CONFIG", "SET", "slowlog-log-slower-than", "1.5"],
        &["CONFIG", "SET", "slowlog-max-len", "-1"],
        &["CONFIG", "SET", "slowlog-max-len", "abc"],
        &["CONFIG", "GET", "slowlog-max-len"],
        &["CONFIG", "GET", "slowlog-log-slower-than"],
        &["CONFIG", "SET", "slowlog-max-len", "5"],
        &["CONFIG", "GET", "slowlog-max-len"],
        &["CONFIG", "SET", "slowlog-max-len", "128"],
    ]);
}

/// A slow-log entry without id, time and duration: arguments, client name, client address.
type Entry = (Vec<Vec<u8>>, Vec<u8>, Vec<u8>);

/// The entries of `SLOWLOG GET -1`.
fn entries(conn: &mut redis::Connection) -> Vec<Entry> {
    let Ok(Value::Array(list)) = run_command(conn, &["SLOWLOG", "GET", "-1"]) else {
        panic!("SLOWLOG GET");
    };
    list.into_iter()
        .map(|e| {
            let Value::Array(fields) = e else {
                panic!("entry {e:?}")
            };
            assert_eq!(fields.len(), 6, "{fields:?}");
            assert!(matches!(fields[0], Value::Int(_)));
            assert!(matches!(fields[1], Value::Int(t) if t > 1_700_000_000));
            assert!(matches!(fields[2], Value::Int(d) if d >= 0));
            let Value::Array(args) = &fields[3] else {
                panic!("args {fields:?}")
            };
            let bytes = |v: &Value| match v {
                Value::BulkString(b) => b.clone(),
                other => panic!("{other:?}"),
            };
            let addr = bytes(&fields[4]);
            assert!(
                String::from_utf8_lossy(&addr).starts_with("127.0.0.1:"),
                "{addr:?}"
            );
            (args.iter().map(bytes).collect(), bytes(&fields[5]), addr)
        })
        .collect()
}

#[test]
fn entries_are_made_as_redis_makes_them() {
    let differ = Differ::start();
    let long = "x".repeat(300);
    let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    let mut rpush: Vec<&str> = vec!["RPUSH", "list"];
    rpush.extend(many.iter().map(String::as_str));
    let mut got = Vec::new();
    for conn in [
        &mut differ.tandem().client(),
        &mut differ.reference().client(),
    ] {
        run_command(conn, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]).expect("SET");
        run_command(conn, &["SLOWLOG", "RESET"]).expect("RESET");
        run_command(conn, &["CLIENT", "SETNAME", "observer"]).expect("SETNAME");
        run_command(conn, &["SET", "k", &long]).expect("SET");
        run_command(conn, &rpush).expect("RPUSH");
        run_command(conn, &["HGET", "k", "f"]).expect_err("WRONGTYPE");
        // AUTH is logged with its password redacted.
        let _ = run_command(conn, &["AUTH", "secret"]);
        // A proxy's entries reach the pair's one log with its next report.
        let e = wait_for("the AUTH in the slow log", Duration::from_secs(5), || {
            let e = entries(conn);
            e.iter().any(|(a, _, _)| a[0] == b"AUTH").then_some(e)
        });
        run_command(conn, &["CONFIG", "SET", "slowlog-log-slower-than", "10000"]).expect("SET");
        got.push(e);
    }
    let strip = |e: &Vec<Entry>| {
        e.iter()
            .map(|(args, name, _)| (args.clone(), name.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&got[0]), strip(&got[1]));
    let set = &got[0]
        .iter()
        .find(|(a, _, _)| a[0] == b"SET")
        .expect("SET logged")
        .0;
    assert_eq!(set[2].len(), 128 + "... (172 more bytes)".len());
    let rpush = &got[0]
        .iter()
        .find(|(a, _, _)| a[0] == b"RPUSH")
        .expect("RPUSH logged")
        .0;
    assert_eq!(rpush.len(), 32);
    assert_eq!(rpush[31], b"... (11 more arguments)");
}

#[test]
fn max_len_keeps_the_newest_entries() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    expect(&mut c, &["CONFIG", "SET", "slowlog-max-len", "3"], ok());
    expect(
        &mut c,
        &["CONFIG", "SET", "slowlog-log-slower-than", "0"],
        ok(),
    );
    for i in 0..10 {
        run_command(&mut c, &["SET", "k", &i.to_string()]).expect("SET");
    }
    let Ok(Value::Array(list)) = run_command(&mut c, &["SLOWLOG", "GET"]) else {
        panic!("SLOWLOG GET");
    };
    assert_eq!(list.len(), 3);
    let ids: Vec<i64> = list
        .iter()
        .map(|e| match e {
            Value::Array(f) => match f[0] {
                Value::Int(id) => id,
                _ => panic!("{f:?}"),
            },
            _ => panic!("{e:?}"),
        })
        .collect();
    assert!(ids[0] > ids[1] && ids[1] > ids[2], "newest first: {ids:?}");
    let Ok(Value::Array(one)) = run_command(&mut c, &["SLOWLOG", "GET", "1"]) else {
        panic!("SLOWLOG GET 1");
    };
    assert_eq!(one.len(), 1);
    expect(&mut c, &["SLOWLOG", "RESET"], ok());
    // The RESET itself is the one entry now, as in Redis.
    expect(&mut c, &["SLOWLOG", "LEN"], int(1));
}

/// One log for the pair: a threshold set through one proxy applies to the other, and
/// either proxy's slow commands show through both.
#[test]
fn one_log_for_a_pair_with_two_proxies() {
    let cluster = TestCluster::start();
    let extra = cluster.spawn_extra_proxy();
    let mut a = cluster.client();
    let mut b = extra.client();
    expect(&mut b, &["SLOWLOG", "RESET"], ok());
    expect(
        &mut a,
        &["CONFIG", "SET", "slowlog-log-slower-than", "0"],
        ok(),
    );
    expect(
        &mut b,
        &["CONFIG", "GET", "slowlog-log-slower-than"],
        bulks(&[Some("slowlog-log-slower-than"), Some("0")]),
    );
    // Proxy B learns the threshold within its next report (a second).
    wait_for("proxy B logs its commands", Duration::from_secs(5), || {
        run_command(&mut b, &["ECHO", "from-b"]).expect("ECHO");
        entries(&mut a)
            .iter()
            .any(|(args, _, _)| args.len() == 2 && args[1] == b"from-b")
            .then_some(())
    });
    run_command(&mut a, &["ECHO", "from-a"]).expect("ECHO");
    // A slow command makes its proxy report at once, so the other sees it soon after.
    wait_for(
        "proxy A's entry through proxy B",
        Duration::from_secs(2),
        || {
            entries(&mut b)
                .iter()
                .any(|(args, _, _)| args.len() == 2 && args[1] == b"from-a")
                .then_some(())
        },
    );
    expect(
        &mut a,
        &["CONFIG", "SET", "slowlog-log-slower-than", "-1"],
        ok(),
    );
    expect(&mut a, &["SLOWLOG", "RESET"], ok());
    wait_for("proxy B stops logging", Duration::from_secs(5), || {
        run_command(&mut b, &["SLOWLOG", "RESET"]).expect("RESET");
        run_command(&mut b, &["ECHO", "quiet"]).expect("ECHO");
        (run_command(&mut b, &["SLOWLOG", "LEN"]) == int(0)).then_some(())
    });
}
