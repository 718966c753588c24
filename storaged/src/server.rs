//! storaged's lifecycle: open the engine, bind the Unix socket, accept proxy links, and on
//! the shutdown signal drain in order — tell proxies, answer what is in flight, stop the
//! writer, sync the WAL, close RocksDB.
//!
//! With `listen-proxies`, proxies on other hosts connect over TCP too: each completes a
//! mutual TLS handshake (its certificate must chain to `proxy-tls-ca-cert-file`) and passes
//! the name allow list before its link is served exactly like a Unix one.

use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::UnixListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::engine::{Engine, EngineOptions, FsyncPolicy};
use crate::error::ServerError;
use crate::executor::Executor;
use crate::peer::PeerPolicy;
use crate::pubsub::Hub;
use crate::transport::{Identity, Transport};

/// Opens the database and serves until `shutdown` resolves, then drains and closes. Serves on
/// `inherited` when systemd passed a socket (and then never unlinks it: systemd owns the path,
/// and proxies' connects wait in its backlog across a restart), else binds `config.socket`.
/// Each accepted peer is checked against `peers` (which a reload may replace) first.
///
/// # Errors
/// Bad configuration, an engine that cannot open, or a socket that cannot be bound.
pub async fn run(
    config: Config,
    inherited: Option<std::os::unix::net::UnixListener>,
    peers: Arc<RwLock<PeerPolicy>>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ServerError> {
    let fsync = config.fsync;
    std::fs::create_dir_all(&config.data_dir).map_err(|source| ServerError::Socket {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let options = EngineOptions {
        fsync,
        block_cache_bytes: config.block_cache_mb * 1024 * 1024,
        record_cache_bytes: config.record_cache_mb * 1024 * 1024,
        write_buffer_bytes: config.write_buffer_mb.max(1) * 1024 * 1024,
        max_write_buffers: config.max_write_buffers,
        l0_slowdown_trigger: config.l0_slowdown_trigger,
        l0_stop_trigger: config.l0_stop_trigger,
        background_rate_limit: config.background_rate_limit_kb.saturating_mul(1024),
        ..EngineOptions::default()
    };
    let dir = config.data_dir.clone();
    let engine = tokio::task::spawn_blocking(move || Engine::open(&dir, &options))
        .await
        .map_err(|e| ServerError::Config(format!("engine open task failed: {e}")))??;
    tracing::info!(dir = %config.data_dir.display(), ?fsync, "database open");
    // SAVE/BGSAVE's directory; LASTSAVE counts from here until the first save.
    crate::checkpoint::configure(config.save_dir.clone());
    // The deployment's ACL users (`crate::acl`), from the aclfile or <data-dir>/users.acl.
    crate::acl::configure(&config.data_dir, &config.aclfile).map_err(ServerError::Config)?;

    let from_systemd = inherited.is_some();
    let listener = match inherited {
        Some(std) => UnixListener::from_std(std).map_err(|source| ServerError::Socket {
            path: "socket passed by systemd".into(),
            source,
        })?,
        None => bind(&config)?,
    };
    let socket_name = listener
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
        .unwrap_or_else(|| config.socket.display().to_string());
    let proxy_port = bind_proxies(&config).await?;
    if let Some((tcp, _)) = &proxy_port {
        let addr = tcp.local_addr().map(|a| a.to_string()).unwrap_or_default();
        tracing::info!(%addr, "serving proxies on TCP with mutual TLS");
    }
    tracing::info!(socket = %socket_name, from_systemd, "tandem-storaged serving");

    // One hub per server, shared by the executor and every link (no global).
    let hub = Arc::new(Hub::new(config.notify_keyspace_events));
    let executor = Arc::new(
        Executor::start(
            engine.clone(),
            hub,
            config.write_queue,
            config.group_commit_max,
            config.max_frame,
            config.request_memory_secs.max(1) * 1000,
        )
        .map(|e| {
            e.with_reads_via_writer(config.reads_via_writer)
                .with_expensive_read_budget(config.expensive_read_memory_mb)
                .with_script_limits(config.busy_reply_threshold, config.proxy_request_timeout_ms)
        })
        .map_err(|source| ServerError::Socket {
            path: "writer thread".into(),
            source,
        })?,
    );
    let stop = CancellationToken::new();
    let background = spawn_background(engine.clone(), executor.clone(), fsync, stop.clone());
    let watchdog = crate::systemd::watchdog_interval()
        .map(|every| spawn_watchdog(engine.clone(), every, stop.clone()));
    crate::systemd::ready(&format!(
        "serving on {socket_name}, data in {}",
        config.data_dir.display()
    ));

    let instance_id: u64 = rand_id();
    let drain = CancellationToken::new();
    let links = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            // SHUTDOWN through a proxy (`crate::control`): the same drain as SIGTERM.
            _ = crate::control::control().stopped() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if let Err(why) = admit(&stream, &peers) {
                        tracing::error!(reason = %why, "refusing link");
                        links.spawn(refuse(stream, why, instance_id, config.max_frame));
                        continue;
                    }
                    let deadlines = crate::link::Deadlines {
                        handshake: Duration::from_millis(config.handshake_timeout_ms.max(1)),
                        drain: Duration::from_secs(config.drain_timeout),
                    };
                    links.spawn(crate::link::serve(Transport::Unix(stream), executor.clone(), instance_id, config.max_frame, drain.clone(), deadlines));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            accepted = accept_tcp(proxy_port.as_ref()) => match accepted {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let Some((_, acceptor)) = &proxy_port else { continue };
                    let deadlines = crate::link::Deadlines {
                        handshake: Duration::from_millis(config.handshake_timeout_ms.max(1)),
                        drain: Duration::from_secs(config.drain_timeout),
                    };
                    let link = TcpLink {
                        acceptor: acceptor.clone(),
                        peers: peers.clone(),
                        executor: executor.clone(),
                        instance_id,
                        max_frame: config.max_frame,
                        drain: drain.clone(),
                        deadlines,
                    };
                    links.spawn(link.serve(stream, addr));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept on listen-proxies failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
    // Drain: stop accepting, tell every proxy, answer what is in flight.
    crate::systemd::stopping("draining: answering in-flight requests");
    // The drain may take up to drain_timeout; ask for that much beyond TimeoutStopSec.
    crate::systemd::extend_timeout(Duration::from_secs(config.drain_timeout + 30));
    drop(listener);
    drop(proxy_port);
    if !from_systemd {
        let _ = std::fs::remove_file(&config.socket);
    }
    drain.cancel();
    links.close();
    links.wait().await;
    crate::systemd::status("drained; syncing WAL and closing the database");
    stop.cancel();
    let _ = background.await;
    if let Some(watchdog) = watchdog {
        let _ = watchdog.await;
    }
    match Arc::try_unwrap(executor) {
        Ok(executor) => executor.stop(),
        Err(_) => tracing::warn!("executor still referenced at shutdown"),
    }
    // Nothing to save for the next start: the key counters are committed with the writes.
    let sync = tokio::task::spawn_blocking(move || {
        let r = engine.sync_wal();
        drop(engine);
        r
    })
    .await;
    if let Ok(Err(e)) = sync {
        tracing::error!(error = %e, "final WAL sync failed");
    }
    Ok(())
}

/// Checks the connecting peer's credentials (SO_PEERCRED) against the allow lists.
fn admit(stream: &tokio::net::UnixStream, peers: &RwLock<PeerPolicy>) -> Result<(), String> {
    let cred = stream
        .peer_cred()
        .map_err(|e| format!("cannot read peer credentials: {e}"))?;
    let policy = match peers.read() {
        Ok(p) => p,
        Err(poisoned) => poisoned.into_inner(),
    };
    policy
        .check(cred.uid(), cred.gid())
        .map_err(|why| match cred.pid() {
            Some(pid) => format!("{why} (pid {pid})"),
            None => why,
        })
}

/// Binds `listen-proxies` with its TLS config, when set.
///
/// # Errors
/// A missing or bad certificate, key or CA file, or a failed bind.
async fn bind_proxies(
    config: &Config,
) -> Result<Option<(tokio::net::TcpListener, tokio_rustls::TlsAcceptor)>, ServerError> {
    if config.listen_proxies.is_empty() {
        return Ok(None);
    }
    let files = [
        &config.proxy_tls_cert_file,
        &config.proxy_tls_key_file,
        &config.proxy_tls_ca_cert_file,
    ];
    if files.iter().any(|f| f.as_os_str().is_empty()) {
        return Err(ServerError::Config(
            "listen-proxies needs proxy-tls-cert-file, proxy-tls-key-file and proxy-tls-ca-cert-file (proxies on TCP use mutual TLS)".into(),
        ));
    }
    let tls = crate::transport::server_config(files[0], files[1], files[2])
        .map_err(|e| ServerError::Config(format!("listen-proxies: {e}")))?;
    // tokio's bind sets SO_REUSEADDR: a restart binds again at once.
    let listener = tokio::net::TcpListener::bind(&config.listen_proxies)
        .await
        .map_err(|source| ServerError::Socket {
            path: config.listen_proxies.clone(),
            source,
        })?;
    Ok(Some((listener, tls.into())))
}

/// Accepts on `listen-proxies`; never resolves without it.
async fn accept_tcp(
    port: Option<&(tokio::net::TcpListener, tokio_rustls::TlsAcceptor)>,
) -> std::io::Result<(tokio::net::TcpStream, std::net::SocketAddr)> {
    match port {
        Some((listener, _)) => listener.accept().await,
        None => std::future::pending().await,
    }
}

/// What a link accepted on `listen-proxies` needs until it is served.
struct TcpLink {
    acceptor: tokio_rustls::TlsAcceptor,
    peers: Arc<RwLock<PeerPolicy>>,
    executor: Arc<Executor>,
    instance_id: u64,
    max_frame: u32,
    drain: CancellationToken,
    deadlines: crate::link::Deadlines,
}

impl TcpLink {
    /// Completes the TLS handshake (the proxy's certificate verified against the CA), checks
    /// its names against the allow list, and serves the link; a refusal is logged with the
    /// reason, and a proxy that got through TLS is told it with a refused `HelloAck`.
    async fn serve(self, stream: tokio::net::TcpStream, addr: std::net::SocketAddr) {
        let handshake = tokio::select! {
            r = tokio::time::timeout(self.deadlines.handshake, self.acceptor.accept(stream)) => r,
            _ = self.drain.cancelled() => return,
        };
        let tls = match handshake {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::error!(
                    peer = %addr,
                    error = %e,
                    "refusing proxy link: TLS handshake failed (a certificate not from proxy-tls-ca-cert-file, or none)"
                );
                return;
            }
            Err(_) => {
                tracing::warn!(peer = %addr, "no TLS handshake within the handshake timeout; closing link");
                return;
            }
        };
        let identity = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first())
            .map(|cert| Identity::of(cert))
            .unwrap_or_default();
        let peer = format!("{identity} addr={addr}");
        let allowed = {
            let policy = match self.peers.read() {
                Ok(p) => p,
                Err(poisoned) => poisoned.into_inner(),
            };
            policy.check_names(identity.names())
        };
        if let Err(why) = allowed {
            tracing::error!(%peer, reason = %why, "refusing link");
            refuse(tls, why, self.instance_id, self.max_frame).await;
            return;
        }
        let transport = Transport::Tls {
            stream: Box::new(tls),
            peer,
        };
        crate::link::serve(
            transport,
            self.executor,
            self.instance_id,
            self.max_frame,
            self.drain,
            self.deadlines,
        )
        .await;
    }
}

/// Answers a refused peer's handshake with `HelloAck { accepted: false }` and the reason, so
/// the proxy logs why, then closes. Never waits long on a peer that does not read.
async fn refuse<S>(mut stream: S, why: String, instance_id: u64, max_frame: u32)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let ack = tandem_shared::wire::HelloAck {
        protocol: tandem_shared::wire::PROTOCOL_VERSION,
        schema: tandem_shared::wire::SCHEMA_HASH,
        instance_id,
        max_frame,
        accepted: false,
        message: why,
    };
    let mut out = bytes::BytesMut::new();
    if tandem_shared::wire::encode(&ack, max_frame, &mut out).is_err() {
        return;
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(&out).await?;
        stream.shutdown().await?;
        // Drain the peer's Hello until it closes, so it reads the answer before the link goes.
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        std::io::Result::Ok(())
    })
    .await;
}

fn rand_id() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// Binds the socket, replacing a stale file left by a crashed instance (but never one a live
/// storaged is serving on).
fn bind(config: &Config) -> Result<UnixListener, ServerError> {
    let path = &config.socket;
    let err = |source| ServerError::Socket {
        path: path.display().to_string(),
        source,
    };
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "another storaged is serving on this socket",
            )));
        }
        std::fs::remove_file(path).map_err(err)?;
    }
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
    }
    let listener = UnixListener::bind(path).map_err(err)?;
    // Owner and group only: storaged trusts whoever can connect.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(err)?;
    Ok(listener)
}

/// `WATCHDOG=1` every `every`, each after a real RocksDB read succeeded on a blocking thread:
/// a wedged engine or a starved runtime misses the deadline and systemd restarts storaged.
fn spawn_watchdog(
    engine: Engine,
    every: Duration,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    use crate::engine::{Cf, StoreRead};
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {
                    let engine = engine.clone();
                    // A key no command can write: metadata keys start with a db byte below DB_COUNT.
                    let read = tokio::task::spawn_blocking(move || engine.get(Cf::Meta, b"\xff-watchdog")).await;
                    match read {
                        Ok(Ok(_)) => crate::systemd::watchdog(),
                        Ok(Err(e)) => tracing::error!(error = %e, "watchdog read failed; not notifying"),
                        Err(e) => tracing::error!(error = %e, "watchdog task failed; not notifying"),
                    }
                }
            }
        }
    })
}

/// Background work: WAL sync once a second (everysec), expiry reclamation ten times a
/// second and trimming of remembered replies every few seconds, all off the I/O threads.
fn spawn_background(
    engine: Engine,
    executor: Arc<Executor>,
    fsync: FsyncPolicy,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut reclaim = tokio::time::interval(Duration::from_millis(100));
        let mut sync = tokio::time::interval(Duration::from_secs(1));
        let mut trim = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                // `DEBUG SET-ACTIVE-EXPIRE 0` stops the cycle (expired keys stay invisible).
                // So does CLIENT PAUSE while it lasts, as in Redis (`crate::control`).
                _ = reclaim.tick() => if crate::dispatch::active_expire() && !crate::control::control().paused() { executor.reclaim_expired() },
                _ = trim.tick() => executor.trim_remembered(),
                _ = sync.tick() => {
                    if fsync == FsyncPolicy::EverySec {
                        let engine = engine.clone();
                        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || engine.sync_wal()).await {
                            tracing::error!(error = %e, "WAL sync failed");
                        }
                    }
                }
            }
        }
    })
}
