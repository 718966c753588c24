//! `CLIENT PAUSE timeout [WRITE|ALL]`, `CLIENT UNPAUSE`, `SHUTDOWN`, and which commands a
//! pause holds.
//!
//! The pause is the deployment's: these handlers send it to storaged, which keeps it and
//! pushes it to every proxy (`crate::pause`) before it answers, so once a client has its
//! OK the clients of every proxy are held. The connection asks [`holds`] before each
//! command and waits (`crate::connection`) while it is true; nothing here waits on or
//! touches the socket.
//!
//! Which commands a pause holds is Redis 7.0's `processCommand` rule: `ALL` holds every
//! command of a normal client; `WRITE` holds the commands that may write or replicate
//! (the `write` flag; PUBLISH, SPUBLISH and PFCOUNT; EVAL unless its shebang declares
//! `no-writes`; EVALSHA and FCALL, see the known difference below; an EXEC whose queue
//! holds any of them). Errors Redis answers before the pause check (unknown command,
//! wrong arity, NOAUTH) are answered at once.
//!
//! Known difference: the proxy does not know the flags of a cached script or of a
//! function, so `EVALSHA` and `FCALL` are held by a `WRITE` pause even when the script or
//! function is `no-writes` (Redis lets those run); `EVALSHA_RO` and `FCALL_RO` run.

use bytes::Bytes;
use tandem_commands::args::{parse_i64, Args};
use tandem_commands::CommandSpec;
use tandem_shared::wire::Outcome;
use tandem_shared::{Command, Reply};

use crate::error::CommandError;
use crate::pause::{control, now_ms, Mode};
use crate::session::{Flow, LocalResult, Session};

/// Whether `CLIENT <args>` is PAUSE or UNPAUSE, which this module answers.
pub fn is_pause_subcommand(args: &Args) -> bool {
    args.peek().is_some_and(|sub| {
        sub.eq_ignore_ascii_case(b"pause") || sub.eq_ignore_ascii_case(b"unpause")
    })
}

/// `CLIENT PAUSE timeout [WRITE|ALL]` and `CLIENT UNPAUSE`, with Redis 7.0's errors in
/// Redis's order (the mode before the timeout).
///
/// # Errors
/// Redis's argument errors, or the storage link's error when storaged cannot be reached.
pub async fn client(mut args: Args, session: &mut Session) -> LocalResult {
    let sub = args.next_bytes()?;
    let n = args.remaining();
    tandem_commands::lookup(b"client")
        .ok_or_else(|| CommandError::err("no CLIENT row"))?
        .checked_subcommand(&sub, n)?;
    let command = if sub.eq_ignore_ascii_case(b"unpause") {
        Command::ClientUnpause
    } else {
        if n > 2 {
            // Redis names the subcommand as the client spelled it here.
            return Err(CommandError::err(format!(
                "unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(&sub)
            )));
        }
        let timeout = args.next_bytes()?;
        let all = if args.remaining() == 0 || args.eat("ALL") {
            true
        } else if args.eat("WRITE") {
            false
        } else {
            return Err(CommandError::err("CLIENT PAUSE mode must be WRITE or ALL"));
        };
        let timeout = parse_i64(&timeout)
            .ok_or_else(|| CommandError::err("timeout is not an integer or out of range"))?;
        if timeout < 0 {
            return Err(CommandError::err("timeout is negative"));
        }
        // Redis 7.0.15 adds the clock to a positive timeout without an overflow check: a
        // timeout near i64::MAX wraps to an end in the past, which pauses nothing.
        let end_ms = if timeout > 0 {
            timeout.wrapping_add(now_ms())
        } else {
            0
        };
        Command::ClientPause { end_ms, all }
    };
    run(session, command).await
}

/// `SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]`: storaged decides (saving first for
/// SAVE), tells every proxy and drains; this client's connection then closes without a
/// reply, as Redis's does.
///
/// # Errors
/// Redis's syntax errors and `No shutdown in progress.` for ABORT (tandem never waits for
/// replicas, so no shutdown is ever in progress), or the storage link's error.
pub async fn shutdown(mut args: Args, session: &mut Session) -> LocalResult {
    let (mut save, mut nosave, mut force, mut abort) = (false, false, false, false);
    let mut now = false;
    while args.remaining() > 0 {
        if args.eat("NOSAVE") {
            nosave = true;
        } else if args.eat("SAVE") {
            save = true;
        } else if args.eat("NOW") {
            now = true;
        } else if args.eat("FORCE") {
            force = true;
        } else if args.eat("ABORT") {
            abort = true;
        } else {
            return Err(CommandError::Syntax);
        }
    }
    if (abort && (save || nosave || now || force)) || (save && nosave) {
        return Err(CommandError::Syntax);
    }
    if abort {
        return Err(CommandError::err("No shutdown in progress."));
    }
    let outcome = call(session, Command::Shutdown { save, force }).await?;
    match outcome {
        Reply::Error(text) => Err(CommandError::Other(text)),
        _ => {
            // No reply, as Redis exits without one: the reply is cut like `CLIENT REPLY
            // SKIP` cuts it, and the connection closes at this boundary.
            session.reply.skip_next = true;
            Ok((Reply::Nil, Flow::Close))
        }
    }
}

async fn run(session: &mut Session, command: Command) -> LocalResult {
    let reply = call(session, command).await?;
    match reply {
        Reply::Error(text) => Err(CommandError::Other(text)),
        reply => Ok((reply, Flow::Continue)),
    }
}

/// Runs one control command on storaged and returns its reply.
async fn call(session: &mut Session, command: Command) -> Result<Reply, CommandError> {
    let outcomes = session.call_storage(0, vec![command]).await?;
    match outcomes.into_iter().next() {
        Some(Outcome::Ok(reply)) => Ok(reply),
        Some(Outcome::Err(e)) => Err(CommandError::Other(e.to_string())),
        None => Err(CommandError::err("storage returned too few replies")),
    }
}

/// Whether the pause in force holds this command of this client now. Costs one atomic
/// load while nothing is paused.
pub fn holds(session: &Session, argv: &[Bytes]) -> bool {
    let mode = control().mode();
    if mode == Mode::None {
        return false;
    }
    let Some((name, args)) = argv.split_first() else {
        return false;
    };
    let Some(spec) = tandem_commands::lookup(name) else {
        return false; // answered at once: unknown command
    };
    if !spec.arity_ok(argv.len()) {
        return false; // answered at once: wrong arity
    }
    if !session.state.authenticated && !matches!(spec.name, "auth" | "hello") {
        return false; // answered at once: NOAUTH
    }
    match mode {
        Mode::All => true,
        Mode::Write => may_write(session, spec, args),
        Mode::None => false,
    }
}

/// Redis's `is_may_replicate_command`: the command (or, for EXEC, one it runs) may write
/// or replicate.
fn may_write(session: &Session, spec: &'static CommandSpec, args: &[Bytes]) -> bool {
    if spec.name == "exec" {
        return session.tx.queue.as_ref().is_some_and(|q| {
            q.items
                .iter()
                .any(|item| item.spec.name != "exec" && command_may_write(item.spec, &item.args))
        });
    }
    command_may_write(spec, args)
}

fn command_may_write(spec: &'static CommandSpec, args: &[Bytes]) -> bool {
    // A container's flags are its subcommand's (FUNCTION LOAD writes, FUNCTION LIST does not).
    let spec = match args.first() {
        Some(sub) if spec.is_container() => spec.subcommand(sub).unwrap_or(spec),
        _ => spec,
    };
    if spec.is_write() {
        return true;
    }
    match spec.name {
        // Redis's `may_replicate` commands (a hidden flag, so not in the table).
        "publish" | "spublish" | "pfcount" | "evalsha" | "fcall" => true,
        "eval" => !args.first().is_some_and(|body| declares_no_writes(body)),
        _ => false,
    }
}

/// Redis's `evalExtractShebangFlags` as `CLIENT PAUSE WRITE` reads it: a valid `#!lua`
/// first line whose `flags=` include `no-writes`. A body without a shebang may write; a
/// shebang Redis would refuse leaves the command's own flags (it may write, and is held).
fn declares_no_writes(body: &[u8]) -> bool {
    let Some(rest) = body.strip_prefix(b"#!") else {
        return false;
    };
    let Some(end) = rest.iter().position(|&b| b == b'\n') else {
        return false;
    };
    let Ok(line) = std::str::from_utf8(&rest[..end]) else {
        return false;
    };
    let mut parts = line.split_ascii_whitespace();
    if parts.next() != Some("lua") {
        return false;
    }
    const KNOWN: &[&str] = &[
        "no-writes",
        "allow-oom",
        "allow-stale",
        "no-cluster",
        "allow-cross-slot-keys",
    ];
    let mut no_writes = false;
    for part in parts {
        let Some(flags) = part.strip_prefix("flags=") else {
            return false;
        };
        for flag in flags.split(',') {
            if !KNOWN.contains(&flag) {
                return false;
            }
            no_writes |= flag == "no-writes";
        }
    }
    no_writes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> &'static CommandSpec {
        tandem_commands::lookup(name.as_bytes()).expect("a row")
    }

    fn b(args: &[&str]) -> Vec<Bytes> {
        args.iter().map(|a| Bytes::from(a.to_string())).collect()
    }

    #[test]
    fn write_pause_holds_what_redis_holds() {
        for (name, args) in [
            ("set", &["k", "v"][..]),
            ("publish", &["c", "m"]),
            ("spublish", &["c", "m"]),
            ("pfcount", &["h"]),
            ("eval", &["return 1", "0"]),
            ("eval", &["#!lua\nreturn 1", "0"]),
            ("eval", &["#!bad\nreturn 1", "0"]),
            ("eval", &["#!lua flags=no-writes,bogus\nreturn 1", "0"]),
            ("evalsha", &["0000", "0"]),
            ("fcall", &["f", "0"]),
            ("function", &["flush"]),
            ("flushall", &[]),
            ("sort", &["k"]),
            ("blpop", &["k", "0"]),
        ] {
            assert!(command_may_write(spec(name), &b(args)), "{name} {args:?}");
        }
        for (name, args) in [
            ("get", &["k"][..]),
            ("ping", &[]),
            ("eval", &["#!lua flags=no-writes\nreturn 1", "0"]),
            ("eval", &["#!lua flags=allow-oom,no-writes\nreturn 1", "0"]),
            ("eval_ro", &["return 1", "0"]),
            ("fcall_ro", &["f", "0"]),
            ("script", &["flush"]),
            ("function", &["list"]),
            ("sort_ro", &["k"]),
            ("info", &[]),
            ("client", &["kill", "id", "9"]),
        ] {
            assert!(!command_may_write(spec(name), &b(args)), "{name} {args:?}");
        }
    }
}
