//! SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE (run in the
//! proxy, which owns its clients' subscriptions), PUBSUB (answered by storaged, which sees
//! every proxy's subscriptions) and RESP2's subscribed mode. Replies and errors follow Redis
//! 7.0 byte for byte, including its counts: a (p)(un)subscribe reply counts channels plus
//! patterns, an s(un)subscribe reply shard channels only, and a RESP2 client stays in
//! subscribed mode while it has any of the three. PUBLISH and SPUBLISH are storage
//! commands, parsed in `tandem-commands`.
//!
//! This module decides replies only; the connection writes them and the pub/sub table in
//! [`crate::pubsub`] does the routing.

use bytes::Bytes;
use tandem_shared::{Command, Reply};

use tandem_commands::args::Args;

use crate::error::CommandError;
use crate::pubsub::{ClientSubs, Kind};
use crate::session::Session;
use tandem_resp::{encode, Protocol};

/// Commands a RESP2 client may send while it has subscriptions.
pub fn allowed_while_subscribed(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "ssubscribe"
            | "psubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "punsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// The text Redis answers a RESP2 subscriber that sends any other command; `shown` is the
/// command name, or `container|sub` for a subcommand.
pub fn subscribed_mode_error(shown: &str) -> String {
    format!(
        "ERR Can't execute '{shown}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    )
}

/// Writes one `subscribe`-style confirmation: kind, name (nil for none), count.
fn confirm(kind: &[u8], name: Option<&[u8]>, count: usize, proto: Protocol, session: &mut Session) {
    let out = session.out_mut();
    encode::encode_push_len(3, proto, out);
    encode::encode_bulk(kind, out);
    match name {
        Some(n) => encode::encode_bulk(n, out),
        None => encode::encode_null(proto, out),
    }
    encode::encode_integer(count as i64, out);
}

/// The confirmation word of a subscribe (`true`) or unsubscribe reply of `kind`.
fn reply_kind(kind: Kind, subscribe: bool) -> &'static [u8] {
    match (kind, subscribe) {
        (Kind::Channel, true) => b"subscribe",
        (Kind::Pattern, true) => b"psubscribe",
        (Kind::Shard, true) => b"ssubscribe",
        (Kind::Channel, false) => b"unsubscribe",
        (Kind::Pattern, false) => b"punsubscribe",
        (Kind::Shard, false) => b"sunsubscribe",
    }
}

/// `SUBSCRIBE` / `PSUBSCRIBE` / `SSUBSCRIBE`: writes one confirmation per name. Before
/// confirming a name no client of this proxy had, it waits for storaged to have the
/// registration (one round trip on the registering link), so a message published after the
/// reply reaches it.
pub async fn subscribe(
    mut args: Args,
    session: &mut Session,
    kind: Kind,
) -> Result<(), CommandError> {
    let names = args.rest();
    let kill = session.kill.clone();
    let id = session.state.id;
    let hub = session.shared.pubsub.clone();
    let subs = session.subs.get_or_insert_with(|| ClientSubs::new(kill));
    let mut new_here = false;
    let mut counts = Vec::with_capacity(names.len());
    for name in &names {
        let (_, first) = hub.subscribe(id, kind, name, subs);
        new_here |= first;
        subs.names_mut(kind).insert(name.clone());
        counts.push(subs.count_for(kind));
    }
    session.note_subscriptions();
    if new_here {
        session.registration_barrier().await;
    }
    let proto = session.state.protocol;
    for (name, count) in names.iter().zip(counts) {
        confirm(reply_kind(kind, true), Some(name), count, proto, session);
    }
    Ok(())
}

/// `UNSUBSCRIBE` / `PUNSUBSCRIBE` / `SUNSUBSCRIBE`: the named ones, or all of that kind
/// when none is named.
///
/// Like SUBSCRIBE, it confirms only once storaged has the change when this proxy had no
/// other subscriber of a name, so a PUBLISH after the reply no longer counts the client.
pub async fn unsubscribe(mut args: Args, session: &mut Session, kind: Kind) {
    let named = args.rest();
    let id = session.state.id;
    let hub = session.shared.pubsub.clone();
    let proto = session.state.protocol;
    let mut replies: Vec<(Option<Bytes>, usize)> = Vec::new();
    let mut gone_here = false;
    match session.subs.as_mut() {
        None if named.is_empty() => replies.push((None, 0)),
        None => replies.extend(named.into_iter().map(|n| (Some(n), 0))),
        Some(subs) => {
            let names: Vec<Bytes> = if named.is_empty() {
                subs.names_mut(kind).iter().cloned().collect()
            } else {
                named
            };
            if names.is_empty() {
                replies.push((None, subs.count_for(kind)));
            }
            for name in names {
                if subs.names_mut(kind).remove(&name) {
                    gone_here |= hub.unsubscribe(id, kind, &name);
                }
                replies.push((Some(name), subs.count_for(kind)));
            }
        }
    }
    session.note_subscriptions();
    if gone_here {
        session.registration_barrier().await;
    }
    for (name, count) in replies {
        confirm(
            reply_kind(kind, false),
            name.as_deref(),
            count,
            proto,
            session,
        );
    }
}

/// Drops every subscription of the client (RESET, disconnect).
pub fn unsubscribe_all(session: &mut Session) {
    if let Some(subs) = session.subs.take() {
        session.shared.pubsub.remove_client(session.state.id, &subs);
    }
    session.note_subscriptions();
}

/// `PUBSUB <subcommand>`.
pub async fn pubsub(mut args: Args, session: &mut Session) -> Result<Reply, CommandError> {
    let sub = args.next_bytes()?;
    let lower = String::from_utf8_lossy(&sub).to_ascii_lowercase();
    let wrong = || {
        CommandError::Other(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(&sub)
        ))
    };
    let command = match lower.as_str() {
        "help" if args.remaining() == 0 => return Ok(help()),
        "channels" | "shardchannels" => {
            if args.remaining() > 1 {
                return Err(wrong());
            }
            let pattern = args.rest().into_iter().next().map(|p| p.to_vec());
            if lower == "shardchannels" {
                Command::PubSubShardChannels { pattern }
            } else {
                Command::PubSubChannels { pattern }
            }
        }
        "numsub" => Command::PubSubNumSub {
            channels: args.rest_vecs(),
        },
        "shardnumsub" => Command::PubSubShardNumSub {
            channels: args.rest_vecs(),
        },
        "numpat" => {
            if args.remaining() != 0 {
                return Err(CommandError::WrongArity("pubsub|numpat".into()));
            }
            Command::PubSubNumPat
        }
        _ => {
            return Err(CommandError::Other(format!(
                "ERR unknown subcommand '{}'. Try PUBSUB HELP.",
                String::from_utf8_lossy(&sub)
            )))
        }
    };
    let mut outcomes = session
        .call_storage(session.state.db, vec![command])
        .await?;
    match outcomes.pop() {
        Some(tandem_shared::wire::Outcome::Ok(reply)) => Ok(reply),
        Some(tandem_shared::wire::Outcome::Err(e)) => Err(CommandError::Other(e.to_string())),
        None => Err(CommandError::err("storage returned no reply")),
    }
}

/// Whether `PUBSUB <sub>` names a known subcommand (for the subscribed-mode error text).
pub fn known_subcommand(sub: &[u8]) -> bool {
    let lower = String::from_utf8_lossy(sub).to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "help" | "channels" | "shardchannels" | "numsub" | "shardnumsub" | "numpat"
    )
}

fn help() -> Reply {
    let lines = [
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ];
    Reply::Array(lines.iter().map(|l| Reply::Simple((*l).into())).collect())
}
