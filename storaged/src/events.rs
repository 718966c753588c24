//! Keyspace events: what a committed write publishes on `__keyspace@<db>__:<key>` and
//! `__keyevent@<db>__:<event>`, per the `notify-keyspace-events` flags (kept by the
//! [`Hub`], which the writer reads once per group).
//!
//! How events are found: a [`Recorder`] lives in a write group only while the flags ask
//! for some class (so the plain path pays nothing). It watches the
//! group's metadata and sub-key writes at the engine seam, noting per user key whether it
//! was live (or expired) before the command and is live after it. When a command ends,
//! [`command_events`] maps the command, its reply and those notes to the events Redis 7.0
//! emits for it, in Redis's order: `expired` for keys the command reclaimed first, then
//! `new` where Redis's `dbAdd` runs, then the command's own events. The expiry sweeper's
//! deletions become `expired` events the same way.
//!
//! Events are published after the write group commits, in command order, through the hub
//! handle the writer passes in ([`Notifications::publish`]), so a subscriber never hears of
//! a write that did not happen. This module decides nothing about storage and knows the hub
//! only as a publisher.

use std::collections::{HashMap, HashSet};

use tandem_shared::command::{
    ArchivedCommand, ArchivedGetExExpiry, ArchivedListEnd, ArchivedSetCondition, ArchivedSetExpiry,
    ArchivedZEnd, ArchivedZRangeBy, ArchivedZSetOp,
};
use tandem_shared::wire::Outcome;
use tandem_shared::Reply;

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

/// The classes tandem emits (no evictions, streams, modules or key misses).
const EMITTED: u32 = Flags::GENERIC
    | Flags::STRING
    | Flags::LIST
    | Flags::SET
    | Flags::HASH
    | Flags::ZSET
    | Flags::EXPIRED
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
    pub fn publish(self, hub: &Hub) {
        for e in &self.events {
            emit(hub, self.flags, e.class, e.name, e.db, &e.key);
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

    /// Ends a command: queues its events.
    pub fn end_command<S: StoreRead + ?Sized>(
        &mut self,
        db: u8,
        cmd: &ArchivedCommand,
        outcome: &Outcome,
        store: &S,
    ) {
        self.settle(store);
        let mut out = Emitter {
            flags: self.flags,
            now_ms: self.now_ms,
            touches: &self.touches,
            index: &self.index,
            newed: HashSet::new(),
            events: &mut self.events,
        };
        for t in out.touches.iter().filter(|t| t.expired_before) {
            out.push(Flags::EXPIRED, "expired", t.db, &t.key);
        }
        if let Outcome::Ok(reply) = outcome {
            command_events(&mut out, db, cmd, reply, store);
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

/// Builds one command's events.
struct Emitter<'a> {
    flags: Flags,
    now_ms: u64,
    touches: &'a [Touch],
    index: &'a HashMap<Vec<u8>, usize>,
    /// Keys already announced as `new` by this command.
    newed: HashSet<(u8, Vec<u8>)>,
    events: &'a mut Vec<Event>,
}

impl Emitter<'_> {
    fn push(&mut self, class: u32, name: &'static str, db: u8, key: &[u8]) {
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

    fn created(&self, db: u8, key: &[u8]) -> bool {
        self.touch(db, key)
            .is_some_and(|t| !t.live_before && t.live_after)
    }

    /// An existing key the command deleted (an emptied collection, DEL …).
    fn removed(&self, db: u8, key: &[u8]) -> bool {
        self.touch(db, key)
            .is_some_and(|t| t.live_before && !t.live_after)
    }

    /// Whether the command changed the key's members or created it.
    fn changed(&self, db: u8, key: &[u8]) -> bool {
        self.touch(db, key)
            .is_some_and(|t| t.sub_written || (!t.live_before && t.live_after))
    }

    fn live_before(&self, db: u8, key: &[u8]) -> bool {
        self.touch(db, key).is_some_and(|t| t.live_before)
    }

    /// `new`, as Redis's `dbAdd` emits it.
    fn new_key(&mut self, db: u8, key: &[u8]) {
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
    fn write(&mut self, class: u32, name: &'static str, db: u8, key: &[u8]) {
        self.new_if_created(db, key);
        self.push(class, name, db, key);
    }

    /// `event` on a key the command removed members from, then `del` if that emptied it.
    fn shrink(&mut self, class: u32, name: &'static str, db: u8, key: &[u8]) {
        self.push(class, name, db, key);
        if self.removed(db, key) {
            self.push(Flags::GENERIC, "del", db, key);
        }
    }

    /// A `*STORE` command: `event` if it stored something, `del` if an empty result
    /// deleted an existing destination.
    fn store(&mut self, class: u32, name: &'static str, db: u8, key: &[u8], reply: &Reply) {
        if int(reply) > 0 {
            self.write(class, name, db, key);
        } else if self.removed(db, key) {
            self.push(Flags::GENERIC, "del", db, key);
        }
    }
}

fn int(reply: &Reply) -> i64 {
    match reply {
        Reply::Integer(n) => *n,
        _ => 0,
    }
}

/// Whether a pop-like reply carries anything.
fn popped(reply: &Reply) -> bool {
    match reply {
        Reply::Nil | Reply::NilArray => false,
        Reply::Array(v) | Reply::Set(v) => !v.is_empty(),
        Reply::Pairs(v) | Reply::Map(v) => !v.is_empty(),
        _ => true,
    }
}

/// The key named first in an `LMPOP`/`ZMPOP` reply.
fn mpop_key(reply: &Reply) -> Option<&[u8]> {
    match reply {
        Reply::Array(v) => match v.first() {
            Some(Reply::Bulk(k)) => Some(k),
            _ => None,
        },
        _ => None,
    }
}

fn list_end(end: &ArchivedListEnd, left: &'static str, right: &'static str) -> &'static str {
    match end {
        ArchivedListEnd::Left => left,
        ArchivedListEnd::Right => right,
    }
}

fn zpop_name(end: &ArchivedZEnd) -> &'static str {
    match end {
        ArchivedZEnd::Min => "zpopmin",
        ArchivedZEnd::Max => "zpopmax",
    }
}

/// The events Redis 7.0 emits for `cmd` that replied `reply`, after any `expired`.
fn command_events<S: StoreRead + ?Sized>(
    out: &mut Emitter<'_>,
    db: u8,
    cmd: &ArchivedCommand,
    reply: &Reply,
    store: &S,
) {
    use ArchivedCommand as C;
    const G: u32 = Flags::GENERIC;
    const STR: u32 = Flags::STRING;
    const L: u32 = Flags::LIST;
    const H: u32 = Flags::HASH;
    const SET: u32 = Flags::SET;
    const Z: u32 = Flags::ZSET;
    match cmd {
        // ---- strings ----
        C::Set {
            key,
            condition,
            expiry,
            get,
            ..
        } => {
            let done = if *get {
                match condition {
                    ArchivedSetCondition::Always => true,
                    ArchivedSetCondition::IfAbsent => matches!(reply, Reply::Nil),
                    ArchivedSetCondition::IfPresent => !matches!(reply, Reply::Nil),
                }
            } else {
                !matches!(reply, Reply::Nil)
            };
            if !done {
                return;
            }
            // A SET with a past expiry leaves no key in tandem; Redis stores it and
            // expires it on next access, so announce all of that now.
            if !out.live_before(db, key) {
                out.new_key(db, key);
            }
            out.push(STR, "set", db, key);
            if let ArchivedSetExpiry::At(t) = expiry {
                out.push(G, "expire", db, key);
                if t.to_native() <= out.now_ms as i64 {
                    out.push(Flags::EXPIRED, "expired", db, key);
                }
            }
        }
        C::SetNx { key, .. } if int(reply) == 1 => {
            out.write(STR, "set", db, key);
        }
        C::MSet { pairs } => {
            for p in pairs.iter() {
                out.write(STR, "set", db, &p.0);
            }
        }
        C::MSetNx { pairs } if int(reply) == 1 => {
            for p in pairs.iter() {
                out.write(STR, "set", db, &p.0);
            }
        }
        C::GetDel { key } if !matches!(reply, Reply::Nil) => {
            out.push(G, "del", db, key);
        }
        C::GetEx { key, expiry } => {
            if matches!(reply, Reply::Nil) {
                return;
            }
            match expiry {
                ArchivedGetExExpiry::Unchanged => {}
                ArchivedGetExExpiry::Persist => {
                    if out.touch(db, key).is_some() {
                        out.push(G, "persist", db, key);
                    }
                }
                ArchivedGetExExpiry::At(t) => {
                    if t.to_native() <= out.now_ms as i64 {
                        out.push(G, "del", db, key);
                    } else {
                        out.push(G, "expire", db, key);
                    }
                }
            }
        }
        C::Append { key, .. } => out.write(STR, "append", db, key),
        C::SetRange { key, value, .. } if !value.is_empty() => {
            out.write(STR, "setrange", db, key);
        }
        C::IncrBy { key, .. } => out.write(STR, "incrby", db, key),
        C::IncrByFloat { key, .. } => out.write(STR, "incrbyfloat", db, key),
        // ---- keys ----
        C::Del { keys } => {
            let mut seen = HashSet::new();
            for k in keys.iter() {
                if seen.insert(k.as_slice()) && out.removed(db, k) {
                    out.push(G, "del", db, k);
                }
            }
        }
        C::Expire { key, at_ms, .. } if int(reply) == 1 => {
            if at_ms.to_native() <= out.now_ms as i64 {
                out.push(G, "del", db, key);
            } else {
                out.push(G, "expire", db, key);
            }
        }
        C::Persist { key } if int(reply) == 1 => {
            out.push(G, "persist", db, key);
        }
        C::Rename { src, dst } | C::RenameNx { src, dst } => {
            let done = matches!(reply, Reply::Simple(_)) || int(reply) == 1;
            if done && src != dst {
                out.new_key(db, dst);
                out.push(G, "rename_from", db, src);
                out.push(G, "rename_to", db, dst);
            }
        }
        C::Copy { dst, target, .. } if int(reply) == 1 => {
            out.new_key(target.db, dst);
            out.push(G, "copy_to", target.db, dst);
        }
        C::Move { key, db: to } if int(reply) == 1 => {
            out.new_key(*to, key);
            out.push(G, "move_from", db, key);
            out.push(G, "move_to", *to, key);
        }
        // ---- hashes ----
        C::HSet { key, .. } | C::HMSet { key, .. } => out.write(H, "hset", db, key),
        C::HSetNx { key, .. } if int(reply) == 1 => {
            out.write(H, "hset", db, key);
        }
        C::HDel { key, .. } if int(reply) > 0 => {
            out.shrink(H, "hdel", db, key);
        }
        C::HIncrBy { key, .. } => out.write(H, "hincrby", db, key),
        C::HIncrByFloat { key, .. } => out.write(H, "hincrbyfloat", db, key),
        // ---- sets ----
        C::SAdd { key, .. } if int(reply) > 0 => {
            out.write(SET, "sadd", db, key);
        }
        C::SRem { key, .. } if int(reply) > 0 => {
            out.shrink(SET, "srem", db, key);
        }
        C::SPop { key } | C::SPopCount { key, .. } if popped(reply) => {
            out.shrink(SET, "spop", db, key);
        }
        C::SMove { src, dst, .. } if int(reply) == 1 && src != dst => {
            out.shrink(SET, "srem", db, src);
            out.write(SET, "sadd", db, dst);
        }
        C::SInterStore { dst, .. } => out.store(SET, "sinterstore", db, dst, reply),
        C::SUnionStore { dst, .. } => out.store(SET, "sunionstore", db, dst, reply),
        C::SDiffStore { dst, .. } => out.store(SET, "sdiffstore", db, dst, reply),
        // ---- sorted sets ----
        C::ZAdd { key, options, .. } if out.changed(db, key) => {
            let name = if options.incr { "zincr" } else { "zadd" };
            out.write(Z, name, db, key);
        }
        C::ZIncrBy { key, .. } => out.write(Z, "zincr", db, key),
        C::ZRem { key, .. } if int(reply) > 0 => {
            out.shrink(Z, "zrem", db, key);
        }
        C::ZRemRange { key, by } if int(reply) > 0 => {
            let name = match by {
                ArchivedZRangeBy::Rank { .. } => "zremrangebyrank",
                ArchivedZRangeBy::Score { .. } => "zremrangebyscore",
                ArchivedZRangeBy::Lex { .. } => "zremrangebylex",
            };
            out.shrink(Z, name, db, key);
        }
        C::ZPop { key, end, .. } if popped(reply) => {
            out.shrink(Z, zpop_name(end), db, key);
        }
        C::ZMPop { end, .. } if let Some(key) = mpop_key(reply) => {
            out.shrink(Z, zpop_name(end), db, key);
        }
        C::ZRangeStore { dst, .. } => out.store(Z, "zrangestore", db, dst, reply),
        C::ZCombineStore { dst, op, .. } => {
            let name = match op {
                ArchivedZSetOp::Union => "zunionstore",
                ArchivedZSetOp::Inter => "zinterstore",
                ArchivedZSetOp::Diff => "zdiffstore",
            };
            out.store(Z, name, db, dst, reply);
        }
        // ---- lists ----
        C::LPush { key, end, .. } if int(reply) > 0 => {
            out.write(L, list_end(end, "lpush", "rpush"), db, key);
        }
        C::LPop { key, end, .. } if popped(reply) => {
            out.shrink(L, list_end(end, "lpop", "rpop"), db, key);
        }
        C::LSet { key, .. } => out.push(L, "lset", db, key),
        C::LTrim { key, .. } => {
            // LTRIM of an existing list always announces itself, even when it removes
            // nothing (and then writes nothing).
            let existed = match out.touch(db, key) {
                Some(t) => t.live_before,
                None => header_of(store, &keys::meta_key(db, key))
                    .is_some_and(|h| !h.is_expired(out.now_ms)),
            };
            if existed {
                out.shrink(L, "ltrim", db, key);
            }
        }
        C::LRem { key, .. } if int(reply) > 0 => {
            out.shrink(L, "lrem", db, key);
        }
        C::LInsert { key, .. } if int(reply) > 0 => {
            out.push(L, "linsert", db, key);
        }
        C::LMove { src, dst, from, to } if popped(reply) => {
            out.write(L, list_end(to, "lpush", "rpush"), db, dst);
            out.shrink(L, list_end(from, "lpop", "rpop"), db, src);
        }
        C::LMPop { end, .. } if let Some(key) = mpop_key(reply) => {
            out.shrink(L, list_end(end, "lpop", "rpop"), db, key);
        }
        // FLUSHDB/FLUSHALL emit nothing in Redis 7.0; read-only commands change nothing.
        _ => {}
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

    fn run(g: &mut crate::executor::WriteGroup<'_>, cmd: tandem_shared::Command) -> Outcome {
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&cmd).unwrap();
        let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap();
        crate::executor::execute_write(g, &Hub::default(), 0, a)
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
        let mut writer = crate::executor::Writer::new(Engine::open(dir.path(), &options).unwrap());
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
