//! Whole databases (H4): the parser and row of `SWAPDB`. storaged runs it by swapping two
//! entries of its logical → physical database map (`storaged/src/databases.rs`), so the
//! parser's only job is Redis's argument checks, in Redis's order: the first index, the
//! second index (each `getIntFromObjectOrReply`: a `string2ll` integer that fits a C
//! `int`), then the range of both.

use tandem_shared::{Command, DATABASES};

use crate::args::{parse_i64, Args, ParseCtx};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, CommandSpec, Doc, Handler};
use crate::{acl, flags};

/// One SWAPDB index: a 32-bit integer, else `ERR invalid <which> DB index`.
fn index(word: &[u8], which: &str) -> Result<i64, CommandError> {
    parse_i64(word)
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| CommandError::err(format!("invalid {which} DB index")))
}

/// `SWAPDB index1 index2`
pub fn swapdb(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let a = index(&args.next_bytes()?, "first")?;
    let b = index(&args.next_bytes()?, "second")?;
    args.expect_end()?;
    let in_range = |n: i64| u8::try_from(n).ok().filter(|n| *n < DATABASES);
    match (in_range(a), in_range(b)) {
        (Some(a), Some(b)) => Ok(Command::SwapDb { a, b }),
        _ => Err(CommandError::err("DB index is out of range")),
    }
}

pub const COMMANDS: &[CommandSpec] = &[
    // From redis-server 7.0.15.
    CommandSpec {
        name: "swapdb",
        arity: 3,
        flags: flags!(WRITE | FAST),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(KEYSPACE | WRITE | FAST | DANGEROUS),
        tips: &[],
        key_specs: &[],
        subcommands: &[],
        doc: Doc {
            summary: "Swaps two Redis databases",
            since: "4.0.0",
            group: "server",
            complexity: "O(N) where N is the count of clients watching or blocking on keys from both databases.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("index1", T::Integer),
                arg("index2", T::Integer),
            ],
        },
        handler: Handler::Storage(swapdb),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{err, run};

    #[test]
    fn swapdb_takes_two_indexes_below_sixteen() {
        assert_eq!(run(swapdb, &["0", "1"]), Ok(Command::SwapDb { a: 0, b: 1 }));
        assert_eq!(
            run(swapdb, &["15", "15"]),
            Ok(Command::SwapDb { a: 15, b: 15 })
        );
    }

    #[test]
    fn swapdb_errors_come_in_redis_order() {
        // Checked against redis-server 7.0.15.
        assert_eq!(err(swapdb, &["a", "1"]), "ERR invalid first DB index");
        assert_eq!(err(swapdb, &["a", "b"]), "ERR invalid first DB index");
        assert_eq!(err(swapdb, &["0", "b"]), "ERR invalid second DB index");
        assert_eq!(err(swapdb, &["+1", "0"]), "ERR invalid first DB index");
        assert_eq!(err(swapdb, &["01", "0"]), "ERR invalid first DB index");
        assert_eq!(
            err(swapdb, &["99999999999", "0"]),
            "ERR invalid first DB index"
        );
        assert_eq!(
            err(swapdb, &["0", "2147483648"]),
            "ERR invalid second DB index"
        );
        assert_eq!(err(swapdb, &["0", "16"]), "ERR DB index is out of range");
        assert_eq!(err(swapdb, &["-1", "0"]), "ERR DB index is out of range");
        assert_eq!(err(swapdb, &["16", "16"]), "ERR DB index is out of range");
        assert_eq!(
            err(swapdb, &["2147483647", "x"]),
            "ERR invalid second DB index"
        );
    }
}
