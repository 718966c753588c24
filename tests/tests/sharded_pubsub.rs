//! Sharded pub/sub (issue 18): SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, PUBSUB SHARDCHANNELS and
//! SHARDNUMSUB byte for byte against redis-server 7.0 (RESP2 subscribed mode shared with
//! SUBSCRIBE/PSUBSCRIBE and Redis's separate counts, RESP3 pushes, `smessage`), shard
//! channels kept apart from channels and patterns, and messages crossing proxies.

use std::time::Duration;

use tandem_tests::*;

/// Sends each command on its connection (0 or 1) and reads the given number of replies
/// from that connection; returns the transcript.
fn transcript(addr: &str, script: &[(usize, &[&str], usize)]) -> Vec<String> {
    let mut conns = [RawClient::connect(addr), RawClient::connect(addr)];
    let mut out = Vec::new();
    for (conn, args, replies) in script {
        let c = &mut conns[*conn];
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        c.send(&encode_command(&bytes));
        for _ in 0..*replies {
            let reply = c.reply();
            // HELLO's map names the client id: compare only that it is one.
            if args[0].eq_ignore_ascii_case("hello") {
                out.push(reply.chars().take(2).collect());
            } else {
                out.push(reply);
            }
        }
        if *conn == 1 {
            // A message travels to the subscriber's proxy through storaged: let it land
            // before the subscriber's next command, as it has in Redis by then.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    out
}

fn same_transcript(d: &Differ, script: &[(usize, &[&str], usize)]) {
    let ours = transcript(&d.tandem().addr(), script);
    let theirs = transcript(&d.reference().addr(), script);
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(
            a, b,
            "reply {i} differs (tandem left, redis right); script {script:?}"
        );
    }
    assert_eq!(ours.len(), theirs.len());
}

#[test]
fn resp2_shard_subscriptions_match_redis() {
    let d = Differ::start();
    same_transcript(
        &d,
        &[
            (0, &["SUNSUBSCRIBE"], 1),
            (0, &["SUNSUBSCRIBE", "x"], 1),
            (0, &["SUBSCRIBE", "a"], 1),
            (0, &["SSUBSCRIBE", "b", "c"], 2),
            (0, &["SSUBSCRIBE", "b"], 1),
            (0, &["PSUBSCRIBE", "b*"], 1),
            (1, &["SPUBLISH", "b", "hi"], 1),
            (0, &["PING"], 2),
            // PUBLISH reaches channels and patterns only; SPUBLISH shard channels only.
            (1, &["PUBLISH", "b", "x"], 1),
            (0, &["PING"], 2),
            (1, &["SPUBLISH", "a", "x"], 1),
            // Unfiltered, Redis lists them in its dict's order: only one name per reply here.
            (1, &["PUBSUB", "SHARDCHANNELS", "c"], 1),
            (1, &["PUBSUB", "SHARDCHANNELS", "b*"], 1),
            (1, &["PUBSUB", "SHARDCHANNELS", "a", "b"], 1),
            (1, &["PUBSUB", "SHARDNUMSUB", "b", "z"], 1),
            (1, &["PUBSUB", "SHARDNUMSUB"], 1),
            (1, &["PUBSUB", "CHANNELS"], 1),
            (1, &["PUBSUB", "NUMSUB", "b"], 1),
            (0, &["GET", "x"], 1),
            (0, &["SUNSUBSCRIBE", "b", "zz"], 2),
            (0, &["UNSUBSCRIBE"], 1),
            (0, &["PUNSUBSCRIBE"], 1),
            // Still subscribed to shard channel c: subscribed mode holds.
            (0, &["GET", "x"], 1),
            (0, &["SUNSUBSCRIBE"], 1),
            (0, &["GET", "x"], 1),
            (0, &["SSUBSCRIBE", "q"], 1),
            (0, &["RESET"], 1),
            (1, &["PUBSUB", "SHARDNUMSUB", "q"], 1),
            (1, &["SPUBLISH", "b"], 1),
            (1, &["SSUBSCRIBE"], 1),
            (1, &["SPUBLISH", "nobody", "m"], 1),
        ],
    );
}

#[test]
fn resp3_shard_pushes_match_redis() {
    let d = Differ::start();
    same_transcript(
        &d,
        &[
            (0, &["HELLO", "3"], 1),
            (0, &["SSUBSCRIBE", "k"], 1),
            (1, &["SPUBLISH", "k", "v"], 1),
            (0, &["GET", "x"], 2),
            (0, &["SUNSUBSCRIBE"], 1),
            (0, &["SUNSUBSCRIBE"], 1),
            (1, &["SPUBLISH", "k", "v"], 1),
            (
                1,
                &["EVAL", "return redis.call('spublish','k','m')", "0"],
                1,
            ),
        ],
    );
}

/// A message published through one proxy reaches shard subscribers on every proxy, in
/// order; counts and SHARDCHANNELS are global and forget a client that leaves.
#[test]
fn shard_messages_cross_proxies() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let other = cluster.spawn_extra_proxy();
    let mut a = RawClient::connect(&cluster.addr());
    let mut b = RawClient::connect(&other.addr());
    assert_eq!(
        a.command(&["SSUBSCRIBE", "orders"]),
        "*3\r\n$10\r\nssubscribe\r\n$6\r\norders\r\n:1\r\n"
    );
    assert_eq!(
        b.command(&["SSUBSCRIBE", "orders"]),
        "*3\r\n$10\r\nssubscribe\r\n$6\r\norders\r\n:1\r\n"
    );
    let mut publisher = other.client();
    let mut c = cluster.client();
    expect(
        &mut c,
        &["PUBSUB", "SHARDCHANNELS"],
        bulks(&[Some("orders")]),
    );
    expect(
        &mut c,
        &["PUBSUB", "CHANNELS"],
        Ok(redis::Value::Array(vec![])),
    );
    for i in 0..100 {
        expect(
            &mut publisher,
            &["SPUBLISH", "orders", &i.to_string()],
            int(2),
        );
    }
    for i in 0..100 {
        let want = format!(
            "*3\r\n$8\r\nsmessage\r\n$6\r\norders\r\n${}\r\n{i}\r\n",
            i.to_string().len()
        );
        assert_eq!(a.reply(), want);
        assert_eq!(b.reply(), want);
    }
    drop(b);
    wait_for(
        "the shard subscriber to be forgotten",
        Duration::from_secs(5),
        || (run_command(&mut c, &["SPUBLISH", "orders", "x"]) == int(1)).then_some(()),
    );
    assert!(a.reply().contains("smessage"));
}

/// Shard subscriptions are registered again after a storaged restart.
#[test]
fn shard_subscriptions_survive_a_storaged_restart() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut s = RawClient::connect(&cluster.addr());
    s.command(&["SSUBSCRIBE", "keep"]);
    cluster.kill_storaged(nix::sys::signal::Signal::SIGKILL);
    cluster.start_storaged();
    let mut publisher = cluster.client();
    wait_for(
        "the shard subscription to be re-registered",
        Duration::from_secs(10),
        || (run_command(&mut publisher, &["SPUBLISH", "keep", "m"]) == int(1)).then_some(()),
    );
    assert_eq!(
        s.reply(),
        "*3\r\n$8\r\nsmessage\r\n$4\r\nkeep\r\n$1\r\nm\r\n"
    );
}
