//! The benchmark hooks of issue 6: storaged's group-commit counters in `INFO storage`, the
//! `--reads-via-writer` comparison mode, and the RocksDB tuning flags `scripts/stall-bench`
//! uses. Tandem-only (redis-server has none of them).

use tandem_tests::{ClusterOptions, TestCluster};

fn storage_field(conn: &mut redis::Connection, field: &str) -> f64 {
    let info: String = redis::cmd("INFO")
        .arg("storage")
        .query(conn)
        .expect("INFO storage");
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("INFO storage has no {field}:\n{info}"))
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{field} is not a number:\n{info}"))
}

/// What the group-commit counters moved by while 8 clients sent 50 SETs each at once.
struct Counted {
    requests: f64,
    wal_writes: f64,
    per_wal_write: f64,
}

fn concurrent_sets(storaged_args: &[&str]) -> Option<Counted> {
    let cluster = TestCluster::start_with(ClusterOptions {
        storaged_args: storaged_args.iter().map(|a| a.to_string()).collect(),
        ..ClusterOptions::default()
    });
    if !cluster.is_tandem() {
        return None;
    }
    let mut probe = cluster.client();
    let requests_before = storage_field(&mut probe, "write_requests");
    let wal_before = storage_field(&mut probe, "wal_writes");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let mut c = cluster.client();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let _: () = redis::cmd("SET")
                        .arg(format!("k{t}:{i}"))
                        .arg("v")
                        .query(&mut c)
                        .expect("SET");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer thread");
    }
    Some(Counted {
        requests: storage_field(&mut probe, "write_requests") - requests_before,
        wal_writes: storage_field(&mut probe, "wal_writes") - wal_before,
        per_wal_write: storage_field(&mut probe, "requests_per_wal_write"),
    })
}

/// Group commit: requests from clients writing at once share WAL writes, and the counters
/// show it. With `--group-commit-max 1` (batching off) every request has a WAL write of its
/// own, which the first half of the test would refuse.
#[test]
fn group_commit_counters_count_requests_and_wal_writes() {
    let Some(batched) = concurrent_sets(&[]) else {
        return;
    };
    assert!(
        batched.requests >= 400.0,
        "400 SETs counted as {} write requests",
        batched.requests
    );
    assert!(
        batched.wal_writes >= 1.0 && batched.wal_writes < batched.requests,
        "{} requests from 8 concurrent clients took {} WAL writes: nothing was grouped",
        batched.requests,
        batched.wal_writes
    );
    assert!(
        batched.per_wal_write > 1.0,
        "requests_per_wal_write {}",
        batched.per_wal_write
    );

    let Some(single) = concurrent_sets(&["--group-commit-max", "1"]) else {
        return;
    };
    assert!(single.requests >= 400.0, "{} requests", single.requests);
    assert!(
        single.wal_writes >= single.requests,
        "--group-commit-max 1: {} requests in {} WAL writes",
        single.requests,
        single.wal_writes
    );
}

#[test]
fn reads_via_writer_routes_reads_through_the_writer() {
    for (flag, reads_counted) in [(false, false), (true, true)] {
        let cluster = TestCluster::start_with(ClusterOptions {
            storaged_args: if flag {
                vec!["--reads-via-writer".into()]
            } else {
                Vec::new()
            },
            ..ClusterOptions::default()
        });
        if !cluster.is_tandem() {
            return;
        }
        let mut c = cluster.client();
        let _: () = redis::cmd("SET")
            .arg("k")
            .arg("v")
            .query(&mut c)
            .expect("SET");
        let before = storage_field(&mut c, "write_requests");
        for _ in 0..10 {
            let v: String = redis::cmd("GET").arg("k").query(&mut c).expect("GET");
            assert_eq!(v, "v");
        }
        // INFO itself is a read, so with the flag it is counted too.
        let after = storage_field(&mut c, "write_requests");
        assert_eq!(
            after - before >= 10.0,
            reads_counted,
            "--reads-via-writer {flag}: {before} -> {after}"
        );
    }
}

#[test]
fn stall_tuning_flags_are_accepted() {
    let cluster = TestCluster::start_with(ClusterOptions {
        storaged_args: [
            "--write-buffer-mb",
            "1",
            "--max-write-buffers",
            "3",
            "--l0-slowdown-trigger",
            "2",
            "--l0-stop-trigger",
            "4",
            "--background-rate-limit-kb",
            "4096",
        ]
        .map(String::from)
        .to_vec(),
        ..ClusterOptions::default()
    });
    if !cluster.is_tandem() {
        return;
    }
    let mut c = cluster.client();
    let value = "x".repeat(4096);
    for i in 0..600 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(&value)
            .query(&mut c)
            .expect("SET under tiny memtables");
    }
    let v: String = redis::cmd("GET").arg("k599").query(&mut c).expect("GET");
    assert_eq!(v.len(), 4096);
    assert_eq!(storage_field(&mut c, "is_write_stopped"), 0.0);
}
