//! Streams in Redis's serialization format (issues 16 and 18): `DUMP` on redis-server 7.0 →
//! `RESTORE` on tandem and back, `import-rdb` of an RDB redis-server wrote, `export-rdb`
//! loaded by redis-server, `MIGRATE` of stream keys to redis-server, each checked with
//! `XINFO STREAM key FULL COUNT 0` (every entry, group, PEL entry and consumer, with their
//! delivery and seen times, which the payload carries exactly), `XINFO GROUPS`, `XRANGE`,
//! and what the next `XADD`/`XREADGROUP` does on both sides; and corrupt stream payloads
//! answered with `ERR Bad data format`, never a crash.
//!
//! The streams cover: plain entries with same and different fields, consumer groups with
//! pending entries on several consumers (delivered once and claimed again), a consumer
//! without pending entries, a `NOACK` reader, `ENTRIESREAD`, deleted entries (first,
//! middle, last), streams emptied by `XDEL` and by `XTRIM`, an `MKSTREAM` stream that never
//! had an entry, `XSETID` counters, binary and integer-looking fields, and a big stream of
//! many listpack nodes. `radix-tree-nodes` of the big stream is left out of the comparison
//! on tandem's side: tandem estimates it (docs/ENCODING.md, Stream, "XINFO"); everything
//! else, `radix-tree-keys` included, must be equal.

use std::path::{Path, PathBuf};
use std::process::Command;

use tandem_tests::*;

/// How far apart idle times, and times the two servers took themselves after the
/// transfer (the next `XREADGROUP`'s), may be.
const TOLERANCE_MS: i64 = 1_000;

/// Integers above this are unix times in milliseconds (2001 on).
const UNIX_MS: i64 = 1_000_000_000_000;

fn v(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
}

/// Every stream shape, as the commands that build it (explicit ids, so both servers hold
/// the same ids).
fn scenarios() -> Vec<(&'static str, Vec<Vec<String>>)> {
    let mut out = Vec::new();
    let mut s = Vec::new();
    for i in 1..=6 {
        let f = if i % 3 == 0 { "other" } else { "a" };
        s.push(v(&[
            "XADD",
            "st:plain",
            &format!("{i}-{}", i % 2),
            f,
            &i.to_string(),
            "b",
            "text",
        ]));
    }
    out.push(("st:plain", s));

    let mut s = Vec::new();
    for i in 1..=20 {
        s.push(v(&[
            "XADD",
            "st:groups",
            &format!("100-{i}"),
            "f",
            &format!("v{i}"),
        ]));
    }
    s.extend([
        v(&["XGROUP", "CREATE", "st:groups", "g1", "0"]),
        v(&[
            "XREADGROUP",
            "GROUP",
            "g1",
            "alice",
            "COUNT",
            "5",
            "STREAMS",
            "st:groups",
            ">",
        ]),
        v(&[
            "XREADGROUP",
            "GROUP",
            "g1",
            "bob",
            "COUNT",
            "3",
            "STREAMS",
            "st:groups",
            ">",
        ]),
        v(&["XACK", "st:groups", "g1", "100-2"]),
        v(&["XCLAIM", "st:groups", "g1", "bob", "0", "100-3"]),
        v(&["XGROUP", "CREATECONSUMER", "st:groups", "g1", "carol"]),
        v(&[
            "XGROUP",
            "CREATE",
            "st:groups",
            "g2",
            "$",
            "ENTRIESREAD",
            "15",
        ]),
        v(&["XGROUP", "CREATE", "st:groups", "g3", "0"]),
        v(&[
            "XREADGROUP",
            "GROUP",
            "g3",
            "dave",
            "COUNT",
            "4",
            "NOACK",
            "STREAMS",
            "st:groups",
            ">",
        ]),
        v(&["XGROUP", "CREATE", "st:groups", "g4", "100-7"]),
    ]);
    out.push(("st:groups", s));

    let mut s = Vec::new();
    for i in 1..=30 {
        s.push(v(&[
            "XADD",
            "st:deleted",
            &format!("{i}-0"),
            "f",
            &i.to_string(),
        ]));
    }
    s.push(v(&["XDEL", "st:deleted", "1-0", "15-0", "29-0"]));
    s.push(v(&["XGROUP", "CREATE", "st:deleted", "g", "10-0"]));
    out.push(("st:deleted", s));

    out.push((
        "st:xdel-empty",
        vec![
            v(&["XADD", "st:xdel-empty", "5-1", "f", "v"]),
            v(&["XADD", "st:xdel-empty", "5-2", "f", "v"]),
            v(&["XGROUP", "CREATE", "st:xdel-empty", "g", "0"]),
            v(&[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "STREAMS",
                "st:xdel-empty",
                ">",
            ]),
            v(&["XDEL", "st:xdel-empty", "5-1", "5-2"]),
        ],
    ));
    out.push((
        "st:xtrim-empty",
        vec![
            v(&["XADD", "st:xtrim-empty", "7-0", "f", "v"]),
            v(&["XADD", "st:xtrim-empty", "8-0", "f", "v"]),
            v(&["XTRIM", "st:xtrim-empty", "MAXLEN", "0"]),
        ],
    ));
    out.push((
        "st:mkstream",
        vec![v(&[
            "XGROUP",
            "CREATE",
            "st:mkstream",
            "g",
            "$",
            "MKSTREAM",
        ])],
    ));
    out.push((
        "st:setid",
        vec![
            v(&["XADD", "st:setid", "3-3", "f", "v"]),
            v(&[
                "XSETID",
                "st:setid",
                "99-0",
                "ENTRIESADDED",
                "50",
                "MAXDELETEDID",
                "10-0",
            ]),
        ],
    ));
    out.push((
        "st:binary",
        vec![
            v(&[
                "XADD",
                "st:binary",
                "1-0",
                "",
                "",
                "-0",
                "007",
                "9223372036854775807",
                "-9223372036854775808",
            ]),
            v(&[
                "XADD",
                "st:binary",
                "2-0",
                "ünï",
                "\u{1}\u{0}\u{7f}",
                "12",
                "-4097",
            ]),
        ],
    ));

    // Many listpack nodes (100 entries each), alternating field sets, holes, a busy group.
    let mut s = Vec::new();
    for i in 0..1000 {
        let mut c = v(&["XADD", "st:big", &format!("{}-{}", 1000 + i / 3, i % 3)]);
        if i % 7 == 0 {
            c.extend(v(&["x", &i.to_string()]));
        } else {
            c.extend(v(&[
                "f0",
                &format!("value-{i}"),
                "f1",
                &(i * 31).to_string(),
            ]));
        }
        s.push(c);
    }
    s.push(v(&[
        "XDEL", "st:big", "1000-0", "1100-1", "1200-2", "1300-0",
    ]));
    s.push(v(&["XGROUP", "CREATE", "st:big", "g", "0"]));
    for (consumer, count) in [("c1", "100"), ("c2", "150"), ("c3", "50")] {
        s.push(v(&[
            "XREADGROUP",
            "GROUP",
            "g",
            consumer,
            "COUNT",
            count,
            "STREAMS",
            "st:big",
            ">",
        ]));
    }
    s.push(v(&["XACK", "st:big", "g", "1001-0", "1002-2"]));
    out.push(("st:big", s));
    out
}

fn build(conn: &mut redis::Connection) {
    for (_, script) in scenarios() {
        for args in script {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let r = run_command(conn, &a);
            assert!(r.is_ok(), "{a:?}: {}", render_outcome(&r));
        }
    }
}

fn keys() -> Vec<&'static str> {
    scenarios().into_iter().map(|(k, _)| k).collect()
}

/// `value`, with the value of every `name` field replaced by nil (RESP2 maps are flat
/// arrays; RESP3 maps are maps).
fn mask(value: Value, name: &[u8]) -> Value {
    match value {
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            let mut hide = false;
            for item in items {
                let is_name = matches!(&item, Value::BulkString(n) if n == name);
                out.push(if hide { Value::Nil } else { mask(item, name) });
                hide = is_name;
            }
            Value::Array(out)
        }
        Value::Map(pairs) => Value::Map(
            pairs
                .into_iter()
                .map(|(k, x)| {
                    if matches!(&k, Value::BulkString(n) if n == name) {
                        (k, Value::Nil)
                    } else {
                        (k, mask(x, name))
                    }
                })
                .collect(),
        ),
        other => other,
    }
}

/// Equal, but `idle` fields and unix times within [`TOLERANCE_MS`].
fn similar(a: &Value, b: &Value, field: Option<&[u8]>) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            x == y
                || ((field == Some(b"idle") || (*x > UNIX_MS && *y > UNIX_MS))
                    && (x - y).abs() <= TOLERANCE_MS)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).enumerate().all(|(i, (p, q))| {
                    let name = match i.checked_sub(1).map(|j| &x[j]) {
                        Some(Value::BulkString(n)) => Some(n.as_slice()),
                        _ => None,
                    };
                    similar(p, q, name)
                })
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|((k1, v1), (k2, v2))| {
                    let name = match k1 {
                        Value::BulkString(n) => Some(n.as_slice()),
                        _ => None,
                    };
                    k1 == k2 && similar(v1, v2, name)
                })
        }
        _ => a == b,
    }
}

/// What a client sees of stream `key`: the full XINFO, its groups, their consumers,
/// XRANGE, XLEN and TYPE.
fn view(conn: &mut redis::Connection, key: &str) -> Vec<Outcome> {
    let mut out = vec![run_command(
        conn,
        &["XINFO", "STREAM", key, "FULL", "COUNT", "0"],
    )];
    let groups = run_command(conn, &["XINFO", "GROUPS", key]);
    let names: Vec<String> = match &groups {
        Ok(Value::Array(gs)) => gs
            .iter()
            .filter_map(|g| match g {
                Value::Array(f) => f.chunks(2).find_map(|p| match p {
                    [Value::BulkString(n), Value::BulkString(name)] if n == b"name" => {
                        Some(String::from_utf8_lossy(name).into_owned())
                    }
                    _ => None,
                }),
                _ => None,
            })
            .collect(),
        other => panic!("XINFO GROUPS {key}: {}", render_outcome(other)),
    };
    out.push(groups);
    for g in names {
        out.push(run_command(conn, &["XINFO", "CONSUMERS", key, &g]));
        out.push(run_command(conn, &["XPENDING", key, &g]));
    }
    out.push(run_command(conn, &["XRANGE", key, "-", "+"]));
    out.push(run_command(conn, &["XLEN", key]));
    out.push(run_command(conn, &["TYPE", key]));
    out
}

#[track_caller]
fn assert_views(
    ours: &mut redis::Connection,
    our_key: &str,
    theirs: &mut redis::Connection,
    their_key: &str,
    what: &str,
    masked: &[&[u8]],
) {
    // tandem estimates radix-tree-nodes of a stream of many nodes.
    let mut masked = masked.to_vec();
    if our_key.starts_with("st:big") {
        masked.push(b"radix-tree-nodes");
    }
    let hide = |outcomes: Vec<Outcome>| -> Vec<Outcome> {
        outcomes
            .into_iter()
            .map(|o| o.map(|x| masked.iter().fold(x, |x, name| mask(x, name))))
            .collect()
    };
    let got = hide(view(ours, our_key));
    let want = hide(view(theirs, their_key));
    assert_eq!(got.len(), want.len(), "{what} {our_key}: number of groups");
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let same = match (g, w) {
            (Ok(a), Ok(b)) => similar(a, b, None),
            _ => g == w,
        };
        if !same {
            let (g, w) = (render_outcome(g), render_outcome(w));
            let at = g
                .bytes()
                .zip(w.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            let from = at.saturating_sub(200);
            panic!(
                "{what} {our_key}, reply {i} differs at byte {at}:\n  got:  …{}\n  want: …{}",
                &g[from..(at + 200).min(g.len())],
                &w[from..(at + 200).min(w.len())]
            );
        }
    }
}

fn bytes_of(o: Outcome) -> Vec<u8> {
    match o {
        Ok(Value::BulkString(b)) => b,
        other => panic!("not a bulk string: {}", render_outcome(&other)),
    }
}

fn dump(conn: &mut redis::Connection, key: &str) -> Vec<u8> {
    bytes_of(run_command(conn, &["DUMP", key]))
}

fn restore(conn: &mut redis::Connection, key: &str, payload: &[u8]) -> Outcome {
    run_command_bytes(conn, &[b"RESTORE", key.as_bytes(), b"0", payload])
}

/// The same next steps on both sides: an entry added after the last id, the groups' next
/// reads; replies and views must stay equal.
fn continue_both(
    ours: &mut redis::Connection,
    our_key: &str,
    theirs: &mut redis::Connection,
    their_key: &str,
) {
    for (conn, key) in [(&mut *ours, our_key), (&mut *theirs, their_key)] {
        let r = run_command(conn, &["XADD", key, "5000000-0", "f0", "new", "f1", "1"]);
        assert!(r.is_ok(), "XADD on {key}: {}", render_outcome(&r));
    }
    for g in ["g", "g1", "g3"] {
        let a = run_command(
            ours,
            &[
                "XREADGROUP",
                "GROUP",
                g,
                "zed",
                "COUNT",
                "3",
                "STREAMS",
                our_key,
                ">",
            ],
        );
        let b = run_command(
            theirs,
            &[
                "XREADGROUP",
                "GROUP",
                g,
                "zed",
                "COUNT",
                "3",
                "STREAMS",
                their_key,
                ">",
            ],
        );
        let strip = |o: Outcome, k: &str| render_outcome(&o).replace(k, "KEY");
        assert_eq!(
            strip(a, our_key),
            strip(b, their_key),
            "XREADGROUP {g} after the transfer"
        );
    }
}

#[test]
fn redis_stream_dumps_restore_on_tandem_and_back() {
    let d = Differ::start();
    let mut redis = d.reference().client();
    let mut tandem = d.tandem().client();
    build(&mut redis);
    for key in keys() {
        let payload = dump(&mut redis, key);
        assert_eq!(restore(&mut tandem, key, &payload), ok(), "RESTORE {key}");
        assert_views(&mut tandem, key, &mut redis, key, "redis → tandem", &[]);
        // Back: tandem's payload restores on redis-server into the same stream, node
        // layout included (redis-server's own view, radix-tree-nodes and all).
        let back = format!("{key}:back");
        let ours = dump(&mut tandem, key);
        assert_eq!(
            restore(&mut redis, &back, &ours),
            ok(),
            "RESTORE {back} on redis"
        );
        assert_eq!(
            run_command(&mut redis, &["XINFO", "STREAM", key, "FULL", "COUNT", "0"]),
            run_command(
                &mut redis,
                &["XINFO", "STREAM", &back, "FULL", "COUNT", "0"]
            ),
            "redis → tandem → redis: {key}"
        );
        continue_both(&mut tandem, key, &mut redis, key);
        assert_views(
            &mut tandem,
            key,
            &mut redis,
            key,
            "after the next XADD",
            &[],
        );
    }
}

#[test]
fn tandem_stream_dumps_restore_on_redis() {
    let d = Differ::start();
    let mut redis = d.reference().client();
    let mut tandem = d.tandem().client();
    build(&mut tandem);
    for key in keys() {
        let payload = dump(&mut tandem, key);
        assert_eq!(
            restore(&mut redis, key, &payload),
            ok(),
            "RESTORE {key} on redis"
        );
        assert_views(&mut tandem, key, &mut redis, key, "tandem → redis", &[]);
        continue_both(&mut tandem, key, &mut redis, key);
        // tandem writes no deleted entries into a node, so when XDEL left holes in a full
        // tail node, redis-server fills the node up where tandem opens a new one.
        assert_views(
            &mut tandem,
            key,
            &mut redis,
            key,
            "after the next XADD",
            &[b"radix-tree-keys"],
        );
        // And tandem restores its own payload (REPLACE) to the same stream.
        let copy = format!("{key}:copy");
        let own = dump(&mut tandem, key);
        assert_eq!(restore(&mut tandem, &copy, &own), ok());
        let mut again = d.tandem().client();
        assert_views(&mut tandem, &copy, &mut again, key, "tandem → tandem", &[]);
    }
}

/// redis-server's `SAVE`d RDB file.
fn save(conn: &mut redis::Connection) -> PathBuf {
    assert_eq!(run_command(conn, &["SAVE"]), ok());
    let setting = |conn: &mut redis::Connection, name: &str| match run_command(
        conn,
        &["CONFIG", "GET", name],
    ) {
        Ok(Value::Array(a)) if a.len() == 2 => match &a[1] {
            Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("CONFIG GET {name}: {other:?}"),
        },
        other => panic!("CONFIG GET {name}: {}", render_outcome(&other)),
    };
    let dir = setting(conn, "dir");
    Path::new(&dir).join(setting(conn, "dbfilename"))
}

#[test]
fn redis_rdb_with_streams_imports() {
    let reference = RedisServer::start();
    let mut redis = reference.client();
    build(&mut redis);
    let rdb = save(&mut redis);
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    cluster.kill_storaged(Signal::SIGTERM);
    let out = Command::new(binary("tandem-storaged"))
        .arg("import-rdb")
        .arg(&rdb)
        .arg("--data-dir")
        .arg(cluster.data_dir())
        .output()
        .expect("run tandem-storaged import-rdb");
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!("imported {} keys", keys().len())),
        "{said}"
    );
    cluster.start_storaged();
    let mut tandem = cluster.client();
    for key in keys() {
        assert_views(&mut tandem, key, &mut redis, key, "import-rdb", &[]);
        continue_both(&mut tandem, key, &mut redis, key);
        assert_views(
            &mut tandem,
            key,
            &mut redis,
            key,
            "import-rdb, then XADD",
            &[],
        );
    }
}

/// A redis-server started on an RDB file, killed when dropped.
struct LoadedRedis(std::process::Child, u16);

impl Drop for LoadedRedis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn redis_on_file(dir: &Path, name: &str) -> LoadedRedis {
    let port = free_port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(dir)
        .args(["--dbfilename", name, "--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn redis-server");
    let server = LoadedRedis(child, port);
    let addr = format!("127.0.0.1:{port}");
    wait_for("redis-server to load the RDB", START_TIMEOUT, || {
        let mut c = try_connect(&addr, None, Protocol::Resp2).ok()?;
        (run_command(&mut c, &["PING"]).ok()? == Value::SimpleString("PONG".into())).then_some(())
    });
    server
}

#[test]
fn exported_streams_load_in_redis() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut tandem = cluster.client();
    build(&mut tandem);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("export.rdb");
    let out = Command::new(binary("tandem-storaged"))
        .arg("export-rdb")
        .arg(&file)
        .arg("--socket")
        .arg(cluster.socket_path())
        .arg("--data-dir")
        .arg(cluster.data_dir())
        .output()
        .expect("run tandem-storaged export-rdb");
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains(&format!("exported {} keys", keys().len())),
        "{said}"
    );
    let loaded = redis_on_file(dir.path(), "export.rdb");
    let mut redis = connect(&format!("127.0.0.1:{}", loaded.1), None, Protocol::Resp2);
    for key in keys() {
        assert_views(&mut tandem, key, &mut redis, key, "export-rdb", &[]);
    }
}

#[test]
fn migrate_moves_streams_to_redis() {
    let d = Differ::start();
    let mut tandem = d.tandem().client();
    build(&mut tandem);
    let target = RedisServer::start();
    let port = target.port().to_string();
    let mut args = vec![
        "MIGRATE",
        "127.0.0.1",
        &port,
        "",
        "0",
        "5000",
        "COPY",
        "KEYS",
    ];
    let all = keys();
    args.extend(all.iter().copied());
    assert_eq!(run_command(&mut tandem, &args), ok());
    let mut redis = target.client();
    for key in keys() {
        assert_views(&mut tandem, key, &mut redis, key, "MIGRATE", &[]);
    }
    // Without COPY the source goes; REPLACE overwrites the target's copy.
    assert_eq!(
        run_command(
            &mut tandem,
            &[
                "MIGRATE",
                "127.0.0.1",
                &port,
                "st:groups",
                "0",
                "5000",
                "REPLACE"
            ]
        ),
        ok()
    );
    assert_eq!(run_command(&mut tandem, &["EXISTS", "st:groups"]), int(0));
    assert_eq!(run_command(&mut redis, &["XLEN", "st:groups"]), int(20));
}

/// A payload's body (type byte and value) sealed with an RDB 10 trailer and its CRC64.
fn seal(body: &[u8]) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&10u16.to_le_bytes());
    let mut crc = 0u64;
    for &b in &p {
        crc ^= u64::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
        }
    }
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// `(length of the length prefix, string length)` of the RDB string at `at` (plain form).
fn string_at(p: &[u8], at: usize) -> (usize, usize) {
    match p[at] >> 6 {
        0 => (1, usize::from(p[at] & 0x3f)),
        1 => (2, usize::from(p[at] & 0x3f) << 8 | usize::from(p[at + 1])),
        2 => (
            5,
            u32::from_be_bytes([p[at + 1], p[at + 2], p[at + 3], p[at + 4]]) as usize,
        ),
        _ => panic!("an encoded string at {at}"),
    }
}

#[test]
fn corrupt_stream_payloads_are_bad_data_and_never_crash() {
    let d = Differ::start();
    let mut redis = d.reference().client();
    let mut tandem = d.tandem().client();
    // Plain strings in the payload, so the test can edit them.
    assert_eq!(
        run_command(&mut redis, &["CONFIG", "SET", "rdbcompression", "no"]),
        ok()
    );
    build(&mut redis);
    let good = dump(&mut redis, "st:groups");
    let body = &good[..good.len() - 10];
    // Type, node count, node key (16), the listpack.
    assert_eq!(&body[..3], b"\x13\x01\x10");
    let (prefix, lp_len) = string_at(body, 19);
    let after_lp = 19 + prefix + lp_len;
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    // A node key of 15 bytes.
    let mut short_key = vec![0x13, 0x01, 0x0f];
    short_key.extend_from_slice(&body[3..18]);
    short_key.extend_from_slice(&body[19..]);
    cases.push(("short node key", seal(&short_key)));
    // An empty listpack as the node.
    let mut empty = body[..19].to_vec();
    empty.extend_from_slice(b"\x07\x07\x00\x00\x00\x00\x00\xff");
    empty.extend_from_slice(&body[after_lp..]);
    cases.push(("empty listpack", seal(&empty)));
    // The same node twice.
    let mut twice = vec![0x13, 0x02];
    twice.extend_from_slice(&body[2..after_lp]);
    twice.extend_from_slice(&body[2..]);
    cases.push(("node key re-added", seal(&twice)));
    for (what, payload) in &cases {
        for (conn, who) in [(&mut redis, "redis-server"), (&mut tandem, "tandem")] {
            assert_eq!(
                run_command_bytes(conn, &[b"RESTORE", b"bad", b"0", payload]),
                err("ERR Bad data format"),
                "{what} on {who}"
            );
        }
    }
    // Any byte of the value changed (the payload resealed): tandem loads a stream it can
    // serve or answers Bad data format, and keeps serving.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut loaded, mut refused) = (0, 0);
    for round in 0..400 {
        let mut b = body.to_vec();
        for _ in 0..1 + round % 3 {
            if b.len() < 2 {
                break;
            }
            let at = 1 + (next() as usize) % (b.len() - 1);
            match next() % 4 {
                0 => b.truncate(at),
                1 => b.insert(at, next() as u8),
                _ => b[at] = next() as u8,
            }
        }
        let payload = seal(&b);
        match run_command_bytes(
            &mut tandem,
            &[b"RESTORE", b"fuzz", b"0", &payload, b"REPLACE"],
        ) {
            Ok(Value::Okay) => {
                loaded += 1;
                for probe in [
                    &["XINFO", "STREAM", "fuzz", "FULL"][..],
                    &["XRANGE", "fuzz", "-", "+"],
                    &["XINFO", "GROUPS", "fuzz"],
                ] {
                    let r = run_command(&mut tandem, probe);
                    assert!(
                        r.is_ok(),
                        "round {round}, {probe:?}: {}",
                        render_outcome(&r)
                    );
                }
                let again = dump(&mut tandem, "fuzz");
                assert_eq!(
                    run_command_bytes(
                        &mut tandem,
                        &[b"RESTORE", b"fuzz2", b"0", &again, b"REPLACE"]
                    ),
                    ok(),
                    "round {round}: tandem's own payload of what it loaded"
                );
            }
            other => {
                refused += 1;
                assert_eq!(other, err("ERR Bad data format"), "round {round}");
            }
        }
    }
    assert!(
        refused > 0 && loaded + refused == 400,
        "{loaded} loaded, {refused} refused"
    );
    assert_eq!(run_command(&mut tandem, &["PING"]), simple("PONG"));
}
