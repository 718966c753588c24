//! The single writer's state and the write group it runs commands in.
//!
//! Owns [`Writer`] (the engine handle plus the expiry sweeper's position), [`WriteGroup`]
//! (committed state plus the group's own uncommitted writes, committed as one batch) and
//! [`Touched`] (the user keys a group modified). It knows the key layout, not Redis
//! commands: the executor runs commands in a group (`WriteGroup::execute` lives there).
//!
//! Generic over the engine ([`KvEngine`]), RocksDB by default: type tests run the same
//! group over the memory engine.
//!
//! Concurrency contract: one writer thread owns the [`Writer`]. Each [`WriteGroup`] sees
//! committed state plus its own uncommitted writes (so two `INCR`s of one key in a group
//! compose), then [`WriteGroup::commit`] applies everything as one `WriteBatch` with one
//! WAL write. Read-modify-write commands are atomic per key because only this thread
//! writes. Counters and stats change only when a commit succeeds.

use std::collections::HashSet;

use super::{
    counters, keys, now_ms, Cf, Counts, Engine, EngineError, EngineView, KvEngine, Overlay,
    Pending, Services, StoreRead, StoreWrite,
};
use crate::events::{Flags, Recorder};
use crate::expire::Sweeper;

/// The writer thread's state: the engine and the expiry sweeper's position.
pub struct Writer<E: KvEngine = Engine> {
    engine: E,
    sweeper: Sweeper,
    /// Whether write groups record the user keys they modify (see [`Touched`]); on only
    /// while something (WATCH, blocked clients) needs to know, so the plain path pays nothing.
    track_touched: bool,
    /// The `notify-keyspace-events` flags groups begun from now on record events for.
    event_flags: Flags,
    /// Records put with `put_unreachable`, not yet committed ahead of their group.
    ahead: Pending,
    ahead_bytes: usize,
    /// The first failure of a commit ahead: the group's own commit reports it.
    ahead_failed: Option<EngineError>,
}

/// Bytes of unreachable records ([`StoreWrite::put_unreachable`]) a group holds before it
/// commits them ahead of itself: a 512 MiB `SET` then holds 8 MiB of its chunks at a time
/// instead of all of them, on top of the request frame that carries the value.
const AHEAD_BATCH_BYTES: usize = 8 << 20;

/// The user keys a write group modified, as seen at the engine seam: every put or delete of
/// a key's metadata or of one of its sub-keys names the key, and a range deletion of whole
/// databases (FLUSHDB, FLUSHALL) names the databases. Used to bump WATCH versions and to
/// wake clients blocked on a key.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Touched {
    pub keys: HashSet<(u8, Vec<u8>)>,
    /// Keys to re-check for the clients blocked on them although they were not modified as
    /// WATCH and client tracking see it ([`WriteGroup::mark_ready`]).
    pub ready: HashSet<(u8, Vec<u8>)>,
    /// Databases wiped as a whole.
    pub flushed: Vec<u8>,
}

impl Touched {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.ready.is_empty() && self.flushed.is_empty()
    }

    fn note_key(&mut self, cf: Cf, raw: &[u8]) {
        let named = match cf {
            Cf::Meta => keys::decode_meta_key(raw),
            Cf::Sub => keys::decode_sub_key(raw).map(|s| (s.db, s.user_key)),
            _ => None,
        };
        if let Some((db, key)) = named {
            self.keys.insert((db, key.to_vec()));
        }
    }

    fn note_range(&mut self, cf: Cf, start: &[u8], end: &[u8]) {
        if cf != Cf::Meta {
            return; // sub-key ranges always come with their key's metadata write
        }
        // Whole-database deletions are `[db]..[db + 1]` (or `[0]..[16]` for all of them).
        if let (Some(&first), Some(&last)) = (start.first(), end.first()) {
            if start.len() == 1 && end.len() == 1 {
                for db in first..last {
                    if !self.flushed.contains(&db) {
                        self.flushed.push(db);
                    }
                }
            }
        }
    }
}

impl<E: KvEngine> Writer<E> {
    pub fn new(engine: E) -> Writer<E> {
        Writer {
            engine,
            sweeper: Sweeper::new(),
            track_touched: false,
            event_flags: Flags::default(),
            ahead: Pending::default(),
            ahead_bytes: 0,
            ahead_failed: None,
        }
    }

    /// Sets the keyspace-event flags for the groups begun after this call (read once per
    /// group, so a group records with the flags in force when it began).
    pub fn set_event_flags(&mut self, flags: Flags) {
        self.event_flags = flags;
    }

    /// Turns recording of modified keys on or off for the groups begun after this call.
    pub fn set_track_touched(&mut self, on: bool) {
        self.track_touched = on;
    }

    /// Starts a group of commands that will commit together.
    pub fn begin(&mut self) -> WriteGroup<'_, E> {
        let counts = self.engine.services().counts();
        let touched = self.track_touched.then(Touched::default);
        let notes = Recorder::with_flags(self.event_flags);
        WriteGroup {
            writer: self,
            pending: Pending::default(),
            counts,
            expired: 0,
            touched,
            quiet: false,
            notes,
        }
    }

    pub fn engine(&self) -> &E {
        &self.engine
    }

    /// Continues a group lifted out of another writer of the same engine with
    /// [`WriteGroup::suspend`] (a Lua script's command runner must own what it runs in, so
    /// it holds a writer of its own and resumes the request's group around each command).
    pub fn resume(&mut self, s: Suspended) -> WriteGroup<'_, E> {
        WriteGroup {
            writer: self,
            pending: s.pending,
            counts: s.counts,
            expired: s.expired,
            touched: s.touched,
            quiet: false,
            notes: s.notes,
        }
    }
}

/// A group's uncommitted state without its writer: see [`Writer::resume`].
pub struct Suspended {
    pending: Pending,
    counts: Counts,
    expired: u64,
    touched: Option<Touched>,
    notes: Option<Recorder>,
}

/// Commands executed since [`Writer::begin`], not yet committed.
pub struct WriteGroup<'w, E: KvEngine = Engine> {
    writer: &'w mut Writer<E>,
    pending: Pending,
    /// The counters as they will be once this group commits.
    counts: Counts,
    expired: u64,
    /// Keys modified since the last [`WriteGroup::take_touched`], when tracking is on.
    touched: Option<Touched>,
    /// Inside [`WriteGroup::quietly`]: writes do not count as modifying their key.
    quiet: bool,
    /// Keyspace events of this group; `None` unless `notify-keyspace-events` asks for some.
    notes: Option<Recorder>,
}

impl<E: KvEngine> WriteGroup<'_, E> {
    /// Lifts the uncommitted state out, leaving this group empty until
    /// [`WriteGroup::restore`] puts it back; meanwhile it runs in [`Writer::resume`].
    pub fn suspend(&mut self) -> Suspended {
        Suspended {
            pending: std::mem::take(&mut self.pending),
            counts: self.counts,
            expired: std::mem::take(&mut self.expired),
            touched: self.touched.take(),
            notes: self.notes.take(),
        }
    }

    /// Puts back what [`WriteGroup::suspend`] lifted out (and the resumed group added).
    pub fn restore(&mut self, s: Suspended) {
        self.pending = s.pending;
        self.counts = s.counts;
        self.expired = s.expired;
        self.touched = s.touched;
        self.notes = s.notes;
    }

    /// Ends a group resumed with [`Writer::resume`], handing its state back.
    pub fn into_suspended(self) -> Suspended {
        Suspended {
            pending: self.pending,
            counts: self.counts,
            expired: self.expired,
            touched: self.touched,
            notes: self.notes,
        }
    }

    /// The engine the group reads committed state from and commits to.
    pub fn engine(&self) -> &E {
        &self.writer.engine
    }

    /// The keys modified since the previous call (or since `begin`); empty when tracking is
    /// off. Call it after each request to learn what that request changed.
    pub fn take_touched(&mut self) -> Touched {
        match &mut self.touched {
            Some(t) => std::mem::take(t),
            None => Touched::default(),
        }
    }

    /// Runs `f` with its writes kept out of [`Touched`]: Redis's consumer-group commands
    /// (XREADGROUP, XACK, XCLAIM, XGROUP other than a CREATE that makes the stream, ...)
    /// change a stream without `signalModifiedKey`, so a WATCH of the stream survives them,
    /// client tracking keeps its cache, and blocked readers are not woken unless the
    /// command says so with [`WriteGroup::mark_ready`]. Deleting a key's metadata still
    /// counts: that is an expired key removed on the way, which Redis signals.
    pub fn quietly<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        let was = std::mem::replace(&mut self.quiet, true);
        let r = f(self);
        self.quiet = was;
        r
    }

    /// Has the clients blocked on `key` re-check it without counting it modified (Redis's
    /// `signalKeyAsReady` alone: XGROUP DESTROY answers waiting XREADGROUPs NOGROUP).
    pub fn mark_ready(&mut self, db: u8, key: &[u8]) {
        if let Some(t) = &mut self.touched {
            t.ready.insert((db, key.to_vec()));
        }
    }

    /// Whether this group records modified keys.
    pub fn tracks_touched(&self) -> bool {
        self.touched.is_some()
    }

    /// Starts recording modified keys from here on if this group was begun without: a
    /// WATCH registered mid-group must see the writes that follow it in the same group.
    pub fn track_touched_from_now(&mut self) {
        if self.touched.is_none() {
            self.touched = Some(Touched::default());
        }
    }

    /// Lends the keyspace-event recorder, when this group has one, together with a read
    /// view of the group (the recorder compares a key's state before and after a write).
    pub(crate) fn with_notes(&mut self, f: impl FnOnce(&mut Recorder, &Self)) {
        if let Some(mut notes) = self.notes.take() {
            f(&mut notes, &*self);
            self.notes = Some(notes);
        }
    }

    /// The keyspace events of the commands run so far, to publish after a successful
    /// commit (empty when notifications are off).
    pub fn take_notifications(&mut self) -> crate::events::Notifications {
        self.notes.as_mut().map(|n| n.take()).unwrap_or_default()
    }

    /// Tells the keyspace-event recorder about a write before it is applied.
    fn observe(&mut self, cf: Cf, raw: &[u8]) {
        self.with_notes(|notes, group| notes.observe(cf, raw, group));
    }

    /// Deletes up to `budget` expired keys in this group (continuing round-robin from the
    /// previous call) and returns how many. Errors are logged and count as zero.
    pub fn reclaim_expired(&mut self, budget: usize) -> usize {
        let mut sweeper = std::mem::take(&mut self.writer.sweeper);
        let now = now_ms();
        if let Some(notes) = &mut self.notes {
            notes.begin(now);
        }
        let result = sweeper.sweep(self, now, budget);
        self.writer.sweeper = sweeper;
        if let Some(notes) = &mut self.notes {
            notes.end_sweep();
        }
        result.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "expiry sweep failed");
            0
        })
    }

    /// Applies the group atomically ([`KvEngine::commit`]: for RocksDB one `WriteBatch`,
    /// one WAL write synced per the fsync policy), then publishes its counters and
    /// expired-key count. Nothing is published if the commit fails.
    ///
    /// When the group changed a key counter or handed out a key version above the stored
    /// bound, the key-counter record ([`counters`]) goes into the same commit: one small put, so the stored
    /// counters always match the stored keys and an open after a crash reads them instead
    /// of counting every key. The published counters are those of the last commit, i.e. of
    /// the stored record, so comparing with them tells whether the record must change.
    ///
    /// # Errors
    /// [`EngineError`] if the engine refuses the write; then nothing of the group is
    /// applied and the caller must fail every command of the group.
    pub fn commit(mut self) -> Result<(), EngineError> {
        self.flush_unreachable();
        if let Some(e) = self.writer.ahead_failed.take() {
            // What went ahead stays unreachable: no metadata names its version.
            self.writer.engine.services().settle();
            return Err(e);
        }
        let committed = self.commit_group();
        // Settled only now that the metadata naming what went ahead is committed (or
        // failed, leaving it garbage).
        self.writer.engine.services().settle();
        committed
    }

    /// [`WriteGroup::commit`] of the group's own writes.
    fn commit_group(&mut self) -> Result<(), EngineError> {
        let engine = &self.writer.engine;
        let services = engine.services();
        let version = services.last_version();
        let recorded = self.counts != services.counts() || version > services.recorded_version();
        let bound = version.saturating_add(counters::VERSION_HEADROOM);
        if recorded {
            let record = counters::Record {
                counts: self.counts,
                last_version: bound,
            };
            self.pending
                .put(Cf::Meta, counters::KEY.to_vec(), record.encode());
        }
        engine.commit(std::mem::take(&mut self.pending))?;
        services.publish_counts(&self.counts);
        if recorded {
            services.note_recorded_version(bound);
        }
        if self.expired > 0 {
            services
                .stats()
                .expired_keys
                .fetch_add(self.expired, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }
}

impl EngineView for WriteGroup<'_> {
    fn engine(&self) -> &Engine {
        WriteGroup::engine(self)
    }
}

impl<E: KvEngine> StoreRead for WriteGroup<'_, E> {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        match self.pending.lookup(cf, key) {
            Overlay::Written(v) => Ok(v.map(<[u8]>::to_vec)),
            Overlay::Untouched => self.writer.engine.get_latest(cf, key),
        }
    }

    fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        let engine = &self.writer.engine;
        self.pending
            .merged_scan(cf, start, end, |f| engine.scan(cf, start, end, f), visit)
    }

    fn last_key(&self, cf: Cf, start: &[u8], end: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        // Only a hint for RANDOMKEY's random seek, so a committed key the group deleted
        // may still be returned here.
        let committed = self.writer.engine.last_key(cf, start, end)?;
        Ok(committed.max(self.pending.last_key(cf, start, end)))
    }

    fn services(&self) -> &Services {
        self.writer.engine.services()
    }

    fn counts(&self) -> Counts {
        self.counts
    }
}

impl<E: KvEngine> StoreWrite for WriteGroup<'_, E> {
    fn put(&mut self, cf: Cf, key: Vec<u8>, value: Vec<u8>) {
        if let Some(t) = self.touched.as_mut().filter(|_| !self.quiet) {
            t.note_key(cf, &key);
        }
        self.observe(cf, &key);
        self.pending.put(cf, key, value);
    }

    fn delete(&mut self, cf: Cf, key: Vec<u8>) {
        let counts = !self.quiet || cf == Cf::Meta;
        if let Some(t) = self.touched.as_mut().filter(|_| counts) {
            t.note_key(cf, &key);
        }
        self.observe(cf, &key);
        self.pending.delete(cf, key);
    }

    fn delete_range(&mut self, cf: Cf, start: Vec<u8>, end: Vec<u8>) {
        if let Some(t) = &mut self.touched {
            t.note_range(cf, &start, &end);
        }
        self.pending.delete_range(cf, start, end);
    }

    fn put_unreachable(&mut self, cf: Cf, key: Vec<u8>, value: Vec<u8>) {
        let Some(version) = keys::decode_sub_key(&key).map(|s| s.version) else {
            return self.put(cf, key, value);
        };
        self.writer.engine.services().hold_unsettled(version);
        if let Some(t) = self.touched.as_mut().filter(|_| !self.quiet) {
            t.note_key(cf, &key);
        }
        self.observe(cf, &key);
        self.writer.ahead_bytes += key.len() + value.len();
        self.writer.ahead.put(cf, key, value);
        if self.writer.ahead_bytes >= AHEAD_BATCH_BYTES {
            self.flush_unreachable();
        }
    }

    fn flush_unreachable(&mut self) {
        let w = &mut *self.writer;
        if w.ahead_bytes == 0 {
            return;
        }
        let mut ahead = std::mem::take(&mut w.ahead);
        w.ahead_bytes = 0;
        if w.ahead_failed.is_some() {
            return;
        }
        // The stored version bound must cover what goes ahead, as it covers every
        // committed version: after a crash before the group commits, a version handed out
        // again to the same key would make these records its own. The counts stored with
        // it are the published (committed) ones.
        let services = w.engine.services();
        let version = services.last_version();
        let bound = version.saturating_add(counters::VERSION_HEADROOM);
        let record = (version > services.recorded_version()).then(|| counters::Record {
            counts: services.counts(),
            last_version: bound,
        });
        if let Some(record) = &record {
            ahead.put(Cf::Meta, counters::KEY.to_vec(), record.encode());
        }
        match w.engine.commit(ahead) {
            Ok(()) if record.is_some() => w.engine.services().note_recorded_version(bound),
            Ok(()) => {}
            Err(e) => w.ahead_failed = Some(e),
        }
    }

    fn new_version(&mut self) -> u64 {
        self.writer.engine.services().next_version()
    }

    fn counts_mut(&mut self) -> &mut Counts {
        &mut self.counts
    }

    fn note_expired(&mut self, n: u64) {
        self.expired += n;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use tandem_engine::MemoryEngine;

    use super::*;

    #[test]
    fn a_group_reads_its_own_writes_and_publishes_only_at_commit() {
        let engine = MemoryEngine::new();
        let mut writer = Writer::new(engine.clone());
        let meta = keys::meta_key(0, b"k");
        let mut g = writer.begin();
        g.put(Cf::Meta, meta.clone(), b"v".to_vec());
        g.counts_mut().record_change(0, None, Some(false));
        g.note_expired(2);
        assert_eq!(g.get(Cf::Meta, &meta).unwrap(), Some(b"v".to_vec()));
        assert_eq!(g.counts().keys[0], 1);
        assert_eq!(
            engine.get(Cf::Meta, &meta).unwrap(),
            None,
            "nothing before commit"
        );
        assert_eq!(engine.counts().keys[0], 0);
        let before = g.new_version();
        assert!(g.new_version() > before);
        g.commit().unwrap();
        assert_eq!(engine.get(Cf::Meta, &meta).unwrap(), Some(b"v".to_vec()));
        assert_eq!(engine.counts().keys[0], 1);
        let stats = engine.services().stats();
        assert_eq!(stats.expired_keys.load(Ordering::Relaxed), 2);
    }

    /// Unreachable records go ahead of their group once they reach the batch size, are
    /// kept by garbage collection until the group commits the metadata naming their
    /// version, and the stored version bound covers them before they are written.
    #[test]
    fn unreachable_records_go_ahead_and_are_kept_until_the_group_commits() {
        let engine = MemoryEngine::new();
        let mut writer = Writer::new(engine.clone());
        let mut g = writer.begin();
        let version = g.new_version();
        let chunk = vec![7u8; 1 << 20];
        let keys: Vec<Vec<u8>> = (0..10u32)
            .map(|i| keys::sub_key(0, b"big", version, &i.to_be_bytes()))
            .collect();
        for k in &keys {
            g.put_unreachable(Cf::Sub, k.clone(), chunk.clone());
        }
        // Eight 1 MiB chunks filled a batch: committed already, the rest still held.
        assert_eq!(engine.get(Cf::Sub, &keys[0]).unwrap(), Some(chunk.clone()));
        assert_eq!(engine.get(Cf::Sub, &keys[9]).unwrap(), None);
        g.flush_unreachable();
        assert_eq!(engine.get(Cf::Sub, &keys[9]).unwrap(), Some(chunk.clone()));
        let bound = stored(&engine).expect("a version bound went ahead with them");
        assert!(bound.last_version >= version);
        engine.compact().unwrap();
        assert!(
            engine.get(Cf::Sub, &keys[0]).unwrap().is_some(),
            "held: no metadata names them yet"
        );
        let meta = crate::engine::metadata::Record::chunked_string(10 << 20, 1 << 20, 0, version);
        g.put(Cf::Meta, keys::meta_key(0, b"big"), meta.encode());
        g.counts_mut().record_change(0, None, Some(false));
        g.commit().unwrap();
        engine.compact().unwrap();
        assert!(
            engine.get(Cf::Sub, &keys[0]).unwrap().is_some(),
            "named now"
        );

        // A group that writes ahead and never names them leaves garbage, collected once
        // it has committed.
        let mut g = writer.begin();
        let orphan = keys::sub_key(0, b"lost", g.new_version(), &0u32.to_be_bytes());
        g.put_unreachable(Cf::Sub, orphan.clone(), chunk);
        g.flush_unreachable();
        g.commit().unwrap();
        engine.compact().unwrap();
        assert_eq!(engine.get(Cf::Sub, &orphan).unwrap(), None);
    }

    /// The key-counter record the engine stores, decoded.
    fn stored<E: KvEngine>(engine: &E) -> Option<counters::Record> {
        let v = engine.get(Cf::Meta, counters::KEY).unwrap()?;
        Some(counters::Record::decode(&v).expect("a record the group wrote decodes"))
    }

    /// After every commit the stored record holds the published counters and a version
    /// at least every version handed out; a group that changes neither writes no record.
    fn the_record_follows_every_commit<E: KvEngine + Clone>(engine: E) {
        let mut w = Writer::new(engine.clone());
        let check = |engine: &E| {
            let r = stored(engine).expect("a record after a counting commit");
            assert_eq!(r.counts, engine.counts());
            assert!(r.last_version >= engine.services().last_version());
        };
        let mut g = w.begin();
        for (db, k, ttl) in [(0, &b"a"[..], false), (0, b"b", true), (4, b"c", true)] {
            g.new_version();
            g.put(Cf::Meta, keys::meta_key(db, k), b"v".to_vec());
            g.counts_mut().record_change(db, None, Some(ttl));
        }
        g.commit().unwrap();
        check(&engine);
        assert_eq!(stored(&engine).unwrap().counts.expires[4], 1);

        // A delete (an expiry reclaim or DEL) and a TTL removed (PERSIST).
        let mut g = w.begin();
        g.delete(Cf::Meta, keys::meta_key(0, b"a"));
        g.counts_mut().record_change(0, Some(false), None);
        g.counts_mut().record_change(0, Some(true), Some(false));
        g.commit().unwrap();
        check(&engine);
        assert_eq!(stored(&engine).unwrap().counts.keys[0], 1);

        // FLUSHDB of db 4.
        let mut g = w.begin();
        let (start, end) = keys::db_range(4);
        g.delete_range(Cf::Meta, start, end);
        g.counts_mut().clear(4);
        g.commit().unwrap();
        check(&engine);
        assert_eq!(stored(&engine).unwrap().counts.keys[4], 0);

        // FLUSHALL's range leaves the record (outside every db) and the group rewrites it.
        let mut g = w.begin();
        let (start, end) = keys::all_dbs_range();
        g.delete_range(Cf::Meta, start, end);
        for db in 0..keys::DB_COUNT {
            g.counts_mut().clear(db);
        }
        g.commit().unwrap();
        check(&engine);
        assert_eq!(stored(&engine).unwrap().counts, Counts::default());

        // No counter changed and no version handed out: no record write (the record
        // taken away here stays away).
        let mut p = Pending::default();
        p.delete(Cf::Meta, counters::KEY.to_vec());
        engine.commit(p).unwrap();
        let mut g = w.begin();
        g.put(Cf::Reqs, b"request".to_vec(), Vec::new());
        g.commit().unwrap();
        assert_eq!(stored(&engine), None);
    }

    #[test]
    fn the_record_follows_every_commit_in_memory() {
        the_record_follows_every_commit(MemoryEngine::new());
    }

    #[test]
    fn the_record_follows_every_commit_in_rocksdb() {
        let (_dir, engine) = crate::engine::open_temp();
        the_record_follows_every_commit(engine);
    }

    #[test]
    fn touched_names_keys_of_metadata_and_sub_keys_and_flushed_databases() {
        let engine = MemoryEngine::new();
        let mut writer = Writer::new(engine);
        let mut g = writer.begin();
        g.put(Cf::Meta, keys::meta_key(0, b"untracked"), Vec::new());
        assert!(!g.tracks_touched());
        assert!(g.take_touched().is_empty());
        g.track_touched_from_now();
        g.put(Cf::Meta, keys::meta_key(1, b"a"), Vec::new());
        g.delete(Cf::Sub, keys::sub_key(2, b"b", 7, b"field"));
        g.put(Cf::Reqs, b"request".to_vec(), Vec::new());
        let (start, end) = keys::db_range(3);
        g.delete_range(Cf::Meta, start, end);
        let touched = g.take_touched();
        let mut named: Vec<_> = touched.keys.into_iter().collect();
        named.sort();
        assert_eq!(named, vec![(1, b"a".to_vec()), (2, b"b".to_vec())]);
        assert_eq!(touched.flushed, vec![3]);
        assert!(g.take_touched().is_empty(), "taken means reset");
    }

    #[test]
    fn quiet_writes_touch_nothing_but_a_deleted_record_and_what_is_marked_ready() {
        let mut writer = Writer::new(MemoryEngine::new());
        writer.set_track_touched(true);
        let mut g = writer.begin();
        g.quietly(|g| {
            g.put(Cf::Meta, keys::meta_key(0, b"s"), Vec::new());
            g.put(Cf::Sub, keys::sub_key(0, b"s", 7, b"pel"), Vec::new());
            g.delete(Cf::Sub, keys::sub_key(0, b"s", 7, b"old"));
            g.mark_ready(0, b"s");
        });
        let touched = g.take_touched();
        assert!(touched.keys.is_empty(), "{touched:?}");
        assert_eq!(
            touched.ready.into_iter().collect::<Vec<_>>(),
            vec![(0, b"s".to_vec())]
        );
        // An expired key removed on the way is a modification, quiet or not.
        g.quietly(|g| g.delete(Cf::Meta, keys::meta_key(0, b"gone")));
        g.put(Cf::Sub, keys::sub_key(0, b"loud", 7, b"f"), Vec::new());
        let mut named: Vec<_> = g.take_touched().keys.into_iter().collect();
        named.sort();
        assert_eq!(named, vec![(0, b"gone".to_vec()), (0, b"loud".to_vec())]);
    }
}
