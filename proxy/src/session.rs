//! One client's session: everything a command handler may read or change about its client,
//! and nothing of the socket.
//!
//! A [`Session`] holds the client's state (protocol, database, name, auth; what CLIENT LIST
//! shows), its output buffer, its storage link, its pub/sub subscriptions, its transaction
//! (MULTI queue and WATCH tokens) and its `CLIENT REPLY` mode. Proxy-local commands
//! (`crate::local`) take `&mut Session` and return their reply; the connection
//! (`crate::connection`), which alone owns the TCP stream and the pipeline of storage
//! commands, encodes it and writes the buffer out. This module does no socket I/O.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tandem_commands::CommandSpec;
use tandem_shared::command::WatchToken;
use tandem_shared::wire::{Outcome, Response};
use tandem_shared::{Command, Reply};
use tokio_util::sync::CancellationToken;

use crate::clients::ClientState;
use crate::clock::BatchClock;
use crate::error::CommandError;
use crate::instance::Shared;
use crate::link::Link;
use crate::pubsub::ClientSubs;

/// What a handled command asks of the connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// Flush replies, then close (QUIT, protocol errors).
    Close,
    /// The handler wrote its own replies (commands with several, like SUBSCRIBE).
    Replied,
}

/// What a proxy-local command returns: its reply and what the connection should do next.
pub type LocalResult = Result<(Reply, Flow), CommandError>;

/// `CLIENT REPLY ON|OFF|SKIP`: which replies the client does not want. The flags follow
/// Redis's: `skip` silences the command now running, and `skip_next` (set by SKIP) becomes
/// `skip` for the command after it.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReplyMode {
    pub off: bool,
    pub skip: bool,
    pub skip_next: bool,
}

impl ReplyMode {
    /// True while replies are being dropped.
    pub fn quiet(self) -> bool {
        self.off || self.skip
    }
}

/// One client's transaction state; `crate::local::transaction` runs MULTI, EXEC, DISCARD,
/// WATCH and UNWATCH over it.
#[derive(Default)]
pub struct Transaction {
    /// `Some` between MULTI and EXEC/DISCARD.
    pub(crate) queue: Option<TxQueue>,
    /// Keys this client WATCHes, one token each.
    pub(crate) watches: Vec<WatchToken>,
}

/// The commands queued since MULTI.
#[derive(Default)]
pub(crate) struct TxQueue {
    pub(crate) items: Vec<Queued>,
    /// Argument bytes queued; bounded by the link's frame size.
    pub(crate) bytes: usize,
    /// An error was answered while queueing: EXEC must answer EXECABORT.
    pub(crate) dirty: bool,
}

/// One queued command: checked for existence and arity only, parsed at EXEC time.
pub(crate) struct Queued {
    pub(crate) spec: &'static CommandSpec,
    /// The name as the client spelled it (the slow log shows it so).
    pub(crate) name: Bytes,
    pub(crate) args: Vec<Bytes>,
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

/// The state of one client that command handlers work on; see the module docs.
pub struct Session {
    pub state: ClientState,
    pub shared: Arc<Shared>,
    pub link: Link,
    /// Cancelled by CLIENT KILL, shutdown, or the pub/sub output-buffer limit.
    pub kill: CancellationToken,
    /// Pub/sub subscriptions and the queue of messages for this client.
    pub subs: Option<ClientSubs>,
    /// Client-side caching: tracking mode and the queue of invalidations for this client
    /// (`crate::tracking`); `None` for a client that can receive none.
    pub tracking: Option<Box<crate::tracking::ClientTracking>>,
    /// MULTI queue and WATCHed keys.
    pub tx: Transaction,
    /// `CLIENT REPLY` state.
    pub reply: ReplyMode,
    /// Where the running command's replies start in `out`, for `CLIENT REPLY` to cut them.
    pub(crate) reply_mark: usize,
    /// Encoded replies not yet written to the client.
    pub(crate) out: BytesMut,
    /// The clock read once for the commands parsed from one read; forgotten after every
    /// read and every storage wait.
    pub(crate) clock: BatchClock,
    /// The ACL user commands run as (`crate::acl`).
    pub user: crate::acl::ClientUser,
    /// MONITOR: a monitoring client's queue of lines (`crate::local::monitor`); `None`
    /// for other clients.
    pub monitor: Option<Box<crate::monitor::Inbox>>,
}

impl Session {
    /// A fresh session for a client whose state is registered already. Its buffers stay
    /// unallocated until the client sends something.
    pub fn new(
        state: ClientState,
        shared: Arc<Shared>,
        link: Link,
        kill: CancellationToken,
    ) -> Session {
        let user = crate::acl::ClientUser::default_of(&shared.acl);
        Session {
            state,
            shared,
            link,
            kill,
            subs: None,
            tracking: None,
            tx: Transaction::default(),
            reply: ReplyMode::default(),
            reply_mark: 0,
            out: BytesMut::new(),
            clock: BatchClock::default(),
            user,
            monitor: None,
        }
    }

    /// The output buffer, for handlers that write several replies.
    pub fn out_mut(&mut self) -> &mut BytesMut {
        &mut self.out
    }

    /// Publishes the client's subscription counts to the client list (CLIENT LIST).
    pub fn note_subscriptions(&mut self) {
        let (sub, psub, ssub) = self.subs.as_ref().map_or((0, 0, 0), |s| {
            (s.channels.len(), s.patterns.len(), s.shard.len())
        });
        self.state.sub = sub;
        self.state.psub = psub;
        self.state.ssub = ssub;
    }

    /// Waits until storaged has applied this proxy's pending subscription changes: a
    /// request on the registering link is answered only after the frames written before it.
    pub async fn registration_barrier(&mut self) {
        if let Some(link) = self.shared.links.links().first() {
            // Storage down: the table is sent again on reconnect; confirm anyway, as the
            // subscription exists here.
            let _ = link.call(0, vec![Command::PubSubNumPat]).await;
        }
    }

    /// Runs storage commands for a local command (INFO, WATCH, PUBSUB …) outside the
    /// client's pipeline batch.
    ///
    /// # Errors
    /// The link error text, as a command error.
    pub async fn call_storage(
        &mut self,
        db: u8,
        commands: Vec<Command>,
    ) -> Result<Vec<Outcome>, CommandError> {
        let frame = self
            .link
            .call(db, commands)
            .await
            .map_err(|e| CommandError::Other(e.to_string()))?;
        let response = frame.access::<Response>().map_err(CommandError::err)?;
        rkyv::deserialize::<Vec<Outcome>, rkyv::rancor::Error>(&response.outcomes)
            .map_err(CommandError::err)
    }
}
