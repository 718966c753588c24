//! Test support for the command parsers: one parse context and one way to run a parser on
//! words, shared by every command module's tests.

use bytes::Bytes;
use tandem_shared::Command;

use crate::args::Args;
use crate::args::ParseCtx;
use crate::error::CommandError;

/// The clock the parser tests run at (relative expiries are made absolute against it).
pub const NOW: i64 = 1_700_000_000_000;

pub type Parser = fn(&mut Args, &ParseCtx) -> Result<Command, CommandError>;

/// Database 0 at [`NOW`], default limits.
pub fn ctx() -> ParseCtx {
    ParseCtx {
        now_ms: NOW,
        proto_max_bulk_len: 512 * 1024 * 1024,
        db: 0,
    }
}

/// Runs `f` on `argv` (the words after the command name) in `ctx`.
pub fn run_in(f: Parser, argv: &[&str], ctx: ParseCtx) -> Result<Command, CommandError> {
    let mut args = Args::new(
        argv.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect(),
    );
    f(&mut args, &ctx)
}

/// Runs `f` on `argv` in [`ctx`].
pub fn run(f: Parser, argv: &[&str]) -> Result<Command, CommandError> {
    run_in(f, argv, ctx())
}

/// The error text `f` gives for `argv`; panics if it parses.
pub fn err(f: Parser, argv: &[&str]) -> String {
    match run(f, argv) {
        Ok(c) => panic!("{argv:?} parsed as {c:?}"),
        Err(e) => e.to_string(),
    }
}
