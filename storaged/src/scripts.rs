//! Lua scripts inside storaged (issue 15): `EVAL`, `EVALSHA`, `FCALL` (and their `_RO`
//! forms), `SCRIPT` and `FUNCTION`, run on the writer thread; read-only ones on the read
//! pool ([`off_writer`], [`run_off_writer`]).
//!
//! Owns the writer's [`ScriptEngine`], the read threads' engines and the persisted script
//! cache. A script on the writer runs inside the request's write group, so no other command
//! interleaves with it and its writes commit in the same WriteBatch as the request's
//! exactly-once record (`crate::dedup`); its commands go through the command registry's
//! parsers and `crate::dispatch`, so they make keyspace events and touch WATCHed keys like
//! any client's. [`ScriptControl`] is what the links see of a running script: the KILL
//! commands, `FUNCTION STATS`, `busy-reply-threshold` and the BUSY refusals of writes that
//! would wait for it. Which thread runs what is the executor's and the writer's business
//! (`crate::executor`, `crate::writer`); this module reads no socket.
//!
//! The script cache outlives storaged and is shared by every proxy: each body a script is
//! first cached from (`SCRIPT LOAD` or `EVAL`) is stored under its SHA1 in the `reqs`
//! column family, at [`SCRIPT_PREFIX`] (far above every remembered reply's key, which
//! starts with its birth time, so the replies' range trims never reach it), in the same
//! group; [`Scripts::start`] compiles them all again. `SCRIPT FLUSH` deletes the range. If
//! a group fails to commit, the in-memory cache may hold a script the disk does not (it
//! then answers `EVALSHA` until the next restart) or have flushed one the disk still holds.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tandem_commands::{lookup, Args, CommandError, CommandSpec, Handler, Local, ParseCtx};
use tandem_scripting::listing::{self, ListOptions, RunningScript};
use tandem_scripting::{
    CommandRunner, KillHandle, LogLevel, Resp, RestorePolicy, ScriptEngine, ScriptError,
    ScriptFlags,
};
use tandem_shared::command::{
    ArchivedCommand, ArchivedFunctionRestorePolicy, ObjectField, ObjectLimits,
};
use tandem_shared::wire::Outcome;
use tandem_shared::{Command, Reply};

use crate::dispatch::execute_write;
use crate::engine::group::{Suspended, WriteGroup, Writer};
use crate::engine::{now_ms, Cf, Engine, StoreRead, StoreWrite};
use crate::pubsub::Hub;
use crate::request::RequestView;

/// Key prefix of the persisted script bodies in [`Cf::Reqs`]: `0xff "script:" sha1-hex`.
pub const SCRIPT_PREFIX: &[u8] = b"\xffscript:";

/// Key prefix of the persisted function libraries in [`Cf::Reqs`]: `0xff "function:"
/// library-name`, the value the code `FUNCTION LOAD` was given.
pub const FUNCTION_PREFIX: &[u8] = b"\xfffunction:";

/// Most memory the Lua state may use. Redis sets none; tandem bounds it so a script that
/// allocates without end gets an error (`not enough memory`) instead of taking storaged's
/// memory, and the engine stays usable for the next script.
pub const LUA_MEMORY_LIMIT: usize = 256 * 1024 * 1024;

/// `proto-max-bulk-len` for commands a script issues: storaged does not know the proxies'
/// setting, so Redis's default bounds what `SETRANGE`/`APPEND` may build.
const PROTO_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;

/// `SCRIPT HELP`'s lines, as redis-server 7.0 lists them (KILL and DEBUG included: the
/// help is Redis's text).
const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

/// Whether `cmd` is one of the scripting commands [`Scripts::execute`] runs.
pub fn claims(cmd: &ArchivedCommand) -> bool {
    matches!(
        cmd,
        ArchivedCommand::Eval { .. }
            | ArchivedCommand::EvalSha { .. }
            | ArchivedCommand::ScriptLoad { .. }
            | ArchivedCommand::ScriptExists { .. }
            | ArchivedCommand::ScriptFlush
            | ArchivedCommand::ScriptHelp
            | ArchivedCommand::ScriptKill
            | ArchivedCommand::FCall { .. }
            | ArchivedCommand::FunctionLoad { .. }
            | ArchivedCommand::FunctionDelete { .. }
            | ArchivedCommand::FunctionFlush
            | ArchivedCommand::FunctionList { .. }
            | ArchivedCommand::FunctionDump
            | ArchivedCommand::FunctionRestore { .. }
            | ArchivedCommand::FunctionStats
            | ArchivedCommand::FunctionKill
            | ArchivedCommand::FunctionHelp
            | ArchivedCommand::BusyReplyThreshold { .. }
    )
}

/// `FUNCTION HELP`'s lines, as redis-server 7.0 lists them.
const FUNCTION_HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
];

/// `SCRIPT KILL`/`FUNCTION KILL`/`FUNCTION STATS`' view of the writer's running script,
/// shared between the writer and the links (they arrive while the writer is busy with the
/// script), and the `busy-reply-threshold` in force.
#[derive(Debug)]
pub struct ScriptControl {
    /// The engine's kill switch, set once the writer has built the engine.
    handle: OnceLock<KillHandle>,
    state: Mutex<RunState>,
    /// `busy-reply-threshold` in milliseconds.
    threshold_ms: AtomicU64,
    /// The proxies' request deadline in milliseconds (`--proxy-request-timeout-ms`).
    proxy_timeout_ms: AtomicU64,
    /// Libraries and functions loaded, for `FUNCTION STATS` answered beside the writer;
    /// the writer updates them after each change.
    counts: Mutex<(i64, i64)>,
    /// What may run off the writer ([`off_writer`]); the writer keeps it current.
    catalog: RwLock<Catalog>,
    /// Read-only scripts running on read-pool threads, for the KILL commands and
    /// `FUNCTION STATS`.
    readers: Mutex<Vec<ReaderRun>>,
    /// Numbers the read-pool runs, to find theirs in `readers`.
    reader_ids: AtomicU64,
}

/// The scripts and functions the read pool may run: persisted scripts by SHA1 (with
/// whether they are flagged `no-writes`), loaded functions by name (the same), and a
/// generation that moves when scripts are flushed or functions change, so each read
/// thread's Lua engine knows to start over.
#[derive(Debug, Default)]
struct Catalog {
    scripts: HashMap<String, bool>,
    functions: HashMap<String, bool>,
    generation: u64,
}

/// One read-only script running on a read-pool thread.
#[derive(Debug)]
struct ReaderRun {
    id: u64,
    kill: KillHandle,
    since: Instant,
    function: Option<RunningFunction>,
}

impl Default for ScriptControl {
    fn default() -> Self {
        ScriptControl {
            handle: OnceLock::new(),
            state: Mutex::new(RunState::default()),
            threshold_ms: AtomicU64::new(BUSY_REPLY_THRESHOLD_MS),
            proxy_timeout_ms: AtomicU64::new(5000),
            counts: Mutex::new((0, 0)),
            catalog: RwLock::new(Catalog::default()),
            readers: Mutex::new(Vec::new()),
            reader_ids: AtomicU64::new(0),
        }
    }
}

#[derive(Debug, Default)]
struct RunState {
    running: bool,
    /// When the running script started.
    since: Option<Instant>,
    /// The running script has run a write command: it can no longer be killed.
    wrote: bool,
    /// A kill was accepted: the script runs no further write.
    killed: bool,
    /// The running function (`FCALL`); `None` for an `EVAL` script.
    function: Option<RunningFunction>,
}

/// What `FUNCTION STATS` says of a running function.
#[derive(Debug, Clone)]
struct RunningFunction {
    name: String,
    command: Vec<Vec<u8>>,
}

/// Redis's `busy-reply-threshold` (`lua-time-limit`) default, in milliseconds: a script
/// running longer makes writes that would queue behind it fail with [`BUSY`] instead.
pub const BUSY_REPLY_THRESHOLD_MS: u64 = 5000;

/// Redis's reply to a command while an `EVAL` script is busy (`shared.slowevalerr`).
pub const BUSY: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";

/// Redis's reply to a command while a function is busy (`shared.slowscripterr`).
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

/// Redis's `SCRIPT KILL` reply when no script runs.
const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";

/// Redis's text for a script killed by `SCRIPT KILL`.
const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

/// Redis's `SCRIPT KILL` reply once the script has written.
const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against \
                          the dataset. You can either wait the script termination or kill the \
                          server in a hard way using the SHUTDOWN NOSAVE command.";

impl ScriptControl {
    /// `SCRIPT KILL` (`eval`) or `FUNCTION KILL`: stops the running script unless it has
    /// written (Redis's `UNKILLABLE`: what it wrote must commit whole, or with `SHUTDOWN
    /// NOSAVE` not at all). Each kills only its own kind, as Redis's `scriptKill`: the other
    /// kind is answered with the BUSY text that names the right command.
    pub fn kill(&self, eval: bool) -> Reply {
        let mut state = self.lock();
        if !state.running {
            drop(state);
            return self.kill_readers(eval);
        }
        if state.wrote {
            return Reply::Error(UNKILLABLE.to_owned());
        }
        match (eval, state.function.is_some()) {
            (true, true) => return Reply::Error(BUSY_FUNCTION.to_owned()),
            (false, false) => return Reply::Error(BUSY.to_owned()),
            _ => {}
        }
        state.killed = true;
        if let Some(handle) = self.handle.get() {
            handle.kill();
        }
        Reply::ok()
    }

    /// KILL with no script on the writer: stops the read-only scripts of that kind running
    /// on the read pool (they never write, so they can always be killed).
    fn kill_readers(&self, eval: bool) -> Reply {
        let readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        let (mine, other): (Vec<_>, Vec<_>) =
            readers.iter().partition(|r| r.function.is_none() == eval);
        if !mine.is_empty() {
            mine.iter().for_each(|r| {
                r.kill.kill();
            });
            return Reply::ok();
        }
        match other.first() {
            None => Reply::Error(NOTBUSY.to_owned()),
            Some(r) if r.function.is_some() => Reply::Error(BUSY_FUNCTION.to_owned()),
            Some(_) => Reply::Error(BUSY.to_owned()),
        }
    }

    /// `FUNCTION STATS` answered beside the writer: the running function, or Redis's BUSY
    /// error while an `EVAL` script runs (`functionStatsCommand`).
    pub fn function_stats(&self) -> Reply {
        let running = {
            let state = self.lock();
            if !state.running {
                let readers = self.readers.lock().unwrap_or_else(|e| e.into_inner());
                readers.iter().find_map(|r| {
                    r.function.as_ref().map(|f| RunningScript {
                        name: f.name.clone(),
                        command: f.command.clone(),
                        duration_ms: i64::try_from(r.since.elapsed().as_millis())
                            .unwrap_or(i64::MAX),
                    })
                })
            } else {
                match &state.function {
                    None => return Reply::Error(BUSY.to_owned()),
                    Some(f) => Some(RunningScript {
                        name: f.name.clone(),
                        command: f.command.clone(),
                        duration_ms: state.since.map_or(0, |t| {
                            i64::try_from(t.elapsed().as_millis()).unwrap_or(i64::MAX)
                        }),
                    }),
                }
            }
        };
        let (libraries, functions) = *self.counts.lock().unwrap_or_else(|e| e.into_inner());
        listing::stats_reply(libraries, functions, running.as_ref())
    }

    /// The `busy-reply-threshold` in force, in milliseconds.
    pub fn threshold_ms(&self) -> u64 {
        self.threshold_ms.load(Ordering::Relaxed)
    }

    /// Sets `busy-reply-threshold` (storaged's config at start, `CONFIG SET` later).
    pub fn set_threshold_ms(&self, ms: u64) {
        self.threshold_ms.store(ms, Ordering::Relaxed);
    }

    /// Sets the proxies' request deadline storaged answers waiting writes within.
    pub fn set_proxy_timeout_ms(&self, ms: u64) {
        self.proxy_timeout_ms.store(ms, Ordering::Relaxed);
    }

    /// Redis's error for a command refused while a script runs past the threshold: the text
    /// names `SCRIPT KILL` or `FUNCTION KILL` after what runs; `None` when nothing does.
    pub fn busy(&self) -> Option<Reply> {
        let threshold = Duration::from_millis(self.threshold_ms());
        let state = self.lock();
        let past = state.running && state.since.is_some_and(|t| t.elapsed() > threshold);
        past.then(|| {
            Reply::Error(
                if state.function.is_some() {
                    BUSY_FUNCTION
                } else {
                    BUSY
                }
                .to_owned(),
            )
        })
    }

    /// After functions changed in the writer's engine: the counts, the catalog's
    /// functions, and a new generation for the read threads.
    fn functions_changed(&self, engine: &ScriptEngine) {
        *self.counts.lock().unwrap_or_else(|e| e.into_inner()) = listing::library_counts(engine);
        let mut catalog = self.catalog_mut();
        catalog.functions = engine
            .libraries()
            .flat_map(|lib| lib.functions.iter())
            .map(|f| (f.name.clone(), f.flags.contains(ScriptFlags::NO_WRITES)))
            .collect();
        catalog.generation += 1;
    }

    fn script_cached(&self, sha: &str, flags: ScriptFlags) {
        self.catalog_mut()
            .scripts
            .insert(sha.to_owned(), flags.contains(ScriptFlags::NO_WRITES));
    }

    fn scripts_flushed(&self) {
        let mut catalog = self.catalog_mut();
        catalog.scripts.clear();
        catalog.generation += 1;
    }

    fn catalog_mut(&self) -> std::sync::RwLockWriteGuard<'_, Catalog> {
        self.catalog.write().unwrap_or_else(|e| e.into_inner())
    }

    fn catalog(&self) -> std::sync::RwLockReadGuard<'_, Catalog> {
        self.catalog.read().unwrap_or_else(|e| e.into_inner())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RunState> {
        // Three flags, each write complete: a panic elsewhere leaves them valid.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn begin(&self, function: Option<RunningFunction>) {
        *self.lock() = RunState {
            running: true,
            since: Some(Instant::now()),
            wrote: false,
            killed: false,
            function,
        };
    }

    fn end(&self) {
        self.lock().running = false;
    }

    /// Called before a script's write: false once a kill was accepted.
    fn may_write(&self) -> bool {
        let mut state = self.lock();
        if state.killed {
            return false;
        }
        state.wrote = true;
        true
    }
}

/// The reply to a request that is one `SCRIPT KILL`, `FUNCTION KILL`, `FUNCTION STATS` or
/// `busy-reply-threshold` get/set, answered beside the writer (which may be running the
/// script: Redis flags these `allow-busy`); `None` for any other request. One of them among
/// other commands (in `MULTI`) runs on the writer, where no script is running.
pub fn kill_request(control: &ScriptControl, req: &RequestView<'_>) -> Option<Reply> {
    match req.commands.as_slice() {
        [ArchivedCommand::ScriptKill] => Some(control.kill(true)),
        [ArchivedCommand::FunctionKill] => Some(control.kill(false)),
        [ArchivedCommand::FunctionStats] => Some(control.function_stats()),
        [ArchivedCommand::BusyReplyThreshold { set_ms }] => Some(threshold(control, set_ms)),
        _ => None,
    }
}

/// `BusyReplyThreshold`: sets the threshold when asked, replies the value in force.
fn threshold(
    control: &ScriptControl,
    set_ms: &rkyv::option::ArchivedOption<rkyv::rend::u64_le>,
) -> Reply {
    if let Some(ms) = set_ms.as_ref() {
        control.set_threshold_ms(ms.to_native());
    }
    Reply::Integer(i64::try_from(control.threshold_ms()).unwrap_or(i64::MAX))
}

/// The BUSY error a write request gets at once rather than queue behind a script running
/// past `busy-reply-threshold` (where it would wait for the script, and past the proxies'
/// deadline); `None` to let it queue. Reads are not refused: they run beside the writer on
/// committed state. Transactions are not refused either (EXEC's reply has its own shape):
/// they queue.
pub fn busy_refusal(control: &ScriptControl, req: &RequestView<'_>) -> Option<Reply> {
    if !refusable(req) {
        return None;
    }
    control.busy()
}

/// Whether a write request may be answered BUSY instead of run: not a transaction (see
/// [`busy_refusal`]), and not a resend (`attempt` > 0), which may have run before the link
/// was lost: its remembered reply, not BUSY, is the truth.
fn refusable(req: &RequestView<'_>) -> bool {
    let transaction = matches!(req.commands.first(), Some(ArchivedCommand::Exec { .. }));
    !transaction && req.attempt == 0
}

/// How often the writer looks at its queue while a script runs, and how long a script
/// runs before it first does (no write can be refused sooner but by its age).
const WAITING_CHECK_EVERY: Duration = Duration::from_millis(10);

impl ScriptControl {
    /// Whether the running script's busy tick should look at the writes waiting for it now
    /// (rate-limited to [`WAITING_CHECK_EVERY`]); updates the time of the last look.
    pub fn time_to_check_waiting(&self, last: &mut Option<Instant>) -> bool {
        let state = self.lock();
        let Some(since) = state.since.filter(|_| state.running) else {
            return false;
        };
        if since.elapsed() < WAITING_CHECK_EVERY
            || last.is_some_and(|t| t.elapsed() < WAITING_CHECK_EVERY)
        {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// The BUSY error for a write that waits in the writer's queue while a script runs,
    /// once the script has run past `busy-reply-threshold` (Redis answers every waiting
    /// client then) or the write has waited so long that its proxy's deadline is near
    /// (4/5 of `proxy-request-timeout-ms` since the proxy queued it): the proxy relays BUSY
    /// rather than time out with the write's outcome unknown. `None`: let it wait.
    pub fn waiting_refusal(&self, req: &RequestView<'_>) -> Option<Reply> {
        if !refusable(req) {
            return None;
        }
        if let Some(busy) = self.busy() {
            return Some(busy);
        }
        let guard = self.proxy_timeout_ms.load(Ordering::Relaxed) * 4 / 5;
        let age = req.key.map(|k| now_ms().saturating_sub(k.born_ms))?;
        if age < guard {
            return None;
        }
        let state = self.lock();
        state.running.then(|| {
            Reply::Error(
                if state.function.is_some() {
                    BUSY_FUNCTION
                } else {
                    BUSY
                }
                .to_owned(),
            )
        })
    }
}

/// The writer's Lua engine and script cache.
pub struct Scripts {
    lua: ScriptEngine,
    /// Kept between runs (a run takes it by value and hands it back).
    runner: Option<Runner>,
    engine: Engine,
    hub: Arc<Hub>,
    control: Arc<ScriptControl>,
}

impl Scripts {
    /// Builds the Lua engine and compiles every persisted script into its cache. Must run on
    /// the thread that will use it (the Lua state stays on one thread).
    ///
    /// # Errors
    /// If the Lua state cannot be created.
    pub fn start(
        engine: Engine,
        hub: Arc<Hub>,
        control: Arc<ScriptControl>,
    ) -> Result<Scripts, ScriptError> {
        let mut lua = ScriptEngine::new()?;
        let _ = control.handle.set(lua.kill_handle());
        lua.set_memory_limit(LUA_MEMORY_LIMIT)?;
        lua.set_log_sink(Box::new(|level, line| {
            let line = String::from_utf8_lossy(line);
            match level {
                LogLevel::Warning => tracing::warn!(target: "script", "{line}"),
                LogLevel::Notice => tracing::info!(target: "script", "{line}"),
                LogLevel::Verbose | LogLevel::Debug => tracing::debug!(target: "script", "{line}"),
            }
        }));
        let mut libraries = Vec::new();
        let end = prefix_end(FUNCTION_PREFIX);
        let scanned = engine.scan(Cf::Reqs, FUNCTION_PREFIX, &end, &mut |_, code| {
            libraries.push(code.to_vec());
            true
        });
        if let Err(e) = scanned {
            tracing::error!(error = %e, "cannot read the persisted functions; starting without them");
        }
        for code in &libraries {
            if let Err(e) = lua.load_library(code, true) {
                tracing::warn!(error = %e.reply_text(), "a persisted function library no longer loads");
            }
        }
        let mut bodies = Vec::new();
        let end = prefix_end(SCRIPT_PREFIX);
        let scanned = engine.scan(Cf::Reqs, SCRIPT_PREFIX, &end, &mut |_, body| {
            bodies.push(body.to_vec());
            true
        });
        if let Err(e) = scanned {
            tracing::error!(error = %e, "cannot read the persisted scripts; starting without them");
        }
        let mut loaded = 0usize;
        for body in &bodies {
            match lua.load_script(body) {
                Ok((sha, flags)) => {
                    control.script_cached(&sha, flags);
                    loaded += 1;
                }
                Err(e) => {
                    tracing::warn!(error = %e.reply_text(), "a persisted script no longer compiles")
                }
            }
        }
        if loaded > 0 {
            tracing::info!(scripts = loaded, "script cache reloaded");
        }
        control.functions_changed(&lua);
        Ok(Scripts {
            lua,
            runner: None,
            engine,
            hub,
            control,
        })
    }

    /// What the engine calls while a script runs (the writer answers waiting writes BUSY
    /// from it: `crate::writer`).
    pub fn set_busy_tick(&mut self, tick: tandem_scripting::BusyTick) {
        self.lua.set_busy_tick(tick);
    }

    /// Runs a scripting command ([`claims`]) in `group`, with `db` selected.
    pub fn execute(
        &mut self,
        group: &mut WriteGroup<'_>,
        db: u8,
        cmd: &ArchivedCommand,
    ) -> Outcome {
        // The ACL user the script's commands are checked against (`crate::acl`).
        let (engine, hub, control) = (&self.engine, &self.hub, &self.control);
        self.runner
            .get_or_insert_with(|| {
                Runner::new(engine.clone(), Arc::clone(hub), Arc::clone(control))
            })
            .caller = crate::acl::Caller::of(cmd);
        let reply = match cmd {
            ArchivedCommand::Eval {
                body,
                keys,
                args,
                read_only,
                ..
            } => match self.cache(group, body.as_slice()) {
                Ok(sha) => self.run(group, db, &sha, keys, args, *read_only),
                Err(e) => Reply::Error(e.reply_text()),
            },
            ArchivedCommand::EvalSha {
                sha,
                keys,
                args,
                read_only,
                ..
            } => {
                let sha = String::from_utf8_lossy(sha.as_slice()).to_ascii_lowercase();
                self.run(group, db, &sha, keys, args, *read_only)
            }
            ArchivedCommand::ScriptLoad { body } => match self.cache(group, body.as_slice()) {
                Ok(sha) => Reply::Bulk(sha.into_bytes()),
                Err(e) => Reply::Error(e.reply_text()),
            },
            ArchivedCommand::ScriptExists { shas } => Reply::Array(
                shas.iter()
                    .map(|sha| {
                        let sha = String::from_utf8_lossy(sha.as_slice());
                        Reply::Integer(i64::from(self.lua.script_exists(&sha)))
                    })
                    .collect(),
            ),
            ArchivedCommand::ScriptFlush => {
                self.lua.flush_scripts();
                self.control.scripts_flushed();
                group.delete_range(Cf::Reqs, SCRIPT_PREFIX.to_vec(), prefix_end(SCRIPT_PREFIX));
                Reply::ok()
            }
            ArchivedCommand::ScriptHelp => Reply::Array(
                SCRIPT_HELP
                    .iter()
                    .map(|line| Reply::Simple((*line).to_owned()))
                    .collect(),
            ),
            ArchivedCommand::FCall {
                function,
                numkeys,
                args,
                read_only,
                ..
            } => {
                let numkeys = numkeys.as_ref().map(|n| n.to_native());
                let function = String::from_utf8_lossy(function.as_slice()).into_owned();
                self.fcall(group, db, &function, numkeys, args, *read_only)
            }
            ArchivedCommand::FunctionLoad { code, replace } => {
                match self.lua.load_library(code.as_slice(), *replace) {
                    Ok(name) => {
                        group.put(Cf::Reqs, function_key(&name), code.as_slice().to_vec());
                        Reply::Bulk(name.into_bytes())
                    }
                    Err(e) => Reply::Error(e.reply_text()),
                }
            }
            ArchivedCommand::FunctionDelete { library } => {
                let name = String::from_utf8_lossy(library.as_slice()).into_owned();
                match self.lua.delete_library(&name) {
                    Ok(()) => {
                        group.delete(Cf::Reqs, function_key(&name));
                        Reply::ok()
                    }
                    Err(e) => Reply::Error(e.reply_text()),
                }
            }
            ArchivedCommand::FunctionFlush => {
                self.lua.flush_functions();
                let end = prefix_end(FUNCTION_PREFIX);
                group.delete_range(Cf::Reqs, FUNCTION_PREFIX.to_vec(), end);
                Reply::ok()
            }
            ArchivedCommand::FunctionList { pattern, with_code } => {
                let options = ListOptions {
                    pattern: pattern.as_ref().map(|p| p.as_slice().to_vec()),
                    with_code: *with_code,
                };
                listing::function_list(&self.lua, &options)
            }
            // Alone these are answered beside the writer (`kill_request`); here they came
            // among other commands (MULTI), so no script is running.
            ArchivedCommand::FunctionStats => listing::function_stats(&self.lua, None),
            ArchivedCommand::FunctionKill => Reply::Error(NOTBUSY.to_owned()),
            ArchivedCommand::FunctionHelp => Reply::Array(
                FUNCTION_HELP
                    .iter()
                    .map(|line| Reply::Simple((*line).to_owned()))
                    .collect(),
            ),
            ArchivedCommand::BusyReplyThreshold { set_ms } => threshold(&self.control, set_ms),
            ArchivedCommand::FunctionDump => Reply::Bulk(self.lua.dump_functions()),
            ArchivedCommand::FunctionRestore { payload, policy } => {
                let policy = match policy {
                    ArchivedFunctionRestorePolicy::Flush => RestorePolicy::Flush,
                    ArchivedFunctionRestorePolicy::Append => RestorePolicy::Append,
                    ArchivedFunctionRestorePolicy::Replace => RestorePolicy::Replace,
                };
                match self.lua.restore_functions(payload.as_slice(), policy) {
                    Ok(()) => {
                        self.persist_libraries(group);
                        Reply::ok()
                    }
                    Err(e) => Reply::Error(e.reply_text()),
                }
            }
            // No script runs while the writer runs this one (see `kill_request`).
            ArchivedCommand::ScriptKill => Reply::Error(NOTBUSY.to_owned()),
            _ => Reply::Error("ERR not a scripting command".to_owned()),
        };
        if matches!(
            cmd,
            ArchivedCommand::FunctionLoad { .. }
                | ArchivedCommand::FunctionDelete { .. }
                | ArchivedCommand::FunctionFlush
                | ArchivedCommand::FunctionRestore { .. }
        ) {
            self.control.functions_changed(&self.lua);
        }
        Outcome::Ok(reply)
    }

    /// `FCALL`/`FCALL_RO`: the function first, then `numkeys`, as Redis checks them.
    fn fcall(
        &mut self,
        group: &mut WriteGroup<'_>,
        db: u8,
        function: &str,
        numkeys: Option<i64>,
        args: &rkyv::vec::ArchivedVec<rkyv::vec::ArchivedVec<u8>>,
        read_only: bool,
    ) -> Reply {
        let err = |text: &str| Reply::Error(text.to_owned());
        let Some(flags) = self.lua.function_flags(function) else {
            return err("ERR Function not found");
        };
        let Some(numkeys) = numkeys else {
            return err("ERR Bad number of keys provided");
        };
        if numkeys > args.len() as i64 {
            return err("ERR Number of keys can't be greater than number of args");
        }
        if numkeys < 0 {
            return err("ERR Number of keys can't be negative");
        }
        let no_writes = flags.contains(ScriptFlags::NO_WRITES);
        if read_only && !no_writes {
            return err("ERR Can not execute a script with write flag using *_ro command.");
        }
        let all: Vec<Vec<u8>> = args.iter().map(|a| a.as_slice().to_vec()).collect();
        let (keys, argv) = all.split_at(numkeys as usize);
        let runner = self.take_runner(group, db, read_only || no_writes);
        let mut command = vec![
            if read_only {
                &b"fcall_ro"[..]
            } else {
                b"fcall"
            }
            .to_vec(),
            function.as_bytes().to_vec(),
            numkeys.to_string().into_bytes(),
        ];
        command.extend(all.iter().cloned());
        self.control.begin(Some(RunningFunction {
            name: function.to_owned(),
            command,
        }));
        let (reply, mut runner) = self.lua.fcall(function, keys, argv, runner);
        self.control.end();
        runner.count_calls(&reply);
        self.give_back(group, runner);
        reply
    }

    /// Rewrites the persisted libraries to the loaded ones (after a `FUNCTION RESTORE`).
    fn persist_libraries(&self, group: &mut WriteGroup<'_>) {
        let end = prefix_end(FUNCTION_PREFIX);
        group.delete_range(Cf::Reqs, FUNCTION_PREFIX.to_vec(), end);
        for lib in self.lua.libraries() {
            group.put(Cf::Reqs, function_key(&lib.name), lib.code.clone());
        }
    }

    /// Compiles `body` into the cache, persisting it in `group` if it is new there.
    fn cache(&mut self, group: &mut WriteGroup<'_>, body: &[u8]) -> Result<String, ScriptError> {
        let sha = tandem_scripting::sha1_hex(body);
        if self.lua.script_exists(&sha) {
            return Ok(sha);
        }
        let (sha, flags) = self.lua.load_script(body)?;
        group.put(Cf::Reqs, script_key(&sha), body.to_vec());
        self.control.script_cached(&sha, flags);
        Ok(sha)
    }

    /// Runs the cached script `sha` with the group lent to the runner meanwhile.
    fn run(
        &mut self,
        group: &mut WriteGroup<'_>,
        db: u8,
        sha: &str,
        keys: &rkyv::vec::ArchivedVec<rkyv::vec::ArchivedVec<u8>>,
        args: &rkyv::vec::ArchivedVec<rkyv::vec::ArchivedVec<u8>>,
        read_only: bool,
    ) -> Reply {
        let flags = self
            .lua
            .script_flags(sha)
            .unwrap_or_else(ScriptFlags::empty);
        let runner = self.take_runner(
            group,
            db,
            read_only || flags.contains(ScriptFlags::NO_WRITES),
        );
        self.control.begin(None);
        // Straight from the request's frame into Lua: no copy of the words in between.
        let (reply, runner) = self
            .lua
            .eval_sha(sha, keys.as_slice(), args.as_slice(), runner);
        self.control.end();
        let mut runner = runner;
        runner.count_calls(&reply);
        self.give_back(group, runner);
        reply
    }

    /// The runner, lent `group` for a run in `db`.
    fn take_runner(&mut self, group: &mut WriteGroup<'_>, db: u8, read_only: bool) -> Runner {
        let mut runner = self.runner.take().unwrap_or_else(|| {
            Runner::new(
                self.engine.clone(),
                Arc::clone(&self.hub),
                Arc::clone(&self.control),
            )
        });
        if let Backend::Writer { group: lent, .. } = &mut runner.backend {
            *lent = Some(group.suspend());
        }
        runner.db = db;
        runner.read_only = read_only;
        runner
    }

    /// Takes the runner back after a run, and the group's state with it.
    fn give_back(&mut self, group: &mut WriteGroup<'_>, mut runner: Runner) {
        self.hub
            .monitor
            .script_lines(std::mem::take(&mut runner.monitor_lines));
        if let Backend::Writer { group: lent, .. } = &mut runner.backend {
            if let Some(state) = lent.take() {
                group.restore(state);
            }
        }
        self.runner = Some(runner);
    }
}

/// Whether a request may run on the read pool instead of the writer: every command is a
/// script that cannot write (`EVAL_RO`, `EVALSHA_RO`, `FCALL_RO`, or a script or function
/// flagged `no-writes`) and is already persisted (a new body must be cached and persisted
/// by the writer first; `FCALL_RO` of a function without the flag gets its error there).
pub fn off_writer(control: &ScriptControl, req: &RequestView<'_>) -> bool {
    let script = |cmd: &ArchivedCommand| {
        matches!(
            cmd,
            ArchivedCommand::Eval { .. }
                | ArchivedCommand::EvalSha { .. }
                | ArchivedCommand::FCall { .. }
        )
    };
    // Every request passes here: no lock unless it starts with a script.
    if !req.commands.first().is_some_and(script) {
        return false;
    }
    let catalog = control.catalog();
    req.commands.iter().all(|cmd| match cmd {
        ArchivedCommand::Eval {
            body, read_only, ..
        } => catalog
            .scripts
            .get(&tandem_scripting::sha1_hex(body.as_slice()))
            .is_some_and(|no_writes| *read_only || *no_writes),
        ArchivedCommand::EvalSha { sha, read_only, .. } => {
            let sha = String::from_utf8_lossy(sha.as_slice()).to_ascii_lowercase();
            catalog
                .scripts
                .get(&sha)
                .is_some_and(|no_writes| *read_only || *no_writes)
        }
        ArchivedCommand::FCall { function, .. } => {
            let name = String::from_utf8_lossy(function.as_slice());
            catalog.functions.get(name.as_ref()) == Some(&true)
        }
        _ => false,
    })
}

/// Runs of a read-only request before it gives up on the read pool: each run that saw a
/// commit happen is thrown away (see [`Backend::Reader`]).
const READER_ATTEMPTS: usize = 3;

/// A read-pool thread's Lua engine, rebuilt when the catalog's generation moves.
struct ReaderEngine {
    lua: ScriptEngine,
    generation: u64,
}

thread_local! {
    static READER: RefCell<Option<ReaderEngine>> = const { RefCell::new(None) };
}

/// Runs a request [`off_writer`] let through on this read-pool thread, each script against
/// committed state as it was when the run started: the outcomes, or `None` when the
/// writer must run it after all (commits kept overlapping the runs, or a script the
/// catalog named is not on disk yet: its group has not committed).
pub fn run_off_writer(
    engine: &Engine,
    hub: &Arc<Hub>,
    control: &Arc<ScriptControl>,
    req: &RequestView<'_>,
) -> Option<Vec<Outcome>> {
    READER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let generation = control.catalog().generation;
        if slot.as_ref().is_none_or(|r| r.generation != generation) {
            *slot = Some(ReaderEngine {
                lua: reader_engine(engine).ok()?,
                generation,
            });
        }
        let reader = slot.as_mut()?;
        for _ in 0..READER_ATTEMPTS {
            let epoch = engine.records().epoch();
            if epoch % 2 == 1 {
                std::thread::yield_now();
                continue;
            }
            let mut runner = Runner {
                backend: Backend::Reader {
                    engine: engine.clone(),
                    epoch,
                    spoiled: false,
                },
                hub: Arc::clone(hub),
                control: Arc::clone(control),
                db: req.db,
                read_only: true,
                wire: rkyv::util::AlignedVec::new(),
                caller: None,
                monitor_lines: Vec::new(),
                calls: Vec::new(),
            };
            let mut outcomes = Vec::with_capacity(req.commands.len());
            // Per script: its commands' statistics, counted only if the run is kept.
            let mut counted = Vec::with_capacity(req.commands.len());
            for cmd in req.commands.iter() {
                let (reply, mut back) = reader_run(&mut reader.lua, engine, control, cmd, runner)?;
                back.settle_calls(&reply);
                counted.append(&mut back.calls);
                runner = back;
                outcomes.push(Outcome::Ok(reply));
            }
            let spoiled = matches!(runner.backend, Backend::Reader { spoiled: true, .. });
            if !spoiled && engine.records().epoch() == epoch {
                hub.monitor.script_lines(runner.monitor_lines);
                crate::stats::script_calls(counted);
                return Some(outcomes);
            }
        }
        None
    })
}

/// A Lua engine for a read-pool thread: Redis's environment, the memory cap, and every
/// persisted function library (scripts are compiled on first use).
fn reader_engine(engine: &Engine) -> Result<ScriptEngine, ScriptError> {
    let mut lua = ScriptEngine::new()?;
    lua.set_memory_limit(LUA_MEMORY_LIMIT)?;
    lua.set_log_sink(Box::new(|level, line| {
        let line = String::from_utf8_lossy(line);
        match level {
            LogLevel::Warning => tracing::warn!(target: "script", "{line}"),
            LogLevel::Notice => tracing::info!(target: "script", "{line}"),
            LogLevel::Verbose | LogLevel::Debug => tracing::debug!(target: "script", "{line}"),
        }
    }));
    let mut libraries = Vec::new();
    let end = prefix_end(FUNCTION_PREFIX);
    let _ = engine.scan(Cf::Reqs, FUNCTION_PREFIX, &end, &mut |_, code| {
        libraries.push(code.to_vec());
        true
    });
    for code in &libraries {
        let _ = lua.load_library(code, true);
    }
    Ok(lua)
}

/// The persisted body of script `sha`, if its group has committed.
fn persisted_body(engine: &Engine, sha: &str) -> Option<Vec<u8>> {
    let key = script_key(sha);
    let mut end = key.clone();
    end.push(0);
    let mut body = None;
    let _ = engine.scan(Cf::Reqs, &key, &end, &mut |_, value| {
        body = Some(value.to_vec());
        false
    });
    body
}

/// One script command of a read-pool run, registered for the KILL commands while it runs;
/// `None` when the writer must run it.
fn reader_run(
    lua: &mut ScriptEngine,
    engine: &Engine,
    control: &ScriptControl,
    cmd: &ArchivedCommand,
    mut runner: Runner,
) -> Option<(Reply, Runner)> {
    runner.caller = crate::acl::Caller::of(cmd);
    let owned = |v: &rkyv::vec::ArchivedVec<rkyv::vec::ArchivedVec<u8>>| -> Vec<Vec<u8>> {
        v.iter().map(|a| a.as_slice().to_vec()).collect()
    };
    let id = control.reader_ids.fetch_add(1, Ordering::Relaxed);
    let kill = lua.kill_handle();
    let register = |function: Option<RunningFunction>| {
        control
            .readers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ReaderRun {
                id,
                kill: kill.clone(),
                since: Instant::now(),
                function,
            });
    };
    let result = match cmd {
        ArchivedCommand::Eval {
            body, keys, args, ..
        } => {
            let sha = match lua.load_script(body.as_slice()) {
                Ok((sha, _)) => sha,
                Err(e) => return Some((Reply::Error(e.reply_text()), runner)),
            };
            register(None);
            lua.eval_sha(&sha, keys.as_slice(), args.as_slice(), runner)
        }
        ArchivedCommand::EvalSha {
            sha, keys, args, ..
        } => {
            let sha = String::from_utf8_lossy(sha.as_slice()).to_ascii_lowercase();
            if !lua.script_exists(&sha) {
                let body = persisted_body(engine, &sha)?;
                if let Err(e) = lua.load_script(&body) {
                    return Some((Reply::Error(e.reply_text()), runner));
                }
            }
            register(None);
            lua.eval_sha(&sha, keys.as_slice(), args.as_slice(), runner)
        }
        ArchivedCommand::FCall {
            function,
            numkeys,
            args,
            read_only,
            ..
        } => {
            let function = String::from_utf8_lossy(function.as_slice()).into_owned();
            // The function is in the catalog; its numkeys errors are the writer's texts.
            let all = owned(args);
            let numkeys = numkeys.as_ref().map(|n| n.to_native());
            let n = numkeys
                .and_then(|n| usize::try_from(n).ok())
                .filter(|n| *n <= all.len())?;
            let mut command = vec![
                if *read_only {
                    &b"fcall_ro"[..]
                } else {
                    b"fcall"
                }
                .to_vec(),
                function.as_bytes().to_vec(),
                n.to_string().into_bytes(),
            ];
            command.extend(all.iter().cloned());
            register(Some(RunningFunction {
                name: function.clone(),
                command,
            }));
            let (keys, argv) = all.split_at(n);
            lua.fcall(&function, keys, argv, runner)
        }
        _ => return None,
    };
    control
        .readers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|r| r.id != id);
    Some(result)
}

/// The persisted key of the script whose SHA1 is `sha`.
fn script_key(sha: &str) -> Vec<u8> {
    let mut k = SCRIPT_PREFIX.to_vec();
    k.extend_from_slice(sha.as_bytes());
    k
}

/// The persisted key of the function library `name`.
fn function_key(name: &str) -> Vec<u8> {
    let mut k = FUNCTION_PREFIX.to_vec();
    k.extend_from_slice(name.as_bytes());
    k
}

/// The exclusive end of the range of keys starting with `prefix` (which ends below 0xff).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    if let Some(last) = end.last_mut() {
        *last += 1;
    }
    end
}

/// Runs the commands a script issues (`redis.call`/`redis.pcall`) in the request's group.
///
/// It owns a writer of its own (the runner must be `'static`), and resumes the group lent to
/// it (`WriteGroup::suspend`) around each command.
struct Runner {
    backend: Backend,
    hub: Arc<Hub>,
    control: Arc<ScriptControl>,
    /// The database the script's commands run in.
    db: u8,
    /// `EVAL_RO`/`EVALSHA_RO`, or a script flagged `no-writes`: writes are refused.
    read_only: bool,
    /// The buffer each command is archived into, kept between commands (one allocation
    /// per runner rather than per `redis.call`).
    wire: rkyv::util::AlignedVec,
    /// MONITOR lines of this run's commands, delivered when the run is kept (a read-pool
    /// run that a commit spoiled is run again and must not show its commands twice).
    monitor_lines: Vec<Vec<u8>>,
    /// The restricted ACL user the run's commands are checked against (`crate::acl`);
    /// `None`: any command.
    caller: Option<crate::acl::Caller>,
    /// This run's commands for INFO commandstats/errorstats and the slow log, counted when
    /// the run ends (and kept, on the read pool), as Redis's `call()` counts a script's
    /// commands.
    calls: Vec<crate::stats::ScriptCall>,
}

/// Commands redis-server 7.0 flags `may-replicate` that a script may call: a read-only
/// script may not (`scriptVerifyWriteCommandAllow`), though they are no writes. The command
/// table leaves that flag out (it is not in `COMMAND INFO`), so they are named here.
const MAY_REPLICATE: &[&str] = &["publish", "spublish", "pfcount"];

/// What `OBJECT` answers by in a script: Redis 7.0's defaults (`hash-max-listpack-entries`
/// 512 and so on, no LFU policy, shared small integers). A proxy answers a client's OBJECT
/// by its live CONFIG values instead (`proxy/src/local/object.rs`).
const SCRIPT_OBJECT_LIMITS: ObjectLimits = ObjectLimits {
    hash_max_listpack_entries: 512,
    hash_max_listpack_value: 64,
    zset_max_listpack_entries: 128,
    zset_max_listpack_value: 64,
    set_max_intset_entries: 512,
    list_max_listpack_size: -2,
    lfu: false,
    shared_integers: true,
};

/// Redis 7.0's `OBJECT HELP`, word for word (the proxy answers a client's with the same
/// lines, `proxy/src/local/object.rs`).
const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// Where a script's commands run.
// One runner per engine, kept between runs: its size does not matter, a box per run would.
#[allow(clippy::large_enum_variant)]
enum Backend {
    /// On the writer, in the request's group.
    Writer {
        writer: Writer<Engine>,
        /// The request's group while a script runs.
        group: Option<Suspended>,
    },
    /// On a read-pool thread, against committed state ([`run_off_writer`]): every read
    /// must see the state of the run's start, so a commit seen since then (the record
    /// cache's epoch moved) spoils the run, which is then run again.
    Reader {
        engine: Engine,
        /// The record cache's epoch when the run started (even: no commit in progress).
        epoch: u64,
        /// A commit happened during the run: its reads may mix two states.
        spoiled: bool,
    },
}

impl Runner {
    fn new(engine: Engine, hub: Arc<Hub>, control: Arc<ScriptControl>) -> Runner {
        Runner {
            backend: Backend::Writer {
                writer: Writer::new(engine),
                group: None,
            },
            hub,
            control,
            db: 0,
            read_only: false,
            wire: rkyv::util::AlignedVec::new(),
            caller: None,
            monitor_lines: Vec::new(),
            calls: Vec::new(),
        }
    }

    /// Settles the run's statistics by its `reply`: when the script failed with the error
    /// of its last failed command (`redis.call` raised it), that error is counted once, as
    /// the script's reply by the proxy, not a second time here (Redis counts it once too).
    fn settle_calls(&mut self, reply: &Reply) {
        if let Reply::Error(text) = reply {
            if let Some(last) = self.calls.iter_mut().rev().find(|c| c.error.is_some()) {
                if last
                    .error
                    .as_ref()
                    .is_some_and(|e| text.starts_with(e.as_str()))
                {
                    last.error_counted_by_caller = true;
                }
            }
        }
    }

    /// Settles and counts the run's commands (a run on the writer, always kept).
    fn count_calls(&mut self, reply: &Reply) {
        self.settle_calls(reply);
        crate::stats::script_calls(std::mem::take(&mut self.calls));
    }

    /// The table row of a command a script may run, or the error Redis answers.
    fn admit(&self, args: &[Vec<u8>]) -> Result<&'static CommandSpec, Reply> {
        let err = |text: &str| Reply::Error(text.to_owned());
        let Some(mut spec) = args.first().and_then(|name| lookup(name)) else {
            return Err(err("ERR Unknown Redis command called from script"));
        };
        // A container's subcommand decides, as Redis looks `CLIENT ID` up as `client|id`.
        if spec.is_container() && args.len() >= 2 {
            match spec.subcommand(&args[1]) {
                Some(sub) => spec = sub,
                None => return Err(err("ERR Unknown Redis command called from script")),
            }
        }
        if !spec.arity_ok(args.len()) {
            return Err(err(
                "ERR Wrong number of args calling Redis command from script",
            ));
        }
        if !spec.may_run_in_script() {
            return Err(err("ERR This Redis command is not allowed from script"));
        }
        if let Some(caller) = &self.caller {
            crate::acl::script_check(caller, args)?;
        }
        if self.read_only && (spec.is_write() || MAY_REPLICATE.contains(&spec.name)) {
            return Err(err(
                "ERR Write commands are not allowed from read-only scripts.",
            ));
        }
        if spec.is_write()
            && matches!(self.backend, Backend::Writer { .. })
            && !self.control.may_write()
        {
            return Err(err(KILLED));
        }
        Ok(spec)
    }

    /// A proxy-local command a script issued: the few that need nothing of a client, and
    /// `SELECT`, which changes the database of the script's later commands only.
    fn local(&mut self, local: Local, args: &[Vec<u8>], name: &str) -> Reply {
        match local {
            Local::Select => {
                let index = args
                    .get(1)
                    .and_then(|a| tandem_commands::args::parse_i64(a));
                match index {
                    None => Reply::Error(CommandError::NotInteger.to_string()),
                    Some(db) => match u8::try_from(db) {
                        Ok(db) if db < tandem_shared::DATABASES => {
                            self.db = db;
                            Reply::ok()
                        }
                        _ => Reply::Error("ERR DB index is out of range".to_owned()),
                    },
                }
            }
            Local::Ping => match args.get(1) {
                Some(msg) => Reply::Bulk(msg.clone()),
                None => Reply::Simple("PONG".to_owned()),
            },
            Local::Echo => Reply::Bulk(args.get(1).cloned().unwrap_or_default()),
            Local::Time => {
                let micros = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros());
                Reply::Array(vec![
                    Reply::Bulk((micros / 1_000_000).to_string().into_bytes()),
                    Reply::Bulk((micros % 1_000_000).to_string().into_bytes()),
                ])
            }
            // The command table is here too: the proxy's answer, word for word.
            Local::Command => {
                let words = args[1..]
                    .iter()
                    .map(|a| Bytes::copy_from_slice(a))
                    .collect();
                tandem_commands::describe::command(&mut Args::new(words))
                    .unwrap_or_else(|e| Reply::Error(e.to_string()))
            }
            Local::Info => self.info(&args[1..]),
            Local::Memory => self.memory(args),
            Local::PubSub => self.pubsub(args),
            Local::Object => self.object(args, name),
            _ => Reply::Error(format!(
                "ERR '{name}' is not supported from scripts by tandem yet"
            )),
        }
    }

    /// `INFO [section ...]` from a script: storaged's sections (keyspace, storage, stats
    /// storaged keeps), filtered as Redis filters; the proxies' own sections (server,
    /// clients) are the proxies' and are not seen from storaged.
    fn info(&mut self, wanted: &[Vec<u8>]) -> Reply {
        let text = match self.storage(&Command::Info) {
            Reply::Bulk(text) => String::from_utf8_lossy(&text).into_owned(),
            other => return other,
        };
        let wanted: Vec<String> = wanted
            .iter()
            .map(|w| String::from_utf8_lossy(w).to_ascii_lowercase())
            .collect();
        let all = wanted.is_empty()
            || wanted
                .iter()
                .any(|w| w == "all" || w == "everything" || w == "default");
        let mut out = String::new();
        let mut keep = false;
        for line in text.lines() {
            if let Some(name) = line.strip_prefix("# ") {
                keep = all || wanted.contains(&name.trim().to_ascii_lowercase());
                if keep && !out.is_empty() {
                    out.push_str("\r\n");
                }
            }
            if keep && !line.is_empty() {
                out.push_str(line.trim_end_matches('\r'));
                out.push_str("\r\n");
            }
        }
        Reply::Verbatim(out.into_bytes())
    }

    /// `MEMORY USAGE key [SAMPLES n]` and `MEMORY PURGE` from a script (the other
    /// subcommands describe the proxy's process and are answered there only).
    fn memory(&mut self, args: &[Vec<u8>]) -> Reply {
        let sub = args
            .get(1)
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_default();
        match sub.as_slice() {
            b"purge" => Reply::ok(),
            b"usage" => {
                let Some(key) = args.get(2) else {
                    return Reply::Error(
                        "ERR Wrong number of args calling Redis command from script".to_owned(),
                    );
                };
                let samples = match &args[3..] {
                    [] => Some(5),
                    [word, n] if word.eq_ignore_ascii_case(b"samples") => {
                        match tandem_commands::args::parse_i64(n) {
                            Some(n) => u64::try_from(n).ok(),
                            None => return Reply::Error(CommandError::NotInteger.to_string()),
                        }
                    }
                    _ => None,
                };
                match samples {
                    Some(samples) => self.storage(&Command::MemoryUsage {
                        key: key.clone(),
                        samples,
                    }),
                    None => Reply::Error(CommandError::Syntax.to_string()),
                }
            }
            _ => Reply::Error(format!(
                "ERR 'MEMORY {}' is not supported from scripts by tandem",
                String::from_utf8_lossy(&sub).to_ascii_uppercase()
            )),
        }
    }

    /// `PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB` from a script, from the
    /// pub/sub table storaged keeps for every proxy.
    fn pubsub(&mut self, args: &[Vec<u8>]) -> Reply {
        let sub = args
            .get(1)
            .map(|s| s.to_ascii_lowercase())
            .unwrap_or_default();
        let rest = &args[2..];
        match sub.as_slice() {
            b"channels" => self.storage(&Command::PubSubChannels {
                pattern: rest.first().cloned(),
            }),
            b"numsub" => self.storage(&Command::PubSubNumSub {
                channels: rest.to_vec(),
            }),
            b"numpat" => self.storage(&Command::PubSubNumPat),
            b"shardchannels" => self.storage(&Command::PubSubShardChannels {
                pattern: rest.first().cloned(),
            }),
            b"shardnumsub" => self.storage(&Command::PubSubShardNumSub {
                channels: rest.to_vec(),
            }),
            _ => Reply::Error(format!(
                "ERR 'PUBSUB {}' is not supported from scripts by tandem",
                String::from_utf8_lossy(&sub).to_ascii_uppercase()
            )),
        }
    }

    /// `OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT key` and `OBJECT HELP` from a script
    /// (`name` is the subcommand's row, `object|encoding`). The encoding thresholds and
    /// eviction policy OBJECT answers by are the proxies' settings, which storaged does not
    /// see: a script gets Redis 7.0's defaults ([`SCRIPT_OBJECT_LIMITS`]).
    fn object(&mut self, args: &[Vec<u8>], name: &str) -> Reply {
        let field = match name {
            "object|help" => {
                return Reply::Array(
                    OBJECT_HELP
                        .iter()
                        .map(|l| Reply::Simple((*l).to_owned()))
                        .collect(),
                )
            }
            "object|encoding" => ObjectField::Encoding,
            "object|freq" => ObjectField::Freq,
            "object|idletime" => ObjectField::IdleTime,
            "object|refcount" => ObjectField::RefCount,
            _ => return Reply::Error("ERR Unknown Redis command called from script".to_owned()),
        };
        let Some(key) = args.get(2) else {
            return Reply::Error(
                "ERR Wrong number of args calling Redis command from script".to_owned(),
            );
        };
        self.storage(&Command::Object {
            field,
            key: key.clone(),
            limits: SCRIPT_OBJECT_LIMITS,
        })
    }

    /// Parses and runs one storage command in the lent group.
    fn storage(&mut self, command: &Command) -> Reply {
        let mut wire = std::mem::take(&mut self.wire);
        wire.clear();
        let bytes = match rkyv::api::high::to_bytes_in::<_, rkyv::rancor::Error>(command, wire) {
            Ok(b) => b,
            Err(e) => return Reply::Error(format!("ERR cannot encode the command: {e}")),
        };
        let reply = self.run_archived(&bytes);
        self.wire = bytes;
        reply
    }

    /// Runs the archived command in `bytes` ([`Runner::storage`]'s second half).
    fn run_archived(&mut self, bytes: &[u8]) -> Reply {
        let archived = match rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(bytes) {
            Ok(a) => a,
            Err(e) => return Reply::Error(format!("ERR cannot encode the command: {e}")),
        };
        let outcome = match &mut self.backend {
            Backend::Writer { writer, group } => {
                let Some(state) = group.take() else {
                    return Reply::Error("ERR no script is running".to_owned());
                };
                let mut resumed = writer.resume(state);
                let outcome = execute_write(&mut resumed, &self.hub, self.db, archived);
                *group = Some(resumed.into_suspended());
                outcome
            }
            Backend::Reader {
                engine,
                epoch,
                spoiled,
            } => {
                let view = engine.cached_read(false);
                let outcome = crate::dispatch::execute_read_on(&view, &self.hub, self.db, archived);
                if !view.consistent() || engine.records().epoch() != *epoch {
                    *spoiled = true;
                }
                outcome
            }
        };
        match outcome {
            Outcome::Ok(reply) => reply,
            Outcome::Err(e) => Reply::Error(e.to_string()),
        }
    }
}

impl CommandRunner for Runner {
    fn call(&mut self, args: Vec<Vec<u8>>, _resp: Resp) -> Reply {
        let spec = match self.admit(&args) {
            Ok(spec) => spec,
            Err(reply) => return reply,
        };
        // Only while someone monitors is the command's argv kept for its line.
        let shown = crate::monitor::shows(&self.hub.monitor, spec).then(|| args.clone());
        // Counted in INFO commandstats/errorstats and the slow log as Redis counts a
        // script's commands (`Runner::calls`); the arguments are kept (cut) for a slow-log
        // entry only while the slow log can take one.
        let started = std::time::Instant::now();
        let logged = (crate::stats::slowlog_on()
            && !spec.flags.contains(tandem_commands::Flags::SKIP_SLOWLOG))
        .then(|| crate::stats::slow_args(&args));
        let reply = match spec.handler {
            Handler::Local(local) => self.local(local, &args, spec.name),
            Handler::Storage(parse) => {
                // Redis names the command as the script typed it in its BLOCK refusal.
                let typed =
                    String::from_utf8_lossy(args.first().map_or(&[][..], |a| a)).into_owned();
                // The words are ours: `Bytes::from` takes each without a copy.
                let words: Vec<Bytes> = args.into_iter().skip(1).map(Bytes::from).collect();
                let ctx = ParseCtx {
                    now_ms: i64::try_from(now_ms()).unwrap_or(i64::MAX),
                    proto_max_bulk_len: PROTO_MAX_BULK_LEN,
                    db: self.db,
                };
                match parse(&mut Args::new(words), &ctx) {
                    // BLPOP & co. run as their non-blocking forms (Redis's `blocking` in a
                    // script); a blocking XREAD or XREADGROUP is refused, as Redis refuses it.
                    Ok(Command::BlockingPop {
                        op:
                            tandem_shared::command::BlockingOp::StreamRead { .. }
                            | tandem_shared::command::BlockingOp::StreamReadGroup { .. },
                        ..
                    }) => Reply::Error(format!(
                        "ERR {typed} command is not allowed with BLOCK option from scripts"
                    )),
                    Ok(command) => self.storage(&command),
                    Err(e) => Reply::Error(e.to_string()),
                }
            }
        };
        self.calls.push(crate::stats::ScriptCall {
            name: spec.name,
            args: logged,
            ns: started.elapsed().as_nanos() as u64,
            error: match &reply {
                Reply::Error(text) => Some(text.clone()),
                _ => None,
            },
            error_counted_by_caller: false,
        });
        if let Some(argv) = shown {
            // After the command, as Redis feeds monitors: a SELECT shows its new database.
            self.monitor_lines
                .push(crate::monitor::script_line(self.db, &argv));
        }
        reply
    }

    fn acl_check(&mut self, args: &[Vec<u8>]) -> Option<bool> {
        crate::acl::script_allows(self.caller.as_ref(), args)
    }
}
