//! Proxies on other hosts (issue 19): storaged's `--listen-proxies` with mutual TLS, and
//! proxies linked to it by `tcp://`. Two proxies share one storaged over TCP (SET/GET and
//! pub/sub across them), a proxy whose certificate comes from another CA, or carries a name
//! not in `proxy-tls-allow-names`, is refused with a clear log line on both sides, and
//! storaged killed (SIGKILL) or drained (SIGTERM) under a write load over the TCP links
//! loses and doubles nothing. SIGHUP re-reads the link's certificate files on either side
//! without dropping the links already up.

#[path = "tls_certs/mod.rs"]
mod certs;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use certs::{Ca, Leaf};
use tandem_tests::*;

const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A storaged serving proxies on loopback TCP, and the files proxies need to reach it.
struct Deployment {
    dir: tempfile::TempDir,
    ca: Ca,
    storaged: Option<Child>,
    storaged_args: Vec<String>,
    tcp_port: u16,
}

/// A proxy process linked over TCP.
struct Proxy {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        if let Some(child) = self.storaged.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if thread::panicking() {
            eprintln!("----- storaged log -----\n{}", self.storaged_log());
        }
    }
}

fn spawn(program: &str, args: &[String], log: &Path) -> Child {
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    let err = out.try_clone().expect("log file");
    Command::new(binary(program))
        .args(args)
        .env("TANDEM_LOG_FORMAT", "text")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

impl Deployment {
    /// Starts storaged with `--listen-proxies` on a free loopback port; `allow_names` goes
    /// to `--proxy-tls-allow-names` when not empty.
    fn start(allow_names: &[&str]) -> Deployment {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = Ca::new("tandem link CA");
        let ca_file = ca.write(dir.path(), "ca");
        let (cert, key) = ca
            .leaf("tandem-storaged", &["localhost", "127.0.0.1"])
            .write(dir.path(), "storaged");
        let tcp_port = free_port();
        let mut storaged_args = vec![
            "--data-dir".into(),
            dir.path().join("data").display().to_string(),
            "--socket".into(),
            dir.path().join("storaged.sock").display().to_string(),
            "--listen-proxies".into(),
            format!("127.0.0.1:{tcp_port}"),
            "--proxy-tls-cert-file".into(),
            cert.display().to_string(),
            "--proxy-tls-key-file".into(),
            key.display().to_string(),
            "--proxy-tls-ca-cert-file".into(),
            ca_file.display().to_string(),
        ];
        if !allow_names.is_empty() {
            storaged_args.extend(["--proxy-tls-allow-names".into(), allow_names.join(",")]);
        }
        let mut d = Deployment {
            dir,
            ca,
            storaged: None,
            storaged_args,
            tcp_port,
        };
        d.start_storaged();
        d
    }

    fn storaged_log(&self) -> String {
        read(&self.dir.path().join("storaged.log"))
    }

    fn start_storaged(&mut self) {
        assert!(self.storaged.is_none());
        let child = spawn(
            "tandem-storaged",
            &self.storaged_args,
            &self.dir.path().join("storaged.log"),
        );
        self.storaged = Some(child);
        let port = self.tcp_port;
        wait_for("storaged's TCP port", START_TIMEOUT, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
    }

    fn kill_storaged(&mut self, signal: Signal) -> std::process::ExitStatus {
        let mut child = self.storaged.take().expect("storaged running");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal)
            .expect("signal storaged");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "storaged did not exit");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts a proxy linked over TCP with a certificate for `name` from `ca` (the
    /// deployment's own CA when `None`).
    fn proxy(&self, name: &str, ca: Option<&Ca>) -> Proxy {
        let leaf: Leaf = ca.unwrap_or(&self.ca).leaf(name, &[name]);
        let (cert, key) = leaf.write(self.dir.path(), name);
        let port = free_port();
        let log = self.dir.path().join(format!("{name}.log"));
        let args = vec![
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--storage-socket".into(),
            format!("tcp://127.0.0.1:{}", self.tcp_port),
            "--storage-tls-cert-file".into(),
            cert.display().to_string(),
            "--storage-tls-key-file".into(),
            key.display().to_string(),
            "--storage-tls-ca-cert-file".into(),
            self.dir.path().join("ca.pem").display().to_string(),
        ];
        let child = spawn("tandem-proxy", &args, &log);
        let proxy = Proxy { child, port, log };
        wait_for("the proxy's port", START_TIMEOUT, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        proxy
    }
}

impl Proxy {
    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        read(&self.log)
    }

    /// A client once storage commands go through.
    fn ready_client(&self) -> redis::Connection {
        let mut conn = connect(&self.addr(), None, Protocol::Resp2);
        let log = &self.log;
        wait_for(
            "storage commands through the TCP link",
            START_TIMEOUT,
            || match redis::cmd("DBSIZE").query::<i64>(&mut conn) {
                Ok(_) => Some(()),
                Err(_) if read(log).contains("refused") => {
                    panic!("link refused:\n{}", read(log))
                }
                Err(_) => None,
            },
        );
        conn
    }
}

#[test]
fn two_proxies_share_storaged_over_tcp_with_mutual_tls() {
    let d = Deployment::start(&[]);
    let a = d.proxy("proxy-a", None);
    let b = d.proxy("proxy-b", None);
    let mut ca = a.ready_client();
    let mut cb = b.ready_client();
    expect(&mut ca, &["SET", "k", "from-a"], ok());
    expect(&mut cb, &["GET", "k"], bulk("from-a"));
    expect(&mut cb, &["INCRBY", "n", "5"], int(5));
    expect(&mut ca, &["INCR", "n"], int(6));
    // A value much larger than a TLS record, both ways through the links.
    let big = "v".repeat(2_000_000);
    expect(&mut ca, &["SET", "big", &big], ok());
    expect(&mut cb, &["STRLEN", "big"], int(2_000_000));
    expect(&mut cb, &["GET", "big"], bulk(&big));

    // Pub/sub across proxies: storaged pushes to B what A publishes.
    let mut sub = connect(&b.addr(), None, Protocol::Resp2);
    let mut pubsub = sub.as_pubsub();
    pubsub.subscribe("news").expect("SUBSCRIBE");
    pubsub
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    // The subscription reaches storaged on B's link; publish until it is counted.
    wait_for("the subscription to reach storaged", START_TIMEOUT, || {
        let n: i64 = redis::cmd("PUBLISH")
            .arg("news")
            .arg("hello")
            .query(&mut ca)
            .expect("PUBLISH");
        (n == 1).then_some(())
    });
    let message = pubsub.get_message().expect("message");
    assert_eq!(message.get_channel_name(), "news");
    assert_eq!(message.get_payload::<String>().expect("payload"), "hello");

    // The certificate identity stands in for the peer's pid/uid in storaged's log.
    let log = d.storaged_log();
    assert!(
        log.contains("CN=proxy-a") && log.contains("CN=proxy-b") && log.contains("proxy link up"),
        "{log}"
    );
    assert!(
        log.contains("serving proxies on TCP with mutual TLS"),
        "{log}"
    );
}

#[test]
fn a_certificate_from_another_ca_is_refused_with_a_clear_log_line() {
    let d = Deployment::start(&[]);
    let stranger = Ca::new("another CA");
    let p = d.proxy("proxy-x", Some(&stranger));
    wait_for("the refusal in both logs", START_TIMEOUT, || {
        let storaged = d.storaged_log();
        let proxy = p.log();
        (storaged.contains("refusing proxy link: TLS handshake failed")
            && proxy.contains("storaged refused this proxy's certificate"))
        .then_some(())
    });
    let storaged = d.storaged_log();
    assert!(
        storaged.contains("UnknownIssuer") || storaged.contains("unknown issuer"),
        "the reason is named: {storaged}"
    );
    // Its clients get errors, never data.
    let mut c = connect(&p.addr(), None, Protocol::Resp2);
    assert!(redis::cmd("SET")
        .arg("x")
        .arg("1")
        .query::<String>(&mut c)
        .is_err());
}

#[test]
fn a_name_outside_the_allow_list_is_refused() {
    let d = Deployment::start(&["proxy-a"]);
    let a = d.proxy("proxy-a", None);
    let mut ca = a.ready_client();
    expect(&mut ca, &["PING"], simple("PONG"));
    expect(&mut ca, &["SET", "k", "v"], ok());
    let b = d.proxy("proxy-b", None);
    wait_for("the refusal in both logs", START_TIMEOUT, || {
        (d.storaged_log().contains("proxy-tls-allow-names")
            && b.log().contains("storaged refused the link"))
        .then_some(())
    });
    let log = d.storaged_log();
    assert!(
        log.contains("refusing link") && log.contains("CN=proxy-b"),
        "{log}"
    );
}

/// What one load client saw.
#[derive(Default)]
struct Load {
    sets: u64,
    incrs: i64,
}

/// Pipelines `SET c{id}:{i} v{i}`, `INCR n{id}`, `INCRBY m{id} 3` until `stop`; panics on
/// any error (the restarts are much shorter than the request deadline).
fn client(addr: String, id: usize, stop: Arc<AtomicBool>, progress: Arc<AtomicU64>) -> Load {
    let mut conn = connect(&addr, None, Protocol::Resp2);
    let mut log = Load::default();
    while !stop.load(Ordering::Relaxed) {
        let i = log.sets + 1;
        let replies: Vec<Value> = redis::pipe()
            .cmd("SET")
            .arg(format!("c{id}:{i}"))
            .arg(format!("v{i}"))
            .cmd("INCR")
            .arg(format!("n{id}"))
            .cmd("INCRBY")
            .arg(format!("m{id}"))
            .arg(3)
            .query(&mut conn)
            .unwrap_or_else(|e| panic!("client {id} pipeline {i}: {e}"));
        log.incrs += 1;
        assert_eq!(replies[0], Value::Okay);
        assert_eq!(replies[1], Value::Int(log.incrs), "client {id}: INCR reply");
        assert_eq!(
            replies[2],
            Value::Int(3 * log.incrs),
            "client {id}: INCRBY reply"
        );
        log.sets = i;
        progress.fetch_add(1, Ordering::Relaxed);
    }
    log
}

#[test]
fn storaged_killed_or_drained_under_load_over_tcp_loses_and_doubles_nothing() {
    let mut d = Deployment::start(&[]);
    let proxies = [d.proxy("proxy-a", None), d.proxy("proxy-b", None)];
    for p in &proxies {
        p.ready_client();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..4)
        .map(|id| {
            let addr = proxies[id % 2].addr();
            let (stop, progress) = (stop.clone(), progress.clone());
            thread::spawn(move || client(addr, id, stop, progress))
        })
        .collect();
    let wait_progress = |amount: u64| {
        let target = progress.load(Ordering::Relaxed) + amount;
        wait_for("clients to make progress", Duration::from_secs(30), || {
            (progress.load(Ordering::Relaxed) >= target).then_some(())
        });
    };
    for signal in [Signal::SIGKILL, Signal::SIGTERM, Signal::SIGKILL] {
        wait_progress(300);
        let status = d.kill_storaged(signal);
        assert_eq!(status.success(), signal == Signal::SIGTERM, "{status}");
        d.start_storaged();
    }
    wait_progress(300);
    stop.store(true, Ordering::Relaxed);
    let loads: Vec<Load> = handles
        .into_iter()
        .map(|h| h.join().expect("a load client failed"))
        .collect();
    let c = &mut proxies[0].ready_client();
    for (id, load) in loads.iter().enumerate() {
        for i in 1..=load.sets {
            expect(c, &["GET", &format!("c{id}:{i}")], bulk(format!("v{i}")));
        }
        expect(c, &["GET", &format!("n{id}")], bulk(load.incrs.to_string()));
        expect(
            c,
            &["GET", &format!("m{id}")],
            bulk((3 * load.incrs).to_string()),
        );
    }
    if let Ok(Value::BulkString(info)) = run_command(c, &["INFO", "link"]) {
        eprintln!("{}", String::from_utf8_lossy(&info));
    }
}

fn sighup(pid: u32) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), Signal::SIGHUP).expect("SIGHUP");
}

/// How often a log says a storage link went down.
fn links_down(log: &str) -> usize {
    log.matches("storage link down").count()
}

/// Waits until storage commands go through `proxy` (refusals before that are expected).
fn wait_linked(proxy: &Proxy) -> redis::Connection {
    let mut conn = connect(&proxy.addr(), None, Protocol::Resp2);
    wait_for(
        "storage commands through the TCP link",
        START_TIMEOUT,
        || redis::cmd("DBSIZE").query::<i64>(&mut conn).ok(),
    );
    conn
}

/// The certificate storaged presents to a new link now (a handshake as a proxy of `ca`).
fn presented_certificate(d: &Deployment) -> Vec<u8> {
    let config = certs::client_config(&d.ca, Some(&d.ca.leaf("probe", &["probe"])));
    let port = d.tcp_port;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let name =
            tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .expect("handshake with storaged");
        tls.get_ref()
            .1
            .peer_certificates()
            .and_then(|c| c.first())
            .expect("storaged's certificate")
            .to_vec()
    })
}

#[test]
fn storaged_rereads_its_link_certificates_on_sighup_and_keeps_open_links() {
    let d = Deployment::start(&[]);
    let a = d.proxy("proxy-a", None);
    let mut conn_a = a.ready_client();
    expect(&mut conn_a, &["SET", "k", "v"], ok());
    let down_before = links_down(&a.log());

    // A proxy whose certificate comes from a second CA: refused while storaged trusts only
    // the first.
    let second = Ca::new("second link CA");
    let b = d.proxy("proxy-b", Some(&second));
    wait_for("proxy-b refused", START_TIMEOUT, || {
        d.storaged_log()
            .contains("refusing proxy link: TLS handshake failed")
            .then_some(())
    });

    // Rotation: a new certificate for storaged, and a CA file trusting both CAs.
    let dir = d.dir.path();
    let rotated = d.ca.leaf("tandem-storaged-2", &["localhost", "127.0.0.1"]);
    rotated.write(dir, "storaged");
    std::fs::write(
        dir.join("ca.pem"),
        format!("{}{}", d.ca.pem(), second.pem()),
    )
    .expect("write the CA bundle");
    sighup(d.storaged.as_ref().expect("storaged").id());
    wait_for("the reload", START_TIMEOUT, || {
        d.storaged_log()
            .contains("reload: proxy-tls certificate, key and CA re-read")
            .then_some(())
    });
    // proxy-b's retries get through now, and new links see the new certificate.
    let mut conn_b = wait_linked(&b);
    expect(&mut conn_b, &["GET", "k"], bulk("v"));
    assert!(d.storaged_log().contains("CN=proxy-b"));
    let (rotated_der, _) = rotated.rustls_pair();
    assert_eq!(presented_certificate(&d), rotated_der[0].to_vec());
    // proxy-a's links were never dropped.
    expect(&mut conn_a, &["GET", "k"], bulk("v"));
    assert_eq!(links_down(&a.log()), down_before, "{}", a.log());

    // A file that does not load leaves the material in force.
    std::fs::write(dir.join("storaged.crt"), "not a certificate").expect("write");
    sighup(d.storaged.as_ref().expect("storaged").id());
    wait_for("the failed reload", START_TIMEOUT, || {
        d.storaged_log()
            .contains("reload: proxy-tls files kept")
            .then_some(())
    });
    assert_eq!(presented_certificate(&d), rotated_der[0].to_vec());
    let c = d.proxy("proxy-c", None);
    expect(&mut c.ready_client(), &["GET", "k"], bulk("v"));
}

#[test]
fn a_proxy_rereads_its_link_certificate_on_sighup() {
    let mut d = Deployment::start(&[]);
    let a = d.proxy("proxy-a", None);
    let mut conn = a.ready_client();
    expect(&mut conn, &["SET", "k", "v"], ok());
    let down_before = links_down(&a.log());

    // A new certificate (another name) for the proxy, read on SIGHUP.
    d.ca.leaf("proxy-a-2", &["proxy-a-2"])
        .write(d.dir.path(), "proxy-a");
    sighup(a.child.id());
    wait_for("the reload", START_TIMEOUT, || {
        a.log()
            .contains("reload: storage-tls certificate, key and CA re-read")
            .then_some(())
    });
    // The links already up stay.
    expect(&mut conn, &["GET", "k"], bulk("v"));
    assert_eq!(links_down(&a.log()), down_before, "{}", a.log());
    assert!(!d.storaged_log().contains("CN=proxy-a-2"));

    // Links made from now on present the new certificate.
    let status = d.kill_storaged(Signal::SIGTERM);
    assert!(status.success(), "{status}");
    d.start_storaged();
    wait_for("a link with the new certificate", START_TIMEOUT, || {
        d.storaged_log().contains("CN=proxy-a-2").then_some(())
    });
    let mut conn = wait_linked(&a);
    expect(&mut conn, &["GET", "k"], bulk("v"));
}

#[test]
fn info_proxies_lists_each_link_with_its_peer_identity() {
    // Over TCP: the certificate's names and the address.
    let d = Deployment::start(&[]);
    let a = d.proxy("proxy-a", None);
    let mut conn = a.ready_client();
    let text = info(&mut conn, "proxies");
    assert!(text.starts_with("# Proxies\r\n"), "{text}");
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("proxy")).collect();
    // proxy_links plus one line per link (four per proxy by default).
    assert_eq!(lines.len(), 5, "{text}");
    assert!(text.contains("proxy_links:4"), "{text}");
    for line in &lines[1..] {
        assert!(
            line.contains(",transport=tls,cn=proxy-a,dns=proxy-a,addr=127.0.0.1:"),
            "{line}"
        );
    }
    // A second proxy's links are listed too, and go when it does.
    let b = d.proxy("proxy-b", None);
    b.ready_client();
    assert!(info(&mut conn, "proxies").contains("proxy_links:8"));
    drop(b);
    wait_for("proxy-b's links to go", START_TIMEOUT, || {
        let text = info(&mut conn, "proxies");
        (text.contains("proxy_links:4") && !text.contains("cn=proxy-b")).then_some(())
    });
    assert!(
        info(&mut conn, "default").contains("# Proxies\r\n"),
        "in the default INFO"
    );

    // Over the Unix socket: the proxy's pid, uid and gid.
    let cluster = TestCluster::start();
    let text = info(&mut cluster.client(), "proxies");
    let pid = cluster.proxy_pid();
    assert!(
        text.contains(&format!(",transport=unix,pid={pid},uid=")),
        "{text}"
    );
}
