//! Parsers of the blocking pops: `BLPOP BRPOP BLMPOP BLMOVE BRPOPLPUSH BZPOPMIN BZPOPMAX
//! BZMPOP`, each into a [`Command::BlockingPop`] whose timeout is already an absolute
//! deadline. Waiting is not decided here: the proxy's connection fills in who waits and
//! sends it alone; inside `MULTI` it travels with the transaction and storaged
//! runs it as the non-blocking form.

use tandem_shared::command::{BlockingOp, ListEnd, Wait, ZEnd};
use tandem_shared::Command;

use crate::args::ParseCtx;
use crate::args::{parse_f64, Args};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, keynum, range, CommandSpec, Doc, Handler, KeySpec};
use crate::{acl, flags, key_flags};

/// Turns a timeout in seconds into an absolute unix-ms deadline (0 = wait forever), the
/// way Redis 7.0's `getTimeoutFromObjectOrReply` does: the seconds are multiplied by 1000
/// and truncated (so `0.0001` and `-0.0001` mean forever), and a product no 64-bit integer
/// holds (`inf`, `1e400`) reads as negative; a deadline past `i64::MAX` ms is forever.
///
/// # Errors
/// `ERR timeout is not a float or out of range` or `ERR timeout is negative`.
pub fn deadline(arg: &[u8], now_ms: i64) -> Result<u64, CommandError> {
    let secs = parse_f64(arg)
        .ok_or_else(|| CommandError::err("timeout is not a float or out of range"))?;
    let ms = secs * 1000.0;
    // C's cast of an out-of-range double to long long yields LLONG_MIN on x86.
    let ms = if ms.is_finite() && ms > -9.223_372_036_854_776e18 && ms < 9.223_372_036_854_776e18 {
        ms as i64
    } else {
        i64::MIN
    };
    if ms < 0 {
        return Err(CommandError::err("timeout is negative"));
    }
    if ms == 0 {
        return Ok(0);
    }
    if ms > i64::MAX - now_ms {
        // Redis 7.0 adds without a check and the wrapped deadline never fires.
        return Ok(0);
    }
    Ok(u64::try_from(now_ms + ms).unwrap_or(u64::MAX))
}

/// A waiting spec with no waiter yet: the connection fills in the proxy and client ids.
fn wait(deadline_ms: u64, ctx: &ParseCtx) -> Wait {
    Wait {
        deadline_ms,
        since_ms: u64::try_from(ctx.now_ms).unwrap_or(0),
        proxy: 0,
        client: 0,
        renewed: false,
    }
}

/// `key [key ...] timeout`.
fn keys_then_timeout(
    args: &mut Args,
    ctx: &ParseCtx,
) -> Result<(Vec<Vec<u8>>, Wait), CommandError> {
    let mut rest = args.rest();
    let timeout = rest.pop().ok_or(CommandError::Syntax)?;
    let deadline = deadline(&timeout, ctx.now_ms)?;
    let keys = rest.into_iter().map(|k| k.to_vec()).collect();
    Ok((keys, wait(deadline, ctx)))
}

fn blocking(op: BlockingOp, keys: Vec<Vec<u8>>, wait: Wait) -> Command {
    Command::BlockingPop { op, keys, wait }
}

/// `BLPOP key [key ...] timeout`
pub fn blpop(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (keys, wait) = keys_then_timeout(args, ctx)?;
    Ok(blocking(
        BlockingOp::List { end: ListEnd::Left },
        keys,
        wait,
    ))
}

/// `BRPOP key [key ...] timeout`
pub fn brpop(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (keys, wait) = keys_then_timeout(args, ctx)?;
    Ok(blocking(
        BlockingOp::List {
            end: ListEnd::Right,
        },
        keys,
        wait,
    ))
}

/// `BZPOPMIN key [key ...] timeout`
pub fn bzpopmin(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (keys, wait) = keys_then_timeout(args, ctx)?;
    Ok(blocking(BlockingOp::ZSet { end: ZEnd::Min }, keys, wait))
}

/// `BZPOPMAX key [key ...] timeout`
pub fn bzpopmax(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (keys, wait) = keys_then_timeout(args, ctx)?;
    Ok(blocking(BlockingOp::ZSet { end: ZEnd::Max }, keys, wait))
}

/// `BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout`: directions are checked
/// before the timeout, as in Redis.
pub fn blmove(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let src = args.next_vec()?;
    let dst = args.next_vec()?;
    let from = super::list::direction(args)?;
    let to = super::list::direction(args)?;
    let deadline = deadline(&args.next_bytes()?, ctx.now_ms)?;
    args.expect_end()?;
    Ok(blocking(
        BlockingOp::Move { dst, from, to },
        vec![src],
        wait(deadline, ctx),
    ))
}

/// `BRPOPLPUSH source destination timeout`: `BLMOVE source destination RIGHT LEFT`.
pub fn brpoplpush(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let src = args.next_vec()?;
    let dst = args.next_vec()?;
    let deadline = deadline(&args.next_bytes()?, ctx.now_ms)?;
    args.expect_end()?;
    let op = BlockingOp::Move {
        dst,
        from: ListEnd::Right,
        to: ListEnd::Left,
    };
    Ok(blocking(op, vec![src], wait(deadline, ctx)))
}

/// `timeout numkeys key [key ...]` of `BLMPOP`/`BZMPOP`: the timeout is checked first.
fn mpop_keys(args: &mut Args, ctx: &ParseCtx) -> Result<(Vec<Vec<u8>>, Wait), CommandError> {
    let deadline = deadline(&args.next_bytes()?, ctx.now_ms)?;
    let keys = crate::args::mpop_keys(args)?;
    Ok((keys, wait(deadline, ctx)))
}

/// `BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]`
pub fn blmpop(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (keys, wait) = mpop_keys(args, ctx)?;
    let end = super::list::direction(args)?;
    let count = crate::args::mpop_count(args)?;
    Ok(blocking(BlockingOp::ListMulti { end, count }, keys, wait))
}

/// `BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]`
pub fn bzmpop(args: &mut Args, ctx: &ParseCtx) -> Result<Command, CommandError> {
    let (keys, wait) = mpop_keys(args, ctx)?;
    let end = crate::args::min_max(args)?;
    let count = crate::args::mpop_count(args)?;
    Ok(blocking(BlockingOp::ZSetMulti { end, count }, keys, wait))
}

/// The blocking pop commands' rows of the command table ([`crate::table`]), each
/// beside its parser above; values from redis-server 7.0's `COMMAND INFO`/`COMMAND DOCS`.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "blmove",
        arity: 6,
        flags: flags!(WRITE | DENYOOM | NOSCRIPT | BLOCKING),
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: acl!(WRITE | LIST | SLOW | BLOCKING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RW | INSERT), index(2), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Pop an element from a list, push it to another list and return it; or block until one is available",
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
                arg("timeout", T::Double),
            ],
        },
        handler: Handler::Storage(blmove),
    },
    CommandSpec {
        name: "blmpop",
        arity: -5,
        flags: flags!(WRITE | BLOCKING | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(WRITE | LIST | SLOW | BLOCKING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(2), keynum(0, 1, 1)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Pop elements from a list, or block until one is available",
            since: "7.0.0",
            group: "list",
            complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("timeout", T::Double),
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(0).multiple(),
                arg("where", T::OneOf).args(&[
                        arg("left", T::PureToken).token("LEFT"),
                        arg("right", T::PureToken).token("RIGHT"),
                    ]),
                arg("count", T::Integer).token("COUNT").optional(),
            ],
        },
        handler: Handler::Storage(blmpop),
    },
    CommandSpec {
        name: "blpop",
        arity: -3,
        flags: flags!(WRITE | NOSCRIPT | BLOCKING),
        first_key: 1,
        last_key: -2,
        step: 1,
        acl: acl!(WRITE | LIST | SLOW | BLOCKING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(-2, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove and get the first element in a list, or block until one is available",
            since: "2.0.0",
            group: "list",
            complexity: "O(N) where N is the number of provided keys.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("6.0.0", "`timeout` is interpreted as a double instead of an integer."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0).multiple(),
                arg("timeout", T::Double),
            ],
        },
        handler: Handler::Storage(blpop),
    },
    CommandSpec {
        name: "brpop",
        arity: -3,
        flags: flags!(WRITE | NOSCRIPT | BLOCKING),
        first_key: 1,
        last_key: -2,
        step: 1,
        acl: acl!(WRITE | LIST | SLOW | BLOCKING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(-2, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove and get the last element in a list, or block until one is available",
            since: "2.0.0",
            group: "list",
            complexity: "O(N) where N is the number of provided keys.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("6.0.0", "`timeout` is interpreted as a double instead of an integer."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0).multiple(),
                arg("timeout", T::Double),
            ],
        },
        handler: Handler::Storage(brpop),
    },
    CommandSpec {
        name: "brpoplpush",
        arity: 4,
        flags: flags!(WRITE | DENYOOM | NOSCRIPT | BLOCKING),
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: acl!(WRITE | LIST | SLOW | BLOCKING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RW | INSERT), index(2), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Pop an element from a list, push it to another list and return it; or block until one is available",
            since: "2.2.0",
            group: "list",
            complexity: "O(1)",
            doc_flags: &["deprecated"],
            deprecated_since: "6.2.0",
            replaced_by: "`BLMOVE` with the `RIGHT` and `LEFT` arguments",
            history: &[
                ("6.0.0", "`timeout` is interpreted as a double instead of an integer."),
            ],
            arguments: &[
                arg("source", T::Key).key_spec(0),
                arg("destination", T::Key).key_spec(1),
                arg("timeout", T::Double),
            ],
        },
        handler: Handler::Storage(brpoplpush),
    },
    CommandSpec {
        name: "bzmpop",
        arity: -5,
        flags: flags!(WRITE | BLOCKING | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(WRITE | SORTEDSET | SLOW | BLOCKING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(2), keynum(0, 1, 1)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove and return members with scores in a sorted set or block until one is available",
            since: "7.0.0",
            group: "sorted-set",
            complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("timeout", T::Double),
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(0).multiple(),
                arg("where", T::OneOf).args(&[
                        arg("min", T::PureToken).token("MIN"),
                        arg("max", T::PureToken).token("MAX"),
                    ]),
                arg("count", T::Integer).token("COUNT").optional(),
            ],
        },
        handler: Handler::Storage(bzmpop),
    },
    CommandSpec {
        name: "bzpopmax",
        arity: -3,
        flags: flags!(WRITE | NOSCRIPT | BLOCKING | FAST),
        first_key: 1,
        last_key: -2,
        step: 1,
        acl: acl!(WRITE | SORTEDSET | FAST | BLOCKING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(-2, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
            since: "5.0.0",
            group: "sorted-set",
            complexity: "O(log(N)) with N being the number of elements in the sorted set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("6.0.0", "`timeout` is interpreted as a double instead of an integer."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0).multiple(),
                arg("timeout", T::Double),
            ],
        },
        handler: Handler::Storage(bzpopmax),
    },
    CommandSpec {
        name: "bzpopmin",
        arity: -3,
        flags: flags!(WRITE | NOSCRIPT | BLOCKING | FAST),
        first_key: 1,
        last_key: -2,
        step: 1,
        acl: acl!(WRITE | SORTEDSET | FAST | BLOCKING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | DELETE), index(1), range(-2, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
            since: "5.0.0",
            group: "sorted-set",
            complexity: "O(log(N)) with N being the number of elements in the sorted set.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("6.0.0", "`timeout` is interpreted as a double instead of an integer."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0).multiple(),
                arg("timeout", T::Double),
            ],
        },
        handler: Handler::Storage(bzpopmin),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, Parser, NOW};

    fn run(f: Parser, args: &[&str]) -> Result<Command, String> {
        testing::run(f, args).map_err(|e| e.to_string())
    }

    fn deadline_of(r: Result<Command, String>) -> Result<u64, String> {
        match r? {
            Command::BlockingPop { wait, .. } => Ok(wait.deadline_ms),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn timeouts_read_like_redis() {
        let d = |t: &str| deadline(t.as_bytes(), NOW).map_err(|e| e.to_string());
        let not_float = Err("ERR timeout is not a float or out of range".to_owned());
        let negative = Err("ERR timeout is negative".to_owned());
        assert_eq!(d("0"), Ok(0));
        assert_eq!(d("1"), Ok(NOW as u64 + 1000));
        assert_eq!(d("0.05"), Ok(NOW as u64 + 50));
        assert_eq!(d(".25"), Ok(NOW as u64 + 250));
        assert_eq!(d("0x10"), Ok(NOW as u64 + 16_000));
        // Truncated to whole milliseconds: below one is forever, even when negative.
        assert_eq!(d("0.0001"), Ok(0));
        assert_eq!(d("-0.0001"), Ok(0));
        assert_eq!(d("-0"), Ok(0));
        assert_eq!(d("-1"), negative);
        assert_eq!(d("inf"), negative);
        assert_eq!(d("1e400"), negative);
        assert_eq!(d("9999999999999999"), negative);
        assert_eq!(d("x"), not_float);
        assert_eq!(d("nan"), not_float);
        assert_eq!(d(""), not_float);
        assert_eq!(d(" 1"), not_float);
        assert_eq!(d("9223372036000000"), Ok(0));
    }

    #[test]
    fn the_timeout_is_the_last_argument_or_the_first() {
        assert_eq!(
            deadline_of(run(blpop, &["a", "b", "2"])),
            Ok(NOW as u64 + 2000)
        );
        match run(brpop, &["a", "b", "0"]) {
            Ok(Command::BlockingPop { keys, op, wait }) => {
                assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec()]);
                assert_eq!(
                    op,
                    BlockingOp::List {
                        end: ListEnd::Right
                    }
                );
                assert_eq!(wait.since_ms, NOW as u64);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            deadline_of(run(blmpop, &["1", "1", "a", "left"])),
            Ok(NOW as u64 + 1000)
        );
        assert_eq!(
            run(blmpop, &["x", "0", "a", "left"]),
            Err("ERR timeout is not a float or out of range".into())
        );
        assert_eq!(
            run(bzmpop, &["0", "0", "a", "min"]),
            Err("ERR numkeys should be greater than 0".into())
        );
        assert_eq!(
            run(bzmpop, &["0", "5", "a", "min"]),
            Err("ERR syntax error".into())
        );
        assert_eq!(
            run(blmpop, &["0", "1", "a", "left", "count", "0"]),
            Err("ERR count should be greater than 0".into())
        );
    }

    #[test]
    fn blmove_checks_directions_before_the_timeout() {
        assert_eq!(
            run(blmove, &["a", "b", "up", "left", "x"]),
            Err("ERR syntax error".into())
        );
        assert_eq!(
            run(blmove, &["a", "b", "left", "left", "-1"]),
            Err("ERR timeout is negative".into())
        );
        match run(brpoplpush, &["a", "b", "0"]) {
            Ok(Command::BlockingPop { op, keys, .. }) => {
                assert_eq!(keys, vec![b"a".to_vec()]);
                assert_eq!(
                    op,
                    BlockingOp::Move {
                        dst: b"b".to_vec(),
                        from: ListEnd::Right,
                        to: ListEnd::Left
                    }
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
