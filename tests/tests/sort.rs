//! SORT and SORT_RO (issue 18) against redis-server 7.0, reply for reply in RESP2 and
//! RESP3: numeric and ALPHA sorts of lists, sets and sorted sets, ties, weights with
//! spaces, `inf`, `nan` and overflow, LIMIT (negative, past the end, huge), BY on keys and
//! hash fields (missing ones, `nosort`), GET (`#`, fields, missing, several), STORE (into
//! every type, empty results), option errors, wrong types, MULTI/EXEC and EVAL.

use tandem_tests::*;

/// Lists, sets and sorted sets with the same numbers, plus weights and hashes.
const DATA: &[&[&str]] = &[
    &[
        "RPUSH", "l", "3", "1", "10", "2", "-5", "1.5", "0x10", "1e2",
    ],
    &["SADD", "s", "3", "1", "10", "2", "-5", "1.5"],
    &[
        "ZADD", "z", "5", "a", "1", "b", "3", "c", "3", "d", "0", "e",
    ],
    &[
        "RPUSH", "names", "bob", "alice", "Carol", "dave", "alice2", "",
    ],
    &["MSET", "w_a", "3", "w_b", "1", "w_c", "2", "w_d", "2"],
    &["HSET", "h_a", "f", "30", "name", "A"],
    &["HSET", "h_b", "f", "10", "name", "B"],
    &["HSET", "h_c", "f", "20"],
    &["SET", "str", "x"],
    &["HSET", "hash", "a", "1"],
];

fn with_data<'a>(script: &[&'a [&'a str]]) -> Vec<&'a [&'a str]> {
    DATA.iter().copied().chain(script.iter().copied()).collect()
}

#[test]
fn numeric_and_alpha_sorts() {
    let d = Differ::start();
    d.check(&with_data(&[
        &["SORT", "l"],
        &["SORT", "l", "DESC"],
        &["SORT", "s"],
        &["SORT", "s", "desc"],
        &["SORT", "z"],
        &["SORT", "z", "ALPHA"],
        &["SORT", "z", "ALPHA", "DESC"],
        &["SORT", "names"],
        &["SORT", "names", "ALPHA"],
        &["SORT", "names", "ALPHA", "DESC"],
        &["SORT_RO", "names", "alpha"],
        &["SORT_RO", "l", "desc", "asc"],
        &["SORT", "missing"],
        &["SORT_RO", "missing", "ALPHA", "LIMIT", "0", "1"],
        &["SORT", "str"],
        &["SORT", "hash"],
        &["SORT_RO", "str", "nosuchoption"],
    ]));
}

#[test]
fn weights_ties_and_bad_numbers() {
    let d = Differ::start();
    d.check(&[
        &["RPUSH", "t", "b", "a", "c"],
        &["SORT", "t", "BY", "nokey_*"],
        &["SORT", "t", "BY", "nokey_*", "DESC"],
        &["SORT", "t", "BY", "nokey_*", "ALPHA"],
        &[
            "RPUSH", "eq", "2", "02", "2.0", " 2", "+2", "1", "inf", "-inf", "",
        ],
        &["SORT", "eq"],
        &["SORT", "eq", "DESC"],
        &["SORT", "eq", "ALPHA"],
        &["RPUSH", "bad1", "1", "2 "],
        &["SORT", "bad1"],
        &["RPUSH", "bad2", "1", "nan"],
        &["SORT", "bad2"],
        &["RPUSH", "bad3", "1", "1e400"],
        &["SORT", "bad3"],
        &["RPUSH", "bad4", "1", "abc"],
        &["SORT", "bad4"],
        &["SORT", "bad4", "ALPHA"],
        &["SORT", "bad4", "STORE", "dst"],
        &["EXISTS", "dst"],
        &["SORT", "bad4", "BY", "nosort"],
        &["MSET", "w_1", "x", "w_abc", "2"],
        &["SORT", "bad4", "BY", "w_*"],
        &["SORT", "bad4", "BY", "w_*", "ALPHA"],
    ]);
}

#[test]
fn limits() {
    let d = Differ::start();
    let mut script: Vec<&[&str]> = vec![
        &["RPUSH", "l", "5", "4", "3", "2", "1"],
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
    ];
    let limits: &[&[&str]] = &[
        &["SORT", "l", "LIMIT", "0", "2"],
        &["SORT", "l", "LIMIT", "1", "2", "DESC"],
        &["SORT", "l", "LIMIT", "-1", "2"],
        &["SORT", "l", "LIMIT", "2", "-1"],
        &["SORT", "l", "LIMIT", "4", "10"],
        &["SORT", "l", "LIMIT", "5", "1"],
        &["SORT", "l", "LIMIT", "100", "1"],
        &["SORT", "l", "LIMIT", "0", "0"],
        &["SORT", "l", "LIMIT", "1", "9223372036854775807"],
        &["SORT", "l", "LIMIT", "-9223372036854775808", "3"],
        &["SORT", "l", "LIMIT", "x", "1"],
        &["SORT", "l", "LIMIT", "1", "1.5"],
        &["SORT", "l", "LIMIT", "1"],
        &["SORT", "l", "LIMIT", "0", "2", "LIMIT", "1", "1"],
        &["SORT", "l", "BY", "nosort", "LIMIT", "1", "2"],
        &["SORT", "l", "BY", "nosort", "LIMIT", "1", "2", "DESC"],
        &["SORT", "l", "BY", "nosort", "LIMIT", "7", "2", "DESC"],
        &["SORT", "z", "BY", "nosort"],
        &["SORT", "z", "BY", "nosort", "DESC"],
        &["SORT", "z", "BY", "nosort", "LIMIT", "1", "5"],
        &["SORT", "z", "BY", "nosort", "LIMIT", "1", "1", "DESC"],
        &["SORT", "z", "BY", "nosort", "LIMIT", "3", "1", "DESC"],
        &["SORT", "z", "BY", "nosort", "GET", "#", "GET", "nope"],
    ];
    script.extend_from_slice(limits);
    d.check(&script);
}

#[test]
fn by_and_get_patterns() {
    let d = Differ::start();
    d.check(&with_data(&[
        &["RPUSH", "k", "a", "b", "c", "d", "e"],
        &["SORT", "k", "BY", "w_*"],
        &["SORT", "k", "BY", "w_*", "DESC"],
        &["SORT", "k", "BY", "w_*", "ALPHA"],
        &["SORT", "k", "BY", "w_*", "GET", "#", "GET", "w_*"],
        &["SORT", "k", "BY", "h_*->f"],
        &[
            "SORT",
            "k",
            "BY",
            "h_*->f",
            "GET",
            "h_*->name",
            "GET",
            "#",
            "GET",
            "h_*->f",
        ],
        &[
            "SORT",
            "k",
            "BY",
            "h_*->f",
            "ALPHA",
            "DESC",
            "GET",
            "h_*->nope",
        ],
        &["SORT", "k", "BY", "h_*->", "ALPHA"],
        &["SORT", "k", "ALPHA", "GET", "w_*->f"],
        &["SORT", "k", "ALPHA", "GET", "h_*"],
        &["SORT", "k", "ALPHA", "GET", "fixed"],
        &["SORT", "k", "ALPHA", "GET", "*"],
        &["SORT", "k", "BY", "nosort", "GET", "#"],
        &["SORT", "k", "BY", "nosort", "DESC", "LIMIT", "0", "2"],
        &["SORT", "k", "BY", "w_*", "BY", "nosort"],
        &["SORT", "k", "BY", "w_*", "LIMIT", "1", "2"],
        &["SORT", "k", "GET"],
        &["SORT", "k", "BY"],
        &["SORT_RO", "k", "BY", "h_*->f", "GET", "#"],
    ]));
}

#[test]
fn store() {
    let d = Differ::start();
    d.check(&with_data(&[
        &["SORT", "l", "STORE", "dst"],
        &["TYPE", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        &[
            "SORT", "names", "ALPHA", "DESC", "LIMIT", "1", "3", "STORE", "str",
        ],
        &["TYPE", "str"],
        &["LRANGE", "str", "0", "-1"],
        &["SORT", "s", "BY", "nosort", "STORE", "hash"],
        &["LRANGE", "hash", "0", "-1"],
        &["RPUSH", "k", "a", "b", "c", "d"],
        &[
            "SORT",
            "k",
            "BY",
            "w_*",
            "GET",
            "h_*->name",
            "GET",
            "#",
            "STORE",
            "g",
        ],
        &["LRANGE", "g", "0", "-1"],
        &["SORT", "missing", "STORE", "dst"],
        &["EXISTS", "dst"],
        &["SORT", "missing", "STORE", "dst"],
        &["SORT", "l", "LIMIT", "0", "0", "STORE", "g"],
        &["EXISTS", "g"],
        &["SORT", "l", "STORE", "l"],
        &["LRANGE", "l", "0", "-1"],
        &["SORT", "z", "STORE", "d1", "STORE", "d2"],
        &["EXISTS", "d1", "d2"],
        &["SORT_RO", "l", "STORE", "dst"],
        &["SORT", "l", "STORE"],
        &["SET", "x", "1"],
        &["EXPIRE", "x", "100"],
        &["SORT", "l", "STORE", "x"],
        &["TTL", "x"],
    ]));
}

#[test]
fn in_multi_and_scripts() {
    let d = Differ::start();
    d.check(&with_data(&[
        &["MULTI"],
        &["SORT", "l", "STORE", "dst"],
        &["SORT", "dst", "DESC", "LIMIT", "0", "3"],
        &["SORT_RO", "names", "ALPHA"],
        &["SORT", "str"],
        &["EXEC"],
        &[
            "EVAL",
            "return redis.call('SORT', KEYS[1], 'DESC')",
            "1",
            "l",
        ],
        &[
            "EVAL",
            "return redis.call('SORT', KEYS[1], 'BY', 'w_*', 'GET', '#', 'GET', 'h_*->f')",
            "1",
            "names",
        ],
        &[
            "EVAL",
            "return redis.call('SORT', KEYS[1], 'STORE', KEYS[2])",
            "2",
            "l",
            "d2",
        ],
        &["LRANGE", "d2", "0", "-1"],
        &[
            "EVAL_RO",
            "return redis.call('SORT_RO', KEYS[1], 'ALPHA')",
            "1",
            "names",
        ],
        &[
            "EVAL_RO",
            "return redis.call('SORT', KEYS[1], 'STORE', 'x')",
            "1",
            "l",
        ],
        &["EVAL", "return redis.pcall('SORT', KEYS[1])", "1", "str"],
        &["MULTI"],
        &["SORT", "l", "nope"],
        &["SORT", "l", "LIMIT", "x", "1"],
        &["SORT_RO", "l", "STORE", "d"],
        &["SORT", "l", "LIMIT", "0", "2"],
        &["EXEC"],
        &["SADD", "sn", "b", "10", "a", "2", "c"],
        &[
            "EVAL",
            "return redis.call('SORT', KEYS[1], 'BY', 'nosort')",
            "1",
            "sn",
        ],
        &[
            "EVAL",
            "return redis.call('SORT', KEYS[1], 'BY', 'nosort', 'DESC', 'LIMIT', 1, 2)",
            "1",
            "sn",
        ],
        &[
            "EVAL_RO",
            "return redis.call('SORT_RO', KEYS[1], 'BY', 'nokey', 'GET', '#')",
            "1",
            "sn",
        ],
        &["SORT", "sn", "BY", "nosort", "DESC", "STORE", "snd"],
        &["LRANGE", "snd", "0", "-1"],
        &[
            "COMMAND", "GETKEYS", "SORT", "k", "LIMIT", "0", "1", "GET", "store", "BY", "store",
            "STORE", "d1", "STORE", "d2",
        ],
        &["COMMAND", "GETKEYS", "SORT_RO", "k", "BY", "x"],
        &["COMMAND", "GETKEYS", "SORT", "k"],
    ]));
}

/// Every keyspace message a `__key*__:*` subscriber gets while `script` runs with all
/// events on (the same helper as `keyspace_events.rs`, kept local to this file).
fn events(addr: &str, script: &[&[&str]]) -> Vec<String> {
    const DONE: &str = "sort-events-done";
    let mut c = RawClient::connect(addr);
    c.command(&["FLUSHALL"]);
    assert_eq!(
        c.command(&["CONFIG", "SET", "notify-keyspace-events", "KEA"]),
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
    assert_eq!(
        c.command(&["CONFIG", "SET", "notify-keyspace-events", ""]),
        "+OK\r\n"
    );
    got
}

#[test]
fn store_events_match_redis() {
    let d = Differ::start();
    let script: &[&[&str]] = &[
        &["RPUSH", "l", "2", "1"],
        &["SORT", "l", "STORE", "dst"],
        &["SORT", "l", "STORE", "dst"],
        &["SORT", "missing", "STORE", "dst"],
        &["SORT", "missing", "STORE", "dst"],
        &["SET", "s", "x"],
        &["SORT", "l", "LIMIT", "0", "1", "STORE", "s"],
        &["SORT", "l", "DESC"],
        &["SORT_RO", "l"],
        &["RPUSH", "bad", "x"],
        &["SORT", "bad", "STORE", "dst"],
        &["SORT", "s", "STORE", "dst"],
    ];
    let ours = events(&d.tandem().addr(), script);
    let theirs = events(&d.reference().addr(), script);
    assert!(!theirs.is_empty());
    assert_eq!(
        ours, theirs,
        "events differ (tandem left, redis-server right)"
    );
}

/// Elements, weights and patterns with NUL bytes and hex floats: Redis's C string functions
/// stop at the NUL (`strtod`, `strcoll`, the `*` and `->` search), `memcmp` does not.
#[test]
fn binary_elements_and_patterns() {
    let d = Differ::start();
    let script: Vec<Vec<&[u8]>> = vec![
        vec![
            b"RPUSH", b"b", b"a\0z", b"a\0b", b"a", b"7\0x", b"0x10", b"0x1p-2",
        ],
        vec![b"SORT", b"b", b"ALPHA"],
        vec![b"SORT", b"b", b"ALPHA", b"STORE", b"bd"],
        vec![b"LRANGE", b"bd", b"0", b"-1"],
        vec![b"RPUSH", b"n", b"7\0x", b"0x10", b"0x1p-2", b"3"],
        vec![b"SORT", b"n"],
        vec![b"RPUSH", b"k", b"x", b"y"],
        vec![b"SET", b"w_x\0q", b"1"],
        vec![b"SET", b"w_y\0q", b"0"],
        vec![b"HSET", b"h_x", b"f\0g", b"5", b"f", b"9"],
        vec![b"SORT", b"k", b"BY", b"w_*\0q"],
        vec![
            b"SORT",
            b"k",
            b"BY",
            b"nosort\0*",
            b"GET",
            b"w_*\0q",
            b"GET",
            b"h_*->f\0g",
            b"GET",
            b"#\0",
        ],
    ];
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut ours = d.tandem().client_with(protocol);
        let mut theirs = d.reference().client_with(protocol);
        for conn in [&mut ours, &mut theirs] {
            run_command(conn, &["FLUSHALL"]).expect("FLUSHALL");
        }
        for (step, args) in script.iter().enumerate() {
            let got = run_command_bytes(&mut ours, args);
            let want = run_command_bytes(&mut theirs, args);
            assert_eq!(
                render_outcome(&got),
                render_outcome(&want),
                "({protocol:?}) step {step} (tandem left, redis-server right)"
            );
        }
    }
}

/// `keyspace_hits` and `keyspace_misses` from `INFO stats`.
fn hits_and_misses(conn: &mut redis::Connection) -> (i64, i64) {
    let text = info(conn, "stats");
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or_else(|| panic!("{name} missing from INFO stats"))
    };
    (field("keyspace_hits:"), field("keyspace_misses:"))
}

/// The sorted key and every BY/GET key count one keyspace hit or miss each, as Redis's
/// `lookupKeyRead` does (a key of another type is a hit).
#[test]
fn keyspace_hits_and_misses_as_redis() {
    let d = Differ::start();
    let setup: &[&[&str]] = &[
        &["RPUSH", "k", "a", "b", "c"],
        &["SET", "w_a", "2"],
        &["HSET", "w_b", "f", "1"],
        &["HSET", "h_a", "f", "1"],
        &["SET", "str", "x"],
    ];
    let probes: &[&[&str]] = &[
        &[
            "SORT", "k", "BY", "w_*", "GET", "#", "GET", "h_*->f", "GET", "w_*",
        ],
        &["SORT", "missing"],
        &["SORT", "str"],
        &["SORT_RO", "k", "ALPHA", "GET", "nopattern"],
        &["SORT", "k", "BY", "nosort", "GET", "h_*->f", "STORE", "d"],
    ];
    let mut ours = d.tandem().client();
    let mut theirs = d.reference().client();
    for conn in [&mut ours, &mut theirs] {
        run_command(conn, &["FLUSHALL"]).expect("FLUSHALL");
        for step in setup {
            run_command(conn, step).expect("setup");
        }
    }
    for probe in probes {
        let before = (hits_and_misses(&mut ours), hits_and_misses(&mut theirs));
        let got = run_command(&mut ours, probe);
        let want = run_command(&mut theirs, probe);
        assert_eq!(render_outcome(&got), render_outcome(&want), "{probe:?}");
        let (o, t) = (hits_and_misses(&mut ours), hits_and_misses(&mut theirs));
        assert_eq!(
            (o.0 - before.0 .0, o.1 - before.0 .1),
            (t.0 - before.1 .0, t.1 - before.1 .1),
            "hits/misses of {probe:?} (tandem left, redis-server right)"
        );
    }
}
