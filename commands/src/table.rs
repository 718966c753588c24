//! The command table: every command tandem knows, as data, and [`lookup`] to find one.
//!
//! One [`CommandSpec`] per command: name, arity, typed flags, key positions and key specs,
//! ACL categories, the `COMMAND DOCS` fields and how it runs. A container (`CONFIG`,
//! `CLIENT` …) lists the subcommands tandem implements. Arity and the unknown-command reply
//! are checked once, by [`lookup`]'s caller, never inside a handler; `COMMAND` and its
//! subcommands are generated from this table ([`crate::describe`]).
//!
//! The rows are declared per family beside their parsers, as each family file's `COMMANDS`
//! (`parse/string.rs`, `parse/hash.rs` …; the proxy-local commands in `local.rs`); this
//! module joins them. Every value is redis-server 7.0.15's own (`COMMAND INFO`, `COMMAND
//! DOCS`), except where a comment says tandem implements a later Redis's form;
//! `tests/tests/command_info.rs` compares the table with a running redis-server. A new
//! row is printed by `commands/tools/row-from-redis '<handler>' <name>`, which asks
//! redis-server instead of anyone's memory.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use crate::parse::{
    bitmap, blocking, hash, keyspace, list, pubsub, scripting, set, stream, string, zset,
};
use crate::spec::CommandSpec;

/// Every family's rows. A new family file adds its `COMMANDS` here.
const FAMILIES: &[&[CommandSpec]] = &[
    string::COMMANDS,
    bitmap::COMMANDS,
    keyspace::COMMANDS,
    hash::COMMANDS,
    list::COMMANDS,
    set::COMMANDS,
    zset::COMMANDS,
    stream::COMMANDS,
    blocking::COMMANDS,
    pubsub::COMMANDS,
    scripting::COMMANDS,
    crate::parse::hyperloglog::COMMANDS,
    crate::parse::geo::COMMANDS,
    crate::parse::sort::COMMANDS,
    crate::parse::server::COMMANDS,
    crate::parse::stream_info::COMMANDS,
    crate::parse::object::COMMANDS,
    crate::parse::sharded::COMMANDS,
    crate::parse::serialize::COMMANDS,
    crate::local::COMMANDS,
    crate::acl::row::COMMANDS,
    crate::parse::databases::COMMANDS,
];

/// Longest command name [`lookup`] can match; longer names are unknown without comparing.
const MAX_NAME_LEN: usize = 32;

/// Every command (subcommands are inside their containers), sorted by name, for `COMMAND`
/// and `COMMAND COUNT`.
pub fn all() -> &'static [&'static CommandSpec] {
    static ALL: OnceLock<Vec<&'static CommandSpec>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut all: Vec<&'static CommandSpec> = FAMILIES.iter().flat_map(|f| f.iter()).collect();
        all.sort_by_key(|s| s.name);
        all
    })
}

/// True for a container whose first argument names a subcommand (Redis names them
/// `name|sub` in errors); `name` is the table's lower-case name.
pub fn is_container(name: &str) -> bool {
    lookup(name.as_bytes()).is_some_and(CommandSpec::is_container)
}

/// Finds a command or, written `container|sub`, a subcommand, ignoring ASCII case: the
/// names `COMMAND INFO` and `COMMAND DOCS` accept. Clients run subcommands through their
/// container; [`lookup`] is the one dispatch uses.
pub fn find(name: &[u8]) -> Option<&'static CommandSpec> {
    match name.iter().position(|&b| b == b'|') {
        None => lookup(name),
        Some(bar) => lookup(&name[..bar])?.subcommand(&name[bar + 1..]),
    }
}

/// Finds a command by name, ignoring ASCII case. Runs once per request, so it lower-cases
/// into a stack buffer and hashes; no allocation.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    if name.len() > MAX_NAME_LEN {
        return None;
    }
    let mut buf = [0u8; MAX_NAME_LEN];
    let lower = &mut buf[..name.len()];
    for (dst, src) in lower.iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    let lower: &[u8] = lower;
    index().get(lower).copied()
}

/// Name → row, built once. Looked up for every command, so it uses FNV-1a (names are a few
/// bytes; SipHash and the sorted table's binary search both showed in pipelined profiles).
type Index = HashMap<&'static [u8], &'static CommandSpec, BuildHasherDefault<Fnv>>;

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        all()
            .iter()
            .map(|&spec| (spec.name.as_bytes(), spec))
            .collect()
    })
}

/// FNV-1a, for the command index.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Handler, Local};
    use crate::{acl, flags};

    #[test]
    fn table_is_sorted_unique_and_lowercase() {
        let rows: usize = FAMILIES.iter().map(|f| f.len()).sum();
        assert_eq!(all().len(), rows);
        for pair in all().windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
        for spec in all() {
            assert!(spec.name.len() <= MAX_NAME_LEN, "{}", spec.name);
            assert_eq!(spec.name, spec.name.to_ascii_lowercase());
        }
    }

    #[test]
    fn every_command_is_found_in_any_case() {
        for spec in all() {
            assert_eq!(
                lookup(spec.name.as_bytes()).map(|s| s.name),
                Some(spec.name)
            );
            let upper = spec.name.to_ascii_uppercase();
            assert_eq!(lookup(upper.as_bytes()).map(|s| s.name), Some(spec.name));
        }
    }

    #[test]
    fn unknown_names_are_not_found() {
        for name in [
            &b""[..],
            b"gett",
            b"ge",
            b"nosuchcommand",
            &[b'g'; 100],
            b"get\0",
            b"\xffget",
        ] {
            assert!(
                lookup(name).is_none(),
                "{:?}",
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn lookup_mixed_case() {
        assert_eq!(lookup(b"gEt").map(|s| s.name), Some("get"));
        assert_eq!(lookup(b"IncrByFloat").map(|s| s.name), Some("incrbyfloat"));
    }

    #[test]
    fn the_required_commands_are_all_present() {
        let names =
            "get set setnx setex psetex mget mset msetnx getset getdel getex append strlen \
                     getrange substr setrange incr decr incrby decrby incrbyfloat lcs del unlink \
                     exists type touch expire pexpire expireat pexpireat ttl pttl expiretime \
                     pexpiretime persist rename renamenx copy move keys scan randomkey dbsize \
                     flushdb flushall ping echo quit hello auth select reset time client config \
                     info command";
        for name in names.split_whitespace() {
            assert!(lookup(name.as_bytes()).is_some(), "{name}");
        }
    }

    #[test]
    fn arity_follows_redis_convention() {
        let set = lookup(b"set").expect("set is in the table");
        assert!(!set.arity_ok(2));
        assert!(set.arity_ok(3));
        assert!(set.arity_ok(8));
        let get = lookup(b"get").expect("get is in the table");
        assert!(get.arity_ok(2));
        assert!(!get.arity_ok(3));
    }

    #[test]
    fn metadata_matches_redis() {
        let mset = lookup(b"mset").expect("mset is in the table");
        assert_eq!(
            (mset.arity, mset.first_key, mset.last_key, mset.step),
            (-3, 1, -1, 2)
        );
        assert_eq!(mset.flags, flags!(WRITE | DENYOOM));
        assert_eq!(mset.acl, acl!(WRITE | STRING | SLOW));
        assert_eq!(mset.doc.group, "string");
        let dbsize = lookup(b"dbsize").expect("dbsize is in the table");
        assert!(matches!(dbsize.handler, Handler::Storage(_)));
        assert_eq!(dbsize.doc.group, "server");
        let ping = lookup(b"PING").expect("ping is in the table");
        assert!(matches!(ping.handler, Handler::Local(Local::Ping)));
    }

    #[test]
    fn subcommands_are_found_by_their_full_name_only() {
        let get = find(b"CONFIG|Get").expect("config|get is in the table");
        assert_eq!((get.name, get.arity), ("config|get", -3));
        assert!(matches!(get.handler, Handler::Local(Local::Config)));
        assert!(lookup(b"config|get").is_none());
        assert!(find(b"config|nosuch").is_none());
        assert!(find(b"get|x").is_none());
        assert!(is_container("client") && !is_container("get"));
    }

    #[test]
    fn subcommands_are_named_after_their_container() {
        for spec in all() {
            assert!(!spec.name.contains('|'), "{}", spec.name);
            for sub in spec.subcommands {
                let (container, _) = sub.name.split_once('|').expect(sub.name);
                assert_eq!(container, spec.name);
                assert!(sub.subcommands.is_empty(), "{}", sub.name);
            }
        }
    }

    #[test]
    fn key_arguments_point_at_key_specs() {
        fn walk(spec: &CommandSpec, args: &[crate::spec::Arg]) {
            for a in args {
                if let Some(i) = a.key_spec_index {
                    assert!(usize::from(i) < spec.key_specs.len(), "{}", spec.name);
                }
                walk(spec, a.arguments);
            }
        }
        for spec in all()
            .iter()
            .copied()
            .chain(all().iter().flat_map(|s| s.subcommands))
        {
            walk(spec, spec.doc.arguments);
        }
    }
}
