//! The service-manager protocol: sockets handed over by systemd (`LISTEN_FDS`, picked by name
//! through `tandem_service::listen`) and `sd_notify` messages (`READY=1`, `STATUS=`,
//! `WATCHDOG=1`, `STOPPING=1`; sent by `tandem_service::sd_notify`). Every function is a
//! no-op outside systemd (no `LISTEN_PID`/`NOTIFY_SOCKET` for this process), so development
//! runs and the tests bind their own socket. Owns no policy about when to notify: the server
//! decides that.

use std::os::unix::net::UnixListener;

pub use tandem_service::sd_notify::{
    extend_timeout, ready, send, status, stopping, watchdog, watchdog_interval,
};

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
