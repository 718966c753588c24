//! LATENCY against redis-server 7.0.15: help and errors, the monitor's events for a slow
//! command (`latency-monitor-threshold`), HISTORY, RESET, DOCTOR and the per-command
//! HISTOGRAM in Redis 7's format.

use redis::Value;
use tandem_tests::*;

/// A script that spins for about `ms` milliseconds (both servers run it the same way).
fn spin(ms: u64) -> String {
    format!(
        "local t = redis.call('TIME') local start = t[1] * 1000000 + t[2] \
         while true do local n = redis.call('TIME') \
         if n[1] * 1000000 + n[2] - start > {} then break end end return 1",
        ms * 1000
    )
}

#[test]
fn help_errors_and_an_idle_monitor_match_redis() {
    let differ = Differ::start();
    differ.check(&[
        &["LATENCY"],
        &["LATENCY", "HELP"],
        &["LATENCY", "NOSUCH"],
        &["LATENCY", "HISTORY"],
        &["LATENCY", "LATEST", "x"],
        &["LATENCY", "DOCTOR", "x"],
        &["LATENCY", "RESET"],
        &["LATENCY", "LATEST"],
        &["LATENCY", "HISTORY", "command"],
        &["LATENCY", "RESET", "command", "nosuch"],
        &["LATENCY", "DOCTOR"],
        &["LATENCY", "HISTOGRAM", "nosuchcommand"],
        &["CONFIG", "SET", "latency-monitor-threshold", "-1"],
        &["CONFIG", "SET", "latency-monitor-threshold", "x"],
        &["CONFIG", "SET", "latency-monitor-threshold", "100"],
        &["CONFIG", "GET", "latency-monitor-threshold"],
        &["LATENCY", "DOCTOR"],
        &["CONFIG", "SET", "latency-monitor-threshold", "0"],
    ]);
}

/// `[event, time, latest, max]` of LATENCY LATEST.
fn latest(conn: &mut redis::Connection) -> Vec<(String, i64, i64, i64)> {
    let Ok(Value::Array(events)) = run_command(conn, &["LATENCY", "LATEST"]) else {
        panic!("LATENCY LATEST");
    };
    events
        .into_iter()
        .map(|e| match e {
            Value::Array(f) => match &f[..] {
                [Value::BulkString(name), Value::Int(t), Value::Int(l), Value::Int(m)] => {
                    (String::from_utf8_lossy(name).into_owned(), *t, *l, *m)
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn a_slow_command_is_an_event_as_in_redis() {
    let differ = Differ::start();
    for conn in [
        &mut differ.tandem().client(),
        &mut differ.reference().client(),
    ] {
        expect(conn, &["LATENCY", "RESET"], int(0));
        expect(
            conn,
            &["CONFIG", "SET", "latency-monitor-threshold", "20"],
            ok(),
        );
        run_command(conn, &["EVAL", &spin(5), "0"]).expect("short EVAL");
        assert_eq!(
            latest(conn),
            vec![],
            "a command under the threshold is no event"
        );
        run_command(conn, &["EVAL", &spin(40), "0"]).expect("long EVAL");
        let events = latest(conn);
        assert_eq!(events.len(), 1, "{events:?}");
        let (name, time, last, max) = &events[0];
        assert_eq!(name, "command");
        assert!(*time > 1_700_000_000);
        assert!(*last >= 40 && *last < 1000 && max == last, "{events:?}");
        let Ok(Value::Array(history)) = run_command(conn, &["LATENCY", "HISTORY", "command"])
        else {
            panic!("HISTORY");
        };
        assert_eq!(
            history,
            vec![Value::Array(vec![Value::Int(*time), Value::Int(*last)])]
        );
        let Ok(doctor) = run_command(conn, &["LATENCY", "DOCTOR"]) else {
            panic!("DOCTOR");
        };
        let text = match doctor {
            Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
            Value::VerbatimString { text, .. } => text,
            other => panic!("{other:?}"),
        };
        assert!(
            text.starts_with("Dave, I have observed latency spikes"),
            "{text}"
        );
        assert!(text.contains("1. command: 1 latency spikes"), "{text}");
        expect(conn, &["LATENCY", "RESET", "command", "nosuch"], int(1));
        assert_eq!(latest(conn), vec![]);
        expect(
            conn,
            &["CONFIG", "SET", "latency-monitor-threshold", "0"],
            ok(),
        );
    }
}

/// `LATENCY HISTOGRAM`: per command its calls and cumulative counts at Redis's bucket
/// bounds (microseconds, powers of two as HdrHistogram reports them).
#[test]
fn histogram_has_redis_shape() {
    let differ = Differ::start();
    let bounds: Vec<i64> = (0..31)
        .map(|k| {
            let v: u64 = 1024 << k;
            // HdrHistogram's highest equivalent value (2 significant digits) in µs.
            let bucket = (64 - (v | 255).leading_zeros()).saturating_sub(8);
            ((v + (1u64 << bucket) - 1) / 1000) as i64
        })
        .collect();
    for conn in [
        &mut differ.tandem().client(),
        &mut differ.reference().client(),
    ] {
        expect(conn, &["CONFIG", "RESETSTAT"], ok());
        for _ in 0..5 {
            run_command(conn, &["SET", "k", "v"]).expect("SET");
        }
        run_command(conn, &["CONFIG", "GET", "maxclients"]).expect("CONFIG GET");
        let Ok(Value::Array(reply)) = run_command(
            conn,
            &["LATENCY", "HISTOGRAM", "set", "CONFIG|GET", "nosuch", "get"],
        ) else {
            panic!("HISTOGRAM");
        };
        // RESP2: name, [calls, n, histogram_usec, [bound, count, ...]], ...
        assert_eq!(reply.len(), 4, "{reply:?}");
        let mut names = Vec::new();
        for pair in reply.chunks(2) {
            let Value::BulkString(name) = &pair[0] else {
                panic!("{pair:?}")
            };
            names.push(String::from_utf8_lossy(name).into_owned());
            let Value::Array(body) = &pair[1] else {
                panic!("{pair:?}")
            };
            let [Value::BulkString(calls_name), Value::Int(calls), Value::BulkString(h), Value::Array(buckets)] =
                &body[..]
            else {
                panic!("{body:?}")
            };
            assert_eq!(calls_name, b"calls");
            assert_eq!(h, b"histogram_usec");
            let expected_calls = if name == b"set" { 5 } else { 1 };
            assert_eq!(*calls, expected_calls);
            let mut last = 0;
            for b in buckets.chunks(2) {
                let [Value::Int(bound), Value::Int(count)] = b else {
                    panic!("{b:?}")
                };
                assert!(bounds.contains(bound), "{bound} is not a bucket bound");
                assert!(*count > last, "cumulative counts grow");
                last = *count;
            }
            assert_eq!(last, expected_calls);
        }
        names.sort();
        assert_eq!(names, ["config|get", "set"]);
    }
}
