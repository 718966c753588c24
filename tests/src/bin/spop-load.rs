//! `spop-load`: the load generator of `scripts/spop-bench` (issue 13, item 3).
//!
//! `spop-load run PORT [ROUNDS]` times the SPOP workload: ROUNDS (default 20) rounds of
//! 1,024 `SADD`s of random members (so up to 1,024 distinct), then `SPOP` until the set is
//! empty, one round trip per command, and prints the seconds it took and the commands sent.
//! `spop-load base PORT COMMANDS` times COMMANDS `INCR`s, one round trip each: the floor
//! of any one-command-per-round-trip workload on that server.
//! `spop-load age PORT SECONDS` serves SECONDS of mixed traffic, pipelined: set rounds
//! (SADD, SREM, SPOP until empty) on many keys including the benchmark's own, hashes,
//! sorted sets, lists and strings written and deleted, so that RocksDB holds the
//! tombstones and levels of a server that has been running a while.
//!
//! The same seed drives both servers, so redis-server and tandem see the same commands. It
//! owns no server process and asserts nothing; it prints measurements.

use std::time::{Duration, Instant};

use redis::{Connection, Value};

/// The workload's set key.
const KEY: &str = "spop:bench";

/// splitmix64: the same sequence on every run and both servers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = self.0;
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn connect(port: u16) -> Result<Connection, String> {
    let client =
        redis::Client::open(format!("redis://127.0.0.1:{port}/")).map_err(|e| e.to_string())?;
    client.get_connection().map_err(|e| e.to_string())
}

/// The timed workload; returns (seconds, commands sent).
fn run(c: &mut Connection, rounds: u32) -> Result<(f64, u64), String> {
    let mut rng = Rng(0x5eed);
    redis::cmd("DEL")
        .arg(KEY)
        .query::<Value>(c)
        .map_err(|e| e.to_string())?;
    let mut sent = 0u64;
    let start = Instant::now();
    for _ in 0..rounds {
        for _ in 0..1024 {
            let member = format!("member:{}", rng.below(1 << 20));
            redis::cmd("SADD")
                .arg(KEY)
                .arg(member)
                .query::<i64>(c)
                .map_err(|e| format!("SADD: {e}"))?;
            sent += 1;
        }
        loop {
            let v: Value = redis::cmd("SPOP")
                .arg(KEY)
                .query(c)
                .map_err(|e| format!("SPOP: {e}"))?;
            sent += 1;
            if v == Value::Nil {
                break;
            }
        }
    }
    Ok((start.elapsed().as_secs_f64(), sent))
}

/// The floor under [`run`]: as many `INCR`s, one round trip each (a write that does
/// nothing but a read-modify-write of one record); returns seconds.
fn base(c: &mut Connection, commands: u64) -> Result<f64, String> {
    let start = Instant::now();
    for _ in 0..commands {
        redis::cmd("INCR")
            .arg("spop:base")
            .query::<i64>(c)
            .map_err(|e| format!("INCR: {e}"))?;
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Mixed traffic for `seconds`, in pipelines of about 200 commands; returns commands sent.
fn age(c: &mut Connection, seconds: u64) -> Result<u64, String> {
    let mut rng = Rng(0xa9e);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut sent = 0u64;
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        let mut p = redis::pipe();
        let set = if round.is_multiple_of(4) {
            KEY.to_owned()
        } else {
            format!("age:set:{}", rng.below(64))
        };
        // A set round: adds, a few removals, then pops until empty.
        let n = 1 + rng.below(256);
        for _ in 0..n {
            p.cmd("SADD")
                .arg(&set)
                .arg(format!("member:{}", rng.below(1 << 20)))
                .ignore();
        }
        for _ in 0..n / 8 {
            p.cmd("SREM")
                .arg(&set)
                .arg(format!("member:{}", rng.below(1 << 20)))
                .ignore();
        }
        for _ in 0..n {
            p.cmd("SPOP").arg(&set).ignore();
        }
        // Other types, created and partly deleted.
        for _ in 0..32 {
            let i = rng.below(4096);
            match rng.below(5) {
                0 => p
                    .cmd("HSET")
                    .arg(format!("age:hash:{}", i % 64))
                    .arg(format!("f{i}"))
                    .arg("value"),
                1 => p
                    .cmd("ZADD")
                    .arg(format!("age:zset:{}", i % 64))
                    .arg(i)
                    .arg(format!("m{i}")),
                2 => p.cmd("RPUSH").arg(format!("age:list:{}", i % 64)).arg(i),
                3 => p.cmd("LPOP").arg(format!("age:list:{}", i % 64)),
                _ => p.cmd("SET").arg(format!("age:str:{i}")).arg("x".repeat(64)),
            }
            .ignore();
        }
        p.cmd("DEL")
            .arg(format!("age:str:{}", rng.below(4096)))
            .arg(format!("age:hash:{}", rng.below(64)))
            .arg(format!("age:zset:{}", rng.below(64)))
            .ignore();
        p.cmd("DEL").arg(&set).ignore();
        sent += 2 * n + n / 8 + 34;
        p.query::<()>(c).map_err(|e| format!("pipeline: {e}"))?;
    }
    Ok(sent)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: spop-load run PORT [ROUNDS] | spop-load base PORT COMMANDS | spop-load age PORT SECONDS";
    let port = args.get(1).and_then(|p| p.parse::<u16>().ok());
    let (Some(mode), Some(port)) = (args.first(), port) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let number =
        |i: usize, default: u64| args.get(i).map_or(Some(default), |s| s.parse::<u64>().ok());
    let result = connect(port).and_then(|mut c| match (mode.as_str(), number(2, 20)) {
        ("run", Some(rounds)) => {
            let rounds = u32::try_from(rounds).map_err(|e| e.to_string())?;
            let (secs, sent) = run(&mut c, rounds)?;
            println!("{secs:.3} {sent}");
            Ok(())
        }
        ("base", Some(commands)) => {
            println!("{:.3} {commands}", base(&mut c, commands)?);
            Ok(())
        }
        ("age", Some(seconds)) => {
            let sent = age(&mut c, seconds)?;
            println!("{sent}");
            Ok(())
        }
        _ => Err(usage.to_owned()),
    });
    if let Err(e) = result {
        eprintln!("spop-load: {e}");
        std::process::exit(1);
    }
}
