//! The storage link: a small pool of multiplexed Unix-socket connections to storaged.
//!
//! A [`Link`] is a cheap handle. [`Link::call`] takes a request id, parks a `oneshot` in the
//! in-flight map and queues the request on a *bounded* channel; one dispatcher task per link
//! owns the socket, reconnects with capped exponential backoff and jitter, and routes
//! responses back by id. While storaged is away, requests wait in that channel until their
//! deadline; a full channel sheds at once. This module never decodes RESP and never decides
//! command semantics.
//!
//! Exactly once: every request that may write gets a [`RequestKey`] (this proxy's instance
//! id and a sequence number) when it is queued. When a link dies with requests in flight,
//! the dispatcher keeps them and resends them, same key, on the next link; storaged answers
//! a key it has already run with the remembered reply. A caller whose deadline passes while
//! its write is (or was) in flight gets [`LinkError::NoReply`] (or, when the proxy stops,
//! [`LinkError::OutcomeUnknown`]), never a retryable error: only a request that provably
//! never left the proxy is reported as not executed.
//!
//! Pub/sub: the link carries subscription changes to storaged and `Push` frames back, but
//! knows no subscriber; it talks to the proxy's pub/sub table through [`PushSink`].
//!
//! Files, none of which uses this one: `call.rs` (one call on its way, [`LinkError`]),
//! `in_flight.rs` (calls written and awaiting their response), `dispatch.rs` (the task that
//! owns the socket), `socket.rs` (the socket's non-blocking reads and writes), `state.rs`
//! ([`LinkConfig`], [`LinkStats`]), `push_sink.rs`.
//!
//! Deadlines: `request_timeout` from the call, plus one second per
//! `timeout_mib_per_sec` MiB of the request's frame once the dispatcher has encoded it, so
//! a large write is given the time storage needs to take its bytes (see [`size_allowance`]).

mod call;
mod dispatch;
mod in_flight;
mod push_sink;
mod socket;
mod state;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tandem_commands::CommandFacts;
use tandem_shared::wire::{Frame, RequestKey};
use tandem_shared::Command;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub use self::call::LinkError;
use self::call::{Call, Progress, ABANDONED, QUEUED};
use self::in_flight::InFlight;
pub use self::push_sink::{PushSink, TrackSink};
pub use self::state::{LinkConfig, LinkState, LinkStats};

/// The size an `LCS` is charged for its allowance: storaged may queue it behind others in
/// its read-memory budget and then build a table of up to 512 MiB, work a request of that
/// size would get time for. So a burst of large LCS calls waits its turn instead of timing
/// out, and a storaged that is really stuck is still reported (5 + 64 s at the defaults).
const LCS_CHARGED_BYTES: u64 = 512 << 20;

/// The extra time a request of `bytes` gets: one second per `mib_per_sec` MiB (0: none).
pub(crate) fn size_allowance(bytes: u64, mib_per_sec: u64) -> Duration {
    if mib_per_sec == 0 {
        return Duration::ZERO;
    }
    let nanos = u128::from(bytes) * 1_000_000_000 / (u128::from(mib_per_sec) << 20);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Where request keys come from: unique per proxy process and never reused.
pub(crate) struct KeySource {
    proxy: u64,
    next: AtomicU64,
}

impl KeySource {
    fn next(&self) -> RequestKey {
        RequestKey {
            proxy: self.proxy,
            seq: self.next.fetch_add(1, Ordering::Relaxed),
            born_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
        }
    }
}

/// A handle to one link.
#[derive(Clone)]
pub struct Link {
    tx: mpsc::Sender<Call>,
    stats: Arc<LinkStats>,
    in_flight: Arc<InFlight>,
    keys: Arc<KeySource>,
    timeout: Duration,
    mib_per_sec: u64,
    /// This link's place in the pool.
    index: usize,
    /// The client whose handle this is (0: a shared one), named in its calls.
    client: u64,
}

impl Link {
    /// The handle client `id` uses: its calls name it (client-side caching's NOLOOP needs to
    /// know whose write an invalidation comes from).
    pub fn for_client(mut self, id: u64) -> Link {
        self.client = id;
        self
    }

    /// This link's place in the pool.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Sends one batch of commands for `db` and waits for its response frame (a `Response`
    /// the caller accesses with checked rkyv).
    ///
    /// Cancel safety: dropping the future before the request is written cancels it; after it
    /// is written, storaged still runs it and the response is discarded (it is not resent).
    ///
    /// # Errors
    /// See [`LinkError`]: `QueueFull`/`Unavailable` mean nothing ran; `NoReply` and
    /// `OutcomeUnknown` mean a write may have run; `ReadTimeout` is a read that may be retried.
    pub async fn call(&self, db: u8, commands: Vec<Command>) -> Result<Frame, LinkError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        self.call_within(db, commands, Some(deadline), self.timeout)
            .await
    }

    /// [`Link::call`] with its own deadline instead of the link's request timeout; `None`
    /// waits as long as it takes (a blocking pop with timeout 0). Same errors, cancel safety
    /// and size allowance; a request still queued when the link comes back is sent then.
    ///
    /// # Errors
    /// As [`Link::call`].
    pub async fn call_until(
        &self,
        db: u8,
        commands: Vec<Command>,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Frame, LinkError> {
        let budget = deadline
            .map(|at| at.saturating_duration_since(tokio::time::Instant::now()))
            .unwrap_or_default();
        self.call_within(db, commands, deadline, budget).await
    }

    /// The call itself; `budget` is how long `deadline` was from the caller's start, for the
    /// error text.
    async fn call_within(
        &self,
        db: u8,
        commands: Vec<Command>,
        deadline: Option<tokio::time::Instant>,
        budget: Duration,
    ) -> Result<Frame, LinkError> {
        let (reply, mut rx) = oneshot::channel();
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        if !self.stats.up.load(Ordering::Relaxed) {
            self.stats.queued.fetch_add(1, Ordering::Relaxed);
        }
        let write = commands.iter().any(Command::is_write);
        let charged = if commands.iter().any(|c| matches!(c, Command::Lcs { .. })) {
            LCS_CHARGED_BYTES
        } else {
            0
        };
        let progress = Arc::new(Progress::default());
        if let Err(e) = self.tx.try_send(Call {
            db,
            commands,
            key: write.then(|| self.keys.next()),
            attempt: 0,
            progress: progress.clone(),
            reply,
            client: self.client,
        }) {
            self.stats.shed.fetch_add(1, Ordering::Relaxed);
            return Err(match e {
                mpsc::error::TrySendError::Full(_) => LinkError::QueueFull,
                mpsc::error::TrySendError::Closed(_) => {
                    LinkError::Unavailable("proxy is shutting down".into())
                }
            });
        }
        let mut until = deadline;
        let answered = loop {
            let Some(at) = until else {
                break Ok((&mut rx).await);
            };
            match tokio::time::timeout_at(at, &mut rx).await {
                Ok(answer) => break Ok(answer),
                Err(elapsed) => {
                    // Once encoded, the frame's size earns it more time (checked only here,
                    // so a small request pays nothing for it).
                    // An LCS's charge, too, counts only once it was sent: one still queued
                    // here while storaged is away keeps the plain deadline.
                    let bytes = match progress.frame_bytes.load(Ordering::Acquire) {
                        0 => 0,
                        sent => sent.max(charged),
                    };
                    let allowance = size_allowance(bytes, self.mib_per_sec);
                    let grown = deadline.and_then(|d| d.checked_add(allowance));
                    match grown {
                        Some(grown) if grown > at => until = Some(grown),
                        _ => break Err(elapsed),
                    }
                }
            }
        };
        // The deadline the caller was held to, size allowance included.
        let waited_ms = || {
            let grown = match (until, deadline) {
                (Some(at), Some(base)) => at.saturating_duration_since(base),
                _ => Duration::ZERO,
            };
            (budget + grown).as_millis() as u64
        };
        match answered {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(LinkError::OutcomeUnknown("link task ended".into())),
            Err(_) => {
                drop(rx);
                self.stats.timed_out.fetch_add(1, Ordering::Relaxed);
                let never_sent = progress
                    .state
                    .compare_exchange(QUEUED, ABANDONED, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok();
                if never_sent {
                    let state = self
                        .stats
                        .state
                        .lock()
                        .map(|s| s.0)
                        .unwrap_or(LinkState::Down);
                    Err(LinkError::Unavailable(format!(
                        "not sent within the request deadline of {} ms; storage link {}",
                        waited_ms(),
                        state.as_str()
                    )))
                } else if write {
                    Err(LinkError::NoReply(waited_ms()))
                } else {
                    Err(LinkError::ReadTimeout(waited_ms()))
                }
            }
        }
    }

    /// This proxy's instance id (the one in its request keys).
    pub fn instance_id(&self) -> u64 {
        self.keys.proxy
    }

    /// Counters of this link.
    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    /// Requests queued but not yet written.
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Requests written and awaiting a response.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }
}

/// The pool of links a proxy shares among its clients.
pub struct LinkPool {
    links: Vec<Link>,
    next: AtomicUsize,
}

impl LinkPool {
    /// Starts `count` links, each with its own dispatcher task that connects (and keeps
    /// reconnecting) until `shutdown` is cancelled.
    ///
    /// The first link also carries this proxy's pub/sub registrations from `pubsub`; every
    /// link delivers `Push` frames to it.
    pub fn start<S: PushSink>(
        count: usize,
        config: LinkConfig,
        pubsub: Arc<S>,
        tracking: Arc<dyn TrackSink>,
        shutdown: CancellationToken,
    ) -> LinkPool {
        let keys = Arc::new(KeySource {
            proxy: config.instance_id,
            next: AtomicU64::new(1),
        });
        let links = (0..count.max(1))
            .map(|index| {
                let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
                let stats = Arc::new(LinkStats {
                    state: Mutex::new((LinkState::Connecting, String::new())),
                    reconnects: AtomicU64::new(0),
                    requests: AtomicU64::new(0),
                    shed: AtomicU64::new(0),
                    timed_out: AtomicU64::new(0),
                    queued: AtomicU64::new(0),
                    up: std::sync::atomic::AtomicBool::new(false),
                    resent: AtomicU64::new(0),
                });
                let in_flight = Arc::new(InFlight::default());
                tokio::spawn(dispatch::run(
                    index,
                    config.clone(),
                    rx,
                    stats.clone(),
                    in_flight.clone(),
                    dispatch::PubSubRole {
                        hub: pubsub.clone(),
                        registers: index == 0,
                        tracking: tracking.clone(),
                        index,
                        proxy: config.instance_id,
                    },
                    shutdown.clone(),
                ));
                Link {
                    tx,
                    stats,
                    in_flight,
                    keys: keys.clone(),
                    timeout: config.request_timeout,
                    mib_per_sec: config.timeout_mib_per_sec,
                    index,
                    client: 0,
                }
            })
            .collect();
        LinkPool {
            links,
            next: AtomicUsize::new(0),
        }
    }

    /// A link for a new client. Each client keeps one link for its lifetime, which keeps its
    /// requests in order; clients spread round-robin.
    pub fn assign(&self) -> Link {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.links.len();
        self.links[i].clone()
    }

    /// Every link, for INFO.
    pub fn links(&self) -> &[Link] {
        &self.links
    }
}

#[cfg(test)]
mod tests {
    use super::call::SENT;
    use super::*;
    use std::sync::atomic::AtomicU8;

    fn call(progress: u8) -> (Call, oneshot::Receiver<Result<Frame, LinkError>>) {
        let (reply, rx) = oneshot::channel();
        let call = Call {
            db: 0,
            commands: vec![Command::DbSize],
            key: None,
            attempt: 0,
            progress: Arc::new(Progress {
                state: AtomicU8::new(progress),
                frame_bytes: AtomicU64::new(0),
            }),
            reply,
            client: 0,
        };
        (call, rx)
    }

    #[test]
    fn a_call_is_sent_only_if_its_caller_has_not_given_up() {
        let (queued, _rx) = call(QUEUED);
        assert!(queued.claim());
        assert_eq!(queued.progress.state.load(Ordering::SeqCst), SENT);
        // A resend of a call that went out before.
        assert!(queued.claim());
        // The caller's deadline won the race: never sent, and it was told so.
        let (abandoned, _rx) = call(ABANDONED);
        assert!(!abandoned.claim());
        // The caller went away (disconnect): nobody to answer.
        let (gone, rx) = call(QUEUED);
        drop(rx);
        assert!(!gone.claim());
    }

    #[test]
    fn calls_come_back_in_send_order() {
        let map = InFlight::default();
        let mut receivers = Vec::new();
        for id in [7u64, 3, 5] {
            let (mut c, rx) = call(SENT);
            c.db = id as u8;
            map.insert(id, c);
            receivers.push(rx);
        }
        let order: Vec<u8> = map.take_all().iter().map(|c| c.db).collect();
        assert_eq!(order, vec![3, 5, 7]);
        assert!(map.is_empty());
    }

    #[test]
    fn a_request_gets_one_more_second_per_configured_mib() {
        let mib = 1u64 << 20;
        assert_eq!(size_allowance(16 * mib, 16), Duration::from_secs(1));
        assert_eq!(size_allowance(512 * mib, 16), Duration::from_secs(32));
        assert_eq!(size_allowance(mib / 2, 1), Duration::from_millis(500));
        // A small request's allowance is noise next to the deadline.
        assert!(size_allowance(200, 16) < Duration::from_micros(20));
        assert_eq!(size_allowance(512 * mib, 0), Duration::ZERO);
        assert_eq!(size_allowance(u64::MAX, 1), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn request_keys_are_unique_and_keep_the_proxy_id() {
        let keys = KeySource {
            proxy: 42,
            next: AtomicU64::new(1),
        };
        let (a, b) = (keys.next(), keys.next());
        assert_eq!((a.proxy, b.proxy), (42, 42));
        assert_ne!(a.seq, b.seq);
        assert!(a.born_ms > 0 && b.born_ms >= a.born_ms);
    }
}
