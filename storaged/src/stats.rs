//! The pair's command statistics, slow log and latency monitor: the sums of what every
//! proxy reports (`Command::Stats`; the proxies count, `proxy/src/stats.rs`), so INFO's
//! commandstats/errorstats/latencystats, SLOWLOG and LATENCY read the same on every proxy,
//! as one Redis server's would. Also holds the settings they share:
//! `slowlog-log-slower-than`, `slowlog-max-len`, `latency-monitor-threshold` (each proxy
//! learns them from every report's reply).
//!
//! One process-wide table behind a mutex: it is touched once a second per proxy and by
//! these admin commands, never per client command. Lost on a storaged restart, as Redis's
//! are on a restart. Must not: keep anything per key, or grow without bound (the slow log
//! holds `slowlog-max-len` entries, each event 160 samples, errors 128 codes).

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

use tandem_shared::stats::{
    cumulative_usec, value_at_percentile, ArchivedStatsOp, ArchivedStatsPush, COUNTS_LEN,
};
use tandem_shared::Reply;

/// Redis's `LATENCY_TS_LEN`: samples kept per event.
const HISTORY_LEN: usize = 160;
/// Redis's `ERROR_STATS_NUMBER`.
const MAX_ERROR_CODES: usize = 128;

#[derive(Default)]
struct CommandSums {
    calls: u64,
    usec: u64,
    rejected: u64,
    failed: u64,
    /// Empty until a call with a time is reported.
    histogram: Vec<u64>,
}

struct Slow {
    id: u64,
    time: i64,
    micros: u64,
    args: Vec<Vec<u8>>,
    addr: Vec<u8>,
    name: Vec<u8>,
}

#[derive(Default)]
struct Event {
    /// (UNIX second, ms), one per second (the largest), oldest first.
    samples: VecDeque<(i64, u64)>,
    max: u64,
}

struct State {
    commands: BTreeMap<String, CommandSums>,
    errors: BTreeMap<String, u64>,
    slow: VecDeque<Slow>,
    next_slow_id: u64,
    events: BTreeMap<String, Event>,
    slower_than: i64,
    max_len: i64,
    latency_threshold: i64,
}

fn state() -> std::sync::MutexGuard<'static, State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE
        .get_or_init(|| {
            Mutex::new(State {
                commands: BTreeMap::new(),
                errors: BTreeMap::new(),
                slow: VecDeque::new(),
                next_slow_id: 0,
                events: BTreeMap::new(),
                slower_than: 10_000,
                max_len: 128,
                latency_threshold: 0,
            })
        })
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs one `Command::Stats`: adds `push`, then answers `op`. `CONFIG RESETSTAT` also
/// zeroes the engine's keyspace figures in `keyspace` (hits, misses, expired keys), as
/// Redis's does.
pub fn run(
    keyspace: &tandem_engine::Stats,
    push: &ArchivedStatsPush,
    op: &ArchivedStatsOp,
) -> Reply {
    use std::sync::atomic::Ordering::Relaxed;
    if matches!(op, ArchivedStatsOp::ResetStat) {
        keyspace.expired_keys.store(0, Relaxed);
        keyspace.keyspace_hits.store(0, Relaxed);
        keyspace.keyspace_misses.store(0, Relaxed);
    }
    let mut st = state();
    st.add(push);
    st.answer(op)
}

/// One command a script ran (`redis.call`/`redis.pcall`), as the script runner notes it.
pub struct ScriptCall {
    /// The row's name (the subcommand's for a container: `object|encoding`).
    pub name: &'static str,
    /// Its arguments cut by [`slow_args`], when the slow log was on and the command is
    /// not `skip_slowlog`.
    pub args: Option<Vec<Vec<u8>>>,
    pub ns: u64,
    /// Its error reply, if it failed.
    pub error: Option<String>,
    /// The script's own reply is this error (raised by `redis.call`): the proxy counts it
    /// in errorstats as the script's reply, so it is not counted here.
    pub error_counted_by_caller: bool,
}

/// Counts a script run's commands as Redis's `call()` counts them: a call (failed if it
/// got an error, the error in errorstats), the latency histogram, and a slow-log entry
/// when slow, shown as Redis shows a script's commands (client `?:0`, no name). One lock
/// per run.
pub fn script_calls(calls: Vec<ScriptCall>) {
    if calls.is_empty() {
        return;
    }
    let mut st = state();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    for call in calls {
        let sums = st.commands.entry(call.name.to_owned()).or_default();
        sums.calls += 1;
        sums.usec += call.ns / 1000;
        if call.error.is_some() {
            sums.failed += 1;
        }
        if sums.histogram.is_empty() {
            sums.histogram = vec![0; COUNTS_LEN];
        }
        if let Some(h) = sums
            .histogram
            .get_mut(tandem_shared::stats::index_of(call.ns))
        {
            *h += 1;
        }
        if let (Some(text), false) = (&call.error, call.error_counted_by_caller) {
            let code = text.split(' ').next().unwrap_or(text);
            if let Some(count) = st.errors.get_mut(code) {
                *count += 1;
            } else if st.errors.len() < MAX_ERROR_CODES {
                st.errors.insert(code.to_owned(), 1);
            }
        }
        let micros = call.ns / 1000;
        if let Some(args) = call.args {
            if st.slower_than >= 0 && micros >= st.slower_than as u64 {
                let id = st.next_slow_id;
                st.next_slow_id += 1;
                st.slow.push_front(Slow {
                    id,
                    time: now,
                    micros,
                    args,
                    addr: b"?:0".to_vec(),
                    name: Vec::new(),
                });
                let max = usize::try_from(st.max_len).unwrap_or(0);
                st.slow.truncate(max);
            }
        }
    }
}

/// A command's arguments cut as Redis's slow log cuts them (`SLOWLOG_ENTRY_MAX_ARGC` 32,
/// `SLOWLOG_ENTRY_MAX_STRING` 128), as the proxies cut theirs.
pub fn slow_args(args: &[Vec<u8>]) -> Vec<Vec<u8>> {
    const MAX_ARGC: usize = 32;
    const MAX_STRING: usize = 128;
    let kept = args.len().min(MAX_ARGC);
    args.iter()
        .take(kept)
        .enumerate()
        .map(|(i, a)| {
            if kept < args.len() && i + 1 == kept {
                format!("... ({} more arguments)", args.len() - kept + 1).into_bytes()
            } else if a.len() > MAX_STRING {
                let mut cut = a[..MAX_STRING].to_vec();
                cut.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes(),
                );
                cut
            } else {
                a.clone()
            }
        })
        .collect()
}

/// `slowlog-log-slower-than` as last set, read without the table's lock.
static SLOWER_THAN: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(10_000);

/// Whether the slow log takes entries (`slowlog-log-slower-than` not negative).
pub fn slowlog_on() -> bool {
    SLOWER_THAN.load(std::sync::atomic::Ordering::Relaxed) >= 0
}

fn bulk(s: impl Into<Vec<u8>>) -> Reply {
    Reply::Bulk(s.into())
}

impl State {
    fn add(&mut self, push: &ArchivedStatsPush) {
        for c in push.commands.iter() {
            let sums = self.commands.entry(c.name.as_str().to_owned()).or_default();
            sums.calls += c.calls.to_native();
            sums.usec += c.usec.to_native();
            sums.rejected += c.rejected.to_native();
            sums.failed += c.failed.to_native();
            if !c.histogram.is_empty() && sums.histogram.is_empty() {
                sums.histogram = vec![0; COUNTS_LEN];
            }
            for pair in c.histogram.iter() {
                if let Some(h) = sums.histogram.get_mut(usize::from(pair.0.to_native())) {
                    *h += pair.1.to_native();
                }
            }
        }
        for pair in push.errors.iter() {
            let (code, n) = (&pair.0, pair.1.to_native());
            if let Some(count) = self.errors.get_mut(code.as_str()) {
                *count += n;
            } else if self.errors.len() < MAX_ERROR_CODES {
                self.errors.insert(code.as_str().to_owned(), n);
            }
        }
        for e in push.slow.iter() {
            self.slow.push_front(Slow {
                id: self.next_slow_id,
                time: e.time.to_native(),
                micros: e.micros.to_native(),
                args: e.args.iter().map(|a| a.to_vec()).collect(),
                addr: e.addr.to_vec(),
                name: e.name.to_vec(),
            });
            self.next_slow_id += 1;
            self.slow
                .truncate(usize::try_from(self.max_len).unwrap_or(0));
        }
        for s in push.latency.iter() {
            let event = self.events.entry(s.event.as_str().to_owned()).or_default();
            let (time, ms) = (s.time.to_native(), s.ms.to_native());
            event.max = event.max.max(ms);
            match event.samples.back_mut() {
                Some(last) if last.0 == time => last.1 = last.1.max(ms),
                _ => {
                    event.samples.push_back((time, ms));
                    if event.samples.len() > HISTORY_LEN {
                        event.samples.pop_front();
                    }
                }
            }
        }
    }

    fn settings(&self) -> Reply {
        Reply::Array(vec![
            Reply::Integer(self.slower_than),
            Reply::Integer(self.max_len),
            Reply::Integer(self.latency_threshold),
        ])
    }

    fn answer(&mut self, op: &ArchivedStatsOp) -> Reply {
        use ArchivedStatsOp as Op;
        match op {
            Op::Push => self.settings(),
            Op::Sections => bulk(self.sections()),
            Op::SlowlogGet(count) => {
                let count = match count.to_native() {
                    -1 => self.slow.len(),
                    n => usize::try_from(n).unwrap_or(0),
                };
                Reply::Array(
                    self.slow
                        .iter()
                        .take(count)
                        .map(|e| {
                            Reply::Array(vec![
                                Reply::Integer(e.id as i64),
                                Reply::Integer(e.time),
                                Reply::Integer(e.micros as i64),
                                Reply::Array(e.args.iter().map(|a| bulk(a.clone())).collect()),
                                bulk(e.addr.clone()),
                                bulk(e.name.clone()),
                            ])
                        })
                        .collect(),
                )
            }
            Op::SlowlogLen => Reply::Integer(self.slow.len() as i64),
            Op::SlowlogReset => {
                self.slow.clear();
                Reply::ok()
            }
            Op::LatencyLatest => Reply::Array(
                self.events
                    .iter()
                    .filter_map(|(name, e)| {
                        let &(time, ms) = e.samples.back()?;
                        Some(Reply::Array(vec![
                            bulk(name.as_bytes()),
                            Reply::Integer(time),
                            Reply::Integer(ms as i64),
                            Reply::Integer(e.max as i64),
                        ]))
                    })
                    .collect(),
            ),
            Op::LatencyHistory(event) => Reply::Array(
                self.events
                    .get(String::from_utf8_lossy(event).as_ref())
                    .map(|e| {
                        e.samples
                            .iter()
                            .map(|&(t, ms)| {
                                Reply::Array(vec![Reply::Integer(t), Reply::Integer(ms as i64)])
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            Op::LatencyReset(events) => {
                if events.is_empty() {
                    let n = self.events.len();
                    self.events.clear();
                    Reply::Integer(n as i64)
                } else {
                    let mut n = 0;
                    for e in events.iter() {
                        if self
                            .events
                            .remove(String::from_utf8_lossy(e).as_ref())
                            .is_some()
                        {
                            n += 1;
                        }
                    }
                    Reply::Integer(n)
                }
            }
            Op::LatencyHistogram(names) => {
                let wanted: Vec<String> = names
                    .iter()
                    .map(|n| String::from_utf8_lossy(n).into_owned())
                    .collect();
                let mut out = Vec::new();
                for (name, sums) in &self.commands {
                    if sums.histogram.is_empty() || !(wanted.is_empty() || wanted.contains(name)) {
                        continue;
                    }
                    let total: u64 = sums.histogram.iter().sum();
                    let buckets = cumulative_usec(&sums.histogram)
                        .into_iter()
                        .map(|(us, n)| (Reply::Integer(us as i64), Reply::Integer(n as i64)))
                        .collect();
                    out.push((
                        bulk(name.as_bytes()),
                        Reply::Map(vec![
                            (bulk("calls"), Reply::Integer(total as i64)),
                            (bulk("histogram_usec"), Reply::Map(buckets)),
                        ]),
                    ));
                }
                Reply::Map(out)
            }
            Op::LatencyDoctor => Reply::Verbatim(self.doctor().into_bytes()),
            // Redis's RESETSTAT keeps the slow log and the latency events; the command
            // statistics it clears include the histograms LATENCY HISTOGRAM reads.
            Op::ResetStat => {
                self.commands.clear();
                self.errors.clear();
                Reply::ok()
            }
            Op::Settings {
                slower_than,
                max_len,
                latency_threshold,
            } => {
                if let Some(v) = slower_than.as_ref() {
                    self.slower_than = v.to_native();
                    SLOWER_THAN.store(self.slower_than, std::sync::atomic::Ordering::Relaxed);
                }
                if let Some(v) = max_len.as_ref() {
                    self.max_len = v.to_native();
                }
                if let Some(v) = latency_threshold.as_ref() {
                    self.latency_threshold = v.to_native();
                }
                self.settings()
            }
        }
    }

    /// INFO's `# Commandstats`, `# Errorstats` and `# Latencystats`, CRLF-separated.
    fn sections(&self) -> String {
        let mut out = String::from("# Commandstats\r\n");
        for (name, c) in &self.commands {
            if c.calls == 0 && c.rejected == 0 && c.failed == 0 {
                continue;
            }
            let per_call = if c.calls == 0 {
                0.0
            } else {
                c.usec as f64 / c.calls as f64
            };
            let _ = write!(
                out,
                "cmdstat_{name}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
                c.calls, c.usec, c.rejected, c.failed
            );
        }
        out.push_str("\r\n# Errorstats\r\n");
        for (code, n) in &self.errors {
            let _ = write!(out, "errorstat_{code}:count={n}\r\n");
        }
        out.push_str("\r\n# Latencystats\r\n");
        for (name, c) in &self.commands {
            if c.histogram.is_empty() {
                continue;
            }
            let p = |q: f64| value_at_percentile(&c.histogram, q) as f64 / 1000.0;
            let _ = write!(
                out,
                "latency_percentiles_usec_{name}:p50={:.3},p99={:.3},p99.9={:.3}\r\n",
                p(50.0),
                p(99.0),
                p(99.9)
            );
        }
        out
    }

    /// `LATENCY DOCTOR`: Redis's report, its per-event lines computed as Redis computes
    /// them (average, mean deviation, period between spikes, worst).
    fn doctor(&self) -> String {
        if self.events.is_empty() {
            if self.latency_threshold == 0 {
                return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_owned();
            }
            return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n".to_owned();
        }
        let mut out = String::from(
            "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n",
        );
        for (i, (name, e)) in self.events.iter().enumerate() {
            let n = e.samples.len().max(1) as f64;
            let avg = e.samples.iter().map(|s| s.1 as f64).sum::<f64>() / n;
            let mad = e
                .samples
                .iter()
                .map(|s| (s.1 as f64 - avg).abs())
                .sum::<f64>()
                / n;
            let period = match (e.samples.front(), e.samples.back()) {
                (Some(first), Some(last)) if e.samples.len() > 1 => {
                    (last.0 - first.0) as f64 / (e.samples.len() - 1) as f64
                }
                _ => 0.0,
            };
            let _ = writeln!(
                out,
                "{}. {name}: {} latency spikes (average {}ms, mean deviation {}ms, period {period:.2} sec). Worst all time event {}ms.",
                i + 1,
                e.samples.len(),
                avg as u64,
                mad as u64,
                e.max
            );
        }
        out.push_str("\nI have a few advices for you:\n\n");
        out.push_str("- Check your system for other processes using the CPU or disk (tandem's proxies and storaged share the machine with them).\n");
        out.push_str("- SLOWLOG GET shows the slowest commands with their arguments; INFO link and INFO storage show the storage link's queue and RocksDB's state.\n");
        out
    }
}

/// Resets everything (for tests that share the process).
#[cfg(test)]
fn reset() {
    let mut st = state();
    st.commands.clear();
    st.errors.clear();
    st.slow.clear();
    st.events.clear();
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_shared::stats::{
        index_of, CommandDelta, LatencySample, SlowEntry, StatsOp, StatsPush,
    };

    fn run_native(push: &StatsPush, op: &StatsOp) -> Reply {
        let push_bytes = rkyv::to_bytes::<rkyv::rancor::Error>(push).expect("push");
        let op_bytes = rkyv::to_bytes::<rkyv::rancor::Error>(op).expect("op");
        let push =
            rkyv::access::<ArchivedStatsPush, rkyv::rancor::Error>(&push_bytes).expect("access");
        let op = rkyv::access::<ArchivedStatsOp, rkyv::rancor::Error>(&op_bytes).expect("access");
        run(&tandem_engine::Stats::default(), push, op)
    }

    #[test]
    fn sums_reports_and_answers() {
        reset();
        let report = StatsPush {
            commands: vec![CommandDelta {
                name: "get".into(),
                calls: 2,
                usec: 12,
                rejected: 0,
                failed: 1,
                histogram: vec![(index_of(6_000) as u16, 2)],
            }],
            errors: vec![("WRONGTYPE".into(), 1)],
            slow: vec![SlowEntry {
                time: 7,
                micros: 20_000,
                args: vec![b"get".to_vec(), b"k".to_vec()],
                addr: b"127.0.0.1:1".to_vec(),
                name: Vec::new(),
            }],
            latency: vec![
                LatencySample {
                    event: "command".into(),
                    time: 5,
                    ms: 3,
                },
                LatencySample {
                    event: "command".into(),
                    time: 5,
                    ms: 9,
                },
            ],
        };
        run_native(&report, &StatsOp::Push);
        run_native(&report, &StatsOp::Push);
        let Reply::Bulk(text) = run_native(&StatsPush::default(), &StatsOp::Sections) else {
            panic!("bulk");
        };
        let text = String::from_utf8(text).expect("utf8");
        assert!(text.contains(
            "cmdstat_get:calls=4,usec=24,usec_per_call=6.00,rejected_calls=0,failed_calls=2\r\n"
        ));
        assert!(text.contains("errorstat_WRONGTYPE:count=2\r\n"));
        assert!(text.contains("latency_percentiles_usec_get:p50=6.015,p99=6.015,p99.9=6.015"));
        assert_eq!(
            run_native(&StatsPush::default(), &StatsOp::SlowlogLen),
            Reply::Integer(2)
        );
        let Reply::Array(latest) = run_native(&StatsPush::default(), &StatsOp::LatencyLatest)
        else {
            panic!("array");
        };
        assert_eq!(
            latest,
            vec![Reply::Array(vec![
                bulk("command"),
                Reply::Integer(5),
                Reply::Integer(9),
                Reply::Integer(9)
            ])]
        );
        run_native(&StatsPush::default(), &StatsOp::ResetStat);
        let Reply::Bulk(text) = run_native(&StatsPush::default(), &StatsOp::Sections) else {
            panic!("bulk");
        };
        assert!(!String::from_utf8_lossy(&text).contains("cmdstat_get"));
        assert_eq!(
            run_native(&StatsPush::default(), &StatsOp::SlowlogLen),
            Reply::Integer(2)
        );
    }
}
