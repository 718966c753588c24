//! Keys of any type: EXISTS, TOUCH, TYPE, MEMORY USAGE, TTL (PTTL), EXPIRETIME
//! (PEXPIRETIME), KEYS, SCAN, RANDOMKEY, DBSIZE; DEL (UNLINK), EXPIRE (and its siblings),
//! PERSIST, RENAME, RENAMENX, COPY, MOVE, FLUSHDB, FLUSHALL.

use std::collections::HashSet;

use tandem_shared::command::{
    ArchivedCommand, ArchivedExpireCondition, ArchivedScanType, ArchivedTimeUnit,
};
use tandem_shared::{ExpireCondition, Reply, TimeUnit};

use super::arm::{done, no_events, LIGHT_READ_MAX};
use crate::engine::group::WriteGroup;
use crate::engine::metadata::KeyType;
use crate::engine::{KvEngine, StoreRead};
use crate::events::{int, Flags};
use crate::types::keyspace::{self, FlushScope, RenameMode, ScanFilter, ScanOptions};
use crate::types::memory;
use crate::types::{At, CmdResult};

const G: u32 = Flags::GENERIC;

/// The light reads (see [`super::is_light_read`]).
pub(super) fn light(cmd: &ArchivedCommand) -> bool {
    use ArchivedCommand as C;
    match cmd {
        C::Type { .. } | C::Ttl { .. } | C::ExpireTime { .. } | C::DbSize => true,
        C::Exists { keys } => keys.len() <= LIGHT_READ_MAX,
        _ => false,
    }
}

/// The read-only keyspace commands; `None` for any other command.
pub(super) fn read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    Some(match cmd {
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
        _ => return None,
    })
}

/// The keyspace commands that write, each with its keyspace events; `None` for any other.
pub(super) fn write<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    let db = at.db;
    Some(match cmd {
        C::Del { keys } => {
            let r = keyspace::del(w, at, keys.iter().map(|k| k.as_slice()));
            done(w, r, |e, _| {
                let mut seen = HashSet::new();
                for k in keys.iter() {
                    if seen.insert(k.as_slice()) && e.removed(db, k) {
                        e.push(G, "del", db, k);
                    }
                }
            })
        }
        C::Expire {
            key,
            at_ms,
            condition,
        } => {
            let at_ms = at_ms.to_native();
            let r = keyspace::expire(w, at, key, at_ms, expire_condition(condition));
            done(w, r, |e, reply| {
                if int(reply) == 1 {
                    if at_ms <= e.now_ms() as i64 {
                        e.push(G, "del", db, key);
                    } else {
                        e.push(G, "expire", db, key);
                    }
                }
            })
        }
        C::Persist { key } => {
            let r = keyspace::persist(w, at, key);
            done(w, r, |e, reply| {
                if int(reply) == 1 {
                    e.push(G, "persist", db, key);
                }
            })
        }
        C::Rename { src, dst } | C::RenameNx { src, dst } => {
            let mode = match cmd {
                C::RenameNx { .. } => RenameMode::IfAbsent,
                _ => RenameMode::Overwrite,
            };
            let r = keyspace::rename(w, at, src, dst, mode);
            done(w, r, |e, reply| {
                let renamed = matches!(reply, Reply::Simple(_)) || int(reply) == 1;
                if renamed && src != dst {
                    e.new_key(db, dst);
                    e.push(G, "rename_from", db, src);
                    e.push(G, "rename_to", db, dst);
                }
            })
        }
        C::Copy { src, dst, target } => {
            // The target names a logical database too (SWAPDB's map, as `at.db` was).
            let to = w.services().databases().pending().physical(target.db);
            let r = keyspace::copy(w, at, src, dst, to, target.replace);
            done(w, r, |e, reply| {
                if int(reply) == 1 {
                    e.new_key(to, dst);
                    e.push(G, "copy_to", to, dst);
                }
            })
        }
        C::Move { key, db: to } => {
            let to = w.services().databases().pending().physical(*to);
            let r = keyspace::move_key(w, at, key, to);
            done(w, r, |e, reply| {
                if int(reply) == 1 {
                    e.new_key(to, key);
                    e.push(G, "move_from", db, key);
                    e.push(G, "move_to", to, key);
                }
            })
        }
        // FLUSHDB/FLUSHALL emit nothing in Redis 7.0.
        C::FlushDb => {
            let r = keyspace::flush(w, at, FlushScope::Db);
            done(w, r, no_events)
        }
        C::FlushAll => {
            let r = keyspace::flush(w, at, FlushScope::All);
            done(w, r, no_events)
        }
        _ => return None,
    })
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
        ArchivedScanType::Stream => ScanFilter::Only(KeyType::Stream),
    }
}

fn time_unit(u: &ArchivedTimeUnit) -> TimeUnit {
    match u {
        ArchivedTimeUnit::Seconds => TimeUnit::Seconds,
        ArchivedTimeUnit::Milliseconds => TimeUnit::Milliseconds,
    }
}
