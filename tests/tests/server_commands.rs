//! Server and client commands that client libraries send during set-up or that tools read:
//! `CLIENT REPLY`, `CLIENT NO-EVICT`, `MEMORY`, `ROLE`, `WAIT`, `LASTSAVE`, `BGREWRITEAOF`, INFO's CPU section
//! and section selection, and what the processes show the machine (`/proc/PID/cmdline`, data-directory permissions).

use std::os::unix::fs::PermissionsExt;

use tandem_tests::*;

/// Sends `pipeline` then `CLIENT REPLY ON` and `PING end` as one write, and returns every
/// byte the server answered up to and including the `end` echo.
fn replies_to(addr: &str, pipeline: &[&[&str]]) -> String {
    let mut raw = RawClient::connect(addr);
    let mut bytes = Vec::new();
    for args in pipeline
        .iter()
        .copied()
        .chain([&["CLIENT", "REPLY", "ON"][..], &["PING", "end"][..]])
    {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        bytes.extend(encode_command(&args));
    }
    raw.send(&bytes);
    let mut out = String::new();
    loop {
        let reply = raw.reply();
        out.push_str(&reply);
        if reply == "$3\r\nend\r\n" {
            return out;
        }
    }
}

#[test]
fn client_reply_on_off_skip_match_redis() {
    let reference = RedisServer::start();
    let cluster = TestCluster::start();
    let pipelines: &[&[&[&str]]] = &[
        // OFF silences everything up to ON, errors included; ON answers OK.
        &[
            &["CLIENT", "REPLY", "OFF"],
            &["SET", "a", "1"],
            &["GET", "a"],
            &["NOSUCH"],
            &["GET"],
            &["CLIENT", "REPLY", "FOO"],
            &["INCR", "a"],
            &["CLIENT", "REPLY", "ON"],
            &["GET", "a"],
        ],
        // SKIP silences itself and the next command only; SKIP SKIP skips one command
        // after the second; ON right after SKIP is answered.
        &[
            &["SET", "b", "x"],
            &["CLIENT", "REPLY", "SKIP"],
            &["GET", "b"],
            &["GET", "b"],
            &["CLIENT", "REPLY", "SKIP"],
            &["CLIENT", "REPLY", "SKIP"],
            &["PING", "one"],
            &["PING", "two"],
            &["CLIENT", "REPLY", "SKIP"],
            &["CLIENT", "REPLY", "ON"],
            &["PING", "three"],
            &["CLIENT", "REPLY", "SKIP"],
            &["MGET", "a", "b"],
            &["APPEND", "b", "y"],
        ],
        // SKIP while OFF changes nothing; a transaction's QUEUED replies are silenced too.
        &[
            &["CLIENT", "REPLY", "OFF"],
            &["CLIENT", "REPLY", "SKIP"],
            &["MULTI"],
            &["INCR", "c"],
            &["EXEC"],
            &["CLIENT", "REPLY", "ON"],
            &["CLIENT", "REPLY", "SKIP"],
            &["MULTI"],
            &["INCR", "c"],
            &["EXEC"],
            &["GET", "c"],
        ],
        // Errors of the subcommand itself.
        &[
            &["CLIENT", "REPLY"],
            &["CLIENT", "REPLY", "ON", "x"],
            &["CLIENT", "REPLY", "maybe"],
        ],
    ];
    for pipeline in pipelines {
        let mut flush = reference.client();
        redis::cmd("FLUSHALL")
            .query::<()>(&mut flush)
            .expect("flush");
        let theirs = replies_to(&reference.addr(), pipeline);
        let mut flush = cluster.client();
        redis::cmd("FLUSHALL")
            .query::<()>(&mut flush)
            .expect("flush");
        let ours = replies_to(&cluster.addr(), pipeline);
        assert_eq!(ours, theirs, "pipeline {pipeline:?}");
    }
}

#[test]
fn client_reply_off_still_delivers_blocked_pops_results_silently_and_pubsub_pushes() {
    let cluster = TestCluster::start();
    // A blocked pop under OFF runs (the element is taken) but sends nothing.
    let mut blocked = RawClient::connect(&cluster.addr());
    blocked.send(&encode_command(&[b"CLIENT", b"REPLY", b"OFF"]));
    blocked.send(&encode_command(&[b"BLPOP", b"q", b"0"]));
    let mut c = cluster.client();
    wait_for("the pop to block", START_TIMEOUT, || {
        info(&mut c, "clients")
            .contains("blocked_clients:1")
            .then_some(())
    });
    expect(&mut c, &["RPUSH", "q", "x"], int(1));
    blocked.send(&encode_command(&[b"CLIENT", b"REPLY", b"ON"]));
    assert_eq!(blocked.reply(), "+OK\r\n");
    expect(&mut c, &["LLEN", "q"], int(0));

    // Subscription confirmations and messages are pushes: Redis sends them under OFF.
    let mut sub = RawClient::connect(&cluster.addr());
    sub.send(&encode_command(&[b"CLIENT", b"REPLY", b"OFF"]));
    sub.send(&encode_command(&[b"SUBSCRIBE", b"ch"]));
    assert_eq!(sub.reply(), "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    expect(&mut c, &["PUBLISH", "ch", "hello"], int(1));
    assert_eq!(
        sub.reply(),
        "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
    );
}

#[test]
fn memory_usage_estimates_and_errors_like_redis() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    expect(&mut c, &["MEMORY", "USAGE", "nokey"], nil());
    expect(&mut c, &["SET", "s", "hello"], ok());
    let big = "x".repeat(10_000);
    expect(&mut c, &["SET", "big", &big], ok());
    let usage = |c: &mut redis::Connection, args: &[&str]| -> i64 {
        match run_command(c, args) {
            Ok(Value::Int(n)) => n,
            other => panic!("{args:?}: {}", render_outcome(&other)),
        }
    };
    let small = usage(&mut c, &["MEMORY", "USAGE", "s"]);
    assert!((10..200).contains(&small), "{small}");
    let large = usage(&mut c, &["memory", "usage", "big", "SAMPLES", "0"]);
    assert!((10_000..11_000).contains(&large), "{large}");
    for i in 0..300 {
        expect(
            &mut c,
            &["RPUSH", "l", &format!("element-{i:05}")],
            int(i + 1),
        );
    }
    let list = usage(&mut c, &["MEMORY", "USAGE", "l"]);
    let list_all = usage(&mut c, &["MEMORY", "USAGE", "l", "SAMPLES", "0"]);
    assert!(list > 300 * 13 && list_all > 300 * 13, "{list} {list_all}");
    expect(&mut c, &["SET", "gone", "v", "PX", "1"], ok());
    wait_for("expiry", START_TIMEOUT, || {
        (run_command(&mut c, &["EXISTS", "gone"]) == int(0)).then_some(())
    });
    expect(&mut c, &["MEMORY", "USAGE", "gone"], nil());

    // Reply for reply the same as redis-server: errors, and subcommands other than USAGE.
    Differ::start().check(&[
        &["SET", "s", "v"],
        &["MEMORY", "USAGE"],
        &["MEMORY", "USAGE", "s", "SAMPLES"],
        &["MEMORY", "USAGE", "s", "SAMPLES", "-1"],
        &["MEMORY", "USAGE", "s", "SAMPLES", "abc"],
        &["MEMORY", "USAGE", "s", "FOO", "1"],
        &["MEMORY", "USAGE", "nokey", "SAMPLES", "3"],
        &["MEMORY", "PURGE"],
        &["MEMORY", "DOCTOR", "x"],
        &["MEMORY", "NOSUCH"],
        &["MEMORY"],
    ]);
}

#[test]
fn info_has_the_cpu_section_and_takes_several_sections() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    let cpu = info(&mut c, "cpu");
    assert!(cpu.starts_with("# CPU\r\n"), "{cpu}");
    for name in [
        "used_cpu_sys",
        "used_cpu_user",
        "used_cpu_sys_children",
        "used_cpu_user_children",
        "used_cpu_sys_main_thread",
        "used_cpu_user_main_thread",
    ] {
        for prefix in ["", "storaged_"] {
            let field = format!("\r\n{prefix}{name}:");
            let value = cpu
                .split(&field)
                .nth(1)
                .and_then(|rest| rest.split("\r\n").next())
                .unwrap_or_else(|| panic!("no {prefix}{name} in {cpu}"));
            assert!(value.parse::<f64>().is_ok(), "{prefix}{name}:{value}");
        }
    }
    assert!(!cpu.contains("# Server"), "{cpu}");

    let two = info(&mut c, "server");
    assert!(!two.contains("# CPU"));
    let Ok(Value::BulkString(two)) = run_command(&mut c, &["INFO", "SERVER", "cpu"]) else {
        panic!("INFO server cpu is not a bulk string");
    };
    let two = String::from_utf8_lossy(&two).into_owned();
    assert!(
        two.starts_with("# Server\r\n") && two.contains("\r\n# CPU\r\n"),
        "{two}"
    );
    assert!(
        !two.contains("# Clients") && !two.contains("# Keyspace"),
        "{two}"
    );
    for every in ["all", "everything", "default"] {
        let text = info(&mut c, every);
        for section in [
            "# Server",
            "# Clients",
            "# Memory",
            "# Stats",
            "# CPU",
            "# Keyspace",
        ] {
            assert!(text.contains(section), "INFO {every} lacks {section}");
        }
    }
    assert_eq!(info(&mut c, "nosuchsection"), "");
}

#[test]
fn requirepass_is_not_visible_in_the_proxy_command_line() {
    let secret = "s3cret-visible-in-ps";
    let cluster = TestCluster::start_with(ClusterOptions {
        requirepass: Some(secret.into()),
        ..Default::default()
    });
    if !cluster.is_tandem() {
        return;
    }
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", cluster.proxy_pid()))
        .expect("read the proxy's cmdline");
    let shown = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(shown.contains("--requirepass"), "{shown}");
    assert!(!shown.contains(secret), "password visible: {shown}");
    // The password still works: it was parsed before it was wiped.
    let mut c = connect(&cluster.addr(), Some(secret), Protocol::Resp2);
    expect(&mut c, &["PING"], simple("PONG"));
}

#[test]
fn storaged_keeps_its_data_directory_private_whatever_the_umask() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // storaged creates the data dir itself, under a umask that would make it 0777.
    let dir = tmp.path().join("data");
    let socket = tmp.path().join("storaged.sock");
    let log = tmp.path().join("storaged.log");
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 000; exec {} --data-dir {} --socket {} >{} 2>&1",
            binary("tandem-storaged").display(),
            dir.display(),
            socket.display(),
            log.display()
        ))
        .spawn()
        .expect("spawn storaged");
    wait_for("storaged's socket", START_TIMEOUT, || {
        std::os::unix::net::UnixStream::connect(&socket).ok()
    });
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "data dir");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("list the data dir") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            files += 1;
            assert_eq!(
                mode(&path) & 0o077,
                0,
                "{} is {:o}",
                path.display(),
                mode(&path)
            );
        }
    }
    assert!(files > 3, "RocksDB wrote no files?");
    assert_eq!(mode(&socket), 0o660, "socket");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        Signal::SIGTERM,
    )
    .expect("signal storaged");
    let status = child.wait().expect("wait for storaged");
    assert!(status.success(), "{status}");
}

#[test]
fn client_no_evict_matches_redis() {
    Differ::start().check(&[
        &["CLIENT", "NO-EVICT", "ON"],
        &["CLIENT", "NO-EVICT", "off"],
        &["CLIENT", "no-evict", "On"],
        &["CLIENT", "NO-EVICT", "maybe"],
        &["CLIENT", "NO-EVICT"],
        &["CLIENT", "NO-EVICT", "ON", "OFF"],
    ]);
}

#[test]
fn role_and_wait_answer_as_a_master_without_replicas() {
    Differ::start().check(&[
        &["ROLE"],
        &["ROLE", "x"],
        &["SET", "k", "v"],
        &["WAIT", "0", "0"],
        &["WAIT", "-1", "0"],
        // Redis waits out the 10 ms for acks no replica sends; the answer is the same 0.
        &["WAIT", "1", "10"],
        &["WAIT", "0", "9223372036854775807"],
        &["WAIT", "a", "0"],
        &["WAIT", "99999999999999999999", "0"],
        &["WAIT", "0", "a"],
        &["WAIT", "0", "1.5"],
        &["WAIT", "0", "-1"],
        // The count is checked before the timeout.
        &["WAIT", "a", "-1"],
        &["WAIT", "0"],
        &["WAIT", "0", "0", "0"],
        &["MULTI"],
        &["WAIT", "1", "0"],
        &["ROLE"],
        &["EXEC"],
    ]);
}

#[test]
fn lastsave_is_the_start_up_time_until_a_save() {
    let differ = Differ::start();
    differ.check(&[&["LASTSAVE", "x"]]);
    let mut c = differ.tandem().client();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    let Ok(Value::Int(at)) = run_command(&mut c, &["LASTSAVE"]) else {
        panic!("LASTSAVE is not an integer");
    };
    // The cluster started within this test; the answer does not move between calls.
    assert!(at <= now && at > now - 120, "LASTSAVE {at}, now {now}");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(run_command(&mut c, &["LASTSAVE"]), int(at));
    let mut other = differ.tandem().client();
    assert_eq!(run_command(&mut other, &["LASTSAVE"]), int(at));
}

/// `BGREWRITEAOF` answers as Redis and flushes storaged's memtables on a thread of its
/// own: the data stays, and a second one while the first runs is refused as Redis does.
#[test]
fn bgrewriteaof_flushes_the_memtables_and_keeps_the_data() {
    let differ = Differ::start();
    differ.check(&[&["BGREWRITEAOF", "x"], &["SET", "k", "v"]]);
    let mut c = differ.tandem().client();
    let started = "Background append only file rewriting started";
    let first = run_command(&mut c, &["BGREWRITEAOF"]);
    assert_eq!(first, simple(started));
    // Once the flush is done (quick on a tiny database) a new one starts again.
    wait_for(
        "a second BGREWRITEAOF to start",
        std::time::Duration::from_secs(10),
        || match run_command(&mut c, &["BGREWRITEAOF"]) {
            Ok(Value::SimpleString(s)) if s == started => Some(()),
            Err(e) if e.contains("already in progress") => None,
            other => panic!("BGREWRITEAOF: {other:?}"),
        },
    );
    assert_eq!(run_command(&mut c, &["GET", "k"]), bulk("v"));
    let logs = differ.tandem().logs();
    wait_for(
        "the flush to be logged",
        std::time::Duration::from_secs(10),
        || {
            differ
                .tandem()
                .logs()
                .contains("log rewritten")
                .then_some(())
        },
    );
    assert!(!logs.contains("flush failed"), "{logs}");
}

#[test]
fn client_subcommand_arity_and_unknown_subcommands_match_redis() {
    Differ::start().check(&[
        &["CLIENT", "ID", "x"],
        &["CLIENT", "GETNAME", "x"],
        &["CLIENT", "SETNAME"],
        &["CLIENT", "SETNAME", "a", "b"],
        &["CLIENT", "INFO", "x"],
        &["CLIENT", "KILL"],
        &["CLIENT", "UNBLOCK"],
        &["CLIENT", "UNBLOCK", "1", "TIMEOUT", "x"],
        &["CLIENT", "UNBLOCK", "1", "NEVER"],
        &["CLIENT", "REPLY"],
        &["CLIENT", "REPLY", "ON", "x"],
        &["CLIENT", "HELP", "x"],
        &["CLIENT", "LIST", "x"],
        &["CLIENT", "NOSUCH"],
        &["CLIENT", "NOSUCH", "a", "b"],
        &["CLIENT"],
    ]);
}

/// `CLIENT NO-TOUCH` and `CLIENT SETINFO` are Redis 7.2's (7.0 answers "unknown subcommand"):
/// client libraries send SETINFO at connect, so tandem answers them as 7.2 does.
#[test]
fn client_setinfo_and_no_touch_answer_as_redis_7_2() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    expect(&mut c, &["CLIENT", "SETINFO", "LIB-NAME", "redis-rs"], ok());
    expect(&mut c, &["CLIENT", "setinfo", "lib-ver", "0.1"], ok());
    let Ok(Value::BulkString(info)) = run_command(&mut c, &["CLIENT", "INFO"]) else {
        panic!("CLIENT INFO is not a string");
    };
    let info = String::from_utf8_lossy(&info).into_owned();
    assert!(
        info.contains(" lib-name=redis-rs lib-ver=0.1"),
        "CLIENT INFO: {info}"
    );
    expect(
        &mut c,
        &["CLIENT", "SETINFO", "Lib-Name", "two words"],
        err("ERR Lib-Name cannot contain spaces, newlines or special characters."),
    );
    expect(
        &mut c,
        &["CLIENT", "SETINFO", "nosuch", "two words"],
        err("ERR Unrecognized option 'nosuch'"),
    );
    expect(
        &mut c,
        &["CLIENT", "SETINFO", "LIB-NAME"],
        err("ERR wrong number of arguments for 'client|setinfo' command"),
    );
    expect(&mut c, &["CLIENT", "NO-TOUCH", "ON"], ok());
    expect(&mut c, &["CLIENT", "NO-TOUCH", "off"], ok());
    expect(
        &mut c,
        &["CLIENT", "NO-TOUCH", "maybe"],
        err("ERR syntax error"),
    );
    expect(
        &mut c,
        &["CLIENT", "NO-TOUCH"],
        err("ERR wrong number of arguments for 'client|no-touch' command"),
    );
    // 7.0 does not list them.
    expect(
        &mut c,
        &["COMMAND", "INFO", "client|setinfo"],
        Ok(Value::Array(vec![Value::Nil])),
    );
}
