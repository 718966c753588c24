//! TLS on the client port, set as Redis sets it (`tls-port`, `tls-cert-file`,
//! `tls-key-file`, `tls-ca-cert-file`, `tls-auth-clients`, `tls-protocols`,
//! `tls-ciphersuites`), with rustls and its ring provider: the server config those settings
//! describe, the acceptor a SIGHUP replaces ([`Acceptor`]), and the stream a connection
//! serves ([`ClientStream`], plain or TLS). Knows nothing of RESP; the accept loop
//! (`crate::server`) decides which port a connection came on.
//!
//! A reload builds a new server config from the re-read files and swaps it in: handshakes
//! that start afterwards use it, connections already up keep the session they negotiated.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types};

/// The `tls-*` settings of the client port (empty paths: not set); `crate::config` fills
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsSettings {
    pub cert_file: std::path::PathBuf,
    pub key_file: std::path::PathBuf,
    pub ca_cert_file: std::path::PathBuf,
    pub auth_clients: AuthClients,
    pub protocols: String,
    pub ciphersuites: String,
}

/// Redis's `tls-auth-clients`: whether a client must present a certificate that chains to
/// `tls-ca-cert-file`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthClients {
    /// Required (Redis's default).
    #[default]
    Yes,
    /// Not asked for.
    No,
    /// Asked for; a client without one is let in, one with an untrusted one is not.
    Optional,
}

impl AuthClients {
    /// Parses `yes`, `no` or `optional` (case-insensitive, as Redis).
    ///
    /// # Errors
    /// Any other word.
    pub fn parse(s: &str) -> Result<AuthClients, String> {
        match s.to_ascii_lowercase().as_str() {
            "yes" => Ok(AuthClients::Yes),
            "no" => Ok(AuthClients::No),
            "optional" => Ok(AuthClients::Optional),
            _ => Err(format!(
                "tls-auth-clients must be yes, no or optional, not {s:?}"
            )),
        }
    }

    /// The word `CONFIG GET tls-auth-clients` answers.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthClients::Yes => "yes",
            AuthClients::No => "no",
            AuthClients::Optional => "optional",
        }
    }
}

/// Reads every certificate of a PEM file.
///
/// # Errors
/// An unreadable file, bad PEM, or a file without certificates.
pub fn load_certs(path: &Path) -> Result<Vec<pki_types::CertificateDer<'static>>, String> {
    use pki_types::pem::PemObject;
    let certs = pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in the file", path.display()));
    }
    Ok(certs)
}

/// Reads the first private key (PKCS#8, PKCS#1 or SEC1) of a PEM file.
///
/// # Errors
/// An unreadable file or no key in it.
pub fn load_key(path: &Path) -> Result<pki_types::PrivateKeyDer<'static>, String> {
    use pki_types::pem::PemObject;
    pki_types::PrivateKeyDer::from_pem_file(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The trust anchors of a CA file.
///
/// # Errors
/// As [`load_certs`], or a certificate webpki cannot use as an anchor.
pub fn load_roots(path: &Path) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in load_certs(path)? {
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(roots)
}

/// rustls's ring provider. Deprecated in rustls 0.23.48 for lacking post-quantum key
/// exchange; the workspace builds rustls on ring rather than aws-lc-rs, whose C build
/// (cmake, `cc`) would rebuild more than this feature is worth.
#[allow(deprecated)]
pub fn ring() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The ring provider with its TLS 1.3 suites limited to `ciphersuites` (Redis's
/// `tls-ciphersuites`: OpenSSL names separated by `:`, such as `TLS_AES_256_GCM_SHA384`);
/// empty keeps them all. TLS 1.2 suites are left as they are.
///
/// # Errors
/// A name that is not a TLS 1.3 suite rustls has.
pub fn provider(ciphersuites: &str) -> Result<Arc<rustls::crypto::CryptoProvider>, String> {
    let mut provider = ring();
    let wanted: Vec<&str> = ciphersuites
        .split(':')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if !wanted.is_empty() {
        // rustls names them TLS13_AES_128_GCM_SHA256, OpenSSL (and Redis) TLS_AES_128_GCM_SHA256.
        let openssl_name = |s: &rustls::SupportedCipherSuite| {
            format!("{:?}", s.suite()).replacen("TLS13_", "TLS_", 1)
        };
        for name in &wanted {
            if !provider
                .cipher_suites
                .iter()
                .any(|s| s.version() == &rustls::version::TLS13 && openssl_name(s) == *name)
            {
                return Err(format!("tls-ciphersuites: unknown TLS 1.3 suite {name:?}"));
            }
        }
        provider.cipher_suites.retain(|s| {
            s.version() != &rustls::version::TLS13 || wanted.contains(&openssl_name(s).as_str())
        });
    }
    Ok(Arc::new(provider))
}

/// Redis's `tls-protocols` ("TLSv1.2 TLSv1.3", either alone; empty: both).
///
/// # Errors
/// A version rustls does not speak (TLSv1, TLSv1.1) or an unknown word.
pub fn protocols(list: &str) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, String> {
    let mut versions = Vec::new();
    for word in list.split_whitespace() {
        let version = match word.to_ascii_lowercase().as_str() {
            "tlsv1.2" => &rustls::version::TLS12,
            "tlsv1.3" => &rustls::version::TLS13,
            "tlsv1" | "tlsv1.1" => {
                return Err(format!(
                    "tls-protocols: {word} is not supported (TLSv1.2 and TLSv1.3 are)"
                ))
            }
            _ => return Err(format!("tls-protocols: unknown protocol {word:?}")),
        };
        if !versions.contains(&version) {
            versions.push(version);
        }
    }
    if versions.is_empty() {
        versions = vec![&rustls::version::TLS13, &rustls::version::TLS12];
    }
    Ok(versions)
}

/// The client port's server config the `tls-*` settings describe.
///
/// # Errors
/// A missing or unreadable file, a key that does not match its certificate, client
/// authentication without a CA file, or a bad protocol or suite list.
pub fn server_config(config: &TlsSettings) -> Result<Arc<rustls::ServerConfig>, String> {
    if config.cert_file.as_os_str().is_empty() || config.key_file.as_os_str().is_empty() {
        return Err("tls-port needs tls-cert-file and tls-key-file".into());
    }
    let provider = provider(&config.ciphersuites)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&protocols(&config.protocols)?)
        .map_err(|e| format!("tls-protocols / tls-ciphersuites: {e}"))?;
    let has_ca = !config.ca_cert_file.as_os_str().is_empty();
    let builder =
        match config.auth_clients {
            AuthClients::No => builder.with_no_client_auth(),
            AuthClients::Yes | AuthClients::Optional if !has_ca => return Err(
                "tls-auth-clients yes/optional needs tls-ca-cert-file (or set tls-auth-clients no)"
                    .into(),
            ),
            auth => {
                let roots = Arc::new(load_roots(&config.ca_cert_file)?);
                let verifier =
                    rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider);
                let verifier = if auth == AuthClients::Optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(
                    verifier
                        .build()
                        .map_err(|e| format!("tls-ca-cert-file: {e}"))?,
                )
            }
        };
    let certs = load_certs(&config.cert_file)?;
    let key = load_key(&config.key_file)?;
    let server = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls-cert-file / tls-key-file: {e}"))?;
    Ok(Arc::new(server))
}

/// The client port's acceptor; [`Acceptor::reload`] swaps its config for new handshakes.
pub struct Acceptor {
    current: RwLock<tokio_rustls::TlsAcceptor>,
}

impl Acceptor {
    /// An acceptor for `config`'s TLS settings.
    ///
    /// # Errors
    /// As [`server_config`].
    pub fn new(config: &TlsSettings) -> Result<Acceptor, String> {
        Ok(Acceptor {
            current: RwLock::new(server_config(config)?.into()),
        })
    }

    /// The acceptor new handshakes use (a cheap clone of an `Arc`).
    pub fn get(&self) -> tokio_rustls::TlsAcceptor {
        match self.current.read() {
            Ok(a) => a.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the certificate, key and CA files and the other `tls-*` settings of `new`.
    /// On any error the config in force stays, and the error is returned for the log.
    ///
    /// # Errors
    /// As [`server_config`].
    pub fn reload(&self, new: &TlsSettings) -> Result<(), String> {
        let config = server_config(new)?;
        match self.current.write() {
            Ok(mut a) => *a = config.into(),
            Err(poisoned) => *poisoned.into_inner() = config.into(),
        }
        Ok(())
    }
}

/// How a link reaches storaged on another host: TLS over TCP, this proxy presenting its
/// own certificate (storaged requires one), storaged's verified against a CA. The
/// certificate, key and CA are read again by [`LinkTls::reload`] (SIGHUP): connections made
/// from then on use them, links already up keep their session.
pub struct LinkTls {
    /// `HOST:PORT` of storaged's `listen-proxies`.
    pub addr: String,
    pub connector: tokio_rustls::TlsConnector,
    /// The name storaged's certificate must carry.
    pub server_name: pki_types::ServerName<'static>,
    material: Arc<LinkMaterial>,
}

impl std::fmt::Debug for LinkTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkTls")
            .field("addr", &self.addr)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl LinkTls {
    /// Re-reads `storage-tls-cert-file`, `-key-file` and `-ca-cert-file` from `s`; on an
    /// error the files in force stay. The address and server name need a restart.
    ///
    /// # Errors
    /// An unreadable or mismatched file.
    pub fn reload(&self, s: &LinkTlsSettings) -> Result<(), String> {
        let files = load_link_files(s)?;
        match self.material.current.write() {
            Ok(mut m) => *m = Arc::new(files),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(files),
        }
        Ok(())
    }
}

/// The settings of a link over TCP (`storage-socket = "tcp://HOST:PORT"` and the
/// `storage-tls-*` files); `crate::config` fills them.
#[derive(Debug, Clone, Default)]
pub struct LinkTlsSettings {
    pub storage: std::path::PathBuf,
    pub cert_file: std::path::PathBuf,
    pub key_file: std::path::PathBuf,
    pub ca_cert_file: std::path::PathBuf,
    /// Empty: the host of the address.
    pub server_name: String,
}

/// This proxy's certificate and storaged's CA as last read.
#[derive(Debug)]
struct LinkFiles {
    key: Arc<rustls::sign::CertifiedKey>,
    verifier: Arc<rustls::client::WebPkiServerVerifier>,
}

/// What every link handshake reads its [`LinkFiles`] from, and a reload replaces.
#[derive(Debug)]
struct LinkMaterial {
    current: RwLock<Arc<LinkFiles>>,
}

impl LinkMaterial {
    fn get(&self) -> Arc<LinkFiles> {
        match self.current.read() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl rustls::client::ResolvesClientCert for LinkMaterial {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.get().key.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// webpki's verification against the CA in force (a custom verifier only in that it can be
/// swapped: rustls calls it "dangerous" because it could skip checks, which this one never
/// does).
impl rustls::client::danger::ServerCertVerifier for LinkMaterial {
    fn verify_server_cert(
        &self,
        end_entity: &pki_types::CertificateDer<'_>,
        intermediates: &[pki_types::CertificateDer<'_>],
        server_name: &pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        self.get().verifier.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
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

/// Reads this proxy's certificate and key and storaged's CA.
///
/// # Errors
/// An unreadable file, or a key that does not match its certificate.
fn load_link_files(s: &LinkTlsSettings) -> Result<LinkFiles, String> {
    let provider = ring();
    let key = rustls::sign::CertifiedKey::from_der(
        load_certs(&s.cert_file)?,
        load_key(&s.key_file)?,
        &provider,
    )
    .map_err(|e| format!("storage-tls-cert-file / storage-tls-key-file: {e}"))?;
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(load_roots(&s.ca_cert_file)?),
        Arc::new(provider),
    )
    .build()
    .map_err(|e| format!("storage-tls-ca-cert-file: {e}"))?;
    Ok(LinkFiles {
        key: Arc::new(key),
        verifier,
    })
}

/// The TLS client of a link to storaged over TCP, or `None` when `storage` is a Unix
/// socket path. Sessions are not resumed: every link verifies storaged's certificate against
/// the CA in force and presents this proxy's current certificate.
///
/// # Errors
/// A `tcp://` address without its three files, an unreadable or mismatched file, or a
/// server name that is neither a DNS name nor an IP address.
pub fn link_client(s: &LinkTlsSettings) -> Result<Option<Arc<LinkTls>>, String> {
    let Some(addr) = s.storage.to_str().and_then(|p| p.strip_prefix("tcp://")) else {
        return Ok(None);
    };
    let files = [&s.cert_file, &s.key_file, &s.ca_cert_file];
    if files.iter().any(|f| f.as_os_str().is_empty()) {
        return Err(format!(
            "storage-socket tcp://{addr} needs storage-tls-cert-file, storage-tls-key-file and storage-tls-ca-cert-file (links over TCP use mutual TLS)"
        ));
    }
    let Some((host, _port)) = addr.rsplit_once(':') else {
        return Err(format!(
            "storage-socket tcp://{addr}: expected tcp://HOST:PORT"
        ));
    };
    let name = if s.server_name.is_empty() {
        host.trim_start_matches('[').trim_end_matches(']')
    } else {
        &s.server_name
    };
    let server_name = pki_types::ServerName::try_from(name.to_owned())
        .map_err(|e| format!("storage-tls-server-name {name:?}: {e}"))?;
    let material = Arc::new(LinkMaterial {
        current: RwLock::new(Arc::new(load_link_files(s)?)),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(ring()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(material.clone())
        .with_client_cert_resolver(material.clone());
    config.resumption = rustls::client::Resumption::disabled();
    Ok(Some(Arc::new(LinkTls {
        addr: addr.to_owned(),
        connector: Arc::new(config).into(),
        server_name,
        material,
    })))
}

/// A client connection: plain TCP, or TLS over TCP.
pub enum ClientStream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// Room a TLS read asks for (rustls holds the decrypted bytes until they are read).
const TLS_READ_CHUNK: usize = 16 * 1024;

impl ClientStream {
    /// The local address of the TCP connection.
    ///
    /// # Errors
    /// The socket's error.
    pub fn local_addr(&self) -> io::Result<std::net::SocketAddr> {
        match self {
            ClientStream::Plain(s) => s.local_addr(),
            ClientStream::Tls(s) => s.get_ref().0.local_addr(),
        }
    }

    /// Writes all of `bytes`, and over TLS also flushes: rustls may keep encrypted bytes
    /// the socket did not take, which only a flush sends. (Shadows `AsyncWriteExt::write_all`
    /// on purpose: every write of a connection goes through here.)
    ///
    /// # Errors
    /// The socket's or the TLS session's error.
    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            ClientStream::Plain(s) => AsyncWriteExt::write_all(s, bytes).await,
            ClientStream::Tls(s) => {
                AsyncWriteExt::write_all(s.as_mut(), bytes).await?;
                s.flush().await
            }
        }
    }

    /// Reads what is there without waiting: `WouldBlock` when nothing is.
    ///
    /// # Errors
    /// `WouldBlock`, or the socket's or the TLS session's error.
    pub fn try_read_buf(&mut self, rbuf: &mut BytesMut) -> io::Result<usize> {
        match self {
            ClientStream::Plain(s) => s.try_read_buf(rbuf),
            ClientStream::Tls(s) => {
                rbuf.reserve(TLS_READ_CHUNK);
                let mut cx = Context::from_waker(std::task::Waker::noop());
                let read = std::pin::pin!(s.read_buf(rbuf));
                match read.poll(&mut cx) {
                    Poll::Ready(r) => r,
                    Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
                }
            }
        }
    }
}

/// One read of a TLS connection into `rbuf` (which it grows as needed). Cancel safe: rustls
/// keeps what it decrypted until it is read.
///
/// # Errors
/// The socket's or the TLS session's error.
pub async fn read_tls(
    stream: &mut tokio_rustls::server::TlsStream<TcpStream>,
    rbuf: &mut BytesMut,
) -> io::Result<usize> {
    if rbuf.capacity() - rbuf.len() < TLS_READ_CHUNK / 4 {
        rbuf.reserve(TLS_READ_CHUNK);
    }
    stream.read_buf(rbuf).await
}

use std::future::Future as _;

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ClientStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_clients_words() {
        assert_eq!(AuthClients::parse("YES"), Ok(AuthClients::Yes));
        assert_eq!(AuthClients::parse("optional"), Ok(AuthClients::Optional));
        assert!(AuthClients::parse("maybe").is_err());
    }

    #[test]
    fn protocol_lists() {
        assert_eq!(protocols("").expect("both").len(), 2);
        let only13 = protocols("TLSv1.3").expect("1.3");
        assert_eq!(only13.len(), 1);
        assert_eq!(only13[0].version, rustls::ProtocolVersion::TLSv1_3);
        assert!(protocols("TLSv1.1 TLSv1.2").is_err());
        assert!(protocols("SSLv3").is_err());
    }

    #[test]
    fn ciphersuites_take_openssl_names() {
        let p = provider("TLS_AES_256_GCM_SHA384").expect("known suite");
        let tls13: Vec<_> = p
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .collect();
        assert_eq!(tls13.len(), 1);
        assert!(provider("TLS_NOPE").is_err());
        assert_eq!(
            provider("").expect("all").cipher_suites.len(),
            ring().cipher_suites.len()
        );
    }
}
