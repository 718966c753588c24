//! The dense encoding: [`REGISTERS`] 6-bit registers packed little-end first (register 0
//! is the low 6 bits of byte 0, register 1 its top 2 bits and the low 4 of byte 1 …),
//! [`DENSE_BYTES`] bytes after the header. Owns reading, raising and counting registers;
//! what a value's header says is `mod.rs`'s.

use super::{DENSE_BYTES, REGISTERS, REGISTER_MAX};

/// Register `index` of the packed `registers`.
///
/// Redis reads the byte after a register's first one unconditionally (an SDS string has a
/// terminating zero after the last register); the last register fits its first byte, so
/// a missing next byte reads as zero here.
pub fn get(registers: &[u8], index: usize) -> u8 {
    let byte = index * 6 / 8;
    let shift = (index * 6) & 7;
    let b0 = u16::from(registers[byte]);
    let b1 = u16::from(registers.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> shift) | (b1 << (8 - shift))) & u16::from(REGISTER_MAX)) as u8
}

/// Sets register `index` to `value` (at most [`REGISTER_MAX`]).
pub fn put(registers: &mut [u8], index: usize, value: u8) {
    let byte = index * 6 / 8;
    let shift = (index * 6) & 7;
    let max = u16::from(REGISTER_MAX);
    let v = u16::from(value & REGISTER_MAX);
    registers[byte] &= !((max << shift) as u8);
    registers[byte] |= (v << shift) as u8;
    if let Some(next) = registers.get_mut(byte + 1) {
        *next &= !((max >> (8 - shift)) as u8);
        *next |= (v >> (8 - shift)) as u8;
    }
}

/// Raises register `index` to `count` if it is lower (Redis's `hllDenseSet`); true when
/// it changed.
pub fn raise(registers: &mut [u8], index: usize, count: u8) -> bool {
    if count > get(registers, index) {
        put(registers, index, count);
        true
    } else {
        false
    }
}

/// Adds each register's value to `histogram` (values are 6 bits: 64 buckets).
pub fn histogram(registers: &[u8], histogram: &mut [u32; 64]) {
    debug_assert_eq!(registers.len(), DENSE_BYTES);
    // Four registers in every three bytes.
    for three in registers.chunks_exact(3) {
        let (a, b, c) = (three[0], three[1], three[2]);
        histogram[usize::from(a & 63)] += 1;
        histogram[usize::from((a >> 6 | b << 2) & 63)] += 1;
        histogram[usize::from((b >> 4 | c << 4) & 63)] += 1;
        histogram[usize::from(c >> 2)] += 1;
    }
}

/// Raises each of `max` (one byte per register) to the register's value.
pub fn merge_into(registers: &[u8], max: &mut [u8]) {
    debug_assert_eq!(max.len(), REGISTERS);
    // Four registers in every three bytes, as in `histogram`.
    for (three, m) in registers.chunks_exact(3).zip(max.chunks_exact_mut(4)) {
        let (a, b, c) = (three[0], three[1], three[2]);
        let values = [
            a & 63,
            (a >> 6 | b << 2) & 63,
            (b >> 4 | c << 4) & 63,
            c >> 2,
        ];
        for (m, v) in m.iter_mut().zip(values) {
            if v > *m {
                *m = v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_keep_their_values_and_leave_neighbours_alone() {
        let mut regs = vec![0u8; DENSE_BYTES];
        let mut model = vec![0u8; REGISTERS];
        let mut x: u64 = 0x1234_5678;
        for round in 0..4 {
            for (i, m) in model.iter_mut().enumerate() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = (x & 63) as u8;
                if round % 2 == 0 || i % 3 == 0 {
                    put(&mut regs, i, v);
                    *m = v;
                }
            }
            for (i, &want) in model.iter().enumerate() {
                assert_eq!(get(&regs, i), want, "register {i}");
            }
        }
        let mut max: Vec<u8> = (0..REGISTERS).map(|i| (i % 64) as u8).collect();
        merge_into(&regs, &mut max);
        for (i, (&m, &v)) in max.iter().zip(&model).enumerate() {
            assert_eq!(m, v.max((i % 64) as u8), "register {i}");
        }
        let mut h = [0u32; 64];
        histogram(&regs, &mut h);
        let mut want = [0u32; 64];
        for &v in &model {
            want[usize::from(v)] += 1;
        }
        assert_eq!(h, want);
    }

    #[test]
    fn the_layout_is_redis_little_end_first() {
        let mut regs = vec![0u8; DENSE_BYTES];
        put(&mut regs, 0, 0b11_1111);
        assert_eq!(regs[..2], [0b0011_1111, 0]);
        put(&mut regs, 1, 0b10_0001);
        // Register 1: its low 2 bits on top of byte 0, its high 4 at the bottom of byte 1.
        assert_eq!(regs[..2], [0b0111_1111, 0b0000_1000]);
        put(&mut regs, REGISTERS - 1, 63);
        assert_eq!(regs[DENSE_BYTES - 1], 0b1111_1100);
        assert_eq!(get(&regs, REGISTERS - 1), 63);
        assert!(!raise(&mut regs, 0, 5));
        assert!(raise(&mut regs, 2, 5));
        assert_eq!(get(&regs, 2), 5);
    }
}
