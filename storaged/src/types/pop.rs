//! The blocking pops (`BLPOP`, `BLMPOP`, `BLMOVE`, `BZPOPMIN`, `BZMPOP` and their
//! siblings, and `XREAD … BLOCK`, which reads instead of popping) run without waiting: what one pop does to the keys it names, and the reply
//! shape each blocking command gives.
//!
//! Owns the semantics only. Waiting — parking a request whose keys are all empty, serving
//! it when a key becomes ready, answering it at its deadline — is the writer's
//! (`writer/parked.rs`), which calls [`pop`] for every attempt. Native arguments only.

use tandem_shared::command::{BlockingOp, ListEnd, StreamId, ZEnd};
use tandem_shared::Reply;

use super::{list, stream, zset, At, CmdResult};
use crate::engine::metadata::KeyType;
use crate::engine::StoreWrite;

/// Which blocking pop, borrowed from its command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopOp<'a> {
    /// `BLPOP`/`BRPOP`: `[key, element]`.
    List { end: ListEnd },
    /// `BLMPOP`: `[key, [element...]]`.
    ListMulti { end: ListEnd, count: u64 },
    /// `BLMOVE`/`BRPOPLPUSH` from the one source key: the element.
    Move {
        dst: &'a [u8],
        from: ListEnd,
        to: ListEnd,
    },
    /// `BZPOPMIN`/`BZPOPMAX`: `[key, member, score]`.
    ZSet { end: ZEnd },
    /// `BZMPOP`: `[key, [[member, score]...]]`.
    ZSetMulti { end: ZEnd, count: u64 },
    /// A blocked `XREAD` served from a key: `[[key, entries]]` above `after`, that key's
    /// id (`$` already resolved by the writer, which builds this variant per key).
    StreamRead { count: u64, after: StreamId },
    /// A blocked `XREADGROUP` (every id `>`) served from a key: `[[key, entries]]` above
    /// the group's last id, or Redis's error once the key or group is gone.
    StreamReadGroup {
        group: &'a [u8],
        consumer: &'a [u8],
        count: u64,
        noack: bool,
    },
}

impl<'a> From<&'a BlockingOp> for PopOp<'a> {
    fn from(op: &'a BlockingOp) -> PopOp<'a> {
        match *op {
            BlockingOp::List { end } => PopOp::List { end },
            BlockingOp::ListMulti { end, count } => PopOp::ListMulti { end, count },
            BlockingOp::Move { ref dst, from, to } => PopOp::Move { dst, from, to },
            BlockingOp::ZSet { end } => PopOp::ZSet { end },
            BlockingOp::ZSetMulti { end, count } => PopOp::ZSetMulti { end, count },
            // The per-key ids are the writer's to resolve; from the command alone this
            // serves nothing (only its reply shape and type are used).
            BlockingOp::StreamRead { count, .. } => PopOp::StreamRead {
                count,
                after: StreamId {
                    ms: u64::MAX,
                    seq: u64::MAX,
                },
            },
            BlockingOp::StreamReadGroup {
                ref group,
                ref consumer,
                count,
                noack,
                ..
            } => PopOp::StreamReadGroup {
                group,
                consumer,
                count,
                noack,
            },
        }
    }
}

impl PopOp<'_> {
    /// The type of the keys it pops from.
    pub fn pops_from(self) -> KeyType {
        match self {
            PopOp::List { .. } | PopOp::ListMulti { .. } | PopOp::Move { .. } => KeyType::List,
            PopOp::ZSet { .. } | PopOp::ZSetMulti { .. } => KeyType::ZSet,
            PopOp::StreamRead { .. } | PopOp::StreamReadGroup { .. } => KeyType::Stream,
        }
    }

    /// The reply when it times out (or is unblocked with `TIMEOUT`).
    pub fn timeout_reply(self) -> Reply {
        match self {
            PopOp::Move { .. } => Reply::Nil,
            _ => Reply::NilArray,
        }
    }
}

/// Runs a blocking pop without waiting: the non-blocking form's effect, with the blocking
/// command's reply shape; the timeout reply (a null) when every key is empty.
///
/// # Errors
/// `WRONGTYPE` for the first key of another type met before a non-empty one (and for a
/// `BLMOVE` destination of another type), as Redis does.
pub fn pop<W: StoreWrite + ?Sized>(w: &mut W, at: At, op: PopOp<'_>, keys: &[&[u8]]) -> CmdResult {
    match op {
        PopOp::List { end } => {
            for &key in keys {
                if let Reply::Bulk(v) = list::pop(w, at, key, end, None)? {
                    return Ok(Reply::Array(vec![Reply::bulk(key), Reply::Bulk(v)]));
                }
            }
            Ok(Reply::NilArray)
        }
        PopOp::ListMulti { end, count } => list::lmpop(w, at, keys.iter().copied(), end, count),
        PopOp::Move { dst, from, to } => match keys.first() {
            Some(src) => list::lmove(w, at, src, dst, from, to),
            None => Ok(Reply::Nil),
        },
        PopOp::ZSet { end } => {
            match zset::zmpop(w, at, keys, end, 1)? {
                // `[key, [[member, score]]]` flattened to `[key, member, score]`.
                Reply::Array(mut parts) if parts.len() == 2 => {
                    let Some(Reply::Array(items)) = parts.pop() else {
                        return Ok(Reply::NilArray);
                    };
                    let mut out = parts;
                    for item in items {
                        if let Reply::Array(pair) = item {
                            out.extend(pair);
                        }
                    }
                    Ok(Reply::Array(out))
                }
                other => Ok(other),
            }
        }
        PopOp::ZSetMulti { end, count } => zset::zmpop(w, at, keys, end, count),
        PopOp::StreamRead { count, after } => {
            for &key in keys {
                let reply = stream::read_blocked(&*w, at, key, after, count)?;
                if reply != Reply::NilArray {
                    return Ok(reply);
                }
            }
            Ok(Reply::NilArray)
        }
        PopOp::StreamReadGroup {
            group,
            consumer,
            count,
            noack,
        } => {
            for &key in keys {
                let read = stream::read_group_blocked(w, at, key, group, consumer, count, noack)?;
                if read.reply != Reply::NilArray {
                    return Ok(read.reply);
                }
            }
            Ok(Reply::NilArray)
        }
    }
}
