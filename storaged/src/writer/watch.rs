//! WATCH state and the transaction markers (`Watch`, `Unwatch`, `Exec`, `SelectDb`) of a
//! request. Owned by the writer thread: every write and every EXEC passes through that one
//! thread, so "modified since WATCH" is a plain version comparison with no locking.
//!
//! The table keeps one entry per watched `(db, key)` with a modification version taken
//! from a per-boot counter. `WATCH` hands the proxy a token per key (boot id, entry id,
//! version, the key's expiry if it was live with a TTL); `EXEC` sends the tokens back and
//! fails unless each entry is still the same incarnation at the same version and no
//! recorded expiry has passed. After each write job the writer hands the keys it modified
//! ([`Touched`]) to [`WatchTable::note`], which bumps the versions of watched keys only.
//!
//! Conservative by construction: a token from another storaged boot, or for an entry the
//! table no longer holds (aged out, table full), fails `EXEC` — a client then sees a null
//! reply and retries, never a false success. Entries are refcounted (one reference per
//! client that watches the key) and released on UNWATCH/EXEC/DISCARD/disconnect; entries
//! not watched again for [`MAX_AGE_MS`] are dropped even with references left, so a proxy
//! that died without releasing cannot leak memory forever.
//!
//! This module must not execute data commands itself (`crate::dispatch` does) nor touch
//! sockets.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use rkyv::vec::ArchivedVec;
use tandem_shared::command::{ArchivedCommand, ArchivedWatchToken};
use tandem_shared::wire::Outcome;
use tandem_shared::Reply;

use crate::dispatch::execute_write;
use crate::engine::group::{Touched, WriteGroup};
use crate::engine::keys;
use crate::engine::metadata::Header;
use crate::engine::{Cf, StoreRead};
use crate::pubsub::Hub;
use crate::scripts::Scripts;

/// Most watched keys held at once. A WATCH past this gets a token that fails its EXEC.
pub const MAX_ENTRIES: usize = 1 << 20;

/// An entry not watched again for this long is dropped even if a client still holds it
/// (its EXEC then fails): bounds what a proxy that vanished without UNWATCH leaves behind.
pub const MAX_AGE_MS: u64 = 60 * 60 * 1000;

/// How often aged entries are swept.
const SWEEP_EVERY_MS: u64 = 10_000;

/// Why keys were modified, for [`WatchTable::note`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A client's command: a modification WATCH must notice.
    Command,
    /// The expiry sweeper deleting keys that were already logically gone: not a change
    /// (a key live at WATCH time fails by its recorded expiry instead), as in Redis.
    Expiry,
}

struct Entry {
    /// Unique per boot; a released-and-recreated entry gets a new id, so an old token
    /// cannot match (or release) it.
    id: u64,
    version: u64,
    /// Clients holding the key watched.
    refs: u32,
    /// Whether a metadata record (live or expired) exists: FLUSHDB changes only keys that
    /// exist, as Redis's `touchAllWatchedKeysInDb`.
    present: bool,
    /// Last WATCH of the key, for aging out.
    watched_ms: u64,
}

/// The writer thread's WATCH table.
pub struct WatchTable {
    boot: u64,
    /// Source of entry ids and versions; starts at 1 so 0 means "no entry".
    counter: u64,
    entries: HashMap<(u8, Vec<u8>), Entry>,
    next_sweep_ms: u64,
}

impl Default for WatchTable {
    fn default() -> Self {
        WatchTable::new()
    }
}

impl WatchTable {
    /// An empty table with a fresh random boot id.
    pub fn new() -> WatchTable {
        WatchTable::with_boot(random_boot_id())
    }

    fn with_boot(boot: u64) -> WatchTable {
        WatchTable {
            boot,
            counter: 0,
            entries: HashMap::new(),
            next_sweep_ms: 0,
        }
    }

    /// Number of watched keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Called before each write group: drops aged entries and says whether the group must
    /// record the keys it modifies (only while something is watched).
    pub fn prepare_group(&mut self, now_ms: u64) -> bool {
        if now_ms >= self.next_sweep_ms && !self.entries.is_empty() {
            self.entries
                .retain(|_, e| now_ms.saturating_sub(e.watched_ms) < MAX_AGE_MS);
            self.next_sweep_ms = now_ms.saturating_add(SWEEP_EVERY_MS);
        }
        !self.entries.is_empty()
    }

    fn bump(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// Records what one job modified. `store` is the group after the job, to learn
    /// whether each watched key still exists.
    pub fn note<S: StoreRead + ?Sized>(&mut self, touched: &Touched, store: &S, cause: Cause) {
        if self.entries.is_empty() || touched.is_empty() {
            return;
        }
        let now_ms = crate::engine::now_ms();
        // Flushes first: a job that flushed and then wrote a key leaves it present.
        for &db in &touched.flushed {
            for ((edb, _), e) in self.entries.iter_mut() {
                if *edb == db && e.present {
                    e.present = false;
                    if cause == Cause::Command {
                        self.counter += 1;
                        e.version = self.counter;
                    }
                }
            }
        }
        for k in &touched.keys {
            if let Some(e) = self.entries.get_mut(k) {
                e.present = key_state(store, k.0, &k.1, now_ms).0;
                if cause == Cause::Command {
                    self.counter += 1;
                    e.version = self.counter;
                }
            }
        }
    }

    /// After `SWAPDB a b` (logical databases, the writer's map already swapped): as Redis's
    /// `touchAllWatchedKeysInDb` for both, each watched key of either database that exists
    /// (live or expired) in either is modified.
    pub fn swap_dbs<S: StoreRead + ?Sized>(&mut self, store: &S, a: u8, b: u8) {
        if self.entries.is_empty() || a == b {
            return;
        }
        let now_ms = crate::engine::now_ms();
        for ((db, key), e) in self.entries.iter_mut() {
            if *db != a && *db != b {
                continue;
            }
            let other = if *db == a { b } else { a };
            let here = key_state(store, *db, key, now_ms).0;
            if here || key_state(store, other, key, now_ms).0 {
                self.counter += 1;
                e.version = self.counter;
            }
            e.present = here;
        }
    }

    /// `WATCH keys` in `db`: one token per key, as the reply `[boot, [[entry, version,
    /// expire_at_ms], ...]]`.
    fn watch<S: StoreRead + ?Sized>(
        &mut self,
        store: &S,
        db: u8,
        keys: &ArchivedVec<ArchivedVec<u8>>,
        now_ms: u64,
    ) -> Reply {
        let mut tokens = Vec::with_capacity(keys.len());
        for key in keys.iter() {
            let (present, expire_at_ms) = key_state(store, db, key, now_ms);
            let full = self.entries.len() >= MAX_ENTRIES;
            let (entry, version) = match self.entries.get_mut(&(db, key.to_vec())) {
                Some(e) => {
                    e.refs = e.refs.saturating_add(1);
                    e.watched_ms = now_ms;
                    (e.id, e.version)
                }
                None if full => (0, 0),
                None => {
                    let id = self.bump();
                    self.entries.insert(
                        (db, key.to_vec()),
                        Entry {
                            id,
                            version: id,
                            refs: 1,
                            present,
                            watched_ms: now_ms,
                        },
                    );
                    (id, id)
                }
            };
            tokens.push(Reply::Array(vec![
                Reply::Integer(entry as i64),
                Reply::Integer(version as i64),
                Reply::Integer(expire_at_ms as i64),
            ]));
        }
        Reply::Array(vec![Reply::Integer(self.boot as i64), Reply::Array(tokens)])
    }

    /// Whether every token still holds: same boot, same entry, same version, and any
    /// expiry recorded at WATCH time not yet reached.
    fn check(&self, tokens: &ArchivedVec<ArchivedWatchToken>, now_ms: u64) -> bool {
        tokens.iter().all(|t| {
            let expire_at = t.expire_at_ms.to_native();
            t.boot.to_native() == self.boot
                && (expire_at == 0 || now_ms < expire_at)
                && self.entries.get(&(t.db, t.key.to_vec())).is_some_and(|e| {
                    e.id == t.entry.to_native() && e.version == t.version.to_native()
                })
        })
    }

    /// Drops one reference per token; an entry nobody holds is removed.
    fn release(&mut self, tokens: &ArchivedVec<ArchivedWatchToken>) {
        for t in tokens.iter() {
            if t.boot.to_native() != self.boot {
                continue;
            }
            let k = (t.db, t.key.to_vec());
            if let Some(e) = self.entries.get_mut(&k) {
                if e.id == t.entry.to_native() {
                    e.refs = e.refs.saturating_sub(1);
                    if e.refs == 0 {
                        self.entries.remove(&k);
                    }
                }
            }
        }
    }
}

/// Runs one request's commands in order in `group`, handling the transaction markers here
/// and everything else through `crate::dispatch`. After an `Exec` whose watches fail, nothing
/// more runs: the `Exec` gets a null array and each later command a placeholder `Nil`.
pub fn execute(
    group: &mut WriteGroup<'_>,
    hub: &Hub,
    table: &mut WatchTable,
    scripts: &mut Scripts,
    db: u8,
    commands: &ArchivedVec<ArchivedCommand>,
    after_each: &mut dyn FnMut(&mut WriteGroup<'_>, &mut WatchTable),
) -> Vec<Outcome> {
    let mut out = Vec::with_capacity(commands.len());
    let mut db = db;
    // Redis settles keys (WATCH, blocked clients) after each command, and after the whole
    // transaction for EXEC.
    let transaction = matches!(commands.first(), Some(ArchivedCommand::Exec { .. }));
    for (i, cmd) in commands.iter().enumerate() {
        let outcome = match cmd {
            ArchivedCommand::Watch { keys } => {
                group.track_touched_from_now();
                Outcome::Ok(table.watch(&*group, db, keys, crate::engine::now_ms()))
            }
            ArchivedCommand::Unwatch { watches } => {
                table.release(watches);
                Outcome::Ok(Reply::ok())
            }
            ArchivedCommand::Exec { watches } => {
                let holds = table.check(watches, crate::engine::now_ms());
                table.release(watches);
                if !holds {
                    out.push(Outcome::Ok(Reply::NilArray));
                    out.resize(commands.len(), Outcome::Ok(Reply::Nil));
                    return out;
                }
                Outcome::Ok(Reply::Integer((commands.len() - i - 1) as i64))
            }
            ArchivedCommand::SelectDb { db: next } => {
                if *next < tandem_shared::DATABASES {
                    db = *next;
                    Outcome::Ok(Reply::ok())
                } else {
                    Outcome::Err(tandem_shared::StorageError::DbOutOfRange)
                }
            }
            script if crate::scripts::claims(script) => scripts.execute(group, db, script),
            other => execute_write(group, hub, db, other),
        };
        out.push(outcome);
        if !transaction {
            after_each(group, table);
        }
    }
    out
}

/// A random per-process id (no extra dependency: std's randomly keyed hasher, mixed with
/// the clock and pid).
fn random_boot_id() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(crate::engine::now_ms());
    h.write_u32(std::process::id());
    h.finish() | 1
}

/// Whether `key` of the logical database `db` has a metadata record, and its expiry if it
/// is live with a TTL (else 0). The table is kept by logical database, as Redis keeps
/// `watched_keys` (SWAPDB does not move it); the record lives under the writer's physical
/// id (`crate::databases`).
fn key_state<S: StoreRead + ?Sized>(store: &S, db: u8, key: &[u8], now_ms: u64) -> (bool, u64) {
    let db = store.services().databases().pending().physical(db);
    match store.get(Cf::Meta, &keys::meta_key(db, key)) {
        Ok(Some(raw)) => match Header::decode(&raw) {
            Ok(h) if !h.is_expired(now_ms) => (true, h.expire_at_ms),
            _ => (true, 0),
        },
        Ok(None) => (false, 0),
        // Unknown: assume present, so a FLUSHDB counts as a change (the safe side).
        Err(_) => (true, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::group::Writer;
    use crate::engine::{Engine, EngineOptions};
    use tandem_shared::command::WatchToken;
    use tandem_shared::{Command, SetCondition, SetExpiry};

    fn k(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    fn set(key: &str, expiry: SetExpiry) -> Command {
        Command::Set {
            key: k(key),
            value: k("v"),
            condition: SetCondition::Always,
            expiry,
            get: false,
        }
    }

    struct Harness {
        _dir: tempfile::TempDir,
        writer: Writer,
        table: WatchTable,
    }

    impl Harness {
        fn new() -> Harness {
            let dir = tempfile::tempdir().unwrap();
            let opts = EngineOptions {
                block_cache_bytes: 8 << 20,
                write_buffer_bytes: 4 << 20,
                ..Default::default()
            };
            let engine = Engine::open(dir.path(), &opts).unwrap();
            Harness {
                _dir: dir,
                writer: Writer::new(engine),
                table: WatchTable::with_boot(7),
            }
        }

        /// Runs one request as the writer loop does (one job, then the touched keys).
        fn run(&mut self, db: u8, commands: Vec<Command>) -> Vec<Outcome> {
            let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&commands).unwrap();
            let a =
                rkyv::access::<ArchivedVec<ArchivedCommand>, rkyv::rancor::Error>(&bytes).unwrap();
            let track = self.table.prepare_group(crate::engine::now_ms());
            self.writer.set_track_touched(track);
            let mut g = self.writer.begin();
            let hub = std::sync::Arc::new(Hub::default());
            let engine = g.engine().clone();
            let control = std::sync::Arc::default();
            let mut scripts = Scripts::start(engine, std::sync::Arc::clone(&hub), control).unwrap();
            let out = execute(
                &mut g,
                &hub,
                &mut self.table,
                &mut scripts,
                db,
                a,
                &mut |_, _| {},
            );
            let t = g.take_touched();
            self.table.note(&t, &g, Cause::Command);
            g.commit().unwrap();
            out
        }

        fn watch(&mut self, db: u8, keys: &[&str]) -> Vec<WatchToken> {
            let out = self.run(
                db,
                vec![Command::Watch {
                    keys: keys.iter().map(|s| k(s)).collect(),
                }],
            );
            let Outcome::Ok(Reply::Array(parts)) = &out[0] else {
                panic!("{out:?}")
            };
            let (Reply::Integer(boot), Reply::Array(tokens)) = (&parts[0], &parts[1]) else {
                panic!("{parts:?}")
            };
            keys.iter()
                .zip(tokens)
                .map(|(key, t)| {
                    let Reply::Array(f) = t else { panic!("{t:?}") };
                    let n = |i: usize| match f[i] {
                        Reply::Integer(v) => v as u64,
                        _ => panic!(),
                    };
                    WatchToken {
                        db,
                        key: k(key),
                        boot: *boot as u64,
                        entry: n(0),
                        version: n(1),
                        expire_at_ms: n(2),
                    }
                })
                .collect()
        }

        fn exec(&mut self, watches: Vec<WatchToken>, then: Vec<Command>) -> Vec<Outcome> {
            let mut commands = vec![Command::Exec { watches }];
            commands.extend(then);
            self.run(0, commands)
        }
    }

    fn aborted(out: &[Outcome]) -> bool {
        out[0] == Outcome::Ok(Reply::NilArray)
    }

    #[test]
    fn untouched_watch_lets_exec_run() {
        let mut h = Harness::new();
        let t = h.watch(0, &["a", "b"]);
        assert_eq!(h.table.len(), 2);
        let out = h.exec(t, vec![set("a", SetExpiry::Clear)]);
        assert_eq!(
            out,
            vec![Outcome::Ok(Reply::Integer(1)), Outcome::Ok(Reply::ok())]
        );
        assert!(h.table.is_empty(), "EXEC releases its watches");
    }

    #[test]
    fn a_write_after_watch_aborts_and_runs_nothing() {
        let mut h = Harness::new();
        let t = h.watch(0, &["a"]);
        h.run(0, vec![set("a", SetExpiry::Clear)]);
        let out = h.exec(t, vec![set("b", SetExpiry::Clear)]);
        assert!(aborted(&out));
        assert_eq!(out.len(), 2);
        let exists = h.run(0, vec![Command::Exists { keys: vec![k("b")] }]);
        assert_eq!(exists, vec![Outcome::Ok(Reply::Integer(0))]);
    }

    #[test]
    fn other_db_and_other_key_do_not_abort() {
        let mut h = Harness::new();
        let t = h.watch(0, &["a"]);
        h.run(1, vec![set("a", SetExpiry::Clear)]);
        h.run(0, vec![set("z", SetExpiry::Clear)]);
        assert!(!aborted(&h.exec(t, vec![])));
    }

    #[test]
    fn flush_aborts_only_keys_that_existed() {
        let mut h = Harness::new();
        h.run(0, vec![set("e", SetExpiry::Clear)]);
        let present = h.watch(0, &["e"]);
        let absent = h.watch(0, &["n"]);
        h.run(0, vec![Command::FlushDb]);
        assert!(aborted(&h.exec(present, vec![])));
        assert!(!aborted(&h.exec(absent, vec![])));
    }

    #[test]
    fn a_ttl_passing_after_watch_aborts() {
        let mut h = Harness::new();
        let at = crate::engine::now_ms() + 30;
        h.run(0, vec![set("t", SetExpiry::At(at as i64))]);
        let t = h.watch(0, &["t"]);
        assert_eq!(t[0].expire_at_ms, at);
        std::thread::sleep(std::time::Duration::from_millis(40));
        assert!(aborted(&h.exec(t, vec![])));
    }

    #[test]
    fn foreign_boot_and_released_entries_abort() {
        let mut h = Harness::new();
        let mut t = h.watch(0, &["a"]);
        t[0].boot ^= 1;
        assert!(aborted(&h.exec(t, vec![])));
        let t = h.watch(0, &["b"]);
        h.run(0, vec![Command::Unwatch { watches: t.clone() }]);
        // "a" stays: its token named another boot, so only aging releases it.
        assert_eq!(h.table.len(), 1);
        assert!(aborted(&h.exec(t, vec![])));
    }

    #[test]
    fn shared_entries_are_refcounted_and_age_out() {
        let mut h = Harness::new();
        let first = h.watch(0, &["a"]);
        let second = h.watch(0, &["a"]);
        h.run(0, vec![Command::Unwatch { watches: first }]);
        assert_eq!(h.table.len(), 1);
        assert!(!aborted(&h.exec(second, vec![])));
        assert!(h.table.is_empty());
        h.watch(0, &["leaked"]);
        let now = crate::engine::now_ms();
        assert!(h.table.prepare_group(now));
        assert!(!h.table.prepare_group(now + MAX_AGE_MS + SWEEP_EVERY_MS));
    }

    #[test]
    fn watch_mid_group_sees_later_writes_of_the_group() {
        let mut h = Harness::new();
        // Tracking is off when the group begins (nothing watched yet).
        let out = h.run(
            0,
            vec![
                Command::Watch { keys: vec![k("a")] },
                set("a", SetExpiry::Clear),
            ],
        );
        let Outcome::Ok(Reply::Array(parts)) = &out[0] else {
            panic!()
        };
        let Reply::Array(tokens) = &parts[1] else {
            panic!()
        };
        let Reply::Array(f) = &tokens[0] else {
            panic!()
        };
        let (Reply::Integer(boot), Reply::Integer(entry), Reply::Integer(version)) =
            (&parts[0], &f[0], &f[1])
        else {
            panic!()
        };
        let t = WatchToken {
            db: 0,
            key: k("a"),
            boot: *boot as u64,
            entry: *entry as u64,
            version: *version as u64,
            expire_at_ms: 0,
        };
        assert!(aborted(&h.exec(vec![t], vec![])));
    }

    #[test]
    fn select_marker_switches_db_for_what_follows() {
        let mut h = Harness::new();
        let out = h.exec(
            vec![],
            vec![Command::SelectDb { db: 3 }, set("s", SetExpiry::Clear)],
        );
        assert_eq!(out[0], Outcome::Ok(Reply::Integer(2)));
        let in3 = h.run(3, vec![Command::Exists { keys: vec![k("s")] }]);
        assert_eq!(in3, vec![Outcome::Ok(Reply::Integer(1))]);
    }
}
