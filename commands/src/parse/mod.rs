//! The parsers: one file per command family, each turning a storage command's arguments
//! (arity already checked against the table) into a typed [`Command`]. Each family file
//! also declares its commands' table rows (its `COMMANDS`), so a command's declaration sits
//! beside its parser; [`crate::table`] joins them.
//!
//! Parsers hold no state and never look at data: they resolve options, make relative
//! times absolute from [`ParseCtx::now_ms`] and answer syntax errors with Redis 7's texts.
//! Errors that depend on a key's value or type are storaged's to produce.

pub mod blocking;
pub mod hash;
pub mod keys;
pub mod list;
pub mod pubsub;
pub mod set;
pub mod string;
pub mod zset;

use tandem_shared::Command;

use crate::args::Args;
use crate::error::CommandError;

/// What parsing needs to know beyond the arguments.
#[derive(Debug, Clone, Copy)]
pub struct ParseCtx {
    /// Current unix time in milliseconds, for turning `EX`/`PX`/`EXPIRE` into absolute times.
    pub now_ms: i64,
    /// `proto-max-bulk-len`: the largest string `SETRANGE`/`APPEND` may build.
    pub proto_max_bulk_len: u64,
    /// The client's selected database.
    pub db: u8,
}

/// Turns validated-arity arguments (after the name) into a typed command.
pub type StorageParser = fn(&mut Args, &ParseCtx) -> Result<Command, CommandError>;
