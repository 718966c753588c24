//! Stream introspection and claiming: XINFO STREAM|GROUPS|CONSUMERS|HELP (reads) and
//! XCLAIM, XAUTOCLAIM (writes; their only keyspace event is Redis's
//! `xgroup-createconsumer` when the claim creates the claiming consumer).

use tandem_shared::command::{
    ArchivedCommand, ArchivedStreamId, ArchivedXClaimTime, StreamId, XClaimTime,
};
use tandem_shared::StorageError;

use super::arm::done;
use crate::engine::group::WriteGroup;
use crate::engine::{KvEngine, StoreRead};
use crate::events::Flags;
use crate::types::stream::{self, ClaimArgs, Claimed};
use crate::types::{At, CmdResult};

const T: u32 = Flags::STREAM;

/// The XINFO subcommands; `None` for any other command.
pub(super) fn read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    Some(match cmd {
        C::XInfoStream {
            key,
            full,
            count,
            error,
        } => stream::xinfo_stream(
            s,
            at,
            key,
            *full,
            count.to_native(),
            error.as_ref().map(|e| e.as_str()),
        ),
        C::XInfoGroups { key } => stream::xinfo_groups(s, at, key),
        C::XInfoConsumers { key, group } => stream::xinfo_consumers(s, at, key, group),
        C::XInfoHelp => Ok(stream::xinfo_help()),
        _ => return None,
    })
}

/// XCLAIM and XAUTOCLAIM; `None` for any other command.
pub(super) fn write<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    let db = at.db;
    let (key, claimed) = match cmd {
        C::XClaim {
            key,
            group,
            consumer,
            min_idle,
            ids,
            delivery,
            retry_count,
            force,
            justid,
            last_id,
            error,
        } => {
            let ids: Vec<StreamId> = ids.iter().map(id).collect();
            let args = ClaimArgs {
                min_idle: min_idle.to_native(),
                ids: &ids,
                delivery: match delivery {
                    ArchivedXClaimTime::Now => XClaimTime::Now,
                    ArchivedXClaimTime::Idle(ms) => XClaimTime::Idle(ms.to_native()),
                    ArchivedXClaimTime::Time(ms) => XClaimTime::Time(ms.to_native()),
                },
                retry_count: retry_count.as_ref().map(|n| n.to_native()),
                force: *force,
                justid: *justid,
                last_id: id(last_id),
                error: error.as_ref().map(|e| e.as_str()),
            };
            // Consumer-group state changes quietly (see `WriteGroup::quietly`).
            let claimed = w.quietly(|w| stream::xclaim(w, at, key, group, consumer, &args));
            (key, claimed)
        }
        C::XAutoClaim {
            key,
            group,
            consumer,
            min_idle,
            start,
            count,
            justid,
        } => (
            key,
            w.quietly(|w| {
                stream::xautoclaim(
                    w,
                    at,
                    key,
                    group,
                    consumer,
                    min_idle.to_native(),
                    id(start),
                    count.to_native(),
                    *justid,
                )
            }),
        ),
        _ => return None,
    };
    let (r, created): (Result<_, StorageError>, bool) = match claimed {
        Ok(Claimed {
            reply,
            created_consumer,
        }) => (Ok(reply), created_consumer),
        Err(e) => (Err(e), false),
    };
    Some(done(w, r, |e, _| {
        if created {
            e.push(T, "xgroup-createconsumer", db, key);
        }
    }))
}

fn id(a: &ArchivedStreamId) -> StreamId {
    StreamId {
        ms: a.ms.to_native(),
        seq: a.seq.to_native(),
    }
}
