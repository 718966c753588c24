//! TLS on the proxy's client port (issue 19): `redis-cli --tls`, a rustls client with
//! certificate verification on (commands, pipelining, pub/sub), refusals of untrusted
//! certificates on either side, `tls-auth-clients`, CONFIG GET of the `tls-*` settings, and a
//! certificate swapped by SIGHUP while an old connection keeps working, and protected mode's
//! DENIED text after the handshake.

#[path = "tls_certs/mod.rs"]
mod certs;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use certs::{client_config, Ca, Leaf};
use tandem_tests::{free_port, ClusterOptions, Signal, TestCluster};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

/// A cluster whose proxy also serves TLS, with its files.
struct TlsCluster {
    cluster: TestCluster,
    tls_port: u16,
    dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

/// The server certificate's names: what clients verify it against.
const SERVER_NAMES: &[&str] = &["localhost", "127.0.0.1"];

fn start(ca: &Ca, server: &Leaf, auth_clients: &str) -> TlsCluster {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = server.write(dir.path(), "server");
    let ca_file = ca.write(dir.path(), "ca");
    let tls_port = free_port();
    let cluster = TestCluster::start_with(ClusterOptions {
        proxy_args: vec![
            "--tls-port".into(),
            tls_port.to_string(),
            "--tls-cert-file".into(),
            cert.display().to_string(),
            "--tls-key-file".into(),
            key.display().to_string(),
            "--tls-ca-cert-file".into(),
            ca_file.display().to_string(),
            "--tls-auth-clients".into(),
            auth_clients.into(),
        ],
        ..ClusterOptions::default()
    });
    TlsCluster {
        cluster,
        tls_port,
        dir,
        cert,
        key,
    }
}

async fn tls_connect(
    port: u16,
    config: Arc<tokio_rustls::rustls::ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from("localhost").expect("name");
    TlsConnector::from(config).connect(name, tcp).await
}

/// A RESP client over any stream: writes commands, reads whole replies as text lines.
struct Resp<S> {
    io: BufReader<S>,
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> Resp<S> {
    fn new(io: S) -> Self {
        Resp {
            io: BufReader::new(io),
        }
    }

    async fn send(&mut self, args: &[&str]) -> std::io::Result<()> {
        let bytes =
            tandem_tests::encode_command(&args.iter().map(|a| a.as_bytes()).collect::<Vec<_>>());
        self.io.get_mut().write_all(&bytes).await?;
        self.io.get_mut().flush().await
    }

    /// One reply, rendered compactly: `+OK`, `:1`, `$bar`, `$nil`, `*[a,b]`, `-ERR ...`.
    async fn reply(&mut self) -> std::io::Result<String> {
        let mut line = String::new();
        if self.io.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end().to_owned();
        let (kind, rest) = line.split_at(1);
        Ok(match kind {
            "$" => {
                let len: i64 = rest.parse().expect("bulk length");
                if len < 0 {
                    "$nil".into()
                } else {
                    let mut data = vec![0u8; len as usize + 2];
                    self.io.read_exact(&mut data).await?;
                    format!("${}", String::from_utf8_lossy(&data[..len as usize]))
                }
            }
            "*" => {
                let n: i64 = rest.parse().expect("array length");
                let mut items = Vec::new();
                for _ in 0..n.max(0) {
                    items.push(Box::pin(self.reply()).await?);
                }
                format!("*[{}]", items.join(","))
            }
            _ => line,
        })
    }

    async fn call(&mut self, args: &[&str]) -> std::io::Result<String> {
        self.send(args).await?;
        self.reply().await
    }
}

/// Whether this redis-cli was built with TLS.
fn redis_cli_has_tls() -> bool {
    Command::new("redis-cli")
        .arg("--help")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout).contains("--tls")
                || String::from_utf8_lossy(&o.stderr).contains("--tls")
        })
        .unwrap_or(false)
}

#[test]
fn redis_cli_connects_over_tls_with_verification() {
    if !redis_cli_has_tls() {
        eprintln!("skipped: redis-cli is missing or built without TLS");
        return;
    }
    let ca = Ca::new("tandem test CA");
    let server = ca.leaf("tandem-proxy", SERVER_NAMES);
    let t = start(&ca, &server, "no");
    let ca_file = t.dir.path().join("ca.pem");
    let cli = |args: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["--tls", "--cacert"])
            .arg(&ca_file)
            .args(["-h", "127.0.0.1", "-p", &t.tls_port.to_string()])
            .args(args)
            .output()
            .expect("run redis-cli");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
    };
    assert_eq!(cli(&["PING"]), "PONG");
    assert_eq!(cli(&["SET", "tls:cli", "over-tls"]), "OK");
    assert_eq!(cli(&["GET", "tls:cli"]), "over-tls");
    // The same key through the plain port: one keyspace behind both ports.
    let mut plain = t.cluster.client();
    let got: String = redis::cmd("GET")
        .arg("tls:cli")
        .query(&mut plain)
        .expect("GET");
    assert_eq!(got, "over-tls");
    // A CA that did not sign the proxy's certificate: redis-cli refuses the server.
    let other = Ca::new("another CA");
    let other_file = other.write(t.dir.path(), "other");
    let out = Command::new("redis-cli")
        .args(["--tls", "--cacert"])
        .arg(&other_file)
        .args(["-h", "127.0.0.1", "-p", &t.tls_port.to_string(), "PING"])
        .output()
        .expect("run redis-cli");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        !text.contains("PONG"),
        "an untrusted server was accepted: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifying_client_runs_commands_pipelines_and_subscribes() {
    let ca = Ca::new("tandem test CA");
    let server = ca.leaf("tandem-proxy", SERVER_NAMES);
    let t = start(&ca, &server, "no");
    let config = client_config(&ca, None);
    let mut c = Resp::new(
        tls_connect(t.tls_port, config.clone())
            .await
            .expect("TLS connect"),
    );
    assert_eq!(c.call(&["PING"]).await.expect("PING"), "+PONG");
    assert_eq!(c.call(&["SET", "k", "v"]).await.expect("SET"), "+OK");
    assert_eq!(c.call(&["GET", "k"]).await.expect("GET"), "$v");

    // A pipeline of 1000 commands written at once (several TLS records), read back in order.
    let mut all = Vec::new();
    for i in 0..1000 {
        all.extend(tandem_tests::encode_command(&[
            b"SET",
            format!("p{i}").as_bytes(),
            format!("{i}").as_bytes(),
        ]));
        all.extend(tandem_tests::encode_command(&[
            b"INCR",
            format!("p{i}").as_bytes(),
        ]));
    }
    c.io.get_mut().write_all(&all).await.expect("pipeline");
    c.io.get_mut().flush().await.expect("flush");
    for i in 0..1000 {
        assert_eq!(c.reply().await.expect("SET reply"), "+OK");
        assert_eq!(c.reply().await.expect("INCR reply"), format!(":{}", i + 1));
    }
    // A value larger than a TLS record (16 KiB) both ways.
    let big = "x".repeat(300_000);
    assert_eq!(c.call(&["SET", "big", &big]).await.expect("SET big"), "+OK");
    assert_eq!(c.call(&["STRLEN", "big"]).await.expect("STRLEN"), ":300000");
    assert_eq!(
        c.call(&["GET", "big"]).await.expect("GET big"),
        format!("${big}")
    );

    // Pub/sub: a TLS subscriber gets what a plain client publishes.
    let mut sub = Resp::new(tls_connect(t.tls_port, config).await.expect("TLS connect"));
    assert_eq!(
        sub.call(&["SUBSCRIBE", "news"]).await.expect("SUBSCRIBE"),
        "*[$subscribe,$news,:1]"
    );
    let mut plain = t.cluster.client();
    for n in 0..3 {
        let receivers: i64 = redis::cmd("PUBLISH")
            .arg("news")
            .arg(format!("hello {n}"))
            .query(&mut plain)
            .expect("PUBLISH");
        assert_eq!(receivers, 1);
    }
    for n in 0..3 {
        let message = tokio::time::timeout(Duration::from_secs(5), sub.reply())
            .await
            .expect("message in time")
            .expect("message");
        assert_eq!(message, format!("*[$message,$news,$hello {n}]"));
    }

    // CONFIG GET answers the tls-* settings as Redis names them.
    let got = c
        .call(&["CONFIG", "GET", "tls-auth-clients"])
        .await
        .expect("CONFIG GET");
    assert_eq!(got, "*[$tls-auth-clients,$no]");
    let got = c
        .call(&["CONFIG", "GET", "tls-port"])
        .await
        .expect("CONFIG GET");
    assert_eq!(got, format!("*[$tls-port,${}]", t.tls_port));
    let got = c
        .call(&["CONFIG", "GET", "tls-cert-file"])
        .await
        .expect("CONFIG GET");
    assert_eq!(got, format!("*[$tls-cert-file,${}]", t.cert.display()));
    let got = c
        .call(&["CONFIG", "GET", "tls-protocols"])
        .await
        .expect("CONFIG GET");
    assert_eq!(got, "*[$tls-protocols,$]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_server_or_client_certificate_is_refused() {
    let ca = Ca::new("tandem test CA");
    let server = ca.leaf("tandem-proxy", SERVER_NAMES);
    let t = start(&ca, &server, "yes");
    let client = ca.leaf("app-1", &["app-1"]);

    // The client does not trust the proxy's CA: the client ends the handshake.
    let stranger = Ca::new("another CA");
    let err = tls_connect(t.tls_port, client_config(&stranger, Some(&client)))
        .await
        .expect_err("an untrusted server must be refused");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");

    // tls-auth-clients yes: no client certificate, or one from another CA, is refused by the
    // proxy (TLS 1.3 reports it on the client's first read).
    let stranger_client = stranger.leaf("app-x", &["app-x"]);
    for presented in [None, Some(&stranger_client)] {
        let outcome = async {
            let mut c = Resp::new(tls_connect(t.tls_port, client_config(&ca, presented)).await?);
            c.call(&["PING"]).await
        }
        .await;
        assert!(
            outcome.is_err(),
            "client certificate {:?} accepted: {outcome:?}",
            presented.map(|_| "from another CA")
        );
    }
    // A certificate from the configured CA gets in.
    let mut c = Resp::new(
        tls_connect(t.tls_port, client_config(&ca, Some(&client)))
            .await
            .expect("TLS connect with a client certificate"),
    );
    assert_eq!(c.call(&["PING"]).await.expect("PING"), "+PONG");
    let logs = t.cluster.logs();
    assert!(
        logs.contains("TLS handshake failed"),
        "refusals are logged:\n{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optional_client_certificates_are_verified_when_presented() {
    let ca = Ca::new("tandem test CA");
    let server = ca.leaf("tandem-proxy", SERVER_NAMES);
    let t = start(&ca, &server, "optional");
    let mut anonymous = Resp::new(
        tls_connect(t.tls_port, client_config(&ca, None))
            .await
            .expect("connect without a certificate"),
    );
    assert_eq!(anonymous.call(&["PING"]).await.expect("PING"), "+PONG");
    let stranger = Ca::new("another CA");
    let bad = stranger.leaf("app-x", &["app-x"]);
    let outcome = async {
        let mut c = Resp::new(tls_connect(t.tls_port, client_config(&ca, Some(&bad))).await?);
        c.call(&["PING"]).await
    }
    .await;
    assert!(
        outcome.is_err(),
        "an untrusted client certificate was accepted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_certificate_and_keeps_old_connections() {
    let ca = Ca::new("first CA");
    let server = ca.leaf("tandem-proxy", SERVER_NAMES);
    let t = start(&ca, &server, "no");
    let mut old = Resp::new(
        tls_connect(t.tls_port, client_config(&ca, None))
            .await
            .expect("TLS connect"),
    );
    assert_eq!(old.call(&["SET", "before", "1"]).await.expect("SET"), "+OK");

    // A new certificate from a new CA in the same files, then SIGHUP.
    let second = Ca::new("second CA");
    let renewed = second.leaf("tandem-proxy", SERVER_NAMES);
    write_atomically(&t.cert, &renewed.cert_pem);
    write_atomically(&t.key, &renewed.key_pem);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(t.cluster.proxy_pid() as i32),
        Signal::SIGHUP,
    )
    .expect("SIGHUP");

    // New handshakes get the new certificate (retry while the reload is on its way).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut fresh = loop {
        match tls_connect(t.tls_port, client_config(&second, None)).await {
            Ok(s) => break Resp::new(s),
            Err(e) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the reloaded certificate is not served: {e}\n{}",
                    t.cluster.logs()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(fresh.call(&["GET", "before"]).await.expect("GET"), "$1");
    // Clients that trust only the old CA are refused now.
    assert!(tls_connect(t.tls_port, client_config(&ca, None))
        .await
        .is_err());
    // The connection made before the reload still works.
    assert_eq!(old.call(&["INCR", "before"]).await.expect("INCR"), ":2");
    assert!(t.cluster.logs().contains("TLS certificates re-read"));

    // A broken file on reload keeps the certificate in force.
    write_atomically(&t.cert, "not a certificate");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(t.cluster.proxy_pid() as i32),
        Signal::SIGHUP,
    )
    .expect("SIGHUP");
    tandem_tests::wait_for(
        "the failed reload to be logged",
        Duration::from_secs(10),
        || t.cluster.logs().contains("TLS settings kept").then_some(()),
    );
    let mut after = Resp::new(
        tls_connect(t.tls_port, client_config(&second, None))
            .await
            .expect("the kept certificate is still served"),
    );
    assert_eq!(after.call(&["PING"]).await.expect("PING"), "+PONG");
}

fn write_atomically(path: &Path, contents: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_proxy_closes_idle_tls_clients_cleanly() {
    let ca = Ca::new("tandem test CA");
    let server = ca.leaf("tandem-proxy", SERVER_NAMES);
    let mut t = start(&ca, &server, "no");
    let mut c = Resp::new(
        tls_connect(t.tls_port, client_config(&ca, None))
            .await
            .expect("TLS connect"),
    );
    assert_eq!(c.call(&["SET", "k", "v"]).await.expect("SET"), "+OK");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(t.cluster.proxy_pid() as i32),
        Signal::SIGTERM,
    )
    .expect("SIGTERM");
    // An idle client is closed at once, with a TLS close_notify: a clean end of stream.
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), c.io.read_to_end(&mut rest))
        .await
        .expect("closed within the drain");
    assert_eq!(read.expect("a clean TLS end of stream"), 0);
    let status = t.cluster.kill_proxy(Signal::SIGTERM);
    assert!(status.success(), "{status}");
}

/// Protected mode over TLS: a client from outside loopback (127.0.0.2 here) completes the
/// handshake, then reads Redis's DENIED text and the end of the stream, as from redis-server's
/// tls-port; a password on the default user lets it in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_mode_answers_denied_after_the_handshake() {
    let ca = Ca::new("tandem test CA");
    let server = ca.leaf("tandem-proxy", SERVER_NAMES);
    let t = start(&ca, &server, "no");
    let from_outside = || async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.2:0".parse().expect("address"))
            .expect("bind 127.0.0.2");
        let tcp = socket
            .connect(([127, 0, 0, 1], t.tls_port).into())
            .await
            .expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        TlsConnector::from(client_config(&ca, None))
            .connect(name, tcp)
            .await
            .expect("TLS handshake")
    };
    let mut tls = from_outside().await;
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut got))
        .await
        .expect("the proxy closes the connection")
        .expect("a clean end of stream");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user.")
            && text.ends_with("from the outside.\r\n"),
        "{text}"
    );
    // With a password on the default user the client gets in (and must authenticate).
    let mut admin = t.cluster.client();
    tandem_tests::expect(
        &mut admin,
        &["CONFIG", "SET", "requirepass", "pw"],
        tandem_tests::ok(),
    );
    let mut resp = Resp::new(from_outside().await);
    resp.send(&["PING"]).await.expect("send");
    assert_eq!(
        resp.reply().await.expect("reply"),
        "-NOAUTH Authentication required."
    );
    resp.send(&["AUTH", "pw"]).await.expect("send");
    assert_eq!(resp.reply().await.expect("reply"), "+OK");
}
