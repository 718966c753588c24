//! Proxy configuration: command-line flags, each with a `TANDEM_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// `tandem-proxy`: the RESP front end of tandem.
#[derive(Parser, Debug, Clone)]
#[command(name = "tandem-proxy", version, about)]
pub struct Config {
    /// TCP address to serve RESP on.
    #[arg(long, env = "TANDEM_LISTEN", default_value = "127.0.0.1:6379")]
    pub listen: SocketAddr,

    /// Unix socket of tandem-storaged.
    #[arg(
        long,
        env = "TANDEM_STORAGE_SOCKET",
        default_value = "./data/storaged.sock"
    )]
    pub storage_socket: PathBuf,

    /// Password clients must give with AUTH or HELLO ... AUTH (empty: none).
    #[arg(long, env = "TANDEM_REQUIREPASS", default_value = "")]
    pub requirepass: String,

    /// Worker threads for client I/O (0: one per core).
    #[arg(long, env = "TANDEM_NETWORK_THREADS", default_value_t = 0)]
    pub network_threads: usize,

    /// Links to storaged shared by all clients of this proxy.
    #[arg(long, env = "TANDEM_LINKS", default_value_t = 4)]
    pub links: usize,

    /// Requests that may wait per link while storaged is slow or away; beyond it requests are
    /// shed at once with a retryable error.
    #[arg(long, env = "TANDEM_QUEUE_CAPACITY", default_value_t = 4096)]
    pub queue_capacity: usize,

    /// How long a storage-bound request may wait for its reply, in milliseconds.
    #[arg(long, env = "TANDEM_REQUEST_TIMEOUT_MS", default_value_t = 5000)]
    pub request_timeout_ms: u64,

    /// Most commands a client's pipeline sends to storaged in one request frame.
    #[arg(long, env = "TANDEM_PIPELINE_BATCH", default_value_t = 1024)]
    pub pipeline_batch: usize,

    /// Most simultaneous client connections (`maxclients`).
    #[arg(long, env = "TANDEM_MAXCLIENTS", default_value_t = 10000)]
    pub maxclients: usize,

    /// Largest bulk string a client may send (`proto-max-bulk-len`), in bytes.
    #[arg(long, env = "TANDEM_PROTO_MAX_BULK_LEN", default_value_t = 512 * 1024 * 1024)]
    pub proto_max_bulk_len: u64,

    /// Largest link frame, in bytes.
    #[arg(long, env = "TANDEM_MAX_FRAME", default_value_t = tandem_shared::wire::DEFAULT_MAX_FRAME)]
    pub max_frame: u32,

    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `tandem_proxy=debug`.
    #[arg(long, env = "TANDEM_PROXY_LOG", default_value = "info")]
    pub log: String,
}

impl Config {
    /// The request deadline as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}
