//! The service-manager protocol: sockets handed over by systemd (`LISTEN_FDS`, picked by name
//! through `tandem_service::listen`) and
//! `sd_notify` messages (`READY=1`, `STATUS=`, `WATCHDOG=1`, `STOPPING=1`). Every function is a
//! no-op outside systemd (no `LISTEN_PID`/`NOTIFY_SOCKET` for this process), so development
//! runs and the tests bind their own socket. Owns no policy about when to notify: the server
//! decides that.

use std::os::unix::net::UnixListener;
use std::time::Duration;

use sd_notify::NotifyState;

/// Name of the socket to serve when systemd passes several (`FileDescriptorName=` in the
/// socket unit); a single passed socket is used whatever its name.
pub const FDNAME: &str = "storaged";

/// The listening socket systemd passed (`LISTEN_FDS`/`LISTEN_PID`/`LISTEN_FDNAMES`), if any,
/// made non-blocking. Clears the variables so children do not inherit them. Call before
/// starting threads: it edits the environment.
///
/// # Errors
/// Malformed variables, several sockets and none named [`FDNAME`], or a socket of the
/// wrong kind.
pub fn take_unix_listener() -> std::io::Result<Option<UnixListener>> {
    tandem_service::listen::take_unix(FDNAME)
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
