//! Command statistics as they cross the link (`Command::Stats`), and the latency histogram
//! both processes share: the proxies count what they serve (`proxy/src/stats.rs`) and send
//! the increments; storaged sums them for the pair (`storaged/src/stats.rs`) and answers
//! INFO's commandstats/errorstats/latencystats, SLOWLOG and LATENCY from the sums.
//!
//! The histogram is Redis 7.0's: an HdrHistogram of nanoseconds from 1 ns to 1 s with two
//! significant digits (`hdr_init(1, 1e9, 2)`), so percentiles and `LATENCY HISTOGRAM`
//! buckets come out with the same figures Redis prints (`p50=6.015`, bucket `33` …). Only
//! the index arithmetic is kept, not the C library: a histogram is a `[u64; COUNTS_LEN]`
//! indexed by [`index_of`]. Pure arithmetic, no I/O.

use rkyv::{Archive, Deserialize, Serialize};

/// `log2` of HdrHistogram's sub-bucket half count for 2 significant digits (128).
const HALF_MAG: u32 = 7;
const HALF_COUNT: u64 = 1 << HALF_MAG;
/// `sub_bucket_count - 1` (255): values below it share bucket 0.
const SUB_MASK: u64 = (HALF_COUNT << 1) - 1;
/// Redis's `LATENCY_HISTOGRAM_MAX_VALUE`: 1 s in nanoseconds; longer durations count here.
pub const MAX_NS: u64 = 1_000_000_000;
/// Buckets needed up to [`MAX_NS`] (23) plus one, times the half count.
pub const COUNTS_LEN: usize = 24 * HALF_COUNT as usize;

/// The histogram slot of a duration in nanoseconds (clamped to 1 ns .. [`MAX_NS`]).
pub fn index_of(ns: u64) -> usize {
    let v = ns.clamp(1, MAX_NS);
    let pow2ceiling = 64 - (v | SUB_MASK).leading_zeros();
    let bucket = pow2ceiling - (HALF_MAG + 1);
    let sub = v >> bucket;
    (((u64::from(bucket) + 1) << HALF_MAG) + sub - HALF_COUNT) as usize
}

/// The lowest value of slot `index`.
fn value_at(index: usize) -> u64 {
    let index = index as u64;
    let mut bucket = (index >> HALF_MAG) as i64 - 1;
    let mut sub = (index & (HALF_COUNT - 1)) + HALF_COUNT;
    if bucket < 0 {
        sub -= HALF_COUNT;
        bucket = 0;
    }
    sub << bucket
}

/// The highest value that falls in the same slot as `v` (HdrHistogram's
/// `highest_equivalent_value`): what Redis reports for a percentile or a bucket.
pub fn highest_equivalent(v: u64) -> u64 {
    let index = index_of(v);
    let bucket = (index as u64 >> HALF_MAG).saturating_sub(1);
    value_at(index) + (1u64 << bucket) - 1
}

/// The value below which `percentile` % of the samples fall, in nanoseconds (HdrHistogram's
/// `hdr_value_at_percentile`); 0 for an empty histogram.
pub fn value_at_percentile(counts: &[u64], percentile: f64) -> u64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0;
    }
    let wanted = ((percentile.min(100.0) / 100.0) * total as f64 + 0.5) as u64;
    let wanted = wanted.max(1);
    let mut seen = 0;
    for (i, c) in counts.iter().enumerate() {
        seen += c;
        if seen >= wanted {
            return highest_equivalent(value_at(i));
        }
    }
    0
}

/// `LATENCY HISTOGRAM`'s `histogram_usec` pairs: Redis's logarithmic iteration from 1024 ns,
/// doubling, each level reported as its highest equivalent value in microseconds with the
/// count of samples at or below it, only where that count grew.
pub fn cumulative_usec(counts: &[u64]) -> Vec<(u64, u64)> {
    let total: u64 = counts.iter().sum();
    let mut out = Vec::new();
    let (mut seen, mut i, mut previous) = (0u64, 0usize, 0u64);
    let mut level = 1024u64;
    while seen < total && level <= 2 * MAX_NS {
        let top = highest_equivalent(level);
        while i < counts.len() && value_at(i) <= top {
            seen += counts[i];
            i += 1;
        }
        if seen > previous {
            out.push((top / 1000, seen));
        }
        previous = seen;
        level *= 2;
    }
    out
}

/// What one proxy served of one command (or `container|subcommand`) since its last report.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[rkyv(derive(Debug))]
pub struct CommandDelta {
    /// The table's name, `config|get` for a subcommand.
    pub name: String,
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Histogram slots ([`index_of`]) and how many calls fell in each.
    pub histogram: Vec<(u16, u64)>,
}

/// One `SLOWLOG` entry as a proxy saw it; storaged gives it its id.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct SlowEntry {
    /// UNIX seconds when the command was received.
    pub time: i64,
    pub micros: u64,
    /// Already cut as Redis cuts them (32 arguments, 128 bytes each).
    pub args: Vec<Vec<u8>>,
    /// `ip:port` of the client.
    pub addr: Vec<u8>,
    pub name: Vec<u8>,
}

/// A latency-monitor sample: `event` took `ms` at UNIX second `time`.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub struct LatencySample {
    pub event: String,
    pub time: i64,
    pub ms: u64,
}

/// Everything a proxy counted since its last report.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[rkyv(derive(Debug))]
pub struct StatsPush {
    pub commands: Vec<CommandDelta>,
    /// Error codes (`ERR`, `WRONGTYPE` …) and how many replies carried each.
    pub errors: Vec<(String, u64)>,
    pub slow: Vec<SlowEntry>,
    pub latency: Vec<LatencySample>,
}

impl StatsPush {
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
            && self.errors.is_empty()
            && self.slow.is_empty()
            && self.latency.is_empty()
    }
}

/// What a `Command::Stats` asks of storaged after taking its push.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug))]
pub enum StatsOp {
    /// Only the push; replies the pair's settings `[slowlog-log-slower-than,
    /// slowlog-max-len, latency-monitor-threshold]`.
    Push,
    /// INFO's `# Commandstats`, `# Errorstats` and `# Latencystats` sections, one bulk text.
    Sections,
    /// `SLOWLOG GET count` (-1: all).
    SlowlogGet(i64),
    SlowlogLen,
    SlowlogReset,
    LatencyLatest,
    LatencyHistory(Vec<u8>),
    /// Events to reset (all when empty); replies how many were.
    LatencyReset(Vec<Vec<u8>>),
    /// Commands to describe (all when empty).
    LatencyHistogram(Vec<Vec<u8>>),
    LatencyDoctor,
    /// `CONFIG RESETSTAT`: command and error statistics (Redis keeps the slow log and the
    /// latency events).
    ResetStat,
    /// `CONFIG SET` of the pair's settings (each when given); replies the settings.
    Settings {
        slower_than: Option<i64>,
        max_len: Option<i64>,
        latency_threshold: Option<i64>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figures redis-server 7.0.15 printed for single samples of 6, 9 and 17 µs.
    #[test]
    fn percentiles_match_redis() {
        let mut counts = vec![0u64; COUNTS_LEN];
        counts[index_of(6_000)] += 1;
        assert_eq!(value_at_percentile(&counts, 50.0), 6_015);
        let mut counts = vec![0u64; COUNTS_LEN];
        counts[index_of(17_000)] += 1;
        assert_eq!(value_at_percentile(&counts, 99.9), 17_023);
        assert_eq!(value_at_percentile(&vec![0; COUNTS_LEN], 50.0), 0);
    }

    #[test]
    fn buckets_match_redis() {
        assert_eq!(highest_equivalent(16_384) / 1000, 16);
        assert_eq!(highest_equivalent(32_768) / 1000, 33);
        assert_eq!(highest_equivalent(131_072) / 1000, 132);
        let mut counts = vec![0u64; COUNTS_LEN];
        counts[index_of(12_000)] += 1;
        counts[index_of(100_000)] += 2;
        assert_eq!(cumulative_usec(&counts), vec![(16, 1), (132, 3)]);
        assert!(index_of(u64::MAX) < COUNTS_LEN);
        assert_eq!(index_of(0), index_of(1));
    }
}
