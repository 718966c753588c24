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
//!     fn call(&mut self, args: &[Vec<u8>], _resp: Resp) -> Reply {
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
//! let (reply, _runner) = engine.eval_sha(&sha, &[], &[], Runner);
//! assert_eq!(reply, Reply::Simple("PONG".into()));
//!
//! // FUNCTION LOAD, then FCALL.
//! engine.load_library(b"#!lua name=lib\nredis.register_function('f', function(keys, args) return #keys end)", false)?;
//! let (reply, _runner) = engine.fcall("f", &[b"k".to_vec()], &[], Runner);
//! assert_eq!(reply, Reply::Integer(1));
//! # Ok::<(), tandem_scripting::ScriptError>(())
//! ```
//!
//! `SCRIPT KILL`/`FUNCTION KILL` go through a [`KillHandle`] (cloned out of the engine, usable
//! from any thread); Redis's refusal to kill a script that has written is the caller's check.

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
