//! Proxy-local commands: the handlers of the commands the table marks [`Local`] (PING,
//! HELLO, CLIENT, CONFIG, INFO, COMMAND, SUBSCRIBE, MULTI …). Each works on the client's
//! [`Session`] and returns its reply (or, for SUBSCRIBE and friends, writes its several
//! replies to the session's output buffer); the connection encodes and writes. Nothing
//! here touches the socket.
//!
//! - [`client`]: PING ECHO QUIT HELLO AUTH SELECT RESET TIME CLIENT, what a client asks
//!   about its own connection
//! - [`admin`]: CONFIG COMMAND ROLE WAIT LASTSAVE
//! - [`info`]: INFO, Redis's sections and tandem's
//! - [`memory`]: MEMORY USAGE STATS DOCTOR MALLOC-STATS PURGE HELP
//! - [`migrate`]: MIGRATE, a DUMP here and a RESTORE on another server
//! - [`monitor`]: MONITOR, and the lines monitors are shown around every command
//! - [`object`]: OBJECT DEBUG
//! - [`lolwut`]: LOLWUT, Redis's computer art of versions 5 and 6
//! - [`pause`]: CLIENT PAUSE UNPAUSE, SHUTDOWN, and which commands a pause holds
//! - [`slowlog`]: SLOWLOG LATENCY, answered from storaged's sums of every proxy's counts
//! - [`subscribe`]: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE SSUBSCRIBE SUNSUBSCRIBE
//!   PUBSUB
//! - [`tracking`]: CLIENT TRACKING CACHING GETREDIR TRACKINGINFO, and client-side caching
//!   around every command of a tracking client
//! - [`transaction`]: MULTI WATCH UNWATCH and the transaction state they change
//! - [`exec`]: commands sent while in MULTI, and EXEC, which runs queued local commands
//!   through [`run_local`] again (so it sits above this dispatcher, not below it)
//!
//! The handler modules use each other and `crate::session`, never this dispatcher.

pub mod acl;
pub mod admin;
pub mod client;
pub mod exec;
pub mod info;
pub mod lolwut;
pub mod memory;
pub mod migrate;
pub mod monitor;
pub mod object;
pub mod pause;
pub mod slowlog;
pub mod subscribe;
pub mod tracking;
pub mod transaction;

use bytes::Bytes;
use tandem_commands::{Args, Local};
use tandem_shared::Reply;

use crate::error::CommandError;
use crate::pubsub::Kind;
use crate::session::{Flow, LocalResult, Session};

/// Runs a proxy-local command.
///
/// # Errors
/// The command's Redis error reply.
pub async fn run_local(local: Local, args: Args, session: &mut Session) -> LocalResult {
    match local {
        Local::Ping => client::ping(args, session),
        Local::Echo => client::echo(args),
        Local::Quit => Ok((Reply::ok(), Flow::Close)),
        Local::Hello => client::hello(args, session),
        Local::Auth => client::auth(args, session),
        Local::Select => client::select(args, session),
        Local::Reset => {
            // Like UNSUBSCRIBE, answer only once storaged's table no longer counts this
            // client's subscriptions, so a PUBSUB NUMSUB after the reply does not see them.
            let subscribed = session.subs.is_some();
            monitor::reset(session);
            let reset = client::reset(session);
            if subscribed {
                session.registration_barrier().await;
            }
            reset
        }
        Local::Time => client::time(),
        Local::Client if pause::is_pause_subcommand(&args) => pause::client(args, session).await,
        Local::Client => {
            let ran = client::client(args, session);
            tracking::barrier(session).await;
            ran
        }
        Local::Config => admin::config(args, session).await,
        Local::Info => info::info(args, session).await,
        Local::Memory => memory::memory(args, session).await,
        Local::Command => admin::command(args, session),
        Local::Multi | Local::Exec | Local::Discard | Local::Watch | Local::Unwatch => {
            transaction::run_local(local, args, session).await
        }
        Local::Subscribe | Local::PSubscribe | Local::SSubscribe => {
            let kind = match local {
                Local::Subscribe => Kind::Channel,
                Local::PSubscribe => Kind::Pattern,
                _ => Kind::Shard,
            };
            subscribe::subscribe(args, session, kind).await?;
            Ok((Reply::Nil, Flow::Replied))
        }
        Local::Unsubscribe | Local::PUnsubscribe | Local::SUnsubscribe => {
            let kind = match local {
                Local::Unsubscribe => Kind::Channel,
                Local::PUnsubscribe => Kind::Pattern,
                _ => Kind::Shard,
            };
            subscribe::unsubscribe(args, session, kind).await;
            Ok((Reply::Nil, Flow::Replied))
        }
        Local::PubSub => Ok((subscribe::pubsub(args, session).await?, Flow::Continue)),
        Local::Role => admin::role(),
        Local::Wait => admin::wait(args),
        Local::Object => object::object(args, session).await,
        Local::Debug => object::debug(args, session).await,
        Local::Lolwut => lolwut::lolwut(args),
        Local::Slowlog => slowlog::slowlog(args, session).await,
        Local::Latency => slowlog::latency(args, session).await,
        Local::Acl => acl::acl(args, session).await,
        Local::Migrate => migrate::migrate(args, session).await,
        Local::Monitor => monitor::monitor(session).await,
        Local::Shutdown => pause::shutdown(args, session).await,
    }
}

/// Redis's unknown-command text: the name and the first arguments, each quoted and cut at
/// 128 bytes in total.
pub fn unknown_command(name: &[u8], args: &[Bytes]) -> String {
    let mut shown = String::new();
    for arg in args {
        if shown.len() >= 128 {
            break;
        }
        let room = 128 - shown.len();
        let text = String::from_utf8_lossy(arg);
        let cut: String = text.chars().take(room).collect();
        shown.push_str(&format!("'{cut}' "));
    }
    let name = String::from_utf8_lossy(name);
    let name: String = name.chars().take(128).collect();
    CommandError::UnknownCommand { name, args: shown }.to_string()
}
