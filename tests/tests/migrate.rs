//! `MIGRATE` (issue 18), against redis-server 7.0 side by side: tandem and redis-server each
//! migrate the same keys into a target redis-server of their own, and every reply, the
//! keys left at the source and what arrived at the target (values and TTLs) must match.

use tandem_tests::{render_outcome, replies_match, run_command, Differ, RedisServer};

/// Runs `script` on both sources (tandem and redis-server), each `{target}` replaced by the
/// port of that source's own target, and compares replies; returns the two targets.
fn check_with_targets(d: &Differ, script: &[&[&str]]) -> (RedisServer, RedisServer) {
    let (ours_target, theirs_target) = (RedisServer::start(), RedisServer::start());
    let mut ours = d.tandem().client();
    let mut theirs = d.reference().client();
    for args in script {
        let fill = |port: u16| -> Vec<String> {
            args.iter()
                .map(|a| a.replace("{target}", &port.to_string()))
                .collect()
        };
        let (a, b) = (fill(ours_target.port()), fill(theirs_target.port()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let b: Vec<&str> = b.iter().map(String::as_str).collect();
        let (got, want) = (run_command(&mut ours, &a), run_command(&mut theirs, &b));
        assert!(
            replies_match(&a, &got, &want),
            "{args:?}: tandem {} but redis-server {}",
            render_outcome(&got),
            render_outcome(&want)
        );
    }
    (ours_target, theirs_target)
}

/// The same commands on both targets give the same replies.
fn same_on_targets(a: &RedisServer, b: &RedisServer, script: &[&[&str]]) {
    let (mut x, mut y) = (a.client(), b.client());
    for args in script {
        let (got, want) = (run_command(&mut x, args), run_command(&mut y, args));
        assert!(
            replies_match(args, &got, &want),
            "target {args:?}: from tandem {} but from redis-server {}",
            render_outcome(&got),
            render_outcome(&want)
        );
    }
}

#[test]
fn keys_move_with_their_values_and_ttls() {
    let d = Differ::start();
    let (a, b) = check_with_targets(
        &d,
        &[
            &["SET", "s", "hello"],
            &["RPUSH", "l", "a", "b", "c"],
            &["HSET", "h", "f", "v", "g", "w"],
            &["SADD", "set", "1", "2", "3"],
            &["ZADD", "z", "1", "x", "2.5", "y"],
            &["SET", "t", "v", "EX", "1000"],
            &["MIGRATE", "127.0.0.1", "{target}", "s", "0", "5000"],
            &["EXISTS", "s"],
            &[
                "MIGRATE",
                "127.0.0.1",
                "{target}",
                "",
                "3",
                "5000",
                "KEYS",
                "l",
                "h",
                "set",
                "z",
                "t",
            ],
            &["EXISTS", "l", "h", "set", "z", "t"],
            &["MIGRATE", "127.0.0.1", "{target}", "missing", "0", "5000"],
            &[
                "MIGRATE",
                "127.0.0.1",
                "{target}",
                "",
                "0",
                "5000",
                "KEYS",
                "nope",
                "neither",
            ],
            // COPY leaves the key; REPLACE overwrites the target's.
            &["SET", "c", "one"],
            &["MIGRATE", "127.0.0.1", "{target}", "c", "0", "5000", "COPY"],
            &["GET", "c"],
            &["SET", "c", "two"],
            &["MIGRATE", "127.0.0.1", "{target}", "c", "0", "5000", "COPY"],
            &[
                "MIGRATE",
                "127.0.0.1",
                "{target}",
                "c",
                "0",
                "5000",
                "COPY",
                "REPLACE",
            ],
            &["GET", "c"],
            &["MIGRATE", "127.0.0.1", "{target}", "c", "0", "5000"],
            &["EXISTS", "c"],
        ],
    );
    same_on_targets(
        &a,
        &b,
        &[
            &["GET", "s"],
            &["SELECT", "3"],
            &["LRANGE", "l", "0", "-1"],
            &["HGETALL", "h"],
            &["SMEMBERS", "set"],
            &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            &["GET", "t"],
            &["SELECT", "0"],
            &["GET", "c"],
        ],
    );
    let ttl = |s: &RedisServer| {
        let mut c = s.client();
        let _ = run_command(&mut c, &["SELECT", "3"]);
        match run_command(&mut c, &["TTL", "t"]) {
            Ok(redis::Value::Int(n)) => n,
            other => panic!("TTL t: {other:?}"),
        }
    };
    let got = ttl(&a);
    assert!((990..=1000).contains(&got), "TTL after MIGRATE: {got}");
}

#[test]
fn errors_as_redis_gives_them() {
    let d = Differ::start();
    let (_a, _b) = check_with_targets(
        &d,
        &[
            &["SET", "k", "v"],
            &[
                "MIGRATE",
                "127.0.0.1",
                "{target}",
                "k",
                "0",
                "5000",
                "KEYS",
                "k",
            ],
            &[
                "MIGRATE",
                "127.0.0.1",
                "{target}",
                "k",
                "0",
                "5000",
                "BOGUS",
            ],
            &["MIGRATE", "127.0.0.1", "{target}", "k", "0", "5000", "AUTH"],
            &[
                "MIGRATE",
                "127.0.0.1",
                "{target}",
                "k",
                "0",
                "5000",
                "AUTH2",
                "u",
            ],
            &["MIGRATE", "127.0.0.1", "{target}", "k", "x", "5000"],
            &["MIGRATE", "127.0.0.1", "{target}", "k", "0", "soon"],
            &["MIGRATE", "127.0.0.1", "{target}"],
            // The target refuses: its error comes back, the key stays.
            &[
                "MIGRATE",
                "127.0.0.1",
                "{target}",
                "k",
                "0",
                "5000",
                "AUTH",
                "secret",
            ],
            &["EXISTS", "k"],
            &["MIGRATE", "127.0.0.1", "{target}", "k", "99", "5000"],
            &["EXISTS", "k"],
            &["MIGRATE", "127.0.0.1", "{target}", "k", "0", "5000"],
            &["SET", "k", "again"],
            &["MIGRATE", "127.0.0.1", "{target}", "k", "0", "5000"],
            &["GET", "k"],
            // Nothing listens there.
            &["MIGRATE", "127.0.0.1", "1", "k", "0", "1000"],
            &["GET", "k"],
        ],
    );
}
