//! Many clients at once: read-modify-write stays atomic per key, pipelines keep their order,
//! and each client reads its own writes.

use std::thread;

use tandem_tests::*;

const CLIENTS: usize = 8;
const ROUNDS: usize = 300;

#[test]
fn concurrent_clients_lose_no_update_and_read_their_writes() {
    let cluster = TestCluster::start();
    let addr = cluster.addr();
    let handles: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let addr = addr.clone();
            thread::spawn(move || {
                let mut c = connect(&addr, None, Protocol::Resp2);
                let own = format!("client:{i}");
                for n in 0..ROUNDS {
                    if i % 2 == 0 {
                        // One pipeline: write, read it back, bump the shared counter.
                        let (got, _): (String, i64) = redis::pipe()
                            .cmd("SET")
                            .arg(&own)
                            .arg(n)
                            .ignore()
                            .cmd("GET")
                            .arg(&own)
                            .cmd("INCR")
                            .arg("counter")
                            .query(&mut c)
                            .expect("pipeline");
                        assert_eq!(got, n.to_string(), "client {i} did not read its own write");
                    } else {
                        expect(&mut c, &["SET", &own, &n.to_string()], ok());
                        expect(&mut c, &["GET", &own], bulk(n.to_string()));
                        let _: i64 = redis::cmd("INCR")
                            .arg("counter")
                            .query(&mut c)
                            .expect("INCR");
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client thread panicked");
    }
    let mut c = cluster.client();
    expect(
        &mut c,
        &["GET", "counter"],
        bulk((CLIENTS * ROUNDS).to_string()),
    );
}

#[test]
fn a_long_pipeline_replies_in_order() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    let mut pipe = redis::pipe();
    for n in 0..5000 {
        pipe.cmd("SET").arg(format!("k{n}")).arg(n).ignore();
        pipe.cmd("INCR").arg(format!("k{n}"));
        if n % 100 == 0 {
            // Proxy-local commands in the middle must not reorder storage replies.
            pipe.cmd("PING").ignore();
        }
    }
    let replies: Vec<i64> = pipe.query(&mut c).expect("pipeline");
    assert_eq!(replies, (1..=5000).collect::<Vec<i64>>());
}

/// The record cache serves GET and HGET from memory next to a writer that keeps changing
/// the same keys: a read must never miss a write acknowledged before it started, and
/// reads of one client never go back in time.
#[test]
fn cached_reads_never_go_back_in_time() {
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
    use std::sync::Arc;

    const WRITES: i64 = 1500;
    let cluster = TestCluster::start();
    let addr = cluster.addr();
    let acked = Arc::new(AtomicI64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (addr, acked, done) = (addr.clone(), acked.clone(), done.clone());
            thread::spawn(move || {
                let mut c = connect(&addr, None, Protocol::Resp2);
                let (mut last_k, mut last_f, mut reads) = (0i64, 0i64, 0u64);
                while !done.load(Ordering::SeqCst) {
                    let floor = acked.load(Ordering::SeqCst);
                    let k: Option<i64> = redis::cmd("GET").arg("k").query(&mut c).expect("GET");
                    let f: Option<i64> = redis::cmd("HGET")
                        .arg("h")
                        .arg("f")
                        .query(&mut c)
                        .expect("HGET");
                    let (k, f) = (k.unwrap_or(0), f.unwrap_or(0));
                    assert!(k >= floor, "GET saw {k} after {floor} was acknowledged");
                    assert!(f >= floor, "HGET saw {f} after {floor} was acknowledged");
                    assert!(k >= last_k && f >= last_f, "a read went back in time");
                    (last_k, last_f) = (k, f);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let mut c = connect(&addr, None, Protocol::Resp2);
    for n in 1..=WRITES {
        let (k, f): (i64, i64) = redis::pipe()
            .cmd("INCR")
            .arg("k")
            .cmd("HINCRBY")
            .arg("h")
            .arg("f")
            .arg(1)
            .query(&mut c)
            .expect("writes");
        assert_eq!((k, f), (n, n));
        acked.store(n, Ordering::SeqCst);
    }
    done.store(true, Ordering::SeqCst);
    for r in readers {
        let reads = r.join().expect("reader panicked");
        assert!(reads > 0);
    }
}
