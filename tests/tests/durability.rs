//! Durability end to end: an acknowledged write survives `kill -9` of storaged, no write
//! is applied twice, and SIGTERM/SIGINT drain and exit 0 with every write kept.
//!
//! The writers never stop on errors: while storaged is down the proxy queues or sheds,
//! and an error reply (or a broken connection) means "outcome unknown", which the checks
//! allow for: `acknowledged <= counter <= acknowledged + unknown`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use redis::{Connection, Value};
use tandem_tests::{
    bulk, expect, int, ok, run_command, try_connect, wait_for, ClusterOptions, Protocol, Signal,
    TestCluster,
};

const WRITERS: usize = 4;

/// What one writer thread saw.
struct WriterLog {
    /// Indexes `i` whose `SET w{t}:{i} v{i}` was acknowledged with OK.
    acked_sets: Vec<u64>,
    acked_incrs: i64,
    unknown_incrs: i64,
}

fn writer(addr: String, id: usize, stop: Arc<AtomicBool>, progress: Arc<AtomicU64>) -> WriterLog {
    let mut log = WriterLog {
        acked_sets: Vec::new(),
        acked_incrs: 0,
        unknown_incrs: 0,
    };
    let mut conn: Option<Connection> = None;
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let Some(c) = conn.as_mut() else {
            conn = try_connect(&addr, None, Protocol::Resp2).ok();
            if conn.is_none() {
                thread::sleep(Duration::from_millis(20));
            }
            continue;
        };
        i += 1;
        let key = format!("w{id}:{i}");
        let value = format!("v{i}");
        match run_command(c, &["SET", &key, &value]) {
            Ok(Value::Okay) => log.acked_sets.push(i),
            Ok(other) => panic!("SET {key} answered {other:?}"),
            Err(e) if e.starts_with("client error") => conn = None,
            Err(_) => {}
        }
        let Some(c) = conn.as_mut() else { continue };
        match run_command(c, &["INCR", &format!("counter{id}")]) {
            Ok(Value::Int(_)) => log.acked_incrs += 1,
            Ok(other) => panic!("INCR answered {other:?}"),
            Err(e) => {
                log.unknown_incrs += 1;
                if e.starts_with("client error") {
                    conn = None;
                }
            }
        }
        progress.fetch_add(1, Ordering::Relaxed);
    }
    log
}

fn verify(cluster: &TestCluster, logs: &[WriterLog]) {
    let c = &mut cluster.client();
    for (id, log) in logs.iter().enumerate() {
        for i in &log.acked_sets {
            expect(c, &["GET", &format!("w{id}:{i}")], bulk(format!("v{i}")));
        }
        let counter = match run_command(c, &["GET", &format!("counter{id}")]) {
            Ok(Value::BulkString(b)) => String::from_utf8_lossy(&b)
                .parse::<i64>()
                .expect("counter is an integer"),
            Ok(Value::Nil) => 0,
            other => panic!("GET counter{id}: {other:?}"),
        };
        assert!(
            counter >= log.acked_incrs,
            "counter{id} = {counter} lost acknowledged increments ({} acknowledged)",
            log.acked_incrs
        );
        assert!(
            counter <= log.acked_incrs + log.unknown_incrs,
            "counter{id} = {counter} exceeds {} acknowledged + {} unknown: a write was applied twice",
            log.acked_incrs,
            log.unknown_incrs
        );
    }
}

fn kill_under_load(options: ClusterOptions) {
    let mut cluster = TestCluster::start_with(options);
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..WRITERS)
        .map(|id| {
            let (addr, stop, progress) = (cluster.addr(), stop.clone(), progress.clone());
            thread::spawn(move || writer(addr, id, stop, progress))
        })
        .collect();
    let wait_progress = |amount: u64| {
        let target = progress.load(Ordering::Relaxed) + amount;
        wait_for("writers to make progress", Duration::from_secs(60), || {
            (progress.load(Ordering::Relaxed) >= target).then_some(())
        });
    };
    wait_progress(2000);
    if cluster.is_tandem() {
        let status = cluster.kill_storaged(Signal::SIGKILL);
        assert!(!status.success(), "SIGKILL cannot exit cleanly: {status}");
        cluster.start_storaged();
    }
    wait_progress(1000);
    stop.store(true, Ordering::Relaxed);
    let logs: Vec<WriterLog> = handles
        .into_iter()
        .map(|h| h.join().expect("writer thread"))
        .collect();
    let acked: usize = logs.iter().map(|l| l.acked_sets.len()).sum();
    let unknown: i64 = logs.iter().map(|l| l.unknown_incrs).sum();
    eprintln!("{acked} SETs acknowledged, {unknown} INCRs with unknown outcome");
    assert!(acked >= 2500, "only {acked} writes acknowledged");
    verify(&cluster, &logs);
    if cluster.is_tandem() {
        // And once more after a clean restart, so nothing lived only in memory.
        assert!(
            cluster.kill_storaged(Signal::SIGTERM).success(),
            "SIGTERM exits 0"
        );
        cluster.start_storaged();
        verify(&cluster, &logs);
    }
}

#[test]
fn sigkill_loses_no_acknowledged_write() {
    kill_under_load(ClusterOptions::default());
}

#[test]
fn sigkill_with_fsync_always() {
    kill_under_load(ClusterOptions {
        fsync: Some("always".into()),
        ..Default::default()
    });
}

#[test]
fn sigterm_and_sigint_exit_zero_and_keep_data() {
    let mut cluster = TestCluster::start();
    let c = &mut cluster.client();
    for i in 0..200 {
        expect(c, &["SET", &format!("k{i}"), &format!("v{i}")], ok());
    }
    expect(c, &["INCRBY", "n", "7"], int(7));
    expect(c, &["SET", "ttl", "v", "EXAT", "4102444800"], ok());
    expect(c, &["SELECT", "5"], ok());
    expect(c, &["SET", "db5", "yes"], ok());
    if !cluster.is_tandem() {
        return;
    }
    for signal in [Signal::SIGTERM, Signal::SIGINT] {
        let status = cluster.kill_storaged(signal);
        assert_eq!(
            status.code(),
            Some(0),
            "tandem-storaged on {signal:?}: {status}"
        );
        cluster.start_storaged();
        let c = &mut cluster.client();
        expect(c, &["DBSIZE"], int(202));
        for i in (0..200).step_by(17) {
            expect(c, &["GET", &format!("k{i}")], bulk(format!("v{i}")));
        }
        expect(c, &["GET", "n"], bulk("7"));
        expect(c, &["EXPIRETIME", "ttl"], int(4_102_444_800));
        expect(c, &["SELECT", "5"], ok());
        expect(c, &["GET", "db5"], bulk("yes"));
    }
    let status = cluster.kill_proxy(Signal::SIGTERM);
    assert_eq!(status.code(), Some(0), "tandem-proxy on SIGTERM: {status}");
    cluster.start_proxy();
    expect(&mut cluster.client(), &["GET", "n"], bulk("7"));
}
