//! The RESP front end end to end, over raw sockets where the redis crate would hide the
//! bytes: inline commands, pipelining, malformed input, error texts, HELLO/AUTH, and the
//! proxy-local commands (CLIENT, COMMAND, CONFIG, INFO, RESET, QUIT, TIME).

use std::time::Duration;

use tandem_tests::{
    bulk, encode_command, err, expect, int, ok, run_command, simple, wait_for, ClusterOptions,
    TestCluster, Value,
};

#[test]
fn inline_commands() {
    let cluster = TestCluster::start();
    let mut raw = cluster.raw();
    raw.send(b"PING\r\n");
    assert_eq!(raw.reply(), "+PONG\r\n");
    raw.send(b"PING\n");
    assert_eq!(raw.reply(), "+PONG\r\n", "a bare LF ends an inline command");
    raw.send(b"\r\nSET k \"x y\"\r\n");
    assert_eq!(
        raw.reply(),
        "+OK\r\n",
        "empty inline lines are skipped; quotes group words"
    );
    raw.send(b"GET k\r\n");
    assert_eq!(raw.reply(), "$3\r\nx y\r\n");
    raw.send(b"ECHO \"a\\tb c\"\r\n");
    assert_eq!(
        raw.reply(),
        "$5\r\na\tb c\r\n",
        "escapes inside double quotes"
    );
    raw.send(b"ECHO 'single quoted'\r\n");
    assert_eq!(raw.reply(), "$13\r\nsingle quoted\r\n");
    raw.send(b"*0\r\n*-1\r\nPING\r\n");
    assert_eq!(
        raw.reply(),
        "+PONG\r\n",
        "empty and null multibulks are ignored"
    );
    raw.send(b"SET \"unbalanced\r\n");
    assert_eq!(
        raw.reply(),
        "-ERR Protocol error: unbalanced quotes in request\r\n"
    );
    assert!(raw.is_closed(), "connection closed after a protocol error");
}

#[test]
fn pipelining_a_thousand_commands() {
    let cluster = TestCluster::start();
    let mut raw = cluster.raw();
    let mut batch = Vec::new();
    for i in 0..1000 {
        let value = format!("v{i}");
        let cmd: &[&[u8]] = match i % 4 {
            0 => &[b"INCR", b"counter"],
            1 => &[b"SET", b"last", value.as_bytes()],
            2 => &[b"GET", b"last"],
            _ => &[b"PING"],
        };
        batch.extend(encode_command(cmd));
    }
    raw.send(&batch);
    let mut incrs = 0;
    for i in 0..1000 {
        let reply = raw.reply();
        let want = match i % 4 {
            0 => {
                incrs += 1;
                format!(":{incrs}\r\n")
            }
            1 => "+OK\r\n".to_string(),
            2 => {
                let last = format!("v{}", i - 1);
                format!("${}\r\n{last}\r\n", last.len())
            }
            _ => "+PONG\r\n".to_string(),
        };
        assert_eq!(reply, want, "reply {i} of a pipelined batch, in order");
    }
}

#[test]
fn malformed_requests_get_protocol_errors_and_a_close() {
    let cluster = TestCluster::start();
    for (input, error) in [
        (&b"*1\r\n$x\r\n"[..], "invalid bulk length"),
        (b"*abc\r\n", "invalid multibulk length"),
        (b"*9999999999\r\n", "invalid multibulk length"),
        (b"*2\r\n$3\r\nGET\r\n$600000000\r\n", "invalid bulk length"),
        (b"*1\r\n+PING\r\n", "expected '$', got '+'"),
    ] {
        let mut raw = cluster.raw();
        raw.send(input);
        assert_eq!(
            raw.reply(),
            format!("-ERR Protocol error: {error}\r\n"),
            "reply to {:?}",
            String::from_utf8_lossy(input)
        );
        assert!(
            raw.is_closed(),
            "connection closed after {:?}",
            String::from_utf8_lossy(input)
        );
    }
    // The server itself is unharmed.
    expect(&mut cluster.client(), &["PING"], simple("PONG"));
}

#[test]
fn unknown_commands_and_arity_errors() {
    let cluster = TestCluster::start();
    let mut raw = cluster.raw();
    assert_eq!(
        raw.command(&["foo", "a"]),
        "-ERR unknown command 'foo', with args beginning with: 'a' \r\n"
    );
    assert_eq!(
        raw.command(&["foo"]),
        "-ERR unknown command 'foo', with args beginning with: \r\n"
    );
    assert_eq!(
        raw.command(&["FOO", "a", "b", "c"]),
        "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' 'c' \r\n"
    );
    assert_eq!(
        raw.command(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        raw.command(&["get", "a", "b"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        raw.command(&["SET", "k"]),
        "-ERR wrong number of arguments for 'set' command\r\n"
    );
    assert_eq!(
        raw.command(&["MSET", "a", "1", "b"]),
        "-ERR wrong number of arguments for 'mset' command\r\n"
    );
    assert_eq!(
        raw.command(&["PING"]),
        "+PONG\r\n",
        "errors never close the connection"
    );
}

#[test]
fn hello_switches_protocol() {
    let cluster = TestCluster::start();
    let mut raw = cluster.raw();
    let hello3 = raw.command(&["HELLO", "3"]);
    assert!(
        hello3.starts_with("%7\r\n$6\r\nserver\r\n"),
        "HELLO 3 is a 7-field map: {hello3:?}"
    );
    assert!(hello3.contains("$5\r\nproto\r\n:3\r\n"), "{hello3:?}");
    assert!(
        hello3.contains("$4\r\nrole\r\n$6\r\nmaster\r\n"),
        "{hello3:?}"
    );
    assert_eq!(raw.command(&["GET", "missing"]), "_\r\n", "RESP3 null");
    assert_eq!(raw.command(&["SET", "k", "v"]), "+OK\r\n");
    let hello2 = raw.command(&["HELLO", "2"]);
    assert!(
        hello2.starts_with("*14\r\n$6\r\nserver\r\n"),
        "HELLO 2 is a flat array: {hello2:?}"
    );
    assert!(hello2.contains("$5\r\nproto\r\n:2\r\n"), "{hello2:?}");
    assert_eq!(raw.command(&["GET", "missing"]), "$-1\r\n", "RESP2 null");
    assert!(
        raw.command(&["HELLO"]).starts_with("*14\r\n"),
        "HELLO alone keeps the protocol"
    );
    assert_eq!(
        raw.command(&["HELLO", "4"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        raw.command(&["HELLO", "x"]),
        "-ERR Protocol version is not an integer or out of range\r\n"
    );
    assert_eq!(
        raw.command(&["HELLO", "3", "SETNAME", "hello-name"])
            .get(..2),
        Some("%7"),
        "HELLO with SETNAME"
    );
    assert_eq!(raw.command(&["CLIENT", "GETNAME"]), "$10\r\nhello-name\r\n");
}

#[test]
fn auth_and_hello_auth_with_requirepass() {
    let cluster = TestCluster::start_with(ClusterOptions {
        requirepass: Some("s3cret".into()),
        ..Default::default()
    });
    let mut raw = cluster.raw();
    assert_eq!(
        raw.command(&["GET", "k"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        raw.command(&["PING"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        raw.command(&["AUTH", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        raw.command(&["HELLO", "3", "AUTH", "default", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        raw.command(&["GET", "k"]),
        "-NOAUTH Authentication required.\r\n"
    );
    let hello = raw.command(&["HELLO", "3", "AUTH", "default", "s3cret"]);
    assert!(
        hello.starts_with("%7\r\n"),
        "HELLO 3 AUTH default <pass>: {hello:?}"
    );
    assert_eq!(raw.command(&["GET", "k"]), "_\r\n");

    let mut plain = cluster.raw();
    assert_eq!(plain.command(&["AUTH", "s3cret"]), "+OK\r\n");
    assert_eq!(plain.command(&["SET", "k", "v"]), "+OK\r\n");
    let mut user = cluster.raw();
    assert_eq!(user.command(&["AUTH", "default", "s3cret"]), "+OK\r\n");
    assert_eq!(user.command(&["GET", "k"]), "$1\r\nv\r\n");
    // The harness's own clients authenticate through the URL.
    expect(&mut cluster.client_resp3(), &["GET", "k"], bulk("v"));
}

#[test]
fn client_subcommands() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    let id = match run_command(c, &["CLIENT", "ID"]) {
        Ok(Value::Int(id)) => id,
        other => panic!("CLIENT ID: {other:?}"),
    };
    expect(c, &["CLIENT", "GETNAME"], Ok(Value::Nil));
    expect(c, &["CLIENT", "SETNAME", "worker-1"], ok());
    expect(c, &["CLIENT", "GETNAME"], bulk("worker-1"));
    expect(
        c,
        &["CLIENT", "SETNAME", "a b"],
        err("ERR Client names cannot contain spaces, newlines or special characters."),
    );
    let info = text(run_command(c, &["CLIENT", "INFO"]));
    assert!(
        info.starts_with(&format!("id={id} ")),
        "CLIENT INFO: {info}"
    );
    assert!(info.contains(" name=worker-1 "), "CLIENT INFO: {info}");
    assert!(info.contains(" db=0 "), "CLIENT INFO: {info}");
    assert!(
        info.ends_with('\n'),
        "CLIENT INFO ends with a newline: {info:?}"
    );
    expect(c, &["SELECT", "4"], ok());
    assert!(text(run_command(c, &["CLIENT", "INFO"])).contains(" db=4 "));

    let mut other = cluster.raw();
    let other_id = other.command(&["CLIENT", "ID"]);
    let other_id = other_id.trim_start_matches(':').trim_end().to_string();
    // Connections the harness closed a moment ago may linger until the server reads EOF.
    let list = wait_for(
        "CLIENT LIST to show exactly our two clients",
        Duration::from_secs(5),
        || {
            let list = text(run_command(c, &["CLIENT", "LIST"]));
            (list.lines().count() == 2).then_some(list)
        },
    );
    assert!(
        list.contains(&format!("id={id} ")) && list.contains(&format!("id={other_id} ")),
        "{list}"
    );
    expect(c, &["CLIENT", "KILL", "ID", "999999"], int(0));
    expect(c, &["CLIENT", "KILL", "ID", &other_id], int(1));
    assert!(other.is_closed(), "a killed client is disconnected");
    wait_for(
        "the killed client to leave CLIENT LIST",
        Duration::from_secs(5),
        || (text(run_command(c, &["CLIENT", "LIST"])).lines().count() == 1).then_some(()),
    );

    if cluster.is_tandem() {
        // CLIENT SETINFO is Redis 7.2; the reference in validation mode may be older.
        expect(c, &["CLIENT", "SETINFO", "LIB-NAME", "tandem-tests"], ok());
        expect(c, &["CLIENT", "SETINFO", "LIB-VER", "1.0"], ok());
        let info = text(run_command(c, &["CLIENT", "INFO"]));
        assert!(
            info.contains("lib-name=tandem-tests") && info.contains("lib-ver=1.0"),
            "{info}"
        );
    }
}

#[test]
fn command_config_info_time_reset_quit() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    match run_command(c, &["COMMAND", "COUNT"]) {
        Ok(Value::Int(n)) => assert!(n >= 40, "COMMAND COUNT = {n}"),
        other => panic!("COMMAND COUNT: {other:?}"),
    }
    match run_command(c, &["COMMAND", "INFO", "get", "nosuchcmd"]) {
        Ok(Value::Array(items)) => {
            assert_eq!(items.len(), 2, "one entry per name asked");
            assert_eq!(items[1], Value::Nil, "unknown command's entry is nil");
            let Value::Array(entry) = &items[0] else {
                panic!("COMMAND INFO get: {items:?}")
            };
            assert_eq!(entry[0], Value::BulkString(b"get".to_vec()));
            assert_eq!(entry[1], Value::Int(2), "GET's arity");
            assert_eq!(
                entry[3..6],
                [Value::Int(1), Value::Int(1), Value::Int(1)],
                "GET's key positions"
            );
        }
        other => panic!("COMMAND INFO: {other:?}"),
    }

    let pairs = config_get(c, &["maxmemory*"]);
    for name in ["maxmemory", "maxmemory-policy", "maxmemory-samples"] {
        assert!(
            pairs.iter().any(|(n, _)| n == name),
            "CONFIG GET maxmemory* lacks {name}: {pairs:?}"
        );
    }
    assert!(
        pairs.iter().all(|(n, _)| n.starts_with("maxmemory")),
        "{pairs:?}"
    );
    assert_eq!(
        config_get(c, &["databases"]),
        vec![("databases".to_string(), "16".to_string())]
    );
    let both = config_get(c, &["databases", "hz"]);
    assert_eq!(both.len(), 2, "CONFIG GET with two patterns: {both:?}");
    assert!(config_get(c, &["no-such-*"]).is_empty());
    expect(
        c,
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
        ok(),
    );
    assert_eq!(
        config_get(c, &["maxmemory-policy"]),
        vec![("maxmemory-policy".into(), "allkeys-lru".into())]
    );
    expect(c, &["CONFIG", "SET", "maxmemory", "1mb"], ok());
    assert_eq!(
        config_get(c, &["maxmemory"]),
        vec![("maxmemory".into(), "1048576".into())]
    );
    expect(c, &["CONFIG", "SET", "maxmemory", "0"], ok());
    expect(
        c,
        &["CONFIG", "SET", "no-such", "1"],
        err("ERR Unknown option or number of arguments for CONFIG SET - 'no-such'"),
    );
    expect(c, &["CONFIG", "RESETSTAT"], ok());

    expect(c, &["SET", "k", "v"], ok());
    let info = text(run_command(c, &["INFO"]));
    assert!(info.contains("redis_version:"), "INFO lacks redis_version");
    assert!(
        info.contains("connected_clients:"),
        "INFO lacks connected_clients"
    );
    assert!(
        info.contains("db0:keys=1,"),
        "INFO keyspace lacks db0:keys=1: {info}"
    );
    let keyspace = text(run_command(c, &["INFO", "keyspace"]));
    assert!(
        keyspace.starts_with("# Keyspace\r\n") && keyspace.contains("db0:keys=1,"),
        "{keyspace}"
    );
    assert!(
        !keyspace.contains("redis_version"),
        "INFO keyspace shows only that section"
    );

    match run_command(c, &["TIME"]) {
        Ok(Value::Array(parts)) => {
            let secs: i64 = text(Ok(parts[0].clone())).parse().expect("TIME seconds");
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_secs();
            assert!((secs - now as i64).abs() <= 5, "TIME {secs} vs clock {now}");
            let micros: i64 = text(Ok(parts[1].clone())).parse().expect("TIME micros");
            assert!((0..1_000_000).contains(&micros));
        }
        other => panic!("TIME: {other:?}"),
    }

    let mut raw = cluster.raw();
    assert_eq!(raw.command(&["SELECT", "3"]), "+OK\r\n");
    assert_eq!(raw.command(&["CLIENT", "SETNAME", "x"]), "+OK\r\n");
    assert!(raw.command(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(raw.command(&["RESET"]), "+RESET\r\n");
    assert_eq!(
        raw.command(&["CLIENT", "GETNAME"]),
        "$-1\r\n",
        "RESET clears the name and goes back to RESP2"
    );
    assert_eq!(
        raw.command(&["GET", "k"]),
        "$1\r\nv\r\n",
        "RESET selects db 0"
    );
    assert_eq!(raw.command(&["QUIT"]), "+OK\r\n");
    assert!(raw.is_closed(), "QUIT closes the connection");
}

#[test]
fn ping_answers_while_storage_is_down() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut raw = cluster.raw();
    let _ = cluster.kill_storaged(tandem_tests::Signal::SIGKILL);
    assert_eq!(raw.command(&["PING"]), "+PONG\r\n");
    assert_eq!(
        raw.command(&["ECHO", "still here"]),
        "$10\r\nstill here\r\n"
    );
    let reply = raw.command(&["GET", "k"]);
    assert!(
        reply.starts_with('-'),
        "a storage command fails with an error while storage is down: {reply:?}"
    );
    assert_eq!(
        raw.command(&["PING"]),
        "+PONG\r\n",
        "and the connection stays usable"
    );
    cluster.start_storaged();
    let mut reply = String::new();
    for _ in 0..500 {
        reply = raw.command(&["SET", "k", "v"]);
        if reply == "+OK\r\n" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(
        reply, "+OK\r\n",
        "the same connection works again once storaged is back"
    );
}

fn text(outcome: tandem_tests::Outcome) -> String {
    match outcome {
        Ok(Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
        Ok(Value::SimpleString(s)) => s,
        Ok(Value::VerbatimString { text, .. }) => text,
        other => panic!("expected text, got {other:?}"),
    }
}

fn config_get(c: &mut redis::Connection, patterns: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["CONFIG", "GET"];
    args.extend_from_slice(patterns);
    let items = match run_command(c, &args) {
        Ok(Value::Array(items)) => items,
        Ok(Value::Map(pairs)) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        other => panic!("CONFIG GET {patterns:?}: {other:?}"),
    };
    let mut pairs: Vec<(String, String)> = items
        .chunks(2)
        .map(|kv| (text(Ok(kv[0].clone())), text(Ok(kv[1].clone()))))
        .collect();
    pairs.sort();
    pairs
}
