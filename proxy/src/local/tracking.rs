//! `CLIENT TRACKING`, `CLIENT CACHING`, `CLIENT GETREDIR`, `CLIENT TRACKINGINFO` (Redis
//! 7.0's texts and checks, in Redis's order), and what a session does for client-side
//! caching around every command: remembering the keys a tracking client reads
//! ([`note_command`]), writing its pushes after its replies ([`write_pushes`]) and leaving
//! the registry when it disconnects ([`client_gone`]). The registry and the fan-out of
//! invalidations are `crate::tracking`'s. Nothing here touches the socket.

use std::collections::BTreeSet;

use bytes::Bytes;
use tandem_commands::{Args, CommandSpec, Flags};
use tandem_resp::Protocol;
use tandem_shared::Reply;

use crate::error::CommandError;
use crate::session::{Flow, LocalResult, Session};
use crate::tracking::{ClientTracking, Mode};

fn reply(r: Reply) -> LocalResult {
    Ok((r, Flow::Continue))
}

fn err(text: &str) -> CommandError {
    CommandError::err(text)
}

/// The session's tracking state, registering a push queue first if it has none.
fn ensure(session: &mut Session) -> &mut ClientTracking {
    if session.tracking.is_none() {
        let t = session.shared.tracking.register_client(
            session.state.id,
            session.link.index(),
            session.kill.clone(),
            session.state.protocol == Protocol::Resp3,
        );
        session.tracking = Some(Box::new(t));
    }
    match session.tracking.as_deref_mut() {
        Some(t) => t,
        None => unreachable!("set just above"),
    }
}

fn mode_of(session: &Session) -> Mode {
    session
        .tracking
        .as_ref()
        .map(|t| t.mode.clone())
        .unwrap_or_default()
}

/// `CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]`
/// (`args` after the subcommand).
pub fn tracking(mut args: Args, session: &mut Session) -> LocalResult {
    let status = args.next_bytes()?;
    let mut redirect: i64 = 0;
    let (mut bcast, mut optin, mut optout, mut noloop) = (false, false, false, false);
    let mut prefixes: Vec<Bytes> = Vec::new();
    // Options first, as Redis parses them, then the status.
    while let Some(word) = args.peek().cloned() {
        let more = args.remaining() > 1;
        let _ = args.next_bytes()?;
        let w = word.to_ascii_lowercase();
        match w.as_slice() {
            b"redirect" if more => {
                if redirect != 0 {
                    return Err(err("A client can only redirect to a single other client"));
                }
                redirect = args.next_i64()?;
                let exists = u64::try_from(redirect).is_ok_and(|id| {
                    id != 0
                        && (id == session.state.id
                            || session.shared.clients.snapshot().iter().any(|c| c.id == id))
                });
                if !exists {
                    return Err(err("The client ID you want redirect to does not exist"));
                }
            }
            b"bcast" => bcast = true,
            b"optin" => optin = true,
            b"optout" => optout = true,
            b"noloop" => noloop = true,
            b"prefix" if more => prefixes.push(args.next_bytes()?),
            _ => return Err(CommandError::Syntax),
        }
    }
    let old = mode_of(session);
    if status.eq_ignore_ascii_case(b"on") {
        if !bcast && !prefixes.is_empty() {
            return Err(err("PREFIX option requires BCAST mode to be enabled"));
        }
        if old.on && old.bcast != bcast {
            return Err(err(
                "You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.",
            ));
        }
        if bcast && (optin || optout) {
            return Err(err("OPTIN and OPTOUT are not compatible with BCAST"));
        }
        if optin && optout {
            return Err(err("You can't specify both OPTIN mode and OPTOUT mode"));
        }
        if (optin && old.optout) || (optout && old.optin) {
            return Err(err(
                "You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.",
            ));
        }
        let existing = if old.on && old.bcast {
            old.prefixes.clone()
        } else {
            BTreeSet::new()
        };
        if bcast {
            check_prefixes(&existing, &prefixes)?;
        }
        let mut mode = Mode {
            on: true,
            bcast,
            optin,
            optout,
            noloop,
            redirect: redirect as u64,
            prefixes: existing,
        };
        if bcast {
            if prefixes.is_empty() {
                mode.prefixes.insert(Vec::new());
            }
            mode.prefixes.extend(prefixes.iter().map(|p| p.to_vec()));
        }
        set_mode(session, mode);
    } else if status.eq_ignore_ascii_case(b"off") {
        if old.on {
            set_mode(session, Mode::default());
        }
    } else {
        return Err(CommandError::Syntax);
    }
    reply(Reply::ok())
}

/// Redis's `stringCheckPrefix`: one is a prefix of the other.
fn overlap(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// The bytes of a prefix up to its first NUL, as Redis's `%s` prints them.
fn shown(p: &[u8]) -> String {
    let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    String::from_utf8_lossy(&p[..end]).into_owned()
}

/// Redis's `checkPrefixCollisionsOrReply`.
fn check_prefixes(existing: &BTreeSet<Vec<u8>>, new: &[Bytes]) -> Result<(), CommandError> {
    for (i, p) in new.iter().enumerate() {
        if let Some(old) = existing.iter().find(|old| overlap(old, p)) {
            return Err(err(&format!(
                "Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                shown(p),
                shown(old)
            )));
        }
        if let Some(other) = new[i + 1..].iter().find(|q| overlap(p, q)) {
            return Err(err(&format!(
                "Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                shown(p),
                shown(other)
            )));
        }
    }
    Ok(())
}

fn set_mode(session: &mut Session, mode: Mode) {
    let resp3 = session.state.protocol == Protocol::Resp3;
    let id = session.state.id;
    let shared = session.shared.clone();
    let t = ensure(session);
    if !mode.on {
        t.caching = false;
    }
    t.mode = mode.clone();
    t.registering = true;
    shared.tracking.update_client(id, &mode, resp3);
}

/// After `CLIENT TRACKING` changed what this client's link registers: waits until storaged
/// has it (a round trip on the link, whose dispatcher writes registrations ahead of the
/// request), so a write anyone makes after the OK is reported, as in Redis.
pub async fn barrier(session: &mut Session) {
    let Some(t) = session.tracking.as_deref_mut() else {
        return;
    };
    if !std::mem::take(&mut t.registering) {
        return;
    }
    // Storage down: everything is registered again on reconnect; the mode holds anyway.
    let _ = session
        .link
        .call(0, vec![tandem_shared::Command::PubSubNumPat])
        .await;
}

/// `CLIENT CACHING YES|NO`.
pub fn caching(mut args: Args, session: &mut Session) -> LocalResult {
    let opt = args.next_bytes()?;
    let Some(t) = session.tracking.as_deref_mut().filter(|t| t.mode.on) else {
        return Err(err(
            "CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
        ));
    };
    if opt.eq_ignore_ascii_case(b"yes") {
        if !t.mode.optin {
            return Err(err(
                "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
    } else if opt.eq_ignore_ascii_case(b"no") {
        if !t.mode.optout {
            return Err(err(
                "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
    } else {
        return Err(CommandError::Syntax);
    }
    t.caching = true;
    reply(Reply::ok())
}

/// `CLIENT GETREDIR`.
pub fn getredir(session: &Session) -> LocalResult {
    let mode = mode_of(session);
    reply(Reply::Integer(if mode.on {
        mode.redirect as i64
    } else {
        -1
    }))
}

/// `CLIENT TRACKINGINFO`.
pub fn trackinginfo(session: &Session) -> LocalResult {
    let mode = mode_of(session);
    let caching = session.tracking.as_ref().is_some_and(|t| t.caching);
    let mut flags = vec![if mode.on { "on" } else { "off" }];
    if mode.bcast {
        flags.push("bcast");
    }
    if mode.optin {
        flags.push("optin");
        if caching {
            flags.push("caching-yes");
        }
    }
    if mode.optout {
        flags.push("optout");
        if caching {
            flags.push("caching-no");
        }
    }
    if mode.noloop {
        flags.push("noloop");
    }
    if mode.on && session.shared.tracking.broken_redirect(session.state.id) {
        flags.push("broken_redirect");
    }
    let bulk = |s: &str| Reply::Bulk(s.as_bytes().to_vec());
    reply(Reply::Map(vec![
        (
            bulk("flags"),
            Reply::Set(flags.into_iter().map(bulk).collect()),
        ),
        (
            bulk("redirect"),
            Reply::Integer(if mode.on { mode.redirect as i64 } else { -1 }),
        ),
        (
            bulk("prefixes"),
            Reply::Array(
                mode.prefixes
                    .iter()
                    .map(|p| Reply::Bulk(p.clone()))
                    .collect(),
            ),
        ),
    ]))
}

/// What every command of a session with a tracking state passes through before it runs: a
/// read-only command of a default-mode tracking client has its keys remembered (OPTIN and
/// OPTOUT with `CLIENT CACHING` as Redis decides), and the `CLIENT CACHING` flag lasts for
/// one command (any CLIENT subcommand and MULTI keep it, as in Redis's `resetClient`).
pub fn note_command(
    session: &mut Session,
    spec: &'static CommandSpec,
    name: &Bytes,
    args: &[Bytes],
) {
    let Some(t) = session.tracking.as_deref_mut() else {
        return;
    };
    let caching = if matches!(spec.name, "client" | "multi") {
        t.caching
    } else {
        std::mem::take(&mut t.caching)
    };
    let mode = &t.mode;
    if !mode.on || (mode.optin && !caching) || (mode.optout && caching) {
        return;
    }
    let bcast = mode.bcast;
    let spec = match args.first() {
        Some(sub) if spec.is_container() => match spec.subcommand(sub) {
            Some(s) => s,
            None => return,
        },
        _ => spec,
    };
    if !spec.flags.contains(Flags::READONLY) {
        return;
    }
    if bcast {
        // Nothing to register, but a lost link must now tell it to flush.
        session.shared.tracking.read_by(session.state.id);
        return;
    }
    // Read-only scripts are not tracked themselves (Redis tracks the commands they run).
    if matches!(spec.name, "eval_ro" | "evalsha_ro" | "fcall_ro") {
        return;
    }
    let mut argv = Vec::with_capacity(args.len() + 1);
    argv.push(name.clone());
    argv.extend(args.iter().cloned());
    let Some(positions) = tandem_commands::describe::keys_of(spec, &argv) else {
        return;
    };
    let keys: Vec<Vec<u8>> = positions
        .into_iter()
        .filter_map(|(i, _)| argv.get(i).map(|k| k.to_vec()))
        .collect();
    session
        .shared
        .tracking
        .remember(session.link.index(), session.state.id, keys);
}

/// Appends the session's queued pushes to `out` (after the replies already there). A
/// client that may receive pushes now (RESP3, or subscribed: a redirect target) gets a
/// queue here if it has none.
pub fn write_pushes(session: &mut Session) {
    if session.tracking.is_none()
        && (session.state.protocol == Protocol::Resp3 || session.subs.is_some())
    {
        ensure(session);
    }
    let proto = session.state.protocol;
    let subscribed = session.subs.as_ref().is_some_and(|s| s.count() > 0);
    if let Some(t) = session.tracking.as_deref_mut() {
        t.write(proto, subscribed, &mut session.out);
    }
}

/// Leaves the registry when the client disconnects.
pub fn client_gone(session: &mut Session) {
    let had = session.tracking.take().is_some();
    session.shared.tracking.client_gone(session.state.id, had);
}
