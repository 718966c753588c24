//! This process as others see it: the CPU time INFO reports (whole process, reaped
//! children, main thread, in Redis's `used_cpu_*` form), and the command line `ps` shows,
//! from which secret flag values are wiped.
//!
//! Reads and writes only the kernel's view of this process (`getrusage`, `/proc/self/…`);
//! keeps no state.

use nix::sys::resource::{getrusage, UsageWho};
use nix::sys::time::TimeValLike;
use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom, Write};

/// CPU seconds, split into system and user time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTime {
    pub sys: f64,
    pub user: f64,
}

/// The three `used_cpu_*` pairs Redis 7 prints in INFO's CPU section.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuUsage {
    pub process: CpuTime,
    pub children: CpuTime,
    pub main_thread: CpuTime,
}

fn rusage(who: UsageWho) -> CpuTime {
    getrusage(who).map_or(CpuTime::default(), |u| CpuTime {
        sys: u.system_time().num_microseconds() as f64 / 1e6,
        user: u.user_time().num_microseconds() as f64 / 1e6,
    })
}

/// The main thread's time from `/proc/self/task/<pid>/stat` (fields 14 and 15, in clock
/// ticks). `getrusage(RUSAGE_THREAD)` only answers for the calling thread, and INFO runs on
/// a worker.
fn main_thread() -> CpuTime {
    let pid = std::process::id();
    let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{pid}/stat")) else {
        return CpuTime::default();
    };
    // The command name (field 2) may hold spaces and parentheses: count from its end.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return CpuTime::default();
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&hz| hz > 0)
        .unwrap_or(100) as f64;
    CpuTime {
        user: ticks(11) as f64 / hz,
        sys: ticks(12) as f64 / hz,
    }
}

/// This process's CPU usage now.
pub fn cpu_usage() -> CpuUsage {
    CpuUsage {
        process: rusage(UsageWho::RUSAGE_SELF),
        children: rusage(UsageWho::RUSAGE_CHILDREN),
        main_thread: main_thread(),
    }
}

impl CpuUsage {
    /// The lines of INFO's `# CPU` section, CRLF-terminated, each name prefixed by
    /// `prefix` (empty for the proxy's own section).
    pub fn info_lines(&self, prefix: &str) -> String {
        let mut out = String::new();
        let pairs = [
            ("used_cpu_sys", self.process.sys),
            ("used_cpu_user", self.process.user),
            ("used_cpu_sys_children", self.children.sys),
            ("used_cpu_user_children", self.children.user),
            ("used_cpu_sys_main_thread", self.main_thread.sys),
            ("used_cpu_user_main_thread", self.main_thread.user),
        ];
        for (name, secs) in pairs {
            let _ = write!(out, "{prefix}{name}:{secs:.6}\r\n");
        }
        out
    }
}

/// Overwrites, with `*`, the value of every `flag VALUE` or `flag=VALUE` argument named in
/// `flags` in this process's original argument memory, so `/proc/PID/cmdline` and `ps` no
/// longer show it (as `redis-cli -a` does). Returns how many values were wiped.
///
/// Call it after the arguments were parsed: `std::env::args` reads the same memory.
/// Written through `/proc/self/mem` at the addresses `/proc/self/stat` gives for the
/// argument area, which needs no `unsafe` and no privilege beyond being this process.
///
/// # Errors
/// The I/O error of reading `/proc/self/stat` or reading/writing `/proc/self/mem`.
pub fn hide_flag_values(flags: &[&str]) -> std::io::Result<usize> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let rest = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3; arg_start and arg_end are fields 48 and 49.
    let field = |n: usize| -> std::io::Result<u64> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("/proc/self/stat has no field {n}")))
    };
    let (start, end) = (field(48)?, field(49)?);
    let len = usize::try_from(end.saturating_sub(start)).map_err(std::io::Error::other)?;
    let mut mem = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/proc/self/mem")?;
    let mut area = vec![0u8; len];
    mem.seek(SeekFrom::Start(start))?;
    mem.read_exact(&mut area)?;
    let wiped = wipe_values(&mut area, flags);
    if wiped > 0 {
        mem.seek(SeekFrom::Start(start))?;
        mem.write_all(&area)?;
    }
    Ok(wiped)
}

/// Replaces, in a NUL-separated argument area, the values of `flags` with `*`.
fn wipe_values(area: &mut [u8], flags: &[&str]) -> usize {
    let mut wiped = 0;
    let mut wipe_next = false;
    let mut pos = 0;
    while pos < area.len() {
        let arg_end = area[pos..]
            .iter()
            .position(|&b| b == 0)
            .map_or(area.len(), |i| pos + i);
        let arg = &area[pos..arg_end];
        let value_from = if wipe_next {
            wipe_next = false;
            Some(pos)
        } else if flags.iter().any(|f| arg == f.as_bytes()) {
            wipe_next = true;
            None
        } else {
            flags.iter().find_map(|f| {
                let with_eq = [f.as_bytes(), b"="].concat();
                arg.starts_with(&with_eq).then_some(pos + with_eq.len())
            })
        };
        if let Some(from) = value_from {
            if from < arg_end {
                area[from..arg_end].fill(b'*');
                wiped += 1;
            }
        }
        pos = arg_end + 1;
    }
    wiped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wipes_separate_and_joined_values_only() {
        let mut area =
            b"tandem-proxy\0--requirepass\0s3cret\0--listen\0x:1\0--requirepass=pw\0--requirepassword\0keep\0"
                .to_vec();
        assert_eq!(wipe_values(&mut area, &["--requirepass"]), 2);
        assert_eq!(
            area,
            b"tandem-proxy\0--requirepass\0******\0--listen\0x:1\0--requirepass=**\0--requirepassword\0keep\0"
        );
        // A flag at the very end, with no value, wipes nothing.
        let mut tail = b"p\0--requirepass\0".to_vec();
        assert_eq!(wipe_values(&mut tail, &["--requirepass"]), 0);
    }

    #[test]
    fn this_process_command_line_can_be_rewritten() {
        // The test binary has no such flag: nothing is wiped, but the argument area is
        // found and read through /proc/self/mem.
        assert_eq!(
            hide_flag_values(&["--no-such-flag-in-tests"]).expect("readable"),
            0
        );
    }

    #[test]
    fn cpu_time_grows_with_work_and_prints_redis_fields() {
        let before = cpu_usage();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let after = cpu_usage();
        assert!(
            after.process.user + after.process.sys > before.process.user + before.process.sys,
            "{before:?} -> {after:?}"
        );
        // This test runs on a harness thread, not the main thread, whose time may be zero;
        // it must still be read and be no more than the whole process's.
        assert!(after.main_thread.user <= after.process.user + 0.02);
        let text = after.info_lines("");
        for name in [
            "used_cpu_sys:",
            "used_cpu_user:",
            "used_cpu_sys_children:",
            "used_cpu_user_children:",
            "used_cpu_sys_main_thread:",
            "used_cpu_user_main_thread:",
        ] {
            assert!(text.contains(name), "{text}");
        }
        assert!(text.lines().all(|l| l
            .split(':')
            .nth(1)
            .is_some_and(|v| v.parse::<f64>().is_ok())));
        assert!(cpu_usage()
            .info_lines("storaged_")
            .starts_with("storaged_used_cpu_sys:"));
    }
}
