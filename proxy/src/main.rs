//! Binary entry point: parse flags, start logging and the runtime, run until a signal.
//! Under systemd: takes the listening socket it passed, and reports readiness, liveness and
//! stopping through `sd_notify`.

use clap::Parser;
use tandem_proxy::config::Config;

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&config.log))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
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
            None => tokio::net::TcpListener::bind(config.listen).await?,
        };
        let addr = listener.local_addr()?;
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
        let shutdown = async {
            shutdown_signal().await;
            tandem_proxy::systemd::stopping("closing client connections");
        };
        tandem_proxy::server::run(config, listener, shutdown).await;
        anyhow::Ok(())
    })?;
    tracing::info!("tandem-proxy stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stopping");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
}
