//! `tandem-storaged import-rdb FILE --data-dir DIR`: loads a Redis RDB file into a data
//! directory no storaged holds. The only part of `rdb/` that touches storage: it drives an
//! engine of its own, through the same type functions commands use
//! (`types::serialize::write_value`).
//!
//! All or nothing: the keys go into a staging copy (`.DIR.importing-<pid>`, a RocksDB
//! checkpoint of the current data, or a new database), and only a file read to its end
//! with a good checksum replaces `DIR`, through `restore`'s lock-and-swap
//! (`crate::restore::restore`; the previous data is kept as `DIR.before-restore-<time>`).
//! A truncated or corrupt file fails with the offset and leaves `DIR` as it was.
//!
//! Keys in the file replace keys of the same name already in `DIR`; others stay. Keys
//! whose expiry has passed are skipped, as redis-server skips them when it loads.

use std::fs::{self, File};
use std::io::{BufReader, IsTerminal, Read, Write as _};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::file::{self, Entry};
use super::input::ReadInput;
use super::Value;
use crate::config::Config;
use crate::engine::group::Writer;
use crate::engine::{now_ms, Engine, EngineOptions, FsyncPolicy, StoreRead};
use crate::types::{delete_key, serialize, At};

/// A write group is committed once its values reach about this many bytes.
const GROUP_BYTES: usize = 8 << 20;
/// Progress lines on a terminal at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub keys: u64,
    pub expired_skipped: u64,
    pub empty_skipped: u64,
    pub functions_skipped: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

/// Imports `file` into the configured data directory. Returns a line for the operator.
///
/// # Errors
/// A message naming the file and offset for a bad file, or what failed in the database or
/// the file system; the data directory is then unchanged and the staging copy removed.
pub fn import(file: &Path, config: &Config) -> Result<String, String> {
    let started = Instant::now();
    let data = std::path::absolute(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let (parent, name) = match (data.parent(), data.file_name()) {
        (Some(p), Some(n)) => (p.to_owned(), n.to_string_lossy().into_owned()),
        _ => return Err(format!("{}: not a data directory", data.display())),
    };
    let options = EngineOptions {
        // The staging copy replaces nothing until the end, and is synced before the swap.
        fsync: FsyncPolicy::No,
        block_cache_bytes: config.block_cache_mb * 1024 * 1024,
        record_cache_bytes: 0,
        write_buffer_bytes: config.write_buffer_mb.max(1) * 1024 * 1024,
        lock_retry: Duration::ZERO,
        ..EngineOptions::default()
    };
    let staging = parent.join(format!(".{name}.importing-{}", std::process::id()));
    let existing = data.is_dir();
    let built = stage(file, &data, existing, &staging, &options);
    let report = match built {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let placed = if existing {
        let swapped = crate::restore::restore(&staging, &data);
        let _ = fs::remove_dir_all(&staging);
        swapped.map(|line| format!("; {line}"))?
    } else {
        fs::rename(&staging, &data).map_err(|e| {
            let _ = fs::remove_dir_all(&staging);
            format!("moving {} to {}: {e}", staging.display(), data.display())
        })?;
        String::new()
    };
    let secs = started.elapsed().as_secs_f64();
    Ok(format!(
        "imported {} keys from {} ({} bytes) into {} in {secs:.1} s ({:.1} MB/s); skipped {} \
         expired, {} empty, {} function libraries{placed}",
        report.keys,
        file.display(),
        report.bytes,
        data.display(),
        report.bytes as f64 / 1e6 / secs.max(1e-9),
        report.expired_skipped,
        report.empty_skipped,
        report.functions_skipped,
    ))
}

/// Builds the imported database in `staging`.
fn stage(
    file: &Path,
    data: &Path,
    existing: bool,
    staging: &Path,
    options: &EngineOptions,
) -> Result<Report, String> {
    let source = File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let size = source
        .metadata()
        .map_err(|e| format!("{}: {e}", file.display()))?
        .len();
    if existing {
        // Opening takes RocksDB's lock: a running storaged makes this fail at once.
        let engine = Engine::open(data, options).map_err(|e| {
            format!(
                "opening {} (is a storaged running on it? stop it, and under systemd its \
                 socket too): {e}",
                data.display()
            )
        })?;
        engine
            .checkpoint(staging)
            .map_err(|e| format!("copying {} to stage the import: {e}", data.display()))?;
    }
    let engine = Engine::open(staging, options)
        .map_err(|e| format!("opening the staging database {}: {e}", staging.display()))?;
    let mut writer = Writer::new(engine);
    let mut report = Report {
        bytes: size,
        ..Report::default()
    };
    let mut batch: Vec<Entry> = Vec::new();
    let mut batch_bytes = 0usize;
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last_progress = started;
    let consumed = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: source,
        consumed: consumed.clone(),
    };
    let mut input = ReadInput::new(BufReader::with_capacity(1 << 20, counting));
    let summary = file::read(&mut input, &mut |entry| {
        if entry.expire_at_ms != 0 && entry.expire_at_ms <= now_ms() {
            report.expired_skipped += 1;
            return Ok(());
        }
        batch_bytes += approximate_size(&entry);
        batch.push(entry);
        report.keys += 1;
        if batch_bytes >= GROUP_BYTES {
            commit(&mut writer, &mut batch)?;
            batch_bytes = 0;
        }
        if tty && last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            let read = consumed.load(Ordering::Relaxed);
            eprint!(
                "\rimport-rdb: {} keys, {} of {} MB ({:.0} %), {:.0} s",
                report.keys,
                read >> 20,
                size >> 20,
                read as f64 * 100.0 / size.max(1) as f64,
                started.elapsed().as_secs_f64()
            );
        }
        Ok(())
    });
    if tty {
        eprintln!();
    }
    let summary = summary.map_err(|e| format!("{}: {e}", file.display()))?;
    commit(&mut writer, &mut batch).map_err(|e| format!("{}: {e}", file.display()))?;
    writer
        .engine()
        .sync_wal()
        .map_err(|e| format!("syncing the staging database: {e}"))?;
    drop(writer);
    report.empty_skipped = summary.empty_skipped;
    report.functions_skipped = summary.functions_skipped;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// A reader that counts the bytes it hands out, for the progress line (the parser holds
/// the input while it calls the visitor that prints it).
struct Counting<R> {
    inner: R,
    consumed: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn approximate_size(e: &Entry) -> usize {
    e.key.len()
        + match &e.value {
            Value::String(s) => s.len(),
            Value::List(v) | Value::Set(v) => v.iter().map(|x| x.len() + 16).sum(),
            Value::Hash(v) => v.iter().map(|(f, x)| f.len() + x.len() + 16).sum(),
            Value::ZSet(v) => v.iter().map(|(m, _)| 2 * m.len() + 40).sum(),
            Value::Stream(s) => {
                let entries: usize = s
                    .nodes
                    .iter()
                    .flat_map(|n| &n.entries)
                    .map(|e| {
                        20 + e
                            .fields
                            .iter()
                            .map(|(f, v)| f.len() + v.len() + 8)
                            .sum::<usize>()
                    })
                    .sum();
                let groups: usize = s
                    .groups
                    .iter()
                    .map(|g| 64 * (g.pending.len() + g.consumers.len() + 1))
                    .sum();
                entries + groups
            }
        }
}

/// Writes the batch in one group: each key replaced, as `RESTORE … REPLACE` would.
fn commit(writer: &mut Writer<Engine>, batch: &mut Vec<Entry>) -> Result<(), String> {
    if batch.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    let mut group = writer.begin();
    for e in batch.drain(..) {
        // The file names logical databases; a directory SWAPDB touched stores them elsewhere.
        let at = At {
            db: group.services().databases().pending().physical(e.db),
            now_ms: now,
        };
        delete_key(&mut group, at, &e.key).map_err(|x| x.to_string())?;
        serialize::write_value(&mut group, at, &e.key, &e.value, e.expire_at_ms)
            .map_err(|x| format!("key {:?}: {x}", String::from_utf8_lossy(&e.key)))?;
    }
    group.commit().map_err(|e| e.to_string())?;
    let _ = std::io::stderr().flush();
    Ok(())
}
