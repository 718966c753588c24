//! The record cache: committed metadata and sub-key records (or their absence) by raw key,
//! shared by the writer thread and the readers that answer from memory.
//!
//! Why: profiles showed RocksDB's memtable skip-list search as the largest single cost of
//! both paths — the single writer reading the old record of every key it writes (the value
//! a SET replaces, the counter an INCR adds to), and the socket thread answering GETs. A
//! hash lookup replaces both.
//!
//! Coherence rests on one rule: the cache only ever holds committed records, and a key a
//! group writes is *removed* before that group's commit and re-inserted with its new record
//! after it ([`RecordCache::begin_commit`], [`RecordCache::end_commit`]). Replies of a group
//! go out after `end_commit`, so no reader can find a value older than one a client was
//! told about. The writer is the only committer, so what it reads from RocksDB and
//! [`RecordCache::fill`]s is committed too. A reader may fill what it read from its
//! snapshot only if no group passed `begin_commit` since it started
//! ([`RecordCache::fill_if`]), checked under the shard lock that `begin_commit` also takes.
//!
//! Multi-key atomicity: `begin_commit` and `end_commit` each advance an epoch. A reader
//! notes the epoch before its lookups and checks it after ([`RecordCache::epoch`]): equal
//! means no group's removals or insertions overlapped its lookups, so everything it saw —
//! cache hits, and misses read from one RocksDB snapshot — belongs to one committed state.
//! Otherwise it reruns the request. Range deletions (FLUSHDB, FLUSHALL) clear the cache.
//!
//! Sharded by key, each shard bounded by bytes with two generations: entries go into
//! `young`; when `young` holds half the shard's budget it becomes `old` and the previous
//! `old` is dropped. A hit in `old` moves the entry back to `young`, so what is used stays,
//! at O(1) per operation and no per-entry bookkeeping. The `reqs` column family is never
//! cached, nor is a value over [`MAX_VALUE`] bytes. Locks are held for one map operation, never across RocksDB calls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::{Cf, Pending};

/// Shards of the cache: the writer and the socket threads rarely meet on one lock, and a
/// generation flip drops only a sixteenth of the entries.
const SHARDS: usize = 16;

/// Per-entry overhead counted against the budget besides key and value bytes: two heap
/// allocations and a map slot. Measured: 1.9 M small records added 206 MiB of RSS, about
/// 1.2x what a 64-byte figure accounted for.
const ENTRY_OVERHEAD: usize = 80;

/// Largest value the cache keeps. The cache pays off where the lookup costs more than the
/// copy; and the chunks of a large string (16 KiB each, `types/string_value.rs`) must not
/// flush it: one 512 MiB `SET` would otherwise replace every entry with its chunks. Just
/// under a full chunk, so a dense HyperLogLog (12 304 bytes, read by every PFADD and
/// PFCOUNT) and an inline bitmap of up to 128 Ki bits are cached, while of a large string's
/// 16 KiB chunks only its last, partial one can be. With the default budget one shard's
/// generation holds about 500 entries of this size.
const MAX_VALUE: usize = 16 * 1024 - 1;

/// One map per cached column family (`Meta`, `Sub`), so lookups borrow the key. Hashed with
/// foldhash, seeded at random per map: SipHash was 4 % of the writer thread at P16 SET
/// (five hashes per key written), and keys come from clients, so the seed stays random.
type Maps = [HashMap<Vec<u8>, Option<Vec<u8>>, foldhash::fast::RandomState>; 2];

/// See the module docs.
#[derive(Debug)]
pub struct RecordCache {
    shards: Vec<Mutex<Shard>>,
    /// Advanced by `begin_commit` and by `end_commit` (odd while a group commits).
    epoch: AtomicU64,
}

/// One shard: two generations of entries.
#[derive(Debug)]
struct Shard {
    young: Maps,
    old: Maps,
    young_bytes: usize,
    /// Bytes per generation; 0 disables the cache.
    half_budget: usize,
}

/// What the cache knows about a key.
#[derive(Debug, PartialEq, Eq)]
pub enum Cached {
    /// Not cached: read RocksDB.
    Unknown,
    /// The committed record (`None`: no such record).
    Known(Option<Vec<u8>>),
}

/// The map index of a cached column family.
fn slot(cf: Cf) -> Option<usize> {
    match cf {
        Cf::Meta => Some(0),
        Cf::Sub => Some(1),
        Cf::Reqs => None,
    }
}

fn size(key: &[u8], value: &Option<Vec<u8>>) -> usize {
    key.len() + value.as_ref().map_or(0, Vec::len) + ENTRY_OVERHEAD
}

impl RecordCache {
    /// A cache holding about `budget_bytes` (0: disabled).
    pub fn new(budget_bytes: usize) -> RecordCache {
        let half_budget = budget_bytes / SHARDS / 2;
        RecordCache {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        young: Default::default(),
                        old: Default::default(),
                        young_bytes: 0,
                        half_budget,
                    })
                })
                .collect(),
            epoch: AtomicU64::new(0),
        }
    }

    fn shard(&self, key: &[u8]) -> MutexGuard<'_, Shard> {
        // Not a keyed hash: a client that piles its keys into one shard only loses
        // concurrency, and the maps inside use a randomly seeded hasher.
        let h = key.iter().fold(key.len() as u32, |h, &b| {
            h.wrapping_mul(31).wrapping_add(u32::from(b))
        });
        self.shards[(h as usize) % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a committed record of `cf` with this value would be kept (column family
    /// cached, value not over [`MAX_VALUE`]); the commit drops the others early.
    pub fn keeps(cf: Cf, value: Option<&[u8]>) -> bool {
        slot(cf).is_some() && value.is_none_or(|v| v.len() <= MAX_VALUE)
    }

    /// The committed record of `key`, if known.
    pub fn get(&self, cf: Cf, key: &[u8]) -> Cached {
        self.shard(key).get(cf, key)
    }

    /// Remembers a committed read (the writer's own reads: nothing commits meanwhile).
    pub fn fill(&self, cf: Cf, key: &[u8], value: Option<Vec<u8>>) {
        self.shard(key).fill(cf, key.to_vec(), value);
    }

    /// Remembers a reader's snapshot read, unless a group began committing since `epoch`
    /// was read before the snapshot was taken (then the read may be older than the cache).
    pub fn fill_if(&self, epoch: u64, cf: Cf, key: &[u8], value: Option<Vec<u8>>) {
        let mut shard = self.shard(key);
        // `begin_commit` advances the epoch before it takes this lock to remove the key.
        if self.epoch.load(Ordering::Acquire) == epoch && epoch.is_multiple_of(2) {
            shard.fill(cf, key.to_vec(), value);
        }
    }

    /// The committed record of `key` from the cache, else from `read`, which is then
    /// remembered: always for the writer (`reader_epoch` `None`: nothing commits while it
    /// reads), for a reader only under [`RecordCache::fill_if`]'s rule.
    pub fn read_through<E>(
        &self,
        cf: Cf,
        key: &[u8],
        reader_epoch: Option<u64>,
        read: impl FnOnce() -> Result<Option<Vec<u8>>, E>,
    ) -> Result<Option<Vec<u8>>, E> {
        if let Cached::Known(v) = self.get(cf, key) {
            return Ok(v);
        }
        let v = read()?;
        match reader_epoch {
            None => self.fill(cf, key, v.clone()),
            Some(epoch) => self.fill_if(epoch, cf, key, v.clone()),
        }
        Ok(v)
    }

    /// The current epoch; see the module docs.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Before a group's commit: forgets every key it writes (all keys if it deletes ranges).
    pub fn begin_commit(&self, pending: &Pending) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let wipes = [Cf::Meta, Cf::Sub]
            .into_iter()
            .any(|cf| !pending.ranges(cf).is_empty());
        if wipes {
            self.clear();
            return;
        }
        for cf in [Cf::Meta, Cf::Sub] {
            for key in pending.entries(cf).keys() {
                self.shard(key).forget(cf, key);
            }
        }
    }

    /// After the commit: a committed group's records become entries, moved out of
    /// `committed` (the group is done with them).
    pub fn end_commit(&self, committed: Option<&mut Pending>) {
        if let Some(pending) = committed {
            for cf in [Cf::Meta, Cf::Sub] {
                for (key, value) in pending.take_entries(cf) {
                    self.shard(&key).fill(cf, key, value);
                }
            }
        }
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Applies a committed group in one step (tests; the writer uses the two halves).
    #[cfg(test)]
    pub fn apply(&self, mut pending: Pending) {
        self.begin_commit(&pending);
        self.end_commit(Some(&mut pending));
    }

    pub fn clear(&self) {
        for shard in &self.shards {
            shard.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
    }

    /// Entries held (both generations).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Shard {
    /// The map index of `cf`, if it is cached and the cache is on.
    fn slot(&self, cf: Cf) -> Option<usize> {
        slot(cf).filter(|_| self.half_budget > 0)
    }

    fn get(&mut self, cf: Cf, key: &[u8]) -> Cached {
        let Some(i) = self.slot(cf) else {
            return Cached::Unknown;
        };
        if let Some(v) = self.young[i].get(key) {
            return Cached::Known(v.clone());
        }
        match self.old[i].remove(key) {
            Some(v) => {
                let out = v.clone();
                self.put(i, key.to_vec(), v);
                Cached::Known(out)
            }
            None => Cached::Unknown,
        }
    }

    fn fill(&mut self, cf: Cf, key: Vec<u8>, value: Option<Vec<u8>>) {
        if let Some(i) = self.slot(cf) {
            self.old[i].remove(&key);
            self.put(i, key, value);
        }
    }

    fn forget(&mut self, cf: Cf, key: &[u8]) {
        if let Some(i) = slot(cf) {
            if let Some(v) = self.young[i].remove(key) {
                self.young_bytes -= size(key, &v);
            }
            self.old[i].remove(key);
        }
    }

    fn clear(&mut self) {
        for m in self.young.iter_mut().chain(self.old.iter_mut()) {
            m.clear();
        }
        self.young_bytes = 0;
    }

    fn len(&self) -> usize {
        self.young.iter().chain(&self.old).map(HashMap::len).sum()
    }

    fn put(&mut self, i: usize, key: Vec<u8>, v: Option<Vec<u8>>) {
        let add = size(&key, &v);
        if add > self.half_budget || v.as_ref().is_some_and(|v| v.len() > MAX_VALUE) {
            // Too big to keep: make sure no stale copy survives.
            if let Some(old) = self.young[i].remove(&key) {
                self.young_bytes -= size(&key, &old);
            }
            self.old[i].remove(&key);
            return;
        }
        let key_len = key.len();
        if let Some(prev) = self.young[i].insert(key, v) {
            self.young_bytes -= key_len + prev.map_or(0, |p| p.len()) + ENTRY_OVERHEAD;
        }
        self.young_bytes += add;
        if self.young_bytes > self.half_budget {
            self.old = std::mem::take(&mut self.young);
            self.young_bytes = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_groups_and_reads_are_remembered_and_ranges_clear() {
        let c = RecordCache::new(1 << 20);
        assert_eq!(c.get(Cf::Meta, b"a"), Cached::Unknown);
        c.fill(Cf::Meta, b"a", None);
        assert_eq!(c.get(Cf::Meta, b"a"), Cached::Known(None));
        let mut p = Pending::default();
        p.put(Cf::Meta, b"a".to_vec(), b"1".to_vec());
        p.delete(Cf::Sub, b"s".to_vec());
        p.put(Cf::Reqs, b"r".to_vec(), b"x".to_vec());
        c.apply(p);
        assert_eq!(c.get(Cf::Meta, b"a"), Cached::Known(Some(b"1".to_vec())));
        assert_eq!(c.get(Cf::Sub, b"s"), Cached::Known(None));
        assert_eq!(c.get(Cf::Reqs, b"r"), Cached::Unknown);
        let mut flush = Pending::default();
        flush.delete_range(Cf::Meta, vec![0], vec![1]);
        c.apply(flush);
        assert!(c.is_empty());
    }

    #[test]
    fn bounded_by_bytes_and_hot_entries_survive_a_generation() {
        let c = RecordCache::new(SHARDS * 2 * 10 * (ENTRY_OVERHEAD + 8));
        c.fill(Cf::Meta, b"hot", Some(b"v".to_vec()));
        for i in 0..1000u32 {
            c.fill(Cf::Meta, &i.to_be_bytes(), Some(b"x".to_vec()));
            // Touching "hot" keeps it in the young generation.
            assert_eq!(c.get(Cf::Meta, b"hot"), Cached::Known(Some(b"v".to_vec())));
        }
        assert!(c.len() <= SHARDS * (2 * 10 + 2), "{} entries", c.len());
        assert_eq!(c.get(Cf::Meta, &0u32.to_be_bytes()), Cached::Unknown);
        // A value larger than a generation is never kept, and no stale copy is left.
        c.fill(Cf::Meta, b"big", Some(b"a".to_vec()));
        c.fill(Cf::Meta, b"big", Some(vec![0; 10_000]));
        assert_eq!(c.get(Cf::Meta, b"big"), Cached::Unknown);
        c.fill(Cf::Meta, b"big", Some(b"a".to_vec()));
        let mut p = Pending::default();
        p.put(Cf::Meta, b"big".to_vec(), vec![0; 10_000]);
        c.apply(p);
        assert_eq!(c.get(Cf::Meta, b"big"), Cached::Unknown);
        // Nor is a value over MAX_VALUE, however large the cache.
        let roomy = RecordCache::new(1 << 30);
        roomy.fill(Cf::Sub, b"chunk", Some(vec![1; MAX_VALUE]));
        assert_eq!(
            roomy.get(Cf::Sub, b"chunk"),
            Cached::Known(Some(vec![1; MAX_VALUE]))
        );
        let mut p = Pending::default();
        p.put(Cf::Sub, b"chunk".to_vec(), vec![2; MAX_VALUE + 1]);
        roomy.apply(p);
        assert_eq!(roomy.get(Cf::Sub, b"chunk"), Cached::Unknown);
        let off = RecordCache::new(0);
        off.fill(Cf::Meta, b"a", None);
        assert_eq!(off.get(Cf::Meta, b"a"), Cached::Unknown);
    }

    #[test]
    fn a_group_in_commit_hides_its_keys_and_moves_the_epoch() {
        let c = RecordCache::new(1 << 20);
        c.fill(Cf::Meta, b"a", Some(b"old".to_vec()));
        c.fill(Cf::Meta, b"b", Some(b"b".to_vec()));
        let e0 = c.epoch();
        let mut p = Pending::default();
        p.put(Cf::Meta, b"a".to_vec(), b"new".to_vec());
        c.begin_commit(&p);
        assert_eq!(
            c.get(Cf::Meta, b"a"),
            Cached::Unknown,
            "readers go to RocksDB meanwhile"
        );
        assert_eq!(c.get(Cf::Meta, b"b"), Cached::Known(Some(b"b".to_vec())));
        // A reader that started before the commit must not put back what it read.
        c.fill_if(e0, Cf::Meta, b"a", Some(b"old".to_vec()));
        assert_eq!(c.get(Cf::Meta, b"a"), Cached::Unknown);
        let e1 = c.epoch();
        c.fill_if(e1, Cf::Meta, b"a", Some(b"old".to_vec()));
        assert_eq!(
            c.get(Cf::Meta, b"a"),
            Cached::Unknown,
            "no fills while a group commits"
        );
        c.end_commit(Some(&mut p));
        let e2 = c.epoch();
        assert!(e0 != e1 && e1 != e2 && e2.is_multiple_of(2));
        assert_eq!(c.get(Cf::Meta, b"a"), Cached::Known(Some(b"new".to_vec())));
        assert!(
            p.entries(Cf::Meta).is_empty(),
            "the records moved into the cache"
        );
        // A failed commit leaves the keys out.
        let mut p = Pending::default();
        p.put(Cf::Meta, b"a".to_vec(), b"newer".to_vec());
        c.begin_commit(&p);
        c.end_commit(None);
        assert_eq!(c.get(Cf::Meta, b"a"), Cached::Unknown);
        c.fill_if(c.epoch(), Cf::Meta, b"a", Some(b"x".to_vec()));
        assert_eq!(c.get(Cf::Meta, b"a"), Cached::Known(Some(b"x".to_vec())));
    }
}
