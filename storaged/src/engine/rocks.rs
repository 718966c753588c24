//! The RocksDB implementation of the engine seam.
//!
//! Owns the `DB` handle, column family tuning, the sub-key compaction filter, WAL sync,
//! and restoring the key counters and the version clock into the engine's [`Services`]
//! at open (from the key-counter record the write groups commit, or by counting once when
//! there is none). Nothing outside `engine/` sees a RocksDB type.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, CompactionDecision,
    DBCompressionType, Options, ReadOptions, WriteBatch, WriteOptions, DB,
};

use tandem_engine::gc;

use super::keys::{self, DB_COUNT};
use super::metadata::Header;
use super::{
    counters, now_ms, Cf, Counts, EngineError, EngineOptions, FsyncPolicy, KvEngine, Pending,
    Services, Stats, StoreRead,
};

const CF_META: &str = "meta";
const CF_SUB: &str = "sub";
const CF_REQS: &str = "reqs";

/// Pause between attempts to open a database whose `LOCK` is still held.
const LOCK_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// A cheap, cloneable handle to the open database. The database closes when the last
/// clone (and every iterator) is dropped.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// Where the sub-key compaction filter finds the database. The filter is created before
/// the database exists, so it gets this slot, filled after open and emptied before close:
/// emptying it first guarantees the last `Arc<DB>` is never dropped on a compaction
/// thread (closing waits for compactions, which would then wait for themselves).
type FilterSlot = Arc<RwLock<Option<Arc<DB>>>>;

/// Where storaged before the key-counter record ([`counters`]) saved its counters at a clean
/// shutdown, in the default column family. Its presence at open means such a storaged
/// wrote to this directory last (it never updates the record), so the record is not
/// trusted; open deletes it once the record is right again.
const LEGACY_COUNTERS_KEY: &[u8] = b"tandem-saved-counters";
const LEGACY_COUNTERS_MAGIC: &[u8] = b"tsc1";
/// Magic, sequence number, last version, then keys and expiring keys per database.
const LEGACY_COUNTERS_LEN: usize = 4 + 8 + 8 + 16 * DB_COUNT as usize;

/// Where the key counters at open came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CountersFrom {
    /// The key-counter record committed with the last write group.
    Record,
    /// The counters an older storaged saved at its clean shutdown, nothing written since.
    LegacySave,
    /// One scan of every metadata record (no record: a new directory, or one an older
    /// storaged wrote last and did not stop cleanly).
    Scan,
}

struct Inner {
    db: Arc<DB>,
    filter_slot: FilterSlot,
    fsync: FsyncPolicy,
    records: super::cache::RecordCache,
    services: Services,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let mut slot = match self.filter_slot.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = None;
    }
}

impl Engine {
    /// Opens (creating if needed) the database in `dir`, then restores the per-db counters
    /// and the version clock from the key-counter record ([`counters`]), committed with
    /// every write group that changed them. Without a usable record (a new directory, or
    /// one an older storaged wrote last) it counts every key once and stores the record.
    ///
    /// # Errors
    /// [`EngineError::Open`] when RocksDB refuses (bad directory, corruption, or a `LOCK`
    /// still held after `opts.lock_retry`).
    pub fn open(dir: &Path, opts: &EngineOptions) -> Result<Engine, EngineError> {
        let cache = Cache::new_lru_cache(opts.block_cache_bytes);
        let filter_slot: FilterSlot = Arc::new(RwLock::new(None));
        let services = Services::new();
        let unsettled = services.unsettled_floor();

        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_background_jobs(opts.background_jobs.max(1));
        db_opts.set_keep_log_file_num(10);
        // Several column families share one WAL: bound it so a quiet column family
        // cannot pin old log files forever.
        db_opts.set_max_total_wal_size(4 * opts.write_buffer_bytes as u64);
        if opts.background_rate_limit > 0 {
            db_opts.set_ratelimiter(opts.background_rate_limit, 100_000, 10);
        }

        let deadline = Instant::now() + opts.lock_retry;
        let db = loop {
            let cfs = [
                rocksdb::DEFAULT_COLUMN_FAMILY_NAME,
                CF_META,
                CF_SUB,
                CF_REQS,
            ]
            .map(|name| {
                let o = options_for(name, &cache, opts, &filter_slot, &unsettled);
                ColumnFamilyDescriptor::new(name, o)
            });
            match DB::open_cf_descriptors(&db_opts, dir, cfs) {
                Ok(db) => break db,
                Err(e) if is_lock_error(&e) && Instant::now() < deadline => {
                    tracing::info!(error = %e, "database LOCK still held; retrying");
                    std::thread::sleep(LOCK_RETRY_PAUSE);
                }
                Err(e) => {
                    return Err(EngineError::Open {
                        path: dir.display().to_string(),
                        reason: e.into_string(),
                    })
                }
            }
        };
        let db = Arc::new(db);
        match filter_slot.write() {
            Ok(mut g) => *g = Some(Arc::clone(&db)),
            Err(poisoned) => *poisoned.into_inner() = Some(Arc::clone(&db)),
        }

        let engine = Engine {
            inner: Arc::new(Inner {
                db,
                filter_slot,
                fsync: opts.fsync,
                records: super::cache::RecordCache::new(opts.record_cache_bytes),
                services,
            }),
        };
        let started = Instant::now();
        // The database map (SWAPDB): a directory that never swapped has none (identity).
        if let Some(raw) = engine.get(Cf::Meta, tandem_engine::databases::MAP_KEY)? {
            let map = tandem_engine::databases::DbMap::decode(&raw).ok_or_else(|| {
                EngineError::Corrupt {
                    key: tandem_engine::databases::MAP_KEY.to_vec(),
                    reason: "undecodable database map (SWAPDB)".to_owned(),
                }
            })?;
            engine.inner.services.databases().restore(map);
        }
        let from = engine.load_counters()?;
        engine
            .stats()
            .counters_restored
            .store(from != CountersFrom::Scan, Ordering::Relaxed);
        tracing::info!(
            took_ms = started.elapsed().as_millis() as u64,
            "key counters {}",
            match from {
                CountersFrom::Record => "read from the key-counter record",
                CountersFrom::LegacySave => "taken from an older storaged's clean shutdown",
                CountersFrom::Scan => "rebuilt by scanning every key",
            }
        );
        Ok(engine)
    }

    /// Publishes the counters and the version clock as stored (see [`Engine::open`]).
    fn load_counters(&self) -> Result<CountersFrom, EngineError> {
        let legacy = self.inner.db.get(LEGACY_COUNTERS_KEY).map_err(rocks_err)?;
        if legacy.is_none() {
            if let Some(v) = self.get(Cf::Meta, counters::KEY)? {
                if let Some(r) = counters::Record::decode(&v) {
                    self.publish_record(&r);
                    return Ok(CountersFrom::Record);
                }
                tracing::warn!("undecodable key-counter record; counting every key");
            }
        }
        let (record, from) = match legacy.as_deref().and_then(|v| self.legacy_record(v)) {
            Some(r) => (r, CountersFrom::LegacySave),
            None => (self.count_keys()?, CountersFrom::Scan),
        };
        self.publish_record(&record);
        if legacy.is_none() && record == counters::Record::default() {
            // Nothing stored at all (a new directory): leave it untouched; the first group
            // that creates a key stores the record, and until then a start counts nothing.
            return Ok(from);
        }
        // The record, and the legacy save gone, in one synced batch: from now on every
        // group that changes a counter keeps the record right.
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(Cf::Meta)?, counters::KEY, record.encode());
        batch.delete(LEGACY_COUNTERS_KEY);
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.inner.db.write_opt(batch, &wo).map_err(rocks_err)?;
        Ok(from)
    }

    fn publish_record(&self, r: &counters::Record) {
        let services = &self.inner.services;
        services.publish_counts(&r.counts);
        services.restore_version(r.last_version);
        services.note_recorded_version(r.last_version);
    }

    /// The counters an older storaged saved at its clean shutdown, if nothing at all was
    /// written after them: the save names the sequence number it was written at.
    fn legacy_record(&self, v: &[u8]) -> Option<counters::Record> {
        if v.len() != LEGACY_COUNTERS_LEN || !v.starts_with(LEGACY_COUNTERS_MAGIC) {
            return None;
        }
        let word = |i: usize| {
            let at = LEGACY_COUNTERS_MAGIC.len() + 8 * i;
            let mut b = [0u8; 8];
            b.copy_from_slice(&v[at..at + 8]);
            u64::from_be_bytes(b)
        };
        if word(0) != self.inner.db.latest_sequence_number() {
            return None;
        }
        let mut r = counters::Record {
            last_version: word(1),
            ..counters::Record::default()
        };
        for i in 0..usize::from(DB_COUNT) {
            r.counts.keys[i] = word(2 + 2 * i);
            r.counts.expires[i] = word(3 + 2 * i);
        }
        Some(r)
    }

    /// Counts every metadata record and finds the largest key version: one scan of `meta`
    /// (about a second per GiB of inline string values, which live there).
    fn count_keys(&self) -> Result<counters::Record, EngineError> {
        let mut r = counters::Record::default();
        let (start, end) = keys::all_dbs_range();
        self.scan(Cf::Meta, &start, &end, &mut |k, v| {
            let Some((db, _)) = keys::decode_meta_key(k) else {
                return true;
            };
            match Header::decode(v) {
                Ok(h) => {
                    r.counts.record_change(db, None, Some(h.expire_at_ms != 0));
                    r.last_version = r.last_version.max(h.version);
                }
                Err(e) => {
                    tracing::warn!(key = ?k, error = %e, "skipping undecodable metadata record")
                }
            }
            true
        })?;
        Ok(r)
    }

    /// The fsync policy the database was opened with.
    pub fn fsync_policy(&self) -> FsyncPolicy {
        self.inner.fsync
    }

    /// The record cache shared by the writer and in-memory readers ([`super::cache`]).
    pub fn records(&self) -> &super::cache::RecordCache {
        &self.inner.records
    }

    /// Syncs the write-ahead log to disk. The owner calls this once a second under
    /// [`FsyncPolicy::EverySec`] and before a clean shutdown.
    ///
    /// # Errors
    /// [`EngineError::Backend`] if the sync fails.
    pub fn sync_wal(&self) -> Result<(), EngineError> {
        self.inner.db.flush_wal(true).map_err(rocks_err)
    }

    /// Writes `pending` as one `WriteBatch`, sized up front. An entry is dropped from
    /// `pending` once copied into the batch unless the record cache will take it after the
    /// commit, so a large write (a 512 MiB string's chunks) is not held twice: it was,
    /// with the batch's doubling growth on top (measured: +2.5 GiB for a 512 MiB SET).
    /// A scan of the latest committed state; `fill_cache: false` leaves RocksDB's block
    /// cache as it was ([`StoreRead::scan_bulk`]).
    fn scan_with(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        fill_cache: bool,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(end.to_vec());
        ro.fill_cache(fill_cache);
        let mut it = self.inner.db.raw_iterator_cf_opt(self.cf(cf)?, ro);
        it.seek(start);
        while let Some((k, v)) = it.item() {
            if !visit(k, v) {
                return Ok(());
            }
            it.next();
        }
        it.status().map_err(rocks_err)
    }

    fn write_batch_of(&self, pending: &mut Pending) -> Result<(), EngineError> {
        let mut batch = WriteBatch::with_capacity_bytes(pending.approx_bytes());
        for cf in Cf::ALL {
            let handle = self.cf(cf)?;
            for (start, end) in pending.ranges(cf) {
                batch.delete_range_cf(handle, start, end);
            }
            let mut kept = std::collections::BTreeMap::new();
            for (k, v) in pending.take_entries(cf) {
                match &v {
                    Some(v) => batch.put_cf(handle, &k, v),
                    None => batch.delete_cf(handle, &k),
                }
                if super::cache::RecordCache::keeps(cf, v.as_deref()) {
                    kept.insert(k, v);
                }
            }
            pending.restore_entries(cf, kept);
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(self.inner.fsync == FsyncPolicy::Always);
        self.inner.db.write_opt(batch, &wo).map_err(rocks_err)
    }

    /// Flushes every column family's memtables into SST files and waits for it; the WAL
    /// files only they needed are then dropped (`BGREWRITEAOF`'s rewrite of the log).
    ///
    /// # Errors
    /// [`EngineError::Backend`] when RocksDB cannot flush.
    pub fn flush_memtables(&self) -> Result<(), EngineError> {
        for cf in Cf::ALL {
            self.inner.db.flush_cf(self.cf(cf)?).map_err(rocks_err)?;
        }
        self.inner.db.flush_wal(true).map_err(rocks_err)
    }

    /// Writes a checkpoint of the whole database into `dir` (which must not exist): SST files
    /// hard-linked when on the same filesystem, copied otherwise, plus a consistent MANIFEST
    /// and WAL tail. Runs while serving; `Engine::open` on `dir` opens the copy.
    ///
    /// # Errors
    /// [`EngineError::Backend`] when `dir` exists or cannot be written.
    pub fn checkpoint(&self, dir: &Path) -> Result<(), EngineError> {
        let checkpoint = rocksdb::checkpoint::Checkpoint::new(&self.inner.db)
            .map_err(|e| rocks_msg(e.to_string()))?;
        checkpoint
            .create_checkpoint(dir)
            .map_err(|e| rocks_msg(format!("checkpoint into {}: {e}", dir.display())))
    }

    /// Compacts both column families fully, running the sub-key filter over everything.
    /// For operators and tests; never needed for correctness.
    ///
    /// # Errors
    /// [`EngineError::Backend`] if a column family is missing.
    pub fn compact(&self) -> Result<(), EngineError> {
        for cf in [Cf::Meta, Cf::Sub] {
            self.inner
                .db
                .compact_range_cf(self.cf(cf)?, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// The committed per-db counters.
    pub fn counts(&self) -> Counts {
        self.inner.services.counts()
    }

    /// Keyspace statistics.
    pub fn stats(&self) -> &Stats {
        self.inner.services.stats()
    }

    /// RocksDB properties for INFO's `# Storage` section, as `(name, value)`.
    pub fn storage_properties(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (cf, label) in [(Cf::Meta, "meta"), (Cf::Sub, "sub")] {
            let Ok(handle) = self.cf(cf) else { continue };
            for prop in [
                "rocksdb.estimate-num-keys",
                "rocksdb.total-sst-files-size",
                "rocksdb.cur-size-all-mem-tables",
                // With the flushed memtables a reader's view still pins.
                "rocksdb.size-all-mem-tables",
            ] {
                if let Ok(Some(v)) = self.inner.db.property_int_value_cf(handle, prop) {
                    let name = prop.trim_start_matches("rocksdb.").replace('-', "_");
                    out.push((format!("{label}_{name}"), v.to_string()));
                }
            }
        }
        // The block cache (`--block-cache-mb`) that `meta`, `sub` and `reqs` share: with the
        // memtables above, what storaged keeps by design after a burst. Asked through a
        // column family of ours: the DB-wide property reads the default family's own cache.
        if let Ok(handle) = self.cf(Cf::Meta) {
            for prop in [
                "rocksdb.block-cache-usage",
                "rocksdb.block-cache-pinned-usage",
            ] {
                if let Ok(Some(v)) = self.inner.db.property_int_value_cf(handle, prop) {
                    let name = prop.trim_start_matches("rocksdb.").replace('-', "_");
                    out.push((name, v.to_string()));
                }
            }
        }
        if let Ok(Some(v)) = self.inner.db.property_int_value("rocksdb.is-write-stopped") {
            out.push(("is_write_stopped".to_owned(), v.to_string()));
        }
        if let Ok(Some(v)) = self
            .inner
            .db
            .property_int_value("rocksdb.actual-delayed-write-rate")
        {
            out.push(("delayed_write_rate".to_owned(), v.to_string()));
        }
        let stats = self.stats();
        let requests = stats.write_requests.load(Ordering::Relaxed);
        let groups = stats.write_groups.load(Ordering::Relaxed);
        let wal = stats.wal_writes.load(Ordering::Relaxed);
        out.push(("write_requests".to_owned(), requests.to_string()));
        out.push(("write_groups".to_owned(), groups.to_string()));
        out.push(("wal_writes".to_owned(), wal.to_string()));
        let per_write = if wal == 0 {
            0.0
        } else {
            requests as f64 / wal as f64
        };
        out.push((
            "requests_per_wal_write".to_owned(),
            format!("{per_write:.2}"),
        ));
        out.push((
            "record_cache_entries".to_owned(),
            self.inner.records.len().to_string(),
        ));
        let at_start = if stats.counters_restored.load(Ordering::Relaxed) {
            "saved"
        } else {
            "scanned"
        };
        out.push(("counters_at_start".to_owned(), at_start.to_owned()));
        out
    }

    fn cf(&self, cf: Cf) -> Result<&ColumnFamily, EngineError> {
        let name = match cf {
            Cf::Meta => CF_META,
            Cf::Sub => CF_SUB,
            Cf::Reqs => CF_REQS,
        };
        self.inner
            .db
            .cf_handle(name)
            .ok_or_else(|| rocks_msg(format!("column family {name} is missing")))
    }
}

impl StoreRead for Engine {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        self.inner.db.get_cf(self.cf(cf)?, key).map_err(rocks_err)
    }

    fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        self.scan_with(cf, start, end, true, visit)
    }

    fn scan_bulk(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        self.scan_with(cf, start, end, false, visit)
    }

    fn last_key(&self, cf: Cf, start: &[u8], end: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(start.to_vec());
        ro.set_iterate_upper_bound(end.to_vec());
        let mut it = self.inner.db.raw_iterator_cf_opt(self.cf(cf)?, ro);
        it.seek_to_last();
        if let Some(k) = it.key() {
            return Ok(Some(k.to_vec()));
        }
        it.status().map_err(rocks_err)?;
        Ok(None)
    }

    fn services(&self) -> &Services {
        &self.inner.services
    }

    fn counts(&self) -> Counts {
        Engine::counts(self)
    }
}

impl KvEngine for Engine {
    type Snapshot<'a> = SnapshotRead<'a>;

    fn snapshot(&self) -> SnapshotRead<'_> {
        self.snapshot_read()
    }

    /// Through the record cache: the writer's reads of the records it is about to change
    /// are one hash lookup each when they are cached.
    fn get_latest(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        self.inner
            .records
            .read_through(cf, key, None, || StoreRead::get(self, cf, key))
    }

    /// One `WriteBatch` with one WAL write (synced per the fsync policy); the record
    /// cache forgets the batch's keys before the write and learns their new records after
    /// it, so no reader is served a record of a half-applied group.
    fn commit(&self, mut pending: Pending) -> Result<(), EngineError> {
        if pending.is_empty() {
            return Ok(());
        }
        // The record cache never shows a key this batch writes while it commits. It
        // forgets them before the batch is built, so that what it will not keep can
        // leave `pending` as it is copied into the batch.
        self.inner.records.begin_commit(&pending);
        let written = self.write_batch_of(&mut pending);
        self.inner
            .records
            .end_commit(written.is_ok().then_some(&mut pending));
        written?;
        self.stats().wal_writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn compact(&self) -> Result<(), EngineError> {
        Engine::compact(self)
    }
}

/// A point-in-time view of committed state for one read request: every read in it sees
/// the same sequence number, so a multi-key read (MGET, SUNION …) or a pipeline of reads
/// never observes half of a group commit (half of an EXEC).
pub struct SnapshotRead<'a> {
    engine: &'a Engine,
    snapshot: rocksdb::SnapshotWithThreadMode<'a, DB>,
    /// Read only what is in memory (memtables and block cache), never the disk.
    cache_only: bool,
    /// Set when a cache-only read needed the disk: its result must be thrown away.
    missed: std::cell::Cell<bool>,
}

impl Engine {
    /// Opens a [`SnapshotRead`]; it is released when dropped.
    pub fn snapshot_read(&self) -> SnapshotRead<'_> {
        SnapshotRead {
            engine: self,
            snapshot: self.inner.db.snapshot(),
            cache_only: false,
            missed: std::cell::Cell::new(false),
        }
    }

    /// A [`SnapshotRead`] that never touches the disk (RocksDB `kBlockCacheTier`): a read
    /// that would need I/O fails and marks the view [`SnapshotRead::missed`]. Lets the
    /// socket thread answer reads served from memory without blocking on a disk.
    pub fn snapshot_read_in_memory(&self) -> SnapshotRead<'_> {
        SnapshotRead {
            cache_only: true,
            ..self.snapshot_read()
        }
    }
}

impl SnapshotRead<'_> {
    /// The engine this snapshot belongs to.
    pub fn engine(&self) -> &Engine {
        self.engine
    }

    /// True when a cache-only view met data that is only on disk.
    pub fn missed(&self) -> bool {
        self.missed.get()
    }

    /// A scan of committed state at this snapshot; `fill_cache: false` leaves RocksDB's
    /// block cache as it was ([`StoreRead::scan_bulk`]).
    fn scan_with(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        fill_cache: bool,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        let mut ro = self.read_options();
        ro.set_iterate_upper_bound(end.to_vec());
        ro.fill_cache(fill_cache);
        let mut it = self.snapshot.raw_iterator_cf_opt(self.engine.cf(cf)?, ro);
        it.seek(start);
        while let Some((k, v)) = it.item() {
            if !visit(k, v) {
                return Ok(());
            }
            it.next();
        }
        it.status().map_err(|e| self.check(e))
    }

    fn read_options(&self) -> ReadOptions {
        let mut ro = ReadOptions::default();
        if self.cache_only {
            ro.set_read_tier(rocksdb::ReadTier::BlockCache);
        }
        ro
    }

    fn check(&self, e: rocksdb::Error) -> EngineError {
        if self.cache_only && e.kind() == rocksdb::ErrorKind::Incomplete {
            self.missed.set(true);
        }
        rocks_err(e)
    }
}

impl StoreRead for SnapshotRead<'_> {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        self.snapshot
            .get_cf_opt(self.engine.cf(cf)?, key, self.read_options())
            .map_err(|e| self.check(e))
    }

    fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        self.scan_with(cf, start, end, true, visit)
    }

    fn scan_bulk(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        self.scan_with(cf, start, end, false, visit)
    }

    fn last_key(&self, cf: Cf, start: &[u8], end: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        let mut ro = self.read_options();
        ro.set_iterate_lower_bound(start.to_vec());
        ro.set_iterate_upper_bound(end.to_vec());
        let mut it = self.snapshot.raw_iterator_cf_opt(self.engine.cf(cf)?, ro);
        it.seek_to_last();
        if let Some(k) = it.key() {
            return Ok(Some(k.to_vec()));
        }
        it.status().map_err(|e| self.check(e))?;
        Ok(None)
    }

    fn services(&self) -> &Services {
        self.engine.services()
    }

    fn yield_heavy_read(&self) -> bool {
        if self.cache_only {
            self.missed.set(true);
        }
        self.cache_only
    }

    fn counts(&self) -> Counts {
        Engine::counts(self.engine)
    }
}

/// A reader's view through the record cache ([`super::cache`]): point reads of metadata
/// and sub-key records come from the cache when it knows them; misses, scans and
/// everything else come from one RocksDB snapshot, taken on first need. The result of a
/// request is valid only if the view is still [`CachedRead::consistent`] at its end.
pub struct CachedRead<'a> {
    engine: &'a Engine,
    epoch: u64,
    cache_only: bool,
    snapshot: std::cell::OnceCell<SnapshotRead<'a>>,
}

impl Engine {
    /// Opens a [`CachedRead`]; `cache_only` as for [`Engine::snapshot_read_in_memory`].
    pub fn cached_read(&self, cache_only: bool) -> CachedRead<'_> {
        CachedRead {
            engine: self,
            // Before any snapshot is taken: see `RecordCache::fill_if`.
            epoch: self.inner.records.epoch(),
            cache_only,
            snapshot: std::cell::OnceCell::new(),
        }
    }
}

impl<'a> CachedRead<'a> {
    /// The engine this view reads.
    pub fn engine(&self) -> &'a Engine {
        self.engine
    }

    fn snapshot(&self) -> &SnapshotRead<'a> {
        self.snapshot.get_or_init(|| {
            if self.cache_only {
                self.engine.snapshot_read_in_memory()
            } else {
                self.engine.snapshot_read()
            }
        })
    }

    /// True when a cache-only view met data that is only on disk.
    pub fn missed(&self) -> bool {
        self.snapshot.get().is_some_and(SnapshotRead::missed)
    }

    /// True if no group began or finished committing since this view was opened, so
    /// everything read through it belongs to one committed state.
    pub fn consistent(&self) -> bool {
        self.engine.records().epoch() == self.epoch
    }
}

impl StoreRead for CachedRead<'_> {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        self.engine
            .records()
            .read_through(cf, key, Some(self.epoch), || self.snapshot().get(cf, key))
    }

    fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        self.snapshot().scan(cf, start, end, visit)
    }

    fn scan_bulk(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), EngineError> {
        self.snapshot().scan_bulk(cf, start, end, visit)
    }

    fn last_key(&self, cf: Cf, start: &[u8], end: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        self.snapshot().last_key(cf, start, end)
    }

    fn services(&self) -> &Services {
        self.engine.services()
    }

    fn yield_heavy_read(&self) -> bool {
        self.cache_only && self.snapshot().yield_heavy_read()
    }

    fn counts(&self) -> Counts {
        Engine::counts(self.engine)
    }
}

fn options_for(
    name: &str,
    cache: &Cache,
    opts: &EngineOptions,
    slot: &FilterSlot,
    unsettled: &Arc<AtomicU64>,
) -> Options {
    match name {
        CF_META => cf_options(cache, opts),
        // Written on every write request, read only for resends: skip the memtable bloom.
        CF_REQS => {
            let mut o = cf_options(cache, opts);
            o.set_memtable_prefix_bloom_ratio(0.0);
            o.set_memtable_whole_key_filtering(false);
            o
        }
        CF_SUB => {
            let mut o = cf_options(cache, opts);
            let (slot, unsettled) = (Arc::clone(slot), Arc::clone(unsettled));
            o.set_compaction_filter(
                "tandem-stale-subkeys",
                move |_level, key: &[u8], _value: &[u8]| filter_sub_key(&slot, &unsettled, key),
            );
            o
        }
        _ => Options::default(),
    }
}

/// Point lookups dominate: whole-key bloom filters on disk and in the memtable, a shared
/// block cache holding index and filter blocks too, lz4 on every level.
fn cf_options(cache: &Cache, opts: &EngineOptions) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    table.set_bloom_filter(10.0, false);
    table.set_whole_key_filtering(true);
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);
    let mut o = Options::default();
    o.set_block_based_table_factory(&table);
    o.set_compression_type(DBCompressionType::Lz4);
    o.set_write_buffer_size(opts.write_buffer_bytes);
    o.set_memtable_prefix_bloom_ratio(0.1);
    o.set_memtable_whole_key_filtering(true);
    o.set_level_compaction_dynamic_level_bytes(true);
    o.set_max_write_buffer_number(opts.max_write_buffers.max(2));
    o.set_level_zero_slowdown_writes_trigger(opts.l0_slowdown_trigger);
    o.set_level_zero_stop_writes_trigger(opts.l0_stop_trigger);
    o
}

/// Drops what [`gc::stale_sub_key`] calls garbage: a sub-key whose key's metadata is gone,
/// carries another version (the key was deleted and recreated), or has expired; except
/// versions a write group holds unsettled ([`gc::collectable`]).
fn filter_sub_key(slot: &FilterSlot, unsettled: &AtomicU64, raw: &[u8]) -> CompactionDecision {
    let Some((sub, meta_key)) = gc::owner_meta_key(raw) else {
        return CompactionDecision::Keep;
    };
    let Ok(guard) = slot.read() else {
        return CompactionDecision::Keep;
    };
    let Some(db) = guard.as_ref() else {
        return CompactionDecision::Keep;
    };
    let Some(meta_cf) = db.cf_handle(CF_META) else {
        return CompactionDecision::Keep;
    };
    match db.get_cf(meta_cf, meta_key) {
        // On a read error keep the data: a later compaction can decide again.
        Err(_) => CompactionDecision::Keep,
        Ok(meta) if gc::collectable(&sub, meta.as_deref(), now_ms(), unsettled) => {
            CompactionDecision::Remove
        }
        Ok(_) => CompactionDecision::Keep,
    }
}

/// RocksDB reports a held `LOCK` as "While lock file: …/LOCK: Resource temporarily
/// unavailable" (another process) or "lock hold by current process … lock file: …"
/// (this one, "…/LOCK: No locks available"). Match narrowly: "block" must not count.
fn is_lock_error(e: &rocksdb::Error) -> bool {
    let s = e.to_string().to_ascii_lowercase();
    s.contains("while lock file") || s.contains("lock hold by") || s.contains("/lock:")
}

fn rocks_err(e: rocksdb::Error) -> EngineError {
    rocks_msg(e.into_string())
}

fn rocks_msg(reason: String) -> EngineError {
    EngineError::Backend {
        engine: "rocksdb",
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(lock_retry: Duration) -> EngineOptions {
        EngineOptions {
            block_cache_bytes: 1 << 20,
            lock_retry,
            ..EngineOptions::default()
        }
    }

    #[test]
    fn open_waits_for_a_held_lock() {
        let dir = tempfile::tempdir().unwrap();
        let first = Engine::open(dir.path(), &options(Duration::ZERO)).unwrap();
        match Engine::open(dir.path(), &options(Duration::ZERO)) {
            Err(EngineError::Open { reason, .. }) => assert!(reason.contains("LOCK"), "{reason}"),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("opened a locked database"),
        }
        let holder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(first);
        });
        let second = Engine::open(dir.path(), &options(Duration::from_secs(10)));
        holder.join().unwrap();
        assert!(second.is_ok());
    }

    /// A key's metadata record with the given version (a plain string, no expiry).
    fn meta_record(version: u64) -> Vec<u8> {
        super::super::metadata::Record::string(b"v".to_vec(), 0, version).encode()
    }

    #[test]
    fn counters_are_committed_with_the_writes_and_read_at_open() {
        use super::super::group::Writer;
        use super::super::StoreWrite;
        let dir = tempfile::tempdir().unwrap();
        let open = || Engine::open(dir.path(), &options(Duration::ZERO)).unwrap();
        let from_record = |e: &Engine| e.stats().counters_restored.load(Ordering::Relaxed);
        let e = open();
        assert!(
            !from_record(&e),
            "a new directory is counted (nothing to count)"
        );
        let mut w = Writer::new(e.clone());
        let mut g = w.begin();
        for (db, k) in [(0u8, &b"a"[..]), (0, b"b"), (3, b"c")] {
            let v = g.services().next_version();
            g.put(Cf::Meta, keys::meta_key(db, k), meta_record(v));
            g.counts_mut().record_change(db, None, Some(db == 3));
        }
        g.commit().unwrap();
        let bound = e.services().last_version() + counters::VERSION_HEADROOM;
        assert_eq!(e.services().recorded_version(), bound);
        // Versions below the stored bound need no record write.
        let mut g = w.begin();
        g.new_version();
        g.put(Cf::Reqs, b"r".to_vec(), b"x".to_vec());
        g.commit().unwrap();
        assert_eq!(e.services().recorded_version(), bound);
        // Dropping without any shutdown step is what a crash leaves (the WAL is replayed).
        drop(w);
        drop(e);
        let e = open();
        assert!(from_record(&e), "read from the record, not counted");
        assert_eq!(
            (
                e.counts().keys[0],
                e.counts().keys[3],
                e.counts().expires[3]
            ),
            (2, 1, 1)
        );
        assert_eq!(
            e.services().last_version(),
            bound,
            "the clock resumes at the bound"
        );
        // A record that disagrees with the keys shows it is what open read: fake counters
        // committed directly (no group) come back as they are.
        let mut fake = counters::Record::default();
        fake.counts.keys[5] = 9;
        let mut p = Pending::default();
        p.put(Cf::Meta, counters::KEY.to_vec(), fake.encode());
        e.commit(p).unwrap();
        drop(e);
        let e = open();
        assert_eq!(e.counts(), fake.counts);
    }

    #[test]
    fn a_checkpoint_carries_the_counters_of_its_own_moment() {
        use super::super::group::Writer;
        use super::super::StoreWrite;
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(&dir.path().join("live"), &options(Duration::ZERO)).unwrap();
        let mut w = Writer::new(e.clone());
        let add = |w: &mut Writer, key: &[u8]| {
            let mut g = w.begin();
            let v = g.services().next_version();
            g.put(Cf::Meta, keys::meta_key(1, key), meta_record(v));
            g.counts_mut().record_change(1, None, Some(false));
            g.commit().unwrap();
        };
        add(&mut w, b"a");
        add(&mut w, b"b");
        let copy = dir.path().join("checkpoint");
        e.checkpoint(&copy).unwrap();
        add(&mut w, b"c");
        assert_eq!(e.counts().keys[1], 3);
        // What `tandem-storaged restore` puts in place opens with the checkpoint's counters.
        let restored = Engine::open(&copy, &options(Duration::ZERO)).unwrap();
        assert!(restored.stats().counters_restored.load(Ordering::Relaxed));
        assert_eq!(restored.counts().keys[1], 2);
    }

    #[test]
    fn a_directory_an_older_storaged_wrote_last_is_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let open = || Engine::open(dir.path(), &options(Duration::ZERO)).unwrap();
        let from_record = |e: &Engine| e.stats().counters_restored.load(Ordering::Relaxed);
        let legacy = |e: &Engine, keys3: u64, at: u64| {
            let mut v = LEGACY_COUNTERS_MAGIC.to_vec();
            v.extend_from_slice(&at.to_be_bytes());
            v.extend_from_slice(&77u64.to_be_bytes());
            for i in 0..DB_COUNT {
                let k = if i == 3 { keys3 } else { 0 };
                v.extend_from_slice(&k.to_be_bytes());
                v.extend_from_slice(&0u64.to_be_bytes());
            }
            e.inner.db.put(LEGACY_COUNTERS_KEY, v).unwrap();
        };
        // An older storaged's data: two keys, no record, killed (no save).
        let e = open();
        let mut p = Pending::default();
        p.put(Cf::Meta, keys::meta_key(3, b"x"), meta_record(40));
        p.put(Cf::Meta, keys::meta_key(3, b"y"), meta_record(41));
        p.delete(Cf::Meta, counters::KEY.to_vec());
        e.commit(p).unwrap();
        drop(e);
        let e = open();
        assert!(!from_record(&e));
        assert_eq!(e.counts().keys[3], 2);
        assert_eq!(e.services().last_version(), 41);
        drop(e);
        let e = open();
        assert!(
            from_record(&e),
            "counted once, then read from the record it stored"
        );
        assert_eq!(e.counts().keys[3], 2);
        // An older storaged's clean shutdown with nothing written after it: its save is
        // used (no scan) and replaced by the record.
        let at = e.inner.db.latest_sequence_number() + 1;
        legacy(&e, 5, at);
        drop(e);
        let e = open();
        assert!(from_record(&e));
        assert_eq!(e.counts().keys[3], 5, "the save, not a count");
        assert_eq!(e.inner.db.get(LEGACY_COUNTERS_KEY).unwrap(), None);
        // A stale save (written before later writes) is not trusted, nor is the record
        // beside it: the keys are counted.
        legacy(&e, 5, 1);
        drop(e);
        let e = open();
        assert!(!from_record(&e));
        assert_eq!(e.counts().keys[3], 2);
        assert_eq!(e.inner.db.get(LEGACY_COUNTERS_KEY).unwrap(), None);
    }

    #[test]
    fn a_commit_caches_small_records_only_and_never_serves_a_stale_one() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(dir.path(), &options(Duration::ZERO)).unwrap();
        let cached = |k: &[u8]| e.records().get(Cf::Sub, k);
        // A small record the cache holds, then overwritten by a large one.
        let mut p = Pending::default();
        p.put(Cf::Sub, b"grows".to_vec(), b"small".to_vec());
        e.commit(p).unwrap();
        assert_eq!(
            cached(b"grows"),
            super::super::cache::Cached::Known(Some(b"small".to_vec()))
        );
        let big = vec![7u8; 1 << 20];
        let mut p = Pending::default();
        p.put(Cf::Sub, b"grows".to_vec(), big.clone());
        p.put(Cf::Sub, b"other".to_vec(), b"x".to_vec());
        p.put(Cf::Reqs, b"r".to_vec(), b"reply".to_vec());
        assert!(p.approx_bytes() >= big.len() + 1 + 5);
        e.commit(p).unwrap();
        // The large value left the group before the write: committed, not cached, and
        // the old small value is gone from the cache too.
        assert_eq!(cached(b"grows"), super::super::cache::Cached::Unknown);
        assert_eq!(e.get(Cf::Sub, b"grows").unwrap(), Some(big));
        assert_eq!(
            cached(b"other"),
            super::super::cache::Cached::Known(Some(b"x".to_vec()))
        );
        assert_eq!(e.get(Cf::Reqs, b"r").unwrap(), Some(b"reply".to_vec()));
    }

    /// The socket thread's view (`cached_read(true)`) answers reads from memory and refuses
    /// heavy ones, marking itself missed so its request reruns on the read pool, whose
    /// view reads on. (`types/string.rs` checks that a large GET asks.)
    #[test]
    fn the_socket_threads_view_gives_heavy_reads_up_to_the_read_pool() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(dir.path(), &options(Duration::ZERO)).unwrap();
        let mut p = Pending::default();
        p.put(Cf::Meta, b"small".to_vec(), b"v".to_vec());
        e.commit(p).unwrap();
        let view = e.cached_read(true);
        assert_eq!(view.get(Cf::Meta, b"small").unwrap(), Some(b"v".to_vec()));
        assert!(!view.missed());
        assert!(view.yield_heavy_read());
        assert!(view.missed(), "a heavy read gives up on the socket thread");
        let pool = e.cached_read(false);
        assert!(!pool.yield_heavy_read());
        assert_eq!(pool.get(Cf::Meta, b"small").unwrap(), Some(b"v".to_vec()));
        assert!(!pool.missed());
    }
}
