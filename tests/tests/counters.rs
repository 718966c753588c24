//! The per-db key counters (`DBSIZE`, `INFO keyspace`) are committed with the writes they
//! count (issue 20): after storaged is killed with SIGKILL in the middle of a write load,
//! and after expirations, FLUSHDB and FLUSHALL, the restarted storaged reads them instead
//! of counting every key (`counters_at_start:saved`), and they equal the keys a SCAN finds.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use tandem_tests::*;

const WRITERS: usize = 3;
/// The databases the load writes to.
const DBS: [u8; 2] = [0, 2];

/// Writes until `stop`: new strings (one in four with a 1000 s TTL, one in five with a
/// 300 ms one that expires during the test), a hash and a list per writer, DEL and PERSIST
/// of earlier keys. Errors are ignored: the kills under test may fail a request, and what
/// counts is what storaged holds afterwards.
fn load(addr: String, id: usize, stop: Arc<AtomicBool>, progress: Arc<AtomicU64>) {
    let mut conn = connect(&addr, None, Protocol::Resp2);
    let db = DBS[id % DBS.len()];
    let _ = run_command(&mut conn, &["SELECT", &db.to_string()]);
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let key = format!("w{id}:{i}");
        let mut pipe = redis::pipe();
        pipe.cmd("SET").arg(&key).arg(i);
        if i.is_multiple_of(4) {
            pipe.arg("EX").arg(1000);
        } else if i.is_multiple_of(5) {
            pipe.arg("PX").arg(300);
        }
        pipe.cmd("HSET")
            .arg(format!("h{id}:{}", i % 50))
            .arg(i)
            .arg(i);
        pipe.cmd("LPUSH").arg(format!("l{id}:{}", i % 30)).arg(i);
        if i.is_multiple_of(7) {
            pipe.cmd("DEL").arg(format!("w{id}:{}", i - 3));
        }
        if i.is_multiple_of(8) {
            pipe.cmd("PERSIST").arg(format!("w{id}:{}", i - 4));
        }
        let _: redis::RedisResult<redis::Value> = pipe.query(&mut conn);
        progress.fetch_add(1, Ordering::Relaxed);
    }
}

/// Every key of `db` as SCAN finds it, and how many of them have a TTL.
fn scanned(conn: &mut redis::Connection, db: u8) -> (u64, u64) {
    redis::cmd("SELECT")
        .arg(db)
        .query::<()>(conn)
        .expect("SELECT");
    let mut keys = HashSet::new();
    let mut cursor = 0u64;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query(conn)
            .expect("SCAN");
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    let mut expiring = 0;
    for key in &keys {
        let ttl: i64 = redis::cmd("PTTL").arg(key).query(conn).expect("PTTL");
        if ttl >= 0 {
            expiring += 1;
        }
    }
    (keys.len() as u64, expiring)
}

/// `DBSIZE` of `db` and its `INFO keyspace` line's keys and expires (0, 0 without a line).
fn counted(conn: &mut redis::Connection, db: u8) -> (u64, u64, u64) {
    redis::cmd("SELECT")
        .arg(db)
        .query::<()>(conn)
        .expect("SELECT");
    let dbsize: u64 = redis::cmd("DBSIZE").query(conn).expect("DBSIZE");
    let info = info(conn, "keyspace");
    let prefix = format!("db{db}:keys=");
    let (keys, expires) = info
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|rest| {
            let mut parts = rest.split(',');
            let keys = parts.next().and_then(|k| k.parse().ok());
            let expires = parts
                .next()
                .and_then(|e| e.strip_prefix("expires="))
                .and_then(|e| e.parse().ok());
            match (keys, expires) {
                (Some(k), Some(e)) => (k, e),
                _ => panic!("unreadable keyspace line for db{db} in {info}"),
            }
        })
        .unwrap_or((0, 0));
    (dbsize, keys, expires)
}

/// Waits until every loaded database's counters equal what SCAN finds (expired keys are
/// counted until the sweep reclaims them, as Redis counts them until evicted), and returns
/// `(keys, expiring)` per database. A wrong counter never converges: counters only move
/// by what each commit changes.
fn counters_match_scan(cluster: &TestCluster) -> Vec<(u64, u64)> {
    let mut c = cluster.client();
    wait_for(
        "the key counters to equal a SCAN count",
        Duration::from_secs(20),
        || {
            let mut all = Vec::new();
            for db in DBS {
                let (keys, expiring) = scanned(&mut c, db);
                let (dbsize, info_keys, info_expires) = counted(&mut c, db);
                if (dbsize, info_keys, info_expires) != (keys, keys, expiring) {
                    eprintln!(
                        "db{db}: DBSIZE {dbsize}, INFO keys={info_keys},expires={info_expires}; \
                         SCAN {keys} keys, {expiring} with a TTL"
                    );
                    thread::sleep(Duration::from_millis(300));
                    return None;
                }
                all.push((keys, expiring));
            }
            Some(all)
        },
    )
}

fn counters_at_start(cluster: &TestCluster) -> String {
    let info = info(&mut cluster.client(), "storage");
    info.lines()
        .find_map(|l| l.strip_prefix("counters_at_start:"))
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no counters_at_start in {info}"))
}

fn crash_and_restart(cluster: &mut TestCluster) {
    let status = cluster.kill_storaged(Signal::SIGKILL);
    assert!(!status.success(), "{status}");
    cluster.start_storaged();
    assert_eq!(counters_at_start(cluster), "saved", "read, not recounted");
}

#[test]
fn counters_survive_sigkill_mid_load_expiry_and_flushes() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|id| {
            let (addr, stop, progress) = (cluster.addr(), stop.clone(), progress.clone());
            thread::spawn(move || load(addr, id, stop, progress))
        })
        .collect();
    let wait_progress = |amount: u64| {
        let target = progress.load(Ordering::Relaxed) + amount;
        wait_for("the load to make progress", Duration::from_secs(30), || {
            (progress.load(Ordering::Relaxed) >= target).then_some(())
        });
    };
    for _ in 0..2 {
        wait_progress(400);
        crash_and_restart(&mut cluster);
    }
    wait_progress(400);
    // Killed with writes in flight: the last groups either committed whole (keys and
    // counter record) or not at all.
    crash_and_restart(&mut cluster);
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().expect("a writer panicked");
    }

    // The 300 ms TTLs run out and the sweep reclaims them; then one more crash.
    let after_load = counters_match_scan(&cluster);
    assert!(
        after_load
            .iter()
            .all(|&(keys, expiring)| keys > 100 && expiring > 10),
        "{after_load:?}"
    );
    crash_and_restart(&mut cluster);
    assert_eq!(counters_match_scan(&cluster), after_load);

    // FLUSHDB empties one database's counters durably, and no other's.
    let mut c = cluster.client();
    expect(&mut c, &["SELECT", "2"], ok());
    expect(&mut c, &["FLUSHDB"], ok());
    crash_and_restart(&mut cluster);
    let after_flushdb = counters_match_scan(&cluster);
    assert_eq!(after_flushdb, vec![after_load[0], (0, 0)]);
    assert!(
        !info(&mut cluster.client(), "keyspace").contains("db2:"),
        "no keyspace line for an emptied database"
    );

    // FLUSHALL, then one key with a TTL.
    let mut c = cluster.client();
    expect(&mut c, &["FLUSHALL"], ok());
    expect(&mut c, &["SET", "only", "v", "EX", "1000"], ok());
    crash_and_restart(&mut cluster);
    assert_eq!(counters_match_scan(&cluster), vec![(1, 1), (0, 0)]);

    // A clean stop reads the same record.
    assert!(cluster.kill_storaged(Signal::SIGTERM).success());
    cluster.start_storaged();
    assert_eq!(counters_at_start(&cluster), "saved");
    assert_eq!(counters_match_scan(&cluster), vec![(1, 1), (0, 0)]);
}
