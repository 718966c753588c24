//! What garbage collection may drop: the kvrocks SubKeyFilter rule, written once for
//! every engine (RocksDB runs it in a compaction filter, the memory engine in
//! [`crate::KvEngine::compact`]).
//!
//! Deleting or overwriting a collection is O(1): only its metadata record changes, and
//! its sub-keys (and index-space records) become unreachable because readers look them up
//! under the metadata's version. They are reclaimed later, by this rule. Readers never
//! depend on it running.

use crate::keys::{self, SubKey};
use crate::metadata::Header;

/// True when the sub-key `sub` is garbage given its key's metadata record now: there is
/// none (`meta` is `None`), it carries another version (the key was deleted and
/// recreated), or it has expired at `now_ms`. An undecodable metadata record keeps the
/// sub-key: a later pass can decide again once it is readable.
pub fn stale_sub_key(sub: &SubKey<'_>, meta: Option<&[u8]>, now_ms: u64) -> bool {
    match meta {
        None => true,
        Some(raw) => matches!(
            Header::decode(raw),
            Ok(h) if h.version != sub.version || h.is_expired(now_ms)
        ),
    }
}

/// [`stale_sub_key`], unless the sub-key's version is at or above `unsettled_from` (see
/// `Services::hold_unsettled`): what garbage collection may drop right now.
pub fn collectable(
    sub: &SubKey<'_>,
    meta: Option<&[u8]>,
    now_ms: u64,
    unsettled_from: &std::sync::atomic::AtomicU64,
) -> bool {
    sub.version < unsettled_from.load(std::sync::atomic::Ordering::Acquire)
        && stale_sub_key(sub, meta, now_ms)
}

/// The metadata key a raw sub-key belongs to, or `None` when `raw` is not a sub-key (then
/// garbage collection keeps it).
pub fn owner_meta_key(raw: &[u8]) -> Option<(SubKey<'_>, Vec<u8>)> {
    let sub = keys::decode_sub_key(raw)?;
    let meta = keys::meta_key(sub.db, sub.user_key);
    Some((sub, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::Record;

    #[test]
    fn sub_keys_of_missing_recreated_or_expired_keys_are_stale() {
        let raw = keys::sub_key(0, b"k", 7, b"field");
        let (sub, meta_key) = owner_meta_key(&raw).unwrap();
        assert_eq!(meta_key, keys::meta_key(0, b"k"));
        let live = Record::string(Vec::new(), 0, 7).encode();
        let other_version = Record::string(Vec::new(), 0, 8).encode();
        let expiring = Record::string(Vec::new(), 100, 7).encode();
        assert!(stale_sub_key(&sub, None, 0));
        assert!(!stale_sub_key(&sub, Some(&live), u64::MAX));
        assert!(stale_sub_key(&sub, Some(&other_version), 0));
        assert!(!stale_sub_key(&sub, Some(&expiring), 99));
        assert!(stale_sub_key(&sub, Some(&expiring), 100));
        assert!(!stale_sub_key(&sub, Some(&[1, 2]), 0), "undecodable: keep");
        assert!(owner_meta_key(&[0, 0, 0]).is_none());
    }

    #[test]
    fn held_versions_are_not_collectable_until_settled() {
        let services = crate::Services::new();
        let floor = services.unsettled_floor();
        let (old, new) = (
            keys::sub_key(0, b"k", 7, b"c"),
            keys::sub_key(0, b"k", 9, b"c"),
        );
        let (old, _) = owner_meta_key(&old).unwrap();
        let (new, _) = owner_meta_key(&new).unwrap();
        assert!(collectable(&new, None, 0, &floor));
        services.hold_unsettled(9);
        services.hold_unsettled(12);
        assert!(
            !collectable(&new, None, 0, &floor),
            "held: its metadata is on its way"
        );
        assert!(
            collectable(&old, None, 0, &floor),
            "older versions stay collectable"
        );
        services.settle();
        assert!(collectable(&new, None, 0, &floor));
    }
}
