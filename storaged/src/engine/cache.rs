//! The writer's record cache: committed metadata and sub-key records (or their absence) by
//! raw key, so the single writer thread does not search RocksDB's memtable skip list for
//! every key it reads before writing (the old record a SET replaces, the counter an INCR
//! adds to, the member an SADD checks). Profiles of pipelined SETs showed that search as the
//! largest single cost of the writer, which is tandem's throughput ceiling.
//!
//! Coherence is simple because only the writer writes: an entry is filled from a committed
//! read, and every committed write group is applied to it ([`RecordCache::apply`]) right
//! after RocksDB accepted the batch. A failed commit changes nothing. Range deletions
//! (FLUSHDB, FLUSHALL) clear it. Readers on other threads never use it.
//!
//! Bounded by bytes with two generations: entries go into `young`; when `young` holds half
//! the budget it becomes `old` and the previous `old` is dropped. A hit in `old` moves the
//! entry back to `young`, so what the writer touches stays, at O(1) per operation and no
//! per-entry bookkeeping. The `reqs` column family is never cached.

use std::collections::HashMap;

use super::{Cf, Pending};

/// Per-entry overhead counted against the budget besides key and value bytes.
const ENTRY_OVERHEAD: usize = 64;

/// One map per cached column family (`Meta`, `Sub`), so lookups borrow the key.
type Maps = [HashMap<Vec<u8>, Option<Vec<u8>>>; 2];

/// See the module docs.
#[derive(Debug)]
pub struct RecordCache {
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
        RecordCache {
            young: Default::default(),
            old: Default::default(),
            young_bytes: 0,
            half_budget: budget_bytes / 2,
        }
    }

    /// The committed record of `key`, if known.
    pub fn get(&mut self, cf: Cf, key: &[u8]) -> Cached {
        let Some(i) = slot(cf).filter(|_| self.half_budget > 0) else {
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

    /// Remembers a committed read.
    pub fn fill(&mut self, cf: Cf, key: &[u8], value: Option<Vec<u8>>) {
        if let Some(i) = slot(cf).filter(|_| self.half_budget > 0) {
            self.put(i, key.to_vec(), value);
        }
    }

    /// Applies a committed group: its puts and deletes become entries; a range deletion
    /// drops everything (only FLUSHDB and FLUSHALL delete ranges of cached families).
    pub fn apply(&mut self, pending: &Pending) {
        if self.half_budget == 0 {
            return;
        }
        for cf in [Cf::Meta, Cf::Sub] {
            if !pending.ranges(cf).is_empty() {
                self.clear();
            }
        }
        for (i, cf) in [Cf::Meta, Cf::Sub].into_iter().enumerate() {
            for (key, value) in pending.entries(cf) {
                self.old[i].remove(key);
                self.put(i, key.clone(), value.clone());
            }
        }
    }

    pub fn clear(&mut self) {
        for m in self.young.iter_mut().chain(self.old.iter_mut()) {
            m.clear();
        }
        self.young_bytes = 0;
    }

    /// Entries held (both generations).
    pub fn len(&self) -> usize {
        self.young.iter().chain(&self.old).map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn put(&mut self, i: usize, key: Vec<u8>, v: Option<Vec<u8>>) {
        let add = size(&key, &v);
        if add > self.half_budget {
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
        let mut c = RecordCache::new(1 << 20);
        assert_eq!(c.get(Cf::Meta, b"a"), Cached::Unknown);
        c.fill(Cf::Meta, b"a", None);
        assert_eq!(c.get(Cf::Meta, b"a"), Cached::Known(None));
        let mut p = Pending::default();
        p.put(Cf::Meta, b"a".to_vec(), b"1".to_vec());
        p.delete(Cf::Sub, b"s".to_vec());
        p.put(Cf::Reqs, b"r".to_vec(), b"x".to_vec());
        c.apply(&p);
        assert_eq!(c.get(Cf::Meta, b"a"), Cached::Known(Some(b"1".to_vec())));
        assert_eq!(c.get(Cf::Sub, b"s"), Cached::Known(None));
        assert_eq!(c.get(Cf::Reqs, b"r"), Cached::Unknown);
        let mut flush = Pending::default();
        flush.delete_range(Cf::Meta, vec![0], vec![1]);
        c.apply(&flush);
        assert!(c.is_empty());
    }

    #[test]
    fn bounded_by_bytes_and_hot_entries_survive_a_generation() {
        let mut c = RecordCache::new(2 * 10 * (ENTRY_OVERHEAD + 8));
        c.fill(Cf::Meta, b"hot", Some(b"v".to_vec()));
        for i in 0..1000u32 {
            c.fill(Cf::Meta, &i.to_be_bytes(), Some(b"x".to_vec()));
            // Touching "hot" keeps it in the young generation.
            assert_eq!(c.get(Cf::Meta, b"hot"), Cached::Known(Some(b"v".to_vec())));
        }
        assert!(c.len() <= 2 * 10 + 2, "{} entries", c.len());
        assert_eq!(c.get(Cf::Meta, &0u32.to_be_bytes()), Cached::Unknown);
        // A value larger than a generation is never kept, and no stale copy is left.
        c.fill(Cf::Meta, b"big", Some(b"a".to_vec()));
        c.fill(Cf::Meta, b"big", Some(vec![0; 10_000]));
        assert_eq!(c.get(Cf::Meta, b"big"), Cached::Unknown);
        let mut off = RecordCache::new(0);
        off.fill(Cf::Meta, b"a", None);
        assert_eq!(off.get(Cf::Meta, b"a"), Cached::Unknown);
    }
}
