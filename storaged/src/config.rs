//! storaged configuration: storaged's keys, their defaults and which of them need a
//! restart, and the `checkpoint` and `restore` subcommands' arguments. Every setting has a
//! command-line flag, a `TANDEM_*` environment variable and a key in the TOML config file,
//! taken in that order (flag, then variable, then file, then the documented default); the
//! layering, file reading and reload reporting are `tandem_service::config`'s, shared with
//! the proxy. Applying a reload is `main`'s and the server's business.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Parser, Subcommand};
use serde::Deserialize;
use tandem_service::config::Settings;
use tandem_service::log::LogFormat;

use crate::engine::FsyncPolicy;

tandem_service::options! {
default_file = "/etc/tandem/storaged.toml";

/// `tandem-storaged`: the RocksDB storage daemon of tandem.
///
/// Every option is also a key of the config file (same name without `--`) and an
/// environment variable; a flag beats its variable, which beats the file.
#[derive(Parser, Deserialize, Debug, Clone, Default)]
#[command(name = "tandem-storaged", version, about, long_about = None)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    /// TOML config file [default: /etc/tandem/storaged.toml if it exists].
    #[arg(long, env = "TANDEM_STORAGED_CONFIG", global = true)]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Without a subcommand: run the daemon.
    #[command(subcommand)]
    #[serde(skip)]
    pub command: Option<Subcommands>,

    /// Directory holding the RocksDB database, created if missing [default: ./data].
    #[arg(long, env = "TANDEM_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// Unix socket to serve proxies on; ignored when systemd passes the socket
    /// [default: ./data/storaged.sock].
    #[arg(long, env = "TANDEM_SOCKET", global = true)]
    pub socket: Option<PathBuf>,

    /// WAL sync policy, like Redis `appendfsync`: `always` (sync before every reply),
    /// `everysec` (sync once a second; a crash of the machine may lose the last second, a
    /// crash of the process loses nothing), `no` (leave it to the OS) [default: everysec].
    #[arg(long, env = "TANDEM_FSYNC")]
    pub fsync: Option<String>,

    /// Threads for read-only requests; 0: two per core [default: 0].
    #[arg(long, env = "TANDEM_STORAGE_THREADS")]
    pub storage_threads: Option<usize>,

    /// Threads for socket I/O [default: 1].
    #[arg(long, env = "TANDEM_IO_THREADS")]
    pub io_threads: Option<usize>,

    /// Most write requests queued for the writer; beyond it sessions wait (backpressure)
    /// [default: 4096].
    #[arg(long, env = "TANDEM_WRITE_QUEUE")]
    pub write_queue: Option<usize>,

    /// Most requests merged into one WriteBatch (group commit) [default: 512].
    #[arg(long, env = "TANDEM_GROUP_COMMIT_MAX")]
    pub group_commit_max: Option<usize>,

    /// RocksDB block cache size in MiB [default: 256].
    #[arg(long, env = "TANDEM_BLOCK_CACHE_MB")]
    pub block_cache_mb: Option<usize>,

    /// The record cache of committed records, shared by the writer and in-memory reads,
    /// in MiB (saves a memtable search per key written or read; 0 disables it)
    /// [default: 256].
    #[arg(long, env = "TANDEM_RECORD_CACHE_MB", alias = "writer-cache-mb")]
    #[serde(alias = "writer-cache-mb")]
    pub record_cache_mb: Option<usize>,

    /// RocksDB memtable size per column family in MiB [default: 16; smaller memtables are faster to insert into, see docs/BENCHMARKS.md].
    #[arg(long, env = "TANDEM_WRITE_BUFFER_MB")]
    pub write_buffer_mb: Option<usize>,

    /// Memtables per column family before RocksDB stops writes, at least 2 [default: 2].
    #[arg(long, env = "TANDEM_MAX_WRITE_BUFFERS")]
    pub max_write_buffers: Option<i32>,

    /// L0 files at which RocksDB slows writes down [default: 20].
    #[arg(long, env = "TANDEM_L0_SLOWDOWN_TRIGGER")]
    pub l0_slowdown_trigger: Option<i32>,

    /// L0 files at which RocksDB stops writes until compaction catches up [default: 36].
    #[arg(long, env = "TANDEM_L0_STOP_TRIGGER")]
    pub l0_stop_trigger: Option<i32>,

    /// Flush and compaction bandwidth limit in KiB/s (0: unlimited). For benchmarks that
    /// force write stalls (`scripts/stall-bench`); never useful in production.
    #[arg(long, env = "TANDEM_BACKGROUND_RATE_LIMIT_KB", hide = true)]
    pub background_rate_limit_kb: Option<i64>,

    /// Benchmark comparison only: read-only requests queue behind writes in the writer
    /// thread, as in servers whose reads share the write path (`scripts/stall-bench`).
    #[arg(long, env = "TANDEM_READS_VIA_WRITER", hide = true, num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub reads_via_writer: Option<bool>,

    /// Largest link frame, in bytes [default: 603979776].
    #[arg(long, env = "TANDEM_MAX_FRAME")]
    pub max_frame: Option<u32>,

    /// Seconds a write request's reply is remembered for exactly-once resends, counted from
    /// when the proxy first queued it. Keep it well above the proxies'
    /// `--request-timeout-ms`; older resends are refused as "outcome unknown" [default: 60].
    #[arg(long, env = "TANDEM_REQUEST_MEMORY_SECS")]
    pub request_memory_secs: Option<u64>,

    /// Seconds to wait for proxies to collect in-flight replies when draining
    /// [default: 10].
    #[arg(long, env = "TANDEM_DRAIN_TIMEOUT")]
    pub drain_timeout: Option<u64>,

    /// MiB that expensive reads (LCS tables) may hold at once across the whole read pool; a
    /// read that needs more than is free waits, holding no thread, until enough is given
    /// back. 0: no bound [default: 1024].
    #[arg(long, env = "TANDEM_EXPENSIVE_READ_MEMORY_MB")]
    pub expensive_read_memory_mb: Option<u32>,

    /// Milliseconds a new peer may take to send its Hello before its link is closed (and
    /// logged); until then it is held to a 64 KiB frame limit [default: 10000].
    #[arg(long, env = "TANDEM_HANDSHAKE_TIMEOUT_MS")]
    pub handshake_timeout_ms: Option<u64>,

    /// Peer uids allowed to connect (SO_PEERCRED), comma-separated. A peer is let in when
    /// its uid or primary gid is listed; both lists empty: everyone who can open the socket.
    /// Reloadable [default: empty].
    #[arg(long, env = "TANDEM_ALLOW_UID", value_delimiter = ',')]
    pub allow_uid: Option<Vec<u32>>,

    /// Peer primary gids allowed to connect, comma-separated (see `--allow-uid`). Reloadable
    /// [default: empty].
    #[arg(long, env = "TANDEM_ALLOW_GID", value_delimiter = ',')]
    pub allow_gid: Option<Vec<u32>>,

    /// Whether storaged's own uid is always let in (for `tandem-storaged checkpoint`), even
    /// when the allow lists do not name it. Reloadable [default: true].
    #[arg(long, env = "TANDEM_ALLOW_SELF", num_args = 0..=1, default_missing_value = "true",
          value_parser = BoolishValueParser::new())]
    pub allow_self: Option<bool>,

    /// TCP address (HOST:PORT) to serve proxies on other hosts, with mutual TLS, beside
    /// the Unix socket; needs the three `proxy-tls-*-file` settings [default: none].
    #[arg(long, env = "TANDEM_LISTEN_PROXIES")]
    pub listen_proxies: Option<String>,

    /// PEM certificate chain storaged presents to proxies on the TCP port. Reloadable (new
    /// links) [default: ""].
    #[arg(long, env = "TANDEM_PROXY_TLS_CERT_FILE")]
    pub proxy_tls_cert_file: Option<PathBuf>,

    /// PEM private key of that certificate. Reloadable [default: ""].
    #[arg(long, env = "TANDEM_PROXY_TLS_KEY_FILE")]
    pub proxy_tls_key_file: Option<PathBuf>,

    /// PEM CA certificates every proxy's certificate must chain to. Reloadable
    /// [default: ""].
    #[arg(long, env = "TANDEM_PROXY_TLS_CA_CERT_FILE")]
    pub proxy_tls_ca_cert_file: Option<PathBuf>,

    /// Certificate names (subject CN or DNS subject alternative name) let in on the TCP
    /// port, comma-separated; empty: every certificate from the CA. Reloadable
    /// [default: empty].
    #[arg(long, env = "TANDEM_PROXY_TLS_ALLOW_NAMES", value_delimiter = ',')]
    pub proxy_tls_allow_names: Option<Vec<String>>,

    /// Keyspace notifications published at startup, in Redis's `notify-keyspace-events`
    /// letters (`KEA`, `Ex` …); `CONFIG SET notify-keyspace-events` through any proxy
    /// changes them until the next restart [default: empty, none].
    #[arg(long, env = "TANDEM_NOTIFY_KEYSPACE_EVENTS")]
    pub notify_keyspace_events: Option<String>,

    /// Milliseconds a Lua script or function may run before writes sent meanwhile are
    /// answered Redis's `-BUSY` instead of waiting for it (Redis `busy-reply-threshold`,
    /// alias `lua-time-limit`); `CONFIG SET busy-reply-threshold` through any proxy changes
    /// it until the next restart [default: 5000].
    #[arg(long, env = "TANDEM_BUSY_REPLY_THRESHOLD", alias = "lua-time-limit")]
    #[serde(alias = "lua-time-limit")]
    pub busy_reply_threshold: Option<u64>,

    /// The proxies' `request-timeout-ms`: a write waiting behind a running script is
    /// answered `-BUSY` before this long has passed since its proxy queued it, so no proxy
    /// times it out with its outcome unknown; keep equal to the proxies' [default: 5000].
    #[arg(long, env = "TANDEM_PROXY_REQUEST_TIMEOUT_MS")]
    pub proxy_request_timeout_ms: Option<u64>,

    /// Directory `SAVE` and `BGSAVE` write their checkpoint to (replaced whole by each
    /// save; restore from it with `tandem-storaged restore --from`)
    /// [default: the data directory's sibling `<data-dir>-save`].
    #[arg(long, env = "TANDEM_SAVE_DIR")]
    pub save_dir: Option<PathBuf>,

    /// Redis's `aclfile`: the ACL users file (one `user <name> <rules>` line per user) read
    /// at start instead of `<data-dir>/users.acl`, reread by `ACL LOAD` and written by
    /// `ACL SAVE` [default: none].
    #[arg(long, env = "TANDEM_ACLFILE")]
    pub aclfile: Option<PathBuf>,

    /// Log filter (tracing `EnvFilter` syntax). Reloadable [default: info].
    #[arg(long, env = "TANDEM_STORAGED_LOG", global = true)]
    pub log: Option<String>,

    /// Log line format: `text` (with `<N>` priorities and no timestamps under systemd) or
    /// `json` [default: text].
    #[arg(long, env = "TANDEM_LOG_FORMAT", global = true)]
    pub log_format: Option<LogFormat>,
}
}

/// What `tandem-storaged` does besides serving.
#[derive(Subcommand, Debug, Clone)]
pub enum Subcommands {
    /// Asks the running storaged (over its socket) for a RocksDB checkpoint in DIR: a
    /// consistent copy of the database, made without stopping, that `--data-dir DIR` opens.
    /// DIR must not exist yet and is resolved by storaged, so give an absolute path on a
    /// filesystem it can write (hard links when on the same one as the data).
    Checkpoint {
        /// Directory to create.
        dir: PathBuf,
    },
    /// Replaces the data directory (`--data-dir` or `TANDEM_DATA_DIR`, required here: never
    /// the default or the config file's) with a copy of a checkpoint, keeping the
    /// old data beside it as `<data-dir>.before-restore-<time>`. Refuses while a storaged
    /// holds the data directory (its RocksDB `LOCK`): under systemd stop
    /// `tandem-storaged.socket` as well as the service first, or activation restarts it.
    Restore {
        /// The checkpoint (or backup copy of one) to restore; it is copied, not moved.
        #[arg(long)]
        from: PathBuf,
    },
    /// Loads a Redis RDB file (Redis 6.x and 7.0: versions up to 10) into the data
    /// directory (`--data-dir`, required here), which no storaged may hold. All or nothing:
    /// a truncated or corrupt file is reported with its offset and the directory is left as
    /// it was. Keys of the file replace keys of the same name; expired keys are skipped.
    ImportRdb {
        /// The RDB file (`dump.rdb`).
        file: PathBuf,
    },
    /// Writes a Redis 7.0 RDB file (version 10) of the running storaged's data (on
    /// `--socket`), from one consistent checkpoint it makes beside `--data-dir`; the file
    /// appears whole or not at all. Streams are left out (counted) for now.
    ExportRdb {
        /// The RDB file to write (replaced if it exists).
        file: PathBuf,
    },
}

/// The settings in force: flags, variables, file and defaults merged.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file the settings were read from, if any.
    pub config_file: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub socket: PathBuf,
    pub fsync: FsyncPolicy,
    pub storage_threads: usize,
    pub io_threads: usize,
    pub write_queue: usize,
    pub group_commit_max: usize,
    pub block_cache_mb: usize,
    pub record_cache_mb: usize,
    pub write_buffer_mb: usize,
    pub max_write_buffers: i32,
    pub l0_slowdown_trigger: i32,
    pub l0_stop_trigger: i32,
    pub background_rate_limit_kb: i64,
    pub reads_via_writer: bool,
    pub max_frame: u32,
    pub request_memory_secs: u64,
    pub drain_timeout: u64,
    pub handshake_timeout_ms: u64,
    pub expensive_read_memory_mb: u32,
    pub allow_uid: Vec<u32>,
    pub allow_gid: Vec<u32>,
    pub allow_self: bool,
    /// Empty: no TCP port for proxies.
    pub listen_proxies: String,
    pub proxy_tls_cert_file: PathBuf,
    pub proxy_tls_key_file: PathBuf,
    pub proxy_tls_ca_cert_file: PathBuf,
    pub proxy_tls_allow_names: Vec<String>,
    pub notify_keyspace_events: tandem_shared::notify::Flags,
    pub busy_reply_threshold: u64,
    pub proxy_request_timeout_ms: u64,
    pub save_dir: PathBuf,
    /// Empty: no `aclfile`.
    pub aclfile: PathBuf,
    pub log: String,
    pub log_format: LogFormat,
}

impl Settings for Config {
    type Options = Options;

    /// Fills what `o` leaves unset with the defaults.
    ///
    /// # Errors
    /// An invalid log filter or fsync policy.
    fn from_options(o: Options) -> Result<Config, String> {
        let log = o.log.unwrap_or_else(|| "info".to_owned());
        tandem_service::log::parse_filter(&log)?;
        let fsync = match o.fsync {
            None => FsyncPolicy::EverySec,
            Some(text) => text
                .parse()
                .map_err(|_| format!("fsync must be always, everysec or no, not {text:?}"))?,
        };
        let notify = o.notify_keyspace_events.unwrap_or_default();
        let notify_keyspace_events = tandem_shared::notify::Flags::parse(notify.as_bytes())
            .ok_or_else(|| {
                format!("notify-keyspace-events: invalid event class in {notify:?}; use 'Ag$lshzxeKEtmdn'")
            })?;
        let data_dir = o.data_dir.unwrap_or_else(|| PathBuf::from("./data"));
        let save_dir = o
            .save_dir
            .unwrap_or_else(|| crate::checkpoint::default_save_dir(&data_dir));
        Ok(Config {
            config_file: o.config,
            data_dir,
            save_dir,
            socket: o
                .socket
                .unwrap_or_else(|| PathBuf::from("./data/storaged.sock")),
            fsync,
            storage_threads: o.storage_threads.unwrap_or(0),
            io_threads: o.io_threads.unwrap_or(1),
            write_queue: o.write_queue.unwrap_or(4096),
            group_commit_max: o.group_commit_max.unwrap_or(512),
            block_cache_mb: o.block_cache_mb.unwrap_or(256),
            record_cache_mb: o.record_cache_mb.unwrap_or(256),
            write_buffer_mb: o.write_buffer_mb.unwrap_or(16),
            max_write_buffers: o.max_write_buffers.unwrap_or(2),
            l0_slowdown_trigger: o.l0_slowdown_trigger.unwrap_or(20),
            l0_stop_trigger: o.l0_stop_trigger.unwrap_or(36),
            background_rate_limit_kb: o.background_rate_limit_kb.unwrap_or(0),
            reads_via_writer: o.reads_via_writer.unwrap_or(false),
            max_frame: o
                .max_frame
                .unwrap_or(tandem_shared::wire::DEFAULT_MAX_FRAME),
            request_memory_secs: o
                .request_memory_secs
                .unwrap_or(crate::dedup::DEFAULT_WINDOW_SECS),
            drain_timeout: o.drain_timeout.unwrap_or(10),
            handshake_timeout_ms: o.handshake_timeout_ms.unwrap_or(10_000),
            expensive_read_memory_mb: o.expensive_read_memory_mb.unwrap_or(1024),
            allow_uid: o.allow_uid.unwrap_or_default(),
            allow_gid: o.allow_gid.unwrap_or_default(),
            allow_self: o.allow_self.unwrap_or(true),
            listen_proxies: o.listen_proxies.unwrap_or_default(),
            proxy_tls_cert_file: o.proxy_tls_cert_file.unwrap_or_default(),
            proxy_tls_key_file: o.proxy_tls_key_file.unwrap_or_default(),
            proxy_tls_ca_cert_file: o.proxy_tls_ca_cert_file.unwrap_or_default(),
            proxy_tls_allow_names: o.proxy_tls_allow_names.unwrap_or_default(),
            notify_keyspace_events,
            busy_reply_threshold: o
                .busy_reply_threshold
                .unwrap_or(crate::scripts::BUSY_REPLY_THRESHOLD_MS),
            proxy_request_timeout_ms: o.proxy_request_timeout_ms.unwrap_or(5000),
            aclfile: o.aclfile.unwrap_or_default(),
            log,
            log_format: o.log_format.unwrap_or_default(),
        })
    }

    fn log_filter(&self) -> &str {
        &self.log
    }

    /// Applied by `main`'s reloader (the log filter by `tandem_service::config`).
    const RELOADABLE: &'static [&'static str] = &[
        "allow-uid",
        "allow-gid",
        "allow-self",
        "proxy-tls-allow-names",
        "proxy-tls-cert-file",
        "proxy-tls-key-file",
        "proxy-tls-ca-cert-file",
        "log",
    ];

    tandem_service::restart_only! {
        "data-dir" => data_dir,
        "socket" => socket,
        "fsync" => fsync,
        "notify-keyspace-events" => notify_keyspace_events,
        "busy-reply-threshold" => busy_reply_threshold,
        "proxy-request-timeout-ms" => proxy_request_timeout_ms,
        "save-dir" => save_dir,
        "aclfile" => aclfile,
        "storage-threads" => storage_threads,
        "io-threads" => io_threads,
        "write-queue" => write_queue,
        "group-commit-max" => group_commit_max,
        "block-cache-mb" => block_cache_mb,
        "record-cache-mb" => record_cache_mb,
        "write-buffer-mb" => write_buffer_mb,
        "max-write-buffers" => max_write_buffers,
        "l0-slowdown-trigger" => l0_slowdown_trigger,
        "l0-stop-trigger" => l0_stop_trigger,
        "background-rate-limit-kb" => background_rate_limit_kb,
        "reads-via-writer" => reads_via_writer,
        "max-frame" => max_frame,
        "request-memory-secs" => request_memory_secs,
        "drain-timeout" => drain_timeout,
        "handshake-timeout-ms" => handshake_timeout_ms,
        "expensive-read-memory-mb" => expensive_read_memory_mb,
        "log-format" => log_format,
        "listen-proxies" => listen_proxies,
    }
}

impl Config {
    /// The peer policy these settings describe.
    pub fn peer_policy(&self) -> crate::peer::PeerPolicy {
        crate::peer::PeerPolicy {
            uids: self.allow_uid.clone(),
            gids: self.allow_gid.clone(),
            allow_self: self.allow_self,
            own_uid: nix::unistd::getuid().as_raw(),
            names: self.proxy_tls_allow_names.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use tandem_service::config::Layered;

    fn shipped() -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/storaged.toml");
        std::fs::read_to_string(path).expect("config/storaged.toml")
    }

    /// The shipped file lists every (non-hidden) key, commented out, with the default:
    /// uncommented it must parse and give exactly the built-in defaults.
    #[test]
    fn shipped_file_documents_every_key_with_its_default() {
        let uncommented = tandem_service::file::uncomment_keys(&shipped());
        let options: Options = toml::from_str(&uncommented).expect("uncommented file parses");
        let keys = uncommented.lines().count();
        let flags = tandem_service::config::file_keys::<Options>();
        assert_eq!(keys, flags, "keys in config/storaged.toml:\n{uncommented}");
        let from_file = Config::from_options(options).expect("valid");
        let defaults = Config::from_options(Options::default()).expect("valid");
        assert_eq!(from_file, defaults);
    }

    /// A key added without saying whether a reload applies it would be ignored silently.
    #[test]
    fn every_key_is_reloadable_or_restart_only() {
        assert_eq!(tandem_service::config::check_keys::<Config>(), Ok(()));
    }

    #[test]
    fn flags_beat_the_file_and_lists_parse_both_ways() {
        let file: Options =
            toml::from_str("allow-uid = [1, 2]\nallow-self = false\nio-threads = 3\n")
                .expect("parses");
        let flags =
            Options::try_parse_from(["tandem-storaged", "--allow-uid", "7,8", "--io-threads", "2"])
                .expect("flags");
        let config = Config::from_options(flags.or(file)).expect("valid");
        assert_eq!(config.allow_uid, vec![7, 8]);
        assert_eq!((config.allow_self, config.io_threads), (false, 2));
    }

    #[test]
    fn the_record_cache_keeps_its_old_name() {
        let file: Options = toml::from_str("writer-cache-mb = 32\n").expect("old key parses");
        assert_eq!(file.record_cache_mb, Some(32));
        let flags = Options::try_parse_from(["tandem-storaged", "--writer-cache-mb", "8"])
            .expect("old flag parses");
        assert_eq!(flags.record_cache_mb, Some(8));
        let config = Config::from_options(Options::default()).expect("valid");
        assert_eq!(config.record_cache_mb, 256);
    }

    #[test]
    fn checkpoint_subcommand_takes_global_flags() {
        let flags =
            Options::try_parse_from(["tandem-storaged", "checkpoint", "/tmp/x", "--socket", "/s"])
                .expect("flags");
        assert!(
            matches!(flags.command, Some(Subcommands::Checkpoint { ref dir }) if dir == Path::new("/tmp/x"))
        );
        assert_eq!(flags.socket.as_deref(), Some(Path::new("/s")));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let err = toml::from_str::<Options>("datadir = \"x\"\n").expect_err("unknown key");
        assert!(err.to_string().contains("unknown field `datadir`"), "{err}");
        let bad = Options {
            fsync: Some("sometimes".into()),
            ..Options::default()
        };
        assert_eq!(
            Config::from_options(bad),
            Err("fsync must be always, everysec or no, not \"sometimes\"".to_owned())
        );
    }

    /// The policy is parsed once, here (any case, as before), and the server takes it as is.
    #[test]
    fn fsync_is_typed_with_everysec_by_default() {
        let config = Config::from_options(Options::default()).expect("valid");
        assert_eq!(config.fsync, FsyncPolicy::EverySec);
        let flags =
            Options::try_parse_from(["tandem-storaged", "--fsync", "Always"]).expect("flags");
        let config = Config::from_options(flags).expect("valid");
        assert_eq!(config.fsync, FsyncPolicy::Always);
    }
}
