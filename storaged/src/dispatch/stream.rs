//! Streams: XLEN, XRANGE, XREVRANGE, XREAD (its BLOCK form is a blocking pop: `pop.rs`),
//! XPENDING; XADD, XDEL, XTRIM, XSETID, XGROUP (and its HELP), XREADGROUP (its BLOCK form
//! too is a blocking pop, run at once here) and XACK,
//! each write with Redis 7.0's keyspace events (`xadd` then `xtrim`, `xdel`, `xtrim`,
//! `xsetid`, `xgroup-*`, class `t`).

use rkyv::vec::ArchivedVec;
use tandem_shared::command::{
    ArchivedCommand, ArchivedStreamId, ArchivedStreamTrim, ArchivedStreamTrimKind, ArchivedXAddId,
    ArchivedXGroupId, ArchivedXGroupOp, ArchivedXPendingRange, ArchivedXReadId, StreamId,
    StreamTrim, StreamTrimKind, XAddId, XGroupId, XGroupOp, XPendingRange, XReadId,
};
use tandem_shared::Reply;

use super::arm::{done, key_slices, no_events};
use crate::engine::group::WriteGroup;
use crate::engine::{KvEngine, StoreRead};
use crate::events::{int, Flags};
use crate::types::stream;
use crate::types::{lookup_write, At, CmdResult};

const T: u32 = Flags::STREAM;

/// The light reads (see [`super::is_light_read`]): XLEN is one point read.
pub(super) fn light(cmd: &ArchivedCommand) -> bool {
    matches!(cmd, ArchivedCommand::XLen { .. })
}

/// The read-only stream commands; `None` for any other command.
pub(super) fn read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    Some(match cmd {
        C::XLen { key } => stream::xlen(s, at, key),
        C::XRange {
            key,
            start,
            end,
            count,
            rev,
        } => stream::xrange(
            s,
            at,
            key,
            id(start),
            id(end),
            count.as_ref().map(|c| c.to_native()),
            *rev,
        ),
        C::XGroupHelp => Ok(stream::xgroup_help()),
        C::XPending { key, group, range } => {
            let range = range.as_ref().map(pending_range);
            stream::xpending(s, at, key, group, range.as_ref())
        }
        C::XRead { count, keys, ids } => {
            let ids: Vec<XReadId> = ids.iter().map(read_id).collect();
            stream::xread(s, at, count.to_native(), &key_slices(keys), &ids)
        }
        _ => return None,
    })
}

/// The stream commands that write, each with its keyspace events; `None` for any other.
pub(super) fn write<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    let db = at.db;
    Some(match cmd {
        C::XAdd {
            key,
            id: new_id,
            no_mkstream,
            trim: trim_opt,
            fields,
        } => {
            let fields: Vec<(&[u8], &[u8])> = fields
                .iter()
                .map(|p| (p.0.as_slice(), p.1.as_slice()))
                .collect();
            let added = stream::xadd(
                w,
                at,
                key,
                add_id(new_id),
                *no_mkstream,
                trim_opt.as_ref().map(trim),
                &fields,
            );
            let (r, trimmed) = match added {
                Ok(a) => (Ok(a.reply), a.trimmed),
                Err(e) => (Err(e), false),
            };
            done(w, r, |e, reply| {
                if matches!(reply, Reply::Bulk(_)) {
                    e.write(T, "xadd", db, key);
                    if trimmed {
                        e.push(T, "xtrim", db, key);
                    }
                }
            })
        }
        C::XDel { key, ids } => {
            let ids: Option<Vec<StreamId>> = ids.as_ref().map(|ids| ids.iter().map(id).collect());
            let r = stream::xdel(w, at, key, ids.as_deref());
            done(w, r, |e, reply| {
                if int(reply) > 0 {
                    e.push(T, "xdel", db, key);
                }
            })
        }
        C::XTrim { key, trim: t } => {
            let r = stream::xtrim(w, at, key, trim(t));
            done(w, r, |e, reply| {
                if int(reply) > 0 {
                    e.push(T, "xtrim", db, key);
                }
            })
        }
        C::XGroup {
            key,
            group,
            op,
            sub,
            late_syntax,
        } => {
            let op = group_op(op);
            // Only a CREATE that makes the stream modifies the key as Redis counts it
            // (`signalModifiedKey`); the rest change the groups quietly.
            let makes_stream = matches!(op, XGroupOp::Create { mkstream: true, .. })
                && !matches!(lookup_write(w, at, key), Ok(Some(_)));
            let run = |w: &mut WriteGroup<'_, E>| {
                stream::xgroup(w, at, key, group, &op, sub, *late_syntax, at.now_ms)
            };
            let r = if makes_stream { run(w) } else { w.quietly(run) };
            if matches!(op, XGroupOp::Destroy) && matches!(r, Ok(Reply::Integer(1))) {
                w.mark_ready(db, key); // blocked XREADGROUPs of the group answer NOGROUP
            }
            let (created, event) = match &op {
                XGroupOp::Create { .. } => (false, "xgroup-create"),
                XGroupOp::SetId { .. } => (false, "xgroup-setid"),
                XGroupOp::Destroy => (true, "xgroup-destroy"),
                XGroupOp::CreateConsumer { .. } => (true, "xgroup-createconsumer"),
                XGroupOp::DelConsumer { .. } => (false, "xgroup-delconsumer"),
            };
            done(w, r, |e, reply| {
                let ok = match reply {
                    Reply::Simple(_) => true,
                    // DESTROY and CREATECONSUMER announce only what they did, DELCONSUMER
                    // only a consumer that was there (whatever its pending count).
                    Reply::Integer(n) if created => *n == 1,
                    Reply::Integer(_) => e.touched(db, key),
                    _ => false,
                };
                if ok {
                    e.write(T, event, db, key);
                }
            })
        }
        C::XSetId {
            key,
            last,
            entries_added,
            max_deleted,
        } => {
            // Redis 7.0 signals no key for XSETID: a WATCH of the stream survives it.
            let r = w.quietly(|w| {
                stream::xsetid(
                    w,
                    at,
                    key,
                    id(last),
                    entries_added.as_ref().map(|n| n.to_native()),
                    max_deleted.as_ref().map(id),
                )
            });
            done(w, r, |e, reply| {
                if matches!(reply, Reply::Simple(_)) {
                    e.push(T, "xsetid", db, key);
                }
            })
        }
        C::XReadGroup {
            group,
            consumer,
            count,
            noack,
            keys,
            ids,
        } => xreadgroup_now(w, at, group, consumer, count.to_native(), *noack, keys, ids),
        C::XAck { key, group, ids } => {
            let ids: Option<Vec<StreamId>> = ids.as_ref().map(|ids| ids.iter().map(id).collect());
            let r = w.quietly(|w| stream::xack(w, at, key, group, ids.as_deref()));
            done(w, r, no_events)
        }
        _ => return None,
    })
}

/// `XREADGROUP` run at once (also a blocking one, before it parks), with Redis's events:
/// `xgroup-createconsumer` on each stream that made the consumer.
#[allow(clippy::too_many_arguments)]
pub(super) fn xreadgroup_now<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    group: &[u8],
    consumer: &[u8],
    count: u64,
    noack: bool,
    keys: &[ArchivedVec<u8>],
    ids: &[ArchivedXReadId],
) -> CmdResult {
    let db = at.db;
    let keys = key_slices(keys);
    let ids: Vec<XReadId> = ids.iter().map(read_id).collect();
    // Consumer-group state changes quietly (see `WriteGroup::quietly`).
    let read = w.quietly(|w| stream::xreadgroup(w, at, group, consumer, count, noack, &keys, &ids));
    let (r, created) = match read {
        Ok(read) => (Ok(read.reply), read.created),
        Err(e) => (Err(e), Vec::new()),
    };
    done(w, r, |e, _| {
        for i in created {
            if let Some(key) = keys.get(i) {
                e.push(T, "xgroup-createconsumer", db, key);
            }
        }
    })
}

fn pending_range(a: &ArchivedXPendingRange) -> XPendingRange {
    XPendingRange {
        min_idle: a.min_idle.to_native(),
        start: id(&a.start),
        end: id(&a.end),
        count: a.count.to_native(),
        consumer: a.consumer.as_ref().map(|c| c.to_vec()),
    }
}

fn id(a: &ArchivedStreamId) -> StreamId {
    StreamId {
        ms: a.ms.to_native(),
        seq: a.seq.to_native(),
    }
}

fn add_id(a: &ArchivedXAddId) -> XAddId {
    match a {
        ArchivedXAddId::Auto => XAddId::Auto,
        ArchivedXAddId::AutoSeq(ms) => XAddId::AutoSeq(ms.to_native()),
        ArchivedXAddId::Explicit(i) => XAddId::Explicit(id(i)),
    }
}

fn group_op(a: &ArchivedXGroupOp) -> XGroupOp {
    let gid = |g: &ArchivedXGroupId| match g {
        ArchivedXGroupId::Id(i) => XGroupId::Id(id(i)),
        ArchivedXGroupId::Last => XGroupId::Last,
        ArchivedXGroupId::Invalid => XGroupId::Invalid,
    };
    match a {
        ArchivedXGroupOp::Create {
            id: g,
            mkstream,
            entries_read,
        } => XGroupOp::Create {
            id: gid(g),
            mkstream: *mkstream,
            entries_read: entries_read.to_native(),
        },
        ArchivedXGroupOp::SetId {
            id: g,
            entries_read,
        } => XGroupOp::SetId {
            id: gid(g),
            entries_read: entries_read.to_native(),
        },
        ArchivedXGroupOp::Destroy => XGroupOp::Destroy,
        ArchivedXGroupOp::CreateConsumer { consumer } => XGroupOp::CreateConsumer {
            consumer: consumer.to_vec(),
        },
        ArchivedXGroupOp::DelConsumer { consumer } => XGroupOp::DelConsumer {
            consumer: consumer.to_vec(),
        },
    }
}

/// The native form of an archived `XREAD` id.
pub(super) fn read_id(a: &ArchivedXReadId) -> XReadId {
    match a {
        ArchivedXReadId::Id(i) => XReadId::Id(id(i)),
        ArchivedXReadId::Last => XReadId::Last,
        ArchivedXReadId::NewOnly => XReadId::NewOnly,
        ArchivedXReadId::Invalid => XReadId::Invalid,
    }
}

fn trim(a: &ArchivedStreamTrim) -> StreamTrim {
    StreamTrim {
        kind: match &a.kind {
            ArchivedStreamTrimKind::MaxLen(n) => StreamTrimKind::MaxLen(n.to_native()),
            ArchivedStreamTrimKind::MinId(i) => StreamTrimKind::MinId(id(i)),
        },
        approx: a.approx,
        limit: a.limit.to_native(),
    }
}
