//! HyperLogLog: PFSELFTEST; PFADD, PFCOUNT, PFMERGE, PFDEBUG (PFCOUNT runs on the writer:
//! one key may get its cached cardinality written back).

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
