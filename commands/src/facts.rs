//! What a typed command may do, read from the command table: [`CommandFacts`] for
//! [`Command`] and [`ArchivedCommand`].
//!
//! storaged routes on these (a write goes to the one writer thread, a read to the read
//! path) and the proxy keys its writes for exactly-once resends. Nothing here lists
//! commands again: a command's kind names its table row ([`CommandKind::name`]) and the
//! row's flags decide.

use std::sync::OnceLock;

use tandem_shared::command::ArchivedCommand;
use tandem_shared::{Command, CommandKind};

use crate::flags::Flags;
use crate::spec::CommandSpec;
use crate::table::find;

/// Kinds storaged runs on its writer though Redis does not flag them `write`: the writer
/// owns the state they touch (the WATCH table, parked blocking pops, the database a
/// transaction's later commands run in, the Lua engine and its script cache: a script's
/// writes commit in the writer's group, and the cache is persisted there).
pub const WRITER_OWNED: &[CommandKind] = &[
    CommandKind::Watch,
    CommandKind::Unwatch,
    CommandKind::Exec,
    CommandKind::SelectDb,
    CommandKind::Unblock,
    CommandKind::Eval,
    CommandKind::EvalSha,
    CommandKind::ScriptLoad,
    CommandKind::ScriptExists,
    CommandKind::ScriptFlush,
    CommandKind::ScriptHelp,
    CommandKind::ScriptKill,
    CommandKind::FCall,
    CommandKind::FunctionLoad,
    CommandKind::FunctionDelete,
    CommandKind::FunctionFlush,
    CommandKind::FunctionList,
    CommandKind::FunctionDump,
    CommandKind::FunctionRestore,
    CommandKind::FunctionStats,
    CommandKind::FunctionKill,
    CommandKind::FunctionHelp,
    CommandKind::BusyReplyThreshold,
    // DEBUG SLEEP/RELOAD/SET-ACTIVE-EXPIRE hold the writer as Redis's thread (H7).
    CommandKind::DebugReload,
    CommandKind::DebugSetActiveExpire,
    CommandKind::DebugSleep,
    // Side effects outside the data (a checkpoint, a save thread, a flush): the read path
    // reruns a request whose view a concurrent commit made inconsistent, which would run
    // them twice (the second checkpoint then fails on the directory the first made).
    CommandKind::Checkpoint,
    CommandKind::Save,
    CommandKind::BgSave,
    CommandKind::BgRewriteAof,
    // A proxy's statistics report adds its slow-log entries and counts: run twice, they
    // would be added twice (duplicate SLOWLOG entries under concurrent writes).
    CommandKind::Stats,
    // SHUTDOWN runs after every write queued before it, and its SAVE is SAVE's (H2).
    CommandKind::Shutdown,
];

/// Facts about a typed command, derived from its table row.
pub trait CommandFacts {
    /// Which variant this is.
    fn command_kind(&self) -> CommandKind;

    /// The table row of the Redis command this variant stands for; `None` for a
    /// tandem-only operation (`Checkpoint`).
    fn spec(&self) -> Option<&'static CommandSpec> {
        kind_spec(self.command_kind())
    }

    /// The row's flags (empty for a tandem-only operation).
    fn flags(&self) -> Flags {
        self.spec().map_or(Flags::EMPTY, |s| s.flags)
    }

    /// True when the command must run on storaged's single ordered writer: it may change
    /// data (the row's `write` flag), or the writer owns what it touches. Anything else
    /// runs on the read path.
    fn is_write(&self) -> bool {
        kind_is_write(self.command_kind())
    }
}

impl CommandFacts for Command {
    fn command_kind(&self) -> CommandKind {
        self.kind()
    }
}

impl CommandFacts for ArchivedCommand {
    fn command_kind(&self) -> CommandKind {
        self.kind()
    }
}

/// The table row `kind` stands for.
pub fn kind_spec(kind: CommandKind) -> Option<&'static CommandSpec> {
    find(kind.name().as_bytes())
}

/// [`CommandFacts::is_write`] for a kind; runs for every command storaged receives, so
/// it reads a per-kind table built once instead of hashing the name each time.
pub fn kind_is_write(kind: CommandKind) -> bool {
    static WRITE: OnceLock<Vec<bool>> = OnceLock::new();
    let table = WRITE.get_or_init(|| {
        CommandKind::ALL
            .iter()
            .map(|&k| WRITER_OWNED.contains(&k) || kind_spec(k).is_some_and(CommandSpec::is_write))
            .collect()
    });
    table[kind as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_indexed_in_declaration_order() {
        for (i, &k) in CommandKind::ALL.iter().enumerate() {
            assert_eq!(k as usize, i, "{k:?}");
        }
    }

    #[test]
    fn every_kind_but_checkpoint_names_a_table_row() {
        for &k in CommandKind::ALL {
            assert_eq!(
                kind_spec(k).is_none(),
                k == CommandKind::Checkpoint,
                "{k:?} names {}",
                k.name()
            );
        }
    }

    #[test]
    fn writes_follow_the_write_flag_plus_the_writer_owned_controls() {
        use CommandKind as K;
        for k in [
            K::Set,
            K::Del,
            K::HSet,
            K::ZRemRange,
            K::BlockingPop,
            K::FlushAll,
        ] {
            assert!(kind_is_write(k), "{k:?}");
        }
        for k in [
            K::Watch,
            K::Unwatch,
            K::Exec,
            K::SelectDb,
            K::Unblock,
            K::Eval,
            K::EvalSha,
            K::ScriptLoad,
            K::ScriptExists,
            K::ScriptFlush,
            K::ScriptHelp,
            K::ScriptKill,
            K::Checkpoint,
            K::Save,
            K::BgSave,
            K::BgRewriteAof,
        ] {
            assert!(kind_is_write(k), "{k:?}");
        }
        for k in [
            K::Get,
            K::Touch,
            K::ZCombine,
            K::MemoryUsage,
            K::Publish,
            K::SetNotifyKeyspaceEvents,
            K::Info,
        ] {
            assert!(!kind_is_write(k), "{k:?}");
        }
    }

    /// Every table row whose parser yields a kind agrees with that kind's routing: a
    /// variant several commands share (`Set` for SET, SETEX, GETSET …) must not mix
    /// reads and writes.
    #[test]
    fn every_parsed_command_routes_as_its_row_says() {
        use crate::spec::Handler;
        use crate::testing::run;
        // One valid argument list per storage command, by name.
        let samples: &[(&str, &[&str])] = &[
            ("append", &["k", "v"]),
            ("bitcount", &["k"]),
            ("bitfield", &["k", "SET", "u8", "0", "1"]),
            ("bitfield_ro", &["k", "GET", "u8", "0"]),
            ("bitop", &["and", "d", "a"]),
            ("bitpos", &["k", "1"]),
            ("blmove", &["a", "b", "left", "right", "0"]),
            ("blmpop", &["0", "1", "a", "left"]),
            ("blpop", &["a", "0"]),
            ("brpop", &["a", "0"]),
            ("brpoplpush", &["a", "b", "0"]),
            ("bzmpop", &["0", "1", "a", "min"]),
            ("bzpopmax", &["a", "0"]),
            ("bzpopmin", &["a", "0"]),
            ("copy", &["a", "b"]),
            ("dbsize", &[]),
            ("eval", &["return 1", "0"]),
            ("eval_ro", &["return 1", "0"]),
            ("fcall", &["f", "0"]),
            ("fcall_ro", &["f", "0"]),
            ("function", &["flush"]),
            (
                "evalsha",
                &["e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
            ),
            (
                "evalsha_ro",
                &["e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
            ),
            ("decr", &["k"]),
            ("decrby", &["k", "1"]),
            ("del", &["k"]),
            ("exists", &["k"]),
            ("expire", &["k", "10"]),
            ("expireat", &["k", "10"]),
            ("expiretime", &["k"]),
            ("flushall", &[]),
            ("flushdb", &[]),
            ("geoadd", &["k", "1", "2", "m"]),
            ("geodist", &["k", "a", "b", "km"]),
            ("geohash", &["k", "a"]),
            ("geopos", &["k", "a"]),
            ("georadius", &["k", "1", "2", "3", "km", "STORE", "d"]),
            ("georadius_ro", &["k", "1", "2", "3", "km"]),
            ("georadiusbymember", &["k", "a", "3", "km"]),
            ("georadiusbymember_ro", &["k", "a", "3", "km"]),
            ("sort", &["k", "BY", "w_*", "GET", "#", "STORE", "d"]),
            ("sort_ro", &["k", "LIMIT", "0", "1", "ALPHA"]),
            ("geosearch", &["k", "FROMMEMBER", "a", "BYRADIUS", "1", "m"]),
            (
                "geosearchstore",
                &["d", "k", "FROMLONLAT", "1", "2", "BYBOX", "1", "2", "m"],
            ),
            ("save", &[]),
            ("bgsave", &["SCHEDULE"]),
            ("lastsave", &[]),
            ("bgrewriteaof", &[]),
            ("get", &["k"]),
            ("getbit", &["k", "0"]),
            ("getdel", &["k"]),
            ("getex", &["k"]),
            ("getrange", &["k", "0", "1"]),
            ("getset", &["k", "v"]),
            ("hdel", &["h", "f"]),
            ("hexists", &["h", "f"]),
            ("hget", &["h", "f"]),
            ("hgetall", &["h"]),
            ("hincrby", &["h", "f", "1"]),
            ("hincrbyfloat", &["h", "f", "1.5"]),
            ("hkeys", &["h"]),
            ("hlen", &["h"]),
            ("hmget", &["h", "f"]),
            ("hmset", &["h", "f", "v"]),
            ("hrandfield", &["h", "2"]),
            ("hscan", &["h", "0"]),
            ("hset", &["h", "f", "v"]),
            ("hsetnx", &["h", "f", "v"]),
            ("hstrlen", &["h", "f"]),
            ("hvals", &["h"]),
            ("incr", &["k"]),
            ("incrby", &["k", "1"]),
            ("incrbyfloat", &["k", "1.5"]),
            ("keys", &["*"]),
            ("lcs", &["a", "b"]),
            ("lindex", &["l", "0"]),
            ("linsert", &["l", "before", "p", "e"]),
            ("llen", &["l"]),
            ("lmove", &["a", "b", "left", "right"]),
            ("lmpop", &["1", "a", "left"]),
            ("lpop", &["l"]),
            ("lpos", &["l", "e"]),
            ("lpush", &["l", "e"]),
            ("lpushx", &["l", "e"]),
            ("lrange", &["l", "0", "1"]),
            ("lrem", &["l", "0", "e"]),
            ("lset", &["l", "0", "e"]),
            ("ltrim", &["l", "0", "1"]),
            ("mget", &["a", "b"]),
            ("move", &["k", "1"]),
            ("mset", &["a", "1"]),
            ("msetnx", &["a", "1"]),
            ("persist", &["k"]),
            ("pexpire", &["k", "10"]),
            ("pexpireat", &["k", "10"]),
            ("pexpiretime", &["k"]),
            ("pfadd", &["h", "a"]),
            ("pfcount", &["h"]),
            ("pfdebug", &["encoding", "h"]),
            ("pfmerge", &["d", "h"]),
            ("pfselftest", &[]),
            ("psetex", &["k", "10", "v"]),
            ("pttl", &["k"]),
            ("publish", &["c", "m"]),
            ("spublish", &["c", "m"]),
            ("randomkey", &[]),
            ("rename", &["a", "b"]),
            ("renamenx", &["a", "b"]),
            ("rpop", &["l", "2"]),
            ("rpoplpush", &["a", "b"]),
            ("rpush", &["l", "e"]),
            ("rpushx", &["l", "e"]),
            ("sadd", &["s", "m"]),
            ("scan", &["0"]),
            ("script", &["flush"]),
            ("scard", &["s"]),
            ("sdiff", &["a", "b"]),
            ("sdiffstore", &["d", "a"]),
            ("set", &["k", "v"]),
            ("setbit", &["k", "0", "1"]),
            ("setex", &["k", "10", "v"]),
            ("setnx", &["k", "v"]),
            ("setrange", &["k", "0", "v"]),
            ("sinter", &["a"]),
            ("sintercard", &["1", "a"]),
            ("sinterstore", &["d", "a"]),
            ("sismember", &["s", "m"]),
            ("smembers", &["s"]),
            ("smismember", &["s", "m"]),
            ("smove", &["a", "b", "m"]),
            ("spop", &["s", "2"]),
            ("srandmember", &["s", "-2"]),
            ("srem", &["s", "m"]),
            ("sscan", &["s", "0"]),
            ("strlen", &["k"]),
            ("substr", &["k", "0", "1"]),
            ("sunion", &["a"]),
            ("sunionstore", &["d", "a"]),
            ("touch", &["k"]),
            ("ttl", &["k"]),
            ("type", &["k"]),
            ("unlink", &["k"]),
            ("xadd", &["s", "MAXLEN", "~", "5", "*", "f", "v"]),
            ("xdel", &["s", "1-1"]),
            ("xgroup", &["HELP"]),
            ("xlen", &["s"]),
            ("xread", &["COUNT", "1", "STREAMS", "s", "t", "0", "$"]),
            ("xrange", &["s", "-", "+", "COUNT", "2"]),
            ("xrevrange", &["s", "+", "-"]),
            ("xsetid", &["s", "5-5"]),
            ("xtrim", &["s", "MINID", "5"]),
            (
                "xreadgroup",
                &["GROUP", "g", "c", "NOACK", "STREAMS", "s", ">"],
            ),
            ("xack", &["s", "g", "1-1", "2"]),
            ("xpending", &["s", "g", "IDLE", "5", "-", "+", "10", "c"]),
            ("xinfo", &["STREAM", "s", "FULL"]),
            ("xclaim", &["s", "g", "c", "10", "1-1", "JUSTID"]),
            ("xautoclaim", &["s", "g", "c", "10", "0-0", "COUNT", "5"]),
            ("zadd", &["z", "1", "m"]),
            ("zcard", &["z"]),
            ("zcount", &["z", "0", "1"]),
            ("zdiff", &["1", "z"]),
            ("zdiffstore", &["d", "1", "z"]),
            ("zincrby", &["z", "1", "m"]),
            ("zinter", &["1", "z"]),
            ("zintercard", &["1", "z"]),
            ("zinterstore", &["d", "1", "z"]),
            ("zlexcount", &["z", "-", "+"]),
            ("zmpop", &["1", "z", "max"]),
            ("zmscore", &["z", "m"]),
            ("zpopmax", &["z"]),
            ("zpopmin", &["z", "2"]),
            ("zrandmember", &["z", "2", "withscores"]),
            ("zrange", &["z", "0", "1"]),
            ("zrangebylex", &["z", "-", "+"]),
            ("zrangebyscore", &["z", "0", "1"]),
            ("zrangestore", &["d", "z", "0", "1"]),
            ("zrank", &["z", "m"]),
            ("zrem", &["z", "m"]),
            ("zremrangebylex", &["z", "-", "+"]),
            ("zremrangebyrank", &["z", "0", "1"]),
            ("zremrangebyscore", &["z", "0", "1"]),
            ("zrevrange", &["z", "0", "1"]),
            ("zrevrangebylex", &["z", "+", "-"]),
            ("zrevrangebyscore", &["z", "1", "0"]),
            ("zrevrank", &["z", "m"]),
            ("zscan", &["z", "0"]),
            ("zscore", &["z", "m"]),
            ("zunion", &["1", "z"]),
            ("zunionstore", &["d", "1", "z"]),
            ("dump", &["k"]),
            ("restore", &["k", "0", "payload", "REPLACE", "FREQ", "3"]),
            ("swapdb", &["0", "1"]),
        ];
        let mut covered = 0;
        for spec in crate::table::all() {
            let Handler::Storage(parse) = spec.handler else {
                continue;
            };
            let (_, argv) = samples
                .iter()
                .find(|(n, _)| *n == spec.name)
                .unwrap_or_else(|| panic!("no sample arguments for {}", spec.name));
            let cmd = run(parse, argv).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
            // The writer-owned kinds run on the writer whatever their row's flags.
            let writer_owned = WRITER_OWNED.contains(&cmd.kind());
            assert_eq!(
                cmd.is_write(),
                spec.is_write() || writer_owned,
                "{} parsed as {cmd:?}",
                spec.name
            );
            covered += 1;
        }
        assert_eq!(covered, samples.len());
    }
}
