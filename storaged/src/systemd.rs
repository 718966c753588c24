//! The service-manager protocol: sockets handed over by systemd (`LISTEN_FDS`) and
//! `sd_notify` messages (`READY=1`, `STATUS=`, `WATCHDOG=1`, `STOPPING=1`). Every function is a
//! no-op outside systemd (no `LISTEN_PID`/`NOTIFY_SOCKET` for this process), so development
//! runs and the tests bind their own socket. Owns no policy about when to notify: the server
//! decides that.

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::time::Duration;

use sd_notify::NotifyState;

/// The first listening socket systemd passed (`LISTEN_FDS`/`LISTEN_PID`, fd 3), if any.
/// Clears the variables so children do not inherit them. Call before starting threads: it
/// edits the environment.
///
/// # Errors
/// Malformed variables, or an fd 3 that is not a listening Unix stream socket.
pub fn take_unix_listener() -> std::io::Result<Option<UnixListener>> {
    let Some(fd) = sd_notify::listen_fds()?.next() else {
        return Ok(None);
    };
    let owned = adopt(fd);
    check_unix_stream(&owned)?;
    let listener = UnixListener::from(owned);
    // systemd hands over blocking sockets; tokio needs non-blocking ones.
    listener.set_nonblocking(true)?;
    Ok(Some(listener))
}

/// Takes ownership of a descriptor systemd passed at exec.
#[allow(unsafe_code)]
fn adopt(fd: std::os::fd::RawFd) -> OwnedFd {
    // SAFETY: `listen_fds` returns only fds in 3..3+LISTEN_FDS, and only when LISTEN_PID is
    // this process: systemd opened them for us at exec and nothing else in this process owns
    // or closes them; the iterator is consumed once, at startup, before any other fd exists.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn check_unix_stream(fd: &OwnedFd) -> std::io::Result<()> {
    use nix::sys::socket::{getsockname, getsockopt, sockopt, SockType, UnixAddr};
    use std::os::fd::AsRawFd;
    let wrong = |what: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("socket passed by systemd is {what}; expected a listening Unix stream socket (ListenStream=/path)"),
        )
    };
    match getsockopt(fd, sockopt::SockType) {
        Ok(SockType::Stream) => {}
        Ok(other) => return Err(wrong(&format!("{other:?}"))),
        Err(e) => return Err(std::io::Error::from(e)),
    }
    if getsockname::<UnixAddr>(fd.as_raw_fd()).is_err() {
        return Err(wrong("not AF_UNIX"));
    }
    match getsockopt(fd, sockopt::AcceptConn) {
        Ok(true) => Ok(()),
        Ok(false) => Err(wrong("not listening")),
        Err(e) => Err(std::io::Error::from(e)),
    }
}

/// Sends `states`; failures are logged, never fatal (a lost notification must not stop service).
pub fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!(error = %e, "sd_notify failed");
    }
}

/// `READY=1` with a status line.
pub fn ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// `STOPPING=1` with a status line.
pub fn stopping(status: &str) {
    notify(&[NotifyState::Stopping, NotifyState::Status(status)]);
}

/// A status line for `systemctl status`.
pub fn status(status: &str) {
    notify(&[NotifyState::Status(status)]);
}

/// Asks for `extra` more time for the stop in progress (`EXTEND_TIMEOUT_USEC`).
pub fn extend_timeout(extra: Duration) {
    let usec = u32::try_from(extra.as_micros()).unwrap_or(u32::MAX);
    notify(&[NotifyState::ExtendTimeoutUsec(usec)]);
}

/// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC` when systemd watches this process.
pub fn watchdog_interval() -> Option<Duration> {
    let mut usec = 0;
    if sd_notify::watchdog_enabled(false, &mut usec) && usec > 0 {
        Some(Duration::from_micros(usec / 2))
    } else {
        None
    }
}

/// `WATCHDOG=1`.
pub fn watchdog() {
    notify(&[NotifyState::Watchdog]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::{UnixDatagram, UnixStream};

    #[test]
    fn accepts_only_a_listening_unix_stream_socket() {
        let dir = tempfile::tempdir().expect("temp dir");
        let listener = UnixListener::bind(dir.path().join("s.sock")).expect("bind");
        assert!(check_unix_stream(&OwnedFd::from(listener)).is_ok());

        let datagram = UnixDatagram::unbound().expect("datagram socket");
        assert!(check_unix_stream(&OwnedFd::from(datagram)).is_err());

        let (connected, _peer) = UnixStream::pair().expect("socket pair");
        let err = check_unix_stream(&OwnedFd::from(connected)).expect_err("not listening");
        assert!(err.to_string().contains("not listening"), "{err}");

        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind tcp");
        let err = check_unix_stream(&OwnedFd::from(tcp)).expect_err("not AF_UNIX");
        assert!(err.to_string().contains("not AF_UNIX"), "{err}");
    }
}
