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
