//! One storage call as the link carries it: the request, its exactly-once key, how far it
//! got (queued, sent, abandoned by its caller) and where its answer goes; and [`LinkError`],
//! what a caller is told when no answer comes. Shared by the handle (`super::Link`), the
//! dispatcher and the in-flight map; uses neither.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use tandem_shared::wire::{Frame, RequestKey};
use tandem_shared::Command;
use tokio::sync::oneshot;

/// Why a storage call produced no response. `Display` texts are the client-facing errors.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    /// Never sent: safe for the client to retry.
    #[error("TRYAGAIN storage unavailable, request not executed ({0})")]
    Unavailable(String),
    /// Never sent: the bounded queue is full.
    #[error("TRYAGAIN storage queue full, request not executed")]
    QueueFull,
    /// Sent (or possibly sent) and the link task ended before a response (the proxy is
    /// stopping): the command may or may not have been applied.
    #[error("ERR storage link lost, outcome of the command is unknown ({0})")]
    OutcomeUnknown(String),
    /// A write was sent and no response came within its deadline (milliseconds, size
    /// allowance included), the link being up or not: it may or may not have been applied,
    /// so the text is a plain `ERR` no client library retries.
    #[error("ERR no reply from storage within the request deadline ({0} ms); the outcome of the command is unknown")]
    NoReply(u64),
    /// A read-only request got no answer within its deadline (milliseconds); safe to retry.
    #[error("TRYAGAIN storage did not answer a read within the request deadline ({0} ms)")]
    ReadTimeout(u64),
    /// The response frame was not a valid archive.
    #[error("ERR storage sent an invalid response: {0}")]
    BadResponse(String),
}

/// [`Progress::state`] values: the dispatcher and the caller race for the first transition,
/// so "never sent" is only ever reported for a request that really was never written.
pub(super) const QUEUED: u8 = 0;
pub(super) const SENT: u8 = 1;
pub(super) const ABANDONED: u8 = 2;

/// What the caller of a [`Call`] can see of it while it waits.
#[derive(Default)]
pub(super) struct Progress {
    /// `QUEUED`, `SENT` or `ABANDONED`.
    pub(super) state: AtomicU8,
    /// Bytes of the call's frame, set when the dispatcher encodes it (0 before): the
    /// caller's deadline grows with it.
    pub(super) frame_bytes: AtomicU64,
}

/// One request on its way: queued, written, or waiting for its response.
pub(super) struct Call {
    pub(super) db: u8,
    pub(super) commands: Vec<Command>,
    /// Some for requests that may write: storaged runs each key at most once.
    pub(super) key: Option<RequestKey>,
    /// How many times this call was sent before (0 on the first send).
    pub(super) attempt: u32,
    pub(super) progress: Arc<Progress>,
    pub(super) reply: oneshot::Sender<Result<Frame, LinkError>>,
    /// The proxy client that made the call (0: none), for client-side caching's NOLOOP.
    pub(super) client: u64,
}

impl Call {
    /// Claims the call for writing. False if its caller already gave up: then it must not
    /// be sent (the caller was told it was not executed, or nobody is waiting).
    pub(super) fn claim(&self) -> bool {
        if self.reply.is_closed() {
            return false;
        }
        match self
            .progress
            .state
            .compare_exchange(QUEUED, SENT, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => true,
            Err(state) => state == SENT,
        }
    }
}
