//! Blocking pops (`BLPOP BRPOP BLMPOP BLMOVE BRPOPLPUSH BZPOPMIN BZPOPMAX BZMPOP`),
//! `CLIENT UNBLOCK` and `blocked_clients`: the paths that answer at once against a real
//! redis-server (RESP2 and RESP3), then waits, wake-ups across proxies, first-blocked
//! first-served order, disconnects, storaged restarts with clients blocked, and the
//! LPUSH → BLPOP wake-up latency across two proxies.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use redis::Value;
use tandem_tests::*;

const WAIT: Duration = Duration::from_secs(10);

/// Runs `args` on a fresh connection to `addr` in a thread; the reply comes on the channel.
fn spawn_command(addr: String, protocol: Protocol, args: Vec<String>) -> mpsc::Receiver<Outcome> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut c = connect(&addr, None, protocol);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let _ = tx.send(run_command(&mut c, &args));
    });
    rx
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
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

/// `blocked_clients` of the proxy at `addr`.
fn blocked_clients(addr: &str) -> i64 {
    info_field(addr, "clients", "blocked_clients")
}

/// Waits until the proxy at `addr` has `n` blocked clients and storaged has `parked`
/// blocking pops parked (from every proxy), so a later write meets them parked.
fn wait_parked(addr: &str, n: i64, parked: i64) {
    wait_for(
        &format!("{n} blocked clients on {addr}, {parked} parked"),
        WAIT,
        || {
            (blocked_clients(addr) == n
                && info_field(addr, "storage", "blocked_requests") == parked)
                .then_some(())
        },
    );
}

/// [`wait_parked`] for a single proxy.
fn wait_blocked(addr: &str, n: i64) {
    wait_parked(addr, n, n);
}

fn pair(key: &str, value: &str) -> Outcome {
    bulks(&[Some(key), Some(value)])
}

#[test]
fn immediate_paths_timeouts_and_errors_match_redis() {
    let d = Differ::start();
    d.check(&[
        &["RPUSH", "l", "a", "b", "c", "d"],
        &["BLPOP", "missing", "l", "0"],
        &["BRPOP", "l", "missing", "0"],
        &["BLMPOP", "0", "2", "missing", "l", "LEFT", "COUNT", "5"],
        &["RPUSH", "l", "x", "y"],
        &["BLMOVE", "l", "dst", "LEFT", "RIGHT", "0"],
        &["BRPOPLPUSH", "l", "dst", "0"],
        &["LRANGE", "dst", "0", "-1"],
        &["ZADD", "z", "1", "m1", "2", "m2", "3.5", "m3"],
        &["BZPOPMIN", "missing", "z", "0"],
        &["BZPOPMAX", "z", "0"],
        &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "9"],
        // Timeouts: the null of each shape.
        &["BLPOP", "none", "0.01"],
        &["BRPOP", "none", "none2", ".01"],
        &["BLMPOP", "0.01", "1", "none", "RIGHT"],
        &["BLMOVE", "none", "dst", "LEFT", "LEFT", "0.01"],
        &["BRPOPLPUSH", "none", "dst", "0.01"],
        &["BZPOPMIN", "none", "0.01"],
        &["BZPOPMAX", "none", "0.01"],
        &["BZMPOP", "0.01", "1", "none", "MAX"],
        // Wrong types, in key order.
        &["SET", "s", "str"],
        &["RPUSH", "l2", "v"],
        &["BLPOP", "s", "l2", "0"],
        &["BLPOP", "l2", "s", "0"],
        &["RPUSH", "l2", "v"],
        &["BLMOVE", "s", "l2", "LEFT", "LEFT", "0"],
        &["BLMOVE", "l2", "s", "LEFT", "LEFT", "0"],
        &["LLEN", "l2"],
        &["BZPOPMIN", "s", "0"],
        &["BZMPOP", "0", "1", "s", "MIN"],
        &["BLMPOP", "0", "1", "s", "LEFT"],
        // Argument errors.
        &["BLPOP", "k", "x"],
        &["BLPOP", "k", "-1"],
        &["BLPOP", "k", "nan"],
        &["BLPOP", "k", "inf"],
        &["BLPOP", "k", "1e400"],
        &["BLPOP", "k", " 1"],
        &["BLPOP", "k"],
        &["BRPOP", "k", ""],
        &["BLMOVE", "a", "b", "UP", "LEFT", "x"],
        &["BLMOVE", "a", "b", "LEFT", "LEFT", "-1"],
        &["BLMOVE", "a", "b", "LEFT", "LEFT"],
        &["BRPOPLPUSH", "a", "b", "x"],
        &["BLMPOP", "x", "1", "a", "LEFT"],
        &["BLMPOP", "0", "0", "a", "LEFT"],
        &["BLMPOP", "0", "x", "a", "LEFT"],
        &["BLMPOP", "0", "5", "a", "LEFT"],
        &["BLMPOP", "0", "1", "a", "LEFT", "COUNT", "0"],
        &["BLMPOP", "-1", "1", "a", "LEFT"],
        &["BLMPOP", "0", "1", "a", "UP"],
        &["BZPOPMIN", "z", "x"],
        &["BZMPOP", "0", "1", "z", "UP"],
        &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "-1"],
        // Inside MULTI a blocking pop is its non-blocking form.
        &["MULTI"],
        &["BLPOP", "none", "0"],
        &["BLMOVE", "none", "d", "LEFT", "LEFT", "0"],
        &["BZPOPMIN", "none", "0"],
        &["RPUSH", "none", "v"],
        &["BLPOP", "none", "0"],
        &["EXEC"],
        // CLIENT UNBLOCK of nobody, and its errors.
        &["CLIENT", "UNBLOCK", "987654"],
        &["CLIENT", "UNBLOCK", "987654", "ERROR"],
        &["CLIENT", "UNBLOCK", "-1"],
        &["CLIENT", "UNBLOCK", "x"],
        &["CLIENT", "UNBLOCK", "1", "foo"],
        &["CLIENT", "UNBLOCK"],
        &["CLIENT", "UNBLOCK", "1", "TIMEOUT", "extra"],
    ]);
}

#[test]
fn fractional_timeouts_wait_about_that_long() {
    let cluster = TestCluster::start();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut c = cluster.client_with(protocol);
        let started = Instant::now();
        let got = run_command(&mut c, &["BLPOP", "nothing", "0.3"]);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(290) && took < Duration::from_secs(3),
            "{took:?}"
        );
        // `*-1` in RESP2 and `_` in RESP3 both read as nil (the differential test checks
        // the exact shapes).
        assert_eq!(got, Ok(Value::Nil));
        let started = Instant::now();
        expect(&mut c, &["BLMOVE", "n", "d", "LEFT", "LEFT", "0.15"], nil());
        assert!(started.elapsed() >= Duration::from_millis(140));
    }
}

#[test]
fn timeout_zero_waits_for_a_later_push_of_any_type_it_waits_for() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    for (args, push, want) in [
        (
            vec!["BRPOP", "q1", "q2", "0"],
            vec!["RPUSH", "q2", "a", "b"],
            pair("q2", "b"),
        ),
        (
            vec!["BZPOPMAX", "z", "0"],
            vec!["ZADD", "z", "1", "lo", "2", "hi"],
            bulks(&[Some("z"), Some("hi"), Some("2")]),
        ),
        (
            vec!["BLMPOP", "0", "1", "m", "LEFT", "COUNT", "2"],
            vec!["RPUSH", "m", "1", "2", "3"],
            Ok(Value::Array(vec![
                Value::BulkString(b"m".to_vec()),
                Value::Array(vec![
                    Value::BulkString(b"1".to_vec()),
                    Value::BulkString(b"2".to_vec()),
                ]),
            ])),
        ),
    ] {
        let rx = spawn_command(cluster.addr(), Protocol::Resp2, strings(&args));
        wait_blocked(&cluster.addr(), 1);
        assert!(matches!(run_command(&mut c, &push), Ok(Value::Int(_))));
        assert_eq!(rx.recv_timeout(WAIT).expect("woken"), want, "{args:?}");
        wait_blocked(&cluster.addr(), 0);
    }
}

#[test]
fn a_key_turned_to_another_type_keeps_waiters_blocked_as_in_redis_7_0() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    let rx = spawn_command(
        cluster.addr(),
        Protocol::Resp2,
        strings(&["BLPOP", "k", "k2", "0"]),
    );
    wait_blocked(&cluster.addr(), 1);
    expect(&mut c, &["SET", "k", "string"], ok());
    expect(&mut c, &["RPUSH", "k2", "v"], int(1));
    assert_eq!(rx.recv_timeout(WAIT).expect("woken"), pair("k2", "v"));
}

#[test]
fn the_first_client_to_block_is_served_first() {
    let cluster = TestCluster::start();
    let other = cluster.spawn_extra_proxy();
    // First waiter on the extra proxy, second on the main one: order holds across proxies.
    let first = spawn_command(
        other.addr(),
        Protocol::Resp2,
        strings(&["BLPOP", "fifo", "0"]),
    );
    wait_blocked(&other.addr(), 1);
    // Block times are compared in milliseconds; keep the second one strictly later.
    thread::sleep(Duration::from_millis(5));
    let second = spawn_command(
        cluster.addr(),
        Protocol::Resp3,
        strings(&["BLPOP", "fifo", "0"]),
    );
    wait_parked(&cluster.addr(), 1, 2);
    let mut c = cluster.client();
    expect(&mut c, &["RPUSH", "fifo", "one"], int(1));
    assert_eq!(
        first.recv_timeout(WAIT).expect("first woken"),
        pair("fifo", "one")
    );
    assert!(second.recv_timeout(Duration::from_millis(200)).is_err());
    expect(&mut c, &["RPUSH", "fifo", "two", "three"], int(2));
    assert_eq!(
        second.recv_timeout(WAIT).expect("second woken"),
        pair("fifo", "two")
    );
    expect(
        &mut c,
        &["LRANGE", "fifo", "0", "-1"],
        bulks(&[Some("three")]),
    );
}

/// Redis serves blocked clients after each command: a waiter gets the element a pipelined
/// RPUSH adds before the pusher's own LPOP later in the same pipeline runs. Inside MULTI the
/// waiter is served only after EXEC, so the transaction's own LPOP takes the element.
#[test]
fn waiters_are_served_after_each_command_and_after_exec() {
    let cluster = TestCluster::start();
    let addr = cluster.addr();
    let waiter = spawn_command(
        addr.clone(),
        Protocol::Resp2,
        strings(&["BLPOP", "mid", "0"]),
    );
    wait_blocked(&addr, 1);
    let mut raw = RawClient::connect(&addr);
    let mut pipeline = encode_command(&[b"RPUSH", b"mid", b"x"]);
    pipeline.extend(encode_command(&[b"LPOP", b"mid"]));
    raw.send(&pipeline);
    assert_eq!(raw.reply(), ":1\r\n");
    assert_eq!(raw.reply(), "$-1\r\n");
    assert_eq!(waiter.recv_timeout(WAIT).expect("woken"), pair("mid", "x"));
    wait_blocked(&addr, 0);

    let waiter = spawn_command(
        addr.clone(),
        Protocol::Resp2,
        strings(&["BLPOP", "tx", "0"]),
    );
    wait_blocked(&addr, 1);
    let mut pipeline = Vec::new();
    for cmd in [
        &[&b"MULTI"[..]][..],
        &[b"RPUSH", b"tx", b"y"],
        &[b"LPOP", b"tx"],
        &[b"EXEC"],
    ] {
        pipeline.extend(encode_command(cmd));
    }
    raw.send(&pipeline);
    assert_eq!(raw.reply(), "+OK\r\n");
    assert_eq!(raw.reply(), "+QUEUED\r\n");
    assert_eq!(raw.reply(), "+QUEUED\r\n");
    assert_eq!(raw.reply(), "*2\r\n:1\r\n$1\r\ny\r\n");
    assert!(waiter.recv_timeout(Duration::from_millis(200)).is_err());
    assert_eq!(raw.command(&["RPUSH", "tx", "z"]), ":1\r\n");
    assert_eq!(waiter.recv_timeout(WAIT).expect("woken"), pair("tx", "z"));
}

#[test]
fn a_push_through_one_proxy_wakes_a_client_blocked_on_another() {
    let cluster = TestCluster::start();
    let other = cluster.spawn_extra_proxy();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let rx = spawn_command(other.addr(), protocol, strings(&["BLPOP", "x", "0"]));
        wait_blocked(&other.addr(), 1);
        expect(&mut cluster.client(), &["LPUSH", "x", "hello"], int(1));
        assert_eq!(rx.recv_timeout(WAIT).expect("woken"), pair("x", "hello"));
    }
}

#[test]
fn served_blmoves_chain_to_the_next_waiter() {
    let cluster = TestCluster::start();
    let addr = cluster.addr();
    let a = spawn_command(
        addr.clone(),
        Protocol::Resp2,
        strings(&["BLMOVE", "c1", "c2", "LEFT", "RIGHT", "0"]),
    );
    wait_blocked(&addr, 1);
    let b = spawn_command(
        addr.clone(),
        Protocol::Resp2,
        strings(&["BRPOPLPUSH", "c2", "c3", "0"]),
    );
    wait_blocked(&addr, 2);
    let c = spawn_command(
        addr.clone(),
        Protocol::Resp3,
        strings(&["BLPOP", "c3", "0"]),
    );
    wait_blocked(&addr, 3);
    let mut conn = cluster.client();
    expect(&mut conn, &["RPUSH", "c1", "hop"], int(1));
    assert_eq!(a.recv_timeout(WAIT).expect("a"), bulk("hop"));
    assert_eq!(b.recv_timeout(WAIT).expect("b"), bulk("hop"));
    assert_eq!(c.recv_timeout(WAIT).expect("c"), pair("c3", "hop"));
    expect(&mut conn, &["EXISTS", "c1", "c2", "c3"], int(0));
}

#[test]
fn client_unblock_releases_with_a_null_or_an_error() {
    let cluster = TestCluster::start();
    let addr = cluster.addr();
    let mut admin = cluster.client();
    for (mode, protocol) in [("TIMEOUT", Protocol::Resp2), ("ERROR", Protocol::Resp3)] {
        let (tx, rx) = mpsc::channel();
        let a = addr.clone();
        thread::spawn(move || {
            let mut c = connect(&a, None, protocol);
            let Ok(Value::Int(id)) = run_command(&mut c, &["CLIENT", "ID"]) else {
                return;
            };
            let _ = tx.send(Ok(Value::Int(id)));
            let _ = tx.send(run_command(&mut c, &["BLPOP", "u", "0"]));
        });
        let Ok(Ok(Value::Int(id))) = rx.recv_timeout(WAIT) else {
            panic!("no client id");
        };
        wait_blocked(&addr, 1);
        let id = id.to_string();
        // CLIENT LIST marks it blocked with flag `b`, as Redis does.
        let Ok(Value::BulkString(list)) = run_command(&mut admin, &["CLIENT", "LIST", "ID", &id])
        else {
            panic!("CLIENT LIST failed");
        };
        assert!(
            String::from_utf8_lossy(&list).contains(" flags=b "),
            "{}",
            String::from_utf8_lossy(&list)
        );
        expect(&mut admin, &["CLIENT", "UNBLOCK", &id, mode], int(1));
        let got = rx.recv_timeout(WAIT).expect("released");
        if mode == "ERROR" {
            assert_eq!(got, err("UNBLOCKED client unblocked via CLIENT UNBLOCK"));
        } else {
            assert_eq!(got, Ok(Value::Nil));
        }
        wait_blocked(&addr, 0);
        expect(&mut admin, &["CLIENT", "UNBLOCK", &id], int(0));
    }
    // Nothing was popped for them: a later push stays in the list.
    expect(&mut admin, &["RPUSH", "u", "kept"], int(1));
    expect(&mut admin, &["LLEN", "u"], int(1));
}

#[test]
fn a_client_that_disconnects_while_blocked_takes_nothing() {
    let cluster = TestCluster::start();
    let addr = cluster.addr();
    let mut c = cluster.client();
    // One waiter leaves; a push stays in the list.
    let mut raw = RawClient::connect(&addr);
    raw.send(&encode_command(&[b"BLPOP", b"d", b"0"]));
    wait_blocked(&addr, 1);
    drop(raw);
    wait_blocked(&addr, 0);
    expect(&mut c, &["RPUSH", "d", "v1"], int(1));
    expect(&mut c, &["LRANGE", "d", "0", "-1"], bulks(&[Some("v1")]));
    expect(&mut c, &["DEL", "d"], int(1));
    // The first of two waiters leaves; the push goes to the second.
    let mut raw = RawClient::connect(&addr);
    raw.send(&encode_command(&[b"BLPOP", b"d", b"0"]));
    wait_blocked(&addr, 1);
    thread::sleep(Duration::from_millis(5));
    let second = spawn_command(addr.clone(), Protocol::Resp2, strings(&["BLPOP", "d", "0"]));
    wait_blocked(&addr, 2);
    drop(raw);
    wait_blocked(&addr, 1);
    expect(&mut c, &["RPUSH", "d", "v2"], int(1));
    assert_eq!(second.recv_timeout(WAIT).expect("second"), pair("d", "v2"));
    expect(&mut c, &["EXISTS", "d"], int(0));
}

fn restart_with_blocked_clients(signal: Signal) {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let addr = cluster.addr();
    const WAITERS: usize = 4;
    let receivers: Vec<_> = (0..WAITERS)
        .map(|i| {
            let protocol = if i % 2 == 0 {
                Protocol::Resp2
            } else {
                Protocol::Resp3
            };
            let rx = spawn_command(addr.clone(), protocol, strings(&["BLPOP", "r", "0"]));
            wait_blocked(&addr, i as i64 + 1);
            rx
        })
        .collect();
    let status = cluster.kill_storaged(signal);
    assert_eq!(status.success(), signal == Signal::SIGTERM, "{status}");
    cluster.start_storaged();
    // Still blocked after the restart (parked again by the new storaged), nobody answered.
    wait_blocked(&addr, WAITERS as i64);
    for rx in &receivers {
        assert!(rx.try_recv().is_err());
    }
    let mut c = cluster.client();
    let items: Vec<String> = (0..WAITERS + 2).map(|i| format!("e{i}")).collect();
    let mut push = vec!["RPUSH", "r"];
    push.extend(items.iter().map(String::as_str));
    expect(&mut c, &push, int(items.len() as i64));
    let mut got: Vec<String> = receivers
        .iter()
        .map(
            |rx| match rx.recv_timeout(WAIT).expect("served after the restart") {
                Ok(Value::Array(kv)) => match kv.as_slice() {
                    [_, Value::BulkString(v)] => String::from_utf8_lossy(v).into_owned(),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            },
        )
        .collect();
    got.sort();
    // Each element once: the first WAITERS to the waiters, the rest still in the list.
    assert_eq!(got, items[..WAITERS].to_vec());
    expect(
        &mut c,
        &["LRANGE", "r", "0", "-1"],
        bulks(&[
            Some(items[WAITERS].as_str()),
            Some(items[WAITERS + 1].as_str()),
        ]),
    );
}

#[test]
fn blocked_clients_survive_a_sigterm_restart_of_storaged() {
    restart_with_blocked_clients(Signal::SIGTERM);
}

#[test]
fn blocked_clients_survive_a_sigkill_of_storaged() {
    restart_with_blocked_clients(Signal::SIGKILL);
}

/// How soon a served waiter must have its reply: far inside the proxy's 10 s wait segment,
/// whose renewal runs the pop afresh and would hide a waiter the serving pass skipped.
const SERVED: Duration = Duration::from_secs(3);

/// Waits until `cluster` has `n` blocked clients, parked in storaged too; in validation
/// mode (`TANDEM_TEST_BACKEND=redis`) there is no storaged, so the count alone.
fn wait_blocked_in(cluster: &TestCluster, n: i64) {
    if cluster.is_tandem() {
        wait_blocked(&cluster.addr(), n);
    } else {
        wait_for(&format!("{n} blocked clients"), WAIT, || {
            (blocked_clients(&cluster.addr()) == n).then_some(())
        });
    }
}

/// Blocks each of `commands` in turn on its own connection (alternating RESP2 and RESP3),
/// each parked before the next is sent, so they are served in this order.
fn block_in_order(cluster: &TestCluster, commands: &[&[&str]]) -> Vec<mpsc::Receiver<Outcome>> {
    let already = blocked_clients(&cluster.addr());
    commands
        .iter()
        .enumerate()
        .map(|(i, args)| {
            let protocol = if i % 2 == 0 {
                Protocol::Resp2
            } else {
                Protocol::Resp3
            };
            let rx = spawn_command(cluster.addr(), protocol, strings(args));
            wait_blocked_in(cluster, already + i as i64 + 1);
            rx
        })
        .collect()
}

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// Issue 13 item 1: the first of two clients blocked moving from `src` moves into a string.
/// Redis answers it `WRONGTYPE` at once, leaves the element in `src` for the second client
/// and serves that one.
#[test]
fn a_blocked_move_into_a_string_fails_at_once_and_the_next_waiter_is_served() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    let cases: [[&[&str]; 2]; 3] = [
        [
            &["BRPOPLPUSH", "src", "dst1", "0"],
            &["BRPOPLPUSH", "src", "dst2", "0"],
        ],
        [
            &["BLMOVE", "src", "dst1", "LEFT", "RIGHT", "0"],
            &["BLMOVE", "src", "dst2", "RIGHT", "LEFT", "0"],
        ],
        // The second waiter is another kind of move; a finite timeout changes nothing.
        [
            &["BLMOVE", "src", "dst1", "RIGHT", "RIGHT", "100"],
            &["BRPOPLPUSH", "src", "dst2", "100"],
        ],
    ];
    for [first, second] in cases {
        expect(&mut c, &["SET", "dst1", "str"], ok());
        let rx = block_in_order(&cluster, &[first, second]);
        expect(&mut c, &["LPUSH", "src", "foo"], int(1));
        let what = format!("{first:?} then {second:?}");
        assert_eq!(
            rx[0].recv_timeout(SERVED).expect("first answered"),
            err(WRONGTYPE),
            "{what}"
        );
        assert_eq!(
            rx[1].recv_timeout(SERVED).expect("second served"),
            bulk("foo"),
            "{what}"
        );
        wait_blocked_in(&cluster, 0);
        expect(&mut c, &["EXISTS", "src"], int(0));
        expect(
            &mut c,
            &["LRANGE", "dst2", "0", "-1"],
            bulks(&[Some("foo")]),
        );
        expect(&mut c, &["GET", "dst1"], bulk("str"));
        expect(&mut c, &["DEL", "dst1", "dst2"], int(2));
    }
}

/// Serving goes on in block order past a waiter refused with `WRONGTYPE`, one element per
/// waiter, and a waiter left over stays blocked until a later push.
#[test]
fn waiters_after_a_refused_move_are_served_in_block_order() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    expect(&mut c, &["SET", "d1", "str"], ok());
    let rx = block_in_order(
        &cluster,
        &[
            &["BLMOVE", "src", "d1", "RIGHT", "LEFT", "0"],
            &["BLMOVE", "src", "d2", "RIGHT", "LEFT", "0"],
            &["BRPOPLPUSH", "src", "d3", "0"],
            &["BLPOP", "src", "0"],
        ],
    );
    // The list is [b, a]: RIGHT pops `a` first.
    expect(&mut c, &["LPUSH", "src", "a", "b"], int(2));
    assert_eq!(rx[0].recv_timeout(SERVED).expect("d1"), err(WRONGTYPE));
    assert_eq!(rx[1].recv_timeout(SERVED).expect("d2"), bulk("a"));
    assert_eq!(rx[2].recv_timeout(SERVED).expect("d3"), bulk("b"));
    wait_blocked_in(&cluster, 1);
    assert!(rx[3].try_recv().is_err(), "the BLPOP had nothing left");
    expect(&mut c, &["LRANGE", "d2", "0", "-1"], bulks(&[Some("a")]));
    expect(&mut c, &["LRANGE", "d3", "0", "-1"], bulks(&[Some("b")]));
    expect(&mut c, &["RPUSH", "src", "c"], int(1));
    assert_eq!(rx[3].recv_timeout(SERVED).expect("BLPOP"), pair("src", "c"));
    expect(&mut c, &["EXISTS", "src"], int(0));
}

/// One client blocked moving into a string: `WRONGTYPE` as soon as its source gets an
/// element (it took ~10 s, the proxy's wait segment), and the element stays in the source.
#[test]
fn a_lone_blocked_move_into_a_string_fails_as_soon_as_its_source_fills() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    expect(&mut c, &["SET", "dst", "str"], ok());
    for args in [
        &["BRPOPLPUSH", "src", "dst", "0"][..],
        &["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"][..],
    ] {
        let rx = block_in_order(&cluster, &[args]);
        expect(&mut c, &["RPUSH", "src", "x"], int(1));
        assert_eq!(
            rx[0].recv_timeout(SERVED).expect("answered"),
            err(WRONGTYPE)
        );
        wait_blocked_in(&cluster, 0);
        expect(&mut c, &["LRANGE", "src", "0", "-1"], bulks(&[Some("x")]));
        expect(&mut c, &["GET", "dst"], bulk("str"));
        expect(&mut c, &["DEL", "src"], int(1));
    }
}

/// A key's waiters may pop different types (`BZPOPMIN k` and `BLPOP k`): a push serves the
/// waiters of its type and skips the others, which stay blocked until the key holds their
/// type, whatever the block order (Redis 7.0 serves list and sorted-set waiters apart).
#[test]
fn waiters_of_another_type_on_the_same_key_are_skipped_not_a_barrier() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    let zset_first: [&[&str]; 2] = [&["BZPOPMIN", "k", "0"], &["BLPOP", "k", "0"]];
    let rx = block_in_order(&cluster, &zset_first);
    expect(&mut c, &["LPUSH", "k", "x"], int(1));
    assert_eq!(rx[1].recv_timeout(SERVED).expect("BLPOP"), pair("k", "x"));
    wait_blocked_in(&cluster, 1);
    assert!(rx[0].try_recv().is_err(), "BZPOPMIN served from a list");
    expect(&mut c, &["ZADD", "k", "1", "m"], int(1));
    assert_eq!(
        rx[0].recv_timeout(SERVED).expect("BZPOPMIN"),
        bulks(&[Some("k"), Some("m"), Some("1")])
    );
    wait_blocked_in(&cluster, 0);

    // The multi-key forms, list waiter first this time.
    let list_first: [&[&str]; 3] = [
        &["BLMPOP", "0", "2", "other", "k", "LEFT", "COUNT", "5"],
        &["BZMPOP", "0", "1", "k", "MAX", "COUNT", "5"],
        &["BLMOVE", "k", "dst", "LEFT", "LEFT", "0"],
    ];
    let rx = block_in_order(&cluster, &list_first);
    expect(&mut c, &["ZADD", "k", "1", "a", "2", "b"], int(2));
    let served = rx[1].recv_timeout(SERVED).expect("BZMPOP");
    let Ok(Value::Array(parts)) = &served else {
        panic!("BZMPOP: {}", render_outcome(&served));
    };
    assert_eq!(parts.first(), Some(&Value::BulkString(b"k".to_vec())));
    // Scores are bulk strings in RESP2 and doubles in RESP3: compare the members.
    let members: Vec<&Value> = match parts.get(1) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| match i {
                Value::Array(ms) => ms.first(),
                _ => None,
            })
            .collect(),
        other => panic!("BZMPOP items: {other:?}"),
    };
    assert_eq!(
        members,
        vec![
            &Value::BulkString(b"b".to_vec()),
            &Value::BulkString(b"a".to_vec())
        ]
    );
    wait_blocked_in(&cluster, 2);
    expect(&mut c, &["RPUSH", "k", "1", "2", "3"], int(3));
    assert_eq!(
        rx[0].recv_timeout(SERVED).expect("BLMPOP"),
        Ok(Value::Array(vec![
            Value::BulkString(b"k".to_vec()),
            Value::Array(vec![
                Value::BulkString(b"1".to_vec()),
                Value::BulkString(b"2".to_vec()),
                Value::BulkString(b"3".to_vec()),
            ]),
        ]))
    );
    // BLMPOP emptied `k`: the BLMOVE waits on.
    wait_blocked_in(&cluster, 1);
    assert!(
        rx[2].try_recv().is_err(),
        "BLMOVE served from an empty list"
    );
    expect(&mut c, &["RPUSH", "k", "4"], int(1));
    assert_eq!(rx[2].recv_timeout(SERVED).expect("BLMOVE"), bulk("4"));
}

/// Redis never re-checks a blocked client's keys: one turned into a string while it waits
/// leaves it blocked, also past the proxy's 10 s wait segment (whose renewal used to run
/// the pop afresh and answer `WRONGTYPE`), and a later push to another key serves it.
#[test]
fn a_key_turned_to_a_string_keeps_its_waiters_blocked_past_a_wait_segment() {
    /// The proxy renews a wait every 10 s; this is past the first renewal.
    const PAST_A_SEGMENT: Duration = Duration::from_secs(12);
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    let waits: [&[&str]; 5] = [
        &["BLPOP", "l1", "l2", "0"],
        &["BLMPOP", "0", "2", "m1", "m2", "LEFT"],
        &["BZPOPMIN", "z1", "z2", "0"],
        &["BZMPOP", "0", "2", "y1", "y2", "MIN"],
        &["BLMOVE", "s", "d", "LEFT", "LEFT", "0"],
    ];
    let blocked_at = Instant::now();
    let rx = block_in_order(&cluster, &waits);
    for key in ["l1", "m1", "z1", "y1", "s"] {
        expect(&mut c, &["SET", key, "str"], ok());
    }
    let rest = PAST_A_SEGMENT.saturating_sub(blocked_at.elapsed());
    assert!(rx[0].recv_timeout(rest).is_err(), "BLPOP answered");
    for (args, rx) in waits.iter().zip(&rx) {
        assert!(rx.try_recv().is_err(), "{args:?} answered");
    }
    wait_blocked_in(&cluster, 5);
    expect(&mut c, &["RPUSH", "l2", "a"], int(1));
    assert_eq!(rx[0].recv_timeout(SERVED).expect("BLPOP"), pair("l2", "a"));
    expect(&mut c, &["RPUSH", "m2", "b"], int(1));
    assert_eq!(
        rx[1].recv_timeout(SERVED).expect("BLMPOP"),
        Ok(Value::Array(vec![
            Value::BulkString(b"m2".to_vec()),
            Value::Array(vec![Value::BulkString(b"b".to_vec())]),
        ]))
    );
    expect(&mut c, &["ZADD", "z2", "1", "c"], int(1));
    assert!(matches!(
        rx[2].recv_timeout(SERVED).expect("BZPOPMIN"),
        Ok(Value::Array(ref v)) if v.first() == Some(&Value::BulkString(b"z2".to_vec()))
    ));
    expect(&mut c, &["ZADD", "y2", "1", "e"], int(1));
    assert!(matches!(
        rx[3].recv_timeout(SERVED).expect("BZMPOP"),
        Ok(Value::Array(ref v)) if v.first() == Some(&Value::BulkString(b"y2".to_vec()))
    ));
    expect(&mut c, &["DEL", "s"], int(1));
    expect(&mut c, &["RPUSH", "s", "f"], int(1));
    assert_eq!(rx[4].recv_timeout(SERVED).expect("BLMOVE"), bulk("f"));
    wait_blocked_in(&cluster, 0);
}
