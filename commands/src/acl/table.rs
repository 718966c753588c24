//! The commands ACL rules name: redis-server's whole command table (`redis_commands.rs`,
//! generated), each command and subcommand numbered once, parents before their
//! subcommands, in name order. A user's permissions are a bitmap over these ids.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

pub use super::redis_commands::RedisCommand;

/// A command's id: its bit in a permission bitmap.
pub type CommandId = u16;

/// Words of a permission bitmap; the table must fit (checked by a test).
pub(crate) const WORDS: usize = 8;

/// One numbered command.
#[derive(Debug)]
pub struct Entry {
    pub command: &'static RedisCommand,
    pub parent: Option<CommandId>,
    /// Ids of the subcommands (empty for others).
    pub subs: std::ops::Range<CommandId>,
}

struct Table {
    entries: Vec<Entry>,
    by_name: HashMap<&'static str, CommandId, BuildHasherDefault<Fnv>>,
}

/// FNV-1a: names are short and not chosen by an attacker who could flood one bucket (the
/// table is fixed), and every command of a restricted user looks its name up here, where
/// SipHash was a third of the check's cost.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut entries = Vec::new();
        for command in super::redis_commands::REDIS_COMMANDS {
            let id = entries.len() as CommandId;
            let first = id + 1;
            let end = first + command.subcommands.len() as CommandId;
            entries.push(Entry {
                command,
                parent: None,
                subs: first..end,
            });
            for sub in command.subcommands {
                entries.push(Entry {
                    command: sub,
                    parent: Some(id),
                    subs: 0..0,
                });
            }
        }
        let by_name = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.command.name, i as CommandId))
            .collect();
        Table { entries, by_name }
    })
}

/// Every command, parents before their subcommands.
pub fn entries() -> &'static [Entry] {
    &table().entries
}

/// The command with this id.
pub fn entry(id: CommandId) -> &'static Entry {
    &table().entries[usize::from(id)]
}

/// A command by name, ASCII case ignored, as Redis's `lookupCommandBySds` finds it for ACL
/// rules: `name`, or `container|sub` only for a container's subcommand.
pub fn find(name: &[u8]) -> Option<CommandId> {
    // Runs for every command of a restricted user: lower-cases on the stack.
    let mut buf = [0u8; 64];
    let lower = buf.get_mut(..name.len())?;
    for (d, s) in lower.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    let lower = std::str::from_utf8(lower).ok()?;
    table().by_name.get(lower).copied()
}

/// The id a client's command runs under: the subcommand's when the command is a container
/// and its first argument names one of its subcommands, else the command's own. `None` for
/// a command redis-server does not have.
pub fn id_of(name: &[u8], first_arg: Option<&[u8]>) -> Option<CommandId> {
    let id = find(name)?;
    let e = entry(id);
    if e.subs.is_empty() {
        return Some(id);
    }
    let Some(sub) = first_arg else {
        return Some(id);
    };
    let mut buf = [0u8; 64];
    let len = name.len() + 1 + sub.len();
    let Some(full) = buf.get_mut(..len) else {
        return Some(id);
    };
    full[..name.len()].copy_from_slice(name);
    full[name.len()] = b'|';
    full[name.len() + 1..].copy_from_slice(sub);
    Some(find(full).unwrap_or(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_fits_the_bitmap_and_leaves_the_future_bit_free() {
        assert!(entries().len() < WORDS * 64 - 1);
    }

    #[test]
    fn lookups_are_strict_like_redis() {
        assert!(find(b"GET").is_some());
        assert!(find(b"config|get").is_some());
        assert!(find(b"CONFIG|GET").is_some());
        assert!(find(b"get|x").is_none());
        assert!(find(b"config|").is_none());
        assert!(find(b"config|get|x").is_none());
        let cfg = find(b"config").unwrap_or_default();
        let get = find(b"config|get").unwrap_or_default();
        assert_eq!(entry(get).parent, Some(cfg));
        assert!(entry(cfg).subs.contains(&get));
        assert_eq!(id_of(b"config", Some(b"GET")), Some(get));
        assert_eq!(id_of(b"config", Some(b"nosuch")), Some(cfg));
    }

    /// The registry's categories are redis-server's (tests/command_info.rs checks them);
    /// the ACL table must agree with it for every command tandem implements.
    #[test]
    fn registry_rows_agree_with_the_acl_table() {
        for spec in crate::table::all() {
            let id = find(spec.name.as_bytes());
            assert!(id.is_some(), "{} missing from the ACL table", spec.name);
            let e = entry(id.unwrap_or_default());
            assert_eq!(e.command.acl, spec.acl, "{}", spec.name);
            for sub in spec.subcommands {
                let sid = find(sub.name.as_bytes());
                let Some(sid) = sid else {
                    continue; // a later Redis's subcommand (CLIENT SETINFO …)
                };
                assert_eq!(entry(sid).command.acl, sub.acl, "{}", sub.name);
            }
        }
    }
}
