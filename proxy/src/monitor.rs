//! MONITOR, this proxy's half: whether anyone monitors anywhere (storaged's word), the
//! lines of this proxy's commands waiting for each storage link, and this proxy's
//! monitoring clients with their bounded queues of lines.
//!
//! storaged routes (`storaged/src/monitor.rs`): the pool's first link registers how many
//! MONITOR clients this proxy has; every link hears, in `MonitorFeed` frames, whether
//! any proxy has one (a state that only grows, so links read in any order agree) and
//! brings the lines for this proxy's monitors. While nobody monitors, a command costs one
//! atomic load ([`active`]) and nothing is formatted. While someone does, each command's
//! line waits for the client's own link ([`send`]), whose dispatcher writes it ahead of
//! the requests it takes next, and storaged copies it to every monitoring proxy, this one
//! included, so all monitors see one order.
//!
//! One per process, like `crate::stats`: the state is a static, which the link
//! dispatchers and the connections reach without either knowing the other. This module
//! uses no other module of the crate; the MONITOR command and the per-command hook over a
//! `Session` are in `crate::local::monitor`. Nothing here touches a socket.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use bytes::{BufMut, Bytes, BytesMut};
use tandem_shared::wire::message::{ArchivedMonitorFeed, Monitor};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

/// Bytes of lines one link may hold for storaged (while it is away); past it new lines
/// are dropped (and logged), as a monitor that cannot be reached misses them.
pub const OUTGOING_LIMIT: usize = 16 * 1024 * 1024;

/// A monitoring client is bounded like a subscriber (Redis's `client-output-buffer-limit
/// pubsub 32mb 8mb 60`; Redis puts monitors in the unlimited `normal` class, tandem does
/// not let one that stops reading grow the proxy): past 32 MiB queued, or over 8 MiB for
/// 60 s, it is disconnected.
pub const HARD_LIMIT: usize = 32 * 1024 * 1024;
pub const SOFT_LIMIT: usize = 8 * 1024 * 1024;
pub const SOFT_MILLIS: u64 = 60_000;

/// Lines waiting for one storage link.
#[derive(Default)]
pub struct Outgoing {
    queue: Mutex<Queue>,
    /// Set with a line queued, so the dispatcher's check costs an atomic when none is.
    pending: AtomicBool,
    /// Wakes the link's dispatcher when lines arrive with no request to carry them.
    ready: Notify,
}

#[derive(Default)]
struct Queue {
    lines: Vec<Vec<u8>>,
    bytes: usize,
}

impl Outgoing {
    /// Resolves when lines (or, on the first link, a registration) wait to be written.
    pub async fn ready(&self) {
        self.ready.notified().await;
    }
}

/// One monitoring client, as the fan-out sees it.
struct Watcher {
    id: u64,
    tx: mpsc::UnboundedSender<Bytes>,
    queued: Arc<AtomicUsize>,
    /// Unix ms when the queue first went over the soft limit; 0 when under it.
    soft_since_ms: AtomicU64,
    kill: CancellationToken,
}

/// The receiving side of a monitoring client's queue, owned by its connection.
pub struct Inbox {
    id: u64,
    rx: mpsc::UnboundedReceiver<Bytes>,
    queued: Arc<AtomicUsize>,
}

impl Inbox {
    /// Polls for the next line (`+…\r\n`, ready to write).
    pub fn poll_recv(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Bytes>> {
        let line = std::task::ready!(self.rx.poll_recv(cx));
        if let Some(l) = &line {
            self.queued.fetch_sub(l.len(), Ordering::Relaxed);
        }
        std::task::Poll::Ready(line)
    }

    /// The next line if one is queued.
    pub fn try_recv(&mut self) -> Option<Bytes> {
        let line = self.rx.try_recv().ok()?;
        self.queued.fetch_sub(line.len(), Ordering::Relaxed);
        Some(line)
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        let mut watchers = hub().watchers.lock().unwrap_or_else(|p| p.into_inner());
        watchers.retain(|w| w.id != self.id);
        drop(watchers);
        registration_changed();
    }
}

#[derive(Default)]
struct Hub {
    /// storaged's last `MonitorFeed::state` (odd: someone monitors).
    state: AtomicU64,
    watchers: Mutex<Vec<Watcher>>,
    next_id: AtomicU64,
    /// The count of monitoring clients changed since the first link last sent it.
    dirty: AtomicBool,
    links: RwLock<Vec<Arc<Outgoing>>>,
    /// Whether a full link queue dropped lines since the link last took its queue.
    dropping: AtomicBool,
}

fn hub() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    HUB.get_or_init(Hub::default)
}

/// Whether anyone monitors on any proxy, as storaged last said: the one check a command
/// costs when nobody does.
pub fn active() -> bool {
    hub().state.load(Ordering::Relaxed) & 1 == 1
}

/// The queue of lines for link `index`.
pub fn outgoing(index: usize) -> Arc<Outgoing> {
    let h = hub();
    if let Some(o) = h.links.read().unwrap_or_else(|p| p.into_inner()).get(index) {
        return o.clone();
    }
    let mut links = h.links.write().unwrap_or_else(|p| p.into_inner());
    while links.len() <= index {
        links.push(Arc::default());
    }
    links[index].clone()
}

/// Queues the line of a command a client of link `index` ran.
pub fn send(index: usize, line: Vec<u8>) {
    let out = outgoing(index);
    {
        let mut q = out.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.bytes + line.len() > OUTGOING_LIMIT {
            if !hub().dropping.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    link = index,
                    "monitor lines waiting for storaged past the bound; dropping new ones"
                );
            }
            return;
        }
        q.bytes += line.len();
        q.lines.push(line);
    }
    out.pending.store(true, Ordering::Release);
    out.ready.notify_one();
}

/// The frame link `index` should write before its next requests: its waiting lines, and
/// on the first link (`registers`) the count of monitoring clients when it changed, or
/// always when `all` (a new link: storaged forgot the old one's). `None` when nothing.
pub fn take_frame(index: usize, registers: bool, all: bool) -> Option<Monitor> {
    let h = hub();
    let changed =
        registers && h.dirty.load(Ordering::Acquire) && h.dirty.swap(false, Ordering::AcqRel);
    let clients = if registers && (changed || all) {
        let n = h.watchers.lock().unwrap_or_else(|p| p.into_inner()).len();
        Some(u32::try_from(n).unwrap_or(u32::MAX))
    } else {
        None
    };
    let out = outgoing(index);
    let lines = if out.pending.load(Ordering::Acquire) && out.pending.swap(false, Ordering::AcqRel)
    {
        let mut q = out.queue.lock().unwrap_or_else(|p| p.into_inner());
        q.bytes = 0;
        h.dropping.store(false, Ordering::Relaxed);
        std::mem::take(&mut q.lines)
    } else {
        Vec::new()
    };
    (clients.is_some() || !lines.is_empty()).then_some(Monitor { clients, lines })
}

/// Takes a `MonitorFeed` frame from storaged: the newer state, and the lines for this
/// proxy's monitoring clients.
pub fn deliver(feed: &ArchivedMonitorFeed) {
    let h = hub();
    h.state.fetch_max(feed.state.to_native(), Ordering::AcqRel);
    if feed.lines.is_empty() {
        return;
    }
    let watchers = h.watchers.lock().unwrap_or_else(|p| p.into_inner());
    if watchers.is_empty() {
        return;
    }
    for line in feed.lines.iter() {
        let mut b = BytesMut::with_capacity(line.len() + 3);
        b.put_u8(b'+');
        b.extend_from_slice(line.as_slice());
        b.extend_from_slice(b"\r\n");
        let b = b.freeze();
        for w in watchers.iter() {
            offer(w, &b);
        }
    }
}

fn offer(w: &Watcher, line: &Bytes) {
    if w.kill.is_cancelled() {
        return;
    }
    let queued = w.queued.fetch_add(line.len(), Ordering::Relaxed) + line.len();
    let now = now_ms();
    let over_soft = if queued > SOFT_LIMIT {
        let since = w.soft_since_ms.load(Ordering::Relaxed);
        if since == 0 {
            w.soft_since_ms.store(now, Ordering::Relaxed);
        }
        since != 0 && now.saturating_sub(since) > SOFT_MILLIS
    } else {
        w.soft_since_ms.store(0, Ordering::Relaxed);
        false
    };
    if queued > HARD_LIMIT || over_soft {
        tracing::warn!(
            queued,
            "monitor client over the output buffer limit; disconnecting it"
        );
        w.kill.cancel();
        return;
    }
    let _ = w.tx.send(line.clone());
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Makes a client a monitor: its lines arrive on the returned inbox until it is dropped;
/// `kill` is cancelled if it stops reading them. The caller then waits for a round trip
/// on the first link, which carries the new count ahead of it.
pub fn register(kill: CancellationToken) -> Inbox {
    let h = hub();
    let id = h.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    h.watchers
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Watcher {
            id,
            tx,
            queued: queued.clone(),
            soft_since_ms: AtomicU64::new(0),
            kill,
        });
    registration_changed();
    Inbox { id, rx, queued }
}

fn registration_changed() {
    hub().dirty.store(true, Ordering::Release);
    outgoing(0).ready.notify_one();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wait_per_link_and_registrations_ride_on_the_first() {
        send(3, b"a".to_vec());
        send(3, b"b".to_vec());
        let frame = take_frame(3, false, false).expect("lines");
        assert_eq!(frame.lines, vec![b"a".to_vec(), b"b".to_vec()]);
        assert!(frame.clients.is_none());
        assert!(take_frame(3, false, false).is_none());
        let inbox = register(CancellationToken::new());
        let frame = take_frame(0, true, false).expect("registration");
        assert!(frame.clients.unwrap() >= 1);
        assert!(take_frame(0, true, false).is_none());
        assert!(
            take_frame(0, true, true).is_some(),
            "a new link sends it again"
        );
        drop(inbox);
        assert!(
            take_frame(0, true, false).is_some(),
            "unregistering is a change"
        );
    }
}
