//! Lists: LLEN, LINDEX, LRANGE, LPOS; LPUSH (RPUSH, LPUSHX, RPUSHX), LPOP (RPOP), LSET,
//! LTRIM, LREM, LINSERT, LMOVE (RPOPLPUSH), LMPOP.

use tandem_shared::command::{ArchivedCommand, ArchivedListEnd, ListEnd};

use super::arm::{done, LIGHT_READ_MAX};
use crate::engine::group::WriteGroup;
use crate::engine::{KvEngine, StoreRead};
use crate::events::{int, mpop_key, popped, Flags};
use crate::types::list;
use crate::types::{At, CmdResult};

const L: u32 = Flags::LIST;

/// The light reads (see [`super::is_light_read`]): an LRANGE of a short window counts.
pub(super) fn light(cmd: &ArchivedCommand) -> bool {
    use ArchivedCommand as C;
    match cmd {
        C::LLen { .. } | C::LIndex { .. } => true,
        C::LRange { start, stop, .. } => {
            let (start, stop) = (start.to_native(), stop.to_native());
            start >= 0 && stop >= start && stop - start < LIGHT_READ_MAX as i64
        }
        _ => false,
    }
}

/// The read-only list commands; `None` for any other command.
pub(super) fn read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    Some(match cmd {
        C::LLen { key } => list::llen(s, at, key),
        C::LIndex { key, index } => list::lindex(s, at, key, index.to_native()),
        C::LRange { key, start, stop } => {
            list::lrange(s, at, key, start.to_native(), stop.to_native())
        }
        C::LPos {
            key,
            element,
            rank,
            count,
            maxlen,
        } => list::lpos(
            s,
            at,
            key,
            element,
            rank.to_native(),
            count.as_ref().map(|c| c.to_native()),
            maxlen.to_native(),
        ),
        _ => return None,
    })
}

/// The list commands that write, each with its keyspace events; `None` for any other.
pub(super) fn write<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    let db = at.db;
    Some(match cmd {
        C::LPush {
            key,
            end,
            elements,
            only_existing,
        } => {
            let end = list_end(end);
            let elements = elements.iter().map(|e| e.as_slice());
            let r = list::push(w, at, key, end, elements, *only_existing);
            done(w, r, |e, reply| {
                if int(reply) > 0 {
                    e.write(L, push_name(end), db, key);
                }
            })
        }
        C::LPop { key, end, count } => {
            let end = list_end(end);
            let r = list::pop(w, at, key, end, count.as_ref().map(|c| c.to_native()));
            done(w, r, |e, reply| {
                if popped(reply) {
                    e.shrink(L, pop_name(end), db, key);
                }
            })
        }
        C::LSet {
            key,
            index,
            element,
        } => {
            let r = list::lset(w, at, key, index.to_native(), element);
            done(w, r, |e, _| e.push(L, "lset", db, key))
        }
        C::LTrim { key, start, stop } => {
            let r = list::ltrim(w, at, key, start.to_native(), stop.to_native());
            done(w, r, |e, _| {
                // LTRIM of an existing list always announces itself, even when it removes
                // nothing (and then writes nothing).
                if e.was_live(db, key) {
                    e.shrink(L, "ltrim", db, key);
                }
            })
        }
        C::LRem {
            key,
            count,
            element,
        } => {
            let r = list::lrem(w, at, key, count.to_native(), element);
            done(w, r, |e, reply| {
                if int(reply) > 0 {
                    e.shrink(L, "lrem", db, key);
                }
            })
        }
        C::LInsert {
            key,
            before,
            pivot,
            element,
        } => {
            let r = list::linsert(w, at, key, *before, pivot, element);
            done(w, r, |e, reply| {
                if int(reply) > 0 {
                    e.push(L, "linsert", db, key);
                }
            })
        }
        C::LMove { src, dst, from, to } => {
            let (from, to) = (list_end(from), list_end(to));
            let r = list::lmove(w, at, src, dst, from, to);
            done(w, r, |e, reply| {
                if popped(reply) {
                    e.write(L, push_name(to), db, dst);
                    e.shrink(L, pop_name(from), db, src);
                }
            })
        }
        C::LMPop { keys, end, count } => {
            let end = list_end(end);
            let keys = keys.iter().map(|k| k.as_slice());
            let r = list::lmpop(w, at, keys, end, count.to_native());
            done(w, r, |e, reply| {
                if let Some(key) = mpop_key(reply) {
                    e.shrink(L, pop_name(end), db, key);
                }
            })
        }
        _ => return None,
    })
}

/// The event a push to `end` announces.
fn push_name(end: ListEnd) -> &'static str {
    match end {
        ListEnd::Left => "lpush",
        ListEnd::Right => "rpush",
    }
}

/// The event a pop from `end` announces.
fn pop_name(end: ListEnd) -> &'static str {
    match end {
        ListEnd::Left => "lpop",
        ListEnd::Right => "rpop",
    }
}

pub(super) fn list_end(e: &ArchivedListEnd) -> ListEnd {
    match e {
        ArchivedListEnd::Left => ListEnd::Left,
        ArchivedListEnd::Right => ListEnd::Right,
    }
}
