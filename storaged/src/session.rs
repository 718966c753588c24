//! One proxy link: handshake, then decode → execute → encode for every request frame.
//!
//! Requests of a link run concurrently and may be answered out of order (the proxy matches
//! by id); a proxy sends one client's batches one at a time, so each client's order holds.
//! Every frame is validated before use. A garbage frame closes this link with a logged
//! error; storaged itself carries on. On drain the session tells the proxy it is going away,
//! keeps answering what arrives until the proxy half-closes (or the drain deadline), then
//! closes.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tandem_shared::wire::{
    self, Frame, FrameKind, Hello, HelloAck, Notice, NoticeKind, Subscriptions,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedReadHalf;
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::batch::{Executor, RequestView};

/// Replies buffered per link before request tasks wait for the socket.
const REPLY_QUEUE: usize = 4096;

/// Serves one link until the proxy closes it, it misbehaves, or the drain ends.
pub async fn serve(
    stream: UnixStream,
    executor: Arc<Executor>,
    instance_id: u64,
    max_frame: u32,
    drain: CancellationToken,
    drain_timeout: Duration,
) {
    let peer = stream
        .peer_cred()
        .map(|c| format!("pid={:?} uid={}", c.pid(), c.uid()))
        .unwrap_or_default();
    let (mut read_half, mut write_half) = stream.into_split();
    let mut buf = BytesMut::with_capacity(64 * 1024);

    let hello = match read_frame(&mut read_half, &mut buf, max_frame).await {
        Ok(Some(frame)) => frame,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(%peer, error = %e, "refusing link: bad handshake");
            let _ = write_half
                .write_all(&refusal(instance_id, max_frame, &e))
                .await;
            return;
        }
    };
    let (accepted, message, name) = match hello.access::<Hello>() {
        Ok(h)
            if h.protocol == wire::PROTOCOL_VERSION
                && h.schema.to_native() == wire::SCHEMA_HASH =>
        {
            (true, String::new(), h.name.as_str().to_owned())
        }
        Ok(h) => (
            false,
            format!(
                "protocol v{} schema {:#x} not supported; storaged speaks v{} schema {:#x}",
                h.protocol,
                h.schema.to_native(),
                wire::PROTOCOL_VERSION,
                wire::SCHEMA_HASH
            ),
            h.name.as_str().to_owned(),
        ),
        Err(e) => (false, format!("invalid Hello: {e}"), String::new()),
    };
    let ack = HelloAck {
        protocol: wire::PROTOCOL_VERSION,
        schema: wire::SCHEMA_HASH,
        instance_id,
        max_frame,
        accepted,
        message: message.clone(),
    };
    let mut out = BytesMut::new();
    if wire::encode(&ack, max_frame, &mut out).is_err() || write_half.write_all(&out).await.is_err()
    {
        return;
    }
    if !accepted {
        tracing::error!(%peer, %name, %message, "refused link");
        return;
    }
    tracing::info!(%peer, %name, "proxy link up");

    let (reply_tx, mut reply_rx) = mpsc::channel::<BytesMut>(REPLY_QUEUE);
    let writer = tokio::spawn(async move {
        let mut pending = Vec::with_capacity(64);
        let mut out = BytesMut::with_capacity(64 * 1024);
        while reply_rx.recv_many(&mut pending, 64).await > 0 {
            out.clear();
            for reply in pending.drain(..) {
                out.extend_from_slice(&reply);
            }
            if write_half.write_all(&out).await.is_err() {
                return;
            }
        }
        let _ = write_half.shutdown().await;
    });

    // Pushes (published messages) share the reply queue, so they stay ordered with
    // responses; the hub cuts this link through `overflow` if the proxy stops reading.
    let overflow = CancellationToken::new();
    let hub_link = crate::pubsub::hub().attach(reply_tx.clone(), overflow.clone(), max_frame);

    let tasks = TaskTracker::new();
    let closing = CancellationToken::new();
    let mut draining = false;
    let mut deadline = std::pin::pin!(tokio::time::sleep(Duration::MAX / 4));
    loop {
        let frame = tokio::select! {
            _ = drain.cancelled(), if !draining => {
                draining = true;
                deadline.as_mut().reset(tokio::time::Instant::now() + drain_timeout);
                let mut notice = BytesMut::new();
                let msg = Notice { kind: NoticeKind::GoingAway, message: "storaged is shutting down".into() };
                if wire::encode(&msg, max_frame, &mut notice).is_ok() {
                    let _ = reply_tx.send(notice).await;
                }
                continue;
            }
            _ = &mut deadline => {
                tracing::warn!(%peer, "drain deadline passed; closing link");
                break;
            }
            _ = overflow.cancelled() => {
                tracing::warn!(%peer, "proxy stopped reading published messages; closing link");
                break;
            }
            r = read_frame(&mut read_half, &mut buf, max_frame) => r,
        };
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                tracing::error!(%peer, error = %e, "garbage on link; closing it");
                break;
            }
        };
        if frame.kind == FrameKind::Subscriptions {
            match frame.access::<Subscriptions>() {
                Ok(update) => crate::pubsub::hub().update(hub_link, update),
                Err(e) => {
                    tracing::error!(%peer, error = %e, "invalid subscriptions archive; closing link");
                    break;
                }
            }
            continue;
        }
        if !matches!(frame.kind, FrameKind::Request | FrameKind::KeyedRequest) {
            tracing::error!(%peer, kind = ?frame.kind, "unexpected frame kind; closing link");
            break;
        }
        let may_park = match RequestView::of(&frame) {
            Ok(req) => crate::blocking::may_park(&req),
            Err(e) => {
                tracing::error!(%peer, error = %e, len = frame.payload().len(), "invalid request archive; closing link");
                break;
            }
        };
        let executor = executor.clone();
        let reply_tx = reply_tx.clone();
        if may_park {
            // A parked blocking pop may wait forever: once the link is closing it gives up
            // unanswered, and the proxy resends it on its next link (exactly once).
            let closing = closing.clone();
            tasks.spawn(async move {
                tokio::select! {
                    response = executor.execute(frame) => {
                        let _ = reply_tx.send(response).await;
                    }
                    _ = closing.cancelled() => {}
                }
            });
            continue;
        }
        tasks.spawn(async move {
            let response = executor.execute(frame).await;
            let _ = reply_tx.send(response).await;
        });
    }
    crate::pubsub::hub().detach(hub_link);
    // Answer everything already accepted before closing, except parked blocking pops.
    closing.cancel();
    tasks.close();
    tasks.wait().await;
    drop(reply_tx);
    let _ = writer.await;
    tracing::info!(%peer, "proxy link closed");
}

/// Reads one whole frame; `Ok(None)` on a clean end of stream.
async fn read_frame(
    read_half: &mut OwnedReadHalf,
    buf: &mut BytesMut,
    max_frame: u32,
) -> Result<Option<Frame>, String> {
    loop {
        match wire::decode(buf, max_frame) {
            Ok(Some(frame)) => return Ok(Some(frame)),
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
        match read_half.read_buf(buf).await {
            Ok(0) if buf.is_empty() => return Ok(None),
            Ok(0) => return Err("link closed mid-frame".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

fn refusal(instance_id: u64, max_frame: u32, why: &str) -> BytesMut {
    let ack = HelloAck {
        protocol: wire::PROTOCOL_VERSION,
        schema: wire::SCHEMA_HASH,
        instance_id,
        max_frame,
        accepted: false,
        message: why.to_owned(),
    };
    let mut out = BytesMut::new();
    let _ = wire::encode(&ack, max_frame, &mut out);
    out
}
