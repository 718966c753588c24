//! Blocked clients: requests made of one blocking pop (`BLPOP` & co., see
//! [`Command::BlockingPop`](tandem_shared::Command::BlockingPop)) that found every key
//! empty. The writer thread parks them here — the request frame and its reply channel, no
//! response sent — and serves them when a write makes one of their keys ready, answers them
//! with the timeout reply when their deadline passes, or at once when an `Unblock` names
//! their waiter.
//!
//! Owned by the writer thread alone (no locks). Order: waiters of a key are served oldest
//! first by the time the client started waiting (`Wait::since_ms`, the proxy's clock), then
//! by arrival, so the first client to block is the first served across every proxy, and a
//! request resent after a storaged restart (or renewed by its proxy) keeps its place.
//!
//! A blocked `XREAD` (a [`BlockingOp::StreamRead`](tandem_shared::command::BlockingOp))
//! parks the same way; it reads instead of popping, above ids resolved when its wait began
//! (`$` is the stream's last id then, kept across the proxy's renewals of a long wait;
//! a resend to a restarted storaged resolves it again), and a reader with nothing above its
//! id leaves the key's other readers to be served.
//!
//! Serving is Redis 7.0's: a waiter pops from the ready key alone; one that pops another
//! type than the key holds is skipped and stays parked, and the key's later waiters are
//! still served; a served `BLMOVE` whose destination holds another type is answered
//! `WRONGTYPE` and leaves the element for the next waiter; an empty key ends the pass. The
//! keys of a client already blocked are never checked again: a renewed or resent request
//! ([`Blocked::continues`]) is served the same way, not run afresh (where a key of another
//! type is `WRONGTYPE`).
//!
//! Exactly once: a parked request is answered like any keyed write — its outcome is
//! recorded in the same group as the pop — so a resend after a crash is answered from
//! memory. A link that closes gives up its parked requests (its task stops waiting for
//! them, see `link.rs`); their closed reply channels are dropped here lazily, and the
//! proxy resends them on its next link.
//!
//! This module does not read the socket or decide when groups commit; it runs commands only
//! through the write group it is handed, and what a pop does is `types::pop`'s.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tandem_shared::command::{ArchivedBlockingOp, ArchivedCommand, StreamId};
use tandem_shared::wire::{Frame, Outcome};
use tandem_shared::{Reply, StorageError};
use tokio::sync::mpsc;

use crate::dedup::{self, Answer, DedupState};
use crate::dispatch::{execute_write, pop_op, stream_read_ids};
use crate::engine::group::{Touched, WriteGroup};
use crate::engine::{now_ms, StoreRead, StoreWrite};
use crate::outbox::ReplyTo;
use crate::pubsub::Hub;
use crate::request::RequestView;
use crate::types::pop::{pop, PopOp};
use crate::types::{self, At};

/// An answered request, its reply channel and id, waiting for its group to commit.
pub type Done = (u64, Answer, ReplyTo);

/// What a blocked pop gets from one key.
enum Serving {
    /// Answered: what it popped, or an error (a `BLMOVE` destination of another type, which
    /// leaves the element where it was).
    Answered(Outcome),
    /// The key holds another type than the pop takes: the waiter stays blocked, and the
    /// key's later waiters may still be served.
    OtherType,
    /// The key is missing or empty: nobody is served from it now.
    Empty,
}

/// Serves a blocked pop from `key` alone, as Redis 7.0 serves a blocked client when the key
/// becomes ready.
fn serve_from<W: StoreWrite + ?Sized>(w: &mut W, at: At, op: PopOp<'_>, key: &[u8]) -> Serving {
    if let PopOp::StreamReadGroup { .. } = op {
        // A group reader is answered an error when its key is gone or is no stream any
        // more (Redis 7.0.15), so it checks the key itself.
        return match pop(w, at, op, &[key]) {
            Ok(Reply::NilArray) => Serving::OtherType,
            Ok(reply) => Serving::Answered(Outcome::Ok(reply)),
            Err(e) => Serving::Answered(Outcome::Err(e)),
        };
    }
    match types::lookup(w, at, key) {
        // A missing key serves no reader, but ends no pass: a later group reader of the
        // key is answered its error.
        Ok(None) if matches!(op, PopOp::StreamRead { .. }) => return Serving::OtherType,
        Ok(None) => return Serving::Empty,
        Ok(Some(record)) if record.kind != op.pops_from() => return Serving::OtherType,
        Ok(Some(_)) => {}
        Err(e) => return Serving::Answered(Outcome::Err(e)),
    }
    match pop(w, at, op, &[key]) {
        // A blocked XREAD takes nothing: one reader with nothing above its id leaves the
        // key's later readers (other ids) to be served.
        Ok(Reply::NilArray) if matches!(op, PopOp::StreamRead { .. }) => Serving::OtherType,
        Ok(Reply::Nil | Reply::NilArray) => Serving::Empty,
        Ok(reply) => Serving::Answered(Outcome::Ok(reply)),
        Err(e) => Serving::Answered(Outcome::Err(e)),
    }
}

/// Runs a pop that continues a wait (see [`Blocked::continues`]): served from the first of
/// its keys that can serve it, as if that key had just become ready; the timeout reply (so
/// it parks again) when none can. Keys of another type are passed over, never `WRONGTYPE`.
fn serve_continued<W: StoreWrite + ?Sized>(
    w: &mut W,
    db: u8,
    op: PopOp<'_>,
    keys: &[&[u8]],
) -> Outcome {
    // The request names a logical database; records live under the physical one.
    let at = match types::check_db(w.services().databases().pending().physical(db)) {
        Ok(db) => At {
            db,
            now_ms: now_ms(),
        },
        Err(e) => return Outcome::Err(e),
    };
    for key in keys {
        if let Serving::Answered(outcome) = serve_from(w, at, op, key) {
            return outcome;
        }
    }
    Outcome::Ok(op.timeout_reply())
}

/// [`serve_continued`] for a blocked `XREAD`: served from the first key with entries above
/// its id (`after`, resolved when the wait began), else the timeout reply.
fn serve_stream_continued<W: StoreWrite + ?Sized>(
    w: &mut W,
    db: u8,
    count: u64,
    keys: &[&[u8]],
    after: &[StreamId],
) -> Outcome {
    let at = match types::check_db(w.services().databases().pending().physical(db)) {
        Ok(db) => At {
            db,
            now_ms: now_ms(),
        },
        Err(e) => return Outcome::Err(e),
    };
    for (key, &after) in keys.iter().zip(after) {
        if let Serving::Answered(outcome) =
            serve_from(w, at, PopOp::StreamRead { count, after }, key)
        {
            return outcome;
        }
    }
    Outcome::Ok(Reply::NilArray)
}

fn is_empty_pop(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Ok(Reply::Nil | Reply::NilArray))
}

/// Whether the writer hands this request to [`Blocked::run`]: a lone blocking pop (a
/// blocking pop among other commands, as in `EXEC`, runs as its non-blocking form) or a
/// lone `Unblock`.
pub fn claims(req: &RequestView<'_>) -> bool {
    req.commands.len() == 1
        && matches!(
            req.commands.first(),
            Some(ArchivedCommand::BlockingPop { .. } | ArchivedCommand::Unblock { .. })
        )
}

/// Whether a request may be parked, so its link's task must stop waiting for it when the
/// link closes.
pub fn may_park(req: &RequestView<'_>) -> bool {
    req.commands.len() == 1
        && matches!(
            req.commands.first(),
            Some(ArchivedCommand::BlockingPop { .. })
        )
}

/// A parked request.
pub struct Parked {
    frame: Frame,
    reply: ReplyTo,
    /// A blocked `XREAD`'s ids, one per key, `$` resolved when the wait began (empty for
    /// the pops).
    after: Vec<StreamId>,
}

impl Parked {
    /// The pop to serve this request from `key` with: for a blocked `XREAD`, the read
    /// above that key's id.
    fn op_for<'a>(&self, op: PopOp<'a>, keys: &[&[u8]], key: &[u8]) -> PopOp<'a> {
        match op {
            PopOp::StreamRead { count, .. } => {
                let after = keys
                    .iter()
                    .position(|k| *k == key)
                    .and_then(|i| self.after.get(i).copied());
                match after {
                    Some(after) => PopOp::StreamRead { count, after },
                    None => op,
                }
            }
            other => other,
        }
    }
}

/// A blocked `XREAD`'s resolved ids, kept from a segment that timed out for the request
/// that renews it (see `proxy/src/blocked.rs`), so `$` keeps meaning the last id when the
/// client began to wait, not when the renewal arrived.
struct StreamRenewal {
    since_ms: u64,
    kept_at_ms: u64,
    after: Vec<StreamId>,
}

/// How long a timed-out `XREAD` segment's ids wait for their renewal.
const RENEWAL_KEEP_MS: u64 = 60_000;

/// What the table keeps to order and find a parked entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub db: u8,
    pub keys: Vec<Vec<u8>>,
    pub deadline_ms: u64,
    pub since_ms: u64,
    /// `(proxy, client)`.
    pub waiter: (u64, u64),
}

/// A key in a database.
type DbKey = (u8, Vec<u8>);

/// The index of parked entries of any payload `T` (pure, so it is unit-tested alone).
pub struct Table<T> {
    entries: HashMap<u64, (Ticket, T)>,
    /// Per `(db, key)`: `(since_ms, number)` of its waiters, in serving order.
    by_key: HashMap<DbKey, BTreeSet<(u64, u64)>>,
    by_waiter: HashMap<(u64, u64), u64>,
    deadlines: BTreeSet<(u64, u64)>,
    /// Keys written since they were last served that have waiters, in the order they
    /// became ready.
    ready: VecDeque<(u8, Vec<u8>)>,
    ready_set: HashSet<(u8, Vec<u8>)>,
    next: u64,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            entries: HashMap::new(),
            by_key: HashMap::new(),
            by_waiter: HashMap::new(),
            deadlines: BTreeSet::new(),
            ready: VecDeque::new(),
            ready_set: HashSet::new(),
            next: 1,
        }
    }
}

impl<T> Table<T> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Parks `payload`. A waiter blocks on one request at a time, so an older entry of the
    /// same waiter (a request resent on a new link while its first copy is still parked
    /// here) is dropped and returned.
    pub fn park(&mut self, ticket: Ticket, payload: T) -> Option<T> {
        let old = self
            .by_waiter
            .get(&ticket.waiter)
            .copied()
            .and_then(|n| self.remove(n));
        let n = self.next;
        self.next += 1;
        for key in &ticket.keys {
            self.by_key
                .entry((ticket.db, key.clone()))
                .or_default()
                .insert((ticket.since_ms, n));
        }
        self.by_waiter.insert(ticket.waiter, n);
        if ticket.deadline_ms > 0 {
            self.deadlines.insert((ticket.deadline_ms, n));
        }
        self.entries.insert(n, (ticket, payload));
        old.map(|(_, p)| p)
    }

    /// Removes an entry from every index.
    pub fn remove(&mut self, n: u64) -> Option<(Ticket, T)> {
        let (ticket, payload) = self.entries.remove(&n)?;
        for key in &ticket.keys {
            let k = (ticket.db, key.clone());
            if let Some(set) = self.by_key.get_mut(&k) {
                set.remove(&(ticket.since_ms, n));
                if set.is_empty() {
                    self.by_key.remove(&k);
                }
            }
        }
        if self.by_waiter.get(&ticket.waiter) == Some(&n) {
            self.by_waiter.remove(&ticket.waiter);
        }
        self.deadlines.remove(&(ticket.deadline_ms, n));
        Some((ticket, payload))
    }

    /// Marks the touched keys that have waiters as ready. True if any is ready now.
    pub fn note(&mut self, touched: &Touched) -> bool {
        for k in touched.keys.iter().chain(&touched.ready) {
            if self.by_key.contains_key(k) && self.ready_set.insert(k.clone()) {
                self.ready.push_back(k.clone());
            }
        }
        !self.ready.is_empty()
    }

    /// The next ready key.
    pub fn next_ready(&mut self) -> Option<(u8, Vec<u8>)> {
        let k = self.ready.pop_front()?;
        self.ready_set.remove(&k);
        Some(k)
    }

    /// The keys of `db` that have waiters (SWAPDB checks them all against the new data).
    pub fn keys_of_db(&self, db: u8) -> Vec<Vec<u8>> {
        self.by_key
            .keys()
            .filter(|(d, _)| *d == db)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// The waiters of a key, first to serve first.
    pub fn waiters(&self, db: u8, key: &[u8]) -> Vec<u64> {
        self.by_key
            .get(&(db, key.to_vec()))
            .map(|s| s.iter().map(|&(_, n)| n).collect())
            .unwrap_or_default()
    }

    pub fn get(&self, n: u64) -> Option<&(Ticket, T)> {
        self.entries.get(&n)
    }

    pub fn of_waiter(&self, waiter: (u64, u64)) -> Option<u64> {
        self.by_waiter.get(&waiter).copied()
    }

    /// Entries whose deadline is at or before `now`, removed.
    pub fn take_expired(&mut self, now: u64) -> Vec<(Ticket, T)> {
        let due: Vec<u64> = self
            .deadlines
            .iter()
            .take_while(|&&(d, _)| d <= now)
            .map(|&(_, n)| n)
            .collect();
        due.into_iter().filter_map(|n| self.remove(n)).collect()
    }

    /// Entries `dead` says nobody waits for any more, removed.
    pub fn take_where(&mut self, dead: impl Fn(&T) -> bool) -> Vec<(Ticket, T)> {
        let gone: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, (_, p))| dead(p))
            .map(|(&n, _)| n)
            .collect();
        gone.into_iter().filter_map(|n| self.remove(n)).collect()
    }

    pub fn earliest_deadline(&self) -> Option<u64> {
        self.deadlines.first().map(|&(d, _)| d)
    }
}

/// Wakes the writer for the earliest deadline: a small thread that sends the writer's tick
/// job when it passes. It holds only a weak sender, so it never keeps the writer's queue
/// open, and exits once the writer is gone.
#[derive(Clone)]
pub struct Timer {
    inner: Arc<(Mutex<Option<u64>>, Condvar)>,
}

/// How often an idle timer thread checks that the writer still exists.
const TIMER_IDLE_CHECK: Duration = Duration::from_secs(1);

impl Timer {
    /// Starts the timer thread, which sends `tick()` on `tx` at each deadline.
    ///
    /// # Errors
    /// If the thread cannot be spawned.
    pub fn start<J: Send + 'static>(
        tx: &mpsc::Sender<J>,
        tick: fn() -> J,
    ) -> std::io::Result<Timer> {
        let timer = Timer {
            inner: Arc::new((Mutex::new(None), Condvar::new())),
        };
        let weak = tx.downgrade();
        let inner = timer.inner.clone();
        std::thread::Builder::new()
            .name("storaged-block-timer".into())
            .spawn(move || {
                let (lock, cv) = &*inner;
                let Ok(mut due) = lock.lock() else { return };
                loop {
                    let wait = match *due {
                        Some(at) => {
                            let now = now_ms();
                            if now >= at {
                                *due = None;
                                match weak.upgrade() {
                                    // Full queue: the writer is busy and checks deadlines
                                    // after every group anyway.
                                    Some(tx) => drop(tx.try_send(tick())),
                                    None => return,
                                }
                                continue;
                            }
                            Duration::from_millis(at - now).min(TIMER_IDLE_CHECK)
                        }
                        None => TIMER_IDLE_CHECK,
                    };
                    if weak.upgrade().is_none() {
                        return;
                    }
                    due = match cv.wait_timeout(due, wait) {
                        Ok((g, _)) => g,
                        Err(_) => return,
                    };
                }
            })?;
        Ok(timer)
    }

    fn set(&self, at: Option<u64>) {
        let (lock, cv) = &*self.inner;
        if let Ok(mut due) = lock.lock() {
            *due = at;
            cv.notify_one();
        }
    }
}

/// The writer's blocked-clients state: the table of parked requests and the timer.
pub struct Blocked {
    table: Table<Parked>,
    timer: Timer,
    /// The deadline last handed to the timer, so the plain path takes no lock.
    armed: Option<u64>,
    last_prune_ms: u64,
    /// Per waiter, the ids of its blocked `XREAD` whose segment timed out.
    renewals: HashMap<(u64, u64), StreamRenewal>,
}

/// How often parked requests whose link closed are dropped.
const PRUNE_EVERY_MS: u64 = 1000;

impl Blocked {
    pub fn new(timer: Timer) -> Blocked {
        Blocked {
            table: Table::default(),
            timer,
            armed: None,
            last_prune_ms: 0,
            renewals: HashMap::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Runs a request [`claims`] accepted: an `Unblock`, or a blocking pop that is answered
    /// now (served, remembered, or past its deadline) or parked.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &mut self,
        frame: Frame,
        reply: ReplyTo,
        group: &mut WriteGroup<'_>,
        hub: &Hub,
        now: u64,
        state: &mut DedupState,
        done: &mut Vec<Done>,
    ) {
        let Ok(req) = RequestView::of(&frame) else {
            done.push((0, Answer::Outcomes(Vec::new()), reply));
            return;
        };
        let id = req.id;
        let ticket = match req.commands.first() {
            Some(ArchivedCommand::Unblock {
                proxy,
                client,
                error,
            }) => {
                let waiter = (proxy.to_native(), client.to_native());
                let found = match self
                    .table
                    .of_waiter(waiter)
                    .and_then(|n| self.table.remove(n))
                {
                    Some((_, parked)) if !parked.reply.is_closed() => {
                        let how = if *error {
                            Release::Error
                        } else {
                            Release::Timeout
                        };
                        self.release(parked, how, group, state, done);
                        1
                    }
                    _ => 0,
                };
                done.push((
                    id,
                    Answer::Outcomes(vec![Outcome::Ok(Reply::Integer(found))]),
                    reply,
                ));
                return;
            }
            Some(ArchivedCommand::BlockingPop { keys, wait, .. }) => Ticket {
                db: req.db,
                keys: keys.iter().map(|k| k.to_vec()).collect(),
                deadline_ms: wait.deadline_ms.to_native(),
                since_ms: wait.since_ms.to_native(),
                waiter: (wait.proxy.to_native(), wait.client.to_native()),
            },
            _ => {
                done.push((id, Answer::Outcomes(Vec::new()), reply));
                return;
            }
        };
        if let Some(answer) = dedup::recall(group, &req, now, state) {
            done.push((id, answer, reply));
            return;
        }
        let continues = match req.commands.first() {
            Some(ArchivedCommand::BlockingPop { wait, .. }) => {
                self.continues(wait.renewed, &ticket)
            }
            _ => false,
        };
        // A blocked XREAD's ids: `$` resolved once, when the wait began.
        let after = match req.commands.first() {
            Some(ArchivedCommand::BlockingPop {
                op: ArchivedBlockingOp::StreamRead { ids, .. },
                keys,
                ..
            }) => {
                let renewal = self
                    .renewals
                    .remove(&ticket.waiter)
                    .filter(|r| continues && r.since_ms == ticket.since_ms);
                match renewal {
                    Some(r) => Ok(r.after),
                    None => {
                        let db = group.services().databases().pending().physical(req.db);
                        types::check_db(db).and_then(|db| {
                            let at = At {
                                db,
                                now_ms: now_ms(),
                            };
                            let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
                            types::stream::resolve_ids(&*group, at, &keys, &stream_read_ids(ids))
                        })
                    }
                }
            }
            _ => Ok(Vec::new()),
        };
        let outcome = match (req.commands.first(), &after) {
            (_, Err(e)) => Outcome::Err(e.clone()),
            (Some(ArchivedCommand::BlockingPop { op, keys, .. }), Ok(after)) if continues => {
                let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
                match op {
                    ArchivedBlockingOp::StreamRead { count, .. } => {
                        serve_stream_continued(group, req.db, count.to_native(), &keys, after)
                    }
                    _ => serve_continued(group, req.db, pop_op(op), &keys),
                }
            }
            (Some(cmd), _) => execute_write(group, hub, req.db, cmd),
            (None, _) => return,
        };
        let waits = ticket.deadline_ms == 0 || now < ticket.deadline_ms;
        if is_empty_pop(&outcome) && waits {
            // Keys written later in this group must wake it, so tracking starts now.
            group.track_touched_from_now();
            let after = after.unwrap_or_default();
            self.table.park(
                ticket,
                Parked {
                    frame,
                    reply,
                    after,
                },
            );
            return;
        }
        let answer = dedup::remember(group, &req, vec![outcome], state);
        done.push((id, answer, reply));
    }

    /// Whether a blocking pop continues a wait its client began earlier, so it is served as
    /// a blocked client rather than run afresh: a renewal (`Wait::renewed`, the proxy's
    /// next wait segment), or a resend of a request still parked here (same waiter and
    /// block time: its link closed). A resend to a restarted storaged runs afresh.
    fn continues(&self, renewed: bool, ticket: &Ticket) -> bool {
        renewed
            || self
                .table
                .of_waiter(ticket.waiter)
                .and_then(|n| self.table.get(n))
                .is_some_and(|(parked, _)| parked.since_ms == ticket.since_ms)
    }

    /// The keys of the logical database `db` that clients are blocked on.
    pub fn waiting_keys(&self, db: u8) -> Vec<Vec<u8>> {
        self.table.keys_of_db(db)
    }

    /// Marks touched keys ready; true if some parked request may now be served.
    pub fn note(&mut self, touched: &Touched) -> bool {
        !self.table.is_empty() && self.table.note(touched)
    }

    /// Serves waiters of every ready key, oldest first, each popping from that key alone
    /// (see [`Serving`]: waiters of another type than the key stay parked and are passed
    /// over, a `BLMOVE` into a key of another type is answered `WRONGTYPE`, an empty key
    /// ends the pass, as in Redis 7.0). The keys the pops touch come back through the
    /// caller's one `take_touched`, so a served `BLMOVE` can wake the waiters of its
    /// destination.
    pub fn serve_ready(
        &mut self,
        group: &mut WriteGroup<'_>,
        state: &mut DedupState,
        done: &mut Vec<Done>,
    ) {
        while let Some((db, key)) = self.table.next_ready() {
            for n in self.table.waiters(db, &key) {
                let Some((_, parked)) = self.table.get(n) else {
                    continue;
                };
                if parked.reply.is_closed() {
                    self.table.remove(n);
                    continue;
                }
                let Ok(req) = RequestView::of(&parked.frame) else {
                    self.table.remove(n);
                    continue;
                };
                let Some(ArchivedCommand::BlockingPop { op, keys, .. }) = req.commands.first()
                else {
                    self.table.remove(n);
                    continue;
                };
                // The table is kept by logical database (as Redis's `blocking_keys`, which
                // SWAPDB does not move); the records live under the physical one.
                let at = At {
                    db: group.services().databases().pending().physical(db),
                    now_ms: now_ms(),
                };
                let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
                let op = parked.op_for(pop_op(op), &keys, &key);
                // A group reader served here may create its consumer, which Redis
                // announces (`xgroup-createconsumer`).
                let new_consumer = match op {
                    PopOp::StreamReadGroup {
                        group: g, consumer, ..
                    } => {
                        types::stream::consumer_exists(&*group, at, &key, g, consumer) == Ok(false)
                    }
                    _ => false,
                };
                // A group read changes its group quietly, as when run at once.
                let served = match op {
                    PopOp::StreamReadGroup { .. } => group.quietly(|g| serve_from(g, at, op, &key)),
                    _ => serve_from(group, at, op, &key),
                };
                let outcome = match served {
                    Serving::Answered(outcome) => outcome,
                    Serving::OtherType => continue,
                    Serving::Empty => break,
                };
                if new_consumer && matches!(outcome, Outcome::Ok(Reply::PairMap(_))) {
                    let result = Ok(Reply::NilArray);
                    group.with_notes(|notes, g| {
                        notes.end_command(&result, g, |e, _| {
                            e.push(
                                crate::events::Flags::STREAM,
                                "xgroup-createconsumer",
                                at.db,
                                &key,
                            );
                        });
                    });
                }
                let id = req.id;
                let answer = dedup::remember(group, &req, vec![outcome], state);
                if let Some((_, parked)) = self.table.remove(n) {
                    done.push((id, answer, parked.reply));
                }
            }
        }
    }

    /// Answers parked requests whose deadline has passed with the timeout reply, and drops
    /// those whose link has closed.
    pub fn expire(
        &mut self,
        group: &mut WriteGroup<'_>,
        state: &mut DedupState,
        done: &mut Vec<Done>,
    ) {
        if self.table.is_empty() && self.renewals.is_empty() {
            return;
        }
        let now = now_ms();
        if now >= self.last_prune_ms + PRUNE_EVERY_MS {
            self.last_prune_ms = now;
            self.table.take_where(|p| p.reply.is_closed());
            // Kept ids nobody renewed (a final segment's timeout keeps them too) go after a
            // while, parked requests or not.
            self.renewals
                .retain(|_, r| now < r.kept_at_ms.saturating_add(RENEWAL_KEEP_MS));
        }
        for (ticket, mut parked) in self.table.take_expired(now) {
            if !parked.after.is_empty() {
                // The proxy may renew this wait (a long BLOCK is cut into segments).
                self.renewals.insert(
                    ticket.waiter,
                    StreamRenewal {
                        since_ms: ticket.since_ms,
                        kept_at_ms: now,
                        after: std::mem::take(&mut parked.after),
                    },
                );
            }
            self.release(parked, Release::Timeout, group, state, done);
        }
    }

    /// Points the timer at the earliest deadline left, and publishes how many are parked
    /// (`blocked_requests` in INFO storage).
    pub fn arm(&mut self, stats: &crate::engine::Stats) {
        stats.blocked_requests.store(
            self.table.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        let next = self.table.earliest_deadline();
        if next != self.armed {
            self.armed = next;
            self.timer.set(next);
        }
    }

    /// Answers a parked request without popping, remembering the answer like any other.
    fn release(
        &mut self,
        parked: Parked,
        how: Release,
        group: &mut WriteGroup<'_>,
        state: &mut DedupState,
        done: &mut Vec<Done>,
    ) {
        if parked.reply.is_closed() {
            return;
        }
        let Ok(req) = RequestView::of(&parked.frame) else {
            return;
        };
        let Some(ArchivedCommand::BlockingPop { op, .. }) = req.commands.first() else {
            return;
        };
        let outcome = match how {
            Release::Timeout => Outcome::Ok(pop_op(op).timeout_reply()),
            Release::Error => Outcome::Err(StorageError::Unblocked),
        };
        let id = req.id;
        let answer = dedup::remember(group, &req, vec![outcome], state);
        done.push((id, answer, parked.reply));
    }
}

#[derive(Debug, Clone, Copy)]
enum Release {
    Timeout,
    Error,
}

#[cfg(test)]
mod tests {
    use super::*;
    type TestDb = crate::types::testing::TestDb<crate::engine::Engine>;
    use crate::types::{list, string, zset};
    use tandem_shared::command::{
        BlockingOp, ListEnd, ZAddCompare, ZAddCondition, ZAddOptions, ZEnd,
    };

    fn b(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    /// `string` a string, `list` a list of `[x]`, `zset` a sorted set of `{m: 1}`.
    fn keys_of_each_type() -> TestDb {
        let (dir, engine) = crate::engine::open_temp();
        let mut db = TestDb::with_dir(engine, dir);
        let zadd = ZAddOptions {
            condition: ZAddCondition::Always,
            compare: ZAddCompare::Any,
            changed: false,
            incr: false,
        };
        db.write(|w, at| {
            string::setnx(w, at, b"string", b"v").expect("setnx");
            list::push(
                w,
                at,
                b"list",
                ListEnd::Left,
                [&b"x"[..]].into_iter(),
                false,
            )
            .expect("lpush");
            zset::zadd(w, at, b"zset", zadd, &[(1.0, &b"m"[..])]).expect("zadd");
        });
        db
    }

    fn serve(db: &mut TestDb, op: &BlockingOp, key: &str) -> Serving {
        db.write(|w, at| serve_from(w, at, op.into(), key.as_bytes()))
    }

    fn list_len(db: &mut TestDb, key: &str) -> Outcome {
        match db.read(|s, at| list::llen(s, at, key.as_bytes())) {
            Ok(reply) => Outcome::Ok(reply),
            Err(e) => Outcome::Err(e),
        }
    }

    const LPOP: BlockingOp = BlockingOp::List { end: ListEnd::Left };
    const ZPOP: BlockingOp = BlockingOp::ZSetMulti {
        end: ZEnd::Min,
        count: 1,
    };

    #[test]
    fn a_waiter_of_another_type_is_passed_over_and_an_empty_key_ends_the_pass() {
        let mut db = keys_of_each_type();
        assert!(matches!(serve(&mut db, &ZPOP, "list"), Serving::OtherType));
        assert!(matches!(serve(&mut db, &LPOP, "zset"), Serving::OtherType));
        assert!(matches!(
            serve(&mut db, &LPOP, "string"),
            Serving::OtherType
        ));
        assert!(matches!(serve(&mut db, &LPOP, "missing"), Serving::Empty));
        assert_eq!(list_len(&mut db, "list"), Outcome::Ok(Reply::Integer(1)));
        assert!(matches!(
            serve(&mut db, &LPOP, "list"),
            Serving::Answered(Outcome::Ok(Reply::Array(_)))
        ));
        assert!(matches!(serve(&mut db, &LPOP, "list"), Serving::Empty));
        assert!(matches!(
            serve(&mut db, &ZPOP, "zset"),
            Serving::Answered(Outcome::Ok(Reply::Array(_)))
        ));
    }

    #[test]
    fn a_move_into_another_type_is_wrongtype_and_leaves_the_element() {
        let mut db = keys_of_each_type();
        let into = |dst: &str| BlockingOp::Move {
            dst: b(dst),
            from: ListEnd::Right,
            to: ListEnd::Left,
        };
        for dst in ["string", "zset"] {
            assert!(matches!(
                serve(&mut db, &into(dst), "list"),
                Serving::Answered(Outcome::Err(StorageError::WrongType))
            ));
            assert_eq!(list_len(&mut db, "list"), Outcome::Ok(Reply::Integer(1)));
        }
        assert!(matches!(
            serve(&mut db, &into("string"), "zset"),
            Serving::OtherType
        ));
        assert_eq!(
            serve_outcome(&mut db, &into("dst"), "list"),
            Some(Outcome::Ok(Reply::Bulk(b("x"))))
        );
        assert_eq!(list_len(&mut db, "dst"), Outcome::Ok(Reply::Integer(1)));
    }

    fn serve_outcome(db: &mut TestDb, op: &BlockingOp, key: &str) -> Option<Outcome> {
        match serve(db, op, key) {
            Serving::Answered(outcome) => Some(outcome),
            _ => None,
        }
    }

    #[test]
    fn a_continued_wait_passes_over_keys_of_another_type() {
        let mut db = keys_of_each_type();
        let continued = |db: &mut TestDb, op: &BlockingOp, keys: &[&str]| {
            let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
            db.write(|w, _| serve_continued(w, 0, op.into(), &keys))
        };
        // A first request would be WRONGTYPE at `string`; a continued one waits on.
        assert_eq!(
            continued(&mut db, &LPOP, &["string", "zset", "missing"]),
            Outcome::Ok(Reply::NilArray)
        );
        assert_eq!(
            continued(&mut db, &LPOP, &["string", "zset", "list"]),
            Outcome::Ok(Reply::Array(vec![Reply::bulk(b"list"), Reply::bulk(b"x")]))
        );
        assert_eq!(
            continued(&mut db, &ZPOP, &["string", "list", "zset"]),
            Outcome::Ok(Reply::Array(vec![
                Reply::bulk(b"zset"),
                Reply::Array(vec![Reply::Array(vec![
                    Reply::bulk(b"m"),
                    Reply::Double(1.0)
                ])]),
            ]))
        );
    }

    #[test]
    fn a_blocked_xread_is_served_above_its_id_and_otherwise_passed_over() {
        use tandem_shared::command::{StreamId, XAddId};
        let mut db = keys_of_each_type();
        db.write(|w, at| {
            crate::types::stream::xadd(
                w,
                at,
                b"stream",
                XAddId::Explicit(StreamId { ms: 5, seq: 0 }),
                false,
                None,
                &[(&b"f"[..], &b"v"[..])],
            )
            .map(|_| ())
        })
        .expect("xadd");
        let read = |after: u64| PopOp::StreamRead {
            count: 0,
            after: StreamId { ms: after, seq: 0 },
        };
        let serve = |db: &mut TestDb, op: PopOp<'static>, key: &str| {
            db.write(|w, at| serve_from(w, at, op, key.as_bytes()))
        };
        // Nothing above 5-0: this reader waits on, and the key's other readers still get
        // their turn (not `Empty`, which would end the pass).
        assert!(matches!(
            serve(&mut db, read(5), "stream"),
            Serving::OtherType
        ));
        assert!(matches!(
            serve(&mut db, read(1), "list"),
            Serving::OtherType
        ));
        // A missing key serves no XREAD but ends no pass either: a group reader of the key
        // after this one is answered its error.
        assert!(matches!(
            serve(&mut db, read(1), "missing"),
            Serving::OtherType
        ));
        let Serving::Answered(Outcome::Ok(Reply::PairMap(streams))) =
            serve(&mut db, read(4), "stream")
        else {
            panic!("served");
        };
        assert_eq!(streams.len(), 1);
        // Reading takes nothing: the next reader gets the same entry.
        assert!(matches!(
            serve(&mut db, read(0), "stream"),
            Serving::Answered(Outcome::Ok(Reply::PairMap(_)))
        ));
        assert_eq!(
            db.write(|w, _| serve_stream_continued(
                w,
                0,
                0,
                &[&b"list"[..], &b"stream"[..]],
                &[StreamId::default(), StreamId { ms: 9, seq: 0 }]
            )),
            Outcome::Ok(Reply::NilArray)
        );
    }

    fn ticket(keys: &[&str], since: u64, deadline: u64, client: u64) -> Ticket {
        Ticket {
            db: 0,
            keys: keys.iter().map(|k| k.as_bytes().to_vec()).collect(),
            deadline_ms: deadline,
            since_ms: since,
            waiter: (7, client),
        }
    }

    fn touched(keys: &[&str]) -> Touched {
        Touched {
            keys: keys.iter().map(|k| (0, k.as_bytes().to_vec())).collect(),
            ..Touched::default()
        }
    }

    #[test]
    fn waiters_are_served_by_block_time_then_arrival() {
        let mut t = Table::default();
        t.park(ticket(&["k"], 20, 0, 1), "late");
        t.park(ticket(&["k", "j"], 10, 0, 2), "early");
        t.park(ticket(&["k"], 20, 0, 3), "late-second");
        let order: Vec<&str> = t
            .waiters(0, b"k")
            .into_iter()
            .map(|n| t.get(n).map(|e| e.1).unwrap_or("?"))
            .collect();
        assert_eq!(order, vec!["early", "late", "late-second"]);
        assert!(t.waiters(0, b"x").is_empty());
    }

    #[test]
    fn only_keys_with_waiters_become_ready_once() {
        let mut t = Table::default();
        t.park(ticket(&["a", "b"], 1, 0, 1), ());
        assert!(!t.note(&touched(&["zzz"])));
        assert!(t.note(&touched(&["a"])));
        assert!(t.note(&touched(&["a", "b"])));
        let mut ready = Vec::new();
        while let Some((_, k)) = t.next_ready() {
            ready.push(k);
        }
        ready.sort();
        assert_eq!(ready, vec![b"a".to_vec(), b"b".to_vec()]);
    }

    #[test]
    fn removal_clears_every_index() {
        let mut t = Table::default();
        t.park(ticket(&["a", "b"], 1, 50, 1), ());
        let n = t.of_waiter((7, 1)).expect("parked");
        assert!(t.remove(n).is_some());
        assert!(t.is_empty());
        assert!(t.waiters(0, b"a").is_empty());
        assert_eq!(t.earliest_deadline(), None);
        assert!(!t.note(&touched(&["a"])));
    }

    #[test]
    fn a_waiter_has_one_parked_request() {
        let mut t = Table::default();
        assert_eq!(t.park(ticket(&["a"], 1, 0, 1), "first"), None);
        assert_eq!(t.park(ticket(&["a"], 1, 0, 1), "resent"), Some("first"));
        assert_eq!(t.len(), 1);
        assert_eq!(t.waiters(0, b"a").len(), 1);
    }

    #[test]
    fn deadlines_expire_in_order_and_forever_never_does() {
        let mut t = Table::default();
        t.park(ticket(&["a"], 1, 300, 1), 300);
        t.park(ticket(&["a"], 1, 100, 2), 100);
        t.park(ticket(&["a"], 1, 0, 3), 0);
        assert_eq!(t.earliest_deadline(), Some(100));
        let due: Vec<i32> = t.take_expired(299).into_iter().map(|e| e.1).collect();
        assert_eq!(due, vec![100]);
        let due: Vec<i32> = t.take_expired(u64::MAX).into_iter().map(|e| e.1).collect();
        assert_eq!(due, vec![300]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.earliest_deadline(), None);
    }

    #[test]
    fn dead_entries_are_dropped() {
        let mut t = Table::default();
        t.park(ticket(&["a"], 1, 0, 1), true);
        t.park(ticket(&["a"], 1, 0, 2), false);
        assert_eq!(t.take_where(|dead| *dead).len(), 1);
        assert_eq!(t.len(), 1);
    }
}
