//! Checkpoints outside the engine: the client side of `tandem-storaged checkpoint DIR` (one
//! short link to the running storaged, one `Checkpoint` command, its answer; blocking std
//! I/O, it runs alone before any runtime exists), and `SAVE`/`BGSAVE`/`LASTSAVE`'s
//! [`Saves`]: one save at a time into the configured save directory, replaced whole only
//! once the new checkpoint is complete, and the time of the last good one. The checkpoint
//! itself is the engine's (`Engine::checkpoint`); nothing here touches the live database.

use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use tandem_shared::reply::ArchivedReply;
use tandem_shared::wire::{self, ArchivedOutcome, FrameKind, Hello, HelloAck, Request, Response};
use tandem_shared::Command;

/// How long a checkpoint may take before the command gives up waiting (flushing a large
/// memtable and linking every SST file is quick; copying across filesystems is not).
const TIMEOUT: Duration = Duration::from_secs(600);

/// Asks the storaged serving on `socket` for a checkpoint in `dir` (made absolute against
/// this process's working directory, since storaged resolves it). Returns a line for the
/// operator naming the directory.
///
/// # Errors
/// No storaged on the socket, a refused link, or storaged's error (e.g. `dir` exists).
pub fn request(socket: &Path, dir: &Path, max_frame: u32) -> Result<String, String> {
    let dir = std::path::absolute(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut stream = UnixStream::connect(socket)
        .map_err(|e| format!("cannot connect to storaged at {}: {e}", socket.display()))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut buf = BytesMut::with_capacity(4096);
    let hello = Hello {
        protocol: wire::PROTOCOL_VERSION,
        schema: wire::SCHEMA_HASH,
        instance_id: 0,
        pid: std::process::id(),
        name: format!("tandem-storaged checkpoint {}", env!("CARGO_PKG_VERSION")),
    };
    send(&mut stream, frame_of(&hello, max_frame))?;
    let ack = read_frame(&mut stream, &mut buf, max_frame)?;
    let ack = ack
        .access::<HelloAck>()
        .map_err(|e| format!("handshake: {e}"))?;
    if !ack.accepted {
        return Err(format!(
            "storaged refused the link: {}",
            ack.message.as_str()
        ));
    }
    let request = Request {
        id: 1,
        db: 0,
        commands: vec![Command::Checkpoint {
            dir: dir.as_os_str().as_bytes().to_vec(),
        }],
    };
    send(&mut stream, frame_of(&request, max_frame))?;
    loop {
        let frame = read_frame(&mut stream, &mut buf, max_frame)?;
        if frame.kind != FrameKind::Response {
            continue; // a Notice (storaged going away): the answer may still come
        }
        let response = frame
            .access::<Response>()
            .map_err(|e| format!("bad response: {e}"))?;
        return match response.outcomes.first() {
            Some(ArchivedOutcome::Ok(ArchivedReply::Bulk(_))) => {
                Ok(format!("checkpoint written to {}", dir.display()))
            }
            Some(ArchivedOutcome::Err(e)) => Err(format!("checkpoint failed: {e:?}")),
            other => Err(format!("unexpected answer: {other:?}")),
        };
    }
}

fn send(stream: &mut UnixStream, frame: Result<BytesMut, wire::FrameError>) -> Result<(), String> {
    let out = frame.map_err(|e| e.to_string())?;
    stream
        .write_all(&out)
        .map_err(|e| format!("write to storaged: {e}"))
}

/// One frame carrying `msg`.
fn frame_of<M>(msg: &M, max_frame: u32) -> Result<BytesMut, wire::FrameError>
where
    M: wire::Message,
    for<'a, 'b> M: rkyv::Serialize<
        rkyv::api::high::HighSerializer<
            wire::codec::FrameWriter<'b>,
            rkyv::ser::allocator::ArenaHandle<'a>,
            rkyv::rancor::Error,
        >,
    >,
{
    let mut out = BytesMut::new();
    wire::encode(msg, max_frame, &mut out)?;
    Ok(out)
}

fn read_frame(
    stream: &mut UnixStream,
    buf: &mut BytesMut,
    max_frame: u32,
) -> Result<wire::Frame, String> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(frame) = wire::decode(buf, max_frame).map_err(|e| e.to_string())? {
            return Ok(frame);
        }
        let n = stream
            .read(&mut chunk)
            .map_err(|e| format!("read from storaged: {e}"))?;
        if n == 0 {
            return Err("storaged closed the link".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The default save directory: the data directory's sibling `<name>-save` (`./data` saves
/// to `./data-save`), or `save` inside it when the path names no directory (`/`, `.`).
pub fn default_save_dir(data_dir: &Path) -> PathBuf {
    match data_dir.file_name() {
        Some(name) => {
            let mut name = name.to_os_string();
            name.push("-save");
            data_dir.with_file_name(name)
        }
        None => data_dir.join("save"),
    }
}

/// Why a save did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveError {
    /// Another save is running (Redis: `Background save already in progress`).
    InProgress,
}

/// The save state of this storaged: where saves go, whether one runs, when the last good
/// one finished. One per process ([`configure`] at start-up): SAVE, BGSAVE and LASTSAVE
/// reach it from any read thread, and every proxy sees the same.
#[derive(Debug)]
pub struct Saves {
    dir: PathBuf,
    running: AtomicBool,
    /// UNIX seconds of the last successful save; storaged's start-up time before any.
    last_save: AtomicI64,
    /// Whether the last save attempt succeeded (INFO's `rdb_last_bgsave_status`).
    last_ok: AtomicBool,
}

static SAVES: OnceLock<Saves> = OnceLock::new();

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Sets the save directory and start-up time, once, when storaged starts (a later call
/// changes nothing).
pub fn configure(dir: PathBuf) {
    let _ = SAVES.set(Saves {
        dir,
        running: AtomicBool::new(false),
        last_save: AtomicI64::new(unix_now()),
        last_ok: AtomicBool::new(true),
    });
}

/// The process's save state, once [`configure`]d.
pub fn saves() -> Option<&'static Saves> {
    SAVES.get()
}

/// Clears the running flag when a save ends, however it ends (a panic included).
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Saves {
    /// The directory saves are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// UNIX seconds of the last successful save (start-up time before any): `LASTSAVE`.
    pub fn last_save(&self) -> i64 {
        self.last_save.load(Ordering::Acquire)
    }

    /// Whether a save is running now.
    pub fn in_progress(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// Whether the last save succeeded (true before any).
    pub fn last_ok(&self) -> bool {
        self.last_ok.load(Ordering::Acquire)
    }

    fn claim(&self) -> Result<Running<'_>, SaveError> {
        self.running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| Running(&self.running))
            .map_err(|_| SaveError::InProgress)
    }

    /// `SAVE`: writes a checkpoint of `engine` now, on this thread. `Ok(Err(text))` is a
    /// save that started and failed (logged; the previous save is left in place).
    ///
    /// # Errors
    /// [`SaveError::InProgress`] while another save runs.
    pub fn save(&self, engine: &crate::engine::Engine) -> Result<Result<(), String>, SaveError> {
        let running = self.claim()?;
        let outcome = self.write(engine);
        drop(running);
        Ok(outcome)
    }

    /// `BGSAVE`: claims the save and writes it on a thread of its own.
    ///
    /// # Errors
    /// [`SaveError::InProgress`] while another save runs.
    pub fn background(&'static self, engine: &crate::engine::Engine) -> Result<(), SaveError> {
        let running = self.claim()?;
        let engine = engine.clone();
        std::thread::Builder::new()
            .name("bgsave".into())
            .spawn(move || {
                let _running = running;
                let _ = self.write(&engine);
            })
            .map(|_| ())
            .map_err(|e| {
                tracing::error!(error = %e, "cannot start the background save thread");
                self.last_ok.store(false, Ordering::Release);
                SaveError::InProgress
            })
    }

    /// Writes the checkpoint beside the save directory and moves it into place; records
    /// the outcome. Only the holder of the running flag calls this.
    fn write(&self, engine: &crate::engine::Engine) -> Result<(), String> {
        let started = std::time::Instant::now();
        let outcome = replace_with_checkpoint(&self.dir, |tmp| {
            engine.checkpoint(tmp).map_err(|e| e.to_string())
        });
        match &outcome {
            Ok(()) => {
                self.last_save.store(unix_now(), Ordering::Release);
                self.last_ok.store(true, Ordering::Release);
                tracing::info!(dir = %self.dir.display(), ms = started.elapsed().as_millis() as u64, "save written");
            }
            Err(e) => {
                self.last_ok.store(false, Ordering::Release);
                tracing::error!(dir = %self.dir.display(), error = %e, "save failed");
            }
        }
        outcome
    }
}

/// `dir` with `suffix` appended to its last component (`/s/data-save` → `/s/data-save.tmp`).
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    dir.with_file_name(name)
}

/// Makes `dir` hold what `make` writes into a directory that does not exist yet (a RocksDB
/// checkpoint needs that). `make` writes `dir.tmp`; then the previous `dir` moves to
/// `dir.old`, `dir.tmp` to `dir`, and `dir.old` is removed. A crash while writing leaves
/// `dir` as it was; a crash between the two renames leaves the previous save in `dir.old`,
/// which the next save moves back first.
fn replace_with_checkpoint(
    dir: &Path,
    make: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), String> {
    let tmp = sibling(dir, ".tmp");
    let old = sibling(dir, ".old");
    let io = |what: &str, p: &Path, e: std::io::Error| format!("{what} {}: {e}", p.display());
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io("create", parent, e))?;
    }
    if !dir.exists() && old.exists() {
        std::fs::rename(&old, dir).map_err(|e| io("restore the previous save from", &old, e))?;
    }
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io("remove the unfinished save", &tmp, e))?;
    }
    if let Err(e) = make(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| io("remove", &old, e))?;
    }
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|e| io("move aside", dir, e))?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| io("move into place", &tmp, e))?;
    // The renames are durable once the parent directory is synced (a power cut could
    // otherwise bring back the old names).
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("sync", parent, e))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| io("remove", &old, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_save_dir_is_the_data_dirs_sibling() {
        assert_eq!(
            default_save_dir(Path::new("./data")),
            Path::new("./data-save")
        );
        assert_eq!(
            default_save_dir(Path::new("/var/lib/t/db/")),
            Path::new("/var/lib/t/db-save")
        );
        assert_eq!(default_save_dir(Path::new("/")), Path::new("/save"));
    }

    #[test]
    fn one_save_at_a_time() {
        let saves = Saves {
            dir: PathBuf::from("/nonexistent"),
            running: AtomicBool::new(false),
            last_save: AtomicI64::new(7),
            last_ok: AtomicBool::new(true),
        };
        let first = saves.claim().expect("free");
        assert!(saves.in_progress());
        assert_eq!(saves.claim().err(), Some(SaveError::InProgress));
        drop(first);
        assert!(!saves.in_progress());
        assert!(saves.claim().is_ok());
        assert_eq!(saves.last_save(), 7);
    }

    #[test]
    fn a_new_save_replaces_the_old_and_a_failed_one_leaves_it() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("s");
        let write = |text: &'static str| {
            move |tmp: &Path| {
                std::fs::create_dir(tmp).map_err(|e| e.to_string())?;
                std::fs::write(tmp.join("f"), text).map_err(|e| e.to_string())
            }
        };
        replace_with_checkpoint(&dir, write("one")).expect("first save");
        replace_with_checkpoint(&dir, write("two")).expect("second save");
        assert_eq!(std::fs::read_to_string(dir.join("f")).expect("f"), "two");
        let failed = replace_with_checkpoint(&dir, |tmp: &Path| {
            std::fs::create_dir(tmp).map_err(|e| e.to_string())?;
            Err("disk full".to_owned())
        });
        assert_eq!(failed, Err("disk full".to_owned()));
        assert_eq!(std::fs::read_to_string(dir.join("f")).expect("f"), "two");
        assert!(!sibling(&dir, ".tmp").exists());
        // A crash between the renames: the previous save waits in `.old` and comes back.
        std::fs::rename(&dir, sibling(&dir, ".old")).expect("rename");
        replace_with_checkpoint(&dir, |_: &Path| Err("fails".to_owned())).expect_err("fails");
        assert_eq!(std::fs::read_to_string(dir.join("f")).expect("f"), "two");
    }
}
