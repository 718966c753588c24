//! Lua scripts end to end (issue 15): EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT
//! LOAD|EXISTS|FLUSH against redis-server in RESP2 and RESP3 (replies, error texts, the
//! commands a script issues), a script inside MULTI, a script's writes invalidating a
//! WATCH, and the script cache shared by every proxy and surviving storaged restarts.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use bytes::BytesMut;
use nix::sys::signal::Signal;
use tandem_shared::wire::{
    self, Hello, KeyedRequest, Outcome as WireOutcome, RequestKey, Response,
};
use tandem_shared::{Command, Reply};
use tandem_tests::*;

/// SHA1 of `return 1`.
const RETURN_ONE: &str = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";

/// SHA1 of `return 2`.
const RETURN_TWO: &str = "7f923f79fe76194c868d7e1d0820de36700eb649";

/// The rate-limited counter the benchmark runs: INCR + EXPIRE of one key.
const INCR_EXPIRE: &str =
    "local n = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], ARGV[1]) return n";

#[test]
fn differential_eval_replies_and_the_commands_scripts_issue() {
    let differ = Differ::start();
    differ.check(&[
        &["SCRIPT", "FLUSH"],
        // Reply conversion of the basic Lua types.
        &["EVAL", "return 1", "0"],
        &["EVAL", "return 3.99", "0"],
        &["EVAL", "return 'hello'", "0"],
        &["EVAL", "return {1, 2, {3, 'x'}, nil, 4}", "0"],
        &["EVAL", "return false", "0"],
        &["EVAL", "return true", "0"],
        &["EVAL", "return nil", "0"],
        &["EVAL", "return {ok='fine'}", "0"],
        &["EVAL", "return {err='ERR custom failure'}", "0"],
        &["EVAL", "return redis.status_reply('DONE')", "0"],
        &["EVAL", "return redis.error_reply('MY own')", "0"],
        &["EVAL", "return {KEYS[1], KEYS[2], ARGV[1], #ARGV}", "2", "a", "b", "x", "y"],
        // Commands through redis.call, their replies converted back.
        &["EVAL", "return redis.call('SET', KEYS[1], ARGV[1])", "1", "k", "v"],
        &["EVAL", "return redis.call('GET', KEYS[1])", "1", "k"],
        &["EVAL", "return redis.call('GET', 'missing')", "0"],
        &["EVAL", INCR_EXPIRE, "1", "counter", "100"],
        &["EVAL", INCR_EXPIRE, "1", "counter", "100"],
        &["GET", "counter"],
        &["TTL", "counter"],
        &["EVAL", "redis.call('RPUSH', 'l', 'a', 'b', 'c') return redis.call('LRANGE', 'l', 0, -1)", "0"],
        &["EVAL", "redis.call('HSET', 'h', 'f', '1', 'g', '2') return redis.call('HGETALL', 'h')", "0"],
        &["EVAL", "redis.call('ZADD', 'z', 1, 'a', 2, 'b') return redis.call('ZRANGE', 'z', 0, -1, 'WITHSCORES')", "0"],
        &["EVAL", "return redis.call('SMEMBERS', 'nosuchset')", "0"],
        // RESP3 replies inside the script after redis.setresp(3), and back out.
        &["EVAL", "redis.setresp(3) return redis.call('HGETALL', 'h')", "0"],
        &["EVAL", "redis.setresp(3) return redis.call('ZSCORE', 'z', 'b')", "0"],
        &["EVAL", "redis.setresp(3) return redis.call('GET', 'missing')", "0"],
        &["EVAL", "redis.setresp(3) local r = redis.call('HGETALL', 'h') return r['map']['g']", "0"],
        &["EVAL", "return {double=3.5}", "0"],
        &["EVAL", "return redis.call('ZSCORE', 'z', 'b')", "0"],
        // The keys of a script, as COMMAND GETKEYS finds them (numkeys).
        &["COMMAND", "GETKEYS", "EVAL", "return 1", "2", "a", "b", "x"],
        &["COMMAND", "GETKEYS", "EVALSHA_RO", RETURN_ONE, "1", "a", "x"],
        &["EVAL", "return redis.call('PING')", "0"],
        &["EVAL", "return redis.call('ECHO', 'hi')", "0"],
        &["EVAL", "return #redis.call('TIME')", "0"],
        // SELECT inside a script changes the script's database only.
        &["EVAL", "redis.call('SELECT', 3) redis.call('SET', 'x', '1') return redis.call('SELECT', 16)", "0"],
        &["GET", "x"],
        &["EVAL", "redis.call('SELECT', 3) return redis.call('GET', 'x')", "0"],
        &["EVAL", "return redis.call('SELECT', 'a')", "0"],
        // Errors of the commands a script issues: raised by call, returned by pcall.
        &["EVAL", "return redis.call('INCR', 'l')", "0"],
        &["EVAL", "return redis.pcall('INCR', 'l')", "0"],
        &["EVAL", "local r = redis.pcall('INCR', 'l') return r['err']", "0"],
        &["EVAL", "return redis.call('SET', 'k', 'v', 'XX', 'NX')", "0"],
        &["EVAL", "return redis.call('nosuchcommand')", "0"],
        &["EVAL", "return redis.pcall('nosuchcommand')", "0"],
        &["EVAL", "return redis.call('GET')", "0"],
        &["EVAL", "return redis.call('MULTI')", "0"],
        &["EVAL", "return redis.call('BLPOP', 'l', 0)", "0"],
        // The blocking commands scripts may call (not `noscript` in Redis 7.0) do not block.
        &["EVAL", "return redis.call('BLMPOP', 0, 1, 'empty', 'LEFT')", "0"],
        &["EVAL", "return redis.call('BZMPOP', 0, 1, 'empty', 'MIN')", "0"],
        &["EVAL", "return redis.call('BLMPOP', 0, 1, 'l', 'RIGHT', 'COUNT', 2)", "0"],
        &["EVAL", "return redis.call('BZMPOP', 0, 1, 'z', 'MAX')", "0"],
        &["EVAL", "return redis.call('EVAL', 'return 1', 0)", "0"],
        &["EVAL", "return redis.call('SUBSCRIBE', 'c')", "0"],
        // Bad input.
        &["EVAL", "return +", "0"],
        &["EVAL", "return 1", "-1"],
        &["EVAL", "return +", "-1"],
        &["EVAL", "return 1", "2", "a"],
        &["EVAL", "return 1", "x"],
        &["EVAL", "return 1"],
        &["EVAL", "error('boom')", "0"],
        &["EVAL", "x = 1", "0"],
    ]);
}

#[test]
fn differential_evalsha_and_the_script_cache() {
    let differ = Differ::start();
    let incr_expire = reference_sha(&differ, INCR_EXPIRE);
    differ.check(&[
        &["SCRIPT", "FLUSH"],
        &["EVALSHA", RETURN_ONE, "0"],
        &["EVALSHA", "abc", "x"],
        &["EVALSHA", "0000000000000000000000000000000000000000", "x"],
        &["EVALSHA", "0000000000000000000000000000000000000000", "-1"],
        &["SCRIPT", "EXISTS", RETURN_ONE, "nope"],
        &["SCRIPT", "LOAD", "return 1"],
        &["SCRIPT", "EXISTS", RETURN_ONE, "nope"],
        &[
            "SCRIPT",
            "EXISTS",
            "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB",
        ],
        &["EVALSHA", RETURN_ONE, "0"],
        &["EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"],
        &["EVALSHA", RETURN_ONE, "-1"],
        &["EVALSHA", RETURN_ONE, "1"],
        // EVAL caches what it runs.
        &["EVAL", "return 2", "0"],
        &["EVALSHA", RETURN_TWO, "0"],
        &["SCRIPT", "LOAD", INCR_EXPIRE],
        &["EVALSHA", &incr_expire, "1", "c", "60"],
        &["SCRIPT", "LOAD", "return +"],
        &["SCRIPT", "FLUSH", "ASYNC"],
        &["SCRIPT", "EXISTS", RETURN_ONE],
        &["EVALSHA", RETURN_ONE, "0"],
        &["SCRIPT", "FLUSH", "sync"],
        &["SCRIPT", "FLUSH", "lazy"],
        &["SCRIPT", "FLUSH", "ASYNC", "SYNC"],
        &["SCRIPT", "LOAD"],
        &["SCRIPT", "LOAD", "a", "b"],
        &["SCRIPT", "EXISTS"],
        &["SCRIPT", "Nope"],
        &["SCRIPT", "HELP"],
        &["SCRIPT", "KILL"],
        &["SCRIPT", "KILL", "now"],
        &["SCRIPT", "help", "x"],
        &["SCRIPT"],
    ]);
}

/// The SHA1 redis-server names `body` by.
fn reference_sha(differ: &Differ, body: &str) -> String {
    redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(body)
        .query(&mut differ.reference().client())
        .expect("SCRIPT LOAD on redis-server")
}

#[test]
fn differential_read_only_scripts() {
    let differ = Differ::start();
    differ.check(&[
        &["SCRIPT", "FLUSH"],
        &["SET", "k", "v"],
        &["EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "k"],
        &[
            "EVAL_RO",
            "return redis.call('SET', KEYS[1], 'w')",
            "1",
            "k",
        ],
        &["EVAL_RO", "return redis.pcall('DEL', KEYS[1])", "1", "k"],
        &["GET", "k"],
        &["EVAL_RO", "return 1", "-1"],
        &["EVALSHA_RO", RETURN_ONE, "0"],
        &["SCRIPT", "LOAD", "return 1"],
        &["EVALSHA_RO", RETURN_ONE, "0"],
        // A no-writes shebang makes plain EVAL read-only too.
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('GET', 'k')",
            "0",
        ],
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.call('DEL', 'k')",
            "0",
        ],
        &["EVAL", "#!lua flags=bogus\nreturn 1", "0"],
        &["GET", "k"],
    ]);
}

#[test]
fn differential_scripts_inside_multi() {
    let differ = Differ::start();
    differ.check(&[
        &["SCRIPT", "FLUSH"],
        &["MULTI"],
        &["SET", "a", "1"],
        &[
            "EVAL",
            "return redis.call('INCRBY', KEYS[1], ARGV[1])",
            "1",
            "a",
            "5",
        ],
        &["SCRIPT", "LOAD", "return 1"],
        &["EVALSHA", RETURN_ONE, "0"],
        &["EVAL", "return redis.call('GET', 'a')", "0"],
        &["EXEC"],
        &["MULTI"],
        &["EVAL", "return 1", "-1"],
        &["EXEC"],
        &["GET", "a"],
    ]);
}

/// A script's writes are a client's writes: they fail another client's WATCH, and a
/// script's failure half way leaves what it wrote before (Redis does not roll back).
#[test]
fn a_script_write_invalidates_watch_and_commits_what_it_wrote() {
    let cluster = TestCluster::start();
    let mut watcher = cluster.client();
    let mut other = cluster.client();
    expect(&mut watcher, &["SET", "w", "0"], ok());
    expect(&mut watcher, &["WATCH", "w"], ok());
    expect(
        &mut other,
        &["EVAL", "return redis.call('INCR', KEYS[1])", "1", "w"],
        int(1),
    );
    expect(&mut watcher, &["MULTI"], ok());
    expect(&mut watcher, &["SET", "w", "x"], simple("QUEUED"));
    let exec = run_command(&mut watcher, &["EXEC"]);
    assert!(
        matches!(exec, Ok(redis::Value::Nil)),
        "EXEC after a script wrote the watched key: {exec:?}"
    );
    expect(&mut other, &["GET", "w"], bulk("1"));

    let failed = run_command(
        &mut other,
        &["EVAL", "redis.call('SET', 'half', '1') redis.call('INCR', 'w2') return redis.call('LPUSH', 'half', 'x')", "0"],
    );
    assert!(failed.is_err(), "{failed:?}");
    expect(&mut other, &["GET", "half"], bulk("1"));
    expect(&mut other, &["GET", "w2"], bulk("1"));
}

/// The script cache lives in storaged, persisted: a script loaded through one proxy runs
/// through another, and after storaged restarts (killed or stopped); SCRIPT FLUSH through
/// either proxy empties it for all, and stays flushed across a restart.
#[test]
fn the_script_cache_is_shared_by_proxies_and_survives_restarts() {
    let mut cluster = TestCluster::start();
    let extra = cluster.spawn_extra_proxy();
    let mut a = cluster.client();
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(INCR_EXPIRE)
        .query(&mut a)
        .expect("SCRIPT LOAD");
    let mut b = extra.client();
    expect(&mut b, &["EVALSHA", &sha, "1", "n", "60"], int(1));
    expect(
        &mut b,
        &["SCRIPT", "EXISTS", &sha],
        Ok(redis::Value::Array(vec![redis::Value::Int(1)])),
    );
    // EVAL through B caches for A.
    expect(&mut b, &["EVAL", "return 2", "0"], int(2));
    expect(&mut a, &["EVALSHA", RETURN_TWO, "0"], int(2));

    for signal in [Signal::SIGKILL, Signal::SIGTERM] {
        cluster.kill_storaged(signal);
        cluster.start_storaged();
        let mut a = wait_for(
            "the proxy to serve EVALSHA again",
            std::time::Duration::from_secs(10),
            || {
                let mut c = cluster.client();
                run_command(&mut c, &["EVALSHA", &sha, "1", "n", "60"])
                    .ok()
                    .map(|v| (c, v))
            },
        );
        assert!(matches!(a.1, redis::Value::Int(_)), "{:?}", a.1);
        let n = run_command(&mut a.0, &["GET", "n"]);
        assert!(matches!(n, Ok(redis::Value::BulkString(_))), "{n:?}");
    }
    let mut a = cluster.client();
    expect(&mut a, &["SCRIPT", "FLUSH"], ok());
    let mut b = extra.client();
    expect(
        &mut b,
        &["EVALSHA", &sha, "1", "n", "60"],
        err("NOSCRIPT No matching script. Please use EVAL."),
    );
    cluster.kill_storaged(Signal::SIGKILL);
    cluster.start_storaged();
    let exists = wait_for(
        "SCRIPT EXISTS after the restart",
        std::time::Duration::from_secs(10),
        || run_command(&mut cluster.client(), &["SCRIPT", "EXISTS", &sha]).ok(),
    );
    assert_eq!(exists, redis::Value::Array(vec![redis::Value::Int(0)]));
}

/// The keyspace events a script's writes publish, on tandem and on redis-server.
#[test]
fn a_scripts_writes_publish_keyspace_events_as_redis_does() {
    let differ = Differ::start();
    let script: &[&[&str]] = &[
        &["EVAL", "redis.call('SET', 'a', '1') redis.call('INCR', 'a') redis.call('EXPIRE', 'a', 100) redis.call('RPUSH', 'l', 'x') return redis.call('DEL', 'a', 'l')", "0"],
        &["EVAL", "redis.call('SET', 'b', '1') return redis.call('LPUSH', 'b', 'x')", "0"],
    ];
    let ours = events(&differ.tandem().addr(), script);
    let theirs = events(&differ.reference().addr(), script);
    assert_eq!(ours, theirs);
    assert!(ours.len() >= 10, "{ours:?}");
}

const EVENTS_DONE: &str = "scripting-test-done";

fn events(addr: &str, script: &[&[&str]]) -> Vec<String> {
    let mut c = RawClient::connect(addr);
    c.command(&["FLUSHALL"]);
    assert_eq!(
        c.command(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]),
        "+OK\r\n"
    );
    let mut sub = RawClient::connect(addr);
    sub.command(&["PSUBSCRIBE", "__key*__:*"]);
    sub.command(&["SUBSCRIBE", EVENTS_DONE]);
    for step in script {
        c.command(step);
    }
    c.command(&["PUBLISH", EVENTS_DONE, "x"]);
    let mut got = Vec::new();
    loop {
        let message = sub.reply();
        if message.contains(EVENTS_DONE) {
            break;
        }
        got.push(message);
    }
    assert_eq!(
        c.command(&["CONFIG", "SET", "notify-keyspace-events", ""]),
        "+OK\r\n"
    );
    got
}

/// An EVAL resent with the same request key, as a proxy resends after a lost link, runs
/// once, also across a SIGKILL of storaged: its writes and its remembered reply commit
/// together.
#[test]
fn a_resent_eval_runs_once_even_after_a_crash() {
    let mut cluster = TestCluster::start();
    let eval = || {
        vec![Command::Eval {
            body: INCR_EXPIRE.as_bytes().to_vec(),
            keys: vec![b"once".to_vec()],
            args: vec![b"100".to_vec()],
            read_only: false,
            caller: None,
        }]
    };
    let key = RequestKey {
        proxy: 77,
        seq: 1,
        born_ms: now_ms(),
    };
    let first = Link::open(&cluster).keyed(key, 0, eval());
    assert_eq!(first, vec![WireOutcome::Ok(Reply::Integer(1))]);
    assert_eq!(Link::open(&cluster).keyed(key, 1, eval()), first);
    cluster.kill_storaged(Signal::SIGKILL);
    cluster.start_storaged();
    assert_eq!(Link::open(&cluster).keyed(key, 2, eval()), first);
    expect(&mut cluster.client(), &["GET", "once"], bulk("1"));
    // A new request key runs it again.
    let next = RequestKey { seq: 2, ..key };
    assert_eq!(
        Link::open(&cluster).keyed(next, 0, eval()),
        vec![WireOutcome::Ok(Reply::Integer(2))]
    );
}

/// A minimal link client speaking the wire protocol directly (as a proxy resending).
struct Link {
    stream: UnixStream,
    buf: BytesMut,
}

impl Link {
    fn open(cluster: &TestCluster) -> Link {
        let mut stream = UnixStream::connect(cluster.socket_path()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut out = BytesMut::new();
        let hello = Hello {
            protocol: wire::PROTOCOL_VERSION,
            schema: wire::SCHEMA_HASH,
            instance_id: 1,
            pid: std::process::id(),
            name: "scripting test".into(),
        };
        wire::encode(&hello, u32::MAX, &mut out).expect("encode");
        stream.write_all(&out).expect("write");
        let mut link = Link {
            stream,
            buf: BytesMut::new(),
        };
        link.frame(); // HelloAck
        link
    }

    fn frame(&mut self) -> wire::Frame {
        loop {
            if let Some(frame) = wire::decode(&mut self.buf, u32::MAX).expect("frame") {
                return frame;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "storaged closed the link");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn keyed(&mut self, key: RequestKey, attempt: u32, commands: Vec<Command>) -> Vec<WireOutcome> {
        let mut out = BytesMut::new();
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

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

/// The Lua state's memory is bounded: a script that allocates without end fails with an
/// error, storaged carries on, and so do the next scripts.
#[test]
fn a_script_allocating_without_end_gets_an_error_and_storaged_survives() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    let grown = run_command(
        &mut c,
        &[
            "EVAL",
            "local t = {} for i = 1, 100000 do t[i] = string.rep('x', 1000000) .. i end return #t",
            "0",
        ],
    );
    match grown {
        Err(text) => assert!(text.contains("memory"), "{text}"),
        Ok(v) => panic!("a script allocating 100 GB answered {v:?}"),
    }
    expect(
        &mut c,
        &["EVAL", "return redis.call('SET', 'after', 'ok')", "0"],
        ok(),
    );
    expect(&mut c, &["GET", "after"], bulk("ok"));
}

/// A script's push wakes a client blocked on the list, as any LPUSH does (after the
/// script, which runs whole first).
#[test]
fn a_script_push_serves_a_blocked_client() {
    let cluster = TestCluster::start();
    let addr = cluster.addr();
    let waiter = std::thread::spawn(move || {
        let mut c = connect(&addr, None, Protocol::Resp2);
        run_command(&mut c, &["BLPOP", "jobs", "10"])
    });
    let mut c = cluster.client();
    wait_for("the BLPOP to block", Duration::from_secs(10), || {
        info(&mut c, "clients")
            .contains("blocked_clients:1\r\n")
            .then_some(())
    });
    expect(
        &mut c,
        &[
            "EVAL",
            "redis.call('RPUSH', KEYS[1], 'a', 'b') return redis.call('LLEN', KEYS[1])",
            "1",
            "jobs",
        ],
        int(2),
    );
    let popped = waiter.join().expect("the waiter");
    assert_eq!(
        popped,
        Ok(redis::Value::Array(vec![
            redis::Value::BulkString(b"jobs".to_vec()),
            redis::Value::BulkString(b"a".to_vec()),
        ]))
    );
    expect(&mut c, &["LRANGE", "jobs", "0", "-1"], bulks(&[Some("b")]));
}

/// What `SCRIPT KILL` does to a script that has not written, seen from both clients: the
/// killer's replies until it is accepted, the script's client's error, then `NOTBUSY`.
fn kill_a_running_script(addr: &str) -> (Outcome, Outcome, Outcome) {
    let looping = {
        let addr = addr.to_owned();
        std::thread::spawn(move || {
            let mut c = connect(&addr, None, Protocol::Resp2);
            run_command(
                &mut c,
                &["EVAL", "local i = 0 while true do i = i + 1 end", "0"],
            )
        })
    };
    let mut killer = connect(addr, None, Protocol::Resp2);
    let accepted = wait_for(
        "SCRIPT KILL to find the script",
        Duration::from_secs(10),
        || {
            let reply = run_command(&mut killer, &["SCRIPT", "KILL"]);
            (reply != err("NOTBUSY No scripts in execution right now.")).then_some(reply)
        },
    );
    let killed = looping.join().expect("the script's client");
    let after = run_command(&mut killer, &["SCRIPT", "KILL"]);
    (accepted, killed, after)
}

#[test]
fn script_kill_stops_a_script_that_has_not_written_as_redis_does() {
    let differ = Differ::start();
    let ours = kill_a_running_script(&differ.tandem().addr());
    let theirs = kill_a_running_script(&differ.reference().addr());
    assert_eq!(ours, theirs);
    assert_eq!(ours.0, ok());
}

/// A script that has written cannot be killed (its writes must commit whole): `SCRIPT KILL`
/// answers `UNKILLABLE` and the script runs to its end. Meanwhile reads are answered (from
/// the state before the script).
#[test]
fn script_kill_refuses_a_script_that_has_written() {
    let cluster = TestCluster::start();
    let addr = cluster.addr();
    let busy = std::thread::spawn(move || {
        let mut c = connect(&addr, None, Protocol::Resp2);
        run_command(
            &mut c,
            &[
                "EVAL",
                "redis.call('SET', KEYS[1], 'written') local s = redis.call('TIME')[1] \
                 while redis.call('TIME')[1] - s < 2 do end return 'done'",
                "1",
                "x",
            ],
        )
    });
    let mut killer = cluster.client();
    let refused = wait_for(
        "SCRIPT KILL to find the script",
        Duration::from_secs(10),
        || {
            let reply = run_command(&mut killer, &["SCRIPT", "KILL"]);
            (reply != err("NOTBUSY No scripts in execution right now.")).then_some(reply)
        },
    );
    assert_eq!(
        refused,
        err(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. \
             You can either wait the script termination or kill the server in a hard way using \
             the SHUTDOWN NOSAVE command."
        )
    );
    expect(&mut killer, &["GET", "x"], nil());
    assert_eq!(busy.join().expect("the script's client"), bulk("done"));
    expect(&mut killer, &["GET", "x"], bulk("written"));
}

/// Past `busy-reply-threshold` (5 s) a running script makes writes fail at once with
/// Redis's BUSY error instead of queueing behind it; reads are still answered, from the
/// state before the script; once the script ends, writes run again. (The writes queued
/// before the threshold wait for the script, as in Redis.)
#[test]
fn writes_get_busy_while_a_long_script_runs_and_reads_do_not() {
    // The script's own client waits past the default 5 s deadline (Redis has none).
    let cluster = TestCluster::start_with(ClusterOptions {
        proxy_args: vec!["--request-timeout-ms".into(), "15000".into()],
        ..Default::default()
    });
    let mut c = cluster.client();
    expect(&mut c, &["SET", "k", "before"], ok());
    let addr = cluster.addr();
    let long = std::thread::spawn(move || {
        let mut c = connect(&addr, None, Protocol::Resp2);
        run_command(
            &mut c,
            &[
                "EVAL",
                "local s = redis.call('TIME')[1] while redis.call('TIME')[1] - s < 8 do end \
                 return redis.call('SET', KEYS[1], 'after')",
                "1",
                "k",
            ],
        )
    });
    let busy =
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
    wait_for(
        "a write to be refused BUSY",
        Duration::from_secs(12),
        || {
            // A write sent before the threshold queues behind the script: give up on it
            // (it runs later) and try again on a new connection.
            let mut w = cluster.client();
            w.set_read_timeout(Some(Duration::from_millis(300)))
                .expect("read timeout");
            (run_command(&mut w, &["SET", "other", "1"]) == err(busy)).then_some(())
        },
    );
    expect(&mut c, &["GET", "k"], bulk("before"));
    assert_eq!(long.join().expect("the script's client"), ok());
    expect(&mut c, &["GET", "k"], bulk("after"));
    expect(&mut c, &["SET", "other", "2"], ok());
}

/// A script storaged is SIGKILLed in the middle of leaves nothing behind (its writes were
/// in the group, not committed), and the proxy's resend after the restart runs it whole,
/// once: the client gets the script's reply and the counter moved by one.
#[test]
fn a_script_cut_by_sigkill_commits_nothing_and_its_resend_runs_once() {
    let mut cluster = TestCluster::start_with(ClusterOptions {
        proxy_args: vec!["--request-timeout-ms".into(), "20000".into()],
        ..Default::default()
    });
    let unkillable = err(
        "UNKILLABLE Sorry the script already executed write commands against the dataset. You \
         can either wait the script termination or kill the server in a hard way using the \
         SHUTDOWN NOSAVE command.",
    );
    // SCRIPT KILL is the probe that the script runs and has written (UNKILLABLE); should it
    // land before the script's first write, it kills the script instead: start over.
    for _attempt in 0..5 {
        let addr = cluster.addr();
        let script = std::thread::spawn(move || {
            let mut c = connect(&addr, None, Protocol::Resp2);
            run_command(
                &mut c,
                &[
                    "EVAL",
                    "local n = redis.call('INCR', KEYS[1]) local s = redis.call('TIME')[1] \
                     while redis.call('TIME')[1] - s < 2 do end return n",
                    "1",
                    "cut",
                ],
            )
        });
        let mut c = cluster.client();
        let probe = wait_for("the script to run", Duration::from_secs(10), || {
            let reply = run_command(&mut c, &["SCRIPT", "KILL"]);
            (reply != err("NOTBUSY No scripts in execution right now.")).then_some(reply)
        });
        if probe != unkillable {
            assert_eq!(probe, ok());
            assert!(script.join().expect("the script's client").is_err());
            continue;
        }
        cluster.kill_storaged(Signal::SIGKILL);
        cluster.start_storaged();
        assert_eq!(script.join().expect("the script's client"), int(1));
        expect(&mut cluster.client(), &["GET", "cut"], bulk("1"));
        return;
    }
    panic!("SCRIPT KILL never found the script after its first write");
}

/// A 10 MB script body is an ordinary large argument: cached, persisted and run, as by
/// redis-server (whose only bound is `proto-max-bulk-len`).
#[test]
fn a_ten_megabyte_script_runs_as_on_redis() {
    let differ = Differ::start();
    let body = format!("return #ARGV[1] -- {}", "x".repeat(10 << 20));
    for mut conn in [differ.tandem().client(), differ.reference().client()] {
        let n: i64 = redis::cmd("EVAL")
            .arg(&body)
            .arg(0)
            .arg("abc")
            .query(&mut conn)
            .expect("EVAL of a 10 MB body");
        assert_eq!(n, 3);
        let sha: String = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(&body)
            .query(&mut conn)
            .expect("SCRIPT LOAD of a 10 MB body");
        expect(&mut conn, &["EVALSHA", &sha, "0", "abcd"], int(4));
    }
}

/// A library of two functions, one flagged `no-writes`, as `FUNCTION LOAD` takes it.
const LIBRARY: &str = "#!lua name=mylib
redis.register_function('setkey', function(keys, args) return redis.call('SET', keys[1], args[1]) end)
redis.register_function{function_name='getkey', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}, description='reads a key'}";

#[test]
fn differential_functions_and_fcall() {
    let differ = Differ::start();
    differ.check(&[
        &["FUNCTION", "FLUSH"],
        &["FCALL", "setkey", "1", "k", "v"],
        &["FUNCTION", "LOAD", LIBRARY],
        &["FUNCTION", "LOAD", LIBRARY],
        &["FUNCTION", "LOAD", "REPLACE", LIBRARY],
        &["FUNCTION", "LOAD", "#!lua name=bad\nreturn +"],
        &["FUNCTION", "LOAD", "#!lua name=none\nreturn 1"],
        &["FUNCTION", "LOAD", "no shebang"],
        &["FUNCTION", "LOAD", "FORCE", LIBRARY],
        &["FCALL", "setkey", "1", "k", "v"],
        &["FCALL", "getkey", "1", "k"],
        &["FCALL_RO", "getkey", "1", "k"],
        &["FCALL_RO", "setkey", "1", "k", "w"],
        &["FCALL", "nosuch", "x"],
        &["FCALL", "setkey", "x"],
        &["FCALL", "setkey", "-1"],
        &["FCALL", "setkey", "3", "a"],
        // One function per library in what LIST shows: Redis lists a library's
        // functions in its dictionary's order.
        &["FUNCTION", "LOAD", "#!lua name=ro\nredis.register_function{function_name='ro1', callback=function() return 1 end, flags={'no-writes', 'allow-stale'}, description='one'}"],
        &["FUNCTION", "DELETE", "mylib"],
        &["FUNCTION", "LIST"],
        &["FUNCTION", "LIST", "WITHCODE"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "r*"],
        &["FUNCTION", "LIST", "LIBRARYNAME", "other"],
        &["FUNCTION", "LOAD", LIBRARY],
        &["FUNCTION", "LIST", "LIBRARYNAME"],
        &["FUNCTION", "LIST", "WITHCODE", "WITHCODE"],
        &["FUNCTION", "LIST", "bogus"],
        &["FUNCTION", "DELETE", "nosuch"],
        &["FUNCTION", "DELETE", "mylib"],
        &["FCALL", "getkey", "1", "k"],
        &["FUNCTION", "FLUSH", "x"],
        &["FUNCTION", "FLUSH", "ASYNC"],
        &["FUNCTION", "RESTORE", "abc"],
        &["FUNCTION", "RESTORE", "abc", "bogus"],
        &["FUNCTION", "RESTORE", "abc", "FLUSH", "extra"],
        &["FUNCTION", "DUMP", "x"],
        &["FUNCTION", "Nope"],
        &["FUNCTION", "LOAD"],
    ]);
}

/// Functions are persisted (as Redis persists them) and shared by every proxy: a library
/// loaded through one proxy runs through another and after storaged restarts; FUNCTION
/// FLUSH through either empties it for all, for good.
#[test]
fn functions_are_shared_by_proxies_and_survive_restarts() {
    let mut cluster = TestCluster::start();
    let extra = cluster.spawn_extra_proxy();
    expect(
        &mut cluster.client(),
        &["FUNCTION", "LOAD", LIBRARY],
        bulk("mylib"),
    );
    expect(
        &mut extra.client(),
        &["FCALL", "setkey", "1", "k", "v"],
        ok(),
    );
    cluster.kill_storaged(Signal::SIGKILL);
    cluster.start_storaged();
    let got = wait_for("FCALL after the restart", Duration::from_secs(10), || {
        run_command(&mut cluster.client(), &["FCALL", "getkey", "1", "k"]).ok()
    });
    assert_eq!(got, redis::Value::BulkString(b"v".to_vec()));
    expect(&mut extra.client(), &["FUNCTION", "FLUSH"], ok());
    cluster.kill_storaged(Signal::SIGTERM);
    cluster.start_storaged();
    let gone = wait_for(
        "FCALL after the second restart",
        Duration::from_secs(10),
        || {
            let reply = run_command(&mut cluster.client(), &["FCALL", "getkey", "1", "k"]);
            (reply != err("ERR no reply from storage within the request deadline (5000 ms); the outcome of the command is unknown")).then_some(reply)
        },
    );
    assert_eq!(gone, err("ERR Function not found"));
}

/// FUNCTION DUMP and RESTORE: a payload redis-server dumped restores into tandem (and
/// tandem's own round-trips), by policy.
#[test]
fn function_restore_takes_redis_payloads_and_round_trips() {
    let differ = Differ::start();
    let mut theirs = differ.reference().client();
    let _: () = redis::cmd("FUNCTION")
        .arg("FLUSH")
        .query(&mut theirs)
        .expect("flush");
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(LIBRARY)
        .query(&mut theirs)
        .expect("load on redis-server");
    let payload: Vec<u8> = redis::cmd("FUNCTION")
        .arg("DUMP")
        .query(&mut theirs)
        .expect("dump");
    let mut ours = differ.tandem().client();
    expect(&mut ours, &["FUNCTION", "FLUSH"], ok());
    let restore = |conn: &mut redis::Connection, policy: Option<&str>| {
        let mut cmd = redis::cmd("FUNCTION");
        cmd.arg("RESTORE").arg(&payload);
        if let Some(p) = policy {
            cmd.arg(p);
        }
        cmd.query::<redis::Value>(conn).map_err(|e| error_text(&e))
    };
    assert_eq!(restore(&mut ours, None), Ok(redis::Value::Okay));
    expect(&mut ours, &["FCALL", "setkey", "1", "k", "v"], ok());
    // APPEND (the default) refuses a library already loaded, as redis-server does.
    let again = restore(&mut ours, None);
    assert_eq!(again, restore(&mut theirs, None));
    assert!(again.is_err(), "{again:?}");
    assert_eq!(restore(&mut ours, Some("REPLACE")), Ok(redis::Value::Okay));
    // Tandem's own dump round-trips through FLUSH.
    let mine: Vec<u8> = redis::cmd("FUNCTION")
        .arg("DUMP")
        .query(&mut ours)
        .expect("dump");
    expect(&mut ours, &["FUNCTION", "FLUSH"], ok());
    let back = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&mine)
        .arg("FLUSH")
        .query::<redis::Value>(&mut ours);
    assert!(matches!(back, Ok(redis::Value::Okay)), "{back:?}");
    expect(&mut ours, &["FCALL", "getkey", "1", "k"], bulk("v"));
}
