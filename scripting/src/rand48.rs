//! Redis's `redisLrand48`/`redisSrand48` (src/rand.c): the 48-bit linear congruential
//! generator of `lrand48`, which Redis uses for `math.random` so every platform produces the
//! same sequence for the same seed.

/// The generator's state; `Default` is Redis's start state (before any `randomseed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rand48 {
    x: u64,
}

const A: u64 = 0x5_DEEC_E66D;
const C: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;
/// `REDIS_LRAND48_MAX`.
pub const LRAND48_MAX: i32 = i32::MAX;

impl Default for Rand48 {
    fn default() -> Self {
        Rand48 {
            x: 0x1234_ABCD_330E,
        }
    }
}

impl Rand48 {
    /// `redisSrand48(seed)`: the seed's 32 bits above the fixed low word 0x330E.
    pub fn seed(&mut self, seed: i32) {
        self.x = (u64::from(seed as u32) << 16) | 0x330E;
    }

    /// `redisLrand48()`: the next value in `0..2^31`.
    pub fn next_i32(&mut self) -> i32 {
        self.x = (A.wrapping_mul(self.x).wrapping_add(C)) & MASK;
        (self.x >> 17) as i32
    }

    /// `math.random()`'s base value in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        f64::from(self.next_i32() % LRAND48_MAX) / f64::from(LRAND48_MAX)
    }
}
