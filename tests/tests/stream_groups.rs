//! Stream consumer groups (issue 16) against redis-server 7.0, reply for reply in RESP2 and
//! RESP3: XREADGROUP (`>`, history from an explicit id, COUNT, NOACK, several streams,
//! deleted entries, SETID back, its errors in Redis's order), XACK, XPENDING (summary and
//! extended form with IDLE, exclusive bounds and a consumer; idle times compared within a
//! tolerance); XREADGROUP BLOCK (woken across proxies in blocking order, a destroyed group
//! or deleted key answered Redis's errors, CLIENT UNBLOCK, no blocking inside MULTI or
//! scripts, blocked readers kept in order across storaged restarts); the
//! `xgroup-createconsumer` event; an XREADGROUP resent after a storaged crash delivers once;
//! a two-consumer work queue on two proxies across a storaged SIGKILL.

use std::fmt::Write as _;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use tandem_tests::{
    connect, expect, int, render_outcome, replies_match, run_command, wait_for, Differ, Outcome,
    Protocol, RawClient, Signal, TestCluster, Value,
};

const WAIT: Duration = Duration::from_secs(10);

/// Idle times of the two servers differ by the time between their commands.
const IDLE_TOLERANCE_MS: i64 = 1500;

/// Whether two XPENDING extended replies are the same but for idle times within the
/// tolerance.
fn pending_match(a: &Value, b: &Value) -> bool {
    let (Value::Array(x), Value::Array(y)) = (a, b) else {
        return a == b;
    };
    x.len() == y.len()
        && x.iter().zip(y).all(|(p, q)| match (p, q) {
            (Value::Array(p), Value::Array(q)) if p.len() == 4 && q.len() == 4 => {
                let idle_close = match (&p[2], &q[2]) {
                    (Value::Int(i), Value::Int(j)) => (i - j).abs() <= IDLE_TOLERANCE_MS,
                    _ => false,
                };
                p[0] == q[0] && p[1] == q[1] && p[3] == q[3] && idle_close
            }
            _ => p == q,
        })
}

/// [`Differ::check`], with XPENDING's idle times compared within [`IDLE_TOLERANCE_MS`].
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
            let got = run_command(&mut ours, args);
            let want = run_command(&mut theirs, args);
            let same = match (&got, &want) {
                (Ok(a), Ok(b)) if args[0].eq_ignore_ascii_case("XPENDING") && args.len() > 3 => {
                    pending_match(a, b)
                }
                _ => replies_match(args, &got, &want),
            };
            if !same {
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
fn xreadgroup_reads_new_entries_and_history_as_redis() {
    let d = Differ::start();
    check(
        &d,
        &[
            &["XADD", "s", "1-1", "a", "1"],
            &["XADD", "s", "2-1", "b", "2"],
            &["XADD", "s", "3-1", "c", "3"],
            &["XGROUP", "CREATE", "s", "g", "0"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "alice",
                "COUNT",
                "1",
                "STREAMS",
                "s",
                ">",
            ],
            &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"],
            &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"],
            // History: the consumer's own pending entries above the id, counted again.
            &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"],
            &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0-0"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "bob",
                "COUNT",
                "1",
                "STREAMS",
                "s",
                "2-1",
            ],
            &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "3-1"],
            &["XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", "0"],
            &["XPENDING", "s", "g"],
            &["XPENDING", "s", "g", "-", "+", "10"],
            // A deleted pending entry is [id, nil] and not counted as a delivery.
            &["XDEL", "s", "2-1"],
            &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0"],
            &["XPENDING", "s", "g", "-", "+", "10"],
            // SETID back: pending entries change owner and start again at one delivery.
            &["XGROUP", "SETID", "s", "g", "0"],
            &["XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", ">"],
            &["XPENDING", "s", "g", "-", "+", "10"],
            &["XPENDING", "s", "g"],
            // NOACK: delivered, nothing pending.
            &["XADD", "s", "4-1", "d", "4"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "dave",
                "NOACK",
                "STREAMS",
                "s",
                ">",
            ],
            &["XPENDING", "s", "g", "-", "+", "10", "dave"],
            &["XREADGROUP", "GROUP", "g", "dave", "STREAMS", "s", "0"],
            // Nothing new: a null array, and no consumer is made.
            &["XREADGROUP", "GROUP", "g", "erin", "STREAMS", "s", ">"],
            &["XGROUP", "CREATECONSUMER", "s", "g", "erin"],
            &["XGROUP", "DELCONSUMER", "s", "g", "carol"],
            &["XPENDING", "s", "g"],
            // The largest id given explicitly is `>`.
            &["XADD", "s", "5-1", "e", "5"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "erin",
                "STREAMS",
                "s",
                "18446744073709551615-18446744073709551615",
            ],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "erin",
                "COUNT",
                "-3",
                "STREAMS",
                "s",
                "0",
            ],
        ],
    );
}

#[test]
fn xreadgroup_several_streams_and_errors_in_redis_order() {
    let d = Differ::start();
    check(
        &d,
        &[
            &["XADD", "a", "1-1", "f", "1"],
            &["XADD", "b", "1-1", "f", "2"],
            &["XADD", "b", "2-1", "f", "3"],
            &["XGROUP", "CREATE", "a", "g", "0"],
            &["XGROUP", "CREATE", "b", "g", "$"],
            &["SET", "str", "x"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "STREAMS",
                "a",
                "b",
                ">",
                ">",
            ],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "STREAMS",
                "a",
                "b",
                "0",
                ">",
            ],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "STREAMS",
                "b",
                "a",
                "0",
                "0",
            ],
            &["XADD", "b", "3-1", "f", "4"],
            &["XADD", "a", "3-1", "f", "5"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "COUNT",
                "1",
                "STREAMS",
                "a",
                "b",
                ">",
                ">",
            ],
            // The same key twice: the second read sees what the first delivered.
            &["XADD", "a", "4-1", "f", "6"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "COUNT",
                "1",
                "STREAMS",
                "a",
                "a",
                ">",
                ">",
            ],
            // Errors: each stream in turn (type, key and group, then `$`/the id).
            &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "STREAMS",
                "a",
                "str",
                ">",
                ">",
            ],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "STREAMS",
                "a",
                "str",
                "x",
                ">",
            ],
            &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "nokey", ">"],
            &["XREADGROUP", "GROUP", "nog", "c", "STREAMS", "a", ">"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "STREAMS",
                "a",
                "nokey",
                "$",
                ">",
            ],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "STREAMS",
                "a",
                "b",
                "$",
                "x",
            ],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "STREAMS",
                "a",
                "b",
                "x",
                "$",
            ],
            &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "-"],
            &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "+"],
            &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "b", ">"],
            &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "a"],
            &["XREADGROUP", "GROUP", "g", "STREAMS", "a", ">"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "COUNT",
                "x",
                "STREAMS",
                "a",
                ">",
            ],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "-1",
                "STREAMS",
                "a",
                ">",
            ],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "x",
                "STREAMS",
                "a",
                ">",
            ],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BOGUS",
                "STREAMS",
                "a",
                ">",
            ],
            &["XREADGROUP", "COUNT", "1", "NOACK", "STREAMS", "a", ">"],
            &["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "NOACK"],
            &["XREAD", "GROUP", "g", "c", "STREAMS", "a", ">"],
            &["XREAD", "NOACK", "STREAMS", "a", "0"],
            &["XREAD", "STREAMS", "a", ">"],
            &["XPENDING", "a", "g"],
            &["XPENDING", "b", "g"],
        ],
    );
}

#[test]
fn xack_and_xpending_as_redis() {
    let d = Differ::start();
    check(
        &d,
        &[
            &["XADD", "s", "1-1", "f", "1"],
            &["XADD", "s", "2-1", "f", "2"],
            &["XADD", "s", "3-1", "f", "3"],
            &["XADD", "s", "4-1", "f", "4"],
            &["XGROUP", "CREATE", "s", "g", "0"],
            &["XPENDING", "s", "g"],
            &["XPENDING", "s", "g", "-", "+", "10"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "a",
                "COUNT",
                "2",
                "STREAMS",
                "s",
                ">",
            ],
            &["XREADGROUP", "GROUP", "g", "b", "STREAMS", "s", ">"],
            &["XPENDING", "s", "g"],
            &["XPENDING", "s", "g", "-", "+", "10"],
            &["XPENDING", "s", "g", "-", "+", "2"],
            &["XPENDING", "s", "g", "(1-1", "(4-1", "10"],
            &["XPENDING", "s", "g", "2", "3", "10"],
            &["XPENDING", "s", "g", "-", "+", "10", "b"],
            &["XPENDING", "s", "g", "-", "+", "10", "nobody"],
            &["XPENDING", "s", "g", "-", "+", "0"],
            &["XPENDING", "s", "g", "-", "+", "-5"],
            &["XPENDING", "s", "g", "IDLE", "0", "-", "+", "10"],
            &["XPENDING", "s", "g", "IDLE", "-5", "-", "+", "10", "a"],
            &["XPENDING", "s", "g", "IDLE", "100000", "-", "+", "10"],
            &["XPENDING", "s", "g", "idle", "100000", "-", "+", "10", "a"],
            &["XPENDING", "s", "g", "-", "+", "10", "a", "extra"],
            &["XPENDING", "s", "g", "-", "+", "10", "a", "extra", "more"],
            // Argument errors come before the lookup, in Redis's order.
            &["XPENDING", "s", "g", "-", "+"],
            &["XPENDING", "s", "g", "IDLE", "10", "-", "+"],
            &["XPENDING", "s", "g", "IDLE", "x", "-", "+", "10"],
            &["XPENDING", "s", "g", "IDLE", "10", "-", "+", "x"],
            &["XPENDING", "s", "g", "x", "+", "10"],
            &["XPENDING", "s", "g", "-", "x", "10"],
            &["XPENDING", "s", "g", "(", "+", "10"],
            &[
                "XPENDING",
                "s",
                "g",
                "(18446744073709551615-18446744073709551615",
                "+",
                "10",
            ],
            &["XPENDING", "s", "g", "-", "(0-0", "10"],
            &["XPENDING", "s", "nog", "-", "+", "x"],
            &["XPENDING", "s", "nog"],
            &["XPENDING", "nokey", "g", "-", "+", "10"],
            &["XPENDING", "s", "g", "1", "2", "3", "4", "5", "6", "7"],
            &["SET", "str", "x"],
            &["XPENDING", "str", "g"],
            // XACK: counted once each; nothing for a missing key or group, whatever the ids.
            &["XACK", "s", "g", "1-1", "1-1", "9-9"],
            &["XACK", "s", "g", "2"],
            &["XACK", "s", "g", "3-1", "x"],
            &["XPENDING", "s", "g"],
            &["XACK", "s", "nog", "x"],
            &["XACK", "nokey", "g", "x"],
            &["XACK", "str", "g", "1-1"],
            &["XACK", "s", "g", "-"],
            &["XACK", "s", "g", "3-1", "4-1"],
            &["XPENDING", "s", "g"],
            &["XPENDING", "s", "g", "-", "+", "10"],
        ],
    );
}

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

/// Waits until storaged (seen through the proxy at `addr`) has `parked` parked requests.
#[track_caller]
fn wait_parked(addr: &str, parked: i64) {
    wait_for(&format!("{parked} parked"), WAIT, || {
        (info_field(addr, "storage", "blocked_requests") == parked).then_some(())
    });
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

fn bulk_id(id: &str) -> Outcome {
    Ok(Value::BulkString(id.as_bytes().to_vec()))
}

#[test]
fn blocked_group_readers_are_served_across_proxies_in_order() {
    let cluster = TestCluster::start();
    let other = cluster.spawn_extra_proxy();
    let mut c = cluster.client();
    expect(&mut c, &["XADD", "q", "1-1", "f", "old"], bulk_id("1-1"));
    expect(
        &mut c,
        &["XGROUP", "CREATE", "q", "g", "$"],
        Ok(Value::Okay),
    );
    let first = spawn_command(
        other.addr(),
        Protocol::Resp2,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "one",
            "BLOCK",
            "0",
            "STREAMS",
            "q",
            ">",
        ],
    );
    wait_parked(&other.addr(), 1);
    let second = spawn_command(
        cluster.addr(),
        Protocol::Resp3,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "two",
            "BLOCK",
            "0",
            "STREAMS",
            "q",
            ">",
        ],
    );
    wait_parked(&other.addr(), 2);
    // One entry: the first to block gets it, the second waits on (the group moved past it).
    expect(&mut c, &["XADD", "q", "2-1", "f", "a"], bulk_id("2-1"));
    assert_eq!(
        first.recv_timeout(WAIT).expect("first served"),
        served(Protocol::Resp2, "q", &[("2-1", "f", "a")])
    );
    wait_parked(&other.addr(), 1);
    assert!(second.try_recv().is_err());
    let mut o = other.client();
    expect(&mut o, &["XADD", "q", "3-1", "f", "b"], bulk_id("3-1"));
    assert_eq!(
        second.recv_timeout(WAIT).expect("second served"),
        served(Protocol::Resp3, "q", &[("3-1", "f", "b")])
    );
    // Both deliveries are pending, each with its consumer (which the serving created).
    let Ok(Value::Array(pending)) = run_command(&mut c, &["XPENDING", "q", "g", "-", "+", "10"])
    else {
        panic!("XPENDING");
    };
    let owners: Vec<Value> = pending
        .iter()
        .filter_map(|p| match p {
            Value::Array(p) => p.get(1).cloned(),
            _ => None,
        })
        .collect();
    assert_eq!(
        owners,
        vec![
            Value::BulkString(b"one".to_vec()),
            Value::BulkString(b"two".to_vec())
        ]
    );
    // COUNT bounds a served reader; NOACK leaves nothing pending.
    let counted = spawn_command(
        cluster.addr(),
        Protocol::Resp2,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "three",
            "COUNT",
            "1",
            "NOACK",
            "BLOCK",
            "0",
            "STREAMS",
            "q",
            ">",
        ],
    );
    wait_parked(&cluster.addr(), 1);
    expect(
        &mut c,
        &[
            "EVAL",
            "redis.call('XADD','q','4-1','f','c') return redis.call('XADD','q','5-1','f','d')",
            "0",
        ],
        bulk_id("5-1"),
    );
    assert_eq!(
        counted.recv_timeout(WAIT).expect("counted"),
        served(Protocol::Resp2, "q", &[("4-1", "f", "c")])
    );
    expect(
        &mut c,
        &["XPENDING", "q", "g", "-", "+", "10", "three"],
        Ok(Value::Array(vec![])),
    );
    // A timeout is a null array.
    let timed = spawn_command(
        cluster.addr(),
        Protocol::Resp3,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "four",
            "COUNT",
            "5",
            "BLOCK",
            "50",
            "STREAMS",
            "q",
            ">",
        ],
    );
    assert_eq!(
        timed.recv_timeout(WAIT).expect("served at once"),
        served(Protocol::Resp3, "q", &[("5-1", "f", "d")])
    );
    let timed = spawn_command(
        cluster.addr(),
        Protocol::Resp3,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "four",
            "BLOCK",
            "50",
            "STREAMS",
            "q",
            ">",
        ],
    );
    assert_eq!(timed.recv_timeout(WAIT).expect("timeout"), Ok(Value::Nil));
}

#[test]
fn a_blocked_group_reader_gets_redis_errors_when_its_group_or_key_goes() {
    let cluster = TestCluster::start();
    let addr = cluster.addr();
    let mut c = cluster.client();
    let block = || {
        spawn_command(
            addr.clone(),
            Protocol::Resp2,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "k",
                ">",
            ],
        )
    };
    expect(
        &mut c,
        &["XGROUP", "CREATE", "k", "g", "$", "MKSTREAM"],
        Ok(Value::Okay),
    );
    let rx = block();
    wait_parked(&addr, 1);
    // Writes that bring nothing new leave it blocked.
    expect(&mut c, &["XGROUP", "CREATECONSUMER", "k", "g", "x"], int(1));
    expect(
        &mut c,
        &["XGROUP", "CREATE", "k", "g2", "0"],
        Ok(Value::Okay),
    );
    wait_parked(&addr, 1);
    expect(&mut c, &["XGROUP", "DESTROY", "k", "g"], int(1));
    assert_eq!(
        rx.recv_timeout(WAIT).expect("woken"),
        Err("NOGROUP the consumer group this client was blocked on no longer exists".to_owned())
    );
    for gone in [
        &["DEL", "k"][..],
        &["SET", "k", "x"],
        &["RENAME", "k", "k2"],
    ] {
        let _ = run_command(&mut c, &["DEL", "k", "k2"]);
        expect(
            &mut c,
            &["XGROUP", "CREATE", "k", "g", "$", "MKSTREAM"],
            Ok(Value::Okay),
        );
        let rx = block();
        wait_parked(&addr, 1);
        let r = run_command(&mut c, gone);
        assert!(r.is_ok(), "{gone:?}: {r:?}");
        assert_eq!(
            rx.recv_timeout(WAIT).expect("woken"),
            Err("UNBLOCKED the stream key no longer exists".to_owned()),
            "{gone:?}"
        );
    }
    wait_parked(&addr, 0);
}

#[test]
fn client_unblock_multi_and_scripts_with_a_blocking_xreadgroup() {
    let cluster = TestCluster::start();
    let addr = cluster.addr();
    let mut admin = cluster.client();
    expect(
        &mut admin,
        &["XGROUP", "CREATE", "u", "g", "$", "MKSTREAM"],
        Ok(Value::Okay),
    );
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
                &[
                    "XREADGROUP",
                    "GROUP",
                    "g",
                    "c",
                    "BLOCK",
                    "0",
                    "STREAMS",
                    "u",
                    ">",
                ],
            ));
        });
        let Ok(Ok(Value::Int(id))) = rx.recv_timeout(WAIT) else {
            panic!("no client id");
        };
        wait_parked(&addr, 1);
        expect(
            &mut admin,
            &["CLIENT", "UNBLOCK", &id.to_string(), mode],
            int(1),
        );
        let got = rx.recv_timeout(WAIT).expect("released");
        if mode == "ERROR" {
            assert_eq!(
                got,
                Err("UNBLOCKED client unblocked via CLIENT UNBLOCK".to_owned())
            );
        } else {
            assert_eq!(got, Ok(Value::Nil));
        }
        wait_parked(&addr, 0);
    }
    // Nothing was delivered to the released reader.
    expect(&mut admin, &["XADD", "u", "1-1", "f", "v"], bulk_id("1-1"));
    expect(
        &mut admin,
        &["XPENDING", "u", "g", "-", "+", "10"],
        Ok(Value::Array(vec![])),
    );
    // Inside MULTI and scripts it does not block (as Redis, compared with it).
    let d = Differ::start();
    check(
        &d,
        &[
            &["XGROUP", "CREATE", "m", "g", "$", "MKSTREAM"],
            &["MULTI"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "m",
                ">",
            ],
            &["XADD", "m", "1-1", "f", "v"],
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "BLOCK",
                "0",
                "STREAMS",
                "m",
                ">",
            ],
            &["EXEC"],
            &[
                "EVAL",
                "return redis.call('xreadgroup','GROUP','g','c','BLOCK','0','STREAMS','m','>')",
                "0",
            ],
            &[
                "EVAL",
                "return redis.call('XREADGROUP','GROUP','g','c','STREAMS','m','0')",
                "0",
            ],
            &[
                "EVAL",
                "return redis.call('xread','BLOCK','0','STREAMS','m','$')",
                "0",
            ],
            &["XPENDING", "m", "g"],
        ],
    );
}

/// The keyspace events a script causes on the server at `addr`, as the subscriber reads
/// them (raw RESP).
fn events(addr: &str, script: &[&[&str]]) -> Vec<String> {
    const DONE: &str = "stream-groups-done";
    let mut c = RawClient::connect(addr);
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
    c.command(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    let mut got = Vec::new();
    loop {
        let message = sub.reply();
        if message.contains(DONE) {
            return got;
        }
        got.push(message);
    }
}

#[test]
fn xreadgroup_announces_the_consumers_it_creates() {
    let d = Differ::start();
    let script: &[&[&str]] = &[
        &["XADD", "a", "1-1", "f", "v"],
        &["XADD", "b", "1-1", "f", "v"],
        &["XGROUP", "CREATE", "a", "g", "0"],
        &["XGROUP", "CREATE", "b", "g", "$"],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "STREAMS",
            "a",
            "b",
            ">",
            ">",
        ],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "STREAMS",
            "a",
            "b",
            "0",
            "0",
        ],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "d",
            "STREAMS",
            "a",
            "b",
            ">",
            ">",
        ],
        &["XREADGROUP", "GROUP", "g", "d", "STREAMS", "b", "0"],
        &["XACK", "a", "g", "1-1"],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "e",
            "BLOCK",
            "10",
            "STREAMS",
            "b",
            "0",
        ],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "e",
            "BLOCK",
            "10",
            "STREAMS",
            "b",
            ">",
        ],
    ];
    let ours = events(&d.tandem().addr(), script);
    let theirs = events(&d.reference().addr(), script);
    assert_eq!(ours, theirs, "tandem left, redis-server right");
    assert!(ours.iter().any(|e| e.contains("xgroup-createconsumer")));
}

/// The storaged link of a test that plays a proxy: a hello, then keyed requests.
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
            name: "stream groups test".into(),
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

/// An XREADGROUP resent after a crash of storaged (as a proxy resends a request whose
/// reply it never got) is answered its first reply and delivers nothing twice: the
/// entries stay pending once, with one delivery.
#[test]
fn a_resent_xreadgroup_delivers_once_after_a_crash() {
    use tandem_shared::command::XReadId;
    use tandem_shared::wire::RequestKey;
    use tandem_shared::Command;
    let mut cluster = TestCluster::start();
    let mut c = cluster.client();
    expect(&mut c, &["XADD", "w", "1-1", "f", "a"], bulk_id("1-1"));
    expect(&mut c, &["XADD", "w", "2-1", "f", "b"], bulk_id("2-1"));
    expect(
        &mut c,
        &["XGROUP", "CREATE", "w", "g", "0"],
        Ok(Value::Okay),
    );
    let read = || {
        vec![Command::XReadGroup {
            group: b"g".to_vec(),
            consumer: b"c".to_vec(),
            count: 1,
            noack: false,
            keys: vec![b"w".to_vec()],
            ids: vec![XReadId::NewOnly],
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
    let first = WireLink::open(&cluster).keyed(key, 0, read());
    cluster.kill_storaged(Signal::SIGKILL);
    cluster.start_storaged();
    assert_eq!(WireLink::open(&cluster).keyed(key, 1, read()), first);
    let mut c = cluster.client();
    let Ok(Value::Array(pending)) = run_command(&mut c, &["XPENDING", "w", "g", "-", "+", "10"])
    else {
        panic!("XPENDING");
    };
    assert_eq!(pending.len(), 1, "{pending:?}");
    let Value::Array(p) = &pending[0] else {
        panic!("{pending:?}");
    };
    assert_eq!(p[0], Value::BulkString(b"1-1".to_vec()));
    assert_eq!(p[3], Value::Int(1));
    // The next read gets the next entry.
    let next = run_command(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "w", ">"],
    );
    assert_eq!(next, served(Protocol::Resp2, "w", &[("2-1", "f", "b")]));
}

/// The entry ids of an `XREADGROUP` reply (RESP2), in order; empty for a null reply.
fn delivered_ids(reply: &Value) -> Vec<String> {
    let Value::Array(streams) = reply else {
        return Vec::new();
    };
    let mut ids = Vec::new();
    for stream in streams {
        let Value::Array(pair) = stream else { continue };
        let Some(Value::Array(entries)) = pair.get(1) else {
            continue;
        };
        for entry in entries {
            if let Value::Array(e) = entry {
                if let Some(Value::BulkString(id)) = e.first() {
                    ids.push(String::from_utf8_lossy(id).into_owned());
                }
            }
        }
    }
    ids
}

/// Whether `bytes` is a bulk string anywhere in `v`.
fn has_bulk(v: &Value, bytes: &[u8]) -> bool {
    match v {
        Value::BulkString(b) => b == bytes,
        Value::Array(items) | Value::Set(items) => items.iter().any(|i| has_bulk(i, bytes)),
        Value::Map(pairs) => pairs
            .iter()
            .any(|(k, v)| has_bulk(k, bytes) || has_bulk(v, bytes)),
        _ => false,
    }
}

/// What one work-queue consumer saw.
#[derive(Default)]
struct Worked {
    /// Every id delivered to it, in order (with repeats, if any).
    delivered: Vec<String>,
    /// The ids its XACKs removed (each XACK of one id replying 1).
    acked: Vec<String>,
    /// Error replies it got (a storaged restart may cost a few).
    errors: Vec<String>,
}

/// One consumer of a work queue: reads new entries (`>`) in batches, acknowledging each
/// entry alone, until `stop`; after an error it re-reads its own pending history first,
/// as a client recovers entries whose delivery it may have missed.
fn consume(
    addr: String,
    name: &'static str,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Worked {
    use std::sync::atomic::Ordering;
    let mut worked = Worked::default();
    let mut c = connect(&addr, None, Protocol::Resp2);
    let mut recover = false;
    while !stop.load(Ordering::Relaxed) {
        let from = if recover { "0" } else { ">" };
        let read = run_command(
            &mut c,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                name,
                "COUNT",
                "25",
                "BLOCK",
                "100",
                "STREAMS",
                "work",
                from,
            ],
        );
        let ids = match read {
            Ok(reply) => delivered_ids(&reply),
            Err(e) => {
                worked.errors.push(e);
                recover = true;
                continue;
            }
        };
        if recover && ids.is_empty() {
            recover = false;
        }
        for id in ids {
            worked.delivered.push(id.clone());
            match run_command(&mut c, &["XACK", "work", "g", &id]) {
                Ok(Value::Int(1)) => worked.acked.push(id),
                Ok(_) => {}
                Err(e) => {
                    worked.errors.push(e);
                    recover = true;
                }
            }
        }
    }
    worked
}

/// A work queue with two consumers on two proxies while a producer adds entries and
/// storaged is SIGKILLed in the middle: every entry is delivered and acknowledged exactly
/// once, none is lost, and nothing stays pending.
#[test]
fn a_work_queue_survives_a_storaged_sigkill() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    const ENTRIES: u64 = 3000;
    let mut cluster = TestCluster::start();
    let other = cluster.spawn_extra_proxy();
    let mut c = cluster.client();
    expect(
        &mut c,
        &["XGROUP", "CREATE", "work", "g", "$", "MKSTREAM"],
        Ok(Value::Okay),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = [(cluster.addr(), "one"), (other.addr(), "two")]
        .into_iter()
        .map(|(addr, name)| {
            let stop = stop.clone();
            thread::spawn(move || consume(addr, name, stop))
        })
        .collect();
    let addr = cluster.addr();
    let producer = thread::spawn(move || {
        let mut c = connect(&addr, None, Protocol::Resp2);
        let mut errors = Vec::new();
        for i in 1..=ENTRIES {
            let id = format!("{i}-1");
            // An XADD resent after the crash runs once; one whose outcome is unknown is
            // sent again and refused if it had run (its id is no longer above the top).
            loop {
                match run_command(&mut c, &["XADD", "work", &id, "job", &i.to_string()]) {
                    Ok(_) => break,
                    Err(e) if e.contains("equal or smaller") => break,
                    Err(e) => errors.push(e),
                }
            }
        }
        errors
    });
    wait_for("a third of the entries added", WAIT, || {
        matches!(run_command(&mut c, &["XLEN", "work"]), Ok(Value::Int(n)) if n as u64 >= ENTRIES / 3)
            .then_some(())
    });
    cluster.kill_storaged(Signal::SIGKILL);
    cluster.start_storaged();
    let producer_errors = producer.join().expect("producer");
    let mut c = cluster.client();
    wait_for("every entry acknowledged", Duration::from_secs(60), || {
        matches!(
            run_command(&mut c, &["XPENDING", "work", "g"]),
            Ok(Value::Array(ref s)) if s.first() == Some(&Value::Int(0))
        )
        .then_some(())
        .filter(|()| {
            // The group has read up to the last entry.
            run_command(&mut c, &["XINFO", "GROUPS", "work"])
                .is_ok_and(|r| has_bulk(&r, format!("{ENTRIES}-1").as_bytes()))
        })
    });
    stop.store(true, Ordering::Relaxed);
    let worked: Vec<Worked> = workers
        .into_iter()
        .map(|w| w.join().expect("consumer"))
        .collect();
    expect(&mut c, &["XLEN", "work"], int(ENTRIES as i64));
    let mut acked: Vec<u64> = worked
        .iter()
        .flat_map(|w| w.acked.iter())
        .filter_map(|id| id.strip_suffix("-1").and_then(|ms| ms.parse().ok()))
        .collect();
    acked.sort_unstable();
    let want: Vec<u64> = (1..=ENTRIES).collect();
    assert_eq!(acked.len(), want.len(), "acknowledged once each");
    assert_eq!(acked, want, "every entry acknowledged exactly once");
    for w in &worked {
        assert!(!w.delivered.is_empty(), "both consumers got work");
        // Without an error nothing is delivered twice.
        if w.errors.is_empty() {
            let mut seen = w.delivered.clone();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), w.delivered.len(), "delivered twice");
        }
    }
    let one: std::collections::HashSet<&String> = worked[0].delivered.iter().collect();
    assert!(
        worked[1].delivered.iter().all(|id| !one.contains(id)),
        "an entry went to both consumers"
    );
    eprintln!(
        "work queue: {} + {} delivered, errors {:?} / {:?}, producer errors {:?}",
        worked[0].delivered.len(),
        worked[1].delivered.len(),
        worked[0].errors,
        worked[1].errors,
        producer_errors
    );
}

/// Group readers blocked when storaged is killed or restarted stay blocked (their proxies
/// resend them) and are served once after it: each entry goes to one of them.
#[test]
fn blocked_group_readers_survive_storaged_restarts() {
    for signal in [Signal::SIGKILL, Signal::SIGTERM] {
        let mut cluster = TestCluster::start();
        let addr = cluster.addr();
        let mut c = cluster.client();
        expect(
            &mut c,
            &["XGROUP", "CREATE", "r", "g", "$", "MKSTREAM"],
            Ok(Value::Okay),
        );
        let readers: Vec<_> = ["a", "b"]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let rx = spawn_command(
                    addr.clone(),
                    Protocol::Resp2,
                    &[
                        "XREADGROUP",
                        "GROUP",
                        "g",
                        name,
                        "BLOCK",
                        "0",
                        "STREAMS",
                        "r",
                        ">",
                    ],
                );
                wait_parked(&addr, i as i64 + 1);
                rx
            })
            .collect();
        cluster.kill_storaged(signal);
        cluster.start_storaged();
        wait_parked(&addr, 2);
        let mut c = cluster.client();
        expect(&mut c, &["XADD", "r", "1-1", "f", "x"], bulk_id("1-1"));
        expect(&mut c, &["XADD", "r", "2-1", "f", "y"], bulk_id("2-1"));
        let got: Vec<Outcome> = readers
            .into_iter()
            .map(|rx| rx.recv_timeout(WAIT).expect("served after the restart"))
            .collect();
        // Which of them is served first after the restart depends on which of the
        // proxy's links resends its request first: each gets one entry, in either order.
        let (first, second) = (
            served(Protocol::Resp2, "r", &[("1-1", "f", "x")]),
            served(Protocol::Resp2, "r", &[("2-1", "f", "y")]),
        );
        assert!(
            got == vec![first.clone(), second.clone()] || got == vec![second, first],
            "{signal:?}: {got:?}"
        );
        expect(
            &mut c,
            &["XPENDING", "r", "g"],
            Ok(Value::Array(vec![
                Value::Int(2),
                Value::BulkString(b"1-1".to_vec()),
                Value::BulkString(b"2-1".to_vec()),
                Value::Array(vec![
                    Value::Array(vec![
                        Value::BulkString(b"a".to_vec()),
                        Value::BulkString(b"1".to_vec()),
                    ]),
                    Value::Array(vec![
                        Value::BulkString(b"b".to_vec()),
                        Value::BulkString(b"1".to_vec()),
                    ]),
                ]),
            ])),
        );
    }
}

/// A blocked reader served later announces the consumer its read created, as Redis does.
#[test]
fn a_served_blocked_reader_announces_its_new_consumer() {
    const DONE: &str = "stream-groups-served-done";
    let d = Differ::start();
    let mut seen = Vec::new();
    for addr in [d.tandem().addr(), d.reference().addr()] {
        let mut c = RawClient::connect(&addr);
        c.command(&["FLUSHALL"]);
        c.command(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
        assert_eq!(
            c.command(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]),
            "+OK\r\n"
        );
        let mut sub = RawClient::connect(&addr);
        sub.command(&["PSUBSCRIBE", "__keyevent@*__:*"]);
        sub.command(&["SUBSCRIBE", DONE]);
        let reader = spawn_command(
            addr.clone(),
            Protocol::Resp2,
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "z",
                "BLOCK",
                "0",
                "STREAMS",
                "s",
                ">",
            ],
        );
        wait_for("a blocked client", WAIT, || {
            (info_field(&addr, "clients", "blocked_clients") == 1).then_some(())
        });
        c.command(&["XADD", "s", "1-1", "f", "v"]);
        assert_eq!(
            reader.recv_timeout(WAIT).expect("served"),
            served(Protocol::Resp2, "s", &[("1-1", "f", "v")])
        );
        c.command(&["PUBLISH", DONE, "x"]);
        c.command(&["CONFIG", "SET", "notify-keyspace-events", ""]);
        let mut got = Vec::new();
        loop {
            let message = sub.reply();
            if message.contains(DONE) {
                break;
            }
            got.push(message);
        }
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1], "tandem, then redis-server");
    assert!(seen[0].iter().any(|m| m.contains("xgroup-createconsumer")));
}

/// Whether `EXEC` of a transaction that WATCHed `watched` runs after another client ran
/// `op` between WATCH and MULTI.
fn exec_survives(
    watcher: &mut redis::Connection,
    other: &mut redis::Connection,
    watched: &str,
    op: &[&str],
) -> bool {
    for setup in [
        &["FLUSHALL"][..],
        &["XADD", "s", "1-1", "f", "v"],
        &["XADD", "s", "2-1", "f", "v"],
        &["XGROUP", "CREATE", "s", "g", "0"],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c1",
            "COUNT",
            "1",
            "STREAMS",
            "s",
            ">",
        ],
    ] {
        let r = run_command(watcher, setup);
        assert!(r.is_ok(), "{setup:?}: {r:?}");
    }
    expect(watcher, &["WATCH", watched], Ok(Value::Okay));
    let r = run_command(other, op);
    assert!(r.is_ok(), "{op:?}: {r:?}");
    expect(watcher, &["MULTI"], Ok(Value::Okay));
    let _ = run_command(watcher, &["PING"]);
    match run_command(watcher, &["EXEC"]) {
        Ok(Value::Nil) => false,
        Ok(Value::Array(_)) => true,
        other => panic!("EXEC after {op:?}: {other:?}"),
    }
}

/// Redis's consumer-group commands change a stream without `signalModifiedKey`: a WATCH of
/// the stream survives XREADGROUP, XACK, XCLAIM, XAUTOCLAIM and every XGROUP subcommand but
/// a CREATE that makes the stream, and XSETID; XADD and XDEL end it.
#[test]
fn consumer_group_commands_leave_a_watch_of_the_stream_as_redis_does() {
    let d = Differ::start();
    let ops: &[(&str, &[&str])] = &[
        (
            "s",
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c1",
                "COUNT",
                "1",
                "STREAMS",
                "s",
                ">",
            ],
        ),
        (
            "s",
            &[
                "XREADGROUP",
                "GROUP",
                "g",
                "c2",
                "NOACK",
                "STREAMS",
                "s",
                ">",
            ],
        ),
        (
            "s",
            &["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"],
        ),
        ("s", &["XACK", "s", "g", "1-1"]),
        ("s", &["XCLAIM", "s", "g", "c2", "0", "1-1"]),
        ("s", &["XAUTOCLAIM", "s", "g", "c3", "0", "0"]),
        ("s", &["XGROUP", "CREATECONSUMER", "s", "g", "c9"]),
        ("s", &["XGROUP", "DELCONSUMER", "s", "g", "c1"]),
        ("s", &["XGROUP", "CREATE", "s", "g2", "0"]),
        ("s", &["XGROUP", "CREATE", "s", "g3", "0", "MKSTREAM"]),
        ("s2", &["XGROUP", "CREATE", "s2", "g", "0", "MKSTREAM"]),
        ("s", &["XGROUP", "SETID", "s", "g", "0"]),
        ("s", &["XGROUP", "DESTROY", "s", "g"]),
        ("s", &["XSETID", "s", "5-0"]),
        ("s", &["XADD", "s", "*", "f", "v"]),
        ("s", &["XDEL", "s", "1-1"]),
        ("s", &["XTRIM", "s", "MAXLEN", "10"]),
    ];
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let (mut ours, mut ours2) = (
            d.tandem().client_with(protocol),
            d.tandem().client_with(protocol),
        );
        let (mut theirs, mut theirs2) = (
            d.reference().client_with(protocol),
            d.reference().client_with(protocol),
        );
        for (watched, op) in ops {
            let want = exec_survives(&mut theirs, &mut theirs2, watched, op);
            let got = exec_survives(&mut ours, &mut ours2, watched, op);
            assert_eq!(
                got, want,
                "EXEC after {op:?} ({protocol:?}): tandem ran = {got}, redis-server ran = {want}"
            );
        }
    }
}

/// XGROUP SETID does not wake a blocked XREADGROUP (Redis signals no key for it): the
/// reader waits for the next XADD and then reads from the group's new position.
#[test]
fn setid_leaves_a_blocked_group_reader_waiting_until_the_next_entry() {
    let cluster = TestCluster::start();
    let addr = cluster.addr();
    let mut c = cluster.client();
    for step in [
        &["XADD", "k", "1-1", "f", "a"][..],
        &["XGROUP", "CREATE", "k", "g", "$"],
    ] {
        assert!(run_command(&mut c, step).is_ok(), "{step:?}");
    }
    let rx = spawn_command(
        addr.clone(),
        Protocol::Resp2,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "0",
            "STREAMS",
            "k",
            ">",
        ],
    );
    wait_parked(&addr, 1);
    expect(&mut c, &["XGROUP", "SETID", "k", "g", "0"], Ok(Value::Okay));
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "SETID woke the blocked reader"
    );
    wait_parked(&addr, 1);
    expect(&mut c, &["XADD", "k", "2-1", "f", "b"], bulk_id("2-1"));
    let reply = rx.recv_timeout(WAIT).expect("served by XADD");
    assert_eq!(
        delivered_ids(&reply.expect("entries")),
        vec!["1-1".to_owned(), "2-1".to_owned()]
    );
}
