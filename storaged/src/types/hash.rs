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
use tandem_shared::{Reply, ScanOptionError, StorageError};

use super::string::{add_long_double_text, parse_i64};
use super::{lookup_read, lookup_write, remove_record, store_record, At, CmdResult};
use crate::engine::keys;
use crate::engine::metadata::{KeyType, Record};
use crate::engine::{Cf, StoreRead, StoreWrite};

/// Hashes with at most this many fields are returned whole by one `HSCAN` call with cursor
/// `0`, whatever the cursor and `COUNT`, as Redis does for hashes in its compact listpack
/// encoding (`hash-max-listpack-entries` defaults to 128).
pub const HSCAN_WHOLE_MAX: u64 = 128;

/// Most picks one `HRANDFIELD` with a negative count may return. Redis has no limit, but a
/// reply of billions of elements cannot fit a frame; refusing early keeps storaged from
/// allocating it.
pub const RANDOM_PICKS_MAX: u64 = 1 << 22;

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
) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StorageError> {
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

/// What `HSCAN` needs beyond the key and cursor.
#[derive(Debug, Clone, Copy)]
pub struct HScanOptions<'a> {
    pub pattern: Option<&'a [u8]>,
    /// Fields examined per call (a hint, as in Redis); at least 1.
    pub count: u64,
    /// A bad option, reported only once the key is known to be a hash (Redis's order).
    pub invalid: Option<ScanOptionError>,
}

/// `HSCAN key cursor [MATCH p] [COUNT n]`: `[cursor, [field, value, …]]`. Small hashes
/// come back whole with cursor `0` ([`HSCAN_WHOLE_MAX`]); larger ones page through the
/// engine's bounded cursor memory, which remembers the next field. An unknown cursor ends
/// the scan.
pub fn hscan<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
    cursor: u64,
    opts: HScanOptions<'_>,
) -> CmdResult {
    let reply = |cursor: u64, items: Vec<Reply>| {
        Reply::Array(vec![Reply::bulk(cursor.to_string()), Reply::Array(items)])
    };
    let Some(r) = hash_of(lookup_read(s, at, key)?)? else {
        return Ok(reply(0, Vec::new()));
    };
    match opts.invalid {
        Some(ScanOptionError::Syntax) => return Err(StorageError::Syntax),
        Some(ScanOptionError::NotInteger) => return Err(StorageError::NotInteger),
        None => {}
    }
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
        match s.engine().cursor(cursor) {
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
        Some(field) => s.engine().save_cursor(at.db, field),
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
        let i = s.engine().random_u64() % r.size.max(1);
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
        (0..n).map(|_| s.engine().random_u64() % size).collect()
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
        let t = s.engine().random_u64() % (j + 1);
        let pick = if chosen.contains(&t) { j } else { t };
        chosen.insert(pick);
        out.push(pick);
    }
    for i in (1..out.len()).rev() {
        let j = (s.engine().random_u64() % (i as u64 + 1)) as usize;
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
) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StorageError> {
    let mut wanted: BTreeMap<u64, Option<(Vec<u8>, Vec<u8>)>> =
        positions.iter().map(|&p| (p, None)).collect();
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
