//! `OBJECT` and `DEBUG`, answered as Redis 7.0 answers them (LOLWUT: `super::lolwut`)
//! (`docs/PROTOCOL.md`, "OBJECT, MEMORY, DEBUG, LOLWUT").
//!
//! OBJECT and DEBUG OBJECT need the value (it lives in storaged) and the settings Redis's
//! answer depends on (they live here: the encoding thresholds `CONFIG SET` remembers and the
//! eviction policy), so the proxy sends both in one `Command::Object`. The DEBUG
//! subcommands that stand for Redis's single thread (SLEEP, RELOAD, SET-ACTIVE-EXPIRE) run
//! on storaged's writer; ERROR and HELP are answered here. DEBUG is refused unless
//! `enable-debug-command` allows it, with Redis's text. This module writes no data itself.

use tandem_shared::command::{ObjectField, ObjectLimits};
use tandem_shared::wire::Outcome;
use tandem_shared::{Command, Reply};

use tandem_commands::args::Args;

use crate::error::CommandError;
use crate::session::{Flow, LocalResult, Session};

pub(crate) const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

/// Runs one storage command and returns its reply.
async fn storage(session: &mut Session, command: Command) -> Result<Reply, CommandError> {
    match session
        .call_storage(session.state.db, vec![command])
        .await?
        .pop()
    {
        Some(Outcome::Ok(reply)) => Ok(reply),
        Some(Outcome::Err(e)) => Err(CommandError::Other(e.to_string())),
        None => Err(CommandError::err("storage returned no reply")),
    }
}

/// The settings `OBJECT` answers by, from this proxy's live `CONFIG` values (Redis 7.0's
/// defaults for any that does not parse).
fn limits(session: &Session) -> ObjectLimits {
    let settings = session.shared.settings();
    let int = |name: &str, default: i64| {
        settings
            .params
            .get(name)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(default)
    };
    let uint = |name: &str, default: i64| u64::try_from(int(name, default)).unwrap_or(0);
    let policy = settings
        .params
        .get("maxmemory-policy")
        .map(|p| p.to_ascii_lowercase())
        .unwrap_or_default();
    let maxmemory = settings.params.get("maxmemory").is_some_and(|m| {
        m.trim_start_matches('0')
            .chars()
            .any(|c| c.is_ascii_digit())
    });
    // Redis's MAXMEMORY_FLAG_NO_SHARED_INTEGERS: the LRU and LFU policies.
    let lru_or_lfu = policy.ends_with("-lru") || policy.ends_with("-lfu");
    ObjectLimits {
        hash_max_listpack_entries: uint("hash-max-listpack-entries", 512),
        hash_max_listpack_value: uint("hash-max-listpack-value", 64),
        zset_max_listpack_entries: uint("zset-max-listpack-entries", 128),
        zset_max_listpack_value: uint("zset-max-listpack-value", 64),
        set_max_intset_entries: uint("set-max-intset-entries", 512),
        list_max_listpack_size: int("list-max-listpack-size", -2),
        lfu: policy.ends_with("-lfu"),
        shared_integers: !(maxmemory && lru_or_lfu),
    }
}

/// `OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT key`, `OBJECT HELP`.
pub async fn object(mut args: Args, session: &mut Session) -> LocalResult {
    let sub = args.next_bytes()?;
    let spec = tandem_commands::table::lookup(b"object")
        .ok_or_else(|| CommandError::err("OBJECT is missing from the command table"))?;
    let sub_spec = spec.checked_subcommand(&sub, args.remaining())?;
    let field = match sub_spec.name {
        "object|help" => return Ok((help(OBJECT_HELP), Flow::Continue)),
        "object|encoding" => ObjectField::Encoding,
        "object|freq" => ObjectField::Freq,
        "object|idletime" => ObjectField::IdleTime,
        _ => ObjectField::RefCount,
    };
    let key = args.next_vec()?;
    let limits = limits(session);
    let reply = storage(session, Command::Object { field, key, limits }).await?;
    Ok((reply, Flow::Continue))
}

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

/// Redis's `DEBUG HELP` entries for the subcommands tandem runs, in Redis's order and
/// words (the others are left out rather than advertised and refused).
const DEBUG_HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Prints this help.",
];

/// Redis 7.0's DEBUG subcommands tandem does not run (crash, replication, AOF, allocator
/// and dict internals): refused by name rather than with the unknown-subcommand text.
const DEBUG_NOT_RUN: &[&str] = &[
    "aof-flush-sleep",
    "assert",
    "change-repl-id",
    "config-rewrite-force-all",
    "crash-and-recover",
    "digest",
    "digest-value",
    "leak",
    "log",
    "htstats",
    "htstats-key",
    "loadaof",
    "listpack",
    "drop-cluster-packet-filter",
    "oom",
    "panic",
    "populate",
    "protocol",
    "quicklist-packed-threshold",
    "replybuffer",
    "restart",
    "segfault",
    "set-disable-deny-scripts",
    "set-skip-checksum-validation",
    "stringmatch-test",
    "structsize",
    "sdslen",
    "ziplist",
    "jmap",
    "client-eviction",
    "mallctl",
    "mallctl-str",
    "pause-cron",
    "stringmatch-len",
    "set-active-defrag",
];

/// Whether `enable-debug-command` lets this client run DEBUG.
pub(crate) fn debug_allowed(session: &Session) -> bool {
    match session.shared.config.enable_debug_command.as_str() {
        "yes" => true,
        "local" => session.state.addr.ip().is_loopback(),
        _ => false,
    }
}

/// `DEBUG <subcommand> ...`: HELP, ERROR, OBJECT, SLEEP, RELOAD, SET-ACTIVE-EXPIRE.
pub async fn debug(mut args: Args, session: &mut Session) -> LocalResult {
    if !debug_allowed(session) {
        return Err(CommandError::Other(DEBUG_NOT_ALLOWED.to_owned()));
    }
    let sub = args.next_bytes()?;
    let lower = String::from_utf8_lossy(&sub).to_ascii_lowercase();
    let n = args.remaining();
    let unknown = || {
        CommandError::Other(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(&sub)
        ))
    };
    let reply = match lower.as_str() {
        "help" if n == 0 => help(DEBUG_HELP),
        "error" if n == 1 => {
            // Redis writes the text as the whole error line, newlines made spaces.
            let text = String::from_utf8_lossy(&args.next_bytes()?).replace(['\r', '\n'], " ");
            return Err(CommandError::Other(text));
        }
        "sleep" if n == 1 => {
            // Redis reads the seconds with strtod: junk is 0, a negative value no sleep.
            let secs = strtod(&args.next_bytes()?);
            let micros = if secs.is_finite() && secs > 0.0 {
                (secs * 1e6) as u64
            } else {
                0
            };
            storage(session, Command::DebugSleep { micros }).await?
        }
        "set-active-expire" if n == 1 => {
            let enabled = atoi(&args.next_bytes()?) != 0;
            storage(session, Command::DebugSetActiveExpire { enabled }).await?
        }
        "reload" => {
            for opt in args.rest() {
                let ok = [&b"merge"[..], b"noflush", b"nosave"]
                    .iter()
                    .any(|o| opt.eq_ignore_ascii_case(o));
                if !ok {
                    return Err(CommandError::err(
                        "DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
                    ));
                }
            }
            storage(session, Command::DebugReload).await?
        }
        "object" if n == 1 => {
            let key = args.next_vec()?;
            let limits = limits(session);
            let field = ObjectField::Debug;
            storage(session, Command::Object { field, key, limits }).await?
        }
        other if DEBUG_NOT_RUN.contains(&other) => {
            return Err(CommandError::err(format!(
                "DEBUG {} is not supported by tandem",
                other.to_ascii_uppercase()
            )))
        }
        _ => return Err(unknown()),
    };
    Ok((reply, Flow::Continue))
}

/// C's `strtod` on a whole argument as Redis uses it: the longest leading number, else 0.
fn strtod(b: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(b);
    let text = text.trim_start();
    (1..=text.len())
        .rev()
        .filter(|&i| text.is_char_boundary(i))
        .find_map(|i| {
            let head = &text[..i];
            // Rust accepts "inf"/"nan" words strtod also takes; both mean no sleep here.
            head.parse::<f64>().ok()
        })
        .unwrap_or(0.0)
}

/// C's `atoi`: leading spaces, a sign, digits; anything else stops it.
fn atoi(b: &[u8]) -> i64 {
    let mut it = b.iter().skip_while(|c| c.is_ascii_whitespace()).peekable();
    let negative = match it.peek() {
        Some(b'-') => {
            it.next();
            true
        }
        Some(b'+') => {
            it.next();
            false
        }
        _ => false,
    };
    let mut n: i64 = 0;
    for c in it.take_while(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    if negative {
        -n
    } else {
        n
    }
}

fn help(lines: &[&str]) -> Reply {
    Reply::Array(
        lines
            .iter()
            .map(|l| Reply::Simple((*l).to_owned()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_and_atoi_read_like_c() {
        assert_eq!(strtod(b"0.5"), 0.5);
        assert_eq!(strtod(b"1.5s"), 1.5);
        assert_eq!(strtod(b"abc"), 0.0);
        assert_eq!(strtod(b" 2"), 2.0);
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b"0"), 0);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b"12abc"), 12);
        assert_eq!(atoi(b"-3"), -3);
    }
}
