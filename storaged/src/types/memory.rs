//! `MEMORY USAGE`: an estimate of the bytes one key and its value take.
//!
//! Redis reports its in-memory footprint; tandem's value lives in RocksDB, so the estimate
//! is the stored bytes (key, metadata record, sub-records) plus the fixed overhead Redis
//! charges per key, which keeps the numbers in the range clients and tools expect. Like
//! Redis, a collection is sampled: the first `samples` sub-records (0: every one) give an
//! average that is scaled by the element count, so the cost is bounded by `samples`, not by
//! the collection's size. Owns no state and writes nothing.

use tandem_shared::Reply;

use super::{lookup_read, At, CmdResult};
use crate::engine::keys;
use crate::engine::metadata::KeyType;
use crate::engine::{Cf, StoreRead};

/// Redis's per-key overhead (dict entry, key and value object headers), in bytes.
const KEY_OVERHEAD: u64 = 48;
/// Per-element overhead of a collection entry (a dict or skiplist node).
const ELEMENT_OVERHEAD: u64 = 16;

/// `MEMORY USAGE key [SAMPLES n]`: an integer, or nil when the key does not exist.
pub fn usage<S: StoreRead + ?Sized>(s: &S, at: At, key: &[u8], samples: u64) -> CmdResult {
    let Some(record) = lookup_read(s, at, key)? else {
        return Ok(Reply::Nil);
    };
    let mut bytes = KEY_OVERHEAD + key.len() as u64;
    if record.kind == KeyType::String {
        bytes += (record.payload.len() as u64).max(record.size);
        return Ok(Reply::Integer(i64::try_from(bytes).unwrap_or(i64::MAX)));
    }
    let prefix = keys::sub_prefix(at.db, key, record.version);
    let end = keys::prefix_end(&prefix).unwrap_or_default();
    let (mut seen, mut total) = (0u64, 0u64);
    s.scan(Cf::Sub, &prefix, &end, &mut |k, v| {
        seen += 1;
        total += (k.len() - prefix.len() + v.len()) as u64 + ELEMENT_OVERHEAD;
        samples == 0 || seen < samples
    })?;
    if seen > 0 {
        // Sub-records per element differ by type (a zset keeps a score index too); the
        // sampled average already includes them in proportion.
        let per_element = total.div_ceil(seen);
        let elements = record.size.max(seen);
        bytes = bytes.saturating_add(per_element.saturating_mul(elements));
    }
    Ok(Reply::Integer(i64::try_from(bytes).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::testing::TestDb;
    use crate::types::{hash, string};

    const PLAIN: string::SetOptions = string::SetOptions::PLAIN;

    fn usage_of(db: &TestDb, key: &str, samples: u64) -> Option<i64> {
        match db.read(|s, at| usage(s, at, key.as_bytes(), samples)) {
            Ok(Reply::Integer(n)) => Some(n),
            Ok(Reply::Nil) => None,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn missing_key_is_nil_and_sizes_follow_the_value() {
        let mut db = TestDb::open();
        assert_eq!(usage_of(&db, "nokey", 5), None);
        db.write(|w, at| string::set(w, at, b"small", b"x", PLAIN))
            .expect("set");
        db.write(|w, at| string::set(w, at, b"big", &[b'y'; 10_000], PLAIN))
            .expect("set");
        let small = usage_of(&db, "small", 5).expect("exists");
        let big = usage_of(&db, "big", 5).expect("exists");
        assert!(small > 0 && small < 200, "{small}");
        assert!((10_000..11_000).contains(&big), "{big}");
    }

    #[test]
    fn collections_are_sampled_and_scaled_by_their_size() {
        let mut db = TestDb::open();
        let fields: Vec<(Vec<u8>, Vec<u8>)> = (0..1000)
            .map(|i| (format!("field:{i:04}").into_bytes(), vec![b'v'; 20]))
            .collect();
        db.write(|w, at| {
            hash::hset(
                w,
                at,
                b"h",
                fields.iter().map(|(f, v)| (f.as_slice(), v.as_slice())),
            )
        })
        .expect("hset");
        let all = usage_of(&db, "h", 0).expect("exists");
        let sampled = usage_of(&db, "h", 5).expect("exists");
        // 1000 fields of 10 + 20 bytes each, plus per-element overhead.
        assert!((30_000..100_000).contains(&all), "{all}");
        // Every field has the same size, so five samples extrapolate to the same total.
        assert!((all - sampled).abs() <= 1000, "{all} vs {sampled}");
    }
}
