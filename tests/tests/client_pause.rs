//! CLIENT PAUSE / UNPAUSE: Redis 7.0's replies (differential, RESP2 and RESP3), and the
//! hold across proxies: a pause taken through one proxy holds the clients of every proxy,
//! reaches a proxy that connects later, and does not outlive a storaged restart.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tandem_tests::*;

/// How long a command must stay unanswered to count as held.
const HELD_FOR: Duration = Duration::from_millis(400);

/// A client that sends one command and lets the test look for its reply later.
struct Pending {
    stream: TcpStream,
    sent: Instant,
}

impl Pending {
    fn send(addr: &str, args: &[&str]) -> Pending {
        let mut stream = TcpStream::connect(addr).expect("connect");
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        stream.write_all(&encode_command(&args)).expect("send");
        Pending {
            stream,
            sent: Instant::now(),
        }
    }

    /// True if no reply arrives within [`HELD_FOR`].
    fn is_held(&mut self) -> bool {
        self.stream
            .set_read_timeout(Some(HELD_FOR))
            .expect("set_read_timeout");
        let mut byte = [0u8; 1];
        match self.stream.peek(&mut byte) {
            Ok(_) => false,
            Err(e) => matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }

    /// The reply (one line, up to CRLF or a whole small aggregate), waiting up to 10 s, and
    /// how long after sending it came.
    fn reply(&mut self) -> (String, Duration) {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set_read_timeout");
        let mut buf = [0u8; 512];
        let n = self.stream.read(&mut buf).expect("a reply");
        let elapsed = self.sent.elapsed();
        // An aggregate may come in more than one read; a short wait gathers the rest.
        std::thread::sleep(Duration::from_millis(30));
        let mut text = String::from_utf8_lossy(&buf[..n]).into_owned();
        self.stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("set_read_timeout");
        if let Ok(more) = self.stream.read(&mut buf) {
            text.push_str(&String::from_utf8_lossy(&buf[..more]));
        }
        (text, elapsed)
    }
}

fn info_field(conn: &mut redis::Connection, section: &str, field: &str) -> String {
    let text = info(conn, section);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}:\n{text}"))
        .trim()
        .to_owned()
}

#[test]
fn replies_and_errors_match_redis() {
    let d = Differ::start();
    d.check(&[
        &["CLIENT", "PAUSE", "abc"],
        &["CLIENT", "PAUSE", "-1"],
        &["CLIENT", "PAUSE", "1.5"],
        &["CLIENT", "PAUSE", "99999999999999999999"],
        &["CLIENT", "PAUSE", "100", "foo"],
        // The mode is checked before the timeout.
        &["CLIENT", "PAUSE", "abc", "foo"],
        &["CLIENT", "PAUSE", "100", "write", "extra"],
        &["CLIENT", "PAUSE"],
        &["CLIENT", "UNPAUSE", "x"],
        &["CLIENT", "PAUSE", "0"],
        &["CLIENT", "PAUSE", "0", "WRITE"],
        &["CLIENT", "PAUSE", "0", "all"],
        // Redis 7.0.15 adds the clock without an overflow check: the end wraps into the
        // past and nothing is paused, so the SET after it runs at once.
        &["CLIENT", "PAUSE", "9223372036854775807", "WRITE"],
        &["SET", "k", "v"],
        &["CLIENT", "UNPAUSE"],
        &["CLIENT", "UNPAUSE"],
        &["GET", "k"],
        // A command with an error Redis answers before the pause check is not held.
        &["CLIENT", "PAUSE", "60000", "WRITE"],
        &["SET", "k"],
        &["NOSUCHCOMMAND", "x"],
        // Reads run during a write pause; so does CLIENT UNBLOCK (of nobody: 0).
        &["GET", "k"],
        &["EVAL_RO", "return 1", "0"],
        &["EVAL", "#!lua flags=no-writes\nreturn 2", "0"],
        &["CLIENT", "UNBLOCK", "999999"],
        &["CLIENT", "UNPAUSE"],
        &["CLIENT", "HELP"],
    ]);
}

#[test]
fn a_write_pause_through_one_proxy_holds_writes_on_another() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return; // the second proxy is tandem's
    }
    let other = cluster.spawn_extra_proxy();
    let mut admin = cluster.client();
    let mut reader = other.client();
    expect(&mut admin, &["SET", "k", "before"], ok());
    expect(&mut admin, &["CLIENT", "PAUSE", "60000", "WRITE"], ok());

    let mut writer = Pending::send(&other.addr(), &["SET", "k", "after"]);
    assert!(writer.is_held(), "a SET on the other proxy must be held");
    let mut publisher = Pending::send(&other.addr(), &["PUBLISH", "ch", "m"]);
    assert!(publisher.is_held(), "PUBLISH may replicate: held too");
    // Reads go on, on both proxies, and see the value from before the pause.
    expect(&mut reader, &["GET", "k"], bulk("before"));
    expect(&mut admin, &["GET", "k"], bulk("before"));
    expect(&mut reader, &["PING"], simple("PONG"));

    // The held clients are blocked as Redis shows them, and CLIENT UNBLOCK cannot free them.
    assert_eq!(info_field(&mut reader, "clients", "blocked_clients"), "2");
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut reader)
        .expect("CLIENT LIST");
    let held = list
        .lines()
        .find(|l| l.contains("cmd=set"))
        .unwrap_or_else(|| panic!("no held SET in CLIENT LIST:\n{list}"));
    assert!(held.contains("flags=b"), "{held}");
    let id = held
        .split_whitespace()
        .find_map(|f| f.strip_prefix("id="))
        .and_then(|id| {
            id.trim_start_matches(|c: char| !c.is_ascii_digit())
                .parse::<i64>()
                .ok()
        })
        .unwrap_or_else(|| panic!("no id in {held}"));
    expect(&mut reader, &["CLIENT", "UNBLOCK", &id.to_string()], int(0));
    expect(
        &mut reader,
        &["CLIENT", "UNBLOCK", &id.to_string(), "ERROR"],
        int(0),
    );
    assert!(
        writer.is_held(),
        "CLIENT UNBLOCK must not release a paused client"
    );

    expect(&mut admin, &["CLIENT", "UNPAUSE"], ok());
    assert_eq!(writer.reply().0, "+OK\r\n");
    assert_eq!(publisher.reply().0, ":0\r\n");
    expect(&mut reader, &["GET", "k"], bulk("after"));
    assert_eq!(info_field(&mut reader, "clients", "blocked_clients"), "0");
}

#[test]
fn an_all_pause_holds_every_command_until_its_end() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let other = cluster.spawn_extra_proxy();
    let mut admin = other.client();
    // A WRITE pause for a while, then a stronger, shorter one: ALL until the later end
    // (Redis's pauseClients keeps the stronger mode and the later end). Under ALL even
    // CLIENT PAUSE would be held, so the weaker one goes first.
    expect(&mut admin, &["CLIENT", "PAUSE", "3000", "WRITE"], ok());
    let taken = Instant::now();
    expect(&mut admin, &["CLIENT", "PAUSE", "10", "ALL"], ok());
    std::thread::sleep(Duration::from_millis(100));
    let mut ping = Pending::send(&cluster.addr(), &["PING"]);
    let mut unpause = Pending::send(&cluster.addr(), &["CLIENT", "UNPAUSE"]);
    assert!(ping.is_held(), "ALL holds PING");
    assert!(
        unpause.is_held(),
        "ALL holds CLIENT UNPAUSE too, as in Redis 7.0"
    );
    let (reply, _) = ping.reply();
    assert_eq!(reply, "+PONG\r\n");
    assert!(
        taken.elapsed() >= Duration::from_millis(2900),
        "released after {:?}, before the pause's end",
        taken.elapsed()
    );
    assert_eq!(unpause.reply().0, "+OK\r\n");
}

#[test]
fn exec_with_a_write_is_held_whole_and_read_only_exec_runs() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let other = cluster.spawn_extra_proxy();
    let mut admin = cluster.client();
    let mut tx = RawClient::connect(&other.addr());
    assert_eq!(tx.command(&["MULTI"]), "+OK\r\n");
    assert_eq!(tx.command(&["SET", "k", "v"]), "+QUEUED\r\n");
    let mut ro = RawClient::connect(&other.addr());
    assert_eq!(ro.command(&["MULTI"]), "+OK\r\n");
    assert_eq!(ro.command(&["PING"]), "+QUEUED\r\n");
    assert_eq!(ro.command(&["GET", "k"]), "+QUEUED\r\n");

    expect(&mut admin, &["CLIENT", "PAUSE", "60000", "WRITE"], ok());
    assert_eq!(ro.command(&["EXEC"]), "*2\r\n+PONG\r\n$-1\r\n");
    tx.send(&encode_command(&[b"EXEC"]));
    std::thread::sleep(HELD_FOR);
    expect(&mut admin, &["GET", "k"], nil());
    // A write queued during the pause is held when it is queued, as Redis holds it.
    let mut queue = Pending::send(&other.addr(), &["MULTI"]);
    assert_eq!(queue.reply().0, "+OK\r\n");
    queue
        .stream
        .write_all(&encode_command(&[b"SET", b"k2", b"v"]))
        .expect("send");
    assert!(queue.is_held(), "a write queued in MULTI is held");

    expect(&mut admin, &["CLIENT", "UNPAUSE"], ok());
    assert_eq!(tx.reply(), "*1\r\n+OK\r\n");
    assert_eq!(queue.reply().0, "+QUEUED\r\n");
    expect(&mut admin, &["GET", "k"], bulk("v"));
}

#[test]
fn keys_do_not_expire_during_a_pause() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    let expired = |c: &mut redis::Connection| -> i64 {
        info_field(c, "stats", "expired_keys")
            .parse()
            .expect("a number")
    };
    let before = expired(&mut c);
    // As Redis's own test: the pause starts at the end of the transaction.
    run_script(
        &mut c,
        &[
            &["MULTI"],
            &["SET", "foo", "bar", "PX", "300"],
            &["SET", "bar", "foo", "PX", "300"],
            &["CLIENT", "PAUSE", "50000", "WRITE"],
            &["EXEC"],
        ],
    );
    // The TTLs leave the PAUSE (run by the proxy once EXEC is answered) ample time to reach
    // storaged before the keys expire; then the sweeper has several rounds to not run.
    std::thread::sleep(Duration::from_millis(900));
    expect(&mut c, &["GET", "foo"], nil());
    expect(&mut c, &["GET", "bar"], nil());
    assert_eq!(
        expired(&mut c),
        before,
        "no key may be reclaimed while paused"
    );
    expect(&mut c, &["CLIENT", "UNPAUSE"], ok());
    // Redis reclaims them on the next access; tandem's sweeper does within ~100 ms.
    let _ = run_command(&mut c, &["GET", "foo"]);
    let _ = run_command(&mut c, &["GET", "bar"]);
    wait_for(
        "the expired keys to be reclaimed",
        Duration::from_secs(10),
        || (expired(&mut c) == before + 2).then_some(()),
    );
}

#[test]
fn a_proxy_that_connects_later_learns_the_pause_and_a_restart_ends_it() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut admin = cluster.client();
    expect(&mut admin, &["CLIENT", "PAUSE", "600000", "WRITE"], ok());
    let late = cluster.spawn_extra_proxy();
    let mut writer = Pending::send(&late.addr(), &["SET", "k", "v"]);
    assert!(
        writer.is_held(),
        "a proxy started after the pause must hold writes"
    );

    // storaged forgets the pause when it restarts, and tells every proxy so: nothing stays
    // paused for the ten minutes asked.
    cluster.kill_storaged(Signal::SIGTERM);
    cluster.start_storaged();
    let (reply, _) = writer.reply();
    assert_eq!(reply, "+OK\r\n");
    let mut c = late.client();
    expect(&mut c, &["GET", "k"], bulk("v"));
    expect(&mut admin, &["SET", "k2", "v"], ok());
}
