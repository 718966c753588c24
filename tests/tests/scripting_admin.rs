//! Managing running scripts (issue 15) against redis-server: `FUNCTION STATS`, `FUNCTION
//! KILL`, `FUNCTION HELP`, `SCRIPT KILL` of each kind of script (each kills only its own,
//! as Redis's `scriptKill`), asked through another proxy than the script's; and
//! `busy-reply-threshold` (alias `lua-time-limit`): `CONFIG GET|SET` as Redis, shared by
//! every proxy, set from storaged's config file.

use std::time::Duration;

use tandem_tests::*;

/// A library with a function that loops without writing.
const SPIN_LIB: &str = "#!lua name=spin\n\
    redis.register_function('spin', function(keys, args) local i = 0 while true do i = i + 1 end end)\n\
    redis.register_function{function_name='ro', callback=function() return 1 end, flags={'no-writes'}, description='read only'}";

/// Redis's replies while a function (or an `EVAL` script) is busy.
const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";

#[test]
fn differential_function_stats_help_and_kill_when_idle() {
    let differ = Differ::start();
    differ.check(&[
        &["FUNCTION", "FLUSH"],
        &["FUNCTION", "STATS"],
        &["FUNCTION", "LOAD", SPIN_LIB],
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=other\nredis.register_function('h', function() return 1 end)",
        ],
        &["FUNCTION", "STATS"],
        &["FUNCTION", "STATS", "extra"],
        &["FUNCTION", "HELP"],
        &["FUNCTION", "help", "x"],
        &["FUNCTION", "KILL"],
        &["FUNCTION", "KILL", "now"],
        &["SCRIPT", "KILL"],
        // One library of one function: redis-server lists several in its hash order,
        // which its random hash seed changes from one start to the next.
        &["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "oth*"],
        &["MULTI"],
        &["FUNCTION", "STATS"],
        &["FUNCTION", "KILL"],
        &["FUNCTION", "HELP"],
        &["EXEC"],
        &["FUNCTION", "DELETE", "other"],
        &["FUNCTION", "STATS"],
        &["FUNCTION", "FLUSH"],
        &["FUNCTION", "STATS"],
    ]);
}

/// `FUNCTION STATS` with the running function's duration zeroed (it differs run to run),
/// after checking it is a number.
fn stats_without_duration(outcome: Outcome) -> Outcome {
    use redis::Value;
    fn zero(v: Value) -> Value {
        match v {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut after_duration = false;
                for item in items {
                    if after_duration {
                        assert!(matches!(item, Value::Int(n) if n >= 0), "{item:?}");
                        out.push(Value::Int(0));
                        after_duration = false;
                        continue;
                    }
                    after_duration = item == Value::BulkString(b"duration_ms".to_vec());
                    out.push(zero(item));
                }
                Value::Array(out)
            }
            Value::Map(pairs) => Value::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| {
                        if k == Value::BulkString(b"duration_ms".to_vec()) {
                            assert!(matches!(v, Value::Int(n) if n >= 0), "{v:?}");
                            (k, Value::Int(0))
                        } else {
                            (k, zero(v))
                        }
                    })
                    .collect(),
            ),
            other => other,
        }
    }
    outcome.map(zero)
}

/// Whether a `FUNCTION STATS` reply shows a running function.
fn shows_running(outcome: &Outcome) -> bool {
    use redis::Value;
    match outcome {
        Ok(Value::Array(items)) => items.get(1).is_some_and(|v| *v != Value::Nil),
        Ok(Value::Map(pairs)) => pairs.first().is_some_and(|(_, v)| *v != Value::Nil),
        _ => false,
    }
}

/// What a second client (`killer_addr`, maybe another proxy) sees while `FCALL spin` runs
/// from `addr`, past a 100 ms busy-reply-threshold, then the spinning client's error.
fn kill_a_function(addr: &str, killer_addr: &str, protocol: Protocol) -> Vec<Outcome> {
    let mut killer = connect(killer_addr, None, protocol);
    expect(
        &mut killer,
        &["CONFIG", "SET", "busy-reply-threshold", "100"],
        ok(),
    );
    expect(
        &mut killer,
        &["FUNCTION", "LOAD", "REPLACE", SPIN_LIB],
        bulk("spin"),
    );
    let spinning = {
        let addr = addr.to_owned();
        std::thread::spawn(move || {
            let mut c = connect(&addr, None, protocol);
            // Lower case, as redis-server shows the command as sent.
            run_command(&mut c, &["fcall", "spin", "1", "key", "arg"])
        })
    };
    let stats = wait_for(
        "FUNCTION STATS to show the function",
        Duration::from_secs(10),
        || {
            let reply = run_command(&mut killer, &["FUNCTION", "STATS"]);
            shows_running(&reply).then_some(reply)
        },
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut seen = vec![
        stats_without_duration(stats),
        run_command(&mut killer, &["SET", "x", "1"]),
        run_command(&mut killer, &["SCRIPT", "KILL"]),
        run_command(&mut killer, &["FUNCTION", "KILL"]),
    ];
    seen.push(spinning.join().expect("the spinning client"));
    seen.push(run_command(&mut killer, &["FUNCTION", "KILL"]));
    seen.push(run_command(&mut killer, &["SET", "x", "1"]));
    expect(
        &mut killer,
        &["CONFIG", "SET", "busy-reply-threshold", "5000"],
        ok(),
    );
    seen
}

/// The same for an `EVAL` script: `FUNCTION KILL` and `FUNCTION STATS` refuse with the
/// BUSY text naming SCRIPT KILL, which stops it.
fn kill_an_eval(addr: &str, killer_addr: &str, protocol: Protocol) -> Vec<Outcome> {
    let mut killer = connect(killer_addr, None, protocol);
    expect(
        &mut killer,
        &["CONFIG", "SET", "lua-time-limit", "100"],
        ok(),
    );
    let spinning = {
        let addr = addr.to_owned();
        std::thread::spawn(move || {
            let mut c = connect(&addr, None, protocol);
            run_command(
                &mut c,
                &["EVAL", "local i = 0\nwhile true do i = i + 1 end", "0"],
            )
        })
    };
    let refused = wait_for(
        "FUNCTION KILL to find the script",
        Duration::from_secs(10),
        || {
            let reply = run_command(&mut killer, &["FUNCTION", "KILL"]);
            (reply != err(NOTBUSY)).then_some(reply)
        },
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut seen = vec![
        refused,
        run_command(&mut killer, &["FUNCTION", "STATS"]),
        run_command(&mut killer, &["SET", "x", "1"]),
        run_command(&mut killer, &["SCRIPT", "KILL"]),
    ];
    seen.push(spinning.join().expect("the spinning client"));
    seen.push(run_command(&mut killer, &["SCRIPT", "KILL"]));
    expect(
        &mut killer,
        &["CONFIG", "SET", "lua-time-limit", "5000"],
        ok(),
    );
    seen
}

#[test]
fn function_kill_and_script_kill_stop_their_own_kind_through_another_proxy() {
    let differ = Differ::start();
    let extra = differ.tandem().spawn_extra_proxy();
    let (ours, theirs) = (differ.tandem().addr(), differ.reference().addr());
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let tandem = kill_a_function(&ours, &extra.addr(), protocol);
        let redis = kill_a_function(&theirs, &theirs, protocol);
        assert_eq!(tandem, redis, "{protocol:?}");
        assert_eq!(tandem[1], err(BUSY_FUNCTION));
        assert_eq!(tandem[2], err(BUSY_FUNCTION));
        assert_eq!(tandem[3], ok());
        assert_eq!(tandem[5], err(NOTBUSY));

        let tandem = kill_an_eval(&ours, &extra.addr(), protocol);
        let redis = kill_an_eval(&theirs, &theirs, protocol);
        assert_eq!(tandem, redis, "{protocol:?}");
        assert_eq!(tandem[0], err(BUSY_EVAL));
        assert_eq!(tandem[3], ok());
    }
}

#[test]
fn differential_busy_reply_threshold_config() {
    let differ = Differ::start();
    differ.check(&[
        &["CONFIG", "GET", "busy-reply-threshold"],
        &["CONFIG", "GET", "lua-time-limit"],
        &["CONFIG", "SET", "lua-time-limit", "300"],
        &["CONFIG", "GET", "busy*"],
        &["CONFIG", "GET", "lua*"],
        &["CONFIG", "SET", "busy-reply-threshold", "-1"],
        &["CONFIG", "SET", "busy-reply-threshold", "abc"],
        &["CONFIG", "SET", "busy-reply-threshold", "1.5"],
        &["CONFIG", "SET", "busy-reply-threshold", "10gb"],
        &["CONFIG", "GET", "lua-time-limit"],
        &["CONFIG", "SET", "BUSY-REPLY-THRESHOLD", "0"],
        &["CONFIG", "GET", "lua-time-limit"],
        &["CONFIG", "SET", "busy-reply-threshold", "5000"],
        &["CONFIG", "GET", "busy-reply-threshold"],
    ]);
}

/// storaged holds the threshold: set through one proxy, every proxy reports it; its config
/// file sets it at start (`lua-time-limit` accepted as the key's alias, as in redis.conf).
#[test]
fn busy_reply_threshold_is_shared_and_read_from_the_config_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("storaged.toml");
    std::fs::write(&file, "lua-time-limit = 250\n").expect("config file");
    let cluster = TestCluster::start_with(ClusterOptions {
        storaged_args: vec!["--config".into(), file.display().to_string()],
        ..Default::default()
    });
    let extra = cluster.spawn_extra_proxy();
    let mut a = cluster.client();
    let mut b = extra.client();
    let pair = |name: &str, v: &str| {
        Ok(redis::Value::Array(vec![
            redis::Value::BulkString(name.as_bytes().to_vec()),
            redis::Value::BulkString(v.as_bytes().to_vec()),
        ]))
    };
    expect(
        &mut a,
        &["CONFIG", "GET", "busy-reply-threshold"],
        pair("busy-reply-threshold", "250"),
    );
    expect(
        &mut b,
        &["CONFIG", "SET", "busy-reply-threshold", "900"],
        ok(),
    );
    expect(
        &mut a,
        &["CONFIG", "GET", "lua-time-limit"],
        pair("lua-time-limit", "900"),
    );
}

/// A script that runs past the proxies' request deadline never makes them time a write out
/// (`ERR no reply from storage …`, outcome unknown): a write sent while it runs waits for
/// it until close to the deadline (storaged is told the deadline), then gets Redis's BUSY
/// error, even with `busy-reply-threshold` above the deadline; and one sent once the
/// script is past a lower threshold gets BUSY at once. Neither runs later.
#[test]
fn a_write_waiting_for_a_long_script_gets_busy_before_the_proxy_deadline() {
    let cluster = TestCluster::start_with(ClusterOptions {
        proxy_args: vec!["--request-timeout-ms".into(), "1500".into()],
        storaged_args: vec!["--proxy-request-timeout-ms".into(), "1500".into()],
        ..Default::default()
    });
    let mut c = cluster.client();
    expect(
        &mut c,
        &["CONFIG", "SET", "busy-reply-threshold", "60000"],
        ok(),
    );
    // The script's own client gets the deadline error (its reply is not known yet).
    let spin = |seconds: &'static str| {
        let addr = cluster.addr();
        std::thread::spawn(move || {
            let mut c = connect(&addr, None, Protocol::Resp2);
            run_command(
                &mut c,
                &[
                    "EVAL",
                    "local s = redis.call('TIME')[1] while redis.call('TIME')[1] - s < tonumber(ARGV[1]) do end return 'done'",
                    "0",
                    seconds,
                ],
            )
        })
    };
    let long = spin("4");
    wait_for("the script to run", Duration::from_secs(5), || {
        (run_command(&mut c, &["FUNCTION", "KILL"]) != err(NOTBUSY)).then_some(())
    });
    let started = std::time::Instant::now();
    expect(&mut c, &["SET", "waiting", "1"], err(BUSY_EVAL));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(1500),
        "answered after {waited:?}"
    );
    // Past a 200 ms threshold, a write is refused at once.
    expect(
        &mut c,
        &["CONFIG", "SET", "busy-reply-threshold", "200"],
        ok(),
    );
    let started = std::time::Instant::now();
    expect(&mut c, &["SET", "late", "1"], err(BUSY_EVAL));
    assert!(started.elapsed() < Duration::from_millis(500));
    let _ = long.join().expect("the script's client");
    wait_for("the script to end", Duration::from_secs(10), || {
        (run_command(&mut c, &["SET", "after", "1"]) == ok()).then_some(())
    });
    expect(&mut c, &["EXISTS", "waiting", "late"], int(0));
}

/// The commands a tandem proxy answers itself, called from a script (which runs in
/// storaged): those Redis allows in scripts answer as on redis-server, the others get
/// Redis's refusals, with `redis.pcall` so the error comes back as a value.
#[test]
fn differential_proxy_local_commands_called_from_scripts() {
    let differ = Differ::start();
    let pcall = |args: &str| format!("return redis.pcall({args})");
    let bodies: Vec<String> = [
        "'PING'",
        "'PING', 'x'",
        "'ECHO', 'hi'",
        "'SELECT', '99'",
        "'SELECT', 'x'",
        "'TYPE', 'nokey'",
        "'DBSIZE'",
        "'CLIENT', 'ID'",
        "'CLIENT', 'SETNAME', 'x'",
        "'CLIENT', 'FOO'",
        "'CLIENT'",
        "'CONFIG', 'GET', 'maxmemory'",
        "'CONFIG', 'SET', 'maxmemory', '0'",
        "'CONFIG', 'GET'",
        "'AUTH', 'x'",
        "'HELLO'",
        "'QUIT'",
        "'RESET'",
        "'MULTI'",
        "'EXEC'",
        "'WATCH', 'k'",
        "'UNWATCH'",
        "'DISCARD'",
        "'SUBSCRIBE', 'x'",
        "'PSUBSCRIBE', 'x*'",
        "'SCRIPT', 'EXISTS', 'a'",
        "'FUNCTION', 'LIST'",
        "'COMMAND', 'INFO', 'get', 'set'",
        "'COMMAND', 'GETKEYS', 'set', 'a', 'b'",
        "'COMMAND', 'DOCS', 'get'",
        "'PUBSUB', 'NUMPAT'",
        "'PUBSUB', 'NUMSUB', 'a', 'b'",
        "'PUBSUB', 'CHANNELS'",
        "'PUBSUB', 'SHARDNUMSUB', 'x'",
        "'PUBSUB', 'SHARDCHANNELS'",
        "'PUBLISH', 'ch', 'm'",
        "'MEMORY', 'PURGE'",
        "'MEMORY', 'USAGE', 'nokey'",
        "'MEMORY', 'USAGE'",
        // Blocking commands run non-blocking; a blocking XREAD is refused.
        "'BLPOP', 'nolist', '0'",
        "'XREAD', 'BLOCK', '0', 'STREAMS', 's', '0'",
        "'XREAD', 'COUNT', '1', 'STREAMS', 's', '0'",
    ]
    .iter()
    .map(|args| pcall(args))
    .collect();
    let mut steps: Vec<Vec<&str>> = bodies
        .iter()
        .map(|b| vec!["EVAL", b.as_str(), "0"])
        .collect();
    // SELECT inside a script moves the script's later commands only.
    let select =
        "redis.call('SELECT', '2') redis.call('SET', 's', '1') return redis.call('DBSIZE')";
    steps.push(vec!["EVAL", select, "0"]);
    steps.push(vec!["DBSIZE"]);
    steps.push(vec!["EVAL", "return redis.call('TYPE', KEYS[1])", "1", "s"]);
    let steps: Vec<&[&str]> = steps.iter().map(Vec::as_slice).collect();
    differ.check(&steps);

    // TIME and INFO: their values differ between servers; their shapes do not.
    let mut c = differ.tandem().client();
    let time = run_command(&mut c, &["EVAL", "return redis.call('TIME')", "0"]);
    assert!(
        matches!(&time, Ok(redis::Value::Array(v)) if v.len() == 2),
        "{time:?}"
    );
    let info = run_command(
        &mut c,
        &["EVAL", "return redis.call('INFO', 'keyspace')", "0"],
    );
    match info {
        Ok(redis::Value::BulkString(text)) => {
            let text = String::from_utf8_lossy(&text).into_owned();
            assert!(text.starts_with("# Keyspace\r\n"), "{text}");
            assert!(!text.contains("# Server"), "{text}");
        }
        other => panic!("INFO from a script: {other:?}"),
    }
}
