//! The replies of `FUNCTION LIST` and `FUNCTION STATS`, as [`Reply`] trees of the shape
//! redis-server 7.0 sends (maps, which a RESP2 client sees as flat arrays).
//!
//! Owns the reply shapes and `FUNCTION LIST`'s argument rules. It reads the engine through
//! its public accessors only and must not change it; where a script runs and how long it
//! has run is the caller's to tell ([`RunningScript`]).

use tandem_shared::glob::glob_match;
use tandem_shared::Reply;

use crate::engine::{LibraryInfo, ScriptEngine};

/// The arguments of `FUNCTION LIST [WITHCODE] [LIBRARYNAME pattern]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Only libraries whose name matches this glob (case-insensitively, as Redis).
    pub pattern: Option<Vec<u8>>,
    /// Add each library's code.
    pub with_code: bool,
}

impl ListOptions {
    /// Parses the arguments after `FUNCTION LIST`, as Redis's `functionListCommand`: each
    /// option at most once, in any order, case-insensitive.
    ///
    /// # Errors
    /// Redis's reply text: `ERR Unknown argument <arg>` (also for a repeated option) and
    /// `ERR library name argument was not given`.
    pub fn parse(args: &[Vec<u8>]) -> Result<ListOptions, String> {
        let mut options = ListOptions::default();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            if !options.with_code && arg.eq_ignore_ascii_case(b"withcode") {
                options.with_code = true;
            } else if options.pattern.is_none() && arg.eq_ignore_ascii_case(b"libraryname") {
                let Some(pattern) = args.get(i + 1) else {
                    return Err("ERR library name argument was not given".to_owned());
                };
                options.pattern = Some(pattern.clone());
                i += 1;
            } else {
                return Err(format!(
                    "ERR Unknown argument {}",
                    String::from_utf8_lossy(arg)
                ));
            }
            i += 1;
        }
        Ok(options)
    }
}

/// The `FUNCTION LIST` reply: one map per matching library (`library_name`, `engine`,
/// `functions`, and `library_code` with `WITHCODE`); each function a map of `name`,
/// `description` (null if none) and `flags` (a set of status strings).
///
/// Libraries come in name order and functions in registration order; redis-server lists
/// both in its hash tables' order.
pub fn function_list(engine: &ScriptEngine, options: &ListOptions) -> Reply {
    let libraries = engine
        .libraries()
        .filter(|lib| match &options.pattern {
            Some(pattern) => glob_match(pattern, lib.name.as_bytes(), true),
            None => true,
        })
        .map(|lib| library_entry(lib, options.with_code))
        .collect();
    Reply::Array(libraries)
}

fn library_entry(lib: &LibraryInfo, with_code: bool) -> Reply {
    let functions = lib
        .functions
        .iter()
        .map(|f| {
            let flags = f
                .flags
                .names()
                .into_iter()
                .map(|name| Reply::Simple(name.to_owned()))
                .collect();
            Reply::Map(vec![
                (Reply::bulk("name"), Reply::bulk(f.name.as_bytes())),
                (
                    Reply::bulk("description"),
                    f.description
                        .as_ref()
                        .map_or(Reply::Nil, |d| Reply::bulk(d.as_bytes())),
                ),
                (Reply::bulk("flags"), Reply::Set(flags)),
            ])
        })
        .collect();
    let mut entry = vec![
        (
            Reply::bulk("library_name"),
            Reply::bulk(lib.name.as_bytes()),
        ),
        (Reply::bulk("engine"), Reply::bulk(lib.engine.as_bytes())),
        (Reply::bulk("functions"), Reply::Array(functions)),
    ];
    if with_code {
        entry.push((Reply::bulk("library_code"), Reply::bulk(lib.code.clone())));
    }
    Reply::Map(entry)
}

/// The function or script running while `FUNCTION STATS` is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningScript {
    /// The function's name (what redis-server's `scriptCurrFunction` gives).
    pub name: String,
    /// The command that runs it, as the client sent it (`FCALL name numkeys …`).
    pub command: Vec<Vec<u8>>,
    /// How long it has run.
    pub duration_ms: i64,
}

/// The `FUNCTION STATS` reply: `running_script` (null, or a map of `name`, `command`,
/// `duration_ms`) and `engines` (`LUA` → `libraries_count`, `functions_count`).
pub fn function_stats(engine: &ScriptEngine, running: Option<&RunningScript>) -> Reply {
    let (libraries, functions) = library_counts(engine);
    stats_reply(libraries, functions, running)
}

/// How many libraries and functions `engine` holds, the two counts `FUNCTION STATS` gives.
pub fn library_counts(engine: &ScriptEngine) -> (i64, i64) {
    engine.libraries().fold((0i64, 0i64), |(libs, fns), lib| {
        (libs + 1, fns + lib.functions.len() as i64)
    })
}

/// [`function_stats`] from counts taken earlier ([`library_counts`]), for a caller that
/// answers `FUNCTION STATS` on another thread than the engine's while a function runs.
pub fn stats_reply(libraries: i64, functions: i64, running: Option<&RunningScript>) -> Reply {
    let running = match running {
        None => Reply::Nil,
        Some(script) => Reply::Map(vec![
            (Reply::bulk("name"), Reply::bulk(script.name.as_bytes())),
            (
                Reply::bulk("command"),
                Reply::Array(script.command.iter().cloned().map(Reply::Bulk).collect()),
            ),
            (
                Reply::bulk("duration_ms"),
                Reply::Integer(script.duration_ms),
            ),
        ]),
    };
    Reply::Map(vec![
        (Reply::bulk("running_script"), running),
        (
            Reply::bulk("engines"),
            Reply::Map(vec![(
                Reply::bulk("LUA"),
                Reply::Map(vec![
                    (Reply::bulk("libraries_count"), Reply::Integer(libraries)),
                    (Reply::bulk("functions_count"), Reply::Integer(functions)),
                ]),
            )]),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RESP3 as redis-server writes these replies (the shapes used here only), so the
    /// expected bytes below are redis-server 7.0.15's replies, copied from the socket.
    fn resp3(reply: &Reply, out: &mut Vec<u8>) {
        match reply {
            Reply::Simple(s) => out.extend_from_slice(format!("+{s}\r\n").as_bytes()),
            Reply::Integer(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
            Reply::Bulk(b) => {
                out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Nil => out.extend_from_slice(b"_\r\n"),
            Reply::Array(items) | Reply::Set(items) => {
                let kind = if matches!(reply, Reply::Set(_)) {
                    '~'
                } else {
                    '*'
                };
                out.extend_from_slice(format!("{kind}{}\r\n", items.len()).as_bytes());
                items.iter().for_each(|item| resp3(item, out));
            }
            Reply::Map(pairs) => {
                out.extend_from_slice(format!("%{}\r\n", pairs.len()).as_bytes());
                for (k, v) in pairs {
                    resp3(k, out);
                    resp3(v, out);
                }
            }
            other => panic!("not used by these replies: {other:?}"),
        }
    }

    fn bytes(reply: &Reply) -> Vec<u8> {
        let mut out = Vec::new();
        resp3(reply, &mut out);
        out
    }

    const MYLIB: &[u8] = b"#!lua name=mylib\nredis.register_function('f', function() return 1 end)\nredis.register_function{function_name='g', callback=function() return 2 end, flags={'no-writes','allow-stale'}, description='desc g'}";
    const OTHER: &[u8] = b"#!lua name=other\nredis.register_function('h', function() return 1 end)";
    const MYLIB_ENTRY: &[u8] = b"%3\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*2\r\n%3\r\n$4\r\nname\r\n$1\r\nf\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n%3\r\n$4\r\nname\r\n$1\r\ng\r\n$11\r\ndescription\r\n$6\r\ndesc g\r\n$5\r\nflags\r\n~2\r\n+no-writes\r\n+allow-stale\r\n";
    const OTHER_ENTRY: &[u8] = b"%3\r\n$12\r\nlibrary_name\r\n$5\r\nother\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*1\r\n%3\r\n$4\r\nname\r\n$1\r\nh\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n";

    fn engine() -> ScriptEngine {
        let mut e = ScriptEngine::new().expect("engine");
        e.load_library(MYLIB, false).expect("mylib");
        e.load_library(OTHER, false).expect("other");
        e
    }

    fn list(e: &ScriptEngine, args: &[&str]) -> Reply {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        function_list(e, &ListOptions::parse(&args).expect("valid"))
    }

    #[test]
    fn function_list_matches_redis_server() {
        let e = engine();
        // redis-server lists `other` first (its hash order); tandem by name.
        assert_eq!(
            bytes(&list(&e, &[])),
            [&b"*2\r\n"[..], MYLIB_ENTRY, OTHER_ENTRY].concat()
        );
        let with_code = b"*1\r\n%4\r\n$12\r\nlibrary_name\r\n$5\r\nmylib\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*2\r\n%3\r\n$4\r\nname\r\n$1\r\nf\r\n$11\r\ndescription\r\n_\r\n$5\r\nflags\r\n~0\r\n%3\r\n$4\r\nname\r\n$1\r\ng\r\n$11\r\ndescription\r\n$6\r\ndesc g\r\n$5\r\nflags\r\n~2\r\n+no-writes\r\n+allow-stale\r\n$12\r\nlibrary_code\r\n$204\r\n#!lua name=mylib\nredis.register_function('f', function() return 1 end)\nredis.register_function{function_name='g', callback=function() return 2 end, flags={'no-writes','allow-stale'}, description='desc g'}\r\n";
        assert_eq!(
            bytes(&list(&e, &["WITHCODE", "LIBRARYNAME", "my*"])),
            with_code
        );
        assert_eq!(
            bytes(&list(&e, &["libraryname", "MY*", "withcode"])),
            with_code,
            "options in any order and case; the pattern ignores case"
        );
        assert_eq!(
            bytes(&list(&e, &["LIBRARYNAME", "m?lib"])),
            [&b"*1\r\n"[..], MYLIB_ENTRY].concat()
        );
        assert_eq!(bytes(&list(&e, &["LIBRARYNAME", "x*"])), b"*0\r\n");
    }

    #[test]
    fn function_list_argument_errors_as_redis() {
        let parse = |args: &[&str]| {
            let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
            ListOptions::parse(&args)
        };
        let err = |text: &str| Err(text.to_owned());
        assert_eq!(parse(&["bogus"]), err("ERR Unknown argument bogus"));
        assert_eq!(
            parse(&["libraryname", "x", "libraryname", "y"]),
            err("ERR Unknown argument libraryname")
        );
        assert_eq!(
            parse(&["WITHCODE", "WITHCODE"]),
            err("ERR Unknown argument WITHCODE")
        );
        assert_eq!(
            parse(&["LIBRARYNAME"]),
            err("ERR library name argument was not given")
        );
        assert_eq!(parse(&[]), Ok(ListOptions::default()));
    }

    #[test]
    fn function_stats_matches_redis_server() {
        let mut e = engine();
        assert_eq!(
            bytes(&function_stats(&e, None)),
            b"%2\r\n$14\r\nrunning_script\r\n_\r\n$7\r\nengines\r\n%1\r\n$3\r\nLUA\r\n%2\r\n$15\r\nlibraries_count\r\n:2\r\n$15\r\nfunctions_count\r\n:3\r\n"
        );
        // Asked from another client while `FCALL spin 1 key` looped (busy-reply-threshold 100).
        e.load_library(
            b"#!lua name=spin\nredis.register_function{function_name='spin', callback=function() while true do end end, flags={'no-writes'}}",
            false,
        )
        .expect("spin");
        let running = RunningScript {
            name: "spin".to_owned(),
            command: ["FCALL", "spin", "1", "key"]
                .iter()
                .map(|a| a.as_bytes().to_vec())
                .collect(),
            duration_ms: 653,
        };
        assert_eq!(
            bytes(&function_stats(&e, Some(&running))),
            b"%2\r\n$14\r\nrunning_script\r\n%3\r\n$4\r\nname\r\n$4\r\nspin\r\n$7\r\ncommand\r\n*4\r\n$5\r\nFCALL\r\n$4\r\nspin\r\n$1\r\n1\r\n$3\r\nkey\r\n$11\r\nduration_ms\r\n:653\r\n$7\r\nengines\r\n%1\r\n$3\r\nLUA\r\n%2\r\n$15\r\nlibraries_count\r\n:3\r\n$15\r\nfunctions_count\r\n:4\r\n"
        );
    }
}
