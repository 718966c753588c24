//! `fanout-load`: the measurement of `scripts/fanout-bench`, moved out of the test suite
//! (`tests/tests/pubsub.rs` checks that every subscriber gets every message in order; this
//! times it).
//!
//! `fanout-load PUBLISH_PORT SUBSCRIBE_PORTS SUBSCRIBERS MESSAGES`: SUBSCRIBERS clients,
//! spread round-robin over the comma-separated SUBSCRIBE_PORTS, subscribe to one channel;
//! a client of PUBLISH_PORT publishes MESSAGES messages to it, pipelined 1,000 at a time.
//! It prints `seconds messages deliveries` from the first PUBLISH sent until every
//! subscriber has read every message.
//!
//! It owns no server process; it checks only what it must to measure (each subscriber gets
//! the messages in order, every PUBLISH reaches every subscriber) and prints the time.

use std::thread;
use std::time::Instant;

use tandem_tests::{encode_command, RawClient};

const CHANNEL: &str = "fanout:bench";
const CHUNK: usize = 1000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: fanout-load PUBLISH_PORT SUBSCRIBE_PORTS SUBSCRIBERS MESSAGES";
    let number = |i: usize| args.get(i).and_then(|v| v.parse::<usize>().ok());
    let publish_port = args.first().and_then(|p| p.parse::<u16>().ok());
    let subscribe_ports: Option<Vec<u16>> = args
        .get(1)
        .and_then(|list| list.split(',').map(|p| p.parse().ok()).collect());
    let (Some(publish_port), Some(ports), Some(subscribers), Some(messages)) =
        (publish_port, subscribe_ports, number(2), number(3))
    else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    if ports.is_empty() || subscribers == 0 || messages == 0 {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    let mut readers = Vec::with_capacity(subscribers);
    for i in 0..subscribers {
        let mut c = RawClient::connect(&format!("127.0.0.1:{}", ports[i % ports.len()]));
        c.command(&["SUBSCRIBE", CHANNEL]);
        readers.push(thread::spawn(move || {
            for n in 0..messages {
                let reply = c.reply();
                assert!(
                    reply.ends_with(&format!("\r\n{n}\r\n")),
                    "subscriber {i} got {reply:?} for message {n}"
                );
            }
        }));
    }
    let mut publisher = RawClient::connect(&format!("127.0.0.1:{publish_port}"));
    let expected = format!(":{subscribers}\r\n");
    let start = Instant::now();
    let mut n = 0;
    while n < messages {
        let end = (n + CHUNK).min(messages);
        let mut pipeline = Vec::new();
        for m in n..end {
            pipeline.extend(encode_command(&[
                b"PUBLISH",
                CHANNEL.as_bytes(),
                m.to_string().as_bytes(),
            ]));
        }
        publisher.send(&pipeline);
        for _ in n..end {
            let reply = publisher.reply();
            assert_eq!(
                reply, expected,
                "PUBLISH reached the wrong number of subscribers"
            );
        }
        n = end;
    }
    for r in readers {
        if r.join().is_err() {
            eprintln!("fanout-load: a subscriber failed");
            std::process::exit(1);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{secs:.3} {messages} {}", messages * subscribers);
}
