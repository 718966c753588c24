//! Server commands that storaged answers: SAVE, BGSAVE, LASTSAVE and BGREWRITEAOF. A save is a RocksDB
//! checkpoint in storaged's save directory (`storaged/src/checkpoint.rs`), and its time is
//! storaged's, so every proxy answers LASTSAVE alike. The proxy-local server commands (INFO,
//! ROLE, WAIT …) live in `local.rs`.

use tandem_shared::Command;

use crate::args::{Args, ParseCtx};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, CommandSpec, Doc, Handler};
use crate::{acl, flags};

/// `SAVE`
pub fn save(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    args.expect_end()?;
    Ok(Command::Save)
}

/// `BGSAVE [SCHEDULE]`: any other argument, or more than one, is Redis's syntax error.
pub fn bgsave(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let schedule = match args.remaining() {
        0 => false,
        1 if args.next_bytes()?.eq_ignore_ascii_case(b"schedule") => true,
        _ => return Err(CommandError::Syntax),
    };
    Ok(Command::BgSave { schedule })
}

/// `LASTSAVE`
pub fn lastsave(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    args.expect_end()?;
    Ok(Command::LastSave)
}

/// `BGREWRITEAOF`
pub fn bgrewriteaof(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    args.expect_end()?;
    Ok(Command::BgRewriteAof)
}

pub const COMMANDS: &[CommandSpec] = &[
    // From redis-server 7.0.15.
    CommandSpec {
        name: "save",
        arity: 1,
        flags: flags!(ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(ADMIN | SLOW | DANGEROUS),
        tips: &[],
        key_specs: &[],
        subcommands: &[],
        doc: Doc {
            summary: "Synchronously save the dataset to disk",
            since: "1.0.0",
            group: "server",
            complexity: "O(N) where N is the total number of keys in all databases",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[],
        },
        handler: Handler::Storage(save),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "bgsave",
        arity: -1,
        flags: flags!(ADMIN | NOSCRIPT | NO_ASYNC_LOADING),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(ADMIN | SLOW | DANGEROUS),
        tips: &[],
        key_specs: &[],
        subcommands: &[],
        doc: Doc {
            summary: "Asynchronously save the dataset to disk",
            since: "1.0.0",
            group: "server",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[("3.2.2", "Added the `SCHEDULE` option.")],
            arguments: &[arg("schedule", T::PureToken)
                .token("SCHEDULE")
                .since("3.2.2")
                .optional()],
        },
        handler: Handler::Storage(bgsave),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "lastsave",
        arity: 1,
        flags: flags!(LOADING | STALE | FAST),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(ADMIN | FAST | DANGEROUS),
        tips: &["nondeterministic_output"],
        key_specs: &[],
        subcommands: &[],
        doc: Doc {
            summary: "Get the UNIX time stamp of the last successful save to disk",
            since: "1.0.0",
            group: "server",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[],
        },
        handler: Handler::Storage(lastsave),
    },
    // From redis-server 7.0.15.
    CommandSpec {
        name: "bgrewriteaof",
        arity: 1,
        flags: flags!(ADMIN | NOSCRIPT | NO_ASYNC_LOADING),
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: acl!(ADMIN | SLOW | DANGEROUS),
        tips: &[],
        key_specs: &[],
        subcommands: &[],
        doc: Doc {
            summary: "Asynchronously rewrite the append-only file",
            since: "1.0.0",
            group: "server",
            complexity: "O(1)",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[],
        },
        handler: Handler::Storage(bgrewriteaof),
    },
];
