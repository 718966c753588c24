//! `tandem-storaged restore --from CHECKPOINT --data-dir DIR`: puts a copy of a checkpoint in
//! place of a data directory that no storaged holds. Blocking std I/O; it runs alone, before
//! any runtime exists, and never opens the database.
//!
//! Why a subcommand and not `mv`: under systemd, `systemctl stop tandem-storaged` does not
//! stick while proxies run (their reconnects make socket activation start storaged again
//! within milliseconds), and a directory swapped under a running storaged loses writes or
//! corrupts both copies. So the restore:
//!
//! 1. takes RocksDB's own lock on `DIR/LOCK` (an `fcntl` write lock, the one `DB::open`
//!    takes) and refuses, naming the holder's pid, when a storaged has it; holding it keeps
//!    a storaged started meanwhile from opening the old data;
//! 2. copies the checkpoint into a fresh sibling `DIR.restoring-<pid>` (immutable `.sst` and
//!    `.blob` files hard-linked when they can be, everything else copied and synced), with
//!    the owner of the directory it replaces, directories 0700 and files 0600;
//! 3. swaps the two directories in one `renameat2(RENAME_EXCHANGE)`, so `DIR` is at every
//!    instant either the old database or the restored one, never missing or half-written;
//! 4. renames the old data to `DIR.before-restore-<unix time>` and leaves it for the
//!    operator to delete.
//!
//! The checkpoint itself is left as it was, so a backup survives being restored from.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use nix::fcntl::{fcntl, renameat2, FcntlArg, RenameFlags};
use nix::libc::c_short;

/// Restores `data_dir` from the checkpoint in `from`. Returns a line for the operator saying
/// what was done and where the old data went.
///
/// # Errors
/// `from` is not a RocksDB checkpoint, a storaged holds `data_dir`, or any file operation
/// failed (the data directory is then untouched and the partial copy removed).
pub fn restore(from: &Path, data_dir: &Path) -> Result<String, String> {
    let from = std::path::absolute(from).map_err(|e| format!("{}: {e}", from.display()))?;
    let data = std::path::absolute(data_dir).map_err(|e| format!("{}: {e}", data_dir.display()))?;
    check_checkpoint(&from)?;
    if data.starts_with(&from) || from.starts_with(&data) {
        return Err(format!(
            "the checkpoint {} and the data directory {} must not contain each other",
            from.display(),
            data.display()
        ));
    }
    let (parent, name) = match (data.parent(), data.file_name()) {
        (Some(p), Some(n)) => (p.to_owned(), n.to_string_lossy().into_owned()),
        _ => {
            return Err(format!(
                "{}: not a directory to restore into",
                data.display()
            ))
        }
    };
    let existing = match fs::symlink_metadata(&data) {
        Ok(meta) if meta.is_dir() => Some(meta),
        Ok(_) => return Err(format!("{} exists and is not a directory", data.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{}: {e}", data.display())),
    };
    // Held until the swap is done: the lock file moves away with the old data.
    let _lock = match &existing {
        Some(_) => Some(lock_database(&data)?),
        None => None,
    };
    // The restored tree belongs to whoever owns what it replaces (the service user when
    // root restores for systemd), else to whoever owns the parent.
    let owner_of = existing.as_ref().map_or_else(
        || fs::metadata(&parent).map_err(|e| format!("{}: {e}", parent.display())),
        |m| Ok(m.clone()),
    )?;
    let owner = (owner_of.uid(), owner_of.gid());

    let staging = parent.join(format!(".{name}.restoring-{}", std::process::id()));
    let copied = copy_tree(&from, &staging, owner).and_then(|files| {
        sync_dir(&staging)?;
        Ok(files)
    });
    let files = match copied {
        Ok(files) => files,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(format!(
                "copying {} to {}: {e}",
                from.display(),
                staging.display()
            ));
        }
    };

    let message = if existing.is_some() {
        renameat2(None, &staging, None, &data, RenameFlags::RENAME_EXCHANGE).map_err(|e| {
            let _ = fs::remove_dir_all(&staging);
            format!(
                "swapping {} into {}: {e}",
                staging.display(),
                data.display()
            )
        })?;
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let aside = parent.join(format!("{name}.before-restore-{stamp}"));
        // The restore is done; only the old data's name is left to fix.
        let kept = match fs::rename(&staging, &aside) {
            Ok(()) => aside,
            Err(_) => staging,
        };
        format!(
            "restored {} from {} ({files} files); the previous data is in {}",
            data.display(),
            from.display(),
            kept.display()
        )
    } else {
        fs::rename(&staging, &data).map_err(|e| {
            let _ = fs::remove_dir_all(&staging);
            format!("moving {} to {}: {e}", staging.display(), data.display())
        })?;
        format!(
            "restored {} from {} ({files} files)",
            data.display(),
            from.display()
        )
    };
    sync_dir(&parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    Ok(message)
}

/// A RocksDB database or checkpoint: `CURRENT` names a `MANIFEST` file that is there.
fn check_checkpoint(dir: &Path) -> Result<(), String> {
    let current = fs::read_to_string(dir.join("CURRENT")).map_err(|e| {
        format!(
            "{} is not a checkpoint (no readable CURRENT file: {e})",
            dir.display()
        )
    })?;
    let manifest = current.trim_end();
    if !manifest.starts_with("MANIFEST-") || !dir.join(manifest).is_file() {
        return Err(format!(
            "{} is not a complete checkpoint: CURRENT names {manifest:?}, which is missing",
            dir.display()
        ));
    }
    Ok(())
}

/// Takes the `fcntl` write lock RocksDB takes on `dir/LOCK`; refuses when another process
/// holds it. The lock lasts as long as the returned file stays open (and no other fd of this
/// process on the same file is closed: POSIX record locks are per process).
fn lock_database(dir: &Path) -> Result<File, String> {
    let path = dir.join("LOCK");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let whole_file = |kind: c_short| nix::libc::flock {
        l_type: kind,
        l_whence: nix::libc::SEEK_SET as c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    let lock = whole_file(nix::libc::F_WRLCK as c_short);
    match fcntl(file.as_raw_fd(), FcntlArg::F_SETLK(&lock)) {
        Ok(_) => Ok(file),
        Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EACCES) => {
            let mut probe = whole_file(nix::libc::F_WRLCK as c_short);
            let holder = match fcntl(file.as_raw_fd(), FcntlArg::F_GETLK(&mut probe)) {
                Ok(_) if probe.l_type != nix::libc::F_UNLCK as c_short => {
                    format!(" (pid {})", probe.l_pid)
                }
                _ => String::new(),
            };
            Err(format!(
                "a storaged{holder} holds {}: stop it first. Under systemd stop the socket \
                 too (systemctl stop tandem-storaged.socket tandem-storaged.service), or the \
                 proxies' reconnects start it again",
                dir.display()
            ))
        }
        Err(e) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

/// Copies the regular files and directories under `from` into `to` (created), owned by
/// `owner`. Sockets, the `LOCK` file and symlinks are skipped. Returns the files placed.
fn copy_tree(from: &Path, to: &Path, owner: (u32, u32)) -> io::Result<u64> {
    fs::create_dir(to)?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o700))?;
    chown_if_needed(to, owner)?;
    let to_dev = fs::metadata(to)?.dev();
    let mut placed = 0;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let source = entry.path();
        let target = to.join(entry.file_name());
        let meta = entry.metadata()?; // of the entry itself: symlinks are not followed
        if meta.is_dir() {
            placed += copy_tree(&source, &target, owner)?;
        } else if meta.is_file() && entry.file_name() != "LOCK" {
            place_file(&source, &meta, &target, to_dev, owner)?;
            placed += 1;
        }
    }
    sync_dir(to)?;
    Ok(placed)
}

/// Hard-links an immutable RocksDB file already owned by `owner` on the same filesystem
/// (instant, no space); copies anything else, which the restored database may append to
/// or which belongs to someone else, then syncs the copy.
fn place_file(
    source: &Path,
    meta: &fs::Metadata,
    target: &Path,
    to_dev: u64,
    owner: (u32, u32),
) -> io::Result<()> {
    let immutable = source
        .extension()
        .is_some_and(|ext| ext == "sst" || ext == "blob");
    if immutable
        && meta.dev() == to_dev
        && (meta.uid(), meta.gid()) == owner
        && meta.mode() & 0o077 == 0
        && fs::hard_link(source, target).is_ok()
    {
        return Ok(());
    }
    fs::copy(source, target)?;
    fs::set_permissions(target, fs::Permissions::from_mode(0o600))?;
    chown_if_needed(target, owner)?;
    File::open(target)?.sync_all()
}

/// Gives `path` to `owner` when it is not theirs already (only root can; anyone else
/// restores their own data and owns the copy anyway).
fn chown_if_needed(path: &Path, owner: (u32, u32)) -> io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    if (meta.uid(), meta.gid()) == owner {
        return Ok(());
    }
    std::os::unix::fs::lchown(path, Some(owner.0), Some(owner.1))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A directory that passes for a checkpoint, with one SST and one other file.
    fn fake_checkpoint(dir: &Path) -> PathBuf {
        let cp = dir.join("cp");
        fs::create_dir(&cp).expect("mkdir");
        fs::write(cp.join("CURRENT"), "MANIFEST-000005\n").expect("write");
        fs::write(cp.join("MANIFEST-000005"), b"manifest").expect("write");
        fs::write(cp.join("000007.sst"), b"table").expect("write");
        fs::write(cp.join("OPTIONS-000009"), b"options").expect("write");
        cp
    }

    #[test]
    fn swaps_the_data_dir_and_keeps_the_old_one_and_the_checkpoint() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let cp = fake_checkpoint(tmp.path());
        let data = tmp.path().join("data");
        fs::create_dir(&data).expect("mkdir");
        fs::write(data.join("old-file"), b"old").expect("write");
        let said = restore(&cp, &data).expect("restore");
        assert!(said.contains("previous data is in"), "{said}");
        assert_eq!(fs::read(data.join("000007.sst")).expect("read"), b"table");
        assert_eq!(
            fs::read(data.join("OPTIONS-000009")).expect("read"),
            b"options"
        );
        assert!(!data.join("old-file").exists());
        let mode = fs::metadata(data.join("OPTIONS-000009"))
            .expect("stat")
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(fs::metadata(&data).expect("stat").mode() & 0o777, 0o700);
        // The checkpoint is intact, the old data is beside the new, nothing else is left.
        assert!(cp.join("000007.sst").is_file() && cp.join("CURRENT").is_file());
        let names: Vec<String> = fs::read_dir(tmp.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        let aside = names
            .iter()
            .find(|n| n.starts_with("data.before-restore-"))
            .unwrap_or_else(|| panic!("no old data kept: {names:?}"));
        assert!(tmp.path().join(aside).join("old-file").is_file());
    }

    #[test]
    fn restores_into_a_missing_data_dir() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let cp = fake_checkpoint(tmp.path());
        let data = tmp.path().join("fresh");
        restore(&cp, &data).expect("restore");
        assert!(data.join("CURRENT").is_file());
    }

    #[test]
    fn refuses_what_is_not_a_checkpoint_and_leaves_the_data_alone() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let cp = fake_checkpoint(tmp.path());
        let err = restore(&cp, &cp.join("inner")).expect_err("nested");
        assert!(err.contains("must not contain"), "{err}");
        fs::remove_file(cp.join("MANIFEST-000005")).expect("rm");
        let data = tmp.path().join("data");
        fs::create_dir(&data).expect("mkdir");
        fs::write(data.join("old-file"), b"old").expect("write");
        let err = restore(&cp, &data).expect_err("an incomplete checkpoint");
        assert!(err.contains("not a complete checkpoint"), "{err}");
        let err = restore(&data, &tmp.path().join("x")).expect_err("no CURRENT");
        assert!(err.contains("not a checkpoint"), "{err}");
        assert!(data.join("old-file").is_file());
    }
}
