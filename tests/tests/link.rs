//! The storage link under abuse and outage: garbage frames, wrong versions, storaged away.
//! The processes must stay up and client connections must survive.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tandem_shared::wire::{self, Hello, HelloAck, HEADER_LEN};
use tandem_tests::*;

fn hello() -> Hello {
    Hello {
        protocol: wire::PROTOCOL_VERSION,
        schema: wire::SCHEMA_HASH,
        instance_id: 42,
        pid: std::process::id(),
        name: "link test".into(),
    }
}

/// Reads until storaged closes the link; returns everything it sent.
fn read_to_close(stream: &mut UnixStream) -> Vec<u8> {
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .expect("set timeout");
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return all,
            Err(e) => panic!("storaged neither answered nor closed the link: {e}"),
        }
    }
}

fn first_ack(bytes: &[u8]) -> HelloAck {
    let mut buf = BytesMut::from(bytes);
    let frame = wire::decode(&mut buf, u32::MAX)
        .expect("valid frame")
        .expect("a whole frame");
    let ack = frame.access::<HelloAck>().expect("a HelloAck");
    rkyv::deserialize::<HelloAck, rkyv::rancor::Error>(ack).expect("deserialize")
}

fn assert_still_serving(cluster: &TestCluster) {
    let mut c = cluster.client();
    expect(&mut c, &["SET", "still", "here"], ok());
    expect(&mut c, &["GET", "still"], bulk("here"));
}

#[test]
fn garbage_on_the_storage_socket_closes_only_that_link() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    // Not a tandem frame at all.
    let mut s = UnixStream::connect(cluster.socket_path()).expect("connect");
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let ack = first_ack(&read_to_close(&mut s));
    assert!(!ack.accepted);
    assert!(ack.message.contains("magic"), "{}", ack.message);

    // A header announcing a frame far beyond the limit: refused before any allocation.
    let mut header = BytesMut::new();
    wire::encode(&hello(), u32::MAX, &mut header).expect("encode");
    header.truncate(HEADER_LEN);
    header[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut s = UnixStream::connect(cluster.socket_path()).expect("connect");
    s.write_all(&header).expect("write");
    let ack = first_ack(&read_to_close(&mut s));
    assert!(ack.message.contains("exceeds the limit"), "{}", ack.message);

    // A good handshake, then a request frame whose archive is garbage.
    let mut s = UnixStream::connect(cluster.socket_path()).expect("connect");
    let mut out = BytesMut::new();
    wire::encode(&hello(), u32::MAX, &mut out).expect("encode");
    let mut garbage = BytesMut::new();
    wire::encode(
        &wire::Request {
            id: 1,
            db: 0,
            commands: vec![tandem_shared::Command::DbSize],
        },
        u32::MAX,
        &mut garbage,
    )
    .expect("encode");
    for b in garbage[HEADER_LEN..].iter_mut() {
        *b = 0xff;
    }
    out.extend_from_slice(&garbage);
    s.write_all(&out).expect("write");
    let sent = read_to_close(&mut s);
    let ack = first_ack(&sent);
    assert!(ack.accepted, "{}", ack.message);

    assert_still_serving(&cluster);
}

#[test]
fn a_peer_with_another_protocol_version_is_refused_clearly() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut out = BytesMut::new();
    wire::encode(&hello(), u32::MAX, &mut out).expect("encode");
    out[2] = wire::PROTOCOL_VERSION + 1;
    let mut s = UnixStream::connect(cluster.socket_path()).expect("connect");
    s.write_all(&out).expect("write");
    let ack = first_ack(&read_to_close(&mut s));
    assert!(!ack.accepted);
    assert!(ack.message.contains("protocol"), "{}", ack.message);
    assert_still_serving(&cluster);
}

#[test]
fn clients_keep_their_connections_while_storaged_is_away() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut c = cluster.client();
    expect(&mut c, &["SET", "k", "before"], ok());
    cluster.kill_storaged(Signal::SIGKILL);

    // Proxy-local commands answer at once.
    let t = Instant::now();
    expect(&mut c, &["PING"], simple("PONG"));
    expect(&mut c, &["ECHO", "x"], bulk("x"));
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "local commands stalled: {:?}",
        t.elapsed()
    );

    // A storage command fails with a retryable error after the deadline, not a hang or a
    // dropped connection.
    match run_command(&mut c, &["GET", "k"]) {
        Err(text) => assert!(text.starts_with("TRYAGAIN"), "{text}"),
        other => panic!("expected TRYAGAIN, got {}", render_outcome(&other)),
    }
    expect(&mut c, &["PING"], simple("PONG"));

    // INFO's link section counts the request that waited and timed out.
    let info: String = redis::cmd("INFO")
        .arg("link")
        .query(&mut c)
        .expect("INFO link");
    let field = |name: &str| -> u64 {
        info.lines()
            .filter_map(|l| l.split(',').find_map(|kv| kv.strip_prefix(name)))
            .map(|v| v.trim().parse::<u64>().unwrap_or(0))
            .sum()
    };
    assert!(field("queued=") >= 1, "{info}");
    assert!(field("timed_out=") >= 1, "{info}");

    cluster.start_storaged();
    expect(&mut c, &["GET", "k"], bulk("before"));
}

/// A frame header of `kind` announcing `len` payload bytes.
fn header_announcing(kind: wire::FrameKind, len: u32) -> BytesMut {
    let mut header = BytesMut::new();
    wire::encode(&hello(), u32::MAX, &mut header).expect("encode");
    header.truncate(HEADER_LEN);
    header[3] = kind as u8;
    header[4..8].copy_from_slice(&len.to_le_bytes());
    header
}

/// Lowers `pid`'s address-space limit (RLIMIT_AS) to what it maps now plus `headroom_mib`,
/// as `ulimit -v` did in the report: an allocation of a claimed length then aborts the
/// process instead of only reserving address space.
///
/// # Panics
/// If `prlimit` is missing or fails: uncapped, an over-allocation would go unnoticed.
fn cap_address_space(pid: u32, headroom_mib: u64) {
    require_tool(
        "prlimit",
        "--version",
        "to cap storaged's address space",
        "util-linux",
    );
    let limit = (proc_status_kib(pid, "VmSize:") + headroom_mib * 1024) * 1024;
    let status = std::process::Command::new("prlimit")
        .arg(format!("--pid={pid}"))
        .arg(format!("--as={limit}:{limit}"))
        .status()
        .expect("run prlimit");
    assert!(status.success(), "prlimit --pid={pid}: {status}");
}

/// Issue 13 item 12: 7 peers that may open the socket announce a ~576 MiB frame and stall,
/// before the handshake and after it. storaged holds what they sent, not what they claimed:
/// under a 2 GiB address-space headroom (the claims add up to 8 GiB) it stays up, small and
/// serving.
#[test]
fn peers_announcing_huge_frames_and_stalling_cost_storaged_only_what_they_sent() {
    let cluster = TestCluster::start_with(ClusterOptions {
        storaged_args: vec!["--handshake-timeout-ms".into(), "60000".into()],
        ..Default::default()
    });
    if !cluster.is_tandem() {
        return;
    }
    assert_still_serving(&cluster);
    let pid = cluster.storaged_pid().expect("storaged pid");
    cap_address_space(pid, 2048);
    let (vm_before, rss_before) = (
        proc_status_kib(pid, "VmSize:"),
        proc_status_kib(pid, "VmRSS:"),
    );
    let claim = wire::DEFAULT_MAX_FRAME - 1;

    let mut stalled = Vec::new();
    // Before the handshake: a Request announced instead of a Hello.
    for _ in 0..7 {
        let mut s = UnixStream::connect(cluster.socket_path()).expect("connect");
        s.write_all(&header_announcing(wire::FrameKind::Request, claim))
            .expect("write");
        stalled.push(s);
    }
    // After a good handshake: a Request announced, 1 MiB of it sent, then nothing.
    let part = vec![0u8; 1 << 20];
    for _ in 0..7 {
        let mut s = UnixStream::connect(cluster.socket_path()).expect("connect");
        let mut out = BytesMut::new();
        wire::encode(&hello(), u32::MAX, &mut out).expect("encode");
        out.extend_from_slice(&header_announcing(wire::FrameKind::Request, claim));
        s.write_all(&out).expect("write");
        s.write_all(&part).expect("write part of the payload");
        stalled.push(s);
    }
    // Let storaged read all of it.
    std::thread::sleep(Duration::from_millis(500));

    let state = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    assert!(
        state.contains("VmSize:"),
        "storaged died under its address-space cap:\n{}",
        cluster.logs()
    );
    assert_still_serving(&cluster);
    let (vm_after, rss_after) = (
        proc_status_kib(pid, "VmSize:"),
        proc_status_kib(pid, "VmRSS:"),
    );
    eprintln!(
        "storaged VmSize {vm_before} -> {vm_after} KiB, VmRSS {rss_before} -> {rss_after} KiB"
    );
    assert!(
        vm_after < vm_before + 512 * 1024,
        "storaged mapped {} MiB more after 14 claims of {} MiB",
        (vm_after.saturating_sub(vm_before)) >> 10,
        claim >> 20
    );
    assert!(
        rss_after < rss_before + 64 * 1024,
        "storaged RSS grew from {rss_before} KiB to {rss_after} KiB"
    );
    // The un-handshaken claims were refused on their header.
    for s in &mut stalled[..7] {
        let ack = first_ack(&read_to_close(s));
        assert!(!ack.accepted);
        assert!(ack.message.contains("exceeds the limit"), "{}", ack.message);
    }
    drop(stalled);
    assert_still_serving(&cluster);
}

/// Issue 13 item 12: a peer that connects and never completes its Hello is closed after
/// `--handshake-timeout-ms` (and it is logged), however much of a Hello it sent.
#[test]
fn a_peer_that_never_sends_its_hello_is_closed_after_the_handshake_timeout() {
    let cluster = TestCluster::start_with(ClusterOptions {
        storaged_args: vec!["--handshake-timeout-ms".into(), "300".into()],
        ..Default::default()
    });
    if !cluster.is_tandem() {
        return;
    }
    let mut half = BytesMut::new();
    wire::encode(&hello(), u32::MAX, &mut half).expect("encode");
    half.truncate(HEADER_LEN + 3);
    for sent in [&[][..], &half[..]] {
        let mut s = UnixStream::connect(cluster.socket_path()).expect("connect");
        s.write_all(sent).expect("write");
        let t = Instant::now();
        let answer = read_to_close(&mut s);
        let took = t.elapsed();
        assert!(answer.is_empty(), "{answer:?}");
        assert!(
            took >= Duration::from_millis(250) && took < Duration::from_secs(5),
            "closed after {took:?} with {} bytes sent",
            sent.len()
        );
    }
    wait_for("the timeout in the log", Duration::from_secs(5), || {
        cluster
            .logs()
            .contains("no Hello within the handshake timeout")
            .then_some(())
    });
    assert_still_serving(&cluster);
}

/// Issue 13 item 12, the proxy's side: a storaged (here a fake one on the socket path) that
/// accepts the handshake and then announces ~576 MiB on every link and stalls must not make
/// the proxy allocate the claims up front. Every other link gets the claim in the same write
/// as its HelloAck, whose bytes the proxy must not drop (it read a garbage frame and
/// reconnected).
#[test]
fn a_storaged_announcing_huge_frames_costs_the_proxy_only_what_it_sent() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let pid = cluster.proxy_pid();
    cluster.kill_storaged(Signal::SIGKILL);
    let path = cluster.socket_path();
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind the fake");
    let vm_before = proc_status_kib(pid, "VmSize:");
    let claim = wire::DEFAULT_MAX_FRAME - 1;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut s) = stream else { return };
            let mut buf = BytesMut::new();
            let mut chunk = [0u8; 4096];
            // The proxy's Hello, then an accepting HelloAck and the claim.
            while wire::decode(&mut buf, u32::MAX).ok().flatten().is_none() {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let ack = HelloAck {
                protocol: wire::PROTOCOL_VERSION,
                schema: wire::SCHEMA_HASH,
                instance_id: 7,
                max_frame: wire::DEFAULT_MAX_FRAME,
                accepted: true,
                message: String::new(),
            };
            let mut out = BytesMut::new();
            wire::encode(&ack, u32::MAX, &mut out).expect("encode");
            if n % 2 == 1 {
                // Let the proxy finish its handshake before the claim arrives.
                if s.write_all(&out).is_err() {
                    continue;
                }
                out.clear();
                std::thread::sleep(Duration::from_millis(200));
            }
            out.extend_from_slice(&header_announcing(wire::FrameKind::Response, claim));
            out.extend_from_slice(&[0u8; 64 * 1024]);
            if s.write_all(&out).is_ok() && tx.send(s).is_err() {
                return;
            }
        }
    });
    // Every link of the pool (4) reconnects to the fake within its backoff.
    let mut held = Vec::new();
    while held.len() < 4 {
        held.push(
            rx.recv_timeout(Duration::from_secs(10))
                .expect("the proxy's links reconnect"),
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    let vm_after = proc_status_kib(pid, "VmSize:");
    eprintln!("proxy VmSize {vm_before} -> {vm_after} KiB");
    assert!(
        vm_after < vm_before + 512 * 1024,
        "the proxy mapped {} MiB more after 4 claims of {} MiB",
        (vm_after.saturating_sub(vm_before)) >> 10,
        claim >> 20
    );
    let mut c = cluster.client();
    expect(&mut c, &["PING"], simple("PONG"));
    let logs = cluster.logs();
    assert!(
        !logs.contains("garbage frame from storaged"),
        "the proxy lost bytes that came with a HelloAck:\n{logs}"
    );
    drop(held);
}
