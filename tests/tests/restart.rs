//! storaged restarts under a write load: SIGKILL loses nothing acknowledged and applies
//! nothing twice (counters equal acknowledged increments exactly), SIGTERM shows clients no
//! error at all, and a resent request key is answered from storaged's memory even across a
//! crash.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use bytes::BytesMut;
use redis::Value;
use tandem_shared::wire::{self, Hello, KeyedRequest, Outcome, RequestKey, Response};
use tandem_shared::{Command, Reply};
use tandem_tests::*;

const CLIENTS: usize = 4;

/// What one client saw. Any error reply fails the test: the restarts here are far shorter
/// than the request deadline, so every request must eventually succeed.
#[derive(Default)]
struct Log {
    sets: u64,
    incrs: i64,
}

/// Sends pipelines of `SET c{id}:{i} v{i}`, `INCR n{id}`, `INCRBY m{id} 3` on one
/// connection until `stop`; panics on any error or a dropped connection.
fn client(addr: String, id: usize, stop: Arc<AtomicBool>, progress: Arc<AtomicU64>) -> Log {
    let mut conn = connect(&addr, None, Protocol::Resp2);
    let mut log = Log::default();
    while !stop.load(Ordering::Relaxed) {
        let i = log.sets + 1;
        let replies: Vec<Value> = redis::pipe()
            .cmd("SET")
            .arg(format!("c{id}:{i}"))
            .arg(format!("v{i}"))
            .cmd("INCR")
            .arg(format!("n{id}"))
            .cmd("INCRBY")
            .arg(format!("m{id}"))
            .arg(3)
            .query(&mut conn)
            .unwrap_or_else(|e| panic!("client {id} pipeline {i}: {e}"));
        log.incrs += 1;
        assert_eq!(replies[0], Value::Okay);
        assert_eq!(replies[1], Value::Int(log.incrs), "client {id}: INCR reply");
        assert_eq!(
            replies[2],
            Value::Int(3 * log.incrs),
            "client {id}: INCRBY reply"
        );
        log.sets = i;
        progress.fetch_add(1, Ordering::Relaxed);
    }
    log
}

/// Runs the load, calls `disrupt` `rounds` times between bursts of progress, then checks
/// every acknowledged value and exact counters.
fn restart_under_load(signal: Signal, rounds: usize) {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let (addr, stop, progress) = (cluster.addr(), stop.clone(), progress.clone());
            thread::spawn(move || client(addr, id, stop, progress))
        })
        .collect();
    let wait_progress = |amount: u64| {
        let target = progress.load(Ordering::Relaxed) + amount;
        wait_for("clients to make progress", Duration::from_secs(30), || {
            (progress.load(Ordering::Relaxed) >= target).then_some(())
        });
    };
    for _ in 0..rounds {
        wait_progress(300);
        let status = cluster.kill_storaged(signal);
        assert_eq!(status.success(), signal == Signal::SIGTERM, "{status}");
        cluster.start_storaged();
    }
    wait_progress(300);
    stop.store(true, Ordering::Relaxed);
    if let Ok(Value::BulkString(info)) = run_command(&mut cluster.client(), &["INFO", "link"]) {
        eprintln!("{}", String::from_utf8_lossy(&info));
    }
    let logs: Vec<Log> = handles
        .into_iter()
        .map(|h| h.join().expect("a client failed"))
        .collect();

    let c = &mut cluster.client();
    for (id, log) in logs.iter().enumerate() {
        for i in 1..=log.sets {
            expect(c, &["GET", &format!("c{id}:{i}")], bulk(format!("v{i}")));
        }
        expect(c, &["GET", &format!("n{id}")], bulk(log.incrs.to_string()));
        expect(
            c,
            &["GET", &format!("m{id}")],
            bulk((3 * log.incrs).to_string()),
        );
    }
}

#[test]
fn sigkill_under_load_loses_nothing_and_doubles_nothing() {
    restart_under_load(Signal::SIGKILL, 2);
}

#[test]
fn sigterm_rolling_restart_shows_clients_no_error() {
    restart_under_load(Signal::SIGTERM, 2);
}

/// A minimal link client speaking the wire protocol directly.
struct Link {
    stream: UnixStream,
    buf: BytesMut,
}

impl Link {
    fn open(cluster: &TestCluster) -> Link {
        let mut stream = UnixStream::connect(cluster.socket_path()).expect("connect");
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let mut out = BytesMut::new();
        let hello = Hello {
            protocol: wire::PROTOCOL_VERSION,
            schema: wire::SCHEMA_HASH,
            instance_id: 1,
            pid: std::process::id(),
            name: "restart test".into(),
        };
        wire::encode(&hello, u32::MAX, &mut out).expect("encode");
        stream.write_all(&out).expect("write");
        let mut link = Link {
            stream,
            buf: BytesMut::new(),
        };
        link.frame(); // HelloAck
        link
    }

    fn frame(&mut self) -> wire::Frame {
        loop {
            if let Some(frame) = wire::decode(&mut self.buf, u32::MAX).expect("frame") {
                return frame;
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "storaged closed the link");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn keyed(&mut self, key: RequestKey, attempt: u32, commands: Vec<Command>) -> Vec<Outcome> {
        let mut out = BytesMut::new();
        let request = KeyedRequest {
            id: 5,
            db: 0,
            key,
            attempt,
            commands,
        };
        wire::encode(&request, u32::MAX, &mut out).expect("encode");
        self.stream.write_all(&out).expect("write");
        let frame = self.frame();
        let response = frame.access::<Response>().expect("a Response");
        rkyv::deserialize::<Response, rkyv::rancor::Error>(response)
            .expect("deserialize")
            .outcomes
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

#[test]
fn a_resent_request_key_is_answered_from_memory_even_after_a_crash() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let incr = || {
        vec![Command::IncrBy {
            key: b"once".to_vec(),
            delta: 5,
        }]
    };
    let key = RequestKey {
        proxy: 99,
        seq: 1,
        born_ms: now_ms(),
    };
    let first = Link::open(&cluster).keyed(key, 0, incr());
    assert_eq!(first, vec![Outcome::Ok(Reply::Integer(5))]);
    // The same key again, as a proxy resends it on a new link: the remembered reply.
    assert_eq!(Link::open(&cluster).keyed(key, 1, incr()), first);

    cluster.kill_storaged(Signal::SIGKILL);
    cluster.start_storaged();
    assert_eq!(Link::open(&cluster).keyed(key, 2, incr()), first);
    // Once any resend was seen, even a "first" attempt of a known key is not run again
    // (a first send can be queued behind its own resend).
    assert_eq!(Link::open(&cluster).keyed(key, 0, incr()), first);
    expect(&mut cluster.client(), &["GET", "once"], bulk("5"));

    // A key older than the memory window is refused unexecuted, explicitly.
    let old = RequestKey {
        proxy: 99,
        seq: 2,
        born_ms: now_ms() - 10 * 60 * 1000,
    };
    match &Link::open(&cluster).keyed(old, 1, incr())[..] {
        [Outcome::Err(e)] => assert!(e.to_string().contains("outcome of the command is unknown")),
        other => panic!("{other:?}"),
    }
    expect(&mut cluster.client(), &["GET", "once"], bulk("5"));
    let info = info(&mut cluster.client(), "storage");
    // Counted since the restart: two replays and one refusal.
    assert!(info.contains("requests_replayed:2\r\n"), "{info}");
    assert!(info.contains("requests_refused_stale:1\r\n"), "{info}");
}

/// A restart, clean or after a crash, reads the key counters storaged commits with the
/// writes instead of scanning every key (only a new directory is counted). DBSIZE, INFO
/// keyspace and new keys come out right either way.
#[test]
fn key_counters_survive_clean_and_crash_restarts() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let at_start = |cluster: &TestCluster| {
        let info = info(&mut cluster.client(), "storage");
        info.lines()
            .find_map(|l| l.strip_prefix("counters_at_start:"))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no counters_at_start in {info}"))
    };
    let keyspace = |cluster: &TestCluster| {
        let mut c = cluster.client();
        let db0: i64 = redis::cmd("DBSIZE").query(&mut c).expect("DBSIZE");
        expect(&mut c, &["SELECT", "3"], ok());
        let db3: i64 = redis::cmd("DBSIZE").query(&mut c).expect("DBSIZE");
        let info = info(&mut c, "keyspace");
        let db3_line = info
            .lines()
            .find(|l| l.starts_with("db3:"))
            .map(str::to_owned)
            .unwrap_or_default();
        (db0, db3, db3_line)
    };
    assert_eq!(at_start(&cluster), "scanned");
    {
        let mut c = cluster.client();
        for i in 0..50 {
            expect(&mut c, &["SET", &format!("k{i}"), "v"], ok());
        }
        expect(&mut c, &["SELECT", "3"], ok());
        for i in 0..7 {
            expect(&mut c, &["SET", &format!("t{i}"), "v", "EX", "1000"], ok());
        }
        expect(&mut c, &["HSET", "h", "f", "v"], int(1));
    }
    let before = keyspace(&cluster);
    assert_eq!((before.0, before.1), (50, 8));
    assert!(before.2.starts_with("db3:keys=8,expires=7"), "{}", before.2);

    cluster.kill_storaged(Signal::SIGTERM);
    cluster.start_storaged();
    assert_eq!(at_start(&cluster), "saved");
    assert_eq!(keyspace(&cluster), before);
    // New keys get fresh versions: a key recreated after the restart is a new key.
    {
        let mut c = cluster.client();
        expect(&mut c, &["SELECT", "3"], ok());
        expect(&mut c, &["DEL", "h"], int(1));
        expect(&mut c, &["HSET", "h", "g", "v"], int(1));
        expect(&mut c, &["HGETALL", "h"], bulks(&[Some("g"), Some("v")]));
    }

    cluster.kill_storaged(Signal::SIGKILL);
    cluster.start_storaged();
    assert_eq!(at_start(&cluster), "saved");
    assert_eq!(keyspace(&cluster), before);
}
