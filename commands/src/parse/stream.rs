//! Parsers for the stream commands (`XADD`, `XRANGE`, `XREVRANGE`, `XLEN`, `XDEL`, `XTRIM`,
//! `XSETID`, `XREAD`, `XGROUP`, `XREADGROUP`, `XACK`, `XPENDING`), issue 16.
//!
//! Each parser ports its Redis 7.0 argument walk (`t_stream.c`), so the errors come in
//! Redis's order with Redis's texts: malformed ids (`streamParseIDOrReply`, with its
//! `string2ull` number rules), trimming options, `COUNT`. What depends on the stream itself
//! (an id not above the top item, `WRONGTYPE`, a missing key for `XSETID`) is storaged's
//! (`storaged/src/types/stream`). `*` and `<ms>-*` ids travel unresolved: storaged fills
//! them in from the stream's last id and its clock, so a resent `XADD` means the same thing.

use bytes::Bytes;
use tandem_shared::command::{
    BlockingOp, StreamId, StreamTrim, StreamTrimKind, Wait, XAddId, XGroupId, XGroupOp,
    XPendingRange, XReadId,
};
use tandem_shared::Command;

use crate::args::{parse_i64, Args, ParseCtx};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, range, BeginSearch, CommandSpec, Doc, Handler, KeySpec};
use crate::{acl, flags, key_flags};

/// The largest id, `18446744073709551615-18446744073709551615` (`+`).
pub const MAX_ID: StreamId = StreamId {
    ms: u64::MAX,
    seq: u64::MAX,
};

/// The smallest id, `0-0` (`-`).
pub const MIN_ID: StreamId = StreamId { ms: 0, seq: 0 };

/// `LIMIT` of an approximate trim that names none: Redis's `100 * stream-node-max-entries`
/// (the default 100 entries per node).
pub const DEFAULT_APPROX_LIMIT: u64 = 10_000;

/// Redis's text for any malformed id.
pub fn invalid_id() -> CommandError {
    CommandError::err("Invalid stream ID specified as stream command argument")
}

/// What an id argument parsed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedId {
    Id(StreamId),
    /// `<ms>-*` (only where the caller allows it).
    AutoSeq(u64),
}

/// The argument as C sees it: Redis copies it into a NUL-terminated buffer, so a NUL byte
/// ends it.
fn c_str(arg: &[u8]) -> &[u8] {
    match arg.iter().position(|&b| b == 0) {
        Some(end) => &arg[..end],
        None => arg,
    }
}

/// Redis's `string2ull`: `string2ll` first (a negative number is refused), else
/// `strtoull`'s rules (leading white space, a sign, digits to the end, no overflow; a `-`
/// sign wraps, as in C).
fn string2ull(b: &[u8]) -> Option<u64> {
    if let Some(v) = parse_i64(b) {
        return u64::try_from(v).ok();
    }
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut negative = false;
    if let Some(&sign @ (b'+' | b'-')) = b.get(i) {
        negative = sign == b'-';
        i += 1;
    }
    let digits = &b[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// Redis's `streamGenericParseIDOrReply`: `-` and `+` (unless `strict`), `<ms>-<seq>`, or
/// `<ms>` with `missing_seq` as its sequence; `<ms>-*` when `auto_seq`. `None` when
/// malformed.
pub fn parse_id(arg: &[u8], missing_seq: u64, strict: bool, auto_seq: bool) -> Option<ParsedId> {
    if arg.len() > 127 {
        return None;
    }
    let s = c_str(arg);
    match s {
        b"-" | b"+" if strict => return None,
        b"-" => return Some(ParsedId::Id(MIN_ID)),
        b"+" => return Some(ParsedId::Id(MAX_ID)),
        _ => {}
    }
    match s.iter().position(|&b| b == b'-') {
        Some(dash) => {
            let ms = string2ull(&s[..dash])?;
            let seq = &s[dash + 1..];
            if auto_seq && seq == b"*" {
                return Some(ParsedId::AutoSeq(ms));
            }
            Some(ParsedId::Id(StreamId {
                ms,
                seq: string2ull(seq)?,
            }))
        }
        None => Some(ParsedId::Id(StreamId {
            ms: string2ull(s)?,
            seq: missing_seq,
        })),
    }
}

/// A strict id (no `-`/`+`, no `<ms>-*`), sequence 0 when missing.
///
/// # Errors
/// Redis's invalid-id error.
pub fn strict_id(arg: &[u8]) -> Result<StreamId, CommandError> {
    match parse_id(arg, 0, true, false) {
        Some(ParsedId::Id(id)) => Ok(id),
        _ => Err(invalid_id()),
    }
}

/// The id after `id`, `None` past the largest (Redis's `streamIncrID`).
pub fn next_id(id: StreamId) -> Option<StreamId> {
    if id.seq < u64::MAX {
        Some(StreamId {
            ms: id.ms,
            seq: id.seq + 1,
        })
    } else if id.ms < u64::MAX {
        Some(StreamId {
            ms: id.ms + 1,
            seq: 0,
        })
    } else {
        None
    }
}

/// The id before `id`, `None` below `0-0` (Redis's `streamDecrID`).
pub fn prev_id(id: StreamId) -> Option<StreamId> {
    if id.seq > 0 {
        Some(StreamId {
            ms: id.ms,
            seq: id.seq - 1,
        })
    } else if id.ms > 0 {
        Some(StreamId {
            ms: id.ms - 1,
            seq: u64::MAX,
        })
    } else {
        None
    }
}

/// `XADD`/`XTRIM`'s options, as Redis's `streamParseAddOrTrimArgsOrReply` walks them.
struct AddTrimArgs {
    trim: Option<StreamTrim>,
    no_mkstream: bool,
    /// The id and the index of the argument after it (XADD); for XTRIM the id is `None`.
    id: Option<(XAddId, bool)>,
    /// Index of the first argument after the options (XADD: the id's index + 1).
    next: usize,
}

fn add_trim_args(argv: &[Bytes], xadd: bool) -> Result<AddTrimArgs, CommandError> {
    let mut trim_kind: Option<StreamTrimKind> = None;
    let mut approx = false;
    let mut limit: i64 = 0;
    let mut limit_given = false;
    let mut no_mkstream = false;
    let mut id = None;
    // argv[0] is the key.
    let mut i = 1;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = c_str(&argv[i]);
        if xadd && opt == b"*" {
            id = Some((XAddId::Auto, false));
            break;
        } else if (opt.eq_ignore_ascii_case(b"maxlen") || opt.eq_ignore_ascii_case(b"minid"))
            && more > 0
        {
            if trim_kind.is_some() {
                return Err(CommandError::err(
                    "syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            approx = false;
            let next = c_str(&argv[i + 1]);
            if more >= 2 && next == b"~" {
                approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            let value = &argv[i + 1];
            trim_kind = Some(if opt.eq_ignore_ascii_case(b"maxlen") {
                let n = parse_i64(value).ok_or(CommandError::NotInteger)?;
                let n = u64::try_from(n)
                    .map_err(|_| CommandError::err("The MAXLEN argument must be >= 0."))?;
                StreamTrimKind::MaxLen(n)
            } else {
                StreamTrimKind::MinId(strict_id(value)?)
            });
            i += 1;
        } else if opt.eq_ignore_ascii_case(b"limit") && more > 0 {
            limit = parse_i64(&argv[i + 1]).ok_or(CommandError::NotInteger)?;
            if limit < 0 {
                return Err(CommandError::err("The LIMIT argument must be >= 0."));
            }
            limit_given = true;
            i += 1;
        } else if xadd && opt.eq_ignore_ascii_case(b"nomkstream") {
            no_mkstream = true;
        } else if xadd {
            let parsed = match parse_id(&argv[i], 0, true, true) {
                Some(ParsedId::Id(id)) => (XAddId::Explicit(id), true),
                Some(ParsedId::AutoSeq(ms)) => (XAddId::AutoSeq(ms), false),
                None => return Err(invalid_id()),
            };
            id = Some(parsed);
            break;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    if limit > 0 && trim_kind.is_none() {
        return Err(CommandError::err(
            "syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && trim_kind.is_none() {
        return Err(CommandError::err(
            "syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    let limit = if limit_given {
        if !approx {
            return Err(CommandError::err(
                "syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
        limit as u64
    } else if approx {
        DEFAULT_APPROX_LIMIT
    } else {
        0
    };
    Ok(AddTrimArgs {
        trim: trim_kind.map(|kind| StreamTrim {
            kind,
            approx,
            limit,
        }),
        no_mkstream,
        id,
        next: i + 1,
    })
}

/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value
/// [field value ...]`
pub fn xadd(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let argv = args.rest();
    let parsed = add_trim_args(&argv, true)?;
    let fields = argv.get(parsed.next..).unwrap_or(&[]);
    if fields.len() < 2 || !fields.len().is_multiple_of(2) {
        return Err(CommandError::WrongArity("xadd".to_owned()));
    }
    // Without an id the walk ran out of arguments, and no fields were left either.
    let Some((id, seq_given)) = parsed.id else {
        return Err(CommandError::WrongArity("xadd".to_owned()));
    };
    if seq_given && id == XAddId::Explicit(MIN_ID) {
        return Err(CommandError::err(
            "The ID specified in XADD must be greater than 0-0",
        ));
    }
    let key = argv.first().ok_or(CommandError::Syntax)?.to_vec();
    Ok(Command::XAdd {
        key,
        id,
        no_mkstream: parsed.no_mkstream,
        trim: parsed.trim,
        fields: fields
            .chunks(2)
            .map(|p| (p[0].to_vec(), p[1].to_vec()))
            .collect(),
    })
}

/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]`
pub fn xtrim(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let argv = args.rest();
    let parsed = add_trim_args(&argv, false)?;
    let key = argv.first().ok_or(CommandError::Syntax)?.to_vec();
    let trim = parsed.trim.ok_or(CommandError::Syntax)?;
    Ok(Command::XTrim { key, trim })
}

/// One end of an `XRANGE` interval (Redis's `streamParseIntervalIDOrReply` and the step
/// past an exclusive bound).
fn interval_end(arg: &[u8], start: bool) -> Result<Option<StreamId>, CommandError> {
    let exclusive = arg.len() > 1 && arg[0] == b'(';
    let missing_seq = if start { 0 } else { u64::MAX };
    if !exclusive {
        return match parse_id(arg, missing_seq, false, false) {
            Some(ParsedId::Id(id)) => Ok(Some(id)),
            _ => Err(invalid_id()),
        };
    }
    let id = match parse_id(&arg[1..], missing_seq, true, false) {
        Some(ParsedId::Id(id)) => id,
        _ => return Err(invalid_id()),
    };
    let stepped = if start { next_id(id) } else { prev_id(id) };
    match stepped {
        Some(id) => Ok(Some(id)),
        None if start => Err(CommandError::err("invalid start ID for the interval")),
        None => Err(CommandError::err("invalid end ID for the interval")),
    }
}

fn range_command(args: &mut Args, rev: bool) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let first = args.next_bytes()?;
    let second = args.next_bytes()?;
    let (start_arg, end_arg) = if rev {
        (second, first)
    } else {
        (first, second)
    };
    let start = interval_end(&start_arg, true)?.unwrap_or(MIN_ID);
    let end = interval_end(&end_arg, false)?.unwrap_or(MAX_ID);
    let mut count = None;
    while let Some(word) = args.peek() {
        if word.eq_ignore_ascii_case(b"count") && args.remaining() >= 2 {
            args.next_bytes()?;
            let n = args.next_i64()?;
            count = Some(u64::try_from(n).unwrap_or(0));
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok(Command::XRange {
        key,
        start,
        end,
        count,
        rev,
    })
}

/// `XRANGE key start end [COUNT count]`
pub fn xrange(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    range_command(args, false)
}

/// `XREVRANGE key end start [COUNT count]`
pub fn xrevrange(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    range_command(args, true)
}

/// `XLEN key`
pub fn xlen(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::XLen {
        key: args.single_key()?,
    })
}

/// `XDEL key id [id ...]`: Redis checks the ids after the key's type, so a malformed one
/// travels as `None`.
pub fn xdel(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let ids = args
        .rest()
        .iter()
        .map(|a| strict_id(a).ok())
        .collect::<Option<Vec<_>>>();
    Ok(Command::XDel { key, ids })
}

/// `XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]`
pub fn xsetid(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let last = strict_id(&args.next_bytes()?)?;
    let mut entries_added = None;
    let mut max_deleted = None;
    while let Some(word) = args.peek() {
        let more = args.remaining() > 1;
        if word.eq_ignore_ascii_case(b"entriesadded") && more {
            args.next_bytes()?;
            let n = args.next_i64()?;
            let n = u64::try_from(n)
                .map_err(|_| CommandError::err("entries_added must be positive"))?;
            entries_added = Some(n);
        } else if word.eq_ignore_ascii_case(b"maxdeletedid") && more {
            args.next_bytes()?;
            let id = strict_id(&args.next_bytes()?)?;
            if last < id {
                return Err(CommandError::err(
                    "The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
            max_deleted = Some(id);
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok(Command::XSetId {
        key,
        last,
        entries_added,
        max_deleted,
    })
}

/// `XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]`, Redis's
/// option walk (`xreadCommand`). Without `BLOCK` it is [`Command::XRead`]; with it a
/// [`Command::BlockingPop`] whose deadline is absolute (`BLOCK 0` waits forever), which
/// the connection parks in storaged, and which inside `MULTI` runs as the plain read. The
/// ids' errors travel in the command: Redis reports them after the types of the keys
/// before them.
pub fn xread(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let argv = args.rest();
    let mut block: Option<u64> = None;
    let mut count: u64 = 0;
    let mut streams_at = None;
    let mut i = 0;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = &argv[i];
        if opt.eq_ignore_ascii_case(b"block") && more > 0 {
            i += 1;
            block = Some(block_deadline(&argv[i], ctx.now_ms)?);
        } else if opt.eq_ignore_ascii_case(b"count") && more > 0 {
            i += 1;
            let n = parse_i64(&argv[i]).ok_or(CommandError::NotInteger)?;
            count = u64::try_from(n).unwrap_or(0);
        } else if opt.eq_ignore_ascii_case(b"streams") && more > 0 {
            if !more.is_multiple_of(2) {
                return Err(CommandError::err(
                    "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            streams_at = Some(i + 1);
            break;
        } else if opt.eq_ignore_ascii_case(b"group") && more >= 2 {
            return Err(CommandError::err(
                "The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
            ));
        } else if opt.eq_ignore_ascii_case(b"noack") {
            return Err(CommandError::err(
                "The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
            ));
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    let Some(at) = streams_at else {
        return Err(CommandError::Syntax);
    };
    let rest = &argv[at..];
    let (keys, ids) = rest.split_at(rest.len() / 2);
    let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
    let ids: Vec<XReadId> = ids
        .iter()
        .map(|a| match c_str(a) {
            b"$" => XReadId::Last,
            b">" => XReadId::NewOnly,
            _ => strict_id(a).map_or(XReadId::Invalid, XReadId::Id),
        })
        .collect();
    Ok(match block {
        None => Command::XRead { count, keys, ids },
        Some(deadline_ms) => Command::BlockingPop {
            op: BlockingOp::StreamRead { count, ids },
            keys,
            wait: Wait {
                deadline_ms,
                since_ms: u64::try_from(ctx.now_ms).unwrap_or(0),
                proxy: 0,
                client: 0,
                renewed: false,
            },
        },
    })
}

/// `XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS key... id...`,
/// Redis's option walk (`xreadCommand`, shared with XREAD: its unbalanced-list text names
/// XREAD in 7.0 too). Without `BLOCK` it is [`Command::XReadGroup`]; with it a
/// [`Command::BlockingPop`] of [`BlockingOp::StreamReadGroup`]. The ids, the keys' types and
/// the group's existence are checked by storaged, in Redis's order.
pub fn xreadgroup(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let argv = args.rest();
    let mut block: Option<u64> = None;
    let mut count: u64 = 0;
    let mut noack = false;
    let mut names: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut streams_at = None;
    let mut i = 0;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = &argv[i];
        if opt.eq_ignore_ascii_case(b"block") && more > 0 {
            i += 1;
            block = Some(block_deadline(&argv[i], ctx.now_ms)?);
        } else if opt.eq_ignore_ascii_case(b"count") && more > 0 {
            i += 1;
            let n = parse_i64(&argv[i]).ok_or(CommandError::NotInteger)?;
            count = u64::try_from(n).unwrap_or(0);
        } else if opt.eq_ignore_ascii_case(b"streams") && more > 0 {
            if !more.is_multiple_of(2) {
                return Err(CommandError::err(
                    "Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            streams_at = Some(i + 1);
            break;
        } else if opt.eq_ignore_ascii_case(b"group") && more >= 2 {
            names = Some((argv[i + 1].to_vec(), argv[i + 2].to_vec()));
            i += 2;
        } else if opt.eq_ignore_ascii_case(b"noack") {
            noack = true;
        } else {
            return Err(CommandError::Syntax);
        }
        i += 1;
    }
    let Some(at) = streams_at else {
        return Err(CommandError::Syntax);
    };
    let Some((group, consumer)) = names else {
        return Err(CommandError::err("Missing GROUP option for XREADGROUP"));
    };
    let rest = &argv[at..];
    let (keys, ids) = rest.split_at(rest.len() / 2);
    let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
    // Redis compares `$` and `>` with `strcmp`, so a NUL byte ends them as in C.
    let ids: Vec<XReadId> = ids
        .iter()
        .map(|a| match c_str(a) {
            b"$" => XReadId::Last,
            b">" => XReadId::NewOnly,
            _ => strict_id(a).map_or(XReadId::Invalid, XReadId::Id),
        })
        .collect();
    Ok(match block {
        None => Command::XReadGroup {
            group,
            consumer,
            count,
            noack,
            keys,
            ids,
        },
        Some(deadline_ms) => Command::BlockingPop {
            op: BlockingOp::StreamReadGroup {
                group,
                consumer,
                count,
                noack,
                ids,
            },
            keys,
            wait: Wait {
                deadline_ms,
                since_ms: u64::try_from(ctx.now_ms).unwrap_or(0),
                proxy: 0,
                client: 0,
                renewed: false,
            },
        },
    })
}

/// `XACK key group id [id ...]`: Redis parses the ids only after finding the group, so a
/// malformed one travels as `None`.
pub fn xack(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let group = args.next_vec()?;
    let ids = args
        .rest()
        .iter()
        .map(|a| strict_id(a).ok())
        .collect::<Option<Vec<_>>>();
    Ok(Command::XAck { key, group, ids })
}

/// `XPENDING key group [[IDLE min-idle-time] start end count [consumer]]`, Redis's walk
/// (`xpendingCommand`): 3 or 6 to 9 arguments; `IDLE`'s value, then (with `IDLE`) at least
/// start, end and count, then count, start and end are checked before the key is looked
/// up. Arguments after the consumer are ignored, as Redis ignores them.
pub fn xpending(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let group = args.next_vec()?;
    let argv = args.rest();
    // `argv` is Redis's argv from index 3.
    let argc = argv.len() + 3;
    if argc == 3 {
        return Ok(Command::XPending {
            key,
            group,
            range: None,
        });
    }
    if !(6..=9).contains(&argc) {
        return Err(CommandError::Syntax);
    }
    let mut first = 0;
    let mut min_idle = 0;
    if argv[0].eq_ignore_ascii_case(b"idle") {
        min_idle = parse_i64(&argv[1]).ok_or(CommandError::NotInteger)?;
        if argc < 8 {
            return Err(CommandError::Syntax);
        }
        first = 2;
    }
    let count = parse_i64(&argv[first + 2]).ok_or(CommandError::NotInteger)?;
    let start = interval_end(&argv[first], true)?.unwrap_or(MIN_ID);
    let end = interval_end(&argv[first + 1], false)?.unwrap_or(MAX_ID);
    let consumer = argv.get(first + 3).map(|c| c.to_vec());
    Ok(Command::XPending {
        key,
        group,
        range: Some(XPendingRange {
            min_idle,
            start,
            end,
            count: u64::try_from(count).unwrap_or(0),
            consumer,
        }),
    })
}

/// `BLOCK`'s milliseconds as an absolute unix-ms deadline (0: forever), as Redis 7.0's
/// `getTimeoutFromObjectOrReply` in milliseconds; a deadline past `i64::MAX` wraps in
/// Redis and never fires, so it is forever here too.
fn block_deadline(arg: &[u8], now_ms: i64) -> Result<u64, CommandError> {
    let ms = parse_i64(arg)
        .ok_or_else(|| CommandError::err("timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CommandError::err("timeout is negative"));
    }
    if ms == 0 || ms > i64::MAX - now_ms {
        return Ok(0);
    }
    Ok(u64::try_from(now_ms + ms).unwrap_or(0))
}

/// `XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP`: Redis's walk of
/// `xgroupCommand`. The options of CREATE and SETID are checked here, before the key is
/// looked up; the id, the key's and group's existence and a CREATE/SETID with too many
/// arguments after that, in storaged.
///
/// # Errors
/// Redis's texts for an unknown subcommand, a subcommand's arity, a bad option or
/// `ENTRIESREAD` value.
pub fn xgroup(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let sub = args.next_bytes()?;
    let container = COMMANDS
        .iter()
        .find(|s| s.name == "xgroup")
        .ok_or(CommandError::Syntax)?;
    let spec = container.checked_subcommand(&sub, args.remaining())?;
    if spec.name == "xgroup|help" {
        return Ok(Command::XGroupHelp);
    }
    let argv = args.rest();
    let syntax = || {
        CommandError::err(format!(
            "unknown subcommand or wrong number of arguments for '{}'. Try XGROUP HELP.",
            String::from_utf8_lossy(&sub)
        ))
    };
    let (Some(key), Some(group)) = (argv.first(), argv.get(1)) else {
        return Err(CommandError::Syntax);
    };
    let create = spec.name == "xgroup|create";
    let mut mkstream = false;
    let mut entries_read: i64 = -1;
    if create || spec.name == "xgroup|setid" {
        let mut i = 3;
        while i < argv.len() {
            if create && argv[i].eq_ignore_ascii_case(b"mkstream") {
                mkstream = true;
                i += 1;
            } else if argv[i].eq_ignore_ascii_case(b"entriesread") && i + 1 < argv.len() {
                entries_read = parse_i64(&argv[i + 1]).ok_or(CommandError::NotInteger)?;
                if entries_read < -1 {
                    return Err(CommandError::err(
                        "value for ENTRIESREAD must be positive or -1",
                    ));
                }
                i += 2;
            } else {
                return Err(syntax());
            }
        }
    }
    let group_id = |strict: bool| -> XGroupId {
        let Some(arg) = argv.get(2) else {
            return XGroupId::Invalid;
        };
        if c_str(arg) == b"$" {
            return XGroupId::Last;
        }
        match parse_id(arg, 0, strict, false) {
            Some(ParsedId::Id(id)) => XGroupId::Id(id),
            _ => XGroupId::Invalid,
        }
    };
    let consumer = || argv.get(2).map(|c| c.to_vec()).unwrap_or_default();
    // Redis runs CREATE with 5 to 8 arguments and SETID with 5 or 7, counting the command
    // and subcommand names; others fall to its syntax error after the lookups.
    let total = argv.len() + 2;
    let (op, late_syntax) = match spec.name {
        "xgroup|create" => (
            XGroupOp::Create {
                id: group_id(true),
                mkstream,
                entries_read,
            },
            total > 8,
        ),
        "xgroup|setid" => (
            XGroupOp::SetId {
                id: group_id(false),
                entries_read,
            },
            total != 5 && total != 7,
        ),
        "xgroup|destroy" => (XGroupOp::Destroy, false),
        "xgroup|createconsumer" => (
            XGroupOp::CreateConsumer {
                consumer: consumer(),
            },
            false,
        ),
        _ => (
            XGroupOp::DelConsumer {
                consumer: consumer(),
            },
            false,
        ),
    };
    Ok(Command::XGroup {
        key: key.to_vec(),
        group: group.to_vec(),
        op,
        sub: sub.to_vec(),
        late_syntax,
    })
}

/// The stream commands' rows of the command table ([`crate::table`]), each beside its
/// parser above; values from redis-server 7.0's `COMMAND INFO`/`COMMAND DOCS`
/// (`commands/tools/row-from-redis`).
pub static COMMANDS: &[CommandSpec] = &[
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xadd",
        arity: -5,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STREAM | FAST),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)).notes("UPDATE instead of INSERT because of the optional trimming feature"),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Appends a new entry to a stream",
            since: "5.0.0",
            group: "stream",
            complexity: "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("6.2.0", "Added the `NOMKSTREAM` option, `MINID` trimming strategy and the `LIMIT` option."),
                ("7.0.0", "Added support for the `<ms>-*` explicit ID form."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("nomkstream", T::PureToken).token("NOMKSTREAM").since("6.2.0").optional(),
                arg("trim", T::Block).optional().args(&[
                        arg("strategy", T::OneOf).args(&[
                                arg("maxlen", T::PureToken).token("MAXLEN"),
                                arg("minid", T::PureToken).token("MINID").since("6.2.0"),
                            ]),
                        arg("operator", T::OneOf).optional().args(&[
                                arg("equal", T::PureToken).token("="),
                                arg("approximately", T::PureToken).token("~"),
                            ]),
                        arg("threshold", T::String),
                        arg("count", T::Integer).token("LIMIT").since("6.2.0").optional(),
                    ]),
                arg("id_or_auto", T::OneOf).args(&[
                        arg("auto_id", T::PureToken).token("*"),
                        arg("id", T::String),
                    ]),
                arg("field_value", T::Block).multiple().args(&[
                        arg("field", T::String),
                        arg("value", T::String),
                    ]),
            ],
        },
        handler: Handler::Storage(xadd),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xrange",
        arity: -4,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | STREAM | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval",
            since: "5.0.0",
            group: "stream",
            complexity: "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("6.2.0", "Added exclusive ranges."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("start", T::String),
                arg("end", T::String),
                arg("count", T::Integer).token("COUNT").optional(),
            ],
        },
        handler: Handler::Storage(xrange),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xrevrange",
        arity: -4,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | STREAM | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE",
            since: "5.0.0",
            group: "stream",
            complexity: "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("6.2.0", "Added exclusive ranges."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("end", T::String),
                arg("start", T::String),
                arg("count", T::Integer).token("COUNT").optional(),
            ],
        },
        handler: Handler::Storage(xrevrange),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xlen",
        arity: 2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | STREAM | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Return the number of entries in a stream",
            since: "5.0.0",
            group: "stream",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(xlen),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xdel",
        arity: -3,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STREAM | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.",
            since: "5.0.0",
            group: "stream",
            complexity: "O(1) for each single item to delete in the stream, regardless of the stream size.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("id", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(xdel),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xtrim",
        arity: -4,
        flags: flags!(WRITE),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STREAM | SLOW),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RW | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Trims the stream to (approximately if '~' is passed) a certain size",
            since: "5.0.0",
            group: "stream",
            complexity: "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("6.2.0", "Added the `MINID` trimming strategy and the `LIMIT` option."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("trim", T::Block).args(&[
                        arg("strategy", T::OneOf).args(&[
                                arg("maxlen", T::PureToken).token("MAXLEN"),
                                arg("minid", T::PureToken).token("MINID").since("6.2.0"),
                            ]),
                        arg("operator", T::OneOf).optional().args(&[
                                arg("equal", T::PureToken).token("="),
                                arg("approximately", T::PureToken).token("~"),
                            ]),
                        arg("threshold", T::String),
                        arg("count", T::Integer).token("LIMIT").since("6.2.0").optional(),
                    ]),
            ],
        },
        handler: Handler::Storage(xtrim),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xsetid",
        arity: -3,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STREAM | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "An internal command for replicating stream values",
            since: "5.0.0",
            group: "stream",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("7.0.0", "Added the `entries_added` and `max_deleted_entry_id` arguments."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("last-id", T::String),
                arg("entries_added", T::Integer).token("ENTRIESADDED").since("7.0.0").optional(),
                arg("max_deleted_entry_id", T::String).token("MAXDELETEDID").since("7.0.0").optional(),
            ],
        },
        handler: Handler::Storage(xsetid),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xread",
        arity: -4,
        flags: flags!(READONLY | BLOCKING | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(READ | STREAM | SLOW | BLOCKING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), BeginSearch::Keyword { keyword: "STREAMS", start_from: 1 }, range(-1, 1, 2)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.",
            since: "5.0.0",
            group: "stream",
            complexity: "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("count", T::Integer).token("COUNT").optional(),
                arg("milliseconds", T::Integer).token("BLOCK").optional(),
                arg("streams", T::Block).token("STREAMS").args(&[
                        arg("key", T::Key).key_spec(0).multiple(),
                        arg("id", T::String).multiple(),
                    ]),
            ],
        },
        handler: Handler::Storage(xread),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xgroup",
        arity: -2,
        flags: flags!(),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(SLOW),
        tips: &[],
        key_specs: &[],
        subcommands: &[
            CommandSpec {
                name: "xgroup|create",
                arity: -5,
                flags: flags!(WRITE | DENYOOM),
                first_key: 2,
                last_key: 2,
                step: 1,
                acl: acl!(WRITE | STREAM | SLOW),
                tips: &[],
                key_specs: &[
                    KeySpec::new(key_flags!(RW | INSERT), index(2), range(0, 1, 0)),
                ],
                subcommands: &[],
                doc: Doc {
                    summary: "Create a consumer group.",
                    since: "5.0.0",
                    group: "stream",
                    complexity: "O(1)",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[
                        ("7.0.0", "Added the `entries_read` named argument."),
                    ],
                    arguments: &[
                        arg("key", T::Key).key_spec(0),
                        arg("groupname", T::String),
                        arg("id", T::OneOf).args(&[
                                arg("id", T::String),
                                arg("new_id", T::PureToken).token("$"),
                            ]),
                        arg("mkstream", T::PureToken).token("MKSTREAM").optional(),
                        arg("entries_read", T::Integer).token("ENTRIESREAD").optional(),
                    ],
                },
                handler: Handler::Storage(xgroup),
            },
            CommandSpec {
                name: "xgroup|createconsumer",
                arity: 5,
                flags: flags!(WRITE | DENYOOM),
                first_key: 2,
                last_key: 2,
                step: 1,
                acl: acl!(WRITE | STREAM | SLOW),
                tips: &[],
                key_specs: &[
                    KeySpec::new(key_flags!(RW | INSERT), index(2), range(0, 1, 0)),
                ],
                subcommands: &[],
                doc: Doc {
                    summary: "Create a consumer in a consumer group.",
                    since: "6.2.0",
                    group: "stream",
                    complexity: "O(1)",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[
                        arg("key", T::Key).key_spec(0),
                        arg("groupname", T::String),
                        arg("consumername", T::String),
                    ],
                },
                handler: Handler::Storage(xgroup),
            },
            CommandSpec {
                name: "xgroup|delconsumer",
                arity: 5,
                flags: flags!(WRITE),
                first_key: 2,
                last_key: 2,
                step: 1,
                acl: acl!(WRITE | STREAM | SLOW),
                tips: &[],
                key_specs: &[
                    KeySpec::new(key_flags!(RW | DELETE), index(2), range(0, 1, 0)),
                ],
                subcommands: &[],
                doc: Doc {
                    summary: "Delete a consumer from a consumer group.",
                    since: "5.0.0",
                    group: "stream",
                    complexity: "O(1)",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[
                        arg("key", T::Key).key_spec(0),
                        arg("groupname", T::String),
                        arg("consumername", T::String),
                    ],
                },
                handler: Handler::Storage(xgroup),
            },
            CommandSpec {
                name: "xgroup|destroy",
                arity: 4,
                flags: flags!(WRITE),
                first_key: 2,
                last_key: 2,
                step: 1,
                acl: acl!(WRITE | STREAM | SLOW),
                tips: &[],
                key_specs: &[
                    KeySpec::new(key_flags!(RW | DELETE), index(2), range(0, 1, 0)),
                ],
                subcommands: &[],
                doc: Doc {
                    summary: "Destroy a consumer group.",
                    since: "5.0.0",
                    group: "stream",
                    complexity: "O(N) where N is the number of entries in the group's pending entries list (PEL).",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[
                        arg("key", T::Key).key_spec(0),
                        arg("groupname", T::String),
                    ],
                },
                handler: Handler::Storage(xgroup),
            },
            CommandSpec {
                name: "xgroup|setid",
                arity: -5,
                flags: flags!(WRITE),
                first_key: 2,
                last_key: 2,
                step: 1,
                acl: acl!(WRITE | STREAM | SLOW),
                tips: &[],
                key_specs: &[
                    KeySpec::new(key_flags!(RW | UPDATE), index(2), range(0, 1, 0)),
                ],
                subcommands: &[],
                doc: Doc {
                    summary: "Set a consumer group to an arbitrary last delivered ID value.",
                    since: "5.0.0",
                    group: "stream",
                    complexity: "O(1)",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[
                        ("7.0.0", "Added the optional `entries_read` argument."),
                    ],
                    arguments: &[
                        arg("key", T::Key).key_spec(0),
                        arg("groupname", T::String),
                        arg("id", T::OneOf).args(&[
                                arg("id", T::String),
                                arg("new_id", T::PureToken).token("$"),
                            ]),
                        arg("entries_read", T::Integer).token("ENTRIESREAD").optional(),
                    ],
                },
                handler: Handler::Storage(xgroup),
            },
            CommandSpec {
                name: "xgroup|help",
                arity: 2,
                flags: flags!(LOADING | STALE),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(STREAM | SLOW),
                tips: &[],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "Show helpful text about the different subcommands",
                    since: "5.0.0",
                    group: "stream",
                    complexity: "O(1)",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[],
                },
                handler: Handler::Storage(xgroup),
            },
        ],
        doc: Doc {
            summary: "A container for consumer groups commands",
            since: "5.0.0",
            group: "stream",
            complexity: "Depends on subcommand.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[],
        },
        handler: Handler::Storage(xgroup),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xreadgroup",
        arity: -7,
        flags: flags!(WRITE | BLOCKING | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(WRITE | STREAM | SLOW | BLOCKING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), BeginSearch::Keyword { keyword: "STREAMS", start_from: 4 }, range(-1, 1, 2)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.",
            since: "5.0.0",
            group: "stream",
            complexity: "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("group_consumer", T::Block).token("GROUP").args(&[
                        arg("group", T::String),
                        arg("consumer", T::String),
                    ]),
                arg("count", T::Integer).token("COUNT").optional(),
                arg("milliseconds", T::Integer).token("BLOCK").optional(),
                arg("noack", T::PureToken).token("NOACK").optional(),
                arg("streams", T::Block).token("STREAMS").args(&[
                        arg("key", T::Key).key_spec(0).multiple(),
                        arg("id", T::String).multiple(),
                    ]),
            ],
        },
        handler: Handler::Storage(xreadgroup),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xack",
        arity: -4,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STREAM | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.",
            since: "5.0.0",
            group: "stream",
            complexity: "O(1) for each message ID processed.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("group", T::String),
                arg("id", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(xack),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xpending",
        arity: -3,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | STREAM | SLOW),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.",
            since: "5.0.0",
            group: "stream",
            complexity: "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("6.2.0", "Added the `IDLE` option and exclusive range intervals."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("group", T::String),
                arg("filters", T::Block).optional().args(&[
                        arg("min-idle-time", T::Integer).token("IDLE").since("6.2.0").optional(),
                        arg("start", T::String),
                        arg("end", T::String),
                        arg("count", T::Integer),
                        arg("consumer", T::String).optional(),
                    ]),
            ],
        },
        handler: Handler::Storage(xpending),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{err, run};

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    const INVALID: &str = "ERR Invalid stream ID specified as stream command argument";

    #[test]
    fn ids_follow_redis_number_rules() {
        let p = |s: &str| parse_id(s.as_bytes(), 0, true, true);
        assert_eq!(p("1-2"), Some(ParsedId::Id(id(1, 2))));
        assert_eq!(p("5"), Some(ParsedId::Id(id(5, 0))));
        assert_eq!(p("5-*"), Some(ParsedId::AutoSeq(5)));
        assert_eq!(
            p("18446744073709551615-18446744073709551615"),
            Some(ParsedId::Id(MAX_ID))
        );
        assert_eq!(p("18446744073709551616"), None);
        assert_eq!(p("-1"), None, "string2ll refuses a negative");
        assert_eq!(
            p(" 7"),
            Some(ParsedId::Id(id(7, 0))),
            "strtoull skips spaces"
        );
        assert_eq!(p("+7-1"), Some(ParsedId::Id(id(7, 1))));
        assert_eq!(p("1-2-3"), None);
        assert_eq!(p("1-"), None);
        assert_eq!(p("-"), None, "strict");
        assert_eq!(p("+"), None, "strict");
        assert_eq!(p(""), None);
        assert_eq!(p("1x"), None);
        assert_eq!(p(&"1".repeat(128)), None, "longer than Redis's buffer");
        assert_eq!(parse_id(b"-", 0, false, false), Some(ParsedId::Id(MIN_ID)));
        assert_eq!(
            parse_id(b"3", u64::MAX, false, false),
            Some(ParsedId::Id(id(3, u64::MAX)))
        );
        assert_eq!(parse_id(b"3-*", 0, true, false), None);
        assert_eq!(
            parse_id(b"4\0junk", 0, true, false),
            Some(ParsedId::Id(id(4, 0)))
        );
    }

    #[test]
    fn xadd_options_and_errors_in_redis_order() {
        assert_eq!(
            run(
                xadd,
                &["s", "NOMKSTREAM", "MAXLEN", "~", "5", "1-*", "f", "v"]
            ),
            Ok(Command::XAdd {
                key: b"s".to_vec(),
                id: XAddId::AutoSeq(1),
                no_mkstream: true,
                trim: Some(StreamTrim {
                    kind: StreamTrimKind::MaxLen(5),
                    approx: true,
                    limit: DEFAULT_APPROX_LIMIT,
                }),
                fields: vec![(b"f".to_vec(), b"v".to_vec())],
            })
        );
        assert_eq!(
            run(xadd, &["s", "minid", "=", "7", "limit", "0", "*", "f", "v"]).map(|_| ()),
            Err(CommandError::err(
                "syntax error, LIMIT cannot be used without the special ~ option"
            ))
        );
        let e = |argv: &[&str]| err(xadd, argv);
        assert_eq!(
            e(&["s", "0-0", "f", "v"]),
            "ERR The ID specified in XADD must be greater than 0-0"
        );
        assert_eq!(
            e(&["s", "0", "f", "v"]),
            "ERR The ID specified in XADD must be greater than 0-0"
        );
        assert_eq!(e(&["s", "x", "f", "v"]), INVALID);
        assert_eq!(
            e(&["s", "*", "f"]),
            "ERR wrong number of arguments for 'xadd' command"
        );
        assert_eq!(
            e(&["s", "MAXLEN", "-1", "*", "f", "v"]),
            "ERR The MAXLEN argument must be >= 0."
        );
        assert_eq!(
            e(&["s", "MAXLEN", "x", "*", "f", "v"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            e(&["s", "MAXLEN", "1", "MINID", "1", "*", "f", "v"]),
            "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
        );
        assert_eq!(
            e(&["s", "LIMIT", "5", "*", "f", "v"]),
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
        );
        assert_eq!(
            e(&["s", "MAXLEN", "~", "1", "LIMIT", "-1", "*", "f", "v"]),
            "ERR The LIMIT argument must be >= 0."
        );
        assert_eq!(
            e(&["s", "NOMKSTREAM", "NOMKSTREAM", "NOMKSTREAM"]),
            "ERR wrong number of arguments for 'xadd' command"
        );
    }

    #[test]
    fn xtrim_needs_a_strategy() {
        assert_eq!(
            err(xtrim, &["s", "LIMIT", "5"]),
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy"
        );
        assert_eq!(err(xtrim, &["s", "NOMKSTREAM"]), "ERR syntax error");
        assert_eq!(err(xtrim, &["s", "MAXLEN", "1", "*"]), "ERR syntax error");
        assert_eq!(
            run(xtrim, &["s", "MINID", "~", "5-1", "LIMIT", "0"]),
            Ok(Command::XTrim {
                key: b"s".to_vec(),
                trim: StreamTrim {
                    kind: StreamTrimKind::MinId(id(5, 1)),
                    approx: true,
                    limit: 0,
                },
            })
        );
    }

    #[test]
    fn ranges_step_exclusive_bounds() {
        assert_eq!(
            run(xrange, &["s", "(1-5", "(3", "COUNT", "-3"]),
            Ok(Command::XRange {
                key: b"s".to_vec(),
                start: id(1, 6),
                // `(3` is `(3-18446744073709551615`, as in Redis.
                end: id(3, u64::MAX - 1),
                count: Some(0),
                rev: false,
            })
        );
        assert_eq!(
            run(xrevrange, &["s", "+", "-"]),
            Ok(Command::XRange {
                key: b"s".to_vec(),
                start: MIN_ID,
                end: MAX_ID,
                count: None,
                rev: true,
            })
        );
        assert_eq!(
            err(
                xrange,
                &["s", "(18446744073709551615-18446744073709551615", "+"]
            ),
            "ERR invalid start ID for the interval"
        );
        assert_eq!(
            err(xrange, &["s", "-", "(0-0"]),
            "ERR invalid end ID for the interval"
        );
        assert_eq!(err(xrange, &["s", "(-", "+"]), INVALID);
        assert_eq!(err(xrange, &["s", "-", "+", "COUNT"]), "ERR syntax error");
    }

    #[test]
    fn xsetid_checks_before_the_lookup_and_xdel_after() {
        assert_eq!(
            err(xsetid, &["s", "5", "MAXDELETEDID", "6"]),
            "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id"
        );
        assert_eq!(
            err(xsetid, &["s", "5", "ENTRIESADDED", "-1"]),
            "ERR entries_added must be positive"
        );
        assert_eq!(err(xsetid, &["s", "5", "ENTRIESADDED"]), "ERR syntax error");
        assert_eq!(
            run(xdel, &["s", "1", "x"]),
            Ok(Command::XDel {
                key: b"s".to_vec(),
                ids: None,
            })
        );
        assert_eq!(
            run(xdel, &["s", "1", "2-3"]),
            Ok(Command::XDel {
                key: b"s".to_vec(),
                ids: Some(vec![id(1, 0), id(2, 3)]),
            })
        );
    }

    #[test]
    fn xread_options_ids_and_block() {
        use crate::testing::NOW;
        assert_eq!(
            run(xread, &["COUNT", "-2", "STREAMS", "a", "b", "1-1", "$"]),
            Ok(Command::XRead {
                count: 0,
                keys: vec![b"a".to_vec(), b"b".to_vec()],
                ids: vec![XReadId::Id(id(1, 1)), XReadId::Last],
            })
        );
        assert_eq!(
            run(xread, &["STREAMS", "a", "b", ">", "x"]),
            Ok(Command::XRead {
                count: 0,
                keys: vec![b"a".to_vec(), b"b".to_vec()],
                ids: vec![XReadId::NewOnly, XReadId::Invalid],
            })
        );
        let Ok(Command::BlockingPop { op, keys, wait }) =
            run(xread, &["BLOCK", "1500", "COUNT", "3", "STREAMS", "s", "$"])
        else {
            panic!("BLOCK parses to a blocking pop");
        };
        assert_eq!(
            op,
            BlockingOp::StreamRead {
                count: 3,
                ids: vec![XReadId::Last]
            }
        );
        assert_eq!(keys, vec![b"s".to_vec()]);
        assert_eq!(wait.deadline_ms, NOW as u64 + 1500);
        let Ok(Command::BlockingPop { wait, .. }) =
            run(xread, &["BLOCK", "0", "STREAMS", "s", "0"])
        else {
            panic!("BLOCK 0");
        };
        assert_eq!(wait.deadline_ms, 0);
        let e = |argv: &[&str]| err(xread, argv);
        assert_eq!(
            e(&["BLOCK", "x", "STREAMS", "s", "0"]),
            "ERR timeout is not an integer or out of range"
        );
        assert_eq!(
            e(&["BLOCK", "1.5", "STREAMS", "s", "0"]),
            "ERR timeout is not an integer or out of range"
        );
        assert_eq!(
            e(&["BLOCK", "-1", "STREAMS", "s", "0"]),
            "ERR timeout is negative"
        );
        assert_eq!(
            e(&["COUNT", "x", "STREAMS", "s", "0"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            e(&["STREAMS", "s", "t", "0"]),
            "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."
        );
        assert_eq!(
            e(&["GROUP", "g", "c", "STREAMS", "s", "0"]),
            "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead."
        );
        assert_eq!(
            e(&["NOACK", "STREAMS", "s", "0"]),
            "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead."
        );
        assert_eq!(e(&["BOGUS", "STREAMS", "s", "0"]), "ERR syntax error");
        assert_eq!(e(&["COUNT", "1", "s", "0"]), "ERR syntax error");
    }

    #[test]
    fn xgroup_options_before_the_lookup_and_the_rest_after() {
        assert_eq!(
            run(
                xgroup,
                &["create", "s", "g", "$", "MKSTREAM", "ENTRIESREAD", "-1"]
            ),
            Ok(Command::XGroup {
                key: b"s".to_vec(),
                group: b"g".to_vec(),
                op: XGroupOp::Create {
                    id: XGroupId::Last,
                    mkstream: true,
                    entries_read: -1,
                },
                sub: b"create".to_vec(),
                late_syntax: false,
            })
        );
        // CREATE's id is strict, SETID's is not; both travel unchecked.
        let Ok(Command::XGroup { op, .. }) = run(xgroup, &["CREATE", "s", "g", "-"]) else {
            panic!("parses");
        };
        assert_eq!(
            op,
            XGroupOp::Create {
                id: XGroupId::Invalid,
                mkstream: false,
                entries_read: -1
            }
        );
        let Ok(Command::XGroup {
            op, late_syntax, ..
        }) = run(
            xgroup,
            &[
                "SETID",
                "s",
                "g",
                "-",
                "ENTRIESREAD",
                "1",
                "ENTRIESREAD",
                "2",
            ],
        )
        else {
            panic!("parses");
        };
        assert_eq!(
            op,
            XGroupOp::SetId {
                id: XGroupId::Id(MIN_ID),
                entries_read: 2
            }
        );
        assert!(late_syntax);
        assert_eq!(
            err(xgroup, &["Create", "s", "g", "0", "bogus"]),
            "ERR unknown subcommand or wrong number of arguments for 'Create'. Try XGROUP HELP."
        );
        assert_eq!(
            err(xgroup, &["SETID", "s", "g", "0", "MKSTREAM"]),
            "ERR unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP."
        );
        assert_eq!(
            err(xgroup, &["CREATE", "s", "g", "0", "ENTRIESREAD", "-2"]),
            "ERR value for ENTRIESREAD must be positive or -1"
        );
        assert_eq!(
            err(xgroup, &["bogus"]),
            "ERR unknown subcommand 'bogus'. Try XGROUP HELP."
        );
        assert_eq!(
            err(xgroup, &["destroy", "s", "g", "x"]),
            "ERR wrong number of arguments for 'xgroup|destroy' command"
        );
        assert_eq!(run(xgroup, &["help"]), Ok(Command::XGroupHelp));
    }
}
