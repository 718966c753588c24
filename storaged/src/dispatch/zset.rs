//! Sorted sets: ZCARD, ZSCORE, ZMSCORE, ZCOUNT, ZLEXCOUNT, ZRANGE (and its BYSCORE, BYLEX,
//! REV forms), ZRANK, ZREVRANK, ZRANDMEMBER, ZSCAN, ZUNION, ZINTER, ZDIFF, ZINTERCARD; ZADD,
//! ZINCRBY, ZREM, ZRANGESTORE, ZREMRANGEBY*, ZPOPMIN, ZPOPMAX, ZMPOP, ZUNIONSTORE,
//! ZINTERSTORE, ZDIFFSTORE.

use tandem_shared::command::{
    ArchivedCommand, ArchivedLexBound, ArchivedScoreBound, ArchivedZAddCompare,
    ArchivedZAddCondition, ArchivedZAggregate, ArchivedZEnd, ArchivedZLimit, ArchivedZRangeBy,
    ArchivedZSetOp, LexBound, ScoreBound, ZAddCompare, ZAddCondition, ZAddOptions, ZAggregate,
    ZEnd, ZLimit, ZRangeBy, ZSetOp,
};

use super::arm::{done, key_slices, member_scan_options};
use crate::engine::group::WriteGroup;
use crate::engine::{KvEngine, StoreRead};
use crate::events::{int, mpop_key, popped, Flags};
use crate::types::zset;
use crate::types::{At, CmdResult};

const Z: u32 = Flags::ZSET;

/// The light reads (see [`super::is_light_read`]).
pub(super) fn light(cmd: &ArchivedCommand) -> bool {
    matches!(
        cmd,
        ArchivedCommand::ZCard { .. } | ArchivedCommand::ZScore { .. }
    )
}

/// The read-only sorted-set commands; `None` for any other command.
pub(super) fn read<S: StoreRead + ?Sized>(
    s: &S,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    Some(match cmd {
        C::ZCard { key } => zset::zcard(s, at, key),
        C::ZScore { key, member } => zset::zscore(s, at, key, member),
        C::ZMScore { key, members } => zset::zmscore(s, at, key, &key_slices(members)),
        C::ZCount { key, min, max } => zset::zcount(
            s,
            at,
            key,
            &ZRangeBy::Score {
                min: score_bound(min),
                max: score_bound(max),
            },
        ),
        C::ZLexCount { key, min, max } => zset::zcount(
            s,
            at,
            key,
            &ZRangeBy::Lex {
                min: lex_bound(min),
                max: lex_bound(max),
            },
        ),
        C::ZRange {
            key,
            by,
            rev,
            limit,
            with_scores,
        } => zset::zrange(
            s,
            at,
            key,
            &range_by(by),
            *rev,
            limit_of(limit.as_ref()),
            *with_scores,
        ),
        C::ZRank {
            key,
            member,
            rev,
            with_score,
        } => zset::zrank(s, at, key, member, *rev, *with_score),
        C::ZRandMember {
            key,
            count,
            with_scores,
        } => zset::zrandmember(
            s,
            at,
            key,
            count.as_ref().map(|c| c.to_native()),
            *with_scores,
        ),
        C::ZScan {
            key,
            cursor,
            pattern,
            count,
            invalid,
        } => zset::zscan(
            s,
            at,
            key,
            cursor.to_native(),
            member_scan_options(pattern.as_ref(), count.to_native(), invalid.as_ref()),
        ),
        C::ZCombine {
            op,
            keys,
            weights,
            aggregate,
            with_scores,
        } => zset::zcombine(
            s,
            at,
            set_op(op),
            &key_slices(keys),
            &weights_of(weights),
            aggregate_of(aggregate),
            *with_scores,
        ),
        C::ZInterCard { keys, limit } => {
            zset::zintercard(s, at, &key_slices(keys), limit.to_native())
        }
        _ => return None,
    })
}

/// The sorted-set commands that write, each with its keyspace events; `None` for any other.
pub(super) fn write<E: KvEngine>(
    w: &mut WriteGroup<'_, E>,
    at: At,
    cmd: &ArchivedCommand,
) -> Option<CmdResult> {
    use ArchivedCommand as C;
    let db = at.db;
    Some(match cmd {
        C::ZAdd {
            key,
            options,
            pairs,
        } => {
            let opts = ZAddOptions {
                condition: match options.condition {
                    ArchivedZAddCondition::Always => ZAddCondition::Always,
                    ArchivedZAddCondition::Nx => ZAddCondition::Nx,
                    ArchivedZAddCondition::Xx => ZAddCondition::Xx,
                },
                compare: match options.compare {
                    ArchivedZAddCompare::Any => ZAddCompare::Any,
                    ArchivedZAddCompare::Gt => ZAddCompare::Gt,
                    ArchivedZAddCompare::Lt => ZAddCompare::Lt,
                },
                changed: options.changed,
                incr: options.incr,
            };
            let pairs: Vec<(f64, &[u8])> = pairs
                .iter()
                .map(|p| (p.0.to_native(), p.1.as_slice()))
                .collect();
            let r = zset::zadd(w, at, key, opts, &pairs);
            done(w, r, |e, _| {
                if e.changed(db, key) {
                    let name = if opts.incr { "zincr" } else { "zadd" };
                    e.write(Z, name, db, key);
                }
            })
        }
        C::ZIncrBy { key, delta, member } => {
            let r = zset::zincrby(w, at, key, delta.to_native(), member);
            done(w, r, |e, _| e.write(Z, "zincr", db, key))
        }
        C::ZRem { key, members } => {
            let r = zset::zrem(w, at, key, &key_slices(members));
            done(w, r, |e, reply| {
                if int(reply) > 0 {
                    e.shrink(Z, "zrem", db, key);
                }
            })
        }
        C::ZRangeStore {
            dst,
            src,
            by,
            rev,
            limit,
        } => {
            let r = zset::zrangestore(
                w,
                at,
                dst,
                src,
                &range_by(by),
                *rev,
                limit_of(limit.as_ref()),
            );
            done(w, r, |e, reply| e.store(Z, "zrangestore", db, dst, reply))
        }
        C::ZRemRange { key, by } => {
            let r = zset::zremrange(w, at, key, &range_by(by));
            done(w, r, |e, reply| {
                if int(reply) > 0 {
                    let name = match by {
                        ArchivedZRangeBy::Rank { .. } => "zremrangebyrank",
                        ArchivedZRangeBy::Score { .. } => "zremrangebyscore",
                        ArchivedZRangeBy::Lex { .. } => "zremrangebylex",
                    };
                    e.shrink(Z, name, db, key);
                }
            })
        }
        C::ZPop { key, end, count } => {
            let end = end_of_pop(end);
            let r = zset::zpop(w, at, key, end, count.as_ref().map(|c| c.to_native()));
            done(w, r, |e, reply| {
                if popped(reply) {
                    e.shrink(Z, zpop_name(end), db, key);
                }
            })
        }
        C::ZMPop { keys, end, count } => {
            let end = end_of_pop(end);
            let r = zset::zmpop(w, at, &key_slices(keys), end, count.to_native());
            done(w, r, |e, reply| {
                if let Some(key) = mpop_key(reply) {
                    e.shrink(Z, zpop_name(end), db, key);
                }
            })
        }
        C::ZCombineStore {
            dst,
            op,
            keys,
            weights,
            aggregate,
        } => {
            let op = set_op(op);
            let r = zset::zcombinestore(
                w,
                at,
                dst,
                op,
                &key_slices(keys),
                &weights_of(weights),
                aggregate_of(aggregate),
            );
            done(w, r, |e, reply| {
                let name = match op {
                    ZSetOp::Union => "zunionstore",
                    ZSetOp::Inter => "zinterstore",
                    ZSetOp::Diff => "zdiffstore",
                };
                e.store(Z, name, db, dst, reply);
            })
        }
        _ => return None,
    })
}

/// The event a pop from `end` announces.
fn zpop_name(end: ZEnd) -> &'static str {
    match end {
        ZEnd::Min => "zpopmin",
        ZEnd::Max => "zpopmax",
    }
}

fn score_bound(b: &ArchivedScoreBound) -> ScoreBound {
    ScoreBound {
        value: b.value.to_native(),
        exclusive: b.exclusive,
    }
}

fn lex_bound(b: &ArchivedLexBound) -> LexBound {
    match b {
        ArchivedLexBound::Min => LexBound::Min,
        ArchivedLexBound::Max => LexBound::Max,
        ArchivedLexBound::Inclusive(x) => LexBound::Inclusive(x.to_vec()),
        ArchivedLexBound::Exclusive(x) => LexBound::Exclusive(x.to_vec()),
    }
}

fn range_by(b: &ArchivedZRangeBy) -> ZRangeBy {
    match b {
        ArchivedZRangeBy::Rank { start, stop } => ZRangeBy::Rank {
            start: start.to_native(),
            stop: stop.to_native(),
        },
        ArchivedZRangeBy::Score { min, max } => ZRangeBy::Score {
            min: score_bound(min),
            max: score_bound(max),
        },
        ArchivedZRangeBy::Lex { min, max } => ZRangeBy::Lex {
            min: lex_bound(min),
            max: lex_bound(max),
        },
    }
}

fn limit_of(l: Option<&ArchivedZLimit>) -> Option<ZLimit> {
    l.map(|l| ZLimit {
        offset: l.offset.to_native(),
        count: l.count.to_native(),
    })
}

fn end_of_pop(e: &ArchivedZEnd) -> ZEnd {
    match e {
        ArchivedZEnd::Min => ZEnd::Min,
        ArchivedZEnd::Max => ZEnd::Max,
    }
}

fn set_op(o: &ArchivedZSetOp) -> ZSetOp {
    match o {
        ArchivedZSetOp::Union => ZSetOp::Union,
        ArchivedZSetOp::Inter => ZSetOp::Inter,
        ArchivedZSetOp::Diff => ZSetOp::Diff,
    }
}

fn aggregate_of(a: &ArchivedZAggregate) -> ZAggregate {
    match a {
        ArchivedZAggregate::Sum => ZAggregate::Sum,
        ArchivedZAggregate::Min => ZAggregate::Min,
        ArchivedZAggregate::Max => ZAggregate::Max,
    }
}

fn weights_of(v: &[rkyv::rend::f64_le]) -> Vec<f64> {
    v.iter().map(|w| w.to_native()).collect()
}
