//! ACL users against redis-server 7.0.15, reply for reply: every `ACL SETUSER` rule and its
//! errors, `ACL LIST`/`GETUSER` descriptions (RESP2 and RESP3), `ACL CAT`, `DRYRUN`,
//! `GENPASS`, `AUTH`/`HELLO AUTH`, `NOPERM` errors for commands, keys and channels, and
//! `ACL LOG` entries.
//!
//! redis-server walks its command dictionary in hash order, which changes with every
//! process, so single-command rules (`+get -set`) and `ACL CAT <category>` are compared as
//! sets; everything else byte for byte.

use redis::Value;
use tandem_tests::*;

/// Single-command rules of a description sorted within each selector (root and `(…)`);
/// everything else in order.
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
    let mut parts = text.split(" (");
    let mut out = segment(parts.next().unwrap_or(""));
    for sel in parts {
        out.push_str(" (");
        out.push_str(&segment(sel.strip_suffix(')').unwrap_or(sel)));
        out.push(')');
    }
    out
}

fn normalize(v: &Value) -> Value {
    match v {
        Value::BulkString(b) => {
            let s = String::from_utf8_lossy(b);
            if s.contains("@all") {
                Value::BulkString(normalize_rules(&s).into_bytes())
            } else {
                v.clone()
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Set(items) => Value::Set(items.iter().map(normalize).collect()),
        Value::Map(pairs) => Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (normalize(k), normalize(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn sorted_array(v: &Outcome) -> Outcome {
    match v {
        Ok(Value::Array(items)) => {
            let mut items = items.clone();
            items.sort_by_key(|i| format!("{i:?}"));
            Ok(Value::Array(items))
        }
        other => other.clone(),
    }
}

/// Runs `args` on both and asserts the (normalized) replies are equal.
#[track_caller]
fn same(
    ours: &mut redis::Connection,
    theirs: &mut redis::Connection,
    args: &[&str],
) -> Option<Value> {
    let got = run_command(ours, args).map(|v| normalize(&v));
    let want = run_command(theirs, args).map(|v| normalize(&v));
    assert!(
        got == want,
        "{}\n  tandem:       {}\n  redis-server: {}",
        args.join(" "),
        render_outcome(&got),
        render_outcome(&want)
    );
    got.ok()
}

const RULE_SETS: &[&[&str]] = &[
    &[],
    &["on"],
    &[
        "on",
        ">x",
        "~a*",
        "%R~b*",
        "%W~c",
        "&ch",
        "+get",
        "+@string",
        "-set",
        "(+get ~x)",
    ],
    &["-@all", "+@all", "-get"],
    &["+@all", "-@dangerous", "-@admin"],
    &["+@read", "-@keyspace"],
    &["+@write", "+@read", "-flushall"],
    &["+@hash", "+@list", "+@set", "+@sortedset", "-hdel"],
    &["allcommands", "-@slow", "+client|id"],
    &["nocommands", "+config|get", "+client", "-client|kill"],
    &["+@all", "-config", "+config|get"],
    &["+select|0", "+select|1", "+get"],
    &["+@pubsub", "&news.*", "&alerts", "resetchannels", "&x"],
    &["allchannels", "allkeys", "+@fast"],
    &["%R~r*", "%W~w*", "%RW~rw*", "~r*"],
    &["~a", "resetkeys", "~b"],
    &["%R"],
    &["%W~"],
    &["%R~a", "%W~a", "~b", "%R~b"],
    &[
        "%RW~x",
        "%R~y",
        "nopass",
        ">a",
        ">b",
        "<a",
        "skip-sanitize-payload",
        "on",
    ],
    &[">a", "nopass"],
    &[">a", "resetpass"],
    &[
        "#2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
        "!2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
    ],
    &["reset"],
    &["on", "+@all", "~*", "&*", "reset"],
    &["sanitize-payload"],
    &["(+get", "~x)", "(", "+set", ")"],
    &["(+get ~x)", "(+set ~y)", "clearselectors"],
    &["(%R~r* +@read &c)", "+ping"],
    &["()", "( )"],
    &["+@stream", "-xadd", "+@geo", "+@bitmap", "+@hyperloglog"],
    &["+@scripting", "+@transaction", "+@connection", "-@blocking"],
    &["+@all", "-@write", "+set", "-@fast"],
    &["+GET", "-@ALL", "+@ALL", "+@String"],
    &["off", "on", "off"],
    // Errors (nothing changes).
    &["%"],
    &["%~x"],
    &["%RR~x"],
    &["+"],
    &["-"],
    &["+@"],
    &["(on)"],
    &["(~x"],
    &["x"],
    &["+get|"],
    &["+config|"],
    &["+config|get|x"],
    &["+get|a|b"],
    &["-get|foo"],
    &["#abc"],
    &["!abc"],
    &["<nope"],
    &["+@nosuch"],
    &["+nosuch"],
    &["~*", "~x"],
    &["allkeys", "%R~x"],
    &["&*", "&x"],
    &["(+get", "x"],
    &["~a b"],
    &["+@all|x"],
    &["on", "(+get ~x", "+set)", ">p"],
];

#[test]
fn setuser_list_and_getuser_match_redis() {
    let reference = RedisServer::start();
    let cluster = TestCluster::start();
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut ours = cluster.client_with(protocol);
        let mut theirs = reference.client_with(protocol);
        for (i, rules) in RULE_SETS.iter().enumerate() {
            let name = format!("u{i}-{protocol:?}");
            let mut args = vec!["ACL", "SETUSER", name.as_str()];
            args.extend_from_slice(rules);
            same(&mut ours, &mut theirs, &args);
            same(&mut ours, &mut theirs, &["ACL", "GETUSER", &name]);
            // Applying the same rules again to an existing user.
            same(&mut ours, &mut theirs, &args);
            same(&mut ours, &mut theirs, &["ACL", "GETUSER", &name]);
        }
        same(&mut ours, &mut theirs, &["ACL", "LIST"]);
        same(&mut ours, &mut theirs, &["ACL", "USERS"]);
        for args in [
            &["ACL", "GETUSER", "nosuch"][..],
            &["ACL", "GETUSER", "default"],
            &["ACL", "SETUSER", "a b"],
            &["ACL", "SETUSER"],
            &["ACL", "DELUSER", "default", "u0-Resp2"],
            &["ACL", "WHOAMI"],
            &["ACL", "WHOAMI", "x"],
            &["ACL", "NOSUCH"],
            &["ACL", "SAVE"],
            &["ACL", "LOAD"],
            &["ACL", "HELP"],
            &["ACL", "CAT"],
            &["ACL", "CAT", "nosuch"],
            &["ACL", "CAT", "a", "b"],
            &["ACL", "GENPASS", "0"],
            &["ACL", "GENPASS", "4097"],
            &["ACL", "GENPASS", "x"],
            &["ACL", "LOG", "x"],
            &["ACL", "LOG", "-1"],
            &["ACL", "DELUSER", "nosuch", "u1-Resp2", "u1-Resp2"],
        ] {
            same(&mut ours, &mut theirs, args);
        }
    }
}

#[test]
fn acl_cat_matches_redis() {
    let reference = RedisServer::start();
    let cluster = TestCluster::start();
    let mut ours = cluster.client();
    let mut theirs = reference.client();
    let Some(Value::Array(cats)) = same(&mut ours, &mut theirs, &["ACL", "CAT"]) else {
        panic!("ACL CAT is not an array");
    };
    assert_eq!(cats.len(), 21);
    for cat in cats {
        let Value::BulkString(name) = cat else {
            panic!("category {cat:?}")
        };
        let name = String::from_utf8_lossy(&name).into_owned();
        for spelled in [name.clone(), name.to_uppercase()] {
            let got = sorted_array(&run_command(&mut ours, &["ACL", "CAT", &spelled]));
            let want = sorted_array(&run_command(&mut theirs, &["ACL", "CAT", &spelled]));
            assert_eq!(got, want, "ACL CAT {spelled}");
        }
    }
}

#[test]
fn genpass_gives_hex_of_the_asked_size() {
    let cluster = TestCluster::start();
    let mut c = cluster.client();
    for (bits, chars) in [
        (None, 64),
        (Some("1"), 1),
        (Some("5"), 2),
        (Some("4096"), 1024),
    ] {
        let mut args = vec!["ACL", "GENPASS"];
        args.extend(bits);
        let Ok(Value::BulkString(p)) = run_command(&mut c, &args) else {
            panic!("GENPASS {bits:?}")
        };
        assert_eq!(p.len(), chars);
        assert!(p.iter().all(u8::is_ascii_hexdigit));
    }
    let a = run_command(&mut c, &["ACL", "GENPASS"]);
    let b = run_command(&mut c, &["ACL", "GENPASS"]);
    assert_ne!(a, b);
}

/// Users with restricted permissions, created the same way on both sides.
const USERS: &[&[&str]] = &[
    &[
        "ACL",
        "SETUSER",
        "reader",
        "on",
        ">pr",
        "~r*",
        "+@read",
        "+@connection",
    ],
    &[
        "ACL", "SETUSER", "rw", "on", ">pw", "+@all", "%R~r*", "%W~w*",
    ],
    &[
        "ACL",
        "SETUSER",
        "chan",
        "on",
        ">pc",
        "~*",
        "&news*",
        "+@all",
        "-@dangerous",
    ],
    &[
        "ACL",
        "SETUSER",
        "sel",
        "on",
        ">ps",
        "~a*",
        "+get",
        "(+set ~b*)",
        "(+@hash ~h*)",
    ],
    &[
        "ACL",
        "SETUSER",
        "fa",
        "on",
        ">pf",
        "~*",
        "+select|0",
        "+ping",
        "+config|get",
        "+multi",
        "+exec",
    ],
    &["ACL", "SETUSER", "off", "off", ">po", "+@all", "~*"],
];

fn setup(conn: &mut redis::Connection) {
    for args in USERS {
        assert_eq!(run_command(conn, args), ok(), "{}", args.join(" "));
    }
}

/// Scripts run as a user on both sides, after `AUTH`.
const AS_USER: &[(&str, &str, &[&[&str]])] = &[
    (
        "reader",
        "pr",
        &[
            &["GET", "r1"],
            &["GET", "x"],
            &["SET", "r1", "v"],
            &["MGET", "r1", "r2"],
            &["MGET", "r1", "x"],
            &["EXISTS", "x"],
            &["PING"],
            &["CONFIG", "GET", "maxmemory"],
            &["ACL", "WHOAMI"],
            &["FLUSHALL"],
            &["NOSUCH"],
            &["GET"],
            &["PUBLISH", "c", "m"],
        ],
    ),
    (
        "rw",
        "pw",
        &[
            &["SET", "r1", "x"],
            &["SET", "w1", "x"],
            &["GET", "w1"],
            &["GET", "r1"],
            &["COPY", "r1", "w1"],
            &["COPY", "w1", "r1"],
            &["APPEND", "w1", "x"],
            &["DEL", "w1"],
            &["DEL", "r1"],
            &["EXISTS", "r1", "w1", "z"],
            &["SET", "w2", "x", "GET"],
            &["LMOVE", "r1", "w1", "LEFT", "RIGHT"],
            &["RENAME", "w1", "w9"],
        ],
    ),
    (
        "chan",
        "pc",
        &[
            &["PUBLISH", "news.1", "m"],
            &["PUBLISH", "sport", "m"],
            &["FLUSHALL"],
            &["KEYS", "*"],
            &["PUBSUB", "CHANNELS"],
        ],
    ),
    (
        "sel",
        "ps",
        &[
            &["GET", "a1"],
            &["GET", "b1"],
            &["SET", "b1", "x"],
            &["SET", "a1", "x"],
            &["HSET", "h1", "f", "v"],
            &["HSET", "a1", "f", "v"],
            &["HGET", "h1", "f"],
            &["LPUSH", "a1", "x"],
            &["MSET", "b1", "x"],
        ],
    ),
    (
        "fa",
        "pf",
        &[
            &["SELECT", "0"],
            &["SELECT", "1"],
            &["CONFIG", "GET", "maxmemory"],
            &["CONFIG", "SET", "maxmemory", "0"],
            &["MULTI"],
            &["PING"],
            &["GET", "x"],
            &["EXEC"],
            &["MULTI"],
            &["PING"],
            &["EXEC"],
        ],
    ),
];

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
                .map(|(k, v)| {
                    let k = match k {
                        Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
                        other => panic!("key {other:?}"),
                    };
                    let v = match v {
                        Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
                        Value::Int(n) => n.to_string(),
                        Value::Double(_) => return (k, "<double>".to_owned()),
                        other => format!("{other:?}"),
                    };
                    // The client line differs (ids, addresses, buffers); its user and command must not.
                    if k == "client-info" {
                        let keep: Vec<&str> = v
                            .split(' ')
                            .filter(|f| {
                                f.starts_with("user=")
                                    || f.starts_with("cmd=")
                                    || f.starts_with("db=")
                            })
                            .collect();
                        return (k, keep.join(" "));
                    }
                    if k == "age-seconds" {
                        return (k, "<age>".to_owned());
                    }
                    (k, v)
                })
                .collect()
        })
        .collect()
}

#[test]
fn permissions_are_enforced_as_redis_does() {
    let reference = RedisServer::start();
    let cluster = TestCluster::start();
    let mut admin_ours = cluster.client();
    let mut admin_theirs = reference.client();
    setup(&mut admin_ours);
    setup(&mut admin_theirs);
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        for (user, pass, script) in AS_USER {
            let mut ours = cluster.client_with(protocol);
            let mut theirs = reference.client_with(protocol);
            same(&mut ours, &mut theirs, &["AUTH", user, pass]);
            for args in *script {
                same(&mut ours, &mut theirs, args);
            }
        }
    }
    for args in [
        &["ACL", "DRYRUN", "reader", "get", "r1"][..],
        &["ACL", "DRYRUN", "reader", "get", "x"],
        &["ACL", "DRYRUN", "reader", "set", "r1", "v"],
        &["ACL", "DRYRUN", "reader", "config", "get", "x"],
        &["ACL", "DRYRUN", "reader", "config", "nosuch"],
        &["ACL", "DRYRUN", "reader", "nosuchcmd"],
        &["ACL", "DRYRUN", "reader", "get"],
        &["ACL", "DRYRUN", "nosuch", "get", "x"],
        &["ACL", "DRYRUN", "chan", "publish", "bar", "m"],
        &["ACL", "DRYRUN", "chan", "subscribe", "news1", "bar"],
        &["ACL", "DRYRUN", "chan", "psubscribe", "news*", "n*"],
        &["ACL", "DRYRUN", "sel", "get", "b1"],
        &["ACL", "DRYRUN", "sel", "set", "b1", "v"],
        &["ACL", "DRYRUN", "fa", "select", "0"],
        &["ACL", "DRYRUN", "fa", "select", "2"],
    ] {
        same(&mut admin_ours, &mut admin_theirs, args);
    }
    let got = log_fields(&run_command(&mut admin_ours, &["ACL", "LOG", "100"]));
    let want = log_fields(&run_command(&mut admin_theirs, &["ACL", "LOG", "100"]));
    assert_eq!(
        got.len(),
        want.len(),
        "ACL LOG\n tandem: {got:#?}\n redis: {want:#?}"
    );
    for (g, w) in got.iter().zip(&want) {
        // tandem's CLIENT INFO names the last command as its table row does.
        let strip = |e: &Vec<(String, String)>| -> Vec<(String, String)> {
            e.iter()
                .filter(|(k, _)| k != "client-info")
                .cloned()
                .collect()
        };
        assert_eq!(strip(g), strip(w));
        let user = |e: &Vec<(String, String)>| {
            e.iter().find(|(k, _)| k == "client-info").map(|(_, v)| {
                v.split(' ')
                    .find(|f| f.starts_with("user="))
                    .unwrap_or("")
                    .to_owned()
            })
        };
        assert_eq!(user(g), user(w));
    }
    assert_eq!(
        log_fields(&run_command(&mut admin_ours, &["ACL", "LOG", "2"])).len(),
        2
    );
    same(&mut admin_ours, &mut admin_theirs, &["ACL", "LOG", "RESET"]);
    same(&mut admin_ours, &mut admin_theirs, &["ACL", "LOG"]);
}

#[test]
fn auth_and_hello_follow_users() {
    let reference = RedisServer::start();
    let cluster = TestCluster::start();
    let mut admin_ours = cluster.client();
    let mut admin_theirs = reference.client();
    setup(&mut admin_ours);
    setup(&mut admin_theirs);
    let script: &[&[&str]] = &[
        &["AUTH", "x"],
        &["AUTH", "reader", "wrong"],
        &["AUTH", "nosuch", "x"],
        &["AUTH", "off", "po"],
        &["AUTH", "a", "b", "c"],
        &["ACL", "WHOAMI"],
        &["AUTH", "reader", "pr"],
        &["ACL", "WHOAMI"],
        &["HELLO", "2", "AUTH", "rw", "bad"],
        &["ACL", "WHOAMI"],
        &["HELLO", "2", "AUTH", "rw", "pw"],
        &["ACL", "WHOAMI"],
        &["AUTH", "default", "anything"],
        &["ACL", "WHOAMI"],
        &["RESET"],
        &["ACL", "WHOAMI"],
    ];
    for protocol in [Protocol::Resp2, Protocol::Resp3] {
        let mut ours = cluster.client_with(protocol);
        let mut theirs = reference.client_with(protocol);
        for args in script {
            if args[0] == "HELLO" {
                // HELLO's map holds the server's id and version: compare errors only.
                let got = run_command(&mut ours, args);
                let want = run_command(&mut theirs, args);
                assert_eq!(got.is_err(), want.is_err(), "{}", args.join(" "));
                if want.is_err() {
                    assert_eq!(got, want);
                }
                continue;
            }
            same(&mut ours, &mut theirs, args);
        }
    }
    let got = log_fields(&run_command(&mut admin_ours, &["ACL", "LOG"]));
    let want = log_fields(&run_command(&mut admin_theirs, &["ACL", "LOG"]));
    let strip = |l: &Vec<Vec<(String, String)>>| -> Vec<Vec<(String, String)>> {
        l.iter()
            .map(|e| {
                e.iter()
                    .filter(|(k, _)| k != "client-info")
                    .cloned()
                    .collect()
            })
            .collect()
    };
    assert_eq!(strip(&got), strip(&want));
}

#[test]
fn requirepass_is_the_default_users_password() {
    let cluster = TestCluster::start_with(ClusterOptions {
        requirepass: Some("secret".into()),
        ..ClusterOptions::default()
    });
    let mut conn = try_connect(&cluster.addr(), None, Protocol::Resp2).expect("connect");
    expect(
        &mut conn,
        &["GET", "x"],
        err("NOAUTH Authentication required."),
    );
    expect(
        &mut conn,
        &["AUTH", "wrong"],
        err("WRONGPASS invalid username-password pair or user is disabled."),
    );
    expect(&mut conn, &["AUTH", "secret"], ok());
    expect(&mut conn, &["ACL", "WHOAMI"], bulk("default"));
    expect(&mut conn, &["ACL", "SETUSER", "default", ">other"], ok());
    let mut second = try_connect(&cluster.addr(), None, Protocol::Resp2).expect("connect");
    expect(&mut second, &["AUTH", "default", "other"], ok());
}

#[test]
fn deleting_a_user_disconnects_its_clients() {
    let cluster = TestCluster::start();
    let mut admin = cluster.client();
    expect(
        &mut admin,
        &["ACL", "SETUSER", "temp", "on", ">p", "+@all", "~*"],
        ok(),
    );
    let mut victim = cluster.client();
    expect(&mut victim, &["AUTH", "temp", "p"], ok());
    expect(&mut victim, &["PING"], simple("PONG"));
    // Disabling keeps existing connections (as Redis 7.0); new AUTHs fail.
    expect(&mut admin, &["ACL", "SETUSER", "temp", "off"], ok());
    expect(&mut victim, &["PING"], simple("PONG"));
    let mut other = cluster.client();
    expect(
        &mut other,
        &["AUTH", "temp", "p"],
        err("WRONGPASS invalid username-password pair or user is disabled."),
    );
    expect(&mut admin, &["ACL", "DELUSER", "temp"], int(1));
    wait_for(
        "the deleted user's client to be closed",
        std::time::Duration::from_secs(5),
        || run_command(&mut victim, &["PING"]).is_err().then_some(()),
    );
    let list = run_command(&mut admin, &["CLIENT", "LIST"]);
    assert!(!render_outcome(&list).contains("user=temp"));
}

const KEY_DENIED: &str =
    "NOPERM this user has no permissions to access one of the keys used as arguments";

/// Retries `args` until it answers `want` (another proxy learns of a change within its
/// sync interval).
#[track_caller]
fn eventually(conn: &mut redis::Connection, args: &[&str], want: Outcome) {
    let mut last = None;
    let found = wait_for_within(std::time::Duration::from_secs(5), || {
        let got = run_command(conn, args);
        let done = got == want;
        last = Some(got);
        done
    });
    assert!(
        found,
        "{}: wanted {}, last got {}",
        args.join(" "),
        render_outcome(&want),
        last.as_ref().map_or_else(String::new, render_outcome)
    );
}

fn wait_for_within(timeout: std::time::Duration, mut probe: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if probe() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn one_user_table_for_every_proxy() {
    let cluster = TestCluster::start();
    let other = cluster.spawn_extra_proxy();
    let mut a = cluster.client();
    let mut b_admin = other.client();
    expect(
        &mut a,
        &[
            "ACL", "SETUSER", "app", "on", ">pw", "~app:*", "+get", "+set",
        ],
        ok(),
    );
    // Proxy B enforces the user created through proxy A.
    let mut b = other.client();
    eventually(&mut b, &["AUTH", "app", "pw"], ok());
    expect(&mut b, &["SET", "app:1", "x"], ok());
    expect(&mut b, &["SET", "other", "x"], err(KEY_DENIED));
    expect(
        &mut b,
        &["DEL", "app:1"],
        err("NOPERM this user has no permissions to run the 'del' command"),
    );
    // Both proxies show the same table.
    eventually(
        &mut b_admin,
        &["ACL", "LIST"],
        run_command(&mut a, &["ACL", "LIST"]),
    );
    // A change through B applies through A, to connections already authenticated.
    let mut a_app = cluster.client();
    expect(&mut a_app, &["AUTH", "app", "pw"], ok());
    expect(&mut b_admin, &["ACL", "SETUSER", "app", "+del"], ok());
    eventually(&mut a_app, &["DEL", "app:1"], int(1));
    // Deleting the user through A closes its clients on both proxies.
    expect(&mut a, &["ACL", "DELUSER", "app"], int(1));
    for conn in [&mut a_app, &mut b] {
        assert!(
            wait_for_within(std::time::Duration::from_secs(5), || run_command(
                conn,
                &["PING"]
            )
            .is_err()),
            "a client of the deleted user stayed connected"
        );
    }
    eventually(&mut b_admin, &["ACL", "USERS"], bulks(&[Some("default")]));
}

#[test]
fn the_table_outlives_storaged_restarts_and_proxies_keep_it_meanwhile() {
    let mut cluster = TestCluster::start();
    let mut admin = cluster.client();
    expect(
        &mut admin,
        &[
            "ACL",
            "SETUSER",
            "keep",
            "on",
            ">pw",
            "~*",
            "+@all",
            "-flushall",
        ],
        ok(),
    );
    let status = cluster.kill_storaged(Signal::SIGKILL);
    assert!(!status.success());
    // storaged is away: the proxy still knows and enforces the user.
    let mut c = cluster.client();
    expect(&mut c, &["AUTH", "keep", "pw"], ok());
    expect(
        &mut c,
        &["FLUSHALL"],
        err("NOPERM this user has no permissions to run the 'flushall' command"),
    );
    // Changes need storaged, which holds the table.
    assert!(run_command(&mut admin, &["ACL", "SETUSER", "new"]).is_err());
    cluster.start_storaged();
    // The table was persisted: a proxy that never saw it gets it from storaged.
    let other = cluster.spawn_extra_proxy();
    let mut d = other.client();
    eventually(&mut d, &["AUTH", "keep", "pw"], ok());
    expect(
        &mut d,
        &["FLUSHALL"],
        err("NOPERM this user has no permissions to run the 'flushall' command"),
    );
    assert!(cluster.data_dir().join("users.acl").exists());
}
