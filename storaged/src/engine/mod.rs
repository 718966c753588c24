//! The storage engine seam: the only module that knows RocksDB exists.
//!
//! Owns opening the database (column families, tuning, fsync policy), committed-state reads
//! ([`StoreRead`]), the write overlay a group of commands builds before one atomic commit
//! ([`Pending`]), per-database key counters and keyspace statistics, and the byte layouts
//! in [`keys`] and [`metadata`]. It does not know Redis semantics: `types/` and the
//! executor build those on top of these traits, and never touch RocksDB types.

pub mod cache;
pub mod keys;
pub mod metadata;
mod rocks;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

pub use rocks::{now_ms, CachedRead, Engine, SnapshotRead, SCAN_CURSORS_MAX};

use keys::DB_COUNT;

/// Failures of the storage engine itself (never a Redis-level command error).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot open the database in {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("rocksdb: {0}")]
    Rocks(String),
    #[error("corrupt record under key {key:02x?}: {reason}")]
    Corrupt { key: Vec<u8>, reason: String },
}

/// When the write-ahead log reaches the disk, like Redis `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Every commit syncs the WAL before it returns.
    Always,
    /// Commits write the WAL without syncing; the owner calls [`Engine::sync_wal`] once a
    /// second. A machine crash can lose about a second; a process crash loses nothing.
    #[default]
    EverySec,
    /// Never sync explicitly; the OS decides.
    No,
}

impl FromStr for FsyncPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<FsyncPolicy, String> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(FsyncPolicy::Always),
            "everysec" => Ok(FsyncPolicy::EverySec),
            "no" => Ok(FsyncPolicy::No),
            other => Err(format!(
                "unknown fsync policy {other:?} (expected always, everysec or no)"
            )),
        }
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::No => "no",
        })
    }
}

/// Tuning for [`Engine::open`].
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub fsync: FsyncPolicy,
    /// Shared LRU block cache for both column families. Default 256 MiB.
    pub block_cache_bytes: usize,
    /// The record cache shared by the writer and readers (`cache.rs`). Default 256 MiB; 0
    /// disables it.
    pub record_cache_bytes: usize,
    /// Memtable size per column family. Default 16 MiB (insert cost grows with memtable size; see docs/BENCHMARKS.md).
    pub write_buffer_bytes: usize,
    /// RocksDB background flush and compaction threads. Default 2.
    pub background_jobs: i32,
    /// How long [`Engine::open`] keeps retrying while another process still holds the
    /// database `LOCK` (a restarted daemon can meet its predecessor's lock briefly).
    /// Default 5 s.
    pub lock_retry: std::time::Duration,
    /// Memtables per column family before writes stop (RocksDB `max_write_buffer_number`).
    /// Default 2.
    pub max_write_buffers: i32,
    /// L0 files per column family at which RocksDB slows writes down, and at which it stops
    /// them. Defaults 20 and 36 (RocksDB's).
    pub l0_slowdown_trigger: i32,
    pub l0_stop_trigger: i32,
    /// Bytes per second for flushes and compactions together (0: unlimited, the default).
    /// Only benchmarks set it, to force RocksDB into write stalls on purpose.
    pub background_rate_limit: i64,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            fsync: FsyncPolicy::EverySec,
            block_cache_bytes: 256 << 20,
            record_cache_bytes: 256 << 20,
            write_buffer_bytes: 16 << 20,
            background_jobs: 2,
            lock_retry: std::time::Duration::from_secs(5),
            max_write_buffers: 2,
            l0_slowdown_trigger: 20,
            l0_stop_trigger: 36,
            background_rate_limit: 0,
        }
    }
}

/// A column family of the layout in `docs/ENCODING.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cf {
    /// One metadata record per user key.
    Meta,
    /// Versioned sub-keys of collection types.
    Sub,
    /// Remembered replies of keyed write requests (exactly-once across reconnects); the
    /// layout is owned by `crate::dedup`.
    Reqs,
}

impl Cf {
    /// Every column family, in commit order.
    pub const ALL: [Cf; 3] = [Cf::Meta, Cf::Sub, Cf::Reqs];

    fn index(self) -> usize {
        match self {
            Cf::Meta => 0,
            Cf::Sub => 1,
            Cf::Reqs => 2,
        }
    }
}

/// Reads of one consistent-enough view: committed state, or committed state plus a
/// write group's own uncommitted writes.
pub trait StoreRead {
    /// The value under `key`, if any.
    ///
    /// # Errors
    /// [`EngineError::Rocks`] on an I/O failure.
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError>;

    /// Visits entries with `start <= key < end` in key order until `visit` returns false.
    ///
    /// # Errors
    /// [`EngineError::Rocks`] on an I/O failure.
    fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError>;

    /// The largest key in `[start, end)`, if any (used to pick random positions).
    ///
    /// # Errors
    /// [`EngineError::Rocks`] on an I/O failure.
    fn last_key(&self, cf: Cf, start: &[u8], end: &[u8]) -> Result<Option<Vec<u8>>, EngineError>;

    /// The engine, for statistics.
    fn engine(&self) -> &Engine;

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

/// Buffered writes of one group, applied atomically by [`Engine::commit`].
pub trait StoreWrite: StoreRead {
    fn put(&mut self, cf: Cf, key: Vec<u8>, value: Vec<u8>);
    fn delete(&mut self, cf: Cf, key: Vec<u8>);
    /// Deletes every key in `[start, end)`.
    fn delete_range(&mut self, cf: Cf, start: Vec<u8>, end: Vec<u8>);
    /// A version for a newly created key: strictly greater than any handed out before.
    fn new_version(&mut self) -> u64;
    /// The group's view of the per-db counters, changed by the caller on every metadata
    /// write and published on commit.
    fn counts_mut(&mut self) -> &mut Counts;
    /// Records keys deleted because they had expired (the `expired_keys` stat).
    fn note_expired(&mut self, n: u64);
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

/// Keyspace statistics for INFO, updated lock-free from any thread.
#[derive(Debug, Default)]
pub struct Stats {
    pub expired_keys: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    /// Resent write requests answered from their remembered reply (exactly once).
    pub requests_replayed: AtomicU64,
    /// Keyed requests refused unexecuted because they outlived the request memory window.
    pub requests_refused_stale: AtomicU64,
    /// Blocking pops parked by the writer right now, across every proxy (`blocking.rs`).
    pub blocked_requests: AtomicU64,
    /// Requests run by the writer thread, groups it committed, and WriteBatches written to
    /// the WAL: `write_requests / wal_writes` is the group-commit efficiency.
    pub write_requests: AtomicU64,
    pub write_groups: AtomicU64,
    pub wal_writes: AtomicU64,
    /// The key counters came from the last clean shutdown rather than a scan at open.
    pub counters_restored: std::sync::atomic::AtomicBool,
}

impl Stats {
    /// Counts one read lookup of a key.
    pub fn note_lookup(&self, hit: bool) {
        let c = if hit {
            &self.keyspace_hits
        } else {
            &self.keyspace_misses
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

/// A write group's uncommitted writes: an ordered overlay (raw key → new value or
/// deletion) per column family plus pending range deletions, readable before commit.
///
/// Commit order is "range deletions, then overlay entries" per column family; that is
/// equivalent to the order the commands issued them in, because a range deletion removes
/// the overlay entries it covers when it is recorded.
#[derive(Debug, Default)]
pub struct Pending {
    entries: [BTreeMap<Vec<u8>, Option<Vec<u8>>>; 3],
    ranges: [Vec<(Vec<u8>, Vec<u8>)>; 3],
}

/// What the overlay knows about one key.
pub enum Overlay<'a> {
    /// Not touched by the group: ask committed state.
    Untouched,
    /// Written (or deleted, `None`) by the group.
    Written(Option<&'a [u8]>),
}

impl Pending {
    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(BTreeMap::is_empty) && self.ranges.iter().all(Vec::is_empty)
    }

    pub fn put(&mut self, cf: Cf, key: Vec<u8>, value: Vec<u8>) {
        self.entries[cf.index()].insert(key, Some(value));
    }

    pub fn delete(&mut self, cf: Cf, key: Vec<u8>) {
        self.entries[cf.index()].insert(key, None);
    }

    pub fn delete_range(&mut self, cf: Cf, start: Vec<u8>, end: Vec<u8>) {
        if start >= end {
            return;
        }
        let map = &mut self.entries[cf.index()];
        let covered: Vec<Vec<u8>> = map
            .range::<[u8], _>((Bound::Included(&start[..]), Bound::Excluded(&end[..])))
            .map(|(k, _)| k.clone())
            .collect();
        for k in covered {
            map.remove(&k);
        }
        self.ranges[cf.index()].push((start, end));
    }

    /// The group's own state for `key`.
    pub fn lookup(&self, cf: Cf, key: &[u8]) -> Overlay<'_> {
        if let Some(v) = self.entries[cf.index()].get(key) {
            return Overlay::Written(v.as_deref());
        }
        if self.masked(cf, key) {
            return Overlay::Written(None);
        }
        Overlay::Untouched
    }

    /// True when a pending range deletion hides the committed value of `key`.
    fn masked(&self, cf: Cf, key: &[u8]) -> bool {
        self.ranges[cf.index()]
            .iter()
            .any(|(s, e)| key >= &s[..] && key < &e[..])
    }

    /// Merges the overlay into a committed scan of `[start, end)`: `committed` must call
    /// its visitor in key order. Overlay entries win; deletions and masked keys are skipped.
    ///
    /// # Errors
    /// Whatever `committed` returns.
    pub fn merged_scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        committed: impl FnOnce(&mut dyn FnMut(&[u8], &[u8]) -> bool) -> Result<(), EngineError>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        let mut overlay = self.entries[cf.index()]
            .range::<[u8], _>((Bound::Included(start), Bound::Excluded(end)))
            .peekable();
        let mut stopped = false;
        committed(&mut |k, v| {
            while let Some((ok, ov)) = overlay.peek() {
                if ok.as_slice() >= k {
                    break;
                }
                if let Some(ov) = ov {
                    if !visit(ok, ov) {
                        stopped = true;
                        return false;
                    }
                }
                overlay.next();
            }
            if let Some((ok, ov)) = overlay.peek() {
                if ok.as_slice() == k {
                    let cont = match ov {
                        Some(ov) => visit(ok, ov),
                        None => true,
                    };
                    overlay.next();
                    if !cont {
                        stopped = true;
                    }
                    return cont;
                }
            }
            if self.masked(cf, k) {
                return true;
            }
            if !visit(k, v) {
                stopped = true;
                return false;
            }
            true
        })?;
        if stopped {
            return Ok(());
        }
        for (k, v) in overlay {
            if let Some(v) = v {
                if !visit(k, v) {
                    break;
                }
            }
        }
        Ok(())
    }

    /// The largest live key of the overlay in `[start, end)`.
    pub fn last_key(&self, cf: Cf, start: &[u8], end: &[u8]) -> Option<Vec<u8>> {
        self.entries[cf.index()]
            .range::<[u8], _>((Bound::Included(start), Bound::Excluded(end)))
            .rev()
            .find(|(_, v)| v.is_some())
            .map(|(k, _)| k.clone())
    }

    pub(crate) fn ranges(&self, cf: Cf) -> &[(Vec<u8>, Vec<u8>)] {
        &self.ranges[cf.index()]
    }

    pub(crate) fn entries(&self, cf: Cf) -> &BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        &self.entries[cf.index()]
    }

    /// Takes the group's entries of `cf` out, leaving none (after the commit, so they move
    /// into the record cache instead of being copied).
    pub(crate) fn take_entries(&mut self, cf: Cf) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        std::mem::take(&mut self.entries[cf.index()])
    }

    /// Puts back entries of `cf` taken by [`Pending::take_entries`].
    pub(crate) fn restore_entries(&mut self, cf: Cf, entries: BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
        self.entries[cf.index()] = entries;
    }

    /// About the bytes a `WriteBatch` of everything pending takes: keys, values and a
    /// few bytes of framing per record.
    pub fn approx_bytes(&self) -> usize {
        const PER_RECORD: usize = 16;
        let entries: usize = self
            .entries
            .iter()
            .flat_map(BTreeMap::iter)
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len) + PER_RECORD)
            .sum();
        let ranges: usize = self
            .ranges
            .iter()
            .flatten()
            .map(|(s, e)| s.len() + e.len() + PER_RECORD)
            .sum();
        entries + ranges + PER_RECORD
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(p: &Pending, committed: &[(&[u8], &[u8])]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        p.merged_scan(
            Cf::Meta,
            &[0],
            &[0xff],
            |f| {
                for (k, v) in committed {
                    if !f(k, v) {
                        break;
                    }
                }
                Ok(())
            },
            &mut |k, v| {
                out.push((k.to_vec(), v.to_vec()));
                true
            },
        )
        .unwrap();
        out
    }

    #[test]
    fn overlay_wins_and_deletions_hide() {
        let mut p = Pending::default();
        p.put(Cf::Meta, vec![1, b'b'], b"new".to_vec());
        p.delete(Cf::Meta, vec![1, b'c']);
        p.put(Cf::Meta, vec![1, b'e'], b"e".to_vec());
        let got = scan_all(
            &p,
            &[
                (&[1, b'a'], b"a"),
                (&[1, b'b'], b"old"),
                (&[1, b'c'], b"c"),
                (&[1, b'd'], b"d"),
            ],
        );
        let keys: Vec<_> = got.iter().map(|(k, v)| (k[1], v.clone())).collect();
        assert_eq!(
            keys,
            vec![
                (b'a', b"a".to_vec()),
                (b'b', b"new".to_vec()),
                (b'd', b"d".to_vec()),
                (b'e', b"e".to_vec())
            ]
        );
    }

    #[test]
    fn range_deletion_masks_committed_and_drops_earlier_writes() {
        let mut p = Pending::default();
        p.put(Cf::Meta, vec![1, b'x'], b"x".to_vec());
        p.delete_range(Cf::Meta, vec![1], vec![2]);
        p.put(Cf::Meta, vec![1, b'y'], b"y".to_vec());
        assert!(matches!(
            p.lookup(Cf::Meta, &[1, b'x']),
            Overlay::Written(None)
        ));
        assert!(matches!(
            p.lookup(Cf::Meta, &[1, b'a']),
            Overlay::Written(None)
        ));
        assert!(matches!(p.lookup(Cf::Meta, &[2, b'a']), Overlay::Untouched));
        let got = scan_all(&p, &[(&[1, b'a'], b"a"), (&[2, b'a'], b"2a")]);
        assert_eq!(
            got,
            vec![
                (vec![1, b'y'], b"y".to_vec()),
                (vec![2, b'a'], b"2a".to_vec())
            ]
        );
    }

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
    fn fsync_policy_parses_and_prints() {
        for p in [FsyncPolicy::Always, FsyncPolicy::EverySec, FsyncPolicy::No] {
            assert_eq!(p.to_string().parse::<FsyncPolicy>().unwrap(), p);
        }
        assert!("sometimes".parse::<FsyncPolicy>().is_err());
    }
}
