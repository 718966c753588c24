//! The per-link outbound buffer ([`Outbox`]), the link socket's non-blocking I/O
//! ([`read_some`], [`write_all`]), and where an encoded response goes: the outbox of the
//! link it came on, or (for a request that may wait, such as a parked blocking pop) a
//! one-off channel ([`ReplyTo`]).
//!
//! Every producer — the link's own task for in-memory reads, the read pool, the writer
//! thread, the pub/sub hub — appends whole frames to the link's [`Outbox`]. Then either it
//! writes what has gathered itself, with one non-blocking `write` on its own thread
//! ([`Outbox::write_now`]: the link's task, the read pool, the writer after a small group),
//! or it wakes the link's writer task to do so ([`Outbox::flush`]: the writer after a large
//! group, pushes). Writing on the producer's thread saves a thread wake-up per reply, which
//! on a VM costs more than the write (a lone client's SET crossed three threads on
//! storaged's side; now two); waking the task keeps the syscalls of a big group off the
//! writer thread, which bounds write throughput. Only one thread writes at a time
//! ([`Writing`]), whole frames in append order; a socket that cannot take everything at
//! once is left to the task, which waits for it to drain. Nothing here blocks on the
//! socket: appending takes a short mutex and never waits.
//!
//! The socket is registered with tokio for readability only: a registration that also
//! asks for writability wakes the I/O thread each time the proxy reads a reply (every
//! consumed message frees send-buffer space, an `EPOLLOUT` edge). Writability is asked for
//! only while a write waits for room ([`write_all`]).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::BytesMut;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::{oneshot, Notify};

/// Frames at least this large are moved into an empty outbox rather than copied (smaller
/// ones are copied, so the outbox keeps the capacity it reuses).
const OWNED_ABOVE: usize = 64 * 1024;

/// Rounds a direct writer goes on writing what others appended meanwhile before it hands
/// the rest to the link's task (bounds the time one producer spends writing for others).
const DIRECT_ROUNDS: usize = 4;

/// Most bytes [`read_some`] takes per read (the scratch buffer's size).
pub const READ_SCRATCH: usize = 64 * 1024;

/// One link's outbound bytes, shared by everyone who answers on it.
#[derive(Default)]
pub struct Outbox {
    state: Mutex<State>,
    wake: Notify,
    /// The link's socket (non-blocking), for [`Outbox::write_now`]; `None` in tests.
    sock: Option<Arc<UnixStream>>,
}

/// Who writes the outbox's bytes to the socket right now.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Writing {
    /// Nobody: the next [`Outbox::write_now`] writes, or the task after a flush.
    #[default]
    Idle,
    /// A producer's thread, outside the lock; it looks at `buf` again before it stops.
    Direct,
    /// The link's writer task (it takes `buf` again after each write).
    Task,
}

#[derive(Default)]
struct State {
    buf: BytesMut,
    /// A direct writer's buffer kept between writes, so appends reuse its capacity.
    spare: BytesMut,
    writing: Writing,
    closed: bool,
}

impl Outbox {
    /// An outbox without a socket: frames gather until taken ([`Outbox::take`]).
    pub fn new() -> Arc<Outbox> {
        Arc::new(Outbox::default())
    }

    /// An outbox whose producers may write to `sock` (non-blocking) themselves.
    pub fn with_socket(sock: Arc<UnixStream>) -> Arc<Outbox> {
        Arc::new(Outbox {
            sock: Some(sock),
            ..Outbox::default()
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while appending leaves at worst a partial buffer of whole frames.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one frame; the caller then writes it with [`Outbox::write_now`] or wakes
    /// the writer task with [`Outbox::flush`] (or through [`Woken`]) once it has appended
    /// its batch. Bytes for a closed link are dropped.
    pub fn append(&self, frame: &[u8]) {
        let mut s = self.lock();
        if !s.closed {
            s.buf.extend_from_slice(frame);
        }
    }

    /// [`Outbox::append`] for a frame the caller owns: a large one becomes the buffer,
    /// uncopied, when nothing else is waiting (a 512 MiB reply was copied here whole).
    pub fn append_owned(&self, frame: BytesMut) {
        let mut s = self.lock();
        if s.closed {
            return;
        }
        if s.buf.is_empty() && frame.len() >= OWNED_ABOVE {
            s.buf = frame;
        } else {
            s.buf.extend_from_slice(&frame);
        }
    }

    /// Appends one frame unless more than `limit` bytes are already waiting (an empty
    /// outbox takes any frame); false when refused. For pushes, which nobody waits for: a
    /// proxy that stops reading must not grow storaged without bound.
    pub fn append_bounded(&self, frame: &[u8], limit: usize) -> bool {
        let mut s = self.lock();
        if s.closed {
            return true;
        }
        if !s.buf.is_empty() && s.buf.len() + frame.len() > limit {
            return false;
        }
        s.buf.extend_from_slice(frame);
        true
    }

    /// Wakes the link's writer task to write what has gathered.
    pub fn flush(&self) {
        self.wake.notify_one();
    }

    /// Writes what has gathered on the calling thread, without waiting: whatever the
    /// socket does not take at once, and anything past a few rounds of others' appends, is
    /// left to the link's task. If another thread is writing already, it writes these
    /// bytes too. Without a socket this is [`Outbox::flush`].
    pub fn write_now(&self) {
        let Some(sock) = &self.sock else {
            return self.flush();
        };
        let mut taken = {
            let mut s = self.lock();
            if s.writing != Writing::Idle || s.buf.is_empty() {
                return;
            }
            s.writing = Writing::Direct;
            let spare = std::mem::take(&mut s.spare);
            std::mem::replace(&mut s.buf, spare)
        };
        for round in 1.. {
            let written = write_some(sock, &taken);
            let mut s = self.lock();
            if written < taken.len() {
                // The socket is full (or failed): the task waits for room, or meets the
                // error and ends the link. The rest goes first, before later appends.
                let mut rest = BytesMut::from(&taken[written..]);
                rest.extend_from_slice(&s.buf);
                s.buf = rest;
                s.writing = Writing::Task;
                drop(s);
                self.wake.notify_one();
                return;
            }
            taken.clear();
            if s.buf.is_empty() || s.closed || round >= DIRECT_ROUNDS {
                // A large reply must not stay pinned as the spare for the link's life.
                tandem_shared::wire::shrink_after_burst(&mut taken, 0);
                s.spare = taken;
                s.writing = if s.buf.is_empty() {
                    Writing::Idle
                } else {
                    Writing::Task
                };
                let wake = s.writing == Writing::Task || s.closed;
                drop(s);
                if wake {
                    self.wake.notify_one();
                }
                return;
            }
            tandem_shared::wire::shrink_after_burst(&mut taken, 0);
            taken = std::mem::replace(&mut s.buf, taken);
        }
    }

    /// True once the link's task has ended.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Stops taking frames; the writer task writes what is left, then ends.
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_one();
    }

    /// For the link's writer task: waits until bytes are waiting and no producer is
    /// writing, and swaps them into `out` (which must be empty; its capacity is reused).
    /// The task owns the socket until it calls this again and nothing is left. False once
    /// closed and drained.
    pub async fn take(&self, out: &mut BytesMut) -> bool {
        debug_assert!(out.is_empty());
        loop {
            {
                let mut s = self.lock();
                if s.writing != Writing::Direct {
                    if !s.buf.is_empty() {
                        std::mem::swap(&mut s.buf, out);
                        s.writing = Writing::Task;
                        return true;
                    }
                    s.writing = Writing::Idle;
                    if s.closed {
                        return false;
                    }
                }
            }
            // A flush between the check and here leaves a permit, so nothing is missed;
            // a direct writer that stops wakes the task when it leaves bytes or on close.
            self.wake.notified().await;
        }
    }
}

/// One non-blocking write of as much of `bytes` as the socket takes; the count written
/// (short on a full socket or an error: the link's task then waits or meets the error).
fn write_some(sock: &UnixStream, bytes: &[u8]) -> usize {
    let mut written = 0;
    while written < bytes.len() {
        match (&*sock).write(&bytes[written..]) {
            Ok(0) => break,
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    written
}

/// Writes all of `bytes` to the non-blocking `sock`, waiting for room when it is full: the
/// socket is registered for writability (a second descriptor of it) only while waiting.
///
/// # Errors
/// The socket's error; `WriteZero` if it takes nothing.
pub async fn write_all(sock: &Arc<UnixStream>, mut bytes: &[u8]) -> std::io::Result<()> {
    let mut room: Option<AsyncFd<UnixStream>> = None;
    while !bytes.is_empty() {
        match (&**sock).write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let fd = match room.take() {
                    Some(fd) => fd,
                    None => register(sock.try_clone()?, Interest::WRITABLE)?,
                };
                let mut ready = fd.writable().await?;
                // Cleared only if the socket is still full, so an edge is never lost.
                if let Ok(result) = ready.try_io(|s| s.get_ref().write(bytes)) {
                    match result {
                        Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                        Ok(n) => bytes = &bytes[n..],
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                drop(ready);
                room = Some(fd);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The link socket registered for readability only (see the module doc).
pub type ReadSide = AsyncFd<Arc<UnixStream>>;

/// Registers `sock` (non-blocking) for readability.
///
/// # Errors
/// If tokio cannot register it.
pub fn read_side(sock: Arc<UnixStream>) -> std::io::Result<ReadSide> {
    register(sock, Interest::READABLE)
}

/// Registers a socket with tokio for `interest` only.
// tokio deprecated its safe constructor because an arbitrary `AsRawFd` may close or swap
// its descriptor while registered; its replacement is `unsafe`, which this workspace
// denies. A `UnixStream` (or an `Arc` of one, which the `AsyncFd` holds) owns its
// descriptor until dropped, so the condition the new one asks its caller for holds here.
#[allow(deprecated)]
fn register<T: std::os::fd::AsRawFd>(sock: T, interest: Interest) -> std::io::Result<AsyncFd<T>> {
    AsyncFd::with_interest(sock, interest)
}

/// Waits until the socket has bytes and appends what one read returns (at most
/// [`READ_SCRATCH`], through `scratch`) to `buf`; `Ok(0)` at end of stream. Cancel safe:
/// nothing is read while it waits.
///
/// # Errors
/// The socket's error.
pub async fn read_some(
    fd: &ReadSide,
    scratch: &mut [u8],
    buf: &mut BytesMut,
) -> std::io::Result<usize> {
    loop {
        let mut ready = fd.readable().await?;
        match ready.try_io(|s| (&**s.get_ref()).read(scratch)) {
            Ok(Ok(n)) => {
                if n > 0 && n < scratch.len() {
                    // A short read drained the socket: the next bytes bring a new edge
                    // (as tokio's own streams do, this saves a read that would block).
                    ready.clear_ready();
                }
                buf.extend_from_slice(&scratch[..n]);
                return Ok(n);
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => {}
        }
    }
}

#[cfg(test)]
impl Outbox {
    /// Everything waiting, without a writer task.
    pub(crate) fn take_now(&self) -> BytesMut {
        std::mem::take(&mut self.lock().buf)
    }
}

/// Where one request's response goes.
pub enum ReplyTo {
    /// Appended to the link's outbox.
    Link(Arc<Outbox>),
    /// Sent to a task that waits for it (parked blocking pops: the task gives up when
    /// its link closes, which the parked entry sees as a closed channel).
    Once(oneshot::Sender<BytesMut>),
}

impl ReplyTo {
    /// True when nobody will read the response any more.
    pub fn is_closed(&self) -> bool {
        match self {
            ReplyTo::Link(out) => out.is_closed(),
            ReplyTo::Once(tx) => tx.is_closed(),
        }
    }

    /// Hands the response over; an outbox is woken later, through `woken`.
    pub fn deliver(self, frame: BytesMut, woken: &mut Woken) {
        match self {
            ReplyTo::Link(out) => {
                out.append_owned(frame);
                woken.add(out);
            }
            ReplyTo::Once(tx) => {
                let _ = tx.send(frame);
            }
        }
    }
}

/// Outboxes appended to in one batch, each woken once by [`Woken::flush`].
#[derive(Default)]
pub struct Woken(Vec<Arc<Outbox>>);

impl Woken {
    fn add(&mut self, out: Arc<Outbox>) {
        // A handful of links per storaged: a linear scan beats hashing.
        if !self.0.iter().any(|o| Arc::ptr_eq(o, &out)) {
            self.0.push(out);
        }
    }

    /// Wakes the writer task of every outbox appended to since the last flush.
    pub fn flush(&mut self) {
        for out in self.0.drain(..) {
            out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_gather_until_taken_and_close_drains() {
        let out = Outbox::new();
        let mut woken = Woken::default();
        ReplyTo::Link(out.clone()).deliver(BytesMut::from(&b"ab"[..]), &mut woken);
        ReplyTo::Link(out.clone()).deliver(BytesMut::from(&b"cd"[..]), &mut woken);
        assert_eq!(woken.0.len(), 1, "one wake per outbox per batch");
        woken.flush();
        let mut buf = BytesMut::new();
        assert!(out.take(&mut buf).await);
        assert_eq!(&buf[..], b"abcd");
        buf.clear();
        out.append(b"ef");
        out.close();
        assert!(out.is_closed());
        assert!(
            out.take(&mut buf).await,
            "what was appended before close is written"
        );
        assert_eq!(&buf[..], b"ef");
        buf.clear();
        assert!(!out.take(&mut buf).await);
        out.append(b"late");
        assert!(
            !out.take(&mut buf).await,
            "a closed outbox drops new frames"
        );
    }

    fn socket_pair() -> (Arc<UnixStream>, UnixStream) {
        let (a, b) = UnixStream::pair().expect("socketpair");
        a.set_nonblocking(true).expect("non-blocking");
        (Arc::new(a), b)
    }

    #[test]
    fn a_producer_writes_on_its_own_thread() {
        let (sock, mut peer) = socket_pair();
        let out = Outbox::with_socket(sock);
        out.append(b"ab");
        out.append(b"cd");
        out.write_now();
        assert!(out.take_now().is_empty(), "nothing left for the task");
        let mut got = [0u8; 4];
        peer.read_exact(&mut got).expect("read");
        assert_eq!(&got, b"abcd");
    }

    #[tokio::test]
    async fn a_full_socket_leaves_the_rest_to_the_task_in_order() {
        let (sock, mut peer) = socket_pair();
        let out = Outbox::with_socket(sock.clone());
        // More than a socket buffer holds: the direct write stops short.
        let big: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 251) as u8).collect();
        out.append(&big);
        out.write_now();
        // Someone else writing now leaves its bytes to the task, after the rest.
        out.append(b"tail");
        out.write_now();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            peer.read_to_end(&mut all).expect("read");
            all
        });
        let mut pending = BytesMut::new();
        while !out.lock().buf.is_empty() {
            assert!(out.take(&mut pending).await);
            write_all(&sock, &pending).await.expect("write");
            pending.clear();
        }
        sock.shutdown(std::net::Shutdown::Write).expect("shutdown");
        let all = reader.join().expect("reader");
        assert_eq!(all.len(), big.len() + 4);
        assert!(all[..big.len()] == big[..], "the frame whole and first");
        assert_eq!(&all[big.len()..], b"tail");
    }

    #[tokio::test]
    async fn reads_append_what_arrived() {
        let (a, mut b) = UnixStream::pair().expect("socketpair");
        a.set_nonblocking(true).expect("non-blocking");
        let fd = read_side(Arc::new(a)).expect("register");
        let mut scratch = vec![0u8; 8];
        let mut buf = BytesMut::from(&b"x"[..]);
        b.write_all(b"hello world").expect("write");
        let mut n = 0;
        while n < 11 {
            n += read_some(&fd, &mut scratch, &mut buf).await.expect("read");
        }
        assert_eq!(&buf[..], b"xhello world");
        drop(b);
        assert_eq!(
            read_some(&fd, &mut scratch, &mut buf).await.expect("eof"),
            0
        );
    }

    #[test]
    fn a_large_reply_written_directly_leaves_no_large_buffer_behind() {
        let (sock, mut peer) = socket_pair();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            peer.read_to_end(&mut all).expect("read");
            all.len()
        });
        let out = Outbox::with_socket(sock.clone());
        let size = 4 * tandem_shared::wire::SHRINK_ABOVE;
        // One direct write of a large reply that the socket takes whole (the reader drains
        // it meanwhile; a short write leaves the rest to the task: dropped, and retried).
        loop {
            out.append_owned(BytesMut::from(&vec![1u8; size][..]));
            out.write_now();
            let mut s = out.lock();
            if s.buf.is_empty() {
                break;
            }
            s.buf = BytesMut::new();
            s.writing = Writing::Idle;
        }
        let s = out.lock();
        assert!(s.buf.capacity() <= tandem_shared::wire::SHRINK_ABOVE);
        assert!(s.spare.capacity() <= tandem_shared::wire::SHRINK_ABOVE);
        drop(s);
        sock.shutdown(std::net::Shutdown::Write).expect("shutdown");
        assert!(reader.join().expect("reader") >= size);
    }

    #[test]
    fn a_large_frame_moves_into_an_empty_outbox_uncopied() {
        let out = Outbox::new();
        let big = BytesMut::from(&vec![7u8; OWNED_ABOVE][..]);
        let at = big.as_ptr();
        out.append_owned(big);
        let got = out.take_now();
        assert_eq!(got.as_ptr(), at, "the frame's own buffer");
        assert_eq!(got.len(), OWNED_ABOVE);
        // Behind other bytes it is copied, in order.
        out.append(b"head");
        out.append_owned(BytesMut::from(&vec![8u8; OWNED_ABOVE][..]));
        let got = out.take_now();
        assert_eq!(&got[..4], b"head");
        assert_eq!(got.len(), OWNED_ABOVE + 4);
    }

    #[test]
    fn bounded_append_refuses_past_the_limit_but_always_takes_one_frame() {
        let out = Outbox::new();
        assert!(
            out.append_bounded(&[0; 100], 10),
            "an empty outbox takes any frame"
        );
        assert!(!out.append_bounded(&[0; 1], 10));
        let big = Outbox::new();
        assert!(big.append_bounded(&[0; 4], 10));
        assert!(big.append_bounded(&[0; 6], 10));
        assert!(!big.append_bounded(&[0; 1], 10));
    }

    #[test]
    fn once_replies_and_closed_channels() {
        let (tx, mut rx) = oneshot::channel();
        let reply = ReplyTo::Once(tx);
        assert!(!reply.is_closed());
        let mut woken = Woken::default();
        reply.deliver(BytesMut::from(&b"x"[..]), &mut woken);
        assert_eq!(rx.try_recv().ok().as_deref(), Some(&b"x"[..]));
        let (tx, rx) = oneshot::channel::<BytesMut>();
        drop(rx);
        assert!(ReplyTo::Once(tx).is_closed());
    }
}
