//! The writer thread: the one thread that writes, with opportunistic group commit.
//!
//! Group commit: the writer blocks for one job, then takes whatever else is already queued
//! (up to the batch size) without waiting, runs them all against one `WriteGroup` (which
//! sees its own uncommitted writes), commits one WriteBatch with one WAL write, and only
//! then sends the replies and publishes the group's keyspace events. Idle load means
//! batches of one and no added latency. Because only this thread writes, every
//! read-modify-write is atomic per key.
//!
//! Owns the order of a group: requests (through [`watch::execute`]), parked blocking pops
//! ([`parked`]), expiry sweeps and trims of remembered replies; after each command the keys
//! it modified go to the WATCH table and wake parked pops ([`settle_touched`]). Exactly
//! once is `crate::dedup`'s: keyed requests are answered from their remembered reply or
//! have theirs recorded in the same group. Which requests come here is the executor's
//! (`crate::executor`); this module reads no socket.

pub mod parked;
pub mod watch;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

use tandem_shared::wire::{Frame, Outcome};
use tandem_shared::StorageError;
use tokio::sync::{mpsc, oneshot};

use crate::dedup::{self, Answer, DedupState};
use crate::engine::group::{WriteGroup, Writer};
use crate::engine::{now_ms, Engine, StoreRead};
use crate::outbox::{ReplyTo, Woken};
use crate::pubsub::Hub;
use crate::request::{encode_response, RequestView};
use crate::scripts::{ScriptControl, Scripts};
use crate::tracking;
use parked::{Blocked, Done, Timer};
use watch::WatchTable;

/// Keys reclaimed per expiry sweep step.
const RECLAIM_BUDGET: usize = 256;

/// Work for the writer thread.
pub enum WriteJob {
    Request {
        frame: Frame,
        reply: ReplyTo,
    },
    Reclaim,
    /// Forget remembered replies born before this time.
    Trim(u64),
    /// A blocked client's deadline passed ([`parked::Timer`]).
    Tick,
    /// Answered once every job queued before it has been answered.
    Barrier(oneshot::Sender<()>),
}

/// The writer's fixed parameters.
pub struct WriterConfig {
    /// Most jobs in one group.
    pub batch_size: usize,
    /// Largest response frame.
    pub max_frame: u32,
    /// How long replies are remembered (`--request-memory-secs`), in milliseconds.
    pub window_ms: u64,
}

/// Starts the writer thread on a queue of `queue` jobs; it runs until every sender of the
/// returned queue is gone and the jobs already queued are answered.
///
/// # Errors
/// If a thread cannot be spawned.
pub fn start(
    engine: Engine,
    hub: Arc<Hub>,
    scripts: Arc<ScriptControl>,
    queue: usize,
    config: WriterConfig,
) -> std::io::Result<(mpsc::Sender<WriteJob>, JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel(queue.max(1));
    let timer = Timer::start(&tx, || WriteJob::Tick)?;
    let config = WriterConfig {
        batch_size: config.batch_size.max(1),
        ..config
    };
    let handle = std::thread::Builder::new()
        .name("storaged-writer".into())
        .spawn(move || write_loop(engine, hub, scripts, rx, config, Blocked::new(timer)))?;
    Ok((tx, handle))
}

/// The writer's queue, shared with the running script's [`busy_tick`], which takes what
/// waits in it, answers the writes it may refuse `-BUSY` and sets the rest aside, in order,
/// for the loop to take before anything newer.
struct Inbox {
    rx: mpsc::Receiver<WriteJob>,
    aside: VecDeque<WriteJob>,
}

impl Inbox {
    fn next_blocking(&mut self) -> Option<WriteJob> {
        self.aside.pop_front().or_else(|| self.rx.blocking_recv())
    }

    fn try_next(&mut self) -> Option<WriteJob> {
        self.aside.pop_front().or_else(|| self.rx.try_recv().ok())
    }
}

/// What the Lua engine calls while a script runs on this thread: every
/// few milliseconds, the writes waiting behind the script that `crate::scripts` says to
/// refuse (the script ran past `busy-reply-threshold`, or their proxy's deadline is near)
/// are answered `-BUSY` at once, as Redis answers clients while a script is busy; so no
/// script holds a proxy's write past its deadline.
fn busy_tick(
    inbox: Rc<RefCell<Inbox>>,
    control: Arc<ScriptControl>,
    max_frame: u32,
) -> tandem_scripting::BusyTick {
    let mut last = None;
    Box::new(move || {
        if !control.time_to_check_waiting(&mut last) {
            return;
        }
        let Ok(mut inbox) = inbox.try_borrow_mut() else {
            return;
        };
        while let Ok(job) = inbox.rx.try_recv() {
            inbox.aside.push_back(job);
        }
        let mut woken = Woken::default();
        let waiting = std::mem::take(&mut inbox.aside);
        for job in waiting {
            let WriteJob::Request { frame, reply } = job else {
                inbox.aside.push_back(job);
                continue;
            };
            let refusal = RequestView::of(&frame).ok().and_then(|req| {
                let busy = control.waiting_refusal(&req)?;
                Some((req.id, req.commands.len(), busy))
            });
            match refusal {
                Some((id, count, busy)) => {
                    let outcomes = vec![Outcome::Ok(busy); count];
                    reply.deliver(encode_response(id, outcomes, max_frame), &mut woken);
                }
                None => inbox.aside.push_back(WriteJob::Request { frame, reply }),
            }
        }
        woken.flush();
    })
}

fn write_loop(
    engine: Engine,
    hub: Arc<Hub>,
    control: Arc<ScriptControl>,
    rx: mpsc::Receiver<WriteJob>,
    config: WriterConfig,
    mut blocked: Blocked,
) {
    let stats_engine = engine.clone();
    // The Lua state lives on this thread: scripts run inside the group, like any command.
    let mut scripts = match Scripts::start(engine.clone(), Arc::clone(&hub), control.clone()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot create the Lua engine; the writer stops");
            return;
        }
    };
    let inbox = Rc::new(RefCell::new(Inbox {
        rx,
        aside: VecDeque::new(),
    }));
    scripts.set_busy_tick(busy_tick(Rc::clone(&inbox), control, config.max_frame));
    let mut writer = Writer::new(engine);
    let mut jobs = Vec::with_capacity(config.batch_size);
    let mut done = Vec::with_capacity(config.batch_size);
    let mut state = DedupState::new(config.window_ms, config.max_frame, now_ms());
    let mut watches = WatchTable::new();
    let mut woken = Woken::default();
    let mut barriers = Vec::new();
    // Modified keys for client-side caching, while some link tracks (`crate::tracking`).
    let mut inval = tracking::Pending::default();
    // The inbox is borrowed only for each take: a running script's tick borrows it too.
    loop {
        let Some(first) = inbox.borrow_mut().next_blocking() else {
            break;
        };
        jobs.push(first);
        while jobs.len() < config.batch_size {
            let next = inbox.borrow_mut().try_next();
            match next {
                Some(job) => jobs.push(job),
                None => break,
            }
        }
        // Record modified keys only while something needs them (WATCH, blocked clients).
        let tracking_on = inval.begin(&hub.tracking);
        writer.set_track_touched(
            watches.prepare_group(now_ms()) || !blocked.is_empty() || tracking_on,
        );
        writer.set_event_flags(hub.event_flags());
        let mut group = writer.begin();
        let now = now_ms();
        for job in jobs.drain(..) {
            let cause = match job {
                WriteJob::Reclaim => watch::Cause::Expiry,
                _ => watch::Cause::Command,
            };
            match job {
                WriteJob::Request { frame, reply }
                    if RequestView::of(&frame).is_ok_and(|r| parked::claims(&r)) =>
                {
                    let (group, state, done) = (&mut group, &mut state, &mut done);
                    blocked.run(frame, reply, group, &hub, now, state, done);
                }
                WriteJob::Request { frame, reply } => {
                    let (id, answer) = match RequestView::of(&frame) {
                        Ok(req) => {
                            inval.set_origin(tracking::Origin::of(&reply, req.id));
                            let answer = run_request(
                                &mut group,
                                &hub,
                                &req,
                                now,
                                &mut state,
                                &mut watches,
                                &mut scripts,
                                &mut blocked,
                                &mut done,
                                &mut inval,
                            );
                            inval.set_origin(tracking::Origin::default());
                            (req.id, answer)
                        }
                        Err(_) => (0, Answer::Outcomes(Vec::new())),
                    };
                    done.push((id, answer, reply));
                }
                WriteJob::Reclaim => {
                    group.reclaim_expired(RECLAIM_BUDGET);
                }
                WriteJob::Trim(cutoff) => state.trim(&mut group, cutoff),
                WriteJob::Tick => {}
                WriteJob::Barrier(tx) => barriers.push(tx),
            }
            // Modified keys are taken only through `settle_touched` (see
            // `engine::group::Touched`): here for what the job left (a whole EXEC, expiry,
            // a served or parked pop), and after each command inside `run_request`.
            settle_touched(
                &mut group,
                &mut watches,
                cause,
                &mut blocked,
                &mut state,
                &mut done,
                &mut inval,
            );
        }
        blocked.expire(&mut group, &mut state, &mut done);
        // Keyspace events go out only for a group that committed, before its replies.
        let notifications = group.take_notifications();
        let committed = group.commit();
        // A committed SWAPDB's map becomes the readers' before anything of the group is
        // announced; a failed group's swaps are forgotten.
        let databases = stats_engine.services().databases();
        databases.settle(committed.is_ok());
        if committed.is_ok() {
            notifications.publish(&hub, databases.published());
            // Invalidations go out after the commit and before the group's replies.
            hub.tracking.deliver(&mut inval);
        } else {
            inval.discard();
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
                    encode_response(id, outcomes, config.max_frame)
                }
                (Ok(()), Answer::Encoded(frame, _)) => frame,
                (Err(e), answer) => {
                    let failed = Outcome::Err(StorageError::Internal(e.to_string()));
                    encode_response(id, vec![failed; answer.count()], config.max_frame)
                }
            };
            reply.deliver(frame, &mut woken);
        }
        // Every reply goes to the links' I/O threads: this thread bounds write throughput.
        // Writing a small group's replies from here (a lone client's, to spare it one
        // wake-up) delayed the next group and cost SET P16 5-20 %, with no measurable gain
        // for one client (docs/BENCHMARKS.md, "Seventh session, end").
        woken.flush();
        for barrier in barriers.drain(..) {
            let _ = barrier.send(());
        }
        blocked.arm(stats);
    }
}

/// Runs one request in the group; a keyed one is answered from its remembered reply if it
/// ran before, and otherwise has its encoded reply recorded in the same group.
#[allow(clippy::too_many_arguments)]
fn run_request(
    group: &mut WriteGroup<'_>,
    hub: &Hub,
    req: &RequestView<'_>,
    now: u64,
    state: &mut DedupState,
    watches: &mut WatchTable,
    scripts: &mut Scripts,
    blocked: &mut Blocked,
    done: &mut Vec<Done>,
    inval: &mut tracking::Pending,
) -> Answer {
    if let Some(answer) = dedup::recall(group, req, now, state) {
        return answer;
    }
    let outcomes = watch::execute(
        group,
        hub,
        watches,
        scripts,
        req.db,
        req.commands,
        &mut |group, watches| {
            settle_touched(
                group,
                watches,
                watch::Cause::Command,
                blocked,
                state,
                done,
                inval,
            )
        },
    );
    dedup::remember(group, req, outcomes, state)
}

/// Hands the keys modified since the last call to the WATCH table and the blocked-clients
/// table, and serves waiters of keys that became ready. Served waiters write too (a served
/// BLMOVE may wake the waiters of its destination), so their keys come round again.
/// Called after each command of a request (after the whole of an EXEC), as Redis serves
/// blocked clients, and after each job. The keys then go to client-side caching's notes
/// (`crate::tracking`), which send them once the group has committed.
fn settle_touched(
    group: &mut WriteGroup<'_>,
    watches: &mut WatchTable,
    cause: watch::Cause,
    blocked: &mut Blocked,
    state: &mut DedupState,
    done: &mut Vec<Done>,
    inval: &mut tracking::Pending,
) {
    // Named by logical database, as the tables clients wait on are (`crate::databases`).
    let (mut touched, swapped) = crate::databases::take_touched(group);
    if !group.tracks_touched() {
        return;
    }
    for &(a, b) in &swapped {
        // Redis's dbSwapDatabases: watched keys that exist in either database change, and
        // clients blocked on keys of either database are checked against the new data.
        watches.swap_dbs(&*group, a, b);
        for db in [a, b] {
            for key in blocked.waiting_keys(db) {
                touched.ready.insert((db, key));
            }
        }
    }
    loop {
        watches.note(&touched, &*group, cause);
        let ready = blocked.note(&touched);
        let flushed = !touched.flushed.is_empty();
        inval.note(touched.keys.into_iter().map(|(_, k)| k), flushed);
        if !ready {
            break;
        }
        blocked.serve_ready(group, state, done);
        touched = crate::databases::take_touched(group).0;
    }
}
