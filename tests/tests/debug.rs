//! DEBUG and LOLWUT (issue 18) against redis-server 7.0: DEBUG refused with Redis's text
//! by default (`enable-debug-command no`), and with `--enable-debug-command yes` the
//! subcommands tandem runs (HELP, ERROR, SLEEP, OBJECT, SET-ACTIVE-EXPIRE, RELOAD) with
//! Redis's replies and argument errors; SLEEP holds writes from another client; RELOAD
//! keeps data and connections; SET-ACTIVE-EXPIRE 0 stops background expiry.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tandem_tests::*;

/// A redis-server with `--enable-debug-command yes` (the harness's reference runs with
/// Redis's default, `no`).
struct DebugRedis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl DebugRedis {
    fn start() -> DebugRedis {
        let dir = tempfile::tempdir().expect("temp dir");
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .args(["--enable-debug-command", "yes", "--dir"])
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let addr = format!("127.0.0.1:{port}");
            let up = wait_for("redis-server", Duration::from_secs(10), || {
                if child.try_wait().ok().flatten().is_some() {
                    return Some(false);
                }
                try_connect(&addr, None, Protocol::Resp2).ok().map(|_| true)
            });
            if up {
                return DebugRedis {
                    child,
                    port,
                    _dir: dir,
                };
            }
        }
        panic!("redis-server with enable-debug-command did not start");
    }

    fn client_with(&self, protocol: Protocol) -> redis::Connection {
        connect(&format!("127.0.0.1:{}", self.port), None, protocol)
    }
}

impl Drop for DebugRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn debug_cluster() -> TestCluster {
    TestCluster::start_with(ClusterOptions {
        proxy_args: vec!["--enable-debug-command".into(), "yes".into()],
        ..ClusterOptions::default()
    })
}

/// Runs `script` on both, RESP2 then RESP3, and compares reply by reply.
fn same(ours: &TestCluster, theirs: &DebugRedis, script: &[&[&str]]) {
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut a = ours.client_with(protocol);
        let mut b = theirs.client_with(protocol);
        for (step, args) in script.iter().enumerate() {
            let got = run_command(&mut a, args);
            let want = run_command(&mut b, args);
            assert!(
                replies_match(args, &got, &want),
                "{protocol:?} step {step} {args:?}: tandem {} vs redis-server {}",
                render_outcome(&got),
                render_outcome(&want)
            );
        }
    }
}

#[test]
fn debug_is_refused_by_default_as_redis_refuses_it() {
    let d = Differ::start();
    d.check(&[
        &["DEBUG", "SLEEP", "0"],
        &["DEBUG", "HELP"],
        &["DEBUG", "OBJECT", "k"],
        &["DEBUG", "BOGUS"],
        &["DEBUG"],
        &["debug", "reload"],
    ]);
}

#[test]
fn debug_subcommands_reply_as_redis() {
    let ours = debug_cluster();
    let theirs = DebugRedis::start();
    same(
        &ours,
        &theirs,
        &[
            &["FLUSHALL"],
            &["DEBUG", "SLEEP", "0"],
            &["DEBUG", "SLEEP", "0.01"],
            &["DEBUG", "SLEEP", "abc"],
            &["DEBUG", "SLEEP"],
            &["DEBUG", "SLEEP", "0", "1"],
            &["DEBUG", "ERROR", "foo bar"],
            &["DEBUG", "ERROR", "WRONGTYPE made up"],
            &["DEBUG", "ERROR", ""],
            &["DEBUG", "ERROR"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
            &["DEBUG", "SET-ACTIVE-EXPIRE", "x"],
            &["DEBUG", "SET-ACTIVE-EXPIRE"],
            &["DEBUG", "RELOAD"],
            &["DEBUG", "RELOAD", "NOSAVE"],
            &["DEBUG", "RELOAD", "nosave", "noflush", "merge"],
            &["DEBUG", "RELOAD", "x"],
            &["DEBUG", "OBJECT", "nokey"],
            &["DEBUG", "OBJECT"],
            &["DEBUG", "OBJECT", "a", "b"],
            &["DEBUG", "HELP", "x"],
            &["DEBUG", "NOSUCHTHING"],
            &["DEBUG"],
            &["MULTI"],
            &["DEBUG", "SLEEP", "0"],
            &["EXEC"],
        ],
    );
}

#[test]
fn debug_object_describes_the_value_in_redis_words() {
    let c = debug_cluster();
    let mut conn = c.client();
    expect(&mut conn, &["SET", "n", "123"], ok());
    expect(&mut conn, &["SET", "s", "hello"], ok());
    expect(&mut conn, &["RPUSH", "l", "a", "b", "c"], int(3));
    expect(&mut conn, &["HSET", "h", "f", "v"], int(1));
    let line = |conn: &mut redis::Connection, key: &str| match run_command(
        conn,
        &["DEBUG", "OBJECT", key],
    ) {
        Ok(redis::Value::SimpleString(s)) => s,
        other => panic!("DEBUG OBJECT {key}: {other:?}"),
    };
    let n = line(&mut conn, "n");
    assert!(n.starts_with("Value at:0x"), "{n}");
    assert!(
        n.contains(" refcount:2147483647 encoding:int serializedlength:2 lru:"),
        "{n}"
    );
    let s = line(&mut conn, "s");
    assert!(
        s.contains(" refcount:1 encoding:embstr serializedlength:6 "),
        "{s}"
    );
    let l = line(&mut conn, "l");
    assert!(l.contains(" encoding:quicklist "), "{l}");
    assert!(
        l.contains(" ql_nodes:1 ql_avg_node:3.00 ql_listpack_max:-2 ql_compressed:0 "),
        "{l}"
    );
    let h = line(&mut conn, "h");
    assert!(h.contains(" encoding:listpack "), "{h}");
}

#[test]
fn sleep_holds_writes_from_other_clients() {
    let c = debug_cluster();
    let mut sleeper = c.client();
    let mut other = c.client();
    expect(&mut other, &["SET", "k", "0"], ok());
    let t = std::thread::spawn(move || {
        let start = Instant::now();
        expect(&mut sleeper, &["DEBUG", "SLEEP", "0.5"], ok());
        start.elapsed()
    });
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    expect(&mut other, &["INCR", "k"], int(1));
    let waited = start.elapsed();
    let slept = t.join().expect("sleeper");
    assert!(slept >= Duration::from_millis(450), "{slept:?}");
    assert!(
        waited >= Duration::from_millis(250),
        "INCR ran during the sleep: {waited:?}"
    );
}

#[test]
fn reload_keeps_data_and_connections() {
    let c = debug_cluster();
    let mut conn = c.client();
    let mut watcher = c.client();
    expect(&mut conn, &["SET", "s", "v"], ok());
    expect(&mut conn, &["RPUSH", "l", "a", "b"], int(2));
    expect(&mut conn, &["ZADD", "z", "1", "m"], int(1));
    expect(&mut conn, &["DEBUG", "RELOAD"], ok());
    expect(&mut conn, &["GET", "s"], bulk("v"));
    expect(
        &mut watcher,
        &["LRANGE", "l", "0", "-1"],
        bulks(&[Some("a"), Some("b")]),
    );
    expect(&mut watcher, &["ZSCORE", "z", "m"], bulk("1"));
    expect(&mut conn, &["DBSIZE"], int(3));
}

#[test]
fn set_active_expire_stops_background_expiry() {
    let c = debug_cluster();
    let mut conn = c.client();
    expect(&mut conn, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"], ok());
    for i in 0..20 {
        let k = format!("k{i}");
        expect(&mut conn, &["SET", &k, "v", "PX", "10"], ok());
    }
    std::thread::sleep(Duration::from_millis(600));
    // Expired keys are invisible but, with no background cycle, still counted.
    expect(&mut conn, &["DBSIZE"], int(20));
    expect(&mut conn, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"], ok());
    wait_for("background expiry", Duration::from_secs(10), || {
        (run_command(&mut conn, &["DBSIZE"]) == int(0)).then_some(())
    });
}

#[test]
fn local_allows_loopback_clients() {
    let c = TestCluster::start_with(ClusterOptions {
        proxy_args: vec!["--enable-debug-command".into(), "local".into()],
        ..ClusterOptions::default()
    });
    let mut conn = c.client();
    expect(&mut conn, &["DEBUG", "SLEEP", "0"], ok());
}

#[test]
fn lolwut_prints_the_version_line() {
    let d = Differ::start();
    d.check(&[
        &["LOLWUT"],
        &["LOLWUT", "VERSION", "7"],
        &["LOLWUT", "VERSION", "x"],
        &["LOLWUT", "foo"],
        &["lolwut", "version", "1"],
    ]);
}
