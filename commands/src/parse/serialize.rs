//! DUMP and RESTORE. The parser checks RESTORE's options as Redis's `restoreCommand` does,
//! left to right, before it looks at the key (`REPLACE`, `ABSTTL`, `IDLETIME` and `FREQ`
//! with their range errors, `IDLETIME` and `FREQ` exclusive); the TTL is checked after the
//! BUSYKEY test in Redis, so it travels unparsed-as-error (`None`) for storaged to report.
//! The payload, its checksum and its value are storaged's (`storaged/src/rdb/`).

use tandem_shared::Command;

use crate::args::{parse_i64, Args, ParseCtx};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, range, CommandSpec, Doc, Handler, KeySpec};
use crate::{acl, flags, key_flags};

/// `DUMP key`
pub fn dump(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    args.expect_end()?;
    Ok(Command::Dump { key })
}

/// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]`
pub fn restore(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let ttl = parse_i64(&args.next_bytes()?);
    let payload = args.next_vec()?;
    let (mut replace, mut absttl) = (false, false);
    let (mut idle_given, mut freq_given) = (false, false);
    while let Some(word) = args.peek().cloned() {
        let left = args.remaining() - 1;
        args.next_bytes()?;
        let is = |w: &str| word.eq_ignore_ascii_case(w.as_bytes());
        if is("replace") {
            replace = true;
        } else if is("absttl") {
            absttl = true;
        } else if is("idletime") && left >= 1 && !freq_given {
            if args.next_i64()? < 0 {
                return Err(CommandError::err("Invalid IDLETIME value, must be >= 0"));
            }
            idle_given = true;
        } else if is("freq") && left >= 1 && !idle_given {
            if !(0..=255).contains(&args.next_i64()?) {
                return Err(CommandError::err(
                    "Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq_given = true;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok(Command::Restore {
        key,
        ttl,
        payload,
        replace,
        absttl,
    })
}

/// Rows of DUMP and RESTORE, from redis-server 7.0's `COMMAND INFO`/`DOCS`
/// (`commands/tools/row-from-redis`).
pub static COMMANDS: &[CommandSpec] = &[
    // From redis-server 7.0.15.
    CommandSpec {
        name: "dump",
        arity: 2,
        flags: flags!(READONLY),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(KEYSPACE | READ | SLOW),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Return a serialized version of the value stored at the specified key.",
            since: "2.6.0",
            group: "generic",
            complexity: "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
            ],
        },
        handler: Handler::Storage(dump),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "restore",
        arity: -4,
        flags: flags!(WRITE | DENYOOM),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(KEYSPACE | WRITE | SLOW | DANGEROUS),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(OW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Create a key using the provided serialized value, previously obtained using DUMP.",
            since: "2.6.0",
            group: "generic",
            complexity: "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("3.0.0", "Added the `REPLACE` modifier."),
                ("5.0.0", "Added the `ABSTTL` modifier."),
                ("5.0.0", "Added the `IDLETIME` and `FREQ` options."),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("ttl", T::Integer),
                arg("serialized-value", T::String),
                arg("replace", T::PureToken).token("REPLACE").since("3.0.0").optional(),
                arg("absttl", T::PureToken).token("ABSTTL").since("5.0.0").optional(),
                arg("seconds", T::Integer).token("IDLETIME").since("5.0.0").optional(),
                arg("frequency", T::Integer).token("FREQ").since("5.0.0").optional(),
            ],
        },
        handler: Handler::Storage(restore),
    },
];

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn run(
        f: fn(&mut Args, &ParseCtx) -> Result<Command, CommandError>,
        argv: &[&str],
    ) -> Result<Command, CommandError> {
        let mut args = Args::new(
            argv.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect(),
        );
        let ctx = ParseCtx {
            now_ms: 0,
            proto_max_bulk_len: 512 * 1024 * 1024,
            db: 0,
        };
        f(&mut args, &ctx)
    }

    #[test]
    fn dump_takes_one_key() {
        assert_eq!(run(dump, &["k"]), Ok(Command::Dump { key: b"k".to_vec() }));
    }

    #[test]
    fn restore_options() {
        assert_eq!(
            run(
                restore,
                &["k", "100", "p", "replace", "ABSTTL", "IDLETIME", "5", "idletime", "0"]
            ),
            Ok(Command::Restore {
                key: b"k".to_vec(),
                ttl: Some(100),
                payload: b"p".to_vec(),
                replace: true,
                absttl: true,
            })
        );
        assert!(matches!(
            run(restore, &["k", "x", "p", "FREQ", "255"]),
            Ok(Command::Restore {
                ttl: None,
                replace: false,
                ..
            })
        ));
    }

    #[test]
    fn restore_errors_as_redis() {
        let err = |argv: &[&str]| run(restore, argv).unwrap_err().to_string();
        assert_eq!(err(&["k", "0", "p", "bogus"]), "ERR syntax error");
        assert_eq!(err(&["k", "0", "p", "IDLETIME"]), "ERR syntax error");
        assert_eq!(
            err(&["k", "0", "p", "IDLETIME", "-1"]),
            "ERR Invalid IDLETIME value, must be >= 0"
        );
        assert_eq!(
            err(&["k", "0", "p", "IDLETIME", "x"]),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            err(&["k", "0", "p", "FREQ", "256"]),
            "ERR Invalid FREQ value, must be >= 0 and <= 255"
        );
        assert_eq!(
            err(&["k", "0", "p", "FREQ", "1", "IDLETIME", "1"]),
            "ERR syntax error"
        );
        assert_eq!(
            err(&["k", "0", "p", "IDLETIME", "1", "FREQ", "1"]),
            "ERR syntax error"
        );
    }
}
