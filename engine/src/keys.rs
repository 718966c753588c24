//! Byte layout of the engine's keys (see `docs/ENCODING.md`, which this file must match).
//!
//! Owns the encoding of metadata keys (`meta` column family) and sub-keys (`sub` column
//! family) and the key ranges that cover one database. It knows nothing of values,
//! expiry or RocksDB itself: pure functions over bytes.

/// Number of logical databases; the db byte is always below this.
pub const DB_COUNT: u8 = tandem_shared::DATABASES;

/// Metadata key: `db | user_key`.
pub fn meta_key(db: u8, user_key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + user_key.len());
    k.push(db);
    k.extend_from_slice(user_key);
    k
}

/// Splits a metadata key into `(db, user_key)`. `None` only for the empty key, which
/// this engine never writes.
pub fn decode_meta_key(raw: &[u8]) -> Option<(u8, &[u8])> {
    let (&db, user_key) = raw.split_first()?;
    Some((db, user_key))
}

/// The `[start, end)` range holding every key of `db` in either column family: both
/// layouts start with the db byte.
pub fn db_range(db: u8) -> (Vec<u8>, Vec<u8>) {
    (vec![db], vec![db + 1])
}

/// The range covering every database.
pub fn all_dbs_range() -> (Vec<u8>, Vec<u8>) {
    (vec![0], vec![DB_COUNT])
}

/// Sub-key: `db | key_len: u32 BE | user_key | version: u64 BE | sub_key`.
///
/// The length prefix keeps one key's sub-keys apart from those of any key that has it as
/// a prefix (`a` vs `ab`), so `sub_prefix` ranges never overlap.
pub fn sub_key(db: u8, user_key: &[u8], version: u64, sub: &[u8]) -> Vec<u8> {
    let mut k = sub_prefix(db, user_key, version);
    k.extend_from_slice(sub);
    k
}

/// The common prefix of every sub-key of one key at one version.
///
/// # Panics
/// If `user_key` is longer than `u32::MAX` bytes, which the 512 MB key limit excludes.
pub fn sub_prefix(db: u8, user_key: &[u8], version: u64) -> Vec<u8> {
    let len = u32::try_from(user_key.len()).expect("user keys are bounded far below 4 GiB");
    let mut k = Vec::with_capacity(1 + 4 + user_key.len() + 8 + 16);
    k.push(db);
    k.extend_from_slice(&len.to_be_bytes());
    k.extend_from_slice(user_key);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// Bit 31 of a sub-key's `key_len` marks a record of the key's *index space*: the same
/// layout as its sub-keys, kept apart from them because members and fields are arbitrary
/// bytes (no suffix could be reserved). User keys are at most 512 MiB, so the bit is free.
/// A set's slot index lives there (see `types/set.rs`).
pub const INDEX_SPACE: u32 = 1 << 31;

/// The common prefix of every index-space record of one key at one version:
/// `db | key_len | INDEX_SPACE : u32 BE | user_key | version: u64 BE`. The compaction
/// filter reclaims these records by the same version rule as sub-keys.
///
/// # Panics
/// As [`sub_prefix`].
pub fn index_prefix(db: u8, user_key: &[u8], version: u64) -> Vec<u8> {
    let mut k = sub_prefix(db, user_key, version);
    k[1] |= 0x80;
    k
}

/// An index-space record: [`index_prefix`] then `sub`.
pub fn index_key(db: u8, user_key: &[u8], version: u64, sub: &[u8]) -> Vec<u8> {
    let mut k = index_prefix(db, user_key, version);
    k.extend_from_slice(sub);
    k
}

/// A decoded sub-key, borrowing from the raw bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct SubKey<'a> {
    pub db: u8,
    pub user_key: &'a [u8],
    pub version: u64,
    pub sub: &'a [u8],
}

/// Parses a sub-key or an index-space record (the two differ only in [`INDEX_SPACE`]);
/// `None` if the bytes are not one (too short or inconsistent length).
pub fn decode_sub_key(raw: &[u8]) -> Option<SubKey<'_>> {
    let (&db, rest) = raw.split_first()?;
    let len_bytes: [u8; 4] = rest.get(..4)?.try_into().ok()?;
    let len = (u32::from_be_bytes(len_bytes) & !INDEX_SPACE) as usize;
    let rest = &rest[4..];
    let user_key = rest.get(..len)?;
    let rest = &rest[len..];
    let version_bytes: [u8; 8] = rest.get(..8)?.try_into().ok()?;
    Some(SubKey {
        db,
        user_key,
        version: u64::from_be_bytes(version_bytes),
        sub: &rest[8..],
    })
}

/// The smallest byte string greater than every string starting with `prefix`, or `None`
/// when no such bound exists (all bytes 0xff): an exclusive upper bound for prefix scans.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn meta_key_layout() {
        assert_eq!(meta_key(3, b"ab"), vec![3, b'a', b'b']);
        assert_eq!(decode_meta_key(&[3, b'a']), Some((3, &b"a"[..])));
        assert_eq!(decode_meta_key(&[]), None);
    }

    #[test]
    fn sub_key_layout() {
        let k = sub_key(1, b"k", 0x0102, b"f");
        assert_eq!(k, vec![1, 0, 0, 0, 1, b'k', 0, 0, 0, 0, 0, 0, 1, 2, b'f']);
        let d = decode_sub_key(&k).unwrap();
        assert_eq!(
            d,
            SubKey {
                db: 1,
                user_key: b"k",
                version: 0x0102,
                sub: b"f"
            }
        );
        assert_eq!(decode_sub_key(&k[..10]), None);
        // The index space: bit 31 of the length, decoded to the same key and version.
        let i = index_key(1, b"k", 0x0102, b"f");
        assert_eq!(
            i,
            vec![1, 0x80, 0, 0, 1, b'k', 0, 0, 0, 0, 0, 0, 1, 2, b'f']
        );
        assert_eq!(decode_sub_key(&i), Some(d));
        let p = sub_prefix(1, b"k", 0x0102);
        assert!(
            i >= prefix_end(&p).unwrap(),
            "index records sort apart from sub-keys"
        );
        assert_eq!(decode_sub_key(&[1, 0, 0, 0, 9, b'k']), None);
    }

    #[test]
    fn prefix_end_carries() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
    }

    proptest! {
        #[test]
        fn sub_key_round_trips(db in 0u8..16, key in proptest::collection::vec(any::<u8>(), 0..40),
                               version: u64, sub in proptest::collection::vec(any::<u8>(), 0..40)) {
            let raw = sub_key(db, &key, version, &sub);
            let d = decode_sub_key(&raw).unwrap();
            prop_assert_eq!(d, SubKey { db, user_key: &key, version, sub: &sub });
        }

        #[test]
        fn meta_keys_of_a_db_are_contiguous(db in 0u8..16, other in 0u8..16,
                                            a in proptest::collection::vec(any::<u8>(), 0..20),
                                            b in proptest::collection::vec(any::<u8>(), 0..20)) {
            let (start, end) = db_range(db);
            let ka = meta_key(db, &a);
            prop_assert!(ka >= start && ka < end);
            let kb = meta_key(other, &b);
            prop_assert_eq!(kb >= start && kb < end, other == db);
            // Order inside a db is the order of user keys.
            prop_assert_eq!(ka.cmp(&meta_key(db, &b)), a.cmp(&b));
        }

        #[test]
        fn sub_keys_of_one_version_are_contiguous(db in 0u8..16, key in proptest::collection::vec(any::<u8>(), 0..12),
                                                  other in proptest::collection::vec(any::<u8>(), 0..12),
                                                  version: u64, other_version: u64,
                                                  sub in proptest::collection::vec(any::<u8>(), 0..12)) {
            let prefix = sub_prefix(db, &key, version);
            let end = prefix_end(&prefix).unwrap();
            let mine = sub_key(db, &key, version, &sub);
            prop_assert!(mine >= prefix && mine < end);
            let theirs = sub_key(db, &other, other_version, &sub);
            let inside = theirs >= prefix && theirs < end;
            prop_assert_eq!(inside, other == key && other_version == version);
            let (ds, de) = db_range(db);
            prop_assert!(mine >= ds && mine < de);
        }
    }
}
