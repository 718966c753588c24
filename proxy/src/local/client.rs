//! What a client asks about its own connection (Redis's "connection" commands, and TIME):
//! `PING ECHO QUIT HELLO AUTH SELECT RESET TIME CLIENT`.
//! They answer from client state alone, so they keep working while storaged is away.
//! Nothing here touches the socket.

use bytes::Bytes;
use tandem_shared::Reply;

use tandem_commands::args::{parse_i64, Args};

use crate::error::CommandError;
use crate::session::{Flow, LocalResult, Session};
use tandem_resp::Protocol;

/// Version reported to clients (`HELLO`, `INFO redis_version`): the Redis API level tandem
/// implements.
pub const REDIS_VERSION: &str = "7.0.15";

fn reply(r: Reply) -> LocalResult {
    Ok((r, Flow::Continue))
}

/// `PING [message]`. A RESP2 subscriber gets the answer as a message-like array.
pub fn ping(mut args: Args, session: &Session) -> LocalResult {
    if session.state.protocol == Protocol::Resp2
        && session.subs.as_ref().is_some_and(|s| s.count() > 0)
    {
        let arg = match args.remaining() {
            0 => Vec::new(),
            1 => args.next_vec()?,
            _ => return Err(CommandError::WrongArity("ping".into())),
        };
        return reply(Reply::Array(vec![
            Reply::Bulk(b"pong".to_vec()),
            Reply::Bulk(arg),
        ]));
    }
    match args.remaining() {
        0 => reply(Reply::Simple("PONG".into())),
        1 => reply(Reply::Bulk(args.next_vec()?)),
        _ => Err(CommandError::WrongArity("ping".into())),
    }
}

/// `ECHO message`.
pub fn echo(mut args: Args) -> LocalResult {
    reply(Reply::Bulk(args.next_vec()?))
}

/// `SELECT index`.
pub fn select(mut args: Args, session: &mut Session) -> LocalResult {
    let db = args.next_i64()?;
    if !(0..i64::from(tandem_shared::DATABASES)).contains(&db) {
        return Err(CommandError::err("DB index is out of range"));
    }
    session.state.db = db as u8;
    reply(Reply::ok())
}

/// `RESET`: leaves subscriptions and MULTI, drops watches, and returns the client to RESP2,
/// database 0, no name, authenticated only if no password is set.
pub fn reset(session: &mut Session) -> LocalResult {
    super::subscribe::unsubscribe_all(session);
    super::transaction::reset(session);
    session.state.db = 0;
    session.state.protocol = Protocol::Resp2;
    session.state.name.clear();
    // Back to the default user, authenticated if it needs no password (Redis's
    // `clearClientConnectionState`).
    session.user = crate::acl::ClientUser::default_of(&session.shared.acl);
    session.state.user = b"default".to_vec();
    session.state.authenticated = !session.shared.acl.default_needs_auth();
    reply(Reply::Simple("RESET".into()))
}

/// `TIME`: seconds and microseconds of the proxy's clock.
pub fn time() -> LocalResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    reply(Reply::Array(vec![
        Reply::Bulk(now.as_secs().to_string().into_bytes()),
        Reply::Bulk(now.subsec_micros().to_string().into_bytes()),
    ]))
}

/// Redis's `ACLAuthenticateUser`: on success the client runs as `user` from now on; a
/// failure is logged (`ACL LOG` reason `auth`, object the command's name).
fn check_password(
    session: &mut Session,
    command: &str,
    user: &[u8],
    pass: &[u8],
) -> Result<(), CommandError> {
    let shared = session.shared.clone();
    shared.acl.sync_requirepass(&shared.settings().requirepass);
    match shared.acl.user(user) {
        Some(u) if u.password_ok(pass) => {
            session.user.set(&shared.acl, u);
            session.state.user = user.to_vec();
            Ok(())
        }
        _ => {
            let typed = if session
                .user
                .auth_command
                .eq_ignore_ascii_case(command.as_bytes())
            {
                session.user.auth_command.clone()
            } else {
                command.as_bytes().to_vec()
            };
            super::acl::log_denial(session, "auth", typed, user.to_vec());
            Err(CommandError::Other(
                "WRONGPASS invalid username-password pair or user is disabled.".into(),
            ))
        }
    }
}

/// `AUTH [username] password`.
pub fn auth(mut args: Args, session: &mut Session) -> LocalResult {
    let first = args.next_bytes()?;
    let (user, pass) = match args.remaining() {
        0 => {
            session
                .shared
                .acl
                .sync_requirepass(&session.shared.settings().requirepass);
            if session
                .shared
                .acl
                .user(b"default")
                .is_some_and(|u| u.nopass())
            {
                return Err(CommandError::err(
                    "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                ));
            }
            (Bytes::from_static(b"default"), first)
        }
        1 => (first, args.next_bytes()?),
        _ => return Err(CommandError::Syntax),
    };
    check_password(session, "auth", &user, &pass)?;
    session.state.authenticated = true;
    reply(Reply::ok())
}

/// `HELLO [protover [AUTH username password] [SETNAME clientname]]`.
pub fn hello(mut args: Args, session: &mut Session) -> LocalResult {
    let mut protocol = session.state.protocol;
    if args.remaining() > 0 {
        let v = args.next_bytes()?;
        protocol = match parse_i64(&v) {
            Some(2) => Protocol::Resp2,
            Some(3) => Protocol::Resp3,
            Some(_) => {
                return Err(CommandError::Other(
                    "NOPROTO unsupported protocol version".into(),
                ))
            }
            None => {
                return Err(CommandError::err(
                    "Protocol version is not an integer or out of range",
                ))
            }
        };
    }
    let mut name: Option<Bytes> = None;
    let mut authed = false;
    while let Some(opt) = args.peek().cloned() {
        if args.eat("AUTH") && args.remaining() >= 2 {
            let user = args.next_bytes()?;
            let pass = args.next_bytes()?;
            check_password(session, "hello", &user, &pass)?;
            authed = true;
        } else if args.eat("SETNAME") && args.remaining() >= 1 {
            let n = args.next_bytes()?;
            validate_name(&n)?;
            name = Some(n);
        } else {
            return Err(CommandError::err(format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&opt)
            )));
        }
    }
    if !session.state.authenticated && !authed {
        return Err(CommandError::Other("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into()));
    }
    if authed {
        session.state.authenticated = true;
    }
    if let Some(n) = name {
        session.state.name = n.to_vec();
    }
    session.state.protocol = protocol;
    let field = |k: &str, v: Reply| (Reply::Bulk(k.as_bytes().to_vec()), v);
    reply(Reply::Map(vec![
        field("server", Reply::bulk("redis")),
        field("version", Reply::bulk(REDIS_VERSION)),
        field(
            "proto",
            Reply::Integer(if protocol == Protocol::Resp3 { 3 } else { 2 }),
        ),
        field("id", Reply::Integer(session.state.id as i64)),
        field("mode", Reply::bulk("standalone")),
        field("role", Reply::bulk("master")),
        field("modules", Reply::Array(vec![])),
    ]))
}

fn validate_name(name: &[u8]) -> Result<(), CommandError> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CommandError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn subcommand_arity(sub: &str) -> CommandError {
    CommandError::WrongArity(format!("client|{sub}"))
}

/// `CLIENT <subcommand>`.
pub fn client(mut args: Args, session: &mut Session) -> LocalResult {
    let sub_bytes = args.next_bytes()?;
    let sub_raw = String::from_utf8_lossy(&sub_bytes).into_owned();
    let sub = sub_raw.to_ascii_lowercase();
    let n = args.remaining();
    // NO-TOUCH and SETINFO are Redis 7.2's: 7.0 has no row for them (so COMMAND does not
    // list them), but client libraries send SETINFO at connect, so they are answered as
    // 7.2 answers them, arity checked here. Every other subcommand is checked by its row.
    if !matches!(sub.as_str(), "no-touch" | "setinfo") {
        tandem_commands::lookup(b"client")
            .ok_or_else(|| CommandError::err("no CLIENT row"))?
            .checked_subcommand(&sub_bytes, n)?;
    }
    match sub.as_str() {
        "id" => reply(Reply::Integer(session.state.id as i64)),
        "getname" => reply(if session.state.name.is_empty() {
            Reply::Nil
        } else {
            Reply::Bulk(session.state.name.clone())
        }),
        "setname" => {
            let name = args.next_bytes()?;
            validate_name(&name)?;
            session.state.name = name.to_vec();
            reply(Reply::ok())
        }
        "info" => reply(Reply::Verbatim(
            format!("{}\n", session.state.info_line()).into_bytes(),
        )),
        "list" => {
            let mut ids: Option<Vec<u64>> = None;
            while args.remaining() > 0 {
                if args.eat("TYPE") {
                    let t = String::from_utf8_lossy(&args.next_bytes()?).to_ascii_lowercase();
                    if !matches!(t.as_str(), "normal" | "master" | "replica" | "pubsub") {
                        return Err(CommandError::err(format!("Unknown client type '{t}'")));
                    }
                    if t != "normal" {
                        ids = Some(Vec::new());
                    }
                } else if args.eat("ID") {
                    let mut list = ids.take().unwrap_or_default();
                    for raw in args.rest() {
                        match parse_i64(&raw) {
                            Some(id) if id > 0 => list.push(id as u64),
                            _ => return Err(CommandError::err("Invalid client ID")),
                        }
                    }
                    ids = Some(list);
                } else {
                    return Err(CommandError::Syntax);
                }
            }
            session.shared.clients.update(&session.state);
            let mut text = String::new();
            for c in session.shared.clients.snapshot() {
                if ids.as_ref().is_none_or(|ids| ids.contains(&c.id)) {
                    let c = if c.id == session.state.id {
                        session.state.clone()
                    } else {
                        c
                    };
                    text.push_str(&c.info_line());
                    text.push('\n');
                }
            }
            reply(Reply::Verbatim(text.into_bytes()))
        }
        "kill" => client_kill(args, session),
        "tracking" => super::tracking::tracking(args, session),
        "caching" => super::tracking::caching(args, session),
        "getredir" => super::tracking::getredir(session),
        "trackinginfo" => super::tracking::trackinginfo(session),
        "unblock" if n <= 2 => {
            let id = args.next_i64()?;
            let error = if args.remaining() == 0 || args.eat("TIMEOUT") {
                false
            } else if args.eat("ERROR") {
                true
            } else {
                return Err(CommandError::err(
                    "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
                ));
            };
            let found = u64::try_from(id).is_ok_and(|id| session.shared.clients.unblock(id, error));
            reply(Reply::Integer(i64::from(found)))
        }
        "unblock" => Err(CommandError::err(format!(
            "unknown subcommand or wrong number of arguments for '{sub_raw}'. Try CLIENT HELP."
        ))),
        "setinfo" if n == 2 => {
            // Redis 7.2's order: the attribute first, then the value; both errors name the
            // attribute as the client spelled it.
            let attr = String::from_utf8_lossy(&args.next_bytes()?).into_owned();
            let value = args.next_bytes()?;
            let lib_name = attr.eq_ignore_ascii_case("lib-name");
            if !lib_name && !attr.eq_ignore_ascii_case("lib-ver") {
                return Err(CommandError::err(format!("Unrecognized option '{attr}'")));
            }
            if value.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
                return Err(CommandError::err(format!(
                    "{attr} cannot contain spaces, newlines or special characters."
                )));
            }
            if lib_name {
                session.state.lib_name = value.to_vec();
            } else {
                session.state.lib_ver = value.to_vec();
            }
            reply(Reply::ok())
        }
        "reply" => {
            if args.eat("ON") {
                // Redis clears SKIP too, so the OK of `CLIENT REPLY ON` is always sent.
                session.reply = crate::session::ReplyMode::default();
            } else if args.eat("OFF") {
                session.reply.off = true;
            } else if args.eat("SKIP") {
                if !session.reply.off {
                    session.reply.skip_next = true;
                }
            } else {
                return Err(CommandError::Syntax);
            }
            reply(Reply::ok())
        }
        "no-evict" | "no-touch" if n == 1 => {
            if args.eat("ON") || args.eat("OFF") {
                reply(Reply::ok())
            } else {
                Err(CommandError::Syntax)
            }
        }
        "help" => reply(Reply::Array(
            // Redis 7.0.15's text, line for line.
            [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "CACHING (YES|NO)",
                "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
                "GETREDIR",
                "    Return the client ID we are redirecting to when tracking is enabled.",
                "GETNAME",
                "    Return the name of the current connection.",
                "ID",
                "    Return the ID of the current connection.",
                "INFO",
                "    Return information about the current client connection.",
                "KILL <ip:port>",
                "    Kill connection made from <ip:port>.",
                "KILL <option> <value> [<option> <value> [...]]",
                "    Kill connections. Options are:",
                "    * ADDR (<ip:port>|<unixsocket>:0)",
                "      Kill connections made from the specified address",
                "    * LADDR (<ip:port>|<unixsocket>:0)",
                "      Kill connections made to specified local address",
                "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
                "      Kill connections by type.",
                "    * USER <username>",
                "      Kill connections authenticated by <username>.",
                "    * SKIPME (YES|NO)",
                "      Skip killing current connection (default: yes).",
                "LIST [options ...]",
                "    Return information about client connections. Options:",
                "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
                "      Return clients of specified type.",
                "UNPAUSE",
                "    Stop the current client pause, resuming traffic.",
                "PAUSE <timeout> [WRITE|ALL]",
                "    Suspend all, or just write, clients for <timeout> milliseconds.",
                "REPLY (ON|OFF|SKIP)",
                "    Control the replies sent to the current connection.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "UNBLOCK <clientid> [TIMEOUT|ERROR]",
                "    Unblock the specified blocked client.",
                "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
                "         [OPTIN] [OPTOUT] [NOLOOP]",
                "    Control server assisted client side caching.",
                "TRACKINGINFO",
                "    Report tracking status for the current connection.",
                "NO-EVICT (ON|OFF)",
                "    Protect current client connection from eviction.",
                "HELP",
                "    Prints this help.",
            ]
            .iter()
            .map(|s| Reply::Simple((*s).to_owned()))
            .collect(),
        )),
        "setinfo" | "no-touch" => Err(subcommand_arity(&sub)),
        _ => Err(CommandError::err(format!(
            "unknown subcommand '{sub_raw}'. Try CLIENT HELP."
        ))),
    }
}

fn client_kill(mut args: Args, session: &mut Session) -> LocalResult {
    if args.remaining() == 1 {
        let addr = String::from_utf8_lossy(&args.next_bytes()?).into_owned();
        let killed = session
            .shared
            .clients
            .kill_where(|c| c.addr.to_string() == addr);
        return if killed == 0 {
            Err(CommandError::err("No such client"))
        } else {
            reply(Reply::ok())
        };
    }
    if args.remaining() == 0 || !args.remaining().is_multiple_of(2) {
        return Err(CommandError::Syntax);
    }
    let mut id = None;
    let mut addr = None;
    let mut laddr = None;
    let mut skipme = true;
    while args.remaining() > 0 {
        let opt = String::from_utf8_lossy(&args.next_bytes()?).to_ascii_lowercase();
        let value = args.next_bytes()?;
        let text = String::from_utf8_lossy(&value).into_owned();
        match opt.as_str() {
            "id" => match parse_i64(&value) {
                Some(v) if v > 0 => id = Some(v as u64),
                _ => return Err(CommandError::err("client-id should be greater than 0")),
            },
            "addr" => addr = Some(text),
            "laddr" => laddr = Some(text),
            "skipme" => match text.to_ascii_lowercase().as_str() {
                "yes" => skipme = true,
                "no" => skipme = false,
                _ => return Err(CommandError::Syntax),
            },
            "type" | "user" | "maxage" => {}
            _ => return Err(CommandError::Syntax),
        }
    }
    let me = session.state.id;
    let killed = session.shared.clients.kill_where(|c| {
        !(skipme && c.id == me)
            && id.is_none_or(|i| i == c.id)
            && addr.as_ref().is_none_or(|a| *a == c.addr.to_string())
            && laddr.as_ref().is_none_or(|a| *a == c.laddr.to_string())
    });
    reply(Reply::Integer(killed as i64))
}
