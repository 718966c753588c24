//! Per-client state (protocol, database, name, auth) and the registry of connected clients
//! that `CLIENT LIST`, `CLIENT KILL` and INFO read.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::resp::Protocol;

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
    pub created: Instant,
    pub last_command: Vec<u8>,
    /// Channels and patterns subscribed (CLIENT LIST `sub=`, `psub=`, flag `P`).
    pub sub: usize,
    pub psub: usize,
    /// Commands queued since MULTI, -1 outside a transaction (CLIENT LIST `multi=`, flag `x`).
    pub multi: i64,
}

impl ClientState {
    /// CLIENT LIST `flags=`: Redis's letters in Redis's order, `N` for none.
    fn flags(&self) -> String {
        let mut f = String::new();
        if self.sub + self.psub > 0 {
            f.push('P');
        }
        if self.multi >= 0 {
            f.push('x');
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
            "id={} addr={} laddr={} fd=0 name={} age={} idle=0 flags={} db={} sub={} psub={} ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            String::from_utf8_lossy(&self.name),
            now.duration_since(self.created).as_secs(),
            self.flags(),
            self.db,
            self.sub,
            self.psub,
            self.multi,
            String::from_utf8_lossy(&self.last_command),
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
}

/// Every connected client of this proxy.
#[derive(Default)]
pub struct Registry {
    clients: Mutex<BTreeMap<u64, Entry>>,
    next_id: AtomicU64,
}

impl Registry {
    /// A fresh client id (ids start at 1, as in Redis).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Registers a client; `kill` is cancelled by `CLIENT KILL`.
    pub fn insert(&self, state: ClientState, kill: CancellationToken) {
        if let Ok(mut m) = self.clients.lock() {
            m.insert(state.id, Entry { state, kill });
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
            .map(|m| m.values().map(|e| e.state.clone()).collect())
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
