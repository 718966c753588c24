//! The link socket's non-blocking I/O: registered with tokio for readability only, written
//! with plain non-blocking writes that ask for writability only while they wait for room.
//!
//! Why not tokio's `UnixStream`: it registers for readability and writability, and every
//! request storaged reads frees send-buffer space here, an `EPOLLOUT` edge that woke a
//! worker thread per request for nothing (on a VM a thread wake-up costs more than the
//! work of a small request). storaged's end does the same (`storaged/src/outbox.rs`).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Most bytes [`read_some`] takes per read (the scratch buffer's size).
pub const READ_SCRATCH: usize = 64 * 1024;

/// The link socket registered for readability only.
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
        write_all(&a, &big).await.expect("write");
        a.shutdown(std::net::Shutdown::Write).expect("shutdown");
        assert!(reader.join().expect("reader") == big);
    }

    #[tokio::test]
    async fn reads_append_what_arrived_until_the_end() {
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
}
