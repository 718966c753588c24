//! Proxy configuration: the proxy's keys, their defaults and which of them need a restart.
//! Every setting has a command-line flag, a `TANDEM_*` environment variable and a key in
//! the TOML config file, taken in that order (flag, then variable, then file, then the
//! documented default); the layering, file reading and reload reporting are
//! `tandem_service::config`'s, shared with storaged. Applying a reload is the server's
//! business (`server::apply_reload`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde::Deserialize;
use tandem_service::config::Settings;
use tandem_service::log::LogFormat;

/// Default listen backlog: Redis's `tcp-backlog` default. Rust's and tokio's `bind` use 128,
/// which a burst of connects overflows (dropped SYNs wait a 1 s retransmit).
pub const DEFAULT_TCP_BACKLOG: u32 = 511;

tandem_service::options! {
default_file = "/etc/tandem/proxy.toml";

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

    /// Unix socket of tandem-storaged, or `tcp://HOST:PORT` of its `listen-proxies` on
    /// another host (mutual TLS, with the `storage-tls-*` files)
    /// [default: ./data/storaged.sock].
    #[arg(long, env = "TANDEM_STORAGE_SOCKET")]
    pub storage_socket: Option<PathBuf>,

    /// PEM certificate chain this proxy presents to storaged over TCP. Reloadable (new
    /// links) [default: ""].
    #[arg(long, env = "TANDEM_STORAGE_TLS_CERT_FILE")]
    pub storage_tls_cert_file: Option<PathBuf>,

    /// PEM private key of that certificate. Reloadable [default: ""].
    #[arg(long, env = "TANDEM_STORAGE_TLS_KEY_FILE")]
    pub storage_tls_key_file: Option<PathBuf>,

    /// PEM CA certificates storaged's certificate must chain to. Reloadable [default: ""].
    #[arg(long, env = "TANDEM_STORAGE_TLS_CA_CERT_FILE")]
    pub storage_tls_ca_cert_file: Option<PathBuf>,

    /// Name storaged's certificate must carry; empty: the host of `storage-socket`
    /// [default: ""].
    #[arg(long, env = "TANDEM_STORAGE_TLS_SERVER_NAME")]
    pub storage_tls_server_name: Option<String>,

    /// Password clients must give with AUTH or HELLO ... AUTH; empty: none. Reloadable
    /// [default: ""].
    #[arg(long, env = "TANDEM_REQUIREPASS")]
    pub requirepass: Option<String>,

    /// Redis `protected-mode`: `yes` refuses clients not connecting from 127.0.0.1 or ::1
    /// with Redis's DENIED error while the default user has no password; `no` serves them.
    /// Reloadable, and `CONFIG SET protected-mode` [default: yes].
    #[arg(long, env = "TANDEM_PROTECTED_MODE")]
    pub protected_mode: Option<String>,

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

    /// Whether `DEBUG` runs (Redis `enable-debug-command`): `no`, `yes`, or `local` (only
    /// from loopback and Unix connections). Restart only [default: no].
    #[arg(long, env = "TANDEM_ENABLE_DEBUG_COMMAND")]
    pub enable_debug_command: Option<String>,

    /// TCP port to serve RESP over TLS on, on the address of `--listen`, beside the plain
    /// port (Redis `tls-port`); 0: no TLS port [default: 0].
    #[arg(long, env = "TANDEM_TLS_PORT")]
    pub tls_port: Option<u16>,

    /// PEM certificate chain of the TLS port (Redis `tls-cert-file`). Reloadable
    /// [default: ""].
    #[arg(long, env = "TANDEM_TLS_CERT_FILE")]
    pub tls_cert_file: Option<PathBuf>,

    /// PEM private key of that certificate (Redis `tls-key-file`). Reloadable [default: ""].
    #[arg(long, env = "TANDEM_TLS_KEY_FILE")]
    pub tls_key_file: Option<PathBuf>,

    /// PEM CA certificates client certificates must chain to (Redis `tls-ca-cert-file`).
    /// Reloadable [default: ""].
    #[arg(long, env = "TANDEM_TLS_CA_CERT_FILE")]
    pub tls_ca_cert_file: Option<PathBuf>,

    /// Whether TLS clients must present a certificate from `tls-ca-cert-file`: yes, no or
    /// optional (Redis `tls-auth-clients`). Reloadable [default: yes].
    #[arg(long, env = "TANDEM_TLS_AUTH_CLIENTS")]
    pub tls_auth_clients: Option<String>,

    /// TLS versions the TLS port accepts, e.g. "TLSv1.2 TLSv1.3" (Redis `tls-protocols`);
    /// empty: both. Reloadable [default: ""].
    #[arg(long, env = "TANDEM_TLS_PROTOCOLS")]
    pub tls_protocols: Option<String>,

    /// TLS 1.3 cipher suites, OpenSSL names separated by `:` (Redis `tls-ciphersuites`);
    /// empty: all rustls has. Reloadable [default: ""].
    #[arg(long, env = "TANDEM_TLS_CIPHERSUITES")]
    pub tls_ciphersuites: Option<String>,
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
    /// Used when `storage_socket` is `tcp://…`; empty paths: not set.
    pub storage_tls_cert_file: PathBuf,
    pub storage_tls_key_file: PathBuf,
    pub storage_tls_ca_cert_file: PathBuf,
    pub storage_tls_server_name: String,
    pub requirepass: String,
    /// `protected-mode` (see `crate::protected`).
    pub protected_mode: bool,
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
    /// `enable-debug-command`: `no`, `yes` or `local`.
    pub enable_debug_command: String,
    /// 0: no TLS port.
    pub tls_port: u16,
    /// Empty paths: not set.
    pub tls_cert_file: PathBuf,
    pub tls_key_file: PathBuf,
    pub tls_ca_cert_file: PathBuf,
    pub tls_auth_clients: crate::tls::AuthClients,
    pub tls_protocols: String,
    pub tls_ciphersuites: String,
}

impl Settings for Config {
    type Options = Options;

    /// Fills what `o` leaves unset with the defaults.
    ///
    /// # Errors
    /// An invalid log filter.
    fn from_options(o: Options) -> Result<Config, String> {
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
            storage_tls_cert_file: o.storage_tls_cert_file.unwrap_or_default(),
            storage_tls_key_file: o.storage_tls_key_file.unwrap_or_default(),
            storage_tls_ca_cert_file: o.storage_tls_ca_cert_file.unwrap_or_default(),
            storage_tls_server_name: o.storage_tls_server_name.unwrap_or_default(),
            requirepass: o.requirepass.unwrap_or_default(),
            protected_mode: match o.protected_mode.as_deref() {
                None => true,
                Some(w) => match w.to_ascii_lowercase().as_str() {
                    "yes" => true,
                    "no" => false,
                    _ => return Err(format!("protected-mode must be yes or no, not {w:?}")),
                },
            },
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
            enable_debug_command: match o.enable_debug_command.as_deref() {
                None => "no".to_owned(),
                Some(w) => match w.to_ascii_lowercase().as_str() {
                    v @ ("no" | "yes" | "local") => v.to_owned(),
                    _ => {
                        return Err(format!(
                            "enable-debug-command must be no, yes or local, not {w:?}"
                        ))
                    }
                },
            },
            tls_port: o.tls_port.unwrap_or(0),
            tls_cert_file: o.tls_cert_file.unwrap_or_default(),
            tls_key_file: o.tls_key_file.unwrap_or_default(),
            tls_ca_cert_file: o.tls_ca_cert_file.unwrap_or_default(),
            tls_auth_clients: match o.tls_auth_clients.as_deref() {
                Some(word) => crate::tls::AuthClients::parse(word)?,
                None => crate::tls::AuthClients::Yes,
            },
            tls_protocols: o.tls_protocols.unwrap_or_default(),
            tls_ciphersuites: o.tls_ciphersuites.unwrap_or_default(),
        })
    }

    fn log_filter(&self) -> &str {
        &self.log
    }

    /// Applied by `server::apply_reload` (the log filter by `tandem_service::config`).
    /// The `tls-*` files and settings are read again and swapped in for new handshakes.
    const RELOADABLE: &'static [&'static str] = &[
        "requirepass",
        "protected-mode",
        "maxclients",
        "proto-max-bulk-len",
        "log",
        "tls-cert-file",
        "tls-key-file",
        "tls-ca-cert-file",
        "tls-auth-clients",
        "tls-protocols",
        "tls-ciphersuites",
        "storage-tls-cert-file",
        "storage-tls-key-file",
        "storage-tls-ca-cert-file",
    ];

    tandem_service::restart_only! {
        "listen" => listen,
        "tcp-backlog" => tcp_backlog,
        "storage-socket" => storage_socket,
        "network-threads" => network_threads,
        "links" => links,
        "queue-capacity" => queue_capacity,
        "request-timeout-ms" => request_timeout_ms,
        "request-timeout-mib-per-sec" => request_timeout_mib_per_sec,
        "pipeline-batch" => pipeline_batch,
        "max-frame" => max_frame,
        "drain-timeout" => drain_timeout_secs,
        "log-format" => log_format,
        "enable-debug-command" => enable_debug_command,
        "tls-port" => tls_port,
        "storage-tls-server-name" => storage_tls_server_name,
    }
}

impl Config {
    /// The request deadline as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// The TLS port's settings (see `crate::tls`).
    pub fn tls_settings(&self) -> crate::tls::TlsSettings {
        crate::tls::TlsSettings {
            cert_file: self.tls_cert_file.clone(),
            key_file: self.tls_key_file.clone(),
            ca_cert_file: self.tls_ca_cert_file.clone(),
            auth_clients: self.tls_auth_clients,
            protocols: self.tls_protocols.clone(),
            ciphersuites: self.tls_ciphersuites.clone(),
        }
    }

    /// The settings of a link to storaged over TCP (see `crate::tls::link_client`).
    pub fn link_tls_settings(&self) -> crate::tls::LinkTlsSettings {
        crate::tls::LinkTlsSettings {
            storage: self.storage_socket.clone(),
            cert_file: self.storage_tls_cert_file.clone(),
            key_file: self.storage_tls_key_file.clone(),
            ca_cert_file: self.storage_tls_ca_cert_file.clone(),
            server_name: self.storage_tls_server_name.clone(),
        }
    }

    /// How long a stopping proxy lets its clients collect their replies.
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_service::config::Layered;

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
        let flags = tandem_service::config::file_keys::<Options>();
        assert_eq!(keys, flags, "keys in config/proxy.toml:\n{uncommented}");
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
