//! The stream functions against a model (a `BTreeMap` of ids plus the stream's recorded
//! state, with Redis's node rule for `~` trims), on the in-memory engine and on RocksDB;
//! consumer groups against a second model (entries plus, per group, its last id, its PEL of
//! owner and deliveries, and its consumers: XGROUP, XREADGROUP new and history, XACK,
//! XPENDING, every record accounted for); and the layout pinned byte for byte.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tandem_engine::{KvEngine, MemoryEngine};
use tandem_shared::command::XPendingRange;

use super::*;
use crate::types::testing::{test_db_wrapper, TestDb, MODEL_CASES};

struct Db<E: KvEngine = MemoryEngine>(TestDb<E>);
test_db_wrapper!(Db);

fn id(ms: u64, seq: u64) -> StreamId {
    StreamId { ms, seq }
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(s.as_bytes().to_vec())
}

impl<E: KvEngine> Db<E> {
    fn add(&mut self, key: &[u8], new: XAddId, trim: Option<StreamTrim>, v: &[u8]) -> Reply {
        self.write(|w, at| xadd(w, at, key, new, false, trim, &[(&b"f"[..], v)]))
            .map(|a| a.reply)
            .expect("xadd")
    }

    fn all(&self, key: &[u8]) -> Reply {
        self.read(|s, at| xrange(s, at, key, ZERO, MAX, None, false))
            .expect("xrange")
    }

    /// Sub-key records (entries, and group state) physically present under the stream's
    /// version.
    fn entry_records(&self, key: &[u8]) -> usize {
        let Some(rec) = self
            .read(|s, at| crate::types::lookup(s, at, key))
            .expect("lookup")
        else {
            return 0;
        };
        let prefix = keys::sub_prefix(0, key, rec.version);
        let end = keys::prefix_end(&prefix).expect("end");
        let mut n = 0;
        self.engine
            .scan(Cf::Sub, &prefix, &end, &mut |_, _| {
                n += 1;
                true
            })
            .expect("scan");
        n
    }
}

#[test]
fn layout_is_pinned() {
    let mut db = Db(TestDb::open());
    db.add(b"s", XAddId::Explicit(id(1, 2)), None, b"v");
    let rec = db
        .read(|s, at| crate::types::lookup(s, at, b"s"))
        .expect("lookup")
        .expect("stream");
    assert_eq!(rec.kind, KeyType::Stream);
    assert_eq!(rec.encode()[0], 6);
    assert_eq!(rec.size, 1);
    let mut want = Vec::new();
    for v in [1u64, 2, 1, 2, 0, 0, 1, 0, 1, 1] {
        want.extend_from_slice(&v.to_be_bytes());
    }
    assert_eq!(rec.payload, want);
    let k = keys::sub_key(0, b"s", rec.version, &entry_suffix(id(1, 2)));
    let mut suffix = vec![0x01];
    suffix.extend_from_slice(&1u64.to_be_bytes());
    suffix.extend_from_slice(&2u64.to_be_bytes());
    assert_eq!(k, keys::sub_key(0, b"s", rec.version, &suffix));
    let v = db.engine.get(Cf::Sub, &k).expect("get").expect("entry");
    assert_eq!(
        v,
        [
            &1u64.to_be_bytes()[..],
            &1u32.to_be_bytes(),
            &1u32.to_be_bytes(),
            b"f",
            &1u32.to_be_bytes(),
            b"v"
        ]
        .concat()
    );
}

#[test]
fn auto_ids_follow_the_clock_and_never_go_back() {
    let mut db = Db(TestDb::open());
    // A last id far in the future: `*` continues from it, not from the clock.
    let future = u64::MAX / 2;
    db.add(b"s", XAddId::Explicit(id(future, 5)), None, b"a");
    assert_eq!(
        db.add(b"s", XAddId::Auto, None, b"b"),
        bulk(&format!("{future}-6"))
    );
    assert_eq!(
        db.add(b"s", XAddId::AutoSeq(future), None, b"c"),
        bulk(&format!("{future}-7"))
    );
    assert_eq!(
        db.add(b"s", XAddId::AutoSeq(future + 1), None, b"d"),
        bulk(&format!("{}-0", future + 1))
    );
    // A fresh stream takes the clock.
    let before = crate::engine::now_ms();
    let Reply::Bulk(got) = db.add(b"t", XAddId::Auto, None, b"a") else {
        panic!("no id");
    };
    let text = String::from_utf8(got).expect("utf8");
    let ms: u64 = text
        .split('-')
        .next()
        .and_then(|m| m.parse().ok())
        .expect("ms");
    assert!(ms >= before && text.ends_with("-0"), "{text}");
    // The largest id: exhausted.
    db.add(b"m", XAddId::Explicit(MAX), None, b"a");
    assert_eq!(
        db.add(b"m", XAddId::Auto, None, b"b"),
        Reply::Error(
            "ERR The stream has exhausted the last possible ID, unable to add more items".into()
        )
    );
}

#[test]
fn a_long_trim_is_one_range_deletion_and_reads_skip_the_deleted_head() {
    let mut db = Db(TestDb::open_rocks());
    for i in 1..=1000u64 {
        db.add(b"s", XAddId::Explicit(id(i, 0)), None, b"v");
    }
    let trim = StreamTrim {
        kind: StreamTrimKind::MaxLen(10),
        approx: false,
        limit: 0,
    };
    let r = db.write(|w, at| xtrim(w, at, b"s", trim));
    assert_eq!(r, Ok(Reply::Integer(990)));
    assert_eq!(db.entry_records(b"s"), 10);
    let first = db.read(|s, at| xrange(s, at, b"s", ZERO, MAX, Some(1), false));
    assert_eq!(
        first,
        Ok(Reply::Array(vec![Reply::Array(vec![
            bulk("991-0"),
            Reply::Array(vec![bulk("f"), bulk("v")])
        ])]))
    );
    // `~` keeps whole nodes: 1000 entries made nodes of 100; 10 are left in the last.
    let approx = StreamTrim {
        kind: StreamTrimKind::MaxLen(5),
        approx: true,
        limit: 10_000,
    };
    assert_eq!(
        db.write(|w, at| xtrim(w, at, b"s", approx)),
        Ok(Reply::Integer(0))
    );
}

/// One model step.
#[derive(Debug, Clone)]
enum Op {
    Add(Option<(u64, Option<u64>)>, Option<StreamTrim>),
    Del(Vec<(u64, u64)>),
    Trim(StreamTrim),
    Range(u64, u64, Option<u64>, bool),
    SetId(u64, u64),
    Read(u64, u64, u64),
    Delete,
}

fn trim_strategy() -> impl Strategy<Value = StreamTrim> {
    (
        prop_oneof![
            (0u64..30).prop_map(StreamTrimKind::MaxLen),
            (0u64..40, 0u64..3).prop_map(|(ms, seq)| StreamTrimKind::MinId(id(ms, seq))),
        ],
        any::<bool>(),
        prop_oneof![Just(0u64), 1u64..250],
    )
        .prop_map(|(kind, approx, limit)| StreamTrim {
            kind,
            approx,
            limit: if approx { limit } else { 0 },
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (
            proptest::option::of((0u64..40, proptest::option::of(0u64..3))),
            proptest::option::weighted(0.2, trim_strategy())
        )
            .prop_map(|(i, t)| Op::Add(i, t)),
        2 => proptest::collection::vec((0u64..40, 0u64..3), 1..4).prop_map(Op::Del),
        1 => trim_strategy().prop_map(Op::Trim),
        2 => (0u64..40, 0u64..40, proptest::option::of(0u64..5), any::<bool>())
            .prop_map(|(a, b, c, r)| Op::Range(a, b, c, r)),
        1 => (0u64..50, 0u64..3).prop_map(|(a, b)| Op::SetId(a, b)),
        1 => (0u64..40, 0u64..3, 0u64..4).prop_map(|(a, b, c)| Op::Read(a, b, c)),
        1 => Just(Op::Delete),
    ]
}

/// The model: entries with their node, and the recorded state.
#[derive(Default)]
struct Model {
    exists: bool,
    entries: BTreeMap<StreamId, (u64, Vec<u8>)>,
    last: StreamId,
    max_deleted: StreamId,
    added: u64,
    node: u64,
    fill: u64,
}

impl Model {
    fn reply(&self, range: impl Iterator<Item = StreamId>) -> Vec<Reply> {
        range
            .map(|i| {
                let v = &self.entries[&i].1;
                Reply::Array(vec![
                    id_reply(i),
                    Reply::Array(vec![bulk("f"), Reply::Bulk(v.clone())]),
                ])
            })
            .collect()
    }

    /// Redis's `streamTrim` over the model's nodes.
    fn trim(&mut self, t: StreamTrim) -> u64 {
        let mut removed = 0;
        while let Some((&first, &(node, _))) = self.entries.iter().next() {
            let len = self.entries.len() as u64;
            if let StreamTrimKind::MaxLen(max) = t.kind {
                if len <= max {
                    break;
                }
            }
            if !t.approx {
                let remove = match t.kind {
                    StreamTrimKind::MaxLen(_) => true,
                    StreamTrimKind::MinId(min) => first < min,
                };
                if !remove {
                    break;
                }
                self.entries.remove(&first);
                removed += 1;
                continue;
            }
            let ids: Vec<StreamId> = self
                .entries
                .iter()
                .take_while(|(_, (n, _))| *n == node)
                .map(|(&i, _)| i)
                .collect();
            let n = ids.len() as u64;
            if t.limit > 0 && removed + n > t.limit {
                break;
            }
            let remove = match t.kind {
                StreamTrimKind::MaxLen(max) => len - n >= max,
                StreamTrimKind::MinId(min) => ids.last().is_some_and(|&l| l < min),
            };
            if !remove {
                break;
            }
            for i in ids {
                self.entries.remove(&i);
            }
            removed += n;
        }
        removed
    }
}

fn streams_behave_like_the_model<E: KvEngine>(
    mut db: Db<E>,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let mut m = Model::default();
    let key = b"s";
    for (step, op) in ops.into_iter().enumerate() {
        let value = format!("v{step}").into_bytes();
        match op {
            Op::Add(given, t) => {
                let new = match given {
                    None => XAddId::Auto,
                    Some((ms, None)) => XAddId::AutoSeq(ms),
                    Some((ms, Some(seq))) => XAddId::Explicit(id(ms, seq)),
                };
                let got = db.add(key, new, t, &value);
                let want_id = match new {
                    XAddId::Auto => {
                        let Reply::Bulk(text) = &got else {
                            return Err(TestCaseError::fail(format!("{got:?}")));
                        };
                        let text = String::from_utf8_lossy(text).to_string();
                        let (a, b) = text.split_once('-').unwrap_or_default();
                        Some(id(a.parse().unwrap_or(0), b.parse().unwrap_or(0)))
                    }
                    XAddId::AutoSeq(ms) if ms == m.last.ms => Some(id(ms, m.last.seq + 1)),
                    XAddId::AutoSeq(ms) => Some(id(ms, 0)),
                    XAddId::Explicit(i) => Some(i),
                }
                .filter(|&i| i > m.last);
                match want_id {
                    Some(i) => {
                        prop_assert_eq!(&got, &id_reply(i));
                        if m.entries.is_empty() || m.fill >= NODE_MAX_ENTRIES {
                            m.node += 1;
                            m.fill = 0;
                        }
                        m.fill += 1;
                        m.entries.insert(i, (m.node, value.clone()));
                        m.last = i;
                        m.added += 1;
                        m.exists = true;
                        if let Some(t) = t {
                            m.trim(t);
                        }
                    }
                    None => prop_assert_eq!(
                        got,
                        Reply::Error("ERR The ID specified in XADD is equal or smaller than the target stream top item".into())
                    ),
                }
            }
            Op::Del(ids) => {
                let ids: Vec<StreamId> = ids.into_iter().map(|(a, b)| id(a, b)).collect();
                let got = db.write(|w, at| xdel(w, at, key, Some(&ids)));
                let mut n = 0;
                for i in &ids {
                    if m.entries.remove(i).is_some() {
                        n += 1;
                        m.max_deleted = m.max_deleted.max(*i);
                    }
                }
                prop_assert_eq!(got, Ok(Reply::Integer(n)));
            }
            Op::Trim(t) => {
                let got = db.write(|w, at| xtrim(w, at, key, t));
                let n = if m.exists { m.trim(t) } else { 0 };
                prop_assert_eq!(got, Ok(Reply::Integer(n as i64)));
            }
            Op::Range(a, b, count, rev) => {
                let (start, end) = (id(a, 0), id(b, u64::MAX));
                let got = db.read(|s, at| xrange(s, at, key, start, end, count, rev));
                let want = if !m.exists {
                    Reply::Array(vec![])
                } else if count == Some(0) {
                    Reply::NilArray
                } else {
                    let n = count.unwrap_or(u64::MAX) as usize;
                    let ids: Vec<StreamId> = if start > end {
                        vec![]
                    } else if rev {
                        m.entries
                            .range(start..=end)
                            .rev()
                            .map(|(&i, _)| i)
                            .take(n)
                            .collect()
                    } else {
                        m.entries
                            .range(start..=end)
                            .map(|(&i, _)| i)
                            .take(n)
                            .collect()
                    };
                    Reply::Array(m.reply(ids.into_iter()))
                };
                prop_assert_eq!(got, Ok(want));
            }
            Op::SetId(a, b) => {
                let last = id(a, b);
                let got = db.write(|w, at| xsetid(w, at, key, last, None, None));
                let top = m.entries.keys().next_back().copied();
                let want = if !m.exists {
                    Err(StorageError::NoSuchKey)
                } else if top.is_some_and(|t| last < t) {
                    Ok(Reply::Error(
                        "ERR The ID specified in XSETID is smaller than the target stream top item"
                            .into(),
                    ))
                } else {
                    m.last = last;
                    Ok(Reply::ok())
                };
                prop_assert_eq!(got, want);
            }
            Op::Read(a, b, count) => {
                let after = id(a, b);
                let got = db.read(|s, at| xread(s, at, count, &[&key[..]], &[XReadId::Id(after)]));
                let n = if count == 0 {
                    usize::MAX
                } else {
                    count as usize
                };
                let ids: Vec<StreamId> = m
                    .entries
                    .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
                    .map(|(&i, _)| i)
                    .take(n)
                    .collect();
                let want = if ids.is_empty() {
                    Reply::NilArray
                } else {
                    Reply::PairMap(vec![(bulk("s"), Reply::Array(m.reply(ids.into_iter())))])
                };
                prop_assert_eq!(got, Ok(want));
            }
            Op::Delete => {
                db.write(|w, at| crate::types::delete_key(w, at, key))
                    .expect("del");
                m = Model::default();
            }
        }
        prop_assert_eq!(
            db.read(|s, at| xlen(s, at, key)),
            Ok(Reply::Integer(m.entries.len() as i64))
        );
        prop_assert_eq!(db.entry_records(key), m.entries.len());
        if m.exists {
            prop_assert_eq!(
                db.all(key),
                Reply::Array(m.reply(m.entries.keys().copied()))
            );
            let rec = db
                .read(|s, at| crate::types::lookup(s, at, key))
                .expect("lookup")
                .expect("stream");
            let st = State::decode(&rec.payload).expect("state");
            prop_assert_eq!(st.last_id, m.last);
            prop_assert_eq!(st.max_deleted, m.max_deleted);
            prop_assert_eq!(
                st.first_id,
                m.entries.keys().next().copied().unwrap_or(ZERO)
            );
            prop_assert_eq!(st.entries_added, m.added);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(MODEL_CASES))]

    #[test]
    fn streams_behave_like_a_btreemap_in_memory(ops in proptest::collection::vec(op(), 1..60)) {
        streams_behave_like_the_model(Db(TestDb::open()), ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn streams_behave_like_a_btreemap_on_rocksdb(ops in proptest::collection::vec(op(), 1..60)) {
        streams_behave_like_the_model(Db(TestDb::open_rocks()), ops)?;
    }
}

#[test]
fn groups_are_sub_keys_counted_in_the_state_and_destroyed_whole() {
    let mut db = Db(TestDb::open_rocks());
    let run = |db: &mut Db<_>, group: &str, op: XGroupOp| {
        db.write(|w, at| xgroup(w, at, b"s", group.as_bytes(), &op, b"x", false, 7))
    };
    let create = XGroupOp::Create {
        id: XGroupId::Last,
        mkstream: true,
        entries_read: -1,
    };
    assert_eq!(run(&mut db, "g", create.clone()), Ok(Reply::ok()));
    assert_eq!(run(&mut db, "g2", create.clone()), Ok(Reply::ok()));
    for c in ["a", "b"] {
        let op = XGroupOp::CreateConsumer {
            consumer: c.as_bytes().to_vec(),
        };
        assert_eq!(run(&mut db, "g", op.clone()), Ok(Reply::Integer(1)));
        // A group whose name extends `g` keeps its own consumers apart.
        assert_eq!(run(&mut db, "g2", op), Ok(Reply::Integer(1)));
    }
    let state = |db: &Db<_>| {
        let rec = db
            .read(|s, at| crate::types::lookup(s, at, b"s"))
            .expect("lookup")
            .expect("stream");
        State::decode(&rec.payload).expect("state")
    };
    assert_eq!(state(&db).groups, 2);
    assert_eq!(db.entry_records(b"s"), 2 + 4);
    assert_eq!(run(&mut db, "g", XGroupOp::Destroy), Ok(Reply::Integer(1)));
    assert_eq!(state(&db).groups, 1);
    assert_eq!(
        db.entry_records(b"s"),
        1 + 2,
        "g's consumers went with it, g2's stayed"
    );
    assert_eq!(run(&mut db, "g", XGroupOp::Destroy), Ok(Reply::Integer(0)));
    assert_eq!(
        run(
            &mut db,
            "g2",
            XGroupOp::DelConsumer {
                consumer: b"a".to_vec()
            }
        ),
        Ok(Reply::Integer(0))
    );
    assert_eq!(db.entry_records(b"s"), 1 + 1);
}

/// One step of the consumer-group model: groups `g` and `gg` (a name extending the other,
/// whose records must stay apart), consumers `a` and `b`.
#[derive(Debug, Clone)]
enum GroupOp {
    Add(u64),
    Del(Vec<u64>),
    Create(bool, Option<u64>),
    SetId(bool, u64),
    Destroy(bool),
    ReadNew(bool, bool, u64, bool),
    ReadHistory(bool, bool, u64, u64),
    Ack(bool, Vec<u64>),
    Pending(bool, u64, u64, u64, Option<bool>),
    Summary(bool),
    DelConsumer(bool, bool),
}

fn group_op() -> impl Strategy<Value = GroupOp> {
    let ms = || 0u64..30;
    prop_oneof![
        5 => ms().prop_map(GroupOp::Add),
        1 => proptest::collection::vec(ms(), 1..3).prop_map(GroupOp::Del),
        2 => (any::<bool>(), proptest::option::of(ms())).prop_map(|(g, i)| GroupOp::Create(g, i)),
        1 => (any::<bool>(), ms()).prop_map(|(g, i)| GroupOp::SetId(g, i)),
        1 => any::<bool>().prop_map(GroupOp::Destroy),
        5 => (any::<bool>(), any::<bool>(), 0u64..4, proptest::bool::weighted(0.2))
            .prop_map(|(g, c, n, noack)| GroupOp::ReadNew(g, c, n, noack)),
        2 => (any::<bool>(), any::<bool>(), ms(), 0u64..4)
            .prop_map(|(g, c, after, n)| GroupOp::ReadHistory(g, c, after, n)),
        3 => (any::<bool>(), proptest::collection::vec(ms(), 1..4))
            .prop_map(|(g, ids)| GroupOp::Ack(g, ids)),
        2 => (any::<bool>(), ms(), ms(), 0u64..5, proptest::option::of(any::<bool>()))
            .prop_map(|(g, a, b, n, c)| GroupOp::Pending(g, a, b, n, c)),
        1 => any::<bool>().prop_map(GroupOp::Summary),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(g, c)| GroupOp::DelConsumer(g, c)),
    ]
}

/// A group of the model: its last id, its PEL (owner, deliveries) and its consumers.
#[derive(Default, Clone)]
struct GroupModel {
    last: StreamId,
    pel: BTreeMap<StreamId, (&'static str, u64)>,
    consumers: std::collections::BTreeSet<&'static str>,
}

fn streams_groups_behave_like_the_model<E: KvEngine>(
    mut db: Db<E>,
    ops: Vec<GroupOp>,
) -> Result<(), TestCaseError> {
    let key = b"s";
    let mut exists = false;
    let mut entries: BTreeMap<StreamId, Vec<u8>> = BTreeMap::new();
    let mut last = ZERO;
    let mut groups: BTreeMap<&'static str, GroupModel> = BTreeMap::new();
    let name = |g: bool| if g { "g" } else { "gg" };
    let consumer = |c: bool| if c { "a" } else { "b" };
    let entry = |entries: &BTreeMap<StreamId, Vec<u8>>, i: StreamId| {
        Reply::Array(vec![
            id_reply(i),
            Reply::Array(vec![bulk("f"), Reply::Bulk(entries[&i].clone())]),
        ])
    };
    let nogroup = |g: &str| {
        Reply::Error(format!(
            "NOGROUP No such key 's' or consumer group '{g}' in XREADGROUP with GROUP option"
        ))
    };
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            GroupOp::Add(ms) => {
                let value = format!("v{step}").into_bytes();
                let i = id(ms, 1);
                let got = db.add(key, XAddId::Explicit(i), None, &value);
                if i > last {
                    prop_assert_eq!(got, id_reply(i));
                    entries.insert(i, value);
                    last = i;
                    exists = true;
                } else {
                    prop_assert!(matches!(got, Reply::Error(_)));
                }
            }
            GroupOp::Del(ms) => {
                let ids: Vec<StreamId> = ms.into_iter().map(|m| id(m, 1)).collect();
                let got = db.write(|w, at| xdel(w, at, key, Some(&ids)));
                let n = ids.iter().filter(|i| entries.remove(i).is_some()).count();
                prop_assert_eq!(got, Ok(Reply::Integer(n as i64)));
            }
            GroupOp::Create(g, from) => {
                let op = XGroupOp::Create {
                    id: from.map_or(XGroupId::Last, |m| XGroupId::Id(id(m, 1))),
                    mkstream: true,
                    entries_read: -1,
                };
                let got = db.write(|w, at| {
                    xgroup(
                        w,
                        at,
                        key,
                        name(g).as_bytes(),
                        &op,
                        b"create",
                        false,
                        at.now_ms,
                    )
                });
                if groups.contains_key(name(g)) {
                    prop_assert!(matches!(got, Ok(Reply::Error(_))));
                } else {
                    prop_assert_eq!(got, Ok(Reply::ok()));
                    exists = true;
                    let start = from.map_or(last, |m| id(m, 1));
                    groups.insert(
                        name(g),
                        GroupModel {
                            last: start,
                            ..Default::default()
                        },
                    );
                }
            }
            GroupOp::SetId(g, m) => {
                let op = XGroupOp::SetId {
                    id: XGroupId::Id(id(m, 1)),
                    entries_read: -1,
                };
                let got = db.write(|w, at| {
                    xgroup(
                        w,
                        at,
                        key,
                        name(g).as_bytes(),
                        &op,
                        b"setid",
                        false,
                        at.now_ms,
                    )
                });
                match groups.get_mut(name(g)) {
                    Some(gm) => {
                        prop_assert_eq!(got, Ok(Reply::ok()));
                        gm.last = id(m, 1);
                    }
                    None => prop_assert!(matches!(got, Ok(Reply::Error(_)))),
                }
            }
            GroupOp::Destroy(g) => {
                let got = db.write(|w, at| {
                    xgroup(
                        w,
                        at,
                        key,
                        name(g).as_bytes(),
                        &XGroupOp::Destroy,
                        b"destroy",
                        false,
                        at.now_ms,
                    )
                });
                if !exists {
                    prop_assert!(matches!(got, Ok(Reply::Error(_))));
                } else {
                    let n = i64::from(groups.remove(name(g)).is_some());
                    prop_assert_eq!(got, Ok(Reply::Integer(n)));
                }
            }
            GroupOp::ReadNew(g, c, count, noack) => {
                let got = db.write(|w, at| {
                    xreadgroup(
                        w,
                        at,
                        name(g).as_bytes(),
                        consumer(c).as_bytes(),
                        count,
                        noack,
                        &[&key[..]],
                        &[XReadId::NewOnly],
                    )
                    .map(|r| r.reply)
                });
                let want = match groups.get_mut(name(g)) {
                    None => nogroup(name(g)),
                    Some(gm) => {
                        let after = gm.last;
                        let fresh = entries.keys().next_back().is_some_and(|&top| top > after);
                        if !fresh {
                            Reply::NilArray
                        } else {
                            gm.consumers.insert(consumer(c));
                            let n = if count == 0 {
                                usize::MAX
                            } else {
                                count as usize
                            };
                            let ids: Vec<StreamId> = entries
                                .range((
                                    std::ops::Bound::Excluded(after),
                                    std::ops::Bound::Unbounded,
                                ))
                                .map(|(&i, _)| i)
                                .take(n)
                                .collect();
                            for &i in &ids {
                                gm.last = gm.last.max(i);
                                if !noack {
                                    gm.pel.insert(i, (consumer(c), 1));
                                }
                            }
                            let items = ids.iter().map(|&i| entry(&entries, i)).collect();
                            Reply::PairMap(vec![(bulk("s"), Reply::Array(items))])
                        }
                    }
                };
                prop_assert_eq!(got, Ok(want));
            }
            GroupOp::ReadHistory(g, c, after, count) => {
                let after = id(after, 1);
                let got = db.write(|w, at| {
                    xreadgroup(
                        w,
                        at,
                        name(g).as_bytes(),
                        consumer(c).as_bytes(),
                        count,
                        false,
                        &[&key[..]],
                        &[XReadId::Id(after)],
                    )
                    .map(|r| r.reply)
                });
                let want = match groups.get_mut(name(g)) {
                    None => nogroup(name(g)),
                    Some(gm) => {
                        gm.consumers.insert(consumer(c));
                        let n = if count == 0 {
                            usize::MAX
                        } else {
                            count as usize
                        };
                        let mut items = Vec::new();
                        for (&i, (owner, deliveries)) in gm
                            .pel
                            .range_mut((
                                std::ops::Bound::Excluded(after),
                                std::ops::Bound::Unbounded,
                            ))
                            .filter(|(_, (o, _))| *o == consumer(c))
                            .take(n)
                        {
                            let _ = owner;
                            if entries.contains_key(&i) {
                                *deliveries += 1;
                                items.push(entry(&entries, i));
                            } else {
                                items.push(Reply::Array(vec![id_reply(i), Reply::NilArray]));
                            }
                        }
                        Reply::PairMap(vec![(bulk("s"), Reply::Array(items))])
                    }
                };
                prop_assert_eq!(got, Ok(want));
            }
            GroupOp::Ack(g, ms) => {
                let ids: Vec<StreamId> = ms.into_iter().map(|m| id(m, 1)).collect();
                let got = db.write(|w, at| xack(w, at, key, name(g).as_bytes(), Some(&ids)));
                let n = match groups.get_mut(name(g)) {
                    Some(gm) => ids.iter().filter(|i| gm.pel.remove(i).is_some()).count(),
                    None => 0,
                };
                prop_assert_eq!(got, Ok(Reply::Integer(n as i64)));
            }
            GroupOp::Pending(g, a, b, count, c) => {
                let range = XPendingRange {
                    min_idle: 0,
                    start: id(a, 0),
                    end: id(b, u64::MAX),
                    count,
                    consumer: c.map(|c| consumer(c).as_bytes().to_vec()),
                };
                let got = db.read(|s, at| xpending(s, at, key, name(g).as_bytes(), Some(&range)));
                let Some(gm) = groups.get(name(g)) else {
                    prop_assert!(matches!(got, Ok(Reply::Error(_))));
                    continue;
                };
                let want: Vec<(StreamId, &str, u64)> = if c
                    .is_some_and(|c| !gm.consumers.contains(consumer(c)))
                    || range.start > range.end
                {
                    Vec::new()
                } else {
                    gm.pel
                        .range(range.start..=range.end)
                        .filter(|(_, (o, _))| c.is_none_or(|c| *o == consumer(c)))
                        .map(|(&i, &(o, d))| (i, o, d))
                        .take(count as usize)
                        .collect()
                };
                let Ok(Reply::Array(items)) = got else {
                    return Err(TestCaseError::fail(format!("{got:?}")));
                };
                prop_assert_eq!(items.len(), want.len());
                for (item, (i, o, d)) in items.iter().zip(want) {
                    let Reply::Array(f) = item else {
                        return Err(TestCaseError::fail(format!("{item:?}")));
                    };
                    prop_assert_eq!(&f[0], &id_reply(i));
                    prop_assert_eq!(&f[1], &bulk(o));
                    prop_assert!(
                        matches!(f[2], Reply::Integer(idle) if (0..60_000).contains(&idle))
                    );
                    prop_assert_eq!(&f[3], &Reply::Integer(d as i64));
                }
            }
            GroupOp::Summary(g) => {
                let got = db.read(|s, at| xpending(s, at, key, name(g).as_bytes(), None));
                let want = match groups.get(name(g)) {
                    None => {
                        prop_assert!(matches!(got, Ok(Reply::Error(_))));
                        continue;
                    }
                    Some(gm) if gm.pel.is_empty() => Reply::Array(vec![
                        Reply::Integer(0),
                        Reply::Nil,
                        Reply::Nil,
                        Reply::NilArray,
                    ]),
                    Some(gm) => {
                        let mut per: BTreeMap<&str, u64> = BTreeMap::new();
                        for (o, _) in gm.pel.values() {
                            *per.entry(o).or_default() += 1;
                        }
                        Reply::Array(vec![
                            Reply::Integer(gm.pel.len() as i64),
                            id_reply(*gm.pel.keys().next().unwrap_or(&ZERO)),
                            id_reply(*gm.pel.keys().next_back().unwrap_or(&ZERO)),
                            Reply::Array(
                                per.into_iter()
                                    .map(|(o, n)| Reply::Array(vec![bulk(o), bulk(&n.to_string())]))
                                    .collect(),
                            ),
                        ])
                    }
                };
                prop_assert_eq!(got, Ok(want));
            }
            GroupOp::DelConsumer(g, c) => {
                let op = XGroupOp::DelConsumer {
                    consumer: consumer(c).as_bytes().to_vec(),
                };
                let got = db.write(|w, at| {
                    xgroup(
                        w,
                        at,
                        key,
                        name(g).as_bytes(),
                        &op,
                        b"delconsumer",
                        false,
                        at.now_ms,
                    )
                });
                match groups.get_mut(name(g)) {
                    Some(gm) => {
                        let n = if gm.consumers.remove(consumer(c)) {
                            let before = gm.pel.len();
                            gm.pel.retain(|_, (o, _)| *o != consumer(c));
                            (before - gm.pel.len()) as i64
                        } else {
                            0
                        };
                        prop_assert_eq!(got, Ok(Reply::Integer(n)));
                    }
                    None => prop_assert!(matches!(got, Ok(Reply::Error(_)))),
                }
            }
        }
        // Every record is accounted for: entries, groups, pending entries and consumers.
        let records: usize = entries.len()
            + groups
                .values()
                .map(|g| 1 + g.pel.len() + g.consumers.len())
                .sum::<usize>();
        prop_assert_eq!(db.entry_records(key), records);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(MODEL_CASES))]

    #[test]
    fn stream_groups_behave_like_the_model_in_memory(ops in proptest::collection::vec(group_op(), 1..60)) {
        streams_groups_behave_like_the_model(Db(TestDb::open()), ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn stream_groups_behave_like_the_model_on_rocksdb(ops in proptest::collection::vec(group_op(), 1..60)) {
        streams_groups_behave_like_the_model(Db(TestDb::open_rocks()), ops)?;
    }
}
