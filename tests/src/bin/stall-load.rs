//! `stall-load`: the load generator of `scripts/stall-bench` and `scripts/scale-bench`.
//!
//! `stall-load stall` measures PING, GET (of existing keys) and SET latency with paced
//! probes before, during and after a write flood that is meant to push RocksDB into a write
//! stop (storaged started with tiny memtables and a throttled flush/compaction rate), and
//! samples storaged's `is_write_stopped` from `INFO storage` to show the stall is real.
//! `stall-load idle` opens N connections, checks each answers one PING, and holds them.
//! `stall-load fill` writes `key:%012d` (redis-benchmark's `-r` key format) for 0..N with
//! incompressible values, pipelined over several connections, for the large data set.
//!
//! Plain blocking sockets and a minimal RESP reader: the probes must add as little of
//! their own latency as possible on a 2-core machine shared with the servers. It owns no
//! server process and asserts nothing; it prints measurements.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Phases of a stall run; every sample is tagged with the phase it started in.
const PHASES: [&str; 3] = ["before", "during", "after"];

/// A socket read that takes longer than this counts as a hung connection.
const HANG: Duration = Duration::from_secs(30);

type Result<T> = std::result::Result<T, String>;

#[derive(Debug)]
enum Reply {
    Ok(Vec<u8>),
    Err(String),
}

/// One connection; reads and writes share the socket (one descriptor per connection, so
/// 10 000 idle ones fit the usual 20 000 file limit).
struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(port: u16) -> Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(HANG)).map_err(|e| e.to_string())?;
        Ok(Conn {
            reader: BufReader::new(s),
        })
    }

    fn send(&mut self, args: &[&[u8]]) -> Result<()> {
        let mut out = Vec::with_capacity(64);
        encode(&mut out, args);
        self.write_raw(&out)
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.reader
            .get_mut()
            .write_all(bytes)
            .map_err(|e| e.to_string())
    }

    fn call(&mut self, args: &[&[u8]]) -> Result<Reply> {
        self.send(args)?;
        self.read()
    }

    /// Reads one reply (simple string, error, integer, bulk string or array of those).
    fn read(&mut self) -> Result<Reply> {
        let mut line = Vec::new();
        self.reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("read: {e}"))?;
        if line.len() < 3 {
            return Err("connection closed".into());
        }
        let body = &line[1..line.len() - 2];
        match line[0] {
            b'+' | b':' => Ok(Reply::Ok(body.to_vec())),
            b'-' => Ok(Reply::Err(String::from_utf8_lossy(body).into_owned())),
            b'$' => {
                let n: i64 = parse(body)?;
                if n < 0 {
                    return Ok(Reply::Ok(Vec::new()));
                }
                let mut data = vec![0; n as usize + 2];
                self.reader
                    .read_exact(&mut data)
                    .map_err(|e| format!("read: {e}"))?;
                data.truncate(n as usize);
                Ok(Reply::Ok(data))
            }
            b'*' => {
                let n: i64 = parse(body)?;
                for _ in 0..n.max(0) {
                    self.read()?;
                }
                Ok(Reply::Ok(Vec::new()))
            }
            other => Err(format!("unexpected reply type {:?}", other as char)),
        }
    }
}

fn parse<T: std::str::FromStr>(b: &[u8]) -> Result<T> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad number {:?}", String::from_utf8_lossy(b)))
}

fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// One probe's samples: (phase, latency in µs, error text if any).
type Samples = Vec<(u8, u64, Option<String>)>;

struct Shared {
    phase: AtomicU8,
    stop: AtomicBool,
    flood_on: AtomicBool,
    flood_ops: AtomicU64,
    flood_errors: AtomicU64,
}

struct Args {
    port: u16,
    keys: u64,
    before: u64,
    during: u64,
    after: u64,
    flood_conns: usize,
    flood_pipeline: usize,
    value_size: usize,
    interval_us: u64,
    conns: usize,
}

fn args() -> Result<(String, Args)> {
    let mut it = std::env::args().skip(1);
    let mode = it
        .next()
        .ok_or("usage: stall-load stall|idle --port P [...]")?;
    let mut a = Args {
        port: 6379,
        keys: 10_000,
        before: 10,
        during: 20,
        after: 10,
        flood_conns: 8,
        flood_pipeline: 32,
        value_size: 4096,
        interval_us: 2000,
        conns: 10_000,
    };
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        let n: u64 = parse(v.as_bytes())?;
        match flag.as_str() {
            "--port" => a.port = n as u16,
            "--keys" => a.keys = n,
            "--before" => a.before = n,
            "--during" => a.during = n,
            "--after" => a.after = n,
            "--flood-conns" => a.flood_conns = n as usize,
            "--flood-pipeline" => a.flood_pipeline = n as usize,
            "--value-size" => a.value_size = n as usize,
            "--interval-us" => a.interval_us = n,
            "--conns" => a.conns = n as usize,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok((mode, a))
}

fn main() {
    let result = args().and_then(|(mode, a)| match mode.as_str() {
        "stall" => stall(&a),
        "idle" => idle(&a),
        "fill" => fill(&a),
        _ => Err(format!("unknown mode {mode}")),
    });
    if let Err(e) = result {
        eprintln!("stall-load: {e}");
        std::process::exit(1);
    }
}

/// Opens `--conns` connections, PINGs each once, prints "ready N" and holds them until
/// stdin closes (the caller measures the proxy's memory meanwhile).
fn idle(a: &Args) -> Result<()> {
    let mut held = Vec::with_capacity(a.conns);
    for i in 0..a.conns {
        let mut c = Conn::open(a.port).map_err(|e| format!("connection {i}: {e}"))?;
        match c.call(&[b"PING"])? {
            Reply::Ok(_) => held.push(c),
            Reply::Err(e) => return Err(format!("connection {i}: {e}")),
        }
    }
    println!("ready {}", held.len());
    let _ = std::io::stdout().flush();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    Ok(())
}

/// Writes `--keys` keys of `--value-size` pseudo-random bytes over `--flood-conns`
/// connections with pipelines of `--flood-pipeline`, printing progress every 10%.
fn fill(a: &Args) -> Result<()> {
    let start = Instant::now();
    let conns = a.flood_conns.max(1) as u64;
    let done = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for w in 0..conns {
        let (port, keys, size, pipeline) = (a.port, a.keys, a.value_size, a.flood_pipeline.max(1));
        let done = Arc::clone(&done);
        workers.push(std::thread::spawn(move || -> Result<()> {
            let mut c = Conn::open(port)?;
            let mut out = Vec::new();
            let mut value = vec![0u8; size];
            let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ (w + 1);
            let mut k = w;
            while k < keys {
                out.clear();
                let mut sent = 0;
                while sent < pipeline && k < keys {
                    for chunk in value.chunks_mut(8) {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        chunk.copy_from_slice(&rng.to_le_bytes()[..chunk.len()]);
                    }
                    encode(
                        &mut out,
                        &[b"SET", format!("key:{k:012}").as_bytes(), &value],
                    );
                    k += conns;
                    sent += 1;
                }
                c.write_raw(&out)?;
                for _ in 0..sent {
                    if let Reply::Err(e) = c.read()? {
                        return Err(format!("fill: {e}"));
                    }
                }
                done.fetch_add(sent as u64, Ordering::Relaxed);
            }
            Ok(())
        }));
    }
    let mut reported = 0;
    while workers.iter().any(|w| !w.is_finished()) {
        std::thread::sleep(Duration::from_millis(200));
        let d = done.load(Ordering::Relaxed);
        if d * 10 / a.keys.max(1) > reported {
            reported = d * 10 / a.keys.max(1);
            eprintln!(
                "fill: {d} keys in {:.0} s ({:.0} keys/s)",
                start.elapsed().as_secs_f64(),
                d as f64 / start.elapsed().as_secs_f64()
            );
        }
    }
    for w in workers {
        w.join().map_err(|_| "fill worker panicked")??;
    }
    println!(
        "filled {} keys x {} B in {:.1} s",
        a.keys,
        a.value_size,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn stall(a: &Args) -> Result<()> {
    preload(a)?;
    let shared = Arc::new(Shared {
        phase: AtomicU8::new(0),
        stop: AtomicBool::new(false),
        flood_on: AtomicBool::new(false),
        flood_ops: AtomicU64::new(0),
        flood_errors: AtomicU64::new(0),
    });
    let mut probes = Vec::new();
    for kind in ["PING", "GET", "SET"] {
        let shared = Arc::clone(&shared);
        let (port, keys, interval) = (a.port, a.keys, Duration::from_micros(a.interval_us));
        probes.push((
            kind,
            std::thread::spawn(move || probe(kind, port, keys, interval, &shared)),
        ));
    }
    let stopped_polls = Arc::new(Mutex::new([(0u64, 0u64); 3]));
    let poller = {
        let (shared, polls, port) = (Arc::clone(&shared), Arc::clone(&stopped_polls), a.port);
        std::thread::spawn(move || poll_stalls(port, &shared, &polls))
    };
    let mut flooders = Vec::new();
    for i in 0..a.flood_conns {
        let shared = Arc::clone(&shared);
        let (port, pipeline, size) = (a.port, a.flood_pipeline, a.value_size);
        flooders.push(std::thread::spawn(move || {
            flood(i, port, pipeline, size, &shared)
        }));
    }

    std::thread::sleep(Duration::from_secs(a.before));
    shared.phase.store(1, Ordering::SeqCst);
    shared.flood_on.store(true, Ordering::SeqCst);
    let flood_start = Instant::now();
    std::thread::sleep(Duration::from_secs(a.during));
    shared.flood_on.store(false, Ordering::SeqCst);
    let flood_secs = flood_start.elapsed().as_secs_f64();
    let flood_ops = shared.flood_ops.load(Ordering::SeqCst);
    // "after" starts once the flood's own requests are answered and writes flow again.
    for f in flooders {
        let _ = f.join();
    }
    let recovered = wait_unstopped(a.port, Duration::from_secs(120));
    shared.phase.store(2, Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(a.after));
    shared.stop.store(true, Ordering::SeqCst);

    println!(
        "flood: {} conns x pipeline {} x {} B SETs for {:.1} s: {:.0} SET/s acknowledged, {} errors; \
         writes flowing again {:.1} s after the flood ended",
        a.flood_conns,
        a.flood_pipeline,
        a.value_size,
        flood_secs,
        flood_ops as f64 / flood_secs,
        shared.flood_errors.load(Ordering::SeqCst),
        recovered.as_secs_f64()
    );
    let _ = poller.join();
    let polls = *stopped_polls.lock().map_err(|_| "poller panicked")?;
    for (i, name) in PHASES.iter().enumerate() {
        let (stopped, total) = polls[i];
        println!(
            "phase {name}: RocksDB write stop in {stopped} of {total} INFO polls (every 100 ms)"
        );
    }
    println!();
    println!(
        "{:<5} {:<7} {:>7} {:>9} {:>9} {:>9} {:>9}  errors",
        "cmd", "phase", "n", "p50 ms", "p99 ms", "p99.9 ms", "max ms"
    );
    for (kind, handle) in probes {
        let samples = handle
            .join()
            .map_err(|_| format!("{kind} probe panicked"))??;
        for (i, name) in PHASES.iter().enumerate() {
            report(kind, name, samples.iter().filter(|s| s.0 == i as u8));
        }
    }
    Ok(())
}

/// Writes `key:0 .. key:N` with small values, pipelined, so GET probes hit existing keys.
fn preload(a: &Args) -> Result<()> {
    let mut c = Conn::open(a.port)?;
    let value = vec![b'v'; 100];
    let mut out = Vec::new();
    let chunk = 1000;
    let mut i = 0;
    while i < a.keys {
        out.clear();
        let end = (i + chunk).min(a.keys);
        for k in i..end {
            encode(&mut out, &[b"SET", format!("key:{k}").as_bytes(), &value]);
        }
        c.write_raw(&out)?;
        for _ in i..end {
            if let Reply::Err(e) = c.read()? {
                return Err(format!("preload: {e}"));
            }
        }
        i = end;
    }
    Ok(())
}

/// Paced closed-loop probe: one request per `interval` (or right after a slow reply).
fn probe(kind: &str, port: u16, keys: u64, interval: Duration, shared: &Shared) -> Result<Samples> {
    let mut c = Conn::open(port)?;
    let mut samples = Vec::with_capacity(100_000);
    let mut n: u64 = 0;
    let mut next = Instant::now();
    while !shared.stop.load(Ordering::Relaxed) {
        let phase = shared.phase.load(Ordering::Relaxed);
        n += 1;
        let key = format!("key:{}", n.wrapping_mul(2_654_435_761) % keys.max(1));
        let start = Instant::now();
        let reply = match kind {
            "PING" => c.call(&[b"PING"]),
            "GET" => c.call(&[b"GET", key.as_bytes()]),
            _ => c.call(&[b"SET", format!("probe:{n}").as_bytes(), b"x"]),
        };
        let us = start.elapsed().as_micros() as u64;
        let err = match reply {
            Ok(Reply::Ok(v)) if kind == "GET" && v.is_empty() => Some("missing key".to_owned()),
            Ok(Reply::Ok(_)) => None,
            Ok(Reply::Err(e)) => Some(e),
            Err(e) => {
                samples.push((phase, us, Some(format!("connection: {e}"))));
                c = Conn::open(port)?;
                continue;
            }
        };
        samples.push((phase, us, err));
        next += interval;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    Ok(samples)
}

/// One flooding connection: pipelines of large SETs over a key space 100x the preload.
fn flood(i: usize, port: u16, pipeline: usize, size: usize, shared: &Shared) {
    let Ok(mut c) = Conn::open(port) else {
        shared.flood_errors.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let value = vec![b'f'; size];
    let mut n: u64 = 0;
    let mut out = Vec::new();
    while !shared.flood_on.load(Ordering::Relaxed) {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    while shared.flood_on.load(Ordering::Relaxed) {
        out.clear();
        for _ in 0..pipeline {
            n += 1;
            encode(
                &mut out,
                &[b"SET", format!("flood:{i}:{n}").as_bytes(), &value],
            );
        }
        if c.write_raw(&out).is_err() {
            shared.flood_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
        for _ in 0..pipeline {
            match c.read() {
                Ok(Reply::Ok(_)) => shared.flood_ops.fetch_add(1, Ordering::Relaxed),
                Ok(Reply::Err(_)) => shared.flood_errors.fetch_add(1, Ordering::Relaxed),
                Err(_) => {
                    shared.flood_errors.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
        }
    }
}

fn storage_field(c: &mut Conn, field: &str) -> Option<u64> {
    let Ok(Reply::Ok(text)) = c.call(&[b"INFO", b"storage"]) else {
        return None;
    };
    String::from_utf8_lossy(&text).lines().find_map(|l| {
        l.strip_prefix(field)
            .and_then(|r| r.strip_prefix(':'))
            .and_then(|v| v.trim().parse().ok())
    })
}

/// Every 100 ms: is RocksDB stopping writes? Counted per phase as (stopped, polls).
fn poll_stalls(port: u16, shared: &Shared, polls: &Mutex<[(u64, u64); 3]>) {
    let Ok(mut c) = Conn::open(port) else { return };
    while !shared.stop.load(Ordering::Relaxed) {
        let phase = usize::from(shared.phase.load(Ordering::Relaxed)).min(2);
        if let Some(v) = storage_field(&mut c, "is_write_stopped") {
            if let Ok(mut p) = polls.lock() {
                p[phase].1 += 1;
                p[phase].0 += u64::from(v > 0);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until RocksDB no longer stops writes; returns how long that took.
fn wait_unstopped(port: u16, limit: Duration) -> Duration {
    let start = Instant::now();
    let Ok(mut c) = Conn::open(port) else {
        return start.elapsed();
    };
    while start.elapsed() < limit {
        if storage_field(&mut c, "is_write_stopped") == Some(0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    start.elapsed()
}

fn report<'a>(
    kind: &str,
    phase: &str,
    samples: impl Iterator<Item = &'a (u8, u64, Option<String>)>,
) {
    let mut lat = Vec::new();
    let mut errors: Vec<(String, u64)> = Vec::new();
    for (_, us, err) in samples {
        lat.push(*us);
        if let Some(e) = err {
            // Group by the error's fixed prefix, not its varying detail.
            let head: String = e.split('(').next().unwrap_or(e).trim().to_owned();
            match errors.iter_mut().find(|(h, _)| *h == head) {
                Some((_, n)) => *n += 1,
                None => errors.push((head, 1)),
            }
        }
    }
    if lat.is_empty() {
        println!("{kind:<5} {phase:<7} {:>7}", 0);
        return;
    }
    lat.sort_unstable();
    let q = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)] as f64 / 1000.0;
    let errs = if errors.is_empty() {
        "0".to_owned()
    } else {
        errors
            .iter()
            .map(|(h, n)| format!("{n} x {h}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    println!(
        "{kind:<5} {phase:<7} {:>7} {:>9.3} {:>9.3} {:>9.3} {:>9.3}  {errs}",
        lat.len(),
        q(0.50),
        q(0.99),
        q(0.999),
        *lat.last().unwrap_or(&0) as f64 / 1000.0
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_resp_arrays() {
        let mut out = Vec::new();
        encode(&mut out, &[b"SET", b"k", b""]);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
    }
}
