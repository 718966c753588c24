//! SHUTDOWN: Redis 7.0's argument errors (differential, RESP2 and RESP3), and what it does
//! to a pair (docs/OPERATIONS.md, "SHUTDOWN"): through any proxy, storaged drains and every
//! proxy drains too, all exiting 0 (so systemd's `Restart=on-failure` leaves them
//! stopped); the client that sent it gets no reply, only the end of its connection; every
//! acknowledged write is there when the pair starts again; SAVE writes a save first.

use tandem_tests::*;

/// Waits until process `pid` (a child of this test, so it stays a zombie until reaped)
/// has exited.
fn wait_exited(pid: u32, what: &str) {
    wait_for(what, EXIT_TIMEOUT, || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The state is the first field after the command name in parentheses.
        let state = stat.rsplit_once(") ")?.1.chars().next()?;
        (state == 'Z' || state == 'X').then_some(())
    });
}

#[test]
fn argument_errors_match_redis() {
    let d = Differ::start();
    d.check(&[
        &["SHUTDOWN", "ABORT"],
        &["SHUTDOWN", "abort", "NOW"],
        &["SHUTDOWN", "FORCE", "ABORT"],
        &["SHUTDOWN", "SAVE", "NOSAVE"],
        &["SHUTDOWN", "NOSAVE", "save"],
        &["SHUTDOWN", "SOON"],
        &["SHUTDOWN", "NOW", "SOON"],
        &["MULTI"],
        &["SHUTDOWN"],
        &["SHUTDOWN", "NOSAVE"],
        &["DISCARD"],
        &["PING"],
    ]);
}

#[test]
fn shutdown_and_client_pause_need_admin_rights_as_in_redis() {
    let d = Differ::start();
    d.check(&[
        &[
            "ACL", "SETUSER", "app", "on", ">pw", "~*", "&*", "+@all", "-@admin",
        ],
        &["AUTH", "app", "pw"],
        &["SHUTDOWN"],
        &["SHUTDOWN", "NOSAVE", "NOW"],
        &["CLIENT", "PAUSE", "10000"],
        &["CLIENT", "UNPAUSE"],
        &["PING"],
        &["AUTH", "default", "any"],
        &["ACL", "DELUSER", "app"],
    ]);
}

#[test]
fn shutdown_stops_storaged_and_every_proxy_cleanly_and_keeps_the_data() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return; // a pair's shutdown
    }
    let mut extra = cluster.spawn_extra_proxy();
    let mut other = extra.client();
    expect(&mut other, &["SET", "k", "kept"], ok());
    expect(&mut other, &["INCR", "n"], int(1));

    let mut raw = cluster.raw();
    raw.send(&encode_command(&[b"SHUTDOWN", b"NOSAVE"]));
    assert!(
        raw.is_closed(),
        "SHUTDOWN answers nothing: the connection just ends, as with Redis"
    );
    let storaged = cluster.storaged_pid().expect("storaged running");
    wait_exited(storaged, "storaged to exit after SHUTDOWN");
    wait_exited(cluster.proxy_pid(), "the proxy to exit after SHUTDOWN");
    wait_exited(extra.pid(), "the other proxy to exit after SHUTDOWN");
    // All three exited on their own; the signals below only reap them.
    assert_eq!(cluster.kill_storaged(Signal::SIGTERM).code(), Some(0));
    assert_eq!(cluster.kill_proxy(Signal::SIGTERM).code(), Some(0));
    assert_eq!(extra.kill(Signal::SIGTERM).code(), Some(0));
    assert!(
        cluster.logs().contains("SHUTDOWN"),
        "the logs say why they stopped"
    );

    // Started again by hand (the harness's own start waits for its proxy, which is gone).
    let mut storaged = std::process::Command::new(binary("tandem-storaged"))
        .args(["--data-dir", &cluster.data_dir().display().to_string()])
        .args(["--socket", &cluster.socket_path().display().to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start tandem-storaged again");
    cluster.start_proxy();
    let mut c = cluster.client();
    expect(&mut c, &["GET", "k"], bulk("kept"));
    expect(&mut c, &["GET", "n"], bulk("1"));
    // And SHUTDOWN stops the restarted pair the same way.
    cluster.raw().send(&encode_command(&[b"SHUTDOWN"]));
    wait_exited(
        storaged.id(),
        "the restarted storaged to exit after SHUTDOWN",
    );
    let status = storaged.wait().expect("reap storaged");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn shutdown_save_writes_a_save_first() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut c = cluster.client();
    expect(&mut c, &["SET", "saved", "yes"], ok());
    let save = cluster.data_dir().with_file_name("data-save");
    assert!(!save.exists(), "no save before SHUTDOWN SAVE");
    let mut raw = cluster.raw();
    raw.send(&encode_command(&[b"SHUTDOWN", b"SAVE", b"NOW", b"FORCE"]));
    assert!(raw.is_closed(), "no reply to a SHUTDOWN that went ahead");
    let storaged = cluster.storaged_pid().expect("storaged running");
    wait_exited(storaged, "storaged to exit after SHUTDOWN SAVE");
    assert_eq!(cluster.kill_storaged(Signal::SIGTERM).code(), Some(0));
    let files = std::fs::read_dir(&save)
        .unwrap_or_else(|e| panic!("the save {} after SHUTDOWN SAVE: {e}", save.display()))
        .count();
    assert!(files > 0, "the save directory is empty");
}

#[test]
fn clients_of_other_proxies_are_closed_after_their_replies() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let extra = cluster.spawn_extra_proxy();
    let mut idle = RawClient::connect(&extra.addr());
    assert_eq!(idle.command(&["PING"]), "+PONG\r\n");
    let mut admin = cluster.client();
    let shut = redis::cmd("SHUTDOWN").query::<redis::Value>(&mut admin);
    assert!(shut.is_err(), "SHUTDOWN must not answer: {shut:?}");
    // The other proxy drains: its idle client's connection ends, with nothing sent.
    assert!(
        idle.is_closed(),
        "an idle client of another proxy is closed"
    );
    let storaged = cluster.storaged_pid().expect("storaged running");
    wait_exited(storaged, "storaged to exit after SHUTDOWN");
    assert_eq!(cluster.kill_storaged(Signal::SIGTERM).code(), Some(0));
}
