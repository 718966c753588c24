//! Binary entry point: parse flags, start logging and the runtime, run until a signal.

use clap::Parser;
use tandem_proxy::config::Config;

fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&config.log))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if config.network_threads > 0 {
        rt.worker_threads(config.network_threads);
    }
    let rt = rt.enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        tracing::info!(addr = %listener.local_addr()?, storage = %config.storage_socket.display(), "tandem-proxy listening");
        tandem_proxy::server::run(config, listener, shutdown_signal()).await;
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
