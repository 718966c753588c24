//! Protected mode (issue 19), against redis-server 7.0.15: with `protected-mode yes` (the
//! default) and no password on the default user, a client that does not connect from
//! 127.0.0.1 gets Redis's `-DENIED` text and is disconnected; a password on the default user,
//! `CONFIG SET protected-mode no`, the `--protected-mode no` flag or a reloaded config file
//! lets it in. The outside client connects from 127.0.0.2, which Redis 7.0 does not count as
//! local (it compares the peer address with "127.0.0.1" and "::1").

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use tandem_tests::{
    connect, info, render_outcome, run_command, ClusterOptions, Protocol, RedisServer, Signal,
    TestCluster,
};

/// A peer address on this host that is not 127.0.0.1.
const OUTSIDE: &str = "127.0.0.2:0";

/// Connects to `addr` from [`OUTSIDE`].
fn connect_from_outside(addr: &str) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(OUTSIDE.parse().expect("address"))
            .expect("bind 127.0.0.2");
        socket
            .connect(addr.parse().expect("address"))
            .await
            .unwrap_or_else(|e| panic!("connect {addr} from 127.0.0.2: {e}"))
    });
    let stream = stream.into_std().expect("std stream");
    stream.set_nonblocking(false).expect("blocking");
    stream
}

/// What a client from outside sees: a greeting the server sends unasked (the DENIED text)
/// up to the end of the stream, or else the reply to a PING. `<closed>` marks the end of the
/// stream.
fn from_outside(addr: &str) -> String {
    let mut stream = connect_from_outside(addr);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut pinged = false;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return format!("{}<closed>", String::from_utf8_lossy(&got)),
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                // A reply to the PING, and the connection stays: done.
                if pinged && got.ends_with(b"\r\n") && !got.starts_with(b"-DENIED") {
                    return String::from_utf8_lossy(&got).into_owned();
                }
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .expect("timeout");
            }
            // Redis closes with the PING unread: a reset after its text.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !got.is_empty() => {
                return format!("{}<closed>", String::from_utf8_lossy(&got));
            }
            Err(e)
                if got.is_empty()
                    && !pinged
                    && matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
            {
                stream.write_all(b"PING\r\n").expect("send PING");
                pinged = true;
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .expect("timeout");
            }
            Err(e) => panic!(
                "reading from {addr}: {e} after {:?}",
                String::from_utf8_lossy(&got)
            ),
        }
    }
}

fn rejected(conn: &mut redis::Connection) -> u64 {
    info(conn, "stats")
        .lines()
        .find_map(|l| l.strip_prefix("rejected_connections:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("rejected_connections in INFO stats")
}

/// The same steps on one server, as a transcript.
fn transcript(addr: &str) -> Vec<String> {
    let mut admin = connect(addr, None, Protocol::Resp2);
    let mut run = |args: &[&str]| render_outcome(&run_command(&mut admin, args));
    let mut out = vec![run(&["CONFIG", "GET", "protected-mode"])];
    out.push(run(&["PING"]));
    let before = rejected(&mut connect(addr, None, Protocol::Resp2));
    out.push(from_outside(addr));
    let after = rejected(&mut connect(addr, None, Protocol::Resp2));
    out.push(format!("rejected +{}", after - before));
    // Another user with a password changes nothing: only the default user's counts.
    let mut run = |args: &[&str]| render_outcome(&run_command(&mut admin, args));
    out.push(run(&[
        "ACL", "SETUSER", "alice", "on", ">pw", "~*", "+@all",
    ]));
    out.push(from_outside(addr));
    out.push(run(&["CONFIG", "SET", "protected-mode", "maybe"]));
    out.push(run(&["CONFIG", "SET", "protected-mode", "no"]));
    out.push(run(&["CONFIG", "GET", "protected-mode"]));
    out.push(from_outside(addr));
    out.push(run(&["CONFIG", "SET", "protected-mode", "yes"]));
    out.push(from_outside(addr));
    // A password on the default user: the client is let in, and asked to authenticate.
    out.push(run(&["CONFIG", "SET", "requirepass", "secret"]));
    out.push(from_outside(addr));
    out.push(run(&["CONFIG", "SET", "requirepass", ""]));
    out.push(from_outside(addr));
    out.push(run(&["ACL", "SETUSER", "default", "resetpass", ">pw2"]));
    out.push(from_outside(addr));
    out.push(run(&["ACL", "SETUSER", "default", "nopass"]));
    out.push(from_outside(addr));
    out
}

#[test]
fn non_loopback_clients_get_redis_denied_text() {
    let redis = RedisServer::start();
    let cluster = TestCluster::start();
    let theirs = transcript(&redis.addr());
    let ours = transcript(&cluster.addr());
    let denied = format!(
        "{}<closed>",
        String::from_utf8_lossy(tandem_proxy_denied_text())
    );
    // The reference behaves as this test expects (what the transcript checks).
    assert_eq!(theirs[2], denied, "redis-server's text");
    assert_eq!(theirs[3], "rejected +1");
    assert_eq!(theirs[9], "+PONG\r\n");
    assert!(theirs[13].starts_with("-NOAUTH"), "{}", theirs[13]);
    for (i, (ours, theirs)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(ours, theirs, "step {i}");
    }
    assert_eq!(ours.len(), theirs.len());
}

/// The first bytes redis-server 7.0.15 sends a client from outside (the constant lives in
/// the proxy; this test compares it with the real server above).
fn tandem_proxy_denied_text() -> &'static [u8] {
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"
}

#[test]
fn the_flag_the_config_file_and_a_reload() {
    let cluster = TestCluster::start_with(ClusterOptions {
        proxy_args: vec!["--protected-mode".into(), "no".into()],
        ..ClusterOptions::default()
    });
    assert_eq!(from_outside(&cluster.addr()), "+PONG\r\n");
    let mut conn = cluster.client();
    assert_eq!(
        render_outcome(&run_command(
            &mut conn,
            &["CONFIG", "GET", "protected-mode"]
        )),
        "[\"protected-mode\", \"no\"]"
    );
    drop(cluster);

    // From the config file, changed by SIGHUP, and written back by CONFIG REWRITE.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("proxy.toml");
    std::fs::write(&file, "protected-mode = \"no\"\n").expect("write config");
    let cluster = TestCluster::start_with(ClusterOptions {
        proxy_args: vec!["--config".into(), file.display().to_string()],
        ..ClusterOptions::default()
    });
    assert_eq!(from_outside(&cluster.addr()), "+PONG\r\n");
    std::fs::write(&file, "protected-mode = \"yes\"\n").expect("write config");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(cluster.proxy_pid() as i32),
        Signal::SIGHUP,
    )
    .expect("SIGHUP");
    let mut conn = cluster.client();
    tandem_tests::wait_for("the reload", Duration::from_secs(10), || {
        let value = render_outcome(&run_command(
            &mut conn,
            &["CONFIG", "GET", "protected-mode"],
        ));
        value.contains("yes").then_some(())
    });
    assert!(
        from_outside(&cluster.addr()).starts_with("-DENIED Redis is running in protected mode"),
        "after the reload"
    );
    assert!(cluster.logs().contains("reload: protected-mode changed"));
    // As the DENIED text says: CONFIG SET, then CONFIG REWRITE makes it permanent.
    let mut run = |args: &[&str]| render_outcome(&run_command(&mut conn, args));
    assert_eq!(run(&["CONFIG", "SET", "protected-mode", "no"]), "+OK");
    assert_eq!(run(&["CONFIG", "REWRITE"]), "+OK");
    let text = std::fs::read_to_string(&file).expect("read config");
    assert!(text.contains("protected-mode = \"no\""), "{text}");
    assert_eq!(from_outside(&cluster.addr()), "+PONG\r\n");
}
