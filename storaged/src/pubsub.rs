//! Pub/sub routing: which proxy link subscribes to which channels and patterns, and the
//! delivery of published messages to those links as `Push` frames.
//!
//! storaged only routes: nothing here touches RocksDB and no message is stored. A proxy
//! keeps its own clients' subscriptions and registers per-link *counts* (how many of its
//! clients subscribe to each channel or pattern) with `Subscriptions` frames; storaged sums
//! them for PUBLISH's receiver count and PUBSUB NUMSUB, and sends each message once per
//! interested link, naming the pattern that matched, so the proxy fans out locally.
//!
//! Ordering: a publish encodes and queues its frames while holding the table lock, so every
//! link sees messages in one global order, as Redis clients do. Queuing never waits: a link
//! whose outbox already holds its backlog limit of unwritten bytes is cut (its proxy
//! reconnects and registers again), which bounds storaged's memory against a proxy that
//! stopped reading.
//!
//! Keyspace events: the `notify-keyspace-events` flags live here too, because every proxy
//! shares them; the writer reads them ([`Hub::event_flags`]) as each group begins and
//! publishes the group's events here after it commits (`crate::events`).
//!
//! One hub per server, a value: `server::run` creates it and hands an `Arc<Hub>` to the
//! executor (read pool, writer thread) and, through it, to every link. Nothing here is
//! process-global, so tests build as many hubs as they like. This module knows nothing of
//! keyspace events beyond storing their flags.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::BytesMut;
use tandem_shared::glob::glob_match;
use tandem_shared::notify::Flags;
use tandem_shared::wire::{self, ArchivedSubscriptions, Published, Push};
use tokio_util::sync::CancellationToken;

use crate::outbox::Outbox;

/// One registered link.
struct LinkEntry {
    out: Arc<Outbox>,
    /// Most bytes of pushes left waiting in `out` before the link is cut.
    backlog: usize,
    kill: CancellationToken,
    max_frame: u32,
    channels: HashMap<Vec<u8>, u32>,
    patterns: HashMap<Vec<u8>, u32>,
    /// Shard channels (`SSUBSCRIBE`): a namespace of their own, reached only by SPUBLISH.
    shard: HashMap<Vec<u8>, u32>,
}

#[derive(Default)]
struct Table {
    links: HashMap<u64, LinkEntry>,
    /// channel → links with at least one subscriber.
    channels: HashMap<Vec<u8>, HashSet<u64>>,
    /// pattern → links with at least one subscriber.
    patterns: HashMap<Vec<u8>, HashSet<u64>>,
    /// shard channel → links with at least one subscriber.
    shard: HashMap<Vec<u8>, HashSet<u64>>,
}

/// Routing table and keyspace-notification settings.
#[derive(Default)]
pub struct Hub {
    table: Mutex<Table>,
    next_link: AtomicU64,
    event_flags: RwLock<Flags>,
    /// Messages handed to links, and links cut because their queue was full.
    pub delivered: AtomicU64,
    pub links_cut: AtomicU64,
    /// Client-side caching registrations of every link (`crate::tracking`).
    pub tracking: crate::tracking::Table,
    /// MONITOR registrations of every link and the delivery of lines (`crate::monitor`).
    pub monitor: crate::monitor::Table,
}

impl Hub {
    /// A hub with no links, publishing the keyspace events `flags` ask for.
    pub fn new(flags: Flags) -> Hub {
        let hub = Hub::default();
        hub.set_event_flags(flags);
        hub
    }

    /// Registers a link that may subscribe; returns its id for [`Hub::update`] and
    /// [`Hub::detach`]. `kill` is cancelled if the link cannot keep up: more than
    /// `backlog` bytes waiting in `out` when a push arrives.
    pub fn attach(
        &self,
        out: Arc<Outbox>,
        backlog: usize,
        kill: CancellationToken,
        max_frame: u32,
    ) -> u64 {
        let id = self.next_link.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut t) = self.table.lock() {
            t.links.insert(
                id,
                LinkEntry {
                    out,
                    backlog,
                    kill,
                    max_frame,
                    channels: HashMap::new(),
                    patterns: HashMap::new(),
                    shard: HashMap::new(),
                },
            );
        }
        id
    }

    /// Forgets a link and everything it subscribed.
    pub fn detach(&self, link: u64) {
        if let Ok(mut t) = self.table.lock() {
            if let Some(entry) = t.links.remove(&link) {
                for name in entry.channels.keys() {
                    unindex(&mut t.channels, name, link);
                }
                for name in entry.patterns.keys() {
                    unindex(&mut t.patterns, name, link);
                }
                for name in entry.shard.keys() {
                    unindex(&mut t.shard, name, link);
                }
            }
        }
    }

    /// Applies a `Subscriptions` frame from `link`.
    pub fn update(&self, link: u64, update: &ArchivedSubscriptions) {
        let Ok(mut t) = self.table.lock() else {
            return;
        };
        let t = &mut *t;
        let Some(entry) = t.links.get_mut(&link) else {
            return;
        };
        if update.replace {
            for name in entry.channels.drain().map(|(k, _)| k) {
                unindex(&mut t.channels, &name, link);
            }
            for name in entry.patterns.drain().map(|(k, _)| k) {
                unindex(&mut t.patterns, &name, link);
            }
            for name in entry.shard.drain().map(|(k, _)| k) {
                unindex(&mut t.shard, &name, link);
            }
        }
        for sub in update.entries.iter() {
            let name = sub.name.as_slice();
            let clients = sub.clients.to_native();
            let (own, index) = if sub.shard {
                (&mut entry.shard, &mut t.shard)
            } else if sub.pattern {
                (&mut entry.patterns, &mut t.patterns)
            } else {
                (&mut entry.channels, &mut t.channels)
            };
            if clients == 0 {
                if own.remove(name).is_some() {
                    unindex(index, name, link);
                }
            } else {
                own.insert(name.to_vec(), clients);
                index.entry(name.to_vec()).or_default().insert(link);
            }
        }
    }

    /// Sends `message` to every subscriber of `channel` on every link; returns how many
    /// clients receive it (channel subscribers plus one per client per matching pattern).
    pub fn publish(&self, channel: &[u8], message: &[u8]) -> i64 {
        let Ok(t) = self.table.lock() else {
            return 0;
        };
        if t.links.is_empty() {
            return 0;
        }
        let mut per_link: HashMap<u64, Vec<Published>> = HashMap::new();
        let mut receivers: i64 = 0;
        if let Some(links) = t.channels.get(channel) {
            for link in links {
                if let Some(entry) = t.links.get(link) {
                    receivers += i64::from(entry.channels.get(channel).copied().unwrap_or(0));
                    per_link.entry(*link).or_default().push(Published {
                        channel: channel.to_vec(),
                        pattern: None,
                        message: message.to_vec(),
                        shard: false,
                    });
                }
            }
        }
        for (pattern, links) in &t.patterns {
            if !glob_match(pattern, channel, false) {
                continue;
            }
            for link in links {
                if let Some(entry) = t.links.get(link) {
                    receivers += i64::from(entry.patterns.get(pattern).copied().unwrap_or(0));
                    per_link.entry(*link).or_default().push(Published {
                        channel: channel.to_vec(),
                        pattern: Some(pattern.clone()),
                        message: message.to_vec(),
                        shard: false,
                    });
                }
            }
        }
        self.send(&t, per_link);
        receivers
    }

    /// `SPUBLISH`: sends `message` to the subscribers of shard channel `channel` on every
    /// link (patterns never match a shard channel); returns how many clients receive it.
    pub fn spublish(&self, channel: &[u8], message: &[u8]) -> i64 {
        let Ok(t) = self.table.lock() else {
            return 0;
        };
        let mut per_link: HashMap<u64, Vec<Published>> = HashMap::new();
        let mut receivers: i64 = 0;
        for link in t.shard.get(channel).into_iter().flatten() {
            if let Some(entry) = t.links.get(link) {
                receivers += i64::from(entry.shard.get(channel).copied().unwrap_or(0));
                per_link.entry(*link).or_default().push(Published {
                    channel: channel.to_vec(),
                    pattern: None,
                    message: message.to_vec(),
                    shard: true,
                });
            }
        }
        self.send(&t, per_link);
        receivers
    }

    /// Shard channels with at least one subscriber on any link, optionally filtered by a
    /// glob pattern, in byte order (`PUBSUB SHARDCHANNELS`).
    pub fn shard_channels(&self, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let Ok(t) = self.table.lock() else {
            return Vec::new();
        };
        t.shard
            .keys()
            .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Subscriber count of one shard channel across links (`PUBSUB SHARDNUMSUB`).
    pub fn shard_numsub(&self, channel: &[u8]) -> i64 {
        let Ok(t) = self.table.lock() else {
            return 0;
        };
        t.shard.get(channel).map_or(0, |links| {
            links
                .iter()
                .filter_map(|l| t.links.get(l))
                .map(|e| i64::from(e.shard.get(channel).copied().unwrap_or(0)))
                .sum()
        })
    }

    /// Queues each link's messages as one `Push` frame, under the table lock (one global
    /// order); a link over its backlog is cut.
    fn send(&self, t: &Table, per_link: HashMap<u64, Vec<Published>>) {
        for (link, messages) in per_link {
            let Some(entry) = t.links.get(&link) else {
                continue;
            };
            let count = messages.len() as u64;
            let mut frame = BytesMut::new();
            if let Err(e) = wire::encode(&Push { messages }, entry.max_frame, &mut frame) {
                tracing::warn!(error = %e, "published message does not fit in a frame; dropped");
                continue;
            }
            if entry.out.append_bounded(&frame, entry.backlog) {
                entry.out.flush();
                self.delivered.fetch_add(count, Ordering::Relaxed);
            } else if !entry.kill.is_cancelled() {
                tracing::warn!(link, "proxy link is not reading its pushes; closing it");
                self.links_cut.fetch_add(1, Ordering::Relaxed);
                entry.kill.cancel();
            }
        }
    }

    /// Channels with at least one subscriber on any link, optionally filtered by a glob
    /// pattern, in byte order.
    pub fn channels(&self, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let Ok(t) = self.table.lock() else {
            return Vec::new();
        };
        t.channels
            .keys()
            .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// Subscriber count of one channel across links.
    pub fn numsub(&self, channel: &[u8]) -> i64 {
        let Ok(t) = self.table.lock() else {
            return 0;
        };
        t.channels.get(channel).map_or(0, |links| {
            links
                .iter()
                .filter_map(|l| t.links.get(l))
                .map(|e| i64::from(e.channels.get(channel).copied().unwrap_or(0)))
                .sum()
        })
    }

    /// Distinct patterns subscribed across links.
    pub fn numpat(&self) -> i64 {
        self.table.lock().map_or(0, |t| t.patterns.len() as i64)
    }

    /// Whether any link subscribes to anything (keyspace events are skipped otherwise).
    pub fn has_subscribers(&self) -> bool {
        self.table
            .lock()
            .is_ok_and(|t| !t.channels.is_empty() || !t.patterns.is_empty())
    }

    /// The keyspace-notification flags.
    pub fn event_flags(&self) -> Flags {
        self.event_flags.read().map(|f| *f).unwrap_or_default()
    }

    /// Replaces the keyspace-notification flags.
    pub fn set_event_flags(&self, flags: Flags) {
        if let Ok(mut f) = self.event_flags.write() {
            *f = flags;
        }
    }
}

fn unindex(index: &mut HashMap<Vec<u8>, HashSet<u64>>, name: &[u8], link: u64) {
    if let Some(links) = index.get_mut(name) {
        links.remove(&link);
        if links.is_empty() {
            index.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_shared::wire::{Frame, FrameKind, Subscription, Subscriptions};

    fn archived(update: &Subscriptions) -> rkyv::util::AlignedVec {
        rkyv::to_bytes::<rkyv::rancor::Error>(update).unwrap()
    }

    fn apply(hub: &Hub, link: u64, replace: bool, entries: &[(bool, &str, u32)]) {
        let update = Subscriptions {
            replace,
            entries: entries
                .iter()
                .map(|(pattern, name, clients)| Subscription {
                    pattern: *pattern,
                    name: name.as_bytes().to_vec(),
                    clients: *clients,
                    shard: false,
                })
                .collect(),
        };
        let bytes = archived(&update);
        let a = rkyv::access::<ArchivedSubscriptions, rkyv::rancor::Error>(&bytes).unwrap();
        hub.update(link, a);
    }

    fn pushes(out: &Outbox) -> Vec<Published> {
        let mut bytes = out.take_now();
        let mut got = Vec::new();
        while let Some(frame) = wire::decode(&mut bytes, 1 << 20).unwrap() {
            let frame: Frame = frame;
            assert_eq!(frame.kind, FrameKind::Push);
            let push = frame.access::<Push>().unwrap();
            got.extend(
                rkyv::deserialize::<Vec<Published>, rkyv::rancor::Error>(&push.messages).unwrap(),
            );
        }
        got
    }

    #[test]
    fn counts_sum_across_links_and_patterns_count_per_client() {
        let hub = Hub::default();
        let (out1, out2) = (Outbox::new(), Outbox::new());
        let a = hub.attach(out1.clone(), 1 << 20, CancellationToken::new(), 1 << 20);
        let b = hub.attach(out2.clone(), 1 << 20, CancellationToken::new(), 1 << 20);
        apply(&hub, a, false, &[(false, "news", 2), (true, "n*", 1)]);
        apply(&hub, b, false, &[(false, "news", 3), (true, "x*", 4)]);
        assert_eq!(hub.publish(b"news", b"hi"), 6);
        assert_eq!(hub.numsub(b"news"), 5);
        assert_eq!(hub.numpat(), 2);
        assert_eq!(hub.channels(None), vec![b"news".to_vec()]);
        assert_eq!(hub.channels(Some(b"x*")), Vec::<Vec<u8>>::new());
        let got = pushes(&out1);
        assert_eq!(got.len(), 2);
        assert!(got.iter().any(|m| m.pattern.as_deref() == Some(&b"n*"[..])));
        assert_eq!(pushes(&out2).len(), 1);
        // Absolute counts: lowering to 0 removes; replace drops everything else.
        apply(&hub, a, false, &[(false, "news", 0)]);
        assert_eq!(hub.numsub(b"news"), 3);
        apply(&hub, b, true, &[(false, "other", 1)]);
        assert_eq!(hub.numsub(b"news"), 0);
        assert_eq!(hub.numpat(), 1);
        hub.detach(a);
        hub.detach(b);
        assert_eq!(hub.publish(b"other", b"x"), 0);
        assert!(!hub.has_subscribers());
    }

    #[test]
    fn shard_channels_are_routed_apart_from_channels_and_patterns() {
        let hub = Hub::default();
        let (out1, out2) = (Outbox::new(), Outbox::new());
        let a = hub.attach(out1.clone(), 1 << 20, CancellationToken::new(), 1 << 20);
        let b = hub.attach(out2.clone(), 1 << 20, CancellationToken::new(), 1 << 20);
        apply(&hub, a, false, &[(false, "c", 1), (true, "*", 1)]);
        let shard = |clients| Subscriptions {
            replace: false,
            entries: vec![Subscription {
                pattern: false,
                name: b"c".to_vec(),
                clients,
                shard: true,
            }],
        };
        for (link, n) in [(a, 2), (b, 3)] {
            let bytes = archived(&shard(n));
            let update = rkyv::access::<ArchivedSubscriptions, rkyv::rancor::Error>(&bytes);
            hub.update(link, update.unwrap());
        }
        // PUBLISH sees the channel and the pattern, not the shard subscribers.
        assert_eq!(hub.publish(b"c", b"p"), 2);
        assert!(pushes(&out1).iter().all(|m| !m.shard));
        assert!(pushes(&out2).is_empty());
        assert_eq!(hub.spublish(b"c", b"s"), 5);
        let got = pushes(&out2);
        assert_eq!(got.len(), 1);
        assert!(got[0].shard && got[0].pattern.is_none());
        assert_eq!(hub.shard_numsub(b"c"), 5);
        assert_eq!(hub.numsub(b"c"), 1);
        assert_eq!(hub.shard_channels(Some(b"c*")), vec![b"c".to_vec()]);
        assert_eq!(hub.shard_channels(Some(b"x")), Vec::<Vec<u8>>::new());
        hub.detach(b);
        assert_eq!(hub.spublish(b"c", b"s"), 2);
        apply(&hub, a, true, &[]);
        assert_eq!(hub.spublish(b"c", b"s"), 0);
        assert!(hub.shard_channels(None).is_empty());
    }

    #[test]
    fn a_link_that_stops_reading_is_cut_not_buffered() {
        let hub = Hub::default();
        let out = Outbox::new();
        let kill = CancellationToken::new();
        // Room for about two pushes of one short message.
        let link = hub.attach(out.clone(), 150, kill.clone(), 1 << 20);
        apply(&hub, link, false, &[(false, "c", 1)]);
        for _ in 0..2 {
            assert_eq!(hub.publish(b"c", b"m"), 1);
        }
        assert!(out.take_now().len() <= 150);
        for _ in 0..2 {
            assert_eq!(hub.publish(b"c", b"m"), 1);
        }
        assert!(!kill.is_cancelled());
        hub.publish(b"c", b"m");
        assert!(kill.is_cancelled());
        assert_eq!(hub.links_cut.load(Ordering::Relaxed), 1);
    }
}
