//! The dispatch of every family, driven as the server drives it: reads against committed
//! state, each write in its own committed group on a temp-dir RocksDB engine.

use std::time::{Duration, Instant};

use tandem_commands::CommandFacts;
use tandem_shared::{
    Command, CopyTarget, ExpireCondition, GetExExpiry, LcsMode, Reply, ScanType, SetCondition,
    SetExpiry, TimeUnit,
};

use super::*;
use crate::engine::group::Writer;
use crate::engine::keys;
use crate::engine::metadata::{KeyType, Record};
use crate::engine::{Cf, Counts, EngineOptions, StoreRead, StoreWrite};

struct Harness {
    dir: tempfile::TempDir,
    engine: Option<Engine>,
    writer: Option<Writer>,
}

/// Runs `cmd` in `g` the way the writer does, with a hub nobody subscribes to.
fn exec(g: &mut WriteGroup<'_>, db: u8, cmd: &ArchivedCommand) -> Outcome {
    execute_write(g, &Hub::default(), db, cmd)
}

/// Runs a read on committed state, with a hub nobody subscribes to.
fn read(engine: &Engine, db: u8, cmd: &ArchivedCommand) -> Outcome {
    execute_read(engine, &Hub::default(), db, cmd)
}

fn archive(cmd: &Command) -> rkyv::util::AlignedVec {
    rkyv::to_bytes::<rkyv::rancor::Error>(cmd).unwrap()
}

impl Harness {
    /// One expiry sweep step in its own committed group, as the writer runs it.
    fn reclaim(&mut self, budget: usize) -> usize {
        let mut g = self.writer.as_mut().unwrap().begin();
        let n = g.reclaim_expired(budget);
        g.commit().unwrap();
        n
    }

    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), &small_options()).unwrap();
        Harness {
            dir,
            writer: Some(Writer::new(engine.clone())),
            engine: Some(engine),
        }
    }

    fn engine(&self) -> &Engine {
        self.engine.as_ref().unwrap()
    }

    fn reopen(&mut self) {
        self.writer = None;
        self.engine = None;
        let engine = Engine::open(self.dir.path(), &small_options()).unwrap();
        self.writer = Some(Writer::new(engine.clone()));
        self.engine = Some(engine);
    }

    /// Runs one command the way the server routes it.
    fn run_in(&mut self, db: u8, cmd: Command) -> Outcome {
        let bytes = archive(&cmd);
        let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap();
        if a.is_write() {
            let mut g = self.writer.as_mut().unwrap().begin();
            let out = exec(&mut g, db, a);
            g.commit().unwrap();
            out
        } else {
            read(self.engine(), db, a)
        }
    }

    fn run(&mut self, cmd: Command) -> Outcome {
        self.run_in(0, cmd)
    }

    fn ok(&mut self, cmd: Command) -> Reply {
        match self.run(cmd.clone()) {
            Outcome::Ok(r) => r,
            Outcome::Err(e) => panic!("{cmd:?} failed: {e}"),
        }
    }

    fn err(&mut self, cmd: Command) -> StorageError {
        match self.run(cmd.clone()) {
            Outcome::Err(e) => e,
            Outcome::Ok(r) => panic!("{cmd:?} replied {r:?}"),
        }
    }

    /// Writes a record of a non-string type with sub-keys, as a future hash would.
    fn put_hash(&mut self, db: u8, key: &[u8], fields: &[(&[u8], &[u8])]) -> u64 {
        let mut g = self.writer.as_mut().unwrap().begin();
        let version = g.new_version();
        let rec = Record {
            kind: KeyType::Hash,
            flags: 0,
            expire_at_ms: 0,
            version,
            size: fields.len() as u64,
            payload: Vec::new(),
        };
        let old = crate::types::raw_record(&g, db, key).unwrap();
        crate::types::store_record(&mut g, db, key, old.as_ref(), &rec);
        for (f, v) in fields {
            g.put(Cf::Sub, keys::sub_key(db, key, version, f), v.to_vec());
        }
        g.commit().unwrap();
        version
    }

    fn sub_keys(&self, db: u8, key: &[u8], version: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
        let prefix = keys::sub_prefix(db, key, version);
        let end = keys::prefix_end(&prefix).unwrap();
        let mut out = Vec::new();
        self.engine()
            .scan(Cf::Sub, &prefix, &end, &mut |k, v| {
                out.push((k[prefix.len()..].to_vec(), v.to_vec()));
                true
            })
            .unwrap();
        out
    }
}

fn small_options() -> EngineOptions {
    EngineOptions {
        block_cache_bytes: 8 << 20,
        write_buffer_bytes: 4 << 20,
        ..Default::default()
    }
}

fn k(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s)
}

fn int(i: i64) -> Reply {
    Reply::Integer(i)
}

fn set(key: &str, value: &str) -> Command {
    Command::Set {
        key: k(key),
        value: k(value),
        condition: SetCondition::Always,
        expiry: SetExpiry::Clear,
        get: false,
    }
}

/// SET with an absolute expiry in milliseconds.
fn set_at(key: &str, value: &str, at_ms: i64) -> Command {
    Command::Set {
        key: k(key),
        value: k(value),
        condition: SetCondition::Always,
        expiry: SetExpiry::At(at_ms),
        get: false,
    }
}

/// Sleeps until the wall clock is past `at_ms`.
fn wait_past(at_ms: i64) {
    while now() <= at_ms {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn get(key: &str) -> Command {
    Command::Get { key: k(key) }
}

fn now() -> i64 {
    now_ms() as i64
}

fn ttl(key: &str, unit: TimeUnit) -> Command {
    Command::Ttl { key: k(key), unit }
}

fn expire(key: &str, at_ms: i64, condition: ExpireCondition) -> Command {
    Command::Expire {
        key: k(key),
        at_ms,
        condition,
    }
}

fn dbsize(h: &mut Harness) -> i64 {
    match h.ok(Command::DbSize) {
        Reply::Integer(n) => n,
        other => panic!("{other:?}"),
    }
}

#[test]
fn set_get_and_conditions() {
    let mut h = Harness::new();
    assert_eq!(h.ok(get("a")), Reply::Nil);
    assert_eq!(h.ok(set("a", "1")), Reply::ok());
    assert_eq!(h.ok(get("a")), bulk("1"));
    let cond = |c, key: &str, v: &str, get| Command::Set {
        key: k(key),
        value: k(v),
        condition: c,
        expiry: SetExpiry::Clear,
        get,
    };
    assert_eq!(
        h.ok(cond(SetCondition::IfAbsent, "a", "2", false)),
        Reply::Nil
    );
    assert_eq!(
        h.ok(cond(SetCondition::IfPresent, "b", "2", false)),
        Reply::Nil
    );
    assert_eq!(h.ok(get("b")), Reply::Nil);
    assert_eq!(
        h.ok(cond(SetCondition::IfPresent, "a", "3", false)),
        Reply::ok()
    );
    assert_eq!(h.ok(cond(SetCondition::Always, "a", "4", true)), bulk("3"));
    assert_eq!(
        h.ok(cond(SetCondition::IfAbsent, "a", "5", true)),
        bulk("4")
    );
    assert_eq!(
        h.ok(cond(SetCondition::IfAbsent, "n", "5", true)),
        Reply::Nil
    );
    assert_eq!(h.ok(get("n")), bulk("5"));
    assert_eq!(
        h.ok(Command::SetNx {
            key: k("n"),
            value: k("6")
        }),
        int(0)
    );
    assert_eq!(
        h.ok(Command::SetNx {
            key: k("m"),
            value: k("6")
        }),
        int(1)
    );
    // GET on a non-string: WRONGTYPE and no write.
    h.put_hash(0, b"h", &[(b"f", b"v")]);
    assert_eq!(
        h.err(cond(SetCondition::Always, "h", "x", true)),
        StorageError::WrongType
    );
    assert_eq!(
        h.ok(Command::Type { key: k("h") }),
        Reply::Simple("hash".into())
    );
    assert_eq!(h.err(get("h")), StorageError::WrongType);
    // Plain SET overwrites any type.
    assert_eq!(h.ok(set("h", "s")), Reply::ok());
    assert_eq!(
        h.ok(Command::Type { key: k("h") }),
        Reply::Simple("string".into())
    );
}

#[test]
fn set_expiry_forms() {
    let mut h = Harness::new();
    let with = |key: &str, v: &str, expiry, get| Command::Set {
        key: k(key),
        value: k(v),
        condition: SetCondition::Always,
        expiry,
        get,
    };
    h.ok(with("a", "1", SetExpiry::At(now() + 100_000), false));
    let Reply::Integer(t) = h.ok(ttl("a", TimeUnit::Seconds)) else {
        panic!()
    };
    assert_eq!(t, 100);
    h.ok(with("a", "2", SetExpiry::Keep, false));
    assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(100));
    h.ok(set("a", "3"));
    assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(-1));
    // An expiry in the past replies as if set, and leaves no key.
    assert_eq!(h.ok(with("a", "4", SetExpiry::At(1), true)), bulk("3"));
    assert_eq!(h.ok(get("a")), Reply::Nil);
    assert_eq!(h.ok(with("b", "4", SetExpiry::At(1), false)), Reply::ok());
    assert_eq!(
        h.ok(Command::Exists {
            keys: vec![k("a"), k("b")]
        }),
        int(0)
    );
    assert_eq!(dbsize(&mut h), 0);
}

#[test]
fn mset_mget_msetnx_getdel_getex() {
    let mut h = Harness::new();
    h.ok(Command::MSet {
        pairs: vec![(k("a"), k("1")), (k("b"), k("2"))],
    });
    h.put_hash(0, b"h", &[]);
    assert_eq!(
        h.ok(Command::MGet {
            keys: vec![k("a"), k("x"), k("b"), k("h")]
        }),
        Reply::Array(vec![bulk("1"), Reply::Nil, bulk("2"), Reply::Nil])
    );
    assert_eq!(
        h.ok(Command::MSetNx {
            pairs: vec![(k("c"), k("3")), (k("a"), k("9"))]
        }),
        int(0)
    );
    assert_eq!(h.ok(get("c")), Reply::Nil);
    assert_eq!(
        h.ok(Command::MSetNx {
            pairs: vec![(k("c"), k("3")), (k("d"), k("4"))]
        }),
        int(1)
    );
    assert_eq!(h.ok(get("d")), bulk("4"));
    assert_eq!(h.ok(Command::GetDel { key: k("d") }), bulk("4"));
    assert_eq!(h.ok(Command::GetDel { key: k("d") }), Reply::Nil);
    assert_eq!(
        h.err(Command::GetDel { key: k("h") }),
        StorageError::WrongType
    );
    let getex = |key: &str, expiry| Command::GetEx {
        key: k(key),
        expiry,
    };
    assert_eq!(h.ok(getex("a", GetExExpiry::At(now() + 5_000))), bulk("1"));
    assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(5));
    assert_eq!(h.ok(getex("a", GetExExpiry::Persist)), bulk("1"));
    assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(-1));
    assert_eq!(h.ok(getex("a", GetExExpiry::Unchanged)), bulk("1"));
    assert_eq!(h.ok(getex("a", GetExExpiry::At(1))), bulk("1"));
    assert_eq!(h.ok(get("a")), Reply::Nil);
    assert_eq!(h.ok(getex("zz", GetExExpiry::Persist)), Reply::Nil);
    assert_eq!(
        h.err(getex("h", GetExExpiry::Persist)),
        StorageError::WrongType
    );
}

#[test]
fn append_setrange_getrange_strlen() {
    let mut h = Harness::new();
    assert_eq!(
        h.ok(Command::Append {
            key: k("a"),
            value: k("Hello")
        }),
        int(5)
    );
    assert_eq!(
        h.ok(Command::Append {
            key: k("a"),
            value: k(" World")
        }),
        int(11)
    );
    assert_eq!(h.ok(Command::StrLen { key: k("a") }), int(11));
    assert_eq!(h.ok(Command::StrLen { key: k("nope") }), int(0));
    let gr = |s, e| Command::GetRange {
        key: k("a"),
        start: s,
        end: e,
    };
    assert_eq!(h.ok(gr(0, -1)), bulk("Hello World"));
    assert_eq!(h.ok(gr(-3, -1)), bulk("rld"));
    assert_eq!(h.ok(gr(-100, -50)), bulk("H"));
    assert_eq!(
        h.ok(Command::GetRange {
            key: k("nope"),
            start: 0,
            end: 1
        }),
        bulk("")
    );
    let sr = |key: &str, offset, v: &str| Command::SetRange {
        key: k(key),
        offset,
        value: k(v),
    };
    assert_eq!(h.ok(sr("a", 6, "Redis")), int(11));
    assert_eq!(h.ok(get("a")), bulk("Hello Redis"));
    assert_eq!(h.ok(sr("z", 3, "x")), int(4));
    assert_eq!(h.ok(get("z")), Reply::Bulk(vec![0, 0, 0, b'x']));
    assert_eq!(h.ok(sr("empty", 5, "")), int(0));
    assert_eq!(
        h.ok(Command::Exists {
            keys: vec![k("empty")]
        }),
        int(0)
    );
    assert_eq!(h.ok(sr("a", 100, "")), int(11));
    assert_eq!(
        h.err(sr("a", MAX_STRING_LEN_FOR_TEST, "x")),
        StorageError::StringTooLong
    );
    // APPEND keeps the TTL.
    h.ok(expire("a", now() + 50_000, ExpireCondition::Always));
    h.ok(Command::Append {
        key: k("a"),
        value: k("!"),
    });
    assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(50));
    h.put_hash(0, b"h", &[]);
    assert_eq!(
        h.err(Command::Append {
            key: k("h"),
            value: k("x")
        }),
        StorageError::WrongType
    );
    assert_eq!(h.err(sr("h", 0, "x")), StorageError::WrongType);
    assert_eq!(
        h.err(Command::StrLen { key: k("h") }),
        StorageError::WrongType
    );
}

const MAX_STRING_LEN_FOR_TEST: u64 = crate::types::MAX_STRING_LEN;

#[test]
fn incr_family() {
    let mut h = Harness::new();
    let incr = |key: &str, delta| Command::IncrBy { key: k(key), delta };
    assert_eq!(h.ok(incr("n", 1)), int(1));
    assert_eq!(h.ok(incr("n", -11)), int(-10));
    assert_eq!(h.ok(get("n")), bulk("-10"));
    h.ok(set("big", &i64::MAX.to_string()));
    assert_eq!(h.err(incr("big", 1)), StorageError::Overflow);
    for bad in [" 1", "1 ", "01", "abc", "", "1.5"] {
        h.ok(set("bad", bad));
        assert_eq!(h.err(incr("bad", 1)), StorageError::NotInteger, "{bad:?}");
    }
    h.put_hash(0, b"h", &[]);
    assert_eq!(h.err(incr("h", 1)), StorageError::WrongType);
    let incrf = |key: &str, delta: f64| Command::IncrByFloat {
        key: k(key),
        delta: delta.to_string().into_bytes(),
    };
    assert_eq!(h.ok(incrf("f", 1.0)), bulk("1"));
    assert_eq!(h.ok(incrf("f", 0.25)), bulk("1.25"));
    h.ok(set("f", "0.1"));
    assert_eq!(h.ok(incrf("f", 0.2)), bulk("0.3"));
    assert_eq!(h.ok(get("f")), bulk("0.3"));
    h.ok(set("f", "1"));
    assert_eq!(h.ok(incrf("f", -1.1)), bulk("-0.1"));
    h.ok(set("f", "1.5 "));
    assert_eq!(h.err(incrf("f", 1.0)), StorageError::NotFloat);
    h.ok(set("f", "inf"));
    assert_eq!(h.err(incrf("f", 1.0)), StorageError::NanOrInfinity);
    h.ok(set("f", "1"));
    assert_eq!(
        h.err(incrf("f", f64::INFINITY)),
        StorageError::NanOrInfinity
    );
    assert_eq!(h.err(incrf("h", 1.0)), StorageError::WrongType);
}

#[test]
fn two_incrs_in_one_group_compose() {
    let mut h = Harness::new();
    let cmd = archive(&Command::IncrBy {
        key: k("n"),
        delta: 5,
    });
    let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&cmd).unwrap();
    let get_bytes = archive(&get("n"));
    let g_a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&get_bytes).unwrap();
    {
        let mut g = h.writer.as_mut().unwrap().begin();
        assert_eq!(exec(&mut g, 0, a), Outcome::Ok(int(5)));
        assert_eq!(exec(&mut g, 0, a), Outcome::Ok(int(10)));
        // Not visible to readers before commit.
        assert_eq!(
            read(h.engine.as_ref().unwrap(), 0, g_a),
            Outcome::Ok(Reply::Nil)
        );
        assert_eq!(exec(&mut g, 0, g_a), Outcome::Ok(bulk("10")));
        g.commit().unwrap();
    }
    assert_eq!(h.ok(get("n")), bulk("10"));
    assert_eq!(dbsize(&mut h), 1);
}

#[test]
fn dropped_group_changes_nothing() {
    let mut h = Harness::new();
    {
        let bytes = archive(&set("a", "1"));
        let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap();
        let mut g = h.writer.as_mut().unwrap().begin();
        exec(&mut g, 0, a);
        // Dropped without commit, as when the server abandons a group.
    }
    assert_eq!(h.ok(get("a")), Reply::Nil);
    assert_eq!(dbsize(&mut h), 0);
}

#[test]
fn del_exists_type_touch() {
    let mut h = Harness::new();
    h.ok(set("a", "1"));
    h.ok(set("b", "1"));
    assert_eq!(
        h.ok(Command::Exists {
            keys: vec![k("a"), k("a"), k("x")]
        }),
        int(2)
    );
    assert_eq!(
        h.ok(Command::Touch {
            keys: vec![k("a"), k("x")]
        }),
        int(1)
    );
    assert_eq!(
        h.ok(Command::Type { key: k("a") }),
        Reply::Simple("string".into())
    );
    assert_eq!(
        h.ok(Command::Type { key: k("x") }),
        Reply::Simple("none".into())
    );
    assert_eq!(
        h.ok(Command::Del {
            keys: vec![k("a"), k("a"), k("b"), k("x")]
        }),
        int(2)
    );
    assert_eq!(dbsize(&mut h), 0);
}

#[test]
fn expire_conditions_ttl_and_persist() {
    let mut h = Harness::new();
    h.ok(set("a", "1"));
    assert_eq!(
        h.ok(expire("x", now() + 10_000, ExpireCondition::Always)),
        int(0)
    );
    // A persistent key has an infinite TTL for GT/LT.
    assert_eq!(
        h.ok(expire("a", now() + 100_000, ExpireCondition::Gt)),
        int(0)
    );
    assert_eq!(
        h.ok(expire("a", now() + 100_000, ExpireCondition::Xx)),
        int(0)
    );
    assert_eq!(
        h.ok(expire("a", now() + 100_000, ExpireCondition::Lt)),
        int(1)
    );
    assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(100));
    assert_eq!(
        h.ok(expire("a", now() + 50_000, ExpireCondition::Gt)),
        int(0)
    );
    assert_eq!(
        h.ok(expire("a", now() + 200_000, ExpireCondition::Gt)),
        int(1)
    );
    assert_eq!(
        h.ok(expire("a", now() + 300_000, ExpireCondition::Lt)),
        int(0)
    );
    assert_eq!(
        h.ok(expire("a", now() + 10_000, ExpireCondition::Nx)),
        int(0)
    );
    assert_eq!(
        h.ok(expire("a", now() + 10_000, ExpireCondition::Xx)),
        int(1)
    );
    let Reply::Integer(pttl) = h.ok(ttl("a", TimeUnit::Milliseconds)) else {
        panic!()
    };
    assert!(pttl > 9_000 && pttl <= 10_000, "{pttl}");
    let at = now() + 20_000;
    h.ok(expire("a", at, ExpireCondition::Always));
    assert_eq!(
        h.ok(Command::ExpireTime {
            key: k("a"),
            unit: TimeUnit::Milliseconds
        }),
        int(at)
    );
    assert_eq!(
        h.ok(Command::ExpireTime {
            key: k("a"),
            unit: TimeUnit::Seconds
        }),
        int((at + 500) / 1000)
    );
    assert_eq!(
        h.ok(Command::ExpireTime {
            key: k("x"),
            unit: TimeUnit::Seconds
        }),
        int(-2)
    );
    assert_eq!(h.ok(ttl("x", TimeUnit::Seconds)), int(-2));
    assert_eq!(h.engine().counts().expires[0], 1);
    assert_eq!(h.ok(Command::Persist { key: k("a") }), int(1));
    assert_eq!(h.ok(Command::Persist { key: k("a") }), int(0));
    assert_eq!(
        h.ok(Command::ExpireTime {
            key: k("a"),
            unit: TimeUnit::Seconds
        }),
        int(-1)
    );
    assert_eq!(h.engine().counts().expires[0], 0);
    // TTL rounds to the nearest second.
    h.ok(expire("a", now() + 1_600, ExpireCondition::Always));
    assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(2));
    // A time in the past deletes the key and replies 1.
    assert_eq!(
        h.ok(expire("a", now() - 1, ExpireCondition::Always)),
        int(1)
    );
    assert_eq!(h.ok(get("a")), Reply::Nil);
    assert_eq!(dbsize(&mut h), 0);
    let stats = h.engine().stats();
    assert_eq!(
        stats
            .expired_keys
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[test]
fn expired_keys_are_invisible_then_reclaimed() {
    let mut h = Harness::new();
    h.ok(set("keep", "1"));
    let at = now() + 40;
    h.ok(set_at("gone", "v", at));
    assert_eq!(h.ok(get("gone")), bulk("v"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while h.ok(get("gone")) != Reply::Nil {
        assert!(Instant::now() < deadline, "key never expired");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(h.ok(ttl("gone", TimeUnit::Milliseconds)), int(-2));
    assert_eq!(
        h.ok(Command::Keys { pattern: k("*") }),
        Reply::Array(vec![bulk("keep")])
    );
    // DBSIZE counts it until reclaimed, as Redis does.
    assert_eq!(dbsize(&mut h), 2);
    assert_eq!(h.reclaim(10), 1);
    assert_eq!(dbsize(&mut h), 1);
    assert_eq!(h.engine().counts().expires[0], 0);
    let stats = h.engine().stats();
    assert_eq!(
        stats
            .expired_keys
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    assert_eq!(h.reclaim(10), 0);
}

#[test]
fn reclaim_is_round_robin_and_bounded() {
    let mut h = Harness::new();
    let soon = now() + 30;
    for i in 0..50 {
        h.run_in((i % 3) as u8, set_at(&format!("k{i:03}"), "v", soon));
    }
    wait_past(soon);
    let mut total = 0;
    for _ in 0..20 {
        let n = h.reclaim(7);
        assert!(n <= 7);
        total += n;
    }
    assert_eq!(total, 50);
    assert_eq!(h.engine().counts(), Counts::default());
}

#[test]
fn reclaim_walks_only_databases_with_expiring_keys() {
    let mut h = Harness::new();
    // Many keys without an expiry in db 0: a walk of every database would spend its
    // whole per-call allowance (256 records for a budget of 7) there.
    for i in 0..600 {
        h.run_in(0, set(&format!("plain{i:04}"), "v"));
    }
    assert_eq!(h.reclaim(7), 0, "nothing expires anywhere: no walk");
    let soon = now() + 30;
    for i in 0..5 {
        h.run_in(5, set_at(&format!("t{i}"), "v", soon));
    }
    wait_past(soon);
    assert_eq!(h.reclaim(7), 5, "db 5 alone is walked");
    assert_eq!(h.engine().counts().keys[5], 0);
    assert_eq!(h.engine().counts().keys[0], 600);
}

#[test]
fn write_meeting_expired_key_counts_it() {
    let mut h = Harness::new();
    let soon = now() + 20;
    h.ok(set_at("a", "1", soon));
    wait_past(soon);
    assert_eq!(
        h.ok(Command::IncrBy {
            key: k("a"),
            delta: 1
        }),
        int(1)
    );
    assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(-1));
    assert_eq!(dbsize(&mut h), 1);
    assert_eq!(h.engine().counts().expires[0], 0);
    let stats = h.engine().stats();
    assert_eq!(
        stats
            .expired_keys
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn rename_renamenx() {
    let mut h = Harness::new();
    let rn = |s: &str, d: &str| Command::Rename {
        src: k(s),
        dst: k(d),
    };
    let rnx = |s: &str, d: &str| Command::RenameNx {
        src: k(s),
        dst: k(d),
    };
    assert_eq!(h.err(rn("x", "y")), StorageError::NoSuchKey);
    assert_eq!(h.err(rn("x", "x")), StorageError::NoSuchKey);
    h.ok(set("a", "1"));
    h.ok(expire("a", now() + 100_000, ExpireCondition::Always));
    assert_eq!(h.ok(rn("a", "a")), Reply::ok());
    assert_eq!(h.ok(rnx("a", "a")), int(0));
    assert_eq!(h.ok(rn("a", "b")), Reply::ok());
    assert_eq!(h.ok(get("a")), Reply::Nil);
    assert_eq!(h.ok(get("b")), bulk("1"));
    assert_eq!(h.ok(ttl("b", TimeUnit::Seconds)), int(100));
    h.ok(set("c", "2"));
    assert_eq!(h.ok(rnx("b", "c")), int(0));
    assert_eq!(h.ok(rnx("b", "d")), int(1));
    assert_eq!(h.ok(rn("d", "c")), Reply::ok());
    assert_eq!(h.ok(get("c")), bulk("1"));
    assert_eq!(dbsize(&mut h), 1);
    assert_eq!(h.engine().counts().expires[0], 1);
    // A collection moves with its sub-keys under a fresh version.
    let v = h.put_hash(0, b"h", &[(b"f1", b"v1"), (b"f2", b"v2")]);
    assert_eq!(h.ok(rn("h", "h2")), Reply::ok());
    let rec = crate::types::raw_record(h.engine(), 0, b"h2")
        .unwrap()
        .unwrap();
    assert_ne!(rec.version, v);
    assert_eq!(
        h.sub_keys(0, b"h2", rec.version),
        vec![(k("f1"), k("v1")), (k("f2"), k("v2"))]
    );
}

#[test]
fn copy_and_move() {
    let mut h = Harness::new();
    let cp = |s: &str, d: &str, db, replace| Command::Copy {
        src: k(s),
        dst: k(d),
        target: CopyTarget { db, replace },
    };
    h.ok(set("a", "1"));
    assert_eq!(h.err(cp("a", "a", 0, false)), StorageError::SameObject);
    assert_eq!(h.ok(cp("x", "y", 0, false)), int(0));
    assert_eq!(h.ok(cp("a", "b", 0, false)), int(1));
    assert_eq!(h.ok(get("b")), bulk("1"));
    h.ok(set("c", "3"));
    assert_eq!(h.ok(cp("a", "c", 0, false)), int(0));
    assert_eq!(h.ok(cp("a", "c", 0, true)), int(1));
    assert_eq!(h.ok(get("c")), bulk("1"));
    assert_eq!(h.ok(cp("a", "a", 5, false)), int(1));
    assert_eq!(h.run_in(5, get("a")), Outcome::Ok(bulk("1")));
    assert_eq!(h.err(cp("a", "a", 16, false)), StorageError::DbOutOfRange);
    let mv = |key: &str, db| Command::Move { key: k(key), db };
    assert_eq!(h.err(mv("a", 0)), StorageError::SameObject);
    assert_eq!(h.err(mv("nokey", 0)), StorageError::SameObject);
    assert_eq!(h.ok(mv("nokey", 1)), int(0));
    assert_eq!(h.ok(mv("a", 5)), int(0));
    assert_eq!(h.ok(mv("a", 1)), int(1));
    assert_eq!(h.ok(get("a")), Reply::Nil);
    assert_eq!(h.run_in(1, get("a")), Outcome::Ok(bulk("1")));
    let c = h.engine().counts();
    assert_eq!((c.keys[0], c.keys[1], c.keys[5]), (2, 1, 1));
}

#[test]
fn keys_scan_randomkey() {
    let mut h = Harness::new();
    assert_eq!(h.ok(Command::RandomKey), Reply::Nil);
    for i in 0..30 {
        h.ok(set(&format!("user:{i:02}"), "x"));
    }
    h.ok(set("other", "x"));
    h.put_hash(0, b"user:hash", &[]);
    h.run_in(1, set("user:db1", "x"));
    let Reply::Array(ks) = h.ok(Command::Keys {
        pattern: k("user:1?"),
    }) else {
        panic!()
    };
    assert_eq!(ks.len(), 10);
    assert_eq!(ks[0], bulk("user:10"));
    let Reply::Array(all) = h.ok(Command::Keys { pattern: k("*") }) else {
        panic!()
    };
    assert_eq!(all.len(), 32);
    assert_eq!(
        h.ok(Command::Keys {
            pattern: k("oth[a-f]r")
        }),
        Reply::Array(vec![bulk("other")])
    );

    let scan_all = |h: &mut Harness, pattern: Option<&str>, kind: ScanType| {
        let mut cursor = 0u64;
        let mut seen = Vec::new();
        let mut calls = 0;
        loop {
            let reply = h.ok(Command::Scan {
                cursor,
                pattern: pattern.map(k),
                count: 7,
                kind: kind.clone(),
            });
            let Reply::Array(parts) = reply else { panic!() };
            let (Reply::Bulk(c), Reply::Array(keys)) = (&parts[0], &parts[1]) else {
                panic!()
            };
            seen.extend(keys.iter().cloned());
            cursor = String::from_utf8(c.clone()).unwrap().parse().unwrap();
            calls += 1;
            if cursor == 0 {
                break;
            }
        }
        (seen, calls)
    };
    let (seen, calls) = scan_all(&mut h, None, ScanType::Any);
    assert_eq!(seen.len(), 32);
    assert!(calls >= 5);
    let (seen, _) = scan_all(&mut h, Some("user:2*"), ScanType::Any);
    assert_eq!(seen.len(), 10);
    let (seen, _) = scan_all(&mut h, None, ScanType::Hash);
    assert_eq!(seen, vec![bulk("user:hash")]);
    let (seen, calls) = scan_all(&mut h, None, ScanType::Other);
    assert_eq!((seen.len(), calls), (0, 1));
    // An unknown cursor ends the scan rather than restarting it.
    assert_eq!(
        h.ok(Command::Scan {
            cursor: 12345,
            pattern: None,
            count: 10,
            kind: ScanType::Any
        }),
        Reply::Array(vec![bulk("0"), Reply::Array(vec![])])
    );
    for _ in 0..20 {
        let Reply::Bulk(key) = h.ok(Command::RandomKey) else {
            panic!()
        };
        assert!(key.starts_with(b"user:") || key == b"other");
    }
    assert_eq!(
        h.run_in(1, Command::RandomKey),
        Outcome::Ok(bulk("user:db1"))
    );
    assert_eq!(h.run_in(2, Command::RandomKey), Outcome::Ok(Reply::Nil));
}

#[test]
fn flushdb_and_flushall() {
    let mut h = Harness::new();
    h.ok(set("a", "1"));
    h.run_in(3, set("b", "1"));
    let v = h.put_hash(0, b"h", &[(b"f", b"v")]);
    assert_eq!(h.ok(Command::FlushDb), Reply::ok());
    assert_eq!(dbsize(&mut h), 0);
    assert!(h.sub_keys(0, b"h", v).is_empty());
    assert_eq!(h.run_in(3, Command::DbSize), Outcome::Ok(int(1)));
    assert_eq!(h.ok(Command::FlushAll), Reply::ok());
    assert_eq!(h.run_in(3, Command::DbSize), Outcome::Ok(int(0)));
    assert_eq!(h.engine().counts(), Counts::default());
    // Writes after a flush in the same group survive it.
    let flush = archive(&Command::FlushDb);
    let put = archive(&set("after", "1"));
    let scan = archive(&Command::Keys { pattern: k("*") });
    let mut g = h.writer.as_mut().unwrap().begin();
    exec(
        &mut g,
        0,
        rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&put).unwrap(),
    );
    exec(
        &mut g,
        0,
        rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&flush).unwrap(),
    );
    exec(
        &mut g,
        0,
        rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&put).unwrap(),
    );
    let keys = exec(
        &mut g,
        0,
        rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&scan).unwrap(),
    );
    assert_eq!(keys, Outcome::Ok(Reply::Array(vec![bulk("after")])));
    g.commit().unwrap();
    assert_eq!(h.ok(get("after")), bulk("1"));
    assert_eq!(dbsize(&mut h), 1);
}

#[test]
fn lcs_command() {
    let mut h = Harness::new();
    h.ok(set("key1", "ohmytext"));
    h.ok(set("key2", "mynewtext"));
    let lcs = |mode| Command::Lcs {
        key1: k("key1"),
        key2: k("key2"),
        mode,
    };
    assert_eq!(h.ok(lcs(LcsMode::String)), bulk("mytext"));
    assert_eq!(h.ok(lcs(LcsMode::Length)), int(6));
    assert_eq!(
        h.ok(Command::Lcs {
            key1: k("x"),
            key2: k("y"),
            mode: LcsMode::Indexes {
                min_match_len: 0,
                with_match_len: false
            }
        }),
        Reply::Map(vec![
            (bulk("matches"), Reply::Array(vec![])),
            (bulk("len"), int(0))
        ])
    );
    h.put_hash(0, b"h", &[]);
    assert_eq!(
        h.err(Command::Lcs {
            key1: k("key1"),
            key2: k("h"),
            mode: LcsMode::String
        }),
        StorageError::LcsNotString
    );
}

#[test]
fn counters_and_data_survive_reopen() {
    let mut h = Harness::new();
    h.ok(set("a", "1"));
    h.ok(set("b", "2"));
    h.ok(expire("b", now() + 100_000, ExpireCondition::Always));
    h.run_in(7, set("c", "3"));
    let v = h.put_hash(2, b"h", &[(b"f", b"v")]);
    let before = h.engine().counts();
    h.reopen();
    assert_eq!(h.engine().counts(), before);
    assert_eq!(h.ok(get("a")), bulk("1"));
    assert_eq!(h.ok(ttl("b", TimeUnit::Seconds)), int(100));
    assert_eq!(h.run_in(7, get("c")), Outcome::Ok(bulk("3")));
    assert_eq!(h.sub_keys(2, b"h", v).len(), 1);
    // Versions keep growing across a reopen.
    let mut g = h.writer.as_mut().unwrap().begin();
    assert!(g.new_version() > v);
}

#[test]
fn compaction_drops_stale_sub_keys_only() {
    let mut h = Harness::new();
    let old = h.put_hash(0, b"h", &[(b"f", b"old")]);
    let live = h.put_hash(0, b"live", &[(b"f", b"v")]);
    // Overwrite h with a new version: the old sub-keys are stale.
    let new = h.put_hash(0, b"h", &[(b"g", b"new")]);
    let gone = h.put_hash(0, b"gone", &[(b"f", b"v")]);
    h.ok(Command::Del {
        keys: vec![k("gone")],
    });
    h.engine().compact().unwrap();
    assert!(h.sub_keys(0, b"h", old).is_empty());
    assert!(h.sub_keys(0, b"gone", gone).is_empty());
    assert_eq!(h.sub_keys(0, b"h", new), vec![(k("g"), k("new"))]);
    assert_eq!(h.sub_keys(0, b"live", live), vec![(k("f"), k("v"))]);
}

#[test]
fn info_sections() {
    let mut h = Harness::new();
    h.ok(set("a", "1"));
    h.ok(expire("a", now() + 100_000, ExpireCondition::Always));
    h.run_in(3, set("b", "1"));
    h.ok(get("a"));
    h.ok(get("zz"));
    let Reply::Bulk(text) = h.ok(Command::Info) else {
        panic!()
    };
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains(
            "# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n"
        ),
        "{text}"
    );
    assert!(text.contains("keyspace_hits:1\r\n"), "{text}");
    assert!(text.contains("keyspace_misses:1\r\n"), "{text}");
    assert!(text.contains("expired_keys:0\r\n"), "{text}");
    assert!(text.contains("# Storage\r\n"), "{text}");
    assert!(text.contains("is_write_stopped:0\r\n"), "{text}");
    assert!(!text.contains('\n') || text.split("\r\n").all(|l| !l.contains('\n')));
}

#[test]
fn bad_db_and_write_on_read_path() {
    let mut h = Harness::new();
    assert_eq!(
        h.run_in(16, get("a")),
        Outcome::Err(StorageError::DbOutOfRange)
    );
    assert_eq!(
        h.run_in(16, set("a", "1")),
        Outcome::Err(StorageError::DbOutOfRange)
    );
    let bytes = archive(&set("a", "1"));
    let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap();
    assert!(matches!(
        read(h.engine(), 0, a),
        Outcome::Err(StorageError::Internal(_))
    ));
}

#[test]
fn concurrent_readers_during_writes() {
    let mut h = Harness::new();
    h.ok(set("n", "0"));
    let engine = h.engine().clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let engine = engine.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let bytes = archive(&get("n"));
                let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap();
                let mut last = 0i64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Outcome::Ok(Reply::Bulk(v)) = read(&engine, 0, a) else {
                        panic!()
                    };
                    let n: i64 = String::from_utf8(v).unwrap().parse().unwrap();
                    assert!(n >= last, "reads went backwards");
                    last = n;
                }
            })
        })
        .collect();
    for _ in 0..200 {
        h.ok(Command::IncrBy {
            key: k("n"),
            delta: 1,
        });
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(h.ok(get("n")), bulk("200"));
}

#[test]
fn write_groups_name_the_keys_they_touch_only_when_asked() {
    let mut h = Harness::new();
    let touched = |h: &mut Harness, db: u8, cmd: Command| {
        let bytes = archive(&cmd);
        let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap();
        let w = h.writer.as_mut().unwrap();
        w.set_track_touched(true);
        let mut g = w.begin();
        exec(&mut g, db, a);
        let t = g.take_touched();
        g.commit().unwrap();
        t
    };
    let t = touched(&mut h, 0, set("a", "1"));
    assert_eq!(t.keys, std::collections::HashSet::from([(0u8, k("a"))]));
    // A field overwrite writes only a sub-key; the key is still named.
    touched(
        &mut h,
        3,
        Command::HSet {
            key: k("h"),
            pairs: vec![(k("f"), k("1"))],
        },
    );
    let t = touched(
        &mut h,
        3,
        Command::HSet {
            key: k("h"),
            pairs: vec![(k("f"), k("2"))],
        },
    );
    assert!(t.keys.contains(&(3u8, k("h"))));
    assert!(t.flushed.is_empty());
    let t = touched(&mut h, 3, Command::FlushDb);
    assert_eq!(t.flushed, vec![3]);
    let t = touched(&mut h, 0, Command::FlushAll);
    assert_eq!(t.flushed, (0..DB_COUNT).collect::<Vec<_>>());
    // Off: nothing recorded.
    let w = h.writer.as_mut().unwrap();
    w.set_track_touched(false);
    let mut g = w.begin();
    let bytes = archive(&set("b", "2"));
    exec(
        &mut g,
        0,
        rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap(),
    );
    assert!(!g.tracks_touched() && g.take_touched().is_empty());
    g.commit().unwrap();
}

fn light(cmd: &Command) -> bool {
    let bytes = archive(cmd);
    let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap();
    is_light_read(a)
}

#[test]
fn light_reads_are_point_lookups_and_short_windows() {
    let key = || k("k");
    let keys = |n: usize| {
        (0..n)
            .map(|i| format!("k{i}").into_bytes())
            .collect::<Vec<_>>()
    };
    let unit = TimeUnit::Seconds;
    let light_ones = [
        Command::Get { key: key() },
        Command::StrLen { key: key() },
        Command::GetBit {
            key: key(),
            offset: 4_294_967_295,
        },
        Command::Type { key: key() },
        Command::Ttl { key: key(), unit },
        Command::ExpireTime { key: key(), unit },
        Command::DbSize,
        Command::SCard { key: key() },
        Command::SIsMember {
            key: key(),
            member: k("m"),
        },
        Command::HGet {
            key: key(),
            field: k("f"),
        },
        Command::HLen { key: key() },
        Command::HStrLen {
            key: key(),
            field: k("f"),
        },
        Command::HExists {
            key: key(),
            field: k("f"),
        },
        Command::ZCard { key: key() },
        Command::ZScore {
            key: key(),
            member: k("m"),
        },
        Command::LLen { key: key() },
        Command::LIndex {
            key: key(),
            index: -1,
        },
        Command::MGet { keys: keys(256) },
        Command::Exists { keys: keys(256) },
        Command::HMGet {
            key: key(),
            fields: keys(256),
        },
        Command::LRange {
            key: key(),
            start: 0,
            stop: 255,
        },
    ];
    for cmd in &light_ones {
        assert!(light(cmd), "{cmd:?} should be light");
    }
    let heavy_ones = [
        Command::MGet { keys: keys(257) },
        Command::Exists { keys: keys(257) },
        Command::Touch { keys: keys(1) },
        Command::HMGet {
            key: key(),
            fields: keys(257),
        },
        Command::LRange {
            key: key(),
            start: 0,
            stop: 256,
        },
        Command::LRange {
            key: key(),
            start: -10,
            stop: -1,
        },
        Command::LRange {
            key: key(),
            start: 5,
            stop: 3,
        },
        Command::GetRange {
            key: key(),
            start: 0,
            end: 1,
        },
        Command::Keys { pattern: k("*") },
        Command::RandomKey,
        Command::HGetAll { key: key() },
        Command::SMembers { key: key() },
        Command::Publish {
            channel: k("c"),
            message: k("m"),
        },
        set("k", "v"),
    ];
    for cmd in &heavy_ones {
        assert!(!light(cmd), "{cmd:?} should not be light");
    }
}
