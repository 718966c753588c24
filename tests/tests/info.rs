//! INFO against redis-server 7.0.15: which sections each argument gives and in what order,
//! the fields clients and exporters read, command/error/latency statistics counted as Redis
//! counts them (and summed across the proxies of a pair), `CONFIG RESETSTAT` and
//! `CONFIG REWRITE`.

use std::time::Duration;

use tandem_tests::*;

/// The `# Title` lines of an INFO text, in order.
fn headers(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# "))
        .map(|l| l.trim_end().to_owned())
        .collect()
}

/// The `name:value` fields of an INFO text.
fn fields(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.trim_end().split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn info_args(conn: &mut redis::Connection, args: &[&str]) -> String {
    let mut full = vec!["INFO"];
    full.extend_from_slice(args);
    match run_command(conn, &full) {
        Ok(redis::Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
        Ok(redis::Value::VerbatimString { text, .. }) => text,
        other => panic!("INFO {args:?}: {}", render_outcome(&other)),
    }
}

/// tandem's sections after Redis's (this proxy's links, storaged's engine, storaged's links
/// and their peers).
const TANDEM_SECTIONS: &[&str] = &["Link", "Storage", "Proxies"];

#[test]
fn sections_are_chosen_and_ordered_as_redis_chooses_them() {
    let differ = Differ::start();
    let mut ours = differ.tandem().client();
    let mut theirs = differ.reference().client();
    for args in [
        &[][..],
        &["default"][..],
        &["all"][..],
        &["everything"][..],
        &["cpu", "server"][..],
        &["CPU", "Server", "cpu"][..],
        &["default", "commandstats"][..],
        &["latencystats", "errorstats", "keyspace"][..],
        &["commandstats"][..],
        &["nosuchsection"][..],
        &["server", "nosuchsection"][..],
    ] {
        let want = headers(&info_args(&mut theirs, args));
        let got: Vec<String> = headers(&info_args(&mut ours, args))
            .into_iter()
            .filter(|h| !TANDEM_SECTIONS.contains(&h.as_str()))
            .collect();
        assert_eq!(got, want, "INFO {args:?}");
    }
    // tandem's own sections come with default, all and everything, after Redis's.
    for args in [&[][..], &["all"][..], &["everything"][..]] {
        let h = headers(&info_args(&mut ours, args));
        assert_eq!(&h[h.len() - 3..], TANDEM_SECTIONS, "INFO {args:?}");
    }
    assert_eq!(info_args(&mut ours, &["nosuchsection"]), "");
}

/// Every field redis_exporter and client libraries read from these sections is there,
/// with a value of the same kind (a number where Redis prints a number).
#[test]
fn fields_clients_and_exporters_read_are_present() {
    let differ = Differ::start();
    let mut ours = differ.tandem().client();
    let mut theirs = differ.reference().client();
    run_command(&mut ours, &["SET", "k", "v"]).expect("SET");
    run_command(&mut theirs, &["SET", "k", "v"]).expect("SET");
    let got = fields(&info_args(&mut ours, &["everything"]));
    let want = fields(&info_args(&mut theirs, &["everything"]));
    for name in [
        "redis_version",
        "redis_mode",
        "os",
        "arch_bits",
        "process_id",
        "run_id",
        "tcp_port",
        "uptime_in_seconds",
        "uptime_in_days",
        "hz",
        "configured_hz",
        "lru_clock",
        "executable",
        "config_file",
        "connected_clients",
        "maxclients",
        "blocked_clients",
        "tracking_clients",
        "used_memory",
        "used_memory_rss",
        "used_memory_peak",
        "total_system_memory",
        "maxmemory",
        "maxmemory_policy",
        "mem_fragmentation_ratio",
        "loading",
        "rdb_changes_since_last_save",
        "rdb_bgsave_in_progress",
        "rdb_last_save_time",
        "rdb_last_bgsave_status",
        "aof_enabled",
        "aof_rewrite_in_progress",
        "aof_last_bgrewrite_status",
        "aof_last_write_status",
        "total_connections_received",
        "total_commands_processed",
        "instantaneous_ops_per_sec",
        "rejected_connections",
        "expired_keys",
        "evicted_keys",
        "keyspace_hits",
        "keyspace_misses",
        "pubsub_channels",
        "pubsub_patterns",
        "total_error_replies",
        "role",
        "connected_slaves",
        "master_repl_offset",
        "repl_backlog_active",
        "repl_backlog_size",
        "used_cpu_sys",
        "used_cpu_user",
        "used_cpu_sys_children",
        "used_cpu_user_children",
        "used_cpu_sys_main_thread",
        "used_cpu_user_main_thread",
        "cluster_enabled",
        "db0",
    ] {
        let theirs = want
            .iter()
            .find(|(k, _)| k == name)
            .unwrap_or_else(|| panic!("redis-server has no {name}"));
        let ours = got
            .iter()
            .find(|(k, _)| k == name)
            .unwrap_or_else(|| panic!("tandem has no {name}"));
        let numeric = |v: &str| v.trim_end_matches('%').parse::<f64>().is_ok();
        assert_eq!(
            numeric(&ours.1),
            numeric(&theirs.1),
            "{name}: tandem {} redis-server {}",
            ours.1,
            theirs.1
        );
    }
    let db0 = &got.iter().find(|(k, _)| k == "db0").expect("db0").1;
    assert_eq!(db0, "keys=1,expires=0,avg_ttl=0");
}

/// `cmdstat_<name>:calls=…,rejected_calls=…,failed_calls=…` without the times.
fn counts(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("cmdstat_") || l.starts_with("errorstat_"))
        .map(|l| {
            let l = l.trim_end();
            let (name, rest) = l.split_once(':').unwrap_or((l, ""));
            let kept: Vec<&str> = rest.split(',').filter(|f| !f.starts_with("usec")).collect();
            format!("{name}:{}", kept.join(","))
        })
        .collect();
    out.sort();
    out
}

/// The same script on both sides after `CONFIG RESETSTAT`: the same calls, rejected and
/// failed calls per command (subcommands apart), the same error counts per code, and a
/// latency line per command called.
#[test]
fn command_and_error_statistics_count_as_redis_counts() {
    let differ = Differ::start();
    let script: &[&[&str]] = &[
        &["CONFIG", "RESETSTAT"],
        &["SET", "s", "1"],
        &["INCR", "s"],
        &["HGET", "s", "f"],
        &["LPUSH", "s", "x"],
        &["GET"],
        &["NOSUCHCOMMAND", "a"],
        &["SET", "s", "1", "XX", "NX"],
        &["CONFIG", "GET", "maxclients"],
        &["CONFIG", "NOSUCH"],
        &["CLIENT", "SETNAME", "x y"],
        &["PING"],
        &["PING"],
        &["INCRBYFLOAT", "s", "abc"],
        &["BLPOP", "nolist", "0.01"],
        &["BLPOP", "s", "0.01"],
    ];
    let mut texts = Vec::new();
    for conn in [
        &mut differ.tandem().client(),
        &mut differ.reference().client(),
    ] {
        run_script(conn, script);
        texts.push(info_args(
            conn,
            &["commandstats", "errorstats", "latencystats"],
        ));
    }
    assert_eq!(
        counts(&texts[0]),
        counts(&texts[1]),
        "\n{}\n{}",
        texts[0],
        texts[1]
    );
    for text in &texts {
        for cmd in ["set", "incr", "hget", "config|get", "ping"] {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("latency_percentiles_usec_{cmd}:")))
                .unwrap_or_else(|| panic!("no latency line for {cmd} in {text}"));
            let values: Vec<f64> = line
                .split_once(':')
                .map(|(_, v)| v.trim_end())
                .unwrap_or("")
                .split(',')
                .map(|kv| {
                    kv.split_once('=')
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or_else(|| panic!("{line}"))
                })
                .collect();
            assert_eq!(values.len(), 3, "{line}");
            assert!(values[0] > 0.0 && values[0] <= values[1] && values[1] <= values[2]);
        }
    }
    // Stats' total_error_replies is the sum of the error counts.
    let mut ours = differ.tandem().client();
    let errors: u64 = info(&mut ours, "errorstats")
        .lines()
        .filter_map(|l| l.trim_end().rsplit("count=").next()?.parse::<u64>().ok())
        .sum();
    let stats = fields(&info(&mut ours, "stats"));
    let total = &stats
        .iter()
        .find(|(k, _)| k == "total_error_replies")
        .expect("total_error_replies")
        .1;
    assert_eq!(total.parse::<u64>().ok(), Some(errors));
}

/// Two proxies of one pair report one server's view: what either serves shows through
/// both (the other proxy's within its one-second report), and RESETSTAT on one clears it
/// for both, keeping the slow log.
#[test]
fn a_pair_with_two_proxies_reports_one_server() {
    let cluster = TestCluster::start();
    let extra = cluster.spawn_extra_proxy();
    let mut a = cluster.client();
    let mut b = extra.client();
    run_command(&mut a, &["CONFIG", "RESETSTAT"]).expect("RESETSTAT");
    for _ in 0..3 {
        run_command(&mut a, &["SET", "k", "1"]).expect("SET");
    }
    for _ in 0..2 {
        run_command(&mut b, &["SET", "k", "1"]).expect("SET");
    }
    run_command(&mut b, &["HGET", "k", "f"]).expect_err("WRONGTYPE");
    let calls = |conn: &mut redis::Connection| {
        let text = info(conn, "commandstats");
        text.lines()
            .find(|l| l.starts_with("cmdstat_set:"))
            .map(|l| l.trim_end().to_owned())
            .unwrap_or_default()
    };
    for conn in [&mut a, &mut b] {
        wait_for("both proxies' SETs", Duration::from_secs(5), || {
            calls(conn)
                .starts_with("cmdstat_set:calls=5,")
                .then_some(())
        });
        wait_for("the other proxy's error", Duration::from_secs(5), || {
            info(conn, "errorstats")
                .contains("errorstat_WRONGTYPE:count=1\r\n")
                .then_some(())
        });
    }
    run_command(&mut a, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]).expect("SET");
    run_command(&mut a, &["PING"]).expect("PING");
    // A proxy's slow-log entries reach the pair's one log with its next report.
    let slow_before = wait_for("the PING in the slow log", Duration::from_secs(5), || {
        let len = run_command(&mut b, &["SLOWLOG", "LEN"]).expect("LEN");
        matches!(len, redis::Value::Int(n) if n > 0).then_some(len)
    });
    run_command(&mut b, &["CONFIG", "RESETSTAT"]).expect("RESETSTAT");
    let text = info(&mut a, "commandstats");
    assert!(!text.contains("cmdstat_set:"), "{text}");
    assert!(!info(&mut a, "errorstats").contains("WRONGTYPE"));
    let redis::Value::Int(before) = slow_before else {
        panic!("SLOWLOG LEN: {slow_before:?}");
    };
    let Ok(redis::Value::Int(after)) = run_command(&mut a, &["SLOWLOG", "LEN"]) else {
        panic!("SLOWLOG LEN");
    };
    assert!(before > 0 && after >= before, "{before} {after}");
}

#[test]
fn config_resetstat_and_rewrite_answer_as_redis_without_a_file() {
    let differ = Differ::start();
    differ.check(&[
        &["CONFIG", "RESETSTAT"],
        &["CONFIG", "RESETSTAT", "x"],
        &["CONFIG", "REWRITE"],
        &["CONFIG", "REWRITE", "x"],
    ]);
}

/// `CONFIG REWRITE` writes what `CONFIG SET` changed into the proxy's TOML file, keeping
/// its comments and other lines, and a restarted proxy reads it back.
#[test]
fn config_rewrite_writes_the_proxy_toml_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("proxy.toml");
    std::fs::write(
        &path,
        "# tandem proxy settings\nmaxclients = 100 # our limit\n\n# queue\nqueue-capacity = 4096\n",
    )
    .expect("write the config file");
    let mut cluster = TestCluster::start_with(ClusterOptions {
        proxy_args: vec!["--config".into(), path.display().to_string()],
        ..ClusterOptions::default()
    });
    let mut c = cluster.client();
    expect(&mut c, &["CONFIG", "SET", "maxclients", "250"], ok());
    expect(
        &mut c,
        &["CONFIG", "SET", "proto-max-bulk-len", "1048576"],
        ok(),
    );
    expect(&mut c, &["CONFIG", "REWRITE"], ok());
    let text = std::fs::read_to_string(&path).expect("read back");
    assert_eq!(
        text,
        "# tandem proxy settings\nmaxclients = 250 # our limit\n\n# queue\nqueue-capacity = 4096\n# Generated by CONFIG REWRITE\nproto-max-bulk-len = 1048576\n"
    );
    let server = fields(&info(&mut c, "server"));
    let shown = &server
        .iter()
        .find(|(k, _)| k == "config_file")
        .expect("config_file")
        .1;
    assert_eq!(shown, &path.display().to_string());
    // A second rewrite changes nothing more.
    expect(&mut c, &["CONFIG", "REWRITE"], ok());
    assert_eq!(std::fs::read_to_string(&path).expect("read back"), text);
    drop(c);
    cluster.kill_proxy(nix::sys::signal::Signal::SIGTERM);
    cluster.start_proxy();
    let mut c = cluster.client();
    expect(
        &mut c,
        &["CONFIG", "GET", "maxclients"],
        bulks(&[Some("maxclients"), Some("250")]),
    );
}

/// With storaged away INFO still answers with the proxy's own sections, after one request
/// deadline (not one per storaged part), and SLOWLOG says storage is unavailable.
#[test]
fn info_answers_without_storaged() {
    let mut cluster = TestCluster::start_with(ClusterOptions {
        proxy_args: vec!["--request-timeout-ms".into(), "600".into()],
        ..ClusterOptions::default()
    });
    let mut c = cluster.client();
    cluster.kill_storaged(Signal::SIGKILL);
    let started = std::time::Instant::now();
    let text = info_args(&mut c, &[]);
    let waited = started.elapsed();
    assert!(waited < Duration::from_millis(1100), "{waited:?}");
    let h = headers(&text);
    for section in ["Server", "Clients", "CPU", "Link"] {
        assert!(h.iter().any(|s| s == section), "{text}");
    }
    assert!(!h.iter().any(|s| s == "Storage"), "{text}");
    match run_command(&mut c, &["SLOWLOG", "LEN"]) {
        Err(text) => assert!(text.starts_with("TRYAGAIN"), "{text}"),
        other => panic!("SLOWLOG LEN without storaged: {}", render_outcome(&other)),
    }
    cluster.start_storaged();
    wait_for("storaged back", Duration::from_secs(10), || {
        matches!(run_command(&mut c, &["SLOWLOG", "LEN"]), Ok(Value::Int(_))).then_some(())
    });
}
