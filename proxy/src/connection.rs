//! One client connection: read RESP, run commands in the order sent, write replies.
//!
//! Pipelining: every complete command in the read buffer is handled before the replies are
//! flushed with one write. Consecutive storage commands travel to storaged as one request
//! (one frame, one batch, run in order); a proxy-local command or an error reply first
//! flushes the pending batch so replies stay in order.
//!
//! This is the only module that touches a client's socket (the accept loop hands the stream
//! over; a refusal under `maxclients` is written here too). What a command may read or change
//! of its client is the [`Session`], which proxy-local commands (`crate::local`) get instead
//! of the connection; the pending storage batch and a blocking pop about to wait stay here.
//!
//! Closing: a connection closes only at a reply boundary, once every command it has read
//! is answered, and then reads and drops what the client still sends until the client
//! closes too, so the kernel never answers it with a reset (see [`close_at_boundary`]).
//! When the proxy drains (`Shared::drain`) each connection does so at once if it holds
//! nothing, or after the replies of the commands it had received.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tandem_commands::{Args, Handler, Local, ParseCtx};
use tandem_shared::wire::{ArchivedOutcome, Response};
use tandem_shared::Command;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::tls::ClientStream;
use tokio_util::sync::CancellationToken;

use crate::clients::ClientState;
use crate::error::CommandError;
use crate::instance::Shared;
use crate::link::LinkError;
use crate::local::{self, exec, subscribe, transaction};
use crate::pubsub::{ClientSubs, Delivery};
use crate::session::{Flow, Session};
use tandem_resp::Protocol;

/// Flush replies early once this much output is buffered, so a huge pipeline does not grow
/// the output buffer without bound.
const OUTPUT_FLUSH_AT: usize = 1024 * 1024;

/// Bytes a client blocked in a pop may send before the connection stops reading it (Redis
/// buffers a blocked client's further commands too).
const MAX_BUFFERED_WHILE_BLOCKED: usize = 1024 * 1024;

/// How long a closing connection keeps reading (and dropping) what the client still sends,
/// waiting for the client to close its side.
const LINGER: Duration = Duration::from_secs(1);

/// One client's connection: its session plus the pipeline state only the socket loop uses.
struct Connection {
    session: Session,
    /// Storage commands parsed and not yet sent, sent as one request.
    batch: Vec<Command>,
    /// A blocking pop waiting to run (`crate::blocked`); never set inside MULTI, where
    /// commands queue before reaching the parser.
    blocked: Option<Command>,
    /// The arguments and statistics slots of the commands in flight (`crate::stats`).
    stats: crate::stats::ArgLog,
}

/// Serves one client until it quits, errs, is killed or the proxy shuts down.
pub async fn serve(
    mut stream: ClientStream,
    addr: SocketAddr,
    shared: Arc<Shared>,
    kill: CancellationToken,
) {
    let id = shared.clients.next_id();
    let laddr = stream.local_addr().unwrap_or(addr);
    let state = ClientState {
        id,
        addr,
        laddr,
        protocol: Protocol::Resp2,
        db: 0,
        name: Vec::new(),
        lib_name: Vec::new(),
        lib_ver: Vec::new(),
        authenticated: {
            shared.acl.sync_requirepass(&shared.settings().requirepass);
            !shared.acl.default_needs_auth()
        },
        user: b"default".to_vec(),
        created: Instant::now(),
        last_command: Vec::new(),
        sub: 0,
        psub: 0,
        ssub: 0,
        multi: -1,
        blocked: false,
        monitor: false,
    };
    shared.clients.insert(state.clone(), kill.clone());
    let link = shared.links.assign().for_client(id);
    let mut conn = Connection {
        session: Session::new(state, shared.clone(), link, kill.clone()),
        // Unallocated while the client is idle (see `read_lazily`).
        batch: Vec::new(),
        blocked: None,
        stats: crate::stats::ArgLog::default(),
    };
    crate::stats::start(&shared);
    let mut rbuf = BytesMut::new();
    let ended = conn.run(&mut stream, &mut rbuf, &kill).await;
    subscribe::unsubscribe_all(&mut conn.session);
    transaction::release_watches(&mut conn.session);
    local::tracking::client_gone(&mut conn.session);
    shared.clients.remove(id);
    drop(conn);
    drop(rbuf);
    match ended {
        Ok(()) => Box::pin(close_at_boundary(&mut stream, &kill)).await,
        Err(e) => tracing::debug!(client = id, error = %e, "client connection ended"),
    }
}

/// Refuses a client over `maxclients` as Redis does: the error, then a close that lets the
/// client read it.
pub async fn refuse(mut stream: ClientStream, kill: CancellationToken) {
    if stream
        .write_all(b"-ERR max number of clients reached\r\n")
        .await
        .is_ok()
    {
        close_at_boundary(&mut stream, &kill).await;
    }
}

/// Closes a client connection whose replies are all written: sends FIN after them, then
/// reads and drops whatever the client still sends — commands that were never run, which a
/// client learns from the end of the stream — until it closes its side, [`LINGER`] passes
/// or `kill` fires. Closing a socket with unread input would make the kernel send a reset,
/// which the client may see before the replies it has not read yet.
async fn close_at_boundary(stream: &mut ClientStream, kill: &CancellationToken) {
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        loop {
            tokio::select! {
                _ = kill.cancelled() => return,
                read = stream.read(&mut sink) => {
                    if matches!(read, Ok(0) | Err(_)) {
                        return;
                    }
                }
            }
        }
    })
    .await;
}

impl Connection {
    async fn run(
        &mut self,
        stream: &mut ClientStream,
        rbuf: &mut BytesMut,
        kill: &CancellationToken,
    ) -> std::io::Result<()> {
        let mut decoder = tandem_resp::Decoder::new();
        let drain = self.session.shared.drain.clone();
        loop {
            let n = tokio::select! {
                _ = kill.cancelled() => return Ok(()),
                _ = drain.cancelled() => {
                    // The proxy is stopping and this client has nothing in flight: serve
                    // what has already arrived (the round ends with the drain check
                    // below), or close now.
                    match stream.try_read_buf(rbuf) {
                        Ok(0) => return Ok(()),
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            self.write_messages(None);
                            if !self.session.out.is_empty() {
                                crate::stats::net_written(self.session.out.len());
                                stream.write_all(&self.session.out).await?;
                                self.session.out.clear();
                            }
                            return Ok(());
                        }
                        Err(e) => return Err(e),
                    }
                }
                r = read_lazily(stream, rbuf) => r?,
                _ = crate::tracking::pushed(&mut self.session.tracking) => {
                    self.write_messages(None);
                    tokio::select! {
                        _ = kill.cancelled() => return Ok(()),
                        r = stream.write_all(&self.session.out) => r?,
                    }
                    self.session.out.clear();
                    continue;
                }
                Some(line) = local::monitor::next_line(&mut self.session.monitor) => {
                    local::monitor::write_lines(&mut self.session, Some(line), OUTPUT_FLUSH_AT);
                    crate::stats::net_written(self.session.out.len());
                    // Like a subscriber's: the output-buffer limit's `kill` wins over a
                    // write the client does not read.
                    tokio::select! {
                        _ = kill.cancelled() => return Ok(()),
                        r = stream.write_all(&self.session.out) => r?,
                    }
                    self.session.out.clear();
                    continue;
                }
                Some(first) = next_message(&mut self.session.subs) => {
                    self.write_messages(Some(first));
                    crate::stats::net_written(self.session.out.len());
                    // A subscriber that does not read blocks this write; the output-buffer
                    // limit then cancels `kill`, which must win over the stuck write.
                    tokio::select! {
                        _ = kill.cancelled() => return Ok(()),
                        r = stream.write_all(&self.session.out) => r?,
                    }
                    self.session.out.clear();
                    continue;
                }
            };
            if n == 0 {
                return Ok(());
            }
            crate::stats::net_read(n);
            // Invalidations that arrived before these commands go before their replies.
            local::tracking::write_pushes(&mut self.session);
            self.session.clock.forget();
            let limits = tandem_resp::decode::Limits {
                max_bulk_len: self
                    .session
                    .shared
                    .proto_max_bulk_len
                    .load(Ordering::Relaxed),
                auth_required: !self.session.state.authenticated,
                ..Default::default()
            };
            let mut flow = Flow::Continue;
            loop {
                match decoder.decode(rbuf, &limits) {
                    Ok(Some(argv)) => {
                        // CLIENT PAUSE (`crate::local::pause`): one load while none is known.
                        if local::pause::holds(&self.session, &argv)
                            && !Box::pin(self.hold(stream, rbuf, kill, &argv)).await?
                        {
                            return Ok(());
                        }
                        let quiet = self.session.reply.quiet();
                        if quiet {
                            // Only this command's replies may be cut, so send what came
                            // before first.
                            self.flush_batch().await;
                            self.session.reply_mark = self.session.out.len();
                        }
                        // Boxed: `handle`'s state (~670 bytes, the largest part of this
                        // loop's) would otherwise sit in every idle connection's task
                        // (tests/limits: under 4 KiB per idle connection); one small
                        // allocation per command instead.
                        flow = Box::pin(self.handle(argv)).await;
                        if let Some(command) = self.blocked.take() {
                            if !Box::pin(self.block(stream, rbuf, kill, command)).await? {
                                return Ok(());
                            }
                            self.session.clock.forget();
                        }
                        // `skip_next` is set only by `CLIENT REPLY SKIP`, which has no
                        // reply of its own either.
                        let cut = self.session.reply.quiet() || self.session.reply.skip_next;
                        if quiet || cut {
                            self.flush_batch().await;
                            if cut {
                                self.session.out.truncate(self.session.reply_mark);
                            }
                        }
                        self.session.reply.skip = std::mem::take(&mut self.session.reply.skip_next);
                        if flow == Flow::Close {
                            break;
                        }
                        if self.session.out.len() >= OUTPUT_FLUSH_AT {
                            self.flush_batch().await;
                            crate::stats::net_written(self.session.out.len());
                            stream.write_all(&self.session.out).await?;
                            self.session.out.clear();
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        self.flush_batch().await;
                        tandem_resp::encode::encode_error(&e.to_string(), &mut self.session.out);
                        flow = Flow::Close;
                        break;
                    }
                }
            }
            // Everything read is parsed: an idle connection holds no read buffer (an idle
            // client cost 12.7 KiB with both buffers kept, Redis 1.2 KiB). Let it go before
            // the batch is sent, as the commands own their bytes by now: a 512 MiB SET held
            // the buffer, its command and its frame to storaged at once (+1.5 GiB).
            if rbuf.is_empty() {
                decoder.reset();
                *rbuf = BytesMut::new();
            }
            self.flush_batch().await;
            self.write_messages(None);
            if !self.session.out.is_empty() {
                crate::stats::net_written(self.session.out.len());
                stream.write_all(&self.session.out).await?;
                self.session.out.clear();
            }
            if flow == Flow::Close || drain.is_cancelled() {
                // Every command read so far is answered: a reply boundary.
                return Ok(());
            }
            // Everything read is answered: a burst of large replies leaves nothing behind.
            // The allocator makes the next request's buffers cheap.
            if self.session.out.is_empty() {
                self.session.out = BytesMut::new();
            }
        }
    }

    async fn handle(&mut self, argv: Vec<Bytes>) -> Flow {
        self.session
            .shared
            .stats
            .commands_processed
            .fetch_add(1, Ordering::Relaxed);
        let mut argv = argv.into_iter();
        let Some(name) = argv.next() else {
            return Flow::Continue;
        };
        let args: Vec<Bytes> = argv.collect();
        if let Some(text) = local::acl::enforce(&mut self.session, &name, &args) {
            // Refused before it runs: in MULTI the transaction is aborted (EXECABORT).
            let shown = tandem_commands::lookup(&name).map_or("", |s| s.name);
            if shown == "exec" {
                transaction::reset(&mut self.session);
            } else if let Some(q) = self.session.tx.queue.as_mut() {
                q.dirty = true;
            }
            self.error(&transaction::rejected(shown, text)).await;
            return Flow::Continue;
        }
        if self.session.tx.in_multi() {
            // Inside MULTI, commands queue (`crate::local::exec`); QUIT and RESET fall through.
            let shown = local::monitor::before_queued(&self.session, &name, &args);
            let start = self.session.out.len();
            if let Some(flow) = Box::pin(exec::queue(&mut self.session, &name, args.clone())).await
            {
                local::monitor::after(&mut self.session, shown, start);
                return flow;
            }
        }
        let Some(spec) = tandem_commands::lookup(&name) else {
            self.error(&local::unknown_command(&name, &args)).await;
            return Flow::Continue;
        };
        let stat = crate::stats::id_of(spec, args.first().map(|a| &a[..]));
        if !spec.arity_ok(args.len() + 1) {
            crate::stats::rejected(stat);
            let text = CommandError::WrongArity(spec.name.to_owned()).to_string();
            self.error(&transaction::rejected(spec.name, text)).await;
            return Flow::Continue;
        }
        if !self.session.state.authenticated
            && !matches!(spec.name, "auth" | "hello" | "quit" | "reset")
        {
            crate::stats::rejected(stat);
            let text = "NOAUTH Authentication required.".to_owned();
            self.error(&transaction::rejected(spec.name, text)).await;
            return Flow::Continue;
        }
        if self.session.state.protocol == Protocol::Resp2
            && self.session.subs.as_ref().is_some_and(|s| s.count() > 0)
            && !subscribe::allowed_while_subscribed(spec.name)
        {
            let shown = match args.first() {
                Some(sub) if spec.name != "pubsub" || subscribe::known_subcommand(sub) => {
                    if spec.name == "pubsub" || tandem_commands::is_container(spec.name) {
                        format!(
                            "{}|{}",
                            spec.name,
                            String::from_utf8_lossy(sub).to_lowercase()
                        )
                    } else {
                        spec.name.to_owned()
                    }
                }
                Some(_) => String::new(),
                None => spec.name.to_owned(),
            };
            if !shown.is_empty() {
                crate::stats::rejected(stat);
                let text = subscribe::subscribed_mode_error(&shown);
                self.error(&transaction::rejected(spec.name, text)).await;
                return Flow::Continue;
            }
        }
        // MONITOR: a monitoring client's refusals, and what monitors are shown.
        let mut shown = match local::monitor::before(&mut self.session, spec, &name, &args) {
            Ok(shown) => shown,
            Err(text) => {
                crate::stats::rejected(stat);
                self.error(&transaction::rejected(spec.name, text)).await;
                return Flow::Continue;
            }
        };
        self.stats.push(stat, &name, &args);
        if self.session.tracking.is_some() {
            local::tracking::note_command(&mut self.session, spec, &name, &args);
        }
        let mut args = Args::new(args);
        match spec.handler {
            Handler::Storage(parse) => {
                let ctx = ParseCtx {
                    now_ms: self.session.clock.now_ms(),
                    proto_max_bulk_len: self
                        .session
                        .shared
                        .proto_max_bulk_len
                        .load(Ordering::Relaxed),
                    db: self.session.state.db,
                };
                match parse(&mut args, &ctx) {
                    Ok(command) if crate::blocked::is_blocking(&command) => {
                        // Sent alone after what came before; `run` waits for it.
                        self.flush_batch().await;
                        self.blocked = Some(command);
                    }
                    Ok(mut command) => {
                        local::acl::tag_script(&self.session, &mut command);
                        self.batch.push(command);
                        if self.batch.len() >= self.session.shared.config.pipeline_batch {
                            self.flush_batch().await;
                        }
                    }
                    Err(e) => {
                        self.stats.pop();
                        self.error(&e.to_string()).await;
                        crate::stats::failed_call(stat);
                    }
                }
                Flow::Continue
            }
            Handler::Local(local) => {
                self.flush_batch().await;
                // `CLIENT REPLY OFF` silences its own reply: cut from here.
                self.session.reply_mark = self.session.out.len();
                // A repeated PING/ECHO/TIME changes nothing CLIENT LIST shows: skip the
                // client list's lock and copy (they were a tenth of a pipelined PING's cost).
                let unchanged = matches!(local, Local::Ping | Local::Echo | Local::Time)
                    && self.session.state.last_command == spec.name.as_bytes();
                if !unchanged {
                    self.session.state.last_command = spec.name.as_bytes().to_vec();
                }
                // Boxed, like the other rare or large waits here: every connection's task
                // holds its future's largest state inline, idle or not (5.5 KiB before).
                let started = Instant::now();
                let ran = Box::pin(local::run_local(local, args, &mut self.session)).await;
                let ns = started.elapsed().as_nanos() as u64;
                if let Err(CommandError::WrongArity(_)) = ran {
                    self.stats.pop();
                    crate::stats::rejected(stat);
                    shown = None;
                }
                let (reply, flow) = match ran {
                    Ok(r) => r,
                    Err(e) => (tandem_shared::Reply::Error(e.to_string()), Flow::Continue),
                };
                let failed = matches!(reply, tandem_shared::Reply::Error(_));
                if let tandem_shared::Reply::Error(text) = &reply {
                    crate::stats::error_reply(text);
                }
                self.stats
                    .finish(1, Some(ns), &self.session.state, |_| failed);
                self.session.clock.forget();
                if flow != Flow::Replied {
                    tandem_resp::encode::encode(
                        &reply,
                        self.session.state.protocol,
                        &mut self.session.out,
                    );
                }
                local::monitor::after(&mut self.session, shown, 0);
                if matches!(
                    local,
                    Local::Subscribe | Local::Unsubscribe | Local::PSubscribe | Local::PUnsubscribe
                ) {
                    // Subscription confirmations are pushes, which Redis sends even under
                    // `CLIENT REPLY OFF`, like the messages that follow them.
                    self.session.reply_mark = self.session.out.len();
                }
                if !unchanged {
                    self.session.shared.clients.update(&self.session.state);
                }
                if flow == Flow::Replied {
                    Flow::Continue
                } else {
                    flow
                }
            }
        }
    }

    /// Appends queued pub/sub messages (after `first`, if given) to the output, stopping at
    /// the flush threshold so one busy channel cannot grow the buffer without bound.
    fn write_messages(&mut self, first: Option<Delivery>) {
        // Client-side caching's invalidations, after the replies (`crate::tracking`).
        local::tracking::write_pushes(&mut self.session);
        let Some(subs) = self.session.subs.as_mut() else {
            return;
        };
        let proto = self.session.state.protocol;
        if let Some(d) = first {
            d.encode(proto, &mut self.session.out);
        }
        while self.session.out.len() < OUTPUT_FLUSH_AT {
            match subs.inbox.try_recv() {
                Some(d) => d.encode(proto, &mut self.session.out),
                None => break,
            }
        }
    }

    /// The blocking-call path: earlier replies go out first, then the connection waits for
    /// the pop without the link's request deadline (`crate::blocked`), reading the socket
    /// to notice the client closing. False if the client went away meanwhile, or if the proxy started
    /// draining and storaged released the pop unserved: the client then gets no reply and
    /// the connection closes (nothing was popped for it).
    async fn block(
        &mut self,
        stream: &mut ClientStream,
        rbuf: &mut BytesMut,
        kill: &CancellationToken,
        command: Command,
    ) -> std::io::Result<bool> {
        if !self.session.out.is_empty() {
            crate::stats::net_written(self.session.out.len());
            stream.write_all(&self.session.out).await?;
            self.session.out.clear();
        }
        self.session.reply_mark = 0;
        let unblock = Arc::new(crate::clients::Unblock::default());
        self.session
            .shared
            .clients
            .set_blocked(self.session.state.id, Some(unblock.clone()));
        let waiter = crate::blocked::Waiter {
            proxy: self.session.link.instance_id(),
            client: self.session.state.id,
        };
        // The socket is still read while the pop waits, to notice the client closing; what
        // it sends meanwhile stays buffered for after the pop, as Redis does.
        let client_gone = async {
            loop {
                tokio::select! {
                    _ = kill.cancelled() => return,
                    read = stream.read_buf(rbuf), if rbuf.len() < MAX_BUFFERED_WHILE_BLOCKED => {
                        if matches!(read, Ok(0) | Err(_)) {
                            return;
                        }
                    }
                }
            }
        };
        let waited = crate::blocked::wait(
            &self.session.link,
            self.session.state.db,
            command,
            waiter,
            &unblock,
            &self.session.shared.drain,
            client_gone,
        )
        .await;
        self.session
            .shared
            .clients
            .set_blocked(self.session.state.id, None);
        match waited {
            crate::blocked::Waited::Answered(result) => self.encode_result(result, 1, None),
            crate::blocked::Waited::Unblocked => {
                let text = tandem_shared::StorageError::Unblocked.to_string();
                crate::stats::error_reply(&text);
                self.stats.finish(1, None, &self.session.state, |_| true);
                tandem_resp::encode::encode_error(&text, &mut self.session.out);
            }
            crate::blocked::Waited::Gone | crate::blocked::Waited::Drained => {
                self.stats.pop();
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Holds a command while `CLIENT PAUSE` holds it (`crate::local::pause::holds`): the
    /// replies before it go out first, then the connection waits, shown as blocked (flag
    /// `b`, `blocked_clients`) with the held command, and reads the socket only to notice
    /// the client closing, as Redis keeps a postponed client's further input unread. False
    /// if the client went away, was killed, or the proxy started draining meanwhile: the
    /// command never runs and the connection closes.
    async fn hold(
        &mut self,
        stream: &mut ClientStream,
        rbuf: &mut BytesMut,
        kill: &CancellationToken,
        argv: &[Bytes],
    ) -> std::io::Result<bool> {
        self.flush_batch().await;
        if !self.session.out.is_empty() {
            crate::stats::net_written(self.session.out.len());
            stream.write_all(&self.session.out).await?;
            self.session.out.clear();
        }
        let shown = std::mem::take(&mut self.session.state.last_command);
        if let Some(spec) = argv.first().and_then(|n| tandem_commands::lookup(n)) {
            self.session.state.last_command = spec.name.as_bytes().to_vec();
        }
        self.session.state.blocked = true;
        self.session.shared.clients.update(&self.session.state);
        let drain = self.session.shared.drain.clone();
        let released = loop {
            if !local::pause::holds(&self.session, argv) {
                break true;
            }
            tokio::select! {
                _ = kill.cancelled() => break false,
                _ = drain.cancelled() => break false,
                _ = crate::pause::control().changed() => {}
                read = stream.read_buf(rbuf), if rbuf.len() < MAX_BUFFERED_WHILE_BLOCKED => {
                    if matches!(read, Ok(0) | Err(_)) {
                        break false;
                    }
                }
            }
        };
        self.session.state.blocked = false;
        self.session.state.last_command = shown;
        self.session.shared.clients.update(&self.session.state);
        Ok(released)
    }

    /// Writes an error reply after everything queued before it.
    async fn error(&mut self, text: &str) {
        self.flush_batch().await;
        crate::stats::error_reply(text);
        tandem_resp::encode::encode_error(text, &mut self.session.out);
    }

    /// Sends the pending storage commands as one request and encodes their replies.
    async fn flush_batch(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let commands = std::mem::take(&mut self.batch);
        let count = commands.len();
        let started = Instant::now();
        let result = Box::pin(self.session.link.call(self.session.state.db, commands)).await;
        let ns = started.elapsed().as_nanos() as u64;
        self.session.clock.forget();
        self.encode_result(result, count, Some(ns));
    }

    /// Encodes the `count` replies of a storage call that took `ns` (none for a blocking
    /// pop's wait), and counts them (`crate::stats`).
    fn encode_result(
        &mut self,
        result: Result<tandem_shared::wire::Frame, LinkError>,
        count: usize,
        ns: Option<u64>,
    ) {
        // Which replies were errors, for the statistics; allocated only when one is.
        let mut failed: Vec<usize> = Vec::new();
        match result {
            Ok(frame) => match frame.access::<Response>() {
                Ok(response) => {
                    for (i, outcome) in response.outcomes.iter().enumerate() {
                        match outcome {
                            ArchivedOutcome::Ok(reply) => {
                                if let tandem_shared::reply::ArchivedReply::Error(text) = reply {
                                    failed.push(i);
                                    crate::stats::error_reply(text);
                                }
                                tandem_resp::encode::encode_archived(
                                    reply,
                                    self.session.state.protocol,
                                    &mut self.session.out,
                                );
                            }
                            ArchivedOutcome::Err(e) => {
                                let text = e.message();
                                failed.push(i);
                                crate::stats::error_reply(&text);
                                tandem_resp::encode::encode_error(&text, &mut self.session.out);
                            }
                        }
                    }
                    failed.extend(response.outcomes.len()..count);
                    for _ in response.outcomes.len()..count {
                        tandem_resp::encode::encode_error(
                            "ERR storage returned too few replies",
                            &mut self.session.out,
                        );
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "invalid response frame from storaged");
                    failed.extend(0..count);
                    for _ in 0..count {
                        tandem_resp::encode::encode_error(
                            "ERR storage sent an invalid response",
                            &mut self.session.out,
                        );
                    }
                }
            },
            Err(e) => {
                let text = e.to_string();
                failed.extend(0..count);
                for _ in 0..count {
                    crate::stats::error_reply(&text);
                    tandem_resp::encode::encode_error(&text, &mut self.session.out);
                }
            }
        }
        self.stats
            .finish(count, ns, &self.session.state, |i| failed.contains(&i));
    }
}

/// Room a read asks for: a pipeline's worth of small commands, or a slice of a large one.
const READ_CHUNK: usize = 16 * 1024;

/// Reads into `rbuf`, allocating its room only once the socket has bytes waiting, so an
/// idle connection holds no read buffer. Cancel-safe: nothing is read until `readable`
/// has resolved, and the reads do not wait. (A TLS connection reads through rustls, which
/// holds its own buffers: see `crate::tls::read_tls`.)
async fn read_lazily(stream: &mut ClientStream, rbuf: &mut BytesMut) -> std::io::Result<usize> {
    let stream = match stream {
        ClientStream::Plain(s) => &*s,
        ClientStream::Tls(s) => return crate::tls::read_tls(s, rbuf).await,
    };
    loop {
        stream.readable().await?;
        let read = if rbuf.capacity() == 0 {
            read_unbuffered(stream, rbuf)
        } else {
            if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
                rbuf.reserve(READ_CHUNK);
            }
            stream.try_read_buf(rbuf)
        };
        match read {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            other => return other,
        }
    }
}

thread_local! {
    /// Where [`read_unbuffered`] reads, one per runtime thread (a read never waits).
    static SCRATCH: std::cell::RefCell<Box<[u8]>> =
        std::cell::RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}

/// The read of a connection that holds no buffer (a new one, or one that answered
/// everything it read): into the thread's scratch buffer, then into a buffer of the size
/// that arrived. Reading straight into a fresh [`READ_CHUNK`] buffer, even one freed as
/// soon as its commands were answered, left the proxy 4 KiB per connection larger after
/// its first command (7.6 KiB against 3.6 never used, measured by `tests/limits.rs`); the
/// copy of what one read returned is cheap next to the read. A read that fills the scratch
/// buffer leaves the rest to the next read, into a grown buffer.
fn read_unbuffered(stream: &TcpStream, rbuf: &mut BytesMut) -> std::io::Result<usize> {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        let n = stream.try_read(&mut scratch)?;
        rbuf.extend_from_slice(&scratch[..n]);
        Ok(n)
    })
}

/// The next pub/sub message for a subscribed client; never resolves for others.
async fn next_message(subs: &mut Option<ClientSubs>) -> Option<Delivery> {
    match subs {
        Some(s) => s.inbox.recv().await,
        None => std::future::pending().await,
    }
}
