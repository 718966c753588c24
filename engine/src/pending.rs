//! The write overlay: what a write group has written and not yet committed.
//!
//! Owns the ordered per-column-family map of new values and deletions, the pending range
//! deletions, and the merge of both into reads of committed state. It knows nothing of
//! what the bytes mean and never touches an engine: the group reads committed state and
//! passes it in.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::{Cf, EngineError};

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

    /// The range deletions recorded for `cf`, in the order they were issued.
    pub fn ranges(&self, cf: Cf) -> &[(Vec<u8>, Vec<u8>)] {
        &self.ranges[cf.index()]
    }

    /// The new values (`None`: deleted) recorded for `cf`, in key order.
    pub fn entries(&self, cf: Cf) -> &BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        &self.entries[cf.index()]
    }

    /// Takes the group's entries of `cf` out, leaving none (after the commit, so they move
    /// into the record cache instead of being copied).
    pub fn take_entries(&mut self, cf: Cf) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        std::mem::take(&mut self.entries[cf.index()])
    }

    /// Puts back entries of `cf` taken by [`Pending::take_entries`].
    pub fn restore_entries(&mut self, cf: Cf, entries: BTreeMap<Vec<u8>, Option<Vec<u8>>>) {
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
}
