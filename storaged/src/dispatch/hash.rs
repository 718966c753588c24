//! Hashes: HGET, HMGET, HLEN, HSTRLEN, HEXISTS, HGETALL, HKEYS, HVALS, HSCAN, HRANDFIELD;
//! HSET, HMSET, HSETNX, HDEL, HINCRBY, HINCRBYFLOAT.

use tandem_shared::command::ArchivedCommand;
use tandem_shared::Reply;

use super::arm::{done, member_scan_options, LIGHT_READ_MAX};
use crate::engine::group::WriteGroup;
use crate::engine::{KvEngine, StoreRead};
use crate::events::{int, Flags};
use crate::types::hash::{self, HashPart};
use crate::types::{At, CmdResult};

const H: u32 = Flags::HASH;

/// The light reads (see [`super::is_light_read`]).
pub(super) fn light(cmd: &ArchivedCommand) -> bool {
    use ArchivedCommand as C;
    match cmd {
        C::HGet { .. } | C::HLen { .. } | C::HStrLen { .. } | C::HExists { .. } => true,
        C::HMGet { fields, .. } => fields.len() <= LIGHT_READ_MAX,
        _ => false,
    }
}

/// The read-only hash commands; `None` for any other command.
pub(super) fn read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    Some(match cmd {
        C::HGet { key, field } => hash::hget(s, at, key, field),
        C::HMGet { key, fields } => hash::hmget(s, at, key, fields.iter().map(|f| f.as_slice())),
        C::HLen { key } => hash::hlen(s, at, key),
        C::HStrLen { key, field } => hash::hstrlen(s, at, key, field),
        C::HExists { key, field } => hash::hexists(s, at, key, field),
        C::HGetAll { key } => hash::hgetall(s, at, key, HashPart::Both),
        C::HKeys { key } => hash::hgetall(s, at, key, HashPart::Fields),
        C::HVals { key } => hash::hgetall(s, at, key, HashPart::Values),
        C::HScan {
            key,
            cursor,
            pattern,
            count,
            invalid,
        } => {
            let opts = member_scan_options(pattern.as_ref(), count.to_native(), invalid.as_ref());
            hash::hscan(s, at, key, cursor.to_native(), opts)
        }
        C::HRandField {
            key,
            count,
            with_values,
        } => hash::hrandfield(
            s,
            at,
            key,
            count.as_ref().map(|c| c.to_native()),
            *with_values,
        ),
        _ => return None,
    })
}

/// The hash commands that write, each with its keyspace events; `None` for any other.
pub(super) fn write<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    let db = at.db;
    Some(match cmd {
        C::HSet { key, pairs } => {
            let pairs = pairs.iter().map(|p| (p.0.as_slice(), p.1.as_slice()));
            let r = hash::hset(w, at, key, pairs);
            done(w, r, |e, _| e.write(H, "hset", db, key))
        }
        C::HMSet { key, pairs } => {
            let pairs = pairs.iter().map(|p| (p.0.as_slice(), p.1.as_slice()));
            let r = hash::hset(w, at, key, pairs).map(|_| Reply::ok());
            done(w, r, |e, _| e.write(H, "hset", db, key))
        }
        C::HSetNx { key, field, value } => {
            let r = hash::hsetnx(w, at, key, field, value);
            done(w, r, |e, reply| {
                if int(reply) == 1 {
                    e.write(H, "hset", db, key);
                }
            })
        }
        C::HDel { key, fields } => {
            let r = hash::hdel(w, at, key, fields.iter().map(|f| f.as_slice()));
            done(w, r, |e, reply| {
                if int(reply) > 0 {
                    e.shrink(H, "hdel", db, key);
                }
            })
        }
        C::HIncrBy { key, field, delta } => {
            let r = hash::hincrby(w, at, key, field, delta.to_native());
            done(w, r, |e, _| e.write(H, "hincrby", db, key))
        }
        C::HIncrByFloat { key, field, delta } => {
            let r = hash::hincrbyfloat(w, at, key, field, delta);
            done(w, r, |e, _| e.write(H, "hincrbyfloat", db, key))
        }
        _ => return None,
    })
}
