//! Background reclamation of expired keys.
//!
//! Expired keys are invisible at once (every read compares the expiry with the clock);
//! this module only frees their space and keeps `DBSIZE` honest. The writer thread calls
//! [`Sweeper::sweep`] inside a write group when idle: it walks the metadata column family
//! round-robin from where the previous call stopped and deletes expired records in that
//! group. Sub-keys of reclaimed collections are dropped later by the compaction filter.
//! It must not do unbounded work per call: the writer is blocked while it runs.
//!
//! The walk covers only the databases whose exact expiry counters are above zero, and
//! none at all when no key has an expiry: a data set without TTLs costs no idle reads.

use crate::engine::keys;
use crate::engine::metadata::Header;
use crate::engine::{Cf, StoreWrite};

/// Records examined per call for each key the caller allows to be reclaimed, so a call
/// with few expired keys among many live ones still returns promptly.
const EXAMINE_PER_BUDGET: usize = 16;
/// Lower bound on records examined per call.
const MIN_EXAMINED: usize = 256;

/// Remembers where the last sweep stopped.
#[derive(Debug, Default)]
pub struct Sweeper {
    /// Raw metadata key to resume from (inclusive); empty = the beginning.
    next: Vec<u8>,
}

impl Sweeper {
    pub fn new() -> Sweeper {
        Sweeper::default()
    }

    /// Deletes up to `budget` expired keys in `w`, counting them in `expired_keys`, and
    /// returns how many it deleted. Wraps around the keyspace at most once per call.
    ///
    /// # Errors
    /// An engine read failure; nothing is deleted by a failed call.
    pub fn sweep<W: StoreWrite + ?Sized>(
        &mut self,
        w: &mut W,
        now_ms: u64,
        budget: usize,
    ) -> Result<usize, crate::engine::EngineError> {
        if budget == 0 {
            return Ok(0);
        }
        let max_examined = budget.saturating_mul(EXAMINE_PER_BUDGET).max(MIN_EXAMINED);
        let counts = w.counts();
        let expiring = |db: &u8| counts.expires[usize::from(*db)] > 0;
        let (Some(first), Some(last)) = (
            (0..keys::DB_COUNT).find(expiring),
            (0..keys::DB_COUNT).rev().find(expiring),
        ) else {
            self.next.clear();
            return Ok(0);
        };
        let (all_start, all_end) = (vec![first], vec![last + 1]);
        if self.next < all_start || self.next >= all_end {
            self.next.clear();
        }
        let mut found: Vec<Vec<u8>> = Vec::new();
        let mut examined = 0usize;
        let mut resume: Option<Vec<u8>> = None;
        // First from the remembered position to the end, then (if that finished) from
        // the beginning up to the remembered position, so no record is seen twice.
        let passes = if self.next.is_empty() {
            vec![(all_start, all_end)]
        } else {
            vec![(self.next.clone(), all_end), (all_start, self.next.clone())]
        };
        for (from, to) in passes {
            w.scan(Cf::Meta, &from, &to, &mut |k, v| {
                if examined >= max_examined || found.len() >= budget {
                    resume = Some(k.to_vec());
                    return false;
                }
                examined += 1;
                if Header::decode(v).is_ok_and(|h| h.is_expired(now_ms)) {
                    found.push(k.to_vec());
                }
                true
            })?;
            if resume.is_some() {
                break;
            }
        }
        self.next = resume.unwrap_or_default();
        for raw in &found {
            if let Some((db, _)) = keys::decode_meta_key(raw) {
                w.counts_mut().record_change(db, Some(true), None);
            }
            w.delete(Cf::Meta, raw.clone());
        }
        w.note_expired(found.len() as u64);
        Ok(found.len())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use tandem_engine::{MemoryEngine, StoreRead};

    use super::*;
    use crate::engine::group::Writer;
    use crate::engine::metadata::Record;

    /// `n` string keys in `db`, expiring at `expire_at_ms` (0: never), committed.
    fn put_keys(writer: &mut Writer<MemoryEngine>, db: u8, n: usize, expire_at_ms: u64) {
        let mut g = writer.begin();
        for i in 0..n {
            let version = g.new_version();
            let raw = keys::meta_key(db, format!("k{expire_at_ms}-{i}").as_bytes());
            g.put(
                Cf::Meta,
                raw,
                Record::string(b"v".to_vec(), expire_at_ms, version).encode(),
            );
            g.counts_mut()
                .record_change(db, None, Some(expire_at_ms != 0));
        }
        g.commit().unwrap();
    }

    #[test]
    fn sweeps_reclaim_expired_keys_within_the_budget_and_resume_where_they_stopped() {
        let engine = MemoryEngine::new();
        let mut writer = Writer::new(engine.clone());
        put_keys(&mut writer, 0, 30, 0);
        put_keys(&mut writer, 0, 25, 1_000);
        put_keys(&mut writer, 4, 5, 1_000);
        put_keys(&mut writer, 4, 3, 5_000);
        let mut sweeper = Sweeper::new();
        let mut sweep = |now: u64, budget: usize| {
            let mut g = writer.begin();
            let n = sweeper.sweep(&mut g, now, budget).unwrap();
            g.commit().unwrap();
            n
        };
        assert_eq!(sweep(2_000, 0), 0, "no budget, no work");
        assert_eq!(sweep(2_000, 10), 10);
        assert_eq!(sweep(2_000, 10), 10);
        assert_eq!(sweep(2_000, 100), 10, "the rest of both databases");
        assert_eq!(
            sweep(2_000, 100),
            0,
            "the keys expiring at 5000 are still live"
        );
        let counts = engine.counts();
        assert_eq!((counts.keys[0], counts.expires[0]), (30, 0));
        assert_eq!((counts.keys[4], counts.expires[4]), (3, 3));
        let stats = engine.services().stats();
        assert_eq!(stats.expired_keys.load(Ordering::Relaxed), 30);
        assert_eq!(sweep(6_000, 100), 3);
        assert_eq!(engine.counts().expires, [0; keys::DB_COUNT as usize]);
        let mut left = 0;
        let (start, end) = keys::all_dbs_range();
        engine
            .scan(Cf::Meta, &start, &end, &mut |_, _| {
                left += 1;
                true
            })
            .unwrap();
        assert_eq!(left, 30, "only the keys without an expiry remain");
    }
}
