//! Whether a user may run a command: Redis 7.0's `ACLCheckAllUserCommandPerm`. Each
//! selector is tried in turn; the first that allows the command wins, else the most
//! relevant denial is reported (a channel over a key over the command, then the later
//! argument), as Redis picks the error and the `ACL LOG` object.

use bytes::Bytes;

use super::table::{entry, CommandId};
use super::user::{Selector, User};
use crate::flags::KeySpecFlags;
use tandem_shared::glob::glob_match;

/// Why a command was refused; keys and channels carry their argument's position (the
/// command name is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    Command,
    Key(usize),
    Channel(usize),
}

impl Denied {
    /// Redis's ACL_DENIED_* order, which decides the most relevant denial.
    fn rank(self) -> (u8, usize) {
        match self {
            Denied::Command => (1, 0),
            Denied::Key(i) => (2, i),
            Denied::Channel(i) => (4, i),
        }
    }

    /// The `ACL LOG` reason.
    pub fn reason(self) -> &'static str {
        match self {
            Denied::Command => "command",
            Denied::Key(_) => "key",
            Denied::Channel(_) => "channel",
        }
    }

    /// The error a client gets (`rejectCommand` in Redis's `processCommand`).
    pub fn error(self, full_name: &str) -> String {
        match self {
            Denied::Command => format!(
                "NOPERM this user has no permissions to run the '{full_name}' command"
            ),
            Denied::Key(_) => {
                "NOPERM this user has no permissions to access one of the keys used as arguments"
                    .to_owned()
            }
            Denied::Channel(_) => "NOPERM this user has no permissions to access one of the channels used as arguments".to_owned(),
        }
    }

    /// `ACL DRYRUN`'s answer.
    pub fn dryrun_text(self, full_name: &str, argv: &[Bytes]) -> String {
        let arg =
            |i: usize| String::from_utf8_lossy(argv.get(i).map_or(&[][..], |a| a)).into_owned();
        match self {
            Denied::Command => {
                format!("This user has no permissions to run the '{full_name}' command")
            }
            Denied::Key(i) => {
                format!(
                    "This user has no permissions to access the '{}' key",
                    arg(i)
                )
            }
            Denied::Channel(i) => format!(
                "This user has no permissions to access the '{}' channel",
                arg(i)
            ),
        }
    }
}

/// How a command names channels, from its name (Redis's `ACLDoesCommandHaveChannels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channels {
    None,
    /// PUBLISH/SPUBLISH: the first argument, matched against the patterns.
    Publish,
    /// SUBSCRIBE/SSUBSCRIBE: every argument, matched against the patterns.
    Subscribe,
    /// PSUBSCRIBE: every argument must equal a pattern.
    PSubscribe,
}

fn channels_of(name: &str) -> Channels {
    match name {
        "publish" | "spublish" => Channels::Publish,
        "subscribe" | "ssubscribe" => Channels::Subscribe,
        "psubscribe" => Channels::PSubscribe,
        _ => Channels::None,
    }
}

fn key_ok(sel: &Selector, key: &[u8], flags: KeySpecFlags) -> bool {
    if sel.allkeys {
        return true;
    }
    let read = flags.contains(KeySpecFlags::ACCESS);
    let write = flags.contains(KeySpecFlags::INSERT)
        || flags.contains(KeySpecFlags::DELETE)
        || flags.contains(KeySpecFlags::UPDATE);
    sel.keys
        .iter()
        .any(|p| (p.read || !read) && (p.write || !write) && glob_match(&p.pattern, key, false))
}

fn channel_ok(sel: &Selector, channel: &[u8], literal: bool) -> bool {
    sel.channels.iter().any(|p| {
        if literal {
            p[..] == *channel
        } else {
            glob_match(p, channel, false)
        }
    })
}

/// One selector's verdict (Redis's `ACLSelectorCheckCmd`).
fn check_selector(
    sel: &Selector,
    id: CommandId,
    argv: &[Bytes],
    keys: &mut dyn FnMut() -> Vec<(usize, KeySpecFlags)>,
    cache: &mut Option<Vec<(usize, KeySpecFlags)>>,
) -> Result<(), Denied> {
    let e = entry(id);
    if !sel.allcommands && !e.command.no_auth && !sel.bit(id) {
        let idx = if e.parent.is_some() { 2 } else { 1 };
        let allowed = argv.len() >= 2
            && sel.firstargs.iter().any(|(i, args)| {
                *i == id
                    && argv
                        .get(idx)
                        .is_some_and(|a| args.iter().any(|f| f.eq_ignore_ascii_case(a)))
            });
        if !allowed {
            return Err(Denied::Command);
        }
    }
    if !sel.allkeys {
        let keys = cache.get_or_insert_with(&mut *keys);
        for &(pos, flags) in keys.iter() {
            let key = argv.get(pos).map_or(&[][..], |k| &k[..]);
            if !key_ok(sel, key, flags) {
                return Err(Denied::Key(pos));
            }
        }
    }
    if !sel.allchannels {
        let name = e.command.name;
        let (range, literal) = match channels_of(name) {
            Channels::None => return Ok(()),
            Channels::Publish => (1..argv.len().min(2), false),
            Channels::Subscribe => (1..argv.len(), false),
            Channels::PSubscribe => (1..argv.len(), true),
        };
        for j in range {
            if !channel_ok(sel, &argv[j], literal) {
                return Err(Denied::Channel(j));
            }
        }
    }
    Ok(())
}

/// Whether `user` may run the command `id` with `argv` (the name at 0); `keys` finds the
/// key positions and flags (asked at most once, and only if a selector restricts keys).
///
/// # Errors
/// The most relevant denial over all selectors.
pub fn check(
    user: &User,
    id: CommandId,
    argv: &[Bytes],
    mut keys: impl FnMut() -> Vec<(usize, KeySpecFlags)>,
) -> Result<(), Denied> {
    let mut cache = None;
    let mut relevant = Denied::Command;
    for sel in &user.selectors {
        match check_selector(sel, id, argv, &mut keys, &mut cache) {
            Ok(()) => return Ok(()),
            Err(d) => {
                if d.rank() > relevant.rank() {
                    relevant = d;
                }
            }
        }
    }
    Err(relevant)
}

/// A refusal with what its error and `ACL LOG` entry need: the denial, the command's full
/// name (`config|get`), and the argument vector the positions index.
pub type Refusal = (Denied, String, Vec<Bytes>);

/// Whether `user` may run `spec` (a command table row, a container's own row for a
/// subcommand) as `name args…`: the command id and key positions come from the table, as
/// the proxy checks a client's command and storaged a script's `redis.call`.
///
/// # Errors
/// The most relevant denial ([`check`]).
pub fn check_command(
    user: &User,
    spec: &'static crate::CommandSpec,
    name: &Bytes,
    args: &[Bytes],
) -> Result<(), Refusal> {
    let Some(id) = super::table::id_of(spec.name.as_bytes(), args.first().map(|a| &a[..])) else {
        // A command redis-server does not have: only a user allowed every command runs it.
        if user.root().allows_every_command() {
            return Ok(());
        }
        return Err((Denied::Command, spec.name.to_owned(), Vec::new()));
    };
    let mut argv = Vec::with_capacity(args.len() + 1);
    argv.push(name.clone());
    argv.extend_from_slice(args);
    let key_spec = if spec.is_container() {
        args.first()
            .and_then(|s| spec.subcommand(s))
            .unwrap_or(spec)
    } else {
        spec
    };
    match check(user, id, &argv, || {
        crate::describe::keys_of(key_spec, &argv).unwrap_or_default()
    }) {
        Ok(()) => Ok(()),
        Err(d) => {
            let full = entry(id).command.name.to_owned();
            Err((d, full, argv))
        }
    }
}

impl Denied {
    /// The `ACL LOG` object of this denial ([`Refusal`]'s name and arguments).
    pub fn object(self, full_name: &str, argv: &[Bytes]) -> Vec<u8> {
        match self {
            Denied::Command => full_name.as_bytes().to_vec(),
            Denied::Key(i) | Denied::Channel(i) => {
                argv.get(i).map(|a| a.to_vec()).unwrap_or_default()
            }
        }
    }

    /// The error of a `redis.call` the script's user may not run (Redis 7.0's
    /// `scriptVerifyACL`).
    pub fn script_error(self) -> &'static str {
        match self {
            Denied::Command => {
                "ERR The user executing the script can't run this command or subcommand"
            }
            Denied::Key(_) => "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments",
            Denied::Channel(_) => "ERR The user executing the script can't publish to the channel mentioned in the command",
        }
    }

    /// The error in EXEC's reply of a queued command the user may no longer run (Redis
    /// 7.0's `execCommand` checks every command again when EXEC runs it).
    pub fn exec_error(self) -> String {
        let reason = match self {
            Denied::Command => "no permission to execute the command or subcommand",
            Denied::Key(_) => "no permission to touch the specified keys",
            Denied::Channel(_) => "no permission to access one of the channels used as arguments",
        };
        format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}")
    }
}
