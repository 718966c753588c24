//! Generic key commands (`DEL`, `EXISTS`, `EXPIRE`, `RENAME`, `COPY`, `SCAN` …) with
//! Redis 7 semantics, for keys of any type.
//!
//! Collection types keep elements in versioned sub-keys named after their key, so moving a
//! key (`RENAME`, `COPY`, `MOVE`) copies its sub-keys under a fresh version; deleting only
//! drops the metadata record. Inline strings have no sub-keys and skip that work.

use tandem_shared::glob::{glob_match, literal_prefix};
use tandem_shared::{ExpireCondition, Reply, StorageError, TimeUnit};

use super::{
    check_db, delete_key, lookup, lookup_read, lookup_write, raw_record, remove_record,
    scan_records, store_record, At, CmdResult,
};
use crate::engine::keys;
use crate::engine::metadata::{KeyType, Record};
use crate::engine::{Cf, StoreRead, StoreWrite};

/// `DEL` / `UNLINK`: how many keys were removed.
pub fn del<'k, W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    keys: impl Iterator<Item = &'k [u8]>,
) -> CmdResult {
    let mut n = 0;
    for key in keys {
        if delete_key(w, at, key)? {
            n += 1;
        }
    }
    Ok(Reply::Integer(n))
}

/// `EXISTS` (repeats count) and `TOUCH` (same count; this engine keeps no access times).
pub fn exists<'k, S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    keys: impl Iterator<Item = &'k [u8]>,
) -> CmdResult {
    let mut n = 0;
    for key in keys {
        if lookup_read(s, at, key)?.is_some() {
            n += 1;
        }
    }
    Ok(Reply::Integer(n))
}

/// `TYPE`.
pub fn key_type<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> CmdResult {
    let name = lookup_read(s, at, key)?.map_or("none", |r| r.kind.name());
    Ok(Reply::Simple(name.to_owned()))
}

/// The `EXPIRE` family, with the time already absolute. A time at or before now deletes
/// the key and replies 1 (not counted as an expiry, as in Redis).
pub fn expire<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
    at_ms: i64,
    condition: ExpireCondition,
) -> CmdResult {
    let Some(r) = lookup_write(w, at, key)? else {
        return Ok(Reply::Integer(0));
    };
    // -1 stands for "no expiry" as in Redis, which treats it as an infinite TTL.
    let current = if r.expire_at_ms == 0 {
        -1
    } else {
        r.expire_at_ms as i64
    };
    let allowed = match condition {
        ExpireCondition::Always => true,
        ExpireCondition::Nx => current == -1,
        ExpireCondition::Xx => current != -1,
        ExpireCondition::Gt => current != -1 && at_ms > current,
        ExpireCondition::Lt => current == -1 || at_ms < current,
        ExpireCondition::XxLt => current != -1 && at_ms < current,
    };
    if !allowed {
        return Ok(Reply::Integer(0));
    }
    if at_ms <= at.now_ms as i64 {
        remove_record(w, at.db, key, Some(&r));
    } else {
        let new = Record {
            expire_at_ms: at_ms as u64,
            ..r.clone()
        };
        store_record(w, at.db, key, Some(&r), &new);
    }
    Ok(Reply::Integer(1))
}

/// `TTL` / `PTTL`: -2 missing, -1 no expiry; seconds round to nearest like Redis.
pub fn ttl<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], unit: TimeUnit) -> CmdResult {
    let Some(r) = lookup_read(s, at, key)? else {
        return Ok(Reply::Integer(-2));
    };
    if r.expire_at_ms == 0 {
        return Ok(Reply::Integer(-1));
    }
    let left = (r.expire_at_ms as i64 - at.now_ms as i64).max(0);
    Ok(Reply::Integer(match unit {
        TimeUnit::Milliseconds => left,
        TimeUnit::Seconds => (left + 500) / 1000,
    }))
}

/// `EXPIRETIME` / `PEXPIRETIME`.
pub fn expire_time<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], unit: TimeUnit) -> CmdResult {
    let Some(r) = lookup_read(s, at, key)? else {
        return Ok(Reply::Integer(-2));
    };
    if r.expire_at_ms == 0 {
        return Ok(Reply::Integer(-1));
    }
    let t = r.expire_at_ms as i64;
    Ok(Reply::Integer(match unit {
        TimeUnit::Milliseconds => t,
        // Redis rounds to the nearest second here, as TTL does.
        TimeUnit::Seconds => (t + 500) / 1000,
    }))
}

/// `PERSIST`.
pub fn persist<W: StoreWrite + ?Sized>(w: &mut W, at: At, key: &[u8]) -> CmdResult {
    match lookup_write(w, at, key)? {
        Some(r) if r.expire_at_ms != 0 => {
            let new = Record {
                expire_at_ms: 0,
                ..r.clone()
            };
            store_record(w, at.db, key, Some(&r), &new);
            Ok(Reply::Integer(1))
        }
        _ => Ok(Reply::Integer(0)),
    }
}

/// Whether `RENAME` overwrites an existing destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenameMode {
    Overwrite,
    /// `RENAMENX`.
    IfAbsent,
}

/// `RENAME` / `RENAMENX`: keeps the TTL; a missing source is `ERR no such key` even when
/// both names are the same.
pub fn rename<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    src: &[u8],
    dst: &[u8],
    mode: RenameMode,
) -> CmdResult {
    let nx = mode == RenameMode::IfAbsent;
    let Some(r) = lookup_write(w, at, src)? else {
        return Err(StorageError::NoSuchKey);
    };
    if src == dst {
        return Ok(if nx { Reply::Integer(0) } else { Reply::ok() });
    }
    let old_dst = lookup_write(w, at, dst)?;
    if old_dst.is_some() && nx {
        return Ok(Reply::Integer(0));
    }
    place_copy(w, &r, at.db, src, at.db, dst, old_dst.as_ref())?;
    remove_record(w, at.db, src, Some(&r));
    Ok(if nx { Reply::Integer(1) } else { Reply::ok() })
}

/// `COPY src dst [DB n] [REPLACE]`: 1 if copied, 0 if the source is missing or the
/// destination exists without `REPLACE`.
pub fn copy<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    src: &[u8],
    dst: &[u8],
    dst_db: u8,
    replace: bool,
) -> CmdResult {
    let dst_db = check_db(dst_db)?;
    if dst_db == at.db && src == dst {
        return Err(StorageError::SameObject);
    }
    let Some(r) = lookup_read(&*w, at, src)? else {
        return Ok(Reply::Integer(0));
    };
    let dst_at = At { db: dst_db, ..at };
    let old_dst = lookup_write(w, dst_at, dst)?;
    if old_dst.is_some() && !replace {
        return Ok(Reply::Integer(0));
    }
    place_copy(w, &r, at.db, src, dst_db, dst, old_dst.as_ref())?;
    Ok(Reply::Integer(1))
}

/// `MOVE key db`: 1 if moved, 0 if missing here or present there.
pub fn move_key<W: StoreWrite + ?Sized>(w: &mut W, at: At, key: &[u8], dst_db: u8) -> CmdResult {
    let dst_db = check_db(dst_db)?;
    if dst_db == at.db {
        return Err(StorageError::SameObject);
    }
    let Some(r) = lookup_write(w, at, key)? else {
        return Ok(Reply::Integer(0));
    };
    let dst_at = At { db: dst_db, ..at };
    if lookup_write(w, dst_at, key)?.is_some() {
        return Ok(Reply::Integer(0));
    }
    place_copy(w, &r, at.db, key, dst_db, key, None)?;
    remove_record(w, at.db, key, Some(&r));
    Ok(Reply::Integer(1))
}

/// Writes a copy of `r` (from `src_db`/`src`) as `dst_db`/`dst` under a fresh version,
/// replacing `old_dst`, and copies its sub-keys if it has any.
fn place_copy<W: StoreWrite + ?Sized>(
    w: &mut W,
    r: &Record,
    src_db: u8,
    src: &[u8],
    dst_db: u8,
    dst: &[u8],
    old_dst: Option<&Record>,
) -> Result<(), StorageError> {
    let version = w.new_version();
    // Collections and chunked strings (`string_value.rs`) keep their data in sub-keys.
    if r.kind != KeyType::String || r.is_chunked() {
        // The sub-keys, then the index space (a set's slot index), each under the new
        // version with its suffix unchanged.
        for index_space in [false, true] {
            let (prefix, dst_prefix) = if index_space {
                let dst_prefix = keys::index_prefix(dst_db, dst, version);
                (keys::index_prefix(src_db, src, r.version), dst_prefix)
            } else {
                let dst_prefix = keys::sub_prefix(dst_db, dst, version);
                (keys::sub_prefix(src_db, src, r.version), dst_prefix)
            };
            let end = keys::prefix_end(&prefix).unwrap_or_else(|| vec![keys::DB_COUNT]);
            let mut subs = Vec::new();
            w.scan(Cf::Sub, &prefix, &end, &mut |k, v| {
                subs.push((k[prefix.len()..].to_vec(), v.to_vec()));
                true
            })?;
            for (sub, value) in subs {
                let mut k = dst_prefix.clone();
                k.extend_from_slice(&sub);
                w.put(Cf::Sub, k, value);
            }
        }
    }
    let new = Record {
        version,
        ..r.clone()
    };
    store_record(w, dst_db, dst, old_dst, &new);
    Ok(())
}

/// `KEYS pattern`, in key order, skipping expired keys. A literal prefix of the pattern
/// narrows the scan.
pub fn keys<S: StoreRead + ?Sized>(s: &S, at: At, pattern: &[u8]) -> CmdResult {
    let prefix = literal_prefix(pattern);
    let match_all = pattern == b"*";
    let mut out = Vec::new();
    scan_records(s, at.db, prefix, &mut |key, h, _| {
        if !key.starts_with(prefix) {
            return false;
        }
        if !h.is_expired(at.now_ms) && (match_all || glob_match(pattern, key, false)) {
            out.push(Reply::Bulk(key.to_vec()));
        }
        true
    })?;
    Ok(Reply::Array(out))
}

/// What `SCAN` needs beyond the cursor.
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions<'a> {
    pub pattern: Option<&'a [u8]>,
    /// Records examined per call (a hint, as in Redis); at least 1.
    pub count: u64,
    pub kind: ScanFilter,
}

/// `SCAN ... TYPE t` resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanFilter {
    Any,
    Only(KeyType),
    /// A type name no key can have.
    Nothing,
}

/// `SCAN`: examines about `count` keys from the cursor's position and replies
/// `[cursor, [keys]]`, cursor `"0"` when done. Cursors are handles into the services'
/// bounded cursor memory; an unknown cursor ends the scan.
pub fn scan<S: StoreRead + ?Sized>(s: &S, at: At, cursor: u64, opts: ScanOptions<'_>) -> CmdResult {
    let done = |keys: Vec<Reply>| Reply::Array(vec![Reply::bulk("0"), Reply::Array(keys)]);
    if opts.kind == ScanFilter::Nothing {
        return Ok(done(Vec::new()));
    }
    let from = if cursor == 0 {
        Vec::new()
    } else {
        match s.services().cursor(cursor) {
            Some((_, key)) => key,
            None => return Ok(done(Vec::new())),
        }
    };
    let budget = opts.count.max(1);
    let mut examined = 0u64;
    let mut resume = None;
    let mut out = Vec::new();
    scan_records(s, at.db, &from, &mut |key, h, _| {
        if examined == budget {
            resume = Some(key.to_vec());
            return false;
        }
        examined += 1;
        let type_ok = match opts.kind {
            ScanFilter::Only(t) => h.kind == t,
            _ => true,
        };
        // A lone `*` matches everything, the empty key included (Redis skips matching).
        let pattern_ok = opts
            .pattern
            .is_none_or(|p| p == b"*" || glob_match(p, key, false));
        if type_ok && pattern_ok && !h.is_expired(at.now_ms) {
            out.push(Reply::Bulk(key.to_vec()));
        }
        true
    })?;
    Ok(match resume {
        None => done(out),
        Some(key) => {
            let id = s.services().save_cursor(at.db, key);
            Reply::Array(vec![Reply::bulk(id.to_string()), Reply::Array(out)])
        }
    })
}

/// Draws [`random_key`] makes before it settles for the first live key: only a db of
/// mostly expired, not yet reclaimed keys needs more than a few.
const RANDOMKEY_DRAWS: usize = 16;

/// `RANDOMKEY`: a uniformly chosen live key, or nil when there is none.
///
/// A uniform position among the db's metadata records (the per-db counter, which counts
/// expired records not yet reclaimed), then a walk to it; an expired key is drawn again,
/// so every live key is equally likely. The walk is O(position): RocksDB keeps no order
/// statistics and the keyspace no slot index (keeping one would cost every key creation
/// and deletion two more writes), and an interpolated seek, as before, favoured keys after
/// sparse stretches of the key space (with keys `a` and `b`, `b` nearly always).
pub fn random_key<S: StoreRead + ?Sized>(s: &S, at: At) -> CmdResult {
    let mut records = s
        .counts()
        .keys
        .get(usize::from(at.db))
        .copied()
        .unwrap_or(0);
    for _ in 0..RANDOMKEY_DRAWS {
        if records == 0 {
            break;
        }
        let target = s.services().random_below(records);
        let mut seen = 0u64;
        let mut picked = None;
        scan_records(s, at.db, b"", &mut |key, h, _| {
            if seen == target {
                picked = Some((key.to_vec(), h.is_expired(at.now_ms)));
                return false;
            }
            seen += 1;
            true
        })?;
        match picked {
            Some((key, false)) => return Ok(Reply::Bulk(key)),
            Some((_, true)) => {}
            // The counter ran ahead of this view (a write group committing meanwhile):
            // draw among the records this view holds.
            None => records = seen,
        }
    }
    // Mostly expired keys: the first live one, if any.
    let mut found = None;
    scan_records(s, at.db, b"", &mut |key, h, _| {
        if h.is_expired(at.now_ms) {
            return true;
        }
        found = Some(key.to_vec());
        false
    })?;
    Ok(found.map_or(Reply::Nil, Reply::Bulk))
}

/// `DBSIZE`: metadata records in the db, including expired ones not yet reclaimed.
pub fn dbsize<S: StoreRead + ?Sized>(s: &S, at: At) -> CmdResult {
    let c = s.counts();
    Ok(Reply::Integer(
        c.keys.get(usize::from(at.db)).copied().unwrap_or(0) as i64,
    ))
}

/// Which databases a flush empties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushScope {
    Db,
    All,
}

/// `FLUSHDB` / `FLUSHALL`: range deletions of metadata and sub-keys, O(1) in the number
/// of keys; RocksDB reclaims the space in compaction.
pub fn flush<W: StoreWrite + ?Sized>(w: &mut W, at: At, scope: FlushScope) -> CmdResult {
    let (dbs, (start, end)) = match scope {
        FlushScope::Db => (at.db..at.db + 1, keys::db_range(at.db)),
        FlushScope::All => (0..keys::DB_COUNT, keys::all_dbs_range()),
    };
    w.delete_range(Cf::Meta, start.clone(), end.clone());
    w.delete_range(Cf::Sub, start, end);
    for db in dbs {
        w.counts_mut().clear(db);
    }
    Ok(Reply::ok())
}

/// Whether a key is live (used by tests and future types).
pub fn is_live<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8]) -> Result<bool, StorageError> {
    Ok(lookup(s, at, key)?.is_some())
}

/// The physical record (expired or not), for diagnostics and tests.
pub fn physical<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
) -> Result<Option<Record>, StorageError> {
    raw_record(s, db, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::testing::TestDb;

    fn put_string(db: &mut TestDb, key: &[u8], expire_at_ms: u64) {
        db.write(|w, at| {
            let old = raw_record(w, at.db, key)?;
            let rec = Record::string(b"v".to_vec(), expire_at_ms, w.new_version());
            store_record(w, at.db, key, old.as_ref(), &rec);
            CmdResult::Ok(Reply::ok())
        })
        .unwrap();
    }

    fn random(db: &TestDb) -> Vec<u8> {
        match db.read(random_key) {
            Ok(Reply::Bulk(k)) => k,
            other => panic!("RANDOMKEY replied {other:?}"),
        }
    }

    #[test]
    fn random_key_is_uniform_and_skips_expired_keys() {
        let mut db = TestDb::open();
        assert_eq!(db.read(random_key), Ok(Reply::Nil));
        // Neighbours in the key space (the interpolated seek picked `b` ~always).
        put_string(&mut db, b"a", 0);
        put_string(&mut db, b"b", 0);
        put_string(&mut db, b"gone", 1);
        let (mut a, mut b) = (0, 0);
        for _ in 0..2000 {
            match &random(&db)[..] {
                b"a" => a += 1,
                b"b" => b += 1,
                other => panic!("RANDOMKEY gave {other:?}"),
            }
        }
        // Binomial(2000, 1/2): sd 22, so 800..1200 is over 9 sd wide.
        assert!((800..=1200).contains(&a), "a {a} times, b {b} times");
        // Only expired records left: nil.
        let mut only_expired = TestDb::open();
        put_string(&mut only_expired, b"x", 1);
        assert_eq!(only_expired.read(random_key), Ok(Reply::Nil));
    }
}
