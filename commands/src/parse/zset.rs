//! Parsers for the sorted-set commands (`ZADD`, the `ZRANGE` family, `ZPOPMIN`, `ZMPOP`,
//! `ZUNIONSTORE` …).
//!
//! Each parser turns arguments whose count the table already checked into a typed
//! [`Command`], raising every error Redis raises before it looks at a key, in Redis's
//! order: option conflicts, bad scores, bad ranges, numkeys. Ranges are normalised here:
//! the `REV` forms take `max min`, and the command carries them as (low, high). Whatever
//! depends on stored data (`WRONGTYPE`, `ZSCAN`'s option errors, NaN sums) is storaged's.

use tandem_shared::command::{
    LexBound, ScoreBound, ZAddCompare, ZAddCondition, ZAddOptions, ZAggregate, ZEnd, ZLimit,
    ZRangeBy, ZSetOp,
};
use tandem_shared::Command;

use super::keyspace::{parse_member_scan, MemberScan};
use super::set::RANDOM_REPEATS_MAX;
use crate::args::ParseCtx;
use crate::args::{parse_f64, parse_i64, Args};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, keynum, range, CommandSpec, Doc, Handler, KeySpec};
use crate::{acl, flags, key_flags};

fn not_float_range() -> CommandError {
    CommandError::err("min or max is not a float")
}

fn not_lex_range() -> CommandError {
    CommandError::err("min or max not valid string range item")
}

/// A score, increment or weight as Redis's `getDoubleFromObject` reads it: like
/// [`parse_f64`], but a value that overflows to infinity or underflows to zero (`strtod`'s
/// `ERANGE`) is refused, where range ends accept it.
pub fn parse_score(raw: &[u8]) -> Option<f64> {
    let v = parse_f64(raw)?;
    let text = raw.to_ascii_lowercase();
    let unsigned = text
        .strip_prefix(b"-")
        .or(text.strip_prefix(b"+"))
        .unwrap_or(&text);
    if v.is_infinite() && !unsigned.starts_with(b"inf") {
        return None;
    }
    let mantissa = unsigned.split(|&c| c == b'e').next().unwrap_or_default();
    if v == 0.0 && mantissa.iter().any(|c| (b'1'..=b'9').contains(c)) {
        return None;
    }
    Some(v)
}

/// A score range end as Redis's `zslParseRange` reads it: `(` makes it exclusive, the rest
/// goes through `strtod` (so an empty rest is 0), and NaN is refused.
pub fn parse_score_bound(raw: &[u8]) -> Result<ScoreBound, CommandError> {
    let (exclusive, text) = match raw.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, raw),
    };
    let value = if text.is_empty() {
        0.0
    } else {
        parse_f64(text).ok_or_else(not_float_range)?
    };
    Ok(ScoreBound { value, exclusive })
}

/// A lex range end: `-`, `+`, `[member` or `(member`.
pub fn parse_lex_bound(raw: &[u8]) -> Result<LexBound, CommandError> {
    match raw.split_first() {
        Some((b'-', [])) => Ok(LexBound::Min),
        Some((b'+', [])) => Ok(LexBound::Max),
        Some((b'[', rest)) => Ok(LexBound::Inclusive(rest.to_vec())),
        Some((b'(', rest)) => Ok(LexBound::Exclusive(rest.to_vec())),
        _ => Err(not_lex_range()),
    }
}

/// `ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member …]`
pub fn zadd(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let (mut nx, mut xx, mut gt, mut lt, mut ch, mut incr) =
        (false, false, false, false, false, false);
    loop {
        if args.eat("NX") {
            nx = true;
        } else if args.eat("XX") {
            xx = true;
        } else if args.eat("GT") {
            gt = true;
        } else if args.eat("LT") {
            lt = true;
        } else if args.eat("CH") {
            ch = true;
        } else if args.eat("INCR") {
            incr = true;
        } else {
            break;
        }
    }
    let rest = args.rest();
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(CommandError::Syntax);
    }
    if nx && xx {
        return Err(CommandError::err(
            "XX and NX options at the same time are not compatible",
        ));
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Err(CommandError::err(
            "GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && rest.len() > 2 {
        return Err(CommandError::err(
            "INCR option supports a single increment-element pair",
        ));
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    for pair in rest.chunks_exact(2) {
        let score = parse_score(&pair[0]).ok_or(CommandError::NotFloat)?;
        pairs.push((score, pair[1].to_vec()));
    }
    let options = ZAddOptions {
        condition: if nx {
            ZAddCondition::Nx
        } else if xx {
            ZAddCondition::Xx
        } else {
            ZAddCondition::Always
        },
        compare: if gt {
            ZAddCompare::Gt
        } else if lt {
            ZAddCompare::Lt
        } else {
            ZAddCompare::Any
        },
        changed: ch,
        incr,
    };
    Ok(Command::ZAdd {
        key,
        options,
        pairs,
    })
}

/// `ZINCRBY key increment member`
pub fn zincrby(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let delta = parse_score(&args.next_bytes()?).ok_or(CommandError::NotFloat)?;
    let member = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::ZIncrBy { key, delta, member })
}

/// `ZREM key member [member …]`
pub fn zrem(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    Ok(Command::ZRem {
        key,
        members: args.rest_vecs(),
    })
}

/// `ZCARD key`
pub fn zcard(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::ZCard { key })
}

/// `ZSCORE key member`
pub fn zscore(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let member = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::ZScore { key, member })
}

/// `ZMSCORE key member [member …]`
pub fn zmscore(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    Ok(Command::ZMScore {
        key,
        members: args.rest_vecs(),
    })
}

/// `ZCOUNT key min max`
pub fn zcount(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let min = parse_score_bound(&args.next_bytes()?)?;
    let max = parse_score_bound(&args.next_bytes()?)?;
    args.expect_end()?;
    Ok(Command::ZCount { key, min, max })
}

/// `ZLEXCOUNT key min max`
pub fn zlexcount(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let min = parse_lex_bound(&args.next_bytes()?)?;
    let max = parse_lex_bound(&args.next_bytes()?)?;
    args.expect_end()?;
    Ok(Command::ZLexCount { key, min, max })
}

/// How a range is selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Rank,
    Score,
    Lex,
}

/// Which entry point of Redis's `zrangeGenericCommand` a command is.
#[derive(Debug, Clone, Copy)]
struct RangeForm {
    /// Fixed by the command name (`ZRANGEBYSCORE`), or `None` for `ZRANGE`'s `BY…` words.
    kind: Option<RangeKind>,
    /// Fixed by the command name (`ZREVRANGE`), or `None` for `ZRANGE`'s `REV` word.
    rev: Option<bool>,
    /// `ZRANGESTORE`: no `WITHSCORES`.
    store: bool,
}

/// A parsed range request.
struct ParsedRange {
    by: ZRangeBy,
    rev: bool,
    limit: Option<ZLimit>,
    with_scores: bool,
}

/// Redis's `zrangeGenericCommand` argument handling: options first, then conflicts, then
/// the two range ends (swapped for reverse score and lex ranges).
fn parse_range(args: &mut Args, form: RangeForm) -> Result<ParsedRange, CommandError> {
    let first = args.next_bytes()?;
    let second = args.next_bytes()?;
    let (mut kind, mut rev) = (form.kind, form.rev);
    let mut with_scores = false;
    let mut limit: Option<(i64, i64)> = None;
    while args.remaining() > 0 {
        if !form.store && args.eat("WITHSCORES") {
            with_scores = true;
        } else if args.remaining() >= 3 && args.eat("LIMIT") {
            let offset = args.next_i64()?;
            let count = args.next_i64()?;
            limit = Some((offset, count));
        } else if rev.is_none() && args.eat("REV") {
            rev = Some(true);
        } else if kind.is_none() && args.eat("BYLEX") {
            kind = Some(RangeKind::Lex);
        } else if kind.is_none() && args.eat("BYSCORE") {
            kind = Some(RangeKind::Score);
        } else {
            return Err(CommandError::Syntax);
        }
    }
    let kind = kind.unwrap_or(RangeKind::Rank);
    let rev = rev.unwrap_or(false);
    // Redis tests the count against its "no limit" default, so `LIMIT x -1` passes here.
    if kind == RangeKind::Rank && limit.is_some_and(|(_, count)| count != -1) {
        return Err(CommandError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if with_scores && kind == RangeKind::Lex {
        return Err(CommandError::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (low, high) = if rev && kind != RangeKind::Rank {
        (second, first)
    } else {
        (first, second)
    };
    let by = match kind {
        RangeKind::Rank => ZRangeBy::Rank {
            start: parse_i64(&low).ok_or(CommandError::NotInteger)?,
            stop: parse_i64(&high).ok_or(CommandError::NotInteger)?,
        },
        RangeKind::Score => ZRangeBy::Score {
            min: parse_score_bound(&low)?,
            max: parse_score_bound(&high)?,
        },
        RangeKind::Lex => ZRangeBy::Lex {
            min: parse_lex_bound(&low)?,
            max: parse_lex_bound(&high)?,
        },
    };
    let limit = match kind {
        RangeKind::Rank => None,
        _ => limit.map(|(offset, count)| ZLimit { offset, count }),
    };
    Ok(ParsedRange {
        by,
        rev,
        limit,
        with_scores,
    })
}

fn range_command(args: &mut Args, form: RangeForm) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let r = parse_range(args, form)?;
    Ok(Command::ZRange {
        key,
        by: r.by,
        rev: r.rev,
        limit: r.limit,
        with_scores: r.with_scores,
    })
}

const fn form(kind: Option<RangeKind>, rev: Option<bool>) -> RangeForm {
    RangeForm {
        kind,
        rev,
        store: false,
    }
}

/// `ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]`
pub fn zrange(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    range_command(args, form(None, None))
}

/// `ZREVRANGE key start stop [WITHSCORES]`
pub fn zrevrange(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    range_command(args, form(Some(RangeKind::Rank), Some(true)))
}

/// `ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]`
pub fn zrangebyscore(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    range_command(args, form(Some(RangeKind::Score), Some(false)))
}

/// `ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]`
pub fn zrevrangebyscore(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    range_command(args, form(Some(RangeKind::Score), Some(true)))
}

/// `ZRANGEBYLEX key min max [LIMIT offset count]`
pub fn zrangebylex(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    range_command(args, form(Some(RangeKind::Lex), Some(false)))
}

/// `ZREVRANGEBYLEX key max min [LIMIT offset count]`
pub fn zrevrangebylex(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    range_command(args, form(Some(RangeKind::Lex), Some(true)))
}

/// `ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]`
pub fn zrangestore(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let dst = args.next_vec()?;
    let src = args.next_vec()?;
    let r = parse_range(
        args,
        RangeForm {
            kind: None,
            rev: None,
            store: true,
        },
    )?;
    Ok(Command::ZRangeStore {
        dst,
        src,
        by: r.by,
        rev: r.rev,
        limit: r.limit,
    })
}

fn rank(args: &mut Args, rev: bool) -> Result<Command, CommandError> {
    let name = if rev { "zrevrank" } else { "zrank" };
    if args.remaining() > 3 {
        return Err(CommandError::WrongArity(name.to_owned()));
    }
    let key = args.next_vec()?;
    let member = args.next_vec()?;
    let with_score = match args.remaining() {
        0 => false,
        _ if args.eat("WITHSCORE") => true,
        _ => return Err(CommandError::Syntax),
    };
    args.expect_end()?;
    Ok(Command::ZRank {
        key,
        member,
        rev,
        with_score,
    })
}

/// `ZRANK key member [WITHSCORE]`
pub fn zrank(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    rank(args, false)
}

/// `ZREVRANK key member [WITHSCORE]`
pub fn zrevrank(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    rank(args, true)
}

/// `ZREMRANGEBYRANK key start stop`
pub fn zremrangebyrank(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let start = args.next_i64()?;
    let stop = args.next_i64()?;
    args.expect_end()?;
    Ok(Command::ZRemRange {
        key,
        by: ZRangeBy::Rank { start, stop },
    })
}

/// `ZREMRANGEBYSCORE key min max`
pub fn zremrangebyscore(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let min = parse_score_bound(&args.next_bytes()?)?;
    let max = parse_score_bound(&args.next_bytes()?)?;
    args.expect_end()?;
    Ok(Command::ZRemRange {
        key,
        by: ZRangeBy::Score { min, max },
    })
}

/// `ZREMRANGEBYLEX key min max`
pub fn zremrangebylex(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let min = parse_lex_bound(&args.next_bytes()?)?;
    let max = parse_lex_bound(&args.next_bytes()?)?;
    args.expect_end()?;
    Ok(Command::ZRemRange {
        key,
        by: ZRangeBy::Lex { min, max },
    })
}

fn pop(args: &mut Args, end: ZEnd) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let count = match args.remaining() {
        0 => None,
        1 => Some(
            parse_i64(&args.next_bytes()?)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| CommandError::err("value is out of range, must be positive"))?,
        ),
        _ => return Err(CommandError::Syntax),
    };
    Ok(Command::ZPop { key, end, count })
}

/// `ZPOPMIN key [count]`
pub fn zpopmin(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    pop(args, ZEnd::Min)
}

/// `ZPOPMAX key [count]`
pub fn zpopmax(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    pop(args, ZEnd::Max)
}

/// `ZRANDMEMBER key [count [WITHSCORES]]`; repeats are bounded as for `SRANDMEMBER`.
pub fn zrandmember(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    if args.remaining() == 0 {
        return Ok(Command::ZRandMember {
            key,
            count: None,
            with_scores: false,
        });
    }
    let count = args.next_i64()?;
    if count == i64::MIN {
        return Err(CommandError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let with_scores = match args.remaining() {
        0 => false,
        1 if args.eat("WITHSCORES") => true,
        _ => return Err(CommandError::Syntax),
    };
    if with_scores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CommandError::err("value is out of range"));
    }
    if count < 0 && count.unsigned_abs() > RANDOM_REPEATS_MAX {
        return Err(CommandError::err(format!(
            "value is out of range, value must between -{RANDOM_REPEATS_MAX} and 9223372036854775807"
        )));
    }
    Ok(Command::ZRandMember {
        key,
        count: Some(count),
        with_scores,
    })
}

/// `ZSCAN key cursor [MATCH pattern] [COUNT count]`. A bad cursor fails here; a bad option
/// travels to storaged, since Redis reports it only for an existing sorted set.
pub fn zscan(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let MemberScan {
        key,
        cursor,
        pattern,
        count,
        invalid,
    } = parse_member_scan(args)?;
    Ok(Command::ZScan {
        key,
        cursor,
        pattern,
        count,
        invalid,
    })
}

/// `numkeys key…` of `ZUNION` & co: a non-positive count names the command, more keys
/// than arguments is a syntax error.
fn numkeys_keys(args: &mut Args, name: &str) -> Result<Vec<Vec<u8>>, CommandError> {
    let n = args.next_i64()?;
    if n < 1 {
        return Err(CommandError::err(format!(
            "at least 1 input key is needed for '{name}' command"
        )));
    }
    take_keys(args, n)
}

fn take_keys(args: &mut Args, n: i64) -> Result<Vec<Vec<u8>>, CommandError> {
    let n = usize::try_from(n)
        .ok()
        .filter(|&n| n <= args.remaining())
        .ok_or(CommandError::Syntax)?;
    (0..n).map(|_| args.next_vec()).collect()
}

struct CombineOptions {
    weights: Vec<f64>,
    aggregate: ZAggregate,
    with_scores: bool,
}

/// `WEIGHTS`, `AGGREGATE` (not for `ZDIFF`) and `WITHSCORES` (not for the store forms).
fn combine_options(
    args: &mut Args,
    op: ZSetOp,
    nkeys: usize,
    store: bool,
) -> Result<CombineOptions, CommandError> {
    let mut o = CombineOptions {
        weights: Vec::new(),
        aggregate: ZAggregate::Sum,
        with_scores: false,
    };
    while args.remaining() > 0 {
        if op != ZSetOp::Diff && args.remaining() > nkeys && args.eat("WEIGHTS") {
            o.weights = (0..nkeys)
                .map(|_| {
                    args.next_bytes().and_then(|b| {
                        parse_score(&b)
                            .ok_or_else(|| CommandError::err("weight value is not a float"))
                    })
                })
                .collect::<Result<_, _>>()?;
        } else if op != ZSetOp::Diff && args.remaining() >= 2 && args.eat("AGGREGATE") {
            let how = args.next_bytes()?;
            o.aggregate = if how.eq_ignore_ascii_case(b"SUM") {
                ZAggregate::Sum
            } else if how.eq_ignore_ascii_case(b"MIN") {
                ZAggregate::Min
            } else if how.eq_ignore_ascii_case(b"MAX") {
                ZAggregate::Max
            } else {
                return Err(CommandError::Syntax);
            };
        } else if !store && args.eat("WITHSCORES") {
            o.with_scores = true;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok(o)
}

fn combine(args: &mut Args, op: ZSetOp, name: &str) -> Result<Command, CommandError> {
    let keys = numkeys_keys(args, name)?;
    let o = combine_options(args, op, keys.len(), false)?;
    Ok(Command::ZCombine {
        op,
        keys,
        weights: o.weights,
        aggregate: o.aggregate,
        with_scores: o.with_scores,
    })
}

fn combine_store(args: &mut Args, op: ZSetOp, name: &str) -> Result<Command, CommandError> {
    let dst = args.next_vec()?;
    let keys = numkeys_keys(args, name)?;
    let o = combine_options(args, op, keys.len(), true)?;
    Ok(Command::ZCombineStore {
        dst,
        op,
        keys,
        weights: o.weights,
        aggregate: o.aggregate,
    })
}

/// `ZUNION numkeys key… [WEIGHTS w…] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
pub fn zunion(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    combine(args, ZSetOp::Union, "zunion")
}

/// `ZINTER numkeys key… [WEIGHTS w…] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]`
pub fn zinter(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    combine(args, ZSetOp::Inter, "zinter")
}

/// `ZDIFF numkeys key… [WITHSCORES]`
pub fn zdiff(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    combine(args, ZSetOp::Diff, "zdiff")
}

/// `ZUNIONSTORE dst numkeys key… [WEIGHTS w…] [AGGREGATE SUM|MIN|MAX]`
pub fn zunionstore(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    combine_store(args, ZSetOp::Union, "zunionstore")
}

/// `ZINTERSTORE dst numkeys key… [WEIGHTS w…] [AGGREGATE SUM|MIN|MAX]`
pub fn zinterstore(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    combine_store(args, ZSetOp::Inter, "zinterstore")
}

/// `ZDIFFSTORE dst numkeys key…`
pub fn zdiffstore(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    combine_store(args, ZSetOp::Diff, "zdiffstore")
}

/// `ZINTERCARD numkeys key… [LIMIT limit]`
pub fn zintercard(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let keys = numkeys_keys(args, "zintercard")?;
    let limit = crate::args::intercard_limit(args)?;
    Ok(Command::ZInterCard { keys, limit })
}

/// `ZMPOP numkeys key… MIN|MAX [COUNT count]`
pub fn zmpop(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let keys = crate::args::mpop_keys(args)?;
    let end = crate::args::min_max(args)?;
    let count = crate::args::mpop_count(args)?;
    Ok(Command::ZMPop { keys, end, count })
}

/// The sorted-set commands' rows of the command table ([`crate::table`]), each
/// beside its parser above; values from redis-server 7.0's `COMMAND INFO`/`COMMAND DOCS`.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "zadd",
        arity: -4,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SORTEDSET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Add one or more members to a sorted set, or update its score if it already exists",
            since: "1.2.0",
            group: "sorted-set",
            complexity: "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("2.4.0", "Accepts multiple elements."),
                ("3.0.2", "Added the `XX`, `NX`, `CH` and `INCR` options."),
                ("6.2.0", "Added the `GT` and `LT` options."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("condition", T::OneOf).since("3.0.2").optional().args(&[
                        arg("nx", T::PureToken).token("NX"),
                        arg("xx", T::PureToken).token("XX"),
                    ]),
                arg("comparison", T::OneOf).since("6.2.0").optional().args(&[
                        arg("gt", T::PureToken).token("GT"),
                        arg("lt", T::PureToken).token("LT"),
                    ]),
                arg("change", T::PureToken).token("CH").since("3.0.2").optional(),
                arg("increment", T::PureToken).token("INCR").since("3.0.2").optional(),
                arg("score_member", T::Block).multiple().args(&[
                        arg("score", T::Double),
                        arg("member", T::String),
                    ]),
            ],
        },
        handler: Handler::Storage(zadd),
    },
    CommandSpec {
        name: "zcard",
        arity: 2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the number of members in a sorted set",
            since: "1.2.0",
            group: "sorted-set",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(zcard),
    },
    CommandSpec {
        name: "zcount",
        arity: 4,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Count the members in a sorted set with scores within the given values",
            since: "2.0.0",
            group: "sorted-set",
            complexity: "O(log(N)) with N being the number of elements in the sorted set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("min", T::Double),
                arg("max", T::Double),
            ],
        },
        handler: Handler::Storage(zcount),
    },
    CommandSpec {
        name: "zdiff",
        arity: -3,
        flags: flags!(READONLY | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(READ | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), keynum(0, 1, 1)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Subtract multiple sorted sets",
            since: "6.2.0",
            group: "sorted-set",
            complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(0).multiple(),
                arg("withscores", T::PureToken).token("WITHSCORES").optional(),
            ],
        },
        handler: Handler::Storage(zdiff),
    },
    CommandSpec {
        name: "zdiffstore",
        arity: -4,
        flags: flags!(WRITE | DENYOOM | MOVABLEKEYS),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(OW | UPDATE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RO | ACCESS), index(2), keynum(0, 1, 1)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Subtract multiple sorted sets and store the resulting sorted set in a new key",
            since: "6.2.0",
            group: "sorted-set",
            complexity: "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("destination", T::Key).key_spec(0),
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(1).multiple(),
            ],
        },
        handler: Handler::Storage(zdiffstore),
    },
    CommandSpec {
        name: "zincrby",
        arity: 4,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SORTEDSET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Increment the score of a member in a sorted set",
            since: "1.2.0",
            group: "sorted-set",
            complexity: "O(log(N)) where N is the number of elements in the sorted set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("increment", T::Integer),
                arg("member", T::String),
            ],
        },
        handler: Handler::Storage(zincrby),
    },
    CommandSpec {
        name: "zinter",
        arity: -3,
        flags: flags!(READONLY | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(READ | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), keynum(0, 1, 1)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Intersect multiple sorted sets",
            since: "6.2.0",
            group: "sorted-set",
            complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(0).multiple(),
                arg("weight", T::Integer).token("WEIGHTS").optional().multiple(),
                arg("aggregate", T::OneOf).token("AGGREGATE").optional().args(&[
                        arg("sum", T::PureToken).token("SUM"),
                        arg("min", T::PureToken).token("MIN"),
                        arg("max", T::PureToken).token("MAX"),
                    ]),
                arg("withscores", T::PureToken).token("WITHSCORES").optional(),
            ],
        },
        handler: Handler::Storage(zinter),
    },
    CommandSpec {
        name: "zintercard",
        arity: -3,
        flags: flags!(READONLY | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(READ | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), keynum(0, 1, 1)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Intersect multiple sorted sets and return the cardinality of the result",
            since: "7.0.0",
            group: "sorted-set",
            complexity: "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(0).multiple(),
                arg("limit", T::Integer).token("LIMIT").optional(),
            ],
        },
        handler: Handler::Storage(zintercard),
    },
    CommandSpec {
        name: "zinterstore",
        arity: -4,
        flags: flags!(WRITE | DENYOOM | MOVABLEKEYS),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(OW | UPDATE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RO | ACCESS), index(2), keynum(0, 1, 1)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Intersect multiple sorted sets and store the resulting sorted set in a new key",
            since: "2.0.0",
            group: "sorted-set",
            complexity: "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("destination", T::Key).key_spec(0),
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(1).multiple(),
                arg("weight", T::Integer).token("WEIGHTS").optional().multiple(),
                arg("aggregate", T::OneOf).token("AGGREGATE").optional().args(&[
                        arg("sum", T::PureToken).token("SUM"),
                        arg("min", T::PureToken).token("MIN"),
                        arg("max", T::PureToken).token("MAX"),
                    ]),
            ],
        },
        handler: Handler::Storage(zinterstore),
    },
    CommandSpec {
        name: "zlexcount",
        arity: 4,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Count the number of members in a sorted set between a given lexicographical range",
            since: "2.8.9",
            group: "sorted-set",
            complexity: "O(log(N)) with N being the number of elements in the sorted set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("min", T::String),
                arg("max", T::String),
            ],
        },
        handler: Handler::Storage(zlexcount),
    },
    CommandSpec {
        name: "zmpop",
        arity: -4,
        flags: flags!(WRITE | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(WRITE | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), keynum(0, 1, 1)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove and return members with scores in a sorted set",
            since: "7.0.0",
            group: "sorted-set",
            complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(0).multiple(),
                arg("where", T::OneOf).args(&[
                        arg("min", T::PureToken).token("MIN"),
                        arg("max", T::PureToken).token("MAX"),
                    ]),
                arg("count", T::Integer).token("COUNT").optional(),
            ],
        },
        handler: Handler::Storage(zmpop),
    },
    CommandSpec {
        name: "zmscore",
        arity: -3,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the score associated with the given members in a sorted set",
            since: "6.2.0",
            group: "sorted-set",
            complexity: "O(N) where N is the number of members being requested.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("member", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(zmscore),
    },
    CommandSpec {
        name: "zpopmax",
        arity: -2,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SORTEDSET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove and return members with the highest scores in a sorted set",
            since: "5.0.0",
            group: "sorted-set",
            complexity: "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("count", T::Integer).optional(),
            ],
        },
        handler: Handler::Storage(zpopmax),
    },
    CommandSpec {
        name: "zpopmin",
        arity: -2,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SORTEDSET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove and return members with the lowest scores in a sorted set",
            since: "5.0.0",
            group: "sorted-set",
            complexity: "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("count", T::Integer).optional(),
            ],
        },
        handler: Handler::Storage(zpopmin),
    },
    CommandSpec {
        name: "zrandmember",
        arity: -2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | SLOW),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get one or multiple random elements from a sorted set",
            since: "6.2.0",
            group: "sorted-set",
            complexity: "O(N) where N is the number of elements returned",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("options", T::Block).optional().args(&[
                        arg("count", T::Integer),
                        arg("withscores", T::PureToken).token("WITHSCORES").optional(),
                    ]),
            ],
        },
        handler: Handler::Storage(zrandmember),
    },
    CommandSpec {
        name: "zrange",
        arity: -4,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Return a range of members in a sorted set",
            since: "1.2.0",
            group: "sorted-set",
            complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("6.2.0", "Added the `REV`, `BYSCORE`, `BYLEX` and `LIMIT` options."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("start", T::String),
                arg("stop", T::String),
                arg("sortby", T::OneOf).since("6.2.0").optional().args(&[
                        arg("byscore", T::PureToken).token("BYSCORE"),
                        arg("bylex", T::PureToken).token("BYLEX"),
                    ]),
                arg("rev", T::PureToken).token("REV").since("6.2.0").optional(),
                arg("offset_count", T::Block).token("LIMIT").since("6.2.0").optional().args(&[
                        arg("offset", T::Integer),
                        arg("count", T::Integer),
                    ]),
                arg("withscores", T::PureToken).token("WITHSCORES").optional(),
            ],
        },
        handler: Handler::Storage(zrange),
    },
    CommandSpec {
        name: "zrangebylex",
        arity: -4,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Return a range of members in a sorted set, by lexicographical range",
            since: "2.8.9",
            group: "sorted-set",
            complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
            doc_flags: &["deprecated"],
            deprecated_since: "6.2.0",
            replaced_by: "`ZRANGE` with the `BYLEX` argument",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("min", T::String),
                arg("max", T::String),
                arg("offset_count", T::Block).token("LIMIT").optional().args(&[
                        arg("offset", T::Integer),
                        arg("count", T::Integer),
                    ]),
            ],
        },
        handler: Handler::Storage(zrangebylex),
    },
    CommandSpec {
        name: "zrangebyscore",
        arity: -4,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Return a range of members in a sorted set, by score",
            since: "1.0.5",
            group: "sorted-set",
            complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
            doc_flags: &["deprecated"],
            deprecated_since: "6.2.0",
            replaced_by: "`ZRANGE` with the `BYSCORE` argument",
            history: &[
                ("2.0.0", "Added the `WITHSCORES` modifier."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("min", T::Double),
                arg("max", T::Double),
                arg("withscores", T::PureToken).token("WITHSCORES").since("2.0.0").optional(),
                arg("offset_count", T::Block).token("LIMIT").optional().args(&[
                        arg("offset", T::Integer),
                        arg("count", T::Integer),
                    ]),
            ],
        },
        handler: Handler::Storage(zrangebyscore),
    },
    CommandSpec {
        name: "zrangestore",
        arity: -5,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: acl!(WRITE | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(OW | UPDATE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RO | ACCESS), index(2), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Store a range of members from sorted set into another key",
            since: "6.2.0",
            group: "sorted-set",
            complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("dst", T::Key).key_spec(0),
                arg("src", T::Key).key_spec(1),
                arg("min", T::String),
                arg("max", T::String),
                arg("sortby", T::OneOf).optional().args(&[
                        arg("byscore", T::PureToken).token("BYSCORE"),
                        arg("bylex", T::PureToken).token("BYLEX"),
                    ]),
                arg("rev", T::PureToken).token("REV").optional(),
                arg("offset_count", T::Block).token("LIMIT").optional().args(&[
                        arg("offset", T::Integer),
                        arg("count", T::Integer),
                    ]),
            ],
        },
        handler: Handler::Storage(zrangestore),
    },
    CommandSpec {
        name: "zrank",
        // Redis 7.2's arity: tandem takes ZRANK's WITHSCORE (7.0.15 says 3).
        arity: -3,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Determine the index of a member in a sorted set",
            since: "2.0.0",
            group: "sorted-set",
            complexity: "O(log(N))",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("member", T::String),
            ],
        },
        handler: Handler::Storage(zrank),
    },
    CommandSpec {
        name: "zrem",
        arity: -3,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SORTEDSET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove one or more members from a sorted set",
            since: "1.2.0",
            group: "sorted-set",
            complexity: "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("2.4.0", "Accepts multiple elements."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("member", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(zrem),
    },
    CommandSpec {
        name: "zremrangebylex",
        arity: 4,
        flags: flags!(WRITE),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove all members in a sorted set between the given lexicographical range",
            since: "2.8.9",
            group: "sorted-set",
            complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("min", T::String),
                arg("max", T::String),
            ],
        },
        handler: Handler::Storage(zremrangebylex),
    },
    CommandSpec {
        name: "zremrangebyrank",
        arity: 4,
        flags: flags!(WRITE),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove all members in a sorted set within the given indexes",
            since: "2.0.0",
            group: "sorted-set",
            complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("start", T::Integer),
                arg("stop", T::Integer),
            ],
        },
        handler: Handler::Storage(zremrangebyrank),
    },
    CommandSpec {
        name: "zremrangebyscore",
        arity: 4,
        flags: flags!(WRITE),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove all members in a sorted set within the given scores",
            since: "1.2.0",
            group: "sorted-set",
            complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("min", T::Double),
                arg("max", T::Double),
            ],
        },
        handler: Handler::Storage(zremrangebyscore),
    },
    CommandSpec {
        name: "zrevrange",
        arity: -4,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Return a range of members in a sorted set, by index, with scores ordered from high to low",
            since: "1.2.0",
            group: "sorted-set",
            complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
            doc_flags: &["deprecated"],
            deprecated_since: "6.2.0",
            replaced_by: "`ZRANGE` with the `REV` argument",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("start", T::Integer),
                arg("stop", T::Integer),
                arg("withscores", T::PureToken).token("WITHSCORES").optional(),
            ],
        },
        handler: Handler::Storage(zrevrange),
    },
    CommandSpec {
        name: "zrevrangebylex",
        arity: -4,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
            since: "2.8.9",
            group: "sorted-set",
            complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
            doc_flags: &["deprecated"],
            deprecated_since: "6.2.0",
            replaced_by: "`ZRANGE` with the `REV` and `BYLEX` arguments",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("max", T::String),
                arg("min", T::String),
                arg("offset_count", T::Block).token("LIMIT").optional().args(&[
                        arg("offset", T::Integer),
                        arg("count", T::Integer),
                    ]),
            ],
        },
        handler: Handler::Storage(zrevrangebylex),
    },
    CommandSpec {
        name: "zrevrangebyscore",
        arity: -4,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Return a range of members in a sorted set, by score, with scores ordered from high to low",
            since: "2.2.0",
            group: "sorted-set",
            complexity: "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
            doc_flags: &["deprecated"],
            deprecated_since: "6.2.0",
            replaced_by: "`ZRANGE` with the `REV` and `BYSCORE` arguments",
            history: &[
                ("2.1.6", "`min` and `max` can be exclusive."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("max", T::Double),
                arg("min", T::Double),
                arg("withscores", T::PureToken).token("WITHSCORES").optional(),
                arg("offset_count", T::Block).token("LIMIT").optional().args(&[
                        arg("offset", T::Integer),
                        arg("count", T::Integer),
                    ]),
            ],
        },
        handler: Handler::Storage(zrevrangebyscore),
    },
    CommandSpec {
        name: "zrevrank",
        // Redis 7.2's arity: tandem takes ZRANK's WITHSCORE (7.0.15 says 3).
        arity: -3,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Determine the index of a member in a sorted set, with scores ordered from high to low",
            since: "2.0.0",
            group: "sorted-set",
            complexity: "O(log(N))",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("member", T::String),
            ],
        },
        handler: Handler::Storage(zrevrank),
    },
    CommandSpec {
        name: "zscan",
        arity: -3,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | SLOW),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Incrementally iterate sorted sets elements and associated scores",
            since: "2.8.0",
            group: "sorted-set",
            complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("cursor", T::Integer),
                arg("pattern", T::Pattern).token("MATCH").optional(),
                arg("count", T::Integer).token("COUNT").optional(),
            ],
        },
        handler: Handler::Storage(zscan),
    },
    CommandSpec {
        name: "zscore",
        arity: 3,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SORTEDSET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the score associated with the given member in a sorted set",
            since: "1.2.0",
            group: "sorted-set",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("member", T::String),
            ],
        },
        handler: Handler::Storage(zscore),
    },
    CommandSpec {
        name: "zunion",
        arity: -3,
        flags: flags!(READONLY | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(READ | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), keynum(0, 1, 1)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Add multiple sorted sets",
            since: "6.2.0",
            group: "sorted-set",
            complexity: "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(0).multiple(),
                arg("weight", T::Integer).token("WEIGHTS").optional().multiple(),
                arg("aggregate", T::OneOf).token("AGGREGATE").optional().args(&[
                        arg("sum", T::PureToken).token("SUM"),
                        arg("min", T::PureToken).token("MIN"),
                        arg("max", T::PureToken).token("MAX"),
                    ]),
                arg("withscores", T::PureToken).token("WITHSCORES").optional(),
            ],
        },
        handler: Handler::Storage(zunion),
    },
    CommandSpec {
        name: "zunionstore",
        arity: -4,
        flags: flags!(WRITE | DENYOOM | MOVABLEKEYS),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SORTEDSET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(OW | UPDATE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RO | ACCESS), index(2), keynum(0, 1, 1)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Add multiple sorted sets and store the resulting sorted set in a new key",
            since: "2.0.0",
            group: "sorted-set",
            complexity: "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("destination", T::Key).key_spec(0),
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(1).multiple(),
                arg("weight", T::Integer).token("WEIGHTS").optional().multiple(),
                arg("aggregate", T::OneOf).token("AGGREGATE").optional().args(&[
                        arg("sum", T::PureToken).token("SUM"),
                        arg("min", T::PureToken).token("MIN"),
                        arg("max", T::PureToken).token("MAX"),
                    ]),
            ],
        },
        handler: Handler::Storage(zunionstore),
    },
];

#[cfg(test)]
mod tests {
    use tandem_shared::ScanOptionError;

    use super::*;
    use crate::testing::{run as parse, Parser};

    fn err_text(r: Result<Command, CommandError>) -> String {
        match r {
            Err(e) => e.to_string(),
            Ok(c) => panic!("parsed {c:?}"),
        }
    }

    #[test]
    fn zadd_options_and_errors_in_redis_order() {
        let c = parse(zadd, &["z", "xx", "ch", "gt", "1.5", "a", "-inf", "b"]).unwrap();
        assert_eq!(
            c,
            Command::ZAdd {
                key: b"z".to_vec(),
                options: ZAddOptions {
                    condition: ZAddCondition::Xx,
                    compare: ZAddCompare::Gt,
                    changed: true,
                    incr: false
                },
                pairs: vec![(1.5, b"a".to_vec()), (f64::NEG_INFINITY, b"b".to_vec())],
            }
        );
        let cases: &[(&[&str], &str)] = &[
            (&["z", "1", "a", "2"], "ERR syntax error"),
            (&["z", "xx", "nx", "1"], "ERR syntax error"),
            (
                &["z", "incr", "xx", "nx", "1", "a"],
                "ERR XX and NX options at the same time are not compatible",
            ),
            (
                &["z", "nx", "gt", "1", "a"],
                "ERR GT, LT, and/or NX options at the same time are not compatible",
            ),
            (
                &["z", "gt", "lt", "1", "a"],
                "ERR GT, LT, and/or NX options at the same time are not compatible",
            ),
            (
                &["z", "incr", "1x", "a", "2", "b"],
                "ERR INCR option supports a single increment-element pair",
            ),
            (&["z", "nan", "a"], "ERR value is not a valid float"),
            (
                &["z", "1", "a", "incr", "1"],
                "ERR value is not a valid float",
            ),
        ];
        for (words, want) in cases {
            assert_eq!(err_text(parse(zadd, words)), *want, "{words:?}");
        }
    }

    #[test]
    fn scores_refuse_overflow_and_underflow() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"0e5"), Some(0.0));
        assert_eq!(parse_score(b"-0.000"), Some(-0.0));
        assert_eq!(parse_score(b"1e-310"), Some(1e-310));
        for bad in [
            &b"1e400"[..],
            b"-1e400",
            b"1e-400",
            b"-1e-400",
            b"nan",
            b" 1",
        ] {
            assert_eq!(parse_score(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        // Range ends take what strtod gives.
        assert_eq!(parse_score_bound(b"1e400").unwrap().value, f64::INFINITY);
    }

    #[test]
    fn score_and_lex_bounds() {
        assert_eq!(
            parse_score_bound(b"(1.5").unwrap(),
            ScoreBound {
                value: 1.5,
                exclusive: true
            }
        );
        assert_eq!(parse_score_bound(b"-inf").unwrap().value, f64::NEG_INFINITY);
        assert_eq!(parse_score_bound(b"+inf").unwrap().value, f64::INFINITY);
        // strtod of an empty string is 0, and Redis does not check for that.
        assert_eq!(parse_score_bound(b"(").unwrap().value, 0.0);
        assert!(parse_score_bound(b"abc").is_err());
        assert!(parse_score_bound(b"nan").is_err());
        assert_eq!(parse_lex_bound(b"-").unwrap(), LexBound::Min);
        assert_eq!(parse_lex_bound(b"+").unwrap(), LexBound::Max);
        assert_eq!(
            parse_lex_bound(b"[a").unwrap(),
            LexBound::Inclusive(b"a".to_vec())
        );
        assert_eq!(
            parse_lex_bound(b"(").unwrap(),
            LexBound::Exclusive(Vec::new())
        );
        for bad in [&b"a"[..], b"", b"--", b"+a"] {
            assert!(parse_lex_bound(bad).is_err());
        }
    }

    #[test]
    fn zrange_forms() {
        let c = parse(
            zrange,
            &[
                "z",
                "5",
                "(1",
                "byscore",
                "rev",
                "limit",
                "1",
                "2",
                "withscores",
            ],
        )
        .unwrap();
        assert_eq!(
            c,
            Command::ZRange {
                key: b"z".to_vec(),
                by: ZRangeBy::Score {
                    min: ScoreBound {
                        value: 1.0,
                        exclusive: true
                    },
                    max: ScoreBound {
                        value: 5.0,
                        exclusive: false
                    },
                },
                rev: true,
                limit: Some(ZLimit {
                    offset: 1,
                    count: 2
                }),
                with_scores: true,
            }
        );
        let c = parse(zrevrangebylex, &["z", "+", "[b"]).unwrap();
        assert!(matches!(
            c,
            Command::ZRange {
                by: ZRangeBy::Lex {
                    min: LexBound::Inclusive(_),
                    max: LexBound::Max
                },
                rev: true,
                ..
            }
        ));
        // `LIMIT x -1` is Redis's "no limit" and passes with a rank range.
        assert!(parse(zrange, &["z", "0", "-1", "limit", "1", "-1"]).is_ok());
        let cases: &[(Parser, &[&str], &str)] = &[
            (zrange, &["z", "0", "-1", "limit", "0", "1"], "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
            (zrange, &["z", "0", "-1", "byscore", "bylex"], "ERR syntax error"),
            (zrange, &["z", "0", "-1", "limit", "0"], "ERR syntax error"),
            (zrange, &["z", "0", "-1", "limit", "a", "b", "byscore"], "ERR value is not an integer or out of range"),
            (zrange, &["z", "a", "b", "bylex"], "ERR min or max not valid string range item"),
            (zrange, &["z", "abc", "5", "byscore"], "ERR min or max is not a float"),
            (zrange, &["z", "x", "1"], "ERR value is not an integer or out of range"),
            (zrangebylex, &["z", "-", "+", "withscores"], "ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
            (zrevrange, &["z", "0", "1", "byscore"], "ERR syntax error"),
            (zrangebyscore, &["z", "1", "2", "rev"], "ERR syntax error"),
            (zrangestore, &["d", "z", "0", "-1", "withscores"], "ERR syntax error"),
        ];
        for (f, words, want) in cases {
            assert_eq!(err_text(parse(*f, words)), *want, "{words:?}");
        }
    }

    #[test]
    fn pops_counts_and_numkeys() {
        assert_eq!(
            err_text(parse(zpopmin, &["z", "-1"])),
            "ERR value is out of range, must be positive"
        );
        assert_eq!(
            err_text(parse(zpopmin, &["z", "1", "2"])),
            "ERR syntax error"
        );
        assert_eq!(
            parse(zpopmax, &["z", "0"]).unwrap(),
            Command::ZPop {
                key: b"z".to_vec(),
                end: ZEnd::Max,
                count: Some(0)
            }
        );
        assert_eq!(
            err_text(parse(zmpop, &["0", "z", "min"])),
            "ERR numkeys should be greater than 0"
        );
        assert_eq!(
            err_text(parse(zmpop, &["5", "z", "min"])),
            "ERR syntax error"
        );
        assert_eq!(
            err_text(parse(zmpop, &["1", "z", "min", "count", "0"])),
            "ERR count should be greater than 0"
        );
        assert_eq!(
            err_text(parse(zunion, &["0", "z"])),
            "ERR at least 1 input key is needed for 'zunion' command"
        );
        assert_eq!(
            err_text(parse(zunion, &["2", "z", "y", "weights", "1", "x"])),
            "ERR weight value is not a float"
        );
        assert_eq!(
            err_text(parse(zdiff, &["2", "z", "y", "aggregate", "sum"])),
            "ERR syntax error"
        );
        assert_eq!(
            err_text(parse(zunionstore, &["d", "1", "z", "withscores"])),
            "ERR syntax error"
        );
        assert_eq!(
            err_text(parse(zintercard, &["1", "z", "limit", "-1"])),
            "ERR LIMIT can't be negative"
        );
        assert_eq!(
            err_text(parse(zrandmember, &["z", "-9223372036854775808"])),
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
        );
        assert_eq!(
            err_text(parse(
                zrandmember,
                &["z", "4611686018427387904", "withscores"]
            )),
            "ERR value is out of range"
        );
        assert_eq!(
            parse(zscan, &["z", "0", "count", "0"]).unwrap(),
            Command::ZScan {
                key: b"z".to_vec(),
                cursor: 0,
                pattern: None,
                count: crate::parse::keyspace::DEFAULT_SCAN_COUNT,
                invalid: Some(ScanOptionError::Syntax)
            }
        );
        assert_eq!(err_text(parse(zscan, &["z", "abc"])), "ERR invalid cursor");
    }
}
