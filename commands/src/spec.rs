//! What one row of the command table says about a command: [`CommandSpec`] and the types
//! it is made of (key specs, documentation, how the command runs).
//!
//! Everything here is `'static` data. The values are redis-server 7.0's own (`COMMAND
//! INFO`, `COMMAND DOCS`); `tests/tests/command_info.rs` compares them with a running
//! redis-server.

use crate::args::StorageParser;
use crate::error::CommandError;
use crate::flags::{AclCategories, ArgFlags, Flags, KeySpecFlags};

/// Commands the proxy answers itself, named as data: the proxy matches on this to run its
/// own handler (storaged, running a script, refuses them or runs its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Local {
    Ping,
    Echo,
    Quit,
    Hello,
    Auth,
    Select,
    Reset,
    Time,
    Client,
    Config,
    Info,
    Memory,
    Command,
    Subscribe,
    Unsubscribe,
    PSubscribe,
    PUnsubscribe,
    PubSub,
    Multi,
    Exec,
    Discard,
    Watch,
    Unwatch,
    /// `ROLE`, `WAIT` (server commands answered by the proxy).
    Role,
    Wait,
    /// `OBJECT`, `DEBUG`, `LOLWUT` (`proxy/src/local/object.rs`).
    Object,
    Debug,
    Lolwut,
    /// `SSUBSCRIBE`, `SUNSUBSCRIBE` (`proxy/src/local/subscribe.rs`).
    SSubscribe,
    SUnsubscribe,
    /// `SLOWLOG`, `LATENCY` (observability, `proxy/src/local/slowlog.rs`).
    Slowlog,
    Latency,
    /// `ACL` (`proxy/src/local/acl.rs`).
    Acl,
    /// `MIGRATE` (`proxy/src/local/migrate.rs`).
    Migrate,
    /// `MONITOR` (`proxy/src/local/monitor.rs`).
    Monitor,
    /// `SHUTDOWN` (`proxy/src/local/pause.rs`).
    Shutdown,
}

/// How a command runs.
#[derive(Debug, Clone, Copy)]
pub enum Handler {
    /// Parsed into a typed `Command` and run by storaged.
    Storage(StorageParser),
    /// Answered by the proxy (a subcommand names its container's handler).
    Local(Local),
}

/// One command (or `container|subcommand`) as Redis 7.0 describes it.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Lower-case name, as `COMMAND` reports it; `container|sub` for a subcommand.
    pub name: &'static str,
    /// Redis arity: counts the name (and a subcommand's container); negative means "at
    /// least |arity|".
    pub arity: i32,
    pub flags: Flags,
    /// Legacy key positions: first key argument (1-based, 0 if none), last (-1: the last
    /// argument, -2 the one before …) and step.
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub acl: AclCategories,
    /// Redis's command tips (`nondeterministic_output`, `request_policy:all_shards` …).
    pub tips: &'static [&'static str],
    /// Where the keys are and what the command does to them (`COMMAND INFO`'s ninth field,
    /// and `COMMAND GETKEYS`).
    pub key_specs: &'static [KeySpec],
    /// The subcommands tandem implements, for a container (`CONFIG`, `CLIENT` …).
    pub subcommands: &'static [CommandSpec],
    pub doc: Doc,
    pub handler: Handler,
}

impl CommandSpec {
    /// True when `argc` (name included) satisfies the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// True when the command may change data (Redis's `write` flag).
    pub fn is_write(&self) -> bool {
        self.flags.contains(Flags::WRITE)
    }

    /// True when a script may run it (`redis.call`): Redis refuses `noscript` commands there.
    pub fn may_run_in_script(&self) -> bool {
        !self.flags.contains(Flags::NOSCRIPT)
    }

    /// True when the command may block the client (`BLPOP` …).
    pub fn is_blocking(&self) -> bool {
        self.flags.contains(Flags::BLOCKING)
    }

    /// True for a container whose first argument names a subcommand (`CONFIG GET`).
    pub fn is_container(&self) -> bool {
        !self.subcommands.is_empty()
    }

    /// The subcommand `sub` (ASCII case ignored) of this container.
    pub fn subcommand(&self, sub: &[u8]) -> Option<&'static CommandSpec> {
        self.subcommands.iter().find(|s| {
            s.name
                .split_once('|')
                .is_some_and(|(_, n)| n.as_bytes().eq_ignore_ascii_case(sub))
        })
    }

    /// The subcommand `sub` of this container, its arity checked against the `remaining`
    /// arguments after it (the container and subcommand names count too), for containers
    /// whose parser checks subcommands itself (COMMAND, SCRIPT, FUNCTION).
    ///
    /// # Errors
    /// Redis's `unknown subcommand '…'. Try <NAME> HELP.` and the subcommand's arity error.
    pub fn checked_subcommand(
        &self,
        sub: &[u8],
        remaining: usize,
    ) -> Result<&'static CommandSpec, CommandError> {
        let Some(spec) = self.subcommand(sub) else {
            return Err(CommandError::err(format!(
                "unknown subcommand '{}'. Try {} HELP.",
                String::from_utf8_lossy(sub),
                self.name.to_ascii_uppercase()
            )));
        };
        if !spec.arity_ok(remaining + 2) {
            return Err(CommandError::WrongArity(spec.name.to_owned()));
        }
        Ok(spec)
    }
}

/// Where a key spec starts looking for keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeginSearch {
    /// At this argument index (the name is 0).
    Index(i32),
    /// After the first argument equal to `keyword`, searching from `start_from` (negative:
    /// from the end, backwards).
    Keyword {
        keyword: &'static str,
        start_from: i32,
    },
    /// Redis cannot say where (`SORT`'s `STORE` and `BY`/`GET` keys): the command's own
    /// key finder decides (`describe::keys_of`).
    Unknown,
}

/// How a key spec finds its keys once it has begun.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindKeys {
    /// Keys from the start to `last_key` (relative; negative counts from the end), every
    /// `key_step`; `limit` > 1 keeps only the first 1/limit of the remaining arguments.
    Range {
        last_key: i32,
        key_step: i32,
        limit: i32,
    },
    /// The argument at `key_num_idx` (relative) says how many keys follow, starting at
    /// `first_key` (relative), every `key_step`.
    KeyNum {
        key_num_idx: i32,
        first_key: i32,
        key_step: i32,
    },
    /// Redis cannot say which (paired with [`BeginSearch::Unknown`]).
    Unknown,
}

/// One of Redis 7's key specs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySpec {
    /// Redis's explanation, when it gives one; empty otherwise.
    pub notes: &'static str,
    pub flags: KeySpecFlags,
    pub begin_search: BeginSearch,
    pub find_keys: FindKeys,
}

impl KeySpec {
    /// A key spec without notes; the table writes `KeySpec::new(flags, index(1), range(0, 1, 0))`.
    pub const fn new(
        flags: KeySpecFlags,
        begin_search: BeginSearch,
        find_keys: FindKeys,
    ) -> KeySpec {
        KeySpec {
            notes: "",
            flags,
            begin_search,
            find_keys,
        }
    }

    /// The same spec with Redis's explanation.
    pub const fn notes(self, notes: &'static str) -> KeySpec {
        KeySpec { notes, ..self }
    }
}

/// [`BeginSearch::Index`], short for the table.
pub const fn index(i: i32) -> BeginSearch {
    BeginSearch::Index(i)
}

/// [`FindKeys::Range`], short for the table.
pub const fn range(last_key: i32, key_step: i32, limit: i32) -> FindKeys {
    FindKeys::Range {
        last_key,
        key_step,
        limit,
    }
}

/// [`FindKeys::KeyNum`], short for the table.
pub const fn keynum(key_num_idx: i32, first_key: i32, key_step: i32) -> FindKeys {
    FindKeys::KeyNum {
        key_num_idx,
        first_key,
        key_step,
    }
}

/// The documentation fields `COMMAND DOCS` reports.
#[derive(Debug, Clone, Copy)]
pub struct Doc {
    pub summary: &'static str,
    pub since: &'static str,
    /// `string`, `generic`, `connection`, `server`, `sorted-set` …
    pub group: &'static str,
    pub complexity: &'static str,
    /// `deprecated`, `syscmd`.
    pub doc_flags: &'static [&'static str],
    /// Empty when not deprecated.
    pub deprecated_since: &'static str,
    /// Empty when not deprecated.
    pub replaced_by: &'static str,
    /// (version, change) pairs.
    pub history: &'static [(&'static str, &'static str)],
    pub arguments: &'static [Arg],
}

/// The kind of a documented argument, as `COMMAND DOCS` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    String,
    Integer,
    Double,
    Key,
    Pattern,
    UnixTime,
    PureToken,
    OneOf,
    Block,
}

impl ArgType {
    /// The name `COMMAND DOCS` prints.
    pub fn name(self) -> &'static str {
        match self {
            ArgType::String => "string",
            ArgType::Integer => "integer",
            ArgType::Double => "double",
            ArgType::Key => "key",
            ArgType::Pattern => "pattern",
            ArgType::UnixTime => "unix-time",
            ArgType::PureToken => "pure-token",
            ArgType::OneOf => "oneof",
            ArgType::Block => "block",
        }
    }
}

/// One documented argument. Built with [`arg`] and the `const` setters, one per line in
/// the table: `arg("count", Integer).token("COUNT").optional()`.
#[derive(Debug, Clone, Copy)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgType,
    /// Index into the command's key specs, for a key argument.
    pub key_spec_index: Option<u8>,
    pub token: Option<&'static str>,
    pub since: Option<&'static str>,
    pub deprecated_since: Option<&'static str>,
    pub flags: ArgFlags,
    /// The members of a `oneof` or `block`.
    pub arguments: &'static [Arg],
}

/// A documented argument with nothing but a name and a kind.
pub const fn arg(name: &'static str, kind: ArgType) -> Arg {
    Arg {
        name,
        kind,
        key_spec_index: None,
        token: None,
        since: None,
        deprecated_since: None,
        flags: ArgFlags::EMPTY,
        arguments: &[],
    }
}

impl Arg {
    pub const fn key_spec(self, index: u8) -> Arg {
        Arg {
            key_spec_index: Some(index),
            ..self
        }
    }

    pub const fn token(self, token: &'static str) -> Arg {
        Arg {
            token: Some(token),
            ..self
        }
    }

    pub const fn since(self, version: &'static str) -> Arg {
        Arg {
            since: Some(version),
            ..self
        }
    }

    pub const fn deprecated_since(self, version: &'static str) -> Arg {
        Arg {
            deprecated_since: Some(version),
            ..self
        }
    }

    pub const fn optional(self) -> Arg {
        Arg {
            flags: self.flags.with(ArgFlags::OPTIONAL),
            ..self
        }
    }

    pub const fn multiple(self) -> Arg {
        Arg {
            flags: self.flags.with(ArgFlags::MULTIPLE),
            ..self
        }
    }

    pub const fn multiple_token(self) -> Arg {
        Arg {
            flags: self.flags.with(ArgFlags::MULTIPLE_TOKEN),
            ..self
        }
    }

    pub const fn args(self, arguments: &'static [Arg]) -> Arg {
        Arg { arguments, ..self }
    }
}
