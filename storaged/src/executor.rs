//! Routes each request to where it runs: the one ordered writer thread (`crate::writer`,
//! with group commit), or tokio's blocking pool (capped by `--storage-threads`) for
//! read-only requests. Only light reads (`dispatch::is_light_read`) served entirely from
//! memory run on the socket I/O thread; nothing that may wait for a disk or a write stall
//! does. What a command does is `crate::dispatch`'s; responses go to the link's outbox
//! (`crate::outbox`).
//!
//! Exactly once: keyed requests (see [`crate::dedup`]) always go to the writer, which stores
//! each one's outcomes in the same group as its writes.

use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::BytesMut;
use tandem_commands::CommandFacts;
use tandem_shared::command::ArchivedCommand;
use tandem_shared::wire::{Frame, Outcome};
use tandem_shared::StorageError;
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;

use crate::dispatch;
use crate::engine::{now_ms, Engine, EngineView, StoreRead};
use crate::outbox::{Outbox, ReplyTo};
use crate::pubsub::Hub;
use crate::request::{encode_response, RequestView};
use crate::scripts::{self, ScriptControl};
use crate::writer::{self, WriteJob, WriterConfig};

/// Most commands of a read request answered on the socket thread: a single thread, so
/// pipelines of many reads still go to the read pool, where they run in parallel.
const INLINE_READS_MAX: usize = 64;

/// Runs of a read request through the record cache before it gives up on the cache (each
/// rerun means a group commit overlapped the previous one).
const READ_ATTEMPTS: usize = 3;

/// Runs requests on the storage threads.
pub struct Executor {
    engine: Engine,
    /// Pub/sub routing and keyspace-event flags, shared with every link.
    hub: Arc<Hub>,
    /// `SCRIPT KILL` reaches the writer's running script through this.
    scripts: Arc<ScriptControl>,
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
        hub: Arc<Hub>,
        queue: usize,
        batch_size: usize,
        max_frame: u32,
        window_ms: u64,
    ) -> std::io::Result<Executor> {
        let config = WriterConfig {
            batch_size,
            max_frame,
            window_ms,
        };
        let scripts = Arc::new(ScriptControl::default());
        let (write_tx, writer) =
            writer::start(engine.clone(), hub.clone(), scripts.clone(), queue, config)?;
        Ok(Executor {
            engine,
            hub,
            scripts,
            write_tx,
            writer: Some(writer),
            max_frame,
            window_ms,
            reads_via_writer: false,
            expensive: None,
        })
    }

    /// The pub/sub hub requests of this executor publish to.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
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

    /// Sets `busy-reply-threshold` and the proxies' request deadline (`crate::scripts`:
    /// past either, writes waiting for a running script are answered BUSY).
    #[must_use]
    pub fn with_script_limits(
        self,
        busy_reply_threshold_ms: u64,
        proxy_timeout_ms: u64,
    ) -> Executor {
        self.scripts.set_threshold_ms(busy_reply_threshold_ms);
        self.scripts.set_proxy_timeout_ms(proxy_timeout_ms);
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
        let held = match &self.expensive {
            Some(budget) if need_mib > 0 => {
                let take = need_mib.min(budget.total_mib);
                match budget.permits.clone().acquire_many_owned(take).await {
                    Ok(permit) => Some(permit),
                    Err(_) => return fail(),
                }
            }
            _ => None,
        };
        let (engine, hub) = (self.engine.clone(), self.hub.clone());
        let read = tokio::task::spawn_blocking(move || {
            let answer = read_on(&engine, &hub, &frame, id, max_frame);
            (frame, answer)
        })
        .await;
        drop(held);
        match read {
            Ok((_, Some(answer))) => answer,
            // A PFCOUNT to write back in the same request: the writer runs it all.
            Ok((frame, None)) => self.defer_and_wait(frame, id).await,
            Err(_) => fail(),
        }
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
                tracing::error!(error = %e, "request frame failed validation after the link's check");
                return Route::Answer(encode_response(0, Vec::new(), self.max_frame));
            }
        };
        let (id, db, count) = (req.id, req.db, req.commands.len());
        if let Some(reply) = scripts::kill_request(&self.scripts, &req) {
            return Route::Answer(encode_response(
                id,
                vec![Outcome::Ok(reply)],
                self.max_frame,
            ));
        }
        let read_only_scripts = !self.reads_via_writer && scripts::off_writer(&self.scripts, &req);
        let write =
            !read_only_scripts && (req.key.is_some() || req.commands.iter().any(|c| c.is_write()));
        if db >= tandem_shared::DATABASES {
            return Route::Answer(encode_response(
                id,
                vec![Outcome::Err(StorageError::DbOutOfRange); count],
                self.max_frame,
            ));
        }
        if let Some(busy) = write
            .then(|| scripts::busy_refusal(&self.scripts, &req))
            .flatten()
        {
            let busy = Outcome::Ok(busy);
            return Route::Answer(encode_response(id, vec![busy; count], self.max_frame));
        }
        if write || self.reads_via_writer {
            return Route::Write(id);
        }
        if read_only_scripts {
            return Route::Script(id);
        }
        match self.read_in_memory(frame, id, db) {
            InMemoryRead::Answer(answer) => Route::Answer(answer),
            InMemoryRead::Writer => match self.busy_answer(frame, id) {
                Some(busy) => Route::Answer(busy),
                None => Route::Write(id),
            },
            InMemoryRead::Pool => Route::Read {
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
    /// link's task can wait for it before closing the link.
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
                        // Backpressure for this request only: the link keeps reading,
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
            Route::Script(id) => {
                let executor = self.clone();
                let out = out.clone();
                tasks.spawn_blocking(move || {
                    let outcomes = RequestView::of(&frame).ok().and_then(|req| {
                        scripts::run_off_writer(
                            &executor.engine,
                            &executor.hub,
                            &executor.scripts,
                            &req,
                        )
                    });
                    if let Some(outcomes) = outcomes {
                        out.append_owned(encode_response(id, outcomes, executor.max_frame));
                        out.write_now();
                        return;
                    }
                    // Commits kept overlapping it, or its script is not on disk yet: the
                    // writer runs it, in order with the writes.
                    let job = WriteJob::Request {
                        frame,
                        reply: ReplyTo::Link(out.clone()),
                    };
                    if executor.write_tx.blocking_send(job).is_err() {
                        out.append(&encode_response(id, Vec::new(), executor.max_frame));
                        out.flush();
                    }
                });
                None
            }
            Route::Read { id, .. } => {
                let (engine, hub) = (self.engine.clone(), self.hub.clone());
                let max_frame = self.max_frame;
                let out = out.clone();
                let executor = self.clone();
                tasks.spawn_blocking(move || {
                    let Some(answer) = read_on(&engine, &hub, &frame, id, max_frame) else {
                        // A PFCOUNT to write back: the writer runs the request.
                        if let Some(busy) = executor.busy_answer(&frame, id) {
                            out.append_owned(busy);
                            out.write_now();
                            return;
                        }
                        let job = WriteJob::Request {
                            frame,
                            reply: ReplyTo::Link(out.clone()),
                        };
                        if executor.write_tx.blocking_send(job).is_err() {
                            out.append(&encode_response(id, Vec::new(), max_frame));
                            out.flush();
                        }
                        return;
                    };
                    out.append_owned(answer);
                    // Written from this pool thread: waking the I/O thread to write it
                    // would cost one more thread wake-up on the reply's path.
                    out.write_now();
                });
                None
            }
        }
    }

    /// Executes one validated request frame and returns its encoded response frame; for
    /// requests that may wait indefinitely (parked blocking pops), which a link runs as
    /// their own task so it can abandon them.
    pub async fn execute(&self, frame: Frame) -> BytesMut {
        match self.route(&frame) {
            Route::Answer(answer) => answer,
            Route::Write(id) | Route::Script(id) => self.write_and_wait(frame, id).await,
            Route::Read { id, .. } => {
                let (engine, hub) = (self.engine.clone(), self.hub.clone());
                let max_frame = self.max_frame;
                let read = tokio::task::spawn_blocking(move || {
                    let answer = read_on(&engine, &hub, &frame, id, max_frame);
                    (frame, answer)
                })
                .await;
                match read {
                    Ok((_, Some(answer))) => answer,
                    Ok((frame, None)) => self.defer_and_wait(frame, id).await,
                    Err(_) => encode_response(id, Vec::new(), self.max_frame),
                }
            }
        }
    }

    /// BUSY for every command of a read request handed to the writer after all
    /// (`dispatch::try_read_on`) while a script holds the writer past its threshold, as a
    /// write gets (`scripts::busy_refusal`); `None` to queue it.
    fn busy_answer(&self, frame: &Frame, id: u64) -> Option<BytesMut> {
        let req = RequestView::of(frame).ok()?;
        let busy = Outcome::Ok(scripts::busy_refusal(&self.scripts, &req)?);
        Some(encode_response(
            id,
            vec![busy; req.commands.len()],
            self.max_frame,
        ))
    }

    /// [`Executor::write_and_wait`] for a read request handed to the writer after all,
    /// BUSY while a script holds the writer ([`Executor::busy_answer`]).
    async fn defer_and_wait(&self, frame: Frame, id: u64) -> BytesMut {
        match self.busy_answer(&frame, id) {
            Some(busy) => busy,
            None => self.write_and_wait(frame, id).await,
        }
    }

    /// Queues a request for the writer and waits for its response.
    async fn write_and_wait(&self, frame: Frame, id: u64) -> BytesMut {
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

    /// Answers a request of light reads right here, on the socket thread, if everything it
    /// reads is in memory (memtables, block cache); `None` sends it to the read pool. Saves
    /// the thread hop that dominated the cost of a GET, without ever waiting for a disk on
    /// the thread that serves every link. A read that needs the writer after all
    /// (`dispatch::try_read_on`) sends its whole request there.
    fn read_in_memory(&self, frame: &Frame, id: u64, db: u8) -> InMemoryRead {
        let Ok(req) = RequestView::of(frame) else {
            return InMemoryRead::Pool;
        };
        if req.commands.len() > INLINE_READS_MAX
            || !req.commands.iter().all(dispatch::is_light_read)
        {
            return InMemoryRead::Pool;
        }
        for _ in 0..READ_ATTEMPTS {
            let view = self.engine.cached_read(true);
            let mut outcomes = Vec::with_capacity(req.commands.len());
            for c in req.commands.iter() {
                match dispatch::execute_in_memory(&view, &self.hub, db, c) {
                    dispatch::InMemory::Done(outcome) => outcomes.push(outcome),
                    dispatch::InMemory::Disk => return InMemoryRead::Pool,
                    // Right whatever commit it overlapped: the writer sees them all.
                    dispatch::InMemory::Writer => return InMemoryRead::Writer,
                }
            }
            if view.consistent() {
                return InMemoryRead::Answer(encode_response(id, outcomes, self.max_frame));
            }
        }
        // Commits kept overlapping: the read pool's plain snapshot needs no luck.
        InMemoryRead::Pool
    }

    /// Resolves once the writer has answered every request queued before this call; a
    /// closing link waits for it so the responses it owes reach its outbox first.
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
    /// Scripts that cannot write (`crate::scripts::off_writer`): the read pool, each on
    /// committed state, not queued behind the writer.
    Script(u64),
}

/// What [`Executor::read_in_memory`] made of a read request.
enum InMemoryRead {
    Answer(BytesMut),
    /// Not all in memory (or not light, or commits kept overlapping): the read pool.
    Pool,
    /// A command needs the writer after all (`dispatch::try_read_on`).
    Writer,
}

/// MiB the expensive reads of a request need at once: the largest one's, as a request's
/// commands run one after another. 0 when there is none or none will allocate.
fn expensive_read_mib(engine: &Engine, frame: &Frame) -> u32 {
    let Ok(req) = RequestView::of(frame) else {
        return 0;
    };
    let at = crate::types::At {
        db: engine.services().databases().published().physical(req.db),
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
/// commit overlaps it (a few attempts), else on one plain snapshot. `None` when one of
/// its commands needs the writer after all (`dispatch::try_read_on`): the caller sends
/// the whole request there.
fn read_on(engine: &Engine, hub: &Hub, frame: &Frame, id: u64, max_frame: u32) -> Option<BytesMut> {
    let Ok(req) = RequestView::of(frame) else {
        return Some(encode_response(id, Vec::new(), max_frame));
    };
    let run = |view: &dyn EngineView| -> Option<Vec<Outcome>> {
        req.commands
            .iter()
            .map(|c| dispatch::try_read_on(view, hub, req.db, c))
            .collect()
    };
    for _ in 0..READ_ATTEMPTS {
        let view = engine.cached_read(false);
        let outcomes = run(&view)?;
        if view.consistent() {
            return Some(encode_response(id, outcomes, max_frame));
        }
    }
    // One plain snapshot. Each command maps its database when it runs, so a SWAPDB
    // published meanwhile would pair the new map with the older snapshot: then run again.
    let databases = engine.services().databases();
    let mut outcomes = Vec::new();
    for _ in 0..READ_ATTEMPTS {
        let swaps = databases.generation();
        outcomes = run(&engine.snapshot_read())?;
        if databases.generation() == swaps {
            break;
        }
    }
    Some(encode_response(id, outcomes, max_frame))
}
