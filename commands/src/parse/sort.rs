//! SORT and SORT_RO. The parser reads the options as Redis's `sortCommandGeneric` does
//! (left to right, the last `BY`/`LIMIT`/`ASC|DESC`/`STORE` winning, a `LIMIT` integer
//! error or an unknown word failing before the key is looked up); sorting, the `BY`/`GET`
//! pattern lookups and `STORE` are storaged's (`types/sort.rs`), since the pattern keys
//! derive from the data. `SORT` without `STORE` travels as the read [`Command::SortRo`].

use tandem_shared::command::SortOptions;
use tandem_shared::Command;

use crate::args::{Args, ParseCtx};
use crate::error::CommandError;
use crate::spec::ArgType as T;
use crate::spec::{arg, index, range, BeginSearch, CommandSpec, Doc, FindKeys, Handler, KeySpec};
use crate::{acl, flags, key_flags};

/// `SORT key [BY pattern] [LIMIT offset count] [GET pattern …] [ASC|DESC] [ALPHA]
/// [STORE destination]`
pub fn sort(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let (opts, dest) = options(args, true)?;
    Ok(match dest {
        Some(dest) => Command::Sort { key, opts, dest },
        None => Command::SortRo { key, opts },
    })
}

/// `SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern …] [ASC|DESC] [ALPHA]`:
/// `STORE` is an unknown word there, a syntax error.
pub fn sort_ro(args: &mut Args, _ctx: &ParseCtx) -> Result<Command, CommandError> {
    let key = args.next_vec()?;
    let (opts, _) = options(args, false)?;
    Ok(Command::SortRo { key, opts })
}

/// The options after the key; a keyword without enough arguments after it is a syntax
/// error, as in Redis (`LIMIT` needs two, `BY`/`GET`/`STORE` one).
fn options(
    args: &mut Args,
    store_allowed: bool,
) -> Result<(SortOptions, Option<Vec<u8>>), CommandError> {
    let mut opts = SortOptions::default();
    let mut dest = None;
    while let Some(word) = args.peek().cloned() {
        let left = args.remaining() - 1;
        args.next_bytes()?;
        let is = |w: &str| word.eq_ignore_ascii_case(w.as_bytes());
        if is("asc") {
            opts.desc = false;
        } else if is("desc") {
            opts.desc = true;
        } else if is("alpha") {
            opts.alpha = true;
        } else if is("limit") && left >= 2 {
            let offset = args.next_i64()?;
            let count = args.next_i64()?;
            opts.limit = Some((offset, count));
        } else if store_allowed && is("store") && left >= 1 {
            dest = Some(args.next_vec()?);
        } else if is("by") && left >= 1 {
            opts.by = Some(args.next_vec()?);
        } else if is("get") && left >= 1 {
            opts.get.push(args.next_vec()?);
        } else {
            return Err(CommandError::Syntax);
        }
    }
    Ok((opts, dest))
}

/// Rows of SORT and SORT_RO, from redis-server 7.0's `COMMAND INFO`/`DOCS`
/// (`commands/tools/row-from-redis`). Their `unknown` key specs are found by
/// `describe::keys_of` as Redis's `sortGetKeys`/`sortROGetKeys` do.
pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "sort",
        arity: -2,
        flags: flags!(WRITE | DENYOOM | MOVABLEKEYS),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(WRITE | SET | SORTEDSET | LIST | SLOW | DANGEROUS),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RO | ACCESS), BeginSearch::Unknown, FindKeys::Unknown).notes("For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"),
            KeySpec::new(key_flags!(OW | UPDATE), BeginSearch::Unknown, FindKeys::Unknown).notes("For the optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in the argument array"),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Sort the elements in a list, set or sorted set",
            since: "1.0.0",
            group: "generic",
            complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("pattern", T::Pattern).key_spec(1).token("BY").optional(),
                arg("offset_count", T::Block).token("LIMIT").optional().args(&[
                        arg("offset", T::Integer),
                        arg("count", T::Integer),
                    ]),
                arg("pattern", T::Pattern).key_spec(1).token("GET").optional().multiple().multiple_token(),
                arg("order", T::OneOf).optional().args(&[
                        arg("asc", T::PureToken).token("ASC"),
                        arg("desc", T::PureToken).token("DESC"),
                    ]),
                arg("sorting", T::PureToken).token("ALPHA").optional(),
                arg("destination", T::Key).key_spec(2).token("STORE").optional(),
            ],
        },
        handler: Handler::Storage(sort),
    },
    CommandSpec {
        name: "sort_ro",
        arity: -2,
        flags: flags!(READONLY | MOVABLEKEYS),
        first_key: 1,
        last_key: 1,
        step: 1,
        acl: acl!(READ | SET | SORTEDSET | LIST | SLOW | DANGEROUS),
        tips: &[],
        key_specs: &[
            KeySpec::new(key_flags!(RO | ACCESS), index(1), range(0, 1, 0)),
            KeySpec::new(key_flags!(RO | ACCESS), BeginSearch::Unknown, FindKeys::Unknown).notes("For the optional BY/GET keyword. It is marked 'unknown' because the key names derive from the content of the key we sort"),
        ],
        subcommands: &[],
        doc: Doc {
            summary: "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
            since: "7.0.0",
            group: "generic",
            complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
            doc_flags: &[],
            deprecated_since: "",
            replaced_by: "",
            history: &[],
            arguments: &[
                arg("key", T::Key).key_spec(0),
                arg("pattern", T::Pattern).key_spec(1).token("BY").optional(),
                arg("offset_count", T::Block).token("LIMIT").optional().args(&[
                        arg("offset", T::Integer),
                        arg("count", T::Integer),
                    ]),
                arg("pattern", T::Pattern).key_spec(1).token("GET").optional().multiple().multiple_token(),
                arg("order", T::OneOf).optional().args(&[
                        arg("asc", T::PureToken).token("ASC"),
                        arg("desc", T::PureToken).token("DESC"),
                    ]),
                arg("sorting", T::PureToken).token("ALPHA").optional(),
            ],
        },
        handler: Handler::Storage(sort_ro),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn run(
        f: fn(&mut Args, &ParseCtx) -> Result<Command, CommandError>,
        argv: &[&str],
    ) -> Result<Command, CommandError> {
        let mut args = Args::new(
            argv.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect(),
        );
        let ctx = ParseCtx {
            now_ms: 0,
            proto_max_bulk_len: 512 * 1024 * 1024,
            db: 0,
        };
        f(&mut args, &ctx)
    }

    #[test]
    fn options_last_wins_and_store_makes_a_write() {
        let cmd = run(
            sort,
            &[
                "k", "BY", "a*", "by", "w_*", "LIMIT", "1", "2", "desc", "ASC", "GET", "#", "GET",
                "h*->f", "alpha", "STORE", "d1", "store", "d2",
            ],
        )
        .unwrap();
        assert_eq!(
            cmd,
            Command::Sort {
                key: b"k".to_vec(),
                opts: SortOptions {
                    by: Some(b"w_*".to_vec()),
                    limit: Some((1, 2)),
                    get: vec![b"#".to_vec(), b"h*->f".to_vec()],
                    desc: false,
                    alpha: true,
                },
                dest: b"d2".to_vec(),
            }
        );
        assert!(matches!(
            run(sort, &["k", "desc"]).unwrap(),
            Command::SortRo {
                opts: SortOptions { desc: true, .. },
                ..
            }
        ));
    }

    #[test]
    fn errors_as_redis() {
        assert_eq!(
            run(sort_ro, &["k", "STORE", "d"]),
            Err(CommandError::Syntax)
        );
        assert_eq!(run(sort, &["k", "LIMIT", "1"]), Err(CommandError::Syntax));
        assert_eq!(
            run(sort, &["k", "LIMIT", "x", "1"]),
            Err(CommandError::NotInteger)
        );
        assert_eq!(run(sort, &["k", "GET"]), Err(CommandError::Syntax));
        assert_eq!(run(sort, &["k", "nope"]), Err(CommandError::Syntax));
    }
}
