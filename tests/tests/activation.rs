//! What systemd does to the binaries, without systemd: the test binds storaged's socket and
//! hands it over as fd 3 with `LISTEN_FDS=1`/`LISTEN_PID` (as `tandem-storaged.socket`
//! would), restarts storaged on the same socket while a client keeps writing through a
//! proxy, and listens on a `NOTIFY_SOCKET` datagram socket for `READY=1`, `WATCHDOG=1` and
//! `STOPPING=1`; and two proxies sharing one port through SO_REUSEPORT sockets.
//!
//! The hand-over goes through bash: the socket is the shell's stdin, `exec 3<&0 </dev/null`
//! moves it to fd 3, and `LISTEN_PID=$$` before `exec` names the pid the binary keeps — no
//! `unsafe` `pre_exec` needed here.

use std::fs;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::kill;
use nix::unistd::Pid;
use tandem_tests::*;

/// Moves the socket on stdin (when `$TANDEM_TEST_FD_ON_STDIN` is set) to fd 3 with `LISTEN_FDS=1` and this shell's pid (the pid the
/// binary keeps after `exec`) in `LISTEN_PID`, and `WATCHDOG_PID` likewise when a watchdog
/// period is asked for; then runs the binary.
const LAUNCHER: &str = r#"
if [ -n "${TANDEM_TEST_FD_ON_STDIN:-}" ]; then
    exec 3<&0 </dev/null
    export LISTEN_FDS=1 LISTEN_PID=$$
fi
if [ -n "${TANDEM_TEST_WATCHDOG_USEC:-}" ]; then
    export WATCHDOG_USEC=$TANDEM_TEST_WATCHDOG_USEC WATCHDOG_PID=$$
fi
unset TANDEM_TEST_FD_ON_STDIN TANDEM_TEST_WATCHDOG_USEC
exec "$0" "$@"
"#;

fn skip_for_redis_backend() -> bool {
    let redis = std::env::var("TANDEM_TEST_BACKEND").is_ok_and(|b| b == "redis");
    if redis {
        eprintln!("TANDEM_TEST_BACKEND=redis: nothing to activate");
    }
    redis
}

#[derive(Default)]
struct Launch<'a> {
    /// Passed as fd 3 with LISTEN_FDS=1.
    listener: Option<BorrowedFd<'a>>,
    notify_socket: Option<&'a Path>,
    watchdog_usec: Option<u64>,
}

/// Starts `name` with `args`, a clean environment and the systemd variables `launch` asks for.
fn spawn(name: &str, args: &[String], launch: &Launch, log: &Path) -> Child {
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("open log");
    let err = out.try_clone().expect("clone log handle");
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(LAUNCHER)
        .arg(binary(name))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    if let Some(path) = launch.notify_socket {
        command.env("NOTIFY_SOCKET", path);
    }
    if let Some(usec) = launch.watchdog_usec {
        command.env("TANDEM_TEST_WATCHDOG_USEC", usec.to_string());
    }
    if let Some(fd) = launch.listener {
        let fd = fd.try_clone_to_owned().expect("clone the listening socket");
        command
            .stdin(Stdio::from(fd))
            .env("TANDEM_TEST_FD_ON_STDIN", "1");
    }
    command.spawn().expect("spawn through bash")
}

fn signal(child: &Child, signal: Signal) {
    let pid = i32::try_from(child.id()).expect("pid fits in i32");
    let _ = kill(Pid::from_raw(pid), signal);
}

fn wait_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + EXIT_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            signal(child, Signal::SIGKILL);
            let _ = child.wait();
            panic!("child did not exit within {EXIT_TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the children still running when a test fails.
struct Reaper(Vec<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for child in &mut self.0 {
            if child.try_wait().ok().flatten().is_none() {
                signal(child, Signal::SIGKILL);
                let _ = child.wait();
            }
        }
    }
}

fn storaged_args(dir: &Path) -> Vec<String> {
    vec![
        "--data-dir".into(),
        dir.join("data").display().to_string(),
        // Where storaged would bind itself: must stay unused when it is handed a socket.
        "--socket".into(),
        dir.join("self-bound.sock").display().to_string(),
        "--io-threads".into(),
        "1".into(),
        "--block-cache-mb".into(),
        "8".into(),
    ]
}

fn proxy_args(port: u16, storage_socket: &Path) -> Vec<String> {
    vec![
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--storage-socket".into(),
        storage_socket.display().to_string(),
    ]
}

fn logs(dir: &Path) -> String {
    let mut text = String::new();
    for name in ["storaged.log", "proxy.log"] {
        let body = fs::read_to_string(dir.join(name)).unwrap_or_default();
        text.push_str(&format!("--- {name} ---\n{body}\n"));
    }
    text
}

#[test]
fn storaged_restarts_on_the_inherited_socket_without_client_errors() {
    if skip_for_redis_backend() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("storaged.sock");
    // The test plays systemd: it owns the socket for the whole test.
    let listener = UnixListener::bind(&socket).expect("bind the storaged socket");
    let storaged_log = dir.path().join("storaged.log");
    let launch = Launch {
        listener: Some(listener.as_fd()),
        ..Launch::default()
    };
    let mut reaper = Reaper(Vec::new());
    reaper.0.push(spawn(
        "tandem-storaged",
        &storaged_args(dir.path()),
        &launch,
        &storaged_log,
    ));
    let port = free_port();
    reaper.0.push(spawn(
        "tandem-proxy",
        &proxy_args(port, &socket),
        &Launch::default(),
        &dir.path().join("proxy.log"),
    ));
    let addr = format!("127.0.0.1:{port}");
    let mut conn = wait_for("the pair to serve", START_TIMEOUT, || {
        let mut c = try_connect(&addr, None, Protocol::Resp2).ok()?;
        run_command(&mut c, &["SET", "before", "1"]).ok()?;
        Some(c)
    });
    assert!(
        !dir.path().join("self-bound.sock").exists(),
        "storaged bound its own socket instead of the inherited one\n{}",
        logs(dir.path())
    );

    // A client keeps incrementing through the proxy across the restart.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, acked, addr) = (stop.clone(), acked.clone(), addr.clone());
        thread::spawn(move || -> Result<(), String> {
            let mut c = connect(&addr, None, Protocol::Resp2);
            while !stop.load(Ordering::Relaxed) {
                run_command(&mut c, &["INCR", "counter"])?;
                acked.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
    };
    wait_for("writes before the restart", START_TIMEOUT, || {
        (acked.load(Ordering::Relaxed) > 20).then_some(())
    });

    signal(&reaper.0[0], Signal::SIGTERM);
    let status = wait_exit(&mut reaper.0[0]);
    assert!(
        status.success(),
        "storaged exited {status}\n{}",
        logs(dir.path())
    );
    assert!(
        socket.exists(),
        "storaged removed a socket systemd owns\n{}",
        logs(dir.path())
    );
    let during = acked.load(Ordering::Relaxed);
    reaper.0[0] = spawn(
        "tandem-storaged",
        &storaged_args(dir.path()),
        &launch,
        &storaged_log,
    );
    wait_for("writes after the restart", START_TIMEOUT, || {
        (acked.load(Ordering::Relaxed) > during + 20).then_some(())
    });
    stop.store(true, Ordering::Relaxed);
    let result = writer.join().expect("writer thread");
    assert_eq!(result, Ok(()), "client saw an error\n{}", logs(dir.path()));
    let total = acked.load(Ordering::Relaxed);
    assert_eq!(
        run_command(&mut conn, &["GET", "counter"]),
        Ok(Value::BulkString(total.to_string().into_bytes())),
        "every acknowledged INCR applied exactly once\n{}",
        logs(dir.path())
    );
    assert_eq!(
        run_command(&mut conn, &["GET", "before"]),
        Ok(Value::BulkString(b"1".to_vec()))
    );
    signal(&reaper.0[0], Signal::SIGTERM);
    assert!(wait_exit(&mut reaper.0[0]).success());
    assert!(socket.exists(), "socket removed on the second stop");
}

/// Collects notification datagrams until `until` is among them or the deadline passes.
fn receive_until(sock: &UnixDatagram, seen: &mut Vec<String>, until: &str) {
    let deadline = Instant::now() + START_TIMEOUT;
    let mut buf = vec![0u8; 4096];
    while !seen.iter().any(|m| m.lines().any(|l| l == until)) {
        assert!(
            Instant::now() < deadline,
            "no {until} within {START_TIMEOUT:?}; got {seen:?}"
        );
        match sock.recv(&mut buf) {
            Ok(n) => seen.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("recv on NOTIFY_SOCKET: {e}"),
        }
    }
}

/// Index of the first datagram holding `line` as one of its lines.
fn position(seen: &[String], line: &str) -> Option<usize> {
    seen.iter().position(|m| m.lines().any(|l| l == line))
}

fn notify_socket(dir: &Path) -> (UnixDatagram, PathBuf) {
    let path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&path).expect("bind NOTIFY_SOCKET");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("set read timeout");
    (sock, path)
}

/// READY=1 (with a STATUS=), then WATCHDOG=1 at the requested pace, then STOPPING=1 on
/// SIGTERM, in that order; and a clean exit.
fn check_notifications(name: &str, args: &[String], dir: &Path, listener: Option<BorrowedFd>) {
    let (sock, path) = notify_socket(dir);
    let launch = Launch {
        listener,
        notify_socket: Some(&path),
        // 200 ms: WATCHDOG=1 every 100 ms.
        watchdog_usec: Some(200_000),
    };
    let log = dir.join(format!("{name}.log"));
    let mut reaper = Reaper(vec![spawn(name, args, &launch, &log)]);
    let mut seen = Vec::new();
    receive_until(&sock, &mut seen, "READY=1");
    receive_until(&sock, &mut seen, "WATCHDOG=1");
    signal(&reaper.0[0], Signal::SIGTERM);
    receive_until(&sock, &mut seen, "STOPPING=1");
    let status = wait_exit(&mut reaper.0[0]);
    let log_text = fs::read_to_string(&log).unwrap_or_default();
    assert!(status.success(), "{name} exited {status}\n{log_text}");
    let ready = position(&seen, "READY=1");
    let watchdog = position(&seen, "WATCHDOG=1");
    let stopping = position(&seen, "STOPPING=1");
    assert!(
        ready < watchdog && watchdog < stopping,
        "{name}: expected READY=1, WATCHDOG=1, STOPPING=1 in order, got {seen:?}"
    );
    let ready_msg = &seen[ready.unwrap_or_default()];
    assert!(
        ready_msg
            .lines()
            .any(|l| l.starts_with("STATUS=serving on ")),
        "{name}: READY=1 without a STATUS= line: {ready_msg:?}"
    );
}

#[test]
fn storaged_notifies_ready_watchdog_stopping() {
    if skip_for_redis_backend() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = UnixListener::bind(dir.path().join("storaged.sock")).expect("bind");
    check_notifications(
        "tandem-storaged",
        &storaged_args(dir.path()),
        dir.path(),
        Some(listener.as_fd()),
    );
}

#[test]
fn proxy_is_ready_while_storaged_is_down() {
    if skip_for_redis_backend() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // No storaged at all: the proxy must still report READY=1 once it listens.
    let args = proxy_args(free_port(), &dir.path().join("absent.sock"));
    check_notifications("tandem-proxy", &args, dir.path(), None);
}

/// A SIGTERM that arrives right after READY=1 stops either binary cleanly: the handlers are
/// installed before READY=1, not when the server first waits for a signal.
#[test]
fn a_sigterm_right_after_ready_stops_cleanly() {
    if skip_for_redis_backend() {
        return;
    }
    for round in 0..5 {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = UnixListener::bind(dir.path().join("storaged.sock")).expect("bind");
        let proxy_args = proxy_args(free_port(), &dir.path().join("absent.sock"));
        let runs = [
            (
                "tandem-storaged",
                storaged_args(dir.path()),
                Some(listener.as_fd()),
            ),
            ("tandem-proxy", proxy_args, None),
        ];
        for (name, args, listener) in runs {
            let notify_dir = tempfile::tempdir().expect("temp dir");
            let (sock, path) = notify_socket(notify_dir.path());
            let launch = Launch {
                listener,
                notify_socket: Some(&path),
                watchdog_usec: None,
            };
            let log = dir.path().join(format!("{name}-{round}.log"));
            let mut reaper = Reaper(vec![spawn(name, &args, &launch, &log)]);
            let mut seen = Vec::new();
            receive_until(&sock, &mut seen, "READY=1");
            signal(&reaper.0[0], Signal::SIGTERM);
            let status = wait_exit(&mut reaper.0[0]);
            let log_text = fs::read_to_string(&log).unwrap_or_default();
            assert!(status.success(), "{name} exited {status}\n{log_text}");
            receive_until(&sock, &mut seen, "STOPPING=1");
        }
    }
}

#[test]
fn proxy_serves_on_an_inherited_tcp_socket() {
    if skip_for_redis_backend() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr").to_string();
    // The address in the flags must be ignored in favour of the inherited socket.
    let unused = free_port();
    let launch = Launch {
        listener: Some(listener.as_fd()),
        ..Launch::default()
    };
    let _reaper = Reaper(vec![spawn(
        "tandem-proxy",
        &proxy_args(unused, &dir.path().join("absent.sock")),
        &launch,
        &dir.path().join("proxy.log"),
    )]);
    // Raw PINGs with timeouts: a socket that nobody accepts on must fail the test, not hang it.
    let reply = wait_for("PONG on the inherited socket", START_TIMEOUT, || {
        ping(&addr).filter(|r| r == "+PONG\r\n")
    });
    assert_eq!(reply, "+PONG\r\n", "{}", logs(dir.path()));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", unused)).is_err(),
        "the proxy bound --listen as well"
    );
}

/// One inline `PING` on a fresh connection, every step bounded by a timeout.
fn ping(addr: &str) -> Option<String> {
    use std::io::{Read, Write};
    let addr: std::net::SocketAddr = addr.parse().ok()?;
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(1)))
        .ok()?;
    stream.write_all(b"PING\r\n").ok()?;
    let mut buf = [0u8; 7];
    stream.read_exact(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// A listening TCP socket on `port` with SO_REUSEPORT, as each `tandem-proxy@N.socket` makes
/// (tokio's `TcpSocket` is the dependency at hand that sets the option before `bind`).
fn reuseport_listener(port: u16) -> std::net::TcpListener {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_reuseport(true)?;
        socket.bind(([127, 0, 0, 1], port).into())?;
        socket.listen(128)?.into_std()
    })
    .expect("SO_REUSEPORT listener")
}

/// The proxy pid a fresh connection to `addr` lands on, after a write through it.
fn serving_pid(addr: &str, n: usize) -> Option<u32> {
    let mut c = try_connect(addr, None, Protocol::Resp2).ok()?;
    let value = n.to_string();
    run_command(&mut c, &["SET", &format!("k{n}"), &value]).ok()?;
    let Ok(Value::BulkString(info)) = run_command(&mut c, &["INFO", "server"]) else {
        return None;
    };
    String::from_utf8_lossy(&info)
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|p| p.trim().parse().ok())
}

#[test]
fn two_proxies_share_one_port_and_one_keeps_serving_alone() {
    if skip_for_redis_backend() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let storage_socket = dir.path().join("self-bound.sock");
    let mut reaper = Reaper(vec![spawn(
        "tandem-storaged",
        &storaged_args(dir.path()),
        &Launch::default(),
        &dir.path().join("storaged.log"),
    )]);
    let port = free_port();
    for name in ["proxy.log", "proxy-b.log"] {
        // Each proxy gets its own SO_REUSEPORT socket; the test keeps no copy, so a proxy's
        // socket closes with it (under systemd: stop the instance's .socket unit too).
        let socket = reuseport_listener(port);
        let launch = Launch {
            listener: Some(socket.as_fd()),
            ..Launch::default()
        };
        reaper.0.push(spawn(
            "tandem-proxy",
            &proxy_args(free_port(), &storage_socket),
            &launch,
            &dir.path().join(name),
        ));
    }
    let (a, b) = (reaper.0[1].id(), reaper.0[2].id());
    let addr = format!("127.0.0.1:{port}");
    let mut n = 0;
    let mut seen = std::collections::HashSet::new();
    wait_for("connections served by both proxies", START_TIMEOUT, || {
        n += 1;
        seen.extend(serving_pid(&addr, n));
        (seen.contains(&a) && seen.contains(&b)).then_some(())
    });

    signal(&reaper.0[1], Signal::SIGTERM);
    assert!(
        wait_exit(&mut reaper.0[1]).success(),
        "{}",
        logs(dir.path())
    );
    for _ in 0..20 {
        n += 1;
        assert_eq!(
            serving_pid(&addr, n),
            Some(b),
            "a connection after proxy {a} stopped was not served by {b}\n{}",
            logs(dir.path())
        );
    }
    // Everything written through either proxy is in the one storaged.
    let mut c = connect(&addr, None, Protocol::Resp2);
    for i in 1..=n {
        assert_eq!(
            run_command(&mut c, &["GET", &format!("k{i}")]),
            Ok(Value::BulkString(i.to_string().into_bytes()))
        );
    }
}
