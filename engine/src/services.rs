//! The state every view of an engine shares that is not stored data.
//!
//! Owns SCAN cursor memory, the random number generator, the key-version clock, the
//! published per-db key counters, keyspace statistics and the unsettled-version floor
//! garbage collection must respect ([`Services::hold_unsettled`]). An engine creates one
//! [`Services`] when it opens (restoring the clock and counters from what it stores) and
//! hands it to every view through [`crate::StoreRead::services`]; `types/` reach these
//! through that handle only, never through the engine that stores the data.
//!
//! Everything here is in the process's memory: a remote or replicated engine would need
//! the clock and the counters to come from the engine instead (see `docs/ARCHITECTURE.md`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::databases::Databases;
use crate::keys::DB_COUNT;
use crate::{now_micros, Counts};

/// How many SCAN cursors are remembered; the oldest is forgotten first. A forgotten
/// cursor ends that scan early (reply cursor 0) rather than restarting it, so a client
/// can never loop forever.
pub const SCAN_CURSORS_MAX: usize = 16 * 1024;

/// See the module docs. Shared by reference (or inside the engine's `Arc`); every method
/// takes `&self` and may be called from any thread.
#[derive(Debug)]
pub struct Services {
    keys: [AtomicU64; DB_COUNT as usize],
    expires: [AtomicU64; DB_COUNT as usize],
    stats: Stats,
    last_version: AtomicU64,
    /// The version clock as the stored key-counter record has it ([`crate::counters`]).
    recorded_version: AtomicU64,
    cursors: Mutex<CursorMap>,
    rng: AtomicU64,
    /// Sub-keys of this version and above are kept by garbage collection whatever their
    /// metadata says (`u64::MAX`: none held). Shared with the engine's compaction filter.
    unsettled_from: Arc<AtomicU64>,
    /// The logical → physical database map (SWAPDB).
    databases: Databases,
}

#[derive(Debug, Default)]
struct CursorMap {
    next_id: u64,
    order: VecDeque<u64>,
    map: HashMap<u64, (u8, Vec<u8>)>,
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
    /// Blocking pops parked by the writer right now, across every proxy.
    pub blocked_requests: AtomicU64,
    /// Requests run by the writer thread, groups it committed, and WriteBatches written to
    /// the WAL: `write_requests / wal_writes` is the group-commit efficiency.
    pub write_requests: AtomicU64,
    pub write_groups: AtomicU64,
    pub wal_writes: AtomicU64,
    /// The key counters came from the stored key-counter record ([`crate::counters`])
    /// rather than a scan at open.
    pub counters_restored: AtomicBool,
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

impl Default for Services {
    fn default() -> Services {
        Services::new()
    }
}

impl Services {
    /// Fresh services: zero counters and version clock, cursor ids and the generator
    /// seeded from the clock (so cursors of a previous run are unlikely to be recognised).
    pub fn new() -> Services {
        Services {
            keys: Default::default(),
            expires: Default::default(),
            stats: Stats::default(),
            last_version: AtomicU64::new(0),
            recorded_version: AtomicU64::new(0),
            cursors: Mutex::new(CursorMap {
                next_id: now_micros().max(1),
                ..Default::default()
            }),
            rng: AtomicU64::new(now_micros() | 1),
            unsettled_from: Arc::new(AtomicU64::new(u64::MAX)),
            databases: Databases::new(),
        }
    }

    /// Keeps the sub-keys of `version` (and newer) from garbage collection until
    /// [`Services::settle`]: a write group commits a large value's sub-keys ahead of the
    /// metadata record that names their version (`StoreWrite::put_unreachable`), and until
    /// that record is committed the rule of [`crate::gc`] would call them garbage.
    pub fn hold_unsettled(&self, version: u64) {
        self.unsettled_from.fetch_min(version, Ordering::AcqRel);
    }

    /// Ends every [`Services::hold_unsettled`]: the group that held them has committed (or
    /// failed, leaving what it wrote ahead unreachable, for garbage collection to take).
    pub fn settle(&self) {
        self.unsettled_from.store(u64::MAX, Ordering::Release);
    }

    /// The floor [`Services::hold_unsettled`] moves, for a compaction filter that runs
    /// on another thread and outlives no engine (read it with [`crate::gc::collectable`]).
    pub fn unsettled_floor(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.unsettled_from)
    }

    /// The logical → physical database map ([`crate::databases`]).
    pub fn databases(&self) -> &Databases {
        &self.databases
    }

    /// Keyspace statistics.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The published per-db counters: those of the last successful commit.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for i in 0..usize::from(DB_COUNT) {
            c.keys[i] = self.keys[i].load(Ordering::Relaxed);
            c.expires[i] = self.expires[i].load(Ordering::Relaxed);
        }
        c
    }

    /// Publishes the counters as a commit left them (or as an engine found them at open).
    pub fn publish_counts(&self, counts: &Counts) {
        for i in 0..usize::from(DB_COUNT) {
            self.keys[i].store(counts.keys[i], Ordering::Relaxed);
            self.expires[i].store(counts.expires[i], Ordering::Relaxed);
        }
    }

    /// A version for a new key: `max(now_micros, last + 1)`, so versions grow across
    /// restarts (see [`Services::restore_version`]) and clock steps alike.
    pub fn next_version(&self) -> u64 {
        let now = now_micros();
        let mut last = self.last_version.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match self.last_version.compare_exchange_weak(
                last,
                next,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }

    /// The last version handed out (or restored).
    pub fn last_version(&self) -> u64 {
        self.last_version.load(Ordering::SeqCst)
    }

    /// Sets the version clock to the largest version stored, at open, so no new key can
    /// reuse the version of a key whose stale sub-keys are still on disk.
    pub fn restore_version(&self, last: u64) {
        self.last_version.store(last, Ordering::SeqCst);
    }

    /// The last version the stored key-counter record holds: a group that handed out a
    /// later one must store the record again.
    pub fn recorded_version(&self) -> u64 {
        self.recorded_version.load(Ordering::SeqCst)
    }

    /// Notes that the stored key-counter record now holds `version` (after the commit that
    /// wrote it, or at open).
    pub fn note_recorded_version(&self, version: u64) {
        self.recorded_version.store(version, Ordering::SeqCst);
    }

    /// Remembers where a SCAN stopped and returns the cursor the client gets (never 0).
    pub fn save_cursor(&self, db: u8, resume_at: Vec<u8>) -> u64 {
        let mut c = match self.cursors.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        c.next_id = c.next_id.wrapping_add(1).max(1);
        let id = c.next_id;
        c.map.insert(id, (db, resume_at));
        c.order.push_back(id);
        while c.order.len() > SCAN_CURSORS_MAX {
            if let Some(old) = c.order.pop_front() {
                c.map.remove(&old);
            }
        }
        id
    }

    /// Where the SCAN with this cursor resumes: `(db, user key)`, or `None` if unknown.
    pub fn cursor(&self, id: u64) -> Option<(u8, Vec<u8>)> {
        let c = match self.cursors.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        c.map.get(&id).cloned()
    }

    /// A pseudo-random number (splitmix64 over a shared counter; random picks need no
    /// cryptographic quality). The counter step is one atomic add, so concurrent readers
    /// never draw the same number, as a load-then-store generator let them.
    pub fn random_u64(&self) -> u64 {
        const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut x = self
            .rng
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    /// A uniform number below `n` (0 when `n` is 0): draws below `2^64 mod n` are
    /// rejected, so no value is favoured by the modulo.
    pub fn random_below(&self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let skew = n.wrapping_neg() % n;
        loop {
            let x = self.random_u64();
            if x >= skew {
                return x % n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_strictly_increasing_and_restorable() {
        let s = Services::new();
        let mut last = 0;
        for _ in 0..1000 {
            let v = s.next_version();
            assert!(v > last);
            last = v;
        }
        s.restore_version(u64::MAX - 10);
        assert_eq!(s.next_version(), u64::MAX - 9);
        assert_eq!(s.last_version(), u64::MAX - 9);
    }

    #[test]
    fn cursor_memory_is_bounded() {
        let s = Services::new();
        let first = s.save_cursor(0, b"a".to_vec());
        assert_eq!(s.cursor(first), Some((0, b"a".to_vec())));
        for _ in 0..SCAN_CURSORS_MAX {
            s.save_cursor(0, b"b".to_vec());
        }
        assert_eq!(s.cursor(first), None);
        assert_ne!(s.save_cursor(1, Vec::new()), 0);
    }

    #[test]
    fn random_below_stays_below_and_reaches_every_value() {
        let s = Services::new();
        assert_eq!(s.random_below(0), 0);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            let x = s.random_below(7);
            seen[x as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 700), "{seen:?}");
    }

    #[test]
    fn counts_publish_and_read_back() {
        let s = Services::new();
        let mut c = Counts::default();
        c.keys[3] = 7;
        c.expires[3] = 2;
        s.publish_counts(&c);
        assert_eq!(s.counts(), c);
    }
}
