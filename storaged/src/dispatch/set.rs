//! Sets: SCARD, SISMEMBER, SMISMEMBER, SMEMBERS, SRANDMEMBER, SINTER, SUNION, SDIFF,
//! SINTERCARD, SSCAN; SADD, SREM, SPOP, SMOVE, SINTERSTORE, SUNIONSTORE, SDIFFSTORE.

use tandem_shared::command::ArchivedCommand;

use super::arm::{done, key_slices, member_scan_options};
use crate::engine::group::WriteGroup;
use crate::engine::{KvEngine, StoreRead};
use crate::events::{int, popped, Flags};
use crate::types::set::{self, SetOp};
use crate::types::{At, CmdResult};

const SET: u32 = Flags::SET;

/// The light reads (see [`super::is_light_read`]).
pub(super) fn light(cmd: &ArchivedCommand) -> bool {
    matches!(
        cmd,
        ArchivedCommand::SCard { .. } | ArchivedCommand::SIsMember { .. }
    )
}

/// The read-only set commands; `None` for any other command.
pub(super) fn read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    Some(match cmd {
        C::SCard { key } => set::scard(s, at, key),
        C::SIsMember { key, member } => set::sismember(s, at, key, member),
        C::SMIsMember { key, members } => {
            set::smismember(s, at, key, members.iter().map(|m| m.as_slice()))
        }
        C::SMembers { key } => set::smembers(s, at, key),
        C::SRandMember { key } => set::srandmember(s, at, key, None),
        C::SRandMemberCount { key, count } => set::srandmember(s, at, key, Some(count.to_native())),
        C::SInter { keys } => set::algebra(s, at, SetOp::Inter, &key_slices(keys)),
        C::SUnion { keys } => set::algebra(s, at, SetOp::Union, &key_slices(keys)),
        C::SDiff { keys } => set::algebra(s, at, SetOp::Diff, &key_slices(keys)),
        C::SInterCard { keys, limit } => {
            set::sintercard(s, at, &key_slices(keys), limit.to_native())
        }
        C::SScan {
            key,
            cursor,
            pattern,
            count,
            invalid,
        } => {
            let opts = member_scan_options(pattern.as_ref(), count.to_native(), invalid.as_ref());
            set::sscan(s, at, key, cursor.to_native(), opts)
        }
        _ => return None,
    })
}

/// The set commands that write, each with its keyspace events; `None` for any other.
pub(super) fn write<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    let db = at.db;
    Some(match cmd {
        C::SAdd { key, members } => {
            let r = set::sadd(w, at, key, members.iter().map(|m| m.as_slice()));
            done(w, r, |e, reply| {
                if int(reply) > 0 {
                    e.write(SET, "sadd", db, key);
                }
            })
        }
        C::SRem { key, members } => {
            let r = set::srem(w, at, key, members.iter().map(|m| m.as_slice()));
            done(w, r, |e, reply| {
                if int(reply) > 0 {
                    e.shrink(SET, "srem", db, key);
                }
            })
        }
        C::SPop { key } | C::SPopCount { key, .. } => {
            let count = match cmd {
                C::SPopCount { count, .. } => Some(count.to_native()),
                _ => None,
            };
            let r = set::spop(w, at, key, count);
            done(w, r, |e, reply| {
                if popped(reply) {
                    e.shrink(SET, "spop", db, key);
                }
            })
        }
        C::SMove { src, dst, member } => {
            let r = set::smove(w, at, src, dst, member);
            done(w, r, |e, reply| {
                if int(reply) == 1 && src != dst {
                    e.shrink(SET, "srem", db, src);
                    e.write(SET, "sadd", db, dst);
                }
            })
        }
        C::SInterStore { dst, keys } => {
            let r = set::store(w, at, SetOp::Inter, dst, &key_slices(keys));
            done(w, r, |e, reply| e.store(SET, "sinterstore", db, dst, reply))
        }
        C::SUnionStore { dst, keys } => {
            let r = set::store(w, at, SetOp::Union, dst, &key_slices(keys));
            done(w, r, |e, reply| e.store(SET, "sunionstore", db, dst, reply))
        }
        C::SDiffStore { dst, keys } => {
            let r = set::store(w, at, SetOp::Diff, dst, &key_slices(keys));
            done(w, r, |e, reply| e.store(SET, "sdiffstore", db, dst, reply))
        }
        _ => return None,
    })
}
