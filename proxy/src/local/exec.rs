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
use std::time::Instant;

use bytes::Bytes;
use rkyv::vec::ArchivedVec;
use tandem_commands::args::{parse_i64, Args};
use tandem_commands::{CommandSpec, Handler, Local, ParseCtx};
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
    // The connection hands everything sent in MULTI to this module, so the statistics of
    // what is refused or run here are counted here, as Redis counts them: refusals as
    // rejected calls, MULTI/WATCH/DISCARD/EXEC and (at EXEC) every queued command as
    // calls; a queued command's "QUEUED" is no call.
    let stat = crate::stats::id_of(spec, args.first().map(|a| &a[..]));
    if !spec.arity_ok(args.len() + 1) {
        crate::stats::rejected(stat);
        let text = CommandError::WrongArity(spec.name.to_owned()).to_string();
        if spec.name == "exec" {
            discard(session);
            error(session, &rejected(spec.name, text));
        } else {
            fail(session, &text);
        }
        return Some(Flow::Continue);
    }
    // Redis rejects a `no_multi` command (SAVE) here and aborts the transaction.
    if spec.flags.contains(tandem_commands::Flags::NO_MULTI) {
        crate::stats::rejected(stat);
        fail(session, "ERR Command not allowed inside a transaction");
        return Some(Flow::Continue);
    }
    // A protected command (DEBUG while `enable-debug-command` forbids it) is refused when
    // sent, as Redis's processCommand refuses it, and aborts the transaction.
    if spec.name == "debug" && !super::object::debug_allowed(session) {
        crate::stats::rejected(stat);
        fail(session, super::object::DEBUG_NOT_ALLOWED);
        return Some(Flow::Continue);
    }
    let started = Instant::now();
    match spec.name {
        "quit" | "reset" => return None,
        "multi" | "watch" => {
            let text = if spec.name == "multi" {
                "ERR MULTI calls can not be nested"
            } else {
                "ERR WATCH inside MULTI is not allowed"
            };
            error(session, text);
            count(session, spec, name, &args, started, true);
        }
        "discard" => {
            discard(session);
            encode::encode_simple("OK", session.out_mut());
            count(session, spec, name, &args, started, false);
        }
        "exec" => {
            let failed = exec(session).await;
            count(session, spec, name, &args, started, failed);
        }
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
            q.items.push(Queued {
                spec,
                name: Bytes::copy_from_slice(name),
                args,
            });
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
    error(session, text);
}

/// Answers an error reply, counted in errorstats.
fn error(session: &mut Session, text: &str) {
    crate::stats::error_reply(text);
    encode::encode_error(text, session.out_mut());
}

/// Counts one call of `spec` (named `name` by the client, with `args`) that began at
/// `started`.
fn count(
    session: &Session,
    spec: &'static CommandSpec,
    name: &[u8],
    args: &[Bytes],
    started: Instant,
    failed: bool,
) {
    let ns = started.elapsed().as_nanos() as u64;
    crate::stats::count_one(spec, name, args, Some(ns), failed, &session.state);
}

/// Where one queued command's reply comes from, and the command for its statistics.
enum Slot {
    /// This index of storaged's outcomes.
    Storage(usize, Queued),
    /// A failed call: a parse error found at EXEC time (Redis reports these in position
    /// too), or a command Redis refuses inside EXEC (SSUBSCRIBE, MONITOR).
    Error(String, Queued),
    /// Refused before it ran (the user's permissions changed since it was queued): an
    /// error reply but no call.
    Refused(String),
    /// A proxy-local command, run after storaged answered.
    Local(Local, Queued),
}

/// Client-side caching: the keys the queued read-only commands read are remembered for a
/// tracking client, as Redis's `call()` remembers them for each command EXEC runs. A
/// `CLIENT CACHING` given before MULTI lasts through MULTI (Redis keeps the flag while the
/// client is in a transaction), so it applies to every command of the transaction, and
/// ends with EXEC.
fn track_reads(session: &mut Session, items: &[Queued]) {
    let Some(caching) = session.tracking.as_ref().map(|t| t.caching) else {
        return;
    };
    for item in items {
        if let Some(t) = session.tracking.as_deref_mut() {
            t.caching = caching;
        }
        super::tracking::note_command(session, item.spec, &item.name, &item.args);
    }
    if let Some(t) = session.tracking.as_deref_mut() {
        t.caching = false;
    }
}

/// Redis's text for a command that needs a client free to receive several replies, which
/// a command run by EXEC is not (`CLIENT_DENY_BLOCKING`); `None` for every other command.
/// SUBSCRIBE and PSUBSCRIBE are allowed in EXEC by Redis 7.0, SSUBSCRIBE is not.
fn denied_in_exec(spec: &CommandSpec) -> Option<&'static str> {
    match spec.name {
        "ssubscribe" => Some("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client"),
        "monitor" => Some("ERR MONITOR isn't allowed for DENY BLOCKING client"),
        _ => None,
    }
}

/// EXEC inside MULTI; true if EXEC itself failed (EXECABORT, storage unreachable).
async fn exec(session: &mut Session) -> bool {
    let queue = session.tx.queue.take().unwrap_or_default();
    let watches = std::mem::take(&mut session.tx.watches);
    session.state.last_command = b"exec".to_vec();
    if queue.dirty {
        session.tx.watches = watches;
        discard(session);
        error(session, EXECABORT);
        return true;
    }
    track_reads(session, &queue.items);
    let now = now_ms();
    let proto_max_bulk_len = session.shared.proto_max_bulk_len.load(Ordering::Relaxed);
    let mut db = session.state.db;
    let mut commands = Vec::with_capacity(queue.items.len() + 1);
    let watched = !watches.is_empty();
    commands.push(Command::Exec { watches });
    let mut slots = Vec::with_capacity(queue.items.len());
    for item in queue.items {
        // The user may have changed since the command was queued: Redis checks again.
        if let Some(text) = super::acl::recheck_queued(session, item.spec, &item.args) {
            slots.push(Slot::Refused(text));
            continue;
        }
        if let Some(text) = denied_in_exec(item.spec) {
            slots.push(Slot::Error(text.to_owned(), item));
            continue;
        }
        // Every `Handler` kind must say how it runs inside EXEC. Blocking pops run as their
        // non-blocking form, as in Redis: their parser's command goes in like any other.
        match item.spec.handler {
            Handler::Storage(parse) => {
                let ctx = ParseCtx {
                    now_ms: now,
                    proto_max_bulk_len,
                    db,
                };
                match parse(&mut Args::new(item.args.clone()), &ctx) {
                    Ok(mut command) => {
                        super::acl::tag_script(session, &mut command);
                        slots.push(Slot::Storage(commands.len(), item));
                        commands.push(command);
                    }
                    Err(e) => slots.push(Slot::Error(e.to_string(), item)),
                }
            }
            Handler::Local(Local::Select) => {
                // Commands after the SELECT run in the new database; the SELECT itself
                // answers (OK or its error) when it runs locally, in position.
                if let Some(next) = select_target(&item.args) {
                    db = next;
                    commands.push(Command::SelectDb { db: next });
                }
                slots.push(Slot::Local(Local::Select, item));
            }
            Handler::Local(local) => slots.push(Slot::Local(local, item)),
        }
    }
    // Only proxy-local commands and no watches: nothing to ask storaged (so such a
    // transaction answers even while storaged is away, like its commands alone would).
    if !watched && !slots.iter().any(|s| matches!(s, Slot::Storage(..))) {
        answer(session, slots, None, 0).await;
        session.state.multi = -1;
        session.shared.clients.update(&session.state);
        return false;
    }
    let started = Instant::now();
    let result = session.link.call(session.state.db, commands).await;
    let round_trip = started.elapsed().as_nanos() as u64;
    let frame = match result {
        Ok(frame) => frame,
        Err(e) => {
            discard(session);
            error(session, &e.to_string());
            return true;
        }
    };
    let response = match frame.access::<Response>() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "invalid EXEC response from storaged");
            discard(session);
            error(session, "ERR storage sent an invalid response");
            return true;
        }
    };
    let proto = session.state.protocol;
    let failed = match response.outcomes.first() {
        Some(ArchivedOutcome::Ok(tandem_shared::reply::ArchivedReply::NilArray)) => {
            encode::encode_null_array(proto, session.out_mut());
            false
        }
        Some(ArchivedOutcome::Ok(_)) => {
            answer(session, slots, Some(&response.outcomes), round_trip).await;
            false
        }
        Some(ArchivedOutcome::Err(e)) => {
            error(session, &e.message());
            true
        }
        None => {
            error(session, "ERR storage returned too few replies");
            true
        }
    };
    session.state.multi = -1;
    session.shared.clients.update(&session.state);
    failed
}

/// Encodes EXEC's reply array: each slot from storaged's outcomes, its parse error, or its
/// proxy-local command run now (in order, so a queued SELECT or HELLO affects what follows).
/// Each command is counted as a call under its own name, as Redis's EXEC counts what it
/// runs; the storage commands share the request's `round_trip` (ns) equally.
async fn answer(
    session: &mut Session,
    slots: Vec<Slot>,
    outcomes: Option<&ArchivedVec<ArchivedOutcome>>,
    round_trip: u64,
) {
    let stored = slots
        .iter()
        .filter(|s| matches!(s, Slot::Storage(..)))
        .count()
        .max(1) as u64;
    let share = round_trip / stored;
    encode::encode_array_len(slots.len(), session.out_mut());
    for slot in slots {
        match slot {
            Slot::Storage(i, call) => {
                let failed = match outcomes.and_then(|o| o.get(i)) {
                    Some(ArchivedOutcome::Ok(reply)) => {
                        let proto = session.state.protocol;
                        encode::encode_archived(reply, proto, session.out_mut());
                        false
                    }
                    Some(ArchivedOutcome::Err(e)) => {
                        error(session, &e.message());
                        true
                    }
                    None => {
                        error(session, "ERR storage returned too few replies");
                        true
                    }
                };
                let Queued { spec, name, args } = call;
                crate::stats::count_one(spec, &name, &args, Some(share), failed, &session.state);
            }
            Slot::Error(text, call) => {
                error(session, &text);
                let Queued { spec, name, args } = call;
                crate::stats::count_one(spec, &name, &args, Some(0), true, &session.state);
            }
            Slot::Refused(text) => error(session, &text),
            Slot::Local(local, call) => {
                let started = Instant::now();
                let ran = super::run_local(local, Args::new(call.args.clone()), session).await;
                let failed = match ran {
                    Ok((_, Flow::Replied)) => false,
                    Ok((reply, _)) => {
                        if let tandem_shared::Reply::Error(text) = &reply {
                            crate::stats::error_reply(text);
                        }
                        let proto = session.state.protocol;
                        encode::encode(&reply, proto, session.out_mut());
                        matches!(reply, tandem_shared::Reply::Error(_))
                    }
                    Err(e) => {
                        error(session, &e.to_string());
                        true
                    }
                };
                count(session, call.spec, &call.name, &call.args, started, failed);
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
