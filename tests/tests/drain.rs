//! A stopping proxy drains: a rolling restart of two proxies sharing one port (SO_REUSEPORT
//! sockets handed over as systemd would, fd 3 with `LISTEN_FDS=1`) under an INCR load shows
//! the clients no error, no reset and no unknown outcome — they see the end of the stream
//! at a reply boundary and reconnect to the other proxy — and every acknowledged INCR is
//! counted exactly once. A draining proxy also closes blocked, subscribed, idle and
//! pipelining clients cleanly.
//!
//! The hand-over goes through bash as in `activation.rs`: the socket is the shell's stdin,
//! `exec 3<&0 </dev/null` moves it to fd 3 and `LISTEN_PID=$$` names the pid the proxy
//! keeps after `exec`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::kill;
use nix::unistd::Pid;
use tandem_tests::*;

const LAUNCHER: &str = r#"
exec 3<&0 </dev/null
export LISTEN_FDS=1 LISTEN_PID=$$
exec "$0" "$@"
"#;

/// Load threads; each reconnects every [`INCRS_PER_CONNECTION`] so connections keep
/// spreading over both proxies.
const CLIENTS: usize = 8;
const INCRS_PER_CONNECTION: u64 = 200;

/// A listening socket on `port` with SO_REUSEPORT, as each `tandem-proxy@N.socket` makes.
fn reuseport_listener(port: u16) -> std::net::TcpListener {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_reuseport(true)?;
        socket.bind(([127, 0, 0, 1], port).into())?;
        socket.listen(511)?.into_std()
    })
    .expect("SO_REUSEPORT listener")
}

/// A proxy serving the shared `port` through its own SO_REUSEPORT socket; killed on drop.
struct SharedPortProxy {
    child: Child,
}

impl SharedPortProxy {
    fn start(cluster: &TestCluster, port: u16, log: &Path) -> SharedPortProxy {
        let listener = reuseport_listener(port);
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open log");
        let err = out.try_clone().expect("clone log handle");
        let fd = listener
            .as_fd()
            .try_clone_to_owned()
            .expect("clone the listening socket");
        let child = Command::new("bash")
            .arg("-c")
            .arg(LAUNCHER)
            .arg(binary("tandem-proxy"))
            .args([
                // Ignored: the passed socket is served.
                "--listen".to_string(),
                format!("127.0.0.1:{}", free_port()),
                "--storage-socket".to_string(),
                cluster.socket_path().display().to_string(),
            ])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .stdin(Stdio::from(fd))
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn tandem-proxy through bash");
        // The proxy holds the only copy now: when it closes it, the port's other socket
        // takes every new connect.
        drop(listener);
        SharedPortProxy { child }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits for the exit.
    fn stop(&mut self) -> (ExitStatus, Duration) {
        let started = Instant::now();
        let pid = i32::try_from(self.child.id()).expect("pid fits in i32");
        kill(Pid::from_raw(pid), Signal::SIGTERM).expect("SIGTERM");
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < EXIT_TIMEOUT,
                "proxy {pid} did not exit within {EXIT_TIMEOUT:?}"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for SharedPortProxy {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let pid = i32::try_from(self.child.id()).expect("pid fits in i32");
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// What the load clients saw.
#[derive(Default)]
struct Tally {
    acked: AtomicU64,
    unknown: AtomicU64,
    resets: AtomicU64,
    eofs: AtomicU64,
    errors: Mutex<Vec<String>>,
}

/// How reading one reply line ended.
enum Line {
    Text(String),
    Eof,
    Reset,
    Failed(io::Error),
}

fn read_line(reader: &mut BufReader<TcpStream>) -> Line {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) => Line::Eof,
        Ok(_) if !line.ends_with("\r\n") => Line::Eof,
        Ok(_) => Line::Text(line),
        Err(e) if is_reset(&e) => Line::Reset,
        Err(e) => Line::Failed(e),
    }
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

/// One load client: INCRs `counter` over connections to `addr`, reconnecting at each
/// end of stream and every [`INCRS_PER_CONNECTION`]; `on` is the pid of the proxy its
/// current connection landed on (0 between connections).
fn load(addr: &str, stop: &AtomicBool, tally: &Tally, on: &AtomicU32) {
    const INCR: &[u8] = b"*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n";
    while !stop.load(Ordering::Relaxed) {
        on.store(0, Ordering::Relaxed);
        let stream = match TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => {
                tally
                    .errors
                    .lock()
                    .expect("tally")
                    .push(format!("connect: {e}"));
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let mut writer = stream.try_clone().expect("clone stream");
        let mut reader = BufReader::new(stream);
        // Which proxy: the first line of INFO server's process_id.
        if let Err(e) = writer.write_all(b"INFO server\r\n") {
            if is_reset(&e) {
                tally.resets.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        }
        let pid = match read_info_pid(&mut reader) {
            Ok(Some(pid)) => pid,
            Ok(None) => {
                tally.eofs.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Err(line) => {
                match line {
                    Line::Reset => tally.resets.fetch_add(1, Ordering::Relaxed),
                    _ => {
                        tally
                            .errors
                            .lock()
                            .expect("tally")
                            .push("INFO failed".into());
                        0
                    }
                };
                continue;
            }
        };
        on.store(pid, Ordering::Relaxed);
        for _ in 0..INCRS_PER_CONNECTION {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            if let Err(e) = writer.write_all(INCR) {
                if is_reset(&e) {
                    tally.resets.fetch_add(1, Ordering::Relaxed);
                } else {
                    tally
                        .errors
                        .lock()
                        .expect("tally")
                        .push(format!("write: {e}"));
                }
                break;
            }
            match read_line(&mut reader) {
                Line::Text(l) if l.starts_with(':') => {
                    tally.acked.fetch_add(1, Ordering::Relaxed);
                }
                Line::Text(l) if l.contains("unknown") => {
                    tally.unknown.fetch_add(1, Ordering::Relaxed);
                    tally.errors.lock().expect("tally").push(l);
                }
                Line::Text(l) => {
                    tally.errors.lock().expect("tally").push(l);
                }
                // The proxy closed at a reply boundary: this INCR was never run.
                Line::Eof => {
                    tally.eofs.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Line::Reset => {
                    tally.resets.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Line::Failed(e) => {
                    tally
                        .errors
                        .lock()
                        .expect("tally")
                        .push(format!("read: {e}"));
                    break;
                }
            }
        }
    }
    on.store(0, Ordering::Relaxed);
}

/// Reads an `INFO server` bulk reply and returns its `process_id`; `Ok(None)` at end of
/// stream.
fn read_info_pid(reader: &mut BufReader<TcpStream>) -> Result<Option<u32>, Line> {
    let header = match read_line(reader) {
        Line::Text(h) => h,
        Line::Eof => return Ok(None),
        other => return Err(other),
    };
    let len: usize = header
        .strip_prefix('$')
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| Line::Text(header.clone()))?;
    let mut body = vec![0u8; len + 2];
    match reader.read_exact(&mut body) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) if is_reset(&e) => return Err(Line::Reset),
        Err(e) => return Err(Line::Failed(e)),
    }
    let text = String::from_utf8_lossy(&body);
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|p| p.trim().parse().ok()))
}

fn clients_on(on: &[AtomicU32], pid: u32) -> usize {
    on.iter()
        .filter(|p| p.load(Ordering::Relaxed) == pid)
        .count()
}

#[test]
fn a_rolling_restart_of_two_proxies_under_load_shows_clients_no_error() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut proxies = [
        SharedPortProxy::start(&cluster, port, &dir.path().join("proxy-a.log")),
        SharedPortProxy::start(&cluster, port, &dir.path().join("proxy-b.log")),
    ];
    let logs = |dir: &Path| {
        let mut text = cluster.logs();
        for entry in std::fs::read_dir(dir).expect("log dir").flatten() {
            let body = std::fs::read_to_string(entry.path()).unwrap_or_default();
            text.push_str(&format!("--- {} ---\n{body}\n", entry.path().display()));
        }
        text
    };

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let on: Arc<Vec<AtomicU32>> = Arc::new((0..CLIENTS).map(|_| AtomicU32::new(0)).collect());
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (addr, stop, tally, on) = (addr.clone(), stop.clone(), tally.clone(), on.clone());
            thread::spawn(move || load(&addr, &stop, &tally, &on[i]))
        })
        .collect();

    // Restart each proxy in turn, each time while some load clients are connected to it.
    let mut stops = Vec::new();
    for (round, proxy) in proxies.iter_mut().enumerate() {
        let victim = proxy.pid();
        wait_for(
            "load clients connected to the proxy about to stop",
            START_TIMEOUT,
            || (clients_on(&on, victim) >= 2).then_some(()),
        );
        let acked_before = tally.acked.load(Ordering::Relaxed);
        let (status, took) = proxy.stop();
        assert!(
            status.success(),
            "proxy exit: {status}\n{}",
            logs(dir.path())
        );
        stops.push(took);
        // Its clients carry on through the other proxy.
        wait_for("INCRs acknowledged after the stop", START_TIMEOUT, || {
            (tally.acked.load(Ordering::Relaxed) > acked_before + 100).then_some(())
        });
        let log = dir.path().join(format!("proxy-{round}-new.log"));
        *proxy = SharedPortProxy::start(&cluster, port, &log);
        let fresh = proxy.pid();
        wait_for("load clients on the restarted proxy", START_TIMEOUT, || {
            (clients_on(&on, fresh) >= 1).then_some(())
        });
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("load thread");
    }

    let acked = tally.acked.load(Ordering::Relaxed);
    let errors = tally.errors.lock().expect("tally").clone();
    eprintln!(
        "acked {acked}, ends of stream {}, proxy stops took {stops:?}",
        tally.eofs.load(Ordering::Relaxed)
    );
    assert_eq!(
        tally.unknown.load(Ordering::Relaxed),
        0,
        "unknown outcomes: {errors:?}\n{}",
        logs(dir.path())
    );
    assert_eq!(
        tally.resets.load(Ordering::Relaxed),
        0,
        "connection resets\n{}",
        logs(dir.path())
    );
    assert!(
        errors.is_empty(),
        "errors: {errors:?}\n{}",
        logs(dir.path())
    );
    assert!(
        tally.eofs.load(Ordering::Relaxed) >= 2,
        "the stopped proxies' clients were closed"
    );
    let mut check = cluster.client();
    expect(&mut check, &["GET", "counter"], bulk(acked.to_string()));
}

/// Reads raw bytes until end of stream; Err on a reset or a timeout.
fn read_to_end(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    let mut all = Vec::new();
    stream.read_to_end(&mut all)?;
    Ok(all)
}

#[test]
fn a_draining_proxy_closes_idle_blocked_subscribed_and_pipelining_clients_cleanly() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut proxy = cluster.spawn_extra_proxy();
    let addr = proxy.addr();
    let connect = || {
        let s = TcpStream::connect(&addr).expect("connect");
        s.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        s
    };
    let mut idle = connect();
    let mut blocked = connect();
    blocked
        .write_all(b"*3\r\n$5\r\nBLPOP\r\n$5\r\nqueue\r\n$1\r\n0\r\n")
        .expect("BLPOP");
    let mut subscriber = connect();
    subscriber
        .write_all(b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nnews\r\n")
        .expect("SUBSCRIBE");
    let expected: &[u8] = b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n";
    let mut confirm = vec![0u8; expected.len()];
    subscriber
        .read_exact(&mut confirm)
        .expect("subscribe confirmation");
    assert_eq!(&confirm[..], expected);
    let mut check = cluster.client();
    let mut on_proxy = proxy.client();
    wait_for("the BLPOP to block", Duration::from_secs(10), || {
        info(&mut on_proxy, "clients")
            .contains("blocked_clients:1")
            .then_some(())
    });
    drop(on_proxy);

    // A long pipeline, then the stop while it is being served.
    const PIPELINE: usize = 50_000;
    let mut pipelining = connect();
    let mut writer = pipelining.try_clone().expect("clone");
    let sender = thread::spawn(move || {
        let one = b"*2\r\n$4\r\nINCR\r\n$5\r\npiped\r\n";
        let all: Vec<u8> = one
            .iter()
            .copied()
            .cycle()
            .take(one.len() * PIPELINE)
            .collect();
        // The proxy may close before it has read everything: that is the point.
        let _ = writer.write_all(&all);
    });
    wait_for(
        "the pipeline to be under way",
        Duration::from_secs(10),
        || {
            matches!(
                run_command(&mut check, &["GET", "piped"]),
                Ok(redis::Value::BulkString(_))
            )
            .then_some(())
        },
    );
    let started = Instant::now();
    let pid = i32::try_from(proxy.pid()).expect("pid");
    kill(Pid::from_raw(pid), Signal::SIGTERM).expect("SIGTERM");

    // Each client sees its replies, then the end of the stream: no reset, no error.
    let piped = read_to_end(&mut pipelining).expect("pipeline replies, then end of stream");
    let _ = sender.join();
    let text = String::from_utf8_lossy(&piped);
    let replies = text.matches("\r\n").count();
    assert!(
        text.lines().all(|l| l.starts_with(':')),
        "pipeline replies: {}",
        &text[text.len().saturating_sub(300)..]
    );
    expect(&mut check, &["GET", "piped"], bulk(replies.to_string()));
    assert!(
        replies < PIPELINE,
        "the stop came after the whole pipeline; nothing was drained"
    );
    assert_eq!(
        read_to_end(&mut idle).expect("idle client: end of stream"),
        b""
    );
    assert_eq!(
        read_to_end(&mut blocked).expect("blocked client: end of stream"),
        b""
    );
    assert_eq!(
        read_to_end(&mut subscriber).expect("subscriber: end of stream"),
        b""
    );
    let status = proxy.kill(Signal::SIGTERM);
    assert!(status.success(), "proxy exit: {status}\n{}", proxy.log());
    // Nothing waited for the drain timeout (10 s by default).
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "drain took {took:?}");
    // The released BLPOP popped nothing.
    expect(&mut check, &["LPUSH", "queue", "job"], int(1));
    expect(&mut check, &["LLEN", "queue"], int(1));
}
