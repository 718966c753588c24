//! Running tandem as an operator does, with the real binaries: config files and their
//! precedence under flags and variables, SIGHUP reloads, the peer allow list, checkpoints
//! of a running storaged and restoring one (refused while a storaged holds the data),
//! journald/JSON log formats (fatal errors at error priority) and picking a socket by
//! `LISTEN_FDNAMES`.

use std::fs;
use std::net::TcpListener;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tandem_tests::*;

fn skip_for_redis_backend() -> bool {
    let redis = std::env::var("TANDEM_TEST_BACKEND").is_ok_and(|b| b == "redis");
    if redis {
        eprintln!("TANDEM_TEST_BACKEND=redis: nothing to configure");
    }
    redis
}

/// A child process killed on drop, with its combined output in `log`.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(name: &str, args: &[&str], env: &[(&str, &str)], log: &Path) -> Proc {
        Proc::spawn_with(Command::new(binary(name)), args, env, log)
    }

    fn spawn_with(mut command: Command, args: &[&str], env: &[(&str, &str)], log: &Path) -> Proc {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open log");
        let err = out.try_clone().expect("clone log handle");
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stderr(err);
        if command.get_program() != "bash" {
            command.stdout(out);
        }
        let child = command.spawn().expect("spawn");
        Proc {
            child,
            log: log.to_owned(),
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, signal: Signal) {
        let pid = i32::try_from(self.child.id()).expect("pid");
        kill(Pid::from_raw(pid), signal).expect("signal");
    }

    fn wait_log(&self, what: &str) {
        wait_for(
            &format!("{what:?} in {}", self.log.display()),
            START_TIMEOUT,
            || self.log().contains(what).then_some(()),
        );
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("----- {} -----\n{}", self.log.display(), self.log());
        }
    }
}

fn config_get(conn: &mut redis::Connection, name: &str) -> String {
    let pair: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(name)
        .query(conn)
        .expect("CONFIG GET");
    pair.get(1).cloned().unwrap_or_default()
}

fn storage_answers(addr: &str, password: Option<&str>) -> bool {
    try_connect(addr, password, Protocol::Resp2)
        .is_ok_and(|mut c| redis::cmd("DBSIZE").query::<i64>(&mut c).is_ok())
}

/// Starts storaged on `dir` and a proxy in front of it configured by `proxy_args`/`env`.
fn pair(
    dir: &Path,
    storaged_args: &[&str],
    proxy_args: &[&str],
    env: &[(&str, &str)],
) -> (Proc, Proc, String) {
    let data = dir.join("data");
    let socket = dir.join("storaged.sock");
    let mut args = vec![
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--socket",
        socket.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(storaged_args);
    let storaged = Proc::spawn("tandem-storaged", &args, &[], &dir.join("storaged.log"));
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec![
        "--listen",
        &listen,
        "--storage-socket",
        socket.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(proxy_args);
    let proxy = Proc::spawn("tandem-proxy", &args, env, &dir.join("proxy.log"));
    wait_for("proxy listening", START_TIMEOUT, || {
        std::net::TcpStream::connect(&listen).ok().map(|_| ())
    });
    (storaged, proxy, listen)
}

#[test]
fn config_file_is_read_and_flags_and_variables_win() {
    if skip_for_redis_backend() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("proxy.toml");
    fs::write(
        &file,
        "maxclients = 111\nproto-max-bulk-len = 2000\nrequest-timeout-ms = 4321\n",
    )
    .expect("write config");
    let (_storaged, _proxy, addr) = pair(
        dir.path(),
        &[],
        &[
            "--config",
            file.to_str().expect("utf-8"),
            "--proto-max-bulk-len",
            "1000",
        ],
        // The variable beats the file's maxclients; the flag beats the file's bulk length.
        &[("TANDEM_MAXCLIENTS", "222")],
    );
    wait_for("storage through the proxy", START_TIMEOUT, || {
        storage_answers(&addr, None).then_some(())
    });
    let mut conn = connect(&addr, None, Protocol::Resp2);
    assert_eq!(config_get(&mut conn, "maxclients"), "222");
    assert_eq!(config_get(&mut conn, "proto-max-bulk-len"), "1000");
    // A key only the file sets, and one nobody sets (its default).
    assert_eq!(config_get(&mut conn, "request-timeout-ms"), "4321");
    assert_eq!(config_get(&mut conn, "queue-capacity"), "4096");
}

#[test]
fn unknown_keys_in_a_config_file_stop_startup_with_a_clear_message() {
    if skip_for_redis_backend() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for (binary_name, key) in [
        ("tandem-proxy", "max-clients"),
        ("tandem-storaged", "datadir"),
    ] {
        let file = dir.path().join(format!("{binary_name}.toml"));
        fs::write(&file, format!("{key} = 1\n")).expect("write config");
        let out = Command::new(binary(binary_name))
            .arg("--config")
            .arg(&file)
            .env_clear()
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{binary_name} started with an unknown key"
        );
        assert!(
            stderr.contains(&format!("unknown field `{key}`"))
                && stderr.contains(file.to_str().expect("utf-8")),
            "{binary_name}: {stderr}"
        );
    }
}

#[test]
fn sighup_reloads_requirepass_limits_and_log_level() {
    if skip_for_redis_backend() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("proxy.toml");
    fs::write(&file, "maxclients = 50\n").expect("write config");
    let (_storaged, proxy, addr) = pair(
        dir.path(),
        &[],
        &["--config", file.to_str().expect("utf-8")],
        &[],
    );
    wait_for("storage through the proxy", START_TIMEOUT, || {
        storage_answers(&addr, None).then_some(())
    });
    let mut before = connect(&addr, None, Protocol::Resp2);
    expect(&mut before, &["SET", "k", "v"], ok());

    fs::write(
        &file,
        "maxclients = 60\nrequirepass = \"sekrit\"\nlog = \"debug\"\nlinks = 9\n",
    )
    .expect("rewrite config");
    proxy.signal(Signal::SIGHUP);
    proxy.wait_log("reload done");
    let log = proxy.log();
    assert!(log.contains("reload: requirepass changed"), "{log}");
    assert!(log.contains("reload: maxclients changed"), "{log}");
    assert!(log.contains("reload: log filter changed"), "{log}");
    assert!(
        log.contains("needs a restart") && log.contains("links"),
        "{log}"
    );
    assert!(
        !log.contains("sekrit"),
        "the password must not be logged:\n{log}"
    );

    // New connections need the new password; the one already open stays authenticated.
    let mut fresh = connect(&addr, None, Protocol::Resp2);
    let refused = run_command(&mut fresh, &["GET", "k"]);
    assert!(
        refused.as_ref().is_err_and(|e| e.starts_with("NOAUTH")),
        "{refused:?}"
    );
    let mut authed = connect(&addr, Some("sekrit"), Protocol::Resp2);
    expect(&mut authed, &["GET", "k"], bulk("v"));
    assert_eq!(config_get(&mut authed, "maxclients"), "60");
    expect(&mut before, &["GET", "k"], bulk("v"));

    // A broken file changes nothing.
    fs::write(&file, "maxclients = \"many\"\n").expect("rewrite config");
    proxy.signal(Signal::SIGHUP);
    proxy.wait_log("reload failed; keeping every setting");
    assert_eq!(config_get(&mut authed, "maxclients"), "60");
}

#[test]
fn a_peer_outside_the_allow_list_is_refused_until_a_reload_allows_it() {
    if skip_for_redis_backend() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let own = nix::unistd::getuid().as_raw();
    let other = own.wrapping_add(4242);
    let file = dir.path().join("storaged.toml");
    // The test runs both processes as one uid, so storaged's own-uid exception is turned off
    // to make this peer a stranger.
    fs::write(
        &file,
        format!("allow-uid = [{other}]\nallow-self = false\n"),
    )
    .expect("write config");
    let (storaged, proxy, addr) = pair(
        dir.path(),
        &["--config", file.to_str().expect("utf-8")],
        &[],
        &[],
    );
    storaged.wait_log("refusing link");
    proxy.wait_log("storaged refused");
    let mut conn = connect(&addr, None, Protocol::Resp2);
    let denied = run_command(&mut conn, &["SET", "k", "v"]);
    assert!(
        denied.is_err(),
        "a refused proxy served a storage command: {denied:?}"
    );
    let log = storaged.log();
    assert!(
        log.contains(&format!("peer uid {own}")) && log.contains(&format!("[{other}]")),
        "{log}"
    );
    assert!(
        proxy.log().contains("not in allow-uid"),
        "the proxy should log storaged's reason"
    );

    // Reload with the uid listed: the proxy's next reconnect is let in.
    fs::write(
        &file,
        format!("allow-uid = [{other}, {own}]\nallow-self = false\n"),
    )
    .expect("rewrite");
    storaged.signal(Signal::SIGHUP);
    storaged.wait_log("reload: peer allow lists changed");
    wait_for("storage after the reload", START_TIMEOUT, || {
        storage_answers(&addr, None).then_some(())
    });
}

#[test]
fn checkpoint_of_a_running_storaged_opens_as_a_database() {
    if skip_for_redis_backend() {
        return;
    }
    let source = TestCluster::start();
    let mut conn = source.client();
    for i in 0..200 {
        expect(
            &mut conn,
            &["SET", &format!("k{i}"), &format!("v{i}")],
            ok(),
        );
    }
    expect(&mut conn, &["HSET", "h", "f", "x"], int(1));

    let target = tempfile::tempdir().expect("temp dir");
    let snapshot = target.path().join("snap");
    let out = Command::new(binary("tandem-storaged"))
        .arg("--socket")
        .arg(source.socket_path())
        .arg("checkpoint")
        .arg(&snapshot)
        .env_clear()
        .output()
        .expect("run checkpoint");
    assert!(
        out.status.success(),
        "checkpoint failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("checkpoint written to"));
    // The source kept serving and a second checkpoint into the same place is refused.
    expect(&mut conn, &["SET", "after", "1"], ok());
    let again = Command::new(binary("tandem-storaged"))
        .arg("--socket")
        .arg(source.socket_path())
        .arg("checkpoint")
        .arg(&snapshot)
        .env_clear()
        .output()
        .expect("run checkpoint");
    assert!(
        !again.status.success(),
        "a checkpoint overwrote an existing directory"
    );

    // A second storaged opens the checkpoint and serves the data written before it.
    let (_storaged, _proxy, addr) = {
        let data = target.path().join("data");
        fs::rename(&snapshot, &data).expect("move the checkpoint into place");
        pair(target.path(), &[], &[], &[])
    };
    wait_for("storage on the checkpoint", START_TIMEOUT, || {
        storage_answers(&addr, None).then_some(())
    });
    let mut restored = connect(&addr, None, Protocol::Resp2);
    expect(&mut restored, &["DBSIZE"], int(201));
    expect(&mut restored, &["GET", "k199"], bulk("v199"));
    expect(&mut restored, &["HGET", "h", "f"], bulk("x"));
    expect(&mut restored, &["EXISTS", "after"], int(0));
}

/// Creates `path` and returns the `JOURNAL_STREAM` systemd would set for a service whose
/// stderr it is: `DEV:INO`.
fn journal_stream_of(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let file = fs::File::create(path).expect("create log");
    let meta = file.metadata().expect("stat log");
    format!("{}:{}", meta.dev(), meta.ino())
}

/// Runs `binary_name` with `args` and its stderr in `log`, as systemd runs a service whose
/// stderr is the journal (`JOURNAL_STREAM` naming that stderr); returns the exit code and
/// what it wrote.
fn run_as_journal_service(binary_name: &str, args: &[&str], log: &Path) -> (Option<i32>, String) {
    let stream = journal_stream_of(log);
    let stderr = fs::OpenOptions::new()
        .append(true)
        .open(log)
        .expect("open log");
    let status = Command::new(binary(binary_name))
        .args(args)
        .env_clear()
        .env("JOURNAL_STREAM", &stream)
        .env("INVOCATION_ID", "0123")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .status()
        .expect("run");
    (status.code(), fs::read_to_string(log).expect("read log"))
}

#[test]
fn fatal_start_up_errors_reach_the_journal_at_error_priority() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.toml");
    let missing = missing.to_str().expect("utf-8");
    for binary_name in ["tandem-storaged", "tandem-proxy"] {
        // journald stores a line without a `<N>` prefix at info priority, which
        // `journalctl -p err` does not show: the reason a service failed must be `<3>`.
        let log = dir.path().join(format!("{binary_name}.journal"));
        let (code, text) = run_as_journal_service(binary_name, &["--config", missing], &log);
        assert_eq!(code, Some(1), "{binary_name}: {text}");
        assert!(
            text.starts_with(&format!("<3>Error: cannot read config file {missing}")),
            "{binary_name}: {text:?}"
        );
        assert!(
            text.lines().all(|l| l.starts_with("<3>")),
            "{binary_name}: {text:?}"
        );

        // A usage error (clap's) as well, every line of it.
        let log = dir.path().join(format!("{binary_name}.usage"));
        let (code, text) = run_as_journal_service(binary_name, &["--no-such-flag"], &log);
        assert_eq!(code, Some(2), "{binary_name}: {text}");
        assert!(
            text.contains("--no-such-flag") && text.lines().all(|l| l.starts_with("<3>")),
            "{binary_name}: {text:?}"
        );

        // JOURNAL_STREAM inherited by a process whose stderr is something else (here a pipe):
        // not the journal, so no prefix.
        let out = Command::new(binary(binary_name))
            .args(["--config", missing])
            .env_clear()
            .env(
                "JOURNAL_STREAM",
                journal_stream_of(&dir.path().join("other")),
            )
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with("Error: cannot read config file"),
            "{binary_name}: {stderr:?}"
        );
    }
}

#[test]
fn restore_refuses_a_running_storaged_and_swaps_in_a_checkpoint_once_it_stopped() {
    if skip_for_redis_backend() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut storaged, _proxy, addr) = pair(dir.path(), &[], &[], &[]);
    wait_for("storage through the proxy", START_TIMEOUT, || {
        storage_answers(&addr, None).then_some(())
    });
    let mut conn = connect(&addr, None, Protocol::Resp2);
    expect(&mut conn, &["SET", "k", "in-backup"], ok());
    let socket = dir.path().join("storaged.sock");
    let backup = dir.path().join("backup");
    let data = dir.path().join("data");
    let made = Command::new(binary("tandem-storaged"))
        .arg("--socket")
        .arg(&socket)
        .arg("checkpoint")
        .arg(&backup)
        .env_clear()
        .output()
        .expect("run checkpoint");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    expect(&mut conn, &["SET", "k", "after-backup"], ok());
    expect(&mut conn, &["SET", "only-after", "1"], ok());
    let restore = || {
        Command::new(binary("tandem-storaged"))
            .arg("restore")
            .arg("--from")
            .arg(&backup)
            .arg("--data-dir")
            .arg(&data)
            .env_clear()
            .output()
            .expect("run restore")
    };

    // Without --data-dir: refused, rather than restoring into a ./data default.
    let unnamed = Command::new(binary("tandem-storaged"))
        .args(["restore", "--from"])
        .arg(&backup)
        .current_dir(dir.path())
        .env_clear()
        .output()
        .expect("run restore");
    assert!(!unnamed.status.success());
    assert!(
        String::from_utf8_lossy(&unnamed.stderr).contains("restore needs --data-dir"),
        "{}",
        String::from_utf8_lossy(&unnamed.stderr)
    );

    // While storaged runs: refused, naming it, and the live data is untouched.
    let refused = restore();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "restore ran under a running storaged"
    );
    assert!(
        stderr.contains(&format!("a storaged (pid {}) holds", storaged.child.id()))
            && stderr.contains("tandem-storaged.socket"),
        "{stderr}"
    );
    expect(&mut conn, &["GET", "k"], bulk("after-backup"));

    // Stopped: the checkpoint takes the data directory's place; the old data is kept aside
    // and the backup stays usable.
    storaged.signal(Signal::SIGTERM);
    let status = wait_for("storaged to stop", Duration::from_secs(30), || {
        storaged.child.try_wait().ok().flatten()
    });
    assert!(status.success(), "storaged stopped with {status}");
    let done = restore();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success() && stdout.contains("previous data is in"),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        backup.join("CURRENT").is_file(),
        "the restore consumed the backup"
    );

    let _restarted = Proc::spawn(
        "tandem-storaged",
        &[
            "--data-dir",
            data.to_str().expect("utf-8"),
            "--socket",
            socket.to_str().expect("utf-8"),
        ],
        &[],
        &dir.path().join("storaged-restored.log"),
    );
    let value = wait_for("storage on the restored data", START_TIMEOUT, || {
        let mut c = try_connect(&addr, None, Protocol::Resp2).ok()?;
        redis::cmd("GET")
            .arg("k")
            .query::<Option<String>>(&mut c)
            .ok()
    });
    assert_eq!(value.as_deref(), Some("in-backup"));
    let mut conn = connect(&addr, None, Protocol::Resp2);
    expect(&mut conn, &["EXISTS", "only-after"], int(0));
}

#[test]
fn logs_under_systemd_carry_priorities_and_no_timestamps_and_json_is_json() {
    if skip_for_redis_backend() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("s.sock");
    let data = dir.path().join("data");
    let common = [
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--socket",
        socket.to_str().expect("utf-8"),
    ];
    let journal_log = dir.path().join("journal.log");
    let stream = journal_stream_of(&journal_log);
    let journal = Proc::spawn(
        "tandem-storaged",
        &common,
        &[("JOURNAL_STREAM", &stream), ("INVOCATION_ID", "0123")],
        &journal_log,
    );
    journal.wait_log("tandem-storaged serving");
    let log = journal.log();
    let first = log
        .lines()
        .find(|l| l.contains("database open"))
        .unwrap_or_default()
        .to_owned();
    assert!(first.starts_with("<6>"), "{log}");
    assert!(log.lines().all(|l| l.starts_with('<')), "{log}");
    // A timestamp would come first, as in `<6>2026-11-26T10:27:04Z ...`.
    assert!(
        !first[3..].starts_with(|c: char| c.is_ascii_digit()),
        "timestamp in {first:?}"
    );
    drop(journal);

    let port = free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    let json = Proc::spawn(
        "tandem-proxy",
        &[
            "--listen",
            &listen,
            "--storage-socket",
            socket.to_str().expect("utf-8"),
            "--log-format",
            "json",
        ],
        &[],
        &dir.path().join("json.log"),
    );
    json.wait_log("tandem-proxy listening");
    let log = json.log();
    let line = log
        .lines()
        .find(|l| l.contains("tandem-proxy listening"))
        .unwrap_or_default();
    assert!(
        line.starts_with('{') && line.ends_with('}') && line.contains("\"level\":\"INFO\""),
        "{line:?}"
    );
    assert!(line.contains("\"timestamp\""), "{line:?}");
}

/// Moves the socket on stdin to fd 3 and the one on stdout to fd 4, names them, and runs the
/// binary with LISTEN_PID set to the pid it keeps after `exec`.
const TWO_FD_LAUNCHER: &str = r#"
exec 3<&0 4>&1 </dev/null 1>&2
export LISTEN_FDS=2 LISTEN_PID=$$ LISTEN_FDNAMES=$TANDEM_TEST_FDNAMES
unset TANDEM_TEST_FDNAMES
exec "$0" "$@"
"#;

#[test]
fn the_socket_named_resp_is_served_when_systemd_passes_several() {
    if skip_for_redis_backend() {
        return;
    }
    let cluster = TestCluster::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let other = TcpListener::bind("127.0.0.1:0").expect("bind");
    let resp = TcpListener::bind("127.0.0.1:0").expect("bind");
    let resp_addr = resp.local_addr().expect("addr").to_string();
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(TWO_FD_LAUNCHER)
        .arg(binary("tandem-proxy"))
        .stdin(Stdio::from(OwnedFd::from(other)))
        .stdout(Stdio::from(OwnedFd::from(resp)));
    let socket = cluster.socket_path();
    let proxy = Proc::spawn_with(
        command,
        &["--storage-socket", socket.to_str().expect("utf-8")],
        &[("TANDEM_TEST_FDNAMES", "admin:resp")],
        &dir.path().join("proxy.log"),
    );
    proxy.wait_log("tandem-proxy listening");
    assert!(
        proxy.log().contains("closing a socket systemd passed"),
        "{}",
        proxy.log()
    );
    wait_for("storage on the resp socket", START_TIMEOUT, || {
        storage_answers(&resp_addr, None).then_some(())
    });
    let mut conn = connect(&resp_addr, None, Protocol::Resp2);
    expect(&mut conn, &["SET", "named", "yes"], ok());
    expect(&mut cluster.client(), &["GET", "named"], bulk("yes"));
}

#[test]
fn several_sockets_and_none_named_resp_is_an_error() {
    if skip_for_redis_backend() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let a = TcpListener::bind("127.0.0.1:0").expect("bind");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg(TWO_FD_LAUNCHER)
        .arg(binary("tandem-proxy"))
        .stdin(Stdio::from(OwnedFd::from(a)))
        .stdout(Stdio::from(OwnedFd::from(b)));
    let mut proxy = Proc::spawn_with(
        command,
        &[],
        &[("TANDEM_TEST_FDNAMES", "x:y")],
        &dir.path().join("proxy.log"),
    );
    let status = wait_for("the proxy to exit", Duration::from_secs(20), || {
        proxy.child.try_wait().ok().flatten()
    });
    assert!(!status.success());
    assert!(
        proxy.log().contains("FileDescriptorName=resp"),
        "{}",
        proxy.log()
    );
}

#[test]
fn install_ships_the_default_configs_and_keeps_edited_ones() {
    let destdir = tempfile::tempdir().expect("temp dir");
    let root = workspace_root();
    let install = || {
        let out = Command::new(root.join("scripts/install"))
            .arg("--no-build")
            .env("DESTDIR", destdir.path())
            .env("TANDEM_BIN_DIR", bin_dir())
            .output()
            .expect("run scripts/install");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    install();
    let etc = destdir.path().join("etc/tandem");
    for name in ["storaged.toml", "proxy.toml"] {
        let shipped = fs::read_to_string(root.join("config").join(name)).expect("shipped config");
        let installed = fs::read_to_string(etc.join(name)).expect("installed config");
        assert_eq!(installed, shipped, "{name}");
    }
    // The installed file is accepted as it is: storaged gets as far as connecting.
    let out = Command::new(binary("tandem-storaged"))
        .arg("--config")
        .arg(etc.join("storaged.toml"))
        .args([
            "--socket",
            "/nonexistent/tandem.sock",
            "checkpoint",
            "/nonexistent/snap",
        ])
        .env_clear()
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot connect to storaged"), "{stderr}");

    fs::write(etc.join("proxy.toml"), "maxclients = 5\n").expect("edit");
    let stdout = install();
    assert!(stdout.contains("kept existing"), "{stdout}");
    assert_eq!(
        fs::read_to_string(etc.join("proxy.toml")).expect("read"),
        "maxclients = 5\n"
    );
}
