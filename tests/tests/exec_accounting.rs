//! What MULTI/EXEC does to INFO commandstats/errorstats and the slow log, against
//! redis-server 7.0.15: the commands EXEC runs are counted under their own names (calls,
//! failed calls), refusals while queueing as rejected calls, MULTI/WATCH inside MULTI as
//! failed calls, EXECABORT as a failed EXEC; a protected DEBUG aborts the transaction when
//! sent; SSUBSCRIBE inside EXEC is refused as Redis refuses it, SUBSCRIBE is not.

use std::collections::BTreeMap;

use redis::Value;
use tandem_tests::*;

/// `cmdstat_<name>` → (calls, rejected_calls, failed_calls).
fn commandstats(conn: &mut redis::Connection) -> BTreeMap<String, (u64, u64, u64)> {
    let mut out = BTreeMap::new();
    for line in info(conn, "commandstats").lines() {
        let Some(rest) = line.strip_prefix("cmdstat_") else {
            continue;
        };
        let (name, fields) = rest.split_once(':').expect("cmdstat line");
        let field = |key: &str| -> u64 {
            fields
                .split(',')
                .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{key} in {line}"))
        };
        out.insert(
            name.to_owned(),
            (
                field("calls"),
                field("rejected_calls"),
                field("failed_calls"),
            ),
        );
    }
    out
}

fn errorstats(conn: &mut redis::Connection) -> Vec<String> {
    info(conn, "errorstats")
        .lines()
        .filter(|l| l.starts_with("errorstat_"))
        .map(str::to_owned)
        .collect()
}

/// The transactions both servers run, with their replies checked as they go.
const SCRIPT: &[&[&str]] = &[
    &["SET", "s", "x"],
    &["MULTI"],
    &["INCR", "s"],
    &["GET", "s"],
    &["CONFIG", "GET", "maxclients"],
    &["SET", "k", "v", "EX", "x"],
    &["PING"],
    &["EXEC"],
    &["MULTI"],
    &["NOSUCH"],
    &["EXEC"],
    &["MULTI"],
    &["MULTI"],
    &["WATCH", "x"],
    &["GET", "s", "extra"],
    &["DISCARD"],
    &["MULTI"],
    &["SAVE"],
    &["EXEC"],
    &["MULTI"],
    &["DEBUG", "SLEEP", "0"],
    &["SET", "a", "b"],
    &["EXEC"],
    &["GET", "a"],
    &["MULTI"],
    &["LPUSH", "l", "1"],
    &["SSUBSCRIBE", "ch"],
    &["EXEC"],
];

#[test]
fn transactions_are_counted_as_redis_counts_them() {
    let differ = Differ::start();
    let mut ours = differ.tandem().client();
    let mut theirs = differ.reference().client();
    for conn in [&mut ours, &mut theirs] {
        run_command(conn, &["CONFIG", "RESETSTAT"]).expect("RESETSTAT");
    }
    for args in SCRIPT {
        let a = run_command(&mut ours, args);
        let b = run_command(&mut theirs, args);
        assert!(
            replies_match(args, &a, &b),
            "{args:?}: tandem {} redis {}",
            render_outcome(&a),
            render_outcome(&b)
        );
    }
    let (mut a, mut b) = (commandstats(&mut ours), commandstats(&mut theirs));
    // Only this connection's commands: leave out what the clients sent on connecting and
    // the INFO that reads the figures.
    for m in [&mut a, &mut b] {
        m.retain(|name, _| !matches!(name.as_str(), "info" | "hello" | "client|setinfo"));
    }
    assert_eq!(a, b, "commandstats: tandem, then redis-server");
    assert_eq!(a.get("incr"), Some(&(1, 0, 1)));
    assert_eq!(a.get("set"), Some(&(2, 0, 1)));
    assert_eq!(a.get("debug"), Some(&(0, 1, 0)));
    assert_eq!(errorstats(&mut ours), errorstats(&mut theirs));
}

#[test]
fn subscribe_inside_exec_matches_redis() {
    let differ = Differ::start();
    for resp3 in [false, true] {
        let mut ours = RawClient::connect(&differ.tandem().addr());
        let mut theirs = RawClient::connect(&differ.reference().addr());
        if resp3 {
            // HELLO's reply names the server: not compared.
            ours.command(&["HELLO", "3"]);
            theirs.command(&["HELLO", "3"]);
        }
        for script in [
            &[
                &["MULTI"][..],
                &["SSUBSCRIBE", "x"],
                &["SUBSCRIBE", "y"],
                &["PING"],
                &["EXEC"],
                &["PING"],
            ][..],
            &[
                &["MULTI"][..],
                &["SUNSUBSCRIBE"],
                &["PSUBSCRIBE", "p*"],
                &["EXEC"],
            ],
        ] {
            let mut a = Vec::new();
            let mut b = Vec::new();
            for args in script {
                a.push(ours.command(args));
                b.push(theirs.command(args));
            }
            assert_eq!(a, b, "RESP3 {resp3} {script:?}");
        }
    }
}

#[test]
fn slow_log_shows_what_exec_ran() {
    let differ = Differ::start();
    let mut logs = Vec::new();
    for conn in [
        &mut differ.tandem().client(),
        &mut differ.reference().client(),
    ] {
        expect(
            conn,
            &["CONFIG", "SET", "slowlog-log-slower-than", "0"],
            ok(),
        );
        expect(conn, &["SLOWLOG", "RESET"], ok());
        expect(conn, &["MULTI"], ok());
        expect(conn, &["SET", "a", "b"], simple("QUEUED"));
        expect(conn, &["Get", "a"], simple("QUEUED"));
        run_command(conn, &["EXEC"]).expect("EXEC");
        expect(
            conn,
            &["CONFIG", "SET", "slowlog-log-slower-than", "10000"],
            ok(),
        );
        // A proxy's entries reach the pair's one log with its next report: read the log
        // once its length has settled.
        let mut last = -1;
        wait_for(
            "the slow log to settle",
            std::time::Duration::from_secs(5),
            || {
                std::thread::sleep(std::time::Duration::from_millis(50));
                let n = match run_command(conn, &["SLOWLOG", "LEN"]) {
                    Ok(Value::Int(n)) => n,
                    _ => -2,
                };
                let settled = n == last && n > 0;
                last = n;
                settled.then_some(())
            },
        );
        let Ok(Value::Array(entries)) = run_command(conn, &["SLOWLOG", "GET"]) else {
            panic!("SLOWLOG GET");
        };
        let commands: Vec<Vec<String>> = entries
            .into_iter()
            .map(|e| match e {
                Value::Array(f) => match &f[3] {
                    Value::Array(args) => args
                        .iter()
                        .map(|a| match a {
                            Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                            other => panic!("{other:?}"),
                        })
                        .collect(),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            })
            .collect();
        logs.push(commands);
    }
    assert_eq!(logs[0], logs[1], "slow log: tandem, then redis-server");
    // EXEC itself is `skip_slowlog`; what it ran is there, as typed.
    assert!(
        logs[0].contains(&vec!["Get".to_owned(), "a".to_owned()]),
        "{:?}",
        logs[0]
    );
}
