//! The storage engine seam as storaged uses it, and its RocksDB implementation.
//!
//! The seam itself (traits [`StoreRead`], [`StoreWrite`], [`KvEngine`], [`Cf`],
//! [`EngineError`], [`Counts`], the [`Pending`] overlay, [`Services`], the byte layouts in
//! [`keys`] and [`metadata`]) lives in the `tandem-engine` crate, which cannot depend on
//! RocksDB; it is re-exported here. This module owns the RocksDB engine (`rocks.rs`:
//! opening, tuning, fsync policy, the compaction filter), the record cache ([`cache`]) and
//! the single writer's write group ([`group`]). It does not know Redis semantics: `types/`
//! and the executor build those on the traits, and never touch RocksDB types.

pub mod cache;
pub mod group;
mod rocks;

use std::fmt;
use std::str::FromStr;

pub use rocks::{CachedRead, Engine, SnapshotRead};
pub use tandem_engine::{
    counters, keys, metadata, now_ms, Cf, Counts, EngineError, KvEngine, Overlay, Pending,
    Services, Stats, StoreRead, StoreWrite, SCAN_CURSORS_MAX,
};

/// When the write-ahead log reaches the disk, like Redis `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// Every commit syncs the WAL before it returns.
    Always,
    /// Commits write the WAL without syncing; the owner calls [`Engine::sync_wal`] once a
    /// second. A machine crash can lose about a second; a process crash loses nothing.
    #[default]
    EverySec,
    /// Never sync explicitly; the OS decides.
    No,
}

impl FromStr for FsyncPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<FsyncPolicy, String> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(FsyncPolicy::Always),
            "everysec" => Ok(FsyncPolicy::EverySec),
            "no" => Ok(FsyncPolicy::No),
            other => Err(format!(
                "unknown fsync policy {other:?} (expected always, everysec or no)"
            )),
        }
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FsyncPolicy::Always => "always",
            FsyncPolicy::EverySec => "everysec",
            FsyncPolicy::No => "no",
        })
    }
}

/// Tuning for [`Engine::open`].
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub fsync: FsyncPolicy,
    /// Shared LRU block cache for both column families. Default 256 MiB.
    pub block_cache_bytes: usize,
    /// The record cache shared by the writer and readers (`cache.rs`). Default 256 MiB; 0
    /// disables it.
    pub record_cache_bytes: usize,
    /// Memtable size per column family. Default 16 MiB (insert cost grows with memtable size; see docs/BENCHMARKS.md).
    pub write_buffer_bytes: usize,
    /// RocksDB background flush and compaction threads. Default 2.
    pub background_jobs: i32,
    /// How long [`Engine::open`] keeps retrying while another process still holds the
    /// database `LOCK` (a restarted daemon can meet its predecessor's lock briefly).
    /// Default 5 s.
    pub lock_retry: std::time::Duration,
    /// Memtables per column family before writes stop (RocksDB `max_write_buffer_number`).
    /// Default 2.
    pub max_write_buffers: i32,
    /// L0 files per column family at which RocksDB slows writes down, and at which it stops
    /// them. Defaults 20 and 36 (RocksDB's).
    pub l0_slowdown_trigger: i32,
    pub l0_stop_trigger: i32,
    /// Bytes per second for flushes and compactions together (0: unlimited, the default).
    /// Only benchmarks set it, to force RocksDB into write stalls on purpose.
    pub background_rate_limit: i64,
}

impl Default for EngineOptions {
    fn default() -> EngineOptions {
        EngineOptions {
            fsync: FsyncPolicy::EverySec,
            block_cache_bytes: 256 << 20,
            record_cache_bytes: 256 << 20,
            write_buffer_bytes: 16 << 20,
            background_jobs: 2,
            lock_retry: std::time::Duration::from_secs(5),
            max_write_buffers: 2,
            l0_slowdown_trigger: 20,
            l0_stop_trigger: 36,
            background_rate_limit: 0,
        }
    }
}

/// A view that can name the RocksDB engine behind it. Only the executor's INFO and
/// CHECKPOINT need that; `types/` take [`StoreRead`] and [`StoreWrite`], which cannot.
pub trait EngineView: StoreRead {
    /// The RocksDB engine this view reads.
    fn engine(&self) -> &Engine;
}

impl EngineView for Engine {
    fn engine(&self) -> &Engine {
        self
    }
}

impl EngineView for SnapshotRead<'_> {
    fn engine(&self) -> &Engine {
        SnapshotRead::engine(self)
    }
}

impl EngineView for CachedRead<'_> {
    fn engine(&self) -> &Engine {
        CachedRead::engine(self)
    }
}

/// A RocksDB engine on a fresh temp dir with small caches, for tests (the type tests' RocksDB
/// runs see it through the seam's traits only). The directory must outlive the engine.
#[cfg(test)]
pub(crate) fn open_temp() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().expect("temp dir");
    let opts = EngineOptions {
        block_cache_bytes: 8 << 20,
        write_buffer_bytes: 4 << 20,
        ..Default::default()
    };
    let engine = Engine::open(dir.path(), &opts).expect("engine opens");
    (dir, engine)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fsync_policy_parses_and_prints() {
        for p in [FsyncPolicy::Always, FsyncPolicy::EverySec, FsyncPolicy::No] {
            assert_eq!(p.to_string().parse::<FsyncPolicy>().unwrap(), p);
        }
        assert!("sometimes".parse::<FsyncPolicy>().is_err());
    }

    #[test]
    fn rocksdb_conforms_to_the_engine_seam() {
        // Each directory outlives its engine: the checks drop their engine first.
        let mut dirs = Vec::new();
        tandem_engine::conformance::run_all(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let opts = EngineOptions {
                block_cache_bytes: 1 << 20,
                ..EngineOptions::default()
            };
            let engine = Engine::open(dir.path(), &opts).expect("engine opens");
            dirs.push(dir);
            engine
        });
    }
}
