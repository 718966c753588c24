//! storaged configuration: command-line flags, each with a `TANDEM_*` environment variable.

use std::path::PathBuf;

use clap::Parser;

/// `tandem-storaged`: the RocksDB storage daemon of tandem.
#[derive(Parser, Debug, Clone)]
#[command(name = "tandem-storaged", version, about)]
pub struct Config {
    /// Directory holding the RocksDB database (created if missing).
    #[arg(long, env = "TANDEM_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Unix socket to serve proxies on.
    #[arg(long, env = "TANDEM_SOCKET", default_value = "./data/storaged.sock")]
    pub socket: PathBuf,

    /// WAL sync policy, like Redis `appendfsync`: `always` (sync before every reply),
    /// `everysec` (sync once a second; a crash of the machine may lose the last second, a
    /// crash of the process loses nothing), `no` (leave it to the OS).
    #[arg(long, env = "TANDEM_FSYNC", default_value = "everysec")]
    pub fsync: String,

    /// Threads for read-only requests (0: two per core).
    #[arg(long, env = "TANDEM_STORAGE_THREADS", default_value_t = 0)]
    pub storage_threads: usize,

    /// Threads for socket I/O.
    #[arg(long, env = "TANDEM_IO_THREADS", default_value_t = 1)]
    pub io_threads: usize,

    /// Most write requests queued for the writer; beyond it sessions wait (backpressure).
    #[arg(long, env = "TANDEM_WRITE_QUEUE", default_value_t = 4096)]
    pub write_queue: usize,

    /// Most requests merged into one WriteBatch (group commit).
    #[arg(long, env = "TANDEM_GROUP_COMMIT_MAX", default_value_t = 512)]
    pub group_commit_max: usize,

    /// RocksDB block cache size in MiB.
    #[arg(long, env = "TANDEM_BLOCK_CACHE_MB", default_value_t = 256)]
    pub block_cache_mb: usize,

    /// Largest link frame, in bytes.
    #[arg(long, env = "TANDEM_MAX_FRAME", default_value_t = tandem_shared::wire::DEFAULT_MAX_FRAME)]
    pub max_frame: u32,

    /// Seconds a write request's reply is remembered for exactly-once resends, counted from
    /// when the proxy first queued it. Keep it well above the proxies'
    /// `--request-timeout-ms`; older resends are refused as "outcome unknown".
    #[arg(long, env = "TANDEM_REQUEST_MEMORY_SECS", default_value_t = crate::dedup::DEFAULT_WINDOW_SECS)]
    pub request_memory_secs: u64,

    /// Seconds to wait for proxies to collect in-flight replies when draining.
    #[arg(long, env = "TANDEM_DRAIN_TIMEOUT", default_value_t = 10)]
    pub drain_timeout: u64,

    /// Log filter (tracing `EnvFilter` syntax).
    #[arg(long, env = "TANDEM_STORAGED_LOG", default_value = "info")]
    pub log: String,
}
