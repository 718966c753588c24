//! `COMMAND` and its subcommands (`COUNT`, `INFO`, `DOCS`, `LIST [FILTERBY …]`, `GETKEYS`,
//! `GETKEYSANDFLAGS`, `HELP`): the command table described as redis-server 7.0 describes
//! itself, reply shape and element types included.
//!
//! Pure functions from arguments to a [`Reply`], so the proxy answers them without storage
//! and storaged could answer them for a script. Everything comes from the table; nothing
//! here names a command except `SET`'s key flags, which Redis computes from the arguments.

use bytes::Bytes;
use tandem_shared::glob::glob_match;
use tandem_shared::Reply;

use crate::args::{parse_i64, Args};
use crate::error::CommandError;
use crate::flags::{AclCategories, Flags, KeySpecFlags};
use crate::spec::{Arg, BeginSearch, CommandSpec, FindKeys, KeySpec};
use crate::table::{all, find, lookup};

/// Answers `COMMAND …`; `args` are the words after `COMMAND`.
///
/// # Errors
/// Redis's texts: an unknown subcommand, a subcommand's arity, `LIST`'s syntax, and
/// `GETKEYS`'s complaints about the command it is given.
pub fn command(args: &mut Args) -> Result<Reply, CommandError> {
    let Some(sub_raw) = args.peek().cloned() else {
        return Ok(Reply::Array(all().iter().map(|s| info(s)).collect()));
    };
    args.next_bytes()?;
    let container = lookup(b"command").ok_or_else(|| CommandError::err("no COMMAND row"))?;
    let sub = container.checked_subcommand(&sub_raw, args.remaining())?;
    let names = args.rest();
    Ok(match sub.name {
        "command|count" => Reply::Integer(all().len() as i64),
        "command|info" if names.is_empty() => Reply::Array(all().iter().map(|s| info(s)).collect()),
        "command|info" => Reply::Array(
            names
                .iter()
                .map(|n| find(n).map_or(Reply::Nil, info))
                .collect(),
        ),
        "command|docs" => {
            let specs: Vec<&CommandSpec> = if names.is_empty() {
                all().to_vec()
            } else {
                names.iter().filter_map(|n| find(n)).collect()
            };
            Reply::Map(
                specs
                    .into_iter()
                    .map(|s| (Reply::bulk(s.name), docs(s)))
                    .collect(),
            )
        }
        "command|list" => list(&names)?,
        "command|getkeys" => getkeys(&names, false)?,
        "command|getkeysandflags" => getkeys(&names, true)?,
        "command|help" => help(),
        other => {
            return Err(CommandError::err(format!(
                "subcommand '{other}' is in the table but not answered"
            )))
        }
    })
}

fn simple_set(names: impl Iterator<Item = &'static str>) -> Reply {
    Reply::Set(names.map(|n| Reply::Simple(n.to_owned())).collect())
}

fn bulk(s: &str) -> Reply {
    Reply::bulk(s.as_bytes())
}

/// One `COMMAND INFO` entry.
pub fn info(spec: &CommandSpec) -> Reply {
    Reply::Array(vec![
        bulk(spec.name),
        Reply::Integer(i64::from(spec.arity)),
        simple_set(spec.flags.names()),
        Reply::Integer(i64::from(spec.first_key)),
        Reply::Integer(i64::from(spec.last_key)),
        Reply::Integer(i64::from(spec.step)),
        simple_set(spec.acl.names()),
        Reply::Set(spec.tips.iter().map(|t| bulk(t)).collect()),
        Reply::Set(spec.key_specs.iter().map(key_spec).collect()),
        Reply::Set(spec.subcommands.iter().map(info).collect()),
    ])
}

fn key_spec(spec: &KeySpec) -> Reply {
    let mut fields = Vec::with_capacity(4);
    if !spec.notes.is_empty() {
        fields.push((bulk("notes"), bulk(spec.notes)));
    }
    fields.push((bulk("flags"), simple_set(spec.flags.names())));
    let (kind, params) = match spec.begin_search {
        BeginSearch::Index(i) => ("index", vec![(bulk("index"), Reply::Integer(i.into()))]),
        BeginSearch::Keyword {
            keyword,
            start_from,
        } => (
            "keyword",
            vec![
                (bulk("keyword"), bulk(keyword)),
                (bulk("startfrom"), Reply::Integer(start_from.into())),
            ],
        ),
        BeginSearch::Unknown => ("unknown", Vec::new()),
    };
    fields.push((bulk("begin_search"), typed(kind, params)));
    let (kind, params) = match spec.find_keys {
        FindKeys::Range {
            last_key,
            key_step,
            limit,
        } => (
            "range",
            vec![
                (bulk("lastkey"), Reply::Integer(last_key.into())),
                (bulk("keystep"), Reply::Integer(key_step.into())),
                (bulk("limit"), Reply::Integer(limit.into())),
            ],
        ),
        FindKeys::KeyNum {
            key_num_idx,
            first_key,
            key_step,
        } => (
            "keynum",
            vec![
                (bulk("keynumidx"), Reply::Integer(key_num_idx.into())),
                (bulk("firstkey"), Reply::Integer(first_key.into())),
                (bulk("keystep"), Reply::Integer(key_step.into())),
            ],
        ),
        FindKeys::Unknown => ("unknown", Vec::new()),
    };
    fields.push((bulk("find_keys"), typed(kind, params)));
    Reply::Map(fields)
}

/// `{type: kind, spec: {params}}`, the shape of `begin_search` and `find_keys`.
fn typed(kind: &str, params: Vec<(Reply, Reply)>) -> Reply {
    Reply::Map(vec![
        (bulk("type"), bulk(kind)),
        (bulk("spec"), Reply::Map(params)),
    ])
}

/// One `COMMAND DOCS` entry (the value; the name is its key).
pub fn docs(spec: &CommandSpec) -> Reply {
    let doc = &spec.doc;
    let mut fields = vec![
        (bulk("summary"), bulk(doc.summary)),
        (bulk("since"), bulk(doc.since)),
        (bulk("group"), bulk(doc.group)),
    ];
    // Empty for the few commands Redis documents without one (LOLWUT).
    if !doc.complexity.is_empty() {
        fields.push((bulk("complexity"), bulk(doc.complexity)));
    }
    if !doc.doc_flags.is_empty() {
        fields.push((bulk("doc_flags"), simple_set(doc.doc_flags.iter().copied())));
    }
    if !doc.deprecated_since.is_empty() {
        fields.push((bulk("deprecated_since"), bulk(doc.deprecated_since)));
        fields.push((bulk("replaced_by"), bulk(doc.replaced_by)));
    }
    if !doc.history.is_empty() {
        let history = doc
            .history
            .iter()
            .map(|(version, text)| Reply::Array(vec![bulk(version), bulk(text)]))
            .collect();
        fields.push((bulk("history"), Reply::Set(history)));
    }
    if !doc.arguments.is_empty() {
        fields.push((bulk("arguments"), arguments(doc.arguments)));
    }
    if !spec.subcommands.is_empty() {
        let subs = spec
            .subcommands
            .iter()
            .map(|s| (bulk(s.name), docs(s)))
            .collect();
        fields.push((bulk("subcommands"), Reply::Map(subs)));
    }
    Reply::Map(fields)
}

fn arguments(args: &[Arg]) -> Reply {
    Reply::Array(args.iter().map(argument).collect())
}

fn argument(a: &Arg) -> Reply {
    let mut fields = vec![
        (bulk("name"), bulk(a.name)),
        (bulk("type"), bulk(a.kind.name())),
    ];
    if let Some(i) = a.key_spec_index {
        fields.push((bulk("key_spec_index"), Reply::Integer(i.into())));
    }
    if let Some(token) = a.token {
        fields.push((bulk("token"), bulk(token)));
    }
    if let Some(since) = a.since {
        fields.push((bulk("since"), bulk(since)));
    }
    if let Some(version) = a.deprecated_since {
        fields.push((bulk("deprecated_since"), bulk(version)));
    }
    if !a.flags.is_empty() {
        fields.push((bulk("flags"), simple_set(a.flags.names())));
    }
    if !a.arguments.is_empty() {
        fields.push((bulk("arguments"), arguments(a.arguments)));
    }
    Reply::Map(fields)
}

/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]`: names of
/// commands and subcommands.
fn list(args: &[Bytes]) -> Result<Reply, CommandError> {
    let every = all()
        .iter()
        .flat_map(|&s| std::iter::once(s).chain(s.subcommands));
    let keep: Box<dyn Fn(&CommandSpec) -> bool> = match args {
        [] => Box::new(|_| true),
        [filterby, kind, value] if filterby.eq_ignore_ascii_case(b"FILTERBY") => {
            if kind.eq_ignore_ascii_case(b"MODULE") {
                // tandem loads no modules.
                Box::new(|_| false)
            } else if kind.eq_ignore_ascii_case(b"ACLCAT") {
                let name = format!("@{}", String::from_utf8_lossy(value));
                match AclCategories::from_name(&name) {
                    Some(cat) => Box::new(move |s| s.acl.contains(cat)),
                    None => Box::new(|_| false),
                }
            } else if kind.eq_ignore_ascii_case(b"PATTERN") {
                let pattern = value.clone();
                Box::new(move |s| glob_match(&pattern, s.name.as_bytes(), true))
            } else {
                return Err(CommandError::Syntax);
            }
        }
        _ => return Err(CommandError::Syntax),
    };
    Ok(Reply::Array(
        every.filter(|s| keep(s)).map(|s| bulk(s.name)).collect(),
    ))
}

/// `COMMAND GETKEYS|GETKEYSANDFLAGS command arg…`.
fn getkeys(argv: &[Bytes], with_flags: bool) -> Result<Reply, CommandError> {
    let spec = argv
        .first()
        .and_then(|name| lookup(name))
        .and_then(|base| match argv.get(1) {
            Some(sub) if base.is_container() => base.subcommand(sub),
            _ => Some(base),
        })
        .ok_or_else(|| CommandError::err("Invalid command specified"))?;
    if !spec
        .key_specs
        .iter()
        .any(|k| !k.flags.contains(KeySpecFlags::NOT_KEY))
    {
        return Err(CommandError::err("The command has no key arguments"));
    }
    if !spec.arity_ok(argv.len()) {
        return Err(CommandError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let keys = keys_of(spec, argv).unwrap_or_default();
    if keys.is_empty() && !spec.flags.contains(Flags::NO_MANDATORY_KEYS) {
        return Err(CommandError::err("Invalid arguments specified for command"));
    }
    Ok(Reply::Array(
        keys.into_iter()
            .map(|(pos, flags)| {
                let key = Reply::bulk(argv[pos].to_vec());
                if with_flags {
                    Reply::Array(vec![key, simple_set(flags.names())])
                } else {
                    key
                }
            })
            .collect(),
    ))
}

/// Where `SORT`'s `STORE` key is, as Redis's `sortGetKeys` finds it: options from argument
/// 2, `LIMIT` skipping two and `GET`/`BY` one argument, the last `STORE` winning.
fn sort_store_position(argv: &[Bytes]) -> Option<usize> {
    let mut found = None;
    let mut i = 2;
    while i < argv.len() {
        let word = &argv[i][..];
        if word.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if word.eq_ignore_ascii_case(b"get") || word.eq_ignore_ascii_case(b"by") {
            i += 1;
        } else if word.eq_ignore_ascii_case(b"store") && i + 1 < argv.len() {
            found = Some(i + 1);
        }
        i += 1;
    }
    found
}

/// The positions (in `argv`, the name at 0) and flags of a command's keys, found through
/// its key specs as Redis's `getKeysUsingKeySpecs` does; `None` when the arguments do not
/// fit a spec (a syntax error the command itself would report).
pub fn keys_of(spec: &CommandSpec, argv: &[Bytes]) -> Option<Vec<(usize, KeySpecFlags)>> {
    let argc = i64::try_from(argv.len()).ok()?;
    let mut keys = Vec::new();
    for ks in spec.key_specs {
        if ks.flags.contains(KeySpecFlags::NOT_KEY) {
            continue;
        }
        if ks.flags.contains(KeySpecFlags::VARIABLE_FLAGS) {
            // Redis asks the command (`setGetKeys`); SET is the only such command tandem has.
            keys.push((1, set_key_flags(argv)));
            continue;
        }
        if ks.begin_search == BeginSearch::Unknown || ks.find_keys == FindKeys::Unknown {
            // Redis asks the command (`sortGetKeys`): of the unknown specs only SORT's
            // `STORE` one (flagged OW) names a key it can find, BY/GET keys derive from data.
            if spec.name == "sort" && ks.flags.contains(KeySpecFlags::OW) {
                if let Some(i) = sort_store_position(argv) {
                    keys.push((i, ks.flags));
                }
            }
            continue;
        }
        let first = match ks.begin_search {
            BeginSearch::Index(i) => i64::from(i),
            BeginSearch::Keyword {
                keyword,
                start_from,
            } => match keyword_position(argv, keyword, start_from) {
                Some(i) => i + 1,
                None => continue,
            },
            BeginSearch::Unknown => continue,
        };
        let (first, last, step) = match ks.find_keys {
            FindKeys::Range {
                last_key,
                key_step,
                limit,
            } => {
                let last = if last_key >= 0 {
                    first + i64::from(last_key)
                } else if limit <= 1 {
                    argc + i64::from(last_key)
                } else {
                    first + ((argc - first) / i64::from(limit) + i64::from(last_key))
                };
                (first, last, i64::from(key_step))
            }
            FindKeys::KeyNum {
                key_num_idx,
                first_key,
                key_step,
            } => {
                let idx = usize::try_from(first + i64::from(key_num_idx)).ok()?;
                let n = parse_i64(argv.get(idx)?).filter(|&n| n >= 0)?;
                let first = first + i64::from(first_key);
                (first, first + n - 1, i64::from(key_step))
            }
            FindKeys::Unknown => continue,
        };
        if last >= argc || last < first || first >= argc || step <= 0 {
            return None;
        }
        let mut i = first;
        while i <= last {
            keys.push((usize::try_from(i).ok()?, ks.flags));
            i += step;
        }
    }
    Some(keys)
}

/// Where `keyword` is (ASCII case ignored), searching from `start_from` (negative: from
/// the end, backwards), as Redis's keyword begin-search does.
fn keyword_position(argv: &[Bytes], keyword: &str, start_from: i32) -> Option<i64> {
    let argc = i64::try_from(argv.len()).ok()?;
    let start = if start_from > 0 {
        i64::from(start_from)
    } else {
        argc + i64::from(start_from)
    };
    let matches = |i: i64| {
        usize::try_from(i)
            .ok()
            .and_then(|i| argv.get(i))
            .is_some_and(|a| a.eq_ignore_ascii_case(keyword.as_bytes()))
    };
    if start_from > 0 {
        (start..argc).find(|&i| matches(i))
    } else {
        (1..=start).rev().find(|&i| matches(i))
    }
}

/// SET's key flags, as Redis's `setGetKeys` computes them: with `GET` it reads the old
/// value, without it only overwrites.
fn set_key_flags(argv: &[Bytes]) -> KeySpecFlags {
    if argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"GET")) {
        KeySpecFlags::RW
            .with(KeySpecFlags::ACCESS)
            .with(KeySpecFlags::UPDATE)
    } else {
        KeySpecFlags::OW.with(KeySpecFlags::UPDATE)
    }
}

fn help() -> Reply {
    let lines = [
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        "HELP",
        "    Prints this help.",
    ];
    Reply::Array(
        lines
            .iter()
            .map(|l| Reply::Simple((*l).to_owned()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(words: &[&str]) -> Result<Reply, CommandError> {
        let mut args = Args::new(
            words
                .iter()
                .map(|w| Bytes::copy_from_slice(w.as_bytes()))
                .collect(),
        );
        command(&mut args)
    }

    fn keys(words: &[&str]) -> Vec<String> {
        match run(&[&["GETKEYS"], words].concat()) {
            Ok(Reply::Array(keys)) => keys
                .into_iter()
                .map(|k| match k {
                    Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("{words:?}: {other:?}"),
        }
    }

    fn error(words: &[&str]) -> String {
        match run(words) {
            Err(e) => e.to_string(),
            Ok(r) => panic!("{words:?} answered {r:?}"),
        }
    }

    #[test]
    fn count_counts_top_level_commands_and_list_adds_subcommands() {
        assert_eq!(run(&["count"]), Ok(Reply::Integer(all().len() as i64)));
        let Ok(Reply::Array(names)) = run(&["LIST"]) else {
            panic!("COMMAND LIST")
        };
        let subs: usize = all().iter().map(|s| s.subcommands.len()).sum();
        assert_eq!(names.len(), all().len() + subs);
        assert!(names.contains(&bulk("config|get")));
    }

    #[test]
    fn list_filters_by_pattern_and_category() {
        assert_eq!(
            run(&["list", "filterby", "pattern", "CONFIG|G*"]),
            Ok(Reply::Array(vec![bulk("config|get")]))
        );
        let Ok(Reply::Array(hashes)) = run(&["list", "FILTERBY", "aclcat", "hash"]) else {
            panic!("FILTERBY ACLCAT")
        };
        assert!(hashes.contains(&bulk("hset")) && !hashes.contains(&bulk("get")));
        assert_eq!(
            run(&["list", "filterby", "aclcat", "nosuch"]),
            Ok(Reply::Array(vec![]))
        );
        assert_eq!(
            run(&["list", "filterby", "module", "x"]),
            Ok(Reply::Array(vec![]))
        );
        assert_eq!(error(&["list", "filterby", "pattern"]), "ERR syntax error");
        assert_eq!(error(&["list", "foo", "bar"]), "ERR syntax error");
    }

    #[test]
    fn getkeys_follows_key_specs() {
        assert_eq!(keys(&["get", "k"]), ["k"]);
        assert_eq!(keys(&["mset", "a", "1", "b", "2"]), ["a", "b"]);
        assert_eq!(keys(&["zunionstore", "d", "2", "a", "b"]), ["d", "a", "b"]);
        assert_eq!(keys(&["blmpop", "0", "2", "a", "b", "left"]), ["a", "b"]);
        assert_eq!(keys(&["blpop", "a", "b", "0"]), ["a", "b"]);
        assert_eq!(keys(&["memory", "usage", "k"]), ["k"]);
        assert_eq!(
            error(&["getkeys", "zunionstore", "d", "0", "a"]),
            "ERR Invalid arguments specified for command"
        );
        assert_eq!(
            error(&["getkeys", "nosuch", "a"]),
            "ERR Invalid command specified"
        );
        assert_eq!(
            error(&["getkeys", "config", "nosuch"]),
            "ERR Invalid command specified"
        );
        assert_eq!(
            error(&["getkeys", "ping", "x"]),
            "ERR The command has no key arguments"
        );
        assert_eq!(
            error(&["getkeys", "get", "a", "b"]),
            "ERR Invalid number of arguments specified for command"
        );
        assert_eq!(
            error(&["getkeys", "get"]),
            "ERR wrong number of arguments for 'command|getkeys' command"
        );
    }

    #[test]
    fn getkeysandflags_reports_sets_variable_flags() {
        let flags = |words: &[&str]| match run(&[&["GETKEYSANDFLAGS"], words].concat()) {
            Ok(Reply::Array(keys)) => match &keys[..] {
                [Reply::Array(pair)] => pair[1].clone(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        assert_eq!(
            flags(&["set", "k", "v"]),
            simple_set(["OW", "update"].into_iter())
        );
        assert_eq!(
            flags(&["set", "k", "v", "get"]),
            simple_set(["RW", "access", "update"].into_iter())
        );
    }

    #[test]
    fn info_and_docs_find_subcommands_and_answer_nil_for_unknown_names() {
        let Ok(Reply::Array(entries)) = run(&["info", "config|get", "nosuch"]) else {
            panic!("COMMAND INFO")
        };
        let Reply::Array(entry) = &entries[0] else {
            panic!("{entries:?}")
        };
        assert_eq!(entry[0], bulk("config|get"));
        assert_eq!(entries[1], Reply::Nil);
        let Ok(Reply::Map(docs)) = run(&["docs", "get", "nosuch"]) else {
            panic!("COMMAND DOCS")
        };
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn subcommand_errors_name_the_subcommand() {
        assert_eq!(
            error(&["count", "x"]),
            "ERR wrong number of arguments for 'command|count' command"
        );
        assert_eq!(
            error(&["nosuch"]),
            "ERR unknown subcommand 'nosuch'. Try COMMAND HELP."
        );
    }
}
