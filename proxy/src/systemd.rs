//! The service-manager protocol: sockets handed over by systemd (`LISTEN_FDS`) and
//! `sd_notify` messages (`READY=1`, `STATUS=`, `WATCHDOG=1`, `STOPPING=1`). Every function is a
//! no-op outside systemd (no `LISTEN_PID`/`NOTIFY_SOCKET` for this process), so development
//! runs and the tests bind their own socket. Owns no policy about when to notify: the server
//! decides that.

use std::net::TcpListener;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;

use sd_notify::NotifyState;

/// The first listening socket systemd passed (`LISTEN_FDS`/`LISTEN_PID`, fd 3), if any:
/// one instance's TCP socket of `tandem-proxy@.socket` (bound with `ReusePort=yes`).
/// Clears the variables so children do not inherit them. Call before starting threads: it
/// edits the environment.
///
/// # Errors
/// Malformed variables, or an fd 3 that is not a listening TCP socket.
pub fn take_tcp_listener() -> std::io::Result<Option<TcpListener>> {
    let Some(fd) = sd_notify::listen_fds()?.next() else {
        return Ok(None);
    };
    let owned = adopt(fd);
    check_listening_stream(&owned)?;
    let listener = TcpListener::from(owned);
    // std refuses a non-IP address family here.
    listener.local_addr()?;
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

fn check_listening_stream(fd: &OwnedFd) -> std::io::Result<()> {
    use nix::sys::socket::{getsockopt, sockopt, SockType};
    let wrong = |what: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("socket passed by systemd is {what}; expected a listening TCP socket (ListenStream=port)"),
        )
    };
    match getsockopt(fd, sockopt::SockType) {
        Ok(SockType::Stream) => {}
        Ok(other) => return Err(wrong(&format!("{other:?}"))),
        Err(e) => return Err(std::io::Error::from(e)),
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
    use std::net::TcpStream;

    #[test]
    fn accepts_only_a_listening_stream_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = TcpStream::connect(addr).expect("connect");
        assert!(check_listening_stream(&OwnedFd::from(listener)).is_ok());

        let err = check_listening_stream(&OwnedFd::from(client)).expect_err("not listening");
        assert!(err.to_string().contains("not listening"), "{err}");

        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        assert!(check_listening_stream(&OwnedFd::from(udp)).is_err());
    }
}
