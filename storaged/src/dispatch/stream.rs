//! Streams: XLEN, XRANGE, XREVRANGE, XREAD (its BLOCK form is a blocking pop: `pop.rs`);
//! XADD, XDEL, XTRIM, XSETID,
//! each write with Redis 7.0's keyspace events (`xadd` then `xtrim`, `xdel`, `xtrim`,
//! `xsetid`, class `t`).

use tandem_shared::command::{
    ArchivedCommand, ArchivedStreamId, ArchivedStreamTrim, ArchivedStreamTrimKind, ArchivedXAddId,
    ArchivedXReadId, StreamId, StreamTrim, StreamTrimKind, XAddId, XReadId,
};
use tandem_shared::Reply;

use super::arm::{done, key_slices};
use crate::engine::group::WriteGroup;
use crate::engine::{KvEngine, StoreRead};
use crate::events::{int, Flags};
use crate::types::stream;
use crate::types::{At, CmdResult};

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
        C::XSetId {
            key,
            last,
            entries_added,
            max_deleted,
        } => {
            let r = stream::xsetid(
                w,
                at,
                key,
                id(last),
                entries_added.as_ref().map(|n| n.to_native()),
                max_deleted.as_ref().map(id),
            );
            done(w, r, |e, reply| {
                if matches!(reply, Reply::Simple(_)) {
                    e.push(T, "xsetid", db, key);
                }
            })
        }
        _ => return None,
    })
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
