//! Sockets systemd passed at exec (`LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`).
//!
//! One fd is used whatever its name. With several, the caller's wanted name picks one
//! (`FileDescriptorName=` in the socket unit); the others are closed, since nothing here
//! serves them. Checks that the chosen fd is a listening stream socket of the right family
//! before anyone wraps it, and makes it non-blocking (systemd hands over blocking sockets,
//! which tokio must not get).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    getsockname, getsockopt, sockopt, AddressFamily, SockType, SockaddrLike, SockaddrStorage,
};

/// The address family a binary expects its listening socket to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `ListenStream=/path`.
    Unix,
    /// `ListenStream=port` or `ListenStream=addr:port`.
    Inet,
}

/// The listening Unix socket named `wanted` (or the only one) that systemd passed, if any,
/// made non-blocking. See [`take`].
///
/// # Errors
/// As [`take`].
pub fn take_unix(wanted: &str) -> std::io::Result<Option<std::os::unix::net::UnixListener>> {
    let Some(fd) = take(wanted, Family::Unix)? else {
        return Ok(None);
    };
    let listener = std::os::unix::net::UnixListener::from(fd);
    listener.set_nonblocking(true)?;
    Ok(Some(listener))
}

/// The listening TCP socket named `wanted` (or the only one) that systemd passed, if any,
/// made non-blocking. See [`take`].
///
/// # Errors
/// As [`take`].
pub fn take_tcp(wanted: &str) -> std::io::Result<Option<std::net::TcpListener>> {
    let Some(fd) = take(wanted, Family::Inet)? else {
        return Ok(None);
    };
    let listener = std::net::TcpListener::from(fd);
    listener.set_nonblocking(true)?;
    Ok(Some(listener))
}

/// Takes the socket named `wanted` (or the only one) from what systemd passed, if anything,
/// still blocking. Clears the variables so children do not inherit them. Call before
/// starting threads: it edits the environment.
///
/// # Errors
/// Malformed variables; several sockets and none (or more than one) named `wanted`; or a
/// chosen fd that is not a listening stream socket of `family`.
pub fn take(wanted: &str, family: Family) -> std::io::Result<Option<OwnedFd>> {
    let passed: Vec<(OwnedFd, String)> = sd_notify::listen_fds_with_names(true)?
        .map(|(fd, name)| (adopt(fd), name))
        .collect();
    let names: Vec<&str> = passed.iter().map(|(_, n)| n.as_str()).collect();
    let Some(index) = pick(&names, wanted).map_err(invalid)? else {
        return Ok(None);
    };
    let mut chosen = None;
    for (i, (fd, name)) in passed.into_iter().enumerate() {
        if i == index {
            chosen = Some(fd);
        } else {
            tracing::warn!(fd = fd.as_raw_fd(), %name, wanted, "closing a socket systemd passed that this service does not use");
        }
    }
    let Some(fd) = chosen else {
        return Ok(None);
    };
    check_listening(&fd, family)?;
    Ok(Some(fd))
}

/// Which of the passed fds (by their `LISTEN_FDNAMES` names) to use: none when nothing was
/// passed, the only one whatever its name, else the single one named `wanted`.
///
/// # Errors
/// Several fds and not exactly one named `wanted`.
pub fn pick(names: &[&str], wanted: &str) -> Result<Option<usize>, String> {
    match names {
        [] => Ok(None),
        [_] => Ok(Some(0)),
        _ => {
            let mut named = names.iter().enumerate().filter(|(_, n)| **n == wanted);
            match (named.next(), named.next()) {
                (Some((i, _)), None) => Ok(Some(i)),
                (None, _) => Err(format!(
                    "systemd passed {} sockets named {:?} and none is named {wanted:?}; set FileDescriptorName={wanted} on the one to serve",
                    names.len(),
                    names
                )),
                (Some(_), Some(_)) => Err(format!(
                    "systemd passed several sockets named {wanted:?}; this service serves exactly one"
                )),
            }
        }
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

/// Takes ownership of a descriptor systemd passed at exec.
#[allow(unsafe_code)]
fn adopt(fd: RawFd) -> OwnedFd {
    // SAFETY: `listen_fds_with_names` yields only fds in 3..3+LISTEN_FDS, and only when
    // LISTEN_PID is this process: systemd opened them for us at exec and nothing else in this
    // process owns or closes them; the variables are cleared, so this happens once.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Checks that `fd` is a listening stream socket of `family`.
///
/// # Errors
/// Anything else, with a message naming what was expected.
pub fn check_listening(fd: &OwnedFd, family: Family) -> std::io::Result<()> {
    let expected = match family {
        Family::Unix => "a listening Unix stream socket (ListenStream=/path)",
        Family::Inet => "a listening TCP socket (ListenStream=port)",
    };
    let wrong = |what: &str| {
        invalid(format!(
            "socket passed by systemd is {what}; expected {expected}"
        ))
    };
    match getsockopt(fd, sockopt::SockType) {
        Ok(SockType::Stream) => {}
        Ok(other) => return Err(wrong(&format!("{other:?}"))),
        Err(e) => return Err(std::io::Error::from(e)),
    }
    let addr: SockaddrStorage = getsockname(fd.as_raw_fd())?;
    let family_ok = matches!(
        (family, addr.family()),
        (Family::Unix, Some(AddressFamily::Unix))
            | (
                Family::Inet,
                Some(AddressFamily::Inet | AddressFamily::Inet6)
            )
    );
    if !family_ok {
        return Err(wrong(match family {
            Family::Unix => "not AF_UNIX",
            Family::Inet => "not AF_INET/AF_INET6",
        }));
    }
    match getsockopt(fd, sockopt::AcceptConn) {
        Ok(true) => Ok(()),
        Ok(false) => Err(wrong("not listening")),
        Err(e) => Err(std::io::Error::from(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream, UdpSocket};
    use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};

    #[test]
    fn picks_the_only_fd_or_the_named_one() {
        assert_eq!(pick(&[], "resp"), Ok(None));
        assert_eq!(pick(&["tandem-proxy@1.socket"], "resp"), Ok(Some(0)));
        assert_eq!(pick(&["admin", "resp"], "resp"), Ok(Some(1)));
        let none = pick(&["a", "b"], "resp").expect_err("no name matches");
        assert!(none.contains("FileDescriptorName=resp"), "{none}");
        assert!(pick(&["resp", "resp"], "resp").is_err());
    }

    #[test]
    fn accepts_only_a_listening_stream_socket_of_the_family() {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = tcp.local_addr().expect("addr");
        let client = TcpStream::connect(addr).expect("connect");
        let tcp = OwnedFd::from(tcp);
        assert!(check_listening(&tcp, Family::Inet).is_ok());
        let err = check_listening(&tcp, Family::Unix).expect_err("not unix");
        assert!(err.to_string().contains("not AF_UNIX"), "{err}");
        let err = check_listening(&OwnedFd::from(client), Family::Inet).expect_err("not listening");
        assert!(err.to_string().contains("not listening"), "{err}");
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        assert!(check_listening(&OwnedFd::from(udp), Family::Inet).is_err());

        let dir = tempfile::tempdir().expect("temp dir");
        let unix = OwnedFd::from(UnixListener::bind(dir.path().join("s.sock")).expect("bind"));
        assert!(check_listening(&unix, Family::Unix).is_ok());
        assert!(check_listening(&unix, Family::Inet).is_err());
        let datagram = UnixDatagram::unbound().expect("datagram socket");
        assert!(check_listening(&OwnedFd::from(datagram), Family::Unix).is_err());
        let (connected, _peer) = UnixStream::pair().expect("socket pair");
        assert!(check_listening(&OwnedFd::from(connected), Family::Unix).is_err());
    }
}
