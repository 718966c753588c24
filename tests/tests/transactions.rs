//! MULTI/EXEC/DISCARD/WATCH/UNWATCH end to end: every reply and error against redis-server
//! in RESP2 and RESP3, WATCH across two proxies and across a storaged restart, atomicity
//! of EXEC under concurrent readers, and exactly-once EXEC across a SIGKILL of storaged.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use redis::Value;
use tandem_tests::*;

fn queued() -> Outcome {
    simple("QUEUED")
}

fn array(items: Vec<Value>) -> Outcome {
    Ok(Value::Array(items))
}

#[test]
fn differential_transaction_scripts() {
    let differ = Differ::start();
    // The basics, and runtime errors reported in position (a command's own syntax errors
    // are runtime errors in Redis: they do not abort the transaction).
    differ.check(&[
        &["MULTI"],
        &["SET", "a", "1"],
        &["INCR", "a"],
        &["SET", "s", "x"],
        &["INCR", "s"],
        &["SET", "k", "v", "XX", "NX"],
        &["LPUSH", "a", "x"],
        &["GET", "a"],
        &["EXEC"],
        &["GET", "a"],
        &["MULTI"],
        &["EXEC"],
        &["MULTI"],
        &["SET", "d", "1"],
        &["DISCARD"],
        &["EXISTS", "d"],
    ]);
    // Errors of the control commands themselves.
    differ.check(&[
        &["EXEC"],
        &["DISCARD"],
        &["UNWATCH"],
        &["MULTI"],
        &["MULTI"],
        &["WATCH", "x"],
        &["SET", "a", "1"],
        &["EXEC"],
        &["WATCH"],
        &["MULTI", "x"],
        &["EXEC", "x"],
        &["DISCARD", "x"],
        &["UNWATCH", "x"],
        &["MULTI"],
        &["DISCARD", "x"],
        &["EXEC", "x"],
        &["EXEC"],
        &["GET", "a"],
    ]);
    // Queue-time errors (unknown command, arity) abort EXEC with EXECABORT and run nothing.
    differ.check(&[
        &["MULTI"],
        &["SET", "a", "1"],
        &["NOSUCHCOMMAND", "x", "y"],
        &["SET", "b", "2"],
        &["EXEC"],
        &["MGET", "a", "b"],
        &["MULTI"],
        &["SET", "a"],
        &["GET", "a", "b"],
        &["EXEC"],
        &["EXISTS", "a"],
        &["MULTI"],
        &["SET", "a", "1"],
        &["EXEC"],
    ]);
    // Proxy-local commands answer in position; SELECT inside MULTI switches the database
    // of the commands after it and of the connection afterwards.
    differ.check(&[
        &["MULTI"],
        &["PING"],
        &["ECHO", "hi"],
        &["SET", "a", "0"],
        &["SELECT", "1"],
        &["SET", "a", "1"],
        &["SELECT", "99"],
        &["SELECT", "x"],
        &["GET", "a"],
        &["PING", "pong?"],
        &["UNWATCH"],
        &["EXEC"],
        &["GET", "a"],
        &["SELECT", "0"],
        &["GET", "a"],
    ]);
    // WATCH from the same connection: own writes count, unchanged keys let EXEC run,
    // EXEC/DISCARD/UNWATCH forget the watches.
    differ.check(&[
        &["WATCH", "w"],
        &["SET", "w", "1"],
        &["MULTI"],
        &["SET", "r", "1"],
        &["EXEC"],
        &["EXISTS", "r"],
        &["WATCH", "w", "w", "other"],
        &["MULTI"],
        &["INCR", "w"],
        &["EXEC"],
        &["SET", "w", "5"],
        &["MULTI"],
        &["INCR", "w"],
        &["EXEC"],
        &["WATCH", "w"],
        &["UNWATCH"],
        &["SET", "w", "7"],
        &["MULTI"],
        &["GET", "w"],
        &["EXEC"],
        &["WATCH", "w"],
        &["MULTI"],
        &["DISCARD"],
        &["SET", "w", "8"],
        &["MULTI"],
        &["GET", "w"],
        &["EXEC"],
        &["WATCH", "gone"],
        &["DEL", "gone"],
        &["MULTI"],
        &["PING"],
        &["EXEC"],
        &["SET", "gone", "1"],
        &["WATCH", "gone"],
        &["DEL", "gone"],
        &["MULTI"],
        &["PING"],
        &["EXEC"],
    ]);
    // WATCH in another database, FLUSHDB of a watched key that exists / does not exist,
    // FLUSHALL, and a no-op write (a failed SET NX does not modify).
    differ.check(&[
        &["WATCH", "absent"],
        &["FLUSHDB"],
        &["MULTI"],
        &["PING"],
        &["EXEC"],
        &["SET", "e", "1"],
        &["WATCH", "e"],
        &["FLUSHDB"],
        &["MULTI"],
        &["PING"],
        &["EXEC"],
        &["SET", "e", "1"],
        &["WATCH", "e"],
        &["FLUSHALL"],
        &["MULTI"],
        &["PING"],
        &["EXEC"],
        &["SELECT", "2"],
        &["WATCH", "x"],
        &["SELECT", "0"],
        &["SET", "x", "1"],
        &["MULTI"],
        &["PING"],
        &["EXEC"],
    ]);
}

#[test]
fn a_key_expiring_after_watch_aborts_exec_but_one_expired_before_does_not() {
    let differ = Differ::start();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut ours = differ.tandem().client_with(protocol);
        let mut theirs = differ.reference().client_with(protocol);
        for c in [&mut ours, &mut theirs] {
            expect(c, &["SET", "t", "1", "PX", "150"], ok());
            expect(c, &["WATCH", "t"], ok());
            expect(c, &["SET", "old", "1", "PX", "1"], ok());
        }
        thread::sleep(Duration::from_millis(250));
        for c in [&mut ours, &mut theirs] {
            expect(c, &["MULTI"], ok());
            expect(c, &["PING"], queued());
            expect(c, &["EXEC"], nil());
            // Already expired when watched: not a change.
            expect(c, &["WATCH", "old"], ok());
            expect(c, &["MULTI"], ok());
            expect(c, &["PING"], queued());
            expect(
                c,
                &["EXEC"],
                array(vec![Value::SimpleString("PONG".into())]),
            );
        }
    }
}

#[test]
fn replies_keep_their_shape_in_both_protocols() {
    let cluster = TestCluster::start();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut c = cluster.client_with(protocol);
        run_command(&mut c, &["DEL", "h", "z"]).expect("DEL");
        expect(&mut c, &["MULTI"], ok());
        for cmd in [
            &["HSET", "h", "f", "v"][..],
            &["HGETALL", "h"],
            &["ZADD", "z", "1.5", "m"],
            &["ZSCORE", "z", "m"],
            &["GET", "missing"],
        ] {
            expect(&mut c, cmd, queued());
        }
        let map = match protocol {
            Protocol::Resp2 => Value::Array(vec![
                Value::BulkString(b"f".to_vec()),
                Value::BulkString(b"v".to_vec()),
            ]),
            Protocol::Resp3 => Value::Map(vec![(
                Value::BulkString(b"f".to_vec()),
                Value::BulkString(b"v".to_vec()),
            )]),
        };
        let score = match protocol {
            Protocol::Resp2 => Value::BulkString(b"1.5".to_vec()),
            Protocol::Resp3 => Value::Double(1.5),
        };
        expect(
            &mut c,
            &["EXEC"],
            array(vec![Value::Int(1), map, Value::Int(1), score, Value::Nil]),
        );
    }
}

#[test]
fn client_list_shows_multi_and_flag_x() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut a = cluster.client();
    let mut observer = cluster.client();
    let id = match run_command(&mut a, &["CLIENT", "ID"]) {
        Ok(Value::Int(id)) => id,
        other => panic!("{}", render_outcome(&other)),
    };
    let line = |observer: &mut redis::Connection| {
        let list = match run_command(observer, &["CLIENT", "LIST"]) {
            Ok(Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(Value::VerbatimString { text, .. }) => text,
            other => panic!("{}", render_outcome(&other)),
        };
        list.lines()
            .find(|l| l.starts_with(&format!("id={id} ")))
            .expect("the client's line")
            .to_owned()
    };
    assert!(line(&mut observer).contains(" flags=N "));
    assert!(line(&mut observer).contains(" multi=-1 "));
    expect(&mut a, &["MULTI"], ok());
    expect(&mut a, &["SET", "a", "1"], queued());
    expect(&mut a, &["PING"], queued());
    let during = line(&mut observer);
    assert!(
        during.contains(" flags=x ") && during.contains(" multi=2 "),
        "{during}"
    );
    expect(&mut a, &["DISCARD"], ok());
    assert!(line(&mut observer).contains(" multi=-1 "));
}

#[test]
fn reset_and_quit_act_at_once_inside_multi() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    expect(&mut c, &["MULTI"], ok());
    expect(&mut c, &["SET", "r", "1"], queued());
    expect(&mut c, &["RESET"], simple("RESET"));
    expect(&mut c, &["EXEC"], err("ERR EXEC without MULTI"));
    expect(&mut c, &["EXISTS", "r"], Ok(Value::Int(0)));
    let mut raw = cluster.raw();
    assert_eq!(raw.command(&["MULTI"]), "+OK\r\n");
    assert_eq!(raw.command(&["QUIT"]), "+OK\r\n");
    assert!(raw.is_closed());
}

#[test]
fn watch_on_one_proxy_is_invalidated_by_a_write_through_another() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let other = cluster.spawn_extra_proxy();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut a = cluster.client_with(protocol);
        let mut b = connect(&other.addr(), None, protocol);
        expect(&mut a, &["SET", "k", "0"], ok());
        // Unmodified: EXEC runs.
        expect(&mut a, &["WATCH", "k"], ok());
        expect(&mut b, &["GET", "k"], bulk("0"));
        expect(&mut a, &["MULTI"], ok());
        expect(&mut a, &["INCR", "k"], queued());
        expect(&mut a, &["EXEC"], array(vec![Value::Int(1)]));
        // Modified through the other proxy: EXEC aborts and runs nothing.
        expect(&mut a, &["WATCH", "k"], ok());
        expect(&mut b, &["INCR", "k"], Ok(Value::Int(2)));
        expect(&mut a, &["MULTI"], ok());
        expect(&mut a, &["SET", "k", "clobbered"], queued());
        expect(&mut a, &["EXEC"], nil());
        expect(&mut a, &["GET", "k"], bulk("2"));
        // Both proxies watching the same key: one EXEC wins, the other aborts.
        expect(&mut a, &["WATCH", "k"], ok());
        expect(&mut b, &["WATCH", "k"], ok());
        for c in [&mut a, &mut b] {
            expect(c, &["MULTI"], ok());
            expect(c, &["INCR", "k"], queued());
        }
        expect(&mut a, &["EXEC"], array(vec![Value::Int(3)]));
        expect(&mut b, &["EXEC"], nil());
        // A disconnect releases the watch: the next WATCH of the key still works.
        drop(b);
        expect(&mut a, &["WATCH", "k"], ok());
        expect(&mut a, &["MULTI"], ok());
        expect(&mut a, &["GET", "k"], queued());
        expect(
            &mut a,
            &["EXEC"],
            array(vec![Value::BulkString(b"3".to_vec())]),
        );
    }
}

#[test]
fn a_watch_taken_before_a_storaged_restart_aborts_exec_after_it() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    for signal in [Signal::SIGTERM, Signal::SIGKILL] {
        let mut c = cluster.client();
        expect(&mut c, &["SET", "k", "1"], ok());
        expect(&mut c, &["WATCH", "k"], ok());
        cluster.kill_storaged(signal);
        cluster.start_storaged();
        // storaged cannot know what happened to the key while it was away, so the old
        // watch fails conservatively: null, nothing runs, the client retries.
        expect(&mut c, &["MULTI"], ok());
        expect(&mut c, &["SET", "k", "2"], queued());
        expect(&mut c, &["EXEC"], nil());
        expect(&mut c, &["GET", "k"], bulk("1"));
        // The retry, with a fresh WATCH, succeeds.
        expect(&mut c, &["WATCH", "k"], ok());
        expect(&mut c, &["MULTI"], ok());
        expect(&mut c, &["SET", "k", "2"], queued());
        expect(&mut c, &["EXEC"], array(vec![Value::Okay]));
        expect(&mut c, &["GET", "k"], bulk("2"));
    }
}

#[test]
fn exec_is_atomic_for_concurrent_readers() {
    let cluster = TestCluster::start();
    let writers = 4;
    let rounds = 200;
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for _ in 0..2 {
        let addr = cluster.addr();
        let stop = stop.clone();
        let reads = reads.clone();
        readers.push(thread::spawn(move || {
            let mut c = connect(&addr, None, Protocol::Resp2);
            let mut mine = 0;
            while !stop.load(Ordering::Relaxed) || mine < 50 {
                mine += 1;
                let got: (Option<i64>, Option<i64>) = redis::cmd("MGET")
                    .arg("ta")
                    .arg("tb")
                    .query(&mut c)
                    .expect("MGET");
                assert_eq!(got.0, got.1, "a reader saw half a transaction");
                reads.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut handles = Vec::new();
    for _ in 0..writers {
        let addr = cluster.addr();
        handles.push(thread::spawn(move || {
            let mut c = connect(&addr, None, Protocol::Resp2);
            for _ in 0..rounds {
                let (a, b): (i64, i64) = redis::pipe()
                    .atomic()
                    .cmd("INCR")
                    .arg("ta")
                    .cmd("INCR")
                    .arg("tb")
                    .query(&mut c)
                    .expect("MULTI INCR INCR EXEC");
                assert_eq!(a, b, "EXEC interleaved with another client");
            }
        }));
    }
    for h in handles {
        h.join().expect("writer");
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().expect("reader");
    }
    assert!(reads.load(Ordering::Relaxed) > 0);
    let total = (writers * rounds) as i64;
    let mut c = cluster.client();
    let got: (i64, i64) = redis::cmd("MGET")
        .arg("ta")
        .arg("tb")
        .query(&mut c)
        .expect("MGET");
    assert_eq!(got, (total, total));
}

#[test]
fn watch_based_compare_and_set_counts_exactly_across_two_proxies() {
    let cluster = TestCluster::start();
    let extra = cluster.is_tandem().then(|| cluster.spawn_extra_proxy());
    let addrs: Vec<String> = match &extra {
        Some(p) => vec![cluster.addr(), p.addr()],
        None => vec![cluster.addr()],
    };
    let per_client = 50;
    let clients = 4;
    let aborted = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for i in 0..clients {
        let addr = addrs[i % addrs.len()].clone();
        let aborted = aborted.clone();
        handles.push(thread::spawn(move || {
            let mut c = connect(&addr, None, Protocol::Resp2);
            let mut done = 0;
            while done < per_client {
                redis::cmd("WATCH")
                    .arg("cas")
                    .query::<()>(&mut c)
                    .expect("WATCH");
                let current: Option<i64> = redis::cmd("GET").arg("cas").query(&mut c).expect("GET");
                let next = current.unwrap_or(0) + 1;
                let result: Option<(String,)> = redis::pipe()
                    .atomic()
                    .cmd("SET")
                    .arg("cas")
                    .arg(next)
                    .query(&mut c)
                    .expect("EXEC");
                match result {
                    Some(_) => done += 1,
                    None => {
                        aborted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for h in handles {
        h.join().expect("client");
    }
    let mut c = cluster.client();
    expect(
        &mut c,
        &["GET", "cas"],
        bulk((clients * per_client).to_string()),
    );
}

#[test]
fn exec_runs_exactly_once_across_a_storaged_sigkill() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for id in 0..3 {
        let addr = cluster.addr();
        let stop = stop.clone();
        let progress = progress.clone();
        handles.push(thread::spawn(move || {
            let mut c = connect(&addr, None, Protocol::Resp2);
            let mut acked = 0i64;
            while !stop.load(Ordering::Relaxed) {
                let (x, y): (i64, i64) = redis::pipe()
                    .atomic()
                    .cmd("INCR")
                    .arg(format!("x{id}"))
                    .cmd("INCRBY")
                    .arg(format!("y{id}"))
                    .arg(2)
                    .query(&mut c)
                    .unwrap_or_else(|e| panic!("client {id} EXEC {}: {e}", acked + 1));
                acked += 1;
                assert_eq!((x, y), (acked, 2 * acked), "client {id}");
                progress.fetch_add(1, Ordering::Relaxed);
            }
            acked
        }));
    }
    for _ in 0..3 {
        let before = progress.load(Ordering::Relaxed);
        wait_for(
            "transactions to make progress",
            Duration::from_secs(30),
            || (progress.load(Ordering::Relaxed) > before + 50).then_some(()),
        );
        cluster.kill_storaged(Signal::SIGKILL);
        cluster.start_storaged();
    }
    let before = progress.load(Ordering::Relaxed);
    wait_for("transactions to resume", Duration::from_secs(30), || {
        (progress.load(Ordering::Relaxed) > before + 50).then_some(())
    });
    stop.store(true, Ordering::Relaxed);
    let mut c = cluster.client();
    for (id, h) in handles.into_iter().enumerate() {
        let acked = h.join().expect("client");
        expect(&mut c, &["GET", &format!("x{id}")], bulk(acked.to_string()));
        expect(
            &mut c,
            &["GET", &format!("y{id}")],
            bulk((2 * acked).to_string()),
        );
    }
}

#[test]
fn a_transaction_of_proxy_local_commands_answers_while_storaged_is_down() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut c = cluster.client();
    cluster.kill_storaged(Signal::SIGKILL);
    expect(&mut c, &["MULTI"], ok());
    expect(&mut c, &["PING"], queued());
    expect(&mut c, &["ECHO", "x"], queued());
    expect(
        &mut c,
        &["EXEC"],
        array(vec![
            Value::SimpleString("PONG".into()),
            Value::BulkString(b"x".to_vec()),
        ]),
    );
    cluster.start_storaged();
    expect(&mut c, &["MULTI"], ok());
    expect(&mut c, &["SET", "back", "1"], queued());
    expect(&mut c, &["EXEC"], array(vec![Value::Okay]));
}

#[test]
fn an_exec_refused_before_running_is_worded_as_an_aborted_transaction() {
    let cluster = TestCluster::start_with(ClusterOptions {
        requirepass: Some("pw".into()),
        ..Default::default()
    });
    let mut raw = cluster.raw();
    assert_eq!(
        raw.command(&["EXEC"]),
        "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        raw.command(&["MULTI"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(raw.command(&["AUTH", "pw"]), "+OK\r\n");
    assert_eq!(
        raw.command(&["EXEC", "x"]),
        "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"
    );
    raw.command(&["SUBSCRIBE", "ch"]);
    assert_eq!(
        raw.command(&["EXEC"]),
        "-EXECABORT Transaction discarded because of: Can't execute 'exec': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
    );
}

#[test]
fn blocking_pops_inside_multi_run_as_their_non_blocking_form() {
    assert_same(&[
        &["MULTI"],
        &["BLPOP", "l", "0"],
        &["RPUSH", "l", "a", "b"],
        &["BLPOP", "l", "0"],
        &["BRPOP", "l", "1.5"],
        &["BRPOPLPUSH", "l2", "l3", "0"],
        &["BLMOVE", "l2", "l3", "LEFT", "RIGHT", "0"],
        &["BZPOPMIN", "z", "0"],
        &["BLMPOP", "0", "1", "l", "LEFT"],
        &["BZMPOP", "0", "1", "z", "MIN"],
        &["BLPOP", "l", "-1"],
        &["EXEC"],
        &["ZADD", "z", "1", "m"],
        &["MULTI"],
        &["BZPOPMAX", "z", "0"],
        &["BZPOPMAX", "z", "0"],
        &["EXEC"],
    ]);
}
