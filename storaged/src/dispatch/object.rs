//! OBJECT and the DEBUG subcommands storaged runs: `Object` (OBJECT ENCODING, REFCOUNT,
//! FREQ, IDLETIME, DEBUG OBJECT) on the read path; `DebugSleep`, `DebugReload` and
//! `DebugSetActiveExpire` on the writer (writer-owned in `tandem-commands`), which is what
//! makes them hold every write as Redis's single thread would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tandem_shared::command::{ArchivedCommand, ArchivedObjectField, ObjectField, ObjectLimits};
use tandem_shared::Reply;

use crate::engine::group::WriteGroup;
use crate::engine::StoreRead;
use crate::types::object;
use crate::types::{At, CmdResult};

/// `DEBUG SET-ACTIVE-EXPIRE`: whether the background expiry cycle runs (the server's reclaim
/// timer asks [`active_expire`]). Process-wide, as Redis's `server.active_expire_enabled`.
static ACTIVE_EXPIRE: AtomicBool = AtomicBool::new(true);

/// Whether the background expiry cycle is on (`DEBUG SET-ACTIVE-EXPIRE 0` turns it off).
pub fn active_expire() -> bool {
    ACTIVE_EXPIRE.load(Ordering::Relaxed)
}

/// `Object`; `None` for any other command.
pub(super) fn read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    Some(match cmd {
        ArchivedCommand::Object { field, key, limits } => {
            let field = match field {
                ArchivedObjectField::Encoding => ObjectField::Encoding,
                ArchivedObjectField::RefCount => ObjectField::RefCount,
                ArchivedObjectField::Freq => ObjectField::Freq,
                ArchivedObjectField::IdleTime => ObjectField::IdleTime,
                ArchivedObjectField::Debug => ObjectField::Debug,
            };
            let limits = ObjectLimits {
                hash_max_listpack_entries: limits.hash_max_listpack_entries.to_native(),
                hash_max_listpack_value: limits.hash_max_listpack_value.to_native(),
                zset_max_listpack_entries: limits.zset_max_listpack_entries.to_native(),
                zset_max_listpack_value: limits.zset_max_listpack_value.to_native(),
                set_max_intset_entries: limits.set_max_intset_entries.to_native(),
                list_max_listpack_size: limits.list_max_listpack_size.to_native(),
                lfu: limits.lfu,
                shared_integers: limits.shared_integers,
            };
            object::object(s, at, key, field, &limits)
        }
        _ => return None,
    })
}

/// The writer-owned DEBUG subcommands; `None` for any other command.
pub(super) fn write(w: &mut WriteGroup<'_>, cmd: &ArchivedCommand) -> Option<CmdResult> {
    Some(match cmd {
        ArchivedCommand::DebugSleep { micros } => {
            std::thread::sleep(Duration::from_micros(micros.to_native()));
            Ok(Reply::ok())
        }
        ArchivedCommand::DebugSetActiveExpire { enabled } => {
            ACTIVE_EXPIRE.store(*enabled, Ordering::Relaxed);
            Ok(Reply::ok())
        }
        ArchivedCommand::DebugReload => reload(w),
        _ => return None,
    })
}

/// `DEBUG RELOAD`: what tandem has of Redis's save-and-reload. The WAL is synced, every
/// memtable is flushed and every SST rewritten through the compaction filter (the full
/// compaction flushes first), and the record cache is emptied, so the data set is read
/// back from disk afterwards. The RocksDB instance itself is not closed and reopened:
/// every thread shares it; a storaged restart (which proxies ride out) does that.
fn reload(w: &mut WriteGroup<'_>) -> CmdResult {
    let engine = w.engine();
    engine.sync_wal()?;
    engine.compact()?;
    engine.records().clear();
    Ok(Reply::ok())
}
