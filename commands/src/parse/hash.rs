//! Parsers for the hash commands (`HSET`, `HGET`, `HINCRBYFLOAT`, `HSCAN`, `HRANDFIELD` …).
//!
//! Each parser turns arguments whose count the table already checked into a typed
//! [`Command`], raising the errors Redis raises before it looks at the key (odd field/value
//! lists, malformed increments and counts, a bad cursor). Whatever depends on stored data
//! (`WRONGTYPE`, non-numeric field values, and `HSCAN`'s option errors, which Redis reports
//! only for an existing hash) is storaged's to report.

use tandem_shared::Command;

use super::keyspace::{parse_member_scan, MemberScan};
use super::string::parse_long_double;
use crate::args::ParseCtx;
use crate::args::{parse_f64, Args};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, range, CommandSpec, Doc, Handler, KeySpec};
use crate::{acl, flags, key_flags};

/// Largest `|count|` `HRANDFIELD … WITHVALUES` accepts: Redis refuses more than
/// `LONG_MAX / 2` because it doubles the count for the reply length.
const RANDFIELD_WITHVALUES_MAX: i64 = i64::MAX / 2;

type FieldValue = (Vec<u8>, Vec<u8>);

/// `HSET key field value [field value …]`
pub fn hset(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    Ok(Command::HSet {
        key,
        pairs: pairs(args, "hset")?,
    })
}

/// `HMSET key field value [field value …]`
pub fn hmset(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    Ok(Command::HMSet {
        key,
        pairs: pairs(args, "hmset")?,
    })
}

/// Redis reports an odd field/value list as an arity error naming the command.
fn pairs(args: &mut Args, name: &str) -> Result<Vec<FieldValue>, CommandError> {
    if !args.remaining().is_multiple_of(2) {
        return Err(CommandError::WrongArity(name.to_owned()));
    }
    let mut out = Vec::with_capacity(args.remaining() / 2);
    while args.remaining() > 0 {
        let field = args.next_vec()?;
        let value = args.next_vec()?;
        out.push((field, value));
    }
    Ok(out)
}

/// `HSETNX key field value`
pub fn hsetnx(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let field = args.next_vec()?;
    let value = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::HSetNx { key, field, value })
}

/// `HGET key field`
pub fn hget(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (key, field) = key_field(args)?;
    Ok(Command::HGet { key, field })
}

/// `HSTRLEN key field`
pub fn hstrlen(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (key, field) = key_field(args)?;
    Ok(Command::HStrLen { key, field })
}

/// `HEXISTS key field`
pub fn hexists(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (key, field) = key_field(args)?;
    Ok(Command::HExists { key, field })
}

/// `HMGET key field [field …]`
pub fn hmget(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let fields = args.rest_vecs();
    Ok(Command::HMGet { key, fields })
}

/// `HDEL key field [field …]`
pub fn hdel(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let fields = args.rest_vecs();
    Ok(Command::HDel { key, fields })
}

/// `HLEN key`
pub fn hlen(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::HLen {
        key: args.single_key()?,
    })
}

/// `HGETALL key`
pub fn hgetall(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::HGetAll {
        key: args.single_key()?,
    })
}

/// `HKEYS key`
pub fn hkeys(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::HKeys {
        key: args.single_key()?,
    })
}

/// `HVALS key`
pub fn hvals(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    Ok(Command::HVals {
        key: args.single_key()?,
    })
}

/// `HINCRBY key field increment`
pub fn hincrby(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (key, field) = (args.next_vec()?, args.next_vec()?);
    let delta = args.next_i64()?;
    args.expect_end()?;
    Ok(Command::HIncrBy { key, field, delta })
}

/// `HINCRBYFLOAT key field increment`: the increment must be a float (`strtold` rules) and
/// finite; it travels as the client's text so storaged adds it in `long double`.
pub fn hincrbyfloat(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (key, field) = (args.next_vec()?, args.next_vec()?);
    let raw = args.next_bytes()?;
    args.expect_end()?;
    check_increment(&raw)?;
    Ok(Command::HIncrByFloat {
        key,
        field,
        delta: raw.to_vec(),
    })
}

/// Refuses what Redis refuses before it looks at the key: text that is no float, and an
/// infinite increment. A decimal literal beyond `f64` range (finite as a `long double`,
/// like `1e4932`) passes: storaged parses it exactly and reports a real overflow.
fn check_increment(raw: &[u8]) -> Result<(), CommandError> {
    let spelled_inf = |b: &[u8]| {
        let unsigned = b.strip_prefix(b"-").or(b.strip_prefix(b"+")).unwrap_or(b);
        unsigned
            .first()
            .is_some_and(|c| c.eq_ignore_ascii_case(&b'i'))
    };
    match parse_long_double(raw) {
        Some(d) if d.is_finite() => Ok(()),
        Some(_) => Err(CommandError::err("value is NaN or Infinity")),
        None => match parse_f64(raw) {
            Some(d) if d.is_infinite() && !spelled_inf(raw) => Ok(()),
            _ => Err(CommandError::NotFloat),
        },
    }
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count]`
///
/// A bad cursor fails here, as in Redis; a bad option is carried to storaged, because Redis
/// checks options only after finding the key to be a hash (a missing key scans empty).
pub fn hscan(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let MemberScan {
        key,
        cursor,
        pattern,
        count,
        invalid,
    } = parse_member_scan(args)?;
    Ok(Command::HScan {
        key,
        cursor,
        pattern,
        count,
        invalid,
    })
}

/// `HRANDFIELD key [count [WITHVALUES]]`
pub fn hrandfield(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    if args.remaining() == 0 {
        return Ok(Command::HRandField {
            key,
            count: None,
            with_values: false,
        });
    }
    let count = args.next_i64()?;
    if count == i64::MIN {
        return Err(CommandError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let with_values = match args.remaining() {
        0 => false,
        1 if args.eat("WITHVALUES") => true,
        _ => return Err(CommandError::Syntax),
    };
    if with_values && !(-RANDFIELD_WITHVALUES_MAX..=RANDFIELD_WITHVALUES_MAX).contains(&count) {
        return Err(CommandError::err("value is out of range"));
    }
    Ok(Command::HRandField {
        key,
        count: Some(count),
        with_values,
    })
}

fn key_field(args: &mut Args) -> Result<(Vec<u8>, Vec<u8>), CommandError> {
    let key = args.next_vec()?;
    let field = args.next_vec()?;
    args.expect_end()?;
    Ok((key, field))
}

/// The hash commands' rows of the command table ([`crate::table`]), each
/// beside its parser above; values from redis-server 7.0's `COMMAND INFO`/`COMMAND DOCS`.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "hdel",
        arity: -3,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | HASH | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Delete one or more hash fields",
            since: "2.0.0",
            group: "hash",
            complexity: "O(N) where N is the number of fields to be removed.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("2.4.0", "Accepts multiple `field` arguments."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("field", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(hdel),
    },
    CommandSpec {
        name: "hexists",
        arity: 3,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | HASH | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Determine if a hash field exists",
            since: "2.0.0",
            group: "hash",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("field", T::String),
            ],
        },
        handler: Handler::Storage(hexists),
    },
    CommandSpec {
        name: "hget",
        arity: 3,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | HASH | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the value of a hash field",
            since: "2.0.0",
            group: "hash",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("field", T::String),
            ],
        },
        handler: Handler::Storage(hget),
    },
    CommandSpec {
        name: "hgetall",
        arity: 2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | HASH | SLOW),
        tips: &["nondeterministic_output_order"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get all the fields and values in a hash",
            since: "2.0.0",
            group: "hash",
            complexity: "O(N) where N is the size of the hash.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(hgetall),
    },
    CommandSpec {
        name: "hincrby",
        arity: 4,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | HASH | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Increment the integer value of a hash field by the given number",
            since: "2.0.0",
            group: "hash",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("field", T::String),
                arg("increment", T::Integer),
            ],
        },
        handler: Handler::Storage(hincrby),
    },
    CommandSpec {
        name: "hincrbyfloat",
        arity: 4,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | HASH | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Increment the float value of a hash field by the given amount",
            since: "2.6.0",
            group: "hash",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("field", T::String),
                arg("increment", T::Double),
            ],
        },
        handler: Handler::Storage(hincrbyfloat),
    },
    CommandSpec {
        name: "hkeys",
        arity: 2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | HASH | SLOW),
        tips: &["nondeterministic_output_order"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get all the fields in a hash",
            since: "2.0.0",
            group: "hash",
            complexity: "O(N) where N is the size of the hash.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(hkeys),
    },
    CommandSpec {
        name: "hlen",
        arity: 2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | HASH | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the number of fields in a hash",
            since: "2.0.0",
            group: "hash",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(hlen),
    },
    CommandSpec {
        name: "hmget",
        arity: -3,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | HASH | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the values of all the given hash fields",
            since: "2.0.0",
            group: "hash",
            complexity: "O(N) where N is the number of fields being requested.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("field", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(hmget),
    },
    CommandSpec {
        name: "hmset",
        arity: -4,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | HASH | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set multiple hash fields to multiple values",
            since: "2.0.0",
            group: "hash",
            complexity: "O(N) where N is the number of fields being set.",
            doc_flags: &["deprecated"],
            deprecated_since: "4.0.0",
            replaced_by: "`HSET` with multiple field-value pairs",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("field_value", T::Block).multiple().args(&[
                        arg("field", T::String),
                        arg("value", T::String),
                    ]),
            ],
        },
        handler: Handler::Storage(hmset),
    },
    CommandSpec {
        name: "hrandfield",
        arity: -2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | HASH | SLOW),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get one or multiple random fields from a hash",
            since: "6.2.0",
            group: "hash",
            complexity: "O(N) where N is the number of fields returned",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("options", T::Block).optional().args(&[
                        arg("count", T::Integer),
                        arg("withvalues", T::PureToken).token("WITHVALUES").optional(),
                    ]),
            ],
        },
        handler: Handler::Storage(hrandfield),
    },
    CommandSpec {
        name: "hscan",
        arity: -3,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | HASH | SLOW),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Incrementally iterate hash fields and associated values",
            since: "2.8.0",
            group: "hash",
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
        handler: Handler::Storage(hscan),
    },
    CommandSpec {
        name: "hset",
        arity: -4,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | HASH | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set the string value of a hash field",
            since: "2.0.0",
            group: "hash",
            complexity: "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("4.0.0", "Accepts multiple `field` and `value` arguments."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("field_value", T::Block).multiple().args(&[
                        arg("field", T::String),
                        arg("value", T::String),
                    ]),
            ],
        },
        handler: Handler::Storage(hset),
    },
    CommandSpec {
        name: "hsetnx",
        arity: 4,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | HASH | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | INSERT), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set the value of a hash field, only if the field does not exist",
            since: "2.0.0",
            group: "hash",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("field", T::String),
                arg("value", T::String),
            ],
        },
        handler: Handler::Storage(hsetnx),
    },
    CommandSpec {
        name: "hstrlen",
        arity: 3,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | HASH | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the length of the value of a hash field",
            since: "3.2.0",
            group: "hash",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("field", T::String),
            ],
        },
        handler: Handler::Storage(hstrlen),
    },
    CommandSpec {
        name: "hvals",
        arity: 2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | HASH | SLOW),
        tips: &["nondeterministic_output_order"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get all the values in a hash",
            since: "2.0.0",
            group: "hash",
            complexity: "O(N) where N is the size of the hash.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(hvals),
    },
];

#[cfg(test)]
mod tests {
    use tandem_shared::ScanOptionError;

    use super::*;
    use crate::flags;
    use crate::flags::{AclCategories, Flags};
    use crate::testing::{err, run};

    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn every_hash_command_is_in_the_table() {
        let names = "hset hsetnx hget hmget hmset hdel hlen hstrlen hexists hgetall hkeys \
                     hvals hincrby hincrbyfloat hscan hrandfield";
        for name in names.split_whitespace() {
            let spec = crate::lookup(name.as_bytes()).expect(name);
            assert_eq!(
                (spec.doc.group, spec.first_key, spec.last_key),
                ("hash", 1, 1)
            );
            let readonly = spec.flags.contains(Flags::READONLY);
            assert_eq!(readonly, !spec.is_write(), "{name}");
            assert!(spec.acl.contains(AclCategories::HASH), "{name}");
        }
        let hset = crate::lookup(b"HSET").expect("hset");
        assert_eq!(
            (hset.arity, hset.flags),
            (-4, flags!(WRITE | DENYOOM | FAST))
        );
    }

    #[test]
    fn hset_takes_pairs_and_refuses_odd_lists_as_arity() {
        assert_eq!(
            run(hset, &["h", "a", "1", "b", "2"]),
            Ok(Command::HSet {
                key: v("h"),
                pairs: vec![(v("a"), v("1")), (v("b"), v("2"))]
            })
        );
        assert_eq!(
            err(hset, &["h", "a", "1", "b"]),
            "ERR wrong number of arguments for 'hset' command"
        );
        assert_eq!(
            err(hmset, &["h", "a"]),
            "ERR wrong number of arguments for 'hmset' command"
        );
        assert!(matches!(
            run(hmset, &["h", "a", "1"]),
            Ok(Command::HMSet { .. })
        ));
    }

    #[test]
    fn single_field_commands() {
        assert_eq!(
            run(hget, &["h", "f"]),
            Ok(Command::HGet {
                key: v("h"),
                field: v("f")
            })
        );
        assert_eq!(
            run(hsetnx, &["h", "f", "x"]),
            Ok(Command::HSetNx {
                key: v("h"),
                field: v("f"),
                value: v("x")
            })
        );
        assert_eq!(
            run(hmget, &["h", "a", "b"]),
            Ok(Command::HMGet {
                key: v("h"),
                fields: vec![v("a"), v("b")]
            })
        );
        assert_eq!(
            run(hdel, &["h", "a", "a"]),
            Ok(Command::HDel {
                key: v("h"),
                fields: vec![v("a"), v("a")]
            })
        );
        assert_eq!(run(hlen, &["h"]), Ok(Command::HLen { key: v("h") }));
        assert_eq!(
            run(hexists, &["h", "f"]),
            Ok(Command::HExists {
                key: v("h"),
                field: v("f")
            })
        );
    }

    #[test]
    fn hincrby_needs_an_integer() {
        assert_eq!(
            run(hincrby, &["h", "f", "-5"]),
            Ok(Command::HIncrBy {
                key: v("h"),
                field: v("f"),
                delta: -5
            })
        );
        for bad in ["x", "1.5", " 1", "9223372036854775808"] {
            assert_eq!(
                err(hincrby, &["h", "f", bad]),
                "ERR value is not an integer or out of range"
            );
        }
    }

    #[test]
    fn hincrbyfloat_keeps_the_text_and_refuses_infinity() {
        assert_eq!(
            run(hincrbyfloat, &["h", "f", "1.5e2"]),
            Ok(Command::HIncrByFloat {
                key: v("h"),
                field: v("f"),
                delta: v("1.5e2")
            })
        );
        assert_eq!(
            err(hincrbyfloat, &["h", "f", "abc"]),
            "ERR value is not a valid float"
        );
        assert!(run(hincrbyfloat, &["h", "f", "1e4932"]).is_ok());
        assert_eq!(
            err(hincrbyfloat, &["h", "f", "nan"]),
            "ERR value is not a valid float"
        );
        assert_eq!(
            err(hincrbyfloat, &["h", "f", "-inf"]),
            "ERR value is NaN or Infinity"
        );
    }

    #[test]
    fn hscan_parses_options_and_defers_their_errors() {
        assert_eq!(
            run(hscan, &["h", "0", "MATCH", "a*", "count", "5"]),
            Ok(Command::HScan {
                key: v("h"),
                cursor: 0,
                pattern: Some(v("a*")),
                count: 5,
                invalid: None
            })
        );
        assert_eq!(
            run(hscan, &["h", "7", "match", "*"]),
            Ok(Command::HScan {
                key: v("h"),
                cursor: 7,
                pattern: None,
                count: crate::parse::keyspace::DEFAULT_SCAN_COUNT,
                invalid: None
            })
        );
        let invalid = |argv: &[&str]| match run(hscan, argv) {
            Ok(Command::HScan { invalid, .. }) => invalid,
            other => panic!("{argv:?} gave {other:?}"),
        };
        assert_eq!(
            invalid(&["h", "0", "COUNT", "0"]),
            Some(ScanOptionError::Syntax)
        );
        assert_eq!(
            invalid(&["h", "0", "COUNT", "x", "BOGUS"]),
            Some(ScanOptionError::NotInteger)
        );
        assert_eq!(
            invalid(&["h", "0", "NOVALUES"]),
            Some(ScanOptionError::Syntax)
        );
        assert_eq!(invalid(&["h", "0", "MATCH"]), Some(ScanOptionError::Syntax));
        assert_eq!(
            invalid(&["h", "0", "TYPE", "hash"]),
            Some(ScanOptionError::Syntax)
        );
        assert_eq!(err(hscan, &["h", "abc"]), "ERR invalid cursor");
    }

    #[test]
    fn hrandfield_forms_and_ranges() {
        assert_eq!(
            run(hrandfield, &["h"]),
            Ok(Command::HRandField {
                key: v("h"),
                count: None,
                with_values: false
            })
        );
        assert_eq!(
            run(hrandfield, &["h", "-3", "withvalues"]),
            Ok(Command::HRandField {
                key: v("h"),
                count: Some(-3),
                with_values: true
            })
        );
        assert_eq!(
            err(hrandfield, &["h", "x"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(hrandfield, &["h", "-9223372036854775808"]),
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
        );
        assert_eq!(
            err(hrandfield, &["h", "1", "withvalue"]),
            "ERR syntax error"
        );
        assert_eq!(
            err(hrandfield, &["h", "1", "withvalues", "x"]),
            "ERR syntax error"
        );
        assert_eq!(
            err(hrandfield, &["h", "4611686018427387904", "withvalues"]),
            "ERR value is out of range"
        );
        assert_eq!(
            err(hrandfield, &["h", "-4611686018427387904", "withvalues"]),
            "ERR value is out of range"
        );
        assert!(run(hrandfield, &["h", "4611686018427387904"]).is_ok());
        assert!(run(hrandfield, &["h", "4611686018427387903", "WITHVALUES"]).is_ok());
    }
}
