//! The accept loop: builds the state every connection shares ([`crate::instance`]), admits
//! connections under `maxclients`, applies reloaded config, and owns startup and shutdown
//! order. Knows nothing of RESP or command semantics.
//!
//! Two ports may serve side by side: the plain one, and the TLS one (`tls-port`), whose
//! connections complete their handshake on their own task before they are served like any
//! other (`crate::tls`). A SIGHUP re-reads the TLS certificates for new handshakes.
//!
//! Shutdown drains (see [`run`]): the listener closes first, then every connection finishes
//! what it holds and closes at a reply boundary, and only then do the storage links close,
//! so no client is left with a reply it will never get.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clients::ClientList;
use crate::config::Config;
use crate::instance::{Shared, Stats};
use crate::link::{LinkConfig, LinkPool};
use crate::tls::{Acceptor, ClientStream};

/// How long a client on the TLS port may take to complete its handshake (it holds a place
/// under `maxclients` meanwhile).
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The TLS port: its listening socket and the acceptor a reload updates.
pub struct TlsListener {
    pub listener: TcpListener,
    pub acceptor: Arc<Acceptor>,
}

/// Binds the TLS port when `tls-port` is set, on the address of `listen`, and loads its
/// certificate: a bad file stops the start rather than leaving the port unusable.
///
/// # Errors
/// The certificate, key or CA problem, or the bind failure.
pub fn bind_tls(config: &Config) -> Result<Option<TlsListener>, String> {
    if config.tls_port == 0 {
        return Ok(None);
    }
    let acceptor = Acceptor::new(&config.tls_settings())?;
    let addr = std::net::SocketAddr::new(config.listen.ip(), config.tls_port);
    // SO_REUSEPORT, as the socket unit gives the plain port: proxy instances with the same
    // tls-port share it, the kernel spreading new connections over them.
    let listener = (|| {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.set_reuseport(true)?;
        socket.bind(addr)?;
        socket.listen(config.tcp_backlog)
    })()
    .map_err(|e| format!("tls-port: bind {addr}: {e}"))?;
    Ok(Some(TlsListener {
        listener,
        acceptor: Arc::new(acceptor),
    }))
}

/// One connection's place under `maxclients`, held by its task.
struct Admission(Arc<Shared>);

impl Admission {
    /// Takes a place if fewer than `maxclients` are taken. Counting here rather than when
    /// the connection's task registers the client is what keeps a connect burst from
    /// overshooting the limit (10,052 admitted of 10,000 before).
    fn take(shared: &Arc<Shared>) -> Option<Admission> {
        let max = shared.maxclients.load(Ordering::Relaxed);
        let before = shared.admitted.fetch_add(1, Ordering::AcqRel);
        if before >= max {
            shared.admitted.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Admission(shared.clone()))
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Once the drain timeout has passed and the remaining connections were told to close, how
/// long they still get (a connection stuck writing to a client that does not read).
const FORCED_CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Binds `addr` with a listen queue of `backlog` connections (Redis `tcp-backlog`), with
/// `SO_REUSEADDR` as tokio's own `bind` sets it.
///
/// # Errors
/// The socket, bind or listen failure (address in use, permission).
pub fn bind(addr: std::net::SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Serves clients on `listener` until `shutdown` resolves, then drains: closes the listener
/// (with `SO_REUSEPORT` siblings the kernel then hands new connects to the other proxies;
/// connections already queued on it are taken and served like the others), lets every
/// connection finish what it had received and close at a reply boundary, within the drain
/// timeout, and stops the links last. Each config arriving on `reloads` (re-read on SIGHUP)
/// is applied as far as it can be live; see [`apply_reload`].
pub async fn run(
    config: Config,
    listener: TcpListener,
    tls: Option<TlsListener>,
    link_tls: Option<Arc<crate::tls::LinkTls>>,
    shutdown: impl std::future::Future<Output = ()>,
    mut reloads: tokio::sync::mpsc::Receiver<Config>,
) {
    // Three stages of shutdown, in this order: `drain` asks connections to close at a reply
    // boundary, `clients` closes those left at the drain timeout, `links` stops the storage
    // links once no connection needs them.
    let drain = CancellationToken::new();
    let clients = CancellationToken::new();
    let links_token = CancellationToken::new();
    let instance_id: u64 = rand::random();
    let pubsub = Arc::new(crate::pubsub::PubSub::default());
    let tracking = Arc::new(crate::tracking::Tracking::new(config.links));
    // What a reload re-reads the link's certificate files into.
    let link_reload = link_tls.clone();
    let links = LinkPool::start(
        config.links,
        LinkConfig {
            socket: config.storage_socket.clone(),
            queue_capacity: config.queue_capacity,
            request_timeout: config.request_timeout(),
            timeout_mib_per_sec: config.request_timeout_mib_per_sec,
            max_frame: config.max_frame,
            instance_id,
            tls: link_tls,
        },
        pubsub.clone(),
        tracking.clone(),
        links_token.clone(),
    );
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let settings = crate::local::admin::initial_settings(&config);
    let shared = Arc::new(Shared {
        settings: RwLock::new(settings),
        proto_max_bulk_len: AtomicU64::new(config.proto_max_bulk_len),
        maxclients: AtomicUsize::new(config.maxclients),
        clients: ClientList::default(),
        acl: crate::acl::Acl::new(&config.requirepass),
        links,
        pubsub,
        tracking,
        stats: Stats::default(),
        started: Instant::now(),
        run_id: format!("{instance_id:016x}{:024x}", rand::random::<u128>() >> 32),
        port,
        drain: drain.clone(),
        admitted: AtomicUsize::new(0),
        config,
    });
    // This proxy's copy of the deployment's ACL users: every table storaged pushes.
    crate::local::acl::listen(&shared);
    let tracker = TaskTracker::new();
    let (tls_listener, acceptor) = match tls {
        Some(t) => (Some(t.listener), Some(t.acceptor)),
        None => (None, None),
    };
    tokio::pin!(shutdown);
    loop {
        let (accepted, secure) = tokio::select! {
            _ = &mut shutdown => break,
            // SHUTDOWN through any proxy (`crate::pause`): drain as on SIGTERM, exit 0.
            _ = crate::pause::control().stopped() => {
                crate::systemd::stopping("SHUTDOWN: answering what clients sent, then closing them");
                break;
            }
            Some(new) = reloads.recv() => {
                if let Some(acceptor) = &acceptor {
                    match acceptor.reload(&new.tls_settings()) {
                        Ok(()) => tracing::info!("reload: TLS certificates re-read; new handshakes use them"),
                        Err(e) => tracing::error!(error = %e, "reload: TLS settings kept"),
                    }
                }
                if let Some(link) = &link_reload {
                    match link.reload(&new.link_tls_settings()) {
                        Ok(()) => tracing::info!("reload: storage-tls certificate, key and CA re-read; new links use them (links already up stay)"),
                        Err(e) => tracing::error!(error = %e, "reload: storage-tls files kept"),
                    }
                }
                apply_reload(&shared, &new);
                continue;
            }
            a = listener.accept() => (a, false),
            a = accept_on(tls_listener.as_ref()) => (a, true),
        };
        let (stream, addr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let tls = secure.then(|| acceptor.as_ref().map(|a| a.get())).flatten();
        admit(&shared, &tracker, &clients, stream, addr, tls);
    }
    // Stop accepting: take what the kernel already queued (it would reset those connections
    // when the socket closes), then close the socket.
    let queued = take_queued(listener);
    for (stream, addr) in queued {
        admit(&shared, &tracker, &clients, stream, addr, None);
    }
    if let (Some(listener), Some(acceptor)) = (tls_listener, &acceptor) {
        for (stream, addr) in take_queued(listener) {
            admit(
                &shared,
                &tracker,
                &clients,
                stream,
                addr,
                Some(acceptor.get()),
            );
        }
    }
    let open = shared.clients.len();
    tracing::info!(
        clients = open,
        timeout_secs = shared.config.drain_timeout_secs,
        "draining: stopped accepting; closing each client at a reply boundary"
    );
    drain.cancel();
    tracker.close();
    if tokio::time::timeout(shared.config.drain_timeout(), tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            clients = shared.clients.len(),
            "drain timeout: closing the remaining clients"
        );
        clients.cancel();
        let _ = tokio::time::timeout(FORCED_CLOSE_WAIT, tracker.wait()).await;
    }
    tracing::info!("drained: closing the storage links");
    links_token.cancel();
}

/// Accepts on the TLS port; never resolves without one.
async fn accept_on(
    listener: Option<&TcpListener>,
) -> std::io::Result<(TcpStream, std::net::SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

/// The stream a connection is served on: the TCP stream itself, or the TLS session once
/// its handshake completes (`None` if it fails or times out, logged).
async fn handshake(
    stream: TcpStream,
    addr: std::net::SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> Option<ClientStream> {
    match tls {
        None => Some(ClientStream::Plain(stream)),
        // Boxed: the handshake's state would otherwise sit in every connection's task.
        Some(acceptor) => Box::pin(tls_handshake(stream, addr, acceptor)).await,
    }
}

async fn tls_handshake(
    stream: TcpStream,
    addr: std::net::SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
) -> Option<ClientStream> {
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(ClientStream::Tls(Box::new(tls))),
        Ok(Err(e)) => {
            tracing::info!(client = %addr, error = %e, "TLS handshake failed; connection closed");
            None
        }
        Err(_) => {
            tracing::info!(client = %addr, "TLS handshake timed out; connection closed");
            None
        }
    }
}

/// Hands an accepted connection to its task (which first completes the TLS handshake when
/// `tls` is given), or refuses it as Redis does when `maxclients` are connected: the error,
/// then a close that lets the client read it.
fn admit(
    shared: &Arc<Shared>,
    tracker: &TaskTracker,
    clients: &CancellationToken,
    stream: TcpStream,
    addr: std::net::SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    shared
        .stats
        .connections_received
        .fetch_add(1, Ordering::Relaxed);
    let Some(admission) = Admission::take(shared) else {
        shared
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let kill = clients.clone();
        tracker.spawn(async move {
            if let Some(stream) = handshake(stream, addr, tls).await {
                crate::connection::refuse(stream, kill).await;
            }
        });
        return;
    };
    let _ = stream.set_nodelay(true);
    let kill = clients.child_token();
    if crate::protected::refuses(shared, addr.ip()) {
        // As Redis: a rejected connection, not a received one.
        shared
            .stats
            .connections_received
            .fetch_sub(1, Ordering::Relaxed);
        shared
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        tracing::debug!(client = %addr, "protected mode: connection refused");
        tracker.spawn(async move {
            if let Some(stream) = handshake(stream, addr, tls).await {
                crate::protected::deny(stream, kill).await;
            }
            drop(admission);
        });
        return;
    }
    tracker.spawn(async move {
        let Some(stream) = handshake(stream, addr, tls).await else {
            return;
        };
        let shared = admission.0.clone();
        crate::connection::serve(stream, addr, shared, kill).await;
        drop(admission);
    });
}

/// Closes the listening socket, first accepting every connection the kernel has already
/// queued on it: closing a listener resets those.
fn take_queued(listener: TcpListener) -> Vec<(TcpStream, std::net::SocketAddr)> {
    let mut queued = Vec::new();
    let Ok(listener) = listener.into_std() else {
        return queued;
    };
    // Non-blocking already (tokio's); each accept is a real syscall, unlike tokio's
    // readiness-gated one, so nothing the kernel holds is missed.
    while let Ok((stream, addr)) = listener.accept() {
        let stream = stream
            .set_nonblocking(true)
            .and_then(|()| TcpStream::from_std(stream));
        match stream {
            Ok(stream) => queued.push((stream, addr)),
            Err(e) => tracing::warn!(error = %e, "accept while draining failed"),
        }
    }
    queued
}

/// Applies what can change live from a re-read config — `requirepass`, `protected-mode`,
/// `maxclients`, `proto-max-bulk-len`, the same path `CONFIG SET` takes — and logs each
/// change (never a password). Settings that need a restart are logged and left alone.
/// Connections already authenticated stay so, as after `CONFIG SET requirepass` in Redis.
pub fn apply_reload(shared: &Shared, new: &Config) {
    let mut settings = match shared.settings.write() {
        Ok(s) => s,
        Err(poisoned) => poisoned.into_inner(),
    };
    let mut changed = 0;
    if settings.requirepass != new.requirepass {
        settings.requirepass.clone_from(&new.requirepass);
        settings
            .params
            .insert("requirepass".into(), new.requirepass.clone());
        tracing::info!(
            required = !new.requirepass.is_empty(),
            "reload: requirepass changed"
        );
        changed += 1;
    }
    let protected = if new.protected_mode { "yes" } else { "no" };
    if settings
        .params
        .get(crate::protected::PARAM)
        .map(String::as_str)
        != Some(protected)
    {
        settings
            .params
            .insert(crate::protected::PARAM.into(), protected.into());
        tracing::info!(protected_mode = protected, "reload: protected-mode changed");
        changed += 1;
    }
    let old = shared.maxclients.swap(new.maxclients, Ordering::Relaxed);
    if old != new.maxclients {
        settings
            .params
            .insert("maxclients".into(), new.maxclients.to_string());
        tracing::info!(old, new = new.maxclients, "reload: maxclients changed");
        changed += 1;
    }
    let old = shared
        .proto_max_bulk_len
        .swap(new.proto_max_bulk_len, Ordering::Relaxed);
    if old != new.proto_max_bulk_len {
        settings.params.insert(
            "proto-max-bulk-len".into(),
            new.proto_max_bulk_len.to_string(),
        );
        tracing::info!(
            old,
            new = new.proto_max_bulk_len,
            "reload: proto-max-bulk-len changed"
        );
        changed += 1;
    }
    tandem_service::config::reload_done(&shared.config, new, changed);
}
