//! The state every connection of this proxy instance shares: its config, the settings
//! `CONFIG SET` changes live, the client list, the storage link pool, the pub/sub table and
//! INFO's counters, and the drain signal. Built once by `crate::server::run`; connections
//! and local commands read it through an `Arc`. No I/O of its own.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::clients::ClientList;
use crate::config::Config;
use crate::link::LinkPool;

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
    pub clients: ClientList,
    /// The ACL users and log (`crate::acl`).
    pub acl: crate::acl::Acl,
    pub links: LinkPool,
    /// Local pub/sub subscriptions; registered with storaged on the pool's first link.
    pub pubsub: Arc<crate::pubsub::PubSub>,
    /// Client-side caching (`CLIENT TRACKING`): modes, keys read, invalidation fan-out.
    pub tracking: Arc<crate::tracking::Tracking>,
    pub stats: Stats,
    pub started: Instant,
    pub run_id: String,
    pub port: u16,
    /// Cancelled when the proxy starts draining: each connection then closes at its next
    /// reply boundary (`crate::connection`).
    pub drain: CancellationToken,
    /// Connections counted against `maxclients`: taken in the accept loop, before the
    /// connection's task exists, and given back when that task ends (`crate::server`).
    pub(crate) admitted: AtomicUsize,
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
