//! This proxy's pub/sub table: which local clients subscribe to which channels, patterns
//! and shard channels (`SSUBSCRIBE`, a namespace of their own), the per-name counts registered with storaged, and the fan-out of published
//! messages to clients.
//!
//! storaged routes messages between proxies (see `storaged/src/pubsub.rs`); this module
//! keeps the client side. Registration travels on the pool's first link as `Subscriptions`
//! frames carrying absolute counts: [`PushSink::take_dirty`] gives the dispatcher the names
//! whose count changed, and [`PushSink::snapshot`] the whole table to send after every
//! reconnect, so storaged's view heals by itself (the link sees the table only as a
//! [`PushSink`]). Messages arrive as `Push` frames on any link and are queued per client
//! ([`Subscriber`]); the queue is accounted in bytes and
//! the client is disconnected past Redis's pub/sub output-buffer limits instead of letting
//! proxy memory grow. This module never touches a socket.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tandem_shared::wire::{ArchivedPush, Subscription, Subscriptions};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use tandem_resp::{encode, Protocol};

use crate::link::PushSink;

/// Redis's default `client-output-buffer-limit pubsub 32mb 8mb 60`.
pub const HARD_LIMIT: usize = 32 * 1024 * 1024;
pub const SOFT_LIMIT: usize = 8 * 1024 * 1024;
pub const SOFT_SECONDS: Duration = Duration::from_secs(60);

/// What a client subscribes to: a channel (`SUBSCRIBE`), a pattern (`PSUBSCRIBE`) or a
/// shard channel (`SSUBSCRIBE`). Each is its own namespace: a message reaches only the
/// subscribers of the kind its command publishes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

/// One message for one client.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The pattern that matched, for `pmessage`.
    pub pattern: Option<Bytes>,
    pub channel: Bytes,
    pub message: Bytes,
    /// Published by `SPUBLISH` (`smessage`).
    pub shard: bool,
}

impl Delivery {
    fn size(&self) -> usize {
        self.channel.len() + self.message.len() + self.pattern.as_ref().map_or(0, |p| p.len()) + 64
    }

    /// Appends the `message` / `pmessage` push in the client's protocol.
    pub fn encode(&self, proto: Protocol, out: &mut BytesMut) {
        match &self.pattern {
            None => {
                encode::encode_push_len(3, proto, out);
                encode::encode_bulk(if self.shard { b"smessage" } else { b"message" }, out);
            }
            Some(p) => {
                encode::encode_push_len(4, proto, out);
                encode::encode_bulk(b"pmessage", out);
                encode::encode_bulk(p, out);
            }
        }
        encode::encode_bulk(&self.channel, out);
        encode::encode_bulk(&self.message, out);
    }
}

/// The sending side of one client's message queue, held by the table.
#[derive(Clone)]
pub struct Subscriber {
    tx: mpsc::UnboundedSender<Delivery>,
    queued: Arc<AtomicUsize>,
    /// Unix ms when the queue first went over the soft limit; 0 when under it.
    soft_since_ms: Arc<AtomicU64>,
    kill: CancellationToken,
}

impl Subscriber {
    fn offer(&self, d: Delivery, stats: &Counters) {
        if self.kill.is_cancelled() {
            return;
        }
        let size = d.size();
        let queued = self.queued.fetch_add(size, Ordering::Relaxed) + size;
        if queued > HARD_LIMIT || self.over_soft_too_long(queued) {
            tracing::warn!(
                queued,
                "pub/sub client over the output buffer limit; disconnecting it"
            );
            stats.limit_disconnects.fetch_add(1, Ordering::Relaxed);
            self.kill.cancel();
            return;
        }
        let _ = self.tx.send(d);
    }

    fn over_soft_too_long(&self, queued: usize) -> bool {
        if queued <= SOFT_LIMIT {
            return false;
        }
        let now = crate::clock::now_ms() as u64;
        let since = self.soft_since_ms.load(Ordering::Relaxed);
        if since == 0 {
            self.soft_since_ms.store(now, Ordering::Relaxed);
            return false;
        }
        now.saturating_sub(since) > SOFT_SECONDS.as_millis() as u64
    }
}

/// The receiving side, owned by the client's connection.
pub struct Inbox {
    rx: mpsc::UnboundedReceiver<Delivery>,
    queued: Arc<AtomicUsize>,
    soft_since_ms: Arc<AtomicU64>,
}

impl Inbox {
    /// Waits for the next message.
    pub async fn recv(&mut self) -> Option<Delivery> {
        let d = self.rx.recv().await?;
        self.taken(&d);
        Some(d)
    }

    /// The next message if one is already queued.
    pub fn try_recv(&mut self) -> Option<Delivery> {
        let d = self.rx.try_recv().ok()?;
        self.taken(&d);
        Some(d)
    }

    fn taken(&self, d: &Delivery) {
        let left = self.queued.fetch_sub(d.size(), Ordering::Relaxed) - d.size();
        if left <= SOFT_LIMIT {
            self.soft_since_ms.store(0, Ordering::Relaxed);
        }
    }

    /// Bytes waiting (for CLIENT LIST's `omem`).
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }
}

/// A client's own subscriptions, kept by its connection.
pub struct ClientSubs {
    pub channels: BTreeSet<Bytes>,
    pub patterns: BTreeSet<Bytes>,
    pub shard: BTreeSet<Bytes>,
    pub inbox: Inbox,
    subscriber: Subscriber,
}

impl ClientSubs {
    pub fn new(kill: CancellationToken) -> ClientSubs {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let soft = Arc::new(AtomicU64::new(0));
        ClientSubs {
            channels: BTreeSet::new(),
            patterns: BTreeSet::new(),
            shard: BTreeSet::new(),
            inbox: Inbox {
                rx,
                queued: queued.clone(),
                soft_since_ms: soft.clone(),
            },
            subscriber: Subscriber {
                tx,
                queued,
                soft_since_ms: soft,
                kill,
            },
        }
    }

    /// Every subscription, of all three kinds: a RESP2 client with any is in subscribed
    /// mode (Redis's `clientTotalPubSubSubscriptionCount`).
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard.len()
    }

    /// The count Redis puts in a reply of `kind`: channels plus patterns for (P)SUBSCRIBE
    /// and (P)UNSUBSCRIBE, shard channels alone for SSUBSCRIBE and SUNSUBSCRIBE.
    pub fn count_for(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shard.len(),
            Kind::Channel | Kind::Pattern => self.channels.len() + self.patterns.len(),
        }
    }

    /// The client's names of `kind`.
    pub fn names_mut(&mut self, kind: Kind) -> &mut BTreeSet<Bytes> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }
}

#[derive(Default)]
struct Table {
    channels: HashMap<Bytes, HashMap<u64, Subscriber>>,
    patterns: HashMap<Bytes, HashMap<u64, Subscriber>>,
    shard: HashMap<Bytes, HashMap<u64, Subscriber>>,
    /// Names whose count changed since the dispatcher last looked.
    dirty: BTreeSet<(Kind, Bytes)>,
}

impl Table {
    fn index(&self, kind: Kind) -> &HashMap<Bytes, HashMap<u64, Subscriber>> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    fn index_mut(&mut self, kind: Kind) -> &mut HashMap<Bytes, HashMap<u64, Subscriber>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }
}

/// The wire entry of one name's count.
fn subscription(kind: Kind, name: &Bytes, clients: u32) -> Subscription {
    Subscription {
        pattern: kind == Kind::Pattern,
        name: name.to_vec(),
        clients,
        shard: kind == Kind::Shard,
    }
}

/// Counters for INFO.
#[derive(Default)]
pub struct Counters {
    pub messages_in: AtomicU64,
    pub deliveries: AtomicU64,
    pub limit_disconnects: AtomicU64,
}

/// The proxy's pub/sub table.
#[derive(Default)]
pub struct PubSub {
    table: Mutex<Table>,
    changed: Notify,
    pub stats: Counters,
}

impl PubSub {
    /// Adds `client` to `name`; true if it was not subscribed yet. True in `.1` when this
    /// proxy had no subscriber of `name` before, so storaged must learn of it before the
    /// client is told it is subscribed.
    pub fn subscribe(
        &self,
        client: u64,
        kind: Kind,
        name: &Bytes,
        subs: &ClientSubs,
    ) -> (bool, bool) {
        let Ok(mut t) = self.table.lock() else {
            return (false, false);
        };
        let index = t.index_mut(kind);
        let entry = index.entry(name.clone()).or_default();
        let first_here = entry.is_empty();
        let added = entry.insert(client, subs.subscriber.clone()).is_none();
        if added {
            t.dirty.insert((kind, name.clone()));
            drop(t);
            self.changed.notify_one();
        }
        (added, first_here)
    }

    /// Removes `client` from `name`; true when it was this proxy's last subscriber of it
    /// (storaged must learn of that before PUBLISH counts change for the client).
    pub fn unsubscribe(&self, client: u64, kind: Kind, name: &Bytes) -> bool {
        let Ok(mut t) = self.table.lock() else {
            return false;
        };
        let index = t.index_mut(kind);
        let Some(entry) = index.get_mut(name) else {
            return false;
        };
        if entry.remove(&client).is_none() {
            return false;
        }
        let last = entry.is_empty();
        if last {
            index.remove(name);
        }
        t.dirty.insert((kind, name.clone()));
        drop(t);
        self.changed.notify_one();
        last
    }

    /// Removes every subscription of a client that is going away.
    pub fn remove_client(&self, client: u64, subs: &ClientSubs) {
        for c in &subs.channels {
            self.unsubscribe(client, Kind::Channel, c);
        }
        for p in &subs.patterns {
            self.unsubscribe(client, Kind::Pattern, p);
        }
        for c in &subs.shard {
            self.unsubscribe(client, Kind::Shard, c);
        }
    }

    /// Local channel and pattern counts, for INFO.
    pub fn sizes(&self) -> (usize, usize) {
        self.table
            .lock()
            .map_or((0, 0), |t| (t.channels.len(), t.patterns.len()))
    }
}

impl PushSink for PubSub {
    async fn changed(&self) {
        self.changed.notified().await;
    }

    /// The changed names with their current counts, for a `Subscriptions` frame; `None`
    /// when nothing changed.
    fn take_dirty(&self) -> Option<Subscriptions> {
        let mut t = self.table.lock().ok()?;
        if t.dirty.is_empty() {
            return None;
        }
        let dirty = std::mem::take(&mut t.dirty);
        let entries = dirty
            .into_iter()
            .map(|(kind, name)| {
                let clients = t.index(kind).get(&name).map_or(0, |m| m.len() as u32);
                subscription(kind, &name, clients)
            })
            .collect();
        Some(Subscriptions {
            replace: false,
            entries,
        })
    }

    /// The whole table, replacing whatever storaged had for the link (sent on connect).
    fn snapshot(&self) -> Subscriptions {
        let Ok(mut t) = self.table.lock() else {
            return Subscriptions {
                replace: true,
                entries: Vec::new(),
            };
        };
        t.dirty.clear();
        let mut entries = Vec::new();
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for (name, clients) in t.index(kind) {
                entries.push(subscription(kind, name, clients.len() as u32));
            }
        }
        Subscriptions {
            replace: true,
            entries,
        }
    }

    /// Fans a `Push` frame out to local subscribers.
    fn deliver(&self, push: &ArchivedPush) {
        let Ok(t) = self.table.lock() else {
            return;
        };
        for m in push.messages.iter() {
            self.stats.messages_in.fetch_add(1, Ordering::Relaxed);
            let channel = Bytes::copy_from_slice(&m.channel);
            let message = Bytes::copy_from_slice(&m.message);
            let (pattern, clients) = match m.pattern.as_ref() {
                Some(p) => (
                    Some(Bytes::copy_from_slice(p)),
                    t.patterns.get(p.as_slice()),
                ),
                None if m.shard => (None, t.shard.get(&channel)),
                None => (None, t.channels.get(&channel)),
            };
            for sub in clients.into_iter().flat_map(|m| m.values()) {
                self.stats.deliveries.fetch_add(1, Ordering::Relaxed);
                sub.offer(
                    Delivery {
                        pattern: pattern.clone(),
                        channel: channel.clone(),
                        message: message.clone(),
                        shard: m.shard,
                    },
                    &self.stats,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_shared::wire::{Published, Push};

    fn push(messages: Vec<Published>) -> rkyv::util::AlignedVec {
        rkyv::to_bytes::<rkyv::rancor::Error>(&Push { messages }).unwrap()
    }

    #[test]
    fn counts_are_absolute_and_fan_out_is_local() {
        let hub = PubSub::default();
        let a = ClientSubs::new(CancellationToken::new());
        let mut b = ClientSubs::new(CancellationToken::new());
        let news = Bytes::from_static(b"news");
        assert_eq!(hub.subscribe(1, Kind::Channel, &news, &a), (true, true));
        assert_eq!(hub.subscribe(2, Kind::Channel, &news, &b), (true, false));
        assert_eq!(hub.subscribe(2, Kind::Channel, &news, &b), (false, false));
        let d = hub.take_dirty().unwrap();
        assert_eq!(d.entries.len(), 1);
        assert_eq!(d.entries[0].clients, 2);
        assert!(hub.take_dirty().is_none());
        hub.unsubscribe(1, Kind::Channel, &news);
        assert_eq!(hub.take_dirty().unwrap().entries[0].clients, 1);
        let bytes = push(vec![Published {
            channel: b"news".to_vec(),
            pattern: None,
            message: b"hi".to_vec(),
            shard: false,
        }]);
        hub.deliver(rkyv::access::<ArchivedPush, rkyv::rancor::Error>(&bytes).unwrap());
        let got = b.inbox.try_recv().unwrap();
        assert_eq!(&got.message[..], b"hi");
        assert_eq!(b.inbox.queued(), 0);
        let snap = hub.snapshot();
        assert!(snap.replace);
        assert_eq!(snap.entries.len(), 1);
    }

    #[test]
    fn a_client_over_the_hard_limit_is_disconnected() {
        let hub = PubSub::default();
        let kill = CancellationToken::new();
        let c = ClientSubs::new(kill.clone());
        let ch = Bytes::from_static(b"c");
        hub.subscribe(1, Kind::Channel, &ch, &c);
        let big = vec![b'x'; 1024 * 1024];
        let bytes = push(vec![Published {
            channel: b"c".to_vec(),
            pattern: None,
            message: big,
            shard: false,
        }]);
        let archived = rkyv::access::<ArchivedPush, rkyv::rancor::Error>(&bytes).unwrap();
        for _ in 0..31 {
            hub.deliver(archived);
        }
        assert!(!kill.is_cancelled());
        hub.deliver(archived);
        hub.deliver(archived);
        assert!(kill.is_cancelled());
        assert_eq!(hub.stats.limit_disconnects.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn shard_channels_are_a_namespace_of_their_own() {
        let hub = PubSub::default();
        let mut plain = ClientSubs::new(CancellationToken::new());
        let mut shard = ClientSubs::new(CancellationToken::new());
        let name = Bytes::from_static(b"c");
        assert_eq!(hub.subscribe(1, Kind::Channel, &name, &plain), (true, true));
        assert_eq!(hub.subscribe(2, Kind::Shard, &name, &shard), (true, true));
        shard.shard.insert(name.clone());
        assert_eq!((shard.count(), shard.count_for(Kind::Channel)), (1, 0));
        let dirty = hub.take_dirty().unwrap();
        assert_eq!(dirty.entries.len(), 2);
        assert!(dirty.entries.iter().any(|e| e.shard && !e.pattern));
        let bytes = push(vec![Published {
            channel: b"c".to_vec(),
            pattern: None,
            message: b"s".to_vec(),
            shard: true,
        }]);
        hub.deliver(rkyv::access::<ArchivedPush, rkyv::rancor::Error>(&bytes).unwrap());
        let got = shard.inbox.try_recv().unwrap();
        assert!(got.shard);
        assert!(plain.inbox.try_recv().is_none());
        let mut out = BytesMut::new();
        got.encode(Protocol::Resp2, &mut out);
        assert_eq!(&out[..], b"*3\r\n$8\r\nsmessage\r\n$1\r\nc\r\n$1\r\ns\r\n");
        assert!(hub.unsubscribe(2, Kind::Shard, &name));
        assert!(!hub.unsubscribe(2, Kind::Shard, &name));
    }

    #[test]
    fn messages_encode_as_redis_does() {
        let d = Delivery {
            pattern: Some(Bytes::from_static(b"n*")),
            channel: Bytes::from_static(b"news"),
            message: Bytes::from_static(b"hi"),
            shard: false,
        };
        let mut out = BytesMut::new();
        d.encode(Protocol::Resp2, &mut out);
        assert_eq!(
            &out[..],
            b"*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
        );
        out.clear();
        Delivery { pattern: None, ..d }.encode(Protocol::Resp3, &mut out);
        assert_eq!(
            &out[..],
            b">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
        );
    }
}
