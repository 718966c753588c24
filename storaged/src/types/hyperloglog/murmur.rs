//! The hash Redis's HyperLogLog uses: MurmurHash64A (MurmurHash2, 64-bit), read
//! little-endian whatever the machine, with Redis's seed; and how a hash picks a register
//! and the length of its `0…01` pattern (Redis's `hllPatLen`).

use super::{P, Q, REGISTERS};

/// The seed Redis hashes HyperLogLog elements with.
pub const SEED: u32 = 0xadc8_3b19;

/// MurmurHash64A of `data`, as Redis computes it (8-byte blocks read little-endian, the
/// tail folded in from its last byte down).
pub fn murmur64a(data: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = u64::from(seed) ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(block);
        let mut k = u64::from_le_bytes(bytes).wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register `element` lands in (the hash's low [`P`] bits) and its count: one more
/// than the number of zeros above them before the first one, at most `Q + 1` (Redis 7's
/// `hllPatLen`, which sets bit `Q` of the shifted hash so the count is bounded).
pub fn pattern(element: &[u8]) -> (usize, u8) {
    let hash = murmur64a(element, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    // `rest` is non-zero, so at most Q trailing zeros: the count fits a u8.
    (index, rest.trailing_zeros() as u8 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A straightforward transcription of Redis's C (byte-wise tail switch), to pin the
    /// block/tail split of [`murmur64a`] on every length around the 8-byte boundary.
    fn reference(data: &[u8], seed: u32) -> u64 {
        let m: u64 = 0xc6a4a7935bd1e995;
        let mut h = u64::from(seed) ^ (data.len() as u64).wrapping_mul(m);
        let n = data.len() - data.len() % 8;
        let mut i = 0;
        while i < n {
            let mut k = 0u64;
            for j in 0..8 {
                k |= u64::from(data[i + j]) << (8 * j);
            }
            k = k.wrapping_mul(m);
            k ^= k >> 47;
            k = k.wrapping_mul(m);
            h ^= k;
            h = h.wrapping_mul(m);
            i += 8;
        }
        let t = &data[n..];
        let len = data.len() & 7;
        if len >= 7 {
            h ^= u64::from(t[6]) << 48;
        }
        if len >= 6 {
            h ^= u64::from(t[5]) << 40;
        }
        if len >= 5 {
            h ^= u64::from(t[4]) << 32;
        }
        if len >= 4 {
            h ^= u64::from(t[3]) << 24;
        }
        if len >= 3 {
            h ^= u64::from(t[2]) << 16;
        }
        if len >= 2 {
            h ^= u64::from(t[1]) << 8;
        }
        if len >= 1 {
            h ^= u64::from(t[0]);
            h = h.wrapping_mul(m);
        }
        h ^= h >> 47;
        h = h.wrapping_mul(m);
        h ^= h >> 47;
        h
    }

    #[test]
    fn every_tail_length_matches_the_byte_wise_form() {
        let data: Vec<u8> = (0u8..40)
            .map(|b| b.wrapping_mul(37).wrapping_add(11))
            .collect();
        for len in 0..=data.len() {
            for seed in [0, SEED, u32::MAX] {
                assert_eq!(
                    murmur64a(&data[..len], seed),
                    reference(&data[..len], seed),
                    "len {len} seed {seed:#x}"
                );
            }
        }
    }

    #[test]
    fn the_empty_input_with_seed_zero_hashes_to_zero() {
        // h starts at 0 ^ 0 * m and every finalisation step keeps 0.
        assert_eq!(murmur64a(b"", 0), 0);
    }

    /// Register and count of single elements as redis-server 7.0.15 stores them
    /// (`PFADD k e` then `PFDEBUG DECODE k` reads `Z:index v:count,1 ...`), for every tail
    /// length from 0 to 17 bytes.
    #[test]
    fn registers_and_counts_match_redis_server() {
        for &(element, index, count) in REDIS_PATTERNS {
            assert_eq!(pattern(element.as_bytes()), (index, count), "{element:?}");
        }
    }

    const REDIS_PATTERNS: &[(&str, usize, u8)] = &[
        ("", 5938, 2),
        ("a", 12711, 2),
        ("ab", 719, 1),
        ("abc", 9474, 1),
        ("abcd", 11070, 8),
        ("abcde", 3726, 4),
        ("abcdef", 13647, 2),
        ("abcdefg", 5634, 2),
        ("abcdefgh", 1383, 1),
        ("abcdefghi", 6903, 1),
        ("abcdefghij", 12228, 1),
        ("abcdefghijk", 14121, 1),
        ("abcdefghijkl", 9695, 5),
        ("abcdefghijklm", 9157, 1),
        ("abcdefghijklmn", 5697, 2),
        ("abcdefghijklmno", 12377, 4),
        ("abcdefghijklmnop", 9328, 1),
        ("abcdefghijklmnopq", 4271, 1),
        ("hello", 9216, 1),
        ("tandem", 2489, 2),
        ("0", 13225, 4),
        ("1234567890", 1971, 3),
        ("foo:bar:baz", 7629, 2),
    ];
}
