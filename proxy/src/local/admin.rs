//! Proxy-local administration commands: `INFO`, `CONFIG`, `COMMAND`, and the server
//! commands a master without replicas answers alone (`ROLE`, `WAIT`, `LASTSAVE`). INFO merges the proxy's own
//! sections with those storaged reports (keyspace, storage, storage-side stats); CONFIG keeps
//! tandem's live settings and remembers Redis's encoding knobs; COMMAND reads the table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use tandem_shared::wire::Outcome;
use tandem_shared::{Command, Reply};

use tandem_commands::args::{parse_i64, Args};

use super::client::REDIS_VERSION;
use crate::config::Config;
use crate::error::CommandError;
use crate::instance::Settings;
use crate::session::{Flow, LocalResult, Session};

/// How a parameter's value is checked by `CONFIG SET`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Memory,
    Bool,
    Text,
    /// One of a fixed list of words.
    Enum(&'static [&'static str]),
    Immutable,
    /// Kept by storaged so every proxy shares it (`notify-keyspace-events`).
    Storaged,
    /// `busy-reply-threshold` and its alias `lua-time-limit`: kept by storaged, which runs
    /// the scripts, so every proxy shares it; milliseconds from 0 to `i64::MAX`.
    BusyThreshold,
}

/// The name of the script time limit, and its older alias (both listed by `CONFIG GET`).
const BUSY_REPLY_THRESHOLD: &str = "busy-reply-threshold";
const LUA_TIME_LIMIT: &str = "lua-time-limit";

/// The one parameter storaged holds.
const NOTIFY_KEYSPACE_EVENTS: &str = "notify-keyspace-events";

const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// Every parameter `CONFIG GET` knows, with its default and kind.
fn defaults(config: &Config) -> Vec<(&'static str, String, Kind)> {
    use Kind::*;
    let s = |v: &str| v.to_owned();
    vec![
        ("requirepass", config.requirepass.clone(), Text),
        (
            "proto-max-bulk-len",
            config.proto_max_bulk_len.to_string(),
            Memory,
        ),
        ("maxclients", config.maxclients.to_string(), Int),
        ("tcp-backlog", config.tcp_backlog.to_string(), Immutable),
        ("port", config.listen.port().to_string(), Immutable),
        ("bind", config.listen.ip().to_string(), Immutable),
        ("databases", s("16"), Immutable),
        ("timeout", s("0"), Int),
        ("tcp-keepalive", s("300"), Int),
        (
            "loglevel",
            s("notice"),
            Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
        ),
        ("appendonly", s("no"), Bool),
        (
            "appendfsync",
            s("everysec"),
            Enum(&["always", "everysec", "no"]),
        ),
        ("save", s(""), Text),
        ("dir", s("."), Immutable),
        ("dbfilename", s("dump.rdb"), Text),
        ("maxmemory", s("0"), Memory),
        (
            "maxmemory-policy",
            s("noeviction"),
            Enum(MAXMEMORY_POLICIES),
        ),
        ("maxmemory-samples", s("5"), Int),
        ("hz", s("10"), Int),
        (NOTIFY_KEYSPACE_EVENTS, s(""), Storaged),
        ("hash-max-listpack-entries", s("128"), Int),
        ("hash-max-listpack-value", s("64"), Int),
        ("hash-max-ziplist-entries", s("128"), Int),
        ("hash-max-ziplist-value", s("64"), Int),
        ("set-max-intset-entries", s("512"), Int),
        ("set-max-listpack-entries", s("128"), Int),
        ("set-max-listpack-value", s("64"), Int),
        ("zset-max-listpack-entries", s("128"), Int),
        ("zset-max-listpack-value", s("64"), Int),
        ("zset-max-ziplist-entries", s("128"), Int),
        ("zset-max-ziplist-value", s("64"), Int),
        ("list-max-listpack-size", s("-2"), Int),
        ("list-max-ziplist-size", s("-2"), Int),
        ("list-compress-depth", s("0"), Int),
        ("stream-node-max-bytes", s("4096"), Memory),
        ("stream-node-max-entries", s("100"), Int),
        (LUA_TIME_LIMIT, s("5000"), BusyThreshold),
        (BUSY_REPLY_THRESHOLD, s("5000"), BusyThreshold),
        ("slowlog-log-slower-than", s("10000"), Int),
        ("slowlog-max-len", s("128"), Int),
        ("latency-monitor-threshold", s("0"), Int),
        ("lazyfree-lazy-eviction", s("no"), Bool),
        ("lazyfree-lazy-expire", s("no"), Bool),
        ("lazyfree-lazy-server-del", s("no"), Bool),
        ("lazyfree-lazy-user-del", s("no"), Bool),
        ("lazyfree-lazy-user-flush", s("no"), Bool),
        ("activerehashing", s("yes"), Bool),
        ("protected-mode", s("no"), Bool),
        ("io-threads", s("1"), Immutable),
        ("replica-read-only", s("yes"), Bool),
        (
            "client-output-buffer-limit",
            s("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
            Text,
        ),
        ("max-frame", config.max_frame.to_string(), Immutable),
        (
            "request-timeout-ms",
            config.request_timeout_ms.to_string(),
            Immutable,
        ),
        (
            "queue-capacity",
            config.queue_capacity.to_string(),
            Immutable,
        ),
    ]
}

fn kind_of(config: &Config, name: &str) -> Option<Kind> {
    defaults(config)
        .into_iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, k)| k)
}

/// The settings a proxy starts with.
pub fn initial_settings(config: &Config) -> Settings {
    Settings {
        requirepass: config.requirepass.clone(),
        params: defaults(config)
            .into_iter()
            .map(|(n, v, _)| (n.to_owned(), v))
            .collect(),
    }
}

/// Parses Redis's memory notation: `100`, `1k`, `1kb`, `5mb`, `1gb` (case-insensitive).
fn parse_memory(v: &str) -> Option<u64> {
    let lower = v.to_ascii_lowercase();
    let (digits, mult) = [
        ("gb", 1u64 << 30),
        ("g", 1_000_000_000),
        ("mb", 1 << 20),
        ("m", 1_000_000),
        ("kb", 1 << 10),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, mult)| lower.strip_suffix(suffix).map(|d| (d.to_owned(), *mult)))
    .unwrap_or((lower.clone(), 1));
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

/// Runs one storage command for CONFIG.
async fn storaged_param(session: &mut Session, command: Command) -> Result<Reply, CommandError> {
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

/// `CONFIG GET|SET|RESETSTAT|REWRITE|HELP`.
pub async fn config(mut args: Args, session: &mut Session) -> LocalResult {
    let sub_raw = String::from_utf8_lossy(&args.next_bytes()?).into_owned();
    let sub = sub_raw.to_ascii_lowercase();
    match sub.as_str() {
        "get" => {
            if args.remaining() == 0 {
                return Err(CommandError::WrongArity("config|get".into()));
            }
            let settings = session.shared.settings();
            let mut found: BTreeMap<String, String> = BTreeMap::new();
            for pattern in args.rest() {
                for (name, value) in &settings.params {
                    if tandem_shared::glob::glob_match(&pattern, name.as_bytes(), true) {
                        found.insert(name.clone(), value.clone());
                    }
                }
            }
            if found.contains_key(BUSY_REPLY_THRESHOLD) || found.contains_key(LUA_TIME_LIMIT) {
                let command = Command::BusyReplyThreshold { set_ms: None };
                if let Reply::Integer(ms) = storaged_param(session, command).await? {
                    for name in [BUSY_REPLY_THRESHOLD, LUA_TIME_LIMIT] {
                        if let Some(value) = found.get_mut(name) {
                            *value = ms.to_string();
                        }
                    }
                }
            }
            if let Some(value) = found.get_mut(NOTIFY_KEYSPACE_EVENTS) {
                if let Reply::Bulk(flags) =
                    storaged_param(session, Command::GetNotifyKeyspaceEvents).await?
                {
                    *value = String::from_utf8_lossy(&flags).into_owned();
                }
            }
            Ok((
                Reply::Map(
                    found
                        .into_iter()
                        .map(|(k, v)| (Reply::Bulk(k.into_bytes()), Reply::Bulk(v.into_bytes())))
                        .collect(),
                ),
                Flow::Continue,
            ))
        }
        "set" => {
            if args.remaining() == 0 || !args.remaining().is_multiple_of(2) {
                return Err(CommandError::WrongArity("config|set".into()));
            }
            let mut updates = Vec::new();
            while args.remaining() > 0 {
                let name = String::from_utf8_lossy(&args.next_bytes()?).to_ascii_lowercase();
                let value = String::from_utf8_lossy(&args.next_bytes()?).into_owned();
                let failed = |why: &str| {
                    CommandError::err(format!(
                        "CONFIG SET failed (possibly related to argument '{name}') - {why}"
                    ))
                };
                let value = match kind_of(&session.shared.config, &name) {
                    None => {
                        return Err(CommandError::err(format!(
                            "Unknown option or number of arguments for CONFIG SET - '{name}'"
                        )))
                    }
                    Some(Kind::Immutable) => return Err(failed("can't set immutable config")),
                    Some(Kind::Storaged) => {
                        if tandem_shared::notify::Flags::parse(value.as_bytes()).is_none() {
                            return Err(failed(
                                "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
                            ));
                        }
                        value
                    }
                    Some(Kind::BusyThreshold) => match parse_i64(value.as_bytes()) {
                        Some(v) if v >= 0 => v.to_string(),
                        Some(_) => {
                            return Err(failed(
                                "argument must be between 0 and 9223372036854775807 inclusive",
                            ))
                        }
                        None => return Err(failed("argument couldn't be parsed into an integer")),
                    },
                    Some(Kind::Int) => match parse_i64(value.as_bytes()) {
                        Some(v) => v.to_string(),
                        None => return Err(failed("argument couldn't be parsed into an integer")),
                    },
                    Some(Kind::Memory) => match parse_memory(&value) {
                        Some(v) => v.to_string(),
                        None => return Err(failed("argument must be a memory value")),
                    },
                    Some(Kind::Bool) => match value.to_ascii_lowercase().as_str() {
                        "yes" | "no" => value.to_ascii_lowercase(),
                        _ => return Err(failed("argument must be 'yes' or 'no'")),
                    },
                    Some(Kind::Text) => value,
                    Some(Kind::Enum(choices)) => {
                        let lower = value.to_ascii_lowercase();
                        if !choices.contains(&lower.as_str()) {
                            return Err(failed(&format!(
                                "argument(s) must be one of the following: {}",
                                choices.join(", ")
                            )));
                        }
                        lower
                    }
                };
                updates.push((name, value));
            }
            // Last of the checks, so a refused CONFIG SET changes nothing anywhere.
            if let Some((_, flags)) = updates
                .iter()
                .rev()
                .find(|(n, _)| n == NOTIFY_KEYSPACE_EVENTS)
            {
                let flags = flags.clone();
                storaged_param(session, Command::SetNotifyKeyspaceEvents { flags }).await?;
            }
            if let Some((_, ms)) = updates
                .iter()
                .rev()
                .find(|(n, _)| n == BUSY_REPLY_THRESHOLD || n == LUA_TIME_LIMIT)
            {
                let set_ms = ms.parse().ok();
                storaged_param(session, Command::BusyReplyThreshold { set_ms }).await?;
            }
            let mut settings = match session.shared.settings.write() {
                Ok(s) => s,
                Err(poisoned) => poisoned.into_inner(),
            };
            for (name, value) in updates {
                match name.as_str() {
                    "requirepass" => settings.requirepass.clone_from(&value),
                    "proto-max-bulk-len" => session
                        .shared
                        .proto_max_bulk_len
                        .store(value.parse().unwrap_or(u64::MAX), Ordering::Relaxed),
                    "maxclients" => session
                        .shared
                        .maxclients
                        .store(value.parse().unwrap_or(usize::MAX), Ordering::Relaxed),
                    _ => {}
                }
                tracing::info!(param = %name, "CONFIG SET");
                if name == BUSY_REPLY_THRESHOLD || name == LUA_TIME_LIMIT {
                    // One setting under two names.
                    for alias in [BUSY_REPLY_THRESHOLD, LUA_TIME_LIMIT] {
                        settings.params.insert(alias.to_owned(), value.clone());
                    }
                }
                settings.params.insert(name, value);
            }
            Ok((Reply::ok(), Flow::Continue))
        }
        "resetstat" => {
            let stats = &session.shared.stats;
            stats.commands_processed.store(0, Ordering::Relaxed);
            stats.connections_received.store(0, Ordering::Relaxed);
            stats.rejected_connections.store(0, Ordering::Relaxed);
            Ok((Reply::ok(), Flow::Continue))
        }
        "rewrite" => Err(CommandError::err(
            "The server is running without a config file",
        )),
        "help" => Ok((
            Reply::Array(
                [
                    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "GET <pattern>",
                    "SET <directive> <value>",
                    "RESETSTAT",
                    "REWRITE",
                ]
                .iter()
                .map(|s| Reply::Simple((*s).to_owned()))
                .collect(),
            ),
            Flow::Continue,
        )),
        _ => Err(CommandError::err(format!(
            "unknown subcommand '{sub_raw}'. Try CONFIG HELP."
        ))),
    }
}

/// `COMMAND [COUNT|INFO|DOCS|LIST|GETKEYS|GETKEYSANDFLAGS|HELP]`, answered from the command
/// table by `tandem_commands::describe`.
pub fn command(mut args: Args, _session: &mut Session) -> LocalResult {
    Ok((
        tandem_commands::describe::command(&mut args)?,
        Flow::Continue,
    ))
}

/// Splits storaged's INFO text into sections by their `# Name` headers (lower-cased).
fn sections_of(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::from("storage");
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(name) = line.strip_prefix("# ") {
            current = name.trim().to_ascii_lowercase();
            out.entry(current.clone()).or_default();
        } else if !line.is_empty() {
            out.entry(current.clone())
                .or_default()
                .push(line.to_owned());
        }
    }
    out
}

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// `INFO [section ...]`.
pub async fn info(mut args: Args, session: &mut Session) -> LocalResult {
    let wanted: Vec<String> = args
        .rest()
        .iter()
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    let all = wanted.is_empty()
        || wanted
            .iter()
            .any(|w| matches!(w.as_str(), "all" | "everything" | "default"));
    let want = |s: &str| all || wanted.iter().any(|w| w == s);
    let storage = if [
        "keyspace",
        "stats",
        "storage",
        "memory",
        "cpu",
        "persistence",
    ]
    .into_iter()
    .any(&want)
    {
        match session.call_storage(0, vec![Command::Info]).await {
            Ok(outcomes) => match outcomes.into_iter().next() {
                Some(Outcome::Ok(Reply::Bulk(b))) => sections_of(&String::from_utf8_lossy(&b)),
                _ => BTreeMap::new(),
            },
            Err(_) => BTreeMap::new(),
        }
    } else {
        BTreeMap::new()
    };
    let shared = &session.shared;
    let mut out = String::new();
    let mut section = |name: &str, body: &mut dyn FnMut(&mut String)| {
        if want(&name.to_ascii_lowercase()) {
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            let _ = write!(out, "# {name}\r\n");
            body(&mut out);
        }
    };
    let uptime = shared.started.elapsed().as_secs();
    section("Server", &mut |o| {
        let _ = write!(
            o,
            "redis_version:{REDIS_VERSION}\r\ntandem_version:{}\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nprocess_id:{}\r\nrun_id:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nexecutable:tandem-proxy\r\n",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::process::id(),
            shared.run_id,
            shared.port,
            uptime / 86400,
        );
    });
    section("Clients", &mut |o| {
        let _ = write!(
            o,
            "connected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:{}\r\ntracking_clients:0\r\n",
            shared.clients.len(),
            shared.maxclients.load(Ordering::Relaxed),
            shared.clients.blocked()
        );
    });
    section("Memory", &mut |o| {
        let rss = rss_bytes();
        let _ = write!(o, "used_memory:{rss}\r\nused_memory_human:{:.2}M\r\nused_memory_rss:{rss}\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n", rss as f64 / 1048576.0);
        for line in storage.get("memory").into_iter().flatten() {
            let _ = write!(o, "{line}\r\n");
        }
    });
    section("Persistence", &mut |o| {
        // storaged's save state (SAVE/BGSAVE) goes where Redis prints its rdb_ fields.
        let _ = write!(o, "loading:0\r\nrdb_changes_since_last_save:0\r\n");
        for line in storage.get("persistence").into_iter().flatten() {
            let _ = write!(o, "{line}\r\n");
        }
        let _ = write!(o, "aof_enabled:0\r\n");
    });
    section("Stats", &mut |o| {
        let s = &shared.stats;
        let _ = write!(
            o,
            "total_connections_received:{}\r\ntotal_commands_processed:{}\r\nrejected_connections:{}\r\n",
            s.connections_received.load(Ordering::Relaxed),
            s.commands_processed.load(Ordering::Relaxed),
            s.rejected_connections.load(Ordering::Relaxed),
        );
        for line in storage.get("stats").into_iter().flatten() {
            let _ = write!(o, "{line}\r\n");
        }
    });
    section("Replication", &mut |o| {
        let _ = write!(o, "role:master\r\nconnected_slaves:0\r\n");
    });
    section("CPU", &mut |o| {
        o.push_str(&tandem_service::process::cpu_usage().info_lines(""));
        for line in storage.get("cpu").into_iter().flatten() {
            let _ = write!(o, "{line}\r\n");
        }
    });
    section("Link", &mut |o| {
        for (i, link) in shared.links.links().iter().enumerate() {
            let st = link.stats();
            let (state, last_error) = st
                .state
                .lock()
                .map(|s| (s.0.as_str(), s.1.clone()))
                .unwrap_or(("down", String::new()));
            let _ = write!(
                o,
                "link{i}:state={state},reconnects={},queue_depth={},in_flight={},requests={},queued={},shed={},timed_out={},resent={},last_error={}\r\n",
                st.reconnects.load(Ordering::Relaxed),
                link.queue_depth(),
                link.in_flight(),
                st.requests.load(Ordering::Relaxed),
                st.queued.load(Ordering::Relaxed),
                st.shed.load(Ordering::Relaxed),
                st.timed_out.load(Ordering::Relaxed),
                st.resent.load(Ordering::Relaxed),
                last_error.replace([',', '\r', '\n'], " "),
            );
        }
    });
    for (name, lines) in &storage {
        if matches!(name.as_str(), "stats" | "memory" | "cpu") {
            continue;
        }
        let title = {
            let mut c = name.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        };
        section(&title, &mut |o| {
            for line in lines {
                let _ = write!(o, "{line}\r\n");
            }
        });
    }
    Ok((Reply::Verbatim(out.into_bytes()), Flow::Continue))
}

/// `ROLE`: tandem is a master without replicas, so Redis's master reply with replication
/// offset 0 and an empty replica list.
pub fn role() -> LocalResult {
    Ok((
        Reply::Array(vec![
            Reply::Bulk(b"master".to_vec()),
            Reply::Integer(0),
            Reply::Array(Vec::new()),
        ]),
        Flow::Continue,
    ))
}

/// `WAIT numreplicas timeout`: the arguments are checked as Redis checks them (the count
/// first, then the millisecond timeout), and the answer is the number of replicas that
/// acknowledged, always 0. Redis, asked for more replicas than acknowledged, blocks until
/// the timeout (for ever with timeout 0) and then answers the same 0; with no replicas to
/// wait for, tandem answers at once.
pub fn wait(mut args: Args) -> LocalResult {
    args.next_i64()?;
    let timeout = args.next_bytes()?;
    match parse_i64(&timeout) {
        None => Err(CommandError::err(
            "timeout is not an integer or out of range",
        )),
        Some(t) if t < 0 => Err(CommandError::err("timeout is negative")),
        Some(_) => Ok((Reply::Integer(0), Flow::Continue)),
    }
}
