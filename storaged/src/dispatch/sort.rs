//! SORT and SORT_RO: `SortRo` (SORT without `STORE`, SORT_RO) on the read path, `Sort`
//! (with `STORE`) on the writer with its keyspace event.

use tandem_shared::command::{ArchivedCommand, ArchivedSortOptions, SortOptions};

use super::arm::done;
use crate::engine::group::WriteGroup;
use crate::engine::{KvEngine, StoreRead};
use crate::events::Flags;
use crate::types::sort;
use crate::types::{At, CmdResult};

/// `SortRo`; `None` for any other command.
pub(super) fn read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    Some(match cmd {
        ArchivedCommand::SortRo { key, opts } => sort::sort(s, at, key, &options_of(opts)),
        _ => return None,
    })
}

/// `Sort` (with `STORE`): `sortstore` on the destination when something was stored,
/// `del` when an empty result deleted it, as Redis 7.0 announces them.
pub(super) fn write<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    let db = at.db;
    Some(match cmd {
        ArchivedCommand::Sort { key, opts, dest } => {
            let r = sort::sort_store(w, at, key, &options_of(opts), dest);
            done(w, r, |e, reply| {
                e.store(Flags::LIST, "sortstore", db, dest, reply)
            })
        }
        _ => return None,
    })
}

fn options_of(o: &ArchivedSortOptions) -> SortOptions {
    SortOptions {
        by: o.by.as_ref().map(|p| p.to_vec()),
        limit: o.limit.as_ref().map(|l| (l.0.to_native(), l.1.to_native())),
        get: o.get.iter().map(|p| p.to_vec()).collect(),
        desc: o.desc,
        alpha: o.alpha,
    }
}
