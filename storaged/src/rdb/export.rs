//! `tandem-storaged export-rdb FILE`: writes a Redis 7.0 RDB file (version 10) of a
//! running storaged's data, for redis-server to load.
//!
//! One consistent state without stopping: the running storaged makes a RocksDB checkpoint
//! (the `checkpoint` subcommand's request, next to the data directory so its files are hard
//! links), this process opens that copy with an engine of its own, reads every live key
//! through the types' readers (`types::serialize::read_value`) and writes it with
//! [`super::file::Writer`] into `FILE.tmp`, renamed to `FILE` once complete and synced; the
//! checkpoint is deleted at the end. Expired keys are left out.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::Path;
use std::time::{Duration, Instant};

use super::file::Writer;
use crate::config::Config;
use crate::engine::keys::DB_COUNT;
use crate::engine::{now_ms, Engine, EngineOptions, FsyncPolicy, StoreRead};
use crate::types::{scan_records, serialize, At};

/// Writes the RDB file. Returns a line for the operator.
///
/// # Errors
/// The checkpoint request failed (no storaged on the socket), the copy does not open, a
/// key does not read, or the file cannot be written; a partial `FILE.tmp` and the
/// checkpoint are removed.
pub fn export(file: &Path, config: &Config) -> Result<String, String> {
    let started = Instant::now();
    let data = std::path::absolute(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let (parent, name) = match (data.parent(), data.file_name()) {
        (Some(p), Some(n)) => (p.to_owned(), n.to_string_lossy().into_owned()),
        _ => return Err(format!("{}: not a data directory", data.display())),
    };
    let checkpoint = parent.join(format!(".{name}.export-{}", std::process::id()));
    let asked = crate::checkpoint::request(&config.socket, &checkpoint, config.max_frame);
    // storaged may run a read twice when a concurrent write (the expiry sweeper) made its
    // first run's view inconsistent; the second run of the checkpoint then finds the first
    // one's directory. RocksDB renames a checkpoint into place only once it is complete, so
    // a directory with a CURRENT file under this process's unique name is that first run.
    if let Err(e) = asked {
        let complete = checkpoint.join("CURRENT").is_file();
        if !(e.contains("Directory exists") && complete) {
            let _ = fs::remove_dir_all(&checkpoint);
            return Err(format!(
                "asking storaged (socket {}) for a checkpoint: {e}",
                config.socket.display()
            ));
        }
    }
    let tmp = file.with_extension("rdb.tmp");
    let result = write_file(&checkpoint, &tmp, config);
    let _ = fs::remove_dir_all(&checkpoint);
    let keys = match result {
        Ok(counts) => counts,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    fs::rename(&tmp, file).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        format!("moving {} to {}: {e}", tmp.display(), file.display())
    })?;
    let size = fs::metadata(file).map_or(0, |m| m.len());
    Ok(format!(
        "exported {keys} keys to {} ({size} bytes) in {:.1} s",
        file.display(),
        started.elapsed().as_secs_f64()
    ))
}

/// Writes every live key of the checkpoint in `dir` to `out`; returns the keys written.
fn write_file(dir: &Path, out: &Path, config: &Config) -> Result<u64, String> {
    let options = EngineOptions {
        fsync: FsyncPolicy::No,
        block_cache_bytes: config.block_cache_mb * 1024 * 1024,
        record_cache_bytes: 0,
        lock_retry: Duration::ZERO,
        ..EngineOptions::default()
    };
    let engine = Engine::open(dir, &options)
        .map_err(|e| format!("opening the checkpoint {}: {e}", dir.display()))?;
    let counts = engine.counts();
    let sink = File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let ctime = (now_ms() / 1000).to_string();
    let mut w = Writer::new(
        BufWriter::with_capacity(1 << 20, sink),
        &[
            (b"redis-ver", b"7.0.15"),
            (b"redis-bits", b"64"),
            (b"ctime", ctime.as_bytes()),
            (b"aof-base", b"0"),
        ],
    )
    .map_err(|e| format!("{}: {e}", out.display()))?;
    let mut keys = 0u64;
    // The file names logical databases (SELECTDB); records live under physical ones.
    let map = engine.services().databases().published();
    for db in 0..DB_COUNT {
        let physical = map.physical(db);
        let i = usize::from(physical);
        if counts.keys[i] == 0 {
            continue;
        }
        w.select_db(db, counts.keys[i], counts.expires[i])
            .map_err(|e| format!("{}: {e}", out.display()))?;
        let at = At {
            db: physical,
            now_ms: now_ms(),
        };
        let mut failed: Option<String> = None;
        scan_records(&engine, physical, b"", &mut |key, header, _| {
            if header.expire_at_ms != 0 && header.expire_at_ms <= at.now_ms {
                return true;
            }
            let written = serialize::read_value(&engine, at, key, header.kind)
                .map_err(|e| format!("reading key {:?}: {e}", String::from_utf8_lossy(key)))
                .and_then(|v| {
                    w.key(key, &v, header.expire_at_ms)
                        .map_err(|e| format!("{}: {e}", out.display()))
                });
            match written {
                Ok(()) => {
                    keys += 1;
                    true
                }
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        })
        .map_err(|e| format!("scanning db {db}: {e}"))?;
        if let Some(e) = failed {
            return Err(e);
        }
    }
    let buffered = w.finish().map_err(|e| format!("{}: {e}", out.display()))?;
    let file = buffered
        .into_inner()
        .map_err(|e| format!("{}: {e}", out.display()))?;
    file.sync_all()
        .map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(keys)
}
