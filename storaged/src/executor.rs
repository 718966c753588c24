//! Maps an archived [`Command`](tandem_shared::Command) to an [`Outcome`], on the read
//! path or inside a write group.
//!
//! Concurrency contract:
//! - [`execute_read`] runs read-only commands against committed state; any number of
//!   threads may call it at once.
//! - One writer thread owns the [`Writer`]. Each [`WriteGroup`] runs any commands against
//!   committed state plus its own uncommitted writes (so two `INCR`s of one key in a group
//!   compose), then [`WriteGroup::commit`] applies everything as one `WriteBatch` with one
//!   WAL write. Read-modify-write commands are atomic per key because only this thread
//!   writes. Counters and stats change only when a commit succeeds.
//!
//! This module owns no sockets and no threads; the server builds those around it.

use std::fmt::Write as _;

use tandem_shared::command::{
    ArchivedBlockingOp, ArchivedCommand, ArchivedExpireCondition, ArchivedGetExExpiry,
    ArchivedLcsMode, ArchivedListEnd, ArchivedScanType, ArchivedSetCondition, ArchivedSetExpiry,
    ArchivedTimeUnit, ArchivedZEnd, ListEnd, ZEnd,
};
use tandem_shared::wire::Outcome;
use tandem_shared::{
    ExpireCondition, GetExExpiry, LcsMode, Reply, SetCondition, SetExpiry, StorageError, TimeUnit,
};

use crate::engine::keys::DB_COUNT;
use crate::engine::metadata::KeyType;
use crate::engine::{now_ms, Counts, Engine, EngineView};
use crate::events::Flags;
use crate::pubsub::Hub;
use crate::types::hash::{self, HashPart};
use crate::types::keyspace::{self, FlushScope, RenameMode, ScanFilter, ScanOptions};
use crate::types::list;
use crate::types::memory;
use crate::types::pop::{self, PopOp};
use crate::types::set::{self, SetOp};
use crate::types::string::{self, SetOptions};
use crate::types::zset;
use crate::types::{key_slices, At, CmdResult, MemberScanOptions};

/// Runs a read-only command (`cmd.is_write() == false`) against committed state.
/// A write command here is answered with an internal error: route it to the writer.
pub fn execute_read(engine: &Engine, hub: &Hub, db: u8, cmd: &ArchivedCommand) -> Outcome {
    let result = check_db(db).and_then(|at| {
        read_command(engine, hub, at, cmd).unwrap_or_else(|| {
            Err(StorageError::Internal(
                "write command sent to the read path".to_owned(),
            ))
        })
    });
    into_outcome(result)
}

/// [`execute_read`] against any read view, e.g. an [`crate::engine::SnapshotRead`] shared
/// by every command of one read request.
pub fn execute_read_on<S: EngineView + ?Sized>(
    s: &S,
    hub: &Hub,
    db: u8,
    cmd: &ArchivedCommand,
) -> Outcome {
    let result = check_db(db).and_then(|at| {
        read_command(s, hub, at, cmd).unwrap_or_else(|| {
            Err(StorageError::Internal(
                "write command sent to the read path".to_owned(),
            ))
        })
    });
    into_outcome(result)
}

/// Runs a read against a memory-only view; `None` when it needed the disk (then nothing is
/// logged and the caller runs it again on the read pool).
pub fn execute_in_memory(
    view: &crate::engine::CachedRead<'_>,
    hub: &Hub,
    db: u8,
    cmd: &ArchivedCommand,
) -> Option<Outcome> {
    let result = check_db(db).and_then(|at| {
        read_command(view, hub, at, cmd).unwrap_or_else(|| {
            Err(StorageError::Internal(
                "write command sent to the read path".to_owned(),
            ))
        })
    });
    if view.missed() {
        return None;
    }
    Some(into_outcome(result))
}

/// Most keys or elements a read may name and still run on the socket thread.
const LIGHT_READ_MAX: usize = 256;

/// True for a read that costs about as much as a few point lookups (GET, HGET, MGET of a
/// few keys, LRANGE of a short window …): such a read may run on the socket thread from
/// memory instead of paying a hop to the read pool. Scans, set algebra and whole-collection
/// reads are never light, whatever their size turns out to be.
pub fn is_light_read(cmd: &ArchivedCommand) -> bool {
    use ArchivedCommand as C;
    match cmd {
        C::Get { .. }
        | C::StrLen { .. }
        | C::Type { .. }
        | C::Ttl { .. }
        | C::ExpireTime { .. }
        | C::SCard { .. }
        | C::SIsMember { .. }
        | C::HGet { .. }
        | C::HLen { .. }
        | C::HStrLen { .. }
        | C::HExists { .. }
        | C::ZCard { .. }
        | C::ZScore { .. }
        | C::LLen { .. }
        | C::LIndex { .. }
        | C::DbSize => true,
        C::MGet { keys } | C::Exists { keys } => keys.len() <= LIGHT_READ_MAX,
        C::HMGet { fields, .. } => fields.len() <= LIGHT_READ_MAX,
        C::LRange { start, stop, .. } => {
            let (start, stop) = (start.to_native(), stop.to_native());
            start >= 0 && stop >= start && stop - start < LIGHT_READ_MAX as i64
        }
        _ => false,
    }
}

pub use crate::engine::group::{Touched, WriteGroup, Writer};

/// Runs any command in `group`, seeing committed state plus the group's earlier writes,
/// and records its keyspace events when the group records any; `hub` serves the pub/sub
/// commands.
pub fn execute_write(
    group: &mut WriteGroup<'_>,
    hub: &Hub,
    db: u8,
    cmd: &ArchivedCommand,
) -> Outcome {
    let at = check_db(db);
    if let Ok(at) = &at {
        group.with_notes(|notes, _| notes.begin(at.now_ms));
    }
    let outcome = into_outcome(at.and_then(|at| write_command(group, hub, at, cmd)));
    group.with_notes(|notes, group| notes.end_command(db, cmd, &outcome, group));
    outcome
}

fn check_db(db: u8) -> Result<At, StorageError> {
    if db < DB_COUNT {
        Ok(At {
            db,
            now_ms: now_ms(),
        })
    } else {
        Err(StorageError::DbOutOfRange)
    }
}

fn into_outcome(r: CmdResult) -> Outcome {
    match r {
        Ok(reply) => Outcome::Ok(reply),
        Err(e) => {
            if let StorageError::Internal(msg) = &e {
                tracing::error!(error = %msg, "storage failure while executing a command");
            }
            Outcome::Err(e)
        }
    }
}

/// Read-only commands; `None` for a command that writes.
fn read_command<S: EngineView + ?Sized>(
    s: &S,
    hub: &Hub,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    if let Some(r) = zset::read(s, at, cmd) {
        return Some(r);
    }
    if let Some(r) = list::read(s, at, cmd) {
        return Some(r);
    }
    Some(match cmd {
        C::Get { key } => string::get(s, at, key),
        C::MGet { keys } => string::mget(s, at, keys.iter().map(|k| k.as_slice())),
        C::StrLen { key } => string::strlen(s, at, key),
        C::GetRange { key, start, end } => {
            string::getrange(s, at, key, start.to_native(), end.to_native())
        }
        C::Lcs { key1, key2, mode } => string::lcs(s, at, key1, key2, lcs_mode(mode)),
        C::Exists { keys } | C::Touch { keys } => {
            keyspace::exists(s, at, keys.iter().map(|k| k.as_slice()))
        }
        C::Type { key } => keyspace::key_type(s, at, key),
        C::MemoryUsage { key, samples } => memory::usage(s, at, key, samples.to_native()),
        C::Ttl { key, unit } => keyspace::ttl(s, at, key, time_unit(unit)),
        C::ExpireTime { key, unit } => keyspace::expire_time(s, at, key, time_unit(unit)),
        C::Keys { pattern } => keyspace::keys(s, at, pattern),
        C::Scan {
            cursor,
            pattern,
            count,
            kind,
        } => {
            let opts = ScanOptions {
                pattern: pattern.as_ref().map(|p| p.as_slice()),
                count: count.to_native(),
                kind: scan_filter(kind),
            };
            keyspace::scan(s, at, cursor.to_native(), opts)
        }
        C::RandomKey => keyspace::random_key(s, at),
        C::DbSize => keyspace::dbsize(s, at),
        C::Publish { channel, message } => Ok(Reply::Integer(hub.publish(channel, message))),
        C::PubSubChannels { pattern } => Ok(Reply::Array(
            hub.channels(pattern.as_ref().map(|p| p.as_slice()))
                .into_iter()
                .map(Reply::Bulk)
                .collect(),
        )),
        C::PubSubNumSub { channels } => Ok(Reply::Array(
            channels
                .iter()
                .flat_map(|c| [Reply::Bulk(c.to_vec()), Reply::Integer(hub.numsub(c))])
                .collect(),
        )),
        C::PubSubNumPat => Ok(Reply::Integer(hub.numpat())),
        C::SetNotifyKeyspaceEvents { flags } => match Flags::parse(flags.as_bytes()) {
            Some(f) => {
                hub.set_event_flags(f);
                Ok(Reply::ok())
            }
            None => Err(StorageError::Internal(
                "invalid notify-keyspace-events flags".to_owned(),
            )),
        },
        C::GetNotifyKeyspaceEvents => Ok(Reply::Bulk(hub.event_flags().to_string().into_bytes())),
        C::Info => Ok(Reply::Bulk(
            info_with(s.engine(), &s.counts(), hub).into_bytes(),
        )),
        C::Checkpoint { dir } => {
            use std::os::unix::ffi::OsStrExt;
            let path = std::path::Path::new(std::ffi::OsStr::from_bytes(dir));
            s.engine()
                .checkpoint(path)
                .map(|()| Reply::Bulk(dir.to_vec()))
                .map_err(|e| StorageError::Internal(e.to_string()))
        }
        // ---- hashes ----
        C::HGet { key, field } => hash::hget(s, at, key, field),
        C::HMGet { key, fields } => hash::hmget(s, at, key, fields.iter().map(|f| f.as_slice())),
        C::HLen { key } => hash::hlen(s, at, key),
        C::HStrLen { key, field } => hash::hstrlen(s, at, key, field),
        C::HExists { key, field } => hash::hexists(s, at, key, field),
        C::HGetAll { key } => hash::hgetall(s, at, key, HashPart::Both),
        C::HKeys { key } => hash::hgetall(s, at, key, HashPart::Fields),
        C::HVals { key } => hash::hgetall(s, at, key, HashPart::Values),
        C::HScan {
            key,
            cursor,
            pattern,
            count,
            invalid,
        } => {
            let opts = MemberScanOptions::from_archived(
                pattern.as_ref(),
                count.to_native(),
                invalid.as_ref(),
            );
            hash::hscan(s, at, key, cursor.to_native(), opts)
        }
        C::HRandField {
            key,
            count,
            with_values,
        } => hash::hrandfield(
            s,
            at,
            key,
            count.as_ref().map(|c| c.to_native()),
            *with_values,
        ),
        // ---- sets ----
        C::SCard { key } => set::scard(s, at, key),
        C::SIsMember { key, member } => set::sismember(s, at, key, member),
        C::SMIsMember { key, members } => {
            set::smismember(s, at, key, members.iter().map(|m| m.as_slice()))
        }
        C::SMembers { key } => set::smembers(s, at, key),
        C::SRandMember { key } => set::srandmember(s, at, key, None),
        C::SRandMemberCount { key, count } => set::srandmember(s, at, key, Some(count.to_native())),
        C::SInter { keys } => set::algebra(s, at, SetOp::Inter, &key_slices(keys)),
        C::SUnion { keys } => set::algebra(s, at, SetOp::Union, &key_slices(keys)),
        C::SDiff { keys } => set::algebra(s, at, SetOp::Diff, &key_slices(keys)),
        C::SInterCard { keys, limit } => {
            set::sintercard(s, at, &key_slices(keys), limit.to_native())
        }
        C::SScan {
            key,
            cursor,
            pattern,
            count,
            invalid,
        } => {
            let opts = MemberScanOptions::from_archived(
                pattern.as_ref(),
                count.to_native(),
                invalid.as_ref(),
            );
            set::sscan(s, at, key, cursor.to_native(), opts)
        }
        _ => return None,
    })
}

/// Any command, inside a write group.
fn write_command(w: &mut WriteGroup<'_>, hub: &Hub, at: At, cmd: &ArchivedCommand) -> CmdResult {
    use ArchivedCommand as C;
    if let Some(r) = zset::write(w, at, cmd) {
        return r;
    }
    if let Some(r) = list::write(w, at, cmd) {
        return r;
    }
    match cmd {
        C::Set {
            key,
            value,
            condition,
            expiry,
            get,
        } => {
            let opts = SetOptions {
                condition: set_condition(condition),
                expiry: set_expiry(expiry),
                get: *get,
            };
            string::set(w, at, key, value, opts)
        }
        C::SetNx { key, value } => string::setnx(w, at, key, value),
        C::MSet { pairs } => string::mset(
            w,
            at,
            pairs.iter().map(|p| (p.0.as_slice(), p.1.as_slice())),
        ),
        C::MSetNx { pairs } => string::msetnx(
            w,
            at,
            pairs.iter().map(|p| (p.0.as_slice(), p.1.as_slice())),
        ),
        C::GetDel { key } => string::getdel(w, at, key),
        C::GetEx { key, expiry } => string::getex(w, at, key, getex_expiry(expiry)),
        C::Append { key, value } => string::append(w, at, key, value),
        C::SetRange { key, offset, value } => {
            string::setrange(w, at, key, offset.to_native(), value)
        }
        C::IncrBy { key, delta } => string::incr_by(w, at, key, delta.to_native()),
        C::IncrByFloat { key, delta } => string::incr_by_float_text(w, at, key, delta.as_slice()),
        C::Del { keys } => keyspace::del(w, at, keys.iter().map(|k| k.as_slice())),
        C::Expire {
            key,
            at_ms,
            condition,
        } => keyspace::expire(w, at, key, at_ms.to_native(), expire_condition(condition)),
        C::Persist { key } => keyspace::persist(w, at, key),
        C::Rename { src, dst } => keyspace::rename(w, at, src, dst, RenameMode::Overwrite),
        C::RenameNx { src, dst } => keyspace::rename(w, at, src, dst, RenameMode::IfAbsent),
        C::Copy { src, dst, target } => keyspace::copy(w, at, src, dst, target.db, target.replace),
        C::Move { key, db } => keyspace::move_key(w, at, key, *db),
        C::FlushDb => keyspace::flush(w, at, FlushScope::Db),
        C::FlushAll => keyspace::flush(w, at, FlushScope::All),
        // ---- hashes ----
        C::HSet { key, pairs } => hash::hset(
            w,
            at,
            key,
            pairs.iter().map(|p| (p.0.as_slice(), p.1.as_slice())),
        ),
        C::HMSet { key, pairs } => hash::hset(
            w,
            at,
            key,
            pairs.iter().map(|p| (p.0.as_slice(), p.1.as_slice())),
        )
        .map(|_| Reply::ok()),
        C::HSetNx { key, field, value } => hash::hsetnx(w, at, key, field, value),
        C::HDel { key, fields } => hash::hdel(w, at, key, fields.iter().map(|f| f.as_slice())),
        C::HIncrBy { key, field, delta } => hash::hincrby(w, at, key, field, delta.to_native()),
        C::HIncrByFloat { key, field, delta } => hash::hincrbyfloat(w, at, key, field, delta),
        // ---- sets ----
        C::SAdd { key, members } => set::sadd(w, at, key, members.iter().map(|m| m.as_slice())),
        C::SRem { key, members } => set::srem(w, at, key, members.iter().map(|m| m.as_slice())),
        C::SPop { key } => set::spop(w, at, key, None),
        C::SPopCount { key, count } => set::spop(w, at, key, Some(count.to_native())),
        C::SMove { src, dst, member } => set::smove(w, at, src, dst, member),
        C::SInterStore { dst, keys } => set::store(w, at, SetOp::Inter, dst, &key_slices(keys)),
        C::SUnionStore { dst, keys } => set::store(w, at, SetOp::Union, dst, &key_slices(keys)),
        C::SDiffStore { dst, keys } => set::store(w, at, SetOp::Diff, dst, &key_slices(keys)),
        // Parking when every key is empty is the writer's (`writer::parked`); here, as
        // inside EXEC, it is the non-blocking form.
        C::BlockingPop { op, keys, .. } => pop::pop(w, at, pop_op(op), &key_slices(keys)),
        other => read_command(&*w, hub, at, other).unwrap_or_else(|| {
            Err(StorageError::Internal(
                "command has no storage implementation".to_owned(),
            ))
        }),
    }
}

/// The native form of an archived blocking pop.
pub fn pop_op(op: &ArchivedBlockingOp) -> PopOp<'_> {
    let list_end = |e: &ArchivedListEnd| match e {
        ArchivedListEnd::Left => ListEnd::Left,
        ArchivedListEnd::Right => ListEnd::Right,
    };
    let z_end = |e: &ArchivedZEnd| match e {
        ArchivedZEnd::Min => ZEnd::Min,
        ArchivedZEnd::Max => ZEnd::Max,
    };
    match op {
        ArchivedBlockingOp::List { end } => PopOp::List { end: list_end(end) },
        ArchivedBlockingOp::ListMulti { end, count } => PopOp::ListMulti {
            end: list_end(end),
            count: count.to_native(),
        },
        ArchivedBlockingOp::Move { dst, from, to } => PopOp::Move {
            dst: dst.as_slice(),
            from: list_end(from),
            to: list_end(to),
        },
        ArchivedBlockingOp::ZSet { end } => PopOp::ZSet { end: z_end(end) },
        ArchivedBlockingOp::ZSetMulti { end, count } => PopOp::ZSetMulti {
            end: z_end(end),
            count: count.to_native(),
        },
    }
}

fn set_condition(c: &ArchivedSetCondition) -> SetCondition {
    match c {
        ArchivedSetCondition::Always => SetCondition::Always,
        ArchivedSetCondition::IfAbsent => SetCondition::IfAbsent,
        ArchivedSetCondition::IfPresent => SetCondition::IfPresent,
    }
}

fn set_expiry(e: &ArchivedSetExpiry) -> SetExpiry {
    match e {
        ArchivedSetExpiry::Clear => SetExpiry::Clear,
        ArchivedSetExpiry::Keep => SetExpiry::Keep,
        ArchivedSetExpiry::At(t) => SetExpiry::At(t.to_native()),
    }
}

fn getex_expiry(e: &ArchivedGetExExpiry) -> GetExExpiry {
    match e {
        ArchivedGetExExpiry::Unchanged => GetExExpiry::Unchanged,
        ArchivedGetExExpiry::Persist => GetExExpiry::Persist,
        ArchivedGetExExpiry::At(t) => GetExExpiry::At(t.to_native()),
    }
}

fn expire_condition(c: &ArchivedExpireCondition) -> ExpireCondition {
    match c {
        ArchivedExpireCondition::Always => ExpireCondition::Always,
        ArchivedExpireCondition::Nx => ExpireCondition::Nx,
        ArchivedExpireCondition::Xx => ExpireCondition::Xx,
        ArchivedExpireCondition::Gt => ExpireCondition::Gt,
        ArchivedExpireCondition::Lt => ExpireCondition::Lt,
        ArchivedExpireCondition::XxLt => ExpireCondition::XxLt,
    }
}

fn scan_filter(t: &ArchivedScanType) -> ScanFilter {
    match t {
        ArchivedScanType::Any => ScanFilter::Any,
        ArchivedScanType::String => ScanFilter::Only(KeyType::String),
        ArchivedScanType::Hash => ScanFilter::Only(KeyType::Hash),
        ArchivedScanType::List => ScanFilter::Only(KeyType::List),
        ArchivedScanType::Set => ScanFilter::Only(KeyType::Set),
        ArchivedScanType::ZSet => ScanFilter::Only(KeyType::ZSet),
        ArchivedScanType::Other => ScanFilter::Nothing,
    }
}

fn time_unit(u: &ArchivedTimeUnit) -> TimeUnit {
    match u {
        ArchivedTimeUnit::Seconds => TimeUnit::Seconds,
        ArchivedTimeUnit::Milliseconds => TimeUnit::Milliseconds,
    }
}

fn lcs_mode(m: &ArchivedLcsMode) -> LcsMode {
    match m {
        ArchivedLcsMode::String => LcsMode::String,
        ArchivedLcsMode::Length => LcsMode::Length,
        ArchivedLcsMode::Indexes {
            min_match_len,
            with_match_len,
        } => LcsMode::Indexes {
            min_match_len: min_match_len.to_native(),
            with_match_len: *with_match_len,
        },
    }
}

/// storaged's INFO sections, CRLF-separated as Redis prints them: `# Stats` (storage-side
/// fields only), `# Storage` (RocksDB properties) and `# Keyspace` (non-empty dbs).
pub fn info(engine: &Engine, hub: &Hub) -> String {
    info_with(engine, &engine.counts(), hub)
}

fn info_with(engine: &Engine, counts: &Counts, hub: &Hub) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let stats = engine.stats();
    let mut out = String::new();
    out.push_str("# Stats\r\n");
    let _ = write!(out, "expired_keys:{}\r\n", stats.expired_keys.load(Relaxed));
    let _ = write!(
        out,
        "keyspace_hits:{}\r\n",
        stats.keyspace_hits.load(Relaxed)
    );
    let _ = write!(
        out,
        "keyspace_misses:{}\r\n",
        stats.keyspace_misses.load(Relaxed)
    );
    let _ = write!(
        out,
        "pubsub_channels:{}\r\npubsub_patterns:{}\r\npubsub_messages_routed:{}\r\npubsub_links_cut:{}\r\n",
        hub.channels(None).len(),
        hub.numpat(),
        hub.delivered.load(Relaxed),
        hub.links_cut.load(Relaxed)
    );
    // The proxy prints these in its own CPU section, after its own lines.
    out.push_str("\r\n# CPU\r\n");
    out.push_str(&tandem_service::process::cpu_usage().info_lines("storaged_"));
    out.push_str("\r\n# Storage\r\n");
    let _ = write!(out, "storage_engine:rocksdb\r\n");
    let _ = write!(out, "fsync:{}\r\n", engine.fsync_policy());
    let _ = write!(
        out,
        "requests_replayed:{}\r\nrequests_refused_stale:{}\r\nblocked_requests:{}\r\n",
        stats.requests_replayed.load(Relaxed),
        stats.requests_refused_stale.load(Relaxed),
        stats.blocked_requests.load(Relaxed)
    );
    for (name, value) in engine.storage_properties() {
        let _ = write!(out, "{name}:{value}\r\n");
    }
    out.push_str("\r\n# Keyspace\r\n");
    for db in 0..usize::from(DB_COUNT) {
        if counts.keys[db] > 0 {
            let _ = write!(
                out,
                "db{db}:keys={},expires={},avg_ttl=0\r\n",
                counts.keys[db], counts.expires[db]
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::keys;
    use crate::engine::metadata::Record;
    use crate::engine::{Cf, EngineOptions, StoreRead, StoreWrite};
    use std::time::{Duration, Instant};
    use tandem_commands::CommandFacts;
    use tandem_shared::{Command, CopyTarget, ScanType};

    struct Harness {
        dir: tempfile::TempDir,
        engine: Option<Engine>,
        writer: Option<Writer>,
    }

    /// Runs `cmd` in `g` the way the writer does, with a hub nobody subscribes to.
    fn exec(g: &mut WriteGroup<'_>, db: u8, cmd: &ArchivedCommand) -> Outcome {
        execute_write(g, &Hub::default(), db, cmd)
    }

    /// Runs a read on committed state, with a hub nobody subscribes to.
    fn read(engine: &Engine, db: u8, cmd: &ArchivedCommand) -> Outcome {
        execute_read(engine, &Hub::default(), db, cmd)
    }

    fn archive(cmd: &Command) -> rkyv::util::AlignedVec {
        rkyv::to_bytes::<rkyv::rancor::Error>(cmd).unwrap()
    }

    impl Harness {
        /// One expiry sweep step in its own committed group, as the writer runs it.
        fn reclaim(&mut self, budget: usize) -> usize {
            let mut g = self.writer.as_mut().unwrap().begin();
            let n = g.reclaim_expired(budget);
            g.commit().unwrap();
            n
        }

        fn new() -> Harness {
            let dir = tempfile::tempdir().unwrap();
            let engine = Engine::open(dir.path(), &small_options()).unwrap();
            Harness {
                dir,
                writer: Some(Writer::new(engine.clone())),
                engine: Some(engine),
            }
        }

        fn engine(&self) -> &Engine {
            self.engine.as_ref().unwrap()
        }

        fn reopen(&mut self) {
            self.writer = None;
            self.engine = None;
            let engine = Engine::open(self.dir.path(), &small_options()).unwrap();
            self.writer = Some(Writer::new(engine.clone()));
            self.engine = Some(engine);
        }

        /// Runs one command the way the server routes it.
        fn run_in(&mut self, db: u8, cmd: Command) -> Outcome {
            let bytes = archive(&cmd);
            let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap();
            if a.is_write() {
                let mut g = self.writer.as_mut().unwrap().begin();
                let out = exec(&mut g, db, a);
                g.commit().unwrap();
                out
            } else {
                read(self.engine(), db, a)
            }
        }

        fn run(&mut self, cmd: Command) -> Outcome {
            self.run_in(0, cmd)
        }

        fn ok(&mut self, cmd: Command) -> Reply {
            match self.run(cmd.clone()) {
                Outcome::Ok(r) => r,
                Outcome::Err(e) => panic!("{cmd:?} failed: {e}"),
            }
        }

        fn err(&mut self, cmd: Command) -> StorageError {
            match self.run(cmd.clone()) {
                Outcome::Err(e) => e,
                Outcome::Ok(r) => panic!("{cmd:?} replied {r:?}"),
            }
        }

        /// Writes a record of a non-string type with sub-keys, as a future hash would.
        fn put_hash(&mut self, db: u8, key: &[u8], fields: &[(&[u8], &[u8])]) -> u64 {
            let mut g = self.writer.as_mut().unwrap().begin();
            let version = g.new_version();
            let rec = Record {
                kind: KeyType::Hash,
                flags: 0,
                expire_at_ms: 0,
                version,
                size: fields.len() as u64,
                payload: Vec::new(),
            };
            let old = crate::types::raw_record(&g, db, key).unwrap();
            crate::types::store_record(&mut g, db, key, old.as_ref(), &rec);
            for (f, v) in fields {
                g.put(Cf::Sub, keys::sub_key(db, key, version, f), v.to_vec());
            }
            g.commit().unwrap();
            version
        }

        fn sub_keys(&self, db: u8, key: &[u8], version: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
            let prefix = keys::sub_prefix(db, key, version);
            let end = keys::prefix_end(&prefix).unwrap();
            let mut out = Vec::new();
            self.engine()
                .scan(Cf::Sub, &prefix, &end, &mut |k, v| {
                    out.push((k[prefix.len()..].to_vec(), v.to_vec()));
                    true
                })
                .unwrap();
            out
        }
    }

    fn small_options() -> EngineOptions {
        EngineOptions {
            block_cache_bytes: 8 << 20,
            write_buffer_bytes: 4 << 20,
            ..Default::default()
        }
    }

    fn k(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    fn bulk(s: &str) -> Reply {
        Reply::bulk(s)
    }

    fn int(i: i64) -> Reply {
        Reply::Integer(i)
    }

    fn set(key: &str, value: &str) -> Command {
        Command::Set {
            key: k(key),
            value: k(value),
            condition: SetCondition::Always,
            expiry: SetExpiry::Clear,
            get: false,
        }
    }

    /// SET with an absolute expiry in milliseconds.
    fn set_at(key: &str, value: &str, at_ms: i64) -> Command {
        Command::Set {
            key: k(key),
            value: k(value),
            condition: SetCondition::Always,
            expiry: SetExpiry::At(at_ms),
            get: false,
        }
    }

    /// Sleeps until the wall clock is past `at_ms`.
    fn wait_past(at_ms: i64) {
        while now() <= at_ms {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn get(key: &str) -> Command {
        Command::Get { key: k(key) }
    }

    fn now() -> i64 {
        now_ms() as i64
    }

    fn ttl(key: &str, unit: TimeUnit) -> Command {
        Command::Ttl { key: k(key), unit }
    }

    fn expire(key: &str, at_ms: i64, condition: ExpireCondition) -> Command {
        Command::Expire {
            key: k(key),
            at_ms,
            condition,
        }
    }

    fn dbsize(h: &mut Harness) -> i64 {
        match h.ok(Command::DbSize) {
            Reply::Integer(n) => n,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn set_get_and_conditions() {
        let mut h = Harness::new();
        assert_eq!(h.ok(get("a")), Reply::Nil);
        assert_eq!(h.ok(set("a", "1")), Reply::ok());
        assert_eq!(h.ok(get("a")), bulk("1"));
        let cond = |c, key: &str, v: &str, get| Command::Set {
            key: k(key),
            value: k(v),
            condition: c,
            expiry: SetExpiry::Clear,
            get,
        };
        assert_eq!(
            h.ok(cond(SetCondition::IfAbsent, "a", "2", false)),
            Reply::Nil
        );
        assert_eq!(
            h.ok(cond(SetCondition::IfPresent, "b", "2", false)),
            Reply::Nil
        );
        assert_eq!(h.ok(get("b")), Reply::Nil);
        assert_eq!(
            h.ok(cond(SetCondition::IfPresent, "a", "3", false)),
            Reply::ok()
        );
        assert_eq!(h.ok(cond(SetCondition::Always, "a", "4", true)), bulk("3"));
        assert_eq!(
            h.ok(cond(SetCondition::IfAbsent, "a", "5", true)),
            bulk("4")
        );
        assert_eq!(
            h.ok(cond(SetCondition::IfAbsent, "n", "5", true)),
            Reply::Nil
        );
        assert_eq!(h.ok(get("n")), bulk("5"));
        assert_eq!(
            h.ok(Command::SetNx {
                key: k("n"),
                value: k("6")
            }),
            int(0)
        );
        assert_eq!(
            h.ok(Command::SetNx {
                key: k("m"),
                value: k("6")
            }),
            int(1)
        );
        // GET on a non-string: WRONGTYPE and no write.
        h.put_hash(0, b"h", &[(b"f", b"v")]);
        assert_eq!(
            h.err(cond(SetCondition::Always, "h", "x", true)),
            StorageError::WrongType
        );
        assert_eq!(
            h.ok(Command::Type { key: k("h") }),
            Reply::Simple("hash".into())
        );
        assert_eq!(h.err(get("h")), StorageError::WrongType);
        // Plain SET overwrites any type.
        assert_eq!(h.ok(set("h", "s")), Reply::ok());
        assert_eq!(
            h.ok(Command::Type { key: k("h") }),
            Reply::Simple("string".into())
        );
    }

    #[test]
    fn set_expiry_forms() {
        let mut h = Harness::new();
        let with = |key: &str, v: &str, expiry, get| Command::Set {
            key: k(key),
            value: k(v),
            condition: SetCondition::Always,
            expiry,
            get,
        };
        h.ok(with("a", "1", SetExpiry::At(now() + 100_000), false));
        let Reply::Integer(t) = h.ok(ttl("a", TimeUnit::Seconds)) else {
            panic!()
        };
        assert_eq!(t, 100);
        h.ok(with("a", "2", SetExpiry::Keep, false));
        assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(100));
        h.ok(set("a", "3"));
        assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(-1));
        // An expiry in the past replies as if set, and leaves no key.
        assert_eq!(h.ok(with("a", "4", SetExpiry::At(1), true)), bulk("3"));
        assert_eq!(h.ok(get("a")), Reply::Nil);
        assert_eq!(h.ok(with("b", "4", SetExpiry::At(1), false)), Reply::ok());
        assert_eq!(
            h.ok(Command::Exists {
                keys: vec![k("a"), k("b")]
            }),
            int(0)
        );
        assert_eq!(dbsize(&mut h), 0);
    }

    #[test]
    fn mset_mget_msetnx_getdel_getex() {
        let mut h = Harness::new();
        h.ok(Command::MSet {
            pairs: vec![(k("a"), k("1")), (k("b"), k("2"))],
        });
        h.put_hash(0, b"h", &[]);
        assert_eq!(
            h.ok(Command::MGet {
                keys: vec![k("a"), k("x"), k("b"), k("h")]
            }),
            Reply::Array(vec![bulk("1"), Reply::Nil, bulk("2"), Reply::Nil])
        );
        assert_eq!(
            h.ok(Command::MSetNx {
                pairs: vec![(k("c"), k("3")), (k("a"), k("9"))]
            }),
            int(0)
        );
        assert_eq!(h.ok(get("c")), Reply::Nil);
        assert_eq!(
            h.ok(Command::MSetNx {
                pairs: vec![(k("c"), k("3")), (k("d"), k("4"))]
            }),
            int(1)
        );
        assert_eq!(h.ok(get("d")), bulk("4"));
        assert_eq!(h.ok(Command::GetDel { key: k("d") }), bulk("4"));
        assert_eq!(h.ok(Command::GetDel { key: k("d") }), Reply::Nil);
        assert_eq!(
            h.err(Command::GetDel { key: k("h") }),
            StorageError::WrongType
        );
        let getex = |key: &str, expiry| Command::GetEx {
            key: k(key),
            expiry,
        };
        assert_eq!(h.ok(getex("a", GetExExpiry::At(now() + 5_000))), bulk("1"));
        assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(5));
        assert_eq!(h.ok(getex("a", GetExExpiry::Persist)), bulk("1"));
        assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(-1));
        assert_eq!(h.ok(getex("a", GetExExpiry::Unchanged)), bulk("1"));
        assert_eq!(h.ok(getex("a", GetExExpiry::At(1))), bulk("1"));
        assert_eq!(h.ok(get("a")), Reply::Nil);
        assert_eq!(h.ok(getex("zz", GetExExpiry::Persist)), Reply::Nil);
        assert_eq!(
            h.err(getex("h", GetExExpiry::Persist)),
            StorageError::WrongType
        );
    }

    #[test]
    fn append_setrange_getrange_strlen() {
        let mut h = Harness::new();
        assert_eq!(
            h.ok(Command::Append {
                key: k("a"),
                value: k("Hello")
            }),
            int(5)
        );
        assert_eq!(
            h.ok(Command::Append {
                key: k("a"),
                value: k(" World")
            }),
            int(11)
        );
        assert_eq!(h.ok(Command::StrLen { key: k("a") }), int(11));
        assert_eq!(h.ok(Command::StrLen { key: k("nope") }), int(0));
        let gr = |s, e| Command::GetRange {
            key: k("a"),
            start: s,
            end: e,
        };
        assert_eq!(h.ok(gr(0, -1)), bulk("Hello World"));
        assert_eq!(h.ok(gr(-3, -1)), bulk("rld"));
        assert_eq!(h.ok(gr(-100, -50)), bulk("H"));
        assert_eq!(
            h.ok(Command::GetRange {
                key: k("nope"),
                start: 0,
                end: 1
            }),
            bulk("")
        );
        let sr = |key: &str, offset, v: &str| Command::SetRange {
            key: k(key),
            offset,
            value: k(v),
        };
        assert_eq!(h.ok(sr("a", 6, "Redis")), int(11));
        assert_eq!(h.ok(get("a")), bulk("Hello Redis"));
        assert_eq!(h.ok(sr("z", 3, "x")), int(4));
        assert_eq!(h.ok(get("z")), Reply::Bulk(vec![0, 0, 0, b'x']));
        assert_eq!(h.ok(sr("empty", 5, "")), int(0));
        assert_eq!(
            h.ok(Command::Exists {
                keys: vec![k("empty")]
            }),
            int(0)
        );
        assert_eq!(h.ok(sr("a", 100, "")), int(11));
        assert_eq!(
            h.err(sr("a", MAX_STRING_LEN_FOR_TEST, "x")),
            StorageError::StringTooLong
        );
        // APPEND keeps the TTL.
        h.ok(expire("a", now() + 50_000, ExpireCondition::Always));
        h.ok(Command::Append {
            key: k("a"),
            value: k("!"),
        });
        assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(50));
        h.put_hash(0, b"h", &[]);
        assert_eq!(
            h.err(Command::Append {
                key: k("h"),
                value: k("x")
            }),
            StorageError::WrongType
        );
        assert_eq!(h.err(sr("h", 0, "x")), StorageError::WrongType);
        assert_eq!(
            h.err(Command::StrLen { key: k("h") }),
            StorageError::WrongType
        );
    }

    const MAX_STRING_LEN_FOR_TEST: u64 = crate::types::MAX_STRING_LEN;

    #[test]
    fn incr_family() {
        let mut h = Harness::new();
        let incr = |key: &str, delta| Command::IncrBy { key: k(key), delta };
        assert_eq!(h.ok(incr("n", 1)), int(1));
        assert_eq!(h.ok(incr("n", -11)), int(-10));
        assert_eq!(h.ok(get("n")), bulk("-10"));
        h.ok(set("big", &i64::MAX.to_string()));
        assert_eq!(h.err(incr("big", 1)), StorageError::Overflow);
        for bad in [" 1", "1 ", "01", "abc", "", "1.5"] {
            h.ok(set("bad", bad));
            assert_eq!(h.err(incr("bad", 1)), StorageError::NotInteger, "{bad:?}");
        }
        h.put_hash(0, b"h", &[]);
        assert_eq!(h.err(incr("h", 1)), StorageError::WrongType);
        let incrf = |key: &str, delta: f64| Command::IncrByFloat {
            key: k(key),
            delta: delta.to_string().into_bytes(),
        };
        assert_eq!(h.ok(incrf("f", 1.0)), bulk("1"));
        assert_eq!(h.ok(incrf("f", 0.25)), bulk("1.25"));
        h.ok(set("f", "0.1"));
        assert_eq!(h.ok(incrf("f", 0.2)), bulk("0.3"));
        assert_eq!(h.ok(get("f")), bulk("0.3"));
        h.ok(set("f", "1"));
        assert_eq!(h.ok(incrf("f", -1.1)), bulk("-0.1"));
        h.ok(set("f", "1.5 "));
        assert_eq!(h.err(incrf("f", 1.0)), StorageError::NotFloat);
        h.ok(set("f", "inf"));
        assert_eq!(h.err(incrf("f", 1.0)), StorageError::NanOrInfinity);
        h.ok(set("f", "1"));
        assert_eq!(
            h.err(incrf("f", f64::INFINITY)),
            StorageError::NanOrInfinity
        );
        assert_eq!(h.err(incrf("h", 1.0)), StorageError::WrongType);
    }

    #[test]
    fn two_incrs_in_one_group_compose() {
        let mut h = Harness::new();
        let cmd = archive(&Command::IncrBy {
            key: k("n"),
            delta: 5,
        });
        let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&cmd).unwrap();
        let get_bytes = archive(&get("n"));
        let g_a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&get_bytes).unwrap();
        {
            let mut g = h.writer.as_mut().unwrap().begin();
            assert_eq!(exec(&mut g, 0, a), Outcome::Ok(int(5)));
            assert_eq!(exec(&mut g, 0, a), Outcome::Ok(int(10)));
            // Not visible to readers before commit.
            assert_eq!(
                read(h.engine.as_ref().unwrap(), 0, g_a),
                Outcome::Ok(Reply::Nil)
            );
            assert_eq!(exec(&mut g, 0, g_a), Outcome::Ok(bulk("10")));
            g.commit().unwrap();
        }
        assert_eq!(h.ok(get("n")), bulk("10"));
        assert_eq!(dbsize(&mut h), 1);
    }

    #[test]
    fn dropped_group_changes_nothing() {
        let mut h = Harness::new();
        {
            let bytes = archive(&set("a", "1"));
            let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap();
            let mut g = h.writer.as_mut().unwrap().begin();
            exec(&mut g, 0, a);
            // Dropped without commit, as when the server abandons a group.
        }
        assert_eq!(h.ok(get("a")), Reply::Nil);
        assert_eq!(dbsize(&mut h), 0);
    }

    #[test]
    fn del_exists_type_touch() {
        let mut h = Harness::new();
        h.ok(set("a", "1"));
        h.ok(set("b", "1"));
        assert_eq!(
            h.ok(Command::Exists {
                keys: vec![k("a"), k("a"), k("x")]
            }),
            int(2)
        );
        assert_eq!(
            h.ok(Command::Touch {
                keys: vec![k("a"), k("x")]
            }),
            int(1)
        );
        assert_eq!(
            h.ok(Command::Type { key: k("a") }),
            Reply::Simple("string".into())
        );
        assert_eq!(
            h.ok(Command::Type { key: k("x") }),
            Reply::Simple("none".into())
        );
        assert_eq!(
            h.ok(Command::Del {
                keys: vec![k("a"), k("a"), k("b"), k("x")]
            }),
            int(2)
        );
        assert_eq!(dbsize(&mut h), 0);
    }

    #[test]
    fn expire_conditions_ttl_and_persist() {
        let mut h = Harness::new();
        h.ok(set("a", "1"));
        assert_eq!(
            h.ok(expire("x", now() + 10_000, ExpireCondition::Always)),
            int(0)
        );
        // A persistent key has an infinite TTL for GT/LT.
        assert_eq!(
            h.ok(expire("a", now() + 100_000, ExpireCondition::Gt)),
            int(0)
        );
        assert_eq!(
            h.ok(expire("a", now() + 100_000, ExpireCondition::Xx)),
            int(0)
        );
        assert_eq!(
            h.ok(expire("a", now() + 100_000, ExpireCondition::Lt)),
            int(1)
        );
        assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(100));
        assert_eq!(
            h.ok(expire("a", now() + 50_000, ExpireCondition::Gt)),
            int(0)
        );
        assert_eq!(
            h.ok(expire("a", now() + 200_000, ExpireCondition::Gt)),
            int(1)
        );
        assert_eq!(
            h.ok(expire("a", now() + 300_000, ExpireCondition::Lt)),
            int(0)
        );
        assert_eq!(
            h.ok(expire("a", now() + 10_000, ExpireCondition::Nx)),
            int(0)
        );
        assert_eq!(
            h.ok(expire("a", now() + 10_000, ExpireCondition::Xx)),
            int(1)
        );
        let Reply::Integer(pttl) = h.ok(ttl("a", TimeUnit::Milliseconds)) else {
            panic!()
        };
        assert!(pttl > 9_000 && pttl <= 10_000, "{pttl}");
        let at = now() + 20_000;
        h.ok(expire("a", at, ExpireCondition::Always));
        assert_eq!(
            h.ok(Command::ExpireTime {
                key: k("a"),
                unit: TimeUnit::Milliseconds
            }),
            int(at)
        );
        assert_eq!(
            h.ok(Command::ExpireTime {
                key: k("a"),
                unit: TimeUnit::Seconds
            }),
            int((at + 500) / 1000)
        );
        assert_eq!(
            h.ok(Command::ExpireTime {
                key: k("x"),
                unit: TimeUnit::Seconds
            }),
            int(-2)
        );
        assert_eq!(h.ok(ttl("x", TimeUnit::Seconds)), int(-2));
        assert_eq!(h.engine().counts().expires[0], 1);
        assert_eq!(h.ok(Command::Persist { key: k("a") }), int(1));
        assert_eq!(h.ok(Command::Persist { key: k("a") }), int(0));
        assert_eq!(
            h.ok(Command::ExpireTime {
                key: k("a"),
                unit: TimeUnit::Seconds
            }),
            int(-1)
        );
        assert_eq!(h.engine().counts().expires[0], 0);
        // TTL rounds to the nearest second.
        h.ok(expire("a", now() + 1_600, ExpireCondition::Always));
        assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(2));
        // A time in the past deletes the key and replies 1.
        assert_eq!(
            h.ok(expire("a", now() - 1, ExpireCondition::Always)),
            int(1)
        );
        assert_eq!(h.ok(get("a")), Reply::Nil);
        assert_eq!(dbsize(&mut h), 0);
        let stats = h.engine().stats();
        assert_eq!(
            stats
                .expired_keys
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
    }

    #[test]
    fn expired_keys_are_invisible_then_reclaimed() {
        let mut h = Harness::new();
        h.ok(set("keep", "1"));
        let at = now() + 40;
        h.ok(set_at("gone", "v", at));
        assert_eq!(h.ok(get("gone")), bulk("v"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while h.ok(get("gone")) != Reply::Nil {
            assert!(Instant::now() < deadline, "key never expired");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(h.ok(ttl("gone", TimeUnit::Milliseconds)), int(-2));
        assert_eq!(
            h.ok(Command::Keys { pattern: k("*") }),
            Reply::Array(vec![bulk("keep")])
        );
        // DBSIZE counts it until reclaimed, as Redis does.
        assert_eq!(dbsize(&mut h), 2);
        assert_eq!(h.reclaim(10), 1);
        assert_eq!(dbsize(&mut h), 1);
        assert_eq!(h.engine().counts().expires[0], 0);
        let stats = h.engine().stats();
        assert_eq!(
            stats
                .expired_keys
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
        assert_eq!(h.reclaim(10), 0);
    }

    #[test]
    fn reclaim_is_round_robin_and_bounded() {
        let mut h = Harness::new();
        let soon = now() + 30;
        for i in 0..50 {
            h.run_in((i % 3) as u8, set_at(&format!("k{i:03}"), "v", soon));
        }
        wait_past(soon);
        let mut total = 0;
        for _ in 0..20 {
            let n = h.reclaim(7);
            assert!(n <= 7);
            total += n;
        }
        assert_eq!(total, 50);
        assert_eq!(h.engine().counts(), Counts::default());
    }

    #[test]
    fn reclaim_walks_only_databases_with_expiring_keys() {
        let mut h = Harness::new();
        // Many keys without an expiry in db 0: a walk of every database would spend its
        // whole per-call allowance (256 records for a budget of 7) there.
        for i in 0..600 {
            h.run_in(0, set(&format!("plain{i:04}"), "v"));
        }
        assert_eq!(h.reclaim(7), 0, "nothing expires anywhere: no walk");
        let soon = now() + 30;
        for i in 0..5 {
            h.run_in(5, set_at(&format!("t{i}"), "v", soon));
        }
        wait_past(soon);
        assert_eq!(h.reclaim(7), 5, "db 5 alone is walked");
        assert_eq!(h.engine().counts().keys[5], 0);
        assert_eq!(h.engine().counts().keys[0], 600);
    }

    #[test]
    fn write_meeting_expired_key_counts_it() {
        let mut h = Harness::new();
        let soon = now() + 20;
        h.ok(set_at("a", "1", soon));
        wait_past(soon);
        assert_eq!(
            h.ok(Command::IncrBy {
                key: k("a"),
                delta: 1
            }),
            int(1)
        );
        assert_eq!(h.ok(ttl("a", TimeUnit::Seconds)), int(-1));
        assert_eq!(dbsize(&mut h), 1);
        assert_eq!(h.engine().counts().expires[0], 0);
        let stats = h.engine().stats();
        assert_eq!(
            stats
                .expired_keys
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
    }

    #[test]
    fn rename_renamenx() {
        let mut h = Harness::new();
        let rn = |s: &str, d: &str| Command::Rename {
            src: k(s),
            dst: k(d),
        };
        let rnx = |s: &str, d: &str| Command::RenameNx {
            src: k(s),
            dst: k(d),
        };
        assert_eq!(h.err(rn("x", "y")), StorageError::NoSuchKey);
        assert_eq!(h.err(rn("x", "x")), StorageError::NoSuchKey);
        h.ok(set("a", "1"));
        h.ok(expire("a", now() + 100_000, ExpireCondition::Always));
        assert_eq!(h.ok(rn("a", "a")), Reply::ok());
        assert_eq!(h.ok(rnx("a", "a")), int(0));
        assert_eq!(h.ok(rn("a", "b")), Reply::ok());
        assert_eq!(h.ok(get("a")), Reply::Nil);
        assert_eq!(h.ok(get("b")), bulk("1"));
        assert_eq!(h.ok(ttl("b", TimeUnit::Seconds)), int(100));
        h.ok(set("c", "2"));
        assert_eq!(h.ok(rnx("b", "c")), int(0));
        assert_eq!(h.ok(rnx("b", "d")), int(1));
        assert_eq!(h.ok(rn("d", "c")), Reply::ok());
        assert_eq!(h.ok(get("c")), bulk("1"));
        assert_eq!(dbsize(&mut h), 1);
        assert_eq!(h.engine().counts().expires[0], 1);
        // A collection moves with its sub-keys under a fresh version.
        let v = h.put_hash(0, b"h", &[(b"f1", b"v1"), (b"f2", b"v2")]);
        assert_eq!(h.ok(rn("h", "h2")), Reply::ok());
        let rec = crate::types::raw_record(h.engine(), 0, b"h2")
            .unwrap()
            .unwrap();
        assert_ne!(rec.version, v);
        assert_eq!(
            h.sub_keys(0, b"h2", rec.version),
            vec![(k("f1"), k("v1")), (k("f2"), k("v2"))]
        );
    }

    #[test]
    fn copy_and_move() {
        let mut h = Harness::new();
        let cp = |s: &str, d: &str, db, replace| Command::Copy {
            src: k(s),
            dst: k(d),
            target: CopyTarget { db, replace },
        };
        h.ok(set("a", "1"));
        assert_eq!(h.err(cp("a", "a", 0, false)), StorageError::SameObject);
        assert_eq!(h.ok(cp("x", "y", 0, false)), int(0));
        assert_eq!(h.ok(cp("a", "b", 0, false)), int(1));
        assert_eq!(h.ok(get("b")), bulk("1"));
        h.ok(set("c", "3"));
        assert_eq!(h.ok(cp("a", "c", 0, false)), int(0));
        assert_eq!(h.ok(cp("a", "c", 0, true)), int(1));
        assert_eq!(h.ok(get("c")), bulk("1"));
        assert_eq!(h.ok(cp("a", "a", 5, false)), int(1));
        assert_eq!(h.run_in(5, get("a")), Outcome::Ok(bulk("1")));
        assert_eq!(h.err(cp("a", "a", 16, false)), StorageError::DbOutOfRange);
        let mv = |key: &str, db| Command::Move { key: k(key), db };
        assert_eq!(h.err(mv("a", 0)), StorageError::SameObject);
        assert_eq!(h.err(mv("nokey", 0)), StorageError::SameObject);
        assert_eq!(h.ok(mv("nokey", 1)), int(0));
        assert_eq!(h.ok(mv("a", 5)), int(0));
        assert_eq!(h.ok(mv("a", 1)), int(1));
        assert_eq!(h.ok(get("a")), Reply::Nil);
        assert_eq!(h.run_in(1, get("a")), Outcome::Ok(bulk("1")));
        let c = h.engine().counts();
        assert_eq!((c.keys[0], c.keys[1], c.keys[5]), (2, 1, 1));
    }

    #[test]
    fn keys_scan_randomkey() {
        let mut h = Harness::new();
        assert_eq!(h.ok(Command::RandomKey), Reply::Nil);
        for i in 0..30 {
            h.ok(set(&format!("user:{i:02}"), "x"));
        }
        h.ok(set("other", "x"));
        h.put_hash(0, b"user:hash", &[]);
        h.run_in(1, set("user:db1", "x"));
        let Reply::Array(ks) = h.ok(Command::Keys {
            pattern: k("user:1?"),
        }) else {
            panic!()
        };
        assert_eq!(ks.len(), 10);
        assert_eq!(ks[0], bulk("user:10"));
        let Reply::Array(all) = h.ok(Command::Keys { pattern: k("*") }) else {
            panic!()
        };
        assert_eq!(all.len(), 32);
        assert_eq!(
            h.ok(Command::Keys {
                pattern: k("oth[a-f]r")
            }),
            Reply::Array(vec![bulk("other")])
        );

        let scan_all = |h: &mut Harness, pattern: Option<&str>, kind: ScanType| {
            let mut cursor = 0u64;
            let mut seen = Vec::new();
            let mut calls = 0;
            loop {
                let reply = h.ok(Command::Scan {
                    cursor,
                    pattern: pattern.map(k),
                    count: 7,
                    kind: kind.clone(),
                });
                let Reply::Array(parts) = reply else { panic!() };
                let (Reply::Bulk(c), Reply::Array(keys)) = (&parts[0], &parts[1]) else {
                    panic!()
                };
                seen.extend(keys.iter().cloned());
                cursor = String::from_utf8(c.clone()).unwrap().parse().unwrap();
                calls += 1;
                if cursor == 0 {
                    break;
                }
            }
            (seen, calls)
        };
        let (seen, calls) = scan_all(&mut h, None, ScanType::Any);
        assert_eq!(seen.len(), 32);
        assert!(calls >= 5);
        let (seen, _) = scan_all(&mut h, Some("user:2*"), ScanType::Any);
        assert_eq!(seen.len(), 10);
        let (seen, _) = scan_all(&mut h, None, ScanType::Hash);
        assert_eq!(seen, vec![bulk("user:hash")]);
        let (seen, calls) = scan_all(&mut h, None, ScanType::Other);
        assert_eq!((seen.len(), calls), (0, 1));
        // An unknown cursor ends the scan rather than restarting it.
        assert_eq!(
            h.ok(Command::Scan {
                cursor: 12345,
                pattern: None,
                count: 10,
                kind: ScanType::Any
            }),
            Reply::Array(vec![bulk("0"), Reply::Array(vec![])])
        );
        for _ in 0..20 {
            let Reply::Bulk(key) = h.ok(Command::RandomKey) else {
                panic!()
            };
            assert!(key.starts_with(b"user:") || key == b"other");
        }
        assert_eq!(
            h.run_in(1, Command::RandomKey),
            Outcome::Ok(bulk("user:db1"))
        );
        assert_eq!(h.run_in(2, Command::RandomKey), Outcome::Ok(Reply::Nil));
    }

    #[test]
    fn flushdb_and_flushall() {
        let mut h = Harness::new();
        h.ok(set("a", "1"));
        h.run_in(3, set("b", "1"));
        let v = h.put_hash(0, b"h", &[(b"f", b"v")]);
        assert_eq!(h.ok(Command::FlushDb), Reply::ok());
        assert_eq!(dbsize(&mut h), 0);
        assert!(h.sub_keys(0, b"h", v).is_empty());
        assert_eq!(h.run_in(3, Command::DbSize), Outcome::Ok(int(1)));
        assert_eq!(h.ok(Command::FlushAll), Reply::ok());
        assert_eq!(h.run_in(3, Command::DbSize), Outcome::Ok(int(0)));
        assert_eq!(h.engine().counts(), Counts::default());
        // Writes after a flush in the same group survive it.
        let flush = archive(&Command::FlushDb);
        let put = archive(&set("after", "1"));
        let scan = archive(&Command::Keys { pattern: k("*") });
        let mut g = h.writer.as_mut().unwrap().begin();
        exec(
            &mut g,
            0,
            rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&put).unwrap(),
        );
        exec(
            &mut g,
            0,
            rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&flush).unwrap(),
        );
        exec(
            &mut g,
            0,
            rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&put).unwrap(),
        );
        let keys = exec(
            &mut g,
            0,
            rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&scan).unwrap(),
        );
        assert_eq!(keys, Outcome::Ok(Reply::Array(vec![bulk("after")])));
        g.commit().unwrap();
        assert_eq!(h.ok(get("after")), bulk("1"));
        assert_eq!(dbsize(&mut h), 1);
    }

    #[test]
    fn lcs_command() {
        let mut h = Harness::new();
        h.ok(set("key1", "ohmytext"));
        h.ok(set("key2", "mynewtext"));
        let lcs = |mode| Command::Lcs {
            key1: k("key1"),
            key2: k("key2"),
            mode,
        };
        assert_eq!(h.ok(lcs(LcsMode::String)), bulk("mytext"));
        assert_eq!(h.ok(lcs(LcsMode::Length)), int(6));
        assert_eq!(
            h.ok(Command::Lcs {
                key1: k("x"),
                key2: k("y"),
                mode: LcsMode::Indexes {
                    min_match_len: 0,
                    with_match_len: false
                }
            }),
            Reply::Map(vec![
                (bulk("matches"), Reply::Array(vec![])),
                (bulk("len"), int(0))
            ])
        );
        h.put_hash(0, b"h", &[]);
        assert_eq!(
            h.err(Command::Lcs {
                key1: k("key1"),
                key2: k("h"),
                mode: LcsMode::String
            }),
            StorageError::LcsNotString
        );
    }

    #[test]
    fn counters_and_data_survive_reopen() {
        let mut h = Harness::new();
        h.ok(set("a", "1"));
        h.ok(set("b", "2"));
        h.ok(expire("b", now() + 100_000, ExpireCondition::Always));
        h.run_in(7, set("c", "3"));
        let v = h.put_hash(2, b"h", &[(b"f", b"v")]);
        let before = h.engine().counts();
        h.reopen();
        assert_eq!(h.engine().counts(), before);
        assert_eq!(h.ok(get("a")), bulk("1"));
        assert_eq!(h.ok(ttl("b", TimeUnit::Seconds)), int(100));
        assert_eq!(h.run_in(7, get("c")), Outcome::Ok(bulk("3")));
        assert_eq!(h.sub_keys(2, b"h", v).len(), 1);
        // Versions keep growing across a reopen.
        let mut g = h.writer.as_mut().unwrap().begin();
        assert!(g.new_version() > v);
    }

    #[test]
    fn compaction_drops_stale_sub_keys_only() {
        let mut h = Harness::new();
        let old = h.put_hash(0, b"h", &[(b"f", b"old")]);
        let live = h.put_hash(0, b"live", &[(b"f", b"v")]);
        // Overwrite h with a new version: the old sub-keys are stale.
        let new = h.put_hash(0, b"h", &[(b"g", b"new")]);
        let gone = h.put_hash(0, b"gone", &[(b"f", b"v")]);
        h.ok(Command::Del {
            keys: vec![k("gone")],
        });
        h.engine().compact().unwrap();
        assert!(h.sub_keys(0, b"h", old).is_empty());
        assert!(h.sub_keys(0, b"gone", gone).is_empty());
        assert_eq!(h.sub_keys(0, b"h", new), vec![(k("g"), k("new"))]);
        assert_eq!(h.sub_keys(0, b"live", live), vec![(k("f"), k("v"))]);
    }

    #[test]
    fn info_sections() {
        let mut h = Harness::new();
        h.ok(set("a", "1"));
        h.ok(expire("a", now() + 100_000, ExpireCondition::Always));
        h.run_in(3, set("b", "1"));
        h.ok(get("a"));
        h.ok(get("zz"));
        let Reply::Bulk(text) = h.ok(Command::Info) else {
            panic!()
        };
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n"), "{text}");
        assert!(text.contains("keyspace_hits:1\r\n"), "{text}");
        assert!(text.contains("keyspace_misses:1\r\n"), "{text}");
        assert!(text.contains("expired_keys:0\r\n"), "{text}");
        assert!(text.contains("# Storage\r\n"), "{text}");
        assert!(text.contains("is_write_stopped:0\r\n"), "{text}");
        assert!(!text.contains('\n') || text.split("\r\n").all(|l| !l.contains('\n')));
    }

    #[test]
    fn bad_db_and_write_on_read_path() {
        let mut h = Harness::new();
        assert_eq!(
            h.run_in(16, get("a")),
            Outcome::Err(StorageError::DbOutOfRange)
        );
        assert_eq!(
            h.run_in(16, set("a", "1")),
            Outcome::Err(StorageError::DbOutOfRange)
        );
        let bytes = archive(&set("a", "1"));
        let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap();
        assert!(matches!(
            read(h.engine(), 0, a),
            Outcome::Err(StorageError::Internal(_))
        ));
    }

    #[test]
    fn concurrent_readers_during_writes() {
        let mut h = Harness::new();
        h.ok(set("n", "0"));
        let engine = h.engine().clone();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let engine = engine.clone();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let bytes = archive(&get("n"));
                    let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap();
                    let mut last = 0i64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let Outcome::Ok(Reply::Bulk(v)) = read(&engine, 0, a) else {
                            panic!()
                        };
                        let n: i64 = String::from_utf8(v).unwrap().parse().unwrap();
                        assert!(n >= last, "reads went backwards");
                        last = n;
                    }
                })
            })
            .collect();
        for _ in 0..200 {
            h.ok(Command::IncrBy {
                key: k("n"),
                delta: 1,
            });
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in readers {
            r.join().unwrap();
        }
        assert_eq!(h.ok(get("n")), bulk("200"));
    }

    #[test]
    fn write_groups_name_the_keys_they_touch_only_when_asked() {
        let mut h = Harness::new();
        let touched = |h: &mut Harness, db: u8, cmd: Command| {
            let bytes = archive(&cmd);
            let a = rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap();
            let w = h.writer.as_mut().unwrap();
            w.set_track_touched(true);
            let mut g = w.begin();
            exec(&mut g, db, a);
            let t = g.take_touched();
            g.commit().unwrap();
            t
        };
        let t = touched(&mut h, 0, set("a", "1"));
        assert_eq!(t.keys, std::collections::HashSet::from([(0u8, k("a"))]));
        // A field overwrite writes only a sub-key; the key is still named.
        touched(
            &mut h,
            3,
            Command::HSet {
                key: k("h"),
                pairs: vec![(k("f"), k("1"))],
            },
        );
        let t = touched(
            &mut h,
            3,
            Command::HSet {
                key: k("h"),
                pairs: vec![(k("f"), k("2"))],
            },
        );
        assert!(t.keys.contains(&(3u8, k("h"))));
        assert!(t.flushed.is_empty());
        let t = touched(&mut h, 3, Command::FlushDb);
        assert_eq!(t.flushed, vec![3]);
        let t = touched(&mut h, 0, Command::FlushAll);
        assert_eq!(t.flushed, (0..DB_COUNT).collect::<Vec<_>>());
        // Off: nothing recorded.
        let w = h.writer.as_mut().unwrap();
        w.set_track_touched(false);
        let mut g = w.begin();
        let bytes = archive(&set("b", "2"));
        exec(
            &mut g,
            0,
            rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes).unwrap(),
        );
        assert!(!g.tracks_touched() && g.take_touched().is_empty());
        g.commit().unwrap();
    }
}
