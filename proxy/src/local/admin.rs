//! Proxy-local administration commands: `CONFIG`, `COMMAND`, and the server commands a
//! master without replicas answers alone (`ROLE`, `WAIT`). CONFIG keeps tandem's live
//! settings, remembers Redis's encoding knobs, passes the settings the pair shares to
//! storaged (keyspace events, the script time limit, the slow log and latency monitor), and
//! writes the proxy's TOML file back (`CONFIG REWRITE`); COMMAND reads the table. INFO is
//! `super::info`.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use tandem_shared::wire::Outcome;
use tandem_shared::{Command, Reply};

use tandem_commands::args::{parse_i64, Args};
use tandem_shared::stats::StatsOp;

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
    /// `slowlog-log-slower-than`, `slowlog-max-len`, `latency-monitor-threshold`: kept by
    /// storaged for the pair (`storaged/src/stats.rs`); an integer from this minimum to
    /// `i64::MAX`.
    Pair(i64),
}

const SLOWLOG_SLOWER_THAN: &str = "slowlog-log-slower-than";
const SLOWLOG_MAX_LEN: &str = "slowlog-max-len";
const LATENCY_THRESHOLD: &str = "latency-monitor-threshold";

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
    let path = |p: &std::path::Path| p.display().to_string();
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
        ("hash-max-listpack-entries", s("512"), Int),
        ("hash-max-listpack-value", s("64"), Int),
        ("hash-max-ziplist-entries", s("512"), Int),
        ("hash-max-ziplist-value", s("64"), Int),
        ("set-max-intset-entries", s("512"), Int),
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
        (SLOWLOG_SLOWER_THAN, s("10000"), Pair(-1)),
        (SLOWLOG_MAX_LEN, s("128"), Pair(0)),
        (LATENCY_THRESHOLD, s("0"), Pair(0)),
        ("lazyfree-lazy-eviction", s("no"), Bool),
        ("lazyfree-lazy-expire", s("no"), Bool),
        ("lazyfree-lazy-server-del", s("no"), Bool),
        ("lazyfree-lazy-user-del", s("no"), Bool),
        ("lazyfree-lazy-user-flush", s("no"), Bool),
        ("activerehashing", s("yes"), Bool),
        (
            "protected-mode",
            s(if config.protected_mode { "yes" } else { "no" }),
            Bool,
        ),
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
        // TLS (issue 19): changed in the config file and applied by SIGHUP, not CONFIG SET.
        ("tls-port", config.tls_port.to_string(), Immutable),
        ("tls-cert-file", path(&config.tls_cert_file), Immutable),
        ("tls-key-file", path(&config.tls_key_file), Immutable),
        (
            "tls-ca-cert-file",
            path(&config.tls_ca_cert_file),
            Immutable,
        ),
        (
            "tls-auth-clients",
            s(config.tls_auth_clients.as_str()),
            Immutable,
        ),
        ("tls-protocols", config.tls_protocols.clone(), Immutable),
        (
            "tls-ciphersuites",
            config.tls_ciphersuites.clone(),
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
            if [SLOWLOG_SLOWER_THAN, SLOWLOG_MAX_LEN, LATENCY_THRESHOLD]
                .iter()
                .any(|n| found.contains_key(*n))
            {
                let op = StatsOp::Settings {
                    slower_than: None,
                    max_len: None,
                    latency_threshold: None,
                };
                let reply = super::slowlog::ask(session, op).await?;
                crate::stats::apply_settings(&reply);
                if let Reply::Array(values) = reply {
                    let names = [SLOWLOG_SLOWER_THAN, SLOWLOG_MAX_LEN, LATENCY_THRESHOLD];
                    for (name, value) in names.iter().zip(values) {
                        if let (Some(shown), Reply::Integer(v)) = (found.get_mut(*name), value) {
                            *shown = v.to_string();
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
                    Some(Kind::Pair(min)) => match parse_i64(value.as_bytes()) {
                        Some(v) if v >= min => v.to_string(),
                        Some(_) => {
                            return Err(failed(&format!(
                                "argument must be between {min} and 9223372036854775807 inclusive"
                            )))
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
            let pair = |name: &str| {
                updates
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .and_then(|(_, v)| v.parse::<i64>().ok())
            };
            let op = StatsOp::Settings {
                slower_than: pair(SLOWLOG_SLOWER_THAN),
                max_len: pair(SLOWLOG_MAX_LEN),
                latency_threshold: pair(LATENCY_THRESHOLD),
            };
            if !matches!(
                op,
                StatsOp::Settings {
                    slower_than: None,
                    max_len: None,
                    latency_threshold: None
                }
            ) {
                let reply = super::slowlog::ask(session, op).await?;
                crate::stats::apply_settings(&reply);
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
            if args.remaining() > 0 {
                return Err(CommandError::WrongArity("config|resetstat".into()));
            }
            let stats = &session.shared.stats;
            stats.commands_processed.store(0, Ordering::Relaxed);
            stats.connections_received.store(0, Ordering::Relaxed);
            stats.rejected_connections.store(0, Ordering::Relaxed);
            // This proxy's unreported counts, then the pair's sums (command and error
            // statistics and storaged's keyspace figures; not the slow log, as Redis).
            crate::stats::discard();
            super::slowlog::ask(session, StatsOp::ResetStat).await?;
            Ok((Reply::ok(), Flow::Continue))
        }
        "rewrite" => {
            if args.remaining() > 0 {
                return Err(CommandError::WrongArity("config|rewrite".into()));
            }
            rewrite(session)?;
            Ok((Reply::ok(), Flow::Continue))
        }
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

/// The proxy's TOML keys `CONFIG SET` can change, with their running values.
fn rewritable(session: &Session) -> Vec<(&'static str, toml_value::Value)> {
    let settings = session.shared.settings();
    vec![
        (
            "requirepass",
            toml_value::Value::Text(settings.requirepass.clone()),
        ),
        (
            "maxclients",
            toml_value::Value::Int(session.shared.maxclients.load(Ordering::Relaxed) as u64),
        ),
        (
            "proto-max-bulk-len",
            toml_value::Value::Int(session.shared.proto_max_bulk_len.load(Ordering::Relaxed)),
        ),
        (
            "protected-mode",
            toml_value::Value::Text(
                settings
                    .params
                    .get("protected-mode")
                    .cloned()
                    .unwrap_or_default(),
            ),
        ),
    ]
}

/// `CONFIG REWRITE`: writes the running values of the keys `CONFIG SET` changes in the proxy
/// (`requirepass`, `maxclients`, `proto-max-bulk-len`, `protected-mode`) into the TOML file the
/// proxy was started with. A key already in the file has its value replaced in place (its
/// comment and every other line kept); a key absent from the file is appended only when its
/// value differs from the file's effective one (the flag, variable or default), as Redis leaves
/// defaults out. Written to a temporary file beside it and renamed, so a crash leaves the old
/// file or the new one. The settings storaged keeps for the pair are not the proxy's keys and
/// are not written.
fn rewrite(session: &Session) -> Result<(), CommandError> {
    let Some(path) = session.shared.config.config_file.clone() else {
        return Err(CommandError::err(
            "The server is running without a config file",
        ));
    };
    let failed = |e: std::io::Error| {
        tracing::warn!(file = %path.display(), error = %e, "CONFIG REWRITE failed");
        CommandError::err(format!("Rewriting config file: {e}"))
    };
    let old = std::fs::read_to_string(&path).map_err(failed)?;
    let config = &session.shared.config;
    let started_with = [
        toml_value::Value::Text(config.requirepass.clone()),
        toml_value::Value::Int(config.maxclients as u64),
        toml_value::Value::Int(config.proto_max_bulk_len),
        toml_value::Value::Text(if config.protected_mode { "yes" } else { "no" }.to_owned()),
    ];
    let mut lines: Vec<String> = old.lines().map(str::to_owned).collect();
    let mut appended = Vec::new();
    for ((key, value), initial) in rewritable(session).into_iter().zip(started_with) {
        match lines.iter().position(|l| toml_value::is_key_line(l, key)) {
            Some(i) => lines[i] = toml_value::replace_value(&lines[i], &value),
            None if value != initial => appended.push(format!("{key} = {}", value.render())),
            None => {}
        }
    }
    if !appended.is_empty() {
        lines.push("# Generated by CONFIG REWRITE".to_owned());
        lines.extend(appended);
    }
    let mut text = lines.join("\n");
    text.push('\n');
    let tmp = path.with_extension("toml.rewrite");
    std::fs::write(&tmp, text).map_err(failed)?;
    if let Ok(meta) = std::fs::metadata(&path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, &path).map_err(failed)?;
    tracing::info!(file = %path.display(), "CONFIG REWRITE");
    Ok(())
}

/// The little TOML `CONFIG REWRITE` writes: top-level `key = value` lines of integers and
/// strings (the proxy's file has no tables).
mod toml_value {
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Value {
        Int(u64),
        Text(String),
    }

    impl Value {
        /// The TOML form: a bare integer, or a basic string with `"`, `\\` and control
        /// characters escaped.
        pub fn render(&self) -> String {
            match self {
                Value::Int(n) => n.to_string(),
                Value::Text(t) => {
                    let mut out = String::from("\"");
                    for c in t.chars() {
                        match c {
                            '"' => out.push_str("\\\""),
                            '\\' => out.push_str("\\\\"),
                            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
                            c => out.push(c),
                        }
                    }
                    out.push('"');
                    out
                }
            }
        }
    }

    /// True when `line` sets `key` (`key = …`, spaces allowed, not a comment).
    pub fn is_key_line(line: &str, key: &str) -> bool {
        line.trim_start()
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    }

    /// `line` with its value replaced by `value`, its indentation and a trailing comment
    /// kept (a `#` after the value, outside a string).
    pub fn replace_value(line: &str, value: &Value) -> String {
        let Some(eq) = line.find('=') else {
            return line.to_owned();
        };
        let (head, rest) = line.split_at(eq + 1);
        let mut in_string = false;
        let mut escaped = false;
        let mut comment = None;
        for (i, c) in rest.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' | '\'' => in_string = !in_string,
                '#' if !in_string => {
                    comment = Some(i);
                    break;
                }
                _ => {}
            }
        }
        match comment {
            Some(i) => format!(
                "{} {} {}",
                head.trim_end(),
                value.render(),
                rest[i..].trim_end()
            ),
            None => format!("{} {}", head.trim_end(), value.render()),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn values_are_replaced_and_comments_kept() {
            assert!(is_key_line("  maxclients= 5", "maxclients"));
            assert!(!is_key_line("# maxclients = 5", "maxclients"));
            assert!(!is_key_line("maxclients-x = 5", "maxclients"));
            assert_eq!(
                replace_value("maxclients = 10 # the limit", &Value::Int(20)),
                "maxclients = 20 # the limit"
            );
            assert_eq!(
                replace_value("requirepass = \"a#b\"", &Value::Text("q\"z".into())),
                "requirepass = \"q\\\"z\""
            );
        }
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
