//! The key-counter record: the per-db key counters and the key-version clock, stored with
//! the writes they count (see `docs/ENCODING.md`, "Counters", which this file must match).
//!
//! Owns the record's key and byte layout. A write group that changes a counter (or hands
//! out a key version above the stored bound) puts this record into its own commit, so the record and the keys
//! it counts are applied atomically and an engine reopened after any crash reads the
//! counters instead of counting every key. It knows nothing of when a group commits or how
//! an engine stores it: pure functions over bytes.

use crate::keys::DB_COUNT;
use crate::Counts;

/// The record's key in the `meta` column family. Its first byte is above every db byte
/// (`DB_COUNT` ≤ 255), so no database's key range, scan or FLUSHALL ever covers it.
pub const KEY: &[u8] = b"\xfftandem-key-counters";

/// How far above the last version handed out a stored record puts the clock. Versions
/// are `max(now µs, last + 1)`, so they advance about a million a second even when no
/// counter changes (every SET takes a new version): storing a bound this far ahead (about
/// 17 s of the clock) lets a group that only overwrites keys skip the record until the
/// clock passes the bound. After a restart the clock resumes at the bound, a harmless
/// jump (versions need only grow).
pub const VERSION_HEADROOM: u64 = 1 << 24;

const MAGIC: &[u8] = b"tkc1";
/// One entry: db byte, keys u64 BE, expiring keys u64 BE.
const ENTRY_LEN: usize = 1 + 8 + 8;

/// The counters and the key-version clock as one group left them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Record {
    pub counts: Counts,
    /// At least the largest key version stored (the clock resumes above it).
    pub last_version: u64,
}

impl Record {
    /// `"tkc1" | last_version u64 BE | (db u8 | keys u64 BE | expires u64 BE)*`, one entry
    /// per database whose counters are not both zero, in db order (typically one or two
    /// entries: the record stays a few dozen bytes, put once per group commit).
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(MAGIC.len() + 8 + 2 * ENTRY_LEN);
        v.extend_from_slice(MAGIC);
        v.extend_from_slice(&self.last_version.to_be_bytes());
        for db in 0..DB_COUNT {
            let i = usize::from(db);
            let (keys, expires) = (self.counts.keys[i], self.counts.expires[i]);
            if keys != 0 || expires != 0 {
                v.push(db);
                v.extend_from_slice(&keys.to_be_bytes());
                v.extend_from_slice(&expires.to_be_bytes());
            }
        }
        v
    }

    /// Parses [`Record::encode`]'s bytes; `None` for anything else (another magic, a torn
    /// length, a db byte out of range or repeated).
    pub fn decode(v: &[u8]) -> Option<Record> {
        let rest = v.strip_prefix(MAGIC)?;
        let (version, mut entries) = rest.split_first_chunk::<8>()?;
        let mut r = Record {
            counts: Counts::default(),
            last_version: u64::from_be_bytes(*version),
        };
        let mut seen = [false; DB_COUNT as usize];
        while !entries.is_empty() {
            let (entry, more) = entries.split_first_chunk::<ENTRY_LEN>()?;
            let i = usize::from(entry[0]);
            if i >= seen.len() || seen[i] {
                return None;
            }
            seen[i] = true;
            let word = |at: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&entry[at..at + 8]);
                u64::from_be_bytes(b)
            };
            r.counts.keys[i] = word(1);
            r.counts.expires[i] = word(9);
            entries = more;
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_stays_small() {
        let mut r = Record {
            last_version: 0x0102_0304_0506_0708,
            ..Record::default()
        };
        assert_eq!(Record::decode(&r.encode()), Some(r));
        assert_eq!(r.encode().len(), 12, "no entry for empty databases");
        r.counts.keys[0] = 5;
        r.counts.keys[15] = u64::MAX;
        r.counts.expires[15] = 3;
        let v = r.encode();
        assert_eq!(v.len(), 12 + 2 * ENTRY_LEN);
        assert_eq!(Record::decode(&v), Some(r));
    }

    #[test]
    fn refuses_what_it_did_not_write() {
        let mut r = Record::default();
        r.counts.keys[2] = 1;
        let v = r.encode();
        assert_eq!(Record::decode(&v[..v.len() - 1]), None, "torn entry");
        assert_eq!(Record::decode(&v[..10]), None, "torn version");
        assert_eq!(Record::decode(b"tsc1\0\0\0\0\0\0\0\0"), None, "other magic");
        let mut bad_db = v.clone();
        bad_db[12] = DB_COUNT;
        assert_eq!(Record::decode(&bad_db), None);
        let mut twice = v.clone();
        twice.extend_from_slice(&v[12..]);
        assert_eq!(Record::decode(&twice), None);
    }

    #[test]
    fn key_is_outside_every_database() {
        let (_, end) = crate::keys::all_dbs_range();
        assert!(KEY > end.as_slice());
        assert_eq!(
            crate::keys::decode_meta_key(KEY).map(|(db, _)| db),
            Some(0xff)
        );
    }
}
