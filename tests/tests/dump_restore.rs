//! DUMP and RESTORE (issue 18) against redis-server 7.0: payloads DUMPed by redis-server
//! RESTORE on tandem and payloads DUMPed by tandem RESTORE on redis-server, for every type
//! and each encoding threshold on both sides of it (intset 512, listpack 128 entries / 64
//! bytes, quicklist's 8 KiB nodes, integer-encoded, embstr/raw and chunked strings), then a
//! key-by-key comparison (type, value, TTL, and `OBJECT ENCODING` on redis-server, which
//! shows that tandem wrote the encoding Redis would have chosen); RESTORE's options and
//! errors reply for reply.

use std::collections::BTreeMap;

use tandem_tests::*;

type Args = Vec<Vec<u8>>;

fn cmd(parts: &[&[u8]]) -> Args {
    parts.iter().map(|p| p.to_vec()).collect()
}

fn numbered(prefix: &str, n: usize, each: impl Fn(usize) -> Vec<Vec<u8>>) -> Args {
    let mut c = vec![prefix.as_bytes().to_vec()];
    for i in 0..n {
        c.extend(each(i));
    }
    c
}

/// `command key` followed by generated arguments.
fn gen(command: &str, key: &str, n: usize, each: impl Fn(usize) -> Vec<Vec<u8>>) -> Args {
    let mut c = vec![command.as_bytes().to_vec(), key.as_bytes().to_vec()];
    c.extend(numbered("", n, each).into_iter().skip(1));
    c
}

fn s(x: impl ToString) -> Vec<u8> {
    x.to_string().into_bytes()
}

/// Every type at and around each of Redis 7.0's encoding thresholds.
fn data_set() -> Vec<Args> {
    let mut d: Vec<Args> = Vec::new();
    // Strings: integer-encoded (each integer width), not-quite-integers, embstr/raw
    // boundary, LZF-compressible, binary, empty, and chunked (over 64 KiB) values.
    for (i, v) in [
        "0",
        "-1",
        "127",
        "-128",
        "128",
        "32767",
        "-32769",
        "2147483647",
        "2147483648",
        "-9223372036854775808",
        "9223372036854775807",
        "007",
        "-0",
        "+1",
        "1.5",
        " 1",
    ]
    .iter()
    .enumerate()
    {
        d.push(cmd(&[b"SET", format!("int:{i}").as_bytes(), v.as_bytes()]));
    }
    d.push(cmd(&[b"SET", b"str:empty", b""]));
    d.push(cmd(&[b"SET", b"str:44", &[b'e'; 44]]));
    d.push(cmd(&[b"SET", b"str:45", &[b'e'; 45]]));
    d.push(cmd(&[
        b"SET",
        b"str:binary",
        &(0..=255u8).collect::<Vec<_>>(),
    ]));
    let text: Vec<u8> = (0..100_000u32)
        .flat_map(|i| format!("{i},").into_bytes())
        .collect();
    d.push(cmd(&[b"SET", b"str:compressible", &text]));
    let noise: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    d.push(cmd(&[b"SET", b"str:chunked", &noise]));
    // Lists: one node, many 8 KiB nodes, elements larger than a node, integers.
    d.push(cmd(&[
        b"RPUSH",
        b"list:small",
        b"a",
        b"b",
        b"1",
        b"-5",
        b"",
    ]));
    d.push(gen("RPUSH", "list:nodes", 2000, |i| {
        vec![s(format!("{i:>40}"))]
    }));
    d.push(gen("RPUSH", "list:ints", 3000, |i| {
        vec![s(i as i64 * 7919 - 100_000)]
    }));
    d.push(gen("RPUSH", "list:huge", 3, |i| {
        vec![vec![b'a' + i as u8; 9000]]
    }));
    // Sets: intset up to 512 integers (16, 32 and 64-bit), then a hash table.
    d.push(gen("SADD", "set:intset16", 10, |i| vec![s(i as i64 - 5)]));
    d.push(gen("SADD", "set:intset64", 5, |i| {
        vec![s(i64::MAX - i as i64)]
    }));
    d.push(gen("SADD", "set:512", 512, |i| vec![s(i * 3)]));
    d.push(gen("SADD", "set:513", 513, |i| vec![s(i * 3)]));
    d.push(cmd(&[b"SADD", b"set:strings", b"x", b"y", b"", b"12"]));
    d.push(cmd(&[b"SADD", b"set:leading-zero", b"1", b"01"]));
    // Hashes: listpack up to 128 fields of at most 64 bytes.
    d.push(gen("HSET", "hash:128", 128, |i| {
        vec![s(format!("f{i}")), s(i)]
    }));
    d.push(gen("HSET", "hash:129", 129, |i| {
        vec![s(format!("f{i}")), s(i)]
    }));
    d.push(cmd(&[
        b"HSET",
        b"hash:value64",
        b"f",
        &[b'v'; 64],
        b"n",
        b"-7",
    ]));
    d.push(cmd(&[b"HSET", b"hash:value65", b"f", &[b'v'; 65]]));
    d.push(cmd(&[b"HSET", b"hash:field65", &[b'f'; 65], b"v"]));
    d.push(cmd(&[b"HSET", b"hash:empty-parts", b"", b""]));
    // Sorted sets: listpack up to 128 members of at most 64 bytes; scores of every kind.
    d.push(gen("ZADD", "zset:128", 128, |i| {
        vec![s(i as f64 * 0.25 - 3.0), s(format!("m{i}"))]
    }));
    d.push(gen("ZADD", "zset:129", 129, |i| {
        vec![s(i as f64 * 0.25 - 3.0), s(format!("m{i}"))]
    }));
    d.push(cmd(&[
        b"ZADD",
        b"zset:scores",
        b"-inf",
        b"a",
        b"inf",
        b"b",
        b"0",
        b"c",
        b"1e300",
        b"d",
        b"-2.5e-300",
        b"e",
        b"9007199254740993",
        b"f",
        b"4503599627370496",
        b"g",
        b"0.1",
        b"h",
        b"-4503599627370495",
        b"i",
        b"123456789",
        b"j",
    ]));
    d.push(cmd(&[b"ZADD", b"zset:member64", b"1", &[b'm'; 64]]));
    d.push(cmd(&[b"ZADD", b"zset:member65", b"1", &[b'm'; 65]]));
    d.push(gen("ZADD", "zset:big", 1000, |i| {
        vec![s(i % 17), s(format!("member-{i}"))]
    }));
    // TTLs.
    d.push(cmd(&[b"SET", b"ttl:string", b"v", b"PX", b"500000"]));
    d.push(cmd(&[b"RPUSH", b"ttl:list", b"v"]));
    d.push(cmd(&[b"PEXPIRE", b"ttl:list", b"600000"]));
    d
}

fn run(conn: &mut redis::Connection, args: &[Vec<u8>]) -> Outcome {
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    run_command_bytes(conn, &refs)
}

fn load(conn: &mut redis::Connection) {
    for c in data_set() {
        let r = run(conn, &c);
        assert!(
            r.is_ok(),
            "{:?}: {}",
            String::from_utf8_lossy(&c[0]),
            render_outcome(&r)
        );
    }
}

fn bytes_of(v: &Value) -> Vec<u8> {
    match v {
        Value::BulkString(b) => b.clone(),
        Value::SimpleString(t) => t.clone().into_bytes(),
        Value::Okay => b"OK".to_vec(),
        Value::Int(n) => n.to_string().into_bytes(),
        other => panic!("not a string: {other:?}"),
    }
}

fn items(v: Outcome) -> Vec<Vec<u8>> {
    match v {
        Ok(Value::Array(a)) | Ok(Value::Set(a)) => a.iter().map(bytes_of).collect(),
        other => panic!("not an array: {}", render_outcome(&other)),
    }
}

fn int_of(v: Outcome) -> i64 {
    match v {
        Ok(Value::Int(n)) => n,
        other => panic!("not an integer: {}", render_outcome(&other)),
    }
}

fn keys(conn: &mut redis::Connection) -> Vec<Vec<u8>> {
    let mut k = items(run(conn, &cmd(&[b"KEYS", b"*"])));
    k.sort();
    k
}

/// One key as clients see it: type, value (sets and hashes sorted), TTL rounded to
/// seconds.
#[derive(Debug, PartialEq)]
struct Seen {
    kind: Vec<u8>,
    value: Vec<Vec<u8>>,
    ttl_s: i64,
}

fn seen(conn: &mut redis::Connection, key: &[u8]) -> Seen {
    let kind = bytes_of(&run(conn, &cmd(&[b"TYPE", key])).expect("TYPE"));
    let mut value = match kind.as_slice() {
        b"string" => vec![bytes_of(&run(conn, &cmd(&[b"GET", key])).expect("GET"))],
        b"list" => items(run(conn, &cmd(&[b"LRANGE", key, b"0", b"-1"]))),
        b"set" => items(run(conn, &cmd(&[b"SMEMBERS", key]))),
        b"hash" => {
            let flat = items(run(conn, &cmd(&[b"HGETALL", key])));
            flat.chunks(2)
                .map(|p| [p[0].clone(), b"=".to_vec(), p[1].clone()].concat())
                .collect()
        }
        b"zset" => items(run(
            conn,
            &cmd(&[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]),
        )),
        other => panic!("unexpected type {}", String::from_utf8_lossy(other)),
    };
    if matches!(kind.as_slice(), b"set" | b"hash") {
        value.sort();
    }
    let pttl = int_of(run(conn, &cmd(&[b"PTTL", key])));
    Seen {
        kind,
        value,
        ttl_s: if pttl < 0 {
            pttl
        } else {
            (pttl + 30_000) / 60_000
        },
    }
}

fn encoding(conn: &mut redis::Connection, key: &[u8]) -> Vec<u8> {
    bytes_of(&run(conn, &cmd(&[b"OBJECT", b"ENCODING", key])).expect("OBJECT ENCODING"))
}

/// Copies every key of `from` to `to` by DUMP + RESTORE (TTL kept, absolute).
fn transfer(from: &mut redis::Connection, to: &mut redis::Connection, suffix: &[u8]) {
    for key in keys(from) {
        let payload = bytes_of(&run(from, &cmd(&[b"DUMP", &key])).expect("DUMP"));
        let at = int_of(run(from, &cmd(&[b"PEXPIRETIME", &key])));
        let ttl = if at < 0 { b"0".to_vec() } else { s(at) };
        let target = [key.as_slice(), suffix].concat();
        let r = run(to, &cmd(&[b"RESTORE", &target, &ttl, &payload, b"ABSTTL"]));
        assert_eq!(r, ok(), "RESTORE {}", String::from_utf8_lossy(&key));
    }
}

#[test]
fn redis_dumps_restore_on_tandem() {
    let d = Differ::start();
    let mut redis = d.reference().client();
    let mut tandem = d.tandem().client();
    load(&mut redis);
    transfer(&mut redis, &mut tandem, b"");
    let want = keys(&mut redis);
    assert_eq!(
        want.len(),
        data_set().len() - 1,
        "every key loaded (one PEXPIRE)"
    );
    assert_eq!(keys(&mut tandem), want);
    for key in &want {
        assert_eq!(
            seen(&mut tandem, key),
            seen(&mut redis, key),
            "key {}",
            String::from_utf8_lossy(key)
        );
    }
}

#[test]
fn tandem_dumps_restore_on_redis_with_redis_encodings() {
    let d = Differ::start();
    let mut redis = d.reference().client();
    let mut tandem = d.tandem().client();
    load(&mut redis);
    load(&mut tandem);
    // Each key of tandem's goes to redis-server as `<key>'`, beside redis's own `<key>`.
    transfer(&mut tandem, &mut redis, b"'");
    for key in keys(&mut tandem) {
        let copy = [key.as_slice(), b"'"].concat();
        let name = String::from_utf8_lossy(&key).into_owned();
        assert_eq!(
            seen(&mut redis, &copy),
            seen(&mut tandem, &key),
            "key {name}"
        );
        assert_eq!(
            seen(&mut redis, &copy),
            seen(&mut redis, &key),
            "key {name}"
        );
        assert_eq!(
            encoding(&mut redis, &copy),
            encoding(&mut redis, &key),
            "encoding of {name}"
        );
        // Lists keep their node layout through a payload: tandem cut the quicklist where
        // redis-server cuts its own, so redis-server's DUMP of both is the same.
        if key.starts_with(b"list:") {
            assert_eq!(
                run(&mut redis, &cmd(&[b"DUMP", &copy])),
                run(&mut redis, &cmd(&[b"DUMP", &key])),
                "quicklist nodes of {name}"
            );
        }
    }
}

#[test]
fn tandem_round_trips_its_own_dumps() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    load(&mut c);
    let mut before = BTreeMap::new();
    for key in keys(&mut c) {
        before.insert(key.clone(), seen(&mut c, &key));
    }
    for key in before.keys() {
        let payload = bytes_of(&run(&mut c, &cmd(&[b"DUMP", key])).expect("DUMP"));
        let pttl = int_of(run(&mut c, &cmd(&[b"PTTL", key]))).max(0);
        assert_eq!(
            run(
                &mut c,
                &cmd(&[b"RESTORE", key, &s(pttl), &payload, b"REPLACE"])
            ),
            ok()
        );
        assert_eq!(&seen(&mut c, key), &before[key]);
    }
}

/// Redis's CRC64 (Jones, reflected, no final xor), bit by bit.
fn crc64(bytes: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &b in bytes {
        crc ^= u64::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// `body` with an RDB 10 trailer and its CRC.
fn seal(body: &[u8]) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&10u16.to_le_bytes());
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// Runs `args` on both servers and compares the replies.
fn same(redis: &mut redis::Connection, tandem: &mut redis::Connection, args: &[&[u8]]) {
    let a = run_command_bytes(redis, args);
    let b = run_command_bytes(tandem, args);
    assert_eq!(
        render_outcome(&b),
        render_outcome(&a),
        "{:?}",
        args.iter()
            .map(|a| String::from_utf8_lossy(a))
            .collect::<Vec<_>>()
    );
}

#[test]
fn options_and_errors_as_redis() {
    let d = Differ::start();
    let mut redis = d.reference().client();
    let mut tandem = d.tandem().client();
    for c in [&mut redis, &mut tandem] {
        assert_eq!(run(c, &cmd(&[b"SET", b"src", b"hello"])), ok());
        assert_eq!(run(c, &cmd(&[b"RPUSH", b"other", b"x"])), Ok(Value::Int(1)));
    }
    let payload = bytes_of(&run(&mut redis, &cmd(&[b"DUMP", b"src"])).expect("DUMP"));
    let p = payload.as_slice();
    let mut bad_crc = payload.clone();
    *bad_crc.last_mut().expect("payload") ^= 0xff;
    let mut newer = payload.clone();
    let v = newer.len() - 10;
    newer[v] = 11;
    // A correct trailer around a value that does not load: a list of 2 with 1 element.
    let broken = seal(b"\x01\x02\x01a");
    // A module value (type 7): tandem loads no modules; Redis knows none by that id.
    let module = seal(b"\x07\x81\x00\x00\x00\x00\x00\x00\x00\x01");
    let r = &mut redis;
    let t = &mut tandem;
    let script: Vec<Vec<&[u8]>> = vec![
        vec![b"DUMP", b"missing"],
        vec![b"RESTORE", b"src", b"0", p],
        vec![b"RESTORE", b"src", b"notanumber", p],
        vec![b"RESTORE", b"new", b"notanumber", p],
        vec![b"RESTORE", b"new", b"-1", p],
        vec![b"RESTORE", b"new", b"0", &bad_crc],
        vec![b"RESTORE", b"new", b"0", &newer],
        vec![b"RESTORE", b"new", b"0", b"short"],
        vec![b"RESTORE", b"new", b"0", &broken],
        vec![b"RESTORE", b"new", b"0", &module],
        vec![b"RESTORE", b"new", b"0", p, b"bogus"],
        vec![b"RESTORE", b"new", b"0", p, b"IDLETIME", b"-1"],
        vec![b"RESTORE", b"new", b"0", p, b"IDLETIME", b"x"],
        vec![b"RESTORE", b"new", b"0", p, b"FREQ", b"256"],
        vec![
            b"RESTORE",
            b"new",
            b"0",
            p,
            b"FREQ",
            b"1",
            b"IDLETIME",
            b"1",
        ],
        vec![
            b"RESTORE",
            b"new",
            b"0",
            p,
            b"IDLETIME",
            b"10",
            b"FREQ",
            b"1",
        ],
        vec![b"RESTORE", b"src", b"0", p, b"IDLETIME", b"-1"],
        vec![b"RESTORE", b"new", b"0", p, b"IDLETIME", b"100"],
        vec![b"GET", b"new"],
        vec![b"RESTORE", b"other", b"0", p, b"REPLACE", b"FREQ", b"5"],
        vec![b"TYPE", b"other"],
        vec![b"GET", b"other"],
        vec![b"RESTORE", b"other", b"1", p, b"REPLACE", b"ABSTTL"],
        vec![b"EXISTS", b"other"],
        vec![b"RESTORE", b"gone", b"1000", p, b"ABSTTL"],
        vec![b"EXISTS", b"gone"],
        vec![b"RESTORE", b"ttl", b"100000", p],
        vec![b"TTL", b"ttl"],
        vec![b"DUMP", b"ttl"],
        vec![b"RESTORE", b"ttl", b"0", p, b"REPLACE"],
        vec![b"TTL", b"ttl"],
        vec![b"DUMP"],
        vec![b"DUMP", b"a", b"b"],
        vec![b"RESTORE", b"k", b"0"],
    ];
    for args in &script {
        same(r, t, args);
    }
}
