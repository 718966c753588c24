//! The logical → physical database map (`SWAPDB`, issue 18).
//!
//! Clients name logical databases (`SELECT 3`); records are stored under physical ones
//! (the `db` byte of every key layout in `docs/ENCODING.md`). `SWAPDB a b` exchanges two
//! entries of this map and writes the map's one record (`MAP_KEY`, in `meta`), so it is
//! O(1) whatever the databases hold, and no key, sub-key or compaction rule ever sees a
//! logical id: they all keep their physical one.
//!
//! Owns the map as every view of the engine sees it ([`Databases`], reached through
//! [`crate::Services::databases`]): the *published* map (that of the last commit, for
//! readers on any thread) and the writer's *pending* map (its group's, including a swap
//! not committed yet). Turning a request's database into a physical one is
//! `storaged`'s `dispatch::check_db`; this module decides nothing about Redis semantics
//! and does no I/O.
//!
//! The map is a permutation of `0..16`, four bits per logical database, so one atomic
//! word holds it.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::keys::DB_COUNT;

/// The map's record in `meta`: `0xff`-prefixed like the key-counter record, so it lies
/// outside every database's range (FLUSHALL's range deletion never reaches it).
pub const MAP_KEY: &[u8] = b"\xfftandem-db-map";

/// Format byte of the stored map (then 16 bytes: the physical id of logical 0, 1, …).
const MAP_FORMAT: u8 = 1;

/// A permutation of the databases: nibble `l` of the word is the physical id of logical
/// database `l`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbMap(u64);

impl Default for DbMap {
    fn default() -> DbMap {
        DbMap::IDENTITY
    }
}

impl DbMap {
    /// Every logical database stored under its own id (a directory no SWAPDB touched).
    pub const IDENTITY: DbMap = DbMap(0xFEDC_BA98_7654_3210);

    /// The physical id of `logical`; ids outside the databases pass unchanged.
    pub fn physical(self, logical: u8) -> u8 {
        if logical >= DB_COUNT {
            return logical;
        }
        ((self.0 >> (4 * u32::from(logical))) & 0xf) as u8
    }

    /// The logical database stored under `physical`; ids outside the databases (the
    /// `0xff` records) pass unchanged.
    pub fn logical(self, physical: u8) -> u8 {
        (0..DB_COUNT)
            .find(|&l| self.physical(l) == physical)
            .unwrap_or(physical)
    }

    /// The map after `SWAPDB a b` (both below [`DB_COUNT`]; others are ignored).
    #[must_use]
    pub fn swapped(self, a: u8, b: u8) -> DbMap {
        if a >= DB_COUNT || b >= DB_COUNT || a == b {
            return self;
        }
        let (pa, pb) = (u64::from(self.physical(a)), u64::from(self.physical(b)));
        let (sa, sb) = (4 * u32::from(a), 4 * u32::from(b));
        let cleared = self.0 & !(0xf << sa) & !(0xf << sb);
        DbMap(cleared | (pb << sa) | (pa << sb))
    }

    pub fn is_identity(self) -> bool {
        self == DbMap::IDENTITY
    }

    /// The stored form: the format byte, then the physical id of each logical database.
    pub fn encode(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + usize::from(DB_COUNT));
        out.push(MAP_FORMAT);
        out.extend((0..DB_COUNT).map(|l| self.physical(l)));
        out
    }

    /// Reads [`DbMap::encode`]'s form; `None` for anything else (wrong length or format,
    /// or not a permutation of the databases).
    pub fn decode(raw: &[u8]) -> Option<DbMap> {
        let (&format, ids) = raw.split_first()?;
        if format != MAP_FORMAT || ids.len() != usize::from(DB_COUNT) {
            return None;
        }
        let mut seen = 0u32;
        let mut word = 0u64;
        for (l, &p) in ids.iter().enumerate() {
            if p >= DB_COUNT || seen & (1 << p) != 0 {
                return None;
            }
            seen |= 1 << p;
            word |= u64::from(p) << (4 * l);
        }
        Some(DbMap(word))
    }
}

/// The map as the engine's views share it; see the module docs. Every method takes
/// `&self`; only the writer thread calls the `pending` ones.
#[derive(Debug)]
pub struct Databases {
    /// The map of the last commit: what readers use.
    published: AtomicU64,
    /// The writer's map, ahead of `published` while its group holds an uncommitted swap.
    pending: AtomicU64,
    /// Bumped each time `published` changes, so a reader can tell that its request
    /// straddled a swap.
    generation: AtomicU64,
}

impl Default for Databases {
    fn default() -> Databases {
        Databases::new()
    }
}

impl Databases {
    /// The identity map (a new directory).
    pub fn new() -> Databases {
        Databases {
            published: AtomicU64::new(DbMap::IDENTITY.0),
            pending: AtomicU64::new(DbMap::IDENTITY.0),
            generation: AtomicU64::new(0),
        }
    }

    /// Sets the map an engine found stored when it opened (before any view runs).
    pub fn restore(&self, map: DbMap) {
        self.pending.store(map.0, Ordering::Release);
        self.published.store(map.0, Ordering::Release);
    }

    /// The committed map, for readers.
    pub fn published(&self) -> DbMap {
        DbMap(self.published.load(Ordering::Acquire))
    }

    /// How many times the committed map has changed since open.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The writer's map: the committed one plus its group's swaps so far.
    pub fn pending(&self) -> DbMap {
        DbMap(self.pending.load(Ordering::Acquire))
    }

    /// Records a swap in the writer's group (stored with the group's commit by the caller).
    pub fn set_pending(&self, map: DbMap) {
        self.pending.store(map.0, Ordering::Release);
    }

    /// Ends the writer's group: a committed group's map becomes the readers'; a failed
    /// group's swaps are forgotten (nothing of it was stored).
    pub fn settle(&self, committed: bool) {
        let pending = self.pending.load(Ordering::Acquire);
        let published = self.published.load(Ordering::Acquire);
        if pending == published {
            return;
        }
        if committed {
            self.published.store(pending, Ordering::Release);
            self.generation.fetch_add(1, Ordering::AcqRel);
        } else {
            self.pending.store(published, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_maps_every_database_to_itself() {
        let m = DbMap::IDENTITY;
        for d in 0..DB_COUNT {
            assert_eq!(m.physical(d), d);
            assert_eq!(m.logical(d), d);
        }
        assert_eq!(m.physical(0xff), 0xff);
        assert_eq!(m.logical(0xff), 0xff);
    }

    #[test]
    fn swaps_compose_and_invert() {
        let m = DbMap::IDENTITY.swapped(0, 1).swapped(1, 15);
        // logical 0 → 1, logical 1 → 15 (was 0's ... then swapped with 15's)
        assert_eq!(m.physical(0), 1);
        assert_eq!(m.physical(1), 15);
        assert_eq!(m.physical(15), 0);
        for l in 0..DB_COUNT {
            assert_eq!(m.logical(m.physical(l)), l);
        }
        assert_eq!(m.swapped(1, 15).swapped(0, 1), DbMap::IDENTITY);
        assert_eq!(m.swapped(3, 3), m);
        assert_eq!(m.swapped(3, 16), m);
    }

    #[test]
    fn stored_form_round_trips_and_refuses_garbage() {
        let m = DbMap::IDENTITY.swapped(2, 9).swapped(0, 9);
        assert_eq!(DbMap::decode(&m.encode()), Some(m));
        let mut twice = m.encode();
        twice[1] = twice[2];
        assert_eq!(DbMap::decode(&twice), None);
        assert_eq!(DbMap::decode(&m.encode()[..16]), None);
        let mut other = m.encode();
        other[0] = 2;
        assert_eq!(DbMap::decode(&other), None);
        let mut high = m.encode();
        high[5] = 16;
        assert_eq!(DbMap::decode(&high), None);
    }

    #[test]
    fn pending_swaps_publish_on_commit_and_vanish_on_failure() {
        let d = Databases::new();
        d.set_pending(DbMap::IDENTITY.swapped(0, 1));
        assert_eq!(d.published(), DbMap::IDENTITY);
        d.settle(false);
        assert_eq!(d.pending(), DbMap::IDENTITY);
        assert_eq!(d.generation(), 0);
        d.set_pending(DbMap::IDENTITY.swapped(0, 1));
        d.settle(true);
        assert_eq!(d.published(), DbMap::IDENTITY.swapped(0, 1));
        assert_eq!(d.generation(), 1);
        d.settle(true);
        assert_eq!(d.generation(), 1, "nothing changed");
    }
}
