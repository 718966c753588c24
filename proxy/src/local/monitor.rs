//! `MONITOR` (Redis 7.0) over a [`Session`]: the command, the rules for a monitoring
//! client, and the hooks the connection calls around every command to feed monitors.
//!
//! What is shown follows Redis's `call()`: a command that ran (an error it answered
//! itself, like a syntax error, included), after it ran, with the database it left the
//! client in; not one refused before running (unknown, wrong arity, NOAUTH, ACL, a
//! subscribed client's refusals), nor one whose row is `admin` (CONFIG, CLIENT KILL,
//! MONITOR …) or `skip_monitor`. `EVAL`/`EVALSHA`/`FCALL` (and `_RO`) are `skip_monitor`
//! and shown *before* they run, so their script's commands (`[db lua]`, fed by storaged)
//! follow them. Commands queued in MULTI are shown when EXEC runs them, then EXEC; an
//! aborted or WATCH-failed EXEC shows only itself. Secrets are `(redacted)` as Redis
//! redacts them: AUTH's arguments, HELLO's `AUTH user pass`, MIGRATE's `AUTH pass` and
//! `AUTH2 user pass`.
//!
//! A monitoring client (Redis makes it a replica, `CLIENT LIST` flag `O`) is refused
//! every command that reads or writes keys or may replicate (`EVAL`, `EVALSHA`, `FCALL`,
//! `PUBLISH`, `SPUBLISH`) with Redis's `Replica can't interact with the keyspace`; the
//! rest run; a second MONITOR is ignored without a reply, as Redis ignores it; RESET and
//! QUIT end it. The routing of lines is `crate::monitor`'s.

use bytes::Bytes;
use tandem_commands::{CommandSpec, Flags, Handler};
use tandem_shared::monitor::{line, Origin, REDACTED};
use tandem_shared::Reply;

use crate::session::{Flow, LocalResult, Session};

/// Redis 7.0's commands flagged `may_replicate` (a flag `COMMAND` does not print, so the
/// table lacks it) that have neither `write` nor `readonly`: a replica, hence a monitor,
/// may not run them.
const MAY_REPLICATE: &[&str] = &["eval", "evalsha", "fcall", "publish", "spublish"];

/// A command's line kept until it has run; boxed where it is kept, as every connection's
/// future holds the place for it across the command's awaits.
pub enum Pending {
    /// A proxy-local command: its argv, shown with the database it leaves.
    Line(Vec<Bytes>),
    /// EXEC: the queued commands' argvs (with their `admin`/`skip_monitor` hiding
    /// decided) and EXEC's own, shown if the transaction ran.
    Exec {
        queued: Vec<Option<Vec<Bytes>>>,
        exec: Vec<Bytes>,
        db: u8,
    },
}

fn is_monitor(session: &Session) -> bool {
    session.monitor.is_some()
}

/// `MONITOR`: this client gets every command's line from now on, after a round trip that
/// makes storaged count it (so a command any proxy runs after the OK is shown).
pub async fn monitor(session: &mut Session) -> LocalResult {
    if is_monitor(session) {
        // Redis ignores MONITOR from a monitor (or replica): no reply at all.
        return Ok((Reply::Nil, Flow::Replied));
    }
    // (Inside EXEC, `crate::local::exec` refuses it as Redis does.)
    session.monitor = Some(Box::new(crate::monitor::register(session.kill.clone())));
    session.state.monitor = true;
    session.registration_barrier().await;
    Ok((Reply::ok(), Flow::Continue))
}

/// RESET: the client stops monitoring.
pub fn reset(session: &mut Session) {
    session.monitor = None;
    session.state.monitor = false;
}

/// Waits for the next line for a monitoring client; never resolves for others. A
/// `poll_fn` of one reference: every connection's future holds it, monitoring or not.
pub fn next_line(
    monitor: &mut Option<Box<crate::monitor::Inbox>>,
) -> impl std::future::Future<Output = Option<Bytes>> + '_ {
    std::future::poll_fn(move |cx| match monitor.as_mut() {
        Some(inbox) => inbox.poll_recv(cx),
        None => std::task::Poll::Pending,
    })
}

/// Appends `first` and the lines already queued for a monitoring client to its output,
/// up to `limit` bytes.
pub fn write_lines(session: &mut Session, first: Option<Bytes>, limit: usize) {
    let Some(inbox) = session.monitor.as_mut() else {
        return;
    };
    if let Some(l) = first {
        session.out.extend_from_slice(&l);
    }
    while session.out.len() < limit {
        match inbox.try_recv() {
            Some(l) => session.out.extend_from_slice(&l),
            None => break,
        }
    }
}

/// Called for every command that passed the connection's checks, before it runs: the
/// monitoring client's refusal (`Err`, Redis's text), else what to show after it runs.
/// While nobody monitors this is a field check and one atomic load.
///
/// # Errors
/// `ERR Replica can't interact with the keyspace` for a monitoring client's key command.
pub fn before(
    session: &mut Session,
    spec: &'static CommandSpec,
    name: &Bytes,
    args: &[Bytes],
) -> Result<Option<Box<Pending>>, String> {
    if is_monitor(session)
        && (spec.flags.contains(Flags::WRITE)
            || spec.flags.contains(Flags::READONLY)
            || MAY_REPLICATE.contains(&spec.name))
    {
        return Err("ERR Replica can't interact with the keyspace".into());
    }
    if !crate::monitor::active() {
        return Ok(None);
    }
    let Some(row) = shown_row(spec, args) else {
        return Ok(None);
    };
    if row.flags.contains(Flags::SKIP_MONITOR) {
        // EVAL & co.: shown before they run, ahead of their script's commands.
        feed(session, &argv(name, args));
        return Ok(None);
    }
    match spec.handler {
        // A storage command's line goes now: it travels ahead of the command's request
        // on the same link, and nothing it does changes the line.
        Handler::Storage(_) => {
            feed(session, &argv(name, args));
            Ok(None)
        }
        Handler::Local(_) => Ok(Some(Box::new(Pending::Line(argv(name, args))))),
    }
}

/// Called for a command of a client in MULTI, before the transaction code handles it:
/// MULTI, WATCH and DISCARD there are shown when they run, EXEC with what it runs; the
/// commands it queues are not shown yet.
pub fn before_queued(session: &Session, name: &Bytes, args: &[Bytes]) -> Option<Box<Pending>> {
    if !crate::monitor::active() {
        return None;
    }
    let spec = tandem_commands::lookup(name)?;
    if !spec.arity_ok(args.len() + 1) {
        return None;
    }
    match spec.name {
        "multi" | "watch" | "discard" => Some(Box::new(Pending::Line(argv(name, args)))),
        "exec" => {
            let queue = session.tx.queue.as_ref()?;
            let queued = queue
                .items
                .iter()
                .map(|q| shown_row(q.spec, &q.args).map(|_| argv(&q.name, &q.args)))
                .collect();
            Some(Box::new(Pending::Exec {
                queued,
                exec: argv(name, args),
                db: session.state.db,
            }))
        }
        _ => None,
    }
}

/// Called after a proxy-local command ran (or a MULTI-time one was handled; `start` is
/// where its replies begin in the output): feeds what [`before`] or [`before_queued`]
/// kept.
pub fn after(session: &mut Session, pending: Option<Box<Pending>>, start: usize) {
    match pending.map(|p| *p) {
        None => {}
        Some(Pending::Line(argv)) => feed(session, &argv),
        Some(Pending::Exec { queued, exec, db }) => {
            if ran(session.out.get(start..).unwrap_or_default()) {
                let mut db = db;
                for argv in queued.into_iter().flatten() {
                    if argv[0].eq_ignore_ascii_case(b"select") {
                        if let Some(next) = argv.get(1).and_then(|a| select_db(a)) {
                            db = next;
                        }
                    }
                    feed_in(session, db, &argv);
                }
            }
            feed(session, &exec);
        }
    }
}

/// Whether EXEC's reply (the bytes it wrote) is the transaction's array: not EXECABORT
/// or another error, not the null array of a failed WATCH.
fn ran(reply: &[u8]) -> bool {
    match reply {
        [b'*', b'-', ..] | [b'_', ..] | [b'-', ..] | [] => false,
        [b'*', ..] => true,
        _ => false,
    }
}

fn select_db(arg: &[u8]) -> Option<u8> {
    let db = tandem_commands::args::parse_i64(arg)?;
    u8::try_from(db)
        .ok()
        .filter(|d| *d < tandem_shared::DATABASES)
}

/// The row that decides whether a command is shown (a container's subcommand, as Redis
/// looks `CLIENT KILL` up as `client|kill`), or `None` when it is hidden.
fn shown_row(spec: &'static CommandSpec, args: &[Bytes]) -> Option<&'static CommandSpec> {
    let row = match args.first() {
        Some(sub) if spec.is_container() => spec.subcommand(sub).unwrap_or(spec),
        _ => spec,
    };
    (!row.flags.contains(Flags::ADMIN)).then_some(row)
}

/// The argv as the client sent it, secrets redacted as Redis redacts them.
fn argv(name: &Bytes, args: &[Bytes]) -> Vec<Bytes> {
    let mut v = Vec::with_capacity(args.len() + 1);
    v.push(name.clone());
    v.extend(args.iter().cloned());
    let redacted = Bytes::from_static(REDACTED);
    let lower = name.to_ascii_lowercase();
    match lower.as_slice() {
        // `authCommand` redacts before its own checks, but after refusing > 2 arguments.
        b"auth" if args.len() <= 2 => {
            for a in &mut v[1..] {
                *a = redacted.clone();
            }
        }
        b"hello" => {
            // After the protocol version: options until the first unknown one.
            let mut j = 2;
            while j < v.len() {
                let more = v.len() - 1 - j;
                if v[j].eq_ignore_ascii_case(b"auth") && more >= 2 {
                    v[j + 1] = redacted.clone();
                    v[j + 2] = redacted.clone();
                    j += 3;
                } else if v[j].eq_ignore_ascii_case(b"setname") && more >= 1 {
                    j += 2;
                } else {
                    break;
                }
            }
        }
        b"migrate" => {
            // Options start at argv[6] and end at KEYS.
            let mut j = 6;
            while j < v.len() {
                let more = v.len() - 1 - j;
                if v[j].eq_ignore_ascii_case(b"keys") {
                    break;
                } else if v[j].eq_ignore_ascii_case(b"auth") && more >= 1 {
                    v[j + 1] = redacted.clone();
                    j += 2;
                } else if v[j].eq_ignore_ascii_case(b"auth2") && more >= 2 {
                    v[j + 1] = redacted.clone();
                    v[j + 2] = redacted.clone();
                    j += 3;
                } else {
                    j += 1;
                }
            }
        }
        _ => {}
    }
    v
}

fn feed(session: &Session, argv: &[Bytes]) {
    feed_in(session, session.state.db, argv);
}

/// Sends one line, stamped now, on the client's link.
fn feed_in(session: &Session, db: u8, argv: &[Bytes]) {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let text = line(micros, db, Origin::Client(session.state.addr), argv);
    crate::monitor::send(session.link.index(), text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[&str]) -> Vec<Bytes> {
        v.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    fn shown(all: &[&str]) -> Vec<String> {
        let all = words(all);
        argv(&all[0], &all[1..])
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    #[test]
    fn secrets_are_redacted_as_redis_redacts_them() {
        assert_eq!(shown(&["auth", "pw"]), ["auth", "(redacted)"]);
        assert_eq!(
            shown(&["AUTH", "u", "pw"]),
            ["AUTH", "(redacted)", "(redacted)"]
        );
        assert_eq!(shown(&["auth", "a", "b", "c"]), ["auth", "a", "b", "c"]);
        assert_eq!(
            shown(&["hello", "3", "setname", "n", "auth", "u", "p"]),
            [
                "hello",
                "3",
                "setname",
                "n",
                "auth",
                "(redacted)",
                "(redacted)"
            ]
        );
        assert_eq!(
            shown(&["hello", "3", "auth", "u"]),
            ["hello", "3", "auth", "u"]
        );
        assert_eq!(
            shown(&["MIGRATE", "h", "1", "k", "0", "10", "COPY", "AUTH", "pw"]),
            [
                "MIGRATE",
                "h",
                "1",
                "k",
                "0",
                "10",
                "COPY",
                "AUTH",
                "(redacted)"
            ]
        );
        assert_eq!(
            shown(&["migrate", "h", "1", "", "0", "10", "auth2", "u", "p", "keys", "auth", "x"]),
            [
                "migrate",
                "h",
                "1",
                "",
                "0",
                "10",
                "auth2",
                "(redacted)",
                "(redacted)",
                "keys",
                "auth",
                "x"
            ]
        );
        assert_eq!(shown(&["set", "auth", "x"]), ["set", "auth", "x"]);
    }

    #[test]
    fn exec_ran_only_when_it_answered_its_array() {
        assert!(ran(b"*2\r\n+OK\r\n:1\r\n"));
        assert!(ran(b"*0\r\n"));
        assert!(!ran(b"*-1\r\n"));
        assert!(!ran(b"_\r\n"));
        assert!(!ran(b"-EXECABORT Transaction discarded\r\n"));
    }

    #[test]
    fn admin_rows_are_hidden_and_subcommands_decide() {
        let client = tandem_commands::lookup(b"client").unwrap();
        assert!(shown_row(client, &words(&["id"])).is_some());
        assert!(shown_row(client, &words(&["kill", "x"])).is_none());
        let config = tandem_commands::lookup(b"config").unwrap();
        assert!(shown_row(config, &words(&["get", "x"])).is_none());
        let get = tandem_commands::lookup(b"get").unwrap();
        assert!(shown_row(get, &words(&["k"])).is_some());
    }
}
