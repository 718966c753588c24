//! Client-side caching of keys read inside MULTI/EXEC, reply for reply against
//! redis-server 7.0.15 on raw RESP3 connections: what EXEC's read-only commands read is
//! tracked for the client as Redis tracks it, and a `CLIENT CACHING yes` given before MULTI
//! (OPTIN) covers every command of the transaction and ends with EXEC.

use tandem_tests::*;

/// One step: which client sends what, and how many replies (or pushes) it then reads.
type Step<'a> = (usize, &'a [&'a str], usize);

fn transcript(addr: &str, clients: usize, script: &[Step]) -> Vec<String> {
    let mut conns: Vec<RawClient> = (0..clients).map(|_| RawClient::connect(addr)).collect();
    let mut out = Vec::new();
    for (who, args, replies) in script {
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        conns[*who].send(&encode_command(&bytes));
        for _ in 0..*replies {
            let mut reply = conns[*who].reply();
            if args[0].eq_ignore_ascii_case("hello") {
                // The server's description differs; its type does not.
                reply = reply.chars().take(2).collect();
            }
            out.push(format!("c{who} {}: {reply:?}", args.join(" ")));
        }
    }
    out
}

#[test]
fn reads_inside_exec_are_tracked_as_in_redis() {
    let d = Differ::start();
    let script: &[Step] = &[
        (0, &["HELLO", "3"], 1),
        (0, &["CLIENT", "TRACKING", "on"], 1),
        (0, &["MULTI"], 1),
        (0, &["GET", "k"], 1),
        (0, &["MGET", "a", "b"], 1),
        (0, &["SET", "w", "1"], 1),
        (0, &["EXEC"], 1),
        (1, &["SET", "k", "v"], 1),
        (0, &["PING"], 2),
        (1, &["MSET", "a", "1", "b", "1", "w", "2"], 1),
        (0, &["PING"], 3),
        // OPTIN: CLIENT CACHING yes before MULTI covers the whole transaction only.
        (0, &["CLIENT", "TRACKING", "off"], 1),
        (0, &["CLIENT", "TRACKING", "on", "OPTIN"], 1),
        (0, &["CLIENT", "CACHING", "yes"], 1),
        (0, &["MULTI"], 1),
        (0, &["GET", "x"], 1),
        (0, &["GET", "y"], 1),
        (0, &["EXEC"], 1),
        (0, &["GET", "z"], 1),
        (1, &["MSET", "x", "1", "y", "1", "z", "1"], 1),
        (0, &["PING"], 3),
        // OPTIN without CACHING: nothing tracked.
        (0, &["MULTI"], 1),
        (0, &["GET", "q"], 1),
        (0, &["EXEC"], 1),
        (1, &["SET", "q", "1"], 1),
        (0, &["PING"], 1),
    ];
    for server in [&d.tandem().addr(), &d.reference().addr()] {
        redis::cmd("FLUSHALL")
            .query::<()>(&mut connect(server, None, Protocol::Resp2))
            .expect("FLUSHALL");
    }
    let ours = transcript(&d.tandem().addr(), 2, script);
    let theirs = transcript(&d.reference().addr(), 2, script);
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "reply {i} differs (tandem left, redis-server right)");
    }
    assert_eq!(ours.len(), theirs.len());
}
