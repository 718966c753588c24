//! This proxy's copy of the ACL user table and the `ACL LOG`, and what a connection holds
//! of its user. The users are Redis 7.0's (`tandem_commands::acl`). storaged holds the
//! deployment's one table (`storaged/src/acl.rs`) and pushes it on every change and when a
//! link comes up (`NoticeKind::AclTable`, handed here by the link reader: [`pushed`]); this
//! copy is the newest table storaged sent ([`Acl::install`]), kept and enforced while
//! storaged is away. The copy is replaced whole on every change (copy on write) and a
//! generation number tells connections to pick up their user again, so the per-command
//! check reads one atomic while nothing changes.
//!
//! `requirepass` is the default user's password, as in Redis: when set, this proxy's copy
//! adds it to the default user's passwords of the shared table (so each proxy's configured
//! password keeps working whatever the table says); a changed setting (CONFIG SET, reload) is
//! applied the next time a client connects or authenticates ([`Acl::sync_requirepass`]).
//!
//! No I/O here; killing the clients of a deleted user goes through [`ClientList`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tandem_commands::acl::{self, AclLog, LogEntry, User};

use crate::clients::ClientList;

/// Users by name, in name order (`ACL LIST`, `ACL USERS`).
pub type Users = BTreeMap<Vec<u8>, Arc<User>>;

/// The user table and the security log.
pub struct Acl {
    users: RwLock<Arc<Users>>,
    generation: AtomicU64,
    log: Mutex<AclLog>,
    /// The `requirepass` last applied to the default user.
    requirepass: Mutex<String>,
    /// The version of storaged's table this copy holds (0: none yet).
    known: AtomicU64,
}

fn default_user(requirepass: &str) -> User {
    let mut u = User::default_user();
    set_password(&mut u, requirepass);
    u
}

/// Redis's `ACLUpdateDefaultUserPassword`.
fn set_password(u: &mut User, requirepass: &str) {
    let _ = u.apply(b"resetpass");
    if requirepass.is_empty() {
        let _ = u.apply(b"nopass");
    } else {
        let mut op = b">".to_vec();
        op.extend_from_slice(requirepass.as_bytes());
        let _ = u.apply(&op);
    }
}

impl Acl {
    /// A table holding only the default user, with `requirepass` as its password.
    pub fn new(requirepass: &str) -> Acl {
        let mut users = Users::new();
        users.insert(b"default".to_vec(), Arc::new(default_user(requirepass)));
        Acl {
            users: RwLock::new(Arc::new(users)),
            generation: AtomicU64::new(1),
            log: Mutex::new(AclLog::default()),
            requirepass: Mutex::new(requirepass.to_owned()),
            known: AtomicU64::new(0),
        }
    }

    /// The version of storaged's table this copy holds.
    pub fn known(&self) -> u64 {
        self.known.load(Ordering::Acquire)
    }

    /// Installs storaged's table (ACL file text) at `version`, `requirepass` laid over the
    /// default user, unless this copy is as new already (each link carries every push, and
    /// a change's reply races its push); returns the users that are gone, whose clients must
    /// be closed, or `None` when nothing was installed.
    ///
    /// # Errors
    /// Text this proxy cannot parse (the copy is kept).
    pub fn install(&self, version: u64, text: &str) -> Result<Option<Vec<Vec<u8>>>, String> {
        if version <= self.known() {
            return Ok(None);
        }
        let parsed = acl::file::parse(text)?;
        let requirepass = match self.requirepass.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let removed = self.update(|users| {
            // Checked again under the table's lock: two links may install at once.
            if version <= self.known.load(Ordering::Acquire) {
                return Err(None);
            }
            let removed: Vec<Vec<u8>> = users
                .keys()
                .filter(|n| !parsed.contains_key(*n))
                .cloned()
                .collect();
            *users = parsed
                .into_iter()
                .map(|(name, mut u)| {
                    if name == b"default" && !requirepass.is_empty() {
                        let mut op = b">".to_vec();
                        op.extend_from_slice(requirepass.as_bytes());
                        let _ = u.apply(&op);
                    }
                    (name, Arc::new(u))
                })
                .collect();
            self.known.store(version, Ordering::Release);
            Ok(removed)
        });
        match removed {
            Ok(r) => Ok(Some(r)),
            Err(None) => Ok(None),
            Err(Some(e)) => Err(e),
        }
    }

    /// Changes on every table change.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The whole table as of now.
    pub fn users(&self) -> Arc<Users> {
        match self.users.read() {
            Ok(u) => u.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn user(&self, name: &[u8]) -> Option<Arc<User>> {
        self.users().get(name).cloned()
    }

    /// Changes the table: `f` edits a copy, which replaces the table unless `f` fails.
    ///
    /// # Errors
    /// `f`'s.
    pub fn update<R, E>(&self, f: impl FnOnce(&mut Users) -> Result<R, E>) -> Result<R, E> {
        let mut guard = match self.users.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut copy = (**guard).clone();
        let r = f(&mut copy)?;
        *guard = Arc::new(copy);
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(r)
    }

    /// Applies a changed `requirepass` to the default user (see the module docs).
    pub fn sync_requirepass(&self, requirepass: &str) {
        let mut applied = match self.requirepass.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if *applied == requirepass {
            return;
        }
        requirepass.clone_into(&mut applied);
        let _ = self.update(|users| {
            let mut u = users
                .get(&b"default"[..])
                .map_or_else(User::default_user, |u| (**u).clone());
            set_password(&mut u, requirepass);
            users.insert(b"default".to_vec(), Arc::new(u));
            Ok::<(), ()>(())
        });
    }

    /// Redis's `authRequired` for a new client: the default user has a password or is off.
    pub fn default_needs_auth(&self) -> bool {
        self.user(b"default")
            .is_none_or(|u| !u.nopass() || !u.enabled())
    }

    pub fn log_add(&self, entry: LogEntry) {
        if let Ok(mut log) = self.log.lock() {
            log.add(entry);
        }
    }

    pub fn with_log<R>(&self, f: impl FnOnce(&mut AclLog) -> R) -> R {
        match self.log.lock() {
            Ok(mut g) => f(&mut g),
            Err(p) => f(&mut p.into_inner()),
        }
    }

    /// Kills every client authenticated as one of `names` (Redis's
    /// `ACLFreeUserAndKillClients`).
    pub fn kill_clients_of(clients: &ClientList, names: &[Vec<u8>]) -> usize {
        clients.kill_where(|c| names.contains(&c.user))
    }
}

/// The user a connection runs as, refreshed when the table changes.
#[derive(Clone)]
pub struct ClientUser {
    pub name: Vec<u8>,
    /// `AUTH` or `HELLO` as the client spelled it, for the `ACL LOG` entry of a failure.
    pub auth_command: Vec<u8>,
    pub user: Arc<User>,
    generation: u64,
}

impl ClientUser {
    /// The default user as the table holds it now.
    pub fn default_of(acl: &Acl) -> ClientUser {
        let generation = acl.generation();
        ClientUser {
            name: b"default".to_vec(),
            auth_command: Vec::new(),
            user: acl
                .user(b"default")
                .unwrap_or_else(|| Arc::new(User::default_user())),
            generation,
        }
    }

    /// Runs as `user` from now on.
    pub fn set(&mut self, acl: &Acl, user: Arc<User>) {
        self.generation = acl.generation();
        self.name.clone_from(&user.name);
        self.user = user;
    }

    /// Picks up the user again if the table changed; false if the user was deleted.
    pub fn refresh(&mut self, acl: &Acl) -> bool {
        let g = acl.generation();
        if g == self.generation {
            return true;
        }
        match acl.user(&self.name) {
            Some(u) => {
                self.generation = g;
                self.user = u;
                true
            }
            // Stays false (every command refused) until the connection is closed.
            None => false,
        }
    }
}

/// The ACL check of a client's command (`tandem_commands::acl::check_command`).
pub use tandem_commands::acl::check_command;

/// Where pushed tables go: set once by [`listen`] (one proxy per process).
static SINK: OnceLock<PushSink> = OnceLock::new();

/// What receives pushed tables.
pub type PushSink = Box<dyn Fn(&str) + Send + Sync>;

/// Hands the table text of a `NoticeKind::AclTable` push to the proxy (called by the link
/// reader, for every link's copy).
pub fn pushed(message: &str) {
    if let Some(sink) = SINK.get() {
        return sink(message);
    }
    let mut early = EARLY.lock().unwrap_or_else(|p| p.into_inner());
    match SINK.get() {
        Some(sink) => sink(message),
        // A link came up before the proxy listens: kept for [`listen`].
        None => *early = Some(message.to_owned()),
    }
}

/// The last table pushed before [`listen`].
static EARLY: Mutex<Option<String>> = Mutex::new(None);

/// Makes `sink` receive the tables storaged pushes (and the one pushed before, if any).
pub fn listen(sink: PushSink) {
    let mut early = EARLY.lock().unwrap_or_else(|p| p.into_inner());
    if SINK.set(sink).is_err() {
        tracing::warn!("a second proxy in this process: its ACL pushes go to the first");
        return;
    }
    if let (Some(message), Some(sink)) = (early.take(), SINK.get()) {
        sink(&message);
    }
}

/// A pushed table: its version, whether it came from `ACL LOAD`, and its ACL file text.
pub fn parse_push(message: &str) -> Option<(u64, bool, &str)> {
    let (head, text) = message.split_once('\n')?;
    let (version, reload) = match head.split_once(' ') {
        Some((v, "reload")) => (v, true),
        Some(_) => return None,
        None => (head, false),
    };
    Some((version.parse().ok()?, reload, text))
}

/// The script commands of a restricted user carry the caller (Redis checks a script's
/// `redis.call`s against the user running it; storaged does it: `storaged/src/acl.rs`).
/// An unrestricted user's commands are left alone: nothing to check, nothing to send.
pub fn tag_script(
    command: &mut tandem_shared::Command,
    user: &ClientUser,
    info: impl FnOnce() -> String,
) {
    use tandem_shared::Command as C;
    if let C::Eval { caller, .. } | C::EvalSha { caller, .. } | C::FCall { caller, .. } = command {
        if !user.user.unrestricted() {
            *caller = Some(Box::new(tandem_shared::command::ScriptCaller {
                user: user.name.clone(),
                client_info: info(),
            }));
        }
    }
}
