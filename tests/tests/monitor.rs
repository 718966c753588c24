//! MONITOR (issue 18): every command from every proxy reaches every monitoring client in
//! Redis 7.0's line format (compared with redis-server's lines once the timestamp and the
//! client's address are cut off), scripts' commands as `[db lua]` after their EVAL, a
//! monitoring client's refusals and flag `O`, and a monitor that stops reading is cut.

use std::time::{Duration, Instant};

use tandem_tests::*;

/// `+1796680277.543547 [2 127.0.0.1:57792] "SELECT" "2"` → `[2] "SELECT" "2"`; a
/// script's `[0 lua] …` keeps its `lua`. `None` for anything that is not a monitor line.
fn strip(line: &str) -> Option<String> {
    let body = line.strip_prefix('+')?.trim_end_matches("\r\n");
    let (stamp, rest) = body.split_once(' ')?;
    let (secs, micros) = stamp.split_once('.')?;
    if secs.is_empty()
        || micros.len() != 6
        || !stamp.chars().all(|c| c.is_ascii_digit() || c == '.')
    {
        return None;
    }
    let rest = rest.strip_prefix('[')?;
    let (who, args) = rest.split_once("] ")?;
    let (db, origin) = who.split_once(' ')?;
    if origin == "lua" {
        Some(format!("[{db} lua] {args}"))
    } else {
        Some(format!("[{db}] {args}"))
    }
}

/// The address part of a monitor line (`127.0.0.1:57792`).
fn origin(line: &str) -> String {
    let open = line.find('[').expect("a monitor line");
    let close = line.find(']').expect("a monitor line");
    let who = &line[open + 1..close];
    who.split_once(' ')
        .map(|(_, o)| o.to_owned())
        .unwrap_or_default()
}

/// Reads monitor lines until one (stripped) equals `last`; returns them all, raw.
fn lines_until(monitor: &mut RawClient, last: &str) -> Vec<String> {
    let mut got = Vec::new();
    loop {
        let line = monitor.reply();
        let done = strip(&line).as_deref() == Some(last);
        got.push(line);
        if done {
            return got;
        }
        assert!(got.len() < 10_000, "no {last:?} among {got:?}");
    }
}

/// Reads the next reply that is not a monitor line.
fn reply_skipping_lines(conn: &mut RawClient) -> String {
    loop {
        let reply = conn.reply();
        if strip(&reply).is_none() {
            return reply;
        }
    }
}

fn monitor(addr: &str) -> RawClient {
    let mut m = RawClient::connect(addr);
    assert_eq!(m.command(&["MONITOR"]), "+OK\r\n");
    m
}

/// The commands both servers run for the line comparison: shown and hidden ones, escapes,
/// transactions, databases, secrets, scripts, errors.
const SCRIPT: &[&[&str]] = &[
    &["SET", "k", "v"],
    &["set", "a b", "x\"y\\z\n\r\t\u{1}é"],
    &["GET", "k"],
    &["get"],
    &["NOSUCHCOMMAND", "x"],
    &["SET", "k", "v", "XX", "NX"],
    &["INCR", "k"],
    &["CONFIG", "GET", "maxmemory"],
    &["CLIENT", "ID"],
    &["CLIENT", "LIST"],
    &["CLIENT", "SETNAME", "mon"],
    &["AUTH", "secret"],
    &["AUTH", "user", "secret"],
    &["HELLO", "2", "AUTH", "default", "wrong"],
    &["HELLO", "2", "SETNAME", "n2"],
    &["PING"],
    &["PING", "hi"],
    &["ECHO", "e"],
    &["MULTI"],
    &["SET", "t", "1"],
    &["INCR", "t"],
    &["CONFIG", "GET", "x"],
    &["EXEC"],
    &["MULTI"],
    &["SET", "t", "1"],
    &["DISCARD"],
    &["MULTI"],
    &["GET"],
    &["EXEC"],
    &["SELECT", "2"],
    &["SET", "in2", "v"],
    &["SELECT", "0"],
    &[
        "EVAL",
        "redis.call('set', 'x', '1'); redis.call('select', '3'); return redis.call('get', 'x')",
        "0",
    ],
    &["EVAL", "return redis.call('nosuch')", "0"],
    &["LPUSH", "l", "a", "b"],
    &["BLPOP", "nolist", "0.01"],
    &["HSET", "h", "f", "1"],
    &["DEL", "k", "l", "h"],
    &["WATCH", "t"],
    &["UNWATCH"],
    &["MULTI"],
    &["MONITOR"],
    &["EXEC"],
    &["ECHO", "end"],
];

/// What `addr`'s monitor saw of [`SCRIPT`], stripped.
fn seen(addr: &str) -> Vec<String> {
    let mut m = monitor(addr);
    let mut c = RawClient::connect(addr);
    for args in SCRIPT {
        c.command(args);
    }
    let lines = lines_until(&mut m, "[0] \"ECHO\" \"end\"");
    lines.iter().filter_map(|l| strip(l)).collect()
}

#[test]
fn lines_match_redis_server() {
    let cluster = TestCluster::start();
    let redis = RedisServer::start();
    let ours = seen(&cluster.addr());
    let theirs = seen(&redis.addr());
    assert_eq!(ours, theirs, "monitor lines differ from redis-server's");
    // Secrets never reach a monitor.
    assert!(
        ours.iter()
            .all(|l| !l.contains("secret") && !l.contains("wrong")),
        "{ours:?}"
    );
}

#[test]
fn commands_of_every_proxy_and_of_scripts_reach_every_monitor() {
    let cluster = TestCluster::start();
    let other = cluster.spawn_extra_proxy();
    let mut on_a = monitor(&cluster.addr());
    // A RESP3 monitor gets the same simple-string lines.
    let mut on_b = RawClient::connect(&other.addr());
    assert!(on_b.command(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(on_b.command(&["MONITOR"]), "+OK\r\n");
    let mut writer = RawClient::connect(&other.addr());
    let info = writer.command(&["CLIENT", "INFO"]);
    let addr = info
        .split(' ')
        .find_map(|f| f.strip_prefix("addr="))
        .expect("addr= in CLIENT INFO")
        .to_owned();
    assert_eq!(writer.command(&["SET", "from-b", "1"]), "+OK\r\n");
    assert_eq!(
        writer.command(&[
            "EVAL",
            "redis.call('incr', KEYS[1]); return redis.call('get', KEYS[1])",
            "1",
            "from-b"
        ]),
        "$1\r\n2\r\n"
    );
    let mut local = RawClient::connect(&cluster.addr());
    assert_eq!(local.command(&["PING", "from-a"]), "$6\r\nfrom-a\r\n");
    let expected_b = [
        "[0] \"SET\" \"from-b\" \"1\"",
        "[0] \"EVAL\" \"redis.call('incr', KEYS[1]); return redis.call('get', KEYS[1])\" \"1\" \"from-b\"",
        "[0 lua] \"incr\" \"from-b\"",
        "[0 lua] \"get\" \"from-b\"",
    ];
    for m in [&mut on_a, &mut on_b] {
        let lines = lines_until(m, "[0] \"PING\" \"from-a\"");
        let mine: Vec<&String> = lines
            .iter()
            .filter(|l| strip(l).is_some_and(|s| s.contains("from-b")))
            .collect();
        let stripped: Vec<String> = mine.iter().filter_map(|l| strip(l)).collect();
        assert_eq!(stripped, expected_b, "{lines:?}");
        // The writer's own address, as CLIENT INFO names it, on the proxy it used.
        assert_eq!(origin(mine[0]), addr);
        assert_eq!(origin(mine[2]), "lua");
    }
}

#[test]
fn a_monitoring_client_may_only_do_what_redis_lets_a_monitor_do() {
    let cluster = TestCluster::start();
    let redis = RedisServer::start();
    let script: &[&[&str]] = &[
        &["GET", "k"],
        &["SET", "k", "v"],
        &["EVAL", "return 1", "0"],
        &["PUBLISH", "c", "m"],
        &["PFCOUNT", "h"],
        &["PING"],
        &["ECHO", "x"],
        &["CLIENT", "GETNAME"],
        &["NOSUCH"],
        &["GET"],
    ];
    for addr in [cluster.addr(), redis.addr()] {
        let mut m = monitor(&addr);
        let replies: Vec<String> = script
            .iter()
            .map(|args| {
                let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
                m.send(&encode_command(&bytes));
                reply_skipping_lines(&mut m)
            })
            .collect();
        let replica = "-ERR Replica can't interact with the keyspace\r\n";
        assert_eq!(
            replies,
            [
                replica,
                replica,
                replica,
                replica,
                replica,
                "+PONG\r\n",
                "$1\r\nx\r\n",
                "$-1\r\n",
                "-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
                "-ERR wrong number of arguments for 'get' command\r\n",
            ],
            "against {addr}"
        );
        let mut observer = RawClient::connect(&addr);
        let list = observer.command(&["CLIENT", "LIST"]);
        assert!(list.contains("flags=O "), "{list}");
        // A second MONITOR is ignored without a reply: the next reply is PING's.
        m.send(&encode_command(&[b"MONITOR"]));
        m.send(&encode_command(&[b"PING", b"after"]));
        assert_eq!(reply_skipping_lines(&mut m), "$5\r\nafter\r\n");
        m.send(&encode_command(&[b"RESET"]));
        assert_eq!(reply_skipping_lines(&mut m), "+RESET\r\n");
        let list = observer.command(&["CLIENT", "LIST"]);
        assert!(!list.contains("flags=O "), "{list}");
        assert_eq!(m.command(&["GET", "nokey"]), "$-1\r\n", "against {addr}");
        assert_eq!(m.command(&["QUIT"]), "+OK\r\n");
        assert!(m.is_closed());
    }
}

#[test]
fn a_monitor_that_stops_reading_is_cut() {
    let cluster = TestCluster::start();
    let slow = monitor(&cluster.addr());
    let mut observer = RawClient::connect(&cluster.addr());
    let list = observer.command(&["CLIENT", "LIST"]);
    assert!(list.contains("flags=O "), "{list}");
    // 1 MiB lines: past the 32 MiB limit well before the writer is done.
    let value = "v".repeat(1 << 20);
    let mut writer = RawClient::connect(&cluster.addr());
    let started = Instant::now();
    let mut sent = 0;
    while observer.command(&["CLIENT", "LIST"]).contains("flags=O ") {
        assert!(sent < 400, "the monitor was never cut");
        assert_eq!(writer.command(&["SET", "big", &value]), "+OK\r\n");
        sent += 1;
    }
    assert!(sent >= 20, "cut after only {sent} MiB of lines");
    assert!(started.elapsed() < Duration::from_secs(120));
    drop(slow);
    // The proxy and its other clients carry on.
    assert_eq!(writer.command(&["GET", "nokey"]), "$-1\r\n");
    let mut fresh = monitor(&cluster.addr());
    assert_eq!(writer.command(&["SET", "after", "1"]), "+OK\r\n");
    lines_until(&mut fresh, "[0] \"SET\" \"after\" \"1\"");
}

#[test]
fn monitors_keep_their_lines_across_a_storaged_restart() {
    let mut cluster = TestCluster::start();
    let other = cluster.spawn_extra_proxy();
    let mut m = monitor(&cluster.addr());
    cluster.kill_storaged(Signal::SIGKILL);
    cluster.start_storaged();
    // Writes through the other proxy until one shows: each proxy learns again from the
    // new storaged that someone monitors once its links are back.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let addr = other.addr();
        std::thread::spawn(move || {
            let mut w = RawClient::connect(&addr);
            let deadline = Instant::now() + Duration::from_secs(15);
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
                w.command(&["SET", "after-restart", &i.to_string()]);
                i += 1;
                w.command(&["PING"]);
            }
        })
    };
    let line = loop {
        let line = m.reply();
        if strip(&line).is_some_and(|l| l.starts_with("[0] \"SET\" \"after-restart\"")) {
            break line;
        }
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().expect("writer thread");
    assert!(line.starts_with('+'), "{line}");
}
