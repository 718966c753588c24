//! The blocking pops (BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX, BZMPOP)
//! run here in their non-blocking form, as inside EXEC. Parking a lone one whose keys are
//! all empty is the writer's (`writer::parked`), which serves it through the same
//! [`pop_op`] and `types::pop`.

use tandem_shared::command::{
    ArchivedBlockingOp, ArchivedCommand, ArchivedZEnd, StreamId, XReadId, ZEnd,
};

use super::arm::{done, key_slices, no_events};
use super::list::list_end;
use super::stream::read_id;
use crate::engine::group::WriteGroup;
use crate::engine::KvEngine;
use crate::types::pop::{self, PopOp};
use crate::types::{stream, At, CmdResult};

/// The blocking pop, without waiting; `None` for any other command. It announces no
/// keyspace events of its own.
pub(super) fn write<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    let ArchivedCommand::BlockingPop { op, keys, .. } = cmd else {
        return None;
    };
    if let ArchivedBlockingOp::StreamRead { count, ids } = op {
        // `XREAD … BLOCK` run now: the plain XREAD over every key.
        let ids = stream_read_ids(ids);
        let r = stream::xread(&*w, at, count.to_native(), &key_slices(keys), &ids);
        return Some(done(w, r, no_events));
    }
    if let ArchivedBlockingOp::StreamReadGroup {
        group,
        consumer,
        count,
        noack,
        ids,
    } = op
    {
        // `XREADGROUP … BLOCK` run now: the plain XREADGROUP, with its events.
        return Some(super::stream::xreadgroup_now(
            w,
            at,
            group,
            consumer,
            count.to_native(),
            *noack,
            keys,
            ids,
        ));
    }
    let r = pop::pop(w, at, pop_op(op), &key_slices(keys));
    Some(done(w, r, no_events))
}

/// The native form of an archived blocking pop.
pub fn pop_op(op: &ArchivedBlockingOp) -> PopOp<'_> {
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
        // Per-key ids are resolved by the writer (`writer/parked.rs`); from the command
        // alone it serves nothing.
        ArchivedBlockingOp::StreamRead { count, .. } => PopOp::StreamRead {
            count: count.to_native(),
            after: StreamId {
                ms: u64::MAX,
                seq: u64::MAX,
            },
        },
        ArchivedBlockingOp::StreamReadGroup {
            group,
            consumer,
            count,
            noack,
            ..
        } => PopOp::StreamReadGroup {
            group: group.as_slice(),
            consumer: consumer.as_slice(),
            count: count.to_native(),
            noack: *noack,
        },
    }
}

/// The native ids of an archived blocking `XREAD`.
pub fn stream_read_ids(ids: &[tandem_shared::command::ArchivedXReadId]) -> Vec<XReadId> {
    ids.iter().map(read_id).collect()
}
