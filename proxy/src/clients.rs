//! Per-client state (protocol, database, name, auth) and the list of connected clients
//! that `CLIENT LIST`, `CLIENT KILL` and INFO read.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use tandem_resp::Protocol;

/// State the connection keeps for one client.
#[derive(Debug, Clone)]
pub struct ClientState {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub protocol: Protocol,
    pub db: u8,
    pub name: Vec<u8>,
    pub lib_name: Vec<u8>,
    pub lib_ver: Vec<u8>,
    pub authenticated: bool,
    /// The ACL user the client runs as.
    pub user: Vec<u8>,
    pub created: Instant,
    pub last_command: Vec<u8>,
    /// Channels, patterns and shard channels subscribed (CLIENT LIST `sub=`, `psub=`,
    /// `ssub=`, flag `P` for any of them).
    pub sub: usize,
    pub psub: usize,
    pub ssub: usize,
    /// Commands queued since MULTI, -1 outside a transaction (CLIENT LIST `multi=`, flag `x`).
    pub multi: i64,
    /// Waiting in a blocking pop (flag `b`; filled in by [`ClientList::snapshot`]), or held
    /// by `CLIENT PAUSE` (set by the connection while it holds a command).
    pub blocked: bool,
    /// Monitoring (`MONITOR`, flag `O`).
    pub monitor: bool,
}

impl ClientState {
    /// CLIENT LIST `flags=`: Redis's letters in Redis's order, `N` for none.
    fn flags(&self) -> String {
        let mut f = String::new();
        if self.monitor {
            f.push('O');
        }
        if self.sub + self.psub + self.ssub > 0 {
            f.push('P');
        }
        if self.multi >= 0 {
            f.push('x');
        }
        if self.blocked {
            f.push('b');
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }

    /// The `CLIENT LIST` / `CLIENT INFO` line for this client (no trailing newline).
    pub fn info_line(&self) -> String {
        let now = Instant::now();
        format!(
            "id={} addr={} laddr={} fd=0 name={} age={} idle=0 flags={} db={} sub={} psub={} ssub={} multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user={} redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            String::from_utf8_lossy(&self.name),
            now.duration_since(self.created).as_secs(),
            self.flags(),
            self.db,
            self.sub,
            self.psub,
            self.ssub,
            self.multi,
            String::from_utf8_lossy(&self.last_command),
            String::from_utf8_lossy(&self.user),
            match self.protocol {
                Protocol::Resp2 => 2,
                Protocol::Resp3 => 3,
            },
            String::from_utf8_lossy(&self.lib_name),
            String::from_utf8_lossy(&self.lib_ver),
        )
    }
}

struct Entry {
    state: ClientState,
    kill: CancellationToken,
    /// Set while the client waits in a blocking pop (`crate::blocked`).
    blocked: Option<Arc<Unblock>>,
}

/// How `CLIENT UNBLOCK` reaches a client waiting in a blocking pop: the waiting connection
/// asks storaged to answer its parked request (with the timeout reply or `-UNBLOCKED`).
#[derive(Debug, Default)]
pub struct Unblock {
    notify: tokio::sync::Notify,
    /// 0: not asked; 1: `TIMEOUT`; 2: `ERROR`.
    how: std::sync::atomic::AtomicU8,
}

impl Unblock {
    /// Asks once; a later request keeps the first one's mode.
    fn ask(&self, error: bool) {
        let how = if error { 2 } else { 1 };
        let _ = self
            .how
            .compare_exchange(0, how, Ordering::SeqCst, Ordering::SeqCst);
        self.notify.notify_one();
    }

    /// Waits until asked; returns whether the client is to get the error reply.
    ///
    /// Cancel safety: safe; a request made meanwhile is not lost.
    pub async fn asked(&self) -> bool {
        loop {
            match self.how.load(Ordering::SeqCst) {
                0 => self.notify.notified().await,
                how => return how == 2,
            }
        }
    }
}

/// Every connected client of this proxy.
#[derive(Default)]
pub struct ClientList {
    clients: Mutex<BTreeMap<u64, Entry>>,
    next_id: AtomicU64,
}

impl ClientList {
    /// A fresh client id (ids start at 1, as in Redis).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Registers a client; `kill` is cancelled by `CLIENT KILL`.
    pub fn insert(&self, state: ClientState, kill: CancellationToken) {
        if let Ok(mut m) = self.clients.lock() {
            m.insert(
                state.id,
                Entry {
                    state,
                    kill,
                    blocked: None,
                },
            );
        }
    }

    /// Publishes a client's current state (name, db, last command …).
    pub fn update(&self, state: &ClientState) {
        if let Ok(mut m) = self.clients.lock() {
            if let Some(e) = m.get_mut(&state.id) {
                e.state.clone_from(state);
            }
        }
    }

    /// Marks a client as waiting in a blocking pop (`Some`) or not (`None`).
    pub fn set_blocked(&self, id: u64, unblock: Option<Arc<Unblock>>) {
        if let Ok(mut m) = self.clients.lock() {
            if let Some(e) = m.get_mut(&id) {
                e.blocked = unblock;
            }
        }
    }

    /// `CLIENT UNBLOCK id [TIMEOUT|ERROR]`: true if the client was blocked.
    pub fn unblock(&self, id: u64, error: bool) -> bool {
        let Ok(m) = self.clients.lock() else {
            return false;
        };
        match m.get(&id).and_then(|e| e.blocked.as_ref()) {
            Some(u) => {
                u.ask(error);
                true
            }
            None => false,
        }
    }

    /// `blocked_clients` of INFO: clients waiting in a blocking pop, or held by `CLIENT
    /// PAUSE` (their own `state.blocked`, which `CLIENT UNBLOCK` does not reach, as in Redis).
    pub fn blocked(&self) -> usize {
        self.clients
            .lock()
            .map(|m| {
                m.values()
                    .filter(|e| e.blocked.is_some() || e.state.blocked)
                    .count()
            })
            .unwrap_or(0)
    }

    pub fn remove(&self, id: u64) {
        if let Ok(mut m) = self.clients.lock() {
            m.remove(&id);
        }
    }

    pub fn len(&self) -> usize {
        self.clients.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Snapshot of every client, in id order.
    pub fn snapshot(&self) -> Vec<ClientState> {
        self.clients
            .lock()
            .map(|m| {
                m.values()
                    .map(|e| ClientState {
                        blocked: e.blocked.is_some() || e.state.blocked,
                        ..e.state.clone()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Kills the clients `filter` selects; returns how many.
    pub fn kill_where(&self, filter: impl Fn(&ClientState) -> bool) -> usize {
        let Ok(m) = self.clients.lock() else { return 0 };
        let mut n = 0;
        for e in m.values() {
            if filter(&e.state) {
                e.kill.cancel();
                n += 1;
            }
        }
        n
    }
}
