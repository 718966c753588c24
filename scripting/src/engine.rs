//! [`ScriptEngine`]: one sandboxed Lua 5.1 state with Redis 7.0's environment, the `EVAL`
//! script cache and the `FUNCTION` libraries, and the calls that run them.
//!
//! The engine executes Lua only; it knows nothing of keys or storage. Commands a script issues
//! through `redis.call`/`redis.pcall` go to the [`CommandRunner`] the caller passes for that
//! run (storaged's, which parses and executes them inside the script's atomic batch). The
//! engine must not be shared between threads (the Lua state is not `Send`); storaged owns one
//! per script thread.

use std::any::Any;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};
use tandem_shared::Reply;

use crate::body::{self, ScriptFlags, INVALID_NAME};
use crate::convert::{self, lua_to_reply, reply_to_lua, Resp};
use crate::dump;
use crate::error::ScriptError;
use crate::format::format_g;
use crate::libs;
use crate::raise::{self, raise_message, raise_table, Raise, INTERNAL_CHUNK};
use crate::rand48::Rand48;

/// `REDIS_VERSION` as scripts see it.
pub const REDIS_VERSION: &str = "7.0.15";
/// `REDIS_VERSION_NUM`: 0x00MMmmpp.
pub const REDIS_VERSION_NUM: u32 = 0x00_07_00_0f;

/// How many Lua instructions run between two checks of the kill flag (Redis's count hook).
const HOOK_INSTRUCTIONS: u32 = 100_000;

/// How long a library body may run in `FUNCTION LOAD` (Redis's `LOAD_TIMEOUT_MS`).
const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

/// Runs between two incremental collector steps, as Redis's `LUA_GC_CYCLE_PERIOD`.
const GC_CYCLE_PERIOD: u32 = 50;

/// Executes the commands a script issues.
///
/// A run takes the runner by value and hands it back with the reply (so the runner owns its
/// context: the script's batch, its handles). Keeping it out of a borrow lets `redis.call` be
/// a function installed once rather than one created per run, which costs microseconds.
pub trait CommandRunner: Any {
    /// Runs one command (`args[0]` is its name) on behalf of the script and returns its reply.
    ///
    /// The runner owns Redis's script-specific refusals and their texts: an unknown command
    /// (`ERR Unknown Redis command called from script`), wrong arity (`ERR Wrong number of
    /// args calling Redis command from script`), a command not allowed in scripts (`ERR This
    /// Redis command is not allowed from script`), a write from a read-only script (`ERR Write
    /// commands are not allowed from read-only scripts.`); blocking commands run non-blocking.
    /// `resp` is the protocol the script selected, for the few commands whose reply depends on
    /// it beyond shape.
    ///
    /// `args` are handed over: the runner may keep them (as the parsed command's words)
    /// rather than copy them again.
    fn call(&mut self, args: Vec<Vec<u8>>, resp: Resp) -> Reply;

    /// Whether `args` name an existing command the caller may run (`redis.acl_check_cmd`):
    /// `None` if there is no such command.
    fn acl_check(&mut self, args: &[Vec<u8>]) -> Option<bool>;
}

/// `redis.log` levels (`LL_DEBUG` … `LL_WARNING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
}

/// Where `redis.log` lines go.
pub type LogSink = Box<dyn FnMut(LogLevel, &[u8])>;

/// Called by the kill hook while a script runs (every [`HOOK_INSTRUCTIONS`] Lua
/// instructions, a millisecond or so): the caller's chance to do what a busy Redis does
/// between two hook calls, such as answering waiting clients `-BUSY`. It must not touch
/// the engine.
pub type BusyTick = Box<dyn FnMut()>;

/// Watches and stops the engine's running script from any thread: how long it has run
/// (for `BUSY` past `busy-reply-threshold`) and `SCRIPT KILL`/`FUNCTION KILL`, which take
/// effect at its next instruction-count check. Deciding whether a kill is allowed (a script
/// that has written must not be killed) is the caller's business.
#[derive(Debug, Clone)]
pub struct KillHandle(Arc<KillState>);

#[derive(Debug)]
struct KillState {
    kill: AtomicBool,
    /// Origin of `started`.
    base: Instant,
    /// Microseconds from `base` to the start of the running script, plus one; 0 when idle.
    started: AtomicU64,
}

impl Default for KillHandle {
    fn default() -> Self {
        KillHandle(Arc::new(KillState {
            kill: AtomicBool::new(false),
            base: Instant::now(),
            started: AtomicU64::new(0),
        }))
    }
}

impl KillHandle {
    /// Asks the running script to stop; it fails with Redis's "Script killed by user" error.
    /// Returns whether a script was running (a kill with none running has no effect: the next
    /// run starts with the flag cleared).
    pub fn kill(&self) -> bool {
        self.0.kill.store(true, Ordering::Relaxed);
        self.running_for().is_some()
    }

    /// How long the running script has been running, or `None` when the engine is idle.
    pub fn running_for(&self) -> Option<Duration> {
        match self.0.started.load(Ordering::Relaxed) {
            0 => None,
            start => Some(
                self.0
                    .base
                    .elapsed()
                    .saturating_sub(Duration::from_micros(start - 1)),
            ),
        }
    }

    fn start(&self) {
        self.0.kill.store(false, Ordering::Relaxed);
        let since = u64::try_from(self.0.base.elapsed().as_micros()).unwrap_or(u64::MAX - 1);
        self.0.started.store(since + 1, Ordering::Relaxed);
    }

    fn stop(&self) {
        self.0.started.store(0, Ordering::Relaxed);
    }

    fn requested(&self) -> bool {
        self.0.kill.load(Ordering::Relaxed)
    }
}

/// One function of a library.
#[derive(Debug, Clone)]
pub struct FunctionInfo {
    pub name: String,
    pub description: Option<String>,
    pub flags: ScriptFlags,
}

/// How `FUNCTION RESTORE` joins a payload's libraries with the loaded ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestorePolicy {
    /// Delete every loaded library first.
    Flush,
    /// Fail if the payload holds a library that is loaded (Redis's default).
    #[default]
    Append,
    /// Replace loaded libraries of the same name.
    Replace,
}

/// `Function … already exists`.
fn function_exists(name: &str) -> ScriptError {
    ScriptError::invalid(format!("Function {name} already exists"))
}

/// A loaded library, as `FUNCTION LIST`/`DUMP` need it.
#[derive(Debug, Clone)]
pub struct LibraryInfo {
    pub name: String,
    /// The engine as the metadata spelled it (Redis lists `LUA`).
    pub engine: String,
    pub code: Vec<u8>,
    pub functions: Vec<FunctionInfo>,
}

struct Library {
    info: LibraryInfo,
}

/// Per-state data the Rust functions of the `redis` table reach through `app_data`.
struct RunState {
    resp: Resp,
    rng: Rand48,
    log: Option<LogSink>,
    /// The engine's [`KillHandle`].
    kill: KillHandle,
    /// Set once the hook has seen the kill flag during this run.
    killed: bool,
    /// Whether the hook is the counting one on the main thread (what a run starts with), so
    /// runs skip reinstalling it.
    main_hooked: bool,
    /// See [`ScriptEngine::set_busy_tick`].
    tick: Option<BusyTick>,
    /// The memory limit ([`ScriptEngine::set_memory_limit`]), for `redis.call`'s [`unlimited`].
    memory_limit: usize,
}

/// A function registered while a library loads.
struct Registered {
    info: FunctionInfo,
    callback: Function,
}

/// A Lua state set up as Redis 7.0's scripting environment.
pub struct ScriptEngine {
    lua: Lua,
    /// The real globals table behind the read-only proxy (KEYS and ARGV are set here).
    globals: Table,
    /// The real `redis` table library bodies see while they load.
    load_redis: Table,
    run_eval: Function,
    run_function: Function,
    run_load: Function,
    /// SHA1 → flags of the cached scripts; their compiled functions live in `script_functions`.
    scripts: HashMap<String, ScriptFlags>,
    /// Lua table SHA1 → compiled script. Compiled functions stay in Lua tables rather than in
    /// Rust handles: every mlua handle holds a slot of a fixed-size auxiliary stack (about
    /// 8000), which a large script cache would exhaust.
    script_functions: Table,
    /// Lua table function name → callback.
    function_callbacks: Table,
    libraries: BTreeMap<String, Library>,
    /// Function name → library name.
    functions: HashMap<String, String>,
    kill: KillHandle,
    /// The memory cap given to [`ScriptEngine::set_memory_limit`] (0: none).
    memory_limit: usize,
    runs_since_gc: u32,
}

impl ScriptEngine {
    /// Builds the environment: base, table, string and math libraries, Redis's `cjson`,
    /// `cmsgpack`, `bit` and `struct`, the `redis` table, and the read-only sandbox.
    ///
    /// # Errors
    /// [`ScriptError::Engine`] if the Lua state cannot be created (out of memory).
    pub fn new() -> Result<ScriptEngine, ScriptError> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::new(),
        )?;
        let kill = KillHandle::default();
        lua.set_app_data(RunnerSlot(None));
        lua.set_app_data(RunState {
            resp: Resp::Resp2,
            rng: Rand48::default(),
            log: None,
            kill: kill.clone(),
            killed: false,
            main_hooked: false,
            tick: None,
            memory_limit: 0,
        });
        let g = lua.globals();
        libs::register(&lua, &g)?;
        install_math_random(&lua, &g)?;

        let redis = lua.create_table()?;
        install_redis_api(&lua, &redis)?;
        g.raw_set("redis", redis)?;

        let load_redis = lua.create_table()?;
        install_log_api(&lua, &load_redis)?;
        let load_api = lua.create_table()?;
        load_api.raw_set("redis", load_redis)?;

        let allow = lua.create_table()?;
        for name in GLOBALS_ALLOWED {
            allow.raw_set(*name, true)?;
        }
        let handler = lua.create_function(raise::error_handler)?;
        let normalize = lua.create_function(raise::normalize)?;
        let hooks = lua.create_table()?;
        hooks.raw_set(
            "hook_on",
            lua.create_function(|lua, thread: Value| {
                if let Value::Thread(thread) = thread {
                    hook_thread(lua, &thread);
                }
                Ok(())
            })?,
        )?;
        hooks.raw_set(
            "rehook",
            lua.create_function(|lua, ()| {
                hook_thread(lua, &lua.current_thread());
                Ok(())
            })?,
        )?;
        hooks.raw_set(
            "binary_chunk_error",
            lua.create_function(|_, name: mlua::String| {
                Ok(format!(
                    "{}:1: unexpected symbol near 'char(27)'",
                    raise::short_src(&name.to_string_lossy())
                ))
            })?,
        )?;
        hooks.raw_set(
            "raise_string",
            lua.create_function(|_, msg: mlua::String| -> mlua::Result<()> {
                Err(raise::raise_message(msg.to_string_lossy()))
            })?,
        )?;
        let internal: Table = lua
            .load(include_str!("sandbox.lua"))
            .set_name(INTERNAL_CHUNK)
            .call((g, load_api, handler, normalize, allow, hooks))?;
        Ok(ScriptEngine {
            globals: internal.raw_get("globals")?,
            load_redis: internal.raw_get("load_redis")?,
            run_eval: internal.raw_get("run_eval")?,
            run_function: internal.raw_get("run_function")?,
            run_load: internal.raw_get("run_load")?,
            script_functions: lua.create_table()?,
            function_callbacks: lua.create_table()?,
            lua,
            scripts: HashMap::new(),
            libraries: BTreeMap::new(),
            functions: HashMap::new(),
            kill,
            memory_limit: 0,
            runs_since_gc: 0,
        })
    }

    /// A handle that kills the running script from another thread.
    pub fn kill_handle(&self) -> KillHandle {
        self.kill.clone()
    }

    /// Where `redis.log` lines go (dropped until one is set).
    pub fn set_log_sink(&mut self, sink: LogSink) {
        if let Some(mut state) = self.lua.app_data_mut::<RunState>() {
            state.log = Some(sink);
        }
    }

    /// What the kill hook calls while a script runs ([`BusyTick`]).
    pub fn set_busy_tick(&mut self, tick: BusyTick) {
        if let Some(mut state) = self.lua.app_data_mut::<RunState>() {
            state.tick = Some(tick);
        }
    }

    /// Caps the memory of the Lua state; an allocation past it fails the script with an error
    /// and leaves the engine usable. 0 removes the cap.
    ///
    /// # Errors
    /// [`ScriptError::Engine`] if the limit cannot be set.
    pub fn set_memory_limit(&mut self, bytes: usize) -> Result<(), ScriptError> {
        self.lua.set_memory_limit(bytes)?;
        self.memory_limit = bytes;
        if let Some(mut state) = self.lua.app_data_mut::<RunState>() {
            state.memory_limit = bytes;
        }
        Ok(())
    }

    /// A full collection. The limit is lifted meanwhile: at the limit, the collection itself
    /// fails for want of memory (mlua runs it in protected mode).
    fn collect_garbage(&self) {
        if self.memory_limit != 0 {
            let _ = self.lua.set_memory_limit(0);
        }
        let _ = self.lua.gc_collect();
        if self.memory_limit != 0 {
            let _ = self.lua.set_memory_limit(self.memory_limit);
        }
    }

    /// Bytes the Lua state uses (`used_memory_lua`).
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    // ---- EVAL scripts ----------------------------------------------------------------------

    /// Compiles `body` into the script cache (`SCRIPT LOAD`, and `EVAL` before it runs) and
    /// returns its SHA1 and flags. A body already cached is not compiled again.
    ///
    /// # Errors
    /// [`ScriptError::Invalid`] with Redis's text for a bad shebang or a compile error
    /// (`Error compiling script (new function): user_script:1: …`).
    pub fn load_script(&mut self, body: &[u8]) -> Result<(String, ScriptFlags), ScriptError> {
        let sha = body::sha1_hex(body);
        if let Some(flags) = self.scripts.get(&sha) {
            return Ok((sha, *flags));
        }
        let shebang = body::parse_shebang(body)?;
        if body.get(shebang.len) == Some(&0x1b) {
            // Redis's Lua parses bytecode as text, and fails on its first byte.
            return Err(ScriptError::invalid(
                "Error compiling script (new function): user_script:1: unexpected symbol near 'char(27)'",
            ));
        }
        let function = self
            .lua
            .load(&body[shebang.len..])
            .set_name("@user_script")
            .set_mode(mlua::ChunkMode::Text)
            .into_function()
            .map_err(|e| {
                ScriptError::invalid(format!(
                    "Error compiling script (new function): {}",
                    compile_message(&e)
                ))
            })?;
        self.script_functions.raw_set(sha.as_str(), function)?;
        self.scripts.insert(sha.clone(), shebang.flags);
        Ok((sha, shebang.flags))
    }

    /// Whether a script with this SHA1 (lowercase or not) is cached (`SCRIPT EXISTS`).
    pub fn script_exists(&self, sha: &str) -> bool {
        self.scripts.contains_key(&sha.to_ascii_lowercase())
    }

    /// The flags of a cached script.
    pub fn script_flags(&self, sha: &str) -> Option<ScriptFlags> {
        self.scripts.get(&sha.to_ascii_lowercase()).copied()
    }

    /// Empties the script cache (`SCRIPT FLUSH`).
    pub fn flush_scripts(&mut self) {
        self.scripts.clear();
        if let Ok(fresh) = self.lua.create_table() {
            self.script_functions = fresh;
        }
        // Redis recreates its Lua state here; dropping the functions lets the GC reclaim them.
        self.collect_garbage();
    }

    /// `EVAL`: caches `body` and runs it with `KEYS` and `ARGV`; returns the reply and the
    /// runner.
    ///
    /// # Panics
    /// Only if the runner itself panics inside `call` (the panic continues once the script has
    /// unwound); nothing a script does panics here.
    pub fn eval<R: CommandRunner>(
        &mut self,
        body: &[u8],
        keys: &[Vec<u8>],
        args: &[Vec<u8>],
        runner: R,
    ) -> (Reply, R) {
        match self.load_script(body) {
            Ok((sha, _)) => self.eval_sha(&sha, keys, args, runner),
            Err(e) => (Reply::Error(e.reply_text()), runner),
        }
    }

    /// `EVALSHA`: runs a cached script, or replies `NOSCRIPT`; returns the reply and the
    /// runner.
    ///
    /// # Panics
    /// As [`ScriptEngine::eval`].
    ///
    /// `keys` and `args` are anything that reads as bytes (the wire's archived vectors too),
    /// so a caller need not copy them before they are copied into Lua.
    pub fn eval_sha<R: CommandRunner, K: AsRef<[u8]>, A: AsRef<[u8]>>(
        &mut self,
        sha: &str,
        keys: &[K],
        args: &[A],
        runner: R,
    ) -> (Reply, R) {
        // The cache is keyed by the lowercase SHA1; callers mostly pass it lowercase already.
        let sha: std::borrow::Cow<'_, str> = if sha.bytes().any(|b| b.is_ascii_uppercase()) {
            sha.to_ascii_lowercase().into()
        } else {
            sha.into()
        };
        // The lookup and KEYS/ARGV allocate only what the request brought, so they run
        // without the memory limit (see `unlimited`); the script itself runs under it.
        let setup = unlimited(&self.lua, self.memory_limit, || -> mlua::Result<_> {
            let Value::Function(function) = self.script_functions.raw_get::<Value>(&*sha)? else {
                return Ok(None);
            };
            self.globals
                .raw_set("KEYS", string_array(&self.lua, keys)?)?;
            self.globals
                .raw_set("ARGV", string_array(&self.lua, args)?)?;
            Ok(Some(function))
        });
        let function = match setup {
            Ok(Some(function)) => function,
            Ok(None) => {
                return (
                    Reply::Error("NOSCRIPT No matching script. Please use EVAL.".to_owned()),
                    runner,
                )
            }
            Err(e) => return (engine_error(&e), runner),
        };
        let run = self.run_eval.clone();
        self.run(runner, &sha, |_| run.call::<MultiValue>(function))
    }

    // ---- FUNCTION libraries ----------------------------------------------------------------

    /// `FUNCTION LOAD [REPLACE]`: checks the metadata, runs the library body with only the
    /// load-time API visible, and installs its functions. Returns the library name.
    ///
    /// # Errors
    /// [`ScriptError::Invalid`] with Redis's text: metadata errors, `Library '…' already
    /// exists`, `Error compiling function: …`, `Error registering functions: …`, `No functions
    /// registered`, `Function … already exists`.
    pub fn load_library(&mut self, code: &[u8], replace: bool) -> Result<String, ScriptError> {
        let meta = body::parse_library_meta(code)?;
        if self.libraries.contains_key(&meta.name) && !replace {
            return Err(ScriptError::invalid(format!(
                "Library '{}' already exists",
                meta.name
            )));
        }
        let registered = self.compile_library(code, &meta)?;
        for f in &registered {
            if let Some(owner) = self.functions.get(&f.info.name) {
                if *owner != meta.name {
                    return Err(function_exists(&f.info.name));
                }
            }
        }
        self.remove_library(&meta.name);
        let mut infos = Vec::new();
        for f in registered {
            self.functions
                .insert(f.info.name.clone(), meta.name.clone());
            self.function_callbacks
                .raw_set(f.info.name.as_str(), f.callback)?;
            infos.push(f.info);
        }
        let info = LibraryInfo {
            name: meta.name.clone(),
            engine: "LUA".to_owned(),
            code: code.to_vec(),
            functions: infos,
        };
        self.libraries.insert(meta.name.clone(), Library { info });
        Ok(meta.name)
    }

    /// Compiles a library and runs its body with only the load-time API visible; returns
    /// what it registered. Installs nothing.
    fn compile_library(
        &mut self,
        code: &[u8],
        meta: &body::LibraryMeta,
    ) -> Result<Vec<Registered>, ScriptError> {
        let chunk = self
            .lua
            .load(&code[meta.len..])
            .set_name("@user_function")
            .set_mode(mlua::ChunkMode::Text)
            .into_function()
            .map_err(|e| {
                ScriptError::invalid(format!("Error compiling function: {}", compile_message(&e)))
            })?;

        let registered = RefCell::new(Vec::<Registered>::new());
        hook_load(&self.lua, Instant::now() + LOAD_TIMEOUT);
        let outcome = self.lua.scope(|scope| {
            let register = scope
                .create_function(|_, args: MultiValue| register_function(args, &registered))?;
            self.load_redis.raw_set("register_function", register)?;
            // As in `run`: an mlua panic (handle stack exhausted) fails the load, not the thread.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.run_load.call::<(bool, Value)>(chunk)
            }))
            .unwrap_or_else(|_| {
                Err(mlua::Error::runtime(
                    "the Lua engine ran out of handle slots",
                ))
            });
            self.load_redis.raw_set("register_function", Value::Nil)?;
            result
        });
        let (ok, err) = outcome
            .map_err(|e| ScriptError::invalid(format!("Error registering functions: ERR {e}")))?;
        if !ok {
            let msg = match err {
                Value::Table(t) => t
                    .raw_get::<String>("err")
                    .unwrap_or_else(|_| "ERR unknown error".to_owned()),
                other => format!("ERR {}", other.to_string().unwrap_or_default()),
            };
            return Err(ScriptError::invalid(format!(
                "Error registering functions: {}",
                convert::error_line(msg.as_bytes())
            )));
        }
        let registered = registered.into_inner();
        if registered.is_empty() {
            return Err(ScriptError::invalid("No functions registered"));
        }
        Ok(registered)
    }

    /// `FUNCTION DUMP`: every library's code, as redis-server 7.0 serialises them (see
    /// [`crate::dump`]).
    pub fn dump_functions(&self) -> Vec<u8> {
        dump::dump_libraries(self.libraries.values().map(|l| l.info.code.as_slice()))
    }

    /// `FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]`. As Redis, the payload's libraries
    /// are first loaded apart (a payload that fails anywhere changes nothing), then joined
    /// with the loaded ones by `policy`.
    ///
    /// # Errors
    /// [`ScriptError::Invalid`] with redis-server 7.0.15's texts: the payload's
    /// ([`dump::parse_dump`]), any `FUNCTION LOAD` error of a library in it (`Library 'x'
    /// already exists` when it names a library twice, `Function f already exists` when two
    /// of its libraries register `f`), and for `APPEND` `Library x already exists` (no
    /// quotes, as Redis), for `APPEND`/`REPLACE` `Function f already exists` when `f`
    /// belongs to a loaded library the restore keeps.
    pub fn restore_functions(
        &mut self,
        payload: &[u8],
        policy: RestorePolicy,
    ) -> Result<(), ScriptError> {
        let codes = dump::read_dump(payload)?;
        // Callbacks wait in a Lua table, not in mlua handles (see `script_functions`).
        let staging = self.lua.create_table()?;
        let mut staged: Vec<LibraryInfo> = Vec::new();
        let mut staged_functions: HashSet<String> = HashSet::new();
        for code in codes {
            let code = code?;
            let meta = body::parse_library_meta(&code)?;
            if staged.iter().any(|lib| lib.name == meta.name) {
                return Err(ScriptError::invalid(format!(
                    "Library '{}' already exists",
                    meta.name
                )));
            }
            let registered = self.compile_library(&code, &meta)?;
            if let Some(f) = registered
                .iter()
                .find(|f| staged_functions.contains(&f.info.name))
            {
                return Err(function_exists(&f.info.name));
            }
            let mut functions = Vec::with_capacity(registered.len());
            for f in registered {
                staged_functions.insert(f.info.name.clone());
                staging.raw_set(f.info.name.as_str(), f.callback)?;
                functions.push(f.info);
            }
            staged.push(LibraryInfo {
                name: meta.name,
                engine: "LUA".to_owned(),
                code,
                functions,
            });
        }
        match policy {
            RestorePolicy::Flush => self.flush_functions(),
            RestorePolicy::Append | RestorePolicy::Replace => {
                let replaced: Vec<&str> = staged
                    .iter()
                    .filter(|lib| self.libraries.contains_key(&lib.name))
                    .map(|lib| lib.name.as_str())
                    .collect();
                if let (RestorePolicy::Append, Some(name)) = (policy, replaced.first()) {
                    return Err(ScriptError::invalid(format!(
                        "Library {name} already exists"
                    )));
                }
                for f in staged.iter().flat_map(|lib| &lib.functions) {
                    if let Some(owner) = self.functions.get(&f.name) {
                        if !replaced.contains(&owner.as_str()) {
                            return Err(function_exists(&f.name));
                        }
                    }
                }
                let replaced: Vec<String> = replaced.into_iter().map(str::to_owned).collect();
                for name in &replaced {
                    self.remove_library(name);
                }
            }
        }
        for info in staged {
            for f in &info.functions {
                let callback: Value = staging.raw_get(f.name.as_str())?;
                self.function_callbacks.raw_set(f.name.as_str(), callback)?;
                self.functions.insert(f.name.clone(), info.name.clone());
            }
            self.libraries.insert(info.name.clone(), Library { info });
        }
        Ok(())
    }

    fn remove_library(&mut self, name: &str) -> bool {
        let Some(old) = self.libraries.remove(name) else {
            return false;
        };
        for f in &old.info.functions {
            self.functions.remove(&f.name);
            let _ = self.function_callbacks.raw_set(f.name.as_str(), Value::Nil);
        }
        true
    }

    /// `FUNCTION DELETE`.
    ///
    /// # Errors
    /// `ERR Library not found`.
    pub fn delete_library(&mut self, name: &str) -> Result<(), ScriptError> {
        if self.remove_library(name) {
            Ok(())
        } else {
            Err(ScriptError::invalid("Library not found"))
        }
    }

    /// `FUNCTION FLUSH`.
    pub fn flush_functions(&mut self) {
        self.libraries.clear();
        self.functions.clear();
        if let Ok(fresh) = self.lua.create_table() {
            self.function_callbacks = fresh;
        }
        self.collect_garbage();
    }

    /// The loaded libraries, by name.
    pub fn libraries(&self) -> impl Iterator<Item = &LibraryInfo> {
        self.libraries.values().map(|l| &l.info)
    }

    /// The flags of a function, if it exists.
    pub fn function_flags(&self, name: &str) -> Option<ScriptFlags> {
        let lib = self.libraries.get(self.functions.get(name)?)?;
        lib.info
            .functions
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.flags)
    }

    /// `FCALL`: runs a function with its keys and arguments tables; returns the reply and
    /// the runner.
    ///
    /// # Panics
    /// As [`ScriptEngine::eval`].
    pub fn fcall<R: CommandRunner>(
        &mut self,
        name: &str,
        keys: &[Vec<u8>],
        args: &[Vec<u8>],
        runner: R,
    ) -> (Reply, R) {
        let callback = match self.function_callbacks.raw_get::<Value>(name) {
            Ok(Value::Function(f)) if self.functions.contains_key(name) => f,
            _ => return (Reply::Error("ERR Function not found".to_owned()), runner),
        };
        let tables = (|| -> mlua::Result<(Table, Table)> {
            // Redis runs functions in a Lua state of their own, where the last EVAL's KEYS and
            // ARGV do not exist.
            self.globals.raw_set("KEYS", Value::Nil)?;
            self.globals.raw_set("ARGV", Value::Nil)?;
            Ok((
                string_array(&self.lua, keys)?,
                string_array(&self.lua, args)?,
            ))
        })();
        let (keys, args) = match tables {
            Ok(t) => t,
            Err(e) => return (engine_error(&e), runner),
        };
        let run = self.run_function.clone();
        self.run(runner, name, |_| {
            run.call::<MultiValue>((callback, keys, args))
        })
    }

    /// Runs `call` (which invokes one of the sandbox's runners) with `redis.call`/`pcall`
    /// bound to `runner`, and converts its outcome into the reply. `name` is what error
    /// replies call the script (its SHA1, or the function name).
    fn run<R: CommandRunner>(
        &mut self,
        runner: R,
        name: &str,
        call: impl FnOnce(&Lua) -> mlua::Result<MultiValue>,
    ) -> (Reply, R) {
        self.kill.start();
        let hooked = match self.lua.app_data_mut::<RunState>() {
            Some(mut state) => {
                state.resp = Resp::Resp2;
                state.killed = false;
                state.main_hooked
            }
            None => false,
        };
        if !hooked {
            hook_main(&self.lua);
        }
        if let Some(mut slot) = self.lua.app_data_mut::<RunnerSlot>() {
            slot.0 = Some(Box::new(runner));
        }
        // Last line of defence: mlua panics when its handle stack (about 8000 slots) runs out,
        // which a call with thousands of string arguments can do; that must cost the script,
        // not the thread running scripts.
        let outcome =
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(&self.lua))) {
                Ok(outcome) => outcome,
                Err(_) => Err(mlua::Error::runtime(
                    "the Lua engine ran out of handle slots",
                )),
            };
        self.kill.stop();
        // Invariant: the slot holds the runner put there above; `redis_call` takes it only for
        // the duration of one command and always puts it back.
        let boxed = self
            .lua
            .app_data_mut::<RunnerSlot>()
            .and_then(|mut slot| slot.0.take())
            .expect("the runner stays in its slot between commands");
        let runner = match (boxed as Box<dyn Any>).downcast::<R>() {
            Ok(runner) => *runner,
            Err(_) => unreachable!("the slot holds the runner of this run, of type R"),
        };
        let resp = self
            .lua
            .app_data_ref::<RunState>()
            .map(|s| s.resp)
            .unwrap_or_default();
        let killed = self
            .lua
            .app_data_ref::<RunState>()
            .is_some_and(|s| s.killed);
        let reply = match outcome {
            Ok(values) => {
                let mut values = values.into_iter();
                let ok = matches!(values.next(), Some(Value::Boolean(true)));
                let value = values.next().unwrap_or(Value::Nil);
                if ok {
                    lua_to_reply(&value, resp)
                } else if killed {
                    Reply::Error(with_position(raise::KILLED, &value, name))
                } else {
                    error_reply(&value, name)
                }
            }
            // The kill escaped the runner's xpcall (raised while unwinding through it).
            Err(_) if killed => Reply::Error(raise::KILLED.to_owned()),
            Err(e) => engine_error(&e),
        };
        if matches!(reply, Reply::Error(_)) {
            // A script that failed may have failed for memory: give the garbage back now so
            // the next script does not start at the limit.
            self.collect_garbage();
        }
        // Redis steps the collector every 50 scripts (LUA_GC_CYCLE_PERIOD) by 50 KiB.
        self.runs_since_gc += 1;
        if self.runs_since_gc >= GC_CYCLE_PERIOD {
            self.runs_since_gc = 0;
            let _ = self.lua.gc_step_kbytes(GC_CYCLE_PERIOD as i32);
        }
        (reply, runner)
    }
}

/// Puts the kill hook on `thread`: a check of the kill flag every [`HOOK_INSTRUCTIONS`]
/// instructions. Once the flag is seen, the hook fires on every line and raises each time, as
/// Redis's does, so a `pcall` in a loop cannot swallow the kill.
///
/// mlua keeps one hooked thread at a time, so the sandbox's `coroutine.resume`/`wrap` move the
/// hook onto the coroutine they resume and back when it returns; without that, a loop inside
/// a coroutine could not be killed.
fn hook_thread(lua: &Lua, thread: &mlua::Thread) {
    // Whoever installs the hook on a thread other than "main, counting" must make the next
    // run reinstall that one; hook_main sets the flag back once it has.
    let Some((handle, killed)) = lua.app_data_mut::<RunState>().map(|mut s| {
        s.main_hooked = false;
        (s.kill.clone(), s.killed)
    }) else {
        return;
    };
    let triggers = if killed {
        HookTriggers::new().every_line()
    } else {
        HookTriggers::new().every_nth_instruction(HOOK_INSTRUCTIONS)
    };
    thread.set_hook(triggers, move |lua, debug| {
        if let Some(mut state) = lua.app_data_mut::<RunState>() {
            if let Some(tick) = state.tick.as_mut() {
                tick();
            }
        }
        if !handle.requested() || in_sandbox_code(&debug) {
            return Ok(VmState::Continue);
        }
        let first = match lua.app_data_mut::<RunState>() {
            Some(mut state) => !std::mem::replace(&mut state.killed, true),
            None => false,
        };
        if first {
            hook_thread(lua, &lua.current_thread());
        }
        Err(mlua::Error::external(Raise::Killed))
    });
}

/// The hook of `FUNCTION LOAD`: past `deadline` the body fails with Redis's "FUNCTION LOAD
/// timeout", raised on every line from then on so `pcall` cannot hold it. The next run puts
/// the kill hook back.
fn hook_load(lua: &Lua, deadline: Instant) {
    if let Some(mut state) = lua.app_data_mut::<RunState>() {
        state.main_hooked = false;
    }
    lua.current_thread().set_hook(
        HookTriggers::new().every_nth_instruction(HOOK_INSTRUCTIONS),
        move |lua, _| {
            if Instant::now() < deadline {
                return Ok(VmState::Continue);
            }
            lua.current_thread()
                .set_hook(HookTriggers::new().every_line(), |_, debug| {
                    if in_sandbox_code(&debug) {
                        return Ok(VmState::Continue);
                    }
                    Err(raise_table("ERR FUNCTION LOAD timeout"))
                });
            Err(raise_table("ERR FUNCTION LOAD timeout"))
        },
    );
}

/// Whether a hook fired in the sandbox's own Lua (its runners and wrappers), where raising
/// would escape the runner's `xpcall`; the next user line gets the error instead.
fn in_sandbox_code(debug: &mlua::Debug) -> bool {
    debug.source().source.as_deref() == Some(INTERNAL_CHUNK)
}

/// The counting hook on the main thread, as every run starts.
fn hook_main(lua: &Lua) {
    hook_thread(lua, &lua.current_thread());
    if let Some(mut state) = lua.app_data_mut::<RunState>() {
        state.main_hooked = !state.killed;
    }
}

/// The globals Redis 7.0.15 leaves to scripts (`pairs(_G)` on redis-server, minus `KEYS`
/// and `ARGV`, which each EVAL sets).
const GLOBALS_ALLOWED: &[&str] = &[
    "_G",
    "_VERSION",
    "assert",
    "bit",
    "cjson",
    "cmsgpack",
    "collectgarbage",
    "coroutine",
    "error",
    "gcinfo",
    "getmetatable",
    "ipairs",
    "load",
    "loadstring",
    "math",
    "next",
    "pairs",
    "pcall",
    "rawequal",
    "rawget",
    "rawset",
    "redis",
    "select",
    "setmetatable",
    "string",
    "struct",
    "table",
    "tonumber",
    "tostring",
    "type",
    "unpack",
    "xpcall",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `redis.call`: an error reply is raised.
    Raise,
    /// `redis.pcall`: an error reply is returned as `{err=…}`.
    Return,
}

/// The message of a compile error ("user_script:1: unexpected symbol near '<eof>'").
fn compile_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// The reply for a script that raised `value` (the error handler's table).
fn error_reply(value: &Value, name: &str) -> Reply {
    let Value::Table(t) = value else {
        let msg = value
            .to_string()
            .unwrap_or_else(|_| "execution failure".to_owned());
        let msg: String = msg.chars().take(100).collect();
        return Reply::Error(convert::error_line(
            format!("ERR Error running script {name}, {msg}").as_bytes(),
        ));
    };
    let msg = t
        .raw_get::<String>("err")
        .unwrap_or_else(|_| "ERR unknown error".to_owned());
    Reply::Error(with_position(&msg, value, name))
}

/// `msg` followed by " script: NAME, on SOURCE:LINE." when the handler located the error.
fn with_position(msg: &str, value: &Value, name: &str) -> String {
    let mut text = convert::error_line(msg.as_bytes());
    if let Value::Table(t) = value {
        if let (Ok(source), Ok(line)) = (t.raw_get::<String>("source"), t.raw_get::<i64>("line")) {
            text.push_str(&format!(" script: {name}, on {source}:{line}."));
        }
    }
    text
}

/// A failure of the Lua machinery itself (allocation past the memory limit, …).
fn engine_error(e: &mlua::Error) -> Reply {
    let msg = match e {
        mlua::Error::MemoryError(_) => "ERR Lua script ran out of memory".to_owned(),
        other => format!("ERR Error running script: {other}"),
    };
    Reply::Error(convert::error_line(msg.as_bytes()))
}

/// Runs `f` with the Lua state's memory limit (`limit`, 0: none) lifted. While a limit is
/// set, mlua wraps every string, table and table store it makes in a protected call (a C
/// closure allocated, then `lua_pcall`), which made up most of the Rust-side cost of an
/// `EVALSHA` and of a `redis.call`. Only for allocations bounded by the request or by a
/// command's small reply, never around script code: the limit is back when `f` returns, and
/// the script's next allocation past it fails as before.
fn unlimited<T>(lua: &Lua, limit: usize, f: impl FnOnce() -> T) -> T {
    if limit == 0 {
        return f();
    }
    let _ = lua.set_memory_limit(0);
    let out = f();
    let _ = lua.set_memory_limit(limit);
    out
}

fn string_array<K: AsRef<[u8]>>(lua: &Lua, items: &[K]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, lua.create_string(item.as_ref())?)?;
    }
    Ok(t)
}

/// The command arguments of `redis.call`: strings as they are, numbers as `%.17g`.
fn command_args(args: &MultiValue) -> Result<Vec<Vec<u8>>, &'static str> {
    if args.is_empty() {
        return Err("ERR Please specify at least one argument for this redis lib call");
    }
    let mut out = Vec::with_capacity(args.len());
    for arg in args.iter() {
        out.push(match arg {
            Value::String(s) => s.as_bytes().to_vec(),
            Value::Number(n) => format_g(*n, 17).into_bytes(),
            Value::Integer(i) => format_g(*i as f64, 17).into_bytes(),
            _ => return Err("ERR Lua redis lib command arguments must be strings or integers"),
        });
    }
    Ok(out)
}

/// The runner of the script being run, while it runs (app data of the Lua state).
struct RunnerSlot(Option<Box<dyn CommandRunner>>);

/// Runs `f` with the runner taken out of its slot, and puts it back.
fn with_runner<T>(lua: &Lua, f: impl FnOnce(&mut dyn CommandRunner) -> T) -> mlua::Result<T> {
    let taken = lua
        .app_data_mut::<RunnerSlot>()
        .and_then(|mut slot| slot.0.take());
    let Some(mut runner) = taken else {
        // Outside a run (a callback kept from an earlier one) or re-entered from a hook.
        return Err(raise_table(
            "ERR redis.call/pcall can only be called inside a script invocation",
        ));
    };
    let result = f(runner.as_mut());
    if let Some(mut slot) = lua.app_data_mut::<RunnerSlot>() {
        slot.0 = Some(runner);
    }
    Ok(result)
}

fn redis_call(lua: &Lua, args: MultiValue, mode: Mode) -> mlua::Result<Value> {
    let argv = match command_args(&args) {
        Ok(argv) => argv,
        Err(msg) if mode == Mode::Raise => return Err(raise_table(msg)),
        Err(msg) => return Ok(Value::Table(convert::error_table(lua, msg)?)),
    };
    drop(args);
    let (resp, limit) = lua
        .app_data_ref::<RunState>()
        .map(|s| (s.resp, s.memory_limit))
        .unwrap_or_default();
    let reply = with_runner(lua, |runner| runner.call(argv, resp))?;
    if let (Reply::Error(text), Mode::Raise) = (&reply, mode) {
        return Err(raise_table(convert::error_field(text)));
    }
    if small_reply(&reply) {
        unlimited(lua, limit, || reply_to_lua(lua, &reply, resp))
    } else {
        reply_to_lua(lua, &reply, resp)
    }
}

/// Replies converted to Lua without the memory limit ([`unlimited`]): one value of at most
/// [`SMALL_REPLY`] bytes, which can overshoot the limit by no more than that.
fn small_reply(reply: &Reply) -> bool {
    match reply {
        Reply::Integer(_) | Reply::Nil | Reply::NilArray | Reply::Bool(_) | Reply::Double(_) => {
            true
        }
        Reply::Simple(s) | Reply::Error(s) => s.len() <= SMALL_REPLY,
        Reply::Bulk(b) => b.len() <= SMALL_REPLY,
        _ => false,
    }
}

/// See [`small_reply`].
const SMALL_REPLY: usize = 4096;

fn acl_check_cmd(lua: &Lua, args: MultiValue) -> mlua::Result<Value> {
    let argv = command_args(&args).map_err(raise_table)?;
    match with_runner(lua, |runner| runner.acl_check(&argv))? {
        Some(allowed) => Ok(Value::Boolean(allowed)),
        None => Err(raise_table(
            "ERR Invalid command passed to redis.acl_check_cmd()",
        )),
    }
}

/// `lua_tostring` of an argument: strings, and numbers as Lua prints them (`%.14g`).
fn lua_tostring(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Number(n) => Some(format_g(*n, 14).into_bytes()),
        Value::Integer(i) => Some(format_g(*i as f64, 14).into_bytes()),
        _ => None,
    }
}

/// `lua_tonumber`: numbers, and strings that read as numbers; 0 otherwise.
fn lua_tonumber(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => Some(*n),
        Value::Integer(i) => Some(*i as f64),
        Value::String(s) => {
            let text = s.to_string_lossy();
            let text = text.trim();
            if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                return u64::from_str_radix(hex, 16).ok().map(|v| v as f64);
            }
            text.parse::<f64>().ok()
        }
        _ => None,
    }
}

fn install_redis_api(lua: &Lua, redis: &Table) -> mlua::Result<()> {
    install_log_api(lua, redis)?;
    redis.raw_set(
        "call",
        lua.create_function(|lua, args: MultiValue| redis_call(lua, args, Mode::Raise))?,
    )?;
    redis.raw_set(
        "pcall",
        lua.create_function(|lua, args: MultiValue| redis_call(lua, args, Mode::Return))?,
    )?;
    redis.raw_set("acl_check_cmd", lua.create_function(acl_check_cmd)?)?;
    redis.raw_set(
        "sha1hex",
        lua.create_function(|_, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise_table("ERR wrong number of arguments"));
            }
            let bytes = args
                .iter()
                .next()
                .and_then(lua_tostring)
                .unwrap_or_default();
            Ok(body::sha1_hex(&bytes))
        })?,
    )?;
    redis.raw_set(
        "error_reply",
        lua.create_function(|lua, args: MultiValue| {
            let text = match (args.len(), args.iter().next()) {
                (1, Some(Value::String(s))) => {
                    let text = s.to_string_lossy();
                    convert::error_field(text.strip_prefix('-').unwrap_or(&text))
                }
                _ => "ERR wrong number or type of arguments".to_owned(),
            };
            convert::error_table(lua, &text)
        })?,
    )?;
    redis.raw_set(
        "status_reply",
        lua.create_function(
            |lua, args: MultiValue| match (args.len(), args.iter().next()) {
                (1, Some(Value::String(s))) => {
                    let t = lua.create_table_with_capacity(0, 1)?;
                    t.raw_set("ok", s.clone())?;
                    Ok(t)
                }
                _ => convert::error_table(lua, "ERR wrong number or type of arguments"),
            },
        )?,
    )?;
    redis.raw_set(
        "setresp",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise_table("ERR redis.setresp() requires one argument."));
            }
            let resp = match args.iter().next().and_then(lua_tonumber).map(|n| n as i64) {
                Some(2) => Resp::Resp2,
                Some(3) => Resp::Resp3,
                _ => return Err(raise_table("ERR RESP version must be 2 or 3.")),
            };
            if let Some(mut state) = lua.app_data_mut::<RunState>() {
                state.resp = resp;
            }
            Ok(())
        })?,
    )?;
    redis.raw_set(
        "set_repl",
        lua.create_function(|_, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise_table("ERR redis.set_repl() requires two arguments."));
            }
            let flags = args.iter().next().and_then(lua_tonumber).unwrap_or(0.0) as i64;
            if flags & !3 != 0 {
                return Err(raise_table("ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."));
            }
            Ok(())
        })?,
    )?;
    redis.raw_set(
        "replicate_commands",
        lua.create_function(|_, _: MultiValue| Ok(true))?,
    )?;
    redis.raw_set(
        "breakpoint",
        lua.create_function(|_, _: MultiValue| Ok(false))?,
    )?;
    redis.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    for (name, value) in [
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.raw_set(name, value)?;
    }
    Ok(())
}

/// `redis.log`, the `LOG_*` levels and the version: the part of the API library bodies see
/// while they load.
fn install_log_api(lua: &Lua, redis: &Table) -> mlua::Result<()> {
    redis.raw_set(
        "log",
        lua.create_function(|lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            if args.len() < 2 {
                return Err(raise_table(
                    "ERR redis.log() requires two arguments or more.",
                ));
            }
            let Some(level) = lua_tonumber(&args[0]) else {
                return Err(raise_table(
                    "ERR First argument must be a number (log level).",
                ));
            };
            let level = match level as i64 {
                0 => LogLevel::Debug,
                1 => LogLevel::Verbose,
                2 => LogLevel::Notice,
                3 => LogLevel::Warning,
                _ => return Err(raise_table("ERR Invalid debug level.")),
            };
            let mut line = Vec::new();
            for (j, arg) in args[1..].iter().enumerate() {
                if let Some(bytes) = lua_tostring(arg) {
                    if j != 0 {
                        line.push(b' ');
                    }
                    line.extend_from_slice(&bytes);
                }
            }
            if let Some(mut state) = lua.app_data_mut::<RunState>() {
                if let Some(sink) = state.log.as_mut() {
                    sink(level, &line);
                }
            }
            Ok(())
        })?,
    )?;
    for (name, value) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
    ] {
        redis.raw_set(name, value)?;
    }
    redis.raw_set("REDIS_VERSION", REDIS_VERSION)?;
    redis.raw_set("REDIS_VERSION_NUM", REDIS_VERSION_NUM)?;
    Ok(())
}

/// Redis's `math.random`/`math.randomseed` over [`Rand48`].
fn install_math_random(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    let math: Table = globals.raw_get("math")?;
    math.raw_set(
        "random",
        lua.create_function(|lua, args: MultiValue| {
            let args: Vec<Value> = args.into_iter().collect();
            let r = match lua.app_data_mut::<RunState>() {
                Some(mut state) => state.rng.next_unit(),
                None => 0.0,
            };
            let int_arg = |i: usize| -> mlua::Result<i64> {
                let v = args.get(i).unwrap_or(&Value::Nil);
                match lua_tonumber(v) {
                    Some(n) if !matches!(v, Value::Nil) => Ok(n as i32 as i64),
                    _ => Err(raise_message(format!(
                        "bad argument #{} to 'random' (number expected, got {})",
                        i + 1,
                        if args.len() > i {
                            v.type_name()
                        } else {
                            "no value"
                        }
                    ))),
                }
            };
            match args.len() {
                0 => Ok(r),
                1 => {
                    let u = int_arg(0)?;
                    if u < 1 {
                        return Err(raise_message(
                            "bad argument #1 to 'random' (interval is empty)",
                        ));
                    }
                    Ok((r * u as f64).floor() + 1.0)
                }
                2 => {
                    let l = int_arg(0)?;
                    let u = int_arg(1)?;
                    if l > u {
                        return Err(raise_message(
                            "bad argument #2 to 'random' (interval is empty)",
                        ));
                    }
                    Ok((r * (u - l + 1) as f64).floor() + l as f64)
                }
                _ => Err(raise_message("wrong number of arguments")),
            }
        })?,
    )?;
    math.raw_set(
        "randomseed",
        lua.create_function(|lua, args: MultiValue| {
            let v = args.iter().next().cloned().unwrap_or(Value::Nil);
            let Some(seed) = lua_tonumber(&v) else {
                return Err(raise_message(format!(
                    "bad argument #1 to 'randomseed' (number expected, got {})",
                    if args.is_empty() {
                        "no value"
                    } else {
                        v.type_name()
                    }
                )));
            };
            if let Some(mut state) = lua.app_data_mut::<RunState>() {
                state.rng.seed(seed as i32);
            }
            Ok(())
        })?,
    )?;
    Ok(())
}

/// `redis.register_function`, positional (`name, callback`) or named (`{function_name=…,
/// callback=…, flags={…}, description=…}`), with Redis's error texts.
fn register_function(args: MultiValue, out: &RefCell<Vec<Registered>>) -> mlua::Result<()> {
    let fail = |msg: &str| raise_table(format!("ERR {msg}"));
    let args: Vec<Value> = args.into_iter().collect();
    let (name, callback, flags, description) = match args.as_slice() {
        [Value::Table(named)] => read_named_args(named).map_err(&fail)?,
        [_] => {
            return Err(fail(
                "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).",
            ))
        }
        [name, callback] => {
            let Some(name) = lua_tostring(name) else {
                return Err(fail("first argument to redis.register_function must be a string"));
            };
            let Value::Function(callback) = callback else {
                return Err(fail("second argument to redis.register_function must be a function"));
            };
            (name, callback.clone(), ScriptFlags::empty(), None)
        }
        _ => return Err(fail("wrong number of arguments to redis.register_function")),
    };
    if !body::is_valid_name(&name) {
        return Err(fail(INVALID_NAME));
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    let mut out = out.borrow_mut();
    if out.iter().any(|f| f.info.name == name) {
        return Err(fail("Function already exists in the library"));
    }
    out.push(Registered {
        info: FunctionInfo {
            name,
            description,
            flags,
        },
        callback,
    });
    Ok(())
}

type NamedArgs = (Vec<u8>, Function, ScriptFlags, Option<String>);

fn read_named_args(named: &Table) -> Result<NamedArgs, &'static str> {
    let mut name = None;
    let mut callback = None;
    let mut flags = ScriptFlags::empty();
    let mut description = None;
    for pair in named.pairs::<Value, Value>() {
        let Ok((key, value)) = pair else { break };
        let Some(key) = lua_tostring(&key) else {
            return Err("named argument key given to redis.register_function is not a string");
        };
        let key = String::from_utf8_lossy(&key).to_ascii_lowercase();
        match key.as_str() {
            "function_name" => {
                name = Some(lua_tostring(&value).ok_or(
                    "function_name argument given to redis.register_function must be a string",
                )?);
            }
            "description" => {
                let d = lua_tostring(&value).ok_or(
                    "description argument given to redis.register_function must be a string",
                )?;
                description = Some(String::from_utf8_lossy(&d).into_owned());
            }
            "callback" => match value {
                Value::Function(f) => callback = Some(f),
                _ => {
                    return Err(
                        "callback argument given to redis.register_function must be a function",
                    )
                }
            },
            "flags" => {
                let Value::Table(list) = value else {
                    return Err("flags argument to redis.register_function must be a table representing function flags");
                };
                flags = read_flags(&list).ok_or("unknown flag given")?;
            }
            _ => return Err("unknown argument given to redis.register_function"),
        }
    }
    let name = name.ok_or("redis.register_function must get a function name argument")?;
    let callback = callback.ok_or("redis.register_function must get a callback argument")?;
    Ok((name, callback, flags, description))
}

/// Function flags: an array of names, matched case-insensitively (unlike shebang flags).
fn read_flags(list: &Table) -> Option<ScriptFlags> {
    let mut flags = ScriptFlags::empty();
    for i in 1.. {
        let value: Value = list.get(i).ok()?;
        if value.is_nil() {
            break;
        }
        let name = lua_tostring(&value)?;
        let (_, flag) = ScriptFlags::NAMED
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(&name))?;
        flags = flags.union(*flag);
    }
    Some(flags)
}
