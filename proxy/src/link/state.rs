//! What one link is given ([`LinkConfig`]) and what it reports to INFO ([`LinkState`],
//! [`LinkStats`]).

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Link parameters shared by every link of the pool.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    pub socket: std::path::PathBuf,
    pub queue_capacity: usize,
    pub request_timeout: Duration,
    /// A request's deadline grows by one second per this many MiB of its frame; 0: never.
    pub timeout_mib_per_sec: u64,
    pub max_frame: u32,
    pub instance_id: u64,
    /// Set when storaged is on another host (`storage-socket = "tcp://…"`): the link is TLS
    /// over TCP, and `socket` is unused.
    pub tls: Option<Arc<crate::tls::LinkTls>>,
}

/// Connection state, for INFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Up,
    Draining,
    Down,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Up => "up",
            LinkState::Draining => "draining",
            LinkState::Down => "down",
        }
    }
}

/// Counters and state of one link, read by INFO.
#[derive(Debug)]
pub struct LinkStats {
    pub state: Mutex<(LinkState, String)>,
    pub reconnects: AtomicU64,
    pub requests: AtomicU64,
    pub shed: AtomicU64,
    pub timed_out: AtomicU64,
    /// Requests sent again on a new link after the one they were in flight on died.
    pub resent: AtomicU64,
    /// Requests that arrived while the link was not up and so waited in the queue.
    pub queued: AtomicU64,
    /// Mirror of `state == Up`, read on every call without taking the state lock.
    pub up: std::sync::atomic::AtomicBool,
}
