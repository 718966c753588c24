//! Random picks are uniform, end to end: `RANDOMKEY`, `SRANDMEMBER`, `SPOP`, `HRANDFIELD`
//! and `ZRANDMEMBER`, in every form that picks at random (no count, a positive count of
//! distinct picks, a negative count of picks with repeats), on small collections and on
//! ones over 1,024 elements (where sets used to be sampled by seeks into their key range).
//!
//! Each case draws enough picks for about 10 per element (plenty for Pearson's chi-square
//! test) and fails when the statistic exceeds its 1e-6 quantile: a uniform server fails a
//! case about once in a million runs, while the biases seen before gave statistics 17 to
//! 36 times the limit (`RANDOMKEY` 1,000 against 27.5, `SRANDMEMBER`/`SPOP` ~600 against 35). The members are shaped to expose the biases seen
//! before: a few members alone in their branch of the byte trie (`z` + one byte) among many
//! sharing a long prefix, and key-space neighbours (`a`, `b`) for `RANDOMKEY`.
//!
//! Distinct picks (positive counts, `SPOP` in batches) are not independent within one
//! reply; counting how often each element is included is then a conservative test (the
//! counts vary less than a multinomial's).

use std::collections::BTreeMap;

use redis::{Connection, Value};
use tandem_tests::TestCluster;

/// The chi-square value with `df` degrees of freedom exceeded with probability 1e-6
/// (Wilson-Hilferty with z = 4.753; slightly above the exact quantile for small `df`,
/// i.e. on the side of never flaking).
fn chi_square_limit(df: usize) -> f64 {
    let d = df as f64;
    let h = 2.0 / (9.0 * d);
    d * (1.0 - h + 4.753 * h.sqrt()).powi(3)
}

/// Tallies picks of `universe` and asserts their counts are uniform.
struct Tally<'u> {
    what: String,
    universe: &'u [String],
    counts: BTreeMap<String, u64>,
}

impl<'u> Tally<'u> {
    fn new(what: &str, universe: &'u [String]) -> Tally<'u> {
        Tally {
            what: what.to_owned(),
            universe,
            counts: universe.iter().map(|m| (m.clone(), 0)).collect(),
        }
    }

    fn add(&mut self, pick: String) {
        match self.counts.get_mut(&pick) {
            Some(c) => *c += 1,
            None => panic!("{}: {pick:?} is not an element", self.what),
        }
    }

    fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    fn assert_uniform(&self) {
        let n = self.universe.len();
        let expected = self.total() as f64 / n as f64;
        assert!(expected >= 5.0, "{}: too few picks for the test", self.what);
        let chi: f64 = self
            .counts
            .values()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        let limit = chi_square_limit(n - 1);
        let lo = self.counts.iter().min_by_key(|(_, &c)| c);
        let hi = self.counts.iter().max_by_key(|(_, &c)| c);
        assert!(
            chi < limit,
            "{}: chi-square {chi:.1} >= {limit:.1} ({} elements, {} picks, {expected:.1} expected \
             each; least {lo:?}, most {hi:?})",
            self.what,
            n,
            self.total()
        );
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("expected a bulk string, got {other:?}"),
    }
}

/// The strings of an array or set reply.
fn texts(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) | Value::Set(items) => items.iter().map(text).collect(),
        other => panic!("expected an array, got {other:?}"),
    }
}

/// Sends `cmd` `times` times in pipelines of 500 and returns the replies.
fn repeat(c: &mut Connection, cmd: &[&str], times: usize) -> Vec<Value> {
    let mut out = Vec::with_capacity(times);
    while out.len() < times {
        let mut p = redis::pipe();
        for _ in 0..(times - out.len()).min(500) {
            p.cmd(cmd[0]).arg(&cmd[1..]);
        }
        let replies: Vec<Value> = p.query(c).expect("pipeline");
        out.extend(replies);
    }
    out
}

fn exec(c: &mut Connection, args: &[String]) -> Value {
    redis::cmd(&args[0])
        .arg(&args[1..])
        .query(c)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// `small`: a few members, one alone in its trie branch; `large`: 1,100, forty of them
/// alone in the `z` branch.
fn universes() -> Vec<(&'static str, Vec<String>)> {
    let small: Vec<String> = ["a1", "a2", "a3", "a4", "b"].map(String::from).to_vec();
    let mut large: Vec<String> = (0..1060).map(|i| format!("m:{i:05}")).collect();
    large.extend((0..40).map(|i| format!("z{}", char::from(b'A' + i))));
    vec![("small", small), ("large", large)]
}

fn fill(c: &mut Connection, cmd: &str, key: &str, members: &[String], with_values: bool) {
    let mut args = vec![cmd.to_owned(), key.to_owned()];
    for (i, m) in members.iter().enumerate() {
        if with_values {
            args.push(if cmd == "ZADD" {
                i.to_string()
            } else {
                m.clone()
            });
            if cmd == "ZADD" {
                args.push(m.clone());
                continue;
            }
        }
        args.push(m.clone());
    }
    exec(c, &args);
}

/// The three forms of a random-pick read command on a key holding `members`.
fn check_read_forms(c: &mut Connection, cmd: &str, key: &str, members: &[String]) {
    let n = members.len();
    let picks = 10 * n.max(100);
    let mut one = Tally::new(&format!("{cmd} {key}"), members);
    for v in repeat(c, &[cmd, key], picks) {
        one.add(text(&v));
    }
    one.assert_uniform();

    let mut repeats = Tally::new(&format!("{cmd} {key} -count"), members);
    let neg = format!("-{}", picks / 4);
    for v in repeat(c, &[cmd, key, &neg], 4) {
        for m in texts(&v) {
            repeats.add(m);
        }
    }
    repeats.assert_uniform();

    // A third of the collection per call (at least 2): distinct picks.
    let k = (n / 3).max(2);
    let calls = picks.div_ceil(k);
    let mut distinct = Tally::new(&format!("{cmd} {key} {k}"), members);
    for v in repeat(c, &[cmd, key, &k.to_string()], calls) {
        let got = texts(&v);
        assert_eq!(got.len(), k);
        let mut unique = got.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), k, "{cmd} {key} {k} repeated a member");
        for m in got {
            distinct.add(m);
        }
    }
    distinct.assert_uniform();
}

#[test]
fn randomkey_is_uniform() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    // Two neighbours in the key space: before, `b` came back 50 times out of 50.
    let two = ["a".to_owned(), "b".to_owned()];
    for k in &two {
        exec(c, &["SET".into(), k.clone(), "v".into()]);
    }
    let mut t = Tally::new("RANDOMKEY of 2", &two);
    for v in repeat(c, &["RANDOMKEY"], 1000) {
        t.add(text(&v));
    }
    t.assert_uniform();

    // 300 keys of every type, sparse and dense stretches of the key space.
    exec(c, &["FLUSHDB".into()]);
    let mut keys: Vec<String> = (0..280).map(|i| format!("key:{i:04}")).collect();
    keys.extend((0..20).map(|i| format!("{}", char::from(b'a' + i))));
    for (i, k) in keys.iter().enumerate() {
        let args: Vec<String> = match i % 4 {
            0 => vec!["SET".into(), k.clone(), "v".into()],
            1 => vec!["SADD".into(), k.clone(), "m".into()],
            2 => vec!["HSET".into(), k.clone(), "f".into(), "v".into()],
            _ => vec!["ZADD".into(), k.clone(), "1".into(), "m".into()],
        };
        exec(c, &args);
    }
    let mut t = Tally::new("RANDOMKEY of 300", &keys);
    for v in repeat(c, &["RANDOMKEY"], 3000) {
        t.add(text(&v));
    }
    t.assert_uniform();
}

#[test]
fn srandmember_is_uniform() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    for (key, members) in universes() {
        fill(c, "SADD", key, &members, false);
        check_read_forms(c, "SRANDMEMBER", key, &members);
    }
}

#[test]
fn hrandfield_is_uniform() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    for (key, members) in universes() {
        fill(c, "HSET", key, &members, true);
        check_read_forms(c, "HRANDFIELD", key, &members);
    }
}

#[test]
fn zrandmember_is_uniform() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    for (key, members) in universes() {
        fill(c, "ZADD", key, &members, true);
        check_read_forms(c, "ZRANDMEMBER", key, &members);
    }
}

#[test]
fn spop_is_uniform() {
    let cluster = TestCluster::start();
    let c = &mut cluster.client();
    for (key, members) in universes() {
        let n = members.len();
        let picks = 10 * n.max(100);
        fill(c, "SADD", key, &members, false);
        // Without a count: a batch of pops, then the popped members go back.
        let batch = (n / 10).max(1);
        let mut one = Tally::new(&format!("SPOP {key}"), &members);
        while one.total() < picks as u64 {
            let popped: Vec<String> = repeat(c, &["SPOP", key], batch).iter().map(text).collect();
            let mut back = vec!["SADD".to_owned(), key.to_owned()];
            back.extend(popped.iter().cloned());
            exec(c, &back);
            for m in popped {
                one.add(m);
            }
        }
        one.assert_uniform();
        // With a count below the size: distinct members, put back after each call.
        let k = (n / 3).max(2);
        let mut counted = Tally::new(&format!("SPOP {key} {k}"), &members);
        while counted.total() < picks as u64 {
            let popped = texts(&exec(c, &["SPOP".into(), key.into(), k.to_string()]));
            assert_eq!(popped.len(), k);
            let mut back = vec!["SADD".to_owned(), key.to_owned()];
            back.extend(popped.iter().cloned());
            let added = exec(c, &back);
            assert_eq!(
                added,
                Value::Int(k as i64),
                "SPOP {key} {k} repeated a member"
            );
            for m in popped {
                counted.add(m);
            }
        }
        counted.assert_uniform();
    }
}
