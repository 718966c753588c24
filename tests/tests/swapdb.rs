//! SWAPDB end to end (issue 18): replies, errors and every command's view of the swapped
//! databases against redis-server 7.0 (RESP2 and RESP3), inside MULTI and Lua scripts;
//! WATCH outcomes as Redis's `touchAllWatchedKeysInDb` decides them, from the swapping
//! client and from another one; clients blocked on keys of either database woken when the
//! swapped-in data serves them (and only then); keyspace-event channels named by the
//! logical database; a swap through one proxy seen at once through another; and the map
//! surviving SIGTERM and SIGKILL of storaged, each acknowledged swap applied exactly once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

use redis::Value;
use tandem_tests::*;

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn replies_errors_and_the_keyspace_after_a_swap_match_redis() {
    let d = Differ::start();
    // Errors, in Redis's order (first index, second index, then the range).
    d.check(&[
        &["SWAPDB", "a", "1"],
        &["SWAPDB", "a", "b"],
        &["SWAPDB", "0", "b"],
        &["SWAPDB", "+1", "0"],
        &["SWAPDB", "01", "0"],
        &["SWAPDB", "99999999999", "0"],
        &["SWAPDB", "0", "2147483648"],
        &["SWAPDB", "0", "16"],
        &["SWAPDB", "-1", "0"],
        &["SWAPDB", "16", "16"],
        &["SWAPDB", "0"],
        &["SWAPDB", "0", "1", "2"],
        &["SWAPDB", "3", "3"],
        &["SWAPDB", "15", "0"],
        &["SWAPDB", "0", "15"],
    ]);
    // Every command sees the swap at once: reads, counts, scans, expiries, writes.
    d.check(&[
        &["SET", "a", "zero"],
        &["SET", "t", "v", "EX", "100"],
        &["RPUSH", "l", "x", "y"],
        &["SELECT", "1"],
        &["SET", "a", "one"],
        &["HSET", "h", "f", "v"],
        &["SELECT", "0"],
        &["SWAPDB", "0", "1"],
        &["GET", "a"],
        &["DBSIZE"],
        &["KEYS", "*"],
        &["HGET", "h", "f"],
        &["EXISTS", "l", "t", "a"],
        &["TTL", "t"],
        &["SELECT", "1"],
        &["GET", "a"],
        &["DBSIZE"],
        &["TTL", "t"],
        &["LRANGE", "l", "0", "-1"],
        &["MOVE", "a", "0"],
        &["MOVE", "t", "0"],
        &["COPY", "l", "l2", "DB", "0"],
        &["DBSIZE"],
        &["SELECT", "0"],
        &["DBSIZE"],
        &["TTL", "t"],
        &["LRANGE", "l2", "0", "-1"],
        &["GET", "a"],
        &["SWAPDB", "1", "0"],
        &["DBSIZE"],
        &["GET", "a"],
        &["FLUSHDB"],
        &["SELECT", "1"],
        &["DBSIZE"],
        &["SWAPDB", "1", "7"],
        &["DBSIZE"],
        &["SELECT", "7"],
        &["DBSIZE"],
        &["HGETALL", "h"],
    ]);
}

#[test]
fn scan_and_randomkey_walk_the_swapped_in_database() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    assert_eq!(run_command(&mut c, &["SET", "zero", "v"]), ok());
    assert_eq!(run_command(&mut c, &["SELECT", "6"]), ok());
    for k in ["six-a", "six-b"] {
        assert_eq!(run_command(&mut c, &["SET", k, "v"]), ok());
    }
    assert_eq!(run_command(&mut c, &["SWAPDB", "6", "0"]), ok());
    let scan = run_command(&mut c, &["SCAN", "0", "COUNT", "100"]);
    assert_eq!(
        scan,
        Ok(Value::Array(vec![
            Value::BulkString(b"0".to_vec()),
            Value::Array(vec![Value::BulkString(b"zero".to_vec())]),
        ]))
    );
    assert_eq!(run_command(&mut c, &["RANDOMKEY"]), bulk("zero"));
    assert_eq!(run_command(&mut c, &["SELECT", "0"]), ok());
    let Ok(Value::BulkString(k)) = run_command(&mut c, &["RANDOMKEY"]) else {
        panic!("RANDOMKEY in database 0 found nothing");
    };
    assert!(k.starts_with(b"six-"), "{k:?}");
}

#[test]
fn swapdb_runs_inside_multi_and_scripts_as_in_redis() {
    let d = Differ::start();
    d.check(&[
        &["SET", "a", "zero"],
        &["MULTI"],
        &["SET", "b", "queued"],
        &["SWAPDB", "0", "1"],
        &["GET", "a"],
        &["SET", "c", "after"],
        &["SELECT", "1"],
        &["GET", "a"],
        &["GET", "b"],
        &["SWAPDB", "0", "x"],
        &["EXEC"],
        &["GET", "a"],
        &["DBSIZE"],
        &["SELECT", "0"],
        &["DBSIZE"],
        &["GET", "c"],
    ]);
    d.check(&[
        &["SET", "a", "zero"],
        &[
            "EVAL",
            "redis.call('set', 'k', 'v'); redis.call('swapdb', '0', '2'); \
             return {redis.call('get', 'k') or false, redis.call('get', 'a') or false}",
            "0",
        ],
        &["GET", "k"],
        &["SELECT", "2"],
        &["GET", "k"],
        &["GET", "a"],
        &["EVAL", "return redis.pcall('swapdb', '0', 'x')['err']", "0"],
        &["EVAL", "return redis.call('swapdb', 0, 2)", "0"],
        &["GET", "a"],
        &[
            "EVAL_RO",
            "return redis.pcall('swapdb', '0', '2')['err']",
            "0",
        ],
    ]);
}

#[test]
fn watch_outcomes_from_the_swapping_client_match_redis() {
    let d = Differ::start();
    let cases: &[&[&[&str]]] = &[
        // The watched key exists in the watched database: modified.
        &[&["SET", "k", "v"], &["WATCH", "k"], &["SWAPDB", "0", "1"]],
        // It exists only in the database swapped in: modified.
        &[
            &["SELECT", "1"],
            &["SET", "k", "v"],
            &["SELECT", "0"],
            &["WATCH", "k"],
            &["SWAPDB", "0", "1"],
        ],
        // Watched in database 1, the key in database 0 (swapped the other way round).
        &[
            &["SET", "k", "v"],
            &["SELECT", "1"],
            &["WATCH", "k"],
            &["SELECT", "0"],
            &["SWAPDB", "1", "0"],
        ],
        // In neither: untouched.
        &[
            &["SET", "other", "v"],
            &["WATCH", "k"],
            &["SWAPDB", "0", "1"],
        ],
        // In neither; then written in the database the data moved to: still untouched
        // (the watch stays with the database index, as Redis's watched_keys).
        &[
            &["WATCH", "k"],
            &["SWAPDB", "0", "1"],
            &["SELECT", "1"],
            &["SET", "k", "v"],
            &["SELECT", "0"],
        ],
        // ... and written in the watched database index after the swap: modified.
        &[&["WATCH", "k"], &["SWAPDB", "0", "1"], &["SET", "k", "v"]],
        // Another database pair: untouched.
        &[
            &["SET", "k", "v"],
            &["SELECT", "2"],
            &["WATCH", "k"],
            &["SELECT", "0"],
            &["SWAPDB", "0", "1"],
            &["SELECT", "2"],
        ],
        // A database swapped with itself: nothing happens.
        &[&["SET", "k", "v"], &["WATCH", "k"], &["SWAPDB", "0", "0"]],
        // Modified before the swap in the same database pair: modified either way.
        &[
            &["WATCH", "k"],
            &["SELECT", "1"],
            &["SET", "k", "v"],
            &["DEL", "k"],
            &["SWAPDB", "1", "0"],
        ],
    ];
    for case in cases {
        let mut script: Vec<&[&str]> = case.to_vec();
        script.extend_from_slice(&[&["MULTI"], &["PING"], &["EXEC"]]);
        d.check(&script);
    }
}

/// Runs `steps` (client index, command) on the server at `addr` with two connections and
/// returns every reply.
fn two_clients(addr: &str, steps: &[(usize, &[&str])]) -> Vec<Outcome> {
    let mut c = [
        connect(addr, None, Protocol::Resp2),
        connect(addr, None, Protocol::Resp2),
    ];
    run_command(&mut c[0], &["FLUSHALL"]).expect("FLUSHALL");
    steps
        .iter()
        .map(|(i, args)| run_command(&mut c[*i], args))
        .collect()
}

#[test]
fn a_swap_by_another_client_changes_watches_as_in_redis() {
    let d = Differ::start();
    let cases: &[&[(usize, &[&str])]] = &[
        // Written and deleted inside a transaction before it swaps: the write modified the
        // key in the database it was written in, though the key exists in neither later.
        &[
            (0, &["WATCH", "k"]),
            (1, &["MULTI"]),
            (1, &["SET", "k", "v"]),
            (1, &["DEL", "k"]),
            (1, &["SWAPDB", "0", "1"]),
            (1, &["EXEC"]),
        ],
        // The same from a script.
        &[
            (0, &["SELECT", "1"]),
            (0, &["WATCH", "k"]),
            (
                1,
                &[
                    "EVAL",
                    "redis.call('set', 'k', 'v'); redis.call('del', 'k'); \
                     return redis.call('swapdb', '0', '1')",
                    "0",
                ],
            ),
        ],
        &[
            (1, &["SELECT", "1"]),
            (1, &["SET", "k", "v"]),
            (0, &["WATCH", "k"]),
            (1, &["SWAPDB", "0", "1"]),
        ],
        &[
            (0, &["WATCH", "k", "j"]),
            (1, &["SET", "unrelated", "v"]),
            (1, &["SWAPDB", "1", "0"]),
            (1, &["SELECT", "1"]),
            (1, &["SET", "k", "v"]),
        ],
        &[
            (0, &["SELECT", "3"]),
            (0, &["WATCH", "k"]),
            (1, &["SET", "k", "v"]),
            (1, &["SWAPDB", "0", "3"]),
        ],
        &[
            (0, &["SELECT", "3"]),
            (0, &["WATCH", "k"]),
            (1, &["SET", "k", "v"]),
            (1, &["SWAPDB", "0", "4"]),
        ],
    ];
    for case in cases {
        let mut steps = case.to_vec();
        steps.extend_from_slice(&[(0, &["MULTI"][..]), (0, &["PING"]), (0, &["EXEC"])]);
        let ours = two_clients(&d.tandem().addr(), &steps);
        let theirs = two_clients(&d.reference().addr(), &steps);
        assert_eq!(ours, theirs, "steps {steps:?}");
    }
}

/// Runs one command on a fresh connection in a thread, after `SELECT db`.
fn spawn_in_db(addr: String, db: &str, args: &[&str]) -> mpsc::Receiver<Outcome> {
    let (tx, rx) = mpsc::channel();
    let db = db.to_owned();
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    thread::spawn(move || {
        let mut c = connect(&addr, None, Protocol::Resp2);
        run_command(&mut c, &["SELECT", &db]).expect("SELECT");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let _ = tx.send(run_command(&mut c, &args));
    });
    rx
}

/// The server's count of blocked clients (INFO clients), tandem's or redis-server's.
fn blocked_clients(addr: &str) -> i64 {
    let mut c = connect(addr, None, Protocol::Resp2);
    let text = info(&mut c, "clients");
    text.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(-1)
}

/// Blocks a BLPOP on `x` in database 1 and a BZPOPMIN on `z` in database 2, then pushes
/// into database 0 and swaps it with 1, then with 3 (where a sorted set waits): the first
/// waiter is served by the swap, the second is not. Returns what each client saw.
fn blocked_scenario(addr: &str) -> Vec<Outcome> {
    let mut c = connect(addr, None, Protocol::Resp2);
    run_command(&mut c, &["FLUSHALL"]).expect("FLUSHALL");
    let list = spawn_in_db(addr.to_owned(), "1", &["BLPOP", "x", "0"]);
    let zset = spawn_in_db(addr.to_owned(), "2", &["BZPOPMIN", "z", "0"]);
    wait_for("two blocked clients", WAIT, || {
        (blocked_clients(addr) == 2).then_some(())
    });
    let mut out = vec![
        run_command(&mut c, &["RPUSH", "x", "a", "b"]),
        run_command(&mut c, &["SELECT", "3"]),
        run_command(&mut c, &["ZADD", "z", "1", "m"]),
        run_command(&mut c, &["SELECT", "0"]),
        run_command(&mut c, &["SWAPDB", "0", "1"]),
    ];
    out.push(list.recv_timeout(WAIT).expect("BLPOP woken by the swap"));
    out.push(run_command(&mut c, &["LRANGE", "x", "0", "-1"]));
    out.push(run_command(&mut c, &["SELECT", "1"]));
    out.push(run_command(&mut c, &["LRANGE", "x", "0", "-1"]));
    // A swap of other databases leaves the sorted-set waiter blocked ...
    out.push(run_command(&mut c, &["SWAPDB", "0", "3"]));
    assert!(
        zset.recv_timeout(Duration::from_millis(300)).is_err(),
        "BZPOPMIN woken by a swap of other databases"
    );
    // ... and a swap that brings it data serves it.
    out.push(run_command(&mut c, &["SWAPDB", "2", "0"]));
    out.push(zset.recv_timeout(WAIT).expect("BZPOPMIN woken by the swap"));
    out.push(run_command(&mut c, &["SELECT", "2"]));
    out.push(run_command(&mut c, &["EXISTS", "z"]));
    out
}

#[test]
fn clients_blocked_in_either_database_are_served_by_a_swap_as_in_redis() {
    let d = Differ::start();
    let ours = blocked_scenario(&d.tandem().addr());
    let theirs = blocked_scenario(&d.reference().addr());
    assert_eq!(ours, theirs);
    assert_eq!(ours[5], bulks(&[Some("x"), Some("a")]));
}

#[test]
fn a_blocked_client_of_another_proxy_is_woken_by_a_swap() {
    let cluster = TestCluster::start();
    let other = cluster.spawn_extra_proxy();
    let mut c = cluster.client();
    let rx = spawn_in_db(other.addr(), "5", &["BLPOP", "q", "0"]);
    wait_for("a blocked client", WAIT, || {
        (blocked_clients(&other.addr()) == 1).then_some(())
    });
    assert_eq!(run_command(&mut c, &["LPUSH", "q", "v"]), int(1));
    assert_eq!(run_command(&mut c, &["SWAPDB", "5", "0"]), ok());
    assert_eq!(
        rx.recv_timeout(WAIT).expect("woken"),
        bulks(&[Some("q"), Some("v")])
    );
}

/// Subscribes a raw client to every keyspace channel and to `done`.
fn events(addr: &str, script: &[&[&str]]) -> Vec<String> {
    const DONE: &str = "swapdb-test-done";
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
    let mut got = Vec::new();
    loop {
        let message = sub.reply();
        if message.contains(DONE) {
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

#[test]
fn keyspace_events_name_the_logical_database_as_in_redis() {
    let d = Differ::start();
    let script: &[&[&str]] = &[
        &["SWAPDB", "0", "1"],
        &["SET", "k", "v"],
        &["SELECT", "1"],
        &["SET", "j", "v"],
        &["MULTI"],
        &["DEL", "j"],
        &["SWAPDB", "1", "2"],
        &["SET", "i", "v"],
        &["EXEC"],
        &["EXPIRE", "i", "100"],
        &["MOVE", "i", "3"],
        &["SELECT", "3"],
        &["COPY", "i", "i2", "DB", "4"],
        &[
            "EVAL",
            "redis.call('set', 'e', 'v'); redis.call('swapdb', '3', '5'); \
             redis.call('del', 'i'); return 1",
            "0",
        ],
    ];
    let ours = events(&d.tandem().addr(), script);
    let theirs = events(&d.reference().addr(), script);
    assert!(!theirs.is_empty());
    assert_eq!(ours, theirs);
}

#[test]
fn info_keyspace_lists_logical_databases() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    for (db, n) in [("0", 1), ("4", 3)] {
        run_command(&mut c, &["SELECT", db]).expect("SELECT");
        for i in 0..n {
            run_command(&mut c, &["SET", &format!("k{i}"), "v", "EX", "100"]).expect("SET");
        }
    }
    assert_eq!(run_command(&mut c, &["SWAPDB", "0", "4"]), ok());
    let text = info(&mut c, "keyspace");
    assert!(
        text.contains("db0:keys=3,expires=3,avg_ttl=0")
            && text.contains("db4:keys=1,expires=1,avg_ttl=0"),
        "{text}"
    );
}

#[test]
fn a_swap_through_one_proxy_is_seen_at_once_through_another() {
    let cluster = TestCluster::start();
    let other = cluster.spawn_extra_proxy();
    let mut a = cluster.client();
    let mut b = other.client();
    assert_eq!(run_command(&mut a, &["SET", "k", "0"]), ok());
    assert_eq!(run_command(&mut a, &["SELECT", "1"]), ok());
    assert_eq!(run_command(&mut a, &["SET", "k", "1"]), ok());
    for round in 1..=100 {
        assert_eq!(run_command(&mut a, &["SWAPDB", "0", "1"]), ok());
        let want = (round % 2).to_string();
        assert_eq!(
            run_command(&mut b, &["GET", "k"]),
            bulk(&want),
            "round {round}"
        );
        assert_eq!(run_command(&mut b, &["DBSIZE"]), int(1));
    }
}

/// `GET k` in database 0 of a cluster whose database 0 held "0" and database 1 held "1".
fn current(c: &mut redis::Connection) -> Outcome {
    run_command(c, &["GET", "k"])
}

#[test]
fn the_map_survives_a_sigterm_restart() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut c = cluster.client();
    assert_eq!(run_command(&mut c, &["SET", "k", "0"]), ok());
    assert_eq!(run_command(&mut c, &["SWAPDB", "0", "9"]), ok());
    assert_eq!(run_command(&mut c, &["SWAPDB", "9", "3"]), ok());
    cluster.kill_storaged(Signal::SIGTERM);
    cluster.start_storaged();
    let mut c = cluster.client();
    assert_eq!(current(&mut c), nil());
    assert_eq!(run_command(&mut c, &["SELECT", "3"]), ok());
    assert_eq!(current(&mut c), bulk("0"));
    assert_eq!(run_command(&mut c, &["DBSIZE"]), int(1));
    let text = info(&mut c, "keyspace");
    assert!(
        text.contains("db3:keys=1,") && !text.contains("db0:"),
        "{text}"
    );
}

#[test]
fn each_acknowledged_swap_is_applied_once_across_a_sigkill() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut c = cluster.client();
    assert_eq!(run_command(&mut c, &["SET", "k", "0"]), ok());
    assert_eq!(run_command(&mut c, &["SELECT", "1"]), ok());
    assert_eq!(run_command(&mut c, &["SET", "k", "1"]), ok());
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (addr, stop, acknowledged) = (cluster.addr(), stop.clone(), acknowledged.clone());
        thread::spawn(move || {
            let mut c = connect(&addr, None, Protocol::Resp2);
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match run_command(&mut c, &["SWAPDB", "0", "1"]) {
                    Ok(Value::Okay) => {
                        acknowledged.fetch_add(1, Ordering::Relaxed);
                    }
                    other => failures.push(other),
                }
            }
            failures
        })
    };
    for _ in 0..3 {
        let before = acknowledged.load(Ordering::Relaxed);
        wait_for("swaps before the kill", WAIT, || {
            (acknowledged.load(Ordering::Relaxed) >= before + 20).then_some(())
        });
        cluster.kill_storaged(Signal::SIGKILL);
        cluster.start_storaged();
    }
    let before = acknowledged.load(Ordering::Relaxed);
    wait_for("swaps after the last restart", WAIT, || {
        (acknowledged.load(Ordering::Relaxed) >= before + 20).then_some(())
    });
    stop.store(true, Ordering::Relaxed);
    let failures = swapper.join().expect("swapper thread");
    assert!(failures.is_empty(), "SWAPDB failed: {failures:?}");
    let n = acknowledged.load(Ordering::Relaxed);
    let mut c = cluster.client();
    let want = if n.is_multiple_of(2) { "0" } else { "1" };
    assert_eq!(current(&mut c), bulk(want), "after {n} acknowledged swaps");
    assert_eq!(run_command(&mut c, &["DBSIZE"]), int(1));
}

/// A redis-server loading a file, killed when dropped.
struct Loaded(std::process::Child);

impl Drop for Loaded {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn export_rdb_writes_the_logical_databases() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    require_tool(
        "redis-server",
        "--version",
        "to load the exported RDB",
        "redis-server",
    );
    let mut c = cluster.client();
    assert_eq!(run_command(&mut c, &["SET", "a", "was-0"]), ok());
    assert_eq!(run_command(&mut c, &["SELECT", "3"]), ok());
    assert_eq!(run_command(&mut c, &["RPUSH", "l", "was-3"]), int(1));
    assert_eq!(run_command(&mut c, &["SWAPDB", "0", "3"]), ok());
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("swapped.rdb");
    let out = std::process::Command::new(binary("tandem-storaged"))
        .arg("export-rdb")
        .arg(&file)
        .arg("--socket")
        .arg(cluster.socket_path())
        .arg("--data-dir")
        .arg(cluster.data_dir())
        .output()
        .expect("run tandem-storaged export-rdb");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let _server = Loaded(
        std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir.path())
            .args(["--dbfilename", "swapped.rdb"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn redis-server"),
    );
    let addr = format!("127.0.0.1:{port}");
    let mut redis = wait_for("redis-server to load the RDB", WAIT, || {
        let mut r = try_connect(&addr, None, Protocol::Resp2).ok()?;
        run_command(&mut r, &["PING"]).ok().map(|_| r)
    });
    assert_eq!(
        run_command(&mut redis, &["LRANGE", "l", "0", "-1"]),
        bulks(&[Some("was-3")])
    );
    assert_eq!(run_command(&mut redis, &["DBSIZE"]), int(1));
    assert_eq!(run_command(&mut redis, &["SELECT", "3"]), ok());
    assert_eq!(run_command(&mut redis, &["GET", "a"]), bulk("was-0"));
    assert_eq!(run_command(&mut redis, &["DBSIZE"]), int(1));
}

#[test]
fn import_rdb_into_a_swapped_directory_fills_the_logical_databases() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    // A file from redis-server: "a" in database 0, "b" in database 2.
    let reference = RedisServer::start();
    let mut redis = reference.client();
    assert_eq!(run_command(&mut redis, &["SET", "a", "file-0"]), ok());
    assert_eq!(run_command(&mut redis, &["SELECT", "2"]), ok());
    assert_eq!(run_command(&mut redis, &["SET", "b", "file-2"]), ok());
    assert_eq!(run_command(&mut redis, &["SAVE"]), ok());
    let mut path = |field: &str| match run_command(&mut redis, &["CONFIG", "GET", field]) {
        Ok(Value::Array(v)) => match &v[1] {
            Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let rdb = std::path::Path::new(&path("dir")).join(path("dbfilename"));
    // tandem's databases 0 and 2 swapped, with a key of its own in logical 2.
    let mut c = cluster.client();
    assert_eq!(run_command(&mut c, &["SET", "mine", "tandem-0"]), ok());
    assert_eq!(run_command(&mut c, &["SWAPDB", "0", "2"]), ok());
    drop(c);
    cluster.kill_storaged(Signal::SIGTERM);
    let out = std::process::Command::new(binary("tandem-storaged"))
        .arg("import-rdb")
        .arg(&rdb)
        .arg("--data-dir")
        .arg(cluster.data_dir())
        .output()
        .expect("run tandem-storaged import-rdb");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    cluster.start_storaged();
    let mut c = cluster.client();
    assert_eq!(run_command(&mut c, &["GET", "a"]), bulk("file-0"));
    assert_eq!(run_command(&mut c, &["DBSIZE"]), int(1));
    assert_eq!(run_command(&mut c, &["SELECT", "2"]), ok());
    assert_eq!(run_command(&mut c, &["GET", "b"]), bulk("file-2"));
    assert_eq!(run_command(&mut c, &["GET", "mine"]), bulk("tandem-0"));
    assert_eq!(run_command(&mut c, &["DBSIZE"]), int(2));
}
