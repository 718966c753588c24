//! One client's transaction state: `MULTI EXEC DISCARD WATCH UNWATCH`.
//!
//! Owns the MULTI queue and the client's WATCH tokens. Inside MULTI, commands are checked
//! for existence and arity only and queued as arguments (an unknown command or a wrong
//! arity is answered at once and makes EXEC fail with `EXECABORT`); like Redis, a command's
//! own syntax errors surface at EXEC time, in position, because each queued command is
//! parsed then (relative TTLs are also made absolute at EXEC time, as Redis computes them).
//!
//! EXEC sends one request: a `Command::Exec { watches }` marker, then every queued storage
//! command (a queued `SELECT` becomes a `SelectDb` marker). That request is keyed like any
//! write, so it runs on storaged's single writer thread (nothing interleaves, one
//! WriteBatch, exactly once across a storaged crash). Proxy-local commands queued in the
//! transaction (PING, ECHO, CONFIG, CLIENT …) run after storaged answers and take their
//! place in the reply array.
//!
//! WATCH asks storaged for a token per key (see `storaged/src/watch.rs`); the tokens go back
//! with EXEC, and are released on UNWATCH, DISCARD, RESET and disconnect. This module does
//! not touch the socket: it appends replies to the connection's output buffer.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use rkyv::vec::ArchivedVec;
use tandem_shared::command::WatchToken;
use tandem_shared::wire::{ArchivedOutcome, Outcome, Response};
use tandem_shared::{Command, Reply};

use crate::clock::now_ms;
use crate::commands::args::Args;
use crate::commands::{self, Handler, Local, ParseCtx};
use crate::error::CommandError;
use crate::session::{Flow, Queued, Session, TxQueue};
use tandem_resp::encode;

/// What the transaction-control commands return to the local-command dispatcher.
type LocalResult = Result<(Reply, Flow), CommandError>;

const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// MULTI/EXEC/DISCARD/WATCH/UNWATCH outside MULTI (inside, [`queue`] handles them).
///
/// # Errors
/// Redis's error reply (EXEC/DISCARD without MULTI, a failed WATCH round trip).
pub async fn run_local(local: Local, args: Args, session: &mut Session) -> LocalResult {
    match local {
        Local::Multi => {
            session.tx.queue = Some(TxQueue::default());
            session.state.multi = 0;
            Ok((Reply::ok(), Flow::Continue))
        }
        Local::Exec => Err(CommandError::err("EXEC without MULTI")),
        Local::Discard => Err(CommandError::err("DISCARD without MULTI")),
        Local::Watch => watch(args, session).await,
        Local::Unwatch => {
            release_watches(session);
            Ok((Reply::ok(), Flow::Continue))
        }
        _ => Err(CommandError::err("not a transaction command")),
    }
}

/// Handles one command while the client is in MULTI; `None` means "run it normally"
/// (QUIT and RESET act at once, as in Redis).
pub async fn queue(session: &mut Session, name: &[u8], args: Vec<Bytes>) -> Option<Flow> {
    let Some(spec) = commands::lookup(name) else {
        let text = crate::connection::unknown_command(name, &args);
        fail(session, &text);
        return Some(Flow::Continue);
    };
    if !spec.arity_ok(args.len() + 1) {
        let text = CommandError::WrongArity(spec.name.to_owned()).to_string();
        if spec.name == "exec" {
            discard(session);
            encode::encode_error(&rejected(spec.name, text), session.out_mut());
        } else {
            fail(session, &text);
        }
        return Some(Flow::Continue);
    }
    match spec.name {
        "quit" | "reset" => return None,
        "multi" => encode::encode_error("ERR MULTI calls can not be nested", session.out_mut()),
        "watch" => encode::encode_error("ERR WATCH inside MULTI is not allowed", session.out_mut()),
        "discard" => {
            discard(session);
            encode::encode_simple("OK", session.out_mut());
        }
        "exec" => exec(session).await,
        _ => {
            let size: usize = args.iter().map(|a| a.len() + 16).sum();
            let limit = session.shared.config.max_frame as usize;
            let q = session.tx.queue.as_mut()?;
            if q.bytes.saturating_add(size) > limit {
                fail(
                    session,
                    "ERR transaction too large: the queued commands exceed the storage frame limit (max-frame)",
                );
                return Some(Flow::Continue);
            }
            q.bytes += size;
            q.items.push(Queued { spec, args });
            session.state.multi = q.items.len() as i64;
            session.state.last_command = spec.name.as_bytes().to_vec();
            session.shared.clients.update(&session.state);
            encode::encode_simple("QUEUED", session.out_mut());
        }
    }
    Some(Flow::Continue)
}

/// The reply to a command refused before it runs (arity, NOAUTH, subscribed mode): Redis
/// words it as an aborted transaction when the command is EXEC, in MULTI or not.
pub fn rejected(name: &str, text: String) -> String {
    if name != "exec" {
        return text;
    }
    let detail = text.strip_prefix("ERR ").unwrap_or(&text);
    format!("EXECABORT Transaction discarded because of: {detail}")
}

/// RESET: leaves MULTI and drops every watch.
pub fn reset(session: &mut Session) {
    session.tx.queue = None;
    session.state.multi = -1;
    release_watches(session);
}

/// Releases the client's watches in storaged without waiting (UNWATCH, DISCARD, RESET,
/// disconnect). If the release is lost (storaged down, queue full), storaged ages the
/// entries out; a later EXEC never relies on it.
pub fn release_watches(session: &mut Session) {
    let watches = std::mem::take(&mut session.tx.watches);
    if watches.is_empty() {
        return;
    }
    let link = session.link.clone();
    tokio::spawn(async move {
        let _ = link.call(0, vec![Command::Unwatch { watches }]).await;
    });
}

/// Answers an error while queueing and marks the transaction for EXECABORT.
fn fail(session: &mut Session, text: &str) {
    if let Some(q) = session.tx.queue.as_mut() {
        q.dirty = true;
    }
    encode::encode_error(text, session.out_mut());
}

/// DISCARD (and an aborted EXEC): drops the queue and the watches.
fn discard(session: &mut Session) {
    session.tx.queue = None;
    session.state.multi = -1;
    release_watches(session);
    session.shared.clients.update(&session.state);
}

/// WATCH outside MULTI: registers the keys not watched yet and keeps their tokens.
async fn watch(mut args: Args, session: &mut Session) -> LocalResult {
    let db = session.state.db;
    let mut keys: Vec<Vec<u8>> = Vec::new();
    {
        let mut seen: HashSet<&[u8]> = session
            .tx
            .watches
            .iter()
            .filter(|t| t.db == db)
            .map(|t| t.key.as_slice())
            .collect();
        let mut fresh = Vec::new();
        while args.remaining() > 0 {
            fresh.push(args.next_bytes()?);
        }
        for key in &fresh {
            if seen.insert(key) {
                keys.push(key.to_vec());
            }
        }
    }
    if keys.is_empty() {
        return Ok((Reply::ok(), Flow::Continue));
    }
    let outcomes = session
        .call_storage(db, vec![Command::Watch { keys: keys.clone() }])
        .await?;
    let tokens = match outcomes.into_iter().next() {
        Some(Outcome::Ok(reply)) => tokens_of(reply, db, keys),
        Some(Outcome::Err(e)) => return Err(CommandError::Other(e.to_string())),
        None => None,
    };
    let tokens =
        tokens.ok_or_else(|| CommandError::err("storage sent an invalid reply to WATCH"))?;
    session.tx.watches.extend(tokens);
    Ok((Reply::ok(), Flow::Continue))
}

/// Reads storaged's WATCH reply `[boot, [[entry, version, expire_at_ms], ...]]`.
fn tokens_of(reply: Reply, db: u8, keys: Vec<Vec<u8>>) -> Option<Vec<WatchToken>> {
    let Reply::Array(mut parts) = reply else {
        return None;
    };
    let (Some(Reply::Array(per_key)), Some(Reply::Integer(boot))) = (parts.pop(), parts.pop())
    else {
        return None;
    };
    if per_key.len() != keys.len() {
        return None;
    }
    keys.into_iter()
        .zip(per_key)
        .map(|(key, t)| match t {
            Reply::Array(f) => match f.as_slice() {
                [Reply::Integer(entry), Reply::Integer(version), Reply::Integer(expire)] => {
                    Some(WatchToken {
                        db,
                        key,
                        boot: boot as u64,
                        entry: *entry as u64,
                        version: *version as u64,
                        expire_at_ms: *expire as u64,
                    })
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Where one queued command's reply comes from.
enum Slot {
    /// This index of storaged's outcomes.
    Storage(usize),
    /// A parse error found at EXEC time (Redis reports these in position too).
    Error(String),
    /// A proxy-local command, run after storaged answered.
    Local(Local, Vec<Bytes>),
}

/// EXEC inside MULTI.
async fn exec(session: &mut Session) {
    let queue = session.tx.queue.take().unwrap_or_default();
    let watches = std::mem::take(&mut session.tx.watches);
    session.state.last_command = b"exec".to_vec();
    if queue.dirty {
        session.tx.watches = watches;
        discard(session);
        encode::encode_error(EXECABORT, session.out_mut());
        return;
    }
    let now = now_ms();
    let proto_max_bulk_len = session.shared.proto_max_bulk_len.load(Ordering::Relaxed);
    let mut db = session.state.db;
    let mut commands = Vec::with_capacity(queue.items.len() + 1);
    let watched = !watches.is_empty();
    commands.push(Command::Exec { watches });
    let mut slots = Vec::with_capacity(queue.items.len());
    for item in queue.items {
        // Every `Handler` kind must say how it runs inside EXEC. Blocking pops run as their
        // non-blocking form, as in Redis: their parser's command goes in like any other.
        match item.spec.handler {
            Handler::Storage(parse) => {
                let ctx = ParseCtx {
                    now_ms: now,
                    proto_max_bulk_len,
                    db,
                };
                match parse(&mut Args::new(item.args), &ctx) {
                    Ok(command) => {
                        slots.push(Slot::Storage(commands.len()));
                        commands.push(command);
                    }
                    Err(e) => slots.push(Slot::Error(e.to_string())),
                }
            }
            Handler::Local(Local::Select) => {
                // Commands after the SELECT run in the new database; the SELECT itself
                // answers (OK or its error) when it runs locally, in position.
                if let Some(next) = select_target(&item.args) {
                    db = next;
                    commands.push(Command::SelectDb { db: next });
                }
                slots.push(Slot::Local(Local::Select, item.args));
            }
            Handler::Local(local) => slots.push(Slot::Local(local, item.args)),
        }
    }
    // Only proxy-local commands and no watches: nothing to ask storaged (so such a
    // transaction answers even while storaged is away, like its commands alone would).
    if !watched && !slots.iter().any(|s| matches!(s, Slot::Storage(_))) {
        answer(session, slots, None).await;
        session.state.multi = -1;
        session.shared.clients.update(&session.state);
        return;
    }
    let result = session.link.call(session.state.db, commands).await;
    let frame = match result {
        Ok(frame) => frame,
        Err(e) => {
            discard(session);
            encode::encode_error(&e.to_string(), session.out_mut());
            return;
        }
    };
    let response = match frame.access::<Response>() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "invalid EXEC response from storaged");
            discard(session);
            encode::encode_error("ERR storage sent an invalid response", session.out_mut());
            return;
        }
    };
    let proto = session.state.protocol;
    match response.outcomes.first() {
        Some(ArchivedOutcome::Ok(tandem_shared::reply::ArchivedReply::NilArray)) => {
            encode::encode_null_array(proto, session.out_mut());
        }
        Some(ArchivedOutcome::Ok(_)) => answer(session, slots, Some(&response.outcomes)).await,
        Some(ArchivedOutcome::Err(e)) => encode::encode_error(&e.message(), session.out_mut()),
        None => encode::encode_error("ERR storage returned too few replies", session.out_mut()),
    }
    session.state.multi = -1;
    session.shared.clients.update(&session.state);
}

/// Encodes EXEC's reply array: each slot from storaged's outcomes, its parse error, or its
/// proxy-local command run now (in order, so a queued SELECT or HELLO affects what follows).
async fn answer(
    session: &mut Session,
    slots: Vec<Slot>,
    outcomes: Option<&ArchivedVec<ArchivedOutcome>>,
) {
    encode::encode_array_len(slots.len(), session.out_mut());
    for slot in slots {
        match slot {
            Slot::Storage(i) => match outcomes.and_then(|o| o.get(i)) {
                Some(ArchivedOutcome::Ok(reply)) => {
                    let proto = session.state.protocol;
                    encode::encode_archived(reply, proto, session.out_mut());
                }
                Some(ArchivedOutcome::Err(e)) => {
                    encode::encode_error(&e.message(), session.out_mut())
                }
                None => {
                    encode::encode_error("ERR storage returned too few replies", session.out_mut())
                }
            },
            Slot::Error(text) => encode::encode_error(&text, session.out_mut()),
            Slot::Local(local, args) => {
                match commands::run_local(local, Args::new(args), session).await {
                    Ok((_, Flow::Replied)) => {}
                    Ok((reply, _)) => {
                        let proto = session.state.protocol;
                        encode::encode(&reply, proto, session.out_mut());
                    }
                    Err(e) => encode::encode_error(&e.to_string(), session.out_mut()),
                }
            }
        }
    }
}

/// The database a queued `SELECT` switches to, or `None` if it will fail (the local
/// SELECT then answers the error).
fn select_target(args: &[Bytes]) -> Option<u8> {
    let [arg] = args else {
        return None;
    };
    let db = crate::commands::args::parse_i64(arg)?;
    (0..i64::from(tandem_shared::DATABASES))
        .contains(&db)
        .then_some(db as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_target_matches_select_validation() {
        assert_eq!(select_target(&[Bytes::from_static(b"3")]), Some(3));
        assert_eq!(select_target(&[Bytes::from_static(b"15")]), Some(15));
        assert_eq!(select_target(&[Bytes::from_static(b"16")]), None);
        assert_eq!(select_target(&[Bytes::from_static(b"-1")]), None);
        assert_eq!(select_target(&[Bytes::from_static(b"x")]), None);
    }

    #[test]
    fn only_exec_refusals_are_worded_as_execabort() {
        assert_eq!(
            rejected("exec", "NOAUTH Authentication required.".into()),
            "EXECABORT Transaction discarded because of: NOAUTH Authentication required."
        );
        assert_eq!(
            rejected("exec", "ERR wrong number of arguments for 'exec' command".into()),
            "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"
        );
        assert_eq!(rejected("get", "ERR x".into()), "ERR x");
    }

    #[test]
    fn watch_reply_becomes_tokens() {
        let reply = Reply::Array(vec![
            Reply::Integer(-5),
            Reply::Array(vec![
                Reply::Array(vec![
                    Reply::Integer(1),
                    Reply::Integer(2),
                    Reply::Integer(0),
                ]),
                Reply::Array(vec![
                    Reply::Integer(3),
                    Reply::Integer(4),
                    Reply::Integer(9),
                ]),
            ]),
        ]);
        let t = tokens_of(reply, 2, vec![b"a".to_vec(), b"b".to_vec()]).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].db, t[0].entry, t[0].version), (2, 1, 2));
        assert_eq!(t[1].expire_at_ms, 9);
        assert_eq!(t[0].boot, (-5i64) as u64);
        // A count mismatch is refused rather than guessed.
        let short = Reply::Array(vec![Reply::Integer(1), Reply::Array(vec![])]);
        assert!(tokens_of(short, 0, vec![b"a".to_vec()]).is_none());
    }
}
