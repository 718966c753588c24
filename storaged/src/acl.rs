//! The deployment's one ACL user table (issue 19): storaged holds it, persists it, pushes
//! it to every proxy and checks scripts' commands against it. Proxies send `ACL
//! SETUSER`/`DELUSER`/`LOAD` here (applied with `tandem_commands::acl`, Redis's rules and
//! errors); every change is pushed to every link as a `NoticeKind::AclTable` frame, and a
//! link gets the table as soon as it is up ([`attach`]), so a proxy connecting or
//! reconnecting enforces the current table at once. Proxies keep enforcing their last copy
//! while storaged is away.
//!
//! The table lives in `<data-dir>/users.acl`, in Redis's ACL file format (`user <name>
//! <rules>` per line, as `ACL LIST` prints it), written beside and renamed into place
//! (then the directory synced), so a crash leaves the old table or the new one. With an
//! `aclfile` configured, storaged starts from that file instead (Redis's source of truth at
//! start), `ACL LOAD` rereads it (all or nothing, Redis's errors) and `ACL SAVE` writes it;
//! every change is still kept in `users.acl` as well. Versions start from the start-up time
//! in nanoseconds, so a restarted storaged never repeats the version a proxy last saw.
//!
//! Scripts: `EVAL`/`EVALSHA`/`FCALL` of a restricted user carry the caller
//! (`ScriptCaller`); [`Caller::of`] resolves it against the table and [`script_check`]
//! refuses a `redis.call` the user may not run with Redis's script error and an `ACL LOG`
//! entry (context `lua`) in storaged's log, which proxies merge into their `ACL LOG`
//! (`AclLog`). Must not: block on I/O other than its own files, or know a client.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use bytes::{Bytes, BytesMut};
use tandem_commands::acl::{self, file, user, AclLog, LogEntry, User};
use tandem_shared::command::ArchivedCommand;
use tandem_shared::wire::{self, Notice, NoticeKind};
use tandem_shared::{Reply, StorageError};

use crate::outbox::Outbox;
use crate::types::CmdResult;

/// The file the table is kept in, inside the data directory.
pub const FILE_NAME: &str = "users.acl";

/// Redis's `ACL SAVE` error.
const SAVE_FAILED: &str =
    "ERR There was an error trying to save the ACLs. Please check the server logs for more information";

/// Redis's error for `ACL LOAD`/`SAVE` without an `aclfile`.
const NO_ACL_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

type Users = BTreeMap<Vec<u8>, Arc<User>>;

struct Table {
    version: u64,
    users: Users,
}

/// The table and where it is persisted.
struct Store {
    path: PathBuf,
    /// The `aclfile`, if configured.
    aclfile: Option<PathBuf>,
    table: Mutex<Table>,
}

static STORE: OnceLock<Store> = OnceLock::new();

/// The links the table is pushed to, with their frame limits.
static LINKS: Mutex<Vec<(Weak<Outbox>, u32)>> = Mutex::new(Vec::new());

/// The entries of denials inside scripts (context `lua`).
static LOG: OnceLock<Mutex<AclLog>> = OnceLock::new();

fn log() -> std::sync::MutexGuard<'static, AclLog> {
    LOG.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

fn text(users: &Users) -> String {
    file::to_text(users.values().map(|u| &**u))
}

fn shared(users: BTreeMap<Vec<u8>, User>) -> Users {
    users.into_iter().map(|(n, u)| (n, Arc::new(u))).collect()
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
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Redis's `strerror` text of an I/O error (Rust adds " (os error N)").
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(at) => s[..at].to_owned(),
        None => s,
    }
}

/// Reads and parses the `aclfile` as `ACL LOAD` does.
fn load_aclfile(path: &Path) -> Result<BTreeMap<Vec<u8>, User>, String> {
    let name = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| {
        format!(
            "Error loading ACLs, opening file '{name}': {}",
            strerror(&e)
        )
    })?;
    file::load(&String::from_utf8_lossy(&text), &name)
}

/// Loads the table, once, when storaged starts: from `aclfile` when it is set (not empty),
/// else from `data_dir` (only the default user if there is no file yet).
///
/// # Errors
/// An unreadable or invalid file: storaged refuses to start rather than drop users.
pub fn configure(data_dir: &Path, aclfile: &Path) -> Result<(), String> {
    let path = data_dir.join(FILE_NAME);
    let aclfile = (!aclfile.as_os_str().is_empty()).then(|| aclfile.to_path_buf());
    let users = match &aclfile {
        Some(f) => load_aclfile(f)?,
        None => match std::fs::read_to_string(&path) {
            Ok(t) => file::parse(&t).map_err(|e| format!("{}: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                file::parse("").unwrap_or_default()
            }
            Err(e) => return Err(format!("{}: {e}", path.display())),
        },
    };
    let version = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| u64::try_from(d.as_nanos()).unwrap_or(1));
    let _ = STORE.set(Store {
        path,
        aclfile,
        table: Mutex::new(Table {
            version,
            users: shared(users),
        }),
    });
    Ok(())
}

fn table_reply(t: &Table) -> Vec<Reply> {
    vec![
        Reply::Integer(t.version as i64),
        Reply::Bulk(text(&t.users).into_bytes()),
    ]
}

/// The push frame's text: the version (and ` reload` after `ACL LOAD`), then the table.
fn notice_text(t: &Table, reload: bool) -> String {
    let flag = if reload { " reload" } else { "" };
    format!("{}{flag}\n{}", t.version, text(&t.users))
}

fn push_to(out: &Outbox, max_frame: u32, message: &str) {
    let notice = Notice {
        kind: NoticeKind::AclTable,
        message: message.to_owned(),
    };
    let mut frame = BytesMut::new();
    match wire::encode(&notice, max_frame, &mut frame) {
        Ok(()) => {
            out.append(&frame);
            // Written now, before the change's own reply: a client told OK through one
            // proxy finds the change in force on another as soon as it can ask there.
            out.write_now();
        }
        Err(e) => tracing::error!(error = %e, "the ACL table does not fit in a frame"),
    }
}

/// Registers a link that came up and sends it the table at once. Called with the table
/// locked out of the way of changes: a change either happened before (and the link gets
/// its table now) or after (and pushes it to the link).
pub fn attach(out: &Arc<Outbox>, max_frame: u32) {
    let Some(store) = STORE.get() else {
        return;
    };
    let t = store.table.lock().unwrap_or_else(|p| p.into_inner());
    let mut links = LINKS.lock().unwrap_or_else(|p| p.into_inner());
    links.retain(|(l, _)| l.upgrade().is_some_and(|o| !o.is_closed()));
    links.push((Arc::downgrade(out), max_frame));
    push_to(out, max_frame, &notice_text(&t, false));
}

/// Pushes the table to every link (under the table's lock: pushes go out in version order).
fn broadcast(t: &Table, reload: bool) {
    let message = notice_text(t, reload);
    let mut links = LINKS.lock().unwrap_or_else(|p| p.into_inner());
    links.retain(|(l, _)| l.upgrade().is_some_and(|o| !o.is_closed()));
    for (link, max_frame) in links.iter() {
        if let Some(out) = link.upgrade() {
            push_to(&out, *max_frame, &message);
        }
    }
}

fn store() -> Result<&'static Store, StorageError> {
    STORE
        .get()
        .ok_or_else(|| StorageError::Internal("ACL table not loaded".into()))
}

/// Changes the table with `f`, persists it and pushes it to every proxy; nothing changes if
/// `f` fails (its error, Redis's text, becomes the client's error reply) or the write does
/// (a storage error).
fn change<R>(
    reload: bool,
    f: impl FnOnce(&mut Users) -> Result<R, String>,
) -> Result<Result<(R, Vec<Reply>), String>, StorageError> {
    let store = store()?;
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
    broadcast(&t, reload);
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
            change(false, |users| {
                let base = users
                    .get(name)
                    .map_or_else(|| User::new(name), |u| (**u).clone());
                let u = base.with_rules(&rules)?;
                users.insert(name.to_vec(), Arc::new(u));
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
            change(false, |users| {
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
            let store = match store() {
                Ok(s) => s,
                Err(e) => return Some(Err(e)),
            };
            let t = store.table.lock().unwrap_or_else(|p| p.into_inner());
            if t.version == known.to_native() {
                Ok(Reply::Nil)
            } else {
                Ok(Reply::Array(table_reply(&t)))
            }
        }
        C::AclLoad => {
            let store = match store() {
                Ok(s) => s,
                Err(e) => return Some(Err(e)),
            };
            let Some(path) = &store.aclfile else {
                return Some(Ok(Reply::Error(NO_ACL_FILE.to_owned())));
            };
            change(true, |users| {
                *users = shared(load_aclfile(path)?);
                Ok(())
            })
            .map(|r| match r {
                Ok(((), reply)) => Reply::Array(reply),
                Err(e) => Reply::Error(format!("ERR {e}")),
            })
        }
        C::AclSave => {
            let store = match store() {
                Ok(s) => s,
                Err(e) => return Some(Err(e)),
            };
            let Some(path) = &store.aclfile else {
                return Some(Ok(Reply::Error(NO_ACL_FILE.to_owned())));
            };
            let t = store.table.lock().unwrap_or_else(|p| p.into_inner());
            match write_atomically(path, &text(&t.users)) {
                Ok(()) => Ok(Reply::ok()),
                Err(e) => {
                    tracing::warn!(error = %e, path = %path.display(), "ACL SAVE failed");
                    Ok(Reply::Error(SAVE_FAILED.to_owned()))
                }
            }
        }
        C::AclLog { reset } => {
            let mut log = log();
            if *reset {
                log.reset();
                Ok(Reply::ok())
            } else {
                let bulk = |s: &str| Reply::Bulk(s.as_bytes().to_vec());
                Ok(Reply::Array(
                    log.entries()
                        .map(|e| {
                            Reply::Array(vec![
                                Reply::Integer(e.count as i64),
                                bulk(e.reason),
                                bulk(e.context),
                                Reply::Bulk(e.object.clone()),
                                Reply::Bulk(e.username.clone()),
                                Reply::Integer(e.ctime_us as i64),
                                bulk(&e.client_info),
                            ])
                        })
                        .collect(),
                ))
            }
        }
        _ => return None,
    })
}

/// The user a script runs its commands as: the caller a restricted client's request
/// names, resolved against the table when the script starts.
pub struct Caller {
    name: Vec<u8>,
    /// The user as the table holds it; a user deleted meanwhile may run nothing.
    user: Arc<User>,
    client_info: String,
}

impl Caller {
    /// The caller of a script command, `None` when it names none (an unrestricted user:
    /// nothing to check).
    pub fn of(cmd: &ArchivedCommand) -> Option<Caller> {
        let caller = match cmd {
            ArchivedCommand::Eval { caller, .. }
            | ArchivedCommand::EvalSha { caller, .. }
            | ArchivedCommand::FCall { caller, .. } => caller.as_ref()?,
            _ => return None,
        };
        let name = caller.user.as_slice().to_vec();
        let user = STORE
            .get()
            .and_then(|s| {
                let t = s.table.lock().unwrap_or_else(|p| p.into_inner());
                t.users.get(&name).cloned()
            })
            .unwrap_or_else(|| Arc::new(User::new(&name)));
        Some(Caller {
            name,
            user,
            client_info: caller.client_info.as_str().to_owned(),
        })
    }
}

/// The table row and argument vector of a script's command, `None` for a command the table
/// does not have.
fn words(args: &[Vec<u8>]) -> Option<(&'static tandem_commands::CommandSpec, Bytes, Vec<Bytes>)> {
    let name = args.first()?;
    let spec = tandem_commands::lookup(name)?;
    let rest = args[1..]
        .iter()
        .map(|a| Bytes::copy_from_slice(a))
        .collect();
    Some((spec, Bytes::copy_from_slice(name), rest))
}

/// Redis's `scriptVerifyACL`: whether the caller may run the script's command `args` (name
/// first; its existence and arity were checked already).
///
/// # Errors
/// Redis's script error for the denial, after adding its `ACL LOG` entry.
pub fn script_check(caller: &Caller, args: &[Vec<u8>]) -> Result<(), Reply> {
    let Some((spec, name, rest)) = words(args) else {
        return Ok(());
    };
    let Err((denied, full, argv)) = acl::check_command(&caller.user, spec, &name, &rest) else {
        return Ok(());
    };
    log().add(LogEntry {
        count: 1,
        reason: denied.reason(),
        context: "lua",
        object: denied.object(&full, &argv),
        username: caller.name.clone(),
        ctime_us: acl::log::now_us(),
        client_info: caller.client_info.clone(),
    });
    Err(Reply::Error(denied.script_error().to_owned()))
}

/// `redis.acl_check_cmd`: whether the caller may run `args`, without logging; `None` for a
/// command (or a container's subcommand) that does not exist.
pub fn script_allows(caller: Option<&Caller>, args: &[Vec<u8>]) -> Option<bool> {
    let (spec, name, rest) = words(args)?;
    if spec.is_container() && !rest.is_empty() && spec.subcommand(&rest[0]).is_none() {
        return None;
    }
    Some(caller.is_none_or(|c| acl::check_command(&c.user, spec, &name, &rest).is_ok()))
}
