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
//! - [`dump`]: the `FUNCTION DUMP`/`RESTORE` payload (RDB records, CRC64, LZF).
//! - [`listing`]: the `FUNCTION LIST` and `FUNCTION STATS` replies.
//! - `libs`: Redis's bundled C libraries, rewritten in Rust (see its docs for why).
//!
//! # How storaged runs a script
//!
//! ```
//! use tandem_scripting::{CommandRunner, Resp, ScriptEngine, ScriptFlags};
//! use tandem_shared::Reply;
//!
//! /// storaged's runner parses each `redis.call` with the command registry and executes it
//! /// in the script's batch; this one only answers PING.
//! struct Runner;
//! impl CommandRunner for Runner {
//!     fn call(&mut self, args: Vec<Vec<u8>>, _resp: Resp) -> Reply {
//!         match args[0].to_ascii_lowercase().as_slice() {
//!             b"ping" => Reply::Simple("PONG".into()),
//!             _ => Reply::Error("ERR Unknown Redis command called from script".into()),
//!         }
//!     }
//!     fn acl_check(&mut self, _args: &[Vec<u8>]) -> Option<bool> {
//!         Some(true)
//!     }
//! }
//!
//! let mut engine = ScriptEngine::new()?;
//! // SCRIPT LOAD (or EVAL's first step): compile, cache, read the shebang flags.
//! let (sha, flags) = engine.load_script(b"#!lua flags=no-writes\nreturn redis.call('ping')")?;
//! assert!(flags.contains(ScriptFlags::NO_WRITES)); // EVAL_RO and read-only routing
//! // EVALSHA: the runner is handed back with the reply (it holds the script's writes).
//! let none: &[&[u8]] = &[];
//! let (reply, _runner) = engine.eval_sha(&sha, none, none, Runner);
//! assert_eq!(reply, Reply::Simple("PONG".into()));
//!
//! // FUNCTION LOAD, then FCALL.
//! engine.load_library(b"#!lua name=lib\nredis.register_function('f', function(keys, args) return #keys end)", false)?;
//! let (reply, _runner) = engine.fcall("f", &[b"k".to_vec()], &[], Runner);
//! assert_eq!(reply, Reply::Integer(1));
//! # Ok::<(), tandem_scripting::ScriptError>(())
//! ```
//!
//! # Where tandem differs from redis-server 7.0.15 (each on purpose or forced by mlua)
//!
//! - A verbatim string's format is always `txt`: `tandem_shared::Reply::Verbatim` carries
//!   no format.
//! - Nesting stops at 1000 levels (replies, cjson, cmsgpack) where Redis reaches ~8000, one
//!   unpack returns at most 4000 values, and a call with ~8000 string arguments fails: mlua
//!   panics when its ~8000 handle slots run out, so the limits stay below that (a panic that
//!   still happens fails the script, not the thread).
//! - mlua turns numbers within `f64::EPSILON` of an integer into integers on their way to
//!   Rust, so `-0` and magnitudes below ~2.2e-16 reach `redis.call` and the libraries as 0.
//! - An error raised from a tail call to one of the sandbox's Lua wrappers (`return
//!   pairs(nil)`) has no line; Redis's originals are C functions and keep the caller's frame.
//! - `error({})` (an error table without `err`) crashes redis-server 7.0.15; tandem replies
//!   an error saying so.
//! - `FUNCTION DUMP` and `FUNCTION LIST` take libraries by name and a library's functions
//!   in registration order (Redis: its hash tables' order); DUMP writes code uncompressed
//!   (Redis: LZF when it saves 4 bytes), and either server restores the other's. When a
//!   `FUNCTION RESTORE` payload conflicts with several loaded libraries, the error names the
//!   first in the payload (Redis: the first in its hash table).
//! - A script's memory can be capped ([`ScriptEngine::set_memory_limit`]); Redis has no cap.
//! - `FUNCTION STATS` shows a running function's command as `fcall`/`fcall_ro` in lower case
//!   (storaged gets the parsed command, not the client's words; Redis: as the client sent it).
//! - From a script (storaged's runner), `INFO` gives storaged's sections only (the proxies'
//!   `server`/`clients` are theirs), and `MEMORY DOCTOR|MALLOC-STATS|HELP`, `PUBSUB HELP`,
//!   `CLIENT HELP` and `CONFIG HELP`, which Redis allows, answer that tandem does not support
//!   them from scripts.
//!
//! `SCRIPT KILL`/`FUNCTION KILL` go through a [`KillHandle`] (cloned out of the engine, usable
//! from any thread); Redis's refusal to kill a script that has written is the caller's check.

pub mod body;
pub mod convert;
pub mod dump;
pub mod engine;
mod error;
pub mod format;
mod libs;
pub mod listing;
mod raise;
pub mod rand48;

pub use body::{sha1_hex, ScriptFlags};
pub use convert::Resp;
pub use engine::{
    BusyTick, CommandRunner, FunctionInfo, KillHandle, LibraryInfo, LogLevel, LogSink,
    RestorePolicy, ScriptEngine,
};
pub use error::ScriptError;

#[cfg(test)]
mod tests;
