//! Lua scripts inside storaged (issue 15): `EVAL`, `EVALSHA` (and their `_RO` forms) and
//! `SCRIPT LOAD|EXISTS|FLUSH`, run on the writer thread.
//!
//! Owns the writer's one [`ScriptEngine`] and the persisted script cache. A script runs
//! inside the request's write group, so no other command interleaves with it and its writes
//! commit in the same WriteBatch as the request's exactly-once record (`crate::dedup`); its
//! commands go through the command registry's parsers and `crate::dispatch`, so they make
//! keyspace events and touch WATCHed keys like any client's. Which thread runs this is the
//! writer's business (`crate::writer`); this module reads no socket.
//!
//! The script cache outlives storaged and is shared by every proxy: each body a script is
//! first cached from (`SCRIPT LOAD` or `EVAL`) is stored under its SHA1 in the `reqs`
//! column family, at [`SCRIPT_PREFIX`] (far above every remembered reply's key, which
//! starts with its birth time, so the replies' range trims never reach it), in the same
//! group; [`Scripts::start`] compiles them all again. `SCRIPT FLUSH` deletes the range. If
//! a group fails to commit, the in-memory cache may hold a script the disk does not (it
//! then answers `EVALSHA` until the next restart) or have flushed one the disk still holds.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tandem_commands::{lookup, Args, CommandError, CommandSpec, Handler, Local, ParseCtx};
use tandem_scripting::{
    CommandRunner, KillHandle, LogLevel, Resp, RestorePolicy, ScriptEngine, ScriptError,
    ScriptFlags,
};
use tandem_shared::command::{ArchivedCommand, ArchivedFunctionRestorePolicy};
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
    )
}

/// `SCRIPT KILL`'s view of the writer's running script, shared between the writer and the
/// links (a kill arrives while the writer is busy with the script).
#[derive(Debug, Default)]
pub struct ScriptControl {
    /// The engine's kill switch, set once the writer has built the engine.
    handle: OnceLock<KillHandle>,
    state: Mutex<RunState>,
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
}

/// Redis's `busy-reply-threshold` (`lua-time-limit`) default: a script running longer makes
/// writes that would queue behind it fail with [`BUSY`] instead.
pub const BUSY_REPLY_THRESHOLD: Duration = Duration::from_millis(5000);

/// Redis's reply to a command while a script is busy.
pub const BUSY: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";

/// Redis's `SCRIPT KILL` reply when no script runs.
const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";

/// Redis's text for a script killed by `SCRIPT KILL`.
const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

/// Redis's `SCRIPT KILL` reply once the script has written.
const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against \
                          the dataset. You can either wait the script termination or kill the \
                          server in a hard way using the SHUTDOWN NOSAVE command.";

impl ScriptControl {
    /// `SCRIPT KILL`: stops the running script unless it has written (Redis's `UNKILLABLE`:
    /// what it wrote must commit whole, or with `SHUTDOWN NOSAVE` not at all).
    pub fn kill(&self) -> Reply {
        let mut state = self.lock();
        if !state.running {
            return Reply::Error(NOTBUSY.to_owned());
        }
        if state.wrote {
            return Reply::Error(UNKILLABLE.to_owned());
        }
        state.killed = true;
        if let Some(handle) = self.handle.get() {
            handle.kill();
        }
        Reply::ok()
    }

    /// Whether a script has been running for longer than [`BUSY_REPLY_THRESHOLD`].
    pub fn busy(&self) -> bool {
        let state = self.lock();
        state.running
            && state
                .since
                .is_some_and(|t| t.elapsed() > BUSY_REPLY_THRESHOLD)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RunState> {
        // Three flags, each write complete: a panic elsewhere leaves them valid.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn begin(&self) {
        *self.lock() = RunState {
            running: true,
            since: Some(Instant::now()),
            wrote: false,
            killed: false,
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

/// The reply to a request that is one `SCRIPT KILL`, answered beside the writer (which may
/// be running the script); `None` for any other request. A `SCRIPT KILL` among other
/// commands (in `MULTI`) runs on the writer, where no script is running: `NOTBUSY`.
pub fn kill_request(control: &ScriptControl, req: &RequestView<'_>) -> Option<Reply> {
    match req.commands.as_slice() {
        [ArchivedCommand::ScriptKill] => Some(control.kill()),
        _ => None,
    }
}

/// Whether a write request must be answered [`BUSY`] at once rather than queue behind a
/// script running past [`BUSY_REPLY_THRESHOLD`] (where it would wait for the script, and
/// past the proxies' deadline). Reads are not refused: they run beside the writer on
/// committed state. Transactions are not refused either (EXEC's reply has its own shape):
/// they queue.
pub fn busy_refusal(control: &ScriptControl, req: &RequestView<'_>) -> bool {
    let transaction = matches!(req.commands.first(), Some(ArchivedCommand::Exec { .. }));
    !transaction && control.busy()
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
                Ok(_) => loaded += 1,
                Err(e) => {
                    tracing::warn!(error = %e.reply_text(), "a persisted script no longer compiles")
                }
            }
        }
        if loaded > 0 {
            tracing::info!(scripts = loaded, "script cache reloaded");
        }
        Ok(Scripts {
            lua,
            runner: None,
            engine,
            hub,
            control,
        })
    }

    /// Runs a scripting command ([`claims`]) in `group`, with `db` selected.
    pub fn execute(
        &mut self,
        group: &mut WriteGroup<'_>,
        db: u8,
        cmd: &ArchivedCommand,
    ) -> Outcome {
        let reply = match cmd {
            ArchivedCommand::Eval {
                body,
                keys,
                args,
                read_only,
            } => match self.cache(group, body.as_slice()) {
                Ok(sha) => self.run(group, db, &sha, keys, args, *read_only),
                Err(e) => Reply::Error(e.reply_text()),
            },
            ArchivedCommand::EvalSha {
                sha,
                keys,
                args,
                read_only,
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
                let pattern = pattern.as_ref().map(|p| p.as_slice());
                self.function_list(pattern, *with_code)
            }
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
        self.control.begin();
        let (reply, runner) = self.lua.fcall(function, keys, argv, runner);
        self.control.end();
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

    /// `FUNCTION LIST`'s reply: one map per library, as Redis 7.0 shapes it.
    fn function_list(&self, pattern: Option<&[u8]>, with_code: bool) -> Reply {
        let text = |s: &str| Reply::Bulk(s.as_bytes().to_vec());
        let libraries = self
            .lua
            .libraries()
            .filter(|lib| {
                pattern
                    .is_none_or(|p| tandem_shared::glob::glob_match(p, lib.name.as_bytes(), true))
            })
            .map(|lib| {
                let functions = lib
                    .functions
                    .iter()
                    .map(|f| {
                        Reply::Map(vec![
                            (text("name"), text(&f.name)),
                            (
                                text("description"),
                                f.description.as_deref().map_or(Reply::Nil, text),
                            ),
                            (
                                text("flags"),
                                Reply::Set(
                                    f.flags
                                        .names()
                                        .into_iter()
                                        .map(|n| Reply::Simple(n.to_owned()))
                                        .collect(),
                                ),
                            ),
                        ])
                    })
                    .collect();
                let mut fields = vec![
                    (text("library_name"), text(&lib.name)),
                    (text("engine"), text(&lib.engine)),
                    (text("functions"), Reply::Array(functions)),
                ];
                if with_code {
                    fields.push((text("library_code"), Reply::Bulk(lib.code.clone())));
                }
                Reply::Map(fields)
            })
            .collect();
        Reply::Array(libraries)
    }

    /// Compiles `body` into the cache, persisting it in `group` if it is new there.
    fn cache(&mut self, group: &mut WriteGroup<'_>, body: &[u8]) -> Result<String, ScriptError> {
        let sha = tandem_scripting::sha1_hex(body);
        if self.lua.script_exists(&sha) {
            return Ok(sha);
        }
        let (sha, _) = self.lua.load_script(body)?;
        group.put(Cf::Reqs, script_key(&sha), body.to_vec());
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
        let keys: Vec<Vec<u8>> = keys.iter().map(|k| k.as_slice().to_vec()).collect();
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_slice().to_vec()).collect();
        let runner = self.take_runner(
            group,
            db,
            read_only || flags.contains(ScriptFlags::NO_WRITES),
        );
        self.control.begin();
        let (reply, runner) = self.lua.eval_sha(sha, &keys, &args, runner);
        self.control.end();
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
        runner.group = Some(group.suspend());
        runner.db = db;
        runner.read_only = read_only;
        runner
    }

    /// Takes the runner back after a run, and the group's state with it.
    fn give_back(&mut self, group: &mut WriteGroup<'_>, mut runner: Runner) {
        if let Some(state) = runner.group.take() {
            group.restore(state);
        }
        self.runner = Some(runner);
    }
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
    writer: Writer<Engine>,
    hub: Arc<Hub>,
    control: Arc<ScriptControl>,
    /// The request's group while a script runs.
    group: Option<Suspended>,
    /// The database the script's commands run in.
    db: u8,
    /// `EVAL_RO`/`EVALSHA_RO`, or a script flagged `no-writes`: writes are refused.
    read_only: bool,
}

impl Runner {
    fn new(engine: Engine, hub: Arc<Hub>, control: Arc<ScriptControl>) -> Runner {
        Runner {
            writer: Writer::new(engine),
            hub,
            control,
            group: None,
            db: 0,
            read_only: false,
        }
    }

    /// The table row of a command a script may run, or the error Redis answers.
    fn admit(&self, args: &[Vec<u8>]) -> Result<&'static CommandSpec, Reply> {
        let err = |text: &str| Reply::Error(text.to_owned());
        let Some(spec) = args.first().and_then(|name| lookup(name)) else {
            return Err(err("ERR Unknown Redis command called from script"));
        };
        if !spec.arity_ok(args.len()) {
            return Err(err(
                "ERR Wrong number of args calling Redis command from script",
            ));
        }
        if !spec.may_run_in_script() {
            return Err(err("ERR This Redis command is not allowed from script"));
        }
        if self.read_only && spec.is_write() {
            return Err(err(
                "ERR Write commands are not allowed from read-only scripts.",
            ));
        }
        if spec.is_write() && !self.control.may_write() {
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
            _ => Reply::Error(format!(
                "ERR '{name}' is not supported from scripts by tandem yet"
            )),
        }
    }

    /// Parses and runs one storage command in the lent group.
    fn storage(&mut self, command: &Command) -> Reply {
        let bytes = match rkyv::to_bytes::<rkyv::rancor::Error>(command) {
            Ok(b) => b,
            Err(e) => return Reply::Error(format!("ERR cannot encode the command: {e}")),
        };
        let archived = match rkyv::access::<ArchivedCommand, rkyv::rancor::Error>(&bytes) {
            Ok(a) => a,
            Err(e) => return Reply::Error(format!("ERR cannot encode the command: {e}")),
        };
        let Some(state) = self.group.take() else {
            return Reply::Error("ERR no script is running".to_owned());
        };
        let mut group = self.writer.resume(state);
        let outcome = execute_write(&mut group, &self.hub, self.db, archived);
        self.group = Some(group.into_suspended());
        match outcome {
            Outcome::Ok(reply) => reply,
            Outcome::Err(e) => Reply::Error(e.to_string()),
        }
    }
}

impl CommandRunner for Runner {
    fn call(&mut self, args: &[Vec<u8>], _resp: Resp) -> Reply {
        let spec = match self.admit(args) {
            Ok(spec) => spec,
            Err(reply) => return reply,
        };
        match spec.handler {
            Handler::Local(local) => self.local(local, args, spec.name),
            Handler::Storage(parse) => {
                let words: Vec<Bytes> = args[1..]
                    .iter()
                    .map(|a| Bytes::copy_from_slice(a))
                    .collect();
                let ctx = ParseCtx {
                    now_ms: i64::try_from(now_ms()).unwrap_or(i64::MAX),
                    proto_max_bulk_len: PROTO_MAX_BULK_LEN,
                    db: self.db,
                };
                match parse(&mut Args::new(words), &ctx) {
                    Ok(command) => self.storage(&command),
                    Err(e) => Reply::Error(e.to_string()),
                }
            }
        }
    }

    fn acl_check(&mut self, args: &[Vec<u8>]) -> Option<bool> {
        args.first().and_then(|name| lookup(name)).map(|_| true)
    }
}
