//! End-to-end harness for tandem.
//!
//! Owns: finding the release binaries, starting a storaged + proxy pair on its own temp dir,
//! Unix socket and free TCP port ([`TestCluster`]), starting a reference `redis-server`
//! ([`RedisServer`]), running one command script against both and comparing the replies
//! ([`Differ`], [`assert_same`]), and a raw RESP client for protocol-level tests
//! ([`RawClient`]).
//!
//! Does not own any server behaviour: it never links the proxy or storaged crates, so the
//! tests exercise exactly the binaries users run. It never sleeps blindly: every wait polls
//! a condition with a deadline.
//!
//! Validation mode: with `TANDEM_TEST_BACKEND=redis`, every [`TestCluster`] is a plain
//! `redis-server`. That proves the tests' own expectations against the reference; tests
//! that need storaged itself (kill, restart) check [`TestCluster::is_tandem`] and skip.

use std::env;
use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::kill;
use nix::unistd::Pid;
use tempfile::TempDir;

pub use nix::sys::signal::Signal;
pub use redis::Value;

/// How long a cluster (or a restarted storaged) may take to answer a storage command.
/// Generous because tests start many RocksDB instances in parallel on few cores.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a signalled process may take to exit before the harness gives up.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Read/write timeout on every client socket, so a hung server fails a test instead of
/// hanging the suite.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// Interval between polls of a condition.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Environment variables of the CLI contract; removed from children so the flags the
/// harness passes are the whole configuration.
const CONTRACT_ENV: &[&str] = &[
    "TANDEM_DATA_DIR",
    "TANDEM_SOCKET",
    "TANDEM_FSYNC",
    "TANDEM_LISTEN",
    "TANDEM_STORAGE_SOCKET",
    "TANDEM_REQUIREPASS",
    "TANDEM_PROXY_CONFIG",
    "TANDEM_STORAGED_CONFIG",
];

/// The reply to one command: the value, or the server's error as its full text
/// (`"ERR wrong number of arguments for 'get' command"`).
pub type Outcome = Result<Value, String>;

/// RESP protocol version a client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Resp2,
    Resp3,
}

// ---------------------------------------------------------------------------------------
// Binaries and small utilities
// ---------------------------------------------------------------------------------------

/// The workspace root (this crate lives in `<root>/tests`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Where the release binaries are: `$TANDEM_BIN_DIR`, else `$CARGO_TARGET_DIR/release`,
/// else `<workspace>/target/release`.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = env::var_os("TANDEM_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let target = match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_relative() {
                workspace_root().join(dir)
            } else {
                dir
            }
        }
        None => workspace_root().join("target"),
    };
    target.join("release")
}

/// Path of a release binary.
///
/// # Panics
/// If the binary is missing, with a message saying how to build it.
pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} not found: build with cargo build --release --bins first \
         (or point TANDEM_BIN_DIR at the directory holding {name})",
        path.display()
    );
    path
}

/// A `kB` field of `/proc/PID/status` (`"VmRSS:"`, `"VmSize:"`), in KiB.
///
/// # Panics
/// If the process is gone or has no such field.
pub fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("pid {pid} is gone: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Resident memory of a process, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS:")
}

/// A TCP port that was free a moment ago. Another process can take it before we bind it
/// again, so starters retry on "address in use".
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("local_addr of a bound listener")
        .port()
}

/// Polls `probe` until it yields a value or `timeout` passes.
///
/// # Panics
/// On timeout, naming `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        thread::sleep(POLL_INTERVAL);
    }
}

fn backend_is_redis() -> bool {
    env::var("TANDEM_TEST_BACKEND").is_ok_and(|b| b == "redis")
}

fn spawn_logged(program: &Path, args: &[String], log: &Path) -> io::Result<Child> {
    let out = OpenOptions::new().create(true).append(true).open(log)?;
    let err = out.try_clone()?;
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // The logs are files read after a failure: no colour codes.
        .env("NO_COLOR", "1");
    for var in CONTRACT_ENV {
        command.env_remove(var);
    }
    command.spawn()
}

fn signal_child(child: &Child, signal: Signal) {
    let pid = i32::try_from(child.id()).expect("pid fits in i32");
    // ESRCH only means it already exited, which callers detect by waiting.
    let _ = kill(Pid::from_raw(pid), signal);
}

/// Waits for `child` to exit; SIGKILLs it and panics after [`EXIT_TIMEOUT`].
fn wait_exit(child: &mut Child, name: &str) -> ExitStatus {
    let deadline = Instant::now() + EXIT_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait on a child") {
            return status;
        }
        if Instant::now() >= deadline {
            signal_child(child, Signal::SIGKILL);
            let _ = child.wait();
            panic!("{name} did not exit within {EXIT_TIMEOUT:?}");
        }
        thread::sleep(POLL_INTERVAL);
    }
}

fn has_exited(child: &mut Option<Child>) -> Option<ExitStatus> {
    child.as_mut().and_then(|c| c.try_wait().ok().flatten())
}

/// Lines of each log printed on a failure; the start of a long log rarely explains the end.
const LOG_TAIL_LINES: usize = 200;

fn read_log(path: &Path) -> String {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => return format!("<no log: {e}>"),
    };
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= LOG_TAIL_LINES {
        return text;
    }
    let skipped = lines.len() - LOG_TAIL_LINES;
    format!(
        "<{skipped} earlier lines omitted>\n{}\n",
        lines[skipped..].join("\n")
    )
}

/// Opens a client connection to `addr` (`host:port`), authenticating when `password` is set.
///
/// # Panics
/// If the connection or the handshake fails.
pub fn connect(addr: &str, password: Option<&str>, protocol: Protocol) -> redis::Connection {
    try_connect(addr, password, protocol)
        .unwrap_or_else(|e| panic!("connect to {addr} ({protocol:?}): {e}"))
}

/// Like [`connect`], returning the error instead of panicking.
pub fn try_connect(
    addr: &str,
    password: Option<&str>,
    protocol: Protocol,
) -> redis::RedisResult<redis::Connection> {
    let auth = password.map(|p| format!(":{p}@")).unwrap_or_default();
    let query = match protocol {
        Protocol::Resp2 => "",
        Protocol::Resp3 => "?protocol=resp3",
    };
    let client = redis::Client::open(format!("redis://{auth}{addr}/{query}"))?;
    let conn = client.get_connection_with_timeout(IO_TIMEOUT)?;
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    conn.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(conn)
}

/// The text of `INFO <section>` (RESP2 bulk or RESP3 verbatim string).
///
/// # Panics
/// If the reply is anything else.
pub fn info(conn: &mut redis::Connection, section: &str) -> String {
    match run_command(conn, &["INFO", section]) {
        Ok(Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
        Ok(Value::VerbatimString { text, .. }) => text,
        other => panic!("INFO {section}: {}", render_outcome(&other)),
    }
}

/// Runs one command; a server error becomes its full text.
pub fn run_command(conn: &mut redis::Connection, args: &[&str]) -> Outcome {
    let (name, rest) = args.split_first().expect("a command needs a name");
    let mut cmd = redis::cmd(name);
    for arg in rest {
        cmd.arg(*arg);
    }
    cmd.query::<Value>(conn).map_err(|e| error_text(&e))
}

/// Runs one command with binary arguments.
pub fn run_command_bytes(conn: &mut redis::Connection, args: &[&[u8]]) -> Outcome {
    let (name, rest) = args.split_first().expect("a command needs a name");
    let mut cmd = redis::cmd(&String::from_utf8_lossy(name));
    for arg in rest {
        cmd.arg(*arg);
    }
    cmd.query::<Value>(conn).map_err(|e| error_text(&e))
}

/// Runs every command of `script` in order on one connection.
pub fn run_script(conn: &mut redis::Connection, script: &[&[&str]]) -> Vec<Outcome> {
    script.iter().map(|args| run_command(conn, args)).collect()
}

/// The full text of a server error as Redis sent it (`CODE detail`); client-side
/// failures (I/O, parse) are prefixed with `client error:` so they never look alike.
pub fn error_text(err: &redis::RedisError) -> String {
    match (err.code(), err.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => format!("client error: {err}"),
    }
}

// Reply constructors, to keep expectations short.
pub fn ok() -> Outcome {
    Ok(Value::Okay)
}
pub fn nil() -> Outcome {
    Ok(Value::Nil)
}
pub fn int(n: i64) -> Outcome {
    Ok(Value::Int(n))
}
pub fn bulk(s: impl AsRef<[u8]>) -> Outcome {
    Ok(Value::BulkString(s.as_ref().to_vec()))
}
pub fn simple(s: &str) -> Outcome {
    Ok(Value::SimpleString(s.to_string()))
}
pub fn err(text: &str) -> Outcome {
    Err(text.to_string())
}
/// An array of bulk strings (`None` is a nil element).
pub fn bulks(items: &[Option<&str>]) -> Outcome {
    Ok(Value::Array(
        items
            .iter()
            .map(|i| i.map_or(Value::Nil, |s| Value::BulkString(s.as_bytes().to_vec())))
            .collect(),
    ))
}

/// Runs `args` and asserts the reply equals `expected`.
#[track_caller]
pub fn expect(conn: &mut redis::Connection, args: &[&str], expected: Outcome) {
    let got = run_command(conn, args);
    assert!(
        got == expected,
        "{}\n  expected: {}\n  got:      {}",
        args.join(" "),
        render_outcome(&expected),
        render_outcome(&got)
    );
}

/// A readable one-line rendering of a reply, used in failure messages.
pub fn render_outcome(outcome: &Outcome) -> String {
    match outcome {
        Ok(v) => render(v),
        Err(e) => format!("(error) {e}"),
    }
}

fn render(value: &Value) -> String {
    fn quoted(bytes: &[u8]) -> String {
        let shown: String = bytes
            .iter()
            .take(200)
            .flat_map(|b| std::ascii::escape_default(*b))
            .map(char::from)
            .collect();
        let more = if bytes.len() > 200 {
            format!("…({} bytes)", bytes.len())
        } else {
            String::new()
        };
        format!("\"{shown}\"{more}")
    }
    fn list(items: &[Value]) -> String {
        items.iter().map(render).collect::<Vec<_>>().join(", ")
    }
    match value {
        Value::Nil => "(nil)".into(),
        Value::Int(n) => format!("(integer) {n}"),
        Value::BulkString(b) => quoted(b),
        Value::Array(items) => format!("[{}]", list(items)),
        Value::SimpleString(s) => format!("+{s}"),
        Value::Okay => "+OK".into(),
        Value::Map(pairs) => {
            let body: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{} => {}", render(k), render(v)))
                .collect();
            format!("%{{{}}}", body.join(", "))
        }
        Value::Set(items) => format!("~{{{}}}", list(items)),
        Value::Double(d) => format!("(double) {d}"),
        Value::Boolean(b) => format!("(bool) {b}"),
        Value::ServerError(e) => format!("(error) {} {}", e.code(), e.details().unwrap_or("")),
        other => format!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// TestCluster
// ---------------------------------------------------------------------------------------

/// Options for [`TestCluster::start_with`].
#[derive(Clone, Debug, Default)]
pub struct ClusterOptions {
    /// Passed as the proxy's `--requirepass`.
    pub requirepass: Option<String>,
    /// Passed as storaged's `--fsync` (`always`, `everysec`, `no`).
    pub fsync: Option<String>,
    /// Extra flags for every proxy of the cluster, e.g. `--request-timeout-ms 300`.
    pub proxy_args: Vec<String>,
    /// Extra flags for storaged.
    pub storaged_args: Vec<String>,
}

/// A tandem-storaged + tandem-proxy pair on a private temp dir, Unix socket and TCP port.
/// Dropping it kills both; if the thread is panicking, both logs are printed first.
pub struct TestCluster {
    dir: TempDir,
    port: u16,
    options: ClusterOptions,
    proxy: Option<Child>,
    storaged: Option<Child>,
    /// Set in validation mode: the whole "cluster" is this redis-server.
    reference: Option<RedisServer>,
}

impl TestCluster {
    /// Starts a pair with default options and waits until a storage command succeeds
    /// through the proxy.
    ///
    /// # Panics
    /// If a binary is missing, a process exits early, or the pair is not ready within
    /// [`START_TIMEOUT`]; the logs are printed.
    pub fn start() -> Self {
        Self::start_with(ClusterOptions::default())
    }

    /// Starts a pair with `options`; see [`TestCluster::start`].
    pub fn start_with(options: ClusterOptions) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tandem-test-")
            .tempdir()
            .expect("create a temp dir");
        if backend_is_redis() {
            let server = RedisServer::start_with(options.requirepass.as_deref());
            return Self {
                port: server.port,
                dir,
                options,
                proxy: None,
                storaged: None,
                reference: Some(server),
            };
        }
        let mut cluster = Self {
            dir,
            port: 0,
            options,
            proxy: None,
            storaged: None,
            reference: None,
        };
        fs::create_dir_all(cluster.data_dir()).expect("create the data dir");
        cluster.spawn_storaged();
        cluster.spawn_proxy();
        cluster.wait_ready();
        cluster
    }

    /// False in validation mode (`TANDEM_TEST_BACKEND=redis`), where there is no storaged
    /// to kill or restart.
    pub fn is_tandem(&self) -> bool {
        self.reference.is_none()
    }

    /// `127.0.0.1:PORT` of the proxy.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The configured `requirepass`, if any.
    pub fn password(&self) -> Option<&str> {
        self.options.requirepass.as_deref()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("storaged.sock")
    }

    /// A RESP2 connection, authenticated if the cluster has a password.
    pub fn client(&self) -> redis::Connection {
        connect(&self.addr(), self.password(), Protocol::Resp2)
    }

    /// A RESP3 connection (`HELLO 3`), authenticated if the cluster has a password.
    pub fn client_resp3(&self) -> redis::Connection {
        connect(&self.addr(), self.password(), Protocol::Resp3)
    }

    /// A connection speaking `protocol`.
    pub fn client_with(&self, protocol: Protocol) -> redis::Connection {
        connect(&self.addr(), self.password(), protocol)
    }

    /// A raw socket client to the proxy (no handshake sent).
    pub fn raw(&self) -> RawClient {
        RawClient::connect(&self.addr())
    }

    pub fn proxy_pid(&self) -> u32 {
        match (&self.proxy, &self.reference) {
            (Some(child), _) => child.id(),
            (None, Some(server)) => server.pid(),
            (None, None) => panic!("the proxy is not running"),
        }
    }

    /// Pid of the running storaged, `None` after [`TestCluster::kill_storaged`].
    pub fn storaged_pid(&self) -> Option<u32> {
        self.storaged.as_ref().map(Child::id)
    }

    /// Sends `signal` to storaged and waits for it to exit.
    ///
    /// # Panics
    /// If storaged is not running or does not exit within [`EXIT_TIMEOUT`].
    pub fn kill_storaged(&mut self, signal: Signal) -> ExitStatus {
        let mut child = self
            .storaged
            .take()
            .expect("tandem-storaged is not running");
        signal_child(&child, signal);
        wait_exit(&mut child, "tandem-storaged")
    }

    /// Starts storaged again on the same data dir and socket and waits until the proxy
    /// serves storage commands through it.
    pub fn start_storaged(&mut self) {
        assert!(
            self.storaged.is_none(),
            "tandem-storaged is already running"
        );
        self.spawn_storaged();
        self.wait_ready();
    }

    /// Sends `signal` to storaged without waiting (SIGSTOP/SIGCONT, or a kill whose exit
    /// the test does not care about).
    ///
    /// # Panics
    /// If storaged is not running.
    pub fn signal_storaged(&self, signal: Signal) {
        let child = self
            .storaged
            .as_ref()
            .expect("tandem-storaged is not running");
        signal_child(child, signal);
    }

    /// Starts another proxy on the same storaged, with the cluster's proxy options, and
    /// waits until it serves storage commands. It is killed when dropped.
    ///
    /// # Panics
    /// If it cannot start or does not become ready within [`START_TIMEOUT`].
    pub fn spawn_extra_proxy(&self) -> ExtraProxy {
        let n = EXTRA_PROXIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = self.dir.path().join(format!("proxy-extra{n}.log"));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let port = free_port();
            let child = spawn_logged(&binary("tandem-proxy"), &self.proxy_args(port), &log)
                .unwrap_or_else(|e| panic!("spawn tandem-proxy: {e}"));
            let mut extra = ExtraProxy {
                child,
                port,
                log: log.clone(),
            };
            loop {
                if extra.child.try_wait().ok().flatten().is_some() {
                    break; // lost the race for the port: try another
                }
                if try_connect(&extra.addr(), self.password(), Protocol::Resp2)
                    .is_ok_and(|mut c| redis::cmd("DBSIZE").query::<i64>(&mut c).is_ok())
                {
                    return extra;
                }
                assert!(
                    Instant::now() < deadline,
                    "extra proxy not ready; log:\n{}",
                    read_log(&log)
                );
                thread::sleep(POLL_INTERVAL);
            }
        }
    }

    /// Sends `signal` to the proxy and waits for it to exit.
    pub fn kill_proxy(&mut self, signal: Signal) -> ExitStatus {
        let mut child = self.proxy.take().expect("tandem-proxy is not running");
        signal_child(&child, signal);
        wait_exit(&mut child, "tandem-proxy")
    }

    /// Starts the proxy again (a new port if the old one was taken meanwhile).
    pub fn start_proxy(&mut self) {
        assert!(self.proxy.is_none(), "tandem-proxy is already running");
        self.spawn_proxy();
        self.wait_ready();
    }

    /// Both processes' logs so far.
    pub fn logs(&self) -> String {
        if let Some(server) = &self.reference {
            return server.log();
        }
        let mut out = String::new();
        for name in ["storaged", "proxy"] {
            let path = self.dir.path().join(format!("{name}.log"));
            let _ = writeln!(
                out,
                "----- tandem-{name} log ({}) -----\n{}",
                path.display(),
                read_log(&path)
            );
        }
        out
    }

    fn spawn_storaged(&mut self) {
        let mut args = vec![
            "--data-dir".to_string(),
            self.data_dir().display().to_string(),
            "--socket".to_string(),
            self.socket_path().display().to_string(),
        ];
        if let Some(fsync) = &self.options.fsync {
            args.extend(["--fsync".to_string(), fsync.clone()]);
        }
        args.extend(self.options.storaged_args.iter().cloned());
        let log = self.dir.path().join("storaged.log");
        let child = spawn_logged(&binary("tandem-storaged"), &args, &log)
            .unwrap_or_else(|e| panic!("spawn tandem-storaged: {e}"));
        self.storaged = Some(child);
    }

    fn proxy_args(&self, port: u16) -> Vec<String> {
        let mut args = vec![
            "--listen".to_string(),
            format!("127.0.0.1:{port}"),
            "--storage-socket".to_string(),
            self.socket_path().display().to_string(),
        ];
        if let Some(pass) = &self.options.requirepass {
            args.extend(["--requirepass".to_string(), pass.clone()]);
        }
        args.extend(self.options.proxy_args.iter().cloned());
        args
    }

    fn spawn_proxy(&mut self) {
        self.port = free_port();
        let args = self.proxy_args(self.port);
        let log = self.dir.path().join("proxy.log");
        let child = spawn_logged(&binary("tandem-proxy"), &args, &log)
            .unwrap_or_else(|e| panic!("spawn tandem-proxy: {e}"));
        self.proxy = Some(child);
    }

    /// Polls until `DBSIZE` succeeds through the proxy. Respawns the proxy on another port
    /// if it lost the race for its port.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut port_retries = 3;
        loop {
            if let Some(status) = has_exited(&mut self.storaged) {
                panic!("tandem-storaged exited during startup: {status}");
            }
            if let Some(status) = has_exited(&mut self.proxy) {
                let log = read_log(&self.dir.path().join("proxy.log"));
                if port_retries > 0 && log.to_ascii_lowercase().contains("in use") {
                    port_retries -= 1;
                    self.spawn_proxy();
                    continue;
                }
                panic!("tandem-proxy exited during startup: {status}");
            }
            if self.storage_answers() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "cluster at {} not serving DBSIZE after {START_TIMEOUT:?}",
                self.addr()
            );
            thread::sleep(POLL_INTERVAL);
        }
    }

    fn storage_answers(&self) -> bool {
        let Ok(mut conn) = try_connect(&self.addr(), self.password(), Protocol::Resp2) else {
            return false;
        };
        redis::cmd("DBSIZE").query::<i64>(&mut conn).is_ok()
    }
}

/// Numbers the logs of extra proxies.
static EXTRA_PROXIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A second (third, …) proxy on a cluster's storaged; see [`TestCluster::spawn_extra_proxy`].
pub struct ExtraProxy {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl ExtraProxy {
    /// `127.0.0.1:PORT` of this proxy.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A RESP2 connection without a password.
    pub fn client(&self) -> redis::Connection {
        connect(&self.addr(), None, Protocol::Resp2)
    }

    /// Sends `signal` and waits for the proxy to exit.
    pub fn kill(&mut self, signal: Signal) -> ExitStatus {
        signal_child(&self.child, signal);
        wait_exit(&mut self.child, "extra tandem-proxy")
    }

    /// This proxy's log so far.
    pub fn log(&self) -> String {
        read_log(&self.log)
    }
}

impl Drop for ExtraProxy {
    fn drop(&mut self) {
        signal_child(&self.child, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        for child in [self.proxy.as_mut(), self.storaged.as_mut()]
            .into_iter()
            .flatten()
        {
            signal_child(child, Signal::SIGKILL);
            let _ = child.wait();
        }
        if thread::panicking() {
            eprintln!(
                "===== cluster at {} failed; logs follow =====\n{}",
                self.addr(),
                self.logs()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// RedisServer
// ---------------------------------------------------------------------------------------

/// A real `redis-server` on a free port with persistence off, for differential checks.
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: TempDir,
    password: Option<String>,
}

/// Fails the calling test, saying what to install, unless `program` runs (`program
/// version_flag` exits 0). For the references and tools a test compares against or reads
/// from (redis-server, systemd-analyze, ss, prlimit): a missing one must fail the test, not
/// turn its checks into a silent pass.
///
/// # Panics
/// If `program` is not installed or does not run; the message names `purpose` and `package`.
#[track_caller]
pub fn require_tool(program: &str, version_flag: &str, purpose: &str, package: &str) {
    let runs = Command::new(program)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        runs,
        "{program} is needed {purpose} but does not run here: install it (Debian/Ubuntu: \
         apt-get install {package}; scripts/test checks for it)"
    );
}

impl RedisServer {
    /// Starts a redis-server.
    ///
    /// # Panics
    /// If redis-server is not installed (see [`require_tool`]) or does not start.
    #[track_caller]
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Like [`RedisServer::start`], with `requirepass` set.
    ///
    /// # Panics
    /// As [`RedisServer::start`].
    #[track_caller]
    pub fn start_with(requirepass: Option<&str>) -> Self {
        require_tool(
            "redis-server",
            "--version",
            "as the reference the differential checks compare with",
            "redis-server",
        );
        let dir = tempfile::Builder::new()
            .prefix("tandem-redis-")
            .tempdir()
            .expect("temp dir");
        let log = dir.path().join("redis.log");
        for _ in 0..3 {
            let port = free_port();
            let mut args: Vec<String> = [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            args.push(dir.path().display().to_string());
            if let Some(pass) = requirepass {
                args.extend(["--requirepass".to_string(), pass.to_string()]);
            }
            let mut child = spawn_logged(Path::new("redis-server"), &args, &log)
                .unwrap_or_else(|e| panic!("spawn redis-server: {e}"));
            let addr = format!("127.0.0.1:{port}");
            let ready = wait_for("redis-server to answer PING", START_TIMEOUT, || {
                if child.try_wait().ok().flatten().is_some() {
                    return Some(false);
                }
                let mut conn = try_connect(&addr, requirepass, Protocol::Resp2).ok()?;
                redis::cmd("PING")
                    .query::<String>(&mut conn)
                    .ok()
                    .map(|_| true)
            });
            if ready {
                return Self {
                    child,
                    port,
                    dir,
                    password: requirepass.map(String::from),
                };
            }
            let text = read_log(&log);
            // Losing the race for the port is the only failure worth another try.
            assert!(
                text.contains("in use"),
                "redis-server exited at startup:\n{text}"
            );
        }
        panic!(
            "redis-server could not find a free port:\n{}",
            read_log(&log)
        )
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn client(&self) -> redis::Connection {
        connect(&self.addr(), self.password.as_deref(), Protocol::Resp2)
    }

    pub fn client_resp3(&self) -> redis::Connection {
        connect(&self.addr(), self.password.as_deref(), Protocol::Resp3)
    }

    pub fn client_with(&self, protocol: Protocol) -> redis::Connection {
        connect(&self.addr(), self.password.as_deref(), protocol)
    }

    pub fn log(&self) -> String {
        read_log(&self.dir.path().join("redis.log"))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        signal_child(&self.child, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// Differential runner
// ---------------------------------------------------------------------------------------

/// One tandem cluster and one redis-server, to run the same scripts on both.
pub struct Differ {
    tandem: TestCluster,
    reference: RedisServer,
}

impl Differ {
    /// Starts both sides.
    ///
    /// # Panics
    /// If redis-server is not installed or either side does not start.
    #[track_caller]
    pub fn start() -> Self {
        let reference = RedisServer::start();
        Self {
            tandem: TestCluster::start(),
            reference,
        }
    }

    pub fn tandem(&self) -> &TestCluster {
        &self.tandem
    }

    pub fn reference(&self) -> &RedisServer {
        &self.reference
    }

    /// Runs `script` on both sides, in RESP2 and then in RESP3, each time from empty
    /// databases on a fresh connection, and compares the replies one by one.
    ///
    /// # Panics
    /// At the first differing reply, showing the script up to it and both replies.
    #[track_caller]
    pub fn check(&self, script: &[&[&str]]) {
        for protocol in [Protocol::Resp2, Protocol::Resp3] {
            let mut ours = self.tandem.client_with(protocol);
            let mut theirs = self.reference.client_with(protocol);
            for conn in [&mut ours, &mut theirs] {
                redis::cmd("FLUSHALL")
                    .query::<()>(conn)
                    .expect("FLUSHALL before a script");
            }
            for (step, args) in script.iter().enumerate() {
                let got = run_command(&mut ours, args);
                let want = run_command(&mut theirs, args);
                if !replies_match(args, &got, &want) {
                    let mut msg = format!(
                        "tandem differs from redis-server ({protocol:?}) at step {step}:\n"
                    );
                    for (i, earlier) in script[..step].iter().enumerate() {
                        let _ = writeln!(msg, "  [{i}] {}", earlier.join(" "));
                    }
                    let _ = writeln!(msg, "  [{step}] {}   <-- here", args.join(" "));
                    let _ = writeln!(msg, "    tandem:       {}", render_outcome(&got));
                    let _ = writeln!(msg, "    redis-server: {}", render_outcome(&want));
                    panic!("{msg}");
                }
            }
        }
    }
}

/// Starts a [`Differ`] and checks one script (fails if redis-server is missing). Prefer
/// one `Differ` per test function when checking several scripts.
#[track_caller]
pub fn assert_same(script: &[&[&str]]) {
    Differ::start().check(script);
}

/// Whether two replies to `args` are the same, allowing for replies that legitimately
/// differ: unordered collections (KEYS) and remaining times (TTL family, ±2 s).
pub fn replies_match(args: &[&str], ours: &Outcome, theirs: &Outcome) -> bool {
    let (Ok(a), Ok(b)) = (ours, theirs) else {
        return ours == theirs;
    };
    match args[0].to_ascii_uppercase().as_str() {
        "KEYS" => sorted(a) == sorted(b),
        // Hashes reply in storage order: insertion order in Redis, field order in tandem.
        "HKEYS" | "HVALS" | "HRANDFIELD" => sorted(a) == sorted(b),
        "HGETALL" => {
            std::mem::discriminant(a) == std::mem::discriminant(b)
                && sorted_pairs(a) == sorted_pairs(b)
        }
        "HSCAN" => match (a, b) {
            (Value::Array(x), Value::Array(y)) if x.len() == 2 && y.len() == 2 => {
                x[0] == y[0] && sorted_pairs(&x[1]) == sorted_pairs(&y[1])
            }
            _ => a == b,
        },
        // Sets reply in storage order (hash order in Redis, byte order in tandem); SPOP and
        // SRANDMEMBER scripts only use counts that take the whole set.
        "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF" | "SPOP" | "SRANDMEMBER" => unordered(a, b),
        "SSCAN" => match (a, b) {
            (Value::Array(x), Value::Array(y)) if x.len() == 2 && y.len() == 2 => {
                x[0] == y[0] && unordered(&x[1], &y[1])
            }
            _ => a == b,
        },
        "TTL" | "EXPIRETIME" => close(a, b, 2),
        "PTTL" | "PEXPIRETIME" => close(a, b, 2000),
        _ => a == b,
    }
}

/// The same collection type (a RESP3 set stays apart from an array) with the same items in
/// any order.
fn unordered(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b) && sorted(a) == sorted(b)
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Array(items) | Value::Set(items) => {
            let mut items = items.clone();
            items.sort_by_key(|v| format!("{v:?}"));
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// The pairs of a map (RESP3) or of a flat field/value array (RESP2), in a canonical order;
/// `None` for any other shape.
fn sorted_pairs(value: &Value) -> Option<Vec<(Value, Value)>> {
    let mut pairs: Vec<(Value, Value)> = match value {
        Value::Map(pairs) => pairs.clone(),
        Value::Array(items) if items.len() % 2 == 0 => items
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect(),
        _ => return None,
    };
    pairs.sort_by_key(|p| format!("{p:?}"));
    Some(pairs)
}

fn close(a: &Value, b: &Value, tolerance: i64) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) if *x >= 0 && *y >= 0 => (x - y).abs() <= tolerance,
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------------------
// Raw RESP client
// ---------------------------------------------------------------------------------------

/// A client that writes arbitrary bytes and reads whole RESP2/RESP3 replies as raw bytes,
/// for tests of the protocol layer itself (inline commands, malformed input, pipelining).
pub struct RawClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// Encodes a command as a RESP multibulk.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl RawClient {
    /// # Panics
    /// If the connection fails.
    pub fn connect(addr: &str) -> Self {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .expect("set_read_timeout");
        stream
            .set_write_timeout(Some(IO_TIMEOUT))
            .expect("set_write_timeout");
        let writer = stream.try_clone().expect("clone a TcpStream");
        Self {
            reader: BufReader::new(stream),
            writer,
        }
    }

    /// Writes `bytes` as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to server");
    }

    /// Sends one command as a multibulk and returns its raw reply as text.
    pub fn command(&mut self, args: &[&str]) -> String {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send(&encode_command(&args));
        self.reply()
    }

    /// Reads one complete reply and returns it as (lossy) text, e.g. `"+PONG\r\n"`.
    ///
    /// # Panics
    /// If the connection closes or times out first.
    pub fn reply(&mut self) -> String {
        let raw = self
            .read_reply()
            .unwrap_or_else(|e| panic!("read a reply: {e}"));
        String::from_utf8_lossy(&raw).into_owned()
    }

    /// Reads one complete reply frame (nested aggregates included) as raw bytes.
    pub fn read_reply(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.read_frame(&mut out)?;
        Ok(out)
    }

    /// True if the server closed the connection (EOF or reset) before sending more bytes.
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        match self.reader.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
        }
    }

    fn read_frame(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let start = out.len();
        let n = self.reader.read_until(b'\n', out)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let line = &out[start..];
        let kind = line[0];
        let number = || -> io::Result<i64> {
            let text = String::from_utf8_lossy(&line[1..]).trim_end().to_string();
            text.parse().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad length line {text:?}"),
                )
            })
        };
        match kind {
            b'$' | b'=' | b'!' => {
                let len = number()?;
                if len >= 0 {
                    let len = usize::try_from(len).map_err(|_| io::ErrorKind::InvalidData)? + 2;
                    let mut body = vec![0u8; len];
                    self.reader.read_exact(&mut body)?;
                    out.extend_from_slice(&body);
                }
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let count = number()?;
                let per_item = if matches!(kind, b'%' | b'|') { 2 } else { 1 };
                for _ in 0..count.max(0) * per_item {
                    self.read_frame(out)?;
                }
                if kind == b'|' {
                    // An attribute precedes the reply it annotates.
                    self.read_frame(out)?;
                }
            }
            _ => {} // single-line types: + - : _ # , (
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference that is not installed fails the test, naming what to install.
    #[test]
    #[should_panic(
        expected = "tandem-no-such-tool is needed as the reference of this check \
                               but does not run here: install it (Debian/Ubuntu: apt-get \
                               install tandem-no-such-package"
    )]
    fn a_missing_reference_fails_instead_of_skipping() {
        require_tool(
            "tandem-no-such-tool",
            "--version",
            "as the reference of this check",
            "tandem-no-such-package",
        );
    }

    #[test]
    fn a_present_tool_passes() {
        require_tool("true", "--version", "to run this check", "coreutils");
    }

    #[test]
    fn encodes_a_multibulk() {
        assert_eq!(
            encode_command(&[b"SET", b"k", b""]),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
        );
    }

    #[test]
    fn replies_match_allows_only_known_differences() {
        let keys_a = Ok(Value::Array(vec![
            Value::BulkString(b"a".to_vec()),
            Value::BulkString(b"b".to_vec()),
        ]));
        let keys_b = Ok(Value::Array(vec![
            Value::BulkString(b"b".to_vec()),
            Value::BulkString(b"a".to_vec()),
        ]));
        assert!(replies_match(&["KEYS", "*"], &keys_a, &keys_b));
        assert!(!replies_match(&["MGET", "a", "b"], &keys_a, &keys_b));
        assert!(replies_match(&["TTL", "k"], &int(100), &int(99)));
        assert!(!replies_match(&["TTL", "k"], &int(100), &int(90)));
        assert!(!replies_match(&["TTL", "k"], &int(-1), &int(0)));
        assert!(replies_match(&["PTTL", "k"], &int(100_000), &int(99_000)));
        assert!(!replies_match(&["GET", "k"], &int(1), &int(2)));
        assert!(!replies_match(&["GET", "k"], &err("ERR a"), &err("ERR b")));
        assert!(!replies_match(&["GET", "k"], &ok(), &simple("OK ")));
    }

    #[test]
    fn raw_client_reads_whole_nested_frames() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let replies: &[&[u8]] = &[
            b"+OK\r\n",
            b"$5\r\na\r\nbc\r\n",
            b"$-1\r\n",
            b"*2\r\n:1\r\n*1\r\n$1\r\nx\r\n",
            b"%1\r\n$1\r\nk\r\n_\r\n",
            b"|1\r\n+a\r\n:1\r\n,1.5\r\n",
            b"=7\r\ntxt:abc\r\n",
        ];
        let server = thread::spawn(move || {
            let (mut socket, _) = listener.accept().expect("accept");
            for reply in replies {
                socket.write_all(reply).expect("write");
            }
        });
        let mut client = RawClient::connect(&addr);
        for reply in replies {
            assert_eq!(client.reply().as_bytes(), *reply);
        }
        server.join().expect("server thread");
        assert!(client.is_closed());
    }
}
