//! Commands a client sends while in MULTI, and EXEC.
//!
//! Inside MULTI, commands are checked for existence and arity only and queued as arguments
//! (an unknown command or a wrong arity is answered at once and makes EXEC fail with
//! `EXECABORT`); like Redis, a command's own syntax errors surface at EXEC time, in
//! position, because each queued command is parsed then (relative TTLs are also made
//! absolute at EXEC time, as Redis computes them).
//!
//! EXEC sends one request: a `Command::Exec { watches }` marker, then every queued storage
//! command (a queued `SELECT` becomes a `SelectDb` marker). That request is keyed like any
//! write, so it runs on storaged's single writer thread (nothing interleaves, one
//! WriteBatch, exactly once across a storaged crash). Proxy-local commands queued in the
//! transaction (PING, ECHO, CONFIG, CLIENT …) run through [`super::run_local`] after
//! storaged answers and take their place in the reply array. This module does not touch
//! the socket: it appends replies to the session's output buffer.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use rkyv::vec::ArchivedVec;
use tandem_commands::args::{parse_i64, Args};
use tandem_commands::{Handler, Local, ParseCtx};
use tandem_resp::encode;
use tandem_shared::wire::{ArchivedOutcome, Response};
use tandem_shared::Command;

use super::transaction::{discard, rejected};
use crate::clock::now_ms;
use crate::error::CommandError;
use crate::session::{Flow, Queued, Session};

const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// Handles one command while the client is in MULTI; `None` means "run it normally"
/// (QUIT and RESET act at once, as in Redis).
pub async fn queue(session: &mut Session, name: &[u8], args: Vec<Bytes>) -> Option<Flow> {
    let Some(spec) = tandem_commands::lookup(name) else {
        let text = super::unknown_command(name, &args);
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
    // Redis rejects a `no_multi` command (SAVE) here and aborts the transaction.
    if spec.flags.contains(tandem_commands::Flags::NO_MULTI) {
        fail(session, "ERR Command not allowed inside a transaction");
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

/// Answers an error while queueing and marks the transaction for EXECABORT.
fn fail(session: &mut Session, text: &str) {
    if let Some(q) = session.tx.queue.as_mut() {
        q.dirty = true;
    }
    encode::encode_error(text, session.out_mut());
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
                match super::run_local(local, Args::new(args), session).await {
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
    let db = parse_i64(arg)?;
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
}
