//! Parsers for the string commands (`GET`, `SET` and its variants, `INCR*`, `GETRANGE`, `LCS` …).
//!
//! Each parser turns arguments whose count the table already checked into a typed
//! [`Command`], with Redis 7's exact error texts for bad options and values. Relative expiry
//! times become absolute unix milliseconds here, from [`ParseCtx::now_ms`]. Parsers never
//! look at data: errors that depend on a key's value or type are storaged's to produce.

use bytes::Bytes;
use tandem_shared::{Command, GetExExpiry, LcsMode, SetCondition, SetExpiry};

use crate::args::{parse_f64, parse_hex_float, parse_i64, Args, ParseCtx};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, range, CommandSpec, Doc, Handler, KeySpec};
use crate::{acl, flags, key_flags};

/// Redis's `MAX_LONG_DOUBLE_CHARS`: longer `HINCRBYFLOAT` increments are refused.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// `GET key`
pub fn get(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::Get { key })
}

/// `SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]`
pub fn set(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let value = args.next_vec()?;
    let opts = ExtendedOptions::parse(args, Family::Set)?;
    let expiry = match opts.expire {
        Some((unit, ref raw)) => SetExpiry::At(expire_at_ms(raw, unit, ctx, "set")?),
        None if opts.keep_ttl => SetExpiry::Keep,
        None => SetExpiry::Clear,
    };
    let condition = if opts.nx {
        SetCondition::IfAbsent
    } else if opts.xx {
        SetCondition::IfPresent
    } else {
        SetCondition::Always
    };
    Ok(Command::Set {
        key,
        value,
        condition,
        expiry,
        get: opts.get,
    })
}

/// `SETNX key value`
pub fn setnx(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let value = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::SetNx { key, value })
}

/// `SETEX key seconds value`
pub fn setex(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    set_with_ttl(args, ctx, ExpireUnit::Ex, "setex")
}

/// `PSETEX key milliseconds value`
pub fn psetex(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    set_with_ttl(args, ctx, ExpireUnit::Px, "psetex")
}

fn set_with_ttl(
    args: &mut Args,
    ctx: &ParseCtx,
    unit: ExpireUnit,
    name: &'static str,
) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let ttl = args.next_bytes()?;
    let value = args.next_vec()?;
    args.expect_end()?;
    let at = expire_at_ms(&ttl, unit, ctx, name)?;
    Ok(Command::Set {
        key,
        value,
        condition: SetCondition::Always,
        expiry: SetExpiry::At(at),
        get: false,
    })
}

/// `MGET key [key ...]`
pub fn mget(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::MGet {
        keys: args.rest_vecs(),
    })
}

/// `MSET key value [key value ...]`
pub fn mset(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::MSet {
        pairs: pairs(args, "mset")?,
    })
}

/// `MSETNX key value [key value ...]`
pub fn msetnx(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::MSetNx {
        pairs: pairs(args, "msetnx")?,
    })
}

type KeyValue = (Vec<u8>, Vec<u8>);

/// Redis reports an odd key/value list as an arity error, not a syntax error.
fn pairs(args: &mut Args, name: &str) -> Result<Vec<KeyValue>, CommandError> {
    if !args.remaining().is_multiple_of(2) {
        return Err(CommandError::WrongArity(name.to_owned()));
    }
    let mut out = Vec::with_capacity(args.remaining() / 2);
    while args.remaining() > 0 {
        let key = args.next_vec()?;
        let value = args.next_vec()?;
        out.push((key, value));
    }
    Ok(out)
}

/// `GETSET key value`: a `SET` that clears the TTL and returns the old value.
pub fn getset(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let value = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::Set {
        key,
        value,
        condition: SetCondition::Always,
        expiry: SetExpiry::Clear,
        get: true,
    })
}

/// `GETDEL key`
pub fn getdel(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::GetDel { key })
}

/// `GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]`
///
/// Redis checks the expiry value only when the key exists (`GETEX missing EX 0` replies
/// nil there); here an invalid value is always an error, since the proxy cannot see data.
pub fn getex(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let opts = ExtendedOptions::parse(args, Family::GetEx)?;
    let expiry = match opts.expire {
        Some((unit, ref raw)) => GetExExpiry::At(expire_at_ms(raw, unit, ctx, "getex")?),
        None if opts.persist => GetExExpiry::Persist,
        None => GetExExpiry::Unchanged,
    };
    Ok(Command::GetEx { key, expiry })
}

/// `APPEND key value`
pub fn append(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let value = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::Append { key, value })
}

/// `STRLEN key`
pub fn strlen(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::StrLen { key })
}

/// `GETRANGE key start end`, also `SUBSTR`.
pub fn getrange(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let start = args.next_i64()?;
    let end = args.next_i64()?;
    args.expect_end()?;
    Ok(Command::GetRange { key, start, end })
}

/// `SETRANGE key offset value`
///
/// An empty value skips the size check, as in Redis (it only reports the length).
pub fn setrange(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let offset = args.next_i64()?;
    let value = args.next_vec()?;
    args.expect_end()?;
    let offset = u64::try_from(offset).map_err(|_| CommandError::err("offset is out of range"))?;
    if !value.is_empty() {
        let total = offset.checked_add(value.len() as u64);
        if total.is_none_or(|t| t > ctx.proto_max_bulk_len) {
            return Err(CommandError::err(
                "string exceeds maximum allowed size (proto-max-bulk-len)",
            ));
        }
    }
    Ok(Command::SetRange { key, offset, value })
}

/// `INCR key`
pub fn incr(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::IncrBy { key, delta: 1 })
}

/// `DECR key`
pub fn decr(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::IncrBy { key, delta: -1 })
}

/// `INCRBY key increment`
pub fn incrby(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let delta = args.next_i64()?;
    args.expect_end()?;
    Ok(Command::IncrBy { key, delta })
}

/// `DECRBY key decrement`
pub fn decrby(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let by = args.next_i64()?;
    args.expect_end()?;
    let delta = by
        .checked_neg()
        .ok_or_else(|| CommandError::err("decrement would overflow"))?;
    Ok(Command::IncrBy { key, delta })
}

/// `INCRBYFLOAT key increment`
///
/// The increment travels unparsed: Redis checks the key's type first, then the stored
/// value, and only then the increment (`WRONGTYPE` wins over a bad increment), so every
/// one of those errors is storaged's to report, in that order.
pub fn incrbyfloat(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let raw = args.next_bytes()?;
    args.expect_end()?;
    Ok(Command::IncrByFloat {
        key,
        delta: raw.to_vec(),
    })
}

/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]`
///
/// `MINMATCHLEN`/`WITHMATCHLEN` without `IDX` are accepted and ignored, as in Redis; a
/// negative `MINMATCHLEN` means 0.
pub fn lcs(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key1 = args.next_vec()?;
    let key2 = args.next_vec()?;
    let (mut len, mut idx, mut with_match_len, mut min_match_len) = (false, false, false, 0u64);
    while args.remaining() > 0 {
        let opt = args.next_bytes()?;
        if opt.eq_ignore_ascii_case(b"IDX") {
            idx = true;
        } else if opt.eq_ignore_ascii_case(b"LEN") {
            len = true;
        } else if opt.eq_ignore_ascii_case(b"WITHMATCHLEN") {
            with_match_len = true;
        } else if opt.eq_ignore_ascii_case(b"MINMATCHLEN") && args.remaining() > 0 {
            min_match_len = u64::try_from(args.next_i64()?).unwrap_or(0);
        } else {
            return Err(CommandError::Syntax);
        }
    }
    if idx && len {
        return Err(CommandError::err(
            "If you want both the length and indexes, please just use IDX.",
        ));
    }
    let mode = if idx {
        LcsMode::Indexes {
            min_match_len,
            with_match_len,
        }
    } else if len {
        LcsMode::Length
    } else {
        LcsMode::String
    };
    Ok(Command::Lcs { key1, key2, mode })
}

/// How an `EX`-style option's number is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExpireUnit {
    /// Relative seconds.
    Ex,
    /// Relative milliseconds.
    Px,
    /// Absolute unix seconds.
    ExAt,
    /// Absolute unix milliseconds.
    PxAt,
}

/// Which command's option set `ExtendedOptions::parse` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Set,
    GetEx,
}

/// The options of `SET` and `GETEX`, parsed as Redis's `parseExtendedStringArgumentsOrReply`
/// does: a repeated option is allowed (the last number wins), conflicting ones are a syntax
/// error, and the expiry number is only read after all options were accepted.
#[derive(Debug, Default)]
struct ExtendedOptions {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    persist: bool,
    expire: Option<(ExpireUnit, Bytes)>,
}

impl ExtendedOptions {
    fn parse(args: &mut Args, family: Family) -> Result<ExtendedOptions, CommandError> {
        let mut o = ExtendedOptions::default();
        let is_set = family == Family::Set;
        while args.remaining() > 0 {
            let opt = args.next_bytes()?;
            let unit = if opt.eq_ignore_ascii_case(b"EX") {
                Some(ExpireUnit::Ex)
            } else if opt.eq_ignore_ascii_case(b"PX") {
                Some(ExpireUnit::Px)
            } else if opt.eq_ignore_ascii_case(b"EXAT") {
                Some(ExpireUnit::ExAt)
            } else if opt.eq_ignore_ascii_case(b"PXAT") {
                Some(ExpireUnit::PxAt)
            } else {
                None
            };
            if let Some(unit) = unit {
                let same_or_none = o.expire.as_ref().is_none_or(|(u, _)| *u == unit);
                if o.keep_ttl || o.persist || !same_or_none || args.remaining() == 0 {
                    return Err(CommandError::Syntax);
                }
                o.expire = Some((unit, args.next_bytes()?));
            } else if is_set && opt.eq_ignore_ascii_case(b"NX") && !o.xx {
                o.nx = true;
            } else if is_set && opt.eq_ignore_ascii_case(b"XX") && !o.nx {
                o.xx = true;
            } else if is_set && opt.eq_ignore_ascii_case(b"GET") {
                o.get = true;
            } else if is_set && opt.eq_ignore_ascii_case(b"KEEPTTL") && o.expire.is_none() {
                o.keep_ttl = true;
            } else if !is_set && opt.eq_ignore_ascii_case(b"PERSIST") && o.expire.is_none() {
                o.persist = true;
            } else {
                return Err(CommandError::Syntax);
            }
        }
        Ok(o)
    }
}

/// Resolves an `EX`/`PX`/`EXAT`/`PXAT` number to absolute unix ms, as Redis's
/// `getExpireMillisecondsOrReply`: the number must be positive and must not overflow once
/// converted to milliseconds and made absolute.
pub(crate) fn expire_at_ms(
    raw: &[u8],
    unit: ExpireUnit,
    ctx: &ParseCtx,
    name: &'static str,
) -> Result<i64, CommandError> {
    let v = parse_i64(raw).ok_or(CommandError::NotInteger)?;
    let invalid = CommandError::InvalidExpireTime(name);
    if v <= 0 {
        return Err(invalid);
    }
    let ms = match unit {
        ExpireUnit::Ex | ExpireUnit::ExAt => v.checked_mul(1000).ok_or(invalid.clone())?,
        ExpireUnit::Px | ExpireUnit::PxAt => v,
    };
    match unit {
        ExpireUnit::Ex | ExpireUnit::Px => ms.checked_add(ctx.now_ms).ok_or(invalid),
        ExpireUnit::ExAt | ExpireUnit::PxAt => Ok(ms),
    }
}

/// Parses an `HINCRBYFLOAT` increment as Redis's `string2ld` (`strtold`) does: at most
/// 5119 bytes, no surrounding space, hex floats (`0x1p3`) and `inf` accepted, NaN refused.
/// A finite literal beyond `f64` range (Redis holds it in a `long double`) is refused.
pub(super) fn parse_long_double(b: &[u8]) -> Option<f64> {
    if b.is_empty() || b.len() >= MAX_LONG_DOUBLE_CHARS {
        return None;
    }
    let (neg, unsigned) = match b[0] {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let v = if unsigned.len() > 2 && unsigned[0] == b'0' && (unsigned[1] | 0x20) == b'x' {
        let v = parse_hex_float(&unsigned[2..])?;
        if neg {
            -v
        } else {
            v
        }
    } else {
        let v = parse_f64(b)?;
        let spelled_inf = unsigned
            .first()
            .is_some_and(|c| c.eq_ignore_ascii_case(&b'i'));
        if v.is_infinite() && !spelled_inf {
            return None;
        }
        v
    };
    Some(v)
}

/// The string commands' rows of the command table ([`crate::table`]), each
/// beside its parser above; values from redis-server 7.0's `COMMAND INFO`/`COMMAND DOCS`.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "append",
        arity: 3,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STRING | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | INSERT), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Append a value to a key",
            since: "2.0.0",
            group: "string",
            complexity: "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("value", T::String),
            ],
        },
        handler: Handler::Storage(append),
    },
    CommandSpec {
        name: "decr",
        arity: 2,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STRING | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Decrement the integer value of a key by one",
            since: "1.0.0",
            group: "string",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(decr),
    },
    CommandSpec {
        name: "decrby",
        arity: 3,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STRING | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Decrement the integer value of a key by the given number",
            since: "1.0.0",
            group: "string",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("decrement", T::Integer),
            ],
        },
        handler: Handler::Storage(decrby),
    },
    CommandSpec {
        name: "get",
        arity: 2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | STRING | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the value of a key",
            since: "1.0.0",
            group: "string",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(get),
    },
    CommandSpec {
        name: "getdel",
        arity: 2,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STRING | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the value of a key and delete the key",
            since: "6.2.0",
            group: "string",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(getdel),
    },
    CommandSpec {
        name: "getex",
        arity: -2,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STRING | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE), index(1), range(0, 1, 0)).notes("RW and UPDATE because it changes the TTL"),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the value of a key and optionally set its expiration",
            since: "6.2.0",
            group: "string",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("expiration", T::OneOf).optional().args(&[
                        arg("seconds", T::Integer).token("EX"),
                        arg("milliseconds", T::Integer).token("PX"),
                        arg("unix-time-seconds", T::UnixTime).token("EXAT"),
                        arg("unix-time-milliseconds", T::UnixTime).token("PXAT"),
                        arg("persist", T::PureToken).token("PERSIST"),
                    ]),
            ],
        },
        handler: Handler::Storage(getex),
    },
    CommandSpec {
        name: "getrange",
        arity: 4,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | STRING | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get a substring of the string stored at a key",
            since: "2.4.0",
            group: "string",
            complexity: "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("start", T::Integer),
                arg("end", T::Integer),
            ],
        },
        handler: Handler::Storage(getrange),
    },
    CommandSpec {
        name: "getset",
        arity: 3,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STRING | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set the string value of a key and return its old value",
            since: "1.0.0",
            group: "string",
            complexity: "O(1)",
            doc_flags: &["deprecated"],
            deprecated_since: "6.2.0",
            replaced_by: "`SET` with the `!GET` argument",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("value", T::String),
            ],
        },
        handler: Handler::Storage(getset),
    },
    CommandSpec {
        name: "incr",
        arity: 2,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STRING | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Increment the integer value of a key by one",
            since: "1.0.0",
            group: "string",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(incr),
    },
    CommandSpec {
        name: "incrby",
        arity: 3,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STRING | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Increment the integer value of a key by the given amount",
            since: "1.0.0",
            group: "string",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("increment", T::Integer),
            ],
        },
        handler: Handler::Storage(incrby),
    },
    CommandSpec {
        name: "incrbyfloat",
        arity: 3,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STRING | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Increment the float value of a key by the given amount",
            since: "2.6.0",
            group: "string",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("increment", T::Double),
            ],
        },
        handler: Handler::Storage(incrbyfloat),
    },
    CommandSpec {
        name: "lcs",
        arity: -3,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: acl!(READ | STRING | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(1, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Find longest common substring",
            since: "7.0.0",
            group: "string",
            complexity: "O(N*M) where N and M are the lengths of s1 and s2, respectively",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key1", T::Key).key_spec(0),
                arg("key2", T::Key).key_spec(0),
                arg("len", T::PureToken).token("LEN").optional(),
                arg("idx", T::PureToken).token("IDX").optional(),
                arg("len", T::Integer).token("MINMATCHLEN").optional(),
                arg("withmatchlen", T::PureToken).token("WITHMATCHLEN").optional(),
            ],
        },
        handler: Handler::Storage(lcs),
    },
    CommandSpec {
        name: "mget",
        arity: -2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(READ | STRING | FAST),
        tips: &["request_policy:multi_shard"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(-1, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the values of all the given keys",
            since: "1.0.0",
            group: "string",
            complexity: "O(N) where N is the number of keys to retrieve.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0).multiple(),
            ],
        },
        handler: Handler::Storage(mget),
    },
    CommandSpec {
        name: "mset",
        arity: -3,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: -1,
        step: 2,
        acl: acl!(WRITE | STRING | SLOW),
        tips: &["request_policy:multi_shard", "response_policy:all_succeeded"],
        key_specs: &[
            KeySpec::new(key_flags!(OW | UPDATE), index(1), range(-1, 2, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set multiple keys to multiple values",
            since: "1.0.1",
            group: "string",
            complexity: "O(N) where N is the number of keys to set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key_value", T::Block).multiple().args(&[
                        arg("key", T::Key).key_spec(0),
                        arg("value", T::String),
                    ]),
            ],
        },
        handler: Handler::Storage(mset),
    },
    CommandSpec {
        name: "msetnx",
        arity: -3,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: -1,
        step: 2,
        acl: acl!(WRITE | STRING | SLOW),
        tips: &["request_policy:multi_shard", "response_policy:agg_min"],
        key_specs: &[
            KeySpec::new(key_flags!(OW | INSERT), index(1), range(-1, 2, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set multiple keys to multiple values, only if none of the keys exist",
            since: "1.0.1",
            group: "string",
            complexity: "O(N) where N is the number of keys to set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key_value", T::Block).multiple().args(&[
                        arg("key", T::Key).key_spec(0),
                        arg("value", T::String),
                    ]),
            ],
        },
        handler: Handler::Storage(msetnx),
    },
    CommandSpec {
        name: "psetex",
        arity: 4,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STRING | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(OW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set the value and expiration in milliseconds of a key",
            since: "2.6.0",
            group: "string",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("milliseconds", T::Integer),
                arg("value", T::String),
            ],
        },
        handler: Handler::Storage(psetex),
    },
    CommandSpec {
        name: "set",
        arity: -3,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STRING | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE | VARIABLE_FLAGS), index(1), range(0, 1, 0)).notes("RW and ACCESS due to the optional `GET` argument"),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set the string value of a key",
            since: "1.0.0",
            group: "string",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("2.6.12", "Added the `EX`, `PX`, `NX` and `XX` options."),
                ("6.0.0", "Added the `KEEPTTL` option."),
                ("6.2.0", "Added the `GET`, `EXAT` and `PXAT` option."),
                ("7.0.0", "Allowed the `NX` and `GET` options to be used together."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("value", T::String),
                arg("condition", T::OneOf).since("2.6.12").optional().args(&[
                        arg("nx", T::PureToken).token("NX"),
                        arg("xx", T::PureToken).token("XX"),
                    ]),
                arg("get", T::PureToken).token("GET").since("6.2.0").optional(),
                arg("expiration", T::OneOf).optional().args(&[
                        arg("seconds", T::Integer).token("EX").since("2.6.12"),
                        arg("milliseconds", T::Integer).token("PX").since("2.6.12"),
                        arg("unix-time-seconds", T::UnixTime).token("EXAT").since("6.2.0"),
                        arg("unix-time-milliseconds", T::UnixTime).token("PXAT").since("6.2.0"),
                        arg("keepttl", T::PureToken).token("KEEPTTL").since("6.0.0"),
                    ]),
            ],
        },
        handler: Handler::Storage(set),
    },
    CommandSpec {
        name: "setex",
        arity: 4,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STRING | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(OW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set the value and expiration of a key",
            since: "2.0.0",
            group: "string",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("seconds", T::Integer),
                arg("value", T::String),
            ],
        },
        handler: Handler::Storage(setex),
    },
    CommandSpec {
        name: "setnx",
        arity: 3,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STRING | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(OW | INSERT), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set the value of a key, only if the key does not exist",
            since: "1.0.0",
            group: "string",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("value", T::String),
            ],
        },
        handler: Handler::Storage(setnx),
    },
    CommandSpec {
        name: "setrange",
        arity: 4,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STRING | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Overwrite part of a string at key starting at the specified offset",
            since: "2.2.0",
            group: "string",
            complexity: "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("offset", T::Integer),
                arg("value", T::String),
            ],
        },
        handler: Handler::Storage(setrange),
    },
    CommandSpec {
        name: "strlen",
        arity: 2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | STRING | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the length of the value stored in a key",
            since: "2.2.0",
            group: "string",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(strlen),
    },
    CommandSpec {
        name: "substr",
        arity: 4,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | STRING | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get a substring of the string stored at a key",
            since: "1.0.0",
            group: "string",
            complexity: "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.",
            doc_flags: &["deprecated"],
            deprecated_since: "2.0.0",
            replaced_by: "`GETRANGE`",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("start", T::Integer),
                arg("end", T::Integer),
            ],
        },
        handler: Handler::Storage(getrange),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{err, run, NOW};

    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    fn set_cmd(condition: SetCondition, expiry: SetExpiry, get: bool) -> Command {
        Command::Set {
            key: v("k"),
            value: v("v"),
            condition,
            expiry,
            get,
        }
    }

    #[test]
    fn get_and_simple_single_key_commands() {
        assert_eq!(run(get, &["k"]), Ok(Command::Get { key: v("k") }));
        assert_eq!(run(getdel, &["k"]), Ok(Command::GetDel { key: v("k") }));
        assert_eq!(run(strlen, &["k"]), Ok(Command::StrLen { key: v("k") }));
        assert_eq!(
            run(incr, &["k"]),
            Ok(Command::IncrBy {
                key: v("k"),
                delta: 1
            })
        );
        assert_eq!(
            run(decr, &["k"]),
            Ok(Command::IncrBy {
                key: v("k"),
                delta: -1
            })
        );
        assert_eq!(run(get, &["k", "x"]), Err(CommandError::Syntax));
    }

    #[test]
    fn set_plain_and_conditions() {
        use SetCondition::*;
        assert_eq!(
            run(set, &["k", "v"]),
            Ok(set_cmd(Always, SetExpiry::Clear, false))
        );
        assert_eq!(
            run(set, &["k", "v", "nx"]),
            Ok(set_cmd(IfAbsent, SetExpiry::Clear, false))
        );
        assert_eq!(
            run(set, &["k", "v", "XX"]),
            Ok(set_cmd(IfPresent, SetExpiry::Clear, false))
        );
        assert_eq!(
            run(set, &["k", "v", "NX", "NX"]),
            Ok(set_cmd(IfAbsent, SetExpiry::Clear, false))
        );
        assert_eq!(
            run(set, &["k", "v", "nx", "get"]),
            Ok(set_cmd(IfAbsent, SetExpiry::Clear, true))
        );
        assert_eq!(
            run(set, &["k", "v", "GET", "GET"]),
            Ok(set_cmd(Always, SetExpiry::Clear, true))
        );
        assert_eq!(
            run(set, &["k", "v", "KEEPTTL"]),
            Ok(set_cmd(Always, SetExpiry::Keep, false))
        );
        assert_eq!(
            run(set, &["k", "v", "KEEPTTL", "keepttl", "GET"]),
            Ok(set_cmd(Always, SetExpiry::Keep, true))
        );
    }

    #[test]
    fn set_expiry_forms() {
        use SetCondition::*;
        let at = |ms| set_cmd(Always, SetExpiry::At(ms), false);
        assert_eq!(run(set, &["k", "v", "EX", "10"]), Ok(at(NOW + 10_000)));
        assert_eq!(run(set, &["k", "v", "px", "10"]), Ok(at(NOW + 10)));
        assert_eq!(run(set, &["k", "v", "EXAT", "5"]), Ok(at(5_000)));
        assert_eq!(run(set, &["k", "v", "PXAT", "1"]), Ok(at(1)));
        assert_eq!(
            run(set, &["k", "v", "PXAT", "9223372036854775807"]),
            Ok(at(i64::MAX))
        );
        assert_eq!(
            run(set, &["k", "v", "EXAT", "9223372036854775"]),
            Ok(at(9_223_372_036_854_775_000))
        );
        // Repeats are allowed and the last number wins, even over one that would not parse.
        assert_eq!(
            run(set, &["k", "v", "EX", "10", "EX", "20"]),
            Ok(at(NOW + 20_000))
        );
        assert_eq!(
            run(set, &["k", "v", "EX", "abc", "EX", "10"]),
            Ok(at(NOW + 10_000))
        );
        assert_eq!(
            run(set, &["k", "v", "ex", "10", "nx", "get"]),
            Ok(set_cmd(IfAbsent, SetExpiry::At(NOW + 10_000), true))
        );
    }

    #[test]
    fn set_option_conflicts_are_syntax_errors() {
        for argv in [
            &["k", "v", "NX", "XX"][..],
            &["k", "v", "XX", "NX"],
            &["k", "v", "EX", "10", "PX", "10"],
            &["k", "v", "EXAT", "1", "PXAT", "1"],
            &["k", "v", "KEEPTTL", "EX", "10"],
            &["k", "v", "EX", "10", "KEEPTTL"],
            &["k", "v", "EX"],
            &["k", "v", "EX", "abc", "foo"],
            &["k", "v", "foo"],
            &["k", "v", "PERSIST"],
        ] {
            assert_eq!(err(set, argv), "ERR syntax error", "{argv:?}");
        }
    }

    #[test]
    fn set_bad_expire_values() {
        let invalid = "ERR invalid expire time in 'set' command";
        for n in ["0", "-1"] {
            for opt in ["EX", "PX", "EXAT", "PXAT"] {
                assert_eq!(err(set, &["k", "v", opt, n]), invalid, "{opt} {n}");
            }
        }
        for (opt, n) in [
            ("EX", "9223372036854775807"),
            ("EX", "9223372036854775"),
            ("EX", "9223372036854774"),
            ("PX", "9223372036854775807"),
            ("PX", "9223372036854775806"),
            ("EXAT", "9223372036854775807"),
            ("EXAT", "9223372036854776"),
        ] {
            assert_eq!(err(set, &["k", "v", opt, n]), invalid, "{opt} {n}");
        }
        let not_int = "ERR value is not an integer or out of range";
        assert_eq!(err(set, &["k", "v", "EX", "abc"]), not_int);
        assert_eq!(err(set, &["k", "v", "EX", "1.5"]), not_int);
        assert_eq!(err(set, &["k", "v", "PX", "9223372036854775808"]), not_int);
    }

    #[test]
    fn setnx_getset_append() {
        assert_eq!(
            run(setnx, &["k", "v"]),
            Ok(Command::SetNx {
                key: v("k"),
                value: v("v")
            })
        );
        assert_eq!(
            run(getset, &["k", "v"]),
            Ok(set_cmd(SetCondition::Always, SetExpiry::Clear, true))
        );
        assert_eq!(
            run(append, &["k", "v"]),
            Ok(Command::Append {
                key: v("k"),
                value: v("v")
            })
        );
    }

    #[test]
    fn setex_and_psetex() {
        let at = |ms| set_cmd(SetCondition::Always, SetExpiry::At(ms), false);
        assert_eq!(run(setex, &["k", "10", "v"]), Ok(at(NOW + 10_000)));
        assert_eq!(run(psetex, &["k", "10", "v"]), Ok(at(NOW + 10)));
        for n in ["0", "-1", "-9223372036854775808", "9223372036854775807"] {
            assert_eq!(
                err(setex, &["k", n, "v"]),
                "ERR invalid expire time in 'setex' command"
            );
            assert_eq!(
                err(psetex, &["k", n, "v"]),
                "ERR invalid expire time in 'psetex' command"
            );
        }
        assert_eq!(
            err(psetex, &["k", "9223372036854775806", "v"]),
            "ERR invalid expire time in 'psetex' command"
        );
        assert_eq!(
            err(setex, &["k", "abc", "v"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(psetex, &["k", "1.0", "v"]),
            "ERR value is not an integer or out of range"
        );
    }

    #[test]
    fn getex_forms() {
        let gx = |expiry| Command::GetEx {
            key: v("k"),
            expiry,
        };
        assert_eq!(run(getex, &["k"]), Ok(gx(GetExExpiry::Unchanged)));
        assert_eq!(run(getex, &["k", "persist"]), Ok(gx(GetExExpiry::Persist)));
        assert_eq!(
            run(getex, &["k", "PERSIST", "PERSIST"]),
            Ok(gx(GetExExpiry::Persist))
        );
        assert_eq!(
            run(getex, &["k", "EX", "10"]),
            Ok(gx(GetExExpiry::At(NOW + 10_000)))
        );
        assert_eq!(
            run(getex, &["k", "PX", "10"]),
            Ok(gx(GetExExpiry::At(NOW + 10)))
        );
        assert_eq!(
            run(getex, &["k", "EXAT", "10"]),
            Ok(gx(GetExExpiry::At(10_000)))
        );
        assert_eq!(
            run(getex, &["k", "PXAT", "9223372036854775807"]),
            Ok(gx(GetExExpiry::At(i64::MAX)))
        );
        assert_eq!(
            run(getex, &["k", "EX", "10", "EX", "20"]),
            Ok(gx(GetExExpiry::At(NOW + 20_000)))
        );
    }

    #[test]
    fn getex_errors() {
        for argv in [
            &["k", "EX", "10", "PX", "10"][..],
            &["k", "PERSIST", "EX", "10"],
            &["k", "EX", "10", "PERSIST"],
            &["k", "EXAT", "10", "EX", "20"],
            &["k", "EX"],
            &["k", "FOO"],
            &["k", "KEEPTTL"],
            &["k", "NX"],
            &["k", "XX"],
            &["k", "GET"],
        ] {
            assert_eq!(err(getex, argv), "ERR syntax error", "{argv:?}");
        }
        let invalid = "ERR invalid expire time in 'getex' command";
        assert_eq!(err(getex, &["k", "EX", "0"]), invalid);
        assert_eq!(err(getex, &["k", "EXAT", "0"]), invalid);
        assert_eq!(err(getex, &["k", "PX", "-5"]), invalid);
        assert_eq!(err(getex, &["k", "EX", "9223372036854775807"]), invalid);
        assert_eq!(
            err(getex, &["k", "EX", "abc"]),
            "ERR value is not an integer or out of range"
        );
    }

    #[test]
    fn mget_mset_msetnx() {
        assert_eq!(
            run(mget, &["a", "b", "a"]),
            Ok(Command::MGet {
                keys: vec![v("a"), v("b"), v("a")]
            })
        );
        let pairs = vec![(v("a"), v("1")), (v("b"), v("2"))];
        assert_eq!(
            run(mset, &["a", "1", "b", "2"]),
            Ok(Command::MSet {
                pairs: pairs.clone()
            })
        );
        assert_eq!(
            run(msetnx, &["a", "1", "b", "2"]),
            Ok(Command::MSetNx { pairs })
        );
        assert_eq!(
            err(mset, &["a", "1", "b"]),
            "ERR wrong number of arguments for 'mset' command"
        );
        assert_eq!(
            err(mset, &["a"]),
            "ERR wrong number of arguments for 'mset' command"
        );
        assert_eq!(
            err(msetnx, &["a", "1", "b"]),
            "ERR wrong number of arguments for 'msetnx' command"
        );
    }

    #[test]
    fn incrby_and_decrby() {
        assert_eq!(
            run(incrby, &["k", "-5"]),
            Ok(Command::IncrBy {
                key: v("k"),
                delta: -5
            })
        );
        assert_eq!(
            run(decrby, &["k", "5"]),
            Ok(Command::IncrBy {
                key: v("k"),
                delta: -5
            })
        );
        assert_eq!(
            run(decrby, &["k", "9223372036854775807"]),
            Ok(Command::IncrBy {
                key: v("k"),
                delta: -i64::MAX
            })
        );
        assert_eq!(
            run(incrby, &["k", "-9223372036854775808"]),
            Ok(Command::IncrBy {
                key: v("k"),
                delta: i64::MIN
            })
        );
        assert_eq!(
            err(decrby, &["k", "-9223372036854775808"]),
            "ERR decrement would overflow"
        );
        for bad in ["abc", "1.5", "", " 1", "9223372036854775808"] {
            assert_eq!(
                err(incrby, &["k", bad]),
                "ERR value is not an integer or out of range"
            );
            assert_eq!(
                err(decrby, &["k", bad]),
                "ERR value is not an integer or out of range"
            );
        }
    }

    #[test]
    fn incrbyfloat_sends_the_increment_unparsed() {
        // storaged parses it after the type and value checks, as Redis orders them.
        let too_long = format!("1.{}", "0".repeat(5200));
        for text in [
            "1.5", ".5", "+1", "-.5e-3", "0x10", "inf", "abc", "nan", "", " 1", "1e5000", "-1\0\0",
            &too_long,
        ] {
            assert_eq!(
                run(incrbyfloat, &["k", text]),
                Ok(Command::IncrByFloat {
                    key: v("k"),
                    delta: text.as_bytes().to_vec(),
                }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn getrange_and_substr() {
        assert_eq!(
            run(getrange, &["k", "0", "-1"]),
            Ok(Command::GetRange {
                key: v("k"),
                start: 0,
                end: -1
            })
        );
        assert_eq!(
            run(
                getrange,
                &["k", "9223372036854775807", "-9223372036854775808"]
            ),
            Ok(Command::GetRange {
                key: v("k"),
                start: i64::MAX,
                end: i64::MIN
            })
        );
        assert_eq!(
            err(getrange, &["k", "a", "1"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(getrange, &["k", "1", "a"]),
            "ERR value is not an integer or out of range"
        );
    }

    #[test]
    fn setrange_forms_and_limits() {
        let sr = |offset, value: &str| {
            Ok(Command::SetRange {
                key: v("k"),
                offset,
                value: v(value),
            })
        };
        assert_eq!(run(setrange, &["k", "5", "v"]), sr(5, "v"));
        assert_eq!(
            run(setrange, &["k", "536870911", "v"]),
            sr(536_870_911, "v")
        );
        // Nothing to write: no size check, as Redis only reports the length.
        assert_eq!(run(setrange, &["k", "536870912", ""]), sr(536_870_912, ""));
        assert_eq!(
            run(setrange, &["k", "9223372036854775807", ""]),
            sr(i64::MAX as u64, "")
        );
        let too_big = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
        assert_eq!(err(setrange, &["k", "536870912", "v"]), too_big);
        assert_eq!(err(setrange, &["k", "536870911", "vv"]), too_big);
        assert_eq!(err(setrange, &["k", "9223372036854775807", "v"]), too_big);
        assert_eq!(
            err(setrange, &["k", "-1", "v"]),
            "ERR offset is out of range"
        );
        assert_eq!(
            err(setrange, &["k", "-1", ""]),
            "ERR offset is out of range"
        );
        assert_eq!(
            err(setrange, &["k", "abc", "v"]),
            "ERR value is not an integer or out of range"
        );
    }

    #[test]
    fn lcs_modes() {
        let l = |mode| {
            Ok(Command::Lcs {
                key1: v("a"),
                key2: v("b"),
                mode,
            })
        };
        assert_eq!(run(lcs, &["a", "b"]), l(LcsMode::String));
        assert_eq!(run(lcs, &["a", "b", "len"]), l(LcsMode::Length));
        assert_eq!(run(lcs, &["a", "b", "LEN", "LEN"]), l(LcsMode::Length));
        assert_eq!(
            run(lcs, &["a", "b", "LEN", "MINMATCHLEN", "2"]),
            l(LcsMode::Length)
        );
        assert_eq!(run(lcs, &["a", "b", "WITHMATCHLEN"]), l(LcsMode::String));
        assert_eq!(
            run(lcs, &["a", "b", "IDX"]),
            l(LcsMode::Indexes {
                min_match_len: 0,
                with_match_len: false
            })
        );
        assert_eq!(
            run(lcs, &["a", "b", "idx", "minmatchlen", "4", "withmatchlen"]),
            l(LcsMode::Indexes {
                min_match_len: 4,
                with_match_len: true
            })
        );
        assert_eq!(
            run(lcs, &["a", "b", "IDX", "MINMATCHLEN", "-1"]),
            l(LcsMode::Indexes {
                min_match_len: 0,
                with_match_len: false
            })
        );
    }

    #[test]
    fn lcs_errors() {
        let both = "ERR If you want both the length and indexes, please just use IDX.";
        assert_eq!(err(lcs, &["a", "b", "LEN", "IDX"]), both);
        assert_eq!(err(lcs, &["a", "b", "IDX", "LEN"]), both);
        assert_eq!(
            err(lcs, &["a", "b", "MINMATCHLEN", "abc"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(lcs, &["a", "b", "MINMATCHLEN", "3", "MINMATCHLEN", "abc"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(err(lcs, &["a", "b", "MINMATCHLEN"]), "ERR syntax error");
        assert_eq!(err(lcs, &["a", "b", "FOO"]), "ERR syntax error");
        assert_eq!(
            err(lcs, &["a", "b", "FOO", "MINMATCHLEN", "abc"]),
            "ERR syntax error"
        );
    }
}
