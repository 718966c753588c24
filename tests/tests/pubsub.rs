//! Pub/sub end to end: exact replies against a real redis-server (RESP2 subscribed mode and
//! RESP3 pushes), messages crossing proxies through storaged, subscriptions surviving a
//! storaged restart, the output-buffer limit for a subscriber that stops reading, and
//! fan-out to 100 subscribers.

use std::time::Duration;

use tandem_tests::*;

/// Sends each command and reads the given number of replies; returns the transcript.
fn transcript(addr: &str, script: &[(&[&str], usize)]) -> Vec<String> {
    let mut c = RawClient::connect(addr);
    let mut out = Vec::new();
    for (args, replies) in script {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        c.send(&encode_command(&bytes));
        for _ in 0..*replies {
            let reply = c.reply();
            // HELLO's map names the server and the client id: compare only that it is one.
            if args[0].eq_ignore_ascii_case("hello") {
                out.push(reply.chars().take(2).collect());
            } else {
                out.push(reply);
            }
        }
    }
    out
}

fn same_transcript(script: &[(&[&str], usize)]) {
    let d = Differ::start();
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
fn resp2_subscribed_mode_matches_redis() {
    same_transcript(&[
        (&["SUBSCRIBE", "a", "b"], 2),
        (&["SUBSCRIBE", "a"], 1),
        (&["GET", "x"], 1),
        (&["PUBSUB", "NUMPAT"], 1),
        (&["PUBSUB", "NOPE"], 1),
        (&["CONFIG", "GET", "maxclients"], 1),
        (&["PING"], 1),
        (&["PING", "hi"], 1),
        (&["PSUBSCRIBE", "p*", "q?"], 2),
        (&["UNSUBSCRIBE", "a", "zz"], 2),
        (&["UNSUBSCRIBE"], 1),
        (&["UNSUBSCRIBE"], 1),
        (&["PUNSUBSCRIBE", "q?"], 1),
        (&["PUNSUBSCRIBE"], 1),
        (&["PUNSUBSCRIBE"], 1),
        // Out of subscribed mode again: everything works.
        (&["SET", "x", "1"], 1),
        (&["PING"], 1),
        (&["SUBSCRIBE"], 1),
        (&["PSUBSCRIBE"], 1),
        (&["UNSUBSCRIBE", "never"], 1),
        (&["SUBSCRIBE", "c"], 1),
        (&["RESET"], 1),
        (&["GET", "x"], 1),
        (&["DEL", "x"], 1),
    ]);
}

#[test]
fn resp3_pushes_match_redis() {
    same_transcript(&[
        (&["HELLO", "3"], 1),
        (&["SUBSCRIBE", "a"], 1),
        (&["GET", "x"], 1),
        (&["PING"], 1),
        (&["PSUBSCRIBE", "a*"], 1),
        (&["UNSUBSCRIBE"], 1),
        (&["UNSUBSCRIBE"], 1),
        (&["PUNSUBSCRIBE"], 1),
        (&["PUBLISH", "a", "nobody"], 1),
    ]);
}

#[test]
fn publish_and_pubsub_introspection_match_redis() {
    same_transcript(&[
        (&["PUBLISH", "ch", "m"], 1),
        (&["PUBLISH", "ch"], 1),
        (&["PUBSUB"], 1),
        (&["PUBSUB", "CHANNELS"], 1),
        (&["PUBSUB", "CHANNELS", "a", "b"], 1),
        (&["PUBSUB", "NUMSUB"], 1),
        (&["PUBSUB", "NUMSUB", "a", "b"], 1),
        (&["PUBSUB", "NUMPAT"], 1),
        (&["PUBSUB", "NUMPAT", "x"], 1),
        (&["PUBSUB", "SHARDCHANNELS"], 1),
        (&["PUBSUB", "SHARDNUMSUB", "x"], 1),
        (&["PUBSUB", "HELP"], 1),
        (&["PUBSUB", "bogus"], 1),
    ]);
}

/// A message published anywhere reaches subscribers on every proxy; counts are global.
#[test]
fn messages_cross_proxies() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let other = cluster.spawn_extra_proxy();
    let mut a = RawClient::connect(&cluster.addr());
    let mut b = RawClient::connect(&other.addr());
    assert_eq!(
        a.command(&["SUBSCRIBE", "news"]),
        "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
    );
    assert_eq!(
        b.command(&["PSUBSCRIBE", "n*"]),
        "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:1\r\n"
    );
    let mut publisher = other.client();
    expect(&mut publisher, &["PUBLISH", "news", "hello"], int(2));
    assert_eq!(
        a.reply(),
        "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
    );
    assert_eq!(
        b.reply(),
        "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nhello\r\n"
    );
    let mut c = cluster.client();
    expect(
        &mut c,
        &["PUBSUB", "NUMSUB", "news", "x"],
        bulks_ints(&[("news", 1), ("x", 0)]),
    );
    expect(&mut c, &["PUBSUB", "NUMPAT"], int(1));
    expect(
        &mut c,
        &["PUBSUB", "CHANNELS", "n*"],
        bulks(&[Some("news")]),
    );
    // Order holds across many messages.
    for i in 0..200 {
        expect(&mut publisher, &["PUBLISH", "news", &i.to_string()], int(2));
    }
    for i in 0..200 {
        let want = format!(
            "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n${}\r\n{i}\r\n",
            i.to_string().len()
        );
        assert_eq!(a.reply(), want);
    }
    // A subscriber that leaves is forgotten by every proxy.
    drop(b);
    wait_for(
        "the pattern subscriber to be forgotten",
        Duration::from_secs(5),
        || {
            matches!(
                run_command(&mut c, &["PUBSUB", "NUMPAT"]),
                Ok(redis::Value::Int(0))
            )
            .then_some(())
        },
    );
    expect(&mut publisher, &["PUBLISH", "news", "x"], int(1));
}

fn bulks_ints(pairs: &[(&str, i64)]) -> Outcome {
    Ok(redis::Value::Array(
        pairs
            .iter()
            .flat_map(|(k, n)| {
                [
                    redis::Value::BulkString(k.as_bytes().to_vec()),
                    redis::Value::Int(*n),
                ]
            })
            .collect(),
    ))
}

/// Once SUBSCRIBE has answered, a message published through another proxy reaches it:
/// the proxy confirms only after storaged has the registration.
#[test]
fn a_confirmed_subscription_never_misses_the_next_message() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let other = cluster.spawn_extra_proxy();
    let mut publisher = other.client();
    for i in 0..100 {
        let channel = format!("fresh{i}");
        let mut s = RawClient::connect(&cluster.addr());
        s.command(&["SUBSCRIBE", &channel]);
        expect(&mut publisher, &["PUBLISH", &channel, "m"], int(1));
        assert!(s.reply().contains("message"));
    }
}

/// Subscribers stay connected across storaged restarts (SIGTERM and SIGKILL) and receive
/// what is published afterwards: the proxy registers its table again on reconnect.
#[test]
fn subscriptions_survive_a_storaged_restart() {
    let mut cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut sub = RawClient::connect(&cluster.addr());
    sub.command(&["SUBSCRIBE", "durable"]);
    let mut psub = RawClient::connect(&cluster.addr());
    psub.command(&["PSUBSCRIBE", "dur*"]);
    for signal in [Signal::SIGTERM, Signal::SIGKILL] {
        cluster.kill_storaged(signal);
        cluster.start_storaged();
        let mut publisher = cluster.client();
        // Links reconnect independently: wait until the registering one is back.
        wait_for(
            "subscribers registered again",
            Duration::from_secs(10),
            || match run_command(&mut publisher, &["PUBSUB", "NUMSUB", "durable"]) {
                Ok(redis::Value::Array(v)) if v.get(1) == Some(&redis::Value::Int(1)) => Some(()),
                _ => None,
            },
        );
        expect(&mut publisher, &["PUBLISH", "durable", "after"], int(2));
        assert_eq!(
            sub.reply(),
            "*3\r\n$7\r\nmessage\r\n$7\r\ndurable\r\n$5\r\nafter\r\n"
        );
        assert!(psub
            .reply()
            .starts_with("*4\r\n$8\r\npmessage\r\n$4\r\ndur*\r\n"));
        // Still a working subscriber connection.
        assert_eq!(sub.command(&["PING"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    }
}

/// A subscriber that stops reading is disconnected past the pub/sub output-buffer limit
/// (32 MB hard, as Redis's default), and the proxy does not keep its messages.
#[test]
fn a_subscriber_that_stops_reading_is_disconnected() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let mut slow = RawClient::connect(&cluster.addr());
    slow.command(&["SUBSCRIBE", "firehose"]);
    let mut publisher = cluster.client();
    let payload = "x".repeat(1024 * 1024);
    let mut delivered_to = Vec::new();
    for _ in 0..80 {
        match run_command(&mut publisher, &["PUBLISH", "firehose", &payload]) {
            Ok(redis::Value::Int(n)) => delivered_to.push(n),
            other => panic!("PUBLISH failed: {other:?}"),
        }
    }
    wait_for(
        "the slow subscriber to be dropped",
        Duration::from_secs(10),
        || match run_command(&mut publisher, &["PUBSUB", "NUMSUB", "firehose"]) {
            Ok(redis::Value::Array(v)) if v.get(1) == Some(&redis::Value::Int(0)) => Some(()),
            _ => None,
        },
    );
    assert_eq!(delivered_to.first(), Some(&1));
    assert_eq!(
        delivered_to.last(),
        Some(&0),
        "later messages found no subscriber"
    );
    let rss = rss_kib(cluster.proxy_pid());
    assert!(
        rss < 200 * 1024,
        "proxy RSS {rss} KiB after dropping the subscriber"
    );
    // The publisher and the proxy carry on.
    expect(&mut publisher, &["PING"], simple("PONG"));
}

/// 100 subscribers on two proxies each receive every message in order (the fan-out rate is
/// `scripts/fanout-bench`'s to measure).
#[test]
fn fan_out_to_100_subscribers() {
    let cluster = TestCluster::start();
    if !cluster.is_tandem() {
        return;
    }
    let other = cluster.spawn_extra_proxy();
    const SUBSCRIBERS: usize = 100;
    let messages: usize = 2000;
    let mut readers = Vec::new();
    for i in 0..SUBSCRIBERS {
        let addr = if i % 2 == 0 {
            cluster.addr()
        } else {
            other.addr()
        };
        let mut c = RawClient::connect(&addr);
        c.command(&["SUBSCRIBE", "fan"]);
        readers.push(std::thread::spawn(move || {
            for n in 0..messages {
                let reply = c.reply();
                assert!(
                    reply.ends_with(&format!("\r\n{n}\r\n")),
                    "subscriber got {reply:?} for {n}"
                );
            }
        }));
    }
    let mut publisher = RawClient::connect(&cluster.addr());
    let mut pipeline = Vec::new();
    for n in 0..messages {
        pipeline.extend(encode_command(&[
            b"PUBLISH",
            b"fan",
            n.to_string().as_bytes(),
        ]));
    }
    publisher.send(&pipeline);
    for _ in 0..messages {
        assert_eq!(publisher.reply(), format!(":{SUBSCRIBERS}\r\n"));
    }
    for r in readers {
        r.join().expect("a subscriber thread failed");
    }
}
