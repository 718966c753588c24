//! Proxy configuration: every setting has a command-line flag, a `TANDEM_*` environment
//! variable and a key in the TOML config file, taken in that order (flag, then variable,
//! then file, then the documented default). Owns parsing and merging; applying a reload is
//! the server's business (see [`Config::reloadable_changes`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;
use tandem_service::log::LogFormat;

/// Where the config file is read from when neither `--config` nor its variable names one
/// (and only if it exists).
pub const DEFAULT_CONFIG_FILE: &str = "/etc/tandem/proxy.toml";

/// Default listen backlog: Redis's `tcp-backlog` default. Rust's and tokio's `bind` use 128,
/// which a burst of connects overflows (dropped SYNs wait a 1 s retransmit).
pub const DEFAULT_TCP_BACKLOG: u32 = 511;

/// `tandem-proxy`: the RESP front end of tandem.
///
/// Every option is also a key of the config file (same name without `--`) and an
/// environment variable; a flag beats its variable, which beats the file.
#[derive(Parser, Deserialize, Debug, Clone, Default)]
#[command(name = "tandem-proxy", version, about, long_about = None)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    /// TOML config file [default: /etc/tandem/proxy.toml if it exists].
    #[arg(long, env = "TANDEM_PROXY_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// TCP address to serve RESP on; ignored when systemd passes the socket
    /// [default: 127.0.0.1:6379].
    #[arg(long, env = "TANDEM_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// Length of the queue of accepted-but-not-yet-served connections of the listening
    /// socket (Redis `tcp-backlog`; the kernel caps it at `net.core.somaxconn`). Ignored
    /// when systemd passes the socket: its `Backlog=` applies [default: 511].
    #[arg(long, env = "TANDEM_TCP_BACKLOG")]
    pub tcp_backlog: Option<u32>,

    /// Unix socket of tandem-storaged [default: ./data/storaged.sock].
    #[arg(long, env = "TANDEM_STORAGE_SOCKET")]
    pub storage_socket: Option<PathBuf>,

    /// Password clients must give with AUTH or HELLO ... AUTH; empty: none. Reloadable
    /// [default: ""].
    #[arg(long, env = "TANDEM_REQUIREPASS")]
    pub requirepass: Option<String>,

    /// Worker threads for client I/O; 0: one per core [default: 0].
    #[arg(long, env = "TANDEM_NETWORK_THREADS")]
    pub network_threads: Option<usize>,

    /// Links to storaged shared by all clients of this proxy [default: 4].
    #[arg(long, env = "TANDEM_LINKS")]
    pub links: Option<usize>,

    /// Requests that may wait per link while storaged is slow or away; beyond it requests
    /// are shed at once with a retryable error [default: 4096].
    #[arg(long, env = "TANDEM_QUEUE_CAPACITY")]
    pub queue_capacity: Option<usize>,

    /// How long a storage-bound request may wait for its reply, in milliseconds
    /// [default: 5000].
    #[arg(long, env = "TANDEM_REQUEST_TIMEOUT_MS")]
    pub request_timeout_ms: Option<u64>,

    /// A large request's deadline grows by one second per this many MiB of its frame (the
    /// slowest rate storage is expected to take writes in); 0: no growth [default: 8].
    #[arg(long, env = "TANDEM_REQUEST_TIMEOUT_MIB_PER_SEC")]
    pub request_timeout_mib_per_sec: Option<u64>,

    /// Most commands a client's pipeline sends to storaged in one request frame
    /// [default: 1024].
    #[arg(long, env = "TANDEM_PIPELINE_BATCH")]
    pub pipeline_batch: Option<usize>,

    /// Most simultaneous client connections (`maxclients`). Reloadable [default: 10000].
    #[arg(long, env = "TANDEM_MAXCLIENTS")]
    pub maxclients: Option<usize>,

    /// Largest bulk string a client may send (`proto-max-bulk-len`), in bytes. Reloadable
    /// [default: 536870912].
    #[arg(long, env = "TANDEM_PROTO_MAX_BULK_LEN")]
    pub proto_max_bulk_len: Option<u64>,

    /// Largest link frame, in bytes [default: 603979776].
    #[arg(long, env = "TANDEM_MAX_FRAME")]
    pub max_frame: Option<u32>,

    /// Seconds a stopping proxy gives its clients to collect the replies of what they
    /// sent before it closes their connections at a reply boundary; past it the remaining
    /// connections are closed as they are [default: 10].
    #[arg(long, env = "TANDEM_DRAIN_TIMEOUT")]
    pub drain_timeout: Option<u64>,

    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `tandem_proxy=debug`.
    /// Reloadable [default: info].
    #[arg(long, env = "TANDEM_PROXY_LOG")]
    pub log: Option<String>,

    /// Log line format: `text` (with `<N>` priorities and no timestamps under systemd) or
    /// `json` [default: text].
    #[arg(long, env = "TANDEM_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
}

impl Options {
    /// Each setting from `self` when set there, else from `lower`.
    fn or(self, lower: Options) -> Options {
        Options {
            config: self.config.or(lower.config),
            listen: self.listen.or(lower.listen),
            tcp_backlog: self.tcp_backlog.or(lower.tcp_backlog),
            storage_socket: self.storage_socket.or(lower.storage_socket),
            requirepass: self.requirepass.or(lower.requirepass),
            network_threads: self.network_threads.or(lower.network_threads),
            links: self.links.or(lower.links),
            queue_capacity: self.queue_capacity.or(lower.queue_capacity),
            request_timeout_ms: self.request_timeout_ms.or(lower.request_timeout_ms),
            request_timeout_mib_per_sec: self
                .request_timeout_mib_per_sec
                .or(lower.request_timeout_mib_per_sec),
            pipeline_batch: self.pipeline_batch.or(lower.pipeline_batch),
            maxclients: self.maxclients.or(lower.maxclients),
            proto_max_bulk_len: self.proto_max_bulk_len.or(lower.proto_max_bulk_len),
            max_frame: self.max_frame.or(lower.max_frame),
            drain_timeout: self.drain_timeout.or(lower.drain_timeout),
            log: self.log.or(lower.log),
            log_format: self.log_format.or(lower.log_format),
        }
    }
}

/// The settings in force: flags, variables, file and defaults merged.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file the settings were read from, if any.
    pub config_file: Option<PathBuf>,
    pub listen: SocketAddr,
    pub tcp_backlog: u32,
    pub storage_socket: PathBuf,
    pub requirepass: String,
    pub network_threads: usize,
    pub links: usize,
    pub queue_capacity: usize,
    pub request_timeout_ms: u64,
    pub request_timeout_mib_per_sec: u64,
    pub pipeline_batch: usize,
    pub maxclients: usize,
    pub proto_max_bulk_len: u64,
    pub max_frame: u32,
    /// Seconds; see [`Config::drain_timeout`].
    pub drain_timeout_secs: u64,
    pub log: String,
    pub log_format: LogFormat,
}

impl Config {
    /// Parses the command line and environment, then reads the config file. Returns the
    /// settings and the flags/variables alone, which a reload merges with the re-read file.
    ///
    /// # Errors
    /// An unreadable or invalid config file (unknown keys included), or an invalid value.
    pub fn load() -> Result<(Config, Options), String> {
        let flags = Options::parse();
        let config = Config::resolve(&flags)?;
        Ok((config, flags))
    }

    /// Merges `flags` (command line and environment) over the config file they name (or
    /// the default one, if it exists) over the defaults.
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn resolve(flags: &Options) -> Result<Config, String> {
        let file =
            tandem_service::file::locate(flags.config.as_deref(), Path::new(DEFAULT_CONFIG_FILE));
        let from_file: Options = match &file {
            Some(path) => tandem_service::file::load(path)?,
            None => Options::default(),
        };
        let mut config = Config::from_options(flags.clone().or(from_file))?;
        config.config_file = file;
        Ok(config)
    }

    /// Fills what `o` leaves unset with the defaults.
    ///
    /// # Errors
    /// An invalid log filter.
    pub fn from_options(o: Options) -> Result<Config, String> {
        let log = o.log.unwrap_or_else(|| "info".to_owned());
        tandem_service::log::parse_filter(&log)?;
        Ok(Config {
            config_file: o.config,
            listen: o
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 6379))),
            tcp_backlog: o.tcp_backlog.unwrap_or(DEFAULT_TCP_BACKLOG),
            storage_socket: o
                .storage_socket
                .unwrap_or_else(|| PathBuf::from("./data/storaged.sock")),
            requirepass: o.requirepass.unwrap_or_default(),
            network_threads: o.network_threads.unwrap_or(0),
            links: o.links.unwrap_or(4),
            queue_capacity: o.queue_capacity.unwrap_or(4096),
            request_timeout_ms: o.request_timeout_ms.unwrap_or(5000),
            request_timeout_mib_per_sec: o.request_timeout_mib_per_sec.unwrap_or(8),
            pipeline_batch: o.pipeline_batch.unwrap_or(1024),
            maxclients: o.maxclients.unwrap_or(10_000),
            proto_max_bulk_len: o.proto_max_bulk_len.unwrap_or(512 * 1024 * 1024),
            max_frame: o
                .max_frame
                .unwrap_or(tandem_shared::wire::DEFAULT_MAX_FRAME),
            drain_timeout_secs: o.drain_timeout.unwrap_or(10),
            log,
            log_format: o.log_format.unwrap_or_default(),
        })
    }

    /// The request deadline as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// How long a stopping proxy lets its clients collect their replies.
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout_secs)
    }

    /// Settings that differ between `self` and `new` and need a restart to take effect, by
    /// key name (a reload logs them and leaves them alone).
    pub fn restart_only_changes(&self, new: &Config) -> Vec<&'static str> {
        let mut changed = Vec::new();
        let mut note = |name, differs: bool| {
            if differs {
                changed.push(name);
            }
        };
        note("listen", self.listen != new.listen);
        note("tcp-backlog", self.tcp_backlog != new.tcp_backlog);
        note("storage-socket", self.storage_socket != new.storage_socket);
        note(
            "network-threads",
            self.network_threads != new.network_threads,
        );
        note("links", self.links != new.links);
        note("queue-capacity", self.queue_capacity != new.queue_capacity);
        note(
            "request-timeout-ms",
            self.request_timeout_ms != new.request_timeout_ms,
        );
        note(
            "request-timeout-mib-per-sec",
            self.request_timeout_mib_per_sec != new.request_timeout_mib_per_sec,
        );
        note("pipeline-batch", self.pipeline_batch != new.pipeline_batch);
        note("max-frame", self.max_frame != new.max_frame);
        note(
            "drain-timeout",
            self.drain_timeout_secs != new.drain_timeout_secs,
        );
        note("log-format", self.log_format != new.log_format);
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/proxy.toml");
        std::fs::read_to_string(path).expect("config/proxy.toml")
    }

    /// The shipped file lists every key, commented out, with the default: uncommented it
    /// must parse and give exactly the built-in defaults.
    #[test]
    fn shipped_file_documents_every_key_with_its_default() {
        let uncommented = tandem_service::file::uncomment_keys(&shipped());
        let options: Options = toml::from_str(&uncommented).expect("uncommented file parses");
        let keys = uncommented.lines().count();
        // Every flag but --config (and clap's own --help/--version) is a key.
        let flags = <Options as clap::CommandFactory>::command()
            .get_arguments()
            .filter(|a| {
                a.get_long()
                    .is_some_and(|l| !matches!(l, "config" | "help" | "version"))
            })
            .count();
        assert_eq!(keys, flags, "keys in config/proxy.toml:\n{uncommented}");
        let from_file = Config::from_options(options).expect("valid");
        let defaults = Config::from_options(Options::default()).expect("valid");
        assert_eq!(from_file, defaults);
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let file: Options = toml::from_str("maxclients = 7\nlinks = 2\n").expect("parses");
        let flags = Options::try_parse_from(["tandem-proxy", "--maxclients", "9"]).expect("flags");
        let config = Config::from_options(flags.or(file)).expect("valid");
        assert_eq!(
            (config.maxclients, config.links, config.queue_capacity),
            (9, 2, 4096)
        );
    }

    #[test]
    fn unknown_keys_and_bad_filters_are_refused() {
        let err = toml::from_str::<Options>("maxclient = 7\n").expect_err("unknown key");
        assert!(
            err.to_string().contains("unknown field `maxclient`"),
            "{err}"
        );
        let bad = Options {
            log: Some("info,[".into()),
            ..Options::default()
        };
        assert!(Config::from_options(bad).is_err());
    }
}
