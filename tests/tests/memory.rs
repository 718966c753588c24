//! MEMORY STATS, DOCTOR, MALLOC-STATS, PURGE, HELP and USAGE … SAMPLES (issue 18) against
//! redis-server 7.0: replies and errors reply for reply where the values are not the
//! process's own (HELP, arity, options), and where they are (STATS, DOCTOR) Redis's shape:
//! field names in order, the type of each value, RESP2 and RESP3.

use redis::Value;
use tandem_tests::*;

#[test]
fn errors_help_and_usage_options_match_redis() {
    let d = Differ::start();
    d.check(&[
        &["MEMORY", "HELP"],
        &["memory", "help", "x"],
        &["MEMORY", "STATS", "x"],
        &["MEMORY", "DOCTOR", "x"],
        &["MEMORY", "MALLOC-STATS", "x"],
        &["MEMORY", "PURGE"],
        &["MEMORY", "PURGE", "x"],
        &["MEMORY", "BOGUS"],
        &["MEMORY"],
        &["MEMORY", "USAGE"],
        &["MEMORY", "USAGE", "nokey"],
        &["SET", "k", "v"],
        &["MEMORY", "USAGE", "k", "SAMPLES", "-1"],
        &["MEMORY", "USAGE", "k", "SAMPLES", "x"],
        &["MEMORY", "USAGE", "k", "SAMPLES"],
        &["MEMORY", "USAGE", "k", "foo", "1"],
        &["MEMORY", "USAGE", "nokey", "SAMPLES", "0"],
    ]);
}

/// Field names in order with the kind of value each holds (`int`, `double`, `map` of
/// names for a db entry).
fn shape(v: &Value) -> Vec<String> {
    let pairs: Vec<(&Value, &Value)> = match v {
        Value::Map(m) => m.iter().map(|(k, v)| (k, v)).collect(),
        Value::Array(items) => items.chunks(2).map(|c| (&c[0], &c[1])).collect(),
        other => panic!("MEMORY STATS gave {other:?}"),
    };
    pairs
        .into_iter()
        .map(|(k, v)| {
            let name = match k {
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("field name {other:?}"),
            };
            let kind = match v {
                Value::Int(_) => "int".to_owned(),
                Value::Double(_) => "double".to_owned(),
                // RESP2 sends doubles as bulk strings.
                Value::BulkString(b) if String::from_utf8_lossy(b).parse::<f64>().is_ok() => {
                    "double".to_owned()
                }
                inner @ (Value::Map(_) | Value::Array(_)) => shape(inner).join(","),
                other => format!("{other:?}"),
            };
            format!("{name}={kind}")
        })
        .collect()
}

#[test]
fn stats_have_redis_fields_types_and_order() {
    let d = Differ::start();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut ours = d.tandem().client_with(protocol);
        let mut theirs = d.reference().client_with(protocol);
        for c in [&mut ours, &mut theirs] {
            expect(c, &["FLUSHALL"], ok());
            expect(c, &["SET", "a", "1"], ok());
            expect(c, &["HSET", "h", "f", "v"], int(1));
        }
        let a = run_command(&mut ours, &["MEMORY", "STATS"]).expect("tandem MEMORY STATS");
        let b = run_command(&mut theirs, &["MEMORY", "STATS"]).expect("redis MEMORY STATS");
        assert_eq!(std::mem::discriminant(&a), std::mem::discriminant(&b));
        assert_eq!(shape(&a), shape(&b), "{protocol:?}");
    }
}

#[test]
fn stats_count_keys_of_every_database() {
    let c = TestCluster::start();
    let mut conn = c.client_resp3();
    for i in 0..10 {
        expect(&mut conn, &["SET", &format!("k{i}"), "v"], ok());
    }
    expect(&mut conn, &["SELECT", "3"], ok());
    expect(&mut conn, &["SET", "x", "v"], ok());
    let Ok(Value::Map(fields)) = run_command(&mut conn, &["MEMORY", "STATS"]) else {
        panic!("MEMORY STATS is not a map in RESP3");
    };
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| *k == Value::BulkString(name.as_bytes().to_vec()))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("keys.count"), Some(Value::Int(11)));
    assert!(matches!(get("db.0"), Some(Value::Map(_))));
    assert!(matches!(get("db.3"), Some(Value::Map(_))));
    assert_eq!(get("db.1"), None);
    let Some(Value::Int(total)) = get("total.allocated") else {
        panic!("total.allocated");
    };
    let Some(Value::Int(peak)) = get("peak.allocated") else {
        panic!("peak.allocated");
    };
    assert!(total > 0 && peak >= total, "{total} {peak}");
}

#[test]
fn doctor_answers_with_one_of_redis_reports() {
    let c = TestCluster::start();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut conn = c.client_with(protocol);
        let text = match run_command(&mut conn, &["MEMORY", "DOCTOR"]) {
            Ok(Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(Value::VerbatimString { text, .. }) => text,
            other => panic!("MEMORY DOCTOR: {other:?}"),
        };
        assert!(
            text.starts_with("Hi Sam, ") || text.starts_with("Sam, I detected a few issues"),
            "{text}"
        );
        assert!(text.ends_with('\n'), "{text:?}");
    }
}
