//! XINFO STREAM [FULL [COUNT]], XINFO GROUPS, XINFO CONSUMERS, XINFO HELP, XCLAIM (IDLE,
//! TIME, RETRYCOUNT, FORCE, JUSTID, LASTID) and XAUTOCLAIM (COUNT, JUSTID, the deleted
//! ids) against redis-server 7.0, reply for reply in RESP2 and RESP3 (issue 16).
//!
//! Times (idle times, seen times, delivery times) differ between the two servers by the
//! few milliseconds between their runs of a step, so [`check`] compares them within
//! [`TOLERANCE_MS`]: an integer that is a unix time in ms, or the value of an `idle`
//! field. A `SLEEP ms` step sleeps once for both sides, so idle thresholds are crossed on
//! both. Pending entries are made with `XCLAIM … FORCE` and with XREADGROUP. Also: the
//! commands inside MULTI and scripts, their keyspace events, and an XAUTOCLAIM resent after
//! a storaged crash claiming once.

use std::fmt::Write as _;
use std::thread;
use std::time::Duration;

use tandem_tests::{
    render_outcome, run_command, Differ, Outcome, Protocol, RawClient, Signal, TestCluster, Value,
};

/// How far apart two times (or idle times) of the same step may be.
const TOLERANCE_MS: i64 = 1_000;

/// Integers above this are unix times in milliseconds (2001 on).
const UNIX_MS: i64 = 1_000_000_000_000;

fn similar(a: &Value, b: &Value, field: Option<&[u8]>) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            x == y
                || ((field == Some(b"idle") || (*x > UNIX_MS && *y > UNIX_MS))
                    && (x - y).abs() <= TOLERANCE_MS)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).enumerate().all(|(i, (p, q))| {
                    // A RESP2 map is a flat array: its field names precede their values.
                    let name = match i.checked_sub(1).map(|j| &x[j]) {
                        Some(Value::BulkString(n)) => Some(n.as_slice()),
                        _ => None,
                    };
                    similar(p, q, name)
                })
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|((k1, v1), (k2, v2))| {
                    let name = match k1 {
                        Value::BulkString(n) => Some(n.as_slice()),
                        _ => None,
                    };
                    k1 == k2 && similar(v1, v2, name)
                })
        }
        _ => a == b,
    }
}

fn same(ours: &Outcome, theirs: &Outcome) -> bool {
    match (ours, theirs) {
        (Ok(a), Ok(b)) => similar(a, b, None),
        _ => ours == theirs,
    }
}

/// Runs `script` on both sides in RESP2 and in RESP3, from empty databases, comparing
/// every reply (times within [`TOLERANCE_MS`]); `SLEEP ms` sleeps for both.
#[track_caller]
fn check(d: &Differ, script: &[&[&str]]) {
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut ours = d.tandem().client_with(protocol);
        let mut theirs = d.reference().client_with(protocol);
        for conn in [&mut ours, &mut theirs] {
            redis::cmd("FLUSHALL")
                .query::<()>(conn)
                .expect("FLUSHALL before a script");
        }
        for (step, args) in script.iter().enumerate() {
            if args[0] == "SLEEP" {
                let ms = args[1].parse().expect("SLEEP ms");
                thread::sleep(Duration::from_millis(ms));
                continue;
            }
            let got = run_command(&mut ours, args);
            let want = run_command(&mut theirs, args);
            if !same(&got, &want) {
                let mut msg =
                    format!("tandem differs from redis-server ({protocol:?}) at step {step}:\n");
                for (i, earlier) in script[..step].iter().enumerate() {
                    let _ = writeln!(msg, "  [{i}] {}", earlier.join(" "));
                }
                let _ = writeln!(msg, "  [{step}] {}   <-- here", args.join(" "));
                let _ = writeln!(msg, "    tandem:       {}", render_outcome(&got));
                let _ = writeln!(msg, "    redis-server: {}", render_outcome(&want));
                panic!("{msg}");
            }
        }
    }
}

#[test]
fn xinfo_help_arity_and_lookup_errors_in_redis_order() {
    let d = Differ::start();
    check(
        &d,
        &[
            &["XINFO", "HELP"],
            &["XINFO", "help"],
            &["XINFO", "HELP", "x"],
            &["XINFO"],
            &["XINFO", "bogus"],
            &["XINFO", "bogus", "s"],
            &["XINFO", "STREAM"],
            &["XINFO", "GROUPS"],
            &["XINFO", "GROUPS", "s", "x"],
            &["XINFO", "CONSUMERS", "s"],
            &["XINFO", "CONSUMERS", "s", "g", "x"],
            &["XINFO", "STREAM", "missing"],
            &["XINFO", "STREAM", "missing", "bogus"],
            &["XINFO", "GROUPS", "missing"],
            &["XINFO", "CONSUMERS", "missing", "g"],
            &["SET", "str", "v"],
            &["XINFO", "STREAM", "str"],
            &["XINFO", "STREAM", "str", "FULL", "COUNT", "x"],
            &["XINFO", "GROUPS", "str"],
            &["XINFO", "CONSUMERS", "str", "g"],
            &["XADD", "s", "1-1", "f", "v"],
            &["XINFO", "STREAM", "s", "bogus"],
            &["XINFO", "Stream", "s", "FULL", "x"],
            &["XINFO", "STREAM", "s", "FULL", "COUNT"],
            &["XINFO", "STREAM", "s", "FULL", "LIMIT", "1"],
            &["XINFO", "STREAM", "s", "FULL", "COUNT", "x"],
            &["XINFO", "STREAM", "s", "FULL", "COUNT", "1", "x"],
            &["XINFO", "STREAM", "s", "COUNT", "1"],
            &["XINFO", "CONSUMERS", "s", "nogroup"],
            &["XINFO", "GROUPS", "s"],
        ],
    );
}

#[test]
fn xinfo_stream_fields_through_adds_deletes_trims_and_setid() {
    let d = Differ::start();
    check(
        &d,
        &[
            &["XGROUP", "CREATE", "e", "g", "$", "MKSTREAM"],
            &["XINFO", "STREAM", "e"],
            &["XINFO", "STREAM", "e", "FULL"],
            &["XADD", "s", "1-1", "a", "1"],
            &["XINFO", "STREAM", "s"],
            &["XADD", "s", "2-1", "b", "2", "c", "3"],
            &["XADD", "s", "3-1", "d", "4"],
            &["XADD", "s", "4-1", "e", "5"],
            &["XINFO", "STREAM", "s"],
            &["XDEL", "s", "1-1"],
            &["XINFO", "STREAM", "s"],
            &["XDEL", "s", "4-1"],
            &["XINFO", "STREAM", "s"],
            &["XTRIM", "s", "MAXLEN", "1"],
            &["XINFO", "STREAM", "s"],
            &[
                "XSETID",
                "s",
                "10-10",
                "ENTRIESADDED",
                "20",
                "MAXDELETEDID",
                "9-9",
            ],
            &["XINFO", "STREAM", "s"],
            &["XINFO", "STREAM", "s", "FULL"],
            &["XDEL", "s", "3-1"],
            &["XINFO", "STREAM", "s"],
            &["XINFO", "STREAM", "s", "full", "count", "3"],
        ],
    );
}

#[test]
fn xinfo_stream_full_counts_and_nodes() {
    let d = Differ::start();
    let mut script: Vec<Vec<String>> = Vec::new();
    // 250 small entries: three of Redis's nodes (100 entries each), and tandem's.
    for i in 1..=250 {
        script.push(vec![
            "XADD".into(),
            "s".into(),
            format!("{i}-0"),
            "f".into(),
            "v".into(),
        ]);
    }
    let tail: &[&[&str]] = &[
        &["XINFO", "STREAM", "s"],
        &["XINFO", "STREAM", "s", "FULL"],
        &["XINFO", "STREAM", "s", "FULL", "COUNT", "3"],
        &["XINFO", "STREAM", "s", "FULL", "COUNT", "-1"],
        &["XINFO", "STREAM", "s", "FULL", "COUNT", "0"],
        &["XTRIM", "s", "MAXLEN", "~", "120"],
        &["XINFO", "STREAM", "s"],
        &["XTRIM", "s", "MAXLEN", "60"],
        &["XINFO", "STREAM", "s"],
    ];
    script.extend(
        tail.iter()
            .map(|a| a.iter().map(|s| s.to_string()).collect()),
    );
    let owned: Vec<Vec<&str>> = script
        .iter()
        .map(|a| a.iter().map(String::as_str).collect())
        .collect();
    let steps: Vec<&[&str]> = owned.iter().map(Vec::as_slice).collect();
    check(&d, &steps);
}

#[test]
fn xinfo_groups_lag_and_entries_read() {
    let d = Differ::start();
    check(
        &d,
        &[
            &["XGROUP", "CREATE", "s", "fresh", "$", "MKSTREAM"],
            &["XINFO", "GROUPS", "s"],
            &["XADD", "s", "1-0", "f", "v"],
            &["XADD", "s", "2-0", "f", "v"],
            &["XADD", "s", "3-0", "f", "v"],
            &["XADD", "s", "4-0", "f", "v"],
            &["XGROUP", "CREATE", "s", "zero", "0"],
            &["XGROUP", "CREATE", "s", "last", "$"],
            &["XGROUP", "CREATE", "s", "mid", "2-0"],
            &["XGROUP", "CREATE", "s", "known", "2-0", "ENTRIESREAD", "2"],
            &["XGROUP", "CREATE", "s", "ahead", "9-0"],
            &["XGROUP", "CREATE", "s", "first", "1-0"],
            &["XINFO", "GROUPS", "s"],
            &["XDEL", "s", "3-0"],
            &["XINFO", "GROUPS", "s"],
            &["XDEL", "s", "1-0"],
            &["XINFO", "GROUPS", "s"],
            &["XGROUP", "SETID", "s", "known", "4-0", "ENTRIESREAD", "3"],
            &["XINFO", "GROUPS", "s"],
            &["XDEL", "s", "2-0", "4-0"],
            &["XINFO", "GROUPS", "s"],
            &["XINFO", "STREAM", "s", "FULL"],
            &["XGROUP", "CREATECONSUMER", "s", "zero", "bob"],
            &["XGROUP", "CREATECONSUMER", "s", "zero", "alice"],
            &["XINFO", "GROUPS", "s"],
            &["XINFO", "CONSUMERS", "s", "zero"],
            &["XINFO", "CONSUMERS", "s", "last"],
            &["SLEEP", "300"],
            &["XINFO", "CONSUMERS", "s", "zero"],
        ],
    );
}

#[test]
fn xclaim_force_justid_retrycount_idle_time_lastid() {
    let d = Differ::start();
    check(
        &d,
        &[
            &["XADD", "s", "1-0", "a", "1"],
            &["XADD", "s", "2-0", "b", "2"],
            &["XADD", "s", "3-0", "c", "3"],
            &["XADD", "s", "4-0", "d", "4"],
            &["XGROUP", "CREATE", "s", "g", "0"],
            // Nothing pending: nothing claimed, and no consumer made.
            &["XCLAIM", "s", "g", "alice", "0", "1-0", "2-0"],
            &["XINFO", "CONSUMERS", "s", "g"],
            // FORCE makes pending entries of existing entries only.
            &[
                "XCLAIM", "s", "g", "alice", "0", "1-0", "2-0", "3-0", "9-0", "FORCE",
            ],
            &["XINFO", "CONSUMERS", "s", "g"],
            &["XINFO", "GROUPS", "s"],
            &["XINFO", "STREAM", "s", "FULL"],
            // Not idle long enough.
            &["XCLAIM", "s", "g", "bob", "5000", "1-0"],
            &["XINFO", "CONSUMERS", "s", "g"],
            &["SLEEP", "1200"],
            &["XCLAIM", "s", "g", "bob", "1000", "1-0", "JUSTID"],
            &["XINFO", "STREAM", "s", "FULL"],
            &["XCLAIM", "s", "g", "bob", "0", "2-0", "RETRYCOUNT", "7"],
            &["XCLAIM", "s", "g", "carol", "0", "3-0", "IDLE", "60000"],
            &["XINFO", "STREAM", "s", "FULL", "COUNT", "2"],
            &["XINFO", "CONSUMERS", "s", "g"],
            &[
                "XCLAIM", "s", "g", "carol", "0", "2-0", "TIME", "1000", "JUSTID",
            ],
            &[
                "XCLAIM",
                "s",
                "g",
                "carol",
                "0",
                "1-0",
                "TIME",
                "99999999999999",
                "JUSTID",
            ],
            &[
                "XCLAIM",
                "s",
                "g",
                "carol",
                "0",
                "1-0",
                "IDLE",
                "-5",
                "RETRYCOUNT",
                "-1",
            ],
            &["XINFO", "STREAM", "s", "FULL"],
            // The last IDLE/TIME wins; LASTID only raises the group's last id.
            &[
                "XCLAIM", "s", "g", "dave", "0", "3-0", "TIME", "5", "IDLE", "10", "JUSTID",
            ],
            &["XCLAIM", "s", "g", "dave", "0", "LASTID", "3-5"],
            &["XINFO", "GROUPS", "s"],
            &["XCLAIM", "s", "g", "dave", "0", "LASTID", "1-0", "JUSTID"],
            &["XINFO", "GROUPS", "s"],
            // A deleted entry leaves the PEL and the reply.
            &["XDEL", "s", "2-0"],
            &["XCLAIM", "s", "g", "erin", "0", "1-0", "2-0", "3-0"],
            &["XINFO", "STREAM", "s", "FULL"],
            &["XINFO", "CONSUMERS", "s", "g"],
            &["XINFO", "GROUPS", "s"],
            // Redis's unsigned delivery count, sent as a signed integer, wraps past i64::MAX.
            &[
                "XCLAIM",
                "s",
                "g",
                "erin",
                "0",
                "1-0",
                "RETRYCOUNT",
                "9223372036854775807",
            ],
            &["XCLAIM", "s", "g", "erin", "0", "1-0"],
            &["XINFO", "STREAM", "s", "FULL"],
            &["XPENDING", "s", "g", "-", "+", "10", "nobody"],
        ],
    );
}

#[test]
fn xclaim_errors_after_the_lookups() {
    let d = Differ::start();
    check(
        &d,
        &[
            &["XCLAIM", "s", "g", "c", "0"],
            &["XCLAIM", "missing", "g", "c", "x", "1-0"],
            &["SET", "str", "v"],
            &["XCLAIM", "str", "g", "c", "x", "1-0"],
            &["XADD", "s", "1-0", "f", "v"],
            &["XCLAIM", "s", "nog", "c", "x", "1-0"],
            &["XGROUP", "CREATE", "s", "g", "0"],
            &["XCLAIM", "s", "g", "c", "x", "1-0"],
            &["XCLAIM", "s", "g", "c", "1.5", "1-0"],
            &["XCLAIM", "s", "g", "c", "0", "1-0", "bogus"],
            &["XCLAIM", "s", "g", "c", "0", "1-0", "JUSTID", "2-0"],
            &["XCLAIM", "s", "g", "c", "0", "-", "+"],
            &["XCLAIM", "s", "g", "c", "0", "1-0", "IDLE"],
            &["XCLAIM", "s", "g", "c", "0", "1-0", "IDLE", "x"],
            &["XCLAIM", "s", "g", "c", "0", "1-0", "TIME", "x"],
            &["XCLAIM", "s", "g", "c", "0", "1-0", "RETRYCOUNT", "x"],
            &["XCLAIM", "s", "g", "c", "0", "1-0", "LASTID", "x"],
            &["XCLAIM", "s", "g", "c", "0", "1-0", "LASTID", "+"],
            &[
                "XCLAIM", "s", "g", "c", "0", "1-0", "FORCE", "LASTID", "5", "x",
            ],
            // The error came before anything was claimed or moved.
            &["XINFO", "GROUPS", "s"],
            &["XINFO", "CONSUMERS", "s", "g"],
            &["XCLAIM", "s", "g", "c", "-7", "1-0", "FORCE", "JUSTID"],
            &["XINFO", "CONSUMERS", "s", "g"],
        ],
    );
}

#[test]
fn xautoclaim_cursor_count_and_deleted_ids() {
    let d = Differ::start();
    let mut script: Vec<Vec<&str>> = vec![];
    let ids = ["1-0", "2-0", "3-0", "4-0", "5-0", "6-0", "7-0", "8-0"];
    for id in ids {
        script.push(vec!["XADD", "s", id, "f", "v"]);
    }
    script.push(vec!["XGROUP", "CREATE", "s", "g", "0"]);
    let mut force = vec!["XCLAIM", "s", "g", "alice", "0"];
    force.extend(ids);
    force.extend(["FORCE", "JUSTID"]);
    script.push(force);
    let rest: &[&[&str]] = &[
        &["XAUTOCLAIM", "s", "g", "bob", "5000", "0"],
        &["XINFO", "CONSUMERS", "s", "g"],
        &["XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "2"],
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "bob",
            "0",
            "3-0",
            "COUNT",
            "2",
            "JUSTID",
        ],
        &["XINFO", "STREAM", "s", "FULL"],
        &["XDEL", "s", "1-0", "2-0", "5-0", "6-0"],
        &["XAUTOCLAIM", "s", "g", "carol", "0", "-", "COUNT", "1"],
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "carol",
            "0",
            "-",
            "COUNT",
            "2",
            "JUSTID",
        ],
        &["XAUTOCLAIM", "s", "g", "carol", "0", "(4-0", "COUNT", "3"],
        &["XAUTOCLAIM", "s", "g", "carol", "0", "+"],
        &["XINFO", "STREAM", "s", "FULL"],
        &["XINFO", "GROUPS", "s"],
        &["SLEEP", "1200"],
        &["XAUTOCLAIM", "s", "g", "dave", "1000", "0", "JUSTID"],
        &["XINFO", "CONSUMERS", "s", "g"],
        // Errors: the arguments first, then the key and group.
        &["XAUTOCLAIM", "s", "g", "c", "x", "0"],
        &["XAUTOCLAIM", "s", "g", "c", "0", "x"],
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "c",
            "0",
            "(18446744073709551615-18446744073709551615",
        ],
        &["XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "0"],
        &["XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT", "x"],
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "c",
            "0",
            "0",
            "COUNT",
            "576460752303423488",
        ],
        &["XAUTOCLAIM", "s", "g", "c", "0", "0", "COUNT"],
        &["XAUTOCLAIM", "s", "g", "c", "0", "0", "bogus"],
        &["XAUTOCLAIM", "missing", "g", "c", "0", "0"],
        &["XAUTOCLAIM", "missing", "g", "c", "x", "0"],
        &["XAUTOCLAIM", "s", "nog", "c", "0", "0"],
        &["SET", "str", "v"],
        &["XAUTOCLAIM", "str", "g", "c", "0", "0"],
        &["XAUTOCLAIM", "s", "g"],
    ];
    script.extend(rest.iter().map(|a| a.to_vec()));
    let steps: Vec<&[&str]> = script.iter().map(Vec::as_slice).collect();
    check(&d, &steps);
}

/// Every keyspace message a subscriber to `__key*__:*` gets while `script` runs with
/// `notify-keyspace-events KEA`.
fn events(addr: &str, script: &[&[&str]]) -> Vec<String> {
    const DONE: &str = "stream-info-done";
    let mut c = RawClient::connect(addr);
    c.command(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    c.command(&["FLUSHALL"]);
    assert_eq!(
        c.command(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]),
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
            c.command(&["CONFIG", "SET", "notify-keyspace-events", ""]);
            return got;
        }
        got.push(message);
    }
}

#[test]
fn claims_announce_only_the_consumer_they_create() {
    let d = Differ::start();
    let script: &[&[&str]] = &[
        &["XADD", "s", "1-0", "f", "v"],
        &["XADD", "s", "2-0", "f", "v"],
        &["XGROUP", "CREATE", "s", "g", "0"],
        &["XCLAIM", "s", "g", "alice", "0", "1-0"],
        &["XCLAIM", "s", "g", "alice", "0", "1-0", "2-0", "FORCE"],
        &["XCLAIM", "s", "g", "alice", "0", "1-0", "LASTID", "5-0"],
        &["XCLAIM", "s", "g", "bob", "0", "1-0", "x"],
        &["XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "1"],
        &["XAUTOCLAIM", "s", "g", "bob", "0", "0"],
        &["XDEL", "s", "2-0"],
        &["XAUTOCLAIM", "s", "g", "carol", "0", "0"],
        &["XAUTOCLAIM", "s", "g", "dave", "0", "0", "JUSTID"],
    ];
    let ours = events(&d.tandem().addr(), script);
    let theirs = events(&d.reference().addr(), script);
    assert!(theirs.iter().any(|m| m.contains("xgroup-createconsumer")));
    assert_eq!(ours, theirs, "events differ (tandem left, redis right)");
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
            name: "stream_info test".into(),
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

/// An `XAUTOCLAIM` resent after a crash of storaged (as a proxy resends a request whose
/// reply it never got) claims once: the same reply, one more delivery, not two.
#[test]
fn a_resent_xautoclaim_claims_once_after_a_crash() {
    use tandem_shared::command::StreamId;
    use tandem_shared::wire::RequestKey;
    use tandem_shared::Command;
    let mut cluster = TestCluster::start();
    let mut c = cluster.client();
    for step in [
        &["XADD", "s", "1-0", "f", "v"][..],
        &["XGROUP", "CREATE", "s", "g", "0"],
        &[
            "XCLAIM",
            "s",
            "g",
            "alice",
            "0",
            "1-0",
            "FORCE",
            "RETRYCOUNT",
            "1",
        ],
    ] {
        run_command(&mut c, step).expect("setup");
    }
    let claim = || {
        vec![Command::XAutoClaim {
            key: b"s".to_vec(),
            group: b"g".to_vec(),
            consumer: b"bob".to_vec(),
            min_idle: 0,
            start: StreamId::default(),
            count: 10,
            justid: false,
        }]
    };
    let key = RequestKey {
        proxy: 78,
        seq: 1,
        born_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis() as u64,
    };
    let first = WireLink::open(&cluster).keyed(key, 0, claim());
    cluster.kill_storaged(Signal::SIGKILL);
    cluster.start_storaged();
    assert_eq!(WireLink::open(&cluster).keyed(key, 1, claim()), first);
    let mut c = cluster.client();
    let full = run_command(&mut c, &["XINFO", "STREAM", "s", "FULL"]).expect("XINFO STREAM FULL");
    let groups = field(&full, "groups");
    let Value::Array(groups) = groups else {
        panic!("groups: {groups:?}");
    };
    let Value::Array(pending) = field(&groups[0], "pending") else {
        panic!("pending");
    };
    // [[id, consumer, delivery time, deliveries]]: one delivery more than the forced one.
    let Value::Array(p) = &pending[0] else {
        panic!("{pending:?}");
    };
    assert_eq!(p[1], Value::BulkString(b"bob".to_vec()));
    assert_eq!(p[3], Value::Int(2));
}

/// The value of field `name` in a RESP2 map (a flat array).
fn field<'v>(map: &'v Value, name: &str) -> &'v Value {
    let Value::Array(items) = map else {
        panic!("not a map: {map:?}");
    };
    let at = items
        .iter()
        .position(|v| *v == Value::BulkString(name.as_bytes().to_vec()))
        .unwrap_or_else(|| panic!("no {name} in {map:?}"));
    &items[at + 1]
}

#[test]
fn work_queue_read_claimed_acked_and_shown() {
    let d = Differ::start();
    check(
        &d,
        &[
            &["XADD", "s", "1-0", "a", "1"],
            &["XADD", "s", "2-0", "b", "2"],
            &["XADD", "s", "3-0", "c", "3"],
            &["XADD", "s", "4-0", "d", "4"],
            &["XADD", "s", "5-0", "e", "5"],
            &["XADD", "s", "6-0", "f", "6"],
            &["XGROUP", "CREATE", "s", "g", "0"],
            &["XGROUP", "CREATE", "s", "other", "$"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "alice",
                "COUNT",
                "3",
                "STREAMS",
                "s",
                ">",
            ],
            &["XINFO", "GROUPS", "s"],
            &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"],
            &["XINFO", "GROUPS", "s"],
            &["XINFO", "CONSUMERS", "s", "g"],
            &["XINFO", "STREAM", "s", "FULL", "COUNT", "2"],
            &["XCLAIM", "s", "g", "carol", "1000", "1-0", "2-0"],
            &["SLEEP", "1200"],
            &["XCLAIM", "s", "g", "carol", "1000", "1-0", "2-0"],
            &["XPENDING", "s", "g"],
            &["XAUTOCLAIM", "s", "g", "dave", "1000", "0", "COUNT", "2"],
            &[
                "XAUTOCLAIM",
                "s",
                "g",
                "dave",
                "1000",
                "0",
                "COUNT",
                "2",
                "JUSTID",
            ],
            &["XPENDING", "s", "g"],
            &["XACK", "s", "g", "3-0", "6-0"],
            &["XINFO", "STREAM", "s", "FULL"],
            &["XINFO", "CONSUMERS", "s", "g"],
            &["XADD", "s", "7-0", "g", "7"],
            &["XINFO", "GROUPS", "s"],
            &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"],
            &["XDEL", "s", "4-0"],
            &["XINFO", "GROUPS", "s"],
            &["XAUTOCLAIM", "s", "g", "erin", "0", "0"],
            &["XREADGROUP", "GROUP", "g", "erin", "STREAMS", "s", ">"],
            &["XINFO", "GROUPS", "s"],
            &["XINFO", "STREAM", "s", "FULL"],
            &["XINFO", "CONSUMERS", "s", "g"],
            &["XPENDING", "s", "g"],
            &["XGROUP", "DELCONSUMER", "s", "g", "erin"],
            &["XINFO", "STREAM", "s"],
            &["XINFO", "STREAM", "s", "FULL"],
        ],
    );
}

#[test]
fn in_multi_and_scripts() {
    let d = Differ::start();
    check(
        &d,
        &[
            &["XADD", "s", "1-0", "f", "v"],
            &["XADD", "s", "2-0", "f", "v"],
            &["XGROUP", "CREATE", "s", "g", "0"],
            &["MULTI"],
            &[
                "XCLAIM", "s", "g", "alice", "0", "1-0", "2-0", "FORCE", "JUSTID",
            ],
            &["XCLAIM", "s", "g", "alice", "x", "1-0"],
            &["XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "1"],
            &["XINFO", "CONSUMERS", "s", "g"],
            &["XINFO", "STREAM", "s", "FULL", "COUNT", "x"],
            &["XINFO", "GROUPS", "s"],
            &["EXEC"],
            &["MULTI"],
            &["XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "0"],
            &["EXEC"],
            &[
                "EVAL",
                "return redis.call('XINFO', 'STREAM', KEYS[1])",
                "1",
                "s",
            ],
            &[
                "EVAL",
                "return redis.call('XAUTOCLAIM', KEYS[1], 'g', 'carol', '0', '0', 'JUSTID')",
                "1",
                "s",
            ],
            &[
                "EVAL",
                "return redis.call('XCLAIM', KEYS[1], 'g', 'dave', '0', '1-0')",
                "1",
                "s",
            ],
            &[
                "EVAL",
                "return redis.pcall('XINFO', 'CONSUMERS', KEYS[1], 'nog')",
                "1",
                "s",
            ],
            &["EVAL", "return redis.call('XINFO', 'HELP')", "0"],
            &["XINFO", "GROUPS", "s"],
        ],
    );
}
