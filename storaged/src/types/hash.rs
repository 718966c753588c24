//! Hash commands (`HSET`, `HGET`, `HINCRBY`, `HSCAN`, `HRANDFIELD` …) with Redis 7 semantics.
//!
//! A hash is a metadata record (type `hash`, `size` = field count, so `HLEN` is one point
//! read) plus one `sub` record per field: sub-key `field`, value the field's value, under
//! the key's version (layout in `docs/ENCODING.md`). Creating a hash takes a fresh version;
//! deleting or overwriting one touches only its metadata, and the last `HDEL` deletes the
//! key. Every write builds its changes in the caller's write group, so one command is one
//! `WriteBatch`. This module sees only [`StoreRead`]/[`StoreWrite`], never RocksDB, and
//! leaves expiry, counters and versions to the helpers in [`super`].

use std::collections::{BTreeMap, HashSet};

use tandem_shared::glob::glob_match;
use tandem_shared::{Reply, StorageError};

use super::string::{add_long_double_text, parse_i64};
use super::{lookup_read, lookup_write, remove_record, store_record, At, CmdResult};
use crate::engine::keys;
use crate::engine::metadata::{KeyType, Record};
use crate::engine::{Cf, StoreRead, StoreWrite};
use crate::types::MemberScanOptions;

/// Hashes with at most this many fields are returned whole by one `HSCAN` call with cursor
/// `0`, whatever the cursor and `COUNT`, as Redis does for hashes in its compact listpack
/// encoding (`hash-max-listpack-entries`: 512 in redis-server 7.0.15, whatever its docs
/// and shipped redis.conf say; 128 made HSCAN of 129-512 fields page where Redis does not).
pub const HSCAN_WHOLE_MAX: u64 = 512;

/// Most picks one `HRANDFIELD` with a negative count may return. Redis has no limit, but a
/// reply of billions of elements cannot fit a frame; refusing early keeps storaged from
/// allocating it.
pub const RANDOM_PICKS_MAX: u64 = 1 << 22;

/// One `(field, value)` pair.
type Entry = (Vec<u8>, Vec<u8>);

/// A live hash record; `WrongType` for another type.
fn hash_of(r: Option<Record>) -> Result<Option<Record>, StorageError> {
    match r {
        Some(r) if r.kind != KeyType::Hash => Err(StorageError::WrongType),
        other => Ok(other),
    }
}

/// The sub-key of one field of the hash `r` stored under `db`/`key`.
fn field_key(db: u8, key: &[u8], r: &Record, field: &[u8]) -> Vec<u8> {
    keys::sub_key(db, key, r.version, field)
}

/// Visits the hash's `(field, value)` pairs in field order, starting at `from` (a field,
/// inclusive; empty for the start), until `visit` returns false.
fn scan_fields<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: &Record,
    from: &[u8],
    visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> Result<(), StorageError> {
    let prefix = keys::sub_prefix(db, key, r.version);
    let end = keys::prefix_end(&prefix).unwrap_or_else(|| vec![keys::DB_COUNT]);
    let mut start = prefix.clone();
    start.extend_from_slice(from);
    s.scan(Cf::Sub, &start, &end, &mut |k, v| {
        visit(&k[prefix.len()..], v)
    })?;
    Ok(())
}

/// Every `(field, value)` pair, in field order.
fn all_fields<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
    r: &Record,
) -> Result<Vec<Entry>, StorageError> {
    let mut out = Vec::with_capacity(usize::try_from(r.size).unwrap_or(0).min(1 << 16));
    scan_fields(s, db, key, r, b"", &mut |f, v| {
        out.push((f.to_vec(), v.to_vec()));
        true
    })?;
    Ok(out)
}

/// A hash about to be written: the physical record before the command (for the counters)
/// and the record as the command leaves it.
struct Target {
    old: Option<Record>,
    rec: Record,
}

impl Target {
    /// Opens `key` for writing: the existing hash, or a new empty one under a fresh
    /// version (an expired record met here is reclaimed first).
    fn open<W: StoreWrite + ?Sized>(w: &mut W, at: At, key: &[u8]) -> Result<Target, StorageError> {
        match hash_of(lookup_write(w, at, key)?)? {
            Some(r) => Ok(Target {
                old: Some(r.clone()),
                rec: r,
            }),
            None => Ok(Target {
                old: None,
                rec: Record {
                    kind: KeyType::Hash,
                    flags: 0,
                    expire_at_ms: 0,
                    version: w.new_version(),
                    size: 0,
                    payload: Vec::new(),
                },
            }),
        }
    }

    /// Opens `key` only if it is a live hash.
    fn existing<W: StoreWrite + ?Sized>(
        w: &mut W,
        at: At,
        key: &[u8],
    ) -> Result<Option<Target>, StorageError> {
        Ok(hash_of(lookup_write(w, at, key)?)?.map(|r| Target {
            old: Some(r.clone()),
            rec: r,
        }))
    }

    fn field_key(&self, at: At, key: &[u8], field: &[u8]) -> Vec<u8> {
        field_key(at.db, key, &self.rec, field)
    }

    /// Sets one field; true when it was created.
    fn put<W: StoreWrite + ?Sized>(
        &mut self,
        w: &mut W,
        at: At,
        key: &[u8],
        field: &[u8],
        value: Vec<u8>,
    ) -> Result<bool, StorageError> {
        let fk = self.field_key(at, key, field);
        let created = w.get(Cf::Sub, &fk)?.is_none();
        w.put(Cf::Sub, fk, value);
        if created {
            self.rec.size += 1;
        }
        Ok(created)
    }

    /// Writes the metadata if it changed; an empty hash is deleted, as Redis never keeps
    /// one.
    fn finish<W: StoreWrite + ?Sized>(self, w: &mut W, at: At, key: &[u8]) {
        if self.rec.size == 0 {
            remove_record(w, at.db, key, self.old.as_ref());
        } else if self.old.as_ref() != Some(&self.rec) {
            store_record(w, at.db, key, self.old.as_ref(), &self.rec);
        }
    }
}

/// `HSET key field value [field value …]`: the number of fields created. A field named
/// twice is set twice and counted once, as in Redis.
pub fn hset<'p, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    pairs: impl Iterator<Item = (&'p [u8], &'p [u8])>,
) -> CmdResult {
    let mut t = Target::open(w, at, key)?;
    let mut created = 0;
    for (field, value) in pairs {
        if t.put(w, at, key, field, value.to_vec())? {
            created += 1;
        }
    }
    t.finish(w, at, key);
    Ok(Reply::Integer(created))
}

/// `HSETNX key field value`: 1 if set, 0 if the field existed.
pub fn hsetnx<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    field: &[u8],
    value: &[u8],
) -> CmdResult {
    let mut t = Target::open(w, at, key)?;
    if w.get(Cf::Sub, &t.field_key(at, key, field))?.is_some() {
        return Ok(Reply::Integer(0));
    }
    t.put(w, at, key, field, value.to_vec())?;
    t.finish(w, at, key);
    Ok(Reply::Integer(1))
}

/// `HDEL key field [field …]`: the number of fields removed; the key goes with its last
/// field.
pub fn hdel<'f, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    fields: impl Iterator<Item = &'f [u8]>,
) -> CmdResult {
    let Some(mut t) = Target::existing(w, at, key)? else {
        return Ok(Reply::Integer(0));
    };
    let mut removed = 0;
    for field in fields {
        let fk = t.field_key(at, key, field);
        if w.get(Cf::Sub, &fk)?.is_some() {
            w.delete(Cf::Sub, fk);
            t.rec.size = t.rec.size.saturating_sub(1);
            removed += 1;
        }
    }
    t.finish(w, at, key);
    Ok(Reply::Integer(removed))
}

/// `HINCRBY key field delta`.
pub fn hincrby<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    field: &[u8],
    delta: i64,
) -> CmdResult {
    let mut t = Target::open(w, at, key)?;
    let current = match w.get(Cf::Sub, &t.field_key(at, key, field))? {
        Some(v) => parse_i64(&v).ok_or(StorageError::HashNotInteger)?,
        None => 0,
    };
    let next = current.checked_add(delta).ok_or(StorageError::Overflow)?;
    t.put(w, at, key, field, next.to_string().into_bytes())?;
    t.finish(w, at, key);
    Ok(Reply::Integer(next))
}

/// `HINCRBYFLOAT key field delta`: `long double` arithmetic printed as `INCRBYFLOAT`
/// prints it; `delta` is the client's text.
pub fn hincrbyfloat<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    field: &[u8],
    delta: &[u8],
) -> CmdResult {
    let mut t = Target::open(w, at, key)?;
    let current = w.get(Cf::Sub, &t.field_key(at, key, field))?;
    let text = add_long_double_text(current.as_deref(), delta, StorageError::HashNotFloat)?;
    t.put(w, at, key, field, text.clone().into_bytes())?;
    t.finish(w, at, key);
    Ok(Reply::Bulk(text.into_bytes()))
}

/// `HGET key field`.
pub fn hget<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], field: &[u8]) -> CmdResult {
    let Some(r) = hash_of(lookup_read(s, at, key)?)? else {
        return Ok(Reply::Nil);
    };
    Ok(s.get(Cf::Sub, &field_key(at.db, key, &r, field))?
        .map_or(Reply::Nil, Reply::Bulk))
}

/// `HMGET key field [field …]`: one value or nil per field.
pub fn hmget<'f, S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    fields: impl Iterator<Item = &'f [u8]>,
) -> CmdResult {
    let r = hash_of(lookup_read(s, at, key)?)?;
    let mut out = Vec::new();
    for field in fields {
        let value = match &r {
            Some(r) => s.get(Cf::Sub, &field_key(at.db, key, r, field))?,
            None => None,
        };
        out.push(value.map_or(Reply::Nil, Reply::Bulk));
    }
    Ok(Reply::Array(out))
}

/// `HLEN key`: from the metadata record alone.
pub fn hlen<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> CmdResult {
    let size = hash_of(lookup_read(s, at, key)?)?.map_or(0, |r| r.size);
    Ok(Reply::Integer(i64::try_from(size).unwrap_or(i64::MAX)))
}

/// `HSTRLEN key field`: 0 for a missing key or field.
pub fn hstrlen<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], field: &[u8]) -> CmdResult {
    let len = match hash_of(lookup_read(s, at, key)?)? {
        Some(r) => s
            .get(Cf::Sub, &field_key(at.db, key, &r, field))?
            .map_or(0, |v| v.len()),
        None => 0,
    };
    Ok(Reply::Integer(len as i64))
}

/// `HEXISTS key field`.
pub fn hexists<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], field: &[u8]) -> CmdResult {
    let found = match hash_of(lookup_read(s, at, key)?)? {
        Some(r) => s.get(Cf::Sub, &field_key(at.db, key, &r, field))?.is_some(),
        None => false,
    };
    Ok(Reply::Integer(i64::from(found)))
}

/// What `HGETALL`, `HKEYS` and `HVALS` reply with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashPart {
    /// `HGETALL`: a map of field → value.
    Both,
    Fields,
    Values,
}

/// `HGETALL` / `HKEYS` / `HVALS`, in field order (Redis's order is unspecified).
pub fn hgetall<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], part: HashPart) -> CmdResult {
    let pairs = match hash_of(lookup_read(s, at, key)?)? {
        Some(r) => all_fields(s, at.db, key, &r)?,
        None => Vec::new(),
    };
    Ok(match part {
        HashPart::Both => Reply::Map(
            pairs
                .into_iter()
                .map(|(f, v)| (Reply::Bulk(f), Reply::Bulk(v)))
                .collect(),
        ),
        HashPart::Fields => Reply::Array(pairs.into_iter().map(|(f, _)| Reply::Bulk(f)).collect()),
        HashPart::Values => Reply::Array(pairs.into_iter().map(|(_, v)| Reply::Bulk(v)).collect()),
    })
}

/// `HSCAN key cursor [MATCH p] [COUNT n]`: `[cursor, [field, value, …]]`. Small hashes
/// come back whole with cursor `0` ([`HSCAN_WHOLE_MAX`]); larger ones page through the
/// services' bounded cursor memory, which remembers the next field. An unknown cursor
/// ends the scan.
pub fn hscan<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    cursor: u64,
    opts: MemberScanOptions<'_>,
) -> CmdResult {
    let reply = |cursor: u64, items: Vec<Reply>| {
        Reply::Array(vec![Reply::bulk(cursor.to_string()), Reply::Array(items)])
    };
    let Some(r) = hash_of(lookup_read(s, at, key)?)? else {
        return Ok(reply(0, Vec::new()));
    };
    opts.check()?;
    let matches = |field: &[u8]| {
        opts.pattern
            .is_none_or(|p| p == b"*" || glob_match(p, field, false))
    };
    let mut items = Vec::new();
    if r.size <= HSCAN_WHOLE_MAX {
        scan_fields(s, at.db, key, &r, b"", &mut |f, v| {
            if matches(f) {
                items.push(Reply::bulk(f));
                items.push(Reply::bulk(v));
            }
            true
        })?;
        return Ok(reply(0, items));
    }
    let from = if cursor == 0 {
        Vec::new()
    } else {
        match s.services().cursor(cursor) {
            Some((_, field)) => field,
            None => return Ok(reply(0, Vec::new())),
        }
    };
    let budget = opts.count.max(1);
    let mut examined = 0u64;
    let mut resume = None;
    scan_fields(s, at.db, key, &r, &from, &mut |f, v| {
        if examined == budget {
            resume = Some(f.to_vec());
            return false;
        }
        examined += 1;
        if matches(f) {
            items.push(Reply::bulk(f));
            items.push(Reply::bulk(v));
        }
        true
    })?;
    let next = match resume {
        Some(field) => s.services().save_cursor(at.db, field),
        None => 0,
    };
    Ok(reply(next, items))
}

/// `HRANDFIELD key [count [WITHVALUES]]`.
///
/// Without a count: one random field, or nil. A positive count gives distinct fields (the
/// whole hash when it is at least the size), a negative one `|count|` independent picks
/// with repeats. Picks are uniform; finding them costs one pass over the hash's fields
/// (the encoding has no positional index), as Redis's own large-count path does.
pub fn hrandfield<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    count: Option<i64>,
    with_values: bool,
) -> CmdResult {
    let r = hash_of(lookup_read(s, at, key)?)?;
    let Some(count) = count else {
        let Some(r) = r else {
            return Ok(Reply::Nil);
        };
        let i = s.services().random_u64() % r.size.max(1);
        let picked = fetch_positions(s, at, key, &r, &[i])?;
        return Ok(picked
            .into_iter()
            .next()
            .map_or(Reply::Nil, |(f, _)| Reply::Bulk(f)));
    };
    let Some(r) = r else {
        return Ok(Reply::Array(Vec::new()));
    };
    if count == 0 || r.size == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let size = r.size;
    let picks: Vec<u64> = if count < 0 {
        let n = count.unsigned_abs();
        if n > RANDOM_PICKS_MAX {
            return Err(StorageError::Internal(format!(
                "HRANDFIELD count {count} exceeds the {RANDOM_PICKS_MAX} picks one reply may hold"
            )));
        }
        (0..n).map(|_| s.services().random_u64() % size).collect()
    } else if count as u64 >= size {
        (0..size).collect()
    } else {
        distinct_positions(s, size, count as u64)
    };
    let pairs = fetch_positions(s, at, key, &r, &picks)?;
    Ok(if with_values {
        Reply::Pairs(
            pairs
                .into_iter()
                .map(|(f, v)| (Reply::Bulk(f), Reply::Bulk(v)))
                .collect(),
        )
    } else {
        Reply::Array(pairs.into_iter().map(|(f, _)| Reply::Bulk(f)).collect())
    })
}

/// `k < n` distinct positions in `0..n`, in random order (Floyd's sampling, then a
/// Fisher–Yates shuffle).
fn distinct_positions<S: StoreRead + ?Sized>(s: &S, n: u64, k: u64) -> Vec<u64> {
    let mut chosen = HashSet::new();
    let mut out = Vec::new();
    for j in n - k..n {
        let t = s.services().random_u64() % (j + 1);
        let pick = if chosen.contains(&t) { j } else { t };
        chosen.insert(pick);
        out.push(pick);
    }
    for i in (1..out.len()).rev() {
        let j = (s.services().random_u64() % (i as u64 + 1)) as usize;
        out.swap(i, j);
    }
    out
}

/// The `(field, value)` at each position (in field order) of `positions`, in the order
/// asked, repeats included; one pass over the fields.
fn fetch_positions<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    r: &Record,
    positions: &[u64],
) -> Result<Vec<Entry>, StorageError> {
    let mut wanted: BTreeMap<u64, Option<Entry>> = positions.iter().map(|&p| (p, None)).collect();
    let Some(&last) = wanted.keys().next_back() else {
        return Ok(Vec::new());
    };
    let mut i = 0u64;
    scan_fields(s, at.db, key, r, b"", &mut |f, v| {
        if let Some(slot) = wanted.get_mut(&i) {
            *slot = Some((f.to_vec(), v.to_vec()));
        }
        i += 1;
        i <= last
    })?;
    // A position past the real end means the size in the metadata disagrees with the
    // sub-keys; skip it rather than fail the read.
    Ok(positions
        .iter()
        .filter_map(|p| wanted.get(p).cloned().flatten())
        .collect())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use tandem_shared::ScanOptionError;

    use proptest::prelude::*;

    use super::*;
    use crate::types::keyspace;
    use crate::types::testing::{test_db_wrapper, TestDb, MODEL_CASES};
    use tandem_engine::{KvEngine, MemoryEngine};

    /// An engine with its writer (in memory unless a test asks for RocksDB), and helpers
    /// to run type functions the way the executor does: writes in a committed group, reads
    /// against committed state.
    struct Db<E: KvEngine = MemoryEngine>(TestDb<E>);
    test_db_wrapper!(Db);

    fn open() -> Db {
        Db(TestDb::open())
    }

    impl<E: KvEngine> Db<E> {
        fn hset(&mut self, key: &str, pairs: &[(&str, &str)]) -> CmdResult {
            self.write(|w, at| {
                hset(
                    w,
                    at,
                    key.as_bytes(),
                    pairs.iter().map(|(f, v)| (f.as_bytes(), v.as_bytes())),
                )
            })
        }

        fn all(&self, key: &str) -> BTreeMap<Vec<u8>, Vec<u8>> {
            match self.read(|s, at| hgetall(s, at, key.as_bytes(), HashPart::Both)) {
                Ok(Reply::Map(pairs)) => pairs
                    .into_iter()
                    .map(|p| match p {
                        (Reply::Bulk(f), Reply::Bulk(v)) => (f, v),
                        other => panic!("pair {other:?}"),
                    })
                    .collect(),
                other => panic!("HGETALL {key}: {other:?}"),
            }
        }

        fn len(&self, key: &str) -> i64 {
            match self.read(|s, at| hlen(s, at, key.as_bytes())) {
                Ok(Reply::Integer(n)) => n,
                other => panic!("HLEN {key}: {other:?}"),
            }
        }

        fn record(&self, key: &str) -> Option<Record> {
            crate::types::raw_record(&self.engine, 0, key.as_bytes()).expect("read")
        }

        /// Every sub-key stored for `key` at `version`, raw sub-key bytes and values.
        fn subs(&self, key: &str, version: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
            let prefix = keys::sub_prefix(0, key.as_bytes(), version);
            let end = keys::prefix_end(&prefix).expect("bounded prefix");
            let mut out = Vec::new();
            self.engine
                .scan(Cf::Sub, &prefix, &end, &mut |k, v| {
                    out.push((k.to_vec(), v.to_vec()));
                    true
                })
                .expect("scan");
            out
        }
    }

    fn b(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn hset_writes_one_sub_key_per_field_and_counts_in_metadata() {
        let mut db = open();
        assert_eq!(
            db.hset("h", &[("b", "2"), ("a", "1"), ("b", "3")]),
            Ok(Reply::Integer(2))
        );
        let r = db.record("h").expect("hash stored");
        assert_eq!((r.kind, r.size, r.expire_at_ms), (KeyType::Hash, 2, 0));
        assert!(r.payload.is_empty());
        assert_eq!(
            db.subs("h", r.version),
            vec![
                (keys::sub_key(0, b"h", r.version, b"a"), b("1")),
                (keys::sub_key(0, b"h", r.version, b"b"), b("3")),
            ]
        );
        assert_eq!(db.len("h"), 2);
        assert_eq!(
            db.hset("h", &[("a", "x"), ("c", "y")]),
            Ok(Reply::Integer(1))
        );
        assert_eq!(
            db.record("h").map(|r| (r.size, r.version)),
            Some((3, r.version))
        );
        assert_eq!(db.engine.counts().keys[0], 1);
    }

    #[test]
    fn last_hdel_removes_the_key_and_recreation_takes_a_fresh_version() {
        let mut db = open();
        db.hset("h", &[("a", "1"), ("b", "2")]).expect("hset");
        let v1 = db.record("h").expect("stored").version;
        let del = |db: &mut Db, fields: &[&str]| {
            db.write(|w, at| hdel(w, at, b"h", fields.iter().map(|f| f.as_bytes())))
        };
        assert_eq!(del(&mut db, &["a", "a", "zz"]), Ok(Reply::Integer(1)));
        assert_eq!(db.len("h"), 1);
        assert_eq!(del(&mut db, &["b"]), Ok(Reply::Integer(1)));
        assert_eq!(db.record("h"), None);
        assert_eq!(db.engine.counts().keys[0], 0);
        assert_eq!(del(&mut db, &["b"]), Ok(Reply::Integer(0)));

        db.hset("h", &[("c", "3")]).expect("hset");
        let v2 = db.record("h").expect("stored").version;
        assert!(v2 > v1);
        assert_eq!(db.all("h"), BTreeMap::from([(b("c"), b("3"))]));
    }

    #[test]
    fn deleting_a_hash_leaves_its_fields_unreachable() {
        let mut db = open();
        db.hset("h", &[("a", "1")]).expect("hset");
        let v1 = db.record("h").expect("stored").version;
        assert_eq!(
            db.write(|w, at| keyspace::del(w, at, [&b"h"[..]].into_iter())),
            Ok(Reply::Integer(1))
        );
        db.hset("h", &[("b", "2")]).expect("hset");
        assert_eq!(db.all("h"), BTreeMap::from([(b("b"), b("2"))]));
        assert_eq!(
            db.read(|s, at| hget(s, at, b"h", b"a")),
            Ok(Reply::Nil),
            "a field of the deleted version must not show through"
        );
        // The stale sub-key is still physically there until compaction reclaims it.
        assert_eq!(db.subs("h", v1).len(), 1);
        db.engine.compact().expect("compaction");
        assert_eq!(db.subs("h", v1), vec![]);
    }

    #[test]
    fn wrong_types_are_refused_both_ways() {
        let mut db = open();
        db.write(|w, at| {
            crate::types::string::set(w, at, b"s", b"v", crate::types::string::SetOptions::PLAIN)
        })
        .expect("set");
        assert_eq!(db.hset("s", &[("f", "v")]), Err(StorageError::WrongType));
        assert_eq!(
            db.read(|s, at| hget(s, at, b"s", b"f")),
            Err(StorageError::WrongType)
        );
        assert_eq!(
            db.read(|s, at| hrandfield(s, at, b"s", Some(2), false)),
            Err(StorageError::WrongType)
        );
        db.hset("h", &[("f", "v")]).expect("hset");
        assert_eq!(
            db.read(|s, at| crate::types::string::get(s, at, b"h")),
            Err(StorageError::WrongType)
        );
    }

    #[test]
    fn writes_in_one_group_compose() {
        let mut db = open();
        let replies = db.write(|w, at| {
            let a = hset(w, at, b"h", [(&b"n"[..], &b"5"[..])].into_iter());
            let b = hincrby(w, at, b"h", b"n", 10);
            let c = hsetnx(w, at, b"h", b"n", b"x");
            let d = hdel(w, at, b"h", [&b"n"[..]].into_iter());
            let e = hincrbyfloat(w, at, b"h", b"f", b"1.5");
            vec![a, b, c, d, e]
        });
        assert_eq!(
            replies,
            vec![
                Ok(Reply::Integer(1)),
                Ok(Reply::Integer(15)),
                Ok(Reply::Integer(0)),
                Ok(Reply::Integer(1)),
                Ok(Reply::bulk("1.5")),
            ]
        );
        assert_eq!(db.all("h"), BTreeMap::from([(b("f"), b("1.5"))]));
        assert_eq!(db.len("h"), 1);
    }

    #[test]
    fn increments_check_the_stored_value() {
        let mut db = open();
        db.hset(
            "h",
            &[("max", "9223372036854775807"), ("s", "abc"), ("f", "1.5")],
        )
        .expect("hset");
        let incr = |db: &mut Db, field: &str, by: i64| {
            db.write(|w, at| hincrby(w, at, b"h", field.as_bytes(), by))
        };
        assert_eq!(incr(&mut db, "max", 1), Err(StorageError::Overflow));
        assert_eq!(incr(&mut db, "s", 1), Err(StorageError::HashNotInteger));
        assert_eq!(incr(&mut db, "f", 1), Err(StorageError::HashNotInteger));
        assert_eq!(incr(&mut db, "new", -3), Ok(Reply::Integer(-3)));
        let incr_f = |db: &mut Db, field: &str, by: &str| {
            db.write(|w, at| hincrbyfloat(w, at, b"h", field.as_bytes(), by.as_bytes()))
        };
        assert_eq!(incr_f(&mut db, "f", "1.1"), Ok(Reply::bulk("2.6")));
        assert_eq!(
            incr_f(&mut db, "max", "1"),
            Ok(Reply::bulk("9223372036854775808"))
        );
        assert_eq!(incr_f(&mut db, "s", "1"), Err(StorageError::HashNotFloat));
        assert_eq!(
            incr_f(&mut db, "f", "1e4933"),
            Err(StorageError::NotFloat),
            "beyond long double range"
        );
        assert_eq!(db.len("h"), 4);
        assert_eq!(db.all("h").get(&b("max")), Some(&b("9223372036854775808")));
        // A failed increment on a missing key leaves no empty hash behind.
        assert_eq!(
            db.write(|w, at| hincrbyfloat(w, at, b"e", b"f", b"1e4933")),
            Err(StorageError::NotFloat)
        );
        assert_eq!(db.record("e"), None);
    }

    #[test]
    fn an_expired_hash_is_gone_and_a_write_starts_afresh() {
        let mut db = open();
        db.hset("h", &[("a", "1")]).expect("hset");
        let old = db.record("h").expect("stored");
        let past = Record {
            expire_at_ms: 1,
            ..old.clone()
        };
        db.write(|w, at| crate::types::store_record(w, at.db, b"h", Some(&old), &past));
        assert_eq!(db.len("h"), 0);
        assert_eq!(db.read(|s, at| hget(s, at, b"h", b"a")), Ok(Reply::Nil));
        assert_eq!(db.hset("h", &[("b", "2")]), Ok(Reply::Integer(1)));
        let new = db.record("h").expect("stored");
        assert_ne!(new.version, old.version);
        assert_eq!(new.expire_at_ms, 0);
        assert_eq!(db.all("h"), BTreeMap::from([(b("b"), b("2"))]));
    }

    #[test]
    fn hscan_pages_large_hashes_and_returns_small_ones_whole() {
        let mut db = open();
        // Past HSCAN_WHOLE_MAX (512), so it pages.
        let fields: Vec<(String, String)> = (0..600)
            .map(|i| (format!("f{i:03}"), i.to_string()))
            .collect();
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(f, v)| (f.as_str(), v.as_str()))
            .collect();
        db.hset("big", &pairs).expect("hset");
        db.hset("small", &pairs[..5]).expect("hset");
        let page = |db: &Db, key: &str, cursor: u64, count: u64| {
            let opts = MemberScanOptions {
                pattern: None,
                count,
                invalid: None,
            };
            match db.read(|s, at| hscan(s, at, key.as_bytes(), cursor, opts)) {
                Ok(Reply::Array(parts)) => match &parts[..] {
                    [Reply::Bulk(c), Reply::Array(items)] => {
                        let c: u64 = String::from_utf8_lossy(c).parse().expect("cursor");
                        (c, items.len() / 2)
                    }
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(page(&db, "small", 0, 1), (0, 5));
        assert_eq!(page(&db, "small", 12345, 1), (0, 5));
        let (mut cursor, mut total, mut calls) = (0, 0, 0);
        loop {
            let (next, n) = page(&db, "big", cursor, 50);
            assert!(n <= 50);
            total += n;
            calls += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!((total, calls), (600, 12));
        assert_eq!(page(&db, "big", 987_654_321, 10), (0, 0));
        let invalid = MemberScanOptions {
            pattern: None,
            count: 10,
            invalid: Some(ScanOptionError::Syntax),
        };
        assert_eq!(
            db.read(|s, at| hscan(s, at, b"big", 0, invalid)),
            Err(StorageError::Syntax)
        );
        assert!(db
            .read(|s, at| hscan(s, at, b"missing", 0, invalid))
            .is_ok());
    }

    #[test]
    fn hrandfield_counts() {
        let mut db = open();
        db.hset("h", &[("a", "1"), ("b", "2"), ("c", "3")])
            .expect("hset");
        let fields = |r: CmdResult| match r {
            Ok(Reply::Array(items)) => items
                .into_iter()
                .map(|i| match i {
                    Reply::Bulk(f) => f,
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        let two = fields(db.read(|s, at| hrandfield(s, at, b"h", Some(2), false)));
        assert_eq!(two.len(), 2);
        assert_ne!(two[0], two[1]);
        let mut all = fields(db.read(|s, at| hrandfield(s, at, b"h", Some(9), false)));
        all.sort();
        assert_eq!(all, vec![b("a"), b("b"), b("c")]);
        let many = fields(db.read(|s, at| hrandfield(s, at, b"h", Some(-50), false)));
        assert_eq!(many.len(), 50);
        assert!(many.iter().all(|f| [b("a"), b("b"), b("c")].contains(f)));
        match db.read(|s, at| hrandfield(s, at, b"h", Some(-2), true)) {
            Ok(Reply::Pairs(pairs)) => assert_eq!(pairs.len(), 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            db.read(|s, at| hrandfield(s, at, b"missing", None, false)),
            Ok(Reply::Nil)
        );
        assert_eq!(
            db.read(|s, at| hrandfield(s, at, b"h", Some(0), true)),
            Ok(Reply::Array(vec![]))
        );
        assert!(matches!(
            db.read(|s, at| hrandfield(s, at, b"h", Some(i64::MIN + 1), false)),
            Err(StorageError::Internal(_))
        ));
    }

    #[test]
    fn rename_and_copy_carry_the_fields() {
        let mut db = open();
        db.hset("h", &[("a", "1"), ("b", "2")]).expect("hset");
        db.write(|w, at| keyspace::rename(w, at, b"h", b"r", keyspace::RenameMode::Overwrite))
            .expect("rename");
        assert_eq!(db.len("h"), 0);
        assert_eq!(db.len("r"), 2);
        db.write(|w, at| keyspace::copy(w, at, b"r", b"c", 0, false))
            .expect("copy");
        db.hset("c", &[("z", "9")]).expect("hset");
        assert_eq!(db.all("r").len(), 2);
        assert_eq!(db.all("c").len(), 3);
        assert_ne!(
            db.record("r").map(|r| r.version),
            db.record("c").map(|r| r.version)
        );
    }

    /// One step of the model test.
    #[derive(Debug, Clone)]
    enum Op {
        Set(Vec<(u8, u8)>),
        Del(Vec<u8>),
        Incr(u8, i64),
        DelKey,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => proptest::collection::vec((0u8..8, 0u8..4), 1..4).prop_map(Op::Set),
            2 => proptest::collection::vec(0u8..8, 1..4).prop_map(Op::Del),
            2 => (0u8..8, -3i64..4).prop_map(|(f, d)| Op::Incr(f, d)),
            1 => Just(Op::DelKey),
        ]
    }

    fn field(f: u8) -> Vec<u8> {
        format!("field{f}").into_bytes()
    }

    /// Random HSET/HDEL/HINCRBY/DEL sequences agree with a BTreeMap after every step:
    /// replies, HGETALL, HLEN, and the key existing exactly when the map is non-empty.
    fn hashes_behave_like_a_map<E: KvEngine>(
        mut db: Db<E>,
        ops: Vec<Op>,
    ) -> Result<(), TestCaseError> {
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Set(pairs) => {
                    let pairs: Vec<(Vec<u8>, Vec<u8>)> = pairs
                        .into_iter()
                        .map(|(f, v)| (field(f), vec![b'a' + v]))
                        .collect();
                    let mut created = 0;
                    for (f, v) in &pairs {
                        if model.insert(f.clone(), v.clone()).is_none() {
                            created += 1;
                        }
                    }
                    let got = db.write(|w, at| {
                        hset(
                            w,
                            at,
                            b"h",
                            pairs.iter().map(|(f, v)| (f.as_slice(), v.as_slice())),
                        )
                    });
                    prop_assert_eq!(got, Ok(Reply::Integer(created)));
                }
                Op::Del(fields) => {
                    let fields: Vec<Vec<u8>> = fields.into_iter().map(field).collect();
                    let removed = fields.iter().filter(|f| model.remove(*f).is_some()).count();
                    let got =
                        db.write(|w, at| hdel(w, at, b"h", fields.iter().map(|f| f.as_slice())));
                    prop_assert_eq!(got, Ok(Reply::Integer(removed as i64)));
                }
                Op::Incr(f, d) => {
                    let f = field(f);
                    let want = match model.get(&f) {
                        None => Ok(0),
                        Some(v) => parse_i64(v).ok_or(StorageError::HashNotInteger),
                    }
                    .map(|n| n + d);
                    if let Ok(n) = want {
                        model.insert(f.clone(), n.to_string().into_bytes());
                    }
                    let got = db.write(|w, at| hincrby(w, at, b"h", &f, d));
                    prop_assert_eq!(got, want.map(Reply::Integer));
                }
                Op::DelKey => {
                    let existed = !model.is_empty();
                    model.clear();
                    let got = db.write(|w, at| keyspace::del(w, at, [&b"h"[..]].into_iter()));
                    prop_assert_eq!(got, Ok(Reply::Integer(i64::from(existed))));
                }
            }
            prop_assert_eq!(&db.all("h"), &model);
            prop_assert_eq!(db.len("h"), model.len() as i64);
            prop_assert_eq!(db.record("h").is_some(), !model.is_empty());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(MODEL_CASES))]

        #[test]
        fn hashes_behave_like_a_map_in_memory(ops in proptest::collection::vec(op(), 1..40)) {
            hashes_behave_like_a_map(open(), ops)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn hashes_behave_like_a_map_on_rocksdb(ops in proptest::collection::vec(op(), 1..40)) {
            hashes_behave_like_a_map(Db(TestDb::open_rocks()), ops)?;
        }
    }
}
