//! A sharded subscriber as CLIENT INFO / CLIENT LIST and INFO show it, against
//! redis-server 7.0.15: `ssub=` counts its shard channels, `flags=P` marks it subscribed,
//! INFO's `pubsubshard_channels` counts the shard channels of the server.

use tandem_tests::*;

/// `field=value` of a CLIENT INFO line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{name} in {line}"))
}

fn info_field(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("{name} in INFO"))
        .trim()
        .to_owned()
}

#[test]
fn shard_subscriptions_are_counted_as_in_redis() {
    let differ = Differ::start();
    let mut seen = Vec::new();
    for addr in [differ.tandem().addr(), differ.reference().addr()] {
        let mut sub = RawClient::connect(&addr);
        // RESP3, so CLIENT INFO may be asked while subscribed.
        sub.command(&["HELLO", "3"]);
        sub.command(&["SSUBSCRIBE", "a", "b", "c"]);
        // One confirmation per channel.
        sub.reply();
        sub.reply();
        sub.command(&["SUBSCRIBE", "n"]);
        sub.command(&["SUNSUBSCRIBE", "c"]);
        let line = sub.command(&["CLIENT", "INFO"]);
        let mut watcher = connect(&addr, None, Protocol::Resp2);
        let stats = info(&mut watcher, "stats");
        let listed = match run_command(&mut watcher, &["CLIENT", "LIST"]) {
            Ok(redis::Value::BulkString(b)) => String::from_utf8_lossy(&b).into_owned(),
            Ok(redis::Value::VerbatimString { text, .. }) => text,
            other => panic!("{other:?}"),
        };
        let subscriber = listed
            .lines()
            .find(|l| field(l, "ssub") != "0")
            .expect("the subscriber in CLIENT LIST")
            .to_owned();
        seen.push((
            field(&line, "ssub").to_owned(),
            field(&line, "sub").to_owned(),
            field(&line, "flags").to_owned(),
            field(&subscriber, "ssub").to_owned(),
            field(&subscriber, "flags").to_owned(),
            info_field(&stats, "pubsubshard_channels"),
            info_field(&stats, "pubsub_channels"),
        ));
    }
    assert_eq!(seen[0], seen[1], "tandem, then redis-server");
    assert_eq!(seen[0].0, "2");
    assert_eq!(seen[0].5, "2");
}
