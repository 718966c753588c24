//! HyperLogLog commands (issue 17) against redis-server, reply for reply and byte for byte:
//! the value `GET` returns after PFADD sequences that cross from sparse to dense (one
//! element at a time, in batches, and a count over 32), PFCOUNT of 1,000,000 random
//! elements and of the union of 10 HyperLogLogs, PFMERGE (into itself, new, sparse and
//! dense destinations, no source), the cache PFCOUNT writes back, PFDEBUG and PFSELFTEST,
//! values copied between the servers with GET/SET, corrupted and non-HLL values (never a
//! crash), wrong types, MULTI/EXEC, EVAL/EVAL_RO and keyspace events; RESP2 and RESP3;
//! PFCOUNT on storaged's read path (pipelined with writes, from another client).

use std::time::Duration;

use redis::Value;
use tandem_tests::*;

/// Runs `script` (binary arguments) on both servers, in RESP2 then RESP3, from empty
/// databases, and compares every reply.
#[track_caller]
fn check_bytes(d: &Differ, script: &[Vec<Vec<u8>>]) {
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut ours = d.tandem().client_with(protocol);
        let mut theirs = d.reference().client_with(protocol);
        for conn in [&mut ours, &mut theirs] {
            run_command(conn, &["FLUSHALL"]).expect("FLUSHALL");
        }
        for (step, args) in script.iter().enumerate() {
            let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            let got = run_command_bytes(&mut ours, &args);
            let want = run_command_bytes(&mut theirs, &args);
            let shown: Vec<String> = args
                .iter()
                .map(|a| String::from_utf8_lossy(&a[..a.len().min(40)]).into_owned())
                .collect();
            assert_eq!(
                render_outcome(&got),
                render_outcome(&want),
                "({protocol:?}) step {step}: {shown:?} (tandem left, redis-server right)"
            );
        }
    }
}

/// A command of text words.
fn words(args: &[&str]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

/// `SET key value` with a binary value.
fn set(key: &str, value: &[u8]) -> Vec<Vec<u8>> {
    vec![b"SET".to_vec(), key.as_bytes().to_vec(), value.to_vec()]
}

/// Checks a script of owned words with [`Differ::check`].
#[track_caller]
fn check_owned(d: &Differ, script: &[Vec<String>]) {
    let commands: Vec<Vec<&str>> = script
        .iter()
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    let refs: Vec<&[&str]> = commands.iter().map(Vec::as_slice).collect();
    d.check(&refs);
}

fn pfadd(key: &str, elements: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut c = vec!["PFADD".to_owned(), key.to_owned()];
    c.extend(elements);
    c
}

fn cmd(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// A deterministic stream of distinct-looking elements.
struct Elements(u64);

impl Elements {
    fn next(&mut self) -> String {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        format!("el:{:x}", self.0 >> 11)
    }

    fn take(&mut self, n: usize) -> Vec<String> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// The 16-byte header of a sparse value whose cached cardinality is marked invalid.
fn sparse_header() -> Vec<u8> {
    let mut h = b"HYLL\x01\x00\x00\x00".to_vec();
    h.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0x80]);
    h
}

#[test]
fn pfadd_values_match_redis_byte_for_byte_from_sparse_to_dense() {
    let d = Differ::start();
    let mut els = Elements(1);
    let mut script = vec![cmd(&["PFADD", "h"]), cmd(&["GET", "h"])];
    // One element at a time: every split and merge of the sparse opcodes shows in GET.
    for _ in 0..250 {
        script.push(pfadd("h", els.take(1)));
        script.push(cmd(&["GET", "h"]));
    }
    script.push(cmd(&["PFCOUNT", "h"]));
    script.push(cmd(&["GET", "h"]));
    script.push(cmd(&["PFDEBUG", "DECODE", "h"]));
    // Then batches, across hll-sparse-max-bytes (3000) into the dense encoding.
    for _ in 0..40 {
        script.push(pfadd("h", els.take(50)));
        script.push(cmd(&["PFDEBUG", "ENCODING", "h"]));
        script.push(cmd(&["GET", "h"]));
        script.push(cmd(&["PFCOUNT", "h"]));
    }
    // Elements already counted change nothing (reply 0, bytes kept, cache still valid).
    let mut again = Elements(1);
    script.push(pfadd("h", again.take(100)));
    script.push(cmd(&["GET", "h"]));
    script.push(cmd(&["PFCOUNT", "h"]));
    check_owned(&d, &script);
}

#[test]
fn a_count_over_32_turns_a_small_sparse_value_dense() {
    // `e2119568080` hashes to a pattern of 35 (found by brute force over `e<n>`):
    // too large for a sparse VAL opcode.
    assert_same(&[
        &["PFADD", "h", "a", "b", "c"],
        &["PFDEBUG", "ENCODING", "h"],
        &["PFADD", "h", "e2119568080"],
        &["PFDEBUG", "ENCODING", "h"],
        &["GET", "h"],
        &["PFCOUNT", "h"],
        &["PFADD", "fresh", "e2119568080"],
        &["GET", "fresh"],
        &["PFCOUNT", "fresh", "h"],
    ]);
}

/// PFCOUNT runs on storaged's read path and hands only a stale cache to the writer: in a
/// pipeline mixing it with writes and GETs (one request to storaged), and across clients,
/// every reply and every value GET returns is redis-server's.
#[test]
fn pfcount_off_the_writer_answers_and_writes_back_as_redis() {
    let d = Differ::start();
    let pipeline = |conn: &mut redis::Connection| -> Vec<Value> {
        let mut pipe = redis::pipe();
        pipe.cmd("PFADD").arg("h").arg("a").arg("b").arg("c");
        pipe.cmd("PFCOUNT").arg("h"); // stale: computed and written back
        pipe.cmd("GET").arg("h");
        pipe.cmd("PFCOUNT").arg("h"); // valid cache
        pipe.cmd("PFCOUNT").arg("h").arg("missing");
        pipe.cmd("PFCOUNT").arg("missing");
        pipe.cmd("PFADD").arg("h").arg("d");
        pipe.cmd("GET").arg("h");
        pipe.cmd("PFCOUNT").arg("h");
        pipe.cmd("PFCOUNT").arg("h");
        pipe.cmd("GET").arg("h");
        pipe.query(conn).expect("pipeline")
    };
    let mut ours = d.tandem().client();
    let mut theirs = d.reference().client();
    for conn in [&mut ours, &mut theirs] {
        run_command(conn, &["FLUSHALL"]).expect("FLUSHALL");
    }
    assert_eq!(pipeline(&mut ours), pipeline(&mut theirs));
    // One client adds, another counts (its own requests: reads only), a third reads the
    // bytes: each count is redis-server's for the elements added so far.
    let mut counter = d.tandem().client();
    let mut reference = d.reference().client();
    for conn in [&mut ours, &mut reference] {
        run_command(conn, &["FLUSHALL"]).expect("FLUSHALL");
    }
    for i in 0..200 {
        let element = format!("e{i}");
        let args = ["PFADD", "g", element.as_str()];
        assert_eq!(
            run_command(&mut ours, &args),
            run_command(&mut reference, &args)
        );
        if i % 7 == 0 {
            let count = ["PFCOUNT", "g"];
            assert_eq!(
                run_command(&mut counter, &count),
                run_command(&mut reference, &count),
                "after {i}"
            );
            assert_eq!(
                run_command(&mut counter, &count),
                run_command(&mut reference, &count)
            );
            let get = ["GET", "g"];
            assert_eq!(
                run_command(&mut ours, &get),
                run_command(&mut reference, &get)
            );
        }
    }
}

/// While a script holds storaged's writer past `busy-reply-threshold`, a PFCOUNT whose
/// cache is valid still answers from the read path, and one that must write its cache back
/// gets BUSY at once, as a write does (it never waits past the proxy's deadline); after
/// SCRIPT KILL it counts and writes back.
#[test]
fn a_stale_pfcount_beside_a_busy_script_gets_busy() {
    const BUSY: &str =
        "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut c = cluster.client();
    expect(&mut c, &["PFADD", "fresh", "a", "b"], int(1));
    expect(&mut c, &["PFCOUNT", "fresh"], int(2));
    expect(&mut c, &["PFADD", "stale", "a", "b", "c"], int(1));
    expect(
        &mut c,
        &["CONFIG", "SET", "busy-reply-threshold", "100"],
        ok(),
    );
    let addr = cluster.addr();
    let spinning = std::thread::spawn(move || {
        let mut s = connect(&addr, None, Protocol::Resp2);
        run_command(&mut s, &["EVAL", "while true do end", "0"])
    });
    wait_for("the script to run", Duration::from_secs(10), || {
        (run_command(&mut c, &["SET", "probe", "1"]) == err(BUSY)).then_some(())
    });
    expect(&mut c, &["PFCOUNT", "fresh"], int(2));
    expect(&mut c, &["PFCOUNT", "stale"], err(BUSY));
    expect(&mut c, &["SCRIPT", "KILL"], ok());
    let killed = spinning.join().expect("the spinning client");
    assert!(killed.is_err(), "{killed:?}");
    // The killed script's client can hear of it a moment before the writer is free again:
    // BUSY until then, never anything else.
    wait_for(
        "the writer free after SCRIPT KILL",
        Duration::from_secs(5),
        || match run_command(&mut c, &["PFCOUNT", "stale"]) {
            r if r == err(BUSY) => None,
            r => {
                assert_eq!(r, int(3), "PFCOUNT stale after the kill");
                Some(())
            }
        },
    );
    expect(&mut c, &["PFCOUNT", "stale"], int(3));
    expect(
        &mut c,
        &["CONFIG", "SET", "busy-reply-threshold", "5000"],
        ok(),
    );
}

#[test]
fn pfcount_of_a_million_random_elements_matches_redis() {
    let d = Differ::start();
    let mut els = Elements(42);
    let batches: Vec<Vec<String>> = (0..1000).map(|_| els.take(1000)).collect();
    let mut counts = Vec::new();
    for mut conn in [d.tandem().client(), d.reference().client()] {
        let mut pipe = redis::pipe();
        for batch in &batches {
            pipe.cmd("PFADD").arg("big").arg(batch).ignore();
        }
        pipe.query::<()>(&mut conn).expect("pipelined PFADDs");
        let count = run_command(&mut conn, &["PFCOUNT", "big"]).expect("PFCOUNT");
        let bytes = run_command(&mut conn, &["GET", "big"]).expect("GET");
        counts.push((count, bytes));
    }
    assert_eq!(counts[0].0, counts[1].0, "PFCOUNT of 1,000,000 elements");
    assert!(counts[0].1 == counts[1].1, "the dense values differ");
    let Value::Int(n) = counts[0].0 else {
        panic!("PFCOUNT gave {:?}", counts[0].0);
    };
    // The estimate is within 2% of the truth (the standard error is 0.81%).
    assert!((n - 1_000_000).abs() < 20_000, "{n}");
}

#[test]
fn unions_of_ten_match_redis() {
    let d = Differ::start();
    let mut els = Elements(7);
    let mut script = Vec::new();
    let keys: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
    for (i, key) in keys.iter().enumerate() {
        // Sparse and dense ones, overlapping: every third shares elements with the next.
        let n = [30, 5000, 300, 1200, 8, 20000, 700, 64, 3000, 150][i];
        let mut batch = els.take(n);
        if i % 3 == 0 {
            batch.extend(Elements(99).take(200));
        }
        for chunk in batch.chunks(500) {
            script.push(pfadd(key, chunk.to_vec()));
        }
        script.push(cmd(&["PFDEBUG", "ENCODING", key]));
    }
    let mut union = vec!["PFCOUNT".to_owned()];
    union.extend(keys.iter().cloned());
    union.push("missing".to_owned());
    script.push(union.clone());
    // Several keys: nothing is modified, no cache written.
    for key in &keys {
        script.push(cmd(&["GET", key]));
    }
    let mut merge = vec!["PFMERGE".to_owned(), "all".to_owned()];
    merge.extend(keys.iter().cloned());
    script.push(merge);
    script.push(cmd(&["GET", "all"]));
    script.push(cmd(&["PFCOUNT", "all"]));
    script.push(cmd(&["GET", "all"]));
    // Sparse sources into a sparse destination stay sparse; into itself; no source.
    script.push(cmd(&["PFMERGE", "small", "u0", "u4", "u7"]));
    script.push(cmd(&["PFDEBUG", "ENCODING", "small"]));
    script.push(cmd(&["GET", "small"]));
    script.push(cmd(&["PFMERGE", "small", "small"]));
    script.push(cmd(&["GET", "small"]));
    script.push(cmd(&["PFMERGE", "u2", "u1"]));
    script.push(cmd(&["GET", "u2"]));
    script.push(cmd(&["PFMERGE", "nothing"]));
    script.push(cmd(&["GET", "nothing"]));
    script.push(cmd(&["PFCOUNT", "nothing"]));
    script.push(cmd(&["PFMERGE", "missing-too", "missing"]));
    script.push(cmd(&["GET", "missing-too"]));
    script.push(cmd(&["PFCOUNT", "u0", "u0"]));
    check_owned(&d, &script);
}

#[test]
fn pfdebug_and_pfselftest_match_redis() {
    let d = Differ::start();
    let mut els = Elements(3);
    let mut script = vec![
        cmd(&["PFDEBUG", "GETREG", "missing"]),
        cmd(&["PFDEBUG", "NOPE", "missing"]),
        pfadd("h", els.take(20)),
        cmd(&["PFDEBUG", "ENCODING", "h"]),
        cmd(&["PFDEBUG", "DECODE", "h"]),
        cmd(&["PFDEBUG", "NoPe", "h"]),
        cmd(&["PFDEBUG", "TODENSE", "h"]),
        cmd(&["GET", "h"]),
        cmd(&["PFDEBUG", "TODENSE", "h"]),
        cmd(&["PFDEBUG", "DECODE", "h"]),
        cmd(&["PFDEBUG", "ENCODING", "h"]),
        cmd(&["PFDEBUG", "GETREG", "h"]),
        // GETREG of a sparse value stores it dense.
        pfadd("g", els.take(5)),
        cmd(&["PFDEBUG", "GETREG", "g"]),
        cmd(&["GET", "g"]),
        cmd(&["PFDEBUG", "getreg", "g"]),
        cmd(&["PFDEBUG", "ENCODING"]),
        cmd(&["PFDEBUG", "ENCODING", "g", "extra"]),
        cmd(&["PFSELFTEST"]),
        cmd(&["PFSELFTEST", "x"]),
    ];
    script.push(cmd(&["PFCOUNT", "g", "h"]));
    check_owned(&d, &script);
}

#[test]
fn values_copied_with_get_and_set_work_on_both_sides() {
    let d = Differ::start();
    let mut els = Elements(11);
    let sparse = els.take(40);
    let dense = els.take(4000);
    for from_redis in [true, false] {
        let (mut from, mut to) = if from_redis {
            (d.reference().client(), d.tandem().client())
        } else {
            (d.tandem().client(), d.reference().client())
        };
        let (from, to) = (&mut from, &mut to);
        for conn in [&mut *from, &mut *to] {
            run_command(conn, &["FLUSHALL"]).expect("FLUSHALL");
        }
        for (key, batch) in [("s", &sparse), ("d", &dense)] {
            let mut c = redis::cmd("PFADD");
            c.arg(key).arg(batch);
            c.query::<i64>(from).expect("PFADD");
            let value = run_command(from, &["GET", key]).expect("GET");
            let Value::BulkString(bytes) = value else {
                panic!("GET {key} gave {value:?}");
            };
            run_command_bytes(to, &[b"SET", key.as_bytes(), &bytes]).expect("SET");
            for args in [
                &["PFCOUNT", key][..],
                &["PFADD", key, "one", "more"],
                &["PFCOUNT", key],
                &["GET", key],
            ] {
                assert_eq!(
                    run_command(from, args),
                    run_command(to, args),
                    "{args:?} after copying {key} (from redis-server: {from_redis})"
                );
            }
        }
    }
}

#[test]
fn corrupted_and_foreign_values_get_redis_errors() {
    let d = Differ::start();
    let h = sparse_header();
    let with = |body: &[u8]| [h.as_slice(), body].concat();
    let mut dense_short = b"HYLL\x00\x00\x00\x00".to_vec();
    dense_short.extend_from_slice(&[0; 8 + 100]);
    let mut dense_long = b"HYLL\x00\x00\x00\x00".to_vec();
    dense_long.extend_from_slice(&[0; 8 + 12288 + 1]);
    let mut dense_high = b"HYLL\x00\x00\x00\x00".to_vec();
    dense_high.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0x80]);
    // Registers of 63, beyond any pattern a hash gives: a valid value all the same.
    dense_high.extend_from_slice(&[0xff; 12288]);
    let mut valid_cache = b"HYLL\x01\x00\x00\x00".to_vec();
    valid_cache.extend_from_slice(&[7, 0, 0, 0, 0, 0, 0, 0, 0x7f]);
    let values: Vec<(&str, Vec<u8>)> = vec![
        ("short", b"HYLL\x01".to_vec()),
        (
            "magic",
            [b"HYLX".as_slice(), &h[4..], &[0x7f, 0xff]].concat(),
        ),
        (
            "encoding",
            [b"HYLL\x02".as_slice(), &h[5..], &[0x7f, 0xff]].concat(),
        ),
        ("dense-short", dense_short),
        ("dense-long", dense_long),
        ("dense-high", dense_high),
        ("no-opcodes", with(&[])),
        ("xzero-cut", with(&[0x7f])),
        ("one-short", with(&[0x7f, 0xfe])),
        ("val-past-end", with(&[0x7f, 0xff, 0x80])),
        ("vals-far-past", with(&[0xff; 5000])),
        ("zeros-past", with(&[0x3f; 300])),
        ("two-xzeros", with(&[0x7f, 0xff, 0x7f, 0xff])),
        ("cached-but-corrupt", valid_cache),
        ("plain", b"not a HyperLogLog at all".to_vec()),
        ("number", b"12345".to_vec()),
    ];
    let mut script = Vec::new();
    for (name, value) in &values {
        for args in [
            &["PFCOUNT", name][..],
            &["PFADD", name, "a", "b", "zz"],
            &["GET", name],
            &["PFCOUNT", name, "other"],
            &["PFMERGE", "dest", name],
            &["GET", "dest"],
            &["PFMERGE", name, "other"],
            &["PFDEBUG", "DECODE", name],
            &["PFDEBUG", "ENCODING", name],
            &["PFDEBUG", "TODENSE", name],
            &["PFDEBUG", "GETREG", name],
            &["GET", name],
        ] {
            // Each command on a fresh copy of the value.
            script.push(set(name, value));
            script.push(words(&["DEL", "dest"]));
            script.push(words(args));
        }
    }
    check_bytes(&d, &script);
    // Still serving.
    assert_eq!(
        run_command(&mut d.tandem().client(), &["PING"]),
        Ok(Value::SimpleString("PONG".into()))
    );
}

#[test]
fn wrong_types_and_arity_match_redis() {
    assert_same(&[
        &["LPUSH", "l", "a"],
        &["PFADD", "l", "x"],
        &["PFCOUNT", "l"],
        &["PFCOUNT", "missing", "l"],
        &["PFMERGE", "l", "missing"],
        &["PFMERGE", "d", "l"],
        &["EXISTS", "d"],
        &["PFDEBUG", "ENCODING", "l"],
        &["PFADD"],
        &["PFCOUNT"],
        &["PFMERGE"],
        &["PFDEBUG", "ENCODING"],
        &["PFADD", "h", "a"],
        &["TYPE", "h"],
        &["APPEND", "h", "x"],
        &["PFCOUNT", "h"],
        &["PFADD", "h", "b"],
        &["SETRANGE", "h", "4", "\u{1}"],
        &["PFCOUNT", "h"],
        &["PFCOUNT", "missing"],
        &["EXISTS", "missing"],
    ]);
}

#[test]
fn expiry_is_kept_and_expired_keys_are_gone() {
    let d = Differ::start();
    d.check(&[
        &["PFADD", "h", "a"],
        &["EXPIRE", "h", "1000"],
        &["PFADD", "h", "b", "c"],
        &["TTL", "h"],
        &["PFCOUNT", "h"],
        &["TTL", "h"],
        &["PFMERGE", "h", "h"],
        &["TTL", "h"],
        &["PFDEBUG", "TODENSE", "h"],
        &["TTL", "h"],
    ]);
    // A key that expired is missing for every command (the writes start a new one).
    let mut replies = Vec::new();
    for mut conn in [d.tandem().client(), d.reference().client()] {
        let c = &mut conn;
        run_command(c, &["FLUSHALL"]).expect("FLUSHALL");
        for key in ["a", "b", "c"] {
            run_command(c, &["PFADD", key, "x", "y"]).expect("PFADD");
            run_command(c, &["PEXPIRE", key, "20"]).expect("PEXPIRE");
        }
        std::thread::sleep(std::time::Duration::from_millis(60));
        replies.push(run_script(
            c,
            &[
                &["PFCOUNT", "a"],
                &["PFCOUNT", "a", "b"],
                &["PFADD", "b", "z"],
                &["TTL", "b"],
                &["GET", "b"],
                &["PFMERGE", "c", "b"],
                &["TTL", "c"],
                &["GET", "c"],
                &["EXISTS", "a"],
            ],
        ));
    }
    assert_eq!(replies[0], replies[1], "tandem left, redis-server right");
}

#[test]
fn hyperloglogs_in_transactions_and_scripts() {
    let d = Differ::start();
    d.check(&[
        &["MULTI"],
        &["PFADD", "m", "a", "b", "c"],
        &["PFCOUNT", "m"],
        &["PFMERGE", "n", "m", "missing"],
        &["PFCOUNT", "m", "n"],
        &["GET", "n"],
        &["LPUSH", "l", "x"],
        &["PFADD", "l", "x"],
        &["PFCOUNT", "m"],
        &["EXEC"],
        &["GET", "m"],
        &[
            "EVAL",
            "redis.call('PFADD', KEYS[1], 'x', 'y'); return redis.call('PFCOUNT', KEYS[1])",
            "1",
            "e",
        ],
        // A script's PFCOUNT writes the cache back too; EVAL_RO refuses it (scripts count
        // its may_replicate flag as a write).
        &["PFADD", "e", "z"],
        &["EVAL_RO", "return redis.call('PFCOUNT', KEYS[1])", "1", "e"],
        &["EVAL", "return redis.call('PFCOUNT', KEYS[1])", "1", "e"],
        &["GET", "e"],
        &[
            "EVAL_RO",
            "return redis.call('PFADD', KEYS[1], 'q')",
            "1",
            "e",
        ],
        &[
            "EVAL",
            "return redis.pcall('PFADD', KEYS[1], 'q')",
            "1",
            "l",
        ],
        &["SET", "bad", "HYLL\u{1}\0\0\0\0\0\0\0\0\0\0\0"],
        &["EVAL", "return redis.pcall('PFCOUNT', KEYS[1])", "1", "bad"],
        &[
            "EVAL",
            "return redis.pcall('PFDEBUG', 'ENCODING', KEYS[1])",
            "1",
            "m",
        ],
        &[
            "EVAL",
            "return redis.call('PFMERGE', KEYS[1])",
            "1",
            "fresh",
        ],
        &["GET", "fresh"],
        // WATCH: a PFADD that changes nothing leaves the key unmodified; a PFCOUNT that
        // writes its cache back modifies it.
        &["PFADD", "w", "a"],
        &["PFCOUNT", "w"],
        &["WATCH", "w"],
        &["PFADD", "w", "a"],
        &["PFCOUNT", "w"],
        &["MULTI"],
        &["PING"],
        &["EXEC"],
        &["PFADD", "w", "b"],
        &["WATCH", "w"],
        &["PFCOUNT", "w"],
        &["MULTI"],
        &["PING"],
        &["EXEC"],
    ]);
}

/// The keyspace events of `script` on the server at `addr`, with every class enabled.
fn events(addr: &str, script: &[&[&str]]) -> Vec<String> {
    const DONE: &str = "hll-events-done";
    let mut c = RawClient::connect(addr);
    c.command(&["FLUSHALL"]);
    assert_eq!(
        c.command(&["CONFIG", "SET", "notify-keyspace-events", "KEAn"]),
        "+OK\r\n"
    );
    let mut sub = RawClient::connect(addr);
    sub.command(&["PSUBSCRIBE", "__key*__:*"]);
    sub.command(&["SUBSCRIBE", DONE]);
    for step in script {
        c.command(step);
    }
    c.command(&["PUBLISH", DONE, "x"]);
    let mut got = Vec::new();
    loop {
        let message = sub.reply();
        if message.contains(DONE) {
            break;
        }
        got.push(message);
    }
    c.command(&["CONFIG", "SET", "notify-keyspace-events", ""]);
    got
}

#[test]
fn keyspace_events_match_redis() {
    let d = Differ::start();
    let script: &[&[&str]] = &[
        &["PFADD", "h", "a", "b"],
        &["PFADD", "h", "a"],
        &["PFADD", "new"],
        &["PFCOUNT", "h"],
        &["PFCOUNT", "h", "new"],
        &["PFMERGE", "m", "h", "new"],
        &["PFMERGE", "m"],
        &["PFDEBUG", "TODENSE", "m"],
        &["PFDEBUG", "GETREG", "h"],
        &["LPUSH", "l", "x"],
        &["PFADD", "l", "x"],
        &["PFMERGE", "m", "l"],
    ];
    let ours = events(&d.tandem().addr(), script);
    let theirs = events(&d.reference().addr(), script);
    assert!(!theirs.is_empty());
    assert_eq!(ours, theirs, "events (tandem left, redis-server right)");
}
