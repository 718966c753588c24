//! `MEMORY`: USAGE asks storaged (the value lives there); STATS, DOCTOR, MALLOC-STATS,
//! PURGE and HELP describe the pair of processes as Redis 7.0 shapes its replies
//! (`docs/PROTOCOL.md`, "OBJECT, MEMORY, DEBUG, LOLWUT"). Writes nothing.
//!
//! What MEMORY STATS counts: the memory tandem holds is this proxy's resident set (all of it
//! overhead: a proxy keeps no data) plus storaged's in-memory share of the data set, its
//! memtables and block cache (from storaged's INFO). Redis's fields with no counterpart
//! (replication backlog, replica and client buffers, cluster links, AOF buffer, Lua and
//! function caches, the per-db hash tables, allocator fragmentation) are 0, or 1 for a
//! ratio; `startup.allocated` is 0 as no start-up figure is recorded. The percentages and
//! per-key figure follow Redis's formulas over those numbers.

use tandem_shared::wire::Outcome;
use tandem_shared::{Command, Reply};

use tandem_commands::args::Args;

use crate::error::CommandError;
use crate::session::{Flow, LocalResult, Session};

/// Runs one storage command and returns its reply.
async fn storaged_param(session: &mut Session, command: Command) -> Result<Reply, CommandError> {
    match session
        .call_storage(session.state.db, vec![command])
        .await?
        .pop()
    {
        Some(Outcome::Ok(reply)) => Ok(reply),
        Some(Outcome::Err(e)) => Err(CommandError::Other(e.to_string())),
        None => Err(CommandError::err("storage returned no reply")),
    }
}

/// `MEMORY USAGE|STATS|DOCTOR|MALLOC-STATS|PURGE|HELP`.
pub async fn memory(mut args: Args, session: &mut Session) -> LocalResult {
    let sub_raw = String::from_utf8_lossy(&args.next_bytes()?).into_owned();
    let sub = sub_raw.to_ascii_lowercase();
    let n = args.remaining();
    let arity = || CommandError::WrongArity(format!("memory|{sub}"));
    let reply = match sub.as_str() {
        "usage" if n == 0 => return Err(arity()),
        "usage" => {
            let key = args.next_vec()?;
            // Redis's default sample count; 0 asks for every element.
            let mut samples = 5u64;
            while args.remaining() > 0 {
                if args.remaining() >= 2 && args.eat("SAMPLES") {
                    let n = args.next_i64()?;
                    samples = u64::try_from(n).map_err(|_| CommandError::Syntax)?;
                } else {
                    return Err(CommandError::Syntax);
                }
            }
            storaged_param(session, Command::MemoryUsage { key, samples }).await?
        }
        "stats" | "doctor" | "malloc-stats" | "purge" | "help" if n > 0 => return Err(arity()),
        "stats" => stats_reply(&Figures::gather(session).await),
        "doctor" => Reply::Verbatim(doctor(&Figures::gather(session).await).into_bytes()),
        "malloc-stats" => {
            Reply::Verbatim(b"Stats not supported for the current allocator".to_vec())
        }
        "purge" => Reply::ok(),
        "help" => Reply::Array(
            [
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return memory problems reports.",
                "MALLOC-STATS",
                "    Return internal statistics report from the memory allocator.",
                "PURGE",
                "    Attempt to purge dirty pages for reclamation by the allocator.",
                "STATS",
                "    Return information about the memory usage of the server.",
                "USAGE <key> [SAMPLES <count>]",
                "    Return memory in bytes used by <key> and its value. Nested values are",
                "    sampled up to <count> times (default: 5, 0 means sample all).",
                "HELP",
                "    Prints this help.",
            ]
            .iter()
            .map(|s| Reply::Simple((*s).to_owned()))
            .collect(),
        ),
        _ => {
            return Err(CommandError::err(format!(
                "unknown subcommand '{sub_raw}'. Try MEMORY HELP."
            )))
        }
    };
    Ok((reply, Flow::Continue))
}

/// The numbers MEMORY STATS and DOCTOR are made of (see the module documentation).
#[derive(Debug, Default, Clone, PartialEq)]
struct Figures {
    proxy_rss: u64,
    proxy_peak: u64,
    /// storaged's memtables plus block cache.
    storaged: u64,
    /// `(db, keys)` of every database holding keys.
    keys: Vec<(u8, u64)>,
}

impl Figures {
    async fn gather(session: &mut Session) -> Figures {
        let info = match storaged_param(session, Command::Info).await {
            Ok(Reply::Bulk(text)) => String::from_utf8_lossy(&text).into_owned(),
            // Storage unreachable: the proxy's own figures alone.
            _ => String::new(),
        };
        let proxy_rss = proc_status_bytes("VmRSS:");
        Figures {
            proxy_rss,
            proxy_peak: proc_status_bytes("VmHWM:").max(proxy_rss),
            ..Figures::from_storaged_info(&info)
        }
    }

    /// The storaged half, from its INFO text.
    fn from_storaged_info(info: &str) -> Figures {
        let mut f = Figures::default();
        for line in info.lines().map(|l| l.trim_end_matches('\r')) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            match name {
                "meta_cur_size_all_mem_tables"
                | "sub_cur_size_all_mem_tables"
                | "block_cache_usage" => f.storaged += value.parse::<u64>().unwrap_or(0),
                _ => {
                    let db = name.strip_prefix("db").and_then(|d| d.parse::<u8>().ok());
                    let keys = value
                        .split(',')
                        .find_map(|kv| kv.strip_prefix("keys="))
                        .and_then(|k| k.parse::<u64>().ok());
                    if let (Some(db), Some(keys)) = (db, keys) {
                        f.keys.push((db, keys));
                    }
                }
            }
        }
        f
    }

    fn total(&self) -> u64 {
        self.proxy_rss + self.storaged
    }

    fn peak(&self) -> u64 {
        (self.proxy_peak + self.storaged).max(self.total())
    }
}

/// `part * 100 / whole` as Redis computes its percentages (0 for an empty whole).
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// MEMORY STATS in Redis 7.0's field order and types (a map in RESP3, a flat array in
/// RESP2; ratios and percentages are doubles).
fn stats_reply(f: &Figures) -> Reply {
    let int = |n: u64| Reply::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    let field = |name: &str, value: Reply| (Reply::Bulk(name.as_bytes().to_vec()), value);
    let total = f.total();
    let startup = 0u64;
    let overhead = f.proxy_rss;
    let dataset = total.saturating_sub(overhead);
    let keys: u64 = f.keys.iter().map(|(_, n)| n).sum();
    let mut out = vec![
        field("peak.allocated", int(f.peak())),
        field("total.allocated", int(total)),
        field("startup.allocated", int(startup)),
        field("replication.backlog", int(0)),
        field("clients.slaves", int(0)),
        field("clients.normal", int(0)),
        field("cluster.links", int(0)),
        field("aof.buffer", int(0)),
        field("lua.caches", int(0)),
        field("functions.caches", int(0)),
    ];
    for (db, _) in &f.keys {
        out.push(field(
            &format!("db.{db}"),
            Reply::Map(vec![
                field("overhead.hashtable.main", int(0)),
                field("overhead.hashtable.expires", int(0)),
                field("overhead.hashtable.slot-to-keys", int(0)),
            ]),
        ));
    }
    out.extend([
        field("overhead.total", int(overhead)),
        field("keys.count", int(keys)),
        field(
            "keys.bytes-per-key",
            int((total - startup).checked_div(keys).unwrap_or(0)),
        ),
        field("dataset.bytes", int(dataset)),
        field(
            "dataset.percentage",
            Reply::Double(percent(dataset, total - startup)),
        ),
        field("peak.percentage", Reply::Double(percent(total, f.peak()))),
        field("allocator.allocated", int(total)),
        field("allocator.active", int(total)),
        field("allocator.resident", int(total)),
        field("allocator-fragmentation.ratio", Reply::Double(1.0)),
        field("allocator-fragmentation.bytes", int(0)),
        field("allocator-rss.ratio", Reply::Double(1.0)),
        field("allocator-rss.bytes", int(0)),
        field("rss-overhead.ratio", Reply::Double(1.0)),
        field("rss-overhead.bytes", int(0)),
        field("fragmentation", Reply::Double(1.0)),
        field("fragmentation.bytes", int(0)),
    ]);
    Reply::Map(out)
}

const DOCTOR_FINE: &str = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n";
const DOCTOR_EMPTY: &str = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";
const DOCTOR_OPENING: &str =
    "Sam, I detected a few issues in this Redis instance memory implants:\n\n";
const DOCTOR_PEAK: &str = " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n";
const DOCTOR_CLOSING: &str = "I'm here to keep you safe, Sam. I want to help you.\n";

/// MEMORY DOCTOR: Redis 7.0's report over [`Figures`]. Of Redis's checks only the two with
/// a counterpart apply: too little memory to judge (under 5 MiB) and a peak above 150 % of
/// the current total; fragmentation is not measured and tandem has no replica or client
/// buffers to complain about.
fn doctor(f: &Figures) -> String {
    let total = f.total();
    if total < 5 * 1024 * 1024 {
        return DOCTOR_EMPTY.to_owned();
    }
    if f.peak() as f64 / total as f64 > 1.5 {
        return format!("{DOCTOR_OPENING}{DOCTOR_PEAK}{DOCTOR_CLOSING}");
    }
    DOCTOR_FINE.to_owned()
}

/// A `/proc/self/status` field (`VmRSS:` …) in bytes; 0 where there is none.
fn proc_status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "# Stats\r\nkeyspace_hits:3\r\n\r\n# Storage\r\nmeta_cur_size_all_mem_tables:1000\r\nsub_cur_size_all_mem_tables:2000\r\nblock_cache_usage:500\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\ndb5:keys=7,expires=0,avg_ttl=0\r\n";

    #[test]
    fn storaged_figures_come_from_its_info() {
        let f = Figures::from_storaged_info(INFO);
        assert_eq!(f.storaged, 3500);
        assert_eq!(f.keys, vec![(0, 3), (5, 7)]);
    }

    #[test]
    fn stats_have_redis_fields_in_redis_order() {
        let f = Figures {
            proxy_rss: 10_000,
            proxy_peak: 20_000,
            ..Figures::from_storaged_info(INFO)
        };
        let Reply::Map(fields) = stats_reply(&f) else {
            panic!("not a map");
        };
        let names: Vec<String> = fields
            .iter()
            .map(|(k, _)| match k {
                Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            names[..4],
            [
                "peak.allocated",
                "total.allocated",
                "startup.allocated",
                "replication.backlog"
            ]
        );
        assert_eq!(names[10..12], ["db.0", "db.5"]);
        // Ten fields, one per non-empty db, seventeen more: 28 for one db in Redis.
        assert_eq!(names.len(), 29);
        assert_eq!(
            names.last().map(String::as_str),
            Some("fragmentation.bytes")
        );
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| *k == Reply::Bulk(name.as_bytes().to_vec()))
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("total.allocated"), Some(Reply::Integer(13_500)));
        assert_eq!(get("peak.allocated"), Some(Reply::Integer(23_500)));
        assert_eq!(get("keys.count"), Some(Reply::Integer(10)));
        assert_eq!(get("keys.bytes-per-key"), Some(Reply::Integer(1350)));
        assert_eq!(get("dataset.bytes"), Some(Reply::Integer(3500)));
        assert_eq!(get("overhead.total"), Some(Reply::Integer(10_000)));
    }

    #[test]
    fn doctor_reports_as_redis_words_it() {
        let small = Figures {
            proxy_rss: 1 << 20,
            proxy_peak: 1 << 20,
            ..Figures::default()
        };
        assert_eq!(doctor(&small), DOCTOR_EMPTY);
        let fine = Figures {
            proxy_rss: 8 << 20,
            proxy_peak: 9 << 20,
            ..Figures::default()
        };
        assert_eq!(doctor(&fine), DOCTOR_FINE);
        let peaked = Figures {
            proxy_rss: 8 << 20,
            proxy_peak: 20 << 20,
            ..Figures::default()
        };
        assert!(doctor(&peaked).starts_with(DOCTOR_OPENING));
        assert!(doctor(&peaked).ends_with(DOCTOR_CLOSING));
    }
}
