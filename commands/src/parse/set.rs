//! Parsers for the set commands (`SADD`, `SPOP`, `SINTERCARD`, `SSCAN` …).
//!
//! Each parser turns arguments whose count the table already checked into a typed
//! [`Command`], raising the errors Redis raises before it looks at any key (bad counts,
//! `SINTERCARD`'s numkeys and `LIMIT`, a bad cursor). Whatever depends on stored data
//! (`WRONGTYPE`, and `SSCAN`'s option errors, which Redis reports only for an existing
//! set) is storaged's to report.

use tandem_shared::Command;

use super::keyspace::{parse_member_scan, MemberScan};
use crate::args::ParseCtx;
use crate::args::{parse_i64, Args};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, keynum, range, CommandSpec, Doc, Handler, KeySpec};
use crate::{acl, flags, key_flags};

/// Largest number of members `SRANDMEMBER key -count` may return. Redis has no bound and
/// builds the whole reply (a huge count exhausts its memory); tandem refuses instead of
/// allocating a reply that no frame could carry.
pub const RANDOM_REPEATS_MAX: u64 = 1 << 22;

/// `SADD key member [member …]`
pub fn sadd(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    Ok(Command::SAdd {
        key,
        members: args.rest_vecs(),
    })
}

/// `SREM key member [member …]`
pub fn srem(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    Ok(Command::SRem {
        key,
        members: args.rest_vecs(),
    })
}

/// `SCARD key`
pub fn scard(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::SCard {
        key: args.single_key()?,
    })
}

/// `SISMEMBER key member`
pub fn sismember(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let member = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::SIsMember { key, member })
}

/// `SMISMEMBER key member [member …]`
pub fn smismember(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    Ok(Command::SMIsMember {
        key,
        members: args.rest_vecs(),
    })
}

/// `SMEMBERS key`
pub fn smembers(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::SMembers {
        key: args.single_key()?,
    })
}

/// `SPOP key [count]`: the count must be a non-negative integer; Redis words every bad
/// count, malformed or negative, the same way.
pub fn spop(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    match args.remaining() {
        0 => Ok(Command::SPop { key }),
        1 => {
            let count = parse_i64(&args.next_bytes()?)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| CommandError::err("value is out of range, must be positive"))?;
            Ok(Command::SPopCount { key, count })
        }
        _ => Err(CommandError::Syntax),
    }
}

/// `SRANDMEMBER key [count]`
pub fn srandmember(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    match args.remaining() {
        0 => Ok(Command::SRandMember { key }),
        1 => {
            let count = args.next_i64()?;
            // Redis takes the count in [-LONG_MAX, LONG_MAX]; tandem also bounds repeats.
            if count == i64::MIN {
                return Err(CommandError::err(
                    "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                ));
            }
            if count < 0 && count.unsigned_abs() > RANDOM_REPEATS_MAX {
                return Err(CommandError::err(format!(
                    "value is out of range, value must between -{RANDOM_REPEATS_MAX} and 9223372036854775807"
                )));
            }
            Ok(Command::SRandMemberCount { key, count })
        }
        _ => Err(CommandError::Syntax),
    }
}

/// `SMOVE source destination member`
pub fn smove(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let src = args.next_vec()?;
    let dst = args.next_vec()?;
    let member = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::SMove { src, dst, member })
}

/// `SINTER key [key …]`
pub fn sinter(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::SInter {
        keys: args.rest_vecs(),
    })
}

/// `SUNION key [key …]`
pub fn sunion(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::SUnion {
        keys: args.rest_vecs(),
    })
}

/// `SDIFF key [key …]`
pub fn sdiff(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::SDiff {
        keys: args.rest_vecs(),
    })
}

/// `SINTERSTORE destination key [key …]`
pub fn sinterstore(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let dst = args.next_vec()?;
    Ok(Command::SInterStore {
        dst,
        keys: args.rest_vecs(),
    })
}

/// `SUNIONSTORE destination key [key …]`
pub fn sunionstore(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let dst = args.next_vec()?;
    Ok(Command::SUnionStore {
        dst,
        keys: args.rest_vecs(),
    })
}

/// `SDIFFSTORE destination key [key …]`
pub fn sdiffstore(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let dst = args.next_vec()?;
    Ok(Command::SDiffStore {
        dst,
        keys: args.rest_vecs(),
    })
}

/// `SINTERCARD numkeys key [key …] [LIMIT limit]`, checked in Redis's order: numkeys
/// (any non-positive or malformed value is one error), then the key count, then options
/// (the last `LIMIT` wins).
pub fn sintercard(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let numkeys = parse_i64(&args.next_bytes()?)
        .filter(|&n| n > 0)
        .ok_or_else(|| CommandError::err("numkeys should be greater than 0"))?;
    let numkeys = usize::try_from(numkeys)
        .ok()
        .filter(|&n| n <= args.remaining())
        .ok_or_else(|| CommandError::err("Number of keys can't be greater than number of args"))?;
    let mut keys = Vec::with_capacity(numkeys);
    for _ in 0..numkeys {
        keys.push(args.next_vec()?);
    }
    let limit = crate::args::intercard_limit(args)?;
    Ok(Command::SInterCard { keys, limit })
}

/// `SSCAN key cursor [MATCH pattern] [COUNT count]`
///
/// A bad cursor fails here, as in Redis; a bad option is carried to storaged, because Redis
/// checks options only after finding the key to be a set (a missing key scans empty).
pub fn sscan(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let MemberScan {
        key,
        cursor,
        pattern,
        count,
        invalid,
    } = parse_member_scan(args)?;
    Ok(Command::SScan {
        key,
        cursor,
        pattern,
        count,
        invalid,
    })
}

/// The set commands' rows of the command table ([`crate::table`]), each
/// beside its parser above; values from redis-server 7.0's `COMMAND INFO`/`COMMAND DOCS`.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "sadd",
        arity: -3,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | INSERT), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Add one or more members to a set",
            since: "1.0.0",
            group: "set",
            complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("2.4.0", "Accepts multiple `member` arguments."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("member", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(sadd),
    },
    CommandSpec {
        name: "scard",
        arity: 2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the number of members in a set",
            since: "1.0.0",
            group: "set",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(scard),
    },
    CommandSpec {
        name: "sdiff",
        arity: -2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(READ | SET | SLOW),
        tips: &["nondeterministic_output_order"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(-1, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Subtract multiple sets",
            since: "1.0.0",
            group: "set",
            complexity: "O(N) where N is the total number of elements in all given sets.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0).multiple(),
            ],
        },
        handler: Handler::Storage(sdiff),
    },
    CommandSpec {
        name: "sdiffstore",
        arity: -3,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(WRITE | SET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(OW | UPDATE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RO | ACCESS), index(2), range(-1, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Subtract multiple sets and store the resulting set in a key",
            since: "1.0.0",
            group: "set",
            complexity: "O(N) where N is the total number of elements in all given sets.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("destination", T::Key).key_spec(0),
                arg("key", T::Key).key_spec(1).multiple(),
            ],
        },
        handler: Handler::Storage(sdiffstore),
    },
    CommandSpec {
        name: "sinter",
        arity: -2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(READ | SET | SLOW),
        tips: &["nondeterministic_output_order"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(-1, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Intersect multiple sets",
            since: "1.0.0",
            group: "set",
            complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0).multiple(),
            ],
        },
        handler: Handler::Storage(sinter),
    },
    CommandSpec {
        name: "sintercard",
        arity: -3,
        flags: flags!(READONLY | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(READ | SET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), keynum(0, 1, 1)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Intersect multiple sets and return the cardinality of the result",
            since: "7.0.0",
            group: "set",
            complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
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
        handler: Handler::Storage(sintercard),
    },
    CommandSpec {
        name: "sinterstore",
        arity: -3,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(WRITE | SET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RO | ACCESS), index(2), range(-1, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Intersect multiple sets and store the resulting set in a key",
            since: "1.0.0",
            group: "set",
            complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("destination", T::Key).key_spec(0),
                arg("key", T::Key).key_spec(1).multiple(),
            ],
        },
        handler: Handler::Storage(sinterstore),
    },
    CommandSpec {
        name: "sismember",
        arity: 3,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Determine if a given value is a member of a set",
            since: "1.0.0",
            group: "set",
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
        handler: Handler::Storage(sismember),
    },
    CommandSpec {
        name: "smembers",
        arity: 2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SET | SLOW),
        tips: &["nondeterministic_output_order"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get all the members in a set",
            since: "1.0.0",
            group: "set",
            complexity: "O(N) where N is the set cardinality.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(smembers),
    },
    CommandSpec {
        name: "smismember",
        arity: -3,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Returns the membership associated with the given elements for a set",
            since: "6.2.0",
            group: "set",
            complexity: "O(N) where N is the number of elements being checked for membership",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("member", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(smismember),
    },
    CommandSpec {
        name: "smove",
        arity: 4,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: acl!(WRITE | SET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RW | INSERT), index(2), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Move a member from one set to another",
            since: "1.0.0",
            group: "set",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("source", T::Key).key_spec(0),
                arg("destination", T::Key).key_spec(1),
                arg("member", T::String),
            ],
        },
        handler: Handler::Storage(smove),
    },
    CommandSpec {
        name: "spop",
        arity: -2,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SET | FAST),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove and return one or multiple random members from a set",
            since: "1.0.0",
            group: "set",
            complexity: "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("3.2.0", "Added the `count` argument."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("count", T::Integer).since("3.2.0").optional(),
            ],
        },
        handler: Handler::Storage(spop),
    },
    CommandSpec {
        name: "srandmember",
        arity: -2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SET | SLOW),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get one or multiple random members from a set",
            since: "1.0.0",
            group: "set",
            complexity: "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("2.6.0", "Added the optional `count` argument."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("count", T::Integer).since("2.6.0").optional(),
            ],
        },
        handler: Handler::Storage(srandmember),
    },
    CommandSpec {
        name: "srem",
        arity: -3,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SET | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove one or more members from a set",
            since: "1.0.0",
            group: "set",
            complexity: "O(N) where N is the number of members to be removed.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("2.4.0", "Accepts multiple `member` arguments."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("member", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(srem),
    },
    CommandSpec {
        name: "sscan",
        arity: -3,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SET | SLOW),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Incrementally iterate Set elements",
            since: "2.8.0",
            group: "set",
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
        handler: Handler::Storage(sscan),
    },
    CommandSpec {
        name: "sunion",
        arity: -2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(READ | SET | SLOW),
        tips: &["nondeterministic_output_order"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(-1, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Add multiple sets",
            since: "1.0.0",
            group: "set",
            complexity: "O(N) where N is the total number of elements in all given sets.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0).multiple(),
            ],
        },
        handler: Handler::Storage(sunion),
    },
    CommandSpec {
        name: "sunionstore",
        arity: -3,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: acl!(WRITE | SET | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(OW | UPDATE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RO | ACCESS), index(2), range(-1, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Add multiple sets and store the resulting set in a key",
            since: "1.0.0",
            group: "set",
            complexity: "O(N) where N is the total number of elements in all given sets.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("destination", T::Key).key_spec(0),
                arg("key", T::Key).key_spec(1).multiple(),
            ],
        },
        handler: Handler::Storage(sunionstore),
    },
];

#[cfg(test)]
mod tests {
    use tandem_shared::ScanOptionError;

    use super::*;
    use crate::testing::{err, run};

    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    fn vs(items: &[&str]) -> Vec<Vec<u8>> {
        items.iter().map(|s| v(s)).collect()
    }

    #[test]
    fn member_lists_keep_order_and_repeats() {
        assert_eq!(
            run(sadd, &["s", "a", "b", "a"]),
            Ok(Command::SAdd {
                key: v("s"),
                members: vs(&["a", "b", "a"])
            })
        );
        assert_eq!(
            run(srem, &["s", "x"]),
            Ok(Command::SRem {
                key: v("s"),
                members: vs(&["x"])
            })
        );
        assert_eq!(
            run(smismember, &["s", "a", "z"]),
            Ok(Command::SMIsMember {
                key: v("s"),
                members: vs(&["a", "z"])
            })
        );
        assert_eq!(
            run(sismember, &["s", "a"]),
            Ok(Command::SIsMember {
                key: v("s"),
                member: v("a")
            })
        );
        assert_eq!(run(scard, &["s"]), Ok(Command::SCard { key: v("s") }));
        assert_eq!(run(smembers, &["s"]), Ok(Command::SMembers { key: v("s") }));
        assert_eq!(
            run(smove, &["a", "b", "m"]),
            Ok(Command::SMove {
                src: v("a"),
                dst: v("b"),
                member: v("m")
            })
        );
    }

    #[test]
    fn algebra_commands_split_destination_from_sources() {
        assert_eq!(
            run(sinter, &["a", "b"]),
            Ok(Command::SInter {
                keys: vs(&["a", "b"])
            })
        );
        assert_eq!(
            run(sunion, &["a"]),
            Ok(Command::SUnion { keys: vs(&["a"]) })
        );
        assert_eq!(
            run(sdiff, &["a", "a"]),
            Ok(Command::SDiff {
                keys: vs(&["a", "a"])
            })
        );
        assert_eq!(
            run(sinterstore, &["d", "a", "b"]),
            Ok(Command::SInterStore {
                dst: v("d"),
                keys: vs(&["a", "b"])
            })
        );
        assert_eq!(
            run(sunionstore, &["d", "a"]),
            Ok(Command::SUnionStore {
                dst: v("d"),
                keys: vs(&["a"])
            })
        );
        assert_eq!(
            run(sdiffstore, &["d", "d"]),
            Ok(Command::SDiffStore {
                dst: v("d"),
                keys: vs(&["d"])
            })
        );
    }

    #[test]
    fn spop_counts() {
        assert_eq!(run(spop, &["s"]), Ok(Command::SPop { key: v("s") }));
        assert_eq!(
            run(spop, &["s", "0"]),
            Ok(Command::SPopCount {
                key: v("s"),
                count: 0
            })
        );
        assert_eq!(
            run(spop, &["s", "9223372036854775807"]),
            Ok(Command::SPopCount {
                key: v("s"),
                count: i64::MAX as u64
            })
        );
        let positive = "ERR value is out of range, must be positive";
        for bad in ["-1", "abc", "1.5", "", "9223372036854775808"] {
            assert_eq!(err(spop, &["s", bad]), positive, "{bad:?}");
        }
        assert_eq!(err(spop, &["s", "1", "2"]), "ERR syntax error");
    }

    #[test]
    fn srandmember_counts() {
        assert_eq!(
            run(srandmember, &["s"]),
            Ok(Command::SRandMember { key: v("s") })
        );
        for n in [0i64, 5, -5, i64::MAX, -(RANDOM_REPEATS_MAX as i64)] {
            assert_eq!(
                run(srandmember, &["s", &n.to_string()]),
                Ok(Command::SRandMemberCount {
                    key: v("s"),
                    count: n
                })
            );
        }
        assert_eq!(
            err(srandmember, &["s", "abc"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(srandmember, &["s", "-0"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(srandmember, &["s", "-9223372036854775808"]),
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
        );
        let too_many = format!("-{}", RANDOM_REPEATS_MAX + 1);
        assert!(err(srandmember, &["s", &too_many]).starts_with("ERR value is out of range"));
        assert_eq!(err(srandmember, &["s", "1", "2"]), "ERR syntax error");
    }

    #[test]
    fn sintercard_forms() {
        assert_eq!(
            run(sintercard, &["2", "a", "b"]),
            Ok(Command::SInterCard {
                keys: vs(&["a", "b"]),
                limit: 0
            })
        );
        assert_eq!(
            run(sintercard, &["1", "a", "limit", "3", "LIMIT", "7"]),
            Ok(Command::SInterCard {
                keys: vs(&["a"]),
                limit: 7
            })
        );
        // A key named LIMIT is a key when numkeys covers it.
        assert_eq!(
            run(sintercard, &["2", "a", "LIMIT"]),
            Ok(Command::SInterCard {
                keys: vs(&["a", "LIMIT"]),
                limit: 0
            })
        );
    }

    #[test]
    fn sintercard_errors() {
        let numkeys = "ERR numkeys should be greater than 0";
        for bad in ["0", "-1", "abc", ""] {
            assert_eq!(err(sintercard, &[bad, "a"]), numkeys, "{bad:?}");
        }
        let too_many = "ERR Number of keys can't be greater than number of args";
        assert_eq!(err(sintercard, &["2", "a"]), too_many);
        assert_eq!(err(sintercard, &["2147483648", "a"]), too_many);
        let negative = "ERR LIMIT can't be negative";
        for bad in ["-1", "abc", "9223372036854775808"] {
            assert_eq!(err(sintercard, &["1", "a", "LIMIT", bad]), negative);
        }
        for argv in [
            &["1", "a", "LIMIT"][..],
            &["1", "a", "b"],
            &["1", "a", "FOO", "1"],
        ] {
            assert_eq!(err(sintercard, argv), "ERR syntax error", "{argv:?}");
        }
    }

    #[test]
    fn sscan_parses_options_and_defers_their_errors() {
        assert_eq!(
            run(sscan, &["s", "0"]),
            Ok(Command::SScan {
                key: v("s"),
                cursor: 0,
                pattern: None,
                count: crate::parse::keyspace::DEFAULT_SCAN_COUNT,
                invalid: None
            })
        );
        assert_eq!(
            run(
                sscan,
                &["s", "12", "MATCH", "a*", "count", "3", "match", "b*"]
            ),
            Ok(Command::SScan {
                key: v("s"),
                cursor: 12,
                pattern: Some(v("b*")),
                count: 3,
                invalid: None
            })
        );
        assert!(matches!(
            run(sscan, &["s", "0", "MATCH", "*"]),
            Ok(Command::SScan { pattern: None, .. })
        ));
        assert_eq!(err(sscan, &["s", "abc"]), "ERR invalid cursor");
        assert_eq!(err(sscan, &["s", "abc", "FOO"]), "ERR invalid cursor");
        let invalid = |argv: &[&str]| match run(sscan, argv) {
            Ok(Command::SScan { invalid, .. }) => invalid,
            other => panic!("{argv:?}: {other:?}"),
        };
        for argv in [
            &["s", "0", "COUNT", "0"][..],
            &["s", "0", "COUNT", "-1"],
            &["s", "0", "MATCH"],
            &["s", "0", "TYPE", "set"],
            &["s", "0", "FOO", "COUNT", "abc"],
        ] {
            assert_eq!(invalid(argv), Some(ScanOptionError::Syntax), "{argv:?}");
        }
        assert_eq!(
            invalid(&["s", "0", "COUNT", "abc", "FOO"]),
            Some(ScanOptionError::NotInteger)
        );
    }
}
