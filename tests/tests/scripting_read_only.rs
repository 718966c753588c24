//! Read-only scripts off the writer (issue 15): `EVAL_RO`, `EVALSHA_RO`, `FCALL_RO` and
//! scripts flagged `no-writes` run on storaged's read pool against committed state, so
//! they answer while a long write script holds the writer; a write from them gets Redis's
//! error; `SCRIPT KILL` stops one there, as on redis-server.

use std::time::{Duration, Instant};

use tandem_tests::*;

const GET_SCRIPT: &str = "return redis.call('GET', KEYS[1])";
const GET_NO_WRITES: &str = "#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])";
const LIB: &str = "#!lua name=reads\n\
    redis.register_function{function_name='get', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}";
const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";

/// How long `args` takes to answer `expected`.
fn timed(c: &mut redis::Connection, args: &[&str], expected: Outcome) -> Duration {
    let start = Instant::now();
    expect(c, args, expected);
    start.elapsed()
}

#[test]
fn read_only_scripts_answer_while_a_long_write_script_holds_the_writer() {
    let cluster = TestCluster::start_with(ClusterOptions {
        proxy_args: vec!["--request-timeout-ms".into(), "15000".into()],
        ..Default::default()
    });
    let mut c = cluster.client();
    expect(&mut c, &["SET", "k", "before"], ok());
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(GET_SCRIPT)
        .query(&mut c)
        .expect("SCRIPT LOAD");
    let no_writes: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(GET_NO_WRITES)
        .query(&mut c)
        .expect("SCRIPT LOAD");
    expect(&mut c, &["FUNCTION", "LOAD", LIB], bulk("reads"));
    let addr = cluster.addr();
    let long = std::thread::spawn(move || {
        let mut c = connect(&addr, None, Protocol::Resp2);
        run_command(
            &mut c,
            &[
                "EVAL",
                "local s = redis.call('TIME')[1] while redis.call('TIME')[1] - s < 3 do end \
                 return redis.call('SET', KEYS[1], 'after')",
                "1",
                "k",
            ],
        )
    });
    wait_for("the write script to run", Duration::from_secs(5), || {
        (run_command(&mut c, &["FUNCTION", "KILL"]) != err(NOTBUSY)).then_some(())
    });
    let before = bulk("before");
    let waits = [
        timed(&mut c, &["EVALSHA_RO", &sha, "1", "k"], before.clone()),
        timed(&mut c, &["EVAL_RO", GET_SCRIPT, "1", "k"], before.clone()),
        timed(&mut c, &["EVALSHA", &no_writes, "1", "k"], before.clone()),
        timed(&mut c, &["FCALL_RO", "get", "1", "k"], before.clone()),
        timed(&mut c, &["FCALL", "get", "1", "k"], before.clone()),
    ];
    let still_running = run_command(&mut c, &["FUNCTION", "KILL"]) != err(NOTBUSY);
    assert!(
        still_running,
        "the write script ended before the reads were timed"
    );
    for wait in waits {
        assert!(wait < Duration::from_millis(500), "waited {waits:?}");
    }
    eprintln!("read-only scripts while the writer ran a 3 s script: {waits:?}");
    // A write from a read-only script gets Redis's error, there too.
    let refused = run_command(
        &mut c,
        &[
            "EVAL_RO",
            "return redis.call('SET', KEYS[1], 'x')",
            "1",
            "k",
        ],
    );
    assert!(
        matches!(&refused, Err(e) if e.starts_with("ERR Write commands are not allowed from read-only scripts")),
        "{refused:?}"
    );
    assert_eq!(long.join().expect("the write script's client"), ok());
    expect(&mut c, &["EVALSHA_RO", &sha, "1", "k"], bulk("after"));
}

/// `SCRIPT KILL` stops a read-only script looping on the read pool, as redis-server stops
/// one; the killed client's error is the same.
#[test]
fn script_kill_stops_a_read_only_script_on_the_read_pool() {
    let differ = Differ::start();
    let body = "local i = 0 while true do i = i + 1 end";
    let mut seen = Vec::new();
    for addr in [differ.tandem().addr(), differ.reference().addr()] {
        let mut killer = connect(&addr, None, Protocol::Resp2);
        expect(
            &mut killer,
            &["CONFIG", "SET", "busy-reply-threshold", "100"],
            ok(),
        );
        let sha: String = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(body)
            .query(&mut killer)
            .expect("SCRIPT LOAD");
        let looping = {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut c = connect(&addr, None, Protocol::Resp2);
                run_command(&mut c, &["EVALSHA_RO", &sha, "0"])
            })
        };
        let accepted = wait_for(
            "SCRIPT KILL to find the script",
            Duration::from_secs(10),
            || {
                let reply = run_command(&mut killer, &["SCRIPT", "KILL"]);
                (reply != err(NOTBUSY)).then_some(reply)
            },
        );
        let killed = looping.join().expect("the looping client");
        expect(
            &mut killer,
            &["CONFIG", "SET", "busy-reply-threshold", "5000"],
            ok(),
        );
        seen.push((accepted, killed));
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0].0, ok());
}

/// Redis refuses `may-replicate` commands (PUBLISH, PFCOUNT) to read-only scripts, though
/// they write no key, with its write error; plain scripts may call them.
#[test]
fn read_only_scripts_may_not_publish_or_pfcount_as_on_redis() {
    let differ = Differ::start();
    differ.check(&[
        &["PFADD", "h", "a", "b"],
        &["EVAL_RO", "return redis.pcall('PUBLISH', 'c', 'm')", "0"],
        &[
            "EVAL_RO",
            "return redis.pcall('PFCOUNT', KEYS[1])",
            "1",
            "h",
        ],
        &[
            "EVAL",
            "#!lua flags=no-writes\nreturn redis.pcall('PUBLISH', 'c', 'm')",
            "0",
        ],
        &["EVAL", "return redis.call('PFCOUNT', KEYS[1])", "1", "h"],
        &["EVAL", "return redis.call('PUBLISH', 'c', 'm')", "0"],
    ]);
}

/// A read-only script that allocates without end on the read pool gets the memory error
/// too (each read thread's Lua engine has the writer's cap), and storaged goes on serving
/// read-only scripts and writes.
#[test]
fn a_read_only_script_allocating_without_end_gets_an_error_on_the_read_pool() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    let body =
        "local t = {} for i = 1, 100000 do t[i] = string.rep('x', 1000000) .. i end return #t";
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(body)
        .query(&mut c)
        .expect("SCRIPT LOAD");
    match run_command(&mut c, &["EVALSHA_RO", &sha, "0"]) {
        Err(text) => assert!(text.contains("memory"), "{text}"),
        Ok(v) => panic!("a script allocating 100 GB answered {v:?}"),
    }
    expect(&mut c, &["SET", "after", "ok"], ok());
    expect(&mut c, &["EVAL_RO", GET_SCRIPT, "1", "after"], bulk("ok"));
}
