//! What every engine behind the seam must do, as checks generic over [`KvEngine`].
//!
//! Each check takes a fresh, empty engine and panics on the first difference from the
//! contract in [`crate::StoreRead`] and [`KvEngine`]. tandem-engine's tests run
//! [`run_all`] on the [`crate::MemoryEngine`]; storaged's tests run it on the RocksDB
//! engine, so both engines are held to the same behaviour. A new engine (a remote one,
//! say) gets its conformance run the same way before anything is built on it.
//!
//! The checks use a fixed-seed generator, not the test framework: they must be callable
//! from any crate's tests.

use crate::keys;
use crate::metadata::Record;
use crate::{Cf, KvEngine, Overlay, Pending, StoreRead};

/// Runs every check of this module, each on a new engine from `fresh`.
///
/// # Panics
/// On the first engine behaviour that breaks the contract.
pub fn run_all<E: KvEngine>(mut fresh: impl FnMut() -> E) {
    point_reads(&fresh());
    ordered_bounded_scans(&fresh());
    range_deletions_then_entries(&fresh());
    snapshots_hold_one_commit(&fresh());
    overlay_reads_match_the_commit(&fresh());
    compaction_drops_only_stale_sub_keys(&fresh());
    services_are_shared_by_every_view(&fresh());
    large_values_and_the_latest_read(&fresh());
}

fn commit<E: KvEngine>(e: &E, build: impl FnOnce(&mut Pending)) {
    let mut p = Pending::default();
    build(&mut p);
    e.commit(p).expect("commit");
}

fn all<S: StoreRead + ?Sized>(s: &S, cf: Cf, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    s.scan(cf, start, end, &mut |k, v| {
        out.push((k.to_vec(), v.to_vec()));
        true
    })
    .expect("scan");
    out
}

/// Everything in `cf` (every key the checks write is below `[0xff; 4]`).
fn everything<S: StoreRead + ?Sized>(s: &S, cf: Cf) -> Vec<(Vec<u8>, Vec<u8>)> {
    all(s, cf, &[], &[0xff; 4])
}

/// Puts, overwrites and deletes are seen by the next read; column families are apart;
/// an empty value is a value, not an absence.
pub fn point_reads<E: KvEngine>(e: &E) {
    assert_eq!(
        e.get(Cf::Meta, b"k").unwrap(),
        None,
        "point_reads: fresh engine"
    );
    commit(e, |p| {
        p.put(Cf::Meta, b"k".to_vec(), b"meta".to_vec());
        p.put(Cf::Sub, b"k".to_vec(), b"sub".to_vec());
        p.put(Cf::Reqs, b"k".to_vec(), Vec::new());
    });
    assert_eq!(e.get(Cf::Meta, b"k").unwrap(), Some(b"meta".to_vec()));
    assert_eq!(e.get(Cf::Sub, b"k").unwrap(), Some(b"sub".to_vec()));
    assert_eq!(
        e.get(Cf::Reqs, b"k").unwrap(),
        Some(Vec::new()),
        "point_reads: empty value"
    );
    assert_eq!(
        e.get_latest(Cf::Meta, b"k").unwrap(),
        Some(b"meta".to_vec())
    );
    commit(e, |p| {
        p.put(Cf::Meta, b"k".to_vec(), b"again".to_vec());
        p.delete(Cf::Sub, b"k".to_vec());
        p.delete(Cf::Sub, b"never-written".to_vec());
    });
    assert_eq!(e.get(Cf::Meta, b"k").unwrap(), Some(b"again".to_vec()));
    assert_eq!(
        e.get_latest(Cf::Meta, b"k").unwrap(),
        Some(b"again".to_vec())
    );
    assert_eq!(e.get(Cf::Sub, b"k").unwrap(), None, "point_reads: deleted");
    assert_eq!(e.get_latest(Cf::Sub, b"k").unwrap(), None);
    assert_eq!(e.get(Cf::Reqs, b"k").unwrap(), Some(Vec::new()));
    // An empty group commits nothing and fails nothing.
    commit(e, |_| {});
    assert_eq!(everything(e, Cf::Meta).len(), 1);
}

/// Scans visit `[start, end)` in byte order, stop when told, and an empty or inverted
/// range visits nothing; `last_key` is the scan's last key.
pub fn ordered_bounded_scans<E: KvEngine>(e: &E) {
    let keys: Vec<Vec<u8>> = vec![
        vec![0],
        vec![0, 0],
        vec![1],
        vec![1, 0xff],
        vec![1, 0xff, 0],
        vec![2, b'a'],
        vec![2, b'a', b'b'],
        vec![2, b'b'],
        vec![0xfe, 0xff],
    ];
    commit(e, |p| {
        // Inserted out of order on purpose.
        for k in keys.iter().rev() {
            p.put(Cf::Sub, k.clone(), k.iter().rev().copied().collect());
        }
    });
    let got: Vec<Vec<u8>> = everything(e, Cf::Sub).into_iter().map(|(k, _)| k).collect();
    assert_eq!(got, keys, "ordered_bounded_scans: byte order");
    let values_ok = everything(e, Cf::Sub)
        .iter()
        .all(|(k, v)| k.iter().rev().copied().collect::<Vec<u8>>() == *v);
    assert!(
        values_ok,
        "ordered_bounded_scans: values belong to their keys"
    );
    let window: Vec<Vec<u8>> = all(e, Cf::Sub, &[1], &[2, b'a', b'b'])
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        window,
        keys[2..6].to_vec(),
        "ordered_bounded_scans: [start, end)"
    );
    assert!(all(e, Cf::Sub, &[1], &[1]).is_empty(), "empty range");
    assert!(all(e, Cf::Sub, &[2], &[1]).is_empty(), "inverted range");
    assert!(
        all(e, Cf::Meta, &[], &[0xff]).is_empty(),
        "other column family"
    );
    let mut seen = 0;
    e.scan(Cf::Sub, &[], &[0xff], &mut |_, _| {
        seen += 1;
        seen < 3
    })
    .unwrap();
    assert_eq!(seen, 3, "ordered_bounded_scans: stops when told");
    assert_eq!(
        e.last_key(Cf::Sub, &[1], &[2]).unwrap(),
        Some(vec![1, 0xff, 0])
    );
    assert_eq!(
        e.last_key(Cf::Sub, &[0], &[0xff, 0xff]).unwrap(),
        Some(vec![0xfe, 0xff])
    );
    assert_eq!(e.last_key(Cf::Sub, &[3], &[4]).unwrap(), None);
    assert_eq!(e.last_key(Cf::Meta, &[0], &[0xff]).unwrap(), None);
}

/// Within one commit a column family's range deletions apply before its entries, and
/// touch nothing outside `[start, end)` or in another column family.
pub fn range_deletions_then_entries<E: KvEngine>(e: &E) {
    commit(e, |p| {
        for k in [&[1u8][..], &[1, 1], &[1, 9], &[2], &[2, 0]] {
            p.put(Cf::Meta, k.to_vec(), b"old".to_vec());
            p.put(Cf::Sub, k.to_vec(), b"old".to_vec());
        }
    });
    commit(e, |p| {
        p.put(Cf::Meta, vec![1, 5], b"dropped".to_vec());
        p.delete_range(Cf::Meta, vec![1], vec![2]);
        p.put(Cf::Meta, vec![1, 1], b"new".to_vec());
    });
    assert_eq!(
        everything(e, Cf::Meta),
        vec![
            (vec![1, 1], b"new".to_vec()),
            (vec![2], b"old".to_vec()),
            (vec![2, 0], b"old".to_vec()),
        ],
        "range_deletions_then_entries"
    );
    assert_eq!(
        everything(e, Cf::Sub).len(),
        5,
        "other column family untouched"
    );
    // A whole-database range as FLUSHDB issues it.
    let (start, end) = keys::db_range(2);
    commit(e, |p| p.delete_range(Cf::Sub, start, end));
    assert_eq!(everything(e, Cf::Sub).len(), 3);
}

/// A snapshot sees the commit it was taken at, whatever is committed after.
pub fn snapshots_hold_one_commit<E: KvEngine>(e: &E) {
    commit(e, |p| {
        p.put(Cf::Meta, b"a".to_vec(), b"1".to_vec());
        p.put(Cf::Meta, b"b".to_vec(), b"1".to_vec());
    });
    let before = e.snapshot();
    commit(e, |p| {
        p.put(Cf::Meta, b"a".to_vec(), b"2".to_vec());
        p.delete(Cf::Meta, b"b".to_vec());
        p.put(Cf::Meta, b"c".to_vec(), b"2".to_vec());
    });
    let after = e.snapshot();
    commit(e, |p| p.delete_range(Cf::Meta, Vec::new(), vec![0xff]));
    assert_eq!(
        before.get(Cf::Meta, b"a").unwrap(),
        Some(b"1".to_vec()),
        "snapshot"
    );
    assert_eq!(before.get(Cf::Meta, b"b").unwrap(), Some(b"1".to_vec()));
    assert_eq!(before.get(Cf::Meta, b"c").unwrap(), None);
    assert_eq!(everything(&before, Cf::Meta).len(), 2);
    assert_eq!(
        before.last_key(Cf::Meta, b"a", b"z").unwrap(),
        Some(b"b".to_vec())
    );
    assert_eq!(
        everything(&after, Cf::Meta),
        vec![
            (b"a".to_vec(), b"2".to_vec()),
            (b"c".to_vec(), b"2".to_vec())
        ]
    );
    assert!(
        everything(e, Cf::Meta).is_empty(),
        "the engine sees the latest commit"
    );
    drop(before);
    drop(after);
    assert!(everything(&e.snapshot(), Cf::Meta).is_empty());
}

/// splitmix64: the checks' fixed-seed generator.
struct Draw(u64);

impl Draw {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (x ^ (x >> 31)) % n.max(1)
    }

    fn key(&mut self) -> Vec<u8> {
        (0..=self.below(3)).map(|_| self.below(4) as u8).collect()
    }
}

/// What a write group reads through its [`Pending`] overlay over committed state (point
/// reads and merged scans) is exactly what the engine holds once the overlay commits.
pub fn overlay_reads_match_the_commit<E: KvEngine>(e: &E) {
    let mut draw = Draw(7);
    for round in 0..60 {
        let mut p = Pending::default();
        for _ in 0..draw.below(12) {
            let cf = Cf::ALL[draw.below(2) as usize];
            match draw.below(8) {
                0 => {
                    let (a, b) = (draw.key(), draw.key());
                    p.delete_range(cf, a.clone().min(b.clone()), a.max(b));
                }
                1 | 2 => p.delete(cf, draw.key()),
                _ => p.put(cf, draw.key(), vec![round as u8; draw.below(3) as usize]),
            }
        }
        // What the group sees of each column family before the commit.
        let mut expected = Vec::new();
        for cf in [Cf::Meta, Cf::Sub] {
            let mut merged = Vec::new();
            p.merged_scan(
                cf,
                &[],
                &[0xff],
                |f| e.scan(cf, &[], &[0xff], f),
                &mut |k, v| {
                    merged.push((k.to_vec(), v.to_vec()));
                    true
                },
            )
            .expect("merged scan");
            let mut probes = Vec::new();
            for _ in 0..8 {
                let k = draw.key();
                let seen = match p.lookup(cf, &k) {
                    Overlay::Written(v) => v.map(<[u8]>::to_vec),
                    Overlay::Untouched => e.get(cf, &k).expect("get"),
                };
                probes.push((k, seen));
            }
            let committed_last = e.last_key(cf, &[], &[0xff]).expect("last_key");
            let hint = committed_last.max(p.last_key(cf, &[], &[0xff]));
            expected.push((cf, merged, probes, hint));
        }
        e.commit(p).expect("commit");
        for (cf, merged, probes, hint) in expected {
            let now = everything(e, cf);
            assert_eq!(
                now, merged,
                "overlay_reads_match_the_commit: {cf:?}, round {round}"
            );
            for (k, seen) in probes {
                assert_eq!(
                    e.get(cf, &k).expect("get"),
                    seen,
                    "{cf:?}, round {round}, key {k:?}"
                );
            }
            let last = now.last().map(|(k, _)| k.clone());
            assert!(
                hint >= last,
                "last_key through the overlay bounds the live keys"
            );
        }
    }
}

/// Garbage collection drops exactly the sub-keys [`crate::gc::stale_sub_key`] calls stale
/// and keeps everything else, including records that are not sub-keys.
pub fn compaction_drops_only_stale_sub_keys<E: KvEngine>(e: &E) {
    let live = keys::sub_key(0, b"live", 5, b"f");
    let older = keys::sub_key(0, b"live", 4, b"f");
    let orphan = keys::sub_key(0, b"gone", 1, b"f");
    let expired = keys::sub_key(1, b"old", 2, b"f");
    let index = keys::index_key(0, b"live", 5, b"i");
    let stale_index = keys::index_key(0, b"live", 3, b"i");
    let not_a_sub_key = vec![0u8, 0];
    commit(e, |p| {
        p.put(
            Cf::Meta,
            keys::meta_key(0, b"live"),
            Record::string(Vec::new(), 0, 5).encode(),
        );
        p.put(
            Cf::Meta,
            keys::meta_key(1, b"old"),
            Record::string(Vec::new(), 1, 2).encode(),
        );
        for k in [
            &live,
            &older,
            &orphan,
            &expired,
            &index,
            &stale_index,
            &not_a_sub_key,
        ] {
            p.put(Cf::Sub, k.clone(), b"v".to_vec());
        }
    });
    e.compact().expect("compact");
    let mut left: Vec<Vec<u8>> = everything(e, Cf::Sub).into_iter().map(|(k, _)| k).collect();
    left.sort();
    let mut want = vec![live, index, not_a_sub_key];
    want.sort();
    assert_eq!(left, want, "compaction_drops_only_stale_sub_keys");
    assert_eq!(
        everything(e, Cf::Meta).len(),
        2,
        "metadata is never collected"
    );
}

/// Every view of one engine shares one [`crate::Services`]: a cursor saved through one
/// view resolves through another, and versions keep growing.
pub fn services_are_shared_by_every_view<E: KvEngine>(e: &E) {
    let snapshot = e.snapshot();
    assert!(
        std::ptr::eq(e.services(), snapshot.services()),
        "services_are_shared_by_every_view"
    );
    let id = snapshot.services().save_cursor(3, b"resume".to_vec());
    assert_eq!(e.services().cursor(id), Some((3, b"resume".to_vec())));
    let a = e.services().next_version();
    let b = snapshot.services().next_version();
    assert!(b > a, "versions grow across views");
    let mut counts = e.counts();
    counts.record_change(4, None, Some(true));
    e.services().publish_counts(&counts);
    assert_eq!(
        snapshot.counts().keys[4],
        1,
        "counts are published to every view"
    );
    assert_eq!(e.counts().expires[4], 1);
}

/// Values far larger than any cache entry round-trip, and the writer's latest read
/// ([`KvEngine::get_latest`]) never serves a record a later commit replaced.
pub fn large_values_and_the_latest_read<E: KvEngine>(e: &E) {
    let big: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    commit(e, |p| p.put(Cf::Sub, b"k".to_vec(), b"small".to_vec()));
    assert_eq!(
        e.get_latest(Cf::Sub, b"k").unwrap(),
        Some(b"small".to_vec())
    );
    commit(e, |p| p.put(Cf::Sub, b"k".to_vec(), big.clone()));
    assert_eq!(
        e.get_latest(Cf::Sub, b"k").unwrap(),
        Some(big.clone()),
        "large_values"
    );
    assert_eq!(e.get(Cf::Sub, b"k").unwrap(), Some(big));
    commit(e, |p| {
        p.put(Cf::Sub, b"k".to_vec(), b"small again".to_vec())
    });
    assert_eq!(
        e.get_latest(Cf::Sub, b"k").unwrap(),
        Some(b"small again".to_vec())
    );
    commit(e, |p| p.delete_range(Cf::Sub, b"a".to_vec(), b"z".to_vec()));
    assert_eq!(
        e.get_latest(Cf::Sub, b"k").unwrap(),
        None,
        "a range deletion reaches the latest read"
    );
    assert_eq!(e.get(Cf::Sub, b"k").unwrap(), None);
}
