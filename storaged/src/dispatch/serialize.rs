//! DUMP (a read) and RESTORE (a write, announcing `new` and `restore`, or `del` when
//! `REPLACE` with a past TTL removed the old key, as Redis 7.0 does).

use tandem_shared::command::ArchivedCommand;

use super::arm::done;
use crate::engine::group::WriteGroup;
use crate::engine::{KvEngine, StoreRead};
use crate::events::Flags;
use crate::types::serialize::{self, RestoreOptions, Restored};
use crate::types::{At, CmdResult};

/// `Dump`; `None` for any other command.
pub(super) fn read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    Some(match cmd {
        ArchivedCommand::Dump { key } => serialize::dump(s, at, key),
        _ => return None,
    })
}

/// `Restore`; `None` for any other command.
pub(super) fn write<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    let db = at.db;
    Some(match cmd {
        ArchivedCommand::Restore {
            key,
            ttl,
            payload,
            replace,
            absttl,
        } => {
            let opts = RestoreOptions {
                ttl: ttl.as_ref().map(|t| t.to_native()),
                replace: *replace,
                absttl: *absttl,
            };
            let (r, effect) = serialize::restore(w, at, key, payload, opts);
            done(w, r, |e, _| match effect {
                // Redis's `dbAdd` announces `new` even when REPLACE deleted the key first.
                Restored::Created => {
                    e.new_key(db, key);
                    e.push(Flags::GENERIC, "restore", db, key);
                }
                Restored::Deleted => e.push(Flags::GENERIC, "del", db, key),
                Restored::Nothing => {}
            })
        }
        _ => return None,
    })
}
