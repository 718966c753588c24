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
