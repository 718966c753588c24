//! Binary entry point: parse flags, start logging, run storaged until SIGTERM/SIGINT.
//! Under systemd: takes the Unix socket `tandem-storaged.socket` passed (`LISTEN_FDS`).

use clap::Parser;
use tandem_storaged::config::Config;

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&config.log))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
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
    rt.block_on(tandem_storaged::server::run(
        config,
        inherited,
        shutdown_signal(),
    ))?;
    tracing::info!("tandem-storaged stopped");
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
        _ = term.recv() => tracing::info!("SIGTERM: draining"),
        _ = int.recv() => tracing::info!("SIGINT: draining"),
    }
}
