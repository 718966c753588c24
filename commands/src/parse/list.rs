//! Parsers for the list commands (`LPUSH`, `LPOP`, `LRANGE`, `LPOS`, `LMOVE`, `LMPOP` …).
//!
//! Each parser turns arguments whose count the table already checked into a typed
//! [`Command`], raising the errors Redis raises before it looks at the key (non-integer
//! indexes, a negative pop count, `LPOS`'s zero rank, bad directions). Whatever depends on
//! stored data (`WRONGTYPE`, `LSET`'s missing key and out-of-range index) is storaged's to
//! report.

use tandem_shared::command::ListEnd;
use tandem_shared::Command;

use super::ParseCtx;
use crate::args::{parse_i64, Args};
use crate::error::CommandError;

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
