//! Client-side caching (`CLIENT TRACKING`): which proxy links want to hear about which
//! keys, and the invalidations the writer sends them after each commit.
//!
//! The proxy knows which keys its tracking clients read and which BCAST prefixes they
//! follow; it registers them per link with `Tracking` frames, which the link's task applies
//! ([`Table::update`]) before it reads the next frame, so a read sent after its
//! registration is always covered. Clients are the proxy's business: this table knows
//! links only, and the proxy fans each invalidation out to its clients.
//!
//! The writer notes the keys each group modified ([`Pending::note`], fed from
//! `writer::settle_touched`) and, once the group has committed and before any of its
//! replies is sent, looks them up here ([`Table::deliver`]): each proxy concerned hears of
//! each event once, in an `Invalidate` frame on the writing request's link when that link is
//! its own (the proxy then reads it before the write's reply), else on one of its links that
//! registered, appended to the link's outbox ahead of the replies. The
//! lookup comes after the commit on purpose: a registration that reached the table after
//! the lookup belongs to a read that ran after the commit, so it saw the new value. A key
//! is reported to a link once and then forgotten (Redis's rule: a client must read the key
//! again to hear of its next change); prefixes stay. A flush (FLUSHALL, FLUSHDB) reaches
//! every link with a tracking client and forgets every key.
//!
//! Cost: nothing unless a link has registered something ([`Table::is_active`], one atomic
//! load per write group); then one hash lookup per modified key after the commit, plus a
//! prefix comparison per BCAST prefix. A link's registrations die with it: the proxy tells
//! its clients to flush when a link is lost and registers again on the next one.
//!
//! Issue 20's proxy read cache can use the same path: its registrations are key
//! registrations like a client's, and the invalidation is queued before the write's reply.
//!
//! Nothing here touches RocksDB or decodes a request.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use tandem_shared::wire::message::{ArchivedTracking, Invalidate, Invalidation};
use tandem_shared::wire::{self};
use tokio_util::sync::CancellationToken;

use crate::outbox::{Outbox, ReplyTo};

/// Bytes of invalidations that may wait for a link's socket before the link is cut (the
/// proxy stopped reading); as for published messages.
const BACKLOG: usize = 64 * 1024 * 1024;

/// A link's identity here: the address of its outbox, which the writer also holds in each
/// request's reply path.
fn link_of(out: &Arc<Outbox>) -> usize {
    Arc::as_ptr(out) as usize
}

struct LinkEntry {
    /// The proxy the link belongs to (its instance id).
    proxy: u64,
    out: Arc<Outbox>,
    max_frame: u32,
    kill: CancellationToken,
    /// Has a tracking client: gets the flush of FLUSHALL/FLUSHDB.
    active: bool,
    /// Keys registered by this link (the index of `Inner::keys`), to forget them on
    /// `replace` and when the link goes.
    keys: usize,
    prefixes: BTreeMap<Vec<u8>, u32>,
}

#[derive(Default)]
struct Inner {
    links: HashMap<usize, LinkEntry>,
    /// Key → links that registered it.
    keys: HashMap<Vec<u8>, Vec<usize>>,
}

impl Inner {
    fn refresh(&self, flag: &AtomicBool) {
        let on = self
            .links
            .values()
            .any(|l| l.active || l.keys > 0 || !l.prefixes.is_empty());
        flag.store(on, Ordering::SeqCst);
    }

    fn forget_keys_of(&mut self, link: usize) {
        self.keys.retain(|_, links| {
            links.retain(|l| *l != link);
            !links.is_empty()
        });
    }
}

/// The tracking registrations of every link. One per server, kept in the pub/sub hub.
#[derive(Default)]
pub struct Table {
    active: AtomicBool,
    inner: Mutex<Inner>,
}

impl Table {
    /// Whether any link registered anything: the writer records modified keys only then.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::SeqCst)
    }

    /// Applies a `Tracking` frame from the link writing to `out`. `kill` is cancelled if
    /// the link stops reading its invalidations.
    pub fn update(
        &self,
        out: &Arc<Outbox>,
        max_frame: u32,
        kill: &CancellationToken,
        frame: &ArchivedTracking,
    ) {
        let Ok(mut t) = self.inner.lock() else {
            return;
        };
        let t = &mut *t;
        let link = link_of(out);
        if frame.replace && t.links.remove(&link).is_some() {
            t.forget_keys_of(link);
        }
        let entry = t.links.entry(link).or_insert_with(|| LinkEntry {
            proxy: frame.proxy.to_native(),
            out: out.clone(),
            max_frame,
            kill: kill.clone(),
            active: false,
            keys: 0,
            prefixes: BTreeMap::new(),
        });
        entry.active = frame.active;
        for key in frame.keys.iter() {
            let links = t.keys.entry(key.to_vec()).or_default();
            if !links.contains(&link) {
                links.push(link);
                entry.keys += 1;
            }
        }
        for p in frame.prefixes.iter() {
            let clients = p.clients.to_native();
            if clients == 0 {
                entry.prefixes.remove(p.prefix.as_slice());
            } else {
                entry.prefixes.insert(p.prefix.to_vec(), clients);
            }
        }
        t.refresh(&self.active);
    }

    /// Forgets the link writing to `out` (it closed).
    pub fn detach(&self, out: &Arc<Outbox>) {
        let Ok(mut t) = self.inner.lock() else {
            return;
        };
        let link = link_of(out);
        if t.links.remove(&link).is_some() {
            t.forget_keys_of(link);
            t.refresh(&self.active);
        }
    }

    /// Sends the invalidations of a group that committed, before its replies.
    pub fn deliver(&self, pending: &mut Pending) {
        if pending.events.is_empty() {
            return;
        }
        let events = std::mem::take(&mut pending.events);
        let Ok(mut t) = self.inner.lock() else {
            return;
        };
        let t = &mut *t;
        let mut per_link: HashMap<usize, Vec<Invalidation>> = HashMap::new();
        for event in events {
            // Each proxy concerned hears of the event once, on the writing request's link
            // if that is one of its own (so it comes before the write's reply), else on the
            // first of its links concerned.
            let mut to: Vec<(u64, usize)> = Vec::new();
            let add = |to: &mut Vec<(u64, usize)>, proxy: u64, link: usize| {
                if !to.iter().any(|(p, _)| *p == proxy) {
                    to.push((proxy, link));
                }
            };
            let origin = match &event {
                Event::Key(_, origin) => *origin,
                Event::Flush => Origin::default(),
            };
            let via_origin =
                |proxy: u64, link: usize, links: &HashMap<usize, LinkEntry>| match links
                    .get(&origin.link)
                {
                    Some(o) if o.proxy == proxy => origin.link,
                    _ => link,
                };
            let item = match event {
                Event::Key(key, _) => {
                    let mut readers = t.keys.remove(&key).unwrap_or_default();
                    readers.sort_unstable();
                    for l in &readers {
                        if let Some(e) = t.links.get_mut(l) {
                            e.keys = e.keys.saturating_sub(1);
                            add(&mut to, e.proxy, *l);
                        }
                    }
                    let mut followers: Vec<(u64, usize)> = t
                        .links
                        .iter()
                        .filter(|(_, e)| e.prefixes.keys().any(|p| key.starts_with(p)))
                        .map(|(l, e)| (e.proxy, *l))
                        .collect();
                    followers.sort_unstable();
                    for (proxy, l) in followers {
                        add(&mut to, proxy, l);
                    }
                    Some(key)
                }
                Event::Flush => {
                    t.keys.clear();
                    let mut active: Vec<(u64, usize)> = t
                        .links
                        .iter_mut()
                        .map(|(l, e)| {
                            e.keys = 0;
                            (e.proxy, *l, e.active)
                        })
                        .filter(|(_, _, active)| *active)
                        .map(|(p, l, _)| (p, l))
                        .collect();
                    active.sort_unstable();
                    for (proxy, l) in active {
                        add(&mut to, proxy, l);
                    }
                    None
                }
            };
            for (proxy, link) in to {
                let link = via_origin(proxy, link, &t.links);
                let event = match &item {
                    Some(key) => Invalidation::Key {
                        key: key.clone(),
                        origin: if link == origin.link { origin.id } else { 0 },
                    },
                    None => Invalidation::Flush,
                };
                per_link.entry(link).or_default().push(event);
            }
        }
        t.refresh(&self.active);
        for (link, events) in per_link {
            let Some(entry) = t.links.get(&link) else {
                continue;
            };
            let mut frame = BytesMut::new();
            if let Err(e) = wire::encode(&Invalidate { events }, entry.max_frame, &mut frame) {
                tracing::warn!(error = %e, "invalidations do not fit in a frame; cutting the link so its clients flush");
                entry.kill.cancel();
                continue;
            }
            if entry.out.append_bounded(&frame, BACKLOG) {
                entry.out.flush();
            } else if !entry.kill.is_cancelled() {
                tracing::warn!("proxy link is not reading its invalidations; closing it");
                entry.kill.cancel();
            }
        }
    }
}

/// Where a modification came from: the link and link-local id of the request that made it
/// (0 for expiry and anything not from a request on a link), so a NOLOOP client is not told
/// of its own writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Origin {
    link: usize,
    id: u64,
}

impl Origin {
    /// The request `id` answered through `reply`.
    pub fn of(reply: &ReplyTo, id: u64) -> Origin {
        match reply {
            ReplyTo::Link(out) => Origin {
                link: link_of(out),
                id,
            },
            ReplyTo::Once(_) => Origin::default(),
        }
    }
}

enum Event {
    Key(Vec<u8>, Origin),
    Flush,
}

/// The writer's notes for the group it is running: what was modified, in order, while
/// some link tracks anything.
#[derive(Default)]
pub struct Pending {
    on: bool,
    origin: Origin,
    events: Vec<Event>,
}

impl Pending {
    /// Called as a group begins: whether this group must record modified keys.
    pub fn begin(&mut self, table: &Table) -> bool {
        self.events.clear();
        self.origin = Origin::default();
        self.on = table.is_active();
        self.on
    }

    /// Names the request whose commands run next (`Origin::default()` after it).
    pub fn set_origin(&mut self, origin: Origin) {
        self.origin = origin;
    }

    /// Takes what one step of the group modified: its user keys and whether it flushed a
    /// database. Keys of one step in byte order (the group records them as a set);
    /// flushes after the keys of the same step.
    pub fn note(&mut self, keys: impl IntoIterator<Item = Vec<u8>>, flushed: bool) {
        if !self.on {
            return;
        }
        let mut keys: Vec<Vec<u8>> = keys.into_iter().collect();
        if keys.is_empty() && !flushed {
            return;
        }
        keys.sort_unstable();
        keys.dedup();
        let origin = self.origin;
        self.events
            .extend(keys.into_iter().map(|k| Event::Key(k, origin)));
        if flushed {
            self.events.push(Event::Flush);
        }
    }

    /// Drops the notes of a group that failed to commit.
    pub fn discard(&mut self) {
        self.events.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_shared::wire::message::{TrackedPrefix, Tracking};
    use tandem_shared::wire::{Frame, FrameKind};

    fn update(table: &Table, out: &Arc<Outbox>, t: &Tracking) {
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(t).unwrap();
        let a = rkyv::access::<ArchivedTracking, rkyv::rancor::Error>(&bytes).unwrap();
        table.update(out, 1 << 20, &CancellationToken::new(), a);
    }

    fn received(out: &Outbox) -> Vec<Invalidation> {
        let mut bytes = out.take_now();
        let mut got = Vec::new();
        while let Some(frame) = wire::decode(&mut bytes, 1 << 20).unwrap() {
            let frame: Frame = frame;
            assert_eq!(frame.kind, FrameKind::Invalidate);
            let inv = frame.access::<Invalidate>().unwrap();
            got.extend(
                rkyv::deserialize::<Vec<Invalidation>, rkyv::rancor::Error>(&inv.events).unwrap(),
            );
        }
        got
    }

    fn keys_of(keys: &[&str]) -> Vec<Vec<u8>> {
        keys.iter().map(|k| k.as_bytes().to_vec()).collect()
    }

    fn key(k: &str, origin: u64) -> Invalidation {
        Invalidation::Key {
            key: k.as_bytes().to_vec(),
            origin,
        }
    }

    #[test]
    fn a_key_is_reported_once_to_the_links_that_read_it() {
        let table = Table::default();
        let (a, b) = (Outbox::new(), Outbox::new());
        assert!(!table.is_active());
        let reg = |proxy: u64, keys: &[&str]| Tracking {
            proxy,
            replace: false,
            active: true,
            keys: keys.iter().map(|k| k.as_bytes().to_vec()).collect(),
            prefixes: Vec::new(),
        };
        update(&table, &a, &reg(1, &["k", "x"]));
        update(&table, &b, &reg(2, &["k"]));
        assert!(table.is_active());
        let mut p = Pending::default();
        assert!(p.begin(&table));
        p.set_origin(Origin {
            link: link_of(&b),
            id: 7,
        });
        p.note(keys_of(&["k", "other"]), false);
        table.deliver(&mut p);
        assert_eq!(received(&a), vec![key("k", 0)]);
        assert_eq!(
            received(&b),
            vec![key("k", 7)],
            "origin only on its own link"
        );
        // Forgotten until read again.
        p.begin(&table);
        p.note(keys_of(&["k"]), false);
        table.deliver(&mut p);
        assert!(received(&a).is_empty() && received(&b).is_empty());
        // A flush reaches every active link and forgets every key.
        p.begin(&table);
        p.note(keys_of(&[]), true);
        table.deliver(&mut p);
        assert_eq!(received(&a), vec![Invalidation::Flush]);
        assert_eq!(received(&b), vec![Invalidation::Flush]);
        p.begin(&table);
        p.note(keys_of(&["x"]), false);
        table.deliver(&mut p);
        assert!(received(&a).is_empty());
        table.detach(&a);
        table.detach(&b);
        assert!(!table.is_active());
    }

    #[test]
    fn a_proxy_hears_once_on_the_writing_link_when_it_wrote() {
        let table = Table::default();
        let (a0, a1, b0) = (Outbox::new(), Outbox::new(), Outbox::new());
        let reg = |proxy: u64, keys: &[&str]| Tracking {
            proxy,
            replace: false,
            active: true,
            keys: keys.iter().map(|k| k.as_bytes().to_vec()).collect(),
            prefixes: Vec::new(),
        };
        update(&table, &a0, &reg(1, &["k"]));
        update(&table, &a1, &reg(1, &["k"]));
        update(&table, &b0, &reg(2, &["k"]));
        let mut p = Pending::default();
        p.begin(&table);
        p.set_origin(Origin {
            link: link_of(&a1),
            id: 9,
        });
        p.note(keys_of(&["k"]), false);
        table.deliver(&mut p);
        assert!(received(&a0).is_empty(), "proxy 1 hears once");
        assert_eq!(received(&a1), vec![key("k", 9)]);
        assert_eq!(received(&b0), vec![key("k", 0)]);
        // A flush: once per proxy.
        p.begin(&table);
        p.note(keys_of(&[]), true);
        table.deliver(&mut p);
        assert_eq!(
            received(&a0).len() + received(&a1).len(),
            1,
            "one flush for proxy 1"
        );
        assert_eq!(received(&b0), vec![Invalidation::Flush]);
    }

    #[test]
    fn prefixes_stay_and_replace_forgets_the_old_registrations() {
        let table = Table::default();
        let a = Outbox::new();
        update(
            &table,
            &a,
            &Tracking {
                proxy: 1,
                replace: false,
                active: true,
                keys: vec![b"old".to_vec()],
                prefixes: vec![TrackedPrefix {
                    prefix: b"user:".to_vec(),
                    clients: 1,
                }],
            },
        );
        let mut p = Pending::default();
        for _ in 0..2 {
            p.begin(&table);
            p.note(keys_of(&["user:1", "post:1"]), false);
            table.deliver(&mut p);
            assert_eq!(received(&a), vec![key("user:1", 0)]);
        }
        update(
            &table,
            &a,
            &Tracking {
                proxy: 1,
                replace: true,
                active: true,
                keys: Vec::new(),
                prefixes: Vec::new(),
            },
        );
        p.begin(&table);
        p.note(keys_of(&["user:1", "old"]), false);
        table.deliver(&mut p);
        assert!(received(&a).is_empty());
        // Nothing registered and not active: the writer stops recording.
        update(
            &table,
            &a,
            &Tracking {
                proxy: 1,
                replace: true,
                active: false,
                keys: Vec::new(),
                prefixes: Vec::new(),
            },
        );
        assert!(!p.begin(&table));
    }
}
