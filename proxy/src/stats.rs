//! What this proxy counts of the commands it serves, for INFO's commandstats, errorstats and
//! latencystats, SLOWLOG and LATENCY: per command (`config|get` for a subcommand) calls,
//! microseconds, rejected and failed calls and a latency histogram, per error code a count,
//! plus the slow-log entries and latency-monitor samples of slow commands.
//!
//! **Where things are counted.** Each proxy counts what it serves and sends the increments
//! to storaged (`Command::Stats`, `storaged/src/stats.rs`), which sums them for the pair:
//! INFO, SLOWLOG and LATENCY on any proxy answer from those sums, so a pair with several
//! proxies reports one server's view. A proxy reports once a second (at once after a slow
//! command), and always just before it asks, so its own commands are in its answer and
//! another proxy's appear within a second.
//!
//! **What a call's time is.** The time the proxy spent on it: a proxy-local command's
//! handler; for storage commands, the round trip of the request they travelled in to
//! storaged and back, shared equally by the commands of a pipelined request. Redis counts
//! only execution; tandem's figure includes the link, which is what a client waits for. A
//! blocking command counts its call and its error, not its time (Redis counts the final
//! execution, not the wait; the proxy cannot tell them apart).
//!
//! **Cost.** Counters live per thread (a thread-local slot, written only by its thread with
//! plain loads and stores, read by the reporting task), so a command takes no lock and no
//! shared cache line; only an error reply takes its thread's (uncontended) error map lock.
//! A slow command's arguments are kept from a truncated copy made when it arrived
//! ([`ArgLog`]), so no request buffer stays alive longer than without statistics.
//!
//! Must not: touch a client's socket, or block a connection on the report (the reporting
//! task does the round trip).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tandem_commands::{CommandSpec, Flags};
use tandem_shared::stats::{
    index_of, CommandDelta, LatencySample, SlowEntry, StatsOp, StatsPush, COUNTS_LEN,
};
use tandem_shared::wire::{Outcome, Response};
use tandem_shared::{Command, Reply};

use crate::instance::Shared;

/// Redis's defaults for the pair's settings, until storaged's are known.
const DEFAULT_SLOWER_THAN: i64 = 10_000;
const DEFAULT_MAX_LEN: i64 = 128;

/// `slowlog-log-slower-than` (µs; negative: off), `slowlog-max-len`,
/// `latency-monitor-threshold` (ms; 0: off), as storaged last reported them.
static SLOWER_THAN: AtomicI64 = AtomicI64::new(DEFAULT_SLOWER_THAN);
static MAX_LEN: AtomicI64 = AtomicI64::new(DEFAULT_MAX_LEN);
static LATENCY_MS: AtomicI64 = AtomicI64::new(0);

/// `instantaneous_ops_per_sec`: commands this proxy processed per second, sampled by the
/// reporting task.
static OPS_PER_SEC: AtomicU64 = AtomicU64::new(0);

/// The latest commands-per-second sample (INFO stats).
pub fn ops_per_sec() -> u64 {
    OPS_PER_SEC.load(Relaxed)
}

/// Redis's slow-log argument limits (`SLOWLOG_ENTRY_MAX_ARGC`, `SLOWLOG_ENTRY_MAX_STRING`).
const MAX_ARGC: usize = 32;
const MAX_STRING: usize = 128;

/// Redis stops tracking new error codes past this many (`ERROR_STATS_NUMBER`).
const MAX_ERROR_CODES: usize = 128;

/// A command's statistics slot: its row's position in [`ids`].
pub type StatId = u16;

/// Rows by address, so a command's slot is found without hashing its name.
struct Ids {
    specs: Vec<&'static CommandSpec>,
    by_addr: Vec<(usize, StatId)>,
}

fn ids() -> &'static Ids {
    static IDS: OnceLock<Ids> = OnceLock::new();
    IDS.get_or_init(|| {
        let mut specs = Vec::new();
        for &spec in tandem_commands::all() {
            specs.push(spec);
            specs.extend(spec.subcommands.iter());
        }
        let mut by_addr: Vec<(usize, StatId)> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| (std::ptr::from_ref(*s) as usize, i as StatId))
            .collect();
        by_addr.sort_unstable();
        Ids { specs, by_addr }
    })
}

/// The slot of `spec`, or of its subcommand named by `first` for a container; `None` for a
/// container's unknown subcommand (Redis counts only the error then).
pub fn id_of(spec: &'static CommandSpec, first: Option<&[u8]>) -> Option<StatId> {
    let spec = if spec.is_container() {
        spec.subcommand(first?)?
    } else {
        spec
    };
    let ids = ids();
    let addr = std::ptr::from_ref(spec) as usize;
    ids.by_addr
        .binary_search_by_key(&addr, |&(a, _)| a)
        .ok()
        .map(|i| ids.by_addr[i].1)
}

/// One command's counters in one thread's slot.
struct Entry {
    calls: AtomicU64,
    usec: AtomicU64,
    rejected: AtomicU64,
    failed: AtomicU64,
    /// Calls per histogram slot; wraps, the reporter sends differences.
    histogram: Box<[AtomicU32]>,
}

impl Entry {
    fn new() -> Entry {
        Entry {
            calls: AtomicU64::new(0),
            usec: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            histogram: (0..COUNTS_LEN).map(|_| AtomicU32::new(0)).collect(),
        }
    }
}

/// Single-writer increment: only the slot's own thread writes its counters.
fn bump64(c: &AtomicU64, by: u64) {
    c.store(c.load(Relaxed).wrapping_add(by), Relaxed);
}

/// One thread's counters.
struct Slot {
    entries: Box<[OnceLock<Box<Entry>>]>,
    errors: Mutex<HashMap<String, u64>>,
    /// Client socket traffic: bytes read, bytes written, reads, writes.
    net: [AtomicU64; 4],
}

fn registry() -> &'static Mutex<Vec<Arc<Slot>>> {
    static SLOTS: OnceLock<Mutex<Vec<Arc<Slot>>>> = OnceLock::new();
    SLOTS.get_or_init(|| Mutex::new(Vec::new()))
}

thread_local! {
    static SLOT: Arc<Slot> = {
        let slot = Arc::new(Slot {
            entries: (0..ids().specs.len()).map(|_| OnceLock::new()).collect(),
            errors: Mutex::new(HashMap::new()),
            net: Default::default(),
        });
        lock(registry()).push(slot.clone());
        slot
    };
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn with_entry(id: StatId, f: impl FnOnce(&Entry)) {
    SLOT.with(|slot| {
        if let Some(cell) = slot.entries.get(usize::from(id)) {
            f(cell.get_or_init(|| Box::new(Entry::new())));
        }
    });
}

/// A call of `id` that took `ns` (none for a blocking command), failed or not.
fn count_call(id: StatId, ns: Option<u64>, failed: bool) {
    with_entry(id, |e| {
        bump64(&e.calls, 1);
        if let Some(ns) = ns {
            bump64(&e.usec, ns / 1000);
            let h = &e.histogram[index_of(ns)];
            h.store(h.load(Relaxed).wrapping_add(1), Relaxed);
        }
        if failed {
            bump64(&e.failed, 1);
        }
    });
}

/// A call that failed before it reached storage (a syntax error): counted with no time.
pub fn failed_call(id: Option<StatId>) {
    if let Some(id) = id {
        count_call(id, None, true);
    }
}

/// One call counted on its own, outside a connection's pipeline bookkeeping: what EXEC
/// ran and MULTI/WATCH/DISCARD/EXEC sent inside MULTI (`crate::local::exec`). `spec` and
/// the first of `args` pick the slot (a container's subcommand); `name` as the client
/// spelled it goes into a slow-log entry if the call was slow.
pub fn count_one(
    spec: &'static CommandSpec,
    name: &[u8],
    args: &[bytes::Bytes],
    ns: Option<u64>,
    failed: bool,
    client: &crate::clients::ClientState,
) {
    let id = id_of(spec, args.first().map(|a| &a[..]));
    let mut log = ArgLog::default();
    log.push(id, name, args);
    log.finish(1, ns, client, |_| failed);
}

/// `n` bytes read from a client's socket.
pub fn net_read(n: usize) {
    SLOT.with(|slot| {
        bump64(&slot.net[0], n as u64);
        bump64(&slot.net[2], 1);
    });
}

/// `n` bytes about to be written to a client's socket in one write.
pub fn net_written(n: usize) {
    SLOT.with(|slot| {
        bump64(&slot.net[1], n as u64);
        bump64(&slot.net[3], 1);
    });
}

/// This proxy's client traffic: `[bytes in, bytes out, reads, writes]` (INFO stats'
/// `total_net_input_bytes`, `total_net_output_bytes`, `total_reads_processed`,
/// `total_writes_processed`).
pub fn net_totals() -> [u64; 4] {
    let mut out = [0u64; 4];
    for slot in lock(registry()).iter() {
        for (o, c) in out.iter_mut().zip(&slot.net) {
            *o = o.wrapping_add(c.load(Relaxed));
        }
    }
    out
}

/// A call refused before it ran (arity, authentication, subscribed mode).
pub fn rejected(id: Option<StatId>) {
    if let Some(id) = id {
        with_entry(id, |e| bump64(&e.rejected, 1));
    }
}

/// An error reply: counted under its code, the text up to the first space (`ERR`,
/// `WRONGTYPE`), as Redis's errorstats.
pub fn error_reply(text: &str) {
    let code = text.split(' ').next().unwrap_or(text);
    SLOT.with(|slot| {
        let mut errors = lock(&slot.errors);
        if let Some(n) = errors.get_mut(code) {
            *n += 1;
        } else if errors.len() < MAX_ERROR_CODES {
            errors.insert(code.to_owned(), 1);
        }
    });
}

/// The positions (in `args`) of the passwords Redis shows as `(redacted)` in the slow log:
/// AUTH's arguments, HELLO's `AUTH username password`.
fn redacted(name: &[u8], args: &[bytes::Bytes]) -> Vec<usize> {
    if name.eq_ignore_ascii_case(b"auth") {
        return (0..args.len()).collect();
    }
    if name.eq_ignore_ascii_case(b"hello") {
        if let Some(at) = args.iter().position(|a| a.eq_ignore_ascii_case(b"auth")) {
            return vec![at + 1, at + 2];
        }
    }
    Vec::new()
}

/// Copies of the arguments of the commands a connection has in flight, cut as the slow log
/// cuts them, in one buffer reused across requests: a slow command's entry is made from
/// them after its reply, when its request buffer is gone.
#[derive(Default)]
pub struct ArgLog {
    bytes: Vec<u8>,
    /// Per command: where its arguments start in `bytes`, and its statistics slot.
    commands: Vec<(usize, Option<StatId>)>,
}

impl ArgLog {
    /// Notes a command (`name` and `args`) about to run, when the slow log is on.
    pub fn push(&mut self, id: Option<StatId>, name: &[u8], args: &[bytes::Bytes]) {
        let start = self.bytes.len();
        self.commands.push((start, id));
        if SLOWER_THAN.load(Relaxed) < 0 {
            return;
        }
        let argc = args.len() + 1;
        let kept = argc.min(MAX_ARGC);
        let mut put = |b: &[u8]| {
            self.bytes
                .extend_from_slice(&(b.len() as u32).to_le_bytes());
            self.bytes.extend_from_slice(b);
        };
        put(name);
        let secret = redacted(name, args);
        for (i, a) in args.iter().enumerate().take(kept - 1) {
            if secret.contains(&i) {
                put(b"(redacted)");
            } else if kept < argc && i + 2 == kept {
                put(format!("... ({} more arguments)", argc - kept + 1).as_bytes());
            } else if a.len() > MAX_STRING {
                let mut cut = a[..MAX_STRING].to_vec();
                cut.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes(),
                );
                put(&cut);
            } else {
                put(a);
            }
        }
    }

    /// Forgets the last command noted (it never ran: a syntax error, a rejection).
    pub fn pop(&mut self) {
        if let Some((start, _)) = self.commands.pop() {
            self.bytes.truncate(start);
        }
    }

    /// The number of commands noted.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    fn args(&self, i: usize) -> Vec<Vec<u8>> {
        let start = self.commands[i].0;
        let end = self
            .commands
            .get(i + 1)
            .map_or(self.bytes.len(), |&(s, _)| s);
        let mut out = Vec::new();
        let mut at = start;
        while at + 4 <= end {
            let mut len = [0u8; 4];
            len.copy_from_slice(&self.bytes[at..at + 4]);
            let len = u32::from_le_bytes(len) as usize;
            at += 4;
            out.push(self.bytes[at..(at + len).min(end)].to_vec());
            at += len;
        }
        out
    }

    /// Counts the calls of the first `count` commands noted, which took `ns` together (none
    /// for a blocking command), `failed(i)` telling whether the i-th got an error reply;
    /// makes slow-log entries and latency samples for those that were slow; then forgets
    /// them. The commands of a request are always the first noted: a local command or a
    /// blocking one is noted after the request it follows was sent.
    pub fn finish(
        &mut self,
        count: usize,
        ns: Option<u64>,
        client: &crate::clients::ClientState,
        failed: impl Fn(usize) -> bool,
    ) {
        self.finish_for(count, ns, (&client.addr, &client.name), failed);
    }

    /// [`ArgLog::finish`] for the client at `addr` named `name`.
    fn finish_for(
        &mut self,
        count: usize,
        ns: Option<u64>,
        client: (&std::net::SocketAddr, &[u8]),
        failed: impl Fn(usize) -> bool,
    ) {
        let count = count.min(self.commands.len());
        if count == 0 {
            return;
        }
        let share = ns.map(|ns| ns / count as u64);
        for i in 0..count {
            let Some(id) = self.commands[i].1 else {
                continue;
            };
            count_call(id, share, failed(i));
            if let Some(ns) = share {
                self.check_slow(i, id, ns, client);
            }
        }
        let cut = self
            .commands
            .get(count)
            .map_or(self.bytes.len(), |&(s, _)| s);
        self.bytes.drain(..cut);
        self.commands.drain(..count);
        for c in &mut self.commands {
            c.0 -= cut;
        }
        if self.commands.is_empty() && self.bytes.capacity() > 64 * 1024 {
            self.bytes = Vec::new();
        }
    }

    fn check_slow(
        &self,
        i: usize,
        id: StatId,
        ns: u64,
        (addr, name): (&std::net::SocketAddr, &[u8]),
    ) {
        let micros = ns / 1000;
        let slower_than = SLOWER_THAN.load(Relaxed);
        let latency_ms = LATENCY_MS.load(Relaxed);
        let spec = ids().specs[usize::from(id)];
        let slow = slower_than >= 0
            && micros >= slower_than as u64
            && !spec.flags.contains(Flags::SKIP_SLOWLOG);
        let lagged = latency_ms > 0 && micros / 1000 >= latency_ms as u64;
        if !slow && !lagged {
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let mut pending = lock(pending());
        if slow {
            pending.slow.push(SlowEntry {
                time: now,
                micros,
                args: self.args(i),
                addr: addr.to_string().into_bytes(),
                name: name.to_vec(),
            });
            // Bounded between reports: the newest max-len entries are all that can show.
            let max = usize::try_from(MAX_LEN.load(Relaxed)).unwrap_or(0);
            if pending.slow.len() > max {
                let excess = pending.slow.len() - max;
                pending.slow.drain(..excess);
            }
        }
        if lagged {
            let event = if spec.flags.contains(Flags::FAST) {
                "fast-command"
            } else {
                "command"
            };
            pending.latency.push(LatencySample {
                event: event.to_owned(),
                time: now,
                ms: micros / 1000,
            });
        }
        drop(pending);
        if let Some(reporter) = REPORTER.get() {
            reporter.wake.notify_one();
        }
    }
}

/// Slow-log entries and latency samples not reported yet.
fn pending() -> &'static Mutex<StatsPush> {
    static PENDING: OnceLock<Mutex<StatsPush>> = OnceLock::new();
    PENDING.get_or_init(|| Mutex::new(StatsPush::default()))
}

/// What the reporter last sent of one thread's one command.
#[derive(Default)]
struct Sent {
    calls: u64,
    usec: u64,
    rejected: u64,
    failed: u64,
    histogram: Vec<u32>,
}

/// The reporting side: what was sent so far, so each report carries differences.
struct Reporter {
    sent: Mutex<HashMap<(usize, StatId), Sent>>,
    wake: tokio::sync::Notify,
    started: AtomicBool,
}

static REPORTER: OnceLock<Reporter> = OnceLock::new();

fn reporter() -> &'static Reporter {
    REPORTER.get_or_init(|| Reporter {
        sent: Mutex::new(HashMap::new()),
        wake: tokio::sync::Notify::new(),
        started: AtomicBool::new(false),
    })
}

/// Everything counted since the last call, taken out for a report.
pub fn take() -> StatsPush {
    let reporter = reporter();
    let slots: Vec<Arc<Slot>> = lock(registry()).clone();
    let ids = ids();
    let mut sent = lock(&reporter.sent);
    let mut by_id: HashMap<StatId, CommandDelta> = HashMap::new();
    let mut errors: HashMap<String, u64> = HashMap::new();
    for (s, slot) in slots.iter().enumerate() {
        for (id, cell) in slot.entries.iter().enumerate() {
            let Some(e) = cell.get() else { continue };
            let id = id as StatId;
            let last = sent.entry((s, id)).or_default();
            if last.histogram.is_empty() {
                last.histogram = vec![0; COUNTS_LEN];
            }
            let now = (
                e.calls.load(Relaxed),
                e.usec.load(Relaxed),
                e.rejected.load(Relaxed),
                e.failed.load(Relaxed),
            );
            if now == (last.calls, last.usec, last.rejected, last.failed) {
                continue;
            }
            let delta = by_id.entry(id).or_insert_with(|| CommandDelta {
                name: ids.specs[usize::from(id)].name.to_owned(),
                ..CommandDelta::default()
            });
            delta.calls += now.0.wrapping_sub(last.calls);
            delta.usec += now.1.wrapping_sub(last.usec);
            delta.rejected += now.2.wrapping_sub(last.rejected);
            delta.failed += now.3.wrapping_sub(last.failed);
            (last.calls, last.usec, last.rejected, last.failed) = now;
            for (i, h) in e.histogram.iter().enumerate() {
                let v = h.load(Relaxed);
                let d = v.wrapping_sub(last.histogram[i]);
                if d > 0 {
                    last.histogram[i] = v;
                    match delta
                        .histogram
                        .iter_mut()
                        .find(|(slot, _)| usize::from(*slot) == i)
                    {
                        Some((_, n)) => *n += u64::from(d),
                        None => delta.histogram.push((i as u16, u64::from(d))),
                    }
                }
            }
        }
        for (code, n) in std::mem::take(&mut *lock(&slot.errors)) {
            *errors.entry(code).or_default() += n;
        }
    }
    drop(sent);
    let mut pending = std::mem::take(&mut *lock(pending()));
    pending.commands = by_id.into_values().collect();
    pending.errors = errors.into_iter().collect();
    pending
}

/// Forgets what was counted and not reported yet (`CONFIG RESETSTAT`).
pub fn discard() {
    drop(take());
}

/// Applies the pair's settings from a `Stats` reply (`[slower-than, max-len, latency]`).
pub fn apply_settings(reply: &Reply) {
    if let Reply::Array(items) = reply {
        let get = |i: usize| match items.get(i) {
            Some(Reply::Integer(n)) => Some(*n),
            _ => None,
        };
        if let (Some(a), Some(b), Some(c)) = (get(0), get(1), get(2)) {
            SLOWER_THAN.store(a, Relaxed);
            MAX_LEN.store(b, Relaxed);
            LATENCY_MS.store(c, Relaxed);
        }
    }
}

/// The `Command::Stats` that reports everything counted so far and then runs `op`.
fn command(op: StatsOp) -> Command {
    Command::Stats { push: take(), op }
}

/// Held from taking a report until storaged has answered it, so this proxy's reports
/// reach storaged in the order they were taken even over different links (a slow-log
/// entry taken before a `SLOWLOG RESET` must not land after it).
fn order() -> &'static tokio::sync::Mutex<()> {
    static ORDER: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    ORDER.get_or_init(|| tokio::sync::Mutex::new(()))
}

/// Sends what this proxy counted so far, then `op`, on `link`; storaged's reply.
pub async fn call(
    link: &crate::link::Link,
    op: StatsOp,
) -> Result<tandem_shared::wire::Frame, crate::link::LinkError> {
    let _ordered = order().lock().await;
    link.call(0, vec![command(op)]).await
}

/// Starts the reporting task once per process: a report every second, or at once after a
/// slow command, on one of the proxy's links. A failed report (storaged away) is dropped:
/// statistics are best effort, never queued without bound.
pub fn start(shared: &Arc<Shared>) {
    let reporter = reporter();
    if reporter.started.swap(true, Relaxed) {
        return;
    }
    let link = shared.links.assign();
    let drain = shared.drain.clone();
    let shared = Arc::downgrade(shared);
    tokio::spawn(async move {
        let mut sampled = (std::time::Instant::now(), 0u64);
        loop {
            tokio::select! {
                () = drain.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = reporter.wake.notified() => {}
            }
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let processed = shared.stats.commands_processed.load(Relaxed);
            let elapsed = sampled.0.elapsed().as_secs_f64();
            if elapsed >= 0.5 {
                let ops = processed.saturating_sub(sampled.1) as f64 / elapsed;
                OPS_PER_SEC.store(ops.round() as u64, Relaxed);
                sampled = (std::time::Instant::now(), processed);
            }
            drop(shared);
            let Ok(frame) = call(&link, StatsOp::Push).await else {
                continue;
            };
            if let Ok(response) = frame.access::<Response>() {
                if let Ok(outcomes) =
                    rkyv::deserialize::<Vec<Outcome>, rkyv::rancor::Error>(&response.outcomes)
                {
                    if let Some(Outcome::Ok(reply)) = outcomes.first() {
                        apply_settings(reply);
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_cut_as_redis_cuts_them() {
        let mut log = ArgLog::default();
        let long = bytes::Bytes::from(vec![b'x'; 300]);
        let many: Vec<bytes::Bytes> = (0..40).map(|i| bytes::Bytes::from(i.to_string())).collect();
        log.push(None, b"set", &[bytes::Bytes::from_static(b"k"), long]);
        log.push(None, b"rpush", &many);
        let first = log.args(0);
        assert_eq!(first.len(), 3);
        assert_eq!(first[2].len(), 128 + "... (172 more bytes)".len());
        assert!(first[2].ends_with(b"... (172 more bytes)"));
        let second = log.args(1);
        assert_eq!(second.len(), 32);
        assert_eq!(second[31], b"... (10 more arguments)");
        assert_eq!(second[30], b"29");
        log.pop();
        assert_eq!(log.len(), 1);
    }

    /// What the statistics add to a pipelined command on the proxy's hot path: noting its
    /// arguments and counting its call. Measured here: about 25 ns a command (slow log on,
    /// 16 SETs a request), against 8-14 µs of proxy CPU per request unpipelined and 1-2 µs
    /// pipelined (docs/BENCHMARKS.md); the bound only catches an accident (a lock, an
    /// allocation per command).
    #[test]
    fn counting_a_command_costs_little() {
        let set = tandem_commands::lookup(b"set").expect("set");
        let id = id_of(set, None);
        let args = [
            bytes::Bytes::from_static(b"key:000001"),
            bytes::Bytes::from_static(b"xxx"),
        ];
        let addr: std::net::SocketAddr = "127.0.0.1:1".parse().expect("addr");
        let mut log = ArgLog::default();
        let rounds = 200_000u32;
        let started = std::time::Instant::now();
        for _ in 0..rounds {
            for _ in 0..16 {
                log.push(id, b"SET", &args);
            }
            log.finish_for(16, Some(16_000), (&addr, b""), |_| false);
        }
        let per_command = started.elapsed() / (rounds * 16);
        println!("statistics per pipelined command: {per_command:?}");
        assert!(
            per_command < std::time::Duration::from_nanos(500),
            "{per_command:?}"
        );
        assert!(take()
            .commands
            .iter()
            .any(|c| c.name == "set" && c.calls > 0));
    }

    #[test]
    fn subcommands_have_their_own_slot() {
        let config = tandem_commands::lookup(b"config").expect("config");
        let get = id_of(config, Some(b"GET")).expect("config|get");
        assert_eq!(ids().specs[usize::from(get)].name, "config|get");
        assert_eq!(id_of(config, Some(b"nosuch")), None);
        let set = tandem_commands::lookup(b"set").expect("set");
        assert_eq!(
            ids().specs[usize::from(id_of(set, None).expect("set"))].name,
            "set"
        );
    }
}
