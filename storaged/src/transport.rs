//! What a proxy link runs over: the Unix socket, or TLS over TCP with mutual authentication
//! for proxies on other hosts (`--listen-proxies`). Owns the TLS server config (storaged's
//! certificate, the CA every proxy certificate must chain to), the identity read from a
//! proxy's certificate (which stands in for SO_PEERCRED in the allow list, the logs and
//! INFO), and the two ends a link task reads and writes through ([`Reader`], [`Writer`]).
//!
//! The Unix socket keeps its path untouched: registered for readability only, written by
//! whichever thread answers (see `crate::outbox`). A TLS link is one rustls session, which
//! only one thread may drive: its outbox has no socket, so every producer hands its bytes to
//! the link's writer task ([`crate::outbox::Outbox::write_now`] falls back to a flush), and
//! the link task reads through the other half of the session.

use std::io;
use std::path::Path;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types};

use crate::outbox::{self, Outbox};

/// A TLS link's stream, server side.
pub type TlsLink = tokio_rustls::server::TlsStream<TcpStream>;

/// An accepted link before its handshake, already admitted by `crate::server` (`peer`: who
/// is on the other end, as the accept loop logged it; [`split`] reads the identity again
/// from the session).
pub enum Transport {
    Unix(tokio::net::UnixStream),
    Tls { stream: Box<TlsLink>, peer: String },
}

/// The read end of a link.
pub enum Reader {
    Unix(outbox::ReadSide),
    Tls(ReadHalf<TlsLink>),
}

/// The write end of a link, owned by one task at a time.
pub enum Writer {
    Unix(Arc<std::os::unix::net::UnixStream>),
    Tls(WriteHalf<TlsLink>),
}

/// Who is on the other end of a link: SO_PEERCRED of a Unix peer, the verified certificate
/// names and address of a TLS one. Shown in the logs (`Display`) and in INFO's `# Proxies`
/// section ([`PeerIdentity::info_fields`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerIdentity {
    Unix {
        pid: Option<i32>,
        uid: Option<u32>,
        gid: Option<u32>,
    },
    Tls {
        identity: Identity,
        addr: Option<std::net::SocketAddr>,
    },
}

impl PeerIdentity {
    /// The fields of the peer's INFO line: `transport=unix,pid=…,uid=…,gid=…` or
    /// `transport=tls,cn=…,dns=a|b,addr=…` (`|` between DNS names: `,` separates fields).
    pub fn info_fields(&self) -> String {
        let clean = |s: &str| s.replace([',', '\r', '\n', ' ', '|'], "_");
        let opt = |v: Option<String>| v.unwrap_or_default();
        match self {
            PeerIdentity::Unix { pid, uid, gid } => format!(
                "transport=unix,pid={},uid={},gid={}",
                opt(pid.map(|p| p.to_string())),
                opt(uid.map(|u| u.to_string())),
                opt(gid.map(|g| g.to_string())),
            ),
            PeerIdentity::Tls { identity, addr } => format!(
                "transport=tls,cn={},dns={},addr={}",
                identity
                    .common_name
                    .as_deref()
                    .map(clean)
                    .unwrap_or_default(),
                identity
                    .dns_names
                    .iter()
                    .map(|n| clean(n))
                    .collect::<Vec<_>>()
                    .join("|"),
                opt(addr.map(|a| a.to_string())),
            ),
        }
    }
}

impl std::fmt::Display for PeerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerIdentity::Unix { pid, uid, gid } => {
                match pid {
                    Some(pid) => write!(f, "pid={pid}")?,
                    None => write!(f, "pid=?")?,
                }
                match (uid, gid) {
                    (Some(uid), Some(gid)) => write!(f, " uid={uid} gid={gid}"),
                    _ => write!(f, " uid=? gid=?"),
                }
            }
            PeerIdentity::Tls { identity, addr } => match addr {
                Some(addr) => write!(f, "{identity} addr={addr}"),
                None => write!(f, "{identity}"),
            },
        }
    }
}

/// Splits a link into its two ends and who is on the other end: the pid, uid and gid of a
/// Unix peer, the certificate identity and address of a TLS one.
///
/// # Errors
/// If the Unix socket cannot be taken over or registered.
pub fn split(transport: Transport) -> io::Result<(Reader, Writer, PeerIdentity)> {
    match transport {
        Transport::Unix(stream) => {
            let cred = stream.peer_cred().ok();
            let peer = PeerIdentity::Unix {
                pid: cred.and_then(|c| c.pid()),
                uid: cred.map(|c| c.uid()),
                gid: cred.map(|c| c.gid()),
            };
            // Plain non-blocking socket from here: registered for readability only, and
            // written by whoever answers (see `crate::outbox`).
            let sock = Arc::new(stream.into_std()?);
            let read = outbox::read_side(sock.clone())?;
            Ok((Reader::Unix(read), Writer::Unix(sock), peer))
        }
        Transport::Tls { stream, .. } => {
            let (tcp, session) = stream.get_ref();
            let peer = PeerIdentity::Tls {
                identity: session
                    .peer_certificates()
                    .and_then(|certs| certs.first())
                    .map(|cert| Identity::of(cert))
                    .unwrap_or_default(),
                addr: tcp.peer_addr().ok(),
            };
            let (read, write) = tokio::io::split(*stream);
            Ok((Reader::Tls(read), Writer::Tls(write), peer))
        }
    }
}

impl Reader {
    /// Waits for bytes and appends what one read returns (at most `scratch.len()`) to
    /// `buf`; `Ok(0)` at the end of the stream (over TLS: the proxy's close_notify). Cancel
    /// safe: nothing is lost while it waits.
    ///
    /// # Errors
    /// The socket's or the TLS session's error.
    pub async fn read_some(&mut self, scratch: &mut [u8], buf: &mut BytesMut) -> io::Result<usize> {
        match self {
            Reader::Unix(fd) => outbox::read_some(fd, scratch, buf).await,
            Reader::Tls(r) => {
                let n = r.read(scratch).await?;
                buf.extend_from_slice(&scratch[..n]);
                Ok(n)
            }
        }
    }
}

impl Writer {
    /// Writes all of `bytes` (over TLS, flushed: rustls may hold what the socket did not
    /// take).
    ///
    /// # Errors
    /// The socket's or the TLS session's error.
    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Writer::Unix(sock) => outbox::write_all(sock, bytes).await,
            Writer::Tls(w) => {
                w.write_all(bytes).await?;
                w.flush().await
            }
        }
    }

    /// Half-closes: the proxy reads the end of the stream after everything written.
    pub async fn shutdown(&mut self) {
        match self {
            Writer::Unix(sock) => {
                let _ = sock.shutdown(std::net::Shutdown::Write);
            }
            Writer::Tls(w) => {
                let _ = w.shutdown().await;
            }
        }
    }

    /// The link's outbox: producers write a Unix socket themselves; a TLS session is
    /// written by the link's writer task alone.
    pub fn outbox(&self) -> Arc<Outbox> {
        match self {
            Writer::Unix(sock) => Outbox::with_socket(sock.clone()),
            Writer::Tls(_) => Outbox::new(),
        }
    }
}

/// rustls's ring provider (deprecated upstream only for lacking post-quantum key exchange;
/// the workspace builds rustls on ring, not aws-lc-rs and its C build).
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The proxy port's certificate and CA as last loaded: what every handshake reads, and what
/// a reload (SIGHUP) replaces. Links already up keep the session they negotiated.
#[derive(Debug)]
struct Material {
    key: Arc<rustls::sign::CertifiedKey>,
    verifier: Arc<dyn rustls::server::danger::ClientCertVerifier>,
}

/// The swappable half of the proxy port's TLS config: it resolves storaged's certificate and
/// verifies proxies' certificates with the [`Material`] in force at each handshake.
#[derive(Debug)]
struct Swappable {
    current: std::sync::RwLock<Arc<Material>>,
}

impl Swappable {
    fn get(&self) -> Arc<Material> {
        match self.current.read() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set(&self, material: Material) {
        let material = Arc::new(material);
        match self.current.write() {
            Ok(mut m) => *m = material,
            Err(poisoned) => *poisoned.into_inner() = material,
        }
    }
}

impl rustls::server::ResolvesServerCert for Swappable {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.get().key.clone())
    }
}

impl rustls::server::danger::ClientCertVerifier for Swappable {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    /// No hints: they would have to outlive a reload. A proxy sends the one certificate it
    /// has whatever the hints say.
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &pki_types::CertificateDer<'_>,
        intermediates: &[pki_types::CertificateDer<'_>],
        now: pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        self.get()
            .verifier
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.get()
            .verifier
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.get()
            .verifier
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.get().verifier.supported_verify_schemes()
    }
}

/// The proxy port's swappable material, once `listen-proxies` is bound (one per process):
/// what [`reload`] replaces.
static PROXY_PORT: std::sync::Mutex<Option<Arc<Swappable>>> = std::sync::Mutex::new(None);

/// Reads storaged's certificate and key and the CA proxies' certificates must chain to.
///
/// # Errors
/// A missing or unreadable file, no CA certificate, or a key that does not match its
/// certificate.
fn load(cert_file: &Path, key_file: &Path, ca_file: &Path) -> Result<Material, String> {
    use pki_types::pem::PemObject;
    let file_err = |path: &Path, e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let certs = pki_types::CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| file_err(cert_file, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_err(cert_file, &e))?;
    if certs.is_empty() {
        return Err(format!(
            "{}: no certificate in the file",
            cert_file.display()
        ));
    }
    let key =
        pki_types::PrivateKeyDer::from_pem_file(key_file).map_err(|e| file_err(key_file, &e))?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in
        pki_types::CertificateDer::pem_file_iter(ca_file).map_err(|e| file_err(ca_file, &e))?
    {
        let ca = ca.map_err(|e| file_err(ca_file, &e))?;
        roots.add(ca).map_err(|e| file_err(ca_file, &e))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "{}: no CA certificate in the file",
            ca_file.display()
        ));
    }
    let provider = provider();
    let key = rustls::sign::CertifiedKey::from_der(certs, key, &provider)
        .map_err(|e| format!("proxy-tls-cert-file / proxy-tls-key-file: {e}"))?;
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| file_err(ca_file, &e))?;
    Ok(Material {
        key: Arc::new(key),
        verifier,
    })
}

/// The TLS config of the proxy port: storaged's certificate and key, and a verifier that
/// requires a client certificate chaining to `ca_file`; [`reload`] swaps both for later
/// handshakes. Sessions are not resumed, so every new link is verified against the CA and
/// the files in force.
///
/// # Errors
/// A missing or unreadable file, or a key that does not match its certificate.
pub fn server_config(
    cert_file: &Path,
    key_file: &Path,
    ca_file: &Path,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let swappable = Arc::new(Swappable {
        current: std::sync::RwLock::new(Arc::new(load(cert_file, key_file, ca_file)?)),
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(swappable.clone())
        .with_cert_resolver(swappable.clone());
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    match PROXY_PORT.lock() {
        Ok(mut port) => *port = Some(swappable),
        Err(poisoned) => *poisoned.into_inner() = Some(swappable),
    }
    Ok(Arc::new(config))
}

/// Re-reads the proxy port's certificate, key and CA files (SIGHUP): links opened from then
/// on are served with them, links already up stay. `None` when storaged does not listen for
/// proxies on TCP; on an error the material in force stays.
///
/// # Errors
/// As [`server_config`].
pub fn reload(cert_file: &Path, key_file: &Path, ca_file: &Path) -> Option<Result<(), String>> {
    let port = match PROXY_PORT.lock() {
        Ok(port) => port.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }?;
    Some(load(cert_file, key_file, ca_file).map(|material| port.set(material)))
}

/// The names a certificate carries: its subject common name and its DNS subject
/// alternative names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub common_name: Option<String>,
    pub dns_names: Vec<String>,
}

impl Identity {
    /// Reads the names of a DER certificate (verified already: this only extracts).
    pub fn of(der: &[u8]) -> Identity {
        let mut id = Identity::default();
        let _ = der::read_names(der, &mut id);
        id
    }

    /// Every name, common name first.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.common_name
            .iter()
            .chain(self.dns_names.iter())
            .map(String::as_str)
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.common_name {
            Some(cn) => write!(f, "CN={cn}")?,
            None => write!(f, "CN=(none)")?,
        }
        if !self.dns_names.is_empty() {
            write!(f, " DNS={}", self.dns_names.join(","))?;
        }
        Ok(())
    }
}

/// Just enough DER to find a certificate's subject CN and its subjectAltName dNSNames.
mod der {
    use super::Identity;

    const SEQUENCE: u8 = 0x30;
    const SET: u8 = 0x31;
    const OID: u8 = 0x06;
    const OCTET_STRING: u8 = 0x04;
    /// `[0]` (the version) and `[3]` (the extensions), explicit and constructed.
    const VERSION: u8 = 0xa0;
    const EXTENSIONS: u8 = 0xa3;
    /// GeneralName `dNSName [2] IA5String`, implicit.
    const DNS_NAME: u8 = 0x82;
    const CN_OID: &[u8] = &[0x55, 0x04, 0x03];
    const SAN_OID: &[u8] = &[0x55, 0x1d, 0x11];

    /// One TLV: its tag, its contents, and what follows it.
    fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        Some((tag, &rest[..len], &rest[len..]))
    }

    fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        let (t, body, rest) = tlv(input)?;
        (t == tag).then_some((body, rest))
    }

    pub(super) fn read_names(cert: &[u8], id: &mut Identity) -> Option<()> {
        let (certificate, _) = expect(cert, SEQUENCE)?;
        let (tbs, _) = expect(certificate, SEQUENCE)?;
        let mut rest = tbs;
        if rest.first() == Some(&VERSION) {
            rest = tlv(rest)?.2;
        }
        // serialNumber, signature, issuer, validity, then subject.
        for _ in 0..4 {
            rest = tlv(rest)?.2;
        }
        let (subject, mut rest) = expect(rest, SEQUENCE)?;
        id.common_name = common_name(subject);
        rest = tlv(rest)?.2; // subjectPublicKeyInfo
        while let Some((tag, body, next)) = tlv(rest) {
            if tag == EXTENSIONS {
                let (mut exts, _) = expect(body, SEQUENCE)?;
                while let Some((ext, next_ext)) = expect(exts, SEQUENCE) {
                    let (oid, mut value) = expect(ext, OID)?;
                    if oid == SAN_OID {
                        if value.first() == Some(&0x01) {
                            value = tlv(value)?.2; // `critical`
                        }
                        let (san, _) = expect(value, OCTET_STRING)?;
                        let (mut names, _) = expect(san, SEQUENCE)?;
                        while let Some((tag, name, next_name)) = tlv(names) {
                            if tag == DNS_NAME {
                                id.dns_names
                                    .push(String::from_utf8_lossy(name).into_owned());
                            }
                            names = next_name;
                        }
                    }
                    exts = next_ext;
                }
            }
            rest = next;
        }
        Some(())
    }

    /// The last CN of a Name (the most specific one).
    fn common_name(mut name: &[u8]) -> Option<String> {
        let mut found = None;
        while let Some((set, next)) = expect(name, SET) {
            let mut attrs = set;
            while let Some((attr, next_attr)) = expect(attrs, SEQUENCE) {
                if let Some((oid, value)) = expect(attr, OID) {
                    if oid == CN_OID {
                        if let Some((_, text, _)) = tlv(value) {
                            found = Some(String::from_utf8_lossy(text).into_owned());
                        }
                    }
                }
                attrs = next_attr;
            }
            name = next;
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_gives_an_empty_identity() {
        assert_eq!(Identity::of(b""), Identity::default());
        assert_eq!(Identity::of(&[0x30, 0x82, 0xff]), Identity::default());
        assert_eq!(Identity::default().to_string(), "CN=(none)");
    }

    /// A certificate made by `openssl req -x509 -subj /O=tandem/CN=proxy-a -addext
    /// subjectAltName=DNS:proxy-a.example,DNS:pa,IP:10.0.0.1` (EC P-256, CA:FALSE critical).
    #[test]
    fn names_of_a_real_certificate() {
        use pki_types::pem::PemObject;
        let pem = concat!(
            "-----BEGIN CERTIFICATE-----\n",
            "MIIBvTCCAWSgAwIBAgIUE/zlj9Ej9nh8NF9PxQRFmwhBdqkwCgYIKoZIzj0EAwIw\n",
            "IzEPMA0GA1UECgwGdGFuZGVtMRAwDgYDVQQDDAdwcm94eS1hMB4XDTI2MTIwNzE4\n",
            "NTkwN1oXDTM2MTIwNDE4NTkwN1owIzEPMA0GA1UECgwGdGFuZGVtMRAwDgYDVQQD\n",
            "DAdwcm94eS1hMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAES/wrLNawMYxAE3RF\n",
            "hEAcYoBCsXF7ls+flK7Rh/mU5xxOG2leKdniTiXIJNpcpi4bA90XYh4sLczA9ndW\n",
            "TCr6YaN2MHQwHQYDVR0OBBYEFE0xklNZq5Cr4DpT3wn+sjtaRZLQMB8GA1UdIwQY\n",
            "MBaAFE0xklNZq5Cr4DpT3wn+sjtaRZLQMCQGA1UdEQQdMBuCD3Byb3h5LWEuZXhh\n",
            "bXBsZYICcGGHBAoAAAEwDAYDVR0TAQH/BAIwADAKBggqhkjOPQQDAgNHADBEAiB0\n",
            "zdBRN6r5e+7VM6xvMwRByQa2BHq72I/29D3ScVTsfAIgc8Eq9znH0kj4TK80YavB\n",
            "h4SLAY/hlQm3n3HeIOSNP+A=\n",
            "-----END CERTIFICATE-----\n",
        );
        let der = pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).expect("PEM");
        let id = Identity::of(&der);
        assert_eq!(id.common_name.as_deref(), Some("proxy-a"));
        assert_eq!(id.dns_names, ["proxy-a.example", "pa"]);
        assert_eq!(id.to_string(), "CN=proxy-a DNS=proxy-a.example,pa");
        assert_eq!(
            id.names().collect::<Vec<_>>(),
            ["proxy-a", "proxy-a.example", "pa"]
        );
    }
}
