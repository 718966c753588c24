//! The link socket's non-blocking I/O: registered with tokio for readability only, written
//! with plain non-blocking writes that ask for writability only while they wait for room.
//!
//! Why not tokio's `UnixStream`: it registers for readability and writability, and every
//! request storaged reads frees send-buffer space here, an `EPOLLOUT` edge that woke a
//! worker thread per request for nothing (on a VM a thread wake-up costs more than the
//! work of a small request). storaged's end does the same (`storaged/src/outbox.rs`).
//!
//! A link to storaged on another host (`storage-socket = "tcp://HOST:PORT"`) is TLS over
//! TCP instead: one rustls session split in a read half and a write half, driven by the
//! link's reader and writer (which run in one task), each write flushed.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest, ReadHalf, WriteHalf};

/// Most bytes [`read_some`] takes per read (the scratch buffer's size).
pub const READ_SCRATCH: usize = 64 * 1024;

/// A TLS link's stream, client side.
pub type TlsLink = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// A connected link, before it is split.
pub enum LinkStream {
    Unix(tokio::net::UnixStream),
    Tls(Box<TlsLink>),
}

/// The read end: the Unix socket registered for readability only, or the TLS read half.
pub enum ReadSide {
    Unix(AsyncFd<Arc<UnixStream>>),
    Tls(ReadHalf<TlsLink>),
}

/// The write end: the non-blocking Unix socket, or the TLS write half.
pub enum WriteSide {
    Unix(Arc<UnixStream>),
    Tls(WriteHalf<TlsLink>),
}

/// Splits a connected link into its read and write ends.
///
/// # Errors
/// If the Unix socket cannot be taken over or registered.
pub fn split(stream: LinkStream) -> std::io::Result<(ReadSide, WriteSide)> {
    match stream {
        LinkStream::Unix(stream) => {
            // Plain non-blocking socket from here, registered for readability only.
            let sock = Arc::new(stream.into_std()?);
            Ok((read_side(sock.clone())?, WriteSide::Unix(sock)))
        }
        LinkStream::Tls(tls) => {
            let (read, write) = tokio::io::split(*tls);
            Ok((ReadSide::Tls(read), WriteSide::Tls(write)))
        }
    }
}

/// Registers `sock` (non-blocking) for readability.
///
/// # Errors
/// If tokio cannot register it.
pub fn read_side(sock: Arc<UnixStream>) -> std::io::Result<ReadSide> {
    register(sock, Interest::READABLE).map(ReadSide::Unix)
}

impl WriteSide {
    /// Half-closes the link: storaged answers what it has read, then closes.
    pub async fn shutdown(&mut self) {
        match self {
            WriteSide::Unix(sock) => {
                let _ = sock.shutdown(std::net::Shutdown::Write);
            }
            WriteSide::Tls(w) => {
                let _ = w.shutdown().await;
            }
        }
    }
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
    side: &mut ReadSide,
    scratch: &mut [u8],
    buf: &mut BytesMut,
) -> std::io::Result<usize> {
    let fd = match side {
        ReadSide::Unix(fd) => &*fd,
        ReadSide::Tls(r) => {
            let n = r.read(scratch).await?;
            buf.extend_from_slice(&scratch[..n]);
            return Ok(n);
        }
    };
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

/// Writes all of `bytes` to the link (over TLS, flushed: rustls may hold what the socket did
/// not take).
///
/// # Errors
/// The socket's or the TLS session's error.
pub async fn write_all(side: &mut WriteSide, bytes: &[u8]) -> std::io::Result<()> {
    match side {
        WriteSide::Unix(sock) => write_all_unix(sock, bytes).await,
        WriteSide::Tls(w) => {
            w.write_all(bytes).await?;
            w.flush().await
        }
    }
}

/// Writes all of `bytes` to the non-blocking `sock`, waiting for room when it is full: the
/// socket is registered for writability (a second descriptor of it) only while waiting.
///
/// # Errors
/// The socket's error; `WriteZero` if it takes nothing.
async fn write_all_unix(sock: &Arc<UnixStream>, mut bytes: &[u8]) -> std::io::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_write_larger_than_the_socket_waits_for_room() {
        let (a, mut b) = UnixStream::pair().expect("socketpair");
        a.set_nonblocking(true).expect("non-blocking");
        let a = Arc::new(a);
        let big: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            b.read_to_end(&mut all).expect("read");
            all
        });
        write_all(&mut WriteSide::Unix(a.clone()), &big)
            .await
            .expect("write");
        a.shutdown(std::net::Shutdown::Write).expect("shutdown");
        assert!(reader.join().expect("reader") == big);
    }

    #[tokio::test]
    async fn reads_append_what_arrived_until_the_end() {
        let (a, mut b) = UnixStream::pair().expect("socketpair");
        a.set_nonblocking(true).expect("non-blocking");
        let mut fd = read_side(Arc::new(a)).expect("register");
        let mut scratch = vec![0u8; 8];
        let mut buf = BytesMut::from(&b"x"[..]);
        b.write_all(b"hello world").expect("write");
        let mut n = 0;
        while n < 11 {
            n += read_some(&mut fd, &mut scratch, &mut buf)
                .await
                .expect("read");
        }
        assert_eq!(&buf[..], b"xhello world");
        drop(b);
        assert_eq!(
            read_some(&mut fd, &mut scratch, &mut buf)
                .await
                .expect("eof"),
            0
        );
    }
}
