//! How a client connection waits in a blocking pop (`BLPOP` & co.).
//!
//! storaged owns the waiting (`storaged/src/writer/parked.rs`): the pop travels alone as a keyed
//! request and storaged answers it when it is served, times out or is unblocked. This module
//! owns the proxy's side of that wait:
//! - the request waits without the link's request deadline (until the pop's own deadline
//!   plus a grace), and holds no thread and no link: other clients' requests share the link;
//! - a long wait is cut into segments of at most [`SEGMENT`], each a new request with a new
//!   key, because storaged refuses to resend-check a request older than its request memory
//!   (60 s by default); the client's original block time travels along, so it keeps its
//!   place among the key's waiters, and each renewal is marked `renewed`, so storaged
//!   serves it as a client blocked all along instead of checking its keys' types afresh;
//! - `CLIENT UNBLOCK` or the client going away (the connection keeps reading the socket
//!   meanwhile and tells this module through a future) asks storaged to release the parked
//!   request with an `Unblock` command;
//! - when the proxy drains, the pop is released the same way and the client is closed
//!   without a reply, unless storaged served it first (then the reply goes out before the
//!   close): no element is ever popped for a client that does not get it.
//!
//! It never touches the client's socket, encodes replies or writes to the client: the
//! connection does.

use std::sync::Arc;
use std::time::Duration;

use tandem_shared::reply::ArchivedReply;
use tandem_shared::wire::{ArchivedOutcome, Frame, Response};
use tandem_shared::Command;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::clients::Unblock;
use crate::link::{Link, LinkError};

/// Longest single request of a blocking wait; a longer wait is renewed with a new request.
pub const SEGMENT: Duration = Duration::from_secs(10);

/// Past a segment's deadline, how long the proxy still waits for storaged's answer (which
/// may be held up by a storaged restart) before reporting the outcome unknown.
const GRACE: Duration = Duration::from_secs(5);

/// Pause between `Unblock` attempts while the pop is not yet parked in storaged.
const UNBLOCK_RETRY: Duration = Duration::from_millis(5);

/// How a blocking wait ended.
pub enum Waited {
    /// storaged's answer (or the link's error).
    Answered(Result<Frame, LinkError>),
    /// `CLIENT UNBLOCK … ERROR` met a request that ended by timing out at the same moment.
    Unblocked,
    /// The client closed its connection or was killed.
    Gone,
    /// The proxy is draining and storaged released the pop unserved: close the connection
    /// without a reply.
    Drained,
}

/// True for the commands that may block (outside `MULTI`).
pub fn is_blocking(command: &Command) -> bool {
    matches!(command, Command::BlockingPop { .. })
}

/// Who waits, for storaged's `Unblock`.
#[derive(Debug, Clone, Copy)]
pub struct Waiter {
    pub proxy: u64,
    pub client: u64,
}

/// Runs one blocking pop for a client and waits for its answer; see the module docs.
/// `unblock` is the client's signal from the client list (set by `CLIENT UNBLOCK`); `drain`
/// is the proxy's drain token; `client_gone` resolves when the client closed its connection
/// or was killed.
pub async fn wait(
    link: &Link,
    db: u8,
    command: Command,
    waiter: Waiter,
    unblock: &Arc<Unblock>,
    drain: &CancellationToken,
    client_gone: impl std::future::Future<Output = ()>,
) -> Waited {
    let Command::BlockingPop { op, keys, mut wait } = command else {
        return Waited::Answered(link.call(db, vec![command]).await);
    };
    wait.proxy = waiter.proxy;
    wait.client = waiter.client;
    let client_deadline = wait.deadline_ms;
    // Cancelled when the wait ends, to stop a pending `Unblock` retry loop.
    let finished = CancellationToken::new();
    let _stop_unblocking = finished.clone().drop_guard();
    let mut asked: Option<bool> = None;
    let mut draining = false;
    tokio::pin!(client_gone);
    loop {
        let now = now_ms();
        let segment_end = now.saturating_add(SEGMENT.as_millis() as u64);
        wait.deadline_ms = if client_deadline == 0 || client_deadline > segment_end {
            segment_end
        } else {
            client_deadline
        };
        let renewable = wait.deadline_ms != client_deadline;
        let until =
            Instant::now() + Duration::from_millis(wait.deadline_ms.saturating_sub(now)) + GRACE;
        let request = Command::BlockingPop {
            op: op.clone(),
            keys: keys.clone(),
            wait,
        };
        let call_link = link.clone();
        let mut call =
            Box::pin(async move { call_link.call_until(db, vec![request], Some(until)).await });
        loop {
            tokio::select! {
                result = &mut call => {
                    let timed_out = result.as_ref().is_ok_and(is_timeout_reply);
                    if draining && timed_out {
                        return Waited::Drained;
                    }
                    match asked {
                        Some(true) if timed_out => return Waited::Unblocked,
                        None if renewable && timed_out => {
                            wait.renewed = true;
                            break;
                        }
                        _ => return Waited::Answered(result),
                    }
                }
                error = unblock.asked(), if asked.is_none() => {
                    asked = Some(error);
                    tokio::spawn(release(link.clone(), db, waiter, error, finished.clone()));
                }
                _ = drain.cancelled(), if asked.is_none() => {
                    // Released with the timeout reply, which this client then does not get.
                    asked = Some(false);
                    draining = true;
                    tokio::spawn(release(link.clone(), db, waiter, false, finished.clone()));
                }
                () = &mut client_gone => return gone(link, db, waiter, call).await,
            }
        }
    }
}

/// The client left while its pop may be parked: release it in storaged, so no element is
/// popped for nobody, before the connection reports the client gone (and no longer
/// blocked). Bounded by [`GRACE`]; then the call is dropped.
async fn gone(
    link: &Link,
    db: u8,
    waiter: Waiter,
    call: std::pin::Pin<Box<impl std::future::Future<Output = Result<Frame, LinkError>>>>,
) -> Waited {
    let done = CancellationToken::new();
    let releasing = release(link.clone(), db, waiter, false, done.clone());
    let _ = tokio::time::timeout(GRACE, async {
        tokio::select! {
            _ = call => done.cancel(),
            _ = releasing => {}
        }
    })
    .await;
    Waited::Gone
}

/// Sends `Unblock` until storaged reports it released the parked pop, or `finished` (the
/// pop was answered anyway). It may not be parked yet when the first one arrives (it
/// travels on another link, or is still queued), hence the retries.
async fn release(link: Link, db: u8, waiter: Waiter, error: bool, finished: CancellationToken) {
    let unblock = Command::Unblock {
        proxy: waiter.proxy,
        client: waiter.client,
        error,
    };
    loop {
        let released = tokio::select! {
            _ = finished.cancelled() => return,
            r = link.call(db, vec![unblock.clone()]) => r.is_ok_and(|f| first_reply_is(&f, |r| matches!(r, ArchivedReply::Integer(n) if n.to_native() == 1))),
        };
        if released {
            return;
        }
        tokio::select! {
            _ = finished.cancelled() => return,
            _ = tokio::time::sleep(UNBLOCK_RETRY) => {}
        }
    }
}

/// Whether the first reply of a response frame passes `test` (read in place).
fn first_reply_is(frame: &Frame, test: impl Fn(&ArchivedReply) -> bool) -> bool {
    let Ok(response) = frame.access::<Response>() else {
        return false;
    };
    matches!(response.outcomes.first(), Some(ArchivedOutcome::Ok(reply)) if test(reply))
}

/// Whether storaged answered with the timeout reply (a null).
fn is_timeout_reply(frame: &Frame) -> bool {
    first_reply_is(frame, |r| {
        matches!(r, ArchivedReply::Nil | ArchivedReply::NilArray)
    })
}

fn now_ms() -> u64 {
    u64::try_from(crate::clock::now_ms()).unwrap_or(0)
}
