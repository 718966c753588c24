//! The storage engine seam: what Redis semantics (storaged's `types/`) may ask of storage,
//! with no RocksDB type and no I/O of its own.
//!
//! Owns the traits [`StoreRead`] (reads of one view), [`StoreWrite`] (buffered writes of a
//! group) and [`KvEngine`] (committed state: snapshots and atomic commits); the column
//! families ([`Cf`]); [`EngineError`]; the per-db key counters ([`Counts`]); the write
//! overlay a group builds before one commit ([`Pending`]); the non-storage state every view
//! shares ([`Services`]: SCAN cursor memory, random numbers, the key-version clock, counters
//! and statistics); the byte layouts of keys and metadata records ([`keys`], [`metadata`])
//! and of the key-counter record committed with the writes ([`counters`]), and what garbage
//! collection may drop ([`gc`]); an engine held in memory ([`memory`]) and
//! the conformance checks every engine must pass ([`conformance`]).
//!
//! It must not depend on RocksDB, tokio or any I/O (its one dependency in the workspace is
//! `tandem-shared`, for the number of databases and to turn an [`EngineError`] into the
//! wire's storage error): Cargo enforces that nothing built on these traits can reach the
//! RocksDB engine (storaged's `engine/rocks.rs`).

pub mod conformance;
pub mod counters;
pub mod databases;
pub mod gc;
pub mod keys;
pub mod memory;
pub mod metadata;
mod pending;
mod services;

use std::time::{SystemTime, UNIX_EPOCH};

pub use memory::MemoryEngine;
pub use pending::{Overlay, Pending};
pub use services::{Services, Stats, SCAN_CURSORS_MAX};

use keys::DB_COUNT;

/// Failures of the storage engine itself (never a Redis-level command error).
///
/// Non-exhaustive because an engine behind a network or with optimistic transactions will
/// need more outcomes of [`KvEngine::commit`] (a conflict to retry, an outcome it cannot
/// know) than the local engines have; see `docs/ARCHITECTURE.md`, "Engine seam".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error("cannot open the database in {path}: {reason}")]
    Open { path: String, reason: String },
    /// The engine's own failure (I/O, a refused write), named by the engine.
    #[error("{engine}: {reason}")]
    Backend {
        engine: &'static str,
        reason: String,
    },
    #[error("corrupt record under key {key:02x?}: {reason}")]
    Corrupt { key: Vec<u8>, reason: String },
}

/// An engine failure reaches a client as an internal storage error (`ERR storage
/// failure: …`); the command's outcome is whatever the failed commit left, i.e. nothing.
impl From<EngineError> for tandem_shared::StorageError {
    fn from(e: EngineError) -> tandem_shared::StorageError {
        tandem_shared::StorageError::Internal(e.to_string())
    }
}

/// A column family of the layout in `docs/ENCODING.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cf {
    /// One metadata record per user key.
    Meta,
    /// Versioned sub-keys of collection types.
    Sub,
    /// Remembered replies of keyed write requests (exactly-once across reconnects); the
    /// layout is owned by storaged's `dedup`.
    Reqs,
}

impl Cf {
    /// Every column family, in commit order.
    pub const ALL: [Cf; 3] = [Cf::Meta, Cf::Sub, Cf::Reqs];

    /// Position in [`Cf::ALL`], for per-family tables.
    pub fn index(self) -> usize {
        match self {
            Cf::Meta => 0,
            Cf::Sub => 1,
            Cf::Reqs => 2,
        }
    }
}

/// Reads of one consistent-enough view: committed state, a snapshot of it, or committed
/// state plus a write group's own uncommitted writes.
pub trait StoreRead {
    /// The value under `key`, if any.
    ///
    /// # Errors
    /// [`EngineError::Backend`] on an I/O failure.
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError>;

    /// Visits entries with `start <= key < end` in key order until `visit` returns false.
    ///
    /// # Errors
    /// [`EngineError::Backend`] on an I/O failure.
    fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError>;

    /// [`StoreRead::scan`] of much data read once (a large value's chunks): an engine may
    /// keep what it reads out of its block cache, so that one large read does not evict
    /// every other client's hot blocks (nor count as the reader's memory).
    ///
    /// # Errors
    /// As [`StoreRead::scan`].
    fn scan_bulk(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        self.scan(cf, start, end, visit)
    }

    /// The largest key in `[start, end)`, if any (used to pick random positions).
    ///
    /// # Errors
    /// [`EngineError::Backend`] on an I/O failure.
    fn last_key(&self, cf: Cf, start: &[u8], end: &[u8]) -> Result<Option<Vec<u8>>, EngineError>;

    /// The state shared by every view of this engine that is not stored data: cursors,
    /// random numbers, the version clock, counters and statistics.
    fn services(&self) -> &Services;

    /// Asked before reading much data (a large string value). A view that must stay
    /// cheap, the socket thread's in-memory view, marks itself missed and returns true:
    /// the caller gives up, its result is thrown away and the request reruns on the read
    /// pool. Every other view returns false and the caller reads on.
    fn yield_heavy_read(&self) -> bool {
        false
    }

    /// Per-db key counters as this view sees them (a write group includes its own writes).
    fn counts(&self) -> Counts;
}

/// Buffered writes of one group, applied atomically by [`KvEngine::commit`].
pub trait StoreWrite: StoreRead {
    fn put(&mut self, cf: Cf, key: Vec<u8>, value: Vec<u8>);
    fn delete(&mut self, cf: Cf, key: Vec<u8>);
    /// Deletes every key in `[start, end)`.
    fn delete_range(&mut self, cf: Cf, start: Vec<u8>, end: Vec<u8>);
    /// Puts a sub-key no reader can reach until a later write of the same group names its
    /// version (a new key's metadata record). A group may commit such records ahead of
    /// itself, in pieces, so a large value's bytes are not all held in the group on top of
    /// the request that carries them; garbage collection keeps them meanwhile
    /// (`Services::hold_unsettled`). Every call must be followed by
    /// [`StoreWrite::flush_unreachable`] before anything reads them.
    fn put_unreachable(&mut self, cf: Cf, key: Vec<u8>, value: Vec<u8>) {
        self.put(cf, key, value);
    }
    /// Commits what [`StoreWrite::put_unreachable`] still holds (a failure fails the
    /// group's commit).
    fn flush_unreachable(&mut self) {}
    /// A version for a newly created key: strictly greater than any handed out before.
    fn new_version(&mut self) -> u64;
    /// The group's view of the per-db counters, changed by the caller on every metadata
    /// write and published on commit.
    fn counts_mut(&mut self) -> &mut Counts;
    /// Records keys deleted because they had expired (the `expired_keys` stat).
    fn note_expired(&mut self, n: u64);
}

/// An engine holding committed state. Reading it directly ([`StoreRead`] on the engine)
/// sees the latest commit; a [`KvEngine::snapshot`] sees one commit for its whole life.
///
/// Writes reach it only through [`KvEngine::commit`] of a whole [`Pending`] overlay, from
/// one writer at a time: storaged's single writer thread builds the overlay in a write
/// group, reading through it, and commits it. Everything a commit changes becomes visible
/// at once (no reader sees half of it) and survives a crash of the process once `commit`
/// returns, as far as the engine's durability policy promises.
pub trait KvEngine: StoreRead + Clone + Send + Sync + 'static {
    /// A point-in-time view of committed state, released when dropped.
    type Snapshot<'a>: StoreRead
    where
        Self: 'a;

    /// Opens a [`KvEngine::Snapshot`] of the latest commit.
    fn snapshot(&self) -> Self::Snapshot<'_>;

    /// The latest committed value of `key`, for the writer building the next group. An
    /// engine may answer from a cache of committed records: nothing else writes, so the
    /// latest commit is all there is.
    ///
    /// # Errors
    /// As [`StoreRead::get`].
    fn get_latest(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        self.get(cf, key)
    }

    /// Applies every write of `pending` atomically. Per column family, its range
    /// deletions apply before its entries (see [`Pending`]). On an error nothing of it is
    /// applied, and the caller must fail every command that wrote into it.
    ///
    /// # Errors
    /// [`EngineError::Backend`] when the engine refuses the write.
    fn commit(&self, pending: Pending) -> Result<(), EngineError>;

    /// Drops what garbage collection may drop ([`gc::stale_sub_key`]) from every record
    /// present now. Never needed for correctness (readers never see stale sub-keys); for
    /// operators and tests.
    ///
    /// # Errors
    /// [`EngineError::Backend`] on an I/O failure.
    fn compact(&self) -> Result<(), EngineError>;
}

/// Number of keys and of keys with an expiry, per database. Counts metadata records
/// physically present, including expired ones not yet reclaimed, as Redis's `DBSIZE`
/// counts expired keys it has not yet evicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub keys: [u64; DB_COUNT as usize],
    pub expires: [u64; DB_COUNT as usize],
}

impl Counts {
    /// Adjusts db's counters for a metadata record going from `old` to `new` presence;
    /// each side is `None` (absent) or `Some(has_expiry)`.
    pub fn record_change(&mut self, db: u8, old: Option<bool>, new: Option<bool>) {
        let i = usize::from(db);
        let (Some(keys), Some(expires)) = (self.keys.get_mut(i), self.expires.get_mut(i)) else {
            return;
        };
        let bump = |c: &mut u64, before: bool, after: bool| match (before, after) {
            (false, true) => *c += 1,
            (true, false) => *c = c.saturating_sub(1),
            _ => {}
        };
        bump(keys, old.is_some(), new.is_some());
        bump(expires, old == Some(true), new == Some(true));
    }

    /// Zeroes one database's counters (FLUSHDB).
    pub fn clear(&mut self, db: u8) {
        if let (Some(k), Some(e)) = (
            self.keys.get_mut(usize::from(db)),
            self.expires.get_mut(usize::from(db)),
        ) {
            *k = 0;
            *e = 0;
        }
    }
}

/// Wall-clock unix milliseconds, the clock every expiry is compared with.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Wall-clock unix microseconds, the base of the key-version clock.
pub(crate) fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_changes() {
        let mut c = Counts::default();
        c.record_change(0, None, Some(false));
        c.record_change(0, None, Some(true));
        assert_eq!((c.keys[0], c.expires[0]), (2, 1));
        c.record_change(0, Some(true), Some(false));
        assert_eq!((c.keys[0], c.expires[0]), (2, 0));
        c.record_change(0, Some(false), None);
        assert_eq!((c.keys[0], c.expires[0]), (1, 0));
        c.clear(0);
        assert_eq!(c.keys[0], 0);
    }

    #[test]
    fn cf_index_matches_all() {
        for (i, cf) in Cf::ALL.into_iter().enumerate() {
            assert_eq!(cf.index(), i);
        }
    }
}
