//! MULTI, WATCH and UNWATCH outside a transaction, and the client's transaction state they
//! change (kept in [`crate::session::Transaction`]): entering MULTI, the WATCH tokens
//! (asked of storaged per key, see `storaged/src/writer/watch.rs`; released on UNWATCH,
//! DISCARD, RESET and disconnect), and leaving a transaction. What happens to commands
//! sent in MULTI, EXEC included, is [`super::exec`]. This module does not touch the
//! socket: it answers through the session.

use std::collections::HashSet;

use tandem_commands::{Args, Local};
use tandem_shared::command::WatchToken;
use tandem_shared::wire::Outcome;
use tandem_shared::{Command, Reply};

use crate::error::CommandError;
use crate::session::{Flow, LocalResult, Session, TxQueue};

/// MULTI/EXEC/DISCARD/WATCH/UNWATCH outside MULTI (inside, [`super::exec::queue`] handles
/// them).
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

/// DISCARD (and an aborted EXEC): drops the queue and the watches.
pub(super) fn discard(session: &mut Session) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
