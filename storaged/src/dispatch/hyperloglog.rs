//! HyperLogLog: PFSELFTEST; PFADD, PFCOUNT, PFMERGE, PFDEBUG. PFCOUNT runs on the read
//! path ([`read_or_defer`]) unless its one key's cached cardinality is stale: then the
//! writer runs it and writes the cache back ([`write`]), as Redis does.

use tandem_shared::command::{ArchivedCommand, ArchivedPfDebugOp, PfDebugOp};
use tandem_shared::Reply;

use super::arm::{done, key_slices, no_events};
use crate::engine::group::WriteGroup;
use crate::engine::{KvEngine, StoreRead};
use crate::events::Flags;
use crate::types::hyperloglog;
use crate::types::{At, CmdResult};

const STR: u32 = Flags::STRING;

/// The read-only HyperLogLog commands; `None` for any other command.
pub(super) fn read<S: StoreRead + ?Sized>(
    s: &S,
    _at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    Some(match cmd {
        ArchivedCommand::PfSelfTest => hyperloglog::pfselftest(s.services().random_u64()),
        _ => return None,
    })
}

/// PFCOUNT on the read path: `Some(Some(result))` answered on committed state,
/// `Some(None)` when the writer must run it after all (a stale cache to write back);
/// `None` for any other command.
pub(super) fn read_or_defer<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<Option<CmdResult>> {
    match cmd {
        // Ok(None) (stale) becomes None; a reply or an error, Some.
        ArchivedCommand::PfCount { keys } => {
            Some(hyperloglog::pfcount_read(s, at, &key_slices(keys)).transpose())
        }
        _ => None,
    }
}

/// True for the HyperLogLog reads as cheap as a point lookup: PFCOUNT of one key (one
/// record of at most 12 KiB; the estimate itself is computed on the writer).
pub(super) fn light(cmd: &ArchivedCommand) -> bool {
    matches!(cmd, ArchivedCommand::PfCount { keys } if keys.len() == 1)
}

/// The HyperLogLog commands that run on the writer, each with its keyspace events; `None`
/// for any other.
pub(super) fn write<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    let db = at.db;
    Some(match cmd {
        C::PfAdd { key, elements } => {
            let r = hyperloglog::pfadd(w, at, key, elements.iter().map(|e| e.as_slice()));
            done(w, r, |e, reply| {
                if *reply == Reply::Integer(1) {
                    e.write(STR, "pfadd", db, key);
                }
            })
        }
        C::PfCount { keys } => {
            // Writing the cache back announces nothing in Redis.
            let r = hyperloglog::pfcount(w, at, &key_slices(keys));
            done(w, r, no_events)
        }
        C::PfMerge { dest, sources } => {
            let r = hyperloglog::pfmerge(w, at, dest, sources.iter().map(|k| k.as_slice()));
            done(w, r, |e, reply| {
                // Redis announces a merge as `pfadd` ("a mass-add of elements").
                if *reply == Reply::ok() {
                    e.write(STR, "pfadd", db, dest);
                }
            })
        }
        C::PfDebug { op, key } => {
            let r = hyperloglog::pfdebug(w, at, &debug_op(op), key);
            done(w, r, no_events)
        }
        _ => return None,
    })
}

fn debug_op(op: &ArchivedPfDebugOp) -> PfDebugOp {
    match op {
        ArchivedPfDebugOp::GetReg => PfDebugOp::GetReg,
        ArchivedPfDebugOp::Decode => PfDebugOp::Decode,
        ArchivedPfDebugOp::Encoding => PfDebugOp::Encoding,
        ArchivedPfDebugOp::ToDense => PfDebugOp::ToDense,
        ArchivedPfDebugOp::Unknown(name) => PfDebugOp::Unknown(name.to_vec()),
    }
}
