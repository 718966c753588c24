//! An engine held in memory: ordered maps behind one lock, for tests and model checks.
//!
//! Owns the committed tables (one `BTreeMap` per column family) and their [`Services`].
//! A commit replaces the tables copy-on-write, so a [`MemorySnapshot`] is one `Arc` clone
//! and keeps seeing the commit it was taken at while later commits go on. It keeps
//! nothing across a restart and has no durability policy: it exists so that Redis
//! semantics can be tested against the seam at thousands of cases a second, and to show
//! what the traits ask of an engine. It passes the same [`crate::conformance`] checks as
//! storaged's RocksDB engine.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::{gc, now_ms, Cf, Counts, EngineError, KvEngine, Pending, Services, StoreRead};

type Table = BTreeMap<Vec<u8>, Vec<u8>>;

/// One committed state: a table per column family, indexed by [`Cf::index`].
#[derive(Debug, Clone, Default)]
struct Tables([Table; 3]);

impl Tables {
    fn table(&self, cf: Cf) -> &Table {
        &self.0[cf.index()]
    }
}

/// A cheap, cloneable handle to one in-memory database; clones share it.
#[derive(Debug, Clone, Default)]
pub struct MemoryEngine {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tables: RwLock<Arc<Tables>>,
    services: Services,
}

impl MemoryEngine {
    /// An empty database.
    pub fn new() -> MemoryEngine {
        MemoryEngine::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Arc<Tables>> {
        // A panic while holding the lock cannot leave a half-applied commit: commits
        // build nothing in place that a reader could see half of (see `commit`).
        match self.inner.tables.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn write(&self) -> RwLockWriteGuard<'_, Arc<Tables>> {
        match self.inner.tables.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The latest committed tables, shared until the next commit replaces them.
    fn current(&self) -> Arc<Tables> {
        Arc::clone(&self.read())
    }

    /// Number of records in `cf` (for tests that check what garbage collection left).
    pub fn len(&self, cf: Cf) -> usize {
        self.read().table(cf).len()
    }

    /// True when no column family holds a record.
    pub fn is_empty(&self) -> bool {
        Cf::ALL.into_iter().all(|cf| self.len(cf) == 0)
    }
}

/// A point-in-time view of a [`MemoryEngine`]: the tables of one commit.
#[derive(Debug)]
pub struct MemorySnapshot<'a> {
    tables: Arc<Tables>,
    services: &'a Services,
}

fn range<'t>(
    t: &'t Table,
    start: &[u8],
    end: &[u8],
) -> impl DoubleEndedIterator<Item = (&'t Vec<u8>, &'t Vec<u8>)> {
    // `BTreeMap::range` panics on an inverted range; an empty one is what the trait means.
    let (start, end) = if start <= end {
        (start, end)
    } else {
        (start, start)
    };
    t.range::<[u8], _>((Bound::Included(start), Bound::Excluded(end)))
}

fn scan_table(
    t: &Table,
    start: &[u8],
    end: &[u8],
    visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> Result<(), EngineError> {
    for (k, v) in range(t, start, end) {
        if !visit(k, v) {
            break;
        }
    }
    Ok(())
}

fn last_in(t: &Table, start: &[u8], end: &[u8]) -> Option<Vec<u8>> {
    range(t, start, end).next_back().map(|(k, _)| k.clone())
}

impl StoreRead for MemoryEngine {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        Ok(self.read().table(cf).get(key).cloned())
    }

    fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        // Visit a snapshot, not under the lock: `visit` may be slow or read again.
        scan_table(self.current().table(cf), start, end, visit)
    }

    fn last_key(&self, cf: Cf, start: &[u8], end: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        Ok(last_in(self.read().table(cf), start, end))
    }

    fn services(&self) -> &Services {
        &self.inner.services
    }

    fn counts(&self) -> Counts {
        self.inner.services.counts()
    }
}

impl StoreRead for MemorySnapshot<'_> {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        Ok(self.tables.table(cf).get(key).cloned())
    }

    fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        scan_table(self.tables.table(cf), start, end, visit)
    }

    fn last_key(&self, cf: Cf, start: &[u8], end: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        Ok(last_in(self.tables.table(cf), start, end))
    }

    fn services(&self) -> &Services {
        self.services
    }

    fn counts(&self) -> Counts {
        self.services.counts()
    }
}

impl KvEngine for MemoryEngine {
    type Snapshot<'a> = MemorySnapshot<'a>;

    fn snapshot(&self) -> MemorySnapshot<'_> {
        MemorySnapshot {
            tables: self.current(),
            services: &self.inner.services,
        }
    }

    fn commit(&self, mut pending: Pending) -> Result<(), EngineError> {
        if pending.is_empty() {
            return Ok(());
        }
        let mut guard = self.write();
        // Copies the tables only while a snapshot still holds the old ones.
        let tables = Arc::make_mut(&mut guard);
        for cf in Cf::ALL {
            let table = &mut tables.0[cf.index()];
            for (start, end) in pending.ranges(cf) {
                if start < end {
                    let mut inside = table.split_off::<[u8]>(start);
                    let mut after = inside.split_off::<[u8]>(end);
                    table.append(&mut after);
                }
            }
            for (k, v) in pending.take_entries(cf) {
                match v {
                    Some(v) => table.insert(k, v),
                    None => table.remove(&k),
                };
            }
        }
        Ok(())
    }

    fn compact(&self) -> Result<(), EngineError> {
        let now = now_ms();
        let floor = self.inner.services.unsettled_floor();
        let mut guard = self.write();
        let tables = Arc::make_mut(&mut guard);
        let [meta, sub, _] = &mut tables.0;
        sub.retain(|raw, _| match gc::owner_meta_key(raw) {
            Some((key, meta_key)) => {
                !gc::collectable(&key, meta.get(&meta_key).map(Vec::as_slice), now, &floor)
            }
            None => true,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_does_not_copy_until_a_commit_needs_it() {
        let e = MemoryEngine::new();
        let mut p = Pending::default();
        p.put(Cf::Meta, b"a".to_vec(), b"1".to_vec());
        e.commit(p).unwrap();
        let before = e.current();
        assert!(Arc::ptr_eq(&before, &e.snapshot().tables));
        drop(before);
        assert_eq!(e.len(Cf::Meta), 1);
        assert!(!e.is_empty());
        assert!(MemoryEngine::new().is_empty());
    }
}
