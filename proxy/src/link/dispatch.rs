//! The task that owns one link's socket: connect, handshake, write queued requests, route
//! responses, and reconnect with capped exponential backoff plus jitter when anything fails.
//! Requests in flight when a link ends are taken back and written first on the next link
//! (see the exactly-once notes in `mod.rs`).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rand::Rng;
use tandem_shared::wire::{
    self, Frame, FrameError, FrameKind, Hello, HelloAck, KeyedRequest, Notice, Push, Request,
    Response,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use super::call::{Call, LinkError};
use super::in_flight::InFlight;
use super::push_sink::{PushSink, TrackSink};
use super::socket::{self, LinkStream, ReadSide, WriteSide};
use super::state::{LinkConfig, LinkState, LinkStats};

const BACKOFF_MIN: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_millis(1000);
/// Most queued calls written with one `write_all`.
const WRITE_BATCH: usize = 256;
/// How long to wait for storaged to answer in-flight requests after it said it is going away.
const DRAIN_WAIT: Duration = Duration::from_secs(30);

/// What waits to be written on the link.
struct Outbox {
    /// New calls from clients (the bounded queue).
    rx: mpsc::Receiver<Call>,
    /// Calls taken back from a dead link, written before anything new on the next one.
    resend: VecDeque<Call>,
}

/// Why a connected session ended.
enum End {
    Shutdown,
    Drained,
    Failed(String),
}

/// What a link does for pub/sub: every link hands `Push` frames to the hub; the one that
/// `registers` also sends the proxy's subscription table (whole on connect, then changes).
/// For client-side caching every link registers its own clients' keys with `tracking`
/// (whole on connect, then additions, always ahead of the requests after them) and hands
/// it the `Invalidate` frames it receives.
pub(super) struct PubSubRole<S> {
    pub hub: Arc<S>,
    pub registers: bool,
    pub tracking: Arc<dyn TrackSink>,
    /// This link's place in the pool.
    pub index: usize,
    /// This proxy's instance id, named in its tracking registrations.
    pub proxy: u64,
}

pub(super) async fn run<S: PushSink>(
    index: usize,
    config: LinkConfig,
    rx: mpsc::Receiver<Call>,
    stats: Arc<LinkStats>,
    in_flight: Arc<InFlight>,
    pubsub: PubSubRole<S>,
    shutdown: CancellationToken,
) {
    let mut backoff = BACKOFF_MIN;
    let mut next_id: u64 = 1;
    let mut ever_up = false;
    let mut last_logged = String::new();
    let mut outbox = Outbox {
        rx,
        resend: VecDeque::new(),
    };
    loop {
        set_state(&stats, LinkState::Connecting, None);
        let connected = tokio::select! {
            _ = shutdown.cancelled() => {
                fail(outbox.resend, "proxy shutting down");
                return;
            }
            r = connect(&config) => r,
        };
        let (stream, early) = match connected {
            Ok(connected) => connected,
            Err(e) => {
                if e != last_logged {
                    tracing::warn!(link = index, error = %e, "storage link down; retrying with backoff");
                    last_logged = e.clone();
                }
                set_state(&stats, LinkState::Down, Some(e));
                let jitter = rand::thread_rng().gen_range(0..=backoff.as_millis() as u64 / 2);
                tokio::select! {
                    _ = shutdown.cancelled() => {
                        fail(outbox.resend, "proxy shutting down");
                        return;
                    }
                    _ = tokio::time::sleep(backoff + Duration::from_millis(jitter)) => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        if ever_up {
            stats.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        ever_up = true;
        backoff = BACKOFF_MIN;
        last_logged.clear();
        tracing::info!(link = index, "storage link up");
        set_state(&stats, LinkState::Up, None);
        let end = serve(
            stream,
            early,
            &config,
            &mut outbox,
            &stats,
            &in_flight,
            &pubsub,
            &mut next_id,
            &shutdown,
        )
        .await;
        // Whatever storaged knew of this link's tracking, and any invalidation on its way,
        // is gone: its tracking clients flush (the table goes again to the next link).
        pubsub.tracking.lost(index);
        let orphans = in_flight.take_all();
        let end = match end {
            End::Shutdown => {
                fail(outbox.resend, "proxy shutting down");
                fail(orphans.into(), "proxy shutting down");
                return;
            }
            other => other,
        };
        for mut call in orphans {
            if call.reply.is_closed() {
                continue; // its caller already got its deadline error
            }
            call.attempt += 1;
            stats.resent.fetch_add(1, Ordering::Relaxed);
            outbox.resend.push_back(call);
        }
        match end {
            End::Shutdown => {}
            End::Drained => {
                tracing::info!(link = index, "storaged drained this link; reconnecting")
            }
            End::Failed(e) => {
                tracing::warn!(link = index, error = %e, "storage link lost; reconnecting");
                set_state(&stats, LinkState::Down, Some(e));
            }
        }
    }
}

/// Fails calls that will never be answered because the proxy is stopping.
fn fail(calls: VecDeque<Call>, why: &str) {
    for call in calls {
        let _ = call
            .reply
            .send(Err(LinkError::OutcomeUnknown(why.to_owned())));
    }
}

fn set_state(stats: &LinkStats, state: LinkState, error: Option<String>) {
    stats
        .up
        .store(state == LinkState::Up, std::sync::atomic::Ordering::Relaxed);
    if let Ok(mut s) = stats.state.lock() {
        s.0 = state;
        if let Some(e) = error {
            s.1 = e;
        }
    }
}

/// Connects and completes the Hello handshake. Returns the stream and whatever storaged sent
/// after its HelloAck in the same read (a going-away Notice can follow at once): the reader
/// starts from those bytes.
async fn connect(config: &LinkConfig) -> Result<(LinkStream, BytesMut), String> {
    let Some(tls) = &config.tls else {
        let mut stream = UnixStream::connect(&config.socket)
            .await
            .map_err(|e| format!("connect {}: {e}", config.socket.display()))?;
        let early = hello(&mut stream, config).await?;
        return Ok((LinkStream::Unix(stream), early));
    };
    // A host that does not answer would hold a TCP connect for minutes.
    let connected = tokio::time::timeout(TCP_CONNECT_TIMEOUT, async {
        let tcp = tokio::net::TcpStream::connect(&tls.addr)
            .await
            .map_err(|e| format!("connect tcp://{}: {e}", tls.addr))?;
        let _ = tcp.set_nodelay(true);
        tls.connector
            .connect(tls.server_name.clone(), tcp)
            .await
            .map_err(|e| format!("TLS handshake with storaged at {}: {e}", tls.addr))
    })
    .await
    .map_err(|_| format!("connect tcp://{}: timed out", tls.addr))?;
    let mut stream = connected?;
    let early = hello(&mut stream, config).await.map_err(|e| {
        // Over TLS 1.3 storaged's verdict on this proxy's certificate arrives as an alert
        // on the first read.
        if e.contains("alert") {
            format!("{e} (storaged refused this proxy's certificate: it must chain to storaged's proxy-tls-ca-cert-file)")
        } else {
            e
        }
    })?;
    Ok((LinkStream::Tls(Box::new(stream)), early))
}

/// How long connecting to storaged over TCP, TLS handshake included, may take.
const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends Hello and reads storaged's HelloAck on a new link; returns what storaged sent
/// after it.
async fn hello<S>(stream: &mut S, config: &LinkConfig) -> Result<BytesMut, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let hello = Hello {
        protocol: wire::PROTOCOL_VERSION,
        schema: wire::SCHEMA_HASH,
        instance_id: config.instance_id,
        pid: std::process::id(),
        name: format!("tandem-proxy {}", env!("CARGO_PKG_VERSION")),
    };
    let mut out = BytesMut::new();
    wire::encode(&hello, config.max_frame, &mut out).map_err(|e| e.to_string())?;
    stream
        .write_all(&out)
        .await
        .map_err(|e| format!("handshake write: {e}"))?;
    stream
        .flush()
        .await
        .map_err(|e| format!("handshake write: {e}"))?;
    let mut buf = BytesMut::with_capacity(4096);
    let frame = loop {
        // Whatever listens on the path is unknown until it answers: a HelloAck is small.
        match wire::decode(&mut buf, wire::MAX_HANDSHAKE_FRAME) {
            Ok(Some(frame)) => break frame,
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "storaged refused or garbled the handshake");
                return Err(format!("handshake: {e}"));
            }
        }
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_buf(&mut buf))
            .await
            .map_err(|_| "handshake timed out".to_owned())?
            .map_err(|e| format!("handshake read: {e}"))?;
        if read == 0 {
            return Err("storaged closed the link during the handshake".into());
        }
    };
    let ack = frame
        .access::<HelloAck>()
        .map_err(|e| format!("handshake: {e}"))?;
    if !ack.accepted {
        let message = ack.message.as_str().to_owned();
        tracing::error!(%message, "storaged refused this proxy");
        return Err(format!("storaged refused the link: {message}"));
    }
    Ok(buf)
}

#[allow(clippy::too_many_arguments)]
async fn serve<S: PushSink>(
    stream: LinkStream,
    early: BytesMut,
    config: &LinkConfig,
    outbox: &mut Outbox,
    stats: &LinkStats,
    in_flight: &InFlight,
    pubsub: &PubSubRole<S>,
    next_id: &mut u64,
    shutdown: &CancellationToken,
) -> End {
    // A Unix socket is a plain non-blocking socket from here, registered for readability
    // only (see `socket.rs`).
    let (read_half, write_half) = match socket::split(stream) {
        Ok(ends) => ends,
        Err(e) => return End::Failed(format!("link socket: {e}")),
    };
    let going_away = Notify::new();
    let reader = read_responses(
        read_half,
        early,
        config.max_frame,
        in_flight,
        stats,
        pubsub,
        &going_away,
    );
    let writer = write_requests(
        write_half,
        config.max_frame,
        outbox,
        in_flight,
        pubsub,
        next_id,
        &going_away,
    );
    tokio::pin!(reader, writer);
    tokio::select! {
        _ = shutdown.cancelled() => End::Shutdown,
        end = &mut reader => end,
        end = &mut writer => match end {
            // Stopped writing because storaged is draining: collect what it still owes us.
            End::Drained => match tokio::time::timeout(DRAIN_WAIT, &mut reader).await {
                Ok(End::Failed(e)) if !in_flight.is_empty() => End::Failed(e),
                Ok(_) => End::Drained,
                Err(_) => End::Failed("storaged did not finish draining in time".into()),
            },
            other => other,
        },
    }
}

async fn read_responses<S: PushSink>(
    mut read_half: ReadSide,
    mut buf: BytesMut,
    max_frame: u32,
    in_flight: &InFlight,
    stats: &LinkStats,
    role: &PubSubRole<S>,
    going_away: &Notify,
) -> End {
    buf.reserve(64 * 1024);
    let mut scratch = vec![0u8; socket::READ_SCRATCH];
    loop {
        loop {
            let frame = match wire::decode(&mut buf, max_frame) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "garbage frame from storaged; closing link");
                    return End::Failed(format!("bad frame from storaged: {e}"));
                }
            };
            if let Err(e) = route(frame, in_flight, stats, role, going_away) {
                tracing::error!(error = %e, "invalid frame from storaged; closing link");
                return End::Failed(e);
            }
        }
        wire::shrink_after_burst(&mut buf, 64 * 1024);
        match socket::read_some(&mut read_half, &mut scratch, &mut buf).await {
            Ok(0) => return End::Failed("storaged closed the link".into()),
            Ok(_) => {}
            Err(e) => return End::Failed(format!("read from storaged: {e}")),
        }
    }
}

fn route<S: PushSink>(
    frame: Frame,
    in_flight: &InFlight,
    stats: &LinkStats,
    role: &PubSubRole<S>,
    going_away: &Notify,
) -> Result<(), String> {
    match frame.kind {
        FrameKind::Push => {
            role.hub
                .deliver(frame.access::<Push>().map_err(|e| e.to_string())?);
            Ok(())
        }
        FrameKind::MonitorFeed => {
            crate::monitor::deliver(
                frame
                    .access::<tandem_shared::wire::message::MonitorFeed>()
                    .map_err(|e| e.to_string())?,
            );
            Ok(())
        }
        FrameKind::Invalidate => {
            let frame = frame
                .access::<tandem_shared::wire::message::Invalidate>()
                .map_err(|e| e.to_string())?;
            role.tracking
                .invalidate(role.index, frame, &|id| in_flight.client_of(id));
            Ok(())
        }
        FrameKind::Response => {
            let id = frame
                .access::<Response>()
                .map_err(|e| e.to_string())?
                .id
                .to_native();
            if let Some(call) = in_flight.remove(id) {
                let _ = call.reply.send(Ok(frame));
            }
            Ok(())
        }
        FrameKind::Notice => {
            let notice = frame.access::<Notice>().map_err(|e| e.to_string())?;
            use tandem_shared::wire::message::ArchivedNoticeKind as K;
            match &notice.kind {
                K::GoingAway => {
                    tracing::info!(message = notice.message.as_str(), "storaged is going away");
                    set_state(stats, LinkState::Draining, None);
                    going_away.notify_one();
                }
                // CLIENT PAUSE and SHUTDOWN (`crate::pause`).
                K::Pause { .. } | K::Shutdown => crate::pause::notice(&notice.kind),
                // storaged's ACL table, pushed on every change and at link-up.
                K::AclTable => crate::acl::pushed(notice.message.as_str()),
            }
            Ok(())
        }
        other => Err(format!("unexpected {other:?} frame from storaged")),
    }
}

async fn write_requests<S: PushSink>(
    mut write_half: WriteSide,
    max_frame: u32,
    outbox: &mut Outbox,
    in_flight: &InFlight,
    pubsub: &PubSubRole<S>,
    next_id: &mut u64,
    going_away: &Notify,
) -> End {
    let mut out = BytesMut::with_capacity(64 * 1024);
    let mut calls = Vec::with_capacity(WRITE_BATCH);
    // The ACL table comes back at once and after every change (`crate::acl`): first, so a
    // reconnected proxy enforces the current table before its requests are answered.
    let follow = tandem_shared::wire::message::AclFollow {
        proxy: pubsub.proxy,
    };
    if let Err(e) = wire::encode(&follow, max_frame, &mut out) {
        tracing::error!(error = %e, "cannot encode the ACL follow frame");
    } else if let Err(e) = socket::write_all(&mut write_half, &out).await {
        return End::Failed(format!("write to storaged: {e}"));
    }
    out.clear();
    if pubsub.registers {
        // Whatever storaged knew of this proxy died with the previous link.
        if let Err(e) = wire::encode(&pubsub.hub.snapshot(), max_frame, &mut out) {
            tracing::error!(error = %e, "subscription table does not fit in a frame");
        } else if let Err(e) = socket::write_all(&mut write_half, &out).await {
            return End::Failed(format!("write to storaged: {e}"));
        }
    }
    out.clear();
    // MONITOR: storaged forgot the previous link's monitor count (the first link sends it
    // again), and lines may have waited while the link was down.
    if let Some(m) = crate::monitor::take_frame(pubsub.index, pubsub.registers, true) {
        if let Err(e) = wire::encode(&m, max_frame, &mut out) {
            tracing::error!(error = %e, "monitor lines do not fit in a frame");
        } else if let Err(e) = socket::write_all(&mut write_half, &out).await {
            return End::Failed(format!("write to storaged: {e}"));
        }
    }
    out.clear();
    let monitor_out = crate::monitor::outgoing(pubsub.index);
    if let Some(mut all) = pubsub.tracking.registrations(pubsub.index, true) {
        all.proxy = pubsub.proxy;
        // What storaged knew of this link's tracking died with the previous link; sent
        // before the calls resent below, whose keys it holds.
        if let Err(e) = wire::encode(&all, max_frame, &mut out) {
            tracing::error!(error = %e, "tracking table does not fit in a frame");
        } else if let Err(e) = socket::write_all(&mut write_half, &out).await {
            return End::Failed(format!("write to storaged: {e}"));
        }
    }
    loop {
        let from_queue = outbox.resend.is_empty();
        if from_queue {
            tokio::select! {
                biased;
                _ = going_away.notified() => {
                    // Half-close: storaged answers everything it has read, then closes.
                    write_half.shutdown().await;
                    return End::Drained;
                }
                _ = pubsub.hub.changed(), if pubsub.registers => {}
                _ = monitor_out.ready() => {}
                n = outbox.rx.recv_many(&mut calls, WRITE_BATCH) => {
                    if n == 0 {
                        return End::Shutdown;
                    }
                }
            }
        } else {
            let n = outbox.resend.len().min(WRITE_BATCH);
            calls.extend(outbox.resend.drain(..n));
        }
        out.clear();
        // Nothing in flight: no other client is about to queue a call (a lone client's
        // request), so waiting for one would only delay this one.
        let alone = in_flight.is_empty();
        encode_batch(&mut calls, pubsub, next_id, max_frame, in_flight, &mut out);
        if from_queue && !alone {
            // Let the client tasks that are already runnable queue their calls first, so
            // one write carries them all: each write to the link costs the proxy a syscall
            // and wakes storaged's socket thread. What was taken is in `in_flight` by now,
            // so a link that dies during the yield resends it like any call in flight.
            tokio::task::yield_now().await;
            while calls.len() < WRITE_BATCH {
                match outbox.rx.try_recv() {
                    Ok(call) => calls.push(call),
                    Err(_) => break,
                }
            }
            encode_batch(&mut calls, pubsub, next_id, max_frame, in_flight, &mut out);
        }
        if out.is_empty() {
            continue;
        }
        if let Err(e) = socket::write_all(&mut write_half, &out).await {
            return End::Failed(format!("write to storaged: {e}"));
        }
        out.clear();
        wire::shrink_after_burst(&mut out, 64 * 1024);
    }
}

/// Appends the subscription changes, then `calls` (drained), to `out`, and records each
/// call sent in `in_flight`. Subscription changes go before the calls queued after them: a
/// SUBSCRIBE waits for a round trip on this link, which then proves storaged has the change.
fn encode_batch<S: PushSink>(
    calls: &mut Vec<Call>,
    pubsub: &PubSubRole<S>,
    next_id: &mut u64,
    max_frame: u32,
    in_flight: &InFlight,
    out: &mut BytesMut,
) {
    if pubsub.registers {
        if let Some(update) = pubsub.hub.take_dirty() {
            if let Err(e) = wire::encode(&update, max_frame, out) {
                tracing::error!(error = %e, "subscription update does not fit in a frame");
            }
        }
    }
    // MONITOR lines of commands already run go ahead of the requests after them.
    if let Some(m) = crate::monitor::take_frame(pubsub.index, pubsub.registers, false) {
        if let Err(e) = wire::encode(&m, max_frame, out) {
            tracing::error!(error = %e, "monitor lines do not fit in a frame");
        }
    }
    // Keys read by tracking clients go ahead of their reads (see `crate::tracking`).
    if let Some(mut update) = pubsub.tracking.registrations(pubsub.index, false) {
        update.proxy = pubsub.proxy;
        if let Err(e) = wire::encode(&update, max_frame, out) {
            tracing::error!(error = %e, "tracking registrations do not fit in a frame");
        }
    }
    for mut call in calls.drain(..) {
        if !call.claim() {
            continue; // the client gave up (deadline or disconnect) before we sent it
        }
        let id = *next_id;
        *next_id = next_id.wrapping_add(1);
        let start = out.len();
        match encode_call(&mut call, id, max_frame, out) {
            Ok(()) => {
                let bytes = (out.len() - start) as u64;
                call.progress.frame_bytes.store(bytes, Ordering::Release);
                in_flight.insert(id, call);
            }
            Err(e) => {
                let _ = call.reply.send(Err(LinkError::Unavailable(e.to_string())));
            }
        }
    }
}

/// Appends `call` as a frame with link id `id`: a `KeyedRequest` when it may write. The
/// commands are lent to the message and taken back, so the call can be resent.
fn encode_call(
    call: &mut Call,
    id: u64,
    max_frame: u32,
    out: &mut BytesMut,
) -> Result<(), FrameError> {
    let commands = std::mem::take(&mut call.commands);
    let (result, commands) = match call.key {
        Some(key) => {
            let request = KeyedRequest {
                id,
                db: call.db,
                key,
                attempt: call.attempt,
                commands,
            };
            (wire::encode(&request, max_frame, out), request.commands)
        }
        None => {
            let request = Request {
                id,
                db: call.db,
                commands,
            };
            (wire::encode(&request, max_frame, out), request.commands)
        }
    };
    call.commands = commands;
    result
}
