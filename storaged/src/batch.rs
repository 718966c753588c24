//! Where requests execute: one ordered writer thread with opportunistic group commit, and
//! tokio's blocking pool (capped by `--storage-threads`) for read-only requests. Only light
//! reads served entirely from memory run on the socket I/O thread; nothing that may wait
//! for a disk or a write stall does. Responses go to the link's outbox (`crate::reply`).
//!
//! Group commit: the writer blocks for one request, then takes whatever else is already
//! queued (up to the batch size) without waiting, runs them all against one `WriteGroup`
//! (which sees its own uncommitted writes), commits one WriteBatch with one WAL write, and
//! only then sends the replies. Idle load means batches of one and no added latency. Because
//! only this thread writes, every read-modify-write is atomic per key.
//!
//! Exactly once: keyed requests (see [`crate::dedup`]) always go to the writer, which stores
//! each one's outcomes in the same group as its writes. A first attempt cannot have a
//! record, so the writer looks records up only for resends — and, for the memory window
//! after any resend, for every keyed request, because the first attempt of a request may
//! still be queued behind its own resend (the proxy resends when *it* sees a link die).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::BytesMut;
use tandem_commands::CommandFacts;
use rkyv::vec::ArchivedVec;
use tandem_shared::command::ArchivedCommand;
use tandem_shared::wire::{
    self, Frame, FrameError, FrameKind, KeyedRequest, Outcome, Request, RequestKey, Response,
};
use tandem_shared::StorageError;
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;

use crate::blocking::{self, Blocked};
use crate::dedup;
use crate::engine::{now_ms, Cf, Engine, StoreRead, StoreWrite};
use crate::executor::{self, Writer};
use crate::reply::{Outbox, ReplyTo, Woken};
use crate::watch::{self, WatchTable};

/// Most commands of a read request answered on the socket thread: a single thread, so
/// pipelines of many reads still go to the read pool, where they run in parallel.
const INLINE_READS_MAX: usize = 64;

/// Runs of a read request through the record cache before it gives up on the cache (each
/// rerun means a group commit overlapped the previous one).
const READ_ATTEMPTS: usize = 3;

/// Keys reclaimed per expiry sweep step.
const RECLAIM_BUDGET: usize = 256;

pub(crate) enum WriteJob {
    Request {
        frame: Frame,
        reply: ReplyTo,
    },
    Reclaim,
    /// Forget remembered replies born before this time.
    Trim(u64),
    /// A blocked client's deadline passed (`crate::blocking::Timer`).
    Tick,
    /// Answered once every job queued before it has been answered.
    Barrier(oneshot::Sender<()>),
}

/// A validated request frame of either kind.
pub struct RequestView<'a> {
    pub id: u64,
    pub db: u8,
    pub key: Option<RequestKey>,
    pub attempt: u32,
    pub commands: &'a ArchivedVec<ArchivedCommand>,
}

impl RequestView<'_> {
    /// Validates a `Request` or `KeyedRequest` frame.
    ///
    /// # Errors
    /// `UnexpectedKind` for any other kind, `Invalid` for a bad archive.
    pub fn of(frame: &Frame) -> Result<RequestView<'_>, FrameError> {
        if frame.kind == FrameKind::KeyedRequest {
            let r = frame.access::<KeyedRequest>()?;
            Ok(RequestView {
                id: r.id.to_native(),
                db: r.db,
                key: Some(dedup::native_key(&r.key)),
                attempt: r.attempt.to_native(),
                commands: &r.commands,
            })
        } else {
            let r = frame.access::<Request>()?;
            Ok(RequestView {
                id: r.id.to_native(),
                db: r.db,
                key: None,
                attempt: 0,
                commands: &r.commands,
            })
        }
    }
}

/// Runs requests on the storage threads.
pub struct Executor {
    engine: Engine,
    write_tx: mpsc::Sender<WriteJob>,
    writer: Option<JoinHandle<()>>,
    max_frame: u32,
    window_ms: u64,
    /// Benchmark comparison only: send read-only requests through the writer queue too,
    /// so reads wait behind stalled writes as they would with one shared path.
    reads_via_writer: bool,
    /// Memory of expensive reads across the read pool (`None`: unbounded).
    expensive: Option<ReadBudget>,
}

/// The MiB expensive reads (LCS tables) may hold at once, as semaphore permits: a read
/// waits for its share asynchronously, before it takes a thread of the read pool, so
/// waiting reads hold neither memory nor threads (16 concurrent LCS of ~512 MiB used +2 GB
/// and timed out half of them; Redis runs them one at a time).
struct ReadBudget {
    permits: Arc<tokio::sync::Semaphore>,
    total_mib: u32,
}

impl Executor {
    /// Starts the writer thread.
    ///
    /// # Errors
    /// If the thread cannot be spawned.
    pub fn start(
        engine: Engine,
        queue: usize,
        batch_size: usize,
        max_frame: u32,
        window_ms: u64,
    ) -> std::io::Result<Executor> {
        let (write_tx, write_rx) = mpsc::channel(queue.max(1));
        let ctx = WriterCtx {
            batch_size: batch_size.max(1),
            max_frame,
            window_ms,
        };
        let writer_engine = engine.clone();
        let timer = blocking::Timer::start(&write_tx)?;
        let writer = std::thread::Builder::new()
            .name("storaged-writer".into())
            .spawn(move || write_loop(writer_engine, write_rx, ctx, Blocked::new(timer)))?;
        Ok(Executor {
            engine,
            write_tx,
            writer: Some(writer),
            max_frame,
            window_ms,
            reads_via_writer: false,
            expensive: None,
        })
    }

    /// Routes read-only requests through the writer queue as well (`--reads-via-writer`),
    /// the shared-path configuration the stall benchmark compares against.
    #[must_use]
    pub fn with_reads_via_writer(mut self, on: bool) -> Executor {
        self.reads_via_writer = on;
        self
    }

    /// Bounds the memory expensive reads hold at once to `mib` MiB (0: no bound).
    pub fn with_expensive_read_budget(mut self, mib: u32) -> Executor {
        self.expensive = (mib > 0).then(|| ReadBudget {
            permits: Arc::new(tokio::sync::Semaphore::new(mib as usize)),
            total_mib: mib,
        });
        self
    }

    /// Runs a read request holding an expensive read: sizes it from metadata on the read
    /// pool, waits here for that many MiB of the budget, then runs it on the pool.
    async fn read_expensive(self: Arc<Self>, frame: Frame, id: u64) -> BytesMut {
        let max_frame = self.max_frame;
        let fail = move || encode_response(id, Vec::new(), max_frame);
        let engine = self.engine.clone();
        let Ok((frame, need_mib)) = tokio::task::spawn_blocking(move || {
            let need = expensive_read_mib(&engine, &frame);
            (frame, need)
        })
        .await
        else {
            return fail();
        };
        let _held = match &self.expensive {
            Some(budget) if need_mib > 0 => {
                let take = need_mib.min(budget.total_mib);
                match budget.permits.clone().acquire_many_owned(take).await {
                    Ok(permit) => Some(permit),
                    Err(_) => return fail(),
                }
            }
            _ => None,
        };
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || read_on(&engine, &frame, id, max_frame))
            .await
            .unwrap_or_else(|_| fail())
    }

    /// Asks the writer to forget remembered replies older than the window; skipped if the
    /// writer is busy (the next call catches up).
    pub fn trim_remembered(&self) {
        let cutoff = now_ms().saturating_sub(self.window_ms);
        let _ = self.write_tx.try_send(WriteJob::Trim(cutoff));
    }

    /// Decides where a validated request frame runs, answering it at once when it can.
    fn route(&self, frame: &Frame) -> Route {
        let req = match RequestView::of(frame) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "request frame failed validation after session check");
                return Route::Answer(encode_response(0, Vec::new(), self.max_frame));
            }
        };
        let (id, db, count) = (req.id, req.db, req.commands.len());
        let write = req.key.is_some() || req.commands.iter().any(|c| c.is_write());
        if db >= tandem_shared::DATABASES {
            return Route::Answer(encode_response(
                id,
                vec![Outcome::Err(StorageError::DbOutOfRange); count],
                self.max_frame,
            ));
        }
        if write || self.reads_via_writer {
            return Route::Write(id);
        }
        match self.read_in_memory(frame, id, db) {
            Some(answer) => Route::Answer(answer),
            None => Route::Read {
                id,
                expensive: self.expensive.is_some()
                    && req
                        .commands
                        .iter()
                        .any(|c| matches!(c, ArchivedCommand::Lcs { .. })),
            },
        }
    }

    /// Starts one validated request frame whose response goes to the link's `out`.
    /// Returns the response when it was answered right here (the caller appends it and
    /// flushes once per batch of frames); otherwise the writer or the read pool appends it
    /// and wakes `out` itself. Work that must wait runs as a task of `tasks`, so the
    /// session can wait for it before closing the link.
    pub fn submit(
        self: &Arc<Self>,
        frame: Frame,
        out: &Arc<Outbox>,
        tasks: &TaskTracker,
    ) -> Option<BytesMut> {
        match self.route(&frame) {
            Route::Answer(answer) => Some(answer),
            Route::Write(id) => {
                let job = WriteJob::Request {
                    frame,
                    reply: ReplyTo::Link(out.clone()),
                };
                match self.write_tx.try_send(job) {
                    Ok(()) => None,
                    Err(mpsc::error::TrySendError::Full(job)) => {
                        // Backpressure for this request only: the session keeps reading,
                        // so reads on the link are not held behind a stalled writer.
                        let executor = self.clone();
                        let out = out.clone();
                        tasks.spawn(async move {
                            if executor.write_tx.send(job).await.is_err() {
                                out.append(&encode_response(id, Vec::new(), executor.max_frame));
                                out.flush();
                            }
                        });
                        None
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        Some(encode_response(id, Vec::new(), self.max_frame))
                    }
                }
            }
            Route::Read {
                id,
                expensive: true,
            } => {
                let out = out.clone();
                let executor = self.clone();
                tasks.spawn(async move {
                    out.append_owned(executor.read_expensive(frame, id).await);
                    out.flush();
                });
                None
            }
            Route::Read { id, .. } => {
                let engine = self.engine.clone();
                let max_frame = self.max_frame;
                let out = out.clone();
                tasks.spawn_blocking(move || {
                    out.append_owned(read_on(&engine, &frame, id, max_frame));
                    out.flush();
                });
                None
            }
        }
    }

    /// Executes one validated request frame and returns its encoded response frame; for
    /// requests that may wait indefinitely (parked blocking pops), which a session runs as
    /// their own task so it can abandon them.
    pub async fn execute(&self, frame: Frame) -> BytesMut {
        match self.route(&frame) {
            Route::Answer(answer) => answer,
            Route::Write(id) => {
                let (reply, rx) = oneshot::channel();
                let job = WriteJob::Request {
                    frame,
                    reply: ReplyTo::Once(reply),
                };
                if self.write_tx.send(job).await.is_err() {
                    return encode_response(id, Vec::new(), self.max_frame);
                }
                rx.await
                    .unwrap_or_else(|_| encode_response(id, Vec::new(), self.max_frame))
            }
            Route::Read { id, .. } => {
                let engine = self.engine.clone();
                let max_frame = self.max_frame;
                tokio::task::spawn_blocking(move || read_on(&engine, &frame, id, max_frame))
                    .await
                    .unwrap_or_else(|_| encode_response(id, Vec::new(), self.max_frame))
            }
        }
    }

    /// Answers a request of light reads right here, on the socket thread, if everything it
    /// reads is in memory (memtables, block cache); `None` sends it to the read pool. Saves
    /// the thread hop that dominated the cost of a GET, without ever waiting for a disk on
    /// the thread that serves every link.
    fn read_in_memory(&self, frame: &Frame, id: u64, db: u8) -> Option<BytesMut> {
        let req = RequestView::of(frame).ok()?;
        if req.commands.len() > INLINE_READS_MAX
            || !req.commands.iter().all(executor::is_light_read)
        {
            return None;
        }
        for _ in 0..READ_ATTEMPTS {
            let view = self.engine.cached_read(true);
            let mut outcomes = Vec::with_capacity(req.commands.len());
            for c in req.commands.iter() {
                outcomes.push(executor::execute_in_memory(&view, db, c)?);
            }
            if view.consistent() {
                return Some(encode_response(id, outcomes, self.max_frame));
            }
        }
        // Commits kept overlapping: the read pool's plain snapshot needs no luck.
        None
    }

    /// Resolves once the writer has answered every request queued before this call; a
    /// closing session waits for it so the responses it owes reach its outbox first.
    pub async fn settled(&self) {
        let (tx, rx) = oneshot::channel();
        if self.write_tx.send(WriteJob::Barrier(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Asks the writer to reclaim a few expired keys; skipped if the writer is busy.
    pub fn reclaim_expired(&self) {
        let _ = self.write_tx.try_send(WriteJob::Reclaim);
    }

    /// Stops the writer after it has finished every queued request.
    pub fn stop(mut self) {
        let (tx, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.write_tx, tx));
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
    }
}

/// Where a request runs.
enum Route {
    /// Answered already (in-memory read, bad database, invalid frame).
    Answer(BytesMut),
    /// May write: the writer thread, in arrival order.
    Write(u64),
    /// Reads that may touch the disk: the read pool; `expensive` ones (LCS) first wait for
    /// their share of the read-memory budget.
    Read { id: u64, expensive: bool },
}

/// MiB the expensive reads of a request need at once: the largest one's, as a request's
/// commands run one after another. 0 when there is none or none will allocate.
fn expensive_read_mib(engine: &Engine, frame: &Frame) -> u32 {
    let Ok(req) = RequestView::of(frame) else {
        return 0;
    };
    let at = crate::types::At {
        db: req.db,
        now_ms: now_ms(),
    };
    let view = engine.cached_read(false);
    let bytes = req
        .commands
        .iter()
        .filter_map(|c| match c {
            ArchivedCommand::Lcs { key1, key2, .. } => Some(crate::types::string::lcs_memory(
                &view,
                at,
                key1.as_slice(),
                key2.as_slice(),
            )),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    u32::try_from(bytes.div_ceil(1 << 20)).unwrap_or(u32::MAX)
}

/// Runs a read-only request on one committed state: through the record cache while no
/// commit overlaps it (a few attempts), else on one plain snapshot.
fn read_on(engine: &Engine, frame: &Frame, id: u64, max_frame: u32) -> BytesMut {
    let Ok(req) = RequestView::of(frame) else {
        return encode_response(id, Vec::new(), max_frame);
    };
    let run = |view: &dyn StoreRead| -> Vec<Outcome> {
        req.commands
            .iter()
            .map(|c| executor::execute_read_on(view, req.db, c))
            .collect()
    };
    for _ in 0..READ_ATTEMPTS {
        let view = engine.cached_read(false);
        let outcomes = run(&view);
        if view.consistent() {
            return encode_response(id, outcomes, max_frame);
        }
    }
    encode_response(id, run(&engine.snapshot_read()), max_frame)
}

/// Encodes a response; a reply too large for a frame becomes an error per command. An
/// empty `outcomes` for a non-empty request is answered by the proxy as "too few replies".
fn encode_response(id: u64, outcomes: Vec<Outcome>, max_frame: u32) -> BytesMut {
    let mut out = BytesMut::new();
    let count = outcomes.len();
    if let Err(e) = wire::encode(&Response { id, outcomes }, max_frame, &mut out) {
        tracing::warn!(error = %e, "response does not fit in a frame");
        out.clear();
        let outcomes =
            vec![Outcome::Err(StorageError::Internal(format!("reply too large: {e}"))); count];
        if wire::encode(&Response { id, outcomes }, max_frame, &mut out).is_err() {
            out.clear();
        }
    }
    out
}

/// The writer thread's fixed parameters.
pub(crate) struct WriterCtx {
    batch_size: usize,
    max_frame: u32,
    window_ms: u64,
}

/// What the writer remembers between groups about remembered replies.
pub(crate) struct DedupState {
    /// Until this time every keyed request is checked against remembered replies (set for
    /// one window after each resend; see the module docs).
    check_all_until_ms: u64,
    /// Newest `born_ms` recorded (at startup: assume records up to a window from now).
    /// A trim is skipped when nothing can be left to trim, so an idle storaged writes no
    /// range tombstones.
    newest_recorded: u64,
    /// Everything born before this has been trimmed.
    trimmed_to: u64,
}

fn write_loop(
    engine: Engine,
    mut rx: mpsc::Receiver<WriteJob>,
    ctx: WriterCtx,
    mut blocked: Blocked,
) {
    let stats_engine = engine.clone();
    let mut writer = Writer::new(engine);
    let mut jobs = Vec::with_capacity(ctx.batch_size);
    let mut done = Vec::with_capacity(ctx.batch_size);
    let mut state = DedupState {
        check_all_until_ms: 0,
        newest_recorded: now_ms().saturating_add(ctx.window_ms),
        trimmed_to: 0,
    };
    let mut watches = WatchTable::new();
    let mut woken = Woken::default();
    let mut barriers = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        jobs.push(first);
        while jobs.len() < ctx.batch_size {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        // Record modified keys only while something needs them (WATCH, blocked clients).
        writer.set_track_touched(watches.prepare_group(now_ms()) || !blocked.is_empty());
        let mut group = writer.begin();
        let now = now_ms();
        for job in jobs.drain(..) {
            let cause = match job {
                WriteJob::Reclaim => watch::Cause::Expiry,
                _ => watch::Cause::Command,
            };
            match job {
                WriteJob::Request { frame, reply }
                    if RequestView::of(&frame).is_ok_and(|r| blocking::claims(&r)) =>
                {
                    let (group, state, done) = (&mut group, &mut state, &mut done);
                    blocked.run(frame, reply, group, now, &ctx, state, done);
                }
                WriteJob::Request { frame, reply } => {
                    let (id, answer) = match RequestView::of(&frame) {
                        Ok(req) => (
                            req.id,
                            run_request(
                                &mut group,
                                &req,
                                now,
                                &ctx,
                                &mut state,
                                &mut watches,
                                &mut blocked,
                                &mut done,
                            ),
                        ),
                        Err(_) => (0, Answer::Outcomes(Vec::new())),
                    };
                    done.push((id, answer, reply));
                }
                WriteJob::Reclaim => {
                    group.reclaim_expired(RECLAIM_BUDGET);
                }
                WriteJob::Trim(cutoff) => {
                    if cutoff > state.trimmed_to && state.newest_recorded >= state.trimmed_to {
                        group.delete_range(Cf::Reqs, Vec::new(), dedup::born_before(cutoff));
                        state.trimmed_to = cutoff;
                    }
                }
                WriteJob::Tick => {}
                WriteJob::Barrier(tx) => barriers.push(tx),
            }
            // Modified keys are taken only through `settle_touched` (see
            // `executor::Touched`): here for what the job left (a whole EXEC, expiry,
            // a served or parked pop), and after each command inside `run_request`.
            settle_touched(
                &mut group,
                &mut watches,
                cause,
                &mut blocked,
                &ctx,
                &mut state,
                &mut done,
            );
        }
        blocked.expire(&mut group, &ctx, &mut state, &mut done);
        // Keyspace events go out only for a group that committed, before its replies.
        let notifications = group.take_notifications();
        let committed = group.commit();
        if committed.is_ok() {
            notifications.publish();
        }
        let stats = stats_engine.stats();
        stats.write_groups.fetch_add(1, Ordering::Relaxed);
        stats
            .write_requests
            .fetch_add(done.len() as u64, Ordering::Relaxed);
        if let Err(e) = &committed {
            tracing::error!(error = %e, "group commit failed; failing its requests");
        }
        for (id, answer, reply) in done.drain(..) {
            let frame = match (&committed, answer) {
                (Ok(()), Answer::Outcomes(outcomes)) => {
                    encode_response(id, outcomes, ctx.max_frame)
                }
                (Ok(()), Answer::Encoded(frame, _)) => frame,
                (Err(e), answer) => {
                    let failed = Outcome::Err(StorageError::Internal(e.to_string()));
                    encode_response(id, vec![failed; answer.count()], ctx.max_frame)
                }
            };
            reply.deliver(frame, &mut woken);
        }
        woken.flush();
        for barrier in barriers.drain(..) {
            let _ = barrier.send(());
        }
        blocked.arm(stats);
    }
}

/// A request's result inside a group, before the commit.
pub(crate) enum Answer {
    /// To be encoded after the commit.
    Outcomes(Vec<Outcome>),
    /// Encoded already because it is also remembered; the count is for a failed commit.
    Encoded(BytesMut, usize),
}

impl Answer {
    fn count(&self) -> usize {
        match self {
            Answer::Outcomes(o) => o.len(),
            Answer::Encoded(_, n) => *n,
        }
    }
}

/// Runs one request in the group; a keyed one is answered from its remembered reply if it
/// ran before, and otherwise has its encoded reply recorded in the same group.
#[allow(clippy::too_many_arguments)]
fn run_request(
    group: &mut crate::executor::WriteGroup<'_>,
    req: &RequestView<'_>,
    now: u64,
    ctx: &WriterCtx,
    state: &mut DedupState,
    watches: &mut WatchTable,
    blocked: &mut Blocked,
    done: &mut Vec<blocking::Done>,
) -> Answer {
    if let Some(answer) = recall(group, req, now, ctx, state) {
        return answer;
    }
    let outcomes = watch::execute(
        group,
        watches,
        req.db,
        req.commands,
        &mut |group, watches| {
            settle_touched(
                group,
                watches,
                watch::Cause::Command,
                blocked,
                ctx,
                state,
                done,
            )
        },
    );
    remember(group, req, outcomes, ctx, state)
}

/// Hands the keys modified since the last call to the WATCH table and the blocked-clients
/// table, and serves waiters of keys that became ready. Served waiters write too (a served
/// BLMOVE may wake the waiters of its destination), so their keys come round again.
/// Called after each command of a request (after the whole of an EXEC), as Redis serves
/// blocked clients, and after each job.
fn settle_touched(
    group: &mut crate::executor::WriteGroup<'_>,
    watches: &mut WatchTable,
    cause: watch::Cause,
    blocked: &mut Blocked,
    ctx: &WriterCtx,
    state: &mut DedupState,
    done: &mut Vec<blocking::Done>,
) {
    if !group.tracks_touched() {
        return;
    }
    let mut touched = group.take_touched();
    loop {
        watches.note(&touched, &*group, cause);
        if !blocked.note(&touched) {
            break;
        }
        blocked.serve_ready(group, ctx, state, done);
        touched = group.take_touched();
    }
}

/// For a keyed request: the answer it must get without running — its remembered reply, or
/// an explicit "outcome unknown" when it is too old to be checked — or `None` to run it.
pub(crate) fn recall(
    group: &mut crate::executor::WriteGroup<'_>,
    req: &RequestView<'_>,
    now: u64,
    ctx: &WriterCtx,
    state: &mut DedupState,
) -> Option<Answer> {
    let count = req.commands.len();
    let key = req.key?;
    if dedup::expired(&key, now, ctx.window_ms) {
        let stats = group.engine().stats();
        stats.requests_refused_stale.fetch_add(1, Ordering::Relaxed);
        let why = "the request is older than storaged's request memory";
        return Some(Answer::Outcomes(dedup::unknown(count, why)));
    }
    let record = dedup::record_key(&key);
    if req.attempt > 0 {
        state.check_all_until_ms = now.saturating_add(ctx.window_ms);
    }
    if req.attempt > 0 || now < state.check_all_until_ms {
        match group.get(Cf::Reqs, &record) {
            Ok(Some(stored)) => {
                let stats = group.engine().stats();
                stats.requests_replayed.fetch_add(1, Ordering::Relaxed);
                return Some(Answer::Outcomes(dedup::decode(&stored, count)));
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "cannot read remembered replies");
                let why = "storaged cannot read its request memory";
                return Some(Answer::Outcomes(dedup::unknown(count, why)));
            }
        }
    }
    None
}

/// Encodes a request's outcomes and, for a keyed request, remembers them in the group.
pub(crate) fn remember(
    group: &mut crate::executor::WriteGroup<'_>,
    req: &RequestView<'_>,
    outcomes: Vec<Outcome>,
    ctx: &WriterCtx,
    state: &mut DedupState,
) -> Answer {
    let count = outcomes.len();
    let Some(key) = req.key else {
        return Answer::Outcomes(outcomes);
    };
    let record = dedup::record_key(&key);
    // Serialized once: the same bytes go to the proxy and into the record.
    let frame = encode_response(req.id, outcomes, ctx.max_frame);
    group.put(Cf::Reqs, record, dedup::remember(&frame));
    state.newest_recorded = state.newest_recorded.max(key.born_ms);
    state.trimmed_to = state.trimmed_to.min(key.born_ms);
    Answer::Encoded(frame, count)
}
