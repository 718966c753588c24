//! The Prometheus Redis exporter (Debian package `prometheus-redis-exporter`) scrapes tandem
//! with no error and yields every metric family it yields for redis-server 7.0.15 after the
//! same commands. Skipped, saying so, where the exporter is not installed (scripts/test does
//! not install it).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tandem_tests::*;

const EXPORTER: &str = "prometheus-redis-exporter";

/// An exporter process scraping `addr`, killed when dropped.
struct Exporter {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Exporter {
    fn start(addr: &str, dir: &std::path::Path, name: &str) -> Exporter {
        let port = free_port();
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("exporter log");
        let child = Command::new(EXPORTER)
            .args([
                "-redis.addr",
                &format!("redis://{addr}"),
                "-web.listen-address",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("start the exporter");
        Exporter { child, port, log }
    }

    /// The text of one `/metrics` scrape.
    fn scrape(&self) -> String {
        wait_for("the exporter's /metrics", Duration::from_secs(10), || {
            let mut conn = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
            conn.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
                .ok()?;
            let mut body = String::new();
            conn.read_to_string(&mut body).ok()?;
            body.contains("redis_up").then_some(body)
        })
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The metric family names of a scrape (the name before labels or value).
fn families(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or(l).to_owned())
        .collect()
}

fn value(text: &str, metric: &str) -> Option<String> {
    text.lines()
        .find(|l| l.starts_with(metric))
        .and_then(|l| l.rsplit(' ').next())
        .map(str::to_owned)
}

#[test]
fn the_exporter_scrapes_tandem_as_it_scrapes_redis() {
    let installed = Command::new(EXPORTER)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        eprintln!(
            "skipped: {EXPORTER} is not installed (apt-get install {EXPORTER} to run this test)"
        );
        return;
    }
    let differ = Differ::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let spin = "local t = redis.call('TIME') local s = t[1] * 1000000 + t[2] \
                while true do local n = redis.call('TIME') \
                if n[1] * 1000000 + n[2] - s > 5000 then break end end return 1";
    let mut scrapes = Vec::new();
    for (name, addr) in [
        ("tandem", differ.tandem().addr()),
        ("redis", differ.reference().addr()),
    ] {
        let mut c = match name {
            "tandem" => differ.tandem().client(),
            _ => differ.reference().client(),
        };
        for args in [
            &["SET", "k", "v"][..],
            &["EXPIRE", "k", "100"][..],
            &["LPUSH", "l", "a"][..],
            &["CONFIG", "SET", "latency-monitor-threshold", "1"][..],
            &["EVAL", spin, "0"][..],
        ] {
            run_command(&mut c, args).unwrap_or_else(|e| panic!("{name} {args:?}: {e}"));
        }
        run_command(&mut c, &["HGET", "k", "f"]).expect_err("WRONGTYPE");
        let exporter = Exporter::start(&addr, dir.path(), name);
        let text = exporter.scrape();
        let log = std::fs::read_to_string(&exporter.log).unwrap_or_default();
        scrapes.push((name, text, log));
    }
    let (_, ours, our_log) = &scrapes[0];
    let (_, theirs, _) = &scrapes[1];
    assert_eq!(value(ours, "redis_up").as_deref(), Some("1"), "{ours}");
    assert_eq!(
        value(ours, "redis_exporter_last_scrape_error").as_deref(),
        Some("0"),
        "{ours}"
    );
    assert!(
        !our_log.contains("level=error") && !our_log.contains("level=warn"),
        "{our_log}"
    );
    let missing: Vec<String> = families(theirs)
        .difference(&families(ours))
        .cloned()
        .collect();
    assert!(missing.is_empty(), "missing for tandem: {missing:?}");
    assert!(ours.contains("redis_db_keys{db=\"db0\"} 2"), "{ours}");
}
