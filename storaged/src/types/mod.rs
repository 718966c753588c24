//! Redis data-type semantics over the engine seam.
//!
//! Owns the rules every type shares: what a live key is (present and not expired), how a
//! write reclaims an expired record it meets, and how every metadata write keeps the
//! per-db counters right. One file per family (`string.rs`, `keyspace.rs`, later hashes,
//! lists, sets, zsets). It sees only [`StoreRead`]/[`StoreWrite`] and, through them, the
//! engine's [`Services`](crate::engine::Services) (cursors, random numbers, counters);
//! never RocksDB or the engine behind the traits.

pub mod bitmap;
pub mod geo;
pub mod hash;
pub mod hyperloglog;
pub mod keyspace;
pub mod list;
pub mod memory;
pub mod object;
pub mod pop;
pub mod serialize;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
pub mod string_value;
#[cfg(test)]
pub(crate) mod testing;
pub mod zset;

use tandem_shared::{Reply, ScanOptionError, StorageError};

use crate::engine::keys::{self, DB_COUNT};
use crate::engine::metadata::{Header, Record};
use crate::engine::{Cf, EngineError, StoreRead, StoreWrite};

/// What every type operation returns.
pub type CmdResult = Result<Reply, StorageError>;

/// Largest string value, as Redis's default `proto-max-bulk-len` (512 MiB).
pub const MAX_STRING_LEN: u64 = 512 * 1024 * 1024;

/// Options of HSCAN, SSCAN and ZSCAN.
#[derive(Debug, Clone, Copy)]
pub struct MemberScanOptions<'a> {
    pub pattern: Option<&'a [u8]>,
    /// Elements examined per call (a hint, as in Redis); at least 1.
    pub count: u64,
    /// A bad option, reported only once the key is known to be of the scanned type
    /// (Redis's order of checks).
    pub invalid: Option<ScanOptionError>,
}

impl MemberScanOptions<'_> {
    /// The deferred option error, if any.
    ///
    /// # Errors
    /// `Syntax` or `NotInteger`, as the parser found.
    pub fn check(&self) -> Result<(), StorageError> {
        match self.invalid {
            Some(ScanOptionError::Syntax) => Err(StorageError::Syntax),
            Some(ScanOptionError::NotInteger) => Err(StorageError::NotInteger),
            None => Ok(()),
        }
    }
}

/// The clock and database one command runs against; `now_ms` is read once per command
/// so a command sees one consistent "now".
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub db: u8,
    pub now_ms: u64,
}

/// Decodes a stored record, mapping garbage to an internal error that names the key.
fn decode(key: &[u8], raw: &[u8]) -> Result<Record, StorageError> {
    Record::decode(raw).map_err(|e| {
        StorageError::from(EngineError::Corrupt {
            key: key.to_vec(),
            reason: e.to_string(),
        })
    })
}

/// The physical metadata record of a key, expired or not.
pub fn raw_record<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    key: &[u8],
) -> Result<Option<Record>, StorageError> {
    let mk = keys::meta_key(db, key);
    match s.get(Cf::Meta, &mk)? {
        Some(raw) => Ok(Some(decode(&mk, &raw)?)),
        None => Ok(None),
    }
}

/// The live record of a key (absent if missing or expired), without touching statistics.
pub fn lookup<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
) -> Result<Option<Record>, StorageError> {
    Ok(raw_record(s, at.db, key)?.filter(|r| !r.is_expired(at.now_ms)))
}

/// [`lookup`] for a read command: counts a keyspace hit or miss, as Redis's
/// `lookupKeyRead` does.
pub fn lookup_read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    key: &[u8],
) -> Result<Option<Record>, StorageError> {
    let r = lookup(s, at, key)?;
    s.services().stats().note_lookup(r.is_some());
    Ok(r)
}

/// [`lookup`] for a write command: an expired record it meets is deleted in the group
/// and counted in `expired_keys`, as Redis's `expireIfNeeded` does, so the write then
/// sees a clean absence.
pub fn lookup_write<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
) -> Result<Option<Record>, StorageError> {
    match raw_record(w, at.db, key)? {
        Some(r) if r.is_expired(at.now_ms) => {
            remove_record(w, at.db, key, Some(&r));
            w.note_expired(1);
            Ok(None)
        }
        other => Ok(other),
    }
}

/// Writes a key's metadata record, keeping the counters right. `old` must be the
/// physical record currently stored (as returned by [`lookup_write`] or
/// [`raw_record`]); pass it to avoid a second read.
pub fn store_record<W: StoreWrite + ?Sized>(
    w: &mut W,
    db: u8,
    key: &[u8],
    old: Option<&Record>,
    new: &Record,
) {
    w.counts_mut().record_change(
        db,
        old.map(|r| r.expire_at_ms != 0),
        Some(new.expire_at_ms != 0),
    );
    w.put(Cf::Meta, keys::meta_key(db, key), new.encode());
}

/// Deletes a key's metadata record (O(1) whatever its type: stale sub-keys are left to
/// the compaction filter), keeping the counters right. `old` is the physical record.
pub fn remove_record<W: StoreWrite + ?Sized>(w: &mut W, db: u8, key: &[u8], old: Option<&Record>) {
    if let Some(old) = old {
        w.counts_mut()
            .record_change(db, Some(old.expire_at_ms != 0), None);
        w.delete(Cf::Meta, keys::meta_key(db, key));
    }
}

/// Deletes a live key; returns whether it existed.
pub fn delete_key<W: StoreWrite + ?Sized>(
    w: &mut W,
    at: At,
    key: &[u8],
) -> Result<bool, StorageError> {
    match lookup_write(w, at, key)? {
        Some(r) => {
            remove_record(w, at.db, key, Some(&r));
            Ok(true)
        }
        None => Ok(false),
    }
}

/// A callback over `(user_key, header, raw_value)`; returns false to stop.
pub type RecordVisitor<'a> = dyn FnMut(&[u8], Header, &[u8]) -> bool + 'a;

/// Visits `(user_key, header, raw_value)` of db's metadata records with user key
/// `>= from`, in order, until `visit` returns false. Undecodable records are skipped.
pub fn scan_records<S: StoreRead + ?Sized>(
    s: &S,
    db: u8,
    from: &[u8],
    visit: &mut RecordVisitor<'_>,
) -> Result<(), StorageError> {
    let (_, end) = keys::db_range(db);
    let start = keys::meta_key(db, from);
    s.scan(Cf::Meta, &start, &end, &mut |k, v| {
        let Some((_, user_key)) = keys::decode_meta_key(k) else {
            return true;
        };
        match Header::decode(v) {
            Ok(h) => visit(user_key, h, v),
            Err(_) => true,
        }
    })?;
    Ok(())
}

/// Checks a db index from a command (COPY/MOVE targets).
pub fn check_db(db: u8) -> Result<u8, StorageError> {
    if db < DB_COUNT {
        Ok(db)
    } else {
        Err(StorageError::DbOutOfRange)
    }
}
