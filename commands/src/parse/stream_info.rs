//! Parsers for the stream introspection and claiming commands (`XINFO STREAM|GROUPS|
//! CONSUMERS|HELP`, `XCLAIM`, `XAUTOCLAIM`), issue 16, and their table rows.
//!
//! Each parser ports its Redis 7.0 argument walk (`t_stream.c`). `XINFO STREAM`'s options
//! and every argument of `XCLAIM` are checked by Redis only after the key (and group)
//! lookups, so their errors travel inside the command as the full error text and storaged
//! answers them in Redis's order; `XAUTOCLAIM` checks its arguments first, so its errors
//! are answered here. Ids use the stream family's rules ([`super::stream::parse_id`]).

use tandem_shared::command::{StreamId, XClaimTime};
use tandem_shared::Command;

use super::stream::{invalid_id, next_id, parse_id, ParsedId};
use crate::args::{parse_i64, Args, ParseCtx};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, range, CommandSpec, Doc, Handler, KeySpec};
use crate::{acl, flags, key_flags};

/// `XINFO STREAM`'s entries and pending entries shown without `COUNT` (Redis's default,
/// "so we don't block the server").
pub const XINFO_DEFAULT_COUNT: u64 = 10;

/// `XAUTOCLAIM`'s `COUNT` without the option.
pub const XAUTOCLAIM_DEFAULT_COUNT: u64 = 100;

/// The largest `XAUTOCLAIM COUNT`: Redis 7.0's `LONG_MAX / max(sizeof(streamID), 10)`, so
/// its scan budget (`COUNT` × 10) and deleted-id buffer cannot overflow.
pub const XAUTOCLAIM_MAX_COUNT: u64 = (i64::MAX as u64) / 16;

/// The argument as C's `strcasecmp` and `%s` see it: up to the first NUL byte.
fn c_str(arg: &[u8]) -> &[u8] {
    match arg.iter().position(|&b| b == 0) {
        Some(end) => &arg[..end],
        None => arg,
    }
}

fn is(arg: &[u8], word: &str) -> bool {
    c_str(arg).eq_ignore_ascii_case(word.as_bytes())
}

/// A strict id (no `-`/`+`), sequence 0 when missing: `streamParseStrictIDOrReply`.
fn strict(arg: &[u8]) -> Option<StreamId> {
    match parse_id(arg, 0, true, false) {
        Some(ParsedId::Id(id)) => Some(id),
        _ => None,
    }
}

/// `XINFO STREAM|GROUPS|CONSUMERS|HELP`. The subcommand and its arity are checked against
/// the table; `STREAM`'s options travel unchecked-by-lookup (see [`Command::XInfoStream`]).
///
/// # Errors
/// Redis's texts for an unknown subcommand or a subcommand's arity.
pub fn xinfo(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let sub = args.next_bytes()?;
    let container = COMMANDS
        .iter()
        .find(|s| s.name == "xinfo")
        .ok_or(CommandError::Syntax)?;
    let spec = container.checked_subcommand(&sub, args.remaining())?;
    match spec.name {
        "xinfo|help" => Ok(Command::XInfoHelp),
        "xinfo|groups" => Ok(Command::XInfoGroups {
            key: args.next_vec()?,
        }),
        "xinfo|consumers" => {
            let key = args.next_vec()?;
            let group = args.next_vec()?;
            Ok(Command::XInfoConsumers { key, group })
        }
        _ => {
            let key = args.next_vec()?;
            let opts = args.rest();
            let (full, count, error) = xinfo_stream_options(&sub, &opts);
            Ok(Command::XInfoStream {
                key,
                full,
                count,
                error,
            })
        }
    }
}

/// `xinfoReplyWithStreamInfo`'s option walk: nothing, `FULL` or `FULL COUNT n` (a
/// negative `n` is the default, 0 everything). Returns `(full, count, error)`.
fn xinfo_stream_options(sub: &[u8], opts: &[bytes::Bytes]) -> (bool, u64, Option<String>) {
    let syntax = || {
        Some(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try XINFO HELP.",
            String::from_utf8_lossy(c_str(sub))
        ))
    };
    if opts.is_empty() {
        return (false, XINFO_DEFAULT_COUNT, None);
    }
    if (opts.len() != 1 && opts.len() != 3) || !is(&opts[0], "full") {
        return (false, XINFO_DEFAULT_COUNT, syntax());
    }
    if opts.len() == 1 {
        return (true, XINFO_DEFAULT_COUNT, None);
    }
    if !is(&opts[1], "count") {
        return (true, XINFO_DEFAULT_COUNT, syntax());
    }
    match parse_i64(&opts[2]) {
        None => (
            true,
            XINFO_DEFAULT_COUNT,
            Some(CommandError::NotInteger.to_string()),
        ),
        Some(n) => (true, u64::try_from(n).unwrap_or(XINFO_DEFAULT_COUNT), None),
    }
}

/// `XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms] [RETRYCOUNT n]
/// [FORCE] [JUSTID] [LASTID id]`: Redis's walk (ids up to the first argument that is not
/// one, then options, the last `IDLE`/`TIME` winning). The first error found travels in the
/// command, since Redis reports it after the key and group lookups.
///
/// # Errors
/// None of its own (arity was checked centrally).
pub fn xclaim(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let group = args.next_vec()?;
    let consumer = args.next_vec()?;
    let rest = args.rest();
    let mut cmd = XClaimArgs::default();
    let error = cmd.parse(&rest).err().map(|e| e.to_string());
    Ok(Command::XClaim {
        key,
        group,
        consumer,
        min_idle: cmd.min_idle,
        ids: cmd.ids,
        delivery: cmd.delivery,
        retry_count: cmd.retry_count,
        force: cmd.force,
        justid: cmd.justid,
        last_id: cmd.last_id,
        error,
    })
}

/// `XCLAIM`'s arguments after the consumer.
struct XClaimArgs {
    min_idle: u64,
    ids: Vec<StreamId>,
    delivery: XClaimTime,
    retry_count: Option<u64>,
    force: bool,
    justid: bool,
    last_id: StreamId,
}

impl Default for XClaimArgs {
    fn default() -> XClaimArgs {
        XClaimArgs {
            min_idle: 0,
            ids: Vec::new(),
            delivery: XClaimTime::Now,
            retry_count: None,
            force: false,
            justid: false,
            last_id: StreamId::default(),
        }
    }
}

impl XClaimArgs {
    fn parse(&mut self, argv: &[bytes::Bytes]) -> Result<(), CommandError> {
        let number = |arg: &[u8], what: &str| {
            parse_i64(arg)
                .ok_or_else(|| CommandError::err(format!("Invalid {what} argument for XCLAIM")))
        };
        let Some(min_idle) = argv.first() else {
            return Err(CommandError::Syntax);
        };
        self.min_idle = u64::try_from(number(min_idle, "min-idle-time")?).unwrap_or(0);
        let mut j = 1;
        while let Some(id) = argv.get(j).and_then(|a| strict(a)) {
            self.ids.push(id);
            j += 1;
        }
        while j < argv.len() {
            let opt = &argv[j];
            let value = argv.get(j + 1);
            if is(opt, "FORCE") {
                self.force = true;
            } else if is(opt, "JUSTID") {
                self.justid = true;
            } else if let (true, Some(v)) = (is(opt, "IDLE"), value) {
                self.delivery = XClaimTime::Idle(number(v, "IDLE option")?);
                j += 1;
            } else if let (true, Some(v)) = (is(opt, "TIME"), value) {
                self.delivery = XClaimTime::Time(number(v, "TIME option")?);
                j += 1;
            } else if let (true, Some(v)) = (is(opt, "RETRYCOUNT"), value) {
                // Redis keeps a negative count as "not given".
                self.retry_count = u64::try_from(number(v, "RETRYCOUNT option")?).ok();
                j += 1;
            } else if let (true, Some(v)) = (is(opt, "LASTID"), value) {
                self.last_id = strict(v).ok_or_else(invalid_id)?;
                j += 1;
            } else {
                return Err(CommandError::err(format!(
                    "Unrecognized XCLAIM option '{}'",
                    String::from_utf8_lossy(c_str(opt))
                )));
            }
            j += 1;
        }
        Ok(())
    }
}

/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]`: every
/// argument is checked before the key lookup, in Redis's order.
///
/// # Errors
/// Redis's texts for the min idle time, the start id, `COUNT` (not in 1..=
/// [`XAUTOCLAIM_MAX_COUNT`]) and anything else.
pub fn xautoclaim(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let group = args.next_vec()?;
    let consumer = args.next_vec()?;
    let min_idle = parse_i64(&args.next_bytes()?)
        .ok_or_else(|| CommandError::err("Invalid min-idle-time argument for XAUTOCLAIM"))?;
    let start_arg = args.next_bytes()?;
    let start = interval_start(&start_arg)?;
    let mut count = XAUTOCLAIM_DEFAULT_COUNT;
    let mut justid = false;
    let opts = args.rest();
    let mut j = 0;
    while j < opts.len() {
        if is(&opts[j], "COUNT") && j + 1 < opts.len() {
            count = parse_i64(&opts[j + 1])
                .and_then(|n| u64::try_from(n).ok())
                .filter(|n| (1..=XAUTOCLAIM_MAX_COUNT).contains(n))
                .ok_or_else(|| CommandError::err("COUNT must be > 0"))?;
            j += 1;
        } else if is(&opts[j], "JUSTID") {
            justid = true;
        } else {
            return Err(CommandError::Syntax);
        }
        j += 1;
    }
    Ok(Command::XAutoClaim {
        key,
        group,
        consumer,
        min_idle: u64::try_from(min_idle).unwrap_or(0),
        start,
        count,
        justid,
    })
}

/// `streamParseIntervalIDOrReply` for a start (`-`, `+`, `ms`, `ms-seq`, or `(` and a
/// strict id, stepped past).
fn interval_start(arg: &[u8]) -> Result<StreamId, CommandError> {
    if arg.len() > 1 && arg[0] == b'(' {
        let id = strict(&arg[1..]).ok_or_else(invalid_id)?;
        return next_id(id).ok_or_else(|| CommandError::err("invalid start ID for the interval"));
    }
    match parse_id(arg, 0, false, false) {
        Some(ParsedId::Id(id)) => Ok(id),
        _ => Err(invalid_id()),
    }
}

/// The rows of the commands above ([`crate::table`]); values from redis-server 7.0's
/// `COMMAND INFO`/`COMMAND DOCS` (`commands/tools/row-from-redis`).
pub static COMMANDS: &[CommandSpec] = &[
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xautoclaim",
        arity: -6,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STREAM | FAST),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RW | DELETE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.",
            since: "6.2.0",
            group: "stream",
            complexity: "O(1) if COUNT is small.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[
                ("7.0.0", "Added an element to the reply array, containing deleted entries the command cleared from the PEL"),
            ],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("group", T::String),
                arg("consumer", T::String),
                arg("min-idle-time", T::String),
                arg("start", T::String),
                arg("count", T::Integer).token("COUNT").optional(),
                arg("justid", T::PureToken).token("JUSTID").optional(),
            ],
        },
        handler: Handler::Storage(xautoclaim),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xclaim",
        arity: -6,
        flags: flags!(WRITE | FAST),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | STREAM | FAST),
        tips: &["nondeterministic_output"],
        key_specs: &[
            KeySpec::new(key_flags!(RW | UPDATE), index(1), range(0, 1, 0)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.",
            since: "5.0.0",
            group: "stream",
            complexity: "O(log N) with N being the number of messages in the PEL of the consumer group.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("group", T::String),
                arg("consumer", T::String),
                arg("min-idle-time", T::String),
                arg("id", T::String).multiple(),
                arg("ms", T::Integer).token("IDLE").optional(),
                arg("unix-time-milliseconds", T::UnixTime).token("TIME").optional(),
                arg("count", T::Integer).token("RETRYCOUNT").optional(),
                arg("force", T::PureToken).token("FORCE").optional(),
                arg("justid", T::PureToken).token("JUSTID").optional(),
                arg("id", T::String).token("LASTID").optional(),
            ],
        },
        handler: Handler::Storage(xclaim),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "xinfo",
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
                name: "xinfo|consumers",
                arity: 4,
                flags: flags!(READONLY),
                first_key: 2,
                last_key: 2,
                step: 1,
                acl: acl!(READ | STREAM | SLOW),
                tips: &["nondeterministic_output"],
                key_specs: &[
                    KeySpec::new(key_flags!(RO | ACCESS), index(2), range(0, 1, 0)),
                ],
                subcommands: &[],
                doc: Doc {
                    summary: "List the consumers in a consumer group",
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
                    ],
                },
                handler: Handler::Storage(xinfo),
            },
            CommandSpec {
                name: "xinfo|groups",
                arity: 3,
                flags: flags!(READONLY),
                first_key: 2,
                last_key: 2,
                step: 1,
                acl: acl!(READ | STREAM | SLOW),
                tips: &[],
                key_specs: &[
                    KeySpec::new(key_flags!(RO | ACCESS), index(2), range(0, 1, 0)),
                ],
                subcommands: &[],
                doc: Doc {
                    summary: "List the consumer groups of a stream",
                    since: "5.0.0",
                    group: "stream",
                    complexity: "O(1)",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[
                        ("7.0.0", "Added the `entries-read` and `lag` fields"),
                    ],
                    arguments: &[
                        arg("key", T::Key).key_spec(0),
                    ],
                },
                handler: Handler::Storage(xinfo),
            },
            CommandSpec {
                name: "xinfo|help",
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
                handler: Handler::Storage(xinfo),
            },
            CommandSpec {
                name: "xinfo|stream",
                arity: -3,
                flags: flags!(READONLY),
                first_key: 2,
                last_key: 2,
                step: 1,
                acl: acl!(READ | STREAM | SLOW),
                tips: &[],
                key_specs: &[
                    KeySpec::new(key_flags!(RO | ACCESS), index(2), range(0, 1, 0)),
                ],
                subcommands: &[],
                doc: Doc {
                    summary: "Get information about a stream",
                    since: "5.0.0",
                    group: "stream",
                    complexity: "O(1)",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[
                        ("6.0.0", "Added the `FULL` modifier."),
                        ("7.0.0", "Added the `max-deleted-entry-id`, `entries-added`, `recorded-first-entry-id`, `entries-read` and `lag` fields"),
                    ],
                    arguments: &[
                        arg("key", T::Key).key_spec(0),
                        arg("full", T::Block).token("FULL").optional().args(&[
                                arg("count", T::Integer).token("COUNT").optional(),
                            ]),
                    ],
                },
                handler: Handler::Storage(xinfo),
            },
        ],
        doc: Doc {
            summary: "A container for stream introspection commands",
            since: "5.0.0",
            group: "stream",
            complexity: "Depends on subcommand.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[],
        },
        handler: Handler::Storage(xinfo),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{err, run};

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    #[test]
    fn xinfo_stream_options_travel_for_after_the_lookup() {
        let stream = |argv: &[&str]| match run(xinfo, argv) {
            Ok(Command::XInfoStream {
                full, count, error, ..
            }) => (full, count, error),
            other => panic!("{other:?}"),
        };
        assert_eq!(stream(&["STREAM", "s"]), (false, 10, None));
        assert_eq!(stream(&["stream", "s", "full"]), (true, 10, None));
        assert_eq!(
            stream(&["stream", "s", "FULL", "count", "0"]),
            (true, 0, None)
        );
        assert_eq!(
            stream(&["stream", "s", "FULL", "count", "-3"]),
            (true, 10, None)
        );
        assert_eq!(
            stream(&["stream", "s", "FULL", "count", "7"]),
            (true, 7, None)
        );
        let syntax =
            "ERR unknown subcommand or wrong number of arguments for 'Stream'. Try XINFO HELP.";
        assert_eq!(stream(&["Stream", "s", "x"]).2.as_deref(), Some(syntax));
        assert_eq!(
            stream(&["Stream", "s", "full", "count"]).2.as_deref(),
            Some(syntax)
        );
        assert_eq!(
            stream(&["Stream", "s", "full", "limit", "1"]).2.as_deref(),
            Some(syntax)
        );
        assert_eq!(
            stream(&["stream", "s", "full", "count", "x"]).2.as_deref(),
            Some("ERR value is not an integer or out of range")
        );
        assert_eq!(run(xinfo, &["help"]), Ok(Command::XInfoHelp));
        assert_eq!(
            run(xinfo, &["consumers", "s", "g"]),
            Ok(Command::XInfoConsumers {
                key: b"s".to_vec(),
                group: b"g".to_vec()
            })
        );
        assert_eq!(
            err(xinfo, &["groups", "s", "g"]),
            "ERR wrong number of arguments for 'xinfo|groups' command"
        );
        assert_eq!(
            err(xinfo, &["bogus", "s"]),
            "ERR unknown subcommand 'bogus'. Try XINFO HELP."
        );
    }

    fn claim(argv: &[&str]) -> Command {
        match run(xclaim, argv) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    fn claim_error(argv: &[&str]) -> Option<String> {
        match claim(argv) {
            Command::XClaim { error, .. } => error,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn xclaim_ids_then_options_errors_travel() {
        assert_eq!(
            claim(&[
                "s",
                "g",
                "c",
                "-5",
                "1",
                "2-3",
                "IDLE",
                "9",
                "TIME",
                "100",
                "RETRYCOUNT",
                "-1",
                "force",
                "justid",
                "LASTID",
                "7-7"
            ]),
            Command::XClaim {
                key: b"s".to_vec(),
                group: b"g".to_vec(),
                consumer: b"c".to_vec(),
                min_idle: 0,
                ids: vec![id(1, 0), id(2, 3)],
                delivery: XClaimTime::Time(100),
                retry_count: None,
                force: true,
                justid: true,
                last_id: id(7, 7),
                error: None,
            }
        );
        assert_eq!(
            claim_error(&["s", "g", "c", "x", "1"]).as_deref(),
            Some("ERR Invalid min-idle-time argument for XCLAIM")
        );
        assert_eq!(
            claim_error(&["s", "g", "c", "0", "1", "JUSTID", "2"]).as_deref(),
            Some("ERR Unrecognized XCLAIM option '2'")
        );
        assert_eq!(
            claim_error(&["s", "g", "c", "0", "1", "IDLE"]).as_deref(),
            Some("ERR Unrecognized XCLAIM option 'IDLE'")
        );
        assert_eq!(
            claim_error(&["s", "g", "c", "0", "1", "IDLE", "x"]).as_deref(),
            Some("ERR Invalid IDLE option argument for XCLAIM")
        );
        assert_eq!(
            claim_error(&["s", "g", "c", "0", "1", "RETRYCOUNT", "1.5"]).as_deref(),
            Some("ERR Invalid RETRYCOUNT option argument for XCLAIM")
        );
        assert_eq!(
            claim_error(&["s", "g", "c", "0", "-", "LASTID", "+"]).as_deref(),
            Some("ERR Unrecognized XCLAIM option '-'")
        );
        assert_eq!(
            claim_error(&["s", "g", "c", "0", "1", "LASTID", "+"]).as_deref(),
            Some("ERR Invalid stream ID specified as stream command argument")
        );
    }

    #[test]
    fn xautoclaim_checks_everything_before_the_lookup() {
        assert_eq!(
            run(
                xautoclaim,
                &["s", "g", "c", "-1", "(1-5", "count", "3", "JUSTID"]
            ),
            Ok(Command::XAutoClaim {
                key: b"s".to_vec(),
                group: b"g".to_vec(),
                consumer: b"c".to_vec(),
                min_idle: 0,
                start: id(1, 6),
                count: 3,
                justid: true,
            })
        );
        let Ok(Command::XAutoClaim { start, count, .. }) =
            run(xautoclaim, &["s", "g", "c", "0", "-"])
        else {
            panic!("parses");
        };
        assert_eq!((start, count), (id(0, 0), 100));
        assert_eq!(
            err(xautoclaim, &["s", "g", "c", "x", "0"]),
            "ERR Invalid min-idle-time argument for XAUTOCLAIM"
        );
        assert_eq!(
            err(
                xautoclaim,
                &[
                    "s",
                    "g",
                    "c",
                    "0",
                    "(18446744073709551615-18446744073709551615"
                ]
            ),
            "ERR invalid start ID for the interval"
        );
        assert_eq!(
            err(xautoclaim, &["s", "g", "c", "0", "x"]),
            "ERR Invalid stream ID specified as stream command argument"
        );
        for bad in ["0", "-1", "x", "576460752303423488"] {
            assert_eq!(
                err(xautoclaim, &["s", "g", "c", "0", "0", "COUNT", bad]),
                "ERR COUNT must be > 0"
            );
        }
        assert!(run(
            xautoclaim,
            &["s", "g", "c", "0", "0", "COUNT", "576460752303423487"]
        )
        .is_ok());
        assert_eq!(
            err(xautoclaim, &["s", "g", "c", "0", "0", "COUNT"]),
            "ERR syntax error"
        );
    }
}
