//! `LATENCY GRAPH event` against redis-server 7.0.15: the errors (unknown event, arity) and
//! the graph of a real event, Redis's ASCII sparkline, compared line by line with only the
//! measured milliseconds and the sample's age left out.

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
fn graph_errors_match_redis() {
    let differ = Differ::start();
    differ.check(&[
        &["LATENCY", "RESET"],
        &["LATENCY", "GRAPH"],
        &["LATENCY", "GRAPH", "command", "extra"],
        &["LATENCY", "GRAPH", "command"],
        &["LATENCY", "GRAPH", "nosuch-event"],
        &["LATENCY", "GRAPH", ""],
    ]);
}

fn text(v: Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
        Value::VerbatimString { format, text } => {
            assert_eq!(format, redis::VerbatimFormat::Text);
            text
        }
        other => panic!("{other:?}"),
    }
}

/// Digits masked, so that the lines measured on two servers compare.
fn masked(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_digit() { '9' } else { c })
        .collect()
}

#[test]
fn graph_of_one_event_has_redis_shape() {
    let differ = Differ::start();
    let mut graphs = Vec::new();
    for conn in [
        &mut differ.tandem().client(),
        &mut differ.reference().client(),
        &mut differ.tandem().client_resp3(),
        &mut differ.reference().client_resp3(),
    ] {
        run_command(conn, &["LATENCY", "RESET"]).expect("LATENCY RESET");
        expect(
            conn,
            &["CONFIG", "SET", "latency-monitor-threshold", "20"],
            ok(),
        );
        run_command(conn, &["EVAL", &spin(40), "0"]).expect("long EVAL");
        let graph = text(run_command(conn, &["LATENCY", "GRAPH", "command"]).expect("GRAPH"));
        let lines: Vec<&str> = graph.split('\n').collect();
        let header = lines[0];
        assert!(
            header.starts_with("command - high ") && header.ends_with(" ms)"),
            "{graph}"
        );
        let ms: Vec<u64> = header
            .split(|c: char| !c.is_ascii_digit())
            .filter(|w| !w.is_empty())
            .map(|w| w.parse().expect("number"))
            .collect();
        // high, low, all-time high: one sample of 40 ms or more.
        assert_eq!(ms.len(), 3, "{graph}");
        assert!(ms[0] >= 40 && ms[0] == ms[1] && ms[1] == ms[2], "{graph}");
        graphs.push(masked(&graph));
        expect(
            conn,
            &["CONFIG", "SET", "latency-monitor-threshold", "0"],
            ok(),
        );
    }
    assert_eq!(graphs[0], graphs[1], "RESP2: tandem, then redis-server");
    assert_eq!(graphs[2], graphs[3], "RESP3: tandem, then redis-server");
    // One sample at the bottom step, a blank line, its age as a label ("0s"/"1s").
    assert_eq!(
        graphs[1].split('\n').skip(1).collect::<Vec<_>>(),
        [
            "-".repeat(80).as_str(),
            " ",
            " ",
            " ",
            "_",
            " ",
            "9",
            "s",
            ""
        ]
    );
}
