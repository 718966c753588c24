//! Binary entry point: parse flags, start logging and the runtime, run until a signal.
//! Under systemd: takes the listening socket it passed, and reports readiness, liveness and
//! stopping through `sd_notify`. A fatal error is printed at error priority for journald.

use std::sync::Arc;

use tandem_proxy::config::{Config, Options};
use tandem_service::log::LogHandle;

fn main() -> std::process::ExitCode {
    // `<3>` under journald: `journalctl -p err` must show why the proxy did not start.
    tandem_service::log::exit_code(run())
}

fn run() -> anyhow::Result<()> {
    let (config, flags) = tandem_service::config::load::<Config>().map_err(anyhow::Error::msg)?;
    // Parsed: wipe the password from the command line `ps` shows, as Redis does.
    let hidden = tandem_service::process::hide_flag_values(&["--requirepass"]);
    let log = Arc::new(
        tandem_service::log::init(&config.log, config.log_format).map_err(anyhow::Error::msg)?,
    );
    if let Some(file) = &config.config_file {
        tracing::info!(file = %file.display(), "config file read");
    }
    if let Err(e) = hidden {
        tracing::warn!(error = %e, "could not hide --requirepass from the command line: prefer TANDEM_REQUIREPASS or the config file");
    }
    // Before any thread exists: this reads and clears LISTEN_* from the environment.
    let inherited = tandem_proxy::systemd::take_tcp_listener()?;
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if config.network_threads > 0 {
        rt.worker_threads(config.network_threads);
    }
    let rt = rt.enable_all().build()?;
    rt.block_on(async move {
        let from_systemd = inherited.is_some();
        let listener = match inherited {
            Some(std) => tokio::net::TcpListener::from_std(std)?,
            // A passed socket is already listening, with the socket unit's Backlog=.
            None => tandem_proxy::server::bind(config.listen, config.tcp_backlog)?,
        };
        let addr = listener.local_addr()?;
        let tls = tandem_proxy::server::bind_tls(&config).map_err(anyhow::Error::msg)?;
        let link_tls = tandem_proxy::tls::link_client(&config.link_tls_settings())
            .map_err(anyhow::Error::msg)?;
        if let Some(tls) = &tls {
            tracing::info!(addr = %tls.listener.local_addr()?, auth_clients = config.tls_auth_clients.as_str(), "TLS port listening");
        }
        let reloads = spawn_reloader(flags, log)?;
        let signalled = shutdown_signal()?;
        tracing::info!(%addr, from_systemd, storage = %config.storage_socket.display(), "tandem-proxy listening");
        // Ready as soon as clients can connect, even with storaged down: the links connect
        // (and reconnect) on their own and storage commands get error replies meanwhile.
        tandem_proxy::systemd::ready(&format!("serving on {addr}, storage at {}", config.storage_socket.display()));
        if let Some(every) = tandem_proxy::systemd::watchdog_interval() {
            // Proves the runtime still schedules tasks; a wedged runtime misses the deadline.
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                loop {
                    tick.tick().await;
                    tandem_proxy::systemd::watchdog();
                }
            });
        }
        let drain_timeout = config.drain_timeout();
        let shutdown = async move {
            signalled.await;
            tandem_proxy::systemd::stopping("draining: answering what clients sent, then closing them");
            // The drain may take up to drain-timeout; ask for that much beyond TimeoutStopSec.
            tandem_proxy::systemd::extend_timeout(drain_timeout + std::time::Duration::from_secs(30));
        };
        tandem_proxy::server::run(config, listener, tls, link_tls, shutdown, reloads).await;
        anyhow::Ok(())
    })?;
    tracing::info!("tandem-proxy stopped");
    Ok(())
}

/// On each SIGHUP: re-reads the config file (flags and variables still win), applies the
/// log filter (`tandem_service::config::reread`) and hands the rest to the server, which
/// reports the reload. A file that does not parse changes nothing.
fn spawn_reloader(
    flags: Options,
    log: Arc<LogHandle>,
) -> std::io::Result<tokio::sync::mpsc::Receiver<Config>> {
    use tokio::signal::unix::{signal, SignalKind};
    // Installed before READY=1: SIGHUP's default action would kill the process.
    let mut hup = signal(SignalKind::hangup())?;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let Some((new, _)) = tandem_service::config::reread::<Config>(&flags, &log) else {
                continue;
            };
            if tx.send(new).await.is_err() {
                return;
            }
        }
    });
    Ok(rx)
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
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
    })
}

/// jemalloc's background threads give freed pages back to the OS after its decay time
/// (10 s); glibc's malloc kept gigabytes after a burst of large values (issue 13). Off with
/// `--no-default-features`.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
