//! OBJECT ENCODING|REFCOUNT|FREQ|IDLETIME|HELP (issue 18) against redis-server 7.0, RESP2
//! and RESP3: the encoding Redis would name for each type at and past every threshold
//! (`int`/`embstr`/`raw`, `intset`/`hashtable`, `listpack`/`hashtable`,
//! `listpack`/`skiplist`, `quicklist`, `stream`), thresholds moved by CONFIG SET, shared
//! integers, the LFU/LRU policy errors, missing keys, arity and unknown subcommands.

use tandem_tests::*;

/// The encoding thresholds set alike on both sides (tandem's CONFIG defaults are not the
/// point here; the rule is).
const THRESHOLDS: &[&[&str]] = &[
    &["CONFIG", "SET", "hash-max-listpack-entries", "512"],
    &["CONFIG", "SET", "hash-max-listpack-value", "64"],
    &["CONFIG", "SET", "zset-max-listpack-entries", "128"],
    &["CONFIG", "SET", "zset-max-listpack-value", "64"],
    &["CONFIG", "SET", "set-max-intset-entries", "512"],
];

fn numbered(cmd: &str, key: &str, n: usize, value: impl Fn(usize) -> Vec<String>) -> Vec<String> {
    let mut v = vec![cmd.to_owned(), key.to_owned()];
    for i in 0..n {
        v.extend(value(i));
    }
    v
}

/// Runs `script` (owned words) through the Differ.
fn check_owned(d: &Differ, script: &[Vec<String>]) {
    let words: Vec<Vec<&str>> = script
        .iter()
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    let refs: Vec<&[&str]> = words.iter().map(Vec::as_slice).collect();
    d.check(&refs);
}

fn owned(script: &[&[&str]]) -> Vec<Vec<String>> {
    script
        .iter()
        .map(|c| c.iter().map(|w| (*w).to_owned()).collect())
        .collect()
}

#[test]
fn strings_are_int_embstr_or_raw() {
    let d = Differ::start();
    let x44 = "x".repeat(44);
    let x45 = "x".repeat(45);
    d.check(&[
        &["SET", "int", "123"],
        &["OBJECT", "ENCODING", "int"],
        &["OBJECT", "REFCOUNT", "int"],
        &["SET", "big", "10000"],
        &["OBJECT", "REFCOUNT", "big"],
        &["OBJECT", "ENCODING", "big"],
        &["SET", "neg", "-5"],
        &["OBJECT", "ENCODING", "neg"],
        &["OBJECT", "REFCOUNT", "neg"],
        &["SET", "zero", "0"],
        &["OBJECT", "REFCOUNT", "zero"],
        &["SET", "lead", "0123"],
        &["OBJECT", "ENCODING", "lead"],
        &["SET", "plus", "+1"],
        &["OBJECT", "ENCODING", "plus"],
        &["SET", "huge", "12345678901234567890"],
        &["OBJECT", "ENCODING", "huge"],
        &["SET", "min", "-9223372036854775808"],
        &["OBJECT", "ENCODING", "min"],
        &["SET", "e44", &x44],
        &["OBJECT", "ENCODING", "e44"],
        &["SET", "r45", &x45],
        &["OBJECT", "ENCODING", "r45"],
        &["OBJECT", "REFCOUNT", "r45"],
        &["INCR", "counter"],
        &["OBJECT", "ENCODING", "counter"],
        &["OBJECT", "REFCOUNT", "counter"],
        &["MSET", "m1", "7", "m2", "seven"],
        &["OBJECT", "ENCODING", "m1"],
        &["OBJECT", "ENCODING", "m2"],
        &["APPEND", "fresh", "12"],
        &["OBJECT", "ENCODING", "fresh"],
        &["SETRANGE", "sr", "0", "x".repeat(50).as_str()],
        &["OBJECT", "ENCODING", "sr"],
        &["OBJECT", "ENCODING", "nokey"],
        &["OBJECT", "REFCOUNT", "nokey"],
    ]);
}

#[test]
fn sets_are_intset_or_hashtable() {
    let d = Differ::start();
    let mut script = owned(THRESHOLDS);
    script.extend(owned(&[
        &["SADD", "ints", "1", "2", "-3"],
        &["OBJECT", "ENCODING", "ints"],
        &["SADD", "mixed", "1", "a"],
        &["OBJECT", "ENCODING", "mixed"],
        &["SADD", "lead", "01"],
        &["OBJECT", "ENCODING", "lead"],
        &["OBJECT", "REFCOUNT", "ints"],
    ]));
    // At and past set-max-intset-entries.
    script.push(numbered("SADD", "s512", 512, |i| vec![i.to_string()]));
    script.push(owned(&[&["OBJECT", "ENCODING", "s512"]]).remove(0));
    script.push(numbered("SADD", "s513", 513, |i| vec![i.to_string()]));
    script.push(owned(&[&["OBJECT", "ENCODING", "s513"]]).remove(0));
    check_owned(&d, &script);
}

#[test]
fn hashes_are_listpack_or_hashtable() {
    let d = Differ::start();
    let v64 = "v".repeat(64);
    let v65 = "v".repeat(65);
    let mut script = owned(THRESHOLDS);
    script.extend(owned(&[
        &["HSET", "small", "f", "v"],
        &["OBJECT", "ENCODING", "small"],
        &["HSET", "v64", "f", &v64],
        &["OBJECT", "ENCODING", "v64"],
        &["HSET", "v65", "f", &v65],
        &["OBJECT", "ENCODING", "v65"],
        &["HSET", "f65", &v65, "v"],
        &["OBJECT", "ENCODING", "f65"],
    ]));
    script.push(numbered("HSET", "h512", 512, |i| {
        vec![format!("f{i}"), "v".into()]
    }));
    script.push(owned(&[&["OBJECT", "ENCODING", "h512"]]).remove(0));
    script.push(numbered("HSET", "h513", 513, |i| {
        vec![format!("f{i}"), "v".into()]
    }));
    script.push(owned(&[&["OBJECT", "ENCODING", "h513"]]).remove(0));
    // A lowered threshold names the same value differently, on both sides.
    script.extend(owned(&[
        &["CONFIG", "SET", "hash-max-listpack-entries", "2"],
        &["HSET", "three", "a", "1", "b", "2", "c", "3"],
        &["OBJECT", "ENCODING", "three"],
        &["CONFIG", "SET", "hash-max-listpack-entries", "512"],
    ]));
    check_owned(&d, &script);
}

#[test]
fn sorted_sets_are_listpack_or_skiplist() {
    let d = Differ::start();
    let m64 = "m".repeat(64);
    let m65 = "m".repeat(65);
    let mut script = owned(THRESHOLDS);
    script.extend(owned(&[
        &["ZADD", "small", "1", "a"],
        &["OBJECT", "ENCODING", "small"],
        &["ZADD", "m64", "1", &m64],
        &["OBJECT", "ENCODING", "m64"],
        &["ZADD", "m65", "1", &m65],
        &["OBJECT", "ENCODING", "m65"],
        &["GEOADD", "geo", "13.361389", "38.115556", "Palermo"],
        &["OBJECT", "ENCODING", "geo"],
    ]));
    script.push(numbered("ZADD", "z128", 128, |i| {
        vec![i.to_string(), format!("m{i}")]
    }));
    script.push(owned(&[&["OBJECT", "ENCODING", "z128"]]).remove(0));
    script.push(numbered("ZADD", "z129", 129, |i| {
        vec![i.to_string(), format!("m{i}")]
    }));
    script.push(owned(&[&["OBJECT", "ENCODING", "z129"]]).remove(0));
    check_owned(&d, &script);
}

#[test]
fn lists_streams_and_hyperloglogs() {
    let d = Differ::start();
    let mut script = owned(&[
        &["RPUSH", "l", "a", "b"],
        &["OBJECT", "ENCODING", "l"],
        &["OBJECT", "REFCOUNT", "l"],
        &["XADD", "st", "1-1", "f", "v"],
        &["OBJECT", "ENCODING", "st"],
        &["OBJECT", "REFCOUNT", "st"],
        &["PFADD", "hll", "a", "b", "c"],
        &["OBJECT", "ENCODING", "hll"],
        &["SETBIT", "bits", "1000", "1"],
        &["OBJECT", "ENCODING", "bits"],
    ]);
    script.push(numbered("RPUSH", "long", 1000, |i| {
        vec![format!("element-{i}")]
    }));
    script.push(owned(&[&["OBJECT", "ENCODING", "long"]]).remove(0));
    check_owned(&d, &script);
}

#[test]
fn freq_idletime_help_and_errors() {
    let d = Differ::start();
    d.check(&[
        &["SET", "k", "v"],
        &["OBJECT", "FREQ", "k"],
        &["OBJECT", "FREQ", "nokey"],
        &["OBJECT", "IDLETIME", "nokey"],
        &["OBJECT", "HELP"],
        &["object", "help"],
        &["OBJECT", "HELP", "extra"],
        &["OBJECT", "ENCODING"],
        &["OBJECT", "ENCODING", "k", "extra"],
        &["OBJECT", "BOGUS", "k"],
        &["OBJECT"],
        &["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"],
        &["OBJECT", "IDLETIME", "k"],
        &["OBJECT", "IDLETIME", "nokey"],
        &["OBJECT", "FREQ", "nokey"],
        &["CONFIG", "SET", "maxmemory-policy", "noeviction"],
        &["MULTI"],
        &["OBJECT", "ENCODING", "k"],
        &["OBJECT", "FREQ", "k"],
        &["EXEC"],
    ]);
}

/// The parts no two servers agree on by value: IDLETIME (tandem keeps no access clock and
/// says 0; a fresh Redis key says 0 too) and FREQ under LFU (tandem: 0, no access counted).
#[test]
fn idletime_and_freq_values() {
    let c = TestCluster::start();
    let mut conn = c.client();
    expect(&mut conn, &["SET", "k", "v"], ok());
    expect(&mut conn, &["OBJECT", "IDLETIME", "k"], int(0));
    expect(
        &mut conn,
        &["CONFIG", "SET", "maxmemory-policy", "volatile-lfu"],
        ok(),
    );
    expect(&mut conn, &["OBJECT", "FREQ", "k"], int(0));
    // Sharing of small integers stops under an LRU/LFU policy with a memory limit.
    expect(&mut conn, &["SET", "n", "7"], ok());
    expect(&mut conn, &["CONFIG", "SET", "maxmemory", "100mb"], ok());
    expect(&mut conn, &["OBJECT", "REFCOUNT", "n"], int(1));
    expect(&mut conn, &["CONFIG", "SET", "maxmemory", "0"], ok());
    expect(&mut conn, &["OBJECT", "REFCOUNT", "n"], int(2_147_483_647));
}
