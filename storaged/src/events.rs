//! Keyspace events: what a committed write publishes on `__keyspace@<db>__:<key>` and
//! `__keyevent@<db>__:<event>`, per the `notify-keyspace-events` flags (kept by the
//! [`Hub`], which the writer reads once per group).
//!
//! How events are found: a [`Recorder`] lives in a write group only while the flags ask
//! for some class (so the plain path pays nothing). It watches the group's metadata and
//! sub-key writes at the engine seam, noting per user key whether it was live (or expired)
//! before the command and is live after it. When a command ends
//! ([`Recorder::end_command`]), its `expired` events come first (keys the command
//! reclaimed), then, if it succeeded, the events its dispatch arm declares (`crate::dispatch`,
//! beside the arm that runs it) through an [`Emitter`] that answers from those notes: `new`
//! where Redis's `dbAdd` runs, then the command's own events, as Redis 7.0 emits them. The
//! expiry sweeper's deletions become `expired` events the same way.
//!
//! Events are published after the write group commits, in command order, through the hub
//! handle the writer passes in ([`Notifications::publish`]), so a subscriber never hears of
//! a write that did not happen. This module decides nothing about storage and knows the hub
//! only as a publisher.

use std::collections::{HashMap, HashSet};

use tandem_engine::databases::DbMap;
use tandem_shared::{Reply, StorageError};

pub use tandem_shared::notify::Flags;

use crate::engine::keys;
use crate::engine::metadata::Header;
use crate::engine::{Cf, StoreRead};
use crate::pubsub::Hub;

/// Publishes one event for `key` in `db` through `hub` if the flags ask for its class.
pub fn emit(hub: &Hub, flags: Flags, class: u32, event: &str, db: u8, key: &[u8]) {
    if !flags.wants(class) {
        return;
    }
    if flags.has(Flags::KEYSPACE) {
        let mut channel = format!("__keyspace@{db}__:").into_bytes();
        channel.extend_from_slice(key);
        hub.publish(&channel, event.as_bytes());
    }
    if flags.has(Flags::KEYEVENT) {
        let channel = format!("__keyevent@{db}__:{event}").into_bytes();
        hub.publish(&channel, key);
    }
}

/// The classes tandem emits (no evictions, modules or key misses).
const EMITTED: u32 = Flags::GENERIC
    | Flags::STRING
    | Flags::LIST
    | Flags::SET
    | Flags::HASH
    | Flags::ZSET
    | Flags::EXPIRED
    | Flags::STREAM
    | Flags::NEW;

/// One event waiting for its group to commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub class: u32,
    pub name: &'static str,
    pub db: u8,
    pub key: Vec<u8>,
}

/// A committed group's events, to publish in order.
#[derive(Debug, Default)]
pub struct Notifications {
    flags: Flags,
    events: Vec<Event>,
}

impl Notifications {
    /// Publishes every event through `hub`. Call only after the group's commit succeeded.
    /// Events are recorded under physical databases (the key layouts' ids); `map` (the
    /// committed database map, see `tandem_engine::databases`) names the channels with the
    /// logical database clients know, `__keyspace@<logical>__`.
    pub fn publish(self, hub: &Hub, map: DbMap) {
        for e in &self.events {
            emit(hub, self.flags, e.class, e.name, map.logical(e.db), &e.key);
        }
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }
}

/// What one command (or one expiry sweep) did to one user key.
#[derive(Debug)]
struct Touch {
    db: u8,
    key: Vec<u8>,
    /// Live when the command first wrote it.
    live_before: bool,
    /// Present but expired then: the write reclaims it (Redis's `expired`).
    expired_before: bool,
    /// A member, field or element of it was written or deleted.
    sub_written: bool,
    /// Live once the command is done.
    live_after: bool,
}

/// Records a write group's events; see the module docs.
#[derive(Debug)]
pub struct Recorder {
    flags: Flags,
    now_ms: u64,
    touches: Vec<Touch>,
    /// Metadata key → index in `touches`.
    index: HashMap<Vec<u8>, usize>,
    events: Vec<Event>,
}

impl Recorder {
    /// A recorder for `flags`, or `None` when they publish nothing.
    pub fn with_flags(flags: Flags) -> Option<Recorder> {
        flags.wants(EMITTED).then(|| Recorder {
            flags,
            now_ms: 0,
            touches: Vec::new(),
            index: HashMap::new(),
            events: Vec::new(),
        })
    }

    /// Starts a command (or a sweep) that runs at `now_ms`.
    pub fn begin(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        self.touches.clear();
        self.index.clear();
    }

    /// Notes a write of `raw` in `cf` before it is applied; `store` still shows the state
    /// before it.
    pub fn observe<S: StoreRead + ?Sized>(&mut self, cf: Cf, raw: &[u8], store: &S) {
        let (meta_key, sub) = match cf {
            Cf::Meta => (None, false),
            Cf::Sub => match keys::decode_sub_key(raw) {
                Some(s) => (Some(keys::meta_key(s.db, s.user_key)), true),
                None => return,
            },
            Cf::Reqs => return,
        };
        let mk = meta_key.as_deref().unwrap_or(raw);
        if let Some(&i) = self.index.get(mk) {
            self.touches[i].sub_written |= sub;
            return;
        }
        let Some((db, key)) = keys::decode_meta_key(mk) else {
            return;
        };
        let header = header_of(store, mk);
        let expired = header.as_ref().is_some_and(|h| h.is_expired(self.now_ms));
        self.index.insert(mk.to_vec(), self.touches.len());
        self.touches.push(Touch {
            db,
            key: key.to_vec(),
            live_before: header.is_some() && !expired,
            expired_before: expired,
            sub_written: sub,
            live_after: false,
        });
    }

    /// Ends a command that returned `result`, `store` showing the state after it: queues
    /// the `expired` events of records it reclaimed, then, if it succeeded, what `events`
    /// declares for its reply.
    pub fn end_command<S: StoreRead>(
        &mut self,
        result: &Result<Reply, StorageError>,
        store: &S,
        events: impl FnOnce(&mut Emitter<'_>, &Reply),
    ) {
        self.settle(store);
        let mut out = Emitter {
            flags: self.flags,
            now_ms: self.now_ms,
            touches: &self.touches,
            index: &self.index,
            store,
            newed: HashSet::new(),
            events: &mut self.events,
        };
        for t in out.touches.iter().filter(|t| t.expired_before) {
            out.push(Flags::EXPIRED, "expired", t.db, &t.key);
        }
        if let Ok(reply) = result {
            events(&mut out, reply);
        }
    }

    /// Ends an expiry sweep: every record it reclaimed is `expired`.
    pub fn end_sweep(&mut self) {
        for t in self.touches.iter().filter(|t| t.expired_before) {
            if self.flags.wants(Flags::EXPIRED) {
                self.events.push(Event {
                    class: Flags::EXPIRED,
                    name: "expired",
                    db: t.db,
                    key: t.key.clone(),
                });
            }
        }
        self.touches.clear();
        self.index.clear();
    }

    /// The events queued so far, to publish once the group commits.
    /// SWAPDB of the physical databases `a` and `b` in the middle of the group: the events
    /// recorded so far move to the other id, so that the map the group commits names them
    /// with the logical database they happened in.
    pub fn swap_dbs(&mut self, a: u8, b: u8) {
        for e in &mut self.events {
            if e.db == a {
                e.db = b;
            } else if e.db == b {
                e.db = a;
            }
        }
    }

    pub fn take(&mut self) -> Notifications {
        Notifications {
            flags: self.flags,
            events: std::mem::take(&mut self.events),
        }
    }

    fn settle<S: StoreRead + ?Sized>(&mut self, store: &S) {
        for t in &mut self.touches {
            let mk = keys::meta_key(t.db, &t.key);
            t.live_after = header_of(store, &mk).is_some_and(|h| !h.is_expired(self.now_ms));
        }
    }
}

fn header_of<S: StoreRead + ?Sized>(store: &S, meta_key: &[u8]) -> Option<Header> {
    match store.get(Cf::Meta, meta_key) {
        Ok(Some(raw)) => Header::decode(&raw).ok(),
        _ => None,
    }
}

/// Builds one command's events: what its dispatch arm declares, answered from the notes
/// the recorder took while the command wrote. Each event is queued only if the flags ask
/// for its class.
pub struct Emitter<'a> {
    flags: Flags,
    now_ms: u64,
    touches: &'a [Touch],
    index: &'a HashMap<Vec<u8>, usize>,
    /// The state after the command.
    store: &'a dyn StoreRead,
    /// Keys already announced as `new` by this command.
    newed: HashSet<(u8, Vec<u8>)>,
    events: &'a mut Vec<Event>,
}

impl Emitter<'_> {
    /// The time the command ran at.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Queues `name` on `key` if the flags ask for `class`.
    pub fn push(&mut self, class: u32, name: &'static str, db: u8, key: &[u8]) {
        if self.flags.wants(class) {
            self.events.push(Event {
                class,
                name,
                db,
                key: key.to_vec(),
            });
        }
    }

    fn touch(&self, db: u8, key: &[u8]) -> Option<&Touch> {
        self.index
            .get(&keys::meta_key(db, key))
            .and_then(|&i| self.touches.get(i))
    }

    /// Whether the command wrote the key (or one of its members) at all.
    pub fn touched(&self, db: u8, key: &[u8]) -> bool {
        self.touch(db, key).is_some()
    }

    fn created(&self, db: u8, key: &[u8]) -> bool {
        self.touch(db, key)
            .is_some_and(|t| !t.live_before && t.live_after)
    }

    /// An existing key the command deleted (an emptied collection, DEL …).
    pub fn removed(&self, db: u8, key: &[u8]) -> bool {
        self.touch(db, key)
            .is_some_and(|t| t.live_before && !t.live_after)
    }

    /// Whether the command changed the key's members or created it.
    pub fn changed(&self, db: u8, key: &[u8]) -> bool {
        self.touch(db, key)
            .is_some_and(|t| t.sub_written || (!t.live_before && t.live_after))
    }

    /// Whether a key the command wrote was live before it (false for one it did not write).
    pub fn live_before(&self, db: u8, key: &[u8]) -> bool {
        self.touch(db, key).is_some_and(|t| t.live_before)
    }

    /// Whether the key was live before the command: from the notes if the command wrote
    /// it, else from the store (unchanged by the command).
    pub fn was_live(&self, db: u8, key: &[u8]) -> bool {
        match self.touch(db, key) {
            Some(t) => t.live_before,
            None => header_of(self.store, &keys::meta_key(db, key))
                .is_some_and(|h| !h.is_expired(self.now_ms)),
        }
    }

    /// `new`, as Redis's `dbAdd` emits it.
    pub fn new_key(&mut self, db: u8, key: &[u8]) {
        if self.newed.insert((db, key.to_vec())) {
            self.push(Flags::NEW, "new", db, key);
        }
    }

    fn new_if_created(&mut self, db: u8, key: &[u8]) {
        if self.created(db, key) {
            self.new_key(db, key);
        }
    }

    /// `event` on a key the command created or updated, preceded by `new` if created.
    pub fn write(&mut self, class: u32, name: &'static str, db: u8, key: &[u8]) {
        self.new_if_created(db, key);
        self.push(class, name, db, key);
    }

    /// `event` on a key the command removed members from, then `del` if that emptied it.
    pub fn shrink(&mut self, class: u32, name: &'static str, db: u8, key: &[u8]) {
        self.push(class, name, db, key);
        if self.removed(db, key) {
            self.push(Flags::GENERIC, "del", db, key);
        }
    }

    /// A `*STORE` command: `event` if it stored something, `del` if an empty result
    /// deleted an existing destination.
    pub fn store(&mut self, class: u32, name: &'static str, db: u8, key: &[u8], reply: &Reply) {
        if int(reply) > 0 {
            self.write(class, name, db, key);
        } else if self.removed(db, key) {
            self.push(Flags::GENERIC, "del", db, key);
        }
    }
}

/// An integer reply's value; 0 for any other reply.
pub fn int(reply: &Reply) -> i64 {
    match reply {
        Reply::Integer(n) => *n,
        _ => 0,
    }
}

/// Whether a pop-like reply carries anything.
pub fn popped(reply: &Reply) -> bool {
    match reply {
        Reply::Nil | Reply::NilArray => false,
        Reply::Array(v) | Reply::Set(v) => !v.is_empty(),
        Reply::Pairs(v) | Reply::Map(v) => !v.is_empty(),
        _ => true,
    }
}

/// The key named first in an `LMPOP`/`ZMPOP` reply.
pub fn mpop_key(reply: &Reply) -> Option<&[u8]> {
    match reply {
        Reply::Array(v) => match v.first() {
            Some(Reply::Bulk(k)) => Some(k),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_shared::SetExpiry;

    #[test]
    fn no_recorder_without_a_channel_or_a_class() {
        for text in ["", "K", "E", "KE", "Km", "A", "gx$"] {
            let flags = Flags::parse(text.as_bytes()).unwrap();
            assert!(Recorder::with_flags(flags).is_none(), "{text}");
        }
        for text in ["KA", "Eg", "Kn", "Ex"] {
            let flags = Flags::parse(text.as_bytes()).unwrap();
            assert!(Recorder::with_flags(flags).is_some(), "{text}");
        }
    }

    fn run(
        g: &mut crate::engine::group::WriteGroup<'_>,
        cmd: tandem_shared::Command,
    ) -> tandem_shared::wire::Outcome {
        use tandem_shared::command::ArchivedCommand;
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&cmd).unwrap();
        let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap();
        crate::dispatch::execute_write(g, &Hub::default(), 0, a)
    }

    #[test]
    fn a_group_queues_events_in_command_order_and_sweeps_report_expired() {
        use crate::engine::{now_ms, Engine, EngineOptions};
        use tandem_shared::command::ListEnd;
        use tandem_shared::{Command, SetCondition};
        let dir = tempfile::tempdir().unwrap();
        let options = EngineOptions {
            block_cache_bytes: 8 << 20,
            write_buffer_bytes: 4 << 20,
            ..Default::default()
        };
        let mut writer =
            crate::engine::group::Writer::new(Engine::open(dir.path(), &options).unwrap());
        writer.set_event_flags(Flags::parse(b"KEAn").unwrap());
        let mut g = writer.begin();
        let k = |s: &str| s.as_bytes().to_vec();
        let set = |key: &str, expiry| Command::Set {
            key: k(key),
            value: k("v"),
            condition: SetCondition::Always,
            expiry,
            get: false,
        };
        run(&mut g, set("a", SetExpiry::Clear));
        run(
            &mut g,
            Command::LPush {
                key: k("l"),
                end: ListEnd::Right,
                elements: vec![k("x"), k("y")],
                only_existing: false,
            },
        );
        run(
            &mut g,
            Command::LPop {
                key: k("l"),
                end: ListEnd::Left,
                count: Some(5),
            },
        );
        run(
            &mut g,
            Command::Del {
                keys: vec![k("zz"), k("a"), k("a")],
            },
        );
        run(
            &mut g,
            Command::SAdd {
                key: k("a"),
                members: vec![k("m")],
            },
        );
        run(
            &mut g,
            Command::SAdd {
                key: k("a"),
                members: vec![k("m")],
            },
        );
        run(&mut g, set("e", SetExpiry::At(now_ms() as i64 + 2)));
        std::thread::sleep(std::time::Duration::from_millis(10));
        assert_eq!(g.reclaim_expired(10), 1);
        let names: Vec<(&str, String)> = g
            .take_notifications()
            .events()
            .iter()
            .map(|e| (e.name, String::from_utf8_lossy(&e.key).into_owned()))
            .collect();
        let want = [
            ("new", "a"),
            ("set", "a"),
            ("new", "l"),
            ("rpush", "l"),
            ("lpop", "l"),
            ("del", "l"),
            ("del", "a"),
            ("new", "a"),
            ("sadd", "a"),
            ("new", "e"),
            ("set", "e"),
            ("expire", "e"),
            ("expired", "e"),
        ];
        let want: Vec<(&str, String)> = want.iter().map(|(n, k)| (*n, (*k).to_owned())).collect();
        assert_eq!(names, want);
        assert!(g.take_notifications().events().is_empty());
    }

    #[test]
    fn popped_and_mpop_key() {
        assert!(!popped(&Reply::Nil));
        assert!(!popped(&Reply::NilArray));
        assert!(!popped(&Reply::Array(Vec::new())));
        assert!(popped(&Reply::bulk("a")));
        let mpop = Reply::Array(vec![Reply::bulk("k"), Reply::Array(vec![Reply::bulk("a")])]);
        assert_eq!(mpop_key(&mpop), Some(&b"k"[..]));
        assert_eq!(mpop_key(&Reply::NilArray), None);
    }
}
