//! Protected mode, as Redis 7.0 has it (`protected-mode yes`, the default): while the
//! default user has `nopass`, a client that does not connect from the loopback address
//! (`127.0.0.1` or `::1` exactly, as Redis 7.0 compares them: `127.0.0.2` is not local) gets
//! Redis's `-DENIED` text and its connection is closed, before any command is read.
//!
//! Redis 7.0's condition has two terms, and only these: `protected-mode` is on and the
//! default user carries the `nopass` flag (a default user that is `off` still does; other
//! users do not change it). The bind address plays no part. The decision is
//! [`refuses`]; the accept loop (`crate::server`) asks it once per connection, after the TLS
//! handshake when there is one (Redis's `clientAcceptHandler`), and sends [`DENIED`] with
//! [`deny`]. This module reads the live `protected-mode` setting and the ACL table; it
//! changes neither.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::instance::Shared;
use crate::tls::ClientStream;

/// The `CONFIG` parameter (and the config-file key).
pub const PARAM: &str = "protected-mode";

/// Redis 7.0.15's reply, byte for byte (networking.c, `clientAcceptHandler`).
pub const DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Redis 7.0's local peers: exactly `127.0.0.1` and `::1` (it compares the address
/// strings). An IPv4 client of a dual-stack socket appears as `::ffff:a.b.c.d`, which is
/// the IPv4 address Redis (listening on separate v4 and v6 sockets) would see.
pub fn is_local(peer: IpAddr) -> bool {
    match peer.to_canonical() {
        IpAddr::V4(v4) => v4 == Ipv4Addr::LOCALHOST,
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST,
    }
}

/// Redis's rule on its inputs: protected mode on, the default user `nopass`, the peer not
/// local.
pub fn decide(protected_mode: bool, default_nopass: bool, peer: IpAddr) -> bool {
    protected_mode && default_nopass && !is_local(peer)
}

/// Whether this proxy refuses a client connecting from `peer` now.
pub fn refuses(shared: &Shared, peer: IpAddr) -> bool {
    // Loopback clients never are: skip the lookups on the common path.
    if is_local(peer) {
        return false;
    }
    let enabled = {
        let settings = match shared.settings.read() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        // `CONFIG SET requirepass` reaches the default user lazily, as a client connects.
        shared.acl.sync_requirepass(&settings.requirepass);
        settings.params.get(PARAM).is_none_or(|v| v == "yes")
    };
    let default_nopass = shared
        .acl
        .user(b"default")
        .is_some_and(|user| user.nopass());
    decide(enabled, default_nopass, peer)
}

/// How long a refused connection keeps reading (and dropping) what the client sent, so the
/// close is a FIN after the text rather than a reset that could overtake it.
const LINGER: Duration = Duration::from_secs(1);

/// Sends [`DENIED`], then closes: FIN after the text, and whatever the client sent read and
/// dropped until it closes its side, [`LINGER`] passes or `kill` fires (closing with unread
/// input would make the kernel send a reset, which the client may see before the text).
pub async fn deny(mut stream: ClientStream, kill: CancellationToken) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if stream.write_all(DENIED).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(LINGER, async {
        loop {
            tokio::select! {
                _ = kill.cancelled() => return,
                read = stream.read(&mut sink) => {
                    if matches!(read, Ok(0) | Err(_)) {
                        return;
                    }
                }
            }
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn only_the_two_loopback_addresses_are_local() {
        for local in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert!(is_local(ip(local)), "{local}");
        }
        // Redis 7.0.15 answers DENIED from 127.0.0.2 (checked by hand with redis-server).
        for remote in [
            "127.0.0.2",
            "192.0.2.2",
            "10.1.2.3",
            "fd00::2",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_local(ip(remote)), "{remote}");
        }
    }

    #[test]
    fn both_terms_are_needed() {
        let remote = ip("192.0.2.2");
        assert!(decide(true, true, remote));
        assert!(!decide(false, true, remote), "protected-mode no");
        assert!(!decide(true, false, remote), "default user has a password");
        assert!(!decide(true, true, ip("127.0.0.1")), "loopback");
    }

    #[test]
    fn the_text_is_one_error_line() {
        assert!(DENIED.starts_with(b"-DENIED Redis is running in protected mode"));
        assert_eq!(DENIED.iter().filter(|&&b| b == b'\n').count(), 1);
        assert!(DENIED.ends_with(b"outside.\r\n"));
        // What redis-server 7.0.15 sends (the e2e test compares the bytes).
        assert_eq!(DENIED.len(), 1067);
    }
}
