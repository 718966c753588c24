//! `INFO [section ...]`: Redis 7.0's sections, in Redis's order, with the fields clients and
//! exporters read, then tandem's own (`# Link` of this proxy, `# Storage` of storaged,
//! `# Proxies`: storaged's links and who is on their other end).
//!
//! Section choice as Redis 7.0.15: no argument or `default` gives server, clients, memory,
//! persistence, stats, replication, cpu, modules, errorstats, cluster and keyspace (not
//! commandstats or latencystats); `all` and `everything` add those two (tandem has no
//! modules, so they are the same); names may be combined (`INFO server cpu`) and each section
//! appears once, in Redis's order whatever the argument order. An unknown name adds nothing.
//! tandem's link, storage and proxies sections belong to default, all and everything.
//!
//! Where figures come from: storaged sends its sections as text (`storaged/src/info.rs`)
//! and the pair's command statistics (`storaged/src/stats.rs`, every proxy's reports
//! summed); this proxy adds what it alone knows (its clients, connections, links, memory).
//! See docs/OPERATIONS.md "Observability" for which process each figure describes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use tandem_commands::args::Args;
use tandem_shared::stats::StatsOp;
use tandem_shared::wire::Outcome;
use tandem_shared::{Command, Reply};

use super::client::REDIS_VERSION;
use crate::session::{Flow, LocalResult, Session};

/// Redis 7.0's sections in its order, then tandem's; each with whether `default` has it.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
    ("link", true),
    ("storage", true),
    ("proxies", true),
];

/// The sections `args` ask for, as Redis's `genInfoSectionDict` chooses them, plus whether
/// storaged's other sections (any it adds later) are in.
fn chosen(args: &[String]) -> (Vec<&'static str>, bool) {
    let mut all = false;
    let mut default = args.is_empty();
    let mut named: Vec<&str> = Vec::new();
    for a in args {
        match a.as_str() {
            "all" | "everything" => all = true,
            "default" => default = true,
            other => named.push(other),
        }
    }
    let wanted = SECTIONS
        .iter()
        .filter(|(name, in_default)| all || (default && *in_default) || named.contains(name))
        .map(|(name, _)| *name)
        .collect();
    (wanted, all || default)
}

/// Splits storaged's INFO text into sections by their `# Name` headers (lower-cased).
fn sections_of(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = String::from("storage");
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(name) = line.strip_prefix("# ") {
            current = name.trim().to_ascii_lowercase();
            out.entry(current.clone()).or_default();
        } else if !line.is_empty() {
            out.entry(current.clone())
                .or_default()
                .push(line.to_owned());
        }
    }
    out
}

/// `VmRSS`/`VmHWM` of this process in bytes.
fn proc_status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Redis's `bytesToHuman`.
fn human(n: u64) -> String {
    let d = n as f64;
    let k = 1024.0;
    if d < k {
        format!("{n}B")
    } else if d < k * k {
        format!("{:.2}K", d / k)
    } else if d < k * k * k {
        format!("{:.2}M", d / (k * k))
    } else if d < k * k * k * k {
        format!("{:.2}G", d / (k * k * k))
    } else if d < k * k * k * k * k {
        format!("{:.2}T", d / (k * k * k * k))
    } else {
        format!("{:.2}P", d / (k * k * k * k * k))
    }
}

/// `Linux 6.1.0 x86_64`, as Redis prints `uname -s -r -m`.
fn os_line() -> String {
    let read = |f: &str| {
        std::fs::read_to_string(f)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    format!(
        "{} {} {}",
        read("/proc/sys/kernel/ostype"),
        read("/proc/sys/kernel/osrelease"),
        std::env::consts::ARCH
    )
}

/// The value of `name:` among `lines`, as a number.
fn field(lines: &[String], name: &str) -> Option<f64> {
    lines.iter().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(|v| v.parse().ok())
    })
}

/// Runs one storage command, answering `None` when storaged is away or refuses (INFO then
/// shows this proxy's sections alone).
async fn ask(session: &mut Session, command: Command) -> Option<Reply> {
    match session.call_storage(0, vec![command]).await {
        Ok(mut outcomes) => match outcomes.pop() {
            Some(Outcome::Ok(reply)) => Some(reply),
            _ => None,
        },
        Err(_) => None,
    }
}

/// `INFO [section ...]`.
pub async fn info(mut args: Args, session: &mut Session) -> LocalResult {
    let asked: Vec<String> = args
        .rest()
        .iter()
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    let (wanted, others) = chosen(&asked);
    let want = |s: &str| wanted.contains(&s);
    let mut storage = BTreeMap::new();
    // Once storaged has failed to answer, INFO does not wait a second deadline for it.
    let mut reachable = true;
    if [
        "keyspace",
        "stats",
        "storage",
        "memory",
        "cpu",
        "persistence",
        "proxies",
    ]
    .into_iter()
    .any(want)
        || others
    {
        match ask(session, Command::Info).await {
            Some(Reply::Bulk(b)) => storage = sections_of(&String::from_utf8_lossy(&b)),
            _ => reachable = false,
        }
    }
    if reachable
        && ["commandstats", "errorstats", "latencystats", "stats"]
            .into_iter()
            .any(want)
    {
        if let Ok(Reply::Bulk(b)) = super::slowlog::ask(session, StatsOp::Sections).await {
            storage.extend(sections_of(&String::from_utf8_lossy(&b)));
        }
    }
    let shared = session.shared.clone();
    let storaged = |name: &str| storage.get(name).map_or(&[][..], |v| &v[..]);
    let mut out = String::new();
    for name in &wanted {
        let mut o = String::new();
        let title = match *name {
            "server" => {
                let uptime = shared.started.elapsed().as_secs();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                let exe = std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let config_file = shared
                    .config
                    .config_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let supervised = if std::env::var_os("NOTIFY_SOCKET").is_some() {
                    "systemd"
                } else {
                    "no"
                };
                let _ = write!(
                    o,
                    "redis_version:{REDIS_VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:{supervised}\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:10\r\nconfigured_hz:10\r\nlru_clock:{}\r\nexecutable:{exe}\r\nconfig_file:{config_file}\r\nio_threads_active:0\r\ntandem_version:{}\r\n",
                    os_line(),
                    std::process::id(),
                    shared.run_id,
                    shared.port,
                    now.as_micros(),
                    uptime / 86400,
                    now.as_secs() & ((1 << 24) - 1),
                    env!("CARGO_PKG_VERSION"),
                );
                "Server"
            }
            "clients" => {
                let _ = write!(
                    o,
                    "connected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n",
                    shared.clients.len(),
                    shared.maxclients.load(Ordering::Relaxed),
                    shared.clients.blocked()
                );
                "Clients"
            }
            "memory" => {
                let rss = proc_status_bytes("VmRSS:");
                let peak = proc_status_bytes("VmHWM:").max(rss);
                let system = total_system_memory();
                let _ = write!(
                    o,
                    "used_memory:{rss}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{rss}\r\nused_memory_startup:0\r\nused_memory_dataset:0\r\nused_memory_dataset_perc:0.00%\r\nallocator_allocated:{rss}\r\nallocator_active:{rss}\r\nallocator_resident:{rss}\r\ntotal_system_memory:{system}\r\ntotal_system_memory_human:{}\r\nused_memory_lua:0\r\nused_memory_scripts:0\r\nnumber_of_cached_scripts:0\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\nallocator_frag_ratio:1.00\r\nallocator_frag_bytes:0\r\nallocator_rss_ratio:1.00\r\nallocator_rss_bytes:0\r\nrss_overhead_ratio:1.00\r\nrss_overhead_bytes:0\r\nmem_fragmentation_ratio:1.00\r\nmem_fragmentation_bytes:0\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:0\r\nmem_aof_buffer:0\r\nmem_allocator:libc\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
                    human(rss),
                    human(rss),
                    human(peak),
                    if peak == 0 { 0.0 } else { rss as f64 * 100.0 / peak as f64 },
                    human(system),
                );
                for line in storaged("memory") {
                    let _ = write!(o, "{line}\r\n");
                }
                "Memory"
            }
            "persistence" => {
                // storaged's save state (SAVE/BGSAVE) goes where Redis prints its rdb_ fields.
                let _ = write!(
                    o,
                    "loading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:0\r\n"
                );
                for line in storaged("persistence") {
                    let _ = write!(o, "{line}\r\n");
                }
                let _ = write!(o, "rdb_last_bgsave_time_sec:-1\r\nrdb_current_bgsave_time_sec:-1\r\nrdb_last_cow_size:0\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_last_write_status:ok\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n");
                "Persistence"
            }
            "stats" => {
                let s = &shared.stats;
                let errors: u64 = storaged("errorstats")
                    .iter()
                    .filter_map(|l| l.rsplit("count=").next()?.parse::<u64>().ok())
                    .sum();
                let [net_in, net_out, reads, writes] = crate::stats::net_totals();
                let _ = write!(
                    o,
                    "total_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{net_in}\r\ntotal_net_output_bytes:{net_out}\r\nrejected_connections:{}\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:0\r\nevicted_clients:0\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{errors}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{reads}\r\ntotal_writes_processed:{writes}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\n",
                    s.connections_received.load(Ordering::Relaxed),
                    s.commands_processed.load(Ordering::Relaxed),
                    crate::stats::ops_per_sec(),
                    s.rejected_connections.load(Ordering::Relaxed),
                );
                for line in storaged("stats") {
                    let _ = write!(o, "{line}\r\n");
                }
                "Stats"
            }
            "replication" => {
                let _ = write!(
                    o,
                    "role:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
                    shared.run_id
                );
                "Replication"
            }
            "cpu" => {
                // The pair's figures: this proxy's plus storaged's; then each process's.
                let own = tandem_service::process::cpu_usage().info_lines("proxy_");
                let own: Vec<String> = own.lines().map(str::to_owned).collect();
                let theirs = storaged("cpu");
                for name in [
                    "used_cpu_sys",
                    "used_cpu_user",
                    "used_cpu_sys_children",
                    "used_cpu_user_children",
                    "used_cpu_sys_main_thread",
                    "used_cpu_user_main_thread",
                ] {
                    let sum = field(&own, &format!("proxy_{name}")).unwrap_or(0.0)
                        + field(theirs, &format!("storaged_{name}")).unwrap_or(0.0);
                    let _ = write!(o, "{name}:{sum:.6}\r\n");
                }
                for line in own
                    .iter()
                    .map(String::as_str)
                    .chain(theirs.iter().map(String::as_str))
                {
                    let _ = write!(o, "{line}\r\n");
                }
                "CPU"
            }
            "modules" => "Modules",
            // storaged's own section only when storaged answered.
            "storage" if !storage.contains_key("storage") => continue,
            "commandstats" | "errorstats" | "latencystats" | "keyspace" | "storage" => {
                for line in storaged(name) {
                    let _ = write!(o, "{line}\r\n");
                }
                match *name {
                    "commandstats" => "Commandstats",
                    "errorstats" => "Errorstats",
                    "latencystats" => "Latencystats",
                    "keyspace" => "Keyspace",
                    _ => "Storage",
                }
            }
            "cluster" => {
                o.push_str("cluster_enabled:0\r\n");
                "Cluster"
            }
            // storaged's links and who is on their other end, when storaged answered.
            "proxies" if !storage.contains_key("proxies") => continue,
            "proxies" => {
                for line in storaged(name) {
                    let _ = write!(o, "{line}\r\n");
                }
                "Proxies"
            }
            "link" => {
                for (i, link) in shared.links.links().iter().enumerate() {
                    let st = link.stats();
                    let (state, last_error) = st
                        .state
                        .lock()
                        .map(|s| (s.0.as_str(), s.1.clone()))
                        .unwrap_or(("down", String::new()));
                    let _ = write!(
                        o,
                        "link{i}:state={state},reconnects={},queue_depth={},in_flight={},requests={},queued={},shed={},timed_out={},resent={},last_error={}\r\n",
                        st.reconnects.load(Ordering::Relaxed),
                        link.queue_depth(),
                        link.in_flight(),
                        st.requests.load(Ordering::Relaxed),
                        st.queued.load(Ordering::Relaxed),
                        st.shed.load(Ordering::Relaxed),
                        st.timed_out.load(Ordering::Relaxed),
                        st.resent.load(Ordering::Relaxed),
                        last_error.replace([',', '\r', '\n'], " "),
                    );
                }
                "Link"
            }
            _ => continue,
        };
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        let _ = write!(out, "# {title}\r\n{o}");
    }
    // Sections storaged adds that this list does not know yet, with default/all.
    if others {
        for (name, lines) in &storage {
            if SECTIONS.iter().any(|(n, _)| n == name) {
                continue;
            }
            let title = {
                let mut c = name.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            };
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            let _ = write!(out, "# {title}\r\n");
            for line in lines {
                let _ = write!(out, "{line}\r\n");
            }
        }
    }
    Ok((Reply::Verbatim(out.into_bytes()), Flow::Continue))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(args: &[&str]) -> Vec<&'static str> {
        chosen(&args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).0
    }

    /// redis-server 7.0.15's choices.
    #[test]
    fn sections_as_redis_chooses_them() {
        let default = names(&[]);
        assert!(!default.contains(&"commandstats") && !default.contains(&"latencystats"));
        assert!(default.contains(&"errorstats") && default.contains(&"keyspace"));
        assert_eq!(names(&["default"]), default);
        assert_eq!(names(&["all"]), names(&["everything"]));
        assert!(names(&["all"]).contains(&"latencystats"));
        assert_eq!(names(&["cpu", "server"]), vec!["server", "cpu"]);
        assert_eq!(names(&["default", "commandstats"]).len(), default.len() + 1);
        assert!(names(&["nosuch"]).is_empty());
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(1000), "1000B");
        assert_eq!(human(1_040_640), "1016.25K");
        assert_eq!(human(7_249_920), "6.91M");
    }
}
