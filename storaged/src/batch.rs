//! Where requests execute: one ordered writer thread with opportunistic group commit, and
//! tokio's blocking pool (capped by `--storage-threads`) for read-only requests. Never runs
//! on the socket I/O threads.
//!
//! Group commit: the writer blocks for one request, then takes whatever else is already
//! queued (up to the batch size) without waiting, runs them all against one `WriteGroup`
//! (which sees its own uncommitted writes), commits one WriteBatch with one WAL write, and
//! only then sends the replies. Idle load means batches of one and no added latency. Because
//! only this thread writes, every read-modify-write is atomic per key.

use std::thread::JoinHandle;

use bytes::BytesMut;
use tandem_shared::wire::{self, Frame, Outcome, Request, Response};
use tandem_shared::StorageError;
use tokio::sync::{mpsc, oneshot};

use crate::engine::Engine;
use crate::executor::{self, Writer};

/// Keys reclaimed per expiry sweep step.
const RECLAIM_BUDGET: usize = 256;

enum WriteJob {
    Request {
        frame: Frame,
        reply: oneshot::Sender<BytesMut>,
    },
    Reclaim,
}

/// Runs requests on the storage threads.
pub struct Executor {
    engine: Engine,
    write_tx: mpsc::Sender<WriteJob>,
    writer: Option<JoinHandle<()>>,
    max_frame: u32,
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
    ) -> std::io::Result<Executor> {
        let (write_tx, write_rx) = mpsc::channel(queue.max(1));
        let writer_engine = engine.clone();
        let writer = std::thread::Builder::new()
            .name("storaged-writer".into())
            .spawn(move || write_loop(writer_engine, write_rx, batch_size.max(1), max_frame))?;
        Ok(Executor {
            engine,
            write_tx,
            writer: Some(writer),
            max_frame,
        })
    }

    /// Executes one validated request frame and returns its encoded response frame.
    ///
    /// Read-only requests run on the blocking pool; anything that may write goes to the
    /// writer, in arrival order.
    pub async fn execute(&self, frame: Frame) -> BytesMut {
        let (id, db, write) = match frame.access::<Request>() {
            Ok(r) => (
                r.id.to_native(),
                r.db,
                r.commands.iter().any(|c| c.is_write()),
            ),
            Err(e) => {
                tracing::error!(error = %e, "request frame failed validation after session check");
                return encode_response(0, Vec::new(), self.max_frame);
            }
        };
        if db >= tandem_shared::DATABASES {
            let count = frame
                .access::<Request>()
                .map(|r| r.commands.len())
                .unwrap_or(0);
            return encode_response(
                id,
                vec![Outcome::Err(StorageError::DbOutOfRange); count],
                self.max_frame,
            );
        }
        if write {
            let (reply, rx) = oneshot::channel();
            if self
                .write_tx
                .send(WriteJob::Request { frame, reply })
                .await
                .is_err()
            {
                return encode_response(id, Vec::new(), self.max_frame);
            }
            rx.await
                .unwrap_or_else(|_| encode_response(id, Vec::new(), self.max_frame))
        } else {
            let engine = self.engine.clone();
            let max_frame = self.max_frame;
            tokio::task::spawn_blocking(move || {
                let outcomes = match frame.access::<Request>() {
                    Ok(req) => req
                        .commands
                        .iter()
                        .map(|c| executor::execute_read(&engine, db, c))
                        .collect(),
                    Err(_) => Vec::new(),
                };
                encode_response(id, outcomes, max_frame)
            })
            .await
            .unwrap_or_else(|_| encode_response(id, Vec::new(), self.max_frame))
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

fn write_loop(engine: Engine, mut rx: mpsc::Receiver<WriteJob>, batch_size: usize, max_frame: u32) {
    let mut writer = Writer::new(engine);
    let mut jobs = Vec::with_capacity(batch_size);
    let mut done = Vec::with_capacity(batch_size);
    while let Some(first) = rx.blocking_recv() {
        jobs.push(first);
        while jobs.len() < batch_size {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let mut group = writer.begin();
        for job in jobs.drain(..) {
            match job {
                WriteJob::Request { frame, reply } => {
                    let (id, outcomes) = match frame.access::<Request>() {
                        Ok(req) => (
                            req.id.to_native(),
                            req.commands
                                .iter()
                                .map(|c| group.execute(req.db, c))
                                .collect::<Vec<_>>(),
                        ),
                        Err(_) => (0, Vec::new()),
                    };
                    done.push((id, outcomes, reply));
                }
                WriteJob::Reclaim => {
                    group.reclaim_expired(RECLAIM_BUDGET);
                }
            }
        }
        let committed = group.commit();
        if let Err(e) = &committed {
            tracing::error!(error = %e, "group commit failed; failing its requests");
        }
        for (id, outcomes, reply) in done.drain(..) {
            let outcomes = match &committed {
                Ok(()) => outcomes,
                Err(e) => vec![Outcome::Err(StorageError::Internal(e.to_string())); outcomes.len()],
            };
            let _ = reply.send(encode_response(id, outcomes, max_frame));
        }
    }
}
