//! `sd_notify` messages to the service manager (`READY=1`, `STATUS=`, `WATCHDOG=1`,
//! `STOPPING=1`, `EXTEND_TIMEOUT_USEC=`); named after the protocol so that "notify" means
//! keyspace events everywhere else in the workspace. Every function is a no-op outside
//! systemd (no `NOTIFY_SOCKET`), and a failure is logged, never fatal: a lost message must
//! not stop the service. When to send what is the binaries' decision.

use std::time::Duration;

use ::sd_notify::NotifyState;

/// Sends `states`; failures are logged.
pub fn send(states: &[NotifyState]) {
    if let Err(e) = ::sd_notify::notify(false, states) {
        tracing::warn!(error = %e, "sd_notify failed");
    }
}

/// `READY=1` with a status line.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// `STOPPING=1` with a status line.
pub fn stopping(status: &str) {
    send(&[NotifyState::Stopping, NotifyState::Status(status)]);
}

/// A status line for `systemctl status`.
pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// Asks for `extra` more time for the stop in progress (`EXTEND_TIMEOUT_USEC`).
pub fn extend_timeout(extra: Duration) {
    let usec = u32::try_from(extra.as_micros()).unwrap_or(u32::MAX);
    send(&[NotifyState::ExtendTimeoutUsec(usec)]);
}

/// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC` when systemd watches this process.
pub fn watchdog_interval() -> Option<Duration> {
    let mut usec = 0;
    if ::sd_notify::watchdog_enabled(false, &mut usec) && usec > 0 {
        Some(Duration::from_micros(usec / 2))
    } else {
        None
    }
}

/// `WATCHDOG=1`.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}
