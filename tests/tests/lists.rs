//! List commands end to end: every command and error case with expectations written out
//! (checked against Redis 7.0), key commands on list keys, a list long enough to need
//! several scans, and differential scripts that run the same commands on tandem and a real
//! redis-server in RESP2 and RESP3 (with a raw-bytes pass where the client library cannot
//! tell a nil bulk from a nil array).

use tandem_tests::{
    bulk, bulks, err, expect, int, nil, ok, run_command, simple, Differ, RawClient, TestCluster,
    Value,
};

const NOT_INT: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";
const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const POSITIVE: &str = "ERR value is out of range, must be positive";

fn arity(name: &str) -> String {
    format!("ERR wrong number of arguments for '{name}' command")
}

fn range(c: &mut redis::Connection, key: &str) -> Vec<String> {
    match run_command(c, &["LRANGE", key, "0", "-1"]) {
        Ok(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("LRANGE item {other:?}"),
            })
            .collect(),
        other => panic!("LRANGE {key}: {other:?}"),
    }
}

fn items(list: &[&str]) -> tandem_tests::Outcome {
    bulks(&list.iter().map(|s| Some(*s)).collect::<Vec<_>>())
}

#[test]
fn every_list_command() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();

    // LPUSH / RPUSH / LPUSHX / RPUSHX
    expect(c, &["RPUSH", "l", "b", "c"], int(2));
    expect(c, &["LPUSH", "l", "a", "z"], int(4));
    assert_eq!(range(c, "l"), ["z", "a", "b", "c"]);
    expect(c, &["LPUSHX", "nokey", "a"], int(0));
    expect(c, &["RPUSHX", "nokey", "a"], int(0));
    expect(c, &["EXISTS", "nokey"], int(0));
    expect(c, &["RPUSHX", "l", "d", "e"], int(6));
    expect(c, &["LPUSHX", "l", "y"], int(7));
    expect(c, &["RPUSH", "l"], err(&arity("rpush")));
    expect(c, &["LPUSHX", "l"], err(&arity("lpushx")));
    assert_eq!(range(c, "l"), ["y", "z", "a", "b", "c", "d", "e"]);

    // LLEN / LINDEX / LRANGE
    expect(c, &["LLEN", "l"], int(7));
    expect(c, &["LLEN", "nokey"], int(0));
    expect(c, &["LINDEX", "l", "0"], bulk("y"));
    expect(c, &["LINDEX", "l", "-1"], bulk("e"));
    expect(c, &["LINDEX", "l", "-7"], bulk("y"));
    expect(c, &["LINDEX", "l", "7"], nil());
    expect(c, &["LINDEX", "l", "-8"], nil());
    expect(c, &["LINDEX", "nokey", "0"], nil());
    expect(c, &["LINDEX", "l", "x"], err(NOT_INT));
    expect(c, &["LRANGE", "l", "1", "2"], items(&["z", "a"]));
    expect(c, &["LRANGE", "l", "-2", "100"], items(&["d", "e"]));
    expect(c, &["LRANGE", "l", "-100", "0"], items(&["y"]));
    expect(c, &["LRANGE", "l", "5", "2"], items(&[]));
    expect(c, &["LRANGE", "l", "7", "9"], items(&[]));
    expect(c, &["LRANGE", "nokey", "0", "-1"], items(&[]));
    expect(c, &["LRANGE", "l", "0", "x"], err(NOT_INT));

    // LSET
    expect(c, &["LSET", "l", "0", "Y"], ok());
    expect(c, &["LSET", "l", "-1", "E"], ok());
    expect(c, &["LSET", "l", "7", "x"], err("ERR index out of range"));
    expect(c, &["LSET", "l", "-8", "x"], err("ERR index out of range"));
    expect(c, &["LSET", "nokey", "0", "x"], err("ERR no such key"));
    expect(c, &["LSET", "l", "x", "x"], err(NOT_INT));
    assert_eq!(range(c, "l"), ["Y", "z", "a", "b", "c", "d", "E"]);

    // LPOP / RPOP
    expect(c, &["LPOP", "l"], bulk("Y"));
    expect(c, &["RPOP", "l"], bulk("E"));
    expect(c, &["LPOP", "l", "2"], items(&["z", "a"]));
    expect(c, &["RPOP", "l", "2"], items(&["d", "c"]));
    expect(c, &["LPOP", "l", "0"], items(&[]));
    expect(c, &["RPOP", "l", "10"], items(&["b"]));
    expect(c, &["EXISTS", "l"], int(0));
    expect(c, &["LPOP", "l"], nil());
    expect(c, &["LPOP", "l", "-1"], err(POSITIVE));
    expect(c, &["RPOP", "l", "x"], err(POSITIVE));
    expect(c, &["LPOP", "l", "1", "2"], err(&arity("lpop")));

    // LTRIM
    expect(c, &["RPUSH", "t", "0", "1", "2", "3", "4", "5"], int(6));
    expect(c, &["LTRIM", "t", "1", "-2"], ok());
    assert_eq!(range(c, "t"), ["1", "2", "3", "4"]);
    expect(c, &["LTRIM", "t", "-100", "2"], ok());
    assert_eq!(range(c, "t"), ["1", "2", "3"]);
    expect(c, &["LTRIM", "t", "x", "2"], err(NOT_INT));
    expect(c, &["LTRIM", "nokey", "0", "1"], ok());
    expect(c, &["LTRIM", "t", "2", "1"], ok());
    expect(c, &["EXISTS", "t"], int(0));

    // LREM
    expect(
        c,
        &["RPUSH", "r", "a", "b", "a", "c", "a", "b", "a"],
        int(7),
    );
    expect(c, &["LREM", "r", "2", "a"], int(2));
    assert_eq!(range(c, "r"), ["b", "c", "a", "b", "a"]);
    expect(c, &["LREM", "r", "-1", "b"], int(1));
    assert_eq!(range(c, "r"), ["b", "c", "a", "a"]);
    expect(c, &["LREM", "r", "0", "a"], int(2));
    assert_eq!(range(c, "r"), ["b", "c"]);
    expect(c, &["LREM", "r", "0", "zz"], int(0));
    expect(c, &["LREM", "nokey", "0", "a"], int(0));
    expect(c, &["LREM", "r", "x", "a"], err(NOT_INT));
    expect(c, &["LREM", "r", "0", "b"], int(1));
    expect(c, &["LREM", "r", "1", "c"], int(1));
    expect(c, &["EXISTS", "r"], int(0));

    // LINSERT
    expect(c, &["RPUSH", "i", "a", "c"], int(2));
    expect(c, &["LINSERT", "i", "BEFORE", "c", "b"], int(3));
    expect(c, &["LINSERT", "i", "after", "c", "d"], int(4));
    expect(c, &["LINSERT", "i", "before", "a", "_"], int(5));
    expect(c, &["LINSERT", "i", "before", "zz", "x"], int(-1));
    expect(c, &["LINSERT", "nokey", "before", "a", "x"], int(0));
    expect(c, &["LINSERT", "i", "middle", "a", "x"], err(SYNTAX));
    expect(c, &["LINSERT", "i", "before", "a"], err(&arity("linsert")));
    assert_eq!(range(c, "i"), ["_", "a", "b", "c", "d"]);

    // LPOS
    expect(c, &["RPUSH", "p", "a", "b", "c", "a", "b", "a"], int(6));
    expect(c, &["LPOS", "p", "a"], int(0));
    expect(c, &["LPOS", "p", "b"], int(1));
    expect(c, &["LPOS", "p", "zz"], nil());
    expect(c, &["LPOS", "nokey", "a"], nil());
    expect(c, &["LPOS", "p", "a", "RANK", "2"], int(3));
    expect(c, &["LPOS", "p", "a", "RANK", "-1"], int(5));
    expect(c, &["LPOS", "p", "a", "RANK", "-3"], int(0));
    expect(c, &["LPOS", "p", "a", "RANK", "4"], nil());
    expect(c, &["LPOS", "p", "a", "COUNT", "0"], Ok(ints(&[0, 3, 5])));
    expect(c, &["LPOS", "p", "a", "COUNT", "2"], Ok(ints(&[0, 3])));
    expect(
        c,
        &["LPOS", "p", "a", "COUNT", "0", "RANK", "-2"],
        Ok(ints(&[3, 0])),
    );
    expect(
        c,
        &["LPOS", "p", "a", "COUNT", "0", "MAXLEN", "4"],
        Ok(ints(&[0, 3])),
    );
    expect(c, &["LPOS", "p", "a", "RANK", "-1", "MAXLEN", "2"], int(5));
    expect(c, &["LPOS", "p", "c", "RANK", "-1", "MAXLEN", "2"], nil());
    expect(c, &["LPOS", "p", "zz", "COUNT", "0"], Ok(ints(&[])));
    expect(c, &["LPOS", "nokey", "a", "COUNT", "1"], Ok(ints(&[])));
    expect(
        c,
        &["LPOS", "p", "a", "RANK", "0"],
        err(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second \
             ... or use negative to start from the end of the list",
        ),
    );
    expect(
        c,
        &["LPOS", "p", "a", "COUNT", "-1"],
        err("ERR COUNT can't be negative"),
    );
    expect(
        c,
        &["LPOS", "p", "a", "MAXLEN", "-1"],
        err("ERR MAXLEN can't be negative"),
    );
    expect(c, &["LPOS", "p", "a", "RANK"], err(SYNTAX));
    expect(c, &["LPOS", "p", "a", "BOGUS", "1"], err(SYNTAX));

    // LMOVE / RPOPLPUSH
    expect(c, &["RPUSH", "src", "1", "2", "3"], int(3));
    expect(c, &["LMOVE", "src", "dst", "LEFT", "RIGHT"], bulk("1"));
    expect(c, &["LMOVE", "src", "dst", "right", "left"], bulk("3"));
    expect(c, &["RPOPLPUSH", "src", "dst"], bulk("2"));
    expect(c, &["EXISTS", "src"], int(0));
    assert_eq!(range(c, "dst"), ["2", "3", "1"]);
    expect(c, &["LMOVE", "dst", "dst", "LEFT", "RIGHT"], bulk("2"));
    assert_eq!(range(c, "dst"), ["3", "1", "2"]);
    expect(c, &["RPOPLPUSH", "dst", "dst"], bulk("2"));
    assert_eq!(range(c, "dst"), ["2", "3", "1"]);
    expect(c, &["LMOVE", "nokey", "dst", "LEFT", "LEFT"], nil());
    expect(c, &["LMOVE", "dst", "x", "UP", "LEFT"], err(SYNTAX));

    // LMPOP
    expect(
        c,
        &["LMPOP", "2", "nokey", "dst", "LEFT"],
        Ok(Value::Array(vec![
            Value::BulkString(b"dst".to_vec()),
            Value::Array(vec![Value::BulkString(b"2".to_vec())]),
        ])),
    );
    expect(
        c,
        &["LMPOP", "1", "dst", "RIGHT", "COUNT", "5"],
        Ok(Value::Array(vec![
            Value::BulkString(b"dst".to_vec()),
            Value::Array(vec![
                Value::BulkString(b"1".to_vec()),
                Value::BulkString(b"3".to_vec()),
            ]),
        ])),
    );
    expect(c, &["LMPOP", "2", "dst", "nokey", "LEFT"], nil());
    expect(
        c,
        &["LMPOP", "0", "a", "LEFT"],
        err("ERR numkeys should be greater than 0"),
    );
    expect(
        c,
        &["LMPOP", "1", "a", "LEFT", "COUNT", "0"],
        err("ERR count should be greater than 0"),
    );
    expect(c, &["LMPOP", "2", "a", "LEFT"], err(SYNTAX));

    // WRONGTYPE everywhere
    expect(c, &["SET", "s", "v"], ok());
    for args in [
        &["LPUSH", "s", "a"][..],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s", "0"],
        &["LLEN", "s"],
        &["LINDEX", "s", "0"],
        &["LSET", "s", "0", "a"],
        &["LRANGE", "s", "0", "-1"],
        &["LTRIM", "s", "0", "1"],
        &["LREM", "s", "0", "a"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LPOS", "s", "a"],
        &["LMOVE", "s", "d", "LEFT", "LEFT"],
        &["LMPOP", "1", "s", "LEFT"],
    ] {
        expect(c, args, err(WRONGTYPE));
    }
    expect(c, &["RPUSH", "ok", "x"], int(1));
    expect(c, &["LMOVE", "ok", "s", "LEFT", "LEFT"], err(WRONGTYPE));
    expect(c, &["LLEN", "ok"], int(1));
    expect(c, &["GET", "i"], err(WRONGTYPE));
}

fn ints(list: &[i64]) -> Value {
    Value::Array(list.iter().map(|&n| Value::Int(n)).collect())
}

#[test]
fn key_commands_on_lists() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    expect(c, &["RPUSH", "l", "a", "b", "c"], int(3));
    expect(c, &["TYPE", "l"], simple("list"));
    expect(c, &["COPY", "l", "c"], int(1));
    expect(c, &["RPUSH", "c", "d"], int(4));
    assert_eq!(range(c, "l"), ["a", "b", "c"]);
    assert_eq!(range(c, "c"), ["a", "b", "c", "d"]);
    expect(c, &["RENAME", "l", "r"], ok());
    expect(c, &["EXISTS", "l"], int(0));
    expect(c, &["LPUSH", "r", "z"], int(4));
    assert_eq!(range(c, "r"), ["z", "a", "b", "c"]);
    expect(c, &["DEL", "r"], int(1));
    expect(c, &["LLEN", "r"], int(0));
    expect(c, &["RPUSH", "r", "new"], int(1));
    assert_eq!(range(c, "r"), ["new"]);
    expect(c, &["PEXPIRE", "c", "50"], int(1));
    std::thread::sleep(std::time::Duration::from_millis(120));
    expect(c, &["LLEN", "c"], int(0));
    expect(c, &["RPUSH", "c", "fresh"], int(1));
    assert_eq!(range(c, "c"), ["fresh"]);
    expect(
        c,
        &["SCAN", "0", "TYPE", "list"],
        Ok(scan_page(&["c", "r"])),
    );
}

fn scan_page(keys: &[&str]) -> Value {
    Value::Array(vec![
        Value::BulkString(b"0".to_vec()),
        Value::Array(
            keys.iter()
                .map(|k| Value::BulkString(k.as_bytes().to_vec()))
                .collect(),
        ),
    ])
}

#[test]
fn long_list_spans_many_scans() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    let n = 1000;
    for chunk in (0..n).collect::<Vec<i32>>().chunks(100) {
        let mut args = vec!["RPUSH".to_owned(), "big".to_owned()];
        args.extend(chunk.iter().map(|i| i.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_command(c, &args).expect("RPUSH");
    }
    expect(c, &["LLEN", "big"], int(n.into()));
    expect(c, &["LINDEX", "big", "500"], bulk("500"));
    expect(c, &["LINDEX", "big", "-1"], bulk("999"));
    expect(c, &["LPOS", "big", "3", "RANK", "-1"], int(3));
    expect(
        c,
        &["LPOS", "big", "998", "RANK", "-1", "MAXLEN", "2"],
        int(998),
    );
    expect(
        c,
        &["LPOS", "big", "3", "RANK", "-1", "MAXLEN", "900"],
        nil(),
    );
    expect(c, &["LREM", "big", "0", "998"], int(1));
    expect(c, &["LINSERT", "big", "AFTER", "1", "x"], int(n.into()));
    expect(
        c,
        &["LRANGE", "big", "0", "3"],
        items(&["0", "1", "x", "2"]),
    );
    expect(c, &["LRANGE", "big", "-2", "-1"], items(&["997", "999"]));
    expect(c, &["LTRIM", "big", "100", "-101"], ok());
    expect(c, &["LLEN", "big"], int(800));
    expect(c, &["LINDEX", "big", "0"], bulk("99"));
}

// ---------------------------------------------------------------------------------------
// Differential scripts: the same commands on tandem and redis-server, RESP2 and RESP3.
// ---------------------------------------------------------------------------------------

#[test]
fn differential_push_pop_index() {
    let d = Differ::start();
    d.check(&[
        &["RPUSH", "l", "a", "b", "c"],
        &["LPUSH", "l", "x", "y"],
        &["LPUSHX", "nokey", "a"],
        &["RPUSHX", "l", "z"],
        &["LLEN", "l"],
        &["LRANGE", "l", "0", "-1"],
        &["LRANGE", "l", "-3", "-2"],
        &["LRANGE", "l", "2", "1"],
        &["LRANGE", "l", "0", "9223372036854775807"],
        &["LRANGE", "l", "-9223372036854775808", "1"],
        &["LINDEX", "l", "3"],
        &["LINDEX", "l", "-9223372036854775808"],
        &["LINDEX", "l", "99"],
        &["LSET", "l", "1", "Q"],
        &["LSET", "l", "-99", "Q"],
        &["LSET", "nokey", "0", "Q"],
        &["LPOP", "l"],
        &["RPOP", "l", "2"],
        &["LPOP", "l", "0"],
        &["LPOP", "nokey", "0"],
        &["LPOP", "nokey", "3"],
        &["RPOP", "nokey"],
        &["LPOP", "l", "-3"],
        &["LPOP", "l", "100"],
        &["EXISTS", "l"],
        &["RPUSH", "t", "1", "2", "3", "4", "5"],
        &["LTRIM", "t", "1", "-2"],
        &["LRANGE", "t", "0", "-1"],
        &["LTRIM", "t", "-1", "-1"],
        &["LRANGE", "t", "0", "-1"],
        &["LTRIM", "t", "1", "0"],
        &["EXISTS", "t"],
    ]);
}

#[test]
fn differential_middle_edits_and_moves() {
    let d = Differ::start();
    d.check(&[
        &["RPUSH", "l", "a", "b", "a", "c", "a", "b", "a"],
        &["LREM", "l", "-2", "a"],
        &["LRANGE", "l", "0", "-1"],
        &["LREM", "l", "1", "b"],
        &["LREM", "l", "0", "nope"],
        &["LRANGE", "l", "0", "-1"],
        &["LINSERT", "l", "AFTER", "c", "d"],
        &["LINSERT", "l", "BEFORE", "a", "0"],
        &["LINSERT", "l", "BEFORE", "nope", "0"],
        &["LINSERT", "nokey", "BEFORE", "a", "0"],
        &["LINSERT", "l", "SIDEWAYS", "a", "0"],
        &["LRANGE", "l", "0", "-1"],
        &["RPUSH", "p", "a", "b", "a", "b", "a"],
        &["LPOS", "p", "b"],
        &["LPOS", "p", "b", "RANK", "-1"],
        &["LPOS", "p", "a", "COUNT", "0"],
        &["LPOS", "p", "a", "COUNT", "2", "RANK", "-1"],
        &["LPOS", "p", "a", "COUNT", "0", "MAXLEN", "3"],
        &["LPOS", "p", "a", "RANK", "5"],
        &["LPOS", "p", "a", "RANK", "0"],
        &["LPOS", "p", "a", "COUNT", "x"],
        &["LPOS", "p", "a", "MAXLEN", "-5"],
        &["LPOS", "p", "a", "RANK", "1.5"],
        &["LPOS", "p", "a", "RANK", "-9223372036854775808"],
        &[
            "LPOS",
            "p",
            "a",
            "RANK",
            "-9223372036854775808",
            "COUNT",
            "0",
        ],
        &["LPOS", "p", "a", "RANK", "9223372036854775807"],
        &["LPOS", "nokey", "a"],
        &["LPOS", "nokey", "a", "COUNT", "0"],
        &["LMOVE", "p", "q", "LEFT", "RIGHT"],
        &["LMOVE", "p", "p", "RIGHT", "LEFT"],
        &["RPOPLPUSH", "p", "q"],
        &["RPOPLPUSH", "nokey", "q"],
        &["LRANGE", "p", "0", "-1"],
        &["LRANGE", "q", "0", "-1"],
        &["LMPOP", "3", "nokey", "p", "q", "RIGHT", "COUNT", "10"],
        &["LMPOP", "2", "nokey", "q", "LEFT"],
        &["LMPOP", "1", "nokey", "LEFT"],
        &["LMPOP", "1", "q", "LEFT", "COUNT"],
        &["LMPOP", "1", "q", "LEFT", "COUNT", "-1"],
        &["LMPOP", "-1", "q", "LEFT"],
        &["LMPOP", "3", "q", "LEFT"],
        &["SET", "s", "v"],
        &["LMPOP", "2", "s", "q", "LEFT"],
        &["LMPOP", "2", "q", "s", "LEFT"],
        &["LMOVE", "q", "s", "LEFT", "LEFT"],
        &["LMOVE", "nokey", "s", "LEFT", "LEFT"],
        &["LRANGE", "q", "0", "-1"],
        &["TYPE", "q"],
    ]);
}

/// The client library reads `*-1` and `$-1` alike, so compare the raw bytes where Redis's
/// nil bulk and nil array differ.
#[test]
fn differential_raw_nil_shapes() {
    let d = Differ::start();
    let script: &[&[&str]] = &[
        &["RPUSH", "l", "a"],
        &["LPOP", "nokey"],
        &["LPOP", "nokey", "0"],
        &["RPOP", "nokey", "2"],
        &["LPOP", "l", "0"],
        &["LMPOP", "1", "nokey", "LEFT"],
        &["LPOS", "nokey", "a"],
        &["LPOS", "nokey", "a", "COUNT", "1"],
        &["LINDEX", "l", "5"],
        &["LMOVE", "nokey", "l", "LEFT", "LEFT"],
        &["LPOP", "l", "1"],
        &["RPOP", "l", "1"],
    ];
    for hello in [None, Some("3")] {
        let mut ours = RawClient::connect(&d.tandem().addr());
        let mut theirs = RawClient::connect(&d.reference().addr());
        for conn in [&mut ours, &mut theirs] {
            if let Some(v) = hello {
                conn.command(&["HELLO", v]);
            }
            conn.command(&["FLUSHALL"]);
        }
        for args in script {
            assert_eq!(
                ours.command(args),
                theirs.command(args),
                "{args:?} with HELLO {hello:?}"
            );
        }
    }
}
