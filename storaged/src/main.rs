//! Binary entry point: read the config, start logging, then either run storaged until
//! SIGTERM/SIGINT (reloading on SIGHUP), or with `checkpoint DIR` ask the running storaged
//! for a checkpoint, or with `restore --from DIR` put a checkpoint in place of the stopped
//! storaged's data directory. A fatal error is printed at error priority for journald.
//! Under systemd: takes the Unix socket `tandem-storaged.socket` passed (`LISTEN_FDS`).

use std::sync::{Arc, RwLock};

use tandem_service::log::LogHandle;
use tandem_storaged::config::{Config, Options, Subcommands};
use tandem_storaged::peer::PeerPolicy;

fn main() -> std::process::ExitCode {
    // `<3>` under journald: `journalctl -p err` must show why storaged did not start.
    tandem_service::log::exit_code(run())
}

fn run() -> anyhow::Result<()> {
    // The database is nobody else's business whatever the caller's umask: the data
    // directory is created 0700 and RocksDB's files 0600 (the socket is set 0660 after
    // binding, for the proxies' group). The systemd unit says the same with UMask=0077.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let (config, flags) = tandem_service::config::load::<Config>().map_err(anyhow::Error::msg)?;
    match &flags.command {
        Some(Subcommands::Checkpoint { dir }) => {
            let made = tandem_storaged::checkpoint::request(&config.socket, dir, config.max_frame)
                .map_err(anyhow::Error::msg)?;
            println!("{made}");
            return Ok(());
        }
        Some(Subcommands::Restore { from }) => {
            // Destructive: the directory to replace must be named, never the ./data default.
            let Some(data_dir) = &flags.data_dir else {
                anyhow::bail!(
                    "restore needs --data-dir DIR (or TANDEM_DATA_DIR): the data directory to replace"
                );
            };
            let done =
                tandem_storaged::restore::restore(from, data_dir).map_err(anyhow::Error::msg)?;
            println!("{done}");
            return Ok(());
        }
        Some(Subcommands::ImportRdb { file }) => {
            // Like restore: the directory to load into must be named.
            if flags.data_dir.is_none() {
                anyhow::bail!(
                    "import-rdb needs --data-dir DIR (or TANDEM_DATA_DIR): the data directory to load into"
                );
            }
            let done =
                tandem_storaged::rdb::import::import(file, &config).map_err(anyhow::Error::msg)?;
            println!("{done}");
            return Ok(());
        }
        Some(Subcommands::ExportRdb { file }) => {
            let done =
                tandem_storaged::rdb::export::export(file, &config).map_err(anyhow::Error::msg)?;
            println!("{done}");
            return Ok(());
        }
        None => {}
    }
    let log =
        tandem_service::log::init(&config.log, config.log_format).map_err(anyhow::Error::msg)?;
    if let Some(file) = &config.config_file {
        tracing::info!(file = %file.display(), "config file read");
    }
    // Before any thread exists: this reads and clears LISTEN_* from the environment.
    let inherited = tandem_storaged::systemd::take_unix_listener()?;
    let storage_threads = if config.storage_threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
    } else {
        config.storage_threads
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.io_threads.max(1))
        .max_blocking_threads(storage_threads)
        .thread_name("storaged-io")
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let peers = Arc::new(RwLock::new(config.peer_policy()));
        // Installed before the server reports READY=1: SIGHUP's default action would kill.
        spawn_reloader(config.clone(), flags, log, peers.clone())?;
        // Also before READY=1 (sent inside `run`).
        let shutdown = shutdown_signal()?;
        tandem_storaged::server::run(config, inherited, peers, shutdown).await?;
        anyhow::Ok(())
    })?;
    tracing::info!("tandem-storaged stopped");
    Ok(())
}

/// On each SIGHUP: re-reads the config file (flags and variables still win) and applies what
/// can change live — the log filter, the peer allow lists and the listen-proxies TLS files
/// (for links opened from then on) — logging each change. Other changed settings are logged
/// as needing a restart. A file that does not parse changes nothing.
fn spawn_reloader(
    running: Config,
    flags: Options,
    log: LogHandle,
    peers: Arc<RwLock<PeerPolicy>>,
) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let Some((new, log_changed)) = tandem_service::config::reread::<Config>(&flags, &log)
            else {
                continue;
            };
            let mut changed = usize::from(log_changed);
            let policy = new.peer_policy();
            let mut current = match peers.write() {
                Ok(p) => p,
                Err(poisoned) => poisoned.into_inner(),
            };
            if *current != policy {
                tracing::info!(
                    allow_uid = ?policy.uids,
                    allow_gid = ?policy.gids,
                    allow_self = policy.allow_self,
                    "reload: peer allow lists changed (links already open stay)"
                );
                *current = policy;
                changed += 1;
            }
            drop(current);
            // The listen-proxies port's files, re-read every time: rotation replaces the
            // files under the same names.
            let files = [
                &new.proxy_tls_cert_file,
                &new.proxy_tls_key_file,
                &new.proxy_tls_ca_cert_file,
            ];
            match tandem_storaged::transport::reload(files[0], files[1], files[2]) {
                Some(Ok(())) => {
                    tracing::info!(
                        "reload: proxy-tls certificate, key and CA re-read; new links use them (links already up stay)"
                    );
                    changed += 1;
                }
                Some(Err(e)) => tracing::error!(error = %e, "reload: proxy-tls files kept"),
                None => {}
            }
            tandem_service::config::reload_done(&running, &new, changed);
        }
    });
    Ok(())
}

/// Installs the SIGTERM and SIGINT handlers now — before READY=1, since either signal's
/// default action would kill the process without a clean stop — and returns a future that
/// resolves at the first of them.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: draining"),
            _ = int.recv() => tracing::info!("SIGINT: draining"),
        }
    })
}

/// jemalloc's background threads give freed pages back to the OS after its decay time
/// (10 s); glibc's malloc kept gigabytes after a burst of large values (issue 13). Off with
/// `--no-default-features`.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
