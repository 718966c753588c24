//! The per-link outbound buffer ([`Outbox`]), and where an encoded response goes: the
//! outbox of the link it came on, or (for a request that may wait, such as a parked
//! blocking pop) a one-off channel ([`ReplyTo`]).
//!
//! Every producer — the link's own task for in-memory reads, the read pool, the writer
//! thread, the pub/sub hub — appends whole frames to the link's [`Outbox`], and the link's
//! writer task writes everything gathered with one `write`. Producers wake that task once
//! per batch ([`Woken`]), so a group commit of many requests costs one wake-up and one
//! syscall per link, not one task, one channel and one `write` per request. Nothing here
//! blocks on the socket: appending takes a short mutex and never waits.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::BytesMut;
use tokio::sync::{oneshot, Notify};

/// Frames at least this large are moved into an empty outbox rather than copied (smaller
/// ones are copied, so the outbox keeps the capacity it reuses).
const OWNED_ABOVE: usize = 64 * 1024;

/// One link's outbound bytes, shared by everyone who answers on it.
#[derive(Default)]
pub struct Outbox {
    state: Mutex<State>,
    wake: Notify,
}

#[derive(Default)]
struct State {
    buf: BytesMut,
    closed: bool,
}

impl Outbox {
    pub fn new() -> Arc<Outbox> {
        Arc::new(Outbox::default())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while appending leaves at worst a partial buffer of whole frames.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends one frame; the caller wakes the writer with [`Outbox::flush`] (or through
    /// [`Woken`]) once it has appended its batch. Bytes for a closed link are dropped.
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

    /// Wakes the link's writer task.
    pub fn flush(&self) {
        self.wake.notify_one();
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

    /// For the link's writer task: waits until bytes are waiting and swaps them into `out`
    /// (which must be empty; its capacity is reused). False once closed and drained.
    pub async fn take(&self, out: &mut BytesMut) -> bool {
        debug_assert!(out.is_empty());
        loop {
            {
                let mut s = self.lock();
                if !s.buf.is_empty() {
                    std::mem::swap(&mut s.buf, out);
                    return true;
                }
                if s.closed {
                    return false;
                }
            }
            // A flush between the check and here leaves a permit, so nothing is missed.
            self.wake.notified().await;
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

    /// Wakes every outbox appended to since the last flush.
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
