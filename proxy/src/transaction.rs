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
use crate::commands::{self, CommandSpec, Handler, Local, ParseCtx};
use crate::connection::{Conn, Flow};
use crate::error::CommandError;
use tandem_resp::encode;

/// What the transaction-control commands return to the local-command dispatcher.
type LocalResult = Result<(Reply, Flow), CommandError>;

const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// Per-client transaction state.
#[derive(Default)]
pub struct Transaction {
    /// `Some` between MULTI and EXEC/DISCARD.
    queue: Option<Queue>,
    /// Keys this client WATCHes, one token each.
    watches: Vec<WatchToken>,
}

#[derive(Default)]
struct Queue {
    items: Vec<Queued>,
    /// Argument bytes queued; bounded by the link's frame size.
    bytes: usize,
    /// An error was answered while queueing: EXEC must answer EXECABORT.
    dirty: bool,
}

struct Queued {
    spec: &'static CommandSpec,
    args: Vec<Bytes>,
}

impl Transaction {
    /// Whether the client is between MULTI and EXEC/DISCARD.
    pub fn in_multi(&self) -> bool {
        self.queue.is_some()
    }

    /// Number of keys watched.
    pub fn watched(&self) -> usize {
        self.watches.len()
    }
}

/// MULTI/EXEC/DISCARD/WATCH/UNWATCH outside MULTI (inside, [`queue`] handles them).
///
/// # Errors
/// Redis's error reply (EXEC/DISCARD without MULTI, a failed WATCH round trip).
pub async fn run_local(local: Local, args: Args, conn: &mut Conn) -> LocalResult {
    match local {
        Local::Multi => {
            conn.tx.queue = Some(Queue::default());
            conn.state.multi = 0;
            Ok((Reply::ok(), Flow::Continue))
        }
        Local::Exec => Err(CommandError::err("EXEC without MULTI")),
        Local::Discard => Err(CommandError::err("DISCARD without MULTI")),
        Local::Watch => watch(args, conn).await,
        Local::Unwatch => {
            release_watches(conn);
            Ok((Reply::ok(), Flow::Continue))
        }
        _ => Err(CommandError::err("not a transaction command")),
    }
}

/// Handles one command while the client is in MULTI; `None` means "run it normally"
/// (QUIT and RESET act at once, as in Redis).
pub async fn queue(conn: &mut Conn, name: &[u8], args: Vec<Bytes>) -> Option<Flow> {
    let Some(spec) = commands::lookup(name) else {
        let text = crate::connection::unknown_command(name, &args);
        fail(conn, &text);
        return Some(Flow::Continue);
    };
    if !spec.arity_ok(args.len() + 1) {
        let text = CommandError::WrongArity(spec.name.to_owned()).to_string();
        if spec.name == "exec" {
            discard(conn);
            encode::encode_error(&rejected(spec.name, text), conn.out_mut());
        } else {
            fail(conn, &text);
        }
        return Some(Flow::Continue);
    }
    match spec.name {
        "quit" | "reset" => return None,
        "multi" => encode::encode_error("ERR MULTI calls can not be nested", conn.out_mut()),
        "watch" => encode::encode_error("ERR WATCH inside MULTI is not allowed", conn.out_mut()),
        "discard" => {
            discard(conn);
            encode::encode_simple("OK", conn.out_mut());
        }
        "exec" => exec(conn).await,
        _ => {
            let size: usize = args.iter().map(|a| a.len() + 16).sum();
            let limit = conn.shared.config.max_frame as usize;
            let q = conn.tx.queue.as_mut()?;
            if q.bytes.saturating_add(size) > limit {
                fail(
                    conn,
                    "ERR transaction too large: the queued commands exceed the storage frame limit (max-frame)",
                );
                return Some(Flow::Continue);
            }
            q.bytes += size;
            q.items.push(Queued { spec, args });
            conn.state.multi = q.items.len() as i64;
            conn.state.last_command = spec.name.as_bytes().to_vec();
            conn.shared.clients.update(&conn.state);
            encode::encode_simple("QUEUED", conn.out_mut());
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
pub fn reset(conn: &mut Conn) {
    conn.tx.queue = None;
    conn.state.multi = -1;
    release_watches(conn);
}

/// Releases the client's watches in storaged without waiting (UNWATCH, DISCARD, RESET,
/// disconnect). If the release is lost (storaged down, queue full), storaged ages the
/// entries out; a later EXEC never relies on it.
pub fn release_watches(conn: &mut Conn) {
    let watches = std::mem::take(&mut conn.tx.watches);
    if watches.is_empty() {
        return;
    }
    let link = conn.link.clone();
    tokio::spawn(async move {
        let _ = link.call(0, vec![Command::Unwatch { watches }]).await;
    });
}

/// Answers an error while queueing and marks the transaction for EXECABORT.
fn fail(conn: &mut Conn, text: &str) {
    if let Some(q) = conn.tx.queue.as_mut() {
        q.dirty = true;
    }
    encode::encode_error(text, conn.out_mut());
}

/// DISCARD (and an aborted EXEC): drops the queue and the watches.
fn discard(conn: &mut Conn) {
    conn.tx.queue = None;
    conn.state.multi = -1;
    release_watches(conn);
    conn.shared.clients.update(&conn.state);
}

/// WATCH outside MULTI: registers the keys not watched yet and keeps their tokens.
async fn watch(mut args: Args, conn: &mut Conn) -> LocalResult {
    let db = conn.state.db;
    let mut keys: Vec<Vec<u8>> = Vec::new();
    {
        let mut seen: HashSet<&[u8]> = conn
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
    let outcomes = conn
        .call_storage(db, vec![Command::Watch { keys: keys.clone() }])
        .await?;
    let tokens = match outcomes.into_iter().next() {
        Some(Outcome::Ok(reply)) => tokens_of(reply, db, keys),
        Some(Outcome::Err(e)) => return Err(CommandError::Other(e.to_string())),
        None => None,
    };
    let tokens =
        tokens.ok_or_else(|| CommandError::err("storage sent an invalid reply to WATCH"))?;
    conn.tx.watches.extend(tokens);
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
async fn exec(conn: &mut Conn) {
    let queue = conn.tx.queue.take().unwrap_or_default();
    let watches = std::mem::take(&mut conn.tx.watches);
    conn.state.last_command = b"exec".to_vec();
    if queue.dirty {
        conn.tx.watches = watches;
        discard(conn);
        encode::encode_error(EXECABORT, conn.out_mut());
        return;
    }
    let now = now_ms();
    let proto_max_bulk_len = conn.shared.proto_max_bulk_len.load(Ordering::Relaxed);
    let mut db = conn.state.db;
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
        answer(conn, slots, None).await;
        conn.state.multi = -1;
        conn.shared.clients.update(&conn.state);
        return;
    }
    let result = conn.link.call(conn.state.db, commands).await;
    let frame = match result {
        Ok(frame) => frame,
        Err(e) => {
            discard(conn);
            encode::encode_error(&e.to_string(), conn.out_mut());
            return;
        }
    };
    let response = match frame.access::<Response>() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "invalid EXEC response from storaged");
            discard(conn);
            encode::encode_error("ERR storage sent an invalid response", conn.out_mut());
            return;
        }
    };
    let proto = conn.state.protocol;
    match response.outcomes.first() {
        Some(ArchivedOutcome::Ok(tandem_shared::reply::ArchivedReply::NilArray)) => {
            encode::encode_null_array(proto, conn.out_mut());
        }
        Some(ArchivedOutcome::Ok(_)) => answer(conn, slots, Some(&response.outcomes)).await,
        Some(ArchivedOutcome::Err(e)) => encode::encode_error(&e.message(), conn.out_mut()),
        None => encode::encode_error("ERR storage returned too few replies", conn.out_mut()),
    }
    conn.state.multi = -1;
    conn.shared.clients.update(&conn.state);
}

/// Encodes EXEC's reply array: each slot from storaged's outcomes, its parse error, or its
/// proxy-local command run now (in order, so a queued SELECT or HELLO affects what follows).
async fn answer(
    conn: &mut Conn,
    slots: Vec<Slot>,
    outcomes: Option<&ArchivedVec<ArchivedOutcome>>,
) {
    encode::encode_array_len(slots.len(), conn.out_mut());
    for slot in slots {
        match slot {
            Slot::Storage(i) => match outcomes.and_then(|o| o.get(i)) {
                Some(ArchivedOutcome::Ok(reply)) => {
                    let proto = conn.state.protocol;
                    encode::encode_archived(reply, proto, conn.out_mut());
                }
                Some(ArchivedOutcome::Err(e)) => encode::encode_error(&e.message(), conn.out_mut()),
                None => {
                    encode::encode_error("ERR storage returned too few replies", conn.out_mut())
                }
            },
            Slot::Error(text) => encode::encode_error(&text, conn.out_mut()),
            Slot::Local(local, args) => {
                match commands::run_local(local, Args::new(args), conn).await {
                    Ok((_, Flow::Replied)) => {}
                    Ok((reply, _)) => {
                        let proto = conn.state.protocol;
                        encode::encode(&reply, proto, conn.out_mut());
                    }
                    Err(e) => encode::encode_error(&e.to_string(), conn.out_mut()),
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
