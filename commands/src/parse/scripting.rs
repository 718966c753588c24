//! Parsers of the scripting commands: `EVAL EVALSHA EVAL_RO EVALSHA_RO` and `SCRIPT LOAD
//! EXISTS FLUSH`, each into a typed [`Command`] storaged runs on its writer (storaged owns
//! the Lua engine and the script cache; see `storaged/src/scripts.rs`).
//!
//! Redis checks `numkeys` before it looks at the script (`EVAL` with a bad `numkeys` and a
//! body that does not compile gets the `numkeys` error), except that `EVALSHA` of a SHA1
//! that is not 40 characters long is `NOSCRIPT` at once (`evalShaCommand`); both orders are
//! kept here.

use tandem_shared::command::FunctionRestorePolicy;
use tandem_shared::Command;

use crate::args::Args;
use crate::args::ParseCtx;
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, keynum, CommandSpec, Doc, Handler, KeySpec};
use crate::{acl, flags, key_flags};

/// Redis's reply to `EVALSHA` of a script it does not hold.
pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// Length of a script's SHA1 in hex.
const SHA_LEN: usize = 40;

/// A script's `KEYS` and `ARGV`.
type KeysAndArgs = (Vec<Vec<u8>>, Vec<Vec<u8>>);

/// Splits `numkeys key... arg...` as `evalGenericCommand` does.
///
/// # Errors
/// `ERR value is not an integer or out of range`, `ERR Number of keys can't be greater
/// than number of args`, `ERR Number of keys can't be negative`.
fn keys_and_args(args: &mut Args) -> Result<KeysAndArgs, CommandError> {
    let numkeys = args.next_i64()?;
    let left = args.remaining();
    if numkeys > left as i64 {
        return Err(CommandError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(CommandError::err("Number of keys can't be negative"));
    }
    let mut rest = args.rest_vecs();
    let argv = rest.split_off(numkeys as usize);
    Ok((rest, argv))
}

fn eval_body(args: &mut Args, read_only: bool) -> Result<Command, CommandError> {
    let body = args.next_vec()?;
    let (keys, args) = keys_and_args(args)?;
    Ok(Command::Eval {
        body,
        keys,
        args,
        read_only,
        caller: None,
    })
}

fn eval_sha(args: &mut Args, read_only: bool) -> Result<Command, CommandError> {
    let sha = args.next_vec()?;
    if sha.len() != SHA_LEN {
        return Err(CommandError::Other(NOSCRIPT.to_owned()));
    }
    let (keys, args) = keys_and_args(args)?;
    Ok(Command::EvalSha {
        sha,
        keys,
        args,
        read_only,
        caller: None,
    })
}

/// `EVAL script numkeys [key ...] [arg ...]`.
pub fn eval(args: &mut Args, _: &ParseCtx) -> Result<Command, CommandError> {
    eval_body(args, false)
}

/// `EVAL_RO script numkeys [key ...] [arg ...]`.
pub fn eval_ro(args: &mut Args, _: &ParseCtx) -> Result<Command, CommandError> {
    eval_body(args, true)
}

/// `EVALSHA sha1 numkeys [key ...] [arg ...]`.
pub fn evalsha(args: &mut Args, _: &ParseCtx) -> Result<Command, CommandError> {
    eval_sha(args, false)
}

/// `EVALSHA_RO sha1 numkeys [key ...] [arg ...]`.
pub fn evalsha_ro(args: &mut Args, _: &ParseCtx) -> Result<Command, CommandError> {
    eval_sha(args, true)
}

/// `SCRIPT LOAD script`, `SCRIPT EXISTS sha1 [sha1 ...]`, `SCRIPT FLUSH [ASYNC|SYNC]`,
/// `SCRIPT HELP`, `SCRIPT KILL`;
/// a subcommand's arity is checked here, against its own row.
///
/// # Errors
/// Redis's texts for an unknown subcommand, a subcommand's wrong arity and a bad FLUSH
/// mode.
pub fn script(args: &mut Args, _: &ParseCtx) -> Result<Command, CommandError> {
    let sub = args.next_bytes()?;
    let container = COMMANDS
        .iter()
        .find(|s| s.name == "script")
        .ok_or(CommandError::Syntax)?;
    let spec = container.checked_subcommand(&sub, args.remaining())?;
    match spec.name {
        "script|load" => Ok(Command::ScriptLoad {
            body: args.next_vec()?,
        }),
        "script|exists" => Ok(Command::ScriptExists {
            shas: args.rest_vecs(),
        }),
        "script|help" => Ok(Command::ScriptHelp),
        "script|kill" => Ok(Command::ScriptKill),
        _ => {
            // FLUSH: at most one of ASYNC|SYNC (its arity is -2).
            let mode_ok = match args.remaining() {
                0 => true,
                1 => args.eat("async") || args.eat("sync"),
                _ => false,
            };
            if mode_ok {
                Ok(Command::ScriptFlush)
            } else {
                Err(CommandError::err(
                    "SCRIPT FLUSH only support SYNC|ASYNC option",
                ))
            }
        }
    }
}

/// `FCALL function numkeys [key ...] [arg ...]` (and `FCALL_RO`): Redis looks the function
/// up before it reads `numkeys`, so only its integer form is taken here.
fn fcall_generic(args: &mut Args, read_only: bool) -> Result<Command, CommandError> {
    let function = args.next_vec()?;
    let numkeys = crate::args::parse_i64(&args.next_bytes()?);
    Ok(Command::FCall {
        function,
        numkeys,
        args: args.rest_vecs(),
        read_only,
        caller: None,
    })
}

/// `FCALL function numkeys [key ...] [arg ...]`.
pub fn fcall(args: &mut Args, _: &ParseCtx) -> Result<Command, CommandError> {
    fcall_generic(args, false)
}

/// `FCALL_RO function numkeys [key ...] [arg ...]`.
pub fn fcall_ro(args: &mut Args, _: &ParseCtx) -> Result<Command, CommandError> {
    fcall_generic(args, true)
}

/// `FUNCTION LOAD [REPLACE] code`, `FUNCTION DELETE library`, `FUNCTION FLUSH
/// [ASYNC|SYNC]`, `FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]`, `FUNCTION DUMP`,
/// `FUNCTION RESTORE`, `FUNCTION STATS`, `FUNCTION KILL`, `FUNCTION HELP`.
///
/// # Errors
/// Redis's texts for an unknown subcommand, a subcommand's wrong arity, and bad options.
pub fn function(args: &mut Args, _: &ParseCtx) -> Result<Command, CommandError> {
    let sub = args.next_bytes()?;
    let container = COMMANDS
        .iter()
        .find(|s| s.name == "function")
        .ok_or(CommandError::Syntax)?;
    let spec = container.checked_subcommand(&sub, args.remaining())?;
    match spec.name {
        "function|load" => {
            let replace = args.remaining() > 1 && args.eat("replace");
            if args.remaining() != 1 {
                let word = args.next_bytes()?;
                return Err(CommandError::err(format!(
                    "Unknown option given: {}",
                    String::from_utf8_lossy(&word)
                )));
            }
            Ok(Command::FunctionLoad {
                code: args.next_vec()?,
                replace,
            })
        }
        "function|delete" => Ok(Command::FunctionDelete {
            library: args.next_vec()?,
        }),
        "function|dump" => Ok(Command::FunctionDump),
        "function|stats" => Ok(Command::FunctionStats),
        "function|kill" => Ok(Command::FunctionKill),
        "function|help" => Ok(Command::FunctionHelp),
        "function|restore" => {
            let payload = args.next_vec()?;
            let policy = match args.remaining() {
                0 => FunctionRestorePolicy::Append,
                1 if args.eat("flush") => FunctionRestorePolicy::Flush,
                1 if args.eat("append") => FunctionRestorePolicy::Append,
                1 if args.eat("replace") => FunctionRestorePolicy::Replace,
                1 => return Err(CommandError::err(
                    "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
                )),
                _ => {
                    return Err(CommandError::err(format!(
                    "unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
                    String::from_utf8_lossy(&sub)
                )))
                }
            };
            Ok(Command::FunctionRestore { payload, policy })
        }
        "function|list" => {
            let (mut pattern, mut with_code) = (None, false);
            while let Some(word) = args.peek().cloned() {
                args.next_bytes()?;
                if word.eq_ignore_ascii_case(b"withcode") && !with_code {
                    with_code = true;
                } else if word.eq_ignore_ascii_case(b"libraryname") && pattern.is_none() {
                    match args.next_vec() {
                        Ok(p) => pattern = Some(p),
                        Err(_) => {
                            return Err(CommandError::err("library name argument was not given"))
                        }
                    }
                } else {
                    return Err(CommandError::err(format!(
                        "Unknown argument {}",
                        String::from_utf8_lossy(&word)
                    )));
                }
            }
            Ok(Command::FunctionList { pattern, with_code })
        }
        _ => {
            // FLUSH: at most one of ASYNC|SYNC (its arity is -2).
            let mode_ok = match args.remaining() {
                0 => true,
                1 => args.eat("async") || args.eat("sync"),
                _ => false,
            };
            if mode_ok {
                Ok(Command::FunctionFlush)
            } else {
                Err(CommandError::err(
                    "FUNCTION FLUSH only supports SYNC|ASYNC option",
                ))
            }
        }
    }
}

/// The scripting rows of the command table ([`crate::table`]), beside their parsers above;
/// values from redis-server 7.0.15's `COMMAND INFO`/`COMMAND DOCS`
/// (`commands/tools/row-from-redis`). `SCRIPT` lists the subcommands tandem implements.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "fcall",
        arity: -3,
        flags: flags!(NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(SLOW | SCRIPTING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE), index(2), keynum(0, 1, 1)).notes("We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Invoke a function",
            since: "7.0.0",
            group: "scripting",
            complexity: "Depends on the function that is executed.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("function", T::String),
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(0).optional().multiple(),
                arg("arg", T::String).optional().multiple(),
            ],
        },
        handler: Handler::Storage(fcall),
    },
    CommandSpec {
        name: "fcall_ro",
        arity: -3,
        flags: flags!(READONLY | NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(SLOW | SCRIPTING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(2), keynum(0, 1, 1)).notes("We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Invoke a read-only function",
            since: "7.0.0",
            group: "scripting",
            complexity: "Depends on the function that is executed.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("function", T::String),
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(0).optional().multiple(),
                arg("arg", T::String).optional().multiple(),
            ],
        },
        handler: Handler::Storage(fcall_ro),
    },
    CommandSpec {
        name: "function",
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
                name: "function|delete",
                arity: 3,
                flags: flags!(WRITE | NOSCRIPT),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(WRITE | SLOW | SCRIPTING),
                tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "Delete a function by name",
                    since: "7.0.0",
                    group: "scripting",
                    complexity: "O(1)",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[
                        arg("library-name", T::String),
                    ],
                },
                handler: Handler::Storage(function),
            },
            CommandSpec {
                name: "function|flush",
                arity: -2,
                flags: flags!(WRITE | NOSCRIPT),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(WRITE | SLOW | SCRIPTING),
                tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "Deleting all functions",
                    since: "7.0.0",
                    group: "scripting",
                    complexity: "O(N) where N is the number of functions deleted",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[
                        arg("async", T::OneOf).optional().args(&[
                                arg("async", T::PureToken).token("ASYNC"),
                                arg("sync", T::PureToken).token("SYNC"),
                            ]),
                    ],
                },
                handler: Handler::Storage(function),
            },
            CommandSpec {
                name: "function|list",
                arity: -2,
                flags: flags!(NOSCRIPT),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(SLOW | SCRIPTING),
                tips: &["nondeterministic_output_order"],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "List information about all the functions",
                    since: "7.0.0",
                    group: "scripting",
                    complexity: "O(N) where N is the number of functions",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[
                        arg("library-name-pattern", T::String).token("LIBRARYNAME").optional(),
                        arg("withcode", T::PureToken).token("WITHCODE").optional(),
                    ],
                },
                handler: Handler::Storage(function),
            },
            CommandSpec {
                name: "function|dump",
                arity: 2,
                flags: flags!(NOSCRIPT),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(SLOW | SCRIPTING),
                tips: &[],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "Dump all functions into a serialized binary payload",
                    since: "7.0.0",
                    group: "scripting",
                    complexity: "O(N) where N is the number of functions",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[],
                },
                handler: Handler::Storage(function),
            },
            CommandSpec {
                name: "function|restore",
                arity: -3,
                flags: flags!(WRITE | DENYOOM | NOSCRIPT),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(WRITE | SLOW | SCRIPTING),
                tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "Restore all the functions on the given payload",
                    since: "7.0.0",
                    group: "scripting",
                    complexity: "O(N) where N is the number of functions on the payload",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[
                        arg("serialized-value", T::String),
                        arg("policy", T::OneOf).optional().args(&[
                                arg("flush", T::PureToken).token("FLUSH"),
                                arg("append", T::PureToken).token("APPEND"),
                                arg("replace", T::PureToken).token("REPLACE"),
                            ]),
                    ],
                },
                handler: Handler::Storage(function),
            },
            CommandSpec {
                name: "function|stats",
                arity: 2,
                flags: flags!(NOSCRIPT | ALLOW_BUSY),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(SLOW | SCRIPTING),
                tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "Return information about the function currently running (name, description, duration)",
                    since: "7.0.0",
                    group: "scripting",
                    complexity: "O(1)",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[],
                },
                handler: Handler::Storage(function),
            },
            CommandSpec {
                name: "function|kill",
                arity: 2,
                flags: flags!(NOSCRIPT | ALLOW_BUSY),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(SLOW | SCRIPTING),
                tips: &["request_policy:all_shards", "response_policy:one_succeeded"],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "Kill the function currently in execution.",
                    since: "7.0.0",
                    group: "scripting",
                    complexity: "O(1)",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[],
                },
                handler: Handler::Storage(function),
            },
            CommandSpec {
                name: "function|help",
                arity: 2,
                flags: flags!(LOADING | STALE),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(SLOW | SCRIPTING),
                tips: &[],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "Show helpful text about the different subcommands",
                    since: "7.0.0",
                    group: "scripting",
                    complexity: "O(1)",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[],
                },
                handler: Handler::Storage(function),
            },
            CommandSpec {
                name: "function|load",
                arity: -3,
                flags: flags!(WRITE | DENYOOM | NOSCRIPT),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(WRITE | SLOW | SCRIPTING),
                tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "Create a function with the given arguments (name, code, description)",
                    since: "7.0.0",
                    group: "scripting",
                    complexity: "O(1) (considering compilation time is redundant)",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[
                        arg("replace", T::PureToken).token("REPLACE").optional(),
                        arg("function-code", T::String),
                    ],
                },
                handler: Handler::Storage(function),
            },
        ],
        doc: Doc {
            summary: "A container for function commands",
            since: "7.0.0",
            group: "scripting",
            complexity: "Depends on subcommand.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[],
        },
        handler: Handler::Storage(function),
    },
    CommandSpec {
        name: "eval",
        arity: -3,
        flags: flags!(NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(SLOW | SCRIPTING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE), index(2), keynum(0, 1, 1)).notes("We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Execute a Lua script server side",
            since: "2.6.0",
            group: "scripting",
            complexity: "Depends on the script that is executed.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("script", T::String),
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(0).optional().multiple(),
                arg("arg", T::String).optional().multiple(),
            ],
        },
        handler: Handler::Storage(eval),
    },
    CommandSpec {
        name: "evalsha",
        arity: -3,
        flags: flags!(NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(SLOW | SCRIPTING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RW | ACCESS | UPDATE), index(2), keynum(0, 1, 1)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Execute a Lua script server side",
            since: "2.6.0",
            group: "scripting",
            complexity: "Depends on the script that is executed.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("sha1", T::String),
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(0).optional().multiple(),
                arg("arg", T::String).optional().multiple(),
            ],
        },
        handler: Handler::Storage(evalsha),
    },
    CommandSpec {
        name: "eval_ro",
        arity: -3,
        flags: flags!(READONLY | NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(SLOW | SCRIPTING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(2), keynum(0, 1, 1)).notes("We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Execute a read-only Lua script server side",
            since: "7.0.0",
            group: "scripting",
            complexity: "Depends on the script that is executed.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("script", T::String),
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(0).optional().multiple(),
                arg("arg", T::String).optional().multiple(),
            ],
        },
        handler: Handler::Storage(eval_ro),
    },
    CommandSpec {
        name: "evalsha_ro",
        arity: -3,
        flags: flags!(READONLY | NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLEKEYS),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(SLOW | SCRIPTING),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(2), keynum(0, 1, 1)),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Execute a read-only Lua script server side",
            since: "7.0.0",
            group: "scripting",
            complexity: "Depends on the script that is executed.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("sha1", T::String),
                arg("numkeys", T::Integer),
                arg("key", T::Key).key_spec(0).optional().multiple(),
                arg("arg", T::String).optional().multiple(),
            ],
        },
        handler: Handler::Storage(evalsha_ro),
    },
    CommandSpec {
        name: "script",
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
                name: "script|load",
                arity: 3,
                flags: flags!(NOSCRIPT | STALE),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(SLOW | SCRIPTING),
                tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "Load the specified Lua script into the script cache.",
                    since: "2.6.0",
                    group: "scripting",
                    complexity: "O(N) with N being the length in bytes of the script body.",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[
                        arg("script", T::String),
                    ],
                },
                handler: Handler::Storage(script),
            },
            CommandSpec {
                name: "script|exists",
                arity: -3,
                flags: flags!(NOSCRIPT),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(SLOW | SCRIPTING),
                tips: &["request_policy:all_shards", "response_policy:agg_logical_and"],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "Check existence of scripts in the script cache.",
                    since: "2.6.0",
                    group: "scripting",
                    complexity: "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[
                        arg("sha1", T::String).multiple(),
                    ],
                },
                handler: Handler::Storage(script),
            },
            CommandSpec {
                name: "script|flush",
                arity: -2,
                flags: flags!(NOSCRIPT),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(SLOW | SCRIPTING),
                tips: &["request_policy:all_nodes", "response_policy:all_succeeded"],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "Remove all the scripts from the script cache.",
                    since: "2.6.0",
                    group: "scripting",
                    complexity: "O(N) with N being the number of scripts in cache",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[
                        ("6.2.0", "Added the `ASYNC` and `SYNC` flushing mode modifiers."),
                    ],
                    arguments: &[
                        arg("async", T::OneOf).since("6.2.0").optional().args(&[
                                arg("async", T::PureToken).token("ASYNC"),
                                arg("sync", T::PureToken).token("SYNC"),
                            ]),
                    ],
                },
                handler: Handler::Storage(script),
            },
            CommandSpec {
                name: "script|help",
                arity: 2,
                flags: flags!(LOADING | STALE),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(SLOW | SCRIPTING),
                tips: &[],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "Show helpful text about the different subcommands",
                    since: "5.0.0",
                    group: "scripting",
                    complexity: "O(1)",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[],
                },
                handler: Handler::Storage(script),
            },
            CommandSpec {
                name: "script|kill",
                arity: 2,
                flags: flags!(NOSCRIPT | ALLOW_BUSY),
                first_key: 0,
                last_key: 0,
                step: 0,
                acl: acl!(SLOW | SCRIPTING),
                tips: &["request_policy:all_shards", "response_policy:one_succeeded"],
                key_specs: &[],
                subcommands: &[],
                doc: Doc {
                    summary: "Kill the script currently in execution.",
                    since: "2.6.0",
                    group: "scripting",
                    complexity: "O(1)",
                    doc_flags: &[],
                    deprecated_since: "",
                    replaced_by: "",
                    history: &[],
                    arguments: &[],
                },
                handler: Handler::Storage(script),
            },
        ],
        doc: Doc {
            summary: "A container for Lua scripts management commands",
            since: "2.6.0",
            group: "scripting",
            complexity: "Depends on subcommand.",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[],
        },
        handler: Handler::Storage(script),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{err, run};

    #[test]
    fn numkeys_splits_keys_from_args() {
        assert_eq!(
            run(eval, &["return 1", "2", "a", "b", "x"]).unwrap(),
            Command::Eval {
                body: b"return 1".to_vec(),
                keys: vec![b"a".to_vec(), b"b".to_vec()],
                args: vec![b"x".to_vec()],
                read_only: false,
                caller: None,
            }
        );
        let sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";
        assert_eq!(
            run(evalsha_ro, &[sha, "0", "x"]).unwrap(),
            Command::EvalSha {
                sha: sha.as_bytes().to_vec(),
                keys: vec![],
                args: vec![b"x".to_vec()],
                read_only: true,
                caller: None,
            }
        );
    }

    #[test]
    fn numkeys_errors_are_redis_texts_in_redis_order() {
        assert_eq!(
            err(eval, &["return +", "-1"]),
            "ERR Number of keys can't be negative"
        );
        assert_eq!(
            err(eval, &["return 1", "2", "a"]),
            "ERR Number of keys can't be greater than number of args"
        );
        assert_eq!(
            err(eval_ro, &["return 1", "x"]),
            "ERR value is not an integer or out of range"
        );
        // A SHA1 of the wrong length is NOSCRIPT before numkeys is read.
        assert_eq!(err(evalsha, &["abc", "x"]), NOSCRIPT);
        assert_eq!(
            err(evalsha, &["0000000000000000000000000000000000000000", "-1"]),
            "ERR Number of keys can't be negative"
        );
    }

    #[test]
    fn script_subcommands_and_their_errors() {
        assert_eq!(
            run(script, &["LOAD", "return 1"]).unwrap(),
            Command::ScriptLoad {
                body: b"return 1".to_vec()
            }
        );
        assert_eq!(
            run(script, &["exists", "a", "b"]).unwrap(),
            Command::ScriptExists {
                shas: vec![b"a".to_vec(), b"b".to_vec()]
            }
        );
        assert_eq!(run(script, &["flush"]).unwrap(), Command::ScriptFlush);
        assert_eq!(run(script, &["help"]).unwrap(), Command::ScriptHelp);
        assert_eq!(run(script, &["KILL"]).unwrap(), Command::ScriptKill);
        assert_eq!(
            run(script, &["flush", "ASYNC"]).unwrap(),
            Command::ScriptFlush
        );
        assert_eq!(
            err(script, &["flush", "async", "sync"]),
            "ERR SCRIPT FLUSH only support SYNC|ASYNC option"
        );
        assert_eq!(
            err(script, &["flush", "x"]),
            "ERR SCRIPT FLUSH only support SYNC|ASYNC option"
        );
        assert_eq!(
            err(script, &["load"]),
            "ERR wrong number of arguments for 'script|load' command"
        );
        assert_eq!(
            err(script, &["exists"]),
            "ERR wrong number of arguments for 'script|exists' command"
        );
        assert_eq!(
            err(script, &["Foo"]),
            "ERR unknown subcommand 'Foo'. Try SCRIPT HELP."
        );
    }
}
