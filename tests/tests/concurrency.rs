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
