//! The command table: every command tandem knows, as data.
//!
//! Each entry holds the name, arity (Redis convention: positive = exact, negative = at
//! least), flags, key positions and what runs it. Arity and the unknown-command reply are
//! checked once, by [`lookup`]'s caller, never inside a handler. The table also answers
//! `COMMAND`, `COMMAND COUNT`, `COMMAND INFO` and `COMMAND DOCS`.
//!
//! Storage commands have a parser ([`StorageParser`]) that turns arguments into a typed
//! [`tandem_shared::Command`]; proxy-local commands name a [`Local`] the connection runs.
//! Handlers never touch sockets.

pub mod args;
pub mod connection;
pub mod hash;
pub mod keys;
pub mod server;
pub mod set;
pub mod string;

pub use self::connection::run_local;

use tandem_shared::Command;

use self::args::Args;
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

/// Commands the proxy answers itself.
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
    Command,
}

/// How a command runs.
#[derive(Debug, Clone, Copy)]
pub enum Handler {
    Storage(StorageParser),
    Local(Local),
}

/// One row of the command table.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Lower-case name, as `COMMAND` reports it.
    pub name: &'static str,
    /// Redis arity: counts the name; negative means "at least |arity|".
    pub arity: i32,
    /// Redis command flags as `COMMAND INFO` reports them (`write`, `readonly`, `fast` …).
    pub flags: &'static [&'static str],
    /// First key argument (1-based), 0 if none.
    pub first_key: i32,
    /// Last key argument; -1 means the last argument.
    pub last_key: i32,
    /// Step between keys.
    pub step: i32,
    /// ACL categories as `COMMAND INFO` reports them (`@string`, `@keyspace` …).
    pub acl: &'static [&'static str],
    /// Command group for `COMMAND DOCS` (`string`, `generic`, `connection`, `server`).
    pub group: &'static str,
    /// One-line summary for `COMMAND DOCS`.
    pub summary: &'static str,
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
}

/// Longest command name [`lookup`] can match; longer names are unknown without comparing.
const MAX_NAME_LEN: usize = 32;

/// The command table, sorted by name (byte order) so [`lookup`] can binary-search it.
/// Values are those of Redis 7.0's `COMMAND INFO` / `COMMAND DOCS`. Keep it sorted: a unit
/// test checks.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "append",
        arity: 3,
        flags: &["write", "denyoom", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Append a value to a key",
        handler: Handler::Storage(string::append),
    },
    CommandSpec {
        name: "auth",
        arity: -2,
        flags: &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@fast", "@connection"],
        group: "connection",
        summary: "Authenticate to the server",
        handler: Handler::Local(Local::Auth),
    },
    CommandSpec {
        name: "client",
        arity: -2,
        flags: &[],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@slow"],
        group: "connection",
        summary: "A container for client connection commands",
        handler: Handler::Local(Local::Client),
    },
    CommandSpec {
        name: "command",
        arity: -1,
        flags: &["loading", "stale"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@slow", "@connection"],
        group: "server",
        summary: "Get array of Redis command details",
        handler: Handler::Local(Local::Command),
    },
    CommandSpec {
        name: "config",
        arity: -2,
        flags: &[],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@slow"],
        group: "server",
        summary: "A container for server configuration commands",
        handler: Handler::Local(Local::Config),
    },
    CommandSpec {
        name: "copy",
        arity: -3,
        flags: &["write", "denyoom"],
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: &["@keyspace", "@write", "@slow"],
        group: "generic",
        summary: "Copy a key",
        handler: Handler::Storage(keys::copy),
    },
    CommandSpec {
        name: "dbsize",
        arity: 1,
        flags: &["readonly", "fast"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@keyspace", "@read", "@fast"],
        group: "server",
        summary: "Return the number of keys in the selected database",
        handler: Handler::Storage(keys::dbsize),
    },
    CommandSpec {
        name: "decr",
        arity: 2,
        flags: &["write", "denyoom", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Decrement the integer value of a key by one",
        handler: Handler::Storage(string::decr),
    },
    CommandSpec {
        name: "decrby",
        arity: 3,
        flags: &["write", "denyoom", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Decrement the integer value of a key by the given number",
        handler: Handler::Storage(string::decrby),
    },
    CommandSpec {
        name: "del",
        arity: -2,
        flags: &["write"],
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: &["@keyspace", "@write", "@slow"],
        group: "generic",
        summary: "Delete a key",
        handler: Handler::Storage(keys::del),
    },
    CommandSpec {
        name: "echo",
        arity: 2,
        flags: &["loading", "stale", "fast"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@fast", "@connection"],
        group: "connection",
        summary: "Echo the given string",
        handler: Handler::Local(Local::Echo),
    },
    CommandSpec {
        name: "exists",
        arity: -2,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: &["@keyspace", "@read", "@fast"],
        group: "generic",
        summary: "Determine if a key exists",
        handler: Handler::Storage(keys::exists),
    },
    CommandSpec {
        name: "expire",
        arity: -3,
        flags: &["write", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@keyspace", "@write", "@fast"],
        group: "generic",
        summary: "Set a key's time to live in seconds",
        handler: Handler::Storage(keys::expire),
    },
    CommandSpec {
        name: "expireat",
        arity: -3,
        flags: &["write", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@keyspace", "@write", "@fast"],
        group: "generic",
        summary: "Set the expiration for a key as a UNIX timestamp",
        handler: Handler::Storage(keys::expireat),
    },
    CommandSpec {
        name: "expiretime",
        arity: 2,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@keyspace", "@read", "@fast"],
        group: "generic",
        summary: "Get the expiration Unix timestamp for a key",
        handler: Handler::Storage(keys::expiretime),
    },
    CommandSpec {
        name: "flushall",
        arity: -1,
        flags: &["write"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@keyspace", "@write", "@slow", "@dangerous"],
        group: "server",
        summary: "Remove all keys from all databases",
        handler: Handler::Storage(keys::flushall),
    },
    CommandSpec {
        name: "flushdb",
        arity: -1,
        flags: &["write"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@keyspace", "@write", "@slow", "@dangerous"],
        group: "server",
        summary: "Remove all keys from the current database",
        handler: Handler::Storage(keys::flushdb),
    },
    CommandSpec {
        name: "get",
        arity: 2,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@string", "@fast"],
        group: "string",
        summary: "Get the value of a key",
        handler: Handler::Storage(string::get),
    },
    CommandSpec {
        name: "getdel",
        arity: 2,
        flags: &["write", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Get the value of a key and delete the key",
        handler: Handler::Storage(string::getdel),
    },
    CommandSpec {
        name: "getex",
        arity: -2,
        flags: &["write", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Get the value of a key and optionally set its expiration",
        handler: Handler::Storage(string::getex),
    },
    CommandSpec {
        name: "getrange",
        arity: 4,
        flags: &["readonly"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@string", "@slow"],
        group: "string",
        summary: "Get a substring of the string stored at a key",
        handler: Handler::Storage(string::getrange),
    },
    CommandSpec {
        name: "getset",
        arity: 3,
        flags: &["write", "denyoom", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Set the string value of a key and return its old value",
        handler: Handler::Storage(string::getset),
    },
    CommandSpec {
        name: "hdel",
        arity: -3,
        flags: &["write", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        summary: "Delete one or more hash fields",
        handler: Handler::Storage(hash::hdel),
    },
    CommandSpec {
        name: "hello",
        arity: -1,
        flags: &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@fast", "@connection"],
        group: "connection",
        summary: "Handshake with Redis",
        handler: Handler::Local(Local::Hello),
    },
    CommandSpec {
        name: "hexists",
        arity: 3,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@hash", "@fast"],
        group: "hash",
        summary: "Determine if a hash field exists",
        handler: Handler::Storage(hash::hexists),
    },
    CommandSpec {
        name: "hget",
        arity: 3,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@hash", "@fast"],
        group: "hash",
        summary: "Get the value of a hash field",
        handler: Handler::Storage(hash::hget),
    },
    CommandSpec {
        name: "hgetall",
        arity: 2,
        flags: &["readonly"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@hash", "@slow"],
        group: "hash",
        summary: "Get all the fields and values in a hash",
        handler: Handler::Storage(hash::hgetall),
    },
    CommandSpec {
        name: "hincrby",
        arity: 4,
        flags: &["write", "denyoom", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        summary: "Increment the integer value of a hash field by the given number",
        handler: Handler::Storage(hash::hincrby),
    },
    CommandSpec {
        name: "hincrbyfloat",
        arity: 4,
        flags: &["write", "denyoom", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        summary: "Increment the float value of a hash field by the given amount",
        handler: Handler::Storage(hash::hincrbyfloat),
    },
    CommandSpec {
        name: "hkeys",
        arity: 2,
        flags: &["readonly"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@hash", "@slow"],
        group: "hash",
        summary: "Get all the fields in a hash",
        handler: Handler::Storage(hash::hkeys),
    },
    CommandSpec {
        name: "hlen",
        arity: 2,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@hash", "@fast"],
        group: "hash",
        summary: "Get the number of fields in a hash",
        handler: Handler::Storage(hash::hlen),
    },
    CommandSpec {
        name: "hmget",
        arity: -3,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@hash", "@fast"],
        group: "hash",
        summary: "Get the values of all the given hash fields",
        handler: Handler::Storage(hash::hmget),
    },
    CommandSpec {
        name: "hmset",
        arity: -4,
        flags: &["write", "denyoom", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        summary: "Set multiple hash fields to multiple values",
        handler: Handler::Storage(hash::hmset),
    },
    CommandSpec {
        name: "hrandfield",
        arity: -2,
        flags: &["readonly"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@hash", "@slow"],
        group: "hash",
        summary: "Get one or multiple random fields from a hash",
        handler: Handler::Storage(hash::hrandfield),
    },
    CommandSpec {
        name: "hscan",
        arity: -3,
        flags: &["readonly"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@hash", "@slow"],
        group: "hash",
        summary: "Incrementally iterate hash fields and associated values",
        handler: Handler::Storage(hash::hscan),
    },
    CommandSpec {
        name: "hset",
        arity: -4,
        flags: &["write", "denyoom", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        summary: "Set the string value of a hash field",
        handler: Handler::Storage(hash::hset),
    },
    CommandSpec {
        name: "hsetnx",
        arity: 4,
        flags: &["write", "denyoom", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@hash", "@fast"],
        group: "hash",
        summary: "Set the value of a hash field, only if the field does not exist",
        handler: Handler::Storage(hash::hsetnx),
    },
    CommandSpec {
        name: "hstrlen",
        arity: 3,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@hash", "@fast"],
        group: "hash",
        summary: "Get the length of the value of a hash field",
        handler: Handler::Storage(hash::hstrlen),
    },
    CommandSpec {
        name: "hvals",
        arity: 2,
        flags: &["readonly"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@hash", "@slow"],
        group: "hash",
        summary: "Get all the values in a hash",
        handler: Handler::Storage(hash::hvals),
    },
    CommandSpec {
        name: "incr",
        arity: 2,
        flags: &["write", "denyoom", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Increment the integer value of a key by one",
        handler: Handler::Storage(string::incr),
    },
    CommandSpec {
        name: "incrby",
        arity: 3,
        flags: &["write", "denyoom", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Increment the integer value of a key by the given amount",
        handler: Handler::Storage(string::incrby),
    },
    CommandSpec {
        name: "incrbyfloat",
        arity: 3,
        flags: &["write", "denyoom", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Increment the float value of a key by the given amount",
        handler: Handler::Storage(string::incrbyfloat),
    },
    CommandSpec {
        name: "info",
        arity: -1,
        flags: &["loading", "stale"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@slow", "@dangerous"],
        group: "server",
        summary: "Get information and statistics about the server",
        handler: Handler::Local(Local::Info),
    },
    CommandSpec {
        name: "keys",
        arity: 2,
        flags: &["readonly"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@keyspace", "@read", "@slow", "@dangerous"],
        group: "generic",
        summary: "Find all keys matching the given pattern",
        handler: Handler::Storage(keys::keys),
    },
    CommandSpec {
        name: "lcs",
        arity: -3,
        flags: &["readonly"],
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: &["@read", "@string", "@slow"],
        group: "string",
        summary: "Find longest common substring",
        handler: Handler::Storage(string::lcs),
    },
    CommandSpec {
        name: "mget",
        arity: -2,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: &["@read", "@string", "@fast"],
        group: "string",
        summary: "Get the values of all the given keys",
        handler: Handler::Storage(string::mget),
    },
    CommandSpec {
        name: "move",
        arity: 3,
        flags: &["write", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@keyspace", "@write", "@fast"],
        group: "generic",
        summary: "Move a key to another database",
        handler: Handler::Storage(keys::move_key),
    },
    CommandSpec {
        name: "mset",
        arity: -3,
        flags: &["write", "denyoom"],
        first_key: 1,
        last_key: -1,
        step: 2,
        acl: &["@write", "@string", "@slow"],
        group: "string",
        summary: "Set multiple keys to multiple values",
        handler: Handler::Storage(string::mset),
    },
    CommandSpec {
        name: "msetnx",
        arity: -3,
        flags: &["write", "denyoom"],
        first_key: 1,
        last_key: -1,
        step: 2,
        acl: &["@write", "@string", "@slow"],
        group: "string",
        summary: "Set multiple keys to multiple values, only if none of the keys exist",
        handler: Handler::Storage(string::msetnx),
    },
    CommandSpec {
        name: "persist",
        arity: 2,
        flags: &["write", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@keyspace", "@write", "@fast"],
        group: "generic",
        summary: "Remove the expiration from a key",
        handler: Handler::Storage(keys::persist),
    },
    CommandSpec {
        name: "pexpire",
        arity: -3,
        flags: &["write", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@keyspace", "@write", "@fast"],
        group: "generic",
        summary: "Set a key's time to live in milliseconds",
        handler: Handler::Storage(keys::pexpire),
    },
    CommandSpec {
        name: "pexpireat",
        arity: -3,
        flags: &["write", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@keyspace", "@write", "@fast"],
        group: "generic",
        summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        handler: Handler::Storage(keys::pexpireat),
    },
    CommandSpec {
        name: "pexpiretime",
        arity: 2,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@keyspace", "@read", "@fast"],
        group: "generic",
        summary: "Get the expiration Unix timestamp for a key in milliseconds",
        handler: Handler::Storage(keys::pexpiretime),
    },
    CommandSpec {
        name: "ping",
        arity: -1,
        flags: &["fast"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@fast", "@connection"],
        group: "connection",
        summary: "Ping the server",
        handler: Handler::Local(Local::Ping),
    },
    CommandSpec {
        name: "psetex",
        arity: 4,
        flags: &["write", "denyoom"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@string", "@slow"],
        group: "string",
        summary: "Set the value and expiration in milliseconds of a key",
        handler: Handler::Storage(string::psetex),
    },
    CommandSpec {
        name: "pttl",
        arity: 2,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@keyspace", "@read", "@fast"],
        group: "generic",
        summary: "Get the time to live for a key in milliseconds",
        handler: Handler::Storage(keys::pttl),
    },
    CommandSpec {
        name: "quit",
        arity: -1,
        flags: &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@fast", "@connection"],
        group: "connection",
        summary: "Close the connection",
        handler: Handler::Local(Local::Quit),
    },
    CommandSpec {
        name: "randomkey",
        arity: 1,
        flags: &["readonly"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@keyspace", "@read", "@slow"],
        group: "generic",
        summary: "Return a random key from the keyspace",
        handler: Handler::Storage(keys::randomkey),
    },
    CommandSpec {
        name: "rename",
        arity: 3,
        flags: &["write"],
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: &["@keyspace", "@write", "@slow"],
        group: "generic",
        summary: "Rename a key",
        handler: Handler::Storage(keys::rename),
    },
    CommandSpec {
        name: "renamenx",
        arity: 3,
        flags: &["write", "fast"],
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: &["@keyspace", "@write", "@fast"],
        group: "generic",
        summary: "Rename a key, only if the new key does not exist",
        handler: Handler::Storage(keys::renamenx),
    },
    CommandSpec {
        name: "reset",
        arity: 1,
        flags: &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@fast", "@connection"],
        group: "connection",
        summary: "Reset the connection",
        handler: Handler::Local(Local::Reset),
    },
    CommandSpec {
        name: "sadd",
        arity: -3,
        flags: &["write", "denyoom", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@set", "@fast"],
        group: "set",
        summary: "Add one or more members to a set",
        handler: Handler::Storage(set::sadd),
    },
    CommandSpec {
        name: "scan",
        arity: -2,
        flags: &["readonly"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@keyspace", "@read", "@slow"],
        group: "generic",
        summary: "Incrementally iterate the keys space",
        handler: Handler::Storage(keys::scan),
    },
    CommandSpec {
        name: "scard",
        arity: 2,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@set", "@fast"],
        group: "set",
        summary: "Get the number of members in a set",
        handler: Handler::Storage(set::scard),
    },
    CommandSpec {
        name: "sdiff",
        arity: -2,
        flags: &["readonly"],
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: &["@read", "@set", "@slow"],
        group: "set",
        summary: "Subtract multiple sets",
        handler: Handler::Storage(set::sdiff),
    },
    CommandSpec {
        name: "sdiffstore",
        arity: -3,
        flags: &["write", "denyoom"],
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: &["@write", "@set", "@slow"],
        group: "set",
        summary: "Subtract multiple sets and store the resulting set in a key",
        handler: Handler::Storage(set::sdiffstore),
    },
    CommandSpec {
        name: "select",
        arity: 2,
        flags: &["loading", "stale", "fast"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@fast", "@connection"],
        group: "connection",
        summary: "Change the selected database for the current connection",
        handler: Handler::Local(Local::Select),
    },
    CommandSpec {
        name: "set",
        arity: -3,
        flags: &["write", "denyoom"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@string", "@slow"],
        group: "string",
        summary: "Set the string value of a key",
        handler: Handler::Storage(string::set),
    },
    CommandSpec {
        name: "setex",
        arity: 4,
        flags: &["write", "denyoom"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@string", "@slow"],
        group: "string",
        summary: "Set the value and expiration of a key",
        handler: Handler::Storage(string::setex),
    },
    CommandSpec {
        name: "setnx",
        arity: 3,
        flags: &["write", "denyoom", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@string", "@fast"],
        group: "string",
        summary: "Set the value of a key, only if the key does not exist",
        handler: Handler::Storage(string::setnx),
    },
    CommandSpec {
        name: "setrange",
        arity: 4,
        flags: &["write", "denyoom"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@string", "@slow"],
        group: "string",
        summary: "Overwrite part of a string at key starting at the specified offset",
        handler: Handler::Storage(string::setrange),
    },
    CommandSpec {
        name: "sinter",
        arity: -2,
        flags: &["readonly"],
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: &["@read", "@set", "@slow"],
        group: "set",
        summary: "Intersect multiple sets",
        handler: Handler::Storage(set::sinter),
    },
    CommandSpec {
        name: "sintercard",
        arity: -3,
        flags: &["readonly", "movablekeys"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@read", "@set", "@slow"],
        group: "set",
        summary: "Intersect multiple sets and return the cardinality of the result",
        handler: Handler::Storage(set::sintercard),
    },
    CommandSpec {
        name: "sinterstore",
        arity: -3,
        flags: &["write", "denyoom"],
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: &["@write", "@set", "@slow"],
        group: "set",
        summary: "Intersect multiple sets and store the resulting set in a key",
        handler: Handler::Storage(set::sinterstore),
    },
    CommandSpec {
        name: "sismember",
        arity: 3,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@set", "@fast"],
        group: "set",
        summary: "Determine if a given value is a member of a set",
        handler: Handler::Storage(set::sismember),
    },
    CommandSpec {
        name: "smembers",
        arity: 2,
        flags: &["readonly"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@set", "@slow"],
        group: "set",
        summary: "Get all the members in a set",
        handler: Handler::Storage(set::smembers),
    },
    CommandSpec {
        name: "smismember",
        arity: -3,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@set", "@fast"],
        group: "set",
        summary: "Returns the membership associated with the given elements for a set",
        handler: Handler::Storage(set::smismember),
    },
    CommandSpec {
        name: "smove",
        arity: 4,
        flags: &["write", "fast"],
        first_key: 1,
        last_key: 2,
        step: 1,
        acl: &["@write", "@set", "@fast"],
        group: "set",
        summary: "Move a member from one set to another",
        handler: Handler::Storage(set::smove),
    },
    CommandSpec {
        name: "spop",
        arity: -2,
        flags: &["write", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@set", "@fast"],
        group: "set",
        summary: "Remove and return one or multiple random members from a set",
        handler: Handler::Storage(set::spop),
    },
    CommandSpec {
        name: "srandmember",
        arity: -2,
        flags: &["readonly"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@set", "@slow"],
        group: "set",
        summary: "Get one or multiple random members from a set",
        handler: Handler::Storage(set::srandmember),
    },
    CommandSpec {
        name: "srem",
        arity: -3,
        flags: &["write", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@write", "@set", "@fast"],
        group: "set",
        summary: "Remove one or more members from a set",
        handler: Handler::Storage(set::srem),
    },
    CommandSpec {
        name: "sscan",
        arity: -3,
        flags: &["readonly"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@set", "@slow"],
        group: "set",
        summary: "Incrementally iterate Set elements",
        handler: Handler::Storage(set::sscan),
    },
    CommandSpec {
        name: "strlen",
        arity: 2,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@string", "@fast"],
        group: "string",
        summary: "Get the length of the value stored in a key",
        handler: Handler::Storage(string::strlen),
    },
    CommandSpec {
        name: "substr",
        arity: 4,
        flags: &["readonly"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@read", "@string", "@slow"],
        group: "string",
        summary: "Get a substring of the string stored at a key",
        handler: Handler::Storage(string::getrange),
    },
    CommandSpec {
        name: "sunion",
        arity: -2,
        flags: &["readonly"],
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: &["@read", "@set", "@slow"],
        group: "set",
        summary: "Add multiple sets",
        handler: Handler::Storage(set::sunion),
    },
    CommandSpec {
        name: "sunionstore",
        arity: -3,
        flags: &["write", "denyoom"],
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: &["@write", "@set", "@slow"],
        group: "set",
        summary: "Add multiple sets and store the resulting set in a key",
        handler: Handler::Storage(set::sunionstore),
    },
    CommandSpec {
        name: "time",
        arity: 1,
        flags: &["loading", "stale", "fast"],
        first_key: 0,
        last_key: 0,
        step: 0,
        acl: &["@fast"],
        group: "server",
        summary: "Return the current server time",
        handler: Handler::Local(Local::Time),
    },
    CommandSpec {
        name: "touch",
        arity: -2,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: &["@keyspace", "@read", "@fast"],
        group: "generic",
        summary: "Alters the last access time of a key(s). Returns the number of existing keys specified.",
        handler: Handler::Storage(keys::touch),
    },
    CommandSpec {
        name: "ttl",
        arity: 2,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@keyspace", "@read", "@fast"],
        group: "generic",
        summary: "Get the time to live for a key in seconds",
        handler: Handler::Storage(keys::ttl),
    },
    CommandSpec {
        name: "type",
        arity: 2,
        flags: &["readonly", "fast"],
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: &["@keyspace", "@read", "@fast"],
        group: "generic",
        summary: "Determine the type stored at key",
        handler: Handler::Storage(keys::key_type),
    },
    CommandSpec {
        name: "unlink",
        arity: -2,
        flags: &["write", "fast"],
        first_key: 1,
        last_key: -1,
        step: 1,
        acl: &["@keyspace", "@write", "@fast"],
        group: "generic",
        summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
        handler: Handler::Storage(keys::del),
    },
];

/// Every command, for `COMMAND` and `COMMAND COUNT`.
pub fn all() -> &'static [CommandSpec] {
    COMMANDS
}

/// Finds a command by name, ignoring ASCII case. Runs once per request, so it lower-cases
/// into a stack buffer and binary-searches; no allocation.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    if name.len() > MAX_NAME_LEN {
        return None;
    }
    let mut buf = [0u8; MAX_NAME_LEN];
    let lower = &mut buf[..name.len()];
    for (dst, src) in lower.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    let lower: &[u8] = lower;
    COMMANDS
        .binary_search_by(|spec| spec.name.as_bytes().cmp(lower))
        .ok()
        .map(|i| &COMMANDS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_unique_and_lowercase() {
        for pair in COMMANDS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        for spec in COMMANDS {
            assert!(spec.name.len() <= MAX_NAME_LEN, "{}", spec.name);
            assert_eq!(spec.name, spec.name.to_ascii_lowercase());
        }
    }

    #[test]
    fn every_command_is_found_in_any_case() {
        for spec in all() {
            assert_eq!(
                lookup(spec.name.as_bytes()).map(|s| s.name),
                Some(spec.name)
            );
            let upper = spec.name.to_ascii_uppercase();
            assert_eq!(lookup(upper.as_bytes()).map(|s| s.name), Some(spec.name));
        }
    }

    #[test]
    fn unknown_names_are_not_found() {
        for name in [
            &b""[..],
            b"gett",
            b"ge",
            b"nosuchcommand",
            &[b'g'; 100],
            b"get\0",
            b"\xffget",
        ] {
            assert!(
                lookup(name).is_none(),
                "{:?}",
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn lookup_mixed_case() {
        assert_eq!(lookup(b"gEt").map(|s| s.name), Some("get"));
        assert_eq!(lookup(b"IncrByFloat").map(|s| s.name), Some("incrbyfloat"));
    }

    #[test]
    fn the_required_commands_are_all_present() {
        let names =
            "get set setnx setex psetex mget mset msetnx getset getdel getex append strlen \
                     getrange substr setrange incr decr incrby decrby incrbyfloat lcs del unlink \
                     exists type touch expire pexpire expireat pexpireat ttl pttl expiretime \
                     pexpiretime persist rename renamenx copy move keys scan randomkey dbsize \
                     flushdb flushall ping echo quit hello auth select reset time client config \
                     info command";
        for name in names.split_whitespace() {
            assert!(lookup(name.as_bytes()).is_some(), "{name}");
        }
    }

    #[test]
    fn arity_follows_redis_convention() {
        let set = lookup(b"set").expect("set is in the table");
        assert!(!set.arity_ok(2));
        assert!(set.arity_ok(3));
        assert!(set.arity_ok(8));
        let get = lookup(b"get").expect("get is in the table");
        assert!(get.arity_ok(2));
        assert!(!get.arity_ok(3));
    }

    #[test]
    fn metadata_matches_redis() {
        let mset = lookup(b"mset").expect("mset is in the table");
        assert_eq!(
            (mset.arity, mset.first_key, mset.last_key, mset.step),
            (-3, 1, -1, 2)
        );
        assert_eq!(mset.flags, &["write", "denyoom"]);
        assert_eq!(mset.acl, &["@write", "@string", "@slow"]);
        assert_eq!(mset.group, "string");
        let dbsize = lookup(b"dbsize").expect("dbsize is in the table");
        assert!(matches!(dbsize.handler, Handler::Storage(_)));
        assert_eq!(dbsize.group, "server");
        let ping = lookup(b"PING").expect("ping is in the table");
        assert!(matches!(ping.handler, Handler::Local(Local::Ping)));
    }
}
