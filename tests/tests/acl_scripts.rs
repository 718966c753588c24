//! ACL beyond the proxy's own checks, against redis-server 7.0.15 reply for reply, RESP2
//! and RESP3: `redis.call`/`redis.pcall`/`redis.acl_check_cmd` inside scripts and functions
//! checked in storaged against the caller's user (with `ACL LOG` entries of context `lua`),
//! the second check at EXEC, `aclfile` with `ACL LOAD`/`ACL SAVE`, and a change through one
//! proxy in force on another as soon as its push lands (no polling).

use std::path::Path;
use std::process::{Child, Command, Stdio};

use redis::Value;
use tandem_tests::*;

/// A user description or ACL file text with its single-command rules (`+get -set`) sorted
/// within each selector: redis-server lists them in its command table's hash order, which
/// changes with every process.
fn normalize_rules(text: &str) -> String {
    fn segment(seg: &str) -> String {
        let (mut others, mut singles): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
        for t in seg.split(' ') {
            if (t.starts_with('+') || t.starts_with('-')) && !t[1..].starts_with('@') {
                singles.push(t);
            } else {
                others.push(t);
            }
        }
        singles.sort_unstable();
        others.extend(singles);
        others.join(" ")
    }
    text.lines()
        .map(|line| {
            let mut parts = line.split(" (");
            let mut out = segment(parts.next().unwrap_or(""));
            for sel in parts {
                out.push_str(" (");
                out.push_str(&segment(sel.strip_suffix(')').unwrap_or(sel)));
                out.push(')');
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn normalize(o: Outcome) -> Outcome {
    fn value(v: Value) -> Value {
        match v {
            Value::BulkString(b) => {
                Value::BulkString(normalize_rules(&String::from_utf8_lossy(&b)).into_bytes())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(value).collect()),
            other => other,
        }
    }
    o.map(value)
}

/// Runs `args` on both and asserts the replies are equal.
#[track_caller]
fn same(ours: &mut redis::Connection, theirs: &mut redis::Connection, args: &[&str]) {
    let got = normalize(run_command(ours, args));
    let want = normalize(run_command(theirs, args));
    assert!(
        got == want,
        "{}\n  tandem:       {}\n  redis-server: {}",
        args.join(" "),
        render_outcome(&got),
        render_outcome(&want)
    );
}

/// An `ACL LOG` reply as comparable fields: the client line keeps only its user (ids,
/// addresses and buffers differ), the age is left out.
fn log_fields(v: &Outcome) -> Vec<Vec<(String, String)>> {
    let Ok(Value::Array(entries)) = v else {
        panic!("ACL LOG: {}", render_outcome(v))
    };
    entries
        .iter()
        .map(|e| {
            let pairs: Vec<(Value, Value)> = match e {
                Value::Map(p) => p.clone(),
                Value::Array(flat) => flat
                    .chunks(2)
                    .map(|c| (c[0].clone(), c[1].clone()))
                    .collect(),
                other => panic!("entry {other:?}"),
            };
            pairs
                .into_iter()
                .filter_map(|(k, v)| {
                    let k = match k {
                        Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
                        other => panic!("key {other:?}"),
                    };
                    let v = match v {
                        Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
                        Value::Int(n) => n.to_string(),
                        Value::Double(_) => return None,
                        other => format!("{other:?}"),
                    };
                    if k == "age-seconds" {
                        return None;
                    }
                    if k == "client-info" {
                        let user = v.split(' ').find(|f| f.starts_with("user="))?;
                        return Some((k, user.to_owned()));
                    }
                    Some((k, v))
                })
                .collect()
        })
        .collect()
}

#[track_caller]
fn same_log(ours: &mut redis::Connection, theirs: &mut redis::Connection) {
    let got = log_fields(&run_command(ours, &["ACL", "LOG", "100"]));
    let want = log_fields(&run_command(theirs, &["ACL", "LOG", "100"]));
    assert_eq!(got, want, "ACL LOG differs");
}

const USERS: &[&[&str]] = &[
    &[
        "ACL",
        "SETUSER",
        "scr",
        "on",
        ">ps",
        "~k*",
        "&ch*",
        "+@all",
        "-set",
        "-flushall",
    ],
    &[
        "ACL",
        "SETUSER",
        "sel",
        "on",
        ">pl",
        "~k*",
        "+@all",
        "-set",
        "(+set ~s*)",
    ],
];

const LIBRARY: &str = "#!lua name=acllib\nredis.register_function('setter', function(keys, args) return redis.call('set', keys[1], args[1]) end)\nredis.register_function{function_name='getter', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}}";

/// What each user runs; every reply (errors with their script suffix included) must be
/// redis-server's.
const AS_USER: &[(&str, &str, &[&[&str]])] = &[
    (
        "scr",
        "ps",
        &[
            &["EVAL", "return redis.call('set','k1','v')", "0"],
            &["EVAL", "return redis.call('get','zz')", "0"],
            &["EVAL", "return redis.call('get','k1')", "0"],
            &["EVAL", "return redis.call('set','zz','v')", "0"],
            &["EVAL", "return redis.call('flushall')", "0"],
            &["EVAL", "return redis.call('publish','other','m')", "0"],
            &["EVAL", "return redis.call('publish','ch1','m')", "0"],
            &["EVAL", "return redis.pcall('set','k1','v')", "0"],
            &["EVAL", "return redis.pcall('get','zz')", "0"],
            &[
                "EVAL",
                "local r = redis.pcall('get','zz'); return type(r) .. ':' .. r['err']",
                "0",
            ],
            &["EVAL", "return redis.call('lpush','k2','a')", "0"],
            &["EVAL", "return redis.call('lrange','k2','0','-1')", "0"],
            &["EVAL", "return redis.acl_check_cmd('set','k1','v')", "0"],
            &["EVAL", "return redis.acl_check_cmd('get','k1')", "0"],
            &["EVAL", "return redis.acl_check_cmd('get','zz')", "0"],
            &[
                "EVAL",
                "return redis.acl_check_cmd('publish','ch2','m')",
                "0",
            ],
            &["EVAL", "return redis.acl_check_cmd('publish','x','m')", "0"],
            &[
                "EVAL",
                "return redis.acl_check_cmd('config','get','x')",
                "0",
            ],
            &["EVAL", "return redis.acl_check_cmd('nosuch')", "0"],
            &["EVAL", "return redis.acl_check_cmd('config','nosuch')", "0"],
            // The ACL check comes before the read-only one, as in Redis; twice, as the
            // second run of a cached read-only script runs on a read thread.
            &["EVAL_RO", "return redis.call('set','k1','v')", "0"],
            &["EVAL_RO", "return redis.call('set','k1','v')", "0"],
            &["EVAL_RO", "return redis.call('get','zz')", "0"],
            &["EVAL_RO", "return redis.call('get','zz')", "0"],
            &["EVAL_RO", "return redis.call('get','k2x')", "0"],
            &["FCALL", "setter", "1", "k1", "v"],
            &["FCALL_RO", "getter", "1", "zz"],
            &["FCALL_RO", "getter", "1", "zz"],
            &["FCALL_RO", "getter", "1", "k1"],
            &["EVAL", "return redis.call('get', KEYS[1])", "1", "zz"],
        ],
    ),
    (
        "sel",
        "pl",
        &[
            &["EVAL", "return redis.call('set','s1','v')", "0"],
            &["EVAL", "return redis.call('set','k1','v')", "0"],
            &["EVAL", "return redis.call('get','s1')", "0"],
            &["EVAL", "return redis.acl_check_cmd('set','s2','v')", "0"],
            &["EVAL", "return redis.acl_check_cmd('set','k2','v')", "0"],
        ],
    ),
];

#[test]
fn scripts_run_as_their_callers_user() {
    let reference = RedisServer::start();
    let cluster = TestCluster::start();
    let mut admin_ours = cluster.client();
    let mut admin_theirs = reference.client();
    for args in USERS {
        same(&mut admin_ours, &mut admin_theirs, args);
    }
    same(
        &mut admin_ours,
        &mut admin_theirs,
        &["FUNCTION", "LOAD", LIBRARY],
    );
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        for (user, pass, script) in AS_USER {
            let mut ours = cluster.client_with(protocol);
            let mut theirs = reference.client_with(protocol);
            same(&mut ours, &mut theirs, &["AUTH", user, pass]);
            for args in *script {
                same(&mut ours, &mut theirs, args);
            }
        }
        // The default user (unrestricted) is not checked.
        let mut ours = cluster.client_with(protocol);
        let mut theirs = reference.client_with(protocol);
        same(
            &mut ours,
            &mut theirs,
            &["EVAL", "return redis.acl_check_cmd('set','zz','v')", "0"],
        );
        same(
            &mut ours,
            &mut theirs,
            &["EVAL", "return redis.call('set','zz','v')", "0"],
        );
    }
    // Every denial inside a script is logged (context lua), grouped as Redis groups.
    same_log(&mut admin_ours, &mut admin_theirs);
    let two = log_fields(&run_command(&mut admin_ours, &["ACL", "LOG", "2"]));
    assert_eq!(
        two,
        log_fields(&run_command(&mut admin_theirs, &["ACL", "LOG", "2"]))
    );
    same(&mut admin_ours, &mut admin_theirs, &["ACL", "LOG", "RESET"]);
    same(&mut admin_ours, &mut admin_theirs, &["ACL", "LOG"]);
    // Proxy denials and script denials make one log, newest first.
    for mut c in [cluster.client(), reference.client()] {
        expect(&mut c, &["AUTH", "scr", "ps"], ok());
        // Entries are ordered by their time in milliseconds.
        let tick = || std::thread::sleep(std::time::Duration::from_millis(3));
        assert!(run_command(&mut c, &["SET", "k1", "v"]).is_err());
        tick();
        assert!(run_command(&mut c, &["EVAL", "return redis.call('get','zz')", "0"]).is_err());
        tick();
        assert!(run_command(&mut c, &["GET", "zz"]).is_err());
    }
    same_log(&mut admin_ours, &mut admin_theirs);
}

#[test]
fn exec_checks_queued_commands_again() {
    let reference = RedisServer::start();
    let cluster = TestCluster::start();
    let mut admin_ours = cluster.client();
    let mut admin_theirs = reference.client();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        same(
            &mut admin_ours,
            &mut admin_theirs,
            &[
                "ACL", "SETUSER", "tx", "reset", "on", ">pt", "~a*", "&ch*", "+@all",
            ],
        );
        let mut ours = cluster.client_with(protocol);
        let mut theirs = reference.client_with(protocol);
        same(&mut ours, &mut theirs, &["AUTH", "tx", "pt"]);
        for args in [
            &["MULTI"][..],
            &["SET", "a1", "x"],
            &["GET", "a2"],
            &["PUBLISH", "ch1", "m"],
            &["EVAL", "return redis.call('set','a3','1')", "0"],
            &["PING"],
            &["SELECT", "1"],
            &["GET", "b1"],
            &["CONFIG", "GET", "maxmemory"],
            &["INCR", "a4"],
        ] {
            same(&mut ours, &mut theirs, args);
        }
        same(
            &mut admin_ours,
            &mut admin_theirs,
            &[
                "ACL",
                "SETUSER",
                "tx",
                "-set",
                "-select",
                "resetkeys",
                "~b*",
                "~a4",
                "resetchannels",
                "-config|get",
            ],
        );
        same(&mut ours, &mut theirs, &["EXEC"]);
        // The connection goes on as the changed user.
        same(&mut ours, &mut theirs, &["GET", "a2"]);
        same(&mut ours, &mut theirs, &["GET", "b1"]);
    }
    same_log(&mut admin_ours, &mut admin_theirs);
}

/// A redis-server started with `--aclfile`.
struct AclRedis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl AclRedis {
    fn start(aclfile: &Path) -> AclRedis {
        let dir = tempfile::tempdir().expect("temp dir");
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--dir"])
                .arg(dir.path())
                .arg("--aclfile")
                .arg(aclfile)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server runs");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while std::time::Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if let Ok(mut c) = try_connect(&format!("127.0.0.1:{port}"), None, Protocol::Resp2)
                {
                    if run_command(&mut c, &["PING"]).is_ok() {
                        return AclRedis {
                            child,
                            port,
                            _dir: dir,
                        };
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("redis-server with --aclfile did not start");
    }

    fn client(&self) -> redis::Connection {
        connect(&format!("127.0.0.1:{}", self.port), None, Protocol::Resp2)
    }
}

impl Drop for AclRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Replies with each side's own file name replaced.
#[track_caller]
fn same_but_paths(
    ours: &mut redis::Connection,
    theirs: &mut redis::Connection,
    args: &[&str],
    our_path: &Path,
    their_path: &Path,
) {
    let strip = |o: Outcome, p: &Path| match o {
        Err(e) => Err(e.replace(&p.display().to_string(), "FILE")),
        other => other,
    };
    let got = strip(run_command(ours, args), our_path);
    let want = strip(run_command(theirs, args), their_path);
    assert_eq!(
        got,
        want,
        "{}\n tandem: {}\n redis:  {}",
        args.join(" "),
        render_outcome(&got),
        render_outcome(&want)
    );
}

#[test]
fn acl_load_and_save_without_an_aclfile_answer_as_redis() {
    let reference = RedisServer::start();
    let cluster = TestCluster::start();
    let mut ours = cluster.client();
    let mut theirs = reference.client();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut ours = cluster.client_with(protocol);
        let mut theirs = reference.client_with(protocol);
        same(&mut ours, &mut theirs, &["ACL", "LOAD"]);
        same(&mut ours, &mut theirs, &["ACL", "SAVE"]);
    }
    same(&mut ours, &mut theirs, &["ACL", "LOAD", "x"]);
    same(&mut ours, &mut theirs, &["ACL", "SAVE", "x"]);
}

#[test]
fn aclfile_load_and_save_match_redis() {
    let files = tempfile::tempdir().expect("temp dir");
    let our_file = files.path().join("ours.acl");
    let their_file = files.path().join("theirs.acl");
    let initial = "user alice on >pw ~k* +get +acl\nuser default on nopass ~* &* +@all\n";
    for f in [&our_file, &their_file] {
        std::fs::write(f, initial).expect("write aclfile");
    }
    let reference = AclRedis::start(&their_file);
    let cluster = TestCluster::start_with(ClusterOptions {
        storaged_args: vec!["--aclfile".into(), our_file.display().to_string()],
        ..ClusterOptions::default()
    });
    let mut ours = cluster.client();
    let mut theirs = reference.client();
    // Read at start.
    same(&mut ours, &mut theirs, &["ACL", "LIST"]);
    // SAVE writes the table in the same format.
    same(
        &mut ours,
        &mut theirs,
        &[
            "ACL",
            "SETUSER",
            "carol",
            "on",
            "#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8",
            "~c*",
            "(+set ~s*)",
            "+@read",
        ],
    );
    same(&mut ours, &mut theirs, &["ACL", "SAVE"]);
    let read = |p: &Path| normalize_rules(&std::fs::read_to_string(p).expect("aclfile"));
    assert_eq!(read(&our_file), read(&their_file));
    // A bad file changes nothing and names every bad line as Redis does.
    let bad = "user default on nopass ~* &* +@all\nuser bad on +nosuch +nosuch2\nfoo bar\nuser x \"unbalanced\nuser alice on >pw ~k* +get\nuser alice off\nuser sp(ace on\nuser y (+get\nuser  z\nuser w on nopass >x <y\n\n";
    for f in [&our_file, &their_file] {
        std::fs::write(f, bad).expect("write aclfile");
    }
    same_but_paths(
        &mut ours,
        &mut theirs,
        &["ACL", "LOAD"],
        &our_file,
        &their_file,
    );
    same(&mut ours, &mut theirs, &["ACL", "LIST"]);
    // A missing file.
    for f in [&our_file, &their_file] {
        std::fs::remove_file(f).expect("remove aclfile");
    }
    same_but_paths(
        &mut ours,
        &mut theirs,
        &["ACL", "LOAD"],
        &our_file,
        &their_file,
    );
    // A good file replaces the table; clients of every user but default are closed
    // (Redis frees every user on LOAD), the one that loaded once it has its reply.
    let good = "user alice on >pw ~k* +get +acl\nuser dave on nopass ~* +@all\n";
    for f in [&our_file, &their_file] {
        std::fs::write(f, good).expect("write aclfile");
    }
    let mut alice_ours = cluster.client();
    let mut alice_theirs = reference.client();
    same(&mut alice_ours, &mut alice_theirs, &["AUTH", "alice", "pw"]);
    let mut other_ours = cluster.client();
    expect(&mut other_ours, &["AUTH", "alice", "pw"], ok());
    same(&mut alice_ours, &mut alice_theirs, &["ACL", "LOAD"]);
    same(&mut ours, &mut theirs, &["ACL", "LIST"]);
    assert!(run_command(&mut alice_theirs, &["PING"]).is_err());
    assert!(run_command(&mut alice_ours, &["PING"]).is_err());
    let closed = (0..250).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        run_command(&mut other_ours, &["PING"]).is_err()
    });
    assert!(
        closed,
        "a client of a user freed by ACL LOAD stayed connected"
    );
    // The default user's client stays.
    same(&mut ours, &mut theirs, &["PING"]);
    // The loaded table survives a restart of storaged (the aclfile is read again).
    let mut cluster = cluster;
    cluster.kill_storaged(Signal::SIGTERM);
    cluster.start_storaged();
    let mut again = cluster.client();
    expect(&mut again, &["AUTH", "dave", "x"], ok());
    same(&mut again, &mut theirs, &["ACL", "LIST"]);
}

#[test]
fn a_change_through_one_proxy_is_in_force_on_another_at_its_push() {
    let cluster = TestCluster::start();
    let other = cluster.spawn_extra_proxy();
    let mut admin = cluster.client();
    expect(
        &mut admin,
        &["ACL", "SETUSER", "flip", "on", ">pf", "~*", "+@all"],
        ok(),
    );
    let mut b = other.client();
    // The table was pushed before the ACL SETUSER's reply: no wait.
    expect(&mut b, &["AUTH", "flip", "pf"], ok());
    let denied = err("NOPERM this user has no permissions to run the 'get' command");
    let mut late = 0;
    for round in 0..40 {
        let (rule, want) = if round % 2 == 0 {
            ("-get", denied.clone())
        } else {
            ("+get", nil())
        };
        expect(&mut admin, &["ACL", "SETUSER", "flip", rule], ok());
        let mut got = run_command(&mut b, &["GET", "nokey"]);
        if got != want {
            // The push is on its way through the other proxy's link reader.
            late += 1;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
            while got != want && std::time::Instant::now() < deadline {
                std::thread::yield_now();
                got = run_command(&mut b, &["GET", "nokey"]);
            }
        }
        assert_eq!(got, want, "round {round}: {rule} not in force on proxy B");
    }
    assert!(
        late <= 4,
        "{late} of 40 changes were late on the other proxy"
    );
    // A proxy that connects later has the table from its first command.
    let third = cluster.spawn_extra_proxy();
    let mut c = third.client();
    expect(&mut c, &["AUTH", "flip", "pf"], ok());
    expect(&mut c, &["GET", "nokey"], nil());
}
