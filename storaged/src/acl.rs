//! The deployment's one ACL user table (issue 19): storaged holds it, persists it and
//! answers every proxy from it. Proxies send `ACL SETUSER`/`DELUSER` here (applied with
//! `tandem_commands::acl`, Redis's rules and errors) and ask for the table whenever its
//! version changes (`AclUsers`); they enforce their last copy while storaged is away.
//!
//! The table lives in `<data-dir>/users.acl`, in Redis's ACL file format (`user <name>
//! <rules>` per line, as `ACL LIST` prints it), written beside and renamed into place
//! (then the directory synced), so a crash leaves the old table or the new one. Versions
//! start from the start-up time in nanoseconds, so a restarted storaged never repeats the
//! version a proxy last saw.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use tandem_commands::acl::{file, user, User};
use tandem_shared::command::ArchivedCommand;
use tandem_shared::{Reply, StorageError};

use crate::types::CmdResult;

/// The file the table is kept in, inside the data directory.
pub const FILE_NAME: &str = "users.acl";

struct Table {
    version: u64,
    users: BTreeMap<Vec<u8>, User>,
}

/// The table and where it is persisted.
pub struct Store {
    path: PathBuf,
    table: Mutex<Table>,
}

static STORE: OnceLock<Store> = OnceLock::new();

fn text(users: &BTreeMap<Vec<u8>, User>) -> String {
    file::to_text(users.values())
}

fn parse(text: &str) -> Result<BTreeMap<Vec<u8>, User>, String> {
    file::parse(text)
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("acl.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Loads the table from `data_dir` (only the default user if there is no file yet), once,
/// when storaged starts.
///
/// # Errors
/// An unreadable or invalid file: storaged refuses to start rather than drop users.
pub fn configure(data_dir: &Path) -> Result<(), String> {
    let path = data_dir.join(FILE_NAME);
    let users = match std::fs::read_to_string(&path) {
        Ok(t) => parse(&t).map_err(|e| format!("{}: {e}", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => parse("").unwrap_or_default(),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let version = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_nanos()).unwrap_or(1));
    let _ = STORE.set(Store {
        path,
        table: Mutex::new(Table { version, users }),
    });
    Ok(())
}

fn table_reply(t: &Table) -> Vec<Reply> {
    vec![
        Reply::Integer(t.version as i64),
        Reply::Bulk(text(&t.users).into_bytes()),
    ]
}

/// Changes the table with `f` and persists it; nothing changes if `f` fails (its error,
/// Redis's text, becomes the client's error reply) or the write does (a storage error).
fn change<R>(
    f: impl FnOnce(&mut BTreeMap<Vec<u8>, User>) -> Result<R, String>,
) -> Result<Result<(R, Vec<Reply>), String>, StorageError> {
    let store = STORE
        .get()
        .ok_or_else(|| StorageError::Internal("ACL table not loaded".into()))?;
    let mut t = store.table.lock().unwrap_or_else(|p| p.into_inner());
    let mut users = t.users.clone();
    let r = match f(&mut users) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    write_atomically(&store.path, &text(&users)).map_err(|e| {
        tracing::error!(error = %e, path = %store.path.display(), "could not write the ACL table");
        StorageError::Internal(format!("could not save the ACL table: {e}"))
    })?;
    t.users = users;
    t.version += 1;
    Ok(Ok((r, table_reply(&t))))
}

/// The ACL commands, on the read path (the table has its own lock and file).
pub fn read(cmd: &ArchivedCommand) -> Option<CmdResult> {
    use ArchivedCommand as C;
    Some(match cmd {
        C::AclSetUser { name, rules } => {
            let rules: Vec<&[u8]> = rules.iter().map(|r| r.as_slice()).collect();
            let name = name.as_slice();
            if !user::valid_username(name) {
                return Some(Ok(Reply::Error(
                    "ERR Usernames can't contain spaces or null characters".into(),
                )));
            }
            change(|users| {
                let base = users.get(name).cloned().unwrap_or_else(|| User::new(name));
                let u = base.with_rules(&rules)?;
                users.insert(name.to_vec(), u);
                Ok(())
            })
            .map(|r| match r {
                Ok(((), reply)) => Reply::Array(reply),
                // Redis's rule errors are the client's: an error reply.
                Err(e) => Reply::Error(format!("ERR {e}")),
            })
        }
        C::AclDelUser { names } => {
            if names.iter().any(|n| n.as_slice() == b"default") {
                return Some(Ok(Reply::Error(
                    "ERR The 'default' user cannot be removed".into(),
                )));
            }
            change(|users| {
                Ok(names
                    .iter()
                    .filter(|n| users.remove(n.as_slice()).is_some())
                    .count())
            })
            .map(|r| match r {
                Ok((n, mut reply)) => {
                    reply.insert(0, Reply::Integer(n as i64));
                    Reply::Array(reply)
                }
                Err(e) => Reply::Error(format!("ERR {e}")),
            })
        }
        C::AclUsers { known } => {
            let Some(store) = STORE.get() else {
                return Some(Err(StorageError::Internal("ACL table not loaded".into())));
            };
            let t = store.table.lock().unwrap_or_else(|p| p.into_inner());
            if t.version == known.to_native() {
                Ok(Reply::Nil)
            } else {
                Ok(Reply::Array(table_reply(&t)))
            }
        }
        _ => return None,
    })
}
