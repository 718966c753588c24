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

#[test]
fn group_commit_counters_count_requests_and_wal_writes() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut probe = cluster.client();
    let before = storage_field(&mut probe, "write_requests");
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
    let requests = storage_field(&mut probe, "write_requests") - before;
    let wal = storage_field(&mut probe, "wal_writes");
    assert!(
        requests >= 400.0,
        "400 SETs counted as {requests} write requests"
    );
    assert!(wal >= 1.0 && wal <= storage_field(&mut probe, "write_requests"));
    let per_write = storage_field(&mut probe, "requests_per_wal_write");
    assert!(per_write >= 1.0, "requests_per_wal_write {per_write}");
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
