//! `ACL <subcommand>` as Redis 7.0 answers it, over this proxy's user table
//! (`crate::acl`). Changes to users (SETUSER, DELUSER, LOAD) run on storaged, which holds
//! the deployment's table and pushes it to every proxy ([`listen`]); deleting a user
//! kills its clients. `ACL LOAD`/`SAVE` use storaged's `aclfile`. `ACL LOG` merges this
//! proxy's entries with storaged's (denials inside scripts). Also the ACL check of a
//! command about to run ([`enforce`]) and again at EXEC ([`recheck_queued`]).

use std::sync::Arc;

use rand::Rng;
use tandem_commands::acl::{self, describe};
use tandem_commands::args::{parse_i64, Args};
use tandem_shared::wire::Outcome;
use tandem_shared::Command;
use tandem_shared::Reply;

use crate::acl::Acl;
use crate::error::CommandError;
use crate::instance::Shared;
use crate::session::{Flow, LocalResult, Session};

const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

fn ok(r: Reply) -> LocalResult {
    Ok((r, Flow::Continue))
}

fn bulk(s: impl Into<Vec<u8>>) -> Reply {
    Reply::Bulk(s.into())
}

/// The version and ACL file text of a table reply (`[version, text]`, after `skip` leading
/// items).
fn table_of(items: &[Reply], skip: usize) -> Option<(u64, String)> {
    match items.get(skip..)? {
        [Reply::Integer(v), Reply::Bulk(text)] => Some((
            u64::try_from(*v).ok()?,
            String::from_utf8_lossy(text).into_owned(),
        )),
        _ => None,
    }
}

/// Installs a table storaged sent and closes the clients of users that are gone (of
/// every user but `default` after `ACL LOAD`, as Redis's `ACL LOAD` frees every user).
fn install(shared: &Shared, version: u64, text: &str, reload: bool) {
    match shared.acl.install(version, text) {
        Ok(Some(removed)) => {
            if reload {
                shared.clients.kill_where(|c| c.user != b"default");
            } else if !removed.is_empty() {
                Acl::kill_clients_of(&shared.clients, &removed);
            }
        }
        Ok(None) => {}
        Err(e) => {
            tracing::error!(error = %e, "ACL table from storaged refused; keeping the last one")
        }
    }
}

/// Runs an ACL change on storaged, which holds the deployment's table, and installs the
/// table it answers with; returns the reply's leading items (DELUSER's count).
async fn change(
    session: &mut Session,
    command: Command,
    skip: usize,
) -> Result<Vec<Reply>, CommandError> {
    let command_kind = command.kind();
    let outcomes = session.call_storage(0, vec![command]).await?;
    match outcomes.into_iter().next() {
        Some(Outcome::Ok(Reply::Array(items))) => {
            let (version, text) = table_of(&items, skip)
                .ok_or_else(|| CommandError::err("storage sent an invalid ACL table"))?;
            let reload = matches!(command_kind, tandem_shared::CommandKind::AclLoad);
            install(&session.shared, version, &text, reload);
            Ok(items)
        }
        Some(Outcome::Ok(Reply::Error(e))) => Err(CommandError::Other(e)),
        Some(Outcome::Err(e)) => Err(CommandError::Other(e.to_string())),
        _ => Err(CommandError::err("storage sent an invalid ACL reply")),
    }
}

/// Installs every table storaged pushes (on each change, and whenever a link comes up, so a
/// proxy connecting or reconnecting has the current table at once); while storaged is away
/// the last copy stays in force.
pub fn listen(shared: &Arc<Shared>) {
    let weak = Arc::downgrade(shared);
    crate::acl::listen(Box::new(move |message| {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        match crate::acl::parse_push(message) {
            Some((version, reload, text)) => install(&shared, version, text, reload),
            None => tracing::error!("invalid ACL table push from storaged"),
        }
    }));
}

/// `ACL <subcommand>`.
pub async fn acl(mut args: Args, session: &mut Session) -> LocalResult {
    let sub_bytes = args.next_bytes()?;
    let sub = String::from_utf8_lossy(&sub_bytes).to_ascii_lowercase();
    tandem_commands::lookup(b"acl")
        .ok_or_else(|| CommandError::err("no ACL row"))?
        .checked_subcommand(&sub_bytes, args.remaining())?;
    // Redis's own argument-count checks, past the rows' arities.
    let argc = args.remaining() + 2;
    let fits = match sub.as_str() {
        "getuser" => argc == 3,
        "list" | "users" | "whoami" | "help" => argc == 2,
        "cat" | "genpass" | "log" => argc == 2 || argc == 3,
        _ => true,
    };
    if !fits {
        let shown: String = String::from_utf8_lossy(&sub_bytes)
            .chars()
            .take(128)
            .collect();
        return Err(CommandError::err(format!(
            "unknown subcommand or wrong number of arguments for '{shown}'. Try ACL HELP."
        )));
    }
    let shared = session.shared.clone();
    let table = &shared.acl;
    match sub.as_str() {
        "setuser" => {
            let name = args.next_vec()?;
            if !acl::user::valid_username(&name) {
                return Err(CommandError::err(
                    "Usernames can't contain spaces or null characters",
                ));
            }
            let rules = args.rest_vecs();
            change(session, Command::AclSetUser { name, rules }, 0).await?;
            ok(Reply::ok())
        }
        "deluser" => {
            let names = args.rest_vecs();
            if names.iter().any(|n| n == b"default") {
                return Err(CommandError::err("The 'default' user cannot be removed"));
            }
            let items = change(session, Command::AclDelUser { names }, 1).await?;
            ok(items.into_iter().next().unwrap_or(Reply::Integer(0)))
        }
        "getuser" => {
            let name = args.next_bytes()?;
            ok(table
                .user(&name)
                .map_or(Reply::Nil, |u| describe::getuser_reply(&u)))
        }
        "list" => ok(Reply::Array(
            table
                .users()
                .values()
                .map(|u| bulk(describe::list_line(u)))
                .collect(),
        )),
        "users" => ok(Reply::Array(
            table.users().keys().map(|n| bulk(n.clone())).collect(),
        )),
        "whoami" => ok(bulk(session.user.name.clone())),
        "load" => {
            change(session, Command::AclLoad, 0).await?;
            // Redis frees every user but `default` and closes their clients, this one too
            // once it has its reply.
            if session.user.name != b"default" {
                return Ok((Reply::ok(), Flow::Close));
            }
            ok(Reply::ok())
        }
        "save" => {
            let outcomes = session.call_storage(0, vec![Command::AclSave]).await?;
            match outcomes.into_iter().next() {
                Some(Outcome::Ok(Reply::Error(e))) => Err(CommandError::Other(e)),
                Some(Outcome::Ok(r)) => ok(r),
                Some(Outcome::Err(e)) => Err(CommandError::Other(e.to_string())),
                None => Err(CommandError::err("storage sent an invalid ACL reply")),
            }
        }
        "cat" => match args.remaining() {
            0 => ok(Reply::Array(
                describe::categories().map(|(_, n)| bulk(n)).collect(),
            )),
            _ => {
                let name = args.next_bytes()?;
                let cat = std::str::from_utf8(&name)
                    .ok()
                    .and_then(acl::user::category)
                    .ok_or_else(|| {
                        let shown: String =
                            String::from_utf8_lossy(&name).chars().take(128).collect();
                        CommandError::err(format!("Unknown category '{shown}'"))
                    })?;
                ok(Reply::Array(
                    acl::table::entries()
                        .iter()
                        .filter(|e| e.command.acl.contains(cat))
                        .map(|e| bulk(e.command.name))
                        .collect(),
                ))
            }
        },
        "genpass" => {
            let bits = match args.remaining() {
                0 => 256,
                _ => args.next_i64()?,
            };
            if bits <= 0 || bits > 4096 {
                return Err(CommandError::err("ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096"));
            }
            let chars = ((bits + 3) / 4) as usize;
            let mut rng = rand::thread_rng();
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let pass: Vec<u8> = (0..chars).map(|_| HEX[rng.gen_range(0..16)]).collect();
            ok(Reply::Bulk(pass))
        }
        "log" => {
            let mut count = 10usize;
            if args.remaining() > 0 {
                let arg = args.next_bytes()?;
                if arg.eq_ignore_ascii_case(b"reset") {
                    table.with_log(|l| l.reset());
                    // storaged's entries too; while it is away there are none to show.
                    let _ = session
                        .call_storage(0, vec![Command::AclLog { reset: true }])
                        .await;
                    return ok(Reply::ok());
                }
                let n = parse_i64(&arg).ok_or(CommandError::NotInteger)?;
                count = usize::try_from(n.max(0)).unwrap_or(0);
            }
            let mut entries = script_entries(session).await;
            let now = u64::try_from(crate::clock::now_ms()).unwrap_or(0);
            if entries.is_empty() {
                return ok(table.with_log(|l| l.reply(count, now)));
            }
            table.with_log(|l| entries.extend(l.entries().take(count).cloned()));
            // Newest first, as one log: a grouped entry's time is its latest denial's.
            entries.sort_by_key(|e| std::cmp::Reverse(e.ctime_us));
            ok(acl::reply_of(entries.iter(), count, now))
        }
        "dryrun" => {
            let name = args.next_bytes()?;
            let Some(user) = table.user(&name) else {
                return Err(CommandError::err(format!(
                    "User '{}' not found",
                    String::from_utf8_lossy(&name)
                )));
            };
            let cmd = args.next_bytes()?;
            let rest = args.rest();
            let not_found = || {
                CommandError::err(format!(
                    "Command '{}' not found",
                    String::from_utf8_lossy(&cmd)
                ))
            };
            let spec = tandem_commands::lookup(&cmd).ok_or_else(not_found)?;
            let spec = match rest.first() {
                Some(s) if spec.is_container() => spec.subcommand(s).ok_or_else(not_found)?,
                _ => spec,
            };
            if !spec.arity_ok(rest.len() + 1) {
                return Err(CommandError::WrongArity(spec.name.to_owned()));
            }
            let container = tandem_commands::lookup(&cmd).unwrap_or(spec);
            match crate::acl::check_command(&user, container, &cmd, &rest) {
                Ok(()) => ok(Reply::ok()),
                Err((denied, full, argv)) => ok(bulk(denied.dryrun_text(&full, &argv))),
            }
        }
        "help" => ok(Reply::Array(
            HELP.iter()
                .map(|s| Reply::Simple((*s).to_owned()))
                .collect(),
        )),
        _ => Err(CommandError::err(format!(
            "unknown subcommand '{}'. Try ACL HELP.",
            String::from_utf8_lossy(&sub_bytes)
        ))),
    }
}

/// The ACL check of a command about to run (Redis's `ACLCheckAllPerm` in
/// `processCommand`): `None` to go on, or the `NOPERM` error, after logging the denial.
/// Commands that do not exist or have the wrong arity pass here: their own error comes
/// first, as in Redis.
pub fn enforce(
    session: &mut Session,
    name: &bytes::Bytes,
    args: &[bytes::Bytes],
) -> Option<String> {
    if name.eq_ignore_ascii_case(b"auth") || name.eq_ignore_ascii_case(b"hello") {
        session.user.auth_command = name.to_vec();
    }
    if !session.user.refresh(&session.shared.acl) {
        // The user was deleted; its connection is being closed.
        return Some(
            tandem_commands::acl::Denied::Command
                .error(&String::from_utf8_lossy(name).to_ascii_lowercase()),
        );
    }
    if session.user.user.unrestricted() || !session.state.authenticated {
        // An unauthenticated client gets NOAUTH next, as Redis checks that first.
        return None;
    }
    let spec = tandem_commands::lookup(name)?;
    if !spec.arity_ok(args.len() + 1)
        || (session.tx.in_multi() && spec.flags.contains(tandem_commands::Flags::NO_MULTI))
    {
        return None;
    }
    let user = session.user.user.clone();
    let (denied, full, argv) = crate::acl::check_command(&user, spec, name, args).err()?;
    let object = denied.object(&full, &argv);
    log_denial(session, denied.reason(), object, session.user.name.clone());
    Some(denied.error(&full))
}

/// Adds an `ACL LOG` entry for this client.
pub fn log_denial(session: &mut Session, reason: &'static str, object: Vec<u8>, username: Vec<u8>) {
    let entry = acl::LogEntry {
        count: 1,
        reason,
        context: if session.tx.in_multi() {
            "multi"
        } else {
            "toplevel"
        },
        object,
        username,
        ctime_us: acl::log::now_us(),
        client_info: session.state.info_line(),
    };
    session.shared.acl.log_add(entry);
}

/// storaged's `ACL LOG` entries (denials inside scripts); none while storaged is away.
async fn script_entries(session: &mut Session) -> Vec<acl::LogEntry> {
    let Ok(outcomes) = session
        .call_storage(0, vec![Command::AclLog { reset: false }])
        .await
    else {
        return Vec::new();
    };
    let Some(Outcome::Ok(Reply::Array(items))) = outcomes.into_iter().next() else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|item| match item {
            Reply::Array(f) => match f.as_slice() {
                [Reply::Integer(count), Reply::Bulk(reason), Reply::Bulk(context), Reply::Bulk(object), Reply::Bulk(username), Reply::Integer(ctime), Reply::Bulk(info)] => {
                    Some(acl::LogEntry {
                        count: u64::try_from(*count).ok()?,
                        reason: acl::log::known_word(reason)?,
                        context: acl::log::known_word(context)?,
                        object: object.clone(),
                        username: username.clone(),
                        ctime_us: u64::try_from(*ctime).ok()?,
                        client_info: String::from_utf8_lossy(info).into_owned(),
                    })
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Redis 7.0's check of a queued command when EXEC runs it (the user may have changed since
/// it was queued): `None` to run it, or its `NOPERM` error for EXEC's reply, after logging
/// the denial (context `multi`).
pub fn recheck_queued(
    session: &mut Session,
    spec: &'static tandem_commands::CommandSpec,
    args: &[bytes::Bytes],
) -> Option<String> {
    if session.user.user.unrestricted() {
        return None;
    }
    let name = bytes::Bytes::from_static(spec.name.as_bytes());
    let user = session.user.user.clone();
    let (denied, full, argv) = crate::acl::check_command(&user, spec, &name, args).err()?;
    let object = denied.object(&full, &argv);
    let entry = acl::LogEntry {
        count: 1,
        reason: denied.reason(),
        context: "multi",
        object,
        username: session.user.name.clone(),
        ctime_us: acl::log::now_us(),
        client_info: session.state.info_line(),
    };
    session.shared.acl.log_add(entry);
    Some(denied.exec_error())
}

/// Gives a script command of a restricted user its caller (`crate::acl::tag_script`).
pub fn tag_script(session: &Session, command: &mut Command) {
    crate::acl::tag_script(command, &session.user, || session.state.info_line());
}
