//! Lua 5.1 scripting as Redis 7.0 runs it: the sandboxed environment, Redis's Lua libraries,
//! the `redis` API and reply conversion (issue 15).
//!
//! This crate runs Lua and nothing else: no tokio, no storage, no proxy. storaged owns a
//! [`ScriptEngine`] per script thread and passes a [`CommandRunner`] to each run; the runner
//! executes the commands the script issues (inside the script's atomic batch) and owns the
//! script-specific command refusals.
//!
//! - [`engine`]: the Lua state, script cache, function libraries, runs, kill hook.
//! - `sandbox.lua` + [`raise`]: read-only globals and libraries, Redis's error values.
//! - [`convert`]: Lua ↔ [`tandem_shared::Reply`], RESP2 and RESP3.
//! - [`body`]: SHA1, `#!lua` shebang flags, `FUNCTION LOAD` metadata.
//! - `libs`: Redis's bundled C libraries, rewritten in Rust (see its docs for why).

pub mod body;
pub mod convert;
pub mod engine;
mod error;
pub mod format;
mod libs;
mod raise;
pub mod rand48;

pub use body::{sha1_hex, ScriptFlags};
pub use convert::Resp;
pub use engine::{
    CommandRunner, FunctionInfo, KillHandle, LibraryInfo, LogLevel, LogSink, ScriptEngine,
};
pub use error::ScriptError;

#[cfg(test)]
mod tests;
