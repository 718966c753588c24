//! One proxy link: handshake, then decode → execute → encode for every request frame.
//!
//! Requests of a link run concurrently and may be answered out of order (the proxy matches
//! by id); a proxy sends one client's batches one at a time, so each client's order holds.
//! Every frame is validated before use. A garbage frame closes this link with a logged
//! error; storaged itself carries on. On drain the link tells the proxy it is going away,
//! keeps answering what arrives until the proxy half-closes (or the drain deadline), then
//! closes.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tandem_shared::wire::{
    self, Frame, FrameKind, Hello, HelloAck, Notice, NoticeKind, Subscriptions,
};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::executor::Executor;
use crate::outbox;
use crate::request::RequestView;
use crate::transport::{Reader, Transport};

/// Bytes of published messages that may wait for a link's socket before the link is cut
/// (a proxy that stopped reading); responses are bounded by the proxy's in-flight limit.
const PUSH_BACKLOG: usize = 64 * 1024 * 1024;

/// Timing of one link: how long a new peer may take to send its Hello, and how long a
/// draining link may take to collect its replies.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    pub handshake: Duration,
    pub drain: Duration,
}

/// Serves one link until the proxy closes it, it misbehaves, or the drain ends.
///
/// Until its Hello is accepted a peer is only someone who may open the socket: it is read
/// with [`wire::MAX_HANDSHAKE_FRAME`] instead of `max_frame`, into a small buffer, and closed
/// if no Hello arrives within `deadlines.handshake` (or the drain starts first).
pub async fn serve(
    transport: Transport,
    executor: Arc<Executor>,
    instance_id: u64,
    max_frame: u32,
    drain: CancellationToken,
    deadlines: Deadlines,
) {
    let drain_timeout = deadlines.drain;
    // Unix: a plain non-blocking socket from here, registered for readability only and
    // written by whoever answers; TLS: one session, written by the link's writer task (see
    // `crate::transport`).
    let (mut read_half, mut write_half, peer) = match crate::transport::split(transport) {
        Ok(ends) => ends,
        Err(e) => {
            tracing::error!(error = %e, "cannot take over the link socket");
            return;
        }
    };
    let mut scratch = vec![0u8; outbox::READ_SCRATCH];
    let mut buf = BytesMut::with_capacity(1024);

    let handshake = tokio::select! {
        read = tokio::time::timeout(
            deadlines.handshake,
            read_frame(&mut read_half, &mut scratch, &mut buf, wire::MAX_HANDSHAKE_FRAME),
        ) => read,
        _ = drain.cancelled() => return,
    };
    let hello = match handshake {
        Ok(Ok(Some(frame))) => frame,
        Ok(Ok(None)) => return,
        Err(_) => {
            tracing::warn!(
                %peer,
                timeout_ms = deadlines.handshake.as_millis() as u64,
                received = buf.len(),
                "no Hello within the handshake timeout; closing link"
            );
            return;
        }
        Ok(Err(e)) => {
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
    // Listed in INFO's `# Proxies` section while the link is up (`crate::peer`).
    let _listed = crate::peer::linked().register(&peer, &name);
    // A known proxy from here on: room for a pipeline's worth of frames per read.
    buf.reserve(64 * 1024);

    // Every response and push of this link gathers in `out`; its producer writes it, or
    // this task writes whatever has gathered with one write (see `crate::outbox`).
    let out = write_half.outbox();
    let writer = {
        let out = out.clone();
        let mut sock = write_half;
        tokio::spawn(async move {
            let mut pending = BytesMut::with_capacity(64 * 1024);
            while out.take(&mut pending).await {
                if sock.write_all(&pending).await.is_err() {
                    out.close();
                    return;
                }
                pending.clear();
                wire::shrink_after_burst(&mut pending, 64 * 1024);
            }
            sock.shutdown().await;
        })
    };

    // The hub cuts this link through `overflow` if the proxy stops reading its pushes.
    let overflow = CancellationToken::new();
    let hub_link = executor
        .hub()
        .attach(out.clone(), PUSH_BACKLOG, overflow.clone(), max_frame);
    // MONITOR (`crate::monitor`): proxies only, registered at AclFollow (or at their first
    // Monitor frame), so a raw link (tools, tests) never gets an unasked MonitorFeed.
    let mut monitor_link: Option<u64> = None;
    let attach_monitor = || {
        executor
            .hub()
            .monitor
            .attach(out.clone(), PUSH_BACKLOG, overflow.clone(), max_frame)
    };
    // CLIENT PAUSE now and on every change, and SHUTDOWN (`crate::control`): for proxies,
    // which say so with AclFollow; a raw link (tools, tests) gets no notices.
    let mut control_link: Option<crate::control::Attached> = None;

    let tasks = TaskTracker::new();
    let closing = CancellationToken::new();
    let mut draining = false;
    let mut deadline = std::pin::pin!(tokio::time::sleep(Duration::MAX / 4));
    // Responses appended here since the last write; written (on this thread) before
    // waiting for more input, so a batch of frames read together is answered with one
    // write.
    let mut unflushed = false;
    loop {
        let frame = match wire::decode(&mut buf, max_frame) {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                if std::mem::take(&mut unflushed) {
                    out.write_now();
                }
                wire::shrink_after_burst(&mut buf, 64 * 1024);
                let read = tokio::select! {
                    _ = drain.cancelled(), if !draining => {
                        draining = true;
                        deadline.as_mut().reset(tokio::time::Instant::now() + drain_timeout);
                        let mut notice = BytesMut::new();
                        let msg = Notice { kind: NoticeKind::GoingAway, message: "storaged is shutting down".into() };
                        if wire::encode(&msg, max_frame, &mut notice).is_ok() {
                            out.append(&notice);
                            out.flush();
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
                    r = read_half.read_some(&mut scratch, &mut buf) => r,
                };
                match read {
                    Ok(0) if buf.is_empty() => break,
                    Ok(0) => {
                        tracing::error!(%peer, "link closed mid-frame");
                        break;
                    }
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::error!(%peer, error = %e, "read failed; closing link");
                        break;
                    }
                }
            }
            Err(e) => {
                tracing::error!(%peer, error = %e, "garbage on link; closing it");
                break;
            }
        };
        if frame.kind == FrameKind::Subscriptions {
            match frame.access::<Subscriptions>() {
                Ok(update) => executor.hub().update(hub_link, update),
                Err(e) => {
                    tracing::error!(%peer, error = %e, "invalid subscriptions archive; closing link");
                    break;
                }
            }
            continue;
        }
        if frame.kind == FrameKind::AclFollow {
            // A proxy: the ACL table now and on every change (`crate::acl`).
            crate::acl::attach(&out, max_frame);
            if monitor_link.is_none() {
                monitor_link = Some(attach_monitor());
            }
            if control_link.is_none() {
                control_link = Some(crate::control::control().attach(out.clone(), max_frame));
            }
            continue;
        }
        if frame.kind == FrameKind::Tracking {
            // Applied before the next frame is read: a read sent after it is tracked.
            match frame.access::<tandem_shared::wire::message::Tracking>() {
                Ok(t) => executor
                    .hub()
                    .tracking
                    .update(&out, max_frame, &overflow, t),
                Err(e) => {
                    tracing::error!(%peer, error = %e, "invalid tracking archive; closing link");
                    break;
                }
            }
            continue;
        }
        if frame.kind == FrameKind::Monitor {
            // Lines go out before the requests read after them (an EVAL's before its
            // script's); see `crate::monitor`.
            match frame.access::<tandem_shared::wire::message::Monitor>() {
                Ok(m) => {
                    let link = *monitor_link.get_or_insert_with(attach_monitor);
                    executor.hub().monitor.update(link, m)
                }
                Err(e) => {
                    tracing::error!(%peer, error = %e, "invalid monitor archive; closing link");
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
            Ok(req) => crate::writer::parked::may_park(&req),
            Err(e) => {
                tracing::error!(%peer, error = %e, len = frame.payload().len(), "invalid request archive; closing link");
                break;
            }
        };
        if may_park {
            // A parked blocking pop may wait forever: once the link is closing it gives up
            // unanswered, and the proxy resends it on its next link (exactly once).
            let closing = closing.clone();
            let executor = executor.clone();
            let out = out.clone();
            tasks.spawn(async move {
                tokio::select! {
                    response = executor.execute(frame) => {
                        out.append(&response);
                        out.flush();
                    }
                    _ = closing.cancelled() => {}
                }
            });
            continue;
        }
        if let Some(response) = executor.submit(frame, &out, &tasks) {
            out.append(&response);
            unflushed = true;
        }
    }
    executor.hub().detach(hub_link);
    executor.hub().tracking.detach(&out);
    if let Some(link) = monitor_link {
        executor.hub().monitor.detach(link);
    }
    drop(control_link);
    // Answer everything already accepted before closing, except parked blocking pops. The
    // writer thread may still hold requests of this link: wait for the queue to pass them.
    closing.cancel();
    tasks.close();
    tasks.wait().await;
    executor.settled().await;
    out.close();
    let _ = writer.await;
    tracing::info!(%peer, "proxy link closed");
}

/// Reads one whole frame; `Ok(None)` on a clean end of stream.
async fn read_frame(
    read_half: &mut Reader,
    scratch: &mut [u8],
    buf: &mut BytesMut,
    max_frame: u32,
) -> Result<Option<Frame>, String> {
    loop {
        match wire::decode(buf, max_frame) {
            Ok(Some(frame)) => return Ok(Some(frame)),
            Ok(None) => {}
            Err(e) => return Err(e.to_string()),
        }
        match read_half.read_some(scratch, buf).await {
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
