//! The accept loop and the state every connection shares: live settings, the client
//! registry, the link pool and counters. Owns startup and shutdown order; knows nothing of
//! RESP or command semantics.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client::Registry;
use crate::config::Config;
use crate::link::{LinkConfig, LinkPool};

/// Settings `CONFIG SET` may change while running, plus every parameter `CONFIG GET` knows.
#[derive(Debug, Clone)]
pub struct Settings {
    pub requirepass: String,
    /// Every known parameter by name, values as `CONFIG GET` prints them. Includes Redis's
    /// encoding knobs, which tandem accepts and remembers so tools that tune them keep working.
    pub params: BTreeMap<String, String>,
}

/// Counters INFO reports.
#[derive(Debug, Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub commands_processed: AtomicU64,
    pub rejected_connections: AtomicU64,
}

/// State shared by every connection of this proxy.
pub struct Shared {
    pub config: Config,
    pub settings: RwLock<Settings>,
    /// Hot copies of settings read on every command (kept in step by `CONFIG SET`).
    pub proto_max_bulk_len: AtomicU64,
    pub maxclients: AtomicUsize,
    pub clients: Registry,
    pub links: LinkPool,
    /// Local pub/sub subscriptions; registered with storaged on the pool's first link.
    pub pubsub: Arc<crate::pubsub::PubSub>,
    pub stats: Stats,
    pub started: Instant,
    pub run_id: String,
    pub port: u16,
}

impl Shared {
    /// A copy of the live settings.
    pub fn settings(&self) -> Settings {
        match self.settings.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// Serves clients on `listener` until `shutdown` resolves, then closes every connection and
/// stops the links. Each config arriving on `reloads` (re-read on SIGHUP) is applied as far
/// as it can be live; see [`apply_reload`].
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()>,
    mut reloads: tokio::sync::mpsc::Receiver<Config>,
) {
    let token = CancellationToken::new();
    let instance_id: u64 = rand::random();
    let pubsub = Arc::new(crate::pubsub::PubSub::default());
    let links = LinkPool::start(
        config.links,
        LinkConfig {
            socket: config.storage_socket.clone(),
            queue_capacity: config.queue_capacity,
            request_timeout: config.request_timeout(),
            max_frame: config.max_frame,
            instance_id,
        },
        pubsub.clone(),
        token.clone(),
    );
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let settings = crate::commands::server::initial_settings(&config);
    let shared = Arc::new(Shared {
        settings: RwLock::new(settings),
        proto_max_bulk_len: AtomicU64::new(config.proto_max_bulk_len),
        maxclients: AtomicUsize::new(config.maxclients),
        clients: Registry::default(),
        links,
        pubsub,
        stats: Stats::default(),
        started: Instant::now(),
        run_id: format!("{instance_id:016x}{:024x}", rand::random::<u128>() >> 32),
        port,
        config,
    });
    let tracker = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            Some(new) = reloads.recv() => {
                apply_reload(&shared, &new);
                continue;
            }
            a = listener.accept() => a,
        };
        let (mut stream, addr) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        shared
            .stats
            .connections_received
            .fetch_add(1, Ordering::Relaxed);
        if shared.clients.len() >= shared.maxclients.load(Ordering::Relaxed) {
            shared
                .stats
                .rejected_connections
                .fetch_add(1, Ordering::Relaxed);
            tracker.spawn(async move {
                let _ = stream
                    .write_all(b"-ERR max number of clients reached\r\n")
                    .await;
            });
            continue;
        }
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let kill = token.child_token();
        tracker.spawn(crate::connection::serve(stream, addr, shared, kill));
    }
            timeout_mib_per_sec: config.request_timeout_mib_per_sec,
    token.cancel();
    tracker.close();
    tracker.wait().await;
}

/// Applies what can change live from a re-read config — `requirepass`, `maxclients`,
/// `proto-max-bulk-len`, the same path `CONFIG SET` takes — and logs each change (never a
/// password). Settings that need a restart are logged and left alone. Connections already
/// authenticated stay so, as after `CONFIG SET requirepass` in Redis.
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
    for name in shared.config.restart_only_changes(new) {
        tracing::warn!(
            setting = name,
            "reload: changed in the config but needs a restart; keeping the running value"
        );
    }
    tracing::info!(changed, "reload done");
}
