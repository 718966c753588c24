//! Who may open a link, and who has: on the Unix socket the peer's uid and primary gid
//! (SO_PEERCRED, read when the connection is accepted), on the TCP port the names of the
//! certificate the proxy presented (verified against the CA by TLS first), against the
//! configured allow lists ([`PeerPolicy`], pure policy: the server reads the credentials and
//! refuses the link); and the links up now with their peers' identities ([`linked`]), which
//! INFO's `# Proxies` section lists.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use crate::transport::PeerIdentity;

/// The allow lists in force (replaced as a whole on reload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerPolicy {
    /// Allowed uids; with `gids`, both empty lets everyone in.
    pub uids: Vec<u32>,
    /// Allowed primary gids (SO_PEERCRED carries no supplementary groups).
    pub gids: Vec<u32>,
    /// Let `own_uid` in even when the lists do not name it.
    pub allow_self: bool,
    /// storaged's own uid.
    pub own_uid: u32,
    /// Certificate names (subject CN or DNS subject alternative name) allowed on the TCP
    /// port; empty: every certificate from the configured CA.
    pub names: Vec<String>,
}

impl PeerPolicy {
    /// Whether a peer with `uid`/`gid` may open a link.
    ///
    /// # Errors
    /// The reason it may not, for the log and the refused `HelloAck`.
    pub fn check(&self, uid: u32, gid: u32) -> Result<(), String> {
        if self.uids.is_empty() && self.gids.is_empty() {
            return Ok(());
        }
        if self.uids.contains(&uid) || self.gids.contains(&gid) {
            return Ok(());
        }
        if self.allow_self && uid == self.own_uid {
            return Ok(());
        }
        Err(format!(
            "peer uid {uid} gid {gid} is not in allow-uid {:?} / allow-gid {:?}",
            self.uids, self.gids
        ))
    }

    /// Whether a proxy whose certificate carries `names` may open a link over TCP.
    ///
    /// # Errors
    /// The reason it may not.
    pub fn check_names<'a>(&self, mut names: impl Iterator<Item = &'a str>) -> Result<(), String> {
        if self.names.is_empty() || names.any(|n| self.names.iter().any(|a| a == n)) {
            return Ok(());
        }
        Err(format!(
            "no name of the certificate is in proxy-tls-allow-names {:?}",
            self.names
        ))
    }
}

/// One link that is up: its peer, the name its Hello gave, since when.
#[derive(Debug)]
struct Linked {
    peer: PeerIdentity,
    name: String,
    since: Instant,
}

/// The links up now (process-wide: one storaged per process).
#[derive(Debug, Default)]
pub struct LinkedProxies {
    next: AtomicU64,
    links: Mutex<BTreeMap<u64, Linked>>,
}

/// Keeps its link listed until dropped (when the link task ends).
#[derive(Debug)]
pub struct Listed {
    registry: &'static LinkedProxies,
    id: u64,
}

impl Drop for Listed {
    fn drop(&mut self) {
        let mut links = match self.registry.links.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        links.remove(&self.id);
    }
}

impl LinkedProxies {
    /// Lists a link whose Hello was accepted, until the returned guard drops.
    pub fn register(&'static self, peer: &PeerIdentity, name: &str) -> Listed {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut links = match self.links.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        links.insert(
            id,
            Linked {
                peer: peer.clone(),
                name: name.to_owned(),
                since: Instant::now(),
            },
        );
        Listed { registry: self, id }
    }

    /// INFO's `# Proxies` section: how many links are up, then one line per link in the
    /// order they came up (`proxy<N>:id=…,name=…,<peer fields>,age=<seconds>`).
    pub fn info_section(&self) -> String {
        use std::fmt::Write as _;
        let links = match self.links.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut out = format!("# Proxies\r\nproxy_links:{}\r\n", links.len());
        for (i, (id, link)) in links.iter().enumerate() {
            let _ = write!(
                out,
                "proxy{i}:id={id},name={},{},age={}\r\n",
                link.name.replace([',', '\r', '\n'], "_"),
                link.peer.info_fields(),
                link.since.elapsed().as_secs()
            );
        }
        out
    }
}

/// The links up in this process.
pub fn linked() -> &'static LinkedProxies {
    static LINKED: std::sync::OnceLock<LinkedProxies> = std::sync::OnceLock::new();
    LINKED.get_or_init(LinkedProxies::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(uids: &[u32], gids: &[u32], allow_self: bool) -> PeerPolicy {
        PeerPolicy {
            uids: uids.to_vec(),
            gids: gids.to_vec(),
            allow_self,
            own_uid: 500,
            names: vec!["proxy-a".into(), "proxy-b.example".into()],
        }
    }

    #[test]
    fn certificate_names_against_the_allow_list() {
        let p = policy(&[], &[], false);
        assert!(p.check_names(["x", "proxy-b.example"].into_iter()).is_ok());
        let why = p.check_names(["proxy-c"].into_iter()).expect_err("refused");
        assert!(why.contains("proxy-tls-allow-names"), "{why}");
        let open = PeerPolicy {
            names: Vec::new(),
            ..p
        };
        assert!(open.check_names(std::iter::empty()).is_ok());
    }

    #[test]
    fn empty_lists_let_everyone_in() {
        assert!(policy(&[], &[], false).check(1234, 1234).is_ok());
    }

    #[test]
    fn a_listed_uid_or_gid_is_enough() {
        let p = policy(&[10], &[20], false);
        assert!(p.check(10, 99).is_ok());
        assert!(p.check(99, 20).is_ok());
        let why = p.check(99, 99).expect_err("refused");
        assert!(why.contains("uid 99") && why.contains("[10]"), "{why}");
    }

    #[test]
    fn linked_proxies_are_listed_until_their_guard_drops() {
        let registry: &'static LinkedProxies = Box::leak(Box::default());
        let unix = PeerIdentity::Unix {
            pid: Some(42),
            uid: Some(998),
            gid: Some(997),
        };
        let tls = PeerIdentity::Tls {
            identity: crate::transport::Identity {
                common_name: Some("proxy-a".into()),
                dns_names: vec!["proxy-a.example".into(), "pa".into()],
            },
            addr: "10.0.0.11:51234".parse().ok(),
        };
        let first = registry.register(&unix, "tandem-proxy 0.1.0");
        let _second = registry.register(&tls, "tandem-proxy 0.1.0");
        let text = registry.info_section();
        assert!(text.starts_with("# Proxies\r\nproxy_links:2\r\n"), "{text}");
        assert!(
            text.contains(
                "proxy0:id=0,name=tandem-proxy 0.1.0,transport=unix,pid=42,uid=998,gid=997,age="
            ),
            "{text}"
        );
        assert!(
            text.contains("proxy1:id=1,name=tandem-proxy 0.1.0,transport=tls,cn=proxy-a,dns=proxy-a.example|pa,addr=10.0.0.11:51234,age="),
            "{text}"
        );
        assert_eq!(
            tls.to_string(),
            "CN=proxy-a DNS=proxy-a.example,pa addr=10.0.0.11:51234"
        );
        assert_eq!(unix.to_string(), "pid=42 uid=998 gid=997");
        drop(first);
        assert!(registry.info_section().contains("proxy_links:1"));
    }

    #[test]
    fn own_uid_passes_only_when_allowed() {
        assert!(policy(&[10], &[], true).check(500, 1).is_ok());
        assert!(policy(&[10], &[], false).check(500, 1).is_err());
    }
}
