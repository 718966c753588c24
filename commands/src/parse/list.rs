//! Parsers for the list commands (`LPUSH`, `LPOP`, `LRANGE`, `LPOS`, `LMOVE`, `LMPOP` …).
//!
//! Each parser turns arguments whose count the table already checked into a typed
//! [`Command`], raising the errors Redis raises before it looks at the key (non-integer
//! indexes, a negative pop count, `LPOS`'s zero rank, bad directions). Whatever depends on
//! stored data (`WRONGTYPE`, `LSET`'s missing key and out-of-range index) is storaged's to
//! report.

use tandem_shared::command::ListEnd;
use tandem_shared::Command;

use crate::args::ParseCtx;
use crate::args::{parse_i64, Args};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, keynum, range, CommandSpec, Doc, Handler, KeySpec};
use crate::{acl, flags, key_flags};

/// `LPOS`'s text for a zero rank, exactly as Redis words it.
const RANK_ZERO: &str = "RANK can't be zero: use 1 to start from the first match, 2 from the \
                         second ... or use negative to start from the end of the list";

fn push(args: &mut Args, end: ListEnd, only_existing: bool) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let elements = args.rest_vecs();
    Ok(Command::LPush {
        key,
        end,
        elements,
        only_existing,
    })
}

/// `LPUSH key element [element …]`
pub fn lpush(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    push(args, ListEnd::Left, false)
}

/// `RPUSH key element [element …]`
pub fn rpush(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    push(args, ListEnd::Right, false)
}

/// `LPUSHX key element [element …]`
pub fn lpushx(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    push(args, ListEnd::Left, true)
}

/// `RPUSHX key element [element …]`
pub fn rpushx(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    push(args, ListEnd::Right, true)
}

fn pop(args: &mut Args, end: ListEnd, name: &str) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let count = match args.remaining() {
        0 => None,
        1 => Some(
            parse_i64(&args.next_bytes()?)
                .and_then(|c| u64::try_from(c).ok())
                .ok_or_else(|| CommandError::err("value is out of range, must be positive"))?,
        ),
        _ => return Err(CommandError::WrongArity(name.to_owned())),
    };
    Ok(Command::LPop { key, end, count })
}

/// `LPOP key [count]`
pub fn lpop(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    pop(args, ListEnd::Left, "lpop")
}

/// `RPOP key [count]`
pub fn rpop(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    pop(args, ListEnd::Right, "rpop")
}

/// `LLEN key`
pub fn llen(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::LLen { key })
}

/// `LINDEX key index`
pub fn lindex(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let index = args.next_i64()?;
    args.expect_end()?;
    Ok(Command::LIndex { key, index })
}

/// `LSET key index element`
pub fn lset(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let index = args.next_i64()?;
    let element = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::LSet {
        key,
        index,
        element,
    })
}

/// `LRANGE key start stop`
pub fn lrange(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let (start, stop) = (args.next_i64()?, args.next_i64()?);
    args.expect_end()?;
    Ok(Command::LRange { key, start, stop })
}

/// `LTRIM key start stop`
pub fn ltrim(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let (start, stop) = (args.next_i64()?, args.next_i64()?);
    args.expect_end()?;
    Ok(Command::LTrim { key, start, stop })
}

/// `LREM key count element`
pub fn lrem(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let count = args.next_i64()?;
    let element = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::LRem {
        key,
        count,
        element,
    })
}

/// `LINSERT key BEFORE|AFTER pivot element`
pub fn linsert(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let before = if args.eat("BEFORE") {
        true
    } else if args.eat("AFTER") {
        false
    } else {
        return Err(CommandError::Syntax);
    };
    let pivot = args.next_vec()?;
    let element = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::LInsert {
        key,
        before,
        pivot,
        element,
    })
}

/// `LPOS key element [RANK r] [COUNT c] [MAXLEN m]`: options may repeat (the last wins),
/// as in Redis.
pub fn lpos(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let element = args.next_vec()?;
    let (mut rank, mut count, mut maxlen) = (1i64, None, 0u64);
    while args.remaining() > 0 {
        let option = if args.eat("RANK") {
            0
        } else if args.eat("COUNT") {
            1
        } else if args.eat("MAXLEN") {
            2
        } else {
            return Err(CommandError::Syntax);
        };
        if args.remaining() == 0 {
            return Err(CommandError::Syntax);
        }
        let value = parse_i64(&args.next_bytes()?);
        match option {
            0 => {
                rank = value.ok_or(CommandError::NotInteger)?;
                if rank == 0 {
                    return Err(CommandError::err(RANK_ZERO));
                }
            }
            1 => {
                count = Some(
                    value
                        .and_then(|c| u64::try_from(c).ok())
                        .ok_or_else(|| CommandError::err("COUNT can't be negative"))?,
                );
            }
            _ => {
                maxlen = value
                    .and_then(|m| u64::try_from(m).ok())
                    .ok_or_else(|| CommandError::err("MAXLEN can't be negative"))?;
            }
        }
    }
    Ok(Command::LPos {
        key,
        element,
        rank,
        count,
        maxlen,
    })
}

/// `LEFT` or `RIGHT`, any case (also BLMOVE's).
pub(crate) fn direction(args: &mut Args) -> Result<ListEnd, CommandError> {
    if args.eat("LEFT") {
        Ok(ListEnd::Left)
    } else if args.eat("RIGHT") {
        Ok(ListEnd::Right)
    } else {
        Err(CommandError::Syntax)
    }
}

/// `LMOVE source destination LEFT|RIGHT LEFT|RIGHT`
pub fn lmove(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let src = args.next_vec()?;
    let dst = args.next_vec()?;
    let from = direction(args)?;
    let to = direction(args)?;
    args.expect_end()?;
    Ok(Command::LMove { src, dst, from, to })
}

/// `RPOPLPUSH source destination`: `LMOVE source destination RIGHT LEFT`.
pub fn rpoplpush(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let src = args.next_vec()?;
    let dst = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::LMove {
        src,
        dst,
        from: ListEnd::Right,
        to: ListEnd::Left,
    })
}

/// `LMPOP numkeys key [key …] LEFT|RIGHT [COUNT count]`
pub fn lmpop(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let keys = crate::args::mpop_keys(args)?;
    let end = direction(args)?;
    let count = crate::args::mpop_count(args)?;
    Ok(Command::LMPop { keys, end, count })
}

/// The list commands' rows of the command table ([`crate::table`]), each
/// beside its parser above; values from redis-server 7.0's `COMMAND INFO`/`COMMAND DOCS`.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "lindex",
        arity: 3,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | LIST | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get an element from a list by its index",
            since: "1.0.0",
            group: "list",
            complexity: "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("index", T::Integer),
            ],
        },
        handler: Handler::Storage(lindex),
    },
    CommandSpec {
        name: "linsert",
        arity: 5,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | LIST | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | INSERT), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Insert an element before or after another element in a list",
            since: "2.2.0",
            group: "list",
            complexity: "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("where", T::OneOf).args(&[
                        arg("before", T::PureToken).token("BEFORE"),
                        arg("after", T::PureToken).token("AFTER"),
                    ]),
                arg("pivot", T::String),
                arg("element", T::String),
            ],
        },
        handler: Handler::Storage(linsert),
    },
    CommandSpec {
        name: "llen",
        arity: 2,
        flags: flags!(READONLY | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | LIST | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get the length of a list",
            since: "1.0.0",
            group: "list",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(llen),
    },
    CommandSpec {
        name: "lmove",
        arity: 5,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: acl!(WRITE | LIST | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RW | INSERT), index(2), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Pop an element from a list, push it to another list and return it",
            since: "6.2.0",
            group: "list",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("source", T::Key).key_spec(0),
                arg("destination", T::Key).key_spec(1),
                arg("wherefrom", T::OneOf).args(&[
                        arg("left", T::PureToken).token("LEFT"),
                        arg("right", T::PureToken).token("RIGHT"),
                    ]),
                arg("whereto", T::OneOf).args(&[
                        arg("left", T::PureToken).token("LEFT"),
                        arg("right", T::PureToken).token("RIGHT"),
                    ]),
            ],
        },
        handler: Handler::Storage(lmove),
    },
    CommandSpec {
        name: "lmpop",
        arity: -4,
        flags: flags!(WRITE | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(WRITE | LIST | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), keynum(0, 1, 1)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Pop elements from a list",
            since: "7.0.0",
            group: "list",
            complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(0).multiple(),
                arg("where", T::OneOf).args(&[
                        arg("left", T::PureToken).token("LEFT"),
                        arg("right", T::PureToken).token("RIGHT"),
                    ]),
                arg("count", T::Integer).token("COUNT").optional(),
            ],
        },
        handler: Handler::Storage(lmpop),
    },
    CommandSpec {
        name: "lpop",
        arity: -2,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | LIST | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove and get the first elements in a list",
            since: "1.0.0",
            group: "list",
            complexity: "O(N) where N is the number of elements returned",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("6.2.0", "Added the `count` argument."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("count", T::Integer).since("6.2.0").optional(),
            ],
        },
        handler: Handler::Storage(lpop),
    },
    CommandSpec {
        name: "lpos",
        arity: -3,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | LIST | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Return the index of matching elements on a list",
            since: "6.0.6",
            group: "list",
            complexity: "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("element", T::String),
                arg("rank", T::Integer).token("RANK").optional(),
                arg("num-matches", T::Integer).token("COUNT").optional(),
                arg("len", T::Integer).token("MAXLEN").optional(),
            ],
        },
        handler: Handler::Storage(lpos),
    },
    CommandSpec {
        name: "lpush",
        arity: -3,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | LIST | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | INSERT), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Prepend one or multiple elements to a list",
            since: "1.0.0",
            group: "list",
            complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("2.4.0", "Accepts multiple `element` arguments."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("element", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(lpush),
    },
    CommandSpec {
        name: "lpushx",
        arity: -3,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | LIST | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | INSERT), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Prepend an element to a list, only if the list exists",
            since: "2.2.0",
            group: "list",
            complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("4.0.0", "Accepts multiple `element` arguments."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("element", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(lpushx),
    },
    CommandSpec {
        name: "lrange",
        arity: 4,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | LIST | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Get a range of elements from a list",
            since: "1.0.0",
            group: "list",
            complexity: "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
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
        handler: Handler::Storage(lrange),
    },
    CommandSpec {
        name: "lrem",
        arity: 4,
        flags: flags!(WRITE),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | LIST | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove elements from a list",
            since: "1.0.0",
            group: "list",
            complexity: "O(N+M) where N is the length of the list and M is the number of elements removed.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("count", T::Integer),
                arg("element", T::String),
            ],
        },
        handler: Handler::Storage(lrem),
    },
    CommandSpec {
        name: "lset",
        arity: 4,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | LIST | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Set the value of an element in a list by its index",
            since: "1.0.0",
            group: "list",
            complexity: "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("index", T::Integer),
                arg("element", T::String),
            ],
        },
        handler: Handler::Storage(lset),
    },
    CommandSpec {
        name: "ltrim",
        arity: 4,
        flags: flags!(WRITE),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | LIST | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Trim a list to the specified range",
            since: "1.0.0",
            group: "list",
            complexity: "O(N) where N is the number of elements to be removed by the operation.",
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
        handler: Handler::Storage(ltrim),
    },
    CommandSpec {
        name: "rpop",
        arity: -2,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | LIST | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove and get the last elements in a list",
            since: "1.0.0",
            group: "list",
            complexity: "O(N) where N is the number of elements returned",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("6.2.0", "Added the `count` argument."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("count", T::Integer).since("6.2.0").optional(),
            ],
        },
        handler: Handler::Storage(rpop),
    },
    CommandSpec {
        name: "rpoplpush",
        arity: 3,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: acl!(WRITE | LIST | SLOW),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RW | INSERT), index(2), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove the last element in a list, prepend it to another list and return it",
            since: "1.2.0",
            group: "list",
            complexity: "O(1)",
            doc_flags: &["deprecated"],
            deprecated_since: "6.2.0",
            replaced_by: "`LMOVE` with the `RIGHT` and `LEFT` arguments",
            history: &[],
            arguments: &[
                arg("source", T::Key).key_spec(0),
                arg("destination", T::Key).key_spec(1),
            ],
        },
        handler: Handler::Storage(rpoplpush),
    },
    CommandSpec {
        name: "rpush",
        arity: -3,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | LIST | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | INSERT), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Append one or multiple elements to a list",
            since: "1.0.0",
            group: "list",
            complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("2.4.0", "Accepts multiple `element` arguments."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("element", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(rpush),
    },
    CommandSpec {
        name: "rpushx",
        arity: -3,
        flags: flags!(WRITE | DENYOOM | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | LIST | FAST),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | INSERT), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Append an element to a list, only if the list exists",
            since: "2.2.0",
            group: "list",
            complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("4.0.0", "Accepts multiple `element` arguments."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("element", T::String).multiple(),
            ],
        },
        handler: Handler::Storage(rpushx),
    },
];

#[cfg(test)]
mod tests {

    use super::*;
    use crate::testing::run;

    fn v(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    fn text(r: Result<Command, CommandError>) -> String {
        match r {
            Err(e) => e.to_string(),
            Ok(c) => panic!("expected an error, got {c:?}"),
        }
    }

    #[test]
    fn pushes_name_their_end() {
        assert_eq!(
            run(rpushx, &["k", "a", "b"]),
            Ok(Command::LPush {
                key: v("k"),
                end: ListEnd::Right,
                elements: vec![v("a"), v("b")],
                only_existing: true,
            })
        );
        assert!(matches!(
            run(lpush, &["k", "a"]),
            Ok(Command::LPush {
                end: ListEnd::Left,
                only_existing: false,
                ..
            })
        ));
    }

    #[test]
    fn pop_counts() {
        assert_eq!(
            run(lpop, &["k"]),
            Ok(Command::LPop {
                key: v("k"),
                end: ListEnd::Left,
                count: None
            })
        );
        assert_eq!(
            run(rpop, &["k", "0"]),
            Ok(Command::LPop {
                key: v("k"),
                end: ListEnd::Right,
                count: Some(0)
            })
        );
        for bad in ["-1", "x", "9223372036854775808"] {
            assert_eq!(
                text(run(lpop, &["k", bad])),
                "ERR value is out of range, must be positive"
            );
        }
        assert_eq!(
            text(run(lpop, &["k", "1", "2"])),
            "ERR wrong number of arguments for 'lpop' command"
        );
    }

    #[test]
    fn indexes_must_be_integers() {
        let bad = "ERR value is not an integer or out of range";
        assert_eq!(text(run(lindex, &["k", "x"])), bad);
        assert_eq!(text(run(lset, &["k", "1.5", "v"])), bad);
        assert_eq!(text(run(lrange, &["k", "0", "x"])), bad);
        assert_eq!(text(run(ltrim, &["k", "x", "1"])), bad);
        assert_eq!(text(run(lrem, &["k", "x", "v"])), bad);
        assert_eq!(
            run(lrange, &["k", "-3", "-1"]),
            Ok(Command::LRange {
                key: v("k"),
                start: -3,
                stop: -1
            })
        );
    }

    #[test]
    fn linsert_and_lmove_directions() {
        assert_eq!(
            run(linsert, &["k", "after", "p", "e"]),
            Ok(Command::LInsert {
                key: v("k"),
                before: false,
                pivot: v("p"),
                element: v("e"),
            })
        );
        assert_eq!(
            text(run(linsert, &["k", "middle", "p", "e"])),
            "ERR syntax error"
        );
        assert_eq!(
            run(lmove, &["a", "b", "right", "LEFT"]),
            run(rpoplpush, &["a", "b"])
        );
        assert_eq!(
            text(run(lmove, &["a", "b", "up", "left"])),
            "ERR syntax error"
        );
    }

    #[test]
    fn lpos_options() {
        assert_eq!(
            run(
                lpos,
                &["k", "e", "RANK", "2", "count", "0", "maxlen", "9", "rank", "-1"]
            ),
            Ok(Command::LPos {
                key: v("k"),
                element: v("e"),
                rank: -1,
                count: Some(0),
                maxlen: 9,
            })
        );
        assert_eq!(
            text(run(lpos, &["k", "e", "RANK", "0"])),
            format!("ERR {RANK_ZERO}")
        );
        assert_eq!(
            text(run(lpos, &["k", "e", "RANK", "x"])),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            text(run(lpos, &["k", "e", "COUNT", "-1"])),
            "ERR COUNT can't be negative"
        );
        assert_eq!(
            text(run(lpos, &["k", "e", "MAXLEN", "x"])),
            "ERR MAXLEN can't be negative"
        );
        assert_eq!(text(run(lpos, &["k", "e", "RANK"])), "ERR syntax error");
        assert_eq!(text(run(lpos, &["k", "e", "FOO", "1"])), "ERR syntax error");
    }

    #[test]
    fn lmpop_arguments() {
        assert_eq!(
            run(lmpop, &["2", "a", "b", "right", "COUNT", "3"]),
            Ok(Command::LMPop {
                keys: vec![v("a"), v("b")],
                end: ListEnd::Right,
                count: 3,
            })
        );
        let numkeys = "ERR numkeys should be greater than 0";
        assert_eq!(text(run(lmpop, &["0", "a", "left"])), numkeys);
        assert_eq!(text(run(lmpop, &["x", "a", "left"])), numkeys);
        assert_eq!(text(run(lmpop, &["5", "a", "left"])), "ERR syntax error");
        assert_eq!(text(run(lmpop, &["2", "a", "left"])), "ERR syntax error");
        let count = "ERR count should be greater than 0";
        assert_eq!(text(run(lmpop, &["1", "a", "left", "count", "0"])), count);
        assert_eq!(text(run(lmpop, &["1", "a", "left", "count", "x"])), count);
        assert_eq!(
            text(run(lmpop, &["1", "a", "left", "count", "1", "count", "2"])),
            "ERR syntax error"
        );
        assert_eq!(
            text(run(lmpop, &["1", "a", "left", "count"])),
            "ERR syntax error"
        );
    }
}
