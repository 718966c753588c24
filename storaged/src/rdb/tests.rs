//! DUMP payloads captured from redis-server 7.0.15 (`DUMP` over a socket, default
//! configuration), and round trips.

use proptest::prelude::*;

use super::*;

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

#[test]
fn crc64_is_redis_jones() {
    // Redis's `crc64` test vector.
    assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 251) as u8).collect();
    assert_eq!(crc64(&data), tandem_scripting::dump::crc64(&data));
    assert_eq!(
        crc64_update(crc64(&data[..1234]), &data[1234..]),
        crc64(&data)
    );
}

#[test]
fn redis_payloads_load() {
    let cases: Vec<(&[u8], Value)> = vec![
        // SET s <100 × a>: LZF-compressed.
        (
            b"\x00\xc3\t@d\x01aa\xe0W\x00\x01aa\n\x00\xe8\xa3\xb5\x07\xb0m\xf2q",
            Value::String(vec![b'a'; 100]),
        ),
        // SET i 12345: integer-encoded.
        (
            b"\x00\xc190\n\x00\x9d\x94\xea'\x93\xfc\x08\xb9",
            Value::String(b("12345")),
        ),
        // RPUSH l a b 1 -5: quicklist 2, one listpack node.
        (
            b"\x12\x01\x02\x12\x12\x00\x00\x00\x04\x00\x81a\x02\x81b\x02\x01\x01\xdf\xfb\x02\xff\n\x00\xea\x1dJK#\xde2\xd3",
            Value::List(vec![b("a"), b("b"), b("1"), b("-5")]),
        ),
        // SADD si 1 2 -3: intset.
        (
            b"\x0b\x0e\x02\x00\x00\x00\x03\x00\x00\x00\xfd\xff\x01\x00\x02\x00\n\x00\xd1\xb7\x8e\xd9\xbc\x07\xc2\x7f",
            Value::Set(vec![b("-3"), b("1"), b("2")]),
        ),
        // HSET h f v n 7: listpack.
        (
            b"\x10\x12\x12\x00\x00\x00\x04\x00\x81f\x02\x81v\x02\x81n\x02\x07\x01\xff\n\x00\xb8*\xde\xa8@\x7f\xfa\xa8",
            Value::Hash(vec![(b("f"), b("v")), (b("n"), b("7"))]),
        ),
        // ZADD z 1.5 m 2 n -inf o: listpack, in rank order.
        (
            b"\x11\x1d\x1d\x00\x00\x00\x06\x00\x81o\x02\x84-inf\x05\x81m\x02\x831.5\x04\x81n\x02\x02\x01\xff\n\x00h\xae_\xea\xa6\x01\xfa\xba",
            Value::ZSet(vec![
                (b("o"), f64::NEG_INFINITY),
                (b("m"), 1.5),
                (b("n"), 2.0),
            ]),
        ),
        // SADD ss x y: a plain set (7.0 has no listpack sets).
        (
            b"\x02\x02\x01x\x01y\n\x00\xac:\x8dh\x11\x84\xaa1",
            Value::Set(vec![b("x"), b("y")]),
        ),
    ];
    for (payload, want) in cases {
        assert_eq!(restore(payload).unwrap(), want);
    }
}

#[test]
fn tandem_writes_redis_bytes_where_redis_does_not_compress() {
    let same: Vec<(&[u8], Value)> = vec![
        (
            b"\x00\xc190\n\x00\x9d\x94\xea'\x93\xfc\x08\xb9",
            Value::String(b("12345")),
        ),
        (
            b"\x12\x01\x02\x12\x12\x00\x00\x00\x04\x00\x81a\x02\x81b\x02\x01\x01\xdf\xfb\x02\xff\n\x00\xea\x1dJK#\xde2\xd3",
            Value::List(vec![b("a"), b("b"), b("1"), b("-5")]),
        ),
        (
            b"\x0b\x0e\x02\x00\x00\x00\x03\x00\x00\x00\xfd\xff\x01\x00\x02\x00\n\x00\xd1\xb7\x8e\xd9\xbc\x07\xc2\x7f",
            Value::Set(vec![b("1"), b("2"), b("-3")]),
        ),
        (
            b"\x10\x12\x12\x00\x00\x00\x04\x00\x81f\x02\x81v\x02\x81n\x02\x07\x01\xff\n\x00\xb8*\xde\xa8@\x7f\xfa\xa8",
            Value::Hash(vec![(b("f"), b("v")), (b("n"), b("7"))]),
        ),
        (
            b"\x11\x1d\x1d\x00\x00\x00\x06\x00\x81o\x02\x84-inf\x05\x81m\x02\x831.5\x04\x81n\x02\x02\x01\xff\n\x00h\xae_\xea\xa6\x01\xfa\xba",
            Value::ZSet(vec![
                (b("o"), f64::NEG_INFINITY),
                (b("m"), 1.5),
                (b("n"), 2.0),
            ]),
        ),
        (
            b"\x02\x02\x01x\x01y\n\x00\xac:\x8dh\x11\x84\xaa1",
            Value::Set(vec![b("x"), b("y")]),
        ),
    ];
    for (payload, value) in same {
        assert_eq!(dump(&value), payload, "{value:?}");
    }
}

#[test]
fn trailer_errors() {
    let good = dump(&Value::String(b("hello")));
    assert_eq!(restore(&good[..9]), Err(PayloadError::Trailer));
    let mut bad_crc = good.clone();
    *bad_crc.last_mut().unwrap() ^= 1;
    assert_eq!(restore(&bad_crc), Err(PayloadError::Trailer));
    // A newer RDB version (7.2 writes 11), CRC made right.
    let mut newer = good[..good.len() - 10].to_vec();
    newer.extend_from_slice(&11u16.to_le_bytes());
    let crc = crc64(&newer);
    newer.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(restore(&newer), Err(PayloadError::Trailer));
    assert_eq!(PayloadError::Trailer.reply_text(), BAD_TRAILER);
}

/// A payload of `body` with a correct trailer.
fn seal(body: &[u8]) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

#[test]
fn bad_data_is_refused_with_an_offset() {
    for body in [
        &b"\x08\x00"[..],                                 // type 8 does not exist
        b"\x14\x00",                                      // 7.2's listpack set is not 7.0's
        b"\x07\x00",                                      // module
        b"\x02\x02\x01x\x01x",                            // duplicate set member
        b"\x02\x00",                                      // empty set
        b"\x04\x01\x01f",                                 // hash field without value
        b"\x05\x01\x01m\x00\x00\x00\x00\x00\x00\xf8\x7f", // NaN score
    ] {
        match restore(&seal(body)) {
            Err(PayloadError::Data(e)) => assert!(!e.reason.is_empty(), "{body:?}"),
            other => panic!("{body:?}: {other:?}"),
        }
    }
}

#[test]
fn old_encodings_load() {
    // RDB_TYPE_ZSET: text scores, including the special lengths.
    let mut body = vec![3u8, 3];
    for (m, score) in [
        (&b"a"[..], &b"\x031.5"[..]),
        (b"b", b"\xfe"),
        (b"c", b"\xff"),
    ] {
        body.push(m.len() as u8);
        body.extend_from_slice(m);
        body.extend_from_slice(score);
    }
    assert_eq!(
        restore(&seal(&body)).unwrap(),
        Value::ZSet(vec![
            (b("a"), 1.5),
            (b("b"), f64::INFINITY),
            (b("c"), f64::NEG_INFINITY)
        ])
    );
    // RDB_TYPE_LIST, RDB_TYPE_HASH.
    assert_eq!(
        restore(&seal(b"\x01\x02\x01a\xc0\x07")).unwrap(),
        Value::List(vec![b("a"), b("7")])
    );
    assert_eq!(
        restore(&seal(b"\x04\x01\x01f\x01v")).unwrap(),
        Value::Hash(vec![(b("f"), b("v"))])
    );
}

fn value_strategy() -> impl Strategy<Value = Value> {
    let bytes = || {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..80),
            any::<i64>().prop_map(|v| v.to_string().into_bytes()),
            (0i64..1000).prop_map(|v| v.to_string().into_bytes()),
            proptest::collection::vec(any::<u8>(), 0..300),
        ]
    };
    let score = prop_oneof![
        any::<f64>().prop_filter("not NaN", |f| !f.is_nan()),
        (-1000i64..1000).prop_map(|v| v as f64),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ];
    prop_oneof![
        bytes().prop_map(Value::String),
        proptest::collection::vec(bytes(), 1..400).prop_map(Value::List),
        proptest::collection::btree_set(bytes(), 1..600)
            .prop_map(|s| Value::Set(s.into_iter().collect())),
        proptest::collection::btree_map(bytes(), bytes(), 1..200)
            .prop_map(|m| Value::Hash(m.into_iter().collect())),
        proptest::collection::btree_map(bytes(), score, 1..200)
            .prop_map(|m| Value::ZSet(m.into_iter().collect())),
    ]
}

/// Compares as sets where the encoding does not keep order (intset sorts, -0 is 0).
fn normal(v: Value) -> Value {
    match v {
        Value::Set(mut m) => {
            m.sort();
            Value::Set(m)
        }
        Value::ZSet(m) => Value::ZSet(
            m.into_iter()
                .map(|(k, s)| (k, if s == 0.0 { 0.0 } else { s }))
                .collect::<std::collections::BTreeMap<_, _>>()
                .into_iter()
                .collect(),
        ),
        other => other,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn dump_restore_round_trip(v in value_strategy()) {
        let payload = dump(&v);
        let back = restore(&payload).unwrap();
        prop_assert_eq!(normal(back), normal(v));
    }

    #[test]
    fn garbage_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = restore(&seal(&body));
    }
}
