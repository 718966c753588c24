//! Who may open a link: on the Unix socket the peer's uid and primary gid (SO_PEERCRED,
//! read when the connection is accepted), on the TCP port the names of the certificate the
//! proxy presented (verified against the CA by TLS first), against the configured allow
//! lists. Pure policy; the server reads the credentials and refuses the link.

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
    fn own_uid_passes_only_when_allowed() {
        assert!(policy(&[10], &[], true).check(500, 1).is_ok());
        assert!(policy(&[10], &[], false).check(500, 1).is_err());
    }
}
