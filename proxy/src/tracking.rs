//! Client-side caching (`CLIENT TRACKING`) on the proxy's side: each tracking client's
//! mode, the keys its clients read per storage link, the registrations sent to storaged,
//! and the fan-out of storaged's invalidations to clients as Redis 7.0 sends them.
//!
//! storaged remembers keys and prefixes per link (`storaged/src/tracking.rs`); the proxy
//! remembers which of its clients on that link read each key. A tracking client's read
//! adds its keys to its link's table here ([`Tracking::remember`], before the request is
//! queued); a key new to the link is also queued for registration, which the link's
//! dispatcher writes as a `Tracking` frame ahead of the requests it takes next
//! ([`crate::link::TrackSink`]), so storaged knows the key before the read runs. storaged
//! answers with `Invalidate` frames, once per proxy, on the link of the write when this
//! proxy made it (so before that write's reply) and written before the replies of the
//! writes that caused them; each key event reaches the clients on any link that read it
//! (once: the key is then forgotten, as Redis forgets it) and the BCAST clients whose prefix
//! matches.
//!
//! Pushes go to the client's own queue ([`ClientTracking`], on its session) or, with
//! `REDIRECT`, to the target's; the target's connection encodes them when it writes, after
//! the replies it is waiting for, so a push about a key never comes before the reply of a
//! read of that key that was already on its way (Redis: the reply first, then the
//! invalidation). A client gets a queue when it tracks, speaks RESP3 or subscribes — the
//! only clients Redis sends invalidations to — so other connections pay nothing.
//!
//! A lost link loses storaged's registrations and any invalidation in flight (for clients
//! on any link): every tracking client that read something since its last flush is sent a
//! flush (Redis's null invalidation) at once, and the link's whole table is registered
//! again on the next link before any request.
//!
//! Cost when nobody tracks: the connection looks at its session's `tracking` field once per
//! command; the dispatcher loads one atomic per batch. This module never touches a socket.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use tandem_resp::{encode, Protocol};
use tandem_shared::wire::message::{
    ArchivedInvalidate, ArchivedInvalidation, TrackedPrefix, Tracking as TrackingFrame,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::link::TrackSink;

/// Bytes of pushes a client may leave unread before it is disconnected (Redis's pub/sub
/// output-buffer hard limit; a tracking client that stops reading is cut the same way).
const QUEUE_LIMIT: usize = 32 * 1024 * 1024;

/// A client's tracking options, as `CLIENT TRACKING ON` set them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mode {
    pub on: bool,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// Client id invalidations go to; 0 for the client itself.
    pub redirect: u64,
    /// BCAST prefixes, in byte order.
    pub prefixes: BTreeSet<Vec<u8>>,
}

/// One push for one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    /// `invalidate` with these keys; `redirected` when sent for another client.
    Keys { keys: Vec<Bytes>, redirected: bool },
    /// `invalidate` with a null: flush everything. The null is written in the tracking
    /// client's protocol (`resp3_null`), as Redis does.
    Flush { redirected: bool, resp3_null: bool },
    /// `tracking-redir-broken`: the redirect target is gone (RESP3 only).
    RedirBroken(u64),
}

impl Push {
    fn size(&self) -> usize {
        match self {
            Push::Keys { keys, .. } => keys.iter().map(|k| k.len() + 16).sum::<usize>() + 48,
            _ => 48,
        }
    }

    /// Appends the push as Redis sends it to a client speaking `proto`; `subscribed` says
    /// whether that client is in pub/sub mode (a RESP2 client gets redirected invalidations
    /// only then, as `__redis__:invalidate` messages, and nothing otherwise).
    pub fn encode(&self, proto: Protocol, subscribed: bool, out: &mut BytesMut) {
        let redirected = match self {
            Push::Keys { redirected, .. } | Push::Flush { redirected, .. } => *redirected,
            Push::RedirBroken(id) => {
                if proto == Protocol::Resp3 {
                    encode::encode_push_len(2, proto, out);
                    encode::encode_bulk(b"tracking-redir-broken", out);
                    encode::encode_integer(*id as i64, out);
                }
                return;
            }
        };
        if proto == Protocol::Resp3 {
            encode::encode_push_len(2, proto, out);
            encode::encode_bulk(b"invalidate", out);
        } else if redirected && subscribed {
            encode::encode_push_len(3, proto, out);
            encode::encode_bulk(b"message", out);
            encode::encode_bulk(b"__redis__:invalidate", out);
        } else {
            return;
        }
        match self {
            Push::Keys { keys, .. } => {
                encode::encode_array_len(keys.len(), out);
                for k in keys {
                    encode::encode_bulk(k, out);
                }
            }
            Push::Flush { resp3_null, .. } => {
                out.extend_from_slice(if *resp3_null { b"_\r\n" } else { b"$-1\r\n" })
            }
            Push::RedirBroken(_) => {}
        }
    }
}

/// The registry's way to one client's queue.
#[derive(Clone)]
struct Sender {
    tx: mpsc::UnboundedSender<Push>,
    queued: Arc<AtomicUsize>,
    kill: CancellationToken,
}

impl Sender {
    fn send(&self, push: Push) {
        if self.kill.is_cancelled() {
            return;
        }
        let size = push.size();
        if self.queued.fetch_add(size, Ordering::Relaxed) + size > QUEUE_LIMIT {
            tracing::warn!("tracking client over the output buffer limit; disconnecting it");
            self.kill.cancel();
            return;
        }
        let _ = self.tx.send(push);
    }
}

/// What a session keeps of client-side caching: its mode (a copy of the registry's, for
/// the per-command checks), the `CLIENT CACHING` flag and its push queue.
pub struct ClientTracking {
    pub mode: Mode,
    /// `CLIENT CACHING YES|NO` given for the next command.
    pub caching: bool,
    /// The mode changed: the registration must reach storaged before the reply.
    pub registering: bool,
    rx: mpsc::UnboundedReceiver<Push>,
    /// A push taken by [`pushed`], written before the rest of the queue.
    first: Option<Push>,
    queued: Arc<AtomicUsize>,
}

impl ClientTracking {
    fn take(&mut self, push: &Push) {
        self.queued.fetch_sub(push.size(), Ordering::Relaxed);
    }
}

/// One client as the registry knows it.
struct Client {
    link: usize,
    to: Sender,
    mode: Mode,
    resp3: bool,
    broken: bool,
    /// Read something since its last flush: a lost link must tell it to flush.
    cached: bool,
}

#[derive(Default)]
struct LinkTable {
    /// Key → clients of this link that read it since its last invalidation.
    keys: HashMap<Vec<u8>, HashSet<u64>>,
    /// Keys not registered with storaged yet.
    unsent: Vec<Vec<u8>>,
    /// BCAST prefix → clients of this link following it.
    prefixes: HashMap<Vec<u8>, HashSet<u64>>,
    /// Prefixes whose client count changed since the last registration.
    dirty_prefixes: BTreeSet<Vec<u8>>,
    /// Tracking clients on this link.
    tracking: usize,
    /// Whether storaged has been told `tracking > 0` as it is now.
    active_sent: bool,
}

impl LinkTable {
    fn take(&mut self, all: bool) -> Option<TrackingFrame> {
        let active = self.tracking > 0;
        if all {
            self.unsent.clear();
            self.dirty_prefixes.clear();
            self.active_sent = active;
            if !active && self.keys.is_empty() && self.prefixes.is_empty() {
                return None;
            }
            return Some(TrackingFrame {
                proxy: 0,
                replace: true,
                active,
                keys: self.keys.keys().cloned().collect(),
                prefixes: self
                    .prefixes
                    .iter()
                    .map(|(p, c)| TrackedPrefix {
                        prefix: p.clone(),
                        clients: c.len() as u32,
                    })
                    .collect(),
            });
        }
        if self.unsent.is_empty() && self.dirty_prefixes.is_empty() && self.active_sent == active {
            return None;
        }
        self.active_sent = active;
        let prefixes = std::mem::take(&mut self.dirty_prefixes)
            .into_iter()
            .map(|p| {
                let clients = self.prefixes.get(&p).map_or(0, |c| c.len() as u32);
                TrackedPrefix { prefix: p, clients }
            })
            .collect();
        Some(TrackingFrame {
            proxy: 0,
            replace: false,
            active,
            keys: std::mem::take(&mut self.unsent),
            prefixes,
        })
    }
}

#[derive(Default)]
struct Inner {
    clients: HashMap<u64, Client>,
    links: Vec<LinkTable>,
    /// Redirect targets: `false` once the target disconnected (invalidations for it then
    /// break the redirect).
    targets: HashMap<u64, bool>,
}

/// A BCAST client and one of its prefixes: one push per slot and `Invalidate` frame.
type BcastSlot = (u64, Vec<u8>);

/// The proxy's tracking registry, shared by its connections and links.
pub struct Tracking {
    inner: Mutex<Inner>,
    /// Per link: registrations wait to be sent (the dispatcher's one atomic per batch).
    dirty: Vec<AtomicBool>,
    /// Whether any client ever set up tracking or a queue (disconnects look only then).
    used: AtomicBool,
}

impl Tracking {
    /// A registry for a pool of `links` links.
    pub fn new(links: usize) -> Tracking {
        let links = links.max(1);
        Tracking {
            inner: Mutex::new(Inner {
                links: (0..links).map(|_| LinkTable::default()).collect(),
                ..Inner::default()
            }),
            dirty: (0..links).map(|_| AtomicBool::new(false)).collect(),
            used: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn mark(&self, link: usize) {
        if let Some(d) = self.dirty.get(link) {
            d.store(true, Ordering::SeqCst);
        }
    }

    /// Applies a client's new mode (`CLIENT TRACKING ON|OFF`): prefixes and the link's
    /// tracking count follow. Keys it read stay in the table, as in Redis (a client that
    /// turns tracking on again still hears of them).
    fn set_mode(&self, id: u64, mode: &Mode) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let Some(client) = inner.clients.get_mut(&id) else {
            return;
        };
        let link = client.link;
        let Some(table) = inner.links.get_mut(link) else {
            return;
        };
        let old = std::mem::replace(&mut client.mode, mode.clone());
        if old.on != mode.on {
            if mode.on {
                table.tracking += 1;
            } else {
                table.tracking = table.tracking.saturating_sub(1);
            }
        }
        if mode.on {
            client.broken = false;
        }
        for p in old.prefixes.difference(&mode.prefixes) {
            if let Some(ids) = table.prefixes.get_mut(p) {
                ids.remove(&id);
                if ids.is_empty() {
                    table.prefixes.remove(p);
                }
            }
            table.dirty_prefixes.insert(p.clone());
        }
        for p in mode.prefixes.difference(&old.prefixes) {
            table.prefixes.entry(p.clone()).or_default().insert(id);
            table.dirty_prefixes.insert(p.clone());
        }
        if mode.redirect != 0 {
            inner.targets.insert(mode.redirect, true);
        }
        self.mark(link);
    }

    /// Remembers that client `id` on `link` read `keys` (default mode), before its request
    /// is queued; keys new to the link are queued for registration.
    pub fn remember(&self, link: usize, id: u64, keys: Vec<Vec<u8>>) {
        if keys.is_empty() {
            return;
        }
        let mut inner = self.lock();
        if let Some(c) = inner.clients.get_mut(&id) {
            c.cached = true;
        }
        let Some(table) = inner.links.get_mut(link) else {
            return;
        };
        let mut added = false;
        for key in keys {
            match table.keys.get_mut(&key) {
                Some(ids) => {
                    ids.insert(id);
                }
                None => {
                    table.unsent.push(key.clone());
                    table.keys.insert(key, HashSet::from([id]));
                    added = true;
                }
            }
        }
        if added {
            self.mark(link);
        }
    }

    /// Notes that BCAST client `id` read something (it may cache it from now on).
    pub fn read_by(&self, id: u64) {
        if let Some(c) = self.lock().clients.get_mut(&id) {
            c.cached = true;
        }
    }

    /// Whether a client with this id is tracking (for tests and INFO).
    pub fn tracking_clients(&self) -> usize {
        self.lock().clients.values().filter(|c| c.mode.on).count()
    }

    /// Keys remembered across links.
    pub fn tracked_keys(&self) -> usize {
        self.lock().links.iter().map(|l| l.keys.len()).sum()
    }

    /// Whether `CLIENT TRACKING`'s redirect broke (the target went away).
    pub fn broken_redirect(&self, id: u64) -> bool {
        self.lock().clients.get(&id).is_some_and(|c| c.broken)
    }

    /// Sends `push` for client `from` (whose mode is `mode`): to itself, or to its
    /// redirect target. A target that went away breaks the redirect: the client is told
    /// so (RESP3) and the push is dropped.
    fn route(inner: &mut Inner, from: u64, push: impl FnOnce(bool) -> Push) {
        let Some(client) = inner.clients.get(&from) else {
            return;
        };
        let redirect = client.mode.redirect;
        if redirect == 0 {
            client.to.send(push(false));
            return;
        }
        if let Some(target) = inner.clients.get(&redirect) {
            target.to.send(push(true));
            return;
        }
        if inner.targets.get(&redirect) == Some(&false) {
            if let Some(client) = inner.clients.get_mut(&from) {
                client.broken = true;
                client.to.send(Push::RedirBroken(redirect));
            }
        }
        // Otherwise the target exists but can receive nothing (RESP2, not subscribed):
        // Redis drops the message too.
    }

    /// Tells the tracking clients to flush: all of them, or (`only_cached`) those that read
    /// something since their last flush.
    fn flush_clients(inner: &mut Inner, only_cached: bool) {
        let mut ids: Vec<(u64, bool)> = inner
            .clients
            .iter_mut()
            .filter(|(_, c)| c.mode.on && (c.cached || !only_cached))
            .map(|(id, c)| {
                c.cached = false;
                (*id, c.resp3)
            })
            .collect();
        ids.sort_unstable();
        for (id, resp3) in ids {
            Self::route(inner, id, |redirected| Push::Flush {
                redirected,
                resp3_null: resp3,
            });
        }
    }
}

impl TrackSink for Tracking {
    fn registrations(&self, link: usize, all: bool) -> Option<TrackingFrame> {
        let dirty = self.dirty.get(link)?;
        if !all && !dirty.load(Ordering::SeqCst) {
            return None;
        }
        dirty.store(false, Ordering::SeqCst);
        let mut inner = self.lock();
        inner.links.get_mut(link)?.take(all)
    }

    fn invalidate(
        &self,
        _link: usize,
        frame: &ArchivedInvalidate,
        client_of: &dyn Fn(u64) -> Option<u64>,
    ) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        // BCAST: one push per client and prefix, with every key of the frame under it.
        let mut bcast: Vec<(BcastSlot, Vec<Bytes>)> = Vec::new();
        for event in frame.events.iter() {
            match event {
                ArchivedInvalidation::Key { key, origin } => {
                    let origin = match origin.to_native() {
                        0 => None,
                        id => client_of(id),
                    };
                    let key = key.as_slice();
                    // storaged forgot the key for every link of this proxy.
                    let mut readers: HashSet<u64> = HashSet::new();
                    let mut followers: Vec<(u64, Vec<u8>)> = Vec::new();
                    for table in inner.links.iter_mut() {
                        if let Some(ids) = table.keys.remove(key) {
                            readers.extend(ids);
                        }
                        for (p, ids) in &table.prefixes {
                            if key.starts_with(p) {
                                followers.extend(ids.iter().map(|id| (*id, p.clone())));
                            }
                        }
                    }
                    followers.sort_unstable();
                    let mut readers: Vec<u64> = readers.into_iter().collect();
                    readers.sort_unstable();
                    for id in readers {
                        let Some(c) = inner.clients.get(&id) else {
                            continue;
                        };
                        if !c.mode.on || c.mode.bcast || (c.mode.noloop && origin == Some(id)) {
                            continue;
                        }
                        let k = Bytes::copy_from_slice(key);
                        Self::route(inner, id, |redirected| Push::Keys {
                            keys: vec![k],
                            redirected,
                        });
                    }
                    for (id, prefix) in followers {
                        let Some(c) = inner.clients.get(&id) else {
                            continue;
                        };
                        if !c.mode.on || (c.mode.noloop && origin == Some(id)) {
                            continue;
                        }
                        let slot = (id, prefix);
                        let k = Bytes::copy_from_slice(key);
                        match bcast.iter_mut().find(|(s, _)| *s == slot) {
                            Some((_, keys)) => keys.push(k),
                            None => bcast.push((slot, vec![k])),
                        }
                    }
                }
                ArchivedInvalidation::Flush => {
                    for table in inner.links.iter_mut() {
                        table.keys.clear();
                    }
                    Self::flush_clients(inner, false);
                }
            }
        }
        for ((id, _), keys) in bcast {
            Self::route(inner, id, |redirected| Push::Keys { keys, redirected });
        }
    }

    fn lost(&self, link: usize) {
        // Invalidations for any client may have travelled on this link.
        let mut inner = self.lock();
        Self::flush_clients(&mut inner, true);
        drop(inner);
        // Everything is registered again (whole) on the next link.
        self.mark(link);
    }
}

impl Tracking {
    /// Gives client `id` on `link` a push queue, registered here; `kill` disconnects it
    /// if it stops reading.
    pub fn register_client(
        &self,
        id: u64,
        link: usize,
        kill: CancellationToken,
        resp3: bool,
    ) -> ClientTracking {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        self.used.store(true, Ordering::SeqCst);
        self.lock().clients.insert(
            id,
            Client {
                link,
                to: Sender {
                    tx,
                    queued: queued.clone(),
                    kill,
                },
                mode: Mode::default(),
                resp3,
                broken: false,
                cached: false,
            },
        );
        ClientTracking {
            mode: Mode::default(),
            caching: false,
            registering: false,
            rx,
            first: None,
            queued,
        }
    }

    /// Sets client `id`'s mode (`CLIENT TRACKING`); `resp3` is its protocol now (the null
    /// of a flush is written in it).
    pub fn update_client(&self, id: u64, mode: &Mode, resp3: bool) {
        if let Some(c) = self.lock().clients.get_mut(&id) {
            c.resp3 = resp3;
        }
        self.set_mode(id, mode);
    }

    /// Forgets a client that disconnected: its queue (`had_queue`), and it as a redirect
    /// target.
    pub fn client_gone(&self, id: u64, had_queue: bool) {
        if !self.used.load(Ordering::SeqCst) {
            return;
        }
        let mut inner = self.lock();
        if let Some(t) = inner.targets.get_mut(&id) {
            *t = false;
        }
        if !had_queue {
            return;
        }
        let Some(c) = inner.clients.remove(&id) else {
            return;
        };
        if !c.mode.on {
            return;
        }
        if let Some(table) = inner.links.get_mut(c.link) {
            table.tracking = table.tracking.saturating_sub(1);
            for p in &c.mode.prefixes {
                if let Some(ids) = table.prefixes.get_mut(p) {
                    ids.remove(&id);
                    if ids.is_empty() {
                        table.prefixes.remove(p);
                    }
                }
                table.dirty_prefixes.insert(p.clone());
            }
        }
        drop(inner);
        self.mark(c.link);
    }
}

impl ClientTracking {
    /// Appends the queued pushes, encoded for a client speaking `proto` (`subscribed`: in
    /// pub/sub mode), to `out`.
    pub fn write(&mut self, proto: Protocol, subscribed: bool, out: &mut BytesMut) {
        if let Some(push) = self.first.take() {
            self.take(&push);
            push.encode(proto, subscribed, out);
        }
        while let Ok(push) = self.rx.try_recv() {
            self.take(&push);
            push.encode(proto, subscribed, out);
        }
    }
}

/// Resolves when a push is queued for the client; never for a client without a queue.
/// Cancel safe: the push stays for [`ClientTracking::write`].
pub async fn pushed(tracking: &mut Option<Box<ClientTracking>>) {
    match tracking {
        Some(t) if t.first.is_some() => {}
        Some(t) => match t.rx.recv().await {
            Some(push) => t.first = Some(push),
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}
