//! `wakeup-load`: the measurement of `scripts/wakeup-bench`, moved out of the test suite
//! (tests check behaviour; this measures it).
//!
//! `wakeup-load PUSH_PORT WAIT_PORT [ROUNDS]` runs ROUNDS (default 1000) rounds of: a client
//! of WAIT_PORT blocks in `BLPOP wakeup:bench 0`; once that server reports it blocked
//! (`INFO clients` `blocked_clients:1`), a client of PUSH_PORT sends `LPUSH wakeup:bench x`.
//! It prints the time from sending the LPUSH until the BLPOP returned, as
//! `p50 p99 max` in microseconds. For tandem, two proxies of one storaged (the wake-up
//! crosses storaged); for redis-server, the same port twice.
//!
//! It owns no server process and asserts nothing; it prints measurements.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use redis::{Connection, Value};

const KEY: &str = "wakeup:bench";

/// How long one step (a client blocking, a wake-up) may take before the run gives up.
const STEP: Duration = Duration::from_secs(10);

fn connect(port: u16) -> Result<Connection, String> {
    let client =
        redis::Client::open(format!("redis://127.0.0.1:{port}/")).map_err(|e| e.to_string())?;
    client.get_connection().map_err(|e| e.to_string())
}

/// Waits until the server on `c` reports `n` blocked clients.
fn wait_blocked(c: &mut Connection, n: u64) -> Result<(), String> {
    let deadline = Instant::now() + STEP;
    let want = format!("blocked_clients:{n}");
    loop {
        let info: String = redis::cmd("INFO")
            .arg("clients")
            .query(c)
            .map_err(|e| e.to_string())?;
        if info.lines().any(|l| l.trim_end() == want) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("no {want} within {STEP:?}:\n{info}"));
        }
        thread::sleep(Duration::from_micros(200));
    }
}

/// The wake-up times of `rounds` rounds, sorted.
fn measure(push_port: u16, wait_port: u16, rounds: usize) -> Result<Vec<Duration>, String> {
    let mut pusher = connect(push_port)?;
    let mut probe = connect(wait_port)?;
    redis::cmd("DEL")
        .arg(KEY)
        .query::<Value>(&mut pusher)
        .map_err(|e| e.to_string())?;
    let mut waiter = connect(wait_port)?;
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let (done_tx, done_rx) = mpsc::channel::<Result<Instant, String>>();
    let waiting = thread::spawn(move || {
        for _ in 0..rounds {
            if ready_tx.send(()).is_err() {
                return;
            }
            let got = redis::cmd("BLPOP")
                .arg(KEY)
                .arg(0)
                .query::<Value>(&mut waiter);
            let at = Instant::now();
            let sent = match got {
                Ok(Value::Array(_)) => done_tx.send(Ok(at)),
                other => done_tx.send(Err(format!("BLPOP answered {other:?}"))),
            };
            if sent.is_err() {
                return;
            }
        }
    });
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        ready_rx
            .recv_timeout(STEP)
            .map_err(|_| "the waiter stopped".to_owned())?;
        wait_blocked(&mut probe, 1)?;
        let sent = Instant::now();
        redis::cmd("LPUSH")
            .arg(KEY)
            .arg("x")
            .query::<Value>(&mut pusher)
            .map_err(|e| e.to_string())?;
        let woke = done_rx
            .recv_timeout(STEP)
            .map_err(|_| format!("no wake-up within {STEP:?}"))??;
        samples.push(woke.saturating_duration_since(sent));
    }
    waiting
        .join()
        .map_err(|_| "the waiter panicked".to_owned())?;
    samples.sort();
    Ok(samples)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: wakeup-load PUSH_PORT WAIT_PORT [ROUNDS]";
    let port = |i: usize| args.get(i).and_then(|p| p.parse::<u16>().ok());
    let rounds = args.get(2).map_or(Some(1000), |r| r.parse::<usize>().ok());
    let (Some(push), Some(wait), Some(rounds)) = (port(0), port(1), rounds) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    if rounds == 0 {
        eprintln!("{usage}");
        std::process::exit(2);
    }
    match measure(push, wait, rounds) {
        Ok(samples) => {
            let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
            println!(
                "{} {} {}",
                at(0.50).as_micros(),
                at(0.99).as_micros(),
                samples[samples.len() - 1].as_micros()
            );
        }
        Err(e) => {
            eprintln!("wakeup-load: {e}");
            std::process::exit(1);
        }
    }
}
