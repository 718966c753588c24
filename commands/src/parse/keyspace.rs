//! Parsers for the keyspace commands (`DEL`, `EXISTS`, the `EXPIRE` family, `RENAME`, `COPY`,
//! `MOVE`, `SCAN`, `FLUSHDB` …).
//!
//! Each parser turns arguments whose count the table already checked into a typed
//! [`Command`], with Redis 7's exact error texts. Relative expiry times become absolute unix
//! milliseconds from [`ParseCtx::now_ms`]. Errors that Redis raises before looking at data
//! (a bad database index, `COPY k k` in one database) are raised here; anything that depends
//! on stored keys is storaged's to report.

use tandem_shared::{Command, CopyTarget, ExpireCondition, ScanType, TimeUnit, DATABASES};

use crate::args::ParseCtx;
use crate::args::{parse_i64, Args};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, range, CommandSpec, Doc, Handler, KeySpec};
use crate::{acl, flags, key_flags};

/// `SCAN`'s page size when `COUNT` is not given.
/// `COUNT` of `SCAN`/`HSCAN`/`SSCAN`/`ZSCAN` when none is given, as in Redis.
pub(super) const DEFAULT_SCAN_COUNT: u64 = 10;

/// `DEL key [key ...]`, also `UNLINK`.
pub fn del(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::Del {
        keys: args.rest_vecs(),
    })
}

/// `EXISTS key [key ...]`
pub fn exists(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::Exists {
        keys: args.rest_vecs(),
    })
}

/// `TOUCH key [key ...]`
pub fn touch(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::Touch {
        keys: args.rest_vecs(),
    })
}

/// `TYPE key`
pub fn key_type(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::Type {
        key: args.single_key()?,
    })
}

/// `EXPIRE key seconds [NX|XX|GT|LT]`
pub fn expire(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    expire_generic(args, ctx.now_ms, TimeUnit::Seconds, "expire")
}

/// `PEXPIRE key milliseconds [NX|XX|GT|LT]`
pub fn pexpire(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    expire_generic(args, ctx.now_ms, TimeUnit::Milliseconds, "pexpire")
}

/// `EXPIREAT key unix-seconds [NX|XX|GT|LT]`
pub fn expireat(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    expire_generic(args, 0, TimeUnit::Seconds, "expireat")
}

/// `PEXPIREAT key unix-milliseconds [NX|XX|GT|LT]`
pub fn pexpireat(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    expire_generic(args, 0, TimeUnit::Milliseconds, "pexpireat")
}

/// Redis's `expireGenericCommand` up to the key lookup: options are read before the time
/// (so `EXPIRE k abc foo` complains about `foo`), negative times are allowed (they delete),
/// and only overflow of the unit conversion or of `basetime +` is refused.
fn expire_generic(
    args: &mut Args,
    base_ms: i64,
    unit: TimeUnit,
    name: &'static str,
) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let raw = args.next_bytes()?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    while args.remaining() > 0 {
        let opt = args.next_bytes()?;
        if opt.eq_ignore_ascii_case(b"NX") {
            nx = true;
        } else if opt.eq_ignore_ascii_case(b"XX") {
            xx = true;
        } else if opt.eq_ignore_ascii_case(b"GT") {
            gt = true;
        } else if opt.eq_ignore_ascii_case(b"LT") {
            lt = true;
        } else {
            return Err(CommandError::Other(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(&opt)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CommandError::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CommandError::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    // XX+GT is plain GT: a key without expiry never passes GT. XX+LT is its own condition.
    let condition = match (nx, xx, gt, lt) {
        (true, ..) => ExpireCondition::Nx,
        (_, _, true, _) => ExpireCondition::Gt,
        (_, true, _, true) => ExpireCondition::XxLt,
        (_, _, _, true) => ExpireCondition::Lt,
        (_, true, ..) => ExpireCondition::Xx,
        _ => ExpireCondition::Always,
    };
    let when = parse_i64(&raw).ok_or(CommandError::NotInteger)?;
    let invalid = CommandError::InvalidExpireTime(name);
    let when_ms = match unit {
        TimeUnit::Seconds => when.checked_mul(1000).ok_or(invalid.clone())?,
        TimeUnit::Milliseconds => when,
    };
    let at_ms = when_ms.checked_add(base_ms).ok_or(invalid)?;
    Ok(Command::Expire {
        key,
        at_ms,
        condition,
    })
}

/// `TTL key`
pub fn ttl(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::Ttl {
        key: args.single_key()?,
        unit: TimeUnit::Seconds,
    })
}

/// `PTTL key`
pub fn pttl(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::Ttl {
        key: args.single_key()?,
        unit: TimeUnit::Milliseconds,
    })
}

/// `EXPIRETIME key`
pub fn expiretime(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::ExpireTime {
        key: args.single_key()?,
        unit: TimeUnit::Seconds,
    })
}

/// `PEXPIRETIME key`
pub fn pexpiretime(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::ExpireTime {
        key: args.single_key()?,
        unit: TimeUnit::Milliseconds,
    })
}

/// `PERSIST key`
pub fn persist(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::Persist {
        key: args.single_key()?,
    })
}

/// `RENAME key newkey`
pub fn rename(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let src = args.next_vec()?;
    let dst = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::Rename { src, dst })
}

/// `RENAMENX key newkey`
pub fn renamenx(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let src = args.next_vec()?;
    let dst = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::RenameNx { src, dst })
}

/// `COPY source destination [DB index] [REPLACE]`
pub fn copy(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let src = args.next_vec()?;
    let dst = args.next_vec()?;
    let mut target = CopyTarget {
        db: ctx.db,
        replace: false,
    };
    while args.remaining() > 0 {
        let opt = args.next_bytes()?;
        if opt.eq_ignore_ascii_case(b"REPLACE") {
            target.replace = true;
        } else if opt.eq_ignore_ascii_case(b"DB") && args.remaining() > 0 {
            target.db = parse_db(&args.next_bytes()?)?;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    if target.db == ctx.db && src == dst {
        return Err(same_object());
    }
    Ok(Command::Copy { src, dst, target })
}

/// `MOVE key db`
pub fn move_key(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let db = parse_db(&args.next_bytes()?)?;
    args.expect_end()?;
    if db == ctx.db {
        return Err(same_object());
    }
    Ok(Command::Move { key, db })
}

/// `KEYS pattern`
pub fn keys(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let pattern = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::Keys { pattern })
}

/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
///
/// Options may repeat (the last wins). `MATCH *` is sent as no pattern, as Redis skips
/// matching for it. An unknown `TYPE` name is accepted and matches nothing.
pub fn scan(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let cursor =
        parse_cursor(&args.next_bytes()?).ok_or_else(|| CommandError::err("invalid cursor"))?;
    let mut pattern = None;
    let mut count = DEFAULT_SCAN_COUNT;
    let mut kind = ScanType::Any;
    while args.remaining() > 0 {
        let opt = args.next_bytes()?;
        let has_value = args.remaining() > 0;
        if opt.eq_ignore_ascii_case(b"COUNT") && has_value {
            let n = args.next_i64()?;
            count = u64::try_from(n)
                .ok()
                .filter(|&n| n >= 1)
                .ok_or(CommandError::Syntax)?;
        } else if opt.eq_ignore_ascii_case(b"MATCH") && has_value {
            pattern = Some(args.next_vec()?);
        } else if opt.eq_ignore_ascii_case(b"TYPE") && has_value {
            kind = scan_type(&args.next_bytes()?);
        } else {
            return Err(CommandError::Syntax);
        }
    }
    if pattern.as_deref() == Some(b"*") {
        pattern = None;
    }
    Ok(Command::Scan {
        cursor,
        pattern,
        count,
        kind,
    })
}

/// `RANDOMKEY`
pub fn randomkey(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    args.expect_end()?;
    Ok(Command::RandomKey)
}

/// `DBSIZE`
pub fn dbsize(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    args.expect_end()?;
    Ok(Command::DbSize)
}

/// `FLUSHDB [ASYNC|SYNC]`
pub fn flushdb(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    flush_mode(args)?;
    Ok(Command::FlushDb)
}

/// `FLUSHALL [ASYNC|SYNC]`
pub fn flushall(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    flush_mode(args)?;
    Ok(Command::FlushAll)
}

/// Validates the optional `ASYNC`/`SYNC` word. Both are accepted; storaged always flushes
/// in one write, so the mode changes nothing the client can observe.
fn flush_mode(args: &mut Args) -> Result<(), CommandError> {
    if args.remaining() > 0 && !args.eat("ASYNC") && !args.eat("SYNC") {
        return Err(CommandError::Syntax);
    }
    args.expect_end()
}

fn same_object() -> CommandError {
    CommandError::err("source and destination objects are the same")
}

/// A database index as Redis's `getIntFromObjectOrReply` + `selectDb` check it.
fn parse_db(raw: &[u8]) -> Result<u8, CommandError> {
    let n = parse_i64(raw).ok_or(CommandError::NotInteger)?;
    let n = i32::try_from(n).map_err(|_| {
        CommandError::err("value is out of range, value must between -2147483648 and 2147483647")
    })?;
    u8::try_from(n)
        .ok()
        .filter(|&db| db < DATABASES)
        .ok_or_else(|| CommandError::err("DB index is out of range"))
}

/// The arguments shared by `HSCAN`, `SSCAN` and `ZSCAN`: `key cursor [MATCH p] [COUNT n]`.
pub(super) struct MemberScan {
    pub key: Vec<u8>,
    pub cursor: u64,
    pub pattern: Option<Vec<u8>>,
    pub count: u64,
    /// The first bad option. Redis reports it only once the key turns out to exist with the
    /// right type (a missing key scans empty), so it travels to storaged instead of failing here.
    pub invalid: Option<tandem_shared::ScanOptionError>,
}

/// Parses a member scan. A bad cursor fails here, as in Redis.
///
/// # Errors
/// `ERR invalid cursor`, or a missing argument.
pub(super) fn parse_member_scan(args: &mut Args) -> Result<MemberScan, CommandError> {
    use tandem_shared::ScanOptionError;
    let key = args.next_vec()?;
    let cursor =
        parse_cursor(&args.next_bytes()?).ok_or_else(|| CommandError::err("invalid cursor"))?;
    let mut pattern = None;
    let mut count = DEFAULT_SCAN_COUNT;
    let mut invalid = None;
    while args.remaining() > 0 {
        let opt = args.next_bytes()?;
        let has_value = args.remaining() > 0;
        if opt.eq_ignore_ascii_case(b"COUNT") && has_value {
            match parse_i64(&args.next_bytes()?) {
                None => invalid = Some(ScanOptionError::NotInteger),
                Some(n) if n < 1 => invalid = Some(ScanOptionError::Syntax),
                Some(n) => count = n.unsigned_abs(),
            }
        } else if opt.eq_ignore_ascii_case(b"MATCH") && has_value {
            pattern = Some(args.next_vec()?);
        } else {
            invalid = Some(ScanOptionError::Syntax);
        }
        // Redis stops at the first bad option.
        if invalid.is_some() {
            args.rest();
            break;
        }
    }
    // Redis skips matching for a lone `*`.
    if pattern.as_deref() == Some(b"*") {
        pattern = None;
    }
    Ok(MemberScan {
        key,
        cursor,
        pattern,
        count,
        invalid,
    })
}

/// A `SCAN` cursor as Redis reads it with `strtoul`: optional sign (a `-` wraps around),
/// leading zeros allowed, no leading space, nothing after the digits, and an empty string
/// means 0. C stops at an embedded NUL, so the rest is ignored.
pub(super) fn parse_cursor(raw: &[u8]) -> Option<u64> {
    let raw = raw.split(|&c| c == 0).next().unwrap_or_default();
    let Some(&first) = raw.first() else {
        return Some(0);
    };
    if matches!(first, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        return None;
    }
    let (neg, digits) = match first {
        b'-' => (true, &raw[1..]),
        b'+' => (false, &raw[1..]),
        _ => (false, raw),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Redis compares the name with the type's name case-insensitively; tandem has no
/// modules, so any other name matches nothing.
fn scan_type(name: &[u8]) -> ScanType {
    const NAMES: [(&[u8], ScanType); 6] = [
        (b"string", ScanType::String),
        (b"hash", ScanType::Hash),
        (b"list", ScanType::List),
        (b"set", ScanType::Set),
        (b"zset", ScanType::ZSet),
        (b"stream", ScanType::Stream),
    ];
    NAMES
        .into_iter()
        .find(|(n, _)| name.eq_ignore_ascii_case(n))
        .map_or(ScanType::Other, |(_, t)| t)
}

/// The keyspace commands' rows of the command table ([`crate::table`]), each
/// beside its parser above; values from redis-server 7.0's `COMMAND INFO`/`COMMAND DOCS`.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "copy",
        arity: -3,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: acl!(KEYSPACE | WRITE | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(OW | UPDATE), index(2), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Copy a key",
            since: "6.2.0",
            group: "generic",
            complexity: "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("source", T::Key).key_spec(0),
                arg("destination", T::Key).key_spec(1),
                arg("destination-db", T::Integer).token("DB").optional(),
                arg("replace", T::PureToken).token("REPLACE").optional(),
            ],
        },
        handler: Handler::Storage(copy),
    },
    CommandSpec {
        name: "dbsize",
        arity: 1,
        flags: flags!(READONLY | FAST),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(KEYSPACE | READ | FAST),
        tips: &["request_policy:all_shards", "response_policy:agg_sum"],
        key_specs: &[],
        subcommands: &[],
        doc: Doc {
            summary: "Return the number of keys in the selected database",
            since: "1.0.0",
            group: "server",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[],
        },
        handler: Handler::Storage(dbsize),
    },
    CommandSpec {
        name: "del",
        arity: -2,
        flags: flags!(WRITE),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(KEYSPACE | WRITE | SLOW),
        tips: &["request_policy:multi_shard", "response_policy:agg_sum"],
        key_specs: &[
            KeySpec::new(key_flags!(RM | DELETE), index(1), range(-1, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Delete a key",
            since: "1.0.0",
            group: "generic",
            complexity: "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0).multiple(),
            ],
        },
        handler: Handler::Storage(del),
    },
    CommandSpec {
        name: "exists",
        arity: -2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(KEYSPACE | READ | FAST),
        tips: &["request_policy:multi_shard", "response_policy:agg_sum"],
        key_specs: &[
            KeySpec::new(key_flags!(RO), index(1), range(-1, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Determine if a key exists",
            since: "1.0.0",
            group: "generic",
            complexity: "O(N) where N is the number of keys to check.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("3.0.3", "Accepts multiple `key` arguments."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0).multiple(),
            ],
        },
        handler: Handler::Storage(exists),
    },
    CommandSpec {
        name: "expire",
        arity: -3,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(KEYSPACE | WRITE | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set a key's time to live in seconds",
            since: "1.0.0",
            group: "generic",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("seconds", T::Integer),
                arg("condition", T::OneOf).since("7.0.0").optional().args(&[
                        arg("nx", T::PureToken).token("NX"),
                        arg("xx", T::PureToken).token("XX"),
                        arg("gt", T::PureToken).token("GT"),
                        arg("lt", T::PureToken).token("LT"),
                    ]),
            ],
        },
        handler: Handler::Storage(expire),
    },
    CommandSpec {
        name: "expireat",
        arity: -3,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(KEYSPACE | WRITE | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set the expiration for a key as a UNIX timestamp",
            since: "1.2.0",
            group: "generic",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("unix-time-seconds", T::UnixTime),
                arg("condition", T::OneOf).since("7.0.0").optional().args(&[
                        arg("nx", T::PureToken).token("NX"),
                        arg("xx", T::PureToken).token("XX"),
                        arg("gt", T::PureToken).token("GT"),
                        arg("lt", T::PureToken).token("LT"),
                    ]),
            ],
        },
        handler: Handler::Storage(expireat),
    },
    CommandSpec {
        name: "expiretime",
        arity: 2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(KEYSPACE | READ | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the expiration Unix timestamp for a key",
            since: "7.0.0",
            group: "generic",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(expiretime),
    },
    CommandSpec {
        name: "flushall",
        arity: -1,
        flags: flags!(WRITE),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(KEYSPACE | WRITE | SLOW | DANGEROUS),
        tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
        key_specs: &[],
        subcommands: &[],
        doc: Doc {
            summary: "Remove all keys from all databases",
            since: "1.0.0",
            group: "server",
            complexity: "O(N) where N is the total number of keys in all databases",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("4.0.0", "Added the `ASYNC` flushing mode modifier."),
                ("6.2.0", "Added the `SYNC` flushing mode modifier."),
            ],
            arguments: &[
                arg("async", T::OneOf).optional().args(&[
                        arg("async", T::PureToken).token("ASYNC").since("4.0.0"),
                        arg("sync", T::PureToken).token("SYNC").since("6.2.0"),
                    ]),
            ],
        },
        handler: Handler::Storage(flushall),
    },
    CommandSpec {
        name: "flushdb",
        arity: -1,
        flags: flags!(WRITE),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(KEYSPACE | WRITE | SLOW | DANGEROUS),
        tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
        key_specs: &[],
        subcommands: &[],
        doc: Doc {
            summary: "Remove all keys from the current database",
            since: "1.0.0",
            group: "server",
            complexity: "O(N) where N is the number of keys in the selected database",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("4.0.0", "Added the `ASYNC` flushing mode modifier."),
                ("6.2.0", "Added the `SYNC` flushing mode modifier."),
            ],
            arguments: &[
                arg("async", T::OneOf).optional().args(&[
                        arg("async", T::PureToken).token("ASYNC").since("4.0.0"),
                        arg("sync", T::PureToken).token("SYNC").since("6.2.0"),
                    ]),
            ],
        },
        handler: Handler::Storage(flushdb),
    },
    CommandSpec {
        name: "keys",
        arity: 2,
        flags: flags!(READONLY),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(KEYSPACE | READ | SLOW | DANGEROUS),
        tips: &["request_policy:all_shards", "nondeterministic_output_order"],
        key_specs: &[],
        subcommands: &[],
        doc: Doc {
            summary: "Find all keys matching the given pattern",
            since: "1.0.0",
            group: "generic",
            complexity: "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("pattern", T::Pattern),
            ],
        },
        handler: Handler::Storage(keys),
    },
    CommandSpec {
        name: "move",
        arity: 3,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(KEYSPACE | WRITE | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Move a key to another database",
            since: "1.0.0",
            group: "generic",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("db", T::Integer),
            ],
        },
        handler: Handler::Storage(move_key),
    },
    CommandSpec {
        name: "persist",
        arity: 2,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(KEYSPACE | WRITE | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove the expiration from a key",
            since: "2.2.0",
            group: "generic",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(persist),
    },
    CommandSpec {
        name: "pexpire",
        arity: -3,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(KEYSPACE | WRITE | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set a key's time to live in milliseconds",
            since: "2.6.0",
            group: "generic",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("milliseconds", T::Integer),
                arg("condition", T::OneOf).since("7.0.0").optional().args(&[
                        arg("nx", T::PureToken).token("NX"),
                        arg("xx", T::PureToken).token("XX"),
                        arg("gt", T::PureToken).token("GT"),
                        arg("lt", T::PureToken).token("LT"),
                    ]),
            ],
        },
        handler: Handler::Storage(pexpire),
    },
    CommandSpec {
        name: "pexpireat",
        arity: -3,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(KEYSPACE | WRITE | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
            since: "2.6.0",
            group: "generic",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("unix-time-milliseconds", T::UnixTime),
                arg("condition", T::OneOf).since("7.0.0").optional().args(&[
                        arg("nx", T::PureToken).token("NX"),
                        arg("xx", T::PureToken).token("XX"),
                        arg("gt", T::PureToken).token("GT"),
                        arg("lt", T::PureToken).token("LT"),
                    ]),
            ],
        },
        handler: Handler::Storage(pexpireat),
    },
    CommandSpec {
        name: "pexpiretime",
        arity: 2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(KEYSPACE | READ | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the expiration Unix timestamp for a key in milliseconds",
            since: "7.0.0",
            group: "generic",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(pexpiretime),
    },
    CommandSpec {
        name: "pttl",
        arity: 2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(KEYSPACE | READ | FAST),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the time to live for a key in milliseconds",
            since: "2.6.0",
            group: "generic",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("2.8.0", "Added the -2 reply."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(pttl),
    },
    CommandSpec {
        name: "randomkey",
        arity: 1,
        flags: flags!(READONLY),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(KEYSPACE | READ | SLOW),
        tips: &["request_policy:all_shards", "nondeterministic_output"],
        key_specs: &[],
        subcommands: &[],
        doc: Doc {
            summary: "Return a random key from the keyspace",
            since: "1.0.0",
            group: "generic",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[],
        },
        handler: Handler::Storage(randomkey),
    },
    CommandSpec {
        name: "rename",
        arity: 3,
        flags: flags!(WRITE),
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: acl!(KEYSPACE | WRITE | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(OW | UPDATE), index(2), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Rename a key",
            since: "1.0.0",
            group: "generic",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("newkey", T::Key).key_spec(1),
            ],
        },
        handler: Handler::Storage(rename),
    },
    CommandSpec {
        name: "renamenx",
        arity: 3,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: acl!(KEYSPACE | WRITE | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(OW | INSERT), index(2), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Rename a key, only if the new key does not exist",
            since: "1.0.0",
            group: "generic",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("3.2.0", "The command no longer returns an error when source and destination names are the same."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("newkey", T::Key).key_spec(1),
            ],
        },
        handler: Handler::Storage(renamenx),
    },
    CommandSpec {
        name: "scan",
        arity: -2,
        flags: flags!(READONLY),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(KEYSPACE | READ | SLOW),
        tips: &["nondeterministic_output", "request_policy:special"],
        key_specs: &[],
        subcommands: &[],
        doc: Doc {
            summary: "Incrementally iterate the keys space",
            since: "2.8.0",
            group: "generic",
            complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("6.0.0", "Added the `TYPE` subcommand."),
            ],
            arguments: &[
                arg("cursor", T::Integer),
                arg("pattern", T::Pattern).token("MATCH").optional(),
                arg("count", T::Integer).token("COUNT").optional(),
                arg("type", T::String).token("TYPE").since("6.0.0").optional(),
            ],
        },
        handler: Handler::Storage(scan),
    },
    CommandSpec {
        name: "touch",
        arity: -2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(KEYSPACE | READ | FAST),
        tips: &["request_policy:multi_shard", "response_policy:agg_sum"],
        key_specs: &[
            KeySpec::new(key_flags!(RO), index(1), range(-1, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Alters the last access time of a key(s). Returns the number of existing keys specified.",
            since: "3.2.1",
            group: "generic",
            complexity: "O(N) where N is the number of keys that will be touched.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0).multiple(),
            ],
        },
        handler: Handler::Storage(touch),
    },
    CommandSpec {
        name: "ttl",
        arity: 2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(KEYSPACE | READ | FAST),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the time to live for a key in seconds",
            since: "1.0.0",
            group: "generic",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("2.8.0", "Added the -2 reply."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(ttl),
    },
    CommandSpec {
        name: "type",
        arity: 2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(KEYSPACE | READ | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Determine the type stored at key",
            since: "1.0.0",
            group: "generic",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(key_type),
    },
    CommandSpec {
        name: "unlink",
        arity: -2,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(KEYSPACE | WRITE | FAST),
        tips: &["request_policy:multi_shard", "response_policy:agg_sum"],
        key_specs: &[
            KeySpec::new(key_flags!(RM | DELETE), index(1), range(-1, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
            since: "4.0.0",
            group: "generic",
            complexity: "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0).multiple(),
            ],
        },
        handler: Handler::Storage(del),
    },
];

#[cfg(test)]
mod tests {

    use super::*;
    use crate::testing::{ctx, err, run, run_in, NOW};

    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn multi_key_commands() {
        assert_eq!(
            run(del, &["a", "b", "a"]),
            Ok(Command::Del {
                keys: vec![v("a"), v("b"), v("a")]
            })
        );
        assert_eq!(
            run(exists, &["a", "a"]),
            Ok(Command::Exists {
                keys: vec![v("a"), v("a")]
            })
        );
        assert_eq!(
            run(touch, &["a"]),
            Ok(Command::Touch { keys: vec![v("a")] })
        );
    }

    #[test]
    fn single_key_commands() {
        assert_eq!(run(key_type, &["k"]), Ok(Command::Type { key: v("k") }));
        assert_eq!(
            run(ttl, &["k"]),
            Ok(Command::Ttl {
                key: v("k"),
                unit: TimeUnit::Seconds
            })
        );
        assert_eq!(
            run(pttl, &["k"]),
            Ok(Command::Ttl {
                key: v("k"),
                unit: TimeUnit::Milliseconds
            })
        );
        assert_eq!(
            run(expiretime, &["k"]),
            Ok(Command::ExpireTime {
                key: v("k"),
                unit: TimeUnit::Seconds
            })
        );
        assert_eq!(
            run(pexpiretime, &["k"]),
            Ok(Command::ExpireTime {
                key: v("k"),
                unit: TimeUnit::Milliseconds
            })
        );
        assert_eq!(run(persist, &["k"]), Ok(Command::Persist { key: v("k") }));
        assert_eq!(run(keys, &["a*"]), Ok(Command::Keys { pattern: v("a*") }));
        assert_eq!(run(randomkey, &[]), Ok(Command::RandomKey));
        assert_eq!(run(dbsize, &[]), Ok(Command::DbSize));
        assert_eq!(run(ttl, &["k", "x"]), Err(CommandError::Syntax));
    }

    #[test]
    fn expire_family_resolves_absolute_times() {
        let ex = |at_ms, condition| {
            Ok(Command::Expire {
                key: v("k"),
                at_ms,
                condition,
            })
        };
        use ExpireCondition::*;
        assert_eq!(run(expire, &["k", "10"]), ex(NOW + 10_000, Always));
        assert_eq!(run(pexpire, &["k", "10"]), ex(NOW + 10, Always));
        assert_eq!(run(expireat, &["k", "10"]), ex(10_000, Always));
        assert_eq!(run(pexpireat, &["k", "10"]), ex(10, Always));
        // Times in the past are allowed: they delete the key.
        assert_eq!(run(expire, &["k", "-5"]), ex(NOW - 5_000, Always));
        assert_eq!(
            run(pexpireat, &["k", "-9223372036854775808"]),
            ex(i64::MIN, Always)
        );
        assert_eq!(
            run(expire, &["k", "-9223372036854775"]),
            ex(NOW - 9_223_372_036_854_775_000, Always)
        );
        assert_eq!(
            run(expireat, &["k", "9223372036854775"]),
            ex(9_223_372_036_854_775_000, Always)
        );
        assert_eq!(
            run(pexpireat, &["k", "9223372036854775807"]),
            ex(i64::MAX, Always)
        );
    }

    #[test]
    fn expire_conditions() {
        let ex = |condition| {
            Ok(Command::Expire {
                key: v("k"),
                at_ms: NOW + 10_000,
                condition,
            })
        };
        use ExpireCondition::*;
        assert_eq!(run(expire, &["k", "10", "nx"]), ex(Nx));
        assert_eq!(run(expire, &["k", "10", "NX", "NX"]), ex(Nx));
        assert_eq!(run(expire, &["k", "10", "XX"]), ex(Xx));
        assert_eq!(run(expire, &["k", "10", "gt"]), ex(Gt));
        assert_eq!(run(expire, &["k", "10", "LT"]), ex(Lt));
        assert_eq!(run(expire, &["k", "10", "XX", "GT"]), ex(Gt));
    }

    #[test]
    fn expire_option_errors() {
        let nx = "ERR NX and XX, GT or LT options at the same time are not compatible";
        let gtlt = "ERR GT and LT options at the same time are not compatible";
        assert_eq!(err(expire, &["k", "10", "NX", "XX"]), nx);
        assert_eq!(err(expire, &["k", "10", "nx", "xx"]), nx);
        assert_eq!(err(expire, &["k", "10", "NX", "GT"]), nx);
        assert_eq!(err(pexpire, &["k", "10", "LT", "NX"]), nx);
        assert_eq!(err(expire, &["k", "10", "GT", "LT", "NX"]), nx);
        assert_eq!(err(expire, &["k", "10", "GT", "LT"]), gtlt);
        assert_eq!(
            err(expire, &["k", "10", "foo"]),
            "ERR Unsupported option foo"
        );
        assert_eq!(
            err(expire, &["k", "10", "NX", "XX", "foo"]),
            "ERR Unsupported option foo"
        );
        assert_eq!(
            err(expire, &["k", "10", "foo", "NX", "XX"]),
            "ERR Unsupported option foo"
        );
        assert_eq!(err(expire, &["k", "10", ""]), "ERR Unsupported option ");
        // Options are checked before the time is parsed.
        assert_eq!(
            err(expire, &["k", "abc", "foo"]),
            "ERR Unsupported option foo"
        );
        assert_eq!(err(expire, &["k", "abc", "NX", "XX"]), nx);
    }

    #[test]
    fn expire_value_errors() {
        let not_int = "ERR value is not an integer or out of range";
        assert_eq!(err(expire, &["k", "abc"]), not_int);
        assert_eq!(err(pexpire, &["k", "1.5"]), not_int);
        assert_eq!(err(expire, &["k", "9223372036854775808"]), not_int);
        for n in [
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775",
            "9223372036854774",
        ] {
            assert_eq!(
                err(expire, &["k", n]),
                "ERR invalid expire time in 'expire' command",
                "{n}"
            );
        }
        assert_eq!(
            err(pexpire, &["k", "9223372036854775807"]),
            "ERR invalid expire time in 'pexpire' command"
        );
        assert_eq!(
            err(pexpire, &["k", "9223372036854775806"]),
            "ERR invalid expire time in 'pexpire' command"
        );
        for n in [
            "9223372036854775807",
            "9223372036854776",
            "-9223372036854776",
        ] {
            assert_eq!(
                err(expireat, &["k", n]),
                "ERR invalid expire time in 'expireat' command",
                "{n}"
            );
        }
    }

    #[test]
    fn rename_and_renamenx() {
        assert_eq!(
            run(rename, &["a", "b"]),
            Ok(Command::Rename {
                src: v("a"),
                dst: v("b")
            })
        );
        // Same-key renames depend on whether the key exists: storaged answers them.
        assert_eq!(
            run(rename, &["a", "a"]),
            Ok(Command::Rename {
                src: v("a"),
                dst: v("a")
            })
        );
        assert_eq!(
            run(renamenx, &["a", "b"]),
            Ok(Command::RenameNx {
                src: v("a"),
                dst: v("b")
            })
        );
    }

    #[test]
    fn copy_forms() {
        let cp = |dst: &str, db, replace| {
            Ok(Command::Copy {
                src: v("a"),
                dst: v(dst),
                target: CopyTarget { db, replace },
            })
        };
        assert_eq!(run(copy, &["a", "b"]), cp("b", 0, false));
        assert_eq!(run(copy, &["a", "b", "replace"]), cp("b", 0, true));
        assert_eq!(
            run(copy, &["a", "b", "REPLACE", "REPLACE"]),
            cp("b", 0, true)
        );
        assert_eq!(
            run(copy, &["a", "b", "db", "15", "REPLACE"]),
            cp("b", 15, true)
        );
        assert_eq!(
            run(copy, &["a", "b", "DB", "1", "DB", "2"]),
            cp("b", 2, false)
        );
        assert_eq!(run(copy, &["a", "a", "DB", "1"]), cp("a", 1, false));
        let in_db3 = ParseCtx { db: 3, ..ctx() };
        assert_eq!(
            run_in(copy, &["a", "b"], in_db3),
            Ok(Command::Copy {
                src: v("a"),
                dst: v("b"),
                target: CopyTarget {
                    db: 3,
                    replace: false
                }
            })
        );
        assert_eq!(
            run_in(copy, &["a", "a", "DB", "0"], in_db3),
            Ok(Command::Copy {
                src: v("a"),
                dst: v("a"),
                target: CopyTarget {
                    db: 0,
                    replace: false
                }
            })
        );
    }

    #[test]
    fn copy_errors() {
        let range = "ERR DB index is out of range";
        let int_range = "ERR value is out of range, value must between -2147483648 and 2147483647";
        assert_eq!(err(copy, &["a", "b", "DB", "16"]), range);
        assert_eq!(err(copy, &["a", "b", "DB", "-1"]), range);
        assert_eq!(err(copy, &["a", "b", "DB", "2147483647"]), range);
        assert_eq!(err(copy, &["a", "b", "DB", "99", "FOO"]), range);
        assert_eq!(err(copy, &["a", "b", "DB", "2147483648"]), int_range);
        assert_eq!(err(copy, &["a", "b", "DB", "99999999999"]), int_range);
        assert_eq!(
            err(copy, &["a", "b", "DB", "abc"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(copy, &["a", "b", "DB", "01"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(err(copy, &["a", "b", "DB"]), "ERR syntax error");
        assert_eq!(err(copy, &["a", "b", "REPLACE", "DB"]), "ERR syntax error");
        assert_eq!(err(copy, &["a", "b", "FOO"]), "ERR syntax error");
        assert_eq!(
            err(copy, &["a", "b", "FOO", "DB", "99"]),
            "ERR syntax error"
        );
        assert_eq!(err(copy, &["a", "b", "DB", "1", "FOO"]), "ERR syntax error");
        assert_eq!(
            err(copy, &["a", "a"]),
            "ERR source and destination objects are the same"
        );
        assert_eq!(
            err(copy, &["a", "a", "DB", "0"]),
            "ERR source and destination objects are the same"
        );
    }

    #[test]
    fn move_forms_and_errors() {
        assert_eq!(
            run(move_key, &["k", "1"]),
            Ok(Command::Move { key: v("k"), db: 1 })
        );
        assert_eq!(
            run(move_key, &["k", "15"]),
            Ok(Command::Move {
                key: v("k"),
                db: 15
            })
        );
        assert_eq!(
            run_in(move_key, &["k", "0"], ParseCtx { db: 5, ..ctx() }),
            Ok(Command::Move { key: v("k"), db: 0 })
        );
        assert_eq!(
            err(move_key, &["k", "0"]),
            "ERR source and destination objects are the same"
        );
        assert_eq!(err(move_key, &["k", "16"]), "ERR DB index is out of range");
        assert_eq!(err(move_key, &["k", "-1"]), "ERR DB index is out of range");
        assert_eq!(
            err(move_key, &["k", "abc"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(move_key, &["k", "01"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(move_key, &["k", "2147483648"]),
            "ERR value is out of range, value must between -2147483648 and 2147483647"
        );
    }

    #[test]
    fn scan_forms() {
        let sc = |cursor, pattern: Option<&str>, count, kind| {
            Ok(Command::Scan {
                cursor,
                pattern: pattern.map(v),
                count,
                kind,
            })
        };
        assert_eq!(run(scan, &["0"]), sc(0, None, 10, ScanType::Any));
        assert_eq!(
            run(scan, &["17", "match", "a*", "COUNT", "100", "type", "HASH"]),
            sc(17, Some("a*"), 100, ScanType::Hash)
        );
        assert_eq!(
            run(scan, &["0", "MATCH", "*"]),
            sc(0, None, 10, ScanType::Any)
        );
        assert_eq!(
            run(scan, &["0", "MATCH", "a", "MATCH", "b"]),
            sc(0, Some("b"), 10, ScanType::Any)
        );
        assert_eq!(
            run(scan, &["0", "COUNT", "9223372036854775807"]),
            sc(0, None, i64::MAX as u64, ScanType::Any)
        );
        assert_eq!(
            run(scan, &["0", "TYPE", "String"]),
            sc(0, None, 10, ScanType::String)
        );
        assert_eq!(
            run(scan, &["0", "TYPE", "zset"]),
            sc(0, None, 10, ScanType::ZSet)
        );
        assert_eq!(
            run(scan, &["0", "TYPE", "list"]),
            sc(0, None, 10, ScanType::List)
        );
        assert_eq!(
            run(scan, &["0", "TYPE", "set"]),
            sc(0, None, 10, ScanType::Set)
        );
        assert_eq!(
            run(scan, &["0", "TYPE", "stream"]),
            sc(0, None, 10, ScanType::Stream)
        );
        assert_eq!(
            run(scan, &["0", "TYPE", "foo"]),
            sc(0, None, 10, ScanType::Other)
        );
    }

    #[test]
    fn scan_cursor_follows_strtoul() {
        let cur = |c| {
            Ok(Command::Scan {
                cursor: c,
                pattern: None,
                count: 10,
                kind: ScanType::Any,
            })
        };
        assert_eq!(run(scan, &["18446744073709551615"]), cur(u64::MAX));
        assert_eq!(run(scan, &["-1"]), cur(u64::MAX));
        assert_eq!(run(scan, &["-18446744073709551615"]), cur(1));
        assert_eq!(run(scan, &["01"]), cur(1));
        assert_eq!(run(scan, &["+1"]), cur(1));
        assert_eq!(run(scan, &["-0"]), cur(0));
        assert_eq!(run(scan, &[""]), cur(0));
        for bad in [
            "abc",
            "18446744073709551616",
            "-18446744073709551616",
            "+",
            "-",
            " 1",
            "1 ",
            "1a",
        ] {
            assert_eq!(err(scan, &[bad]), "ERR invalid cursor", "{bad:?}");
        }
    }

    #[test]
    fn scan_option_errors() {
        assert_eq!(err(scan, &["abc", "FOO"]), "ERR invalid cursor");
        for argv in [
            &["0", "COUNT", "0"][..],
            &["0", "COUNT", "-1"],
            &["0", "COUNT", "10", "COUNT", "0"],
            &["0", "MATCH"],
            &["0", "COUNT"],
            &["0", "TYPE"],
            &["0", "MATCH", "a", "TYPE"],
            &["0", "FOO"],
            &["0", "FOO", "bar"],
        ] {
            assert_eq!(err(scan, argv), "ERR syntax error", "{argv:?}");
        }
        let not_int = "ERR value is not an integer or out of range";
        assert_eq!(err(scan, &["0", "COUNT", "abc"]), not_int);
        assert_eq!(err(scan, &["0", "COUNT", "9223372036854775808"]), not_int);
    }

    #[test]
    fn flush_modes() {
        for f in [flushdb, flushall] {
            let want = run(f, &[]);
            assert!(matches!(want, Ok(Command::FlushDb | Command::FlushAll)));
            assert_eq!(run(f, &["async"]), want);
            assert_eq!(run(f, &["SYNC"]), want);
            assert_eq!(err(f, &["foo"]), "ERR syntax error");
            assert_eq!(err(f, &["ASYNC", "SYNC"]), "ERR syntax error");
            assert_eq!(err(f, &["ASYNC", "ASYNC"]), "ERR syntax error");
        }
        assert_eq!(run(flushdb, &[]), Ok(Command::FlushDb));
        assert_eq!(run(flushall, &[]), Ok(Command::FlushAll));
    }
}
